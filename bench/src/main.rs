//! `ftry-bench`: runs ftry (release build, in-process, on a real PostgreSQL)
//! against a generated scale dataset and reports latency percentiles and
//! throughput, with the server's own time from `Server-Timing`.
//!
//! Usage: `bench/run [--scale small|medium|large] [--scenario NAME|all]
//! [--quick]` (see bench/README.md).

mod ceiling;
mod data;
mod measure;
mod report;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use ftry::config::{Config, SecretUrl};
use ftry_ops::process::ProcessUsage;

use crate::data::Filler;
use crate::measure::Row;
use crate::report::Report;

/// The scenarios, in the order they run.
const SCENARIOS: [&str; 9] = [
    "availability",
    "calendar-day",
    "client-search",
    "login",
    "book",
    "checkout",
    "report-revenue",
    "mixed",
    "jobs",
];

const USAGE: &str = "usage: ftry-bench [--scale small|medium|large] [--scenario NAME|all]... [--quick]";

/// How much data: the measured salon is the same at every scale (20 staff,
/// 60 services, 5,000 booked items around the measured fortnight, 20,000
/// clients, its year of invoices); the other businesses make the rest.
#[derive(Debug, Clone, Copy)]
struct Scale {
    name: &'static str,
    filler: Filler,
    invoices: u64,
}

impl Scale {
    fn named(name: &str) -> anyhow::Result<Self> {
        // A filler business books 10 staff × 62 visits a week: about 88.6
        // items a day.
        Ok(match name {
            // About 10,000 appointments.
            "small" => Self {
                name: "small",
                filler: Filler {
                    businesses: 1,
                    days: 57,
                    clients: 1_000,
                    invoice_permille: 500,
                },
                invoices: 20_000,
            },
            // 100 businesses, about 1,000,000 items, 120,000 clients and
            // 300,000 invoices.
            "medium" => Self {
                name: "medium",
                filler: Filler {
                    businesses: 99,
                    days: 113,
                    clients: 1_000,
                    invoice_permille: 160,
                },
                invoices: 200_000,
            },
            // 2,000 businesses, about 10,000,000 items, 2,000,000 clients and
            // 3,000,000 invoices.
            "large" => Self {
                name: "large",
                filler: Filler {
                    businesses: 1_999,
                    days: 56,
                    clients: 1_000,
                    invoice_permille: 440,
                },
                invoices: 200_000,
            },
            other => anyhow::bail!("unknown scale {other}; {USAGE}"),
        })
    }
}

struct Options {
    quick: bool,
    scale: Scale,
    scenarios: Vec<&'static str>,
    admin_url: String,
    results: PathBuf,
}

