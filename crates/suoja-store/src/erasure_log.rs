//! The erasure ledger's lines in the database (ids and times, never a personal value): written
//! beside each node's ledger file, so no node's disk holds the only record of an erasure, and
//! read by every node to bring its own file up to date.

use sha2::{Digest as _, Sha256};
use suoja_core::Timestamp;

use crate::row::text;
use crate::{Conn, Result};

/// A line's identity: the SHA-256 of its text, hex.
pub fn digest(line: &str) -> String {
    hex::encode(Sha256::digest(line.as_bytes()))
}

/// Writes lines (one row per distinct line); returns how many were new.
pub async fn append(c: &mut Conn, lines: &[String], now: Timestamp) -> Result<u64> {
    let mut added = 0;
    for line in lines {
        added += sqlx::query("INSERT INTO erasure_log (digest, line, written_at) VALUES ($1, $2, $3) ON CONFLICT (digest) DO NOTHING")
            .bind(digest(line))
            .bind(line.clone())
            .bind(now.0)
            .execute(&mut *c)
            .await?
            .rows_affected();
    }
    Ok(added)
}

/// Every line, in the order written.
pub async fn all(c: &mut Conn) -> Result<Vec<String>> {
    let rows = sqlx::query("SELECT line FROM erasure_log ORDER BY id").fetch_all(c).await?;
    rows.iter().map(|r| text(r, "line")).collect()
}

/// The lines written at or after `from` (by the writer's clock), in the order written.
pub async fn since(c: &mut Conn, from: Timestamp) -> Result<Vec<String>> {
    let rows = sqlx::query("SELECT line FROM erasure_log WHERE written_at >= $1 ORDER BY id")
        .bind(from.0)
        .fetch_all(c)
        .await?;
    rows.iter().map(|r| text(r, "line")).collect()
}

/// Every line of the erasure ledger in the database at `url`, read without migrating it (a
/// restore reads the database it is about to replace, and must leave it as it is when it
/// refuses). A database that cannot be opened, or has no such table (none yet, or older than
/// it), has no lines; a failure to read one that has is an error.
pub async fn read_unmigrated(url: &str) -> Result<Vec<String>> {
    use sqlx::{ConnectOptions as _, Connection as _};
    use std::str::FromStr as _;
    sqlx::any::install_default_drivers();
    let url = match url.strip_prefix("sqlite://") {
        Some(path) => format!("sqlite://{}?mode=ro", path.split('?').next().unwrap_or(path)),
        None => url.to_string(),
    };
    // A database that cannot be reached (or does not exist yet) holds no lines to add; the
    // restore says what is wrong with it when it opens it.
    let Ok(mut c) = sqlx::any::AnyConnectOptions::from_str(&url)?.connect().await else {
        return Ok(Vec::new());
    };
    let has_table: bool = if url.starts_with("sqlite:") {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'erasure_log'")
            .fetch_one(&mut c)
            .await?
            > 0
    } else {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'erasure_log'")
            .fetch_one(&mut c)
            .await?
            > 0
    };
    let lines = if has_table {
        let rows = sqlx::query("SELECT line FROM erasure_log ORDER BY id").fetch_all(&mut c).await?;
        rows.iter().map(|r| text(r, "line")).collect::<Result<Vec<String>>>()?
    } else {
        Vec::new()
    };
    c.close().await?;
    Ok(lines)
}
