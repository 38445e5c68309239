//! The measured scenarios. Each gives one [`Row`] of the report.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use ftry_ops::process::ProcessUsage;
use serde_json::json;
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::ceiling::Load;
use crate::data::Salon;

/// Unmeasured requests before each sequential measurement: enough for every
/// connection of the pool (40) to be used six times, so PostgreSQL has
/// settled on its cached plan for each statement (it plans the first five
/// executions of a prepared statement one by one) and the figures are those
/// of a running service, not of a cold one.
pub const WARM_UP: usize = 240;

/// Latency figures in milliseconds.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    pub count: usize,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Sample {
    pub(crate) fn of(mut values: Vec<f64>) -> Self {
        values.retain(|v| v.is_finite());
        values.sort_by(f64::total_cmp);
        let at = |q: f64| {
            values
                .get(((values.len() as f64 - 1.0) * q).round() as usize)
                .copied()
                .unwrap_or(0.0)
        };
        Self {
            count: values.len(),
            p50: at(0.50),
            p95: at(0.95),
            p99: at(0.99),
            max: values.last().copied().unwrap_or(0.0),
        }
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        json!({ "count": self.count, "p50_ms": self.p50, "p95_ms": self.p95, "p99_ms": self.p99, "max_ms": self.max })
    }
}

/// One scenario's figures: what the report prints on one line.
#[derive(Debug, Clone)]
pub struct Row {
    pub name: String,
    /// Concurrent clients (1: one request after another); for a fixed
    /// arrival rate, the requests in flight at most.
    pub clients: usize,
    pub requests: usize,
    pub seconds: f64,
    /// Answered as the scenario expects (refusals it expects included).
    pub ok: usize,
    pub errors: usize,
    /// Server time from `Server-Timing`, of the answers counted ok.
    pub server: Sample,
    pub round_trip: Sample,
    pub target: &'static str,
    /// What else the scenario saw, in a sentence.
    pub note: Option<String>,
    /// Figures of its own for the JSON (bookings created, slots per answer…).
    pub extra: serde_json::Value,
}

impl Row {
    pub fn per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.requests as f64 / self.seconds
        } else {
            0.0
        }
    }

    pub fn from_load(name: &str, load: Load, target: &'static str) -> Self {
        Self {
            name: name.to_owned(),
            clients: load.concurrency,
            requests: load.requests,
            seconds: load.seconds,
            ok: load.ok,
            errors: load.errors,
            server: load.server,
            round_trip: load.round_trip,
            target,
            note: None,
            extra: json!({}),
        }
    }

    /// Requests sent one after another, every one answered as expected.
    fn sequential(
        name: String,
        server: Vec<f64>,
        round_trip: Vec<f64>,
        measured: Duration,
        target: &'static str,
        extra: serde_json::Value,
    ) -> Self {
        Self {
            name,
            clients: 1,
            requests: server.len(),
            seconds: measured.as_secs_f64(),
            ok: server.len(),
            errors: 0,
            server: Sample::of(server),
            round_trip: Sample::of(round_trip),
            target,
            note: None,
            extra,
        }
    }

    pub fn json(&self) -> serde_json::Value {
        json!({
            "scenario": self.name, "clients": self.clients, "requests": self.requests, "seconds": self.seconds,
            "per_second": self.per_second(), "ok": self.ok, "errors": self.errors,
            "server": self.server.json(), "round_trip": self.round_trip.json(),
            "target": self.target, "note": self.note, "extra": self.extra,
        })
    }
}

pub(crate) fn server_ms(response: &reqwest::Response) -> Option<f64> {
    response
        .headers()
        .get("server-timing")?
        .to_str()
        .ok()?
        .strip_prefix("app;dur=")?
        .parse()
        .ok()
}

