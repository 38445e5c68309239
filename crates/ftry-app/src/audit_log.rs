//! Reading the audit log.

use ftry_domain::permissions::Permission;
use ftry_store::audit::{self, Filter, StoredEvent};

use crate::error::AppError;
use crate::{App, Principal};

impl App {
    /// One page of events, newest first, and the cursor of the next page.
    pub async fn audit_events(
        &self,
        principal: &Principal,
        filter: &Filter,
        limit: i64,
    ) -> Result<(Vec<StoredEvent>, Option<String>), AppError> {
        principal.require(Permission::AuditRead)?;
        let limit = limit.clamp(1, 200);
        let mut tx = ftry_store::tenant::begin(&self.pools.app, principal.tenant_id).await?;
        let mut events = audit::list(&mut tx, filter, limit + 1).await?;
        tx.commit().await?;
        let next = if events.len() as i64 > limit {
            events.truncate(limit as usize);
            events.last().map(|e| e.id.to_string())
        } else {
            None
        };
        Ok((events, next))
    }
}
