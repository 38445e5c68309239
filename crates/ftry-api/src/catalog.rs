//! `/api/v1/service-categories`, `/api/v1/services`, `/api/v1/resources`,
//! `/api/v1/tax-classes` and the schedules of branches
//! (`/api/v1/locations/{location_id}/hours`, `/closures`, `/booking-rules`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use ftry_app::catalog::{
    BookingRulesInput, CategoryInput, ClosureRequest, LocationHours, LocationHoursRequest, ResourceInput,
    ServiceFilter, ServiceInput,
};
use ftry_store::catalog::{BookingRules, Category, Closure, Resource, Service};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::{Auth, RequestOrigin};
use crate::error::ApiError;
use crate::problem::{Json, ProblemDoc, Query};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(tax_classes))
        .routes(routes!(list_categories, create_category))
        .routes(routes!(update_category))
        .routes(routes!(list_services, create_service))
        .routes(routes!(get_service, update_service))
        .routes(routes!(list_resources, create_resource))
        .routes(routes!(update_resource))
        .routes(routes!(get_hours, set_hours))
        .routes(routes!(list_closures, add_closure))
        .routes(routes!(remove_closure))
        .routes(routes!(get_booking_rules, update_booking_rules))
}

/// Tax classes (SAC codes) with the rate in force today.
#[utoipa::path(get, path = "/api/v1/tax-classes", tag = "catalog",
    responses((status = 200, description = "Codes with `rate_bp` (basis points) and since when it applies")),
    security(("bearer" = [])))]
async fn tax_classes(State(state): State<AppState>, Auth(principal): Auth) -> Result<Json<Value>, ApiError> {
    let items = state.app.tax_classes(&principal).await?;
    Ok(Json(json!({ "items": items })))
}

// ------------------------------------------------------------ categories

/// Service categories, in display order.
#[utoipa::path(get, path = "/api/v1/service-categories", tag = "catalog",
    responses((status = 200, description = "Categories")), security(("bearer" = ["services:read"])))]
async fn list_categories(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<Value>, ApiError> {
    let items = state.app.service_categories(&principal).await?;
    Ok(Json(json!({ "items": items })))
}

/// Add a service category.
#[utoipa::path(post, path = "/api/v1/service-categories", tag = "catalog", request_body = CategoryInput,
    responses((status = 201, description = "The category"),
              (status = 409, description = "category_name_taken", body = ProblemDoc),
              (status = 422, body = ProblemDoc)),
    security(("bearer" = ["services:manage"])))]
async fn create_category(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Json(input): Json<CategoryInput>,
) -> Result<(StatusCode, Json<Category>), ApiError> {
    let category = state
        .app
        .create_service_category(&principal, &input, &origin)
        .await?;
    Ok((StatusCode::CREATED, Json(category)))
}

/// Rename or reorder a service category.
#[utoipa::path(patch, path = "/api/v1/service-categories/{category_id}", tag = "catalog",
    params(("category_id" = Uuid, Path)), request_body = CategoryInput,
    responses((status = 200, description = "The category"), (status = 404, body = ProblemDoc),
              (status = 409, description = "category_name_taken", body = ProblemDoc),
              (status = 422, body = ProblemDoc)),
    security(("bearer" = ["services:manage"])))]
async fn update_category(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path(category_id): Path<Uuid>,
    Json(input): Json<CategoryInput>,
) -> Result<Json<Category>, ApiError> {
    Ok(Json(
        state
            .app
            .update_service_category(&principal, category_id, &input, &origin)
            .await?,
    ))
}

// ------------------------------------------------------------ services

/// Services, in display order; optionally only those offered at one branch, or only (in)active ones.
#[utoipa::path(get, path = "/api/v1/services", tag = "catalog",
    params(("location_id" = Option<Uuid>, Query), ("active" = Option<bool>, Query)),
    responses((status = 200, description = "Services")), security(("bearer" = ["services:read"])))]
async fn list_services(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(filter): Query<ServiceFilter>,
) -> Result<Json<Value>, ApiError> {
    let items = state.app.services(&principal, &filter).await?;
    Ok(Json(json!({ "items": items })))
}

