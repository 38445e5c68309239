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

pub async fn put(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    recipient: &str,
    subject: &str,
    body: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO outbox_messages (tenant_id, id, recipient, subject, body) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(tenant_id)
    .bind(Uuid::now_v7())
    .bind(recipient)
    .bind(subject)
    .bind(body)
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
