//! Outbound webhooks: a business's endpoints and the deliveries made to
//! them. Every statement runs in the business's transaction.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

/// An endpoint, as its owners see it (the secret stays sealed).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Endpoint {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
    pub enabled: bool,
    pub consecutive_failures: i32,
    pub failing_since: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const ENDPOINT_COLUMNS: &str = "id, url, description, events, enabled, consecutive_failures, failing_since,
                                disabled_at, disabled_reason, created_at, updated_at";

/// The sealed signing secret of an endpoint and the key it was sealed with.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SealedSecret {
    pub secret_key_id: String,
    pub secret_sealed: Vec<u8>,
}

pub struct NewEndpoint<'a> {
    pub id: Uuid,
    pub url: &'a str,
    pub description: &'a str,
    pub events: &'a [String],
    pub secret: &'a SealedSecret,
}

pub async fn insert(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    e: &NewEndpoint<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO webhook_endpoints (tenant_id, id, url, description, events, secret_key_id, secret_sealed)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tenant_id)
    .bind(e.id)
    .bind(e.url)
    .bind(e.description)
    .bind(e.events)
    .bind(&e.secret.secret_key_id)
    .bind(&e.secret.secret_sealed)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn count(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM webhook_endpoints")
        .fetch_one(conn)
        .await
}

pub async fn list(conn: &mut PgConnection) -> Result<Vec<Endpoint>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints ORDER BY created_at, id"
    ))
    .fetch_all(conn)
    .await
}

pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Option<Endpoint>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// The endpoint, locked: its failure count changes one attempt at a time.
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<Endpoint>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

pub async fn secret(conn: &mut PgConnection, id: Uuid) -> Result<Option<SealedSecret>, sqlx::Error> {
    sqlx::query_as("SELECT secret_key_id, secret_sealed FROM webhook_endpoints WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// What a change sets; `None` keeps the current value.
#[derive(Default)]
pub struct EndpointChange<'a> {
    pub url: Option<&'a str>,
    pub description: Option<&'a str>,
    pub events: Option<&'a [String]>,
    pub secret: Option<&'a SealedSecret>,
}

pub async fn update(conn: &mut PgConnection, id: Uuid, c: &EndpointChange<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE webhook_endpoints
            SET url = coalesce($2, url), description = coalesce($3, description), events = coalesce($4, events),
                secret_key_id = coalesce($5, secret_key_id), secret_sealed = coalesce($6, secret_sealed),
                updated_at = now()
          WHERE id = $1",
    )
    .bind(id)
    .bind(c.url)
    .bind(c.description)
    .bind(c.events)
    .bind(c.secret.map(|s| &s.secret_key_id))
    .bind(c.secret.map(|s| &s.secret_sealed))
    .execute(conn)
    .await?;
    Ok(())
}

/// Turn an endpoint on (its failure count starts again) or off.
pub async fn set_enabled(
    conn: &mut PgConnection,
    id: Uuid,
    enabled: bool,
    reason: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE webhook_endpoints
            SET enabled = $2, updated_at = now(),
                consecutive_failures = CASE WHEN $2 THEN 0 ELSE consecutive_failures END,
                failing_since = CASE WHEN $2 THEN NULL ELSE failing_since END,
                disabled_at = CASE WHEN $2 THEN NULL ELSE now() END,
                disabled_reason = CASE WHEN $2 THEN NULL ELSE $3 END
          WHERE id = $1",
    )
    .bind(id)
    .bind(enabled)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Enabled endpoints subscribed to `event` by name, by its group
/// (`appointment.*`) or to everything (`*`), registered by the time it
/// happened (`at`).
pub async fn subscribers(
    conn: &mut PgConnection,
    event: &str,
    at: DateTime<Utc>,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let group = format!("{}.*", event.split('.').next().unwrap_or(event));
    sqlx::query_scalar(
        "SELECT id FROM webhook_endpoints
          WHERE enabled AND events && ARRAY[$1, $2, '*'] AND created_at <= $3 ORDER BY id",
    )
    .bind(event)
    .bind(group)
    .bind(at)
    .fetch_all(conn)
    .await
}

/// An attempt's outcome, for the endpoint's run of failures.
pub async fn record_success(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE webhook_endpoints SET consecutive_failures = 0, failing_since = NULL
          WHERE id = $1 AND consecutive_failures > 0",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Count a failed attempt; the endpoint's failures in a row and since when.
pub async fn record_failure(conn: &mut PgConnection, id: Uuid) -> Result<(i32, DateTime<Utc>), sqlx::Error> {
    sqlx::query_as(
        "UPDATE webhook_endpoints
            SET consecutive_failures = consecutive_failures + 1, failing_since = coalesce(failing_since, now())
          WHERE id = $1
      RETURNING consecutive_failures, failing_since",
    )
    .bind(id)
    .fetch_one(conn)
    .await
}

/// A delivery, as the worker and the owners see it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Delivery {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub event_id: Uuid,
    pub event: String,
    pub status: String,
    pub attempts: i32,
    pub response_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub body: serde_json::Value,
}

const DELIVERY_COLUMNS: &str =
    "id, endpoint_id, event_id, event, status, attempts, response_status, last_error,
                                created_at, finished_at, body";

/// Plan a delivery; false if this event was planned for the endpoint already.
pub async fn insert_delivery(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    endpoint_id: Uuid,
    event_id: Uuid,
    event: &str,
    body: &serde_json::Value,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO webhook_deliveries (tenant_id, id, endpoint_id, event_id, event, body)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(tenant_id)
    .bind(id)
    .bind(endpoint_id)
    .bind(event_id)
    .bind(event)
    .bind(body)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delivery(conn: &mut PgConnection, id: Uuid) -> Result<Option<Delivery>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// An endpoint's deliveries, newest first.
pub async fn deliveries(
    conn: &mut PgConnection,
    endpoint_id: Uuid,
    limit: i64,
) -> Result<Vec<Delivery>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = $1
          ORDER BY created_at DESC, id DESC LIMIT $2"
    ))
    .bind(endpoint_id)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Record an attempt: `status` stays `pending` while retries remain.
pub async fn record_attempt(
    conn: &mut PgConnection,
    id: Uuid,
    status: &str,
    response_status: Option<i32>,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE webhook_deliveries
            SET status = $2, attempts = attempts + 1, response_status = $3, last_error = $4,
                finished_at = CASE WHEN $2 = 'pending' THEN NULL ELSE now() END
          WHERE id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(response_status)
    .bind(error)
    .execute(conn)
    .await?;
    Ok(())
}

/// Give up the endpoint's pending deliveries; how many there were.
pub async fn abandon_pending(
    conn: &mut PgConnection,
    endpoint_id: Uuid,
    reason: &str,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE webhook_deliveries SET status = 'abandoned', last_error = $2, finished_at = now()
          WHERE endpoint_id = $1 AND status = 'pending'",
    )
    .bind(endpoint_id)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}
