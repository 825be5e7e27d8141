//! The named places where SQLite and PostgreSQL differ at run time (beyond the two migration
//! folders): maintenance after erasure.

use sqlx::Executor as _;

use crate::{Db, Engine, Result};

/// Pushes committed changes out of the write-ahead log into the main file and truncates the
/// log, so deleted bytes do not linger in WAL frames. A no-op on PostgreSQL, whose WAL and
/// dead tuples are handled by `VACUUM` and `CHECKPOINT` (run by [`vacuum_table`]).
/// Readers in the middle of a transaction make SQLite answer "busy" and leave the log as it is,
/// so this retries for up to two seconds and reports whether the log was truncated.
pub async fn checkpoint(db: &Db) -> Result<bool> {
    if db.engine() != Engine::Sqlite {
        return Ok(true);
    }
    for _ in 0..40 {
        let busy: i64 = sqlx::query_scalar("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(db.write_pool()).await?;
        if busy == 0 {
            return Ok(true);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Ok(false)
}

/// Reclaims space held by deleted rows of `table` (PostgreSQL: `VACUUM`; SQLite: nothing,
/// since `secure_delete` already zeroed them).
pub async fn vacuum_table(db: &Db, table: &str) -> Result<()> {
    if db.engine() == Engine::Postgres && table.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
        db.write_pool().execute(sqlx::AssertSqlSafe(format!("VACUUM {table}"))).await?;
    }
    Ok(())
}

/// Refreshes the query planner's statistics after bulk changes. SQLite: `PRAGMA optimize`, which
/// re-analyzes (bounded) only the tables whose size changed a lot since the last analysis;
/// PostgreSQL: nothing, autovacuum's analyze does it.
pub async fn refresh_statistics(db: &Db) -> Result<()> {
    if db.engine() == Engine::Sqlite {
        db.write_pool().execute("PRAGMA analysis_limit = 2000; PRAGMA optimize;").await?;
    }
    Ok(())
}

/// Rewrites a small table into fresh files (PostgreSQL `VACUUM FULL`; the old files are
/// unlinked, so no dead tuple or freed space of it stays on disk). Takes an exclusive lock for
/// the rewrite, so only for small tables. SQLite: nothing (`secure_delete` zeroed the space).
pub async fn rewrite_table(db: &Db, table: &str) -> Result<()> {
    if db.engine() == Engine::Postgres && table.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
        db.write_pool().execute(sqlx::AssertSqlSafe(format!("VACUUM FULL {table}"))).await?;
    }
    Ok(())
}

/// PostgreSQL: closes the current WAL segment and checkpoints, so segments holding deleted rows
/// stop being needed and are removed (with `wal_recycle = off`, removed rather than renamed for
/// reuse with their old bytes). Needs the `pg_checkpoint` role and `EXECUTE` on
/// `pg_switch_wal()`; returns whether both ran. SQLite: the same as [`checkpoint`].
pub async fn retire_wal(db: &Db) -> Result<bool> {
    if db.engine() == Engine::Sqlite {
        return checkpoint(db).await;
    }
    let pool = db.write_pool();
    for _ in 0..2 {
        if sqlx::query("SELECT CAST(pg_switch_wal() AS TEXT)").execute(pool).await.is_err() || pool.execute("CHECKPOINT").await.is_err() {
            return Ok(false);
        }
    }
    Ok(true)
}
