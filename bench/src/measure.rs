//! Measurements and their report.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use serde_json::json;
use tokio::sync::Mutex;

use crate::data::Salon;

/// Latency figures in milliseconds.
#[derive(Debug, Clone)]
pub struct Sample {
    pub count: usize,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Sample {
    fn of(mut values: Vec<f64>) -> Self {
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

    fn json(&self) -> serde_json::Value {
        json!({ "count": self.count, "p50_ms": self.p50, "p95_ms": self.p95, "p99_ms": self.p99, "max_ms": self.max })
    }
}

#[derive(Debug, Clone)]
pub struct Availability {
    pub server: Sample,
    pub round_trip: Sample,
    pub slots_per_answer: usize,
}

#[derive(Debug, Clone)]
pub struct Booking {
    pub concurrency: usize,
    pub requests: usize,
    pub created: usize,
    pub conflicts: usize,
    pub errors: usize,
    pub seconds: f64,
    pub server: Sample,
    pub round_trip: Sample,
}

fn server_ms(response: &reqwest::Response) -> Option<f64> {
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
/// `runs` times (after 20 warm-up requests), cycling through the services.
pub async fn availability(
    client: &reqwest::Client,
    base: &str,
    salon: &Salon,
    runs: usize,
) -> anyhow::Result<Availability> {
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
    for i in 0..runs + 20 {
        let started = Instant::now();
        let response = client.get(url(i)).bearer_auth(&salon.token).send().await?;
        anyhow::ensure!(
            response.status() == 200,
            "availability answered {}",
            response.status()
        );
        let timing = server_ms(&response).context("Server-Timing")?;
        let body: serde_json::Value = response.json().await?;
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        if i >= 20 {
            server.push(timing);
            round_trip.push(elapsed);
            slots = slots.max(body["slots"].as_array().map_or(0, Vec::len));
        }
    }
    Ok(Availability {
        server: Sample::of(server),
        round_trip: Sample::of(round_trip),
        slots_per_answer: slots,
    })
}

/// `requests` bookings by `concurrency` workers at pseudo-random starts on the
/// 15-minute grid of the measured 14 days, each with an idempotency key.
pub async fn booking(
    client: &reqwest::Client,
    base: &str,
    salon: &Salon,
    concurrency: usize,
    requests: usize,
) -> anyhow::Result<Booking> {
    let next = Arc::new(Mutex::new(0usize));
    let results = Arc::new(Mutex::new(Vec::with_capacity(requests)));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, next, results) = (client.clone(), next.clone(), results.clone());
        let (base, token) = (base.to_owned(), salon.token.clone());
        let (location, customer, first_date) = (salon.location, salon.client, salon.first_date);
        let (services, staff) = (salon.services.clone(), salon.staff.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let i = {
                    let mut n = next.lock().await;
                    if *n >= requests {
                        break;
                    }
                    *n += 1;
                    *n
                };
                // A deterministic spread: day, quarter hour, service and staff from i.
                let x = (i as u64).wrapping_mul(2_654_435_761) % 1_000_003;
                let day = first_date + chrono::Duration::days((x % 14) as i64);
                let minute = 9 * 60 + 15 * ((x / 14) % 44) as u32;
                let start = chrono::NaiveDateTime::new(
                    day,
                    chrono::NaiveTime::from_hms_opt(minute / 60, minute % 60, 0).unwrap_or_default(),
                );
                // Staff member k (display order k + 1) performs the services
                // whose display order has the other parity.
                let k = i % staff.len();
                let j = 2 * ((x as usize / 616) % (services.len() / 2)) + (k + 1) % 2;
                let body = json!({
                    "location_id": location, "client_id": customer, "start_local": start,
                    "items": [{ "service_id": services[j], "staff_id": staff[k] }],
                });
                let sent = Instant::now();
                let response = client
                    .post(format!("{base}/api/v1/appointments"))
                    .bearer_auth(&token)
                    .header("idempotency-key", format!("bench-{i}"))
                    .json(&body)
                    .send()
                    .await;
                let elapsed = sent.elapsed().as_secs_f64() * 1000.0;
                let outcome = match response {
                    Ok(r) => (r.status().as_u16(), server_ms(&r).unwrap_or(f64::NAN), elapsed),
                    Err(_) => (0, f64::NAN, elapsed),
                };
                results.lock().await.push(outcome);
            }
        }));
    }
    for worker in workers {
        worker.await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let results = results.lock().await;
    let created = results.iter().filter(|r| r.0 == 201).count();
    let conflicts = results.iter().filter(|r| r.0 == 409 || r.0 == 422).count();
    Ok(Booking {
        concurrency,
        requests,
        created,
        conflicts,
        errors: results.len() - created - conflicts,
        seconds,
        server: Sample::of(results.iter().map(|r| r.1).filter(|v| v.is_finite()).collect()),
        round_trip: Sample::of(results.iter().map(|r| r.2).collect()),
    })
}

