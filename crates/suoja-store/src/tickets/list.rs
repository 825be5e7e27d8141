//! Finding tickets: the filter (fields, the search engine's match, cursor bounds), listing in
//! an order, the search orders (relevance a window at a time, a field, newest), and counts.

use crate::{Conn, Engine};
use suoja_core::{OrganizationId, TenantId, Timestamp, UserId};

use crate::Result;
use crate::row::i64_;

use super::{COLS, TicketRow, from_row};

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

/// Builds a ranking query for given ticket ids.
pub type RankAmong = std::sync::Arc<dyn Fn(&[i64]) -> String + Send + Sync>;

/// A query (whose `$1` is the tenant) giving the matching tickets as (`doc`, `public_hits`,
/// `internal_hits`, `length`) rows: the same matches as `docs`, at most the newest `limit`, with
/// how many of the query's words each holds in what its end users read and in what only staff
/// read, and how many words it holds in all; `score` turns the three into its relevance.
#[derive(Clone)]
pub struct Ranking {
    /// The query.
    pub subquery: String,
    /// The same rows for the given matching tickets only (ids known to match): a reader's
    /// own tickets are ranked among themselves, so what other people's tickets hold never
    /// decides which of theirs are ranked.
    pub among: RankAmong,
    /// For an index that reads its lists of matches backwards slowly (FTS5 loads a word's
    /// whole list to walk it backwards): the same rows read forwards from where the newest
    /// `limit` matches begin, when they lie close together.
    pub dense: Option<Dense>,
    /// A match's relevance from (`public_hits`, `internal_hits`, `length`): higher is better.
    pub score: fn(i64, i64, i64) -> f64,
    /// The most rows the subquery returns (the newest matches): when it returns this many,
    /// older matches follow unranked.
    pub limit: i64,
}

/// Builds a query from a span of the index (see [`Dense`]).
pub type SpanQuery = std::sync::Arc<dyn Fn(i64) -> String + Send + Sync>;

/// The ranking of a query whose matches may lie close together among the newest documents.
/// `probe(span)` counts (up to twice the ranking's limit) the matches among the documents
/// within `span` of the newest; `within(span)` is the ranking's query over the newest `limit`
/// of those only. When a span holds at least `limit` matches, the two queries give the same
/// rows, and reading a span forwards is far cheaper than reading a whole list backwards.
#[derive(Clone)]
pub struct Dense {
    /// The first span counted, in the index's own units (a few thousand documents' worth).
    pub first: i64,
    /// Counts the matches within a span of the newest document.
    pub probe: SpanQuery,
    /// The ranking's query over the newest matches within a span.
    pub within: SpanQuery,
}

impl std::fmt::Debug for Ranking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ranking")
            .field("subquery", &self.subquery)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
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
    /// This user may read it as an end user: they requested it or are CC'd on it.
    pub reader: Option<UserId>,
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
    /// A view's conditions.
    pub conditions: Option<Conditions>,
}

/// A view's conditions as the store tests them: every one of `all` and, when `any` is not
/// empty, at least one of `any`.
#[derive(Debug, Clone, Default)]
pub struct Conditions {
    /// All of these hold.
    pub all: Vec<Condition>,
    /// At least one of these holds (none given: no test).
    pub any: Vec<Condition>,
}

/// A ticket's number column a condition tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdColumn {
    /// The status's rank (new 0 … closed 5).
    StatusRank,
    /// Requester.
    Requester,
    /// Submitter.
    Submitter,
    /// Assignee.
    Assignee,
    /// Group.
    Group,
    /// Organisation.
    Organization,
    /// Ticket form.
    Form,
}

impl IdColumn {
    fn sql(self) -> &'static str {
        match self {
            IdColumn::StatusRank => "status_rank",
            IdColumn::Requester => "requester_id",
            IdColumn::Submitter => "submitter_id",
            IdColumn::Assignee => "assignee_id",
            IdColumn::Group => "group_id",
            IdColumn::Organization => "organization_id",
            IdColumn::Form => "ticket_form_id",
        }
    }
}

/// A ticket's word column a condition tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WordColumn {
    /// Priority (`low` … `urgent`).
    Priority,
    /// Type (`question` … `task`).
    Type,
    /// The channel it came through (`web`, `email`, `api`, …).
    Via,
}

