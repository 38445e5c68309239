//! The one error type of the use-case layer. The API turns each variant into
//! a precise problem answer; `Internal` is logged and never shown.

use chrono::{DateTime, Utc};

/// One invalid input field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl ToString) -> Self {
        Self {
            field: field.into(),
            message: message.to_string(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    #[error("not found")]
    NotFound,
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    /// A conflict whose answer names what it conflicts with (members added to the problem body).
    #[error("{detail}")]
    ConflictWith {
        code: &'static str,
        detail: String,
        details: serde_json::Map<String, serde_json::Value>,
    },
    #[error("{detail}")]
    Unauthorized { code: &'static str, detail: String },
    #[error("{detail}")]
    Forbidden { code: &'static str, detail: String },
    #[error("account locked until {until}")]
    Locked { until: DateTime<Utc> },
    #[error("{detail}")]
    TooManyRequests { detail: String, retry_after_secs: u64 },
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            detail: detail.into(),
        }
    }

    pub fn unauthorized(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Unauthorized {
            code,
            detail: detail.into(),
        }
    }

    pub fn forbidden(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Forbidden {
            code,
            detail: detail.into(),
        }
    }

    pub fn invalid(field: &str, message: impl ToString) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    /// The answer to any failed authentication: it never says which part was wrong.
    pub fn invalid_credentials() -> Self {
        Self::unauthorized("invalid_credentials", "The email or password is wrong.")
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(format!("database: {e}"))
    }
}

/// Collects field errors so a request learns everything wrong at once.
#[derive(Debug, Default)]
pub struct Validator(Vec<FieldError>);

impl Validator {
    /// Keep `value` when `check` passes, else record the error.
    pub fn check<T, E: ToString>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(e) => {
                self.0.push(FieldError::new(field, e));
                None
            }
        }
    }

    /// A trimmed text of 1..=max characters.
    pub fn text(&mut self, field: &str, value: &str, max: usize) -> Option<String> {
        let trimmed = value.trim();
        let length = trimmed.chars().count();
        if length == 0 {
            self.0.push(FieldError::new(field, "must not be empty"));
            None
        } else if length > max {
            self.0.push(FieldError::new(
                field,
                format!("must be at most {max} characters"),
            ));
            None
        } else if trimmed.chars().any(|c| c.is_control()) {
            self.0
                .push(FieldError::new(field, "must not contain control characters"));
            None
        } else {
            Some(trimmed.to_owned())
        }
    }

    /// An optional text of at most `max` characters (empty = none).
    pub fn optional_text(&mut self, field: &str, value: Option<&str>, max: usize) -> Option<String> {
        match value.map(str::trim) {
            None | Some("") => None,
            Some(v) => self.text(field, v, max),
        }
    }

    pub fn push(&mut self, field: &str, message: impl ToString) {
        self.0.push(FieldError::new(field, message));
    }

    pub fn finish(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.0))
        }
    }
}
