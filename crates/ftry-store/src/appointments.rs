//! Appointments, their items and their history.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Appointment {
    pub id: Uuid,
    pub location_id: Uuid,
    pub client_id: Uuid,
    pub status: String,
    pub source: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub notes: String,
    pub cancel_reason: Option<String>,
    pub cancelled_by: Option<String>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Item {
    pub id: Uuid,
    pub appointment_id: Uuid,
    pub position: i16,
    pub service_id: Uuid,
    pub service_name: String,
    pub staff_id: Uuid,
    pub staff_name: String,
    pub resource_id: Option<Uuid>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub price_paise: i64,
    pub active: bool,
}

const APPOINTMENT_COLUMNS: &str = "id, location_id, client_id, status, source, starts_at, ends_at, notes, \
     cancel_reason, cancelled_by, cancelled_at, created_at, updated_at";

const ITEM_SELECT: &str = "SELECT i.id, i.appointment_id, i.position, i.service_id, s.name AS service_name,
        i.staff_id, st.name AS staff_name, i.resource_id, lower(i.client_time) AS starts_at,
        upper(i.client_time) AS ends_at, i.price_paise, i.active
   FROM appointment_items i
   JOIN services s ON s.tenant_id = i.tenant_id AND s.id = i.service_id
   JOIN staff st ON st.tenant_id = i.tenant_id AND st.id = i.staff_id";

pub struct NewAppointment<'a> {
    pub id: Uuid,
    pub location_id: Uuid,
    pub client_id: Uuid,
    pub source: &'a str,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub notes: &'a str,
    pub created_by: Option<Uuid>,
    pub manage_token_hash: Option<&'a [u8]>,
}

pub struct NewItem {
    pub id: Uuid,
    pub position: i16,
    pub service_id: Uuid,
    pub staff_id: Uuid,
    pub resource_id: Option<Uuid>,
    pub resource_exclusive: bool,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// When the staff member is busy: buffers in, processing gap out.
    pub staff_time: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    pub price_paise: i64,
}

pub async fn insert(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    appointment: &NewAppointment<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO appointments (tenant_id, id, location_id, client_id, status, source, starts_at, ends_at, notes,
                                   created_by, manage_token_hash)
         VALUES ($1, $2, $3, $4, 'booked', $5, $6, $7, $8, $9, $10)",
    )
    .bind(tenant_id)
    .bind(appointment.id)
    .bind(appointment.location_id)
    .bind(appointment.client_id)
    .bind(appointment.source)
    .bind(appointment.starts_at)
    .bind(appointment.ends_at)
    .bind(appointment.notes)
    .bind(appointment.created_by)
    .bind(appointment.manage_token_hash)
    .execute(conn)
    .await?;
    Ok(())
}

/// Insert one item; a double booking fails here with the exclusion
/// constraint `no_double_booked_staff` or `no_double_booked_resource`.
pub async fn insert_item(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    appointment_id: Uuid,
    location_id: Uuid,
    item: &NewItem,
) -> Result<(), sqlx::Error> {
    let (starts, ends): (Vec<_>, Vec<_>) = item.staff_time.iter().copied().unzip();
    sqlx::query(
        "INSERT INTO appointment_items (tenant_id, id, appointment_id, position, location_id, service_id, staff_id,
                                        resource_id, resource_exclusive, client_time, staff_time, price_paise)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, tstzrange($10, $11),
                 (SELECT range_agg(tstzrange(s, e)) FROM unnest($12::timestamptz[], $13::timestamptz[]) AS t(s, e)),
                 $14)",
    )
    .bind(tenant_id)
    .bind(item.id)
    .bind(appointment_id)
    .bind(item.position)
    .bind(location_id)
    .bind(item.service_id)
    .bind(item.staff_id)
    .bind(item.resource_id)
    .bind(item.resource_exclusive)
    .bind(item.starts_at)
    .bind(item.ends_at)
    .bind(&starts)
    .bind(&ends)
    .bind(item.price_paise)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Option<Appointment>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {APPOINTMENT_COLUMNS} FROM appointments WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

pub async fn get_for_update(conn: &mut PgConnection, id: Uuid) -> Result<Option<Appointment>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {APPOINTMENT_COLUMNS} FROM appointments WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

pub async fn find_by_manage_token(
    conn: &mut PgConnection,
    hash: &[u8],
) -> Result<Option<Appointment>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {APPOINTMENT_COLUMNS} FROM appointments WHERE manage_token_hash = $1"
    ))
    .bind(hash)
    .fetch_optional(conn)
    .await
}

