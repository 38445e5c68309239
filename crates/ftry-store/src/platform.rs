//! Platform operators and token signing keys: data that belongs to no tenant.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PlatformAdmin {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub failed_logins: i32,
    pub locked_until: Option<DateTime<Utc>>,
}

/// Create an operator; `false` when the email exists. Owner connection only.
pub async fn insert_admin(
    conn: &mut PgConnection,
    id: Uuid,
    email: &str,
    name: &str,
    password_hash: &str,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO platform_admins (id, email, name, password_hash) VALUES ($1, $2, $3, $4)
         ON CONFLICT (email) DO NOTHING",
    )
    .bind(id)
    .bind(email)
    .bind(name)
    .bind(password_hash)
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

pub async fn find_admin(conn: &mut PgConnection, email: &str) -> Result<Option<PlatformAdmin>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, email, name, password_hash, failed_logins, locked_until FROM platform_admins WHERE email = $1",
    )
    .bind(email)
    .fetch_optional(conn)
    .await
}

pub async fn get_admin(conn: &mut PgConnection, id: Uuid) -> Result<Option<PlatformAdmin>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, email, name, password_hash, failed_logins, locked_until FROM platform_admins WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}

pub async fn record_admin_failure(
    conn: &mut PgConnection,
    id: Uuid,
    max_failures: i32,
    lock_until: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE platform_admins SET failed_logins = failed_logins + 1,
                locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3 ELSE locked_until END
          WHERE id = $1",
    )
    .bind(id)
    .bind(max_failures)
    .bind(lock_until)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn clear_admin_failures(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE platform_admins SET failed_logins = 0, locked_until = NULL WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The database-held signing key, created by the first node that needs it.
pub async fn signing_key(
    conn: &mut PgConnection,
    fresh_secret: &[u8],
) -> Result<(String, Vec<u8>), sqlx::Error> {
    sqlx::query("INSERT INTO signing_keys (id, secret) VALUES ('db-1', $1) ON CONFLICT (id) DO NOTHING")
        .bind(fresh_secret)
        .execute(&mut *conn)
        .await?;
    sqlx::query_as("SELECT id, secret FROM signing_keys WHERE id = 'db-1'")
        .fetch_one(conn)
        .await
}
