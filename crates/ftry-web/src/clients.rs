//! Clients: find one by name or phone number, and their profile — contact,
//! notes, allergies and consent, and their visits (coming and past, with the
//! counts of completed, missed and cancelled ones).

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use ftry_api::AppState;
use ftry_app::appointments::AppointmentView;
use ftry_app::clients::ClientSearch;
use ftry_app::AppError;
use serde::Deserialize;
use uuid::Uuid;

use crate::calendar::status_label;
use crate::format::rupees;
use crate::page::{self, html, Chrome};
use crate::session::{signed_in, to_login, SignedIn};

#[derive(Debug, Default, Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
}

struct Found {
    id: Uuid,
    name: String,
    phone: String,
}

#[derive(Template)]
#[template(path = "clients.html")]
struct ClientsPage {
    chrome: Chrome,
    q: String,
    searched: bool,
    found: Vec<Found>,
    error: String,
}

/// Digits and a leading `+` only: the search is by phone number.
fn looks_like_phone(text: &str) -> bool {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    digits >= 10
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-'))
}

pub async fn search(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> Response {
    let Some(SignedIn { principal, csrf }) = signed_in(&state, &headers).await else {
        return to_login(uri.path_and_query().map_or("/app/clients", |p| p.as_str()));
    };
    let q = query
        .ok()
        .and_then(|Query(q)| q.q)
        .unwrap_or_default()
        .trim()
        .to_owned();
    let (found, error) = if q.is_empty() {
        (Vec::new(), String::new())
    } else {
        let search = if looks_like_phone(&q) {
            ClientSearch {
                phone: Some(q.clone()),
                limit: Some(20),
                ..ClientSearch::default()
            }
        } else {
            ClientSearch {
                q: Some(q.clone()),
                limit: Some(20),
                ..ClientSearch::default()
            }
        };
        match state.app.search_clients(&principal, &search).await {
            Ok(page) => (
                page.items
                    .into_iter()
                    .map(|c| Found {
                        id: c.id,
                        name: c.name,
                        phone: c.phone.unwrap_or_default(),
                    })
                    .collect(),
                String::new(),
            ),
            Err(AppError::Validation(fields)) => (
                Vec::new(),
                fields
                    .iter()
                    .map(|f| crate::booking::sentence(&f.message))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            Err(e) => return page::app_error(e, &csrf),
        }
    };
    let status = if error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = ClientsPage {
        chrome: Chrome::signed("Clients", csrf, &principal),
        searched: !q.is_empty(),
        q,
        found,
        error,
    };
    html(status, &page)
}

struct Visit {
    id: Uuid,
    when: String,
    services: String,
    status: String,
    status_label: &'static str,
    price: String,
}

#[derive(Template)]
#[template(path = "client.html")]
struct ClientPage {
    chrome: Chrome,
    name: String,
    phone: String,
    email: String,
    notes: String,
    allergies: String,
    consent_notes: String,
    marketing: bool,
    tags: String,
    upcoming: Vec<Visit>,
    past: Vec<Visit>,
    completed: i64,
    no_shows: i64,
    cancelled: i64,
}

fn visits(views: &[AppointmentView]) -> Vec<Visit> {
    // Shown in India's time: a client's profile spans every branch.
    let zone = chrono_tz::Asia::Kolkata;
    views
        .iter()
        .map(|view| Visit {
            id: view.appointment.id,
            when: view
                .appointment
                .starts_at
                .with_timezone(&zone)
                .format("%a %-d %b %Y, %H:%M")
                .to_string(),
            services: view
                .items
                .iter()
                .map(|i| i.service_name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            status: view.appointment.status.clone(),
            status_label: status_label(&view.appointment.status),
            price: rupees(view.items.iter().map(|i| i.price_paise).sum()),
        })
        .collect()
}

pub async fn profile(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Some(SignedIn { principal, csrf }) = signed_in(&state, &headers).await else {
        return to_login(uri.path());
    };
    let Ok(id) = id.parse::<Uuid>() else {
        return page::not_found().await;
    };
    let client = match state.app.get_client(&principal, id).await {
        Ok(client) => client,
        Err(e) => return page::app_error(e, &csrf),
    };
    let history = match state.app.client_history(&principal, id).await {
        Ok(history) => history,
        Err(e) => return page::app_error(e, &csrf),
    };
    let page = ClientPage {
        chrome: Chrome::signed(client.name.clone(), csrf, &principal),
        name: client.name,
        phone: client.phone.unwrap_or_default(),
        email: client.email.unwrap_or_default(),
        notes: client.notes,
        allergies: client.allergies,
        consent_notes: client.consent_notes,
        marketing: client.marketing_consent,
        tags: client.tags.join(", "),
        upcoming: visits(&history.upcoming),
        past: visits(&history.past),
        completed: history.completed_count,
        no_shows: history.no_show_count,
        cancelled: history.cancelled_count,
    };
    html(StatusCode::OK, &page)
}

#[cfg(test)]
mod tests {
    use super::looks_like_phone;

    #[test]
    fn a_number_is_searched_as_a_phone_and_words_as_a_name() {
        assert!(looks_like_phone("+91 98123 45678"));
        assert!(looks_like_phone("9812345678"));
        assert!(!looks_like_phone("Neha"));
        assert!(!looks_like_phone("98123"));
    }
}
