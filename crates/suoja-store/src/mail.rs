//! Mail received: each message kept once (sealed), the people it was also addressed to, and the
//! thread table that maps Message-IDs, as keyed hashes, to their tickets.

use crate::Conn;
use suoja_core::{TenantId, Timestamp};

use crate::Result;
use crate::row::{bytes, i64_, opt_i64};

/// A message received, as stored.
#[derive(Debug, Clone)]
pub struct MailRow {
    /// Id.
    pub id: i64,
    /// The sender (a user of the tenant).
    pub user_id: i64,
    /// The ticket it opened or went to.
    pub ticket_id: i64,
    /// The comment it became.
    pub comment_id: Option<i64>,
    /// The key it is sealed under (its comment's).
    pub key_id: i64,
    /// The raw message, sealed (empty when it is a blob).
    pub raw_enc: Vec<u8>,
    /// The blob holding the sealed message, when it is in the blob store.
    pub blob_key: Option<String>,
    /// Its size in bytes.
    pub size: i64,
    /// Received.
    pub created_at: Timestamp,
}

const COLS: &str = "id, user_id, ticket_id, comment_id, key_id, raw_enc, size, created_at, blob_key";

fn row(r: &sqlx::any::AnyRow) -> Result<MailRow> {
    Ok(MailRow {
        id: i64_(r, "id")?,
        user_id: i64_(r, "user_id")?,
        ticket_id: i64_(r, "ticket_id")?,
        comment_id: opt_i64(r, "comment_id")?,
        key_id: i64_(r, "key_id")?,
        raw_enc: bytes(r, "raw_enc")?,
        blob_key: crate::row::opt_text(r, "blob_key")?,
        size: i64_(r, "size")?,
        created_at: Timestamp(i64_(r, "created_at")?),
    })
}

/// Whether a message with this dedupe hash was stored already.
pub async fn seen(c: &mut Conn, tenant: TenantId, dedupe_hash: &[u8]) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT ticket_id FROM mail_messages WHERE tenant_id = $1 AND dedupe_hash = $2")
            .bind(tenant.0)
            .bind(dedupe_hash.to_vec())
            .fetch_optional(c)
            .await?,
    )
}

/// Stores a message received.
pub async fn insert(c: &mut Conn, tenant: TenantId, m: &MailRow, dedupe_hash: &[u8]) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO mail_messages (tenant_id, user_id, ticket_id, comment_id, key_id, dedupe_hash, raw_enc, size, created_at, blob_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(tenant.0)
    .bind(m.user_id)
    .bind(m.ticket_id)
    .bind(m.comment_id)
    .bind(m.key_id)
    .bind(dedupe_hash.to_vec())
    .bind(m.raw_enc.clone())
    .bind(m.size)
    .bind(m.created_at.0)
    .bind(m.blob_key.clone())
    .fetch_one(c)
    .await?)
}

/// The message a comment came from.
pub async fn for_comment(c: &mut Conn, tenant: TenantId, comment: i64) -> Result<Option<MailRow>> {
    let r = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM mail_messages WHERE tenant_id = $1 AND comment_id = $2"
    )))
    .bind(tenant.0)
    .bind(comment)
    .fetch_optional(c)
    .await?;
    r.as_ref().map(row).transpose()
}

/// Messages a person sent, oldest first.
pub async fn for_user(c: &mut Conn, tenant: TenantId, user: i64) -> Result<Vec<MailRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM mail_messages WHERE tenant_id = $1 AND user_id = $2 ORDER BY id"
    )))
    .bind(tenant.0)
    .bind(user)
    .fetch_all(c)
    .await?;
    rows.iter().map(row).collect()
}

/// How many messages a person sent since `since` (the per-sender rate limit).
pub async fn count_from_since(c: &mut Conn, tenant: TenantId, user: i64, since: Timestamp) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM mail_messages WHERE tenant_id = $1 AND user_id = $2 AND created_at >= $3")
            .bind(tenant.0)
            .bind(user)
            .bind(since.0)
            .fetch_one(c)
            .await?,
    )
}

