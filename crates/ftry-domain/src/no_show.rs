//! Which booked visits may be missed: a rule the front desk can read and act
//! on (call to confirm, ask for a deposit), from the client's own record —
//! never a score nobody can explain.

/// How likely a visit is to be missed, and why, in words for the desk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Risk {
    pub level: Level,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Medium,
    High,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Medium => "medium",
            Level::High => "high",
        }
    }
}

/// What is known of a visit and its client when the day is planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// The client's earlier visits they missed.
    pub no_shows: u32,
    /// The client's earlier visits they came to.
    pub attended: u32,
    /// Booked by the client online.
    pub online: bool,
    /// The salon has confirmed it with the client.
    pub confirmed: bool,
}

/// High: missed at least two visits and a third or more of them. Medium:
/// missed one in five or more; or a first visit booked online and not yet
/// confirmed. A confirmed visit lowers high to medium and clears medium.
pub fn risk(record: Record) -> Option<Risk> {
    let Record {
        no_shows,
        attended,
        online,
        confirmed,
    } = record;
    let visits = no_shows + attended;
    let missed = || format!("Missed {no_shows} of {visits} visits");
    let level = if no_shows >= 2 && no_shows * 3 >= visits {
        Some((Level::High, missed()))
    } else if no_shows >= 1 && no_shows * 5 >= visits {
        Some((Level::Medium, missed()))
    } else if visits == 0 && online {
        Some((Level::Medium, "First visit, booked online".to_owned()))
    } else {
        None
    };
    let (level, reason) = level?;
    match (level, confirmed) {
        (Level::High, true) => Some(Risk {
            level: Level::Medium,
            reason: format!("{reason}; confirmed"),
        }),
        (Level::Medium, true) => None,
        (level, false) => Some(Risk {
            level,
            reason: format!("{reason}; not confirmed"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::{risk, Level, Record, Risk};

    fn record(no_shows: u32, attended: u32, online: bool, confirmed: bool) -> Record {
        Record {
            no_shows,
            attended,
            online,
            confirmed,
        }
    }

    #[test]
    fn a_client_who_often_misses_is_a_high_risk_until_confirmed() {
        assert_eq!(
            risk(record(2, 4, false, false)),
            Some(Risk {
                level: Level::High,
                reason: "Missed 2 of 6 visits; not confirmed".into()
            })
        );
        assert_eq!(
            risk(record(2, 4, false, true)),
            Some(Risk {
                level: Level::Medium,
                reason: "Missed 2 of 6 visits; confirmed".into()
            })
        );
        // Two misses in seven visits is less than a third: medium.
        assert_eq!(
            risk(record(2, 5, false, false)).map(|r| r.level),
            Some(Level::Medium)
        );
    }

    #[test]
    fn one_miss_in_five_or_more_is_a_medium_risk_and_confirming_clears_it() {
        assert_eq!(
            risk(record(1, 4, false, false)),
            Some(Risk {
                level: Level::Medium,
                reason: "Missed 1 of 5 visits; not confirmed".into()
            })
        );
        assert_eq!(risk(record(1, 4, false, true)), None);
        // One miss in six visits: a good record.
        assert_eq!(risk(record(1, 5, false, false)), None);
        assert_eq!(risk(record(0, 12, true, false)), None);
    }

    #[test]
    fn a_first_visit_booked_online_is_a_medium_risk_until_confirmed() {
        assert_eq!(
            risk(record(0, 0, true, false)),
            Some(Risk {
                level: Level::Medium,
                reason: "First visit, booked online; not confirmed".into()
            })
        );
        assert_eq!(risk(record(0, 0, true, true)), None);
        assert_eq!(risk(record(0, 0, false, false)), None);
    }
}
