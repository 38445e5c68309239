//! The zero-configuration default: `ftry serve` with no database URL runs,
//! and cleanly stops, a private PostgreSQL under its data directory.

mod support;

use std::time::Duration;

use nix::sys::signal::Signal;
use support::{data_dir, ftry_command, traversable_tempdir, FtryProcess};

fn postgres_processes_of(dir: &std::path::Path) -> Vec<String> {
    let needle = dir.to_string_lossy().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
        .filter(|cmd| cmd.contains("postgres") && cmd.contains(&needle))
        .collect()
}

#[tokio::test]
async fn serve_creates_starts_and_stops_a_private_cluster_and_reuses_it() {
    let root = traversable_tempdir();
    let data = data_dir(root.path());
    let envs = [("FTRY_DATA_DIR", data.display().to_string())];

    let mut first = FtryProcess::serve(&envs, root.path());
    let first_ready = first.wait_ready(Duration::from_secs(90)).await;
    assert!(data.join("postgres/PG_VERSION").is_file());
    assert!(
        data.join("run/.s.PGSQL.5432").exists(),
        "listens on a socket inside the data dir"
    );
    assert!(!postgres_processes_of(&data).is_empty());
    first.signal(Signal::SIGTERM);
    let status = first.wait_exit(Duration::from_secs(60));
    assert_eq!(status.code(), Some(0), "stdout: {:?}", first.stdout_lines());
    assert_eq!(postgres_processes_of(&data), Vec::<String>::new());
    assert!(!data.join("postgres/postmaster.pid").exists());
    let logs = first.stdout_lines().join("\n");
    assert!(
        logs.contains("initializing the embedded PostgreSQL cluster"),
        "{logs}"
    );
    assert!(
        logs.contains("running the embedded PostgreSQL as OS user postgres"),
        "{logs}"
    );

    let mut second = FtryProcess::serve(&envs, root.path());
    let second_ready = second.wait_ready(Duration::from_secs(60)).await;
    let logs = second.stdout_lines().join("\n");
    assert!(
        !logs.contains("initializing the embedded PostgreSQL cluster"),
        "reused: {logs}"
    );
    assert!(logs.contains("\"applied\":0"), "schema already there: {logs}");
    second.signal(Signal::SIGINT);
    assert_eq!(second.wait_exit(Duration::from_secs(60)).code(), Some(0));
    assert_eq!(postgres_processes_of(&data), Vec::<String>::new());
    println!("time to ready: first start {first_ready:?}, second start {second_ready:?}");
}

#[tokio::test]
async fn a_killed_ftry_leaves_a_cluster_the_next_start_recovers() {
    let root = traversable_tempdir();
    let data = data_dir(root.path());
    let envs = [("FTRY_DATA_DIR", data.display().to_string())];

    let mut crashed = FtryProcess::serve(&envs, root.path());
    crashed.wait_ready(Duration::from_secs(90)).await;
    crashed.signal(Signal::SIGKILL);
    crashed.wait_exit(Duration::from_secs(10));
    assert!(
        data.join("postgres/postmaster.pid").exists(),
        "the crash left the pid file"
    );

    let mut next = FtryProcess::serve(&envs, root.path());
    next.wait_ready(Duration::from_secs(60)).await;
    next.signal(Signal::SIGTERM);
    assert_eq!(next.wait_exit(Duration::from_secs(60)).code(), Some(0));
    assert_eq!(postgres_processes_of(&data), Vec::<String>::new());
}

#[tokio::test]
async fn missing_postgres_binaries_give_one_clear_error() {
    let root = traversable_tempdir();
    let output = ftry_command()
        .args(["serve"])
        .current_dir(root.path())
        .env("FTRY_DATA_DIR", data_dir(root.path()))
        .env("FTRY_EMBEDDED_PG_BINDIR", root.path())
        .env("FTRY_HTTP_ADDR", "127.0.0.1:0")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("apt-get install postgresql"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[tokio::test]
async fn a_sigterm_while_starting_is_honoured_once_started_and_leaves_nothing_running() {
    let root = traversable_tempdir();
    let data = data_dir(root.path());
    let envs = [("FTRY_DATA_DIR", data.display().to_string())];

    let mut starting = FtryProcess::serve(&envs, root.path());
    let started = std::time::Instant::now();
    while !starting
        .stdout_lines()
        .iter()
        .any(|line| line.contains("initializing the embedded PostgreSQL cluster"))
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{:?}",
            starting.stdout_lines()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    starting.signal(Signal::SIGTERM);
    let status = starting.wait_exit(Duration::from_secs(90));
    assert_eq!(status.code(), Some(0), "stdout: {:?}", starting.stdout_lines());
    assert_eq!(postgres_processes_of(&data), Vec::<String>::new());
    assert!(!data.join("postgres/postmaster.pid").exists());
    let logs = starting.stdout_lines().join("\n");
    assert!(logs.contains("\"signal\":\"SIGTERM\""), "{logs}");
}
