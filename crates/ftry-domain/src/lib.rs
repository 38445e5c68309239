//! ftry's pure domain engines: no IO, no clock, no database.
//! Time and data are passed in, so every rule here is unit- and property-tested.

pub mod rate_limit;
