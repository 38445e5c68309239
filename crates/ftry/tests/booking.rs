//! Booking through the API against a real PostgreSQL: the happy path, bad
//! input refused precisely and without half-written rows, multi-service
//! visits, the database's own refusal of double bookings (also under
//! concurrency), idempotent retries, the life of an appointment, the
//! availability and calendar views, and online booking by clients.

mod support;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::{Connection, Executor, PgConnection};
use support::salon::{self as fixture, add_client, day, pune, Service, Setup, IST};
use support::{admin, body, get, invalid, post, TestApp};
use uuid::Uuid;

const NEW_YORK: chrono_tz::Tz = chrono_tz::America::New_York;

/// The suite's salon (`support::salon`, two chairs) with a haircut (45 min +
/// 15 min cleanup) and a colour (120 min, the client on a chair throughout,
/// the stylist free from minute 30 to minute 90 while it develops).
struct Salon {
    base: fixture::Salon,
    haircut: Uuid,
    colour: Uuid,
    chair: Uuid,
    second_chair: Uuid,
}

impl std::ops::Deref for Salon {
    type Target = fixture::Salon;

    fn deref(&self) -> &fixture::Salon {
        &self.base
    }
}

const HAIRCUT: Service = Service {
    buffer_after_minutes: 15,
    ..Service::new("Haircut", 45, 80000)
};
const COLOUR: Service = Service {
    processing: Some((30, 60)),
    resource_type: Some("chair"),
    ..Service::new("Global colour", 120, 350000)
};

async fn salon(app: &TestApp) -> Salon {
    salon_with(app, "Booking Test Salon", 2).await
}

async fn salon_with(app: &TestApp, name: &str, stylist_count: usize) -> Salon {
    let setup = Setup {
        name,
        stylists: stylist_count,
        categories: &[],
        services: &[HAIRCUT, COLOUR],
        chairs: 2,
    };
    let base = fixture::Salon::create(app, setup).await;
    Salon {
        haircut: base.services[0],
        colour: base.services[1],
        chair: base.chairs[0],
        second_chair: base.chairs[1],
        base,
    }
}

/// Run statements as the superuser (values are the test's own, formatted in).
async fn sql(app: &TestApp, statements: &str) {
    let mut db = admin(app).await;
    db.execute(statements).await.unwrap();
    db.close().await.unwrap();
}

async fn count(app: &TestApp, query: &str) -> i64 {
    let mut db = admin(app).await;
    let n = sqlx::query_scalar(query).fetch_one(&mut db).await.unwrap();
    db.close().await.unwrap();
    n
}

/// Rows a booking writes, across the whole database.
async fn written(app: &TestApp) -> [i64; 5] {
    [
        count(app, "SELECT count(*) FROM appointments").await,
        count(app, "SELECT count(*) FROM appointment_items").await,
        count(app, "SELECT count(*) FROM appointment_events").await,
        count(app, "SELECT count(*) FROM clients").await,
        count(app, "SELECT count(*) FROM domain_events").await,
    ]
}

fn instant(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a time: {value}"))
        .parse()
        .unwrap()
}

/// 10:00 in Pune, `days` from today.
fn at_ten(days: i64) -> DateTime<Utc> {
    let date: NaiveDate = (Utc::now() + Duration::days(days)).date_naive();
    pune(date, 10, 0)
}

/// Wall-clock starts `from..=to` every 15 minutes on `date`, as `local_start` shows them.
fn every_quarter(date: NaiveDate, from: (u32, u32), to: (u32, u32)) -> Vec<String> {
    let first = date.and_hms_opt(from.0, from.1, 0).unwrap();
    let last = date.and_hms_opt(to.0, to.1, 0).unwrap();
    let mut out = Vec::new();
    let mut at = first;
    while at <= last {
        out.push(at.format("%Y-%m-%dT%H:%M:%S").to_string());
        at += Duration::minutes(15);
    }
    out
}

fn local_starts(slots: &Value) -> Vec<String> {
    slots["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|slot| slot["local_start"].as_str().unwrap().to_owned())
        .collect()
}

fn booking(salon: &Salon, start: DateTime<Utc>, staff: Uuid) -> Value {
    json!({
        "location_id": salon.location,
        "client_id": salon.client,
        "start": start,
        "items": [{"service_id": salon.haircut, "staff_id": staff}],
    })
}

async fn book(app: &TestApp, salon: &Salon, body: &Value) -> reqwest::Response {
    post(app, salon.token(), "/api/v1/appointments", body).await
}

/// Book and return the created appointment (panics unless 201).
async fn booked(app: &TestApp, salon: &Salon, request: &Value) -> Value {
    body(book(app, salon, request).await, 201).await
}

async fn set_status(app: &TestApp, salon: &Salon, id: &str, status: &str) -> reqwest::Response {
    post(
        app,
        salon.token(),
        &format!("/api/v1/appointments/{id}/status"),
        &json!({ "status": status }),
    )
    .await
}

async fn availability(app: &TestApp, salon: &Salon, query: &str) -> Value {
    let path = format!("/api/v1/locations/{}/availability?{query}", salon.location);
    body(get(app, salon.token(), &path).await, 200).await
}

// ---------------------------------------------------------------------------
// The happy path and the 50-way races.

#[tokio::test]
async fn a_booked_slot_is_refused_to_the_next_booking_until_it_is_cancelled() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    let start = at_ten(3);
    let first = book(&app, &salon, &booking(&salon, start, salon.stylists[0])).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["status"], "booked");
    assert_eq!(first["items"][0]["starts_at"], json!(start));
    assert_eq!(first["items"][0]["ends_at"], json!(start + Duration::minutes(45)));
    assert_eq!(first["items"][0]["price_paise"], 80000);

    // 10:45 is still inside the 15-minute cleanup after the haircut.
    let during_cleanup = book(
        &app,
        &salon,
        &booking(&salon, start + Duration::minutes(45), salon.stylists[0]),
    )
    .await;
    let body = support::problem(during_cleanup, 409, "slot_unavailable").await;
    assert!(body["detail"].as_str().unwrap().contains("not free"), "{body}");
    let next_free = book(
        &app,
        &salon,
        &booking(&salon, start + Duration::minutes(60), salon.stylists[0]),
    )
    .await;
    assert_eq!(next_free.status(), 201);

    let id = first["id"].as_str().unwrap();
    let cancelled = app
        .authed(
            Method::POST,
            &format!("/api/v1/appointments/{id}/cancel"),
            &salon.business.access_token,
        )
        .json(&json!({"reason": "client called"}))
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), 200);
    let again = book(&app, &salon, &booking(&salon, start, salon.stylists[0])).await;
    assert_eq!(again.status(), 201, "cancelling frees the time at once");
    app.stop().await;
}

/// Fire `n` bookings at once; return how many got each status.
async fn race(app: &TestApp, salon: &Salon, bodies: Vec<Value>) -> (usize, usize, Vec<u16>) {
    let requests = bodies.into_iter().map(|body| {
        let request = app
            .authed(Method::POST, "/api/v1/appointments", &salon.business.access_token)
            .json(&body);
        async move { request.send().await.unwrap().status().as_u16() }
    });
    let statuses = futures_join_all(requests).await;
    let created = statuses.iter().filter(|s| **s == 201).count();
    let conflicts = statuses.iter().filter(|s| **s == 409).count();
    (created, conflicts, statuses)
}

async fn futures_join_all<T: Send + 'static, F: std::future::Future<Output = T> + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<T> {
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

/// An app for the races: they test booking under contention, so each user's
/// request quota (tested in `rate_limits`) is raised out of their way.
async fn racing_app() -> TestApp {
    TestApp::fresh_with(|config| config.rate_limit.api.limit = 100_000).await
}

