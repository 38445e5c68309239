//! Versioned schema migrations, run as the owner role.

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("cannot connect as the owner role: {0}")]
    Connect(sqlx::Error),
    #[error(
        "the role `ftry_app` does not exist; create it once as an administrator: \
         CREATE ROLE ftry_app LOGIN PASSWORD '...' (or NOLOGIN and GRANT ftry_app TO <your service login>)"
    )]
    MissingAppRole,
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Apply every pending migration; returns how many were applied.
pub async fn run(owner: &PgConnectOptions) -> Result<usize, MigrateError> {
    let mut connection = owner
        .clone()
        .application_name("ftry-migrate")
        .connect()
        .await
        .map_err(MigrateError::Connect)?;
    let app_role_exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ftry_app')")
            .fetch_one(&mut connection)
            .await?;
    if !app_role_exists {
        return Err(MigrateError::MissingAppRole);
    }
    let applied_before = applied(&mut connection).await?;
    MIGRATOR.run(&mut connection).await?;
    crate::roles::sync_catalog(&mut connection).await?;
    let applied_after = applied(&mut connection).await?;
    connection.close().await?;
    Ok(applied_after.saturating_sub(applied_before))
}

async fn applied(connection: &mut sqlx::PgConnection) -> Result<usize, sqlx::Error> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(&mut *connection)
        .await?;
    if !exists {
        return Ok(0);
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&mut *connection)
        .await?;
    Ok(usize::try_from(count).unwrap_or(0))
}
