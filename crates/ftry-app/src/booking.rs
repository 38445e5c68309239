//! Availability and booking: the schedule of a location loaded once, the
//! pure engine asked, and the visit written in one transaction. The database
//! has the last word: a slot taken in the meantime fails on the exclusion
//! constraints and is answered 409 with what it collided with.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use ftry_domain::availability::{
    self, Assignment, BookingRules, ProcessingGap, ProposedItem, ProposedVisit, RequestedItem, Resource,
    ResourceUsage, Schedule, Service, Slot, StaffMember, StaffService, VisitError, VisitStart,
};
use ftry_domain::schedule::{DateRange, Interval, WallInterval};
use ftry_store::appointments::{self, NewItem};
use ftry_store::scheduling::{self, LocationSchedule, Only, WeeklyInterval};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::AppError;

/// A location's schedule in the engine's terms, with the rows it came from.
pub(crate) struct Loaded {
    pub schedule: Schedule,
    pub rows: LocationSchedule,
}

impl Loaded {
    /// About the bytes it holds: the rows as loaded, and the engine's
    /// schedule made from them, taken as large again.
    pub fn weight(&self) -> usize {
        fn bytes<T>(rows: &[T]) -> usize {
            std::mem::size_of_val(rows)
        }
        let r = &self.rows;
        let rows = std::mem::size_of::<Self>()
            + bytes(&r.opening_hours)
            + bytes(&r.closures)
            + bytes(&r.services)
            + bytes(&r.staff)
            + bytes(&r.staff_services)
            + bytes(&r.staff_hours)
            + bytes(&r.time_off)
            + bytes(&r.staff_busy)
            + bytes(&r.resources)
            + bytes(&r.resource_use);
        2 * rows
    }

    pub fn zone(&self) -> Tz {
        self.schedule.zone
    }

    pub fn service_row(&self, id: Uuid) -> Option<&scheduling::ServiceRow> {
        self.rows.services.iter().find(|s| s.id == id)
    }

    /// The price of `service` done by `staff`: their own, else the service's.
    pub fn price(&self, service: Uuid, staff: Uuid) -> i64 {
        self.rows
            .staff_services
            .iter()
            .find(|ss| ss.staff_id == staff && ss.service_id == service)
            .and_then(|ss| ss.price_paise)
            .or_else(|| self.service_row(service).map(|s| s.price_paise))
            .unwrap_or(0)
    }
}

fn weekday(iso: i16) -> Option<Weekday> {
    Weekday::try_from(u8::try_from(iso - 1).ok()?).ok()
}

fn wall(row: &WeeklyInterval) -> Option<WallInterval> {
    let time = |minute: i16| {
        let minute = u32::try_from(minute).ok()?;
        // 24:00 is the next midnight: an end at or before the start runs into the next day.
        NaiveTime::from_hms_opt((minute / 60) % 24, minute % 60, 0)
    };
    Some(WallInterval {
        weekday: weekday(row.weekday)?,
        start: time(row.starts)?,
        end: time(row.ends)?,
    })
}

fn minutes(value: i32) -> u32 {
    u32::try_from(value).unwrap_or(0)
}

