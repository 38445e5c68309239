//! `/api/v1/public`: online booking for clients, no login. Rate limited per
//! address by the `public` class.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use ftry_app::public::{
    PublicBooking, PublicBookingRequest, PublicCancelRequest, PublicRescheduleRequest, PublicSalon,
    PublicService, PublicStaff,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::RequestOrigin;
use crate::appointments::{availability_query, idempotency_key, AvailabilityParams, Slots};
use crate::error::ApiError;
use crate::problem::{Json, ProblemDoc, Query};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(salon))
        .routes(routes!(services))
        .routes(routes!(staff))
        .routes(routes!(availability))
        .routes(routes!(book))
        .routes(routes!(booking))
        .routes(routes!(cancel))
        .routes(routes!(reschedule))
}

/// A salon's public page: its name and the branches that take online bookings.
#[utoipa::path(get, path = "/api/v1/public/{tenant_slug}", tag = "public", params(("tenant_slug" = String, Path)),
    responses((status = 200, body = PublicSalon), (status = 404, body = ProblemDoc)), security(()))]
async fn salon(
    State(state): State<AppState>,
    Path(tenant_slug): Path<String>,
) -> Result<Json<PublicSalon>, ApiError> {
    Ok(Json(state.app.public_salon(&tenant_slug).await?))
}

/// What can be booked online at a branch, with prices.
#[utoipa::path(get, path = "/api/v1/public/{tenant_slug}/locations/{location_id}/services", tag = "public",
    params(("tenant_slug" = String, Path), ("location_id" = Uuid, Path)),
    responses((status = 200, body = [PublicService]), (status = 404, body = ProblemDoc)), security(()))]
async fn services(
    State(state): State<AppState>,
    Path((tenant_slug, location_id)): Path<(String, Uuid)>,
) -> Result<Json<Vec<PublicService>>, ApiError> {
    Ok(Json(state.app.public_services(&tenant_slug, location_id).await?))
}

/// Who can be booked online at a branch, and for what.
#[utoipa::path(get, path = "/api/v1/public/{tenant_slug}/locations/{location_id}/staff", tag = "public",
    params(("tenant_slug" = String, Path), ("location_id" = Uuid, Path)),
    responses((status = 200, body = [PublicStaff]), (status = 404, body = ProblemDoc)), security(()))]
async fn staff(
    State(state): State<AppState>,
    Path((tenant_slug, location_id)): Path<(String, Uuid)>,
) -> Result<Json<Vec<PublicStaff>>, ApiError> {
    Ok(Json(state.app.public_staff(&tenant_slug, location_id).await?))
}

/// Free starts for a visit, under the branch's online booking rules (notice, horizon).
#[utoipa::path(get, path = "/api/v1/public/{tenant_slug}/locations/{location_id}/availability", tag = "public",
    params(("tenant_slug" = String, Path), ("location_id" = Uuid, Path), AvailabilityParams),
    responses((status = 200, description = "`slots`"), (status = 422, body = ProblemDoc)), security(()))]
async fn availability(
    State(state): State<AppState>,
    Path((tenant_slug, location_id)): Path<(String, Uuid)>,
    Query(params): Query<AvailabilityParams>,
) -> Result<Json<Slots>, ApiError> {
    let query = availability_query(&params)?;
    let slots = state
        .app
        .public_availability(&tenant_slug, location_id, &query)
        .await?;
    // Clients see when, not who else is booked: assignments name only the staff.
    Ok(Json(Slots { slots }))
}

/// Book online as a new or returning client (recognised by phone). The answer
/// holds the manage link; send an `Idempotency-Key` header to make retries safe.
#[utoipa::path(post, path = "/api/v1/public/{tenant_slug}/bookings", tag = "public",
    params(("tenant_slug" = String, Path),
           ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key return the first answer")),
    request_body = PublicBookingRequest,
    responses((status = 201, description = "`booking`, `manage_token`, `manage_url`"),
              (status = 409, description = "slot_taken, slot_unavailable", body = ProblemDoc),
              (status = 422, body = ProblemDoc)),
    security(()))]
async fn book(
    State(state): State<AppState>,
    Path(tenant_slug): Path<String>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Json(request): Json<PublicBookingRequest>,
) -> Result<Response, ApiError> {
    let created = state
        .app
        .public_book(
            &tenant_slug,
            &request,
            idempotency_key(&headers).as_deref(),
            &origin,
        )
        .await?;
    let status = StatusCode::from_u16(created.status).unwrap_or(StatusCode::CREATED);
    Ok((status, Json(created.body)).into_response())
}

/// A booking, seen through its manage token.
#[utoipa::path(get, path = "/api/v1/public/bookings/{token}", tag = "public", params(("token" = String, Path)),
    responses((status = 200, body = PublicBooking), (status = 404, body = ProblemDoc)), security(()))]
async fn booking(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Json<PublicBooking>, ApiError> {
    Ok(Json(state.app.public_booking(&token).await?))
}

/// Cancel a booking, up to the branch's cancellation window before it starts.
#[utoipa::path(post, path = "/api/v1/public/bookings/{token}/cancel", tag = "public", params(("token" = String, Path)),
    request_body = PublicCancelRequest,
    responses((status = 200, body = PublicBooking),
              (status = 409, description = "cancellation_window_passed, not_changeable", body = ProblemDoc)),
    security(()))]
async fn cancel(
    State(state): State<AppState>,
    Path(token): Path<String>,
    RequestOrigin(origin): RequestOrigin,
    Json(request): Json<PublicCancelRequest>,
) -> Result<Json<PublicBooking>, ApiError> {
    Ok(Json(state.app.public_cancel(&token, &request, &origin).await?))
}

/// Move a booking to another free start, up to the cancellation window.
#[utoipa::path(post, path = "/api/v1/public/bookings/{token}/reschedule", tag = "public", params(("token" = String, Path)),
    request_body = PublicRescheduleRequest,
    responses((status = 200, body = PublicBooking),
              (status = 409, description = "slot_taken, slot_unavailable, cancellation_window_passed", body = ProblemDoc)),
    security(()))]
async fn reschedule(
    State(state): State<AppState>,
    Path(token): Path<String>,
    RequestOrigin(origin): RequestOrigin,
    Json(request): Json<PublicRescheduleRequest>,
) -> Result<Json<PublicBooking>, ApiError> {
    Ok(Json(
        state.app.public_reschedule(&token, &request, &origin).await?,
    ))
}
