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

/// A receptionist's morning through the real binary, logged at debug: every
/// line of an authenticated request names its business and user, and no
/// client's phone, email, name or notes, nor a password, appears anywhere.
#[tokio::test]
async fn personal_data_never_reaches_the_logs_and_request_lines_name_tenant_and_user() {
    const PHONE: &str = "+919876543210";
    const PHONE_DIGITS: &str = "9876543210";
    const EMAIL: &str = "meera.iyer.pii@example.com";
    const CLIENT_NAME: &str = "Meera Iyer-Piiname";
    const NOTES: &str = "allergic to ammonia PIINOTE";
    const PASSWORD: &str = "owner-password-PII-6620";

    let db = TestDb::create().await;
    let root = traversable_tempdir();
    let envs = [
        ("DATABASE_URL", db.app_url()),
        ("FTRY_DATABASE_OWNER_URL", db.owner_url()),
        ("FTRY_AUTH_ARGON2_MEMORY_KIB", "1024".into()),
        ("FTRY_AUTH_ARGON2_ITERATIONS", "1".into()),
        ("FTRY_LOG_LEVEL", "debug".into()),
    ];
    let mut ftry = FtryProcess::serve(&envs, root.path());
    ftry.wait_ready(Duration::from_secs(30)).await;
    let client = reqwest::Client::new();
    let signup: serde_json::Value = client
        .post(ftry.url("/api/v1/auth/signup"))
        .json(&serde_json::json!({
            "business_name": "Quiet Salon",
            "location": {"name": "Main", "state_code": "27"},
            "owner": {"name": "Asha Rao", "email": "asha@example.com", "password": PASSWORD},
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = signup["access_token"].as_str().unwrap().to_owned();
    let tenant = signup["tenant"]["id"].as_str().unwrap().to_owned();
    let user = signup["user_id"].as_str().unwrap().to_owned();
    // POST /api/v1/clients with `body` and the given request id: its status.
    let add_client = |request_id: &'static str, body: serde_json::Value| {
        let request = client
            .post(ftry.url("/api/v1/clients"))
            .bearer_auth(&token)
            .header("x-request-id", request_id)
            .json(&body);
        async move { request.send().await.unwrap().status() }
    };
    let created = serde_json::json!({"name": CLIENT_NAME, "phone": PHONE, "email": EMAIL, "notes": NOTES});
    assert_eq!(add_client("pii-create", created).await, 201);
    // The same phone again: a refusal that names the existing client.
    let duplicate = serde_json::json!({"name": CLIENT_NAME, "phone": PHONE});
    assert_eq!(add_client("pii-duplicate", duplicate).await, 409);
    for query in [
        format!("phone={}", PHONE.replace('+', "%2B")),
        format!("email={EMAIL}"),
        "q=Meera".to_owned(),
    ] {
        let found = client
            .get(ftry.url(&format!("/api/v1/clients?{query}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(found.status(), 200);
    }
    // Bad input carrying personal data: refused, and not echoed to the log.
    let invalid =
        serde_json::json!({"name": CLIENT_NAME, "phone": format!("{PHONE_DIGITS}x"), "email": EMAIL});
    assert_eq!(add_client("pii-invalid", invalid).await, 422);

    ftry.signal(Signal::SIGTERM);
    assert_eq!(ftry.wait_exit(Duration::from_secs(30)).code(), Some(0));
    let lines = ftry.stdout_lines();
    let create_line: serde_json::Value = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|r| r["message"] == "request completed" && r["request_id"] == "pii-create")
        .expect("the create request's line");
    assert_eq!(create_line["tenant_id"], tenant.as_str());
    assert_eq!(create_line["user_id"], user.as_str());
    assert_eq!(create_line["status"], 201);
    assert!(lines.len() > 20, "debug logging was on: {} lines", lines.len());
    let everything = lines.join("\n") + &ftry.stderr.lock().unwrap().join("\n");
    for pii in [
        PHONE,
        PHONE_DIGITS,
        EMAIL,
        CLIENT_NAME,
        "Meera",
        NOTES,
        "PIINOTE",
        PASSWORD,
    ] {
        assert!(!everything.contains(pii), "{pii} reached the logs");
    }
}
