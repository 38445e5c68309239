//! Logical backups through `ftry backup`: a backup holds every row of every
//! business (counted in the dump's own snapshot), verifies, and is refused
//! once a byte changes or it is cut short; a role that row-level security
//! restricts cannot take one.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use reqwest::Method;
use serde_json::json;
use sqlx::{Connection, Row};
use support::{body, config_for, send, TestApp, TestDb};

fn ftry_backup(db: &TestDb, dir: &Path, superuser: bool, args: &[&str]) -> Output {
    backup_command(db, dir, superuser, args).output().unwrap()
}

/// `ftry backup <args>` against `db`, staging in `dir`.
fn backup_command(db: &TestDb, dir: &Path, superuser: bool, args: &[&str]) -> std::process::Command {
    let mut command = support::ftry_command();
    command
        .arg("backup")
        .args(args)
        .env("DATABASE_URL", db.app_url())
        .env("FTRY_DATABASE_OWNER_URL", db.owner_url())
        .env("FTRY_BACKUP_DIR", dir);
    if superuser {
        command.env("FTRY_BACKUP_DATABASE_URL", db.superuser_url());
    }
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// What ftry told the operator: the last line of its standard error (the
/// lines before it are its log).
fn told(output: &Output) -> String {
    text(&output.stderr).lines().last().unwrap_or_default().to_owned()
}

/// A migrated database holding a business of each name, each with a client
/// (phone and email sealed, so encrypted columns are backed up too).
async fn with_businesses(names: &[&str]) -> TestDb {
    let db = TestDb::create().await;
    let mut app = TestApp::spawn(config_for(&db)).await;
    app.db = Some(db.clone());
    for (i, name) in names.iter().enumerate() {
        let business = app.signup(name).await;
        if i == 0 {
            // A finalized invoice: the restore checks the ledger.
            invoiced(&app, &business).await;
        }
        body(
            send(
                &app,
                &business.access_token,
                Method::POST,
                "/api/v1/clients",
                Some(&json!({"name": "Meera Iyer", "phone": "+919845000111", "email": "meera@example.com"})),
            )
            .await,
            201,
        )
        .await;
    }
    app.stop().await;
    db
}

/// A finalized walk-in invoice of one custom line.
async fn invoiced(app: &TestApp, business: &support::Business) {
    let token = &business.access_token;
    let draft = body(
        send(
            app,
            token,
            Method::POST,
            "/api/v1/invoices",
            Some(&json!({"location_id": business.location_id, "customer": {"name": "Walk-in guest"}})),
        )
        .await,
        201,
    )
    .await;
    let invoice = draft["id"].as_str().unwrap();
    let line =
        json!({"kind": "custom", "description": "Blow-dry", "code": "999721", "unit_price_paise": 50000});
    let lines = format!("/api/v1/invoices/{invoice}/lines");
    body(send(app, token, Method::POST, &lines, Some(&line)).await, 201).await;
    let finalize = format!("/api/v1/invoices/{invoice}/finalize");
    body(send(app, token, Method::POST, &finalize, None).await, 200).await;
}

/// The progress ftry reported in `phase` (one JSON object a line, on
/// standard error when it is not a terminal): (done, total) each time.
fn progress(output: &Output, phase: &str) -> Vec<(i64, i64)> {
    text(&output.stderr)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["phase"] == phase)
        .map(|v| (v["done"].as_i64().unwrap(), v["total"].as_i64().unwrap()))
        .collect()
}

/// Take a backup as the superuser; its id.
fn created(db: &TestDb, dir: &Path) -> String {
    let created = ftry_backup(db, dir, true, &["create"]);
    assert!(created.status.success(), "{}", text(&created.stderr));
    // A line of progress per table dumped, counting up to all of them.
    let id = text(&created.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(format!("{id}.json"))).unwrap()).unwrap();
    let total = manifest["tables"].as_object().unwrap().len() as i64;
    assert_eq!(
        progress(&created, "dump"),
        (1..=total).map(|n| (n, total)).collect::<Vec<_>>()
    );
    id
}

