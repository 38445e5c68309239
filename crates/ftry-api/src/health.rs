//! Liveness and readiness probes.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use ftry_ops::health::{readiness, run_check, Check, Readiness};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::problem::Json;
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(live)).routes(routes!(ready))
}

#[derive(Serialize)]
struct Live {
    status: &'static str,
}

/// Liveness: 200 while the process can answer at all. It checks nothing
/// else, so a slow database never gets a healthy node restarted.
#[utoipa::path(get, path = "/health/live", tag = "health", responses((status = 200, description = "{\"status\":\"ok\"}")),
    security(()))]
async fn live() -> Json<Live> {
    Json(Live { status: "ok" })
}

#[derive(Serialize)]
struct Ready {
    status: Readiness,
    checks: Vec<Check>,
}

/// Readiness: 200 when every critical dependency answers (Redis only
/// degrades), 503 otherwise or once shutdown has begun; each check named
/// with its status and latency.
#[utoipa::path(get, path = "/health/ready", tag = "health",
    responses((status = 200, description = "ready or degraded"), (status = 503, description = "not_ready or shutting_down")),
    security(()))]
async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let timeout = Duration::from_millis(state.settings.http.check_timeout_ms);
    let pool = state.pools.app.clone();
    let database = run_check("database", true, timeout, async move {
        sqlx::query("SELECT 1").execute(&pool).await.map(|_| ())
    });
    let mut checks = match &state.redis {
        Some(redis) => {
            let (db, redis) = tokio::join!(database, run_check("redis", false, timeout, redis.ping()));
            vec![db, redis]
        }
        None => vec![database.await],
    };
    checks.sort_by_key(|c| c.name);
    let status = readiness(&checks, state.shutting_down.load(Ordering::Relaxed));
    let code = match status {
        Readiness::Ready | Readiness::Degraded => StatusCode::OK,
        Readiness::NotReady | Readiness::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
    };
    (code, Json(Ready { status, checks }))
}
