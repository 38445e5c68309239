//! Traces: OpenTelemetry over OTLP, configured only by the standard
//! `OTEL_*` environment variables and off unless an endpoint is set.
//!
//! Spans come from `tracing`: the request span (see `ftry_api::observe`),
//! the named database statements, pool acquires and Redis commands. They are
//! sampled parent-based (a caller's W3C `traceparent` decides; a trace that
//! starts here is kept with probability 0.1 unless `OTEL_TRACES_SAMPLER_ARG`
//! says otherwise) and leave through a bounded queue that a request never
//! waits on: when it is full, or the collector cannot be reached, spans are
//! dropped and counted in `ftry_trace_spans_dropped_total`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::LazyLock;
use std::time::Duration;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, SpanData, SpanExporter, SpanProcessor};
use opentelemetry_sdk::Resource;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use tokio::sync::{mpsc, oneshot};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Spans waiting for export at most; past this they are dropped.
const QUEUE_CAPACITY: usize = 4096;
/// Spans in one export request at most.
const BATCH_SIZE: usize = 512;
/// The ratio of new traces kept when `OTEL_TRACES_SAMPLER_ARG` is unset.
const DEFAULT_RATIO: f64 = 0.1;

/// Whether a tracer is installed: without one the request path skips the
/// trace work entirely.
static TRACING_ON: AtomicBool = AtomicBool::new(false);

/// Which traces are kept.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampling {
    AlwaysOn,
    AlwaysOff,
    Ratio(f64),
}

/// The trace settings read from the environment.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceSettings {
    pub protocol: Protocol,
    /// Follow the caller's sampling decision when a `traceparent` came in.
    pub parent_based: bool,
    pub sampling: Sampling,
    /// How long a span may wait in the queue before its batch is sent.
    pub schedule_delay: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    HttpProtobuf,
    Grpc,
}

impl TraceSettings {
    /// Read the standard variables through `var`; `Ok(None)` when tracing is
    /// off (no OTLP endpoint, `OTEL_TRACES_EXPORTER=none` or
    /// `OTEL_SDK_DISABLED=true`). A value that cannot be understood is an
    /// error naming the variable.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, String> {
        let set = |name: &str| var(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        if set("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            return Ok(None);
        }
        match set("OTEL_TRACES_EXPORTER").as_deref() {
            None | Some("otlp") => {}
            Some("none") => return Ok(None),
            Some(other) => {
                return Err(format!(
                "OTEL_TRACES_EXPORTER={other}: ftry exports traces over OTLP only; expected `otlp` or `none`"
            ))
            }
        }
        if set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_none() && set("OTEL_EXPORTER_OTLP_ENDPOINT").is_none()
        {
            return Ok(None);
        }
        let (protocol_var, protocol) = match set("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") {
            Some(p) => ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", Some(p)),
            None => ("OTEL_EXPORTER_OTLP_PROTOCOL", set("OTEL_EXPORTER_OTLP_PROTOCOL")),
        };
        let protocol = match protocol.as_deref() {
            None | Some("http/protobuf") => Protocol::HttpProtobuf,
            Some("grpc") => Protocol::Grpc,
            Some(other) => {
                return Err(format!(
                    "{protocol_var}={other}: expected `http/protobuf` or `grpc`"
                ));
            }
        };
        let ratio = match set("OTEL_TRACES_SAMPLER_ARG") {
            None => DEFAULT_RATIO,
            Some(arg) => match arg.parse::<f64>() {
                Ok(r) if (0.0..=1.0).contains(&r) => r,
                _ => {
                    return Err(format!(
                        "OTEL_TRACES_SAMPLER_ARG={arg}: expected a ratio between 0 and 1, such as 0.1"
                    ))
                }
            },
        };
        let (parent_based, sampling) = match set("OTEL_TRACES_SAMPLER").as_deref() {
            None | Some("parentbased_traceidratio") => (true, Sampling::Ratio(ratio)),
            Some("parentbased_always_on") => (true, Sampling::AlwaysOn),
            Some("parentbased_always_off") => (true, Sampling::AlwaysOff),
            Some("traceidratio") => (false, Sampling::Ratio(ratio)),
            Some("always_on") => (false, Sampling::AlwaysOn),
            Some("always_off") => (false, Sampling::AlwaysOff),
            Some(other) => {
                return Err(format!(
                    "OTEL_TRACES_SAMPLER={other}: expected one of parentbased_traceidratio, parentbased_always_on, \
                     parentbased_always_off, traceidratio, always_on, always_off"
                ))
            }
        };
        let schedule_delay = match set("OTEL_BSP_SCHEDULE_DELAY") {
            None => Duration::from_secs(5),
            Some(ms) => match ms.parse::<u64>() {
                Ok(ms) if ms > 0 => Duration::from_millis(ms),
                _ => {
                    return Err(format!(
                        "OTEL_BSP_SCHEDULE_DELAY={ms}: expected milliseconds, such as 5000"
                    ))
                }
            },
        };
        Ok(Some(Self {
            protocol,
            parent_based,
            sampling,
            schedule_delay,
        }))
    }

