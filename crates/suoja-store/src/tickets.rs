//! Tickets and their CC/follower links. Subject, description, tags, custom fields and external
//! id are ciphertext under the requester's key (`key_id`).

use sqlx::AnyConnection;
use suoja_core::{GroupId, KeyId, OrganizationId, TenantId, TicketId, Timestamp, UserId};

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
    /// Status wire value.
    pub status: String,
    /// Status order, for `status<solved`.
    pub status_rank: i64,
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
}

const COLS: &str = "id, key_id, requester_id, submitter_id, assignee_id, group_id, organization_id, subject_enc, description_enc, status, status_rank, priority, ticket_type, tags_enc, custom_fields_enc, external_id_enc, due_at, via, created_at, updated_at, deleted_at, deleted_by, restricted, closed_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<TicketRow> {
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
        status: text(r, "status")?,
        status_rank: i64_(r, "status_rank")?,
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
    })
}

/// Inserts a ticket.
pub async fn insert(c: &mut AnyConnection, tenant: TenantId, t: &TicketRow) -> Result<TicketId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO tickets (tenant_id, key_id, requester_id, submitter_id, assignee_id, group_id, organization_id, subject_enc, description_enc, status, status_rank, priority, ticket_type, tags_enc, custom_fields_enc, external_id_enc, due_at, via, created_at, updated_at, deleted_at, deleted_by, restricted, closed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, NULL, NULL, $21, $22) RETURNING id",
    )
    .bind(tenant.0)
    .bind(t.key_id.0)
    .bind(t.requester_id.0)
    .bind(t.submitter_id.0)
    .bind(t.assignee_id.map(|u| u.0))
    .bind(t.group_id.map(|g| g.0))
    .bind(t.organization_id.map(|o| o.0))
    .bind(t.subject_enc.clone())
    .bind(t.description_enc.clone())
    .bind(t.status.clone())
    .bind(t.status_rank)
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
    .fetch_one(c)
    .await?;
    Ok(TicketId(id))
}

/// Writes every mutable column back.
pub async fn update(c: &mut AnyConnection, tenant: TenantId, t: &TicketRow) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE tickets SET key_id = $3, requester_id = $4, assignee_id = $5, group_id = $6, organization_id = $7, subject_enc = $8, description_enc = $9, status = $10, status_rank = $11, priority = $12, ticket_type = $13, tags_enc = $14, custom_fields_enc = $15, external_id_enc = $16, due_at = $17, updated_at = $18, deleted_at = $19, deleted_by = $20, closed_at = $21 \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.0)
    .bind(t.id.0)
    .bind(t.key_id.0)
    .bind(t.requester_id.0)
    .bind(t.assignee_id.map(|u| u.0))
    .bind(t.group_id.map(|g| g.0))
    .bind(t.organization_id.map(|o| o.0))
    .bind(t.subject_enc.clone())
    .bind(t.description_enc.clone())
    .bind(t.status.clone())
    .bind(t.status_rank)
    .bind(t.priority.clone())
    .bind(t.ticket_type.clone())
    .bind(t.tags_enc.clone())
    .bind(t.custom_fields_enc.clone())
    .bind(t.external_id_enc.clone())
    .bind(t.due_at.map(|d| d.0))
    .bind(t.updated_at.0)
    .bind(t.deleted_at.map(|d| d.0))
    .bind(t.deleted_by.map(|u| u.0))
    .bind(t.closed_at.map(|d| d.0))
    .execute(c)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Finds a ticket, trashed ones included.
pub async fn by_id(c: &mut AnyConnection, tenant: TenantId, id: TicketId) -> Result<Option<TicketRow>> {
    let sql = format!("SELECT {COLS} FROM tickets WHERE tenant_id = $1 AND id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id.0).fetch_optional(c).await?;
    row.as_ref().map(from_row).transpose()
}

/// How a list of tickets is chosen.
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    /// `true`: only trashed tickets; `false`: only live ones.
    pub deleted: bool,
    /// Requested by this user.
    pub requester: Option<UserId>,
    /// Assigned to this agent.
    pub assignee: Option<UserId>,
    /// Of this organisation.
    pub organization: Option<OrganizationId>,
    /// This user is CC'd (collaborator or e-mail CC).
    pub ccd: Option<UserId>,
    /// Only these ids.
    pub ids: Option<Vec<i64>>,
    /// Only tickets whose search entries hold every one of these word tokens.
    pub tokens: Vec<i64>,
    /// ... and every one of these tag tokens.
    pub tag_tokens: Vec<i64>,
    /// The word tokens must be in what end users can read (subject, public comments).
    pub public_only: bool,
    /// Priority equal to one of these (wire values).
    pub priorities: Option<Vec<String>>,
    /// Status equal to one of these ranks.
    pub status_ranks: Option<Vec<i64>>,
    /// Created at or after.
    pub created_from: Option<Timestamp>,
    /// Created before.
    pub created_to: Option<Timestamp>,
    /// Updated at or after.
    pub updated_from: Option<Timestamp>,
    /// Updated before.
    pub updated_to: Option<Timestamp>,
    /// Only ids above (cursor).
    pub after: Option<i64>,
    /// Only ids below (cursor backwards).
    pub before: Option<i64>,
    /// Include restricted tickets (only for a requester listing their own).
    pub include_restricted: bool,
    /// Only tickets without an assignee.
    pub unassigned: bool,
    /// Solved or closed at or after.
    pub closed_from: Option<Timestamp>,
}

