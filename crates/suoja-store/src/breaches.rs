//! The breach register (GDPR Art. 33 and 34) and the people each breach affected. A breach's
//! free text is ciphertext under the breach's own key (`details_enc`); the other columns hold
//! times, a state and category codes. `breach_people` holds ids, category codes and counts.

use crate::Conn;
use suoja_core::{KeyId, TenantId, Timestamp};

use crate::Result;
use crate::row::{bytes, i64_, opt_i64, text};

/// A breach as stored.
#[derive(Debug, Clone)]
pub struct BreachRow {
    /// Id.
    pub id: i64,
    /// `open`, `authority_notified`, `people_notified` or `closed`.
    pub state: String,
    /// When the controller became aware of it: the 72-hour clock starts here.
    pub aware_at: Timestamp,
    /// When it happened, if known.
    pub occurred_at: Option<Timestamp>,
    /// The staff member who recorded it.
    pub recorded_by: i64,
    /// The breach's own key, sealing `details_enc`.
    pub key_id: KeyId,
    /// Sealed JSON: description, consequences, measures, reasoning, contact point, scope.
    pub details_enc: Vec<u8>,
    /// JSON array of data category codes.
    pub data_categories: String,
    /// JSON array of codes for the categories of people.
    pub people_categories: String,
    /// Whether the supervisory authority must be told (`None`: not decided yet).
    pub notify_authority: Option<bool>,
    /// Whether the people affected must be told (`None`: not decided yet).
    pub notify_people: Option<bool>,
    /// When the authority was notified.
    pub authority_notified_at: Option<Timestamp>,
    /// When the people's notices were queued.
    pub people_notified_at: Option<Timestamp>,
    /// When the breach was closed.
    pub closed_at: Option<Timestamp>,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

const COLS: &str = "id, state, aware_at, occurred_at, recorded_by, key_id, details_enc, data_categories, people_categories, notify_authority, notify_people, authority_notified_at, people_notified_at, closed_at, created_at, updated_at";

fn ts(v: Option<i64>) -> Option<Timestamp> {
    v.map(Timestamp)
}

fn flag(v: Option<bool>) -> Option<i64> {
    v.map(i64::from)
}

fn row(r: &sqlx::any::AnyRow) -> Result<BreachRow> {
    Ok(BreachRow {
        id: i64_(r, "id")?,
        state: text(r, "state")?,
        aware_at: Timestamp(i64_(r, "aware_at")?),
        occurred_at: ts(opt_i64(r, "occurred_at")?),
        recorded_by: i64_(r, "recorded_by")?,
        key_id: KeyId(i64_(r, "key_id")?),
        details_enc: bytes(r, "details_enc")?,
        data_categories: text(r, "data_categories")?,
        people_categories: text(r, "people_categories")?,
        notify_authority: opt_i64(r, "notify_authority")?.map(|v| v != 0),
        notify_people: opt_i64(r, "notify_people")?.map(|v| v != 0),
        authority_notified_at: ts(opt_i64(r, "authority_notified_at")?),
        people_notified_at: ts(opt_i64(r, "people_notified_at")?),
        closed_at: ts(opt_i64(r, "closed_at")?),
        created_at: Timestamp(i64_(r, "created_at")?),
        updated_at: Timestamp(i64_(r, "updated_at")?),
    })
}

/// Stores a new breach; returns its id.
pub async fn insert(c: &mut Conn, tenant: TenantId, b: &BreachRow) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "INSERT INTO breaches (tenant_id, {}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id",
        COLS.trim_start_matches("id, ")
    )))
    .bind(tenant.0)
    .bind(b.state.clone())
    .bind(b.aware_at.0)
    .bind(b.occurred_at.map(|t| t.0))
    .bind(b.recorded_by)
    .bind(b.key_id.0)
    .bind(b.details_enc.clone())
    .bind(b.data_categories.clone())
    .bind(b.people_categories.clone())
    .bind(flag(b.notify_authority))
    .bind(flag(b.notify_people))
    .bind(b.authority_notified_at.map(|t| t.0))
    .bind(b.people_notified_at.map(|t| t.0))
    .bind(b.closed_at.map(|t| t.0))
    .bind(b.created_at.0)
    .bind(b.updated_at.0)
    .fetch_one(c)
    .await?;
    Ok(id)
}

/// Saves every mutable field of a breach.
pub async fn update(c: &mut Conn, tenant: TenantId, b: &BreachRow) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE breaches SET state = $3, aware_at = $4, occurred_at = $5, details_enc = $6, data_categories = $7, people_categories = $8, \
         notify_authority = $9, notify_people = $10, authority_notified_at = $11, people_notified_at = $12, closed_at = $13, updated_at = $14 \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.0)
    .bind(b.id)
    .bind(b.state.clone())
    .bind(b.aware_at.0)
    .bind(b.occurred_at.map(|t| t.0))
    .bind(b.details_enc.clone())
    .bind(b.data_categories.clone())
    .bind(b.people_categories.clone())
    .bind(flag(b.notify_authority))
    .bind(flag(b.notify_people))
    .bind(b.authority_notified_at.map(|t| t.0))
    .bind(b.people_notified_at.map(|t| t.0))
    .bind(b.closed_at.map(|t| t.0))
    .bind(b.updated_at.0)
    .execute(c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One breach.
pub async fn by_id(c: &mut Conn, tenant: TenantId, id: i64) -> Result<Option<BreachRow>> {
    let r = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLS} FROM breaches WHERE tenant_id = $1 AND id = $2")))
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(c)
        .await?;
    r.as_ref().map(row).transpose()
}

