//! The named places where SQLite and PostgreSQL differ at run time (beyond the two migration
//! folders): row locks for read-then-write, and maintenance after erasure.

use sqlx::Executor as _;

use crate::{Conn, Db, Engine, Result};

/// What a `SELECT` reading a row to change it ends with: ` FOR UPDATE` on PostgreSQL, so two
/// transactions changing one row take turns instead of each writing back what it read (a lost
/// update); nothing on SQLite, whose one writer already runs write transactions in turn.
/// Transactions that lock several rows of a table lock them in ascending id order.
pub fn row_lock(c: &Conn) -> &'static str {
    if c.engine() == Engine::Postgres { " FOR UPDATE" } else { "" }
}

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

/// Reclaims space held by deleted rows of `table` (PostgreSQL: `VACUUM`, after waiting up to
/// five seconds for older transactions, see [`wait_for_older_transactions`]; SQLite: nothing,
/// since `secure_delete` already zeroed them). Returns whether no older transaction was left, so
/// every deleted row version could go.
pub async fn vacuum_table(db: &Db, table: &str) -> Result<bool> {
    vacuum_after_waiting(db, table, "VACUUM", std::time::Duration::from_secs(5)).await
}

/// PostgreSQL: `{command} {table}` after waiting up to `wait` for older transactions; whether
/// none was left. SQLite (or a name that is not a plain table name): nothing, `true`.
async fn vacuum_after_waiting(db: &Db, table: &str, command: &str, wait: std::time::Duration) -> Result<bool> {
    if db.engine() != Engine::Postgres || !table.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
        return Ok(true);
    }
    let clear = wait_for_older_transactions(db, table, wait).await?;
    db.write_pool().execute(sqlx::AssertSqlSafe(format!("{command} {table}"))).await?;
    Ok(clear)
}

/// Refreshes the query planner's statistics at start, after bulk changes and hourly. SQLite:
/// `PRAGMA optimize` over every table, which analyses those never analysed and those whose size
/// changed ten times or more since (index scans bounded by `analysis_limit`), then
/// [`settle_statistics`], which has the writers load the new figures. A SQLite connection reads
/// statistics when it opens, and the native writer lives as long as the server: opened on a
/// new database, whose tables had none, it would plan a million tickets with SQLite's default
/// estimates, e.g. a ticket's audits read through the tenant's time index (every audit of the
/// tenant) instead of the ticket's.
/// PostgreSQL: `ANALYZE` of the tables last seen with fewer than ten thousand rows that have
/// changed by more rows than that (and by at least a thousand). Autovacuum would get there
/// within its next rounds, but until then a table filled from empty is planned as empty: a
/// lookup by id scans all of a tenant's rows, and an import slows down as it goes. Larger
/// tables are planned well enough and left to autovacuum.
pub async fn refresh_statistics(db: &Db) -> Result<()> {
    match db.engine() {
        Engine::Sqlite => {
            let before = row_counts(db).await?;
            // 0x10000: every table, not only those this connection has read.
            db.write_pool().execute("PRAGMA analysis_limit = 2000; PRAGMA optimize = 0x10002;").await?;
            settle_statistics(db, &before).await?;
        }
        Engine::Postgres => {
            let stale: Vec<String> = sqlx::query_scalar(
                "SELECT quote_ident(s.relname) FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid \
                 WHERE s.schemaname = current_schema() AND c.reltuples < 10000 AND s.n_mod_since_analyze > GREATEST(c.reltuples, 0) + 1000 \
                 ORDER BY s.relname",
            )
            .fetch_all(db.write_pool())
            .await?;
            if !stale.is_empty() {
                db.write_pool().execute(sqlx::AssertSqlSafe(format!("ANALYZE {}", stale.join(", ")))).await?;
            }
        }
    }
    Ok(())
}

/// Gives the writer connection a large page cache for a bulk rebuild (SQLite: 256 MiB instead
/// of the default 2 MiB, so inserting millions of index rows does not re-read the same pages)
/// or puts the default back. PostgreSQL: nothing (its buffers are shared).
pub async fn bulk_cache(db: &Db, on: bool) -> Result<()> {
    if db.engine() == Engine::Sqlite {
        let pragma = if on { "PRAGMA cache_size = -262144" } else { "PRAGMA cache_size = -2000" };
        db.writer_pragma(pragma).await?;
    }
    Ok(())
}