fn where_clause(c: &AnyConnection, f: &TicketFilter) -> String {
    let mut w = String::from("tenant_id = $1");
    w.push_str(if f.deleted {
        " AND deleted_at IS NOT NULL"
    } else {
        " AND deleted_at IS NULL"
    });
    if !f.include_restricted {
        w.push_str(" AND restricted = 0");
    }
    if let Some(u) = f.requester {
        w.push_str(&format!(" AND requester_id = {}", u.0));
    }
    if f.unassigned {
        w.push_str(" AND assignee_id IS NULL");
    }
    if let Some(u) = f.assignee {
        w.push_str(&format!(" AND assignee_id = {}", u.0));
    }
    if let Some(o) = f.organization {
        w.push_str(&format!(" AND organization_id = {}", o.0));
    }
    if let Some(u) = f.ccd {
        w.push_str(&format!(
            " AND id IN (SELECT ticket_id FROM ticket_collaborators WHERE tenant_id = $1 AND user_id = {} AND kind IN ('collaborator', 'email_cc'))",
            u.0
        ));
    }
    if let Some(ids) = &f.ids {
        if ids.is_empty() {
            w.push_str(" AND 1 = 0");
        } else {
            w.push_str(&format!(" AND id IN ({})", ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")));
        }
    }
    let pg = c.backend_name().eq_ignore_ascii_case("postgresql");
    if let Some(cond) = crate::search::ticket_condition(pg, &f.tokens, f.public_only, &f.tag_tokens) {
        w.push_str(" AND ");
        w.push_str(&cond);
    }
    if let Some(p) = &f.priorities {
        let list: Vec<String> = p
            .iter()
            .filter(|x| x.chars().all(|c| c.is_ascii_lowercase()))
            .map(|x| format!("'{x}'"))
            .collect();
        if list.is_empty() {
            w.push_str(" AND 1 = 0");
        } else {
            w.push_str(&format!(" AND priority IN ({})", list.join(",")));
        }
    }
    if let Some(ranks) = &f.status_ranks {
        if ranks.is_empty() {
            w.push_str(" AND 1 = 0");
        } else {
            w.push_str(&format!(
                " AND status_rank IN ({})",
                ranks.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
            ));
        }
    }
    for (col, op, v) in [
        ("closed_at", ">=", f.closed_from),
        ("created_at", ">=", f.created_from),
        ("created_at", "<", f.created_to),
        ("updated_at", ">=", f.updated_from),
        ("updated_at", "<", f.updated_to),
    ] {
        if let Some(t) = v {
            w.push_str(&format!(" AND {col} {op} {}", t.0));
        }
    }
    w
}

/// Sort order of a ticket list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketSort {
    /// By id (cursor pagination).
    Id,
    /// Newest change first.
    UpdatedDesc,
    /// Oldest change first.
    UpdatedAsc,
    /// Newest first by creation.
    CreatedDesc,
    /// Oldest first by creation.
    CreatedAsc,
}

/// Lists tickets.
pub async fn list(c: &mut AnyConnection, tenant: TenantId, f: &TicketFilter, sort: TicketSort, limit: i64, offset: i64) -> Result<Vec<TicketRow>> {
    let mut w = where_clause(c, f);
    if let Some(a) = f.after {
        w.push_str(&format!(" AND id > {a}"));
    }
    let backwards = f.before.is_some();
    if let Some(b) = f.before {
        w.push_str(&format!(" AND id < {b}"));
    }
    let order = match (sort, backwards) {
        (TicketSort::Id, false) => "id ASC",
        (TicketSort::Id, true) => "id DESC",
        (TicketSort::UpdatedDesc, _) => "updated_at DESC, id DESC",
        (TicketSort::UpdatedAsc, _) => "updated_at ASC, id ASC",
        (TicketSort::CreatedDesc, _) => "created_at DESC, id DESC",
        (TicketSort::CreatedAsc, _) => "created_at ASC, id ASC",
    };
    let sql = format!("SELECT {COLS} FROM tickets WHERE {w} ORDER BY {order} LIMIT {limit} OFFSET {offset}");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).fetch_all(c).await?;
    let mut out: Vec<TicketRow> = rows.iter().map(from_row).collect::<Result<_>>()?;
    if backwards && sort == TicketSort::Id {
        out.reverse();
    }
    Ok(out)
}

