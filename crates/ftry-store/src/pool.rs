//! Connection pools. The service uses the application role; migrations use the
//! owner role, connected only while they run.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

/// Where the two roles connect.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub app: PgConnectOptions,
    pub owner: PgConnectOptions,
    /// Where reports read (a replica); `None` = the primary.
    pub read: Option<PgConnectOptions>,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

#[derive(Clone)]
pub struct Pools {
    pub app: PgPool,
    /// For reports: a replica when configured, else the same pool as `app`.
    pub read: PgPool,
}

impl Pools {
    /// A lazy pool: the service starts even if the database is briefly away,
    /// and readiness reports it until it answers.
    pub fn connect_lazy(settings: &DatabaseSettings) -> Self {
        let app = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            .connect_lazy_with(settings.app.clone().application_name("ftry"));
        let read = match &settings.read {
            Some(read) => PgPoolOptions::new()
                .max_connections(settings.max_connections)
                .acquire_timeout(settings.acquire_timeout)
                .connect_lazy_with(read.clone().application_name("ftry-reports")),
            None => app.clone(),
        };
        Self { app, read }
    }
}
