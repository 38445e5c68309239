//! Rooms, chairs and stations: what a service may need besides a person (a
//! spa room, a pedicure chair), each at a branch with a capacity (1: never
//! double-booked). Add one, change it, take it out of use. Each form is the
//! API's use case (`/api/v1/resources`).

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{OriginalUri, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use ftry_api::access::RequestOrigin;
use ftry_api::AppState;
use ftry_app::catalog::ResourceInput;
use ftry_app::{AppError, Principal};
use ftry_domain::permissions::Permission;
use serde::Deserialize;
use uuid::Uuid;

use crate::forms::FieldErrors;
use crate::page::{self, html, Chrome, PathId};
use crate::session::{form_sender, signed_in, to_login, SignedIn};

struct Row {
    id: Uuid,
    name: String,
    kind: String,
    branch: String,
    capacity: i32,
    active: bool,
}

/// The form as typed (the checkbox is present when ticked).
#[derive(Debug, Default, Deserialize)]
pub struct ResourceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    capacity: String,
    active: Option<String>,
    /// The resource being changed (from the address, not the form).
    #[serde(skip)]
    editing: Option<Uuid>,
}

#[derive(Template)]
#[template(path = "resources.html")]
struct ResourcesPage {
    chrome: Chrome,
    rows: Vec<Row>,
    manage: bool,
    /// Branches to put it at: id and name.
    branches: Vec<(String, String)>,
    /// The kinds in use, offered while typing.
    kinds: Vec<String>,
    form: ResourceForm,
    errors: FieldErrors,
    done: &'static str,
}

#[derive(Debug, Default, Deserialize)]
pub struct ResourcesQuery {
    change: Option<String>,
    done: Option<String>,
}

async fn render(
    state: &AppState,
    principal: &Principal,
    csrf: &str,
    status: StatusCode,
    form: ResourceForm,
    errors: FieldErrors,
    done: &'static str,
) -> Response {
    let (resources, locations) = match (
        state.app.resources(principal, None).await,
        state.app.locations(principal).await,
    ) {
        (Ok(resources), Ok(locations)) => (resources, locations),
        (Err(e), _) | (_, Err(e)) => return page::app_error(e, csrf),
    };
    let branch_name = |id: Uuid| {
        locations
            .iter()
            .find(|l| l.id == id)
            .map_or(String::new(), |l| l.name.clone())
    };
    let mut kinds: Vec<String> = resources.iter().map(|r| r.fields.resource_type.clone()).collect();
    kinds.sort();
    kinds.dedup();
    let page = ResourcesPage {
        chrome: Chrome::signed("Rooms and chairs", csrf, principal),
        rows: resources
            .iter()
            .map(|r| Row {
                id: r.id,
                name: r.fields.name.clone(),
                kind: r.fields.resource_type.clone(),
                branch: branch_name(r.fields.location_id),
                capacity: r.fields.capacity,
                active: r.fields.active,
            })
            .collect(),
        manage: principal.can(Permission::ResourcesManage),
        branches: locations
            .iter()
            .map(|l| (l.id.to_string(), l.name.clone()))
            .collect(),
        kinds,
        form,
        errors,
        done,
    };
    html(status, &page)
}

/// `GET /app/resources`.
pub async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<ResourcesQuery>, QueryRejection>,
) -> Response {
    let Some(SignedIn { principal, csrf }) = signed_in(&state, &headers).await else {
        return to_login(uri.path());
    };
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let done = match query.done.as_deref() {
        Some("added") => "Added: services that need its kind can now be booked with it.",
        Some("saved") => "Saved.",
        _ => "",
    };
    let form = match query.change.and_then(|id| id.parse::<Uuid>().ok()) {
        Some(id) => {
            let stored = state
                .app
                .resources(&principal, None)
                .await
                .map(|list| list.into_iter().find(|r| r.id == id));
            match stored {
                Ok(Some(r)) => ResourceForm {
                    location: r.fields.location_id.to_string(),
                    name: r.fields.name,
                    kind: r.fields.resource_type,
                    capacity: r.fields.capacity.to_string(),
                    active: r.fields.active.then(String::new),
                    editing: Some(id),
                    ..ResourceForm::default()
                },
                Ok(None) => return page::app_error(AppError::NotFound, &csrf),
                Err(e) => return page::app_error(e, &csrf),
            }
        }
        None => ResourceForm {
            capacity: "1".into(),
            ..ResourceForm::default()
        },
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

/// `POST /app/resources`.
pub async fn add(
    State(state): State<AppState>,
    origin: RequestOrigin,
    headers: HeaderMap,
    Form(form): Form<ResourceForm>,
) -> Response {
    save(state, origin, headers, form).await
}

/// `POST /app/resources/{id}`.
pub async fn change(
    State(state): State<AppState>,
    origin: RequestOrigin,
    headers: HeaderMap,
    PathId(id): PathId,
    Form(mut form): Form<ResourceForm>,
) -> Response {
    form.editing = Some(id);
    save(state, origin, headers, form).await
}

async fn save(
    state: AppState,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    form: ResourceForm,
) -> Response {
    let refused = (
        "Not saved",
        "The form had expired. Open the rooms and chairs page again and retry.",
    );
    let SignedIn { principal, csrf } =
        match form_sender(&state, &headers, &form.csrf, "/app/resources", refused).await {
            Ok(sender) => sender,
            Err(answer) => return answer,
        };
    let mut errors = FieldErrors::default();
    let capacity = form.capacity.trim().parse::<i32>().ok();
    if capacity.is_none() {
        errors.push("capacity", "Enter how many clients it takes at once, e.g. 1.");
    }
    let location = form.location.parse::<Uuid>().ok();
    if location.is_none() {
        errors.push("location", "Pick the branch it is at.");
    }
    if !errors.is_empty() {
        return render(
            &state,
            &principal,
            &csrf,
            StatusCode::UNPROCESSABLE_ENTITY,
            form,
            errors,
            "",
        )
        .await;
    }
    let input = ResourceInput {
        location_id: location,
        name: Some(form.name.clone()),
        resource_type: Some(form.kind.trim().to_owned()),
        capacity,
        active: form.editing.map(|_| form.active.is_some()),
        display_order: None,
    };
    let saved = match form.editing {
        Some(id) => state.app.update_resource(&principal, id, &input, &origin).await,
        None => state.app.create_resource(&principal, &input, &origin).await,
    };
    match saved {
        Ok(_) => {
            let done = if form.editing.is_some() { "saved" } else { "added" };
            Redirect::to(&format!("/app/resources?done={done}")).into_response()
        }
        Err(AppError::Validation(fields)) => {
            let errors = FieldErrors::from_use_case(&fields, |f| match f {
                "resource_type" => "kind".to_owned(),
                "location_id" => "location".to_owned(),
                other => other.to_owned(),
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
        Err(e) => page::app_error(e, &csrf),
    }
}
