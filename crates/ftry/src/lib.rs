//! The `ftry` binary's library half: configuration and wiring, so tests can
//! start the real service in-process.

pub mod config;
pub mod server;
