//! Test support: fresh databases on the test PostgreSQL server, the real app
//! in-process on port 0, the real binary as a child process, and private
//! Redis servers.
#![allow(dead_code)] // each test binary uses a different part

pub mod browser;
pub mod metrics;
pub mod rest;
pub mod s3;
pub mod salon;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ftry::config::{Config, SecretUrl};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor, PgConnection};

/// The test server's administrator URL (a superuser). `scripts/test` creates
/// this role; FTRY_TEST_ADMIN_URL overrides it.
pub fn admin_url() -> String {
    std::env::var("FTRY_TEST_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://ftry_test:ftry_test@127.0.0.1:5432/postgres".into())
}

const ROLE_PASSWORD: &str = "ftry_test";

/// A fresh, migrated-on-demand database with the owner/app role split.
#[derive(Debug, Clone)]
pub struct TestDb {
    pub name: String,
}

impl TestDb {
    pub async fn create() -> Self {
        let admin = PgConnectOptions::from_str(&admin_url()).expect("admin url");
        let mut conn = admin.connect().await.expect(
            "cannot reach the test PostgreSQL; run the tests with `bash scripts/test`, which starts it",
        );
        // Roles are cluster-wide: create them once, serialized across test processes.
        conn.execute("SELECT pg_advisory_lock(727274)").await.unwrap();
        for role in ["ftry_owner", "ftry_app"] {
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
                    .bind(role)
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
            if !exists {
                conn.execute(format!("CREATE ROLE {role} LOGIN PASSWORD '{ROLE_PASSWORD}'").as_str())
                    .await
                    .unwrap();
            }
        }
        conn.execute("SELECT pg_advisory_unlock(727274)").await.unwrap();
        let name = format!("ftry_test_{}", uuid::Uuid::now_v7().simple());
        conn.execute(format!("CREATE DATABASE {name} OWNER ftry_owner").as_str())
            .await
            .unwrap();
        conn.close().await.unwrap();
        Self { name }
    }

    fn url(&self, role: &str) -> String {
        let admin = url::Url::parse(&admin_url()).unwrap();
        let host = admin.host_str().unwrap_or("127.0.0.1");
        let port = admin.port().unwrap_or(5432);
        format!("postgres://{role}:{ROLE_PASSWORD}@{host}:{port}/{}", self.name)
    }

    pub fn app_url(&self) -> String {
        self.url("ftry_app")
    }

    pub fn owner_url(&self) -> String {
        self.url("ftry_owner")
    }

    /// The test server's superuser, inside this database, as a URL.
    pub fn superuser_url(&self) -> String {
        let mut url = url::Url::parse(&admin_url()).unwrap();
        url.set_path(&self.name);
        url.to_string()
    }

    /// A connection as the test server's superuser, inside this database.
    pub async fn admin(&self) -> PgConnection {
        let mut url = url::Url::parse(&admin_url()).unwrap();
        url.set_path(&self.name);
        PgConnection::connect(url.as_str()).await.unwrap()
    }
}

pub const TEST_DATA_KEY: &str = "ERERERERERERERERERERERERERERERERERERERERERE=";
pub const TEST_INDEX_KEY: &str = "IiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiI=";

/// A configuration for tests: the given database, no demo, quiet limits.
pub fn config_for(db: &TestDb) -> Config {
    let mut config = Config::default();
    config.database.url = Some(SecretUrl::try_from(db.app_url()).unwrap());
    config.database.owner_url = Some(SecretUrl::try_from(db.owner_url()).unwrap());
    config.http.addr = "127.0.0.1:0".parse().unwrap();
    config.admin.addr = "127.0.0.1:0".parse().unwrap();
    // Cheap hashing keeps the suite fast; production defaults are tested in ftry-app.
    config.auth.argon2_memory_kib = 1024;
    config.auth.argon2_iterations = 1;
    config.data_protection = test_data_protection();
    // In-process apps serve requests only: the job tests run workers of
    // their own (tests/jobs.rs), so no scheduled job moves data under a test.
    config.jobs.run_in_serve = false;
    // Nor a backup (tests/backup.rs takes them).
    config.jobs.backup_cron = "off".into();
    config
}

