//! Outbound webhooks against a local receiver: an endpoint gets exactly the
//! events it subscribed to, signed with its secret; a server error is
//! retried with the same body and delivery id; an endpoint that keeps
//! failing is turned off with an audit event and can be turned back on; bad
//! endpoints and events are refused, and only owners and admins manage them.

mod support;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;
use support::salon::{day, pune, Salon, Service, Setup};
use support::{body, expect, invalid, problem, send, TestApp};

/// One request the receiver took.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

/// A webhook receiver on a free port: records every request and answers
/// with the scripted statuses, then 200.
#[derive(Clone, Default)]
struct Receiver {
    received: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<u16>>>,
    /// Answer every request with this, once the script is used up.
    always: Arc<Mutex<Option<u16>>>,
}

impl Receiver {
    async fn start(&self) -> u16 {
        let state = self.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let state = state.clone();
            async move {
                state.received.lock().unwrap().push(Received {
                    path: uri.path().to_owned(),
                    headers,
                    body,
                });
                let scripted = state.script.lock().unwrap().pop_front();
                let status = scripted.or(*state.always.lock().unwrap()).unwrap_or(200);
                StatusCode::from_u16(status).unwrap()
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        port
    }

    fn at(&self, path: &str) -> Vec<Received> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// Wait (without blocking the runtime the service runs on) for `count`
    /// requests at `path`.
    async fn wait_for(&self, path: &str, count: usize) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let seen = self.at(path);
            if seen.len() >= count {
                return seen;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{} of {count} requests reached {path}",
                seen.len()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

fn header<'a>(request: &'a Received, name: &str) -> &'a str {
    request.headers.get(name).map_or("", |v| v.to_str().unwrap())
}

/// Check `Ftry-Signature` the way a receiver would: recompute the HMAC of
/// "<t>.<body>" with the secret and compare.
fn assert_signed(request: &Received, secret: &str) {
    let signature = header(request, "ftry-signature");
    let (t, v1) = signature
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
        .unwrap_or_else(|| panic!("malformed signature {signature:?}"));
    let sent_at: i64 = t.parse().unwrap();
    assert!(
        (chrono::Utc::now().timestamp() - sent_at).abs() < 60,
        "the timestamp is now"
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&request.body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v1, expected, "the signature verifies with the endpoint's secret");
}

async fn app_with_worker(adjust: impl FnOnce(&mut ftry::config::Config)) -> TestApp {
    TestApp::fresh_with(|config| {
        config.rate_limit.enabled = false;
        config.jobs.run_in_serve = true;
        config.jobs.poll_interval_ms = 50;
        config.jobs.retry_base_secs = 1;
        config.jobs.retry_max_secs = 1;
        config.webhooks.allow_local_endpoints = true;
        adjust(config);
    })
    .await
}

async fn salon(app: &TestApp) -> Salon {
    Salon::create(
        app,
        Setup {
            name: "Hook Salon",
            stylists: 1,
            categories: &[],
            services: &[Service::new("Haircut", 30, 50_000)],
            chairs: 0,
        },
    )
    .await
}

async fn register(app: &TestApp, salon: &Salon, url: &str, events: &[&str]) -> Value {
    body(
        send(
            app,
            salon.token(),
            Method::POST,
            "/api/v1/webhooks",
            Some(&json!({"url": url, "events": events, "description": "CRM sync"})),
        )
        .await,
        201,
    )
    .await
}

async fn book(app: &TestApp, salon: &Salon, days: i64, hour: u32) -> String {
    let booked = body(
        send(
            app,
            salon.token(),
            Method::POST,
            "/api/v1/appointments",
            Some(&json!({
                "location_id": salon.location, "client_id": salon.client, "start": pune(day(days), hour, 0),
                "items": [{"service_id": salon.services[0], "staff_id": salon.stylists[0]}],
            })),
        )
        .await,
        201,
    )
    .await;
    booked["id"].as_str().unwrap().to_owned()
}

async fn get(app: &TestApp, salon: &Salon, path: &str) -> Value {
    body(send(app, salon.token(), Method::GET, path, None).await, 200).await
}

/// The endpoint's delivery log once it holds `count` deliveries, the newest
/// delivered (its outcome is recorded after the receiver answered).
async fn wait_delivered(app: &TestApp, salon: &Salon, endpoint: &str, count: usize) -> Value {
    let started = Instant::now();
    loop {
        let log = get(app, salon, &format!("/api/v1/webhooks/{endpoint}/deliveries")).await;
        if log["items"].as_array().unwrap().len() == count && log["items"][0]["status"] == "delivered" {
            return log;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{log}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn an_endpoint_gets_the_events_it_subscribed_to_signed_and_a_server_error_is_retried_with_the_same_body(
) {
    let receiver = Receiver::default();
    let port = receiver.start().await;
    let app = app_with_worker(|_| {}).await;
    let salon = salon(&app).await;

    let visits = register(
        &app,
        &salon,
        &format!("http://127.0.0.1:{port}/visits"),
        &["appointment.*"],
    )
    .await;
    let secret = visits["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_") && secret.len() == 49, "{secret}");
    assert_eq!(visits["events"], json!(["appointment.*"]));
    assert_eq!(visits["enabled"], true);
    let clients = register(
        &app,
        &salon,
        &format!("http://127.0.0.1:{port}/clients"),
        &["client.created"],
    )
    .await;
    let clients_secret = clients["secret"].as_str().unwrap().to_owned();
    assert_ne!(secret, clients_secret);

    // The first attempt meets a server error; the retry is taken.
    receiver.script.lock().unwrap().push_back(500);
    let appointment = book(&app, &salon, 3, 10).await;
    let seen = receiver.wait_for("/visits", 2).await;
    assert_eq!(seen.len(), 2);
    let (first, second) = (&seen[0], &seen[1]);
    assert_eq!(first.body, second.body, "a retry sends the same bytes");
    assert_eq!(header(first, "ftry-delivery"), header(second, "ftry-delivery"));
    for request in &seen {
        assert_signed(request, &secret);
        assert_eq!(header(request, "content-type"), "application/json");
        assert_eq!(header(request, "ftry-event"), "appointment.booked");
        assert!(header(request, "user-agent").starts_with("ftry-webhooks/"));
    }
    let payload: Value = serde_json::from_slice(&second.body).unwrap();
    assert_eq!(payload["type"], "appointment.booked");
    assert_eq!(payload["business_id"], salon.tenant.to_string());
    assert_eq!(
        payload["subject"],
        json!({"type": "appointment", "id": appointment})
    );
    assert_eq!(
        payload["data"],
        json!({"source": "front_desk", "client_id": salon.client})
    );
    assert!(payload["id"].as_str().is_some() && payload["created_at"].as_str().is_some());

    let log = wait_delivered(&app, &salon, visits["id"].as_str().unwrap(), 1).await;
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], header(second, "ftry-delivery"));
    assert_eq!(items[0]["event"], "appointment.booked");
    assert_eq!(items[0]["event_id"], payload["id"]);
    assert_eq!(items[0]["status"], "delivered");
    assert_eq!(items[0]["attempts"], 2);
    assert_eq!(items[0]["response_status"], 200);
    assert_eq!(items[0]["last_error"], Value::Null);
    assert!(items[0].get("body").is_none(), "the log does not repeat bodies");

    // A client added reaches only the endpoint for client events, with the
    // names of the fields given, never their values.
    let client = body(
        send(
            &app,
            salon.token(),
            Method::POST,
            "/api/v1/clients",
            Some(&json!({"name": "Asha Rao", "phone": "+919822000333"})),
        )
        .await,
        201,
    )
    .await;
    let seen = receiver.wait_for("/clients", 1).await;
    assert_signed(&seen[0], &clients_secret);
    let payload: Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(payload["type"], "client.created");
    assert_eq!(payload["subject"], json!({"type": "client", "id": client["id"]}));
    let text = String::from_utf8_lossy(&seen[0].body);
    assert!(!text.contains("Asha") && !text.contains("9822000333"), "{text}");

    // Checking the visit in: an event of the visits endpoint only.
    body(
        send(
            &app,
            salon.token(),
            Method::POST,
            &format!("/api/v1/appointments/{appointment}/status"),
            Some(&json!({"status": "checked_in"})),
        )
        .await,
        200,
    )
    .await;
    let seen = receiver.wait_for("/visits", 3).await;
    let payload: Value = serde_json::from_slice(&seen[2].body).unwrap();
    assert_eq!(payload["type"], "appointment.checked_in");
    assert_eq!(payload["data"]["from"], "booked");
    assert_eq!(receiver.at("/clients").len(), 1);
    assert_eq!(receiver.received.lock().unwrap().len(), 4);
    app.stop().await;
}

#[tokio::test]
async fn an_endpoint_that_keeps_failing_is_turned_off_with_an_audit_event_and_can_be_turned_back_on() {
    let receiver = Receiver::default();
    *receiver.always.lock().unwrap() = Some(503);
    let port = receiver.start().await;
    let app = app_with_worker(|config| {
        config.webhooks.disable_after_failures = 3;
        config.webhooks.disable_after_hours = 0;
    })
    .await;
    let salon = salon(&app).await;
    let endpoint = register(&app, &salon, &format!("http://127.0.0.1:{port}/hook"), &["*"]).await;
    let id = endpoint["id"].as_str().unwrap().to_owned();

    let first = book(&app, &salon, 3, 10).await;
    receiver.wait_for("/hook", 3).await;
    let mut db = support::admin(&app).await;
    let started = Instant::now();
    let state = loop {
        let state: String = sqlx::query_scalar("SELECT state FROM jobs WHERE kind = 'webhook.deliver'")
            .fetch_one(&mut db)
            .await
            .unwrap();
        if state != "queued" && state != "running" {
            break state;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the delivery job never ended"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(
        state, "done",
        "turning the endpoint off ends the job: no retry is left"
    );
    assert_eq!(receiver.at("/hook").len(), 3);

    let seen = get(&app, &salon, &format!("/api/v1/webhooks/{id}")).await;
    assert_eq!(seen["enabled"], false);
    assert_eq!(seen["consecutive_failures"], 3);
    let reason = seen["disabled_reason"].as_str().unwrap();
    assert!(
        reason.starts_with("3 failed attempts in a row since ") && reason.ends_with("; the last: HTTP 503"),
        "{reason}"
    );
    let log = get(&app, &salon, &format!("/api/v1/webhooks/{id}/deliveries")).await;
    assert_eq!(log["items"].as_array().unwrap().len(), 1);
    assert_eq!(log["items"][0]["status"], "failed");
    assert_eq!(log["items"][0]["attempts"], 3);
    assert_eq!(log["items"][0]["response_status"], 503);
    assert_eq!(log["items"][0]["last_error"], "HTTP 503");
    let audit = get(&app, &salon, "/api/v1/audit-events?action=webhook.disabled").await;
    let events = audit["items"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["actor_type"], "system");
    assert_eq!(events[0]["resource_id"], id);
    assert_eq!(events[0]["after"]["abandoned_deliveries"], 0);

    // Off: a new visit plans no delivery.
    let second = book(&app, &salon, 4, 10).await;
    let started = Instant::now();
    loop {
        let handled: bool = sqlx::query_scalar(
            "SELECT processed_at IS NOT NULL FROM domain_events WHERE subject_id = $1::uuid",
        )
        .bind(&second)
        .fetch_one(&mut db)
        .await
        .unwrap();
        if handled {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the booking's event was not handled"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let log = get(&app, &salon, &format!("/api/v1/webhooks/{id}/deliveries")).await;
    assert_eq!(log["items"].as_array().unwrap().len(), 1);

    // Back on, its count starts again, and the next event is delivered.
    *receiver.always.lock().unwrap() = None;
    let on = body(
        send(
            &app,
            salon.token(),
            Method::PATCH,
            &format!("/api/v1/webhooks/{id}"),
            Some(&json!({"enabled": true})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(on["enabled"], true);
    assert_eq!(on["consecutive_failures"], 0);
    assert_eq!(on["disabled_reason"], Value::Null);
    let third = book(&app, &salon, 5, 10).await;
    let seen = receiver.wait_for("/hook", 4).await;
    let payload: Value = serde_json::from_slice(&seen[3].body).unwrap();
    assert_eq!(payload["subject"]["id"], third);
    let log = wait_delivered(&app, &salon, &id, 2).await;
    assert_eq!(log["items"][1]["status"], "failed");
    assert_ne!(first, third);
    app.stop().await;
}

async fn create(app: &TestApp, salon: &Salon, url: &str, events: Value) -> reqwest::Response {
    send(
        app,
        salon.token(),
        Method::POST,
        "/api/v1/webhooks",
        Some(&json!({"url": url, "events": events})),
    )
    .await
}

#[tokio::test]
async fn bad_endpoints_and_events_are_refused_and_only_owners_and_admins_manage_webhooks() {
    // The production default: public https endpoints only.
    let app = TestApp::fresh_with(|config| config.rate_limit.enabled = false).await;
    let salon = salon(&app).await;
    for (url, message) in [
        ("http://hooks.example.com/ftry", "must use https"),
        (
            "https://127.0.0.1/hook",
            "must be a public address, not a loopback or private one",
        ),
        (
            "https://169.254.169.254/latest",
            "must be a public address, not a loopback or private one",
        ),
        (
            "https://[::1]:8443/hook",
            "must be a public address, not a loopback or private one",
        ),
        (
            "https://localhost/hook",
            "must be a public address, not a loopback or private one",
        ),
        (
            "https://crm:pa55@hooks.example.com/ftry",
            "must not carry a user name or password; verify the signature instead",
        ),
        (
            "ftp://hooks.example.com/ftry",
            "expected an absolute https:// URL",
        ),
        ("hooks.example.com/ftry", "expected an absolute https:// URL"),
    ] {
        let refused = invalid(create(&app, &salon, url, json!(["appointment.*"])).await, "url").await;
        assert_eq!(refused["errors"][0]["message"], message, "{url}");
    }
    invalid(
        create(&app, &salon, "https://hooks.example.com/ftry", json!([])).await,
        "events",
    )
    .await;
    let refused = invalid(
        create(
            &app,
            &salon,
            "https://hooks.example.com/ftry",
            json!(["appointment.eaten"]),
        )
        .await,
        "events",
    )
    .await;
    assert_eq!(
        refused["errors"][0]["message"],
        "`appointment.eaten` is not an event; see GET /api/v1/webhooks/events"
    );
    let unknown_field = send(
        &app,
        salon.token(),
        Method::POST,
        "/api/v1/webhooks",
        Some(&json!({"url": "https://hooks.example.com/ftry", "events": ["*"], "secret": "mine"})),
    )
    .await;
    assert_eq!(unknown_field.status(), 422);

    let made = body(
        create(
            &app,
            &salon,
            "https://hooks.example.com/ftry",
            json!(["invoice.*", "client.merged"]),
        )
        .await,
        201,
    )
    .await;
    let id = made["id"].as_str().unwrap().to_owned();
    let listed = get(&app, &salon, "/api/v1/webhooks").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        listed["items"][0]["events"],
        json!(["invoice.*", "client.merged"])
    );
    assert!(
        listed["items"][0].get("secret").is_none(),
        "a secret is shown once"
    );
    let rotated = body(
        send(
            &app,
            salon.token(),
            Method::POST,
            &format!("/api/v1/webhooks/{id}/secret"),
            None,
        )
        .await,
        200,
    )
    .await;
    assert!(rotated["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_ne!(rotated["secret"], made["secret"]);
    let catalog = get(&app, &salon, "/api/v1/webhooks/events").await;
    assert_eq!(catalog.as_array().unwrap().len(), 15);
    assert_eq!(catalog[0]["name"], "appointment.booked");
    let bad_limit = send(
        &app,
        salon.token(),
        Method::GET,
        &format!("/api/v1/webhooks/{id}/deliveries?limit=0"),
        None,
    )
    .await;
    invalid(bad_limit, "limit").await;

    // A receptionist may not see or register endpoints.
    let (_, receptionist, _) = app
        .add_member(salon.token(), &salon.tenant.to_string(), &["receptionist"])
        .await;
    for (method, path, payload) in [
        (Method::GET, "/api/v1/webhooks".to_owned(), None),
        (
            Method::POST,
            "/api/v1/webhooks".to_owned(),
            Some(json!({"url": "https://evil.example.com/", "events": ["*"]})),
        ),
        (Method::DELETE, format!("/api/v1/webhooks/{id}"), None),
    ] {
        problem(
            send(&app, &receptionist, method, &path, payload.as_ref()).await,
            403,
            "permission_denied",
        )
        .await;
    }

    let audit = get(&app, &salon, "/api/v1/audit-events?resource_type=webhook").await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["webhook.secret_rotated", "webhook.created"]);
    let audit_text = audit.to_string();
    assert!(
        !audit_text.contains(made["secret"].as_str().unwrap())
            && !audit_text.contains(rotated["secret"].as_str().unwrap()),
        "secrets never reach the audit log"
    );

    expect(
        send(
            &app,
            salon.token(),
            Method::DELETE,
            &format!("/api/v1/webhooks/{id}"),
            None,
        )
        .await,
        204,
    )
    .await;
    problem(
        send(
            &app,
            salon.token(),
            Method::GET,
            &format!("/api/v1/webhooks/{id}"),
            None,
        )
        .await,
        404,
        "not_found",
    )
    .await;
    app.stop().await;
}
