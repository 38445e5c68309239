//! The salon's own booking pages, for clients on their phones, without an
//! account: `/{salon}` → services → a free time → name and phone → booked,
//! with a private link (`/b/{token}`, the link of the confirmation message)
//! to see or cancel the booking. Every step is a plain link or form, so the
//! browser's back button and a page reload do what people expect; the
//! choices so far travel in the address.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Days, NaiveDate, Utc};
use ftry_api::access::RequestOrigin;
use ftry_api::AppState;
use ftry_app::appointments::AvailabilityQuery;
use ftry_app::public::{
    PublicBookingRequest, PublicCancelRequest, PublicClient, PublicItem, PublicLocation, PublicSalon,
};
use ftry_app::AppError;
use uuid::Uuid;

use crate::format::rupees;
use crate::page::{self, html, Chrome};

/// Days ahead a client can pick from.
const DAYS: u64 = 14;

/// The choices so far, from the address (or the form).
#[derive(Debug, Default, Clone)]
struct Choice {
    location: Option<Uuid>,
    services: Vec<Uuid>,
    staff: Option<Uuid>,
    date: Option<NaiveDate>,
    start: Option<DateTime<Utc>>,
    name: String,
    phone: String,
    email: String,
    key: String,
}

impl Choice {
    fn parse(raw: &[u8]) -> Self {
        let mut choice = Self::default();
        for (key, value) in url::form_urlencoded::parse(raw) {
            match key.as_ref() {
                "location" => choice.location = value.parse().ok(),
                "s" => choice.services.extend(value.parse::<Uuid>().ok()),
                "staff" => choice.staff = value.parse().ok(),
                "date" => choice.date = NaiveDate::parse_from_str(&value, "%Y-%m-%d").ok(),
                "start" => {
                    choice.start = DateTime::parse_from_rfc3339(&value)
                        .ok()
                        .map(|t| t.with_timezone(&Utc))
                }
                "name" => choice.name = value.into_owned(),
                "phone" => choice.phone = value.into_owned(),
                "email" => choice.email = value.into_owned(),
                "key" => choice.key = value.into_owned(),
                _ => {}
            }
        }
        choice.services.truncate(5);
        choice
    }

    /// The choices as an address's query, without the date and time.
    fn query(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(location) = self.location {
            query.append_pair("location", &location.to_string());
        }
        for service in &self.services {
            query.append_pair("s", &service.to_string());
        }
        if let Some(staff) = self.staff {
            query.append_pair("staff", &staff.to_string());
        }
        query.finish()
    }
}

/// A page for people; an unknown address asked for by a program (no
/// `text/html` in `Accept`) gets the API's problem answer instead.
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/html"))
}

fn missing(headers: &HeaderMap) -> Response {
    if wants_html(headers) {
        page::error(
            StatusCode::NOT_FOUND,
            "Page not found",
            "There is no salon or booking at this address. Check the link you were sent.",
            "",
        )
    } else {
        ftry_api::problem::Problem::not_found().into_response()
    }
}

fn refusal(e: AppError, headers: &HeaderMap) -> Response {
    match e {
        AppError::NotFound => missing(headers),
        other => page::app_error(other, ""),
    }
}

struct ServiceOption {
    id: Uuid,
    name: String,
    detail: String,
    checked: bool,
}

#[derive(Template)]
#[template(path = "public_services.html")]
struct ServicesPage {
    chrome: Chrome,
    salon: String,
    slug: String,
    /// More than one branch: pick one first.
    locations: Vec<PublicLocation>,
    location: Option<PublicLocation>,
    services: Vec<ServiceOption>,
    error: String,
}

fn location_of(salon: &PublicSalon, wanted: Option<Uuid>) -> Option<&PublicLocation> {
    match wanted {
        Some(id) => salon.locations.iter().find(|l| l.id == id),
        None if salon.locations.len() == 1 => salon.locations.first(),
        None => None,
    }
}

fn copy(location: &PublicLocation) -> PublicLocation {
    PublicLocation {
        id: location.id,
        name: location.name.clone(),
        address: location.address.clone(),
        timezone: location.timezone.clone(),
        cancellation_window_minutes: location.cancellation_window_minutes,
    }
}

