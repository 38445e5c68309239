//! The embedded default database: with no database URL configured, ftry runs
//! a private PostgreSQL cluster under its data directory, using the
//! PostgreSQL server binaries installed on the machine.
//!
//! Layout inside the data directory:
//!
//! * `ftry.lock` — exclusively locked while a ftry process owns the cluster;
//! * `postgres/` — the cluster (`PGDATA`), owned by the server's OS user, 0700;
//! * `run/` — the unix socket directory, owned by the server's OS user, 0700;
//! * `postgres.log` — initdb and server output, appended across runs;
//! * `pitr/` — pgBackRest's configuration, log and locks when point-in-time
//!   recovery is on (see [`crate::pitr`]).
//!
//! The server never listens on TCP; clients reach it only through the socket
//! directory, which nobody but the server's OS user (and root) can enter.
//! That is what makes `trust` authentication on the socket acceptable.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions, Permissions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{chown, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::unistd::{getegid, geteuid, Gid, Pid, Uid, User};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};
use sqlx::Connection;
use tokio::process::{Child, Command};
use tokio::time::{sleep, timeout, Instant};

use crate::pitr::{PitrError, PitrSettings};

const CLUSTER_DIR_NAME: &str = "postgres";
/// initdb runs here and the result is renamed to [`CLUSTER_DIR_NAME`], so a
/// cluster directory only ever appears complete, whatever kills initdb.
const INITDB_STAGING_DIR_NAME: &str = "postgres.initdb";
const RUN_DIR_NAME: &str = "run";
const LOG_FILE_NAME: &str = "postgres.log";
const LOCK_FILE_NAME: &str = "ftry.lock";

/// The port only names the socket file; the server listens on no TCP port.
pub(crate) const PORT: u16 = 5432;
const SOCKET_FILE_NAME: &str = ".s.PGSQL.5432";
/// `sun_path` holds 108 bytes including the terminating NUL.
const MAX_SOCKET_PATH_BYTES: usize = 107;

pub(crate) const SUPERUSER_ROLE: &str = "postgres";
const SUPERUSER_DATABASE: &str = "postgres";
const OWNER_ROLE: &str = "ftry_owner";
const APP_ROLE: &str = "ftry_app";
const DATABASE: &str = "ftry";
/// Attributes enforced on both ftry roles at every start, so a role that was
/// altered by hand is brought back to least privilege.
const ROLE_ATTRIBUTES: &str = "LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB NOBYPASSRLS NOREPLICATION";

const DEFAULT_RUN_AS: &str = "postgres";
const DEBIAN_VERSIONED_ROOT: &str = "/usr/lib/postgresql";
const SOURCE_INSTALL_BINDIR: &str = "/usr/local/pgsql/bin";

const READINESS_POLL_INTERVAL: Duration = Duration::from_millis(100);
const EXIT_POLL_INTERVAL: Duration = Duration::from_millis(100);
const FAST_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
const ORPHAN_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
const IMMEDIATE_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

const LOG_TAIL_LINES: usize = 15;
/// Bounds how much of a long-lived log is read to find its last lines.
const LOG_TAIL_MAX_BYTES: u64 = 64 * 1024;

/// Where and how to run the embedded cluster.
#[derive(Debug, Clone)]
pub struct EmbeddedSettings {
    /// ftry's data directory; the cluster lives in `data_dir/postgres`, the
    /// socket in `data_dir/run`.
    pub data_dir: PathBuf,
    /// Directory holding `initdb` and `postgres`. When unset: `pg_config
    /// --bindir` if it holds both, else the newest
    /// `/usr/lib/postgresql/<N>/bin` that does, else `/usr/local/pgsql/bin`.
    pub pg_bindir: Option<PathBuf>,
    /// OS user that runs initdb and postgres when ftry runs as root (they
    /// refuse to run as root). `None` means `postgres`.
    pub run_as: Option<String>,
    /// How long to wait for the server to accept connections.
    pub startup_timeout: Duration,
}

