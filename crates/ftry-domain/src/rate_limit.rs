//! Rate limiting by the generic cell rate algorithm (GCRA).
//!
//! A quota of `limit` requests per `window` is enforced smoothly: each request
//! pushes a "theoretical arrival time" (TAT) forward by `window / limit`, and a
//! request is refused while the TAT would run more than one window ahead of
//! now. A full burst of `limit` is allowed after a quiet window, and the budget
//! refills continuously instead of resetting at window edges.
//!
//! The same arithmetic runs in-process and, as a Lua script, inside Redis; this
//! module is the reference both follow. All times are in microseconds.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A quota: `limit` requests per `window_secs` seconds, written `120/1m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct Quota {
    pub limit: u32,
    pub window_secs: u32,
}

impl Quota {
    pub fn window_micros(&self) -> u64 {
        u64::from(self.window_secs) * 1_000_000
    }

    /// Time one request "costs" from the budget.
    pub fn emission_interval_micros(&self) -> u64 {
        self.window_micros() / u64::from(self.limit.max(1))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a quota; expected <requests>/<window> with a window in s, m or h, e.g. 120/1m")]
pub struct InvalidQuota(String);

impl FromStr for Quota {
    type Err = InvalidQuota;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidQuota(text.to_owned());
        let (limit, window) = text.trim().split_once('/').ok_or_else(invalid)?;
        let limit: u32 = limit.trim().parse().map_err(|_| invalid())?;
        let window = window.trim();
        let unit_at = window.find(|c: char| !c.is_ascii_digit()).ok_or_else(invalid)?;
        let (count, unit) = window.split_at(unit_at);
        let count: u32 = if count.is_empty() {
            1
        } else {
            count.parse().map_err(|_| invalid())?
        };
        let seconds = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            _ => return Err(invalid()),
        };
        let window_secs = count.checked_mul(seconds).ok_or_else(invalid)?;
        if limit == 0 || window_secs == 0 || u64::from(window_secs) * 1_000_000 < u64::from(limit) {
            return Err(invalid());
        }
        Ok(Quota { limit, window_secs })
    }
}

impl TryFrom<String> for Quota {
    type Error = InvalidQuota;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<Quota> for String {
    fn from(quota: Quota) -> String {
        quota.to_string()
    }
}

impl fmt::Display for Quota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.window_secs {
            w if w % 3600 == 0 => write!(f, "{}/{}h", self.limit, w / 3600),
            w if w % 60 == 0 => write!(f, "{}/{}m", self.limit, w / 60),
            w => write!(f, "{}/{}s", self.limit, w),
        }
    }
}

/// The outcome of one request against a quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed {
        /// Requests still allowed right now.
        remaining: u32,
        /// Microseconds until the budget is full again.
        reset_micros: u64,
        /// TAT to store for the key.
        new_tat: u64,
    },
    Refused {
        /// Microseconds until one more request would be allowed.
        retry_after_micros: u64,
        /// Microseconds until the budget is full again.
        reset_micros: u64,
    },
}

/// Decide one request at `now`, given the stored TAT (0 when the key is new).
pub fn decide(quota: Quota, stored_tat: u64, now: u64) -> Decision {
    let interval = quota.emission_interval_micros();
    let window = quota.window_micros();
    let tat = stored_tat.max(now);
    let new_tat = tat + interval;
    let allow_at = new_tat.saturating_sub(window);
    if now < allow_at {
        return Decision::Refused {
            retry_after_micros: allow_at - now,
            reset_micros: tat - now,
        };
    }
    let used = new_tat - now;
    let remaining = (window - used.min(window)) / interval.max(1);
    Decision::Allowed {
        remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
        reset_micros: used,
        new_tat,
    }
}

