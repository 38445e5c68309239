//! Roles: the built-in ones and the business's own (a "senior stylist" who
//! may also see the revenue report, say). Create one from the permissions one
//! holds oneself, change or delete a custom one; the team page gives roles to
//! accounts. Each form is the API's use case (`/api/v1/roles`).

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{OriginalUri, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use ftry_api::access::RequestOrigin;
use ftry_api::AppState;
use ftry_app::roles::{RoleRequest, RoleUpdateRequest};
use ftry_app::{AppError, Principal};
use ftry_domain::permissions::Permission;
use serde::Deserialize;
use uuid::Uuid;

use crate::forms::FieldErrors;
use crate::page::{self, html, Chrome, PathId};
use crate::session::{form_sender, signed_in, to_login, SignedIn};

struct RoleRow {
    id: Uuid,
    name: String,
    description: String,
    builtin: bool,
    /// What it allows, in words.
    allows: Vec<&'static str>,
}

/// A permission as the form offers it.
struct Choice {
    name: &'static str,
    description: &'static str,
    checked: bool,
    /// Only what one holds oneself can be given to a role.
    grantable: bool,
}

/// The role form as typed: name, description and the ticked permissions.
#[derive(Debug, Default)]
struct Typed {
    name: String,
    description: String,
    permissions: Vec<String>,
}

impl Typed {
    fn from_pairs(pairs: &[(String, String)]) -> (String, Self) {
        let field = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map_or(String::new(), |(_, v)| v.clone())
        };
        let typed = Self {
            name: field("name"),
            description: field("description"),
            permissions: pairs
                .iter()
                .filter(|(k, _)| k == "permission")
                .map(|(_, v)| v.clone())
                .collect(),
        };
        (field("csrf"), typed)
    }
}

#[derive(Template)]
#[template(path = "roles.html")]
struct RolesPage {
    chrome: Chrome,
    roles: Vec<RoleRow>,
    manage: bool,
    /// The custom role being changed (its id), or none for a new one.
    editing: Option<Uuid>,
    form: Typed,
    choices: Vec<Choice>,
    errors: FieldErrors,
    done: &'static str,
}

#[derive(Debug, Default, Deserialize)]
pub struct RolesQuery {
    role: Option<String>,
    done: Option<String>,
}

async fn render(
    state: &AppState,
    principal: &Principal,
    csrf: &str,
    status: StatusCode,
    (editing, typed): (Option<Uuid>, Option<Typed>),
    errors: FieldErrors,
    done: &'static str,
) -> Response {
    let roles = match state.app.list_roles(principal).await {
        Ok(roles) => roles,
        Err(e) => return page::app_error(e, csrf),
    };
    let editing = editing.filter(|id| roles.iter().any(|r| r.id == *id && !r.builtin));
    let form = typed.unwrap_or_else(|| match roles.iter().find(|r| Some(r.id) == editing) {
        Some(role) => Typed {
            name: role.name.clone(),
            description: role.description.clone(),
            permissions: role.permissions.iter().map(|p| p.name().to_owned()).collect(),
        },
        None => Typed::default(),
    });
    let choices = Permission::ALL
        .iter()
        .map(|p| Choice {
            name: p.name(),
            description: p.description(),
            checked: form.permissions.iter().any(|n| n == p.name()),
            grantable: principal.can(*p),
        })
        .collect();
    let page = RolesPage {
        chrome: Chrome::signed("Roles", csrf, principal),
        roles: roles
            .iter()
            .map(|r| RoleRow {
                id: r.id,
                name: r.name.clone(),
                description: r.description.clone(),
                builtin: r.builtin,
                allows: r.permissions.iter().map(|p| p.description()).collect(),
            })
            .collect(),
        manage: principal.can(Permission::RolesManage),
        editing,
        form,
        choices,
        errors,
        done,
    };
    html(status, &page)
}

