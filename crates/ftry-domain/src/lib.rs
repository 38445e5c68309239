//! ftry's pure domain engines: no IO, no clock, no database.
//! Time and data are passed in, so every rule here is unit- and property-tested.

pub mod appointments;
pub mod availability;
pub mod contact;
pub mod gstin;
pub mod ledger;
pub mod money;
pub mod no_show;
pub mod numbering;
pub mod password;
pub mod permissions;
pub mod rate_limit;
pub mod schedule;
pub mod tax;
pub mod templates;
pub mod tenants;
