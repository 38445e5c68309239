//! Runs the embedded PostgreSQL against the real server binaries. These
//! tests expect to run as root with the Debian `postgresql` package
//! installed, so they exercise the run-as-`postgres` path.

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ftry_ops::embedded::{EmbeddedError, EmbeddedPostgres, EmbeddedSettings};
use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use sqlx::{Connection, PgConnection};
use tempfile::TempDir;

/// Set for the helper process of the orphan test: the data dir to start on.
const CRASH_HELPER_DATA_DIR_ENV: &str = "FTRY_TEST_CRASH_HELPER_DATA_DIR";
const CRASH_HELPER_TEST_NAME: &str = "crash_helper_starts_postgres_and_waits_to_be_killed";
const CRASH_HELPER_PID_PREFIX: &str = "POSTMASTER_PID=";

/// A data dir the `postgres` user can reach: tempdirs are 0700 and
/// root-owned, so the data dir is a subdirectory of one opened up to 0755.
struct TestDataDir {
    _root: TempDir,
    path: PathBuf,
}

fn test_data_dir() -> TestDataDir {
    // Short paths keep the socket path well under the unix limit.
    let root = tempfile::Builder::new()
        .prefix("ftry")
        .tempdir_in("/tmp")
        .expect("create temp dir");
    fs::set_permissions(root.path(), fs::Permissions::from_mode(0o755)).expect("open up temp dir");
    let path = root.path().join("d");
    TestDataDir { _root: root, path }
}

fn settings(data_dir: &Path) -> EmbeddedSettings {
    EmbeddedSettings {
        data_dir: data_dir.to_path_buf(),
        pg_bindir: None,
        run_as: None,
        startup_timeout: Duration::from_secs(60),
    }
}

fn postmaster_pid_file(data_dir: &Path) -> PathBuf {
    data_dir.join("postgres").join("postmaster.pid")
}

fn first_line_pid(pid_file: &Path) -> i32 {
    let contents = fs::read_to_string(pid_file).expect("read postmaster.pid");
    contents
        .lines()
        .next()
        .and_then(|line| line.trim().parse().ok())
        .expect("pid on the first line of postmaster.pid")
}

fn pid(raw: u32) -> Pid {
    Pid::from_raw(i32::try_from(raw).expect("pid fits in i32"))
}

/// Exited processes whose parent does not reap them linger as zombies; they
/// count as gone.
fn is_running(pid: Pid) -> bool {
    if kill(pid, None) == Err(Errno::ESRCH) {
        return false;
    }
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, None | Some('Z' | 'X'))
}

async fn query_one_bool(options: &sqlx::postgres::PgConnectOptions, sql: &str) -> bool {
    let mut conn = PgConnection::connect_with(options).await.expect("connect");
    let value: bool = sqlx::query_scalar(sql).fetch_one(&mut conn).await.expect("query");
    conn.close().await.expect("close");
    value
}

