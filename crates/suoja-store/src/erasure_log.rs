//! The erasure ledger's lines in the database (ids and times, never a personal value): written
//! beside each node's ledger file, so no node's disk holds the only record of an erasure, and
//! read by every node to bring its own file up to date.

use sha2::{Digest as _, Sha256};
use suoja_core::Timestamp;

use crate::row::{i64_, text};
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

/// Up to `limit` lines written after row `after`, in the order written: (row, line).
pub async fn after(c: &mut Conn, after: i64, limit: i64) -> Result<Vec<(i64, String)>> {
    let rows = sqlx::query("SELECT id, line FROM erasure_log WHERE id > $1 ORDER BY id LIMIT $2")
        .bind(after)
        .bind(limit)
        .fetch_all(c)
        .await?;
    rows.iter().map(|r| Ok((i64_(r, "id")?, text(r, "line")?))).collect()
}
