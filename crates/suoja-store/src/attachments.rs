//! Attachments: uploaded files, encrypted under the uploader's key, first held by an upload
//! token and then bound to a comment.

use crate::Conn;
use suoja_core::{AttachmentId, CommentId, KeyId, TenantId, TicketId, Timestamp, UserId};

use crate::Result;
use crate::row::{bytes, i64_, opt_i64, text};

/// An attachment's metadata as stored (content read separately).
#[derive(Debug, Clone)]
pub struct AttachmentRow {
    /// Id.
    pub id: AttachmentId,
    /// Key the name and content are encrypted under.
    pub key_id: KeyId,
    /// Who uploaded it.
    pub uploader_id: UserId,
    /// Ticket, once bound.
    pub ticket_id: Option<TicketId>,
    /// Comment, once bound.
    pub comment_id: Option<CommentId>,
    /// Encrypted file name.
    pub file_name_enc: Vec<u8>,
    /// MIME type.
    pub content_type: String,
    /// Size in bytes of the plaintext.
    pub size: i64,
    /// Uploaded.
    pub created_at: Timestamp,
    /// When its content was redacted (the row stays as a placeholder).
    pub redacted_at: Option<Timestamp>,
    /// The blob holding its content, when it is in the blob store (see `blobs`).
    pub blob_key: Option<String>,
}

const COLS: &str = "id, key_id, uploader_id, ticket_id, comment_id, file_name_enc, content_type, size, created_at, redacted_at, blob_key";

pub use crate::blobs::Content;

fn from_row(r: &sqlx::any::AnyRow) -> Result<AttachmentRow> {
    Ok(AttachmentRow {
        id: AttachmentId(i64_(r, "id")?),
        key_id: KeyId(i64_(r, "key_id")?),
        uploader_id: UserId(i64_(r, "uploader_id")?),
        ticket_id: opt_i64(r, "ticket_id")?.map(TicketId),
        comment_id: opt_i64(r, "comment_id")?.map(CommentId),
        file_name_enc: bytes(r, "file_name_enc")?,
        content_type: text(r, "content_type")?,
        size: i64_(r, "size")?,
        created_at: Timestamp(i64_(r, "created_at")?),
        redacted_at: opt_i64(r, "redacted_at")?.map(Timestamp),
        blob_key: crate::row::opt_text(r, "blob_key")?,
    })
}

/// Where a new file belongs: to an upload token (until a comment takes it), or to its comment
/// from the start (mail brings its files with the message).
#[derive(Debug, Clone, Copy)]
pub enum Holder<'a> {
    /// Held by the upload token with this hash.
    Upload(&'a [u8]),
    /// The comment's, on this ticket.
    Comment(TicketId, CommentId),
}

/// Stores a file (its name and content sealed by the caller) where `holder` says.
#[allow(clippy::too_many_arguments, reason = "one argument per column written; a struct would only rename them")]
pub async fn insert(
    c: &mut Conn,
    tenant: TenantId,
    key: KeyId,
    uploader: UserId,
    holder: Holder<'_>,
    file_name_enc: Vec<u8>,
    content_type: &str,
    size: i64,
    content: Content,
    now: Timestamp,
) -> Result<AttachmentId> {
    let (token_hash, ticket, comment) = match holder {
        Holder::Upload(h) => (Some(h.to_vec()), None, None),
        Holder::Comment(t, cm) => (None, Some(t.0), Some(cm.0)),
    };
    let (content_enc, blob_key) = content.into_columns();
    let id: i64 = sqlx::query_scalar("INSERT INTO attachments (tenant_id, key_id, uploader_id, upload_token_hash, ticket_id, comment_id, file_name_enc, content_type, size, content_enc, created_at, blob_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id")
        .bind(tenant.0)
        .bind(key.0)
        .bind(uploader.0)
        .bind(token_hash)
        .bind(ticket)
        .bind(comment)
        .bind(file_name_enc)
        .bind(content_type)
        .bind(size)
        .bind(content_enc)
        .bind(now.0)
        .bind(blob_key)
        .fetch_one(c)
        .await?;
    Ok(AttachmentId(id))
}

