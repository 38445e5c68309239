//! Scheduling values shared by availability, appointments and reminders: UTC
//! intervals, weekly wall-clock hours, closures, and how a wall-clock time in a
//! location's zone becomes an instant.
//!
//! A zone's clock skips some wall times (DST gap) and repeats others (DST
//! fold), so two rules turn a wall time into an instant:
//! - a **start** ([`start_instant`]) is the wall time's first occurrence; a wall
//!   time inside a gap does not exist and has no instant;
//! - an **interval boundary** ([`boundary_instant`]) is the first instant at
//!   which the clock reads that wall time or later: the first occurrence in a
//!   fold and, in a gap, the instant the clock jumps forward.
//!
//! Hours are converted date by date, so a 09:00–18:00 day is 9 hours of real
//! time on a 23- or 25-hour day, and 00:00–06:00 on the night the clocks spring
//! forward lasts 5 hours.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

/// A half-open span of real time `[start, end)`; empty when `end <= start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// Wall-clock hours `[start, end)` on one weekday, in the location's zone.
///
/// An `end` at or before `start` falls on the next day: `10:00–00:00` runs
/// until midnight, `22:00–02:00` overnight, `00:00–00:00` around the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WallInterval {
    pub weekday: Weekday,
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl WallInterval {
    /// The local start and end of these hours when they begin on `date`;
    /// `None` on other weekdays.
    pub fn on(&self, date: NaiveDate) -> Option<(NaiveDateTime, NaiveDateTime)> {
        if date.weekday() != self.weekday {
            return None;
        }
        let end_date = if self.end > self.start {
            date
        } else {
            date.succ_opt()?
        };
        Some((date.and_time(self.start), end_date.and_time(self.end)))
    }
}

/// Local dates `first..=last`, such as a holiday closure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

impl DateRange {
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.first <= date && date <= self.last
    }
}

/// The instant a wall-clock start time denotes: its first occurrence, or
/// `None` when the clock skips it.
pub fn start_instant(zone: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    zone.from_local_datetime(&local)
        .earliest()
        .map(|at| at.with_timezone(&Utc))
}

/// The instant an interval boundary at a wall-clock time denotes: the first
/// instant at which the clock reads `local` or later.
pub fn boundary_instant(zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    start_instant(zone, local).unwrap_or_else(|| gap_end(zone, local))
}

/// The wall-clock time at `at` in `zone`; `None` past the calendar's ends.
pub fn local_time(zone: Tz, at: DateTime<Utc>) -> Option<NaiveDateTime> {
    let offset = zone.offset_from_utc_datetime(&at.naive_utc()).fix();
    at.naive_utc().checked_add_offset(offset)
}

/// The instant the clock jumps over `local`, which lies in a gap.
fn gap_end(zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    // UTC offsets stay within ±15 h, so `local` read as UTC, minus 15 h, is an
    // instant whose clock shows an earlier wall time, and plus 15 h a later one.
    const REACH: i64 = 15 * 3600;
    let as_utc = local.and_utc().timestamp();
    let (mut before, mut after) = (as_utc - REACH, as_utc + REACH);
    while after - before > 1 {
        let middle = before + (after - before) / 2;
        let reached = DateTime::from_timestamp(middle, 0)
            .and_then(|at| local_time(zone, at))
            .is_none_or(|shown| shown >= local);
        if reached {
            after = middle;
        } else {
            before = middle;
        }
    }
    DateTime::from_timestamp(after, 0).unwrap_or_else(|| local.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wall(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        wall(text).and_utc()
    }

    #[test]
    fn a_start_in_a_gap_does_not_exist() {
        let ny = chrono_tz::America::New_York;
        assert_eq!(start_instant(ny, wall("2027-03-14 02:30")), None);
        assert_eq!(
            start_instant(ny, wall("2027-03-14 03:00")),
            Some(utc("2027-03-14 07:00"))
        );
    }

    #[test]
    fn a_start_in_a_fold_is_its_first_occurrence() {
        let ny = chrono_tz::America::New_York;
        assert_eq!(
            start_instant(ny, wall("2027-11-07 01:30")),
            Some(utc("2027-11-07 05:30"))
        );
    }

    #[test]
    fn a_boundary_in_a_gap_is_the_jump() {
        let ny = chrono_tz::America::New_York;
        assert_eq!(
            boundary_instant(ny, wall("2027-03-14 02:30")),
            utc("2027-03-14 07:00")
        );
        let london = chrono_tz::Europe::London;
        assert_eq!(
            boundary_instant(london, wall("2027-03-28 01:15")),
            utc("2027-03-28 01:00")
        );
    }

    #[test]
    fn a_boundary_in_a_fold_is_its_first_occurrence() {
        let london = chrono_tz::Europe::London;
        assert_eq!(
            boundary_instant(london, wall("2027-10-31 01:30")),
            utc("2027-10-31 00:30")
        );
    }

    #[test]
    fn hours_ending_at_or_before_their_start_end_the_next_day() {
        let monday = NaiveDate::from_ymd_opt(2027, 6, 14).unwrap();
        let time = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap();
        let hours = |start, end| WallInterval {
            weekday: Weekday::Mon,
            start: time(start),
            end: time(end),
        };
        assert_eq!(
            hours(10, 0).on(monday),
            Some((wall("2027-06-14 10:00"), wall("2027-06-15 00:00")))
        );
        assert_eq!(
            hours(22, 2).on(monday),
            Some((wall("2027-06-14 22:00"), wall("2027-06-15 02:00")))
        );
        assert_eq!(hours(9, 18).on(monday.succ_opt().unwrap()), None);
    }
}
