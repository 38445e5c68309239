//! Prometheus metrics, served on the admin listener only (never on the
//! public port). Names follow Prometheus conventions: base units, `_total`
//! for counters, `_seconds` and `_bytes`. Labels stay bounded: the route is
//! the matched template, the status its class, and no tenant or user id.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// OpenMetrics, what Prometheus asks for.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The Prometheus text format, for everything else (curl, promtool).
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The same exposition in the Prometheus text format: a counter's family is
/// named with its `_total` suffix, and the OpenMetrics-only lines (`# UNIT`,
/// `# EOF`) are left out. The samples are the same.
pub fn to_text_format(openmetrics: &str) -> String {
    let mut counters = std::collections::HashSet::new();
    for line in openmetrics.lines() {
        if let Some(name) = line
            .strip_prefix("# TYPE ")
            .and_then(|rest| rest.strip_suffix(" counter"))
        {
            counters.insert(name.to_owned());
        }
    }
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let meta = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|prefix| line.strip_prefix(prefix).map(|rest| (prefix, rest)));
        match meta.and_then(|(prefix, rest)| {
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        }) {
            Some(renamed) => out.push_str(&renamed),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    pub route: String,
    /// `2xx`, `3xx`, `4xx` or `5xx`.
    pub status: String,
}

/// The budget a rate-limit refusal drew on: a route class (`auth`, `api`,
/// `public`, `static`) or `account`, the per-account login budget.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClassLabel {
    pub class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
    git_sha: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: &'static str,
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolName {
    pool: &'static str,
}

type HistogramFamily = Family<HttpLabels, Histogram, fn() -> Histogram>;

/// Request latency buckets: 1 ms to 10 s, with the SLOs' 500 ms (API) and
/// 2 s (page load) on bounds.
fn latency_histogram() -> Histogram {
    Histogram::new([
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0,
    ])
}

/// Body size buckets: 64 bytes to 4 MiB.
fn size_histogram() -> Histogram {
    Histogram::new((0..9).map(|i| 64.0 * 4f64.powi(i)))
}

pub struct Metrics {
    registry: Registry,
    pub http_requests: Family<HttpLabels, Counter>,
    pub http_duration: HistogramFamily,
    pub http_response_size: HistogramFamily,
    pub http_in_flight: Gauge,
    pub rate_limit_rejections: Family<ClassLabel, Counter>,
    pub rate_limit_fallbacks: Counter,
    pub csrf_failures: Counter,
    pool_connections: Family<PoolLabels, Gauge>,
    pool_max: Family<PoolName, Gauge>,
    process_cpu: Counter<f64, AtomicU64>,
    process_resident: Gauge,
    process_fds: Gauge,
}

