//! Booking at the front desk: the new-booking form (opened from a free spot
//! of the calendar, or blank) and its submission through the same use case
//! as `POST /api/v1/appointments`. The client is found by phone or created;
//! a visit has up to three services in order; a refusal is shown next to the
//! field it concerns, with everything typed kept.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{OriginalUri, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{NaiveDate, NaiveTime, Utc};
use ftry_api::access::RequestOrigin;
use ftry_api::AppState;
use ftry_app::appointments::BookRequest;
use ftry_app::booking::ItemRequest;
use ftry_app::catalog::ServiceFilter;
use ftry_app::clients::DeskClient;
use ftry_app::{AppError, Principal};
use serde::Deserialize;
use uuid::Uuid;

use crate::format::rupees;
use crate::page::{self, html, Chrome};
use crate::session::{form_sender, signed_in, to_login, SignedIn};

/// Services one visit can have in the form.
const ROWS: usize = 3;

struct Choice {
    id: String,
    label: String,
}

struct ItemRow {
    index: usize,
    service: String,
    staff: String,
    service_error: String,
    staff_error: String,
}

#[derive(Template)]
#[template(path = "booking.html")]
struct BookingPage {
    chrome: Chrome,
    location: String,
    location_name: String,
    /// Sent back with the form: a second submission books nothing twice.
    key: String,
    services: Vec<Choice>,
    staff: Vec<Choice>,
    rows: Vec<ItemRow>,
    phone: String,
    name: String,
    date: String,
    time: String,
    notes: String,
    /// Field → message, shown next to the field.
    errors: Vec<(String, String)>,
    /// What no field owns (a clash, a closed day).
    summary: String,
}

impl BookingPage {
    fn error(&self, field: &str) -> &str {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map_or("", |(_, message)| message.as_str())
    }
}

/// The form's fields, as typed.
#[derive(Debug, Default, Deserialize)]
pub struct BookingForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    time: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    service_0: String,
    #[serde(default)]
    staff_0: String,
    #[serde(default)]
    service_1: String,
    #[serde(default)]
    staff_1: String,
    #[serde(default)]
    service_2: String,
    #[serde(default)]
    staff_2: String,
}

impl BookingForm {
    fn rows(&self) -> [(&str, &str); ROWS] {
        [
            (&self.service_0, &self.staff_0),
            (&self.service_1, &self.staff_1),
            (&self.service_2, &self.staff_2),
        ]
    }
}

/// `GET /app/appointments/new`: `location`, `date`, `time` and `staff` fill
/// the form (the calendar's free spot that was clicked).
#[derive(Debug, Default, Deserialize)]
pub struct NewQuery {
    location: Option<String>,
    date: Option<String>,
    time: Option<String>,
    staff: Option<String>,
}

