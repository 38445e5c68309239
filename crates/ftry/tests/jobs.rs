//! Background jobs through the real binary: `ftry worker` processes against
//! one PostgreSQL run each job once, retry transient failures, bury
//! permanent ones for the operators' commands, survive a worker killed
//! mid-job, finish or release jobs at shutdown, and make each scheduled run
//! once across nodes.

mod support;

use std::process::Output;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde_json::json;
use sqlx::{Connection, Executor, PgConnection, Row};
use support::metrics::{sample, scrape_port};
use support::{free_port, traversable_tempdir, FtryProcess, TestDb};

fn worker_env(db: &TestDb, admin_port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", db.app_url()),
        ("FTRY_DATABASE_OWNER_URL", db.owner_url()),
        ("FTRY_ADMIN_ADDR", format!("127.0.0.1:{admin_port}")),
        ("FTRY_JOBS_POLL_INTERVAL_MS", "50".into()),
        ("FTRY_JOBS_RETRY_BASE_SECS", "1".into()),
        ("FTRY_JOBS_RETRY_MAX_SECS", "1".into()),
        ("FTRY_JOBS_LEASE_GRACE_SECS", "1".into()),
    ]
}

/// `ftry worker` with the test's environment; ready once its admin
/// listener answers.
async fn start_worker(envs: &[(&str, String)], admin_port: u16, root: &std::path::Path) -> FtryProcess {
    let mut ftry = FtryProcess::worker(envs, root);
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = ftry.child.try_wait() {
            panic!(
                "worker exited with {status}\n{}\n{}",
                ftry.stdout.lock().unwrap().join("\n"),
                ftry.stderr.lock().unwrap().join("\n")
            );
        }
        let answered = reqwest::get(format!("http://127.0.0.1:{admin_port}/metrics")).await;
        if answered.is_ok_and(|r| r.status() == 200) {
            return ftry;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "worker did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A diagnostic job's failure mode, state, attempts, last error and the
/// outcome of each attempt.
type Attempts = (String, String, String, i32, Option<String>, Vec<String>);

async fn admin(db: &TestDb) -> PgConnection {
    db.admin().await
}

/// Insert diagnostic jobs as the application would enqueue them.
async fn enqueue(
    conn: &mut PgConnection,
    count: i64,
    payload: serde_json::Value,
    max_attempts: i32,
    timeout_secs: i32,
) {
    sqlx::query(
        "INSERT INTO jobs (id, queue, kind, payload, max_attempts, timeout_secs)
         SELECT gen_random_uuid(), 'diagnostic', 'diagnostic.echo', $1, $2, $3 FROM generate_series(1, $4)",
    )
    .bind(payload)
    .bind(max_attempts)
    .bind(timeout_secs)
    .bind(count)
    .execute(conn)
    .await
    .unwrap();
}

async fn wait_until(conn: &mut PgConnection, sql: &str, expected: i64, within: Duration) {
    let started = Instant::now();
    loop {
        let n: i64 = sqlx::query_scalar(sql).fetch_one(&mut *conn).await.unwrap();
        if n == expected {
            return;
        }
        assert!(started.elapsed() < within, "{sql}: {n}, expected {expected}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn scalar(conn: &mut PgConnection, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(conn).await.unwrap()
}

fn ftry_jobs(db: &TestDb, args: &[&str]) -> Output {
    support::ftry_command()
        .arg("jobs")
        .args(args)
        .env("DATABASE_URL", db.app_url())
        .env("FTRY_DATABASE_OWNER_URL", db.owner_url())
        .output()
        .unwrap()
}

#[tokio::test]
async fn three_workers_run_a_thousand_jobs_once_each_and_each_scheduled_run_once() {
    let db = TestDb::create().await;
    let root = traversable_tempdir();
    let mut workers = Vec::new();
    for _ in 0..3 {
        let port = free_port();
        workers.push((
            start_worker(&worker_env(&db, port), port, root.path()).await,
            port,
        ));
    }
    let mut conn = admin(&db).await;
    enqueue(&mut conn, 1000, json!({}), 3, 30).await;
    wait_until(
        &mut conn,
        "SELECT count(*) FROM jobs WHERE kind = 'diagnostic.echo' AND state = 'done'",
        1000,
        Duration::from_secs(120),
    )
    .await;
    assert_eq!(
        scalar(
            &mut conn,
            "SELECT count(*) FROM job_runs r JOIN jobs j ON j.id = r.job_id WHERE j.kind = 'diagnostic.echo'"
        )
        .await,
        1000,
        "one attempt per job"
    );
    assert_eq!(
        scalar(
            &mut conn,
            "SELECT count(*) FROM jobs WHERE kind = 'diagnostic.echo' AND attempts <> 1"
        )
        .await,
        0
    );
    let busy = scalar(
        &mut conn,
        "SELECT count(DISTINCT r.worker) FROM job_runs r JOIN jobs j ON j.id = r.job_id WHERE j.kind = 'diagnostic.echo'",
    )
    .await;
    assert_eq!(busy, 3, "every worker took a share");
    // Three nodes saw the same schedules: each run was enqueued once.
    for kind in [
        "maintenance.expired_tokens",
        "maintenance.finished_jobs",
        "maintenance.audit_retention",
        "stock.alerts",
    ] {
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE kind = $1")
            .bind(kind)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(count, 1, "{kind}");
    }
    assert_eq!(scalar(&mut conn, "SELECT count(*) FROM schedule_runs").await, 4);
    wait_until(
        &mut conn,
        "SELECT count(*) FROM jobs WHERE kind IN ('maintenance.expired_tokens', 'maintenance.finished_jobs') AND state = 'done'",
        2,
        Duration::from_secs(30),
    )
    .await;

    // The workers' own counts add up to the thousand.
    let mut counted = 0.0;
    for (_, port) in &workers {
        let text = scrape_port(*port).await;
        counted += sample(
            &text,
            "ftry_job_runs_total",
            r#"kind="diagnostic.echo",outcome="success""#,
        )
        .unwrap_or(0.0);
    }
    assert_eq!(counted, 1000.0);
    for (mut worker, _) in workers {
        worker.signal(Signal::SIGTERM);
        assert_eq!(worker.wait_exit(Duration::from_secs(30)).code(), Some(0));
    }
}

#[tokio::test]
async fn transient_failures_are_retried_and_permanent_ones_wait_for_an_operator() {
    let db = TestDb::create().await;
    let root = traversable_tempdir();
    let port = free_port();
    let mut worker = start_worker(&worker_env(&db, port), port, root.path()).await;
    let mut conn = admin(&db).await;
    // Fails twice, then succeeds.
    enqueue(
        &mut conn,
        1,
        json!({"fail": "transient", "fail_attempts": 2}),
        5,
        30,
    )
    .await;
    // Fails for good at once.
    enqueue(&mut conn, 1, json!({"fail": "permanent"}), 5, 30).await;
    // Fails every time: buried after its three attempts.
    enqueue(&mut conn, 1, json!({"fail": "transient"}), 3, 30).await;
    wait_until(
        &mut conn,
        "SELECT count(*) FROM jobs WHERE kind = 'diagnostic.echo' AND state IN ('done', 'dead')",
        3,
        Duration::from_secs(60),
    )
    .await;
    let rows = sqlx::query(
        "SELECT j.payload->>'fail' AS fail, coalesce(j.payload->>'fail_attempts', '') AS until, j.state,
                j.attempts, j.last_error,
                array_agg(r.outcome ORDER BY r.attempt) AS outcomes
           FROM jobs j JOIN job_runs r ON r.job_id = j.id
          WHERE j.kind = 'diagnostic.echo' GROUP BY j.id ORDER BY j.attempts DESC, j.state DESC",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let seen: Vec<Attempts> = rows
        .iter()
        .map(|r| {
            (
                r.get("fail"),
                r.get("until"),
                r.get("state"),
                r.get("attempts"),
                r.get("last_error"),
                r.get("outcomes"),
            )
        })
        .collect();
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        seen,
        vec![
            (
                "transient".into(),
                "2".into(),
                "done".into(),
                3,
                Some("diagnostic job asked to fail (attempt 2)".into()),
                strings(&["retry", "retry", "success"])
            ),
            (
                "transient".into(),
                "".into(),
                "dead".into(),
                3,
                Some("diagnostic job asked to fail (attempt 3)".into()),
                strings(&["retry", "retry", "dead"])
            ),
            (
                "permanent".into(),
                "".into(),
                "dead".into(),
                1,
                Some("diagnostic job asked to fail for good".into()),
                strings(&["dead"])
            ),
        ]
    );
    let metrics = scrape_port(port).await;
    for (outcome, count) in [("success", 1.0), ("retry", 4.0), ("dead", 2.0)] {
        let labels = format!(r#"kind="diagnostic.echo",outcome="{outcome}""#);
        assert_eq!(
            sample(&metrics, "ftry_job_runs_total", &labels),
            Some(count),
            "{outcome}"
        );
    }

    // The operators' commands.
    let dead: uuid::Uuid = sqlx::query_scalar("SELECT id FROM jobs WHERE payload->>'fail' = 'permanent'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let listed = ftry_jobs(&db, &["list", "--state", "dead"]);
    assert_eq!(listed.status.code(), Some(0));
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(listed.contains(&format!("{dead}  dead ")), "{listed}");
    assert!(
        listed.contains("error: diagnostic job asked to fail for good"),
        "{listed}"
    );
    let retried = ftry_jobs(&db, &["retry", &dead.to_string()]);
    assert_eq!(
        String::from_utf8(retried.stdout).unwrap(),
        format!("job {dead} queued again\n")
    );
    // It fails for good again, on its fresh first attempt.
    wait_until(
        &mut conn,
        &format!("SELECT count(*) FROM job_runs WHERE job_id = '{dead}'"),
        2,
        Duration::from_secs(30),
    )
    .await;
    wait_until(
        &mut conn,
        &format!("SELECT count(*) FROM jobs WHERE id = '{dead}' AND state = 'dead' AND attempts = 1"),
        1,
        Duration::from_secs(30),
    )
    .await;
    let discarded = ftry_jobs(&db, &["discard", &dead.to_string()]);
    assert_eq!(
        String::from_utf8(discarded.stdout).unwrap(),
        format!("job {dead} discarded\n")
    );
    let again = ftry_jobs(&db, &["retry", &dead.to_string()]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8(again.stderr).unwrap().contains("is not dead"));

    let checked = ftry_jobs(&db, &["check"]);
    assert_eq!(
        checked.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    assert!(String::from_utf8(checked.stdout)
        .unwrap()
        .contains("ran on a worker in"));

    worker.signal(Signal::SIGTERM);
    assert_eq!(worker.wait_exit(Duration::from_secs(30)).code(), Some(0));
    // No worker left: the check gives up and says so.
    let unanswered = ftry_jobs(&db, &["check", "--wait", "1"]);
    assert_eq!(unanswered.status.code(), Some(1));
    assert!(String::from_utf8(unanswered.stderr)
        .unwrap()
        .contains("no worker ran job"));
}

#[tokio::test]
async fn a_job_of_a_killed_worker_is_run_by_another_once_its_lease_runs_out() {
    let db = TestDb::create().await;
    let root = traversable_tempdir();
    let port = free_port();
    let mut first = start_worker(&worker_env(&db, port), port, root.path()).await;
    let mut conn = admin(&db).await;
    enqueue(&mut conn, 1, json!({"sleep_ms": 1500}), 3, 2).await;
    wait_until(
        &mut conn,
        "SELECT count(*) FROM jobs WHERE kind = 'diagnostic.echo' AND state = 'running'",
        1,
        Duration::from_secs(30),
    )
    .await;
    first.signal(Signal::SIGKILL);
    first.wait_exit(Duration::from_secs(10));
    let second_port = free_port();
    let mut second = start_worker(&worker_env(&db, second_port), second_port, root.path()).await;
    wait_until(
        &mut conn,
        "SELECT count(*) FROM jobs WHERE kind = 'diagnostic.echo' AND state = 'done' AND attempts = 2",
        1,
        Duration::from_secs(30),
    )
    .await;
    let outcomes: Vec<String> = sqlx::query_scalar(
        "SELECT r.outcome FROM job_runs r JOIN jobs j ON j.id = r.job_id
          WHERE j.kind = 'diagnostic.echo' ORDER BY r.attempt",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(outcomes, ["expired", "success"]);
    let workers: i64 = scalar(
        &mut conn,
        "SELECT count(DISTINCT r.worker) FROM job_runs r JOIN jobs j ON j.id = r.job_id WHERE j.kind = 'diagnostic.echo'",
    )
    .await;
    assert_eq!(workers, 2);
    second.signal(Signal::SIGTERM);
    assert_eq!(second.wait_exit(Duration::from_secs(30)).code(), Some(0));
}

#[tokio::test]
async fn shutdown_lets_a_running_job_finish_within_the_grace_and_releases_one_that_cannot() {
    let db = TestDb::create().await;
    let root = traversable_tempdir();
    let mut conn_setup = None;
    for (sleep_ms, grace, state, attempts, outcome) in [
        (800, "10", "done", 1, "success"),
        (20_000, "1", "queued", 0, "released"),
    ] {
        let port = free_port();
        let mut envs = worker_env(&db, port);
        envs.push(("FTRY_SHUTDOWN_GRACE_SECS", grace.into()));
        let mut worker = start_worker(&envs, port, root.path()).await;
        let conn = match &mut conn_setup {
            Some(conn) => conn,
            None => conn_setup.insert(admin(&db).await),
        };
        conn.execute("DELETE FROM jobs WHERE kind = 'diagnostic.echo'")
            .await
            .unwrap();
        enqueue(conn, 1, json!({"sleep_ms": sleep_ms}), 3, 60).await;
        wait_until(
            conn,
            "SELECT count(*) FROM jobs WHERE kind = 'diagnostic.echo' AND state = 'running'",
            1,
            Duration::from_secs(30),
        )
        .await;
        worker.signal(Signal::SIGTERM);
        assert_eq!(worker.wait_exit(Duration::from_secs(30)).code(), Some(0));
        let row = sqlx::query(
            "SELECT j.state, j.attempts, r.outcome FROM jobs j JOIN job_runs r ON r.job_id = j.id
              WHERE j.kind = 'diagnostic.echo'",
        )
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        let seen: (String, i32, String) = (row.get("state"), row.get("attempts"), row.get("outcome"));
        assert_eq!(
            seen,
            (state.to_owned(), attempts, outcome.to_owned()),
            "sleep {sleep_ms} ms, grace {grace} s"
        );
    }
    conn_setup.unwrap().close().await.unwrap();
}

#[tokio::test]
async fn the_service_runs_a_worker_and_a_lone_worker_needs_an_external_database() {
    let db = TestDb::create().await;
    let root = traversable_tempdir();
    let envs = [
        ("DATABASE_URL", db.app_url()),
        ("FTRY_DATABASE_OWNER_URL", db.owner_url()),
        ("FTRY_JOBS_POLL_INTERVAL_MS", "50".into()),
    ];
    let mut service = FtryProcess::serve(&envs, root.path());
    service.wait_ready(Duration::from_secs(60)).await;
    let checked = ftry_jobs(&db, &["check"]);
    assert_eq!(
        checked.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    service.signal(Signal::SIGTERM);
    assert_eq!(service.wait_exit(Duration::from_secs(30)).code(), Some(0));
    let stopped = service
        .stdout_lines()
        .iter()
        .any(|l| l.contains("job worker stopped"));
    assert!(stopped, "the service stops its worker on the way out");

    let lone = support::ftry_command()
        .arg("worker")
        .current_dir(root.path())
        .output()
        .unwrap();
    assert_eq!(lone.status.code(), Some(1));
    let stderr = String::from_utf8(lone.stderr).unwrap();
    assert!(
        stderr.contains("ftry worker needs an external database"),
        "{stderr}"
    );
}

#[tokio::test]
async fn an_idle_worker_is_woken_by_a_new_job_instead_of_waiting_for_its_next_poll() {
    let db = TestDb::create().await;
    let root = traversable_tempdir();
    let port = free_port();
    let mut envs = worker_env(&db, port);
    // A minute between polls: only the wake-up can start the job sooner.
    envs.push(("FTRY_JOBS_POLL_INTERVAL_MS", "60000".into()));
    let mut worker = start_worker(&envs, port, root.path()).await;
    let mut conn = admin(&db).await;
    // Let the worker finish its first round and go idle.
    wait_until(
        &mut conn,
        "SELECT count(*) FROM jobs WHERE kind = 'maintenance.expired_tokens' AND state = 'done'",
        1,
        Duration::from_secs(30),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    enqueue(&mut conn, 1, json!({}), 1, 30).await;
    // Well before the next poll, a minute away.
    wait_until(
        &mut conn,
        "SELECT count(*) FROM jobs WHERE kind = 'diagnostic.echo' AND state = 'done'",
        1,
        Duration::from_secs(20),
    )
    .await;
    worker.signal(Signal::SIGTERM);
    assert_eq!(worker.wait_exit(Duration::from_secs(30)).code(), Some(0));
}