/// Everything that can go wrong; each message is one line a human can act on.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "PostgreSQL server binaries (initdb, postgres) not found (looked in {searched}); \
         install them with `apt-get install postgresql` (Debian/Ubuntu) \
         or set embedded.pg_bindir (FTRY_EMBEDDED_PG_BINDIR)"
    )]
    BinariesNotFound { searched: String },

    #[error("data directory {} is in use by another ftry process", data_dir.display())]
    DataDirInUse { data_dir: PathBuf },

    #[error(
        "ftry runs as root, so PostgreSQL must run as another OS user, but user `{user}` does not exist; \
         create it (installing the postgresql package does) or set embedded.run_as"
    )]
    RunAsUserMissing { user: String },

    #[error("could not look up OS user `{user}`: {source}")]
    UserLookup {
        user: String,
        #[source]
        source: Errno,
    },

    #[error("embedded.run_as is `{user}`, which is root; PostgreSQL refuses to run as root, choose an unprivileged user")]
    RunAsRoot { user: String },

    #[error(
        "directory {} cannot be traversed by OS user `{user}` that runs PostgreSQL; \
         allow it (chmod o+x) or set FTRY_DATA_DIR to a directory elsewhere, e.g. /var/lib/ftry",
        dir.display()
    )]
    NotTraversable { dir: PathBuf, user: String },

    #[error(
        "PostgreSQL cluster {} belongs to uid {owner_uid} but PostgreSQL runs as `{user}` (uid {uid}); \
         fix it with `chown -R {user}: {}` or set embedded.run_as",
        cluster.display(), cluster.display()
    )]
    ClusterOwnerMismatch {
        cluster: PathBuf,
        owner_uid: u32,
        user: String,
        uid: u32,
    },

    #[error(
        "unix socket path {} is {len} bytes, more than the {MAX_SOCKET_PATH_BYTES} allowed; \
         set FTRY_DATA_DIR to a shorter path",
        path.display()
    )]
    SocketPathTooLong { path: PathBuf, len: usize },

    #[error("could not {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("initdb failed ({status}); last lines of {}: {tail}", log.display())]
    InitdbFailed {
        status: ExitStatus,
        log: PathBuf,
        tail: String,
    },

    #[error("PostgreSQL exited during startup ({status}); last lines of {}: {tail}", log.display())]
    ExitedDuringStartup {
        status: ExitStatus,
        log: PathBuf,
        tail: String,
    },

    #[error("PostgreSQL did not accept connections within {waited:?}; last lines of {}: {tail}", log.display())]
    StartupTimedOut {
        waited: Duration,
        log: PathBuf,
        tail: String,
    },

    #[error(
        "PostgreSQL (pid {pid}) left running on cluster {} by an earlier ftry did not stop; \
         stop it manually (kill -QUIT {pid}) and start ftry again",
        cluster.display()
    )]
    OrphanWouldNotStop { pid: i32, cluster: PathBuf },

    #[error("could not send {signal} to PostgreSQL (pid {pid}): {source}")]
    Signal {
        pid: i32,
        signal: Signal,
        #[source]
        source: Errno,
    },

    #[error(
        "PostgreSQL (pid {pid}) did not exit after SIGINT and SIGQUIT; see {} and stop it manually",
        log.display()
    )]
    ShutdownTimedOut { pid: u32, log: PathBuf },

    #[error("could not set up the roles and database `ftry` in the embedded PostgreSQL: {0}")]
    Bootstrap(#[source] sqlx::Error),

    #[error(transparent)]
    Pitr(Box<PitrError>),
}

impl From<PitrError> for EmbeddedError {
    fn from(error: PitrError) -> Self {
        Self::Pitr(Box::new(error))
    }
}

type Result<T, E = EmbeddedError> = std::result::Result<T, E>;

pub(crate) fn io_error<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> EmbeddedError + 'a {
    move |source| EmbeddedError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// A running private PostgreSQL server owned by this ftry process.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    /// `None` once the server has been shut down.
    server: Option<Child>,
    pid: u32,
    socket_dir: PathBuf,
    log_file: PathBuf,
    /// Released when this value is dropped, which happens after `Drop` has
    /// signalled the server. While it is held no other ftry touches the
    /// cluster, which is what lets a later start treat any postgres still
    /// running on it as an orphan.
    _data_dir_lock: File,
}

impl EmbeddedPostgres {
    /// Initializes the cluster if needed, recovers from a previous crash,
    /// starts the server and makes sure the ftry roles and database exist.
    pub async fn start(settings: &EmbeddedSettings) -> Result<Self> {
        Self::start_with(settings, None).await
    }

    /// [`Self::start`], archiving WAL with pgBackRest when `pitr` is given
    /// (the stanza is created once the server runs).
    pub async fn start_with(settings: &EmbeddedSettings, pitr: Option<&PitrSettings>) -> Result<Self> {
        Self::launch(settings, pitr, &[]).await
    }

    /// Starts the server with `extra` settings on its command line, e.g.
    /// to keep connections out until a recovery has finished.
    pub(crate) async fn launch(
        settings: &EmbeddedSettings,
        pitr: Option<&PitrSettings>,
        extra: &[(&str, String)],
    ) -> Result<Self> {
        let binaries = ServerBinaries::locate(settings.pg_bindir.as_deref()).await?;
        let user = ServerUser::resolve(settings.run_as.as_deref())?;
        let data_dir = prepare_data_dir(&settings.data_dir, &user)?;
        let data_dir_lock = lock_data_dir(&data_dir)?;
        let layout = Layout::new(data_dir);
        layout.check_socket_path_length()?;
        if user.switched_from_root {
            ensure_traversable(&layout.data_dir, &user)?;
        }
        prepare_private_dir(&layout.run_dir, &user)?;
        let mut server_settings = match pitr {
            Some(pitr) => pitr.prepare(&layout, &user)?,
            None => Vec::new(),
        };
        server_settings.extend(
            extra
                .iter()
                .map(|(name, value)| ((*name).to_owned(), value.clone())),
        );
        ensure_cluster(&layout, &binaries, &user).await?;
        recover_stale_server(&layout).await?;

        let launch = spawn_server(&layout, &binaries, &user, &server_settings)?;
        let mut embedded = Self {
            server: Some(launch.child),
            pid: launch.pid,
            socket_dir: layout.run_dir,
            log_file: layout.log_file,
            _data_dir_lock: data_dir_lock,
        };
        if let Err(error) = embedded
            .finish_startup(settings.startup_timeout, launch.log_offset)
            .await
        {
            if let Err(stop_error) = embedded.shut_down().await {
                tracing::warn!(error = %stop_error, "could not stop PostgreSQL after a failed start");
            }
            return Err(error);
        }
        if let Some(pitr) = pitr {
            if let Err(error) = pitr.ensure_stanza(&layout.data_dir, &user).await {
                if let Err(stop_error) = embedded.shut_down().await {
                    tracing::warn!(error = %stop_error, "could not stop PostgreSQL after a failed start");
                }
                return Err(error.into());
            }
        }
        Ok(embedded)
    }