/// Rows of every table, counted as the superuser.
async fn row_counts(db: &TestDb) -> BTreeMap<String, i64> {
    let mut conn = db.admin().await;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
          WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut counts = BTreeMap::new();
    for table in tables {
        let row = sqlx::query(&format!("SELECT count(*) AS n FROM \"{table}\""))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        counts.insert(table, row.get::<i64, _>("n"));
    }
    counts
}

#[tokio::test]
async fn a_backup_holds_every_row_verifies_and_is_refused_once_damaged() {
    let db = with_businesses(&["Lotus Salon", "Rose Spa"]).await;
    let dir = tempfile::tempdir().unwrap();

    // The owner role is held to row-level security: it cannot take one.
    let refused = ftry_backup(&db, dir.path(), false, &["create"]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("row-level security"),
        "{}",
        text(&refused.stderr)
    );

    let created = ftry_backup(&db, dir.path(), true, &["create"]);
    assert!(created.status.success(), "{}", text(&created.stderr));
    let line = text(&created.stdout);
    let id = line.split_whitespace().next().unwrap().to_owned();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(format!("{id}.json"))).unwrap()).unwrap();
    let tables: BTreeMap<String, i64> = serde_json::from_value(manifest["tables"].clone()).unwrap();
    let counts = row_counts(&db).await;
    assert_eq!(tables, counts, "every table, every row");
    assert_eq!(tables["tenants"], 2);
    assert_eq!(tables["clients"], 2);
    let dump = dir.path().join(format!("{id}.dump"));
    let bytes = std::fs::read(&dump).unwrap();
    assert_eq!(manifest["size_bytes"], bytes.len());
    assert!(bytes.starts_with(b"PGDMP"), "pg_dump's custom format");
    let latest = ftry_store::migrate::MIGRATOR
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap();
    assert_eq!(manifest["schema_version"], latest);
    assert_eq!(manifest["ftry_version"], env!("CARGO_PKG_VERSION"));

    let listed = ftry_backup(&db, dir.path(), true, &["list"]);
    assert!(listed.status.success());
    assert_eq!(text(&listed.stdout), line);
    let verified = ftry_backup(&db, dir.path(), true, &["verify", &id]);
    assert!(verified.status.success(), "{}", text(&verified.stderr));
    assert_eq!(text(&verified.stdout), format!("{}  ok\n", line.trim_end()));

    // One byte changed in the middle: refused.
    let mut flipped = bytes.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x01;
    std::fs::write(&dump, &flipped).unwrap();
    let damaged = ftry_backup(&db, dir.path(), true, &["verify", &id]);
    assert_eq!(damaged.status.code(), Some(1));
    assert_eq!(
        told(&damaged),
        format!("ftry: backup {id}: its SHA-256 does not match the manifest (the file changed)")
    );
    // Cut short: refused, saying so.
    std::fs::write(&dump, &bytes[..bytes.len() - 100]).unwrap();
    let truncated = ftry_backup(&db, dir.path(), true, &["verify", &id]);
    assert_eq!(truncated.status.code(), Some(1));
    assert_eq!(
        told(&truncated),
        format!(
            "ftry: backup {id}: {} bytes where the manifest says {} (truncated or grown)",
            bytes.len() - 100,
            bytes.len()
        )
    );
    let unknown = ftry_backup(&db, dir.path(), true, &["verify", "20200101T000000000Z"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert_eq!(
        told(&unknown),
        format!("ftry: no backup 20200101T000000000Z in {}", dir.path().display())
    );

    // Made by a newer ftry (a schema this one does not know): refused by
    // verify and by restore, before anything is read or written.
    std::fs::write(&dump, &bytes).unwrap();
    let mut newer = manifest.clone();
    newer["schema_version"] = json!(latest + 1);
    std::fs::write(
        dir.path().join(format!("{id}.json")),
        serde_json::to_vec(&newer).unwrap(),
    )
    .unwrap();
    let expected = format!(
        "ftry: backup {id} was made by a newer ftry (schema {}; this one knows {latest})",
        latest + 1
    );
    let verify = ftry_backup(&db, dir.path(), true, &["verify", &id]);
    assert_eq!(verify.status.code(), Some(1));
    assert_eq!(told(&verify), expected);
    let restore = ftry_backup(
        &db,
        dir.path(),
        true,
        &["restore", &id, "--target", &db.superuser_url()],
    );
    assert_eq!(restore.status.code(), Some(1));
    assert_eq!(told(&restore), expected);
}

/// Each table's rows as text, ordered, hashed: equal contents, equal digests.
async fn contents(conn: &mut sqlx::PgConnection) -> BTreeMap<String, String> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
          WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let mut digests = BTreeMap::new();
    for table in tables {
        let digest: String = sqlx::query_scalar(&format!(
            "SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM \"{table}\" t"
        ))
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        digests.insert(table, digest);
    }
    digests
}

