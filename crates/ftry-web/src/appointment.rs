//! One appointment from the calendar: who, what, when, and what the desk can
//! do next — confirm, check in, start, complete, mark a no-show, move it to
//! another time, or cancel it with a reason. Every action is the API's use
//! case; a refusal is shown in the part of the page it concerns.

use askama::Template;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;
use ftry_api::access::RequestOrigin;
use ftry_api::AppState;
use ftry_app::appointments::{AppointmentView, CancelRequest, RescheduleRequest, StatusChange};
use ftry_app::booking::ItemRequest;
use ftry_app::{AppError, Principal};
use ftry_domain::appointments::Status;
use ftry_domain::permissions::Permission;
use serde::Deserialize;
use uuid::Uuid;

use crate::calendar::status_label;
use crate::format::rupees;
use crate::page::{self, html, Chrome, PathId};
use crate::session::{form_sender, signed_in, to_login, SignedIn};

struct ItemLine {
    service: String,
    staff: String,
    time: String,
    price: String,
}

struct Action {
    status: &'static str,
    label: &'static str,
}

/// Which part of the page a refusal belongs to.
#[derive(Default)]
struct Refusals {
    status: String,
    moving: String,
    cancel: String,
}

#[derive(Template)]
#[template(path = "appointment.html")]
struct AppointmentPage {
    chrome: Chrome,
    id: Uuid,
    client_id: Uuid,
    client: String,
    status: String,
    status_label: &'static str,
    date_label: String,
    time: String,
    calendar: String,
    items: Vec<ItemLine>,
    total: String,
    notes: String,
    cancel_reason: String,
    actions: Vec<Action>,
    can_move: bool,
    can_cancel: bool,
    /// The appointment's invoice, when it has been checked out.
    invoice: String,
    /// Check out: its services become a draft invoice.
    can_checkout: bool,
    move_date: String,
    move_time: String,
    reason: String,
    refused: Refusals,
    /// What happened to it, oldest first: when, what, by whom.
    history: Vec<(String, String, String)>,
}

fn action_label(status: Status) -> &'static str {
    match status {
        Status::Confirmed => "Confirm",
        Status::CheckedIn => "Check in",
        Status::InService => "Start service",
        Status::Completed => "Complete",
        Status::NoShow => "No-show",
        Status::Booked | Status::Cancelled => "",
    }
}

/// The branch's zone, for showing and for reading a typed time.
async fn zone_of(state: &AppState, principal: &Principal, location: Uuid) -> Tz {
    match state.app.location(principal, location).await {
        Ok(location) => page::zone(&location.timezone),
        Err(_) => chrono_tz::Asia::Kolkata,
    }
}

