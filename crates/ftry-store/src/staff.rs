//! The people who perform services: their profiles, the services each one
//! performs (with their own price and duration), their weekly working hours
//! and breaks per branch, and their time off.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::catalog::{columns, WeeklyInterval};

/// What can be written of a staff member's profile.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct StaffFields {
    /// The account this person logs in with, if any.
    pub user_id: Option<Uuid>,
    pub name: String,
    pub title: String,
    /// `#rrggbb`, the colour of their column in the calendar.
    pub colour: String,
    pub display_order: i32,
    pub active: bool,
    pub bookable_online: bool,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Staff {
    pub id: Uuid,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub fields: StaffFields,
    pub created_at: DateTime<Utc>,
}

const STAFF_SELECT: &str =
    "SELECT id, user_id, name, title, colour, display_order, active, bookable_online, created_at FROM staff";

pub async fn list(conn: &mut PgConnection) -> Result<Vec<Staff>, sqlx::Error> {
    sqlx::query_as(&format!("{STAFF_SELECT} ORDER BY display_order, name, id"))
        .fetch_all(conn)
        .await
}

/// The staff profile linked to a user account, if any.
pub async fn id_for_user(conn: &mut PgConnection, user_id: Uuid) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM staff WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(conn)
        .await
}

pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Option<Staff>, sqlx::Error> {
    sqlx::query_as(&format!("{STAFF_SELECT} WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// The staff member, locked against concurrent changes to their profile,
/// services, hours and time off until the transaction ends.
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<Staff>, sqlx::Error> {
    sqlx::query_as(&format!("{STAFF_SELECT} WHERE id = $1 FOR NO KEY UPDATE"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

pub async fn insert(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    fields: &StaffFields,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO staff (tenant_id, id, user_id, name, title, colour, display_order, active, bookable_online)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(tenant_id)
    .bind(id)
    .bind(fields.user_id)
    .bind(&fields.name)
    .bind(&fields.title)
    .bind(&fields.colour)
    .bind(fields.display_order)
    .bind(fields.active)
    .bind(fields.bookable_online)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn update(conn: &mut PgConnection, id: Uuid, fields: &StaffFields) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE staff SET user_id = $2, name = $3, title = $4, colour = $5, display_order = $6, active = $7,
                bookable_online = $8
          WHERE id = $1",
    )
    .bind(id)
    .bind(fields.user_id)
    .bind(&fields.name)
    .bind(&fields.title)
    .bind(&fields.colour)
    .bind(fields.display_order)
    .bind(fields.active)
    .bind(fields.bookable_online)
    .execute(conn)
    .await?;
    Ok(())
}

// ------------------------------------------------------------ services performed

/// A service someone performs; a `None` override means the service's own value.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct StaffService {
    pub service_id: Uuid,
    pub name: String,
    pub price_paise: Option<i64>,
    pub duration_minutes: Option<i32>,
}

pub async fn services(conn: &mut PgConnection, staff_id: Uuid) -> Result<Vec<StaffService>, sqlx::Error> {
    let rows = services_of_each(conn, &[staff_id]).await?;
    Ok(rows.into_iter().map(|(_, service)| service).collect())
}

/// The services of each of these people, in one query: (person, service).
pub async fn services_of_each(
    conn: &mut PgConnection,
    staff_ids: &[Uuid],
) -> Result<Vec<(Uuid, StaffService)>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        staff_id: Uuid,
        #[sqlx(flatten)]
        service: StaffService,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT ss.staff_id, ss.service_id, s.name, ss.price_paise, ss.duration_minutes
           FROM staff_services ss JOIN services s ON s.tenant_id = ss.tenant_id AND s.id = ss.service_id
          WHERE ss.staff_id = ANY($1)
          ORDER BY ss.staff_id, s.display_order, s.name, s.id",
    )
    .bind(staff_ids)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.staff_id, r.service)).collect())
}

/// One service with its overrides, as written.
#[derive(Debug, Clone, Copy)]
pub struct ServiceOverride {
    pub service_id: Uuid,
    pub price_paise: Option<i64>,
    pub duration_minutes: Option<i32>,
}

/// Replace the services someone performs.
pub async fn set_services(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    staff_id: Uuid,
    services: &[ServiceOverride],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM staff_services WHERE staff_id = $1")
        .bind(staff_id)
        .execute(&mut *conn)
        .await?;
    let ids: Vec<Uuid> = services.iter().map(|s| s.service_id).collect();
    let prices: Vec<Option<i64>> = services.iter().map(|s| s.price_paise).collect();
    let durations: Vec<Option<i32>> = services.iter().map(|s| s.duration_minutes).collect();
    sqlx::query(
        "INSERT INTO staff_services (tenant_id, staff_id, service_id, price_paise, duration_minutes)
         SELECT $1, $2, s, p, d FROM unnest($3::uuid[], $4::int8[], $5::int4[]) AS o (s, p, d)",
    )
    .bind(tenant_id)
    .bind(staff_id)
    .bind(ids)
    .bind(prices)
    .bind(durations)
    .execute(conn)
    .await?;
    Ok(())
}

