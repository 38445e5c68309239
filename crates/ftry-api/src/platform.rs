//! `/api/v1/platform`: platform operators' login and cross-tenant views.

use axum::extract::{Path, State};
use ftry_app::platform::{PlatformLoginRequest, PlatformToken, StatusChangeRequest, TenantOverview};
use ftry_store::tenants::Tenant;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::{Operator, RequestOrigin};
use crate::error::ApiError;
use crate::problem::{Json, ProblemDoc};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(tenants))
        .routes(routes!(tenant))
        .routes(routes!(suspend))
        .routes(routes!(activate))
}

/// Log in as a platform operator (created with `ftry admin create`).
#[utoipa::path(post, path = "/api/v1/platform/auth/login", tag = "platform", request_body = PlatformLoginRequest,
    responses((status = 200, body = PlatformToken), (status = 401, body = ProblemDoc), (status = 423, body = ProblemDoc)),
    security(()))]
async fn login(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    Json(request): Json<PlatformLoginRequest>,
) -> Result<Json<PlatformToken>, ApiError> {
    Ok(Json(state.app.platform_login(&request, &origin).await?))
}

/// Every business with its usage.
#[utoipa::path(get, path = "/api/v1/platform/tenants", tag = "platform",
    responses((status = 200, description = "`items`: tenant and usage")), security(("platform" = [])))]
async fn tenants(
    State(state): State<AppState>,
    Operator(operator): Operator,
    RequestOrigin(origin): RequestOrigin,
) -> Result<Json<serde_json::Value>, ApiError> {
    let items = state.app.platform_tenants(&operator, &origin).await?;
    Ok(Json(serde_json::json!({ "items": items })))
}

/// One business with its usage.
#[utoipa::path(get, path = "/api/v1/platform/tenants/{tenant_id}", tag = "platform",
    params(("tenant_id" = Uuid, Path)),
    responses((status = 200, body = TenantOverview), (status = 404, body = ProblemDoc)), security(("platform" = [])))]
async fn tenant(
    State(state): State<AppState>,
    Operator(operator): Operator,
    RequestOrigin(origin): RequestOrigin,
    Path(tenant_id): Path<Uuid>,
) -> Result<Json<TenantOverview>, ApiError> {
    Ok(Json(
        state.app.platform_tenant(&operator, tenant_id, &origin).await?,
    ))
}

/// Suspend a business: its users can no longer log in or call the API; its data is kept.
#[utoipa::path(post, path = "/api/v1/platform/tenants/{tenant_id}/suspend", tag = "platform",
    params(("tenant_id" = Uuid, Path)), request_body = StatusChangeRequest,
    responses((status = 200, description = "The business"), (status = 404, body = ProblemDoc)),
    security(("platform" = [])))]
async fn suspend(
    State(state): State<AppState>,
    Operator(operator): Operator,
    RequestOrigin(origin): RequestOrigin,
    Path(tenant_id): Path<Uuid>,
    Json(request): Json<StatusChangeRequest>,
) -> Result<Json<Tenant>, ApiError> {
    Ok(Json(
        state
            .app
            .platform_set_status(&operator, tenant_id, "suspended", &request, &origin)
            .await?,
    ))
}

/// Reactivate a suspended business.
#[utoipa::path(post, path = "/api/v1/platform/tenants/{tenant_id}/activate", tag = "platform",
    params(("tenant_id" = Uuid, Path)), request_body = StatusChangeRequest,
    responses((status = 200, description = "The business"), (status = 404, body = ProblemDoc)),
    security(("platform" = [])))]
async fn activate(
    State(state): State<AppState>,
    Operator(operator): Operator,
    RequestOrigin(origin): RequestOrigin,
    Path(tenant_id): Path<Uuid>,
    Json(request): Json<StatusChangeRequest>,
) -> Result<Json<Tenant>, ApiError> {
    Ok(Json(
        state
            .app
            .platform_set_status(&operator, tenant_id, "active", &request, &origin)
            .await?,
    ))
}
