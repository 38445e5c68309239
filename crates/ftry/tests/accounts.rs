//! Accounts and sessions: sign-up, login and lockout, per-account and per-IP
//! login limits, refresh-token rotation, logout, browser cookie sessions,
//! invitations, password resets, plan limits, platform suspension, the audit
//! log API, the OpenAPI document and the demo logins.

mod support;

use std::process::Output;
use std::time::Duration;

use ftry::config::Config;
use reqwest::{Method, Response};
use serde_json::{json, Value};
use support::{
    config_for, count, ftry_command, invalid_fields, problem, Business, FtryProcess, TestApp, TestDb,
};

/// The password `TestApp::signup` gives every owner.
const OWNER_PASSWORD: &str = "saffron-mirror-lantern-42";
/// The password `TestApp::add_member` gives every member.
const MEMBER_PASSWORD: &str = "copper-kettle-monsoon-77";

// ---------------------------------------------------------------- helpers

/// Rate limits high enough that only the behaviour under test decides answers.
fn roomy(config: &mut Config) {
    config.rate_limit.auth = "1000/1m".parse().unwrap();
    config.auth.login_attempts_per_account = "1000/1m".parse().unwrap();
}

/// The status must be `status`; the body as JSON (`Null` when empty).
async fn expect(response: Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "{text}");
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    }
}

fn signup_request(business: &str, email: &str, password: &str) -> Value {
    json!({
        "business_name": business,
        "location": {"name": "Main branch", "state_code": "27", "address": "FC Road, Pune"},
        "owner": {"name": "Asha Patil", "email": email, "password": password},
    })
}

async fn signup_raw(app: &TestApp, body: &Value) -> Response {
    app.post_json("/api/v1/auth/signup", body).await
}

async fn login_raw(app: &TestApp, email: &str, password: &str, tenant: Option<&str>) -> Response {
    let mut body = json!({"email": email, "password": password});
    if let Some(tenant) = tenant {
        body["tenant"] = json!(tenant);
    }
    app.post_json("/api/v1/auth/login", &body).await
}

async fn refresh_raw(app: &TestApp, refresh_token: &str) -> Response {
    app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": refresh_token}))
        .await
}

async fn get(app: &TestApp, path: &str, token: &str) -> Response {
    app.authed(Method::GET, path, token).send().await.unwrap()
}

async fn me(app: &TestApp, token: &str) -> Value {
    expect(get(app, "/api/v1/auth/me", token).await, 200).await
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_else(|| panic!("not a string: {value}"))
}

/// The `items` of an audit-log query (`query` without the leading `?`).
async fn audit_items(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let body = expect(
        get(app, &format!("/api/v1/audit-events?{query}"), token).await,
        200,
    )
    .await;
    body["items"].as_array().unwrap().clone()
}

/// A superuser statement with text arguments.
async fn execute(app: &TestApp, sql: &str, args: &[&str]) {
    let mut conn = app.db.as_ref().unwrap().admin().await;
    let mut query = sqlx::query(sql);
    for arg in args {
        query = query.bind(*arg);
    }
    query.execute(&mut conn).await.unwrap();
}

/// Rows of every account table, for "nothing was written" checks.
async fn account_rows(app: &TestApp) -> i64 {
    count(
        app,
        "SELECT (SELECT count(*) FROM tenants) + (SELECT count(*) FROM locations)
              + (SELECT count(*) FROM users) + (SELECT count(*) FROM roles)
              + (SELECT count(*) FROM user_roles) + (SELECT count(*) FROM sessions)
              + (SELECT count(*) FROM refresh_tokens) + (SELECT count(*) FROM audit_events)",
        &[],
    )
    .await
}

/// The data-protection keys of `support::config_for`, as environment: an
/// external database needs them configured.
const DATA_PROTECTION_ENV: [(&str, &str); 2] = [
    (
        "FTRY_DATA_PROTECTION_KEYS",
        r#"[{id="test-1",secret="ERERERERERERERERERERERERERERERERERERERERERE="}]"#,
    ),
    (
        "FTRY_DATA_PROTECTION_INDEX_KEY",
        "IiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiI=",
    ),
];

/// Run the built binary against the app's database.
fn run_ftry(db: &TestDb, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut command = ftry_command();
    command
        .args(args)
        .current_dir(dir.path())
        .env("DATABASE_URL", db.app_url())
        .env("FTRY_DATABASE_OWNER_URL", db.owner_url());
    for (k, v) in DATA_PROTECTION_ENV.iter().chain(envs) {
        command.env(k, v);
    }
    command.output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `Set-Cookie` lines of a response.
fn set_cookies(response: &Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The `Set-Cookie` line of the named cookie.
fn cookie_line<'a>(lines: &'a [String], name: &str) -> &'a str {
    lines
        .iter()
        .find(|l| l.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie in {lines:?}"))
}

/// The value of the named cookie.
fn cookie_value<'a>(lines: &'a [String], name: &str) -> &'a str {
    let line = cookie_line(lines, name);
    line[name.len() + 1..].split(';').next().unwrap()
}

/// The attributes of a `Set-Cookie` line, trimmed.
fn attributes(line: &str) -> Vec<&str> {
    line.split(';').skip(1).map(str::trim).collect()
}

/// A cookie's value and its attributes.
fn cookie_attributes_and_value<'a>(lines: &'a [String], name: &str) -> (&'a str, Vec<&'a str>) {
    (cookie_value(lines, name), attributes(cookie_line(lines, name)))
}

// ---------------------------------------------------------------- sign-up

#[tokio::test]
async fn signup_derives_the_slug_from_the_name_and_numbers_a_taken_one() {
    let app = TestApp::fresh().await;
    let first = app.signup("Lotus Salon & Spa").await;
    let second = app.signup("Lotus Salon & Spa").await;
    assert_eq!(first.slug, "lotus-salon-spa");
    assert_eq!(second.slug, "lotus-salon-spa-2");
    assert_ne!(first.tenant_id, second.tenant_id);

    let chosen = signup_raw(
        &app,
        &json!({
            "business_name": "Lotus Salon & Spa",
            "slug": "lotus-salon-spa",
            "location": {"name": "Main branch", "state_code": "27"},
            "owner": {"name": "Asha Patil", "email": "asha@example.com", "password": OWNER_PASSWORD},
        }),
    )
    .await;
    problem(chosen, 409, "slug_taken").await;
    app.stop().await;
}

