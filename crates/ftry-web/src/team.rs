//! The team's accounts: who can sign in, with which roles; invite someone
//! (the email's link opens `/invite/accept`), give someone another role (a
//! custom one from the roles page, say), and unlock an account locked by
//! failed sign-ins. Each is the API's use case.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{OriginalUri, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::Utc;
use ftry_api::access::RequestOrigin;
use ftry_api::AppState;
use ftry_app::users::{InviteRequest, UpdateUserRequest};
use ftry_app::{AppError, Principal};
use ftry_domain::permissions::Permission;
use serde::Deserialize;
use uuid::Uuid;

use crate::forms::FieldErrors;
use crate::page::{self, html, Chrome, PathId};
use crate::session::{form_sender, signed_in, to_login, SignedIn};

struct Member {
    id: Uuid,
    name: String,
    email: String,
    roles: String,
    status: &'static str,
    locked: bool,
    /// The signed-in person: their own roles are changed by someone else.
    me: bool,
}

#[derive(Template)]
#[template(path = "team.html")]
struct TeamPage {
    chrome: Chrome,
    members: Vec<Member>,
    invites: bool,
    manages: bool,
    roles: Vec<String>,
    form: InviteForm,
    errors: FieldErrors,
    done: &'static str,
}

#[derive(Debug, Default, Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct TeamQuery {
    done: Option<String>,
}

fn status_label(status: &str) -> &'static str {
    match status {
        "active" => "Active",
        "invited" => "Invited",
        "disabled" => "Disabled",
        _ => "",
    }
}

async fn render(
    state: &AppState,
    principal: &Principal,
    csrf: &str,
    status: StatusCode,
    form: InviteForm,
    errors: FieldErrors,
    done: &'static str,
) -> Response {
    let users = match state.app.list_users(principal).await {
        Ok(users) => users,
        Err(e) => return page::app_error(e, csrf),
    };
    // The roles to invite with: the business's, when the person may read them.
    let roles = state
        .app
        .list_roles(principal)
        .await
        .map(|roles| roles.into_iter().map(|r| r.name).collect())
        .unwrap_or_else(|_| vec!["receptionist".to_owned(), "stylist".to_owned()]);
    let now = Utc::now();
    let page = TeamPage {
        chrome: Chrome::signed("Team", csrf, principal),
        members: users
            .iter()
            .map(|u| Member {
                id: u.id,
                name: u.name.clone(),
                email: u.email.clone(),
                roles: u.roles.join(", "),
                status: status_label(&u.status),
                locked: u.locked_until.is_some_and(|until| until > now),
                me: u.id == principal.user_id,
            })
            .collect(),
        invites: principal.can(Permission::UsersInvite),
        manages: principal.can(Permission::UsersManage),
        roles,
        form,
        errors,
        done,
    };
    html(status, &page)
}

/// `GET /app/team`.
pub async fn team(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<TeamQuery>, QueryRejection>,
) -> Response {
    let Some(SignedIn { principal, csrf }) = signed_in(&state, &headers).await else {
        return to_login(uri.path());
    };
    let done = match query.ok().and_then(|Query(q)| q.done).as_deref() {
        Some("invited") => "Invited: the invitation is on its way by email. Its link works once.",
        Some("unlocked") => "Unlocked: they can sign in again.",
        Some("roles") => "Role changed: it applies from their next request.",
        Some("disabled") => "Disabled: they are signed out everywhere and cannot sign in.",
        Some("enabled") => "Enabled: they can sign in again.",
        _ => "",
    };
    let form = InviteForm {
        role: "receptionist".into(),
        ..InviteForm::default()
    };
    render(
        &state,
        &principal,
        &csrf,
        StatusCode::OK,
        form,
        FieldErrors::default(),
        done,
    )
    .await
}

