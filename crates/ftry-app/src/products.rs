//! Retail products and their stock at each branch: the product list, stock
//! levels with their low-stock flags, and stock movements (purchases,
//! adjustments, returns, internal use). Sales and credit-note returns move
//! stock from the invoices, through the same `ftry_store::products::move_stock`.
//!
//! As in the catalog, a path id is looked up first (another business's id is
//! a 404 whatever the body says), then the body is checked (422), then the
//! ids it names (404); constraint violations become precise 409s.

use ftry_domain::permissions::Permission;
use ftry_store::audit::{self, Event, Origin};
use ftry_store::products::{
    self, MovementFilter, NewMovement, Product, ProductFields, StockLevel, StockMovement,
};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::appointments::Created;
use crate::catalog::{long_text, nullable, on_constraint, own_locations, require, within, Constraint};
use crate::error::{AppError, Validator};
use crate::{App, Principal};

// ------------------------------------------------------------ products

/// A new product, or the fields of one to change (absent = unchanged).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductInput {
    /// 1–40 letters, digits, `.`, `_` or `-`, unique in the business; required when creating.
    pub sku: Option<String>,
    /// EAN/UPC: 8–14 digits, unique in the business; `null` for none.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub barcode: Option<Option<String>>,
    /// 1–120 characters; required when creating.
    pub name: Option<String>,
    /// HSN code of goods from `/api/v1/tax-classes`, e.g. `3305`; required when creating.
    pub hsn_code: Option<String>,
    /// Selling price of one unit in paise (₹1 = 100), 0–100000000; tax
    /// included or not as the business's billing settings say. Required when creating.
    pub price_paise: Option<i64>,
    /// What one unit costs the business, in paise (default 0).
    pub cost_paise: Option<i64>,
    /// Stock at or below this is low (default 0: only when none is left).
    pub low_stock_threshold: Option<i32>,
    pub active: Option<bool>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProductFilter {
    pub active: Option<bool>,
    /// Start of the name or the SKU, any case (1–100 characters).
    pub q: Option<String>,
}

const MAX_PAISE: i64 = 100_000_000;
const MAX_THRESHOLD: i32 = 1_000_000;

const PRODUCT_UNIQUE: &[Constraint] = &[
    Constraint {
        name: "products_tenant_id_sku_key",
        code: "sku_taken",
        detail: "Another product already has this SKU.",
    },
    Constraint {
        name: "products_tenant_id_barcode_key",
        code: "barcode_taken",
        detail: "Another product already has this barcode.",
    },
];

impl ProductInput {
    fn apply(&self, mut f: ProductFields) -> ProductFields {
        if let Some(sku) = &self.sku {
            f.sku = sku.trim().to_owned();
        }
        if let Some(barcode) = &self.barcode {
            f.barcode = barcode
                .as_deref()
                .map(str::trim)
                .filter(|b| !b.is_empty())
                .map(str::to_owned);
        }
        if let Some(name) = &self.name {
            f.name.clone_from(name);
        }
        if let Some(code) = &self.hsn_code {
            f.hsn_code = code.trim().to_owned();
        }
        if let Some(price) = self.price_paise {
            f.price_paise = price;
        }
        if let Some(cost) = self.cost_paise {
            f.cost_paise = cost;
        }
        if let Some(threshold) = self.low_stock_threshold {
            f.low_stock_threshold = threshold;
        }
        if let Some(active) = self.active {
            f.active = active;
        }
        f
    }
}

