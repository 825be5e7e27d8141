//! The privacy ledger's storage: an append-only, per-tenant chain of entries holding opaque ids
//! only. Each entry's hash covers the previous entry's hash and the entry's canonical bytes;
//! `ledger_heads` keeps the newest (seq, hash) so entries removed from the end are noticed too.
//! The chaining function (a keyed MAC from the vault) is passed in by the caller.

use crate::Conn;
use suoja_core::{TenantId, Timestamp};

use crate::Result;
use crate::row::{bytes, i64_, opt_i64, text};

/// What a caller appends.
#[derive(Debug, Clone)]
pub struct NewEntry {
    /// When it happened.
    pub at: Timestamp,
    /// What happened.
    pub kind: suoja_core::LedgerKind,
    /// The data subject, by opaque user id.
    pub subject: Option<i64>,
    /// Who acted, by opaque user id (`None` for the system).
    pub actor: Option<i64>,
    /// JSON object of ids, counts and codes; never personal values.
    pub details: String,
}

/// One stored entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Position in the tenant's chain, from 1.
    pub seq: i64,
    /// When it happened.
    pub at: Timestamp,
    /// What happened.
    pub kind: String,
    /// The data subject.
    pub subject: Option<i64>,
    /// Who acted.
    pub actor: Option<i64>,
    /// JSON details.
    pub details: String,
    /// The previous entry's hash (32 zero bytes for the first).
    pub prev_hash: Vec<u8>,
    /// This entry's hash.
    pub hash: Vec<u8>,
}

/// The hash of the (absent) entry before the first.
pub const GENESIS: [u8; 32] = [0; 32];

/// The bytes an entry's hash covers: every field, length-prefixed so no two entries encode alike.
pub fn canonical(tenant: TenantId, seq: i64, at: Timestamp, kind: &str, subject: Option<i64>, actor: Option<i64>, details: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + kind.len() + details.len());
    out.extend_from_slice(b"suoja-ledger-v1");
    out.extend_from_slice(&tenant.0.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&at.0.to_be_bytes());
    for part in [kind.as_bytes(), details.as_bytes()] {
        out.extend_from_slice(&u64::try_from(part.len()).unwrap_or(u64::MAX).to_be_bytes());
        out.extend_from_slice(part);
    }
    for id in [subject, actor] {
        match id {
            Some(v) => {
                out.push(1);
                out.extend_from_slice(&v.to_be_bytes());
            }
            None => out.push(0),
        }
    }
    out
}

