//! What happened: the audit log (who did what, when, from where) and the
//! messages sent to clients (confirmations, reminders, receipts: when, by
//! which channel, and how they fared). Both read-only, newest first, a page
//! at a time; the API's use cases (`/api/v1/audit-events`,
//! `/api/v1/notifications`).

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{OriginalUri, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use ftry_api::AppState;
use ftry_app::AppError;
use serde::Deserialize;
use uuid::Uuid;

use crate::page::{self, html, Chrome};
use crate::session::{signed_in, to_login, SignedIn};

const PAGE: i64 = 50;

struct EventRow {
    at: String,
    who: String,
    action: String,
    what: String,
    outcome: String,
    from: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    rows: Vec<EventRow>,
    action: String,
    /// The address of the next (older) page, if any.
    older: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    action: Option<String>,
    before: Option<String>,
}

fn encoded(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// `GET /app/audit`.
pub async fn audit(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Response {
    let Some(SignedIn { principal, csrf }) = signed_in(&state, &headers).await else {
        return to_login(uri.path());
    };
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let action = query.action.unwrap_or_default().trim().to_owned();
    let filter = ftry_app::audit_log::Filter {
        action: Some(action.clone()).filter(|a| !a.is_empty()),
        before_id: query.before.and_then(|b| b.parse::<Uuid>().ok()),
        ..ftry_app::audit_log::Filter::default()
    };
    let (events, next) = match state.app.audit_events(&principal, &filter, PAGE).await {
        Ok(found) => found,
        Err(AppError::Validation(_)) => {
            return page::error(
                StatusCode::BAD_REQUEST,
                "Not a filter",
                "The action to look for cannot hold control characters.",
                &csrf,
            )
        }
        Err(e) => return page::app_error(e, &csrf),
    };
    // People by name, for those who may see the team (else their account id).
    let users = state.app.list_users(&principal).await.unwrap_or_default();
    let who = |actor_type: &str, id: Option<Uuid>| match (actor_type, id) {
        ("user", Some(id)) => users
            .iter()
            .find(|u| u.id == id)
            .map_or_else(|| format!("account {id}"), |u| u.name.clone()),
        ("client", _) => "A client (online)".into(),
        ("anonymous", _) => "Someone signed out".into(),
        ("system", _) => "ftry".into(),
        (other, _) => other.to_owned(),
    };
    let page = AuditPage {
        chrome: Chrome::signed("Audit log", &csrf, &principal),
        rows: events
            .iter()
            .map(|e| EventRow {
                at: crate::format::moment(e.occurred_at),
                who: who(&e.actor_type, e.actor_id),
                action: e.action.clone(),
                what: match &e.resource_id {
                    Some(id) => format!("{} {id}", e.resource_type),
                    None => e.resource_type.clone(),
                },
                outcome: e.outcome.clone(),
                from: e.ip.map(|ip| ip.addr().to_string()).unwrap_or_default(),
            })
            .collect(),
        older: next.map_or(String::new(), |id| {
            format!("/app/audit?action={}&before={id}", encoded(&action))
        }),
        action,
    };
    html(StatusCode::OK, &page)
}

struct MessageRow {
    planned: String,
    event: &'static str,
    channel: &'static str,
    status: String,
    detail: String,
    appointment: Option<Uuid>,
}

#[derive(Template)]
#[template(path = "messages.html")]
struct MessagesPage {
    chrome: Chrome,
    rows: Vec<MessageRow>,
    /// What the development outbox holds (owners, while no mail server is
    /// set up): when, to whom, subject, text.
    held: Option<Vec<(String, String, String, String)>>,
    status: String,
    statuses: [(&'static str, &'static str); 5],
    older: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct MessagesQuery {
    status: Option<String>,
    before: Option<String>,
}

fn event_label(event: &str) -> &'static str {
    match event {
        "booking_confirmed" => "Booking confirmed",
        "reminder" => "Reminder",
        "rescheduled" => "Moved",
        "cancelled" => "Cancelled",
        "no_show_follow_up" => "After a missed visit",
        "receipt" => "Receipt",
        _ => "Message",
    }
}

fn channel_label(channel: &str) -> &'static str {
    match channel {
        "email" => "Email",
        "sms" => "SMS",
        "whatsapp" => "WhatsApp",
        _ => "Other",
    }
}

/// `GET /app/messages`.
pub async fn messages(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<MessagesQuery>, QueryRejection>,
) -> Response {
    let Some(SignedIn { principal, csrf }) = signed_in(&state, &headers).await else {
        return to_login(uri.path());
    };
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let status = query.status.unwrap_or_default();
    let filter = ftry_app::notifications::Filter {
        status: Some(status.clone()).filter(|s| !s.is_empty()),
        before_id: query.before.and_then(|b| b.parse::<Uuid>().ok()),
        ..ftry_app::notifications::Filter::default()
    };
    let (items, next) = match state.app.notifications(&principal, &filter, PAGE).await {
        Ok(found) => found,
        Err(AppError::Validation(_)) => {
            return page::error(
                StatusCode::BAD_REQUEST,
                "Not a status",
                "Pick a status from the list.",
                &csrf,
            )
        }
        Err(e) => return page::app_error(e, &csrf),
    };
    let held = if principal.can(ftry_domain::permissions::Permission::TenantUpdate) {
        match state.app.held_mail(&principal, 20).await {
            Ok(held) => held.map(|list| {
                list.into_iter()
                    .map(|m| {
                        (
                            crate::format::moment(m.created_at),
                            m.recipient,
                            m.subject,
                            m.body,
                        )
                    })
                    .collect()
            }),
            Err(e) => return page::app_error(e, &csrf),
        }
    } else {
        None
    };
    let page = MessagesPage {
        chrome: Chrome::signed("Messages to clients", &csrf, &principal),
        held,
        rows: items
            .iter()
            .map(|n| MessageRow {
                planned: crate::format::moment(n.send_at),
                event: event_label(&n.event),
                channel: channel_label(&n.channel),
                status: match n.delivery_status.as_deref() {
                    Some(delivery) => format!("{} · {delivery}", n.status),
                    None => n.status.clone(),
                },
                detail: n
                    .delivery_error
                    .clone()
                    .or_else(|| n.reason.clone())
                    .unwrap_or_default(),
                appointment: n.appointment_id,
            })
            .collect(),
        statuses: [
            ("", "All"),
            ("pending", "Waiting"),
            ("sent", "Sent"),
            ("skipped", "Not sent"),
            ("failed", "Failed"),
        ],
        older: next.map_or(String::new(), |id| {
            format!("/app/messages?status={}&before={id}", encoded(&status))
        }),
        status,
    };
    html(StatusCode::OK, &page)
}
