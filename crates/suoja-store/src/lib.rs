//! The database: one `Db` over SQLite or PostgreSQL, embedded migrations for both, and
//! tenant-scoped repositories (one module per aggregate). It knows SQL, not business rules,
//! and holds personal values only as ciphertext or keyed hashes handed to it by callers.

pub mod attachments;
pub mod backup;
pub mod backup_targets;
pub mod blobs;
pub mod breaches;
pub mod bulk;
pub mod cluster;
pub mod comments;
pub mod community;
pub mod consultations;
mod db;
mod deferred;
pub mod dialect;
pub mod erasure_log;
pub mod erasures;
mod error;
pub mod exports;
pub mod fields;
pub mod files;
pub mod graph;
mod group;
pub mod groups;
pub mod help_center;
pub mod history;
pub mod holds;
mod ids;
pub mod imports;
pub mod jobs;
pub mod keys;
pub mod ledger;
mod lite;
pub mod mail;
pub mod mentions;
pub mod metric_events;
mod migrate;
pub mod organizations;
pub mod outbox;
pub mod pg_admin;
pub mod queue;
pub mod reindex;
pub mod relocation;
pub mod requests;
pub mod retention;
pub mod routing;
mod row;
pub mod rules;
pub mod satisfaction;
pub mod schedules;
pub mod schema;
pub mod settings;
pub mod subprocessors;
pub mod tenants;
pub mod ticket_audits;
pub mod tickets;
pub mod tokens;
pub mod users;
pub mod web;
pub mod webhooks;
mod writer_thread;

pub use db::{Conn, Db, DbOptions, Engine, Tx, release, rollback_to, savepoint};
pub use deferred::Bound;
pub use error::StoreError;

pub use sqlx::Error as SqlError;

/// Result of a store call.
pub type Result<T> = std::result::Result<T, StoreError>;
