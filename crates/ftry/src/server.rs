//! Wiring: database (external or embedded), migrations, Redis, the HTTP
//! listeners (public and admin) and graceful shutdown.

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use ftry_api::{ApiSettings, AppState};
use ftry_ops::embedded::EmbeddedPostgres;
use ftry_ops::redis::RedisHandle;
use ftry_store::{DatabaseSettings, Pools};
use tokio::net::TcpListener;

use crate::config::Config;

/// The database ftry runs on, and the embedded server when it owns one.
pub struct Database {
    pub settings: DatabaseSettings,
    pub embedded: Option<EmbeddedPostgres>,
}

impl Database {
    /// Connect to the configured server, or start the embedded one.
    pub async fn open(config: &Config) -> anyhow::Result<Self> {
        let max_connections = config.database.max_connections;
        let acquire_timeout = Duration::from_millis(config.database.acquire_timeout_ms);
        let (app, owner, embedded) = match config.external_database() {
            Some((app, owner)) => (app, owner, None),
            None => {
                let started = Instant::now();
                let pitr = config.pitr_settings();
                let embedded =
                    EmbeddedPostgres::start_with(&config.embedded_settings(), pitr.as_ref()).await?;
                tracing::info!(
                    data_dir = %config.data_dir.0.display(),
                    socket_dir = %embedded.socket_dir().display(),
                    startup_ms = started.elapsed().as_millis() as u64,
                    "embedded PostgreSQL is running"
                );
                (embedded.app_options(), embedded.owner_options(), Some(embedded))
            }
        };
        Ok(Self {
            settings: DatabaseSettings {
                app,
                owner,
                read: config
                    .database
                    .read_url
                    .as_ref()
                    .and_then(|u| std::str::FromStr::from_str(u.expose()).ok()),
                max_connections,
                acquire_timeout,
            },
            embedded,
        })
    }

    pub async fn migrate(&self) -> anyhow::Result<usize> {
        let applied = ftry_store::migrate::run(&self.settings.owner).await?;
        tracing::info!(applied, "database schema is up to date");
        Ok(applied)
    }

    /// Stop the embedded server, if ftry started one.
    pub async fn close(self) -> anyhow::Result<()> {
        if let Some(embedded) = self.embedded {
            embedded.stop().await?;
            tracing::info!("embedded PostgreSQL stopped");
        }
        Ok(())
    }
}

/// Everything `serve` needs, ready to accept traffic.
pub struct Prepared {
    pub state: AppState,
    pub database: Database,
    pub config: Config,
}

/// Open the database, migrate, check the application role, seed the demo
/// salon if asked, and build the shared state.
pub async fn prepare(config: Config, demo: bool) -> anyhow::Result<Prepared> {
    let database = Database::open(&config).await?;
    match prepare_with(&config, &database, demo).await {
        Ok(state) => Ok(Prepared {
            state,
            database,
            config,
        }),
        Err(e) => {
            // Never leave the embedded server running behind a failed start.
            if let Err(stop) = database.close().await {
                tracing::error!(error = %stop, "could not stop the embedded PostgreSQL");
            }
            Err(e)
        }
    }
}

/// Where and how this node takes backups: the embedded cluster's superuser
/// over its socket, or `backup.database_url` (else the owner's connection);
/// `None` (logged) when PostgreSQL's client programs cannot be found.
/// A connection that sees every row: the embedded cluster's superuser, or
/// the configured backup role.
pub fn superuser_url(config: &Config, database: &Database) -> Option<String> {
    match &database.embedded {
        Some(embedded) => Some(embedded.superuser_url()),
        None => Some(config.backup_url()?.expose().to_owned()),
    }
}