    /// Options for the role that owns the schema and runs migrations.
    pub fn owner_options(&self) -> PgConnectOptions {
        self.socket_options(OWNER_ROLE, DATABASE)
    }

    /// Options for the role the application serves requests with.
    pub fn app_options(&self) -> PgConnectOptions {
        self.socket_options(APP_ROLE, DATABASE)
    }

    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// A libpq URL of the cluster's superuser on its socket: what backups
    /// dump the database with (it reads every business's rows).
    pub fn superuser_url(&self) -> String {
        format!(
            "postgresql://{SUPERUSER_ROLE}@/{DATABASE}?host={}&port={PORT}&sslmode=disable",
            self.socket_dir.display()
        )
    }

    /// The postmaster's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Fast shutdown: SIGINT, then SIGQUIT if the server is still running
    /// after 30 s. Releases the data-directory lock once the server is gone.
    pub async fn stop(mut self) -> Result<()> {
        self.shut_down().await
    }

    fn socket_options(&self, role: &str, database: &str) -> PgConnectOptions {
        // Without pgpass: trust authentication needs no password, and a
        // user's ~/.pgpass has nothing to say about a private cluster.
        PgConnectOptions::new_without_pgpass()
            .socket(&self.socket_dir)
            .port(PORT)
            .username(role)
            .database(database)
            // TLS buys nothing on a unix socket; disabling it also keeps a
            // PGSSLMODE meant for another server from breaking this one.
            .ssl_mode(PgSslMode::Disable)
    }

    async fn finish_startup(&mut self, startup_timeout: Duration, log_offset: u64) -> Result<()> {
        let mut superuser = self.wait_until_accepting(startup_timeout, log_offset).await?;
        let in_ftry_database = self.socket_options(SUPERUSER_ROLE, DATABASE);
        bootstrap(&mut superuser, &in_ftry_database)
            .await
            .map_err(EmbeddedError::Bootstrap)?;
        if let Err(error) = superuser.close().await {
            tracing::debug!(%error, "closing the bootstrap connection failed");
        }
        Ok(())
    }

    /// Polls until a superuser connection succeeds, returning it for the
    /// bootstrap. Fails early, with the log tail, if the server exits.
    async fn wait_until_accepting(
        &mut self,
        startup_timeout: Duration,
        log_offset: u64,
    ) -> Result<PgConnection> {
        let options = self.socket_options(SUPERUSER_ROLE, SUPERUSER_DATABASE);
        let deadline = Instant::now() + startup_timeout;
        loop {
            if let Some(status) = self.exit_status()? {
                return Err(EmbeddedError::ExitedDuringStartup {
                    status,
                    tail: log_tail(&self.log_file, log_offset),
                    log: self.log_file.clone(),
                });
            }
            let attempt = tokio::time::timeout_at(deadline, PgConnection::connect_with(&options)).await;
            match attempt {
                Ok(Ok(connection)) => return Ok(connection),
                // Refused or "the database system is starting up": not yet.
                Ok(Err(_)) if Instant::now() + READINESS_POLL_INTERVAL < deadline => {
                    sleep(READINESS_POLL_INTERVAL).await;
                }
                Ok(Err(_)) | Err(_) => {
                    return Err(EmbeddedError::StartupTimedOut {
                        waited: startup_timeout,
                        tail: log_tail(&self.log_file, log_offset),
                        log: self.log_file.clone(),
                    })
                }
            }
        }
    }

    fn exit_status(&mut self) -> Result<Option<ExitStatus>> {
        let Some(server) = self.server.as_mut() else {
            return Ok(None);
        };
        server.try_wait().map_err(io_error(
            "check the state of PostgreSQL started from",
            &self.log_file,
        ))
    }

    async fn shut_down(&mut self) -> Result<()> {
        let Some(mut server) = self.server.take() else {
            return Ok(());
        };
        let pid = pid_of(self.pid);
        send_signal(pid, Signal::SIGINT)?;
        if timeout(FAST_SHUTDOWN_GRACE, server.wait()).await.is_ok() {
            return Ok(());
        }
        tracing::warn!(
            pid = self.pid,
            "PostgreSQL did not finish a fast shutdown in time; sending SIGQUIT"
        );
        send_signal(pid, Signal::SIGQUIT)?;
        if timeout(IMMEDIATE_SHUTDOWN_GRACE, server.wait()).await.is_ok() {
            return Ok(());
        }
        Err(EmbeddedError::ShutdownTimedOut {
            pid: self.pid,
            log: self.log_file.clone(),
        })
    }
}

