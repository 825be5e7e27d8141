//! Field definitions (ticket, user and organisation fields, Zendesk's `ticket_fields`,
//! `user_fields` and `organization_fields`) and ticket forms. A definition holds what an admin
//! typed (titles, descriptions, option names), never a person's value: those stay sealed with
//! the record they belong to.

use crate::Conn;
use suoja_core::{TenantId, Timestamp};

use crate::Result;
use crate::row::{bool_, i64_, opt_text, text};

/// A field definition as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldRow {
    /// Id.
    pub id: i64,
    /// Whose field it is: `ticket`, `user` or `organization`.
    pub owner: String,
    /// A ticket's built-in field (subject, status, …): listed and placed on forms, not removable.
    pub system: bool,
    /// Zendesk's type (`text`, `textarea`, `checkbox`, `date`, `integer`, `decimal`, `regexp`,
    /// `tagger`/`dropdown`, `multiselect`, or a system field's kind).
    pub field_type: String,
    /// A user or organisation field's key, or a system field's kind; `None` for a ticket's
    /// custom field.
    pub key: Option<String>,
    /// Title agents see.
    pub title: String,
    /// Description.
    pub description: String,
    /// Title requesters see, when it differs.
    pub title_in_portal: Option<String>,
    /// Order among the owner's fields.
    pub position: i64,
    /// Whether it is in use.
    pub active: bool,
    /// Agents must fill it in to solve a ticket.
    pub required: bool,
    /// Requesters must fill it in to open a ticket.
    pub required_in_portal: bool,
    /// Requesters see it.
    pub visible_in_portal: bool,
    /// Requesters may set it.
    pub editable_in_portal: bool,
    /// A `regexp` field's pattern.
    pub regexp: Option<String>,
    /// A checkbox's tag.
    pub tag: Option<String>,
    /// The options of a drop-down or multi-select, as JSON `[{id, name, value, default}]`.
    pub options: String,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

const FIELD_COLS: &str = "id, owner, system, field_type, field_key, title, description, title_in_portal, position, active, required, required_in_portal, visible_in_portal, editable_in_portal, regexp, tag, options, created_at, updated_at";

fn field_from(r: &sqlx::any::AnyRow) -> Result<FieldRow> {
    Ok(FieldRow {
        id: i64_(r, "id")?,
        owner: text(r, "owner")?,
        system: bool_(r, "system")?,
        field_type: text(r, "field_type")?,
        key: opt_text(r, "field_key")?,
        title: text(r, "title")?,
        description: text(r, "description")?,
        title_in_portal: opt_text(r, "title_in_portal")?,
        position: i64_(r, "position")?,
        active: bool_(r, "active")?,
        required: bool_(r, "required")?,
        required_in_portal: bool_(r, "required_in_portal")?,
        visible_in_portal: bool_(r, "visible_in_portal")?,
        editable_in_portal: bool_(r, "editable_in_portal")?,
        regexp: opt_text(r, "regexp")?,
        tag: opt_text(r, "tag")?,
        options: text(r, "options")?,
        created_at: Timestamp(i64_(r, "created_at")?),
        updated_at: Timestamp(i64_(r, "updated_at")?),
    })
}

/// Inserts a field definition (its `id` is ignored) and returns its id. A key already taken
/// by the owner's fields is [`crate::StoreError::Duplicate`].
pub async fn insert_field(c: &mut Conn, tenant: TenantId, f: &FieldRow) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO field_definitions (tenant_id, owner, system, field_type, field_key, title, description, title_in_portal, position, active, required, required_in_portal, visible_in_portal, editable_in_portal, regexp, tag, options, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) RETURNING id",
    )
    .bind(tenant.0)
    .bind(f.owner.clone())
    .bind(i64::from(f.system))
    .bind(f.field_type.clone())
    .bind(f.key.clone())
    .bind(f.title.clone())
    .bind(f.description.clone())
    .bind(f.title_in_portal.clone())
    .bind(f.position)
    .bind(i64::from(f.active))
    .bind(i64::from(f.required))
    .bind(i64::from(f.required_in_portal))
    .bind(i64::from(f.visible_in_portal))
    .bind(i64::from(f.editable_in_portal))
    .bind(f.regexp.clone())
    .bind(f.tag.clone())
    .bind(f.options.clone())
    .bind(f.created_at.0)
    .bind(f.updated_at.0)
    .fetch_one(c)
    .await?;
    Ok(id)
}

