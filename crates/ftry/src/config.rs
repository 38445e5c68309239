//! Configuration: defaults < `ftry.toml` < environment.
//!
//! Every key lives in one section of [`Config`]; the environment variable of
//! `section.key` is `FTRY_SECTION_KEY` (top-level keys: `FTRY_KEY`), and the
//! standard `DATABASE_URL` and `REDIS_URL` are read too. An invalid value stops
//! startup with one line naming the key and the expected form.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use ftry_api::rate_limit::RateLimitSettings;
use ftry_api::HttpSettings;
use ftry_app::data_protection::{DataProtection, DataProtectionSettings};
use ftry_app::jobs::JobSettings;
use ftry_app::notifications::NotificationSettings;
use ftry_app::webhooks::WebhookSettings;
use ftry_app::AuthSettings;
use ftry_ops::embedded::EmbeddedSettings;
use ftry_ops::error_reporting::ErrorReportingSettings;
use ftry_ops::logging::LogSettings;
use ftry_ops::pitr::PitrSettings;
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgConnectOptions;

/// Sections, longest first where one could prefix another.
const SECTIONS: [&str; 16] = [
    "error_reporting",
    "notifications",
    "webhooks",
    "data_protection",
    "rate_limit",
    "database",
    "backup",
    "embedded",
    "shutdown",
    "admin",
    "redis",
    "http",
    "pitr",
    "auth",
    "jobs",
    "log",
];

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where ftry keeps its embedded PostgreSQL cluster and local files.
    pub data_dir: DataDir,
    pub http: HttpSettings,
    pub admin: AdminConfig,
    pub rate_limit: RateLimitSettings,
    pub auth: AuthSettings,
    pub data_protection: DataProtectionSettings,
    pub database: DatabaseConfig,
    pub embedded: EmbeddedConfig,
    pub redis: RedisConfig,
    pub log: LogSettings,
    pub error_reporting: ErrorReportingSettings,
    pub jobs: JobSettings,
    pub notifications: NotificationSettings,
    pub webhooks: WebhookSettings,
    pub backup: BackupConfig,
    pub pitr: PitrConfig,
    pub shutdown: ShutdownConfig,
}

/// Point-in-time recovery of the embedded cluster with pgBackRest
/// (`ftry pitr`): continuous WAL archiving into a repository.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PitrConfig {
    /// Archive the embedded cluster's WAL (needs the `pgbackrest` package).
    pub enabled: bool,
    /// The pgBackRest repository; unset: `<data_dir>/pgbackrest`.
    pub repo_path: Option<PathBuf>,
    /// Full base backups kept (older ones expire with the WAL only they need).
    pub keep_full: u32,
    /// Archive a WAL segment after this many seconds even when it is not
    /// full: the most committed work a lost disk can take with it.
    pub archive_timeout_secs: u64,
    /// pgBackRest's compress-type: none, gz, bz2, lz4 or zst.
    pub compress_type: String,
    /// The pgbackrest program.
    pub pgbackrest: PathBuf,
    /// `local` (`repo_path`) or `s3`: the bucket of `backup.s3_*` (its
    /// endpoint must be https), under `<backup.s3_prefix>pgbackrest`.
    pub repo_type: String,
    /// The authority that signed the bucket's certificate, when the system
    /// does not trust it.
    pub s3_ca_file: Option<PathBuf>,
}

impl Default for PitrConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            repo_path: None,
            keep_full: 2,
            archive_timeout_secs: 60,
            compress_type: "lz4".to_owned(),
            pgbackrest: PathBuf::from("pgbackrest"),
            repo_type: "local".to_owned(),
            s3_ca_file: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct DataDir(pub PathBuf);

