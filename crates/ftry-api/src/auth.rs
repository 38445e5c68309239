//! `/api/v1/auth`: sign-up, login, token refresh, logout, the caller's own
//! account and sessions, invitations and password resets.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use ftry_app::auth::{LoginRequest, Tokens};
use ftry_app::signup::{SignupRequest, SignupResult};
use ftry_app::users::{AcceptInviteRequest, Me, ResetConfirmRequest, ResetRequest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::{Auth, RequestOrigin};
use crate::cookies;
use crate::error::ApiError;
use crate::problem::{Json, ProblemDoc};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(logout_all))
        .routes(routes!(me))
        .routes(routes!(sessions))
        .routes(routes!(revoke_session))
        .routes(routes!(request_password_reset))
        .routes(routes!(confirm_password_reset))
        .routes(routes!(accept_invitation))
}

/// How the client keeps its session.
#[derive(Debug, Deserialize, IntoParams)]
pub struct Mode {
    /// `cookie` for browsers: tokens go into httpOnly cookies and the body
    /// carries the CSRF token; otherwise tokens are returned in the body.
    mode: Option<String>,
}

impl Mode {
    fn cookies(&self) -> bool {
        self.mode.as_deref() == Some("cookie")
    }
}

/// What a browser session gets instead of tokens.
#[derive(Debug, Serialize, ToSchema)]
pub struct BrowserSession {
    pub session_id: Uuid,
    pub expires_in: i64,
    /// Send this back in the `X-CSRF-Token` header on every unsafe request.
    pub csrf_token: String,
}

/// Tokens in the body, or in cookies for a browser.
fn session_response(
    status: StatusCode,
    tokens: Tokens,
    mode: &Mode,
    extra: Option<serde_json::Value>,
) -> Response {
    if !mode.cookies() {
        let mut body = serde_json::to_value(&tokens).unwrap_or_default();
        if let (Some(object), Some(serde_json::Value::Object(extra))) = (body.as_object_mut(), extra) {
            object.extend(extra);
        }
        return (status, Json(body)).into_response();
    }
    let csrf = ftry_app::tokens::random_secret();
    let mut body = serde_json::to_value(BrowserSession {
        session_id: tokens.session_id,
        expires_in: tokens.expires_in,
        csrf_token: csrf.clone(),
    })
    .unwrap_or_default();
    if let (Some(object), Some(serde_json::Value::Object(extra))) = (body.as_object_mut(), extra) {
        object.extend(extra);
    }
    let mut response = (status, Json(body)).into_response();
    for cookie in cookies::session(
        &tokens.access_token,
        tokens.expires_in,
        &tokens.refresh_token,
        tokens.refresh_expires_in,
        &csrf,
    ) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// Create a business, its first branch and its owner; the owner is logged in.
#[utoipa::path(post, path = "/api/v1/auth/signup", tag = "auth", params(Mode), request_body = SignupRequest,
    responses((status = 201, description = "Created; tokens as for login, plus `tenant`, `location`, `user_id`"),
              (status = 409, description = "slug_taken", body = ProblemDoc),
              (status = 422, description = "validation_failed", body = ProblemDoc)),
    security(()))]
async fn signup(
    State(state): State<AppState>,
    Query(mode): Query<Mode>,
    RequestOrigin(origin): RequestOrigin,
    Json(request): Json<SignupRequest>,
) -> Result<Response, ApiError> {
    let SignupResult {
        tenant,
        location,
        user_id,
        tokens,
    } = state.app.signup(&request, &origin).await?;
    let extra = serde_json::json!({ "tenant": tenant, "location": location, "user_id": user_id });
    Ok(session_response(StatusCode::CREATED, tokens, &mode, Some(extra)))
}

/// Log in with email and password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", params(Mode), request_body = LoginRequest,
    responses((status = 200, body = Tokens),
              (status = 401, description = "invalid_credentials", body = ProblemDoc),
              (status = 403, description = "tenant_suspended", body = ProblemDoc),
              (status = 409, description = "tenant_required", body = ProblemDoc),
              (status = 423, description = "account_locked", body = ProblemDoc),
              (status = 429, description = "rate_limited", body = ProblemDoc)),
    security(()))]
async fn login(
    State(state): State<AppState>,
    Query(mode): Query<Mode>,
    RequestOrigin(origin): RequestOrigin,
    Json(request): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    let account_key = format!("account:{}", request.email.trim().to_lowercase());
    state
        .limiter
        .charge(state.app.settings.login_attempts_per_account, &account_key)
        .await
        .map_err(ApiError)?;
    let tokens = state.app.login(&request, &origin).await?;
    Ok(session_response(StatusCode::OK, tokens, &mode, None))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token; browsers send it as the ftry_refresh cookie instead.
    refresh_token: Option<String>,
}

/// Exchange a refresh token for new tokens (each refresh token works once).
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = Tokens),
              (status = 401, description = "invalid_refresh_token, refresh_token_reused, session_revoked", body = ProblemDoc)),
    security(()))]
