//! Tenant-scoped transactions: the only way the service reads or writes
//! tenant data. The tenant is set transaction-locally, so a pooled connection
//! never carries one request's tenant into the next.

use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

/// Begin a transaction whose row-level security context is `tenant_id`.
/// `BEGIN` and the setting travel as one simple query: one round trip, not
/// two. The id is a `Uuid` formatted here, never text from a request.
pub async fn begin(pool: &PgPool, tenant_id: Uuid) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    pool.begin_with(format!(
        "BEGIN; SELECT set_config('ftry.tenant_id', '{tenant_id}', true)"
    ))
    .await
}
