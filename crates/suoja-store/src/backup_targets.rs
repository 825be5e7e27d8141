//! Backup directories this installation writes to, so that completed erasures and redactions
//! reach the erasure ledger kept beside each backup. Installation-wide, no personal data.

use crate::Conn;
use suoja_core::Timestamp;

use crate::Result;

/// Registers `path` (or notes another backup to it).
pub async fn register(c: &mut Conn, path: &str, at: Timestamp) -> Result<()> {
    sqlx::query(
        "INSERT INTO backup_targets (path, registered_at, last_backup_at) VALUES ($1, $2, $2) \
         ON CONFLICT (path) DO UPDATE SET last_backup_at = excluded.last_backup_at",
    )
    .bind(path.to_string())
    .bind(at.0)
    .execute(c)
    .await?;
    Ok(())
}

/// Every registered directory.
pub async fn list(c: &mut Conn) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar("SELECT path FROM backup_targets ORDER BY path").fetch_all(c).await?)
}