/// The items of some visits, in order. One visit's items (a visit's answer)
/// are read by a statement of their own: with `= ANY`, PostgreSQL plans a
/// statement for one id afresh on every call, as a plan for any number of
/// ids looks dearer than one for a single id.
pub async fn items(conn: &mut PgConnection, appointment_ids: &[Uuid]) -> Result<Vec<Item>, sqlx::Error> {
    if let [one] = appointment_ids {
        return sqlx::query_as(&format!(
            "{ITEM_SELECT} WHERE i.appointment_id = $1 ORDER BY i.position"
        ))
        .bind(one)
        .fetch_all(conn)
        .await;
    }
    sqlx::query_as(&format!(
        "{ITEM_SELECT} WHERE i.appointment_id = ANY($1) ORDER BY i.appointment_id, i.position"
    ))
    .bind(appointment_ids)
    .fetch_all(conn)
    .await
}

/// Appointments of a location starting in `[from, to)`, by start.
pub async fn list(
    conn: &mut PgConnection,
    location_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Appointment>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {APPOINTMENT_COLUMNS} FROM appointments
          WHERE location_id = $1 AND starts_at < $3 AND ends_at > $2 ORDER BY starts_at, id"
    ))
    .bind(location_id)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await
}

pub async fn set_status(
    conn: &mut PgConnection,
    id: Uuid,
    status: &str,
    holds_time: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE appointments SET status = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(status)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE appointment_items SET active = $2 WHERE appointment_id = $1")
        .bind(id)
        .bind(holds_time)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn cancel(conn: &mut PgConnection, id: Uuid, reason: &str, by: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE appointments SET status = 'cancelled', cancel_reason = $2, cancelled_by = $3, cancelled_at = now(),
                updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(reason)
    .bind(by)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE appointment_items SET active = false WHERE appointment_id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// One line of an appointment's history.
pub struct HistoryEntry<'a> {
    pub kind: &'a str,
    pub from_status: Option<&'a str>,
    pub to_status: Option<&'a str>,
    pub details: serde_json::Value,
    pub actor: &'a str,
}

pub async fn record_event(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    appointment_id: Uuid,
    entry: HistoryEntry<'_>,
) -> Result<(), sqlx::Error> {
    let HistoryEntry {
        kind,
        from_status,
        to_status,
        details,
        actor,
    } = entry;
    sqlx::query(
        "INSERT INTO appointment_events (tenant_id, id, appointment_id, kind, from_status, to_status, details, actor)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tenant_id)
    .bind(Uuid::now_v7())
    .bind(appointment_id)
    .bind(kind)
    .bind(from_status)
    .bind(to_status)
    .bind(details)
    .bind(actor)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct HistoryEvent {
    pub kind: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub details: serde_json::Value,
    pub actor: String,
    pub at: DateTime<Utc>,
}

pub async fn history(
    conn: &mut PgConnection,
    appointment_id: Uuid,
) -> Result<Vec<HistoryEvent>, sqlx::Error> {
    sqlx::query_as(
        "SELECT kind, from_status, to_status, details, actor, at FROM appointment_events
          WHERE appointment_id = $1 ORDER BY id",
    )
    .bind(appointment_id)
    .fetch_all(conn)
    .await
}

/// The active item that holds `staff_id` (or `resource_id`) over any of
/// `intervals`: what a refused booking collided with.
pub async fn conflicting_item(
    conn: &mut PgConnection,
    staff_id: Option<Uuid>,
    resource_id: Option<Uuid>,
    intervals: &[(DateTime<Utc>, DateTime<Utc>)],
) -> Result<Option<Item>, sqlx::Error> {
    let (starts, ends): (Vec<_>, Vec<_>) = intervals.iter().copied().unzip();
    sqlx::query_as(&format!(
        "{ITEM_SELECT}
          WHERE i.active
            -- Bounds on the start keep this to a day's items of the staff
            -- member or resource (no item lasts a day) through an index.
            AND i.starts_at >= (SELECT min(s) FROM unnest($3::timestamptz[]) AS s) - interval '1 day'
            AND i.starts_at < (SELECT max(e) FROM unnest($4::timestamptz[]) AS e)
            AND (($1::uuid IS NOT NULL AND i.staff_id = $1 AND i.staff_time && (SELECT range_agg(tstzrange(s, e))
                    FROM unnest($3::timestamptz[], $4::timestamptz[]) AS t(s, e)))
              OR ($2::uuid IS NOT NULL AND i.resource_id = $2 AND EXISTS (SELECT 1
                    FROM unnest($3::timestamptz[], $4::timestamptz[]) AS t(s, e) WHERE i.client_time && tstzrange(s, e))))
          ORDER BY lower(i.client_time) LIMIT 1"
    ))
    .bind(staff_id)
    .bind(resource_id)
    .bind(&starts)
    .bind(&ends)
    .fetch_optional(conn)
    .await
}

/// Lock a resource row: bookings of shared (capacity > 1) resources
/// serialize here, so their count check cannot race.
pub async fn lock_resource(conn: &mut PgConnection, resource_id: Uuid) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar("SELECT capacity FROM resources WHERE id = $1 FOR UPDATE")
        .bind(resource_id)
        .fetch_one(conn)
        .await
}

/// The largest number of active items using the resource at one moment in `[from, to)`.
pub async fn resource_peak_use(
    conn: &mut PgConnection,
    location_id: Uuid,
    resource_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "WITH uses AS (
             SELECT greatest(lower(client_time), $2) AS s, least(upper(client_time), $3) AS e
               FROM appointment_items
              -- The start bounds let appointment_items_resource_use serve this
              -- (no item lasts a day); the range test alone cannot use an
              -- index under row-level security.
              WHERE active AND location_id = $4 AND resource_id = $1
                AND starts_at >= $2 - interval '1 day' AND starts_at < $3
                AND client_time && tstzrange($2, $3))
         SELECT COALESCE(max(n), 0) FROM (
             SELECT sum(delta) OVER (ORDER BY t, delta) AS n
               FROM (SELECT s AS t, 1 AS delta FROM uses UNION ALL SELECT e, -1 FROM uses) edges) running",
    )
    .bind(resource_id)
    .bind(from)
    .bind(to)
    .bind(location_id)
    .fetch_one(conn)
    .await
}

