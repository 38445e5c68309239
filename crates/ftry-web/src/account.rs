//! The pages ftry's emails link to: accepting an invitation (choose a
//! password, then signed in) and resetting a forgotten password (ask for a
//! link by email; choose a new password from it, which ends every session of
//! the account). Each is the API's use case; the forms are signed out, so
//! each has its own CSRF cookie like the sign-in form. And, signed in, where
//! one is signed in: each session's device, address and times, and another
//! device signed out.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use ftry_api::access::RequestOrigin;
use ftry_api::cookies;
use ftry_api::AppState;
use ftry_app::users::{AcceptInviteRequest, ResetConfirmRequest, ResetRequest};
use ftry_app::AppError;
use serde::Deserialize;

use crate::page::{self, html, Chrome};
use crate::session::{form_csrf, form_sender, same_secret, signed_in, to_login, SignedIn, FORM_CSRF};

/// Which link a password page answers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Link {
    Invitation,
    Reset,
}

impl Link {
    fn path(self) -> &'static str {
        match self {
            Link::Invitation => "/invite/accept",
            Link::Reset => "/password-reset",
        }
    }
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    chrome: Chrome,
    form_csrf: String,
    action: &'static str,
    heading: &'static str,
    intro: &'static str,
    button: &'static str,
    token: String,
    error: String,
}

#[derive(Template)]
#[template(path = "reset_request.html")]
struct ResetRequestPage {
    chrome: Chrome,
    form_csrf: String,
    email: String,
    business: String,
    sent: bool,
    error: String,
}

