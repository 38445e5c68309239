//! The day's till at a branch (the Z-report): what came in by each method,
//! the cash the drawer should hold, and closing the day with the cash
//! counted (the difference kept; a day closes once). The API's use cases
//! (`/api/v1/locations/{id}/cash-close`).

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{OriginalUri, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::NaiveDate;
use ftry_api::access::RequestOrigin;
use ftry_api::AppState;
use ftry_app::reports::{CashClose, CashCloseRequest};
use ftry_app::{AppError, Principal};
use serde::Deserialize;
use uuid::Uuid;

use crate::checkout::METHODS;
use crate::format::rupees;
use crate::forms::{paise, FieldErrors};
use crate::page::{self, html, Chrome};
use crate::session::{form_sender, signed_in, to_login, SignedIn};

#[derive(Template)]
#[template(path = "cash.html")]
struct CashPage {
    chrome: Chrome,
    location_id: Uuid,
    location_name: String,
    day: String,
    day_label: String,
    /// Payments less refunds by method, in words and rupees.
    totals: Vec<(&'static str, String)>,
    expected: String,
    closed: bool,
    counted: String,
    difference: String,
    /// The difference's sign in words: "short", "over" or "".
    off: &'static str,
    typed_counted: String,
    typed_note: String,
    errors: FieldErrors,
}

#[derive(Debug, Default, Deserialize)]
pub struct CashQuery {
    location: Option<String>,
    date: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct CashForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    counted: String,
    #[serde(default)]
    note: String,
}

#[allow(clippy::too_many_arguments)] // the page keeps what was typed into its form
async fn render(
    state: &AppState,
    principal: &Principal,
    csrf: &str,
    status: StatusCode,
    location: Option<Uuid>,
    day: Option<NaiveDate>,
    typed: (String, String),
    errors: FieldErrors,
) -> Response {
    let (_, location) = match page::branch(state, principal, location, csrf).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let zone = page::zone(&location.timezone);
    let day = day.unwrap_or_else(|| chrono::Utc::now().with_timezone(&zone).date_naive());
    let close: CashClose = match state.app.cash_close(principal, location.id, day).await {
        Ok(close) => close,
        Err(e) => return page::app_error(e, csrf),
    };
    let amount = |method: &str| close.totals.get(method).and_then(serde_json::Value::as_i64);
    let difference = close.difference_paise.unwrap_or(0);
    let page = CashPage {
        chrome: Chrome::signed("Till", csrf, principal),
        location_id: location.id,
        location_name: location.name.clone(),
        day: day.to_string(),
        day_label: day.format("%A, %-d %B %Y").to_string(),
        totals: METHODS
            .iter()
            .filter_map(|(method, label)| amount(method).map(|v| (*label, rupees(v))))
            .collect(),
        expected: rupees(close.expected_cash_paise),
        closed: close.closed,
        counted: close.counted_cash_paise.map(rupees).unwrap_or_default(),
        difference: rupees(difference.abs()),
        off: match difference {
            d if d < 0 => "short",
            d if d > 0 => "over",
            _ => "",
        },
        typed_counted: typed.0,
        typed_note: typed.1,
        errors,
    };
    html(status, &page)
}

/// `GET /app/till`.
pub async fn show(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<CashQuery>, QueryRejection>,
) -> Response {
    let Some(SignedIn { principal, csrf }) = signed_in(&state, &headers).await else {
        return to_login(uri.path());
    };
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let location = query.location.and_then(|l| l.parse().ok());
    let day = match query.date.as_deref() {
        None | Some("") => None,
        Some(text) => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(day) => Some(day),
            Err(_) => return crate::calendar::not_a_date(text, &csrf),
        },
    };
    render(
        &state,
        &principal,
        &csrf,
        StatusCode::OK,
        location,
        day,
        (String::new(), String::new()),
        FieldErrors::default(),
    )
    .await
}

/// `POST /app/till`: close the day with the cash counted.
pub async fn close(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Form(form): Form<CashForm>,
) -> Response {
    let refused = (
        "Not closed",
        "The form had expired. Open the till page again and retry.",
    );
    let SignedIn { principal, csrf } =
        match form_sender(&state, &headers, &form.csrf, "/app/till", refused).await {
            Ok(sender) => sender,
            Err(answer) => return answer,
        };
    let (Ok(location), Ok(day)) = (
        form.location.parse::<Uuid>(),
        NaiveDate::parse_from_str(&form.date, "%Y-%m-%d"),
    ) else {
        return page::app_error(AppError::NotFound, &csrf);
    };
    let mut errors = FieldErrors::default();
    let status = match paise(&form.counted) {
        None => {
            errors.push(
                "counted",
                "Enter the cash counted in the drawer, in rupees, e.g. 4,250.",
            );
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Some(counted) => {
            let request = CashCloseRequest {
                business_day: day,
                counted_cash_paise: counted,
                note: Some(form.note.clone()).filter(|n| !n.trim().is_empty()),
            };
            match state
                .app
                .close_cash(&principal, location, &request, &origin)
                .await
            {
                Ok(_) => {
                    return Redirect::to(&format!("/app/till?location={location}&date={day}")).into_response()
                }
                Err(AppError::Validation(fields)) => {
                    errors = FieldErrors::from_use_case(&fields, |f| {
                        if f == "note" {
                            "note".into()
                        } else {
                            "counted".into()
                        }
                    });
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                Err(AppError::Conflict { detail, .. }) => {
                    errors.push("counted", detail);
                    StatusCode::CONFLICT
                }
                Err(e) => return page::app_error(e, &csrf),
            }
        }
    };
    render(
        &state,
        &principal,
        &csrf,
        status,
        Some(location),
        Some(day),
        (form.counted, form.note),
        errors,
    )
    .await
}
