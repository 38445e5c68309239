//! Request identity, the one access-log line per request, its metrics, and
//! `Server-Timing`.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::metrics::{status_class, HttpLabels};
use crate::AppState;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The request's id: the caller's `x-request-id` when it is sane, else a new UUIDv7.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl RequestId {
    fn from_header(value: Option<&HeaderValue>) -> Self {
        value
            .and_then(|v| v.to_str().ok())
            .filter(|v| is_acceptable_id(v))
            .map(|v| Self(v.to_owned()))
            .unwrap_or_else(|| Self(uuid::Uuid::now_v7().to_string()))
    }
}

/// Ids end up in logs and headers: short, printable, no spaces or quotes.
fn is_acceptable_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/' | b'+' | b'='))
}

/// Middleware: assign the request id, run the request inside a span that
/// carries it, log the outcome (2xx/3xx at info, 4xx at warn, 5xx at error)
/// and count it in the metrics. The route is the matched template, never the
/// raw path; no header, cookie or body is ever logged.
pub async fn observe(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    // Any token is a method; only the standard ones become label values.
    let method = match request.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => m,
        _ => "other",
    }
    .to_owned();
    let request_id = RequestId::from_header(request.headers().get(REQUEST_ID_HEADER));
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let span = tracing::info_span!(
        "request",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        request_id = %request_id.0,
        method = %request.method(),
        route = %route,
        tenant_id = tracing::field::Empty,
        user_id = tracing::field::Empty,
        trace_id = tracing::field::Empty,
        span_id = tracing::field::Empty,
    );
    ftry_ops::telemetry::continue_trace(&span, request.headers());
    request.extensions_mut().insert(request_id.clone());
    let in_flight = InFlight::enter(&state.metrics.http_in_flight);
    let mut response = next.run(request).instrument(span.clone()).await;
    drop(in_flight);
    if let Ok(value) = HeaderValue::from_str(&request_id.0) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let status = response.status().as_u16();
    let elapsed = started.elapsed().as_secs_f64();
    let latency_ms = (elapsed * 1_000_000.0).round() / 1000.0;
    let declared_size = response
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    ftry_ops::telemetry::server_span_outcome(&span, &method, &route, status);
    state.metrics.record_request(
        HttpLabels {
            method,
            route: route.clone(),
            status: status_class(status),
        },
        elapsed,
        declared_size,
    );
    // The server's own time, for browsers' devtools and for benchmarks.
    if let Ok(value) = HeaderValue::from_str(&format!("app;dur={latency_ms}")) {
        response.headers_mut().insert("server-timing", value);
    }
    let _entered = span.enter();
    if status >= 500 {
        tracing::error!(status, latency_ms, "request completed");
    } else if status >= 400 {
        tracing::warn!(status, latency_ms, "request completed");
    } else {
        tracing::info!(status, latency_ms, "request completed");
    }
    response
}

/// Counts a request in flight until dropped, also when the client goes away
/// and the request's future is dropped unfinished.
struct InFlight<'a>(&'a prometheus_client::metrics::gauge::Gauge);

impl<'a> InFlight<'a> {
    fn enter(gauge: &'a prometheus_client::metrics::gauge::Gauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sane_caller_id_is_kept() {
        let id = RequestId::from_header(Some(&HeaderValue::from_static("lb-1234_abc.def")));
        assert_eq!(id.0, "lb-1234_abc.def");
    }

    #[test]
    fn an_unsafe_or_oversized_caller_id_is_replaced() {
        for bad in ["has space", "quote\"", &"x".repeat(129), ""] {
            let id = RequestId::from_header(Some(&HeaderValue::from_str(bad).unwrap()));
            assert_ne!(id.0, bad);
            assert_eq!(id.0.len(), 36, "a fresh UUID replaces {bad:?}");
        }
    }
}
