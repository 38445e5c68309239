//! The development mail outbox: messages that would be emailed, kept for the
//! operator (`ftry outbox`) and for tests until real delivery is configured.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Message {
    pub id: Uuid,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// Store a message in the transaction that causes it; its id.
pub async fn put(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    recipient: &str,
    subject: &str,
    body: &str,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO outbox_messages (tenant_id, id, recipient, subject, body) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(tenant_id)
    .bind(id)
    .bind(recipient)
    .bind(subject)
    .bind(body)
    .execute(conn)
    .await?;
    Ok(id)
}

/// A message to deliver, locked while it is; `None` when it is gone or
/// already delivered.
pub async fn lock_undelivered(conn: &mut PgConnection, id: Uuid) -> Result<Option<Message>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, recipient, subject, body, created_at FROM outbox_messages
          WHERE id = $1 AND delivered_at IS NULL FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Record a delivery (`error` None) or a failed attempt.
pub async fn record_delivery(
    conn: &mut PgConnection,
    id: Uuid,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE outbox_messages
            SET delivered_at = CASE WHEN $2::text IS NULL THEN now() END, delivery_error = $2
          WHERE id = $1",
    )
    .bind(id)
    .bind(error)
    .execute(conn)
    .await?;
    Ok(())
}

/// Messages of the transaction's tenant, newest first.
pub async fn list(conn: &mut PgConnection, limit: i64) -> Result<Vec<Message>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, recipient, subject, body, created_at FROM outbox_messages ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(conn)
    .await
}
