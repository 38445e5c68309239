//! A brute-force reference for the availability rules, for tests: one cell per
//! UTC minute, the location's clock read minute by minute (UTC to local only),
//! and an exhaustive search over assignments. It shares no code with the
//! engine beyond the public types, and is only correct for inputs in whole
//! minutes, in zones whose clock changes on the minute.

use std::collections::HashMap;

use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};
use uuid::Uuid;

use super::{
    Assignment, ProposedVisit, Schedule, Service, Slot, SlotRequest, StaffMember, VisitStart, MAX_ITEMS,
    MAX_RANGE_DAYS,
};
use crate::schedule::{Interval, WallInterval};

pub(super) struct Oracle<'a> {
    schedule: &'a Schedule,
    /// Minutes since the epoch of cell 0.
    origin: i64,
    /// The location's wall clock at each minute.
    clock: Vec<NaiveDateTime>,
    /// The latest wall time the clock has shown up to each minute.
    reached: Vec<NaiveDateTime>,
    /// The minute each wall time is first shown.
    first_shown: HashMap<NaiveDateTime, usize>,
    open: Vec<bool>,
    /// Per staff member: working, and not on a break, off or busy.
    staff_free: Vec<Vec<bool>>,
    staff_busy: Vec<Vec<bool>>,
    /// Per resource: units in use.
    usage: Vec<Vec<u32>>,
}

/// One item of a visit as the oracle checks it.
struct Piece<'a> {
    service: &'a Service,
    staff: usize,
    /// `None`: pick the first free resource; `Some(choice)`: exactly `choice`.
    resource: Option<Option<Uuid>>,
}

impl<'a> Oracle<'a> {
    /// Covers visits starting on local dates `first..=last`, with three days to spare each side.
    pub(super) fn new(schedule: &'a Schedule, first: NaiveDate, last: NaiveDate) -> Self {
        let from = first - Days::new(3);
        let to = last + Days::new(4);
        let origin = from.and_time(NaiveTime::MIN).and_utc().timestamp() / 60;
        let cells = (to.and_time(NaiveTime::MIN).and_utc().timestamp() / 60 - origin) as usize;
        let clock: Vec<NaiveDateTime> = (0..cells)
            .map(|cell| {
                let at = DateTime::from_timestamp((origin + cell as i64) * 60, 0).unwrap();
                at.with_timezone(&schedule.zone).naive_local()
            })
            .collect();
        let mut reached = clock.clone();
        for cell in 1..cells {
            reached[cell] = reached[cell].max(reached[cell - 1]);
        }
        let mut first_shown = HashMap::new();
        for (cell, wall) in clock.iter().enumerate() {
            first_shown.entry(*wall).or_insert(cell);
        }
        let mut oracle = Self {
            schedule,
            origin,
            clock,
            reached,
            first_shown,
            open: Vec::new(),
            staff_free: Vec::new(),
            staff_busy: Vec::new(),
            usage: Vec::new(),
        };
        let dates: Vec<NaiveDate> = from.iter_days().take_while(|date| *date <= to).collect();
        oracle.open = oracle.hours(&schedule.opening_hours, &dates);
        for member in &schedule.staff {
            let working = oracle.hours(&member.working_hours, &dates);
            let breaks = oracle.hours(&member.breaks, &dates);
            let off = oracle.intervals(&member.time_off);
            let busy = oracle.intervals(&member.busy);
            let free = (0..cells)
                .map(|cell| member.active && working[cell] && !breaks[cell] && !off[cell] && !busy[cell])
                .collect();
            oracle.staff_free.push(free);
            oracle.staff_busy.push(busy);
        }
        for resource in &schedule.resources {
            let mut units = vec![0; cells];
            for usage in &resource.usage {
                for cell in oracle.cells(&usage.interval) {
                    units[cell] += usage.units;
                }
            }
            oracle.usage.push(units);
        }
        oracle
    }

    /// Which minutes fall within weekly `hours`: from the first minute the clock
    /// reaches a start to the first minute it reaches the end.
    fn hours(&self, hours: &[WallInterval], dates: &[NaiveDate]) -> Vec<bool> {
        let mut marked = vec![false; self.clock.len()];
        for date in dates {
            for (start, end) in hours.iter().filter_map(|hours| hours.on(*date)) {
                let from = self.reached.partition_point(|wall| *wall < start);
                let to = self.reached.partition_point(|wall| *wall < end);
                marked[from..to].iter_mut().for_each(|cell| *cell = true);
            }
        }
        marked
    }

