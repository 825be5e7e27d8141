//! Tickets and their CC/follower links. Subject, description, tags, custom fields and external
//! id are ciphertext under the requester's key (`key_id`).

mod list;

pub use list::*;

use crate::Conn;
use suoja_core::{GroupId, KeyId, OrganizationId, Status, TenantId, TicketId, Timestamp, UserId};

use crate::Result;
use crate::row::{bytes, i64_, opt_bytes, opt_i64, opt_text, text};

/// A ticket as stored.
#[derive(Debug, Clone)]
pub struct TicketRow {
    /// Id.
    pub id: TicketId,
    /// Key the personal fields are encrypted under (the requester's).
    pub key_id: KeyId,
    /// Requester.
    pub requester_id: UserId,
    /// Who opened it.
    pub submitter_id: UserId,
    /// Assigned agent.
    pub assignee_id: Option<UserId>,
    /// Assigned group.
    pub group_id: Option<GroupId>,
    /// Organisation.
    pub organization_id: Option<OrganizationId>,
    /// Encrypted subject.
    pub subject_enc: Option<Vec<u8>>,
    /// Encrypted description (the first comment's text).
    pub description_enc: Vec<u8>,
    /// Status (its rank is stored beside it, for `status<solved`).
    pub status: Status,
    /// Priority wire value.
    pub priority: Option<String>,
    /// Type wire value.
    pub ticket_type: Option<String>,
    /// Encrypted JSON array of tags.
    pub tags_enc: Vec<u8>,
    /// Encrypted JSON array of `{id, value}`.
    pub custom_fields_enc: Vec<u8>,
    /// Encrypted external id.
    pub external_id_enc: Option<Vec<u8>>,
    /// Due date (tasks).
    pub due_at: Option<Timestamp>,
    /// Channel it came through.
    pub via: String,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
    /// In the trash since.
    pub deleted_at: Option<Timestamp>,
    /// Who moved it to the trash.
    pub deleted_by: Option<UserId>,
    /// Processing is restricted (GDPR Art. 18): hidden from staff lists, search and recipients.
    pub restricted: bool,
    /// When it was last solved or closed (the closed-ticket retention clock); `None` while open.
    pub closed_at: Option<Timestamp>,
    /// The ticket form it was filled in with.
    pub ticket_form_id: Option<i64>,
}

pub(crate) const COLS: &str = "id, key_id, requester_id, submitter_id, assignee_id, group_id, organization_id, subject_enc, description_enc, status, status_rank, priority, ticket_type, tags_enc, custom_fields_enc, external_id_enc, due_at, via, created_at, updated_at, deleted_at, deleted_by, restricted, closed_at, ticket_form_id";

pub(crate) fn from_row(r: &sqlx::any::AnyRow) -> Result<TicketRow> {
    Ok(TicketRow {
        id: TicketId(i64_(r, "id")?),
        key_id: KeyId(i64_(r, "key_id")?),
        requester_id: UserId(i64_(r, "requester_id")?),
        submitter_id: UserId(i64_(r, "submitter_id")?),
        assignee_id: opt_i64(r, "assignee_id")?.map(UserId),
        group_id: opt_i64(r, "group_id")?.map(GroupId),
        organization_id: opt_i64(r, "organization_id")?.map(OrganizationId),
        subject_enc: opt_bytes(r, "subject_enc")?,
        description_enc: bytes(r, "description_enc")?,
        status: Status::parse(&text(r, "status")?).map_err(|_| crate::StoreError::Corrupt("tickets.status".into()))?,
        priority: opt_text(r, "priority")?,
        ticket_type: opt_text(r, "ticket_type")?,
        tags_enc: bytes(r, "tags_enc")?,
        custom_fields_enc: bytes(r, "custom_fields_enc")?,
        external_id_enc: opt_bytes(r, "external_id_enc")?,
        due_at: opt_i64(r, "due_at")?.map(Timestamp),
        via: text(r, "via")?,
        created_at: Timestamp(i64_(r, "created_at")?),
        updated_at: Timestamp(i64_(r, "updated_at")?),
        deleted_at: opt_i64(r, "deleted_at")?.map(Timestamp),
        deleted_by: opt_i64(r, "deleted_by")?.map(UserId),
        restricted: crate::row::bool_(r, "restricted")?,
        closed_at: opt_i64(r, "closed_at")?.map(Timestamp),
        ticket_form_id: opt_i64(r, "ticket_form_id")?,
    })
}