impl Metrics {
    /// The service's metrics: its own, the use-case layer's (business
    /// counters, database timings, caches), Redis's (whose series stay
    /// empty when Redis is not configured) and the trace exporter's (zero
    /// while tracing is off).
    pub fn new(
        app: &ftry_app::App,
        redis: Option<&ftry_ops::redis::RedisHandle>,
        build: &crate::BuildInfo,
    ) -> Self {
        let mut registry = Registry::default();
        app.register_metrics(&mut registry);
        match redis {
            Some(redis) => redis.metrics().register(&mut registry),
            None => ftry_ops::redis::RedisMetrics::default().register(&mut registry),
        }
        ftry_ops::telemetry::stats().register(&mut registry);
        ftry_ops::error_reporting::stats().register(&mut registry);
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "ftry_http_requests",
            "HTTP requests answered, by method, route template and status class",
            http_requests.clone(),
        );
        let http_duration = HistogramFamily::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "ftry_http_request_duration",
            "Time from receiving a request to its response head",
            Unit::Seconds,
            http_duration.clone(),
        );
        let http_response_size = HistogramFamily::new_with_constructor(size_histogram);
        registry.register_with_unit(
            "ftry_http_response_size",
            "Size of response bodies as sent, where declared (Content-Length; streamed compressed bodies have none)",
            Unit::Bytes,
            http_response_size.clone(),
        );
        let http_in_flight = Gauge::default();
        registry.register(
            "ftry_http_requests_in_flight",
            "Requests being answered now",
            http_in_flight.clone(),
        );
        let rate_limit_rejections = Family::<ClassLabel, Counter>::default();
        registry.register(
            "ftry_rate_limit_rejections",
            "Requests and login attempts refused with 429, by the budget they drew on",
            rate_limit_rejections.clone(),
        );
        let rate_limit_fallbacks = Counter::default();
        registry.register(
            "ftry_rate_limit_redis_fallbacks",
            "Rate-limit decisions made in-process because Redis was unreachable",
            rate_limit_fallbacks.clone(),
        );
        let csrf_failures = Counter::default();
        registry.register(
            "ftry_csrf_failures",
            "Cookie-authenticated writes refused for a missing or wrong CSRF token",
            csrf_failures.clone(),
        );
        let pool_connections = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "ftry_db_pool_connections",
            "Database connections by pool and state (idle or in_use)",
            pool_connections.clone(),
        );
        let pool_max = Family::<PoolName, Gauge>::default();
        registry.register(
            "ftry_db_pool_max_connections",
            "Largest number of connections each pool may open",
            pool_max.clone(),
        );
        let process_cpu = Counter::<f64, AtomicU64>::default();
        registry.register_with_unit(
            "process_cpu",
            "User and system CPU time spent by the process",
            Unit::Seconds,
            process_cpu.clone(),
        );
        let process_resident = Gauge::default();
        registry.register_with_unit(
            "process_resident_memory",
            "Resident memory size",
            Unit::Bytes,
            process_resident.clone(),
        );
        let process_fds = Gauge::default();
        registry.register("process_open_fds", "Open file descriptors", process_fds.clone());
        let process_start = Gauge::<i64>::default();
        registry.register_with_unit(
            "process_start_time",
            "Start time of the process since the Unix epoch",
            Unit::Seconds,
            process_start.clone(),
        );
        process_start.set(chrono::Utc::now().timestamp());
        // A gauge at 1 rather than an OpenMetrics info metric: the same
        // series, and one the Prometheus text-format tools (promtool) read.
        let build_info = Family::<BuildLabels, Gauge>::default();
        build_info
            .get_or_create(&BuildLabels {
                version: build.version,
                git_sha: build.git_sha,
            })
            .set(1);
        registry.register("ftry_build_info", "The running build (always 1)", build_info);
        Self {
            registry,
            http_requests,
            http_duration,
            http_response_size,
            http_in_flight,
            rate_limit_rejections,
            rate_limit_fallbacks,
            csrf_failures,
            pool_connections,
            pool_max,
            process_cpu,
            process_resident,
            process_fds,
        }
    }

    /// Count one answered request.
    pub fn record_request(&self, labels: HttpLabels, seconds: f64, response_bytes: Option<u64>) {
        self.http_requests.get_or_create(&labels).inc();
        if let Some(bytes) = response_bytes {
            self.http_response_size
                .get_or_create(&labels)
                .observe(bytes as f64);
        }
        self.http_duration.get_or_create(&labels).observe(seconds);
    }

    /// The exposition, with the values read at scrape time brought up to date.
    pub fn render(&self, pools: &ftry_store::pool::Pools) -> String {
        for (name, pool) in [("app", &pools.app), ("read", &pools.read)] {
            let size = i64::from(pool.size());
            let idle = i64::try_from(pool.num_idle()).unwrap_or(i64::MAX);
            self.pool_connections
                .get_or_create(&PoolLabels {
                    pool: name,
                    state: "idle",
                })
                .set(idle);
            self.pool_connections
                .get_or_create(&PoolLabels {
                    pool: name,
                    state: "in_use",
                })
                .set((size - idle).max(0));
            self.pool_max
                .get_or_create(&PoolName { pool: name })
                .set(i64::from(pool.options().get_max_connections()));
        }
        let usage = ftry_ops::process::ProcessUsage::read();
        let counted = self.process_cpu.get();
        if usage.cpu_seconds > counted {
            self.process_cpu.inc_by(usage.cpu_seconds - counted);
        }
        self.process_resident
            .set(i64::try_from(usage.resident_bytes).unwrap_or(i64::MAX));
        self.process_fds
            .set(i64::try_from(usage.open_fds).unwrap_or(i64::MAX));
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            tracing::error!("could not encode the metrics");
        }
        out
    }
}

/// The class of a status code, as a label value.
pub fn status_class(status: u16) -> String {
    format!("{}xx", status / 100)
}