#[tokio::test]
async fn first_start_initializes_bootstraps_and_second_start_reuses_the_cluster() {
    let dir = test_data_dir();

    let pg = EmbeddedPostgres::start(&settings(&dir.path))
        .await
        .expect("first start");
    assert!(dir.path.join("postgres/PG_VERSION").is_file());
    assert_eq!(
        pg.socket_dir(),
        fs::canonicalize(&dir.path).expect("canonical").join("run")
    );
    assert_eq!(
        first_line_pid(&postmaster_pid_file(&dir.path)),
        pid(pg.pid()).as_raw()
    );

    let mut app = PgConnection::connect_with(&pg.app_options())
        .await
        .expect("connect as app");
    let identity: (String, bool, bool) = sqlx::query_as(
        "SELECT current_user::text, \
                (SELECT rolsuper FROM pg_roles WHERE rolname = current_user), \
                (SELECT rolbypassrls FROM pg_roles WHERE rolname = current_user)",
    )
    .fetch_one(&mut app)
    .await
    .expect("query identity");
    assert_eq!(identity, ("ftry_app".to_owned(), false, false));
    let database_owner: String = sqlx::query_scalar(
        "SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = current_database()",
    )
    .fetch_one(&mut app)
    .await
    .expect("query database owner");
    assert_eq!(database_owner, "ftry_owner");
    let app_create = sqlx::query("CREATE TABLE app_may_not_create (id int)")
        .execute(&mut app)
        .await
        .expect_err("ftry_app must not create tables in public");
    let app_create_code = app_create
        .as_database_error()
        .and_then(|error| error.code())
        .map(|code| code.into_owned());
    assert_eq!(app_create_code.as_deref(), Some("42501"));
    app.close().await.expect("close app connection");

    let mut owner = PgConnection::connect_with(&pg.owner_options())
        .await
        .expect("connect as owner");
    let owner_identity: (String, bool) = sqlx::query_as(
        "SELECT current_user::text, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)",
    )
    .fetch_one(&mut owner)
    .await
    .expect("query owner identity");
    assert_eq!(owner_identity, ("ftry_owner".to_owned(), false));
    sqlx::query("CREATE TABLE survives_restart (id int)")
        .execute(&mut owner)
        .await
        .expect("owner creates a table");
    owner.close().await.expect("close owner connection");

    let first_pid = pid(pg.pid());
    pg.stop().await.expect("stop");
    assert_eq!(kill(first_pid, None), Err(Errno::ESRCH));
    assert!(!postmaster_pid_file(&dir.path).exists());

    let pg = EmbeddedPostgres::start(&settings(&dir.path))
        .await
        .expect("second start");
    let table_exists = query_one_bool(
        &pg.owner_options(),
        "SELECT to_regclass('public.survives_restart') IS NOT NULL",
    )
    .await;
    assert!(table_exists);
    pg.stop().await.expect("stop after second start");
}

/// Not a test of its own: the orphan test runs this in a child process as
/// a stand-in for ftry, and SIGKILLs it while PostgreSQL runs.
#[tokio::test]
#[ignore = "helper process for orphan_server_left_by_a_killed_ftry_is_stopped_and_replaced"]
async fn crash_helper_starts_postgres_and_waits_to_be_killed() {
    let Some(data_dir) = std::env::var_os(CRASH_HELPER_DATA_DIR_ENV) else {
        return;
    };
    let pg = EmbeddedPostgres::start(&settings(Path::new(&data_dir)))
        .await
        .expect("helper start");
    println!("{CRASH_HELPER_PID_PREFIX}{}", pg.pid());
    // Bounded so a parent that failed to kill us does not leave us forever.
    tokio::time::sleep(Duration::from_secs(120)).await;
    pg.stop().await.expect("helper stop");
}

