//! Traces over OTLP: a receiver inside the test gets the spans of real
//! requests to the `ftry` binary, over HTTP/protobuf and over gRPC, with the
//! caller's `traceparent` as the parent of the server span, the database and
//! Redis spans under it, and the trace ids in the request's log lines. A
//! collector that cannot be reached costs spans (counted), never requests.

mod support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use prost::Message;
use support::metrics::{sample, scrape_port, scrape_until};
use support::{free_port, traversable_tempdir, FtryProcess, TestDb, TestRedis};

/// One span as the collector received it.
#[derive(Debug, Clone)]
struct Received {
    service: String,
    name: String,
    kind: i32,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    /// Attribute values rendered as text.
    attributes: HashMap<String, String>,
    /// The span status code: 0 unset, 1 ok, 2 error.
    status: i32,
}

const SERVER: i32 = 2;
const CLIENT: i32 = 3;
const CONSUMER: i32 = 5;

#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<Received>>>);

impl Collector {
    fn take(&self, request: ExportTraceServiceRequest) {
        let mut spans = self.0.lock().unwrap();
        for resource_spans in request.resource_spans {
            let service = resource_spans
                .resource
                .map(|r| attributes(&r.attributes))
                .and_then(|a| a.get("service.name").cloned())
                .unwrap_or_default();
            for scope in resource_spans.scope_spans {
                for span in scope.spans {
                    spans.push(Received {
                        service: service.clone(),
                        name: span.name,
                        kind: span.kind,
                        trace_id: hex(&span.trace_id),
                        span_id: hex(&span.span_id),
                        parent_span_id: hex(&span.parent_span_id),
                        attributes: attributes(&span.attributes),
                        status: span.status.map_or(0, |s| s.code),
                    });
                }
            }
        }
    }

