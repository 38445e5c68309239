//! Tenant-scoped transactions: the only way the service reads or writes
//! tenant data. The tenant is set transaction-locally, so a pooled connection
//! never carries one request's tenant into the next.

use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

/// Begin a transaction whose row-level security context is `tenant_id`.
pub async fn begin(pool: &PgPool, tenant_id: Uuid) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT set_config('ftry.tenant_id', $1, true)")
        .bind(tenant_id.to_string())
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}