    fn sampler(&self) -> Sampler {
        let root = match self.sampling {
            Sampling::AlwaysOn => Sampler::AlwaysOn,
            Sampling::AlwaysOff => Sampler::AlwaysOff,
            Sampling::Ratio(r) => Sampler::TraceIdRatioBased(r),
        };
        if self.parent_based {
            Sampler::ParentBased(Box::new(root))
        } else {
            root
        }
    }
}

/// What happened to the spans this process finished, for `/metrics`.
#[derive(Clone)]
pub struct TraceStats {
    exported: Counter,
    dropped: Family<ReasonLabel, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

impl TraceStats {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "ftry_trace_spans_exported",
            "Sampled spans the trace collector accepted",
            self.exported.clone(),
        );
        registry.register(
            "ftry_trace_spans_dropped",
            "Sampled spans dropped: queue_full (export cannot keep up) or export_failed (collector unreachable or refusing)",
            self.dropped.clone(),
        );
    }

    fn drop_spans(&self, reason: &'static str, count: usize) {
        self.dropped
            .get_or_create(&ReasonLabel { reason })
            .inc_by(count as u64);
    }
}

/// The process's one set of trace counters (the tracer is process-wide too).
pub fn stats() -> &'static TraceStats {
    static STATS: LazyLock<TraceStats> = LazyLock::new(|| {
        let stats = TraceStats {
            exported: Counter::default(),
            dropped: Family::default(),
        };
        // Both reasons are present from the start, so a rate over them is
        // defined before the first drop.
        for reason in ["queue_full", "export_failed"] {
            let _ = stats.dropped.get_or_create(&ReasonLabel { reason });
        }
        stats
    });
    &STATS
}

/// A running tracer: flush it before the process exits.
pub struct Tracing {
    provider: SdkTracerProvider,
    queue: ExportQueue,
}

impl Tracing {
    /// Build the exporter and tracer. Must run inside the Tokio runtime: the
    /// export task and the gRPC channel live on it.
    pub fn start(settings: &TraceSettings, version: &str) -> Result<Self, String> {
        let resource = Resource::builder()
            .with_service_name(std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "ftry".into()))
            .with_attribute(opentelemetry::KeyValue::new(
                "service.version",
                version.to_owned(),
            ))
            .build();
        let mut exporter = match settings.protocol {
            Protocol::HttpProtobuf => opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                .with_http_client(HttpClient::new()?)
                .build(),
            Protocol::Grpc => opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_protocol(opentelemetry_otlp::Protocol::Grpc)
                .build(),
        }
        .map_err(|e| format!("OTLP trace exporter: {e}"))?;
        exporter.set_resource(&resource);
        let queue = ExportQueue::start(exporter, settings.schedule_delay);
        let provider = SdkTracerProvider::builder()
            .with_sampler(settings.sampler())
            .with_span_processor(queue.clone())
            .with_resource(resource)
            .build();
        TRACING_ON.store(true, Ordering::Relaxed);
        Ok(Self { provider, queue })
    }

    pub fn tracer(&self) -> opentelemetry_sdk::trace::Tracer {
        self.provider.tracer("ftry")
    }

    /// Send what is queued, waiting at most `within`.
    pub async fn flush(&self, within: Duration) {
        self.queue.flush(within).await;
    }
}