#[tokio::test]
async fn signup_creates_the_first_branch_the_owner_the_five_roles_and_one_audit_event() {
    let app = TestApp::fresh().await;
    let response = signup_raw(
        &app,
        &json!({
            "business_name": "Lotus Salon & Spa",
            "location": {"name": "Koregaon Park", "state_code": "27", "gstin": "27aaacr5055k1z7",
                         "address": "Lane 6, Koregaon Park, Pune"},
            "owner": {"name": "Asha Patil", "email": "  Asha.Patil@Example.IN ", "phone": "098765-43210",
                      "password": OWNER_PASSWORD},
        }),
    )
    .await;
    let body = expect(response, 201).await;
    assert_eq!(body["tenant"]["slug"], "lotus-salon-spa");
    assert_eq!(body["tenant"]["name"], "Lotus Salon & Spa");
    assert_eq!(body["tenant"]["status"], "active");
    let location = &body["location"];
    assert_eq!(location["name"], "Koregaon Park");
    assert_eq!(location["state_code"], "27");
    assert_eq!(location["gstin"], "27AAACR5055K1Z7");
    assert_eq!(location["timezone"], "Asia/Kolkata");
    assert_eq!(location["currency"], "INR");
    assert_eq!(body["token_type"], "Bearer");
    let token = text(&body["access_token"]);
    let tenant_id = text(&body["tenant"]["id"]);
    let user_id = text(&body["user_id"]);

    let me = me(&app, token).await;
    assert_eq!(me["user"]["id"], user_id);
    assert_eq!(me["user"]["email"], "asha.patil@example.in");
    assert_eq!(me["user"]["phone"], "+919876543210");
    assert_eq!(me["user"]["status"], "active");
    assert_eq!(me["user"]["roles"], json!(["owner"]));
    assert_eq!(me["tenant"]["id"], tenant_id);

    let roles = expect(get(&app, "/api/v1/roles", token).await, 200).await;
    let mut names: Vec<&str> = roles["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| text(&r["name"]))
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["admin", "manager", "owner", "receptionist", "stylist"]);
    assert!(roles["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["builtin"] == true));

    let locations = expect(get(&app, "/api/v1/locations", token).await, 200).await;
    assert_eq!(locations["items"].as_array().unwrap().len(), 1);

    let mut admin = app.db.as_ref().unwrap().admin().await;
    let events: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT action, actor_id::text, resource_id FROM audit_events WHERE tenant_id = $1::uuid",
    )
    .bind(tenant_id)
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert_eq!(
        events,
        vec![(
            "tenant.signup".to_owned(),
            user_id.to_owned(),
            Some(tenant_id.to_owned())
        )]
    );
    app.stop().await;
}

#[tokio::test]
async fn signup_checks_the_gstin_by_check_character_and_state_and_the_timezone() {
    let app = TestApp::fresh().await;
    let with_location = |email: &str, location: Value| {
        let mut body = signup_request("Lotus Salon & Spa", email, OWNER_PASSWORD);
        body["location"] = location;
        body
    };

    let typo = with_location(
        "a@example.com",
        json!({"name": "Main", "state_code": "27", "gstin": "27AAACR5055K1Z8"}),
    );
    let body = problem(signup_raw(&app, &typo).await, 422, "validation_failed").await;
    assert_eq!(
        body["errors"],
        json!([{"field": "location.gstin", "message": "the check character does not match; the GSTIN has a typo"}])
    );

    let other_state = with_location(
        "b@example.com",
        json!({"name": "Main", "state_code": "27", "gstin": "33AAACH7409R1Z8"}),
    );
    let body = problem(signup_raw(&app, &other_state).await, 422, "validation_failed").await;
    assert_eq!(
        body["errors"],
        json!([{"field": "location.gstin", "message": "is registered in state 33, not 27"}])
    );

    let bad_zone = with_location(
        "c@example.com",
        json!({"name": "Main", "state_code": "27", "timezone": "Mars/Olympus_Mons"}),
    );
    assert_eq!(
        invalid_fields(signup_raw(&app, &bad_zone).await).await,
        ["location.timezone"]
    );

    let bad_state = with_location("d@example.com", json!({"name": "Main", "state_code": "25"}));
    assert_eq!(
        invalid_fields(signup_raw(&app, &bad_state).await).await,
        ["location.state_code"]
    );

    let chennai = with_location(
        "e@example.com",
        json!({"name": "T. Nagar", "state_code": "33", "gstin": "33AAACH7409R1Z8", "timezone": "Asia/Dubai"}),
    );
    let body = expect(signup_raw(&app, &chennai).await, 201).await;
    assert_eq!(body["location"]["state_code"], "33");
    assert_eq!(body["location"]["gstin"], "33AAACH7409R1Z8");
    assert_eq!(body["location"]["timezone"], "Asia/Dubai");
    assert_eq!(count(&app, "SELECT count(*) FROM tenants", &[]).await, 1);
    app.stop().await;
}

#[tokio::test]
async fn signup_refuses_weak_owner_passwords() {
    let app = TestApp::fresh().await;
    let too_long: String = "plum-".repeat(26).chars().take(129).collect();
    let weak = [
        ("kettle-moon", "use at least 12 characters"),
        (too_long.as_str(), "use at most 128 characters"),
        (
            "password1234",
            "this password is too common; choose a phrase of a few unrelated words",
        ),
        (
            "LotusSalonSpa!1",
            "do not build the password from your name, email or business name",
        ),
    ];
    for (password, message) in weak {
        let request = signup_request("Lotus Salon & Spa", "asha@example.com", password);
        let body = problem(signup_raw(&app, &request).await, 422, "validation_failed").await;
        assert_eq!(
            body["errors"],
            json!([{"field": "owner.password", "message": message}]),
            "{password}"
        );
    }
    assert_eq!(account_rows(&app).await, 0);

    // The bounds themselves are allowed: 12 and 128 characters.
    let longest: String = "plum-".repeat(26).chars().take(128).collect();
    for (n, password) in ["kettle-moon7", longest.as_str()].into_iter().enumerate() {
        let request = signup_request("Lotus Salon & Spa", &format!("owner{n}@example.com"), password);
        expect(signup_raw(&app, &request).await, 201).await;
    }
    app.stop().await;
}

#[tokio::test]
async fn a_signup_that_fails_leaves_no_rows() {
    let app = TestApp::fresh().await;
    let mut invalid = signup_request("Lotus Salon & Spa", "asha@example.com", OWNER_PASSWORD);
    invalid["location"]["gstin"] = json!("27AAACR5055K1Z8");
    problem(signup_raw(&app, &invalid).await, 422, "validation_failed").await;
    assert_eq!(account_rows(&app).await, 0);

    // A failure at the very last write (the owner's session) undoes the
    // business, branch, owner, roles and audit event written before it.
    execute(
        &app,
        "ALTER TABLE sessions ADD CONSTRAINT test_no_sessions CHECK (false) NOT VALID",
        &[],
    )
    .await;
    let valid = signup_request("Lotus Salon & Spa", "asha@example.com", OWNER_PASSWORD);
    problem(signup_raw(&app, &valid).await, 500, "internal_error").await;
    assert_eq!(account_rows(&app).await, 0);

    execute(&app, "ALTER TABLE sessions DROP CONSTRAINT test_no_sessions", &[]).await;
    expect(signup_raw(&app, &valid).await, 201).await;
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM tenants WHERE slug = 'lotus-salon-spa'",
            &[]
        )
        .await,
        1
    );
    app.stop().await;
}

// ---------------------------------------------------------------- login