/// Add a service.
#[utoipa::path(post, path = "/api/v1/services", tag = "catalog", request_body = ServiceInput,
    responses((status = 201, description = "The service"),
              (status = 404, description = "a category or branch named is not this business's", body = ProblemDoc),
              (status = 422, body = ProblemDoc)),
    security(("bearer" = ["services:manage"])))]
async fn create_service(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Json(input): Json<ServiceInput>,
) -> Result<(StatusCode, Json<Service>), ApiError> {
    let service = state.app.create_service(&principal, &input, &origin).await?;
    Ok((StatusCode::CREATED, Json(service)))
}

/// One service.
#[utoipa::path(get, path = "/api/v1/services/{service_id}", tag = "catalog", params(("service_id" = Uuid, Path)),
    responses((status = 200, description = "The service"), (status = 404, body = ProblemDoc)),
    security(("bearer" = ["services:read"])))]
async fn get_service(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(service_id): Path<Uuid>,
) -> Result<Json<Service>, ApiError> {
    Ok(Json(state.app.service(&principal, service_id).await?))
}

/// Change a service: its price, duration, gaps, tax class, branches…
#[utoipa::path(patch, path = "/api/v1/services/{service_id}", tag = "catalog",
    params(("service_id" = Uuid, Path)), request_body = ServiceInput,
    responses((status = 200, description = "The service"), (status = 404, body = ProblemDoc),
              (status = 409, description = "staff_duration_too_short", body = ProblemDoc),
              (status = 422, body = ProblemDoc)),
    security(("bearer" = ["services:manage"])))]
async fn update_service(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path(service_id): Path<Uuid>,
    Json(input): Json<ServiceInput>,
) -> Result<Json<Service>, ApiError> {
    Ok(Json(
        state
            .app
            .update_service(&principal, service_id, &input, &origin)
            .await?,
    ))
}

// ------------------------------------------------------------ resources

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceFilter {
    location_id: Option<Uuid>,
}

/// Rooms, chairs, stations and equipment; optionally of one branch.
#[utoipa::path(get, path = "/api/v1/resources", tag = "catalog", params(("location_id" = Option<Uuid>, Query)),
    responses((status = 200, description = "Resources")), security(("bearer" = ["locations:read"])))]
async fn list_resources(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(filter): Query<ResourceFilter>,
) -> Result<Json<Value>, ApiError> {
    let items = state.app.resources(&principal, filter.location_id).await?;
    Ok(Json(json!({ "items": items })))
}

/// Add a resource to a branch.
#[utoipa::path(post, path = "/api/v1/resources", tag = "catalog", request_body = ResourceInput,
    responses((status = 201, description = "The resource"),
              (status = 404, description = "the branch is not this business's", body = ProblemDoc),
              (status = 422, body = ProblemDoc)),
    security(("bearer" = ["resources:manage"])))]
async fn create_resource(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Json(input): Json<ResourceInput>,
) -> Result<(StatusCode, Json<Resource>), ApiError> {
    let resource = state.app.create_resource(&principal, &input, &origin).await?;
    Ok((StatusCode::CREATED, Json(resource)))
}

/// Change a resource.
#[utoipa::path(patch, path = "/api/v1/resources/{resource_id}", tag = "catalog",
    params(("resource_id" = Uuid, Path)), request_body = ResourceInput,
    responses((status = 200, description = "The resource"), (status = 404, body = ProblemDoc),
              (status = 422, body = ProblemDoc)),
    security(("bearer" = ["resources:manage"])))]
async fn update_resource(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path(resource_id): Path<Uuid>,
    Json(input): Json<ResourceInput>,
) -> Result<Json<Resource>, ApiError> {
    Ok(Json(
        state
            .app
            .update_resource(&principal, resource_id, &input, &origin)
            .await?,
    ))
}

// ------------------------------------------------------------ branch schedules

/// A branch's weekly opening hours (wall clock in its time zone).
#[utoipa::path(get, path = "/api/v1/locations/{location_id}/hours", tag = "tenant",
    params(("location_id" = Uuid, Path)),
    responses((status = 200, description = "The week, by weekday"), (status = 404, body = ProblemDoc)),
    security(("bearer" = ["locations:read"])))]
