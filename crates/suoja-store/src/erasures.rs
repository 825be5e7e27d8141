//! Erasure jobs: one row per erasure of one person, holding the stored plan and what each step
//! did (ids and counts, never personal values). The row is the durable job: a runner leases it
//! with [`lease`], commits each step together with [`advance`], and a runner that dies loses its
//! lease so the next one resumes at the first step not committed.

use crate::Conn;
use suoja_core::{ErasureState, Role, TenantId, Timestamp};

use crate::Result;
use crate::row::{i64_, opt_bytes, opt_i64, opt_text, text};

/// A stored erasure.
#[derive(Debug, Clone)]
pub struct ErasureRow {
    /// Id.
    pub id: i64,
    /// Tenant.
    pub tenant: TenantId,
    /// The person being erased (an id that no longer resolves once done).
    pub subject_id: i64,
    /// Their role when planned.
    pub subject_role: Role,
    /// The privacy request it fulfils, if any.
    pub request_id: Option<i64>,
    /// What started it: `request`, `api`.
    pub origin: String,
    /// Where it stands.
    pub state: ErasureState,
    /// Steps committed in the current pass.
    pub step: i64,
    /// Pass number (a pass resumes after holds expire or after verification found new data).
    pub pass: i64,
    /// The plan of the current pass (JSON of ids and counts).
    pub plan: String,
    /// What the steps did, per category, summed over passes (JSON).
    pub done: String,
    /// What is kept under holds (JSON of hold ids and counts).
    pub held: String,
    /// Why it failed, for the operator (no personal values).
    pub error: Option<String>,
    /// Who asked for it.
    pub actor_id: Option<i64>,
    /// Until when a runner holds it.
    pub leased_until: i64,
    /// Created.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// When verification passed.
    pub completed_at: Option<Timestamp>,
    /// Hash of the ledger entry that records completion.
    pub ledger_hash: Option<Vec<u8>>,
}

const COLS: &str = "id, tenant_id, subject_id, subject_role, request_id, origin, state, step, pass, plan, done, held, error, actor_id, leased_until, created_at, updated_at, completed_at, ledger_hash";

fn from_row(r: &sqlx::any::AnyRow) -> Result<ErasureRow> {
    Ok(ErasureRow {
        id: i64_(r, "id")?,
        tenant: TenantId(i64_(r, "tenant_id")?),
        subject_id: i64_(r, "subject_id")?,
        subject_role: Role::parse(&text(r, "subject_role")?).map_err(|_| crate::StoreError::Corrupt("erasures.subject_role".into()))?,
        request_id: opt_i64(r, "request_id")?,
        origin: text(r, "origin")?,
        state: ErasureState::parse(&text(r, "state")?).map_err(|_| crate::StoreError::Corrupt("erasures.state".into()))?,
        step: i64_(r, "step")?,
        pass: i64_(r, "pass")?,
        plan: text(r, "plan")?,
        done: text(r, "done")?,
        held: text(r, "held")?,
        error: opt_text(r, "error")?,
        actor_id: opt_i64(r, "actor_id")?,
        leased_until: i64_(r, "leased_until")?,
        created_at: Timestamp(i64_(r, "created_at")?),
        updated_at: Timestamp(i64_(r, "updated_at")?),
        completed_at: opt_i64(r, "completed_at")?.map(Timestamp),
        ledger_hash: opt_bytes(r, "ledger_hash")?,
    })
}

/// Inserts a planned erasure. Fails with a unique violation if the person already has an
/// unfinished one.
pub async fn insert(c: &mut Conn, e: &ErasureRow) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO erasures (tenant_id, subject_id, subject_role, request_id, origin, state, step, pass, plan, done, held, actor_id, leased_until, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) RETURNING id",
    )
    .bind(e.tenant.0)
    .bind(e.subject_id)
    .bind(e.subject_role.as_str())
    .bind(e.request_id)
    .bind(e.origin.clone())
    .bind(e.state.as_str())
    .bind(e.step)
    .bind(e.pass)
    .bind(e.plan.clone())
    .bind(e.done.clone())
    .bind(e.held.clone())
    .bind(e.actor_id)
    .bind(e.leased_until)
    .bind(e.created_at.0)
    .fetch_one(c)
    .await?)
}

