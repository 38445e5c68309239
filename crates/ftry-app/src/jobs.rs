//! Background jobs: the worker that runs them, the schedules that enqueue
//! maintenance, and what each kind of job does.
//!
//! Jobs live in PostgreSQL (`ftry_store::jobs`): a change and the jobs it
//! causes commit together. Any number of workers on any number of nodes
//! claim due jobs with `FOR UPDATE SKIP LOCKED`, each under a lease of the
//! job's timeout; a worker that dies leaves its jobs to be claimed again
//! when the lease runs out. A failed attempt is retried after an exponential
//! backoff with jitter until the job's attempts are spent, then it is dead:
//! kept for an operator to retry or discard (`ftry jobs`). On shutdown a
//! worker stops claiming, lets running jobs finish within the grace period
//! and releases the rest, so none is lost.
//!
//! Scheduled runs are made once across nodes by inserting the run's
//! `(schedule, due instant)` row: the node that inserts it enqueues the job.

use std::collections::HashMap;
use std::future::Future;
use std::str::FromStr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use ftry_store::jobs::{self as store, Ending, Job, NewJob};
use ftry_store::PoolName;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::{App, AppError};

/// How often a worker refreshes the queue gauges.
const STATS_EVERY: Duration = Duration::from_secs(10);
/// How often a worker looks for jobs whose worker died (expired leases).
const RECLAIM_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobSettings {
    /// Run a worker inside `ftry serve` (`ftry worker` runs one alone).
    pub run_in_serve: bool,
    /// Jobs one worker runs at once.
    pub concurrency: usize,
    /// How often an idle worker looks for due jobs.
    pub poll_interval_ms: u64,
    /// The first retry's delay; it doubles with each attempt up to
    /// `retry_max_secs`, and a random part of it (up to half) is jitter.
    pub retry_base_secs: u64,
    pub retry_max_secs: u64,
    /// A claimed job is leased for its timeout plus this; a worker that dies
    /// leaves its jobs to others once the lease runs out.
    pub lease_grace_secs: u32,
    /// The timezone of the schedules and of the maintenance window.
    pub timezone: String,
    /// When heavy maintenance may run: `Sun 02:00-04:00`, or `02:00-04:00`
    /// for every day.
    pub maintenance_window: String,
    /// Cron expressions (five fields, or six with seconds first) in `timezone`.
    pub token_cleanup_cron: String,
    pub audit_retention_cron: String,
    pub finished_jobs_cron: String,
    /// The daily low-stock alert to each business's stock managers.
    pub stock_alerts_cron: String,
    /// The daily backup (`backup.*` settings).
    pub backup_cron: String,
    /// Audit events older than this are deleted (at least 90).
    pub audit_retention_days: u32,
    /// Finished jobs (done or discarded) older than this are deleted.
    pub finished_job_retention_days: u32,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            run_in_serve: true,
            concurrency: 4,
            poll_interval_ms: 1000,
            retry_base_secs: 10,
            retry_max_secs: 3600,
            lease_grace_secs: 30,
            timezone: "Asia/Kolkata".into(),
            maintenance_window: "Sun 02:00-04:00".into(),
            token_cleanup_cron: "30 3 * * *".into(),
            audit_retention_cron: "15 2 * * Sun".into(),
            finished_jobs_cron: "45 3 * * *".into(),
            stock_alerts_cron: "0 9 * * *".into(),
            backup_cron: "30 2 * * *".into(),
            audit_retention_days: 730,
            finished_job_retention_days: 14,
        }
    }
}

/// The settings, checked and parsed.
#[derive(Debug, Clone)]
pub struct JobConfig {
    pub concurrency: usize,
    pub poll_interval: Duration,
    pub retry_base: Duration,
    pub retry_max: Duration,
    pub lease_grace_secs: i32,
    pub timezone: Tz,
    pub window: MaintenanceWindow,
    pub schedules: Vec<Schedule>,
    pub audit_retention_days: u32,
    pub finished_job_retention_days: u32,
}