#[tokio::test]
async fn login_returns_tokens_and_answers_wrong_password_and_unknown_email_alike() {
    let app = TestApp::fresh().await;
    let business = app.signup("Lotus Salon & Spa").await;

    let body = expect(
        login_raw(&app, &business.owner_email.to_uppercase(), OWNER_PASSWORD, None).await,
        200,
    )
    .await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(!text(&body["refresh_token"]).is_empty());
    assert_eq!(
        me(&app, text(&body["access_token"])).await["user"]["id"],
        business.owner_id.as_str()
    );

    let wrong = login_raw(&app, &business.owner_email, "not-the-password-1", None).await;
    let unknown = login_raw(&app, "nobody@example.com", OWNER_PASSWORD, None).await;
    let header = |r: &Response| r.headers().get("www-authenticate").cloned();
    assert_eq!(header(&wrong), header(&unknown));
    let mut wrong = problem(wrong, 401, "invalid_credentials").await;
    let mut unknown = problem(unknown, 401, "invalid_credentials").await;
    assert_ne!(wrong["request_id"], unknown["request_id"]);
    wrong.as_object_mut().unwrap().remove("request_id");
    unknown.as_object_mut().unwrap().remove("request_id");
    assert_eq!(wrong, unknown);
    app.stop().await;
}