#[tokio::test]
async fn a_backup_restores_into_a_new_database_with_the_same_contents_and_a_damaged_one_does_not() {
    let db = with_businesses(&["Restore Salon"]).await;
    let dir = tempfile::tempdir().unwrap();
    let id = created(&db, dir.path());

    // A new, empty database on the same server.
    let target = format!("ftry_restore_{}", uuid::Uuid::now_v7().simple());
    let mut admin = sqlx::PgConnection::connect(&support::admin_url()).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {target}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let mut target_url = url::Url::parse(&support::admin_url()).unwrap();
    target_url.set_path(&target);
    let target_url = target_url.to_string();

    let restored = ftry_backup(&db, dir.path(), true, &["restore", &id, "--target", &target_url]);
    assert!(restored.status.success(), "{}", text(&restored.stderr));
    let tables = row_counts(&db).await.len();
    let rows: i64 = row_counts(&db).await.values().sum();
    assert!(
        text(&restored.stdout).ends_with(&format!(
            ": {tables} tables, {rows} rows, as its manifest says\nledger: ok (1 documents in 1 series)\n"
        )),
        "{}",
        text(&restored.stdout)
    );
    let restoring = progress(&restored, "restore");
    let tables = tables as i64;
    assert_eq!(restoring, (1..=tables).map(|n| (n, tables)).collect::<Vec<_>>());
    let mut source = db.admin().await;
    let mut copy = sqlx::PgConnection::connect(&target_url).await.unwrap();
    assert_eq!(
        contents(&mut copy).await,
        contents(&mut source).await,
        "every table's contents"
    );

    // Into a database that is not empty: refused.
    let again = ftry_backup(&db, dir.path(), true, &["restore", &id, "--target", &target_url]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        told(&again).ends_with("restore into a new, empty database (or replace its contents with --force)"),
        "{}",
        told(&again)
    );
    // Replacing it takes its name typed: without it, or with another, nothing changes.
    sqlx::query("UPDATE clients SET name = 'Changed after the backup'")
        .execute(&mut copy)
        .await
        .unwrap();
    let changed = contents(&mut copy).await;
    let unconfirmed = ftry_backup(
        &db,
        dir.path(),
        true,
        &["restore", &id, "--target", &target_url, "--force"],
    );
    assert_eq!(unconfirmed.status.code(), Some(1));
    assert_eq!(
        told(&unconfirmed),
        format!(
            "ftry: --force replaces everything in the database {target}: confirm with --confirm {target}"
        )
    );
    let mistyped = ftry_backup(
        &db,
        dir.path(),
        true,
        &[
            "restore",
            &id,
            "--target",
            &target_url,
            "--force",
            "--confirm",
            "ftry",
        ],
    );
    assert_eq!(mistyped.status.code(), Some(1));
    assert_eq!(
        told(&mistyped),
        format!("ftry: not confirmed (\"ftry\" is not \"{target}\"): nothing restored")
    );
    assert_eq!(contents(&mut copy).await, changed);
    drop(copy);
    let replaced = ftry_backup(
        &db,
        dir.path(),
        true,
        &[
            "restore",
            &id,
            "--target",
            &target_url,
            "--force",
            "--confirm",
            &target,
        ],
    );
    assert!(replaced.status.success(), "{}", text(&replaced.stderr));
    let mut copy = sqlx::PgConnection::connect(&target_url).await.unwrap();
    assert_eq!(
        contents(&mut copy).await,
        contents(&mut source).await,
        "the backup's contents again"
    );

    // A ledger altered after the backup is found when that database's own
    // backup is restored.
    sqlx::query("ALTER TABLE invoice_lines DISABLE TRIGGER USER")
        .execute(&mut source)
        .await
        .unwrap();
    sqlx::query("UPDATE invoice_lines SET description = 'Altered'")
        .execute(&mut source)
        .await
        .unwrap();
    let altered = created(&db, dir.path());
    let broken = ftry_backup(
        &db,
        dir.path(),
        true,
        &[
            "restore",
            &altered,
            "--target",
            &target_url,
            "--force",
            "--confirm",
            &target,
        ],
    );
    assert_eq!(broken.status.code(), Some(1));
    assert!(
        told(&broken).contains("restored, but the invoice ledger is broken at document "),
        "{}",
        told(&broken)
    );
    sqlx::query("ALTER TABLE invoice_lines ENABLE TRIGGER USER")
        .execute(&mut source)
        .await
        .unwrap();

    // A damaged backup restores nothing.
    let dump = dir.path().join(format!("{id}.dump"));
    let mut bytes = std::fs::read(&dump).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&dump, &bytes).unwrap();
    let empty = format!("ftry_restore_{}", uuid::Uuid::now_v7().simple());
    sqlx::query(&format!("CREATE DATABASE {empty}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let mut empty_url = url::Url::parse(&support::admin_url()).unwrap();
    empty_url.set_path(&empty);
    let refused = ftry_backup(
        &db,
        dir.path(),
        true,
        &["restore", &id, "--target", empty_url.as_str()],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(
        told(&refused),
        format!("ftry: backup {id}: its SHA-256 does not match the manifest (the file changed)")
    );
    let mut untouched = sqlx::PgConnection::connect(empty_url.as_str()).await.unwrap();
    let tables: i64 =
        sqlx::query_scalar("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
            .fetch_one(&mut untouched)
            .await
            .unwrap();
    assert_eq!(tables, 0);
}

/// (status, error) of every scheduled backup run, oldest first.
async fn runs(db: &TestDb) -> Vec<(String, Option<String>)> {
    sqlx::query_as("SELECT status, error FROM backup_runs ORDER BY started_at")
        .fetch_all(&mut db.admin().await)
        .await
        .unwrap()
}

async fn wait_for_run(db: &TestDb) -> (String, Option<String>) {
    let started = std::time::Instant::now();
    loop {
        if let Some(run) = runs(db).await.into_iter().find(|r| r.0 != "running") {
            return run;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "no backup run ended"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_daily_backup_runs_on_a_worker_and_its_outcome_is_in_the_metrics() {
    use support::metrics::{sample, scrape_port};
    // A node that cannot read every row: the run fails, and says why.
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = config_for(&db);
    config.jobs.run_in_serve = true;
    config.jobs.poll_interval_ms = 50;
    config.jobs.backup_cron = "30 2 * * *".into();
    config.jobs.retry_base_secs = 3600;
    config.backup.dir = Some(dir.path().to_path_buf());
    let app = TestApp::spawn(config.clone()).await;
    let (status, error) = wait_for_run(&db).await;
    assert_eq!(status, "failed");
    assert!(
        error
            .as_deref()
            .unwrap_or_default()
            .contains("row-level security"),
        "{error:?}"
    );
    let scrape = scrape_port(app.admin_addr.port()).await;
    assert!(sample(&scrape, "ftry_backup_last_failure_timestamp_seconds", "").unwrap() > 0.0);
    assert_eq!(
        sample(&scrape, "ftry_backup_last_success_timestamp_seconds", ""),
        Some(0.0)
    );
    app.stop().await;

    // With a role that reads everything, the missed 02:30 run is taken at start.
    let db = TestDb::create().await;
    config = config_for(&db);
    config.jobs.run_in_serve = true;
    config.jobs.poll_interval_ms = 50;
    config.jobs.backup_cron = "30 2 * * *".into();
    config.backup.dir = Some(dir.path().to_path_buf());
    config.backup.database_url = Some(db.superuser_url().try_into().unwrap());
    let before = chrono::Utc::now().timestamp() as f64;
    let app = TestApp::spawn(config).await;
    let (status, error) = wait_for_run(&db).await;
    assert_eq!((status.as_str(), error), ("succeeded", None));
    let (backup_id, size): (String, i64) =
        sqlx::query_as("SELECT backup_id, size_bytes FROM backup_runs WHERE status = 'succeeded'")
            .fetch_one(&mut db.admin().await)
            .await
            .unwrap();
    assert_eq!(
        std::fs::metadata(dir.path().join(format!("{backup_id}.dump")))
            .unwrap()
            .len() as i64,
        size
    );
    let scrape = scrape_port(app.admin_addr.port()).await;
    let last = sample(&scrape, "ftry_backup_last_success_timestamp_seconds", "").unwrap();
    assert!(
        last >= before.floor() && last <= chrono::Utc::now().timestamp() as f64 + 1.0,
        "{last}"
    );
    assert_eq!(
        sample(&scrape, "ftry_backup_last_success_size_bytes", ""),
        Some(size as f64)
    );
    assert!(sample(&scrape, "ftry_backup_last_success_duration_seconds", "").unwrap() > 0.0);
    app.stop().await;
}

#[tokio::test]
async fn pruning_keeps_the_newest_backups_the_retention_asks_for_and_deletes_the_rest() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    let id = created(&db, dir.path());
    // Four older copies, a day apart, as earlier daily runs would have left.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(format!("{id}.json"))).unwrap()).unwrap();
    let started: chrono::DateTime<chrono::Utc> = manifest["started_at"].as_str().unwrap().parse().unwrap();
    let mut ids = vec![id.clone()];
    for days in 1..=4 {
        let at = started - chrono::Duration::days(days);
        let older = at.format("%Y%m%dT%H%M%S%3fZ").to_string();
        let mut copy = manifest.clone();
        copy["id"] = json!(older);
        copy["started_at"] = json!(at);
        std::fs::write(
            dir.path().join(format!("{older}.json")),
            serde_json::to_vec(&copy).unwrap(),
        )
        .unwrap();
        std::fs::copy(
            dir.path().join(format!("{id}.dump")),
            dir.path().join(format!("{older}.dump")),
        )
        .unwrap();
        ids.push(older);
    }
    let prune = |dry: bool| {
        let mut command = support::ftry_command();
        command
            .args(["backup", "prune"])
            .args(dry.then_some("--dry-run"))
            .env("DATABASE_URL", db.app_url())
            .env("FTRY_DATABASE_OWNER_URL", db.owner_url())
            .env("FTRY_BACKUP_DATABASE_URL", db.superuser_url())
            .env("FTRY_BACKUP_DIR", dir.path())
            .env("FTRY_BACKUP_KEEP_DAILY", "2")
            .env("FTRY_BACKUP_KEEP_WEEKLY", "0")
            .env("FTRY_BACKUP_KEEP_MONTHLY", "0");
        command.output().unwrap()
    };
    let expected_gone: Vec<&String> = ids[2..].iter().rev().collect();
    let dry = prune(true);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    let mut lines: Vec<String> = expected_gone
        .iter()
        .map(|id| format!("would delete {id}"))
        .collect();
    lines.push("3 backups would delete, 2 kept".into());
    assert_eq!(text(&dry.stdout), lines.join("\n") + "\n");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        10,
        "a dry run deletes nothing"
    );

    let pruned = prune(false);
    assert!(pruned.status.success(), "{}", text(&pruned.stderr));
    let mut lines: Vec<String> = expected_gone.iter().map(|id| format!("deleted {id}")).collect();
    lines.push("3 backups deleted, 2 kept".into());
    assert_eq!(text(&pruned.stdout), lines.join("\n") + "\n");
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    let mut expected: Vec<String> = ids[..2]
        .iter()
        .flat_map(|id| [format!("{id}.dump"), format!("{id}.json")])
        .collect();
    expected.sort();
    assert_eq!(left, expected);
}

/// The files of a zip, by name.
fn unzipped(bytes: &[u8]) -> BTreeMap<String, String> {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut files = BTreeMap::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let mut text = String::new();
        file.read_to_string(&mut text).unwrap();
        files.insert(file.name().unwrap().to_string(), text);
    }
    files
}

/// Each table's name and row count in an export's manifest.
fn manifest_counts(files: &BTreeMap<String, String>) -> Vec<(String, i64)> {
    let manifest: serde_json::Value = serde_json::from_str(&files["manifest.json"]).unwrap();
    manifest["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_owned(),
                t["rows"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_business_exports_every_table_it_holds_as_json_and_csv_and_nothing_of_another() {
    let app = TestApp::fresh().await;
    let lotus = app.signup("Lotus Salon").await;
    let rose = app.signup("Rose Spa").await;
    invoiced(&app, &lotus).await;
    for (business, name, phone) in [
        (&lotus, "Meera Iyer", "+919845000111"),
        (&rose, "Rosa Mathew", "+919845000999"),
    ] {
        body(
            send(
                &app,
                &business.access_token,
                Method::POST,
                "/api/v1/clients",
                Some(&json!({"name": name, "phone": phone, "email": "meera@example.com", "notes": "likes \"strong\" coffee, no sugar"})),
            )
            .await,
            201,
        )
        .await;
    }

    let answer = send(&app, &lotus.access_token, Method::GET, "/api/v1/export", None).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-type"], "application/zip");
    let disposition = answer.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with(&format!("attachment; filename=\"{}-", lotus.slug))
            && disposition.ends_with(".zip\""),
        "{disposition}"
    );
    let files = unzipped(&answer.bytes().await.unwrap());

    // Every table of the business's records, ftry's own working left out.
    let counts = manifest_counts(&files);
    let names: Vec<&str> = counts.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "tenants",
            "appointment_events",
            "appointment_items",
            "appointments",
            "audit_events",
            "cash_closes",
            "clients",
            "invoice_lines",
            "invoice_series",
            "invoices",
            "location_closures",
            "location_hours",
            "locations",
            "message_settings",
            "message_templates",
            "notifications",
            "payments",
            "products",
            "resources",
            "role_permissions",
            "roles",
            "service_categories",
            "service_locations",
            "services",
            "staff",
            "staff_hours",
            "staff_services",
            "stock_levels",
            "stock_movements",
            "time_off",
            "user_roles",
            "users",
            "webhook_deliveries",
            "webhook_endpoints",
        ]
    );
    let mut admin = support::admin(&app).await;
    let mut stored = stored_counts(&mut admin, &lotus.tenant_id, &counts).await;
    // The export's own audit event is written once it is made.
    stored.iter_mut().find(|(n, _)| n == "audit_events").unwrap().1 -= 1;
    assert_eq!(counts, stored);
    for (table, _) in &counts {
        assert!(
            files.contains_key(&format!("data/{table}.json"))
                && files.contains_key(&format!("data/{table}.csv"))
        );
    }
    assert_eq!(counts.iter().find(|(n, _)| n == "invoices").unwrap().1, 1);

    // Clients with their phone and email opened; no secret anywhere.
    let clients: serde_json::Value = serde_json::from_str(&files["data/clients.json"]).unwrap();
    assert_eq!(clients.as_array().unwrap().len(), 1);
    assert_eq!(clients[0]["name"], "Meera Iyer");
    assert_eq!(clients[0]["phone"], "+919845000111");
    assert_eq!(clients[0]["email"], "meera@example.com");
    let csv = &files["data/clients.csv"];
    assert!(
        csv.starts_with(
            "tenant_id,id,name,gender,birthday,notes,tags,allergies,consent_notes,marketing_consent,"
        ),
        "{csv}"
    );
    assert!(
        csv.contains(",\"likes \"\"strong\"\" coffee, no sugar\","),
        "{csv}"
    );
    assert!(
        csv.trim_end().ends_with("+919845000111,meera@example.com"),
        "{csv}"
    );
    let all: String = files.values().cloned().collect();
    for secret in [
        "ciphertext",
        "password_hash",
        "manage_token_hash",
        "secret_sealed",
        "name_search",
    ] {
        assert!(!all.contains(secret), "{secret} exported");
    }
    // Nothing of the other business.
    assert!(!all.contains("Rosa Mathew") && !all.contains(&rose.tenant_id) && !all.contains("Rose Spa"));

    // The export is audited; staff without data:export are refused.
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE action = 'tenant.exported' AND tenant_id = $1::uuid",
    )
    .bind(&lotus.tenant_id)
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert_eq!(audited, 1);
    let (_, admin_token, _) = app
        .add_member(&lotus.access_token, &lotus.tenant_id, &["admin"])
        .await;
    support::problem(
        send(&app, &admin_token, Method::GET, "/api/v1/export", None).await,
        403,
        "permission_denied",
    )
    .await;

    // The operator's command writes the same tables.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lotus.zip");
    let db = app.db.clone().unwrap();
    let exported = support::ftry_command()
        .args(["tenant", "export", &lotus.slug, "--out"])
        .arg(&out)
        .env("DATABASE_URL", db.app_url())
        .env("FTRY_DATABASE_OWNER_URL", db.owner_url())
        .output()
        .unwrap();
    assert!(exported.status.success(), "{}", text(&exported.stderr));
    let from_cli = unzipped(&std::fs::read(&out).unwrap());
    let cli_counts = manifest_counts(&from_cli);
    let rows: i64 = cli_counts.iter().map(|(_, n)| n).sum();
    let size = std::fs::metadata(&out).unwrap().len();
    assert_eq!(
        text(&exported.stdout),
        format!(
            "exported {} to {}: {} tables, {rows} rows, {size} bytes\n",
            lotus.slug,
            out.display(),
            counts.len()
        )
    );
    assert_eq!(
        cli_counts,
        stored_counts(&mut admin, &lotus.tenant_id, &counts).await
    );
    app.stop().await;
}

/// The rows each of `tables` holds of one business, counted as the superuser.
async fn stored_counts(
    admin: &mut sqlx::PgConnection,
    tenant_id: &str,
    tables: &[(String, i64)],
) -> Vec<(String, i64)> {
    let mut counts = Vec::new();
    for (table, _) in tables {
        let column = if table == "tenants" { "id" } else { "tenant_id" };
        let stored: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM \"{table}\" WHERE {column} = $1::uuid"
        ))
        .bind(tenant_id)
        .fetch_one(&mut *admin)
        .await
        .unwrap();
        counts.push((table.clone(), stored));
    }
    counts
}

