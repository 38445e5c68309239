//! Graceful shutdown of the real binary: readiness turns 503 at once, requests
//! in flight when SIGTERM arrives complete, and the process exits 0.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use nix::sys::signal::Signal;
use support::{traversable_tempdir, FtryProcess, TestDb};

/// Start a sign-up whose body arrives slowly: the request is in flight until
/// the last byte is sent.
fn start_slow_signup(addr: std::net::SocketAddr, body: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    let head = format!(
        "POST /api/v1/auth/signup HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&body[..10]).unwrap();
    stream
}

#[tokio::test]
async fn in_flight_requests_finish_and_readiness_turns_503_at_once() {
    let db = TestDb::create().await;
    let root = traversable_tempdir();
    let envs = [
        ("DATABASE_URL", db.app_url()),
        ("FTRY_DATABASE_OWNER_URL", db.owner_url()),
        ("FTRY_SHUTDOWN_DRAIN_DELAY_MS", "400".into()),
        ("FTRY_AUTH_ARGON2_MEMORY_KIB", "1024".into()),
        ("FTRY_AUTH_ARGON2_ITERATIONS", "1".into()),
    ];
    let mut ftry = FtryProcess::serve(&envs, root.path());
    ftry.wait_ready(Duration::from_secs(30)).await;

    let body = serde_json::to_vec(&serde_json::json!({
        "business_name": "Shutdown Salon",
        "location": {"name": "Main", "state_code": "27"},
        "owner": {"name": "Nisha Rane", "email": "nisha@example.com", "password": "quartz-river-lamp-88"},
    }))
    .unwrap();
    let in_flight: Vec<TcpStream> = (0..3).map(|_| start_slow_signup(ftry.addr, &body)).collect();
    std::thread::sleep(Duration::from_millis(200));

    ftry.signal(Signal::SIGTERM);
    std::thread::sleep(Duration::from_millis(100));
    let ready = reqwest::get(ftry.url("/health/ready")).await.unwrap();
    assert_eq!(ready.status(), 503);
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(ready["status"], "shutting_down");
    assert_eq!(
        reqwest::get(ftry.url("/health/live")).await.unwrap().status(),
        200
    );

    // Past the drain delay the listener is closed, but the requests already
    // in flight are still being served.
    std::thread::sleep(Duration::from_millis(700));
    assert!(TcpStream::connect(ftry.addr).is_err(), "the listener has closed");

    let mut statuses = Vec::new();
    for mut stream in in_flight {
        stream.write_all(&body[10..]).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        statuses.push(answer.lines().next().unwrap_or_default().to_owned());
    }
    assert_eq!(statuses, vec!["HTTP/1.1 201 Created"; 3]);

    let status = ftry.wait_exit(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0));
    let logs = ftry.stdout_lines().join("\n");
    assert!(logs.contains("shutting down: readiness is now 503"), "{logs}");
    assert!(logs.contains("all in-flight requests finished"), "{logs}");

    let mut admin = db.admin().await;
    let tenants: i64 = sqlx::query_scalar("SELECT count(*) FROM tenants")
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert_eq!(tenants, 3, "every in-flight sign-up completed (slugs -2, -3)");
}

#[tokio::test]
async fn the_listener_closes_after_the_drain_delay() {
    let db = TestDb::create().await;
    let root = traversable_tempdir();
    let envs = [
        ("DATABASE_URL", db.app_url()),
        ("FTRY_DATABASE_OWNER_URL", db.owner_url()),
        ("FTRY_SHUTDOWN_DRAIN_DELAY_MS", "0".into()),
    ];
    let mut ftry = FtryProcess::serve(&envs, root.path());
    ftry.wait_ready(Duration::from_secs(30)).await;
    ftry.signal(Signal::SIGTERM);
    assert_eq!(ftry.wait_exit(Duration::from_secs(30)).code(), Some(0));
    assert!(TcpStream::connect(ftry.addr).is_err(), "nothing listens any more");
}
