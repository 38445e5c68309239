//! `ftry`: salon and spa management, one binary.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use ftry::config::Config;
use ftry::server;
use ftry_ops::error_reporting::ErrorReports;
use ftry_ops::logging::LogTarget;
use ftry_ops::telemetry::{TraceSettings, Tracing};
use sqlx::Connection;

/// ftry runs a salon's day — calendar, online booking, clients, GST
/// checkout, reminders, reports — for many salons at once.
///
/// With nothing configured it runs on a private PostgreSQL it manages under
/// its data directory (./ftry-data). Configuration: defaults < ftry.toml <
/// environment (FTRY_*, DATABASE_URL, REDIS_URL); see ftry.example.toml.
#[derive(Parser)]
#[command(name = "ftry", version = env!("FTRY_VERSION"), propagate_version = true)]
struct Cli {
    /// Configuration file (default: ./ftry.toml when it exists).
    #[arg(long, global = true, env = "FTRY_CONFIG", value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service (migrating the database first unless
    /// database.auto_migrate = false). Stops cleanly on SIGTERM or SIGINT.
    Serve {
        /// Load the demo salon before serving and print how to look at it.
        #[arg(long)]
        demo: bool,
    },
    /// Run background jobs only (no HTTP service; metrics on admin.addr).
    /// Needs an external database (database.url): with the embedded default,
    /// `ftry serve` runs the jobs. Stops cleanly on SIGTERM or SIGINT.
    Worker,
    /// Inspect and act on the job queue.
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// Logical backups of the database: take one, list them, verify one.
    Backup {
        #[command(subcommand)]
        command: BackupCommand,
    },
    /// Point-in-time recovery of the embedded cluster (pitr.enabled):
    /// base backups, the recovery window, a restore to a moment.
    Pitr {
        #[command(subcommand)]
        command: PitrCommand,
    },
    /// Apply pending database migrations as the owner role, then exit.
    Migrate,
    /// Load data into the database.
    Seed {
        /// The demo salon (idempotent: running it again changes nothing).
        #[arg(long, required = true)]
        demo: bool,
    },
    /// Manage platform operators (they run the SaaS; they are not salon staff).
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Show the development mail outbox: invitations and password-reset
    /// messages that would be emailed.
    Outbox {
        /// The business's slug.
        #[arg(long)]
        tenant: String,
        /// How many of the newest messages to show.
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
    /// Check the tamper-evident chains of a business's invoices and credit notes.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// A business's data.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Print the version and the commit it was built from.
    Version,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a platform operator. The password is read from
    /// FTRY_ADMIN_PASSWORD, or from the first line of standard input.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum BackupCommand {
    /// Take a backup now (pg_dump, custom format) with its manifest.
    Create,
    /// Every backup with its manifest, newest first.
    List,
    /// Check a backup's size and SHA-256 against its manifest and have
    /// pg_restore read it (exit 1 when it is damaged).
    Verify { id: String },
    /// Delete the backups the retention (backup.keep_daily, keep_weekly,
    /// keep_monthly) lets go.
    Prune {
        /// Print what would go, delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Restore a verified backup into a new, empty database and check every
    /// table's row count against the manifest.
    Restore {
        id: String,
        /// The database to restore into (a PostgreSQL URL); it must be empty
        /// unless --force.
        #[arg(long)]
        target: String,
        /// Replace the contents of a database that is not empty (its name
        /// must then be typed when asked, or given with --confirm).
        #[arg(long)]
        force: bool,
        /// The target database's name, confirming --force without a prompt.
        #[arg(long, requires = "force")]
        confirm: Option<String>,
    },
}

#[derive(Subcommand)]
enum PitrCommand {
    /// Take a base backup now: incremental, or full with --full (the first
    /// one is always full). Works whether or not ftry serve is running.
    Backup {
        #[arg(long)]
        full: bool,
    },
    /// The stanza's state, its base backups, the recovery window and the
    /// archiver's lag.
    Status {
        /// One JSON object instead of lines of text.
        #[arg(long)]
        json: bool,
    },
    /// Rewind the stopped embedded cluster to a moment in the recovery
    /// window, then leave it stopped, promoted and ready for ftry serve.
    Restore {
        /// The moment, RFC 3339 (e.g. 2026-05-04T10:15:00+05:30).
        #[arg(long, value_name = "TIME")]
        to: String,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Every table of the business as JSON and CSV in one zip, with a
    /// manifest of columns and row counts.
    Export {
        /// The business's slug.
        slug: String,
        /// Where to write the zip (default: <slug>-<time>.zip here).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Load an export (from this or another installation) as a new
    /// business, with new ids; its active accounts are invited again.
    Import {
        /// The export's zip file.
        file: std::path::PathBuf,
        /// The new business's slug.
        #[arg(long)]
        slug: String,
        /// Its name, if not the exported one.
        #[arg(long)]
        name: Option<String>,
        /// Write every old id and its new one here (JSON).
        #[arg(long)]
        id_map: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
enum JobsCommand {
    /// List jobs, newest first.
    List {
        /// Only jobs in this state: queued, running, done, dead or discarded.
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Queue a dead job again, with a fresh set of attempts.
    Retry { id: uuid::Uuid },
    /// Give up a dead or queued job.
    Discard { id: uuid::Uuid },
    /// Enqueue a diagnostic job and wait for a worker to run it (exit 1 if
    /// none does in time).
    Check {
        /// Seconds to wait.
        #[arg(long, default_value_t = 30)]
        wait: u64,
    },
}

#[derive(Subcommand)]
enum LedgerCommand {
    /// Recompute every hash chain and report the first broken link (exit 1 if any).
    Verify {
        /// The business's slug.
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate the configuration and print the effective values as TOML,
    /// with every secret redacted.
    Check,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Version = cli.command {
        println!("ftry {} ({})", env!("FTRY_VERSION"), env!("FTRY_GIT_SHA"));
        return ExitCode::SUCCESS;
    }
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("ftry: {e}");
            return ExitCode::from(2);
        }
    };
    if let Command::Config {
        command: ConfigCommand::Check,
    } = cli.command
    {
        print!("{}", config.to_redacted_toml());
        return ExitCode::SUCCESS;
    }
    let log_target = match cli.command {
        Command::Serve { .. } | Command::Worker => LogTarget::Stdout,
        _ => LogTarget::Stderr,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("ftry: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Only the service sends traces and error reports; their senders live
    // on the runtime.
    let (tracing, errors) = match cli.command {
        Command::Serve { .. } | Command::Worker => match start_exporters(&runtime, &config) {
            Ok(exporters) => exporters,
            Err(e) => {
                eprintln!("ftry: {e}");
                return ExitCode::from(2);
            }
        },
        _ => (None, None),
    };
    let tracer = tracing.as_ref().map(Tracing::tracer);
    // Jobs carry the trace of what enqueued them (nothing when tracing is off).
    ftry_store::jobs::set_trace_hooks(ftry_store::jobs::TraceHooks {
        current: ftry_ops::telemetry::current_traceparent,
        adopt: ftry_ops::telemetry::adopt_traceparent,
    });
    if let Err(e) = ftry_ops::logging::init(&config.log, log_target, tracer, errors.clone()) {
        eprintln!("ftry: {e}");
        return ExitCode::from(2);
    }
    let outcome = runtime.block_on(async {
        let outcome = execute(cli.command, config).await;
        if let Err(e) = &outcome {
            tracing::error!(error = format!("{e:#}"), "ftry stopped on an error");
        }
        if let Some(tracing) = &tracing {
            tracing.flush(Duration::from_secs(5)).await;
        }
        if let Some(errors) = &errors {
            errors.flush(Duration::from_secs(5)).await;
        }
        outcome
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ftry: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Traces, when the standard `OTEL_*` variables ask for them, and error
/// reports, when a DSN is configured.
fn start_exporters(
    runtime: &tokio::runtime::Runtime,
    config: &Config,
) -> Result<(Option<Tracing>, Option<ErrorReports>), String> {
    let _entered = runtime.enter();
    let tracing = match TraceSettings::from_env(|name| std::env::var(name).ok())? {
        Some(settings) => Some(Tracing::start(&settings, env!("FTRY_VERSION"))?),
        None => None,
    };
    let errors = ErrorReports::start(&config.error_reporting, env!("FTRY_VERSION"))?;
    Ok((tracing, errors))
}

async fn execute(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve { demo } => serve(config, demo).await,
        Command::Worker => worker(config).await,
        Command::Jobs { command } => jobs(config, command).await,
        Command::Backup { command } => backup(config, command).await,
        Command::Pitr { command } => pitr(config, command).await,
        Command::Migrate => {
            let database = server::Database::open(&config).await?;
            let result = database.migrate().await;
            database.close().await?;
            let applied = result?;
            println!("migrations applied: {applied}");
            Ok(())
        }
        Command::Seed { demo: _ } => {
            let mut config = config;
            config.database.auto_migrate = true;
            let prepared = server::prepare(config, true).await?;
            print_demo_logins(None);
            prepared.database.close().await
        }
        Command::Admin {
            command: AdminCommand::Create { email, name },
        } => {
            let password = admin_password()?;
            let database = server::Database::open(&config).await?;
            let result = server::create_admin(&config, &database, &email, &name, &password).await;
            database.close().await?;
            println!("platform operator created: {}", result?);
            Ok(())
        }
        Command::Tenant {
            command: TenantCommand::Export { slug, out },
        } => {
            let prepared = server::prepare(config, false).await?;
            let result = prepared.state.app.export_by_slug(&slug).await;
            prepared.database.close().await?;
            let export = result?;
            let path = out.unwrap_or_else(|| export.file_name.clone().into());
            std::fs::write(&path, &export.zip)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            let rows: usize = export.tables.iter().map(|(_, n)| n).sum();
            println!(
                "exported {slug} to {}: {} tables, {rows} rows, {} bytes",
                path.display(),
                export.tables.len(),
                export.zip.len()
            );
            Ok(())
        }
        Command::Tenant {
            command:
                TenantCommand::Import {
                    file,
                    slug,
                    name,
                    id_map,
                },
        } => {
            let zip =
                std::fs::read(&file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let prepared = server::prepare(config, false).await?;
            let result = async {
                let url = server::superuser_url(&prepared.config, &prepared.database).ok_or_else(|| {
                    anyhow::anyhow!("an import writes as a superuser: set backup.database_url")
                })?;
                let mut conn = sqlx::PgConnection::connect(&url).await?;
                let imported = prepared
                    .state
                    .app
                    .import_tenant(&mut conn, &zip, &slug, name.as_deref())
                    .await;
                let _ = conn.close().await;
                anyhow::Ok(imported?)
            }
            .await;
            prepared.database.close().await?;
            let imported = result?;
            if let Some(path) = id_map {
                let map: std::collections::BTreeMap<String, String> = imported
                    .ids
                    .iter()
                    .map(|(old, new)| (old.to_string(), new.to_string()))
                    .collect();
                std::fs::write(&path, serde_json::to_vec_pretty(&map)?)
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            }
            let rows: u64 = imported.tables.iter().map(|(_, n)| n).sum();
            println!(
                "imported {} as {slug} ({}): {} tables, {rows} rows",
                file.display(),
                imported.tenant_id,
                imported.tables.len()
            );
            for email in &imported.invited {
                println!("invited {email} to choose a password");
            }
            if imported.webhooks_off > 0 {
                println!(
                    "{} webhook endpoints turned off until their secrets are replaced",
                    imported.webhooks_off
                );
            }
            Ok(())
        }
        Command::Outbox { tenant, limit } => {
            let prepared = server::prepare(config, false).await?;
            let result = prepared.state.app.outbox_of(&tenant, limit).await;
            prepared.database.close().await?;
            for message in result? {
                println!(
                    "--- {} to {}\nSubject: {}\n\n{}",
                    message.created_at.to_rfc3339(),
                    message.recipient,
                    message.subject,
                    message.body
                );
            }
            Ok(())
        }
        Command::Ledger {
            command: LedgerCommand::Verify { tenant },
        } => {
            let prepared = server::prepare(config, false).await?;
            let result = prepared.state.app.verify_tenant_ledger(&tenant).await;
            prepared.database.close().await?;
            let report = result?;
            match &report.broken {
                None => {
                    println!(
                        "ledger of {tenant}: ok ({} documents in {} series)",
                        report.documents_checked, report.series_checked
                    );
                    Ok(())
                }
                Some(number) => anyhow::bail!("ledger of {tenant}: broken at document {number}"),
            }
        }
        Command::Config { .. } | Command::Version => Ok(()),
    }
}

async fn serve(config: Config, demo: bool) -> anyhow::Result<()> {
    let addr = config.http.addr;
    let shutdown = server::shutdown_signal();
    let prepared = server::prepare(config, demo).await?;
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            prepared.database.close().await?;
            anyhow::bail!("cannot listen on http.addr {addr}: {e}");
        }
    };
    let admin_addr = prepared.config.admin.addr;
    let admin = match tokio::net::TcpListener::bind(admin_addr).await {
        Ok(admin) => admin,
        Err(e) => {
            prepared.database.close().await?;
            anyhow::bail!("cannot listen on admin.addr {admin_addr}: {e}");
        }
    };
    let local = listener.local_addr()?;
    tracing::info!(addr = %local, admin_addr = %admin.local_addr()?, "ftry is serving");
    if demo {
        print_demo_logins(Some(local));
    }
    server::run(prepared, listener, admin, shutdown).await
}

async fn worker(config: Config) -> anyhow::Result<()> {
    if config.database.url.is_none() {
        anyhow::bail!(
            "ftry worker needs an external database (database.url); with the embedded default, ftry serve runs the jobs"
        );
    }
    let shutdown = server::shutdown_signal();
    let prepared = server::prepare(config, false).await?;
    let admin_addr = prepared.config.admin.addr;
    let admin = match tokio::net::TcpListener::bind(admin_addr).await {
        Ok(admin) => admin,
        Err(e) => {
            prepared.database.close().await?;
            anyhow::bail!("cannot listen on admin.addr {admin_addr}: {e}");
        }
    };
    tracing::info!(admin_addr = %admin.local_addr()?, "ftry worker is running");
    server::run_worker(prepared, admin, shutdown).await
}

/// The newest schema version this binary knows.
fn known_schema() -> i64 {
    ftry_store::migrate::MIGRATOR
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0)
}

async fn backup(config: Config, command: BackupCommand) -> anyhow::Result<()> {
    let database = server::Database::open(&config).await?;
    let result = async {
        let mut backups = server::backups(&config, &database).await.ok_or_else(|| {
            anyhow::anyhow!("no backups: pg_dump and pg_restore not found (set backup.bin_dir)")
        })?;
        backups.progress = Some(progress_reporter());
        let line = |m: &ftry_app::backup::Manifest| {
            format!(
                "{}  {} bytes  schema {}  PostgreSQL {}  {} tables  sha256 {}",
                m.id,
                m.size_bytes,
                m.schema_version,
                m.postgres_version,
                m.tables.len(),
                m.sha256
            )
        };
        match command {
            BackupCommand::Create => {
                let manifest = backups.create().await?;
                println!("{}", line(&manifest));
            }
            BackupCommand::List => {
                for manifest in backups.list().await? {
                    println!("{}", line(&manifest));
                }
            }
            BackupCommand::Verify { id } => {
                let manifest = backups.verify(&id, known_schema()).await?;
                println!("{}  ok", line(&manifest));
            }
            BackupCommand::Prune { dry_run } => {
                let (gone, kept) = backups.prune(&backups.retention, dry_run).await?;
                let verb = if dry_run { "would delete" } else { "deleted" };
                for id in &gone {
                    println!("{verb} {id}");
                }
                println!("{} backups {verb}, {kept} kept", gone.len());
            }
            BackupCommand::Restore {
                id,
                target,
                force,
                confirm,
            } => {
                if force {
                    confirm_replacing(&target, confirm.as_deref())?;
                }
                let restored = backups.restore(&id, known_schema(), &target, force).await?;
                println!(
                    "restored {} into {}: {} tables, {} rows, as its manifest says",
                    restored.manifest.id,
                    ftry_app::settings::redact_url(&target),
                    restored.tables,
                    restored.rows
                );
                match &restored.ledger {
                    Some(report) => println!(
                        "ledger: ok ({} documents in {} series)",
                        report.documents_checked, report.series_checked
                    ),
                    None => println!("ledger: no invoices to check"),
                }
            }
        }
        Ok(())
    }
    .await;
    database.close().await?;
    result
}

async fn pitr(config: Config, command: PitrCommand) -> anyhow::Result<()> {
    use ftry_ops::pitr;
    if config.database.url.is_some() {
        anyhow::bail!(
            "ftry pitr works on the embedded cluster; for database.url use the provider's point-in-time recovery (docs/runbooks/disaster-recovery.md)"
        );
    }
    let settings = config.pitr_settings().ok_or_else(|| {
        anyhow::anyhow!("point-in-time recovery is off: set pitr.enabled = true (FTRY_PITR_ENABLED=true)")
    })?;
    let embedded = config.embedded_settings();
    match command {
        PitrCommand::Backup { full } => {
            let kind = if full {
                pitr::BackupKind::Full
            } else {
                pitr::BackupKind::Incremental
            };
            let backup = pitr::backup(&embedded, &settings, kind).await?;
            println!("{}", backup_line(&backup));
        }
        PitrCommand::Status { json } => {
            let status = pitr::status(&embedded, &settings, chrono::Utc::now()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print_pitr_status(&status);
            }
        }
        PitrCommand::Restore { to } => {
            let target = chrono::DateTime::parse_from_rfc3339(&to)
                .map_err(|_| {
                    anyhow::anyhow!(
                        "--to {to:?}: expected an RFC 3339 time such as 2026-05-04T10:15:00+05:30"
                    )
                })?
                .with_timezone(&chrono::Utc);
            let restored = pitr::restore(&embedded, &settings, target, chrono::Utc::now()).await?;
            println!(
                "restored the embedded cluster to {} from base backup {} in {:.1} s; start ftry serve, then take a full backup (ftry pitr backup --full)",
                restored.target.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                restored.from_backup,
                restored.elapsed.as_secs_f64()
            );
        }
    }
    Ok(())
}

fn backup_line(backup: &ftry_ops::pitr::BaseBackup) -> String {
    format!(
        "{}  {}  {} → {}  {} bytes (stored {} bytes)",
        backup.label,
        backup.kind,
        backup.started_at.format("%Y-%m-%dT%H:%M:%SZ"),
        backup.finished_at.format("%Y-%m-%dT%H:%M:%SZ"),
        backup.size_bytes,
        backup.stored_bytes
    )
}

fn print_pitr_status(status: &ftry_ops::pitr::Status) {
    let time = |t: &Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or_else(|| "-".to_owned(), |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
    };
    println!("stanza {}: {}", status.stanza, status.status);
    println!("repository: {}", status.repository.display());
    println!(
        "recovery window: {} → {} (newest archived WAL {})",
        time(&status.window_start),
        time(&status.window_end),
        status.newest_wal.as_deref().unwrap_or("-")
    );
    match status.backups.last() {
        Some(last) => println!(
            "last backup: {} ({} in all)",
            backup_line(last),
            status.backups.len()
        ),
        None => println!("last backup: none (take one with ftry pitr backup)"),
    }
    match &status.archiver {
        Some(archiver) => println!(
            "archiver: last {} at {} ({} s ago), {} failures{}",
            archiver.last_archived_wal.as_deref().unwrap_or("-"),
            time(&archiver.last_archived_at),
            archiver
                .seconds_since_last_archive
                .map_or_else(|| "-".to_owned(), |s| s.to_string()),
            archiver.failed_count,
            archiver
                .last_failed_wal
                .as_deref()
                .map(|wal| format!(" (last failed {wal})"))
                .unwrap_or_default()
        ),
        None => println!("archiver: the cluster is not running"),
    }
}

/// Progress of a backup or a restore on standard error: a bar on a
/// terminal, else one JSON object per table.
fn progress_reporter() -> ftry_app::backup::Reporter {
    use std::io::{IsTerminal, Write};
    let terminal = std::io::stderr().is_terminal();
    std::sync::Arc::new(move |p: &ftry_app::backup::Progress| {
        let mut err = std::io::stderr().lock();
        if !terminal {
            let _ = writeln!(err, "{}", serde_json::to_string(p).unwrap_or_default());
            return;
        }
        const WIDTH: usize = 30;
        let filled = (p.done * WIDTH).checked_div(p.total).unwrap_or(WIDTH).min(WIDTH);
        let written = if p.phase == "dump" {
            format!(", {:.1} MiB written", p.bytes as f64 / 1_048_576.0)
        } else {
            String::new()
        };
        let _ = write!(
            err,
            "\r{:<7} [{}{}] {}/{} tables{written}   ",
            p.phase,
            "#".repeat(filled),
            ".".repeat(WIDTH - filled),
            p.done,
            p.total
        );
        if p.done >= p.total {
            let _ = writeln!(err);
        }
    })
}

/// `--force` replaces a database's contents: only once its name is typed
/// (on a terminal) or given with `--confirm`.
fn confirm_replacing(target: &str, confirm: Option<&str>) -> anyhow::Result<()> {
    use std::io::{BufRead, IsTerminal, Write};
    let name = url::Url::parse(target)
        .ok()
        .map(|u| u.path().trim_start_matches('/').to_owned())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| anyhow::anyhow!("--force needs a target URL naming its database"))?;
    let typed = match confirm {
        Some(typed) => typed.to_owned(),
        None if std::io::stdin().is_terminal() => {
            eprint!("This replaces everything in the database {name}. Type its name to go on: ");
            std::io::stderr().flush()?;
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim().to_owned()
        }
        None => {
            anyhow::bail!("--force replaces everything in the database {name}: confirm with --confirm {name}")
        }
    };
    if typed != name {
        anyhow::bail!("not confirmed ({typed:?} is not {name:?}): nothing restored");
    }
    Ok(())
}

async fn jobs(config: Config, command: JobsCommand) -> anyhow::Result<()> {
    let prepared = server::prepare(config, false).await?;
    let app = prepared.state.app.clone();
    let result = async {
        match command {
            JobsCommand::List { state, limit } => {
                for job in app.list_jobs(state.as_deref(), limit).await? {
                    println!(
                        "{}  {:<9}  {:<32}  attempts {}/{}  run_at {}{}",
                        job.id,
                        job.state,
                        job.kind,
                        job.attempts,
                        job.max_attempts,
                        job.run_at.format("%Y-%m-%dT%H:%M:%SZ"),
                        job.last_error
                            .map(|e| format!("  error: {e}"))
                            .unwrap_or_default()
                    );
                }
                Ok(())
            }
            JobsCommand::Retry { id } => match app.retry_job(id).await? {
                true => {
                    println!("job {id} queued again");
                    Ok(())
                }
                false => anyhow::bail!("job {id} is not dead; only dead jobs can be retried"),
            },
            JobsCommand::Discard { id } => match app.discard_job(id).await? {
                true => {
                    println!("job {id} discarded");
                    Ok(())
                }
                false => anyhow::bail!("job {id} is neither dead nor queued"),
            },
            JobsCommand::Check { wait } => {
                let id = app.enqueue_diagnostic(serde_json::json!({}), 1).await?;
                let started = std::time::Instant::now();
                loop {
                    let state = app.job_state(id).await?;
                    if state.as_deref() == Some("done") {
                        println!("job {id} ran on a worker in {} ms", started.elapsed().as_millis());
                        return Ok(());
                    }
                    if started.elapsed() >= Duration::from_secs(wait) {
                        app.discard_job(id).await?;
                        anyhow::bail!(
                            "no worker ran job {id} within {wait} s (left {state:?}, now discarded)"
                        );
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
    .await;
    prepared.database.close().await?;
    result
}

/// How to look at the demo salon.
fn print_demo_logins(serving: Option<std::net::SocketAddr>) {
    let slug = ftry_app::demo::DEMO_TENANT_SLUG;
    match serving {
        Some(addr) => println!(
            "ftry demo is running at http://{addr}/ (API docs: http://{addr}/api/docs)\n\
             demo salon `{slug}`; log in with POST http://{addr}/api/v1/auth/login as:"
        ),
        None => println!("demo salon loaded: {slug}; logins:"),
    }
    for (role, _, email, password) in ftry_app::demo::DEMO_ACCOUNTS {
        println!("  {:<13} {email:<30} {password}", role.name());
    }
}

fn admin_password() -> anyhow::Result<String> {
    if let Ok(password) = std::env::var("FTRY_ADMIN_PASSWORD") {
        return Ok(password);
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    anyhow::ensure!(
        !password.is_empty(),
        "give the password in FTRY_ADMIN_PASSWORD or on standard input"
    );
    Ok(password)
}