/// Writes a definition's changeable columns back (its owner, type and key stay).
pub async fn update_field(c: &mut Conn, tenant: TenantId, f: &FieldRow) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE field_definitions SET title = $3, description = $4, title_in_portal = $5, position = $6, active = $7, required = $8, required_in_portal = $9, \
         visible_in_portal = $10, editable_in_portal = $11, regexp = $12, tag = $13, options = $14, updated_at = $15 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.0)
    .bind(f.id)
    .bind(f.title.clone())
    .bind(f.description.clone())
    .bind(f.title_in_portal.clone())
    .bind(f.position)
    .bind(i64::from(f.active))
    .bind(i64::from(f.required))
    .bind(i64::from(f.required_in_portal))
    .bind(i64::from(f.visible_in_portal))
    .bind(i64::from(f.editable_in_portal))
    .bind(f.regexp.clone())
    .bind(f.tag.clone())
    .bind(f.options.clone())
    .bind(f.updated_at.0)
    .execute(c)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// One of `owner`'s definitions.
pub async fn field(c: &mut Conn, tenant: TenantId, owner: &str, id: i64) -> Result<Option<FieldRow>> {
    let sql = format!("SELECT {FIELD_COLS} FROM field_definitions WHERE tenant_id = $1 AND owner = $2 AND id = $3");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(owner.to_string())
        .bind(id)
        .fetch_optional(c)
        .await?;
    row.as_ref().map(field_from).transpose()
}

/// Every definition of `owner`, in their order (position, then id).
pub async fn fields(c: &mut Conn, tenant: TenantId, owner: &str) -> Result<Vec<FieldRow>> {
    let sql = format!("SELECT {FIELD_COLS} FROM field_definitions WHERE tenant_id = $1 AND owner = $2 ORDER BY position, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(owner.to_string())
        .fetch_all(c)
        .await?;
    rows.iter().map(field_from).collect()
}

/// How many definitions `owner` has that are not system fields.
pub async fn count_custom(c: &mut Conn, tenant: TenantId, owner: &str) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM field_definitions WHERE tenant_id = $1 AND owner = $2 AND system = 0")
            .bind(tenant.0)
            .bind(owner.to_string())
            .fetch_one(c)
            .await?,
    )
}