#[tokio::test]
async fn an_email_in_two_businesses_needs_the_tenant_only_when_the_password_is_right() {
    let app = TestApp::fresh().await;
    let email = "asha@example.com";
    for name in ["Lotus Salon", "Jasmine Spa"] {
        expect(
            signup_raw(&app, &signup_request(name, email, OWNER_PASSWORD)).await,
            201,
        )
        .await;
    }

    problem(
        login_raw(&app, email, OWNER_PASSWORD, None).await,
        409,
        "tenant_required",
    )
    .await;
    problem(
        login_raw(&app, email, "not-the-password-1", None).await,
        401,
        "invalid_credentials",
    )
    .await;
    problem(
        login_raw(&app, email, "not-the-password-1", Some("jasmine-spa")).await,
        401,
        "invalid_credentials",
    )
    .await;
    for slug in ["jasmine-spa", "lotus-salon"] {
        let tokens = expect(login_raw(&app, email, OWNER_PASSWORD, Some(slug)).await, 200).await;
        assert_eq!(
            me(&app, text(&tokens["access_token"])).await["tenant"]["slug"],
            slug
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn logging_in_to_one_business_counts_no_failure_against_another_with_the_same_email() {
    let app = TestApp::fresh_with(|config| config.auth.max_failed_logins = 3).await;
    let email = "asha@example.com";
    let lotus_password = "lotus-pond-morning-11";
    // "jasmine-spa" sorts before "lotus-salon": it is looked at first.
    for (name, password) in [("Jasmine Spa", OWNER_PASSWORD), ("Lotus Salon", lotus_password)] {
        expect(
            signup_raw(&app, &signup_request(name, email, password)).await,
            201,
        )
        .await;
    }
    for _ in 0..4 {
        let tokens = expect(login_raw(&app, email, lotus_password, None).await, 200).await;
        assert_eq!(
            me(&app, text(&tokens["access_token"])).await["tenant"]["slug"],
            "lotus-salon"
        );
    }
    let jasmine = expect(login_raw(&app, email, OWNER_PASSWORD, None).await, 200).await;
    assert_eq!(
        me(&app, text(&jasmine["access_token"])).await["tenant"]["slug"],
        "jasmine-spa"
    );

    // A password that fits neither account is a failure for both.
    for _ in 0..3 {
        problem(
            login_raw(&app, email, "not-the-password-1", None).await,
            401,
            "invalid_credentials",
        )
        .await;
    }
    for slug in ["jasmine-spa", "lotus-salon"] {
        problem(
            login_raw(&app, email, lotus_password, Some(slug)).await,
            423,
            "account_locked",
        )
        .await;
    }
    app.stop().await;
}

#[tokio::test]
async fn the_configured_number_of_failed_logins_locks_the_account_until_the_lock_expires() {
    let app = TestApp::fresh_with(|config| {
        config.auth.max_failed_logins = 3;
        config.auth.lockout_secs = 2;
    })
    .await;
    let business = app.signup("Lotus Salon & Spa").await;
    let email = &business.owner_email;
    for _ in 0..3 {
        problem(
            login_raw(&app, email, "not-the-password-1", None).await,
            401,
            "invalid_credentials",
        )
        .await;
    }
    let locked = problem(
        login_raw(&app, email, OWNER_PASSWORD, None).await,
        423,
        "account_locked",
    )
    .await;
    assert!(text(&locked["detail"]).contains("locked until"), "{locked}");

    // The signup session is still valid: a lock stops logins, not sessions.
    let token = &business.access_token;
    let failed = audit_items(&app, token, "action=auth.login_failed").await;
    assert_eq!(failed.len(), 3);
    assert!(failed
        .iter()
        .all(|e| e["outcome"] == "failure" && e["actor_id"] == business.owner_id.as_str()));
    let locks = audit_items(&app, token, "action=auth.account_locked").await;
    assert_eq!(locks.len(), 1);
    assert_eq!(locks[0]["resource_id"], business.owner_id.as_str());
    assert_eq!(
        audit_items(&app, token, "action=auth.account_unlocked")
            .await
            .len(),
        0
    );

    tokio::time::sleep(Duration::from_millis(2500)).await;
    expect(login_raw(&app, email, OWNER_PASSWORD, None).await, 200).await;
    let unlocked = audit_items(&app, token, "action=auth.account_unlocked").await;
    assert_eq!(unlocked.len(), 1);
    assert_eq!(unlocked[0]["actor_type"], "system");
    assert_eq!(unlocked[0]["resource_id"], business.owner_id.as_str());
    app.stop().await;
}

#[tokio::test]
async fn an_owner_can_unlock_a_locked_account_early() {
    let app = TestApp::fresh_with(|config| config.auth.max_failed_logins = 3).await;
    let business = app.signup("Lotus Salon & Spa").await;
    let (member_id, member_token, member_email) = app
        .add_member(&business.access_token, &business.tenant_id, &["receptionist"])
        .await;
    for _ in 0..3 {
        problem(
            login_raw(&app, &member_email, "not-the-password-1", None).await,
            401,
            "invalid_credentials",
        )
        .await;
    }
    problem(
        login_raw(&app, &member_email, MEMBER_PASSWORD, None).await,
        423,
        "account_locked",
    )
    .await;

    let unlock_path = format!("/api/v1/users/{member_id}/unlock");
    problem(
        app.authed(Method::POST, &unlock_path, &member_token)
            .send()
            .await
            .unwrap(),
        403,
        "permission_denied",
    )
    .await;
    let unlocked = expect(
        app.authed(Method::POST, &unlock_path, &business.access_token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(unlocked["id"], member_id.as_str());
    assert_eq!(unlocked["locked_until"], Value::Null);

    expect(login_raw(&app, &member_email, MEMBER_PASSWORD, None).await, 200).await;
    let events = audit_items(&app, &business.access_token, "action=auth.account_unlocked").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["actor_id"], business.owner_id.as_str());
    assert_eq!(events[0]["resource_id"], member_id.as_str());
    app.stop().await;
}

#[tokio::test]
async fn by_default_the_fifth_failed_login_locks_not_the_third() {
    let app = TestApp::fresh_with(roomy).await;
    let business = app.signup("Lotus Salon & Spa").await;
    let email = &business.owner_email;
    let fail = || login_raw(&app, email, "not-the-password-1", None);

    for _ in 0..4 {
        problem(fail().await, 401, "invalid_credentials").await;
    }
    expect(login_raw(&app, email, OWNER_PASSWORD, None).await, 200).await;

    // The successful login started the count again.
    for _ in 0..5 {
        problem(fail().await, 401, "invalid_credentials").await;
    }
    problem(
        login_raw(&app, email, OWNER_PASSWORD, None).await,
        423,
        "account_locked",
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn the_server_uses_the_lockout_threshold_set_in_its_environment() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    let (app_url, owner_url) = (db.app_url(), db.owner_url());
    let envs = [
        ("FTRY_DATABASE_URL", app_url.as_str()),
        ("FTRY_DATABASE_OWNER_URL", owner_url.as_str()),
        ("FTRY_AUTH_MAX_FAILED_LOGINS", "2"),
        ("FTRY_AUTH_ARGON2_MEMORY_KIB", "1024"),
        ("FTRY_AUTH_ARGON2_ITERATIONS", "1"),
        DATA_PROTECTION_ENV[0],
        DATA_PROTECTION_ENV[1],
    ]
    .map(|(k, v)| (k, v.to_owned()));
    let mut server = FtryProcess::serve(&envs, dir.path());
    server.wait_ready(Duration::from_secs(30)).await;
    let client = reqwest::Client::new();
    let post = |path: &str, body: Value| client.post(server.url(path)).json(&body).send();
    let email = "asha@example.com";
    let signup = post(
        "/api/v1/auth/signup",
        signup_request("Lotus Salon & Spa", email, OWNER_PASSWORD),
    );
    expect(signup.await.unwrap(), 201).await;
    let login = |password: &str| {
        post(
            "/api/v1/auth/login",
            json!({"email": email, "password": password}),
        )
    };
    for _ in 0..2 {
        problem(
            login("not-the-password-1").await.unwrap(),
            401,
            "invalid_credentials",
        )
        .await;
    }
    problem(login(OWNER_PASSWORD).await.unwrap(), 423, "account_locked").await;
}

#[tokio::test]
async fn login_attempts_per_account_are_limited_whatever_the_password() {
    let app = TestApp::fresh_with(|config| {
        config.auth.login_attempts_per_account = "3/1m".parse().unwrap();
    })
    .await;
    let first = app.signup("Lotus Salon & Spa").await;
    let second = app.signup("Jasmine Spa").await;
    for password in ["not-the-password-1", "not-the-password-2", OWNER_PASSWORD] {
        let response = login_raw(&app, &first.owner_email, password, None).await;
        assert_ne!(response.status(), 429);
    }

    let refused = login_raw(&app, &first.owner_email, OWNER_PASSWORD, None).await;
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&retry_after), "{retry_after}");
    problem(refused, 429, "rate_limited").await;
    // The budget is the account's, however its address is written.
    problem(
        login_raw(&app, &first.owner_email.to_uppercase(), OWNER_PASSWORD, None).await,
        429,
        "rate_limited",
    )
    .await;

    expect(
        login_raw(&app, &second.owner_email, OWNER_PASSWORD, None).await,
        200,
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn auth_requests_per_ip_are_limited() {
    let app = TestApp::fresh_with(|config| config.rate_limit.auth = "5/1m".parse().unwrap()).await;
    for n in 0..5 {
        let email = format!("nobody{n}@example.com");
        problem(
            login_raw(&app, &email, OWNER_PASSWORD, None).await,
            401,
            "invalid_credentials",
        )
        .await;
    }
    let refused = login_raw(&app, "someone@example.com", OWNER_PASSWORD, None).await;
    assert!(refused.headers().contains_key("retry-after"));
    problem(refused, 429, "rate_limited").await;
    // Other classes of route keep their own budget.
    assert_eq!(app.get("/api/openapi.json").await.status(), 200);
    app.stop().await;
}

// ---------------------------------------------------------------- sessions

#[tokio::test]
async fn refresh_rotates_tokens_and_a_reused_token_ends_the_session() {
    let app = TestApp::fresh().await;
    let business = app.signup("Lotus Salon & Spa").await;

    let first = expect(refresh_raw(&app, &business.refresh_token).await, 200).await;
    assert_ne!(first["refresh_token"], business.refresh_token.as_str());
    assert_eq!(first["expires_in"], 900);
    assert_eq!(
        me(&app, text(&first["access_token"])).await["session_id"],
        first["session_id"]
    );
    let second = expect(refresh_raw(&app, text(&first["refresh_token"])).await, 200).await;
    assert_eq!(second["session_id"], first["session_id"]);
    me(&app, text(&second["access_token"])).await;

    // The rotated token shows up again: a stolen copy. The session ends.
    problem(
        refresh_raw(&app, text(&first["refresh_token"])).await,
        401,
        "refresh_token_reused",
    )
    .await;
    problem(
        get(&app, "/api/v1/auth/me", text(&second["access_token"])).await,
        401,
        "session_revoked",
    )
    .await;
    problem(
        refresh_raw(&app, text(&second["refresh_token"])).await,
        401,
        "session_revoked",
    )
    .await;
    problem(
        refresh_raw(&app, "not-a-token").await,
        401,
        "invalid_refresh_token",
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn logout_ends_the_session_for_its_access_and_refresh_tokens() {
    let app = TestApp::fresh().await;
    let business = app.signup("Lotus Salon & Spa").await;
    let tokens = app.login(&business.owner_email, OWNER_PASSWORD).await;
    let access = text(&tokens["access_token"]);

    let response = app
        .authed(Method::POST, "/api/v1/auth/logout", access)
        .send()
        .await
        .unwrap();
    expect(response, 204).await;
    problem(get(&app, "/api/v1/auth/me", access).await, 401, "session_revoked").await;
    problem(
        refresh_raw(&app, text(&tokens["refresh_token"])).await,
        401,
        "session_revoked",
    )
    .await;
    // The sign-up session is another session and carries on.
    me(&app, &business.access_token).await;
    app.stop().await;
}

#[tokio::test]
async fn logout_all_ends_every_session_of_the_user_and_no_one_elses() {
    let app = TestApp::fresh().await;
    let business = app.signup("Lotus Salon & Spa").await;
    let other = app.signup("Jasmine Spa").await;
    let (_, member_token, _) = app
        .add_member(&business.access_token, &business.tenant_id, &["stylist"])
        .await;
    let phone = app.login(&business.owner_email, OWNER_PASSWORD).await;
    let laptop = app.login(&business.owner_email, OWNER_PASSWORD).await;

    let ended = expect(
        app.authed(
            Method::POST,
            "/api/v1/auth/logout-all",
            text(&phone["access_token"]),
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(ended, json!({"sessions_ended": 3}));
    for token in [
        text(&phone["access_token"]),
        text(&laptop["access_token"]),
        business.access_token.as_str(),
    ] {
        problem(get(&app, "/api/v1/auth/me", token).await, 401, "session_revoked").await;
    }
    me(&app, &member_token).await;
    me(&app, &other.access_token).await;
    app.stop().await;
}

#[tokio::test]
async fn my_sessions_are_listed_with_their_device_and_one_can_be_ended() {
    let app = TestApp::fresh_with(roomy).await;
    let business = app.signup("Lotus Salon & Spa").await;
    let other = app.signup("Jasmine Spa").await;
    let (_, member_token, _) = app
        .add_member(&business.access_token, &business.tenant_id, &["stylist"])
        .await;
    let login_from = |agent: &'static str| {
        app.client
            .post(app.url("/api/v1/auth/login"))
            .header("user-agent", agent)
            .json(&json!({"email": business.owner_email, "password": OWNER_PASSWORD}))
            .send()
    };
    let phone = expect(login_from("ftry-test-phone/1.0").await.unwrap(), 200).await;
    let laptop = expect(login_from("ftry-test-laptop/2.0").await.unwrap(), 200).await;
    let phone_token = text(&phone["access_token"]);

    let list = expect(get(&app, "/api/v1/auth/sessions", phone_token).await, 200).await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "sign-up, phone and laptop: {list}");
    let find = |id: &Value| {
        items
            .iter()
            .find(|s| s["id"] == *id)
            .unwrap_or_else(|| panic!("session {id} not listed"))
    };
    let listed_phone = find(&phone["session_id"]);
    assert_eq!(listed_phone["current"], true);
    assert_eq!(listed_phone["ip"], "127.0.0.1");
    assert_eq!(listed_phone["user_agent"], "ftry-test-phone/1.0");
    assert!(listed_phone["last_used_at"].is_string(), "{listed_phone}");
    let listed_laptop = find(&laptop["session_id"]);
    assert_eq!(listed_laptop["current"], false);
    assert_eq!(listed_laptop["user_agent"], "ftry-test-laptop/2.0");
    assert_eq!(items.iter().filter(|s| s["current"] == true).count(), 1);

    let end = |id: &str| {
        app.authed(
            Method::DELETE,
            &format!("/api/v1/auth/sessions/{id}"),
            phone_token,
        )
        .send()
    };
    expect(end(text(&laptop["session_id"])).await.unwrap(), 204).await;
    problem(
        get(&app, "/api/v1/auth/me", text(&laptop["access_token"])).await,
        401,
        "session_revoked",
    )
    .await;
    let list = expect(get(&app, "/api/v1/auth/sessions", phone_token).await, 200).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);

    // Someone else's session, in this business or another, is not mine to end.
    let member_session = me(&app, &member_token).await["session_id"].clone();
    let other_session = me(&app, &other.access_token).await["session_id"].clone();
    for id in [&member_session, &other_session] {
        problem(end(text(id)).await.unwrap(), 404, "not_found").await;
    }
    me(&app, &member_token).await;
    me(&app, &other.access_token).await;
    app.stop().await;
}

#[tokio::test]
async fn cookie_mode_sets_secure_cookies_and_unsafe_requests_need_the_csrf_token() {
    let app = TestApp::fresh().await;
    let business = app.signup("Lotus Salon & Spa").await;
    let response = app
        .post_json(
            "/api/v1/auth/login?mode=cookie",
            &json!({"email": business.owner_email, "password": OWNER_PASSWORD}),
        )
        .await;
    let cookies = set_cookies(&response);
    let body = expect(response, 200).await;
    assert!(body.get("access_token").is_none(), "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
    let csrf = text(&body["csrf_token"]).to_owned();
    assert!(!csrf.is_empty());

    let access = cookie_attributes_and_value(&cookies, "ftry_access");
    assert_eq!(
        access.1,
        ["Path=/", "Max-Age=900", "HttpOnly", "Secure", "SameSite=Lax"]
    );
    let refresh = cookie_attributes_and_value(&cookies, "ftry_refresh");
    assert!(refresh.1.contains(&"Path=/api/v1/auth"), "{:?}", refresh.1);
    assert!(refresh.1.contains(&"HttpOnly"));
    assert!(refresh.1.contains(&"Secure"));
    assert!(refresh.1.contains(&"SameSite=Strict"));
    let csrf_cookie = cookie_attributes_and_value(&cookies, "ftry_csrf");
    assert_eq!(csrf_cookie.0, csrf);
    assert!(!csrf_cookie.1.contains(&"HttpOnly"), "scripts must read it");
    assert!(csrf_cookie.1.contains(&"Secure"));

    let with_cookies = |method: Method, path: &str, header: &str| {
        app.client
            .request(method, app.url(path))
            .header("cookie", header.to_owned())
    };
    let access_cookie = format!("ftry_access={}", access.0);
    let me = expect(
        with_cookies(Method::GET, "/api/v1/auth/me", &access_cookie)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(me["user"]["id"], business.owner_id.as_str());

    let refresh_cookies = format!("ftry_refresh={}; ftry_csrf={csrf}", refresh.0);
    problem(
        with_cookies(Method::POST, "/api/v1/auth/refresh", &refresh_cookies)
            .send()
            .await
            .unwrap(),
        403,
        "csrf_failed",
    )
    .await;
    let rotated = with_cookies(Method::POST, "/api/v1/auth/refresh", &refresh_cookies)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    let new_cookies = set_cookies(&rotated);
    let body = expect(rotated, 200).await;
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert_eq!(cookie_value(&new_cookies, "ftry_csrf"), text(&body["csrf_token"]));
    let new_refresh = cookie_value(&new_cookies, "ftry_refresh");
    assert_ne!(new_refresh, refresh.0);

    // A cookie-authenticated unsafe request without the CSRF header is refused.
    let new_access = format!("ftry_access={}", cookie_value(&new_cookies, "ftry_access"));
    let new_csrf = cookie_value(&new_cookies, "ftry_csrf");
    let logout_cookies = format!("{new_access}; ftry_csrf={new_csrf}");
    problem(
        with_cookies(Method::POST, "/api/v1/auth/logout", &logout_cookies)
            .send()
            .await
            .unwrap(),
        403,
        "csrf_failed",
    )
    .await;
    let logged_out = with_cookies(Method::POST, "/api/v1/auth/logout", &logout_cookies)
        .header("x-csrf-token", new_csrf)
        .send()
        .await
        .unwrap();
    let cleared = set_cookies(&logged_out);
    expect(logged_out, 204).await;
    for name in ["ftry_access", "ftry_refresh", "ftry_csrf"] {
        assert_eq!(cookie_value(&cleared, name), "");
        assert!(cookie_line(&cleared, name).contains("Max-Age=0"));
    }
    app.stop().await;
}

// ---------------------------------------------------------------- invitations

async fn invite(app: &TestApp, token: &str, email: &str, roles: &[&str]) -> Response {
    app.authed(Method::POST, "/api/v1/users/invitations", token)
        .json(&json!({"email": email, "name": "Neha Joshi", "roles": roles}))
        .send()
        .await
        .unwrap()
}

async fn accept(app: &TestApp, token: &str, password: &str) -> Response {
    app.post_json(
        "/api/v1/auth/invitations/accept",
        &json!({"token": token, "password": password}),
    )
    .await
}

#[tokio::test]
async fn an_invitation_link_sets_the_password_once() {
    let app = TestApp::fresh().await;
    let business = app.signup("Lotus Salon & Spa").await;
    let owner = &business.access_token;
    let invited = expect(
        invite(&app, owner, "Neha.Joshi@Example.com", &["stylist"]).await,
        201,
    )
    .await;
    assert_eq!(invited["status"], "invited");
    assert_eq!(invited["email"], "neha.joshi@example.com");
    assert_eq!(invited["roles"], json!(["stylist"]));
    let user_id = text(&invited["id"]).to_owned();

    let mut admin = app.db.as_ref().unwrap().admin().await;
    let (subject, body): (String, String) = sqlx::query_as(
        "SELECT subject, body FROM outbox_messages WHERE tenant_id = $1::uuid AND recipient = $2",
    )
    .bind(&business.tenant_id)
    .bind("neha.joshi@example.com")
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert_eq!(subject, "You're invited to Lotus Salon & Spa on ftry");
    assert!(
        body.contains("http://127.0.0.1:8080/invite/accept?token="),
        "{body}"
    );
    let outbox = run_ftry(
        app.db.as_ref().unwrap(),
        &["outbox", "--tenant", &business.slug],
        &[],
    );
    assert_eq!(outbox.status.code(), Some(0), "{}", stderr(&outbox));
    let printed = stdout(&outbox);
    assert!(printed.contains(" to neha.joshi@example.com\n"), "{printed}");
    assert!(printed.contains("Subject: You're invited to Lotus Salon & Spa on ftry"));

    let link = app
        .outbox_token(&business.tenant_id, "neha.joshi@example.com", "token=")
        .await;
    let weak = accept(&app, &link, "password1234").await;
    assert_eq!(invalid_fields(weak).await, ["password"]);
    let tokens = expect(accept(&app, &link, MEMBER_PASSWORD).await, 200).await;
    let me = me(&app, text(&tokens["access_token"])).await;
    assert_eq!(me["user"]["id"], user_id.as_str());
    assert_eq!(me["user"]["status"], "active");
    let seen_by_owner = expect(get(&app, &format!("/api/v1/users/{user_id}"), owner).await, 200).await;
    assert_eq!(seen_by_owner["status"], "active");

    problem(
        accept(&app, &link, "another-fine-phrase-88").await,
        409,
        "invalid_link",
    )
    .await;
    expect(
        login_raw(&app, "neha.joshi@example.com", MEMBER_PASSWORD, None).await,
        200,
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn expired_invitations_and_emails_already_in_the_business_are_refused() {
    let app = TestApp::fresh().await;
    let business = app.signup("Lotus Salon & Spa").await;
    let owner = &business.access_token;
    let invited = expect(invite(&app, owner, "late@example.com", &["stylist"]).await, 201).await;
    execute(
        &app,
        "UPDATE user_tokens SET expires_at = now() - interval '1 minute' WHERE user_id = $1::uuid",
        &[text(&invited["id"])],
    )
    .await;
    let link = app
        .outbox_token(&business.tenant_id, "late@example.com", "token=")
        .await;
    problem(accept(&app, &link, MEMBER_PASSWORD).await, 409, "invalid_link").await;

    for taken in [business.owner_email.to_uppercase(), "late@example.com".into()] {
        problem(
            invite(&app, owner, &taken, &["stylist"]).await,
            409,
            "email_taken",
        )
        .await;
    }
    app.stop().await;
}

#[tokio::test]
async fn plan_limits_cap_accounts_and_branches() {
    let app = TestApp::fresh().await;
    let business = app.signup("Lotus Salon & Spa").await;
    let owner = &business.access_token;
    expect(invite(&app, owner, "first@example.com", &["stylist"]).await, 201).await;
    // Owner and one invitation: two accounts.
    execute(
        &app,
        "UPDATE tenants SET max_users = 2 WHERE id = $1::uuid",
        &[&business.tenant_id],
    )
    .await;
    problem(
        invite(&app, owner, "second@example.com", &["stylist"]).await,
        409,
        "plan_limit_reached",
    )
    .await;
    execute(
        &app,
        "UPDATE tenants SET max_users = 3 WHERE id = $1::uuid",
        &[&business.tenant_id],
    )
    .await;
    expect(invite(&app, owner, "second@example.com", &["stylist"]).await, 201).await;

    let add_branch = |name: &'static str| {
        app.authed(Method::POST, "/api/v1/locations", owner)
            .json(&json!({"name": name, "state_code": "29", "address": "Indiranagar, Bengaluru"}))
            .send()
    };
    let branch = expect(add_branch("Indiranagar").await.unwrap(), 201).await;
    assert_eq!(branch["state_code"], "29");
    assert_eq!(branch["timezone"], "Asia/Kolkata");
    execute(
        &app,
        "UPDATE tenants SET max_locations = 2 WHERE id = $1::uuid",
        &[&business.tenant_id],
    )
    .await;
    problem(add_branch("Jayanagar").await.unwrap(), 409, "plan_limit_reached").await;
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM locations WHERE tenant_id = $1::uuid",
            &[&business.tenant_id]
        )
        .await,
        2
    );
    app.stop().await;
}

// ---------------------------------------------------------------- password reset

async fn request_reset(app: &TestApp, email: &str) -> Response {
    app.post_json("/api/v1/auth/password-reset", &json!({"email": email}))
        .await
}

#[tokio::test]
async fn password_reset_answers_alike_for_everyone_and_ends_every_session() {
    let app = TestApp::fresh().await;
    let business = app.signup("Lotus Salon & Spa").await;
    let other_session = app.login(&business.owner_email, OWNER_PASSWORD).await;

    let unknown = request_reset(&app, "nobody@example.com").await;
    let known = request_reset(&app, &business.owner_email).await;
    assert_eq!(unknown.status(), 202);
    assert_eq!(known.status(), 202);
    assert_eq!(unknown.text().await.unwrap(), known.text().await.unwrap());
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM outbox_messages WHERE recipient = 'nobody@example.com'",
            &[]
        )
        .await,
        0
    );
    let link = app
        .outbox_token(&business.tenant_id, &business.owner_email, "token=")
        .await;

    let new_password = "harbour-violet-tamarind-19";
    let confirm = |password: &'static str| {
        app.client
            .post(app.url("/api/v1/auth/password-reset/confirm"))
            .json(&json!({"token": link, "password": password}))
            .send()
    };
    expect(confirm(new_password).await.unwrap(), 204).await;
    for token in [
        business.access_token.as_str(),
        text(&other_session["access_token"]),
    ] {
        problem(get(&app, "/api/v1/auth/me", token).await, 401, "session_revoked").await;
    }
    problem(
        login_raw(&app, &business.owner_email, OWNER_PASSWORD, None).await,
        401,
        "invalid_credentials",
    )
    .await;
    expect(
        login_raw(&app, &business.owner_email, new_password, None).await,
        200,
    )
    .await;
    problem(
        confirm("yet-another-phrase-2031").await.unwrap(),
        409,
        "invalid_link",
    )
    .await;
    expect(
        login_raw(&app, &business.owner_email, new_password, None).await,
        200,
    )
    .await;
    app.stop().await;
}

// ---------------------------------------------------------------- platform

const OPERATOR_EMAIL: &str = "ops@ftry.example";
const OPERATOR_PASSWORD: &str = "granite-sunrise-operator-91";

/// `ftry admin create` against the app's database; the operator's id.
fn create_operator(app: &TestApp) -> String {
    let output = run_ftry(
        app.db.as_ref().unwrap(),
        &[
            "admin",
            "create",
            "--email",
            OPERATOR_EMAIL,
            "--name",
            "Ops Person",
        ],
        &[("FTRY_ADMIN_PASSWORD", OPERATOR_PASSWORD)],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let printed = stdout(&output);
    printed
        .trim()
        .strip_prefix("platform operator created: ")
        .unwrap_or_else(|| panic!("{printed}"))
        .to_owned()
}

async fn operator_login(app: &TestApp, password: &str) -> Response {
    app.post_json(
        "/api/v1/platform/auth/login",
        &json!({"email": OPERATOR_EMAIL, "password": password}),
    )
    .await
}

async fn platform_post(app: &TestApp, token: &str, path: &str) -> Value {
    expect(
        app.authed(Method::POST, path, token)
            .json(&json!({"reason": "unpaid invoice"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await
}

#[tokio::test]
async fn a_platform_operator_suspends_and_reactivates_a_business_keeping_its_data() {
    let app = TestApp::fresh_with(roomy).await;
    let suspended = app.signup("Lotus Salon & Spa").await;
    let other = app.signup("Jasmine Spa").await;
    app.add_member(&other.access_token, &other.tenant_id, &["stylist"])
        .await;
    let operator_id = create_operator(&app);
    let login = expect(operator_login(&app, OPERATOR_PASSWORD).await, 200).await;
    let operator = text(&login["access_token"]).to_owned();

    let list = expect(get(&app, "/api/v1/platform/tenants", &operator).await, 200).await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let usage_of = |business: &Business| {
        items
            .iter()
            .find(|i| i["tenant"]["id"] == business.tenant_id.as_str())
            .map(|i| i["usage"].clone())
            .unwrap()
    };
    assert_eq!(usage_of(&suspended), json!({"users": 1, "locations": 1}));
    assert_eq!(usage_of(&other), json!({"users": 2, "locations": 1}));
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM platform_audit_events
              WHERE action = 'platform.tenants_listed' AND actor_id = $1::uuid",
            &[&operator_id]
        )
        .await,
        1
    );

    expect(
        invite(&app, &suspended.access_token, "late@example.com", &["stylist"]).await,
        201,
    )
    .await;
    let invitation = app
        .outbox_token(&suspended.tenant_id, "late@example.com", "token=")
        .await;

    let rows = "SELECT (SELECT count(*) FROM users WHERE tenant_id = $1::uuid)
                     + (SELECT count(*) FROM locations WHERE tenant_id = $1::uuid)
                     + (SELECT count(*) FROM roles WHERE tenant_id = $1::uuid)";
    let rows_before = count(&app, rows, &[&suspended.tenant_id]).await;
    let after = platform_post(
        &app,
        &operator,
        &format!("/api/v1/platform/tenants/{}/suspend", suspended.tenant_id),
    )
    .await;
    assert_eq!(after["status"], "suspended");
    assert_eq!(after["status_reason"], "unpaid invoice");

    problem(
        login_raw(&app, &suspended.owner_email, OWNER_PASSWORD, None).await,
        403,
        "tenant_suspended",
    )
    .await;
    problem(
        get(&app, "/api/v1/tenant", &suspended.access_token).await,
        403,
        "tenant_suspended",
    )
    .await;
    problem(
        refresh_raw(&app, &suspended.refresh_token).await,
        403,
        "tenant_suspended",
    )
    .await;
    // Accepting an invitation logs in: refused too.
    problem(
        accept(&app, &invitation, MEMBER_PASSWORD).await,
        403,
        "tenant_suspended",
    )
    .await;
    expect(get(&app, "/api/v1/tenant", &other.access_token).await, 200).await;
    expect(
        login_raw(&app, &other.owner_email, OWNER_PASSWORD, None).await,
        200,
    )
    .await;
    assert_eq!(count(&app, rows, &[&suspended.tenant_id]).await, rows_before);

    let after = platform_post(
        &app,
        &operator,
        &format!("/api/v1/platform/tenants/{}/activate", suspended.tenant_id),
    )
    .await;
    assert_eq!(after["status"], "active");
    expect(get(&app, "/api/v1/tenant", &suspended.access_token).await, 200).await;
    expect(
        login_raw(&app, &suspended.owner_email, OWNER_PASSWORD, None).await,
        200,
    )
    .await;
    expect(accept(&app, &invitation, MEMBER_PASSWORD).await, 200).await;

    for action in ["tenant.suspended", "tenant.activated"] {
        let events = audit_items(&app, &suspended.access_token, &format!("action={action}")).await;
        assert_eq!(events.len(), 1, "{action}");
        assert_eq!(events[0]["actor_type"], "platform_admin");
        assert_eq!(events[0]["actor_id"], operator_id.as_str());
        assert_eq!(
            count(
                &app,
                "SELECT count(*) FROM platform_audit_events
                  WHERE action = $1 AND tenant_id = $2::uuid AND actor_id = $3::uuid",
                &[action, &suspended.tenant_id, &operator_id]
            )
            .await,
            1,
            "{action}"
        );
    }
    assert_eq!(
        audit_items(&app, &other.access_token, "action=tenant.suspended")
            .await
            .len(),
        0
    );
    app.stop().await;
}

#[tokio::test]
async fn platform_routes_refuse_wrong_passwords_and_tenant_tokens() {
    let app = TestApp::fresh().await;
    let business = app.signup("Lotus Salon & Spa").await;
    create_operator(&app);

    problem(
        operator_login(&app, "not-the-operator-password").await,
        401,
        "invalid_credentials",
    )
    .await;
    problem(
        get(&app, "/api/v1/platform/tenants", &business.access_token).await,
        403,
        "platform_only",
    )
    .await;
    problem(
        app.authed(
            Method::POST,
            &format!("/api/v1/platform/tenants/{}/suspend", business.tenant_id),
            &business.access_token,
        )
        .json(&json!({}))
        .send()
        .await
        .unwrap(),
        403,
        "platform_only",
    )
    .await;
    problem(app.get("/api/v1/platform/tenants").await, 401, "unauthenticated").await;
    let operator = expect(operator_login(&app, OPERATOR_PASSWORD).await, 200).await;
    problem(
        get(&app, "/api/v1/auth/me", text(&operator["access_token"])).await,
        401,
        "invalid_token",
    )
    .await;
    app.stop().await;
}

// ---------------------------------------------------------------- audit log

#[tokio::test]
async fn the_audit_log_lists_events_newest_first_with_who_what_and_where() {
    let app = TestApp::fresh().await;
    let business = app.signup("Lotus Salon & Spa").await;
    let other = app.signup("Jasmine Spa").await;
    let owner = &business.access_token;

    let renamed = app
        .authed(Method::PATCH, "/api/v1/tenant", owner)
        .header("user-agent", "ftry-audit-test/1.0")
        .json(&json!({"name": "Lotus Salon & Spa, Pune"}))
        .send()
        .await
        .unwrap();
    let request_id = renamed.headers()["x-request-id"].to_str().unwrap().to_owned();
    expect(renamed, 200).await;

    let items = audit_items(&app, owner, "").await;
    let newest = &items[0];
    assert_eq!(newest["action"], "tenant.updated");
    assert_eq!(newest["actor_type"], "user");
    assert_eq!(newest["actor_id"], business.owner_id.as_str());
    assert_eq!(newest["resource_type"], "tenant");
    assert_eq!(newest["resource_id"], business.tenant_id.as_str());
    assert_eq!(newest["outcome"], "success");
    assert_eq!(newest["ip"], "127.0.0.1");
    assert_eq!(newest["user_agent"], "ftry-audit-test/1.0");
    assert_eq!(newest["request_id"], request_id.as_str());
    assert_eq!(newest["before"], json!({"name": "Lotus Salon & Spa"}));
    assert_eq!(newest["after"], json!({"name": "Lotus Salon & Spa, Pune"}));

    let ids: Vec<&str> = items.iter().map(|e| text(&e["id"])).collect();
    let mut newest_first = ids.clone();
    newest_first.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(ids, newest_first);
    assert_eq!(items.last().unwrap()["action"], "tenant.signup");
    // Another business's events are not in this log.
    let signups = audit_items(&app, owner, "action=tenant.signup").await;
    assert_eq!(signups.len(), 1);
    assert_eq!(signups[0]["resource_id"], business.tenant_id.as_str());
    assert!(items.iter().all(|e| e["resource_id"] != other.tenant_id.as_str()));
    app.stop().await;
}

#[tokio::test]
async fn audit_log_filters_and_cursor_pages_walk_every_event_once() {
    let app = TestApp::fresh_with(roomy).await;
    let business = app.signup("Lotus Salon & Spa").await;
    let owner = &business.access_token;
    for _ in 0..2 {
        problem(
            login_raw(&app, &business.owner_email, "not-the-password-1", None).await,
            401,
            "invalid_credentials",
        )
        .await;
    }
    for _ in 0..3 {
        app.login(&business.owner_email, OWNER_PASSWORD).await;
    }

    let failed = audit_items(&app, owner, "action=auth.login_failed").await;
    assert_eq!(failed.len(), 2);
    assert!(failed.iter().all(|e| e["action"] == "auth.login_failed"));
    let failures = audit_items(&app, owner, "outcome=failure").await;
    assert_eq!(failures, failed);
    let logins = audit_items(&app, owner, "action=auth.login&outcome=success").await;
    assert_eq!(logins.len(), 3);

    let all = audit_items(&app, owner, "limit=200").await;
    assert_eq!(all.len(), 6, "signup, 2 failures, 3 logins");
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("/api/v1/audit-events?limit=2&cursor={c}"),
            None => "/api/v1/audit-events?limit=2".to_owned(),
        };
        let page = expect(get(&app, &query, owner).await, 200).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        walked.extend(items.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(walked, all);
    app.stop().await;
}

#[tokio::test]
async fn the_audit_log_needs_audit_read_and_a_valid_query() {
    let app = TestApp::fresh().await;
    let business = app.signup("Lotus Salon & Spa").await;
    let (_, receptionist, _) = app
        .add_member(&business.access_token, &business.tenant_id, &["receptionist"])
        .await;
    problem(
        get(&app, "/api/v1/audit-events", &receptionist).await,
        403,
        "permission_denied",
    )
    .await;
    problem(
        get(
            &app,
            "/api/v1/audit-events?since=yesterday",
            &business.access_token,
        )
        .await,
        400,
        "invalid_query",
    )
    .await;
    let since = audit_items(
        &app,
        &business.access_token,
        "since=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00Z",
    )
    .await;
    assert!(!since.is_empty());
    assert_eq!(
        audit_items(&app, &business.access_token, "since=2999-01-01T00:00:00Z")
            .await
            .len(),
        0
    );
    app.stop().await;
}

// ---------------------------------------------------------------- API document

const METHODS: [&str; 7] = ["get", "put", "post", "delete", "options", "head", "patch"];

#[tokio::test]
async fn every_operation_declares_its_security_with_real_permissions() {
    let app = TestApp::fresh().await;
    let business = app.signup("Lotus Salon & Spa").await;
    let document = expect(app.get("/api/openapi.json").await, 200).await;
    assert!(
        text(&document["openapi"]).starts_with("3.1"),
        "{}",
        document["openapi"]
    );
    let catalog = expect(
        get(&app, "/api/v1/permissions", &business.access_token).await,
        200,
    )
    .await;
    let permissions: Vec<&str> = catalog
        .as_array()
        .unwrap()
        .iter()
        .map(|p| text(&p["name"]))
        .collect();
    assert!(permissions.contains(&"audit:read"));

    let mut operations = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            operations += 1;
            let security = operation["security"]
                .as_array()
                .unwrap_or_else(|| panic!("{method} {path} has no security"));
            assert_eq!(security.len(), 1, "{method} {path}");
            for (scheme, scopes) in security[0].as_object().unwrap() {
                let scopes = scopes.as_array().unwrap();
                match scheme.as_str() {
                    "bearer" => {
                        for scope in scopes {
                            assert!(
                                permissions.contains(&text(scope)),
                                "{method} {path} needs unknown permission {scope}"
                            );
                        }
                    }
                    "platform" => assert!(scopes.is_empty(), "{method} {path}"),
                    other => panic!("{method} {path}: unknown scheme {other}"),
                }
            }
        }
    }
    assert!(operations >= 30, "{operations} operations");
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["platform"]["scheme"], "bearer");
    app.stop().await;
}

#[tokio::test]
async fn the_docs_page_lists_every_path() {
    let app = TestApp::fresh().await;
    let document = expect(app.get("/api/openapi.json").await, 200).await;
    let page = app.get("/api/docs").await;
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = page.text().await.unwrap();
    let paths = document["paths"].as_object().unwrap();
    assert!(!paths.is_empty());
    for path in paths.keys() {
        assert!(
            html.contains(&format!("<code>{path}</code>")),
            "{path} missing from /api/docs"
        );
    }
    app.stop().await;
}

// ---------------------------------------------------------------- demo

#[tokio::test]
async fn every_printed_demo_login_has_its_single_role() {
    let db = TestDb::create().await;
    let seeded = run_ftry(&db, &["seed", "--demo"], &[]);
    assert_eq!(seeded.status.code(), Some(0), "{}", stderr(&seeded));
    let printed = stdout(&seeded);
    let logins: Vec<(String, String, String)> = printed
        .lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(fields.len(), 3, "{line}");
            (fields[0].into(), fields[1].into(), fields[2].into())
        })
        .collect();
    let roles: Vec<&str> = logins.iter().map(|(role, _, _)| role.as_str()).collect();
    assert_eq!(roles, ["owner", "admin", "manager", "receptionist", "stylist"]);

    let app = TestApp::spawn(config_for(&db)).await;
    for (role, email, password) in &logins {
        let tokens = app.login(email, password).await;
        let me = me(&app, text(&tokens["access_token"])).await;
        assert_eq!(me["user"]["email"], email.as_str());
        assert_eq!(me["user"]["roles"], json!([role]), "{email}");
        assert_eq!(me["tenant"]["slug"], "lotus-demo");
    }
    app.stop().await;
}
