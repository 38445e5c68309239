//! `/api/v1/appointments` and a location's availability.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use ftry_app::appointments::{
    AppointmentView, AvailabilityQuery, BookRequest, CancelRequest, RescheduleRequest, StatusChange,
};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::{Auth, RequestOrigin};
use crate::error::ApiError;
use crate::problem::{Json, ProblemDoc, Query};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, book))
        .routes(routes!(get_one))
        .routes(routes!(history))
        .routes(routes!(change_status))
        .routes(routes!(cancel))
        .routes(routes!(reschedule))
        .routes(routes!(availability))
        .routes(routes!(calendar))
}

/// The `Idempotency-Key` header, if sent.
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Option<String> {
    headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    location_id: Uuid,
    /// RFC 3339
    from: DateTime<Utc>,
    /// RFC 3339; at most 31 days after `from`
    to: DateTime<Utc>,
}

/// Appointments of a location overlapping a time range, with their items.
#[utoipa::path(get, path = "/api/v1/appointments", tag = "appointments", params(ListQuery),
    responses((status = 200, description = "`items`: appointments by start"), (status = 422, body = ProblemDoc)),
    security(("bearer" = ["calendar:read"])))]
async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(query): Query<ListQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let items = state
        .app
        .appointments(&principal, query.location_id, query.from, query.to)
        .await?;
    Ok(Json(serde_json::json!({ "items": items })))
}

/// Book a visit: one or more services in order, each by a chosen or any
/// qualified staff member. Send an `Idempotency-Key` header to make retries safe.
#[utoipa::path(post, path = "/api/v1/appointments", tag = "appointments", request_body = BookRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key return the first answer")),
    responses((status = 201, body = AppointmentView),
              (status = 404, description = "unknown location, client, service or staff", body = ProblemDoc),
              (status = 409, description = "slot_taken (names the conflicting booking), slot_unavailable, resource_full, idempotency_key_reused", body = ProblemDoc),
              (status = 422, description = "validation_failed: outside opening hours, closed day, DST gap, staff who does not perform the service...", body = ProblemDoc)),
    security(("bearer" = ["appointments:manage"])))]
async fn book(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Json(request): Json<BookRequest>,
) -> Result<Response, ApiError> {
    let created = state
        .app
        .book(
            &principal,
            &request,
            idempotency_key(&headers).as_deref(),
            &origin,
        )
        .await?;
    let status = StatusCode::from_u16(created.status).unwrap_or(StatusCode::CREATED);
    Ok((status, Json(created.body)).into_response())
}

/// One appointment with its items.
#[utoipa::path(get, path = "/api/v1/appointments/{appointment_id}", tag = "appointments",
    params(("appointment_id" = Uuid, Path)),
    responses((status = 200, body = AppointmentView), (status = 404, body = ProblemDoc)),
    security(("bearer" = ["calendar:own"])))]
async fn get_one(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(appointment_id): Path<Uuid>,
) -> Result<Json<AppointmentView>, ApiError> {
    Ok(Json(state.app.appointment(&principal, appointment_id).await?))
}

/// What happened to an appointment: creation, status changes, moves, cancellation.
#[utoipa::path(get, path = "/api/v1/appointments/{appointment_id}/history", tag = "appointments",
    params(("appointment_id" = Uuid, Path)),
    responses((status = 200, description = "`items`: events, oldest first"), (status = 404, body = ProblemDoc)),
    security(("bearer" = ["calendar:read"])))]
async fn history(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(appointment_id): Path<Uuid>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let items = state.app.appointment_history(&principal, appointment_id).await?;
    Ok(Json(serde_json::json!({ "items": items })))
}

/// Confirm, check in, start, complete or mark a no-show (which frees the time).
/// Stylists may start and complete their own appointments.
#[utoipa::path(post, path = "/api/v1/appointments/{appointment_id}/status", tag = "appointments",
    params(("appointment_id" = Uuid, Path)), request_body = StatusChange,
    responses((status = 200, body = AppointmentView), (status = 409, description = "invalid_transition", body = ProblemDoc)),
    security(("bearer" = ["calendar:own"])))]
async fn change_status(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path(appointment_id): Path<Uuid>,
    Json(change): Json<StatusChange>,
) -> Result<Json<AppointmentView>, ApiError> {
    Ok(Json(
        state
            .app
            .change_status(&principal, appointment_id, &change, &origin)
            .await?,
    ))
}