pub struct Report {
    pub scenario: String,
    pub quick: bool,
    pub location_items: i64,
    pub total_items: i64,
    pub load_secs: f64,
    pub availability: Availability,
    pub booking: Booking,
    pub total_secs: f64,
}

impl Report {
    fn json(&self, at: &str) -> serde_json::Value {
        json!({
            "scenario": self.scenario,
            "at": at,
            "quick": self.quick,
            "machine": { "cores": std::thread::available_parallelism().map_or(0, |n| n.get()) },
            "dataset": { "location_items": self.location_items, "total_items": self.total_items, "load_seconds": self.load_secs },
            "availability_14_days": {
                "server": self.availability.server.json(),
                "round_trip": self.availability.round_trip.json(),
                "max_slots_per_answer": self.availability.slots_per_answer,
                "target_p95_ms": 5.0,
            },
            "booking": {
                "concurrency": self.booking.concurrency,
                "requests": self.booking.requests,
                "created": self.booking.created,
                "conflicts": self.booking.conflicts,
                "errors": self.booking.errors,
                "requests_per_second": self.booking.requests as f64 / self.booking.seconds,
                "created_per_second": self.booking.created as f64 / self.booking.seconds,
                "server": self.booking.server.json(),
                "round_trip": self.booking.round_trip.json(),
            },
            "total_seconds": self.total_secs,
        })
    }

    pub fn markdown(&self) -> String {
        let a = &self.availability;
        let b = &self.booking;
        format!(
            "# ftry benchmark: {scenario}{quick}\n\n\
             Dataset: {li} booked items at the measured location, {ti} in the database (generated in {load:.1} s).\n\n\
             | measure | p50 | p95 | p99 | max | target |\n| --- | ---: | ---: | ---: | ---: | --- |\n\
             | availability, 14 days, server time (ms) | {ap50:.2} | {ap95:.2} | {ap99:.2} | {amax:.2} | p95 ≤ 5 ms |\n\
             | availability, round trip (ms) | {rp50:.2} | {rp95:.2} | {rp99:.2} | {rmax:.2} | |\n\
             | booking at concurrency {c}, server time (ms) | {bp50:.2} | {bp95:.2} | {bp99:.2} | {bmax:.2} | |\n\n\
             Booking: {req} requests in {secs:.1} s = {rps:.0} requests/s; {created} created ({cps:.0}/s), \
             {conflicts} refused as taken (409/422), {errors} errors.\n",
            scenario = self.scenario,
            quick = if self.quick { " (quick)" } else { "" },
            li = self.location_items,
            ti = self.total_items,
            load = self.load_secs,
            ap50 = a.server.p50,
            ap95 = a.server.p95,
            ap99 = a.server.p99,
            amax = a.server.max,
            rp50 = a.round_trip.p50,
            rp95 = a.round_trip.p95,
            rp99 = a.round_trip.p99,
            rmax = a.round_trip.max,
            c = b.concurrency,
            bp50 = b.server.p50,
            bp95 = b.server.p95,
            bp99 = b.server.p99,
            bmax = b.server.max,
            req = b.requests,
            secs = b.seconds,
            rps = b.requests as f64 / b.seconds,
            created = b.created,
            cps = b.created as f64 / b.seconds,
            conflicts = b.conflicts,
            errors = b.errors,
        )
    }

    /// Write `<UTC timestamp>.json` and `latest.md` into `dir`.
    pub fn write(&self, dir: &Path) -> anyhow::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let at = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        let path = dir.join(format!("{at}.json"));
        std::fs::write(&path, serde_json::to_string_pretty(&self.json(&at))?)?;
        std::fs::write(dir.join("latest.md"), self.markdown())?;
        Ok(path)
    }
}
