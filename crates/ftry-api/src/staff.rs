//! `/api/v1/staff`: profiles, services performed, weekly hours and time off.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use ftry_app::staff::{
    StaffDetail, StaffHoursRequest, StaffInput, StaffSchedule, StaffServicesRequest, TimeOffRequest,
    TimeOffWindow,
};
use ftry_store::staff::{Staff, TimeOff};
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
        .routes(routes!(list, create))
        .routes(routes!(get_one, update))
        .routes(routes!(set_services))
        .routes(routes!(set_hours))
        .routes(routes!(list_time_off, add_time_off))
        .routes(routes!(remove_time_off))
}

/// Staff profiles, in display order.
#[utoipa::path(get, path = "/api/v1/staff", tag = "staff",
    responses((status = 200, description = "Staff")), security(("bearer" = ["staff:read"])))]
async fn list(State(state): State<AppState>, Auth(principal): Auth) -> Result<Json<Value>, ApiError> {
    let items = state.app.staff_list(&principal).await?;
    Ok(Json(json!({ "items": items })))
}

/// Add a staff member.
#[utoipa::path(post, path = "/api/v1/staff", tag = "staff", request_body = StaffInput,
    responses((status = 201, description = "The staff member"),
              (status = 404, description = "the account named is not this business's", body = ProblemDoc),
              (status = 409, description = "user_already_staff", body = ProblemDoc),
              (status = 422, body = ProblemDoc)),
    security(("bearer" = ["staff:manage"])))]
async fn create(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Json(input): Json<StaffInput>,
) -> Result<(StatusCode, Json<Staff>), ApiError> {
    let staff = state.app.create_staff(&principal, &input, &origin).await?;
    Ok((StatusCode::CREATED, Json(staff)))
}

/// One staff member with the services they perform and their weekly hours per branch.
#[utoipa::path(get, path = "/api/v1/staff/{staff_id}", tag = "staff", params(("staff_id" = Uuid, Path)),
    responses((status = 200, description = "The staff member"), (status = 404, body = ProblemDoc)),
    security(("bearer" = ["staff:read"])))]
async fn get_one(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(staff_id): Path<Uuid>,
) -> Result<Json<StaffDetail>, ApiError> {
    Ok(Json(state.app.staff_member(&principal, staff_id).await?))
}

/// Change a staff member's profile.
#[utoipa::path(patch, path = "/api/v1/staff/{staff_id}", tag = "staff",
    params(("staff_id" = Uuid, Path)), request_body = StaffInput,
    responses((status = 200, description = "The staff member"), (status = 404, body = ProblemDoc),
              (status = 409, description = "user_already_staff", body = ProblemDoc),
              (status = 422, body = ProblemDoc)),
    security(("bearer" = ["staff:manage"])))]
async fn update(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path(staff_id): Path<Uuid>,
    Json(input): Json<StaffInput>,
) -> Result<Json<Staff>, ApiError> {
    Ok(Json(
        state
            .app
            .update_staff(&principal, staff_id, &input, &origin)
            .await?,
    ))
}

/// Replace the services someone performs, with their own prices and durations.
#[utoipa::path(put, path = "/api/v1/staff/{staff_id}/services", tag = "staff",
    params(("staff_id" = Uuid, Path)), request_body = StaffServicesRequest,
    responses((status = 200, description = "The services they perform"), (status = 404, body = ProblemDoc),
              (status = 422, body = ProblemDoc)),
    security(("bearer" = ["staff:manage"])))]
async fn set_services(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path(staff_id): Path<Uuid>,
    Json(request): Json<StaffServicesRequest>,
) -> Result<Json<Value>, ApiError> {
    let items = state
        .app
        .set_staff_services(&principal, staff_id, &request, &origin)
        .await?;
    Ok(Json(json!({ "services": items })))
}

/// Replace someone's weekly hours and breaks at one branch; a day not listed is a day off there.
#[utoipa::path(put, path = "/api/v1/staff/{staff_id}/hours", tag = "staff",
    params(("staff_id" = Uuid, Path)), request_body = StaffHoursRequest,
    responses((status = 200, description = "Their week at that branch"), (status = 404, body = ProblemDoc),
              (status = 409, description = "staff_hours_overlap: overlaps their hours at another branch",
               body = ProblemDoc),
              (status = 422, description = "overlapping or malformed intervals, breaks outside work",
               body = ProblemDoc)),
    security(("bearer" = ["staff:manage"])))]
async fn set_hours(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path(staff_id): Path<Uuid>,
    Json(request): Json<StaffHoursRequest>,
) -> Result<Json<StaffSchedule>, ApiError> {
    Ok(Json(
        state
            .app
            .set_staff_hours(&principal, staff_id, &request, &origin)
            .await?,
    ))
}

/// Someone's time off overlapping `[from, to)` (RFC 3339; either may be left out).
#[utoipa::path(get, path = "/api/v1/staff/{staff_id}/time-off", tag = "staff",
    params(("staff_id" = Uuid, Path), ("from" = Option<String>, Query), ("to" = Option<String>, Query)),
    responses((status = 200, description = "Time off, in order"), (status = 404, body = ProblemDoc)),
    security(("bearer" = ["staff:read"])))]
async fn list_time_off(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(staff_id): Path<Uuid>,
    Query(window): Query<TimeOffWindow>,
) -> Result<Json<Value>, ApiError> {
    let items = state.app.time_off(&principal, staff_id, &window).await?;
    Ok(Json(json!({ "items": items })))
}

/// Record time off.
#[utoipa::path(post, path = "/api/v1/staff/{staff_id}/time-off", tag = "staff",
    params(("staff_id" = Uuid, Path)), request_body = TimeOffRequest,
    responses((status = 201, description = "The time off"), (status = 404, body = ProblemDoc),
              (status = 409, description = "time_off_overlaps", body = ProblemDoc),
              (status = 422, body = ProblemDoc)),
    security(("bearer" = ["staff:manage"])))]
async fn add_time_off(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path(staff_id): Path<Uuid>,
    Json(request): Json<TimeOffRequest>,
) -> Result<(StatusCode, Json<TimeOff>), ApiError> {
    let created = state
        .app
        .add_time_off(&principal, staff_id, &request, &origin)
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Remove time off.
#[utoipa::path(delete, path = "/api/v1/staff/{staff_id}/time-off/{time_off_id}", tag = "staff",
    params(("staff_id" = Uuid, Path), ("time_off_id" = Uuid, Path)),
    responses((status = 204, description = "Removed"), (status = 404, body = ProblemDoc)),
    security(("bearer" = ["staff:manage"])))]
async fn remove_time_off(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path((staff_id, time_off_id)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .remove_time_off(&principal, staff_id, time_off_id, &origin)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
