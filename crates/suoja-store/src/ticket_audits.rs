//! A ticket's audits: one row per change (who, through which channel, when) with its events as
//! JSON of types, field names, ids and statuses, and the values that may be personal (subjects,
//! tags, custom field values) sealed together under the ticket's key in `values_enc`. The
//! helpdesk decides what goes where; this module stores and pages the rows.

use crate::Conn;
use suoja_core::{KeyId, TenantId, TicketId, Timestamp};

use crate::Result;
use crate::row::{i64_, opt_bytes, opt_i64, text};

/// A stored audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// Id (0 before insertion).
    pub id: i64,
    /// The ticket.
    pub ticket_id: TicketId,
    /// Who made the change (`None`: Suoja itself, e.g. the retention scheduler).
    pub author_id: Option<i64>,
    /// The channel (`api`, `web`, `email`, `rule`, `merge`).
    pub via: String,
    /// The events as a JSON array (no personal values).
    pub events: String,
    /// The key `values_enc` is sealed under (the ticket's).
    pub key_id: Option<KeyId>,
    /// The personal values of the events, sealed (a JSON object by event index).
    pub values_enc: Option<Vec<u8>>,
    /// When.
    pub created_at: Timestamp,
}

const COLS: &str = "id, ticket_id, author_id, via, events, key_id, values_enc, created_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<AuditRow> {
    Ok(AuditRow {
        id: i64_(r, "id")?,
        ticket_id: TicketId(i64_(r, "ticket_id")?),
        author_id: opt_i64(r, "author_id")?,
        via: text(r, "via")?,
        events: text(r, "events")?,
        key_id: opt_i64(r, "key_id")?.map(KeyId),
        values_enc: opt_bytes(r, "values_enc")?,
        created_at: Timestamp(i64_(r, "created_at")?),
    })
}

/// Records an audit; returns its id.
pub async fn insert(c: &mut Conn, tenant: TenantId, a: &AuditRow) -> Result<i64> {
    let sql = format!(
        "INSERT INTO ticket_audits ({NEW_COLS}) VALUES {} RETURNING id",
        crate::bulk::values(1, 1, NEW_COL_COUNT)
    );
    let row = bind_new(sqlx::query(sqlx::AssertSqlSafe(sql)), tenant, a).fetch_one(c).await?;
    i64_(&row, "id")
}

/// The columns a new row is written with (after its tenant), in the order [`bind_new`] binds them.
const NEW_COLS: &str = "tenant_id, ticket_id, author_id, via, events, key_id, values_enc, created_at";
const NEW_COL_COUNT: usize = 8;

/// Binds a new row's tenant and columns ([`NEW_COLS`]).
fn bind_new<'q>(q: crate::bulk::Statement<'q>, tenant: TenantId, a: &AuditRow) -> crate::bulk::Statement<'q> {
    q.bind(tenant.0)
        .bind(a.ticket_id.0)
        .bind(a.author_id)
        .bind(a.via.clone())
        .bind(a.events.clone())
        .bind(a.key_id.map(|k| k.0))
        .bind(a.values_enc.clone())
        .bind(a.created_at.0)
}

/// Records many audits, in order, in as few statements as the engines' limits allow.
pub async fn insert_many(c: &mut Conn, tenant: TenantId, rows: &[AuditRow]) -> Result<()> {
    const COLS: usize = NEW_COL_COUNT;
    for chunk in crate::bulk::pieces(rows, COLS) {
        let sql = format!("INSERT INTO ticket_audits ({NEW_COLS}) VALUES {}", crate::bulk::values(1, chunk.len(), COLS));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for a in chunk {
            q = bind_new(q, tenant, a);
        }
        q.execute(&mut *c).await?;
    }
    Ok(())
}

/// Which audits a page holds: ids strictly after or before a cursor, oldest or newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditPage {
    /// Only ids above this.
    pub after: Option<i64>,
    /// Only ids below this.
    pub before: Option<i64>,
    /// Newest first.
    pub descending: bool,
    /// At most this many.
    pub limit: i64,
    /// Rows skipped first (offset pagination of one ticket's audits).
    pub offset: i64,
}

/// One page of a ticket's audits.
pub async fn for_ticket(c: &mut Conn, tenant: TenantId, ticket: TicketId, p: AuditPage) -> Result<Vec<AuditRow>> {
    let order = if p.descending { "DESC" } else { "ASC" };
    let sql =
        format!("SELECT {COLS} FROM ticket_audits WHERE tenant_id = $1 AND ticket_id = $2 AND id > $3 AND id < $4 ORDER BY id {order} LIMIT $5 OFFSET $6");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(ticket.0)
        .bind(p.after.unwrap_or(i64::MIN))
        .bind(p.before.unwrap_or(i64::MAX))
        .bind(p.limit)
        .bind(p.offset)
        .fetch_all(c)
        .await?;
    rows.iter().map(from_row).collect()
}

