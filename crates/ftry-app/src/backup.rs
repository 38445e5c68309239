//! Logical backups: `pg_dump` (custom format, compressed) of the whole
//! database into the backup directory, with a manifest — ftry's version,
//! the schema version, PostgreSQL's version, start and end, size, SHA-256
//! and every table's row count, counted in the very snapshot the dump was
//! taken from. `verify` checks a backup against its manifest and has
//! `pg_restore` read its table of contents.
//!
//! The dump runs as a role that reads every row (the embedded cluster's
//! superuser, or `backup.database_url`): row-level security would otherwise
//! hide every business's rows from it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{Connection, PgConnection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::settings::Secret;

/// Where backups go and how they are taken.
pub struct Backups {
    /// Where backups are kept; with an object store, only where a backup
    /// being verified or restored is fetched to.
    pub dir: PathBuf,
    /// The S3-compatible bucket backups go to instead of `dir`.
    pub remote: Option<crate::backup_store::S3Store>,
    /// A connection (libpq URL) of a role that reads every row.
    pub url: Secret,
    /// Holds `pg_dump` and `pg_restore`.
    pub bin_dir: PathBuf,
    /// What each scheduled backup leaves behind it.
    pub retention: Retention,
    /// Told how a backup or a restore is going (the CLI draws it).
    pub progress: Option<Reporter>,
}

/// How far a backup or a restore has come: `done` of `total` tables in
/// `phase` (`dump`, `restore`), the last one named, and the bytes written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub phase: &'static str,
    pub done: usize,
    pub total: usize,
    pub table: String,
    pub bytes: u64,
}

/// Receives each step of progress.
pub type Reporter = std::sync::Arc<dyn Fn(&Progress) + Send + Sync>;

/// The table a verbose pg_dump or pg_restore line says it is copying.
fn table_in(line: &str) -> Option<&str> {
    let (_, rest) = line
        .split_once("dumping contents of table \"")
        .or_else(|| line.split_once("processing data for table \""))?;
    let name = rest.strip_suffix('"')?;
    Some(name.strip_prefix("public.").unwrap_or(name))
}

/// Read a verbose pg_dump/pg_restore's standard error: each table it
/// copies is progress (`phase`, of `total`); the first error line (or the
/// last line) is what it says when it fails.
fn follow(
    stderr: tokio::process::ChildStderr,
    phase: &'static str,
    total: usize,
    progress: Option<Reporter>,
    bytes: std::sync::Arc<std::sync::atomic::AtomicU64>,
) -> tokio::task::JoinHandle<String> {
    use tokio::io::AsyncBufReadExt;
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        let (mut done, mut error, mut last) = (0, None, String::new());
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(table) = table_in(&line) {
                done += 1;
                if let Some(report) = &progress {
                    report(&Progress {
                        phase,
                        done,
                        total,
                        table: table.to_owned(),
                        bytes: bytes.load(std::sync::atomic::Ordering::Relaxed),
                    });
                }
            } else if error.is_none() && line.contains("error:") {
                error = Some(line.clone());
            }
            last = line;
        }
        error.unwrap_or(last)
    })
}

/// What a backup holds, written next to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub id: String,
    pub ftry_version: String,
    /// The newest migration applied when it was taken.
    pub schema_version: i64,
    pub postgres_version: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub size_bytes: u64,
    pub sha256: String,
    /// Rows of every table, in the dump's snapshot.
    pub tables: BTreeMap<String, i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("no backup {id} in {place}")]
    NotFound { id: String, place: String },
    #[error("backup {id}: {problem}")]
    Damaged { id: String, problem: String },
    #[error("backup {id} was made by a newer ftry (schema {theirs}; this one knows {ours})")]
    Newer { id: String, theirs: i64, ours: i64 },
    #[error("pg_dump failed: {0}")]
    Dump(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Io(String),
}

