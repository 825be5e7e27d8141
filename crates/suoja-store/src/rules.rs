//! Business rules: views and macros (Zendesk's `views` and `macros`). A rule holds what its
//! writer typed — a title, a description and its definition as JSON — never a person's values.
//! A personal rule names its agent in `owner_id`; a default rule Suoja adds for every tenant
//! has a `rule_key`, unique per kind.

use crate::Conn;
use suoja_core::{TenantId, Timestamp, UserId};

use crate::Result;
use crate::row::{bool_, i64_, opt_i64, opt_text, text};

/// A rule as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleRow {
    /// Id.
    pub id: i64,
    /// `view` or `macro`.
    pub kind: String,
    /// A default rule's key (`mine`, `unassigned`, …); `None` for the ones people add.
    pub key: Option<String>,
    /// The agent a personal rule belongs to; `None`: shared by the team.
    pub owner_id: Option<UserId>,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// In use.
    pub active: bool,
    /// Order among the kind's rules.
    pub position: i64,
    /// The definition as JSON (conditions, columns and order; or actions).
    pub definition: String,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

const COLS: &str = "id, kind, rule_key, owner_id, title, description, active, position, definition, created_at, updated_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<RuleRow> {
    Ok(RuleRow {
        id: i64_(r, "id")?,
        kind: text(r, "kind")?,
        key: opt_text(r, "rule_key")?,
        owner_id: opt_i64(r, "owner_id")?.map(UserId),
        title: text(r, "title")?,
        description: text(r, "description")?,
        active: bool_(r, "active")?,
        position: i64_(r, "position")?,
        definition: text(r, "definition")?,
        created_at: Timestamp(i64_(r, "created_at")?),
        updated_at: Timestamp(i64_(r, "updated_at")?),
    })
}

/// Serialises adding rules of a kind for a tenant until the caller's transaction ends, so a
/// count taken before an insert stays true (SQLite has one writer; PostgreSQL takes a
/// transaction lock on the tenant's rules).
pub async fn lock_for_insert(c: &mut Conn, tenant: TenantId) -> Result<()> {
    if c.engine() == crate::Engine::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(7002, CAST($1 AS INTEGER))")
            .bind(tenant.0)
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

/// Inserts a rule (its `id` is ignored) and returns its id. A default rule whose key the
/// tenant already has is left as it is and `None` is returned.
pub async fn insert(c: &mut Conn, tenant: TenantId, r: &RuleRow) -> Result<Option<i64>> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO business_rules (tenant_id, kind, rule_key, owner_id, title, description, active, position, definition, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(tenant.0)
    .bind(r.kind.clone())
    .bind(r.key.clone())
    .bind(r.owner_id.map(|u| u.0))
    .bind(r.title.clone())
    .bind(r.description.clone())
    .bind(i64::from(r.active))
    .bind(r.position)
    .bind(r.definition.clone())
    .bind(r.created_at.0)
    .bind(r.updated_at.0)
    .fetch_optional(c)
    .await?;
    Ok(id)
}

/// Writes a rule's changeable columns back (its kind, key and owner stay).
pub async fn update(c: &mut Conn, tenant: TenantId, r: &RuleRow) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE business_rules SET title = $4, description = $5, active = $6, position = $7, definition = $8, updated_at = CASE WHEN updated_at >= $9 THEN updated_at + 1 ELSE $9 END \
         WHERE tenant_id = $1 AND kind = $2 AND id = $3",
    )
    .bind(tenant.0)
    .bind(r.kind.clone())
    .bind(r.id)
    .bind(r.title.clone())
    .bind(r.description.clone())
    .bind(i64::from(r.active))
    .bind(r.position)
    .bind(r.definition.clone())
    .bind(r.updated_at.0)
    .execute(c)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// One rule of a kind; `lock` takes it for update (PostgreSQL).