impl Drop for EmbeddedPostgres {
    /// Safety net for a panicking or early-returning ftry: ask the server for
    /// a fast shutdown without waiting. A later start cleans up whatever is
    /// left, because the lock is released when this value is gone.
    fn drop(&mut self) {
        if self.server.is_some() {
            let _ = kill(pid_of(self.pid), Signal::SIGINT);
        }
    }
}

/// Pids come from the kernel and always fit in `pid_t`; the fallback can only
/// name no process, so a signal sent to it fails harmlessly.
fn pid_of(pid: u32) -> Pid {
    Pid::from_raw(i32::try_from(pid).unwrap_or(i32::MAX))
}

// ---------------------------------------------------------------------------
// Binaries

#[derive(Debug, Clone)]
struct ServerBinaries {
    initdb: PathBuf,
    postgres: PathBuf,
}

impl ServerBinaries {
    async fn locate(explicit_dir: Option<&Path>) -> Result<Self> {
        // An explicit directory is never second-guessed: silently falling
        // back would run a different PostgreSQL than the one configured.
        let candidates = match explicit_dir {
            Some(dir) => vec![dir.to_path_buf()],
            None => Self::default_candidates().await,
        };
        candidates
            .iter()
            .find_map(|dir| Self::in_dir(dir))
            .ok_or_else(|| EmbeddedError::BinariesNotFound {
                searched: candidates
                    .iter()
                    .map(|dir| dir.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    fn in_dir(dir: &Path) -> Option<Self> {
        let initdb = dir.join("initdb");
        let postgres = dir.join("postgres");
        (is_executable_file(&initdb) && is_executable_file(&postgres)).then_some(Self { initdb, postgres })
    }

    async fn default_candidates() -> Vec<PathBuf> {
        let mut candidates = Vec::new();
        candidates.extend(pg_config_bindir().await);
        // Newest first; a version directory may hold client tools only.
        candidates.extend(debian_versioned_bindirs());
        candidates.push(PathBuf::from(SOURCE_INSTALL_BINDIR));
        candidates
    }
}

/// The directory holding PostgreSQL's client programs (`pg_dump`,
/// `pg_restore`): `configured` if given, else the first of the places the
/// embedded server's binaries are looked for that holds both.
pub async fn client_tools_dir(configured: Option<&Path>) -> Option<PathBuf> {
    let candidates = match configured {
        Some(dir) => vec![dir.to_path_buf()],
        None => ServerBinaries::default_candidates().await,
    };
    candidates
        .into_iter()
        .find(|dir| is_executable_file(&dir.join("pg_dump")) && is_executable_file(&dir.join("pg_restore")))
}

fn is_executable_file(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.mode() & 0o111 != 0)
}

async fn pg_config_bindir() -> Option<PathBuf> {
    let output = Command::new("pg_config")
        .arg("--bindir")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .await
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let dir = String::from_utf8(output.stdout).ok()?;
    let dir = dir.trim();
    (!dir.is_empty()).then(|| PathBuf::from(dir))
}

/// `/usr/lib/postgresql/<version>/bin`, newest version first.
fn debian_versioned_bindirs() -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(DEBIAN_VERSIONED_ROOT) else {
        return Vec::new();
    };
    let mut versions: Vec<(Vec<u32>, PathBuf)> = entries
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let version = parse_version(&entry.file_name().to_string_lossy())?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    versions.into_iter().map(|(_, dir)| dir).collect()
}

/// "15" → [15], "9.6" → [9, 6]; anything else is not a version directory.
fn parse_version(name: &str) -> Option<Vec<u32>> {
    name.split('.').map(|part| part.parse().ok()).collect()
}

// ---------------------------------------------------------------------------
// OS user and directories

#[derive(Debug, Clone)]
pub(crate) struct ServerUser {
    pub(crate) name: String,
    pub(crate) uid: Uid,
    pub(crate) gid: Gid,
    /// ftry is root and the server runs as `name` instead.
    pub(crate) switched_from_root: bool,
}

impl ServerUser {
    pub(crate) fn resolve(run_as: Option<&str>) -> Result<Self> {
        let euid = geteuid();
        if !euid.is_root() {
            return Ok(Self::current(euid));
        }
        let name = run_as.unwrap_or(DEFAULT_RUN_AS);
        let user = User::from_name(name)
            .map_err(|source| EmbeddedError::UserLookup {
                user: name.to_owned(),
                source,
            })?
            .ok_or_else(|| EmbeddedError::RunAsUserMissing {
                user: name.to_owned(),
            })?;
        if user.uid.is_root() {
            return Err(EmbeddedError::RunAsRoot {
                user: name.to_owned(),
            });
        }
        tracing::info!(
            user = name,
            uid = user.uid.as_raw(),
            "ftry runs as root; running the embedded PostgreSQL as OS user {name}"
        );
        Ok(Self {
            name: name.to_owned(),
            uid: user.uid,
            gid: user.gid,
            switched_from_root: true,
        })
    }

    fn current(euid: Uid) -> Self {
        let name = User::from_uid(euid)
            .ok()
            .flatten()
            .map_or_else(|| euid.to_string(), |user| user.name);
        Self {
            name,
            uid: euid,
            gid: getegid(),
            switched_from_root: false,
        }
    }

    pub(crate) fn apply_to(&self, command: &mut Command) {
        if self.switched_from_root {
            // std drops root's supplementary groups when it sets the uid.
            command.uid(self.uid.as_raw()).gid(self.gid.as_raw());
        }
    }

    /// Whether this user may search (enter) a directory, by its mode bits.
    /// Only the primary group counts: supplementary groups are dropped when
    /// switching from root.
    fn can_traverse(&self, dir: &fs::Metadata) -> bool {
        let mode = dir.mode();
        if dir.uid() == self.uid.as_raw() {
            mode & 0o100 != 0
        } else if dir.gid() == self.gid.as_raw() {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        }
    }
}

/// Creates the data directory if needed and returns its canonical path, so
/// the paths handed to PostgreSQL and compared against /proc are absolute.
pub(crate) fn prepare_data_dir(requested: &Path, user: &ServerUser) -> Result<PathBuf> {
    let existed = requested
        .try_exists()
        .map_err(io_error("check data directory", requested))?;
    fs::create_dir_all(requested).map_err(io_error("create data directory", requested))?;
    let data_dir = fs::canonicalize(requested).map_err(io_error("resolve data directory", requested))?;
    if user.switched_from_root {
        let meta = fs::metadata(&data_dir).map_err(io_error("inspect data directory", &data_dir))?;
        // The server user must pass through the data directory to reach its
        // own subdirectories; we only loosen directories that are ours.
        if !existed || meta.uid() == 0 {
            let mode = meta.mode() & 0o7777;
            if mode & 0o711 != 0o711 {
                fs::set_permissions(&data_dir, Permissions::from_mode(mode | 0o711))
                    .map_err(io_error("set permissions on data directory", &data_dir))?;
            }
        }
    }
    Ok(data_dir)
}

/// Takes the exclusive data-directory lock; it is released by the kernel
/// whenever this process ends, however it ends.
pub(crate) fn lock_data_dir(data_dir: &Path) -> Result<File> {
    let path = data_dir.join(LOCK_FILE_NAME);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        // Truncating before holding the lock would wipe the owner's pid.
        .truncate(false)
        .mode(0o644)
        .open(&path)
        .map_err(io_error("open lock file", &path))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(EmbeddedError::DataDirInUse {
                data_dir: data_dir.to_path_buf(),
            })
        }
        Err(TryLockError::Error(source)) => return Err(io_error("lock", &path)(source)),
    }
    file.set_len(0)
        .and_then(|()| writeln!(file, "{}", std::process::id()))
        .map_err(io_error("write pid into lock file", &path))?;
    Ok(file)
}

