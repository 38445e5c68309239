//! `/api/v1/users`: the business's staff accounts.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use ftry_app::users::{InviteRequest, UpdateUserRequest};
use ftry_store::users::UserSummary;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::{Auth, RequestOrigin};
use crate::error::ApiError;
use crate::problem::{Json, ProblemDoc};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get_one, update))
        .routes(routes!(invite))
        .routes(routes!(unlock))
}

/// All accounts with their roles.
#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, description = "Accounts, by name")), security(("bearer" = ["users:read"])))]
async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<serde_json::Value>, ApiError> {
    let items = state.app.list_users(&principal).await?;
    Ok(Json(serde_json::json!({ "items": items })))
}

/// One account.
#[utoipa::path(get, path = "/api/v1/users/{user_id}", tag = "users", params(("user_id" = Uuid, Path)),
    responses((status = 200, description = "The account"), (status = 404, body = ProblemDoc)),
    security(("bearer" = ["users:read"])))]
async fn get_one(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(user_id): Path<Uuid>,
) -> Result<Json<UserSummary>, ApiError> {
    Ok(Json(state.app.get_user(&principal, user_id).await?))
}

/// Disable or re-enable an account, or replace its roles.
#[utoipa::path(patch, path = "/api/v1/users/{user_id}", tag = "users", params(("user_id" = Uuid, Path)),
    request_body = UpdateUserRequest,
    responses((status = 200, description = "The account after the change"),
              (status = 403, description = "own_account, role_escalation", body = ProblemDoc),
              (status = 409, description = "last_owner, invitation_pending", body = ProblemDoc)),
    security(("bearer" = ["users:manage"])))]
async fn update(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path(user_id): Path<Uuid>,
    Json(request): Json<UpdateUserRequest>,
) -> Result<Json<UserSummary>, ApiError> {
    Ok(Json(
        state
            .app
            .update_user(&principal, user_id, &request, &origin)
            .await?,
    ))
}

/// Invite a member of staff by email; the link goes to the mail outbox.
#[utoipa::path(post, path = "/api/v1/users/invitations", tag = "users", request_body = InviteRequest,
    responses((status = 201, description = "The invited account"),
              (status = 403, description = "role_escalation", body = ProblemDoc),
              (status = 409, description = "email_taken, plan_limit_reached", body = ProblemDoc)),
    security(("bearer" = ["users:invite"])))]
async fn invite(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Json(request): Json<InviteRequest>,
) -> Result<(StatusCode, Json<UserSummary>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(state.app.invite(&principal, &request, &origin).await?),
    ))
}

/// Lift a lockout before it expires.
#[utoipa::path(post, path = "/api/v1/users/{user_id}/unlock", tag = "users", params(("user_id" = Uuid, Path)),
    responses((status = 200, description = "The account, unlocked"), (status = 404, body = ProblemDoc)),
    security(("bearer" = ["users:manage"])))]
async fn unlock(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path(user_id): Path<Uuid>,
) -> Result<Json<UserSummary>, ApiError> {
    Ok(Json(state.app.unlock_user(&principal, user_id, &origin).await?))
}
