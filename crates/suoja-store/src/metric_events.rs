//! Ticket metric events (Zendesk's `ticket_metric_events`): when each of a ticket's clocks
//! started, paused, was fulfilled or breached, and which SLA policy applied. The helpdesk
//! derives them from the ticket's history and records what is new as the ticket changes; rows
//! are only added, apart from a breach to come being marked `deleted` once it no longer will
//! happen. Nothing here is personal: ids, metric names, times and targets.

use crate::Conn;
use suoja_core::{TenantId, TicketId, Timestamp};

use crate::Result;
use crate::row::{bool_, i64_, opt_i64, text};

/// One event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricEventRow {
    /// Id (0 before insertion).
    pub id: i64,
    /// The ticket.
    pub ticket_id: TicketId,
    /// Zendesk's metric name (`reply_time`, `agent_work_time`, …).
    pub metric: String,
    /// Which turn of the metric (a reply time has one per reply awaited).
    pub instance_id: i64,
    /// `activate`, `pause`, `fulfill`, `update_status`, `apply_sla` or `breach`.
    pub kind: String,
    /// When it happened (a breach: when the clock does or did miss its target).
    pub time: Timestamp,
    /// The SLA policy applied (`apply_sla`).
    pub policy_id: Option<i64>,
    /// The target in minutes (`apply_sla`).
    pub target: Option<i64>,
    /// Whether the target counts business hours (`apply_sla`).
    pub business_hours: Option<bool>,
    /// Minutes the turn ran, in calendar hours (`update_status`).
    pub calendar_minutes: Option<i64>,
    /// Minutes the turn ran, in business hours (`update_status`).
    pub business_minutes: Option<i64>,
    /// A breach that will no longer happen.
    pub deleted: bool,
    /// When the row was written (0 before insertion).
    pub recorded_at: Timestamp,
}

const COLS: &str =
    "id, ticket_id, metric, instance_id, type, occurred_at, policy_id, target, business_hours, calendar_minutes, business_minutes, deleted, recorded_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<MetricEventRow> {
    Ok(MetricEventRow {
        id: i64_(r, "id")?,
        ticket_id: TicketId(i64_(r, "ticket_id")?),
        metric: text(r, "metric")?,
        instance_id: i64_(r, "instance_id")?,
        kind: text(r, "type")?,
        time: Timestamp(i64_(r, "occurred_at")?),
        policy_id: opt_i64(r, "policy_id")?,
        target: opt_i64(r, "target")?,
        business_hours: opt_i64(r, "business_hours")?.map(|b| b != 0),
        calendar_minutes: opt_i64(r, "calendar_minutes")?,
        business_minutes: opt_i64(r, "business_minutes")?,
        deleted: bool_(r, "deleted")?,
        recorded_at: Timestamp(i64_(r, "recorded_at")?),
    })
}

/// A ticket's events, in the order they were recorded.
pub async fn for_ticket(c: &mut Conn, tenant: TenantId, ticket: TicketId) -> Result<Vec<MetricEventRow>> {
    let sql = format!("SELECT {COLS} FROM ticket_metric_events WHERE tenant_id = $1 AND ticket_id = $2 ORDER BY id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(ticket.0).fetch_all(c).await?;
    rows.iter().map(from_row).collect()
}

/// Records events of a ticket (their ids and `deleted` are not read).
pub async fn insert(c: &mut Conn, tenant: TenantId, events: &[MetricEventRow], recorded_at: Timestamp) -> Result<()> {
    for e in events {
        sqlx::query(
            "INSERT INTO ticket_metric_events (tenant_id, ticket_id, metric, instance_id, type, occurred_at, policy_id, target, business_hours, calendar_minutes, business_minutes, deleted, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12)",
        )
        .bind(tenant.0)
        .bind(e.ticket_id.0)
        .bind(e.metric.clone())
        .bind(e.instance_id)
        .bind(e.kind.clone())
        .bind(e.time.0)
        .bind(e.policy_id)
        .bind(e.target)
        .bind(e.business_hours.map(i64::from))
        .bind(e.calendar_minutes)
        .bind(e.business_minutes)
        .bind(recorded_at.0)
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

/// Marks breaches of a ticket as no longer happening.
pub async fn mark_deleted(c: &mut Conn, tenant: TenantId, ticket: TicketId, ids: &[i64]) -> Result<()> {
    for id in ids {
        sqlx::query("UPDATE ticket_metric_events SET deleted = 1 WHERE tenant_id = $1 AND ticket_id = $2 AND id = $3")
            .bind(tenant.0)
            .bind(ticket.0)
            .bind(*id)
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

/// Marks a ticket's breaches still to come at `now` as no longer happening.
pub async fn call_off_pending(c: &mut Conn, tenant: TenantId, ticket: TicketId, now: Timestamp) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE ticket_metric_events SET deleted = 1 WHERE tenant_id = $1 AND ticket_id = $2 AND type = 'breach' AND deleted = 0 AND occurred_at > $3",
    )
    .bind(tenant.0)
    .bind(ticket.0)
    .bind(now.0)
    .execute(c)
    .await?
    .rows_affected())
}

/// Events that happened at or after `since` and before `until`, after the (time, id) position
/// `after`, oldest first (the time-based export), skipping tickets whose processing is
/// restricted and tickets in the trash.
pub async fn changed_since(
    c: &mut Conn,
    tenant: TenantId,
    since: Timestamp,
    until: Option<Timestamp>,
    after: Option<(i64, i64)>,
    limit: i64,
) -> Result<Vec<MetricEventRow>> {
    let (t, i) = after.unwrap_or((since.0, -1));
    let sql = "SELECT e.id, e.ticket_id, e.metric, e.instance_id, e.type, e.occurred_at, e.policy_id, e.target, e.business_hours, e.calendar_minutes, e.business_minutes, e.deleted, e.recorded_at \
         FROM ticket_metric_events e \
         WHERE e.tenant_id = $1 AND e.occurred_at >= $2 AND e.occurred_at < $5 AND (e.occurred_at > $3 OR (e.occurred_at = $3 AND e.id > $4)) \
         AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.tenant_id = e.tenant_id AND t.id = e.ticket_id AND (t.restricted <> 0 OR t.deleted_at IS NOT NULL)) \
         ORDER BY e.occurred_at, e.id LIMIT $6";
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

/// Deletes a ticket's events (the ticket is deleted for good).
pub async fn delete_for_ticket(c: &mut Conn, tenant: TenantId, ticket: TicketId) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM ticket_metric_events WHERE tenant_id = $1 AND ticket_id = $2")
        .bind(tenant.0)
        .bind(ticket.0)
        .execute(c)
        .await?
        .rows_affected())
}