fn rounds() -> usize {
    // The long-running profile (FTRY_LONG_TESTS=1) repeats each race 100 times.
    if std::env::var("FTRY_LONG_TESTS").is_ok_and(|v| v == "1") {
        100
    } else {
        3
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_bookings_of_one_staff_slot_give_one_success_and_49_conflicts() {
    let app = racing_app().await;
    let salon = salon(&app).await;
    for round in 0..rounds() {
        let start =
            at_ten(2) + Duration::minutes(60 * (round as i64 % 10)) + Duration::days(round as i64 / 10);
        let bodies = vec![booking(&salon, start, salon.stylists[0]); 50];
        let (created, conflicts, statuses) = race(&app, &salon, bodies).await;
        assert_eq!((created, conflicts), (1, 49), "round {round}: {statuses:?}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_bookings_of_one_chair_give_one_success() {
    let app = racing_app().await;
    let salon = salon(&app).await;
    for round in 0..rounds() {
        let start = at_ten(2) + Duration::days(round as i64);
        // Different stylists, the same chair: only the chair can refuse the second.
        let bodies = (0..50)
            .map(|i| {
                json!({
                    "location_id": salon.location, "client_id": salon.client, "start": start,
                    "items": [{"service_id": salon.colour, "staff_id": salon.stylists[i % 2], "resource_id": salon.chair}],
                })
            })
            .collect();
        let (created, conflicts, statuses) = race(&app, &salon, bodies).await;
        assert_eq!((created, conflicts), (1, 49), "round {round}: {statuses:?}");
    }
    app.stop().await;
}

// ---------------------------------------------------------------------------
// Bad input: a precise 4xx, and not one row written.

#[tokio::test]
async fn a_start_in_the_past_is_refused_as_an_invalid_start_and_writes_nothing() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    let before = written(&app).await;
    let yesterday = pune(day(-1), 10, 0);
    invalid(
        book(&app, &salon, &booking(&salon, yesterday, salon.stylists[0])).await,
        "start",
    )
    .await;
    // Letting the salon choose the stylist does not turn a bad start into a "slot taken".
    let mut any = booking(&salon, yesterday, salon.stylists[0]);
    any["items"][0].as_object_mut().unwrap().remove("staff_id");
    invalid(book(&app, &salon, &any).await, "start").await;
    assert_eq!(written(&app).await, before);
    app.stop().await;
}

#[tokio::test]
async fn an_online_booking_beyond_the_horizon_is_refused_as_an_invalid_start_and_writes_nothing() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    let before = written(&app).await;
    // The branch takes online bookings up to 60 days ahead (the default).
    for staff in [json!(salon.stylists[0]), Value::Null] {
        let request = json!({
            "location_id": salon.location,
            "start": pune(day(61), 10, 0),
            "items": [{"service_id": salon.haircut, "staff_id": staff}],
            "client": {"name": "Kavya Rao", "phone": "+919900011122"},
        });
        let path = format!("/api/v1/public/{}/bookings", salon.business.slug);
        invalid(app.post_json(&path, &request).await, "start").await;
    }
    assert_eq!(written(&app).await, before, "not even the new client is kept");
    // The front desk may book that far ahead.
    booked(
        &app,
        &salon,
        &booking(&salon, pune(day(61), 10, 0), salon.stylists[0]),
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn a_staff_member_who_does_not_perform_the_service_is_refused_on_that_item() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    sql(
        &app,
        &format!(
            "DELETE FROM staff_services WHERE staff_id = '{}' AND service_id = '{}'",
            salon.stylists[1], salon.colour
        ),
    )
    .await;
    let before = written(&app).await;
    let request = json!({
        "location_id": salon.location, "client_id": salon.client, "start": at_ten(3),
        "items": [{"service_id": salon.colour, "staff_id": salon.stylists[1], "resource_id": salon.chair}],
    });
    let problem = invalid(book(&app, &salon, &request).await, "items[0].staff_id").await;
    assert_eq!(
        problem["errors"][0]["message"],
        "item 0: the staff member does not perform this service"
    );
    // The same on the second item of a visit.
    let request = json!({
        "location_id": salon.location, "client_id": salon.client, "start": at_ten(3),
        "items": [{"service_id": salon.haircut, "staff_id": salon.stylists[1]},
                  {"service_id": salon.colour, "staff_id": salon.stylists[1], "resource_id": salon.chair}],
    });
    invalid(book(&app, &salon, &request).await, "items[1].staff_id").await;
    assert_eq!(written(&app).await, before);
    app.stop().await;
}

/// A visit whose every item names who does it is checked against those
/// staff members' own time: a colleague's visit then is no obstacle, and a
/// named member's visit refuses the item it falls on.
#[tokio::test]
async fn a_visit_naming_its_staff_is_checked_against_each_named_member() {
    let app = TestApp::fresh().await;
    let salon = salon_with(&app, "Named Staff Salon", 3).await;
    let ten = at_ten(3);
    booked(&app, &salon, &booking(&salon, ten, salon.stylists[1])).await;
    let visit = |second: Uuid| {
        json!({
            "location_id": salon.location, "client_id": salon.client, "start": ten - Duration::minutes(45),
            "items": [{"service_id": salon.haircut, "staff_id": salon.stylists[2]},
                      {"service_id": salon.haircut, "staff_id": second}],
        })
    };
    let before = written(&app).await;
    let problem = support::problem(
        book(&app, &salon, &visit(salon.stylists[1])).await,
        409,
        "slot_unavailable",
    )
    .await;
    assert_eq!(problem["detail"], "Item 1: the staff member is not free then");
    assert_eq!(written(&app).await, before);
    let created = booked(&app, &salon, &visit(salon.stylists[0])).await;
    assert_eq!(created["items"][0]["staff_id"], json!(salon.stylists[2]));
    assert_eq!(
        created["items"][0]["starts_at"],
        json!(ten - Duration::minutes(45))
    );
    assert_eq!(created["items"][1]["staff_id"], json!(salon.stylists[0]));
    assert_eq!(created["items"][1]["starts_at"], json!(ten));
    // Stylist 1's own visit at ten is still the only one in their column.
    let theirs = count(
        &app,
        &format!(
            "SELECT count(*) FROM appointment_items WHERE staff_id = '{}' AND active",
            salon.stylists[1]
        ),
    )
    .await;
    assert_eq!(theirs, 1);
    app.stop().await;
}

/// The next local date after today on which New York's clocks do `what` at `wall`.
fn next_new_york_date(wall: (u32, u32), gap: bool) -> NaiveDate {
    let today = Utc::now().with_timezone(&NEW_YORK).date_naive();
    today
        .iter_days()
        .skip(1)
        .take(366)
        .find(|date| {
            let local = date.and_hms_opt(wall.0, wall.1, 0).unwrap();
            match NEW_YORK.from_local_datetime(&local) {
                chrono::LocalResult::None => gap,
                chrono::LocalResult::Ambiguous(..) => !gap,
                chrono::LocalResult::Single(_) => false,
            }
        })
        .unwrap()
}

/// Moves the fixture's branch to New York and opens it, with stylist 0,
/// also 00:00–06:00 on Sundays, so the night the clocks change is bookable.
async fn new_york_nights(app: &TestApp, salon: &Salon) {
    sql(
        app,
        &format!(
            "UPDATE locations SET timezone = 'America/New_York' WHERE id = '{location}';
             INSERT INTO location_hours (tenant_id, location_id, weekday, opens, closes)
                  VALUES ('{tenant}', '{location}', 7, 0, 360);
             INSERT INTO staff_hours (tenant_id, staff_id, location_id, weekday, kind, starts, ends)
                  VALUES ('{tenant}', '{staff}', '{location}', 7, 'work', 0, 360);",
            tenant = salon.tenant,
            location = salon.location,
            staff = salon.stylists[0],
        ),
    )
    .await;
}

#[tokio::test]
async fn a_wall_time_the_clocks_skip_is_never_offered_and_cannot_be_booked() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    new_york_nights(&app, &salon).await;
    // The second Sunday of March: 02:00–03:00 does not exist (2027-03-14 as of writing).
    let date = next_new_york_date((2, 30), true);
    let before = written(&app).await;
    let request = json!({
        "location_id": salon.location, "client_id": salon.client,
        "start_local": date.and_hms_opt(2, 30, 0).unwrap(),
        "items": [{"service_id": salon.haircut, "staff_id": salon.stylists[0]}],
    });
    let problem = invalid(book(&app, &salon, &request).await, "start").await;
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("clocks skip"),
        "{problem}"
    );
    assert_eq!(written(&app).await, before);

    let slots = availability(
        &app,
        &salon,
        &format!(
            "services={}&staff={}&from={date}&to={date}",
            salon.haircut, salon.stylists[0]
        ),
    )
    .await;
    // The night: 00:00–01:45 (EST), then straight to 03:00 (EDT), the last
    // haircut with its cleanup ending at 06:00; then the day, 09:00–20:00.
    let mut expected = every_quarter(date, (0, 0), (1, 45));
    expected.extend(every_quarter(date, (3, 0), (5, 0)));
    expected.extend(every_quarter(date, (9, 0), (20, 0)));
    assert_eq!(local_starts(&slots), expected);
    let list = slots["slots"].as_array().unwrap();
    let start_of = |local: &str| instant(&list.iter().find(|s| s["local_start"] == local).unwrap()["start"]);
    let wall = |h: u32, m: u32| {
        date.and_hms_opt(h, m, 0)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string()
    };
    assert_eq!(
        start_of(&wall(1, 45)),
        date.and_hms_opt(6, 45, 0).unwrap().and_utc()
    );
    assert_eq!(
        start_of(&wall(3, 0)),
        date.and_hms_opt(7, 0, 0).unwrap().and_utc()
    );
    app.stop().await;
}

#[tokio::test]
async fn a_wall_time_the_clocks_repeat_is_offered_once_as_its_first_occurrence() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    new_york_nights(&app, &salon).await;
    // The first Sunday of November: 01:00–02:00 happens twice (2027-11-07 as of writing).
    let date = next_new_york_date((1, 30), false);
    let slots = availability(
        &app,
        &salon,
        &format!(
            "services={}&staff={}&from={date}&to={date}",
            salon.haircut, salon.stylists[0]
        ),
    )
    .await;
    let mut expected = every_quarter(date, (0, 0), (5, 0));
    expected.extend(every_quarter(date, (9, 0), (20, 0)));
    assert_eq!(local_starts(&slots), expected, "every wall time once");
    let half_past_one: Vec<&Value> = slots["slots"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|slot| slot["local_start"] == format!("{date}T01:30:00"))
        .collect();
    assert_eq!(half_past_one.len(), 1);
    // 01:30 EDT (UTC−4), not 01:30 EST an hour later.
    let first_occurrence = date.and_hms_opt(5, 30, 0).unwrap().and_utc();
    assert_eq!(instant(&half_past_one[0]["start"]), first_occurrence);

    // Booking that wall time takes its first occurrence too.
    let request = json!({
        "location_id": salon.location, "client_id": salon.client,
        "start_local": date.and_hms_opt(1, 30, 0).unwrap(),
        "items": [{"service_id": salon.haircut, "staff_id": salon.stylists[0]}],
    });
    let created = booked(&app, &salon, &request).await;
    assert_eq!(instant(&created["starts_at"]), first_occurrence);
    assert_eq!(
        instant(&created["items"][0]["ends_at"]),
        first_occurrence + Duration::minutes(45)
    );
    app.stop().await;
}

#[tokio::test]
async fn time_off_that_overlaps_the_slot_makes_it_unavailable() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    let date = day(3);
    sql(
        &app,
        &format!(
            "INSERT INTO time_off (tenant_id, id, staff_id, period, reason)
             VALUES ('{}', '{}', '{}', tstzrange('{}', '{}'), 'dentist')",
            salon.tenant,
            Uuid::now_v7(),
            salon.stylists[0],
            pune(date, 10, 0).to_rfc3339(),
            pune(date, 12, 0).to_rfc3339(),
        ),
    )
    .await;
    let before = written(&app).await;
    let problem = support::problem(
        book(
            &app,
            &salon,
            &booking(&salon, pune(date, 10, 30), salon.stylists[0]),
        )
        .await,
        409,
        "slot_unavailable",
    )
    .await;
    assert_eq!(problem["detail"], "Item 0: the staff member is not free then");
    // A 09:15 haircut ends at 10:00, but its cleanup runs into the time off.
    support::problem(
        book(
            &app,
            &salon,
            &booking(&salon, pune(date, 9, 15), salon.stylists[0]),
        )
        .await,
        409,
        "slot_unavailable",
    )
    .await;
    assert_eq!(written(&app).await, before);
    booked(
        &app,
        &salon,
        &booking(&salon, pune(date, 9, 0), salon.stylists[0]),
    )
    .await;
    booked(
        &app,
        &salon,
        &booking(&salon, pune(date, 12, 0), salon.stylists[0]),
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn a_resource_of_another_branch_is_refused_on_that_item() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    let (branch, their_chair) = (Uuid::now_v7(), Uuid::now_v7());
    sql(
        &app,
        &format!(
            "INSERT INTO locations (tenant_id, id, name, state_code) VALUES ('{t}', '{branch}', 'Baner branch', '27');
             INSERT INTO resources (tenant_id, id, location_id, name, resource_type)
                  VALUES ('{t}', '{their_chair}', '{branch}', 'Baner chair', 'chair');",
            t = salon.tenant,
        ),
    )
    .await;
    let before = written(&app).await;
    let request = json!({
        "location_id": salon.location, "client_id": salon.client, "start": at_ten(3),
        "items": [{"service_id": salon.colour, "staff_id": salon.stylists[0], "resource_id": their_chair}],
    });
    invalid(book(&app, &salon, &request).await, "items[0].resource_id").await;
    assert_eq!(written(&app).await, before);
    app.stop().await;
}

#[tokio::test]
async fn ids_of_another_business_are_unknown_and_the_answer_reveals_nothing_of_it() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    let other = salon_with(&app, "Lotus Spa Koregaon", 2).await;
    let before = written(&app).await;
    let secrets = [
        other.business.tenant_id.clone(),
        other.location.to_string(),
        other.client.to_string(),
        other.haircut.to_string(),
        other.stylists[0].to_string(),
        "Lotus".into(),
        "Neha".into(),
        "Stylist".into(),
    ];
    let leaks_nothing = |problem: &Value| {
        let text = problem.to_string();
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{secret} in {text}");
        }
    };
    let start = at_ten(3);

    let mut request = booking(&salon, start, salon.stylists[0]);
    request["location_id"] = json!(other.location);
    let problem = support::problem(book(&app, &salon, &request).await, 404, "not_found").await;
    leaks_nothing(&problem);

    let mut request = booking(&salon, start, salon.stylists[0]);
    request["client_id"] = json!(other.client);
    let problem = support::problem(book(&app, &salon, &request).await, 404, "not_found").await;
    leaks_nothing(&problem);

    let mut request = booking(&salon, start, salon.stylists[0]);
    request["items"][0]["service_id"] = json!(other.haircut);
    let problem = invalid(book(&app, &salon, &request).await, "items[0].service_id").await;
    assert_eq!(problem["errors"][0]["message"], "item 0: no such service");
    leaks_nothing(&problem);

    let request = booking(&salon, start, other.stylists[0]);
    let problem = invalid(book(&app, &salon, &request).await, "items[0].staff_id").await;
    assert_eq!(
        problem["errors"][0]["message"],
        "item 0: no such staff member at this location"
    );
    leaks_nothing(&problem);

    let request = json!({
        "location_id": salon.location, "client_id": salon.client, "start": start,
        "items": [{"service_id": salon.colour, "staff_id": salon.stylists[0], "resource_id": other.chair}],
    });
    invalid(book(&app, &salon, &request).await, "items[0].resource_id").await;

    assert_eq!(written(&app).await, before);
    app.stop().await;
}

