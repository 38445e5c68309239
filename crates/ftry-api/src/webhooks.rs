//! `/api/v1/webhooks`: endpoints for a business's integrations and their
//! delivery log.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use ftry_app::webhooks::{EndpointWithSecret, EventEntry, WebhookRequest, WebhookUpdateRequest};
use ftry_store::webhooks::Endpoint;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::{Auth, RequestOrigin};
use crate::error::ApiError;
use crate::problem::{Json, ProblemDoc, Query};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(events))
        .routes(routes!(get, update, delete))
        .routes(routes!(rotate_secret))
        .routes(routes!(deliveries))
}

/// The events an endpoint can subscribe to.
#[utoipa::path(get, path = "/api/v1/webhooks/events", tag = "webhooks",
    responses((status = 200, body = [EventEntry])), security(("bearer" = ["webhooks:manage"])))]
async fn events(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<Vec<EventEntry>>, ApiError> {
    Ok(Json(state.app.webhook_events(&principal)?))
}

/// The business's webhook endpoints.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    responses((status = 200, description = "`items`: the endpoints, oldest first")),
    security(("bearer" = ["webhooks:manage"])))]
async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<serde_json::Value>, ApiError> {
    let items = state.app.list_webhooks(&principal).await?;
    Ok(Json(serde_json::json!({ "items": items })))
}

/// Register an endpoint. The answer holds its signing secret, shown this once.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = WebhookRequest,
    responses((status = 201, description = "The endpoint and its `secret`"),
              (status = 409, description = "too_many_webhooks", body = ProblemDoc),
              (status = 422, body = ProblemDoc)),
    security(("bearer" = ["webhooks:manage"])))]
async fn create(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Json(request): Json<WebhookRequest>,
) -> Result<(StatusCode, Json<EndpointWithSecret>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(state.app.create_webhook(&principal, &request, &origin).await?),
    ))
}

/// One endpoint: its events, whether it is on, and its run of failures.
#[utoipa::path(get, path = "/api/v1/webhooks/{webhook_id}", tag = "webhooks", params(("webhook_id" = Uuid, Path)),
    responses((status = 200, description = "The endpoint"), (status = 404, body = ProblemDoc)),
    security(("bearer" = ["webhooks:manage"])))]
async fn get(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<Uuid>,
) -> Result<Json<Endpoint>, ApiError> {
    Ok(Json(state.app.webhook(&principal, id).await?))
}

/// Change an endpoint; `enabled: true` turns a disabled one back on.
#[utoipa::path(patch, path = "/api/v1/webhooks/{webhook_id}", tag = "webhooks", params(("webhook_id" = Uuid, Path)),
    request_body = WebhookUpdateRequest,
    responses((status = 200, description = "The endpoint"), (status = 404, body = ProblemDoc),
              (status = 422, body = ProblemDoc)),
    security(("bearer" = ["webhooks:manage"])))]
async fn update(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<Uuid>,
    Json(request): Json<WebhookUpdateRequest>,
) -> Result<Json<Endpoint>, ApiError> {
    Ok(Json(
        state
            .app
            .update_webhook(&principal, id, &request, &origin)
            .await?,
    ))
}

/// Delete an endpoint and its delivery log.
#[utoipa::path(delete, path = "/api/v1/webhooks/{webhook_id}", tag = "webhooks", params(("webhook_id" = Uuid, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = ProblemDoc)),
    security(("bearer" = ["webhooks:manage"])))]
async fn delete(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    state.app.delete_webhook(&principal, id, &origin).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replace the signing secret; deliveries from now on are signed with the
/// new one, shown this once.
#[utoipa::path(post, path = "/api/v1/webhooks/{webhook_id}/secret", tag = "webhooks",
    params(("webhook_id" = Uuid, Path)),
    responses((status = 200, description = "The endpoint and its new `secret`"), (status = 404, body = ProblemDoc)),
    security(("bearer" = ["webhooks:manage"])))]
async fn rotate_secret(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<Uuid>,
) -> Result<Json<EndpointWithSecret>, ApiError> {
    Ok(Json(
        state.app.rotate_webhook_secret(&principal, id, &origin).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    /// 1–200, default 50
    limit: Option<i64>,
}

/// The endpoint's latest deliveries, newest first: event, status
/// (`pending`, `delivered`, `failed`, `abandoned`), attempts, the last
/// answer's status and error.
#[utoipa::path(get, path = "/api/v1/webhooks/{webhook_id}/deliveries", tag = "webhooks",
    params(("webhook_id" = Uuid, Path), DeliveryQuery),
    responses((status = 200, description = "`items`: the deliveries"), (status = 404, body = ProblemDoc),
              (status = 422, body = ProblemDoc)),
    security(("bearer" = ["webhooks:manage"])))]
async fn deliveries(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<Uuid>,
    Query(query): Query<DeliveryQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let items = state.app.webhook_deliveries(&principal, id, query.limit).await?;
    Ok(Json(serde_json::json!({ "items": items })))
}
