//! Login sessions and their rotating refresh tokens.

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Session {
    pub id: Uuid,
    pub user_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_reason: Option<String>,
    #[serde(serialize_with = "ip_text")]
    pub ip: Option<IpNet>,
    pub user_agent: Option<String>,
    pub impersonator_id: Option<Uuid>,
}

fn ip_text<S: serde::Serializer>(ip: &Option<IpNet>, s: S) -> Result<S::Ok, S::Error> {
    match ip {
        Some(ip) => s.serialize_str(&ip.addr().to_string()),
        None => s.serialize_none(),
    }
}

const SESSION_COLUMNS: &str =
    "id, user_id, created_at, last_used_at, expires_at, revoked_at, revoked_reason, ip, user_agent, impersonator_id";

pub struct NewSession<'a> {
    pub id: Uuid,
    pub user_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub ip: Option<std::net::IpAddr>,
    pub user_agent: Option<&'a str>,
    pub impersonator_id: Option<Uuid>,
}

pub async fn insert(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    session: &NewSession<'_>,
    first_token_hash: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sessions (tenant_id, id, user_id, expires_at, ip, user_agent, impersonator_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tenant_id)
    .bind(session.id)
    .bind(session.user_id)
    .bind(session.expires_at)
    .bind(session.ip.map(IpNet::from))
    .bind(session.user_agent)
    .bind(session.impersonator_id)
    .execute(&mut *conn)
    .await?;
    insert_token(conn, tenant_id, session.id, first_token_hash).await
}

pub async fn insert_token(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    session_id: Uuid,
    token_hash: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO refresh_tokens (tenant_id, token_hash, session_id) VALUES ($1, $2, $3)")
        .bind(tenant_id)
        .bind(token_hash)
        .bind(session_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A refresh token as found, locked for rotation.
#[derive(Debug, sqlx::FromRow)]
pub struct PresentedToken {
    pub session_id: Uuid,
    pub rotated_at: Option<DateTime<Utc>>,
    pub user_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub async fn find_token_for_update(
    conn: &mut PgConnection,
    token_hash: &[u8],
) -> Result<Option<PresentedToken>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.session_id, t.rotated_at, s.user_id, s.expires_at, s.revoked_at
           FROM refresh_tokens t JOIN sessions s ON s.tenant_id = t.tenant_id AND s.id = t.session_id
          WHERE t.token_hash = $1 FOR UPDATE OF t, s",
    )
    .bind(token_hash)
    .fetch_optional(conn)
    .await
}

pub async fn mark_rotated(conn: &mut PgConnection, token_hash: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE refresh_tokens SET rotated_at = now() WHERE token_hash = $1")
        .bind(token_hash)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn touch(
    conn: &mut PgConnection,
    session_id: Uuid,
    ip: Option<std::net::IpAddr>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET last_used_at = now(), ip = COALESCE($2, ip) WHERE id = $1")
        .bind(session_id)
        .bind(ip.map(IpNet::from))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn revoke(conn: &mut PgConnection, session_id: Uuid, reason: &str) -> Result<bool, sqlx::Error> {
    let revoked = sqlx::query(
        "UPDATE sessions SET revoked_at = now(), revoked_reason = $2 WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(session_id)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(revoked.rows_affected() == 1)
}

pub async fn revoke_all_of_user(
    conn: &mut PgConnection,
    user_id: Uuid,
    reason: &str,
) -> Result<u64, sqlx::Error> {
    let revoked = sqlx::query(
        "UPDATE sessions SET revoked_at = now(), revoked_reason = $2 WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(revoked.rows_affected())
}

pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Option<Session>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// A user's sessions that can still be used, most recently used first.
pub async fn list_active(conn: &mut PgConnection, user_id: Uuid) -> Result<Vec<Session>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {SESSION_COLUMNS} FROM sessions
          WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
          ORDER BY last_used_at DESC, id"
    ))
    .bind(user_id)
    .fetch_all(conn)
    .await
}