async fn services_page(
    state: &AppState,
    slug: &str,
    choice: &Choice,
    error: &str,
    headers: &HeaderMap,
) -> Response {
    let salon = match state.app.public_salon(slug).await {
        Ok(salon) => salon,
        Err(e) => return refusal(e, headers),
    };
    let location = location_of(&salon, choice.location).map(copy);
    let services = match &location {
        Some(location) => match state.app.public_services(slug, location.id).await {
            Ok(services) => services,
            Err(e) => return refusal(e, headers),
        },
        None => Vec::new(),
    };
    let status = if error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    html(
        status,
        &ServicesPage {
            chrome: Chrome::new(format!("Book at {}", salon.name), ""),
            salon: salon.name.clone(),
            slug: salon.slug.clone(),
            locations: if location.is_none() {
                salon.locations
            } else {
                Vec::new()
            },
            location,
            services: services
                .into_iter()
                .map(|s| ServiceOption {
                    checked: choice.services.contains(&s.id),
                    id: s.id,
                    detail: format!("{} min · {}", s.duration_minutes, rupees(s.price_paise)),
                    name: s.name,
                })
                .collect(),
            error: error.to_owned(),
        },
    )
}

/// `GET /{salon}`: the branch (when there are several), then its services.
pub async fn salon(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let choice = Choice::parse(query.unwrap_or_default().as_bytes());
    services_page(&state, &slug, &choice, "", &headers).await
}

struct DayLink {
    label: String,
    href: String,
    current: bool,
}

struct TimeLink {
    label: String,
    href: String,
}

struct StaffOption {
    id: Uuid,
    name: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "public_times.html")]
struct TimesPage {
    chrome: Chrome,
    salon: String,
    slug: String,
    location: PublicLocation,
    chosen: String,
    query: String,
    services: Vec<Uuid>,
    staff: Vec<StaffOption>,
    days: Vec<DayLink>,
    day_label: String,
    times: Vec<TimeLink>,
}

/// `GET /{salon}/times`: who, which day, and that day's free times.
pub async fn times(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let choice = Choice::parse(query.unwrap_or_default().as_bytes());
    let salon = match state.app.public_salon(&slug).await {
        Ok(salon) => salon,
        Err(e) => return refusal(e, &headers),
    };
    let Some(location) = location_of(&salon, choice.location).map(copy) else {
        return services_page(&state, &slug, &choice, "Pick a branch first.", &headers).await;
    };
    if choice.services.is_empty() {
        return services_page(&state, &slug, &choice, "Pick at least one service.", &headers).await;
    }
    let (services, staff) = match services_and_staff(&state, &slug, location.id).await {
        Ok(found) => found,
        Err(e) => return refusal(e, &headers),
    };
    let chosen: Vec<String> = choice
        .services
        .iter()
        .filter_map(|id| services.iter().find(|s| s.id == *id).map(|s| s.name.clone()))
        .collect();
    if chosen.len() != choice.services.len() {
        return services_page(
            &state,
            &slug,
            &choice,
            "A service you picked is not offered here.",
            &headers,
        )
        .await;
    }
    let zone = page::zone(&location.timezone);
    let today = Utc::now().with_timezone(&zone).date_naive();
    let last = today.checked_add_days(Days::new(DAYS - 1)).unwrap_or(today);
    let date = choice.date.filter(|d| *d >= today && *d <= last).unwrap_or(today);
    let base = choice.query();
    let availability = AvailabilityQuery {
        services: choice.services.clone(),
        staff: vec![choice.staff; choice.services.len()],
        first_date: date,
        last_date: date,
    };
    let slots = match state
        .app
        .public_availability(&slug, location.id, &availability)
        .await
    {
        Ok(slots) => slots,
        Err(AppError::Validation(_)) => Vec::new(),
        Err(e) => return refusal(e, &headers),
    };
    let page = TimesPage {
        chrome: Chrome::new(format!("Pick a time · {}", salon.name), ""),
        salon: salon.name.clone(),
        slug: salon.slug.clone(),
        chosen: chosen.join(", "),
        services: choice.services.clone(),
        staff: staff
            .into_iter()
            .filter(|member| choice.services.iter().all(|s| member.service_ids.contains(s)))
            .map(|member| StaffOption {
                selected: choice.staff == Some(member.id),
                id: member.id,
                name: member.name,
            })
            .collect(),
        days: today
            .iter_days()
            .take(DAYS as usize)
            .map(|day| DayLink {
                label: day.format("%a %-d %b").to_string(),
                href: format!("/{}/times?{base}&date={day}", salon.slug),
                current: day == date,
            })
            .collect(),
        day_label: date.format("%A, %-d %B").to_string(),
        times: slots
            .iter()
            .map(|slot| TimeLink {
                label: slot.local_start.format("%H:%M").to_string(),
                href: format!(
                    "/{}/details?{base}&start={}",
                    salon.slug,
                    url::form_urlencoded::byte_serialize(slot.start.to_rfc3339().as_bytes())
                        .collect::<String>()
                ),
            })
            .collect(),
        query: base,
        location,
    };
    html(StatusCode::OK, &page)
}

