//! `/api/v1/products` and the stock of each branch
//! (`/api/v1/locations/{location_id}/stock`, `/stock/movements`).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use ftry_app::products::{
    MovementPage, MovementQuery, MovementRequest, ProductFilter, ProductInput, StockFilter,
};
use ftry_store::products::Product;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::{Auth, RequestOrigin};
use crate::appointments::idempotency_key;
use crate::error::ApiError;
use crate::problem::{Json, ProblemDoc, Query};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_products, create_product))
        .routes(routes!(get_product, update_product))
        .routes(routes!(stock))
        .routes(routes!(list_movements, record_movement))
}

fn created(created: ftry_app::appointments::Created) -> Response {
    let status = StatusCode::from_u16(created.status).unwrap_or(StatusCode::CREATED);
    (status, Json(created.body)).into_response()
}

// ------------------------------------------------------------ products

/// Retail products by name; optionally only (in)active ones, or those whose
/// name or SKU starts with `q`.
#[utoipa::path(get, path = "/api/v1/products", tag = "products", params(ProductFilter),
    responses((status = 200, description = "`items`: products"), (status = 400, body = ProblemDoc),
              (status = 422, description = "validation_failed", body = ProblemDoc)),
    security(("bearer" = ["services:read"])))]
async fn list_products(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(filter): Query<ProductFilter>,
) -> Result<Json<Value>, ApiError> {
    let items = state.app.products(&principal, &filter).await?;
    Ok(Json(json!({ "items": items })))
}

/// Add a retail product. Send an `Idempotency-Key` header to make retries safe.
#[utoipa::path(post, path = "/api/v1/products", tag = "products", request_body = ProductInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key return the first answer")),
    responses((status = 201, description = "The product"),
              (status = 409, description = "sku_taken, barcode_taken, idempotency_key_reused", body = ProblemDoc),
              (status = 422, description = "validation_failed (an HSN code that is not of goods), invalid_body",
                  body = ProblemDoc)),
    security(("bearer" = ["products:manage"])))]
async fn create_product(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Json(input): Json<ProductInput>,
) -> Result<Response, ApiError> {
    let answer = state
        .app
        .create_product(&principal, &input, idempotency_key(&headers).as_deref(), &origin)
        .await?;
    Ok(created(answer))
}

/// One product.
#[utoipa::path(get, path = "/api/v1/products/{product_id}", tag = "products",
    params(("product_id" = Uuid, Path)),
    responses((status = 200, description = "The product"), (status = 404, body = ProblemDoc)),
    security(("bearer" = ["services:read"])))]
async fn get_product(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(product_id): Path<Uuid>,
) -> Result<Json<Product>, ApiError> {
    Ok(Json(state.app.product(&principal, product_id).await?))
}

/// Change a product: its price, SKU, barcode, HSN code, threshold, whether it is sold…
#[utoipa::path(patch, path = "/api/v1/products/{product_id}", tag = "products",
    params(("product_id" = Uuid, Path)), request_body = ProductInput,
    responses((status = 200, description = "The product"), (status = 404, body = ProblemDoc),
              (status = 409, description = "sku_taken, barcode_taken", body = ProblemDoc),
              (status = 422, body = ProblemDoc)),
    security(("bearer" = ["products:manage"])))]
async fn update_product(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path(product_id): Path<Uuid>,
    Json(input): Json<ProductInput>,
) -> Result<Json<Product>, ApiError> {
    Ok(Json(
        state
            .app
            .update_product(&principal, product_id, &input, &origin)
            .await?,
    ))
}

// ------------------------------------------------------------ stock

/// What a branch holds of every active product, by name; `low` is true at or
/// below the product's threshold.
#[utoipa::path(get, path = "/api/v1/locations/{location_id}/stock", tag = "products",
    params(("location_id" = Uuid, Path), StockFilter),
    responses((status = 200, description = "`items`: product, quantity, threshold and `low`"),
              (status = 400, body = ProblemDoc), (status = 404, body = ProblemDoc)),
    security(("bearer" = ["services:read"])))]
async fn stock(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(location_id): Path<Uuid>,
    Query(filter): Query<StockFilter>,
) -> Result<Json<Value>, ApiError> {
    let items = state.app.stock(&principal, location_id, &filter).await?;
    Ok(Json(json!({ "items": items })))
}

/// A branch's stock movements, newest first, with cursor pagination.
#[utoipa::path(get, path = "/api/v1/locations/{location_id}/stock/movements", tag = "products",
    params(("location_id" = Uuid, Path), MovementQuery),
    responses((status = 200, body = MovementPage, description = "`items` and `next_cursor` (null on the last page)"),
              (status = 400, body = ProblemDoc),
              (status = 404, description = "the branch or product is not this business's", body = ProblemDoc),
              (status = 422, body = ProblemDoc)),
    security(("bearer" = ["stock:manage"])))]
async fn list_movements(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(location_id): Path<Uuid>,
    Query(query): Query<MovementQuery>,
) -> Result<Json<MovementPage>, ApiError> {
    Ok(Json(
        state.app.stock_movements(&principal, location_id, &query).await?,
    ))
}

/// Record a purchase, adjustment, return or internal use at a branch; the
/// stock changes with it. Stock never goes below zero unless the business
/// allows negative stock. Send an `Idempotency-Key` header to make retries safe.
#[utoipa::path(post, path = "/api/v1/locations/{location_id}/stock/movements", tag = "products",
    params(("location_id" = Uuid, Path),
           ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key return the first answer")),
    request_body = MovementRequest,
    responses((status = 201, body = ftry_app::products::MovementRecorded,
                  description = "The movement and the stock it left"),
              (status = 404, description = "the branch or product is not this business's", body = ProblemDoc),
              (status = 409, description = "insufficient_stock (with `product_id`, `location_id` and `available`), \
                  stock_out_of_range, idempotency_key_reused", body = ProblemDoc),
              (status = 422, body = ProblemDoc)),
    security(("bearer" = ["stock:manage"])))]
async fn record_movement(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path(location_id): Path<Uuid>,
    headers: HeaderMap,
    Json(request): Json<MovementRequest>,
) -> Result<Response, ApiError> {
    let answer = state
        .app
        .record_stock_movement(
            &principal,
            location_id,
            &request,
            idempotency_key(&headers).as_deref(),
            &origin,
        )
        .await?;
    Ok(created(answer))
}