/// Idempotency: the stored answer of an earlier request with this key.
pub async fn idempotent_answer(
    conn: &mut PgConnection,
    scope: &str,
    key: &str,
) -> Result<Option<(Vec<u8>, i16, serde_json::Value)>, sqlx::Error> {
    sqlx::query_as("SELECT fingerprint, response_status, response_body FROM idempotency_keys WHERE scope = $1 AND key = $2")
        .bind(scope)
        .bind(key)
        .fetch_optional(conn)
        .await
}

/// Claim a key for this request; `false` when an earlier request holds it
/// (this blocks until that request's transaction ends, so concurrent
/// retries never both run).
pub async fn claim_idempotency_key(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    scope: &str,
    key: &str,
    fingerprint: &[u8],
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (tenant_id, scope, key, fingerprint, response_status, response_body)
         VALUES ($1, $2, $3, $4, 0, 'null') ON CONFLICT (tenant_id, scope, key) DO NOTHING",
    )
    .bind(tenant_id)
    .bind(scope)
    .bind(key)
    .bind(fingerprint)
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Keep the answer of a claimed key, in the same transaction as the work.
pub async fn record_idempotent_answer(
    conn: &mut PgConnection,
    scope: &str,
    key: &str,
    status: i16,
    body: &serde_json::Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE idempotency_keys SET response_status = $3, response_body = $4 WHERE scope = $1 AND key = $2",
    )
    .bind(scope)
    .bind(key)
    .bind(status)
    .bind(body)
    .execute(conn)
    .await?;
    Ok(())
}

/// Record a domain event in the current transaction, with the job that
/// handles it: both exist exactly when the change commits.
pub async fn emit(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    kind: &str,
    subject_id: Uuid,
    payload: serde_json::Value,
) -> Result<(), sqlx::Error> {
    crate::jobs::record_event(conn, tenant_id, kind, subject_id, &payload).await?;
    Ok(())
}

/// A client's appointments: those ending after `now` (soonest first) and the
/// rest (latest first), each list at most `limit`.
pub async fn of_client(
    conn: &mut PgConnection,
    client_id: Uuid,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<(Vec<Appointment>, Vec<Appointment>), sqlx::Error> {
    let upcoming = sqlx::query_as(&format!(
        "SELECT {APPOINTMENT_COLUMNS} FROM appointments WHERE client_id = $1 AND ends_at > $2
          ORDER BY starts_at, id LIMIT $3"
    ))
    .bind(client_id)
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let past = sqlx::query_as(&format!(
        "SELECT {APPOINTMENT_COLUMNS} FROM appointments WHERE client_id = $1 AND ends_at <= $2
          ORDER BY starts_at DESC, id LIMIT $3"
    ))
    .bind(client_id)
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok((upcoming, past))
}
