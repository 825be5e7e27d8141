//! Tenants: one row per customer organisation. Holds no personal data.

use crate::Conn;
use suoja_core::{TenantId, Timestamp};

use crate::Result;
use crate::row::{i64_, text};

/// A tenant as stored.
#[derive(Debug, Clone)]
pub struct TenantRow {
    /// Id.
    pub id: TenantId,
    /// Host label that selects the tenant (`acme` in `acme.example.org`).
    pub subdomain: String,
    /// Display name of the organisation.
    pub name: String,
    /// Region the tenant's data is pinned to.
    pub region: String,
}

/// Inserts a tenant.
pub async fn insert(c: &mut Conn, subdomain: &str, name: &str, region: &str, now: Timestamp) -> Result<TenantId> {
    let id: i64 = sqlx::query_scalar("INSERT INTO tenants (subdomain, name, region, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
        .bind(subdomain)
        .bind(name)
        .bind(region)
        .bind(now.0)
        .fetch_one(c)
        .await?;
    Ok(TenantId(id))
}

/// Records the region a tenant's data now lives in (it moved there); whether it was found.
pub async fn set_region(c: &mut Conn, id: TenantId, region: &str) -> Result<bool> {
    let n = sqlx::query("UPDATE tenants SET region = $2 WHERE id = $1")
        .bind(id.0)
        .bind(region)
        .execute(c)
        .await?
        .rows_affected();
    Ok(n == 1)
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<TenantRow> {
    Ok(TenantRow {
        id: TenantId(i64_(r, "id")?),
        subdomain: text(r, "subdomain")?,
        name: text(r, "name")?,
        region: text(r, "region")?,
    })
}

/// Finds a tenant by subdomain.
pub async fn by_subdomain(c: &mut Conn, subdomain: &str) -> Result<Option<TenantRow>> {
    let row = sqlx::query("SELECT id, subdomain, name, region FROM tenants WHERE subdomain = $1")
        .bind(subdomain)
        .fetch_optional(c)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Finds a tenant by id.
pub async fn by_id(c: &mut Conn, id: TenantId) -> Result<Option<TenantRow>> {
    let row = sqlx::query("SELECT id, subdomain, name, region FROM tenants WHERE id = $1")
        .bind(id.0)
        .fetch_optional(c)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The oldest tenant: the one served on hosts that name no tenant (127.0.0.1, localhost).
pub async fn first(c: &mut Conn) -> Result<Option<TenantRow>> {
    let row = sqlx::query("SELECT id, subdomain, name, region FROM tenants ORDER BY id LIMIT 1")
        .fetch_optional(c)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Every tenant, by id.
pub async fn list(c: &mut Conn) -> Result<Vec<TenantRow>> {
    let rows = sqlx::query("SELECT id, subdomain, name, region FROM tenants ORDER BY id").fetch_all(c).await?;
    rows.iter().map(from_row).collect()
}

/// Every tenant's id.
pub async fn ids(c: &mut Conn) -> Result<Vec<TenantId>> {
    let rows: Vec<i64> = sqlx::query_scalar("SELECT id FROM tenants ORDER BY id").fetch_all(c).await?;
    Ok(rows.into_iter().map(TenantId).collect())
}
