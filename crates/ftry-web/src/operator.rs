//! The operators' pages: signing in as a platform operator (a separate
//! account from any business's, its own cookie scoped to `/platform`), every
//! business with its status and usage, and suspending or reactivating one
//! with a reason. Each is the platform API's use case, audited as such.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use ftry_api::access::RequestOrigin;
use ftry_api::cookies;
use ftry_api::AppState;
use ftry_app::platform::{PlatformLoginRequest, StatusChangeRequest};
use ftry_app::{AppError, PlatformPrincipal};
use serde::Deserialize;
use uuid::Uuid;

use crate::page::{self, html, Chrome};
use crate::session::{form_csrf, same_secret, FORM_CSRF};

/// The operator's access token, only ever sent to `/platform`.
const OPERATOR: &str = "ftry_operator";
/// The operator session's CSRF token, repeated by every form.
const OPERATOR_CSRF: &str = "ftry_operator_csrf";

fn operator_cookies(token: &str, csrf: &str, ttl: i64) -> Vec<HeaderValue> {
    [
        format!("{OPERATOR}={token}; Path=/platform; Max-Age={ttl}; HttpOnly; Secure; SameSite=Strict"),
        format!("{OPERATOR_CSRF}={csrf}; Path=/platform; Max-Age={ttl}; HttpOnly; Secure; SameSite=Strict"),
    ]
    .into_iter()
    .filter_map(|c| HeaderValue::from_str(&c).ok())
    .collect()
}

/// The signed-in operator and their session's CSRF token.
async fn operator(state: &AppState, headers: &HeaderMap) -> Option<(PlatformPrincipal, String)> {
    let token = cookies::get(headers, OPERATOR).filter(|t| !t.is_empty())?;
    let principal = state.app.authenticate_platform(&token).await.ok()?;
    Some((
        principal,
        cookies::get(headers, OPERATOR_CSRF).unwrap_or_default(),
    ))
}

#[derive(Template)]
#[template(path = "operator_login.html")]
struct LoginPage {
    chrome: Chrome,
    form_csrf: String,
    email: String,
    error: String,
}

