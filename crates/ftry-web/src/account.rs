//! The pages ftry's emails link to: accepting an invitation (choose a
//! password, then signed in) and resetting a forgotten password (ask for a
//! link by email; choose a new password from it, which ends every session of
//! the account). Each is the API's use case; the forms are signed out, so
//! each has its own CSRF cookie like the sign-in form.

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
use crate::session::{form_csrf, same_secret, FORM_CSRF};

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
        AppError::Validation(fields) => Some(
            fields
                .iter()
                .map(|f| crate::booking::sentence(&format!("the {} {}", f.field, f.message)))
                .collect::<Vec<_>>()
                .join(" "),
        ),
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
