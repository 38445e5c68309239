//! Client messages through a real SMTP server (aiosmtpd, writing what it
//! receives into a Maildir): a booking is confirmed once by email, its
//! reminders are planned at the right instants in the branch's timezone, a
//! cancellation is announced and its reminders are skipped, and a mail
//! server that is down is retried until it takes the message.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;
use sqlx::{Executor, PgConnection, Row};
use support::salon::{day, pune, Salon, Service, Setup};
use support::{body, free_port, get, post, TestApp};

/// A real SMTP server on a free port, delivering into a Maildir.
struct SmtpServer {
    port: u16,
    maildir: PathBuf,
    _root: tempfile::TempDir,
    child: Option<Child>,
}

impl SmtpServer {
    fn start() -> Self {
        let root = tempfile::tempdir().unwrap();
        let mut server = Self {
            port: free_port(),
            maildir: root.path().join("mail"),
            _root: root,
            child: None,
        };
        server.resume();
        server
    }

    fn resume(&mut self) {
        let child = Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{}", self.port))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&self.maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3-aiosmtpd must be installed (scripts/test-services installs it)");
        self.child = Some(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "SMTP server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages received so far, oldest first.
    fn messages(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.maildir.join("new"))
            .map(|dir| dir.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files.iter().map(|p| read(p)).collect()
    }

    /// Wait (without blocking the runtime the service runs on) for `count`
    /// messages.
    async fn wait_for(&self, count: usize) -> Vec<String> {
        let started = Instant::now();
        loop {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{} of {count} messages arrived",
                messages.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// A quoted-printable body decoded: soft line breaks joined, `=XX` bytes
/// restored.
fn quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

fn header<'a>(message: &'a str, name: &str) -> &'a str {
    message
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} header in:\n{message}"))
}

/// (event, status, send_at, reason, attempts) of the visit's messages, in
/// sending order.
async fn planned(
    db: &mut PgConnection,
    appointment: &str,
) -> Vec<(String, String, DateTime<Utc>, Option<String>, i32)> {
    sqlx::query(
        "SELECT event, status, send_at, reason, attempts FROM notifications
          WHERE appointment_id = $1::uuid ORDER BY send_at, event",
    )
    .bind(appointment)
    .fetch_all(db)
    .await
    .unwrap()
    .iter()
    .map(|r| {
        (
            r.get("event"),
            r.get("status"),
            r.get("send_at"),
            r.get("reason"),
            r.get("attempts"),
        )
    })
    .collect()
}

/// The in-process service runs a worker that looks for due jobs often.
fn with_worker(config: &mut ftry::config::Config) {
    config.jobs.run_in_serve = true;
    config.jobs.poll_interval_ms = 50;
}

/// Retries a second apart, so a test sees the retry soon.
fn fast_retries(config: &mut ftry::config::Config) {
    config.jobs.retry_base_secs = 1;
    config.jobs.retry_max_secs = 1;
}

/// A visit's start as an SMS names it, in Pune's time.
fn sms_when(at: DateTime<Utc>) -> String {
    at.with_timezone(&chrono_tz::Asia::Kolkata)
        .format("%a %-d %b, %-I:%M %p")
        .to_string()
}

async fn wait_status(db: &mut PgConnection, appointment: &str, event: &str, status: &str) {
    let started = Instant::now();
    loop {
        let rows = planned(db, appointment).await;
        if rows.iter().any(|r| r.0 == event && r.1 == status) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{event} never {status}: {rows:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn salon_with_client(app: &TestApp, email: &str) -> (Salon, String) {
    salon_and_client(
        app,
        "Mail Salon",
        json!({"name": "Ravi Kumar", "phone": "+919800011122", "email": email}),
    )
    .await
}

/// A salon of one stylist and one service, and a client made from `client`.
async fn salon_and_client(app: &TestApp, name: &'static str, client: serde_json::Value) -> (Salon, String) {
    let salon = Salon::create(
        app,
        Setup {
            name,
            stylists: 1,
            categories: &[],
            services: &[Service::new("Haircut", 30, 50_000)],
            chairs: 0,
        },
    )
    .await;
    let created = body(post(app, salon.token(), "/api/v1/clients", &client).await, 201).await;
    let id = created["id"].as_str().unwrap().to_owned();
    (salon, id)
}

#[tokio::test]
async fn a_booking_is_confirmed_once_its_reminders_are_planned_and_a_cancellation_skips_them() {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let app = TestApp::fresh_with(|config| {
        with_worker(config);
        config.notifications.smtp_url = Some(url.try_into().unwrap());
        config.notifications.from = "Mail Salon <salon@example.com>".into();
    })
    .await;
    let (salon, client) = salon_with_client(&app, "ravi.kumar@example.com").await;
    let starts = pune(day(3), 10, 0);
    let booked = body(
        post(
            &app,
            salon.token(),
            "/api/v1/appointments",
            &json!({
                "location_id": salon.location, "client_id": client, "start": starts,
                "items": [{"service_id": salon.services[0], "staff_id": salon.stylists[0]}],
            }),
        )
        .await,
        201,
    )
    .await;
    let appointment = booked["id"].as_str().unwrap().to_owned();

    let messages = smtp.wait_for(1).await;
    let mut db = app.db.as_ref().unwrap().admin().await;
    wait_status(&mut db, &appointment, "booking_confirmed", "sent").await;
    let confirmation = &messages[0];
    assert_eq!(header(confirmation, "To"), "ravi.kumar@example.com");
    assert_eq!(header(confirmation, "From"), "\"Mail Salon\" <salon@example.com>");
    assert_eq!(header(confirmation, "Subject"), "Booked: Haircut at Mail Salon");
    let expected_when = format!("{} at 10:00 AM", day(3).format("%A, %-d %B %Y"));
    assert!(confirmation.contains(&expected_when), "{confirmation}");
    let id: String = sqlx::query_scalar(
        "SELECT id::text FROM notifications WHERE appointment_id = $1::uuid AND event = 'booking_confirmed'",
    )
    .bind(&appointment)
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert_eq!(header(confirmation, "Message-ID"), format!("<{id}@ftry>"));

    // Reminders 24 h and 2 h before 10:00 in Pune: 10:00 the day before and
    // 08:00 on the day (the end of quiet hours, exactly).
    let rows = planned(&mut db, &appointment).await;
    let reminders: Vec<(&str, DateTime<Utc>)> = rows
        .iter()
        .filter(|r| r.0 == "reminder")
        .map(|r| (r.1.as_str(), r.2))
        .collect();
    assert_eq!(
        reminders,
        [("pending", pune(day(2), 10, 0)), ("pending", pune(day(3), 8, 0))]
    );
    let jobs: Vec<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT run_at FROM jobs WHERE kind = 'notification.send' AND state = 'queued' ORDER BY run_at",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert_eq!(
        jobs,
        [pune(day(2), 10, 0), pune(day(3), 8, 0)],
        "one job per reminder, due when it is"
    );

    // Cancelled: the client is told, and the reminders never go out.
    let path = format!("/api/v1/appointments/{appointment}/cancel");
    body(
        post(&app, salon.token(), &path, &json!({"reason": "client called"})).await,
        200,
    )
    .await;
    let messages = smtp.wait_for(2).await;
    assert_eq!(
        header(&messages[1], "Subject"),
        "Cancelled: your visit to Mail Salon"
    );
    // Time passes: the reminders fall due.
    db.execute("UPDATE jobs SET run_at = now() WHERE kind = 'notification.send' AND state = 'queued'")
        .await
        .unwrap();
    wait_status(&mut db, &appointment, "reminder", "skipped").await;
    let started = Instant::now();
    while planned(&mut db, &appointment)
        .await
        .iter()
        .any(|r| r.1 == "pending")
    {
        assert!(started.elapsed() < Duration::from_secs(30));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rows = planned(&mut db, &appointment).await;
    let outcome: Vec<(&str, &str, Option<&str>)> = rows
        .iter()
        .map(|r| (r.0.as_str(), r.1.as_str(), r.3.as_deref()))
        .collect();
    assert_eq!(
        outcome,
        [
            ("booking_confirmed", "sent", None),
            ("cancelled", "sent", None),
            ("reminder", "skipped", Some("appointment cancelled")),
            ("reminder", "skipped", Some("appointment cancelled")),
        ]
    );
    assert_eq!(
        smtp.messages().len(),
        2,
        "exactly the confirmation and the cancellation"
    );
    let unprocessed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM domain_events WHERE processed_at IS NULL")
            .fetch_one(&mut db)
            .await
            .unwrap();
    assert_eq!(unprocessed, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_mail_server_that_is_down_is_retried_until_it_takes_the_message() {
    let mut smtp = SmtpServer::start();
    let url = smtp.url();
    smtp.stop();
    let app = TestApp::fresh_with(|config| {
        with_worker(config);
        fast_retries(config);
        config.notifications.smtp_url = Some(url.try_into().unwrap());
    })
    .await;
    let (salon, client) = salon_with_client(&app, "asha.rao@example.com").await;
    let booked = body(
        post(
            &app,
            salon.token(),
            "/api/v1/appointments",
            &json!({
                "location_id": salon.location, "client_id": client, "start": pune(day(4), 11, 0),
                "items": [{"service_id": salon.services[0], "staff_id": salon.stylists[0]}],
            }),
        )
        .await,
        201,
    )
    .await;
    let appointment = booked["id"].as_str().unwrap().to_owned();
    let mut db = app.db.as_ref().unwrap().admin().await;
    // The first attempt finds no server: still pending, the reason kept.
    let started = Instant::now();
    loop {
        let rows = planned(&mut db, &appointment).await;
        let attempted = rows.iter().find(|r| r.0 == "booking_confirmed" && r.4 >= 1);
        if let Some(first) = attempted {
            assert_eq!(first.1, "pending");
            assert!(
                first.3.as_deref().unwrap().starts_with("mail server: "),
                "{first:?}"
            );
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    smtp.resume();
    let messages = smtp.wait_for(1).await;
    assert_eq!(header(&messages[0], "To"), "asha.rao@example.com");
    wait_status(&mut db, &appointment, "booking_confirmed", "sent").await;
    // Sent once, however many attempts it took.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.messages().len(), 1);
    app.stop().await;
}

/// A stand-in for the WhatsApp Business Cloud API: records each request
/// (authorization header and JSON body) and answers with the next scripted
/// (status, body), or with success and a fresh message id.
#[derive(Clone, Default)]
struct WhatsAppStandIn {
    received: std::sync::Arc<std::sync::Mutex<Vec<(String, serde_json::Value)>>>,
    script: std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<(u16, serde_json::Value)>>>,
}

impl WhatsAppStandIn {
    async fn start(&self) -> u16 {
        let stand_in = self.clone();
        let app = axum::Router::new().route(
            "/v21.0/{phone_number_id}/messages",
            axum::routing::post(
                move |axum::extract::Path(number): axum::extract::Path<String>,
                      headers: axum::http::HeaderMap,
                      axum::Json(body): axum::Json<serde_json::Value>| {
                    let stand_in = stand_in.clone();
                    async move {
                        assert_eq!(number, "109876543210");
                        let auth = headers["authorization"].to_str().unwrap().to_owned();
                        let n = {
                            let mut received = stand_in.received.lock().unwrap();
                            received.push((auth, body.clone()));
                            received.len()
                        };
                        let (status, answer) =
                            stand_in.script.lock().unwrap().pop_front().unwrap_or_else(|| {
                                (
                                    200,
                                    json!({
                                        "messaging_product": "whatsapp",
                                        "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                                        "messages": [{"id": format!("wamid.TEST{n}")}],
                                    }),
                                )
                            });
                        (
                            axum::http::StatusCode::from_u16(status).unwrap(),
                            axum::Json(answer),
                        )
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        port
    }
}

/// A salon whose client has a phone and no email, messaged over WhatsApp.
async fn whatsapp_salon(stand_in: &WhatsAppStandIn) -> (TestApp, Salon, String) {
    let port = stand_in.start().await;
    let app = TestApp::fresh_with(|config| {
        with_worker(config);
        fast_retries(config);
        config.notifications.whatsapp_api_url = format!("http://127.0.0.1:{port}/v21.0");
        config.notifications.whatsapp_phone_number_id = Some("109876543210".into());
        config.notifications.whatsapp_access_token = Some(ftry_app::settings::Secret::new("wa-token-5521"));
    })
    .await;
    let (salon, id) = salon_and_client(
        &app,
        "Chat Salon",
        json!({"name": "Kavya Nair", "phone": "+919845000111"}),
    )
    .await;
    (app, salon, id)
}

async fn book(app: &TestApp, salon: &Salon, client: &str, starts: DateTime<Utc>) -> String {
    let booked = body(
        post(
            app,
            salon.token(),
            "/api/v1/appointments",
            &json!({
                "location_id": salon.location, "client_id": client, "start": starts,
                "items": [{"service_id": salon.services[0], "staff_id": salon.stylists[0]}],
            }),
        )
        .await,
        201,
    )
    .await;
    booked["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn whatsapp_template_messages_are_retried_on_a_server_error_and_refusals_are_final() {
    let stand_in = WhatsAppStandIn::default();
    // The first request meets a server error, the second succeeds.
    stand_in.script.lock().unwrap().push_back((
        500,
        json!({"error": {"message": "Service temporarily unavailable", "code": 2}}),
    ));
    let (app, salon, client) = whatsapp_salon(&stand_in).await;
    let starts = pune(day(3), 10, 0);
    let appointment = book(&app, &salon, &client, starts).await;
    let mut db = app.db.as_ref().unwrap().admin().await;
    wait_status(&mut db, &appointment, "booking_confirmed", "sent").await;
    let received = stand_in.received.lock().unwrap().clone();
    assert_eq!(received.len(), 2, "a failed attempt and its retry");
    assert_eq!(received[0], received[1], "the retry sends the same message");
    let (auth, body) = &received[1];
    assert_eq!(auth, "Bearer wa-token-5521");
    let when = format!("{} at 10:00 AM", day(3).format("%A, %-d %B %Y"));
    assert_eq!(
        body,
        &json!({
            "messaging_product": "whatsapp",
            "to": "919845000111",
            "type": "template",
            "template": {
                "name": "ftry_booking_confirmed",
                "language": {"code": "en"},
                "components": [{
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Kavya Nair"},
                        {"type": "text", "text": "Chat Salon"},
                        {"type": "text", "text": "Haircut"},
                        {"type": "text", "text": when},
                    ],
                }],
            },
        })
    );
    let row = sqlx::query(
        "SELECT channel, provider, provider_message_id, attempts FROM notifications
          WHERE appointment_id = $1::uuid AND event = 'booking_confirmed'",
    )
    .bind(&appointment)
    .fetch_one(&mut db)
    .await
    .unwrap();
    let seen: (String, String, String, i32) = (
        row.get("channel"),
        row.get("provider"),
        row.get("provider_message_id"),
        row.get("attempts"),
    );
    assert_eq!(
        seen,
        ("whatsapp".into(), "whatsapp".into(), "wamid.TEST2".into(), 2)
    );
    // No email address: WhatsApp is the only channel, reminders included.
    let channels: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT channel FROM notifications WHERE appointment_id = $1::uuid")
            .bind(&appointment)
            .fetch_all(&mut db)
            .await
            .unwrap();
    assert_eq!(channels, ["whatsapp"]);

    // A refusal (a template that does not exist, say) is final: failed,
    // its reason kept, its job in the dead letters.
    stand_in.script.lock().unwrap().push_back((
        400,
        json!({"error": {"message": "(#132001) Template name does not exist in the translation", "code": 132001}}),
    ));
    let second = book(&app, &salon, &client, pune(day(4), 11, 0)).await;
    wait_status(&mut db, &second, "booking_confirmed", "failed").await;
    let reason: String = sqlx::query_scalar(
        "SELECT reason FROM notifications WHERE appointment_id = $1::uuid AND event = 'booking_confirmed'",
    )
    .bind(&second)
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert_eq!(
        reason,
        "whatsapp: HTTP 400: (#132001) Template name does not exist in the translation"
    );
    // The message is marked failed inside the attempt; its job is marked
    // dead as the attempt ends, a moment later on a loaded machine.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let dead = loop {
        let dead: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM jobs WHERE kind = 'notification.send' AND state = 'dead'
                AND last_error = 'whatsapp: HTTP 400: (#132001) Template name does not exist in the translation'",
        )
        .fetch_one(&mut db)
        .await
        .unwrap();
        if dead > 0 || std::time::Instant::now() > deadline {
            break dead;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(dead, 1);
    assert_eq!(
        stand_in.received.lock().unwrap().len(),
        3,
        "a refusal is not retried"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_moved_visit_is_announced_and_reminded_at_its_new_time_only() {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let app = TestApp::fresh_with(|config| {
        with_worker(config);
        config.notifications.smtp_url = Some(url.try_into().unwrap());
    })
    .await;
    let (salon, client) = salon_with_client(&app, "meera.iyer@example.com").await;
    let appointment = book(&app, &salon, &client, pune(day(3), 10, 0)).await;
    let mut db = app.db.as_ref().unwrap().admin().await;
    wait_status(&mut db, &appointment, "booking_confirmed", "sent").await;
    // To 16:30 the next day.
    let path = format!("/api/v1/appointments/{appointment}/reschedule");
    body(
        post(
            &app,
            salon.token(),
            &path,
            &json!({"start": pune(day(4), 16, 30)}),
        )
        .await,
        200,
    )
    .await;
    wait_status(&mut db, &appointment, "rescheduled", "sent").await;
    let messages = smtp.wait_for(2).await;
    assert_eq!(header(&messages[1], "Subject"), "Moved: your visit to Mail Salon");
    let moved_to = format!("{} at 4:30 PM", day(4).format("%A, %-d %B %Y"));
    assert!(messages[1].contains(&moved_to), "{}", messages[1]);
    let rows = planned(&mut db, &appointment).await;
    let reminders: Vec<(&str, DateTime<Utc>, Option<&str>)> = rows
        .iter()
        .filter(|r| r.0 == "reminder")
        .map(|r| (r.1.as_str(), r.2, r.3.as_deref()))
        .collect();
    assert_eq!(
        reminders,
        [
            ("skipped", pune(day(2), 10, 0), Some("appointment moved")),
            ("skipped", pune(day(3), 8, 0), Some("appointment moved")),
            ("pending", pune(day(3), 16, 30), None),
            ("pending", pune(day(4), 14, 30), None),
        ]
    );
    app.stop().await;
}

/// A stand-in for Twilio's Messages API: records each request's
/// authorization, idempotency token and form fields, and answers with the
/// next scripted status or 201 and a fresh message sid.
/// One request to the stand-in: authorization, idempotency token, form fields.
type TwilioRequest = (String, String, Vec<(String, String)>);

#[derive(Clone, Default)]
struct TwilioStandIn {
    received: std::sync::Arc<std::sync::Mutex<Vec<TwilioRequest>>>,
    failures: std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<u16>>>,
}

const TWILIO_SID: &str = "AC0123456789abcdef0123456789abcdef";
/// `auth.public_url` of the test configuration: Twilio's callbacks are
/// signed over it.
const PUBLIC_URL: &str = "http://127.0.0.1:8080";

impl TwilioStandIn {
    async fn start(&self) -> u16 {
        let stand_in = self.clone();
        let app = axum::Router::new().route(
            "/2010-04-01/Accounts/{sid}/Messages.json",
            axum::routing::post(
                move |axum::extract::Path(sid): axum::extract::Path<String>,
                      headers: axum::http::HeaderMap,
                      body: axum::body::Bytes| {
                    let stand_in = stand_in.clone();
                    async move {
                        assert_eq!(sid, TWILIO_SID);
                        let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
                        let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
                        let n = {
                            let mut received = stand_in.received.lock().unwrap();
                            received.push((header("authorization"), header("i-twilio-idempotency-token"), form));
                            received.len()
                        };
                        match stand_in.failures.lock().unwrap().pop_front() {
                            Some(status) => (
                                axum::http::StatusCode::from_u16(status).unwrap(),
                                axum::Json(json!({"code": 20500, "message": "Internal Server Error", "status": status})),
                            ),
                            None => (
                                axum::http::StatusCode::CREATED,
                                axum::Json(json!({"sid": format!("SM{n:032}"), "status": "queued"})),
                            ),
                        }
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        port
    }
}

#[tokio::test]
async fn an_sms_is_retried_with_the_same_idempotency_token_after_a_server_error() {
    let stand_in = TwilioStandIn::default();
    stand_in.failures.lock().unwrap().push_back(503);
    let port = stand_in.start().await;
    let app = TestApp::fresh_with(|config| {
        with_worker(config);
        fast_retries(config);
        config.notifications.twilio_api_url = format!("http://127.0.0.1:{port}");
        config.notifications.twilio_account_sid = Some(TWILIO_SID.into());
        config.notifications.twilio_auth_token = Some(ftry_app::settings::Secret::new("twilio-token-77"));
        config.notifications.twilio_from = Some("+14155550100".into());
    })
    .await;
    let (salon, client) = salon_and_client(
        &app,
        "Text Salon",
        json!({"name": "Arjun Rao", "phone": "+919845000222"}),
    )
    .await;
    let appointment = book(&app, &salon, &client, pune(day(3), 10, 0)).await;
    let mut db = app.db.as_ref().unwrap().admin().await;
    wait_status(&mut db, &appointment, "booking_confirmed", "sent").await;
    let id: String = sqlx::query_scalar(
        "SELECT id::text FROM notifications WHERE appointment_id = $1::uuid AND event = 'booking_confirmed'",
    )
    .bind(&appointment)
    .fetch_one(&mut db)
    .await
    .unwrap();
    let received = stand_in.received.lock().unwrap().clone();
    assert_eq!(received.len(), 2, "the 503 and its retry");
    assert_eq!(
        received[0], received[1],
        "the retry is the same request, token included"
    );
    let (auth, token, form) = &received[1];
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{TWILIO_SID}:twilio-token-77"));
    assert_eq!(auth, &format!("Basic {basic}"));
    assert_eq!(token, &id, "the notification's id is Twilio's idempotency token");
    let when = sms_when(pune(day(3), 10, 0));
    assert_eq!(
        form,
        &vec![
            ("To".to_owned(), "+919845000222".to_owned()),
            ("From".to_owned(), "+14155550100".to_owned()),
            (
                "Body".to_owned(),
                format!("Text Salon: booked Haircut on {when}.")
            ),
            (
                "StatusCallback".to_owned(),
                format!("{PUBLIC_URL}/api/v1/hooks/twilio/status")
            ),
        ]
    );
    let sid = format!("SM{:032}", 2);

    // Twilio reports the delivery, signed with the auth token.
    let callback = |params: Vec<(&'static str, String)>, token: &'static str| {
        use base64::Engine;
        use hmac::Mac;
        let url = format!("{PUBLIC_URL}/api/v1/hooks/twilio/status");
        let mut sorted = params.clone();
        sorted.sort();
        let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(token.as_bytes()).unwrap();
        mac.update(url.as_bytes());
        for (name, value) in &sorted {
            mac.update(name.as_bytes());
            mac.update(value.as_bytes());
        }
        let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        let request = app
            .client
            .post(app.url("/api/v1/hooks/twilio/status"))
            .header("x-twilio-signature", signature)
            .form(&params);
        async move { request.send().await.unwrap() }
    };
    let delivered = vec![
        ("MessageSid", sid.clone()),
        ("MessageStatus", "delivered".to_owned()),
        ("AccountSid", TWILIO_SID.to_owned()),
        ("To", "+919845000222".to_owned()),
    ];
    support::problem(
        callback(delivered.clone(), "not-the-token").await,
        401,
        "bad_signature",
    )
    .await;
    assert_eq!(delivery(&mut db, &sid).await, (None, None, None));
    assert_eq!(callback(delivered, "twilio-token-77").await.status(), 204);
    assert_eq!(delivery(&mut db, &sid).await.0.as_deref(), Some("delivered"));
    let row = sqlx::query(
        "SELECT channel, provider, provider_message_id, attempts FROM notifications WHERE id = $1::uuid",
    )
    .bind(&id)
    .fetch_one(&mut db)
    .await
    .unwrap();
    let seen: (String, String, String, i32) = (
        row.get("channel"),
        row.get("provider"),
        row.get("provider_message_id"),
        row.get("attempts"),
    );
    assert_eq!(seen, ("sms".into(), "twilio".into(), format!("SM{:032}", 2), 2));
    app.stop().await;
}

#[tokio::test]
async fn with_smtp_an_invitation_is_delivered_from_the_outbox() {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let app = TestApp::fresh_with(|config| {
        with_worker(config);
        config.notifications.smtp_url = Some(url.try_into().unwrap());
        config.notifications.from = "ftry <no-reply@example.com>".into();
    })
    .await;
    let business = app.signup("Invite Salon").await;
    let invited = app
        .authed(
            reqwest::Method::POST,
            "/api/v1/users/invitations",
            &business.access_token,
        )
        .json(&json!({"email": "neha.stylist@example.com", "name": "Neha Joshi", "roles": ["stylist"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(invited.status(), 201);
    let messages = smtp.wait_for(1).await;
    let mail = &messages[0];
    assert_eq!(header(mail, "To"), "neha.stylist@example.com");
    assert_eq!(header(mail, "Subject"), "You're invited to Invite Salon on ftry");
    // The link the outbox holds is the one that went out, and it works.
    let token = app
        .outbox_token(&business.tenant_id, "neha.stylist@example.com", "token=")
        .await;
    let decoded = quoted_printable(mail);
    assert!(
        decoded.contains(&format!("/invite/accept?token={token}\n")),
        "{decoded}"
    );
    let mut db = app.db.as_ref().unwrap().admin().await;
    let started = Instant::now();
    loop {
        let delivered: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM outbox_messages WHERE recipient = 'neha.stylist@example.com'
                AND delivered_at IS NOT NULL AND delivery_error IS NULL",
        )
        .fetch_one(&mut db)
        .await
        .unwrap();
        if delivered == 1 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "delivery not recorded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let accepted = app
        .post_json(
            "/api/v1/auth/invitations/accept",
            &json!({"token": token, "password": "copper-kettle-monsoon-77"}),
        )
        .await;
    assert_eq!(accepted.status(), 200);
    assert_eq!(smtp.messages().len(), 1, "one mail, sent once");
    app.stop().await;
}

/// Make the queued messages of `event` for the visit due now, as if their
/// time had come.
async fn bring_forward(db: &mut PgConnection, appointment: &str, event: &str) -> u64 {
    sqlx::query(
        "UPDATE jobs SET run_at = now()
          WHERE kind = 'notification.send' AND state = 'queued'
            AND (payload->>'notification_id')::uuid IN
                (SELECT id FROM notifications WHERE appointment_id = $1::uuid AND event = $2)",
    )
    .bind(appointment)
    .bind(event)
    .execute(db)
    .await
    .unwrap()
    .rows_affected()
}

/// (channel, status, reason) of the visit's messages of `event`.
async fn messages_of(
    db: &mut PgConnection,
    appointment: &str,
    event: &str,
) -> Vec<(String, String, Option<String>)> {
    sqlx::query_as(
        "SELECT channel, status, reason FROM notifications
          WHERE appointment_id = $1::uuid AND event = $2 ORDER BY send_at, channel",
    )
    .bind(appointment)
    .bind(event)
    .fetch_all(db)
    .await
    .unwrap()
}

#[tokio::test]
async fn opted_out_channels_are_skipped_and_a_no_show_follow_up_goes_only_to_clients_who_consented() {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let stand_in = WhatsAppStandIn::default();
    let port = stand_in.start().await;
    let app = TestApp::fresh_with(|config| {
        with_worker(config);
        config.notifications.smtp_url = Some(url.try_into().unwrap());
        config.notifications.whatsapp_api_url = format!("http://127.0.0.1:{port}/v21.0");
        config.notifications.whatsapp_phone_number_id = Some("109876543210".into());
        config.notifications.whatsapp_access_token = Some(ftry_app::settings::Secret::new("wa-token-5521"));
    })
    .await;
    let (salon, client) = salon_and_client(
        &app,
        "Opt Salon",
        json!({"name": "Meera Iyer", "phone": "+919845000222", "email": "meera@example.com",
               "opted_out_channels": ["whatsapp", "whatsapp"]}),
    )
    .await;
    let mut db = app.db.as_ref().unwrap().admin().await;

    // Reachable by email and WhatsApp, opted out of WhatsApp: email only.
    let first = book(&app, &salon, &client, pune(day(3), 10, 0)).await;
    wait_status(&mut db, &first, "booking_confirmed", "sent").await;
    assert_eq!(
        messages_of(&mut db, &first, "booking_confirmed").await,
        [("email".into(), "sent".into(), None)]
    );
    assert_eq!(
        messages_of(&mut db, &first, "reminder").await,
        [
            ("email".into(), "pending".into(), None),
            ("email".into(), "pending".into(), None)
        ]
    );
    assert_eq!(smtp.wait_for(1).await.len(), 1);
    assert!(stand_in.received.lock().unwrap().is_empty());

    // Opting out of email as well: the reminders already planned are
    // skipped when their time comes, and a new visit is announced nowhere.
    let changed = body(
        support::send(
            &app,
            salon.token(),
            reqwest::Method::PATCH,
            &format!("/api/v1/clients/{client}"),
            Some(&json!({"opted_out_channels": ["whatsapp", "email"]})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(changed["opted_out_channels"], json!(["email", "whatsapp"]));
    assert_eq!(bring_forward(&mut db, &first, "reminder").await, 2);
    let started = Instant::now();
    while messages_of(&mut db, &first, "reminder").await
        != [
            (
                "email".into(),
                "skipped".into(),
                Some("client opted out of email".into()),
            ),
            (
                "email".into(),
                "skipped".into(),
                Some("client opted out of email".into()),
            ),
        ]
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "reminders not skipped"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let second = book(&app, &salon, &client, pune(day(4), 11, 0)).await;
    wait_status(&mut db, &second, "booking_confirmed", "skipped").await;
    assert_eq!(
        planned(&mut db, &second)
            .await
            .iter()
            .map(|r| (r.0.as_str(), r.1.as_str(), r.3.as_deref()))
            .collect::<Vec<_>>(),
        [(
            "booking_confirmed",
            "skipped",
            Some("client opted out of email, whatsapp")
        )]
    );

    // A no-show without marketing consent: no follow-up.
    let no_show = |appointment: String| {
        let (app, token) = (&app, salon.token().to_owned());
        async move {
            body(
                support::send(
                    app,
                    &token,
                    reqwest::Method::POST,
                    &format!("/api/v1/appointments/{appointment}/status"),
                    Some(&json!({"status": "no_show"})),
                )
                .await,
                200,
            )
            .await
        }
    };
    no_show(first.clone()).await;
    wait_status(&mut db, &first, "no_show_follow_up", "skipped").await;
    assert_eq!(
        messages_of(&mut db, &first, "no_show_follow_up").await,
        [(
            "email".into(),
            "skipped".into(),
            Some("no marketing consent".into())
        )]
    );

    // With consent and email allowed again: one follow-up by email, two
    // hours on (or when quiet hours end), sent when its time comes.
    body(
        support::send(
            &app,
            salon.token(),
            reqwest::Method::PATCH,
            &format!("/api/v1/clients/{client}"),
            Some(&json!({"opted_out_channels": ["whatsapp"], "marketing_consent": true, "consent_channel": "in_person"})),
        )
        .await,
        200,
    )
    .await;
    let before = Utc::now();
    no_show(second.clone()).await;
    wait_status(&mut db, &second, "no_show_follow_up", "pending").await;
    // Planned by the event's handler, between the change and now.
    let after = Utc::now();
    let send_at: DateTime<Utc> = sqlx::query_scalar(
        "SELECT send_at FROM notifications WHERE appointment_id = $1::uuid AND event = 'no_show_follow_up'",
    )
    .bind(&second)
    .fetch_one(&mut db)
    .await
    .unwrap();
    let ist = chrono_tz::Asia::Kolkata;
    let due = before - chrono::Duration::milliseconds(1) + chrono::Duration::hours(2);
    let local = due.with_timezone(&ist);
    let quiet = |t: chrono::NaiveTime| {
        t >= chrono::NaiveTime::from_hms_opt(21, 0, 0).unwrap()
            || t < chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap()
    };
    if quiet(local.time()) {
        let morning = if local.time() >= chrono::NaiveTime::from_hms_opt(21, 0, 0).unwrap() {
            local.date_naive().succ_opt().unwrap()
        } else {
            local.date_naive()
        };
        assert_eq!(
            send_at.with_timezone(&ist).naive_local(),
            morning.and_hms_opt(8, 0, 0).unwrap()
        );
    } else {
        assert!(
            send_at >= due && send_at <= after + chrono::Duration::hours(2),
            "{send_at}"
        );
    }
    assert_eq!(bring_forward(&mut db, &second, "no_show_follow_up").await, 1);
    wait_status(&mut db, &second, "no_show_follow_up", "sent").await;
    assert_eq!(
        messages_of(&mut db, &second, "no_show_follow_up").await,
        [("email".into(), "sent".into(), None)]
    );
    let mails = smtp.wait_for(2).await;
    assert_eq!(mails.len(), 2);
    assert_eq!(header(&mails[1], "Subject"), "We missed you at Opt Salon");
    assert!(stand_in.received.lock().unwrap().is_empty(), "never on WhatsApp");
    app.stop().await;
}

/// An SMS provider's API: records each request's path, headers and JSON
/// body, and answers with the scripted (status, JSON), then `default`.
#[derive(Clone)]
struct SmsStandIn {
    received: std::sync::Arc<std::sync::Mutex<Vec<(String, axum::http::HeaderMap, serde_json::Value)>>>,
    script: std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<(u16, serde_json::Value)>>>,
    default: serde_json::Value,
}

impl SmsStandIn {
    fn answering(default: serde_json::Value) -> Self {
        Self {
            received: Default::default(),
            script: Default::default(),
            default,
        }
    }

    async fn start(&self) -> u16 {
        let stand_in = self.clone();
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri,
                  headers: axum::http::HeaderMap,
                  axum::Json(body): axum::Json<serde_json::Value>| {
                let stand_in = stand_in.clone();
                async move {
                    stand_in
                        .received
                        .lock()
                        .unwrap()
                        .push((uri.path().to_owned(), headers, body));
                    let (status, answer) = stand_in
                        .script
                        .lock()
                        .unwrap()
                        .pop_front()
                        .unwrap_or((200, stand_in.default.clone()));
                    (
                        axum::http::StatusCode::from_u16(status).unwrap(),
                        axum::Json(answer),
                    )
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        port
    }
}

/// (channel, provider, provider message id, attempts, status, reason) of
/// the visit's confirmation.
async fn confirmation(
    db: &mut PgConnection,
    appointment: &str,
) -> (String, String, String, i32, String, Option<String>) {
    sqlx::query_as(
        "SELECT channel, coalesce(provider, ''), coalesce(provider_message_id, ''), attempts, status, reason
           FROM notifications WHERE appointment_id = $1::uuid AND event = 'booking_confirmed'",
    )
    .bind(appointment)
    .fetch_one(db)
    .await
    .unwrap()
}

fn sms_events(prefix: &str) -> std::collections::BTreeMap<String, String> {
    [
        "booking_confirmed",
        "reminder",
        "rescheduled",
        "cancelled",
        "no_show_follow_up",
    ]
    .iter()
    .enumerate()
    .map(|(i, e)| (e.to_string(), format!("{prefix}{i}")))
    .collect()
}

#[tokio::test]
async fn msg91_flow_messages_are_retried_on_a_server_error_and_its_refusals_are_final() {
    let stand_in = SmsStandIn::answering(json!({"type": "success", "message": "3763646c3058323438343431"}));
    stand_in
        .script
        .lock()
        .unwrap()
        .push_back((500, json!({"type": "error", "message": "Internal server error"})));
    let port = stand_in.start().await;
    let app = TestApp::fresh_with(|config| {
        with_worker(config);
        fast_retries(config);
        config.notifications.msg91_api_url = format!("http://127.0.0.1:{port}");
        config.notifications.msg91_auth_key = Some(ftry_app::settings::Secret::new("msg91-key-4410"));
        config.notifications.msg91_template_ids = sms_events("64f1c0ffee");
        config.notifications.msg91_report_token = Some(ftry_app::settings::Secret::new("dlr-token-31"));
    })
    .await;
    let (salon, client) = salon_and_client(
        &app,
        "Flow Salon",
        json!({"name": "Arjun Rao", "phone": "+919845000222"}),
    )
    .await;
    let appointment = book(&app, &salon, &client, pune(day(3), 10, 0)).await;
    let mut db = app.db.as_ref().unwrap().admin().await;
    wait_status(&mut db, &appointment, "booking_confirmed", "sent").await;
    assert_eq!(
        confirmation(&mut db, &appointment).await,
        (
            "sms".into(),
            "msg91".into(),
            "3763646c3058323438343431".into(),
            2,
            "sent".into(),
            None
        )
    );
    let received = stand_in.received.lock().unwrap().clone();
    assert_eq!(received.len(), 2, "the 500 and its retry");
    let when = sms_when(pune(day(3), 10, 0));
    for (path, headers, body) in &received {
        assert_eq!(path, "/api/v5/flow");
        assert_eq!(headers["authkey"], "msg91-key-4410");
        assert_eq!(
            body,
            &json!({
                "template_id": "64f1c0ffee0",
                "short_url": "0",
                "recipients": [{
                    "mobiles": "919845000222", "business": "Flow Salon", "services": "Haircut", "when": when,
                }],
            })
        );
    }

    // MSG91 refuses some messages with 200 and `"type": "error"`: final.
    stand_in.script.lock().unwrap().push_back((
        200,
        json!({"type": "error", "message": "Template ID is not approved"}),
    ));
    let second = book(&app, &salon, &client, pune(day(4), 11, 0)).await;
    wait_status(&mut db, &second, "booking_confirmed", "failed").await;
    assert_eq!(
        confirmation(&mut db, &second).await,
        (
            "sms".into(),
            "".into(),
            "".into(),
            1,
            "failed".into(),
            Some("sms: msg91 refused: Template ID is not approved".into())
        )
    );
    assert_eq!(
        stand_in.received.lock().unwrap().len(),
        3,
        "a refusal is not retried"
    );

    // MSG91's delivery report (its webhook, version 2) names the request id;
    // the URL's token is checked.
    let data = json!([{
        "senderId": "FTRYSL", "requestId": "3763646c3058323438343431", "userId": "27", "campaignName": "Flow",
        "report": [{"date": "2026-12-07 10:06:20", "number": "919845000222", "status": "1",
                    "desc": "DELIVERED", "failedReason": ""}],
    }]);
    let report = |token: &'static str| {
        app.client
            .post(app.url(&format!("/api/v1/hooks/msg91?token={token}")))
            .form(&[("data", data.to_string())])
            .send()
    };
    support::problem(report("guess").await.unwrap(), 401, "bad_signature").await;
    assert_eq!(
        delivery(&mut db, "3763646c3058323438343431").await,
        (None, None, None)
    );
    assert_eq!(
        body(report("dlr-token-31").await.unwrap(), 200).await,
        json!({"changed": 1})
    );
    let at = chrono_tz::Asia::Kolkata
        .with_ymd_and_hms(2026, 12, 7, 10, 6, 20)
        .unwrap()
        .timestamp();
    assert_eq!(
        delivery(&mut db, "3763646c3058323438343431").await,
        (Some("delivered".into()), Some(at), None)
    );
    app.stop().await;
}

#[tokio::test]
async fn a_generic_sms_provider_gets_the_text_with_its_dlt_ids_and_an_idempotency_key() {
    let stand_in = SmsStandIn::answering(json!({"data": {"id": 99120034}}));
    stand_in
        .script
        .lock()
        .unwrap()
        .push_back((429, json!({"error": {"message": "slow down"}})));
    let port = stand_in.start().await;
    let app = TestApp::fresh_with(|config| {
        with_worker(config);
        fast_retries(config);
        config.notifications.sms_http_url = Some(format!("http://127.0.0.1:{port}/v1/sms"));
        config.notifications.sms_http_authorization = Some(ftry_app::settings::Secret::new("Bearer gw-77"));
        config.notifications.sms_http_sender = Some("FTRYSL".into());
        config.notifications.sms_http_message_id_pointer = "/data/id".into();
        config.notifications.dlt_entity_id = Some("1101456789012345678".into());
        config.notifications.dlt_template_ids = sms_events("110716000000000000");
        config.notifications.sms_http_report_secret = Some(ftry_app::settings::Secret::new("gw-report-9"));
    })
    .await;
    let (salon, client) = salon_and_client(
        &app,
        "Gate Salon",
        json!({"name": "Arjun Rao", "phone": "+919845000222"}),
    )
    .await;
    let appointment = book(&app, &salon, &client, pune(day(3), 10, 0)).await;
    let mut db = app.db.as_ref().unwrap().admin().await;
    wait_status(&mut db, &appointment, "booking_confirmed", "sent").await;
    let id: String = sqlx::query_scalar(
        "SELECT id::text FROM notifications WHERE appointment_id = $1::uuid AND event = 'booking_confirmed'",
    )
    .bind(&appointment)
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert_eq!(
        confirmation(&mut db, &appointment).await,
        (
            "sms".into(),
            "http".into(),
            "99120034".into(),
            2,
            "sent".into(),
            None
        )
    );
    let received = stand_in.received.lock().unwrap().clone();
    assert_eq!(received.len(), 2, "the 429 and its retry");
    let when = sms_when(pune(day(3), 10, 0));
    for (path, headers, body) in &received {
        assert_eq!(path, "/v1/sms");
        assert_eq!(headers["authorization"], "Bearer gw-77");
        assert_eq!(headers["idempotency-key"], id.as_str());
        assert_eq!(
            body,
            &json!({
                "to": "+919845000222",
                "text": format!("Gate Salon: booked Haircut on {when}."),
                "sender": "FTRYSL",
                "reference": id,
                "dlt_entity_id": "1101456789012345678",
                "dlt_template_id": "1107160000000000000",
            })
        );
    }

    // The provider's delivery reports, signed with the shared secret, name
    // the message id it answered with.
    let reports = json!([
        {"id": 99120034, "status": "failed", "at": "2026-12-07T04:36:20Z", "error": "absent subscriber"},
        {"id": "unknown-7", "status": "delivered"},
    ])
    .to_string();
    let post_report = |signature: String| {
        app.client
            .post(app.url("/api/v1/hooks/sms"))
            .header("x-ftry-signature", signature)
            .header("content-type", "application/json")
            .body(reports.clone())
            .send()
    };
    support::problem(
        post_report(hub_signature("other", reports.as_bytes()))
            .await
            .unwrap(),
        401,
        "bad_signature",
    )
    .await;
    assert_eq!(delivery(&mut db, "99120034").await, (None, None, None));
    assert_eq!(
        body(
            post_report(hub_signature("gw-report-9", reports.as_bytes()))
                .await
                .unwrap(),
            200
        )
        .await,
        json!({"changed": 1})
    );
    let at = Utc.with_ymd_and_hms(2026, 12, 7, 4, 36, 20).unwrap().timestamp();
    assert_eq!(
        delivery(&mut db, "99120034").await,
        (
            Some("failed".into()),
            Some(at),
            Some("sms: absent subscriber".into())
        )
    );
    app.stop().await;
}

fn hub_signature(secret: &str, body: &[u8]) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

/// A Cloud API webhook body reporting `status` for each message.
fn status_webhook(statuses: &[(&str, &str, i64)]) -> Vec<u8> {
    let statuses: Vec<serde_json::Value> = statuses
        .iter()
        .map(|(id, status, at)| {
            let mut s = json!({"id": id, "status": status, "timestamp": at.to_string(), "recipient_id": "919845000111"});
            if *status == "failed" {
                s["errors"] = json!([{"code": 131026, "title": "Message undeliverable"}]);
            }
            s
        })
        .collect();
    serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "109876543210"},
            "statuses": statuses,
        }}]}],
    }))
    .unwrap()
}

/// (delivery_status, delivery_status_at as Unix seconds, delivery_error) of
/// the message with this provider id.
async fn delivery(db: &mut PgConnection, provider_id: &str) -> (Option<String>, Option<i64>, Option<String>) {
    sqlx::query_as(
        "SELECT delivery_status, extract(epoch FROM delivery_status_at)::bigint, delivery_error
           FROM notifications WHERE provider_message_id = $1",
    )
    .bind(provider_id)
    .fetch_one(db)
    .await
    .unwrap()
}

#[tokio::test]
async fn whatsapp_delivery_reports_are_checked_by_signature_and_only_move_a_message_forward() {
    let stand_in = WhatsAppStandIn::default();
    let port = stand_in.start().await;
    let app = TestApp::fresh_with(|config| {
        with_worker(config);
        config.notifications.whatsapp_api_url = format!("http://127.0.0.1:{port}/v21.0");
        config.notifications.whatsapp_phone_number_id = Some("109876543210".into());
        config.notifications.whatsapp_access_token = Some(ftry_app::settings::Secret::new("wa-token-5521"));
        config.notifications.whatsapp_app_secret = Some(ftry_app::settings::Secret::new("meta-app-secret-3"));
        config.notifications.whatsapp_verify_token = Some(ftry_app::settings::Secret::new("verify-me-9"));
    })
    .await;
    let (salon, client) = salon_and_client(
        &app,
        "Report Salon",
        json!({"name": "Kavya Nair", "phone": "+919845000111"}),
    )
    .await;
    let first = book(&app, &salon, &client, pune(day(3), 10, 0)).await;
    let second = book(&app, &salon, &client, pune(day(4), 10, 0)).await;
    let mut db = app.db.as_ref().unwrap().admin().await;
    wait_status(&mut db, &first, "booking_confirmed", "sent").await;
    wait_status(&mut db, &second, "booking_confirmed", "sent").await;
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT provider_message_id FROM notifications
          WHERE event = 'booking_confirmed' AND appointment_id = ANY($1::uuid[]) ORDER BY appointment_id = $2::uuid DESC",
    )
    .bind(vec![first.clone(), second.clone()])
    .bind(&first)
    .fetch_all(&mut db)
    .await
    .unwrap();
    let (a, b) = (ids[0].as_str(), ids[1].as_str());

    // Meta's subscription handshake.
    let handshake = |token: &str| {
        let path = format!(
            "/api/v1/hooks/whatsapp?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444"
        );
        let app = &app;
        async move { app.get(&path).await }
    };
    let answer = handshake("verify-me-9").await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.text().await.unwrap(), "1158201444");
    support::problem(handshake("guess").await, 403, "bad_verify_token").await;

    let post = |body: Vec<u8>, signature: Option<String>| {
        let mut request = app
            .client
            .post(app.url("/api/v1/hooks/whatsapp"))
            .header("content-type", "application/json")
            .body(body);
        if let Some(signature) = signature {
            request = request.header("x-hub-signature-256", signature);
        }
        async move { request.send().await.unwrap() }
    };
    let report = |statuses: &[(&str, &str, i64)]| {
        let body = status_webhook(statuses);
        let signature = hub_signature("meta-app-secret-3", &body);
        post(body, Some(signature))
    };
    assert_eq!(
        body(report(&[(a, "delivered", 1_765_080_000)]).await, 200).await,
        json!({"changed": 1})
    );
    assert_eq!(
        delivery(&mut db, a).await,
        (Some("delivered".into()), Some(1_765_080_000), None)
    );
    assert_eq!(
        body(report(&[(a, "read", 1_765_080_060)]).await, 200).await,
        json!({"changed": 1})
    );
    // Late reports of earlier states do not move it back; an unknown
    // message is acknowledged and ignored.
    assert_eq!(
        body(
            report(&[
                (a, "delivered", 1_765_080_000),
                (a, "sent", 1_765_079_990),
                ("wamid.ELSEWHERE", "read", 1)
            ])
            .await,
            200
        )
        .await,
        json!({"changed": 0})
    );
    assert_eq!(
        delivery(&mut db, a).await,
        (Some("read".into()), Some(1_765_080_060), None)
    );
    assert_eq!(
        body(report(&[(b, "failed", 1_765_080_100)]).await, 200).await,
        json!({"changed": 1})
    );
    assert_eq!(
        delivery(&mut db, b).await,
        (
            Some("failed".into()),
            Some(1_765_080_100),
            Some("whatsapp: (131026) Message undeliverable".into())
        )
    );

    // Unsigned, signed with another secret, or altered after signing: refused, nothing recorded.
    let forged = status_webhook(&[(b, "read", 1_765_080_200)]);
    support::problem(post(forged.clone(), None).await, 401, "bad_signature").await;
    support::problem(
        post(forged.clone(), Some(hub_signature("guessed", &forged))).await,
        401,
        "bad_signature",
    )
    .await;
    let signed = hub_signature("meta-app-secret-3", &status_webhook(&[(b, "sent", 1)]));
    support::problem(post(forged, Some(signed)).await, 401, "bad_signature").await;
    assert_eq!(delivery(&mut db, b).await.0.as_deref(), Some("failed"));
    app.stop().await;
}

#[tokio::test]
async fn a_finalized_invoice_is_mailed_to_its_client_with_a_link_that_opens_its_pdf_alone() {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let app = TestApp::fresh_with(|config| {
        with_worker(config);
        config.notifications.smtp_url = Some(url.try_into().unwrap());
    })
    .await;
    let (salon, client) = salon_with_client(&app, "asha.rao@example.com").await;
    let appointment = book(&app, &salon, &client, pune(day(2), 10, 0)).await;
    let mut db = app.db.as_ref().unwrap().admin().await;
    wait_status(&mut db, &appointment, "booking_confirmed", "sent").await;
    let draft = body(
        post(
            &app,
            salon.token(),
            "/api/v1/invoices",
            &json!({"location_id": salon.location, "appointment_id": appointment}),
        )
        .await,
        201,
    )
    .await;
    let invoice = draft["id"].as_str().unwrap().to_owned();
    let finalized = body(
        post(
            &app,
            salon.token(),
            &format!("/api/v1/invoices/{invoice}/finalize"),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    let number = finalized["number"].as_str().unwrap().to_owned();
    assert_eq!(finalized["total_paise"], 50_000);

    let started = Instant::now();
    loop {
        let receipts: Vec<(String, String)> = sqlx::query_as(
            "SELECT channel, status FROM notifications WHERE invoice_id = $1::uuid AND event = 'receipt'",
        )
        .bind(&invoice)
        .fetch_all(&mut db)
        .await
        .unwrap();
        if receipts == [("email".to_owned(), "sent".to_owned())] {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{receipts:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mails = smtp.wait_for(2).await;
    assert_eq!(mails.len(), 2);
    let mail = &mails[1];
    assert_eq!(header(mail, "To"), "asha.rao@example.com");
    assert_eq!(
        header(mail, "Subject"),
        format!("Invoice {number} from Mail Salon")
    );
    let text = quoted_printable(mail);
    assert!(
        text.contains("Invoice ") && text.contains(" for ₹500.00 is ready:"),
        "{text}"
    );
    let prefix = "http://127.0.0.1:8080/api/v1/public/invoices/";
    let start = text.find(prefix).expect("a link to the invoice") + prefix.len();
    let rest = &text[start..];
    let token = rest.split("/pdf").next().unwrap().to_owned();

    // The link opens this invoice's PDF without a login…
    let pdf = app.get(&format!("/api/v1/public/invoices/{token}/pdf")).await;
    assert_eq!(pdf.status(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let bytes = pdf.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-"), "a PDF");
    // …and nothing else: altered, or a login token in its place, it opens nothing.
    let mut altered = token.clone().into_bytes();
    let last = altered.len() - 1;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    for wrong in [altered.as_str(), salon.token(), "not-a-token"] {
        support::problem(
            app.get(&format!("/api/v1/public/invoices/{wrong}/pdf")).await,
            404,
            "not_found",
        )
        .await;
    }
    // Nor does the receipt's token sign anyone in.
    let signed_in = app
        .client
        .get(app.url("/api/v1/invoices"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 401);

    // The owner's log of messages: by invoice, by visit, by status, paged.
    let log = |query: String| {
        let request = app.authed(
            reqwest::Method::GET,
            &format!("/api/v1/notifications{query}"),
            salon.token(),
        );
        async move { request.send().await.unwrap() }
    };
    let by_invoice = body(log(format!("?invoice_id={invoice}")).await, 200).await;
    let items = by_invoice["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        (
            &items[0]["event"],
            &items[0]["channel"],
            &items[0]["status"],
            &items[0]["provider"],
            &items[0]["appointment_id"]
        ),
        (
            &json!("receipt"),
            &json!("email"),
            &json!("sent"),
            &json!("smtp"),
            &json!(appointment)
        )
    );
    let by_visit = body(log(format!("?appointment_id={appointment}&limit=2")).await, 200).await;
    let events: Vec<&str> = by_visit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["receipt", "reminder"], "newest first");
    let cursor = by_visit["next_cursor"].as_str().unwrap().to_owned();
    let rest = body(
        log(format!("?appointment_id={appointment}&limit=2&cursor={cursor}")).await,
        200,
    )
    .await;
    let events: Vec<&str> = rest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["reminder", "booking_confirmed"]);
    let sent = body(log(format!("?client_id={client}&status=sent")).await, 200).await;
    assert_eq!(
        sent["items"].as_array().unwrap().len(),
        2,
        "the confirmation and the receipt"
    );
    support::invalid(log("?status=lost".into()).await, "status").await;
    let stylist = app
        .add_member(salon.token(), &salon.tenant.to_string(), &["stylist"])
        .await
        .1;
    support::problem(
        app.authed(reqwest::Method::GET, "/api/v1/notifications", &stylist)
            .send()
            .await
            .unwrap(),
        403,
        "permission_denied",
    )
    .await;

    // A walk-in sale names no client: no receipt.
    let walk_in = body(
        post(
            &app,
            salon.token(),
            "/api/v1/invoices",
            &json!({"location_id": salon.location, "customer": {"name": "Walk-in guest"}}),
        )
        .await,
        201,
    )
    .await;
    let walk_in = walk_in["id"].as_str().unwrap().to_owned();
    body(
        post(
            &app,
            salon.token(),
            &format!("/api/v1/invoices/{walk_in}/lines"),
            &json!({"kind": "service", "service_id": salon.services[0], "staff_id": salon.stylists[0]}),
        )
        .await,
        201,
    )
    .await;
    body(
        post(
            &app,
            salon.token(),
            &format!("/api/v1/invoices/{walk_in}/finalize"),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    let started = Instant::now();
    while sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM domain_events WHERE subject_id = $1::uuid AND processed_at IS NULL",
    )
    .bind(&walk_in)
    .fetch_one(&mut db)
    .await
    .unwrap()
        > 0
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the sale's event was not handled"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let receipts: i64 = sqlx::query_scalar("SELECT count(*) FROM notifications WHERE invoice_id = $1::uuid")
        .bind(&walk_in)
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(receipts, 0);
    app.stop().await;
}

/// An SMS provider that honours idempotency keys, as real ones do: the
/// first request with a key is delivered (its answer held back, as if lost
/// on the way), a repeat of the key gets the same message id and delivers
/// nothing.
#[derive(Clone, Default)]
struct IdempotentProvider {
    /// Idempotency key of every request, in arrival order.
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// Keys delivered to a phone, each once.
    delivered: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl IdempotentProvider {
    async fn start(&self) -> u16 {
        let provider = self.clone();
        let app = axum::Router::new().route(
            "/v1/sms",
            axum::routing::post(move |headers: axum::http::HeaderMap| {
                let provider = provider.clone();
                async move {
                    let key = headers["idempotency-key"].to_str().unwrap().to_owned();
                    provider.requests.lock().unwrap().push(key.clone());
                    let first = {
                        let mut delivered = provider.delivered.lock().unwrap();
                        let first = !delivered.contains(&key);
                        if first {
                            delivered.push(key.clone());
                        }
                        first
                    };
                    if first {
                        // Delivered; the answer never reaches the sender.
                        tokio::time::sleep(Duration::from_secs(120)).await;
                    }
                    axum::Json(json!({"id": format!("gw-{key}")}))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        port
    }
}

#[tokio::test]
async fn a_worker_killed_mid_send_leaves_the_message_to_another_which_sends_it_once() {
    let provider = IdempotentProvider::default();
    let port = provider.start().await;
    let sms_url = format!("http://127.0.0.1:{port}/v1/sms");
    // The booking, made with no worker running.
    let db = support::TestDb::create().await;
    let mut config = support::config_for(&db);
    config.notifications.sms_http_url = Some(sms_url.clone());
    let mut app = TestApp::spawn(config).await;
    app.db = Some(db.clone());
    let (salon, client) = salon_and_client(
        &app,
        "Crash Salon",
        json!({"name": "Arjun Rao", "phone": "+919845000222"}),
    )
    .await;
    let appointment = book(&app, &salon, &client, pune(day(3), 10, 0)).await;
    app.stop().await;

    let root = support::traversable_tempdir();
    let worker = |admin_port: u16| {
        let envs = vec![
            ("DATABASE_URL", db.app_url()),
            ("FTRY_DATABASE_OWNER_URL", db.owner_url()),
            ("FTRY_ADMIN_ADDR", format!("127.0.0.1:{admin_port}")),
            ("FTRY_JOBS_POLL_INTERVAL_MS", "50".to_owned()),
            ("FTRY_JOBS_LEASE_GRACE_SECS", "1".to_owned()),
            ("FTRY_NOTIFICATIONS_SMS_HTTP_URL", sms_url.clone()),
        ];
        support::FtryProcess::worker(&envs, root.path())
    };
    // The first worker plans the messages and sends the confirmation: the
    // provider takes it, and the worker dies before the answer arrives.
    let mut first = worker(support::free_port());
    let started = Instant::now();
    while provider.requests.lock().unwrap().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no message reached the provider"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.signal(nix::sys::signal::Signal::SIGKILL);
    first.wait_exit(Duration::from_secs(10));
    let mut db_conn = db.admin().await;
    let id: String = sqlx::query_scalar(
        "SELECT id::text FROM notifications WHERE appointment_id = $1::uuid AND event = 'booking_confirmed'",
    )
    .bind(&appointment)
    .fetch_one(&mut db_conn)
    .await
    .unwrap();
    assert_eq!(*provider.requests.lock().unwrap(), [id.as_str()]);
    // Its lease runs out (brought forward rather than waited for: the
    // message job's lease is its 60 s timeout and a grace).
    let leased = sqlx::query(
        "UPDATE jobs SET locked_until = now() WHERE state = 'running' AND kind = 'notification.send'",
    )
    .execute(&mut db_conn)
    .await
    .unwrap()
    .rows_affected();
    assert_eq!(leased, 1, "the killed worker's send is still leased to it");

    // Another worker reclaims it and sends again with the same key: the
    // provider delivers nothing new, and the message is recorded sent once.
    let mut second = worker(support::free_port());
    wait_status(&mut db_conn, &appointment, "booking_confirmed", "sent").await;
    assert_eq!(*provider.requests.lock().unwrap(), [id.as_str(), id.as_str()]);
    assert_eq!(
        *provider.delivered.lock().unwrap(),
        [id.as_str()],
        "delivered once"
    );
    let (provider_id, attempts): (String, i32) =
        sqlx::query_as("SELECT provider_message_id, attempts FROM notifications WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&mut db_conn)
            .await
            .unwrap();
    assert_eq!((provider_id, attempts), (format!("gw-{id}"), 1));
    // The message is recorded as sent inside the attempt; the attempt's own
    // outcome is written as it ends, a moment later on a loaded machine.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let outcomes = loop {
        let outcomes: Vec<Option<String>> = sqlx::query_scalar(
            "SELECT r.outcome FROM job_runs r JOIN jobs j ON j.id = r.job_id
              WHERE j.kind = 'notification.send' AND j.payload->>'notification_id' = $1 ORDER BY r.attempt",
        )
        .bind(&id)
        .fetch_all(&mut db_conn)
        .await
        .unwrap();
        if outcomes.iter().all(Option::is_some) || std::time::Instant::now() > deadline {
            break outcomes;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(outcomes, [Some("expired".to_owned()), Some("success".to_owned())]);
    second.signal(nix::sys::signal::Signal::SIGTERM);
    second.wait_exit(Duration::from_secs(20));
}

/// The decoded text of a mail's part of `content_type` (`text/plain`,
/// `text/html`), whatever transfer encoding it was sent in.
fn mime_part(message: &str, content_type: &str) -> String {
    use base64::Engine;
    let message = message.replace("\r\n", "\n");
    let start = message
        .find(&format!("Content-Type: {content_type}"))
        .unwrap_or_else(|| panic!("no {content_type} part in:\n{message}"));
    let (headers, rest) = message[start..].split_once("\n\n").unwrap();
    let body = &rest[..rest.find("\n--").unwrap_or(rest.len())];
    let encoding = headers
        .lines()
        .find_map(|l| l.strip_prefix("Content-Transfer-Encoding: "))
        .unwrap_or("7bit");
    match encoding.trim() {
        "base64" => String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(body.replace('\n', ""))
                .unwrap(),
        )
        .unwrap(),
        "quoted-printable" => quoted_printable(body),
        _ => body.to_owned(),
    }
}

async fn put_json(app: &TestApp, token: &str, path: &str, body: &serde_json::Value) -> reqwest::Response {
    support::send(app, token, reqwest::Method::PUT, path, Some(body)).await
}

#[tokio::test]
async fn a_business_words_its_messages_in_its_clients_languages_with_its_own_reminder_times() {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let app = TestApp::fresh_with(|config| {
        with_worker(config);
        config.notifications.smtp_url = Some(url.try_into().unwrap());
        config.notifications.from = "Bhasha Salon <salon@example.com>".into();
    })
    .await;
    let (salon, marathi) = salon_and_client(
        &app,
        "Bhasha Salon",
        json!({"name": "Ravi <Kumar>", "email": "ravi@example.com", "language": "mr"}),
    )
    .await;
    let english = body(
        post(
            &app,
            salon.token(),
            "/api/v1/clients",
            &json!({"name": "Asha Rao", "email": "asha@example.com", "language": "en"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(english["language"], "en");
    let english = english["id"].as_str().unwrap().to_owned();

    // Until the business sets its own, the installation's apply.
    assert_eq!(
        body(get(&app, salon.token(), "/api/v1/messaging").await, 200).await,
        json!({"reminder_hours": [24, 2], "quiet_hours": "21:00-08:00", "language": "en",
               "dlt_entity_id": null, "own": false})
    );
    let patch = |change: serde_json::Value| {
        let (app, token) = (&app, salon.token());
        async move {
            support::send(
                app,
                token,
                reqwest::Method::PATCH,
                "/api/v1/messaging",
                Some(&change),
            )
            .await
        }
    };
    support::invalid(patch(json!({"reminder_hours": [0]})).await, "reminder_hours").await;
    support::invalid(patch(json!({"quiet_hours": "late"})).await, "quiet_hours").await;
    support::invalid(patch(json!({"language": "Hindi"})).await, "language").await;
    assert_eq!(
        body(
            patch(json!({"reminder_hours": [3, 48, 3], "quiet_hours": "22:00-07:00", "language": "hi"}))
                .await,
            200
        )
        .await,
        json!({"reminder_hours": [48, 3], "quiet_hours": "22:00-07:00", "language": "hi",
               "dlt_entity_id": null, "own": true})
    );

    // The business's Hindi and English wordings of the confirmation.
    let hindi = json!({
        "subject": "{{salon}}: booking on {{date}}",
        "body": "नमस्ते {{client_name}},\r\n\r\n{{date}} को {{time}} बजे: {{services}} ({{staff}}).\r\nबदलें या रद्द करें: {{manage_link}}",
    });
    let saved = body(
        put_json(
            &app,
            salon.token(),
            "/api/v1/messaging/templates/booking_confirmed/email/hi",
            &hindi,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        saved["body"],
        "नमस्ते {{client_name}},\n\n{{date}} को {{time}} बजे: {{services}} ({{staff}}).\nबदलें या रद्द करें: {{manage_link}}"
    );
    body(
        put_json(
            &app,
            salon.token(),
            "/api/v1/messaging/templates/booking_confirmed/email/en",
            &json!({"subject": "See you, {{client_name}}", "body": "{{when}} at {{branch}}."}),
        )
        .await,
        200,
    )
    .await;
    // Wordings that cannot work are refused, naming what is wrong.
    let refused = support::invalid(
        put_json(
            &app,
            salon.token(),
            "/api/v1/messaging/templates/reminder/email/hi",
            &json!({"subject": "Reminder", "body": "Bill {{invoice_number}}"}),
        )
        .await,
        "body",
    )
    .await;
    assert_eq!(
        refused["errors"][0]["message"],
        "`{{invoice_number}}` has no value in this message"
    );
    let refused = support::invalid(
        put_json(
            &app,
            salon.token(),
            "/api/v1/messaging/templates/receipt/sms/hi",
            &json!({"body": "{{total}}"}),
        )
        .await,
        "channel",
    )
    .await;
    assert_eq!(refused["errors"][0]["message"], "receipts go by email only");
    let listed = body(get(&app, salon.token(), "/api/v1/messaging/templates").await, 200).await;
    let keys: Vec<(&str, &str, &str)> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["event"].as_str().unwrap(),
                t["channel"].as_str().unwrap(),
                t["language"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            ("booking_confirmed", "email", "en"),
            ("booking_confirmed", "email", "hi")
        ]
    );
    // Another business sees none of this one's wordings.
    let other = app.signup("Other Salon").await;
    let theirs = get(
        &app,
        &other.access_token,
        "/api/v1/messaging/templates/booking_confirmed/email/hi",
    )
    .await;
    assert_eq!(theirs.status(), 404);
    let theirs = body(
        get(&app, &other.access_token, "/api/v1/messaging/templates").await,
        200,
    )
    .await;
    assert_eq!(theirs["items"], json!([]));
    assert_eq!(listed["messages"][5]["event"], "receipt");
    assert_eq!(listed["messages"][5]["channels"], json!(["email"]));

    // Ravi reads Marathi, which the business has no wording in: its Hindi.
    let starts = pune(day(3), 10, 0);
    let appointment = book(&app, &salon, &marathi, starts).await;
    let mails = smtp.wait_for(1).await;
    let mail = &mails[0];
    let date = day(3).format("%d/%m/%Y").to_string();
    assert_eq!(
        header(mail, "Subject"),
        format!("Bhasha Salon: booking on {date}")
    );
    let text = mime_part(mail, "text/plain");
    let link = text.split("रद्द करें: ").nth(1).unwrap().trim_end().to_owned();
    assert!(link.starts_with("http://") && link.contains("/b/"), "{link}");
    assert_eq!(
        text,
        format!("नमस्ते Ravi <Kumar>,\n\n{date} को 10:00 बजे: Haircut (Stylist 0).\nबदलें या रद्द करें: {link}\n")
    );
    let html = mime_part(mail, "text/html");
    assert!(html.contains("<p>नमस्ते Ravi &lt;Kumar&gt;,</p>"), "{html}");
    assert!(html.contains(&format!("<a href=\"{link}\">")), "{html}");

    // The link opens the visit, for the client, without a login.
    let token = link.rsplit("/b/").next().unwrap();
    let opened = body(
        app.client
            .get(app.url(&format!("/api/v1/public/bookings/{token}")))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(opened["status"], "booked");
    assert_eq!(opened["starts_at"], json!(starts));
    let page = app
        .client
        .get(app.url(&format!("/b/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Haircut"));
    let tampered = format!("{}x", &token[..token.len() - 1]);
    let refused = app
        .client
        .get(app.url(&format!("/api/v1/public/bookings/{tampered}")))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 404);

    // The business's reminder times and quiet hours: 48 h before, and 3 h
    // before (07:00, the end of its quiet hours, not the installation's 08:00).
    let mut db = app.db.as_ref().unwrap().admin().await;
    let reminders: Vec<DateTime<Utc>> = planned(&mut db, &appointment)
        .await
        .into_iter()
        .filter(|r| r.0 == "reminder")
        .map(|r| r.2)
        .collect();
    assert_eq!(reminders, [pune(day(1), 10, 0), pune(day(3), 7, 0)]);

    // Asha reads English: the business's English wording.
    book(&app, &salon, &english, pune(day(3), 12, 0)).await;
    let mails = smtp.wait_for(2).await;
    assert_eq!(header(&mails[1], "Subject"), "See you, Asha Rao");
    assert_eq!(
        mime_part(&mails[1], "text/plain"),
        format!("{} at 12:00 PM at Main branch.\n", day(3).format("%A, %-d %B %Y"))
    );

    // Deleted: ftry's own wording again; the audit log keeps each change.
    let deleted = support::send(
        &app,
        salon.token(),
        reqwest::Method::DELETE,
        "/api/v1/messaging/templates/booking_confirmed/email/en",
        None,
    )
    .await;
    assert_eq!(deleted.status(), 204);
    book(&app, &salon, &english, pune(day(4), 12, 0)).await;
    let mails = smtp.wait_for(3).await;
    assert_eq!(header(&mails[2], "Subject"), "Booked: Haircut at Bhasha Salon");
    // ftry's own wording links to the visit's page too.
    let text = mime_part(&mails[2], "text/plain");
    let link = text
        .split("See, move or cancel it: ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .unwrap_or_else(|| panic!("no link in {text}"));
    let token = link.rsplit("/b/").next().unwrap();
    let opened = body(
        app.client
            .get(app.url(&format!("/api/v1/public/bookings/{token}")))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(opened["starts_at"], json!(pune(day(4), 12, 0)));
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_events WHERE action LIKE 'messag%' ORDER BY occurred_at, id",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert_eq!(
        actions,
        [
            "messaging.updated",
            "message_template.saved",
            "message_template.saved",
            "message_template.deleted"
        ]
    );
    app.stop().await;
}

#[tokio::test]
async fn a_business_s_own_sms_and_whatsapp_wording_carry_its_dlt_ids_and_approved_template() {
    let whatsapp = WhatsAppStandIn::default();
    let whatsapp_port = whatsapp.start().await;
    let sms = SmsStandIn::answering(json!({"data": {"id": "gw-1"}}));
    let sms_port = sms.start().await;
    let app = TestApp::fresh_with(|config| {
        with_worker(config);
        config.notifications.whatsapp_api_url = format!("http://127.0.0.1:{whatsapp_port}/v21.0");
        config.notifications.whatsapp_phone_number_id = Some("109876543210".into());
        config.notifications.whatsapp_access_token = Some(ftry_app::settings::Secret::new("wa-token-5521"));
        config.notifications.sms_http_url = Some(format!("http://127.0.0.1:{sms_port}/v1/sms"));
        config.notifications.sms_http_sender = Some("FTRYSL".into());
        config.notifications.dlt_entity_id = Some("1101000000000000001".into());
        config.notifications.dlt_template_ids = sms_events("110700000000000000");
    })
    .await;
    let (salon, client) = salon_and_client(
        &app,
        "Vani Salon",
        json!({"name": "Kavya Nair", "phone": "+919845000333", "language": "hi"}),
    )
    .await;
    let patch = support::send(
        &app,
        salon.token(),
        reqwest::Method::PATCH,
        "/api/v1/messaging",
        Some(&json!({"dlt_entity_id": "1201555500000000009"})),
    )
    .await;
    assert_eq!(body(patch, 200).await["dlt_entity_id"], "1201555500000000009");
    let refused = support::invalid(
        put_json(
            &app,
            salon.token(),
            "/api/v1/messaging/templates/booking_confirmed/whatsapp/hi",
            &json!({"body": "{{client_name}}"}),
        )
        .await,
        "provider_template",
    )
    .await;
    assert_eq!(
        refused["errors"][0]["message"],
        "is required for WhatsApp: the name the template was approved under"
    );
    body(
        put_json(
            &app,
            salon.token(),
            "/api/v1/messaging/templates/booking_confirmed/whatsapp/hi",
            // A blank line between parameters is not a parameter.
            &json!({"provider_template": "vani_booked_hi", "body": "{{client_name}}\n\n{{date}}\n{{time}}"}),
        )
        .await,
        200,
    )
    .await;
    body(
        put_json(
            &app,
            salon.token(),
            "/api/v1/messaging/templates/booking_confirmed/sms/hi",
            &json!({"body": "{{salon}}: {{services}} {{date}} {{time}} बजे", "dlt_template_id": "1207000000000000042"}),
        )
        .await,
        200,
    )
    .await;
    let appointment = book(&app, &salon, &client, pune(day(3), 10, 0)).await;
    let mut db = app.db.as_ref().unwrap().admin().await;
    let started = Instant::now();
    loop {
        let rows = messages_of(&mut db, &appointment, "booking_confirmed").await;
        if rows.len() == 2 && rows.iter().all(|m| m.1 == "sent") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "not sent");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let date = day(3).format("%d/%m/%Y").to_string();
    let whatsapp = whatsapp.received.lock().unwrap().clone();
    assert_eq!(whatsapp.len(), 1);
    assert_eq!(
        whatsapp[0].1,
        json!({
            "messaging_product": "whatsapp",
            "to": "919845000333",
            "type": "template",
            "template": {
                "name": "vani_booked_hi",
                "language": {"code": "hi"},
                "components": [{"type": "body", "parameters": [
                    {"type": "text", "text": "Kavya Nair"},
                    {"type": "text", "text": date},
                    {"type": "text", "text": "10:00"},
                ]}],
            },
        })
    );
    let sms = sms.received.lock().unwrap().clone();
    assert_eq!(sms.len(), 1);
    let id: String = sqlx::query_scalar(
        "SELECT id::text FROM notifications WHERE appointment_id = $1::uuid AND channel = 'sms'
            AND event = 'booking_confirmed'",
    )
    .bind(&appointment)
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert_eq!(
        sms[0].2,
        json!({
            "to": "+919845000333",
            "text": format!("Vani Salon: Haircut {date} 10:00 बजे"),
            "sender": "FTRYSL",
            "reference": id,
            "dlt_entity_id": "1201555500000000009",
            "dlt_template_id": "1207000000000000042",
        })
    );
    app.stop().await;
}