impl WordColumn {
    fn sql(self) -> &'static str {
        match self {
            WordColumn::Priority => "priority",
            WordColumn::Type => "ticket_type",
            WordColumn::Via => "via",
        }
    }
}

/// A ticket's time column a condition tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeColumn {
    /// Created.
    Created,
    /// Last changed.
    Updated,
    /// Last solved or closed.
    Closed,
    /// Due (tasks).
    Due,
    /// The earliest running SLA target is missed.
    SlaBreach,
}

impl TimeColumn {
    fn sql(self) -> &'static str {
        match self {
            TimeColumn::Created => "created_at",
            TimeColumn::Updated => "updated_at",
            TimeColumn::Closed => "closed_at",
            TimeColumn::Due => "due_at",
            TimeColumn::SlaBreach => "sla_breach_at",
        }
    }
}

/// One condition of a view.
#[derive(Debug, Clone)]
pub enum Condition {
    /// The column holds one of `values` (`None` standing for no value) or, with `negate`, none
    /// of them.
    Ids {
        /// Column.
        column: IdColumn,
        /// Values.
        values: Vec<Option<i64>>,
        /// None of them instead.
        negate: bool,
    },
    /// The same for a word column; a word of anything but lowercase letters and `_` matches
    /// nothing.
    Words {
        /// Column.
        column: WordColumn,
        /// Values.
        values: Vec<Option<String>>,
        /// None of them instead.
        negate: bool,
    },
    /// The column is set, at or after `from` and before `to` (each when given).
    Time {
        /// Column.
        column: TimeColumn,
        /// At or after.
        from: Option<Timestamp>,
        /// Before.
        to: Option<Timestamp>,
    },
    /// The ticket is among the ids the search engine's query gives (`$1` the tenant) or, with
    /// `negate`, not among them: tags.
    Index {
        /// The query (`doc` ids).
        docs: String,
        /// Not among them instead.
        negate: bool,
    },
    /// Nothing matches (a condition on something that does not exist).
    Never,
    /// Every one of these holds.
    All(Vec<Condition>),
}

