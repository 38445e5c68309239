//! Error reports to a Sentry-compatible endpoint: every ERROR-level event of
//! the service becomes one event in the Sentry envelope format, off unless a
//! DSN is configured (`error_reporting.dsn`, `FTRY_ERROR_REPORTING_DSN` or
//! the usual `SENTRY_DSN`).
//!
//! A report carries the message, the event's own fields, the logger (the
//! module), the release and environment, and as tags only the request's
//! identifiers (`request_id`, `method`, `route`, `status`, `tenant_id`,
//! `user_id`, `trace_id`). Free text is scrubbed of e-mail addresses and
//! phone-like digit runs; request headers, bodies and client addresses never
//! reach a report. Reports leave from a small queue that no request waits
//! on, at most [`PER_MINUTE`] a minute; what cannot be sent is counted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use tokio::sync::{mpsc, oneshot};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// Reports sent in one minute at most; more are dropped and counted.
pub const PER_MINUTE: u64 = 60;
const QUEUE_CAPACITY: usize = 64;
/// The request span's fields that may become tags.
const TAGS: [&str; 7] = [
    "request_id",
    "method",
    "route",
    "status",
    "tenant_id",
    "user_id",
    "trace_id",
];

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ErrorReportingSettings {
    /// `https://<key>@<host>/<project>`; unset = no reports.
    pub dsn: Option<Dsn>,
    /// The `environment` of every report.
    pub environment: String,
}

impl Default for ErrorReportingSettings {
    fn default() -> Self {
        Self {
            dsn: None,
            environment: "production".into(),
        }
    }
}

/// A Sentry DSN: where envelopes go and the key that authorizes them. The
/// key is redacted wherever the configuration is printed.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Dsn {
    key: String,
    /// `scheme://host[:port][/prefix]/api/<project>/envelope/`
    envelope_url: String,
    redacted: String,
}

impl TryFrom<String> for Dsn {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let expected = "expected a DSN such as https://<key>@errors.example.com/<project id>";
        let url = url::Url::parse(&text).map_err(|_| expected.to_owned())?;
        let key = url.username();
        let host = url.host_str().filter(|h| !h.is_empty());
        let (Some(host), false, true) = (host, key.is_empty(), matches!(url.scheme(), "http" | "https"))
        else {
            return Err(expected.into());
        };
        let path = url.path().trim_end_matches('/');
        let (prefix, project) = path.rsplit_once('/').ok_or(expected)?;
        if project.is_empty() || !project.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(expected.into());
        }
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        let origin = format!("{}://{host}{port}", url.scheme());
        Ok(Self {
            key: key.to_owned(),
            envelope_url: format!("{origin}{prefix}/api/{project}/envelope/"),
            redacted: format!("{}://REDACTED@{host}{port}{path}", url.scheme()),
        })
    }
}

impl std::fmt::Debug for Dsn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted)
    }
}

impl Serialize for Dsn {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.redacted)
    }
}

/// What became of the error reports, for `/metrics`.
#[derive(Clone)]
pub struct ReportStats {
    reports: Family<OutcomeLabel, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

impl ReportStats {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "ftry_error_reports",
            "Error reports: sent (accepted by the endpoint), failed (endpoint unreachable or refusing) \
             or dropped (queue full or over the per-minute cap)",
            self.reports.clone(),
        );
    }

    fn count(&self, outcome: &'static str) {
        self.reports.get_or_create(&OutcomeLabel { outcome }).inc();
    }
}

pub fn stats() -> &'static ReportStats {
    static STATS: LazyLock<ReportStats> = LazyLock::new(|| {
        let stats = ReportStats {
            reports: Family::default(),
        };
        for outcome in ["sent", "failed", "dropped"] {
            let _ = stats.reports.get_or_create(&OutcomeLabel { outcome });
        }
        stats
    });
    &STATS
}

enum Message {
    Report(Box<Value>),
    Flush(oneshot::Sender<()>),
}

/// The layer that turns ERROR events into reports, and the handle to flush
/// them at shutdown.
#[derive(Clone)]
pub struct ErrorReports {
    sender: mpsc::Sender<Message>,
    release: String,
    environment: String,
    window: std::sync::Arc<RateWindow>,
}

impl ErrorReports {
    /// Start the sender; must run inside the Tokio runtime. `None` when no
    /// DSN is configured.
    pub fn start(settings: &ErrorReportingSettings, version: &str) -> Result<Option<Self>, String> {
        let Some(dsn) = settings.dsn.clone() else {
            return Ok(None);
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("error reporting HTTP client: {e}"))?;
        let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(deliver(client, dsn, version.to_owned(), receiver));
        Ok(Some(Self {
            sender,
            release: format!("ftry@{version}"),
            environment: settings.environment.clone(),
            window: Default::default(),
        }))
    }

    /// Send what is queued, waiting at most `within`.
    pub async fn flush(&self, within: Duration) {
        let (done, flushed) = oneshot::channel();
        if self.sender.send(Message::Flush(done)).await.is_ok() {
            let _ = tokio::time::timeout(within, flushed).await;
        }
    }