/// 14 days of availability for one service at the measured location, asked
/// `runs` times (after `WARM_UP` unmeasured requests), cycling through the services.
///
/// With `fresh`, a connection as the superuser, the business's schedule
/// version is moved before every search, as a booking or any other change
/// would: each search then loads the schedule instead of answering from the
/// one ftry holds.
pub async fn availability(
    name: &str,
    client: &reqwest::Client,
    base: &str,
    salon: &Salon,
    runs: usize,
    mut fresh: Option<&mut sqlx::PgConnection>,
) -> anyhow::Result<Row> {
    let last = salon.first_date + chrono::Duration::days(13);
    let url = |i: usize| {
        let service = salon.services[i % salon.services.len()];
        format!(
            "{base}/api/v1/locations/{}/availability?services={service}&from={}&to={last}",
            salon.location, salon.first_date
        )
    };
    let (mut server, mut round_trip) = (Vec::new(), Vec::new());
    let mut slots = 0;
    let mut measured = Duration::ZERO;
    for i in 0..runs + WARM_UP {
        if let Some(conn) = fresh.as_deref_mut() {
            sqlx::query(
                "INSERT INTO schedule_versions AS v (tenant_id, version)
                 SELECT tenant_id, 1 FROM locations WHERE id = $1
                 ON CONFLICT (tenant_id) DO UPDATE SET version = v.version + 1",
            )
            .bind(salon.location)
            .execute(&mut *conn)
            .await?;
        }
        let started = Instant::now();
        let response = client.get(url(i)).bearer_auth(&salon.token).send().await?;
        anyhow::ensure!(
            response.status() == 200,
            "availability answered {}",
            response.status()
        );
        let timing = server_ms(&response).context("Server-Timing")?;
        let body: serde_json::Value = response.json().await?;
        let elapsed = started.elapsed();
        if i >= WARM_UP {
            measured += elapsed;
            server.push(timing);
            round_trip.push(elapsed.as_secs_f64() * 1000.0);
            slots = slots.max(body["slots"].as_array().map_or(0, Vec::len));
        }
    }
    Ok(Row::sequential(
        name.to_owned(),
        server,
        round_trip,
        measured,
        if fresh.is_some() { "" } else { "p95 ≤ 5 ms" },
        json!({ "max_slots_per_answer": slots }),
    ))
}

/// Book the `i`-th of a deterministic spread of visits (see
/// [`contested_visit`]), with an idempotency key of its own: the answer's
/// status and server time.
async fn book_one(client: &reqwest::Client, base: &str, salon: &Salon, i: usize) -> (u16, f64) {
    post_booking(
        client,
        base,
        &salon.token,
        &format!("bench-{i}"),
        &contested_visit(salon, i),
    )
    .await
}

/// The `i`-th of a deterministic spread of visits: day, quarter hour,
/// service and staff from `i`.
fn contested_visit(salon: &Salon, i: usize) -> serde_json::Value {
    let x = (i as u64).wrapping_mul(2_654_435_761) % 1_000_003;
    let day = salon.first_date + chrono::Duration::days((x % 14) as i64);
    let minute = 9 * 60 + 15 * ((x / 14) % 44) as u32;
    let start = chrono::NaiveDateTime::new(
        day,
        chrono::NaiveTime::from_hms_opt(minute / 60, minute % 60, 0).unwrap_or_default(),
    );
    // Staff member k (display order k + 1) performs the services whose
    // display order has the other parity.
    let k = i % salon.staff.len();
    let j = 2 * ((x as usize / 616) % (salon.services.len() / 2)) + (k + 1) % 2;
    json!({
        "location_id": salon.location, "client_id": salon.client, "start_local": start,
        "items": [{ "service_id": salon.services[j], "staff_id": salon.staff[k] }],
    })
}

/// One booking request with idempotency key `key`: the answer's status
/// (0 when none came) and server time.
async fn post_booking(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    key: &str,
    body: &serde_json::Value,
) -> (u16, f64) {
    match client
        .post(format!("{base}/api/v1/appointments"))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
    {
        Ok(r) => (r.status().as_u16(), server_ms(&r).unwrap_or(f64::NAN)),
        Err(_) => (0, f64::NAN),
    }
}

