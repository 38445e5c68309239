//! The daily low-stock alert: each business's stock managers get one mail
//! listing, branch by branch, the products at or below their reorder level.
//! The scheduled run enqueues one job per active business, so a business's
//! alert is retried on its own and no run holds every business at once.

use std::collections::BTreeSet;

use chrono::Utc;
use ftry_domain::permissions::Permission;
use ftry_store::jobs::{self as store, Job, NewJob};
use ftry_store::{products, roles, tenants, users, PoolName};

use crate::jobs::JobFailure;
use crate::App;

/// Businesses read per page while enqueueing.
const PAGE: i64 = 500;

impl App {
    /// One `stock.alert` job per active business.
    pub(crate) async fn enqueue_stock_alerts(&self) -> Result<(), JobFailure> {
        let mut conn = self.pools.acquire(PoolName::App).await?;
        let mut after = None;
        let mut enqueued = 0;
        loop {
            let page = tenants::list_all(&mut conn, after, PAGE).await?;
            for tenant in page.iter().filter(|t| t.status == "active") {
                store::enqueue(
                    &mut conn,
                    &NewJob {
                        queue: "maintenance",
                        kind: "stock.alert",
                        tenant_id: Some(tenant.id),
                        payload: serde_json::json!({}),
                        run_at: Utc::now(),
                        max_attempts: 5,
                        timeout_secs: 120,
                    },
                )
                .await?;
                enqueued += 1;
            }
            match page.last() {
                Some(last) if page.len() as i64 == PAGE => after = Some(last.id),
                _ => break,
            }
        }
        tracing::info!(businesses = enqueued, "stock alerts enqueued");
        Ok(())
    }

    /// Mail the business's stock managers what is low, if anything is.
    pub(crate) async fn stock_alert(&self, job: &Job) -> Result<(), JobFailure> {
        let tenant = job
            .tenant_id
            .ok_or_else(|| JobFailure::permanent("the job names no business"))?;
        let mut tx = self.pools.begin(tenant).await?;
        let mut lines = Vec::new();
        let mut count = 0;
        for location in tenants::list_locations(&mut tx).await? {
            let low = products::stock_levels(&mut tx, location.id, Some(true)).await?;
            if low.is_empty() {
                continue;
            }
            lines.push(format!("{}:", location.name));
            for level in &low {
                lines.push(format!(
                    "  {} ({}): {} left, reorder at {}",
                    level.name, level.sku, level.quantity, level.low_stock_threshold
                ));
            }
            count += low.len();
        }
        if count == 0 {
            tx.commit().await?;
            return Ok(());
        }
        let stock_roles: BTreeSet<String> = roles::list(&mut tx)
            .await?
            .into_iter()
            .filter(|r| r.permissions.contains(&Permission::StockManage))
            .map(|r| r.name)
            .collect();
        let recipients: Vec<String> = users::list(&mut tx)
            .await?
            .into_iter()
            .filter(|u| u.status == "active" && u.roles.iter().any(|r| stock_roles.contains(r)))
            .map(|u| u.email)
            .collect();
        let business = tenants::get(&mut tx, tenant)
            .await?
            .map(|t| t.name)
            .unwrap_or_default();
        let subject = if count == 1 {
            format!("Low stock at {business}: 1 product")
        } else {
            format!("Low stock at {business}: {count} products")
        };
        let body = format!(
            "These products are at or below their reorder level:\n\n{}\n\nRecord the purchase when new stock arrives.\n",
            lines.join("\n")
        );
        for recipient in &recipients {
            self.mail(&mut tx, tenant, recipient, &subject, &body).await?;
        }
        tx.commit().await?;
        tracing::info!(tenant_id = %tenant, products = count, recipients = recipients.len(), "stock alert sent");
        Ok(())
    }
}