/// Removes a definition.
pub async fn delete_field(c: &mut Conn, tenant: TenantId, owner: &str, id: i64) -> Result<bool> {
    let done = sqlx::query("DELETE FROM field_definitions WHERE tenant_id = $1 AND owner = $2 AND id = $3 AND system = 0")
        .bind(tenant.0)
        .bind(owner.to_string())
        .bind(id)
        .execute(c)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Adds the rows of a ticket's system fields the tenant does not have yet (`kinds` as
/// `(kind, title, position)`); a row another writer added meanwhile is left as it is.
pub async fn ensure_system(c: &mut Conn, tenant: TenantId, kinds: &[(&str, &str, i64)], now: Timestamp) -> Result<()> {
    for (kind, title, position) in kinds {
        sqlx::query(
            "INSERT INTO field_definitions (tenant_id, owner, system, field_type, field_key, title, description, position, active, required, required_in_portal, \
             visible_in_portal, editable_in_portal, options, created_at, updated_at) \
             VALUES ($1, 'ticket', 1, $2, $2, $3, '', $4, 1, 0, 0, $5, $5, '[]', $6, $6) ON CONFLICT DO NOTHING",
        )
        .bind(tenant.0)
        .bind(kind.to_string())
        .bind(title.to_string())
        .bind(*position)
        .bind(i64::from(matches!(*kind, "subject" | "description")))
        .bind(now.0)
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

/// A ticket form as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct FormRow {
    /// Id.
    pub id: i64,
    /// Name agents see.
    pub name: String,
    /// Name requesters see.
    pub display_name: String,
    /// Order among forms.
    pub position: i64,
    /// In use.
    pub active: bool,
    /// The form new tickets get when none is named.
    pub default: bool,
    /// Requesters may choose it.
    pub end_user_visible: bool,
    /// Its fields' ids, in order, as a JSON array.
    pub field_ids: String,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

const FORM_COLS: &str = "id, name, display_name, position, active, is_default, end_user_visible, field_ids, created_at, updated_at";

fn form_from(r: &sqlx::any::AnyRow) -> Result<FormRow> {
    Ok(FormRow {
        id: i64_(r, "id")?,
        name: text(r, "name")?,
        display_name: text(r, "display_name")?,
        position: i64_(r, "position")?,
        active: bool_(r, "active")?,
        default: bool_(r, "is_default")?,
        end_user_visible: bool_(r, "end_user_visible")?,
        field_ids: text(r, "field_ids")?,
        created_at: Timestamp(i64_(r, "created_at")?),
        updated_at: Timestamp(i64_(r, "updated_at")?),
    })
}

/// Inserts a form and returns its id.
pub async fn insert_form(c: &mut Conn, tenant: TenantId, f: &FormRow) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO ticket_forms (tenant_id, name, display_name, position, active, is_default, end_user_visible, field_ids, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(tenant.0)
    .bind(f.name.clone())
    .bind(f.display_name.clone())
    .bind(f.position)
    .bind(i64::from(f.active))
    .bind(i64::from(f.default))
    .bind(i64::from(f.end_user_visible))
    .bind(f.field_ids.clone())
    .bind(f.created_at.0)
    .bind(f.updated_at.0)
    .fetch_one(c)
    .await?;
    Ok(id)
}

/// Writes a form back.
pub async fn update_form(c: &mut Conn, tenant: TenantId, f: &FormRow) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE ticket_forms SET name = $3, display_name = $4, position = $5, active = $6, is_default = $7, end_user_visible = $8, field_ids = $9, updated_at = $10 \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.0)
    .bind(f.id)
    .bind(f.name.clone())
    .bind(f.display_name.clone())
    .bind(f.position)
    .bind(i64::from(f.active))
    .bind(i64::from(f.default))
    .bind(i64::from(f.end_user_visible))
    .bind(f.field_ids.clone())
    .bind(f.updated_at.0)
    .execute(c)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Only form `keep` is the default from now on.
pub async fn clear_other_defaults(c: &mut Conn, tenant: TenantId, keep: i64) -> Result<()> {
    sqlx::query("UPDATE ticket_forms SET is_default = 0 WHERE tenant_id = $1 AND id <> $2 AND is_default = 1")
        .bind(tenant.0)
        .bind(keep)
        .execute(c)
        .await?;
    Ok(())
}

/// A form; with `lock`, held until the transaction ends.
pub async fn form(c: &mut Conn, tenant: TenantId, id: i64, lock: bool) -> Result<Option<FormRow>> {
    let lock = if lock { crate::dialect::row_lock(c) } else { "" };
    let sql = format!("SELECT {FORM_COLS} FROM ticket_forms WHERE tenant_id = $1 AND id = $2{lock}");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id).fetch_optional(c).await?;
    row.as_ref().map(form_from).transpose()
}

/// The default form's id, if there is one.
pub async fn default_form(c: &mut Conn, tenant: TenantId) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM ticket_forms WHERE tenant_id = $1 AND is_default = 1 ORDER BY id LIMIT 1")
            .bind(tenant.0)
            .fetch_optional(c)
            .await?,
    )
}

/// Every form, in order.
pub async fn forms(c: &mut Conn, tenant: TenantId) -> Result<Vec<FormRow>> {
    let sql = format!("SELECT {FORM_COLS} FROM ticket_forms WHERE tenant_id = $1 ORDER BY position, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).fetch_all(c).await?;
    rows.iter().map(form_from).collect()
}

/// Removes a form; its tickets keep their values and lose the form (changed at `now`, so
/// incremental exports see them).
pub async fn delete_form(c: &mut Conn, tenant: TenantId, id: i64, now: Timestamp) -> Result<bool> {
    sqlx::query("UPDATE tickets SET ticket_form_id = NULL, updated_at = $3 WHERE tenant_id = $1 AND ticket_form_id = $2")
        .bind(tenant.0)
        .bind(id)
        .bind(now.0)
        .execute(&mut *c)
        .await?;
    let done = sqlx::query("DELETE FROM ticket_forms WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(c)
        .await?;
    Ok(done.rows_affected() > 0)
}