/// Send every one of `bookings` (idempotency key, body) once, by
/// `concurrency` workers: each answer's status, server time and round trip
/// (ms), and the seconds it all took.
async fn book_all(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    concurrency: usize,
    bookings: Vec<(String, serde_json::Value)>,
) -> anyhow::Result<(Vec<(u16, f64, f64)>, f64)> {
    let count = bookings.len();
    let bookings = Arc::new(bookings);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let results = Arc::new(Mutex::new(Vec::with_capacity(count)));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, next, results, bookings) =
            (client.clone(), next.clone(), results.clone(), bookings.clone());
        let (base, token) = (base.to_owned(), token.to_owned());
        workers.push(tokio::spawn(async move {
            while let Some((key, body)) =
                bookings.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
            {
                let sent = Instant::now();
                let (status, server) = post_booking(&client, &base, &token, key, body).await;
                let elapsed = sent.elapsed().as_secs_f64() * 1000.0;
                results.lock().await.push((status, server, elapsed));
            }
        }));
    }
    for worker in workers {
        worker.await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let results = std::mem::take(&mut *results.lock().await);
    Ok((results, seconds))
}

/// A booking answer the scenario expects: created, or refused because the
/// time is taken (409) or no longer fits the staff member's day (422).
fn expected_booking(status: u16) -> bool {
    matches!(status, 201 | 409 | 422)
}

/// `requests` bookings by `concurrency` workers at pseudo-random starts on the
/// 15-minute grid of the measured 14 days, each with an idempotency key.
pub async fn booking(
    client: &reqwest::Client,
    base: &str,
    salon: &Salon,
    concurrency: usize,
    requests: usize,
) -> anyhow::Result<Row> {
    let bookings = (1..=requests)
        .map(|i| (format!("bench-{i}"), contested_visit(salon, i)))
        .collect();
    let (results, seconds) = book_all(client, base, &salon.token, concurrency, bookings).await?;
    let created = results.iter().filter(|r| r.0 == 201).count();
    let refused = results.iter().filter(|r| r.0 == 409 || r.0 == 422).count();
    Ok(Row {
        name: format!("book (create appointment) at concurrency {concurrency}"),
        clients: concurrency,
        requests,
        seconds,
        ok: created + refused,
        errors: results.len() - created - refused,
        server: Sample::of(
            results
                .iter()
                .filter(|r| expected_booking(r.0))
                .map(|r| r.1)
                .collect(),
        ),
        round_trip: Sample::of(
            results
                .iter()
                .filter(|r| expected_booking(r.0))
                .map(|r| r.2)
                .collect(),
        ),
        target: "≥ 1,500 created/s, p95 ≤ 25 ms",
        note: Some(format!(
            "{created} created ({:.0}/s), {refused} refused as taken (409/422)",
            created as f64 / seconds
        )),
        extra: json!({ "created": created, "refused": refused, "created_per_second": created as f64 / seconds }),
    })
}

