//! Availability: at which start times can a client book a visit (one or more
//! services, in order), with whom, and on which resources?
//!
//! Pure: the caller loads one location's [`Schedule`] and passes `now`.
//! [`find_slots`] lists the bookable starts over a range of dates;
//! [`validate_visit`] checks one proposed visit with explicit staff and
//! resources by the same rules and says precisely what is wrong with it.
//!
//! # Rules
//!
//! **Time.** Instants are UTC, intervals half-open `[start, end)`, handled at
//! microsecond precision (as PostgreSQL stores them). Opening hours, working
//! hours and breaks are wall-clock hours per weekday in the location's zone;
//! closures are local dates; time off, existing bookings and resource usage
//! are UTC intervals. Hours are converted date by date with the zone's rules
//! (see [`crate::schedule`]): a 09:00–18:00 day is 9 hours of real time on a
//! 23- or 25-hour day.
//!
//! **Candidate starts** are the wall-clock grid `00:00 + k·step` of each local
//! date in the requested range. A grid time inside a DST gap does not exist
//! and is never offered; a grid time that occurs twice (DST fold) is offered
//! once, as its first occurrence (the earlier instant).
//!
//! **An item** (one service) starting at `s` with effective duration `d` (the
//! staff member's own duration for the service, else the service's) occupies
//! the client and its resource over `[s, s + d)`, and the staff member over
//! `[s − buffer_before, s + d + buffer_after)` minus the processing gap
//! `[s + offset, s + offset + length)`. A gap that does not lie strictly
//! inside `d` is ignored (the staff member stays occupied throughout).
//!
//! **A visit** chains its items: each starts when the previous one's client
//! time ends. Items may be done by different staff members. Items of one visit
//! never conflict with each other (their client times follow one another, and
//! buffers between items of the same appointment are not counted, as in the
//! database constraint).
//!
//! **A visit starting at `t` is bookable when**
//! - `t ≥ now + min_notice`, and the local date of `t` is at most local today
//!   plus `max_days_ahead` and is not closed (only the start date decides
//!   closure);
//! - for every item: its client time lies inside opening hours; its staff
//!   member is active, performs the service, and each of their occupied spans
//!   lies inside their working hours, clear of breaks, time off and busy time
//!   (given already expanded: buffers in, processing gaps out); and, if the
//!   service needs a resource type, one resource of that type at the location
//!   still has a unit free (usage + 1 ≤ capacity) throughout the client time.
//!
//! **"Any staff".** For an item without a preferred staff member, the
//! candidates are the active staff who perform the service, tried in this
//! order: fewest booked minutes on the visit's local start date (the union of
//! their busy intervals within that day), then lowest `display_order`, then
//! lowest id. The visit is searched depth-first in that order, item by item,
//! so the assignment offered is the first valid one in that order, and a start
//! is never reported unbookable while some combination works (choosing per
//! item greedily could miss one: a staff member's own duration moves the
//! items after theirs). The counts are taken before the visit: its own items
//! do not change them.
//!
//! **Resources.** An item that needs a resource type gets the first resource
//! of that type, by `display_order` then id, with a unit free.

use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use uuid::Uuid;

use crate::schedule::{local_time, start_instant, DateRange, Interval, WallInterval};

mod calendar;
mod timeline;

#[cfg(test)]
mod oracle;
#[cfg(test)]
mod tests;

use calendar::Calendar;
use timeline::{ceil_micros, floor_micros, instant, Span};

/// Most services one visit may hold.
pub const MAX_ITEMS: usize = 20;
/// Most local dates one [`find_slots`] call may cover.
pub const MAX_RANGE_DAYS: u32 = 62;
pub const DEFAULT_STEP_MINUTES: u32 = 15;

const MINUTE: i64 = 60_000_000;
const DAY: i64 = 24 * 60 * MINUTE;
const MINUTES_PER_DAY: u32 = 24 * 60;
/// How far a visit with its buffers may reach from its start date; a longer
/// one is never bookable.
const MAX_REACH_DAYS: u64 = 7;

/// Everything about one location that availability depends on.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub zone: Tz,
    pub rules: BookingRules,
    pub opening_hours: Vec<WallInterval>,
    /// Local dates the location is closed (holidays), each range inclusive.
    pub closures: Vec<DateRange>,
    pub services: Vec<Service>,
    /// The staff who work at this location.
    pub staff: Vec<StaffMember>,
    /// The resources at this location.
    pub resources: Vec<Resource>,
}

