//! Ticket comments: public replies and internal notes. Bodies are ciphertext.

use crate::Conn;
use suoja_core::{CommentId, KeyId, TenantId, TicketId, Timestamp, UserId};

use crate::Result;
use crate::row::{bool_, bytes, i64_, opt_bytes, text};

/// A comment as stored.
#[derive(Debug, Clone)]
pub struct CommentRow {
    /// Id.
    pub id: CommentId,
    /// Ticket.
    pub ticket_id: TicketId,
    /// Author.
    pub author_id: UserId,
    /// Key the body is encrypted under.
    pub key_id: KeyId,
    /// Public reply (true) or internal note (false).
    pub public: bool,
    /// Encrypted plain-text body.
    pub body_enc: Vec<u8>,
    /// Encrypted sanitised HTML body, when the author sent HTML.
    pub html_enc: Option<Vec<u8>>,
    /// Channel.
    pub via: String,
    /// Created.
    pub created_at: Timestamp,
}

const COLS: &str = "id, ticket_id, author_id, key_id, public, body_enc, html_enc, via, created_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<CommentRow> {
    Ok(CommentRow {
        id: CommentId(i64_(r, "id")?),
        ticket_id: TicketId(i64_(r, "ticket_id")?),
        author_id: UserId(i64_(r, "author_id")?),
        key_id: KeyId(i64_(r, "key_id")?),
        public: bool_(r, "public")?,
        body_enc: bytes(r, "body_enc")?,
        html_enc: opt_bytes(r, "html_enc")?,
        via: text(r, "via")?,
        created_at: Timestamp(i64_(r, "created_at")?),
    })
}

/// Inserts a comment.
pub async fn insert(c: &mut Conn, tenant: TenantId, m: &CommentRow) -> Result<CommentId> {
    let sql = format!(
        "INSERT INTO comments ({NEW_COLS}) VALUES {} RETURNING id",
        crate::bulk::values(1, 1, NEW_COL_COUNT)
    );
    let row = bind_new(sqlx::query(sqlx::AssertSqlSafe(sql)), tenant, m).fetch_one(c).await?;
    Ok(CommentId(i64_(&row, "id")?))
}

/// The columns a new row is written with (after its tenant), in the order [`bind_new`] binds them.
const NEW_COLS: &str = "tenant_id, ticket_id, author_id, key_id, public, body_enc, html_enc, via, created_at";
const NEW_COL_COUNT: usize = 9;

/// Binds a new row's tenant and columns ([`NEW_COLS`]).
fn bind_new<'q>(q: crate::bulk::Statement<'q>, tenant: TenantId, m: &CommentRow) -> crate::bulk::Statement<'q> {
    q.bind(tenant.0)
        .bind(m.ticket_id.0)
        .bind(m.author_id.0)
        .bind(m.key_id.0)
        .bind(i64::from(m.public))
        .bind(m.body_enc.clone())
        .bind(m.html_enc.clone())
        .bind(m.via.clone())
        .bind(m.created_at.0)
}

/// Inserts comments whose ids were handed out by [`crate::bulk::reserve_ids`], in as few
/// statements as the engines' limits allow (imports and seeding).
pub async fn insert_many(c: &mut Conn, tenant: TenantId, rows: &[CommentRow]) -> Result<()> {
    const COLS: usize = NEW_COL_COUNT + 1;
    for chunk in crate::bulk::pieces(rows, COLS) {
        let sql = format!("INSERT INTO comments ({NEW_COLS}, id) VALUES {}", crate::bulk::values(1, chunk.len(), COLS));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for m in chunk {
            q = bind_new(q, tenant, m).bind(m.id.0);
        }
        q.execute(&mut *c).await?;
    }
    Ok(())
}

/// Which comments of a ticket to read.
#[derive(Debug, Clone, Copy)]
pub struct CommentQuery {
    /// Only public replies (what end users see).
    pub public_only: bool,
    /// Only ids after (ascending) or before (descending) this one.
    pub after: Option<i64>,
    /// Newest first.
    pub descending: bool,
    /// At most this many.
    pub limit: i64,
    /// Skipping this many.
    pub offset: i64,
}