#[tokio::test]
async fn a_visit_of_500_services_is_refused_on_items() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    let before = written(&app).await;
    let mut request = booking(&salon, at_ten(3), salon.stylists[0]);
    request["items"] = json!(vec![
        json!({"service_id": salon.haircut, "staff_id": salon.stylists[0]});
        500
    ]);
    let problem = invalid(book(&app, &salon, &request).await, "items").await;
    assert_eq!(
        problem["errors"][0]["message"],
        "a visit holds at most 20 services"
    );
    request["items"] = json!([]);
    invalid(book(&app, &salon, &request).await, "items").await;
    assert_eq!(written(&app).await, before);
    app.stop().await;
}

#[tokio::test]
async fn a_day_the_branch_is_closed_is_refused_as_an_invalid_start() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    let date = day(4);
    sql(
        &app,
        &format!(
            "INSERT INTO location_closures (tenant_id, id, location_id, first_day, last_day, reason)
             VALUES ('{}', '{}', '{}', '{date}', '{date}', 'Diwali')",
            salon.tenant,
            Uuid::now_v7(),
            salon.location,
        ),
    )
    .await;
    let before = written(&app).await;
    let problem = invalid(
        book(
            &app,
            &salon,
            &booking(&salon, pune(date, 11, 0), salon.stylists[0]),
        )
        .await,
        "start",
    )
    .await;
    assert_eq!(problem["errors"][0]["message"], "the location is closed that day");
    let mut any = booking(&salon, pune(date, 11, 0), salon.stylists[0]);
    any["items"][0]["staff_id"] = Value::Null;
    invalid(book(&app, &salon, &any).await, "start").await;
    assert_eq!(written(&app).await, before);
    let slots = availability(
        &app,
        &salon,
        &format!("services={}&from={date}&to={date}", salon.haircut),
    )
    .await;
    assert_eq!(slots, json!({"slots": []}));
    app.stop().await;
}

#[tokio::test]
async fn a_start_must_be_given_exactly_once() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    let before = written(&app).await;
    let mut both = booking(&salon, at_ten(3), salon.stylists[0]);
    both["start_local"] = json!(day(3).and_hms_opt(10, 0, 0).unwrap());
    let problem = invalid(book(&app, &salon, &both).await, "start").await;
    assert_eq!(
        problem["errors"][0]["message"],
        "give exactly one of `start` and `start_local`"
    );
    let mut neither = booking(&salon, at_ten(3), salon.stylists[0]);
    neither.as_object_mut().unwrap().remove("start");
    let problem = invalid(book(&app, &salon, &neither).await, "start").await;
    assert_eq!(
        problem["errors"][0]["message"],
        "give exactly one of `start` and `start_local`"
    );
    assert_eq!(written(&app).await, before);
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_field_in_the_body_is_refused() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    let before = written(&app).await;
    let mut request = booking(&salon, at_ten(3), salon.stylists[0]);
    request["discount_percent"] = json!(100);
    let problem = support::problem(book(&app, &salon, &request).await, 422, "invalid_body").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("unknown field `discount_percent`"),
        "{problem}"
    );
    let mut request = booking(&salon, at_ten(3), salon.stylists[0]);
    request["items"][0]["price_paise"] = json!(0);
    let problem = support::problem(book(&app, &salon, &request).await, 422, "invalid_body").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("unknown field `price_paise`"),
        "{problem}"
    );
    assert_eq!(written(&app).await, before);
    app.stop().await;
}

// ---------------------------------------------------------------------------
// Visits of several services.

#[tokio::test]
async fn a_haircut_then_a_colour_by_different_stylists_follow_each_other_back_to_back() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    let start = pune(day(3), 10, 0);
    let request = json!({
        "location_id": salon.location, "client_id": salon.client, "start": start,
        "items": [{"service_id": salon.haircut, "staff_id": salon.stylists[0]},
                  {"service_id": salon.colour, "staff_id": salon.stylists[1]}],
    });
    let visit = booked(&app, &salon, &request).await;
    let items = visit["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(
        (
            &items[0]["position"],
            &items[0]["service_id"],
            &items[0]["staff_id"],
            &items[0]["resource_id"]
        ),
        (
            &json!(0),
            &json!(salon.haircut),
            &json!(salon.stylists[0]),
            &Value::Null
        )
    );
    assert_eq!(instant(&items[0]["starts_at"]), start);
    assert_eq!(instant(&items[0]["ends_at"]), start + Duration::minutes(45));
    assert_eq!(
        (
            &items[1]["position"],
            &items[1]["service_id"],
            &items[1]["staff_id"],
            &items[1]["resource_id"]
        ),
        (
            &json!(1),
            &json!(salon.colour),
            &json!(salon.stylists[1]),
            &json!(salon.chair)
        ),
        "the first free chair is taken"
    );
    assert_eq!(
        items[1]["starts_at"], items[0]["ends_at"],
        "the colour starts when the haircut ends"
    );
    assert_eq!(instant(&items[1]["ends_at"]), start + Duration::minutes(165));
    assert_eq!(
        (items[0]["price_paise"].clone(), items[1]["price_paise"].clone()),
        (json!(80000), json!(350000))
    );
    assert_eq!(instant(&visit["starts_at"]), start);
    assert_eq!(instant(&visit["ends_at"]), start + Duration::minutes(165));

    // One stylist may do both: the haircut's cleanup does not hold up their own client's colour.
    let mut same_stylist = request.clone();
    same_stylist["start"] = json!(start + Duration::days(1));
    same_stylist["items"][1]["staff_id"] = json!(salon.stylists[0]);
    let visit = booked(&app, &salon, &same_stylist).await;
    assert_eq!(visit["items"][1]["staff_id"], json!(salon.stylists[0]));
    assert_eq!(
        instant(&visit["items"][1]["starts_at"]),
        start + Duration::days(1) + Duration::minutes(45)
    );
    app.stop().await;
}

#[tokio::test]
async fn while_a_colour_develops_its_stylist_can_cut_another_clients_hair_but_the_chair_stays_taken() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    let date = day(3);
    // Colour by stylist 1 on chair 1, 10:45–12:45; stylist 1 is free 11:15–12:15.
    let request = json!({
        "location_id": salon.location, "client_id": salon.client, "start": pune(date, 10, 0),
        "items": [{"service_id": salon.haircut, "staff_id": salon.stylists[0]},
                  {"service_id": salon.colour, "staff_id": salon.stylists[1], "resource_id": salon.chair}],
    });
    booked(&app, &salon, &request).await;
    let other = add_client(&app, &salon, "Arjun Mehta", "+919822000111").await;
    let haircut_for_other = |start| {
        json!({
            "location_id": salon.location, "client_id": other, "start": start,
            "items": [{"service_id": salon.haircut, "staff_id": salon.stylists[1]}],
        })
    };
    // A haircut (with its cleanup) that would outlast the gap is refused...
    support::problem(
        book(&app, &salon, &haircut_for_other(pune(date, 11, 30))).await,
        409,
        "slot_unavailable",
    )
    .await;
    // ...one that fits the gap exactly is booked.
    let cut = booked(&app, &salon, &haircut_for_other(pune(date, 11, 15))).await;
    assert_eq!(cut["items"][0]["staff_id"], json!(salon.stylists[1]));
    assert_eq!(instant(&cut["items"][0]["starts_at"]), pune(date, 11, 15));

    // The chair holds the developing colour throughout.
    let colour_on_chair = json!({
        "location_id": salon.location, "client_id": other, "start": pune(date, 12, 30),
        "items": [{"service_id": salon.colour, "staff_id": salon.stylists[0], "resource_id": salon.chair}],
    });
    let problem = support::problem(
        book(&app, &salon, &colour_on_chair).await,
        409,
        "slot_unavailable",
    )
    .await;
    assert_eq!(problem["detail"], "Item 0: the resource is not free then");
    let mut elsewhere = colour_on_chair.clone();
    elsewhere["items"][0]["resource_id"] = json!(salon.second_chair);
    booked(&app, &salon, &elsewhere).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_visits_that_meet_only_on_their_second_item_give_one_success() {
    let app = racing_app().await;
    let salon = salon_with(&app, "Booking Test Salon", 3).await;
    for round in 0..rounds() {
        let start = at_ten(2) + Duration::days(round as i64);
        // Half the visits start with stylist 0, half with stylist 1, each on
        // its own chair: two visits of different halves share only stylist
        // 2's colour.
        let bodies = (0..50)
            .map(|i| {
                let (first_stylist, chair) = if i % 2 == 0 {
                    (salon.stylists[0], salon.chair)
                } else {
                    (salon.stylists[1], salon.second_chair)
                };
                json!({
                    "location_id": salon.location, "client_id": salon.client, "start": start,
                    "items": [{"service_id": salon.haircut, "staff_id": first_stylist},
                              {"service_id": salon.colour, "staff_id": salon.stylists[2], "resource_id": chair}],
                })
            })
            .collect();
        let (created, conflicts, statuses) = race(&app, &salon, bodies).await;
        assert_eq!((created, conflicts), (1, 49), "round {round}: {statuses:?}");
        let colours = count(
            &app,
            &format!(
                "SELECT count(*) FROM appointment_items WHERE active AND staff_id = '{}' AND lower(client_time) = '{}'",
                salon.stylists[2],
                (start + Duration::minutes(45)).to_rfc3339()
            ),
        )
        .await;
        assert_eq!(colours, 1, "round {round}");
    }
    app.stop().await;
}

// ---------------------------------------------------------------------------
// The database itself refuses double bookings, whatever the application does.

/// Run statements as the application role in one transaction of `tenant`.
async fn as_app_role(app: &TestApp, tenant: Uuid, statements: &[String]) -> Result<(), sqlx::Error> {
    let mut conn = PgConnection::connect(&app.db.as_ref().unwrap().app_url())
        .await
        .unwrap();
    let mut tx = conn.begin().await?;
    sqlx::query("SELECT set_config('ftry.tenant_id', $1, true)")
        .bind(tenant.to_string())
        .execute(&mut *tx)
        .await?;
    for statement in statements {
        sqlx::query(statement).execute(&mut *tx).await?;
    }
    tx.commit().await
}

fn appointment_row(salon: &Salon, id: Uuid, status: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    format!(
        "INSERT INTO appointments (tenant_id, id, location_id, client_id, status, source, starts_at, ends_at, cancelled_at)
         VALUES ('{}', '{id}', '{}', '{}', '{status}', 'front_desk', '{}', '{}', {})",
        salon.tenant,
        salon.location,
        salon.client,
        from.to_rfc3339(),
        to.to_rfc3339(),
        if status == "cancelled" { "now()" } else { "NULL" },
    )
}

struct RawItem {
    appointment: Uuid,
    position: i16,
    service: Uuid,
    staff: Uuid,
    resource: Option<Uuid>,
    exclusive: bool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    active: bool,
}