/// Cancel, with a reason; the time is free again at once.
#[utoipa::path(post, path = "/api/v1/appointments/{appointment_id}/cancel", tag = "appointments",
    params(("appointment_id" = Uuid, Path)), request_body = CancelRequest,
    responses((status = 200, body = AppointmentView), (status = 409, description = "invalid_transition", body = ProblemDoc)),
    security(("bearer" = ["appointments:manage"])))]
async fn cancel(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path(appointment_id): Path<Uuid>,
    Json(request): Json<CancelRequest>,
) -> Result<Json<AppointmentView>, ApiError> {
    Ok(Json(
        state
            .app
            .cancel_appointment(&principal, appointment_id, &request, &origin)
            .await?,
    ))
}

/// Move to another time (and optionally other services or staff); the history keeps the old time.
#[utoipa::path(post, path = "/api/v1/appointments/{appointment_id}/reschedule", tag = "appointments",
    params(("appointment_id" = Uuid, Path)), request_body = RescheduleRequest,
    responses((status = 200, body = AppointmentView),
              (status = 409, description = "slot_taken, slot_unavailable, invalid_transition", body = ProblemDoc),
              (status = 422, body = ProblemDoc)),
    security(("bearer" = ["appointments:manage"])))]
async fn reschedule(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path(appointment_id): Path<Uuid>,
    Json(request): Json<RescheduleRequest>,
) -> Result<Json<AppointmentView>, ApiError> {
    Ok(Json(
        state
            .app
            .reschedule(&principal, appointment_id, &request, &origin)
            .await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityParams {
    /// Service ids in visit order, comma-separated.
    services: String,
    /// Staff ids per service, comma-separated, `any` (or empty) for any; default all any.
    staff: Option<String>,
    /// First local date (YYYY-MM-DD).
    from: NaiveDate,
    /// Last local date, inclusive; at most 62 days after `from`.
    to: NaiveDate,
}

/// Parse the comma-separated lists of an availability query.
pub(crate) fn availability_query(params: &AvailabilityParams) -> Result<AvailabilityQuery, ApiError> {
    let invalid = |field: &str| ApiError(ftry_app::AppError::invalid(field, "must be comma-separated ids"));
    let services = params
        .services
        .split(',')
        .map(|s| Uuid::parse_str(s.trim()).map_err(|_| invalid("services")))
        .collect::<Result<Vec<_>, _>>()?;
    let staff = match params.staff.as_deref() {
        None => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|s| match s.trim() {
                "" | "any" => Ok(None),
                id => Uuid::parse_str(id).map(Some).map_err(|_| invalid("staff")),
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    Ok(AvailabilityQuery {
        services,
        staff,
        first_date: params.from,
        last_date: params.to,
    })
}

/// Bookable starts at a location for a visit, each with the staff (and resources) it would get.
#[utoipa::path(get, path = "/api/v1/locations/{location_id}/availability", tag = "appointments",
    params(("location_id" = Uuid, Path), AvailabilityParams),
    responses((status = 200, description = "`slots`: start, local_start and per-item assignment"),
              (status = 422, body = ProblemDoc)),
    security(("bearer" = ["calendar:read"])))]
async fn availability(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(location_id): Path<Uuid>,
    Query(params): Query<AvailabilityParams>,
) -> Result<Json<Slots>, ApiError> {
    let query = availability_query(&params)?;
    let slots = state.app.availability(&principal, location_id, &query).await?;
    Ok(Json(Slots { slots }))
}

/// An availability answer, written straight from the engine's slots (a
/// fortnight is some 700 of them: no intermediate JSON tree).
#[derive(Serialize)]
pub(crate) struct Slots {
    pub slots: Vec<ftry_domain::availability::Slot>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CalendarParams {
    /// First local date (YYYY-MM-DD).
    date: NaiveDate,
    /// 1 (day view) to 7 (week view); default 1.
    days: Option<u32>,
}

/// Day or week view: per staff member, working hours, breaks, time off and
/// booked items. Stylists with only `calendar:own` see their own column.
#[utoipa::path(get, path = "/api/v1/locations/{location_id}/calendar", tag = "appointments",
    params(("location_id" = Uuid, Path), CalendarParams),
    responses((status = 200, body = ftry_app::calendar::Calendar), (status = 404, body = ProblemDoc)),
    security(("bearer" = ["calendar:own"])))]
async fn calendar(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(location_id): Path<Uuid>,
    Query(params): Query<CalendarParams>,
) -> Result<Response, ApiError> {
    let drawn = state
        .app
        .drawn_calendar(&principal, location_id, params.date, params.days.unwrap_or(1))
        .await?;
    // Written once per drawn calendar: a held day is sent as it was written.
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        drawn.json(),
    )
        .into_response())
}
