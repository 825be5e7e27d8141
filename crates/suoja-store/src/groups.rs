//! Agent groups. No personal data.

use crate::Conn;
use suoja_core::{GroupId, TenantId, Timestamp};

use crate::Result;
use crate::row::{i64_, opt_text, text};

/// A group as stored.
#[derive(Debug, Clone)]
pub struct GroupRow {
    /// Id.
    pub id: GroupId,
    /// Unique name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<GroupRow> {
    Ok(GroupRow {
        id: GroupId(i64_(r, "id")?),
        name: text(r, "name")?,
        description: opt_text(r, "description")?,
        created_at: Timestamp(i64_(r, "created_at")?),
        updated_at: Timestamp(i64_(r, "updated_at")?),
    })
}

/// Inserts a group.
pub async fn insert(c: &mut Conn, tenant: TenantId, name: &str, description: Option<&str>, now: Timestamp) -> Result<GroupId> {
    let id: i64 = sqlx::query_scalar("INSERT INTO groups (tenant_id, name, description, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id")
        .bind(tenant.0)
        .bind(name)
        .bind(description.map(str::to_string))
        .bind(now.0)
        .fetch_one(c)
        .await?;
    Ok(GroupId(id))
}

/// Renames or re-describes a group.
pub async fn update(c: &mut Conn, tenant: TenantId, g: &GroupRow) -> Result<bool> {
    let done = sqlx::query("UPDATE groups SET name = $3, description = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(g.id.0)
        .bind(g.name.clone())
        .bind(g.description.clone())
        .bind(g.updated_at.0)
        .execute(c)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Finds a group.
pub async fn by_id(c: &mut Conn, tenant: TenantId, id: GroupId) -> Result<Option<GroupRow>> {
    let row = sqlx::query("SELECT id, name, description, created_at, updated_at FROM groups WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id.0)
        .fetch_optional(c)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Lists groups by id.
pub async fn list(c: &mut Conn, tenant: TenantId, after: Option<i64>, limit: i64, offset: i64) -> Result<Vec<GroupRow>> {
    let sql =
        format!("SELECT id, name, description, created_at, updated_at FROM groups WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT {limit} OFFSET {offset}");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(after.unwrap_or(0))
        .fetch_all(c)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Counts groups.
pub async fn count(c: &mut Conn, tenant: TenantId) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM groups WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_one(c)
        .await?)
}

/// Deletes a group. Its tickets are the caller's to take out of it first
/// ([`crate::tickets::clear_group`]).
pub async fn delete(c: &mut Conn, tenant: TenantId, id: GroupId) -> Result<bool> {
    let done = sqlx::query("DELETE FROM groups WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id.0)
        .execute(c)
        .await?;
    Ok(done.rows_affected() > 0)
}