impl Schedule {
    fn is_closed(&self, date: NaiveDate) -> bool {
        self.closures.iter().any(|closure| closure.contains(date))
    }
}

/// The location's online booking rules. A step outside 1..=1440 minutes is
/// clamped into that range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookingRules {
    pub min_notice_minutes: u32,
    pub max_days_ahead: u32,
    pub step_minutes: u32,
}

impl Default for BookingRules {
    fn default() -> Self {
        Self {
            min_notice_minutes: 0,
            max_days_ahead: 60,
            step_minutes: DEFAULT_STEP_MINUTES,
        }
    }
}

/// A service as availability sees it. A zero duration can never be booked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub id: Uuid,
    pub duration_minutes: u32,
    pub buffer_before_minutes: u32,
    pub buffer_after_minutes: u32,
    pub processing_gap: Option<ProcessingGap>,
    pub resource_type_id: Option<Uuid>,
}

/// Time inside a service when the staff member is free but the client and the
/// resource are not (colour developing), counted from the service's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessingGap {
    pub offset_minutes: u32,
    pub length_minutes: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    pub id: Uuid,
    pub display_order: i32,
    pub active: bool,
    pub working_hours: Vec<WallInterval>,
    /// Weekly breaks (lunch), as wall-clock hours.
    pub breaks: Vec<WallInterval>,
    pub time_off: Vec<Interval>,
    /// Time taken by existing bookings: buffers included, processing gaps excluded.
    pub busy: Vec<Interval>,
    /// The services this staff member performs.
    pub services: Vec<StaffService>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaffService {
    pub service_id: Uuid,
    /// The staff member's own duration for the service, if it differs.
    pub duration_minutes: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub id: Uuid,
    pub resource_type_id: Uuid,
    pub display_order: i32,
    /// How many items may use it at once (1 for a room or a chair).
    pub capacity: u32,
    pub usage: Vec<ResourceUsage>,
}

/// Units of a resource taken by an existing booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceUsage {
    pub interval: Interval,
    pub units: u32,
}

/// "Which starts are free for these services, in this order, on these dates?"
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotRequest {
    pub items: Vec<RequestedItem>,
    /// Local dates, both inclusive.
    pub first_date: NaiveDate,
    pub last_date: NaiveDate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestedItem {
    pub service_id: Uuid,
    /// `None`: any staff member who performs the service.
    pub staff_id: Option<Uuid>,
}

/// A bookable visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Slot {
    pub start: DateTime<Utc>,
    /// The wall-clock time of `start` in the location's zone.
    pub local_start: NaiveDateTime,
    pub items: Vec<Assignment>,
}

/// Who does one item, on what, and when (the client's time `[start, end)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Assignment {
    pub service_id: Uuid,
    pub staff_id: Uuid,
    pub resource_id: Option<Uuid>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// A visit someone wants to book, with everything chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposedVisit {
    pub start: VisitStart,
    pub items: Vec<ProposedItem>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisitStart {
    /// An instant, whatever the location's clock shows then.
    At(DateTime<Utc>),
    /// A wall-clock time in the location's zone: its first occurrence, an
    /// error when the clock skips it.
    Wall(NaiveDateTime),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProposedItem {
    pub service_id: Uuid,
    pub staff_id: Uuid,
    /// Required exactly when the service needs a resource type.
    pub resource_id: Option<Uuid>,
}

/// Why a request or a visit cannot be served. `item` counts from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VisitError {
    #[error("a visit needs at least one service")]
    EmptyVisit,
    #[error("a visit holds at most {MAX_ITEMS} services")]
    TooManyItems,
    #[error("at most {MAX_RANGE_DAYS} days can be searched at once")]
    RangeTooLong,
    #[error("item {item}: no such service")]
    UnknownService { item: usize },
    #[error("item {item}: no such staff member at this location")]
    UnknownStaff { item: usize },
    #[error("item {item}: the staff member is not active")]
    StaffInactive { item: usize },
    #[error("item {item}: the staff member does not perform this service")]
    StaffDoesNotPerform { item: usize },
    #[error("that time does not exist on that day: the clocks skip it")]
    InDstGap,
    #[error("that start is sooner than the minimum notice allows")]
    TooSoon,
    #[error("that start is further ahead than bookings are taken")]
    TooFarAhead,
    #[error("the location is closed that day")]
    ClosedDay,
    #[error("item {item}: outside opening hours")]
    OutsideOpeningHours { item: usize },
    #[error("item {item}: the staff member is not free then")]
    StaffUnavailable { item: usize },
    #[error("item {item}: the service needs a resource")]
    ResourceMissing { item: usize },
    #[error(
        "item {item}: that resource is not one of this location's resources of the type the service needs"
    )]
    ResourceWrongLocationOrType { item: usize },
    #[error("item {item}: the resource is not free then")]
    ResourceUnavailable { item: usize },
    #[error("no qualified staff member (and resource) is free for the whole visit then")]
    NoAssignment,
}

