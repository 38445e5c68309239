//! The calendar of a location: per day, each staff member's working hours,
//! breaks, time off and booked items, from a fixed handful of queries.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Days, NaiveDate, Utc};
use ftry_domain::permissions::Permission;
use ftry_domain::schedule::{boundary_instant, WallInterval};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::AppError;
use crate::schedule_cache::DayKey;
use crate::{App, Principal};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Calendar {
    pub location_id: Uuid,
    pub location_name: String,
    pub timezone: String,
    pub days: Vec<CalendarDay>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CalendarDay {
    pub date: NaiveDate,
    pub closed: bool,
    /// Opening hours of the day, as UTC instants.
    pub open: Vec<Span>,
    pub staff: Vec<StaffColumn>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StaffColumn {
    pub staff_id: Uuid,
    pub name: String,
    pub colour: String,
    pub working: Vec<Span>,
    pub breaks: Vec<Span>,
    pub time_off: Vec<Span>,
    pub items: Vec<CalendarItem>,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Span {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct CalendarItem {
    pub appointment_id: Uuid,
    pub item_id: Uuid,
    pub status: String,
    pub service_name: String,
    pub client_name: String,
    pub staff_id: Uuid,
    pub resource_id: Option<Uuid>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

fn spans_on(zone: chrono_tz::Tz, hours: &[WallInterval], date: NaiveDate) -> Vec<Span> {
    hours
        .iter()
        .filter_map(|h| h.on(date))
        .map(|(start, end)| Span {
            start: boundary_instant(zone, start),
            end: boundary_instant(zone, end),
        })
        .collect()
}

/// A calendar as drawn, with its JSON written once.
#[derive(Debug)]
pub struct DrawnCalendar {
    calendar: Calendar,
    json: Bytes,
}

impl DrawnCalendar {
    fn new(calendar: Calendar) -> Result<Self, AppError> {
        let json = serde_json::to_vec(&calendar)
            .map_err(|e| AppError::Internal(format!("writing a calendar: {e}")))?;
        Ok(Self {
            calendar,
            json: Bytes::from(json),
        })
    }

    /// The calendar as the API answers it.
    pub fn json(&self) -> Bytes {
        self.json.clone()
    }

    /// About the bytes it holds: its JSON, and the calendar it was written
    /// from, taken as large again.
    pub(crate) fn weight(&self) -> usize {
        2 * self.json.len()
    }
}

impl App {
    /// `days` (1–7) local days from `date`.
    pub async fn calendar(
        &self,
        principal: &Principal,
        location_id: Uuid,
        date: NaiveDate,
        days: u32,
    ) -> Result<Calendar, AppError> {
        Ok(self
            .drawn_calendar(principal, location_id, date, days)
            .await?
            .calendar
            .clone())
    }

    /// The same calendar, held by the node while nothing it shows changed
    /// (the front desk's whole location; a stylist's column is drawn each
    /// time), its JSON written once.
    pub async fn drawn_calendar(
        &self,
        principal: &Principal,
        location_id: Uuid,
        date: NaiveDate,
        days: u32,
    ) -> Result<Arc<DrawnCalendar>, AppError> {
        principal.require(Permission::CalendarOwn)?;
        if !(1..=7).contains(&days) {
            return Err(AppError::invalid("days", "must be 1 to 7"));
        }
        let last = date
            .checked_add_days(Days::new(u64::from(days - 1)))
            .ok_or_else(|| AppError::invalid("date", "out of range"))?;
        // The whole location's calendar is held for the front desk; a
        // stylist's own column is drawn each time.
        let held = match principal.versions {
            Some(versions) if principal.can(Permission::CalendarRead) => {
                let key = DayKey {
                    tenant_id: principal.tenant_id,
                    location_id,
                    date,
                    days,
                };
                if let Some(calendar) = self.schedules.calendar(&key, versions) {
                    return Ok(calendar);
                }
                Some((key, versions))
            }
            _ => None,
        };
        // Hours, breaks and time off come from the schedule the node holds at
        // the business's current version (read with the session's standing);
        // the items are read fresh, with the clients' and services' names.
        let search = crate::schedule_cache::Search {
            tenant_id: principal.tenant_id,
            location_id,
            first: date,
            last,
            online: false,
            services: &[],
            version: principal.versions.map(|v| v.schedule),
        };
        let loaded = self.schedules.schedule(&self.pools, &search).await?;
        let zone = loaded.zone();
        let from = boundary_instant(zone, date.and_time(chrono::NaiveTime::MIN));
        let to = boundary_instant(
            zone,
            last.succ_opt().unwrap_or(last).and_time(chrono::NaiveTime::MIN),
        );
        let own_staff: Option<Uuid> = if principal.can(Permission::CalendarRead) {
            None
        } else {
            let mut tx = self.pools.begin(principal.tenant_id).await?;
            let own = ftry_store::staff::id_for_user(&mut tx, principal.user_id).await?;
            tx.commit().await?;
            Some(own.ok_or_else(|| {
                AppError::forbidden("no_staff_profile", "Your account has no staff profile.")
            })?)
        };
        let mut conn = self.pools.acquire(ftry_store::PoolName::App).await?;
        let items = sqlx::query_as::<_, CalendarItem>("SELECT * FROM ftry_calendar_items($1, $2, $3, $4)")
            .bind(principal.tenant_id)
            .bind(location_id)
            .bind(from)
            .bind(to)
            .fetch_all(&mut *conn);
        let items = self.pools.metrics.timed("calendar_items", items).await?;
        drop(conn);
        let mut calendar_days = Vec::new();
        for day in date.iter_days().take(days as usize) {
            let staff = loaded
                .schedule
                .staff
                .iter()
                .filter(|member| own_staff.is_none_or(|own| own == member.id))
                .filter_map(|member| {
                    let row = loaded.rows.staff.iter().find(|r| r.id == member.id)?;
                    let working = spans_on(zone, &member.working_hours, day);
                    let day_start = boundary_instant(zone, day.and_time(chrono::NaiveTime::MIN));
                    let day_end = boundary_instant(zone, day.succ_opt()?.and_time(chrono::NaiveTime::MIN));
                    let overlaps = |s: DateTime<Utc>, e: DateTime<Utc>| s < day_end && e > day_start;
                    Some(StaffColumn {
                        staff_id: member.id,
                        name: row.name.clone(),
                        colour: row.colour.clone(),
                        working,
                        breaks: spans_on(zone, &member.breaks, day),
                        time_off: member
                            .time_off
                            .iter()
                            .filter(|t| overlaps(t.start, t.end))
                            .map(|t| Span {
                                start: t.start,
                                end: t.end,
                            })
                            .collect(),
                        items: items
                            .iter()
                            .filter(|i| i.staff_id == member.id && overlaps(i.starts_at, i.ends_at))
                            .cloned()
                            .collect(),
                    })
                })
                .collect();
            calendar_days.push(CalendarDay {
                date: day,
                closed: loaded.schedule.closures.iter().any(|c| c.contains(day)),
                open: spans_on(zone, &loaded.schedule.opening_hours, day),
                staff,
            });
        }
        let calendar = Arc::new(DrawnCalendar::new(Calendar {
            location_id,
            location_name: loaded.rows.rules.name.clone(),
            timezone: loaded.rows.rules.timezone.clone(),
            days: calendar_days,
        })?);
        // Everything was read at the versions of the request's start or
        // later: a request that sees these versions may be given it.
        if let Some((key, versions)) = held {
            self.schedules.hold_calendar(key, versions, Arc::clone(&calendar));
        }
        Ok(calendar)
    }
}