    fn of_trace(&self, trace_id: &str) -> Vec<Received> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.trace_id == trace_id)
            .cloned()
            .collect()
    }

    /// Wait until a span named `name` of `trace_id` has arrived.
    async fn wait_for(&self, trace_id: &str, name: &str) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let spans = self.of_trace(trace_id);
            if spans.iter().any(|s| s.name == name) {
                return spans;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "no span {name:?} of trace {trace_id} arrived; got {spans:#?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn attributes(list: &[KeyValue]) -> HashMap<String, String> {
    list.iter()
        .filter_map(|kv| {
            let value = match kv.value.as_ref()?.value.as_ref()? {
                AnyValue::StringValue(s) => s.clone(),
                AnyValue::IntValue(i) => i.to_string(),
                AnyValue::BoolValue(b) => b.to_string(),
                AnyValue::DoubleValue(d) => d.to_string(),
                other => format!("{other:?}"),
            };
            Some((kv.key.clone(), value))
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An OTLP/HTTP receiver: `POST /v1/traces` with a protobuf body.
async fn http_receiver(collector: Collector) -> SocketAddr {
    use axum::body::Bytes;
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: Bytes| {
            let collector = collector.clone();
            async move {
                let request = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf body");
                collector.take(request);
                (
                    [("content-type", "application/x-protobuf")],
                    ExportTraceServiceResponse::default().encode_to_vec(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.take(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// An OTLP/gRPC receiver.
async fn grpc_receiver(collector: Collector) -> SocketAddr {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector))
            .serve(addr)
            .await
            .unwrap()
    });
    let started = Instant::now();
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "gRPC receiver did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    addr
}

fn traceparent(trace_id: &str, parent: &str, sampled: bool) -> String {
    format!("00-{trace_id}-{parent}-{}", if sampled { "01" } else { "00" })
}

fn base_env(db: &TestDb, admin_port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", db.app_url()),
        ("FTRY_DATABASE_OWNER_URL", db.owner_url()),
        ("FTRY_ADMIN_ADDR", format!("127.0.0.1:{admin_port}")),
        ("FTRY_AUTH_ARGON2_MEMORY_KIB", "1024".into()),
        ("FTRY_AUTH_ARGON2_ITERATIONS", "1".into()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100".into()),
    ]
}

/// A failed login runs the named `login_lookup` statement and, with Redis
/// configured, the rate limiter's Redis command.
async fn failed_login(ftry: &FtryProcess, request_id: &str, traceparent: &str) {
    let response = reqwest::Client::new()
        .post(ftry.url("/api/v1/auth/login"))
        .header("traceparent", traceparent)
        .header("x-request-id", request_id)
        .json(&serde_json::json!({"email": "nobody@example.com", "password": "not-the-password-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn http_protobuf_export_continues_the_callers_trace_with_database_and_redis_spans() {
    let db = TestDb::create().await;
    let redis = TestRedis::start();
    let collector = Collector::default();
    let receiver = http_receiver(collector.clone()).await;
    let root = traversable_tempdir();
    let admin_port = free_port();
    let mut envs = base_env(&db, admin_port);
    envs.extend([
        ("REDIS_URL", redis.url()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{receiver}")),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".into()),
        ("OTEL_SERVICE_NAME", "ftry-under-test".into()),
    ]);
    let mut ftry = FtryProcess::serve(&envs, root.path());
    ftry.wait_ready(Duration::from_secs(60)).await;

    let sampled_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    failed_login(
        &ftry,
        "traced-login",
        &traceparent(sampled_trace, caller_span, true),
    )
    .await;
    // The caller decided not to sample: nothing of this trace may leave.
    let unsampled_trace = "0af7651916cd43dd8448eb211c80319c";
    failed_login(
        &ftry,
        "untraced-login",
        &traceparent(unsampled_trace, "b7ad6b7169203331", false),
    )
    .await;

    let spans = collector.wait_for(sampled_trace, "POST /api/v1/auth/login").await;
    let server = spans
        .iter()
        .find(|s| s.name == "POST /api/v1/auth/login")
        .unwrap();
    assert_eq!(server.kind, SERVER);
    assert_eq!(
        server.parent_span_id, caller_span,
        "the caller's span is the parent"
    );
    assert_eq!(server.service, "ftry-under-test");
    assert_eq!(server.attributes["http.request.method"], "POST");
    assert_eq!(server.attributes["http.route"], "/api/v1/auth/login");
    assert_eq!(server.attributes["http.response.status_code"], "401");
    assert_eq!(server.attributes["request_id"], "traced-login");
    assert_eq!(server.status, 0, "a 4xx is the caller's error, not the server's");

    // Children arrive in the same or a later batch than the server span's
    // end (they end first): wait for the statement too.
    let spans = collector.wait_for(sampled_trace, "login_lookup").await;
    let children_of = |parent: &str| -> Vec<Received> {
        let mut children: Vec<Received> = spans
            .iter()
            .filter(|s| s.parent_span_id == parent)
            .cloned()
            .collect();
        children.sort_by(|a, b| a.name.cmp(&b.name));
        children
    };
    let children = children_of(&server.span_id);
    let names: Vec<&str> = children.iter().map(|s| s.name.as_str()).collect();
    // The account lookup's connection and statement, the unknown-login
    // record's connection, and the rate limiter's two buckets (address and
    // account) in Redis.
    assert_eq!(
        names,
        [
            "login_lookup",
            "pool acquire",
            "pool acquire",
            "rate_limit",
            "rate_limit"
        ],
        "{children:#?}"
    );
    let lookup = &children[0];
    assert_eq!(lookup.kind, CLIENT);
    assert_eq!(lookup.attributes["db.system.name"], "postgresql");
    assert_eq!(lookup.attributes["db.operation.name"], "login_lookup");
    assert!(
        !lookup
            .attributes
            .values()
            .any(|v| v.contains("nobody@example.com")),
        "no parameter is recorded: {lookup:#?}"
    );
    assert_eq!(children[1].attributes["db.client.connection.pool.name"], "app");
    for limiter in &children[3..] {
        assert_eq!(limiter.kind, CLIENT);
        assert_eq!(limiter.attributes["db.system.name"], "redis");
        assert_eq!(limiter.attributes["db.operation.name"], "rate_limit");
    }
    assert!(
        spans.iter().all(|s| s.trace_id == sampled_trace),
        "one trace: {spans:#?}"
    );

    // The receiver holds the spans before its answer reaches ftry, which
    // counts them then.
    let received = collector.0.lock().unwrap().len();
    let metrics = scrape_until(admin_port, "exported = received", |text| {
        sample(text, "ftry_trace_spans_exported_total", "") == Some(received as f64)
    })
    .await;
    assert_eq!(
        sample(
            &metrics,
            "ftry_trace_spans_dropped_total",
            r#"reason="export_failed""#
        ),
        Some(0.0)
    );

    ftry.signal(Signal::SIGTERM);
    assert_eq!(ftry.wait_exit(Duration::from_secs(30)).code(), Some(0));
    // Everything queued was sent at exit; the unsampled trace never was.
    assert_eq!(collector.of_trace(unsampled_trace).len(), 0);

    let lines: Vec<serde_json::Value> = ftry
        .stdout_lines()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |request_id: &str| -> Vec<&serde_json::Value> {
        lines.iter().filter(|l| l["request_id"] == request_id).collect()
    };
    let traced = of("traced-login");
    assert!(!traced.is_empty());
    for line in &traced {
        assert_eq!(line["trace_id"], sampled_trace, "{line}");
        assert_eq!(line["span_id"], server.span_id.as_str(), "{line}");
        assert_eq!(line.get("otel.name"), None, "{line}");
    }
    let untraced = of("untraced-login");
    assert!(!untraced.is_empty());
    for line in &untraced {
        assert_eq!(
            line["trace_id"], unsampled_trace,
            "ids are logged whether or not sampled: {line}"
        );
    }
}

#[tokio::test]
async fn grpc_export_delivers_the_request_tree() {
    let db = TestDb::create().await;
    let collector = Collector::default();
    let receiver = grpc_receiver(collector.clone()).await;
    let root = traversable_tempdir();
    let admin_port = free_port();
    let mut envs = base_env(&db, admin_port);
    envs.extend([
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", format!("http://{receiver}")),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".into()),
    ]);
    let mut ftry = FtryProcess::serve(&envs, root.path());
    ftry.wait_ready(Duration::from_secs(60)).await;

    let trace = "5cf92f3577b34da6a3ce929d0e0e4737";
    let caller_span = "10f067aa0ba902b8";
    failed_login(&ftry, "grpc-login", &traceparent(trace, caller_span, true)).await;
    let spans = collector.wait_for(trace, "login_lookup").await;
    let spans = if spans.iter().any(|s| s.name == "POST /api/v1/auth/login") {
        spans
    } else {
        collector.wait_for(trace, "POST /api/v1/auth/login").await
    };
    let server = spans
        .iter()
        .find(|s| s.name == "POST /api/v1/auth/login")
        .unwrap();
    assert_eq!(server.parent_span_id, caller_span);
    assert_eq!(server.service, "ftry");
    let lookup = spans.iter().find(|s| s.name == "login_lookup").unwrap();
    assert_eq!(lookup.parent_span_id, server.span_id);
    // No Redis configured: no Redis span.
    assert!(!spans
        .iter()
        .any(|s| s.attributes.get("db.system.name").map(String::as_str) == Some("redis")));

    ftry.signal(Signal::SIGTERM);
    assert_eq!(ftry.wait_exit(Duration::from_secs(30)).code(), Some(0));
}

#[tokio::test]
async fn a_collector_that_cannot_be_reached_costs_spans_not_requests() {
    let db = TestDb::create().await;
    let root = traversable_tempdir();
    let admin_port = free_port();
    let mut envs = base_env(&db, admin_port);
    envs.extend([
        // Nothing listens there.
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{}", free_port()),
        ),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "500".into()),
        ("OTEL_TRACES_SAMPLER", "always_on".into()),
    ]);
    let mut ftry = FtryProcess::serve(&envs, root.path());
    ftry.wait_ready(Duration::from_secs(60)).await;
    let client = reqwest::Client::new();
    for _ in 0..5 {
        let response = client.get(ftry.url("/health/live")).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
    // Every sampled span ends up counted as dropped, none as exported.
    let started = Instant::now();
    loop {
        let metrics = scrape_port(admin_port).await;
        assert_eq!(sample(&metrics, "ftry_trace_spans_exported_total", ""), Some(0.0));
        let dropped = sample(
            &metrics,
            "ftry_trace_spans_dropped_total",
            r#"reason="export_failed""#,
        )
        .unwrap();
        if dropped >= 5.0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "spans not counted as dropped: {dropped}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ftry.signal(Signal::SIGTERM);
    assert_eq!(ftry.wait_exit(Duration::from_secs(30)).code(), Some(0));
    let warnings = ftry
        .stdout_lines()
        .into_iter()
        .filter(|l| l.contains("trace export failed"))
        .count();
    assert_eq!(
        warnings, 1,
        "one warning a minute at most while the collector is down"
    );
}

#[tokio::test]
async fn a_sampler_setting_that_cannot_be_understood_stops_startup() {
    let root = traversable_tempdir();
    let output = support::ftry_command()
        .arg("serve")
        .current_dir(root.path())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
        .env("OTEL_TRACES_SAMPLER", "sometimes")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with("ftry: OTEL_TRACES_SAMPLER=sometimes: expected one of"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_job_runs_in_the_trace_of_the_request_that_enqueued_it() {
    let db = TestDb::create().await;
    let collector = Collector::default();
    let receiver = http_receiver(collector.clone()).await;
    let root = traversable_tempdir();
    let admin_port = free_port();
    let mut envs = base_env(&db, admin_port);
    envs.extend([
        ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{receiver}")),
        ("FTRY_JOBS_POLL_INTERVAL_MS", "50".into()),
        // Mail is delivered by a job; the server is closed, which makes no
        // difference to the job's first attempt being traced.
        (
            "FTRY_NOTIFICATIONS_SMTP_URL",
            format!("smtp://127.0.0.1:{}", free_port()),
        ),
    ]);
    let mut ftry = FtryProcess::serve(&envs, root.path());
    ftry.wait_ready(Duration::from_secs(60)).await;
    let client = reqwest::Client::new();
    let signup = client
        .post(ftry.url("/api/v1/auth/signup"))
        .json(&serde_json::json!({
            "business_name": "Trace Salon",
            "location": {"name": "Main branch", "state_code": "27", "address": "FC Road, Pune"},
            "owner": {"name": "Asha Patil", "email": "asha.trace@example.com", "password": "saffron-mirror-lantern-42"},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(signup.status(), 201);

    let trace = "5c3f7e9a1b2d4c6e8f0a1b2c3d4e5f60";
    let reset = client
        .post(ftry.url("/api/v1/auth/password-reset"))
        .header("traceparent", traceparent(trace, "1a2b3c4d5e6f7a8b", true))
        .json(&serde_json::json!({"email": "asha.trace@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 202);

    // The mail's delivery job runs later, on the worker, in the same trace.
    let spans = collector.wait_for(trace, "mail.deliver").await;
    let request = spans
        .iter()
        .find(|s| s.name == "POST /api/v1/auth/password-reset")
        .expect("the request's span");
    let job = spans.iter().find(|s| s.name == "mail.deliver").unwrap();
    assert_eq!(job.kind, CONSUMER);
    assert_eq!(job.trace_id, trace);
    let of_request: Vec<&str> = spans
        .iter()
        .filter(|s| s.span_id == request.span_id || s.parent_span_id == request.span_id)
        .map(|s| s.span_id.as_str())
        .collect();
    assert!(
        of_request.contains(&job.parent_span_id.as_str()),
        "the job's parent is the request or one of its spans: {spans:#?}"
    );
    ftry.signal(Signal::SIGTERM);
    assert_eq!(ftry.wait_exit(Duration::from_secs(30)).code(), Some(0));
}
