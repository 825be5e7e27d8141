//! Organisations end users belong to. Organisational data, declared in the data map; the
//! free-text fields are redacted on erasure of a person named in them.

use crate::Conn;
use suoja_core::{GroupId, OrganizationId, TenantId, Timestamp};

use crate::Result;
use crate::row::{bool_, i64_, opt_i64, opt_text, text};

/// An organisation as stored.
#[derive(Debug, Clone)]
pub struct OrgRow {
    /// Id.
    pub id: OrganizationId,
    /// Unique name within the tenant.
    pub name: String,
    /// Details text.
    pub details: Option<String>,
    /// Notes text.
    pub notes: Option<String>,
    /// JSON array of domain names.
    pub domain_names: String,
    /// JSON array of tags.
    pub tags: String,
    /// Integrator's id.
    pub external_id: Option<String>,
    /// Default group.
    pub group_id: Option<GroupId>,
    /// Members see each other's tickets.
    pub shared_tickets: bool,
    /// Members may comment on each other's tickets.
    pub shared_comments: bool,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
    /// Values of the tenant's organisation fields, as a JSON object by field key.
    pub organization_fields: Option<String>,
}

const COLS: &str =
    "id, name, details, notes, domain_names, tags, external_id, group_id, shared_tickets, shared_comments, created_at, updated_at, organization_fields";

fn from_row(r: &sqlx::any::AnyRow) -> Result<OrgRow> {
    Ok(OrgRow {
        id: OrganizationId(i64_(r, "id")?),
        name: text(r, "name")?,
        details: opt_text(r, "details")?,
        notes: opt_text(r, "notes")?,
        domain_names: text(r, "domain_names")?,
        tags: text(r, "tags")?,
        external_id: opt_text(r, "external_id")?,
        group_id: opt_i64(r, "group_id")?.map(GroupId),
        shared_tickets: bool_(r, "shared_tickets")?,
        shared_comments: bool_(r, "shared_comments")?,
        created_at: Timestamp(i64_(r, "created_at")?),
        updated_at: Timestamp(i64_(r, "updated_at")?),
        organization_fields: opt_text(r, "organization_fields")?,
    })
}

/// Inserts an organisation.
pub async fn insert(c: &mut Conn, tenant: TenantId, o: &OrgRow) -> Result<OrganizationId> {
    let id: i64 = sqlx::query_scalar("INSERT INTO organizations (tenant_id, name, details, notes, domain_names, tags, external_id, group_id, shared_tickets, shared_comments, created_at, updated_at, organization_fields) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id")
        .bind(tenant.0)
        .bind(o.name.clone())
        .bind(o.details.clone())
        .bind(o.notes.clone())
        .bind(o.domain_names.clone())
        .bind(o.tags.clone())
        .bind(o.external_id.clone())
        .bind(o.group_id.map(|g| g.0))
        .bind(i64::from(o.shared_tickets))
        .bind(i64::from(o.shared_comments))
        .bind(o.created_at.0)
        .bind(o.updated_at.0)
        .bind(o.organization_fields.clone())
        .fetch_one(c)
        .await?;
    Ok(OrganizationId(id))
}

/// Writes an organisation back.
pub async fn update(c: &mut Conn, tenant: TenantId, o: &OrgRow) -> Result<bool> {
    let done = sqlx::query("UPDATE organizations SET name = $3, details = $4, notes = $5, domain_names = $6, tags = $7, external_id = $8, group_id = $9, shared_tickets = $10, shared_comments = $11, updated_at = $12, organization_fields = $13 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(o.id.0)
        .bind(o.name.clone())
        .bind(o.details.clone())
        .bind(o.notes.clone())
        .bind(o.domain_names.clone())
        .bind(o.tags.clone())
        .bind(o.external_id.clone())
        .bind(o.group_id.map(|g| g.0))
        .bind(i64::from(o.shared_tickets))
        .bind(i64::from(o.shared_comments))
        .bind(o.updated_at.0)
        .bind(o.organization_fields.clone())
        .execute(c)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Finds an organisation.
pub async fn by_id(c: &mut Conn, tenant: TenantId, id: OrganizationId) -> Result<Option<OrgRow>> {
    let sql = format!("SELECT {COLS} FROM organizations WHERE tenant_id = $1 AND id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id.0).fetch_optional(c).await?;
    row.as_ref().map(from_row).transpose()
}

/// [`by_id`] to change the row in the caller's transaction: it stays locked until the
/// transaction ends ([`crate::dialect::row_lock`]).
pub async fn by_id_for_update(c: &mut Conn, tenant: TenantId, id: OrganizationId) -> Result<Option<OrgRow>> {
    let lock = crate::dialect::row_lock(c);
    let sql = format!("SELECT {COLS} FROM organizations WHERE tenant_id = $1 AND id = $2{lock}");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id.0).fetch_optional(c).await?;
    row.as_ref().map(from_row).transpose()
}

/// Finds organisations by name (exact) or external id.
pub async fn search(c: &mut Conn, tenant: TenantId, name: Option<&str>, external_id: Option<&str>) -> Result<Vec<OrgRow>> {
    let sql = format!(
        "SELECT {COLS} FROM organizations WHERE tenant_id = $1 AND ($2 IS NULL OR name = $2) AND ($3 IS NULL OR external_id = $3) ORDER BY id LIMIT 100"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(name.map(str::to_string))
        .bind(external_id.map(str::to_string))
        .fetch_all(c)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Organisations changed at or after `since` (and before `until`), by (updated_at, id), after a
/// cursor position
/// (the incremental export; a tenant's organisations are few, so no index of their own).
pub async fn changed_since(
    c: &mut Conn,
    tenant: TenantId,
    since: Timestamp,
    until: Option<Timestamp>,
    after: Option<(i64, i64)>,
    limit: i64,
) -> Result<Vec<OrgRow>> {
    let (t, i) = after.unwrap_or((since.0, -1));
    let sql = format!(
        "SELECT {COLS} FROM organizations WHERE tenant_id = $1 AND updated_at >= $2 AND updated_at < $5 AND (updated_at > $3 OR (updated_at = $3 AND id > $4)) ORDER BY updated_at, id LIMIT {limit}"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(since.0)
        .bind(t)
        .bind(i)
        .bind(until.map_or(i64::MAX, |u| u.0))
        .fetch_all(c)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Lists organisations by id after a cursor.
pub async fn list(c: &mut Conn, tenant: TenantId, after: Option<i64>, limit: i64, offset: i64) -> Result<Vec<OrgRow>> {
    let sql = format!("SELECT {COLS} FROM organizations WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT {limit} OFFSET {offset}");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(after.unwrap_or(0))
        .fetch_all(c)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Counts organisations.
pub async fn count(c: &mut Conn, tenant: TenantId) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM organizations WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_one(c)
        .await?)
}

/// Deletes an organisation. Its members and tickets are the caller's to take out of it first
/// ([`crate::users::clear_organization`], [`crate::tickets::clear_organization`]).
pub async fn delete(c: &mut Conn, tenant: TenantId, id: OrganizationId) -> Result<bool> {
    let done = sqlx::query("DELETE FROM organizations WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id.0)
        .execute(c)
        .await?;
    Ok(done.rows_affected() > 0)
}