/// Free slots to book, at most `wanted`: for each staff member, a service
/// they perform that needs no resource and has no buffers or processing
/// time (found in the database), the starts the availability API offers
/// them for it over the measured 14 days, kept where they do not overlap
/// the one kept before; then dealt out staff member by staff member. No two
/// of them compete, so each should be created.
pub async fn free_slots(
    client: &reqwest::Client,
    base: &str,
    salon: &Salon,
    superuser: &mut sqlx::PgConnection,
    wanted: usize,
) -> anyhow::Result<Vec<serde_json::Value>> {
    let plain: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT DISTINCT ON (st.display_order) st.id, sv.id
           FROM staff st
           JOIN staff_services ss ON ss.tenant_id = st.tenant_id AND ss.staff_id = st.id
           JOIN services sv ON sv.tenant_id = ss.tenant_id AND sv.id = ss.service_id
          WHERE st.tenant_id = (SELECT tenant_id FROM locations WHERE id = $1)
            AND sv.resource_type IS NULL AND sv.processing_minutes IS NULL
            AND sv.buffer_before_minutes = 0 AND sv.buffer_after_minutes = 0
          ORDER BY st.display_order, sv.display_order",
    )
    .bind(salon.location)
    .fetch_all(superuser)
    .await?;
    anyhow::ensure!(!plain.is_empty(), "no staff member performs a plain service");
    let last = salon.first_date + chrono::Duration::days(13);
    let mut per_staff = Vec::new();
    for (staff, service) in &plain {
        let response = client
            .get(format!(
                "{base}/api/v1/locations/{}/availability?services={service}&staff={staff}&from={}&to={last}",
                salon.location, salon.first_date
            ))
            .bearer_auth(&salon.token)
            .send()
            .await?;
        anyhow::ensure!(
            response.status() == 200,
            "availability answered {}",
            response.status()
        );
        let body: serde_json::Value = response.json().await?;
        let mut kept = Vec::new();
        let mut free_from = String::new();
        for slot in body["slots"].as_array().into_iter().flatten() {
            let item = &slot["items"][0];
            let (Some(start), Some(end)) = (item["start"].as_str(), item["end"].as_str()) else {
                continue;
            };
            // RFC 3339 instants in UTC compare as text.
            if start >= free_from.as_str() {
                kept.push(json!({
                    "location_id": salon.location, "client_id": salon.client, "start": start,
                    "items": [{ "service_id": service, "staff_id": staff }],
                }));
                free_from = end.to_owned();
            }
        }
        per_staff.push(kept.into_iter());
    }
    let mut dealt = Vec::with_capacity(wanted);
    while dealt.len() < wanted {
        let before = dealt.len();
        for slots in &mut per_staff {
            if dealt.len() < wanted {
                dealt.extend(slots.next());
            }
        }
        if dealt.len() == before {
            break;
        }
    }
    Ok(dealt)
}

/// Book each of `slots` (see [`free_slots`]) once, by `concurrency`
/// workers, each with an idempotency key of its own.
pub async fn booking_free(
    client: &reqwest::Client,
    base: &str,
    salon: &Salon,
    concurrency: usize,
    slots: Vec<serde_json::Value>,
) -> anyhow::Result<Row> {
    let requests = slots.len();
    let bookings = slots
        .into_iter()
        .enumerate()
        .map(|(i, body)| (format!("bench-free-{i}"), body))
        .collect();
    let (results, seconds) = book_all(client, base, &salon.token, concurrency, bookings).await?;
    let created = results.iter().filter(|r| r.0 == 201).count();
    let refused = results.iter().filter(|r| r.0 == 409).count();
    Ok(Row {
        name: format!("book free slots (create appointment) at concurrency {concurrency}"),
        clients: concurrency,
        requests,
        seconds,
        ok: created + refused,
        errors: results.len() - created - refused,
        server: Sample::of(results.iter().filter(|r| r.0 == 201).map(|r| r.1).collect()),
        round_trip: Sample::of(results.iter().filter(|r| r.0 == 201).map(|r| r.2).collect()),
        target: "≥ 1,500 bookings/s, p95 ≤ 25 ms",
        note: Some(format!(
            "{created} of {requests} free slots booked ({:.0}/s), {refused} refused (409)",
            created as f64 / seconds
        )),
        extra: json!({ "created": created, "refused": refused, "created_per_second": created as f64 / seconds }),
    })
}

