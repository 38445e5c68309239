//! Booking through the API against a real PostgreSQL: the happy path, the
//! database's refusal of double bookings under concurrency, and freeing time.

mod support;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use reqwest::Method;
use support::{Business, TestApp};
use uuid::Uuid;

/// A salon set up directly in the database: one branch open every day
/// 09:00–21:00 (Asia/Kolkata), two stylists, a haircut (45 min + 15 min
/// cleanup), a colour with a 45-minute processing gap, one chair.
struct Salon {
    business: Business,
    location: Uuid,
    stylists: [Uuid; 2],
    haircut: Uuid,
    colour: Uuid,
    chair: Uuid,
    client: Uuid,
}

async fn salon(app: &TestApp) -> Salon {
    let business = app.signup("Booking Test Salon").await;
    let tenant: Uuid = business.tenant_id.parse().unwrap();
    let location: Uuid = business.location_id.parse().unwrap();
    let mut db = app.db.as_ref().unwrap().admin().await;
    let stylists = [Uuid::now_v7(), Uuid::now_v7()];
    let (haircut, colour, chair, client) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    sqlx::query(
        "INSERT INTO location_hours (tenant_id, location_id, weekday, opens, closes)
         SELECT $1, $2, d, 540, 1260 FROM generate_series(1, 7) d",
    )
    .bind(tenant)
    .bind(location)
    .execute(&mut db)
    .await
    .unwrap();
    for (i, id) in stylists.iter().enumerate() {
        sqlx::query("INSERT INTO staff (tenant_id, id, name, display_order) VALUES ($1, $2, $3, $4)")
            .bind(tenant)
            .bind(id)
            .bind(format!("Stylist {i}"))
            .bind(i as i32)
            .execute(&mut db)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO staff_hours (tenant_id, staff_id, location_id, weekday, kind, starts, ends)
             SELECT $1, $2, $3, d, 'work', 540, 1260 FROM generate_series(1, 7) d",
        )
        .bind(tenant)
        .bind(id)
        .bind(location)
        .execute(&mut db)
        .await
        .unwrap();
    }
    sqlx::query(
        "INSERT INTO services (tenant_id, id, name, duration_minutes, buffer_after_minutes, price_paise, tax_code)
         VALUES ($1, $2, 'Haircut', 45, 15, 80000, '999721')",
    )
    .bind(tenant)
    .bind(haircut)
    .execute(&mut db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO services (tenant_id, id, name, duration_minutes, processing_offset_minutes, processing_minutes,
                               price_paise, tax_code, resource_type)
         VALUES ($1, $2, 'Global colour', 120, 30, 45, 350000, '999721', 'chair')",
    )
    .bind(tenant)
    .bind(colour)
    .execute(&mut db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO service_locations (tenant_id, service_id, location_id) VALUES ($1, $2, $4), ($1, $3, $4)",
    )
    .bind(tenant)
    .bind(haircut)
    .bind(colour)
    .bind(location)
    .execute(&mut db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO staff_services (tenant_id, staff_id, service_id)
         SELECT $1, s, v FROM unnest($2::uuid[]) s, unnest($3::uuid[]) v",
    )
    .bind(tenant)
    .bind(&stylists[..])
    .bind(&[haircut, colour][..])
    .execute(&mut db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO resources (tenant_id, id, location_id, name, resource_type) VALUES ($1, $2, $3, 'Chair 1', 'chair')",
    )
    .bind(tenant)
    .bind(chair)
    .bind(location)
    .execute(&mut db)
    .await
    .unwrap();
    let created = app
        .authed(Method::POST, "/api/v1/clients", &business.access_token)
        .json(&serde_json::json!({"name": "Neha Kulkarni", "phone": "+919812345678"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "client");
    let body: serde_json::Value = created.json().await.unwrap();
    let _ = client;
    Salon {
        location,
        stylists,
        haircut,
        colour,
        chair,
        client: body["id"].as_str().unwrap().parse().unwrap(),
        business,
    }
}

/// 10:00 in Pune, `days` from today.
fn at_ten(days: i64) -> DateTime<Utc> {
    let date: NaiveDate = (Utc::now() + Duration::days(days)).date_naive();
    chrono_tz::Asia::Kolkata
        .from_local_datetime(&date.and_hms_opt(10, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

fn booking(salon: &Salon, start: DateTime<Utc>, staff: Uuid) -> serde_json::Value {
    serde_json::json!({
        "location_id": salon.location,
        "client_id": salon.client,
        "start": start,
        "items": [{"service_id": salon.haircut, "staff_id": staff}],
    })
}

async fn book(app: &TestApp, salon: &Salon, body: &serde_json::Value) -> reqwest::Response {
    app.authed(Method::POST, "/api/v1/appointments", &salon.business.access_token)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_booked_slot_is_refused_to_the_next_booking_until_it_is_cancelled() {
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    let start = at_ten(3);
    let first = book(&app, &salon, &booking(&salon, start, salon.stylists[0])).await;
    assert_eq!(first.status(), 201);
    let first: serde_json::Value = first.json().await.unwrap();
    assert_eq!(first["status"], "booked");
    assert_eq!(first["items"][0]["starts_at"], serde_json::json!(start));
    assert_eq!(
        first["items"][0]["ends_at"],
        serde_json::json!(start + Duration::minutes(45))
    );
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
        .json(&serde_json::json!({"reason": "client called"}))
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), 200);
    let again = book(&app, &salon, &booking(&salon, start, salon.stylists[0])).await;
    assert_eq!(again.status(), 201, "cancelling frees the time at once");
    app.stop().await;
}

/// Fire `n` identical bookings at once; return how many got each status.
async fn race(app: &TestApp, salon: &Salon, bodies: Vec<serde_json::Value>) -> (usize, usize, Vec<u16>) {
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

async fn futures_join_all<F: std::future::Future<Output = u16> + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<u16> {
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
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
    let app = TestApp::fresh().await;
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
    let app = TestApp::fresh().await;
    let salon = salon(&app).await;
    for round in 0..rounds() {
        let start = at_ten(2) + Duration::days(round as i64);
        // Different stylists, the same chair: only the chair can refuse the second.
        let bodies = (0..50)
            .map(|i| {
                serde_json::json!({
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
