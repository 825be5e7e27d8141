//! Tickets and their CC/follower links. Subject, description, tags, custom fields and external
//! id are ciphertext under the requester's key (`key_id`).

use crate::{Conn, Engine};
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
pub async fn insert(c: &mut Conn, tenant: TenantId, t: &TicketRow) -> Result<TicketId> {
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
pub async fn update(c: &mut Conn, tenant: TenantId, t: &TicketRow) -> Result<bool> {
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
pub async fn by_id(c: &mut Conn, tenant: TenantId, id: TicketId) -> Result<Option<TicketRow>> {
    let sql = format!("SELECT {COLS} FROM tickets WHERE tenant_id = $1 AND id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id.0).fetch_optional(c).await?;
    row.as_ref().map(from_row).transpose()
}

/// The search engine's answer to a ticket query, as SQL over `tickets` in a query whose `$1`
/// is the tenant: the store joins it without knowing how the index is kept.
#[derive(Debug, Clone)]
pub struct IndexMatch {
    /// A query giving the ids (`doc`) of the tickets whose index entries match, in no order.
    pub docs: String,
    /// The same test for one ticket at a time: a condition on `tickets.id` (for walking the
    /// tickets in another order and stopping at the first few that match).
    pub holds: String,
    /// Relevance, when the query has words to rank by.
    pub ranking: Option<Ranking>,
}

/// A query (whose `$1` is the tenant) giving the matching tickets as (`doc`, `score`) rows: the
/// same matches as `docs`, at most the newest `limit`.
#[derive(Debug, Clone)]
pub struct Ranking {
    /// The query.
    pub subquery: String,
    /// A higher score is a better match (else a lower one).
    pub higher_first: bool,
    /// The most rows the subquery returns (the newest matches): when it returns this many,
    /// older matches follow unranked.
    pub limit: i64,
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
    /// Only tickets the search index matches (built by the search engine).
    pub matching: Option<IndexMatch>,
    /// Leave out the tickets this query (from the search engine, `$1` the tenant) names as
    /// `doc`: a search's `-word`s.
    pub excluding: Option<String>,
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

fn where_clause(f: &TicketFilter) -> String {
    // Always first: `by_id_conditions` rewrites it.
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
    if let Some(m) = &f.matching {
        w.push_str(&format!(" AND tickets.id IN ({})", m.docs));
    }
    if let Some(docs) = &f.excluding {
        w.push_str(&format!(" AND tickets.id NOT IN ({docs})"));
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
pub async fn list(c: &mut Conn, tenant: TenantId, f: &TicketFilter, sort: TicketSort, limit: i64, offset: i64) -> Result<Vec<TicketRow>> {
    let mut w = where_clause(f);
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
///
/// By relevance, the index's ranking is read first (at most a few thousand (id, score) rows);
/// the tickets it names are then fetched by primary key with the other conditions, and ordered
/// by score. Reading the two apart keeps every engine on the same plan (a join would let a
/// planner scan every ticket to hash them). When the ranking was cut off at its limit, older
/// matches follow, newest first.
pub async fn ordered_ids(c: &mut Conn, tenant: TenantId, f: &TicketFilter, sort: SearchSort, limit: i64) -> Result<Vec<(i64, i64)>> {
    let order = match sort {
        SearchSort::Relevance => {
            if let Some(r) = f.matching.as_ref().and_then(|m| m.ranking.as_ref()) {
                return ranked_ids(c, tenant, f, r, limit).await;
            }
            "tickets.id DESC".to_string()
        }
        SearchSort::Field(field, desc) => {
            let dir = if desc { "DESC" } else { "ASC" };
            let column = match field {
                SortField::UpdatedAt => "updated_at",
                SortField::CreatedAt => "created_at",
                SortField::Priority => "CASE priority WHEN 'low' THEN 1 WHEN 'normal' THEN 2 WHEN 'high' THEN 3 WHEN 'urgent' THEN 4 ELSE 0 END",
                SortField::Status => "status_rank",
                SortField::TicketType => "COALESCE(ticket_type, '')",
            };
            format!("{column} {dir}, tickets.id DESC")
        }
    };
    let conditions = match &f.matching {
        // In another order than the index's, a query matching few tickets is answered from
        // their ids, one matching many by walking the tickets in that order and testing each
        // (the first page is then found after a few tests, not after collecting every match).
        Some(m) => {
            let rest = TicketFilter { matching: None, ..f.clone() };
            let sql = format!(
                "SELECT m.doc FROM ({}) AS m JOIN tickets ON tickets.id = m.doc WHERE {} LIMIT {}",
                m.docs,
                by_id_conditions(c, &rest),
                FEW_MATCHES + 1
            );
            let few: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(tenant.0).fetch_all(&mut *c).await?;
            if few.len() <= FEW_MATCHES {
                if few.is_empty() {
                    return Ok(Vec::new());
                }
                format!(
                    "tickets.id IN ({}) AND {}",
                    few.iter().map(i64::to_string).collect::<Vec<_>>().join(","),
                    by_id_conditions(c, &rest)
                )
            } else {
                format!("{} AND {}", where_clause(&rest), m.holds)
            }
        }
        None => where_clause(f),
    };
    let sql = format!("SELECT tickets.id AS id, tickets.updated_at AS updated_at FROM tickets WHERE {conditions} ORDER BY {order} LIMIT {limit}");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).fetch_all(&mut *c).await?;
    rows.iter().map(|r| Ok((i64_(r, "id")?, i64_(r, "updated_at")?))).collect()
}

/// Up to this many matches, a search in a field's order sorts the matches themselves.
const FEW_MATCHES: usize = 1000;

/// Relevance order: see [`ordered_ids`]. The ranked ids are checked against the other
/// conditions best first, a window at a time, until `limit` pass: usually one small lookup.
async fn ranked_ids(c: &mut Conn, tenant: TenantId, f: &TicketFilter, r: &Ranking, limit: i64) -> Result<Vec<(i64, i64)>> {
    let mut ranked: Vec<(i64, f64)> = sqlx::query_as(sqlx::AssertSqlSafe(r.subquery.clone()))
        .bind(tenant.0)
        .fetch_all(&mut *c)
        .await?;
    // Cut off at its limit: older matches were left unranked.
    let saturated = i64::try_from(ranked.len()).unwrap_or(i64::MAX) >= r.limit;
    let oldest = ranked.iter().map(|(id, _)| *id).min();
    ranked.sort_by(|a, b| {
        let by_score = if r.higher_first { b.1.total_cmp(&a.1) } else { a.1.total_cmp(&b.1) };
        by_score.then(b.0.cmp(&a.0))
    });
    let want = usize::try_from(limit).unwrap_or(0);
    let conditions = by_id_conditions(c, &TicketFilter { matching: None, ..f.clone() });
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(want);
    let mut at = 0;
    while out.len() < want && at < ranked.len() {
        // Ask for a little more than is missing: a few may fail the other conditions.
        let window = ranked.get(at..ranked.len().min(at + (want - out.len()).max(50) * 2)).unwrap_or_default();
        at += window.len();
        let sql = format!(
            "SELECT id, updated_at FROM tickets WHERE id IN ({}) AND {conditions}",
            window.iter().map(|(id, _)| id.to_string()).collect::<Vec<_>>().join(",")
        );
        let mut passed = std::collections::HashMap::new();
        for row in sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).fetch_all(&mut *c).await? {
            passed.insert(i64_(&row, "id")?, i64_(&row, "updated_at")?);
        }
        out.extend(window.iter().filter_map(|(id, _)| passed.get(id).map(|t| (*id, *t))));
    }
    out.truncate(want);
    if out.len() < want && saturated {
        // Relevance ranked the newest matches only; older ones follow, newest first.
        let mut w = where_clause(f);
        w.push_str(&format!(" AND tickets.id < {}", oldest.unwrap_or(0)));
        let rest = limit - i64::try_from(out.len()).unwrap_or(0);
        let sql = format!("SELECT id, updated_at FROM tickets WHERE {w} ORDER BY id DESC LIMIT {rest}");
        for r in sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).fetch_all(&mut *c).await? {
            out.push((i64_(&r, "id")?, i64_(&r, "updated_at")?));
        }
    }
    Ok(out)
}

/// Ids and change times of matching tickets, newest first by id (search candidates).
pub async fn newest_ids(c: &mut Conn, tenant: TenantId, f: &TicketFilter, limit: i64) -> Result<Vec<(i64, i64)>> {
    let sql = format!("SELECT id, updated_at FROM tickets WHERE {} ORDER BY id DESC LIMIT {limit}", where_clause(f));
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).fetch_all(c).await?;
    rows.iter().map(|r| Ok((i64_(r, "id")?, i64_(r, "updated_at")?))).collect()
}

/// Counts matching tickets, stopping at `cap` (search counts are bounded). With an index match
/// the count is driven by the index's matches, joined to the tickets by primary key, so it
/// stops after `cap` of them instead of first collecting every match.
pub async fn count_capped(c: &mut Conn, tenant: TenantId, f: &TicketFilter, cap: i64) -> Result<i64> {
    if cap == i64::MAX {
        return count(c, tenant, f).await;
    }
    let sql = match &f.matching {
        Some(m) => {
            let rest = TicketFilter { matching: None, ..f.clone() };
            format!(
                "SELECT COUNT(*) FROM (SELECT 1 FROM ({}) AS m JOIN tickets ON tickets.id = m.doc WHERE {} LIMIT {cap}) AS capped",
                m.docs,
                by_id_conditions(c, &rest)
            )
        }
        None => format!("SELECT COUNT(*) FROM (SELECT 1 FROM tickets WHERE {} LIMIT {cap}) AS capped", where_clause(f)),
    };
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(tenant.0).fetch_one(c).await?)
}

/// A filter's conditions for tickets already named by id (a join or an id list). On SQLite,
/// `+tenant_id` (a unary plus) keeps the planner from walking a (tenant_id, …) index, which its
/// sampled statistics can think small, instead of looking the ids up by primary key; on
/// PostgreSQL the plus would only blind the row estimates.
fn by_id_conditions(c: &Conn, f: &TicketFilter) -> String {
    let w = where_clause(f);
    if c.engine() == Engine::Postgres {
        w.replacen("tenant_id = $1", "tickets.tenant_id = $1", 1)
    } else {
        w.replacen("tenant_id = $1", "+tickets.tenant_id = $1", 1)
    }
}

/// Counts tickets matching a filter (cursor bounds ignored).
pub async fn count(c: &mut Conn, tenant: TenantId, f: &TicketFilter) -> Result<i64> {
    let sql = format!("SELECT COUNT(*) FROM tickets WHERE {}", where_clause(f));
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(tenant.0).fetch_one(c).await?)
}

/// The agent workspace's unsolved counts in one pass over the views index: assigned to `me`,
/// unassigned, new or open, pending (live, unrestricted tickets not yet solved).
pub async fn unsolved_counts(c: &mut Conn, tenant: TenantId, me: UserId) -> Result<[i64; 4]> {
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
pub async fn changed_since(c: &mut Conn, tenant: TenantId, since: Timestamp, after: Option<(i64, i64)>, limit: i64) -> Result<Vec<TicketRow>> {
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
    let list = tickets.iter().map(|t| t.0.to_string()).collect::<Vec<_>>().join(",");
    let sql = format!("SELECT ticket_id, user_id, kind FROM ticket_collaborators WHERE tenant_id = $1 AND ticket_id IN ({list}) ORDER BY created_at, user_id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).fetch_all(c).await?;
    rows.iter()
        .map(|r| Ok((TicketId(i64_(r, "ticket_id")?), UserId(i64_(r, "user_id")?), text(r, "kind")?)))
        .collect()
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
    let mut unique: Vec<&Vec<u8>> = hashes.iter().collect();
    unique.sort();
    unique.dedup();
    for h in unique {
        sqlx::query("INSERT INTO ticket_tags (tenant_id, ticket_id, tag_hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(tenant.0)
            .bind(id.0)
            .bind(h.clone())
            .execute(&mut *c)
            .await?;
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
