//! Business-hours schedules (Zendesk's `business_hours/schedules`): a name, a time zone and the
//! week's opening intervals, with named holidays; and each ticket's next SLA breach, which the
//! helpdesk keeps so views find overdue tickets by index. Nothing here is personal.

use crate::Conn;
use suoja_core::{TenantId, TicketId, Timestamp};

use crate::Result;
use crate::row::{i64_, text};

/// A schedule as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleRow {
    /// Id (0 before insertion).
    pub id: i64,
    /// Name.
    pub name: String,
    /// IANA time zone.
    pub time_zone: String,
    /// The week's intervals as JSON (`[[start, end], …]`, minutes from Sunday 00:00).
    pub intervals: String,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

/// A holiday of a schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolidayRow {
    /// Id (0 before insertion).
    pub id: i64,
    /// Its schedule.
    pub schedule_id: i64,
    /// Name.
    pub name: String,
    /// First day (`YYYY-MM-DD`).
    pub start_date: String,
    /// Last day (`YYYY-MM-DD`), inclusive.
    pub end_date: String,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

fn schedule(r: &sqlx::any::AnyRow) -> Result<ScheduleRow> {
    Ok(ScheduleRow {
        id: i64_(r, "id")?,
        name: text(r, "name")?,
        time_zone: text(r, "time_zone")?,
        intervals: text(r, "intervals")?,
        created_at: Timestamp(i64_(r, "created_at")?),
        updated_at: Timestamp(i64_(r, "updated_at")?),
    })
}

fn holiday(r: &sqlx::any::AnyRow) -> Result<HolidayRow> {
    Ok(HolidayRow {
        id: i64_(r, "id")?,
        schedule_id: i64_(r, "schedule_id")?,
        name: text(r, "name")?,
        start_date: text(r, "start_date")?,
        end_date: text(r, "end_date")?,
        created_at: Timestamp(i64_(r, "created_at")?),
        updated_at: Timestamp(i64_(r, "updated_at")?),
    })
}

/// The tenant's schedules, oldest first (the first is the default).
pub async fn list(c: &mut Conn, tenant: TenantId) -> Result<Vec<ScheduleRow>> {
    let rows = sqlx::query("SELECT id, name, time_zone, intervals, created_at, updated_at FROM schedules WHERE tenant_id = $1 ORDER BY id")
        .bind(tenant.0)
        .fetch_all(c)
        .await?;
    rows.iter().map(schedule).collect()
}

/// One schedule.
pub async fn get(c: &mut Conn, tenant: TenantId, id: i64) -> Result<Option<ScheduleRow>> {
    let row = sqlx::query("SELECT id, name, time_zone, intervals, created_at, updated_at FROM schedules WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(c)
        .await?;
    row.as_ref().map(schedule).transpose()
}

/// How many schedules the tenant has.
pub async fn count(c: &mut Conn, tenant: TenantId) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM schedules WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_one(c)
        .await?)
}