/// Fixed keys, so a test can tell which key sealed a stored value.
pub fn test_data_protection() -> ftry_app::data_protection::DataProtectionSettings {
    toml::from_str(&format!(
        r#"keys = [{{ id = "test-1", secret = "{TEST_DATA_KEY}" }}]
           index_key = "{TEST_INDEX_KEY}""#
    ))
    .unwrap()
}

/// The real service, in-process, on a free port.
pub struct TestApp {
    pub addr: SocketAddr,
    /// The admin listener (metrics).
    pub admin_addr: SocketAddr,
    pub client: reqwest::Client,
    pub db: Option<TestDb>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    pub async fn spawn(config: Config) -> Self {
        let prepared = ftry::server::prepare(config, false).await.expect("prepare");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let admin_addr = admin.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(ftry::server::run(prepared, listener, admin, async move {
            let _ = rx.await;
        }));
        Self {
            addr,
            admin_addr,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            db: None,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client.post(self.url(path)).json(body).send().await.unwrap()
    }

    /// The app on a fresh database with the default test configuration.
    pub async fn fresh() -> Self {
        Self::fresh_with(|_| {}).await
    }

    /// The app on a fresh database, with the test configuration adjusted.
    pub async fn fresh_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let db = TestDb::create().await;
        let mut config = config_for(&db);
        adjust(&mut config);
        let mut app = Self::spawn(config).await;
        app.db = Some(db);
        app
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

/// A request with a bearer token and, if given, a JSON body.
pub async fn send(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<&serde_json::Value>,
) -> reqwest::Response {
    let request = app.authed(method, path, token);
    match body {
        Some(body) => request.json(body),
        None => request,
    }
    .send()
    .await
    .unwrap()
}

/// GET `path` with a bearer token.
pub async fn get(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    send(app, token, reqwest::Method::GET, path, None).await
}

/// POST a JSON body to `path` with a bearer token.
pub async fn post(app: &TestApp, token: &str, path: &str, body: &serde_json::Value) -> reqwest::Response {
    send(app, token, reqwest::Method::POST, path, Some(body)).await
}

/// The text of a response that must have `status`.
async fn text_with(response: reqwest::Response, status: u16) -> String {
    let actual = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "{text}");
    text
}

/// The JSON body of a response that must have `status`.
pub async fn body(response: reqwest::Response, status: u16) -> serde_json::Value {
    serde_json::from_str(&text_with(response, status).await).unwrap()
}

/// The body of a response that must have `status`, as JSON (`Null` when empty).
pub async fn expect(response: reqwest::Response, status: u16) -> serde_json::Value {
    let text = text_with(response, status).await;
    if text.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    }
}

/// Change the business's settings through `PATCH /api/v1/tenant` (as someone
/// allowed to) and check the answer holds each of them.
pub async fn tenant_settings(app: &TestApp, token: &str, changes: serde_json::Value) -> serde_json::Value {
    let answer = expect(
        send(
            app,
            token,
            reqwest::Method::PATCH,
            "/api/v1/tenant",
            Some(&changes),
        )
        .await,
        200,
    )
    .await;
    for (setting, value) in changes.as_object().unwrap() {
        assert_eq!(&answer[setting], value, "{setting} in {answer}");
    }
    answer
}

/// A 422 `validation_failed` naming exactly one field, with a message.
pub async fn invalid(response: reqwest::Response, field: &str) -> serde_json::Value {
    let body = problem(response, 422, "validation_failed").await;
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{body}");
    assert_eq!(errors[0]["field"], field, "{body}");
    assert!(!errors[0]["message"].as_str().unwrap().is_empty(), "{body}");
    body
}

/// A connection to the app's database as the test server's superuser.
pub async fn admin(app: &TestApp) -> PgConnection {
    app.db.as_ref().unwrap().admin().await
}

/// Assert a problem+json answer and return its body.
pub async fn problem(response: reqwest::Response, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status, "status");
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    assert_eq!(body["type"], format!("urn:ftry:problem:{code}"));
    body
}

/// A free TCP port on loopback (bound and released; good enough for tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The built `ftry` binary running as a child process, its stdout collected.
pub struct FtryProcess {
    pub child: Child,
    pub addr: SocketAddr,
    pub stdout: Arc<Mutex<Vec<String>>>,
    pub stderr: Arc<Mutex<Vec<String>>>,
}

