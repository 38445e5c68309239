//! The life of an appointment: which status may follow which.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Booked,
    Confirmed,
    CheckedIn,
    InService,
    Completed,
    Cancelled,
    NoShow,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Booked,
        Status::Confirmed,
        Status::CheckedIn,
        Status::InService,
        Status::Completed,
        Status::Cancelled,
        Status::NoShow,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Status::Booked => "booked",
            Status::Confirmed => "confirmed",
            Status::CheckedIn => "checked_in",
            Status::InService => "in_service",
            Status::Completed => "completed",
            Status::Cancelled => "cancelled",
            Status::NoShow => "no_show",
        }
    }

    pub fn parse(name: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Whether the appointment still holds its time (staff, resources).
    pub fn holds_time(self) -> bool {
        !matches!(self, Status::Cancelled | Status::NoShow)
    }

    /// Whether it can still be moved to another time.
    pub fn can_reschedule(self) -> bool {
        matches!(self, Status::Booked | Status::Confirmed)
    }

    /// The statuses that may follow this one.
    pub fn next(self) -> &'static [Status] {
        use Status::*;
        match self {
            Booked => &[Confirmed, CheckedIn, Cancelled, NoShow],
            Confirmed => &[CheckedIn, Cancelled, NoShow],
            CheckedIn => &[InService, Completed, Cancelled],
            InService => &[Completed],
            Completed | Cancelled | NoShow => &[],
        }
    }

    pub fn can_become(self, next: Status) -> bool {
        self.next().contains(&next)
    }
}

/// Where a booking came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    FrontDesk,
    Online,
    WalkIn,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::FrontDesk => "front_desk",
            Source::Online => "online",
            Source::WalkIn => "walk_in",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_happy_path_is_allowed_step_by_step() {
        use Status::*;
        let path = [Booked, Confirmed, CheckedIn, InService, Completed];
        for pair in path.windows(2) {
            assert!(pair[0].can_become(pair[1]), "{:?} → {:?}", pair[0], pair[1]);
        }
    }

    #[test]
    fn finished_appointments_never_change_and_nothing_goes_backwards() {
        use Status::*;
        for done in [Completed, Cancelled, NoShow] {
            assert!(done.next().is_empty());
        }
        assert!(!CheckedIn.can_become(Booked));
        assert!(
            !InService.can_become(Cancelled),
            "a service under way is completed, not cancelled"
        );
        assert!(!Booked.can_become(Completed), "checkout needs a check-in first");
        assert!(!Booked.can_become(Booked));
    }

    #[test]
    fn only_active_statuses_hold_time_and_only_future_ones_move() {
        assert!(Status::CheckedIn.holds_time());
        assert!(!Status::Cancelled.holds_time());
        assert!(!Status::NoShow.holds_time());
        assert!(Status::Confirmed.can_reschedule());
        assert!(!Status::CheckedIn.can_reschedule());
    }

    #[test]
    fn names_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.name()), Some(s));
        }
        assert_eq!(Status::parse("done"), None);
    }
}
