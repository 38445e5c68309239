//! `/api/v1/roles` and the permission catalog.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use ftry_app::roles::{CatalogEntry, RoleRequest, RoleUpdateRequest};
use ftry_store::roles::Role;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::{Auth, RequestOrigin};
use crate::error::ApiError;
use crate::problem::{Json, ProblemDoc};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(update, delete))
        .routes(routes!(catalog))
}

/// Built-in and custom roles with their permissions.
#[utoipa::path(get, path = "/api/v1/roles", tag = "roles",
    responses((status = 200, description = "Roles")), security(("bearer" = ["roles:read"])))]
async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<serde_json::Value>, ApiError> {
    let items = state.app.list_roles(&principal).await?;
    Ok(Json(serde_json::json!({ "items": items })))
}

/// Create a custom role from catalog permissions you hold yourself.
#[utoipa::path(post, path = "/api/v1/roles", tag = "roles", request_body = RoleRequest,
    responses((status = 201, description = "The role"),
              (status = 403, description = "role_escalation", body = ProblemDoc),
              (status = 409, description = "role_name_taken", body = ProblemDoc)),
    security(("bearer" = ["roles:manage"])))]
async fn create(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Json(request): Json<RoleRequest>,
) -> Result<(StatusCode, Json<Role>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(state.app.create_role(&principal, &request, &origin).await?),
    ))
}

/// Change a custom role; its holders get the new rights on their next request.
#[utoipa::path(patch, path = "/api/v1/roles/{role_id}", tag = "roles", params(("role_id" = Uuid, Path)),
    request_body = RoleUpdateRequest,
    responses((status = 200, description = "The role"), (status = 404, body = ProblemDoc),
              (status = 409, description = "builtin_role", body = ProblemDoc)),
    security(("bearer" = ["roles:manage"])))]
async fn update(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path(role_id): Path<Uuid>,
    Json(request): Json<RoleUpdateRequest>,
) -> Result<Json<Role>, ApiError> {
    Ok(Json(
        state
            .app
            .update_role(&principal, role_id, &request, &origin)
            .await?,
    ))
}

/// Delete a custom role nobody holds.
#[utoipa::path(delete, path = "/api/v1/roles/{role_id}", tag = "roles", params(("role_id" = Uuid, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = ProblemDoc),
              (status = 409, description = "builtin_role, role_in_use", body = ProblemDoc)),
    security(("bearer" = ["roles:manage"])))]
async fn delete(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path(role_id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    state.app.delete_role(&principal, role_id, &origin).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every permission a role can hold.
#[utoipa::path(get, path = "/api/v1/permissions", tag = "roles",
    responses((status = 200, body = [CatalogEntry])), security(("bearer" = ["roles:read"])))]
async fn catalog(State(state): State<AppState>) -> Json<Vec<CatalogEntry>> {
    Json(state.app.permission_catalog())
}