/// The bookable starts for `request`, sorted by start, each with the assignment
/// the rules above choose. A request the schedule cannot make sense of (unknown
/// service, a preferred staff member who does not perform it...) is an error;
/// dates outside the booking window simply yield nothing.
pub fn find_slots(
    schedule: &Schedule,
    request: &SlotRequest,
    now: DateTime<Utc>,
) -> Result<Vec<Slot>, VisitError> {
    let requested = request.items.iter().map(|item| (item.service_id, item.staff_id));
    let items = resolve_items(schedule, requested)?;
    if request
        .last_date
        .signed_duration_since(request.first_date)
        .num_days()
        >= i64::from(MAX_RANGE_DAYS)
    {
        return Err(VisitError::RangeTooLong);
    }
    let window = Window::new(schedule, now);
    let first = request.first_date.max(window.today);
    let last = window
        .last_date
        .map_or(request.last_date, |last| last.min(request.last_date));
    if first > last {
        return Ok(Vec::new());
    }

    let calendar = Calendar::build(schedule, first, last, reach_days(&items));
    let mut search = Search::new(&calendar, &items);
    let step = schedule.rules.step_minutes.clamp(1, MINUTES_PER_DAY) as usize;
    let mut slots = Vec::new();
    for date in first.iter_days().take_while(|date| *date <= last) {
        if schedule.is_closed(date) {
            continue;
        }
        search.prefer_for(date);
        for minute in (0..MINUTES_PER_DAY).step_by(step) {
            let Some(local_start) = date.and_hms_opt(minute / 60, minute % 60, 0) else {
                continue;
            };
            let Some(start) = start_instant(schedule.zone, local_start).map(floor_micros) else {
                continue;
            };
            if start < window.earliest {
                continue;
            }
            if let Some(items) = search.assign(start) {
                slots.push(Slot {
                    start: instant(start),
                    local_start,
                    items,
                });
            }
        }
    }
    slots.sort_by_key(|slot| slot.start);
    Ok(slots)
}

/// An answer of [`find_slots`] found at `found_at`, as it stands at `now`:
/// the index of its first slot still bookable, when the answer is otherwise
/// the same as a search at `now` would give. It is while the location's
/// local date is the same (the searched dates and the booking horizon hang on
/// it) and time has not gone back: later, only the minimum notice cuts off
/// the slots that start too soon, and slots are sorted by start. `None`: the
/// search must be made again. The schedule must be the one searched.
pub fn still_bookable(
    schedule: &Schedule,
    found_at: DateTime<Utc>,
    slots: &[Slot],
    now: DateTime<Utc>,
) -> Option<usize> {
    if now < found_at {
        return None;
    }
    let window = Window::new(schedule, now);
    if Window::new(schedule, found_at).today != window.today {
        return None;
    }
    Some(slots.partition_point(|slot| floor_micros(slot.start) < window.earliest))
}