/// One erasure.
pub async fn by_id(c: &mut Conn, tenant: TenantId, id: i64) -> Result<Option<ErasureRow>> {
    let r = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLS} FROM erasures WHERE tenant_id = $1 AND id = $2")))
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(c)
        .await?;
    r.as_ref().map(from_row).transpose()
}

/// A person's erasures, newest first.
pub async fn for_subject(c: &mut Conn, tenant: TenantId, subject: i64) -> Result<Vec<ErasureRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM erasures WHERE tenant_id = $1 AND subject_id = $2 ORDER BY id DESC"
    )))
    .bind(tenant.0)
    .bind(subject)
    .fetch_all(c)
    .await?;
    rows.iter().map(from_row).collect()
}

/// A tenant's erasures, newest first.
pub async fn list(c: &mut Conn, tenant: TenantId, limit: i64, offset: i64) -> Result<Vec<ErasureRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM erasures WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3"
    )))
    .bind(tenant.0)
    .bind(limit)
    .bind(offset)
    .fetch_all(c)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Erasures a runner may take now, in any tenant: unfinished and not leased (a dead runner's
/// lease has run out), plus held ones (the runner checks whether their holds expired).
pub async fn runnable(c: &mut Conn, now: Timestamp, limit: i64) -> Result<Vec<(TenantId, i64)>> {
    let rows =
        sqlx::query("SELECT tenant_id, id FROM erasures WHERE state IN ('planned', 'running', 'verifying', 'held') AND leased_until < $1 ORDER BY id LIMIT $2")
            .bind(now.0)
            .bind(limit)
            .fetch_all(c)
            .await?;
    rows.iter().map(|r| Ok((TenantId(i64_(r, "tenant_id")?), i64_(r, "id")?))).collect()
}

/// Leases an erasure until `until` if nobody else holds it. Returns whether it was taken.
pub async fn lease(c: &mut Conn, tenant: TenantId, id: i64, now: Timestamp, until: i64) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE erasures SET leased_until = $4 WHERE tenant_id = $1 AND id = $2 AND leased_until < $3 AND state IN ('planned', 'running', 'verifying', 'held')",
    )
    .bind(tenant.0)
    .bind(id)
    .bind(now.0)
    .bind(until)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Sets the lease to `until` unconditionally: renewed by the runner holding it, or pushed out
/// so a held erasure is looked at again later.
pub async fn set_lease(c: &mut Conn, tenant: TenantId, id: i64, until: i64) -> Result<()> {
    sqlx::query("UPDATE erasures SET leased_until = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .bind(until)
        .execute(c)
        .await?;
    Ok(())
}

/// Writes the mutable part of an erasure (state, step, pass, plan, done, held, error,
/// completion), in the caller's transaction, if it is still at step `from` of pass `pass`: a
/// step's changes and its bookkeeping commit together, and a step two runners both did counts
/// once (the second one finds the row moved on and rolls back). Returns whether it was written.
pub async fn advance(c: &mut Conn, e: &ErasureRow, from: (i64, i64)) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE erasures SET state = $3, step = $4, pass = $5, plan = $6, done = $7, held = $8, error = $9, updated_at = $10, completed_at = $11, ledger_hash = $12 \
         WHERE tenant_id = $1 AND id = $2 AND step = $13 AND pass = $14",
    )
    .bind(e.tenant.0)
    .bind(e.id)
    .bind(e.state.as_str())
    .bind(e.step)
    .bind(e.pass)
    .bind(e.plan.clone())
    .bind(e.done.clone())
    .bind(e.held.clone())
    .bind(e.error.clone())
    .bind(e.updated_at.0)
    .bind(e.completed_at.map(|t| t.0))
    .bind(e.ledger_hash.clone())
    .bind(from.0)
    .bind(from.1)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Every completed erasure of every tenant as (tenant, person, erasure id, completed at).
pub async fn completed(c: &mut Conn) -> Result<Vec<(TenantId, i64, i64, Timestamp)>> {
    let rows = sqlx::query("SELECT tenant_id, subject_id, id, completed_at FROM erasures WHERE state = 'completed' ORDER BY id")
        .fetch_all(c)
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                TenantId(crate::row::i64_(r, "tenant_id")?),
                crate::row::i64_(r, "subject_id")?,
                crate::row::i64_(r, "id")?,
                Timestamp(crate::row::opt_i64(r, "completed_at")?.unwrap_or(0)),
            ))
        })
        .collect()
}
