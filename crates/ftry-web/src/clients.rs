//! Clients: find one by name or phone number, and their profile — contact,
//! notes, allergies and consent, and their visits (coming and past, with the
//! counts of completed, missed and cancelled ones).

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{OriginalUri, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use ftry_api::access::RequestOrigin;
use ftry_api::AppState;
use ftry_app::appointments::AppointmentView;
use ftry_app::clients::{ClientChanges, ClientSearch, MergeRequest};
use ftry_app::{AppError, Principal};
use ftry_domain::permissions::Permission;
use serde::Deserialize;
use uuid::Uuid;

use crate::calendar::status_label;
use crate::format::rupees;
use crate::forms::FieldErrors;
use crate::page::{self, html, Chrome, PathId};
use crate::session::{form_sender, signed_in, to_login, SignedIn};

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
    id: Uuid,
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
    /// May edit and merge (`clients:manage`).
    manage: bool,
    form: ClientForm,
    form_marketing: bool,
    channels: &'static [(&'static str, &'static str)],
    errors: FieldErrors,
    /// Others of the same name, to merge into this one.
    duplicates: Vec<Found>,
    done: &'static str,
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

/// The edit form's fields, as typed (or as stored, before any edit).
#[derive(Debug, Default, Deserialize)]
pub struct ClientForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    allergies: String,
    #[serde(default)]
    consent_notes: String,
    #[serde(default)]
    notes: String,
    /// A checkbox: present when ticked.
    marketing: Option<String>,
    /// How the client agreed to offers (a record the law asks for).
    #[serde(default)]
    consent_channel: String,
    /// The language their messages are in (`hi`, `mr`…); empty: the business's.
    #[serde(default)]
    language: String,
}

/// The ways a client can agree to offers, as the form names them.
const CONSENT_CHANNELS: [(&str, &str); 7] = [
    ("in_person", "In person, at the desk"),
    ("phone", "On the phone"),
    ("paper_form", "On a paper form"),
    ("whatsapp", "On WhatsApp"),
    ("sms", "By SMS"),
    ("email", "By email"),
    ("online", "Online"),
];

#[derive(Debug, Default, Deserialize)]
pub struct ProfileQuery {
    /// `saved` or `merged`: what was just done.
    done: Option<String>,
}

#[allow(clippy::too_many_arguments)] // the page keeps what was typed into its two forms
async fn render_profile(
    state: &AppState,
    principal: &Principal,
    csrf: &str,
    status: StatusCode,
    id: Uuid,
    typed: Option<ClientForm>,
    errors: FieldErrors,
    done: &str,
) -> Response {
    let client = match state.app.get_client(principal, id).await {
        Ok(client) => client,
        Err(e) => return page::app_error(e, csrf),
    };
    let history = match state.app.client_history(principal, id).await {
        Ok(history) => history,
        Err(e) => return page::app_error(e, csrf),
    };
    let manage = principal.can(Permission::ClientsManage);
    // Others of the same name: the likely duplicates to merge into this one.
    let duplicates = if manage {
        let search = ClientSearch {
            q: Some(client.name.clone()),
            limit: Some(11),
            ..ClientSearch::default()
        };
        match state.app.search_clients(principal, &search).await {
            Ok(found) => found
                .items
                .into_iter()
                .filter(|c| c.id != id)
                .map(|c| Found {
                    id: c.id,
                    name: c.name,
                    phone: c.phone.unwrap_or_default(),
                })
                .collect(),
            Err(e) => return page::app_error(e, csrf),
        }
    } else {
        Vec::new()
    };
    let form = typed.unwrap_or_else(|| ClientForm {
        name: client.name.clone(),
        phone: client.phone.clone().unwrap_or_default(),
        email: client.email.clone().unwrap_or_default(),
        tags: client.tags.join(", "),
        allergies: client.allergies.clone(),
        consent_notes: client.consent_notes.clone(),
        notes: client.notes.clone(),
        marketing: client.marketing_consent.then(String::new),
        consent_channel: client.consent_channel.clone().unwrap_or_default(),
        language: client.language.clone().unwrap_or_default(),
        ..ClientForm::default()
    });
    let page = ClientPage {
        chrome: Chrome::signed(client.name.clone(), csrf, principal),
        id,
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
        manage,
        form_marketing: form.marketing.is_some(),
        channels: &CONSENT_CHANNELS,
        form,
        errors,
        duplicates,
        done: match done {
            "saved" => "Saved.",
            "merged" => "Merged: the other record's visits are now this client's, and its contact details, tags, notes, allergies and consent were added here.",
            _ => "",
        },
    };
    html(status, &page)
}

