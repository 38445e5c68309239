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

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::Mutex;

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
            }),
        })
    }

    /// The per-command timeout.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
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
    /// tried once more on the reconnected connection.
    pub async fn run<T, F, Fut>(&self, operation: F) -> Result<T, String>
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
        self.run(|mut c| async move { redis::cmd("PING").query_async::<String>(&mut c).await })
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
