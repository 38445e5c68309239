//! `/api/v1/notifications`: the messages a business sent (or planned, or
//! skipped) to its clients, and how each was delivered.

use axum::extract::State;
use ftry_store::notifications::Filter;
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
pub struct NotificationQuery {
    appointment_id: Option<Uuid>,
    client_id: Option<Uuid>,
    invoice_id: Option<Uuid>,
    /// `pending`, `sent`, `skipped` or `failed`
    status: Option<String>,
    /// `next_cursor` of the previous page
    cursor: Option<Uuid>,
    /// 1–200, default 50
    limit: Option<i64>,
}

/// Messages to clients, most recently planned first: event, channel, when
/// it is (or was) due, status and reason, provider and its message id,
/// attempts, and the delivery the provider reported.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "clients", params(NotificationQuery),
    responses((status = 200, description = "`items` and `next_cursor` (null on the last page)"),
              (status = 422, body = ProblemDoc)),
    security(("bearer" = ["messages:read"])))]
async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(query): Query<NotificationQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let filter = Filter {
        appointment_id: query.appointment_id,
        client_id: query.client_id,
        invoice_id: query.invoice_id,
        status: query.status,
        before_id: query.cursor,
    };
    let (items, next_cursor) = state
        .app
        .notifications(&principal, &filter, query.limit.unwrap_or(50))
        .await?;
    Ok(Json(
        serde_json::json!({ "items": items, "next_cursor": next_cursor }),
    ))
}
