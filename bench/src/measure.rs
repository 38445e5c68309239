//! Measurements and their report.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use serde_json::json;
use tokio::sync::Mutex;

use crate::ceiling::{Load, Pgbench};
use crate::data::Salon;

/// Unmeasured requests before each sequential measurement: enough for every
/// connection of the pool (40) to be used six times, so PostgreSQL has
/// settled on its cached plan for each statement (it plans the first five
/// executions of a prepared statement one by one) and the figures are those
/// of a running service, not of a cold one.
pub const WARM_UP: usize = 240;

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
    pub(crate) fn of(mut values: Vec<f64>) -> Self {
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
    client: &reqwest::Client,
    base: &str,
    salon: &Salon,
    runs: usize,
    mut fresh: Option<&mut sqlx::PgConnection>,
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
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        if i >= WARM_UP {
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
    pub checkout: Checkout,
    pub revenue: Sample,
    pub invoices: i64,
    pub scenario: String,
    pub quick: bool,
    pub location_items: i64,
    pub total_items: i64,
    pub load_secs: f64,
    /// Searches answered from the schedule ftry holds.
    pub availability: Availability,
    /// Searches each after a change: the schedule loaded every time.
    pub availability_fresh: Availability,
    pub booking: Booking,
    pub total_secs: f64,
    pub ceiling: Ceiling,
    /// Scenarios run by the closed-loop driver: name, figures, target.
    pub driven: Vec<(&'static str, Load, &'static str)>,
    /// Per scenario, the CPU cores the process used on average.
    pub usage: Vec<(String, f64)>,
    /// Peak resident memory of the process (ftry and the driver), bytes.
    pub peak_rss: u64,
}

/// What the machine does without ftry's work in the way.
pub struct Ceiling {
    pub pgbench: Vec<Pgbench>,
    /// `GET /health/live`, one client.
    pub http_1: Load,
    /// `GET /health/live`, 32 clients.
    pub http_32: Load,
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
            "availability_14_days_after_a_change": {
                "server": self.availability_fresh.server.json(),
                "round_trip": self.availability_fresh.round_trip.json(),
                "max_slots_per_answer": self.availability_fresh.slots_per_answer,
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
            "checkout": {
                "concurrency": self.checkout.concurrency,
                "checkouts": self.checkout.checkouts,
                "completed": self.checkout.completed,
                "errors": self.checkout.errors,
                "checkouts_per_second": self.checkout.completed as f64 / self.checkout.seconds,
                "server": self.checkout.server.json(),
                "round_trip": self.checkout.round_trip.json(),
            },
            "revenue_report_one_year": { "invoices": self.invoices, "server": self.revenue.json() },
            "driven": self.driven.iter().map(|(name, load, target)| json!({
                "scenario": name, "target": target, "load": load.json(),
            })).collect::<Vec<_>>(),
            "ceiling": {
                "pgbench": self.ceiling.pgbench.iter().map(Pgbench::json).collect::<Vec<_>>(),
                "health_live_1_client": self.ceiling.http_1.json(),
                "health_live_32_clients": self.ceiling.http_32.json(),
            },
            "cpu_cores_used": self.usage.iter().map(|(name, cores)| json!({ "scenario": name, "cores": cores }))
                .collect::<Vec<_>>(),
            "peak_rss_bytes": self.peak_rss,
            "total_seconds": self.total_secs,
        })
    }

    pub fn markdown(&self) -> String {
        let a = &self.availability;
        let f = &self.availability_fresh;
        let b = &self.booking;
        format!(
            "# ftry benchmark: {scenario}{quick}\n\n\
             Dataset: {li} booked items at the measured location, {ti} in the database (generated in {load:.1} s).\n\n\
             | measure | p50 | p95 | p99 | max | target |\n| --- | ---: | ---: | ---: | ---: | --- |\n\
             | availability, 14 days, schedule held (searches in a row), server time (ms) | {ap50:.2} | {ap95:.2} | {ap99:.2} | {amax:.2} | p95 ≤ 5 ms |\n\
             | availability, round trip (ms) | {rp50:.2} | {rp95:.2} | {rp99:.2} | {rmax:.2} | |\n\
             | availability, 14 days, each search after a change (schedule loaded), server time (ms) | {fp50:.2} | {fp95:.2} | {fp99:.2} | {fmax:.2} | |\n\
             | booking at concurrency {c}, server time (ms) | {bp50:.2} | {bp95:.2} | {bp99:.2} | {bmax:.2} | |\n\n\
             Booking: {req} requests in {secs:.1} s = {rps:.0} requests/s; {created} created ({cps:.0}/s), \
             {conflicts} refused as taken (409/422), {errors} errors.\n\n\
             | measure | p50 | p95 | p99 | max |\n| --- | ---: | ---: | ---: | ---: |\n\
             | checkout (draft + product + finalize + pay) at concurrency {cc}, server time (ms) | {cp50:.2} | {cp95:.2} | {cp99:.2} | {cmax:.2} |\n\
             | revenue report by day over one year of {inv} invoices, server time (ms) | {vp50:.2} | {vp95:.2} | {vp99:.2} | {vmax:.2} |\n\n\
             Checkout: {done} of {tried} completed in {csecs:.1} s = {cps2:.0} checkouts/s, {cerr} failed.\n",
            fp50 = f.server.p50,
            fp95 = f.server.p95,
            fp99 = f.server.p99,
            fmax = f.server.max,
            cc = self.checkout.concurrency,
            cp50 = self.checkout.server.p50,
            cp95 = self.checkout.server.p95,
            cp99 = self.checkout.server.p99,
            cmax = self.checkout.server.max,
            inv = self.invoices,
            vp50 = self.revenue.p50,
            vp95 = self.revenue.p95,
            vp99 = self.revenue.p99,
            vmax = self.revenue.max,
            done = self.checkout.completed,
            tried = self.checkout.checkouts,
            csecs = self.checkout.seconds,
            cps2 = self.checkout.completed as f64 / self.checkout.seconds,
            cerr = self.checkout.errors,
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

    /// The driven scenarios, the ceilings and the process figures.
    pub fn markdown_more(&self) -> String {
        use std::fmt::Write;
        let http = &self.ceiling.http_32;
        let mut out = String::from(
            "\n| scenario | clients | req/s | server p50 | server p95 | server p99 | round trip p95 | errors | \
             req/s ÷ HTTP ceiling | target |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n",
        );
        for (name, load, target) in &self.driven {
            let ceiling = if load.concurrency == 1 {
                &self.ceiling.http_1
            } else {
                http
            };
            let _ = writeln!(
                out,
                "| {name} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {:.3} | {target} |",
                load.concurrency,
                load.per_second(),
                load.server.p50,
                load.server.p95,
                load.server.p99,
                load.round_trip.p95,
                load.errors,
                load.per_second() / ceiling.per_second(),
            );
        }
        let _ = write!(
            out,
            "\nCeilings on this machine, same run:\n\n\
             | ceiling | clients | per second | latency |\n| --- | ---: | ---: | --- |\n\
             | ftry `GET /health/live` | 1 | {:.0} | round trip p50 {:.3} / p95 {:.3} ms |\n\
             | ftry `GET /health/live` | 32 | {:.0} | round trip p50 {:.3} / p95 {:.3} ms |\n",
            self.ceiling.http_1.per_second(),
            self.ceiling.http_1.round_trip.p50,
            self.ceiling.http_1.round_trip.p95,
            http.per_second(),
            http.round_trip.p50,
            http.round_trip.p95,
        );
        for run in &self.ceiling.pgbench {
            let _ = writeln!(
                out,
                "| pgbench {} (scale 10) | {} | {:.0} tps | average {:.3} ms |",
                run.script, run.clients, run.tps, run.latency_ms
            );
        }
        let tpcb_32 = self
            .ceiling
            .pgbench
            .iter()
            .find(|r| r.script == "tpcb-like" && r.clients == 32);
        if let Some(tpcb) = tpcb_32 {
            let _ = writeln!(
                out,
                "\nBookings created per second ÷ pgbench TPC-B-like transactions per second at 32 clients: {:.3}.",
                self.booking.created as f64 / self.booking.seconds / tpcb.tps
            );
        }
        let _ = write!(
            out,
            "\nCPU cores used by the process (ftry and the driver) per scenario: "
        );
        let cores: Vec<String> = self
            .usage
            .iter()
            .map(|(name, c)| format!("{name} {c:.2}"))
            .collect();
        let _ = writeln!(
            out,
            "{}. Peak resident memory: {:.0} MiB.",
            cores.join(", "),
            self.peak_rss as f64 / 1048576.0
        );
        out
    }

    /// Write `<UTC timestamp>.json` and `latest.md` into `dir`.
    pub fn write(&self, dir: &Path) -> anyhow::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let at = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        let path = dir.join(format!("{at}.json"));
        std::fs::write(&path, serde_json::to_string_pretty(&self.json(&at))?)?;
        std::fs::write(dir.join("latest.md"), self.markdown() + &self.markdown_more())?;
        Ok(path)
    }
}