impl JobSettings {
    /// Check every value; an error names the key and the expected form.
    pub fn resolve(&self) -> Result<JobConfig, String> {
        let problem = |key: &str, expected: &str| Err(format!("jobs.{key}: expected {expected}"));
        if !(1..=64).contains(&self.concurrency) {
            return problem("concurrency", "between 1 and 64");
        }
        if !(10..=60_000).contains(&self.poll_interval_ms) {
            return problem("poll_interval_ms", "between 10 and 60000 milliseconds");
        }
        if self.retry_base_secs == 0 || self.retry_max_secs < self.retry_base_secs {
            return problem(
                "retry_base_secs",
                "a positive number of seconds, at most jobs.retry_max_secs",
            );
        }
        let Ok(timezone) = Tz::from_str(&self.timezone) else {
            return problem("timezone", "an IANA timezone such as Asia/Kolkata");
        };
        let Some(window) = MaintenanceWindow::parse(&self.maintenance_window) else {
            return problem(
                "maintenance_window",
                "a window such as `Sun 02:00-04:00` or `02:00-04:00`",
            );
        };
        if !(1..=3600).contains(&self.lease_grace_secs) {
            return problem("lease_grace_secs", "between 1 and 3600 seconds");
        }
        if self.audit_retention_days < 90 {
            return problem("audit_retention_days", "at least 90 days");
        }
        if self.finished_job_retention_days == 0 {
            return problem("finished_job_retention_days", "at least 1 day");
        }
        let mut schedules = Vec::new();
        for (key, name, kind, heavy, cron) in [
            (
                "token_cleanup_cron",
                "token_cleanup",
                "maintenance.expired_tokens",
                false,
                &self.token_cleanup_cron,
            ),
            (
                "audit_retention_cron",
                "audit_retention",
                "maintenance.audit_retention",
                true,
                &self.audit_retention_cron,
            ),
            (
                "finished_jobs_cron",
                "finished_jobs",
                "maintenance.finished_jobs",
                false,
                &self.finished_jobs_cron,
            ),
            (
                "stock_alerts_cron",
                "stock_alerts",
                "stock.alerts",
                false,
                &self.stock_alerts_cron,
            ),
            ("backup_cron", "backup", "backup.create", false, &self.backup_cron),
        ] {
            // `off` turns a schedule off (a node that must not take backups).
            if cron.trim() == "off" {
                continue;
            }
            let Some(cron) = parse_cron(cron) else {
                return problem(
                    key,
                    "a cron expression such as `30 3 * * *` (minute hour day month weekday), at most once a minute",
                );
            };
            schedules.push(Schedule {
                name,
                kind,
                heavy,
                cron,
            });
        }
        Ok(JobConfig {
            concurrency: self.concurrency,
            poll_interval: Duration::from_millis(self.poll_interval_ms),
            retry_base: Duration::from_secs(self.retry_base_secs),
            retry_max: Duration::from_secs(self.retry_max_secs),
            lease_grace_secs: self.lease_grace_secs as i32,
            timezone,
            window,
            schedules,
            audit_retention_days: self.audit_retention_days,
            finished_job_retention_days: self.finished_job_retention_days,
        })
    }
}

/// Five fields (minute first) or six (seconds first); never more often than
/// once a minute.
fn parse_cron(text: &str) -> Option<cron::Schedule> {
    let fields = text.split_whitespace().count();
    let text = match fields {
        5 => format!("0 {text}"),
        6 => text.to_owned(),
        _ => return None,
    };
    let schedule = cron::Schedule::from_str(&text).ok()?;
    let mut next = schedule.upcoming(Utc);
    let (first, second) = (next.next()?, next.next()?);
    (second - first >= chrono::Duration::seconds(60)).then_some(schedule)
}

/// A maintenance job that runs on a schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub name: &'static str,
    pub kind: &'static str,
    /// Held to the maintenance window.
    pub heavy: bool,
    pub cron: cron::Schedule,
}

/// When heavy maintenance may run, in the jobs' timezone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenanceWindow {
    /// `None`: every day.
    pub weekday: Option<Weekday>,
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl MaintenanceWindow {
    pub fn parse(text: &str) -> Option<Self> {
        let (weekday, span) = match text.trim().split_once(' ') {
            Some((day, span)) => (Some(Weekday::from_str(day).ok()?), span.trim()),
            None => (None, text.trim()),
        };
        let (start, end) = span.split_once('-')?;
        let start = NaiveTime::parse_from_str(start.trim(), "%H:%M").ok()?;
        let end = NaiveTime::parse_from_str(end.trim(), "%H:%M").ok()?;
        (start < end).then_some(Self { weekday, start, end })
    }

    /// `at` when it falls inside the window, else the window's next start.
    pub fn next_open(&self, at: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        let local = at.with_timezone(&tz);
        for days in 0..=7 {
            let date = local.date_naive() + chrono::Duration::days(days);
            if self.weekday.is_some_and(|w| date.weekday() != w) {
                continue;
            }
            let (Some(start), Some(end)) = (
                tz.from_local_datetime(&date.and_time(self.start)).earliest(),
                tz.from_local_datetime(&date.and_time(self.end)).earliest(),
            ) else {
                continue;
            };
            if local < start {
                return start.with_timezone(&Utc);
            }
            if local < end {
                return at;
            }
        }
        at
    }
}

