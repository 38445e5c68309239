//! Signing in and out from the browser. The session is the API's browser
//! session: an httpOnly access cookie, a refresh cookie for
//! `/api/v1/auth/refresh`, and a CSRF cookie whose value every form that
//! changes something repeats in a hidden field.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use ftry_api::access::RequestOrigin;
use ftry_api::cookies;
use ftry_api::AppState;
use ftry_app::auth::LoginRequest;
use ftry_app::{AppError, Principal};
use serde::Deserialize;

use crate::page::{self, html, Chrome};

/// The signed-in person and their CSRF token, from the request's cookies.
pub struct SignedIn {
    pub principal: Principal,
    pub csrf: String,
}

pub async fn signed_in(state: &AppState, headers: &HeaderMap) -> Option<SignedIn> {
    let token = cookies::get(headers, cookies::ACCESS).filter(|t| !t.is_empty())?;
    let principal = state.app.authenticate(&token).await.ok()?;
    Some(SignedIn {
        principal,
        csrf: cookies::get(headers, cookies::CSRF).unwrap_or_default(),
    })
}

/// Where to go after signing in: only a page of the app, never another host.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(next)
            if next.starts_with("/app")
                && !next.contains("//")
                && !next.contains('\\')
                && next.chars().all(|c| c.is_ascii_graphic()) =>
        {
            next
        }
        _ => "/app/calendar",
    }
}

/// The sign-in page for a request that needs a session, coming back here after.
pub fn to_login(path_and_query: &str) -> Response {
    let next: String = path_and_query
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect();
    Redirect::to(&format!("/login?next={next}")).into_response()
}

pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match signed_in(&state, &headers).await {
        Some(_) => Redirect::to("/app").into_response(),
        None => Redirect::to("/login").into_response(),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    form_csrf: String,
    next: String,
    email: String,
    business: String,
    /// Show the business field (the email has accounts in several).
    ask_business: bool,
    error: String,
    /// The browser had a session: the page's script tries to renew it.
    resume: bool,
    /// What happened just before (a password changed).
    notice: &'static str,
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    /// `done` after a password was reset from its link.
    reset: Option<String>,
}

/// The sign-in form's own CSRF cookie (against login CSRF), apart from the
/// session's: a browser that still has the session's CSRF cookie had a
/// session, whose refresh cookie may renew it.
pub(crate) const FORM_CSRF: &str = "ftry_form";

/// A signed-out form's CSRF token (sign-in, sign-up): kept when the browser
/// has one, else a new one in a cookie for the form's `path`.
pub(crate) fn form_csrf(headers: &HeaderMap, path: &str) -> (String, Option<HeaderValue>) {
    match cookies::get(headers, FORM_CSRF).filter(|v| v.len() >= 16) {
        Some(existing) => (existing, None),
        None => {
            let fresh = ftry_app::tokens::random_secret();
            let cookie = HeaderValue::from_str(&format!(
                "{FORM_CSRF}={fresh}; Path={path}; Max-Age=3600; HttpOnly; Secure; SameSite=Strict"
            ))
            .ok();
            (fresh, cookie)
        }
    }
}

/// The same secret, compared in constant time.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    !a.is_empty()
        && a.len() == b.len()
        && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn login_page(status: StatusCode, headers: &HeaderMap, page: impl FnOnce(String) -> LoginPage) -> Response {
    let (csrf, cookie) = form_csrf(headers, "/login");
    let mut page = page(csrf);
    page.resume =
        page.error.is_empty() && cookies::get(headers, cookies::CSRF).is_some_and(|v| !v.is_empty());
    let mut response = html(status, &page);
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

pub async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<LoginQuery>, QueryRejection>,
) -> Response {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let notice = match query.reset.as_deref() {
        Some("done") => "Your password was changed. Sign in with the new one.",
        _ => "",
    };
    let next = query.next.unwrap_or_default();
    let next = safe_next(Some(&next)).to_owned();
    if signed_in(&state, &headers).await.is_some() {
        return Redirect::to(&next).into_response();
    }
    login_page(StatusCode::OK, &headers, |form_csrf| LoginPage {
        chrome: Chrome::new("Sign in", ""),
        form_csrf,
        next,
        email: String::new(),
        business: String::new(),
        ask_business: false,
        error: String::new(),
        resume: false,
        notice,
    })
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    business: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
}