pub async fn get(c: &mut Conn, tenant: TenantId, kind: &str, id: i64, lock: bool) -> Result<Option<RuleRow>> {
    let lock = if lock { crate::dialect::row_lock(c) } else { "" };
    let sql = format!("SELECT {COLS} FROM business_rules WHERE tenant_id = $1 AND kind = $2 AND id = $3{lock}");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(kind.to_string())
        .bind(id)
        .fetch_optional(c)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The rules of a kind `reader` sees — the shared ones and their own personal ones — in their
/// order (position, then id).
pub async fn list(c: &mut Conn, tenant: TenantId, kind: &str, reader: UserId) -> Result<Vec<RuleRow>> {
    let sql = format!("SELECT {COLS} FROM business_rules WHERE tenant_id = $1 AND kind = $2 AND (owner_id IS NULL OR owner_id = $3) ORDER BY position, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(kind.to_string())
        .bind(reader.0)
        .fetch_all(c)
        .await?;
    rows.iter().map(from_row).collect()
}

/// How many rules of a kind belong to `owner` (`None`: the shared ones).
pub async fn count(c: &mut Conn, tenant: TenantId, kind: &str, owner: Option<UserId>) -> Result<i64> {
    let q = match owner {
        Some(_) => "SELECT COUNT(*) FROM business_rules WHERE tenant_id = $1 AND kind = $2 AND owner_id = $3",
        None => "SELECT COUNT(*) FROM business_rules WHERE tenant_id = $1 AND kind = $2 AND owner_id IS NULL AND $3 = 0",
    };
    Ok(sqlx::query_scalar(q)
        .bind(tenant.0)
        .bind(kind.to_string())
        .bind(owner.map_or(0, |u| u.0))
        .fetch_one(c)
        .await?)
}

/// How many default rules (with a key) of a kind the tenant has.
pub async fn count_defaults(c: &mut Conn, tenant: TenantId, kind: &str) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM business_rules WHERE tenant_id = $1 AND kind = $2 AND rule_key IS NOT NULL")
            .bind(tenant.0)
            .bind(kind.to_string())
            .fetch_one(c)
            .await?,
    )
}

/// The highest position among a kind's rules (0 when there are none).
pub async fn last_position(c: &mut Conn, tenant: TenantId, kind: &str) -> Result<i64> {
    let p: Option<i64> = sqlx::query_scalar("SELECT MAX(position) FROM business_rules WHERE tenant_id = $1 AND kind = $2")
        .bind(tenant.0)
        .bind(kind.to_string())
        .fetch_one(c)
        .await?;
    Ok(p.unwrap_or(0))
}

