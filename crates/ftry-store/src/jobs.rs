//! The job queue's statements: enqueue (inside the caller's transaction),
//! claim with a lease, finish, retry later, bury, release, and what the
//! operators' commands and the metrics read.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub queue: &'a str,
    pub kind: &'a str,
    pub tenant_id: Option<Uuid>,
    pub payload: Value,
    pub run_at: DateTime<Utc>,
    pub max_attempts: i32,
    pub timeout_secs: i32,
}

/// A claimed job, as its handler sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Job {
    pub id: Uuid,
    pub queue: String,
    pub kind: String,
    pub tenant_id: Option<Uuid>,
    pub payload: Value,
    pub run_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// This attempt's number, from 1.
    pub attempts: i32,
    pub max_attempts: i32,
    pub timeout_secs: i32,
    /// The trace of whatever enqueued it, if that was traced.
    pub trace_parent: Option<String>,
}

/// How a job carries the trace that enqueued it. The service installs its
/// tracing's functions once at start; until then (and in tools that trace
/// nothing) no trace is carried.
pub struct TraceHooks {
    /// The current span's `traceparent`, when it is sampled.
    pub current: fn() -> Option<String>,
    /// Make `span` a child of the span a `traceparent` names.
    pub adopt: fn(&tracing::Span, &str),
}

static TRACE_HOOKS: std::sync::OnceLock<TraceHooks> = std::sync::OnceLock::new();

pub fn set_trace_hooks(hooks: TraceHooks) {
    let _ = TRACE_HOOKS.set(hooks);
}

/// Continue the trace a job was enqueued in, if any, on the span of its run.
pub fn adopt_trace(span: &tracing::Span, trace_parent: Option<&str>) {
    if let (Some(hooks), Some(parent)) = (TRACE_HOOKS.get(), trace_parent) {
        (hooks.adopt)(span, parent);
    }
}

/// A job as the operators' list shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct JobSummary {
    pub id: Uuid,
    pub queue: String,
    pub kind: String,
    pub tenant_id: Option<Uuid>,
    pub state: String,
    pub run_at: DateTime<Utc>,
    pub attempts: i32,
    pub max_attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Open jobs of one queue.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct QueueStats {
    pub queue: String,
    pub queued: i64,
    pub running: i64,
    pub dead: i64,
    /// Seconds since the longest-waiting due job became due (0 when none).
    pub oldest_due_secs: f64,
}

/// Enqueue in the caller's transaction: the job exists only if it commits.
pub async fn enqueue(conn: &mut PgConnection, job: &NewJob<'_>) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    insert(conn, id, job).await?;
    Ok(id)
}

async fn insert(conn: &mut PgConnection, id: Uuid, job: &NewJob<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO jobs (id, queue, kind, tenant_id, payload, run_at, max_attempts, timeout_secs, trace_parent)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(job.queue)
    .bind(job.kind)
    .bind(job.tenant_id)
    .bind(&job.payload)
    .bind(job.run_at)
    .bind(job.max_attempts)
    .bind(job.timeout_secs)
    .bind(TRACE_HOOKS.get().and_then(|hooks| (hooks.current)()))
    .execute(conn)
    .await?;
    Ok(())
}

/// Record a domain event of `tenant_id` and enqueue the job that dispatches
/// it (`events.dispatch`, due now), in one statement: it often runs while
/// the caller holds a lock others wait for.
pub async fn record_event(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    kind: &str,
    subject_id: Uuid,
    payload: &serde_json::Value,
) -> Result<Uuid, sqlx::Error> {
    static STATEMENT: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| format!("WITH {} SELECT", event_parts(1)));
    let (query, id) = bind_event(sqlx::query(&STATEMENT), tenant_id, kind, subject_id, payload);
    query.execute(conn).await?;
    Ok(id)
}

/// The two data-modifying `WITH` items that record a domain event and
/// enqueue its dispatch (`event_recorded`, `event_dispatch`), their seven
/// parameters numbered from `$first`: a part of [`record_event`]'s
/// statement or of a larger one; bound by [`bind_event`].
pub(crate) fn event_parts(first: usize) -> String {
    let p = |i: usize| format!("${}", first + i);
    let (tenant, id) = (p(0), p(1));
    format!(
        "event_recorded AS (
             INSERT INTO domain_events (tenant_id, id, kind, subject_id, payload)
             VALUES ({tenant}, {id}, {kind}, {subject}, {payload})
         ),
         event_dispatch AS (
             INSERT INTO jobs (id, queue, kind, tenant_id, payload, run_at, max_attempts, timeout_secs, trace_parent)
             VALUES ({job}, 'notifications', 'events.dispatch', {tenant}, jsonb_build_object('event_id', {id}::uuid),
                     now(), 10, 60, {trace})
         )",
        kind = p(2),
        subject = p(3),
        payload = p(4),
        job = p(5),
        trace = p(6),
    )
}