/// Load the schedule of a location around the local dates `first..=last`.
/// `online` keeps only what clients may book themselves; `only` narrows it
/// to the services (and staff) a visit or a search will touch.
/// The statement is timed in `db` as the named query `schedule_load`.
#[allow(clippy::too_many_arguments)] // each call site names its window and filters in place
pub(crate) async fn load(
    conn: &mut sqlx::PgConnection,
    db: &ftry_store::DbMetrics,
    location_id: Uuid,
    first: NaiveDate,
    last: NaiveDate,
    online: bool,
    exclude_appointment: Option<Uuid>,
    only: Only<'_>,
) -> Result<Loaded, AppError> {
    // A local date starts at most 14 hours before and 12 hours after the UTC
    // date, and a visit's buffers reach at most 4 hours either side of it; a
    // visit never runs past the local midnight after its day (every item must
    // fit opening hours). So the day before `first` and the day after `last`
    // cover everything the engine can look at.
    let from = first
        .checked_sub_days(Days::new(1))
        .unwrap_or(first)
        .and_time(NaiveTime::MIN)
        .and_utc();
    let to = last
        .checked_add_days(Days::new(2))
        .unwrap_or(last)
        .and_time(NaiveTime::MIN)
        .and_utc();
    let started = std::time::Instant::now();
    let statement = scheduling::load(conn, location_id, from, to, exclude_appointment, only);
    let rows = db
        .timed("schedule_load", statement)
        .await?
        .ok_or(AppError::NotFound)?;
    let fetched = started.elapsed();
    let zone = Tz::from_str(&rows.rules.timezone)
        .map_err(|_| AppError::Internal(format!("location has an unknown zone {}", rows.rules.timezone)))?;
    let mut resource_types: HashMap<String, Uuid> = HashMap::new();
    let mut type_id = |name: &str| {
        let next = Uuid::from_u128(resource_types.len() as u128 + 1);
        *resource_types.entry(name.to_owned()).or_insert(next)
    };
    let services = rows
        .services
        .iter()
        .filter(|s| s.active && s.offered_here && (!online || s.online_bookable))
        .map(|s| Service {
            id: s.id,
            duration_minutes: minutes(s.duration_minutes),
            buffer_before_minutes: minutes(s.buffer_before_minutes),
            buffer_after_minutes: minutes(s.buffer_after_minutes),
            processing_gap: s
                .processing_offset_minutes
                .zip(s.processing_minutes)
                .map(|(o, l)| ProcessingGap {
                    offset_minutes: minutes(o),
                    length_minutes: minutes(l),
                }),
            resource_type_id: s.resource_type.as_deref().map(&mut type_id),
        })
        .collect();
    let resources = rows
        .resources
        .iter()
        .map(|r| Resource {
            id: r.id,
            resource_type_id: type_id(&r.resource_type),
            display_order: r.display_order,
            capacity: u32::try_from(r.capacity).unwrap_or(1),
            usage: rows
                .resource_use
                .iter()
                .filter(|u| u.owner_id == r.id)
                .map(|u| ResourceUsage {
                    interval: Interval {
                        start: u.starts,
                        end: u.ends,
                    },
                    units: 1,
                })
                .collect(),
        })
        .collect();
    let staff = rows
        .staff
        .iter()
        .map(|member| {
            let hours = |kind: &str| -> Vec<WallInterval> {
                rows.staff_hours
                    .iter()
                    .filter(|h| h.owner_id == member.id && h.kind == kind)
                    .filter_map(wall)
                    .collect()
            };
            let intervals = |list: &[scheduling::OwnedInterval]| -> Vec<Interval> {
                list.iter()
                    .filter(|i| i.owner_id == member.id)
                    .map(|i| Interval {
                        start: i.starts,
                        end: i.ends,
                    })
                    .collect()
            };
            StaffMember {
                id: member.id,
                display_order: member.display_order,
                active: member.active && (!online || member.bookable_online),
                working_hours: hours("work"),
                breaks: hours("break"),
                time_off: intervals(&rows.time_off),
                busy: intervals(&rows.staff_busy),
                services: rows
                    .staff_services
                    .iter()
                    .filter(|ss| ss.staff_id == member.id)
                    .map(|ss| StaffService {
                        service_id: ss.service_id,
                        duration_minutes: ss.duration_minutes.map(minutes),
                    })
                    .collect(),
            }
        })
        .collect();
    let schedule = Schedule {
        zone,
        rules: BookingRules {
            min_notice_minutes: if online {
                minutes(rows.rules.min_notice_minutes)
            } else {
                0
            },
            max_days_ahead: if online {
                minutes(rows.rules.max_days_ahead)
            } else {
                365
            },
            step_minutes: minutes(rows.rules.slot_step_minutes),
        },
        opening_hours: rows.opening_hours.iter().filter_map(wall).collect(),
        closures: rows
            .closures
            .iter()
            .map(|c| DateRange {
                first: c.first_day,
                last: c.last_day,
            })
            .collect(),
        services,
        staff,
        resources,
    };
    tracing::debug!(
        statement_ms = fetched.as_secs_f64() * 1000.0,
        build_ms = (started.elapsed() - fetched).as_secs_f64() * 1000.0,
        busy_intervals = rows.staff_busy.len(),
        "schedule loaded"
    );
    Ok(Loaded { schedule, rows })
}