/// Removes a rule.
pub async fn delete(c: &mut Conn, tenant: TenantId, kind: &str, id: i64) -> Result<bool> {
    let done = sqlx::query("DELETE FROM business_rules WHERE tenant_id = $1 AND kind = $2 AND id = $3")
        .bind(tenant.0)
        .bind(kind.to_string())
        .bind(id)
        .execute(c)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Makes a rule personal to `owner`, or shared (`None`).
pub async fn set_owner(c: &mut Conn, tenant: TenantId, kind: &str, id: i64, owner: Option<UserId>) -> Result<bool> {
    let done = sqlx::query("UPDATE business_rules SET owner_id = $4, updated_at = updated_at + 1 WHERE tenant_id = $1 AND kind = $2 AND id = $3")
        .bind(tenant.0)
        .bind(kind.to_string())
        .bind(id)
        .bind(owner.map(|u| u.0))
        .execute(c)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// The shared rules of a kind in use, in order (triggers, as an update runs them).
pub async fn list_active_shared(c: &mut Conn, tenant: TenantId, kind: &str) -> Result<Vec<RuleRow>> {
    let sql = format!("SELECT {COLS} FROM business_rules WHERE tenant_id = $1 AND kind = $2 AND owner_id IS NULL AND active = 1 ORDER BY position, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(kind.to_string()).fetch_all(c).await?;
    rows.iter().map(from_row).collect()
}

/// Puts a default rule in or out of use.
pub async fn set_active_by_key(c: &mut Conn, tenant: TenantId, kind: &str, key: &str, active: bool, now: Timestamp) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE business_rules SET active = $4, updated_at = CASE WHEN updated_at >= $5 THEN updated_at + 1 ELSE $5 END \
         WHERE tenant_id = $1 AND kind = $2 AND rule_key = $3 AND active <> $4",
    )
    .bind(tenant.0)
    .bind(kind.to_string())
    .bind(key.to_string())
    .bind(i64::from(active))
    .bind(now.0)
    .execute(c)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Moves a rule to a place in its kind's order.
pub async fn set_position(c: &mut Conn, tenant: TenantId, kind: &str, id: i64, position: i64, now: Timestamp) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE business_rules SET position = $4, updated_at = CASE WHEN updated_at >= $5 THEN updated_at + 1 ELSE $5 END \
         WHERE tenant_id = $1 AND kind = $2 AND id = $3",
    )
    .bind(tenant.0)
    .bind(kind.to_string())
    .bind(id)
    .bind(position)
    .bind(now.0)
    .execute(c)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// [`version`] of two kinds of rules, and the same of the tenant's webhooks (their count, and
/// the sums of their change times and ids), in one read: what a ticket's change consults
/// (its triggers, its SLA policies, the webhooks it may call) is kept between requests and
/// read again only when its version moved.
pub async fn versions(c: &mut Conn, tenant: TenantId, kinds: [&str; 2]) -> Result<([(i64, i64, i64); 2], (i64, i64, i64))> {
    let rows = sqlx::query(
        "SELECT 0 AS src, kind, COUNT(*) AS n, CAST(COALESCE(SUM(updated_at), 0) AS BIGINT) AS latest, \
         CAST(COALESCE(SUM(id), 0) AS BIGINT) AS ids FROM business_rules WHERE tenant_id = $1 AND kind IN ($2, $3) GROUP BY kind \
         UNION ALL \
         SELECT 1 AS src, '' AS kind, COUNT(*) AS n, CAST(COALESCE(SUM(updated_at), 0) AS BIGINT) AS latest, \
         CAST(COALESCE(SUM(id), 0) AS BIGINT) AS ids FROM webhooks WHERE tenant_id = $1",
    )
    .bind(tenant.0)
    .bind(kinds[0].to_string())
    .bind(kinds[1].to_string())
    .fetch_all(c)
    .await?;
    let mut rules = [(0, 0, 0); 2];
    let mut webhooks = (0, 0, 0);
    for r in &rows {
        let v = (i64_(r, "n")?, i64_(r, "latest")?, i64_(r, "ids")?);
        if i64_(r, "src")? == 1 {
            webhooks = v;
        } else {
            let kind = text(r, "kind")?;
            for (k, slot) in kinds.iter().zip(rules.iter_mut()) {
                if *k == kind {
                    *slot = v;
                }
            }
        }
    }
    Ok((rules, webhooks))
}

/// What changes whenever a rule of the kind is added, changed or removed: how many there are,
/// and the sums of their times of change and of their ids. Every change moves a rule's time
/// forward, by a millisecond at least (two changes within one would otherwise leave the sum
/// as it was); a cache of parsed rules compares it.
pub async fn version(c: &mut Conn, tenant: TenantId, kind: &str) -> Result<(i64, i64, i64)> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(updated_at), 0) AS BIGINT) AS latest, CAST(COALESCE(SUM(id), 0) AS BIGINT) AS ids \
         FROM business_rules WHERE tenant_id = $1 AND kind = $2",
    )
    .bind(tenant.0)
    .bind(kind.to_string())
    .fetch_one(c)
    .await?;
    Ok((i64_(&row, "n")?, i64_(&row, "latest")?, i64_(&row, "ids")?))
}
