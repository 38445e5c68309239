//! Point-in-time recovery of the embedded cluster with pgBackRest.
//!
//! With PITR on, the embedded server archives every WAL segment into a
//! pgBackRest repository (stanza `ftry`) as it fills, or after
//! `archive_timeout` at the latest; base backups taken with `ftry pitr
//! backup` plus that archive let the cluster be rewound to any moment
//! between the oldest base backup and the newest archived segment.
//!
//! pgBackRest runs as the server's OS user, like PostgreSQL itself. Its
//! configuration, log and lock files live in `<data_dir>/pitr/`, private to
//! that user; the repository defaults to `<data_dir>/pgbackrest`.

use std::fs::{self, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{chown, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{Connection, PgConnection};
use tokio::process::Command;

use crate::embedded::{
    io_error, is_postmaster_of, lock_data_dir, parse_postmaster_pid, prepare_data_dir, prepare_private_dir,
    process_is_running, recover_stale_server, EmbeddedError, EmbeddedPostgres, EmbeddedSettings, Layout,
    ServerUser, PORT, SUPERUSER_ROLE,
};

/// The pgBackRest stanza of the embedded cluster.
pub const STANZA: &str = "ftry";
const PITR_DIR_NAME: &str = "pitr";
const CONFIG_FILE_NAME: &str = "pgbackrest.conf";
/// Replaying a large archive can take long; a server that gives up recovery
/// exits, which ends the wait early.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(6 * 3600);

/// How the embedded cluster's WAL is archived.
#[derive(Debug, Clone)]
pub struct PitrSettings {
    /// The pgBackRest repository (a local directory).
    pub repo_path: PathBuf,
    /// Full backups kept; older ones and the WAL only they need are expired.
    pub keep_full: u32,
    /// A segment is archived after this long even when it is not full: the
    /// most committed work a lost disk can take with it.
    pub archive_timeout: Duration,
    /// pgBackRest's `compress-type`: none, gz, bz2, lz4 or zst.
    pub compress_type: String,
    /// The `pgbackrest` program (looked up in `PATH` unless absolute).
    pub program: PathBuf,
    /// An S3-compatible bucket as the repository instead of `repo_path`.
    pub s3: Option<PitrS3>,
}

/// A repository in an S3-compatible bucket (pgBackRest speaks HTTPS only).
#[derive(Clone)]
pub struct PitrS3 {
    pub host: String,
    pub port: u16,
    pub bucket: String,
    pub region: String,
    pub key: String,
    pub secret: String,
    /// `host/bucket/key` rather than `bucket.host/key`.
    pub path_style: bool,
    /// The repository's path in the bucket, e.g. `/ftry/production/pgbackrest`.
    pub path: String,
    /// The authority that signed the store's certificate, when it is not
    /// one the system trusts.
    pub ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for PitrS3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "s3://{}{} at {}:{}",
            self.bucket, self.path, self.host, self.port
        )
    }
}

/// Everything that can go wrong; each message is one line a human can act on.
#[derive(Debug, thiserror::Error)]
pub enum PitrError {
    #[error("pgbackrest ({}) cannot be run: {cause}; install it with `apt-get install pgbackrest` or set pitr.pgbackrest", program.display())]
    NotInstalled { program: PathBuf, cause: io::Error },

    #[error("pgbackrest {command} failed: {message}")]
    Failed { command: &'static str, message: String },

    #[error("pgbackrest info printed what ftry cannot read: {0}")]
    Info(String),

    #[error("no PITR stanza `{STANZA}` in {}: start ftry with pitr.enabled = true, then take a base backup with `ftry pitr backup`", repo.display())]
    NoStanza { repo: PathBuf },

    #[error("no base backup in {}: take one with `ftry pitr backup`", repo.display())]
    NoBackup { repo: PathBuf },

    #[error(
        "{} is before the recovery window, which starts at {}",
        rfc3339(target),
        rfc3339(start)
    )]
    BeforeWindow {
        target: DateTime<Utc>,
        start: DateTime<Utc>,
    },

    #[error(
        "{} is after the recovery window, which ends at {} (the newest archived WAL)",
        rfc3339(target),
        rfc3339(end)
    )]
    AfterWindow {
        target: DateTime<Utc>,
        end: DateTime<Utc>,
    },

    #[error("{} is in the future", rfc3339(target))]
    InFuture { target: DateTime<Utc> },

    #[error("ftry is running on data directory {}: stop it before restoring", data_dir.display())]
    Running { data_dir: PathBuf },

    #[error("PostgreSQL (pid {pid}) is running on {}: stop it before restoring", cluster.display())]
    ServerRunning { pid: i32, cluster: PathBuf },

    #[error("recovery to {} did not finish: {cause}", rfc3339(target))]
    Recovery { target: DateTime<Utc>, cause: String },

    #[error(transparent)]
    Embedded(#[from] EmbeddedError),
}