/// Bind the parameters of [`event_parts`]; also the new event's id.
pub(crate) fn bind_event<'q>(
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    tenant_id: Uuid,
    kind: &'q str,
    subject_id: Uuid,
    payload: &'q serde_json::Value,
) -> (
    sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    Uuid,
) {
    let id = Uuid::now_v7();
    let query = query
        .bind(tenant_id)
        .bind(id)
        .bind(kind)
        .bind(subject_id)
        .bind(payload)
        .bind(Uuid::now_v7())
        .bind(TRACE_HOOKS.get().and_then(|hooks| (hooks.current)()));
    (query, id)
}

/// Enqueue the run of schedule `name` due at `due_at`, unless some node
/// already did: `None` then.
pub async fn enqueue_scheduled(
    conn: &mut PgConnection,
    name: &str,
    due_at: DateTime<Utc>,
    job: &NewJob<'_>,
) -> Result<Option<Uuid>, sqlx::Error> {
    let id = Uuid::now_v7();
    let claimed = sqlx::query(
        "INSERT INTO schedule_runs (name, due_at, job_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(name)
    .bind(due_at)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    if claimed.rows_affected() == 0 {
        return Ok(None);
    }
    insert(conn, id, job).await?;
    Ok(Some(id))
}

/// Claim up to `limit` due jobs for `worker`, oldest due first, each leased
/// for its own timeout plus `grace_secs`. Reads the due jobs in the order of
/// their index, however many wait.
pub async fn claim(
    conn: &mut PgConnection,
    worker: &str,
    limit: i64,
    grace_secs: i32,
) -> Result<Vec<Job>, sqlx::Error> {
    // The lease and its run record are written together.
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let jobs: Vec<Job> = sqlx::query_as(
        "WITH due AS (
             SELECT id FROM jobs
              WHERE state = 'queued' AND run_at <= now()
              ORDER BY run_at
              LIMIT $2
              FOR UPDATE SKIP LOCKED
         )
         UPDATE jobs j SET state = 'running', attempts = j.attempts + 1, locked_by = $1,
                locked_until = now() + make_interval(secs => j.timeout_secs + $3)
          WHERE j.id IN (SELECT id FROM due)
         RETURNING j.id, j.queue, j.kind, j.tenant_id, j.payload, j.run_at, j.created_at, j.attempts,
                   j.max_attempts, j.timeout_secs, j.trace_parent",
    )
    .bind(worker)
    .bind(limit)
    .bind(grace_secs)
    .fetch_all(&mut *tx)
    .await?;
    if !jobs.is_empty() {
        let ids: Vec<Uuid> = jobs.iter().map(|j| j.id).collect();
        let attempts: Vec<i32> = jobs.iter().map(|j| j.attempts).collect();
        sqlx::query(
            "INSERT INTO job_runs (job_id, attempt, worker)
             SELECT id, attempt, $3 FROM unnest($1::uuid[], $2::int[]) AS u (id, attempt)",
        )
        .bind(&ids)
        .bind(&attempts)
        .bind(worker)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(jobs)
}

/// Queue again the running jobs whose lease ran out (their worker died),
/// recording their interrupted attempts as `expired`. Returns how many.
pub async fn reclaim_expired(conn: &mut PgConnection) -> Result<u64, sqlx::Error> {
    let reclaimed = sqlx::query(
        "WITH expired AS (
             UPDATE jobs SET state = 'queued', locked_by = NULL, locked_until = NULL
              WHERE state = 'running' AND locked_until < now()
             RETURNING id, attempts
         )
         UPDATE job_runs r SET finished_at = now(), outcome = 'expired', error = 'lease expired'
           FROM expired e
          WHERE r.job_id = e.id AND r.attempt = e.attempts AND r.outcome IS NULL",
    )
    .execute(conn)
    .await?;
    Ok(reclaimed.rows_affected())
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending<'a> {
    Success,
    /// Queued again for `at`.
    Retry {
        at: DateTime<Utc>,
        error: &'a str,
    },
    /// Out of attempts, or failed for good: dead letter.
    Dead {
        error: &'a str,
    },
    /// Not run to the end (shutdown): queued again at once, the attempt not counted.
    Released,
}

/// Record the end of `job`'s current attempt by `worker`. Returns false when
/// the worker no longer held the job (its lease ran out and another worker
/// took it): nothing is changed then.
pub async fn end(
    conn: &mut PgConnection,
    job: &Job,
    worker: &str,
    ending: Ending<'_>,
) -> Result<bool, sqlx::Error> {
    let (state, run_at, error, outcome, attempts) = match ending {
        Ending::Success => ("done", None, None, "success", job.attempts),
        Ending::Retry { at, error } => ("queued", Some(at), Some(error), "retry", job.attempts),
        Ending::Dead { error } => ("dead", None, Some(error), "dead", job.attempts),
        Ending::Released => ("queued", Some(Utc::now()), None, "released", job.attempts - 1),
    };
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let updated = sqlx::query(
        "UPDATE jobs SET state = $3, run_at = coalesce($4, run_at), attempts = $5,
                last_error = coalesce($6, last_error), locked_by = NULL, locked_until = NULL,
                finished_at = CASE WHEN $3 IN ('done', 'dead') THEN now() END
          WHERE id = $1 AND locked_by = $2 AND state = 'running' AND attempts = $7",
    )
    .bind(job.id)
    .bind(worker)
    .bind(state)
    .bind(run_at)
    .bind(attempts)
    .bind(error)
    .bind(job.attempts)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE job_runs SET finished_at = now(), outcome = $3, error = $4
          WHERE job_id = $1 AND attempt = $2 AND outcome IS NULL",
    )
    .bind(job.id)
    .bind(job.attempts)
    .bind(outcome)
    .bind(error)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Jobs in `state` (any when `None`), newest first.
