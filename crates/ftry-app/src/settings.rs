//! Authentication settings (`[auth]`).

use std::fmt;

use ftry_domain::rate_limit::Quota;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// Lifetime of an access token.
    pub access_token_ttl_secs: i64,
    /// Lifetime of a login session (its refresh tokens rotate within it).
    pub refresh_token_ttl_secs: i64,
    /// HMAC keys that sign access tokens, by id. Empty = a key generated once
    /// and kept in the database.
    pub signing_keys: Vec<SigningKey>,
    /// Id of the key that signs new tokens (default: the last listed).
    pub active_key: Option<String>,
    /// Failed logins before the account is locked.
    pub max_failed_logins: i32,
    /// How long a locked account stays locked.
    pub lockout_secs: i64,
    /// Login attempts per account (any IP), on top of the per-IP auth limit.
    pub login_attempts_per_account: Quota,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    pub invite_ttl_hours: i64,
    pub password_reset_ttl_minutes: i64,
    /// Base of the links put in invitation and reset messages.
    pub public_url: String,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 7 * 24 * 3600,
            signing_keys: Vec::new(),
            active_key: None,
            max_failed_logins: 5,
            lockout_secs: 15 * 60,
            login_attempts_per_account: Quota {
                limit: 10,
                window_secs: 15 * 60,
            },
            // OWASP's recommended argon2id minimum.
            argon2_memory_kib: 19 * 1024,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            invite_ttl_hours: 72,
            password_reset_ttl_minutes: 60,
            public_url: "http://127.0.0.1:8080".into(),
        }
    }
}

#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SigningKey {
    pub id: String,
    pub secret: Secret,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey {{ id: {:?}, secret: REDACTED }}", self.id)
    }
}

/// A connection URL as it may be printed: its password, if any, replaced
/// by `REDACTED`; a URL that cannot be read is `REDACTED` whole.
pub fn redact_url(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("REDACTED"));
            url.to_string()
        }
        Ok(url) => url.to_string(),
        Err(_) => "REDACTED".into(),
    }
}

/// A secret string: printed and serialized as `REDACTED`.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("REDACTED")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("REDACTED")
    }
}
