//! The durable work queue: background work (webhook deliveries, export builds, sweeps) as rows
//! that survive restarts. Payloads hold ids only. A claim leases a row for a while; a worker that
//! dies loses its lease and the row is claimed again, so handlers must be idempotent.

use crate::Conn;
use suoja_core::{TenantId, Timestamp};

use crate::Result;
use crate::row::{i64_, text};

/// A claimed item.
#[derive(Debug, Clone)]
pub struct WorkItem {
    /// Id.
    pub id: i64,
    /// Tenant.
    pub tenant: TenantId,
    /// What to do.
    pub kind: String,
    /// JSON of ids.
    pub payload: String,
    /// Earlier attempts.
    pub attempts: i64,
}

/// Enqueues work to run at or after `run_after`.
pub async fn enqueue(c: &mut Conn, tenant: TenantId, kind: &str, payload: &str, run_after: Timestamp, now: Timestamp) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO work_queue (tenant_id, kind, payload, state, attempts, run_after, created_at, updated_at) VALUES ($1, $2, $3, 'ready', 0, $4, $5, $5) RETURNING id",
    )
    .bind(tenant.0)
    .bind(kind.to_string())
    .bind(payload.to_string())
    .bind(run_after.0)
    .bind(now.0)
    .fetch_one(c)
    .await?)
}

/// Claims up to `limit` ready items whose time has come (or whose lease ran out), leasing them
/// until `now + lease_ms`, in the caller's transaction. Safe with several nodes: PostgreSQL skips
/// rows another node locked.
pub async fn claim(c: &mut Conn, now: Timestamp, lease_ms: i64, limit: i64) -> Result<Vec<WorkItem>> {
    let pg = c.engine() == crate::Engine::Postgres;
    let sql = if pg {
        "SELECT id, tenant_id, kind, payload, attempts FROM work_queue WHERE (state = 'ready' AND run_after <= $1) OR (state = 'running' AND locked_until < $1) ORDER BY run_after, id LIMIT $2 FOR UPDATE SKIP LOCKED"
    } else {
        "SELECT id, tenant_id, kind, payload, attempts FROM work_queue WHERE (state = 'ready' AND run_after <= $1) OR (state = 'running' AND locked_until < $1) ORDER BY run_after, id LIMIT $2"
    };
    let rows = sqlx::query(sql).bind(now.0).bind(limit).fetch_all(&mut *c).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let item = WorkItem {
            id: i64_(&r, "id")?,
            tenant: TenantId(i64_(&r, "tenant_id")?),
            kind: text(&r, "kind")?,
            payload: text(&r, "payload")?,
            attempts: i64_(&r, "attempts")?,
        };
        sqlx::query("UPDATE work_queue SET state = 'running', locked_until = $2, attempts = attempts + 1, updated_at = $3 WHERE id = $1")
            .bind(item.id)
            .bind(now.0 + lease_ms)
            .bind(now.0)
            .execute(&mut *c)
            .await?;
        out.push(item);
    }
    Ok(out)
}

/// Marks an item done.
pub async fn complete(c: &mut Conn, id: i64, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE work_queue SET state = 'done', locked_until = NULL, last_error = NULL, updated_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now.0)
        .execute(c)
        .await?;
    Ok(())
}

/// Records a failure: retried at `retry_at`, or given up (`dead`) when `retry_at` is `None`.
/// `error` must not contain personal data.
pub async fn fail(c: &mut Conn, id: i64, error: &str, retry_at: Option<Timestamp>, now: Timestamp) -> Result<()> {
    let (state, at) = match retry_at {
        Some(t) => ("ready", t.0),
        None => ("dead", now.0),
    };
    sqlx::query("UPDATE work_queue SET state = $2, run_after = $3, locked_until = NULL, last_error = $4, updated_at = $5 WHERE id = $1")
        .bind(id)
        .bind(state)
        .bind(at)
        .bind(error.to_string())
        .bind(now.0)
        .execute(c)
        .await?;
    Ok(())
}

/// Items of a tenant in a state (for tests and the console).
pub async fn count(c: &mut Conn, tenant: TenantId, kind: &str, state: &str) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM work_queue WHERE tenant_id = $1 AND kind = $2 AND state = $3")
            .bind(tenant.0)
            .bind(kind.to_string())
            .bind(state.to_string())
            .fetch_one(c)
            .await?,
    )
}

/// Puts a claimed item back, to run at `run_after`, without counting the attempt (its endpoint
/// is busy or backing off; nothing was tried).
pub async fn postpone(c: &mut Conn, id: i64, run_after: Timestamp, now: Timestamp) -> Result<()> {
    sqlx::query(
        "UPDATE work_queue SET state = 'ready', run_after = $2, locked_until = NULL, attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, updated_at = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(run_after.0)
    .bind(now.0)
    .execute(c)
    .await?;
    Ok(())
}