/// Logical backups (`ftry backup`, and the daily `jobs.backup_cron` run).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackupConfig {
    /// Where backups are kept; unset: `<data_dir>/backups`.
    pub dir: Option<PathBuf>,
    /// A role that reads every row (a superuser, or one with BYPASSRLS).
    /// Unset: the embedded cluster's superuser, or `database.owner_url`.
    pub database_url: Option<SecretUrl>,
    /// Directory holding `pg_dump` and `pg_restore`; found when unset.
    pub bin_dir: Option<PathBuf>,
    /// Retention after each scheduled backup and for `ftry backup prune`:
    /// the newest backup of each of the latest this many days (at least 1),
    /// ISO weeks and months.
    pub keep_daily: usize,
    pub keep_weekly: usize,
    pub keep_monthly: usize,
    /// An S3-compatible bucket backups go to instead of `dir` (which then
    /// only holds a backup being verified or restored, for that moment).
    pub s3_bucket: Option<String>,
    /// Unset: AWS S3 in `s3_region`.
    pub s3_endpoint: Option<String>,
    pub s3_region: String,
    pub s3_access_key_id: Option<String>,
    pub s3_secret_access_key: Option<ftry_app::settings::Secret>,
    /// `endpoint/bucket/key` rather than `bucket.endpoint/key` (MinIO and
    /// most S3-compatible servers want it).
    pub s3_path_style: bool,
    /// Put before each object's name, e.g. `ftry/production/`.
    pub s3_prefix: String,
    /// A dump larger than this goes as a multipart upload of such parts.
    pub s3_part_size_mib: usize,
}

/// A configuration key's value that is not what it should be.
fn problem<T>(key: &str, what: &str) -> Result<T, ConfigError> {
    Err(ConfigError(format!("{key}: expected {what}")))
}

impl BackupConfig {
    /// The bucket's settings, when one is configured.
    pub fn s3(&self) -> Result<Option<ftry_app::backup_store::S3Settings>, ConfigError> {
        let Some(bucket) = &self.s3_bucket else {
            return match (&self.s3_endpoint, &self.s3_access_key_id) {
                (None, None) => Ok(None),
                _ => problem(
                    "backup.s3_bucket",
                    "the bucket's name (the other backup.s3_* keys are set)",
                ),
            };
        };
        let endpoint = match &self.s3_endpoint {
            Some(endpoint) => endpoint.clone(),
            None => format!("https://s3.{}.amazonaws.com", self.s3_region),
        };
        let endpoint = match url::Url::parse(&endpoint) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => url,
            _ => {
                return problem(
                    "backup.s3_endpoint",
                    "the store's URL, e.g. https://s3.ap-south-1.amazonaws.com",
                )
            }
        };
        let (Some(access_key_id), Some(secret_access_key)) =
            (&self.s3_access_key_id, &self.s3_secret_access_key)
        else {
            return problem(
                "backup.s3_access_key_id",
                "set with backup.s3_secret_access_key: the key that writes to the bucket",
            );
        };
        let settings = ftry_app::backup_store::S3Settings {
            endpoint,
            region: self.s3_region.clone(),
            bucket: bucket.clone(),
            access_key_id: access_key_id.clone(),
            secret_access_key: secret_access_key.clone(),
            path_style: self.s3_path_style,
            prefix: self.s3_prefix.clone(),
            part_size: self.s3_part_size_mib.saturating_mul(1024 * 1024),
        };
        if let Err(e) = ftry_app::backup_store::S3Store::new(&settings) {
            return problem(
                "backup.s3_part_size_mib",
                &format!("at least 5 (S3's smallest part): {e}"),
            );
        }
        Ok(Some(settings))
    }
}

impl Default for BackupConfig {
    fn default() -> Self {
        let keep = ftry_app::backup::Retention::default();
        Self {
            dir: None,
            database_url: None,
            bin_dir: None,
            keep_daily: keep.daily,
            keep_weekly: keep.weekly,
            keep_monthly: keep.monthly,
            s3_bucket: None,
            s3_endpoint: None,
            s3_region: "us-east-1".into(),
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_path_style: false,
            s3_prefix: String::new(),
            s3_part_size_mib: 16,
        }
    }
}