fn io(what: &str, path: &Path) -> impl FnOnce(std::io::Error) -> BackupError {
    let (what, path) = (what.to_owned(), path.display().to_string());
    move |e| BackupError::Io(format!("cannot {what} {path}: {e}"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The id a backup taken now gets: its UTC start, to the millisecond.
fn new_id(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%S%3fZ").to_string()
}

fn valid_id(id: &str) -> bool {
    id.len() == 19 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl Backups {
    /// Where the backups are, for people.
    pub fn place(&self) -> String {
        match &self.remote {
            Some(store) => store.describe(),
            None => self.dir.display().to_string(),
        }
    }

    fn not_found(&self, id: &str) -> BackupError {
        BackupError::NotFound {
            id: id.to_owned(),
            place: self.place(),
        }
    }

    fn dump_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.dump"))
    }

    fn manifest_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// Take a backup now.
    pub async fn create(&self) -> Result<Manifest, BackupError> {
        let started_at = Utc::now();
        let id = new_id(started_at);
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(io("create", &self.dir))?;
        // One snapshot for the counts and the dump: the transaction exports
        // it and stays open until pg_dump is done with it.
        let mut conn = PgConnection::connect(self.url.expose()).await?;
        let mut tx = conn.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        sqlx::query("SET LOCAL row_security = off")
            .execute(&mut *tx)
            .await?;
        let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
            .fetch_one(&mut *tx)
            .await?;
        let postgres_version: String = sqlx::query_scalar("SHOW server_version")
            .fetch_one(&mut *tx)
            .await?;
        // A database ftry never migrated has schema 0.
        let migrated: bool = sqlx::query_scalar("SELECT to_regclass('public._sqlx_migrations') IS NOT NULL")
            .fetch_one(&mut *tx)
            .await?;
        let schema_version: i64 = if migrated {
            sqlx::query_scalar("SELECT coalesce(max(version), 0) FROM public._sqlx_migrations WHERE success")
                .fetch_one(&mut *tx)
                .await?
        } else {
            0
        };
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables
              WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut counts = BTreeMap::new();
        for table in tables {
            let rows: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM public.\"{table}\""))
                .fetch_one(&mut *tx)
                .await?;
            counts.insert(table, rows);
        }

        let partial = self.dir.join(format!("{id}.dump.partial"));
        let sink = match &self.remote {
            Some(store) => Sink::Remote(store.upload(&format!("{id}.dump"))),
            None => Sink::File {
                file: tokio::fs::File::create(&partial)
                    .await
                    .map_err(io("create", &partial))?,
                path: partial.clone(),
            },
        };
        let (size_bytes, sha256) = self.dump(&snapshot, sink, counts.len()).await?;
        tx.commit().await?;
        let _ = conn.close().await;
        if self.remote.is_none() {
            let dump = self.dump_path(&id);
            tokio::fs::rename(&partial, &dump)
                .await
                .map_err(io("move into place", &dump))?;
        }
        let manifest = Manifest {
            id: id.clone(),
            ftry_version: env!("CARGO_PKG_VERSION").to_owned(),
            schema_version,
            postgres_version,
            started_at,
            finished_at: Utc::now(),
            size_bytes,
            sha256,
            tables: counts,
        };
        // Written last: a backup without its manifest is not listed.
        let text = serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::Io(e.to_string()))?;
        match &self.remote {
            Some(store) => store.put(&format!("{id}.json"), text).await?,
            None => {
                let path = self.manifest_path(&id);
                let written = self.dir.join(format!("{id}.json.partial"));
                tokio::fs::write(&written, text)
                    .await
                    .map_err(io("write", &written))?;
                tokio::fs::rename(&written, &path)
                    .await
                    .map_err(io("move into place", &path))?;
            }
        }
        Ok(manifest)
    }

    /// Run pg_dump in `snapshot`, streaming into `sink`: its size and
    /// SHA-256. A dump that fails leaves nothing behind.
    async fn dump(
        &self,
        snapshot: &str,
        mut sink: Sink<'_>,
        tables: usize,
    ) -> Result<(u64, String), BackupError> {
        match self.dump_into(snapshot, &mut sink, tables).await {
            Ok(done) => sink.finish().await.map(|()| done),
            Err(e) => {
                sink.abandon().await;
                Err(e)
            }
        }
    }

    async fn dump_into(
        &self,
        snapshot: &str,
        sink: &mut Sink<'_>,
        tables: usize,
    ) -> Result<(u64, String), BackupError> {
        let mut child = tokio::process::Command::new(self.bin_dir.join("pg_dump"))
            .args(["--format=custom", "--compress=6", "--no-password", "--verbose"])
            .arg(format!("--snapshot={snapshot}"))
            .arg(format!("--dbname={}", self.url.expose()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                BackupError::Dump(format!(
                    "cannot run {}: {e}",
                    self.bin_dir.join("pg_dump").display()
                ))
            })?;
        let mut stdout = child.stdout.take().expect("piped");
        let written = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let errors = follow(
            child.stderr.take().expect("piped"),
            "dump",
            tables,
            self.progress.clone(),
            written.clone(),
        );
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut buffer = vec![0u8; 256 * 1024];
        loop {
            let n = stdout
                .read(&mut buffer)
                .await
                .map_err(|e| BackupError::Dump(e.to_string()))?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            sink.write(&buffer[..n]).await?;
            size += n as u64;
            written.store(size, std::sync::atomic::Ordering::Relaxed);
        }
        let status = child.wait().await.map_err(|e| BackupError::Dump(e.to_string()))?;
        let errors = errors.await.unwrap_or_default();
        if !status.success() {
            return Err(BackupError::Dump(format!("{status}: {errors}")));
        }
        Ok((size, hex(&hasher.finalize())))
    }

    /// The names of what the backup store holds.
    async fn names(&self) -> Result<Vec<String>, BackupError> {
        if let Some(store) = &self.remote {
            return store.names().await;
        }
        let mut names = Vec::new();
        let mut entries = match tokio::fs::read_dir(&self.dir).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(names),
            Err(e) => return Err(io("read", &self.dir)(e)),
        };
        while let Some(entry) = entries.next_entry().await.map_err(io("read", &self.dir))? {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        Ok(names)
    }

    /// Every backup with a manifest, newest first.
    pub async fn list(&self) -> Result<Vec<Manifest>, BackupError> {
        let mut manifests = Vec::new();
        for name in self.names().await? {
            let Some(id) = name.strip_suffix(".json").filter(|id| valid_id(id)) else {
                continue;
            };
            manifests.push(self.manifest(id).await?);
        }
        manifests.sort_by(|a, b| b.id.cmp(&a.id));
        Ok(manifests)
    }

    async fn manifest(&self, id: &str) -> Result<Manifest, BackupError> {
        if !valid_id(id) {
            return Err(self.not_found(id));
        }
        let text = match &self.remote {
            Some(store) => match store.get(&format!("{id}.json")).await? {
                Some(response) => response
                    .bytes()
                    .await
                    .map_err(|e| BackupError::Io(format!("cannot read the manifest of {id}: {e}")))?
                    .to_vec(),
                None => return Err(self.not_found(id)),
            },
            None => {
                let path = self.manifest_path(id);
                match tokio::fs::read(&path).await {
                    Ok(text) => text,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(self.not_found(id)),
                    Err(e) => return Err(io("read", &path)(e)),
                }
            }
        };
        serde_json::from_slice(&text).map_err(|e| BackupError::Damaged {
            id: id.to_owned(),
            problem: format!("its manifest cannot be read: {e}"),
        })
    }

    /// Check a backup: its size and SHA-256 against the manifest, a schema
    /// this ftry knows (`known_schema`), and pg_restore reading its table of
    /// contents.
    pub async fn verify(&self, id: &str, known_schema: i64) -> Result<Manifest, BackupError> {
        Ok(self.verified(id, known_schema).await?.0)
    }

    /// Verify a backup, keeping its dump at hand on the local disk.
    async fn verified(&self, id: &str, known_schema: i64) -> Result<(Manifest, Fetched), BackupError> {
        let manifest = self.manifest(id).await?;
        let damaged = |problem: String| BackupError::Damaged {
            id: id.to_owned(),
            problem,
        };
        if manifest.schema_version > known_schema {
            return Err(BackupError::Newer {
                id: id.to_owned(),
                theirs: manifest.schema_version,
                ours: known_schema,
            });
        }
        let Some(fetched) = self.fetch(id).await? else {
            return Err(damaged("its dump file is missing".into()));
        };
        let size = fetched.size;
        if size != manifest.size_bytes {
            return Err(damaged(format!(
                "{size} bytes where the manifest says {} (truncated or grown)",
                manifest.size_bytes
            )));
        }
        if fetched.sha256 != manifest.sha256 {
            return Err(damaged(
                "its SHA-256 does not match the manifest (the file changed)".into(),
            ));
        }
        let listed = tokio::process::Command::new(self.bin_dir.join("pg_restore"))
            .arg("--list")
            .arg(&fetched.path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .await
            .map_err(|e| BackupError::Io(format!("cannot run pg_restore: {e}")))?;
        if !listed.status.success() {
            let stderr = String::from_utf8_lossy(&listed.stderr);
            return Err(damaged(format!(
                "pg_restore cannot read it: {}",
                stderr.lines().next().unwrap_or("no message")
            )));
        }
        Ok((manifest, fetched))
    }

    /// A backup's dump on the local disk (fetched from the object store
    /// when there is one), with its size and SHA-256; `None` when missing.
    async fn fetch(&self, id: &str) -> Result<Option<Fetched>, BackupError> {
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let Some(store) = &self.remote else {
            let path = self.dump_path(id);
            let mut file = match tokio::fs::File::open(&path).await {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(io("open", &path)(e)),
            };
            let mut buffer = vec![0u8; 256 * 1024];
            loop {
                let n = file.read(&mut buffer).await.map_err(io("read", &path))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buffer[..n]);
                size += n as u64;
            }
            return Ok(Some(Fetched {
                path,
                size,
                sha256: hex(&hasher.finalize()),
                fetched: false,
            }));
        };
        let Some(mut response) = store.get(&format!("{id}.dump")).await? else {
            return Ok(None);
        };
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(io("create", &self.dir))?;
        // Removed when dropped, whatever happens next.
        let mut fetched = Fetched {
            path: self.dir.join(format!("{id}.dump.fetched")),
            size: 0,
            sha256: String::new(),
            fetched: true,
        };
        let mut file = tokio::fs::File::create(&fetched.path)
            .await
            .map_err(io("create", &fetched.path))?;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| BackupError::Io(format!("cannot read backup {id} from the object store: {e}")))?
        {
            hasher.update(&chunk);
            file.write_all(&chunk).await.map_err(io("write", &fetched.path))?;
            size += chunk.len() as u64;
        }
        file.flush().await.map_err(io("write", &fetched.path))?;
        fetched.size = size;
        fetched.sha256 = hex(&hasher.finalize());
        Ok(Some(fetched))
    }
}

