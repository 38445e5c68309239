//! Running ftry in production: the embedded PostgreSQL, logging, Redis
//! connectivity and dependency health checks.

pub mod embedded;
pub mod health;
pub mod logging;
pub mod redis;
