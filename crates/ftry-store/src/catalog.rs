//! What a business sells and where: tax classes, service categories,
//! services and the branches that offer them, resources (rooms, chairs,
//! stations), and each branch's opening hours, closures and online booking
//! rules.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

// ------------------------------------------------------------ tax classes

/// A SAC/HSN code with the rate in force on the day asked about.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TaxClass {
    pub code: String,
    pub kind: String,
    pub description: String,
    /// Basis points: 500 = 5%.
    pub rate_bp: i32,
    pub effective_from: NaiveDate,
}

pub async fn tax_classes(conn: &mut PgConnection, on: NaiveDate) -> Result<Vec<TaxClass>, sqlx::Error> {
    sqlx::query_as(
        "SELECT DISTINCT ON (c.code) c.code, c.kind, c.description, r.rate_bp, r.effective_from
           FROM tax_classes c JOIN tax_rates r ON r.code = c.code
          WHERE r.effective_from <= $1
          ORDER BY c.code, r.effective_from DESC",
    )
    .bind(on)
    .fetch_all(conn)
    .await
}

/// Whether `code` is a tax class of services (not goods).
pub async fn is_service_tax_class(conn: &mut PgConnection, code: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM tax_classes WHERE code = $1 AND kind = 'service')")
        .bind(code)
        .fetch_one(conn)
        .await
}

// ------------------------------------------------------------ categories

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Category {
    pub id: Uuid,
    pub name: String,
    pub display_order: i32,
}

pub async fn list_categories(conn: &mut PgConnection) -> Result<Vec<Category>, sqlx::Error> {
    sqlx::query_as("SELECT id, name, display_order FROM service_categories ORDER BY display_order, name, id")
        .fetch_all(conn)
        .await
}

pub async fn category_exists(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM service_categories WHERE id = $1)")
        .bind(id)
        .fetch_one(conn)
        .await
}

/// The category, locked against concurrent changes until the transaction ends.
pub async fn lock_category(conn: &mut PgConnection, id: Uuid) -> Result<Option<Category>, sqlx::Error> {
    sqlx::query_as("SELECT id, name, display_order FROM service_categories WHERE id = $1 FOR NO KEY UPDATE")
        .bind(id)
        .fetch_optional(conn)
        .await
}

pub async fn insert_category(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    category: &Category,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO service_categories (tenant_id, id, name, display_order) VALUES ($1, $2, $3, $4)",
    )
    .bind(tenant_id)
    .bind(category.id)
    .bind(&category.name)
    .bind(category.display_order)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn update_category(conn: &mut PgConnection, category: &Category) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE service_categories SET name = $2, display_order = $3 WHERE id = $1")
        .bind(category.id)
        .bind(&category.name)
        .bind(category.display_order)
        .execute(conn)
        .await?;
    Ok(())
}

// ------------------------------------------------------------ services

/// What can be written of a service.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ServiceFields {
    pub category_id: Option<Uuid>,
    pub name: String,
    pub description: String,
    pub duration_minutes: i32,
    pub buffer_before_minutes: i32,
    pub buffer_after_minutes: i32,
    /// Minutes after the start when the staff member becomes free (colour
    /// developing); set together with `processing_minutes`.
    pub processing_offset_minutes: Option<i32>,
    pub processing_minutes: Option<i32>,
    pub price_paise: i64,
    pub tax_code: String,
    pub resource_type: Option<String>,
    pub online_bookable: bool,
    pub active: bool,
    pub display_order: i32,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Service {
    pub id: Uuid,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub fields: ServiceFields,
    pub currency: String,
    /// The branches that offer it.
    pub location_ids: Vec<Uuid>,
    pub created_at: DateTime<Utc>,
}

const SERVICE_SELECT: &str = "SELECT s.id, s.category_id, s.name, s.description, s.duration_minutes,
        s.buffer_before_minutes, s.buffer_after_minutes, s.processing_offset_minutes, s.processing_minutes,
        s.price_paise, s.currency, s.tax_code, s.resource_type, s.online_bookable, s.active, s.display_order,
        s.created_at,
        ARRAY(SELECT sl.location_id FROM service_locations sl
               WHERE sl.tenant_id = s.tenant_id AND sl.service_id = s.id ORDER BY sl.location_id) AS location_ids
   FROM services s";

const SERVICE_ORDER: &str = "ORDER BY s.display_order, s.name, s.id";

/// Services, optionally only those offered at one branch and/or of one state.
pub async fn list_services(
    conn: &mut PgConnection,
    location_id: Option<Uuid>,
    active: Option<bool>,
) -> Result<Vec<Service>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{SERVICE_SELECT}
          WHERE ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM service_locations sl
                  WHERE sl.tenant_id = s.tenant_id AND sl.service_id = s.id AND sl.location_id = $1))
            AND ($2::boolean IS NULL OR s.active = $2)
          {SERVICE_ORDER}"
    ))
    .bind(location_id)
    .bind(active)
    .fetch_all(conn)
    .await
}

