//! What every page shares: the frame around it (assets, the signed-in
//! navigation), rendering, and the error pages.

use askama::Template;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ftry_api::observe::RequestId;
use ftry_api::AppState;
use ftry_app::tenant::Location;
use ftry_app::{AppError, Principal};
use ftry_domain::permissions::Permission;
use uuid::Uuid;

use crate::assets;

/// The frame of a page.
pub struct Chrome {
    pub title: String,
    pub css: String,
    pub js: String,
    /// The signed-in user's CSRF token (the sign-out form carries it); empty
    /// when nobody is signed in.
    pub csrf: String,
    /// The navigation links to the revenue report (`reports:revenue`).
    pub revenue: bool,
    /// The navigation links to the setup pages (branch, services, staff).
    pub setup: bool,
}

impl Chrome {
    pub fn new(title: impl Into<String>, csrf: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            css: format!("/static/{}", assets::css().name),
            js: format!("/static/{}", assets::js().name),
            csrf: csrf.into(),
            revenue: false,
            setup: false,
        }
    }

    /// The frame of a signed-in person's page: its navigation shows what they may open.
    pub fn signed(
        title: impl Into<String>,
        csrf: impl Into<String>,
        principal: &ftry_app::Principal,
    ) -> Self {
        Self {
            revenue: principal.can(Permission::ReportsRevenue),
            setup: [
                Permission::TenantUpdate,
                Permission::LocationsManage,
                Permission::ResourcesManage,
                Permission::ServicesManage,
                Permission::StaffManage,
                Permission::UsersInvite,
                Permission::UsersManage,
                Permission::RolesManage,
                Permission::WebhooksManage,
                Permission::AuditRead,
                Permission::StockManage,
            ]
            .into_iter()
            .any(|p| principal.can(p)),
            ..Self::new(title, csrf)
        }
    }

    pub fn signed_in(&self) -> bool {
        !self.csrf.is_empty()
    }
}

tokio::task_local! {
    /// The id of the request a page is rendered for (`x-request-id`).
    static REQUEST_ID: String;
}

/// Middleware: pages rendered for this request know its id, so an error page
/// can give it as the reference to quote (it is in the logs and the trace).
pub async fn with_request_id(request: Request, next: Next) -> Response {
    let id = request
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.clone())
        .unwrap_or_default();
    REQUEST_ID.scope(id, next.run(request)).await
}

/// What to say when ftry failed: never the cause, always the reference.
fn failure_message() -> String {
    match REQUEST_ID.try_with(Clone::clone) {
        Ok(id) if !id.is_empty() => format!(
            "ftry could not finish this. It has been logged; try again in a moment. \
             If it keeps happening, give this reference to whoever runs ftry for you: {id}"
        ),
        _ => "ftry could not finish this. It has been logged; try again in a moment.".to_owned(),
    }
}

/// A rendered page; never cached (it shows a signed-in person's data).
pub fn html(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(body) => {
            let mut response = (status, body).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "a page failed to render");
            let mut response = (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("The page could not be shown. {}", failure_message()),
            )
                .into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            response
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub chrome: Chrome,
    pub status: u16,
    pub heading: String,
    pub message: String,
}

pub fn error(status: StatusCode, heading: &str, message: impl Into<String>, csrf: &str) -> Response {
    html(
        status,
        &ErrorPage {
            chrome: Chrome::new(heading, csrf),
            status: status.as_u16(),
            heading: heading.to_owned(),
            message: message.into(),
        },
    )
}

/// The id in a page's address; an address whose id is not one is a page
/// that does not exist (the not-found page, as for any unknown address).
pub struct PathId(pub Uuid);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PathId {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Response> {
        match axum::extract::Path::<Uuid>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(id)) => Ok(Self(id)),
            Err(_) => Err(not_found().await),
        }
    }
}

pub async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is no page at this address. It may have moved, or the link may be mistyped.",
        "",
    )
}

/// A use case's refusal as a page: what went wrong, in words for the person
/// at the desk. Internal errors are logged and never shown.
pub fn app_error(e: AppError, csrf: &str) -> Response {
    match e {
        AppError::Validation(fields) => {
            let message = fields
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; ");
            error(StatusCode::BAD_REQUEST, "That did not work", message, csrf)
        }
        AppError::NotFound => error(
            StatusCode::NOT_FOUND,
            "Not found",
            "What you asked for does not exist, or belongs to another business.",
            csrf,
        ),
        AppError::Conflict { detail, .. } | AppError::ConflictWith { detail, .. } => {
            error(StatusCode::CONFLICT, "That clashes", detail, csrf)
        }
        AppError::Unauthorized { detail, .. } => {
            error(StatusCode::UNAUTHORIZED, "Please sign in", detail, csrf)
        }
        AppError::Forbidden { detail, .. } => error(StatusCode::FORBIDDEN, "Not allowed", detail, csrf),
        AppError::Locked { .. } => error(
            StatusCode::LOCKED,
            "Account locked",
            "Too many failed sign-ins. Try again later or ask an administrator to unlock the account.",
            csrf,
        ),
        AppError::TooManyRequests { detail, .. } => {
            error(StatusCode::TOO_MANY_REQUESTS, "Slow down", detail, csrf)
        }
        AppError::Internal(reason) => {
            tracing::error!(%reason, "a page's use case failed");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                failure_message(),
                csrf,
            )
        }
    }
}

/// A branch's time zone (a name the zone database lacks falls back to India's).
pub fn zone(name: &str) -> chrono_tz::Tz {
    name.parse().unwrap_or(chrono_tz::Asia::Kolkata)
}

/// The branches the signed-in person may see, and the one a page is about:
/// the one asked for, else the first. A branch not among them is a 404 page.
pub async fn branch(
    state: &AppState,
    principal: &Principal,
    wanted: Option<Uuid>,
    csrf: &str,
) -> Result<(Vec<Location>, Location), Response> {
    let locations = state
        .app
        .locations(principal)
        .await
        .map_err(|e| app_error(e, csrf))?;
    let chosen = match wanted {
        Some(id) => locations.iter().find(|l| l.id == id),
        None => locations.first(),
    };
    match chosen.cloned() {
        Some(location) => Ok((locations, location)),
        None => Err(app_error(AppError::NotFound, csrf)),
    }
}