/// One page of the tenant's audits, leaving out those of tickets in the trash or whose
/// processing is restricted (as a ticket's own audits are not shown for them).
pub async fn for_tenant(c: &mut Conn, tenant: TenantId, p: AuditPage) -> Result<Vec<AuditRow>> {
    let order = if p.descending { "DESC" } else { "ASC" };
    let sql = format!(
        "SELECT a.id, a.ticket_id, a.author_id, a.via, a.events, a.key_id, a.values_enc, a.created_at FROM ticket_audits a \
         WHERE a.tenant_id = $1 AND a.id > $2 AND a.id < $3 \
         AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.tenant_id = a.tenant_id AND t.id = a.ticket_id AND (t.restricted <> 0 OR t.deleted_at IS NOT NULL)) \
         ORDER BY a.id {order} LIMIT $4"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(p.after.unwrap_or(i64::MIN))
        .bind(p.before.unwrap_or(i64::MAX))
        .bind(p.limit)
        .fetch_all(c)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Audits written at or after `since` and before `until`, after the `(created_at, id)`
/// position `after`, oldest first: the time-based export of ticket events. Audits of tickets
/// whose processing is restricted are left out.
pub async fn changed_since(
    c: &mut Conn,
    tenant: TenantId,
    since: Timestamp,
    until: Option<Timestamp>,
    after: Option<(i64, i64)>,
    limit: i64,
) -> Result<Vec<AuditRow>> {
    let (t, i) = after.unwrap_or((since.0, -1));
    let sql = "SELECT a.id, a.ticket_id, a.author_id, a.via, a.events, a.key_id, a.values_enc, a.created_at FROM ticket_audits a \
         WHERE a.tenant_id = $1 AND a.created_at >= $2 AND a.created_at < $5 AND (a.created_at > $3 OR (a.created_at = $3 AND a.id > $4)) \
         AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.tenant_id = a.tenant_id AND t.id = a.ticket_id AND t.restricted <> 0) \
         ORDER BY a.created_at, a.id LIMIT $6";
    let rows = sqlx::query(sql)
        .bind(tenant.0)
        .bind(since.0)
        .bind(t)
        .bind(i)
        .bind(until.map_or(i64::MAX, |u| u.0))
        .bind(limit)
        .fetch_all(c)
        .await?;
    rows.iter().map(from_row).collect()
}

/// One audit of a ticket.
pub async fn by_id(c: &mut Conn, tenant: TenantId, ticket: TicketId, id: i64) -> Result<Option<AuditRow>> {
    let sql = format!("SELECT {COLS} FROM ticket_audits WHERE tenant_id = $1 AND ticket_id = $2 AND id = $3");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(ticket.0)
        .bind(id)
        .fetch_optional(c)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The audits of a ticket that added comments, as (id, events), oldest first.
pub async fn with_comments(c: &mut Conn, tenant: TenantId, ticket: TicketId) -> Result<Vec<(i64, String)>> {
    let rows = sqlx::query("SELECT id, events FROM ticket_audits WHERE tenant_id = $1 AND ticket_id = $2 AND events LIKE '%\"Comment\"%' ORDER BY id")
        .bind(tenant.0)
        .bind(ticket.0)
        .fetch_all(c)
        .await?;
    rows.iter().map(|r| Ok((i64_(r, "id")?, text(r, "events")?))).collect()
}

/// How many audits a ticket has.
pub async fn count_for_ticket(c: &mut Conn, tenant: TenantId, ticket: TicketId) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM ticket_audits WHERE tenant_id = $1 AND ticket_id = $2")
        .bind(tenant.0)
        .bind(ticket.0)
        .fetch_one(c)
        .await?)
}

/// A ticket's audits that carry sealed values, oldest first (what a redaction or an erasure
/// rewrites, and what the ticket's index reads).
pub async fn with_values(c: &mut Conn, tenant: TenantId, ticket: TicketId) -> Result<Vec<AuditRow>> {
    let sql = format!("SELECT {COLS} FROM ticket_audits WHERE tenant_id = $1 AND ticket_id = $2 AND values_enc IS NOT NULL ORDER BY id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(ticket.0).fetch_all(c).await?;
    rows.iter().map(from_row).collect()
}

/// Replaces an audit's sealed values (and the key they are sealed under).
pub async fn set_values(c: &mut Conn, tenant: TenantId, id: i64, key: Option<KeyId>, values_enc: Option<Vec<u8>>) -> Result<bool> {
    Ok(
        sqlx::query("UPDATE ticket_audits SET key_id = $3, values_enc = $4 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0)
            .bind(id)
            .bind(key.map(|k| k.0))
            .bind(values_enc)
            .execute(c)
            .await?
            .rows_affected()
            > 0,
    )
}

/// Every audit of a ticket, oldest first.
pub async fn all_for_ticket(c: &mut Conn, tenant: TenantId, ticket: TicketId) -> Result<Vec<AuditRow>> {
    let sql = format!("SELECT {COLS} FROM ticket_audits WHERE tenant_id = $1 AND ticket_id = $2 ORDER BY id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(ticket.0).fetch_all(c).await?;
    rows.iter().map(from_row).collect()
}

/// Replaces an audit's events.
pub async fn set_events(c: &mut Conn, tenant: TenantId, id: i64, events: &str) -> Result<bool> {
    Ok(sqlx::query("UPDATE ticket_audits SET events = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .bind(events.to_string())
        .execute(c)
        .await?
        .rows_affected()
        > 0)
}

/// Deletes a ticket's audits (the ticket is being deleted).
pub async fn delete_for_ticket(c: &mut Conn, tenant: TenantId, ticket: TicketId) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM ticket_audits WHERE tenant_id = $1 AND ticket_id = $2")
        .bind(tenant.0)
        .bind(ticket.0)
        .execute(c)
        .await?
        .rows_affected())
}

/// The audits of a ticket that change its status, oldest first: when, and the events (JSON).
/// What SLA clocks read, without the sealed values.
pub async fn status_changes(c: &mut Conn, tenant: TenantId, ticket: TicketId) -> Result<Vec<(Timestamp, String)>> {
    let rows = sqlx::query(
        "SELECT created_at, events FROM ticket_audits WHERE tenant_id = $1 AND ticket_id = $2 AND events LIKE '%\"field_name\":\"status\"%' ORDER BY created_at, id",
    )
    .bind(tenant.0)
    .bind(ticket.0)
    .fetch_all(c)
    .await?;
    rows.iter().map(|r| Ok((Timestamp(i64_(r, "created_at")?), text(r, "events")?))).collect()
}
