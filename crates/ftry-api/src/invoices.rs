//! `/api/v1/invoices`: checkout, payments, credit notes; `/api/v1/ledger/verify`.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use chrono::NaiveDate;
use ftry_app::invoices::{
    CreditNoteRequest, DraftRequest, DraftUpdate, InvoiceView, LedgerReport, LineRequest, PaymentRequest,
};
use serde::Deserialize;
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
        .routes(routes!(list, create))
        .routes(routes!(get_one, update))
        .routes(routes!(add_line))
        .routes(routes!(remove_line))
        .routes(routes!(finalize))
        .routes(routes!(pay))
        .routes(routes!(credit))
        .routes(routes!(printable))
        .routes(routes!(pdf))
        .routes(routes!(receipt_pdf))
        .routes(routes!(verify))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    location_id: Uuid,
    /// Issued on or after (YYYY-MM-DD)
    from: Option<NaiveDate>,
    /// Issued on or before
    to: Option<NaiveDate>,
    cursor: Option<Uuid>,
    /// 1–200, default 50
    limit: Option<i64>,
}

/// Invoices and credit notes of a branch, newest first.
#[utoipa::path(get, path = "/api/v1/invoices", tag = "invoices", params(ListQuery),
    responses((status = 200, description = "`items` and `next_cursor`")), security(("bearer" = ["invoices:create"])))]
async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(q): Query<ListQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (items, next) = state
        .app
        .invoices(
            &principal,
            q.location_id,
            q.from,
            q.to,
            q.cursor,
            q.limit.unwrap_or(50),
        )
        .await?;
    Ok(Json(serde_json::json!({ "items": items, "next_cursor": next })))
}

/// Start a draft for an appointment (its services become lines) or a walk-in sale.
#[utoipa::path(post, path = "/api/v1/invoices", tag = "invoices", request_body = DraftRequest,
    responses((status = 201, body = InvoiceView),
              (status = 409, description = "appointment_already_billed, appointment_not_billable", body = ProblemDoc),
              (status = 422, body = ProblemDoc)),
    security(("bearer" = ["invoices:create"])))]
async fn create(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Json(request): Json<DraftRequest>,
) -> Result<(StatusCode, Json<InvoiceView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(state.app.create_draft(&principal, &request, &origin).await?),
    ))
}

/// An invoice or credit note with lines and payments; a draft includes a `preview` of its figures.
#[utoipa::path(get, path = "/api/v1/invoices/{invoice_id}", tag = "invoices", params(("invoice_id" = Uuid, Path)),
    responses((status = 200, body = InvoiceView), (status = 404, body = ProblemDoc)),
    security(("bearer" = ["invoices:create"])))]
async fn get_one(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(invoice_id): Path<Uuid>,
) -> Result<Json<InvoiceView>, ApiError> {
    Ok(Json(state.app.invoice(&principal, invoice_id).await?))
}

/// Change a draft: customer (B2B GSTIN, place of supply), invoice discount, tip.
#[utoipa::path(patch, path = "/api/v1/invoices/{invoice_id}", tag = "invoices", params(("invoice_id" = Uuid, Path)),
    request_body = DraftUpdate,
    responses((status = 200, body = InvoiceView), (status = 409, description = "invoice_finalized", body = ProblemDoc),
              (status = 422, body = ProblemDoc)),
    security(("bearer" = ["invoices:create"])))]
async fn update(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path(invoice_id): Path<Uuid>,
    Json(request): Json<DraftUpdate>,
) -> Result<Json<InvoiceView>, ApiError> {
    Ok(Json(
        state
            .app
            .update_draft(&principal, invoice_id, &request, &origin)
            .await?,
    ))
}

/// Add a product, a service or a custom line to a draft. Discounts need `discounts:approve`.
#[utoipa::path(post, path = "/api/v1/invoices/{invoice_id}/lines", tag = "invoices", params(("invoice_id" = Uuid, Path)),
    request_body = LineRequest,
    responses((status = 201, body = InvoiceView), (status = 409, description = "invoice_finalized", body = ProblemDoc),
              (status = 422, body = ProblemDoc)),
    security(("bearer" = ["invoices:create"])))]
async fn add_line(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path(invoice_id): Path<Uuid>,
    Json(request): Json<LineRequest>,
) -> Result<(StatusCode, Json<InvoiceView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(
            state
                .app
                .add_invoice_line(&principal, invoice_id, &request, &origin)
                .await?,
        ),
    ))
}

/// Remove a line from a draft.
#[utoipa::path(delete, path = "/api/v1/invoices/{invoice_id}/lines/{position}", tag = "invoices",
    params(("invoice_id" = Uuid, Path), ("position" = i16, Path)),
    responses((status = 200, body = InvoiceView), (status = 404, body = ProblemDoc),
              (status = 409, description = "invoice_finalized", body = ProblemDoc)),
    security(("bearer" = ["invoices:create"])))]
