//! Export packages waiting to be downloaded: ciphertext under the person's key, with an expiry
//! after which a sweep deletes them.

use sqlx::AnyConnection;
use suoja_core::{TenantId, Timestamp};

use crate::Result;
use crate::row::{bytes, i64_, opt_i64, text};

/// A stored package.
#[derive(Debug, Clone)]
pub struct PackageRow {
    /// Random 32-hex id (also the download handle).
    pub id: String,
    /// The request it answers.
    pub request_id: Option<i64>,
    /// The person.
    pub subject_id: i64,
    /// `json`, `pdf` or `zip`.
    pub format: String,
    /// Sealed content.
    pub content_enc: Vec<u8>,
    /// Plaintext size in bytes.
    pub size: i64,
    /// Built.
    pub created_at: Timestamp,
    /// Deleted after.
    pub expires_at: Timestamp,
    /// Times downloaded.
    pub downloads: i64,
}

/// Stores a package.
pub async fn insert(c: &mut AnyConnection, tenant: TenantId, p: &PackageRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO export_packages (id, tenant_id, request_id, subject_id, format, content_enc, size, created_at, expires_at, downloads) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(p.id.clone())
    .bind(tenant.0)
    .bind(p.request_id)
    .bind(p.subject_id)
    .bind(p.format.clone())
    .bind(p.content_enc.clone())
    .bind(p.size)
    .bind(p.created_at.0)
    .bind(p.expires_at.0)
    .bind(p.downloads)
    .execute(c)
    .await?;
    Ok(())
}

fn row(r: &sqlx::any::AnyRow, with_content: bool) -> Result<PackageRow> {
    Ok(PackageRow {
        id: text(r, "id")?,
        request_id: opt_i64(r, "request_id")?,
        subject_id: i64_(r, "subject_id")?,
        format: text(r, "format")?,
        content_enc: if with_content { bytes(r, "content_enc")? } else { Vec::new() },
        size: i64_(r, "size")?,
        created_at: Timestamp(i64_(r, "created_at")?),
        expires_at: Timestamp(i64_(r, "expires_at")?),
        downloads: i64_(r, "downloads")?,
    })
}

/// A package with its content.
pub async fn by_id(c: &mut AnyConnection, tenant: TenantId, id: &str) -> Result<Option<PackageRow>> {
    let r = sqlx::query(
        "SELECT id, request_id, subject_id, format, content_enc, size, created_at, expires_at, downloads FROM export_packages WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.0)
    .bind(id)
    .fetch_optional(c)
    .await?;
    r.map(|r| row(&r, true)).transpose()
}

/// Packages of a request, without content, newest first.
pub async fn for_request(c: &mut AnyConnection, tenant: TenantId, request: i64) -> Result<Vec<PackageRow>> {
    let rows = sqlx::query("SELECT id, request_id, subject_id, format, size, created_at, expires_at, downloads FROM export_packages WHERE tenant_id = $1 AND request_id = $2 ORDER BY created_at DESC")
        .bind(tenant.0)
        .bind(request)
        .fetch_all(c)
        .await?;
    rows.iter().map(|r| row(r, false)).collect()
}

/// Counts a download.
pub async fn count_download(c: &mut AnyConnection, tenant: TenantId, id: &str) -> Result<()> {
    sqlx::query("UPDATE export_packages SET downloads = downloads + 1 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

/// Deletes a person's packages (their data changed, or they were erased).
pub async fn delete_for_subject(c: &mut AnyConnection, tenant: TenantId, subject: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM export_packages WHERE tenant_id = $1 AND subject_id = $2")
        .bind(tenant.0)
        .bind(subject)
        .execute(c)
        .await?
        .rows_affected())
}

/// Deletes expired packages of every tenant; returns how many.
pub async fn purge_expired(c: &mut AnyConnection, now: Timestamp) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM export_packages WHERE expires_at <= $1")
        .bind(now.0)
        .execute(c)
        .await?
        .rows_affected())
}