fn item_row(salon: &Salon, item: &RawItem) -> String {
    format!(
        "INSERT INTO appointment_items (tenant_id, id, appointment_id, position, location_id, service_id, staff_id,
                                        resource_id, resource_exclusive, client_time, staff_time, price_paise, active)
         VALUES ('{}', '{}', '{}', {}, '{}', '{}', '{}', {}, {}, tstzrange('{from}', '{to}'),
                 tstzmultirange(tstzrange('{from}', '{to}')), 80000, {})",
        salon.tenant,
        Uuid::now_v7(),
        item.appointment,
        item.position,
        salon.location,
        item.service,
        item.staff,
        item.resource.map_or("NULL".to_owned(), |r| format!("'{r}'")),
        item.exclusive,
        item.active,
        from = item.from.to_rfc3339(),
        to = item.to.to_rfc3339(),
    )
}

fn refused_by(result: Result<(), sqlx::Error>, constraint: &str) {
    let error = result.expect_err("the database must refuse this");
    let database = error.as_database_error().unwrap_or_else(|| panic!("{error}"));
    assert_eq!(database.constraint(), Some(constraint), "{error}");
}

#[tokio::test]
async fn the_database_refuses_one_stylist_in_two_appointments_at_once() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    let t = pune(day(3), 10, 0);
    let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let item = |appointment, position, from: DateTime<Utc>, minutes| RawItem {
        appointment,
        position,
        service: salon.haircut,
        staff: salon.stylists[0],
        resource: None,
        exclusive: false,
        from,
        to: from + Duration::minutes(minutes),
        active: true,
    };
    as_app_role(
        &app,
        salon.tenant,
        &[
            appointment_row(&salon, a, "booked", t, t + Duration::minutes(60)),
            item_row(&salon, &item(a, 0, t, 60)),
        ],
    )
    .await
    .unwrap();
    let overlapping = as_app_role(
        &app,
        salon.tenant,
        &[
            appointment_row(
                &salon,
                b,
                "booked",
                t + Duration::minutes(30),
                t + Duration::minutes(90),
            ),
            item_row(&salon, &item(b, 0, t + Duration::minutes(30), 60)),
        ],
    )
    .await;
    refused_by(overlapping, "no_double_booked_staff");
    // Back to back is not overlapping ([start, end) ranges).
    as_app_role(
        &app,
        salon.tenant,
        &[
            appointment_row(
                &salon,
                c,
                "booked",
                t + Duration::minutes(60),
                t + Duration::minutes(120),
            ),
            item_row(&salon, &item(c, 0, t + Duration::minutes(60), 60)),
        ],
    )
    .await
    .unwrap();
    // Items of one visit may share the stylist's time (a buffer between them).
    let d = Uuid::now_v7();
    as_app_role(
        &app,
        salon.tenant,
        &[
            appointment_row(
                &salon,
                d,
                "booked",
                t + Duration::minutes(180),
                t + Duration::minutes(270),
            ),
            item_row(&salon, &item(d, 0, t + Duration::minutes(180), 60)),
            item_row(&salon, &item(d, 1, t + Duration::minutes(225), 45)),
        ],
    )
    .await
    .unwrap();
    assert_eq!(count(&app, "SELECT count(*) FROM appointments").await, 3);
    app.stop().await;
}

#[tokio::test]
async fn the_database_refuses_one_chair_in_two_appointments_at_once() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    let t = pune(day(3), 10, 0);
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let colour = |appointment, staff, exclusive| RawItem {
        appointment,
        position: 0,
        service: salon.colour,
        staff,
        resource: Some(salon.chair),
        exclusive,
        from: t,
        to: t + Duration::minutes(120),
        active: true,
    };
    as_app_role(
        &app,
        salon.tenant,
        &[
            appointment_row(&salon, a, "booked", t, t + Duration::minutes(120)),
            item_row(&salon, &colour(a, salon.stylists[0], true)),
        ],
    )
    .await
    .unwrap();
    let second = as_app_role(
        &app,
        salon.tenant,
        &[
            appointment_row(&salon, b, "booked", t, t + Duration::minutes(120)),
            item_row(&salon, &colour(b, salon.stylists[1], true)),
        ],
    )
    .await;
    refused_by(second, "no_double_booked_resource");
    // An item that does not call the chair exclusive is refused all the same:
    // the chair holds one client, whatever the writer claims.
    let careless = as_app_role(
        &app,
        salon.tenant,
        &[
            appointment_row(&salon, b, "booked", t, t + Duration::minutes(120)),
            item_row(&salon, &colour(b, salon.stylists[1], false)),
        ],
    )
    .await;
    refused_by(careless, "no_double_booked_resource");
    assert_eq!(count(&app, "SELECT count(*) FROM appointment_items").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn cancelled_items_do_not_hold_time_in_the_database() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    let t = pune(day(3), 10, 0);
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let colour = |appointment, staff, active| RawItem {
        appointment,
        position: 0,
        service: salon.colour,
        staff,
        resource: Some(salon.chair),
        exclusive: true,
        from: t,
        to: t + Duration::minutes(120),
        active,
    };
    as_app_role(
        &app,
        salon.tenant,
        &[
            appointment_row(&salon, a, "cancelled", t, t + Duration::minutes(120)),
            item_row(&salon, &colour(a, salon.stylists[0], false)),
        ],
    )
    .await
    .unwrap();
    // Same stylist, same chair, same time: the cancelled one is no obstacle.
    as_app_role(
        &app,
        salon.tenant,
        &[
            appointment_row(&salon, b, "booked", t, t + Duration::minutes(120)),
            item_row(&salon, &colour(b, salon.stylists[0], true)),
        ],
    )
    .await
    .unwrap();
    // Reviving the cancelled one would double-book: refused.
    let revived = as_app_role(
        &app,
        salon.tenant,
        &[format!(
            "UPDATE appointment_items SET active = true WHERE appointment_id = '{a}'"
        )],
    )
    .await;
    let error = revived.expect_err("reviving must be refused");
    let constraint = error
        .as_database_error()
        .and_then(|e| e.constraint().map(str::to_owned));
    assert!(
        matches!(
            constraint.as_deref(),
            Some("no_double_booked_staff" | "no_double_booked_resource")
        ),
        "{error}"
    );
    app.stop().await;
}

// ---------------------------------------------------------------------------
// Idempotent retries.

async fn book_with_key(app: &TestApp, salon: &Salon, key: &str, request: &Value) -> (u16, String) {
    let response = app
        .authed(Method::POST, "/api/v1/appointments", &salon.business.access_token)
        .header("Idempotency-Key", key)
        .json(request)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn a_retry_with_the_same_idempotency_key_gets_the_first_answer_and_books_nothing_more() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    let request = booking(&salon, at_ten(3), salon.stylists[0]);
    let (status, first) = book_with_key(&app, &salon, "front-desk-7f3a", &request).await;
    assert_eq!(status, 201, "{first}");
    let (status, again) = book_with_key(&app, &salon, "front-desk-7f3a", &request).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again, first, "byte for byte");
    let (first, again): (Value, Value) = (
        serde_json::from_str(&first).unwrap(),
        serde_json::from_str(&again).unwrap(),
    );
    assert_eq!(first, again);
    assert_eq!(count(&app, "SELECT count(*) FROM appointments").await, 1);
    assert_eq!(count(&app, "SELECT count(*) FROM appointment_items").await, 1);

    // The same key for another request is a mistake, not a retry.
    let other = booking(&salon, at_ten(3) + Duration::hours(2), salon.stylists[0]);
    let (status, text) = book_with_key(&app, &salon, "front-desk-7f3a", &other).await;
    assert_eq!(status, 409, "{text}");
    let problem: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(problem["code"], "idempotency_key_reused");
    assert_eq!(count(&app, "SELECT count(*) FROM appointments").await, 1);

    // A key that is not a key is refused.
    let (status, text) = book_with_key(&app, &salon, "two words", &other).await;
    assert_eq!(status, 422, "{text}");
    let problem: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(problem["errors"][0]["field"], "Idempotency-Key");
    assert_eq!(count(&app, "SELECT count(*) FROM appointments").await, 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_concurrent_requests_with_one_idempotency_key_all_get_the_one_booking() {
    let app = racing_app().await;
    let salon = salon(&app).await;
    for round in 0..rounds() {
        let request = booking(
            &salon,
            at_ten(3 + round as i64 / 10) + Duration::hours(round as i64 % 10),
            salon.stylists[0],
        );
        let key = format!("retry-storm-{round}");
        let requests = (0..10).map(|_| {
            let request = app
                .authed(Method::POST, "/api/v1/appointments", &salon.business.access_token)
                .header("Idempotency-Key", key.as_str())
                .json(&request);
            async move {
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                (status, response.text().await.unwrap())
            }
        });
        let answers = futures_join_all(requests).await;
        for (status, answer) in &answers {
            assert_eq!(*status, 201, "round {round}: {answer}");
            assert_eq!(
                answer, &answers[0].1,
                "round {round}: the same answer byte for byte"
            );
        }
        let first: Value = serde_json::from_str(&answers[0].1).unwrap();
        let booked = count(
            &app,
            &format!(
                "SELECT count(*) FROM appointments WHERE id = '{}'",
                first["id"].as_str().unwrap()
            ),
        )
        .await;
        assert_eq!(booked, 1);
        assert_eq!(
            count(&app, "SELECT count(*) FROM appointments").await,
            round as i64 + 1,
            "round {round}"
        );
    }
    app.stop().await;
}

// ---------------------------------------------------------------------------
// The life of an appointment.

#[tokio::test]
async fn an_appointment_goes_from_booked_to_completed_one_step_at_a_time_and_then_never_changes() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    let visit = booked(&app, &salon, &booking(&salon, at_ten(3), salon.stylists[0])).await;
    let id = visit["id"].as_str().unwrap();
    for next in ["confirmed", "checked_in", "in_service", "completed"] {
        let changed = body(set_status(&app, &salon, id, next).await, 200).await;
        assert_eq!(changed["status"], next);
        assert_eq!(changed["items"][0]["active"], true, "{next} still holds the time");
    }
    for next in ["confirmed", "checked_in", "in_service", "completed", "no_show"] {
        let problem = support::problem(
            set_status(&app, &salon, id, next).await,
            409,
            "invalid_transition",
        )
        .await;
        assert_eq!(
            problem["detail"],
            format!(
                "An appointment that is completed cannot become {next}; next can be: nothing (it is final)."
            )
        );
    }
    let cancel = post(
        &app,
        salon.token(),
        &format!("/api/v1/appointments/{id}/cancel"),
        &json!({"reason": "oops"}),
    )
    .await;
    support::problem(cancel, 409, "invalid_transition").await;
    let moved = post(
        &app,
        salon.token(),
        &format!("/api/v1/appointments/{id}/reschedule"),
        &json!({"start": at_ten(4)}),
    )
    .await;
    support::problem(moved, 409, "invalid_transition").await;

    let history = body(
        get(&app, salon.token(), &format!("/api/v1/appointments/{id}/history")).await,
        200,
    )
    .await;
    let actor = format!("user:{}", salon.business.owner_id);
    let events: Vec<(String, Value, Value, String)> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["from_status"].clone(),
                e["to_status"].clone(),
                e["actor"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let step = |kind: &str, from: Value, to: &str| (kind.to_owned(), from, json!(to), actor.clone());
    assert_eq!(
        events,
        vec![
            step("created", Value::Null, "booked"),
            step("status_changed", json!("booked"), "confirmed"),
            step("status_changed", json!("confirmed"), "checked_in"),
            step("status_changed", json!("checked_in"), "in_service"),
            step("status_changed", json!("in_service"), "completed"),
        ]
    );
    assert_eq!(history["items"][0]["details"], json!({"source": "front_desk"}));
    app.stop().await;
}

#[tokio::test]
async fn skipping_steps_or_naming_an_unknown_status_is_refused() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    let visit = booked(&app, &salon, &booking(&salon, at_ten(3), salon.stylists[0])).await;
    let id = visit["id"].as_str().unwrap();
    let problem = support::problem(
        set_status(&app, &salon, id, "completed").await,
        409,
        "invalid_transition",
    )
    .await;
    assert_eq!(
        problem["detail"],
        "An appointment that is booked cannot become completed; next can be: confirmed, checked_in, cancelled, no_show."
    );
    support::problem(
        set_status(&app, &salon, id, "in_service").await,
        409,
        "invalid_transition",
    )
    .await;
    invalid(set_status(&app, &salon, id, "cancelled").await, "status").await;
    invalid(set_status(&app, &salon, id, "done").await, "status").await;
    let unchanged = body(
        get(&app, salon.token(), &format!("/api/v1/appointments/{id}")).await,
        200,
    )
    .await;
    assert_eq!(unchanged["status"], "booked");
    let history = body(
        get(&app, salon.token(), &format!("/api/v1/appointments/{id}/history")).await,
        200,
    )
    .await;
    assert_eq!(history["items"].as_array().unwrap().len(), 1, "{history}");
    app.stop().await;
}

