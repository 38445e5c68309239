//! Tenants, their branches (locations) and plan limits.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Tenant {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub max_users: i32,
    pub max_locations: i32,
    /// How the business charges GST: `regular`, `composition` or `unregistered`.
    pub gst_registration: String,
    /// Whether prices are shown to clients with GST in them.
    pub prices_include_tax: bool,
    /// Whether an invoice's grand total is rounded to the rupee.
    pub round_off: bool,
    /// Whether a sale may take a product's stock below zero.
    pub allow_negative_stock: bool,
    pub created_at: DateTime<Utc>,
}

/// Changes to a business's settings; `None` leaves a setting as it is.
#[derive(Debug, Default)]
pub struct SettingsChange<'a> {
    pub name: Option<&'a str>,
    pub gst_registration: Option<&'a str>,
    pub prices_include_tax: Option<bool>,
    pub round_off: Option<bool>,
    pub allow_negative_stock: Option<bool>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Location {
    pub id: Uuid,
    pub name: String,
    pub address: String,
    pub state_code: String,
    pub gstin: Option<String>,
    pub timezone: String,
    pub currency: String,
    pub created_at: DateTime<Utc>,
}

pub struct NewLocation<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub address: &'a str,
    pub state_code: &'a str,
    pub gstin: Option<&'a str>,
    pub timezone: &'a str,
}

const TENANT_COLUMNS: &str =
    "id, slug, name, status, status_reason, max_users, max_locations, gst_registration,
     prices_include_tax, round_off, allow_negative_stock, created_at";
const LOCATION_COLUMNS: &str = "id, name, address, state_code, gstin, timezone, currency, created_at";

/// Insert a tenant; the transaction's tenant context must be `id`.
/// Returns `false` when the slug is taken.
pub async fn insert(conn: &mut PgConnection, id: Uuid, slug: &str, name: &str) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO tenants (id, slug, name, status) VALUES ($1, $2, $3, 'active')
         ON CONFLICT (slug) DO NOTHING",
    )
    .bind(id)
    .bind(slug)
    .bind(name)
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Option<Tenant>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

pub async fn find_by_slug(conn: &mut PgConnection, slug: &str) -> Result<Option<Tenant>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE slug = $1"))
        .bind(slug)
        .fetch_optional(conn)
        .await
}

pub async fn change_settings(
    conn: &mut PgConnection,
    id: Uuid,
    change: &SettingsChange<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE tenants SET name = COALESCE($2, name), gst_registration = COALESCE($3, gst_registration),
                prices_include_tax = COALESCE($4, prices_include_tax), round_off = COALESCE($5, round_off),
                allow_negative_stock = COALESCE($6, allow_negative_stock)
          WHERE id = $1",
    )
    .bind(id)
    .bind(change.name)
    .bind(change.gst_registration)
    .bind(change.prices_include_tax)
    .bind(change.round_off)
    .bind(change.allow_negative_stock)
    .execute(conn)
    .await?;
    Ok(())
}

/// Set a tenant's status; the transaction's context must be that tenant.
pub async fn set_status(
    conn: &mut PgConnection,
    id: Uuid,
    status: &str,
    reason: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE tenants SET status = $2, status_reason = $3, status_changed_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Every tenant, newest first, for platform operators.
pub async fn list_all(
    conn: &mut PgConnection,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Tenant>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {TENANT_COLUMNS} FROM tenants WHERE ($1::uuid IS NULL OR id < $1) ORDER BY id DESC LIMIT $2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await
}

pub async fn insert_location(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    location: &NewLocation<'_>,
) -> Result<Location, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO locations (tenant_id, id, name, address, state_code, gstin, timezone)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {LOCATION_COLUMNS}"
    ))
    .bind(tenant_id)
    .bind(location.id)
    .bind(location.name)
    .bind(location.address)
    .bind(location.state_code)
    .bind(location.gstin)
    .bind(location.timezone)
    .fetch_one(conn)
    .await
}

/// Change a branch's name, address or GSTIN (`Some(None)` removes the GSTIN);
/// `None` leaves each as it is.
pub async fn update_location(
    conn: &mut PgConnection,
    id: Uuid,
    name: Option<&str>,
    address: Option<&str>,
    gstin: Option<Option<&str>>,
) -> Result<Option<Location>, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE locations SET name = COALESCE($2, name), address = COALESCE($3, address),
                gstin = CASE WHEN $4 THEN $5 ELSE gstin END
          WHERE id = $1 RETURNING {LOCATION_COLUMNS}"
    ))
    .bind(id)
    .bind(name)
    .bind(address)
    .bind(gstin.is_some())
    .bind(gstin.flatten())
    .fetch_optional(conn)
    .await
}

pub async fn list_locations(conn: &mut PgConnection) -> Result<Vec<Location>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {LOCATION_COLUMNS} FROM locations ORDER BY created_at, id"
    ))
    .fetch_all(conn)
    .await
}

pub async fn get_location(conn: &mut PgConnection, id: Uuid) -> Result<Option<Location>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {LOCATION_COLUMNS} FROM locations WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Counts used by plan limits and the platform's usage view.
#[derive(Debug, Clone, Copy, Serialize, sqlx::FromRow)]
pub struct Usage {
    pub users: i64,
    pub locations: i64,
}

pub async fn usage(conn: &mut PgConnection) -> Result<Usage, sqlx::Error> {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM users WHERE status <> 'disabled') AS users,
                (SELECT count(*) FROM locations) AS locations",
    )
    .fetch_one(conn)
    .await
}

/// Lock the tenant row so concurrent invitations cannot both pass a plan limit.
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