/// Unbound attachments held by an upload token.
pub async fn by_token(c: &mut Conn, tenant: TenantId, token_hash: &[u8]) -> Result<Vec<AttachmentRow>> {
    let sql = format!("SELECT {COLS} FROM attachments WHERE tenant_id = $1 AND upload_token_hash = $2 AND comment_id IS NULL ORDER BY id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(token_hash.to_vec())
        .fetch_all(c)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Binds an upload's files to a comment.
pub async fn bind(c: &mut Conn, tenant: TenantId, token_hash: &[u8], ticket: TicketId, comment: CommentId) -> Result<u64> {
    Ok(sqlx::query("UPDATE attachments SET ticket_id = $3, comment_id = $4, upload_token_hash = NULL WHERE tenant_id = $1 AND upload_token_hash = $2 AND comment_id IS NULL")
        .bind(tenant.0)
        .bind(token_hash.to_vec())
        .bind(ticket.0)
        .bind(comment.0)
        .execute(c)
        .await?
        .rows_affected())
}

/// Attachments of several comments.
pub async fn for_comments(c: &mut Conn, tenant: TenantId, comments: &[CommentId]) -> Result<Vec<AttachmentRow>> {
    if comments.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = comments.iter().map(|x| x.0).collect();
    let rows = crate::ids::rows_by_ids(c, tenant, &ids, |marks| {
        format!("SELECT {COLS} FROM attachments WHERE tenant_id = $1 AND comment_id IN ({marks})")
    })
    .await?;
    let mut out = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
    out.sort_by_key(|a: &AttachmentRow| a.id.0);
    Ok(out)
}

/// One attachment's metadata.
pub async fn by_id(c: &mut Conn, tenant: TenantId, id: AttachmentId) -> Result<Option<AttachmentRow>> {
    let sql = format!("SELECT {COLS} FROM attachments WHERE tenant_id = $1 AND id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id.0).fetch_optional(c).await?;
    row.as_ref().map(from_row).transpose()
}

/// One attachment's encrypted content, from the row or its blob.
pub async fn content(c: &mut Conn, blobs: &crate::blobs::Blobs, tenant: TenantId, id: AttachmentId) -> Result<Option<Vec<u8>>> {
    let row: Option<(Vec<u8>, Option<String>)> = sqlx::query_as("SELECT content_enc, blob_key FROM attachments WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id.0)
        .fetch_optional(c)
        .await?;
    match row {
        Some((inline, key)) => blobs.content(key.as_deref(), inline).await,
        None => Ok(None),
    }
}

/// Deletes the files of a ticket.
pub async fn delete_for_ticket(c: &mut Conn, tenant: TenantId, ticket: TicketId) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM attachments WHERE tenant_id = $1 AND ticket_id = $2")
        .bind(tenant.0)
        .bind(ticket.0)
        .execute(c)
        .await?
        .rows_affected())
}

/// Re-seals an attachment under another key (a blob it had goes into the trash).
pub async fn rekey(c: &mut Conn, tenant: TenantId, id: AttachmentId, key: KeyId, file_name_enc: Vec<u8>, content: Content) -> Result<()> {
    let (content_enc, blob_key) = content.into_columns();
    sqlx::query("UPDATE attachments SET key_id = $3, file_name_enc = $4, content_enc = $5, blob_key = $6 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id.0)
        .bind(key.0)
        .bind(file_name_enc)
        .bind(content_enc)
        .bind(blob_key)
        .execute(c)
        .await?;
    Ok(())
}

/// Replaces an attachment's content by `content_enc` (an empty file, sealed, in the row; a blob
/// it had goes into the trash), keeping the row as a placeholder with the given name, type and
/// size. Returns whether it changed (false when already redacted).
#[allow(clippy::too_many_arguments, reason = "one argument per column written; a struct would only rename them")]
pub async fn redact(
    c: &mut Conn,
    tenant: TenantId,
    id: AttachmentId,
    file_name_enc: Vec<u8>,
    content_type: &str,
    size: i64,
    content_enc: Vec<u8>,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE attachments SET file_name_enc = $3, content_type = $4, size = $5, content_enc = $6, redacted_at = $7, blob_key = NULL WHERE tenant_id = $1 AND id = $2 AND redacted_at IS NULL",
    )
    .bind(tenant.0)
    .bind(id.0)
    .bind(file_name_enc)
    .bind(content_type.to_string())
    .bind(size)
    .bind(content_enc)
    .bind(now.0)
    .execute(c)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Bound, unredacted attachments uploaded before `before` whose type starts with one of
/// `types` (all types when empty), oldest first: what the attachment and recording retention
/// policies remove.
pub async fn older_than(c: &mut Conn, tenant: TenantId, before: Timestamp, types: &[&str], exclude: bool, limit: i64) -> Result<Vec<AttachmentRow>> {
    let mut cond = String::new();
    if !types.is_empty() {
        let any = types
            .iter()
            .map(|t| format!("content_type LIKE '{}%'", t.replace('\'', "")))
            .collect::<Vec<_>>()
            .join(" OR ");
        cond = if exclude { format!(" AND NOT ({any})") } else { format!(" AND ({any})") };
    }
    let sql = format!(
        "SELECT {COLS} FROM attachments WHERE tenant_id = $1 AND created_at < $2 AND redacted_at IS NULL AND ticket_id IS NOT NULL{cond} ORDER BY created_at, id LIMIT $3"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(before.0)
        .bind(limit)
        .fetch_all(c)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Bytes a person uploaded since `since` (attached since or not): their upload quota.
pub async fn uploaded_since(c: &mut Conn, tenant: TenantId, uploader: UserId, since: Timestamp) -> Result<(i64, Option<Timestamp>)> {
    let r = sqlx::query("SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) AS total, MIN(created_at) AS oldest FROM attachments WHERE tenant_id = $1 AND uploader_id = $2 AND created_at >= $3")
        .bind(tenant.0)
        .bind(uploader.0)
        .bind(since.0)
        .fetch_one(c)
        .await?;
    Ok((crate::row::i64_(&r, "total")?, crate::row::opt_i64(&r, "oldest")?.map(Timestamp)))
}

/// Deletes, in every tenant, up to `limit` uploads never attached to a comment that were made
/// before `before`; returns how many went.
pub async fn purge_unattached(c: &mut Conn, before: Timestamp, limit: i64) -> Result<u64> {
    let ids: Vec<(i64, i64)> =
        sqlx::query_as("SELECT tenant_id, id FROM attachments WHERE ticket_id IS NULL AND comment_id IS NULL AND created_at < $1 ORDER BY created_at LIMIT $2")
            .bind(before.0)
            .bind(limit)
            .fetch_all(&mut *c)
            .await?;
    let mut n = 0;
    for (tenant, id) in ids {
        n += sqlx::query("DELETE FROM attachments WHERE tenant_id = $1 AND id = $2 AND ticket_id IS NULL")
            .bind(tenant)
            .bind(id)
            .execute(&mut *c)
            .await?
            .rows_affected();
    }
    Ok(n)
}
