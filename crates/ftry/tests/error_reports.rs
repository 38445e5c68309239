//! Error reports to a Sentry-compatible endpoint: a stand-in speaking the
//! envelope protocol receives one report per failed request, tagged with the
//! request's identifiers and free of the client's personal data; refused
//! requests (4xx) report nothing.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::HeaderMap;
use nix::sys::signal::Signal;
use serde_json::{json, Value};
use sqlx::Executor;
use support::metrics::{sample, scrape_until};
use support::{free_port, traversable_tempdir, FtryProcess, TestDb};

/// One request the endpoint received: the auth header, the content type and
/// the body.
type Delivery = (String, String, Vec<u8>);

#[derive(Clone, Default)]
struct Endpoint(Arc<Mutex<Vec<Delivery>>>);

impl Endpoint {
    /// Each received envelope's event (its third line).
    fn events(&self) -> Vec<Value> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(_, _, body)| {
                let text = std::str::from_utf8(body).unwrap();
                let lines: Vec<&str> = text.lines().collect();
                assert_eq!(lines.len(), 3, "header, item header, event: {text}");
                let item: Value = serde_json::from_str(lines[1]).unwrap();
                assert_eq!(item["type"], "event");
                assert_eq!(item["length"], lines[2].len());
                serde_json::from_str(lines[2]).unwrap()
            })
            .collect()
    }
}

