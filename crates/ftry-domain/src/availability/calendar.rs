//! The location's time over the dates one search can touch, prepared once per
//! call: when it is open, when each staff member is free, when each resource is
//! full, and how many minutes each staff member has booked per day.

use chrono::{Days, NaiveDate, NaiveTime};
use chrono_tz::Tz;
use uuid::Uuid;

use super::timeline::{blocked, floor_micros, permitted, Span, Timeline};
use super::{Item, Schedule};
use crate::schedule::{boundary_instant, Interval, WallInterval};

pub(super) struct Calendar<'s> {
    schedule: &'s Schedule,
    open: Timeline,
    /// Per staff member (same index as `schedule.staff`): working hours minus
    /// breaks, time off and busy time.
    staff_free: Vec<Timeline>,
    /// Per staff member: busy time, for the "any staff" preference.
    staff_busy: Vec<Timeline>,
    /// Per resource (same index as `schedule.resources`): where no unit is free.
    resource_full: Vec<Timeline>,
    /// Resource indices by display order, then id.
    resource_order: Vec<usize>,
}

impl<'s> Calendar<'s> {
    /// Prepares visits starting on local dates `first..=last` that reach at most
    /// `reach_days` beyond their start (buffers included) on either side.
    pub(super) fn build(schedule: &'s Schedule, first: NaiveDate, last: NaiveDate, reach_days: u64) -> Self {
        let zone = schedule.zone;
        // One day more before: hours that begin the evening before may run past midnight.
        let from = first
            .checked_sub_days(Days::new(reach_days + 1))
            .unwrap_or(NaiveDate::MIN);
        let to = last
            .checked_add_days(Days::new(reach_days))
            .unwrap_or(NaiveDate::MAX);
        let dates = || from.iter_days().take_while(move |date| *date <= to);
        let wall = |hours: &[WallInterval], edge: fn(_, _) -> Span| -> Vec<Span> {
            dates()
                .flat_map(|date| hours.iter().filter_map(move |hours| hours.on(date)))
                .map(|(start, end)| edge(boundary_instant(zone, start), boundary_instant(zone, end)))
                .collect()
        };

        let open = Timeline::new(wall(&schedule.opening_hours, permitted));
        let requested_days = (
            day_start(zone, first),
            day_start(zone, last.succ_opt().unwrap_or(last)),
        );
        let mut staff_free = Vec::with_capacity(schedule.staff.len());
        let mut staff_busy = Vec::with_capacity(schedule.staff.len());
        for member in &schedule.staff {
            let working = if member.active {
                Timeline::new(wall(&member.working_hours, permitted))
            } else {
                Timeline::default()
            };
            let reach = working.extent();
            let mut unavailable = wall(&member.breaks, blocked);
            unavailable.extend(spans_within(&member.time_off, reach));
            unavailable.extend(spans_within(&member.busy, reach));
            staff_free.push(working.minus(&Timeline::new(unavailable)));
            staff_busy.push(Timeline::new(
                spans_within(&member.busy, Some(requested_days)).collect(),
            ));
        }

        let open_reach = open.extent();
        let resource_full = schedule
            .resources
            .iter()
            .map(|resource| {
                let usage = resource.usage.iter().filter_map(|usage| {
                    let span = blocked(usage.interval.start, usage.interval.end);
                    within(span, open_reach).then_some((span, usage.units))
                });
                Timeline::saturated(usage, resource.capacity)
            })
            .collect();
        let mut resource_order: Vec<usize> = (0..schedule.resources.len()).collect();
        resource_order.sort_by_key(|&index| {
            let resource = &schedule.resources[index];
            (resource.display_order, resource.id)
        });

        Self {
            schedule,
            open,
            staff_free,
            staff_busy,
            resource_full,
            resource_order,
        }
    }

    pub(super) fn schedule(&self) -> &'s Schedule {
        self.schedule
    }

    pub(super) fn is_open(&self, client: Span) -> bool {
        self.open.covers(client)
    }

    /// Whether the staff member is free for all their time on `item` from `start`.
    pub(super) fn staff_fits(&self, staff: usize, item: &Item, start: i64, duration: i64) -> bool {
        item.geometry
            .staff_spans((start, start.saturating_add(duration)))
            .all(|span| self.staff_free[staff].covers(span))
    }

    pub(super) fn resource_free(&self, resource: usize, client: Span) -> bool {
        !self.resource_full[resource].meets(client)
    }

    /// The first resource of `kind`, by display order then id, with a unit free over `client`.
    pub(super) fn first_free_resource(&self, kind: Uuid, client: Span) -> Option<usize> {
        self.resource_order.iter().copied().find(|&resource| {
            self.schedule.resources[resource].resource_type_id == kind && self.resource_free(resource, client)
        })
    }

    /// All staff indices in "any staff" order for visits on `date`: fewest
    /// booked minutes that day, then display order, then id.
    pub(super) fn staff_preference(&self, date: NaiveDate) -> Vec<usize> {
        let zone = self.schedule.zone;
        let day = (
            day_start(zone, date),
            day_start(zone, date.succ_opt().unwrap_or(date)),
        );
        let mut order: Vec<usize> = (0..self.schedule.staff.len()).collect();
        order.sort_by_cached_key(|&index| {
            let member = &self.schedule.staff[index];
            (
                self.staff_busy[index].overlap(day),
                member.display_order,
                member.id,
            )
        });
        order
    }
}

/// The first instant of a local date.
fn day_start(zone: Tz, date: NaiveDate) -> i64 {
    floor_micros(boundary_instant(zone, date.and_time(NaiveTime::MIN)))
}

/// The blocked spans of `intervals` that share time with `reach`.
fn spans_within(intervals: &[Interval], reach: Option<Span>) -> impl Iterator<Item = Span> + '_ {
    intervals
        .iter()
        .map(|interval| blocked(interval.start, interval.end))
        .filter(move |&span| within(span, reach))
}

fn within(span: Span, reach: Option<Span>) -> bool {
    reach.is_some_and(|(start, end)| span.0 < end && start < span.1)
}
