//! Liveness and readiness probes.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use ftry_ops::health::{readiness, run_check, Check, Readiness};
use serde::Serialize;

use crate::problem::Json;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
}

#[derive(Serialize)]
struct Live {
    status: &'static str,
}

/// 200 while the process can answer at all; it checks nothing else, so a
/// slow database never gets a healthy node restarted.
async fn live() -> Json<Live> {
    Json(Live { status: "ok" })
}

#[derive(Serialize)]
struct Ready {
    status: Readiness,
    checks: Vec<Check>,
}

/// 200 when every critical dependency answers (Redis only degrades), 503
/// otherwise or once shutdown has begun.
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
