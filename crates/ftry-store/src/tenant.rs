//! Tenant-scoped transactions: the only way the service reads or writes
//! tenant data ([`crate::Pools::begin`]). The tenant is set
//! transaction-locally, so a pooled connection never carries one request's
//! tenant into the next.

use uuid::Uuid;

/// `BEGIN` and the row-level security context `tenant_id`, as one simple
/// query: one round trip, not two. The id is a `Uuid` formatted here, never
/// text from a request.
pub(crate) fn begin_statement(tenant_id: Uuid) -> String {
    format!("BEGIN; SELECT set_config('ftry.tenant_id', '{tenant_id}', true)")
}
