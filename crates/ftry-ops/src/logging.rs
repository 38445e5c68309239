//! Structured logs: JSON lines on stdout for Loki, or a human-readable format
//! for local use.
//!
//! Every JSON line is one object with `timestamp`, `level`, `target`,
//! `message`, the event's own fields and the fields of every enclosing span
//! (request id, method, route template...) flattened to the top level, so a
//! log query can filter on `request_id` directly.

use std::io::Write;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Json,
    Pretty,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// `json` (one object per line) or `pretty` (for a terminal).
    pub format: LogFormat,
    /// A tracing filter directive, e.g. `info` or `info,ftry_api=debug`.
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Json,
            level: "info".into(),
        }
    }
}

impl LogSettings {
    pub fn filter(&self) -> Result<EnvFilter, String> {
        EnvFilter::try_new(&self.level)
            .map_err(|e| format!("log.level: {e}; expected a filter such as `info` or `info,ftry_api=debug`"))
    }
}

/// Where log lines go: the service logs to stdout; one-shot commands log to
/// stderr so their stdout stays their result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTarget {
    Stdout,
    Stderr,
}

/// Install the global subscriber: the log lines, filtered by `log.level`;
/// given a tracer, spans at `info` and above for OpenTelemetry, and given an
/// error reporter, every ERROR event as a report, whatever the log level.
pub fn init(
    settings: &LogSettings,
    target: LogTarget,
    tracer: Option<opentelemetry_sdk::trace::Tracer>,
    errors: Option<crate::error_reporting::ErrorReports>,
) -> Result<(), String> {
    let filter = settings.filter()?;
    let errors = errors.map(|e| e.with_filter(tracing_subscriber::filter::LevelFilter::INFO));
    let traces = tracer.map(|tracer| {
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_threads(false)
            .with_tracked_inactivity(false)
            .with_filter(tracing_subscriber::filter::LevelFilter::INFO)
    });
    let registry = tracing_subscriber::registry().with(traces).with(errors);
    let writer = move || -> Box<dyn Write> {
        match target {
            LogTarget::Stdout => Box::new(std::io::stdout()),
            LogTarget::Stderr => Box::new(std::io::stderr()),
        }
    };
    let result = match settings.format {
        LogFormat::Json => registry
            .with(JsonLayer::new(writer).with_filter(filter))
            .try_init(),
        LogFormat::Pretty => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_target(true)
                    .with_writer(writer)
                    .with_filter(filter),
            )
            .try_init(),
    };
    result.map_err(|e| format!("cannot install the log subscriber: {e}"))
}

/// Writes one JSON object per event.
pub struct JsonLayer<W> {
    make_writer: W,
    // One line must never interleave with another.
    lock: Mutex<()>,
}

impl<W> JsonLayer<W> {
    pub fn new(make_writer: W) -> Self {
        Self {
            make_writer,
            lock: Mutex::new(()),
        }
    }
}

/// A span's recorded fields, kept in its extensions.
struct SpanFields(Map<String, Value>);

/// Records fields into a line; `otel.*` fields steer the trace exporter
/// (span name, kind, status) and are not part of the log.
struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl JsonVisitor<'_> {
    fn insert(&mut self, field: &Field, value: Value) {
        if !field.name().starts_with("otel.") {
            self.0.insert(field.name().into(), value);
        }
    }
}

impl Visit for JsonVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.insert(field, Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.insert(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.insert(field, Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.insert(field, Value::from(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.insert(field, Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.insert(field, Value::from(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.insert(field, Value::from(format!("{value:?}")));
    }
}

impl<S, W> Layer<S> for JsonLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'a> MakeWriter<'a> + 'static,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: Context<'_, S>,
    ) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Map::new();
        attrs.record(&mut JsonVisitor(&mut fields));
        span.extensions_mut().insert(SpanFields(fields));
    }

    fn on_record(&self, id: &tracing::span::Id, values: &tracing::span::Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(SpanFields(fields)) = extensions.get_mut::<SpanFields>() {
            values.record(&mut JsonVisitor(fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut line = Map::new();
        line.insert(
            "timestamp".into(),
            Value::from(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        );
        line.insert("level".into(), Value::from(meta.level().as_str()));
        line.insert("target".into(), Value::from(meta.target()));
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(SpanFields(fields)) = span.extensions().get::<SpanFields>() {
                    line.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
        }
        event.record(&mut JsonVisitor(&mut line));
        let Ok(mut text) = serde_json::to_vec(&line) else {
            return;
        };
        text.push(b'\n');
        let _guard = self.lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // A log line that cannot be written has nowhere to be reported.
        let _ = self.make_writer.make_writer().write_all(&text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    #[test]
    fn span_fields_are_flattened_into_each_line() {
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::registry().with(JsonLayer::new(buffer.clone()));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(
                "request",
                request_id = "r-1",
                route = tracing::field::Empty,
                otel.kind = "server"
            );
            let _entered = span.enter();
            span.record("route", "/health/live");
            tracing::warn!(status = 404u64, "request completed");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1);
        let line: Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["message"], "request completed");
        assert_eq!(line["request_id"], "r-1");
        assert_eq!(line["route"], "/health/live");
        assert_eq!(line["status"], 404);
        assert_eq!(line.get("otel.kind"), None, "exporter hints are not logged");
        assert_eq!(line["target"], "ftry_ops::logging::tests");
        assert!(line["timestamp"].as_str().unwrap().ends_with('Z'));
    }
}
