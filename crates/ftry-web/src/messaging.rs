//! Reminders and wording: when the business's reminders go out, its quiet
//! hours and language, and its own wording of each message per channel and
//! language (with the variables each may use). The API's use cases
//! (`/api/v1/messaging`).

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{OriginalUri, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use ftry_api::access::RequestOrigin;
use ftry_api::AppState;
use ftry_app::messaging::{
    message_kinds, MessageKind, MessageTemplateRequest, MessageTemplateView, MessagingChange,
    MessagingSettings, TemplateKey, CHANNELS,
};
use ftry_app::{AppError, Principal};

use crate::forms::FieldErrors;
use crate::page::{self, html, Chrome};
use crate::session::{form_sender, signed_in, to_login, SignedIn};

/// The settings form as typed.
#[derive(Debug, Default, serde::Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reminder_hours: String,
    #[serde(default)]
    quiet_hours: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    dlt_entity_id: String,
}

/// The wording form as typed.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct WordingForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    event: String,
    #[serde(default)]
    channel: String,
    /// `wording_language` on the page (apart from the settings' `language`).
    #[serde(default, alias = "wording_language")]
    language: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    provider_template: String,
    #[serde(default)]
    dlt_template_id: String,
}

#[derive(Template)]
#[template(path = "messaging.html")]
struct MessagingPage {
    chrome: Chrome,
    may_change: bool,
    settings: SettingsForm,
    settings_errors: FieldErrors,
    own: bool,
    wordings: Vec<MessageTemplateView>,
    kinds: Vec<MessageKind>,
    channels: &'static [&'static str],
    wording: WordingForm,
    wording_errors: FieldErrors,
    done: &'static str,
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct MessagingQuery {
    /// `event/channel/language` of a wording to open in the form.
    edit: Option<String>,
    done: Option<String>,
}

fn typed_settings(settings: &MessagingSettings) -> SettingsForm {
    SettingsForm {
        csrf: String::new(),
        reminder_hours: settings
            .reminder_hours
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        quiet_hours: settings.quiet_hours.clone(),
        language: settings.language.clone(),
        dlt_entity_id: settings.dlt_entity_id.clone().unwrap_or_default(),
    }
}

/// What a page shows besides the stored state: the forms as typed (or
/// `None` for the stored settings) and their refusals.
struct Shown {
    settings: Option<(SettingsForm, FieldErrors)>,
    wording: (WordingForm, FieldErrors),
    done: &'static str,
}

async fn render(
    state: &AppState,
    principal: &Principal,
    csrf: &str,
    status: StatusCode,
    shown: Shown,
) -> Response {
    let stored = match state.app.messaging(principal).await {
        Ok(stored) => stored,
        Err(e) => return page::app_error(e, csrf),
    };
    let wordings = match state.app.message_templates(principal).await {
        Ok(list) => list,
        Err(e) => return page::app_error(e, csrf),
    };
    let (settings, settings_errors) = shown
        .settings
        .unwrap_or_else(|| (typed_settings(&stored), FieldErrors::default()));
    let page = MessagingPage {
        chrome: Chrome::signed("Reminders and wording", csrf, principal),
        may_change: principal.can(ftry_domain::permissions::Permission::TenantUpdate),
        settings,
        settings_errors,
        own: stored.own,
        wordings,
        kinds: message_kinds(),
        channels: &CHANNELS,
        wording: shown.wording.0,
        wording_errors: shown.wording.1,
        done: shown.done,
    };
    html(status, &page)
}

/// `GET /app/messaging`.
pub async fn show(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<MessagingQuery>, QueryRejection>,
) -> Response {
    let Some(SignedIn { principal, csrf }) = signed_in(&state, &headers).await else {
        return to_login(uri.path());
    };
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let done = match query.done.as_deref() {
        Some("settings") => "Saved: the next visits booked are reminded so.",
        Some("wording") => "Saved: the next messages use this wording.",
        Some("deleted") => "Deleted: ftry's own wording applies again.",
        _ => "",
    };
    let mut wording = WordingForm {
        event: "booking_confirmed".into(),
        channel: "email".into(),
        language: "en".into(),
        ..WordingForm::default()
    };
    let parts: Vec<&str> = query.edit.as_deref().unwrap_or("").split('/').collect();
    if let [event, channel, language] = parts[..] {
        let key = TemplateKey {
            event,
            channel,
            language,
        };
        match state.app.message_template(&principal, key).await {
            Ok(t) => {
                wording = WordingForm {
                    csrf: String::new(),
                    event: t.event,
                    channel: t.channel,
                    language: t.language,
                    subject: t.subject.unwrap_or_default(),
                    body: t.body,
                    provider_template: t.provider_template.unwrap_or_default(),
                    dlt_template_id: t.dlt_template_id.unwrap_or_default(),
                }
            }
            Err(AppError::NotFound | AppError::Validation(_)) => return page::not_found().await,
            Err(e) => return page::app_error(e, &csrf),
        }
    }
    let shown = Shown {
        settings: None,
        wording: (wording, FieldErrors::default()),
        done,
    };
    render(&state, &principal, &csrf, StatusCode::OK, shown).await
}