#[derive(Debug, Clone)]
pub struct Checkout {
    pub concurrency: usize,
    pub checkouts: usize,
    pub completed: usize,
    pub errors: usize,
    pub seconds: f64,
    /// Server time of the whole checkout (draft + product + finalize + pay).
    pub server: Sample,
    pub round_trip: Sample,
}

/// Check out `count` future visits with `concurrency` workers: draft from the
/// appointment, add a product, finalize, pay by UPI.
pub async fn checkout(
    client: &reqwest::Client,
    base: &str,
    salon: &Salon,
    concurrency: usize,
    count: usize,
) -> anyhow::Result<Checkout> {
    let queue = Arc::new(Mutex::new(
        salon.appointments.iter().take(count).copied().collect::<Vec<_>>(),
    ));
    let results = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, queue, results) = (client.clone(), queue.clone(), results.clone());
        let (base, token, product) = (base.to_owned(), salon.token.clone(), salon.product);
        workers.push(tokio::spawn(async move {
            loop {
                let Some(appointment) = queue.lock().await.pop() else {
                    break;
                };
                let sent = Instant::now();
                let mut server = 0.0;
                let mut step = |response: reqwest::Result<reqwest::Response>| -> Option<reqwest::Response> {
                    let response = response.ok()?;
                    server += server_ms(&response).unwrap_or(0.0);
                    response.status().is_success().then_some(response)
                };
                let outcome: Option<()> = async {
                    let draft = step(
                        client
                            .post(format!("{base}/api/v1/invoices"))
                            .bearer_auth(&token)
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
                            .bearer_auth(&token)
                            .json(&json!({ "kind": "product", "product_id": product }))
                            .send()
                            .await,
                    )?;
                    let finalized = step(
                        client
                            .post(format!("{base}/api/v1/invoices/{id}/finalize"))
                            .bearer_auth(&token)
                            .send()
                            .await,
                    )?;
                    let due = finalized.json::<serde_json::Value>().await.ok()?["due_paise"].as_i64()?;
                    step(
                        client
                            .post(format!("{base}/api/v1/invoices/{id}/payments"))
                            .bearer_auth(&token)
                            .json(&json!({ "method": "upi", "amount_paise": due, "reference": "bench" }))
                            .send()
                            .await,
                    )?;
                    Some(())
                }
                .await;
                let elapsed = sent.elapsed().as_secs_f64() * 1000.0;
                results.lock().await.push((outcome.is_some(), server, elapsed));
            }
        }));
    }
    for worker in workers {
        worker.await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let results = results.lock().await;
    let completed = results.iter().filter(|r| r.0).count();
    Ok(Checkout {
        concurrency,
        checkouts: results.len(),
        completed,
        errors: results.len() - completed,
        seconds,
        server: Sample::of(results.iter().filter(|r| r.0).map(|r| r.1).collect()),
        round_trip: Sample::of(results.iter().filter(|r| r.0).map(|r| r.2).collect()),
    })
}

/// The revenue report by day over the year before the measured fortnight.
pub async fn revenue_report(
    client: &reqwest::Client,
    base: &str,
    salon: &Salon,
    runs: usize,
) -> anyhow::Result<Sample> {
    let to = salon.first_date - chrono::Duration::days(1);
    let from = to - chrono::Duration::days(364);
    let url = format!(
        "{base}/api/v1/reports/revenue?location_id={}&from={from}&to={to}&group=day",
        salon.location
    );
    let mut server = Vec::new();
    for i in 0..runs + 3 {
        let response = client.get(&url).bearer_auth(&salon.token).send().await?;
        anyhow::ensure!(
            response.status() == 200,
            "revenue report answered {}",
            response.status()
        );
        let timing = server_ms(&response).context("Server-Timing")?;
        let _ = response.bytes().await?;
        if i >= 3 {
            server.push(timing);
        }
    }
    Ok(Sample::of(server))
}