impl Condition {
    fn sql(&self) -> String {
        fn set(col: &str, values: Vec<String>, has_null: bool, negate: bool) -> String {
            let inside = if values.is_empty() {
                None
            } else {
                Some(format!("{col} IN ({})", values.join(",")))
            };
            match (inside, has_null, negate) {
                (None, false, false) => "1 = 0".into(),
                (None, false, true) => "1 = 1".into(),
                (None, true, false) => format!("{col} IS NULL"),
                (None, true, true) => format!("{col} IS NOT NULL"),
                (Some(i), false, false) => i,
                (Some(i), false, true) => format!("({col} IS NULL OR NOT {i})"),
                (Some(i), true, false) => format!("({col} IS NULL OR {i})"),
                (Some(i), true, true) => format!("({col} IS NOT NULL AND NOT {i})"),
            }
        }
        match self {
            Condition::Ids { column, values, negate } => {
                let list = values.iter().flatten().map(i64::to_string).collect();
                set(column.sql(), list, values.iter().any(Option::is_none), *negate)
            }
            Condition::Words { column, values, negate } => {
                let list = values
                    .iter()
                    .flatten()
                    .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
                    .map(|w| format!("'{w}'"))
                    .collect();
                set(column.sql(), list, values.iter().any(Option::is_none), *negate)
            }
            Condition::Time { column, from, to } => {
                let col = column.sql();
                let mut t = format!("({col} IS NOT NULL");
                if let Some(f) = from {
                    t.push_str(&format!(" AND {col} >= {}", f.0));
                }
                if let Some(b) = to {
                    t.push_str(&format!(" AND {col} < {}", b.0));
                }
                t.push(')');
                t
            }
            Condition::Index { docs, negate } => format!("tickets.id {}IN ({docs})", if *negate { "NOT " } else { "" }),
            Condition::Never => "1 = 0".into(),
            Condition::All(cs) if cs.is_empty() => "1 = 1".into(),
            Condition::All(cs) => format!("({})", cs.iter().map(Condition::sql).collect::<Vec<_>>().join(" AND ")),
        }
    }
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
    if let Some(u) = f.reader {
        w.push_str(&format!(
            " AND (requester_id = {0} OR id IN (SELECT ticket_id FROM ticket_collaborators WHERE tenant_id = $1 AND user_id = {0} AND kind IN ('collaborator', 'email_cc')))",
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
    if let Some(cs) = &f.conditions {
        for c in &cs.all {
            w.push_str(&format!(" AND {}", c.sql()));
        }
        if !cs.any.is_empty() {
            let any: Vec<String> = cs.any.iter().map(Condition::sql).collect();
            w.push_str(&format!(" AND ({})", any.join(" OR ")));
        }
    }
    w
}

/// Sort order of a ticket list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketSort {
    /// By id (cursor pagination).
    Id,
    /// Highest id first.
    IdDesc,
    /// Newest change first.
    UpdatedDesc,
    /// Oldest change first.
    UpdatedAsc,
    /// Newest first by creation.
    CreatedDesc,
    /// Oldest first by creation.
    CreatedAsc,
}

/// What a grouped list keeps together: tickets sharing it come one after another, groups in
/// its order, each group in the list's own order. People, groups and organisations group by
/// id (their names are sealed or the tenant's to change); times by the day they fall on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupKey {
    /// Status, by rank (new, open, pending, hold, solved, closed).
    Status,
    /// Priority (none lowest, then low, normal, high, urgent).
    Priority,
    /// Ticket type (none lowest, then by name).
    Type,
    /// Requester.
    Requester,
    /// Assignee (none lowest).
    Assignee,
    /// Group (none lowest).
    Group,
    /// Organisation (none lowest).
    Organization,
    /// The day it was created, in a time zone `offset` milliseconds east of UTC.
    Created {
        /// Milliseconds east of UTC.
        offset: i64,
    },
    /// The day it last changed, likewise.
    Updated {
        /// Milliseconds east of UTC.
        offset: i64,
    },
    /// Its due day (none lowest), likewise.
    Due {
        /// Milliseconds east of UTC.
        offset: i64,
    },
}

impl GroupKey {
    /// The key as an SQL expression over `tickets` (integers or text, the same on both engines).
    fn sql(self) -> String {
        const DAY: i64 = 86_400_000;
        match self {
            GroupKey::Status => "status_rank".into(),
            GroupKey::Priority => "CASE priority WHEN 'low' THEN 1 WHEN 'normal' THEN 2 WHEN 'high' THEN 3 WHEN 'urgent' THEN 4 ELSE 0 END".into(),
            GroupKey::Type => "COALESCE(ticket_type, '')".into(),
            GroupKey::Requester => "requester_id".into(),
            GroupKey::Assignee => "COALESCE(assignee_id, 0)".into(),
            GroupKey::Group => "COALESCE(group_id, 0)".into(),
            GroupKey::Organization => "COALESCE(organization_id, 0)".into(),
            // Times are positive, so integer division is the floor on both engines.
            GroupKey::Created { offset } => format!("((created_at + ({offset})) / {DAY})"),
            GroupKey::Updated { offset } => format!("((updated_at + ({offset})) / {DAY})"),
            GroupKey::Due { offset } => format!("COALESCE((due_at + ({offset})) / {DAY}, -1)"),
        }
    }
}

/// Lists tickets.
pub async fn list(c: &mut Conn, tenant: TenantId, f: &TicketFilter, sort: TicketSort, limit: i64, offset: i64) -> Result<Vec<TicketRow>> {
    list_grouped(c, tenant, f, None, sort, limit, offset).await
}

/// Lists tickets grouped by `group` (ascending when its flag is set), each group in `sort`.
pub async fn list_grouped(
    c: &mut Conn,
    tenant: TenantId,
    f: &TicketFilter,
    group: Option<(GroupKey, bool)>,
    sort: TicketSort,
    limit: i64,
    offset: i64,
) -> Result<Vec<TicketRow>> {
    let Some(sql) = page_sql(c, tenant, f, group, sort, limit, offset).await? else {
        return Ok(Vec::new());
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).fetch_all(c).await?;
    let mut out: Vec<TicketRow> = rows.iter().map(from_row).collect::<Result<_>>()?;
    if f.before.is_some() && sort == TicketSort::Id {
        out.reverse();
    }
    Ok(out)
}

/// The query for a page of [`list_grouped`] (`$1` the tenant); `None` when a count found nothing.
pub(crate) async fn page_sql(
    c: &mut Conn,
    tenant: TenantId,
    f: &TicketFilter,
    group: Option<(GroupKey, bool)>,
    sort: TicketSort,
    limit: i64,
    offset: i64,
) -> Result<Option<String>> {
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
        (TicketSort::IdDesc, _) => "id DESC",
        (TicketSort::UpdatedDesc, _) => "updated_at DESC, id DESC",
        (TicketSort::UpdatedAsc, _) => "updated_at ASC, id ASC",
        (TicketSort::CreatedDesc, _) => "created_at DESC, id DESC",
        (TicketSort::CreatedAsc, _) => "created_at ASC, id ASC",
    };
    let order = match group {
        Some((g, asc)) => format!("{} {}, {order}", g.sql(), if asc { "ASC" } else { "DESC" }),
        None => order.to_string(),
    };
    let mut sql = format!("SELECT {COLS} FROM tickets WHERE {w} ORDER BY {order} LIMIT {limit} OFFSET {offset}");
    if let Some(index) = walk_index(c, f, group.is_some(), sort, limit, offset) {
        // Few matches: sorted from their ids; many: walked along the order's own index. Counted
        // first (one row back, not a thousand decoded), the ids read only when few.
        let capped = format!("SELECT COUNT(*) FROM (SELECT 1 FROM tickets WHERE {w} LIMIT {}) AS capped", FEW_MATCHES + 1);
        let matches: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(capped)).bind(tenant.0).fetch_one(&mut *c).await?;
        if matches == 0 {
            return Ok(None);
        }
        sql = if usize::try_from(matches).is_ok_and(|n| n <= FEW_MATCHES) {
            let probe = format!("SELECT id FROM tickets WHERE {w} LIMIT {}", FEW_MATCHES + 1);
            let ids: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(probe)).bind(tenant.0).fetch_all(&mut *c).await?;
            if ids.is_empty() {
                return Ok(None);
            }
            let ids = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
            format!("SELECT {COLS} FROM tickets WHERE tenant_id = $1 AND id IN ({ids}) ORDER BY {order} LIMIT {limit} OFFSET {offset}")
        } else {
            format!("SELECT {COLS} FROM tickets INDEXED BY {index} WHERE {w} ORDER BY {order} LIMIT {limit} OFFSET {offset}")
        };
    }
    Ok(Some(sql))
}

