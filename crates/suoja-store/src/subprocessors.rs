//! The sub-processors a tenant uses (GDPR Art. 28(2) and (4)) — organisations, with the service
//! each performs, where, under which safeguard, and from when until when — and the people who
//! asked to hear of new ones in advance (by user id).

use crate::Conn;
use suoja_core::{TenantId, Timestamp};

use crate::Result;
use crate::row::{i64_, opt_i64, text};

/// A sub-processor as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubprocessorRow {
    /// Id.
    pub id: i64,
    /// The organisation.
    pub name: String,
    /// What it does with the data.
    pub service: String,
    /// Where it processes the data.
    pub location: String,
    /// The safeguard for a transfer (adequacy decision, standard contractual clauses, …).
    pub safeguard: String,
    /// From when it processes.
    pub starts_at: Timestamp,
    /// Until when (`None`: still in use).
    pub ends_at: Option<Timestamp>,
    /// Who added it.
    pub created_by: i64,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

const COLS: &str = "id, name, service, location, safeguard, starts_at, ends_at, created_by, created_at, updated_at";

fn row(r: &sqlx::any::AnyRow) -> Result<SubprocessorRow> {
    Ok(SubprocessorRow {
        id: i64_(r, "id")?,
        name: text(r, "name")?,
        service: text(r, "service")?,
        location: text(r, "location")?,
        safeguard: text(r, "safeguard")?,
        starts_at: Timestamp(i64_(r, "starts_at")?),
        ends_at: opt_i64(r, "ends_at")?.map(Timestamp),
        created_by: i64_(r, "created_by")?,
        created_at: Timestamp(i64_(r, "created_at")?),
        updated_at: Timestamp(i64_(r, "updated_at")?),
    })
}

/// Stores a new sub-processor; returns its id.
pub async fn insert(c: &mut Conn, tenant: TenantId, s: &SubprocessorRow) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO subprocessors (tenant_id, name, service, location, safeguard, starts_at, ends_at, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(tenant.0)
    .bind(s.name.clone())
    .bind(s.service.clone())
    .bind(s.location.clone())
    .bind(s.safeguard.clone())
    .bind(s.starts_at.0)
    .bind(s.ends_at.map(|t| t.0))
    .bind(s.created_by)
    .bind(s.created_at.0)
    .bind(s.updated_at.0)
    .fetch_one(c)
    .await?)
}

/// Saves a sub-processor's mutable fields.
pub async fn update(c: &mut Conn, tenant: TenantId, s: &SubprocessorRow) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE subprocessors SET name = $3, service = $4, location = $5, safeguard = $6, ends_at = $7, updated_at = $8 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.0)
    .bind(s.id)
    .bind(s.name.clone())
    .bind(s.service.clone())
    .bind(s.location.clone())
    .bind(s.safeguard.clone())
    .bind(s.ends_at.map(|t| t.0))
    .bind(s.updated_at.0)
    .execute(c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One sub-processor.
pub async fn by_id(c: &mut Conn, tenant: TenantId, id: i64) -> Result<Option<SubprocessorRow>> {
    let r = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM subprocessors WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(tenant.0)
    .bind(id)
    .fetch_optional(c)
    .await?;
    r.as_ref().map(row).transpose()
}

/// Every sub-processor of the tenant, by start.
pub async fn list(c: &mut Conn, tenant: TenantId) -> Result<Vec<SubprocessorRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM subprocessors WHERE tenant_id = $1 ORDER BY starts_at, id LIMIT 1000"
    )))
    .bind(tenant.0)
    .fetch_all(c)
    .await?;
    rows.iter().map(row).collect()
}

/// Subscribes (or, with `on` false, unsubscribes) a person; whether anything changed.
pub async fn subscribe(c: &mut Conn, tenant: TenantId, user: i64, on: bool, now: Timestamp) -> Result<bool> {
    let done = if on {
        sqlx::query("INSERT INTO subprocessor_subscribers (tenant_id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(tenant.0)
            .bind(user)
            .bind(now.0)
            .execute(c)
            .await?
    } else {
        sqlx::query("DELETE FROM subprocessor_subscribers WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant.0)
            .bind(user)
            .execute(c)
            .await?
    };
    Ok(done.rows_affected() == 1)
}

/// Whether a person is subscribed.
pub async fn subscribed(c: &mut Conn, tenant: TenantId, user: i64) -> Result<bool> {
    let n: Option<i64> = sqlx::query_scalar("SELECT 1 FROM subprocessor_subscribers WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant.0)
        .bind(user)
        .fetch_optional(c)
        .await?;
    Ok(n.is_some())
}

/// Every subscriber, by user id.
pub async fn subscribers(c: &mut Conn, tenant: TenantId) -> Result<Vec<i64>> {
    Ok(
        sqlx::query_scalar("SELECT user_id FROM subprocessor_subscribers WHERE tenant_id = $1 ORDER BY user_id")
            .bind(tenant.0)
            .fetch_all(c)
            .await?,
    )
}