/// Where a dump being taken goes.
enum Sink<'a> {
    File { file: tokio::fs::File, path: PathBuf },
    Remote(crate::backup_store::Upload<'a>),
}

impl Sink<'_> {
    async fn write(&mut self, bytes: &[u8]) -> Result<(), BackupError> {
        match self {
            Sink::File { file, path } => file.write_all(bytes).await.map_err(io("write", path)),
            Sink::Remote(upload) => upload.write(bytes).await,
        }
    }

    async fn finish(self) -> Result<(), BackupError> {
        match self {
            Sink::File { file, path } => {
                let flushed = file.sync_all().await.map_err(io("flush", &path));
                if flushed.is_err() {
                    let _ = tokio::fs::remove_file(&path).await;
                }
                flushed
            }
            Sink::Remote(upload) => upload.finish().await.map(|_| ()),
        }
    }

    async fn abandon(self) {
        match self {
            Sink::File { path, .. } => {
                let _ = tokio::fs::remove_file(&path).await;
            }
            Sink::Remote(upload) => upload.abort().await,
        }
    }
}

/// A backup's dump on the local disk; one fetched from the object store
/// is deleted when this is dropped.
struct Fetched {
    path: PathBuf,
    size: u64,
    sha256: String,
    fetched: bool,
}