pub async fn backups(config: &Config, database: &Database) -> Option<ftry_app::backup::Backups> {
    let url = superuser_url(config, database)?;
    let configured = config
        .backup
        .bin_dir
        .as_deref()
        .or(config.embedded.pg_bindir.as_deref());
    let Some(bin_dir) = ftry_ops::embedded::client_tools_dir(configured).await else {
        tracing::warn!("pg_dump and pg_restore not found: no backups on this node (set backup.bin_dir)");
        return None;
    };
    Some(ftry_app::backup::Backups {
        dir: config
            .backup
            .dir
            .clone()
            .unwrap_or_else(|| config.data_dir.0.join("backups")),
        url: ftry_app::settings::Secret::new(url),
        // Checked when the configuration was read.
        remote: config
            .backup
            .s3()
            .ok()
            .flatten()
            .and_then(|s3| ftry_app::backup_store::S3Store::new(&s3).ok()),
        bin_dir,
        progress: None,
        retention: ftry_app::backup::Retention {
            daily: config.backup.keep_daily,
            weekly: config.backup.keep_weekly,
            monthly: config.backup.keep_monthly,
        },
    })
}

async fn prepare_with(config: &Config, database: &Database, demo: bool) -> anyhow::Result<AppState> {
    if config.database.auto_migrate {
        database.migrate().await?;
    }
    let pools = Pools::connect_lazy(&database.settings);
    ftry_store::app_role::ensure_app_role_is_safe(&pools.app).await?;
    // The embedded database keeps generated keys under the data directory;
    // an external one must be given its keys.
    let key_file = config
        .database
        .url
        .is_none()
        .then(|| config.data_dir.0.join("keys").join("data-protection.toml"));
    let protection =
        ftry_app::data_protection::DataProtection::resolve(&config.data_protection, key_file.as_deref())
            .map_err(anyhow::Error::msg)?;
    let mut app = ftry_app::App::new(pools, config.auth.clone(), protection).await?;
    app.business = ftry_app::business_metrics::BusinessMetrics::new(config.admin.per_tenant_labels);
    app.notifier = std::sync::Arc::new(config.notifications.resolve().map_err(anyhow::Error::msg)?);
    app.webhooks = std::sync::Arc::new(config.webhooks.resolve().map_err(anyhow::Error::msg)?);
    app.backups = backups(config, database).await.map(std::sync::Arc::new);
    if demo {
        let summary = app.seed_demo().await?;
        tracing::info!(
            tenant = ftry_app::demo::DEMO_TENANT_SLUG,
            created = summary.tenant_created,
            users = summary.users,
            "demo data loaded"
        );
    }
    let redis = match &config.redis.url {
        Some(url) => Some(
            RedisHandle::new(url.expose(), Duration::from_millis(config.redis.timeout_ms))
                .context("redis.url")?,
        ),
        None => None,
    };
    let settings = ApiSettings {
        build: ftry_api::BuildInfo {
            version: env!("FTRY_VERSION"),
            git_sha: env!("FTRY_GIT_SHA"),
        },
        http: config.http.clone(),
        rate_limit: config.rate_limit.clone(),
    };
    Ok(AppState::new(settings, app, redis)?)
}

/// Serve the public API on `listener` and the metrics on `admin` until
/// `shutdown` resolves, then drain: readiness turns 503 at once, the public
/// listener closes after the drain delay, in-flight requests get the grace
/// period, and the embedded database is stopped last (the admin listener
/// keeps answering scrapes until then).
pub async fn run(
    prepared: Prepared,
    listener: TcpListener,
    admin: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let Prepared {
        state,
        database,
        config,
    } = prepared;
    let admin_server = spawn_admin(&state, admin);
    let (stop_worker, worker_stopped) = tokio::sync::watch::channel(false);
    let worker = config
        .jobs
        .run_in_serve
        .then(|| spawn_worker(&state, &config, worker_stopped))
        .transpose()?;
    let app = ftry_api::router(state.clone(), ftry_web::routes());
    let (close_listener, listener_closed) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move {
            let _ = listener_closed.await;
        });
    let mut server = tokio::spawn(server.into_future());
    let served = tokio::select! {
        result = &mut server => Some(result),
        () = shutdown => None,
    };
    let outcome = match served {
        Some(result) => result
            .context("HTTP server task")
            .and_then(|r| r.context("HTTP server")),
        None => {
            state.shutting_down.store(true, Ordering::Relaxed);
            let _ = stop_worker.send(true);
            tracing::info!(
                drain_delay_ms = config.shutdown.drain_delay_ms,
                "shutting down: readiness is now 503"
            );
            tokio::time::sleep(Duration::from_millis(config.shutdown.drain_delay_ms)).await;
            let _ = close_listener.send(());
            match tokio::time::timeout(config.shutdown_grace(), &mut server).await {
                Ok(result) => {
                    tracing::info!("all in-flight requests finished");
                    result
                        .context("HTTP server task")
                        .and_then(|r| r.context("HTTP server"))
                }
                Err(_) => {
                    server.abort();
                    tracing::warn!(
                        grace_secs = config.shutdown.grace_secs,
                        "grace period over; remaining connections closed"
                    );
                    Ok(())
                }
            }
        }
    };
    let _ = stop_worker.send(true);
    if let Some(worker) = worker {
        // The worker gives its jobs the same grace, then releases the rest.
        let _ = worker.await;
    }
    admin_server.abort();
    database.close().await?;
    outcome
}