async fn services_and_staff(
    state: &AppState,
    slug: &str,
    location: Uuid,
) -> Result<
    (
        Vec<ftry_app::public::PublicService>,
        Vec<ftry_app::public::PublicStaff>,
    ),
    AppError,
> {
    let services = state.app.public_services(slug, location).await?;
    let staff = state.app.public_staff(slug, location).await?;
    Ok((services, staff))
}

#[derive(Template)]
#[template(path = "public_details.html")]
struct DetailsPage {
    chrome: Chrome,
    salon: String,
    slug: String,
    location: PublicLocation,
    chosen: String,
    when: String,
    back: String,
    services: Vec<Uuid>,
    staff: String,
    start: String,
    key: String,
    name: String,
    phone: String,
    email: String,
    errors: Vec<(String, String)>,
    summary: String,
}

impl DetailsPage {
    fn error(&self, field: &str) -> &str {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map_or("", |(_, message)| message.as_str())
    }
}

async fn details_page(
    state: &AppState,
    slug: &str,
    choice: &Choice,
    status: StatusCode,
    errors: Vec<(String, String)>,
    summary: String,
    headers: &HeaderMap,
) -> Response {
    let salon = match state.app.public_salon(slug).await {
        Ok(salon) => salon,
        Err(e) => return refusal(e, headers),
    };
    let (Some(location), Some(start)) = (location_of(&salon, choice.location).map(copy), choice.start) else {
        return services_page(
            state,
            slug,
            choice,
            "Pick a branch, services and a time first.",
            headers,
        )
        .await;
    };
    let services = match state.app.public_services(slug, location.id).await {
        Ok(services) => services,
        Err(e) => return refusal(e, headers),
    };
    let zone = page::zone(&location.timezone);
    let local = start.with_timezone(&zone);
    let chosen: Vec<String> = choice
        .services
        .iter()
        .filter_map(|id| services.iter().find(|s| s.id == *id))
        .map(|s| format!("{} ({})", s.name, rupees(s.price_paise)))
        .collect();
    let page = DetailsPage {
        chrome: Chrome::new(format!("Your details · {}", salon.name), ""),
        salon: salon.name.clone(),
        slug: salon.slug.clone(),
        chosen: chosen.join(", "),
        when: local.format("%A, %-d %B at %H:%M").to_string(),
        back: format!(
            "/{}/times?{}&date={}",
            salon.slug,
            choice.query(),
            local.date_naive()
        ),
        services: choice.services.clone(),
        staff: choice.staff.map(|s| s.to_string()).unwrap_or_default(),
        start: start.to_rfc3339(),
        key: if choice.key.is_empty() {
            ftry_app::tokens::random_secret()
        } else {
            choice.key.clone()
        },
        name: choice.name.clone(),
        phone: if choice.phone.is_empty() {
            "+91 ".into()
        } else {
            choice.phone.clone()
        },
        email: choice.email.clone(),
        errors,
        summary,
        location,
    };
    html(status, &page)
}