impl Drop for Fetched {
    fn drop(&mut self) {
        if self.fetched {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// How many backups `prune` keeps: the newest of each of the latest
/// `daily` days, `weekly` ISO weeks and `monthly` months (UTC) that have a
/// backup; a backup kept for any of them stays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Retention {
    pub daily: usize,
    pub weekly: usize,
    pub monthly: usize,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            daily: 30,
            weekly: 12,
            monthly: 12,
        }
    }
}

/// The ids `retention` lets go, oldest first (grandfather-father-son).
pub fn expired(manifests: &[Manifest], retention: &Retention) -> Vec<String> {
    use chrono::Datelike;
    let mut newest_first: Vec<&Manifest> = manifests.iter().collect();
    newest_first.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.id.cmp(&a.id)));
    let mut kept = std::collections::BTreeSet::new();
    let mut keep_newest_per = |period: &dyn Fn(&Manifest) -> (i32, u32), count: usize| {
        let mut seen = Vec::new();
        for manifest in &newest_first {
            let key = period(manifest);
            if !seen.contains(&key) {
                if seen.len() == count {
                    break;
                }
                seen.push(key);
                kept.insert(manifest.id.clone());
            }
        }
    };
    keep_newest_per(
        &|m| (m.started_at.year(), m.started_at.ordinal()),
        retention.daily,
    );
    keep_newest_per(
        &|m| {
            let week = m.started_at.iso_week();
            (week.year(), week.week())
        },
        retention.weekly,
    );
    keep_newest_per(
        &|m| (m.started_at.year(), m.started_at.month()),
        retention.monthly,
    );
    let mut gone: Vec<String> = newest_first
        .iter()
        .filter(|m| !kept.contains(&m.id))
        .map(|m| m.id.clone())
        .collect();
    gone.reverse();
    gone
}