#[tokio::test]
async fn a_no_show_frees_the_time_for_another_booking() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    let start = at_ten(3);
    let visit = booked(&app, &salon, &booking(&salon, start, salon.stylists[0])).await;
    let id = visit["id"].as_str().unwrap();
    support::problem(
        book(&app, &salon, &booking(&salon, start, salon.stylists[0])).await,
        409,
        "slot_unavailable",
    )
    .await;
    let no_show = body(set_status(&app, &salon, id, "no_show").await, 200).await;
    assert_eq!(no_show["status"], "no_show");
    assert_eq!(no_show["items"][0]["active"], false);
    let walk_in = booked(&app, &salon, &booking(&salon, start, salon.stylists[0])).await;
    assert_eq!(walk_in["items"][0]["staff_id"], json!(salon.stylists[0]));
    support::problem(
        set_status(&app, &salon, id, "confirmed").await,
        409,
        "invalid_transition",
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn rescheduling_moves_the_items_keeps_the_old_time_in_the_history_and_refuses_a_taken_time() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    let date = day(3);
    let visit = booked(
        &app,
        &salon,
        &booking(&salon, pune(date, 10, 0), salon.stylists[0]),
    )
    .await;
    let id = visit["id"].as_str().unwrap();
    booked(
        &app,
        &salon,
        &booking(&salon, pune(date, 14, 0), salon.stylists[0]),
    )
    .await;
    let path = format!("/api/v1/appointments/{id}/reschedule");

    let moved = body(
        post(&app, salon.token(), &path, &json!({"start": pune(date, 12, 0)})).await,
        200,
    )
    .await;
    assert_eq!(moved["id"], visit["id"]);
    assert_eq!(moved["status"], "booked");
    assert_eq!(instant(&moved["starts_at"]), pune(date, 12, 0));
    assert_eq!(instant(&moved["ends_at"]), pune(date, 12, 45));
    let items = moved["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["staff_id"], json!(salon.stylists[0]));
    assert_eq!(instant(&items[0]["starts_at"]), pune(date, 12, 0));
    assert_eq!(instant(&items[0]["ends_at"]), pune(date, 12, 45));

    let history = body(
        get(&app, salon.token(), &format!("/api/v1/appointments/{id}/history")).await,
        200,
    )
    .await;
    let last = history["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "rescheduled");
    assert_eq!(last["actor"], format!("user:{}", salon.business.owner_id));
    let details = &last["details"];
    assert_eq!(instant(&details["from"]["starts_at"]), pune(date, 10, 0));
    assert_eq!(instant(&details["from"]["ends_at"]), pune(date, 10, 45));
    assert_eq!(instant(&details["to"]["starts_at"]), pune(date, 12, 0));
    assert_eq!(instant(&details["to"]["ends_at"]), pune(date, 12, 45));

    // The old time is free; the 14:00 haircut's time is not.
    booked(
        &app,
        &salon,
        &booking(&salon, pune(date, 10, 0), salon.stylists[0]),
    )
    .await;
    let taken = post(&app, salon.token(), &path, &json!({"start": pune(date, 14, 15)})).await;
    support::problem(taken, 409, "slot_unavailable").await;
    let unchanged = body(
        get(&app, salon.token(), &format!("/api/v1/appointments/{id}")).await,
        200,
    )
    .await;
    assert_eq!(instant(&unchanged["starts_at"]), pune(date, 12, 0));
    assert_eq!(instant(&unchanged["items"][0]["starts_at"]), pune(date, 12, 0));
    app.stop().await;
}

#[tokio::test]
async fn the_front_desk_reschedules_under_its_own_rules_not_the_online_ones() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    // Stylist 1 takes no online bookings, and online bookings reach 60 days ahead.
    sql(
        &app,
        &format!(
            "UPDATE staff SET bookable_online = false WHERE id = '{}'",
            salon.stylists[1]
        ),
    )
    .await;
    let visit = booked(
        &app,
        &salon,
        &booking(&salon, pune(day(3), 10, 0), salon.stylists[1]),
    )
    .await;
    let path = format!(
        "/api/v1/appointments/{}/reschedule",
        visit["id"].as_str().unwrap()
    );
    let moved = body(
        post(
            &app,
            salon.token(),
            &path,
            &json!({"start": pune(day(90), 10, 0)}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(instant(&moved["starts_at"]), pune(day(90), 10, 0));
    assert_eq!(moved["items"][0]["staff_id"], json!(salon.stylists[1]));
    app.stop().await;
}

// ---------------------------------------------------------------------------
// Availability for the front desk.

#[tokio::test]
async fn availability_lists_every_free_quarter_hour_of_a_simple_day_with_its_stylist() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    let date = day(3);
    // Stylist 0 is booked 10:00–10:45, and cleans up until 11:00.
    booked(
        &app,
        &salon,
        &booking(&salon, pune(date, 10, 0), salon.stylists[0]),
    )
    .await;
    let slots = availability(
        &app,
        &salon,
        &format!(
            "services={}&staff={}&from={date}&to={date}",
            salon.haircut, salon.stylists[0]
        ),
    )
    .await;
    // A haircut holds its stylist 60 minutes inside their 09:00–21:00, so the
    // day's starts are 09:00..20:00; those within an hour before 11:00 clash.
    let mut expected = every_quarter(date, (9, 0), (9, 0));
    expected.extend(every_quarter(date, (11, 0), (20, 0)));
    assert_eq!(local_starts(&slots), expected);
    for slot in slots["slots"].as_array().unwrap() {
        let local = NaiveDateTime::parse_from_str(slot["local_start"].as_str().unwrap(), "%Y-%m-%dT%H:%M:%S")
            .unwrap();
        let start = IST.from_local_datetime(&local).unwrap().with_timezone(&Utc);
        assert_eq!(instant(&slot["start"]), start);
        let items = slot["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["staff_id"], json!(salon.stylists[0]));
        assert_eq!(items[0]["service_id"], json!(salon.haircut));
        assert_eq!(items[0]["resource_id"], Value::Null);
        assert_eq!(instant(&items[0]["start"]), start);
        assert_eq!(instant(&items[0]["end"]), start + Duration::minutes(45));
    }
    // A date range that is too long is refused.
    let path = format!(
        "/api/v1/locations/{}/availability?services={}&from={date}&to={}",
        salon.location,
        salon.haircut,
        date + Duration::days(62)
    );
    invalid(get(&app, salon.token(), &path).await, "to").await;
    app.stop().await;
}

/// Who would do each start of a search's slots.
fn staff_by_start(slots: &Value) -> Vec<(String, Value)> {
    slots["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["local_start"].as_str().unwrap().to_owned(),
                s["items"][0]["staff_id"].clone(),
            )
        })
        .collect()
}

/// How often a node's cache answered (`hit`) or not (`miss`), from its metrics.
async fn cache_lookups(app: &TestApp, cache: &str, result: &str) -> Option<f64> {
    let text = support::metrics::scrape(app).await;
    support::metrics::sample(
        &text,
        "ftry_cache_lookups_total",
        &format!(r#"cache="{cache}",result="{result}""#),
    )
}

#[tokio::test]
async fn a_search_answered_from_a_held_schedule_follows_changes_made_on_another_node() {
    let a = TestApp::fresh().await;
    let salon = salon(&a).await;
    let b = TestApp::spawn(support::config_for(a.db.as_ref().unwrap())).await;
    let date = day(3);
    let query = format!("services={}&from={date}&to={date}", salon.haircut);
    let all_day = every_quarter(date, (9, 0), (20, 0));
    let everyone = |stylist: Uuid| -> Vec<(String, Value)> {
        all_day.iter().map(|t| (t.clone(), json!(stylist))).collect()
    };
    let (first, second) = (salon.stylists[0], salon.stylists[1]);

    // Nobody booked: the first stylist everywhere, the second search answered
    // from what the first loaded.
    let baseline = availability(&a, &salon, &query).await;
    assert_eq!(staff_by_start(&baseline), everyone(first));
    assert_eq!(availability(&a, &salon, &query).await, baseline);

    // Each change goes through node b; node a answers as a fresh load would.
    let visit = booked(&b, &salon, &booking(&salon, pune(date, 10, 0), first)).await;
    assert_eq!(
        staff_by_start(&availability(&a, &salon, &query).await),
        everyone(second),
        "the first stylist has booked minutes now"
    );
    let cancel = format!("/api/v1/appointments/{}/cancel", visit["id"].as_str().unwrap());
    body(
        post(&b, salon.token(), &cancel, &json!({"reason": "client called"})).await,
        200,
    )
    .await;
    assert_eq!(availability(&a, &salon, &query).await, baseline);
    let time_off = format!("/api/v1/staff/{first}/time-off");
    let whole_day = json!({"starts_at": pune(date, 9, 0), "ends_at": pune(date, 21, 0), "reason": "Wedding"});
    body(post(&b, salon.token(), &time_off, &whole_day).await, 201).await;
    assert_eq!(
        staff_by_start(&availability(&a, &salon, &query).await),
        everyone(second)
    );
    let closures = format!("/api/v1/locations/{}/closures", salon.location);
    let closed = json!({"first_day": date, "last_day": date, "reason": "Diwali"});
    body(post(&b, salon.token(), &closures, &closed).await, 201).await;
    assert_eq!(availability(&a, &salon, &query).await["slots"], json!([]));

    let lookups = |cache: &'static str, result: &'static str| cache_lookups(&a, cache, result);
    assert_eq!(
        lookups("schedule", "hit").await,
        Some(1.0),
        "only the repeated search was held"
    );
    assert_eq!(
        lookups("schedule", "miss").await,
        Some(5.0),
        "every change was seen"
    );
    assert_eq!(
        lookups("answer", "hit").await,
        Some(1.0),
        "the repeated search's answer was held too"
    );
    assert_eq!(lookups("answer", "miss").await, Some(5.0));
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn a_calendar_day_drawn_from_a_held_schedule_follows_changes_made_on_another_node() {
    let a = TestApp::fresh().await;
    let salon = salon(&a).await;
    let b = TestApp::spawn(support::config_for(a.db.as_ref().unwrap())).await;
    let date = day(3);
    let path = format!("/api/v1/locations/{}/calendar?date={date}&days=1", salon.location);
    let calendar = || async { body(get(&a, salon.token(), &path).await, 200).await };
    let span = |from: (u32, u32), to: (u32, u32)| json!({"start": pune(date, from.0, from.1), "end": pune(date, to.0, to.1)});

    let first = calendar().await;
    assert_eq!(first["days"][0]["staff"][0]["time_off"], json!([]));
    assert_eq!(calendar().await, first, "the same day, held");
    let held = get(&a, salon.token(), &path).await;
    assert_eq!(held.headers()["content-type"], "application/json");
    assert_eq!(
        held.json::<Value>().await.unwrap(),
        first,
        "sent as it was written"
    );

    // Each change goes through node b; node a draws the day as a fresh load would.
    let stylist = salon.stylists[0];
    let time_off = format!("/api/v1/staff/{stylist}/time-off");
    let afternoon =
        json!({"starts_at": pune(date, 14, 0), "ends_at": pune(date, 16, 30), "reason": "Doctor"});
    body(post(&b, salon.token(), &time_off, &afternoon).await, 201).await;
    let after_time_off = calendar().await;
    assert_eq!(
        after_time_off["days"][0]["staff"][0]["time_off"],
        json!([span((14, 0), (16, 30))])
    );
    assert_eq!(after_time_off["days"][0]["staff"][1]["time_off"], json!([]));

    let visit = booked(&b, &salon, &booking(&salon, pune(date, 10, 0), stylist)).await;
    let after_booking = calendar().await;
    let items = &after_booking["days"][0]["staff"][0]["items"];
    assert_eq!(items.as_array().unwrap().len(), 1);
    assert_eq!(items[0]["appointment_id"], visit["id"]);
    assert_eq!(items[0]["client_name"], json!("Neha Kulkarni"));
    assert_eq!(items[0]["status"], json!("booked"));

    // What only the calendar shows: the visit's status and the client's name.
    let id = visit["id"].as_str().unwrap();
    body(set_status(&b, &salon, id, "confirmed").await, 200).await;
    assert_eq!(
        calendar().await["days"][0]["staff"][0]["items"][0]["status"],
        json!("confirmed")
    );
    support::rest::patch(
        &b,
        &format!("/api/v1/clients/{}", salon.client),
        salon.token(),
        json!({"name": "Neha K. Joshi"}),
    )
    .await;
    assert_eq!(
        calendar().await["days"][0]["staff"][0]["items"][0]["client_name"],
        json!("Neha K. Joshi")
    );

    let closures = format!("/api/v1/locations/{}/closures", salon.location);
    let closed = json!({"first_day": date, "last_day": date, "reason": "Diwali"});
    body(post(&b, salon.token(), &closures, &closed).await, 201).await;
    assert_eq!(calendar().await["days"][0]["closed"], json!(true));

    // The branches every page names are held by the same rule.
    let names = || async {
        let list = body(get(&a, salon.token(), "/api/v1/locations").await, 200).await;
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["name"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names().await, [json!("Main branch")]);
    assert_eq!(names().await, [json!("Main branch")]);
    let branch = format!("/api/v1/locations/{}", salon.location);
    support::rest::patch(&b, &branch, salon.token(), json!({"name": "Koregaon Park"})).await;
    assert_eq!(names().await, [json!("Koregaon Park")]);
    assert_eq!(calendar().await["location_name"], json!("Koregaon Park"));

    let lookups = |cache: &'static str, result: &'static str| cache_lookups(&a, cache, result);
    assert_eq!(
        lookups("calendar", "hit").await,
        Some(2.0),
        "only the repeated day was held (twice)"
    );
    assert_eq!(
        lookups("calendar", "miss").await,
        Some(7.0),
        "every change was seen"
    );
    assert_eq!(lookups("locations", "hit").await, Some(1.0));
    assert_eq!(lookups("locations", "miss").await, Some(2.0));
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn every_table_a_schedule_is_loaded_from_moves_the_schedule_version() {
    let app = TestApp::fresh().await;
    let sql = include_str!("../../ftry-store/src/scheduling.sql");
    let mut db = admin(&app).await;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    let words: Vec<&str> = sql.split_whitespace().collect();
    let mut read: Vec<&str> = words
        .windows(2)
        .filter(|w| w[0] == "FROM" || w[0] == "JOIN")
        .map(|w| w[1].trim_end_matches(')'))
        .filter(|name| tables.iter().any(|t| t == name))
        .collect();
    read.sort_unstable();
    read.dedup();
    let triggered: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
          WHERE t.tgname = 'schedule_changed' AND t.tgdeferrable AND t.tginitdeferred ORDER BY 1",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    let mut expected: Vec<&str> = read.into_iter().filter(|t| *t != "schedule_versions").collect();
    expected.sort_unstable();
    assert_eq!(
        triggered, expected,
        "the tables scheduling.sql reads are exactly the ones whose changes move the version"
    );
    assert!(triggered.len() >= 10 && triggered.contains(&"appointment_items".to_owned()));
    db.close().await.unwrap();
    app.stop().await;
}

#[tokio::test]
async fn every_table_the_calendar_reads_moves_the_schedule_or_the_calendar_version() {
    let app = TestApp::fresh().await;
    let mut db = admin(&app).await;
    let source: String =
        sqlx::query_scalar("SELECT prosrc FROM pg_proc WHERE proname = 'ftry_calendar_items'")
            .fetch_one(&mut db)
            .await
            .unwrap();
    let words: Vec<&str> = source.split_whitespace().collect();
    let mut read: Vec<&str> = words
        .windows(2)
        .filter(|w| w[0] == "FROM" || w[0] == "JOIN")
        .map(|w| w[1])
        .collect();
    read.sort_unstable();
    assert_eq!(read, ["appointment_items", "appointments", "clients", "services"]);
    let triggered: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.relname::text, t.tgname::text FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
          WHERE t.tgname IN ('schedule_changed', 'calendar_changed') AND t.tgdeferrable AND t.tginitdeferred
            AND c.relname IN ('appointment_items', 'appointments', 'clients', 'services') ORDER BY 1",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    let pairs: Vec<(&str, &str)> = triggered.iter().map(|(t, n)| (t.as_str(), n.as_str())).collect();
    assert_eq!(
        pairs,
        [
            ("appointment_items", "schedule_changed"),
            ("appointments", "calendar_changed"),
            ("clients", "calendar_changed"),
            ("services", "schedule_changed"),
        ]
    );
    db.close().await.unwrap();
    app.stop().await;
}

#[tokio::test]
async fn any_stylist_means_the_one_with_fewer_booked_minutes_that_day() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    let date = day(3);
    let any = format!("services={}&from={date}&to={date}", salon.haircut);
    let all_day = every_quarter(date, (9, 0), (20, 0));

    // Nobody booked: the first by display order.
    let slots = availability(&app, &salon, &any).await;
    assert_eq!(
        staff_by_start(&slots),
        all_day
            .iter()
            .map(|t| (t.clone(), json!(salon.stylists[0])))
            .collect::<Vec<_>>()
    );

    // Stylist 0 has 60 booked minutes, stylist 1 none: every start goes to stylist 1.
    booked(
        &app,
        &salon,
        &booking(&salon, pune(date, 10, 0), salon.stylists[0]),
    )
    .await;
    let slots = availability(&app, &salon, &any).await;
    assert_eq!(
        staff_by_start(&slots),
        all_day
            .iter()
            .map(|t| (t.clone(), json!(salon.stylists[1])))
            .collect::<Vec<_>>()
    );

    // Stylist 1 now has 180: stylist 0 again, except where stylist 0 is busy.
    for hour in [12, 13, 14] {
        booked(
            &app,
            &salon,
            &booking(&salon, pune(date, hour, 0), salon.stylists[1]),
        )
        .await;
    }
    let slots = availability(&app, &salon, &any).await;
    let busy_for_stylist_0 = every_quarter(date, (9, 15), (10, 45));
    let expected: Vec<(String, Value)> = all_day
        .iter()
        .map(|t| {
            let who = if busy_for_stylist_0.contains(t) {
                salon.stylists[1]
            } else {
                salon.stylists[0]
            };
            (t.clone(), json!(who))
        })
        .collect();
    assert_eq!(staff_by_start(&slots), expected);

    // Booking with no stylist named follows the same rule.
    let mut request = booking(&salon, pune(date, 16, 0), salon.stylists[0]);
    request["items"][0].as_object_mut().unwrap().remove("staff_id");
    let visit = booked(&app, &salon, &request).await;
    assert_eq!(visit["items"][0]["staff_id"], json!(salon.stylists[0]));
    app.stop().await;
}

// ---------------------------------------------------------------------------
// The calendar.

#[tokio::test]
async fn the_day_calendar_has_a_column_per_stylist_with_working_hours_and_booked_items() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    let date = day(3);
    let cut = booked(
        &app,
        &salon,
        &booking(&salon, pune(date, 10, 0), salon.stylists[0]),
    )
    .await;
    let colour = booked(
        &app,
        &salon,
        &json!({
            "location_id": salon.location, "client_id": salon.client, "start": pune(date, 12, 0),
            "items": [{"service_id": salon.colour, "staff_id": salon.stylists[1]}],
        }),
    )
    .await;
    let path = format!("/api/v1/locations/{}/calendar?date={date}&days=1", salon.location);
    let calendar = body(get(&app, salon.token(), &path).await, 200).await;
    let span = |from: (u32, u32), to: (u32, u32)| json!({"start": pune(date, from.0, from.1), "end": pune(date, to.0, to.1)});
    let item = |visit: &Value, service: &str| {
        let i = &visit["items"][0];
        json!({
            "appointment_id": visit["id"], "item_id": i["id"], "status": "booked",
            "service_name": service, "client_name": "Neha Kulkarni",
            "staff_id": i["staff_id"], "resource_id": i["resource_id"],
            "starts_at": i["starts_at"], "ends_at": i["ends_at"],
        })
    };
    let column = |n: usize, items: Vec<Value>| {
        json!({
            "staff_id": salon.stylists[n], "name": format!("Stylist {n}"), "colour": "#7c4dff",
            "working": [span((9, 0), (21, 0))], "breaks": [], "time_off": [], "items": items,
        })
    };
    assert_eq!(
        calendar,
        json!({
            "location_id": salon.location,
            "location_name": "Main branch",
            "timezone": "Asia/Kolkata",
            "days": [{
                "date": date,
                "closed": false,
                "open": [span((9, 0), (21, 0))],
                "staff": [column(0, vec![item(&cut, "Haircut")]), column(1, vec![item(&colour, "Global colour")])],
            }],
        })
    );
    // 09:00–21:00 in Pune is 03:30–15:30 UTC.
    assert_eq!(
        instant(&calendar["days"][0]["staff"][0]["working"][0]["start"]),
        date.and_hms_opt(3, 30, 0).unwrap().and_utc()
    );
    assert_eq!(
        instant(&calendar["days"][0]["staff"][0]["working"][0]["end"]),
        date.and_hms_opt(15, 30, 0).unwrap().and_utc()
    );

    let week = body(
        get(
            &app,
            salon.token(),
            &format!("/api/v1/locations/{}/calendar?date={date}&days=7", salon.location),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(week["days"].as_array().unwrap().len(), 7);
    let too_long = format!("/api/v1/locations/{}/calendar?date={date}&days=8", salon.location);
    invalid(get(&app, salon.token(), &too_long).await, "days").await;
    let none = format!("/api/v1/locations/{}/calendar?date={date}&days=0", salon.location);
    invalid(get(&app, salon.token(), &none).await, "days").await;
    app.stop().await;
}

#[tokio::test]
async fn a_stylist_with_only_their_own_calendar_sees_only_their_column_and_appointments() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    let date = day(3);
    let theirs = booked(
        &app,
        &salon,
        &booking(&salon, pune(date, 10, 0), salon.stylists[1]),
    )
    .await;
    let others = booked(
        &app,
        &salon,
        &booking(&salon, pune(date, 10, 0), salon.stylists[0]),
    )
    .await;
    let (user_id, token, _) = app
        .add_member(
            &salon.business.access_token,
            &salon.business.tenant_id,
            &["stylist"],
        )
        .await;
    let path = format!("/api/v1/locations/{}/calendar?date={date}", salon.location);

    // Without a staff profile there is no column to show.
    let response = app.authed(Method::GET, &path, &token).send().await.unwrap();
    support::problem(response, 403, "no_staff_profile").await;

    sql(
        &app,
        &format!(
            "UPDATE staff SET user_id = '{user_id}' WHERE id = '{}'",
            salon.stylists[1]
        ),
    )
    .await;
    let calendar = body(app.authed(Method::GET, &path, &token).send().await.unwrap(), 200).await;
    let columns = calendar["days"][0]["staff"].as_array().unwrap();
    assert_eq!(columns.len(), 1, "{calendar}");
    assert_eq!(columns[0]["staff_id"], json!(salon.stylists[1]));
    let items = columns[0]["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["appointment_id"], theirs["id"]);

    let own = app
        .authed(
            Method::GET,
            &format!("/api/v1/appointments/{}", theirs["id"].as_str().unwrap()),
            &token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(body(own, 200).await["id"], theirs["id"]);
    let not_theirs = app
        .authed(
            Method::GET,
            &format!("/api/v1/appointments/{}", others["id"].as_str().unwrap()),
            &token,
        )
        .send()
        .await
        .unwrap();
    support::problem(not_theirs, 404, "not_found").await;
    let everyone = app
        .authed(
            Method::GET,
            &format!(
                "/api/v1/locations/{}/availability?services={}&from={date}&to={date}",
                salon.location, salon.haircut
            ),
            &token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(everyone.status(), 403);
    app.stop().await;
}

// ---------------------------------------------------------------------------
// Online booking by clients.

fn public_path(salon: &Salon, rest: &str) -> String {
    format!("/api/v1/public/{}{rest}", salon.business.slug)
}

fn online_booking(salon: &Salon, start: DateTime<Utc>, staff: Option<Uuid>, phone: &str) -> Value {
    json!({
        "location_id": salon.location,
        "start": start,
        "items": [{"service_id": salon.haircut, "staff_id": staff}],
        "client": {"name": "Kavya Rao", "phone": phone, "email": "kavya.rao@example.com"},
    })
}

async fn book_online(app: &TestApp, salon: &Salon, request: &Value) -> reqwest::Response {
    app.post_json(&public_path(salon, "/bookings"), request).await
}

#[tokio::test]
async fn the_public_page_lists_online_branches_and_only_what_can_be_booked_there() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    let t = salon.tenant;
    let (offline_branch, bridal, perm, keratin, trainee, visiting) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    sql(
        &app,
        &format!(
            "INSERT INTO locations (tenant_id, id, name, state_code, online_booking)
                  VALUES ('{t}', '{offline_branch}', 'Walk-in kiosk', '27', false);
             INSERT INTO services (tenant_id, id, name, duration_minutes, price_paise, tax_code, online_bookable, active)
                  VALUES ('{t}', '{bridal}', 'Bridal makeup', 180, 2500000, '999722', false, true),
                         ('{t}', '{perm}', 'Old perm', 90, 150000, '999721', true, false),
                         ('{t}', '{keratin}', 'Keratin', 120, 600000, '999721', true, true);
             INSERT INTO service_locations (tenant_id, service_id, location_id)
                  VALUES ('{t}', '{bridal}', '{l}'), ('{t}', '{perm}', '{l}'), ('{t}', '{keratin}', '{offline_branch}');
             INSERT INTO staff (tenant_id, id, name, display_order, bookable_online)
                  VALUES ('{t}', '{trainee}', 'Trainee', 5, false), ('{t}', '{visiting}', 'Visiting stylist', 6, true);
             INSERT INTO staff_hours (tenant_id, staff_id, location_id, weekday, kind, starts, ends)
                  VALUES ('{t}', '{trainee}', '{l}', 1, 'work', 540, 1260),
                         ('{t}', '{visiting}', '{offline_branch}', 1, 'work', 540, 1260);
             INSERT INTO staff_services (tenant_id, staff_id, service_id)
                  VALUES ('{t}', '{trainee}', '{haircut}'), ('{t}', '{visiting}', '{haircut}'),
                         ('{t}', '{stylist}', '{bridal}');",
            l = salon.location,
            haircut = salon.haircut,
            stylist = salon.stylists[0],
        ),
    )
    .await;

    let page = body(app.get(&public_path(&salon, "")).await, 200).await;
    assert_eq!(
        page,
        json!({
            "name": "Booking Test Salon",
            "slug": salon.business.slug,
            "locations": [{
                "id": salon.location, "name": "Main branch", "address": "FC Road, Pune",
                "timezone": "Asia/Kolkata", "cancellation_window_minutes": 240,
            }],
        })
    );
    let services = body(
        app.get(&public_path(
            &salon,
            &format!("/locations/{}/services", salon.location),
        ))
        .await,
        200,
    )
    .await;
    let service = |id: Uuid, name: &str, minutes: i32, price: i64| {
        json!({"id": id, "name": name, "description": "", "category": null,
               "duration_minutes": minutes, "price_paise": price, "currency": "INR"})
    };
    assert_eq!(
        services,
        json!([
            service(salon.colour, "Global colour", 120, 350000),
            service(salon.haircut, "Haircut", 45, 80000)
        ])
    );
    let staff = body(
        app.get(&public_path(
            &salon,
            &format!("/locations/{}/staff", salon.location),
        ))
        .await,
        200,
    )
    .await;
    let member = |n: usize| {
        json!({"id": salon.stylists[n], "name": format!("Stylist {n}"), "title": "",
               "service_ids": [salon.colour, salon.haircut]})
    };
    assert_eq!(
        staff,
        json!([member(0), member(1)]),
        "no trainee, no one from elsewhere, no bridal makeup"
    );

    // A branch without online booking, or of nobody, is not there.
    for rest in ["services", "staff"] {
        let response = app
            .get(&public_path(
                &salon,
                &format!("/locations/{offline_branch}/{rest}"),
            ))
            .await;
        support::problem(response, 404, "not_found").await;
        let response = app
            .get(&public_path(
                &salon,
                &format!("/locations/{}/{rest}", Uuid::now_v7()),
            ))
            .await;
        support::problem(response, 404, "not_found").await;
    }
    support::problem(app.get("/api/v1/public/no-such-salon").await, 404, "not_found").await;
    // Another business's branch is not this salon's.
    let other = app.signup("Lotus Spa Koregaon").await;
    let response = app
        .get(&public_path(
            &salon,
            &format!("/locations/{}/services", other.location_id),
        ))
        .await;
    support::problem(response, 404, "not_found").await;
    app.stop().await;
}

#[tokio::test]
async fn online_availability_keeps_the_branchs_minimum_notice_and_horizon() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    let slots_on = |date: NaiveDate| {
        public_path(
            &salon,
            &format!(
                "/locations/{}/availability?services={}&from={date}&to={date}",
                salon.location, salon.haircut
            ),
        )
    };
    let full_day = |date: NaiveDate| every_quarter(date, (9, 0), (20, 0));
    let starts = |slots: Value| local_starts(&slots);

    let slots = body(app.get(&slots_on(day(3))).await, 200).await;
    assert_eq!(starts(slots.clone()), full_day(day(3)));
    for slot in slots["slots"].as_array().unwrap() {
        assert!(salon
            .stylists
            .contains(&slot["items"][0]["staff_id"].as_str().unwrap().parse().unwrap()));
    }
    assert_eq!(
        starts(body(app.get(&slots_on(day(60))).await, 200).await),
        full_day(day(60))
    );
    assert_eq!(
        starts(body(app.get(&slots_on(day(61))).await, 200).await),
        Vec::<String>::new()
    );

    sql(
        &app,
        &format!(
            "UPDATE locations SET min_notice_minutes = 2880, max_days_ahead = 5 WHERE id = '{}'",
            salon.location
        ),
    )
    .await;
    // Two days' notice: nothing tomorrow (it ends within 48 hours), all of the day after next but one.
    assert_eq!(
        starts(body(app.get(&slots_on(day(1))).await, 200).await),
        Vec::<String>::new()
    );
    assert_eq!(
        starts(body(app.get(&slots_on(day(3))).await, 200).await),
        full_day(day(3))
    );
    assert_eq!(
        starts(body(app.get(&slots_on(day(5))).await, 200).await),
        full_day(day(5))
    );
    assert_eq!(
        starts(body(app.get(&slots_on(day(6))).await, 200).await),
        Vec::<String>::new()
    );
    // The front desk is not bound by them.
    let front_desk = availability(
        &app,
        &salon,
        &format!("services={}&from={}&to={}", salon.haircut, day(6), day(6)),
    )
    .await;
    assert_eq!(local_starts(&front_desk), full_day(day(6)));

    // Booking online follows the same rules.
    let problem = invalid(
        book_online(
            &app,
            &salon,
            &online_booking(
                &salon,
                pune(day(1), 15, 0),
                Some(salon.stylists[0]),
                "+919900011122",
            ),
        )
        .await,
        "start",
    )
    .await;
    assert_eq!(
        problem["errors"][0]["message"],
        "that start is sooner than the minimum notice allows"
    );
    invalid(
        book_online(
            &app,
            &salon,
            &online_booking(
                &salon,
                pune(day(6), 15, 0),
                Some(salon.stylists[0]),
                "+919900011122",
            ),
        )
        .await,
        "start",
    )
    .await;
    assert_eq!(count(&app, "SELECT count(*) FROM appointments").await, 0);
    app.stop().await;
}

/// What a client's view of a booking holds: nothing about the client.
fn assert_no_client_data(booking: &Value) {
    let keys: Vec<&str> = booking.as_object().unwrap().keys().map(String::as_str).collect();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "changeable_until",
            "ends_at",
            "items",
            "location_name",
            "starts_at",
            "status",
            "timezone"
        ],
        "{booking}"
    );
    for item in booking["items"].as_array().unwrap() {
        let mut keys: Vec<&str> = item.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "ends_at",
                "price_paise",
                "service_name",
                "staff_name",
                "starts_at"
            ],
            "{booking}"
        );
    }
    let text = booking.to_string();
    for secret in ["9900011122", "kavya", "Kavya", "client"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

#[tokio::test]
async fn a_client_books_online_gets_a_private_link_and_is_recognised_by_phone_next_time() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    let date = day(3);
    let created = body(
        book_online(
            &app,
            &salon,
            &online_booking(
                &salon,
                pune(date, 10, 0),
                Some(salon.stylists[0]),
                "+919900011122",
            ),
        )
        .await,
        201,
    )
    .await;
    let token = created["manage_token"].as_str().unwrap().to_owned();
    assert!(token.starts_with(&salon.tenant.simple().to_string()), "{token}");
    assert!(created["manage_url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/b/{token}")));
    let booking = &created["booking"];
    assert_no_client_data(booking);
    assert_eq!(
        *booking,
        json!({
            "status": "booked",
            "location_name": "Main branch",
            "timezone": "Asia/Kolkata",
            "starts_at": pune(date, 10, 0),
            "ends_at": pune(date, 10, 45),
            "items": [{"service_name": "Haircut", "staff_name": "Stylist 0",
                       "starts_at": pune(date, 10, 0), "ends_at": pune(date, 10, 45), "price_paise": 80000}],
            "changeable_until": pune(date, 6, 0),
        })
    );
    let seen = body(app.get(&format!("/api/v1/public/bookings/{token}")).await, 200).await;
    assert_eq!(seen, *booking);

    // The same number, written the Indian way, is the same client.
    let second = body(
        book_online(
            &app,
            &salon,
            &online_booking(&salon, pune(date, 12, 0), None, "99000 11122"),
        )
        .await,
        201,
    )
    .await;
    assert_ne!(second["manage_token"], created["manage_token"]);
    let found = body(
        get(&app, salon.token(), "/api/v1/clients?phone=%2B919900011122").await,
        200,
    )
    .await;
    let clients = found["items"].as_array().unwrap();
    assert_eq!(clients.len(), 1, "{found}");
    assert_eq!(clients[0]["name"], "Kavya Rao");
    let mut db = admin(&app).await;
    let booked_for: Vec<(Uuid, Uuid, String, String)> = sqlx::query_as(
        "SELECT id, client_id, source, status FROM appointments WHERE tenant_id = $1 ORDER BY starts_at",
    )
    .bind(salon.tenant)
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert_eq!(booked_for.len(), 2);
    for (_, client, source, status) in &booked_for {
        assert_eq!(client.to_string(), clients[0]["id"].as_str().unwrap());
        assert_eq!((source.as_str(), status.as_str()), ("online", "booked"));
    }
    // Each online booking is announced for the notifications to confirm.
    for (id, client, _, _) in &booked_for {
        let events: Vec<(String, Value)> = sqlx::query_as(
            "SELECT kind, payload FROM domain_events WHERE tenant_id = $1 AND subject_id = $2 ORDER BY id",
        )
        .bind(salon.tenant)
        .bind(id)
        .fetch_all(&mut db)
        .await
        .unwrap();
        assert_eq!(
            events,
            vec![(
                "appointment.booked".to_owned(),
                json!({"source": "online", "client_id": client})
            )]
        );
    }
    let history: Vec<(String, String)> =
        sqlx::query_as("SELECT kind, actor FROM appointment_events WHERE appointment_id = $1")
            .bind(booked_for[0].0)
            .fetch_all(&mut db)
            .await
            .unwrap();
    assert_eq!(history, vec![("created".to_owned(), "client".to_owned())]);
    db.close().await.unwrap();
    app.stop().await;
}

#[tokio::test]
async fn a_client_cancels_through_the_link_inside_the_window_and_the_time_is_free_again() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    let request = online_booking(
        &salon,
        pune(day(3), 10, 0),
        Some(salon.stylists[0]),
        "+919900011122",
    );
    let created = body(book_online(&app, &salon, &request).await, 201).await;
    let token = created["manage_token"].as_str().unwrap();
    support::problem(book_online(&app, &salon, &request).await, 409, "slot_unavailable").await;

    let path = format!("/api/v1/public/bookings/{token}/cancel");
    let cancelled = body(
        app.post_json(&path, &json!({"reason": "Change of plans"})).await,
        200,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_no_client_data(&cancelled);
    assert_eq!(
        body(app.get(&format!("/api/v1/public/bookings/{token}")).await, 200).await["status"],
        "cancelled"
    );
    support::problem(app.post_json(&path, &json!({})).await, 409, "not_changeable").await;
    let again = body(book_online(&app, &salon, &request).await, 201).await;
    assert_eq!(again["booking"]["status"], "booked", "the time is free at once");
    app.stop().await;
}

#[tokio::test]
async fn a_client_cannot_cancel_or_move_a_booking_once_the_window_has_passed() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    let start = pune(day(3), 10, 0);
    let created = body(
        book_online(
            &app,
            &salon,
            &online_booking(&salon, start, Some(salon.stylists[0]), "+919900011122"),
        )
        .await,
        201,
    )
    .await;
    let token = created["manage_token"].as_str().unwrap();
    sql(
        &app,
        &format!(
            "UPDATE locations SET cancellation_window_minutes = 20160 WHERE id = '{}'",
            salon.location
        ),
    )
    .await;
    let cancel = app
        .post_json(&format!("/api/v1/public/bookings/{token}/cancel"), &json!({}))
        .await;
    support::problem(cancel, 409, "cancellation_window_passed").await;
    let moved = app
        .post_json(
            &format!("/api/v1/public/bookings/{token}/reschedule"),
            &json!({"start": start + Duration::hours(2)}),
        )
        .await;
    support::problem(moved, 409, "cancellation_window_passed").await;
    let seen = body(app.get(&format!("/api/v1/public/bookings/{token}")).await, 200).await;
    assert_eq!(seen["status"], "booked");
    assert_eq!(instant(&seen["starts_at"]), start);
    assert_eq!(
        instant(&seen["changeable_until"]),
        start - Duration::minutes(20160)
    );
    app.stop().await;
}

#[tokio::test]
async fn a_forged_or_mangled_link_opens_nothing() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    let created = body(
        book_online(
            &app,
            &salon,
            &online_booking(
                &salon,
                pune(day(3), 10, 0),
                Some(salon.stylists[0]),
                "+919900011122",
            ),
        )
        .await,
        201,
    )
    .await;
    let token = created["manage_token"].as_str().unwrap();
    let (tenant_part, secret) = token.split_once('.').unwrap();
    let mut flipped = secret.to_owned();
    let last = if flipped.ends_with('A') { "B" } else { "A" };
    flipped.replace_range(flipped.len() - 1.., last);
    let forged = [
        format!("{tenant_part}.{flipped}"),
        format!("{tenant_part}.{}", "x".repeat(43)),
        format!("{}.{secret}", Uuid::now_v7().simple()),
        "nonsense".to_owned(),
    ];
    for token in &forged {
        support::problem(
            app.get(&format!("/api/v1/public/bookings/{token}")).await,
            404,
            "not_found",
        )
        .await;
        let cancel = app
            .post_json(&format!("/api/v1/public/bookings/{token}/cancel"), &json!({}))
            .await;
        support::problem(cancel, 404, "not_found").await;
        let moved = app
            .post_json(
                &format!("/api/v1/public/bookings/{token}/reschedule"),
                &json!({"start": pune(day(4), 10, 0)}),
            )
            .await;
        support::problem(moved, 404, "not_found").await;
    }
    let seen = body(app.get(&format!("/api/v1/public/bookings/{token}")).await, 200).await;
    assert_eq!(seen["status"], "booked");
    app.stop().await;
}

