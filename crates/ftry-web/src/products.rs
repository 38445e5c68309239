//! Retail products and their stock at a branch: the list with what is left
//! and what is low, a new product, and stock received, adjusted, returned or
//! used in the salon. Each is the API's use case; a movement carries an
//! idempotency key, so a double click moves nothing twice.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{OriginalUri, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use ftry_api::access::RequestOrigin;
use ftry_api::AppState;
use ftry_app::products::{MovementRequest, ProductFilter, ProductInput, StockFilter};
use ftry_app::{AppError, Principal};
use ftry_domain::permissions::Permission;
use serde::Deserialize;
use uuid::Uuid;

use crate::format::rupees;
use crate::forms::{paise, FieldErrors};
use crate::page::{self, html, Chrome, PathId};
use crate::session::{form_sender, signed_in, to_login, SignedIn};

struct StockLine {
    product: Uuid,
    sku: String,
    name: String,
    price: String,
    quantity: i32,
    low: bool,
}

struct Choice {
    value: String,
    label: String,
}

const KINDS: [(&str, &str); 4] = [
    ("purchase", "Received from a supplier (+)"),
    ("adjustment", "Counted: correct the stock (+ or −)"),
    ("return", "Returned by a client (+)"),
    ("internal_use", "Used in the salon (−)"),
];

#[derive(Template)]
#[template(path = "products.html")]
struct ProductsPage {
    chrome: Chrome,
    location: String,
    location_name: String,
    lines: Vec<StockLine>,
    adds: bool,
    moves: bool,
    hsn: Vec<Choice>,
    products: Vec<Choice>,
    kinds: &'static [(&'static str, &'static str)],
    key: String,
    product_form: ProductForm,
    movement_form: MovementForm,
    errors: FieldErrors,
    done: &'static str,
}

#[derive(Debug, Default, Deserialize)]
pub struct ProductForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    sku: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    hsn_code: String,
    #[serde(default)]
    price: String,
    #[serde(default)]
    low_stock: String,
    /// A checkbox of the change form: still sold.
    active: Option<String>,
    /// The product being changed (from the address, not the form).
    #[serde(skip)]
    editing: Option<Uuid>,
}

#[derive(Debug, Default, Deserialize)]
pub struct MovementForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    product: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    quantity: String,
    #[serde(default)]
    note: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct ProductsQuery {
    location: Option<String>,
    done: Option<String>,
    /// The product whose form is shown for changing.
    change: Option<String>,
}

#[allow(clippy::too_many_arguments)] // the page keeps what was typed into its two forms
async fn render(
    state: &AppState,
    principal: &Principal,
    csrf: &str,
    status: StatusCode,
    wanted: Option<Uuid>,
    product_form: ProductForm,
    movement_form: MovementForm,
    errors: FieldErrors,
    done: &'static str,
) -> Response {
    let (_, location) = match page::branch(state, principal, wanted, csrf).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let products = match state
        .app
        .products(
            principal,
            &ProductFilter {
                active: Some(true),
                q: None,
            },
        )
        .await
    {
        Ok(products) => products,
        Err(e) => return page::app_error(e, csrf),
    };
    let levels = match state
        .app
        .stock(principal, location.id, &StockFilter { low: None })
        .await
    {
        Ok(levels) => levels,
        Err(e) => return page::app_error(e, csrf),
    };
    let classes = state.app.tax_classes(principal).await.unwrap_or_default();
    let page = ProductsPage {
        chrome: Chrome::signed("Products", csrf, principal),
        location: location.id.to_string(),
        location_name: location.name.clone(),
        lines: levels
            .iter()
            .map(|level| StockLine {
                product: level.product_id,
                sku: level.sku.clone(),
                name: level.name.clone(),
                price: products
                    .iter()
                    .find(|p| p.id == level.product_id)
                    .map_or(String::new(), |p| rupees(p.fields.price_paise)),
                quantity: level.quantity,
                low: level.low,
            })
            .collect(),
        adds: principal.can(Permission::ProductsManage),
        moves: principal.can(Permission::StockManage),
        hsn: classes
            .iter()
            .filter(|c| c.kind != "service")
            .map(|c| Choice {
                value: c.code.clone(),
                label: format!(
                    "{} ({}, GST {}%)",
                    c.description,
                    c.code,
                    f64::from(c.rate_bp) / 100.0
                ),
            })
            .collect(),
        products: products
            .iter()
            .map(|p| Choice {
                value: p.id.to_string(),
                label: format!("{} · {}", p.fields.name, p.fields.sku),
            })
            .collect(),
        kinds: &KINDS,
        key: ftry_app::tokens::random_secret(),
        product_form,
        movement_form,
        errors,
        done,
    };
    html(status, &page)
}