/// Kills the helper if the test fails before doing so itself.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_crash_helper(data_dir: &Path) -> (KillOnDrop, Pid) {
    let exe = std::env::current_exe().expect("test binary path");
    let mut helper = KillOnDrop(
        Command::new(exe)
            .args([
                CRASH_HELPER_TEST_NAME,
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CRASH_HELPER_DATA_DIR_ENV, data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn crash helper"),
    );
    let stdout = helper.0.stdout.take().expect("helper stdout");
    let postmaster = BufReader::new(stdout)
        .lines()
        .map(|line| line.expect("read helper output"))
        // libtest prints "test <name> ... " without a newline before the
        // test's own output, so the marker is not at the start of the line.
        .find_map(|line| {
            line.split_once(CRASH_HELPER_PID_PREFIX)?
                .1
                .trim()
                .parse::<i32>()
                .ok()
        })
        .expect("helper printed the postmaster pid before exiting");
    (helper, Pid::from_raw(postmaster))
}

#[tokio::test]
async fn orphan_server_left_by_a_killed_ftry_is_stopped_and_replaced() {
    let dir = test_data_dir();
    let (mut helper, orphan) = spawn_crash_helper(&dir.path);

    // What a SIGKILLed ftry leaves: its lock released by the kernel, and a
    // live postmaster with its pid file.
    kill(pid(helper.0.id()), Signal::SIGKILL).expect("kill helper");
    helper.0.wait().expect("reap helper");
    assert!(is_running(orphan));
    assert_eq!(first_line_pid(&postmaster_pid_file(&dir.path)), orphan.as_raw());

    let pg = EmbeddedPostgres::start(&settings(&dir.path))
        .await
        .expect("start after crash");
    assert!(!is_running(orphan));
    assert_ne!(pid(pg.pid()), orphan);
    assert_eq!(
        first_line_pid(&postmaster_pid_file(&dir.path)),
        pid(pg.pid()).as_raw()
    );
    assert!(query_one_bool(&pg.app_options(), "SELECT current_user = 'ftry_app'").await);

    let new_pid = pid(pg.pid());
    pg.stop().await.expect("stop");
    assert_eq!(kill(new_pid, None), Err(Errno::ESRCH));
}

#[tokio::test]
async fn stale_pid_file_with_a_dead_pid_is_removed_before_start() {
    let dir = test_data_dir();
    let pg = EmbeddedPostgres::start(&settings(&dir.path))
        .await
        .expect("initial start");
    pg.stop().await.expect("initial stop");

    // Above this machine's pid_max, or at least not a live process.
    let dead_pid = Pid::from_raw(4_194_000);
    assert_eq!(kill(dead_pid, None), Err(Errno::ESRCH));
    let pid_file = postmaster_pid_file(&dir.path);
    let cluster = fs::canonicalize(dir.path.join("postgres")).expect("canonical cluster");
    fs::write(&pid_file, format!("{dead_pid}\n{}\n", cluster.display())).expect("write stale pid file");
    let socket_lock = dir.path.join("run/.s.PGSQL.5432.lock");
    fs::write(&socket_lock, format!("{dead_pid}\n")).expect("write stale socket lock");

    let pg = EmbeddedPostgres::start(&settings(&dir.path))
        .await
        .expect("start over stale pid file");
    assert_eq!(first_line_pid(&pid_file), pid(pg.pid()).as_raw());
    assert_eq!(first_line_pid(&socket_lock), pid(pg.pid()).as_raw());
    assert!(query_one_bool(&pg.app_options(), "SELECT current_user = 'ftry_app'").await);
    pg.stop().await.expect("stop");
    assert!(!pid_file.exists());
}

#[tokio::test]
async fn missing_binaries_name_the_package_to_install() {
    let dir = test_data_dir();
    let empty_bindir = tempfile::Builder::new()
        .prefix("ftry")
        .tempdir_in("/tmp")
        .expect("create empty bindir");
    let settings = EmbeddedSettings {
        pg_bindir: Some(empty_bindir.path().to_path_buf()),
        ..settings(&dir.path)
    };

    let error = EmbeddedPostgres::start(&settings)
        .await
        .expect_err("start without binaries");
    assert!(
        matches!(error, EmbeddedError::BinariesNotFound { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("apt-get install postgresql"), "{message}");
    assert!(
        message.contains(&empty_bindir.path().display().to_string()),
        "{message}"
    );
    assert!(!message.contains('\n'), "{message}");
    assert!(!dir.path.exists(), "nothing is created before binaries are found");
}

#[tokio::test]
async fn second_concurrent_start_on_the_same_data_dir_is_refused() {
    let dir = test_data_dir();
    let first = EmbeddedPostgres::start(&settings(&dir.path))
        .await
        .expect("first start");

    let error = EmbeddedPostgres::start(&settings(&dir.path))
        .await
        .expect_err("second start must be refused");
    assert!(matches!(error, EmbeddedError::DataDirInUse { .. }), "{error:?}");
    let canonical = fs::canonicalize(&dir.path).expect("canonical data dir");
    assert_eq!(
        error.to_string(),
        format!(
            "data directory {} is in use by another ftry process",
            canonical.display()
        )
    );
    assert!(is_running(pid(first.pid())));
    assert!(query_one_bool(&first.app_options(), "SELECT current_user = 'ftry_app'").await);

    first.stop().await.expect("stop first");
    let again = EmbeddedPostgres::start(&settings(&dir.path))
        .await
        .expect("start once the first has stopped");
    again.stop().await.expect("stop again");
}
