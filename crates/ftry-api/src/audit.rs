//! `/api/v1/audit-events`: the business's audit log.

use axum::extract::State;
use chrono::{DateTime, Utc};
use ftry_store::audit::Filter;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::Auth;
use crate::error::ApiError;
use crate::problem::{Json, ProblemDoc, Query};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// e.g. `auth.login_failed`
    action: Option<String>,
    actor_id: Option<Uuid>,
    resource_type: Option<String>,
    resource_id: Option<String>,
    /// `success`, `failure` or `denied`
    outcome: Option<String>,
    /// RFC 3339; events at or after
    since: Option<DateTime<Utc>>,
    /// RFC 3339; events before
    until: Option<DateTime<Utc>>,
    /// `next_cursor` of the previous page
    cursor: Option<Uuid>,
    /// 1–200, default 50
    limit: Option<i64>,
}

/// Audit events, newest first, with cursor pagination.
#[utoipa::path(get, path = "/api/v1/audit-events", tag = "audit", params(AuditQuery),
    responses((status = 200, description = "`items` and `next_cursor` (null on the last page)"),
              (status = 400, body = ProblemDoc)),
    security(("bearer" = ["audit:read"])))]
async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(query): Query<AuditQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let filter = Filter {
        action: query.action,
        actor_id: query.actor_id,
        resource_type: query.resource_type,
        resource_id: query.resource_id,
        outcome: query.outcome,
        since: query.since,
        until: query.until,
        before_id: query.cursor,
    };
    let (items, next_cursor) = state
        .app
        .audit_events(&principal, &filter, query.limit.unwrap_or(50))
        .await?;
    Ok(Json(
        serde_json::json!({ "items": items, "next_cursor": next_cursor }),
    ))
}
