//! Rate limits per client IP (and, once requests are authenticated, per
//! principal) by route class. With Redis configured every node draws on one
//! shared budget; without it, or while Redis is down, each node keeps its own
//! budget in memory and serves on.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ftry_domain::rate_limit::{ceil_secs, decide, Decision, Quota};
use ftry_ops::redis::RedisHandle;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use serde::{Deserialize, Serialize};

use crate::client_ip::client_ip;
use crate::metrics::{ClassLabel, Metrics};
use crate::problem::Problem;
use crate::AppState;

/// Routes that accept a password or a one-time secret: the small budget
/// against guessing. Signed-in calls under /auth (me, sessions, logout) are
/// ordinary API calls.
fn is_credential_route(path: &str) -> bool {
    const ROUTES: [&str; 6] = [
        "/api/v1/auth/login",
        "/api/v1/auth/signup",
        "/api/v1/auth/refresh",
        "/api/v1/auth/password-reset",
        "/api/v1/auth/invitations/",
        "/api/v1/platform/auth/",
    ];
    ROUTES.iter().any(|route| path.starts_with(route))
}

/// Which budget a route draws on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteClass {
    /// Login, sign-up, password reset: small budgets against guessing.
    Auth,
    /// The JSON API.
    Api,
    /// Public pages (booking pages, docs).
    Public,
    /// Static assets.
    Static,
}

impl RouteClass {
    /// The class of a request: the submissions of the signed-out forms (sign
    /// in, sign up, accept an invitation, reset a password) count like the
    /// API's credential routes; everything else goes by its path.
    pub fn of_request(method: &axum::http::Method, path: &str) -> Option<Self> {
        if matches!(
            path,
            "/login" | "/signup" | "/invite/accept" | "/password-reset" | "/platform/login"
        ) && method == axum::http::Method::POST
        {
            return Some(Self::Auth);
        }
        Self::of(path)
    }

    /// The class of a path; `None` for probes, which are never limited.
    pub fn of(path: &str) -> Option<Self> {
        if path.starts_with("/health/") {
            None
        } else if is_credential_route(path) {
            Some(Self::Auth)
        } else if path.starts_with("/api/v1/public/") {
            Some(Self::Public)
        } else if path.starts_with("/api/") || path == "/app" || path.starts_with("/app/") {
            // The web app's pages are signed-in work, like the API's.
            Some(Self::Api)
        } else if path.starts_with("/static/") {
            Some(Self::Static)
        } else {
            Some(Self::Public)
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::Api => "api",
            Self::Public => "public",
            Self::Static => "static",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitSettings {
    pub enabled: bool,
    pub auth: Quota,
    pub api: Quota,
    pub public: Quota,
    #[serde(rename = "static")]
    pub static_files: Quota,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        let quota = |limit, window_secs| Quota { limit, window_secs };
        Self {
            enabled: true,
            auth: quota(20, 60),
            api: quota(600, 60),
            public: quota(300, 60),
            static_files: quota(2000, 60),
        }
    }
}

impl RateLimitSettings {
    fn quota(&self, class: RouteClass) -> Quota {
        match class {
            RouteClass::Auth => self.auth,
            RouteClass::Api => self.api,
            RouteClass::Public => self.public,
            RouteClass::Static => self.static_files,
        }
    }
}

// GCRA as in ftry_domain::rate_limit::decide, run atomically inside Redis on
// Redis's own clock so every node sees the same time.
const GCRA_SCRIPT: &str = r"
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - window
if now < allow_at then
  return {0, allow_at - now, tat - now}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.floor((new_tat - now) / 1000) + 1)
return {1, math.floor((window - (new_tat - now)) / interval), new_tat - now}
";

pub struct RateLimiter {
    settings: RateLimitSettings,
    redis: Option<RedisHandle>,
    script: redis::Script,
    local: Mutex<HashMap<String, u64>>,
    fallbacks: Counter,
    rejections: Family<ClassLabel, Counter>,
}

impl RateLimiter {
    /// `metrics` receives the count of refusals and of in-process fallbacks.
    pub fn new(settings: RateLimitSettings, redis: Option<RedisHandle>, metrics: &Metrics) -> Self {
        Self {
            settings,
            redis,
            script: redis::Script::new(GCRA_SCRIPT),
            local: Mutex::new(HashMap::new()),
            fallbacks: metrics.rate_limit_fallbacks.clone(),
            rejections: metrics.rate_limit_rejections.clone(),
        }
    }

    /// Decisions made in-process because Redis was configured but unreachable.
    pub fn fallbacks(&self) -> u64 {
        self.fallbacks.get()
    }

    /// Count one refusal against the budget it drew on.
    fn reject(&self, class: &'static str) {
        self.rejections.get_or_create(&ClassLabel { class }).inc();
    }

    pub async fn check(&self, class: RouteClass, principal: &str) -> (Quota, Decision) {
        let quota = self.settings.quota(class);
        let decision = self
            .decide(quota, &format!("ftry:rl:{}:{principal}", class.name()))
            .await;
        (quota, decision)
    }

    /// Charge one request to a named budget of its own (per account, say);
    /// a refusal is the use-case error the API answers with 429.
    pub async fn charge(&self, quota: Quota, key: &str) -> Result<(), ftry_app::AppError> {
        match self.decide(quota, &format!("ftry:rl:{key}")).await {
            Decision::Allowed { .. } => Ok(()),
            Decision::Refused {
                retry_after_micros, ..
            } => {
                self.reject("account");
                let retry_after_secs = ceil_secs(retry_after_micros).max(1);
                Err(ftry_app::AppError::TooManyRequests {
                    detail: format!("Too many attempts for this account; retry in {retry_after_secs} s."),
                    retry_after_secs,
                })
            }
        }
    }

