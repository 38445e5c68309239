//! RFC 9457 problem details: every error ftry answers is
//! `application/problem+json` with a stable machine-readable `code`.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::observe::RequestId;

pub const CONTENT_TYPE: &str = "application/problem+json";

/// One invalid input field.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// A problem answer. Built by handlers and middleware; rendered once, by
/// [`render_problems`], which adds the request id.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    #[serde(skip)]
    pub status: StatusCode,
    pub code: &'static str,
    pub title: &'static str,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Members particular to this problem (e.g. the conflicting booking).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Problem {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code,
            title,
            detail: detail.into(),
            errors: Vec::new(),
            extra: serde_json::Map::new(),
        }
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Not found",
            "No resource exists at this address.",
        )
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            _ => format!("{} fields are invalid.", errors.len()),
        };
        Self {
            errors,
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "Invalid input",
                detail,
            )
        }
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal error",
            "Something went wrong on our side; it has been logged. Quote the request id when reporting it.",
        )
    }

    /// The generic problem for an error status that carried no problem of its own.
    pub fn for_status(status: StatusCode) -> Self {
        let (code, title, detail) = match status {
            StatusCode::NOT_FOUND => return Self::not_found(),
            StatusCode::METHOD_NOT_ALLOWED => (
                "method_not_allowed",
                "Method not allowed",
                "This address does not accept this method; the Allow header lists the ones it does.",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => (
                "payload_too_large",
                "Payload too large",
                "The request body is larger than this server accepts.",
            ),
            StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE => (
                "request_timeout",
                "Request timed out",
                "The request did not complete in time; it is safe to retry with the same Idempotency-Key.",
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                "unsupported_media_type",
                "Unsupported media type",
                "Send the body as application/json.",
            ),
            s if s.is_server_error() => return Self::internal(),
            _ => (
                "bad_request",
                "Bad request",
                "The request could not be understood.",
            ),
        };
        Self::new(status, code, title, detail)
    }

    fn body(&self, request_id: Option<&RequestId>) -> Vec<u8> {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(object) = value.as_object_mut() {
            object.insert("type".into(), format!("urn:ftry:problem:{}", self.code).into());
            object.insert("status".into(), self.status.as_u16().into());
            if let Some(id) = request_id {
                object.insert("request_id".into(), id.0.clone().into());
            }
        }
        serde_json::to_vec(&value).unwrap_or_default()
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, CONTENT_TYPE)],
            self.body(None),
        )
            .into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// Middleware: make every error answer a problem document carrying the
/// request id, whichever layer produced it (router 404/405, body limit,
/// timeout, panic, handler).
pub async fn render_problems(request: Request, next: Next) -> Response {
    let request_id = request.extensions().get::<RequestId>().cloned();
    let response = next.run(request).await;
    let status = response.status();
    if !status.is_client_error() && !status.is_server_error() {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let problem = match parts.extensions.remove::<Problem>() {
        Some(problem) => problem,
        // A handler that chose a JSON body for its error (the readiness probe)
        // or an HTML page (the web app's error pages) keeps it.
        None if is_json(&parts.headers) || is_html(&parts.headers) => {
            return Response::from_parts(parts, body)
        }
        None => Problem::for_status(status),
    };
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, problem.body(request_id.as_ref()).into())
}

fn is_html(headers: &http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"))
}

fn is_json(headers: &http::HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).is_some_and(|v| {
        let v = v.as_bytes();
        v.starts_with(b"application/json") || v.starts_with(CONTENT_TYPE.as_bytes())
    })
}

/// JSON body extractor whose every rejection is a precise problem.
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(json_problem(rejection)),
        }
    }
}

fn json_problem(rejection: JsonRejection) -> Problem {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Unsupported media type",
            "Send the body with Content-Type: application/json.",
        ),
        JsonRejection::JsonSyntaxError(e) => Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "Malformed JSON",
            format!("The body is not valid JSON: {}", e.body_text()),
        ),
        JsonRejection::JsonDataError(e) => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            "Invalid body",
            e.body_text(),
        ),
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Problem::for_status(StatusCode::PAYLOAD_TOO_LARGE)
        }
        other => Problem::new(other.status(), "bad_request", "Bad request", other.body_text()),
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// The shape of every error answer, for the API document.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ProblemDoc {
    /// `urn:ftry:problem:<code>`
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code, e.g. `validation_failed`.
    pub code: String,
    pub request_id: String,
    /// For `validation_failed`: each invalid field.
    pub errors: Option<Vec<FieldErrorDoc>>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct FieldErrorDoc {
    pub field: String,
    pub message: String,
}

/// Query-string extractor whose rejection is a precise problem.
pub struct Query<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for Query<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(rejection) => Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                "Invalid query string",
                rejection.body_text(),
            )),
        }
    }
}
