//! Suoja's integration tests, in one binary: the real server over real HTTP on loopback, on
//! SQLite and on PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a test that cannot go on should panic and say why"
)]

mod fixtures;
mod harness;

mod api_flows;
mod audit_log;
mod authz;
mod backup_restore;
mod bad_input;
mod blobs;
mod cluster;
mod fields;
mod fuzz;
mod help_center;
mod help_center_privacy;
mod import;
mod import_batch;
mod mail;
mod operator;
mod privacy_breaches;
mod privacy_erasure;
mod privacy_erasure_crash;
mod privacy_export;
mod privacy_ledger;
mod privacy_precision;
mod privacy_records;
mod privacy_rectify_restrict;
mod privacy_redaction;
mod privacy_requests;
mod privacy_retention;
mod privacy_shape;
pub(crate) mod process;
pub(crate) mod residency;
mod rules;
mod security;
mod sla;
mod tenancy;
mod tenant_move;
mod ticket_audits;
mod triggers;
pub(crate) mod web;
