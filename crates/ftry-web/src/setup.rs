//! Setting a salon up: its services (name, duration, price, GST class,
//! bookable online) and its staff (who they are, the services they do and
//! their week at a branch). Each form calls the API's use case; a new staff
//! member, their services and their hours are one transaction.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{OriginalUri, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::NaiveTime;
use ftry_api::access::RequestOrigin;
use ftry_api::AppState;
use ftry_app::catalog::{
    BookingRulesInput, ClosureRequest, LocationHoursRequest, OpeningDay, ServiceFilter, ServiceInput,
};
use ftry_app::staff::{
    StaffHoursRequest, StaffInput, StaffServiceInput, StaffServicesRequest, TimeOffRequest, WorkingDay,
};
use ftry_app::{AppError, Principal};
use ftry_domain::permissions::Permission;
use serde::Deserialize;
use uuid::Uuid;

use crate::format::rupees;
use crate::forms::{in_words, paise, the_field, FieldErrors};
use crate::page::{self, html, Chrome, PathId};
use crate::session::{form_sender, signed_in, to_login, SignedIn};

// ------------------------------------------------------------ services

struct ServiceRow {
    id: Uuid,
    name: String,
    category: String,
    minutes: i32,
    price: String,
    tax: String,
    online: bool,
    active: bool,
}

struct TaxChoice {
    code: String,
    label: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct ServiceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    minutes: String,
    #[serde(default)]
    price: String,
    #[serde(default)]
    tax_code: String,
    /// A checkbox: present when ticked.
    online: Option<String>,
    /// The category's id, or empty for none.
    #[serde(default)]
    category: String,
    /// The kind of room or chair it takes, or empty for none.
    #[serde(default)]
    resource_type: String,
    /// A checkbox of the change form: still offered.
    active: Option<String>,
    /// The service being changed (from the address, not the form).
    #[serde(skip)]
    editing: Option<Uuid>,
    /// What was typed into the category form, when it was refused.
    #[serde(skip)]
    typed_category: String,
}

/// A new service category.
#[derive(Debug, Default, Deserialize)]
pub struct CategoryForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    category_name: String,
}

#[derive(Template)]
#[template(path = "services.html")]
struct ServicesPage<'a> {
    chrome: Chrome,
    services: Vec<ServiceRow>,
    manage: bool,
    tax_classes: Vec<TaxChoice>,
    /// Categories to file a service under: id and name.
    categories: Vec<(String, String)>,
    /// The kinds of rooms and chairs the business has.
    resource_types: Vec<String>,
    form: &'a ServiceForm,
    online: bool,
    /// Whether the service being changed is still offered.
    active: bool,
    errors: FieldErrors,
    added: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct AddedQuery {
    /// The name just added, for the page to say so.
    added: Option<String>,
    location: Option<String>,
    /// The staff member (or service) whose form is shown for changing.
    change: Option<String>,
    /// The name just saved.
    saved: Option<String>,
    /// Set when a staff member's commission was just saved.
    commission: Option<String>,
}

async fn services_page(
    state: &AppState,
    principal: &Principal,
    csrf: &str,
    status: StatusCode,
    form: &ServiceForm,
    errors: FieldErrors,
    added: String,
) -> Response {
    let services = match state.app.services(principal, &ServiceFilter::default()).await {
        Ok(services) => services,
        Err(e) => return page::app_error(e, csrf),
    };
    let classes = match state.app.tax_classes(principal).await {
        Ok(classes) => classes,
        Err(e) => return page::app_error(e, csrf),
    };
    let categories = match state.app.service_categories(principal).await {
        Ok(categories) => categories,
        Err(e) => return page::app_error(e, csrf),
    };
    // The kinds of rooms and chairs, for those who may see the branches' (else none).
    let mut resource_types: Vec<String> = state
        .app
        .resources(principal, None)
        .await
        .map(|resources| resources.into_iter().map(|r| r.fields.resource_type).collect())
        .unwrap_or_default();
    resource_types.sort();
    resource_types.dedup();
    let category_name = |id: Option<Uuid>| {
        id.and_then(|id| categories.iter().find(|c| c.id == id))
            .map_or(String::new(), |c| c.name.clone())
    };
    let rate = |code: &str| {
        classes
            .iter()
            .find(|c| c.code == code)
            .map_or(String::new(), |c| {
                format!(" · GST {}%", f64::from(c.rate_bp) / 100.0)
            })
    };
    let page = ServicesPage {
        chrome: Chrome::signed("Services", csrf, principal),
        services: services
            .iter()
            .map(|s| ServiceRow {
                id: s.id,
                name: s.fields.name.clone(),
                category: category_name(s.fields.category_id),
                minutes: s.fields.duration_minutes,
                price: rupees(s.fields.price_paise),
                tax: format!("{}{}", s.fields.tax_code, rate(&s.fields.tax_code)),
                online: s.fields.online_bookable,
                active: s.fields.active,
            })
            .collect(),
        manage: principal.can(Permission::ServicesManage),
        tax_classes: classes
            .iter()
            .filter(|c| c.kind == "service")
            .map(|c| TaxChoice {
                code: c.code.clone(),
                label: format!("{} ({})", c.description, c.code),
            })
            .collect(),
        categories: categories
            .iter()
            .map(|c| (c.id.to_string(), c.name.clone()))
            .collect(),
        resource_types,
        form,
        // A blank new form is bookable online; a refused or stored one shows its tick.
        online: form.online.is_some() || (form.csrf.is_empty() && form.editing.is_none()),
        active: form.active.is_some(),
        errors,
        added,
    };
    html(status, &page)
}