/// Stores a new schedule; returns its id.
pub async fn insert(c: &mut Conn, tenant: TenantId, s: &ScheduleRow) -> Result<i64> {
    Ok(
        sqlx::query_scalar(
            "INSERT INTO schedules (tenant_id, name, time_zone, intervals, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(tenant.0)
        .bind(s.name.clone())
        .bind(s.time_zone.clone())
        .bind(s.intervals.clone())
        .bind(s.created_at.0)
        .bind(s.updated_at.0)
        .fetch_one(c)
        .await?,
    )
}

/// Replaces a schedule's name, zone and intervals; whether it exists.
pub async fn update(c: &mut Conn, tenant: TenantId, s: &ScheduleRow) -> Result<bool> {
    let n = sqlx::query("UPDATE schedules SET name = $3, time_zone = $4, intervals = $5, updated_at = $6 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(s.id)
        .bind(s.name.clone())
        .bind(s.time_zone.clone())
        .bind(s.intervals.clone())
        .bind(s.updated_at.0)
        .execute(c)
        .await?
        .rows_affected();
    Ok(n > 0)
}

/// Removes a schedule and its holidays; whether it existed.
pub async fn delete(c: &mut Conn, tenant: TenantId, id: i64) -> Result<bool> {
    sqlx::query("DELETE FROM schedule_holidays WHERE tenant_id = $1 AND schedule_id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(&mut *c)
        .await?;
    let n = sqlx::query("DELETE FROM schedules WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(c)
        .await?
        .rows_affected();
    Ok(n > 0)
}

/// A schedule's holidays, by first day.
pub async fn holidays(c: &mut Conn, tenant: TenantId, schedule_id: i64) -> Result<Vec<HolidayRow>> {
    let rows = sqlx::query(
        "SELECT id, schedule_id, name, start_date, end_date, created_at, updated_at FROM schedule_holidays \
         WHERE tenant_id = $1 AND schedule_id = $2 ORDER BY start_date, id",
    )
    .bind(tenant.0)
    .bind(schedule_id)
    .fetch_all(c)
    .await?;
    rows.iter().map(holiday).collect()
}

/// Stores a new holiday; returns its id.
pub async fn insert_holiday(c: &mut Conn, tenant: TenantId, h: &HolidayRow) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO schedule_holidays (tenant_id, schedule_id, name, start_date, end_date, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(tenant.0)
    .bind(h.schedule_id)
    .bind(h.name.clone())
    .bind(h.start_date.clone())
    .bind(h.end_date.clone())
    .bind(h.created_at.0)
    .bind(h.updated_at.0)
    .fetch_one(c)
    .await?)
}

/// Replaces a holiday's name and days; whether it exists.
pub async fn update_holiday(c: &mut Conn, tenant: TenantId, h: &HolidayRow) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE schedule_holidays SET name = $4, start_date = $5, end_date = $6, updated_at = $7 \
         WHERE tenant_id = $1 AND schedule_id = $2 AND id = $3",
    )
    .bind(tenant.0)
    .bind(h.schedule_id)
    .bind(h.id)
    .bind(h.name.clone())
    .bind(h.start_date.clone())
    .bind(h.end_date.clone())
    .bind(h.updated_at.0)
    .execute(c)
    .await?
    .rows_affected();
    Ok(n > 0)
}

/// Removes a holiday; whether it existed.
pub async fn delete_holiday(c: &mut Conn, tenant: TenantId, schedule_id: i64, id: i64) -> Result<bool> {
    let n = sqlx::query("DELETE FROM schedule_holidays WHERE tenant_id = $1 AND schedule_id = $2 AND id = $3")
        .bind(tenant.0)
        .bind(schedule_id)
        .bind(id)
        .execute(c)
        .await?
        .rows_affected();
    Ok(n > 0)
}

/// Keeps a ticket's next SLA breach (`None`: no target running).
pub async fn set_breach(c: &mut Conn, tenant: TenantId, ticket: TicketId, at: Option<Timestamp>) -> Result<()> {
    sqlx::query("UPDATE tickets SET sla_breach_at = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(ticket.0)
        .bind(at.map(|t| t.0))
        .execute(c)
        .await?;
    Ok(())
}

/// Keeps a ticket's next SLA breach when the ticket is as it was measured (`updated_at`); a
/// change made since kept its own.
pub async fn set_breach_if_unchanged(c: &mut Conn, tenant: TenantId, ticket: TicketId, at: Option<Timestamp>, seen: Timestamp) -> Result<bool> {
    let n = sqlx::query("UPDATE tickets SET sla_breach_at = $3 WHERE tenant_id = $1 AND id = $2 AND updated_at = $4")
        .bind(tenant.0)
        .bind(ticket.0)
        .bind(at.map(|t| t.0))
        .bind(seen.0)
        .execute(c)
        .await?
        .rows_affected();
    Ok(n > 0)
}

/// A ticket's kept next SLA breach.
pub async fn breach_of(c: &mut Conn, tenant: TenantId, ticket: TicketId) -> Result<Option<Timestamp>> {
    let v: Option<Option<i64>> = sqlx::query_scalar("SELECT sla_breach_at FROM tickets WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(ticket.0)
        .fetch_optional(c)
        .await?;
    Ok(v.flatten().map(Timestamp))
}

/// The tenant's tickets not yet solved, from `after` on by id, at most `limit`, with the SLA
/// breach each keeps (to measure them again when a policy or schedule changes).
pub async fn unsolved_after(c: &mut Conn, tenant: TenantId, after: i64, limit: i64) -> Result<Vec<(crate::tickets::TicketRow, Option<Timestamp>)>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {}, sla_breach_at FROM tickets WHERE tenant_id = $1 AND id > $2 AND status IN ('new', 'open', 'pending', 'hold') \
         AND deleted_at IS NULL ORDER BY id LIMIT $3",
        crate::tickets::COLS
    )))
    .bind(tenant.0)
    .bind(after)
    .bind(limit)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| Ok((crate::tickets::from_row(r)?, crate::row::opt_i64(r, "sla_breach_at")?.map(Timestamp))))
        .collect()
}