/// Checks one visit with explicit staff and resources against the same rules
/// as [`find_slots`], reporting the first problem in this order: the visit's
/// shape and who does what, the start time, the booking window, closure, then
/// item by item opening hours, staff, resource. A start off the slot grid, or
/// the second occurrence of a wall time in a DST fold, is accepted.
pub fn validate_visit(
    schedule: &Schedule,
    visit: &ProposedVisit,
    now: DateTime<Utc>,
) -> Result<Slot, VisitError> {
    let requested = visit
        .items
        .iter()
        .map(|item| (item.service_id, Some(item.staff_id)));
    let items = resolve_items(schedule, requested)?;
    let (start, local_start) = check_start(schedule, visit.start, now)?;
    let date = local_start.date();
    let calendar = Calendar::build(schedule, date, date, reach_days(&items));
    let mut assignments = Vec::with_capacity(items.len());
    let mut at = start;
    for (index, (item, proposed)) in items.iter().zip(&visit.items).enumerate() {
        let (Some(staff), Some(duration)) = (item.staff, item.staff.and_then(|staff| item.durations[staff]))
        else {
            return Err(VisitError::StaffDoesNotPerform { item: index });
        };
        let client = (at, at.saturating_add(duration));
        if !calendar.is_open(client) {
            return Err(VisitError::OutsideOpeningHours { item: index });
        }
        if !calendar.staff_fits(staff, item, at, duration) {
            return Err(VisitError::StaffUnavailable { item: index });
        }
        let resource = check_resource(schedule, &calendar, (index, item), proposed.resource_id, client)?;
        assignments.push(item.assignment(schedule, staff, resource, client));
        at = client.1;
    }
    Ok(Slot {
        start: instant(start),
        local_start,
        items: assignments,
    })
}

/// Chooses who does each item (and on which resource) for a visit starting
/// exactly at `start`, by the rules and preference order of [`find_slots`],
/// whether or not `start` lies on the slot grid. Items with a staff member
/// keep them; the others get "any staff".
pub fn assign_visit(
    schedule: &Schedule,
    items: &[RequestedItem],
    start: VisitStart,
    now: DateTime<Utc>,
) -> Result<Slot, VisitError> {
    let items = resolve_items(
        schedule,
        items.iter().map(|item| (item.service_id, item.staff_id)),
    )?;
    let (start, local_start) = check_start(schedule, start, now)?;
    let date = local_start.date();
    let calendar = Calendar::build(schedule, date, date, reach_days(&items));
    let mut search = Search::new(&calendar, &items);
    search.prefer_for(date);
    let assignments = search.assign(start).ok_or(VisitError::NoAssignment)?;
    Ok(Slot {
        start: instant(start),
        local_start,
        items: assignments,
    })
}

/// The start of a visit as microseconds and local time, checked against the
/// booking window and closures.
fn check_start(
    schedule: &Schedule,
    start: VisitStart,
    now: DateTime<Utc>,
) -> Result<(i64, NaiveDateTime), VisitError> {
    let start = match start {
        VisitStart::At(at) => at,
        VisitStart::Wall(local) => start_instant(schedule.zone, local).ok_or(VisitError::InDstGap)?,
    };
    let start = floor_micros(start);
    let window = Window::new(schedule, now);
    if start < window.earliest {
        return Err(VisitError::TooSoon);
    }
    let Some(local_start) = local_time(schedule.zone, instant(start)) else {
        return Err(VisitError::TooFarAhead);
    };
    if !window.allows(local_start.date()) {
        return Err(VisitError::TooFarAhead);
    }
    if schedule.is_closed(local_start.date()) {
        return Err(VisitError::ClosedDay);
    }
    Ok((start, local_start))
}

/// When the staff member doing `assignment` is occupied: the client's time
/// widened by the service's buffers, minus its processing gap. This is what a
/// booking stores for the database's no-double-booking constraint.
pub fn staff_occupancy(service: &Service, assignment: &Assignment) -> Vec<Interval> {
    let client = (floor_micros(assignment.start), floor_micros(assignment.end));
    Geometry::of(service)
        .staff_spans(client)
        .map(|(start, end)| Interval {
            start: instant(start),
            end: instant(end),
        })
        .collect()
}

/// The proposed resource for `item`, if it is one the service needs and it is free.
fn check_resource(
    schedule: &Schedule,
    calendar: &Calendar,
    (index, item): (usize, &Item),
    proposed: Option<Uuid>,
    client: Span,
) -> Result<Option<usize>, VisitError> {
    let Some(id) = proposed else {
        return match item.resource_type_id {
            Some(_) => Err(VisitError::ResourceMissing { item: index }),
            None => Ok(None),
        };
    };
    let resource = schedule
        .resources
        .iter()
        .position(|resource| resource.id == id && Some(resource.resource_type_id) == item.resource_type_id)
        .ok_or(VisitError::ResourceWrongLocationOrType { item: index })?;
    if calendar.resource_free(resource, client) {
        Ok(Some(resource))
    } else {
        Err(VisitError::ResourceUnavailable { item: index })
    }
}