/// How search results are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchSort {
    /// Best match first (newest first without words to match).
    Relevance,
    /// By a field, descending (`true`) or ascending; ties newest first.
    Field(SortField, bool),
}

/// A field search results can be ordered by (Zendesk's `sort_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    /// `updated_at`
    UpdatedAt,
    /// `created_at`
    CreatedAt,
    /// `priority` (low < normal < high < urgent)
    Priority,
    /// `status` (new < open < pending < hold < solved < closed)
    Status,
    /// `ticket_type`
    TicketType,
}

/// Ids and change times of matching tickets in `sort` order (search candidates).
pub async fn ordered_ids(c: &mut AnyConnection, tenant: TenantId, f: &TicketFilter, sort: SearchSort, limit: i64) -> Result<Vec<(i64, i64)>> {
    let pg = c.backend_name().eq_ignore_ascii_case("postgresql");
    let ranking = match sort {
        SearchSort::Relevance => crate::search::ticket_ranking(pg, &f.tokens, f.public_only),
        SearchSort::Field(..) => None,
    };
    let (join, order) = match (sort, ranking) {
        (SearchSort::Relevance, Some((ranked, dir))) => (
            format!(" JOIN ({ranked}) AS ranked ON ranked.doc = tickets.id"),
            format!("ranked.score {dir}, tickets.id DESC"),
        ),
        (SearchSort::Relevance, None) => (String::new(), "tickets.id DESC".to_string()),
        (SearchSort::Field(field, desc), _) => {
            let dir = if desc { "DESC" } else { "ASC" };
            let column = match field {
                SortField::UpdatedAt => "updated_at",
                SortField::CreatedAt => "created_at",
                SortField::Priority => "CASE priority WHEN 'low' THEN 1 WHEN 'normal' THEN 2 WHEN 'high' THEN 3 WHEN 'urgent' THEN 4 ELSE 0 END",
                SortField::Status => "status_rank",
                SortField::TicketType => "COALESCE(ticket_type, '')",
            };
            (String::new(), format!("{column} {dir}, tickets.id DESC"))
        }
    };
    // With the ranking joined, its subquery already keeps the tickets that hold the words.
    let ranked_filter = TicketFilter {
        tokens: if join.is_empty() { f.tokens.clone() } else { Vec::new() },
        ..f.clone()
    };
    let sql = format!(
        "SELECT tickets.id AS id, tickets.updated_at AS updated_at FROM tickets{join} WHERE {} ORDER BY {order} LIMIT {limit}",
        where_clause(c, &ranked_filter)
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).fetch_all(&mut *c).await?;
    let mut out: Vec<(i64, i64)> = rows.iter().map(|r| Ok((i64_(r, "id")?, i64_(r, "updated_at")?))).collect::<Result<_>>()?;
    let short = i64::try_from(out.len()).unwrap_or(i64::MAX) < limit;
    if short && !join.is_empty() {
        // Relevance ranks the newest matches only; older ones (or ones the other conditions
        // kept out of that window) follow, newest first.
        let mut w = where_clause(c, f);
        if !out.is_empty() {
            w.push_str(&format!(
                " AND tickets.id NOT IN ({})",
                out.iter().map(|(id, _)| id.to_string()).collect::<Vec<_>>().join(",")
            ));
        }
        let rest = limit - i64::try_from(out.len()).unwrap_or(0);
        let sql = format!("SELECT id, updated_at FROM tickets WHERE {w} ORDER BY id DESC LIMIT {rest}");
        for r in sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).fetch_all(&mut *c).await? {
            out.push((i64_(&r, "id")?, i64_(&r, "updated_at")?));
        }
    }
    Ok(out)
}

/// Ids and change times of matching tickets, newest first by id (search candidates).
pub async fn newest_ids(c: &mut AnyConnection, tenant: TenantId, f: &TicketFilter, limit: i64) -> Result<Vec<(i64, i64)>> {
    let sql = format!("SELECT id, updated_at FROM tickets WHERE {} ORDER BY id DESC LIMIT {limit}", where_clause(c, f));
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).fetch_all(c).await?;
    rows.iter().map(|r| Ok((i64_(r, "id")?, i64_(r, "updated_at")?))).collect()
}

