//! Retail products, their stock at each branch and the movements that
//! changed it. Stock changes only through `move_stock`, which updates the
//! level and records the movement in the caller's transaction; the database
//! refuses a decrease below zero unless the business allows negative stock
//! (the `stock_not_negative` trigger).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

// ------------------------------------------------------------ products

/// What can be written of a product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ProductFields {
    pub sku: String,
    pub barcode: Option<String>,
    pub name: String,
    pub hsn_code: String,
    pub price_paise: i64,
    pub cost_paise: i64,
    pub low_stock_threshold: i32,
    pub active: bool,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Product {
    pub id: Uuid,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub fields: ProductFields,
    pub created_at: DateTime<Utc>,
}

const PRODUCT_SELECT: &str = "SELECT id, sku, barcode, name, hsn_code, price_paise, cost_paise,
        low_stock_threshold, active, created_at
   FROM products";

/// Products by name, optionally only (in)active ones and only those whose
/// name or SKU starts with `prefix` (any case).
pub async fn list_products(
    conn: &mut PgConnection,
    active: Option<bool>,
    prefix: Option<&str>,
) -> Result<Vec<Product>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{PRODUCT_SELECT}
          WHERE ($1::boolean IS NULL OR active = $1)
            AND ($2::text IS NULL OR starts_with(lower(name), lower($2)) OR starts_with(lower(sku), lower($2)))
          ORDER BY lower(name), id"
    ))
    .bind(active)
    .bind(prefix)
    .fetch_all(conn)
    .await
}

pub async fn get_product(conn: &mut PgConnection, id: Uuid) -> Result<Option<Product>, sqlx::Error> {
    sqlx::query_as(&format!("{PRODUCT_SELECT} WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// The product, locked against concurrent changes until the transaction ends.
pub async fn lock_product(conn: &mut PgConnection, id: Uuid) -> Result<Option<Product>, sqlx::Error> {
    sqlx::query_as(&format!("{PRODUCT_SELECT} WHERE id = $1 FOR NO KEY UPDATE"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Whether `code` is a tax class of goods (an HSN code, not a SAC code).
pub async fn is_goods_tax_class(conn: &mut PgConnection, code: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM tax_classes WHERE code = $1 AND kind = 'goods')")
        .bind(code)
        .fetch_one(conn)
        .await
}

pub async fn insert_product(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    fields: &ProductFields,
) -> Result<Product, sqlx::Error> {
    sqlx::query_as(
        "INSERT INTO products (tenant_id, id, sku, barcode, name, hsn_code, price_paise, cost_paise,
                               low_stock_threshold, active)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         RETURNING id, sku, barcode, name, hsn_code, price_paise, cost_paise, low_stock_threshold, active,
                   created_at",
    )
    .bind(tenant_id)
    .bind(id)
    .bind(&fields.sku)
    .bind(&fields.barcode)
    .bind(&fields.name)
    .bind(&fields.hsn_code)
    .bind(fields.price_paise)
    .bind(fields.cost_paise)
    .bind(fields.low_stock_threshold)
    .bind(fields.active)
    .fetch_one(conn)
    .await
}

pub async fn update_product(
    conn: &mut PgConnection,
    id: Uuid,
    fields: &ProductFields,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE products SET sku = $2, barcode = $3, name = $4, hsn_code = $5, price_paise = $6,
                cost_paise = $7, low_stock_threshold = $8, active = $9
          WHERE id = $1",
    )
    .bind(id)
    .bind(&fields.sku)
    .bind(&fields.barcode)
    .bind(&fields.name)
    .bind(&fields.hsn_code)
    .bind(fields.price_paise)
    .bind(fields.cost_paise)
    .bind(fields.low_stock_threshold)
    .bind(fields.active)
    .execute(conn)
    .await?;
    Ok(())
}

// ------------------------------------------------------------ stock levels

/// How much of a product a branch holds; a product never moved there holds 0.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct StockLevel {
    pub product_id: Uuid,
    pub sku: String,
    pub name: String,
    pub quantity: i32,
    pub low_stock_threshold: i32,
    /// At or below the threshold: time to reorder.
    pub low: bool,
}

const STOCK_SELECT: &str = "SELECT p.id AS product_id, p.sku, p.name, coalesce(s.quantity, 0) AS quantity,
        p.low_stock_threshold, coalesce(s.quantity, 0) <= p.low_stock_threshold AS low
   FROM products p
   LEFT JOIN stock_levels s ON s.tenant_id = p.tenant_id AND s.product_id = p.id AND s.location_id = $1";

/// The stock of every active product at a branch, by name; `low` keeps only
/// the products at or below (`true`) or above (`false`) their threshold.
pub async fn stock_levels(
    conn: &mut PgConnection,
    location_id: Uuid,
    low: Option<bool>,
) -> Result<Vec<StockLevel>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{STOCK_SELECT}
          WHERE p.active AND ($2::boolean IS NULL OR (coalesce(s.quantity, 0) <= p.low_stock_threshold) = $2)
          ORDER BY lower(p.name), p.id"
    ))
    .bind(location_id)
    .bind(low)
    .fetch_all(conn)
    .await
}