impl Default for DataDir {
    fn default() -> Self {
        Self(PathBuf::from("./ftry-data"))
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// The application role's connection; unset = the embedded PostgreSQL.
    pub url: Option<SecretUrl>,
    /// The owner role's connection, used for migrations; defaults to `url`.
    pub owner_url: Option<SecretUrl>,
    /// A read replica for reports (the application role); defaults to `url`.
    pub read_url: Option<SecretUrl>,
    /// Apply pending migrations when `serve` starts.
    pub auto_migrate: bool,
    /// Connections each pool of a node may hold. More connections than a
    /// few per core of the database server make a busy server slower, not
    /// faster: every statement then waits for a core among more backends,
    /// and locks are held across those waits (bench/README.md).
    pub max_connections: u32,
    pub acquire_timeout_ms: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            owner_url: None,
            read_url: None,
            auto_migrate: true,
            max_connections: 10,
            acquire_timeout_ms: 3000,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmbeddedConfig {
    /// Directory holding `initdb` and `postgres`; found automatically when unset.
    pub pg_bindir: Option<PathBuf>,
    /// OS user that runs PostgreSQL when ftry runs as root (default `postgres`).
    pub run_as: Option<String>,
    pub startup_timeout_secs: u64,
}

impl Default for EmbeddedConfig {
    fn default() -> Self {
        Self {
            pg_bindir: None,
            run_as: None,
            startup_timeout_secs: 60,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisConfig {
    /// Unset = no Redis: rate limits and caches stay in-process (one node).
    pub url: Option<SecretUrl>,
    /// Timeout of each Redis command and connect attempt.
    pub timeout_ms: u64,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: None,
            timeout_ms: 250,
        }
    }
}

/// The operators' listener: Prometheus metrics, apart from the public port.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// Address of the admin listener (`GET /metrics`). Keep it private: bind
    /// it to loopback or an internal network, never to the public one.
    pub addr: SocketAddr,
    /// Label the appointment, invoice and payment counters with the
    /// business's id: for installs with a handful of businesses only, as
    /// every business adds its own series.
    pub per_tenant_labels: bool,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 9464)),
            per_tenant_labels: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShutdownConfig {
    /// After SIGTERM, keep serving (readiness 503) this long so load balancers
    /// notice before the listener closes.
    pub drain_delay_ms: u64,
    /// Longest wait for in-flight requests once the listener has closed.
    pub grace_secs: u64,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self {
            drain_delay_ms: 0,
            grace_secs: 30,
        }
    }
}

/// A connection URL whose password never reaches a log or a printout.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(try_from = "String")]
pub struct SecretUrl(String);

impl SecretUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn redacted(&self) -> String {
        ftry_app::settings::redact_url(&self.0)
    }
}

