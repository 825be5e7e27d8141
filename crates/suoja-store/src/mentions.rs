//! Mention candidates of privacy requests: which passage of someone else's text (a comment, a
//! ticket's subject, an organisation's notes) may be about the request's person, how strongly
//! it matched, and what privacy staff decided. Ids and codes only; the text stays where it is.

use crate::Conn;
use suoja_core::{TenantId, Timestamp};

use crate::Result;
use crate::row::{i64_, opt_i64, text};

/// A stored candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MentionRow {
    /// Id.
    pub id: i64,
    /// The request it belongs to.
    pub request_id: i64,
    /// The request's person.
    pub subject_id: i64,
    /// Where the text is: `comment`, `ticket_subject` or `organization`.
    pub source: String,
    /// The comment, ticket or organisation id.
    pub source_id: i64,
    /// The ticket the text is on, if any.
    pub ticket_id: Option<i64>,
    /// `strong` or `weak`.
    pub strength: String,
    /// The classes that matched, comma-separated (`full_name,email`).
    pub classes: String,
    /// `pending`, `accepted` or `rejected`.
    pub state: String,
    /// Who decided.
    pub decided_by: Option<i64>,
    /// When.
    pub decided_at: Option<Timestamp>,
    /// Found.
    pub created_at: Timestamp,
}

const COLS: &str = "id, request_id, subject_id, source, source_id, ticket_id, strength, classes, state, decided_by, decided_at, created_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<MentionRow> {
    Ok(MentionRow {
        id: i64_(r, "id")?,
        request_id: i64_(r, "request_id")?,
        subject_id: i64_(r, "subject_id")?,
        source: text(r, "source")?,
        source_id: i64_(r, "source_id")?,
        ticket_id: opt_i64(r, "ticket_id")?,
        strength: text(r, "strength")?,
        classes: text(r, "classes")?,
        state: text(r, "state")?,
        decided_by: opt_i64(r, "decided_by")?,
        decided_at: opt_i64(r, "decided_at")?.map(Timestamp),
        created_at: Timestamp(i64_(r, "created_at")?),
    })
}

/// Records a candidate unless the request already has one for the same text. Returns whether
/// it was new.
pub async fn insert_new(c: &mut Conn, tenant: TenantId, m: &MentionRow) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO privacy_mentions (tenant_id, request_id, subject_id, source, source_id, ticket_id, strength, classes, state, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (tenant_id, request_id, source, source_id) DO NOTHING",
    )
    .bind(tenant.0)
    .bind(m.request_id)
    .bind(m.subject_id)
    .bind(m.source.clone())
    .bind(m.source_id)
    .bind(m.ticket_id)
    .bind(m.strength.clone())
    .bind(m.classes.clone())
    .bind(m.state.clone())
    .bind(m.created_at.0)
    .execute(c)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// A request's candidates, oldest first.
pub async fn for_request(c: &mut Conn, tenant: TenantId, request: i64) -> Result<Vec<MentionRow>> {
    let sql = format!("SELECT {COLS} FROM privacy_mentions WHERE tenant_id = $1 AND request_id = $2 ORDER BY id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(request).fetch_all(c).await?;
    rows.iter().map(from_row).collect()
}

/// One candidate of a request.
pub async fn by_id(c: &mut Conn, tenant: TenantId, request: i64, id: i64) -> Result<Option<MentionRow>> {
    let sql = format!("SELECT {COLS} FROM privacy_mentions WHERE tenant_id = $1 AND request_id = $2 AND id = $3");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(request)
        .bind(id)
        .fetch_optional(c)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Decides a pending candidate. Returns false (changing nothing) when it was already decided.
pub async fn decide(c: &mut Conn, tenant: TenantId, id: i64, state: &str, by: i64, at: Timestamp) -> Result<bool> {
    let done = sqlx::query("UPDATE privacy_mentions SET state = $3, decided_by = $4, decided_at = $5 WHERE tenant_id = $1 AND id = $2 AND state = 'pending'")
        .bind(tenant.0)
        .bind(id)
        .bind(state.to_string())
        .bind(by)
        .bind(at.0)
        .execute(c)
        .await?;
    Ok(done.rows_affected() > 0)
}
