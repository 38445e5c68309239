//! What the availability engine needs about one location, loaded in one
//! round trip: a single statement returns every part as JSON (never one
//! query per staff member or day, and not one per table either: on a busy
//! node the round trips, not the rows, were the cost).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgConnection, Row};
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
    /// The business's schedule version this was read at (see [`version`]).
    pub version: i64,
}

/// What a schedule load keeps; `None` keeps everything of that kind.
#[derive(Debug, Clone, Copy, Default)]
pub struct Only<'a> {
    /// These services and their staff overrides.
    pub services: Option<&'a [Uuid]>,
    /// These staff members (their hours, time off and busy time), as when
    /// checking a visit whose every item names who does it.
    pub staff: Option<&'a [Uuid]>,
}

/// Load the schedule of `location_id` for the UTC window `[from, to)`.
/// `exclude_appointment` leaves one appointment's own items out (rescheduling);
/// `only` narrows it to some services and staff members.
pub async fn load(
    conn: &mut PgConnection,
    location_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    exclude_appointment: Option<Uuid>,
    only: Only<'_>,
) -> Result<Option<LocationSchedule>, sqlx::Error> {
    let row = sqlx::query(include_str!("scheduling.sql"))
        .bind(location_id)
        .bind(from)
        .bind(to)
        .bind(exclude_appointment)
        .bind(only.services)
        .bind(only.staff)
        .fetch_one(conn)
        .await?;
    let Some(Json(rules)) = row.try_get::<Option<Json<LocationRules>>, _>("rules")? else {
        return Ok(None);
    };
    let hours_staff: Vec<Uuid> = row.try_get("hours_staff")?;
    let weekdays: Vec<i16> = row.try_get("hours_weekdays")?;
    let kinds: Vec<String> = row.try_get("hours_kinds")?;
    let starts: Vec<i16> = row.try_get("hours_starts")?;
    let ends: Vec<i16> = row.try_get("hours_ends")?;
    let busy_staff: Vec<Uuid> = row.try_get("busy_staff")?;
    let busy_from: Vec<DateTime<Utc>> = row.try_get("busy_from")?;
    let busy_to: Vec<DateTime<Utc>> = row.try_get("busy_to")?;
    let idle_from: Vec<Option<DateTime<Utc>>> = row.try_get("idle_from")?;
    let idle_to: Vec<Option<DateTime<Utc>>> = row.try_get("idle_to")?;
    let use_resources: Vec<Uuid> = row.try_get("use_resources")?;
    let use_starts: Vec<DateTime<Utc>> = row.try_get("use_starts")?;
    let use_ends: Vec<DateTime<Utc>> = row.try_get("use_ends")?;
    fn json<T: serde::de::DeserializeOwned>(row: &PgRow, column: &str) -> Result<Vec<T>, sqlx::Error> {
        row.try_get::<Json<Vec<T>>, _>(column).map(|Json(list)| list)
    }
    let mut staff_hours: Vec<WeeklyInterval> = hours_staff
        .into_iter()
        .zip(weekdays)
        .zip(kinds)
        .zip(starts.into_iter().zip(ends))
        .map(|(((owner_id, weekday), kind), (starts, ends))| WeeklyInterval {
            owner_id,
            weekday,
            kind,
            starts,
            ends,
        })
        .collect();
    staff_hours.sort_by_key(|h| (h.owner_id, h.weekday, h.starts));
    // A processing gap splits an item's busy time in two.
    let mut staff_busy = Vec::with_capacity(busy_staff.len());
    for ((owner_id, (busy_from, busy_to)), (idle_from, idle_to)) in busy_staff
        .into_iter()
        .zip(busy_from.into_iter().zip(busy_to))
        .zip(idle_from.into_iter().zip(idle_to))
    {
        let mut push = |starts, ends| {
            if starts < ends && ends > from && starts < to {
                staff_busy.push(OwnedInterval {
                    owner_id,
                    starts,
                    ends,
                });
            }
        };
        match idle_from.zip(idle_to) {
            Some((idle_from, idle_to)) => {
                push(busy_from, idle_from);
                push(idle_to, busy_to);
            }
            None => push(busy_from, busy_to),
        }
    }
    let resource_use = use_resources
        .into_iter()
        .zip(use_starts.into_iter().zip(use_ends))
        .map(|(owner_id, (starts, ends))| OwnedInterval {
            owner_id,
            starts,
            ends,
        })
        .collect();
    Ok(Some(LocationSchedule {
        rules,
        opening_hours: json(&row, "opening_hours")?,
        closures: json(&row, "closures")?,
        services: json(&row, "services")?,
        staff: json(&row, "staff")?,
        staff_services: json(&row, "staff_services")?,
        staff_hours,
        time_off: json(&row, "time_off")?,
        staff_busy,
        resources: json(&row, "resources")?,
        resource_use,
        version: row.try_get("version")?,
    }))
}

/// The business's schedule version: it moves, in the same commit, with every
/// change to anything [`load`] reads, so a schedule loaded at the version
/// still current is still true.
/// One round trip, outside any transaction: the function sets the tenant for
/// its own statement.
pub async fn version(conn: &mut PgConnection, tenant_id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT ftry_schedule_version($1)")
        .bind(tenant_id)
        .fetch_one(conn)
        .await
}
