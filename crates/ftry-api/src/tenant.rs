//! `/api/v1/tenant` and `/api/v1/locations`: the business and its branches.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use ftry_app::signup::NewLocationRequest;
use ftry_app::tenant::{LocationUpdateRequest, TenantUpdateRequest};
use ftry_store::tenants::{Location, Tenant};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::{Auth, RequestOrigin};
use crate::error::ApiError;
use crate::problem::{Json, ProblemDoc};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_tenant, update_tenant))
        .routes(routes!(list_locations, add_location))
        .routes(routes!(get_location, update_location))
        .routes(routes!(export))
}

/// Everything the business holds, to take away: a zip of every table as
/// JSON and CSV with a manifest (columns, row counts). Owners only.
#[utoipa::path(get, path = "/api/v1/export", tag = "tenant",
    responses((status = 200, description = "application/zip", content_type = "application/zip"),
              (status = 403, body = ProblemDoc)),
    security(("bearer" = ["data:export"])))]
async fn export(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let export = state.app.export(&principal, &origin).await?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/zip".to_owned()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", export.file_name),
            ),
            (axum::http::header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        export.zip,
    )
        .into_response())
}

/// The business: name, slug, status and plan limits.
#[utoipa::path(get, path = "/api/v1/tenant", tag = "tenant",
    responses((status = 200, description = "The business")), security(("bearer" = ["tenant:read"])))]
async fn get_tenant(State(state): State<AppState>, Auth(principal): Auth) -> Result<Json<Tenant>, ApiError> {
    Ok(Json(state.app.tenant(&principal).await?))
}

/// Change the business's settings.
#[utoipa::path(patch, path = "/api/v1/tenant", tag = "tenant", request_body = TenantUpdateRequest,
    responses((status = 200, description = "The business"), (status = 422, body = ProblemDoc)),
    security(("bearer" = ["tenant:update"])))]
async fn update_tenant(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Json(request): Json<TenantUpdateRequest>,
) -> Result<Json<Tenant>, ApiError> {
    Ok(Json(
        state.app.update_tenant(&principal, &request, &origin).await?,
    ))
}

/// The business's branches.
#[utoipa::path(get, path = "/api/v1/locations", tag = "tenant",
    responses((status = 200, description = "Branches")), security(("bearer" = ["locations:read"])))]
async fn list_locations(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<serde_json::Value>, ApiError> {
    let items = state.app.locations(&principal).await?;
    Ok(Json(serde_json::json!({ "items": items })))
}

/// Add a branch (within the plan's limit).
#[utoipa::path(post, path = "/api/v1/locations", tag = "tenant", request_body = NewLocationRequest,
    responses((status = 201, description = "The branch"),
              (status = 409, description = "plan_limit_reached", body = ProblemDoc),
              (status = 422, body = ProblemDoc)),
    security(("bearer" = ["locations:manage"])))]
async fn add_location(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Json(request): Json<NewLocationRequest>,
) -> Result<(StatusCode, Json<Location>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(state.app.add_location(&principal, &request, &origin).await?),
    ))
}

/// Change a branch's name, address or GSTIN (its state stays).
#[utoipa::path(patch, path = "/api/v1/locations/{location_id}", tag = "tenant", params(("location_id" = Uuid, Path)),
    request_body = LocationUpdateRequest,
    responses((status = 200, description = "The branch"), (status = 404, body = ProblemDoc),
              (status = 422, body = ProblemDoc)),
    security(("bearer" = ["locations:manage"])))]
async fn update_location(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path(location_id): Path<Uuid>,
    Json(request): Json<LocationUpdateRequest>,
) -> Result<Json<Location>, ApiError> {
    Ok(Json(
        state
            .app
            .update_location(&principal, location_id, &request, &origin)
            .await?,
    ))
}

/// One branch.
#[utoipa::path(get, path = "/api/v1/locations/{location_id}", tag = "tenant", params(("location_id" = Uuid, Path)),
    responses((status = 200, description = "The branch"), (status = 404, body = ProblemDoc)),
    security(("bearer" = ["locations:read"])))]
async fn get_location(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(location_id): Path<Uuid>,
) -> Result<Json<Location>, ApiError> {
    Ok(Json(state.app.location(&principal, location_id).await?))
}