/// `GET /app/roles`.
pub async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<RolesQuery>, QueryRejection>,
) -> Response {
    let Some(SignedIn { principal, csrf }) = signed_in(&state, &headers).await else {
        return to_login(uri.path());
    };
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let done = match query.done.as_deref() {
        Some("created") => "Role created: give it to someone from the team page.",
        Some("saved") => "Role saved: it applies to its holders at their next request.",
        Some("deleted") => "Role deleted.",
        _ => "",
    };
    let editing = query.role.and_then(|r| r.parse().ok());
    render(
        &state,
        &principal,
        &csrf,
        StatusCode::OK,
        (editing, None),
        FieldErrors::default(),
        done,
    )
    .await
}

const EXPIRED: (&str, &str) = (
    "Not saved",
    "The form had expired. Open the roles page again and retry.",
);

/// Where a use case's refusal is shown on the form.
fn refusal(e: AppError) -> Result<(StatusCode, FieldErrors), AppError> {
    let mut errors = FieldErrors::default();
    let status = match e {
        AppError::Validation(fields) => {
            errors = FieldErrors::from_use_case(&fields, str::to_owned);
            StatusCode::UNPROCESSABLE_ENTITY
        }
        AppError::Conflict { code, detail } => {
            let field = if code == "role_name_taken" {
                "name"
            } else {
                "permissions"
            };
            errors.push(field, crate::booking::sentence(&detail.replace('`', "")));
            StatusCode::CONFLICT
        }
        AppError::Forbidden {
            code: "role_escalation",
            detail,
        } => {
            errors.push("permissions", crate::booking::sentence(&detail.replace('`', "")));
            StatusCode::FORBIDDEN
        }
        other => return Err(other),
    };
    Ok((status, errors))
}

/// `POST /app/roles`: a new custom role.
pub async fn create(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let (csrf_field, typed) = Typed::from_pairs(&pairs);
    let SignedIn { principal, csrf } =
        match form_sender(&state, &headers, &csrf_field, "/app/roles", EXPIRED).await {
            Ok(sender) => sender,
            Err(answer) => return answer,
        };
    let request = RoleRequest {
        name: typed.name.trim().to_owned(),
        description: Some(typed.description.clone()),
        permissions: typed.permissions.clone(),
    };
    match state.app.create_role(&principal, &request, &origin).await {
        Ok(_) => Redirect::to("/app/roles?done=created").into_response(),
        Err(e) => match refusal(e) {
            Ok((status, errors)) => {
                render(&state, &principal, &csrf, status, (None, Some(typed)), errors, "").await
            }
            Err(e) => page::app_error(e, &csrf),
        },
    }
}

/// `POST /app/roles/{id}`: a custom role's description and permissions.
pub async fn save(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    PathId(id): PathId,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let (csrf_field, typed) = Typed::from_pairs(&pairs);
    let SignedIn { principal, csrf } =
        match form_sender(&state, &headers, &csrf_field, "/app/roles", EXPIRED).await {
            Ok(sender) => sender,
            Err(answer) => return answer,
        };
    let request = RoleUpdateRequest {
        description: Some(typed.description.clone()),
        permissions: Some(typed.permissions.clone()),
    };
    match state.app.update_role(&principal, id, &request, &origin).await {
        Ok(_) => Redirect::to("/app/roles?done=saved").into_response(),
        Err(e) => match refusal(e) {
            Ok((status, errors)) => {
                render(
                    &state,
                    &principal,
                    &csrf,
                    status,
                    (Some(id), Some(typed)),
                    errors,
                    "",
                )
                .await
            }
            Err(e) => page::app_error(e, &csrf),
        },
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /app/roles/{id}/delete`: a custom role nobody holds.
pub async fn delete(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    PathId(id): PathId,
    Form(form): Form<DeleteForm>,
) -> Response {
    let SignedIn { principal, csrf } =
        match form_sender(&state, &headers, &form.csrf, "/app/roles", EXPIRED).await {
            Ok(sender) => sender,
            Err(answer) => return answer,
        };
    match state.app.delete_role(&principal, id, &origin).await {
        Ok(()) => Redirect::to("/app/roles?done=deleted").into_response(),
        Err(e) => match refusal(e) {
            Ok((status, errors)) => {
                render(&state, &principal, &csrf, status, (Some(id), None), errors, "").await
            }
            Err(e) => page::app_error(e, &csrf),
        },
    }
}
