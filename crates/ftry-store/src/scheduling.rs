//! What the availability engine needs about one location, loaded in a
//! handful of set-based queries (never one query per staff member or day).

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LocationRules {
    pub id: Uuid,
    pub name: String,
    pub timezone: String,
    pub online_booking: bool,
    pub min_notice_minutes: i32,
    pub max_days_ahead: i32,
    pub slot_step_minutes: i32,
    pub cancellation_window_minutes: i32,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WeeklyInterval {
    pub owner_id: Uuid,
    pub weekday: i16,
    pub kind: String,
    pub starts: i16,
    pub ends: i16,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Closure {
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ServiceRow {
    pub id: Uuid,
    pub name: String,
    pub duration_minutes: i32,
    pub buffer_before_minutes: i32,
    pub buffer_after_minutes: i32,
    pub processing_offset_minutes: Option<i32>,
    pub processing_minutes: Option<i32>,
    pub price_paise: i64,
    pub resource_type: Option<String>,
    pub online_bookable: bool,
    pub active: bool,
    pub offered_here: bool,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StaffRow {
    pub id: Uuid,
    pub name: String,
    pub title: String,
    pub colour: String,
    pub display_order: i32,
    pub active: bool,
    pub bookable_online: bool,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StaffServiceRow {
    pub staff_id: Uuid,
    pub service_id: Uuid,
    pub price_paise: Option<i64>,
    pub duration_minutes: Option<i32>,
}

/// A UTC interval owned by someone (staff member or resource).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OwnedInterval {
    pub owner_id: Uuid,
    pub starts: DateTime<Utc>,
    pub ends: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ResourceRow {
    pub id: Uuid,
    pub name: String,
    pub resource_type: String,
    pub capacity: i32,
    pub display_order: i32,
}

/// Everything about a location the engine needs for `[from, to)`.
#[derive(Debug, Clone)]
pub struct LocationSchedule {
    pub rules: LocationRules,
    pub opening_hours: Vec<WeeklyInterval>,
    pub closures: Vec<Closure>,
    pub services: Vec<ServiceRow>,
    pub staff: Vec<StaffRow>,
    pub staff_services: Vec<StaffServiceRow>,
    pub staff_hours: Vec<WeeklyInterval>,
    pub time_off: Vec<OwnedInterval>,
    /// Staff busy time of active items anywhere (buffers in, processing gaps out).
    pub staff_busy: Vec<OwnedInterval>,
    pub resources: Vec<ResourceRow>,
    /// Client time of active items per resource (one unit each).
    pub resource_use: Vec<OwnedInterval>,
}

pub async fn location_rules(
    conn: &mut PgConnection,
    location_id: Uuid,
) -> Result<Option<LocationRules>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, name, timezone, online_booking, min_notice_minutes, max_days_ahead, slot_step_minutes,
                cancellation_window_minutes
           FROM locations WHERE id = $1",
    )
    .bind(location_id)
    .fetch_optional(conn)
    .await
}

/// Load the schedule of `location_id` for the UTC window `[from, to)`.
/// `exclude_appointment` leaves one appointment's own items out (rescheduling).
pub async fn load(
    conn: &mut PgConnection,
    location_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    exclude_appointment: Option<Uuid>,
) -> Result<Option<LocationSchedule>, sqlx::Error> {
    let Some(rules) = location_rules(conn, location_id).await? else {
        return Ok(None);
    };
    let opening_hours = sqlx::query_as(
        "SELECT location_id AS owner_id, weekday, 'open' AS kind, opens AS starts, closes AS ends
           FROM location_hours WHERE location_id = $1 ORDER BY weekday, opens",
    )
    .bind(location_id)
    .fetch_all(&mut *conn)
    .await?;
    let closures = sqlx::query_as(
        "SELECT first_day, last_day FROM location_closures WHERE location_id = $1 ORDER BY first_day",
    )
    .bind(location_id)
    .fetch_all(&mut *conn)
    .await?;
    let services = sqlx::query_as(
        "SELECT s.id, s.name, s.duration_minutes, s.buffer_before_minutes, s.buffer_after_minutes,
                s.processing_offset_minutes, s.processing_minutes, s.price_paise, s.resource_type,
                s.online_bookable, s.active,
                EXISTS (SELECT 1 FROM service_locations sl WHERE sl.service_id = s.id AND sl.location_id = $1)
                    AS offered_here
           FROM services s ORDER BY s.display_order, s.name, s.id",
    )
    .bind(location_id)
    .fetch_all(&mut *conn)
    .await?;
    // Staff who work at this location at all.
    let staff: Vec<StaffRow> = sqlx::query_as(
        "SELECT id, name, title, colour, display_order, active, bookable_online FROM staff s
          WHERE EXISTS (SELECT 1 FROM staff_hours h WHERE h.staff_id = s.id AND h.location_id = $1)
          ORDER BY display_order, name, id",
    )
    .bind(location_id)
    .fetch_all(&mut *conn)
    .await?;
    let staff_ids: Vec<Uuid> = staff.iter().map(|s| s.id).collect();
    let staff_services = sqlx::query_as(
        "SELECT staff_id, service_id, price_paise, duration_minutes FROM staff_services WHERE staff_id = ANY($1)",
    )
    .bind(&staff_ids)
    .fetch_all(&mut *conn)
    .await?;
    let staff_hours = sqlx::query_as(
        "SELECT staff_id AS owner_id, weekday, kind, starts, ends FROM staff_hours
          WHERE location_id = $1 ORDER BY staff_id, weekday, starts",
    )
    .bind(location_id)
    .fetch_all(&mut *conn)
    .await?;
    let time_off = sqlx::query_as(
        "SELECT staff_id AS owner_id, lower(period) AS starts, upper(period) AS ends FROM time_off
          WHERE staff_id = ANY($1) AND period && tstzrange($2, $3)",
    )
    .bind(&staff_ids)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    let staff_busy = sqlx::query_as(
        "SELECT i.staff_id AS owner_id, lower(r) AS starts, upper(r) AS ends
           FROM appointment_items i, unnest(i.staff_time) AS r
          WHERE i.active AND i.staff_id = ANY($1) AND i.staff_time && tstzrange($2, $3)
            AND ($4::uuid IS NULL OR i.appointment_id <> $4)
          ORDER BY 1, 2",
    )
    .bind(&staff_ids)
    .bind(from)
    .bind(to)
    .bind(exclude_appointment)
    .fetch_all(&mut *conn)
    .await?;
    let resources = sqlx::query_as(
        "SELECT id, name, resource_type, capacity, display_order FROM resources
          WHERE location_id = $1 AND active ORDER BY display_order, name, id",
    )
    .bind(location_id)
    .fetch_all(&mut *conn)
    .await?;
    let resource_use = sqlx::query_as(
        "SELECT resource_id AS owner_id, lower(client_time) AS starts, upper(client_time) AS ends
           FROM appointment_items
          WHERE active AND location_id = $1 AND resource_id IS NOT NULL AND client_time && tstzrange($2, $3)
            AND ($4::uuid IS NULL OR appointment_id <> $4)",
    )
    .bind(location_id)
    .bind(from)
    .bind(to)
    .bind(exclude_appointment)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Some(LocationSchedule {
        rules,
        opening_hours,
        closures,
        services,
        staff,
        staff_services,
        staff_hours,
        time_off,
        staff_busy,
        resources,
        resource_use,
    }))
}
