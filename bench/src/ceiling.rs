//! What the machine itself can do, measured in the same run: PostgreSQL by
//! `pgbench` (select-only and the TPC-B-like default) and ftry's HTTP stack by
//! its cheapest endpoint. Every ftry figure is reported beside these, so a
//! result from a slower box can still be read.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use serde_json::json;

use crate::measure::Sample;

/// One pgbench run.
#[derive(Debug, Clone)]
pub struct Pgbench {
    pub script: &'static str,
    pub clients: usize,
    pub tps: f64,
    pub latency_ms: f64,
}

impl Pgbench {
    pub fn json(&self) -> serde_json::Value {
        json!({ "script": self.script, "clients": self.clients, "tps": self.tps, "latency_avg_ms": self.latency_ms })
    }
}

fn pgbench_binary() -> PathBuf {
    let installed = PathBuf::from("/usr/lib/postgresql/15/bin/pgbench");
    if installed.exists() {
        installed
    } else {
        PathBuf::from("pgbench")
    }
}

/// Run pgbench against `url` (a database it may fill): initialise at scale
/// 10, then each script for `seconds` at each client count.
pub fn pgbench(url: &str, clients: &[usize], seconds: u64) -> anyhow::Result<Vec<Pgbench>> {
    let init = Command::new(pgbench_binary())
        .args(["-i", "-q", "-s", "10", url])
        .output()
        .context("run pgbench (Debian package postgresql-contrib or postgresql-15)")?;
    anyhow::ensure!(
        init.status.success(),
        "pgbench -i failed: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let mut runs = Vec::new();
    for &n in clients {
        for script in ["select-only", "tpcb-like"] {
            let threads = n.min(2).to_string();
            let out = Command::new(pgbench_binary())
                .args([
                    "-b",
                    script,
                    "-c",
                    &n.to_string(),
                    "-j",
                    &threads,
                    "-T",
                    &seconds.to_string(),
                    url,
                ])
                .output()?;
            anyhow::ensure!(
                out.status.success(),
                "pgbench -b {script} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8_lossy(&out.stdout);
            let figure = |prefix: &str| -> anyhow::Result<f64> {
                text.lines()
                    .find_map(|l| l.trim().strip_prefix(prefix))
                    .and_then(|rest| rest.split_whitespace().next())
                    .context(format!("pgbench printed no `{prefix}`: {text}"))?
                    .parse()
                    .context("pgbench figure")
            };
            runs.push(Pgbench {
                script,
                clients: n,
                tps: figure("tps = ")?,
                latency_ms: figure("latency average = ")?,
            });
        }
    }
    Ok(runs)
}

/// A closed-loop load: `concurrency` workers send `requests` requests in all.
#[derive(Debug, Clone)]
pub struct Load {
    pub concurrency: usize,
    pub requests: usize,
    pub ok: usize,
    pub errors: usize,
    pub seconds: f64,
    pub server: Sample,
    pub round_trip: Sample,
}

impl Load {
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.seconds
    }

    pub fn json(&self) -> serde_json::Value {
        json!({
            "concurrency": self.concurrency, "requests": self.requests, "ok": self.ok, "errors": self.errors,
            "seconds": self.seconds, "per_second": self.per_second(),
            "server": self.server.json(), "round_trip": self.round_trip.json(),
        })
    }
}

/// Send `requests` requests built by `request(i)` with `concurrency` workers,
/// after `warm_up` unmeasured ones sent the same way (so that every HTTP and
/// pooled database connection the measured part uses is open and its
/// statements planned); a response is counted as ok when its status is
/// `expected`.
pub async fn drive<F>(
    concurrency: usize,
    warm_up: usize,
    requests: usize,
    expected: u16,
    request: F,
) -> anyhow::Result<Load>
where
    F: Fn(usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let request = Arc::new(request);
    send_all(concurrency, requests..requests + warm_up, &request, expected).await?;
    let started = Instant::now();
    let results = send_all(concurrency, 0..requests, &request, expected).await?;
    let seconds = started.elapsed().as_secs_f64();
    let ok = results.iter().filter(|r| r.0).count();
    Ok(Load {
        concurrency,
        requests,
        ok,
        errors: results.len() - ok,
        seconds,
        server: Sample::of(
            results
                .iter()
                .filter(|r| r.0)
                .map(|r| r.1)
                .filter(|v| v.is_finite())
                .collect(),
        ),
        round_trip: Sample::of(results.iter().filter(|r| r.0).map(|r| r.2).collect()),
    })
}

/// `(ok, server ms, round trip ms)` of each request `request(i)` for `i` in
/// `indices`, sent by `concurrency` workers.
async fn send_all<F>(
    concurrency: usize,
    indices: std::ops::Range<usize>,
    request: &Arc<F>,
    expected: u16,
) -> anyhow::Result<Vec<(bool, f64, f64)>>
where
    F: Fn(usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let next = Arc::new(AtomicUsize::new(indices.start));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (request, next, end) = (request.clone(), next.clone(), indices.end);
        workers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= end {
                    break;
                }
                let sent = Instant::now();
                let outcome = match request(i).send().await {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let server = crate::measure::server_ms(&response).unwrap_or(f64::NAN);
                        let read = response.bytes().await.is_ok();
                        (read && status == expected, server)
                    }
                    Err(_) => (false, f64::NAN),
                };
                seen.push((outcome.0, outcome.1, sent.elapsed().as_secs_f64() * 1000.0));
            }
            seen
        }));
    }
    let mut results = Vec::with_capacity(indices.len());
    for worker in workers {
        results.extend(worker.await?);
    }
    Ok(results)
}