/// Notes the people a stored message was also addressed to.
pub async fn add_recipients(c: &mut Conn, tenant: TenantId, mail: i64, users: &[i64]) -> Result<()> {
    for u in users {
        sqlx::query("INSERT INTO mail_recipients (tenant_id, mail_id, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(tenant.0)
            .bind(mail)
            .bind(*u)
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

/// Deletes the messages addressed to `user` (their address is in the headers), with their
/// recipient rows. Returns how many messages went.
pub async fn delete_naming(c: &mut Conn, tenant: TenantId, user: i64) -> Result<u64> {
    let r = sqlx::query("DELETE FROM mail_messages WHERE tenant_id = $1 AND id IN (SELECT mail_id FROM mail_recipients WHERE tenant_id = $1 AND user_id = $2)")
        .bind(tenant.0)
        .bind(user)
        .execute(&mut *c)
        .await?;
    sqlx::query("DELETE FROM mail_recipients WHERE tenant_id = $1 AND mail_id NOT IN (SELECT id FROM mail_messages WHERE tenant_id = $1)")
        .bind(tenant.0)
        .execute(c)
        .await?;
    Ok(r.rows_affected())
}

/// Deletes the recipient rows of the messages of one comment or one ticket, before those
/// messages go.
async fn delete_recipients_of(c: &mut Conn, tenant: TenantId, column: &str, value: i64) -> Result<()> {
    let sql = if column == "comment_id" {
        "DELETE FROM mail_recipients WHERE tenant_id = $1 AND mail_id IN (SELECT id FROM mail_messages WHERE tenant_id = $1 AND comment_id = $2)"
    } else {
        "DELETE FROM mail_recipients WHERE tenant_id = $1 AND mail_id IN (SELECT id FROM mail_messages WHERE tenant_id = $1 AND ticket_id = $2)"
    };
    sqlx::query(sql).bind(tenant.0).bind(value).execute(c).await?;
    Ok(())
}

/// Deletes the message a comment came from (a redaction of the comment reaches its raw copy).
/// Returns how many rows went.
pub async fn delete_for_comment(c: &mut Conn, tenant: TenantId, comment: i64) -> Result<u64> {
    delete_recipients_of(c, tenant, "comment_id", comment).await?;
    let r = sqlx::query("DELETE FROM mail_messages WHERE tenant_id = $1 AND comment_id = $2")
        .bind(tenant.0)
        .bind(comment)
        .execute(c)
        .await?;
    Ok(r.rows_affected())
}

/// Deletes a ticket's messages and thread entries. Returns how many messages went.
pub async fn delete_for_ticket(c: &mut Conn, tenant: TenantId, ticket: i64) -> Result<u64> {
    delete_recipients_of(c, tenant, "ticket_id", ticket).await?;
    let r = sqlx::query("DELETE FROM mail_messages WHERE tenant_id = $1 AND ticket_id = $2")
        .bind(tenant.0)
        .bind(ticket)
        .execute(&mut *c)
        .await?;
    sqlx::query("DELETE FROM mail_threads WHERE tenant_id = $1 AND ticket_id = $2")
        .bind(tenant.0)
        .bind(ticket)
        .execute(c)
        .await?;
    Ok(r.rows_affected())
}

/// Notes that the Message-ID with this keyed hash belongs to `ticket` (first writer wins).
pub async fn thread(c: &mut Conn, tenant: TenantId, message_hash: &[u8], ticket: i64, now: Timestamp) -> Result<()> {
    sqlx::query(
        "INSERT INTO mail_threads (tenant_id, message_hash, ticket_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, message_hash) DO NOTHING",
    )
    .bind(tenant.0)
    .bind(message_hash.to_vec())
    .bind(ticket)
    .bind(now.0)
    .execute(c)
    .await?;
    Ok(())
}

/// The ticket of the first of these Message-ID hashes Suoja knows.
pub async fn ticket_of(c: &mut Conn, tenant: TenantId, message_hashes: &[Vec<u8>]) -> Result<Option<i64>> {
    for h in message_hashes {
        let t: Option<i64> = sqlx::query_scalar("SELECT ticket_id FROM mail_threads WHERE tenant_id = $1 AND message_hash = $2")
            .bind(tenant.0)
            .bind(h.clone())
            .fetch_optional(&mut *c)
            .await?;
        if t.is_some() {
            return Ok(t);
        }
    }
    Ok(None)
}

/// Whether a message handled without being stored was noted before.
pub async fn was_seen(c: &mut Conn, tenant: TenantId, dedupe_hash: &[u8]) -> Result<bool> {
    let n: Option<i64> = sqlx::query_scalar("SELECT created_at FROM mail_seen WHERE tenant_id = $1 AND dedupe_hash = $2")
        .bind(tenant.0)
        .bind(dedupe_hash.to_vec())
        .fetch_optional(c)
        .await?;
    Ok(n.is_some())
}

/// Notes a message handled without being stored (mail to the privacy address). Returns false
/// when it was noted before.
pub async fn note_seen(c: &mut Conn, tenant: TenantId, dedupe_hash: &[u8], sender: Option<i64>, now: Timestamp) -> Result<bool> {
    let r = sqlx::query(
        "INSERT INTO mail_seen (tenant_id, dedupe_hash, user_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, dedupe_hash) DO NOTHING",
    )
    .bind(tenant.0)
    .bind(dedupe_hash.to_vec())
    .bind(sender)
    .bind(now.0)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Forgets handled messages noted before `before`. Returns how many.
pub async fn purge_seen(c: &mut Conn, before: Timestamp) -> Result<u64> {
    let r = sqlx::query("DELETE FROM mail_seen WHERE created_at < $1").bind(before.0).execute(c).await?;
    Ok(r.rows_affected())
}

/// A mailbox a tenant's admins added, as stored.
#[derive(Debug, Clone)]
pub struct MailboxRow {
    /// Id.
    pub id: i64,
    /// Its tenant.
    pub tenant: TenantId,
    /// The key its URL is sealed under (the mailbox's own).
    pub key_id: i64,
    /// `{"url": …, "move_to": …}`, sealed.
    pub url_enc: Vec<u8>,
    /// When it was last emptied without an error.
    pub last_ok_at: Option<Timestamp>,
    /// What went wrong last (a kind, never the server's words about a person).
    pub last_error: Option<String>,
    /// Who added it.
    pub created_by: i64,
    /// When.
    pub created_at: Timestamp,
}

const MAILBOX_COLS: &str = "id, tenant_id, key_id, url_enc, last_ok_at, last_error, created_by, created_at";

fn mailbox(r: &sqlx::any::AnyRow) -> Result<MailboxRow> {
    Ok(MailboxRow {
        id: i64_(r, "id")?,
        tenant: TenantId(i64_(r, "tenant_id")?),
        key_id: i64_(r, "key_id")?,
        url_enc: bytes(r, "url_enc")?,
        last_ok_at: opt_i64(r, "last_ok_at")?.map(Timestamp),
        last_error: crate::row::opt_text(r, "last_error")?,
        created_by: i64_(r, "created_by")?,
        created_at: Timestamp(i64_(r, "created_at")?),
    })
}

/// Adds a mailbox.
pub async fn insert_mailbox(c: &mut Conn, tenant: TenantId, key_id: i64, url_enc: &[u8], by: i64, now: Timestamp) -> Result<i64> {
    Ok(
        sqlx::query_scalar("INSERT INTO mail_mailboxes (tenant_id, key_id, url_enc, created_by, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id")
            .bind(tenant.0)
            .bind(key_id)
            .bind(url_enc.to_vec())
            .bind(by)
            .bind(now.0)
            .fetch_one(c)
            .await?,
    )
}

/// A tenant's mailboxes, oldest first.
pub async fn mailboxes(c: &mut Conn, tenant: TenantId) -> Result<Vec<MailboxRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {MAILBOX_COLS} FROM mail_mailboxes WHERE tenant_id = $1 ORDER BY id"
    )))
    .bind(tenant.0)
    .fetch_all(c)
    .await?;
    rows.iter().map(mailbox).collect()
}

