//! The optional Redis connection shared by every node.
//!
//! Redis is never required for ftry to serve: a caller asks for a connection
//! and gets `None` while Redis is unreachable, then falls back to its
//! in-process equivalent. After a failure the handle stays "open-circuit" for a
//! short cool-down, so a dead Redis costs requests nothing, and it reconnects
//! by itself once Redis answers again.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::Mutex;
use tracing::Instrument;

const COOL_DOWN: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct RedisHandle {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    timeout: Duration,
    connection: Mutex<Option<ConnectionManager>>,
    /// Milliseconds since `epoch` before which no attempt is made.
    open_until_ms: AtomicU64,
    epoch: Instant,
    failures: AtomicU64,
    down: AtomicBool,
    metrics: RedisMetrics,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CommandLabel {
    command: &'static str,
}

/// How long Redis operations take and how many fail, by operation name.
#[derive(Clone)]
pub struct RedisMetrics {
    durations: Family<CommandLabel, Histogram, fn() -> Histogram>,
    errors: Family<CommandLabel, Counter>,
}

impl Default for RedisMetrics {
    fn default() -> Self {
        fn buckets() -> Histogram {
            Histogram::new([
                0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
            ])
        }
        Self {
            durations: Family::new_with_constructor(buckets),
            errors: Family::default(),
        }
    }
}

impl RedisMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register_with_unit(
            "ftry_redis_command_duration",
            "Time Redis operations take, including the one retry after a dropped connection",
            Unit::Seconds,
            self.durations.clone(),
        );
        registry.register(
            "ftry_redis_errors",
            "Redis operations that failed, timed out or were not tried because Redis was cooling down after a failure",
            self.errors.clone(),
        );
    }
}

impl RedisHandle {
    /// Prepare a handle; nothing connects until first use.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, redis::RedisError> {
        Ok(Self {
            inner: Arc::new(Inner {
                client: redis::Client::open(url)?,
                timeout,
                connection: Mutex::new(None),
                open_until_ms: AtomicU64::new(0),
                epoch: Instant::now(),
                failures: AtomicU64::new(0),
                down: AtomicBool::new(false),
                metrics: RedisMetrics::default(),
            }),
        })
    }

    /// The per-command timeout.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// The handle's operation timings and errors, for the metrics registry.
    pub fn metrics(&self) -> &RedisMetrics {
        &self.inner.metrics
    }

    /// Failed Redis operations since start (each one fell back or failed a check).
    pub fn failures(&self) -> u64 {
        self.inner.failures.load(Ordering::Relaxed)
    }

    /// A connection, unless Redis recently failed and is cooling down.
    pub async fn connection(&self) -> Option<ConnectionManager> {
        if self.cooling_down() {
            return None;
        }
        let mut slot = self.inner.connection.lock().await;
        if let Some(connection) = slot.as_ref() {
            return Some(connection.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.inner.timeout))
            .set_response_timeout(Some(self.inner.timeout))
            .set_number_of_retries(1);
        let connecting = ConnectionManager::new_with_config(self.inner.client.clone(), config);
        match tokio::time::timeout(self.inner.timeout, connecting).await {
            Ok(Ok(connection)) => {
                tracing::info!("connected to redis");
                *slot = Some(connection.clone());
                Some(connection)
            }
            Ok(Err(e)) => {
                self.record_failure(&e.to_string());
                None
            }
            Err(_) => {
                self.record_failure("connect timed out");
                None
            }
        }
    }

    /// Run one Redis operation bounded by the timeout; any failure opens the
    /// circuit and returns the error text for the caller to log or report.
    /// An operation that finds its connection dropped (Redis restarted) is
    /// tried once more on the reconnected connection. `command` names the
    /// operation in the metrics.
    pub async fn run<T, F, Fut>(&self, command: &'static str, operation: F) -> Result<T, String>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let label = CommandLabel { command };
        let started = Instant::now();
        let span = tracing::info_span!(
            "redis",
            otel.name = command,
            otel.kind = "client",
            db.system.name = "redis",
            db.operation.name = command,
        );
        let outcome = self.run_untimed(operation).instrument(span).await;
        let metrics = &self.inner.metrics;
        metrics
            .durations
            .get_or_create(&label)
            .observe(started.elapsed().as_secs_f64());
        if outcome.is_err() {
            metrics.errors.get_or_create(&label).inc();
        }
        outcome
    }

    async fn run_untimed<T, F, Fut>(&self, operation: F) -> Result<T, String>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let Some(connection) = self.connection().await else {
            return Err("redis unavailable (cooling down after a failure)".into());
        };
        let mut outcome = tokio::time::timeout(self.inner.timeout, operation(connection.clone())).await;
        if let Ok(Err(e)) = &outcome {
            if e.is_connection_dropped() || e.is_io_error() || e.is_connection_refusal() {
                outcome = tokio::time::timeout(self.inner.timeout, operation(connection)).await;
            }
        }
        match outcome {
            Ok(Ok(value)) => {
                if self.inner.down.swap(false, Ordering::Relaxed) {
                    tracing::info!("redis is reachable again");
                }
                Ok(value)
            }
            Ok(Err(e)) => {
                let message = e.to_string();
                self.record_failure(&message);
                Err(message)
            }
            Err(_) => {
                let message = format!("no answer within {} ms", self.inner.timeout.as_millis());
                self.record_failure(&message);
                Err(message)
            }
        }
    }

    /// PING, for the readiness probe. Unlike `run` it ignores the cool-down:
    /// the probe must report the truth even right after a failure.
    pub async fn ping(&self) -> Result<(), String> {
        self.inner.open_until_ms.store(0, Ordering::Relaxed);
        self.run("ping", |mut c| async move {
            redis::cmd("PING").query_async::<String>(&mut c).await
        })
        .await
        .map(|_| ())
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.inner.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn cooling_down(&self) -> bool {
        self.now_ms() < self.inner.open_until_ms.load(Ordering::Relaxed)
    }

    fn record_failure(&self, error: &str) {
        self.inner.failures.fetch_add(1, Ordering::Relaxed);
        let until = self.now_ms() + u64::try_from(COOL_DOWN.as_millis()).unwrap_or(1000);
        self.inner.open_until_ms.store(until, Ordering::Relaxed);
        if !self.inner.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                error,
                "redis unreachable; using in-process fallbacks until it returns"
            );
        } else {
            tracing::debug!(error, "redis still unreachable");
        }
    }
}