/// Whole seconds, rounded up, for `Retry-After` and `RateLimit` headers.
pub fn ceil_secs(micros: u64) -> u64 {
    micros.div_ceil(1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const Q: Quota = Quota {
        limit: 5,
        window_secs: 60,
    };

    fn run(quota: Quota, times: &[u64]) -> Vec<bool> {
        let mut tat = 0;
        times
            .iter()
            .map(|&now| match decide(quota, tat, now) {
                Decision::Allowed { new_tat, .. } => {
                    tat = new_tat;
                    true
                }
                Decision::Refused { .. } => false,
            })
            .collect()
    }

    #[test]
    fn a_fresh_key_gets_the_full_burst_then_is_refused() {
        let now = 1_000_000_000;
        assert_eq!(run(Q, &[now; 6]), vec![true, true, true, true, true, false]);
    }

    #[test]
    fn remaining_counts_down_to_zero() {
        let now = 5_000_000_000;
        let mut tat = 0;
        let mut remaining = vec![];
        for _ in 0..5 {
            match decide(Q, tat, now) {
                Decision::Allowed {
                    remaining: r,
                    new_tat,
                    ..
                } => {
                    remaining.push(r);
                    tat = new_tat;
                }
                Decision::Refused { .. } => panic!("refused within quota"),
            }
        }
        assert_eq!(remaining, vec![4, 3, 2, 1, 0]);
    }

    #[test]
    fn refusal_says_when_the_next_request_fits() {
        let now = 1_000_000_000;
        let tat = now + 60_000_000; // budget fully used
        assert_eq!(
            decide(Q, tat, now),
            Decision::Refused {
                retry_after_micros: 12_000_000,
                reset_micros: 60_000_000
            }
        );
        assert!(matches!(
            decide(Q, tat, now + 12_000_000),
            Decision::Allowed { remaining: 0, .. }
        ));
    }

    #[test]
    fn budget_refills_one_request_per_interval() {
        let t0 = 1_000_000_000;
        let mut times = vec![t0; 5];
        times.push(t0 + 11_999_999);
        times.push(t0 + 12_000_000);
        times.push(t0 + 12_000_001);
        assert_eq!(
            run(Q, &times),
            vec![true, true, true, true, true, false, true, false]
        );
    }

    #[test]
    fn quotas_parse_and_print_in_the_same_form() {
        assert_eq!(
            "120/1m".parse(),
            Ok(Quota {
                limit: 120,
                window_secs: 60
            })
        );
        assert_eq!(
            "5/m".parse(),
            Ok(Quota {
                limit: 5,
                window_secs: 60
            })
        );
        assert_eq!(
            " 10 / 30s ".parse(),
            Ok(Quota {
                limit: 10,
                window_secs: 30
            })
        );
        assert_eq!(
            "1000/1h".parse::<Quota>().map(|q| q.to_string()),
            Ok("1000/1h".into())
        );
        assert_eq!(
            Quota {
                limit: 7,
                window_secs: 90
            }
            .to_string(),
            "7/90s"
        );
        for bad in ["", "120", "0/1m", "10/0s", "10/1d", "x/1m", "10/m1", "-1/1m"] {
            assert_eq!(bad.parse::<Quota>(), Err(InvalidQuota(bad.into())), "{bad:?}");
        }
    }

    #[test]
    fn seconds_round_up() {
        assert_eq!(ceil_secs(0), 0);
        assert_eq!(ceil_secs(1), 1);
        assert_eq!(ceil_secs(1_000_000), 1);
        assert_eq!(ceil_secs(1_000_001), 2);
    }

    proptest! {
        /// However requests arrive, the allowed ones never exceed the burst plus
        /// the refill: GCRA admits the n-th request of a run only once
        /// `n × interval − window` has passed since the first, so at most
        /// `(elapsed + window) / interval` between any two of them. That is
        /// `limit + elapsed / interval` when the window divides by the limit,
        /// and may be one more when it does not (the interval is whole
        /// microseconds, rounded down: 119 s / 11 gives 11 requests 9 µs
        /// early, which adds up to one extra after 2 windows).
        #[test]
        fn allowed_requests_never_exceed_burst_plus_refill(
            limit in 1u32..20,
            window_secs in 1u32..120,
            gaps in proptest::collection::vec(0u64..3_000_000, 1..200),
        ) {
            let quota = Quota { limit, window_secs };
            let mut now = 10_000_000_000u64;
            let mut times = vec![];
            for gap in gaps { now += gap; times.push(now); }
            let allowed: Vec<u64> = times.iter().zip(run(quota, &times)).filter(|(_, ok)| *ok).map(|(t, _)| *t).collect();
            let interval = quota.emission_interval_micros();
            for (i, &first) in allowed.iter().enumerate() {
                for (n, &last) in allowed[i..].iter().enumerate() {
                    let bound = (last - first + quota.window_micros()) / interval;
                    prop_assert!(bound <= u64::from(limit) + (last - first) / interval + 1);
                    prop_assert!((n as u64) < bound, "{} allowed in {} us, bound {bound}", n + 1, last - first);
                }
            }
        }

        /// A refused request never changes state, and its retry hint is exact.
        #[test]
        fn retry_after_is_exact(limit in 1u32..50, window_secs in 1u32..120, extra in 0u64..100_000_000) {
            let quota = Quota { limit, window_secs };
            let now = 50_000_000_000u64;
            let tat = now + quota.window_micros() + extra;
            if let Decision::Refused { retry_after_micros, .. } = decide(quota, tat, now) {
                let at_hint = matches!(decide(quota, tat, now + retry_after_micros), Decision::Allowed { .. });
                let just_before = matches!(decide(quota, tat, now + retry_after_micros - 1), Decision::Refused { .. });
                prop_assert!(at_hint && just_before);
            } else {
                prop_assert!(false, "a full budget must refuse");
            }
        }
    }
}
