//! `/api/v1/hooks/…`: what message providers report about the messages
//! they took. No login: each request is checked by the provider's own
//! signature.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::problem::{ProblemDoc, Query};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(whatsapp_handshake, whatsapp_reports))
        .routes(routes!(twilio_status))
        .routes(routes!(msg91_reports))
        .routes(routes!(sms_reports))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ReportToken {
    /// `notifications.msg91_report_token`.
    token: Option<String>,
}

/// MSG91's delivery-report webhook (version 2: a form whose `data` is a
/// JSON list), to a URL carrying `notifications.msg91_report_token`.
#[utoipa::path(post, path = "/api/v1/hooks/msg91", tag = "hooks", params(ReportToken),
    responses((status = 200, description = "`changed`: messages whose delivery status moved"),
              (status = 401, description = "bad_signature: the token is not the configured one", body = ProblemDoc),
              (status = 404, description = "MSG91 reports are not configured", body = ProblemDoc),
              (status = 422, body = ProblemDoc)), security(()))]
async fn msg91_reports(
    State(state): State<AppState>,
    Query(query): Query<ReportToken>,
    body: Bytes,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let changed = state
        .app
        .msg91_delivery_reports(query.token.as_deref(), &body)
        .await?;
    Ok(axum::Json(serde_json::json!({ "changed": changed })))
}

/// A generic SMS provider's delivery reports: `{"id", "status", "at",
/// "error"}` or a list of them, signed `X-Ftry-Signature: sha256=<hex
/// HMAC-SHA256 of the body>` with `notifications.sms_http_report_secret`.
#[utoipa::path(post, path = "/api/v1/hooks/sms", tag = "hooks",
    responses((status = 200, description = "`changed`: messages whose delivery status moved"),
              (status = 401, description = "bad_signature", body = ProblemDoc),
              (status = 404, description = "Reports of the generic provider are not configured", body = ProblemDoc),
              (status = 422, body = ProblemDoc)), security(()))]
async fn sms_reports(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let changed = state
        .app
        .sms_http_delivery_reports(header(&headers, "x-ftry-signature"), &body)
        .await?;
    Ok(axum::Json(serde_json::json!({ "changed": changed })))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct Handshake {
    #[serde(rename = "hub.mode")]
    #[param(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    #[param(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    #[param(rename = "hub.challenge")]
    challenge: Option<String>,
}

/// Meta's webhook subscription check: answers the challenge when the verify
/// token is `notifications.whatsapp_verify_token`.
#[utoipa::path(get, path = "/api/v1/hooks/whatsapp", tag = "hooks", params(Handshake),
    responses((status = 200, description = "The challenge, as text"),
              (status = 403, description = "bad_verify_token", body = ProblemDoc),
              (status = 404, description = "WhatsApp reports are not configured", body = ProblemDoc)), security(()))]
async fn whatsapp_handshake(
    State(state): State<AppState>,
    Query(query): Query<Handshake>,
) -> Result<String, ApiError> {
    Ok(state.app.whatsapp_handshake(
        query.mode.as_deref(),
        query.verify_token.as_deref(),
        query.challenge.as_deref(),
    )?)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// WhatsApp Cloud API status webhooks (sent, delivered, read, failed),
/// signed `X-Hub-Signature-256` with the app's secret.
#[utoipa::path(post, path = "/api/v1/hooks/whatsapp", tag = "hooks",
    responses((status = 200, description = "`changed`: messages whose delivery status moved"),
              (status = 401, description = "bad_signature", body = ProblemDoc),
              (status = 404, description = "WhatsApp reports are not configured", body = ProblemDoc)), security(()))]
async fn whatsapp_reports(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let changed = state
        .app
        .whatsapp_delivery_reports(header(&headers, "x-hub-signature-256"), &body)
        .await?;
    Ok(axum::Json(serde_json::json!({ "changed": changed })))
}

/// Twilio status callbacks for SMS, signed `X-Twilio-Signature` with the
/// auth token.
#[utoipa::path(post, path = "/api/v1/hooks/twilio/status", tag = "hooks",
    responses((status = 204, description = "Recorded"),
              (status = 401, description = "bad_signature", body = ProblemDoc),
              (status = 404, description = "Twilio is not the SMS provider", body = ProblemDoc)), security(()))]
async fn twilio_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .twilio_status_callback(header(&headers, "x-twilio-signature"), &body)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
