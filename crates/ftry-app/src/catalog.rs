//! The catalog and the branches' schedules: tax classes, service categories,
//! services and the branches that offer them, resources, and each branch's
//! opening hours, closures and online booking rules.
//!
//! Writes that name a record by id in the path find it first, so another
//! business's id is a 404 whatever the body says; then the body is checked
//! (422), then the ids it refers to (404 when this business has no such
//! record), and constraint violations become precise 409s.

use std::collections::BTreeSet;
use std::fmt::Display;
use std::ops::RangeInclusive;

use chrono::{NaiveDate, Utc};
use ftry_domain::permissions::Permission;
use ftry_store::audit::{self, Event, Origin};
use ftry_store::catalog::{
    self, BookingRules, Category, Closure, Resource, ResourceFields, Service, ServiceFields, TaxClass,
    WeeklyInterval,
};
use ftry_store::staff;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{AppError, Validator};
use crate::{App, Principal};

// ------------------------------------------------------------ shared rules

/// A database constraint whose violation has a precise answer.
pub(crate) struct Constraint {
    pub name: &'static str,
    pub code: &'static str,
    pub detail: &'static str,
}

/// Turn the violation of one of `known` into its 409; any other error stays internal.
pub(crate) fn on_constraint(known: &'static [Constraint]) -> impl Fn(sqlx::Error) -> AppError {
    move |e| {
        let violated = e.as_database_error().and_then(|d| d.constraint());
        match known.iter().find(|c| Some(c.name) == violated) {
            Some(c) => AppError::conflict(c.code, c.detail),
            None => e.into(),
        }
    }
}

/// For fields that can be cleared: absent = keep, `null` = clear.
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A 422 naming every field a create request left out.
pub(crate) fn require(fields: &[(&str, bool)]) -> Result<(), AppError> {
    let mut v = Validator::default();
    for (field, present) in fields {
        if !present {
            v.push(field, "is required");
        }
    }
    v.finish()
}

pub(crate) fn within<T: PartialOrd + Display>(
    v: &mut Validator,
    field: &str,
    value: T,
    range: RangeInclusive<T>,
) {
    if !range.contains(&value) {
        v.push(
            field,
            format!("must be between {} and {}", range.start(), range.end()),
        );
    }
}

/// A free text of at most `max` characters that may span lines; may be empty.
pub(crate) fn long_text(v: &mut Validator, field: &str, value: &str, max: usize) -> String {
    let trimmed = value.trim();
    if trimmed.chars().count() > max {
        v.push(field, format!("must be at most {max} characters"));
    } else if trimmed
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        v.push(field, "must not contain control characters");
    }
    trimmed.to_owned()
}

/// Resource types tie services to the resources they need: `spa_room`, `styling_chair`.
fn check_resource_type(v: &mut Validator, field: &str, value: &str) {
    let valid = (1..=40).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !valid {
        v.push(
            field,
            "must be 1–40 lowercase letters, digits, `_` or `-`, e.g. `spa_room`",
        );
    }
}

/// The branches named, all of which must be this business's (else 404).
pub(crate) async fn own_locations(
    conn: &mut sqlx::PgConnection,
    ids: &[Uuid],
) -> Result<Vec<Uuid>, AppError> {
    let wanted: Vec<Uuid> = ids.iter().copied().collect::<BTreeSet<_>>().into_iter().collect();
    let known = catalog::known_locations(conn, &wanted).await?;
    if known.len() == wanted.len() {
        Ok(known)
    } else {
        Err(AppError::NotFound)
    }
}

// ------------------------------------------------------------ weekly schedules

/// `["09:00", "13:00"]`: wall-clock times in the branch's zone; `24:00`
/// may end a day.
pub type Span = [String; 2];

/// "HH:MM" → minutes after midnight.
fn parse_clock(text: &str) -> Option<i16> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (i16, i16) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (0..=23, 0..=59) | (24, 0) => Some(h * 60 + m),
        _ => None,
    }
}

