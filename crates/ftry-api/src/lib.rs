//! ftry's HTTP JSON API: the router, its middleware stack and the problem
//! answers every route shares.

pub mod access;
mod appointments;
mod audit;
mod auth;
mod catalog;
pub mod client_ip;
mod clients;
pub mod cookies;
pub mod error;
mod health;
mod hooks;
mod invoice_document;
mod invoice_pdf;
mod invoices;
mod messaging;
pub mod metrics;
mod notifications;
pub mod observe;
pub mod openapi;
mod platform;
pub mod problem;
mod products;
mod public;
pub mod rate_limit;
mod reports;
mod roles;
mod security_headers;
mod staff;
mod tenant;
mod users;
mod webhooks;

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use ftry_ops::redis::RedisHandle;
use ftry_store::Pools;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::timeout::TimeoutLayer;

use crate::problem::Problem;
use crate::rate_limit::{RateLimitSettings, RateLimiter};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// Address the public listener binds.
    pub addr: SocketAddr,
    /// Largest accepted request body.
    pub body_limit_bytes: usize,
    /// A request still running after this long is answered 503.
    pub request_timeout_secs: u64,
    /// Origins allowed to call the API from a browser; empty = CORS closed.
    pub cors_origins: Vec<String>,
    /// Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Timeout of each readiness check.
    pub check_timeout_ms: u64,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            body_limit_bytes: 1024 * 1024,
            request_timeout_secs: 30,
            cors_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            check_timeout_ms: 2000,
        }
    }
}

/// The settings the API layer reads.
#[derive(Debug, Clone, Default)]
pub struct ApiSettings {
    pub http: HttpSettings,
    pub rate_limit: RateLimitSettings,
    /// The running build, for `ftry_build_info`.
    pub build: BuildInfo,
}

/// What `ftry version` prints: the release and the commit it was built from.
#[derive(Debug, Clone, Default)]
pub struct BuildInfo {
    pub version: &'static str,
    pub git_sha: &'static str,
}

/// Shared state of one node: everything here is either immutable or a
/// connection to shared infrastructure; nothing a second node needs lives
/// only in this process (rate limits fall back to local memory only while
/// Redis is unreachable).
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub settings: ApiSettings,
    pub app: ftry_app::App,
    pub access: access::AccessTable,
    pub pools: Pools,
    pub redis: Option<RedisHandle>,
    pub limiter: RateLimiter,
    /// Set when shutdown begins: readiness answers 503 from then on.
    pub shutting_down: AtomicBool,
    pub metrics: metrics::Metrics,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Fails when a route's access declaration is missing or malformed.
    pub fn new(
        settings: ApiSettings,
        app: ftry_app::App,
        redis: Option<RedisHandle>,
    ) -> Result<Self, access::AccessError> {
        let access = access::AccessTable::from_openapi(&openapi::document())?;
        let metrics = metrics::Metrics::new(&app, redis.as_ref(), &settings.build);
        let limiter = RateLimiter::new(settings.rate_limit.clone(), redis.clone(), &metrics);
        Ok(Self(Arc::new(Inner {
            settings,
            pools: app.pools.clone(),
            app,
            access,
            redis,
            limiter,
            shutting_down: AtomicBool::new(false),
            metrics,
        })))
    }
}

/// The whole HTTP application: the API and `pages` (the web app's routes,
/// which authenticate by the session cookie themselves). Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()`.
pub fn router(state: AppState, pages: Router<AppState>) -> Router {
    let http = &state.settings.http;
    // Layers run top to bottom on the way in.
    let stack = ServiceBuilder::new()
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            observe::observe,
        ))
        .layer(axum::middleware::from_fn(problem::render_problems))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a request handler panicked");
            axum::response::IntoResponse::into_response(Problem::internal())
        }))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security_headers::set,
        ))
        .layer(cors(&http.cors_origins))
        .layer(CompressionLayer::new())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(http.request_timeout_secs),
        ))
        // The declared length is refused before any handler runs; streamed
        // bodies are cut off at the same size by the extractors.
        .layer(axum::middleware::from_fn_with_state(
            http.body_limit_bytes,
            refuse_oversize,
        ))
        .layer(DefaultBodyLimit::max(http.body_limit_bytes))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate_limit::limit,
        ));
    let (api, document) = openapi::api_routes().split_for_parts();
    let document = serde_json::to_value(&document).unwrap_or_default();
    let api = api.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        access::authorize,
    ));
    Router::new()
        .merge(api)
        .merge(openapi::router(document))
        .merge(pages)
        .fallback(|| async { Problem::not_found() })
        .with_state(state)
        .layer(stack)
}

/// The admin listener's application: `GET /metrics` in the Prometheus text
/// format. It is served on its own address (`admin.addr`), never on the
/// public port.
pub fn admin_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", axum::routing::get(render_metrics))
        .fallback(|| async { Problem::not_found() })
        .with_state(state)
}

/// OpenMetrics for a scraper that asks for it (Prometheus does), else the
/// Prometheus text format, which every other tool reads.
async fn render_metrics(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    let body = state.metrics.render(&state.pools);
    let wants_openmetrics = headers
        .get_all(axum::http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"));
    let (content_type, body) = if wants_openmetrics {
        (metrics::CONTENT_TYPE, body)
    } else {
        (metrics::TEXT_CONTENT_TYPE, metrics::to_text_format(&body))
    };
    ([(axum::http::header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn refuse_oversize(
    axum::extract::State(limit): axum::extract::State<usize>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(length) if length > limit as u64 => {
            axum::response::IntoResponse::into_response(Problem::for_status(StatusCode::PAYLOAD_TOO_LARGE))
        }
        _ => next.run(request).await,
    }
}

fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| o.parse().ok()).collect();
    if origins.is_empty() {
        return CorsLayer::new();
    }
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([
            axum::http::header::CONTENT_TYPE,
            axum::http::header::AUTHORIZATION,
            axum::http::HeaderName::from_static("idempotency-key"),
            axum::http::HeaderName::from_static("x-csrf-token"),
        ])
        .allow_credentials(true)
        .max_age(Duration::from_secs(600))
}