pub async fn services_by_id(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<Service>, sqlx::Error> {
    sqlx::query_as(&format!("{SERVICE_SELECT} WHERE s.id = ANY($1) {SERVICE_ORDER}"))
        .bind(ids)
        .fetch_all(conn)
        .await
}

pub async fn get_service(conn: &mut PgConnection, id: Uuid) -> Result<Option<Service>, sqlx::Error> {
    sqlx::query_as(&format!("{SERVICE_SELECT} WHERE s.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// The service, locked against concurrent changes until the transaction ends.
pub async fn lock_service(conn: &mut PgConnection, id: Uuid) -> Result<Option<Service>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{SERVICE_SELECT} WHERE s.id = $1 FOR NO KEY UPDATE OF s"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

pub async fn insert_service(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    fields: &ServiceFields,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO services (tenant_id, id, category_id, name, description, duration_minutes,
                               buffer_before_minutes, buffer_after_minutes, processing_offset_minutes,
                               processing_minutes, price_paise, tax_code, resource_type, online_bookable,
                               active, display_order)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(tenant_id)
    .bind(id)
    .bind(fields.category_id)
    .bind(&fields.name)
    .bind(&fields.description)
    .bind(fields.duration_minutes)
    .bind(fields.buffer_before_minutes)
    .bind(fields.buffer_after_minutes)
    .bind(fields.processing_offset_minutes)
    .bind(fields.processing_minutes)
    .bind(fields.price_paise)
    .bind(&fields.tax_code)
    .bind(&fields.resource_type)
    .bind(fields.online_bookable)
    .bind(fields.active)
    .bind(fields.display_order)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn update_service(
    conn: &mut PgConnection,
    id: Uuid,
    fields: &ServiceFields,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE services SET category_id = $2, name = $3, description = $4, duration_minutes = $5,
                buffer_before_minutes = $6, buffer_after_minutes = $7, processing_offset_minutes = $8,
                processing_minutes = $9, price_paise = $10, tax_code = $11, resource_type = $12,
                online_bookable = $13, active = $14, display_order = $15
          WHERE id = $1",
    )
    .bind(id)
    .bind(fields.category_id)
    .bind(&fields.name)
    .bind(&fields.description)
    .bind(fields.duration_minutes)
    .bind(fields.buffer_before_minutes)
    .bind(fields.buffer_after_minutes)
    .bind(fields.processing_offset_minutes)
    .bind(fields.processing_minutes)
    .bind(fields.price_paise)
    .bind(&fields.tax_code)
    .bind(&fields.resource_type)
    .bind(fields.online_bookable)
    .bind(fields.active)
    .bind(fields.display_order)
    .execute(conn)
    .await?;
    Ok(())
}

/// Replace the branches that offer a service.
pub async fn set_service_locations(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    service_id: Uuid,
    location_ids: &[Uuid],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM service_locations WHERE service_id = $1")
        .bind(service_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO service_locations (tenant_id, service_id, location_id)
         SELECT $1, $2, l FROM unnest($3::uuid[]) AS l",
    )
    .bind(tenant_id)
    .bind(service_id)
    .bind(location_ids)
    .execute(conn)
    .await?;
    Ok(())
}

// ------------------------------------------------------------ branches

/// Which of `ids` are branches of the transaction's tenant.
pub async fn known_locations(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM locations WHERE id = ANY($1) ORDER BY id")
        .bind(ids)
        .fetch_all(conn)
        .await
}

pub async fn all_location_ids(conn: &mut PgConnection) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM locations ORDER BY id")
        .fetch_all(conn)
        .await
}

/// Lock a branch so that concurrent replacements of its hours queue up;
/// `false` when the tenant has no such branch.
pub async fn lock_location(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    let found: Option<Uuid> = sqlx::query_scalar("SELECT id FROM locations WHERE id = $1 FOR NO KEY UPDATE")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(found.is_some())
}

/// One interval of a weekly schedule: minutes after midnight (wall clock of
/// the branch), ISO weekday 1 = Monday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct WeeklyInterval {
    pub weekday: i16,
    pub starts: i16,
    pub ends: i16,
}

pub async fn location_hours(
    conn: &mut PgConnection,
    location_id: Uuid,
) -> Result<Vec<WeeklyInterval>, sqlx::Error> {
    sqlx::query_as(
        "SELECT weekday, opens AS starts, closes AS ends FROM location_hours
          WHERE location_id = $1 ORDER BY weekday, opens",
    )
    .bind(location_id)
    .fetch_all(conn)
    .await
}

/// Replace a branch's weekly opening hours.
pub async fn set_location_hours(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    location_id: Uuid,
    hours: &[WeeklyInterval],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM location_hours WHERE location_id = $1")
        .bind(location_id)
        .execute(&mut *conn)
        .await?;
    let (weekdays, starts, ends) = columns(hours);
    sqlx::query(
        "INSERT INTO location_hours (tenant_id, location_id, weekday, opens, closes)
         SELECT $1, $2, w, s, e FROM unnest($3::int2[], $4::int2[], $5::int2[]) AS h (w, s, e)",
    )
    .bind(tenant_id)
    .bind(location_id)
    .bind(weekdays)
    .bind(starts)
    .bind(ends)
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) fn columns(intervals: &[WeeklyInterval]) -> (Vec<i16>, Vec<i16>, Vec<i16>) {
    (
        intervals.iter().map(|i| i.weekday).collect(),
        intervals.iter().map(|i| i.starts).collect(),
        intervals.iter().map(|i| i.ends).collect(),
    )
}

/// Days a branch is closed (holidays, renovation), both ends included.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Closure {
    pub id: Uuid,
    pub location_id: Uuid,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub reason: String,
}

pub async fn closures(conn: &mut PgConnection, location_id: Uuid) -> Result<Vec<Closure>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, location_id, first_day, last_day, reason FROM location_closures
          WHERE location_id = $1 ORDER BY first_day, id",
    )
    .bind(location_id)
    .fetch_all(conn)
    .await
}