async fn get_hours(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(location_id): Path<Uuid>,
) -> Result<Json<LocationHours>, ApiError> {
    Ok(Json(state.app.location_hours(&principal, location_id).await?))
}

/// Replace a branch's weekly opening hours; a day not listed is closed.
#[utoipa::path(put, path = "/api/v1/locations/{location_id}/hours", tag = "tenant",
    params(("location_id" = Uuid, Path)), request_body = LocationHoursRequest,
    responses((status = 200, description = "The week, by weekday"), (status = 404, body = ProblemDoc),
              (status = 409, description = "hours_overlap", body = ProblemDoc),
              (status = 422, description = "overlapping or malformed intervals", body = ProblemDoc)),
    security(("bearer" = ["locations:manage"])))]
async fn set_hours(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path(location_id): Path<Uuid>,
    Json(request): Json<LocationHoursRequest>,
) -> Result<Json<LocationHours>, ApiError> {
    Ok(Json(
        state
            .app
            .set_location_hours(&principal, location_id, &request, &origin)
            .await?,
    ))
}

/// Days a branch is closed.
#[utoipa::path(get, path = "/api/v1/locations/{location_id}/closures", tag = "tenant",
    params(("location_id" = Uuid, Path)),
    responses((status = 200, description = "Closures, by first day"), (status = 404, body = ProblemDoc)),
    security(("bearer" = ["locations:read"])))]
async fn list_closures(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(location_id): Path<Uuid>,
) -> Result<Json<Value>, ApiError> {
    let items = state.app.location_closures(&principal, location_id).await?;
    Ok(Json(json!({ "items": items })))
}

/// Close a branch for some days (both ends included).
#[utoipa::path(post, path = "/api/v1/locations/{location_id}/closures", tag = "tenant",
    params(("location_id" = Uuid, Path)), request_body = ClosureRequest,
    responses((status = 201, description = "The closure"), (status = 404, body = ProblemDoc),
              (status = 422, body = ProblemDoc)),
    security(("bearer" = ["locations:manage"])))]
async fn add_closure(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path(location_id): Path<Uuid>,
    Json(request): Json<ClosureRequest>,
) -> Result<(StatusCode, Json<Closure>), ApiError> {
    let closure = state
        .app
        .add_location_closure(&principal, location_id, &request, &origin)
        .await?;
    Ok((StatusCode::CREATED, Json(closure)))
}

/// Reopen: remove a closure.
#[utoipa::path(delete, path = "/api/v1/locations/{location_id}/closures/{closure_id}", tag = "tenant",
    params(("location_id" = Uuid, Path), ("closure_id" = Uuid, Path)),
    responses((status = 204, description = "Removed"), (status = 404, body = ProblemDoc)),
    security(("bearer" = ["locations:manage"])))]
async fn remove_closure(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path((location_id, closure_id)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .remove_location_closure(&principal, location_id, closure_id, &origin)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How clients may book a branch online.
#[utoipa::path(get, path = "/api/v1/locations/{location_id}/booking-rules", tag = "tenant",
    params(("location_id" = Uuid, Path)),
    responses((status = 200, description = "The rules"), (status = 404, body = ProblemDoc)),
    security(("bearer" = ["locations:read"])))]
async fn get_booking_rules(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(location_id): Path<Uuid>,
) -> Result<Json<BookingRules>, ApiError> {
    Ok(Json(state.app.booking_rules(&principal, location_id).await?))
}

/// Change how clients may book a branch online.
#[utoipa::path(patch, path = "/api/v1/locations/{location_id}/booking-rules", tag = "tenant",
    params(("location_id" = Uuid, Path)), request_body = BookingRulesInput,
    responses((status = 200, description = "The rules"), (status = 404, body = ProblemDoc),
              (status = 422, body = ProblemDoc)),
    security(("bearer" = ["locations:manage"])))]
async fn update_booking_rules(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path(location_id): Path<Uuid>,
    Json(input): Json<BookingRulesInput>,
) -> Result<Json<BookingRules>, ApiError> {
    Ok(Json(
        state
            .app
            .update_booking_rules(&principal, location_id, &input, &origin)
            .await?,
    ))
}
