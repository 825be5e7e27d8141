//! Agent groups (no personal data) and their memberships (which agents work in which group:
//! staff data, declared in the data map).

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

/// Finds a group to change it, or to add to it, in the caller's transaction: the row stays
/// locked until the transaction ends ([`crate::dialect::row_lock`]).
pub async fn by_id_for_update(c: &mut Conn, tenant: TenantId, id: GroupId) -> Result<Option<GroupRow>> {
    let lock = crate::dialect::row_lock(c);
    let sql = format!("SELECT id, name, description, created_at, updated_at FROM groups WHERE tenant_id = $1 AND id = $2{lock}");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id.0).fetch_optional(c).await?;
    row.as_ref().map(from_row).transpose()
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

/// An agent's membership of a group.
#[derive(Debug, Clone)]
pub struct MembershipRow {
    /// Id.
    pub id: i64,
    /// The agent.
    pub user_id: suoja_core::UserId,
    /// The group.
    pub group_id: GroupId,
    /// The agent's default group.
    pub is_default: bool,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

fn membership(r: &sqlx::any::AnyRow) -> Result<MembershipRow> {
    Ok(MembershipRow {
        id: i64_(r, "id")?,
        user_id: suoja_core::UserId(i64_(r, "user_id")?),
        group_id: GroupId(i64_(r, "group_id")?),
        is_default: i64_(r, "is_default")? != 0,
        created_at: Timestamp(i64_(r, "created_at")?),
        updated_at: Timestamp(i64_(r, "updated_at")?),
    })
}

const MEMBERSHIP: &str = "id, user_id, group_id, is_default, created_at, updated_at";

/// Which memberships a reader sees: of one agent or one group when given, and only of live
/// people who are not restricted (GDPR Art. 18 keeps a restricted agent out of staff's reach).
fn membership_filter(user: Option<suoja_core::UserId>, group: Option<GroupId>) -> String {
    let mut w = String::from("tenant_id = $1 AND user_id IN (SELECT id FROM users WHERE tenant_id = $1 AND deleted_at IS NULL AND restricted = 0)");
    if let Some(u) = user {
        w.push_str(&format!(" AND user_id = {}", u.0));
    }
    if let Some(g) = group {
        w.push_str(&format!(" AND group_id = {}", g.0));
    }
    w
}

/// Memberships, of one agent or one group when given, by id after a cursor (see
/// [`membership_filter`]).
pub async fn memberships(
    c: &mut Conn,
    tenant: TenantId,
    user: Option<suoja_core::UserId>,
    group: Option<GroupId>,
    after: i64,
    limit: i64,
    offset: i64,
) -> Result<Vec<MembershipRow>> {
    let w = membership_filter(user, group);
    let sql = format!("SELECT {MEMBERSHIP} FROM group_memberships WHERE {w} AND id > $2 ORDER BY id LIMIT {limit} OFFSET {offset}");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(after).fetch_all(c).await?;
    rows.iter().map(membership).collect()
}

/// Counts memberships, of one agent or one group when given.
pub async fn count_memberships(c: &mut Conn, tenant: TenantId, user: Option<suoja_core::UserId>, group: Option<GroupId>) -> Result<i64> {
    let w = membership_filter(user, group);
    let sql = format!("SELECT COUNT(*) FROM group_memberships WHERE {w}");
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(tenant.0).fetch_one(c).await?)
}

/// A membership by id (see [`membership_filter`]).
pub async fn membership_by_id(c: &mut Conn, tenant: TenantId, id: i64) -> Result<Option<MembershipRow>> {
    let w = membership_filter(None, None);
    let sql = format!("SELECT {MEMBERSHIP} FROM group_memberships WHERE {w} AND id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id).fetch_optional(c).await?;
    row.as_ref().map(membership).transpose()
}

/// Adds an agent to a group (the pair is unique: a second insert is a `Duplicate`); the first
/// membership of an agent is their default.
pub async fn add_membership(c: &mut Conn, tenant: TenantId, user: suoja_core::UserId, group: GroupId, now: Timestamp) -> Result<i64> {
    let first = count_memberships(c, tenant, Some(user), None).await? == 0;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO group_memberships (tenant_id, user_id, group_id, is_default, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind(tenant.0)
    .bind(user.0)
    .bind(group.0)
    .bind(i64::from(first))
    .bind(now.0)
    .fetch_one(c)
    .await?;
    Ok(id)
}

/// Removes a membership; returns whether it existed. When it was the agent's default, their
/// oldest remaining membership becomes the default.
pub async fn remove_membership(c: &mut Conn, tenant: TenantId, id: i64) -> Result<bool> {
    let Some(gone) = membership_by_id(c, tenant, id).await? else {
        return Ok(false);
    };
    let done = sqlx::query("DELETE FROM group_memberships WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(&mut *c)
        .await?;
    if gone.is_default {
        sqlx::query(
            "UPDATE group_memberships SET is_default = 1 WHERE tenant_id = $1 AND id = (SELECT MIN(id) FROM group_memberships WHERE tenant_id = $1 AND user_id = $2)",
        )
        .bind(tenant.0)
        .bind(gone.user_id.0)
        .execute(c)
        .await?;
    }
    Ok(done.rows_affected() > 0)
}

/// Makes one of an agent's memberships their default and the others not; returns whether the
/// membership is the agent's.
pub async fn make_default(c: &mut Conn, tenant: TenantId, user: suoja_core::UserId, id: i64, now: Timestamp) -> Result<bool> {
    if membership_by_id(c, tenant, id).await?.is_none_or(|m| m.user_id != user) {
        return Ok(false);
    }
    sqlx::query("UPDATE group_memberships SET is_default = CASE WHEN id = $3 THEN 1 ELSE 0 END, updated_at = $4 WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant.0)
        .bind(user.0)
        .bind(id)
        .bind(now.0)
        .execute(c)
        .await?;
    Ok(true)
}

/// Removes a group's memberships (the group is being deleted).
pub async fn remove_group_memberships(c: &mut Conn, tenant: TenantId, group: GroupId) -> Result<u64> {
    let done = sqlx::query("DELETE FROM group_memberships WHERE tenant_id = $1 AND group_id = $2")
        .bind(tenant.0)
        .bind(group.0)
        .execute(c)
        .await?;
    Ok(done.rows_affected())
}

/// Removes an agent's memberships (they are no longer staff).
pub async fn remove_user_memberships(c: &mut Conn, tenant: TenantId, user: suoja_core::UserId) -> Result<u64> {
    let done = sqlx::query("DELETE FROM group_memberships WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant.0)
        .bind(user.0)
        .execute(c)
        .await?;
    Ok(done.rows_affected())
}
