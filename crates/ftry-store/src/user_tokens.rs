//! Single-use links for invitations and password resets.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

pub async fn insert(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    token_hash: &[u8],
    user_id: Uuid,
    purpose: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO user_tokens (tenant_id, token_hash, user_id, purpose, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(tenant_id)
    .bind(token_hash)
    .bind(user_id)
    .bind(purpose)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Use a token: returns its user when it exists, has this purpose, is
/// unexpired and unused, and marks it used in the same statement.
pub async fn consume(
    conn: &mut PgConnection,
    token_hash: &[u8],
    purpose: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE user_tokens SET used_at = now()
          WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
          RETURNING user_id",
    )
    .bind(token_hash)
    .bind(purpose)
    .fetch_optional(conn)
    .await
}

/// Invalidate a user's outstanding tokens of one purpose (a new one replaces them).
pub async fn revoke_outstanding(
    conn: &mut PgConnection,
    user_id: Uuid,
    purpose: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE user_tokens SET used_at = now() WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
    )
    .bind(user_id)
    .bind(purpose)
    .execute(conn)
    .await?;
    Ok(())
}
