//! Reading the audit log.

use ftry_domain::permissions::Permission;
/// Which events to read: action, actor, resource, outcome, time, page.
pub use ftry_store::audit::Filter;
use ftry_store::audit::{self, StoredEvent};

use crate::error::{AppError, Validator};
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
        // PostgreSQL text cannot hold NUL (the query would fail with a 500),
        // and no event is recorded with control characters: such a filter is
        // bad input.
        let mut v = Validator::default();
        for (field, value) in [
            ("action", &filter.action),
            ("resource_type", &filter.resource_type),
            ("resource_id", &filter.resource_id),
            ("outcome", &filter.outcome),
        ] {
            if value
                .as_deref()
                .is_some_and(|text| text.chars().any(char::is_control))
            {
                v.push(field, "must not contain control characters");
            }
        }
        v.finish()?;
        let limit = limit.clamp(1, 200);
        let mut tx = self.pools.begin(principal.tenant_id).await?;
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