pub async fn list(
    conn: &mut PgConnection,
    state: Option<&str>,
    limit: i64,
) -> Result<Vec<JobSummary>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, queue, kind, tenant_id, state, run_at, attempts, max_attempts, last_error,
                created_at, finished_at
           FROM jobs WHERE ($1::text IS NULL OR state = $1) ORDER BY id DESC LIMIT $2",
    )
    .bind(state)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// One job's state, if it exists.
pub async fn state_of(conn: &mut PgConnection, id: Uuid) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT state FROM jobs WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// A dead job queued again with a fresh set of attempts. False when the job
/// is not dead.
pub async fn retry_dead(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE jobs SET state = 'queued', attempts = 0, run_at = now(), finished_at = NULL
          WHERE id = $1 AND state = 'dead'",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// A dead or queued job given up. False when it is neither.
pub async fn discard(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE jobs SET state = 'discarded', finished_at = now()
          WHERE id = $1 AND state IN ('dead', 'queued')",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// The open jobs of every queue that has any.
pub async fn stats(conn: &mut PgConnection) -> Result<Vec<QueueStats>, sqlx::Error> {
    sqlx::query_as(
        "SELECT queue,
                count(*) FILTER (WHERE state = 'queued') AS queued,
                count(*) FILTER (WHERE state = 'running') AS running,
                count(*) FILTER (WHERE state = 'dead') AS dead,
                coalesce(extract(epoch FROM now() - min(run_at)
                         FILTER (WHERE state = 'queued' AND run_at <= now())), 0)::float8 AS oldest_due_secs
           FROM jobs WHERE state IN ('queued', 'running', 'dead')
          GROUP BY queue ORDER BY queue",
    )
    .fetch_all(conn)
    .await
}

/// Delete jobs that finished (done or discarded) before `before`, with their
/// runs. Dead jobs stay until an operator retries or discards them.
pub async fn delete_finished(conn: &mut PgConnection, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let deleted = sqlx::query("DELETE FROM jobs WHERE state IN ('done', 'discarded') AND finished_at < $1")
        .bind(before)
        .execute(conn)
        .await?;
    Ok(deleted.rows_affected())
}

/// The backup metrics' sources: the last successful run's end (Unix
/// seconds), duration and size, and the last failure's end; zeros when none.
#[derive(Debug, Clone, Default, PartialEq, sqlx::FromRow)]
pub struct BackupState {
    pub last_success: f64,
    pub last_success_duration: f64,
    pub last_success_bytes: f64,
    pub last_failure: f64,
}

pub async fn backup_state(conn: &mut PgConnection) -> Result<BackupState, sqlx::Error> {
    sqlx::query_as(
        "SELECT coalesce(extract(epoch FROM s.finished_at), 0)::float8 AS last_success,
                coalesce(extract(epoch FROM s.finished_at - s.started_at), 0)::float8 AS last_success_duration,
                coalesce(s.size_bytes, 0)::float8 AS last_success_bytes,
                coalesce((SELECT extract(epoch FROM max(finished_at)) FROM backup_runs WHERE status = 'failed'), 0)::float8
                    AS last_failure
           FROM (SELECT 1) AS one
           LEFT JOIN LATERAL (SELECT finished_at, started_at, size_bytes FROM backup_runs
                               WHERE status = 'succeeded' ORDER BY finished_at DESC LIMIT 1) s ON true",
    )
    .fetch_one(conn)
    .await
}

/// Start recording a backup run.
pub async fn backup_started(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO backup_runs (id) VALUES ($1)")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// How a backup run ended: the backup's id and size, or the error.
pub async fn backup_finished(
    conn: &mut PgConnection,
    id: Uuid,
    outcome: Result<(&str, i64), &str>,
) -> Result<(), sqlx::Error> {
    let (status, backup, size, error) = match outcome {
        Ok((backup, size)) => ("succeeded", Some(backup), Some(size), None),
        Err(error) => ("failed", None, None, Some(error)),
    };
    sqlx::query(
        "UPDATE backup_runs SET finished_at = now(), status = $2, backup_id = $3, size_bytes = $4, error = $5
          WHERE id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(backup)
    .bind(size)
    .bind(error)
    .execute(conn)
    .await?;
    Ok(())
}
