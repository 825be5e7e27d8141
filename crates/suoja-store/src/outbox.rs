//! Messages to people (verification links, notices, ticket notifications), a queue of jobs the
//! mail sender works through. Bodies are ciphertext under the recipient's key; the address is
//! looked up from the user when sending. A sent message keeps no body: only its Message-ID,
//! kind, ticket and status remain, so replies to it can find their ticket.

use crate::Conn;
use suoja_core::{TenantId, Timestamp};

use crate::Result;
use crate::row::{bytes, i64_, opt_i64, opt_text, text};

/// Waiting to be sent.
pub const QUEUED: &str = "queued";
/// Handed to the mail server.
pub const SENT: &str = "sent";
/// Refused for good (the mail server's answer in `error`), or given up after retries.
pub const FAILED: &str = "failed";

/// A queued message.
#[derive(Debug, Clone)]
pub struct MessageRow {
    /// Id.
    pub id: i64,
    /// Tenant.
    pub tenant: TenantId,
    /// Recipient user id.
    pub user_id: i64,
    /// What it is (`verification_link`, `request_extended`, `ticket_reply`, …).
    pub kind: String,
    /// Sealed body (empty once sent).
    pub body_enc: Vec<u8>,
    /// The ticket it is about.
    pub ticket_id: Option<i64>,
    /// `queued`, `sent` or `failed`.
    pub status: String,
    /// Attempts so far.
    pub attempts: i64,
    /// Its Message-ID (set when first claimed, the same on every retry).
    pub message_id: Option<String>,
    /// The mail server's last answer, as a status code only.
    pub error: Option<String>,
    /// Queued.
    pub created_at: Timestamp,
}

const COLS: &str = "id, tenant_id, user_id, kind, body_enc, ticket_id, status, attempts, message_id, error, created_at";

fn row(r: &sqlx::any::AnyRow) -> Result<MessageRow> {
    Ok(MessageRow {
        id: i64_(r, "id")?,
        tenant: TenantId(i64_(r, "tenant_id")?),
        user_id: i64_(r, "user_id")?,
        kind: text(r, "kind")?,
        body_enc: bytes(r, "body_enc")?,
        ticket_id: opt_i64(r, "ticket_id")?,
        status: text(r, "status")?,
        attempts: i64_(r, "attempts")?,
        message_id: opt_text(r, "message_id")?,
        error: opt_text(r, "error")?,
        created_at: Timestamp(i64_(r, "created_at")?),
    })
}

/// Queues a message.
pub async fn insert(c: &mut Conn, tenant: TenantId, user: i64, kind: &str, body_enc: Vec<u8>, now: Timestamp) -> Result<i64> {
    insert_about(c, tenant, user, kind, None, body_enc, now).await
}

/// Queues a message about a ticket.
pub async fn insert_about(c: &mut Conn, tenant: TenantId, user: i64, kind: &str, ticket: Option<i64>, body_enc: Vec<u8>, now: Timestamp) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO mail_outbox (tenant_id, user_id, kind, body_enc, created_at, ticket_id, status, attempts, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, 'queued', 0, $5) RETURNING id",
    )
    .bind(tenant.0)
    .bind(user)
    .bind(kind.to_string())
    .bind(body_enc)
    .bind(now.0)
    .bind(ticket)
    .fetch_one(c)
    .await?)
}

/// Messages of `kind` about a ticket still waiting to be sent (not yet handed to the server).
pub async fn queued_about(c: &mut Conn, tenant: TenantId, ticket: i64, kind: &str) -> Result<Vec<MessageRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM mail_outbox WHERE tenant_id = $1 AND ticket_id = $2 AND kind = $3 AND status = 'queued' ORDER BY id"
    )))
    .bind(tenant.0)
    .bind(ticket)
    .bind(kind.to_string())
    .fetch_all(c)
    .await?;
    rows.iter().map(row).collect()
}

/// Withdraws a message not yet sent; true when it was still queued.
pub async fn withdraw(c: &mut Conn, tenant: TenantId, id: i64) -> Result<bool> {
    Ok(sqlx::query("DELETE FROM mail_outbox WHERE tenant_id = $1 AND id = $2 AND status = 'queued'")
        .bind(tenant.0)
        .bind(id)
        .execute(c)
        .await?
        .rows_affected()
        == 1)
}

/// Messages queued for one person, oldest first.
pub async fn for_user(c: &mut Conn, tenant: TenantId, user: i64) -> Result<Vec<MessageRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM mail_outbox WHERE tenant_id = $1 AND user_id = $2 ORDER BY id"
    )))
    .bind(tenant.0)
    .bind(user)
    .fetch_all(c)
    .await?;
    rows.iter().map(row).collect()
}