/// The index to walk for a page of a view-like list on SQLite, when its matches should first be
/// counted (up to [`FEW_MATCHES`]): statuses and an assignee (or none), as the default views
/// ask (a filter's fields or a view's conditions on those two columns alone), in order of
/// change or creation, within the first thousand. SQLite's statistics cannot tell how many
/// tickets such a list holds: "unassigned" looks as selective as one agent's tickets, and a status
/// is planned as holding every ticket. Planned from them, a view of every unassigned ticket
/// read and sorted all of them when nearly all were (6.5 s at a million tickets), and a view of
/// a status no ticket had walked every ticket in order of change looking for one (1.5 s). The
/// count reads at most a thousand and one entries of the views' index; with that many matches
/// the page is walked along the order's index (usually a page of tickets read; at worst, a view
/// matching just over a thousand of a million tickets, its first page reads about 50 000 and
/// its pages near the thousandth match most of the table), and with fewer the matches are
/// sorted from their ids. PostgreSQL's statistics know how many tickets have no assignee and
/// which statuses are rare: `None`.
fn walk_index(c: &Conn, f: &TicketFilter, grouped: bool, sort: TicketSort, limit: i64, offset: i64) -> Option<&'static str> {
    let index = match sort {
        TicketSort::UpdatedDesc | TicketSort::UpdatedAsc => "tickets_tenant_updated",
        TicketSort::CreatedDesc | TicketSort::CreatedAsc => "tickets_tenant_created",
        TicketSort::Id | TicketSort::IdDesc => return None,
    };
    // Every field named, so that a condition added to the filter is considered here.
    let TicketFilter {
        deleted: _,
        requester,
        assignee,
        organization,
        ccd,
        reader,
        ids,
        matching,
        excluding,
        priorities,
        status_ranks,
        created_from,
        created_to,
        updated_from,
        updated_to,
        after,
        before,
        include_restricted: _,
        unassigned,
        closed_from,
        conditions,
    } = f;
    let only_view_columns = requester.is_none()
        && organization.is_none()
        && ccd.is_none()
        && reader.is_none()
        && ids.is_none()
        && matching.is_none()
        && excluding.is_none()
        && priorities.is_none()
        && created_from.is_none()
        && created_to.is_none()
        && updated_from.is_none()
        && updated_to.is_none()
        && after.is_none()
        && before.is_none()
        && closed_from.is_none()
        && conditions.as_ref().is_none_or(|cs| cs.all.iter().chain(&cs.any).all(on_view_columns));
    let conditioned = conditions.as_ref().is_some_and(|cs| !cs.all.is_empty() || !cs.any.is_empty());
    let narrowed = status_ranks.is_some() || assignee.is_some() || *unassigned || conditioned;
    let within = usize::try_from(offset.saturating_add(limit)).is_ok_and(|n| n <= FEW_MATCHES);
    (c.engine() == Engine::Sqlite && !grouped && only_view_columns && narrowed && within).then_some(index)
}

