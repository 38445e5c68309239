//! PostgreSQL access for ftry: connection pools, migrations, the
//! application-role safety check, tenant-scoped transactions and one module
//! of queries per feature.

pub mod app_role;
pub mod appointments;
pub mod audit;
pub mod catalog;
pub mod clients;
pub mod export;
pub mod import;
pub mod invoices;
pub mod jobs;
pub mod message_templates;
pub mod migrate;
pub mod notifications;
pub mod outbox;
pub mod platform;
pub mod pool;
pub mod products;
pub mod roles;
pub mod scheduling;
pub mod sessions;
pub mod staff;
pub mod tenant;
pub mod tenants;
pub mod user_tokens;
pub mod users;
pub mod webhooks;

pub use pool::{DatabaseSettings, DbMetrics, PoolName, Pools};