/// The search index's tables that have no index of their own: its documents' words (read by
/// rowid, one or a list) and FTS5's index pages (read and deleted by rowid ranges).
const READ_BY_KEY: [&str; 2] = ["search_index_docs", "search_index_data"];

/// SQLite's `sqlite_stat1` as one string (empty before any analysis), to tell whether an
/// analysis changed anything.
pub(crate) async fn row_counts(db: &Db) -> Result<String> {
    let present: Option<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
        .fetch_optional(db.write_pool())
        .await?;
    if present.is_none() {
        return Ok(String::new());
    }
    Ok(sqlx::query_scalar(
        "SELECT COALESCE(group_concat(tbl || ' ' || COALESCE(idx, '') || ' ' || stat, ';'), '') \
         FROM (SELECT tbl, idx, stat FROM sqlite_stat1 ORDER BY tbl, idx)",
    )
    .fetch_one(db.write_pool())
    .await?)
}

/// Tidies SQLite's statistics after an `ANALYZE` (`refresh_statistics`):
///
/// - Removes the sample index keys `ANALYZE` keeps in `sqlite_stat4` (this build of SQLite has
///   STAT4): they would be copies of index keys — organisation names, blind-index hashes — that
///   outlive their rows. The planner keeps the row counts of `sqlite_stat1`.
/// - Never lets the search index's tables be planned as smaller than a thousand rows. Analysed
///   on a new database, FTS5's page table holds its two bookkeeping rows, and planned as a
///   two-row table FTS5's own `DELETE … WHERE id >= ? AND id <= ?` (run whenever segments
///   merge, about one commit in sixteen) becomes a scan of every page of the index: at a
///   million tickets ~0.75 s, on the one writer, until a later start analyses the table again.
///   Likewise a list of documents' words read by rowid (`id IN (…)`) from a table analysed with
///   a handful of rows. From about ten rows up the plans are by key; a floor of a thousand
///   (not more) keeps `PRAGMA optimize` from counting these tables again at every refresh,
///   which it does when the figure is ten times their size (an exact count, every page).
///
/// Then has the pool's writer load the figures, and the native writer too when they differ
/// from `before`; readers load them as they open, and those opened before are replaced as they
/// are next taken from the pool.
/// The native writer only then: loading them makes a connection prepare its statements again,
/// and an import's largest statements (hundreds of rows of values) cost milliseconds each to
/// prepare — after every batch of an import, that was half the seeding's time.
async fn settle_statistics(db: &Db, before: &str) -> Result<()> {
    let present: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE name IN ('sqlite_stat1', 'sqlite_stat4')")
        .fetch_all(db.write_pool())
        .await?;
    if present.iter().any(|n| n == "sqlite_stat4") {
        db.write_pool().execute("DELETE FROM sqlite_stat4").await?;
    }
    if present.iter().any(|n| n == "sqlite_stat1") {
        shape_tenant_statistics(db).await?;
        let [docs, pages] = READ_BY_KEY;
        // The table's size is the first figure (of an index's row, where the table has one:
        // the documents' sizes are indexed); the figures after it stay.
        sqlx::query(
            "UPDATE sqlite_stat1 SET stat = '1000' || substr(stat, instr(stat || ' ', ' ')) \
             WHERE tbl IN ($1, $2) AND CAST(stat AS INTEGER) < 1000",
        )
        .bind(docs)
        .bind(pages)
        .execute(db.write_pool())
        .await?;
    }
    if row_counts(db).await? == before {
        // The analysing connection loaded what it measured, before the floor above: it loads
        // the figures as they stand (cheap: it prepares few statements).
        db.write_pool().execute("ANALYZE sqlite_schema").await?;
    } else {
        db.writer_pragma("ANALYZE sqlite_schema").await?;
        db.statistics_changed();
    }
    Ok(())
}

/// SQLite's estimates when an index has no statistics: rows per value of its first key
/// columns together (10 for the first, 9 for the first two, …, 5 from the sixth on).
const DEFAULT_ROWS_PER_KEY: [i64; 5] = [10, 9, 8, 7, 6];