/// A requested service resolved against the schedule, times in microseconds.
struct Item {
    service_id: Uuid,
    geometry: Geometry,
    resource_type_id: Option<Uuid>,
    /// Per staff member (same index as `schedule.staff`): their duration, or
    /// `None` when they cannot do this item (inactive, or not their service).
    durations: Vec<Option<i64>>,
    /// The staff member asked for.
    staff: Option<usize>,
}

/// How a service occupies its staff member around the client's time, in microseconds.
struct Geometry {
    buffer_before: i64,
    buffer_after: i64,
    /// Offset from the item's start, and length.
    processing_gap: Option<(i64, i64)>,
}

impl Geometry {
    fn of(service: &Service) -> Self {
        Self {
            buffer_before: minutes(service.buffer_before_minutes),
            buffer_after: minutes(service.buffer_after_minutes),
            processing_gap: service
                .processing_gap
                .map(|gap| (minutes(gap.offset_minutes), minutes(gap.length_minutes))),
        }
    }

    /// The spans the staff member is occupied for the client time `(start, end)`:
    /// one, or two around a processing gap that lies strictly inside it.
    fn staff_spans(&self, (start, end): Span) -> impl Iterator<Item = Span> {
        let from = start.saturating_sub(self.buffer_before);
        let to = end.saturating_add(self.buffer_after);
        let gap = self
            .processing_gap
            .filter(|&(offset, length)| offset > 0 && length > 0 && offset + length < end - start);
        let spans = match gap {
            Some((offset, length)) => [(from, start + offset), (start + offset + length, to)],
            None => [(from, to), (to, to)],
        };
        spans.into_iter().filter(|span| span.0 < span.1)
    }
}

impl Item {
    fn longest_reach(&self) -> i64 {
        let longest = self.durations.iter().flatten().max().copied().unwrap_or(0);
        longest
            .saturating_add(self.geometry.buffer_before)
            .saturating_add(self.geometry.buffer_after)
    }

    fn assignment(
        &self,
        schedule: &Schedule,
        staff: usize,
        resource: Option<usize>,
        client: Span,
    ) -> Assignment {
        Assignment {
            service_id: self.service_id,
            staff_id: schedule.staff[staff].id,
            resource_id: resource.map(|resource| schedule.resources[resource].id),
            start: instant(client.0),
            end: instant(client.1),
        }
    }
}

fn resolve_items(
    schedule: &Schedule,
    requested: impl ExactSizeIterator<Item = (Uuid, Option<Uuid>)>,
) -> Result<Vec<Item>, VisitError> {
    match requested.len() {
        0 => return Err(VisitError::EmptyVisit),
        count if count > MAX_ITEMS => return Err(VisitError::TooManyItems),
        _ => {}
    }
    requested
        .enumerate()
        .map(|(index, (service_id, staff_id))| {
            let service = schedule
                .services
                .iter()
                .find(|service| service.id == service_id)
                .ok_or(VisitError::UnknownService { item: index })?;
            let durations: Vec<Option<i64>> = schedule
                .staff
                .iter()
                .map(|member| duration(member, service))
                .collect();
            let staff = match staff_id {
                None => None,
                Some(id) => {
                    let staff = schedule
                        .staff
                        .iter()
                        .position(|member| member.id == id)
                        .ok_or(VisitError::UnknownStaff { item: index })?;
                    if !schedule.staff[staff].active {
                        return Err(VisitError::StaffInactive { item: index });
                    }
                    if durations[staff].is_none() {
                        return Err(VisitError::StaffDoesNotPerform { item: index });
                    }
                    Some(staff)
                }
            };
            Ok(Item {
                service_id,
                geometry: Geometry::of(service),
                resource_type_id: service.resource_type_id,
                durations,
                staff,
            })
        })
        .collect()
}

/// How long `member` takes for `service`, if they can do it at all.
fn duration(member: &StaffMember, service: &Service) -> Option<i64> {
    let performed = member.services.iter().find(|own| own.service_id == service.id)?;
    let length = performed.duration_minutes.unwrap_or(service.duration_minutes);
    (member.active && length > 0).then(|| minutes(length))
}