/// What checking a visit needs loaded: the services it asks for and, when
/// every item names who does it, only those staff members (a branch's other
/// staff, their hours and their bookings play no part then).
pub(crate) struct VisitNeeds {
    services: Vec<Uuid>,
    staff: Option<Vec<Uuid>>,
}

impl VisitNeeds {
    pub(crate) fn of(items: &[ItemRequest]) -> Self {
        Self {
            services: items.iter().map(|item| item.service_id).collect(),
            staff: items.iter().map(|item| item.staff_id).collect(),
        }
    }

    pub(crate) fn only(&self) -> Only<'_> {
        Only {
            services: Some(&self.services),
            staff: self.staff.as_deref(),
        }
    }
}

/// One requested service of a visit.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemRequest {
    pub service_id: Uuid,
    /// Who does it; absent = any qualified staff member (fair, deterministic choice).
    pub staff_id: Option<Uuid>,
    /// Which resource; absent = the first free one of the type the service needs.
    pub resource_id: Option<Uuid>,
}

/// Decide who does what on which resource for a visit starting at `start`.
pub(crate) fn plan(
    loaded: &Loaded,
    items: &[ItemRequest],
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Slot, AppError> {
    if items.is_empty() {
        return Err(visit_error(VisitError::EmptyVisit));
    }
    if items.len() > availability::MAX_ITEMS {
        return Err(visit_error(VisitError::TooManyItems));
    }
    let fully_chosen = items.iter().all(|item| {
        item.staff_id.is_some()
            && (item.resource_id.is_some()
                || loaded
                    .service_row(item.service_id)
                    .is_some_and(|s| s.resource_type.is_none()))
    });
    let proposed = |staff: &dyn Fn(usize) -> Uuid| ProposedVisit {
        start: VisitStart::At(start),
        items: items
            .iter()
            .enumerate()
            .map(|(i, item)| ProposedItem {
                service_id: item.service_id,
                staff_id: staff(i),
                resource_id: item.resource_id,
            })
            .collect(),
    };
    if fully_chosen {
        let chosen = |i: usize| items[i].staff_id.unwrap_or_default();
        return availability::validate_visit(&loaded.schedule, &proposed(&chosen), now).map_err(visit_error);
    }
    // Let the engine choose staff and resources for that very start.
    let requested: Vec<RequestedItem> = items
        .iter()
        .map(|item| RequestedItem {
            service_id: item.service_id,
            staff_id: item.staff_id,
        })
        .collect();
    let mut slot = availability::assign_visit(&loaded.schedule, &requested, VisitStart::At(start), now)
        .map_err(visit_error)?;
    if items.iter().all(|i| i.resource_id.is_none()) {
        return Ok(slot);
    }
    // An explicitly chosen resource is checked by the full rules.
    for (assignment, item) in slot.items.iter_mut().zip(items) {
        if item.resource_id.is_some() {
            assignment.resource_id = item.resource_id;
        }
    }
    let chosen = |i: usize| slot.items[i].staff_id;
    availability::validate_visit(&loaded.schedule, &proposed(&chosen), now).map_err(visit_error)
}

/// A precise answer for each reason a visit cannot be booked.
pub(crate) fn visit_error(e: VisitError) -> AppError {
    let field = match e {
        VisitError::UnknownService { item } => format!("items[{item}].service_id"),
        VisitError::UnknownStaff { item }
        | VisitError::StaffInactive { item }
        | VisitError::StaffDoesNotPerform { item } => format!("items[{item}].staff_id"),
        VisitError::ResourceMissing { item } | VisitError::ResourceWrongLocationOrType { item } => {
            format!("items[{item}].resource_id")
        }
        VisitError::EmptyVisit | VisitError::TooManyItems => "items".into(),
        VisitError::RangeTooLong => "to".into(),
        VisitError::StaffUnavailable { .. }
        | VisitError::ResourceUnavailable { .. }
        | VisitError::NoAssignment => {
            return AppError::conflict("slot_unavailable", capitalized(&e.to_string()));
        }
        VisitError::InDstGap
        | VisitError::TooSoon
        | VisitError::TooFarAhead
        | VisitError::ClosedDay
        | VisitError::OutsideOpeningHours { .. } => "start".into(),
    };
    AppError::invalid(&field, e)
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

/// The rows to insert for a planned visit.
pub(crate) fn items_to_insert(loaded: &Loaded, slot: &Slot) -> Vec<NewItem> {
    slot.items
        .iter()
        .enumerate()
        .map(|(position, assignment)| {
            let service = loaded
                .schedule
                .services
                .iter()
                .find(|s| s.id == assignment.service_id);
            let resource = assignment
                .resource_id
                .and_then(|id| loaded.rows.resources.iter().find(|r| r.id == id));
            NewItem {
                id: Uuid::now_v7(),
                position: i16::try_from(position).unwrap_or(i16::MAX),
                service_id: assignment.service_id,
                staff_id: assignment.staff_id,
                resource_id: assignment.resource_id,
                resource_exclusive: resource.is_some_and(|r| r.capacity == 1),
                starts_at: assignment.start,
                ends_at: assignment.end,
                staff_time: service
                    .map(|s| availability::staff_occupancy(s, assignment))
                    .unwrap_or_else(|| {
                        vec![Interval {
                            start: assignment.start,
                            end: assignment.end,
                        }]
                    })
                    .into_iter()
                    .map(|i| (i.start, i.end))
                    .collect(),
                price_paise: loaded.price(assignment.service_id, assignment.staff_id),
            }
        })
        .collect()
}

/// Write the items of a visit; a slot taken meanwhile becomes a 409 that names
/// what it collided with (`reveal` = whether to include that appointment's id).
pub(crate) async fn insert_items(
    tx: &mut sqlx::PgConnection,
    tenant_id: Uuid,
    appointment_id: Uuid,
    location_id: Uuid,
    items: &[NewItem],
    reveal: bool,
) -> Result<(), AppError> {
    // Bookings that touch the same staff member or resource take turns, in
    // one global order so they cannot deadlock; each then meets the others'
    // committed items in the exclusion constraints and gets a precise 409.
    let mut keys: Vec<Uuid> = items
        .iter()
        .map(|i| i.staff_id)
        .chain(items.iter().filter_map(|i| i.resource_id))
        .collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(key.to_string())
            .execute(&mut *tx)
            .await?;
    }
    for item in items {
        if let (Some(resource), false) = (item.resource_id, item.resource_exclusive) {
            let capacity = appointments::lock_resource(tx, resource).await?;
            let peak =
                appointments::resource_peak_use(tx, location_id, resource, item.starts_at, item.ends_at)
                    .await?;
            if peak >= i64::from(capacity) {
                return Err(AppError::conflict(
                    "resource_full",
                    "Every unit of that resource is taken then.",
                ));
            }
        }
        sqlx::query("SAVEPOINT item").execute(&mut *tx).await?;
        match appointments::insert_item(tx, tenant_id, appointment_id, location_id, item).await {
            Ok(()) => {}
            Err(sqlx::Error::Database(e))
                if matches!(
                    e.constraint(),
                    Some("no_double_booked_staff" | "no_double_booked_resource")
                ) =>
            {
                sqlx::query("ROLLBACK TO SAVEPOINT item")
                    .execute(&mut *tx)
                    .await?;
                let by_staff = e.constraint() == Some("no_double_booked_staff");
                let client_time = [(item.starts_at, item.ends_at)];
                let conflict = appointments::conflicting_item(
                    tx,
                    by_staff.then_some(item.staff_id),
                    (!by_staff).then_some(item.resource_id).flatten(),
                    if by_staff { &item.staff_time } else { &client_time },
                )
                .await?;
                let mut details = serde_json::Map::new();
                if let Some(c) = conflict {
                    let mut described = serde_json::json!({
                        "staff_id": c.staff_id, "resource_id": c.resource_id,
                        "starts_at": c.starts_at, "ends_at": c.ends_at,
                    });
                    if reveal {
                        described["appointment_id"] = serde_json::json!(c.appointment_id);
                        described["item_id"] = serde_json::json!(c.id);
                    }
                    details.insert("conflict".into(), described);
                }
                details.insert("item".into(), serde_json::json!(item.position));
                return Err(AppError::ConflictWith {
                    code: "slot_taken",
                    detail: if by_staff {
                        "That staff member is already booked then.".into()
                    } else {
                        "That resource is already booked then.".into()
                    },
                    details,
                });
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// When a planned visit ends: its last item's end.
pub(crate) fn visit_end(slot: &Slot) -> DateTime<Utc> {
    slot.items.last().map_or(slot.start, |i: &Assignment| i.end)
}

/// Move a visit inside an open transaction (front desk or the client's link).
#[allow(clippy::too_many_arguments)] // the front desk's and the client's call sites differ in each
pub(crate) async fn reschedule_in(
    tx: &mut sqlx::PgConnection,
    db: &ftry_store::DbMetrics,
    tenant_id: Uuid,
    appointment: &appointments::Appointment,
    current: &[appointments::Item],
    request: &crate::appointments::RescheduleRequest,
    actor: &str,
    online_rules: bool,
) -> Result<crate::appointments::AppointmentView, AppError> {
    let status = ftry_domain::appointments::Status::parse(&appointment.status)
        .ok_or_else(|| AppError::Internal("unknown status".into()))?;
    if !status.can_reschedule() {
        return Err(AppError::conflict(
            "invalid_transition",
            format!("An appointment that is {} cannot be moved.", status.name()),
        ));
    }
    let items: Vec<ItemRequest> = match &request.items {
        Some(items) => items.clone(),
        None => current
            .iter()
            .map(|i| ItemRequest {
                service_id: i.service_id,
                staff_id: Some(i.staff_id),
                resource_id: i.resource_id,
            })
            .collect(),
    };
    let date = request.start.date_naive();
    let loaded = load(
        tx,
        db,
        appointment.location_id,
        date.pred_opt().unwrap_or(date),
        date.succ_opt().unwrap_or(date),
        online_rules,
        Some(appointment.id),
        VisitNeeds::of(&items).only(),
    )
    .await?;
    let slot = plan(&loaded, &items, request.start, Utc::now())?;
    let new_items = items_to_insert(&loaded, &slot);
    let ends_at = visit_end(&slot);
    sqlx::query("DELETE FROM appointment_items WHERE appointment_id = $1")
        .bind(appointment.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE appointments SET starts_at = $2, ends_at = $3, updated_at = now() WHERE id = $1")
        .bind(appointment.id)
        .bind(slot.start)
        .bind(ends_at)
        .execute(&mut *tx)
        .await?;
    insert_items(
        tx,
        tenant_id,
        appointment.id,
        appointment.location_id,
        &new_items,
        !online_rules,
    )
    .await?;
    appointments::record_event(
        tx,
        tenant_id,
        appointment.id,
        appointments::HistoryEntry {
            kind: "rescheduled",
            from_status: None,
            to_status: None,
            details: serde_json::json!({
                "from": { "starts_at": appointment.starts_at, "ends_at": appointment.ends_at },
                "to": { "starts_at": slot.start, "ends_at": ends_at },
            }),
            actor,
        },
    )
    .await?;
    appointments::emit(
        tx,
        tenant_id,
        "appointment.rescheduled",
        appointment.id,
        serde_json::json!({ "by": actor, "from": appointment.starts_at, "to": slot.start }),
    )
    .await?;
    let updated = appointments::get(tx, appointment.id)
        .await?
        .ok_or(AppError::NotFound)?;
    crate::appointments::view(tx, updated).await
}