/// The delay before retry number `attempt` (1 = the first retry): doubling
/// from `base` up to `max`, the second half of it random.
pub fn backoff(attempt: i32, base: Duration, max: Duration, random: f64) -> Duration {
    let doubled = base.saturating_mul(1u32 << attempt.clamp(1, 20).saturating_sub(1) as u32);
    let full = doubled.min(max);
    full / 2 + full.mul_f64(random.clamp(0.0, 1.0) / 2.0)
}

/// Why an attempt failed, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFailure {
    pub message: String,
    pub permanent: bool,
}

impl JobFailure {
    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: false,
        }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: true,
        }
    }
}

impl From<AppError> for JobFailure {
    fn from(error: AppError) -> Self {
        Self::transient(error.to_string())
    }
}

impl From<sqlx::Error> for JobFailure {
    fn from(error: sqlx::Error) -> Self {
        Self::transient(error.to_string())
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueState {
    queue: String,
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabel {
    queue: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindOutcome {
    kind: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: String,
}

/// The queue's metrics. The gauges are refreshed by running workers.
#[derive(Clone)]
pub struct JobMetrics {
    backup: [Gauge<f64, AtomicU64>; 4],
    jobs: Family<QueueState, Gauge>,
    oldest_due: Family<QueueLabel, Gauge<f64, AtomicU64>>,
    runs: Family<KindOutcome, Counter>,
    duration: Family<KindLabel, Histogram>,
    start_delay: Family<QueueLabel, Histogram>,
}

impl Default for JobMetrics {
    fn default() -> Self {
        fn seconds() -> Histogram {
            Histogram::new(exponential_buckets(0.005, 4.0, 10))
        }
        Self {
            backup: Default::default(),
            jobs: Family::default(),
            oldest_due: Family::default(),
            runs: Family::default(),
            duration: Family::new_with_constructor(seconds),
            start_delay: Family::new_with_constructor(seconds),
        }
    }
}

impl JobMetrics {
    pub fn register(&self, registry: &mut Registry) {
        for (gauge, name, help, unit) in [
            (
                &self.backup[0],
                "ftry_backup_last_success_timestamp",
                "When the last successful backup finished (Unix time; 0: none yet)",
                Unit::Seconds,
            ),
            (
                &self.backup[1],
                "ftry_backup_last_success_duration",
                "How long the last successful backup took",
                Unit::Seconds,
            ),
            (
                &self.backup[2],
                "ftry_backup_last_success_size",
                "The last successful backup's size",
                Unit::Bytes,
            ),
            (
                &self.backup[3],
                "ftry_backup_last_failure_timestamp",
                "When the last failed backup ended (Unix time; 0: none)",
                Unit::Seconds,
            ),
        ] {
            registry.register_with_unit(name, help, unit, gauge.clone());
        }
        registry.register(
            "ftry_jobs",
            "Open jobs by queue and state (queued, running, dead), as last seen by this node's worker",
            self.jobs.clone(),
        );
        registry.register_with_unit(
            "ftry_jobs_oldest_due_age",
            "How long the longest-waiting due job of the queue has waited",
            Unit::Seconds,
            self.oldest_due.clone(),
        );
        registry.register(
            "ftry_job_runs",
            "Job attempts by kind and outcome (success, retry, dead, released)",
            self.runs.clone(),
        );
        registry.register_with_unit(
            "ftry_job_run_duration",
            "How long job attempts ran",
            Unit::Seconds,
            self.duration.clone(),
        );
        registry.register_with_unit(
            "ftry_job_start_delay",
            "From when a job was due (or enqueued, if later) to when an attempt started",
            Unit::Seconds,
            self.start_delay.clone(),
        );
    }

    pub(crate) fn refresh_backup(&self, state: &store::BackupState) {
        self.backup[0].set(state.last_success);
        self.backup[1].set(state.last_success_duration);
        self.backup[2].set(state.last_success_bytes);
        self.backup[3].set(state.last_failure);
    }

    fn refresh(&self, stats: &[store::QueueStats]) {
        // Queues that emptied go back to zero rather than vanishing.
        self.jobs.clear();
        self.oldest_due.clear();
        for s in stats {
            for (state, count) in [("queued", s.queued), ("running", s.running), ("dead", s.dead)] {
                self.jobs
                    .get_or_create(&QueueState {
                        queue: s.queue.clone(),
                        state,
                    })
                    .set(count);
            }
            self.oldest_due
                .get_or_create(&QueueLabel {
                    queue: s.queue.clone(),
                })
                .set(s.oldest_due_secs);
        }
    }
}

impl App {
    /// Run one attempt of `job`.
    pub async fn run_job(&self, job: &Job, config: &JobConfig) -> Result<(), JobFailure> {
        match job.kind.as_str() {
            "maintenance.expired_tokens" => {
                let mut conn = self.pools.acquire(PoolName::App).await?;
                let removed: i64 =
                    sqlx::query_scalar("SELECT ftry_delete_expired_tokens(now() - interval '7 days')")
                        .fetch_one(&mut *conn)
                        .await?;
                tracing::info!(removed, "expired links and sessions deleted");
                Ok(())
            }
            "maintenance.audit_retention" => {
                let mut conn = self.pools.acquire(PoolName::App).await?;
                let removed: i64 = sqlx::query_scalar("SELECT ftry_delete_old_audit_events($1)")
                    .bind(config.audit_retention_days as i32)
                    .fetch_one(&mut *conn)
                    .await?;
                tracing::info!(
                    removed,
                    keep_days = config.audit_retention_days,
                    "old audit events deleted"
                );
                Ok(())
            }
            "maintenance.finished_jobs" => {
                let mut conn = self.pools.acquire(PoolName::App).await?;
                let before =
                    Utc::now() - chrono::Duration::days(i64::from(config.finished_job_retention_days));
                let removed = store::delete_finished(&mut conn, before).await?;
                tracing::info!(removed, "finished jobs deleted");
                Ok(())
            }
            "events.dispatch" => self.dispatch_event(job).await,
            "notification.send" => self.send_notification(job).await,
            "mail.deliver" => self.deliver_mail(job).await,
            "webhook.deliver" => self.deliver_webhook(job).await,
            "stock.alerts" => self.enqueue_stock_alerts().await,
            "stock.alert" => self.stock_alert(job).await,
            "backup.create" => self.scheduled_backup().await,
            "diagnostic.echo" => diagnostic(job).await,
            other => Err(JobFailure::permanent(format!("no handler for job kind {other}"))),
        }
    }

    /// Enqueue a diagnostic job (`ftry jobs check`): it succeeds, or fails
    /// as asked (`transient` or `permanent`), after `sleep_ms`.
    pub async fn enqueue_diagnostic(
        &self,
        payload: serde_json::Value,
        max_attempts: i32,
    ) -> Result<uuid::Uuid, AppError> {
        let mut conn = self.pools.acquire(PoolName::App).await?;
        let id = store::enqueue(
            &mut conn,
            &NewJob {
                queue: "diagnostic",
                kind: "diagnostic.echo",
                tenant_id: None,
                payload,
                run_at: Utc::now(),
                max_attempts,
                timeout_secs: 30,
            },
        )
        .await?;
        Ok(id)
    }
}

/// The operators' view of the queue (`ftry jobs`).
impl App {
    pub async fn list_jobs(
        &self,
        state: Option<&str>,
        limit: i64,
    ) -> Result<Vec<store::JobSummary>, AppError> {
        let mut conn = self.pools.acquire(PoolName::App).await?;
        Ok(store::list(&mut conn, state, limit).await?)
    }

    pub async fn job_state(&self, id: uuid::Uuid) -> Result<Option<String>, AppError> {
        let mut conn = self.pools.acquire(PoolName::App).await?;
        Ok(store::state_of(&mut conn, id).await?)
    }

    /// Queue a dead job again with fresh attempts; false if it is not dead.
    pub async fn retry_job(&self, id: uuid::Uuid) -> Result<bool, AppError> {
        let mut conn = self.pools.acquire(PoolName::App).await?;
        Ok(store::retry_dead(&mut conn, id).await?)
    }

    /// Give up a dead or queued job; false if it is neither.
    pub async fn discard_job(&self, id: uuid::Uuid) -> Result<bool, AppError> {
        let mut conn = self.pools.acquire(PoolName::App).await?;
        Ok(store::discard(&mut conn, id).await?)
    }
}

/// The diagnostic job: proves a worker runs jobs, and, asked to, that
/// failures are retried, buried and alerted on.
async fn diagnostic(job: &Job) -> Result<(), JobFailure> {
    if let Some(ms) = job.payload.get("sleep_ms").and_then(serde_json::Value::as_u64) {
        tokio::time::sleep(Duration::from_millis(ms.min(60_000))).await;
    }
    let fail_until = job
        .payload
        .get("fail_attempts")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(0);
    match job.payload.get("fail").and_then(serde_json::Value::as_str) {
        Some("permanent") => Err(JobFailure::permanent("diagnostic job asked to fail for good")),
        Some("transient") if i64::from(job.attempts) <= fail_until || fail_until == 0 => Err(
            JobFailure::transient(format!("diagnostic job asked to fail (attempt {})", job.attempts)),
        ),
        _ => Ok(()),
    }
}

/// Runs jobs until told to stop.
pub struct Worker {
    app: App,
    config: Arc<JobConfig>,
    name: String,
}

impl Worker {
    pub fn new(app: App, config: JobConfig) -> Self {
        let name = format!(
            "{}:{}:{}",
            hostname(),
            std::process::id(),
            &uuid::Uuid::now_v7().simple().to_string()[24..]
        );
        Self {
            app,
            config: Arc::new(config),
            name,
        }
    }

    /// Claim and run jobs, and enqueue scheduled runs, until `shutdown`
    /// resolves; then let running jobs finish within `grace` and release
    /// the rest.
    pub async fn run(self, shutdown: impl Future<Output = ()>, grace: Duration) {
        tokio::pin!(shutdown);
        let mut running: JoinSet<()> = JoinSet::new();
        let mut held: HashMap<tokio::task::Id, Job> = HashMap::new();
        let mut scheduler = Scheduler::new(&self.config, Utc::now());
        let mut stats_at = Instant::now() - STATS_EVERY;
        let mut reclaim_at = Instant::now() - RECLAIM_EVERY;
        let mut wakeups = self.listen().await;
        tracing::info!(worker = %self.name, concurrency = self.config.concurrency, "job worker started");
        loop {
            if stats_at.elapsed() >= STATS_EVERY {
                stats_at = Instant::now();
                self.refresh_stats().await;
            }
            if reclaim_at.elapsed() >= RECLAIM_EVERY {
                reclaim_at = Instant::now();
                self.reclaim().await;
            }
            scheduler.tick(&self.app, &self.config, Utc::now()).await;
            let free = self.config.concurrency.saturating_sub(running.len());
            let mut claimed = 0;
            if free > 0 {
                match self.claim(free).await {
                    Ok(jobs) => {
                        claimed = jobs.len();
                        for job in jobs {
                            let handle = running.spawn(attempt(
                                self.app.clone(),
                                self.config.clone(),
                                self.name.clone(),
                                job.clone(),
                            ));
                            held.insert(handle.id(), job);
                        }
                    }
                    Err(error) => tracing::warn!(error = %error, "could not claim jobs"),
                }
            }
            // A full batch: more may be due at once.
            let pause = if claimed > 0 && claimed == free {
                Duration::ZERO
            } else {
                self.config.poll_interval
            };
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                Some(done) = running.join_next_with_id(), if !running.is_empty() => {
                    held.remove(&finished(done));
                }
                woken = next_wakeup(&mut wakeups) => {
                    if let Err(error) = woken {
                        // Polling goes on; the next start listens again.
                        tracing::warn!(error = %error, "lost the job wake-up channel; polling only");
                        wakeups = None;
                    }
                }
                () = tokio::time::sleep(pause) => {}
            }
        }
        tracing::info!(worker = %self.name, running = running.len(), "job worker stopping");
        let deadline = tokio::time::Instant::now() + grace;
        while !running.is_empty() {
            match tokio::time::timeout_at(deadline, running.join_next_with_id()).await {
                Ok(Some(done)) => {
                    held.remove(&finished(done));
                }
                Ok(None) => break,
                Err(_) => {
                    running.abort_all();
                    while running.join_next().await.is_some() {}
                    break;
                }
            }
        }
        for job in held.into_values() {
            match self.end(&job, Ending::Released).await {
                Ok(_) => {
                    self.app
                        .jobs
                        .runs
                        .get_or_create(&KindOutcome {
                            kind: job.kind.clone(),
                            outcome: "released",
                        })
                        .inc();
                    tracing::info!(job_id = %job.id, kind = %job.kind, "job released at shutdown");
                }
                Err(error) => {
                    tracing::warn!(job_id = %job.id, error = %error, "could not release a job; its lease will run out")
                }
            }
        }
        tracing::info!(worker = %self.name, "job worker stopped");
    }

    /// Listen for new due jobs; `None` (polling only) if that fails.
    async fn listen(&self) -> Option<sqlx::postgres::PgListener> {
        let listening = async {
            let mut listener = sqlx::postgres::PgListener::connect_with(&self.app.pools.app).await?;
            listener.listen("ftry_jobs").await?;
            Ok::<_, sqlx::Error>(listener)
        };
        match listening.await {
            Ok(listener) => Some(listener),
            Err(error) => {
                tracing::warn!(error = %error, "cannot listen for new jobs; polling only");
                None
            }
        }
    }

    async fn claim(&self, limit: usize) -> Result<Vec<Job>, sqlx::Error> {
        let mut conn = self.app.pools.acquire(PoolName::App).await?;
        store::claim(&mut conn, &self.name, limit as i64, self.config.lease_grace_secs).await
    }

    async fn reclaim(&self) {
        let reclaimed = async {
            let mut conn = self.app.pools.acquire(PoolName::App).await?;
            store::reclaim_expired(&mut conn).await
        };
        match reclaimed.await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(jobs = n, "jobs of a worker that stopped answering queued again"),
            Err(error) => tracing::warn!(error = %error, "could not look for expired job leases"),
        }
    }

    async fn end(&self, job: &Job, ending: Ending<'_>) -> Result<bool, sqlx::Error> {
        let mut conn = self.app.pools.acquire(PoolName::App).await?;
        store::end(&mut conn, job, &self.name, ending).await
    }

    async fn refresh_stats(&self) {
        let stats = async {
            let mut conn = self.app.pools.acquire(PoolName::App).await?;
            Ok::<_, sqlx::Error>((
                store::stats(&mut conn).await?,
                store::backup_state(&mut conn).await?,
            ))
        };
        match stats.await {
            Ok((stats, backup)) => {
                self.app.jobs.refresh(&stats);
                self.app.jobs.refresh_backup(&backup);
            }
            Err(error) => tracing::warn!(error = %error, "could not read the job queue's state"),
        }
    }
}

/// The next wake-up from the listener; never, without one.
async fn next_wakeup(listener: &mut Option<sqlx::postgres::PgListener>) -> Result<(), sqlx::Error> {
    match listener {
        Some(listener) => listener.recv().await.map(|_| ()),
        None => std::future::pending().await,
    }
}

/// The task that ended, whether it returned or was aborted.
fn finished(done: Result<(tokio::task::Id, ()), tokio::task::JoinError>) -> tokio::task::Id {
    match done {
        Ok((id, ())) => id,
        Err(error) => error.id(),
    }
}

/// One attempt of one job: run it under its timeout and record the end.
async fn attempt(app: App, config: Arc<JobConfig>, worker: String, job: Job) {
    let span = tracing::info_span!(
        "job",
        otel.name = %job.kind,
        otel.kind = "consumer",
        job_id = %job.id,
        job_kind = %job.kind,
        queue = %job.queue,
        attempt = job.attempts,
        tenant_id = job.tenant_id.map(|t| t.to_string()),
        trace_id = tracing::field::Empty,
        span_id = tracing::field::Empty,
    );
    // The run continues the trace of the request that enqueued it.
    ftry_store::jobs::adopt_trace(&span, job.trace_parent.as_deref());
    async move {
        // From when it could first run: a scheduled run enqueued late (every
        // node was down at its time) counts from its enqueueing.
        let delay = (Utc::now() - job.run_at.max(job.created_at))
            .to_std()
            .unwrap_or_default();
        app.jobs
            .start_delay
            .get_or_create(&QueueLabel {
                queue: job.queue.clone(),
            })
            .observe(delay.as_secs_f64());
        let started = Instant::now();
        let timeout = Duration::from_secs(job.timeout_secs.max(1) as u64);
        let outcome = match tokio::time::timeout(timeout, app.run_job(&job, &config)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(JobFailure::transient(format!(
                "timed out after {} s",
                job.timeout_secs
            ))),
        };
        app.jobs
            .duration
            .get_or_create(&KindLabel {
                kind: job.kind.clone(),
            })
            .observe(started.elapsed().as_secs_f64());
        let (ending, label) = match &outcome {
            Ok(()) => (Ending::Success, "success"),
            Err(failure) if failure.permanent || job.attempts >= job.max_attempts => (
                Ending::Dead {
                    error: &failure.message,
                },
                "dead",
            ),
            Err(failure) => {
                let mut at = Utc::now()
                    + backoff(
                        job.attempts,
                        config.retry_base,
                        config.retry_max,
                        rand::random::<f64>(),
                    );
                if job.queue == "maintenance" && job.kind == "maintenance.audit_retention" {
                    at = config.window.next_open(at, config.timezone);
                }
                (
                    Ending::Retry {
                        at,
                        error: &failure.message,
                    },
                    "retry",
                )
            }
        };
        // Counted before it is recorded: whoever sees the job's end in the
        // database sees it counted too.
        app.jobs
            .runs
            .get_or_create(&KindOutcome {
                kind: job.kind.clone(),
                outcome: label,
            })
            .inc();
        let recorded = async {
            let mut conn = app.pools.acquire(PoolName::App).await?;
            store::end(&mut conn, &job, &worker, ending).await
        };
        match recorded.await {
            Ok(true) => {}
            Ok(false) => tracing::warn!("the job's lease ran out before it finished; another worker has it"),
            Err(error) => {
                tracing::warn!(error = %error, "could not record the job's end; its lease will run out")
            }
        }
        match &outcome {
            Ok(()) => tracing::info!(latency_ms = started.elapsed().as_millis() as u64, "job done"),
            Err(failure) if label == "dead" => {
                tracing::error!(error = %failure.message, "job failed for good; it is in the dead letters")
            }
            Err(failure) => tracing::warn!(error = %failure.message, "job failed; it will be retried"),
        }
    }
    .instrument(span)
    .await
}

/// Enqueues each schedule's runs as they fall due.
struct Scheduler {
    /// Each schedule's next instant to enqueue.
    next: Vec<DateTime<Utc>>,
}

impl Scheduler {
    /// Start from the latest instant of each schedule in the past week, so
    /// a run missed while every node was down still happens once.
    fn new(config: &JobConfig, now: DateTime<Utc>) -> Self {
        let week_ago = (now - chrono::Duration::days(7)).with_timezone(&config.timezone);
        let next = config
            .schedules
            .iter()
            .map(|s| {
                s.cron
                    .after(&week_ago)
                    .take_while(|t| t.with_timezone(&Utc) <= now)
                    .last()
                    .map(|t| t.with_timezone(&Utc))
                    .or_else(|| {
                        s.cron
                            .after(&now.with_timezone(&config.timezone))
                            .next()
                            .map(|t| t.with_timezone(&Utc))
                    })
                    .unwrap_or(now)
            })
            .collect();
        Self { next }
    }

    async fn tick(&mut self, app: &App, config: &JobConfig, now: DateTime<Utc>) {
        for (schedule, next) in config.schedules.iter().zip(self.next.iter_mut()) {
            if *next > now {
                continue;
            }
            let due = *next;
            let run_at = if schedule.heavy {
                config.window.next_open(due.max(now), config.timezone)
            } else {
                due
            };
            let enqueued = async {
                let mut conn = app.pools.acquire(PoolName::App).await?;
                store::enqueue_scheduled(
                    &mut conn,
                    schedule.name,
                    due,
                    &NewJob {
                        queue: "maintenance",
                        kind: schedule.kind,
                        tenant_id: None,
                        payload: serde_json::json!({}),
                        run_at,
                        max_attempts: 5,
                        timeout_secs: 3600,
                    },
                )
                .await
            };
            match enqueued.await {
                Ok(Some(id)) => {
                    tracing::info!(schedule = schedule.name, due = %due, job_id = %id, "scheduled job enqueued")
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(schedule = schedule.name, error = %error, "could not enqueue a scheduled job");
                    continue;
                }
            }
            *next = schedule
                .cron
                .after(&now.with_timezone(&config.timezone))
                .next()
                .map_or(now + chrono::Duration::days(1), |t| t.with_timezone(&Utc));
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ist(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        chrono_tz::Asia::Kolkata
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn the_defaults_resolve() {
        let config = JobSettings::default().resolve().unwrap();
        let names: Vec<&str> = config.schedules.iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "token_cleanup",
                "audit_retention",
                "finished_jobs",
                "stock_alerts",
                "backup"
            ]
        );
        assert_eq!(config.timezone, chrono_tz::Asia::Kolkata);
    }

    #[test]
    fn a_schedule_set_off_is_not_run() {
        let config = JobSettings {
            backup_cron: "off".into(),
            ..JobSettings::default()
        }
        .resolve()
        .unwrap();
        assert!(config.schedules.iter().all(|s| s.name != "backup"));
        assert_eq!(config.schedules.len(), 4);
    }

    #[test]
    fn a_setting_that_cannot_be_understood_names_its_key() {
        for (adjust, key) in [
            (
                Box::new(|s: &mut JobSettings| s.timezone = "Mars/Olympus".into())
                    as Box<dyn Fn(&mut JobSettings)>,
                "jobs.timezone",
            ),
            (
                Box::new(|s: &mut JobSettings| s.token_cleanup_cron = "every day".into()),
                "jobs.token_cleanup_cron",
            ),
            (
                Box::new(|s: &mut JobSettings| s.token_cleanup_cron = "* * * * * *".into()),
                "jobs.token_cleanup_cron",
            ),
            (
                Box::new(|s: &mut JobSettings| s.maintenance_window = "Sun 04:00-02:00".into()),
                "jobs.maintenance_window",
            ),
            (
                Box::new(|s: &mut JobSettings| s.audit_retention_days = 30),
                "jobs.audit_retention_days",
            ),
            (
                Box::new(|s: &mut JobSettings| s.concurrency = 0),
                "jobs.concurrency",
            ),
        ] {
            let mut settings = JobSettings::default();
            adjust(&mut settings);
            let error = settings.resolve().unwrap_err();
            assert!(error.starts_with(&format!("{key}: expected")), "{error}");
        }
    }

    #[test]
    fn backoff_doubles_up_to_its_cap_with_half_of_it_random() {
        let base = Duration::from_secs(10);
        let max = Duration::from_secs(3600);
        assert_eq!(backoff(1, base, max, 0.0), Duration::from_secs(5));
        assert_eq!(backoff(1, base, max, 1.0), Duration::from_secs(10));
        assert_eq!(backoff(3, base, max, 0.0), Duration::from_secs(20));
        assert_eq!(backoff(3, base, max, 1.0), Duration::from_secs(40));
        assert_eq!(backoff(12, base, max, 1.0), Duration::from_secs(3600));
        assert_eq!(backoff(40, base, max, 0.5), Duration::from_secs(2700));
    }

    #[test]
    fn the_maintenance_window_opens_on_its_day_in_its_timezone() {
        let window = MaintenanceWindow::parse("Sun 02:00-04:00").unwrap();
        let tz = chrono_tz::Asia::Kolkata;
        // 2026-12-09 is a Wednesday: the next window is Sunday the 13th, 02:00 IST.
        assert_eq!(
            window.next_open(ist(2026, 12, 9, 15, 0), tz),
            ist(2026, 12, 13, 2, 0)
        );
        // Inside the window: now.
        assert_eq!(
            window.next_open(ist(2026, 12, 13, 3, 10), tz),
            ist(2026, 12, 13, 3, 10)
        );
        // Just after it closed: a week later.
        assert_eq!(
            window.next_open(ist(2026, 12, 13, 4, 0), tz),
            ist(2026, 12, 20, 2, 0)
        );
        let daily = MaintenanceWindow::parse("02:00-04:00").unwrap();
        assert_eq!(
            daily.next_open(ist(2026, 12, 9, 15, 0), tz),
            ist(2026, 12, 10, 2, 0)
        );
    }

    #[test]
    fn a_five_field_cron_runs_in_the_jobs_timezone() {
        let cron = parse_cron("30 3 * * *").unwrap();
        let tz = chrono_tz::Asia::Kolkata;
        let next = cron
            .after(&ist(2026, 12, 9, 15, 0).with_timezone(&tz))
            .next()
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(next, ist(2026, 12, 10, 3, 30));
        let weekly = parse_cron("15 2 * * Sun").unwrap();
        let next = weekly
            .after(&ist(2026, 12, 9, 15, 0).with_timezone(&tz))
            .next()
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(next, ist(2026, 12, 13, 2, 15));
    }

    #[test]
    fn the_scheduler_starts_from_the_latest_run_in_the_past_week() {
        let config = JobSettings::default().resolve().unwrap();
        let now = ist(2026, 12, 9, 15, 0);
        let scheduler = Scheduler::new(&config, now);
        // token_cleanup daily 03:30: today's 03:30 is the latest past run.
        assert_eq!(scheduler.next[0], ist(2026, 12, 9, 3, 30));
        // audit_retention Sundays 02:15: last Sunday (the 6th).
        assert_eq!(scheduler.next[1], ist(2026, 12, 6, 2, 15));
        assert_eq!(scheduler.next[2], ist(2026, 12, 9, 3, 45));
    }
}
