//! Users (end users, agents, admins). Names, e-mails, phones and free text are ciphertext under
//! the user's own key; the e-mail is findable through `email_hash`, a keyed blind index.

use crate::Conn;
use suoja_core::{KeyId, OrganizationId, Role, TenantId, Timestamp, UserId};

use crate::Result;
use crate::row::{bool_, bytes, i64_, opt_bytes, opt_i64, opt_text, text};

/// A user as stored (personal fields encrypted).
#[derive(Debug, Clone)]
pub struct UserRow {
    /// Id.
    pub id: UserId,
    /// End user, agent or admin.
    pub role: Role,
    /// The user's data key.
    pub key_id: KeyId,
    /// Keyed hash of the lower-cased e-mail.
    pub email_hash: Option<Vec<u8>>,
    /// Encrypted e-mail.
    pub email_enc: Option<Vec<u8>>,
    /// Encrypted name.
    pub name_enc: Vec<u8>,
    /// Encrypted phone.
    pub phone_enc: Option<Vec<u8>>,
    /// Encrypted details.
    pub details_enc: Option<Vec<u8>>,
    /// Encrypted notes.
    pub notes_enc: Option<Vec<u8>>,
    /// Encrypted JSON array of tags.
    pub tags_enc: Option<Vec<u8>>,
    /// Encrypted external id.
    pub external_id_enc: Option<Vec<u8>>,
    /// Encrypted JSON object of user fields.
    pub user_fields_enc: Option<Vec<u8>>,
    /// Organisation membership.
    pub organization_id: Option<OrganizationId>,
    /// Locale such as `en-US` or `fi`.
    pub locale: String,
    /// IANA time zone.
    pub time_zone: String,
    /// The e-mail was verified.
    pub verified: bool,
    /// False once soft-deleted.
    pub active: bool,
    /// Suspended users cannot sign in.
    pub suspended: bool,
    /// Argon2id PHC string, if a password is set.
    pub password_hash: Option<String>,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
    /// Soft-deletion time.
    pub deleted_at: Option<Timestamp>,
    /// Last successful sign-in.
    pub last_login_at: Option<Timestamp>,
    /// Processing is restricted (GDPR Art. 18): hidden from staff views, search and recipients.
    pub restricted: bool,
    /// May work on privacy requests and see restricted data (with a reason, logged).
    pub privacy_officer: bool,
}

const COLS: &str = "id, role, key_id, email_hash, email_enc, name_enc, phone_enc, details_enc, notes_enc, tags_enc, external_id_enc, user_fields_enc, organization_id, locale, time_zone, verified, active, suspended, password_hash, created_at, updated_at, deleted_at, last_login_at, restricted, privacy_officer";

/// The columns [`from_row`] reads, of the table aliased `alias` in a join.
pub(crate) fn columns_of(alias: &str) -> String {
    COLS.split(", ").map(|c| format!("{alias}.{c}")).collect::<Vec<_>>().join(", ")
}

pub(crate) fn from_row(r: &sqlx::any::AnyRow) -> Result<UserRow> {
    Ok(UserRow {
        id: UserId(i64_(r, "id")?),
        role: Role::parse(&text(r, "role")?).map_err(|_| crate::StoreError::Corrupt("users.role".into()))?,
        key_id: KeyId(i64_(r, "key_id")?),
        email_hash: opt_bytes(r, "email_hash")?,
        email_enc: opt_bytes(r, "email_enc")?,
        name_enc: bytes(r, "name_enc")?,
        phone_enc: opt_bytes(r, "phone_enc")?,
        details_enc: opt_bytes(r, "details_enc")?,
        notes_enc: opt_bytes(r, "notes_enc")?,
        tags_enc: opt_bytes(r, "tags_enc")?,
        external_id_enc: opt_bytes(r, "external_id_enc")?,
        user_fields_enc: opt_bytes(r, "user_fields_enc")?,
        organization_id: opt_i64(r, "organization_id")?.map(OrganizationId),
        locale: text(r, "locale")?,
        time_zone: text(r, "time_zone")?,
        verified: bool_(r, "verified")?,
        active: bool_(r, "active")?,
        suspended: bool_(r, "suspended")?,
        password_hash: opt_text(r, "password_hash")?,
        created_at: Timestamp(i64_(r, "created_at")?),
        updated_at: Timestamp(i64_(r, "updated_at")?),
        deleted_at: opt_i64(r, "deleted_at")?.map(Timestamp),
        last_login_at: opt_i64(r, "last_login_at")?.map(Timestamp),
        restricted: bool_(r, "restricted")?,
        privacy_officer: bool_(r, "privacy_officer")?,
    })
}