/// Inserts a ticket.
pub async fn insert(c: &mut Conn, tenant: TenantId, t: &TicketRow) -> Result<TicketId> {
    let sql = format!(
        "INSERT INTO tickets ({NEW_COLS}) VALUES {} RETURNING id",
        crate::bulk::values(1, 1, NEW_COL_COUNT)
    );
    let row = bind_new(sqlx::query(sqlx::AssertSqlSafe(sql)), tenant, t).fetch_one(c).await?;
    Ok(TicketId(i64_(&row, "id")?))
}

/// The columns a new ticket is written with (after its tenant; `deleted_*` start empty), in
/// the order [`bind_new`] binds them.
const NEW_COLS: &str = "tenant_id, key_id, requester_id, submitter_id, assignee_id, group_id, organization_id, subject_enc, description_enc, status, status_rank, priority, ticket_type, tags_enc, custom_fields_enc, external_id_enc, due_at, via, created_at, updated_at, restricted, closed_at, ticket_form_id";
const NEW_COL_COUNT: usize = 23;

/// Binds a new ticket's tenant and columns ([`NEW_COLS`]).
fn bind_new<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    tenant: TenantId,
    t: &TicketRow,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    q.bind(tenant.0)
        .bind(t.key_id.0)
        .bind(t.requester_id.0)
        .bind(t.submitter_id.0)
        .bind(t.assignee_id.map(|u| u.0))
        .bind(t.group_id.map(|g| g.0))
        .bind(t.organization_id.map(|o| o.0))
        .bind(t.subject_enc.clone())
        .bind(t.description_enc.clone())
        .bind(t.status.as_str())
        .bind(t.status.rank())
        .bind(t.priority.clone())
        .bind(t.ticket_type.clone())
        .bind(t.tags_enc.clone())
        .bind(t.custom_fields_enc.clone())
        .bind(t.external_id_enc.clone())
        .bind(t.due_at.map(|d| d.0))
        .bind(t.via.clone())
        .bind(t.created_at.0)
        .bind(t.updated_at.0)
        .bind(i64::from(t.restricted))
        .bind(t.closed_at.map(|d| d.0))
        .bind(t.ticket_form_id)
}

/// Inserts tickets whose ids were handed out by [`crate::bulk::reserve_ids`], in as few
/// statements as the engines' limits allow (imports and seeding).
pub async fn insert_many(c: &mut Conn, tenant: TenantId, rows: &[TicketRow]) -> Result<()> {
    const COLS: usize = NEW_COL_COUNT + 1;
    for chunk in crate::bulk::pieces(rows, COLS) {
        let sql = format!("INSERT INTO tickets ({NEW_COLS}, id) VALUES {}", crate::bulk::values(1, chunk.len(), COLS));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for t in chunk {
            q = bind_new(q, tenant, t).bind(t.id.0);
        }
        q.execute(&mut *c).await?;
    }
    Ok(())
}