fn ensure_traversable(data_dir: &Path, user: &ServerUser) -> Result<()> {
    for dir in data_dir.ancestors() {
        let meta = fs::metadata(dir).map_err(io_error("inspect directory", dir))?;
        if !user.can_traverse(&meta) {
            return Err(EmbeddedError::NotTraversable {
                dir: dir.to_path_buf(),
                user: user.name.clone(),
            });
        }
    }
    Ok(())
}

/// A directory only the server user may enter.
pub(crate) fn prepare_private_dir(dir: &Path, user: &ServerUser) -> Result<()> {
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
        Err(error) => return Err(io_error("create directory", dir)(error)),
    }
    if user.switched_from_root {
        chown(dir, Some(user.uid.as_raw()), Some(user.gid.as_raw()))
            .map_err(io_error("change owner of", dir))?;
    }
    fs::set_permissions(dir, Permissions::from_mode(0o700)).map_err(io_error("set permissions on", dir))
}

fn remove_dir_if_exists(dir: &Path) -> Result<()> {
    match fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(io_error("remove", dir)(error)),
    }
}

fn remove_file_if_exists(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(io_error("remove", path)(error)),
    }
}

#[derive(Debug)]
pub(crate) struct Layout {
    pub(crate) data_dir: PathBuf,
    pub(crate) cluster_dir: PathBuf,
    initdb_staging_dir: PathBuf,
    pub(crate) run_dir: PathBuf,
    pub(crate) log_file: PathBuf,
}

impl Layout {
    pub(crate) fn new(data_dir: PathBuf) -> Self {
        Self {
            cluster_dir: data_dir.join(CLUSTER_DIR_NAME),
            initdb_staging_dir: data_dir.join(INITDB_STAGING_DIR_NAME),
            run_dir: data_dir.join(RUN_DIR_NAME),
            log_file: data_dir.join(LOG_FILE_NAME),
            data_dir,
        }
    }

    fn socket_file(&self) -> PathBuf {
        self.run_dir.join(SOCKET_FILE_NAME)
    }

    fn socket_lock_file(&self) -> PathBuf {
        self.run_dir.join(format!("{SOCKET_FILE_NAME}.lock"))
    }