/// Whether a view's condition tests only a ticket's status and assignee (columns of the views'
/// index, so that counting its matches reads the index alone).
fn on_view_columns(c: &Condition) -> bool {
    match c {
        Condition::Ids {
            column: IdColumn::StatusRank | IdColumn::Assignee,
            ..
        } => true,
        Condition::All(cs) => cs.iter().all(on_view_columns),
        _ => false,
    }
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

/// Below this many matches in the whole helpdesk, a reader's own matching tickets are found
/// from the matches; at or above it, from the reader's tickets.
const READER_FEW_MATCHES: i64 = 2000;

/// Relevance order: see [`ordered_ids`]. The ranked ids are checked against the other
/// conditions best first, a window at a time, until `limit` pass: usually one small lookup.
async fn ranked_ids(c: &mut Conn, tenant: TenantId, f: &TicketFilter, r: &Ranking, limit: i64) -> Result<Vec<(i64, i64)>> {
    let (sql, saturated, oldest) = match (f.reader, &f.matching) {
        // A reader (an end user) is ranked among their own matching tickets, the newest
        // `r.limit` of them: found from the index's matches when there are few, else by
        // testing each of the reader's tickets against the index.
        (Some(_), Some(m)) => {
            let rest = TicketFilter { matching: None, ..f.clone() };
            let probe = format!("SELECT COUNT(*) FROM (SELECT 1 FROM ({}) AS m LIMIT {READER_FEW_MATCHES}) AS capped", m.docs);
            let matches: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(probe)).bind(tenant.0).fetch_one(&mut *c).await?;
            let sql = if matches < READER_FEW_MATCHES {
                format!(
                    "SELECT tickets.id FROM ({}) AS m JOIN tickets ON tickets.id = m.doc WHERE {} ORDER BY tickets.id DESC LIMIT {}",
                    m.docs,
                    by_id_conditions(c, &rest),
                    r.limit
                )
            } else {
                format!(
                    "SELECT tickets.id FROM tickets WHERE {} AND {} ORDER BY tickets.id DESC LIMIT {}",
                    where_clause(&rest),
                    m.holds,
                    r.limit
                )
            };
            let own: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(tenant.0).fetch_all(&mut *c).await?;
            if own.is_empty() {
                return Ok(Vec::new());
            }
            let saturated = i64::try_from(own.len()).unwrap_or(i64::MAX) >= r.limit;
            (Some((r.among)(&own)), saturated, own.iter().min().copied())
        }
        _ => (None, false, None),
    };
    let rows = match sql {
        Some(sql) => int_rows::<4>(c, tenant, &sql, RANKING_COLUMNS).await?,
        None => newest_ranked(c, tenant, r).await?,
    };
    let mut ranked: Vec<(i64, f64)> = rows.into_iter().map(|[doc, p, i, len]| (doc, (r.score)(p, i, len))).collect();
    // Cut off at its limit: older matches were left unranked.
    let (saturated, oldest) = match f.reader {
        Some(_) => (saturated, oldest),
        None => (
            i64::try_from(ranked.len()).unwrap_or(i64::MAX) >= r.limit,
            ranked.iter().map(|(id, _)| *id).min(),
        ),
    };
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
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
        let passed: std::collections::HashMap<i64, i64> = int_rows::<2>(c, tenant, &sql, ["id", "updated_at"])
            .await?
            .into_iter()
            .map(|[id, at]| (id, at))
            .collect();
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

/// The columns of a ranking's rows.
const RANKING_COLUMNS: [&str; 4] = ["doc", "public_hits", "internal_hits", "length"];
/// The matches the first span must hold for the newest to be looked for within a span: a
/// quarter of the ranking's thousand, so that the span holding them is found in one or two
/// more counts and read in a few milliseconds.
const DENSE_AT_LEAST: i64 = 250;
/// Counts at most, before the ranking falls back to its plain query.
const DENSE_PROBES: usize = 3;
/// A count taking longer than this ends the search for a span: FTS5 finds where a span
/// begins only after the first document holding every word, so words that stand together only
/// lately in a long history cost each count a walk through that history. The plain query
/// follows, so such a query costs that one count more, not several.
const DENSE_PROBE_TIME: std::time::Duration = std::time::Duration::from_millis(3);

/// The ranking's rows of the newest matches (`limit` at most). With a [`Dense`] form, the
/// matches within a first span of the newest documents are counted: when they are many, the
/// span is widened (by the density seen) until it holds `limit` of them, and the ranking reads
/// that span forwards; otherwise — too few, a count that took long or found hardly more than
/// the one before, no span in a few steps, or the span's rows fell short (documents deleted in
/// between) — the plain query gives them.
async fn newest_ranked(c: &mut Conn, tenant: TenantId, r: &Ranking) -> Result<Vec<[i64; 4]>> {
    async fn probe(c: &mut Conn, d: &Dense, span: i64) -> Result<(i64, bool)> {
        let started = std::time::Instant::now();
        let found: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe((d.probe)(span))).fetch_one(&mut *c).await?;
        Ok((found, started.elapsed() <= DENSE_PROBE_TIME))
    }
    if let Some(d) = &r.dense {
        let mut span = d.first;
        let (mut found, mut quick) = probe(c, d, span).await?;
        let mut probes = 1;
        if found >= DENSE_AT_LEAST {
            while found < r.limit && quick && probes < DENSE_PROBES {
                // Widened so as to hold half as many again as needed, at the density seen.
                let factor = (r.limit.saturating_mul(3) / 2 / found.max(1)).saturating_add(1).max(2);
                span = span.saturating_mul(factor);
                let before = found;
                (found, quick) = probe(c, d, span).await?;
                probes += 1;
                if found < before.saturating_mul(3) / 2 && found < r.limit {
                    // The matches thin out further back: the plain query.
                    break;
                }
            }
            if found >= r.limit && quick {
                let rows = int_rows::<4>(c, tenant, &(d.within)(span), RANKING_COLUMNS).await?;
                if i64::try_from(rows.len()).unwrap_or(i64::MAX) >= r.limit {
                    return Ok(rows);
                }
            }
        }
    }
    int_rows::<4>(c, tenant, &r.subquery, RANKING_COLUMNS).await
}