/// `GET /{salon}/details`: the client's name and phone for the chosen time.
pub async fn details(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let choice = Choice::parse(query.unwrap_or_default().as_bytes());
    details_page(
        &state,
        &slug,
        &choice,
        StatusCode::OK,
        Vec::new(),
        String::new(),
        &headers,
    )
    .await
}

/// `POST /{salon}/book`.
pub async fn book(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let choice = Choice::parse(&body);
    let (Some(location), Some(start)) = (choice.location, choice.start) else {
        return services_page(
            &state,
            &slug,
            &choice,
            "Pick a branch, services and a time first.",
            &headers,
        )
        .await;
    };
    let request = PublicBookingRequest {
        location_id: location,
        start,
        items: choice
            .services
            .iter()
            .map(|service| PublicItem {
                service_id: *service,
                staff_id: choice.staff,
            })
            .collect(),
        client: PublicClient {
            name: choice.name.trim().to_owned(),
            phone: choice.phone.trim().to_owned(),
            email: Some(choice.email.trim().to_owned()).filter(|e| !e.is_empty()),
        },
        notes: None,
    };
    let key = format!("web:{}", choice.key);
    let key = Some(key.as_str()).filter(|_| !choice.key.is_empty());
    let again =
        |status, errors, summary| details_page(&state, &slug, &choice, status, errors, summary, &headers);
    match state.app.public_book(&slug, &request, key, &origin).await {
        Ok(created) => match created.body["manage_token"].as_str() {
            Some(token) => Redirect::to(&format!("/b/{token}")).into_response(),
            None => page::app_error(
                AppError::Internal("a booking without its manage token".into()),
                "",
            ),
        },
        Err(AppError::Validation(fields)) => {
            let errors = fields
                .into_iter()
                .map(|f| {
                    let field = f.field.trim_start_matches("client.").to_owned();
                    let message = crate::booking::sentence(&f.message);
                    (field, message)
                })
                .collect();
            again(StatusCode::UNPROCESSABLE_ENTITY, errors, String::new()).await
        }
        Err(AppError::Conflict { .. } | AppError::ConflictWith { .. }) => {
            let summary = "Someone has just booked this time. Please go back and pick another.".to_owned();
            again(StatusCode::CONFLICT, Vec::new(), summary).await
        }
        Err(e) => refusal(e, &headers),
    }
}

struct BookedLine {
    service: String,
    staff: String,
    time: String,
    price: String,
}

#[derive(Template)]
#[template(path = "public_booking.html")]
struct BookingPage {
    chrome: Chrome,
    token: String,
    status: String,
    status_label: &'static str,
    location: String,
    when: String,
    lines: Vec<BookedLine>,
    total: String,
    changeable: bool,
    changeable_until: String,
    /// Days to move to, each showing its free times.
    days: Vec<DayLink>,
    /// The day picked to move to ("" before one is), and its free starts
    /// (RFC 3339, label).
    day_label: String,
    times: Vec<(String, String)>,
    moved: bool,
    move_error: String,
}

/// How far ahead a booking can be moved from its link.
const MOVE_DAYS: u64 = 14;

/// `GET /b/{token}`: the client's own booking, from the link they were sent.
/// `?date=` shows that day's times to move to; `?moved` says it was moved.
pub async fn manage(
    State(state): State<AppState>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let query = query.unwrap_or_default();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let date = pairs
        .iter()
        .find(|(k, _)| k == "date")
        .and_then(|(_, v)| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok());
    let moved = pairs.iter().any(|(k, _)| k == "moved");
    let booking = match state.app.public_booking(&token).await {
        Ok(booking) => booking,
        Err(e) => return refusal(e, &headers),
    };
    booking_page(&state, &token, booking, date, moved, String::new()).await
}