impl TryFrom<String> for SecretUrl {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        match url::Url::parse(&text) {
            Ok(url) if url.has_host() || url.query().is_some() => Ok(Self(text)),
            _ => Err("not a connection URL; expected scheme://user:password@host:port/name".into()),
        }
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for SecretUrl {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.redacted())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(String);

/// The configuration file to read: explicit (`--config` / `FTRY_CONFIG`, must
/// exist) or `./ftry.toml` when present.
fn config_file(explicit: Option<&Path>) -> Result<Option<PathBuf>, ConfigError> {
    match explicit {
        Some(path) if path.is_file() => Ok(Some(path.to_owned())),
        Some(path) => Err(ConfigError(format!(
            "config file {} does not exist or is not a file",
            path.display()
        ))),
        None => Ok(Some(PathBuf::from("ftry.toml")).filter(|p| p.is_file())),
    }
}

/// `FTRY_HTTP_ADDR` → `http.addr`, `FTRY_DATA_DIR` → `data_dir`.
fn env_key(key: &str) -> String {
    let key = key.to_ascii_lowercase();
    SECTIONS
        .iter()
        .find_map(|section| {
            key.strip_prefix(section)
                .and_then(|rest| rest.strip_prefix('_'))
                .map(|rest| format!("{section}.{rest}"))
        })
        .unwrap_or(key)
}

impl Config {
    pub fn load(explicit: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = config_file(explicit)? {
            figment = figment.merge(Toml::file_exact(file));
        }
        let config: Config =
            figment
                .merge(Env::raw().only(&["DATABASE_URL", "REDIS_URL", "SENTRY_DSN"]).map(
                    |k| match k.as_str() {
                        "SENTRY_DSN" => "error_reporting.dsn".into(),
                        other => env_key(other).into(),
                    },
                ))
                .merge(
                    Env::prefixed("FTRY_")
                        // Read by the CLI itself, not configuration keys.
                        .ignore(&["CONFIG", "ADMIN_PASSWORD"])
                        .map(|k| env_key(k.as_str()).into()),
                )
                .extract()
                .map_err(|e| ConfigError(describe(e)))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.http.body_limit_bytes == 0 {
            return problem("http.body_limit_bytes", "a positive number of bytes");
        }
        if self.http.request_timeout_secs == 0 {
            return problem("http.request_timeout_secs", "a positive number of seconds");
        }
        if self.http.check_timeout_ms == 0 {
            return problem("http.check_timeout_ms", "a positive number of milliseconds");
        }
        for origin in &self.http.cors_origins {
            let valid = url::Url::parse(origin)
                .is_ok_and(|u| u.has_host() && u.path() == "/" && !origin.ends_with('/'));
            if !valid {
                return problem(
                    "http.cors_origins",
                    &format!("origins such as https://book.example.com, not `{origin}`"),
                );
            }
        }
        if self.database.max_connections == 0 {
            return problem("database.max_connections", "at least 1");
        }
        if self.database.owner_url.is_some() && self.database.url.is_none() {
            return problem("database.owner_url", "to be set only together with database.url");
        }
        for (key, url) in [
            ("database.url", &self.database.url),
            ("database.owner_url", &self.database.owner_url),
            ("database.read_url", &self.database.read_url),
            ("backup.database_url", &self.backup.database_url),
        ] {
            if let Some(url) = url {
                if PgConnectOptions::from_str(url.expose()).is_err() {
                    return problem(
                        key,
                        "a PostgreSQL URL, postgres://user:password@host:5432/database",
                    );
                }
            }
        }
        if let Some(url) = &self.redis.url {
            if ftry_ops::redis::RedisHandle::new(url.expose(), Duration::from_millis(1)).is_err() {
                return problem("redis.url", "a Redis URL, redis://[:password@]host:6379[/db]");
            }
        }
        if self.backup.keep_daily == 0 {
            return problem(
                "backup.keep_daily",
                "at least 1 (the newest backup is always kept)",
            );
        }
        self.backup.s3()?;
        if self.pitr.enabled && self.database.url.is_some() {
            return problem(
                "pitr.enabled",
                "false with database.url (an external database's point-in-time recovery is its provider's)",
            );
        }
        if self.pitr.keep_full == 0 {
            return problem("pitr.keep_full", "at least 1");
        }
        if self.pitr.archive_timeout_secs == 0 {
            return problem("pitr.archive_timeout_secs", "a positive number of seconds");
        }
        if !["none", "gz", "bz2", "lz4", "zst"].contains(&self.pitr.compress_type.as_str()) {
            return problem("pitr.compress_type", "none, gz, bz2, lz4 or zst");
        }
        match self.pitr.repo_type.as_str() {
            "local" => {}
            "s3" => {
                self.pitr_s3()?;
            }
            _ => return problem("pitr.repo_type", "local or s3"),
        }
        if self.redis.timeout_ms == 0 {
            return problem("redis.timeout_ms", "a positive number of milliseconds");
        }
        self.log.filter().map_err(ConfigError)?;
        self.jobs.resolve().map_err(ConfigError)?;
        self.notifications.resolve().map_err(ConfigError)?;
        self.webhooks.resolve().map_err(ConfigError)?;
        self.validate_auth()?;
        let protection = &self.data_protection;
        if !protection.keys.is_empty() || protection.active_key.is_some() || protection.index_key.is_some() {
            DataProtection::new(protection).map_err(ConfigError)?;
        }
        Ok(())
    }