/// Gives every index that begins with `tenant_id` the statistics the planner should use, from
/// the analysed ones (`settle_statistics`): its size as analysed; the rows per tenant exact,
/// its size over the number of tenants; then, column by column, a key (`id`, `…_id`,
/// `…_hash`) at most SQLite's default estimate ([`DEFAULT_ROWS_PER_KEY`]), and any other
/// column as narrowing nothing. A bounded analysis measures other columns among the first
/// tenants' keys: where those are small tenants, a status looked as if it told rows apart
/// (six rows a value) in a tenant holding three hundred thousand tickets. Columns other than
/// keys are used here as ranges and orders, or in unique indexes, which the planner takes
/// as one row whatever the figures say.
///
/// Measured as they are, both kinds of analysis mislead. A bounded analysis reads the first two
/// thousand keys of each index, all of one tenant, and says a tenant holds about two thousand
/// rows; an exact one, where one requester holds most tickets (a monitoring system opening
/// tickets, or a benchmark's single requester), says a requester holds half the table. Either
/// way the planner read a person's comments through the tenant's part of an author index
/// (every comment of the tenant) instead of through their tickets. A person, a ticket or a tag
/// picks out few of a tenant's rows in any real helpdesk, whatever one large requester does to
/// the average. A status, a kind or a flag does not: claimed as selective as a key, a view of
/// the solved tickets in order of change was read through the status index and sorted (130 ms
/// at 300 000 tickets, against 0.1 ms walking the change-time index).
///
/// Shaping again changes nothing until a table is analysed again or a tenant is added.
async fn shape_tenant_statistics(db: &Db) -> Result<()> {
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT s.tbl, s.idx, s.stat, (SELECT group_concat(IFNULL(i.name, ''), ' ') FROM (SELECT name FROM pragma_index_info(s.idx) ORDER BY seqno) i) \
         FROM sqlite_stat1 s WHERE (SELECT i.name FROM pragma_index_info(s.idx) i WHERE i.seqno = 0) = 'tenant_id' ORDER BY s.tbl, s.idx",
    )
    .fetch_all(db.write_pool())
    .await?;
    if rows.is_empty() {
        return Ok(());
    }
    let tenants: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tenants").fetch_one(db.write_pool()).await?;
    for (table, idx, stat, columns) in &rows {
        let columns: Vec<&str> = columns.split(' ').collect();
        let new = shaped(stat, tenants.max(1), &columns);
        if new != *stat {
            sqlx::query("UPDATE sqlite_stat1 SET stat = $1 WHERE tbl = $2 AND idx = $3")
                .bind(&new)
                .bind(table)
                .bind(idx)
                .execute(db.write_pool())
                .await?;
        }
    }
    Ok(())
}

/// Whether an index column is a key: an id or a blind index's hash.
fn is_key(column: &str) -> bool {
    column == "id" || column.ends_with("_id") || column.ends_with("_hash")
}

/// An index's `sqlite_stat1` figures shaped as [`shape_tenant_statistics`] says, for an index
/// on `columns` (the first, `tenant_id`); each figure never more than the one before it. Words
/// after the figures are kept.
fn shaped(stat: &str, tenants: i64, columns: &[&str]) -> String {
    let mut figures: Vec<i64> = Vec::new();
    let mut rest: Vec<&str> = Vec::new();
    for w in stat.split_whitespace() {
        match w.parse::<i64>() {
            Ok(n) if rest.is_empty() => figures.push(n),
            _ => rest.push(w),
        }
    }
    let Some(first) = figures.first() else {
        return stat.to_string();
    };
    let mut previous = *first;
    for (column, figure) in figures.iter_mut().enumerate().skip(1) {
        let name = columns.get(column - 1).copied().unwrap_or("");
        let wanted = if column == 1 {
            previous / tenants
        } else if is_key(name) {
            DEFAULT_ROWS_PER_KEY.get(column - 1).copied().unwrap_or(5).min(*figure)
        } else {
            previous
        };
        // Never below one row, unless the index is empty.
        *figure = wanted.min(previous).max(previous.min(1));
        previous = *figure;
    }
    let mut out: Vec<String> = figures.iter().map(i64::to_string).collect();
    out.extend(rest.iter().map(|w| w.to_string()));
    out.join(" ")
}

