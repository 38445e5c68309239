//! Signing up a new business from the browser: the business, its first
//! branch and its owner, through the same use case as
//! `POST /api/v1/auth/signup`; the owner is signed in and taken to the
//! setup pages (opening hours first: nothing can be booked without them).

use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use ftry_api::access::RequestOrigin;
use ftry_api::cookies;
use ftry_api::AppState;
use ftry_app::signup::{NewLocationRequest, NewOwnerRequest, SignupRequest};
use ftry_app::AppError;
use serde::Deserialize;

use crate::forms::FieldErrors;
use crate::page::{self, html, Chrome};
use crate::session::{form_csrf, same_secret, signed_in, FORM_CSRF};

/// The form as typed (the password is never sent back).
#[derive(Debug, Default, Deserialize)]
pub struct SignupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    business_name: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    branch: String,
    #[serde(default)]
    state_code: String,
    #[serde(default)]
    gstin: String,
    #[serde(default)]
    owner_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    password: String,
}

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage<'a> {
    chrome: Chrome,
    form_csrf: String,
    form: &'a SignupForm,
    states: &'static [(&'static str, &'static str)],
    errors: FieldErrors,
    summary: String,
}

fn render(
    status: StatusCode,
    headers: &HeaderMap,
    form: &SignupForm,
    errors: FieldErrors,
    summary: String,
) -> Response {
    let (csrf, cookie) = form_csrf(headers, "/signup");
    let mut response = html(
        status,
        &SignupPage {
            chrome: Chrome::new("Sign up", ""),
            form_csrf: csrf,
            form,
            states: ftry_domain::gstin::states(),
            errors,
            summary,
        },
    );
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// `GET /signup`.
pub async fn form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if signed_in(&state, &headers).await.is_some() {
        return Redirect::to("/app").into_response();
    }
    render(
        StatusCode::OK,
        &headers,
        &SignupForm::default(),
        FieldErrors::default(),
        String::new(),
    )
}

/// The use case's field names as the form's.
fn form_field(field: &str) -> String {
    match field {
        "location.name" => "branch",
        "location.state_code" => "state_code",
        "location.gstin" => "gstin",
        "owner.name" => "owner_name",
        "owner.email" => "email",
        "owner.phone" => "phone",
        "owner.password" => "password",
        other => other,
    }
    .to_owned()
}

/// `POST /signup`.
pub async fn create(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Form(form): Form<SignupForm>,
) -> Response {
    if !same_secret(&cookies::get(&headers, FORM_CSRF).unwrap_or_default(), &form.csrf) {
        state.metrics.csrf_failures.inc();
        return render(
            StatusCode::FORBIDDEN,
            &headers,
            &form,
            FieldErrors::default(),
            "This form had expired. Please send it again.".into(),
        );
    }
    let optional = |text: &str| Some(text.trim().to_owned()).filter(|t| !t.is_empty());
    let request = SignupRequest {
        business_name: form.business_name.clone(),
        slug: optional(&form.slug),
        location: NewLocationRequest {
            name: form.branch.clone(),
            address: None,
            state_code: form.state_code.clone(),
            gstin: optional(&form.gstin),
            timezone: None,
        },
        owner: NewOwnerRequest {
            name: form.owner_name.clone(),
            email: form.email.clone(),
            phone: optional(&form.phone),
            password: form.password.clone(),
        },
    };
    let created = match state.app.signup(&request, &origin).await {
        Ok(created) => created,
        Err(AppError::Validation(fields)) => {
            let errors = FieldErrors::from_use_case(&fields, form_field);
            return render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &headers,
                &form,
                errors,
                String::new(),
            );
        }
        Err(
            AppError::Conflict {
                code: "slug_taken",
                detail,
            }
            | AppError::ConflictWith {
                code: "slug_taken",
                detail,
                ..
            },
        ) => {
            let mut errors = FieldErrors::default();
            errors.push("slug", crate::booking::sentence(&detail));
            return render(StatusCode::CONFLICT, &headers, &form, errors, String::new());
        }
        Err(e) => return page::app_error(e, ""),
    };
    let tokens = created.tokens;
    let mut response = Redirect::to("/app/branch").into_response();
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
