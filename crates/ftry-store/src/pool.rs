//! Connection pools. The service uses the application role; migrations use the
//! owner role, connected only while they run.

use std::future::Future;
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};
use tracing::Instrument;
use uuid::Uuid;

/// Where the two roles connect.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub app: PgConnectOptions,
    pub owner: PgConnectOptions,
    /// Where reports read (a replica); `None` = the primary.
    pub read: Option<PgConnectOptions>,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

#[derive(Clone)]
pub struct Pools {
    pub app: PgPool,
    /// For reports: a replica when configured, else the same pool as `app`.
    pub read: PgPool,
    /// How long connections take to get and named queries take to run.
    pub metrics: DbMetrics,
}

impl Pools {
    /// A lazy pool: the service starts even if the database is briefly away,
    /// and readiness reports it until it answers.
    pub fn connect_lazy(settings: &DatabaseSettings) -> Self {
        let app = pool_options(settings).connect_lazy_with(settings.app.clone().application_name("ftry"));
        let read = match &settings.read {
            Some(read) => {
                pool_options(settings).connect_lazy_with(read.clone().application_name("ftry-reports"))
            }
            None => app.clone(),
        };
        Self {
            app,
            read,
            metrics: DbMetrics::default(),
        }
    }

    /// A transaction on the primary whose row-level security context is
    /// `tenant_id`, the time to get its connection measured.
    pub async fn begin(&self, tenant_id: Uuid) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.begin_on(PoolName::App, tenant_id).await
    }

    /// As [`Pools::begin`], on the pool reports read from.
    pub async fn begin_read(&self, tenant_id: Uuid) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.begin_on(PoolName::Read, tenant_id).await
    }

    /// As [`Pools::begin_read`], reading one snapshot and writing nothing:
    /// every statement sees the business as it was at the first.
    pub async fn begin_snapshot(
        &self,
        tenant_id: Uuid,
    ) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        let conn = self.acquire(PoolName::Read).await?;
        let begin = crate::tenant::begin_statement(tenant_id).replacen(
            "BEGIN;",
            "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;",
            1,
        );
        Transaction::begin(conn, Some(begin.into())).await
    }

    /// A transaction on the application pool with no business set, for the
    /// platform's own statements (a login's account lookup, user tokens).
    pub async fn begin_platform(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        let conn = self.acquire(PoolName::App).await?;
        Transaction::begin(conn, None).await
    }

    async fn begin_on(
        &self,
        pool: PoolName,
        tenant_id: Uuid,
    ) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        let span = tracing::info_span!(
            "db",
            otel.name = "BEGIN",
            otel.kind = "client",
            db.system.name = "postgresql",
            db.operation.name = "BEGIN",
        );
        async {
            let conn = self.acquire(pool).await?;
            Transaction::begin(conn, Some(crate::tenant::begin_statement(tenant_id).into())).await
        }
        .instrument(span)
        .await
    }

    /// A connection from one pool, timed; a timeout or a failed connect is
    /// counted as an acquire error.
    pub async fn acquire(&self, name: PoolName) -> Result<PoolConnection<Postgres>, sqlx::Error> {
        let pool = match name {
            PoolName::App => &self.app,
            PoolName::Read => &self.read,
        };
        let started = Instant::now();
        let label = PoolLabel { pool: name.as_str() };
        let span = tracing::info_span!(
            "db.pool",
            otel.name = "pool acquire",
            db.client.connection.pool.name = name.as_str(),
        );
        match pool.acquire().instrument(span).await {
            Ok(conn) => {
                self.metrics
                    .acquire
                    .get_or_create(&label)
                    .observe(started.elapsed().as_secs_f64());
                Ok(conn)
            }
            Err(error) => {
                self.metrics.acquire_errors.get_or_create(&label).inc();
                Err(error)
            }
        }
    }
}