/// `GET /app/products`.
pub async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<ProductsQuery>, QueryRejection>,
) -> Response {
    let Some(SignedIn { principal, csrf }) = signed_in(&state, &headers).await else {
        return to_login(uri.path());
    };
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let done = match query.done.as_deref() {
        Some("added") => "Product added.",
        Some("saved") => "Product saved.",
        Some("moved") => "Stock recorded.",
        _ => "",
    };
    let wanted = query.location.and_then(|l| l.parse().ok());
    let movement = MovementForm {
        kind: "purchase".into(),
        ..MovementForm::default()
    };
    let product_form = match query.change.and_then(|id| id.parse::<Uuid>().ok()) {
        Some(id) => match state.app.product(&principal, id).await {
            Ok(p) => ProductForm {
                sku: p.fields.sku.clone(),
                name: p.fields.name.clone(),
                hsn_code: p.fields.hsn_code.clone(),
                price: crate::forms::rupees_plain(p.fields.price_paise),
                low_stock: p.fields.low_stock_threshold.to_string(),
                active: p.fields.active.then(String::new),
                editing: Some(id),
                ..ProductForm::default()
            },
            Err(e) => return page::app_error(e, &csrf),
        },
        None => ProductForm::default(),
    };
    render(
        &state,
        &principal,
        &csrf,
        StatusCode::OK,
        wanted,
        product_form,
        movement,
        FieldErrors::default(),
        done,
    )
    .await
}

/// `POST /app/products`: a new product.
pub async fn add(
    State(state): State<AppState>,
    origin: RequestOrigin,
    headers: HeaderMap,
    Form(form): Form<ProductForm>,
) -> Response {
    save(state, origin, headers, form).await
}

/// `POST /app/products/{id}`: a product's name, SKU, class, price, low mark,
/// and whether it is still sold.
pub async fn change(
    State(state): State<AppState>,
    origin: RequestOrigin,
    headers: HeaderMap,
    PathId(id): PathId,
    Form(mut form): Form<ProductForm>,
) -> Response {
    form.editing = Some(id);
    save(state, origin, headers, form).await
}