async fn render(
    state: &AppState,
    principal: &Principal,
    csrf: &str,
    status: StatusCode,
    form: &BookingForm,
    mut errors: Vec<(String, String)>,
    mut summary: String,
) -> Response {
    // An error of no field of the form goes above it.
    let (fields, others): (Vec<_>, Vec<_>) = errors.into_iter().partition(|(field, _)| {
        matches!(field.as_str(), "phone" | "name" | "date" | "time" | "notes")
            || field.starts_with("service_")
            || field.starts_with("staff_")
    });
    errors = fields;
    for (_, message) in others {
        if !summary.is_empty() {
            summary.push(' ');
        }
        summary.push_str(&message);
    }
    let locations = match state.app.locations(principal).await {
        Ok(locations) => locations,
        Err(e) => return page::app_error(e, csrf),
    };
    let location = match form.location.parse::<Uuid>().ok() {
        Some(id) => locations.iter().find(|l| l.id == id),
        None => locations.first(),
    };
    let Some(location) = location else {
        return page::app_error(AppError::NotFound, csrf);
    };
    let filter = ServiceFilter {
        location_id: Some(location.id),
        active: Some(true),
    };
    let services = match state.app.services(principal, &filter).await {
        Ok(services) => services,
        Err(e) => return page::app_error(e, csrf),
    };
    let staff = match state.app.staff_list(principal).await {
        Ok(staff) => staff,
        Err(e) => return page::app_error(e, csrf),
    };
    let field_error = |name: String| {
        errors
            .iter()
            .find(|(f, _)| *f == name)
            .map_or(String::new(), |(_, m)| m.clone())
    };
    let rows = form
        .rows()
        .iter()
        .enumerate()
        .map(|(index, (service, staff))| ItemRow {
            index,
            service: (*service).to_owned(),
            staff: (*staff).to_owned(),
            service_error: field_error(format!("service_{index}")),
            staff_error: field_error(format!("staff_{index}")),
        })
        .collect();
    let page = BookingPage {
        chrome: Chrome::signed("New booking", csrf, principal),
        location: location.id.to_string(),
        location_name: location.name.clone(),
        // A new key for each form shown: a refused form, corrected, is a new request.
        key: ftry_app::tokens::random_secret(),
        services: services
            .iter()
            .map(|s| Choice {
                id: s.id.to_string(),
                label: format!(
                    "{} · {} min · {}",
                    s.fields.name,
                    s.fields.duration_minutes,
                    rupees(s.fields.price_paise)
                ),
            })
            .collect(),
        staff: staff
            .iter()
            .filter(|s| s.fields.active)
            .map(|s| Choice {
                id: s.id.to_string(),
                label: s.fields.name.clone(),
            })
            .collect(),
        rows,
        phone: form.phone.clone(),
        name: form.name.clone(),
        date: form.date.clone(),
        time: form.time.clone(),
        notes: form.notes.clone(),
        errors,
        summary,
    };
    html(status, &page)
}

pub async fn new(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<NewQuery>, QueryRejection>,
) -> Response {
    let Some(SignedIn { principal, csrf }) = signed_in(&state, &headers).await else {
        return to_login(
            uri.path_and_query()
                .map_or("/app/appointments/new", |p| p.as_str()),
        );
    };
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let form = BookingForm {
        location: query.location.unwrap_or_default(),
        date: query
            .date
            .filter(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok())
            .unwrap_or_else(|| Utc::now().date_naive().to_string()),
        time: query
            .time
            .filter(|t| NaiveTime::parse_from_str(t, "%H:%M").is_ok())
            .unwrap_or_default(),
        staff_0: query.staff.unwrap_or_default(),
        ..BookingForm::default()
    };
    render(
        &state,
        &principal,
        &csrf,
        StatusCode::OK,
        &form,
        Vec::new(),
        String::new(),
    )
    .await
}

/// A use case's field name as the form's.
fn form_field(field: &str) -> String {
    if field == "start" {
        return "time".into();
    }
    if let Some(rest) = field.strip_prefix("items[") {
        if let Some((index, part)) = rest.split_once("].") {
            let kind = if part == "staff_id" { "staff" } else { "service" };
            return format!("{kind}_{index}");
        }
    }
    if field == "items" {
        return "service_0".into();
    }
    field.to_owned()
}

/// A use case's message (`must be …`) as a sentence for the form.
pub(crate) fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let mut text: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !text.ends_with('.') {
        text.push('.');
    }
    text
}

/// The engine counts a visit's items from 0 ("Item 0: …"); the form's
/// services are numbered from 1.
pub(crate) fn as_the_form_counts(detail: &str) -> String {
    let numbered = detail
        .strip_prefix("Item ")
        .and_then(|rest| rest.split_once(": "))
        .and_then(|(n, rest)| Some((n.parse::<usize>().ok()?, rest)));
    match numbered {
        Some((n, rest)) => format!("Service {}: {rest}.", n + 1).replace("..", "."),
        None => detail.to_owned(),
    }
}

fn uuid_field(errors: &mut Vec<(String, String)>, field: &str, text: &str) -> Option<Uuid> {
    if text.is_empty() {
        return None;
    }
    let parsed = text.parse::<Uuid>().ok();
    if parsed.is_none() {
        errors.push((field.to_owned(), "Pick one from the list.".into()));
    }
    parsed
}