/// A signed-out page with its form's CSRF cookie (set when the browser has none).
fn with_form_cookie(
    status: StatusCode,
    headers: &HeaderMap,
    path: &str,
    page: impl FnOnce(String) -> Response,
) -> Response {
    let (csrf, cookie) = form_csrf(headers, path);
    let mut response = page(csrf);
    *response.status_mut() = status;
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

fn password_page(status: StatusCode, headers: &HeaderMap, link: Link, token: &str, error: &str) -> Response {
    let (heading, intro, button) = match link {
        Link::Invitation => (
            "Join your team on ftry",
            "Choose the password you will sign in with. The link works once.",
            "Set my password and sign in",
        ),
        Link::Reset => (
            "Choose a new password",
            "Every device signed in to this account will be signed out.",
            "Change my password",
        ),
    };
    with_form_cookie(status, headers, link.path(), |form_csrf| {
        html(
            status,
            &PasswordPage {
                chrome: Chrome::new(heading, ""),
                form_csrf,
                action: link.path(),
                heading,
                intro,
                button,
                token: token.to_owned(),
                error: error.to_owned(),
            },
        )
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    repeat: String,
}

/// The form's own CSRF token, as the browser's cookie has it.
fn form_is_genuine(state: &AppState, headers: &HeaderMap, sent: &str) -> bool {
    let genuine = same_secret(&cookies::get(headers, FORM_CSRF).unwrap_or_default(), sent);
    if !genuine {
        state.metrics.csrf_failures.inc();
    }
    genuine
}

/// A new password typed twice, checked before the use case checks its strength.
fn typed_twice(form: &PasswordForm) -> Option<&'static str> {
    if form.password.is_empty() {
        Some("Enter a password.")
    } else if form.password != form.repeat {
        Some("The two passwords differ; type the same one twice.")
    } else {
        None
    }
}

/// What a use case's refusal of a password or a link says on the page.
fn refusal_text(e: &AppError) -> Option<String> {
    match e {
        AppError::Validation(fields) => Some(crate::forms::in_words(fields, crate::forms::the_field)),
        AppError::Conflict { detail, .. } | AppError::Forbidden { detail, .. } => Some(detail.clone()),
        _ => None,
    }
}

/// `GET /invite/accept?token=…`: the link of an invitation email.
pub async fn invitation(headers: HeaderMap, query: Result<Query<TokenQuery>, QueryRejection>) -> Response {
    let token = query.ok().and_then(|Query(q)| q.token).unwrap_or_default();
    password_page(StatusCode::OK, &headers, Link::Invitation, &token, "")
}

/// `POST /invite/accept`: the password set, the new member signed in.
pub async fn accept_invitation(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Response {
    let again = |status, error: &str| password_page(status, &headers, Link::Invitation, &form.token, error);
    if !form_is_genuine(&state, &headers, &form.csrf) {
        return again(
            StatusCode::FORBIDDEN,
            "This form had expired. Please send it again.",
        );
    }
    if let Some(problem) = typed_twice(&form) {
        return again(StatusCode::UNPROCESSABLE_ENTITY, problem);
    }
    let request = AcceptInviteRequest {
        token: form.token.clone(),
        password: form.password.clone(),
    };
    match state.app.accept_invite(&request, &origin).await {
        Ok(tokens) => {
            let mut response = Redirect::to("/app").into_response();
            for cookie in cookies::session(
                &tokens.access_token,
                tokens.expires_in,
                &tokens.refresh_token,
                tokens.refresh_expires_in,
                &ftry_app::tokens::random_secret(),
            ) {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            response
        }
        Err(e) => match refusal_text(&e) {
            Some(text) => again(status_of(&e), &text),
            None => page::app_error(e, ""),
        },
    }
}

fn status_of(e: &AppError) -> StatusCode {
    match e {
        AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::Forbidden { .. } => StatusCode::FORBIDDEN,
        _ => StatusCode::CONFLICT,
    }
}

fn reset_request_page(
    status: StatusCode,
    headers: &HeaderMap,
    email: &str,
    business: &str,
    sent: bool,
    error: &str,
) -> Response {
    with_form_cookie(status, headers, Link::Reset.path(), |form_csrf| {
        html(
            status,
            &ResetRequestPage {
                chrome: Chrome::new("Forgot your password?", ""),
                form_csrf,
                email: email.to_owned(),
                business: business.to_owned(),
                sent,
                error: error.to_owned(),
            },
        )
    })
}

/// `GET /password-reset`: ask for a link; with `?token=` (the link of the
/// email), choose the new password.
pub async fn reset(headers: HeaderMap, query: Result<Query<TokenQuery>, QueryRejection>) -> Response {
    match query.ok().and_then(|Query(q)| q.token).filter(|t| !t.is_empty()) {
        Some(token) => password_page(StatusCode::OK, &headers, Link::Reset, &token, ""),
        None => reset_request_page(StatusCode::OK, &headers, "", "", false, ""),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ResetAskForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    business: String,
    /// Present on the new-password form (from the email's link).
    token: Option<String>,
    #[serde(default)]
    password: String,
    #[serde(default)]
    repeat: String,
}

/// `POST /password-reset`: either the email to send a link to (the answer
/// is the same whether or not it has an account), or the new password from
/// the link.
pub async fn reset_submit(
    State(state): State<AppState>,
    origin: RequestOrigin,
    headers: HeaderMap,
    Form(form): Form<ResetAskForm>,
) -> Response {
    if let Some(token) = form.token.clone() {
        let form = PasswordForm {
            csrf: form.csrf,
            token,
            password: form.password,
            repeat: form.repeat,
        };
        return confirm_reset(state, origin, headers, form).await;
    }
    if !form_is_genuine(&state, &headers, &form.csrf) {
        return reset_request_page(
            StatusCode::FORBIDDEN,
            &headers,
            &form.email,
            &form.business,
            false,
            "This form had expired. Please send it again.",
        );
    }
    if form.email.trim().is_empty() {
        return reset_request_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &headers,
            "",
            &form.business,
            false,
            "Enter the email you sign in with.",
        );
    }
    let request = ResetRequest {
        email: form.email.trim().to_owned(),
        tenant: Some(form.business.trim().to_owned()).filter(|b| !b.is_empty()),
    };
    match state.app.request_password_reset(&request, &origin.0).await {
        Ok(()) => reset_request_page(StatusCode::OK, &headers, &form.email, &form.business, true, ""),
        Err(e) => page::app_error(e, ""),
    }
}

async fn confirm_reset(
    state: AppState,
    origin: RequestOrigin,
    headers: HeaderMap,
    form: PasswordForm,
) -> Response {
    let again = |status, error: &str| password_page(status, &headers, Link::Reset, &form.token, error);
    if !form_is_genuine(&state, &headers, &form.csrf) {
        return again(
            StatusCode::FORBIDDEN,
            "This form had expired. Please send it again.",
        );
    }
    if let Some(problem) = typed_twice(&form) {
        return again(StatusCode::UNPROCESSABLE_ENTITY, problem);
    }
    let request = ResetConfirmRequest {
        token: form.token.clone(),
        password: form.password.clone(),
    };
    match state.app.confirm_password_reset(&request, &origin.0).await {
        Ok(()) => Redirect::to("/login?reset=done").into_response(),
        Err(e) => match refusal_text(&e) {
            Some(text) => again(status_of(&e), &text),
            None => page::app_error(e, ""),
        },
    }
}

struct SessionLine {
    id: String,
    device: String,
    place: String,
    started: String,
    last_used: String,
    this_one: bool,
}

#[derive(Template)]
#[template(path = "sessions.html")]
struct SessionsPage {
    chrome: Chrome,
    sessions: Vec<SessionLine>,
    ended: bool,
}

/// A browser's or app's name from its user agent, for a person to recognise.
fn device(user_agent: Option<&str>) -> String {
    let Some(agent) = user_agent.filter(|a| !a.is_empty()) else {
        return "Unknown device".into();
    };
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Chrome/", "Chrome"),
        ("Firefox/", "Firefox"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(marker, _)| agent.contains(marker))
    .map(|(_, name)| *name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "Mac"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(marker, _)| agent.contains(marker))
    .map(|(_, name)| *name);
    match (browser, system) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(browser), None) => browser.to_owned(),
        (None, Some(system)) => system.to_owned(),
        (None, None) => agent.chars().take(60).collect(),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct SessionsQuery {
    ended: Option<String>,
}

/// `GET /app/account`: where the signed-in person is signed in.
pub async fn sessions(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<SessionsQuery>, QueryRejection>,
) -> Response {
    let Some(SignedIn { principal, csrf }) = signed_in(&state, &headers).await else {
        return to_login("/app/account");
    };
    let list = match state.app.my_sessions(&principal).await {
        Ok(list) => list,
        Err(e) => return page::app_error(e, &csrf),
    };
    let zone = chrono_tz::Asia::Kolkata;
    let when =
        |at: chrono::DateTime<chrono::Utc>| at.with_timezone(&zone).format("%-d %b %Y, %H:%M").to_string();
    let page = SessionsPage {
        chrome: Chrome::signed("Your sessions", &csrf, &principal),
        sessions: list
            .iter()
            .map(|s| SessionLine {
                id: s.id.to_string(),
                device: device(s.user_agent.as_deref()),
                place: s.ip.map(|ip| ip.addr().to_string()).unwrap_or_default(),
                started: when(s.created_at),
                last_used: when(s.last_used_at),
                this_one: s.id == principal.session_id,
            })
            .collect(),
        ended: query.ok().and_then(|Query(q)| q.ended).is_some(),
    };
    html(StatusCode::OK, &page)
}

#[derive(Debug, Default, Deserialize)]
pub struct EndForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    session: String,
}

/// `POST /app/account/sessions`: sign another device out.
pub async fn end_session(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Form(form): Form<EndForm>,
) -> Response {
    let refused = (
        "Not signed out",
        "The form had expired. Open the page again and retry.",
    );
    let SignedIn { principal, csrf } =
        match form_sender(&state, &headers, &form.csrf, "/app/account", refused).await {
            Ok(sender) => sender,
            Err(answer) => return answer,
        };
    // Every device, this one too: back to the sign-in page.
    if form.session == "all" {
        return match state.app.logout_all(&principal, &origin).await {
            Ok(_) => {
                let mut response = Redirect::to("/login").into_response();
                for cookie in ftry_api::cookies::cleared() {
                    response
                        .headers_mut()
                        .append(axum::http::header::SET_COOKIE, cookie);
                }
                response
            }
            Err(e) => page::app_error(e, &csrf),
        };
    }
    let Ok(session) = form.session.parse::<uuid::Uuid>() else {
        return page::app_error(AppError::NotFound, &csrf);
    };
    match state.app.revoke_my_session(&principal, session, &origin).await {
        Ok(()) => Redirect::to("/app/account?ended").into_response(),
        Err(e) => page::app_error(e, &csrf),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_a_device_from_its_user_agent() {
        let phone = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36";
        assert_eq!(super::device(Some(phone)), "Chrome on Android");
        let mac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";
        assert_eq!(super::device(Some(mac)), "Safari on Mac");
        assert_eq!(super::device(Some("reqwest/0.12")), "reqwest/0.12");
        assert_eq!(super::device(None), "Unknown device");
    }
}