/// A backend of `pg_stat_activity` that keeps a row version deleted before the transaction id
/// `$1` in this database's files: one of this database whose snapshot is not newer than `$1`,
/// or one of *any* database of the server whose transaction id is not newer (a snapshot taken
/// meanwhile in this database — the vacuum's own included — counts that transaction as running,
/// so its horizon stays behind it).
const HOLDS_HORIZON: &str = "pid <> pg_backend_pid() AND (\
     ((datname = current_database() OR datname IS NULL) AND backend_xmin IS NOT NULL AND age(backend_xmin) >= age($1::text::xid)) \
     OR (backend_xid IS NOT NULL AND age(backend_xid) >= age($1::text::xid)))";

/// PostgreSQL: waits (polling, at most `wait`) until no transaction that
/// began before now can still hold back what a vacuum of this database removes. A deleted row
/// version stays in the table's files — through `VACUUM`, and copied by `VACUUM FULL` — while
/// a transaction that might still see it is open: one of this database with an older snapshot
/// (an autovacuum `ANALYZE`, a long read), or one that began before and has written something,
/// in this database or any other of the server (between statements, READ COMMITTED holds no
/// snapshot and `backend_xmin` is empty, but its transaction id alone holds the horizon back,
/// here through every snapshot taken while it runs). Other roles' sessions show their ids only
/// to a role with `pg_read_all_stats`. Autovacuum workers of this database holding an old
/// snapshot are interrupted after two seconds (PostgreSQL does so itself on a lock conflict, and
/// they run again later; needs superuser or `pg_signal_autovacuum_worker`, otherwise we wait).
/// Returns whether none was left; if some was, logs their kinds, states and whether they are in
/// this database (never their queries).
async fn wait_for_older_transactions(db: &Db, table: &str, wait: std::time::Duration) -> Result<bool> {
    let now: i64 = sqlx::query_scalar("SELECT txid_current()").fetch_one(db.write_pool()).await?;
    let horizon = (now % (1_i64 << 32)).to_string();
    let started = std::time::Instant::now();
    // Short polls first: on a busy server some write is nearly always in flight for a moment.
    let mut pause = std::time::Duration::from_millis(10);
    let mut next_cancel = std::time::Duration::from_secs(2);
    loop {
        // Those backends, and prepared transactions as old.
        let older: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT (SELECT COUNT(*) FROM pg_stat_activity WHERE {HOLDS_HORIZON}) \
             + (SELECT COUNT(*) FROM pg_prepared_xacts WHERE age(transaction) >= age($1::text::xid))"
        )))
        .bind(horizon.clone())
        .fetch_one(db.write_pool())
        .await?;
        if older == 0 {
            return Ok(true);
        }
        if started.elapsed() >= wait {
            break;
        }
        if started.elapsed() >= next_cancel {
            next_cancel += std::time::Duration::from_secs(2);
            let _ = sqlx::query(
                "SELECT CAST(pg_cancel_backend(pid) AS TEXT) FROM pg_stat_activity WHERE datname = current_database() \
                 AND backend_type = 'autovacuum worker' AND backend_xmin IS NOT NULL AND age(backend_xmin) >= age($1::text::xid)",
            )
            .bind(horizon.clone())
            .fetch_all(db.write_pool())
            .await;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(std::time::Duration::from_millis(250));
    }
    let holders: Vec<(String, String, bool)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT COALESCE(backend_type, ''), COALESCE(state, ''), COALESCE(datname = current_database(), false) \
         FROM pg_stat_activity WHERE {HOLDS_HORIZON}"
    )))
    .bind(horizon)
    .fetch_all(db.write_pool())
    .await
    .unwrap_or_default();
    tracing::warn!(table, holders = ?holders, "older transactions outlived the wait before vacuuming; deleted row versions may stay until the next vacuum");
    Ok(false)
}