pub fn ftry_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ftry"));
    // Nothing from the developer's environment leaks into the process under test.
    for (key, _) in std::env::vars() {
        if key.starts_with("FTRY_") || key == "DATABASE_URL" || key == "REDIS_URL" {
            command.env_remove(key);
        }
    }
    // The same fixed data-protection keys as the in-process configuration
    // (an external database needs configured keys; the embedded one ignores these
    // only if unset, so they are given to every process alike).
    command
        .env(
            "FTRY_DATA_PROTECTION_KEYS",
            format!("[{{id=\"test-1\",secret=\"{TEST_DATA_KEY}\"}}]"),
        )
        .env("FTRY_DATA_PROTECTION_INDEX_KEY", TEST_INDEX_KEY)
        // A worker would otherwise take the day's missed backup as it starts
        // (tests/backup.rs tests backups).
        .env("FTRY_JOBS_BACKUP_CRON", "off");
    command
}

impl FtryProcess {
    /// Start `ftry serve` with the given environment on a free port.
    pub fn serve(envs: &[(&str, String)], cwd: &Path) -> Self {
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let mut all = vec![
            ("FTRY_HTTP_ADDR", addr.to_string()),
            // Processes run side by side: each admin listener on a free port.
            ("FTRY_ADMIN_ADDR", "127.0.0.1:0".to_owned()),
        ];
        all.extend(envs.iter().map(|(k, v)| (*k, v.clone())));
        Self::start("serve", &all, cwd, addr)
    }