/// The shortest duration any staff member has of their own for a service.
pub async fn shortest_duration_override(
    conn: &mut PgConnection,
    service_id: Uuid,
) -> Result<Option<i32>, sqlx::Error> {
    sqlx::query_scalar("SELECT min(duration_minutes) FROM staff_services WHERE service_id = $1")
        .bind(service_id)
        .fetch_one(conn)
        .await
}

// ------------------------------------------------------------ working hours

/// One interval of someone's week at one branch: `work` or `break`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct HoursRow {
    pub location_id: Uuid,
    pub kind: String,
    #[sqlx(flatten)]
    pub interval: WeeklyInterval,
}

pub async fn hours(conn: &mut PgConnection, staff_id: Uuid) -> Result<Vec<HoursRow>, sqlx::Error> {
    let rows = hours_of_each(conn, &[staff_id]).await?;
    Ok(rows.into_iter().map(|(_, row)| row).collect())
}

/// The weekly hours of each of these people, in one query: (person, row).
pub async fn hours_of_each(
    conn: &mut PgConnection,
    staff_ids: &[Uuid],
) -> Result<Vec<(Uuid, HoursRow)>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        staff_id: Uuid,
        #[sqlx(flatten)]
        hours: HoursRow,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT staff_id, location_id, kind, weekday, starts, ends FROM staff_hours
          WHERE staff_id = ANY($1) ORDER BY staff_id, location_id, weekday, kind DESC, starts",
    )
    .bind(staff_ids)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.staff_id, r.hours)).collect())
}

/// Replace someone's weekly hours at one branch; their hours elsewhere stay.
pub async fn set_hours(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    staff_id: Uuid,
    location_id: Uuid,
    work: &[WeeklyInterval],
    breaks: &[WeeklyInterval],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM staff_hours WHERE staff_id = $1 AND location_id = $2")
        .bind(staff_id)
        .bind(location_id)
        .execute(&mut *conn)
        .await?;
    for (kind, intervals) in [("work", work), ("break", breaks)] {
        let (weekdays, starts, ends) = columns(intervals);
        sqlx::query(
            "INSERT INTO staff_hours (tenant_id, staff_id, location_id, weekday, kind, starts, ends)
             SELECT $1, $2, $3, w, $4, s, e FROM unnest($5::int2[], $6::int2[], $7::int2[]) AS h (w, s, e)",
        )
        .bind(tenant_id)
        .bind(staff_id)
        .bind(location_id)
        .bind(kind)
        .bind(weekdays)
        .bind(starts)
        .bind(ends)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

// ------------------------------------------------------------ time off

/// Time someone is away, `[starts_at, ends_at)`.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TimeOff {
    pub id: Uuid,
    pub staff_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

const TIME_OFF_COLUMNS: &str =
    "id, staff_id, lower(period) AS starts_at, upper(period) AS ends_at, reason, created_at";

pub async fn insert_time_off(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    staff_id: Uuid,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    reason: &str,
) -> Result<TimeOff, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO time_off (tenant_id, id, staff_id, period, reason)
         VALUES ($1, $2, $3, tstzrange($4, $5, '[)'), $6) RETURNING {TIME_OFF_COLUMNS}"
    ))
    .bind(tenant_id)
    .bind(Uuid::now_v7())
    .bind(staff_id)
    .bind(starts_at)
    .bind(ends_at)
    .bind(reason)
    .fetch_one(conn)
    .await
}

/// Someone's time off that overlaps `[from, to)` (either end open), in order.
pub async fn time_off(
    conn: &mut PgConnection,
    staff_id: Uuid,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Vec<TimeOff>, sqlx::Error> {
    time_off_of_each(conn, &[staff_id], from, to).await
}

/// The time off of each of these people in a window, in one query.
pub async fn time_off_of_each(
    conn: &mut PgConnection,
    staff_ids: &[Uuid],
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Vec<TimeOff>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {TIME_OFF_COLUMNS} FROM time_off
          WHERE staff_id = ANY($1) AND period && tstzrange($2, $3, '[)')
          ORDER BY lower(period), id"
    ))
    .bind(staff_ids)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await
}

/// Remove one of someone's time off; `None` when they have none with that id.
pub async fn delete_time_off(
    conn: &mut PgConnection,
    staff_id: Uuid,
    id: Uuid,
) -> Result<Option<TimeOff>, sqlx::Error> {
    sqlx::query_as(&format!(
        "DELETE FROM time_off WHERE staff_id = $1 AND id = $2 RETURNING {TIME_OFF_COLUMNS}"
    ))
    .bind(staff_id)
    .bind(id)
    .fetch_optional(conn)
    .await
}