/// Check out one visit: draft from the appointment, add a product, finalize,
/// pay by UPI. Whether every step succeeded, and the server time of all four.
async fn check_out_one(
    client: &reqwest::Client,
    base: &str,
    salon: &Salon,
    appointment: Uuid,
) -> (bool, f64) {
    let mut server = 0.0;
    let mut step = |response: reqwest::Result<reqwest::Response>| -> Option<reqwest::Response> {
        let response = response.ok()?;
        server += server_ms(&response).unwrap_or(0.0);
        response.status().is_success().then_some(response)
    };
    let token = &salon.token;
    let outcome: Option<()> = async {
        let draft = step(
            client
                .post(format!("{base}/api/v1/invoices"))
                .bearer_auth(token)
                .json(&json!({ "appointment_id": appointment }))
                .send()
                .await,
        )?;
        let id = draft.json::<serde_json::Value>().await.ok()?["id"]
            .as_str()?
            .to_owned();
        step(
            client
                .post(format!("{base}/api/v1/invoices/{id}/lines"))
                .bearer_auth(token)
                .json(&json!({ "kind": "product", "product_id": salon.product }))
                .send()
                .await,
        )?;
        let finalized = step(
            client
                .post(format!("{base}/api/v1/invoices/{id}/finalize"))
                .bearer_auth(token)
                .send()
                .await,
        )?;
        let due = finalized.json::<serde_json::Value>().await.ok()?["due_paise"].as_i64()?;
        step(
            client
                .post(format!("{base}/api/v1/invoices/{id}/payments"))
                .bearer_auth(token)
                .json(&json!({ "method": "upi", "amount_paise": due, "reference": "bench" }))
                .send()
                .await,
        )?;
        Some(())
    }
    .await;
    (outcome.is_some(), server)
}

/// Check out `visits` with `concurrency` workers (see [`check_out_one`]).
pub async fn checkout(
    client: &reqwest::Client,
    base: &str,
    salon: &Salon,
    concurrency: usize,
    visits: Vec<Uuid>,
) -> anyhow::Result<Row> {
    let count = visits.len();
    let queue = Arc::new(Mutex::new(visits));
    let results = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, queue, results) = (client.clone(), queue.clone(), results.clone());
        let (base, salon) = (base.to_owned(), salon.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let Some(appointment) = queue.lock().await.pop() else {
                    break;
                };
                let sent = Instant::now();
                let (ok, server) = check_out_one(&client, &base, &salon, appointment).await;
                let elapsed = sent.elapsed().as_secs_f64() * 1000.0;
                results.lock().await.push((ok, server, elapsed));
            }
        }));
    }
    for worker in workers {
        worker.await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let results = results.lock().await;
    let completed = results.iter().filter(|r| r.0).count();
    Ok(Row {
        name: format!("checkout (draft + product + finalize + pay) at concurrency {concurrency}"),
        clients: concurrency,
        requests: count,
        seconds,
        ok: completed,
        errors: results.len() - completed,
        server: Sample::of(results.iter().filter(|r| r.0).map(|r| r.1).collect()),
        round_trip: Sample::of(results.iter().filter(|r| r.0).map(|r| r.2).collect()),
        target: "≥ 500/s, p95 ≤ 50 ms",
        note: Some(format!("{completed} of {count} checkouts completed")),
        extra: json!({ "completed": completed }),
    })
}

/// The revenue report by day over the year before the measured fortnight.
pub async fn revenue_report(
    client: &reqwest::Client,
    base: &str,
    salon: &Salon,
    runs: usize,
) -> anyhow::Result<Row> {
    let to = salon.first_date - chrono::Duration::days(1);
    let from = to - chrono::Duration::days(364);
    let url = format!(
        "{base}/api/v1/reports/revenue?location_id={}&from={from}&to={to}&group=day",
        salon.location
    );
    let (mut server, mut round_trip) = (Vec::new(), Vec::new());
    let mut measured = Duration::ZERO;
    for i in 0..runs + 3 {
        let started = Instant::now();
        let response = client.get(&url).bearer_auth(&salon.token).send().await?;
        anyhow::ensure!(
            response.status() == 200,
            "revenue report answered {}",
            response.status()
        );
        let timing = server_ms(&response).context("Server-Timing")?;
        let _ = response.bytes().await?;
        if i >= 3 {
            let elapsed = started.elapsed();
            measured += elapsed;
            server.push(timing);
            round_trip.push(elapsed.as_secs_f64() * 1000.0);
        }
    }
    Ok(Row::sequential(
        format!("report-revenue by day, one year of {} invoices", salon.invoices),
        server,
        round_trip,
        measured,
        "p95 ≤ 200 ms",
        json!({ "invoices": salon.invoices }),
    ))
}

