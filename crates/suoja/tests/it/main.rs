//! Suoja's integration tests, in one binary: the real server over real HTTP on loopback, on
//! SQLite and on PostgreSQL.

mod harness;

mod api_flows;
mod bad_input;
mod privacy_shape;
mod process;
mod tenancy;