    fn event(
        &self,
        meta: &tracing::Metadata<'_>,
        fields: Map<String, Value>,
        request: Option<&Map<String, Value>>,
    ) -> Value {
        let mut extra = fields;
        let message = match extra.remove("message") {
            Some(Value::String(m)) => m,
            Some(other) => other.to_string(),
            None => meta.name().to_owned(),
        };
        for value in extra.values_mut() {
            if let Value::String(text) = value {
                *text = scrub(text);
            }
        }
        let mut tags = Map::new();
        let mut trace = None;
        if let Some(request) = request {
            for key in TAGS {
                if let Some(value) = request.get(key).or_else(|| extra.get(key)) {
                    let text = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
                    tags.insert(key.into(), Value::from(text));
                }
            }
            if let (Some(trace_id), Some(span_id)) = (request.get("trace_id"), request.get("span_id")) {
                trace = Some(json!({"trace_id": trace_id, "span_id": span_id}));
            }
        }
        let mut event = json!({
            "event_id": uuid::Uuid::now_v7().simple().to_string(),
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "platform": "other",
            "level": "error",
            "logger": meta.target(),
            "message": {"formatted": scrub(&message)},
            "release": self.release,
            "environment": self.environment,
            "tags": tags,
            "extra": extra,
        });
        if let Some(trace) = trace {
            event["contexts"] = json!({ "trace": trace });
        }
        event
    }
}

/// A fixed one-minute window of sends.
#[derive(Default)]
struct RateWindow {
    minute: AtomicU64,
    count: AtomicU64,
}

impl RateWindow {
    fn admit(&self) -> bool {
        let minute = chrono::Utc::now().timestamp() as u64 / 60;
        if self.minute.swap(minute, Ordering::Relaxed) != minute {
            self.count.store(0, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed) < PER_MINUTE
    }
}

async fn deliver(client: reqwest::Client, dsn: Dsn, version: String, mut receiver: mpsc::Receiver<Message>) {
    let auth = format!(
        "Sentry sentry_version=7, sentry_client=ftry/{version}, sentry_key={}",
        dsn.key
    );
    let mut warned_at: Option<tokio::time::Instant> = None;
    while let Some(message) = receiver.recv().await {
        let event = match message {
            Message::Report(event) => event,
            Message::Flush(done) => {
                let _ = done.send(());
                continue;
            }
        };
        let body = envelope(&event);
        let outcome = client
            .post(&dsn.envelope_url)
            .header("content-type", "application/x-sentry-envelope")
            .header("x-sentry-auth", &auth)
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| match r.status().is_success() {
                true => Ok(()),
                false => Err(format!("HTTP {}", r.status().as_u16())),
            });
        match outcome {
            Ok(()) => stats().count("sent"),
            Err(error) => {
                stats().count("failed");
                let now = tokio::time::Instant::now();
                if warned_at.is_none_or(|at| now.duration_since(at) >= Duration::from_secs(60)) {
                    warned_at = Some(now);
                    // WARN, not ERROR: this line must not report itself.
                    tracing::warn!(error = %error, "error report not delivered");
                }
            }
        }
    }
}

