//! Client notifications about visits, and the domain events that plan them.
//! Every statement runs in the business's transaction.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

/// A domain event to handle.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DomainEvent {
    pub id: Uuid,
    pub kind: String,
    pub subject_id: Uuid,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
}

/// The event, locked, so that two workers cannot handle it at once.
pub async fn lock_event(conn: &mut PgConnection, id: Uuid) -> Result<Option<DomainEvent>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, kind, subject_id, payload, created_at, processed_at FROM domain_events WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}

pub async fn mark_event_processed(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE domain_events SET processed_at = now() WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// What a message about a visit says, read when it is planned and sent.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VisitContext {
    pub appointment_id: Uuid,
    pub client_id: Uuid,
    pub status: String,
    pub starts_at: DateTime<Utc>,
    pub business: String,
    pub location: String,
    pub timezone: String,
    /// Service names in the visit's order.
    pub services: Vec<String>,
    /// The staff serving it, each once, in the visit's order.
    pub staff: Vec<String>,
}

pub async fn visit(
    conn: &mut PgConnection,
    appointment_id: Uuid,
) -> Result<Option<VisitContext>, sqlx::Error> {
    sqlx::query_as(
        "SELECT a.id AS appointment_id, a.client_id, a.status, a.starts_at, t.name AS business,
                l.name AS location, l.timezone,
                coalesce((SELECT array_agg(s.name ORDER BY i.position)
                            FROM appointment_items i JOIN services s ON s.tenant_id = i.tenant_id AND s.id = i.service_id
                           WHERE i.tenant_id = a.tenant_id AND i.appointment_id = a.id AND i.active), '{}') AS services,
                coalesce((SELECT array_agg(name ORDER BY first) FROM (
                            SELECT st.name, min(i.position) AS first
                              FROM appointment_items i JOIN staff st ON st.tenant_id = i.tenant_id AND st.id = i.staff_id
                             WHERE i.tenant_id = a.tenant_id AND i.appointment_id = a.id AND i.active
                             GROUP BY st.name) AS serving), '{}') AS staff
           FROM appointments a
           JOIN tenants t ON t.id = a.tenant_id
           JOIN locations l ON l.tenant_id = a.tenant_id AND l.id = a.location_id
          WHERE a.id = $1",
    )
    .bind(appointment_id)
    .fetch_optional(conn)
    .await
}

/// A message to plan.
#[derive(Debug, Clone)]
pub struct NewNotification<'a> {
    /// The visit it is about, and its start when planned; or, for a
    /// receipt, the invoice.
    pub appointment_id: Option<Uuid>,
    pub invoice_id: Option<Uuid>,
    pub client_id: Uuid,
    pub event: &'a str,
    pub channel: &'a str,
    pub appointment_start: Option<DateTime<Utc>>,
    pub send_at: DateTime<Utc>,
    /// `Some` plans it as skipped already, with this reason.
    pub skipped: Option<&'a str>,
}

pub async fn insert(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    n: &NewNotification<'_>,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO notifications (tenant_id, id, appointment_id, client_id, event, channel, appointment_start,
                                    send_at, status, reason, invoice_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $9::text IS NULL THEN 'pending' ELSE 'skipped' END, $9,
                 $10)",
    )
    .bind(tenant_id)
    .bind(id)
    .bind(n.appointment_id)
    .bind(n.client_id)
    .bind(n.event)
    .bind(n.channel)
    .bind(n.appointment_start)
    .bind(n.send_at)
    .bind(n.skipped)
    .bind(n.invoice_id)
    .execute(conn)
    .await?;
    Ok(id)
}

/// A planned message, as the sender and the owners see it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Notification {
    pub id: Uuid,
    pub appointment_id: Option<Uuid>,
    pub invoice_id: Option<Uuid>,
    pub client_id: Uuid,
    pub event: String,
    pub channel: String,
    pub appointment_start: Option<DateTime<Utc>>,
    pub send_at: DateTime<Utc>,
    pub status: String,
    pub reason: Option<String>,
    pub provider: Option<String>,
    pub provider_message_id: Option<String>,
    pub attempts: i32,
    pub sent_at: Option<DateTime<Utc>>,
    /// What the provider reported since: `sent`, `delivered`, `read`,
    /// `undelivered` or `failed`.
    pub delivery_status: Option<String>,
    pub delivery_status_at: Option<DateTime<Utc>>,
    pub delivery_error: Option<String>,
}

const COLUMNS: &str =
    "id, appointment_id, invoice_id, client_id, event, channel, appointment_start, send_at, status, reason,
                       provider, provider_message_id, attempts, sent_at, delivery_status, delivery_status_at,
                       delivery_error";