/// The stock of one product (active or not) at a branch.
pub async fn stock_level(
    conn: &mut PgConnection,
    location_id: Uuid,
    product_id: Uuid,
) -> Result<Option<StockLevel>, sqlx::Error> {
    sqlx::query_as(&format!("{STOCK_SELECT} WHERE p.id = $2"))
        .bind(location_id)
        .bind(product_id)
        .fetch_optional(conn)
        .await
}

// ------------------------------------------------------------ movements

/// One recorded change of a branch's stock of a product.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct StockMovement {
    pub id: Uuid,
    pub location_id: Uuid,
    pub product_id: Uuid,
    /// `purchase`, `sale`, `adjustment`, `return` or `internal_use`.
    pub kind: String,
    /// Signed: what came in (positive) or went out (negative).
    pub quantity: i32,
    /// The invoice or credit note of a sale or a return.
    pub reference: Option<Uuid>,
    pub note: String,
    pub actor_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

/// A movement to apply; `id` orders the movements list.
#[derive(Debug, Clone)]
pub struct NewMovement<'a> {
    pub id: Uuid,
    pub location_id: Uuid,
    pub product_id: Uuid,
    pub kind: &'a str,
    pub quantity: i32,
    pub reference: Option<Uuid>,
    pub note: &'a str,
    pub actor_id: Option<Uuid>,
}

/// Apply a movement: change the branch's stock level and record the
/// movement, in the caller's transaction. Returns the recorded movement and
/// the new quantity. A decrease below zero that the business does not allow
/// fails with the error `stock_refusal` recognises, and the transaction
/// must then be rolled back.
pub async fn apply_movement(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    movement: &NewMovement<'_>,
) -> Result<(StockMovement, i32), sqlx::Error> {
    let recorded = record_movement(&mut *conn, tenant_id, movement).await?;
    let quantity = change_level(conn, movement).await?;
    Ok((recorded, quantity))
}