/// The rows of `sql` (whose `$1` is the tenant), each `N` integer `columns`. On SQLite they
/// come back as one row, joined into a string by `group_concat` and split here: sqlx's SQLite
/// driver hands rows over from its worker thread one at a time, a few microseconds each, and a
/// search's ranking reads a thousand (measured at a million tickets: 13.8 ms through sqlx for a
/// query SQLite answers in about half that).
async fn int_rows<const N: usize>(c: &mut Conn, tenant: TenantId, sql: &str, columns: [&str; N]) -> Result<Vec<[i64; N]>> {
    if c.engine() == Engine::Postgres {
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).fetch_all(&mut *c).await?;
        return rows
            .iter()
            .map(|r| {
                let mut out = [0_i64; N];
                for (slot, name) in out.iter_mut().zip(columns) {
                    *slot = i64_(r, name)?;
                }
                Ok(out)
            })
            .collect();
    }
    // A value that is not an integer (none should be) comes back as a word that does not parse.
    let joined = columns
        .iter()
        .map(|name| format!("CASE WHEN typeof(p.{name}) = 'integer' THEN p.{name} ELSE 'not-an-integer' END"))
        .collect::<Vec<_>>()
        .join(" || ' ' || ");
    // Materialised: flattened into the outer query, each column's test and value would each
    // run the column's expression (a correlated lookup in the ranking's case) once.
    let packed = format!("WITH p AS MATERIALIZED ({sql}) SELECT IFNULL(group_concat({joined}, ' '), '') FROM p");
    let text: String = sqlx::query_scalar(sqlx::AssertSqlSafe(packed)).bind(tenant.0).fetch_one(&mut *c).await?;
    let numbers = text
        .split_ascii_whitespace()
        .map(|n| {
            n.parse::<i64>()
                .map_err(|_| crate::StoreError::Corrupt("a packed row held something other than an integer".into()))
        })
        .collect::<Result<Vec<i64>>>()?;
    if numbers.len() % N != 0 {
        return Err(crate::StoreError::Corrupt("packed rows of unequal length".into()));
    }
    Ok(numbers
        .chunks_exact(N)
        .map(|chunk| {
            let mut out = [0_i64; N];
            out.copy_from_slice(chunk);
            out
        })
        .collect())
}