/// Rewrites a small table into fresh files (PostgreSQL `VACUUM FULL`; the old files are
/// unlinked, so no dead tuple or freed space of it stays on disk). Takes an exclusive lock for
/// the rewrite, so only for small tables. SQLite: nothing (`secure_delete` zeroed the space).
/// First waits up to 20 seconds for older transactions ([`wait_for_older_transactions`]), since
/// the rewrite copies every row version one of them might see. Returns whether none was left
/// (false: rewritten anyway, and an old version may have been kept).
pub async fn rewrite_table(db: &Db, table: &str) -> Result<bool> {
    vacuum_after_waiting(db, table, "VACUUM FULL", std::time::Duration::from_secs(20)).await
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

/// Keeps the given columns out of the planner's statistics. PostgreSQL's `ANALYZE` copies sample
/// values of every column into `pg_statistic` (most common values, histogram bounds), where they
/// outlive the rows they came from; for columns that hold personal data — even sealed values,
/// wrapped keys and blind-index hashes — that would be a copy erasure cannot reach. Sets their
/// statistics target to 0 where it is not yet (idempotent, cheap when already set); returns how
/// many changed. SQLite keeps only row counts (`sqlite_stat1`): nothing to do.
pub async fn exclude_from_statistics(db: &Db, columns: &[(&str, &str)]) -> Result<u64> {
    if db.engine() != Engine::Postgres {
        return Ok(0);
    }
    // One read of the catalogue: the columns that may still be sampled.
    let sampled: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.relname::text, a.attname::text FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
         WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped \
         AND COALESCE(a.attstattarget::int8, -1) <> 0",
    )
    .fetch_all(db.write_pool())
    .await?;
    let safe = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    let mut changed = 0;
    for (table, column) in columns {
        if !safe(table) || !safe(column) || !sampled.iter().any(|(t, c)| t == table && c == column) {
            continue;
        }
        db.write_pool()
            .execute(sqlx::AssertSqlSafe(format!("ALTER TABLE {table} ALTER COLUMN {column} SET STATISTICS 0")))
            .await?;
        changed += 1;
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::shaped;

    #[test]
    fn statistics_are_shaped_to_a_tenants_share_and_default_key_estimates() {
        const REQUESTER: [&str; 3] = ["tenant_id", "requester_id", "id"];
        const VIEWS: [&str; 6] = ["tenant_id", "status_rank", "assignee_id", "updated_at", "deleted_at", "restricted"];
        // A bounded analysis of a million tickets: the tenant's share exact, the requester at
        // most SQLite's default.
        assert_eq!(shaped("1000000 2001 2001 1", 1, &REQUESTER), "1000000 1000000 9 1");
        // An exact one, one requester holding half the tickets.
        assert_eq!(shaped("1000000 1000000 500000 1", 1, &REQUESTER), "1000000 1000000 9 1");
        // A status narrows nothing (however few of its values the bounded analysis saw); the
        // assignee after it does; what follows narrows no further.
        assert_eq!(shaped("89000 2001 2001 2001 667 667 667", 1, &VIEWS), "89000 89000 89000 8 8 8 8");
        // Other columns narrow nothing, however few rows a value the analysis measured (it
        // measured the first tenants, which may be small ones).
        assert_eq!(shaped("301800 33 6 1", 1, &["tenant_id", "status_rank", "id"]), "301800 301800 301800 1");
        assert_eq!(shaped("4000 4000 150 1", 1, &["tenant_id", "kind", "id"]), "4000 4000 4000 1");
        // Four tenants share the rows; words after the figures stay; an expression is no key.
        assert_eq!(shaped("4000 4000 1 1", 4, &REQUESTER), "4000 1000 1 1");
        assert_eq!(shaped("4000 2001 3 unordered", 1, &REQUESTER), "4000 4000 3 unordered");
        assert_eq!(shaped("4000 2001 2001", 1, &["tenant_id", ""]), "4000 4000 4000");
        // An empty (partial) index stays empty; a small table never shows more rows per key
        // than it holds.
        assert_eq!(shaped("0 0 0", 1, &REQUESTER), "0 0 0");
        assert_eq!(shaped("5 5 5 5", 1, &VIEWS), "5 5 5 5");
        assert_eq!(shaped("5 5 5 5", 10, &VIEWS), "5 1 1 1");
        for (stat, columns) in [
            ("89000 2001 2001 1", &REQUESTER[..]),
            ("4000 2001 3 unordered", &REQUESTER[..]),
            ("89000 2001 2001 2001 667 667 667", &VIEWS[..]),
            ("12 12 1", &REQUESTER[..]),
            ("0 0 0", &REQUESTER[..]),
        ] {
            let once = shaped(stat, 3, columns);
            assert_eq!(shaped(&once, 3, columns), once, "shaping {stat} again changed it");
        }
    }
}