    async fn decide(&self, quota: Quota, key: &str) -> Decision {
        if let Some(redis) = &self.redis {
            match self.check_in_redis(redis, quota, key).await {
                Ok(decision) => return decision,
                Err(error) => {
                    self.fallbacks.inc();
                    tracing::debug!(error, "rate limit decided in-process");
                }
            }
        }
        self.check_locally(quota, key.to_owned())
    }

    async fn check_in_redis(&self, redis: &RedisHandle, quota: Quota, key: &str) -> Result<Decision, String> {
        let (allowed, first, reset): (u8, u64, u64) = redis
            .run("rate_limit", |mut c| {
                let mut invocation = self.script.key(key);
                invocation
                    .arg(quota.emission_interval_micros())
                    .arg(quota.window_micros());
                async move { invocation.invoke_async(&mut c).await }
            })
            .await?;
        Ok(if allowed == 1 {
            Decision::Allowed {
                remaining: u32::try_from(first).unwrap_or(u32::MAX),
                reset_micros: reset,
                new_tat: 0,
            }
        } else {
            Decision::Refused {
                retry_after_micros: first,
                reset_micros: reset,
            }
        })
    }

    fn check_locally(&self, quota: Quota, key: String) -> Decision {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
        let mut budgets = self.local.lock().unwrap_or_else(|p| p.into_inner());
        if budgets.len() > 100_000 {
            budgets.retain(|_, tat| *tat > now);
        }
        let stored = budgets.get(&key).copied().unwrap_or(0);
        let decision = decide(quota, stored, now);
        if let Decision::Allowed { new_tat, .. } = decision {
            budgets.insert(key, new_tat);
        }
        decision
    }
}

/// Middleware: charge the request to its client's budget.
pub async fn limit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let Some(class) = RouteClass::of_request(request.method(), request.uri().path()) else {
        return next.run(request).await;
    };
    if !state.settings.rate_limit.enabled {
        return next.run(request).await;
    }
    let ip = client_ip(peer.ip(), request.headers(), &state.settings.http.trusted_proxies);
    let (quota, decision) = state.limiter.check(class, &format!("ip:{ip}")).await;
    match decision {
        Decision::Allowed {
            remaining,
            reset_micros,
            ..
        } => {
            let mut response = next.run(request).await;
            set_headers(response.headers_mut(), quota, remaining, reset_micros);
            response
        }
        Decision::Refused {
            retry_after_micros,
            reset_micros,
        } => {
            state.limiter.reject(class.name());
            let retry_after = ceil_secs(retry_after_micros).max(1);
            let problem = Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many requests",
                format!(
                    "The {} limit of {quota} for your address is used up; retry in {retry_after} s.",
                    class.name()
                ),
            );
            let mut response = problem.into_response();
            let headers = response.headers_mut();
            set_headers(headers, quota, 0, reset_micros);
            headers.insert("retry-after", HeaderValue::from(retry_after));
            response
        }
    }
}

/// `RateLimit` and `RateLimit-Policy` as in the IETF httpapi draft.
fn set_headers(headers: &mut HeaderMap, quota: Quota, remaining: u32, reset_micros: u64) {
    let policy = format!("{};w={}", quota.limit, quota.window_secs);
    let state = format!(
        "limit={}, remaining={remaining}, reset={}",
        quota.limit,
        ceil_secs(reset_micros)
    );
    for (name, value) in [("ratelimit-policy", policy), ("ratelimit", state)] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_are_never_limited_and_auth_has_its_own_class() {
        assert_eq!(RouteClass::of("/health/ready"), None);
        assert_eq!(RouteClass::of("/api/v1/auth/login"), Some(RouteClass::Auth));
        assert_eq!(
            RouteClass::of("/api/v1/auth/password-reset/confirm"),
            Some(RouteClass::Auth)
        );
        assert_eq!(
            RouteClass::of("/api/v1/platform/auth/login"),
            Some(RouteClass::Auth)
        );
        assert_eq!(RouteClass::of("/api/v1/auth/me"), Some(RouteClass::Api));
        assert_eq!(RouteClass::of("/api/v1/auth/sessions"), Some(RouteClass::Api));
        assert_eq!(RouteClass::of("/api/v1/clients"), Some(RouteClass::Api));
        assert_eq!(
            RouteClass::of("/api/v1/public/lotus/bookings"),
            Some(RouteClass::Public)
        );
        assert_eq!(RouteClass::of("/static/app.css"), Some(RouteClass::Static));
        assert_eq!(RouteClass::of("/app/calendar"), Some(RouteClass::Api));
        assert_eq!(RouteClass::of("/application"), Some(RouteClass::Public));
        let (get, post) = (axum::http::Method::GET, axum::http::Method::POST);
        assert_eq!(RouteClass::of_request(&post, "/login"), Some(RouteClass::Auth));
        assert_eq!(RouteClass::of_request(&get, "/login"), Some(RouteClass::Public));
        assert_eq!(RouteClass::of_request(&post, "/signup"), Some(RouteClass::Auth));
        assert_eq!(RouteClass::of_request(&get, "/signup"), Some(RouteClass::Public));
        assert_eq!(
            RouteClass::of_request(&post, "/password-reset"),
            Some(RouteClass::Auth)
        );
        assert_eq!(
            RouteClass::of_request(&post, "/invite/accept"),
            Some(RouteClass::Auth)
        );
        assert_eq!(
            RouteClass::of_request(&post, "/platform/login"),
            Some(RouteClass::Auth)
        );
        assert_eq!(RouteClass::of("/lotus-demo"), Some(RouteClass::Public));
    }
}
