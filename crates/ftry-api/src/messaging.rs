//! `/api/v1/messaging`: the business's reminder times, quiet hours,
//! language, and its own wording of each message per channel and language.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use ftry_app::messaging::{
    MessageTemplateRequest, MessageTemplateView, MessagingChange, MessagingSettings, TemplateKey,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::{Auth, RequestOrigin};
use crate::error::ApiError;
use crate::problem::{Json, ProblemDoc};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_messaging, change_messaging))
        .routes(routes!(list_templates))
        .routes(routes!(get_template, put_template, delete_template))
}

/// When reminders go out, the quiet hours, the business's language and its
/// DLT sender entity (the installation's until the business sets its own).
#[utoipa::path(get, path = "/api/v1/messaging", tag = "messaging",
    responses((status = 200, body = MessagingSettings)), security(("bearer" = ["tenant:read"])))]
async fn get_messaging(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<MessagingSettings>, ApiError> {
    Ok(Json(state.app.messaging(&principal).await?))
}

/// Change the reminder times, quiet hours, language or DLT entity.
#[utoipa::path(patch, path = "/api/v1/messaging", tag = "messaging", request_body = MessagingChange,
    responses((status = 200, body = MessagingSettings), (status = 422, body = ProblemDoc)),
    security(("bearer" = ["tenant:update"])))]
async fn change_messaging(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Json(change): Json<MessagingChange>,
) -> Result<Json<MessagingSettings>, ApiError> {
    Ok(Json(
        state.app.change_messaging(&principal, &change, &origin).await?,
    ))
}

/// The business's own wordings, and every message it can word with its
/// channels and variables.
#[utoipa::path(get, path = "/api/v1/messaging/templates", tag = "messaging",
    responses((status = 200, description = "`items`: the wordings; `messages`: what can be worded")),
    security(("bearer" = ["tenant:read"])))]
async fn list_templates(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<serde_json::Value>, ApiError> {
    let items = state.app.message_templates(&principal).await?;
    Ok(Json(serde_json::json!({
        "items": items,
        "messages": ftry_app::messaging::message_kinds(),
    })))
}

/// One wording.
#[utoipa::path(get, path = "/api/v1/messaging/templates/{event}/{channel}/{language}", tag = "messaging",
    params(("event" = String, Path), ("channel" = String, Path), ("language" = String, Path)),
    responses((status = 200, body = MessageTemplateView), (status = 404, body = ProblemDoc),
              (status = 422, body = ProblemDoc)),
    security(("bearer" = ["tenant:read"])))]
async fn get_template(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((event, channel, language)): Path<(String, String, String)>,
) -> Result<Json<MessageTemplateView>, ApiError> {
    let key = TemplateKey {
        event: &event,
        channel: &channel,
        language: &language,
    };
    Ok(Json(state.app.message_template(&principal, key).await?))
}

/// Save the business's wording of a message on a channel in a language;
/// the next message uses it.
#[utoipa::path(put, path = "/api/v1/messaging/templates/{event}/{channel}/{language}", tag = "messaging",
    params(("event" = String, Path), ("channel" = String, Path), ("language" = String, Path)),
    request_body = MessageTemplateRequest,
    responses((status = 200, body = MessageTemplateView), (status = 422, body = ProblemDoc)),
    security(("bearer" = ["tenant:update"])))]
async fn put_template(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path((event, channel, language)): Path<(String, String, String)>,
    Json(request): Json<MessageTemplateRequest>,
) -> Result<Json<MessageTemplateView>, ApiError> {
    let key = TemplateKey {
        event: &event,
        channel: &channel,
        language: &language,
    };
    Ok(Json(
        state
            .app
            .put_message_template(&principal, key, &request, &origin)
            .await?,
    ))
}

/// Delete a wording: the built-in one applies again.
#[utoipa::path(delete, path = "/api/v1/messaging/templates/{event}/{channel}/{language}", tag = "messaging",
    params(("event" = String, Path), ("channel" = String, Path), ("language" = String, Path)),
    responses((status = 204), (status = 404, body = ProblemDoc), (status = 422, body = ProblemDoc)),
    security(("bearer" = ["tenant:update"])))]
async fn delete_template(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path((event, channel, language)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let key = TemplateKey {
        event: &event,
        channel: &channel,
        language: &language,
    };
    state
        .app
        .delete_message_template(&principal, key, &origin)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