/// A changeable column's value, to bind or to compare with the value read.
#[derive(PartialEq)]
enum Value<'a> {
    Int(Option<i64>),
    Text(Option<&'a str>),
    Bytes(Option<&'a [u8]>),
}

/// The columns a change may write (all but the id, tenant, submitter, channel, creation time
/// and restriction), with their values in `t`.
fn changeable(t: &TicketRow) -> [(&'static str, Value<'_>); 20] {
    use Value::{Bytes, Int, Text};
    [
        ("key_id", Int(Some(t.key_id.0))),
        ("requester_id", Int(Some(t.requester_id.0))),
        ("assignee_id", Int(t.assignee_id.map(|u| u.0))),
        ("group_id", Int(t.group_id.map(|g| g.0))),
        ("organization_id", Int(t.organization_id.map(|o| o.0))),
        ("subject_enc", Bytes(t.subject_enc.as_deref())),
        ("description_enc", Bytes(Some(&t.description_enc))),
        ("status", Text(Some(t.status.as_str()))),
        ("status_rank", Int(Some(t.status.rank()))),
        ("priority", Text(t.priority.as_deref())),
        ("ticket_type", Text(t.ticket_type.as_deref())),
        ("tags_enc", Bytes(Some(&t.tags_enc))),
        ("custom_fields_enc", Bytes(Some(&t.custom_fields_enc))),
        ("external_id_enc", Bytes(t.external_id_enc.as_deref())),
        ("due_at", Int(t.due_at.map(|d| d.0))),
        ("updated_at", Int(Some(t.updated_at.0))),
        ("deleted_at", Int(t.deleted_at.map(|d| d.0))),
        ("deleted_by", Int(t.deleted_by.map(|u| u.0))),
        ("closed_at", Int(t.closed_at.map(|d| d.0))),
        ("ticket_form_id", Int(t.ticket_form_id)),
    ]
}

/// `UPDATE tickets SET` the given columns of ticket `id`; whether the ticket was there.
async fn set_columns(c: &mut Conn, tenant: TenantId, id: TicketId, cols: Vec<(&'static str, Value<'_>)>) -> Result<bool> {
    let sets: Vec<String> = cols.iter().enumerate().map(|(i, (name, _))| format!("{name} = ${}", i + 3)).collect();
    let sql = format!("UPDATE tickets SET {} WHERE tenant_id = $1 AND id = $2", sets.join(", "));
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id.0);
    for (_, value) in cols {
        q = match value {
            Value::Int(v) => q.bind(v),
            Value::Text(v) => q.bind(v.map(str::to_string)),
            Value::Bytes(v) => q.bind(v.map(<[u8]>::to_vec)),
        };
    }
    Ok(q.execute(c).await?.rows_affected() > 0)
}

/// Writes every changeable column back; whether the ticket was there.
pub async fn update(c: &mut Conn, tenant: TenantId, t: &TicketRow) -> Result<bool> {
    set_columns(c, tenant, t.id, changeable(t).into_iter().collect()).await
}

/// Writes back only the columns of `after` that differ from `before`, the ticket as the
/// caller's transaction read (and on PostgreSQL locked) it or wrote it; whether the ticket
/// was there (`true`, without a statement, when nothing differs). SQLite rewrites the entry of
/// every index that has a column the statement sets, changed or not: a reply, which changes
/// the time of change, rewrote all twelve of `tickets`' indexes through [`update`], and
/// through this only the three that hold that time. Each set of changed columns is a statement
/// of its own, prepared once: a few sets (a reply's, a status change's) are most changes.
pub async fn update_from(c: &mut Conn, tenant: TenantId, before: &TicketRow, after: &TicketRow) -> Result<bool> {
    let changed: Vec<(&'static str, Value<'_>)> = changeable(before)
        .into_iter()
        .zip(changeable(after))
        .filter(|((_, old), (_, new))| old != new)
        .map(|(_, new)| new)
        .collect();
    if before.id != after.id {
        return update(c, tenant, after).await;
    }
    if changed.is_empty() {
        return Ok(true);
    }
    set_columns(c, tenant, after.id, changed).await
}

/// Finds a ticket, trashed ones included.
pub async fn by_id(c: &mut Conn, tenant: TenantId, id: TicketId) -> Result<Option<TicketRow>> {
    let sql = format!("SELECT {COLS} FROM tickets WHERE tenant_id = $1 AND id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id.0).fetch_optional(c).await?;
    row.as_ref().map(from_row).transpose()
}

/// Finds a ticket to change it in the caller's transaction, trashed ones included: the row
/// stays locked until the transaction ends ([`crate::dialect::row_lock`]).
pub async fn by_id_for_update(c: &mut Conn, tenant: TenantId, id: TicketId) -> Result<Option<TicketRow>> {
    let lock = crate::dialect::row_lock(c);
    let sql = format!("SELECT {COLS} FROM tickets WHERE tenant_id = $1 AND id = $2{lock}");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id.0).fetch_optional(c).await?;
    row.as_ref().map(from_row).transpose()
}

