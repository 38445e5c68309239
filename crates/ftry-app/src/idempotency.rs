//! Idempotency keys: a retried create returns the first answer, and two
//! concurrent requests with one key never both run (the second waits on the
//! first's uncommitted claim, then replays its answer).

use uuid::Uuid;

use crate::appointments::Created;
use crate::error::AppError;

/// Claim `key` in this transaction. `None`: go ahead (and `record` the
/// answer before committing); `Some`: the earlier answer to replay.
pub(crate) async fn claim(
    tx: &mut sqlx::PgConnection,
    tenant_id: Uuid,
    scope: &str,
    key: &str,
    fingerprint: &[u8],
) -> Result<Option<Created>, AppError> {
    if key.is_empty() || key.len() > 200 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::invalid(
            "Idempotency-Key",
            "must be 1–200 visible ASCII characters",
        ));
    }
    if ftry_store::appointments::claim_idempotency_key(tx, tenant_id, scope, key, fingerprint).await? {
        return Ok(None);
    }
    let Some((stored, status, body)) = ftry_store::appointments::idempotent_answer(tx, scope, key).await?
    else {
        return Err(AppError::Internal("idempotency key vanished".into()));
    };
    if stored != fingerprint {
        return Err(AppError::conflict(
            "idempotency_key_reused",
            "This Idempotency-Key was used for a different request; use a new key.",
        ));
    }
    Ok(Some(Created {
        status: u16::try_from(status).unwrap_or(200),
        body,
    }))
}

pub(crate) async fn record(
    tx: &mut sqlx::PgConnection,
    scope: &str,
    key: &str,
    status: u16,
    body: &serde_json::Value,
) -> Result<(), AppError> {
    let status = i16::try_from(status).unwrap_or(200);
    ftry_store::appointments::record_idempotent_answer(tx, scope, key, status, body).await?;
    Ok(())
}
