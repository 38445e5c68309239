//! Integrations: the business's webhook endpoints (where ftry posts signed
//! events for its CRM or accounting), the events each takes, whether it is
//! on (ftry turns one off after sustained failures), its latest deliveries,
//! and its signing secret, shown once when made. The API's use cases
//! (`/api/v1/webhooks`).

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use ftry_api::access::RequestOrigin;
use ftry_api::AppState;
use ftry_app::webhooks::{WebhookRequest, WebhookUpdateRequest, EVENTS};
use ftry_app::{AppError, Principal};
use uuid::Uuid;

use crate::forms::FieldErrors;
use crate::page::{self, html, Chrome};
use crate::session::{form_sender, signed_in, to_login, SignedIn};

struct EndpointRow {
    id: Uuid,
    url: String,
    description: String,
    events: String,
    enabled: bool,
    state: String,
}

struct DeliveryRow {
    at: String,
    event: String,
    status: String,
    attempts: i32,
    answer: String,
}

/// The new endpoint form as typed: its ticked events repeat their name.
#[derive(Debug, Default)]
struct Typed {
    url: String,
    description: String,
    events: Vec<String>,
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct WebhooksPage {
    chrome: Chrome,
    rows: Vec<EndpointRow>,
    events: &'static [(&'static str, &'static str)],
    form: Typed,
    errors: FieldErrors,
    /// A signing secret just made, shown this once, and its endpoint.
    secret: Option<(String, String)>,
    /// The endpoint whose deliveries are shown, and them.
    deliveries: Option<(String, Vec<DeliveryRow>)>,
    done: &'static str,
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct WebhooksQuery {
    deliveries: Option<String>,
    done: Option<String>,
}

async fn render(
    state: &AppState,
    principal: &Principal,
    csrf: &str,
    status: StatusCode,
    (form, errors): (Typed, FieldErrors),
    secret: Option<(String, String)>,
    (deliveries_of, done): (Option<Uuid>, &'static str),
) -> Response {
    let endpoints = match state.app.list_webhooks(principal).await {
        Ok(endpoints) => endpoints,
        Err(e) => return page::app_error(e, csrf),
    };
    let deliveries = match deliveries_of.and_then(|id| endpoints.iter().find(|e| e.id == id)) {
        Some(endpoint) => match state
            .app
            .webhook_deliveries(principal, endpoint.id, Some(50))
            .await
        {
            Ok(list) => Some((
                endpoint.url.clone(),
                list.iter()
                    .map(|d| DeliveryRow {
                        at: crate::format::moment(d.created_at),
                        event: d.event.clone(),
                        status: d.status.clone(),
                        attempts: d.attempts,
                        answer: match (d.response_status, &d.last_error) {
                            (Some(code), _) => format!("HTTP {code}"),
                            (None, Some(error)) => error.clone(),
                            (None, None) => String::new(),
                        },
                    })
                    .collect(),
            )),
            Err(e) => return page::app_error(e, csrf),
        },
        None => None,
    };
    let page = WebhooksPage {
        chrome: Chrome::signed("Integrations", csrf, principal),
        rows: endpoints
            .iter()
            .map(|e| EndpointRow {
                id: e.id,
                url: e.url.clone(),
                description: e.description.clone(),
                events: e.events.join(", "),
                enabled: e.enabled,
                state: match (e.enabled, &e.disabled_reason) {
                    (true, _) if e.consecutive_failures > 0 => {
                        format!("On · {} failed in a row", e.consecutive_failures)
                    }
                    (true, _) => "On".into(),
                    // Turned off by someone here: no more to say.
                    (false, Some(reason)) if reason.starts_with("turned off by") => "Off".into(),
                    (false, Some(reason)) => format!("Off · {reason}"),
                    (false, None) => "Off".into(),
                },
            })
            .collect(),
        events: &EVENTS,
        form,
        errors,
        secret,
        deliveries,
        done,
    };
    html(status, &page)
}

/// `GET /app/webhooks`.
pub async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<WebhooksQuery>, QueryRejection>,
) -> Response {
    let Some(SignedIn { principal, csrf }) = signed_in(&state, &headers).await else {
        return to_login(uri.path());
    };
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let done = match query.done.as_deref() {
        Some("on") => "Turned on: its failure count starts again.",
        Some("off") => "Turned off: nothing is sent to it.",
        Some("deleted") => "Deleted.",
        _ => "",
    };
    let deliveries = query.deliveries.and_then(|d| d.parse().ok());
    render(
        &state,
        &principal,
        &csrf,
        StatusCode::OK,
        (Typed::default(), FieldErrors::default()),
        None,
        (deliveries, done),
    )
    .await
}

const EXPIRED: (&str, &str) = (
    "Not saved",
    "The form had expired. Open the integrations page again and retry.",
);

/// `POST /app/webhooks`: a new endpoint; its secret is shown on the answer, once.
pub async fn create(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map_or(String::new(), |(_, v)| v.clone())
    };
    let SignedIn { principal, csrf } =
        match form_sender(&state, &headers, &field("csrf"), "/app/webhooks", EXPIRED).await {
            Ok(sender) => sender,
            Err(answer) => return answer,
        };
    let typed = Typed {
        url: field("url").trim().to_owned(),
        description: field("description"),
        events: pairs
            .iter()
            .filter(|(k, _)| k == "event")
            .map(|(_, v)| v.clone())
            .collect(),
    };
    let request = WebhookRequest {
        url: typed.url.clone(),
        events: typed.events.clone(),
        description: Some(typed.description.clone()).filter(|d| !d.trim().is_empty()),
    };
    let (status, errors) = match state.app.create_webhook(&principal, &request, &origin).await {
        Ok(made) => {
            let secret = Some((made.endpoint.url.clone(), made.secret));
            return render(
                &state,
                &principal,
                &csrf,
                StatusCode::CREATED,
                (Typed::default(), FieldErrors::default()),
                secret,
                (None, ""),
            )
            .await;
        }
        Err(AppError::Validation(fields)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            FieldErrors::from_use_case(&fields, str::to_owned),
        ),
        Err(AppError::Conflict { detail, .. }) => {
            let mut errors = FieldErrors::default();
            errors.push("url", detail);
            (StatusCode::CONFLICT, errors)
        }
        Err(e) => return page::app_error(e, &csrf),
    };
    render(
        &state,
        &principal,
        &csrf,
        status,
        (typed, errors),
        None,
        (None, ""),
    )
    .await
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /app/webhooks/{id}/{on|off|secret|delete}`.
pub async fn action(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    let Ok(id) = id.parse::<Uuid>() else {
        return page::not_found().await;
    };
    let SignedIn { principal, csrf } =
        match form_sender(&state, &headers, &form.csrf, "/app/webhooks", EXPIRED).await {
            Ok(sender) => sender,
            Err(answer) => return answer,
        };
    let switch = |enabled: bool| WebhookUpdateRequest {
        url: None,
        events: None,
        description: None,
        enabled: Some(enabled),
    };
    let done = match action.as_str() {
        "on" => state
            .app
            .update_webhook(&principal, id, &switch(true), &origin)
            .await
            .map(|_| "on"),
        "off" => state
            .app
            .update_webhook(&principal, id, &switch(false), &origin)
            .await
            .map(|_| "off"),
        "delete" => state
            .app
            .delete_webhook(&principal, id, &origin)
            .await
            .map(|()| "deleted"),
        "secret" => match state.app.rotate_webhook_secret(&principal, id, &origin).await {
            Ok(made) => {
                let secret = Some((made.endpoint.url.clone(), made.secret));
                return render(
                    &state,
                    &principal,
                    &csrf,
                    StatusCode::OK,
                    (Typed::default(), FieldErrors::default()),
                    secret,
                    (None, ""),
                )
                .await;
            }
            Err(e) => Err(e),
        },
        _ => return page::not_found().await,
    };
    match done {
        Ok(done) => Redirect::to(&format!("/app/webhooks?done={done}")).into_response(),
        Err(e) => page::app_error(e, &csrf),
    }
}