    /// Start `ftry worker` with the given environment.
    pub fn worker(envs: &[(&str, String)], cwd: &Path) -> Self {
        Self::start("worker", envs, cwd, SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    fn start(command_name: &str, envs: &[(&str, String)], cwd: &Path, addr: SocketAddr) -> Self {
        let mut command = ftry_command();
        command
            .arg(command_name)
            .current_dir(cwd)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in envs {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("spawn ftry");
        let stdout = collect(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        Self {
            child,
            addr,
            stdout,
            stderr,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Wait for `/health/ready` to answer 200; returns how long it took.
    pub async fn wait_ready(&mut self, within: Duration) -> Duration {
        let started = Instant::now();
        let client = reqwest::Client::new();
        while started.elapsed() < within {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "ftry exited with {status} before it was ready\nstdout:\n{}\nstderr:\n{}",
                    self.stdout.lock().unwrap().join("\n"),
                    self.stderr.lock().unwrap().join("\n")
                );
            }
            if let Ok(response) = client.get(self.url("/health/ready")).send().await {
                if response.status() == 200 {
                    return started.elapsed();
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "ftry not ready within {within:?}\nstdout:\n{}\nstderr:\n{}",
            self.stdout.lock().unwrap().join("\n"),
            self.stderr.lock().unwrap().join("\n")
        );
    }

    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, signal).unwrap();
    }

    /// Wait for the process to exit, bounded.
    pub fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(started.elapsed() < within, "ftry did not exit within {within:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }
}

impl Drop for FtryProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn collect(stream: impl std::io::Read + Send + 'static) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

/// A private Redis server on a free port, killed when dropped.
pub struct TestRedis {
    pub port: u16,
    child: Option<Child>,
}

impl TestRedis {
    pub fn start() -> Self {
        let port = free_port();
        let mut redis = Self { port, child: None };
        redis.resume();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Start (or restart) the server on the same port.
    pub fn resume(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (scripts/test installs it)");
        self.child = Some(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(10), "redis did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A temp directory the `postgres` OS user can traverse (tests run as root).
pub fn traversable_tempdir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new()
        .prefix("ftry")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

pub fn data_dir(root: &Path) -> PathBuf {
    root.join("data")
}

/// A business created through the real sign-up endpoint, with its owner's tokens.
#[derive(Debug, Clone)]
pub struct Business {
    pub tenant_id: String,
    pub slug: String,
    pub location_id: String,
    pub owner_id: String,
    pub owner_email: String,
    pub owner_password: String,
    pub access_token: String,
    pub refresh_token: String,
}

impl TestApp {
    /// Sign up a business named `name` (slug derived), owner `<slug-ish>@example.com`.
    pub async fn signup(&self, name: &str) -> Business {
        let email = format!("owner.{}@example.com", uuid::Uuid::now_v7().simple());
        let password = "saffron-mirror-lantern-42".to_string();
        let response = self
            .post_json(
                "/api/v1/auth/signup",
                &serde_json::json!({
                    "business_name": name,
                    "location": {"name": "Main branch", "state_code": "27", "address": "FC Road, Pune"},
                    "owner": {"name": "Asha Patil", "email": email, "password": password},
                }),
            )
            .await;
        assert_eq!(response.status(), 201, "signup");
        let body: serde_json::Value = response.json().await.unwrap();
        Business {
            tenant_id: body["tenant"]["id"].as_str().unwrap().to_owned(),
            slug: body["tenant"]["slug"].as_str().unwrap().to_owned(),
            location_id: body["location"]["id"].as_str().unwrap().to_owned(),
            owner_id: body["user_id"].as_str().unwrap().to_owned(),
            owner_email: email,
            owner_password: password,
            access_token: body["access_token"].as_str().unwrap().to_owned(),
            refresh_token: body["refresh_token"].as_str().unwrap().to_owned(),
        }
    }

    /// Log in and return the token response body (panics unless 200).
    pub async fn login(&self, email: &str, password: &str) -> serde_json::Value {
        let response = self
            .post_json(
                "/api/v1/auth/login",
                &serde_json::json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(response.status(), 200, "login of {email}");
        response.json().await.unwrap()
    }

    /// A request with a bearer token.
    pub fn authed(&self, method: reqwest::Method, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path)).bearer_auth(token)
    }

    /// Invite someone with the given roles, accept the invitation through the
    /// outbox link, and return (user id, access token).
    pub async fn add_member(
        &self,
        owner_token: &str,
        tenant_id: &str,
        roles: &[&str],
    ) -> (String, String, String) {
        let email = format!("staff.{}@example.com", uuid::Uuid::now_v7().simple());
        let invited = self
            .authed(reqwest::Method::POST, "/api/v1/users/invitations", owner_token)
            .json(&serde_json::json!({"email": email, "name": "Ravi Kumar", "roles": roles}))
            .send()
            .await
            .unwrap();
        assert_eq!(invited.status(), 201, "invite");
        let user: serde_json::Value = invited.json().await.unwrap();
        let token = self.outbox_token(tenant_id, &email, "token=").await;
        let accepted = self
            .post_json(
                "/api/v1/auth/invitations/accept",
                &serde_json::json!({"token": token, "password": "copper-kettle-monsoon-77"}),
            )
            .await;
        assert_eq!(accepted.status(), 200, "accept");
        let tokens: serde_json::Value = accepted.json().await.unwrap();
        (
            user["id"].as_str().unwrap().to_owned(),
            tokens["access_token"].as_str().unwrap().to_owned(),
            email,
        )
    }

    /// The newest token link sent to `recipient`, read from the outbox table
    /// as the test database's superuser.
    pub async fn outbox_token(&self, tenant_id: &str, recipient: &str, marker: &str) -> String {
        let db = self.db.as_ref().expect("outbox needs a TestDb-backed app");
        let mut admin = db.admin().await;
        let body: String = sqlx::query_scalar(
            "SELECT body FROM outbox_messages WHERE tenant_id = $1::uuid AND recipient = $2 ORDER BY id DESC LIMIT 1",
        )
        .bind(tenant_id)
        .bind(recipient)
        .fetch_one(&mut admin)
        .await
        .unwrap();
        let start = body.find(marker).expect("a link in the message") + marker.len();
        body[start..].split_whitespace().next().unwrap().to_owned()
    }
}

/// The fields a 422 `validation_failed` answer names, in order.
pub async fn invalid_fields(response: reqwest::Response) -> Vec<String> {
    let body = problem(response, 422, "validation_failed").await;
    body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}

/// A superuser query returning one number, with text arguments.
pub async fn count(app: &TestApp, sql: &str, args: &[&str]) -> i64 {
    let mut conn = app.db.as_ref().unwrap().admin().await;
    let mut query = sqlx::query_scalar::<_, i64>(sql);
    for arg in args {
        query = query.bind(*arg);
    }
    query.fetch_one(&mut conn).await.unwrap()
}