pub async fn login(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(Some(&form.next)).to_owned();
    let again = |status: StatusCode, error: &str, ask_business: bool| {
        login_page(status, &headers, |form_csrf| LoginPage {
            chrome: Chrome::new("Sign in", ""),
            form_csrf,
            next: next.clone(),
            email: form.email.clone(),
            business: form.business.clone(),
            ask_business: ask_business || !form.business.is_empty(),
            error: error.to_owned(),
            resume: false,
            notice: "",
        })
    };
    if !same_secret(&cookies::get(&headers, FORM_CSRF).unwrap_or_default(), &form.csrf) {
        state.metrics.csrf_failures.inc();
        return again(
            StatusCode::FORBIDDEN,
            "This sign-in form had expired. Please sign in again.",
            false,
        );
    }
    if form.email.trim().is_empty() || form.password.is_empty() {
        return again(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter your email and password.",
            false,
        );
    }
    let account_key = format!("account:{}", form.email.trim().to_lowercase());
    if let Err(e) = state
        .limiter
        .charge(state.app.settings.login_attempts_per_account, &account_key)
        .await
    {
        return again(StatusCode::TOO_MANY_REQUESTS, &e.to_string(), false);
    }
    let request = LoginRequest {
        email: form.email.clone(),
        password: form.password.clone(),
        tenant: Some(form.business.trim().to_owned()).filter(|b| !b.is_empty()),
    };
    let tokens = match state.app.login(&request, &origin).await {
        Ok(tokens) => tokens,
        Err(AppError::Conflict {
            code: "tenant_required",
            ..
        }) => {
            return again(
                StatusCode::CONFLICT,
                "This email signs in to more than one business: enter the business's short name.",
                true,
            )
        }
        Err(AppError::Unauthorized { detail, .. }) => return again(StatusCode::UNAUTHORIZED, &detail, false),
        Err(AppError::Locked { until }) => {
            return again(
                StatusCode::LOCKED,
                &format!(
                    "Too many failed sign-ins: the account is locked until {} UTC.",
                    until.format("%H:%M")
                ),
                false,
            )
        }
        Err(e) => return page::app_error(e, ""),
    };
    let mut response = Redirect::to(&next).into_response();
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

#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    let cookie = cookies::get(&headers, cookies::CSRF).unwrap_or_default();
    if !same_secret(&cookie, &form.csrf) {
        state.metrics.csrf_failures.inc();
        return page::error(
            StatusCode::FORBIDDEN,
            "Not signed out",
            "The sign-out form had expired. Reload the page and try again.",
            "",
        );
    }
    if let Some(SignedIn { principal, .. }) = signed_in(&state, &headers).await {
        if let Err(e) = state.app.logout(&principal, &origin).await {
            return page::app_error(e, &cookie);
        }
    }
    let mut response = Redirect::to("/login").into_response();
    for cookie in cookies::cleared() {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// Who sent a form that changes something: someone signed in whose session's
/// CSRF token the form repeats. Otherwise the answer to give: the sign-in
/// page (coming back to `back`), or a 403 page saying `heading` and `advice`.
pub async fn form_sender(
    state: &AppState,
    headers: &HeaderMap,
    form_csrf: &str,
    back: &str,
    (heading, advice): (&str, &str),
) -> Result<SignedIn, Response> {
    let Some(sender) = signed_in(state, headers).await else {
        return Err(to_login(back));
    };
    if !same_secret(
        &cookies::get(headers, cookies::CSRF).unwrap_or_default(),
        form_csrf,
    ) {
        state.metrics.csrf_failures.inc();
        return Err(page::error(StatusCode::FORBIDDEN, heading, advice, &sender.csrf));
    }
    Ok(sender)
}