fn login_page(status: StatusCode, headers: &HeaderMap, email: &str, error: &str) -> Response {
    let (csrf, cookie) = form_csrf(headers, "/platform/login");
    let mut response = html(
        status,
        &LoginPage {
            chrome: Chrome::new("Operators", ""),
            form_csrf: csrf,
            email: email.to_owned(),
            error: error.to_owned(),
        },
    );
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// `GET /platform/login`.
pub async fn login_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if operator(&state, &headers).await.is_some() {
        return Redirect::to("/platform").into_response();
    }
    login_page(StatusCode::OK, &headers, "", "")
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// `POST /platform/login`.
pub async fn login(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if !same_secret(&cookies::get(&headers, FORM_CSRF).unwrap_or_default(), &form.csrf) {
        state.metrics.csrf_failures.inc();
        return login_page(
            StatusCode::FORBIDDEN,
            &headers,
            &form.email,
            "This form had expired. Please sign in again.",
        );
    }
    let request = PlatformLoginRequest {
        email: form.email.clone(),
        password: form.password.clone(),
    };
    match state.app.platform_login(&request, &origin).await {
        Ok(token) => {
            let mut response = Redirect::to("/platform").into_response();
            for cookie in operator_cookies(
                &token.access_token,
                &ftry_app::tokens::random_secret(),
                token.expires_in,
            ) {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            response
        }
        Err(AppError::Unauthorized { detail, .. }) => {
            login_page(StatusCode::UNAUTHORIZED, &headers, &form.email, &detail)
        }
        Err(AppError::Locked { until }) => login_page(
            StatusCode::LOCKED,
            &headers,
            &form.email,
            &format!(
                "Too many failed sign-ins: locked until {} UTC.",
                until.format("%H:%M")
            ),
        ),
        Err(e) => page::app_error(e, ""),
    }
}

struct Business {
    id: Uuid,
    name: String,
    slug: String,
    status: String,
    reason: String,
    users: String,
    branches: String,
    since: String,
}

#[derive(Template)]
#[template(path = "operator.html")]
struct TenantsPage {
    chrome: Chrome,
    csrf: String,
    businesses: Vec<Business>,
    done: String,
}

/// `GET /platform`: every business, its status and usage against its plan.
pub async fn tenants(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    let Some((principal, csrf)) = operator(&state, &headers).await else {
        return Redirect::to("/platform/login").into_response();
    };
    let list = match state.app.platform_tenants(&principal, &origin).await {
        Ok(list) => list,
        Err(e) => return page::app_error(e, ""),
    };
    let done = match query.as_deref() {
        Some("done=suspended") => {
            "Suspended: its people cannot sign in until it is reactivated; its data is kept."
        }
        Some("done=active") => "Reactivated.",
        _ => "",
    };
    let page = TenantsPage {
        chrome: Chrome::new("Businesses", ""),
        csrf,
        businesses: list
            .iter()
            .map(|o| Business {
                id: o.tenant.id,
                name: o.tenant.name.clone(),
                slug: o.tenant.slug.clone(),
                status: o.tenant.status.clone(),
                reason: o.tenant.status_reason.clone().unwrap_or_default(),
                users: format!("{} of {}", o.usage.users, o.tenant.max_users),
                branches: format!("{} of {}", o.usage.locations, o.tenant.max_locations),
                since: o.tenant.created_at.format("%-d %b %Y").to_string(),
            })
            .collect(),
        done: done.to_owned(),
    };
    html(StatusCode::OK, &page)
}

#[derive(Debug, Default, Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

/// `POST /platform/tenants/{id}/{suspend|activate}`.
pub async fn set_status(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<StatusForm>,
) -> Response {
    let Some((principal, csrf)) = operator(&state, &headers).await else {
        return Redirect::to("/platform/login").into_response();
    };
    if !same_secret(&csrf, &form.csrf) {
        state.metrics.csrf_failures.inc();
        return page::error(
            StatusCode::FORBIDDEN,
            "Nothing changed",
            "The form had expired. Open the list again and retry.",
            "",
        );
    }
    let status = match action.as_str() {
        "suspend" => "suspended",
        "activate" => "active",
        _ => return page::not_found().await,
    };
    let Ok(id) = id.parse::<Uuid>() else {
        return page::not_found().await;
    };
    let request = StatusChangeRequest {
        reason: Some(form.reason.trim().to_owned()).filter(|r| !r.is_empty()),
    };
    match state
        .app
        .platform_set_status(&principal, id, status, &request, &origin)
        .await
    {
        Ok(_) => Redirect::to(&format!("/platform?done={status}")).into_response(),
        Err(e) => page::app_error(e, ""),
    }
}

/// `POST /platform/logout`.
pub async fn logout(headers: HeaderMap, Form(form): Form<StatusForm>) -> Response {
    let csrf = cookies::get(&headers, OPERATOR_CSRF).unwrap_or_default();
    if !same_secret(&csrf, &form.csrf) {
        return page::error(
            StatusCode::FORBIDDEN,
            "Not signed out",
            "The form had expired. Reload and retry.",
            "",
        );
    }
    let mut response = Redirect::to("/platform/login").into_response();
    for cookie in operator_cookies("", "", 0) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

struct JobRow {
    id: Uuid,
    kind: String,
    business: String,
    attempts: String,
    due: String,
    error: String,
}

#[derive(Template)]
#[template(path = "operator_jobs.html")]
struct JobsPage {
    chrome: Chrome,
    csrf: String,
    state: String,
    states: &'static [&'static str],
    rows: Vec<JobRow>,
    done: &'static str,
}

#[derive(Debug, Default, Deserialize)]
pub struct JobsQuery {
    state: Option<String>,
    done: Option<String>,
}

/// `GET /platform/jobs`: the queue's jobs by state, dead ones (the dead
/// letters) first, with what failed them; each dead one retried or
/// discarded from here.
pub async fn jobs(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<axum::extract::Query<JobsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Some((principal, csrf)) = operator(&state, &headers).await else {
        return Redirect::to("/platform/login").into_response();
    };
    let query = query.map(|q| q.0).unwrap_or_default();
    let wanted = query.state.unwrap_or_else(|| "dead".into());
    let list = match state.app.platform_jobs(&principal, &wanted, 100).await {
        Ok(list) => list,
        Err(AppError::Validation(_)) => {
            return page::error(
                StatusCode::BAD_REQUEST,
                "Not a state",
                "Pick a state from the list.",
                "",
            )
        }
        Err(e) => return page::app_error(e, ""),
    };
    let done = match query.done.as_deref() {
        Some("retry") => "Queued again with fresh attempts.",
        Some("discard") => "Discarded: it will not run.",
        _ => "",
    };
    let page = JobsPage {
        chrome: Chrome::new("Jobs", ""),
        csrf,
        state: wanted,
        states: &ftry_app::platform::JOB_STATES,
        rows: list
            .into_iter()
            .map(|j| JobRow {
                id: j.id,
                kind: j.kind,
                business: j.tenant_id.map(|t| t.to_string()).unwrap_or_default(),
                attempts: format!("{} of {}", j.attempts, j.max_attempts),
                due: j.run_at.format("%-d %b %H:%M:%S UTC").to_string(),
                error: j.last_error.unwrap_or_default(),
            })
            .collect(),
        done,
    };
    html(StatusCode::OK, &page)
}

/// `POST /platform/jobs/{id}/{retry|discard}`.
pub async fn job_action(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<StatusForm>,
) -> Response {
    let Some((principal, csrf)) = operator(&state, &headers).await else {
        return Redirect::to("/platform/login").into_response();
    };
    if !same_secret(&csrf, &form.csrf) {
        state.metrics.csrf_failures.inc();
        return page::error(
            StatusCode::FORBIDDEN,
            "Nothing changed",
            "The form had expired. Open the jobs again and retry.",
            "",
        );
    }
    let Ok(id) = id.parse::<Uuid>() else {
        return page::not_found().await;
    };
    match state
        .app
        .platform_job_action(&principal, id, &action, &origin)
        .await
    {
        Ok(()) => Redirect::to(&format!("/platform/jobs?done={action}")).into_response(),
        Err(AppError::NotFound) => page::not_found().await,
        Err(e) => page::app_error(e, ""),
    }
}
