//! Who may call which route. Each route declares its access once, in its
//! OpenAPI annotation (`security(...)`): `()` for public routes,
//! `("bearer" = [])` for any signed-in user, `("bearer" = ["<permission>"])`
//! for a permission, `("platform" = [])` for platform operators. The router
//! enforces exactly what the published document says, and a route that
//! declares nothing is refused.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ftry_app::{AppError, PlatformPrincipal, Principal};
use ftry_domain::permissions::Permission;
use ftry_store::audit::Origin;
use serde_json::Value;

use crate::client_ip::client_ip;
use crate::cookies;
use crate::error::ApiError;
use crate::observe::RequestId;
use crate::problem::Problem;
use crate::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    SignedIn,
    Permission(Permission),
    Platform,
}

/// (method, route template) → access, read from the OpenAPI document.
#[derive(Debug, Default, Clone)]
pub struct AccessTable(HashMap<(Method, String), Access>);

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("{method} {path} declares no security; every route must say who may call it")]
    Undeclared { method: String, path: String },
    #[error("{method} {path} declares unsupported security {security}")]
    Unsupported {
        method: String,
        path: String,
        security: String,
    },
}

impl AccessTable {
    pub fn from_openapi(document: &Value) -> Result<Self, AccessError> {
        let mut table = HashMap::new();
        let paths = document["paths"].as_object().cloned().unwrap_or_default();
        for (path, item) in paths {
            let Some(item) = item.as_object() else { continue };
            for (method, operation) in item {
                let Ok(method) = method.to_uppercase().parse::<Method>() else {
                    continue;
                };
                let access =
                    parse_security(&operation["security"]).ok_or_else(|| match &operation["security"] {
                        Value::Null => AccessError::Undeclared {
                            method: method.to_string(),
                            path: path.clone(),
                        },
                        other => AccessError::Unsupported {
                            method: method.to_string(),
                            path: path.clone(),
                            security: other.to_string(),
                        },
                    })?;
                table.insert((method, path.clone()), access);
            }
        }
        Ok(Self(table))
    }

    pub fn get(&self, method: &Method, path: &str) -> Option<Access> {
        let method = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        self.0.get(&(method.clone(), path.to_owned())).copied()
    }

    pub fn has_path(&self, path: &str) -> bool {
        self.0.keys().any(|(_, p)| p == path)
    }

    pub fn routes(&self) -> impl Iterator<Item = (&Method, &str, Access)> {
        self.0.iter().map(|((m, p), a)| (m, p.as_str(), *a))
    }
}

fn parse_security(security: &Value) -> Option<Access> {
    let [requirement] = security.as_array()?.as_slice() else {
        return None;
    };
    let requirement = requirement.as_object()?;
    if requirement.is_empty() {
        return Some(Access::Public);
    }
    let (scheme, scopes) = requirement.iter().next().filter(|_| requirement.len() == 1)?;
    let scopes: Vec<&str> = scopes.as_array()?.iter().filter_map(Value::as_str).collect();
    match (scheme.as_str(), scopes.as_slice()) {
        ("bearer", []) => Some(Access::SignedIn),
        ("bearer", [permission]) => permission.parse().ok().map(Access::Permission),
        ("platform", []) => Some(Access::Platform),
        _ => None,
    }
}

/// The credentials a request presents.
enum Credentials {
    Bearer(String),
    Cookie(String),
}

fn credentials(headers: &HeaderMap) -> Option<Credentials> {
    if let Some(value) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, token) = value.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| Credentials::Bearer(token.trim().to_owned()));
    }
    cookies::get(headers, cookies::ACCESS).map(Credentials::Cookie)
}

fn unauthenticated() -> Response {
    ApiError(AppError::unauthorized(
        "unauthenticated",
        "Sign in first: send `Authorization: Bearer <access token>` or the session cookie.",
    ))
    .into_response()
}