/// `POST /app/appointments`.
pub async fn create(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Form(form): Form<BookingForm>,
) -> Response {
    let refused = (
        "Not booked",
        "The form had expired. Open the calendar again and book from there.",
    );
    let SignedIn { principal, csrf } =
        match form_sender(&state, &headers, &form.csrf, "/app/appointments/new", refused).await {
            Ok(sender) => sender,
            Err(answer) => return answer,
        };
    let again = |status, errors, summary| render(&state, &principal, &csrf, status, &form, errors, summary);

    let mut errors = Vec::new();
    let location = uuid_field(&mut errors, "location", &form.location);
    let date = NaiveDate::parse_from_str(&form.date, "%Y-%m-%d");
    if date.is_err() {
        errors.push(("date".into(), "Pick a date.".into()));
    }
    let time = NaiveTime::parse_from_str(&form.time, "%H:%M");
    if time.is_err() {
        errors.push(("time".into(), "Pick a start time.".into()));
    }
    let mut items = Vec::new();
    for (index, (service, staff)) in form.rows().iter().enumerate() {
        let service_id = uuid_field(&mut errors, &format!("service_{index}"), service);
        let staff_id = uuid_field(&mut errors, &format!("staff_{index}"), staff);
        if let Some(service_id) = service_id {
            items.push(ItemRequest {
                service_id,
                staff_id,
                resource_id: None,
            });
        } else if staff_id.is_some() {
            errors.push((
                format!("service_{index}"),
                "Pick the service this person does.".into(),
            ));
        }
    }
    if items.is_empty() && !errors.iter().any(|(f, _)| f == "service_0") {
        errors.push(("service_0".into(), "Pick at least one service.".into()));
    }
    let phone = form.phone.trim();
    let name = form.name.trim();
    if phone.is_empty() && name.is_empty() {
        errors.push((
            "phone".into(),
            "Enter the client's phone number, or a name for a walk-in.".into(),
        ));
    }
    let (Some(location), Ok(date), Ok(time), true) = (location, date, time, errors.is_empty()) else {
        return again(StatusCode::UNPROCESSABLE_ENTITY, errors, String::new()).await;
    };

    let request = BookRequest {
        location_id: location,
        client_id: Uuid::nil(),
        start: None,
        start_local: Some(date.and_time(time)),
        items,
        source: None,
        notes: Some(form.notes.trim().to_owned()).filter(|n| !n.is_empty()),
    };
    let key = format!("web:{}", form.key);
    let key = Some(key.as_str()).filter(|_| !form.key.is_empty());
    let client = DeskClient {
        phone: Some(phone.to_owned()),
        name: name.to_owned(),
    };
    let booked = state
        .app
        .book_at_desk(&principal, &client, &request, key, &origin)
        .await;
    match booked {
        Ok(_) => Redirect::to(&format!("/app/calendar?location={location}&date={date}")).into_response(),
        Err(AppError::Validation(fields)) => {
            let errors = fields
                .into_iter()
                .map(|f| (form_field(&f.field), sentence(&f.message)))
                .collect();
            again(StatusCode::UNPROCESSABLE_ENTITY, errors, String::new()).await
        }
        Err(AppError::Conflict { detail, .. } | AppError::ConflictWith { detail, .. }) => {
            again(
                StatusCode::CONFLICT,
                vec![("time".into(), as_the_form_counts(&detail))],
                String::new(),
            )
            .await
        }
        Err(e) => page::app_error(e, &csrf),
    }
}

#[cfg(test)]
mod tests {
    use super::as_the_form_counts;

    #[test]
    fn a_use_case_message_reads_as_a_sentence() {
        assert_eq!(
            super::sentence("no client has this phone number: enter a name to add them"),
            "No client has this phone number: enter a name to add them."
        );
        assert_eq!(
            super::sentence("Outside opening hours."),
            "Outside opening hours."
        );
    }

    #[test]
    fn numbers_a_clash_as_the_form_numbers_its_services() {
        assert_eq!(
            as_the_form_counts("Item 1: the staff member is not free then"),
            "Service 2: the staff member is not free then."
        );
        assert_eq!(
            as_the_form_counts("That staff member is already booked then."),
            "That staff member is already booked then."
        );
    }
}