async fn remove_line(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path((invoice_id, position)): Path<(Uuid, i16)>,
) -> Result<Json<InvoiceView>, ApiError> {
    Ok(Json(
        state
            .app
            .remove_invoice_line(&principal, invoice_id, position, &origin)
            .await?,
    ))
}

/// Finalize: GST figures frozen, the next gapless number of the branch's
/// series for the financial year, the hash chain, stock, the visit completed.
#[utoipa::path(post, path = "/api/v1/invoices/{invoice_id}/finalize", tag = "invoices",
    params(("invoice_id" = Uuid, Path)),
    responses((status = 200, body = InvoiceView),
              (status = 409, description = "invoice_finalized, empty_invoice, insufficient_stock", body = ProblemDoc)),
    security(("bearer" = ["invoices:create"])))]
async fn finalize(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path(invoice_id): Path<Uuid>,
) -> Result<Json<InvoiceView>, ApiError> {
    Ok(Json(
        state
            .app
            .finalize_invoice(&principal, invoice_id, &origin)
            .await?,
    ))
}

/// Record a payment (a refund on a credit note); split and partial payments add up.
#[utoipa::path(post, path = "/api/v1/invoices/{invoice_id}/payments", tag = "invoices",
    params(("invoice_id" = Uuid, Path)), request_body = PaymentRequest,
    responses((status = 201, body = InvoiceView),
              (status = 409, description = "invoice_not_finalized", body = ProblemDoc),
              (status = 422, description = "more than due, bad method", body = ProblemDoc)),
    security(("bearer" = ["payments:take"])))]
async fn pay(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path(invoice_id): Path<Uuid>,
    Json(request): Json<PaymentRequest>,
) -> Result<(StatusCode, Json<InvoiceView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(state.app.pay(&principal, invoice_id, &request, &origin).await?),
    ))
}

/// Issue a credit note (its own series) for all or part of a finalized invoice.
#[utoipa::path(post, path = "/api/v1/invoices/{invoice_id}/credit-notes", tag = "invoices",
    params(("invoice_id" = Uuid, Path)), request_body = CreditNoteRequest,
    responses((status = 201, body = InvoiceView),
              (status = 409, description = "not_creditable, nothing_to_credit", body = ProblemDoc),
              (status = 422, description = "more than is left to credit", body = ProblemDoc)),
    security(("bearer" = ["invoices:refund"])))]
async fn credit(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path(invoice_id): Path<Uuid>,
    Json(request): Json<CreditNoteRequest>,
) -> Result<(StatusCode, Json<InvoiceView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(
            state
                .app
                .credit_note(&principal, invoice_id, &request, &origin)
                .await?,
        ),
    ))
}

/// The invoice as a printable Indian tax-invoice page (HTML).
#[utoipa::path(get, path = "/api/v1/invoices/{invoice_id}/html", tag = "invoices", params(("invoice_id" = Uuid, Path)),
    responses((status = 200, content_type = "text/html", description = "The document"), (status = 404, body = ProblemDoc)),
    security(("bearer" = ["invoices:create"])))]
async fn printable(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(invoice_id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let view = state.app.invoice(&principal, invoice_id).await?;
    let mut response = Html(crate::invoice_document::render(&view)).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

/// The invoice as a PDF (A4, Indian tax-invoice layout).
#[utoipa::path(get, path = "/api/v1/invoices/{invoice_id}/pdf", tag = "invoices", params(("invoice_id" = Uuid, Path)),
    responses((status = 200, content_type = "application/pdf", description = "The document"), (status = 404, body = ProblemDoc)),
    security(("bearer" = ["invoices:create"])))]
async fn pdf(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(invoice_id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let view = state.app.invoice(&principal, invoice_id).await?;
    Ok(pdf_response(&view))
}

/// The PDF of the invoice a receipt's link names: the link is signed for
/// that invoice alone and expires.
#[utoipa::path(get, path = "/api/v1/public/invoices/{token}/pdf", tag = "public", params(("token" = String, Path)),
    responses((status = 200, content_type = "application/pdf", description = "The document"),
              (status = 404, description = "Not a current receipt link", body = ProblemDoc)),
    security(()))]
async fn receipt_pdf(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, ApiError> {
    let view = state.app.receipt_invoice(&token).await?;
    Ok(pdf_response(&view))
}

fn pdf_response(view: &InvoiceView) -> Response {
    let name = view
        .invoice
        .number
        .clone()
        .unwrap_or_else(|| "draft".into())
        .replace('/', "-");
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{name}.pdf\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        crate::invoice_pdf::render(view),
    )
        .into_response()
}

/// Recompute every invoice and credit-note hash chain and report the first broken link.
#[utoipa::path(get, path = "/api/v1/ledger/verify", tag = "invoices",
    responses((status = 200, body = LedgerReport)), security(("bearer" = ["reports:revenue"])))]
async fn verify(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<LedgerReport>, ApiError> {
    Ok(Json(state.app.verify_ledger(&principal).await?))
}