/// Continue the caller's trace, if its `traceparent` is well formed, and
/// record the trace and span ids on `span` (its `trace_id` and `span_id`
/// fields) so every log line of the request carries them. Does nothing when
/// tracing is off.
pub fn continue_trace(span: &tracing::Span, headers: &http::HeaderMap) {
    if !TRACING_ON.load(Ordering::Relaxed) {
        return;
    }
    let parent = TraceContextPropagator::new().extract(&opentelemetry_http::HeaderExtractor(headers));
    if parent.span().span_context().is_valid() {
        // Fails only when no tracer is installed.
        let _ = span.set_parent(parent);
    }
    let context = span.context();
    let span_ref = context.span();
    let ids = span_ref.span_context();
    if ids.is_valid() {
        span.record("trace_id", tracing::field::display(ids.trace_id()));
        span.record("span_id", tracing::field::display(ids.span_id()));
    }
}

/// The current span's W3C `traceparent`, when tracing is on and the span is
/// sampled: what a job enqueued now carries.
pub fn current_traceparent() -> Option<String> {
    if !TRACING_ON.load(Ordering::Relaxed) {
        return None;
    }
    let context = tracing::Span::current().context();
    let span_ref = context.span();
    let ids = span_ref.span_context();
    if !ids.is_valid() || !ids.is_sampled() {
        return None;
    }
    let mut headers = http::HeaderMap::new();
    TraceContextPropagator::new()
        .inject_context(&context, &mut opentelemetry_http::HeaderInjector(&mut headers));
    headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Continue the trace a stored `traceparent` names on `span` (a job's run).
pub fn adopt_traceparent(span: &tracing::Span, traceparent: &str) {
    let mut headers = http::HeaderMap::new();
    if let Ok(value) = http::HeaderValue::from_str(traceparent) {
        headers.insert("traceparent", value);
        continue_trace(span, &headers);
    }
}

/// Attach the HTTP attributes of the server span once its response is known;
/// a 5xx marks it failed.
pub fn server_span_outcome(span: &tracing::Span, method: &str, route: &str, status: u16) {
    if !TRACING_ON.load(Ordering::Relaxed) {
        return;
    }
    span.set_attribute("http.request.method", method.to_owned());
    span.set_attribute("http.route", route.to_owned());
    span.set_attribute("http.response.status_code", i64::from(status));
    if status >= 500 {
        span.set_status(opentelemetry::trace::Status::error(format!("HTTP {status}")));
    }
}

enum Message {
    Span(Box<SpanData>),
    Flush(oneshot::Sender<()>),
}

/// The span processor: a bounded queue drained by one task that exports in
/// batches of [`BATCH_SIZE`], or every `schedule_delay`.
#[derive(Clone, Debug)]
struct ExportQueue {
    sender: mpsc::Sender<Message>,
}

impl ExportQueue {
    fn start<E: SpanExporter + 'static>(exporter: E, schedule_delay: Duration) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(drain(exporter, receiver, schedule_delay));
        Self { sender }
    }

    async fn flush(&self, within: Duration) {
        let (done, flushed) = oneshot::channel();
        if self.sender.send(Message::Flush(done)).await.is_ok() {
            let _ = tokio::time::timeout(within, flushed).await;
        }
    }
}

impl SpanProcessor for ExportQueue {
    fn on_start(&self, _span: &mut opentelemetry_sdk::trace::Span, _cx: &opentelemetry::Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        if self.sender.try_send(Message::Span(Box::new(span))).is_err() {
            stats().drop_spans("queue_full", 1);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        // Never blocks: `Tracing::flush` is the waiting flush.
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

async fn drain<E: SpanExporter>(
    exporter: E,
    mut receiver: mpsc::Receiver<Message>,
    schedule_delay: Duration,
) {
    let mut batch: Vec<SpanData> = Vec::with_capacity(BATCH_SIZE);
    let mut warned_at: Option<tokio::time::Instant> = None;
    let mut tick = tokio::time::interval(schedule_delay);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let flushed = tokio::select! {
            message = receiver.recv() => match message {
                Some(Message::Span(span)) => {
                    batch.push(*span);
                    if batch.len() < BATCH_SIZE {
                        continue;
                    }
                    None
                }
                Some(Message::Flush(done)) => Some(done),
                None => return,
            },
            _ = tick.tick() => None,
        };
        if !batch.is_empty() {
            let spans = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_SIZE));
            let count = spans.len();
            match exporter.export(spans).await {
                Ok(()) => {
                    stats().exported.inc_by(count as u64);
                }
                Err(error) => {
                    stats().drop_spans("export_failed", count);
                    // One line a minute at most while the collector is down.
                    let now = tokio::time::Instant::now();
                    if warned_at.is_none_or(|at| now.duration_since(at) >= Duration::from_secs(60)) {
                        warned_at = Some(now);
                        tracing::warn!(error = %error, spans = count, "trace export failed; spans dropped");
                    }
                }
            }
        }
        if let Some(done) = flushed {
            let _ = done.send(());
        }
    }
}

/// OTLP over HTTP through reqwest (rustls, the platform's web PKI roots).
#[derive(Debug)]
struct HttpClient(reqwest::Client);

impl HttpClient {
    fn new() -> Result<Self, String> {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map(Self)
            .map_err(|e| format!("OTLP HTTP client: {e}"))
    }
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for HttpClient {
    async fn send_bytes(
        &self,
        request: http::Request<bytes::Bytes>,
    ) -> Result<http::Response<bytes::Bytes>, opentelemetry_http::HttpError> {
        let (parts, body) = request.into_parts();
        let mut builder = self.0.request(parts.method, parts.uri.to_string()).body(body);
        for (name, value) in &parts.headers {
            builder = builder.header(name, value);
        }
        let response = builder.send().await?;
        let mut out = http::Response::builder().status(response.status());
        if let Some(headers) = out.headers_mut() {
            headers.extend(response.headers().iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        let body = response.bytes().await?;
        Ok(out.body(body)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Option<TraceSettings>, String> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        TraceSettings::from_env(|name| vars.get(name).cloned())
    }

    #[test]
    fn tracing_is_off_without_an_endpoint_or_when_disabled() {
        assert_eq!(settings(&[]), Ok(None));
        assert_eq!(settings(&[("OTEL_TRACES_SAMPLER", "always_on")]), Ok(None));
        let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318");
        assert_eq!(settings(&[endpoint, ("OTEL_TRACES_EXPORTER", "none")]), Ok(None));
        assert_eq!(settings(&[endpoint, ("OTEL_SDK_DISABLED", "TRUE")]), Ok(None));
        assert_eq!(
            settings(&[endpoint, ("OTEL_EXPORTER_OTLP_ENDPOINT", "")]),
            Ok(None)
        );
    }

    #[test]
    fn the_default_is_http_protobuf_parent_based_one_in_ten() {
        let on = settings(&[(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "http://collector:4318/v1/traces",
        )])
        .unwrap()
        .unwrap();
        assert_eq!(
            on,
            TraceSettings {
                protocol: Protocol::HttpProtobuf,
                parent_based: true,
                sampling: Sampling::Ratio(0.1),
                schedule_delay: Duration::from_secs(5),
            }
        );
    }

    #[test]
    fn the_standard_variables_choose_protocol_sampler_and_delay() {
        let on = settings(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
            ("OTEL_BSP_SCHEDULE_DELAY", "250"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(on.protocol, Protocol::Grpc);
        assert!(!on.parent_based);
        assert_eq!(on.sampling, Sampling::Ratio(0.25));
        assert_eq!(on.schedule_delay, Duration::from_millis(250));
        let always = settings(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
            ("OTEL_TRACES_SAMPLER", "parentbased_always_on"),
        ])
        .unwrap()
        .unwrap();
        assert!(always.parent_based);
        assert_eq!(always.sampling, Sampling::AlwaysOn);
    }

    #[test]
    fn a_value_that_cannot_be_understood_names_its_variable() {
        let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318");
        for (var, value) in [
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_TRACES_SAMPLER", "sometimes"),
            ("OTEL_TRACES_SAMPLER_ARG", "1.5"),
            ("OTEL_TRACES_SAMPLER_ARG", "tenth"),
            ("OTEL_BSP_SCHEDULE_DELAY", "0"),
            ("OTEL_TRACES_EXPORTER", "zipkin"),
        ] {
            let error = settings(&[endpoint, (var, value)]).unwrap_err();
            assert!(error.starts_with(&format!("{var}={value}: ")), "{error}");
        }
    }
}
