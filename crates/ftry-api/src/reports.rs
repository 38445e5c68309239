//! `/api/v1/reports`: revenue, GST, staff commission and tips, appointment
//! statistics (JSON, or CSV with `format=csv`); the day-end cash close; staff
//! commission rates.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use ftry_app::reports::{self, AppointmentStats, CashClose, CashCloseRequest, Period, RevenueGroup};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::{Auth, RequestOrigin};
use crate::error::ApiError;
use crate::problem::{Json, ProblemDoc, Query};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(revenue))
        .routes(routes!(tax))
        .routes(routes!(staff))
        .routes(routes!(appointments))
        .routes(routes!(cash_close, close_cash))
        .routes(routes!(commission))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    location_id: Uuid,
    /// First day (YYYY-MM-DD)
    from: NaiveDate,
    /// Last day, inclusive; at most 366 days after `from`
    to: NaiveDate,
    /// revenue only: day, staff, service, category or payment_method (default day)
    group: Option<RevenueGroup>,
    /// `json` (default) or `csv`
    format: Option<String>,
    /// tax report as CSV: b2b, b2c or hsn
    section: Option<String>,
}

impl ReportQuery {
    fn period(&self) -> Period {
        Period {
            location_id: self.location_id,
            from: self.from,
            to: self.to,
        }
    }

    fn csv(&self) -> Result<bool, ApiError> {
        match self.format.as_deref() {
            None | Some("json") => Ok(false),
            Some("csv") => Ok(true),
            Some(_) => Err(ApiError(ftry_app::AppError::invalid(
                "format",
                "must be json or csv",
            ))),
        }
    }
}

fn csv_response(name: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// Revenue (line totals with tax, credit notes subtracted) by day, staff, service, category or payment method.
#[utoipa::path(get, path = "/api/v1/reports/revenue", tag = "reports", params(ReportQuery),
    responses((status = 200, description = "`rows`, or CSV"), (status = 422, body = ProblemDoc)),
    security(("bearer" = ["reports:revenue"])))]
async fn revenue(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let rows = state
        .app
        .revenue(&principal, &q.period(), q.group.unwrap_or(RevenueGroup::Day))
        .await?;
    if q.csv()? {
        return Ok(csv_response("revenue", reports::csv(&rows)));
    }
    Ok(Json(serde_json::json!({ "rows": rows })).into_response())
}

/// GST for a period, GSTR-1 style: B2B documents, B2C by place of supply and rate, HSN/SAC summary.
#[utoipa::path(get, path = "/api/v1/reports/tax", tag = "reports", params(ReportQuery),
    responses((status = 200, body = reports::TaxReport), (status = 422, body = ProblemDoc)),
    security(("bearer" = ["reports:revenue"])))]
async fn tax(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let report = state.app.tax_report(&principal, &q.period()).await?;
    if q.csv()? {
        let body = match q.section.as_deref() {
            Some("b2b") => reports::csv(&report.b2b),
            Some("b2c") => reports::csv(&report.b2c),
            Some("hsn") => reports::csv(&report.hsn),
            _ => {
                return Err(ApiError(ftry_app::AppError::invalid(
                    "section",
                    "with format=csv: b2b, b2c or hsn",
                )))
            }
        };
        return Ok(csv_response(
            &format!("gst-{}", q.section.as_deref().unwrap_or("")),
            body,
        ));
    }
    Ok(Json(report).into_response())
}

/// Per staff member: services and products sold (taxable value), commission at their rates, tips.
#[utoipa::path(get, path = "/api/v1/reports/staff", tag = "reports", params(ReportQuery),
    responses((status = 200, description = "`rows`, or CSV"), (status = 422, body = ProblemDoc)),
    security(("bearer" = ["reports:revenue"])))]
async fn staff(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let rows = state.app.staff_report(&principal, &q.period()).await?;
    if q.csv()? {
        return Ok(csv_response("staff", reports::csv(&rows)));
    }
    Ok(Json(serde_json::json!({ "rows": rows })).into_response())
}

/// Appointments of a period: by status, the no-show rate, new and returning clients.
#[utoipa::path(get, path = "/api/v1/reports/appointments", tag = "reports", params(ReportQuery),
    responses((status = 200, body = AppointmentStats), (status = 422, body = ProblemDoc)),
    security(("bearer" = ["reports:operations"])))]
async fn appointments(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let stats = state.app.appointment_stats(&principal, &q.period()).await?;
    if q.csv()? {
        return Ok(csv_response(
            "appointments",
            reports::csv(std::slice::from_ref(&stats)),
        ));
    }
    Ok(Json(stats).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DayQuery {
    business_day: NaiveDate,
}

/// The day's Z-report: totals per payment method and the cash the till should hold (and, once closed, what was counted).
#[utoipa::path(get, path = "/api/v1/locations/{location_id}/cash-close", tag = "reports",
    params(("location_id" = Uuid, Path), DayQuery),
    responses((status = 200, body = CashClose), (status = 404, body = ProblemDoc)),
    security(("bearer" = ["payments:take"])))]
async fn cash_close(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(location_id): Path<Uuid>,
    Query(q): Query<DayQuery>,
) -> Result<Json<CashClose>, ApiError> {
    Ok(Json(
        state
            .app
            .cash_close(&principal, location_id, q.business_day)
            .await?,
    ))
}

/// Close the day's till: expected against counted cash, the difference recorded.
#[utoipa::path(post, path = "/api/v1/locations/{location_id}/cash-close", tag = "reports",
    params(("location_id" = Uuid, Path)), request_body = CashCloseRequest,
    responses((status = 200, body = CashClose), (status = 409, description = "already_closed", body = ProblemDoc)),
    security(("bearer" = ["payments:take"])))]
async fn close_cash(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path(location_id): Path<Uuid>,
    Json(request): Json<CashCloseRequest>,
) -> Result<Json<CashClose>, ApiError> {
    Ok(Json(
        state
            .app
            .close_cash(&principal, location_id, &request, &origin)
            .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommissionRates {
    /// Percent of the taxable value of their services, in basis points (1000 = 10%).
    pub service_commission_bp: i32,
    /// Percent of the taxable value of products they sell, in basis points.
    pub product_commission_bp: i32,
}

/// Set a staff member's commission rates.
#[utoipa::path(put, path = "/api/v1/staff/{staff_id}/commission", tag = "reports",
    params(("staff_id" = Uuid, Path)), request_body = CommissionRates,
    responses((status = 204, description = "Set"), (status = 404, body = ProblemDoc), (status = 422, body = ProblemDoc)),
    security(("bearer" = ["staff:manage"])))]
async fn commission(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path(staff_id): Path<Uuid>,
    Json(rates): Json<CommissionRates>,
) -> Result<axum::http::StatusCode, ApiError> {
    state
        .app
        .set_commission(
            &principal,
            staff_id,
            rates.service_commission_bp,
            rates.product_commission_bp,
            &origin,
        )
        .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