/// Every tenant's mailboxes (for the fetcher, which serves them all), by id.
pub async fn all_mailboxes(c: &mut Conn) -> Result<Vec<MailboxRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {MAILBOX_COLS} FROM mail_mailboxes ORDER BY id")))
        .fetch_all(c)
        .await?;
    rows.iter().map(mailbox).collect()
}

/// Removes a mailbox; returns its key (to destroy), if it was there.
pub async fn delete_mailbox(c: &mut Conn, tenant: TenantId, id: i64) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("DELETE FROM mail_mailboxes WHERE tenant_id = $1 AND id = $2 RETURNING key_id")
            .bind(tenant.0)
            .bind(id)
            .fetch_optional(c)
            .await?,
    )
}

/// Takes (or renews) the lease on a mailbox for `owner` until `until`, if nobody else holds
/// it. Whether this node may fetch it now.
pub async fn lease_mailbox(c: &mut Conn, tenant: TenantId, id: i64, owner: &str, until: Timestamp, now: Timestamp) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE mail_mailboxes SET leased_until = $4, lease_owner = $3 WHERE tenant_id = $1 AND id = $2 AND (leased_until < $5 OR lease_owner = $3)",
    )
    .bind(tenant.0)
    .bind(id)
    .bind(owner.to_string())
    .bind(until.0)
    .bind(now.0)
    .execute(c)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Notes how a pass over a mailbox went: `error` is `None` for a pass without one.
pub async fn note_mailbox(c: &mut Conn, tenant: TenantId, id: i64, error: Option<&str>, now: Timestamp) -> Result<()> {
    match error {
        None => sqlx::query("UPDATE mail_mailboxes SET last_ok_at = $3, last_error = NULL WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0)
            .bind(id)
            .bind(now.0),
        Some(e) => sqlx::query("UPDATE mail_mailboxes SET last_error = $3 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0)
            .bind(id)
            .bind(e.to_string()),
    }
    .execute(c)
    .await?;
    Ok(())
}
