//! Job statuses reported to API clients (`/job_statuses/{id}`). Results hold ids only.

use crate::Conn;
use suoja_core::{TenantId, Timestamp};

use crate::Result;
use crate::row::{i64_, opt_text, text};

/// A job status as stored.
#[derive(Debug, Clone)]
pub struct JobStatusRow {
    /// 32-hex id.
    pub id: String,
    /// `queued`, `working`, `completed`, `failed` or `killed`.
    pub status: String,
    /// Items in the job.
    pub total: i64,
    /// Items done.
    pub progress: i64,
    /// A message for people.
    pub message: Option<String>,
    /// JSON array of per-item results (ids, actions, errors; no personal data).
    pub results: String,
    /// Created.
    pub created_at: Timestamp,
}

/// Stores a job status.
pub async fn insert(c: &mut Conn, tenant: TenantId, j: &JobStatusRow) -> Result<()> {
    sqlx::query("INSERT INTO job_statuses (id, tenant_id, status, total, progress, message, results, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)")
        .bind(j.id.clone())
        .bind(tenant.0)
        .bind(j.status.clone())
        .bind(j.total)
        .bind(j.progress)
        .bind(j.message.clone())
        .bind(j.results.clone())
        .bind(j.created_at.0)
        .execute(c)
        .await?;
    Ok(())
}

/// The tenant's job statuses, newest first, at most `limit` (`ids`: only these, in their order).
pub async fn list(c: &mut Conn, tenant: TenantId, ids: Option<&[String]>, limit: i64) -> Result<Vec<JobStatusRow>> {
    let rows =
        match ids {
            None => sqlx::query(
                "SELECT id, status, total, progress, message, results, created_at FROM job_statuses WHERE tenant_id = $1 ORDER BY created_at DESC, id LIMIT $2",
            )
            .bind(tenant.0)
            .bind(limit)
            .fetch_all(c)
            .await?,
            Some(ids) => {
                let mut out = Vec::new();
                for id in ids.iter().take(usize::try_from(limit).unwrap_or(0)) {
                    if let Some(r) = by_id(c, tenant, id).await? {
                        out.push(r);
                    }
                }
                return Ok(out);
            }
        };
    rows.iter()
        .map(|r| {
            Ok(JobStatusRow {
                id: text(r, "id")?,
                status: text(r, "status")?,
                total: i64_(r, "total")?,
                progress: i64_(r, "progress")?,
                message: opt_text(r, "message")?,
                results: text(r, "results")?,
                created_at: Timestamp(i64_(r, "created_at")?),
            })
        })
        .collect()
}

/// Finds a job status.
pub async fn by_id(c: &mut Conn, tenant: TenantId, id: &str) -> Result<Option<JobStatusRow>> {
    let row = sqlx::query("SELECT id, status, total, progress, message, results, created_at FROM job_statuses WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(c)
        .await?;
    row.map(|r| {
        Ok(JobStatusRow {
            id: text(&r, "id")?,
            status: text(&r, "status")?,
            total: i64_(&r, "total")?,
            progress: i64_(&r, "progress")?,
            message: opt_text(&r, "message")?,
            results: text(&r, "results")?,
            created_at: Timestamp(i64_(&r, "created_at")?),
        })
    })
    .transpose()
}