pub async fn insert_closure(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    closure: &Closure,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO location_closures (tenant_id, id, location_id, first_day, last_day, reason)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(tenant_id)
    .bind(closure.id)
    .bind(closure.location_id)
    .bind(closure.first_day)
    .bind(closure.last_day)
    .bind(&closure.reason)
    .execute(conn)
    .await?;
    Ok(())
}

/// Remove a closure of this branch; `None` when there is none with that id.
pub async fn delete_closure(
    conn: &mut PgConnection,
    location_id: Uuid,
    id: Uuid,
) -> Result<Option<Closure>, sqlx::Error> {
    sqlx::query_as(
        "DELETE FROM location_closures WHERE location_id = $1 AND id = $2
         RETURNING id, location_id, first_day, last_day, reason",
    )
    .bind(location_id)
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// How clients may book a branch online.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct BookingRules {
    pub online_booking: bool,
    pub min_notice_minutes: i32,
    pub max_days_ahead: i32,
    pub slot_step_minutes: i32,
    pub cancellation_window_minutes: i32,
}

pub async fn booking_rules(
    conn: &mut PgConnection,
    location_id: Uuid,
) -> Result<Option<BookingRules>, sqlx::Error> {
    sqlx::query_as(
        "SELECT online_booking, min_notice_minutes, max_days_ahead, slot_step_minutes,
                cancellation_window_minutes
           FROM locations WHERE id = $1",
    )
    .bind(location_id)
    .fetch_optional(conn)
    .await
}

pub async fn set_booking_rules(
    conn: &mut PgConnection,
    location_id: Uuid,
    rules: &BookingRules,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE locations SET online_booking = $2, min_notice_minutes = $3, max_days_ahead = $4,
                slot_step_minutes = $5, cancellation_window_minutes = $6
          WHERE id = $1",
    )
    .bind(location_id)
    .bind(rules.online_booking)
    .bind(rules.min_notice_minutes)
    .bind(rules.max_days_ahead)
    .bind(rules.slot_step_minutes)
    .bind(rules.cancellation_window_minutes)
    .execute(conn)
    .await?;
    Ok(())
}

// ------------------------------------------------------------ resources

/// What can be written of a resource.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ResourceFields {
    pub location_id: Uuid,
    pub name: String,
    pub resource_type: String,
    /// How many clients it serves at once; 1 = never double-booked.
    pub capacity: i32,
    pub active: bool,
    pub display_order: i32,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Resource {
    pub id: Uuid,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub fields: ResourceFields,
}

const RESOURCE_SELECT: &str =
    "SELECT id, location_id, name, resource_type, capacity, active, display_order FROM resources";

pub async fn list_resources(
    conn: &mut PgConnection,
    location_id: Option<Uuid>,
) -> Result<Vec<Resource>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{RESOURCE_SELECT} WHERE ($1::uuid IS NULL OR location_id = $1)
          ORDER BY location_id, display_order, name, id"
    ))
    .bind(location_id)
    .fetch_all(conn)
    .await
}

/// The resource, locked against concurrent changes until the transaction ends.
pub async fn lock_resource(conn: &mut PgConnection, id: Uuid) -> Result<Option<Resource>, sqlx::Error> {
    sqlx::query_as(&format!("{RESOURCE_SELECT} WHERE id = $1 FOR NO KEY UPDATE"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

pub async fn insert_resource(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    fields: &ResourceFields,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO resources (tenant_id, id, location_id, name, resource_type, capacity, active, display_order)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tenant_id)
    .bind(id)
    .bind(fields.location_id)
    .bind(&fields.name)
    .bind(&fields.resource_type)
    .bind(fields.capacity)
    .bind(fields.active)
    .bind(fields.display_order)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn update_resource(
    conn: &mut PgConnection,
    id: Uuid,
    fields: &ResourceFields,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE resources SET location_id = $2, name = $3, resource_type = $4, capacity = $5, active = $6,
                display_order = $7
          WHERE id = $1",
    )
    .bind(id)
    .bind(fields.location_id)
    .bind(&fields.name)
    .bind(&fields.resource_type)
    .bind(fields.capacity)
    .bind(fields.active)
    .bind(fields.display_order)
    .execute(conn)
    .await?;
    Ok(())
}