    pub(crate) fn postmaster_pid_file(&self) -> PathBuf {
        self.cluster_dir.join("postmaster.pid")
    }

    /// Checked up front: PostgreSQL would otherwise fail only after initdb,
    /// with a message that does not point at the data directory.
    fn check_socket_path_length(&self) -> Result<()> {
        let path = self.socket_file();
        let len = path.as_os_str().len();
        if len > MAX_SOCKET_PATH_BYTES {
            return Err(EmbeddedError::SocketPathTooLong { path, len });
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Log file

/// Opens the shared log for a child's stdout and stderr. Returns the stdio
/// handles and the offset where this child's output begins, so errors quote
/// this run's lines rather than an earlier run's.
fn open_log_for(log_file: &Path, what: &str) -> Result<(Stdio, Stdio, u64)> {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        // Server messages can quote query data.
        .mode(0o600)
        .open(log_file)
        .map_err(io_error("open log file", log_file))?;
    let offset = file
        .metadata()
        .map_err(io_error("inspect log file", log_file))?
        .len();
    writeln!(
        file,
        "--- ftry: {what} at {} ---",
        chrono::Utc::now().to_rfc3339()
    )
    .map_err(io_error("write to log file", log_file))?;
    let stderr = file
        .try_clone()
        .map_err(io_error("duplicate handle of", log_file))?;
    Ok((Stdio::from(file), Stdio::from(stderr), offset))
}

/// The last lines written since `offset`, joined into one line. Never fails:
/// it only decorates another error.
fn log_tail(log_file: &Path, offset: u64) -> String {
    read_log_since(log_file, offset)
        .map(|text| {
            let lines: Vec<&str> = text.lines().filter(|line| !line.trim().is_empty()).collect();
            let tail = &lines[lines.len().saturating_sub(LOG_TAIL_LINES)..];
            if tail.is_empty() {
                "(no output)".to_owned()
            } else {
                tail.join(" | ")
            }
        })
        .unwrap_or_else(|error| format!("(log unreadable: {error})"))
}

fn read_log_since(log_file: &Path, offset: u64) -> io::Result<String> {
    let mut file = File::open(log_file)?;
    let len = file.metadata()?.len();
    let start = offset.max(len.saturating_sub(LOG_TAIL_MAX_BYTES)).min(len);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

// ---------------------------------------------------------------------------
// Cluster initialization

async fn ensure_cluster(layout: &Layout, binaries: &ServerBinaries, user: &ServerUser) -> Result<()> {
    let cluster = &layout.cluster_dir;
    let version_file = cluster.join("PG_VERSION");
    if version_file
        .try_exists()
        .map_err(io_error("check", &version_file))?
    {
        ensure_cluster_owner(cluster, user)?;
        return fs::set_permissions(cluster, Permissions::from_mode(0o700))
            .map_err(io_error("set permissions on", cluster));
    }
    if cluster.try_exists().map_err(io_error("check", cluster))? {
        tracing::warn!(cluster = %cluster.display(), "removing an incomplete PostgreSQL cluster and initializing it again");
        remove_dir_if_exists(cluster)?;
    }
    initialize_cluster(layout, binaries, user).await
}

fn ensure_cluster_owner(cluster: &Path, user: &ServerUser) -> Result<()> {
    let owner_uid = fs::metadata(cluster).map_err(io_error("inspect", cluster))?.uid();
    if owner_uid != user.uid.as_raw() {
        return Err(EmbeddedError::ClusterOwnerMismatch {
            cluster: cluster.to_path_buf(),
            owner_uid,
            user: user.name.clone(),
            uid: user.uid.as_raw(),
        });
    }
    Ok(())
}

async fn initialize_cluster(layout: &Layout, binaries: &ServerBinaries, user: &ServerUser) -> Result<()> {
    let staging = &layout.initdb_staging_dir;
    // Left behind only by an initdb that was killed.
    remove_dir_if_exists(staging)?;
    prepare_private_dir(staging, user)?;
    tracing::info!(cluster = %layout.cluster_dir.display(), "initializing the embedded PostgreSQL cluster");

    let (stdout, stderr, log_offset) = open_log_for(&layout.log_file, "initdb")?;
    let mut initdb = Command::new(&binaries.initdb);
    initdb
        .arg("-D")
        .arg(staging)
        .arg(format!("--username={SUPERUSER_ROLE}"))
        .args([
            "--auth-local=trust",
            "--auth-host=reject",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        ])
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        // A working directory the server user can enter (not root's home).
        .current_dir(&layout.data_dir);
    user.apply_to(&mut initdb);
    let status = initdb.status().await.map_err(io_error("run", &binaries.initdb))?;
    if !status.success() {
        return Err(EmbeddedError::InitdbFailed {
            status,
            log: layout.log_file.clone(),
            tail: log_tail(&layout.log_file, log_offset),
        });
    }

    fs::rename(staging, &layout.cluster_dir).map_err(io_error(
        "move initialized cluster into place at",
        &layout.cluster_dir,
    ))?;
    // Make the rename itself durable, not just initdb's files.
    File::open(&layout.data_dir)
        .and_then(|dir| dir.sync_all())
        .map_err(io_error("sync", &layout.data_dir))
}

// ---------------------------------------------------------------------------
// Crash recovery

/// Clears what a ftry that died without stopping its server leaves behind.
/// We hold the data-directory lock, so no live ftry uses this cluster: a
/// postmaster still running on it is an orphan, and anything else in
/// `postmaster.pid` is stale.
pub(crate) async fn recover_stale_server(layout: &Layout) -> Result<()> {
    let pid_file = layout.postmaster_pid_file();
    let contents = match fs::read_to_string(&pid_file) {
        Ok(contents) => contents,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(io_error("read", &pid_file)(error)),
    };
    match parse_postmaster_pid(&contents) {
        Some(pid) if process_is_running(pid) && is_postmaster_of(pid, &layout.cluster_dir) => {
            tracing::warn!(
                pid = pid.as_raw(),
                "stopping PostgreSQL left running by an earlier ftry that did not shut down cleanly"
            );
            stop_orphan(pid, &layout.cluster_dir).await?;
        }
        _ => tracing::warn!(
            pid_file = %pid_file.display(),
            "removing stale PostgreSQL pid file left by an earlier ftry that did not shut down cleanly"
        ),
    }
    remove_file_if_exists(&pid_file)?;
    remove_file_if_exists(&layout.socket_lock_file())?;
    remove_file_if_exists(&layout.socket_file())
}

pub(crate) fn parse_postmaster_pid(contents: &str) -> Option<Pid> {
    let pid: i32 = contents.lines().next()?.trim().parse().ok()?;
    (pid > 0).then(|| Pid::from_raw(pid))
}

/// Alive and not a zombie: an orphan whose parent does not reap it stays
/// signalable after it has exited.
pub(crate) fn process_is_running(pid: Pid) -> bool {
    if kill(pid, None) == Err(Errno::ESRCH) {
        return false;
    }
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !matches!(process_state(&stat), Some('Z' | 'X')),
        // Without /proc, trust the signal check above.
        Err(_) => true,
    }
}

/// The state field follows the command name, which is in parentheses and
/// may itself contain ") ".
fn process_state(stat: &str) -> Option<char> {
    let (_, after_name) = stat.rsplit_once(')')?;
    after_name.trim_start().chars().next()
}

/// Whether `pid` is a postgres server started with `-D <cluster>`.
pub(crate) fn is_postmaster_of(pid: Pid, cluster: &Path) -> bool {
    let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = cmdline.split(|&byte| byte == 0).collect();
    let Some(program) = args.first() else {
        return false;
    };
    let program = Path::new(OsStr::from_bytes(program));
    let is_postgres = program
        .file_name()
        .is_some_and(|name| name == "postgres" || name == "postmaster");
    is_postgres && data_dir_argument(&args).is_some_and(|dir| same_path(&dir, cluster))
}

fn data_dir_argument(args: &[&[u8]]) -> Option<PathBuf> {
    let position = args.iter().position(|arg| *arg == b"-D")?;
    let dir = args.get(position + 1)?;
    Some(PathBuf::from(OsStr::from_bytes(dir)))
}

fn same_path(a: &Path, b: &Path) -> bool {
    a == b || matches!((fs::canonicalize(a), fs::canonicalize(b)), (Ok(a), Ok(b)) if a == b)
}

async fn stop_orphan(pid: Pid, cluster: &Path) -> Result<()> {
    for signal in [Signal::SIGINT, Signal::SIGQUIT] {
        send_signal(pid, signal)?;
        let grace = if signal == Signal::SIGINT {
            ORPHAN_SHUTDOWN_GRACE
        } else {
            IMMEDIATE_SHUTDOWN_GRACE
        };
        if wait_until_gone(pid, grace).await {
            return Ok(());
        }
    }
    Err(EmbeddedError::OrphanWouldNotStop {
        pid: pid.as_raw(),
        cluster: cluster.to_path_buf(),
    })
}

async fn wait_until_gone(pid: Pid, grace: Duration) -> bool {
    let deadline = Instant::now() + grace;
    while process_is_running(pid) {
        if Instant::now() >= deadline {
            return false;
        }
        sleep(EXIT_POLL_INTERVAL).await;
    }
    true
}

/// A process that is already gone counts as signalled.
fn send_signal(pid: Pid, signal: Signal) -> Result<()> {
    match kill(pid, signal) {
        Ok(()) | Err(Errno::ESRCH) => Ok(()),
        Err(source) => Err(EmbeddedError::Signal {
            pid: pid.as_raw(),
            signal,
            source,
        }),
    }
}

// ---------------------------------------------------------------------------
// Server process

struct Launch {
    child: Child,
    pid: u32,
    log_offset: u64,
}

fn spawn_server(
    layout: &Layout,
    binaries: &ServerBinaries,
    user: &ServerUser,
    settings: &[(String, String)],
) -> Result<Launch> {
    let (stdout, stderr, log_offset) = open_log_for(&layout.log_file, "starting postgres")?;
    let mut postgres = Command::new(&binaries.postgres);
    postgres
        .arg("-D")
        .arg(&layout.cluster_dir)
        .args(["-c", "listen_addresses="])
        .arg("-c")
        .arg(format!("port={PORT}"))
        .arg("-c")
        .arg(format!(
            "unix_socket_directories={}",
            quote_directory(&layout.run_dir)
        ))
        .args(["-c", "unix_socket_permissions=0700"])
        .args(
            settings
                .iter()
                .flat_map(|(name, value)| ["-c".to_owned(), format!("{name}={value}")]),
        )
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .current_dir(&layout.data_dir)
        // Its own process group: a Ctrl-C at ftry's terminal must reach only
        // ftry, which then shuts the server down after its own work.
        .process_group(0);
    user.apply_to(&mut postgres);
    let child = postgres.spawn().map_err(io_error("start", &binaries.postgres))?;
    let pid = child.id().ok_or_else(|| {
        io_error("get the process id of", &binaries.postgres)(io::Error::other("process already reaped"))
    })?;
    Ok(Launch {
        child,
        pid,
        log_offset,
    })
}

/// `unix_socket_directories` is a comma-separated list; a double-quoted
/// entry (with `""` for a quote) keeps commas and spaces in the path intact.
fn quote_directory(dir: &Path) -> String {
    format!("\"{}\"", dir.to_string_lossy().replace('"', "\"\""))
}

// ---------------------------------------------------------------------------
// Roles and database

/// Idempotent: brings roles, database and privileges to the expected state
/// whether this is the first start or the hundredth.
async fn bootstrap(
    superuser: &mut PgConnection,
    in_ftry_database: &PgConnectOptions,
) -> Result<(), sqlx::Error> {
    ensure_role(superuser, OWNER_ROLE).await?;
    ensure_role(superuser, APP_ROLE).await?;
    ensure_database(superuser).await?;
    sqlx::raw_sql(&format!(
        "REVOKE ALL ON DATABASE {DATABASE} FROM PUBLIC; \
         GRANT CONNECT, TEMPORARY ON DATABASE {DATABASE} TO {APP_ROLE};"
    ))
    .execute(&mut *superuser)
    .await?;

    // Schema privileges live inside the database, so they need a connection to it.
    let mut in_ftry = PgConnection::connect_with(in_ftry_database).await?;
    sqlx::raw_sql(&format!(
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC; \
         ALTER SCHEMA public OWNER TO {OWNER_ROLE}; \
         GRANT USAGE ON SCHEMA public TO {APP_ROLE};"
    ))
    .execute(&mut in_ftry)
    .await?;
    in_ftry.close().await
}

// Role and database names are compile-time constants: identifiers cannot be
// bound as parameters, and nothing user-supplied is interpolated.

async fn ensure_role(superuser: &mut PgConnection, role: &str) -> Result<(), sqlx::Error> {
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
        .bind(role)
        .fetch_one(&mut *superuser)
        .await?;
    if !exists {
        sqlx::raw_sql(&format!("CREATE ROLE {role}"))
            .execute(&mut *superuser)
            .await?;
    }
    sqlx::raw_sql(&format!("ALTER ROLE {role} {ROLE_ATTRIBUTES}"))
        .execute(&mut *superuser)
        .await?;
    Ok(())
}

async fn ensure_database(superuser: &mut PgConnection) -> Result<(), sqlx::Error> {
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(DATABASE)
        .fetch_one(&mut *superuser)
        .await?;
    let statement = if exists {
        format!("ALTER DATABASE {DATABASE} OWNER TO {OWNER_ROLE}")
    } else {
        format!("CREATE DATABASE {DATABASE} OWNER {OWNER_ROLE}")
    };
    sqlx::raw_sql(&statement).execute(&mut *superuser).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_numerically() {
        assert_eq!(parse_version("15"), Some(vec![15]));
        assert_eq!(parse_version("9.6"), Some(vec![9, 6]));
        assert_eq!(parse_version("main"), None);
        assert!(parse_version("10") > parse_version("9.6"));
    }

    #[test]
    fn process_state_survives_parentheses_in_the_name() {
        assert_eq!(process_state("42 (a) b) Z 1 2"), Some('Z'));
        assert_eq!(process_state("42 (postgres) S 1 2"), Some('S'));
    }

    #[test]
    fn postmaster_pid_is_the_first_line() {
        assert_eq!(parse_postmaster_pid("1234\n/data\n"), Some(Pid::from_raw(1234)));
        assert_eq!(parse_postmaster_pid("garbage\n"), None);
        assert_eq!(parse_postmaster_pid("-5\n"), None);
    }

    #[test]
    fn socket_directory_is_quoted() {
        assert_eq!(quote_directory(Path::new("/a b,c")), "\"/a b,c\"");
        assert_eq!(quote_directory(Path::new("/a\"b")), "\"/a\"\"b\"");
    }

    #[test]
    fn data_dir_argument_follows_dash_d() {
        let args: Vec<&[u8]> = vec![b"/usr/bin/postgres", b"-D", b"/srv/pg", b"-c", b"x=y"];
        assert_eq!(data_dir_argument(&args), Some(PathBuf::from("/srv/pg")));
    }
}