    fn intervals(&self, intervals: &[Interval]) -> Vec<bool> {
        let mut marked = vec![false; self.clock.len()];
        for interval in intervals {
            for cell in self.cells(interval) {
                marked[cell] = true;
            }
        }
        marked
    }

    fn cells(&self, interval: &Interval) -> std::ops::Range<usize> {
        let cell = |at: DateTime<Utc>| {
            (at.timestamp() / 60 - self.origin).clamp(0, self.clock.len() as i64) as usize
        };
        cell(interval.start)..cell(interval.end).max(cell(interval.start))
    }

    fn instant(&self, cell: usize) -> DateTime<Utc> {
        DateTime::from_timestamp((self.origin + cell as i64) * 60, 0).unwrap()
    }

    fn all(&self, cells: &[bool], from: i64, to: i64) -> bool {
        (from..to).all(|cell| usize::try_from(cell).ok().and_then(|cell| cells.get(cell)) == Some(&true))
    }

    /// The visit from `start` with these pieces, if every piece fits.
    fn fit(&self, start: usize, pieces: &[Piece]) -> Option<Vec<Assignment>> {
        let mut at = start as i64;
        let mut assignments = Vec::new();
        for piece in pieces {
            let member = &self.schedule.staff[piece.staff];
            let length = i64::from(performs(member, piece.service)?);
            let end = at + length;
            if !self.all(&self.open, at, end) {
                return None;
            }
            let service = piece.service;
            let gap = service
                .processing_gap
                .map(|gap| (i64::from(gap.offset_minutes), i64::from(gap.length_minutes)))
                .filter(|&(offset, gap_length)| offset > 0 && gap_length > 0 && offset + gap_length < length);
            let staff_from = at - i64::from(service.buffer_before_minutes);
            let staff_to = end + i64::from(service.buffer_after_minutes);
            let staff_ok = (staff_from..staff_to)
                .filter(|cell| {
                    gap.is_none_or(|(offset, gap_length)| {
                        !(at + offset..at + offset + gap_length).contains(cell)
                    })
                })
                .all(|cell| self.all(&self.staff_free[piece.staff], cell, cell + 1));
            if !staff_ok {
                return None;
            }
            let resource = self.resource(piece, at, end)?;
            assignments.push(Assignment {
                service_id: service.id,
                staff_id: member.id,
                resource_id: resource,
                start: self.instant(at as usize),
                end: self.instant(end as usize),
            });
            at = end;
        }
        Some(assignments)
    }

    /// The resource a piece uses (`Some(None)` when it needs none), or `None` when it cannot have one.
    fn resource(&self, piece: &Piece, from: i64, to: i64) -> Option<Option<Uuid>> {
        let needed = piece.service.resource_type_id;
        let has_room = |index: usize| {
            let resource = &self.schedule.resources[index];
            Some(resource.resource_type_id) == needed
                && (from..to).all(|cell| self.usage[index][cell as usize] < resource.capacity)
        };
        match piece.resource {
            None => {
                let Some(_) = needed else { return Some(None) };
                let mut order: Vec<usize> = (0..self.schedule.resources.len()).collect();
                order.sort_by_key(|&index| {
                    (
                        self.schedule.resources[index].display_order,
                        self.schedule.resources[index].id,
                    )
                });
                order
                    .into_iter()
                    .find(|&index| has_room(index))
                    .map(|index| Some(self.schedule.resources[index].id))
            }
            Some(None) => needed.is_none().then_some(None),
            Some(Some(id)) => {
                let index = self
                    .schedule
                    .resources
                    .iter()
                    .position(|resource| resource.id == id)?;
                has_room(index).then_some(Some(id))
            }
        }
    }

    fn booked_minutes(&self, staff: usize, date: NaiveDate) -> usize {
        (0..self.clock.len())
            .filter(|&cell| self.staff_busy[staff][cell] && self.clock[cell].date() == date)
            .count()
    }

    fn window_allows(&self, start: usize, now: DateTime<Utc>) -> bool {
        let rules = self.schedule.rules;
        let date = self.clock[start].date();
        let today = now.with_timezone(&self.schedule.zone).date_naive();
        self.instant(start) >= now + TimeDelta::minutes(rules.min_notice_minutes.into())
            && date <= today + Days::new(rules.max_days_ahead.into())
            && !self
                .schedule
                .closures
                .iter()
                .any(|closure| closure.contains(date))
    }