/// Appends an entry in the caller's transaction. `chain(prev_hash, canonical)` computes the hash.
/// Appends of one tenant are serialised (SQLite has one writer; PostgreSQL takes a transaction
/// lock on the tenant's chain).
pub async fn append(c: &mut Conn, tenant: TenantId, e: &NewEntry, chain: impl Fn(&[u8], &[u8]) -> Vec<u8>) -> Result<Entry> {
    if c.engine() == crate::Engine::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(7001, CAST($1 AS INTEGER))")
            .bind(tenant.0)
            .execute(&mut *c)
            .await?;
    }
    let head = sqlx::query("SELECT seq, hash FROM ledger_heads WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_optional(&mut *c)
        .await?;
    let (prev_seq, prev_hash) = match head {
        Some(r) => (i64_(&r, "seq")?, bytes(&r, "hash")?),
        None => (0, GENESIS.to_vec()),
    };
    let seq = prev_seq + 1;
    let body = canonical(tenant, seq, e.at, e.kind.as_str(), e.subject, e.actor, &e.details);
    let hash = chain(&prev_hash, &body);
    sqlx::query("INSERT INTO ledger (tenant_id, seq, at, kind, subject_id, actor_id, details, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(tenant.0)
        .bind(seq)
        .bind(e.at.0)
        .bind(e.kind.as_str())
        .bind(e.subject)
        .bind(e.actor)
        .bind(e.details.clone())
        .bind(prev_hash.clone())
        .bind(hash.clone())
        .execute(&mut *c)
        .await?;
    let updated = sqlx::query("UPDATE ledger_heads SET seq = $2, hash = $3 WHERE tenant_id = $1")
        .bind(tenant.0)
        .bind(seq)
        .bind(hash.clone())
        .execute(&mut *c)
        .await?;
    if updated.rows_affected() == 0 {
        sqlx::query("INSERT INTO ledger_heads (tenant_id, seq, hash) VALUES ($1, $2, $3)")
            .bind(tenant.0)
            .bind(seq)
            .bind(hash.clone())
            .execute(&mut *c)
            .await?;
    }
    Ok(Entry {
        seq,
        at: e.at,
        kind: e.kind.as_str().to_string(),
        subject: e.subject,
        actor: e.actor,
        details: e.details.clone(),
        prev_hash,
        hash,
    })
}

fn entry(r: &sqlx::any::AnyRow) -> Result<Entry> {
    Ok(Entry {
        seq: i64_(r, "seq")?,
        at: Timestamp(i64_(r, "at")?),
        kind: text(r, "kind")?,
        subject: opt_i64(r, "subject_id")?,
        actor: opt_i64(r, "actor_id")?,
        details: text(r, "details")?,
        prev_hash: bytes(r, "prev_hash")?,
        hash: bytes(r, "hash")?,
    })
}

/// Entries after `after_seq`, in stored order of `seq`, at most `limit`.
pub async fn page(c: &mut Conn, tenant: TenantId, after_seq: i64, limit: i64) -> Result<Vec<Entry>> {
    let rows =
        sqlx::query("SELECT seq, at, kind, subject_id, actor_id, details, prev_hash, hash FROM ledger WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3")
            .bind(tenant.0)
            .bind(after_seq)
            .bind(limit)
            .fetch_all(c)
            .await?;
    rows.iter().map(entry).collect()
}

/// Entries about one subject, oldest first.
pub async fn for_subject(c: &mut Conn, tenant: TenantId, subject: i64) -> Result<Vec<Entry>> {
    let rows =
        sqlx::query("SELECT seq, at, kind, subject_id, actor_id, details, prev_hash, hash FROM ledger WHERE tenant_id = $1 AND subject_id = $2 ORDER BY seq")
            .bind(tenant.0)
            .bind(subject)
            .fetch_all(c)
            .await?;
    rows.iter().map(entry).collect()
}

/// The newest (seq, hash) recorded for the tenant's chain.
pub async fn head(c: &mut Conn, tenant: TenantId) -> Result<Option<(i64, Vec<u8>)>> {
    let row = sqlx::query("SELECT seq, hash FROM ledger_heads WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_optional(c)
        .await?;
    row.map(|r| Ok((i64_(&r, "seq")?, bytes(&r, "hash")?))).transpose()
}

/// Tenants that have a ledger (an entry or a head).
pub async fn tenants(c: &mut Conn) -> Result<Vec<TenantId>> {
    let rows: Vec<i64> = sqlx::query_scalar("SELECT tenant_id FROM ledger_heads UNION SELECT DISTINCT tenant_id FROM ledger ORDER BY 1")
        .fetch_all(c)
        .await?;
    Ok(rows.into_iter().map(TenantId).collect())
}

/// What an audit-log page keeps of the ledger.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only entries of this kind (`audit.update`, …); otherwise every `audit.` kind.
    pub kind: Option<String>,
    /// Only this actor's.
    pub actor: Option<i64>,
    /// From this time on.
    pub from: Option<Timestamp>,
    /// Up to this time.
    pub to: Option<Timestamp>,
}

/// The audit entries (`audit.*` kinds) of a tenant, newest first, before `before_seq` when given,
/// at most `limit`.
pub async fn audit_page(c: &mut Conn, tenant: TenantId, f: &AuditFilter, before_seq: Option<i64>, limit: i64) -> Result<Vec<Entry>> {
    let rows = sqlx::query(
        "SELECT seq, at, kind, subject_id, actor_id, details, prev_hash, hash FROM ledger \
         WHERE tenant_id = $1 AND seq < $2 AND kind LIKE 'audit.%' AND ($3 = '' OR kind = $3) AND ($4 = 0 OR actor_id = $5) \
         AND at >= $6 AND at <= $7 ORDER BY seq DESC LIMIT $8",
    )
    .bind(tenant.0)
    .bind(before_seq.unwrap_or(i64::MAX))
    .bind(f.kind.clone().unwrap_or_default())
    .bind(i64::from(f.actor.is_some()))
    .bind(f.actor.unwrap_or(0))
    .bind(f.from.map_or(i64::MIN, |t| t.0))
    .bind(f.to.map_or(i64::MAX, |t| t.0))
    .bind(limit)
    .fetch_all(c)
    .await?;
    rows.iter().map(entry).collect()
}

/// The length of one audit-address period: addresses recorded in one share its key.
pub const AUDIT_PERIOD_MS: i64 = 30 * 86_400_000;

/// The key that seals the audit log's client addresses of `period`, if it was made.
pub async fn audit_period_key(c: &mut Conn, tenant: TenantId, period: i64) -> Result<Option<suoja_core::KeyId>> {
    let id: Option<i64> = sqlx::query_scalar("SELECT key_id FROM audit_address_keys WHERE tenant_id = $1 AND period = $2")
        .bind(tenant.0)
        .bind(period)
        .fetch_optional(c)
        .await?;
    Ok(id.map(suoja_core::KeyId))
}

/// Records `key` as the key of `period`: false when another request recorded one first.
pub async fn insert_audit_period_key(c: &mut Conn, tenant: TenantId, period: i64, key: suoja_core::KeyId, now: Timestamp) -> Result<bool> {
    Ok(
        sqlx::query(
            "INSERT INTO audit_address_keys (tenant_id, period, key_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, period) DO NOTHING",
        )
        .bind(tenant.0)
        .bind(period)
        .bind(key.0)
        .bind(now.0)
        .execute(c)
        .await?
        .rows_affected()
            == 1,
    )
}

/// Periods (with their keys) that ended before `cutoff`, oldest first, at most `limit`.
pub async fn audit_periods_ended_before(c: &mut Conn, tenant: TenantId, cutoff: Timestamp, limit: i64) -> Result<Vec<(i64, suoja_core::KeyId)>> {
    let rows = sqlx::query("SELECT period, key_id FROM audit_address_keys WHERE tenant_id = $1 AND (period + 1) * $2 <= $3 ORDER BY period LIMIT $4")
        .bind(tenant.0)
        .bind(AUDIT_PERIOD_MS)
        .bind(cutoff.0)
        .bind(limit)
        .fetch_all(c)
        .await?;
    rows.iter().map(|r| Ok((i64_(r, "period")?, suoja_core::KeyId(i64_(r, "key_id")?)))).collect()
}

/// Forgets a period whose key was destroyed.
pub async fn delete_audit_period(c: &mut Conn, tenant: TenantId, period: i64) -> Result<()> {
    sqlx::query("DELETE FROM audit_address_keys WHERE tenant_id = $1 AND period = $2")
        .bind(tenant.0)
        .bind(period)
        .execute(c)
        .await?;
    Ok(())
}