/// What a restore found in the new database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    pub manifest: Manifest,
    /// Tables whose rows were counted and found as the manifest says.
    pub tables: usize,
    pub rows: i64,
    /// The invoice ledgers' check, when the backup holds invoices.
    pub ledger: Option<crate::invoices::LedgerReport>,
}

impl Backups {
    /// Delete the backups `retention` lets go (dump first, then manifest):
    /// their ids, oldest first, and how many stay.
    pub async fn prune(
        &self,
        retention: &Retention,
        dry_run: bool,
    ) -> Result<(Vec<String>, usize), BackupError> {
        let all = self.list().await?;
        let gone = expired(&all, retention);
        if !dry_run {
            for id in &gone {
                for name in [format!("{id}.dump"), format!("{id}.json")] {
                    if let Some(store) = &self.remote {
                        store.delete(&name).await?;
                        continue;
                    }
                    let path = self.dir.join(name);
                    match tokio::fs::remove_file(&path).await {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(io("delete", &path)(e)),
                    }
                }
            }
        }
        let kept = all.len() - gone.len();
        Ok((gone, kept))
    }

    /// Restore a verified backup into `target`, a database that must be
    /// empty unless `replace` (its tables are then dropped and restored,
    /// in the same transaction), then count every table's rows there
    /// against the manifest and check every business's invoice ledger.
    /// Nothing is restored from a backup that fails verification, and a
    /// restore that fails part way leaves nothing (one transaction).
    pub async fn restore(
        &self,
        id: &str,
        known_schema: i64,
        target: &str,
        replace: bool,
    ) -> Result<Restored, BackupError> {
        let (manifest, dump) = self.verified(id, known_schema).await?;
        let mut conn = PgConnection::connect(target).await?;
        let existing: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
        )
        .fetch_one(&mut conn)
        .await?;
        if existing > 0 && !replace {
            return Err(BackupError::Io(format!(
                "the target database holds {existing} tables already; restore into a new, empty database \
                 (or replace its contents with --force)"
            )));
        }
        let mut command = tokio::process::Command::new(self.bin_dir.join("pg_restore"));
        command.args([
            "--exit-on-error",
            "--single-transaction",
            "--no-password",
            "--verbose",
        ]);
        if existing > 0 {
            // Each object of the backup dropped first, in the restore's
            // transaction: a failure leaves the database as it was.
            command.args(["--clean", "--if-exists"]);
        }
        let mut child = command
            .arg(format!("--dbname={target}"))
            .arg(&dump.path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| BackupError::Io(format!("cannot run pg_restore: {e}")))?;
        let said = follow(
            child.stderr.take().expect("piped"),
            "restore",
            manifest.tables.len(),
            self.progress.clone(),
            std::sync::Arc::new(std::sync::atomic::AtomicU64::new(manifest.size_bytes)),
        );
        let status = child
            .wait()
            .await
            .map_err(|e| BackupError::Io(format!("pg_restore: {e}")))?;
        let said = said.await.unwrap_or_default();
        if !status.success() {
            return Err(BackupError::Io(format!("pg_restore failed: {said}")));
        }
        sqlx::query("SET row_security = off").execute(&mut conn).await?;
        let mut differing = Vec::new();
        let mut rows = 0;
        for (table, expected) in &manifest.tables {
            let found: Option<i64> = sqlx::query_scalar(&format!("SELECT count(*) FROM public.\"{table}\""))
                .fetch_one(&mut conn)
                .await
                .ok();
            if found != Some(*expected) {
                differing.push(format!(
                    "{table}: {} rows, the manifest says {expected}",
                    found.map_or("no table".to_owned(), |n| n.to_string())
                ));
            }
            rows += found.unwrap_or_default();
        }
        if !differing.is_empty() {
            let _ = conn.close().await;
            return Err(BackupError::Damaged {
                id: id.to_owned(),
                problem: format!("restored, but {}", differing.join("; ")),
            });
        }
        // Every business's invoices, chained and summed as when they were issued.
        let ledger = if manifest.tables.get("invoices").copied().unwrap_or_default() > 0 {
            let report = crate::invoices::verify_every_ledger(&mut conn)
                .await
                .map_err(|e| {
                    BackupError::Io(format!("restored, but the ledger could not be checked: {e}"))
                })?;
            if let Some(broken) = &report.broken {
                let _ = conn.close().await;
                return Err(BackupError::Damaged {
                    id: id.to_owned(),
                    problem: format!("restored, but the invoice ledger is broken at document {broken}"),
                });
            }
            Some(report)
        } else {
            None
        };
        let _ = conn.close().await;
        Ok(Restored {
            tables: manifest.tables.len(),
            rows,
            manifest,
            ledger,
        })
    }
}