/// Finds tickets by ids (any order; the trash included, as `by_id`).
pub async fn by_ids(c: &mut Conn, tenant: TenantId, ids: &[TicketId]) -> Result<Vec<TicketRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = ids.iter().map(|i| i.0).collect();
    let rows = crate::ids::rows_by_ids(c, tenant, &ids, |marks| {
        format!("SELECT {COLS} FROM tickets WHERE tenant_id = $1 AND id IN ({marks})")
    })
    .await?;
    rows.iter().map(from_row).collect()
}

/// Tickets changed at or after `since` (and before `until`), by (updated_at, id), after a cursor
/// position. Trashed
/// tickets are included (the export reports them as deleted).
pub async fn changed_since(
    c: &mut Conn,
    tenant: TenantId,
    since: Timestamp,
    until: Option<Timestamp>,
    after: Option<(i64, i64)>,
    limit: i64,
) -> Result<Vec<TicketRow>> {
    let (t, i) = after.unwrap_or((since.0, -1));
    let sql = format!(
        "SELECT {COLS} FROM tickets WHERE tenant_id = $1 AND restricted = 0 AND updated_at >= $2 AND updated_at < $5 AND (updated_at > $3 OR (updated_at = $3 AND id > $4)) ORDER BY updated_at, id LIMIT {limit}"
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

/// Deletes a ticket row for good (comments and attachments are deleted by their modules).
pub async fn delete(c: &mut Conn, tenant: TenantId, id: TicketId) -> Result<bool> {
    sqlx::query("DELETE FROM ticket_collaborators WHERE tenant_id = $1 AND ticket_id = $2")
        .bind(tenant.0)
        .bind(id.0)
        .execute(&mut *c)
        .await?;
    set_tag_hashes(c, tenant, id, &[]).await?;
    let done = sqlx::query("DELETE FROM tickets WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id.0)
        .execute(c)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// A CC or follower link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Collaborator {
    /// The person.
    pub user_id: UserId,
    /// `collaborator`, `email_cc` or `follower`.
    pub kind: &'static str,
}

/// Replaces the links of one kind on a ticket.
pub async fn set_collaborators(c: &mut Conn, tenant: TenantId, ticket: TicketId, kind: &'static str, users: &[UserId], now: Timestamp) -> Result<()> {
    sqlx::query("DELETE FROM ticket_collaborators WHERE tenant_id = $1 AND ticket_id = $2 AND kind = $3")
        .bind(tenant.0)
        .bind(ticket.0)
        .bind(kind)
        .execute(&mut *c)
        .await?;
    for u in users {
        sqlx::query("INSERT INTO ticket_collaborators (tenant_id, ticket_id, user_id, kind, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(tenant.0)
            .bind(ticket.0)
            .bind(u.0)
            .bind(kind)
            .bind(now.0)
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

/// The links of several tickets: (ticket id, user id, kind).
pub async fn collaborators(c: &mut Conn, tenant: TenantId, tickets: &[TicketId]) -> Result<Vec<(TicketId, UserId, String)>> {
    if tickets.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = tickets.iter().map(|t| t.0).collect();
    // A ticket's links are all in one piece, in the order they were made.
    let rows = crate::ids::rows_by_ids(c, tenant, &ids, |marks| {
        format!("SELECT ticket_id, user_id, kind FROM ticket_collaborators WHERE tenant_id = $1 AND ticket_id IN ({marks}) ORDER BY created_at, user_id")
    })
    .await?;
    rows.iter()
        .map(|r| Ok((TicketId(i64_(r, "ticket_id")?), UserId(i64_(r, "user_id")?), text(r, "kind")?)))
        .collect()
}

/// Marks every ticket `requester` asked for restricted or not; returns how many.
pub async fn set_restricted_for_requester(c: &mut Conn, tenant: TenantId, requester: UserId, restricted: bool) -> Result<u64> {
    let done = sqlx::query("UPDATE tickets SET restricted = $3 WHERE tenant_id = $1 AND requester_id = $2")
        .bind(tenant.0)
        .bind(requester.0)
        .bind(i64::from(restricted))
        .execute(c)
        .await?;
    Ok(done.rows_affected())
}

/// Takes every ticket of a group out of it (the group is being deleted).
pub async fn clear_group(c: &mut Conn, tenant: TenantId, group: GroupId) -> Result<u64> {
    let done = sqlx::query("UPDATE tickets SET group_id = NULL WHERE tenant_id = $1 AND group_id = $2")
        .bind(tenant.0)
        .bind(group.0)
        .execute(c)
        .await?;
    Ok(done.rows_affected())
}

/// Takes every ticket of an organisation out of it (the organisation is being deleted).
pub async fn clear_organization(c: &mut Conn, tenant: TenantId, org: OrganizationId) -> Result<u64> {
    let done = sqlx::query("UPDATE tickets SET organization_id = NULL WHERE tenant_id = $1 AND organization_id = $2")
        .bind(tenant.0)
        .bind(org.0)
        .execute(c)
        .await?;
    Ok(done.rows_affected())
}

/// Marks tickets restricted (or not), e.g. while a legal hold keeps them. Returns how many changed.
pub async fn set_restricted_ids(c: &mut Conn, tenant: TenantId, ids: &[i64], on: bool) -> Result<u64> {
    let mut n = 0;
    for id in ids {
        n += sqlx::query("UPDATE tickets SET restricted = $3 WHERE tenant_id = $1 AND id = $2 AND restricted <> $3")
            .bind(tenant.0)
            .bind(*id)
            .bind(i64::from(on))
            .execute(&mut *c)
            .await?
            .rows_affected();
    }
    Ok(n)
}

/// Clears the assignee of the given tickets if it is `user`. Returns how many changed.
pub async fn unassign(c: &mut Conn, tenant: TenantId, user: UserId, ids: &[i64]) -> Result<u64> {
    let mut n = 0;
    for id in ids {
        n += sqlx::query("UPDATE tickets SET assignee_id = NULL WHERE tenant_id = $1 AND id = $2 AND assignee_id = $3")
            .bind(tenant.0)
            .bind(*id)
            .bind(user.0)
            .execute(&mut *c)
            .await?
            .rows_affected();
    }
    Ok(n)
}

/// Removes one person's CC and follower links from a ticket. Returns how many went.
pub async fn remove_collaborator(c: &mut Conn, tenant: TenantId, ticket: i64, user: UserId) -> Result<u64> {
    Ok(
        sqlx::query("DELETE FROM ticket_collaborators WHERE tenant_id = $1 AND ticket_id = $2 AND user_id = $3")
            .bind(tenant.0)
            .bind(ticket)
            .bind(user.0)
            .execute(c)
            .await?
            .rows_affected(),
    )
}

/// Replaces a ticket's rows in the tag blind index (keyed hashes of its tags, in the same
/// transaction as its sealed tags).
pub async fn set_tag_hashes(c: &mut Conn, tenant: TenantId, id: TicketId, hashes: &[Vec<u8>]) -> Result<()> {
    sqlx::query("DELETE FROM ticket_tags WHERE tenant_id = $1 AND ticket_id = $2")
        .bind(tenant.0)
        .bind(id.0)
        .execute(&mut *c)
        .await?;
    add_tag_hashes(c, tenant, id, hashes).await
}

/// Adds the tag rows of a ticket that has none yet (a new one), in one statement.
pub async fn add_tag_hashes(c: &mut Conn, tenant: TenantId, id: TicketId, hashes: &[Vec<u8>]) -> Result<()> {
    let mut unique: Vec<&Vec<u8>> = hashes.iter().collect();
    unique.sort();
    unique.dedup();
    let rows: Vec<(TicketId, Vec<u8>)> = unique.into_iter().map(|h| (id, h.clone())).collect();
    add_tag_hashes_many(c, tenant, &rows).await
}

/// Adds tag rows (ticket, keyed hash of the tag) to new tickets, many at once.
pub async fn add_tag_hashes_many(c: &mut Conn, tenant: TenantId, rows: &[(TicketId, Vec<u8>)]) -> Result<()> {
    const COLS: usize = 3;
    for chunk in crate::bulk::pieces(rows, COLS) {
        let sql = format!(
            "INSERT INTO ticket_tags (tenant_id, ticket_id, tag_hash) VALUES {} ON CONFLICT DO NOTHING",
            crate::bulk::values(1, chunk.len(), COLS)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (ticket, hash) in chunk {
            q = q.bind(tenant.0).bind(ticket.0).bind(hash.clone());
        }
        q.execute(&mut *c).await?;
    }
    Ok(())
}

/// Tickets (trashed ones included) carrying the tag whose keyed hash is `hash`, by id.
pub async fn with_tag_hash(c: &mut Conn, tenant: TenantId, hash: &[u8]) -> Result<Vec<i64>> {
    Ok(
        sqlx::query_scalar("SELECT ticket_id FROM ticket_tags WHERE tenant_id = $1 AND tag_hash = $2 ORDER BY ticket_id")
            .bind(tenant.0)
            .bind(hash.to_vec())
            .fetch_all(c)
            .await?,
    )
}

/// Tenants whose tickets from before the tag blind index still need their rows.
pub async fn tag_backfill_pending(c: &mut Conn) -> Result<Vec<TenantId>> {
    let ids: Vec<i64> = sqlx::query_scalar("SELECT tenant_id FROM ticket_tags_backfill ORDER BY tenant_id")
        .fetch_all(c)
        .await?;
    Ok(ids.into_iter().map(TenantId).collect())
}

/// Marks a tenant's tag rows as filled in.
pub async fn tag_backfill_done(c: &mut Conn, tenant: TenantId) -> Result<()> {
    sqlx::query("DELETE FROM ticket_tags_backfill WHERE tenant_id = $1")
        .bind(tenant.0)
        .execute(c)
        .await?;
    Ok(())
}

/// Tenants whose tickets' external ids are still to be indexed (see migration 23).
pub async fn external_id_backfill_pending(c: &mut Conn) -> Result<Vec<TenantId>> {
    let ids: Vec<i64> = sqlx::query_scalar("SELECT tenant_id FROM ticket_external_id_backfill ORDER BY tenant_id")
        .fetch_all(c)
        .await?;
    Ok(ids.into_iter().map(TenantId).collect())
}

/// Marks a tenant's tickets' external ids as indexed.
pub async fn external_id_backfill_done(c: &mut Conn, tenant: TenantId) -> Result<()> {
    sqlx::query("DELETE FROM ticket_external_id_backfill WHERE tenant_id = $1")
        .bind(tenant.0)
        .execute(c)
        .await?;
    Ok(())
}

/// Ids of a tenant's tickets that have an external id, after `after`, at most `limit`, by id.
pub async fn ids_with_external_id_after(c: &mut Conn, tenant: TenantId, after: i64, limit: i64) -> Result<Vec<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM tickets WHERE tenant_id = $1 AND id > $2 AND external_id_enc IS NOT NULL ORDER BY id LIMIT $3")
            .bind(tenant.0)
            .bind(after)
            .bind(limit)
            .fetch_all(c)
            .await?,
    )
}

/// Ids of a tenant's tickets (the trash included) after `after`, at most `limit`, by id.
pub async fn ids_after(c: &mut Conn, tenant: TenantId, after: i64, limit: i64) -> Result<Vec<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM tickets WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3")
            .bind(tenant.0)
            .bind(after)
            .bind(limit)
            .fetch_all(c)
            .await?,
    )
}

/// The sealed tags of the tenant's tickets changed since `since`, newest first, at most
/// `limit`: trashed and restricted tickets left out (what the tenant's popular tags count).
pub async fn recent_tags(c: &mut Conn, tenant: TenantId, since: Timestamp, limit: i64) -> Result<Vec<Vec<u8>>> {
    let rows = sqlx::query(
        "SELECT tags_enc FROM tickets WHERE tenant_id = $1 AND updated_at >= $2 AND deleted_at IS NULL AND restricted = 0 \
         ORDER BY updated_at DESC, id DESC LIMIT $3",
    )
    .bind(tenant.0)
    .bind(since.0)
    .bind(limit)
    .fetch_all(c)
    .await?;
    rows.iter().map(|r| bytes(r, "tags_enc")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The columns statements set since last asked, by name.
    async fn set(c: &mut Conn) -> Vec<String> {
        let names: Vec<String> = sqlx::query_scalar("SELECT name FROM set_columns ORDER BY name")
            .fetch_all(&mut *c)
            .await
            .unwrap();
        sqlx::query("DELETE FROM set_columns").execute(&mut *c).await.unwrap();
        names
    }

    /// A change written through [`update_from`] sets only the columns that differ (SQLite
    /// fires an `UPDATE OF` trigger for a column the statement sets, whether its value changed
    /// or not), and the row read back is the changed row; [`update`] sets them all.
    #[tokio::test]
    async fn a_change_sets_only_the_columns_that_differ() {
        let dir = std::env::temp_dir().join(format!("suoja-ticket-update-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let db = crate::Db::connect(&format!("sqlite://{}/t.db", dir.display()), &crate::DbOptions::default())
            .await
            .unwrap();
        let mut tx = db.begin().await.unwrap();
        sqlx::query(
            "CREATE TABLE set_columns (name TEXT NOT NULL); \
             CREATE TRIGGER requester_set AFTER UPDATE OF requester_id ON tickets BEGIN INSERT INTO set_columns VALUES ('requester_id'); END; \
             CREATE TRIGGER tags_set AFTER UPDATE OF tags_enc ON tickets BEGIN INSERT INTO set_columns VALUES ('tags_enc'); END; \
             CREATE TRIGGER status_set AFTER UPDATE OF status_rank ON tickets BEGIN INSERT INTO set_columns VALUES ('status_rank'); END;",
        )
        .execute(&mut *tx)
        .await
        .unwrap();
        let tenant = TenantId(1);
        let mut row = TicketRow {
            id: TicketId(0),
            key_id: KeyId(3),
            requester_id: UserId(5),
            submitter_id: UserId(5),
            assignee_id: None,
            group_id: None,
            organization_id: None,
            subject_enc: Some(vec![1, 2]),
            description_enc: vec![3],
            status: Status::New,
            priority: Some("normal".into()),
            ticket_type: None,
            tags_enc: vec![4],
            custom_fields_enc: vec![5],
            external_id_enc: None,
            due_at: None,
            via: "api".into(),
            created_at: Timestamp(10),
            updated_at: Timestamp(10),
            deleted_at: None,
            deleted_by: None,
            restricted: false,
            closed_at: None,
            ticket_form_id: None,
        };
        row.id = insert(&mut tx, tenant, &row).await.unwrap();
        let read = by_id(&mut tx, tenant, row.id).await.unwrap().unwrap();
        let mut changed = read.clone();
        changed.updated_at = Timestamp(20);
        changed.assignee_id = Some(UserId(7));
        assert!(update_from(&mut tx, tenant, &read, &changed).await.unwrap());
        assert!(set(&mut tx).await.is_empty(), "a reply's change sets neither requester, tags nor status");
        changed.status = Status::Open;
        changed.tags_enc = vec![9, 9];
        let read_again = by_id(&mut tx, tenant, row.id).await.unwrap().unwrap();
        assert_eq!((read_again.updated_at, read_again.assignee_id), (Timestamp(20), Some(UserId(7))));
        assert!(update_from(&mut tx, tenant, &read_again, &changed).await.unwrap());
        assert_eq!(set(&mut tx).await, vec!["status_rank", "tags_enc"]);
        let stored = by_id(&mut tx, tenant, row.id).await.unwrap().unwrap();
        assert_eq!(format!("{stored:?}"), format!("{changed:?}"));
        assert!(update_from(&mut tx, tenant, &stored, &stored).await.unwrap(), "nothing to write");
        assert!(set(&mut tx).await.is_empty());
        assert!(update(&mut tx, tenant, &stored).await.unwrap());
        assert_eq!(
            set(&mut tx).await,
            vec!["requester_id", "status_rank", "tags_enc"],
            "a whole write sets every column"
        );
        let mut elsewhere = stored.clone();
        elsewhere.id = TicketId(row.id.0 + 1);
        assert!(!update(&mut tx, tenant, &elsewhere).await.unwrap(), "no such ticket");
        drop(tx);
        db.close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
