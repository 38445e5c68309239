//! Sets of time as sorted, disjoint spans of microseconds since the epoch, so
//! every question the search asks is a binary search.
//!
//! Permitted time (opening and working hours) is rounded inward to whole
//! microseconds and blocked time outward, so that rounding never turns a
//! conflict into a fit.

use chrono::{DateTime, Utc};

/// A half-open span `[start, end)` in microseconds since the epoch.
pub(super) type Span = (i64, i64);

pub(super) fn floor_micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

pub(super) fn ceil_micros(at: DateTime<Utc>) -> i64 {
    let micros = at.timestamp_micros();
    if at.timestamp_subsec_nanos().is_multiple_of(1_000) {
        micros
    } else {
        micros.saturating_add(1)
    }
}

/// The instant `micros` after the epoch; spans the search produces always lie
/// inside opening hours, so the fallback is never reached.
pub(super) fn instant(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// A span of permitted time, rounded inward.
pub(super) fn permitted(start: DateTime<Utc>, end: DateTime<Utc>) -> Span {
    (ceil_micros(start), floor_micros(end))
}

/// A span of blocked time, rounded outward.
pub(super) fn blocked(start: DateTime<Utc>, end: DateTime<Utc>) -> Span {
    (floor_micros(start), ceil_micros(end))
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Timeline(Vec<Span>);

impl Timeline {
    /// The union of `spans`: empty spans dropped, overlapping and touching ones merged.
    pub(super) fn new(mut spans: Vec<Span>) -> Self {
        spans.retain(|&(start, end)| start < end);
        spans.sort_unstable();
        let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
        for (start, end) in spans {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        Self(merged)
    }

    /// Where `usage` (spans with unit counts) leaves none of `capacity` units free.
    pub(super) fn saturated(usage: impl IntoIterator<Item = (Span, u32)>, capacity: u32) -> Self {
        if capacity == 0 {
            return Self(vec![(i64::MIN, i64::MAX)]);
        }
        let mut changes: Vec<(i64, i64)> = Vec::new();
        for ((start, end), units) in usage {
            if start < end && units > 0 {
                changes.push((start, i64::from(units)));
                changes.push((end, -i64::from(units)));
            }
        }
        changes.sort_unstable();
        let (mut spans, mut level, mut full_since) = (Vec::new(), 0_i64, None);
        let mut index = 0;
        while let Some(&(at, _)) = changes.get(index) {
            while let Some(&(_, change)) = changes.get(index).filter(|(when, _)| *when == at) {
                level += change;
                index += 1;
            }
            match (full_since, level >= i64::from(capacity)) {
                (None, true) => full_since = Some(at),
                (Some(since), false) => {
                    spans.push((since, at));
                    full_since = None;
                }
                _ => {}
            }
        }
        Self::new(spans)
    }

    /// This time without `other`.
    pub(super) fn minus(&self, other: &Timeline) -> Self {
        let mut rest = Vec::with_capacity(self.0.len());
        let mut first_cut = 0;
        for &(mut start, end) in &self.0 {
            while other.0.get(first_cut).is_some_and(|cut| cut.1 <= start) {
                first_cut += 1;
            }
            for &(cut_start, cut_end) in other.0[first_cut..].iter().take_while(|cut| cut.0 < end) {
                if cut_start > start {
                    rest.push((start, cut_start));
                }
                start = start.max(cut_end);
            }
            if start < end {
                rest.push((start, end));
            }
        }
        Self(rest)
    }

    /// Whether `[start, end)` lies inside one span.
    pub(super) fn covers(&self, (start, end): Span) -> bool {
        let after = self.0.partition_point(|span| span.0 <= start);
        after > 0 && end <= self.0[after - 1].1
    }

    /// Whether `[start, end)` shares any time with this set.
    pub(super) fn meets(&self, (start, end): Span) -> bool {
        let first = self.0.partition_point(|span| span.1 <= start);
        self.0.get(first).is_some_and(|span| span.0 < end)
    }

    /// How much of `[start, end)` this set holds, in microseconds.
    pub(super) fn overlap(&self, (start, end): Span) -> i64 {
        let first = self.0.partition_point(|span| span.1 <= start);
        self.0[first..]
            .iter()
            .take_while(|span| span.0 < end)
            .map(|span| span.1.min(end) - span.0.max(start))
            .sum()
    }

    /// The first and last instant of this set.
    pub(super) fn extent(&self) -> Option<Span> {
        Some((self.0.first()?.0, self.0.last()?.1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_merged_when_they_overlap_or_touch() {
        let set = Timeline::new(vec![(5, 7), (0, 2), (2, 3), (6, 9), (4, 4)]);
        assert_eq!(set, Timeline(vec![(0, 3), (5, 9)]));
    }

    #[test]
    fn cover_needs_one_span() {
        let set = Timeline::new(vec![(0, 3), (5, 9)]);
        assert!(set.covers((5, 9)));
        assert!(set.covers((0, 1)));
        assert!(!set.covers((2, 6)));
        assert!(!set.covers((4, 5)));
        assert!(!set.covers((8, 10)));
    }

    #[test]
    fn meeting_is_sharing_time_not_touching() {
        let set = Timeline::new(vec![(0, 3), (5, 9)]);
        assert!(!set.meets((3, 5)));
        assert!(set.meets((2, 4)));
        assert!(set.meets((8, 20)));
        assert!(!set.meets((9, 20)));
    }

    #[test]
    fn minus_cuts_holes() {
        let set = Timeline::new(vec![(0, 10), (20, 30)]);
        let cuts = Timeline::new(vec![(-5, 1), (3, 4), (8, 22), (25, 26)]);
        assert_eq!(
            set.minus(&cuts),
            Timeline(vec![(1, 3), (4, 8), (22, 25), (26, 30)])
        );
    }

    #[test]
    fn saturation_counts_concurrent_units() {
        let usage = [((0, 10), 1), ((5, 15), 1), ((12, 20), 2)];
        assert_eq!(Timeline::saturated(usage, 2), Timeline(vec![(5, 10), (12, 20)]));
        assert_eq!(Timeline::saturated(usage, 1), Timeline(vec![(0, 20)]));
    }

    #[test]
    fn overlap_sums_shared_time() {
        let set = Timeline::new(vec![(0, 3), (5, 9)]);
        assert_eq!(set.overlap((2, 6)), 2);
    }

    #[test]
    fn rounding_never_widens_permitted_time() {
        let at = DateTime::from_timestamp(10, 500).unwrap();
        assert_eq!(permitted(at, at), (10_000_001, 10_000_000));
        assert_eq!(blocked(at, at), (10_000_000, 10_000_001));
    }
}