/// Counts matching tickets, stopping at `cap` (search counts are bounded).
pub async fn count_capped(c: &mut AnyConnection, tenant: TenantId, f: &TicketFilter, cap: i64) -> Result<i64> {
    if cap == i64::MAX {
        return count(c, tenant, f).await;
    }
    let sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM tickets WHERE {} LIMIT {cap}) AS capped",
        where_clause(c, f)
    );
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(tenant.0).fetch_one(c).await?)
}

/// Counts tickets matching a filter (cursor bounds ignored).
pub async fn count(c: &mut AnyConnection, tenant: TenantId, f: &TicketFilter) -> Result<i64> {
    let sql = format!("SELECT COUNT(*) FROM tickets WHERE {}", where_clause(c, f));
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(tenant.0).fetch_one(c).await?)
}

/// The agent workspace's unsolved counts in one pass over the views index: assigned to `me`,
/// unassigned, new or open, pending (live, unrestricted tickets not yet solved).
pub async fn unsolved_counts(c: &mut AnyConnection, tenant: TenantId, me: UserId) -> Result<[i64; 4]> {
    let row = sqlx::query(
        "SELECT COUNT(CASE WHEN assignee_id = $2 THEN 1 END) AS mine, COUNT(CASE WHEN assignee_id IS NULL THEN 1 END) AS unassigned, \
         COUNT(CASE WHEN status_rank IN (0, 1) THEN 1 END) AS open, COUNT(CASE WHEN status_rank = 2 THEN 1 END) AS pending \
         FROM tickets WHERE tenant_id = $1 AND status_rank IN (0, 1, 2, 3) AND deleted_at IS NULL AND restricted = 0",
    )
    .bind(tenant.0)
    .bind(me.0)
    .fetch_one(c)
    .await?;
    Ok([i64_(&row, "mine")?, i64_(&row, "unassigned")?, i64_(&row, "open")?, i64_(&row, "pending")?])
}

/// Tickets changed at or after `since`, by (updated_at, id), after a cursor position. Trashed
/// tickets are included (the export reports them as deleted).
pub async fn changed_since(c: &mut AnyConnection, tenant: TenantId, since: Timestamp, after: Option<(i64, i64)>, limit: i64) -> Result<Vec<TicketRow>> {
    let (t, i) = after.unwrap_or((since.0, -1));
    let sql = format!(
        "SELECT {COLS} FROM tickets WHERE tenant_id = $1 AND restricted = 0 AND updated_at >= $2 AND (updated_at > $3 OR (updated_at = $3 AND id > $4)) ORDER BY updated_at, id LIMIT {limit}"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(since.0)
        .bind(t)
        .bind(i)
        .fetch_all(c)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Deletes a ticket row for good (comments and attachments are deleted by their modules).
pub async fn delete(c: &mut AnyConnection, tenant: TenantId, id: TicketId) -> Result<bool> {
    sqlx::query("DELETE FROM ticket_collaborators WHERE tenant_id = $1 AND ticket_id = $2")
        .bind(tenant.0)
        .bind(id.0)
        .execute(&mut *c)
        .await?;
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
pub async fn set_collaborators(c: &mut AnyConnection, tenant: TenantId, ticket: TicketId, kind: &'static str, users: &[UserId], now: Timestamp) -> Result<()> {
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
pub async fn collaborators(c: &mut AnyConnection, tenant: TenantId, tickets: &[TicketId]) -> Result<Vec<(TicketId, UserId, String)>> {
    if tickets.is_empty() {
        return Ok(Vec::new());
    }
    let list = tickets.iter().map(|t| t.0.to_string()).collect::<Vec<_>>().join(",");
    let sql = format!("SELECT ticket_id, user_id, kind FROM ticket_collaborators WHERE tenant_id = $1 AND ticket_id IN ({list}) ORDER BY created_at, user_id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).fetch_all(c).await?;
    rows.iter()
        .map(|r| Ok((TicketId(i64_(r, "ticket_id")?), UserId(i64_(r, "user_id")?), text(r, "kind")?)))
        .collect()
}

/// Marks tickets restricted (or not), e.g. while a legal hold keeps them. Returns how many changed.
pub async fn set_restricted_ids(c: &mut AnyConnection, tenant: TenantId, ids: &[i64], on: bool) -> Result<u64> {
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
pub async fn unassign(c: &mut AnyConnection, tenant: TenantId, user: UserId, ids: &[i64]) -> Result<u64> {
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
pub async fn remove_collaborator(c: &mut AnyConnection, tenant: TenantId, ticket: i64, user: UserId) -> Result<u64> {
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