/// The first half of a movement: the level created if it does not exist
/// yet and the movement recorded, neither of which waits for a till
/// changing the level. [`change_level`] completes it.
///
/// The level's row is locked from its change until the transaction ends,
/// and every till selling the product waits for it: so it changes last.
/// (An insert into an existing row another till is changing would wait for
/// it; an upsert would fire the insert trigger on the bare, negative,
/// change; the movement only reads the level's key.)
pub async fn record_movement(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    movement: &NewMovement<'_>,
) -> Result<StockMovement, sqlx::Error> {
    sqlx::query(
        "INSERT INTO stock_levels (tenant_id, location_id, product_id)
         SELECT $1, $2, $3
          WHERE NOT EXISTS (SELECT 1 FROM stock_levels WHERE location_id = $2 AND product_id = $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(tenant_id)
    .bind(movement.location_id)
    .bind(movement.product_id)
    .execute(&mut *conn)
    .await?;
    let recorded = sqlx::query_as(
        "INSERT INTO stock_movements (tenant_id, id, location_id, product_id, kind, quantity, reference, note,
                                      actor_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         RETURNING id, location_id, product_id, kind, quantity, reference, note, actor_id, at",
    )
    .bind(tenant_id)
    .bind(movement.id)
    .bind(movement.location_id)
    .bind(movement.product_id)
    .bind(movement.kind)
    .bind(movement.quantity)
    .bind(movement.reference)
    .bind(movement.note)
    .bind(movement.actor_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(recorded)
}

/// The level's change of a recorded movement (refused by the
/// `stock_not_negative` check where it would go below zero): the quantity
/// left.
pub async fn change_level(conn: &mut PgConnection, movement: &NewMovement<'_>) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE stock_levels SET quantity = quantity + $3 WHERE location_id = $1 AND product_id = $2
         RETURNING quantity",
    )
    .bind(movement.location_id)
    .bind(movement.product_id)
    .bind(movement.quantity)
    .fetch_one(conn)
    .await
}

/// `apply_movement` for the invoices: a sale (`"sale"`, negative) or a
/// credit-note return (`"return"`, positive) referring to its document.
/// Returns the new quantity.
#[allow(clippy::too_many_arguments)] // the invoices' call sites name each value in place
pub async fn move_stock(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    location_id: Uuid,
    product_id: Uuid,
    kind: &str,
    quantity: i32,
    reference: Option<Uuid>,
    note: &str,
    actor: Option<Uuid>,
) -> Result<i32, sqlx::Error> {
    let movement = NewMovement {
        id: Uuid::now_v7(),
        location_id,
        product_id,
        kind,
        quantity,
        reference,
        note,
        actor_id: actor,
    };
    let (_, quantity) = apply_movement(conn, tenant_id, &movement).await?;
    Ok(quantity)
}

/// A movement the `stock_not_negative` check refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StockRefusal {
    pub product_id: Uuid,
    pub location_id: Uuid,
    /// The quantity the movement would have left.
    pub would_be: i32,
}

impl StockRefusal {
    /// What the branch holds: the quantity that would be left, less the movement's `quantity`.
    pub fn available(&self, quantity: i32) -> i32 {
        self.would_be.saturating_sub(quantity)
    }
}

/// The refusal, when `error` is the `stock_not_negative` check's.
pub fn stock_refusal(error: &sqlx::Error) -> Option<StockRefusal> {
    let database = error.as_database_error()?;
    if database.constraint() != Some("stock_not_negative") {
        return None;
    }
    parse_refusal(database.message())
}

/// "stock of product <uuid> at location <uuid> would be <n>", as the trigger raises it.
fn parse_refusal(message: &str) -> Option<StockRefusal> {
    let rest = message.strip_prefix("stock of product ")?;
    let (product_id, rest) = rest.split_once(" at location ")?;
    let (location_id, would_be) = rest.split_once(" would be ")?;
    Some(StockRefusal {
        product_id: product_id.parse().ok()?,
        location_id: location_id.parse().ok()?,
        would_be: would_be.parse().ok()?,
    })
}

/// Filters of the movements list.
#[derive(Debug, Clone, Default)]
pub struct MovementFilter {
    pub product_id: Option<Uuid>,
    /// Return movements older than this one (ids are time-ordered UUIDv7).
    pub before_id: Option<Uuid>,
}

/// A branch's movements, newest first, at most `limit`.
pub async fn list_movements(
    conn: &mut PgConnection,
    location_id: Uuid,
    filter: &MovementFilter,
    limit: i64,
) -> Result<Vec<StockMovement>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, location_id, product_id, kind, quantity, reference, note, actor_id, at
           FROM stock_movements
          WHERE location_id = $1
            AND ($2::uuid IS NULL OR product_id = $2)
            AND ($3::uuid IS NULL OR id < $3)
          ORDER BY id DESC LIMIT $4",
    )
    .bind(location_id)
    .bind(filter.product_id)
    .bind(filter.before_id)
    .bind(limit)
    .fetch_all(conn)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_triggers_refusal_names_product_location_and_what_would_be_left() {
        let product = Uuid::from_u128(1);
        let location = Uuid::from_u128(2);
        let refusal = parse_refusal(&format!(
            "stock of product {product} at location {location} would be -3"
        ));
        assert_eq!(
            refusal,
            Some(StockRefusal {
                product_id: product,
                location_id: location,
                would_be: -3
            })
        );
        assert_eq!(refusal.map(|r| r.available(-5)), Some(2));
        assert_eq!(parse_refusal("stock would be -3"), None);
        assert_eq!(
            parse_refusal(&format!(
                "stock of product {product} at location {location} would be many"
            )),
            None
        );
    }
}
