//! The calendar of a location: per day, each staff member's working hours,
//! breaks, time off and booked items, from a fixed handful of queries.

use chrono::{DateTime, Days, NaiveDate, Utc};
use ftry_domain::permissions::Permission;
use ftry_domain::schedule::{boundary_instant, WallInterval};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::AppError;
use crate::{App, Principal};

#[derive(Debug, Serialize, ToSchema)]
pub struct Calendar {
    pub location_id: Uuid,
    pub location_name: String,
    pub timezone: String,
    pub days: Vec<CalendarDay>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarDay {
    pub date: NaiveDate,
    pub closed: bool,
    /// Opening hours of the day, as UTC instants.
    pub open: Vec<Span>,
    pub staff: Vec<StaffColumn>,
}

#[derive(Debug, Serialize, ToSchema)]
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

impl App {
    /// `days` (1–7) local days from `date`.
    pub async fn calendar(
        &self,
        principal: &Principal,
        location_id: Uuid,
        date: NaiveDate,
        days: u32,
    ) -> Result<Calendar, AppError> {
        principal.require(Permission::CalendarOwn)?;
        if !(1..=7).contains(&days) {
            return Err(AppError::invalid("days", "must be 1 to 7"));
        }
        let last = date
            .checked_add_days(Days::new(u64::from(days - 1)))
            .ok_or_else(|| AppError::invalid("date", "out of range"))?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let loaded = crate::booking::load(
            &mut tx,
            &self.pools.metrics,
            location_id,
            date,
            last,
            false,
            None,
            Some(&[]),
        )
        .await?;
        let zone = loaded.zone();
        let from = boundary_instant(zone, date.and_time(chrono::NaiveTime::MIN));
        let to = boundary_instant(
            zone,
            last.succ_opt().unwrap_or(last).and_time(chrono::NaiveTime::MIN),
        );
        let items = sqlx::query_as::<_, CalendarItem>(
            "SELECT i.appointment_id, i.id AS item_id, a.status, s.name AS service_name, c.name AS client_name,
                    i.staff_id, i.resource_id, lower(i.client_time) AS starts_at, upper(i.client_time) AS ends_at
               FROM appointment_items i
               JOIN appointments a ON a.tenant_id = i.tenant_id AND a.id = i.appointment_id
               JOIN services s ON s.tenant_id = i.tenant_id AND s.id = i.service_id
               JOIN clients c ON c.tenant_id = a.tenant_id AND c.id = a.client_id
              WHERE i.location_id = $1 AND i.client_time && tstzrange($2, $3)
                -- What an index can find under row-level security (no item lasts a day).
                AND i.starts_at >= $2 - interval '1 day' AND i.starts_at < $3
                AND (i.active OR a.status = 'no_show')
              ORDER BY lower(i.client_time), i.position",
        )
        .bind(location_id)
        .bind(from)
        .bind(to)
        .fetch_all(&mut *tx);
        let items = self.pools.metrics.timed("calendar_items", items).await?;
        let own_staff: Option<Uuid> = if principal.can(Permission::CalendarRead) {
            None
        } else {
            let own = ftry_store::staff::id_for_user(&mut tx, principal.user_id).await?;
            Some(own.ok_or_else(|| {
                AppError::forbidden("no_staff_profile", "Your account has no staff profile.")
            })?)
        };
        tx.commit().await?;
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
        Ok(Calendar {
            location_id,
            location_name: loaded.rows.rules.name.clone(),
            timezone: loaded.rows.rules.timezone.clone(),
            days: calendar_days,
        })
    }
}