fn clock(minutes: i16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

fn span(interval: &WeeklyInterval) -> Span {
    [clock(interval.starts), clock(interval.ends)]
}

/// One day's intervals, sorted; what is wrong is recorded under `field`.
fn day_intervals(v: &mut Validator, field: &str, weekday: i16, spans: &[Span]) -> Vec<WeeklyInterval> {
    let mut parsed = Vec::new();
    for (i, [start, end]) in spans.iter().enumerate() {
        let starts = parse_clock(start).filter(|s| *s < 24 * 60);
        let ends = parse_clock(end).filter(|e| *e > 0);
        match (starts, ends) {
            (Some(starts), Some(ends)) if starts < ends => parsed.push(WeeklyInterval {
                weekday,
                starts,
                ends,
            }),
            (Some(_), Some(_)) => v.push(&format!("{field}[{i}]"), "must start before it ends"),
            _ => v.push(
                &format!("{field}[{i}]"),
                "must be two times \"HH:MM\" (00:00–23:59; 24:00 may end a day)",
            ),
        }
    }
    parsed.sort_by_key(|i| i.starts);
    for pair in parsed.windows(2) {
        if pair[1].starts < pair[0].ends {
            let ([a, b], [c, d]) = (span(&pair[0]), span(&pair[1]));
            v.push(field, format!("{a}–{b} and {c}–{d} overlap"));
        }
    }
    parsed
}

/// A week as the API writes it: (weekday, work, breaks) per listed day.
/// Returns the work and break intervals; a day listed twice, an overlap or a
/// break outside working hours is recorded in `v`.
pub(crate) fn parse_week<'a>(
    v: &mut Validator,
    days: impl IntoIterator<Item = (i16, &'a [Span], &'a [Span])>,
) -> (Vec<WeeklyInterval>, Vec<WeeklyInterval>) {
    let (mut work, mut breaks) = (Vec::new(), Vec::new());
    let mut seen = BTreeSet::new();
    for (i, (weekday, day_work, day_breaks)) in days.into_iter().enumerate() {
        let at = format!("days[{i}]");
        if !(1..=7).contains(&weekday) {
            v.push(&format!("{at}.weekday"), "must be 1 (Monday) to 7 (Sunday)");
            continue;
        }
        if !seen.insert(weekday) {
            v.push(&format!("{at}.weekday"), "lists a day already listed");
            continue;
        }
        let day_work = day_intervals(v, &format!("{at}.work"), weekday, day_work);
        let day_breaks = day_intervals(v, &format!("{at}.breaks"), weekday, day_breaks);
        for b in &day_breaks {
            if !day_work.iter().any(|w| w.starts <= b.starts && b.ends <= w.ends) {
                let [from, to] = span(b);
                v.push(
                    &format!("{at}.breaks"),
                    format!("{from}–{to} is not inside a working interval"),
                );
            }
        }
        work.extend(day_work);
        breaks.extend(day_breaks);
    }
    (work, breaks)
}

/// The weekdays that have any interval, each with its spans of `work` and `breaks`.
pub(crate) fn week_days(
    work: &[WeeklyInterval],
    breaks: &[WeeklyInterval],
) -> Vec<(i16, Vec<Span>, Vec<Span>)> {
    let of = |intervals: &[WeeklyInterval], day: i16| -> Vec<Span> {
        let mut day_intervals: Vec<&WeeklyInterval> = intervals.iter().filter(|i| i.weekday == day).collect();
        day_intervals.sort_by_key(|i| i.starts);
        day_intervals.into_iter().map(span).collect()
    };
    (1..=7)
        .map(|day| (day, of(work, day), of(breaks, day)))
        .filter(|(_, w, b)| !w.is_empty() || !b.is_empty())
        .collect()
}

// ------------------------------------------------------------ tax classes

impl App {
    /// The tax classes with the rate in force today (Indian date).
    pub async fn tax_classes(&self, principal: &Principal) -> Result<Vec<TaxClass>, AppError> {
        let today = Utc::now().with_timezone(&chrono_tz::Asia::Kolkata).date_naive();
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let list = catalog::tax_classes(&mut tx, today).await?;
        tx.commit().await?;
        Ok(list)
    }
}

// ------------------------------------------------------------ categories

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryInput {
    /// 1–100 characters, unique in the business; required when creating.
    pub name: Option<String>,
    pub display_order: Option<i32>,
}

const CATEGORY_NAME: &[Constraint] = &[Constraint {
    name: "service_categories_tenant_id_name_key",
    code: "category_name_taken",
    detail: "Another service category already has this name.",
}];