#[tokio::test]
async fn a_client_moves_their_booking_through_the_link() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    let date = day(3);
    let created = body(
        book_online(
            &app,
            &salon,
            &online_booking(
                &salon,
                pune(date, 10, 0),
                Some(salon.stylists[0]),
                "+919900011122",
            ),
        )
        .await,
        201,
    )
    .await;
    let token = created["manage_token"].as_str().unwrap();
    // Someone else has 15:00 with the same stylist.
    booked(
        &app,
        &salon,
        &booking(&salon, pune(date, 15, 0), salon.stylists[0]),
    )
    .await;
    let path = format!("/api/v1/public/bookings/{token}/reschedule");
    let taken = app.post_json(&path, &json!({"start": pune(date, 15, 0)})).await;
    let problem = support::problem(taken, 409, "slot_unavailable").await;
    assert!(
        problem.get("conflict").is_none(),
        "a client never learns about other bookings: {problem}"
    );

    let moved = body(
        app.post_json(&path, &json!({"start": pune(date, 16, 0)})).await,
        200,
    )
    .await;
    assert_no_client_data(&moved);
    assert_eq!(instant(&moved["starts_at"]), pune(date, 16, 0));
    assert_eq!(instant(&moved["ends_at"]), pune(date, 16, 45));
    assert_eq!(moved["items"][0]["staff_name"], "Stylist 0");
    assert_eq!(instant(&moved["items"][0]["starts_at"]), pune(date, 16, 0));
    assert_eq!(instant(&moved["changeable_until"]), pune(date, 12, 0));
    // The old time is free for the front desk.
    booked(
        &app,
        &salon,
        &booking(&salon, pune(date, 10, 0), salon.stylists[0]),
    )
    .await;
    let mut db = admin(&app).await;
    let kinds: Vec<(String, String)> = sqlx::query_as(
        "SELECT e.kind, e.actor FROM appointment_events e JOIN appointments a ON a.id = e.appointment_id
          WHERE a.source = 'online' ORDER BY e.id",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert_eq!(
        kinds,
        vec![
            ("created".into(), "client".into()),
            ("rescheduled".into(), "client".into())
        ]
    );
    db.close().await.unwrap();
    app.stop().await;
}

