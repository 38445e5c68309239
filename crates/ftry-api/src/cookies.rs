//! Browser sessions: httpOnly, Secure, SameSite cookies, and the
//! double-submit CSRF token that unsafe cookie-authenticated requests carry.

use axum::http::{HeaderMap, HeaderValue};

pub const ACCESS: &str = "ftry_access";
pub const REFRESH: &str = "ftry_refresh";
pub const CSRF: &str = "ftry_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A cookie's value from the request.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The CSRF header equals the CSRF cookie (and both exist).
pub fn csrf_matches(headers: &HeaderMap) -> bool {
    let header = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    match (header, get(headers, CSRF)) {
        (Some(header), Some(cookie)) => {
            !cookie.is_empty() && constant_time_eq(header.as_bytes(), cookie.as_bytes())
        }
        _ => false,
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `Set-Cookie` values for a new browser session.
pub fn session(
    access: &str,
    access_ttl: i64,
    refresh: &str,
    refresh_ttl: i64,
    csrf: &str,
) -> Vec<HeaderValue> {
    [
        format!("{ACCESS}={access}; Path=/; Max-Age={access_ttl}; HttpOnly; Secure; SameSite=Lax"),
        format!("{REFRESH}={refresh}; Path=/api/v1/auth; Max-Age={refresh_ttl}; HttpOnly; Secure; SameSite=Strict"),
        format!("{CSRF}={csrf}; Path=/; Max-Age={refresh_ttl}; Secure; SameSite=Strict"),
    ]
    .into_iter()
    .filter_map(|c| HeaderValue::from_str(&c).ok())
    .collect()
}

/// `Set-Cookie` values that end a browser session.
pub fn cleared() -> Vec<HeaderValue> {
    session("", 0, "", 0, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert("cookie", "ftry_csrf_x=1; ftry_csrf=abc; other=2".parse().unwrap());
        assert_eq!(get(&headers, CSRF), Some("abc".into()));
        assert_eq!(get(&headers, ACCESS), None);
    }

    #[test]
    fn csrf_needs_the_header_to_equal_the_cookie() {
        let mut headers = HeaderMap::new();
        headers.insert("cookie", "ftry_csrf=abc".parse().unwrap());
        assert!(!csrf_matches(&headers));
        headers.insert(CSRF_HEADER, "abd".parse().unwrap());
        assert!(!csrf_matches(&headers));
        headers.insert(CSRF_HEADER, "abc".parse().unwrap());
        assert!(csrf_matches(&headers));
    }
}