/// `GET /app/services`.
pub async fn services(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<AddedQuery>, QueryRejection>,
) -> Response {
    let Some(SignedIn { principal, csrf }) = signed_in(&state, &headers).await else {
        return to_login(uri.path());
    };
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let added = match (query.saved, query.added) {
        (Some(saved), _) => format!("Saved “{saved}”."),
        (None, Some(added)) => format!("Added “{added}”."),
        (None, None) => String::new(),
    };
    let form = match query.change.and_then(|id| id.parse::<Uuid>().ok()) {
        Some(id) => match state.app.service(&principal, id).await {
            Ok(service) => ServiceForm {
                name: service.fields.name.clone(),
                minutes: service.fields.duration_minutes.to_string(),
                price: crate::forms::rupees_plain(service.fields.price_paise),
                tax_code: service.fields.tax_code.clone(),
                online: service.fields.online_bookable.then(String::new),
                category: service
                    .fields
                    .category_id
                    .map(|c| c.to_string())
                    .unwrap_or_default(),
                resource_type: service.fields.resource_type.clone().unwrap_or_default(),
                active: service.fields.active.then(String::new),
                editing: Some(id),
                ..ServiceForm::default()
            },
            Err(e) => return page::app_error(e, &csrf),
        },
        None => ServiceForm::default(),
    };
    services_page(
        &state,
        &principal,
        &csrf,
        StatusCode::OK,
        &form,
        FieldErrors::default(),
        added,
    )
    .await
}

/// `POST /app/services`.
pub async fn add_service(
    State(state): State<AppState>,
    origin: RequestOrigin,
    headers: HeaderMap,
    Form(form): Form<ServiceForm>,
) -> Response {
    save_service(state, origin, headers, form).await
}

/// `POST /app/services/{id}`: a service's name, length, price, class,
/// category, room, and whether it is offered (online, at all).
pub async fn change_service(
    State(state): State<AppState>,
    origin: RequestOrigin,
    headers: HeaderMap,
    PathId(id): PathId,
    Form(mut form): Form<ServiceForm>,
) -> Response {
    form.editing = Some(id);
    save_service(state, origin, headers, form).await
}

async fn save_service(
    state: AppState,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    form: ServiceForm,
) -> Response {
    let refused = (
        "Not saved",
        "The form had expired. Open the services page again and retry.",
    );
    let SignedIn { principal, csrf } =
        match form_sender(&state, &headers, &form.csrf, "/app/services", refused).await {
            Ok(sender) => sender,
            Err(answer) => return answer,
        };
    let mut errors = FieldErrors::default();
    let minutes = form.minutes.trim().parse::<i32>().ok();
    if minutes.is_none() {
        errors.push("minutes", "Enter the length in minutes, e.g. 45.");
    }
    let price = paise(&form.price);
    if price.is_none() {
        errors.push("price", "Enter the price in rupees, e.g. 650 or 650.50.");
    }
    if form.tax_code.is_empty() {
        errors.push("tax_code", "Pick the kind of service (its GST class).");
    }
    if form.name.trim().is_empty() {
        errors.push("name", "Enter the service's name.");
    }
    if !errors.is_empty() {
        return services_page(
            &state,
            &principal,
            &csrf,
            StatusCode::UNPROCESSABLE_ENTITY,
            &form,
            errors,
            String::new(),
        )
        .await;
    }
    let input = ServiceInput {
        name: Some(form.name.clone()),
        duration_minutes: minutes,
        price_paise: price,
        tax_code: Some(form.tax_code.clone()),
        online_bookable: Some(form.online.is_some()),
        category_id: Some(form.category.parse().ok()),
        resource_type: Some(Some(form.resource_type.clone()).filter(|t| !t.is_empty())),
        active: form.editing.map(|_| form.active.is_some()),
        ..ServiceInput::default()
    };
    let saved = match form.editing {
        Some(id) => state.app.update_service(&principal, id, &input, &origin).await,
        None => state.app.create_service(&principal, &input, &origin).await,
    };
    match saved {
        Ok(service) => {
            let name: String = url_encoded(&service.fields.name);
            let said = if form.editing.is_some() { "saved" } else { "added" };
            Redirect::to(&format!("/app/services?{said}={name}")).into_response()
        }
        Err(AppError::Validation(fields)) => {
            let errors = FieldErrors::from_use_case(&fields, |field| {
                match field {
                    "duration_minutes" => "minutes",
                    "price_paise" => "price",
                    other => other,
                }
                .to_owned()
            });
            services_page(
                &state,
                &principal,
                &csrf,
                StatusCode::UNPROCESSABLE_ENTITY,
                &form,
                errors,
                String::new(),
            )
            .await
        }
        Err(e) => page::app_error(e, &csrf),
    }
}