fn minutes(count: u32) -> i64 {
    i64::from(count) * MINUTE
}

/// Whole days beyond its start date the longest version of the visit can reach.
fn reach_days(items: &[Item]) -> u64 {
    let reach = items
        .iter()
        .map(Item::longest_reach)
        .fold(0_i64, i64::saturating_add);
    (reach / DAY + 1).clamp(1, MAX_REACH_DAYS as i64) as u64
}

/// When bookings are taken, relative to `now`.
struct Window {
    earliest: i64,
    today: NaiveDate,
    last_date: Option<NaiveDate>,
}

impl Window {
    fn new(schedule: &Schedule, now: DateTime<Utc>) -> Self {
        let rules = schedule.rules;
        let notice = TimeDelta::minutes(i64::from(rules.min_notice_minutes));
        let today = local_time(schedule.zone, now).unwrap_or(now.naive_utc()).date();
        Self {
            earliest: now.checked_add_signed(notice).map_or(i64::MAX, ceil_micros),
            today,
            last_date: today.checked_add_days(Days::new(rules.max_days_ahead.into())),
        }
    }

    fn allows(&self, date: NaiveDate) -> bool {
        self.last_date.is_none_or(|last| date <= last)
    }
}

/// Depth-first search for the preferred valid assignment of a visit.
struct Search<'a> {
    calendar: &'a Calendar<'a>,
    items: &'a [Item],
    /// Per item: staff indices to try, in preference order.
    candidates: Vec<Vec<usize>>,
    chosen: Vec<Choice>,
    /// `(item, start)` pairs already known to have no valid completion. Items
    /// of one visit do not constrain each other, so this depends on nothing else.
    dead_ends: Vec<(usize, i64)>,
}

struct Choice {
    staff: usize,
    resource: Option<usize>,
    client: Span,
}

impl<'a> Search<'a> {
    fn new(calendar: &'a Calendar<'a>, items: &'a [Item]) -> Self {
        Self {
            calendar,
            items,
            candidates: vec![Vec::new(); items.len()],
            chosen: Vec::with_capacity(items.len()),
            dead_ends: Vec::new(),
        }
    }

    fn prefer_for(&mut self, date: NaiveDate) {
        let order = self.calendar.staff_preference(date);
        for (item, candidates) in self.items.iter().zip(&mut self.candidates) {
            candidates.clear();
            match item.staff {
                Some(staff) => candidates.push(staff),
                None => candidates.extend(
                    order
                        .iter()
                        .copied()
                        .filter(|&staff| item.durations[staff].is_some()),
                ),
            }
        }
    }

    fn assign(&mut self, start: i64) -> Option<Vec<Assignment>> {
        self.chosen.clear();
        self.dead_ends.clear();
        if !self.place(0, start) {
            return None;
        }
        let schedule = self.calendar.schedule();
        let assignments = self
            .items
            .iter()
            .zip(&self.chosen)
            .map(|(item, choice)| item.assignment(schedule, choice.staff, choice.resource, choice.client))
            .collect();
        Some(assignments)
    }

    /// Whether items `index..` can be placed from `start`, leaving them in `chosen`.
    fn place(&mut self, index: usize, start: i64) -> bool {
        let (items, calendar) = (self.items, self.calendar);
        let Some(item) = items.get(index) else {
            return true;
        };
        if self.dead_ends.contains(&(index, start)) {
            return false;
        }
        for candidate in 0..self.candidates[index].len() {
            let staff = self.candidates[index][candidate];
            let Some(duration) = item.durations[staff] else {
                continue;
            };
            let client = (start, start.saturating_add(duration));
            if !calendar.is_open(client) || !calendar.staff_fits(staff, item, start, duration) {
                continue;
            }
            let resource = match item.resource_type_id {
                None => None,
                Some(kind) => match calendar.first_free_resource(kind, client) {
                    Some(resource) => Some(resource),
                    None => continue,
                },
            };
            self.chosen.push(Choice {
                staff,
                resource,
                client,
            });
            if self.place(index + 1, client.1) {
                return true;
            }
            self.chosen.pop();
        }
        self.dead_ends.push((index, start));
        false
    }
}
