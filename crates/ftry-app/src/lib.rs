//! ftry's use cases: the one place business rules run. Each use case checks
//! what it must, opens a tenant-scoped transaction, changes data, records the
//! audit event in the same transaction and commits. No HTTP types here.

pub mod appointments;
pub mod audit_log;
pub mod auth;
pub mod backup;
pub mod backup_store;
pub mod booking;
pub mod business_metrics;
pub mod calendar;
pub mod catalog;
pub mod clients;
pub mod data_protection;
pub mod delivery_reports;
pub mod demo;
pub mod error;
pub mod export;
pub mod idempotency;
pub mod import;
pub mod invoices;
pub mod jobs;
pub mod messaging;
pub mod notifications;
pub mod passwords;
pub mod platform;
pub mod principal;
pub mod products;
pub mod public;
pub mod reports;
pub mod roles;
pub mod schedule_cache;
pub mod sessions;
pub mod settings;
pub mod signup;
pub mod sms;
pub mod staff;
pub mod stock_alerts;
pub mod tenant;
pub mod tokens;
pub mod users;
pub mod webhooks;

use std::collections::HashMap;

use ftry_store::Pools;

pub use error::{AppError, FieldError};
pub use principal::{PlatformPrincipal, Principal};
pub use settings::AuthSettings;

use crate::data_protection::DataProtection;
use crate::passwords::Passwords;
use crate::tokens::TokenKeys;

/// Everything the use cases need, shared by all requests of a node.
#[derive(Clone)]
pub struct App {
    pub pools: Pools,
    pub settings: AuthSettings,
    pub passwords: Passwords,
    pub keys: TokenKeys,
    /// Seals personal data at rest and computes its blind indexes.
    pub protection: DataProtection,
    /// Counts of what the business did, for the metrics endpoint.
    pub business: business_metrics::BusinessMetrics,
    /// Schedules availability searches loaded, while still current.
    pub schedules: schedule_cache::ScheduleCache,
    /// The job queue's metrics.
    pub jobs: jobs::JobMetrics,
    /// Where client messages go, and when reminders are due.
    pub notifier: std::sync::Arc<notifications::Notifier>,
    /// Outbound webhooks' settings and the client that delivers them.
    pub webhooks: std::sync::Arc<webhooks::Webhooks>,
    /// Where this node's scheduled backups go, when it takes them.
    pub backups: Option<std::sync::Arc<backup::Backups>>,
}

impl App {
    /// Build the use-case layer; loads (or creates) the database-held signing
    /// key when none is configured.
    pub async fn new(
        pools: Pools,
        settings: AuthSettings,
        protection: DataProtection,
    ) -> Result<Self, AppError> {
        let passwords = Passwords::new(
            settings.argon2_memory_kib,
            settings.argon2_iterations,
            settings.argon2_parallelism,
        )
        .map_err(AppError::Internal)?;
        let keys = if settings.signing_keys.is_empty() {
            let mut conn = pools.acquire(ftry_store::PoolName::App).await?;
            let (id, secret) =
                ftry_store::platform::signing_key(&mut conn, &tokens::random_bytes(32)).await?;
            TokenKeys::new(HashMap::from([(id.clone(), secret)]), id)
        } else {
            let keys = settings
                .signing_keys
                .iter()
                .map(|k| (k.id.clone(), k.secret.expose().as_bytes().to_vec()))
                .collect();
            let active = settings
                .active_key
                .clone()
                .or_else(|| settings.signing_keys.last().map(|k| k.id.clone()))
                .unwrap_or_default();
            TokenKeys::new(keys, active)
        }
        .map_err(AppError::Internal)?;
        Ok(Self {
            pools,
            settings,
            passwords,
            keys,
            protection,
            business: business_metrics::BusinessMetrics::new(false),
            schedules: schedule_cache::ScheduleCache::default(),
            jobs: jobs::JobMetrics::default(),
            // Until the service sets its own: the outbox, default reminders.
            notifier: std::sync::Arc::new(
                notifications::NotificationSettings::default()
                    .resolve()
                    .map_err(AppError::Internal)?,
            ),
            webhooks: std::sync::Arc::new(
                webhooks::WebhookSettings::default()
                    .resolve()
                    .map_err(AppError::Internal)?,
            ),
            backups: None,
        })
    }

    /// Register the use-case layer's metrics: business counters, the
    /// database's timings and the caches' lookups.
    pub fn register_metrics(&self, registry: &mut prometheus_client::registry::Registry) {
        self.business.register(registry);
        self.pools.metrics.register(registry);
        self.schedules.register(registry);
        self.jobs.register(registry);
    }
}