const EXPIRED: (&str, &str) = (
    "Not saved",
    "The form had expired. Open the reminders and wording page again and retry.",
);

/// A refusal of fields, answered on the page next to them.
fn refused(fields: &[ftry_app::FieldError]) -> (StatusCode, FieldErrors) {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        FieldErrors::from_use_case(fields, str::to_owned),
    )
}

/// `POST /app/messaging`: the reminder times, quiet hours, language, DLT entity.
pub async fn save_settings(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Form(form): Form<SettingsForm>,
) -> Response {
    let SignedIn { principal, csrf } =
        match form_sender(&state, &headers, &form.csrf, "/app/messaging", EXPIRED).await {
            Ok(sender) => sender,
            Err(answer) => return answer,
        };
    let mut errors = FieldErrors::default();
    let hours: Vec<u32> = form
        .reminder_hours
        .split([',', ' '])
        .filter(|h| !h.is_empty())
        .filter_map(|h| match h.parse() {
            Ok(hours) => Some(hours),
            Err(_) => {
                errors.push("reminder_hours", "Hours must be whole numbers, such as 24, 2.");
                None
            }
        })
        .collect();
    let change = MessagingChange {
        reminder_hours: Some(hours),
        quiet_hours: Some(form.quiet_hours.clone()),
        language: Some(form.language.trim().to_owned()),
        dlt_entity_id: Some(crate::forms::given(&form.dlt_entity_id)),
    };
    let status = if !errors.is_empty() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        match state.app.change_messaging(&principal, &change, &origin).await {
            Ok(_) => return Redirect::to("/app/messaging?done=settings").into_response(),
            Err(AppError::Validation(fields)) => {
                let (status, found) = refused(&fields);
                errors = found;
                status
            }
            Err(e) => return page::app_error(e, &csrf),
        }
    };
    let shown = Shown {
        settings: Some((form, errors)),
        wording: (WordingForm::default(), FieldErrors::default()),
        done: "",
    };
    render(&state, &principal, &csrf, status, shown).await
}

/// `POST /app/messaging/wording`: save a wording.
pub async fn save_wording(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Form(form): Form<WordingForm>,
) -> Response {
    let SignedIn { principal, csrf } =
        match form_sender(&state, &headers, &form.csrf, "/app/messaging", EXPIRED).await {
            Ok(sender) => sender,
            Err(answer) => return answer,
        };
    let key = TemplateKey {
        event: &form.event,
        channel: &form.channel,
        language: form.language.trim(),
    };
    let request = MessageTemplateRequest {
        subject: crate::forms::given(&form.subject),
        body: form.body.clone(),
        provider_template: crate::forms::given(&form.provider_template),
        dlt_template_id: crate::forms::given(&form.dlt_template_id),
    };
    let (status, errors) = match state
        .app
        .put_message_template(&principal, key, &request, &origin)
        .await
    {
        Ok(_) => return Redirect::to("/app/messaging?done=wording").into_response(),
        Err(AppError::Validation(fields)) => refused(&fields),
        Err(e) => return page::app_error(e, &csrf),
    };
    let shown = Shown {
        settings: None,
        wording: (form, errors),
        done: "",
    };
    render(&state, &principal, &csrf, status, shown).await
}

/// `POST /app/messaging/wording/delete`.
pub async fn delete_wording(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Form(form): Form<WordingForm>,
) -> Response {
    let SignedIn { principal, csrf } =
        match form_sender(&state, &headers, &form.csrf, "/app/messaging", EXPIRED).await {
            Ok(sender) => sender,
            Err(answer) => return answer,
        };
    let key = TemplateKey {
        event: &form.event,
        channel: &form.channel,
        language: &form.language,
    };
    match state.app.delete_message_template(&principal, key, &origin).await {
        Ok(()) => Redirect::to("/app/messaging?done=deleted").into_response(),
        Err(AppError::NotFound | AppError::Validation(_)) => page::not_found().await,
        Err(e) => page::app_error(e, &csrf),
    }
}