async fn save(
    state: AppState,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    form: ProductForm,
) -> Response {
    let refused = (
        "Not saved",
        "The form had expired. Open the products page again and retry.",
    );
    let SignedIn { principal, csrf } =
        match form_sender(&state, &headers, &form.csrf, "/app/products", refused).await {
            Ok(sender) => sender,
            Err(answer) => return answer,
        };
    let wanted = form.location.parse::<Uuid>().ok();
    let mut errors = FieldErrors::default();
    let price = paise(&form.price);
    if price.is_none() {
        errors.push("price", "Enter the price in rupees, e.g. 450.");
    }
    let low = match form.low_stock.trim() {
        "" => Some(0),
        text => text.parse::<i32>().ok().filter(|n| *n >= 0),
    };
    if low.is_none() {
        errors.push("low_stock", "Enter how many units left is low, e.g. 3.");
    }
    if !errors.is_empty() {
        return render(
            &state,
            &principal,
            &csrf,
            StatusCode::UNPROCESSABLE_ENTITY,
            wanted,
            form,
            MovementForm::default(),
            errors,
            "",
        )
        .await;
    }
    let input = ProductInput {
        sku: Some(form.sku.trim().to_owned()),
        name: Some(form.name.clone()),
        hsn_code: Some(form.hsn_code.clone()),
        price_paise: price,
        low_stock_threshold: low,
        active: form.editing.map(|_| form.active.is_some()),
        ..ProductInput::default()
    };
    let saved = match form.editing {
        Some(id) => state
            .app
            .update_product(&principal, id, &input, &origin)
            .await
            .map(drop),
        None => state
            .app
            .create_product(&principal, &input, None, &origin)
            .await
            .map(drop),
    };
    let (status, errors) = match saved {
        Ok(_) => {
            let done = if form.editing.is_some() { "saved" } else { "added" };
            return Redirect::to(&format!("/app/products?location={}&done={done}", form.location))
                .into_response();
        }
        Err(AppError::Validation(fields)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            FieldErrors::from_use_case(&fields, |f| {
                match f {
                    "price_paise" => "price",
                    "low_stock_threshold" => "low_stock",
                    other => other,
                }
                .to_owned()
            }),
        ),
        Err(AppError::Conflict { detail, .. } | AppError::ConflictWith { detail, .. }) => {
            let mut errors = FieldErrors::default();
            errors.push("sku", crate::booking::sentence(&detail));
            (StatusCode::CONFLICT, errors)
        }
        Err(e) => return page::app_error(e, &csrf),
    };
    render(
        &state,
        &principal,
        &csrf,
        status,
        wanted,
        form,
        MovementForm::default(),
        errors,
        "",
    )
    .await
}

/// `POST /app/products/stock`: stock received, counted, returned or used.
pub async fn move_stock(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Form(form): Form<MovementForm>,
) -> Response {
    let refused = (
        "Not recorded",
        "The form had expired. Open the products page again and retry.",
    );
    let SignedIn { principal, csrf } =
        match form_sender(&state, &headers, &form.csrf, "/app/products", refused).await {
            Ok(sender) => sender,
            Err(answer) => return answer,
        };
    let Ok(location) = form.location.parse::<Uuid>() else {
        return page::app_error(AppError::NotFound, &csrf);
    };
    let quantity = form.quantity.trim().parse::<i32>().ok();
    if quantity.is_none() {
        let mut errors = FieldErrors::default();
        errors.push(
            "quantity",
            "Enter how many units, e.g. 12 (or −2 for a count that found fewer).",
        );
        return render(
            &state,
            &principal,
            &csrf,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(location),
            ProductForm::default(),
            form,
            errors,
            "",
        )
        .await;
    }
    let request = MovementRequest {
        product_id: form.product.parse().ok(),
        kind: Some(form.kind.clone()),
        quantity,
        note: Some(form.note.trim().to_owned()).filter(|n| !n.is_empty()),
    };
    let key = format!("web:{}", form.key);
    let key = Some(key.as_str()).filter(|_| !form.key.is_empty());
    let moved = state
        .app
        .record_stock_movement(&principal, location, &request, key, &origin)
        .await;
    let (status, errors) = match moved {
        Ok(_) => {
            return Redirect::to(&format!("/app/products?location={location}&done=moved")).into_response()
        }
        Err(AppError::Validation(fields)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            FieldErrors::from_use_case(&fields, |f| {
                match f {
                    "product_id" => "product",
                    other => other,
                }
                .to_owned()
            }),
        ),
        Err(AppError::Conflict { detail, .. } | AppError::ConflictWith { detail, .. }) => {
            let mut errors = FieldErrors::default();
            errors.push("quantity", crate::booking::sentence(&detail));
            (StatusCode::CONFLICT, errors)
        }
        Err(e) => return page::app_error(e, &csrf),
    };
    render(
        &state,
        &principal,
        &csrf,
        status,
        Some(location),
        ProductForm::default(),
        form,
        errors,
        "",
    )
    .await
}