impl CommentQuery {
    /// Every comment, oldest first.
    pub const ALL: CommentQuery = CommentQuery {
        public_only: false,
        after: None,
        descending: false,
        limit: 1_000_000,
        offset: 0,
    };
}

/// Comments of a ticket in creation order, optionally only public ones, after a cursor.
pub async fn for_ticket(c: &mut Conn, tenant: TenantId, ticket: TicketId, q: CommentQuery) -> Result<Vec<CommentRow>> {
    let CommentQuery {
        public_only,
        after,
        descending,
        limit,
        offset,
    } = q;
    let mut w = String::from("tenant_id = $1 AND ticket_id = $2");
    if public_only {
        w.push_str(" AND public = 1");
    }
    if let Some(a) = after {
        w.push_str(&format!(" AND id {} {a}", if descending { "<" } else { ">" }));
    }
    let order = if descending { "DESC" } else { "ASC" };
    let sql = format!("SELECT {COLS} FROM comments WHERE {w} ORDER BY id {order} LIMIT {limit} OFFSET {offset}");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(ticket.0).fetch_all(c).await?;
    rows.iter().map(from_row).collect()
}

/// Counts a ticket's comments.
pub async fn count_for_ticket(c: &mut Conn, tenant: TenantId, ticket: TicketId, public_only: bool) -> Result<i64> {
    let sql = if public_only {
        "SELECT COUNT(*) FROM comments WHERE tenant_id = $1 AND ticket_id = $2 AND public = 1"
    } else {
        "SELECT COUNT(*) FROM comments WHERE tenant_id = $1 AND ticket_id = $2"
    };
    Ok(sqlx::query_scalar(sql).bind(tenant.0).bind(ticket.0).fetch_one(c).await?)
}

/// Deletes every comment of a ticket.
pub async fn delete_for_ticket(c: &mut Conn, tenant: TenantId, ticket: TicketId) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM comments WHERE tenant_id = $1 AND ticket_id = $2")
        .bind(tenant.0)
        .bind(ticket.0)
        .execute(c)
        .await?
        .rows_affected())
}

/// Re-seals a comment under another key.
pub async fn rekey(c: &mut Conn, tenant: TenantId, id: CommentId, key: KeyId, body_enc: Vec<u8>, html_enc: Option<Vec<u8>>) -> Result<bool> {
    let done = sqlx::query("UPDATE comments SET key_id = $3, body_enc = $4, html_enc = $5 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id.0)
        .bind(key.0)
        .bind(body_enc)
        .bind(html_enc)
        .execute(c)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Whether a comment is public.
pub async fn is_public(c: &mut Conn, tenant: TenantId, id: CommentId) -> Result<bool> {
    let v: Option<i64> = sqlx::query_scalar("SELECT public FROM comments WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id.0)
        .fetch_optional(c)
        .await?;
    Ok(v == Some(1))
}

/// One comment.
pub async fn by_id(c: &mut Conn, tenant: TenantId, id: CommentId) -> Result<Option<CommentRow>> {
    let sql = format!("SELECT {COLS} FROM comments WHERE tenant_id = $1 AND id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id.0).fetch_optional(c).await?;
    row.as_ref().map(from_row).transpose()
}

/// Makes a public comment private (an internal note); true when it was public.
pub async fn make_private(c: &mut Conn, tenant: TenantId, id: CommentId) -> Result<bool> {
    Ok(sqlx::query("UPDATE comments SET public = 0 WHERE tenant_id = $1 AND id = $2 AND public <> 0")
        .bind(tenant.0)
        .bind(id.0)
        .execute(c)
        .await?
        .rows_affected()
        == 1)
}

/// A ticket's comments as SLA clocks read them, oldest first: when, by whom, public or not.
pub async fn timeline(c: &mut Conn, tenant: TenantId, ticket: TicketId) -> Result<Vec<(Timestamp, UserId, bool)>> {
    let rows = sqlx::query("SELECT created_at, author_id, public FROM comments WHERE tenant_id = $1 AND ticket_id = $2 ORDER BY created_at, id")
        .bind(tenant.0)
        .bind(ticket.0)
        .fetch_all(c)
        .await?;
    rows.iter()
        .map(|r| Ok((Timestamp(i64_(r, "created_at")?), UserId(i64_(r, "author_id")?), bool_(r, "public")?)))
        .collect()
}
