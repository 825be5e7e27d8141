//! The nodes serving one database and their turns at cluster-wide work. Nothing here belongs to
//! a tenant: a node's heartbeat names the node (its configured host name), and a turn names a
//! kind of installation-wide work (the retention sweep, the automations' pass).

use suoja_core::Timestamp;

use crate::row::{i64_, text};
use crate::{Conn, Result};

/// A node as its heartbeat row has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRow {
    /// The configured node name.
    pub name: String,
    /// The version of Suoja it runs.
    pub version: String,
    /// When it started.
    pub started_at: Timestamp,
    /// Its last heartbeat.
    pub seen_at: Timestamp,
}

/// Writes `name`'s heartbeat (a node started at `started_at`, running `version`).
pub async fn heartbeat(c: &mut Conn, name: &str, version: &str, started_at: Timestamp, now: Timestamp) -> Result<()> {
    sqlx::query(
        "INSERT INTO cluster_nodes (name, version, started_at, seen_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (name) DO UPDATE SET version = excluded.version, started_at = excluded.started_at, seen_at = excluded.seen_at",
    )
    .bind(name.to_string())
    .bind(version.to_string())
    .bind(started_at.0)
    .bind(now.0)
    .execute(c)
    .await?;
    Ok(())
}

/// Removes `name`'s heartbeat (a node stopping cleanly stops counting at once).
pub async fn leave(c: &mut Conn, name: &str) -> Result<()> {
    sqlx::query("DELETE FROM cluster_nodes WHERE name = $1")
        .bind(name.to_string())
        .execute(c)
        .await?;
    Ok(())
}

/// The nodes heard from since `since`, by name.
pub async fn alive(c: &mut Conn, since: Timestamp) -> Result<Vec<NodeRow>> {
    let rows = sqlx::query("SELECT name, version, started_at, seen_at FROM cluster_nodes WHERE seen_at >= $1 ORDER BY name")
        .bind(since.0)
        .fetch_all(c)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(NodeRow {
                name: text(r, "name")?,
                version: text(r, "version")?,
                started_at: Timestamp(i64_(r, "started_at")?),
                seen_at: Timestamp(i64_(r, "seen_at")?),
            })
        })
        .collect()
}

/// Forgets nodes not heard from since `before` (a node killed without leaving).
pub async fn forget_silent(c: &mut Conn, before: Timestamp) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM cluster_nodes WHERE seen_at < $1")
        .bind(before.0)
        .execute(c)
        .await?
        .rows_affected())
}

/// Where a turn at `work` starts when no node has taken one yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstTurn {
    /// The first node to ask takes it.
    Now,
    /// One whole interval after the first node asked.
    AfterAnInterval,
}

/// Takes this interval's turn at `work` for `node`: true when the last turn started at least
/// `every_ms` before `now` (or none did and `first` says now), in which case the turn is this
/// node's and no other node gets one until `every_ms` has passed again. One statement, so two
/// nodes asking at once never both get it.
pub async fn take_turn(c: &mut Conn, work: &str, node: &str, every_ms: i64, first: FirstTurn, now: Timestamp) -> Result<bool> {
    let seed = match first {
        FirstTurn::Now => 0,
        FirstTurn::AfterAnInterval => now.0,
    };
    sqlx::query("INSERT INTO cluster_turns (name, node, started_at) VALUES ($1, '', $2) ON CONFLICT (name) DO NOTHING")
        .bind(work.to_string())
        .bind(seed)
        .execute(&mut *c)
        .await?;
    let n = sqlx::query("UPDATE cluster_turns SET node = $2, started_at = $3 WHERE name = $1 AND started_at <= $4")
        .bind(work.to_string())
        .bind(node.to_string())
        .bind(now.0)
        .bind(now.0.saturating_sub(every_ms))
        .execute(c)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// The node that took the last turn at `work`, and when (none yet: `None`).
pub async fn last_turn(c: &mut Conn, work: &str) -> Result<Option<(String, Timestamp)>> {
    let row = sqlx::query("SELECT node, started_at FROM cluster_turns WHERE name = $1 AND node <> ''")
        .bind(work.to_string())
        .fetch_optional(c)
        .await?;
    row.map(|r| Ok((text(&r, "node")?, Timestamp(i64_(&r, "started_at")?)))).transpose()
}

/// Counts of background work across the installation, for the metrics endpoint: (what, kind,
/// state, count) with `what` one of `queue` (kind: the work's kind), `outbox`, `erasures` and
/// `jobs` (kind: empty). Words and numbers only; nothing about anyone.
pub async fn work_figures(c: &mut Conn) -> Result<Vec<(String, String, String, i64)>> {
    let rows = sqlx::query(
        "SELECT 'queue' AS what, kind, state, COUNT(*) AS n FROM work_queue GROUP BY kind, state \
         UNION ALL SELECT 'outbox', '', status, COUNT(*) FROM mail_outbox GROUP BY status \
         UNION ALL SELECT 'erasures', '', state, COUNT(*) FROM erasures GROUP BY state \
         UNION ALL SELECT 'jobs', '', status, COUNT(*) FROM job_statuses GROUP BY status",
    )
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| Ok((text(r, "what")?, text(r, "kind")?, text(r, "state")?, i64_(r, "n")?)))
        .collect()
}

/// Whether the database answers (one trivial statement).
pub async fn ping(c: &mut Conn) -> Result<()> {
    sqlx::query("SELECT 1").execute(c).await?;
    Ok(())
}
