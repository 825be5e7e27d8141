//! The store's error enum.

use suoja_core::ErrorKind;

/// What went wrong in the database layer. Messages name tables and constraints, never values.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write; the payload is the constraint or index name.
    #[error("unique constraint {0} refused the write")]
    Duplicate(String),
    /// The database could not be reached or is overloaded.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// Any other database failure.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// A migration failed or the schema is from a newer version.
    #[error("migration {version} failed: {reason}")]
    Migration {
        /// The migration's number.
        version: i64,
        /// What went wrong.
        reason: String,
    },
    /// A shared (group) commit failed: the request's work is not kept.
    #[error("the commit failed: {0}")]
    CommitFailed(String),
    /// A stored value the code cannot read (names the column, never the value).
    #[error("a stored value in {0} is not one the code knows")]
    Corrupt(String),
    /// Configuration handed to the store is wrong.
    #[error("{0}")]
    Config(String),
    /// The blob store failed (names keys, never contents); it may be tried again.
    #[error("blob store: {0}")]
    Blob(String),
}

impl StoreError {
    /// The kind of failure, for the HTTP mapping.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::Duplicate(_) => ErrorKind::Conflict,
            StoreError::Unavailable(_) | StoreError::CommitFailed(_) | StoreError::Blob(_) => ErrorKind::Unavailable,
            StoreError::Database(_) | StoreError::Migration { .. } | StoreError::Corrupt(_) | StoreError::Config(_) => ErrorKind::Internal,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                let name = db.constraint().map(str::to_string).unwrap_or_else(|| unique_target(db.message()));
                StoreError::Duplicate(name)
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => StoreError::Unavailable(e),
            // The server going away under a statement: PostgreSQL's connection exceptions
            // (SQLSTATE class 08) and operator intervention (57: shutting down, restarting,
            // cannot connect now). The request may be tried again once it is back.
            sqlx::Error::Database(db) if db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P")) => StoreError::Unavailable(e),
            _ => StoreError::Database(e),
        }
    }
}

/// SQLite reports `UNIQUE constraint failed: users.tenant_id, users.email_hash`; keep the
/// column list, which names no values.
fn unique_target(message: &str) -> String {
    message
        .split_once("failed:")
        .map(|(_, cols)| cols.trim().to_string())
        .unwrap_or_else(|| "unknown".to_string())
}
