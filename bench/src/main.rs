//! `ftry-bench`: runs ftry (release build, in-process, on a real PostgreSQL)
//! against a generated scale dataset and reports latency percentiles and
//! throughput, with the server's own time from `Server-Timing`.
//!
//! Usage: `bench/run scheduling [--quick]` (see bench/README.md).

mod data;
mod measure;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use ftry::config::{Config, SecretUrl};

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
    config.data_protection = data::bench_data_protection();
    let prepared = ftry::server::prepare(config, false).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(ftry::server::run(prepared, listener, async move {
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
    let availability_runs = if options.quick { 200 } else { 1000 };
    let availability = measure::availability(&client, &base, &salon, availability_runs).await?;
    let booking =
        measure::booking(&client, &base, &salon, 32, if options.quick { 500 } else { 3000 }).await?;
    let checkout =
        measure::checkout(&client, &base, &salon, 32, if options.quick { 200 } else { 1000 }).await?;
    let revenue =
        measure::revenue_report(&client, &base, &salon, if options.quick { 20 } else { 100 }).await?;

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
        booking,
        total_secs: started.elapsed().as_secs_f64(),
    };
    let written = report.write(&options.results)?;
    println!("{}", report.markdown());
    eprintln!("results written to {}", written.display());
    Ok(())
}