#[tokio::test]
async fn a_suspended_business_has_no_public_page() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    body(app.get(&public_path(&salon, "")).await, 200).await;
    sql(
        &app,
        &format!(
            "UPDATE tenants SET status = 'suspended' WHERE id = '{}'",
            salon.tenant
        ),
    )
    .await;
    support::problem(app.get(&public_path(&salon, "")).await, 404, "not_found").await;
    for rest in ["services", "staff"] {
        let response = app
            .get(&public_path(
                &salon,
                &format!("/locations/{}/{rest}", salon.location),
            ))
            .await;
        support::problem(response, 404, "not_found").await;
    }
    let date = day(3);
    let slots = app
        .get(&public_path(
            &salon,
            &format!(
                "/locations/{}/availability?services={}&from={date}&to={date}",
                salon.location, salon.haircut
            ),
        ))
        .await;
    support::problem(slots, 404, "not_found").await;
    let before = written(&app).await;
    let request = online_booking(
        &salon,
        pune(date, 10, 0),
        Some(salon.stylists[0]),
        "+919900011122",
    );
    support::problem(book_online(&app, &salon, &request).await, 404, "not_found").await;
    assert_eq!(written(&app).await, before);
    app.stop().await;
}

#[tokio::test]
async fn a_retried_online_booking_books_once_and_both_its_links_open_it() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    let request = online_booking(&salon, pune(day(3), 11, 0), None, "+919900055566");
    let send = || {
        app.client
            .post(app.url(&public_path(&salon, "/bookings")))
            .header("idempotency-key", "phone-retry-1")
            .json(&request)
            .send()
    };
    let first = body(send().await.unwrap(), 201).await;
    let retried = body(send().await.unwrap(), 201).await;
    assert_eq!(first["booking"], retried["booking"]);
    assert!(first.get("appointment_id").is_none() && retried.get("appointment_id").is_none());
    let (old, new) = (
        first["manage_token"].as_str().unwrap(),
        retried["manage_token"].as_str().unwrap(),
    );
    assert_ne!(
        old, new,
        "the stored answer holds no token: a retry gets a signed one"
    );
    // The first link (a stored secret) still opens it: a phone that got the
    // first answer after all keeps a working link.
    assert_eq!(
        app.get(&format!("/api/v1/public/bookings/{old}")).await.status(),
        200
    );
    assert_eq!(
        app.get(&format!("/api/v1/public/bookings/{new}")).await.status(),
        200
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM appointments WHERE source = 'online'").await,
        1
    );
    let stored = count(
        &app,
        &format!("SELECT count(*) FROM idempotency_keys WHERE response_body::text LIKE '%{new}%' OR response_body::text LIKE '%{old}%'"),
    )
    .await;
    assert_eq!(stored, 0, "no manage token is kept in clear");
    app.stop().await;
}