type Result<T, E = PitrError> = std::result::Result<T, E>;

fn rfc3339(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// One base backup in the repository.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BaseBackup {
    pub label: String,
    /// full, diff or incr.
    pub kind: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// The cluster's size, and what the backup takes in the repository.
    pub size_bytes: u64,
    pub stored_bytes: u64,
}

/// The archiver of a running server (`pg_stat_archiver`).
#[derive(Debug, Clone, Serialize)]
pub struct Archiver {
    pub last_archived_wal: Option<String>,
    pub last_archived_at: Option<DateTime<Utc>>,
    pub failed_count: i64,
    pub last_failed_wal: Option<String>,
    /// Seconds since the last segment was archived.
    pub seconds_since_last_archive: Option<i64>,
}

/// What `ftry pitr status` shows.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub stanza: String,
    /// pgBackRest's word on the stanza ("ok" when it is usable).
    pub status: String,
    pub repository: PathBuf,
    /// The earliest moment a restore can reach: the second after the oldest
    /// backup ended.
    pub window_start: Option<DateTime<Utc>>,
    /// When the newest archived WAL segment was written to the repository.
    pub window_end: Option<DateTime<Utc>>,
    pub newest_wal: Option<String>,
    pub backups: Vec<BaseBackup>,
    /// Present while the cluster runs.
    pub archiver: Option<Archiver>,
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct Restored {
    pub target: DateTime<Utc>,
    /// The base backup recovery started from.
    pub from_backup: String,
    pub elapsed: Duration,
}

/// Full, differential or incremental (pgBackRest's `--type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupKind {
    Full,
    Incremental,
}

impl PitrSettings {
    /// Where the repository is, for people: its directory or `s3://bucket/path`.
    pub fn repository(&self) -> PathBuf {
        match &self.s3 {
            Some(s3) => PathBuf::from(format!("s3://{}{}", s3.bucket, s3.path)),
            None => self.repo_path.clone(),
        }
    }

    /// Writes the pgBackRest configuration and creates the repository, and
    /// returns the server settings that archive into it.
    pub(crate) fn prepare(&self, layout: &Layout, user: &ServerUser) -> Result<Vec<(String, String)>> {
        let dir = layout.data_dir.join(PITR_DIR_NAME);
        prepare_private_dir(&dir, user)?;
        for sub in ["log", "lock"] {
            prepare_private_dir(&dir.join(sub), user)?;
        }
        let repository = match &self.s3 {
            Some(s3) => s3_repository(s3),
            None => {
                let created = !self.repo_path.exists();
                fs::create_dir_all(&self.repo_path)
                    .map_err(io_error("create repository", &self.repo_path))?;
                if created {
                    // It holds a copy of every business's data.
                    fs::set_permissions(&self.repo_path, Permissions::from_mode(0o750))
                        .map_err(io_error("set permissions on", &self.repo_path))?;
                    owned_by(&self.repo_path, user)?;
                }
                // pgBackRest wants absolute paths.
                let repo = fs::canonicalize(&self.repo_path)
                    .map_err(io_error("resolve repository", &self.repo_path))?;
                format!("repo1-path={}\n", repo.display())
            }
        };
        let config = dir.join(CONFIG_FILE_NAME);
        // Private to the server's user: it may hold the bucket's secret key.
        write_private_file(&config, &self.config_text(&repository, layout, &dir), user)?;
        let command = format!(
            "{} --config={} --stanza={STANZA} archive-push %p",
            shell_quote(&self.program.to_string_lossy()),
            shell_quote(&config.to_string_lossy())
        );
        Ok(vec![
            ("wal_level".to_owned(), "replica".to_owned()),
            ("archive_mode".to_owned(), "on".to_owned()),
            ("archive_command".to_owned(), command),
            (
                "archive_timeout".to_owned(),
                format!("{}s", self.archive_timeout.as_secs().max(1)),
            ),
        ])
    }