/// `POST /app/services/categories`: a new category to file services under.
pub async fn add_category(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Form(form): Form<CategoryForm>,
) -> Response {
    let refused = (
        "Not added",
        "The form had expired. Open the services page again and retry.",
    );
    let SignedIn { principal, csrf } =
        match form_sender(&state, &headers, &form.csrf, "/app/services", refused).await {
            Ok(sender) => sender,
            Err(answer) => return answer,
        };
    let input = ftry_app::catalog::CategoryInput {
        name: Some(form.category_name.clone()),
        display_order: None,
    };
    let mut errors = FieldErrors::default();
    let status = match state
        .app
        .create_service_category(&principal, &input, &origin)
        .await
    {
        Ok(category) => {
            let name: String = url_encoded(&category.name);
            return Redirect::to(&format!("/app/services?added={name}")).into_response();
        }
        Err(AppError::Validation(fields)) => {
            errors = FieldErrors::from_use_case(&fields, |_| "category_name".to_owned());
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Err(AppError::Conflict { detail, .. }) => {
            errors.push("category_name", detail);
            StatusCode::CONFLICT
        }
        Err(e) => return page::app_error(e, &csrf),
    };
    let typed = ServiceForm {
        typed_category: form.category_name.clone(),
        ..ServiceForm::default()
    };
    services_page(&state, &principal, &csrf, status, &typed, errors, String::new()).await
}

/// A text as a query value.
fn url_encoded(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

// ------------------------------------------------------------ staff

const WEEKDAYS: [(i16, &str); 7] = [
    (1, "Mon"),
    (2, "Tue"),
    (3, "Wed"),
    (4, "Thu"),
    (5, "Fri"),
    (6, "Sat"),
    (7, "Sun"),
];

struct StaffRow {
    id: Uuid,
    name: String,
    title: String,
    services: String,
    hours: String,
    /// Time off from now on.
    time_off: Vec<TimeOffLine>,
}

struct TimeOffLine {
    id: Uuid,
    when: String,
    reason: String,
}

/// The time-off form as typed, in the branch's time.
#[derive(Debug, Default, Deserialize)]
pub struct TimeOffForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    staff: String,
    #[serde(default)]
    from_day: String,
    #[serde(default)]
    from_time: String,
    #[serde(default)]
    to_day: String,
    #[serde(default)]
    to_time: String,
    #[serde(default)]
    reason: String,
}

struct Check {
    value: String,
    label: String,
    checked: bool,
}

#[derive(Template)]
#[template(path = "staff.html")]
struct StaffPage {
    chrome: Chrome,
    staff: Vec<StaffRow>,
    manage: bool,
    location: String,
    location_name: String,
    services: Vec<Check>,
    days: Vec<Check>,
    name: String,
    title: String,
    from: String,
    to: String,
    break_from: String,
    break_to: String,
    errors: FieldErrors,
    added: String,
    /// The person being changed (and their name as stored), or none to add one.
    editing: Option<(Uuid, String)>,
    /// Whether the person being changed takes clients.
    active: bool,
    /// Their stored week is uneven (see `StaffForm::uneven`).
    uneven: bool,
    /// The person's commission in percent (services, products), when changing them.
    commission: Option<(String, String)>,
    time_off_form: TimeOffForm,
    time_off_error: String,
}

/// The staff form as typed: its ticked services and days repeat their names.
#[derive(Debug, Default)]
struct StaffForm {
    csrf: String,
    location: String,
    /// The person being changed, or none to add one.
    editing: Option<(Uuid, String)>,
    /// A checkbox of the change form: still takes clients.
    active: bool,
    /// The stored week is not one span (and one break) the same every day
    /// worked: the form, which sets one for all, would flatten it.
    uneven: bool,
    name: String,
    title: String,
    services: Vec<String>,
    days: Vec<String>,
    from: String,
    to: String,
    break_from: String,
    break_to: String,
}

impl StaffForm {
    fn blank() -> Self {
        Self {
            days: ["1", "2", "3", "4", "5", "6"].map(String::from).to_vec(),
            from: "10:00".into(),
            to: "19:00".into(),
            ..Self::default()
        }
    }

    fn read(pairs: Vec<(String, String)>) -> Self {
        let mut form = Self::default();
        for (key, value) in pairs {
            match key.as_str() {
                "csrf" => form.csrf = value,
                "location" => form.location = value,
                "name" => form.name = value,
                "title" => form.title = value,
                "service" => form.services.push(value),
                "day" => form.days.push(value),
                "from" => form.from = value,
                "to" => form.to = value,
                "break_from" => form.break_from = value,
                "break_to" => form.break_to = value,
                "active" => form.active = true,
                _ => {}
            }
        }
        form
    }
}

/// A week as one line: "Mon–Sat 10:00–19:00 (break 14:00–14:30)".
fn week_summary(days: &[WorkingDay]) -> String {
    let mut parts: Vec<(Vec<i16>, String)> = Vec::new();
    for day in days {
        let work = day
            .work
            .iter()
            .map(|[from, to]| format!("{from}–{to}"))
            .collect::<Vec<_>>()
            .join(", ");
        let breaks = day
            .breaks
            .iter()
            .map(|[from, to]| format!("{from}–{to}"))
            .collect::<Vec<_>>()
            .join(", ");
        let text = if breaks.is_empty() {
            work
        } else {
            format!("{work} (break {breaks})")
        };
        match parts.last_mut() {
            Some((weekdays, last)) if *last == text && weekdays.last() == Some(&(day.weekday - 1)) => {
                weekdays.push(day.weekday)
            }
            _ => parts.push((vec![day.weekday], text)),
        }
    }
    let name = |d: i16| {
        WEEKDAYS
            .iter()
            .find(|(n, _)| *n == d)
            .map_or("?", |(_, name)| name)
    };
    if parts.is_empty() {
        return "No hours yet".into();
    }
    parts
        .iter()
        .map(|(days, text)| match (days.first(), days.last()) {
            (Some(first), Some(last)) if first != last => format!("{}–{} {text}", name(*first), name(*last)),
            (Some(first), _) => format!("{} {text}", name(*first)),
            _ => text.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[allow(clippy::too_many_arguments)] // the page keeps what was typed into its two forms
async fn staff_page(
    state: &AppState,
    principal: &Principal,
    csrf: &str,
    status: StatusCode,
    form: &StaffForm,
    errors: FieldErrors,
    added: String,
    time_off: (TimeOffForm, String),
) -> Response {
    let wanted = form.location.parse::<Uuid>().ok();
    let (_, location) = match page::branch(state, principal, wanted, csrf).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let list = match state.app.staff_overview(principal, chrono::Utc::now()).await {
        Ok(list) => list,
        Err(e) => return page::app_error(e, csrf),
    };
    let zone = page::zone(&location.timezone);
    let local =
        |at: chrono::DateTime<chrono::Utc>| at.with_timezone(&zone).format("%a %-d %b %H:%M").to_string();
    let staff: Vec<StaffRow> = list
        .iter()
        .map(|(detail, time_off)| {
            let here = detail.hours.iter().find(|h| h.location_id == location.id);
            StaffRow {
                id: detail.staff.id,
                time_off: time_off
                    .iter()
                    .map(|t| TimeOffLine {
                        id: t.id,
                        when: format!("{} – {}", local(t.starts_at), local(t.ends_at)),
                        reason: t.reason.clone(),
                    })
                    .collect(),
                name: detail.staff.fields.name.clone(),
                title: detail.staff.fields.title.clone(),
                services: detail
                    .services
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                hours: here.map_or_else(|| "No hours yet".to_owned(), |h| week_summary(&h.days)),
            }
        })
        .collect();
    let filter = ServiceFilter {
        location_id: Some(location.id),
        active: Some(true),
    };
    let services = match state.app.services(principal, &filter).await {
        Ok(services) => services,
        Err(e) => return page::app_error(e, csrf),
    };
    let page = StaffPage {
        chrome: Chrome::signed("Staff", csrf, principal),
        staff,
        manage: principal.can(Permission::StaffManage),
        location: location.id.to_string(),
        location_name: location.name.clone(),
        services: services
            .iter()
            .map(|s| Check {
                value: s.id.to_string(),
                label: format!("{} · {} min", s.fields.name, s.fields.duration_minutes),
                checked: form.services.contains(&s.id.to_string()),
            })
            .collect(),
        days: WEEKDAYS
            .iter()
            .map(|(n, label)| Check {
                value: n.to_string(),
                label: (*label).to_owned(),
                checked: form.days.contains(&n.to_string()),
            })
            .collect(),
        name: form.name.clone(),
        title: form.title.clone(),
        from: form.from.clone(),
        to: form.to.clone(),
        break_from: form.break_from.clone(),
        break_to: form.break_to.clone(),
        errors,
        added,
        editing: form.editing.clone(),
        active: form.active,
        uneven: form.uneven,
        commission: match &form.editing {
            Some((id, _)) => match state.app.commission(principal, *id).await {
                Ok((services, products)) => Some((percent(services), percent(products))),
                Err(e) => return page::app_error(e, csrf),
            },
            None => None,
        },
        time_off_form: time_off.0,
        time_off_error: time_off.1,
    };
    html(status, &page)
}

/// `GET /app/staff`.
pub async fn staff(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<AddedQuery>, QueryRejection>,
) -> Response {
    let Some(SignedIn { principal, csrf }) = signed_in(&state, &headers).await else {
        return to_login(uri.path());
    };
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let location = query.location.unwrap_or_default();
    let form = match query.change.and_then(|id| id.parse::<Uuid>().ok()) {
        Some(id) => match stored_staff_form(&state, &principal, id, location).await {
            Ok(form) => form,
            Err(e) => return page::app_error(e, &csrf),
        },
        None => StaffForm {
            location,
            ..StaffForm::blank()
        },
    };
    let added = match (query.saved, query.added) {
        _ if query.commission.is_some() => {
            "Commission saved: the staff report counts it from now on.".to_owned()
        }
        (Some(saved), _) => format!("Saved: {saved}'s services and week."),
        (None, Some(added)) => format!("Added {added}."),
        (None, None) => String::new(),
    };
    staff_page(
        &state,
        &principal,
        &csrf,
        StatusCode::OK,
        &form,
        FieldErrors::default(),
        added,
        (TimeOffForm::default(), String::new()),
    )
    .await
}

/// The change form of a staff member as stored: their name, services and
/// their week at the branch (its first span and first break).
async fn stored_staff_form(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    location: String,
) -> Result<StaffForm, AppError> {
    let detail = state.app.staff_member(principal, id).await?;
    let wanted = location.parse::<Uuid>().ok();
    let here = detail
        .hours
        .iter()
        .find(|h| Some(h.location_id) == wanted)
        .or_else(|| detail.hours.first());
    let days = here.map(|h| h.days.as_slice()).unwrap_or_default();
    let first = days.iter().find_map(|d| d.work.first());
    let rest = days.iter().find_map(|d| d.breaks.first());
    let uneven = days.iter().any(|d| {
        d.work.len() > 1 || d.breaks.len() > 1 || d.work.first() != first || d.breaks.first() != rest
    });
    Ok(StaffForm {
        uneven,
        location: here.map_or(location, |h| h.location_id.to_string()),
        editing: Some((id, detail.staff.fields.name.clone())),
        active: detail.staff.fields.active,
        name: detail.staff.fields.name.clone(),
        title: detail.staff.fields.title.clone(),
        services: detail.services.iter().map(|s| s.service_id.to_string()).collect(),
        days: days.iter().map(|d| d.weekday.to_string()).collect(),
        from: first.map_or("10:00".into(), |[from, _]| from.clone()),
        to: first.map_or("19:00".into(), |[_, to]| to.clone()),
        break_from: rest.map_or(String::new(), |[from, _]| from.clone()),
        break_to: rest.map_or(String::new(), |[_, to]| to.clone()),
        ..StaffForm::default()
    })
}

/// Basis points as a percentage for a form: 1250 → "12.5".
fn percent(bp: i32) -> String {
    let text = format!("{}.{:02}", bp / 100, bp % 100);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[derive(Debug, Default, Deserialize)]
pub struct CommissionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    services: String,
    #[serde(default)]
    products: String,
}

/// `POST /app/staff/{id}/commission`: what a person earns on the taxable
/// value of their services and of the products they sell, in percent.
pub async fn set_commission(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    PathId(id): PathId,
    Form(form): Form<CommissionForm>,
) -> Response {
    let refused = (
        "Not saved",
        "The form had expired. Open the staff page again and retry.",
    );
    let SignedIn { principal, csrf } =
        match form_sender(&state, &headers, &form.csrf, "/app/staff", refused).await {
            Ok(sender) => sender,
            Err(answer) => return answer,
        };
    // Percent with up to two decimals is a count of basis points.
    let rate = |text: &str| paise(text.trim().trim_end_matches('%')).and_then(|bp| i32::try_from(bp).ok());
    let result = match (rate(&form.services), rate(&form.products)) {
        (Some(services), Some(products)) => {
            state
                .app
                .set_commission(&principal, id, services, products, &origin)
                .await
        }
        _ => Err(AppError::invalid(
            "commission",
            "must be a percentage such as 10 or 12.5",
        )),
    };
    match result {
        Ok(()) => Redirect::to(&format!(
            "/app/staff?location={}&change={id}&commission=saved#commission",
            form.location
        ))
        .into_response(),
        Err(AppError::Validation(_)) => page::error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Not saved",
            "A commission is a percentage from 0 to 100, such as 10 or 12.5.",
            &csrf,
        ),
        Err(e) => page::app_error(e, &csrf),
    }
}

fn time_field(errors: &mut FieldErrors, field: &str, text: &str, missing: &str) -> Option<NaiveTime> {
    let parsed = NaiveTime::parse_from_str(text.trim(), "%H:%M").ok();
    if parsed.is_none() {
        errors.push(field, missing);
    }
    parsed
}

/// The use case's field names as the form's.
fn staff_field(field: &str) -> String {
    if field.starts_with("services") {
        "services".into()
    } else if field.starts_with("days") {
        if field.ends_with(".breaks") {
            "break_from".into()
        } else {
            "from".into()
        }
    } else {
        field.to_owned()
    }
}

/// `POST /app/staff`: a new staff member with services and hours.
pub async fn add_staff(
    State(state): State<AppState>,
    origin: RequestOrigin,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    save_staff(state, origin, headers, StaffForm::read(pairs)).await
}

/// `POST /app/staff/{id}`: a staff member's name, services and week here
/// (and whether they still take clients), changed together or not at all.
pub async fn change_staff(
    State(state): State<AppState>,
    origin: RequestOrigin,
    headers: HeaderMap,
    PathId(id): PathId,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let mut form = StaffForm::read(pairs);
    form.editing = Some((id, String::new()));
    save_staff(state, origin, headers, form).await
}

async fn save_staff(
    state: AppState,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    form: StaffForm,
) -> Response {
    let refused = (
        "Not saved",
        "The form had expired. Open the staff page again and retry.",
    );
    let SignedIn { principal, csrf } =
        match form_sender(&state, &headers, &form.csrf, "/app/staff", refused).await {
            Ok(sender) => sender,
            Err(answer) => return answer,
        };
    let again = |status, errors| {
        staff_page(
            &state,
            &principal,
            &csrf,
            status,
            &form,
            errors,
            String::new(),
            (TimeOffForm::default(), String::new()),
        )
    };
    let mut errors = FieldErrors::default();
    if form.name.trim().is_empty() {
        errors.push("name", "Enter the person's name.");
    }
    let location = form.location.parse::<Uuid>().ok();
    let services: Vec<Uuid> = form.services.iter().filter_map(|s| s.parse().ok()).collect();
    if services.len() != form.services.len() {
        errors.push("services", "Tick services from the list.");
    }
    let days: Vec<i16> = form.days.iter().filter_map(|d| d.parse().ok()).collect();
    if days.is_empty() {
        errors.push("days", "Tick the days they work.");
    }
    let from = time_field(
        &mut errors,
        "from",
        &form.from,
        "Enter when the day starts, e.g. 10:00.",
    );
    let to = time_field(
        &mut errors,
        "to",
        &form.to,
        "Enter when the day ends, e.g. 19:00.",
    );
    let break_span = if form.break_from.trim().is_empty() && form.break_to.trim().is_empty() {
        None
    } else {
        let start = time_field(
            &mut errors,
            "break_from",
            &form.break_from,
            "Enter when the break starts.",
        );
        let end = time_field(
            &mut errors,
            "break_to",
            &form.break_to,
            "Enter when the break ends.",
        );
        start.zip(end)
    };
    let (Some(location), Some(from), Some(to), true) = (location, from, to, errors.is_empty()) else {
        return again(StatusCode::UNPROCESSABLE_ENTITY, errors).await;
    };
    let hhmm = |t: NaiveTime| t.format("%H:%M").to_string();
    let hours = StaffHoursRequest {
        location_id: Some(location),
        days: Some(
            days.iter()
                .map(|weekday| WorkingDay {
                    weekday: *weekday,
                    work: vec![[hhmm(from), hhmm(to)]],
                    breaks: break_span
                        .map(|(start, end)| vec![[hhmm(start), hhmm(end)]])
                        .unwrap_or_default(),
                })
                .collect(),
        ),
    };
    let input = StaffInput {
        name: Some(form.name.clone()),
        title: Some(form.title.clone()),
        active: form.editing.as_ref().map(|_| form.active),
        ..StaffInput::default()
    };
    let services = StaffServicesRequest {
        services: Some(
            services
                .into_iter()
                .map(|service_id| StaffServiceInput {
                    service_id,
                    price_paise: None,
                    duration_minutes: None,
                })
                .collect(),
        ),
    };
    let saved = match form.editing.as_ref() {
        Some((id, _)) => {
            state
                .app
                .change_staff_member(&principal, *id, &input, &services, &hours, &origin)
                .await
        }
        None => {
            state
                .app
                .add_staff_member(&principal, &input, &services, &hours, &origin)
                .await
        }
    };
    match saved {
        Ok(detail) => Redirect::to(&format!(
            "/app/staff?location={location}&{}={}",
            if form.editing.is_some() { "saved" } else { "added" },
            url_encoded(&detail.staff.fields.name)
        ))
        .into_response(),
        Err(AppError::Validation(fields)) => {
            again(
                StatusCode::UNPROCESSABLE_ENTITY,
                FieldErrors::from_use_case(&fields, staff_field),
            )
            .await
        }
        Err(AppError::Conflict { detail, .. } | AppError::ConflictWith { detail, .. }) => {
            let mut errors = FieldErrors::default();
            errors.push("from", crate::booking::sentence(&detail));
            again(StatusCode::CONFLICT, errors).await
        }
        Err(e) => page::app_error(e, &csrf),
    }
}

#[cfg(test)]
mod tests {
    use super::{week_summary, WorkingDay};

    fn day(weekday: i16, work: [&str; 2], breaks: &[[&str; 2]]) -> WorkingDay {
        WorkingDay {
            weekday,
            work: vec![work.map(String::from)],
            breaks: breaks.iter().map(|b| b.map(String::from)).collect(),
        }
    }

    #[test]
    fn sums_a_week_up_in_one_line() {
        let week = [
            day(1, ["10:00", "19:00"], &[["14:00", "14:30"]]),
            day(2, ["10:00", "19:00"], &[["14:00", "14:30"]]),
            day(3, ["10:00", "19:00"], &[["14:00", "14:30"]]),
            day(5, ["10:00", "19:00"], &[["14:00", "14:30"]]),
            day(6, ["09:00", "20:00"], &[]),
        ];
        assert_eq!(
            week_summary(&week),
            "Mon–Wed 10:00–19:00 (break 14:00–14:30); Fri 10:00–19:00 (break 14:00–14:30); Sat 09:00–20:00"
        );
        assert_eq!(week_summary(&[]), "No hours yet");
    }
}

// ------------------------------------------------------------ branch

struct OpeningRow {
    weekday: i16,
    label: &'static str,
    open: bool,
    from: String,
    to: String,
    error: String,
}

#[derive(Template)]
#[template(path = "branch.html")]
struct BranchPage {
    chrome: Chrome,
    location: String,
    name: String,
    state: String,
    gstin: String,
    timezone: String,
    /// Branches to switch between, when there are several.
    branches: Vec<(String, String)>,
    manage: bool,
    /// No opening hours yet: nothing can be booked.
    unset: bool,
    rows: Vec<OpeningRow>,
    /// What was just saved: the hours, or the days closed.
    saved: &'static str,
    /// Days the branch is closed (holidays), from today on.
    closures: Vec<ClosureLine>,
    closure_form: ClosureForm,
    closure_error: String,
    /// The branch's booking rules, as the form shows them.
    rules: RulesForm,
    rules_error: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct RulesForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    location: String,
    /// A checkbox: present when ticked.
    online: Option<String>,
    #[serde(default)]
    notice_hours: String,
    #[serde(default)]
    days_ahead: String,
    #[serde(default)]
    step: String,
    #[serde(default)]
    cancel_hours: String,
}

/// Minutes as the form shows them, in hours ("1.5" for 90).
fn hours_of(minutes: i32) -> String {
    if minutes % 60 == 0 {
        (minutes / 60).to_string()
    } else {
        format!("{}", f64::from(minutes) / 60.0)
    }
}

struct ClosureLine {
    id: Uuid,
    days: String,
    reason: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct ClosureForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    first_day: String,
    #[serde(default)]
    last_day: String,
    #[serde(default)]
    reason: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct BranchQuery {
    location: Option<String>,
    /// `hours` or `closed`: what was just saved.
    saved: Option<String>,
}

/// The week's rows as typed (`open_N`, `from_N`, `to_N` for weekday N).
fn opening_rows(pairs: &[(String, String)]) -> Vec<OpeningRow> {
    let value = |key: String| {
        pairs
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.trim().to_owned())
    };
    WEEKDAYS
        .iter()
        .map(|(weekday, label)| OpeningRow {
            weekday: *weekday,
            label,
            open: value(format!("open_{weekday}")).is_some(),
            from: value(format!("from_{weekday}")).unwrap_or_default(),
            to: value(format!("to_{weekday}")).unwrap_or_default(),
            error: String::new(),
        })
        .collect()
}

#[allow(clippy::too_many_arguments)] // the page keeps what was typed into its two forms
async fn branch_page(
    state: &AppState,
    principal: &Principal,
    csrf: &str,
    status: StatusCode,
    wanted: Option<Uuid>,
    typed: Option<Vec<OpeningRow>>,
    saved: &'static str,
    closure: (ClosureForm, String),
    rules_typed: Option<(RulesForm, String)>,
) -> Response {
    let (locations, location) = match page::branch(state, principal, wanted, csrf).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let hours = match state.app.location_hours(principal, location.id).await {
        Ok(hours) => hours,
        Err(e) => return page::app_error(e, csrf),
    };
    let unset = hours.days.is_empty();
    let (rules, rules_error) = match rules_typed {
        Some(typed) => typed,
        None => match state.app.booking_rules(principal, location.id).await {
            Ok(r) => (
                RulesForm {
                    online: r.online_booking.then(String::new),
                    notice_hours: hours_of(r.min_notice_minutes),
                    days_ahead: r.max_days_ahead.to_string(),
                    step: r.slot_step_minutes.to_string(),
                    cancel_hours: hours_of(r.cancellation_window_minutes),
                    ..RulesForm::default()
                },
                String::new(),
            ),
            Err(e) => return page::app_error(e, csrf),
        },
    };
    let closures = match state.app.location_closures(principal, location.id).await {
        Ok(closures) => closures,
        Err(e) => return page::app_error(e, csrf),
    };
    let today = chrono::Utc::now()
        .with_timezone(&page::zone(&location.timezone))
        .date_naive();
    let rows = typed.unwrap_or_else(|| {
        WEEKDAYS
            .iter()
            .map(|(weekday, label)| {
                let day = hours.days.iter().find(|d| d.weekday == *weekday);
                let span = day.and_then(|d| d.work.first());
                OpeningRow {
                    weekday: *weekday,
                    label,
                    // A new branch is offered every day, 10:00–20:00, to save.
                    open: day.is_some() || unset,
                    from: span.map_or("10:00".into(), |[from, _]| from.clone()),
                    to: span.map_or("20:00".into(), |[_, to]| to.clone()),
                    error: String::new(),
                }
            })
            .collect()
    });
    let page = BranchPage {
        chrome: Chrome::signed(location.name.clone(), csrf, principal),
        location: location.id.to_string(),
        name: location.name.clone(),
        state: ftry_domain::gstin::state_name(&location.state_code)
            .map_or(location.state_code.clone(), |name| {
                format!("{name} ({})", location.state_code)
            }),
        gstin: location.gstin.clone().unwrap_or_default(),
        timezone: location.timezone.clone(),
        branches: if locations.len() > 1 {
            locations
                .iter()
                .map(|l| (l.id.to_string(), l.name.clone()))
                .collect()
        } else {
            Vec::new()
        },
        manage: principal.can(Permission::LocationsManage),
        unset,
        rows,
        saved,
        closures: closures
            .iter()
            .filter(|c| c.last_day >= today)
            .map(|c| ClosureLine {
                id: c.id,
                days: if c.first_day == c.last_day {
                    c.first_day.format("%a %-d %b %Y").to_string()
                } else {
                    format!(
                        "{} – {}",
                        c.first_day.format("%a %-d %b"),
                        c.last_day.format("%a %-d %b %Y")
                    )
                },
                reason: c.reason.clone(),
            })
            .collect(),
        closure_form: closure.0,
        closure_error: closure.1,
        rules,
        rules_error,
    };
    html(status, &page)
}

/// `GET /app/branch`: the branch's details and its opening hours.
pub async fn branch(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<BranchQuery>, QueryRejection>,
) -> Response {
    let Some(SignedIn { principal, csrf }) = signed_in(&state, &headers).await else {
        return to_login(uri.path());
    };
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let wanted = query.location.and_then(|l| l.parse().ok());
    let saved = match query.saved.as_deref() {
        Some("hours") => "Opening hours saved.",
        Some("closed") => "Closed days saved: nothing can be booked on them.",
        Some("reopened") => "Open again on those days.",
        Some("rules") => "Booking rules saved.",
        _ => "",
    };
    branch_page(
        &state,
        &principal,
        &csrf,
        StatusCode::OK,
        wanted,
        None,
        saved,
        (ClosureForm::default(), String::new()),
        None,
    )
    .await
}

/// `POST /app/branch/hours`: the week's opening hours, replaced as a whole.
pub async fn set_hours(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    };
    let refused = (
        "Not saved",
        "The form had expired. Open the branch page again and retry.",
    );
    let SignedIn { principal, csrf } =
        match form_sender(&state, &headers, field("csrf"), "/app/branch", refused).await {
            Ok(sender) => sender,
            Err(answer) => return answer,
        };
    let Ok(location) = field("location").parse::<Uuid>() else {
        return page::app_error(AppError::NotFound, &csrf);
    };
    let mut rows = opening_rows(&pairs);
    let mut days = Vec::new();
    for row in rows.iter_mut().filter(|r| r.open) {
        let from = NaiveTime::parse_from_str(&row.from, "%H:%M");
        let to = NaiveTime::parse_from_str(&row.to, "%H:%M");
        match (from, to) {
            (Ok(from), Ok(to)) if from < to => days.push(OpeningDay {
                weekday: row.weekday,
                work: vec![[from.format("%H:%M").to_string(), to.format("%H:%M").to_string()]],
            }),
            (Ok(_), Ok(_)) => row.error = "Closing comes after opening.".into(),
            _ => row.error = "Enter opening and closing times, e.g. 10:00 and 20:00.".into(),
        }
    }
    let again = |status, rows| {
        branch_page(
            &state,
            &principal,
            &csrf,
            status,
            Some(location),
            Some(rows),
            "",
            (ClosureForm::default(), String::new()),
            None,
        )
    };
    if rows.iter().any(|r| !r.error.is_empty()) {
        return again(StatusCode::UNPROCESSABLE_ENTITY, rows).await;
    }
    let request = LocationHoursRequest { days: Some(days) };
    match state
        .app
        .set_location_hours(&principal, location, &request, &origin)
        .await
    {
        Ok(_) => Redirect::to(&format!("/app/branch?location={location}&saved=hours")).into_response(),
        Err(AppError::Validation(fields)) => {
            // `days[i]…`: the i-th open day.
            let open: Vec<usize> = (0..rows.len()).filter(|i| rows[*i].open).collect();
            for f in &fields {
                let index = f
                    .field
                    .strip_prefix("days[")
                    .and_then(|rest| rest.split(']').next())
                    .and_then(|i| i.parse::<usize>().ok())
                    .and_then(|i| open.get(i).copied());
                if let Some(i) = index {
                    rows[i].error = crate::booking::sentence(&f.message);
                }
            }
            again(StatusCode::UNPROCESSABLE_ENTITY, rows).await
        }
        Err(e) => page::app_error(e, &csrf),
    }
}

/// `POST /app/branch/closures`: days the branch is closed (a holiday).
pub async fn add_closure(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Form(form): Form<ClosureForm>,
) -> Response {
    let refused = (
        "Not saved",
        "The form had expired. Open the branch page again and retry.",
    );
    let SignedIn { principal, csrf } =
        match form_sender(&state, &headers, &form.csrf, "/app/branch", refused).await {
            Ok(sender) => sender,
            Err(answer) => return answer,
        };
    let Ok(location) = form.location.parse::<Uuid>() else {
        return page::app_error(AppError::NotFound, &csrf);
    };
    let day = |text: &str| chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok();
    let first = day(&form.first_day);
    // One day when the last is left empty.
    let last = if form.last_day.trim().is_empty() {
        first
    } else {
        day(&form.last_day)
    };
    let request = ClosureRequest {
        first_day: first,
        last_day: last,
        reason: Some(form.reason.trim().to_owned()).filter(|r| !r.is_empty()),
    };
    let refusal = match (first, last) {
        (Some(_), Some(_)) => match state
            .app
            .add_location_closure(&principal, location, &request, &origin)
            .await
        {
            Ok(_) => {
                return Redirect::to(&format!("/app/branch?location={location}&saved=closed")).into_response()
            }
            Err(AppError::Validation(fields)) => in_words(&fields, the_field),
            Err(AppError::Conflict { detail, .. } | AppError::ConflictWith { detail, .. }) => detail,
            Err(e) => return page::app_error(e, &csrf),
        },
        _ => "Pick the first day closed (and the last, for more than one).".to_owned(),
    };
    branch_page(
        &state,
        &principal,
        &csrf,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some(location),
        None,
        "",
        (form, refusal),
        None,
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
pub struct ReopenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    closure: String,
}

/// `POST /app/branch/closures/remove`: open again on days marked closed.
pub async fn remove_closure(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Form(form): Form<ReopenForm>,
) -> Response {
    let refused = (
        "Not saved",
        "The form had expired. Open the branch page again and retry.",
    );
    let SignedIn { principal, csrf } =
        match form_sender(&state, &headers, &form.csrf, "/app/branch", refused).await {
            Ok(sender) => sender,
            Err(answer) => return answer,
        };
    let (Ok(location), Ok(closure)) = (form.location.parse::<Uuid>(), form.closure.parse::<Uuid>()) else {
        return page::app_error(AppError::NotFound, &csrf);
    };
    match state
        .app
        .remove_location_closure(&principal, location, closure, &origin)
        .await
    {
        Ok(()) => Redirect::to(&format!("/app/branch?location={location}&saved=reopened")).into_response(),
        Err(e) => page::app_error(e, &csrf),
    }
}

/// `POST /app/staff/time-off`: someone away (leave, training), in the branch's time.
pub async fn add_time_off(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Form(form): Form<TimeOffForm>,
) -> Response {
    let refused = (
        "Not saved",
        "The form had expired. Open the staff page again and retry.",
    );
    let SignedIn { principal, csrf } =
        match form_sender(&state, &headers, &form.csrf, "/app/staff", refused).await {
            Ok(sender) => sender,
            Err(answer) => return answer,
        };
    let location = form.location.parse::<Uuid>().ok();
    let zone = match location {
        Some(id) => match state.app.location(&principal, id).await {
            Ok(location) => page::zone(&location.timezone),
            Err(e) => return page::app_error(e, &csrf),
        },
        None => chrono_tz::Asia::Kolkata,
    };
    let instant = |day: &str, time: &str, default: &str| {
        let day = chrono::NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d").ok()?;
        let time = if time.trim().is_empty() {
            default
        } else {
            time.trim()
        };
        let time = NaiveTime::parse_from_str(time, "%H:%M").ok()?;
        ftry_domain::schedule::start_instant(zone, day.and_time(time))
    };
    // A whole day when no time is given: from its start to the next day's.
    let starts_at = instant(&form.from_day, &form.from_time, "00:00");
    let to_day = if form.to_day.trim().is_empty() {
        &form.from_day
    } else {
        &form.to_day
    };
    let ends_at = if form.to_time.trim().is_empty() {
        chrono::NaiveDate::parse_from_str(to_day.trim(), "%Y-%m-%d")
            .ok()
            .and_then(|d| d.succ_opt())
            .and_then(|d| ftry_domain::schedule::start_instant(zone, d.and_time(NaiveTime::MIN)))
    } else {
        instant(to_day, &form.to_time, "00:00")
    };
    let staff_form = StaffForm {
        location: form.location.clone(),
        ..StaffForm::blank()
    };
    let refusal = match (form.staff.parse::<Uuid>(), starts_at, ends_at) {
        (Ok(staff), Some(starts_at), Some(ends_at)) => {
            let request = TimeOffRequest {
                starts_at: Some(starts_at),
                ends_at: Some(ends_at),
                reason: Some(form.reason.trim().to_owned()).filter(|r| !r.is_empty()),
            };
            match state.app.add_time_off(&principal, staff, &request, &origin).await {
                Ok(_) => {
                    return Redirect::to(&format!("/app/staff?location={}&added=time%20off", form.location))
                        .into_response()
                }
                Err(AppError::Validation(fields)) => in_words(&fields, the_field),
                Err(AppError::Conflict { detail, .. } | AppError::ConflictWith { detail, .. }) => detail,
                Err(e) => return page::app_error(e, &csrf),
            }
        }
        (Err(_), _, _) => "Pick who is away.".to_owned(),
        _ => "Pick the first day away (and times, for part of a day).".to_owned(),
    };
    staff_page(
        &state,
        &principal,
        &csrf,
        StatusCode::UNPROCESSABLE_ENTITY,
        &staff_form,
        FieldErrors::default(),
        String::new(),
        (form, refusal),
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
pub struct BackForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    staff: String,
    #[serde(default)]
    time_off: String,
}

/// `POST /app/staff/time-off/remove`: time off cancelled (they are in after all).
pub async fn remove_time_off(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Form(form): Form<BackForm>,
) -> Response {
    let refused = (
        "Not saved",
        "The form had expired. Open the staff page again and retry.",
    );
    let SignedIn { principal, csrf } =
        match form_sender(&state, &headers, &form.csrf, "/app/staff", refused).await {
            Ok(sender) => sender,
            Err(answer) => return answer,
        };
    let (Ok(staff), Ok(time_off)) = (form.staff.parse::<Uuid>(), form.time_off.parse::<Uuid>()) else {
        return page::app_error(AppError::NotFound, &csrf);
    };
    match state
        .app
        .remove_time_off(&principal, staff, time_off, &origin)
        .await
    {
        Ok(()) => Redirect::to(&format!("/app/staff?location={}", form.location)).into_response(),
        Err(e) => page::app_error(e, &csrf),
    }
}

/// `POST /app/branch/rules`: how clients may book and cancel online.
pub async fn set_rules(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Form(form): Form<RulesForm>,
) -> Response {
    let refused = (
        "Not saved",
        "The form had expired. Open the branch page again and retry.",
    );
    let SignedIn { principal, csrf } =
        match form_sender(&state, &headers, &form.csrf, "/app/branch", refused).await {
            Ok(sender) => sender,
            Err(answer) => return answer,
        };
    let Ok(location) = form.location.parse::<Uuid>() else {
        return page::app_error(AppError::NotFound, &csrf);
    };
    let minutes = |hours: &str| {
        hours
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|h| h.is_finite() && *h >= 0.0 && *h <= 10_000.0)
            .map(|h| (h * 60.0).round() as i32)
    };
    let input = BookingRulesInput {
        online_booking: Some(form.online.is_some()),
        min_notice_minutes: minutes(&form.notice_hours),
        max_days_ahead: form.days_ahead.trim().parse().ok(),
        slot_step_minutes: form.step.trim().parse().ok(),
        cancellation_window_minutes: minutes(&form.cancel_hours),
    };
    let missing = [
        (
            input.min_notice_minutes.is_none(),
            "Enter the notice in hours, e.g. 2.",
        ),
        (
            input.max_days_ahead.is_none(),
            "Enter how many days ahead clients may book, e.g. 60.",
        ),
        (
            input.slot_step_minutes.is_none(),
            "Pick the spacing of the times offered.",
        ),
        (
            input.cancellation_window_minutes.is_none(),
            "Enter the cancellation window in hours, e.g. 24.",
        ),
    ]
    .iter()
    .filter(|(missing, _)| *missing)
    .map(|(_, message)| *message)
    .collect::<Vec<_>>()
    .join(" ");
    let refusal = if missing.is_empty() {
        match state
            .app
            .update_booking_rules(&principal, location, &input, &origin)
            .await
        {
            Ok(_) => {
                return Redirect::to(&format!("/app/branch?location={location}&saved=rules")).into_response()
            }
            Err(AppError::Validation(fields)) => in_words(&fields, |f| rule_name(f).to_owned()),
            Err(e) => return page::app_error(e, &csrf),
        }
    } else {
        missing
    };
    branch_page(
        &state,
        &principal,
        &csrf,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some(location),
        None,
        "",
        (ClosureForm::default(), String::new()),
        Some((form, refusal)),
    )
    .await
}

/// A booking rule's field as the form names it.
fn rule_name(field: &str) -> &str {
    match field {
        "min_notice_minutes" => "the notice (in minutes)",
        "max_days_ahead" => "the days ahead",
        "slot_step_minutes" => "the spacing of times (in minutes)",
        "cancellation_window_minutes" => "the cancellation window (in minutes)",
        other => other,
    }
}