pub async fn profile(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    PathId(id): PathId,
    query: Result<Query<ProfileQuery>, QueryRejection>,
) -> Response {
    let Some(SignedIn { principal, csrf }) = signed_in(&state, &headers).await else {
        return to_login(uri.path());
    };
    let done = query.ok().and_then(|Query(q)| q.done).unwrap_or_default();
    render_profile(
        &state,
        &principal,
        &csrf,
        StatusCode::OK,
        id,
        None,
        FieldErrors::default(),
        &done,
    )
    .await
}

/// `POST /app/clients/{id}`: the edit form.
pub async fn update(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    PathId(id): PathId,
    Form(form): Form<ClientForm>,
) -> Response {
    let back = format!("/app/clients/{id}");
    let refused = (
        "Not saved",
        "The form had expired. Open the client again and retry.",
    );
    let SignedIn { principal, csrf } = match form_sender(&state, &headers, &form.csrf, &back, refused).await {
        Ok(sender) => sender,
        Err(answer) => return answer,
    };
    let changes = ClientChanges {
        name: Some(form.name.clone()),
        phone: Some(crate::forms::given(&form.phone)),
        email: Some(crate::forms::given(&form.email)),
        tags: Some(
            form.tags
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        allergies: Some(form.allergies.trim().to_owned()),
        consent_notes: Some(form.consent_notes.trim().to_owned()),
        notes: Some(form.notes.trim().to_owned()),
        marketing_consent: Some(form.marketing.is_some()),
        // Recorded with a consent only; a withdrawn consent drops it.
        consent_channel: form
            .marketing
            .as_ref()
            .map(|_| Some(form.consent_channel.clone()).filter(|c| !c.is_empty())),
        language: Some(crate::forms::given(&form.language)),
        ..ClientChanges::default()
    };
    match state.app.update_client(&principal, id, &changes, &origin).await {
        Ok(_) => Redirect::to(&format!("{back}?done=saved")).into_response(),
        Err(AppError::Validation(fields)) => {
            let errors =
                FieldErrors::from_use_case(&fields, |f| f.split(['[', '.']).next().unwrap_or(f).to_owned());
            render_profile(
                &state,
                &principal,
                &csrf,
                StatusCode::UNPROCESSABLE_ENTITY,
                id,
                Some(form),
                errors,
                "",
            )
            .await
        }
        Err(AppError::Conflict { detail, .. } | AppError::ConflictWith { detail, .. }) => {
            let mut errors = FieldErrors::default();
            errors.push("phone", crate::booking::sentence(&detail));
            render_profile(
                &state,
                &principal,
                &csrf,
                StatusCode::CONFLICT,
                id,
                Some(form),
                errors,
                "",
            )
            .await
        }
        Err(e) => page::app_error(e, &csrf),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct MergeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    duplicate: String,
}

/// `POST /app/clients/{id}/merge`: the duplicate picked is merged into this client.
pub async fn merge(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    PathId(id): PathId,
    Form(form): Form<MergeForm>,
) -> Response {
    let back = format!("/app/clients/{id}");
    let refused = (
        "Not merged",
        "The form had expired. Open the client again and retry.",
    );
    let SignedIn { principal, csrf } = match form_sender(&state, &headers, &form.csrf, &back, refused).await {
        Ok(sender) => sender,
        Err(answer) => return answer,
    };
    let Ok(duplicate_id) = form.duplicate.parse::<Uuid>() else {
        let mut errors = FieldErrors::default();
        errors.push("duplicate", "Pick the other record of this person.");
        return render_profile(
            &state,
            &principal,
            &csrf,
            StatusCode::UNPROCESSABLE_ENTITY,
            id,
            None,
            errors,
            "",
        )
        .await;
    };
    match state
        .app
        .merge_clients(&principal, id, &MergeRequest { duplicate_id }, &origin)
        .await
    {
        Ok(_) => Redirect::to(&format!("{back}?done=merged")).into_response(),
        Err(AppError::Conflict { detail, .. } | AppError::ConflictWith { detail, .. }) => {
            let mut errors = FieldErrors::default();
            errors.push("duplicate", crate::booking::sentence(&detail));
            render_profile(
                &state,
                &principal,
                &csrf,
                StatusCode::CONFLICT,
                id,
                None,
                errors,
                "",
            )
            .await
        }
        Err(e) => page::app_error(e, &csrf),
    }
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