/// A front-desk day at a fixed arrival rate: `rate` operations a second for
/// `seconds`, each started on schedule whatever the earlier ones are doing
/// (an open loop: a slow answer does not slow the arrivals), 70% reads
/// (staff availability, the calendar day, client search), 20% bookings and
/// 10% checkouts of `visits`. Latency runs from the scheduled start, so
/// queueing counts. Also the process's largest resident memory seen while it
/// ran, sampled every 100 ms.
pub async fn mixed(
    client: &reqwest::Client,
    base: &str,
    salon: &Salon,
    rate: u32,
    seconds: u32,
    visits: Vec<Uuid>,
) -> anyhow::Result<(Row, u64)> {
    let total = (rate * seconds) as usize;
    let visits = Arc::new(Mutex::new(visits));
    let in_flight = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let most_in_flight = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        tokio::spawn(async move {
            let mut most = 0;
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                most = most.max(ProcessUsage::read().resident_bytes);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            most
        })
    };
    let period = Duration::from_secs(1) / rate;
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        let due = started + period * i as u32;
        tokio::time::sleep_until(due.into()).await;
        let (client, base, salon, visits) = (client.clone(), base.to_owned(), salon.clone(), visits.clone());
        let (in_flight, most_in_flight) = (in_flight.clone(), most_in_flight.clone());
        tasks.push(tokio::spawn(async move {
            let now = in_flight.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            most_in_flight.fetch_max(now, std::sync::atomic::Ordering::Relaxed);
            let last = salon.first_date + chrono::Duration::days(13);
            let day = salon.first_date + chrono::Duration::days((i % 14) as i64);
            let read = |path: String| {
                let request = client.get(format!("{base}{path}")).bearer_auth(&salon.token);
                async move {
                    match request.send().await {
                        Ok(r) => {
                            let ok = r.status() == 200;
                            let server = server_ms(&r).unwrap_or(f64::NAN);
                            (r.bytes().await.is_ok() && ok, server)
                        }
                        Err(_) => (false, f64::NAN),
                    }
                }
            };
            let outcome = match i % 10 {
                0..=2 => {
                    let service = salon.services[(i / 10) % salon.services.len()];
                    read(format!(
                        "/api/v1/locations/{}/availability?services={service}&from={}&to={last}",
                        salon.location, salon.first_date
                    ))
                    .await
                }
                3..=4 => {
                    read(format!(
                        "/api/v1/locations/{}/calendar?date={day}",
                        salon.location
                    ))
                    .await
                }
                5..=6 => {
                    read(format!(
                        "/api/v1/clients?q={}&limit=20",
                        ["pri", "ra", "meera"][i % 3]
                    ))
                    .await
                }
                7..=8 => {
                    let (status, server) = book_one(&client, &base, &salon, 5_000_000 + i).await;
                    (expected_booking(status), server)
                }
                _ => match visits.lock().await.pop() {
                    Some(visit) => check_out_one(&client, &base, &salon, visit).await,
                    None => (false, f64::NAN),
                },
            };
            in_flight.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            (outcome.0, outcome.1, due.elapsed().as_secs_f64() * 1000.0)
        }));
    }
    let mut results = Vec::with_capacity(total);
    for task in tasks {
        results.push(task.await?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let rss = sampler.await?;
    let ok = results.iter().filter(|r| r.0).count();
    let row = Row {
        name: format!("mixed front-desk day at {rate} operations/s (70% reads, 20% bookings, 10% checkouts)"),
        clients: most_in_flight.load(std::sync::atomic::Ordering::Relaxed),
        requests: total,
        seconds: elapsed,
        ok,
        errors: total - ok,
        server: Sample::of(results.iter().filter(|r| r.0).map(|r| r.1).collect()),
        round_trip: Sample::of(results.iter().filter(|r| r.0).map(|r| r.2).collect()),
        target: "RSS ≤ 150 MB",
        note: Some(format!(
            "{total} operations scheduled over {seconds} s, finished in {elapsed:.1} s; at most {} in flight; \
             largest resident memory while it ran {:.0} MiB",
            most_in_flight.load(std::sync::atomic::Ordering::Relaxed),
            rss as f64 / 1_048_576.0
        )),
        extra: json!({ "rate_per_second": rate, "seconds": seconds, "resident_bytes_max": rss }),
    };
    Ok((row, rss))
}

/// Background jobs with the service's worker and one more (two workers of
/// `jobs.concurrency` each): a backlog of diagnostic jobs drained (jobs per
/// second), then jobs arriving one at a time at `rate` a second for
/// `seconds`, each from its due instant to its start (the database's own
/// clock on both ends).
pub async fn jobs(
    db: &crate::data::BenchDb,
    backlog: i64,
    rate: u64,
    seconds: u64,
) -> anyhow::Result<Vec<Row>> {
    use sqlx::Executor;
    let mut conn = db.superuser().await?;
    let insert = "INSERT INTO jobs (id, queue, kind, payload, max_attempts, timeout_secs)
                  SELECT gen_random_uuid(), 'diagnostic', 'diagnostic.echo', '{}', 3, 30 FROM generate_series(1, $1)";
    let started = Instant::now();
    sqlx::query(insert).bind(backlog).execute(&mut conn).await?;
    diagnostics_done(&mut conn, backlog).await?;
    let drained = started.elapsed();
    let mut throughput = Row::sequential(
        format!("jobs: a backlog of {backlog} drained by 2 workers"),
        Vec::new(),
        Vec::new(),
        drained,
        "",
        json!({ "jobs": backlog, "jobs_per_second": backlog as f64 / drained.as_secs_f64() }),
    );
    throughput.requests = backlog as usize;
    throughput.ok = backlog as usize;
    throughput.clients = 2;
    throughput.note = Some(format!("{:.0} jobs/s", backlog as f64 / drained.as_secs_f64()));

    conn.execute("TRUNCATE job_runs").await?;
    conn.execute("DELETE FROM jobs WHERE kind = 'diagnostic.echo'")
        .await?;
    let count = rate * seconds;
    let gap = Duration::from_secs_f64(1.0 / rate as f64);
    let mut tick = tokio::time::interval(gap);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let arrivals = Instant::now();
    for _ in 0..count {
        tick.tick().await;
        sqlx::query(insert).bind(1i64).execute(&mut conn).await?;
    }
    let arrived = arrivals.elapsed();
    diagnostics_done(&mut conn, count as i64).await?;
    let delays: Vec<f64> = sqlx::query_scalar(
        "SELECT extract(epoch FROM r.started_at - j.run_at)::float8 * 1000
           FROM jobs j JOIN job_runs r ON r.job_id = j.id WHERE j.kind = 'diagnostic.echo'",
    )
    .fetch_all(&mut conn)
    .await?;
    let mut latency = Row::sequential(
        format!("jobs: {rate}/s arriving, due → started"),
        delays.clone(),
        delays,
        arrived,
        "",
        json!({ "rate": rate }),
    );
    latency.clients = 2;
    latency.note = Some("server = start delay (due to attempt start, the database's clock)".into());
    Ok(vec![throughput, latency])
}

/// Wait until `count` diagnostic jobs are done.
async fn diagnostics_done(conn: &mut sqlx::PgConnection, count: i64) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let n: i64 =
            sqlx::query_scalar("SELECT count(*) FROM jobs WHERE kind = 'diagnostic.echo' AND state = 'done'")
                .fetch_one(&mut *conn)
                .await?;
        if n >= count {
            return Ok(());
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "jobs not done: {n} of {count}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