/// A connection idle at least this long is pinged before it is handed out.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// How both pools hand out connections. A connection that went back to the
/// pool less than [`PING_AFTER_IDLE`] ago answered then: handing it out
/// without a ping saves every request a round trip (the pool's default pings
/// each time). One idle longer, which the server may have closed meanwhile
/// (a restart, a failover, an idle timeout), is pinged first and replaced if
/// it does not answer.
fn pool_options(settings: &DatabaseSettings) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_AFTER_IDLE {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
}

/// Which pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolName {
    App,
    Read,
}

impl PoolName {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::App => "app",
            Self::Read => "read",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabel {
    pool: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation: &'static str,
}

type Timings<L> = Family<L, Histogram, fn() -> Histogram>;

/// Database buckets: 0.5 ms to 5 s, with the query SLO's 100 ms on a bound.
fn db_histogram() -> Histogram {
    Histogram::new([
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    ])
}

/// The database's share of the service's metrics. Cloning shares the
/// counters, so every clone of [`Pools`] records into the same series.
#[derive(Clone)]
pub struct DbMetrics {
    acquire: Timings<PoolLabel>,
    acquire_errors: Family<PoolLabel, Counter>,
    queries: Timings<OperationLabel>,
}

impl Default for DbMetrics {
    fn default() -> Self {
        Self {
            acquire: Timings::new_with_constructor(db_histogram),
            acquire_errors: Family::default(),
            queries: Timings::new_with_constructor(db_histogram),
        }
    }
}

impl DbMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register_with_unit(
            "ftry_db_pool_acquire_duration",
            "Time to get a pooled connection",
            Unit::Seconds,
            self.acquire.clone(),
        );
        registry.register(
            "ftry_db_pool_acquire_errors",
            "Connections that could not be had: the pool timed out or the database refused",
            self.acquire_errors.clone(),
        );
        registry.register_with_unit(
            "ftry_db_query_duration",
            "Time the named hot queries take, from sending to the last row decoded",
            Unit::Seconds,
            self.queries.clone(),
        );
    }

    /// Run one named query and record how long it took, whatever its outcome.
    pub async fn timed<T>(&self, operation: &'static str, query: impl Future<Output = T>) -> T {
        let started = Instant::now();
        // The statement's name, never its parameters.
        let span = tracing::info_span!(
            "db",
            otel.name = operation,
            otel.kind = "client",
            db.system.name = "postgresql",
            db.operation.name = operation,
        );
        let out = query.instrument(span).await;
        self.queries
            .get_or_create(&OperationLabel { operation })
            .observe(started.elapsed().as_secs_f64());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exposition(metrics: &DbMetrics) -> String {
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        text
    }

    #[tokio::test]
    async fn a_connection_that_cannot_be_had_is_an_acquire_error_not_a_timing() {
        // Nothing listens on port 1: every connect is refused.
        let unreachable = PgConnectOptions::new()
            .host("127.0.0.1")
            .port(1)
            .username("nobody");
        let pools = Pools::connect_lazy(&DatabaseSettings {
            app: unreachable.clone(),
            owner: unreachable,
            read: None,
            max_connections: 1,
            acquire_timeout: Duration::from_millis(300),
        });
        assert!(pools.begin(Uuid::nil()).await.is_err());
        assert!(pools.begin_read(Uuid::nil()).await.is_err());
        let text = exposition(&pools.metrics);
        assert!(
            text.contains("ftry_db_pool_acquire_errors_total{pool=\"app\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("ftry_db_pool_acquire_errors_total{pool=\"read\"} 1\n"),
            "{text}"
        );
        assert!(
            !text.contains("ftry_db_pool_acquire_duration_seconds_count"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_named_query_is_timed_whatever_its_outcome() {
        let metrics = DbMetrics::default();
        let ok: Result<u8, ()> = metrics.timed("client_search", async { Ok(1) }).await;
        let failed: Result<u8, ()> = metrics.timed("client_search", async { Err(()) }).await;
        assert_eq!((ok, failed), (Ok(1), Err(())));
        let text = exposition(&metrics);
        assert!(
            text.contains("ftry_db_query_duration_seconds_count{operation=\"client_search\"} 2\n"),
            "{text}"
        );
    }
}