    fn validate_auth(&self) -> Result<(), ConfigError> {
        let auth = &self.auth;
        if auth.access_token_ttl_secs < 60 {
            return problem("auth.access_token_ttl_secs", "at least 60 seconds");
        }
        if auth.refresh_token_ttl_secs < auth.access_token_ttl_secs {
            return problem(
                "auth.refresh_token_ttl_secs",
                "at least auth.access_token_ttl_secs",
            );
        }
        if auth.max_failed_logins < 1 {
            return problem("auth.max_failed_logins", "at least 1");
        }
        if auth.lockout_secs < 1 {
            return problem("auth.lockout_secs", "a positive number of seconds");
        }
        if auth.invite_ttl_hours < 1 || auth.password_reset_ttl_minutes < 1 {
            return problem(
                "auth.invite_ttl_hours / auth.password_reset_ttl_minutes",
                "positive numbers",
            );
        }
        if let Err(e) = argon2::Params::new(
            auth.argon2_memory_kib,
            auth.argon2_iterations,
            auth.argon2_parallelism,
            None,
        ) {
            return problem(
                "auth.argon2_memory_kib / auth.argon2_iterations / auth.argon2_parallelism",
                &format!("valid argon2 parameters ({e})"),
            );
        }
        if !url::Url::parse(&auth.public_url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
            return problem(
                "auth.public_url",
                "an http(s) URL such as https://salon.example.com",
            );
        }
        for key in &auth.signing_keys {
            if key.secret.expose().len() < 32 {
                return problem(
                    "auth.signing_keys",
                    &format!("secrets of at least 32 characters (key `{}`)", key.id),
                );
            }
        }
        if let Some(active) = &auth.active_key {
            if !auth.signing_keys.iter().any(|k| &k.id == active) {
                return problem("auth.active_key", "the id of one of auth.signing_keys");
            }
        }
        Ok(())
    }

    /// The configuration as TOML, every secret redacted.
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown.grace_secs)
    }
}

/// One line: the key, what was wrong, and where the value came from.
fn describe(error: figment::Error) -> String {
    let error = error
        .into_iter()
        .next()
        .unwrap_or_else(|| figment::Error::from("unknown error".to_string()));
    let key = error.path.join(".");
    let source = error
        .metadata
        .as_ref()
        .map(|m| match &m.source {
            Some(source) => format!(" (from {source})"),
            None => format!(" (from {})", m.name),
        })
        .unwrap_or_default();
    let hint = match key.as_str() {
        "http.addr" => "; expected host:port, e.g. 127.0.0.1:8080",
        "http.trusted_proxies" => "; expected a list of IP networks, e.g. [\"10.0.0.0/8\"]",
        _ => "",
    };
    if key.is_empty() {
        format!("{}{source}", error.kind)
    } else {
        format!("{key}: {}{hint}{source}", error.kind)
    }
}

impl Config {
    /// The application and owner connections of an external database, or
    /// `None` for the embedded cluster.
    /// The connection backups dump with, for an external database.
    pub fn backup_url(&self) -> Option<&SecretUrl> {
        self.backup
            .database_url
            .as_ref()
            .or(self.database.owner_url.as_ref())
            .or(self.database.url.as_ref())
    }

    /// Where and how the embedded cluster runs.
    pub fn embedded_settings(&self) -> EmbeddedSettings {
        EmbeddedSettings {
            data_dir: self.data_dir.0.clone(),
            pg_bindir: self.embedded.pg_bindir.clone(),
            run_as: self.embedded.run_as.clone(),
            startup_timeout: Duration::from_secs(self.embedded.startup_timeout_secs),
        }
    }