/// Middleware: authenticate and authorize per the route's declared access.
pub async fn authorize(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let Some(route) = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
    else {
        return next.run(request).await; // unmatched: the fallback answers 404
    };
    let Some(access) = state.access.get(request.method(), &route) else {
        if state.access.has_path(&route) {
            return next.run(request).await; // another method of a declared route: the router answers 405
        }
        tracing::error!(route, method = %request.method(), "route without declared access refused");
        return Problem::internal().into_response();
    };
    if access == Access::Public {
        return next.run(request).await;
    }
    let Some(credentials) = credentials(request.headers()) else {
        return unauthenticated();
    };
    let token = match credentials {
        Credentials::Bearer(token) => token,
        Credentials::Cookie(token) => {
            if !is_safe(request.method()) && !cookies::csrf_matches(request.headers()) {
                state.metrics.csrf_failures.inc();
                return Problem::new(
                    StatusCode::FORBIDDEN,
                    "csrf_failed",
                    "CSRF check failed",
                    "Send the value of the ftry_csrf cookie in the X-CSRF-Token header.",
                )
                .into_response();
            }
            token
        }
    };
    if access == Access::Platform {
        return match state.app.authenticate_platform(&token).await {
            Ok(principal) => {
                request.extensions_mut().insert(principal);
                next.run(request).await
            }
            Err(e) => ApiError(e).into_response(),
        };
    }
    let principal = match state.app.authenticate(&token).await {
        Ok(principal) => principal,
        Err(e) => return ApiError(e).into_response(),
    };
    if let Access::Permission(permission) = access {
        if let Err(e) = principal.require(permission) {
            return ApiError(e).into_response();
        }
    }
    tracing::Span::current().record("tenant_id", tracing::field::display(principal.tenant_id));
    tracing::Span::current().record("user_id", tracing::field::display(principal.user_id));
    request.extensions_mut().insert(principal);
    next.run(request).await
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The signed-in tenant user; present on every non-public tenant route.
pub struct Auth(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Auth)
            .ok_or_else(|| {
                tracing::error!("a handler asked for a principal on a route that does not authenticate");
                Problem::internal()
            })
    }
}

/// The signed-in platform operator.
pub struct Operator(pub PlatformPrincipal);

impl<S: Send + Sync> FromRequestParts<S> for Operator {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<PlatformPrincipal>()
            .cloned()
            .map(Operator)
            .ok_or_else(|| {
                tracing::error!("a handler asked for an operator on a route that does not authenticate one");
                Problem::internal()
            })
    }
}

/// Where the request came from, for the audit log.
pub struct RequestOrigin(pub Origin);

impl FromRequestParts<AppState> for RequestOrigin {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| {
                client_ip(peer.ip(), &parts.headers, &state.settings.http.trusted_proxies)
            });
        let user_agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(500).collect());
        let request_id = parts.extensions.get::<RequestId>().map(|id| id.0.clone());
        Ok(Self(Origin {
            ip,
            user_agent,
            request_id,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn security_declarations_map_to_access() {
        assert_eq!(parse_security(&json!([{}])), Some(Access::Public));
        assert_eq!(parse_security(&json!([{"bearer": []}])), Some(Access::SignedIn));
        assert_eq!(
            parse_security(&json!([{"bearer": ["users:read"]}])),
            Some(Access::Permission(Permission::UsersRead))
        );
        assert_eq!(parse_security(&json!([{"platform": []}])), Some(Access::Platform));
        assert_eq!(parse_security(&json!(null)), None);
        assert_eq!(parse_security(&json!([{"bearer": ["users:fly"]}])), None);
        assert_eq!(parse_security(&json!([{}, {"bearer": []}])), None);
    }

    #[test]
    fn a_route_without_security_is_refused() {
        let document = json!({"paths": {"/api/v1/x": {"get": {"responses": {}}}}});
        assert!(matches!(
            AccessTable::from_openapi(&document),
            Err(AccessError::Undeclared { .. })
        ));
    }
}
