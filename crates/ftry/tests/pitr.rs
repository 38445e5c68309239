//! Point-in-time recovery of the embedded cluster through `ftry pitr`, with
//! a real PostgreSQL and a real pgBackRest: a restore to a moment keeps what
//! was committed before it and nothing after, and a restore that cannot be
//! done is refused with one line saying why.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use nix::sys::signal::Signal;
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{Connection, PgConnection};
use support::{data_dir, ftry_command, traversable_tempdir, FtryProcess};

/// pgBackRest is a test service like PostgreSQL: its absence fails the
/// suite rather than skipping it.
fn require_pgbackrest() {
    let installed = Command::new("pgbackrest")
        .arg("version")
        .output()
        .is_ok_and(|output| output.status.success());
    assert!(
        installed,
        "pgbackrest is not installed: run `bash scripts/test-services`, which installs it"
    );
}

fn pitr_envs(data: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("FTRY_DATA_DIR", data.display().to_string()),
        ("FTRY_PITR_ENABLED", "true".to_owned()),
    ]
}

fn ftry_pitr(envs: &[(&str, String)], cwd: &Path, args: &[&str]) -> Output {
    let mut command = ftry_command();
    command.arg("pitr").args(args).current_dir(cwd);
    for (key, value) in envs {
        command.env(key, value);
    }
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// What ftry told the operator: the last line of its standard error.
fn told(output: &Output) -> String {
    text(&output.stderr).lines().last().unwrap_or_default().to_owned()
}

fn succeeded(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// The embedded cluster's superuser, on its socket.
async fn superuser(data: &Path) -> PgConnection {
    let options = PgConnectOptions::new_without_pgpass()
        .socket(data.join("run"))
        .port(5432)
        .username("postgres")
        .database("ftry")
        .ssl_mode(PgSslMode::Disable);
    PgConnection::connect_with(&options).await.unwrap()
}

/// Closes the current WAL segment and waits until the server has archived
/// it, so everything committed so far is in the repository.
async fn archive_now(db: &mut PgConnection) {
    let segment: String = sqlx::query_scalar("SELECT pg_walfile_name(pg_switch_wal())")
        .fetch_one(&mut *db)
        .await
        .unwrap();
    for _ in 0..600 {
        let archived: Option<String> = sqlx::query_scalar("SELECT last_archived_wal FROM pg_stat_archiver")
            .fetch_one(&mut *db)
            .await
            .unwrap();
        if archived.is_some_and(|wal| wal >= segment) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let failed: Option<String> = sqlx::query_scalar("SELECT last_failed_wal FROM pg_stat_archiver")
        .fetch_one(&mut *db)
        .await
        .unwrap();
    panic!("segment {segment} was not archived within a minute (last failed: {failed:?})");
}

async fn insert_rows(db: &mut PgConnection, batch: &str, rows: i32) {
    sqlx::query("INSERT INTO pitr_probe (batch, n) SELECT $1, generate_series(1, $2)")
        .bind(batch)
        .bind(rows)
        .execute(&mut *db)
        .await
        .unwrap();
}

async fn rows_by_batch(db: &mut PgConnection) -> Vec<(String, i64)> {
    sqlx::query_as("SELECT batch, count(*) FROM pitr_probe GROUP BY batch ORDER BY batch")
        .fetch_all(&mut *db)
        .await
        .unwrap()
}

/// A time as ftry prints it (RFC 3339 in UTC, as many fraction digits as it needs).
fn printed(time: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(time)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// The recovery window opens the second after a base backup ends: wait
/// for it, so what the test writes next can be restored to.
async fn wait_for_the_window_to_open(envs: &[(&str, String)], cwd: &Path) {
    let status: serde_json::Value =
        serde_json::from_str(&succeeded(&ftry_pitr(envs, cwd, &["status", "--json"]))).unwrap();
    let start = chrono::DateTime::parse_from_rfc3339(status["window_start"].as_str().unwrap()).unwrap();
    while chrono::Utc::now() <= start {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap()
}

async fn serve_until_ready(envs: &[(&str, String)], cwd: &Path) -> FtryProcess {
    let mut ftry = FtryProcess::serve(envs, cwd);
    ftry.wait_ready(Duration::from_secs(120)).await;
    ftry
}

fn stop(mut ftry: FtryProcess) {
    ftry.signal(Signal::SIGTERM);
    let status = ftry.wait_exit(Duration::from_secs(60));
    assert_eq!(status.code(), Some(0), "stdout: {:?}", ftry.stdout_lines());
}

#[tokio::test]
async fn a_restore_to_a_moment_keeps_the_rows_committed_before_it_and_none_after() {
    require_pgbackrest();
    let root = traversable_tempdir();
    let data = data_dir(root.path());
    let envs = pitr_envs(&data);
    restores_to_a_moment(&envs, root.path(), &data).await;
}

/// With the repository in an S3-compatible bucket (moto behind a TLS
/// terminator, as pgBackRest reaches a bucket over HTTPS only): the same
/// restore, and the archive and backups are objects of the bucket.
#[tokio::test]
async fn a_restore_from_a_repository_in_an_s3_bucket_keeps_the_rows_committed_before_the_moment() {
    require_pgbackrest();
    let root = traversable_tempdir();
    let data = data_dir(root.path());
    let bucket = S3OverTls::start(root.path(), "ftry-pitr").await;
    let mut envs = pitr_envs(&data);
    envs.extend([
        ("FTRY_PITR_REPO_TYPE", "s3".to_owned()),
        ("FTRY_PITR_S3_CA_FILE", bucket.cert.display().to_string()),
        ("FTRY_BACKUP_S3_BUCKET", "ftry-pitr".to_owned()),
        (
            "FTRY_BACKUP_S3_ENDPOINT",
            format!("https://localhost:{}", bucket.tls_port),
        ),
        ("FTRY_BACKUP_S3_REGION", "ap-south-1".to_owned()),
        ("FTRY_BACKUP_S3_PATH_STYLE", "true".to_owned()),
        ("FTRY_BACKUP_S3_ACCESS_KEY_ID", "AKIAFTRYTEST".to_owned()),
        ("FTRY_BACKUP_S3_SECRET_ACCESS_KEY", "ftry-test-secret".to_owned()),
        ("FTRY_BACKUP_S3_PREFIX", "pune/".to_owned()),
    ]);
    restores_to_a_moment(&envs, root.path(), &data).await;
    let keys = bucket.s3.keys("ftry-pitr").await;
    assert!(
        keys.iter()
            .any(|k| k == "pune/pgbackrest/backup/ftry/backup.info"),
        "{keys:?}"
    );
    assert!(
        keys.iter()
            .any(|k| k.starts_with("pune/pgbackrest/archive/ftry/15-1/")),
        "{keys:?}"
    );
    assert!(!data.join("pgbackrest").exists(), "no local repository");
}

/// moto's S3 server behind stunnel with a certificate made for `localhost`.
struct S3OverTls {
    tls_port: u16,
    cert: PathBuf,
    stunnel: std::process::Child,
    s3: support::s3::S3Server,
}

impl S3OverTls {
    async fn start(dir: &Path, bucket: &str) -> Self {
        let (cert, key) = (dir.join("s3-cert.pem"), dir.join("s3-key.pem"));
        let made = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=localhost",
            ])
            .args(["-addext", "subjectAltName=DNS:localhost", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .expect("openssl must be installed (scripts/test-services installs it)");
        assert!(made.status.success(), "{}", text(&made.stderr));
        // Read by pgBackRest, which runs as the server's user.
        std::fs::set_permissions(&cert, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
        let s3 = support::s3::S3Server::start(bucket).await;
        let tls_port = support::free_port();
        let config = dir.join("stunnel.conf");
        std::fs::write(
            &config,
            format!(
                "foreground = yes\npid =\n[s3]\naccept = 127.0.0.1:{tls_port}\nconnect = 127.0.0.1:{}\n\
                 cert = {}\nkey = {}\n",
                s3.port,
                cert.display(),
                key.display()
            ),
        )
        .unwrap();
        let stunnel = Command::new("stunnel")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("stunnel must be installed (scripts/test-services installs it)");
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", tls_port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "stunnel did not open port {tls_port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            tls_port,
            cert,
            stunnel,
            s3,
        }
    }
}

impl Drop for S3OverTls {
    fn drop(&mut self) {
        let _ = self.stunnel.kill();
        let _ = self.stunnel.wait();
    }
}

/// Serve with PITR, take a base backup, write rows A, note the moment,
/// write rows B, stop, restore to the moment: A is there, B is not.
async fn restores_to_a_moment(envs: &[(&str, String)], root: &Path, data: &Path) {
    let serving = serve_until_ready(envs, root).await;
    let backup = succeeded(&ftry_pitr(envs, root, &["backup"]));
    assert!(backup.contains("  full  "), "the first backup is full: {backup}");
    wait_for_the_window_to_open(envs, root).await;

    let mut db = superuser(data).await;
    sqlx::raw_sql("CREATE TABLE pitr_probe (batch text NOT NULL, n int NOT NULL)")
        .execute(&mut db)
        .await
        .unwrap();
    insert_rows(&mut db, "A", 120).await;
    archive_now(&mut db).await;
    let moment: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT clock_timestamp()")
        .fetch_one(&mut db)
        .await
        .unwrap();
    insert_rows(&mut db, "B", 45).await;
    archive_now(&mut db).await;
    assert_eq!(
        rows_by_batch(&mut db).await,
        vec![("A".to_owned(), 120), ("B".to_owned(), 45)]
    );

    let status: serde_json::Value =
        serde_json::from_str(&succeeded(&ftry_pitr(envs, root, &["status", "--json"]))).unwrap();
    assert_eq!(status["status"], "ok");
    assert_eq!(status["backups"].as_array().unwrap().len(), 1);
    assert_eq!(status["archiver"]["failed_count"], 0);
    db.close().await.unwrap();

    let target = moment.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let while_running = ftry_pitr(envs, root, &["restore", "--to", &target]);
    assert_eq!(while_running.status.code(), Some(1));
    assert_eq!(
        told(&while_running),
        format!(
            "ftry: ftry is running on data directory {}: stop it before restoring",
            canonical(data).display()
        )
    );
    stop(serving);

    let restored = succeeded(&ftry_pitr(envs, root, &["restore", "--to", &target]));
    assert!(
        restored.starts_with(&format!(
            "restored the embedded cluster to {} from base backup ",
            printed(&target)
        )),
        "{restored}"
    );

    let serving = serve_until_ready(envs, root).await;
    let mut db = superuser(data).await;
    assert_eq!(rows_by_batch(&mut db).await, vec![("A".to_owned(), 120)]);
    let in_recovery: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert!(!in_recovery, "the restored cluster was promoted");
    db.close().await.unwrap();
    stop(serving);
}

#[tokio::test]
async fn a_restore_that_cannot_be_done_is_refused_with_one_line() {
    require_pgbackrest();
    let root = traversable_tempdir();
    let data = data_dir(root.path());
    let envs = pitr_envs(&data);

    let no_stanza = ftry_pitr(&envs, root.path(), &["restore", "--to", "2026-01-01T00:00:00Z"]);
    assert_eq!(no_stanza.status.code(), Some(1));
    assert_eq!(
        told(&no_stanza),
        format!(
            "ftry: no PITR stanza `ftry` in {}: start ftry with pitr.enabled = true, then take a base backup with `ftry pitr backup`",
            data.join("pgbackrest").display()
        )
    );

    let serving = serve_until_ready(&envs, root.path()).await;
    succeeded(&ftry_pitr(&envs, root.path(), &["backup"]));
    wait_for_the_window_to_open(&envs, root.path()).await;
    let mut db = superuser(&data).await;
    sqlx::raw_sql("CREATE TABLE pitr_probe (batch text NOT NULL, n int NOT NULL)")
        .execute(&mut db)
        .await
        .unwrap();
    archive_now(&mut db).await;
    db.close().await.unwrap();
    stop(serving);
    let status: serde_json::Value =
        serde_json::from_str(&succeeded(&ftry_pitr(&envs, root.path(), &["status", "--json"]))).unwrap();
    let start = printed(status["window_start"].as_str().unwrap());
    let end = printed(status["window_end"].as_str().unwrap());

    let before = ftry_pitr(
        &envs,
        root.path(),
        &["restore", "--to", "2020-01-01T05:30:00+05:30"],
    );
    assert_eq!(before.status.code(), Some(1));
    assert_eq!(
        told(&before),
        format!("ftry: 2020-01-01T00:00:00Z is before the recovery window, which starts at {start}")
    );

    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let after = ftry_pitr(&envs, root.path(), &["restore", "--to", &now]);
    assert_eq!(after.status.code(), Some(1));
    assert_eq!(
        told(&after),
        format!(
            "ftry: {} is after the recovery window, which ends at {end} (the newest archived WAL)",
            printed(&now)
        )
    );

    let garbled = ftry_pitr(&envs, root.path(), &["restore", "--to", "yesterday"]);
    assert_eq!(garbled.status.code(), Some(1));
    assert_eq!(
        told(&garbled),
        "ftry: --to \"yesterday\": expected an RFC 3339 time such as 2026-05-04T10:15:00+05:30"
    );

    let off = ftry_pitr(
        &[("FTRY_DATA_DIR", data.display().to_string())],
        root.path(),
        &["status"],
    );
    assert_eq!(off.status.code(), Some(1));
    assert_eq!(
        told(&off),
        "ftry: point-in-time recovery is off: set pitr.enabled = true (FTRY_PITR_ENABLED=true)"
    );
}

#[tokio::test]
async fn without_the_pgbackrest_program_the_embedded_cluster_does_not_start_and_says_what_to_install() {
    let root = traversable_tempdir();
    let data = data_dir(root.path());
    let mut envs = pitr_envs(&data);
    let missing = root.path().join("no-such-pgbackrest");
    envs.push(("FTRY_PITR_PGBACKREST", missing.display().to_string()));

    let output = ftry_pitr(&envs, root.path(), &["backup"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        told(&output),
        format!(
            "ftry: pgbackrest ({}) cannot be run: No such file or directory (os error 2); \
             install it with `apt-get install pgbackrest` or set pitr.pgbackrest",
            missing.display()
        )
    );
}