    /// All bookable starts, trying every assignment in preference order;
    /// `None` for a request that makes no sense.
    pub(super) fn find_slots(&self, request: &SlotRequest, now: DateTime<Utc>) -> Option<Vec<Slot>> {
        let schedule = self.schedule;
        if request.items.is_empty() || request.items.len() > MAX_ITEMS {
            return None;
        }
        let mut services = Vec::new();
        let mut preferred = Vec::new();
        for item in &request.items {
            let service = schedule
                .services
                .iter()
                .find(|service| service.id == item.service_id)?;
            let staff = match item.staff_id {
                None => None,
                Some(id) => {
                    let staff = schedule.staff.iter().position(|member| member.id == id)?;
                    performs(&schedule.staff[staff], service)?;
                    Some(staff)
                }
            };
            services.push(service);
            preferred.push(staff);
        }
        if (request.last_date - request.first_date).num_days() >= i64::from(MAX_RANGE_DAYS) {
            return None;
        }
        let step = schedule.rules.step_minutes.clamp(1, 1440);
        let mut slots = Vec::new();
        for date in request
            .first_date
            .iter_days()
            .take_while(|date| *date <= request.last_date)
        {
            let mut order: Vec<usize> = (0..schedule.staff.len()).collect();
            order.sort_by_key(|&staff| {
                let member = &schedule.staff[staff];
                (self.booked_minutes(staff, date), member.display_order, member.id)
            });
            let candidates: Vec<Vec<usize>> = services
                .iter()
                .zip(&preferred)
                .map(|(service, preferred)| match preferred {
                    Some(staff) => vec![*staff],
                    None => order
                        .iter()
                        .copied()
                        .filter(|&staff| performs(&schedule.staff[staff], service).is_some())
                        .collect(),
                })
                .collect();
            for minute in (0..1440).step_by(step as usize) {
                let local_start = date.and_time(NaiveTime::MIN) + TimeDelta::minutes(minute.into());
                let Some(&start) = self.first_shown.get(&local_start) else {
                    continue;
                };
                if !self.window_allows(start, now) {
                    continue;
                }
                if let Some(items) = self.first_fit(start, &services, &candidates) {
                    slots.push(Slot {
                        start: self.instant(start),
                        local_start,
                        items,
                    });
                }
            }
        }
        Some(slots)
    }

    /// Every combination of candidates, as an odometer whose first wheel turns slowest.
    fn first_fit(
        &self,
        start: usize,
        services: &[&Service],
        candidates: &[Vec<usize>],
    ) -> Option<Vec<Assignment>> {
        if candidates.iter().any(Vec::is_empty) {
            return None;
        }
        let mut wheels = vec![0; candidates.len()];
        loop {
            let pieces: Vec<Piece> = services
                .iter()
                .zip(candidates)
                .zip(&wheels)
                .map(|((service, candidates), wheel)| Piece {
                    service,
                    staff: candidates[*wheel],
                    resource: None,
                })
                .collect();
            if let Some(assignments) = self.fit(start, &pieces) {
                return Some(assignments);
            }
            let mut wheel = candidates.len();
            loop {
                if wheel == 0 {
                    return None;
                }
                wheel -= 1;
                wheels[wheel] += 1;
                if wheels[wheel] < candidates[wheel].len() {
                    break;
                }
                wheels[wheel] = 0;
            }
        }
    }

    /// The visit as booked, if it is valid.
    pub(super) fn validate(&self, visit: &ProposedVisit, now: DateTime<Utc>) -> Option<Slot> {
        let schedule = self.schedule;
        if visit.items.is_empty() || visit.items.len() > MAX_ITEMS {
            return None;
        }
        let start = match visit.start {
            VisitStart::At(at) => usize::try_from(at.timestamp() / 60 - self.origin).ok()?,
            VisitStart::Wall(local) => *self.first_shown.get(&local)?,
        };
        let pieces = visit
            .items
            .iter()
            .map(|item| {
                Some(Piece {
                    service: schedule
                        .services
                        .iter()
                        .find(|service| service.id == item.service_id)?,
                    staff: schedule
                        .staff
                        .iter()
                        .position(|member| member.id == item.staff_id)?,
                    resource: Some(item.resource_id),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        if !self.window_allows(start, now) {
            return None;
        }
        Some(Slot {
            start: self.instant(start),
            local_start: self.clock[start],
            items: self.fit(start, &pieces)?,
        })
    }
}

/// The staff member's length for the service in minutes, if they do it.
fn performs(member: &StaffMember, service: &Service) -> Option<u32> {
    let own = member.services.iter().find(|own| own.service_id == service.id)?;
    let length = own.duration_minutes.unwrap_or(service.duration_minutes);
    (member.active && length > 0).then_some(length)
}