    /// The embedded cluster's WAL archiving, when PITR is on.
    pub fn pitr_settings(&self) -> Option<PitrSettings> {
        let pitr = &self.pitr;
        pitr.enabled.then(|| PitrSettings {
            repo_path: pitr
                .repo_path
                .clone()
                .unwrap_or_else(|| self.data_dir.0.join("pgbackrest")),
            keep_full: pitr.keep_full,
            archive_timeout: Duration::from_secs(pitr.archive_timeout_secs),
            compress_type: pitr.compress_type.clone(),
            program: pitr.pgbackrest.clone(),
            // Checked when the configuration was read.
            s3: self.pitr_s3().ok().flatten(),
        })
    }

    /// The bucket PITR's repository is in (`pitr.repo_type = "s3"`).
    fn pitr_s3(&self) -> Result<Option<ftry_ops::pitr::PitrS3>, ConfigError> {
        if self.pitr.repo_type != "s3" {
            return Ok(None);
        }
        let Some(s3) = self.backup.s3()? else {
            return problem(
                "pitr.repo_type",
                "local, or s3 with backup.s3_bucket and its keys set",
            );
        };
        let (Some(host), Some(port)) = (s3.endpoint.host_str(), s3.endpoint.port_or_known_default()) else {
            return problem("backup.s3_endpoint", "a host to reach the bucket at");
        };
        if s3.endpoint.scheme() != "https" {
            return problem(
                "backup.s3_endpoint",
                "an https URL (pgBackRest reaches a bucket over TLS only)",
            );
        }
        Ok(Some(ftry_ops::pitr::PitrS3 {
            host: host.to_owned(),
            port,
            bucket: s3.bucket,
            region: s3.region,
            key: s3.access_key_id,
            secret: s3.secret_access_key.expose().to_owned(),
            path_style: s3.path_style,
            path: format!("/{}pgbackrest", s3.prefix.trim_start_matches('/')),
            ca_file: self.pitr.s3_ca_file.clone(),
        }))
    }

    pub fn external_database(&self) -> Option<(PgConnectOptions, PgConnectOptions)> {
        let app = self.database.url.as_ref()?;
        // validate() has parsed both URLs already.
        let parse = |u: &SecretUrl| PgConnectOptions::from_str(u.expose()).unwrap_or_default();
        let owner = self.database.owner_url.as_ref().unwrap_or(app);
        Some((parse(app), parse(owner)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_keys_map_to_sections() {
        assert_eq!(env_key("HTTP_ADDR"), "http.addr");
        assert_eq!(env_key("HTTP_BODY_LIMIT_BYTES"), "http.body_limit_bytes");
        assert_eq!(env_key("RATE_LIMIT_AUTH"), "rate_limit.auth");
        assert_eq!(env_key("DATA_DIR"), "data_dir");
        assert_eq!(env_key("DATABASE_OWNER_URL"), "database.owner_url");
        assert_eq!(env_key("REDIS_URL"), "redis.url");
        assert_eq!(env_key("AUTH_MAX_FAILED_LOGINS"), "auth.max_failed_logins");
        assert_eq!(env_key("DATA_PROTECTION_INDEX_KEY"), "data_protection.index_key");
        assert_eq!(env_key("PITR_ARCHIVE_TIMEOUT_SECS"), "pitr.archive_timeout_secs");
    }

    #[test]
    fn urls_print_without_their_password() {
        let url = SecretUrl::try_from("postgres://app:s3cret@db.internal:5432/ftry".to_string()).unwrap();
        assert_eq!(url.redacted(), "postgres://app:REDACTED@db.internal:5432/ftry");
        assert_eq!(
            format!("{url:?}"),
            "postgres://app:REDACTED@db.internal:5432/ftry"
        );
        assert!(!toml::to_string(&DatabaseConfig {
            url: Some(url),
            ..Default::default()
        })
        .unwrap()
        .contains("s3cret"));
    }
}