/// One event in the envelope format: a header line, an item header line
/// with the payload's length, and the payload.
pub fn envelope(event: &Value) -> Vec<u8> {
    let payload = serde_json::to_vec(event).unwrap_or_default();
    let header = json!({
        "event_id": event["event_id"],
        "sent_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    });
    let item = json!({"type": "event", "length": payload.len()});
    let mut body = Vec::with_capacity(payload.len() + 160);
    for part in [
        header.to_string().into_bytes(),
        item.to_string().into_bytes(),
        payload,
    ] {
        body.extend_from_slice(&part);
        body.push(b'\n');
    }
    body
}

/// Replace e-mail addresses and runs of seven or more digits (phone
/// numbers, with spaces, dashes or a leading `+` between them) in free text.
pub fn scrub(text: &str) -> String {
    scrub_digit_runs(&scrub_addresses(text))
}

/// `local@domain.tld` → `[email]`, wherever it stands in the text.
fn scrub_addresses(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let local = |c: &char| c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-');
    let domain = |c: &char| c.is_alphanumeric() || matches!(c, '.' | '-');
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (at, _) in chars.iter().enumerate().filter(|(_, c)| **c == '@') {
        let start = (copied..at).rev().take_while(|&i| local(&chars[i])).last();
        let end = (at + 1..chars.len()).take_while(|&i| domain(&chars[i])).last();
        let (Some(start), Some(end)) = (start, end) else {
            continue;
        };
        let host: String = chars[at + 1..=end].iter().collect();
        if !host.trim_end_matches('.').contains('.') {
            continue;
        }
        out.extend(&chars[copied..start]);
        out.push_str("[email]");
        copied = end + 1;
        if host.ends_with('.') {
            // A sentence's full stop is not part of the address.
            out.push('.');
        }
    }
    out.extend(&chars[copied..]);
    out
}

fn scrub_digit_runs(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit()
            || (chars[i] == '+' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            // The longest run of digits joined by single separators.
            let mut end = i;
            let mut digits = 0;
            let mut j = i;
            while j < chars.len() {
                if chars[j].is_ascii_digit() {
                    digits += 1;
                    end = j + 1;
                    j += 1;
                } else if (j == i && chars[j] == '+')
                    || (matches!(chars[j], ' ' | '-') && chars.get(j + 1).is_some_and(char::is_ascii_digit))
                {
                    j += 1;
                } else {
                    break;
                }
            }
            if digits >= 7 {
                out.push_str("[number]");
            } else {
                out.extend(&chars[i..end]);
            }
            i = end.max(i + 1);
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// The request span's fields, kept for the reports raised inside it.
struct RequestFields {
    fields: Map<String, Value>,
    reported: bool,
}

struct Collect<'a>(&'a mut Map<String, Value>);

impl Visit for Collect<'_> {
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if !field.name().starts_with("otel.") {
            self.0
                .insert(field.name().into(), Value::from(format!("{value:?}")));
        }
    }
}

impl<S> Layer<S> for ErrorReports
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: Context<'_, S>,
    ) {
        if attrs.metadata().name() != "request" {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Map::new();
        attrs.record(&mut Collect(&mut fields));
        span.extensions_mut().insert(RequestFields {
            fields,
            reported: false,
        });
    }

    fn on_record(&self, id: &tracing::span::Id, values: &tracing::span::Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(request) = extensions.get_mut::<RequestFields>() {
            values.record(&mut Collect(&mut request.fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        if *meta.level() != Level::ERROR {
            return;
        }
        let mut fields = Map::new();
        event.record(&mut Collect(&mut fields));
        let request_span = ctx.event_scope(event).and_then(|scope| {
            scope
                .from_root()
                .find(|s| s.extensions().get::<RequestFields>().is_some())
        });
        let report = match &request_span {
            Some(span) => {
                let mut extensions = span.extensions_mut();
                let Some(request) = extensions.get_mut::<RequestFields>() else {
                    return;
                };
                // A failed request is one report: its access-log line adds
                // nothing to the error already reported inside it.
                let access_line = fields.get("message").and_then(Value::as_str) == Some("request completed");
                if access_line && request.reported {
                    return;
                }
                request.reported = true;
                let mut request_fields = request.fields.clone();
                if let Some(status) = fields.get("status") {
                    request_fields.insert("status".into(), status.clone());
                }
                self.event(meta, fields, Some(&request_fields))
            }
            None => self.event(meta, fields, None),
        };
        if !self.window.admit() || self.sender.try_send(Message::Report(Box::new(report))).is_err() {
            stats().count("dropped");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dsn_gives_the_envelope_endpoint_and_hides_its_key() {
        let dsn = Dsn::try_from("https://abc123@errors.example.com/42".to_owned()).unwrap();
        assert_eq!(dsn.envelope_url, "https://errors.example.com/api/42/envelope/");
        assert_eq!(dsn.key, "abc123");
        assert_eq!(format!("{dsn:?}"), "https://REDACTED@errors.example.com/42");
        let prefixed = Dsn::try_from("http://k@127.0.0.1:9000/sentry/7".to_owned()).unwrap();
        assert_eq!(
            prefixed.envelope_url,
            "http://127.0.0.1:9000/sentry/api/7/envelope/"
        );
        for bad in [
            "errors.example.com/42",
            "https://errors.example.com/42",
            "https://k@errors.example.com/",
            "ftp://k@h/1",
        ] {
            assert!(Dsn::try_from(bad.to_owned()).is_err(), "{bad}");
        }
    }

    #[test]
    fn addresses_and_phone_numbers_are_scrubbed_from_free_text() {
        assert_eq!(
            scrub("Key (email)=(asha.rao@example.com) already exists"),
            "Key (email)=([email]) already exists"
        );
        assert_eq!(scrub("call +91 98765 43210 now"), "call [number] now");
        assert_eq!(scrub("phone 9876543210."), "phone [number].");
        assert_eq!(scrub("to a@b.co, c.d+x@mail.example.in."), "to [email], [email].");
        assert_eq!(scrub("user@localhost and @handle"), "user@localhost and @handle");
        assert_eq!(
            scrub("retry in 30 s, 2 of 5, code 23505"),
            "retry in 30 s, 2 of 5, code 23505"
        );
    }

    #[test]
    fn an_envelope_is_three_lines_with_the_payload_length() {
        let event = json!({"event_id": "0123456789abcdef0123456789abcdef", "level": "error"});
        let body = envelope(&event);
        let text = String::from_utf8(body).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        let header: Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(header["event_id"], "0123456789abcdef0123456789abcdef");
        let item: Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(item["type"], "event");
        assert_eq!(item["length"], lines[2].len());
        assert_eq!(serde_json::from_str::<Value>(lines[2]).unwrap(), event);
    }
}
