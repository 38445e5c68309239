//! `ftry-bench`: runs ftry (release build, in-process, on a real PostgreSQL)
//! against a generated scale dataset and reports latency percentiles and
//! throughput, with the server's own time from `Server-Timing`.
//!
//! Usage: `bench/run scheduling [--quick]` (see bench/README.md).

mod ceiling;
mod data;
mod measure;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use ftry::config::{Config, SecretUrl};
use ftry_ops::process::ProcessUsage;

use crate::measure::Report;

struct Options {
    quick: bool,
    filler_items: u64,
    admin_url: String,
    results: PathBuf,
}

fn options() -> anyhow::Result<(String, Options)> {
    let mut args = std::env::args().skip(1);
    let scenario = args.next().unwrap_or_else(|| "scheduling".into());
    let mut quick = false;
    let mut filler_items = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--filler-items" => filler_items = Some(args.next().context("--filler-items N")?.parse()?),
            other => anyhow::bail!(
                "unknown argument {other}; usage: ftry-bench scheduling [--quick] [--filler-items N]"
            ),
        }
    }
    let admin_url = std::env::var("FTRY_BENCH_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://ftry_test:ftry_test@127.0.0.1:5432/postgres".into());
    let results =
        PathBuf::from(std::env::var("FTRY_BENCH_RESULTS").unwrap_or_else(|_| "bench/results".into()));
    Ok((
        scenario,
        Options {
            quick,
            filler_items: filler_items.unwrap_or(if quick { 50_000 } else { 1_000_000 }),
            admin_url,
            results,
        },
    ))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (scenario, options) = options()?;
    // FTRY_BENCH_LOG=debug shows the service's own logs (phase timings) on stderr.
    if let Ok(level) = std::env::var("FTRY_BENCH_LOG") {
        let settings = ftry_ops::logging::LogSettings {
            format: ftry_ops::logging::LogFormat::Json,
            level,
        };
        ftry_ops::logging::init(&settings, ftry_ops::logging::LogTarget::Stderr)
            .map_err(anyhow::Error::msg)?;
    }
    anyhow::ensure!(
        scenario == "scheduling",
        "unknown scenario {scenario}; known: scheduling"
    );
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
    config.database.max_connections = 40;
    config.rate_limit.enabled = false;
    config.auth.argon2_memory_kib = 1024;
    config.auth.argon2_iterations = 1;
    // One account logs in over and over: lift its attempt budget (its own suite tests it).
    config.auth.login_attempts_per_account = "100000/1m".parse().map_err(anyhow::Error::msg)?;
    config.data_protection = data::bench_data_protection();
    let prepared = ftry::server::prepare(config, false).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let server = tokio::spawn(ftry::server::run(prepared, listener, admin, async move {
        let _ = stopped.await;
    }));
    let base = format!("http://{addr}");

    let load_started = Instant::now();
    let invoices = if options.quick { 20_000 } else { 200_000 };
    let salon = data::load(db, &base, options.filler_items, invoices).await?;
    let load_secs = load_started.elapsed().as_secs_f64();
    eprintln!(
        "dataset: {} items at the measured location, {} items in the database ({load_secs:.1} s)",
        salon.location_items, salon.total_items
    );

    let client = reqwest::Client::builder().pool_max_idle_per_host(64).build()?;
    let scale = |quick: usize, full: usize| if options.quick { quick } else { full };
    let mut usage = Vec::new();
    let mut track = |name: &str, since: (f64, Instant)| {
        let cpu = ProcessUsage::read().cpu_seconds - since.0;
        usage.push((name.to_owned(), cpu / since.1.elapsed().as_secs_f64()));
    };
    let now = || (ProcessUsage::read().cpu_seconds, Instant::now());

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

    let since = now();
    let availability_runs = scale(200, 1000);
    let availability = measure::availability(&client, &base, &salon, availability_runs, None).await?;
    track("availability", since);
    let mut changes = db.superuser().await?;
    let since = now();
    let availability_fresh =
        measure::availability(&client, &base, &salon, availability_runs, Some(&mut changes)).await?;
    track("availability after a change", since);
    let last = salon.first_date + chrono::Duration::days(13);
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
    let since = now();
    let availability_32 =
        ceiling::drive(32, measure::WARM_UP, scale(400, 2000), 200, staff_availability).await?;
    track("availability at 32", since);
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
    let since = now();
    let public = ceiling::drive(1, measure::WARM_UP, scale(200, 1000), 200, public_availability).await?;
    track("public availability", since);
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
    let since = now();
    let calendar = ceiling::drive(32, measure::WARM_UP, scale(500, 3000), 200, calendar_day).await?;
    track("calendar day", since);
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
    let since = now();
    let search = ceiling::drive(32, measure::WARM_UP, scale(500, 3000), 200, client_search).await?;
    track("client search", since);
    let login_request = {
        let (c, base, s) = (client.clone(), base.clone(), salon.clone());
        move |_: usize| {
            c.post(format!("{base}/api/v1/auth/login"))
                .json(&serde_json::json!({ "email": s.owner_email, "password": s.owner_password }))
        }
    };
    let since = now();
    let login = ceiling::drive(8, 5, scale(100, 400), 200, login_request).await?;
    track("login", since);

    let since = now();
    let booking = measure::booking(&client, &base, &salon, 32, scale(500, 3000)).await?;
    track("booking", since);
    let since = now();
    let checkout = measure::checkout(&client, &base, &salon, 32, scale(200, 1000)).await?;
    track("checkout", since);
    let since = now();
    let revenue = measure::revenue_report(&client, &base, &salon, scale(20, 100)).await?;
    track("revenue report", since);
    // ftry runs in this process: the peak includes the driver's share.
    let peak_rss = ProcessUsage::read().peak_resident_bytes;

    let _ = stop.send(());
    server.await??;
    let report = Report {
        checkout,
        revenue,
        invoices: salon.invoices,
        scenario: "scheduling".into(),
        quick: options.quick,
        location_items: salon.location_items,
        total_items: salon.total_items,
        load_secs,
        availability,
        availability_fresh,
        booking,
        total_secs: started.elapsed().as_secs_f64(),
        ceiling: measure::Ceiling {
            pgbench,
            http_1,
            http_32,
        },
        driven: vec![
            ("availability (staff), 14 days", availability_32, "≥ 2,000 req/s"),
            ("availability (public, no login), 14 days", public, "p95 ≤ 5 ms"),
            ("calendar day (API)", calendar, "≥ 5,000 req/s, p95 ≤ 10 ms"),
            ("client search (name prefix, 20,000 clients)", search, ""),
            (
                "login (password check at the benchmark's weak Argon2 cost)",
                login,
                "",
            ),
        ],
        usage,
        peak_rss,
    };
    let written = report.write(&options.results)?;
    println!("{}{}", report.markdown(), report.markdown_more());
    eprintln!("results written to {}", written.display());
    Ok(())
}
