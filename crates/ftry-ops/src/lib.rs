//! Running ftry in production: the embedded PostgreSQL, logging, Redis
//! connectivity, dependency health checks and the process's own figures.

pub mod embedded;
pub mod error_reporting;
pub mod health;
pub mod logging;
pub mod pitr;
pub mod process;
pub mod redis;
pub mod telemetry;