async fn booking_page(
    state: &AppState,
    token: &str,
    booking: ftry_app::public::PublicBooking,
    date: Option<NaiveDate>,
    moved: bool,
    move_error: String,
) -> Response {
    let zone = page::zone(&booking.timezone);
    let holds = !matches!(booking.status.as_str(), "cancelled" | "no_show" | "completed");
    let changeable = holds && Utc::now() < booking.changeable_until;
    let today = Utc::now().with_timezone(&zone).date_naive();
    let date = date.filter(|d| *d >= today && *d <= today + Days::new(MOVE_DAYS));
    let times = match (changeable, date) {
        (true, Some(date)) => match state.app.public_move_times(token, date).await {
            Ok(slots) => slots
                .iter()
                .filter(|slot| slot.start > Utc::now())
                .map(|slot| {
                    (
                        slot.start.to_rfc3339(),
                        slot.local_start.format("%H:%M").to_string(),
                    )
                })
                .collect(),
            Err(e) => return page::app_error(e, ""),
        },
        _ => Vec::new(),
    };
    let days = (0..MOVE_DAYS)
        .map(|n| today + Days::new(n))
        .map(|d| DayLink {
            label: d.format("%a %-d %b").to_string(),
            href: format!("/b/{token}?date={d}#move"),
            current: Some(d) == date,
        })
        .collect();
    let starts = booking.starts_at.with_timezone(&zone);
    let page = BookingPage {
        chrome: Chrome::new(format!("Your booking · {}", booking.location_name), ""),
        token: token.to_owned(),
        status_label: crate::calendar::status_label(&booking.status),
        status: booking.status.clone(),
        location: booking.location_name.clone(),
        when: starts.format("%A, %-d %B %Y at %H:%M").to_string(),
        lines: booking
            .items
            .iter()
            .map(|item| BookedLine {
                service: item.service_name.clone(),
                staff: item.staff_name.clone(),
                time: format!(
                    "{}–{}",
                    item.starts_at.with_timezone(&zone).format("%H:%M"),
                    item.ends_at.with_timezone(&zone).format("%H:%M")
                ),
                price: rupees(item.price_paise),
            })
            .collect(),
        total: rupees(booking.items.iter().map(|i| i.price_paise).sum()),
        changeable,
        changeable_until: booking
            .changeable_until
            .with_timezone(&zone)
            .format("%-d %B at %H:%M")
            .to_string(),
        days,
        day_label: date
            .map(|d| d.format("%A, %-d %B").to_string())
            .unwrap_or_default(),
        times,
        moved,
        move_error: move_error.clone(),
    };
    let status = if move_error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::CONFLICT
    };
    html(status, &page)
}

/// `POST /b/{token}/move`: to the start picked from the day's times.
pub async fn move_booking(
    State(state): State<AppState>,
    Path(token): Path<String>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let start = url::form_urlencoded::parse(&body)
        .find(|(key, _)| key == "start")
        .and_then(|(_, value)| DateTime::parse_from_rfc3339(&value).ok())
        .map(|start| start.with_timezone(&Utc));
    let Some(start) = start else {
        return page::error(
            StatusCode::BAD_REQUEST,
            "Not moved",
            "Pick one of the times shown.",
            "",
        );
    };
    let request = ftry_app::public::PublicRescheduleRequest { start };
    match state.app.public_reschedule(&token, &request, &origin).await {
        Ok(_) => Redirect::to(&format!("/b/{token}?moved")).into_response(),
        Err(AppError::Conflict { detail, .. } | AppError::ConflictWith { detail, .. }) => {
            let booking = match state.app.public_booking(&token).await {
                Ok(booking) => booking,
                Err(e) => return refusal(e, &headers),
            };
            let zone = page::zone(&booking.timezone);
            let day = start.with_timezone(&zone).date_naive();
            booking_page(
                &state,
                &token,
                booking,
                Some(day),
                false,
                crate::booking::as_the_form_counts(&detail),
            )
            .await
        }
        Err(e) => refusal(e, &headers),
    }
}

/// `POST /b/{token}/cancel`.
pub async fn cancel(
    State(state): State<AppState>,
    Path(token): Path<String>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let reason = url::form_urlencoded::parse(&body)
        .find(|(key, _)| key == "reason")
        .map(|(_, value)| value.trim().to_owned())
        .filter(|r| !r.is_empty());
    match state
        .app
        .public_cancel(&token, &PublicCancelRequest { reason }, &origin)
        .await
    {
        Ok(_) => Redirect::to(&format!("/b/{token}")).into_response(),
        Err(e) => refusal(e, &headers),
    }
}