/// Serve the metrics on the admin listener until aborted.
fn spawn_admin(state: &AppState, admin: TcpListener) -> tokio::task::JoinHandle<std::io::Result<()>> {
    tokio::spawn(axum::serve(admin, ftry_api::admin_router(state.clone()).into_make_service()).into_future())
}

/// Start a job worker that stops when `stop` turns true.
fn spawn_worker(
    state: &AppState,
    config: &Config,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let jobs = config.jobs.resolve().map_err(anyhow::Error::msg)?;
    let worker = ftry_app::jobs::Worker::new(state.app.clone(), jobs);
    let grace = config.shutdown_grace();
    Ok(tokio::spawn(async move {
        worker
            .run(
                async move {
                    let _ = stop.wait_for(|stop| *stop).await;
                },
                grace,
            )
            .await;
    }))
}

/// `ftry worker`: run jobs (and serve the metrics on `admin`) until
/// `shutdown` resolves, then let running jobs finish within the grace period.
pub async fn run_worker(
    prepared: Prepared,
    admin: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let Prepared {
        state,
        database,
        config,
    } = prepared;
    let admin_server = spawn_admin(&state, admin);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = spawn_worker(&state, &config, stopped)?;
    shutdown.await;
    let _ = stop.send(true);
    let _ = worker.await;
    admin_server.abort();
    database.close().await
}

/// Resolves on the first SIGTERM or SIGINT. The handlers are installed when
/// this is called, not when the future is first polled: a signal that arrives
/// while the server is starting is remembered instead of killing the process
/// (and leaving the embedded PostgreSQL behind).
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{signal, SignalKind};
    let handlers = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()));
    async move {
        let (Ok(mut term), Ok(mut int)) = handlers else {
            tracing::error!("cannot listen for shutdown signals");
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => tracing::info!(signal = "SIGTERM", "shutdown requested"),
            _ = int.recv() => tracing::info!(signal = "SIGINT", "shutdown requested"),
        }
    }
}

/// Create a platform operator through the owner connection.
pub async fn create_admin(
    config: &Config,
    database: &Database,
    email: &str,
    name: &str,
    password: &str,
) -> anyhow::Result<uuid::Uuid> {
    use sqlx::ConnectOptions;
    database.migrate().await?;
    let passwords = ftry_app::passwords::Passwords::new(
        config.auth.argon2_memory_kib,
        config.auth.argon2_iterations,
        config.auth.argon2_parallelism,
    )
    .map_err(anyhow::Error::msg)?;
    let mut owner = database.settings.owner.connect().await?;
    let id = ftry_app::platform::create_admin(&mut owner, &passwords, email, name, password)
        .await
        .map_err(|e| match e {
            ftry_app::AppError::Validation(errors) => anyhow::anyhow!(
                "{}",
                errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            other => anyhow::anyhow!("{other}"),
        })?;
    Ok(id)
}
