//! The API document (OpenAPI 3.1, generated from the route annotations) and
//! a readable page of it.

use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use serde_json::Value;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "ftry API", description = "Salon and spa management: every endpoint, who may call it \
        (`security`: the permission each needs), and its answers. Errors are RFC 9457 problem documents."),
    modifiers(&SecuritySchemes),
    tags((name = "auth", description = "Sign-up, login, sessions"), (name = "users", description = "Staff accounts"),
         (name = "roles", description = "Roles and permissions"), (name = "tenant", description = "The business and its branches"),
         (name = "audit", description = "The audit log"), (name = "platform", description = "Platform operators"),
         (name = "catalog", description = "Services, categories, resources and tax classes"),
         (name = "staff", description = "Staff, the services they perform, their hours and time off"),
         (name = "clients", description = "Clients: profiles, search, duplicates and merging"),
         (name = "appointments", description = "Booking, the calendar and appointment statuses"),
         (name = "products", description = "Retail products and the stock of each branch"),
         (name = "public", description = "Online booking for clients, no login"),
         (name = "invoices", description = "Checkout: GST invoices, payments, credit notes, the ledger"),
         (name = "reports", description = "Revenue, GST, staff, appointments, the cash close"),
         (name = "webhooks", description = "Outbound webhooks for integrations and their delivery log"),
         (name = "messaging", description = "Reminder times, quiet hours, languages and the business's own wording of its messages"),
         (name = "hooks", description = "Delivery reports from message providers, checked by their signatures"),
         (name = "health", description = "Probes"))
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(description.to_owned()))
                    .build(),
            )
        };
        components.add_security_scheme(
            "bearer",
            bearer("A tenant user's access token (or the ftry_access cookie with X-CSRF-Token); the listed scope is the permission the route needs."),
        );
        components.add_security_scheme("platform", bearer("A platform operator's access token."));
    }
}

/// Every documented route; the router and the document both come from here.
pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(crate::health::router())
        .merge(crate::auth::router())
        .merge(crate::users::router())
        .merge(crate::roles::router())
        .merge(crate::tenant::router())
        .merge(crate::audit::router())
        .merge(crate::platform::router())
        .merge(crate::appointments::router())
        .merge(crate::public::router())
        .merge(crate::invoices::router())
        .merge(crate::reports::router())
        .merge(crate::clients::router())
        .merge(crate::catalog::router())
        .merge(crate::staff::router())
        .merge(crate::products::router())
        .merge(crate::webhooks::router())
        .merge(crate::hooks::router())
        .merge(crate::notifications::router())
        .merge(crate::messaging::router())
}

/// The document as JSON.
pub fn document() -> Value {
    let (_, api) = api_routes().split_for_parts();
    serde_json::to_value(&api).unwrap_or_default()
}

/// `/api/openapi.json` and `/api/docs`.
pub fn router(document: Value) -> Router<AppState> {
    let page = docs_page(&document);
    Router::new()
        .route(
            "/api/openapi.json",
            get(move || async move { axum::Json(document.clone()) }),
        )
        .route("/api/docs", get(move || async move { Html(page.clone()) }))
        .route(
            "/api/docs.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css")], DOCS_CSS).into_response() }),
        )
}

const DOCS_CSS: &str = "body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}\
h2{border-bottom:1px solid #ddd;margin-top:2.5rem}section{margin:1rem 0 1.5rem}\
code{background:#f4f4f4;padding:0 .25rem;border-radius:3px}.m{display:inline-block;min-width:4rem;font-weight:700}\
.get{color:#1565c0}.post{color:#2e7d32}.patch{color:#ef6c00}.delete{color:#c62828}.put{color:#6a1b9a}\
.who{color:#555;font-size:.9em}";

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Who may call an operation, in words.
fn who(operation: &Value) -> String {
    let requirement = operation["security"][0].as_object().cloned().unwrap_or_default();
    match requirement.iter().next() {
        None => "public".into(),
        Some((scheme, scopes)) if scheme == "platform" && scopes.as_array().is_some_and(|s| s.is_empty()) => {
            "platform operators".into()
        }
        Some((_, scopes)) => match scopes.as_array().and_then(|s| s.first()).and_then(Value::as_str) {
            Some(permission) => format!("needs <code>{}</code>", escape(permission)),
            None => "any signed-in user".into(),
        },
    }
}

fn docs_page(document: &Value) -> String {
    let mut by_tag: Vec<(String, Vec<String>)> = Vec::new();
    let paths = document["paths"].as_object().cloned().unwrap_or_default();
    for (path, item) in &paths {
        for (method, operation) in item.as_object().into_iter().flatten() {
            let tag = operation["tags"][0].as_str().unwrap_or("other").to_owned();
            let summary = operation["summary"].as_str().unwrap_or("");
            let description = operation["description"].as_str().unwrap_or("");
            let responses: Vec<String> = operation["responses"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(status, r)| {
                    format!(
                        "<code>{status}</code> {}",
                        escape(r["description"].as_str().unwrap_or(""))
                    )
                })
                .collect();
            let entry = format!(
                "<section><div><span class=\"m {method}\">{}</span><code>{}</code> <span class=\"who\">{}</span></div>\
                 <div>{}</div><div>{}</div><div class=\"who\">{}</div></section>",
                method.to_uppercase(),
                escape(path),
                who(operation),
                escape(summary),
                escape(description),
                responses.join(" · ")
            );
            match by_tag.iter_mut().find(|(t, _)| *t == tag) {
                Some((_, entries)) => entries.push(entry),
                None => by_tag.push((tag, vec![entry])),
            }
        }
    }
    let mut html = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>ftry API</title>\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <link rel=\"stylesheet\" href=\"/api/docs.css\"></head><body><h1>ftry API</h1>\
         <p>JSON over HTTP under <code>/api/v1</code>. The machine-readable document is \
         <a href=\"/api/openapi.json\">/api/openapi.json</a> (OpenAPI 3.1). Errors are \
         <code>application/problem+json</code> with a stable <code>code</code>.</p>",
    );
    for (tag, entries) in by_tag {
        html.push_str(&format!("<h2>{}</h2>{}", escape(&tag), entries.join("")));
    }
    html.push_str("</body></html>");
    html
}
