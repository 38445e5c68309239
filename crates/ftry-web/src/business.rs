//! The business itself: its name and how it charges GST (registration,
//! prices with or without tax, round-off, selling below zero stock), and its
//! branches (add one; change a branch's name, address or GSTIN). Each form
//! calls the API's use case (`PATCH /api/v1/tenant`, `POST /api/v1/locations`,
//! `PATCH /api/v1/locations/{id}`).

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{OriginalUri, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use ftry_api::access::RequestOrigin;
use ftry_api::AppState;
use ftry_app::signup::NewLocationRequest;
use ftry_app::tenant::{LocationUpdateRequest, TenantUpdateRequest};
use ftry_app::{AppError, Principal};
use ftry_domain::permissions::Permission;
use serde::Deserialize;
use uuid::Uuid;

use crate::forms::FieldErrors;
use crate::page::{self, html, Chrome, PathId};
use crate::session::{form_sender, signed_in, to_login, SignedIn};

/// The settings form, as typed (checkboxes are present when ticked).
#[derive(Debug, Default, Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default, rename = "business_name")]
    name: String,
    #[serde(default)]
    gst_registration: String,
    prices_include_tax: Option<String>,
    round_off: Option<String>,
    allow_negative_stock: Option<String>,
}

/// A branch's details, to add one or to change one.
#[derive(Debug, Default, Deserialize)]
pub struct BranchForm {
    #[serde(default)]
    csrf: String,
    #[serde(default, rename = "branch_name")]
    name: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    state_code: String,
    #[serde(default)]
    gstin: String,
}