    fn config_text(&self, repository: &str, layout: &Layout, dir: &Path) -> String {
        format!(
            "# Written by ftry at every start of the embedded cluster; edits are lost.\n\
             [global]\n\
             {repository}\
             repo1-retention-full={keep}\n\
             compress-type={compress}\n\
             start-fast=y\n\
             log-path={log}\n\
             lock-path={lock}\n\
             log-level-console=warn\n\
             log-level-stderr=error\n\
             log-level-file=info\n\
             \n\
             [{STANZA}]\n\
             pg1-path={cluster}\n\
             pg1-socket-path={socket}\n\
             pg1-port={PORT}\n\
             pg1-user={SUPERUSER_ROLE}\n",
            keep = self.keep_full.max(1),
            compress = self.compress_type,
            log = dir.join("log").display(),
            lock = dir.join("lock").display(),
            cluster = layout.cluster_dir.display(),
            socket = layout.run_dir.display(),
        )
    }

    /// Creates the stanza if the repository has none yet (idempotent).
    pub(crate) async fn ensure_stanza(&self, data_dir: &Path, user: &ServerUser) -> Result<()> {
        let tool = Tool::new(self, data_dir, user);
        tool.run("stanza-create", &[]).await.map(drop)
    }
}

/// The repository lines of pgBackRest's configuration for a bucket.
fn s3_repository(s3: &PitrS3) -> String {
    let mut lines = format!(
        "repo1-type=s3\n\
         repo1-path={path}\n\
         repo1-s3-endpoint={host}\n\
         repo1-storage-port={port}\n\
         repo1-s3-bucket={bucket}\n\
         repo1-s3-region={region}\n\
         repo1-s3-key={key}\n\
         repo1-s3-key-secret={secret}\n\
         repo1-s3-uri-style={style}\n",
        path = s3.path,
        host = s3.host,
        port = s3.port,
        bucket = s3.bucket,
        region = s3.region,
        key = s3.key,
        secret = s3.secret,
        style = if s3.path_style { "path" } else { "host" },
    );
    if let Some(ca) = &s3.ca_file {
        lines.push_str(&format!("repo1-storage-ca-file={}\n", ca.display()));
    }
    lines
}

/// pgBackRest with ftry's configuration, run as the server's OS user.
struct Tool<'a> {
    program: &'a Path,
    config: PathBuf,
    data_dir: &'a Path,
    user: &'a ServerUser,
}

impl<'a> Tool<'a> {
    fn new(settings: &'a PitrSettings, data_dir: &'a Path, user: &'a ServerUser) -> Self {
        Self {
            program: &settings.program,
            config: data_dir.join(PITR_DIR_NAME).join(CONFIG_FILE_NAME),
            data_dir,
            user,
        }
    }

