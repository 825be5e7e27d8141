//! Satisfaction ratings: a requester's `good` or `bad` for a solved ticket, with an optional
//! comment (sealed under the requester's key before it arrives here). One row per ticket.

use crate::Conn;
use suoja_core::{KeyId, TenantId, TicketId, Timestamp, UserId};

use crate::Result;
use crate::row::{i64_, opt_bytes, opt_i64, text};

/// A stored rating.
#[derive(Debug, Clone)]
pub struct RatingRow {
    /// Id.
    pub id: i64,
    /// The rated ticket.
    pub ticket_id: TicketId,
    /// Who rated it (the ticket's requester).
    pub requester_id: UserId,
    /// The key the comment is sealed under (the requester's).
    pub key_id: Option<KeyId>,
    /// `good` or `bad`.
    pub score: String,
    /// First rated.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
    /// The comment, sealed.
    pub comment_enc: Option<Vec<u8>>,
}

const COLS: &str = "id, ticket_id, requester_id, key_id, score, created_at, updated_at, comment_enc";

fn from_row(r: &sqlx::any::AnyRow) -> Result<RatingRow> {
    Ok(RatingRow {
        id: i64_(r, "id")?,
        ticket_id: TicketId(i64_(r, "ticket_id")?),
        requester_id: UserId(i64_(r, "requester_id")?),
        key_id: opt_i64(r, "key_id")?.map(KeyId),
        score: text(r, "score")?,
        created_at: Timestamp(i64_(r, "created_at")?),
        updated_at: Timestamp(i64_(r, "updated_at")?),
        comment_enc: opt_bytes(r, "comment_enc")?,
    })
}

/// The rating of a ticket, if any.
pub async fn for_ticket(c: &mut Conn, tenant: TenantId, ticket: TicketId) -> Result<Option<RatingRow>> {
    let sql = format!("SELECT {COLS} FROM satisfaction_ratings WHERE tenant_id = $1 AND ticket_id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(ticket.0).fetch_optional(c).await?;
    row.as_ref().map(from_row).transpose()
}

/// The ratings of some tickets (at most one each).
pub async fn for_tickets(c: &mut Conn, tenant: TenantId, tickets: &[TicketId]) -> Result<Vec<RatingRow>> {
    let ids: Vec<i64> = tickets.iter().map(|t| t.0).collect();
    let rows = crate::ids::rows_by_ids(c, tenant, &ids, |marks| {
        format!("SELECT {COLS} FROM satisfaction_ratings WHERE tenant_id = $1 AND ticket_id IN ({marks})")
    })
    .await?;
    rows.iter().map(from_row).collect()
}

/// Stores a ticket's rating, replacing the one it had (its id and first time stay); returns the
/// row as stored.
pub async fn upsert(c: &mut Conn, tenant: TenantId, r: &RatingRow) -> Result<RatingRow> {
    if let Some(old) = for_ticket(c, tenant, r.ticket_id).await? {
        sqlx::query(
            "UPDATE satisfaction_ratings SET requester_id = $3, key_id = $4, score = $5, updated_at = $6, comment_enc = $7 WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant.0)
        .bind(old.id)
        .bind(r.requester_id.0)
        .bind(r.key_id.map(|k| k.0))
        .bind(r.score.clone())
        .bind(r.updated_at.0)
        .bind(r.comment_enc.clone())
        .execute(c)
        .await?;
        return Ok(RatingRow {
            id: old.id,
            created_at: old.created_at,
            ..r.clone()
        });
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO satisfaction_ratings (tenant_id, ticket_id, requester_id, key_id, score, created_at, updated_at, comment_enc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(tenant.0)
    .bind(r.ticket_id.0)
    .bind(r.requester_id.0)
    .bind(r.key_id.map(|k| k.0))
    .bind(r.score.clone())
    .bind(r.created_at.0)
    .bind(r.updated_at.0)
    .bind(r.comment_enc.clone())
    .fetch_one(c)
    .await?;
    Ok(RatingRow { id, ..r.clone() })
}

/// What a reader of ratings sees: ratings of live, unrestricted tickets by unrestricted
/// people (GDPR Art. 18 keeps a restricted person's rating from staff as their tickets are).
const VISIBLE: &str = "FROM satisfaction_ratings r \
    JOIN tickets t ON t.tenant_id = r.tenant_id AND t.id = r.ticket_id AND t.deleted_at IS NULL AND t.restricted = 0 \
    JOIN users u ON u.tenant_id = r.tenant_id AND u.id = r.requester_id AND u.restricted = 0 \
    WHERE r.tenant_id = $1";

fn score_list(scores: &[&str]) -> Option<String> {
    let scores: Vec<&str> = scores.iter().copied().filter(|s| matches!(*s, "good" | "bad")).collect();
    (!scores.is_empty()).then(|| format!("'{}'", scores.join("','")))
}

/// Visible ratings (see [`VISIBLE`]) with one of `scores`, by id after a cursor, at most
/// `limit` from `offset`.
pub async fn list(c: &mut Conn, tenant: TenantId, scores: &[&str], after: i64, limit: i64, offset: i64) -> Result<Vec<RatingRow>> {
    let Some(scores) = score_list(scores) else {
        return Ok(Vec::new());
    };
    let cols = COLS.split(", ").map(|c| format!("r.{c}")).collect::<Vec<_>>().join(", ");
    let sql = format!("SELECT {cols} {VISIBLE} AND r.id > $2 AND r.score IN ({scores}) ORDER BY r.id LIMIT {limit} OFFSET {offset}");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(after).fetch_all(c).await?;
    rows.iter().map(from_row).collect()
}

/// Counts visible ratings with one of `scores`.
pub async fn count(c: &mut Conn, tenant: TenantId, scores: &[&str]) -> Result<i64> {
    let Some(scores) = score_list(scores) else {
        return Ok(0);
    };
    let sql = format!("SELECT COUNT(*) {VISIBLE} AND r.score IN ({scores})");
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(tenant.0).fetch_one(c).await?)
}

/// A visible rating by id.
pub async fn visible_by_id(c: &mut Conn, tenant: TenantId, id: i64) -> Result<Option<RatingRow>> {
    let cols = COLS.split(", ").map(|c| format!("r.{c}")).collect::<Vec<_>>().join(", ");
    let sql = format!("SELECT {cols} {VISIBLE} AND r.id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id).fetch_optional(c).await?;
    row.as_ref().map(from_row).transpose()
}