/// Inserts a user; `row.id` is ignored and the new id returned.
pub async fn insert(c: &mut Conn, tenant: TenantId, u: &UserRow) -> Result<UserId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (tenant_id, role, key_id, email_hash, email_enc, name_enc, phone_enc, details_enc, notes_enc, tags_enc, external_id_enc, user_fields_enc, organization_id, locale, time_zone, verified, active, suspended, password_hash, created_at, updated_at, deleted_at, last_login_at, privacy_officer) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24) RETURNING id",
    )
    .bind(tenant.0)
    .bind(u.role.as_str())
    .bind(u.key_id.0)
    .bind(u.email_hash.clone())
    .bind(u.email_enc.clone())
    .bind(u.name_enc.clone())
    .bind(u.phone_enc.clone())
    .bind(u.details_enc.clone())
    .bind(u.notes_enc.clone())
    .bind(u.tags_enc.clone())
    .bind(u.external_id_enc.clone())
    .bind(u.user_fields_enc.clone())
    .bind(u.organization_id.map(|o| o.0))
    .bind(u.locale.clone())
    .bind(u.time_zone.clone())
    .bind(i64::from(u.verified))
    .bind(i64::from(u.active))
    .bind(i64::from(u.suspended))
    .bind(u.password_hash.clone())
    .bind(u.created_at.0)
    .bind(u.updated_at.0)
    .bind(u.deleted_at.map(|t| t.0))
    .bind(u.last_login_at.map(|t| t.0))
    .bind(i64::from(u.privacy_officer))
    .fetch_one(c)
    .await?;
    Ok(UserId(id))
}

/// Writes every mutable column of `u` back.
pub async fn update(c: &mut Conn, tenant: TenantId, u: &UserRow) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE users SET role = $3, email_hash = $4, email_enc = $5, name_enc = $6, phone_enc = $7, details_enc = $8, notes_enc = $9, tags_enc = $10, external_id_enc = $11, user_fields_enc = $12, organization_id = $13, locale = $14, time_zone = $15, verified = $16, active = $17, suspended = $18, password_hash = $19, updated_at = $20, deleted_at = $21, last_login_at = $22, privacy_officer = $23 \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.0)
    .bind(u.id.0)
    .bind(u.role.as_str())
    .bind(u.email_hash.clone())
    .bind(u.email_enc.clone())
    .bind(u.name_enc.clone())
    .bind(u.phone_enc.clone())
    .bind(u.details_enc.clone())
    .bind(u.notes_enc.clone())
    .bind(u.tags_enc.clone())
    .bind(u.external_id_enc.clone())
    .bind(u.user_fields_enc.clone())
    .bind(u.organization_id.map(|o| o.0))
    .bind(u.locale.clone())
    .bind(u.time_zone.clone())
    .bind(i64::from(u.verified))
    .bind(i64::from(u.active))
    .bind(i64::from(u.suspended))
    .bind(u.password_hash.clone())
    .bind(u.updated_at.0)
    .bind(u.deleted_at.map(|t| t.0))
    .bind(u.last_login_at.map(|t| t.0))
    .bind(i64::from(u.privacy_officer))
    .execute(c)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Finds a user by id (soft-deleted users included; callers decide).
pub async fn by_id(c: &mut Conn, tenant: TenantId, id: UserId) -> Result<Option<UserRow>> {
    let sql = format!("SELECT {COLS} FROM users WHERE tenant_id = $1 AND id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id.0).fetch_optional(c).await?;
    row.as_ref().map(from_row).transpose()
}

/// [`by_id`] to change the row in the caller's transaction: it stays locked until the
/// transaction ends ([`crate::dialect::row_lock`]).
pub async fn by_id_for_update(c: &mut Conn, tenant: TenantId, id: UserId) -> Result<Option<UserRow>> {
    let lock = crate::dialect::row_lock(c);
    let sql = format!("SELECT {COLS} FROM users WHERE tenant_id = $1 AND id = $2{lock}");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id.0).fetch_optional(c).await?;
    row.as_ref().map(from_row).transpose()
}

/// Finds users by ids (any order).
pub async fn by_ids(c: &mut Conn, tenant: TenantId, ids: &[UserId]) -> Result<Vec<UserRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = ids.iter().map(|i| i.0).collect();
    let rows = crate::ids::rows_by_ids(c, tenant, &ids, |marks| {
        format!("SELECT {COLS} FROM users WHERE tenant_id = $1 AND id IN ({marks})")
    })
    .await?;
    rows.iter().map(from_row).collect()
}