/// Claims up to `limit` messages due now in any tenant, leasing them until `now + lease_ms` and
/// giving each its Message-ID (`make_id(row)`) the first time, in the caller's transaction.
/// Several nodes may claim side by side: PostgreSQL skips rows another node locked, and a row
/// whose lease ran out (its sender died) is claimed again with the same Message-ID.
pub async fn claim(c: &mut Conn, now: Timestamp, lease_ms: i64, limit: i64, make_id: &(dyn Fn(&MessageRow) -> String + Sync)) -> Result<Vec<MessageRow>> {
    let lock = if c.engine() == crate::Engine::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM mail_outbox WHERE status = 'queued' AND next_attempt_at <= $1 AND (leased_until IS NULL OR leased_until < $1) ORDER BY next_attempt_at, id LIMIT $2{lock}"
    )))
    .bind(now.0)
    .bind(limit)
    .fetch_all(&mut *c)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let mut m = row(r)?;
        let id = m.message_id.clone().unwrap_or_else(|| make_id(&m));
        sqlx::query("UPDATE mail_outbox SET leased_until = $3, attempts = attempts + 1, message_id = $4 WHERE tenant_id = $1 AND id = $2")
            .bind(m.tenant.0)
            .bind(m.id)
            .bind(now.0 + lease_ms)
            .bind(id.clone())
            .execute(&mut *c)
            .await?;
        m.attempts += 1;
        m.message_id = Some(id);
        out.push(m);
    }
    Ok(out)
}

/// Marks a message sent and drops its body.
pub async fn mark_sent(c: &mut Conn, tenant: TenantId, id: i64, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE mail_outbox SET status = 'sent', sent_at = $3, body_enc = $4, leased_until = NULL, error = NULL WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .bind(now.0)
        .bind(Vec::<u8>::new())
        .execute(c)
        .await?;
    Ok(())
}

/// Puts a message back for another attempt at `next`, noting the server's answer (a status code).
pub async fn retry_at(c: &mut Conn, tenant: TenantId, id: i64, next: Timestamp, error: &str) -> Result<()> {
    sqlx::query("UPDATE mail_outbox SET next_attempt_at = $3, leased_until = NULL, error = $4 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .bind(next.0)
        .bind(error.to_string())
        .execute(c)
        .await?;
    Ok(())
}

/// Marks a message failed for good and drops its body (nothing will send it).
pub async fn mark_failed(c: &mut Conn, tenant: TenantId, id: i64, error: &str) -> Result<()> {
    sqlx::query("UPDATE mail_outbox SET status = 'failed', body_enc = $3, leased_until = NULL, error = $4 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .bind(Vec::<u8>::new())
        .bind(error.to_string())
        .execute(c)
        .await?;
    Ok(())
}

/// Removes a message (sent confirmations of an erasure go right after sending).
pub async fn delete(c: &mut Conn, tenant: TenantId, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM mail_outbox WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

/// The tenant's messages that failed for good, newest first (for admins).
pub async fn failures(c: &mut Conn, tenant: TenantId, limit: i64) -> Result<Vec<MessageRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM mail_outbox WHERE tenant_id = $1 AND status = 'failed' ORDER BY id DESC LIMIT $2"
    )))
    .bind(tenant.0)
    .bind(limit)
    .fetch_all(c)
    .await?;
    rows.iter().map(row).collect()
}

/// A message Suoja sent, by its Message-ID (without angle brackets).
pub async fn by_message_id(c: &mut Conn, tenant: TenantId, message_id: &str) -> Result<Option<MessageRow>> {
    let r = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM mail_outbox WHERE tenant_id = $1 AND message_id = $2"
    )))
    .bind(tenant.0)
    .bind(message_id.to_string())
    .fetch_optional(c)
    .await?;
    r.as_ref().map(row).transpose()
}

/// The messages about a ticket that failed for good, oldest first.
pub async fn failures_for_ticket(c: &mut Conn, tenant: TenantId, ticket: i64) -> Result<Vec<MessageRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM mail_outbox WHERE tenant_id = $1 AND ticket_id = $2 AND status = 'failed' ORDER BY id"
    )))
    .bind(tenant.0)
    .bind(ticket)
    .fetch_all(c)
    .await?;
    rows.iter().map(row).collect()
}

/// Deletes messages sent or given up before `before` (the outbox keeps them 30 days, for
/// threading replies and for admins to see failures). Returns how many went.
pub async fn purge_finished(c: &mut Conn, before: Timestamp) -> Result<u64> {
    let r = sqlx::query("DELETE FROM mail_outbox WHERE status IN ('sent', 'failed') AND created_at < $1")
        .bind(before.0)
        .execute(c)
        .await?;
    Ok(r.rows_affected())
}