/// One breach, locked for the rest of the transaction on PostgreSQL (SQLite has one writer), so
/// two changes of one breach at once take turns instead of each missing the other's.
pub async fn by_id_for_update(c: &mut Conn, tenant: TenantId, id: i64) -> Result<Option<BreachRow>> {
    let lock = crate::dialect::row_lock(c);
    let r = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM breaches WHERE tenant_id = $1 AND id = $2{lock}"
    )))
    .bind(tenant.0)
    .bind(id)
    .fetch_optional(c)
    .await?;
    r.as_ref().map(row).transpose()
}

/// The register: open breaches first, the soonest aware first (their clocks run out first);
/// closed ones after, newest first.
pub async fn list(c: &mut Conn, tenant: TenantId, limit: i64, offset: i64) -> Result<Vec<BreachRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM breaches WHERE tenant_id = $1 \
         ORDER BY CASE WHEN closed_at IS NULL THEN 0 ELSE 1 END, CASE WHEN closed_at IS NULL THEN aware_at ELSE -closed_at END, id LIMIT $2 OFFSET $3"
    )))
    .bind(tenant.0)
    .bind(limit)
    .bind(offset)
    .fetch_all(c)
    .await?;
    rows.iter().map(row).collect()
}

/// How many breaches the register holds.
pub async fn count(c: &mut Conn, tenant: TenantId) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM breaches WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_one(c)
        .await?)
}

/// One person a breach affected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Affected {
    /// The person.
    pub user_id: i64,
    /// JSON array of data category codes exposed about them.
    pub categories: String,
    /// How many of their records were exposed.
    pub records: i64,
    /// When their notice was queued.
    pub notified_at: Option<Timestamp>,
}

/// Replaces the people a breach affected (the scoping was redone). People already told stay,
/// with their notice time, whether or not the new scope finds them: the register keeps who was
/// notified.
pub async fn set_people(c: &mut Conn, tenant: TenantId, breach: i64, people: &[Affected]) -> Result<()> {
    let notified: std::collections::BTreeSet<i64> =
        sqlx::query_scalar::<_, i64>("SELECT user_id FROM breach_people WHERE tenant_id = $1 AND breach_id = $2 AND notified_at IS NOT NULL")
            .bind(tenant.0)
            .bind(breach)
            .fetch_all(&mut *c)
            .await?
            .into_iter()
            .collect();
    sqlx::query("DELETE FROM breach_people WHERE tenant_id = $1 AND breach_id = $2 AND notified_at IS NULL")
        .bind(tenant.0)
        .bind(breach)
        .execute(&mut *c)
        .await?;
    let fresh: Vec<&Affected> = people.iter().filter(|p| !notified.contains(&p.user_id)).collect();
    for chunk in fresh.chunks(100) {
        let mut sql = String::from("INSERT INTO breach_people (tenant_id, breach_id, user_id, categories, records, notified_at) VALUES ");
        for i in 0..chunk.len() {
            let b = i * 5;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("(${}, ${}, ${}, ${}, ${}, NULL)", b + 1, b + 2, b + 3, b + 4, b + 5));
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for p in chunk {
            q = q.bind(tenant.0).bind(breach).bind(p.user_id).bind(p.categories.clone()).bind(p.records);
        }
        q.execute(&mut *c).await?;
    }
    Ok(())
}

/// The people a breach affected, by id.
pub async fn people(c: &mut Conn, tenant: TenantId, breach: i64) -> Result<Vec<Affected>> {
    let rows = sqlx::query("SELECT user_id, categories, records, notified_at FROM breach_people WHERE tenant_id = $1 AND breach_id = $2 ORDER BY user_id")
        .bind(tenant.0)
        .bind(breach)
        .fetch_all(c)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Affected {
                user_id: i64_(r, "user_id")?,
                categories: text(r, "categories")?,
                records: i64_(r, "records")?,
                notified_at: ts(opt_i64(r, "notified_at")?),
            })
        })
        .collect()
}

/// Marks one person's notice as queued; false when it already was (a notice goes once).
pub async fn mark_notified(c: &mut Conn, tenant: TenantId, breach: i64, user: i64, at: Timestamp) -> Result<bool> {
    let done = sqlx::query("UPDATE breach_people SET notified_at = $4 WHERE tenant_id = $1 AND breach_id = $2 AND user_id = $3 AND notified_at IS NULL")
        .bind(tenant.0)
        .bind(breach)
        .bind(user)
        .bind(at.0)
        .execute(c)
        .await?;
    Ok(done.rows_affected() == 1)
}
