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
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

#[derive(Clone)]
pub struct Pools {
    pub app: PgPool,
}

impl Pools {
    /// A lazy pool: the service starts even if the database is briefly away,
    /// and readiness reports it until it answers.
    pub fn connect_lazy(settings: &DatabaseSettings) -> Self {
        let app = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            .connect_lazy_with(settings.app.clone().application_name("ftry"));
        Self { app }
    }
}