#[allow(clippy::too_many_arguments)] // the page keeps what was typed into each of its forms
async fn render(
    state: &AppState,
    principal: &Principal,
    csrf: &str,
    status: StatusCode,
    view: AppointmentView,
    refused: Refusals,
    typed: (&str, &str, &str),
) -> Response {
    let appointment = &view.appointment;
    let zone = zone_of(state, principal, appointment.location_id).await;
    // The name needs `clients:read`; a stylist without it sees "Client".
    let client = match state.app.get_client(principal, appointment.client_id).await {
        Ok(client) => client.name,
        Err(_) => "Client".to_owned(),
    };
    let starts = appointment.starts_at.with_timezone(&zone);
    let ends = appointment.ends_at.with_timezone(&zone);
    let current = Status::parse(&appointment.status).unwrap_or(Status::Booked);
    let manages = principal.can(Permission::AppointmentsManage);
    let bills = principal.can(Permission::InvoicesCreate);
    let invoice = if bills {
        state
            .app
            .appointment_invoice(principal, appointment.id)
            .await
            .ok()
            .flatten()
    } else {
        None
    };
    let live_items: Vec<_> = view
        .items
        .iter()
        .filter(|i| i.active || !current.holds_time())
        .collect();
    let page = AppointmentPage {
        chrome: Chrome::signed(
            format!("{client} · {}", starts.format("%-d %b %H:%M")),
            csrf,
            principal,
        ),
        id: appointment.id,
        client_id: appointment.client_id,
        client,
        status: appointment.status.clone(),
        status_label: status_label(&appointment.status),
        date_label: starts.format("%A, %-d %B %Y").to_string(),
        time: format!("{}–{}", starts.format("%H:%M"), ends.format("%H:%M")),
        calendar: format!(
            "/app/calendar?location={}&date={}",
            appointment.location_id,
            starts.date_naive()
        ),
        items: live_items
            .iter()
            .map(|item| ItemLine {
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
        total: rupees(live_items.iter().map(|i| i.price_paise).sum()),
        notes: appointment.notes.clone(),
        cancel_reason: appointment.cancel_reason.clone().unwrap_or_default(),
        actions: current
            .next()
            .iter()
            .filter(|next| **next != Status::Cancelled)
            .filter(|next| manages || matches!(next, Status::InService | Status::Completed))
            .map(|next| Action {
                status: next.name(),
                label: action_label(*next),
            })
            .collect(),
        can_move: manages && current.can_reschedule(),
        can_cancel: manages && current.can_become(Status::Cancelled),
        invoice: invoice.map(|id| id.to_string()).unwrap_or_default(),
        can_checkout: bills && invoice.is_none() && !matches!(current, Status::Cancelled | Status::NoShow),
        move_date: if typed.0.is_empty() {
            starts.date_naive().to_string()
        } else {
            typed.0.to_owned()
        },
        move_time: if typed.1.is_empty() {
            starts.format("%H:%M").to_string()
        } else {
            typed.1.to_owned()
        },
        reason: typed.2.to_owned(),
        refused,
        history: state
            .app
            .appointment_history(principal, appointment.id)
            .await
            .unwrap_or_default()
            .iter()
            .map(|h| {
                let what = match (h.kind.as_str(), h.to_status.as_deref()) {
                    ("created", _) => "Booked".to_owned(),
                    ("rescheduled", _) => "Moved".to_owned(),
                    (_, Some(to)) => status_label(to).to_owned(),
                    (kind, None) => kind.replace('_', " "),
                };
                (
                    h.at.with_timezone(&zone).format("%-d %b %Y, %H:%M").to_string(),
                    what,
                    h.actor.clone(),
                )
            })
            .collect(),
    };
    html(status, &page)
}

pub async fn show(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Response {
    let Some(SignedIn { principal, csrf }) = signed_in(&state, &headers).await else {
        return to_login(uri.path());
    };
    match state.app.appointment(&principal, id).await {
        Ok(view) => {
            render(
                &state,
                &principal,
                &csrf,
                StatusCode::OK,
                view,
                Refusals::default(),
                ("", "", ""),
            )
            .await
        }
        Err(e) => page::app_error(e, &csrf),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    time: String,
    #[serde(default)]
    reason: String,
    /// A move dragged on the calendar: the service dragged (`time` is its new
    /// start), the person it was dropped on, and the day to go back to.
    #[serde(default)]
    item: String,
    #[serde(default)]
    staff: String,
    #[serde(default)]
    back: String,
}

/// What a form asks for.
enum Asked {
    Status,
    Move,
    Cancel,
}

async fn act(
    state: AppState,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    id: &str,
    form: ActionForm,
    asked: Asked,
) -> Response {
    let refused = (
        "Nothing changed",
        "The form had expired. Open the appointment again and retry.",
    );
    let SignedIn { principal, csrf } =
        match form_sender(&state, &headers, &form.csrf, "/app/calendar", refused).await {
            Ok(sender) => sender,
            Err(answer) => return answer,
        };
    let Ok(id) = id.parse::<Uuid>() else {
        return page::not_found().await;
    };
    let done = match asked {
        Asked::Status => {
            let change = StatusChange {
                status: form.status.clone(),
            };
            state.app.change_status(&principal, id, &change, &origin).await
        }
        Asked::Cancel => {
            let request = CancelRequest {
                reason: form.reason.trim().to_owned(),
            };
            state
                .app
                .cancel_appointment(&principal, id, &request, &origin)
                .await
        }
        Asked::Move => match moved(&state, &principal, id, &form).await {
            Ok(request) => state.app.reschedule(&principal, id, &request, &origin).await,
            Err(e) => Err(e),
        },
    };
    let refusal = match done {
        // A move dragged on the calendar goes back to the calendar's day.
        Ok(_) if matches!(asked, Asked::Move) && form.back.starts_with("/app/calendar?") => {
            return Redirect::to(&form.back).into_response()
        }
        Ok(_) => return Redirect::to(&format!("/app/appointments/{id}")).into_response(),
        Err(AppError::Validation(fields)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            fields
                .iter()
                .map(|f| match f.message.strip_prefix("must") {
                    // "must not be empty" of `reason`: "The reason must not be empty."
                    Some(_) => {
                        crate::booking::sentence(&format!("the {} {}", f.field.replace('_', " "), f.message))
                    }
                    None => crate::booking::sentence(&f.message),
                })
                .collect::<Vec<_>>()
                .join(" "),
        ),
        Err(AppError::Conflict { detail, .. } | AppError::ConflictWith { detail, .. }) => {
            (StatusCode::CONFLICT, crate::booking::as_the_form_counts(&detail))
        }
        Err(e) => return page::app_error(e, &csrf),
    };
    let view = match state.app.appointment(&principal, id).await {
        Ok(view) => view,
        Err(e) => return page::app_error(e, &csrf),
    };
    let (status, message) = refusal;
    let refused = match asked {
        Asked::Status => Refusals {
            status: message,
            ..Refusals::default()
        },
        Asked::Move => Refusals {
            moving: message,
            ..Refusals::default()
        },
        Asked::Cancel => Refusals {
            cancel: message,
            ..Refusals::default()
        },
    };
    let typed = (form.date.as_str(), form.time.as_str(), form.reason.as_str());
    render(&state, &principal, &csrf, status, view, refused, typed).await
}

/// The move asked for, in the branch's time zone: from the move form, the
/// visit's new start; dragged on the calendar, one service's new start and
/// person (the visit moves with it, its other services keep their people).
async fn moved(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    form: &ActionForm,
) -> Result<RescheduleRequest, AppError> {
    let date = NaiveDate::parse_from_str(&form.date, "%Y-%m-%d")
        .map_err(|_| AppError::invalid("date", "pick a date"))?;
    let time = NaiveTime::parse_from_str(&form.time, "%H:%M")
        .map_err(|_| AppError::invalid("time", "pick a start time"))?;
    let view = state.app.appointment(principal, id).await?;
    let zone = zone_of(state, principal, view.appointment.location_id).await;
    let start = ftry_domain::schedule::start_instant(zone, date.and_time(time)).ok_or_else(|| {
        AppError::invalid("time", "the clocks skip this time on that day (daylight saving)")
    })?;
    if form.item.is_empty() {
        return Ok(RescheduleRequest { start, items: None });
    }
    let dragged = form
        .item
        .parse::<Uuid>()
        .ok()
        .and_then(|item| view.items.iter().find(|i| i.id == item))
        .ok_or_else(|| AppError::invalid("item", "is not a service of this visit"))?;
    let staff = form
        .staff
        .parse::<Uuid>()
        .map_err(|_| AppError::invalid("staff", "pick who is to do it"))?;
    let items = view
        .items
        .iter()
        .map(|i| ItemRequest {
            service_id: i.service_id,
            staff_id: Some(if i.id == dragged.id { staff } else { i.staff_id }),
            resource_id: i.resource_id,
        })
        .collect();
    Ok(RescheduleRequest {
        start: start - (dragged.starts_at - view.appointment.starts_at),
        items: Some(items),
    })
}

/// `POST /app/appointments/{id}/{status|move|cancel}`.
pub async fn action(
    State(state): State<AppState>,
    origin: RequestOrigin,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    let asked = match action.as_str() {
        "checkout" => {
            let refused = (
                "Not checked out",
                "The form had expired. Open the appointment again and retry.",
            );
            let back = format!("/app/appointments/{id}");
            let SignedIn { principal, csrf } =
                match form_sender(&state, &headers, &form.csrf, &back, refused).await {
                    Ok(sender) => sender,
                    Err(answer) => return answer,
                };
            let Ok(id) = id.parse::<Uuid>() else {
                return page::not_found().await;
            };
            return crate::checkout::start_for_appointment(&state, &principal, &csrf, id, &origin).await;
        }
        "status" => Asked::Status,
        "move" => Asked::Move,
        "cancel" => Asked::Cancel,
        _ => return page::not_found().await,
    };
    act(state, origin, headers, &id, form, asked).await
}