/// Ids and change times of matching tickets, newest first by id (search candidates).
pub async fn newest_ids(c: &mut Conn, tenant: TenantId, f: &TicketFilter, limit: i64) -> Result<Vec<(i64, i64)>> {
    let sql = format!("SELECT id, updated_at FROM tickets WHERE {} ORDER BY id DESC LIMIT {limit}", where_clause(f));
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).fetch_all(c).await?;
    rows.iter().map(|r| Ok((i64_(r, "id")?, i64_(r, "updated_at")?))).collect()
}

/// Ids of matching tickets below `before` (all when `None`), newest first by id: the pages of
/// a search export, which walks every match rather than the first thousand.
pub async fn ids_before(c: &mut Conn, tenant: TenantId, f: &TicketFilter, before: Option<i64>, limit: i64) -> Result<Vec<i64>> {
    let below = before.map(|b| format!(" AND tickets.id < {b}")).unwrap_or_default();
    let sql = format!("SELECT id FROM tickets WHERE {}{below} ORDER BY id DESC LIMIT {limit}", where_clause(f));
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(tenant.0).fetch_all(c).await?)
}

/// Counts matching tickets, stopping at `cap` (search counts are bounded). With an index match
/// the count is driven by the index's matches, joined to the tickets by primary key, so it
/// stops after `cap` of them instead of first collecting every match. On SQLite, when nothing
/// but the match is asked of a live ticket, each match is looked up among the ids of the
/// tenant's live tickets (`tickets_live`, migration 41): a few bytes an entry instead of a page
/// of ticket rows each (the planner would take the table's primary key). `CROSS JOIN` keeps
/// the matches outside: with figures saying a tenant has few live tickets (many small
/// tenants), the planner would walk the tenant's tickets and run the whole match for each.
pub async fn count_capped(c: &mut Conn, tenant: TenantId, f: &TicketFilter, cap: i64) -> Result<i64> {
    if cap == i64::MAX {
        return count(c, tenant, f).await;
    }
    let sql = count_capped_sql(c, f, cap);
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(tenant.0).fetch_one(c).await?)
}

/// The query of [`count_capped`] (whose `$1` is the tenant).
pub(crate) fn count_capped_sql(c: &Conn, f: &TicketFilter, cap: i64) -> String {
    match &f.matching {
        Some(m) => {
            let rest = TicketFilter { matching: None, ..f.clone() };
            let conditions = where_clause(&rest);
            let (join, conditions) = if c.engine() == Engine::Sqlite && conditions == where_clause(&TicketFilter::default()) {
                ("CROSS JOIN tickets INDEXED BY tickets_live", conditions)
            } else {
                ("JOIN tickets", by_id_conditions(c, &rest))
            };
            format!(
                "SELECT COUNT(*) FROM (SELECT 1 FROM ({}) AS m {join} ON tickets.id = m.doc WHERE {conditions} LIMIT {cap}) AS capped",
                m.docs
            )
        }
        None => format!("SELECT COUNT(*) FROM (SELECT 1 FROM tickets WHERE {} LIMIT {cap}) AS capped", where_clause(f)),
    }
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
