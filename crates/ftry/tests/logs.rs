//! The service's logs: JSON lines with the request's identity and route
//! template, levels by status, and never a credential.

mod support;

use std::time::Duration;

use nix::sys::signal::Signal;
use support::{traversable_tempdir, FtryProcess, TestDb};

const SECRETS: [&str; 5] = [
    "SECRET-BEARER-7431",
    "SECRET-COOKIE-9902",
    "SECRET-PASSWORD-5520-long",
    "SECRET-REFRESH-1188",
    "SECRET-DBPASS-3377",
];

#[tokio::test]
async fn every_line_is_json_with_request_fields_and_no_credentials() {
    let db = TestDb::create().await;
    let root = traversable_tempdir();
    let envs = [
        ("DATABASE_URL", db.app_url()),
        ("FTRY_DATABASE_OWNER_URL", db.owner_url()),
        ("FTRY_AUTH_ARGON2_MEMORY_KIB", "1024".into()),
        ("FTRY_AUTH_ARGON2_ITERATIONS", "1".into()),
    ];
    let mut ftry = FtryProcess::serve(&envs, root.path());
    ftry.wait_ready(Duration::from_secs(30)).await;
    let client = reqwest::Client::new();

    let signup = client
        .post(ftry.url("/api/v1/auth/signup"))
        .header("x-request-id", "log-test-signup")
        .json(&serde_json::json!({
            "business_name": "Log Salon",
            "location": {"name": "Main", "state_code": "27"},
            "owner": {"name": "Tara Joshi", "email": "tara@example.com", "password": SECRETS[2]},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(signup.status(), 201);
    let login_failure = client
        .post(ftry.url("/api/v1/auth/login"))
        .header("authorization", format!("Bearer {}", SECRETS[0]))
        .header(
            "cookie",
            format!("ftry_access={}; ftry_refresh={}", SECRETS[1], SECRETS[3]),
        )
        .json(&serde_json::json!({"email": "tara@example.com", "password": format!("{}-wrong", SECRETS[2])}))
        .send()
        .await
        .unwrap();
    assert_eq!(login_failure.status(), 401);
    let refresh = client
        .post(ftry.url("/api/v1/auth/refresh"))
        .json(&serde_json::json!({"refresh_token": SECRETS[3]}))
        .send()
        .await
        .unwrap();
    assert_eq!(refresh.status(), 401);
    let me = client
        .get(ftry.url("/api/v1/auth/me"))
        .header("authorization", format!("Bearer {}", SECRETS[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);
    let missing = client.get(ftry.url("/nothing/here/42")).send().await.unwrap();
    assert_eq!(missing.status(), 404);

    ftry.signal(Signal::SIGTERM);
    assert_eq!(ftry.wait_exit(Duration::from_secs(30)).code(), Some(0));
    let lines = ftry.stdout_lines();
    let records: Vec<serde_json::Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    for record in &records {
        for key in ["timestamp", "level", "target", "message"] {
            assert!(record.get(key).is_some(), "{key} missing: {record}");
        }
    }
    let completed = |route: &str| {
        records
            .iter()
            .find(|r| r["message"] == "request completed" && r["route"] == route)
            .unwrap_or_else(|| panic!("no request line for {route}"))
            .clone()
    };
    let line = completed("/api/v1/auth/signup");
    assert_eq!(line["request_id"], "log-test-signup");
    assert_eq!(line["method"], "POST");
    assert_eq!(line["status"], 201);
    assert_eq!(line["level"], "INFO");
    assert!(line["latency_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(completed("/api/v1/auth/login")["level"], "WARN");
    assert_eq!(completed("/api/v1/auth/login")["status"], 401);
    let unmatched = completed("unmatched");
    assert_eq!(unmatched["status"], 404, "the raw path is never the route");
    assert!(
        !lines.iter().any(|l| l.contains("/nothing/here/42")),
        "raw paths are not logged"
    );

    let everything = lines.join("\n") + &ftry.stderr.lock().unwrap().join("\n");
    for secret in SECRETS {
        assert!(!everything.contains(secret), "{secret} leaked into the logs");
    }
}

#[tokio::test]
async fn configuration_secrets_never_reach_the_logs() {
    // An unreachable database with a password in its URL: the error is logged, the password is not.
    let root = traversable_tempdir();
    let url = format!("postgres://ftry_app:{}@127.0.0.1:1/ftry", SECRETS[4]);
    let output = support::ftry_command()
        .arg("serve")
        .current_dir(root.path())
        .env("DATABASE_URL", &url)
        .env("FTRY_HTTP_ADDR", "127.0.0.1:0")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let everything =
        String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
    assert!(
        everything.contains("cannot connect as the owner role"),
        "{everything}"
    );
    assert!(!everything.contains(SECRETS[4]), "{everything}");
}
