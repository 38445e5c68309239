//! The service refuses to run with a database role that could see or change
//! every tenant's rows: row-level security is only a guarantee if the
//! application role is not a superuser, has no BYPASSRLS and owns no table.

use sqlx::PgPool;

#[derive(Debug, thiserror::Error)]
pub enum UnsafeRole {
    #[error(
        "the application database role `{role}` {reason}; ftry must connect as a role that is not \
         a superuser, has no BYPASSRLS and owns no table. Set database.url to the `ftry_app` role \
         and database.owner_url to the owner role used for migrations (see docs/operations.md, \
         \"Database roles\")"
    )]
    Unsafe { role: String, reason: String },
    #[error("cannot check the application role: {0}")]
    Database(#[from] sqlx::Error),
}

/// Check the role the pool connects as.
pub async fn ensure_app_role_is_safe(pool: &PgPool) -> Result<(), UnsafeRole> {
    let (role, superuser, bypass_rls, owned_tables): (String, bool, bool, i64) = sqlx::query_as(
        "SELECT r.rolname::text, r.rolsuper, r.rolbypassrls,
                (SELECT count(*) FROM pg_class c
                  WHERE c.relkind IN ('r', 'p') AND pg_has_role(current_user, c.relowner, 'USAGE')
                    AND c.relnamespace NOT IN (SELECT oid FROM pg_namespace
                                               WHERE nspname IN ('pg_catalog', 'information_schema')))
           FROM pg_roles r WHERE r.rolname = current_user",
    )
    .fetch_one(pool)
    .await?;
    let reason = if superuser {
        "is a superuser".to_string()
    } else if bypass_rls {
        "has BYPASSRLS".to_string()
    } else if owned_tables > 0 {
        format!("owns {owned_tables} table(s) (directly or through a role it inherits)")
    } else {
        return Ok(());
    };
    Err(UnsafeRole::Unsafe { role, reason })
}
