//! Dependency checks for the readiness probe. Each check has its own timeout,
//! so one hung dependency cannot hang the probe.

use std::future::Future;
use std::time::{Duration, Instant};

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Ok,
    Fail,
}

/// The outcome of one dependency check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: CheckStatus,
    /// A critical dependency failing makes the node not ready; a non-critical
    /// one (Redis, which has an in-process fallback) only degrades it.
    pub critical: bool,
    pub latency_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Run `probe` bounded by `timeout`.
pub async fn run_check<F, E>(name: &'static str, critical: bool, timeout: Duration, probe: F) -> Check
where
    F: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let started = Instant::now();
    let outcome = tokio::time::timeout(timeout, probe).await;
    let latency_ms = (started.elapsed().as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0;
    let error = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some(format!("no answer within {} ms", timeout.as_millis())),
    };
    Check {
        name,
        status: if error.is_none() {
            CheckStatus::Ok
        } else {
            CheckStatus::Fail
        },
        critical,
        latency_ms,
        error,
    }
}

/// The node's overall readiness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Readiness {
    Ready,
    Degraded,
    NotReady,
    ShuttingDown,
}

pub fn readiness(checks: &[Check], shutting_down: bool) -> Readiness {
    if shutting_down {
        return Readiness::ShuttingDown;
    }
    let failing = checks.iter().filter(|c| c.status == CheckStatus::Fail);
    let mut readiness = Readiness::Ready;
    for check in failing {
        if check.critical {
            return Readiness::NotReady;
        }
        readiness = Readiness::Degraded;
    }
    readiness
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hung_check_fails_at_its_timeout() {
        let check = run_check("database", true, Duration::from_millis(50), async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Ok::<(), String>(())
        })
        .await;
        assert_eq!(check.status, CheckStatus::Fail);
        assert_eq!(check.error.as_deref(), Some("no answer within 50 ms"));
        assert!(check.latency_ms < 5000.0);
    }

    #[tokio::test]
    async fn only_critical_failures_make_the_node_not_ready() {
        let ok = run_check("database", true, Duration::from_secs(1), async {
            Ok::<(), String>(())
        })
        .await;
        let redis_down = run_check("redis", false, Duration::from_secs(1), async { Err("refused") }).await;
        let db_down = run_check("database", true, Duration::from_secs(1), async { Err("refused") }).await;
        assert_eq!(readiness(std::slice::from_ref(&ok), false), Readiness::Ready);
        assert_eq!(
            readiness(&[ok.clone(), redis_down.clone()], false),
            Readiness::Degraded
        );
        assert_eq!(readiness(&[db_down, redis_down], false), Readiness::NotReady);
        assert_eq!(readiness(&[ok], true), Readiness::ShuttingDown);
    }
}