/// `POST /app/team`: invite someone with one role.
pub async fn invite(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Form(form): Form<InviteForm>,
) -> Response {
    let refused = (
        "Nobody invited",
        "The form had expired. Open the team page again and retry.",
    );
    let SignedIn { principal, csrf } =
        match form_sender(&state, &headers, &form.csrf, "/app/team", refused).await {
            Ok(sender) => sender,
            Err(answer) => return answer,
        };
    let request = InviteRequest {
        email: form.email.trim().to_owned(),
        name: form.name.clone(),
        roles: vec![form.role.clone()]
            .into_iter()
            .filter(|r| !r.is_empty())
            .collect(),
    };
    match state.app.invite(&principal, &request, &origin).await {
        Ok(_) => Redirect::to("/app/team?done=invited").into_response(),
        Err(AppError::Validation(fields)) => {
            let errors = FieldErrors::from_use_case(&fields, |f| {
                if f.starts_with("roles") {
                    "role".to_owned()
                } else {
                    f.to_owned()
                }
            });
            render(
                &state,
                &principal,
                &csrf,
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
                errors,
                "",
            )
            .await
        }
        Err(AppError::Conflict { detail, .. } | AppError::ConflictWith { detail, .. }) => {
            let mut errors = FieldErrors::default();
            errors.push("email", crate::booking::sentence(&detail));
            render(&state, &principal, &csrf, StatusCode::CONFLICT, form, errors, "").await
        }
        Err(e) => page::app_error(e, &csrf),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct UnlockForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /app/team/{id}/unlock`.
pub async fn unlock(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    PathId(id): PathId,
    Form(form): Form<UnlockForm>,
) -> Response {
    let refused = (
        "Not unlocked",
        "The form had expired. Open the team page again and retry.",
    );
    let SignedIn { principal, csrf } =
        match form_sender(&state, &headers, &form.csrf, "/app/team", refused).await {
            Ok(sender) => sender,
            Err(answer) => return answer,
        };
    match state.app.unlock_user(&principal, id, &origin).await {
        Ok(_) => Redirect::to("/app/team?done=unlocked").into_response(),
        Err(e) => page::app_error(e, &csrf),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
    /// `active` or `disabled`, for the account's status form.
    #[serde(default)]
    status: String,
}

/// `POST /app/team/{id}/roles`: give an account one role in place of its
/// roles (nobody changes their own, nor gives more than they hold).
pub async fn set_roles(
    state: State<AppState>,
    origin: RequestOrigin,
    headers: HeaderMap,
    id: PathId,
    form: Form<RoleForm>,
) -> Response {
    change_account(state, origin, headers, id, form, false).await
}

/// `POST /app/team/{id}/status`: disable an account (someone who left: their
/// sessions end) or enable it again.
pub async fn set_status(
    state: State<AppState>,
    origin: RequestOrigin,
    headers: HeaderMap,
    id: PathId,
    form: Form<RoleForm>,
) -> Response {
    change_account(state, origin, headers, id, form, true).await
}

async fn change_account(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    PathId(id): PathId,
    Form(form): Form<RoleForm>,
    status: bool,
) -> Response {
    let refused = (
        "Role not changed",
        "The form had expired. Open the team page again and retry.",
    );
    let SignedIn { principal, csrf } =
        match form_sender(&state, &headers, &form.csrf, "/app/team", refused).await {
            Ok(sender) => sender,
            Err(answer) => return answer,
        };
    let request = if status {
        UpdateUserRequest {
            status: Some(form.status.clone()),
            roles: None,
        }
    } else {
        UpdateUserRequest {
            status: None,
            roles: Some(vec![form.role.clone()]),
        }
    };
    let done = match (status, form.status.as_str()) {
        (false, _) => "roles",
        (true, "disabled") => "disabled",
        (true, _) => "enabled",
    };
    let (status, detail) = match state.app.update_user(&principal, id, &request, &origin).await {
        Ok(_) => return Redirect::to(&format!("/app/team?done={done}")).into_response(),
        Err(AppError::Validation(fields)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            crate::forms::in_words(&fields, crate::forms::the_field),
        ),
        Err(AppError::Forbidden { detail, .. }) => (StatusCode::FORBIDDEN, detail),
        Err(AppError::Conflict { detail, .. }) => (StatusCode::CONFLICT, detail),
        Err(e) => return page::app_error(e, &csrf),
    };
    let mut errors = FieldErrors::default();
    errors.push("members", crate::booking::sentence(&detail.replace('`', "")));
    let form = InviteForm {
        role: "receptionist".into(),
        ..InviteForm::default()
    };
    render(&state, &principal, &csrf, status, form, errors, "").await
}
