//! What the availability engine needs about one location, loaded in one
//! round trip: a single statement returns every part as JSON (never one
//! query per staff member or day, and not one per table either: on a busy
//! node the round trips, not the rows, were the cost).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use sqlx::types::Json;
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow, Deserialize)]
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

#[derive(Debug, Clone, sqlx::FromRow, Deserialize)]
pub struct WeeklyInterval {
    pub owner_id: Uuid,
    pub weekday: i16,
    pub kind: String,
    pub starts: i16,
    pub ends: i16,
}

#[derive(Debug, Clone, sqlx::FromRow, Deserialize)]
pub struct Closure {
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
}

#[derive(Debug, Clone, sqlx::FromRow, Deserialize)]
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

#[derive(Debug, Clone, sqlx::FromRow, Deserialize)]
pub struct StaffRow {
    pub id: Uuid,
    pub name: String,
    pub title: String,
    pub colour: String,
    pub display_order: i32,
    pub active: bool,
    pub bookable_online: bool,
}

#[derive(Debug, Clone, sqlx::FromRow, Deserialize)]
pub struct StaffServiceRow {
    pub staff_id: Uuid,
    pub service_id: Uuid,
    pub price_paise: Option<i64>,
    pub duration_minutes: Option<i32>,
}

/// A UTC interval owned by someone (staff member or resource).
#[derive(Debug, Clone, sqlx::FromRow, Deserialize)]
pub struct OwnedInterval {
    pub owner_id: Uuid,
    pub starts: DateTime<Utc>,
    pub ends: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow, Deserialize)]
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

/// Load the schedule of `location_id` for the UTC window `[from, to)`.
/// `exclude_appointment` leaves one appointment's own items out (rescheduling).
pub async fn load(
    conn: &mut PgConnection,
    location_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    exclude_appointment: Option<Uuid>,
) -> Result<Option<LocationSchedule>, sqlx::Error> {
    type Parts = (
        Option<Json<LocationRules>>,
        Json<Vec<WeeklyInterval>>,
        Json<Vec<Closure>>,
        Json<Vec<ServiceRow>>,
        Json<Vec<StaffRow>>,
        Json<Vec<StaffServiceRow>>,
        Json<Vec<WeeklyInterval>>,
        Json<Vec<OwnedInterval>>,
        Json<Vec<ResourceRow>>,
        Vec<Uuid>,
        Vec<DateTime<Utc>>,
        Vec<DateTime<Utc>>,
        Vec<Uuid>,
        Vec<DateTime<Utc>>,
        Vec<DateTime<Utc>>,
    );
    let parts: Parts = sqlx::query_as(include_str!("scheduling.sql"))
        .bind(location_id)
        .bind(from)
        .bind(to)
        .bind(exclude_appointment)
        .fetch_one(conn)
        .await?;
    let (
        rules,
        opening_hours,
        closures,
        services,
        staff,
        staff_services,
        staff_hours,
        time_off,
        resources,
        busy_staff,
        busy_starts,
        busy_ends,
        use_resources,
        use_starts,
        use_ends,
    ) = parts;
    let owned =
        |owners: Vec<Uuid>, starts: Vec<DateTime<Utc>>, ends: Vec<DateTime<Utc>>| -> Vec<OwnedInterval> {
            owners
                .into_iter()
                .zip(starts)
                .zip(ends)
                .map(|((owner_id, starts), ends)| OwnedInterval {
                    owner_id,
                    starts,
                    ends,
                })
                .collect()
        };
    Ok(rules.map(|Json(rules)| LocationSchedule {
        rules,
        opening_hours: opening_hours.0,
        closures: closures.0,
        services: services.0,
        staff: staff.0,
        staff_services: staff_services.0,
        staff_hours: staff_hours.0,
        time_off: time_off.0,
        staff_busy: owned(busy_staff, busy_starts, busy_ends),
        resources: resources.0,
        resource_use: owned(use_resources, use_starts, use_ends),
    }))
}
