//! Use-case errors as problem answers.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ftry_app::AppError;

use crate::problem::{FieldError, Problem};

/// Lets handlers return `Result<_, ApiError>` and use `?` on use cases.
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        Self(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = match self.0 {
            AppError::Validation(errors) => Problem::validation(
                errors
                    .into_iter()
                    .map(|e| FieldError {
                        field: e.field,
                        message: e.message,
                    })
                    .collect(),
            ),
            AppError::NotFound => Problem::not_found(),
            AppError::Conflict { code, detail } => Problem::new(StatusCode::CONFLICT, code, "Conflict", detail),
            AppError::ConflictWith { code, detail, details } => Problem {
                extra: details,
                ..Problem::new(StatusCode::CONFLICT, code, "Conflict", detail)
            },
            AppError::Unauthorized { code, detail } => {
                let mut response =
                    Problem::new(StatusCode::UNAUTHORIZED, code, "Not authenticated", detail).into_response();
                response
                    .headers_mut()
                    .insert("www-authenticate", HeaderValue::from_static("Bearer realm=\"ftry\""));
                return response;
            }
            AppError::Forbidden { code, detail } => Problem::new(StatusCode::FORBIDDEN, code, "Forbidden", detail),
            AppError::Locked { until } => Problem::new(
                StatusCode::LOCKED,
                "account_locked",
                "Account locked",
                format!(
                    "Too many failed logins: the account is locked until {}. Try again later or ask an administrator to unlock it.",
                    until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
            ),
            AppError::TooManyRequests {
                detail,
                retry_after_secs,
            } => {
                let mut response =
                    Problem::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "Too many requests", detail)
                        .into_response();
                response.headers_mut().insert("retry-after", HeaderValue::from(retry_after_secs));
                return response;
            }
            AppError::Internal(message) => {
                tracing::error!(error = %message, "request failed");
                Problem::internal()
            }
        };
        problem.into_response()
    }
}
