//! Legal holds (GDPR Art. 17(3)): a person, a ticket, or the tickets carrying a tag, kept
//! despite erasure until the hold expires or is released.

use crate::Conn;
use suoja_core::{TenantId, Timestamp};

use crate::Result;
use crate::row::{i64_, opt_i64, opt_text, text};

/// A stored hold.
#[derive(Debug, Clone)]
pub struct HoldRow {
    /// Id.
    pub id: i64,
    /// `person`, `ticket` or `tag`.
    pub scope: String,
    /// The person held (scope `person`).
    pub subject_id: Option<i64>,
    /// The ticket held (scope `ticket`).
    pub ticket_id: Option<i64>,
    /// The tag whose tickets are held (scope `tag`).
    pub tag: Option<String>,
    /// The Art. 17(3) ground (a code such as `legal_claims`).
    pub ground: String,
    /// The case or matter reference, as the organisation names it.
    pub reference: Option<String>,
    /// Who approved the hold.
    pub approver_id: i64,
    /// Who recorded it.
    pub created_by: i64,
    /// Recorded.
    pub created_at: Timestamp,
    /// When it ends by itself.
    pub expires_at: Timestamp,
    /// When it was released early.
    pub released_at: Option<Timestamp>,
    /// Who released it.
    pub released_by: Option<i64>,
}

const COLS: &str = "id, scope, subject_id, ticket_id, tag, ground, reference, approver_id, created_by, created_at, expires_at, released_at, released_by";

fn from_row(r: &sqlx::any::AnyRow) -> Result<HoldRow> {
    Ok(HoldRow {
        id: i64_(r, "id")?,
        scope: text(r, "scope")?,
        subject_id: opt_i64(r, "subject_id")?,
        ticket_id: opt_i64(r, "ticket_id")?,
        tag: opt_text(r, "tag")?,
        ground: text(r, "ground")?,
        reference: opt_text(r, "reference")?,
        approver_id: i64_(r, "approver_id")?,
        created_by: i64_(r, "created_by")?,
        created_at: Timestamp(i64_(r, "created_at")?),
        expires_at: Timestamp(i64_(r, "expires_at")?),
        released_at: opt_i64(r, "released_at")?.map(Timestamp),
        released_by: opt_i64(r, "released_by")?,
    })
}

/// Records a hold.
pub async fn insert(c: &mut Conn, tenant: TenantId, h: &HoldRow) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO legal_holds (tenant_id, scope, subject_id, ticket_id, tag, ground, reference, approver_id, created_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(tenant.0)
    .bind(h.scope.clone())
    .bind(h.subject_id)
    .bind(h.ticket_id)
    .bind(h.tag.clone())
    .bind(h.ground.clone())
    .bind(h.reference.clone())
    .bind(h.approver_id)
    .bind(h.created_by)
    .bind(h.created_at.0)
    .bind(h.expires_at.0)
    .fetch_one(c)
    .await?)
}

/// One hold.
pub async fn by_id(c: &mut Conn, tenant: TenantId, id: i64) -> Result<Option<HoldRow>> {
    let r = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLS} FROM legal_holds WHERE tenant_id = $1 AND id = $2")))
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(c)
        .await?;
    r.as_ref().map(from_row).transpose()
}

/// Holds in force at `now` (not released, not expired), oldest first.
pub async fn active(c: &mut Conn, tenant: TenantId, now: Timestamp) -> Result<Vec<HoldRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM legal_holds WHERE tenant_id = $1 AND released_at IS NULL AND expires_at > $2 ORDER BY id"
    )))
    .bind(tenant.0)
    .bind(now.0)
    .fetch_all(c)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Every hold of a tenant, newest first.
pub async fn list(c: &mut Conn, tenant: TenantId, limit: i64, offset: i64) -> Result<Vec<HoldRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM legal_holds WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3"
    )))
    .bind(tenant.0)
    .bind(limit)
    .bind(offset)
    .fetch_all(c)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Releases a hold early. Returns whether it was in force.
pub async fn release(c: &mut Conn, tenant: TenantId, id: i64, by: i64, now: Timestamp) -> Result<bool> {
    let r =
        sqlx::query("UPDATE legal_holds SET released_at = $3, released_by = $4 WHERE tenant_id = $1 AND id = $2 AND released_at IS NULL AND expires_at > $3")
            .bind(tenant.0)
            .bind(id)
            .bind(now.0)
            .bind(by)
            .execute(c)
            .await?;
    Ok(r.rows_affected() == 1)
}

/// Holds in any tenant whose expiry has passed but that were not yet marked ended.
pub async fn expired_unreleased(c: &mut Conn, now: Timestamp) -> Result<Vec<(TenantId, HoldRow)>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT tenant_id, {COLS} FROM legal_holds WHERE released_at IS NULL AND expires_at <= $1 ORDER BY id LIMIT 100"
    )))
    .bind(now.0)
    .fetch_all(c)
    .await?;
    rows.iter().map(|r| Ok((TenantId(i64_(r, "tenant_id")?), from_row(r)?))).collect()
}

/// Marks an expired hold as ended (released at its expiry, by nobody).
pub async fn mark_ended(c: &mut Conn, tenant: TenantId, id: i64) -> Result<()> {
    sqlx::query("UPDATE legal_holds SET released_at = expires_at WHERE tenant_id = $1 AND id = $2 AND released_at IS NULL")
        .bind(tenant.0)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}
