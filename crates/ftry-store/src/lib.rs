//! PostgreSQL access for ftry: connection pools, migrations, the
//! application-role safety check, tenant-scoped transactions and seed data.

pub mod migrate;
pub mod pool;
pub mod roles;
pub mod seed;
pub mod tenant;

pub use pool::{DatabaseSettings, Pools};