/// The message, locked while it is sent: one sender at a time.
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<Notification>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM notifications WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Skip the visit's reminders still waiting: its new plan replaces them.
pub async fn skip_pending_reminders(
    conn: &mut PgConnection,
    appointment_id: Uuid,
    reason: &str,
) -> Result<u64, sqlx::Error> {
    let skipped = sqlx::query(
        "UPDATE notifications SET status = 'skipped', reason = $2
          WHERE appointment_id = $1 AND event = 'reminder' AND status = 'pending'",
    )
    .bind(appointment_id)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(skipped.rows_affected())
}

/// How a sending attempt ended.
pub enum Outcome<'a> {
    Sent {
        provider: &'a str,
        message_id: &'a str,
    },
    Skipped {
        reason: &'a str,
    },
    Failed {
        reason: &'a str,
    },
    /// Not sent this time; tried again.
    Attempted {
        reason: &'a str,
    },
}

pub async fn record(conn: &mut PgConnection, id: Uuid, outcome: Outcome<'_>) -> Result<(), sqlx::Error> {
    let (status, reason, provider, message_id) = match outcome {
        Outcome::Sent { provider, message_id } => ("sent", None, Some(provider), Some(message_id)),
        Outcome::Skipped { reason } => ("skipped", Some(reason), None, None),
        Outcome::Failed { reason } => ("failed", Some(reason), None, None),
        Outcome::Attempted { reason } => ("pending", Some(reason), None, None),
    };
    // A message handed to a provider that reports on delivery is findable
    // by the provider's id.
    sqlx::query(
        "WITH updated AS (
            UPDATE notifications SET status = $2, reason = $3, provider = coalesce($4, provider),
                   provider_message_id = coalesce($5, provider_message_id), attempts = attempts + 1,
                   sent_at = CASE WHEN $2 = 'sent' THEN now() END
             WHERE id = $1
         RETURNING tenant_id, id, provider, provider_message_id)
         INSERT INTO provider_messages (provider, provider_message_id, tenant_id, notification_id)
         SELECT provider, provider_message_id, tenant_id, id FROM updated
          WHERE $2 = 'sent' AND provider IN ('whatsapp', 'twilio', 'msg91', 'http')
         ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(status)
    .bind(reason)
    .bind(provider)
    .bind(message_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The business and notification a provider's message id belongs to.
pub async fn by_provider_message(
    conn: &mut PgConnection,
    provider: &str,
    message_id: &str,
) -> Result<Option<(Uuid, Uuid)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT tenant_id, notification_id FROM provider_messages WHERE provider = $1 AND provider_message_id = $2",
    )
    .bind(provider)
    .bind(message_id)
    .fetch_optional(conn)
    .await
}

/// Record what the provider reports, unless the message is further along
/// already (reports can arrive out of order): sent, then delivered or not,
/// then read. False when nothing changed.
pub async fn record_delivery(
    conn: &mut PgConnection,
    id: Uuid,
    status: &str,
    at: DateTime<Utc>,
    error: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE notifications SET delivery_status = $2, delivery_status_at = $3, delivery_error = $4
          WHERE id = $1
            AND coalesce(array_position(ARRAY['sent', 'delivered', 'read'],
                         CASE delivery_status WHEN 'undelivered' THEN 'delivered' WHEN 'failed' THEN 'delivered'
                              ELSE delivery_status END), 0)
              < array_position(ARRAY['sent', 'delivered', 'read'],
                         CASE $2 WHEN 'undelivered' THEN 'delivered' WHEN 'failed' THEN 'delivered' ELSE $2 END)",
    )
    .bind(id)
    .bind(status)
    .bind(at)
    .bind(error)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Which messages to list; every field optional.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub appointment_id: Option<Uuid>,
    pub client_id: Option<Uuid>,
    pub invoice_id: Option<Uuid>,
    pub status: Option<String>,
    /// Messages planned before this one (ids are time-ordered UUIDv7).
    pub before_id: Option<Uuid>,
}

/// The business's messages, most recently planned first, at most `limit`.
pub async fn list(
    conn: &mut PgConnection,
    filter: &Filter,
    limit: i64,
) -> Result<Vec<Notification>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM notifications
          WHERE ($1::uuid IS NULL OR appointment_id = $1)
            AND ($2::uuid IS NULL OR client_id = $2)
            AND ($3::uuid IS NULL OR invoice_id = $3)
            AND ($4::text IS NULL OR status = $4)
            AND ($5::uuid IS NULL OR id < $5)
          ORDER BY id DESC LIMIT $6"
    ))
    .bind(filter.appointment_id)
    .bind(filter.client_id)
    .bind(filter.invoice_id)
    .bind(filter.status.as_deref())
    .bind(filter.before_id)
    .bind(limit)
    .fetch_all(conn)
    .await
}
