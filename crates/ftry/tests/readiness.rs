//! Readiness follows the database: down → 503 naming it, back → 200, without
//! restarting ftry; liveness never depends on it.

mod support;

use std::time::{Duration, Instant};

use ftry::config::{Config, SecretUrl};
use ftry_ops::embedded::{EmbeddedPostgres, EmbeddedSettings};
use support::{data_dir, traversable_tempdir, TestApp};

fn settings(root: &std::path::Path) -> EmbeddedSettings {
    EmbeddedSettings {
        data_dir: data_dir(root),
        pg_bindir: None,
        run_as: None,
        startup_timeout: Duration::from_secs(60),
    }
}

async fn ready_status(app: &TestApp) -> (u16, serde_json::Value) {
    let response = app.get("/health/ready").await;
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn readiness_reports_the_database_going_away_and_coming_back() {
    let root = traversable_tempdir();
    let postgres = EmbeddedPostgres::start(&settings(root.path())).await.unwrap();
    let socket = postgres.socket_dir().display().to_string();
    let mut config = Config::default();
    config.database.url =
        Some(SecretUrl::try_from(format!("postgres://ftry_app@localhost/ftry?host={socket}")).unwrap());
    config.database.owner_url =
        Some(SecretUrl::try_from(format!("postgres://ftry_owner@localhost/ftry?host={socket}")).unwrap());
    config.http.check_timeout_ms = 1000;
    config.data_protection = support::test_data_protection();
    config.database.acquire_timeout_ms = 500;
    let app = TestApp::spawn(config).await;
    assert_eq!(ready_status(&app).await.0, 200);

    postgres.stop().await.unwrap();
    let asked = Instant::now();
    let (status, body) = ready_status(&app).await;
    let answered_in = asked.elapsed();
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "not_ready");
    assert_eq!(body["checks"][0]["name"], "database");
    assert_eq!(body["checks"][0]["status"], "fail");
    assert!(
        body["checks"][0]["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    assert!(
        answered_in < Duration::from_secs(3),
        "bounded by the check timeout: {answered_in:?}"
    );
    assert_eq!(app.get("/health/live").await.status(), 200);

    let restarted = EmbeddedPostgres::start(&settings(root.path())).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, body) = ready_status(&app).await;
        if status == 200 {
            assert_eq!(body["status"], "ready");
            break;
        }
        assert!(Instant::now() < deadline, "still not ready: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.stop().await;
    restarted.stop().await.unwrap();
}

/// The pool hands out a connection used a moment ago without asking the
/// server first; one idle for a second or more, which the server may have
/// closed meanwhile (a restart, a failover, an idle timeout), is asked first
/// and replaced if it does not answer, so no request meets a dead connection.
#[tokio::test]
async fn connections_the_server_closed_while_idle_are_replaced_before_a_request_uses_them() {
    let app = TestApp::fresh().await;
    let answers = tokio::join!(
        ready_status(&app),
        ready_status(&app),
        ready_status(&app),
        ready_status(&app)
    );
    for (status, body) in [answers.0, answers.1, answers.2, answers.3] {
        assert_eq!(status, 200, "{body}");
    }
    let mut admin = support::admin(&app).await;
    let pooled = "SELECT count(*) FROM pg_stat_activity
                   WHERE datname = current_database() AND application_name = 'ftry'";
    let terminated: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                                WHERE datname = current_database() AND application_name = 'ftry') t",
    )
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert!(terminated >= 1, "the pool held no connection");
    let deadline = Instant::now() + Duration::from_secs(5);
    while sqlx::query_scalar::<_, i64>(pooled)
        .fetch_one(&mut admin)
        .await
        .unwrap()
        > 0
    {
        assert!(Instant::now() < deadline, "the terminated connections stayed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    for _ in 0..2 * terminated {
        let (status, body) = ready_status(&app).await;
        assert_eq!(status, 200, "{body}");
    }
    let reopened: i64 = sqlx::query_scalar(pooled).fetch_one(&mut admin).await.unwrap();
    assert!(reopened >= 1, "answered without a connection");
    app.stop().await;
}
