//! Staff accounts of a tenant.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    pub password_hash: Option<String>,
    pub status: String,
    pub failed_logins: i32,
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// What other people may see of an account.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct UserSummary {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    pub status: String,
    pub locked_until: Option<DateTime<Utc>>,
    pub roles: Vec<String>,
    pub created_at: DateTime<Utc>,
}

const USER_COLUMNS: &str =
    "tenant_id, id, email, name, phone, password_hash, status, failed_logins, locked_until, created_at";

pub struct NewUser<'a> {
    pub id: Uuid,
    pub email: &'a str,
    pub name: &'a str,
    pub phone: Option<&'a str>,
    pub password_hash: Option<&'a str>,
    pub status: &'a str,
}

/// Insert an account; `false` when the email is already used in this tenant.
pub async fn insert(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    user: &NewUser<'_>,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO users (tenant_id, id, email, name, phone, password_hash, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, email) DO NOTHING",
    )
    .bind(tenant_id)
    .bind(user.id)
    .bind(user.email)
    .bind(user.name)
    .bind(user.phone)
    .bind(user.password_hash)
    .bind(user.status)
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

#[derive(sqlx::FromRow)]
struct LoginCandidate {
    #[sqlx(flatten)]
    user: User,
    tenant_slug: String,
    tenant_status: String,
}

/// Accounts with this email in any tenant, with their tenant's slug and
/// status. Runs in a transaction with no tenant context: only the
/// `login_lookup` policy, for exactly this address, makes rows visible.
pub async fn find_for_login(
    conn: &mut PgConnection,
    email: &str,
) -> Result<Vec<(User, String, String)>, sqlx::Error> {
    sqlx::query("SELECT set_config('ftry.login_email', $1, true)")
        .bind(email)
        .execute(&mut *conn)
        .await?;
    let rows: Vec<LoginCandidate> = sqlx::query_as(
        "SELECT u.tenant_id, u.id, u.email, u.name, u.phone, u.password_hash, u.status, u.failed_logins,
                u.locked_until, u.created_at, t.slug AS tenant_slug, t.status AS tenant_status
           FROM users u JOIN tenants t ON t.id = u.tenant_id
          WHERE u.email = $1 ORDER BY t.slug",
    )
    .bind(email)
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query("SELECT set_config('ftry.login_email', '', true)")
        .execute(&mut *conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|c| (c.user, c.tenant_slug, c.tenant_status))
        .collect())
}

pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

pub async fn get_for_update(conn: &mut PgConnection, id: Uuid) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

pub async fn find_by_email(conn: &mut PgConnection, email: &str) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1"))
        .bind(email)
        .fetch_optional(conn)
        .await
}

const SUMMARY_SELECT: &str = "SELECT u.id, u.email, u.name, u.phone, u.status, u.locked_until, u.created_at,
        COALESCE(array_agg(r.name ORDER BY r.name) FILTER (WHERE r.name IS NOT NULL), '{}') AS roles
   FROM users u
   LEFT JOIN user_roles ur ON ur.tenant_id = u.tenant_id AND ur.user_id = u.id
   LEFT JOIN roles r ON r.tenant_id = ur.tenant_id AND r.id = ur.role_id";

pub async fn list(conn: &mut PgConnection) -> Result<Vec<UserSummary>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{SUMMARY_SELECT} GROUP BY u.tenant_id, u.id ORDER BY u.name, u.id"
    ))
    .fetch_all(conn)
    .await
}

pub async fn summary(conn: &mut PgConnection, id: Uuid) -> Result<Option<UserSummary>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{SUMMARY_SELECT} WHERE u.id = $1 GROUP BY u.tenant_id, u.id"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Count a failed login; lock the account when `max_failures` is reached.
/// Returns the new failure count and the lock, if one was set.
pub async fn record_failed_login(
    conn: &mut PgConnection,
    id: Uuid,
    max_failures: i32,
    lock_until: DateTime<Utc>,
) -> Result<(i32, Option<DateTime<Utc>>), sqlx::Error> {
    sqlx::query_as(
        // A lock that has expired starts the count again.
        "UPDATE users SET
                failed_logins = CASE WHEN locked_until <= now() THEN 1 ELSE failed_logins + 1 END,
                locked_until = CASE
                    WHEN (CASE WHEN locked_until <= now() THEN 1 ELSE failed_logins + 1 END) >= $2 THEN $3
                    WHEN locked_until <= now() THEN NULL
                    ELSE locked_until END
          WHERE id = $1 RETURNING failed_logins, locked_until",
    )
    .bind(id)
    .bind(max_failures)
    .bind(lock_until)
    .fetch_one(conn)
    .await
}

pub async fn clear_failed_logins(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_password(conn: &mut PgConnection, id: Uuid, hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET password_hash = $2, status = 'active', failed_logins = 0, locked_until = NULL
          WHERE id = $1",
    )
    .bind(id)
    .bind(hash)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_status(conn: &mut PgConnection, id: Uuid, status: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET status = $2 WHERE id = $1")
        .bind(id)
        .bind(status)
        .execute(conn)
        .await?;
    Ok(())
}