async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestOrigin(origin): RequestOrigin,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    // Browsers send no body (the token is in a cookie); API clients send JSON.
    let from_body = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice::<RefreshRequest>(&body)
            .map_err(|e| {
                ApiError(ftry_app::AppError::invalid(
                    "refresh_token",
                    format!("invalid JSON body: {e}"),
                ))
            })?
            .refresh_token
    };
    let (token, mode) = match (from_body, cookies::get(&headers, cookies::REFRESH)) {
        (Some(token), _) => (token, Mode { mode: None }),
        (None, Some(token)) => {
            if !cookies::csrf_matches(&headers) {
                return Err(ApiError(ftry_app::AppError::forbidden(
                    "csrf_failed",
                    "Send the value of the ftry_csrf cookie in the X-CSRF-Token header.",
                )));
            }
            (
                token,
                Mode {
                    mode: Some("cookie".into()),
                },
            )
        }
        (None, None) => {
            return Err(ApiError(ftry_app::AppError::invalid(
                "refresh_token",
                "send the refresh token",
            )))
        }
    };
    let tokens = state.app.refresh(&token, &origin).await?;
    Ok(session_response(StatusCode::OK, tokens, &mode, None))
}

/// End this session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204, description = "Logged out")), security(("bearer" = [])))]
async fn logout(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
) -> Result<Response, ApiError> {
    state.app.logout(&principal, &origin).await?;
    Ok(logged_out())
}

fn logged_out() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    for cookie in cookies::cleared() {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LogoutAll {
    pub sessions_ended: u64,
}

/// End every session of the caller, on every device.
#[utoipa::path(post, path = "/api/v1/auth/logout-all", tag = "auth",
    responses((status = 200, body = LogoutAll)), security(("bearer" = [])))]
async fn logout_all(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
) -> Result<Response, ApiError> {
    let sessions_ended = state.app.logout_all(&principal, &origin).await?;
    let mut response = Json(LogoutAll { sessions_ended }).into_response();
    for cookie in cookies::cleared() {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// The caller: account, business, permissions and session.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth",
    responses((status = 200, body = Me)), security(("bearer" = [])))]
async fn me(State(state): State<AppState>, Auth(principal): Auth) -> Result<Json<Me>, ApiError> {
    Ok(Json(state.app.me(&principal).await?))
}

/// The caller's active sessions (device, IP, last use).
#[utoipa::path(get, path = "/api/v1/auth/sessions", tag = "auth",
    responses((status = 200, description = "Active sessions, most recently used first")), security(("bearer" = [])))]
async fn sessions(State(state): State<AppState>, Auth(principal): Auth) -> Result<Response, ApiError> {
    let list = state.app.my_sessions(&principal).await?;
    let current = principal.session_id;
    let body: Vec<serde_json::Value> = list
        .into_iter()
        .map(|s| {
            let mut v = serde_json::to_value(&s).unwrap_or_default();
            v["current"] = serde_json::Value::Bool(s.id == current);
            v
        })
        .collect();
    Ok(Json(serde_json::json!({ "items": body })).into_response())
}

/// End one of the caller's sessions.
#[utoipa::path(delete, path = "/api/v1/auth/sessions/{session_id}", tag = "auth",
    params(("session_id" = Uuid, Path)),
    responses((status = 204, description = "Ended"), (status = 404, body = ProblemDoc)), security(("bearer" = [])))]
async fn revoke_session(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path(session_id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .revoke_my_session(&principal, session_id, &origin)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ask for a password-reset link. Always 202: the answer never tells
/// whether an account exists.
#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "auth", request_body = ResetRequest,
    responses((status = 202, description = "If an account exists, a link was sent")), security(()))]
async fn request_password_reset(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    Json(request): Json<ResetRequest>,
) -> Result<StatusCode, ApiError> {
    state.app.request_password_reset(&request, &origin).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Set a new password with a reset link's token; every session ends.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "auth", request_body = ResetConfirmRequest,
    responses((status = 204, description = "Password changed"),
              (status = 409, description = "invalid_link", body = ProblemDoc),
              (status = 422, description = "validation_failed", body = ProblemDoc)),
    security(()))]
async fn confirm_password_reset(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    Json(request): Json<ResetConfirmRequest>,
) -> Result<StatusCode, ApiError> {
    state.app.confirm_password_reset(&request, &origin).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Accept an invitation: set the password and log in.
#[utoipa::path(post, path = "/api/v1/auth/invitations/accept", tag = "auth", params(Mode),
    request_body = AcceptInviteRequest,
    responses((status = 200, body = Tokens),
              (status = 409, description = "invalid_link", body = ProblemDoc),
              (status = 422, description = "validation_failed", body = ProblemDoc)),
    security(()))]
async fn accept_invitation(
    State(state): State<AppState>,
    Query(mode): Query<Mode>,
    RequestOrigin(origin): RequestOrigin,
    Json(request): Json<AcceptInviteRequest>,
) -> Result<Response, ApiError> {
    let tokens = state.app.accept_invite(&request, &origin).await?;
    Ok(session_response(StatusCode::OK, tokens, &mode, None))
}