fn is_sku(sku: &str) -> bool {
    (1..=40).contains(&sku.len())
        && sku
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn is_barcode(barcode: &str) -> bool {
    (8..=14).contains(&barcode.len()) && barcode.bytes().all(|b| b.is_ascii_digit())
}

/// Check a product as it would be stored; returns it with its name trimmed.
fn check_product(mut f: ProductFields) -> Result<ProductFields, AppError> {
    let mut v = Validator::default();
    if !is_sku(&f.sku) {
        v.push("sku", "must be 1–40 letters, digits, `.`, `_` or `-`");
    }
    if f.barcode.as_deref().is_some_and(|b| !is_barcode(b)) {
        v.push("barcode", "must be 8–14 digits");
    }
    f.name = v.text("name", &f.name, 120).unwrap_or_default();
    if !(4..=8).contains(&f.hsn_code.len()) || !f.hsn_code.bytes().all(|b| b.is_ascii_digit()) {
        v.push("hsn_code", "must be an HSN code of 4–8 digits");
    }
    within(&mut v, "price_paise", f.price_paise, 0..=MAX_PAISE);
    within(&mut v, "cost_paise", f.cost_paise, 0..=MAX_PAISE);
    within(
        &mut v,
        "low_stock_threshold",
        f.low_stock_threshold,
        0..=MAX_THRESHOLD,
    );
    v.finish()?;
    Ok(f)
}

/// A product's HSN code must be a tax class of goods (else 422).
async fn check_hsn_code(conn: &mut PgConnection, code: &str) -> Result<(), AppError> {
    if products::is_goods_tax_class(conn, code).await? {
        Ok(())
    } else {
        Err(AppError::invalid(
            "hsn_code",
            format!("`{code}` is not a tax class of goods; see /api/v1/tax-classes"),
        ))
    }
}

/// The answer already given to this key, or `None` to go ahead.
async fn replay(
    tx: &mut PgConnection,
    principal: &Principal,
    scope: &str,
    key: Option<&str>,
    request: &str,
) -> Result<Option<Created>, AppError> {
    let Some(key) = key else {
        return Ok(None);
    };
    let fingerprint = crate::tokens::sha256(request);
    crate::idempotency::claim(tx, principal.tenant_id, scope, key, &fingerprint).await
}

/// Answer a create with 201, kept for retries when it came with a key.
async fn created(
    tx: &mut PgConnection,
    scope: &str,
    key: Option<&str>,
    answer: &impl Serialize,
) -> Result<Created, AppError> {
    let body = serde_json::to_value(answer).map_err(|e| AppError::Internal(e.to_string()))?;
    if let Some(key) = key {
        crate::idempotency::record(tx, scope, key, 201, &body).await?;
    }
    Ok(Created { status: 201, body })
}

impl App {
    pub async fn products(
        &self,
        principal: &Principal,
        filter: &ProductFilter,
    ) -> Result<Vec<Product>, AppError> {
        principal.require(Permission::ServicesRead)?;
        let mut v = Validator::default();
        let prefix = v.optional_text("q", filter.q.as_deref(), 100);
        v.finish()?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let list = products::list_products(&mut tx, filter.active, prefix.as_deref()).await?;
        tx.commit().await?;
        Ok(list)
    }

    pub async fn product(&self, principal: &Principal, id: Uuid) -> Result<Product, AppError> {
        principal.require(Permission::ServicesRead)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let product = products::get_product(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(product)
    }

    /// Add a product. With an idempotency key, a retry returns the first answer.
    pub async fn create_product(
        &self,
        principal: &Principal,
        input: &ProductInput,
        idempotency_key: Option<&str>,
        origin: &Origin,
    ) -> Result<Created, AppError> {
        principal.require(Permission::ProductsManage)?;
        require(&[
            ("sku", input.sku.is_some()),
            ("name", input.name.is_some()),
            ("hsn_code", input.hsn_code.is_some()),
            ("price_paise", input.price_paise.is_some()),
        ])?;
        let blank = ProductFields {
            sku: String::new(),
            barcode: None,
            name: String::new(),
            hsn_code: String::new(),
            price_paise: 0,
            cost_paise: 0,
            low_stock_threshold: 0,
            active: true,
        };
        let fields = check_product(input.apply(blank))?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        if let Some(answer) = replay(
            &mut tx,
            principal,
            "products",
            idempotency_key,
            &format!("{input:?}"),
        )
        .await?
        {
            return Ok(answer);
        }
        check_hsn_code(&mut tx, &fields.hsn_code).await?;
        let product = products::insert_product(&mut tx, principal.tenant_id, Uuid::now_v7(), &fields)
            .await
            .map_err(on_constraint(PRODUCT_UNIQUE))?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(principal.actor(), "product.created", "product", product.id).after(&product),
        )
        .await?;
        let answer = created(&mut tx, "products", idempotency_key, &product).await?;
        tx.commit().await?;
        Ok(answer)
    }

    pub async fn update_product(
        &self,
        principal: &Principal,
        id: Uuid,
        input: &ProductInput,
        origin: &Origin,
    ) -> Result<Product, AppError> {
        principal.require(Permission::ProductsManage)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let before = products::lock_product(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let fields = check_product(input.apply(before.fields.clone()))?;
        if fields.hsn_code != before.fields.hsn_code {
            check_hsn_code(&mut tx, &fields.hsn_code).await?;
        }
        products::update_product(&mut tx, id, &fields)
            .await
            .map_err(on_constraint(PRODUCT_UNIQUE))?;
        let after = Product {
            fields,
            ..before.clone()
        };
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(principal.actor(), "product.updated", "product", id)
                .before(&before)
                .after(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }
}

// ------------------------------------------------------------ stock

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StockFilter {
    /// `true`: only products at or below their threshold; `false`: only those above it.
    pub low: Option<bool>,
}

/// A stock movement recorded by hand; sales and their returns come from invoices.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MovementRequest {
    /// The product moved (required).
    pub product_id: Option<Uuid>,
    /// `purchase`, `adjustment`, `return` or `internal_use` (required).
    pub kind: Option<String>,
    /// Units in (positive) or out (negative), never 0: a purchase or return
    /// adds, internal use takes, an adjustment does either. Required.
    pub quantity: Option<i32>,
    /// Up to 500 characters, e.g. the supplier's bill number.
    pub note: Option<String>,
}

/// A recorded movement and the stock it left.
#[derive(Debug, Serialize, ToSchema)]
pub struct MovementRecorded {
    #[schema(value_type = Object)]
    pub movement: StockMovement,
    #[schema(value_type = Object)]
    pub stock: StockLevel,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MovementQuery {
    /// Only this product's movements.
    pub product_id: Option<Uuid>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<Uuid>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MovementPage {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<StockMovement>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<Uuid>,
}

/// Units moved at once, either way.
const MAX_MOVED: i32 = 1_000_000;

/// The kind and signed quantity of a hand-recorded movement, and its note.
fn check_movement(request: &MovementRequest) -> Result<(Uuid, &'static str, i32, String), AppError> {
    require(&[
        ("product_id", request.product_id.is_some()),
        ("kind", request.kind.is_some()),
        ("quantity", request.quantity.is_some()),
    ])?;
    let (Some(product_id), Some(kind), Some(quantity)) =
        (request.product_id, request.kind.as_deref(), request.quantity)
    else {
        return Err(AppError::Internal("validation passed without values".into()));
    };
    let mut v = Validator::default();
    let kind = match kind {
        "purchase" => "purchase",
        "adjustment" => "adjustment",
        "return" => "return",
        "internal_use" => "internal_use",
        _ => {
            v.push(
                "kind",
                "must be purchase, adjustment, return or internal_use (sales are recorded by invoices)",
            );
            ""
        }
    };
    if quantity == 0 {
        v.push("quantity", "must not be 0");
    } else if quantity.unsigned_abs() > MAX_MOVED.unsigned_abs() {
        v.push(
            "quantity",
            format!("must be between -{MAX_MOVED} and {MAX_MOVED}"),
        );
    } else if matches!(kind, "purchase" | "return") && quantity < 0 {
        v.push("quantity", format!("a {kind} adds stock: must be positive"));
    } else if kind == "internal_use" && quantity > 0 {
        v.push("quantity", "internal use takes stock: must be negative");
    }
    let note = long_text(&mut v, "note", request.note.as_deref().unwrap_or(""), 500);
    v.finish()?;
    Ok((product_id, kind, quantity, note))
}

/// The answer to a movement the database refused: what is there, what was asked.
fn insufficient(product: &Product, location_id: Uuid, available: i32, quantity: i32) -> AppError {
    let mut details = serde_json::Map::new();
    details.insert("product_id".into(), product.id.to_string().into());
    details.insert("location_id".into(), location_id.to_string().into());
    details.insert("available".into(), available.into());
    AppError::ConflictWith {
        code: "insufficient_stock",
        detail: format!(
            "Only {available} of {} ({}) in stock at this branch; this movement takes {}.",
            product.fields.name,
            product.fields.sku,
            quantity.unsigned_abs()
        ),
        details,
    }
}

/// `22003`: the quantity no longer fits an integer.
fn out_of_range(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|code| code == "22003")
}

impl App {
    /// The stock of every active product at a branch, by name.
    pub async fn stock(
        &self,
        principal: &Principal,
        location_id: Uuid,
        filter: &StockFilter,
    ) -> Result<Vec<StockLevel>, AppError> {
        principal.require(Permission::ServicesRead)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        own_locations(&mut tx, &[location_id]).await?;
        let list = products::stock_levels(&mut tx, location_id, filter.low).await?;
        tx.commit().await?;
        Ok(list)
    }

    /// Record a purchase, adjustment, return or internal use: the stock level
    /// and the movement change together or not at all. With an idempotency
    /// key, a retry returns the first answer and moves nothing twice.
    pub async fn record_stock_movement(
        &self,
        principal: &Principal,
        location_id: Uuid,
        request: &MovementRequest,
        idempotency_key: Option<&str>,
        origin: &Origin,
    ) -> Result<Created, AppError> {
        principal.require(Permission::StockManage)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        own_locations(&mut tx, &[location_id]).await?;
        let (product_id, kind, quantity, note) = check_movement(request)?;
        let scope = "stock_movements";
        let fingerprint = format!("{location_id} {request:?}");
        if let Some(answer) = replay(&mut tx, principal, scope, idempotency_key, &fingerprint).await? {
            return Ok(answer);
        }
        let product = products::get_product(&mut tx, product_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let movement = NewMovement {
            id: Uuid::now_v7(),
            location_id,
            product_id,
            kind,
            quantity,
            reference: None,
            note: &note,
            actor_id: Some(principal.user_id),
        };
        let (movement, _) = products::apply_movement(&mut tx, principal.tenant_id, &movement)
            .await
            .map_err(|e| match products::stock_refusal(&e) {
                Some(refusal) => insufficient(&product, location_id, refusal.available(quantity), quantity),
                None if out_of_range(&e) => AppError::conflict(
                    "stock_out_of_range",
                    "This movement would take the stock beyond what can be counted.",
                ),
                None => e.into(),
            })?;
        let stock = products::stock_level(&mut tx, location_id, product_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let recorded = MovementRecorded { movement, stock };
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(
                principal.actor(),
                "stock.moved",
                "stock_movement",
                recorded.movement.id,
            )
            .after(&recorded),
        )
        .await?;
        let answer = created(&mut tx, scope, idempotency_key, &recorded).await?;
        tx.commit().await?;
        Ok(answer)
    }

    /// One page of a branch's movements, newest first.
    pub async fn stock_movements(
        &self,
        principal: &Principal,
        location_id: Uuid,
        query: &MovementQuery,
    ) -> Result<MovementPage, AppError> {
        principal.require(Permission::StockManage)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        own_locations(&mut tx, &[location_id]).await?;
        let limit = query.limit.unwrap_or(50);
        let mut v = Validator::default();
        within(&mut v, "limit", limit, 1..=200);
        v.finish()?;
        if let Some(product_id) = query.product_id {
            products::get_product(&mut tx, product_id)
                .await?
                .ok_or(AppError::NotFound)?;
        }
        let filter = MovementFilter {
            product_id: query.product_id,
            before_id: query.cursor,
        };
        let mut items = products::list_movements(&mut tx, location_id, &filter, limit + 1).await?;
        tx.commit().await?;
        let next_cursor = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(|m| m.id)
        } else {
            None
        };
        Ok(MovementPage { items, next_cursor })
    }
}

// ------------------------------------------------------------ the demo salon

/// (SKU, barcode, name, HSN code, price and cost in rupees, low-stock
/// threshold, opening stock at each branch).
type DemoProduct = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    i64,
    i64,
    i32,
    [i32; 2],
);

/// A salon's retail shelf: hair care (HSN 3305), skin care and make-up
/// (3304) and a soap (3401); a few lines already low at one branch.
#[rustfmt::skip]
const DEMO_PRODUCTS: [DemoProduct; 12] = [
    ("HC-ABS-SH300",  "8901030001079", "Absolut Repair Shampoo 300 ml",     "3305", 1150, 780, 4, [14, 9]),
    ("HC-ABS-CN200",  "8901030001147", "Absolut Repair Conditioner 200 ml", "3305", 1100, 740, 4, [11, 3]),
    ("HC-SMT-SH350",  "8901030001215", "Smooth Straight Shampoo 350 ml",    "3305", 795,  520, 5, [18, 12]),
    ("HC-SMT-CN196",  "8901030001284", "Smooth Straight Conditioner 196 g", "3305", 750,  490, 5, [4, 10]),
    ("HC-ARG-OIL100", "8901030001352", "Argan Hair Oil 100 ml",             "3305", 1450, 900, 3, [7, 6]),
    ("SK-NIA-SR30",   "8901030001420", "10% Niacinamide Face Serum 30 ml",  "3304", 599,  360, 6, [20, 15]),
    ("SK-VTC-SR30",   "8901030001499", "Vitamin C Brightening Serum 30 ml", "3304", 899,  540, 6, [9, 2]),
    ("SK-SPF-50G",    "8901030001567", "Matte Sunscreen SPF 50, 50 g",      "3304", 650,  390, 6, [16, 14]),
    ("MU-LIP-RED",    "8901030001635", "Matte Lipstick, Ruby Red",          "3304", 500,  280, 3, [8, 5]),
    ("MU-CMP-IVR",    "8901030001703", "Perfect Radiance Compact, Ivory",   "3304", 750,  430, 3, [6, 6]),
    ("MU-FND-128",    "8901030001772", "Fit Me Foundation 128, 30 ml",      "3304", 599,  350, 3, [2, 7]),
    ("SP-HON-125",    "8901030001840", "Honey & Saffron Luxury Soap 125 g", "3401", 575,  300, 8, [24, 20]),
];

/// The demo salon's shelf, with opening stock bought in at both branches.
pub(crate) async fn seed_demo(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    branches: &[Uuid],
) -> Result<(), AppError> {
    for (sku, barcode, name, hsn_code, price, cost, threshold, opening) in DEMO_PRODUCTS {
        let fields = ProductFields {
            sku: sku.to_owned(),
            barcode: Some(barcode.to_owned()),
            name: name.to_owned(),
            hsn_code: hsn_code.to_owned(),
            price_paise: price * 100,
            cost_paise: cost * 100,
            low_stock_threshold: threshold,
            active: true,
        };
        let product = products::insert_product(conn, tenant_id, Uuid::now_v7(), &fields).await?;
        for (branch, quantity) in branches.iter().zip(opening) {
            products::move_stock(
                conn,
                tenant_id,
                *branch,
                product.id,
                "purchase",
                quantity,
                None,
                "Opening stock",
                None,
            )
            .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(kind: &str, quantity: i32) -> MovementRequest {
        MovementRequest {
            product_id: Some(Uuid::nil()),
            kind: Some(kind.to_owned()),
            quantity: Some(quantity),
            note: None,
        }
    }

    fn refused_field(kind: &str, quantity: i32) -> Option<String> {
        match check_movement(&request(kind, quantity)) {
            Err(AppError::Validation(errors)) => errors.first().map(|e| e.field.clone()),
            _ => None,
        }
    }

    #[test]
    fn purchases_and_returns_add_internal_use_takes_and_adjustments_do_either() {
        for (kind, quantity) in [
            ("purchase", 5),
            ("return", 1),
            ("internal_use", -2),
            ("adjustment", 3),
            ("adjustment", -3),
        ] {
            assert_eq!(refused_field(kind, quantity), None, "{kind} {quantity}");
        }
        for (kind, quantity, field) in [
            ("purchase", -5, "quantity"),
            ("return", -1, "quantity"),
            ("internal_use", 2, "quantity"),
            ("adjustment", 0, "quantity"),
            ("purchase", MAX_MOVED + 1, "quantity"),
            ("adjustment", i32::MIN, "quantity"),
            ("sale", -1, "kind"),
        ] {
            assert_eq!(
                refused_field(kind, quantity).as_deref(),
                Some(field),
                "{kind} {quantity}"
            );
        }
    }

    #[test]
    fn skus_and_barcodes_have_their_shapes() {
        assert!(is_sku("HC-ABS.SH_300"));
        assert!(!is_sku(""));
        assert!(!is_sku("two words"));
        assert!(!is_sku(&"x".repeat(41)));
        assert!(is_barcode("8901030001079"));
        assert!(!is_barcode("1234567"));
        assert!(!is_barcode("123456789012345"));
        assert!(!is_barcode("89010300000a4"));
    }

    #[test]
    fn the_demo_shelf_is_valid_and_every_sku_and_barcode_is_unique() {
        let mut skus = std::collections::BTreeSet::new();
        let mut barcodes = std::collections::BTreeSet::new();
        for (sku, barcode, name, hsn_code, price, cost, threshold, _) in DEMO_PRODUCTS {
            let fields = ProductFields {
                sku: sku.to_owned(),
                barcode: Some(barcode.to_owned()),
                name: name.to_owned(),
                hsn_code: hsn_code.to_owned(),
                price_paise: price * 100,
                cost_paise: cost * 100,
                low_stock_threshold: threshold,
                active: true,
            };
            assert!(check_product(fields).is_ok(), "{sku}");
            assert!(cost < price, "{sku} sells above cost");
            assert!(skus.insert(sku) && barcodes.insert(barcode), "{sku}");
        }
    }
}