impl crate::App {
    /// The scheduled backup: taken, and its run recorded for the metrics.
    pub(crate) async fn scheduled_backup(&self) -> Result<(), crate::jobs::JobFailure> {
        use crate::jobs::JobFailure;
        use ftry_store::jobs as store;
        let Some(backups) = self.backups.clone() else {
            return Err(JobFailure::permanent("this node has no backup settings"));
        };
        let run = uuid::Uuid::now_v7();
        {
            let mut conn = self.pools.acquire(ftry_store::PoolName::App).await?;
            store::backup_started(&mut conn, run).await?;
        }
        let outcome = backups.create().await;
        let mut conn = self.pools.acquire(ftry_store::PoolName::App).await?;
        let ended = match outcome {
            Ok(manifest) => {
                store::backup_finished(&mut conn, run, Ok((&manifest.id, manifest.size_bytes as i64)))
                    .await?;
                tracing::info!(backup = %manifest.id, bytes = manifest.size_bytes, "backup taken");
                match backups.prune(&backups.retention, false).await {
                    Ok((gone, _)) if !gone.is_empty() => {
                        tracing::info!(deleted = gone.len(), "old backups pruned")
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(error = %error, "could not prune old backups"),
                }
                Ok(())
            }
            Err(error) => {
                let message = error.to_string();
                store::backup_finished(&mut conn, run, Err(&message)).await?;
                tracing::error!(error = %message, "backup failed");
                Err(JobFailure::transient(message))
            }
        };
        // This node's metrics say so at once, not at the next refresh.
        self.jobs.refresh_backup(&store::backup_state(&mut conn).await?);
        ended
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taken(day: &str) -> Manifest {
        let started_at = DateTime::parse_from_rfc3339(&format!("{day}T02:30:00Z"))
            .unwrap()
            .with_timezone(&Utc);
        Manifest {
            id: new_id(started_at),
            ftry_version: "0.1.0".into(),
            schema_version: 1,
            postgres_version: "15".into(),
            started_at,
            finished_at: started_at,
            size_bytes: 1,
            sha256: String::new(),
            tables: BTreeMap::new(),
        }
    }

    #[test]
    fn pruning_keeps_the_newest_of_each_day_week_and_month_asked_for() {
        // A backup every day of 2026 up to 7 December, and a second on 7 December.
        let mut all: Vec<Manifest> = (0..341)
            .map(|d| {
                let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Duration::days(d);
                taken(&day.to_string())
            })
            .collect();
        let mut later = taken("2026-12-07");
        later.started_at += chrono::Duration::hours(1);
        later.id = new_id(later.started_at);
        all.push(later.clone());
        let retention = Retention {
            daily: 3,
            weekly: 3,
            monthly: 2,
        };
        let gone = expired(&all, &retention);
        let kept: Vec<String> = all
            .iter()
            .filter(|m| !gone.contains(&m.id))
            .map(|m| m.started_at.format("%Y-%m-%d %H:%M").to_string())
            .collect();
        // Days: 7 (the later one), 6, 5 December. ISO weeks: 7 December's
        // (a Monday: that one, kept already), 30 November to 6 December's
        // (6 December, kept already) and 23 to 29 November's (its Sunday,
        // 29 November). Months: December (kept) and November (its newest,
        // 30 November).
        assert_eq!(
            kept,
            [
                "2026-11-29 02:30",
                "2026-11-30 02:30",
                "2026-12-05 02:30",
                "2026-12-06 02:30",
                "2026-12-07 03:30"
            ]
        );
        assert_eq!(gone.len(), all.len() - 5);
        assert_eq!(gone[0], all[0].id, "oldest first");
        // Nothing to let go when there is little.
        assert!(expired(&all[..2], &Retention::default()).is_empty());
    }

    #[test]
    fn ids_are_the_start_to_the_millisecond_and_nothing_else_is_one() {
        let at = DateTime::parse_from_rfc3339("2026-12-07T03:04:05.678Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(new_id(at), "20261207T030405678Z");
        assert!(valid_id(&new_id(at)));
        for bad in [
            "../../etc/passwd",
            "20261207T030405678Z.dump",
            "",
            "2026120703040567Z",
        ] {
            assert!(!valid_id(bad), "{bad}");
        }
    }
}