    async fn run(&self, command: &'static str, args: &[String]) -> Result<String> {
        let mut process = Command::new(self.program);
        process
            .arg(format!("--config={}", self.config.display()))
            .arg(format!("--stanza={STANZA}"))
            .args(args)
            .arg(command)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .current_dir(self.data_dir);
        self.user.apply_to(&mut process);
        let output = process.output().await.map_err(|cause| PitrError::NotInstalled {
            program: self.program.to_path_buf(),
            cause,
        })?;
        if !output.status.success() {
            return Err(PitrError::Failed {
                command,
                message: error_line(&output.stderr, &output.stdout, output.status),
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    async fn info(&self) -> Result<Vec<StanzaInfo>> {
        let text = self.run("info", &["--output=json".to_owned()]).await?;
        serde_json::from_str(&text).map_err(|e| PitrError::Info(e.to_string()))
    }

    /// The stanza as the repository `repo` holds it; `NoStanza` when it
    /// holds none.
    async fn stanza(&self, repo: PathBuf) -> Result<StanzaInfo> {
        match self.info().await?.into_iter().next() {
            Some(stanza) if stanza.status.code != STANZA_MISSING => Ok(stanza),
            _ => Err(PitrError::NoStanza { repo }),
        }
    }
}

/// pgBackRest's own error line ("ERROR: [055]: ..."), else its last line.
fn error_line(stderr: &[u8], stdout: &[u8], status: std::process::ExitStatus) -> String {
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(stderr),
        String::from_utf8_lossy(stdout)
    );
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    lines
        .iter()
        .find(|line| line.contains("ERROR:"))
        .or(lines.last())
        .map_or_else(|| format!("exit {status}"), |line| (*line).to_owned())
}

// ---------------------------------------------------------------------------
// `pgbackrest info --output=json`

#[derive(Debug, Deserialize)]
struct StanzaInfo {
    #[serde(default)]
    archive: Vec<ArchiveInfo>,
    #[serde(default)]
    backup: Vec<BackupInfo>,
    status: StanzaStatus,
}

#[derive(Debug, Deserialize)]
struct StanzaStatus {
    code: i64,
    message: String,
}

#[derive(Debug, Deserialize)]
struct ArchiveInfo {
    id: String,
    max: Option<String>,
}

#[derive(Debug, Deserialize)]
struct BackupInfo {
    label: String,
    #[serde(rename = "type")]
    kind: String,
    timestamp: BackupTimes,
    info: BackupSizes,
}

#[derive(Debug, Deserialize)]
struct BackupTimes {
    start: i64,
    stop: i64,
}

#[derive(Debug, Deserialize)]
struct BackupSizes {
    size: u64,
    repository: RepositorySize,
}

#[derive(Debug, Deserialize)]
struct RepositorySize {
    delta: u64,
}

/// pgBackRest's status code of a stanza that has no repository files.
const STANZA_MISSING: i64 = 1;

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}

impl StanzaInfo {
    /// The archive id and name of the newest WAL segment in the repository.
    fn newest_wal(&self) -> Option<(String, String)> {
        self.archive
            .iter()
            .rev()
            .find_map(|a| Some((a.id.clone(), a.max.clone()?)))
    }
}

impl BackupInfo {
    /// pgBackRest gives the end of a backup in whole seconds, rounded down:
    /// a target is past the backup's consistency point only from the next.
    fn restorable_from(&self) -> DateTime<Utc> {
        at(self.timestamp.stop + 1)
    }

    fn summary(&self) -> BaseBackup {
        BaseBackup {
            label: self.label.clone(),
            kind: self.kind.clone(),
            started_at: at(self.timestamp.start),
            finished_at: at(self.timestamp.stop),
            size_bytes: self.info.size,
            stored_bytes: self.info.repository.delta,
        }
    }
}

// ---------------------------------------------------------------------------
// Commands

/// The data directory's canonical path and the server's OS user, checked the
/// way a start checks them.
fn resolve(embedded: &EmbeddedSettings) -> Result<(Layout, ServerUser)> {
    let user = ServerUser::resolve(embedded.run_as.as_deref())?;
    let data_dir = prepare_data_dir(&embedded.data_dir, &user)?;
    Ok((Layout::new(data_dir), user))
}

/// Takes a base backup now: on the running cluster when a ftry serves it,
/// else on one started (and stopped again) for the purpose.
pub async fn backup(
    embedded: &EmbeddedSettings,
    pitr: &PitrSettings,
    kind: BackupKind,
) -> Result<BaseBackup> {
    let args = vec![match kind {
        BackupKind::Full => "--type=full".to_owned(),
        BackupKind::Incremental => "--type=incr".to_owned(),
    }];
    let (layout, user) = resolve(embedded)?;
    let tool = Tool::new(pitr, &layout.data_dir, &user);
    match EmbeddedPostgres::start_with(embedded, Some(pitr)).await {
        Ok(server) => {
            let result = tool.run("backup", &args).await;
            server.stop().await?;
            result?;
        }
        Err(EmbeddedError::DataDirInUse { .. }) => {
            tool.run("backup", &args).await?;
        }
        Err(error) => return Err(error.into()),
    }
    let info = tool.info().await?;
    info.first()
        .and_then(|stanza| stanza.backup.last())
        .map(BackupInfo::summary)
        .ok_or(PitrError::NoBackup {
            repo: pitr.repository(),
        })
}

/// The stanza's state, its backups and the window a restore can reach.
pub async fn status(embedded: &EmbeddedSettings, pitr: &PitrSettings, now: DateTime<Utc>) -> Result<Status> {
    let (layout, user) = resolve(embedded)?;
    let tool = Tool::new(pitr, &layout.data_dir, &user);
    if !tool.config.exists() {
        return Err(PitrError::NoStanza {
            repo: pitr.repository(),
        });
    }
    let stanza = tool.stanza(pitr.repository()).await?;
    let newest = stanza.newest_wal();
    let archiver = archiver(&layout.run_dir, now).await;
    let window_end = match &pitr.s3 {
        // A bucket's objects carry no time ftry reads: while the server
        // runs, its archiver says when the newest segment went.
        Some(_) => archiver.as_ref().and_then(|a| a.last_archived_at),
        None => newest
            .as_ref()
            .and_then(|(id, wal)| archived_at(&pitr.repo_path, id, wal)),
    };
    Ok(Status {
        stanza: STANZA.to_owned(),
        status: stanza.status.message,
        repository: pitr.repository(),
        window_start: stanza.backup.first().map(BackupInfo::restorable_from),
        window_end,
        newest_wal: newest.map(|(_, wal)| wal),
        backups: stanza.backup.iter().map(BackupInfo::summary).collect(),
        archiver,
    })
}

/// When a WAL segment reached a local repository: its file's time there.
fn archived_at(repo: &Path, archive_id: &str, wal: &str) -> Option<DateTime<Utc>> {
    let dir = repo
        .join("archive")
        .join(STANZA)
        .join(archive_id)
        .join(wal.get(..16)?);
    fs::read_dir(dir)
        .ok()?
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(wal))
        .filter_map(|entry| entry.metadata().ok()?.modified().ok())
        .max()
        .map(DateTime::<Utc>::from)
}

/// The running server's archiver statistics, or `None` when it is down.
async fn archiver(socket_dir: &Path, now: DateTime<Utc>) -> Option<Archiver> {
    let options = PgConnectOptions::new_without_pgpass()
        .socket(socket_dir)
        .port(PORT)
        .username(SUPERUSER_ROLE)
        .database("postgres")
        .ssl_mode(PgSslMode::Disable);
    let connect = tokio::time::timeout(Duration::from_secs(5), PgConnection::connect_with(&options));
    let mut connection = connect.await.ok()?.ok()?;
    let row: (Option<String>, Option<DateTime<Utc>>, i64, Option<String>) = sqlx::query_as(
        "SELECT last_archived_wal, last_archived_time, failed_count, last_failed_wal FROM pg_stat_archiver",
    )
    .fetch_one(&mut connection)
    .await
    .ok()?;
    let _ = connection.close().await;
    Some(Archiver {
        last_archived_wal: row.0,
        last_archived_at: row.1,
        failed_count: row.2,
        last_failed_wal: row.3,
        seconds_since_last_archive: row.1.map(|t| (now - t).num_seconds()),
    })
}

/// Rewinds the stopped cluster to `target`: restores the newest base backup
/// that ended before it, replays the archived WAL up to it, promotes, and
/// stops the server again once it accepts writes.
pub async fn restore(
    embedded: &EmbeddedSettings,
    pitr: &PitrSettings,
    target: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Restored> {
    let started = std::time::Instant::now();
    let (layout, user) = resolve(embedded)?;
    let lock = lock_data_dir(&layout.data_dir).map_err(|error| match error {
        EmbeddedError::DataDirInUse { data_dir } => PitrError::Running { data_dir },
        other => other.into(),
    })?;
    refuse_running_server(&layout)?;
    recover_stale_server(&layout).await?;
    pitr.prepare(&layout, &user)?;

    let tool = Tool::new(pitr, &layout.data_dir, &user);
    let stanza = tool.stanza(pitr.repository()).await?;
    if target > now {
        return Err(PitrError::InFuture { target });
    }
    let first = stanza.backup.first().ok_or(PitrError::NoBackup {
        repo: pitr.repository(),
    })?;
    let start = first.restorable_from();
    if target < start {
        return Err(PitrError::BeforeWindow { target, start });
    }
    // Recovery must meet a commit after the target in the archive.
    let end = stanza
        .newest_wal()
        .filter(|_| pitr.s3.is_none())
        .and_then(|(id, wal)| archived_at(&pitr.repo_path, &id, &wal));
    if let Some(end) = end.filter(|end| target >= *end) {
        return Err(PitrError::AfterWindow { target, end });
    }
    let from_backup = stanza
        .backup
        .iter()
        .rev()
        .find(|b| b.restorable_from() <= target)
        .map_or_else(|| first.label.clone(), |b| b.label.clone());

    // After a lost disk there is no cluster directory to restore into.
    prepare_private_dir(&layout.cluster_dir, &user)?;
    tool.run(
        "restore",
        &[
            "--type=time".to_owned(),
            format!("--target={}", target.format("%Y-%m-%d %H:%M:%S%.6f+00")),
            "--target-action=promote".to_owned(),
            format!("--set={from_backup}"),
            "--delta".to_owned(),
        ],
    )
    .await?;
    drop(lock);

    // Without hot standby nobody connects until recovery has ended and the
    // server has promoted, so the start's bootstrap finds it writable.
    let settings = EmbeddedSettings {
        startup_timeout: RECOVERY_TIMEOUT,
        ..embedded.clone()
    };
    let server = EmbeddedPostgres::launch(&settings, Some(pitr), &[("hot_standby", "off".to_owned())])
        .await
        .map_err(|error| PitrError::Recovery {
            target,
            cause: error.to_string(),
        })?;
    let promoted = still_in_recovery(&server).await;
    server.stop().await?;
    match promoted {
        Ok(false) => Ok(Restored {
            target,
            from_backup,
            elapsed: started.elapsed(),
        }),
        Ok(true) => Err(PitrError::Recovery {
            target,
            cause: "the server is still in recovery".to_owned(),
        }),
        Err(error) => Err(PitrError::Recovery {
            target,
            cause: error.to_string(),
        }),
    }
}

async fn still_in_recovery(server: &EmbeddedPostgres) -> Result<bool, sqlx::Error> {
    let options = PgConnectOptions::new_without_pgpass()
        .socket(server.socket_dir())
        .port(PORT)
        .username(SUPERUSER_ROLE)
        .database("postgres")
        .ssl_mode(PgSslMode::Disable);
    let mut connection = PgConnection::connect_with(&options).await?;
    let in_recovery: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
        .fetch_one(&mut connection)
        .await?;
    connection.close().await?;
    Ok(in_recovery)
}

/// A server started by hand on the cluster (no ftry holds the lock).
fn refuse_running_server(layout: &Layout) -> Result<()> {
    let pid = fs::read_to_string(layout.postmaster_pid_file())
        .ok()
        .and_then(|contents| parse_postmaster_pid(&contents));
    match pid {
        Some(pid) if process_is_running(pid) && is_postmaster_of(pid, &layout.cluster_dir) => {
            Err(PitrError::ServerRunning {
                pid: pid.as_raw(),
                cluster: layout.cluster_dir.clone(),
            })
        }
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------------------
// Files

/// `text` in `path`, replaced atomically, readable by the server user only
/// (a repository's credentials may end up in it).
fn write_private_file(path: &Path, text: &str, user: &ServerUser) -> Result<()> {
    let staging = path.with_extension("tmp");
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&staging)
        .map_err(io_error("create", &staging))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io_error("write", &staging))?;
    fs::set_permissions(&staging, Permissions::from_mode(0o600))
        .map_err(io_error("set permissions on", &staging))?;
    owned_by(&staging, user)?;
    fs::rename(&staging, path).map_err(io_error("move into place", path))?;
    Ok(())
}

fn owned_by(path: &Path, user: &ServerUser) -> Result<()> {
    if user.switched_from_root {
        chown(path, Some(user.uid.as_raw()), Some(user.gid.as_raw()))
            .map_err(io_error("change owner of", path))?;
    }
    Ok(())
}

/// One word for `sh`, whatever the path holds.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quote_keeps_a_path_one_word() {
        assert_eq!(shell_quote("/a b/c"), "'/a b/c'");
        assert_eq!(shell_quote("/it's"), "'/it'\\''s'");
    }

    #[test]
    fn error_line_prefers_pgbackrest_error() {
        let status = std::os::unix::process::ExitStatusExt::from_raw(256);
        assert_eq!(
            error_line(b"WARN: x\nERROR: [055]: unable to load info file\n", b"", status),
            "ERROR: [055]: unable to load info file"
        );
    }
}
