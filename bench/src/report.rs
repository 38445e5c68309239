//! The report of a run: `bench/results/<UTC timestamp>.json` and
//! `bench/results/latest.md`, every figure beside its target and its ratio to
//! what the machine itself does.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::ceiling::{Load, Pgbench};
use crate::measure::Row;

/// What the machine does without ftry's work in the way.
pub struct Ceiling {
    pub pgbench: Vec<Pgbench>,
    /// `GET /health/live`, one client.
    pub http_1: Load,
    /// `GET /health/live`, 32 clients.
    pub http_32: Load,
}

/// The generated data the scenarios ran on.
pub struct Dataset {
    pub scale: &'static str,
    pub businesses: i64,
    pub total_items: i64,
    pub location_items: i64,
    pub clients: i64,
    pub invoices: i64,
    pub all_invoices: i64,
    pub split_payments: i64,
    pub load_secs: f64,
}

pub struct Report {
    pub quick: bool,
    pub scenarios: Vec<String>,
    pub dataset: Dataset,
    pub rows: Vec<Row>,
    pub ceiling: Ceiling,
    /// Per scenario, the CPU cores the process used on average.
    pub usage: Vec<(String, f64)>,
    /// Peak resident memory of the process (ftry and the driver), bytes.
    pub peak_rss: u64,
    pub total_secs: f64,
}

impl Report {
    /// The HTTP ceiling at a row's concurrency.
    fn ceiling_for(&self, row: &Row) -> &Load {
        if row.clients <= 1 {
            &self.ceiling.http_1
        } else {
            &self.ceiling.http_32
        }
    }

    fn json(&self, at: &str) -> serde_json::Value {
        let d = &self.dataset;
        json!({
            "at": at,
            "quick": self.quick,
            "scale": d.scale,
            "scenarios": self.scenarios,
            "machine": { "cores": std::thread::available_parallelism().map_or(0, |n| n.get()) },
            "dataset": {
                "businesses": d.businesses, "total_items": d.total_items, "location_items": d.location_items,
                "clients": d.clients, "invoices": d.invoices, "all_invoices": d.all_invoices,
                "split_payments": d.split_payments, "load_seconds": d.load_secs,
            },
            "rows": self.rows.iter().map(|row| {
                let mut value = row.json();
                value["per_second_to_http_ceiling"] = json!(row.per_second() / self.ceiling_for(row).per_second());
                value
            }).collect::<Vec<_>>(),
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
        let d = &self.dataset;
        let mut out = format!(
            "# ftry benchmark: {} scale{}\n\n\
             Dataset: {} businesses, {} booked items ({} at the measured branch), {} clients, {} invoices at \
             the measured branch ({} in all, {} of them paid in parts); generated in {:.1} s. Scenarios: {}.\n\n\
             Times in milliseconds; server time is ftry's own (`Server-Timing`), round trip is the client's.\n\n\
             | scenario | clients | req/s | server p50 | server p95 | server p99 | server max | round trip p95 | \
             errors | req/s ÷ HTTP ceiling | target |\n\
             | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n",
            d.scale,
            if self.quick { " (quick)" } else { "" },
            d.businesses,
            d.total_items,
            d.location_items,
            d.clients,
            d.invoices,
            d.all_invoices,
            d.split_payments,
            d.load_secs,
            self.scenarios.join(", "),
        );
        for row in &self.rows {
            // A row without timings (a throughput-only figure) shows dashes.
            let ms = |sample: &crate::measure::Sample, value: f64| {
                if sample.count == 0 {
                    "—".to_owned()
                } else {
                    format!("{value:.2}")
                }
            };
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {:.3} | {} |",
                row.name,
                row.clients,
                row.per_second(),
                ms(&row.server, row.server.p50),
                ms(&row.server, row.server.p95),
                ms(&row.server, row.server.p99),
                ms(&row.server, row.server.max),
                ms(&row.round_trip, row.round_trip.p95),
                row.errors,
                row.per_second() / self.ceiling_for(row).per_second(),
                row.target,
            );
        }
        let notes: Vec<String> = self
            .rows
            .iter()
            .filter_map(|row| row.note.as_ref().map(|note| format!("- {}: {note}.", row.name)))
            .collect();
        if !notes.is_empty() {
            let _ = write!(out, "\n{}\n", notes.join("\n"));
        }
        let http = &self.ceiling.http_32;
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
            for row in &self.rows {
                if let Some(created) = row.extra["created_per_second"].as_f64() {
                    let _ = writeln!(
                        out,
                        "\nBookings created per second ÷ pgbench TPC-B-like transactions per second at 32 clients, {}: {:.3}.",
                        row.name,
                        created / tpcb.tps
                    );
                }
            }
        }
        let cores: Vec<String> = self
            .usage
            .iter()
            .map(|(name, c)| format!("{name} {c:.2}"))
            .collect();
        let _ = writeln!(
            out,
            "\nCPU cores used by the process (ftry and the driver) per scenario: {}. \
             Peak resident memory: {:.0} MiB. The whole run: {:.0} s.",
            cores.join(", "),
            self.peak_rss as f64 / 1_048_576.0,
            self.total_secs,
        );
        out
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