#[tokio::test]
async fn a_backup_streams_to_an_s3_compatible_store_in_parts_and_restores_from_it() {
    let db = with_businesses(&["Cloud Salon"]).await;
    // Some 19 MB of hexadecimal text: a dump of several 5 MiB parts.
    let mut admin = db.admin().await;
    sqlx::query(
        "CREATE TABLE filler AS SELECT n, md5(random()::text) || md5(random()::text) AS noise
           FROM generate_series(1, 300000) n",
    )
    .execute(&mut admin)
    .await
    .unwrap();
    let s3 = support::s3::S3Server::start("ftry-backups").await;
    let staging = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let mut command = backup_command(&db, staging.path(), true, args);
        command
            .env("FTRY_BACKUP_S3_BUCKET", "ftry-backups")
            .env("FTRY_BACKUP_S3_ENDPOINT", s3.endpoint())
            .env("FTRY_BACKUP_S3_REGION", "ap-south-1")
            .env("FTRY_BACKUP_S3_PATH_STYLE", "true")
            .env("FTRY_BACKUP_S3_ACCESS_KEY_ID", "AKIAFTRYTEST")
            .env("FTRY_BACKUP_S3_SECRET_ACCESS_KEY", "ftry-test-secret")
            .env("FTRY_BACKUP_S3_PREFIX", "pune/")
            .env("FTRY_BACKUP_S3_PART_SIZE_MIB", "5");
        command.output().unwrap()
    };
    let staged = || std::fs::read_dir(staging.path()).map_or(0, |d| d.count());

    let created = run(&["create"]);
    assert!(created.status.success(), "{}", text(&created.stderr));
    let line = text(&created.stdout);
    let id = line.split_whitespace().next().unwrap().to_owned();
    assert_eq!(staged(), 0, "nothing of the dump stays on the local disk");
    assert_eq!(
        s3.keys("ftry-backups").await,
        [format!("pune/{id}.dump"), format!("pune/{id}.json")]
    );
    let manifest: serde_json::Value = s3
        .get(&format!("ftry-backups/pune/{id}.json"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(manifest["tables"]["filler"], 300000);
    let tables: BTreeMap<String, i64> = serde_json::from_value(manifest["tables"].clone()).unwrap();
    assert_eq!(tables, row_counts(&db).await, "every table, every row");
    // The object is the dump the manifest describes, sent in 5 MiB parts.
    let object = s3.get(&format!("ftry-backups/pune/{id}.dump")).await;
    let etag = object.headers()["etag"].to_str().unwrap().to_owned();
    let bytes = object.bytes().await.unwrap().to_vec();
    let size = bytes.len();
    assert_eq!(manifest["size_bytes"], size);
    assert!(bytes.starts_with(b"PGDMP"), "pg_dump's custom format");
    let part = 5 * 1024 * 1024;
    let parts = size.div_ceil(part);
    assert!(parts >= 2, "a dump of {size} bytes is larger than one part");
    assert!(
        etag.ends_with(&format!("-{parts}\"")),
        "a multipart upload of {parts} parts: {etag}"
    );
    use sha2::Digest;
    let digest: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(manifest["sha256"], digest);

    let listed = run(&["list"]);
    assert_eq!(text(&listed.stdout), line);
    let verified = run(&["verify", &id]);
    assert!(verified.status.success(), "{}", text(&verified.stderr));
    assert_eq!(text(&verified.stdout), format!("{}  ok\n", line.trim_end()));
    assert_eq!(staged(), 0, "the dump fetched to verify it is gone");

    // Restored from the store into a new database: the same contents.
    let target = format!("ftry_restore_{}", uuid::Uuid::now_v7().simple());
    sqlx::query(&format!("CREATE DATABASE {target}"))
        .execute(&mut sqlx::PgConnection::connect(&support::admin_url()).await.unwrap())
        .await
        .unwrap();
    let mut target_url = url::Url::parse(&support::admin_url()).unwrap();
    target_url.set_path(&target);
    let target_url = target_url.to_string();
    let restored = run(&["restore", &id, "--target", &target_url]);
    assert!(restored.status.success(), "{}", text(&restored.stderr));
    assert!(
        text(&restored.stdout).ends_with("as its manifest says\nledger: ok (1 documents in 1 series)\n"),
        "{}",
        text(&restored.stdout)
    );
    let mut copy = sqlx::PgConnection::connect(&target_url).await.unwrap();
    assert_eq!(contents(&mut copy).await, contents(&mut admin).await);
    drop(copy);
    assert_eq!(staged(), 0);

    // A byte flipped in the store, then the object cut short: refused.
    let put = |body: Vec<u8>| {
        s3.request(Method::PUT, &format!("ftry-backups/pune/{id}.dump"))
            .body(body)
            .send()
    };
    let mut flipped = bytes.clone();
    flipped[size / 2] ^= 0x01;
    assert_eq!(put(flipped).await.unwrap().status(), 200);
    let damaged = run(&["verify", &id]);
    assert_eq!(damaged.status.code(), Some(1));
    assert_eq!(
        told(&damaged),
        format!("ftry: backup {id}: its SHA-256 does not match the manifest (the file changed)")
    );
    assert_eq!(put(bytes[..size - 100].to_vec()).await.unwrap().status(), 200);
    let target2 = format!("{target}_b");
    sqlx::query(&format!("CREATE DATABASE {target2}"))
        .execute(&mut sqlx::PgConnection::connect(&support::admin_url()).await.unwrap())
        .await
        .unwrap();
    let refused = run(&["restore", &id, "--target", &target_url.replace(&target, &target2)]);
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(
        told(&refused),
        format!(
            "ftry: backup {id}: {} bytes where the manifest says {size} (truncated or grown)",
            size - 100
        )
    );
    assert_eq!(staged(), 0);
    let unknown = run(&["verify", "20200101T000000000Z"]);
    assert_eq!(
        told(&unknown),
        "ftry: no backup 20200101T000000000Z in s3://ftry-backups/pune/"
    );

    // A second backup the same day: pruning to one a day deletes the first.
    let second = run(&["create"]);
    assert!(second.status.success(), "{}", text(&second.stderr));
    let second = text(&second.stdout).split_whitespace().next().unwrap().to_owned();
    let pruned = run(&["prune"]);
    assert!(pruned.status.success(), "{}", text(&pruned.stderr));
    assert_eq!(
        text(&pruned.stdout),
        format!("deleted {id}\n1 backups deleted, 1 kept\n")
    );
    assert_eq!(
        s3.keys("ftry-backups").await,
        [format!("pune/{second}.dump"), format!("pune/{second}.json")]
    );
}