fn options() -> anyhow::Result<Options> {
    let mut args = std::env::args().skip(1);
    let mut quick = false;
    let mut scale = None;
    let mut scenarios: Vec<&'static str> = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--scale" => scale = Some(Scale::named(&args.next().context(USAGE)?)?),
            "--scenario" => {
                for name in args.next().context(USAGE)?.split(',') {
                    match name {
                        "all" => scenarios.extend(SCENARIOS),
                        name => {
                            scenarios.push(SCENARIOS.into_iter().find(|known| *known == name).with_context(
                                || format!("unknown scenario {name}; known: {}", SCENARIOS.join(", ")),
                            )?)
                        }
                    }
                }
            }
            // The name of the whole set, as earlier versions took it.
            "scheduling" => scenarios.extend(SCENARIOS),
            other => anyhow::bail!("unknown argument {other}; {USAGE}"),
        }
    }
    if scenarios.is_empty() {
        scenarios.extend(SCENARIOS);
    }
    scenarios.sort_by_key(|name| SCENARIOS.iter().position(|known| known == name));
    scenarios.dedup();
    let scale = match scale {
        Some(scale) => scale,
        None => Scale::named(if quick { "small" } else { "medium" })?,
    };
    let admin_url = std::env::var("FTRY_BENCH_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://ftry_test:ftry_test@127.0.0.1:5432/postgres".into());
    let results =
        PathBuf::from(std::env::var("FTRY_BENCH_RESULTS").unwrap_or_else(|_| "bench/results".into()));
    Ok(Options {
        quick,
        scale,
        scenarios,
        admin_url,
        results,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = options()?;
    // FTRY_BENCH_LOG=debug shows the service's own logs (phase timings) on stderr.
    if let Ok(level) = std::env::var("FTRY_BENCH_LOG") {
        let settings = ftry_ops::logging::LogSettings {
            format: ftry_ops::logging::LogFormat::Json,
            level,
        };
        ftry_ops::logging::init(&settings, ftry_ops::logging::LogTarget::Stderr, None, None)
            .map_err(anyhow::Error::msg)?;
    }
    let started = Instant::now();
    let db = data::BenchDb::create(&options.admin_url).await?;
    eprintln!("database {} created", db.name);
    let outcome = run(&db, &options, started).await;
    // FTRY_BENCH_KEEP=1 keeps the database for a closer look (EXPLAIN ANALYZE).
    if std::env::var("FTRY_BENCH_KEEP").is_ok_and(|v| v == "1") {
        eprintln!("kept database {}", db.name);
    } else {
        db.drop().await?;
    }
    outcome
}

async fn run(db: &data::BenchDb, options: &Options, started: Instant) -> anyhow::Result<()> {
    let mut config = Config::default();
    config.database.url = Some(SecretUrl::try_from(db.url("ftry_app")).map_err(anyhow::Error::msg)?);
    config.database.owner_url = Some(SecretUrl::try_from(db.url("ftry_owner")).map_err(anyhow::Error::msg)?);
    config.rate_limit.enabled = false;
    config.auth.argon2_memory_kib = 1024;
    config.auth.argon2_iterations = 1;
    // The scenarios use the sign-up's token after the dataset is made, which
    // takes longer than an access token lives at the large scale.
    config.auth.access_token_ttl_secs = 24 * 3600;
    config.auth.refresh_token_ttl_secs = config.auth.refresh_token_ttl_secs.max(24 * 3600);
    // One account logs in over and over: lift its attempt budget (its own suite tests it).
    config.auth.login_attempts_per_account = "100000/1m".parse().map_err(anyhow::Error::msg)?;
    config.data_protection = data::bench_data_protection();
    let jobs = config.jobs.resolve().map_err(anyhow::Error::msg)?;
    let prepared = ftry::server::prepare(config, false).await?;
    // The service runs one job worker; the jobs scenario adds a second.
    let app = prepared.state.app.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let server = tokio::spawn(ftry::server::run(prepared, listener, admin, async move {
        let _ = stopped.await;
    }));
    let base = format!("http://{addr}");

    let load_started = Instant::now();
    let salon = data::load(db, &base, options.scale.filler, options.scale.invoices).await?;
    let load_secs = load_started.elapsed().as_secs_f64();
    eprintln!(
        "dataset: {} items at the measured location, {} items in the database ({load_secs:.1} s)",
        salon.location_items, salon.total_items
    );

    // Redirects are not followed: a page that sends the driver to sign in is an error, not a 200.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let scale = |quick: usize, full: usize| if options.quick { quick } else { full };
    let mut usage = Vec::new();
    let mut track = |name: &str, since: (f64, Instant)| {
        let cpu = ProcessUsage::read().cpu_seconds - since.0;
        usage.push((name.to_owned(), cpu / since.1.elapsed().as_secs_f64()));
    };
    let now = || (ProcessUsage::read().cpu_seconds, Instant::now());
    let want = |name: &str| options.scenarios.contains(&name);

    // The ceilings: what PostgreSQL and ftry's HTTP stack do on this machine.
    let pgbench_db = data::BenchDb::create(&options.admin_url).await?;
    let pgbench = ceiling::pgbench(
        &pgbench_db.superuser_url(),
        &[1, 32],
        if options.quick { 3 } else { 10 },
    );
    pgbench_db.drop().await?;
    let pgbench = pgbench?;
    let live = |c: &reqwest::Client, base: &str| {
        let (c, url) = (c.clone(), format!("{base}/health/live"));
        move |_: usize| c.get(&url)
    };
    let http_1 = ceiling::drive(1, 100, scale(1000, 3000), 200, live(&client, &base)).await?;
    let http_32 = ceiling::drive(32, 100, scale(3000, 20000), 200, live(&client, &base)).await?;

    let mut rows: Vec<Row> = Vec::new();
    // A closed-loop scenario: driven, its row kept, the CPU it used noted.
    macro_rules! driven {
        ($usage:literal, $clients:expr, $warm_up:expr, $requests:expr, $request:expr, $name:expr, $target:expr $(,)?) => {{
            let since = now();
            let load = ceiling::drive($clients, $warm_up, $requests, 200, $request).await?;
            rows.push(Row::from_load($name, load, $target));
            track($usage, since);
        }};
    }
    let last = salon.first_date + chrono::Duration::days(13);
    if want("availability") {
        let runs = scale(200, 1000);
        let since = now();
        rows.push(
            measure::availability(
                "availability (staff), 14 days, schedule held",
                &client,
                &base,
                &salon,
                runs,
                None,
            )
            .await?,
        );
        track("availability", since);
        let mut changes = db.superuser().await?;
        let since = now();
        rows.push(
            measure::availability(
                "availability (staff), 14 days, each search after a change",
                &client,
                &base,
                &salon,
                runs,
                Some(&mut changes),
            )
            .await?,
        );
        track("availability after a change", since);
        let staff_availability = {
            let (c, base, s) = (client.clone(), base.clone(), salon.clone());
            move |i: usize| {
                let service = s.services[i % s.services.len()];
                c.get(format!(
                    "{base}/api/v1/locations/{}/availability?services={service}&from={}&to={last}",
                    s.location, s.first_date
                ))
                .bearer_auth(&s.token)
            }
        };
        driven!(
            "availability at 32",
            32,
            measure::WARM_UP,
            scale(400, 2000),
            staff_availability,
            "availability (staff), 14 days",
            "≥ 2,000 req/s"
        );
        let public_availability = {
            let (c, base, s) = (client.clone(), base.clone(), salon.clone());
            move |i: usize| {
                let service = s.services[i % s.services.len()];
                c.get(format!(
                    "{base}/api/v1/public/{}/locations/{}/availability?services={service}&from={}&to={last}",
                    s.slug, s.location, s.first_date
                ))
            }
        };
        driven!(
            "public availability",
            1,
            measure::WARM_UP,
            scale(200, 1000),
            public_availability,
            "availability (public, no login), 14 days",
            "p95 ≤ 5 ms"
        );
    }
    if want("calendar-day") {
        let calendar_day = {
            let (c, base, s) = (client.clone(), base.clone(), salon.clone());
            move |i: usize| {
                let date = s.first_date + chrono::Duration::days((i % 14) as i64);
                c.get(format!(
                    "{base}/api/v1/locations/{}/calendar?date={date}",
                    s.location
                ))
                .bearer_auth(&s.token)
            }
        };
        driven!(
            "calendar day",
            32,
            measure::WARM_UP,
            scale(500, 3000),
            calendar_day,
            "calendar-day (API)",
            "≥ 5,000 req/s, p95 ≤ 10 ms"
        );
        // The same day as the web app's page (the session cookie carries the
        // same access token): one at a time for its render time, then 32.
        let calendar_page = {
            let (c, base, s) = (client.clone(), base.clone(), salon.clone());
            move |i: usize| {
                let date = s.first_date + chrono::Duration::days((i % 14) as i64);
                c.get(format!("{base}/app/calendar?location={}&date={date}", s.location))
                    .header(reqwest::header::COOKIE, format!("ftry_access={}", s.token))
            }
        };
        driven!(
            "calendar page",
            1,
            measure::WARM_UP,
            scale(200, 1000),
            calendar_page.clone(),
            "calendar-day (HTML page)",
            "p95 ≤ 20 ms",
        );
        driven!(
            "calendar page at 32 clients",
            32,
            measure::WARM_UP,
            scale(500, 3000),
            calendar_page,
            "calendar-day (HTML page) at 32 clients",
            "p95 ≤ 20 ms"
        );
    }
    if want("client-search") {
        let client_search = {
            let (c, base, s) = (client.clone(), base.clone(), salon.clone());
            const PREFIXES: [&str; 8] = ["pri", "ra", "sne", "arj", "meera", "v", "kavya k", "sid"];
            move |i: usize| {
                c.get(format!(
                    "{base}/api/v1/clients?q={}&limit=20",
                    PREFIXES[i % PREFIXES.len()]
                ))
                .bearer_auth(&s.token)
            }
        };
        driven!(
            "client search",
            32,
            measure::WARM_UP,
            scale(500, 3000),
            client_search,
            "client-search (name prefix, 20,000 clients)",
            ""
        );
    }
    if want("login") {
        let login_request = {
            let (c, base, s) = (client.clone(), base.clone(), salon.clone());
            move |_: usize| {
                c.post(format!("{base}/api/v1/auth/login"))
                    .json(&serde_json::json!({ "email": s.owner_email, "password": s.owner_password }))
            }
        };
        driven!(
            "login",
            8,
            5,
            scale(100, 400),
            login_request,
            "login (password check at the benchmark's weak Argon2 cost)",
            ""
        );
    }
    if want("book") {
        let since = now();
        rows.push(measure::booking(&client, &base, &salon, 32, scale(500, 3000)).await?);
        track("booking", since);
        let mut superuser = db.superuser().await?;
        let slots = measure::free_slots(&client, &base, &salon, &mut superuser, scale(500, 3000)).await?;
        drop(superuser);
        let since = now();
        rows.push(measure::booking_free(&client, &base, &salon, 32, slots).await?);
        track("booking free slots", since);
    }
    // Future visits to check out: the checkout scenario from the front of
    // the list, the mixed day from the back.
    let mut visits = salon.appointments.clone();
    if want("checkout") {
        let count = scale(200, 1000).min(visits.len() / 2);
        let batch: Vec<_> = visits.drain(..count).collect();
        let since = now();
        rows.push(measure::checkout(&client, &base, &salon, 32, batch).await?);
        track("checkout", since);
    }
    if want("report-revenue") {
        let since = now();
        rows.push(measure::revenue_report(&client, &base, &salon, scale(20, 100)).await?);
        track("revenue report", since);
    }
    if want("mixed") {
        let (rate, seconds) = if options.quick { (50, 8) } else { (100, 30) };
        let since = now();
        let (row, _) = measure::mixed(&client, &base, &salon, rate, seconds, visits).await?;
        rows.push(row);
        track("mixed", since);
    }
    if want("jobs") {
        let (stop_worker, worker_stopped) = tokio::sync::oneshot::channel::<()>();
        let second = ftry_app::jobs::Worker::new(app.clone(), jobs);
        let second = tokio::spawn(second.run(
            async move {
                let _ = worker_stopped.await;
            },
            std::time::Duration::from_secs(5),
        ));
        let since = now();
        let (backlog, rate, seconds) = if options.quick {
            (2_000, 100, 5)
        } else {
            (20_000, 200, 15)
        };
        rows.extend(measure::jobs(db, backlog, rate, seconds).await?);
        track("jobs", since);
        let _ = stop_worker.send(());
        second.await?;
    }
    // ftry runs in this process: the peak includes the driver's share.
    let peak_rss = ProcessUsage::read().peak_resident_bytes;

    let _ = stop.send(());
    server.await??;
    let report = Report {
        quick: options.quick,
        scenarios: options.scenarios.iter().map(|s| (*s).to_owned()).collect(),
        dataset: report::Dataset {
            scale: options.scale.name,
            businesses: salon.businesses,
            total_items: salon.total_items,
            location_items: salon.location_items,
            clients: salon.clients,
            invoices: salon.invoices,
            all_invoices: salon.all_invoices,
            split_payments: salon.split_payments,
            load_secs,
        },
        rows,
        ceiling: report::Ceiling {
            pgbench,
            http_1,
            http_32,
        },
        usage,
        peak_rss,
        total_secs: started.elapsed().as_secs_f64(),
    };
    let written = report.write(&options.results)?;
    println!("{}", report.markdown());
    eprintln!("results written to {}", written.display());
    Ok(())
}