fn check_category(input: &CategoryInput, mut category: Category) -> Result<Category, AppError> {
    let mut v = Validator::default();
    if let Some(name) = &input.name {
        category.name = v.text("name", name, 100).unwrap_or_default();
    }
    if let Some(order) = input.display_order {
        category.display_order = order;
    }
    v.finish()?;
    Ok(category)
}

impl App {
    pub async fn service_categories(&self, principal: &Principal) -> Result<Vec<Category>, AppError> {
        principal.require(Permission::ServicesRead)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let list = catalog::list_categories(&mut tx).await?;
        tx.commit().await?;
        Ok(list)
    }

    pub async fn create_service_category(
        &self,
        principal: &Principal,
        input: &CategoryInput,
        origin: &Origin,
    ) -> Result<Category, AppError> {
        principal.require(Permission::ServicesManage)?;
        require(&[("name", input.name.is_some())])?;
        let blank = Category {
            id: Uuid::now_v7(),
            name: String::new(),
            display_order: 0,
        };
        let category = check_category(input, blank)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        catalog::insert_category(&mut tx, principal.tenant_id, &category)
            .await
            .map_err(on_constraint(CATEGORY_NAME))?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(
                principal.actor(),
                "service_category.created",
                "service_category",
                category.id,
            )
            .after(&category),
        )
        .await?;
        tx.commit().await?;
        Ok(category)
    }

    pub async fn update_service_category(
        &self,
        principal: &Principal,
        id: Uuid,
        input: &CategoryInput,
        origin: &Origin,
    ) -> Result<Category, AppError> {
        principal.require(Permission::ServicesManage)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let before = catalog::lock_category(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let after = check_category(input, before.clone())?;
        catalog::update_category(&mut tx, &after)
            .await
            .map_err(on_constraint(CATEGORY_NAME))?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(
                principal.actor(),
                "service_category.updated",
                "service_category",
                id,
            )
            .before(&before)
            .after(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }
}

// ------------------------------------------------------------ services

/// A new service, or the fields of one to change (absent = unchanged).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceInput {
    /// 1–120 characters; required when creating.
    pub name: Option<String>,
    /// Up to 2000 characters.
    pub description: Option<String>,
    /// `null` for none.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Uuid>)]
    pub category_id: Option<Option<Uuid>>,
    /// 5–720 minutes; required when creating.
    pub duration_minutes: Option<i32>,
    /// 0–240 minutes before the service when the staff member is busy (preparation).
    pub buffer_before_minutes: Option<i32>,
    /// 0–240 minutes after the service when the staff member is busy (clean-up).
    pub buffer_after_minutes: Option<i32>,
    /// Start of the processing gap (the staff member is free, the client and
    /// the resource are not), in minutes after the start; `null` for none.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i32>)]
    pub processing_offset_minutes: Option<Option<i32>>,
    /// Length of the processing gap; it must end before the service does.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i32>)]
    pub processing_minutes: Option<Option<i32>>,
    /// Price in paise (₹1 = 100), tax exclusive; required when creating.
    pub price_paise: Option<i64>,
    /// SAC code from `/api/v1/tax-classes`, e.g. `999721`; required when creating.
    pub tax_code: Option<String>,
    /// The kind of resource the service occupies (`spa_room`); `null` for none.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub resource_type: Option<Option<String>>,
    pub online_bookable: Option<bool>,
    pub active: Option<bool>,
    pub display_order: Option<i32>,
    /// The branches that offer it (replaced as a whole); every branch when
    /// creating without it.
    pub location_ids: Option<Vec<Uuid>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceFilter {
    /// Only services offered at this branch.
    pub location_id: Option<Uuid>,
    pub active: Option<bool>,
}

const MAX_PRICE_PAISE: i64 = 100_000_000;

impl ServiceInput {
    fn apply(&self, mut f: ServiceFields) -> ServiceFields {
        if let Some(name) = &self.name {
            f.name.clone_from(name);
        }
        if let Some(description) = &self.description {
            f.description.clone_from(description);
        }
        if let Some(category_id) = self.category_id {
            f.category_id = category_id;
        }
        if let Some(minutes) = self.duration_minutes {
            f.duration_minutes = minutes;
        }
        if let Some(minutes) = self.buffer_before_minutes {
            f.buffer_before_minutes = minutes;
        }
        if let Some(minutes) = self.buffer_after_minutes {
            f.buffer_after_minutes = minutes;
        }
        if let Some(offset) = self.processing_offset_minutes {
            f.processing_offset_minutes = offset;
        }
        if let Some(minutes) = self.processing_minutes {
            f.processing_minutes = minutes;
        }
        if let Some(price) = self.price_paise {
            f.price_paise = price;
        }
        if let Some(code) = &self.tax_code {
            f.tax_code = code.trim().to_owned();
        }
        if let Some(resource_type) = &self.resource_type {
            f.resource_type = resource_type.as_ref().map(|t| t.trim().to_owned());
        }
        if let Some(bookable) = self.online_bookable {
            f.online_bookable = bookable;
        }
        if let Some(active) = self.active {
            f.active = active;
        }
        if let Some(order) = self.display_order {
            f.display_order = order;
        }
        f
    }
}

/// Check a service as it would be stored; returns it with its texts trimmed.
fn check_service(mut f: ServiceFields) -> Result<ServiceFields, AppError> {
    let mut v = Validator::default();
    f.name = v.text("name", &f.name, 120).unwrap_or_default();
    f.description = long_text(&mut v, "description", &f.description, 2000);
    within(&mut v, "duration_minutes", f.duration_minutes, 5..=720);
    within(&mut v, "buffer_before_minutes", f.buffer_before_minutes, 0..=240);
    within(&mut v, "buffer_after_minutes", f.buffer_after_minutes, 0..=240);
    match (f.processing_offset_minutes, f.processing_minutes) {
        (None, None) => {}
        (Some(offset), Some(minutes)) => {
            if offset <= 0 || minutes <= 0 || offset.saturating_add(minutes) >= f.duration_minutes {
                v.push(
                    "processing_offset_minutes",
                    format!(
                        "the processing gap ({minutes} min from minute {offset}) must lie strictly inside \
                         the {} min duration",
                        f.duration_minutes
                    ),
                );
            }
        }
        _ => v.push(
            "processing_minutes",
            "set processing_offset_minutes and processing_minutes together, or neither",
        ),
    }
    within(&mut v, "price_paise", f.price_paise, 0..=MAX_PRICE_PAISE);
    if !(4..=8).contains(&f.tax_code.len()) || !f.tax_code.bytes().all(|b| b.is_ascii_digit()) {
        v.push("tax_code", "must be a SAC/HSN code of 4–8 digits");
    }
    if let Some(resource_type) = &f.resource_type {
        check_resource_type(&mut v, "resource_type", resource_type);
    }
    v.finish()?;
    Ok(f)
}

/// What a service refers to must exist: its tax class (else 422) and its category (else 404).
async fn check_service_refs(conn: &mut sqlx::PgConnection, f: &ServiceFields) -> Result<(), AppError> {
    if !catalog::is_service_tax_class(conn, &f.tax_code).await? {
        return Err(AppError::invalid(
            "tax_code",
            format!(
                "`{}` is not a tax class of services; see /api/v1/tax-classes",
                f.tax_code
            ),
        ));
    }
    if let Some(category_id) = f.category_id {
        if !catalog::category_exists(conn, category_id).await? {
            return Err(AppError::NotFound);
        }
    }
    Ok(())
}

impl App {
    pub async fn services(
        &self,
        principal: &Principal,
        filter: &ServiceFilter,
    ) -> Result<Vec<Service>, AppError> {
        principal.require(Permission::ServicesRead)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let list = catalog::list_services(&mut tx, filter.location_id, filter.active).await?;
        tx.commit().await?;
        Ok(list)
    }

    pub async fn service(&self, principal: &Principal, id: Uuid) -> Result<Service, AppError> {
        principal.require(Permission::ServicesRead)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let service = catalog::get_service(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(service)
    }

    pub async fn create_service(
        &self,
        principal: &Principal,
        input: &ServiceInput,
        origin: &Origin,
    ) -> Result<Service, AppError> {
        principal.require(Permission::ServicesManage)?;
        require(&[
            ("name", input.name.is_some()),
            ("duration_minutes", input.duration_minutes.is_some()),
            ("price_paise", input.price_paise.is_some()),
            ("tax_code", input.tax_code.is_some()),
        ])?;
        let blank = ServiceFields {
            category_id: None,
            name: String::new(),
            description: String::new(),
            duration_minutes: 0,
            buffer_before_minutes: 0,
            buffer_after_minutes: 0,
            processing_offset_minutes: None,
            processing_minutes: None,
            price_paise: 0,
            tax_code: String::new(),
            resource_type: None,
            online_bookable: true,
            active: true,
            display_order: 0,
        };
        let fields = check_service(input.apply(blank))?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        check_service_refs(&mut tx, &fields).await?;
        let location_ids = match &input.location_ids {
            Some(ids) => own_locations(&mut tx, ids).await?,
            None => catalog::all_location_ids(&mut tx).await?,
        };
        let id = Uuid::now_v7();
        catalog::insert_service(&mut tx, principal.tenant_id, id, &fields).await?;
        catalog::set_service_locations(&mut tx, principal.tenant_id, id, &location_ids).await?;
        let service = catalog::get_service(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(principal.actor(), "service.created", "service", id).after(&service),
        )
        .await?;
        tx.commit().await?;
        Ok(service)
    }

    pub async fn update_service(
        &self,
        principal: &Principal,
        id: Uuid,
        input: &ServiceInput,
        origin: &Origin,
    ) -> Result<Service, AppError> {
        principal.require(Permission::ServicesManage)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let before = catalog::lock_service(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let fields = check_service(input.apply(before.fields.clone()))?;
        check_service_refs(&mut tx, &fields).await?;
        if let (Some(offset), Some(minutes)) = (fields.processing_offset_minutes, fields.processing_minutes) {
            // A staff member's own duration must still contain the processing gap.
            if let Some(shortest) = staff::shortest_duration_override(&mut tx, id).await? {
                if offset + minutes >= shortest {
                    return Err(AppError::conflict(
                        "staff_duration_too_short",
                        format!(
                            "A staff member performs this service in {shortest} min, which would not contain \
                             the processing gap; change their duration for it first."
                        ),
                    ));
                }
            }
        }
        catalog::update_service(&mut tx, id, &fields).await?;
        if let Some(ids) = &input.location_ids {
            let location_ids = own_locations(&mut tx, ids).await?;
            catalog::set_service_locations(&mut tx, principal.tenant_id, id, &location_ids).await?;
        }
        let after = catalog::get_service(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(principal.actor(), "service.updated", "service", id)
                .before(&before)
                .after(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }
}

// ------------------------------------------------------------ resources

/// A new resource, or the fields of one to change (absent = unchanged).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceInput {
    /// The branch it belongs to; required when creating.
    pub location_id: Option<Uuid>,
    /// 1–80 characters; required when creating.
    pub name: Option<String>,
    /// What services ask for, e.g. `spa_room`; required when creating.
    pub resource_type: Option<String>,
    /// Clients served at once, 1–100 (default 1: never double-booked).
    pub capacity: Option<i32>,
    pub active: Option<bool>,
    pub display_order: Option<i32>,
}

fn check_resource(input: &ResourceInput, mut f: ResourceFields) -> Result<ResourceFields, AppError> {
    let mut v = Validator::default();
    if let Some(location_id) = input.location_id {
        f.location_id = location_id;
    }
    if let Some(name) = &input.name {
        f.name = v.text("name", name, 80).unwrap_or_default();
    }
    if let Some(resource_type) = &input.resource_type {
        f.resource_type = resource_type.trim().to_owned();
        check_resource_type(&mut v, "resource_type", &f.resource_type);
    }
    if let Some(capacity) = input.capacity {
        within(&mut v, "capacity", capacity, 1..=100);
        f.capacity = capacity;
    }
    if let Some(active) = input.active {
        f.active = active;
    }
    if let Some(order) = input.display_order {
        f.display_order = order;
    }
    v.finish()?;
    Ok(f)
}

impl App {
    pub async fn resources(
        &self,
        principal: &Principal,
        location_id: Option<Uuid>,
    ) -> Result<Vec<Resource>, AppError> {
        principal.require(Permission::LocationsRead)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let list = catalog::list_resources(&mut tx, location_id).await?;
        tx.commit().await?;
        Ok(list)
    }

    pub async fn create_resource(
        &self,
        principal: &Principal,
        input: &ResourceInput,
        origin: &Origin,
    ) -> Result<Resource, AppError> {
        principal.require(Permission::ResourcesManage)?;
        require(&[
            ("location_id", input.location_id.is_some()),
            ("name", input.name.is_some()),
            ("resource_type", input.resource_type.is_some()),
        ])?;
        let blank = ResourceFields {
            location_id: Uuid::nil(),
            name: String::new(),
            resource_type: String::new(),
            capacity: 1,
            active: true,
            display_order: 0,
        };
        let fields = check_resource(input, blank)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        own_locations(&mut tx, &[fields.location_id]).await?;
        let resource = Resource {
            id: Uuid::now_v7(),
            fields,
        };
        catalog::insert_resource(&mut tx, principal.tenant_id, resource.id, &resource.fields).await?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(principal.actor(), "resource.created", "resource", resource.id).after(&resource),
        )
        .await?;
        tx.commit().await?;
        Ok(resource)
    }

    pub async fn update_resource(
        &self,
        principal: &Principal,
        id: Uuid,
        input: &ResourceInput,
        origin: &Origin,
    ) -> Result<Resource, AppError> {
        principal.require(Permission::ResourcesManage)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let before = catalog::lock_resource(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let fields = check_resource(input, before.fields.clone())?;
        own_locations(&mut tx, &[fields.location_id]).await?;
        catalog::update_resource(&mut tx, id, &fields).await?;
        let after = Resource { id, fields };
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(principal.actor(), "resource.updated", "resource", id)
                .before(&before)
                .after(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }
}

// ------------------------------------------------------------ branch schedules

/// One day of a branch's week.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpeningDay {
    /// ISO weekday: 1 = Monday … 7 = Sunday.
    pub weekday: i16,
    /// Opening intervals, e.g. `[["10:00", "20:00"]]`.
    #[serde(default)]
    #[schema(value_type = Vec<Vec<String>>)]
    pub work: Vec<Span>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationHoursRequest {
    /// The whole week (required); a day not listed is closed.
    pub days: Option<Vec<OpeningDay>>,
}

/// A branch's weekly opening hours, in its own time zone.
#[derive(Debug, Clone, Serialize)]
pub struct LocationHours {
    pub location_id: Uuid,
    pub timezone: String,
    pub days: Vec<OpeningDay>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClosureRequest {
    /// First closed day (required).
    pub first_day: Option<NaiveDate>,
    /// Last closed day, included (required).
    pub last_day: Option<NaiveDate>,
    /// Up to 200 characters, e.g. "Diwali".
    pub reason: Option<String>,
}

/// The booking rules to change (absent = unchanged).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingRulesInput {
    /// Whether clients may book this branch online.
    pub online_booking: Option<bool>,
    /// 0–20160: how long before the start an online booking must be made.
    pub min_notice_minutes: Option<i32>,
    /// 0–365: how far ahead clients may book.
    pub max_days_ahead: Option<i32>,
    /// 5, 10, 15, 20, 30 or 60: the spacing of offered start times.
    pub slot_step_minutes: Option<i32>,
    /// 0–20160: until how long before the start clients may cancel themselves.
    pub cancellation_window_minutes: Option<i32>,
}

const SLOT_STEPS: [i32; 6] = [5, 10, 15, 20, 30, 60];
const MAX_CLOSURE_DAYS: i64 = 366;

const OPENING_OVERLAP: &[Constraint] = &[Constraint {
    name: "location_hours_tenant_id_location_id_weekday_int4range_excl",
    code: "hours_overlap",
    detail: "Two opening intervals of one day overlap.",
}];

async fn opening_hours(conn: &mut sqlx::PgConnection, location_id: Uuid) -> Result<LocationHours, AppError> {
    let location = ftry_store::tenants::get_location(conn, location_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let hours = catalog::location_hours(conn, location_id).await?;
    Ok(LocationHours {
        location_id,
        timezone: location.timezone,
        days: week_days(&hours, &[])
            .into_iter()
            .map(|(weekday, work, _)| OpeningDay { weekday, work })
            .collect(),
    })
}

impl App {
    pub async fn location_hours(
        &self,
        principal: &Principal,
        location_id: Uuid,
    ) -> Result<LocationHours, AppError> {
        principal.require(Permission::LocationsRead)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let hours = opening_hours(&mut tx, location_id).await?;
        tx.commit().await?;
        Ok(hours)
    }

    /// Replace a branch's weekly opening hours.
    pub async fn set_location_hours(
        &self,
        principal: &Principal,
        location_id: Uuid,
        request: &LocationHoursRequest,
        origin: &Origin,
    ) -> Result<LocationHours, AppError> {
        principal.require(Permission::LocationsManage)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        if !catalog::lock_location(&mut tx, location_id).await? {
            return Err(AppError::NotFound);
        }
        let Some(days) = &request.days else {
            return Err(AppError::invalid("days", "is required"));
        };
        let mut v = Validator::default();
        let (hours, _) = parse_week(
            &mut v,
            days.iter().map(|d| (d.weekday, d.work.as_slice(), &[][..])),
        );
        v.finish()?;
        let before = opening_hours(&mut tx, location_id).await?;
        catalog::set_location_hours(&mut tx, principal.tenant_id, location_id, &hours)
            .await
            .map_err(on_constraint(OPENING_OVERLAP))?;
        let after = opening_hours(&mut tx, location_id).await?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(
                principal.actor(),
                "location.hours_replaced",
                "location",
                location_id,
            )
            .before(&before.days)
            .after(&after.days),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn location_closures(
        &self,
        principal: &Principal,
        location_id: Uuid,
    ) -> Result<Vec<Closure>, AppError> {
        principal.require(Permission::LocationsRead)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        own_locations(&mut tx, &[location_id]).await?;
        let list = catalog::closures(&mut tx, location_id).await?;
        tx.commit().await?;
        Ok(list)
    }

    pub async fn add_location_closure(
        &self,
        principal: &Principal,
        location_id: Uuid,
        request: &ClosureRequest,
        origin: &Origin,
    ) -> Result<Closure, AppError> {
        principal.require(Permission::LocationsManage)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        own_locations(&mut tx, &[location_id]).await?;
        require(&[
            ("first_day", request.first_day.is_some()),
            ("last_day", request.last_day.is_some()),
        ])?;
        let (Some(first_day), Some(last_day)) = (request.first_day, request.last_day) else {
            return Err(AppError::Internal("validation passed without values".into()));
        };
        let mut v = Validator::default();
        let days = (last_day - first_day).num_days();
        if days < 0 {
            v.push("last_day", "must not be before first_day");
        } else if days >= MAX_CLOSURE_DAYS {
            v.push(
                "last_day",
                format!("a closure lasts at most {MAX_CLOSURE_DAYS} days"),
            );
        }
        let reason = v
            .optional_text("reason", request.reason.as_deref(), 200)
            .unwrap_or_default();
        v.finish()?;
        let closure = Closure {
            id: Uuid::now_v7(),
            location_id,
            first_day,
            last_day,
            reason,
        };
        catalog::insert_closure(&mut tx, principal.tenant_id, &closure).await?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(
                principal.actor(),
                "location.closure_added",
                "location_closure",
                closure.id,
            )
            .after(&closure),
        )
        .await?;
        tx.commit().await?;
        Ok(closure)
    }

    pub async fn remove_location_closure(
        &self,
        principal: &Principal,
        location_id: Uuid,
        closure_id: Uuid,
        origin: &Origin,
    ) -> Result<(), AppError> {
        principal.require(Permission::LocationsManage)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let removed = catalog::delete_closure(&mut tx, location_id, closure_id)
            .await?
            .ok_or(AppError::NotFound)?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(
                principal.actor(),
                "location.closure_removed",
                "location_closure",
                closure_id,
            )
            .before(&removed),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn booking_rules(
        &self,
        principal: &Principal,
        location_id: Uuid,
    ) -> Result<BookingRules, AppError> {
        principal.require(Permission::LocationsRead)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let rules = catalog::booking_rules(&mut tx, location_id)
            .await?
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(rules)
    }

    pub async fn update_booking_rules(
        &self,
        principal: &Principal,
        location_id: Uuid,
        input: &BookingRulesInput,
        origin: &Origin,
    ) -> Result<BookingRules, AppError> {
        principal.require(Permission::LocationsManage)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        if !catalog::lock_location(&mut tx, location_id).await? {
            return Err(AppError::NotFound);
        }
        let before = catalog::booking_rules(&mut tx, location_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut after = before.clone();
        let mut v = Validator::default();
        if let Some(online) = input.online_booking {
            after.online_booking = online;
        }
        if let Some(minutes) = input.min_notice_minutes {
            within(&mut v, "min_notice_minutes", minutes, 0..=20160);
            after.min_notice_minutes = minutes;
        }
        if let Some(days) = input.max_days_ahead {
            within(&mut v, "max_days_ahead", days, 0..=365);
            after.max_days_ahead = days;
        }
        if let Some(step) = input.slot_step_minutes {
            if !SLOT_STEPS.contains(&step) {
                v.push("slot_step_minutes", "must be 5, 10, 15, 20, 30 or 60");
            }
            after.slot_step_minutes = step;
        }
        if let Some(minutes) = input.cancellation_window_minutes {
            within(&mut v, "cancellation_window_minutes", minutes, 0..=20160);
            after.cancellation_window_minutes = minutes;
        }
        v.finish()?;
        catalog::set_booking_rules(&mut tx, location_id, &after).await?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(
                principal.actor(),
                "location.booking_rules_updated",
                "location",
                location_id,
            )
            .before(&before)
            .after(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(a: &str, b: &str) -> Span {
        [a.to_owned(), b.to_owned()]
    }

    #[test]
    fn clock_times_are_hh_mm_with_24_00_as_the_end_of_the_day() {
        assert_eq!(parse_clock("00:00"), Some(0));
        assert_eq!(parse_clock("09:30"), Some(570));
        assert_eq!(parse_clock("23:59"), Some(1439));
        assert_eq!(parse_clock("24:00"), Some(1440));
        for bad in [
            "24:01", "9:00", "09:60", "0900", "09:00:00", "ab:cd", "", "+9:00", "-1:00",
        ] {
            assert_eq!(parse_clock(bad), None, "{bad}");
        }
        assert_eq!(clock(1440), "24:00");
        assert_eq!(clock(65), "01:05");
    }

    #[test]
    fn a_week_with_breaks_inside_work_parses_and_prints_back_sorted() {
        let mut v = Validator::default();
        let work = [s("14:00", "19:00"), s("09:00", "13:00")];
        let breaks = [s("16:00", "16:15")];
        let (w, b) = parse_week(
            &mut v,
            [
                (2, &work[..], &breaks[..]),
                (7, &[s("18:00", "24:00")][..], &[][..]),
            ],
        );
        assert!(v.finish().is_ok());
        assert_eq!(
            week_days(&w, &b),
            vec![
                (
                    2,
                    vec![s("09:00", "13:00"), s("14:00", "19:00")],
                    vec![s("16:00", "16:15")]
                ),
                (7, vec![s("18:00", "24:00")], vec![]),
            ]
        );
    }

    fn errors(days: &[(i16, Vec<Span>, Vec<Span>)]) -> Vec<String> {
        let mut v = Validator::default();
        parse_week(
            &mut v,
            days.iter().map(|(d, w, b)| (*d, w.as_slice(), b.as_slice())),
        );
        match v.finish() {
            Err(AppError::Validation(errors)) => errors.into_iter().map(|e| e.field).collect(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn overlaps_reversed_intervals_stray_breaks_and_repeated_days_are_refused() {
        assert_eq!(
            errors(&[(1, vec![s("09:00", "13:00"), s("12:00", "14:00")], vec![])]),
            ["days[0].work"]
        );
        assert_eq!(
            errors(&[(1, vec![s("13:00", "09:00")], vec![])]),
            ["days[0].work[0]"]
        );
        assert_eq!(
            errors(&[(1, vec![s("24:00", "24:00")], vec![])]),
            ["days[0].work[0]"]
        );
        assert_eq!(
            errors(&[(1, vec![s("09:00", "13:00")], vec![s("12:45", "13:15")])]),
            ["days[0].breaks"]
        );
        assert_eq!(errors(&[(0, vec![], vec![])]), ["days[0].weekday"]);
        assert_eq!(
            errors(&[(3, vec![], vec![]), (3, vec![], vec![])]),
            ["days[1].weekday"]
        );
        assert!(errors(&[(1, vec![s("09:00", "13:00"), s("13:00", "18:00")], vec![])]).is_empty());
    }
}