async fn endpoint(received: Endpoint) -> u16 {
    let app = axum::Router::new().route(
        "/api/42/envelope/",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let received = received.clone();
            async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .map(|v| v.to_str().unwrap().to_owned())
                        .unwrap_or_default()
                };
                received.0.lock().unwrap().push((
                    header("x-sentry-auth"),
                    header("content-type"),
                    body.to_vec(),
                ));
                axum::Json(json!({"id": "ok"}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port
}

#[tokio::test]
async fn a_failed_request_is_reported_once_with_its_identifiers_and_no_personal_data() {
    const PHONE_DIGITS: &str = "9876543210";
    const EMAIL: &str = "meera.iyer.report@example.com";
    const CLIENT_NAME: &str = "Meera Reportname";

    let db = TestDb::create().await;
    let received = Endpoint::default();
    let port = endpoint(received.clone()).await;
    let root = traversable_tempdir();
    let admin_port = free_port();
    let envs = [
        ("DATABASE_URL", db.app_url()),
        ("FTRY_DATABASE_OWNER_URL", db.owner_url()),
        ("FTRY_ADMIN_ADDR", format!("127.0.0.1:{admin_port}")),
        ("FTRY_AUTH_ARGON2_MEMORY_KIB", "1024".into()),
        ("FTRY_AUTH_ARGON2_ITERATIONS", "1".into()),
        ("SENTRY_DSN", format!("http://publickey7@127.0.0.1:{port}/42")),
        ("FTRY_ERROR_REPORTING_ENVIRONMENT", "staging".into()),
    ];
    let mut ftry = FtryProcess::serve(&envs, root.path());
    ftry.wait_ready(Duration::from_secs(60)).await;
    let client = reqwest::Client::new();
    let signup: Value = client
        .post(ftry.url("/api/v1/auth/signup"))
        .json(&json!({
            "business_name": "Reported Salon",
            "location": {"name": "Main", "state_code": "27"},
            "owner": {"name": "Asha Rao", "email": "asha@example.com", "password": "owner-password-5521"},
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = signup["access_token"].as_str().unwrap().to_owned();
    let tenant = signup["tenant"]["id"].as_str().unwrap().to_owned();
    let user = signup["user_id"].as_str().unwrap().to_owned();
    let created = client
        .post(ftry.url("/api/v1/clients"))
        .bearer_auth(&token)
        .json(&json!({"name": CLIENT_NAME, "phone": format!("+91{PHONE_DIGITS}"), "email": EMAIL}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    // A refusal is the caller's error: nothing is reported.
    let refused = client
        .post(ftry.url("/api/v1/clients"))
        .bearer_auth(&token)
        .header("x-request-id", "refused-duplicate")
        .json(&json!({"name": CLIENT_NAME, "phone": format!("+91{PHONE_DIGITS}")}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 409);

    // The clients table goes missing under the service: the search fails.
    let mut admin = db.admin().await;
    admin
        .execute("ALTER TABLE clients RENAME TO clients_elsewhere")
        .await
        .unwrap();
    let failed = client
        .get(ftry.url("/api/v1/clients?q=Meera"))
        .bearer_auth(&token)
        .header("x-request-id", "failed-search")
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), 500);

    let started = Instant::now();
    while received.0.lock().unwrap().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(30), "no report arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The endpoint has the report; ftry counts it once the answer is back.
    let metrics = scrape_until(admin_port, "one report sent", |text| {
        sample(text, "ftry_error_reports_total", r#"outcome="sent""#) == Some(1.0)
    })
    .await;
    assert_eq!(
        sample(&metrics, "ftry_error_reports_total", r#"outcome="failed""#),
        Some(0.0)
    );
    assert_eq!(
        sample(&metrics, "ftry_error_reports_total", r#"outcome="dropped""#),
        Some(0.0)
    );

    ftry.signal(Signal::SIGTERM);
    assert_eq!(ftry.wait_exit(Duration::from_secs(30)).code(), Some(0));

    let events = received.events();
    assert_eq!(
        events.len(),
        1,
        "one report for the one failed request: {events:#?}"
    );
    let (auth, content_type, body) = received.0.lock().unwrap()[0].clone();
    assert!(
        auth.starts_with("Sentry sentry_version=7, sentry_client=ftry/"),
        "{auth}"
    );
    assert!(auth.ends_with(", sentry_key=publickey7"), "{auth}");
    assert_eq!(content_type, "application/x-sentry-envelope");
    let event = &events[0];
    assert_eq!(event["level"], "error");
    assert_eq!(event["environment"], "staging");
    assert!(event["release"].as_str().unwrap().starts_with("ftry@"), "{event}");
    assert_eq!(event["logger"], "ftry_api::error");
    assert_eq!(event["message"]["formatted"], "request failed");
    assert!(
        event["extra"]["error"].as_str().unwrap().contains("clients"),
        "the error itself is reported: {event}"
    );
    let tags = &event["tags"];
    assert_eq!(tags["request_id"], "failed-search");
    assert_eq!(tags["route"], "/api/v1/clients");
    assert_eq!(tags["method"], "GET");
    assert_eq!(tags["tenant_id"], tenant.as_str());
    assert_eq!(tags["user_id"], user.as_str());
    assert_eq!(event["event_id"].as_str().unwrap().len(), 32);

    let text = String::from_utf8(body).unwrap();
    for personal in [PHONE_DIGITS, EMAIL, "Meera", "Reportname", "asha@example.com"] {
        assert!(!text.contains(personal), "{personal} reached a report: {text}");
    }
}

#[tokio::test]
async fn a_dsn_that_cannot_be_understood_stops_startup() {
    let root = traversable_tempdir();
    let output = support::ftry_command()
        .args(["config", "check"])
        .current_dir(root.path())
        .env("FTRY_ERROR_REPORTING_DSN", "errors.example.com/42")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("error_reporting.dsn"), "{stderr}");
    assert!(
        stderr.contains("expected a DSN such as https://<key>@"),
        "{stderr}"
    );

    let shown = support::ftry_command()
        .args(["config", "check"])
        .current_dir(root.path())
        .env("SENTRY_DSN", "https://secretkey99@errors.example.com/42")
        .output()
        .unwrap();
    assert_eq!(shown.status.code(), Some(0));
    let printed = String::from_utf8(shown.stdout).unwrap();
    assert!(
        printed.contains("dsn = \"https://REDACTED@errors.example.com/42\""),
        "{printed}"
    );
    assert!(!printed.contains("secretkey99"), "{printed}");
}
