//! Static assets, built into the binary and served under a name that carries
//! a hash of their content: a page always links the current file, and a
//! browser may keep it for a year. No file comes from another host.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// The most five-minute rows a day column has (24 hours).
pub const MAX_ROWS: usize = 24 * 12;

pub struct Asset {
    /// `app.<hash>.css`
    pub name: String,
    pub etag: String,
    pub content_type: &'static str,
    pub body: String,
}

fn fingerprinted(stem: &str, extension: &str, content_type: &'static str, body: String) -> Asset {
    let digest = Sha256::digest(body.as_bytes());
    let hash: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    Asset {
        name: format!("{stem}.{hash}.{extension}"),
        etag: format!("\"{hash}\""),
        content_type,
        body,
    }
}

/// The style sheet: the hand-written rules, then the placement classes of the
/// calendar grid (a page may not carry inline styles under the content
/// security policy, so every row start, span and row count is a class).
pub fn css() -> &'static Asset {
    static CSS: OnceLock<Asset> = OnceLock::new();
    CSS.get_or_init(|| {
        let mut body = String::from(include_str!("../static/app.css"));
        body.push_str("\n/* Calendar placement: five-minute rows. */\n");
        for n in 0..MAX_ROWS {
            body.push_str(&format!(".r{n}{{grid-row-start:{}}}", n + 1));
        }
        body.push('\n');
        for n in 1..=MAX_ROWS {
            body.push_str(&format!(".s{n}{{grid-row-end:span {n}}}"));
        }
        body.push('\n');
        for n in 1..=MAX_ROWS {
            body.push_str(&format!(".rows{n}{{grid-template-rows:repeat({n},var(--slot))}}"));
        }
        body.push('\n');
        fingerprinted("app", "css", "text/css; charset=utf-8", body)
    })
}

/// The script: progressive enhancement only; every page works without it.
pub fn js() -> &'static Asset {
    static JS: OnceLock<Asset> = OnceLock::new();
    JS.get_or_init(|| {
        fingerprinted(
            "app",
            "js",
            "text/javascript; charset=utf-8",
            include_str!("../static/app.js").to_owned(),
        )
    })
}

/// `GET /static/{name}`: the current asset under its fingerprinted name, with
/// a year's cache lifetime; a conditional request with its ETag gets 304.
pub async fn serve(Path(name): Path<String>, headers: HeaderMap) -> Response {
    let Some(asset) = [css(), js()].into_iter().find(|asset| asset.name == name) else {
        return crate::page::not_found().await.into_response();
    };
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == asset.etag));
    let mut response = if cached {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        asset.body.clone().into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    if let Ok(etag) = HeaderValue::from_str(&asset.etag) {
        headers.insert(header::ETAG, etag);
    }
    response
}