struct BranchRow {
    id: Uuid,
    name: String,
    address: String,
    state: String,
    gstin: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct BusinessQuery {
    /// The branch whose details the form below shows for changing.
    branch: Option<String>,
    saved: Option<String>,
    /// Set to check the invoice ledger.
    verify: Option<String>,
}

/// Which form a refusal belongs to, with what was typed in it.
enum Typed {
    /// Nothing refused: the forms show what is stored (and this branch's
    /// details, to change them).
    Stored(Option<Uuid>),
    Settings(SettingsForm),
    NewBranch(BranchForm),
    Branch(Uuid, BranchForm),
}

#[derive(Template)]
#[template(path = "business.html")]
struct BusinessPage {
    chrome: Chrome,
    slug: String,
    plan: String,
    settings: SettingsForm,
    may_change: bool,
    manage_branches: bool,
    branches: Vec<BranchRow>,
    states: &'static [(&'static str, &'static str)],
    registrations: &'static [(&'static str, &'static str)],
    new_branch: BranchForm,
    /// The branch being changed, its state in words, and its form.
    editing: Option<(Uuid, String, BranchForm)>,
    errors: FieldErrors,
    /// Which form `errors` belongs to: "settings", "new" or "branch".
    refused: &'static str,
    saved: &'static str,
    /// Whether the person may check the ledger, and what a check found.
    may_verify: bool,
    ledger: String,
}

const REGISTRATIONS: [(&str, &str); 3] = [
    (
        "regular",
        "Registered (regular): GST is charged at the branches with a GSTIN",
    ),
    (
        "composition",
        "Composition scheme: bills of supply, no GST collected",
    ),
    ("unregistered", "Not registered: bills of supply, no GST"),
];

fn state_in_words(code: &str) -> String {
    ftry_domain::gstin::state_name(code).map_or(code.to_owned(), |name| format!("{name} ({code})"))
}

fn ticked(checkbox: &Option<String>) -> bool {
    checkbox.is_some()
}

async fn render(
    state: &AppState,
    principal: &Principal,
    csrf: &str,
    status: StatusCode,
    typed: Typed,
    errors: FieldErrors,
    (saved, ledger): (&'static str, String),
) -> Response {
    let tenant = match state.app.tenant(principal).await {
        Ok(tenant) => tenant,
        Err(e) => return page::app_error(e, csrf),
    };
    let locations = match state.app.locations(principal).await {
        Ok(locations) => locations,
        Err(e) => return page::app_error(e, csrf),
    };
    let stored_branch = |id: Uuid| {
        locations.iter().find(|l| l.id == id).map(|l| BranchForm {
            name: l.name.clone(),
            address: l.address.clone(),
            state_code: l.state_code.clone(),
            gstin: l.gstin.clone().unwrap_or_default(),
            ..BranchForm::default()
        })
    };
    let (settings, new_branch, editing, refused) = match typed {
        Typed::Settings(form) => (form, BranchForm::default(), None, "settings"),
        Typed::NewBranch(form) => (SettingsForm::default(), form, None, "new"),
        Typed::Branch(id, form) => (
            SettingsForm::default(),
            BranchForm::default(),
            Some((id, form)),
            "branch",
        ),
        Typed::Stored(editing) => (
            SettingsForm::default(),
            BranchForm::default(),
            editing.and_then(|id| stored_branch(id).map(|form| (id, form))),
            "",
        ),
    };
    // The settings form shows what is stored unless it was just refused.
    let settings = if refused == "settings" {
        settings
    } else {
        SettingsForm {
            name: tenant.name.clone(),
            gst_registration: tenant.gst_registration.clone(),
            prices_include_tax: tenant.prices_include_tax.then(String::new),
            round_off: tenant.round_off.then(String::new),
            allow_negative_stock: tenant.allow_negative_stock.then(String::new),
            ..SettingsForm::default()
        }
    };
    let editing = editing.map(|(id, form)| {
        let state = locations
            .iter()
            .find(|l| l.id == id)
            .map_or(String::new(), |l| state_in_words(&l.state_code));
        (id, state, form)
    });
    let page = BusinessPage {
        chrome: Chrome::signed("Business and billing", csrf, principal),
        slug: tenant.slug.clone(),
        plan: format!(
            "up to {} branches and {} accounts",
            tenant.max_locations, tenant.max_users
        ),
        settings,
        may_change: principal.can(Permission::TenantUpdate),
        manage_branches: principal.can(Permission::LocationsManage),
        branches: locations
            .iter()
            .map(|l| BranchRow {
                id: l.id,
                name: l.name.clone(),
                address: l.address.clone(),
                state: state_in_words(&l.state_code),
                gstin: l.gstin.clone().unwrap_or_default(),
            })
            .collect(),
        states: ftry_domain::gstin::states(),
        registrations: &REGISTRATIONS,
        new_branch,
        editing,
        errors,
        refused,
        saved,
        may_verify: principal.can(Permission::ReportsRevenue),
        ledger,
    };
    html(status, &page)
}

/// `GET /app/business`.
pub async fn show(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<BusinessQuery>, QueryRejection>,
) -> Response {
    let Some(SignedIn { principal, csrf }) = signed_in(&state, &headers).await else {
        return to_login(uri.path());
    };
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let saved = match query.saved.as_deref() {
        Some("settings") => "Saved: invoices finalized from now on follow these settings.",
        Some("branch") => "Branch saved.",
        _ => "",
    };
    let editing = query.branch.and_then(|b| b.parse().ok());
    if query.verify.is_some() {
        return match state.app.verify_ledger(&principal).await {
            Ok(report) => {
                let ledger = match report.broken {
                    None => format!(
                        "The ledger checks out: {} documents in {} series, each chained to the one before.",
                        report.documents_checked, report.series_checked
                    ),
                    Some(number) => format!(
                        "The ledger does not check out: document {number} is not what was issued. Call your operator."
                    ),
                };
                render(
                    &state,
                    &principal,
                    &csrf,
                    StatusCode::OK,
                    Typed::Stored(None),
                    FieldErrors::default(),
                    ("", ledger),
                )
                .await
            }
            Err(e) => page::app_error(e, &csrf),
        };
    }
    render(
        &state,
        &principal,
        &csrf,
        StatusCode::OK,
        Typed::Stored(editing),
        FieldErrors::default(),
        (saved, String::new()),
    )
    .await
}

const EXPIRED: (&str, &str) = (
    "Not saved",
    "The form had expired. Open the business page again and retry.",
);

/// `POST /app/business`: the business's name and billing settings; only
/// what changed is sent to the use case (and so kept in the audit log).
pub async fn save_settings(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Form(form): Form<SettingsForm>,
) -> Response {
    let SignedIn { principal, csrf } =
        match form_sender(&state, &headers, &form.csrf, "/app/business", EXPIRED).await {
            Ok(sender) => sender,
            Err(answer) => return answer,
        };
    let tenant = match state.app.tenant(&principal).await {
        Ok(tenant) => tenant,
        Err(e) => return page::app_error(e, &csrf),
    };
    let changed = |now: bool, wanted: bool| (now != wanted).then_some(wanted);
    let request = TenantUpdateRequest {
        name: (form.name != tenant.name).then(|| form.name.clone()),
        gst_registration: (form.gst_registration != tenant.gst_registration)
            .then(|| form.gst_registration.clone()),
        prices_include_tax: changed(tenant.prices_include_tax, ticked(&form.prices_include_tax)),
        round_off: changed(tenant.round_off, ticked(&form.round_off)),
        allow_negative_stock: changed(tenant.allow_negative_stock, ticked(&form.allow_negative_stock)),
    };
    match state.app.update_tenant(&principal, &request, &origin).await {
        Ok(_) => Redirect::to("/app/business?saved=settings").into_response(),
        Err(AppError::Validation(fields)) => {
            let errors = FieldErrors::from_use_case(&fields, |f| {
                if f == "name" {
                    "business_name".into()
                } else {
                    f.to_owned()
                }
            });
            render(
                &state,
                &principal,
                &csrf,
                StatusCode::UNPROCESSABLE_ENTITY,
                Typed::Settings(form),
                errors,
                ("", String::new()),
            )
            .await
        }
        Err(e) => page::app_error(e, &csrf),
    }
}

/// A use case's field as the branch forms name it.
fn branch_field(field: &str) -> String {
    if field == "name" {
        "branch_name".into()
    } else {
        field.to_owned()
    }
}

/// `POST /app/business/branches`: add a branch (within the plan), then set
/// its hours: nothing can be booked there until they are saved.
pub async fn add_branch(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Form(form): Form<BranchForm>,
) -> Response {
    let SignedIn { principal, csrf } =
        match form_sender(&state, &headers, &form.csrf, "/app/business", EXPIRED).await {
            Ok(sender) => sender,
            Err(answer) => return answer,
        };
    let request = NewLocationRequest {
        name: form.name.clone(),
        address: crate::forms::given(&form.address),
        state_code: form.state_code.clone(),
        gstin: crate::forms::given(&form.gstin),
        timezone: None,
    };
    let refusal = |status, errors| {
        render(
            &state,
            &principal,
            &csrf,
            status,
            Typed::NewBranch(form),
            errors,
            ("", String::new()),
        )
    };
    match state.app.add_location(&principal, &request, &origin).await {
        Ok(branch) => Redirect::to(&format!("/app/branch?location={}", branch.id)).into_response(),
        Err(AppError::Validation(fields)) => {
            let errors = FieldErrors::from_use_case(&fields, branch_field);
            refusal(StatusCode::UNPROCESSABLE_ENTITY, errors).await
        }
        Err(AppError::Conflict { detail, .. }) => {
            let mut errors = FieldErrors::default();
            errors.push("branch_name", crate::booking::sentence(&detail));
            refusal(StatusCode::CONFLICT, errors).await
        }
        Err(e) => page::app_error(e, &csrf),
    }
}

/// `POST /app/business/branches/{id}`: a branch's name, address and GSTIN
/// (an empty GSTIN removes it: that branch then issues bills of supply).
pub async fn save_branch(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    PathId(id): PathId,
    Form(form): Form<BranchForm>,
) -> Response {
    let SignedIn { principal, csrf } =
        match form_sender(&state, &headers, &form.csrf, "/app/business", EXPIRED).await {
            Ok(sender) => sender,
            Err(answer) => return answer,
        };
    let request = LocationUpdateRequest {
        name: Some(form.name.clone()),
        address: Some(form.address.trim().to_owned()),
        gstin: Some(crate::forms::given(&form.gstin)),
    };
    match state.app.update_location(&principal, id, &request, &origin).await {
        Ok(_) => Redirect::to("/app/business?saved=branch").into_response(),
        Err(AppError::Validation(fields)) => {
            let errors = FieldErrors::from_use_case(&fields, branch_field);
            render(
                &state,
                &principal,
                &csrf,
                StatusCode::UNPROCESSABLE_ENTITY,
                Typed::Branch(id, form),
                errors,
                ("", String::new()),
            )
            .await
        }
        Err(e) => page::app_error(e, &csrf),
    }
}