/// Finds a user by the keyed hash of their e-mail.
pub async fn by_email_hash(c: &mut Conn, tenant: TenantId, hash: &[u8]) -> Result<Option<UserRow>> {
    let sql = format!("SELECT {COLS} FROM users WHERE tenant_id = $1 AND email_hash = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(hash.to_vec())
        .fetch_optional(c)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Filter for listing users.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Only these roles (empty = all).
    pub roles: Vec<Role>,
    /// Include soft-deleted users (`deleted_users` lists only those).
    pub deleted: bool,
    /// Only ids greater than this (cursor).
    pub after: Option<i64>,
    /// Only ids smaller than this (cursor backwards).
    pub before: Option<i64>,
    /// Only members of this organisation.
    pub organization: Option<OrganizationId>,
    /// Only members of some organisation (the organisation memberships).
    pub in_an_organization: bool,
}

fn where_clause(f: &UserFilter) -> String {
    let mut w = String::from("tenant_id = $1 AND restricted = 0");
    w.push_str(if f.deleted {
        " AND deleted_at IS NOT NULL"
    } else {
        " AND deleted_at IS NULL"
    });
    let roles: Vec<&str> = f.roles.iter().map(|r| r.as_str()).collect();
    if !roles.is_empty() {
        w.push_str(&format!(" AND role IN ('{}')", roles.join("','")));
    }
    if let Some(o) = f.organization {
        w.push_str(&format!(" AND organization_id = {}", o.0));
    }
    if f.in_an_organization {
        w.push_str(" AND organization_id IS NOT NULL");
    }
    w
}

/// Lists users by id, ascending unless `before` is set; at most `limit`.
pub async fn list(c: &mut Conn, tenant: TenantId, f: &UserFilter, limit: i64, offset: i64) -> Result<Vec<UserRow>> {
    let mut w = where_clause(f);
    if let Some(a) = f.after {
        w.push_str(&format!(" AND id > {a}"));
    }
    let order = if let Some(b) = f.before {
        w.push_str(&format!(" AND id < {b}"));
        "DESC"
    } else {
        "ASC"
    };
    let sql = format!("SELECT {COLS} FROM users WHERE {w} ORDER BY id {order} LIMIT {limit} OFFSET {offset}");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).fetch_all(c).await?;
    let mut out: Vec<UserRow> = rows.iter().map(from_row).collect::<Result<_>>()?;
    if f.before.is_some() {
        out.reverse();
    }
    Ok(out)
}

/// Counts users matching a filter (cursor bounds ignored).
pub async fn count(c: &mut Conn, tenant: TenantId, f: &UserFilter) -> Result<i64> {
    let sql = format!("SELECT COUNT(*) FROM users WHERE {}", where_clause(f));
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(tenant.0).fetch_one(c).await?)
}

/// Users changed at or after `since` (and before `until`), ordered by (updated_at, id), after a
/// cursor position.
pub async fn changed_since(
    c: &mut Conn,
    tenant: TenantId,
    since: Timestamp,
    until: Option<Timestamp>,
    after: Option<(i64, i64)>,
    limit: i64,
) -> Result<Vec<UserRow>> {
    let (t, i) = after.unwrap_or((since.0, -1));
    let sql = format!(
        "SELECT {COLS} FROM users WHERE tenant_id = $1 AND restricted = 0 AND updated_at >= $2 AND updated_at < $5 AND (updated_at > $3 OR (updated_at = $3 AND id > $4)) ORDER BY updated_at, id LIMIT {limit}"
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

/// Users by ids, only active and not deleted.
pub async fn count_admins(c: &mut Conn, tenant: TenantId) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND role = 'admin' AND deleted_at IS NULL")
            .bind(tenant.0)
            .fetch_one(c)
            .await?,
    )
}

/// Marks a person restricted (GDPR Art. 18) or lifts it. Their tickets are the caller's to
/// mark ([`crate::tickets::set_restricted_for_requester`]).
pub async fn set_restricted(c: &mut Conn, tenant: TenantId, id: UserId, restricted: bool, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE users SET restricted = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id.0)
        .bind(i64::from(restricted))
        .bind(now.0)
        .execute(c)
        .await?;
    Ok(())
}

/// Takes every member of an organisation out of it (the organisation is being deleted).
pub async fn clear_organization(c: &mut Conn, tenant: TenantId, org: OrganizationId) -> Result<u64> {
    let done = sqlx::query("UPDATE users SET organization_id = NULL WHERE tenant_id = $1 AND organization_id = $2")
        .bind(tenant.0)
        .bind(org.0)
        .execute(c)
        .await?;
    Ok(done.rows_affected())
}

/// Records a sign-in time.
pub async fn touch_login(c: &mut Conn, tenant: TenantId, id: UserId, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE users SET last_login_at = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id.0)
        .bind(now.0)
        .execute(c)
        .await?;
    Ok(())
}
