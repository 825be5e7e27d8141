//! Search over tickets, users and organisations: index maintenance (keyed token hashes) and
//! Zendesk-style queries answered from the index plus column filters.

use suoja_core::{Email, OrganizationId, Scope, Status, TenantId, TicketId, Timestamp, UserId};
use suoja_search::index::{self, DocKind, DocTokens, TicketQuery};
use suoja_search::query::Cmp;
use suoja_store::Conn;
use suoja_store::tickets::{SearchSort, TicketFilter};
use suoja_vault::Vault;

use crate::model::{Ticket, User};
use crate::{Helpdesk, HelpdeskError, Result};

/// Search never pages past this many results (as Zendesk).
pub const MAX_RESULTS: i64 = 1000;

/// Tickets read, opened and written to the index together by a full re-index.
const REINDEX_BATCH: i64 = 500;

/// What a document is indexed by: the text its end users can read, the text only staff can
/// (internal notes), and its tags (kept with the internal text: words never match them; a
/// `tags:` condition does, for staff, who see the tags).
pub(crate) struct DocText<'a> {
    pub public: &'a str,
    pub internal: &'a str,
    pub tags: &'a [String],
    /// A ticket's external id, found whole by `GET /tickets?external_id=` (never by words).
    pub external_id: Option<&'a str>,
}

impl<'a> DocText<'a> {
    /// A document all of whose text is public (users and organisations, searched by staff).
    pub(crate) fn public(text: &'a str) -> Self {
        DocText {
            public: text,
            internal: "",
            tags: &[],
            external_id: None,
        }
    }
}

/// A document's tokens under the tenant's search key.
pub(crate) async fn doc_tokens(v: &Vault, c: &mut Conn, tenant: TenantId, doc: &DocText<'_>) -> Result<DocTokens> {
    let h = v.search_hasher(c, tenant).await?;
    let public: Vec<i64> = suoja_search::terms(doc.public).iter().map(|t| h.token(t)).collect();
    let mut internal: Vec<i64> = suoja_search::terms(doc.internal).iter().map(|t| h.token(t)).collect();
    internal.extend(doc.tags.iter().map(|t| h.token(&index::tag_term(t))));
    internal.extend(doc.external_id.map(|x| h.token(&index::external_id_term(x))));
    Ok(DocTokens { public, internal })
}

/// Replaces a document's index entries.
pub(crate) async fn index_doc(v: &Vault, c: &mut Conn, tenant: TenantId, kind: DocKind, id: i64, doc: &DocText<'_>) -> Result<()> {
    let tokens = doc_tokens(v, c, tenant, doc).await?;
    index::replace(c, tenant, kind, id, &tokens).await?;
    Ok(())
}

/// Replaces an organisation's index entries: its name, searched by staff.
pub(crate) async fn index_org(v: &Vault, c: &mut Conn, tenant: TenantId, id: OrganizationId, name: &str) -> Result<()> {
    index_doc(v, c, tenant, DocKind::Organization, id.0, &DocText::public(name)).await
}

/// Indexes a document created in this transaction (it has no entries to replace).
pub(crate) async fn index_new_doc(v: &Vault, c: &mut Conn, tenant: TenantId, kind: DocKind, id: i64, doc: &DocText<'_>) -> Result<()> {
    let tokens = doc_tokens(v, c, tenant, doc).await?;
    index::insert(c, tenant, kind, id, &tokens).await?;
    Ok(())
}

/// Adds the terms of a new comment to a ticket's entries, as public or internal text.
pub(crate) async fn index_add(v: &Vault, c: &mut Conn, tenant: TenantId, id: TicketId, text: &str, public: bool) -> Result<()> {
    let h = v.search_hasher(c, tenant).await?;
    let tokens: Vec<i64> = suoja_search::terms(text).iter().map(|t| h.token(t)).collect();
    let tokens = if public {
        DocTokens {
            public: tokens,
            internal: Vec::new(),
        }
    } else {
        DocTokens {
            public: Vec::new(),
            internal: tokens,
        }
    };
    index::add(c, tenant, DocKind::Ticket, id.0, &tokens).await?;
    Ok(())
}

/// One search result.
#[derive(Debug, Clone)]
pub enum SearchHit {
    /// A ticket.
    Ticket(Box<Ticket>),
    /// A user.
    User(Box<User>),
    /// An organisation.
    Organization(Box<crate::orgs::Organization>),
}

/// A page of search results.
#[derive(Debug, Clone)]
pub struct SearchPage {
    /// The results.
    pub results: Vec<SearchHit>,
    /// Total matching.
    pub count: i64,
}

fn rank_set(cmp: Cmp, value: &str) -> Result<Vec<i64>> {
    let s = Status::parse(value).map_err(|e| HelpdeskError::BadQuery(format!("status {}", e.0)))?;
    let r = s as i64;
    Ok(Status::ALL
        .iter()
        .map(|x| *x as i64)
        .filter(|x| match cmp {
            Cmp::Eq => *x == r,
            Cmp::Lt => *x < r,
            Cmp::Le => *x <= r,
            Cmp::Gt => *x > r,
            Cmp::Ge => *x >= r,
        })
        .collect())
}

fn date(value: &str) -> Result<Timestamp> {
    Timestamp::parse(value).ok_or_else(|| HelpdeskError::BadQuery(format!("'{}' is not a date (use YYYY-MM-DD)", value.chars().take(40).collect::<String>())))
}

fn apply_dates(filters: &[(Cmp, String)], from: &mut Option<Timestamp>, to: &mut Option<Timestamp>) -> Result<()> {
    const DAY: i64 = 86_400_000;
    for (cmp, v) in filters {
        let t = date(v)?;
        let whole_day = !v.contains('T');
        match cmp {
            Cmp::Gt => *from = Some(if whole_day { Timestamp(t.0 + DAY) } else { Timestamp(t.0 + 1) }),
            Cmp::Ge => *from = Some(t),
            Cmp::Lt => *to = Some(t),
            Cmp::Le => *to = Some(if whole_day { Timestamp(t.0 + DAY) } else { Timestamp(t.0 + 1) }),
            Cmp::Eq => {
                *from = Some(t);
                *to = Some(Timestamp(t.0 + if whole_day { DAY } else { 1000 }));
            }
        }
    }
    Ok(())
}

/// Whether a query names what only tickets have (status, priority, people, tags, dates).
fn ticket_only(q: &suoja_search::Query) -> bool {
    !q.status.is_empty()
        || !q.priority.is_empty()
        || q.requester.is_some()
        || q.assignee.is_some()
        || !q.tags.is_empty()
        || !q.created.is_empty()
        || !q.updated.is_empty()
}

impl Helpdesk {
    async fn resolve_person(&self, c: &mut Conn, scope: &Scope, value: &str) -> Result<Option<UserId>> {
        if value == "me" {
            return Ok(Some(scope.actor));
        }
        if let Ok(id) = value.parse::<i64>() {
            return Ok(Some(UserId(id)));
        }
        match Email::parse(value) {
            Ok(e) => Ok(self.user_by_email(c, scope.tenant, &e).await?.map(|u| u.id)),
            Err(_) => Ok(None),
        }
    }

    /// Answers a Zendesk-style query, best match first; `page` is 1-based.
    pub async fn search(&self, scope: &Scope, query: &str, page: i64, per_page: i64) -> Result<SearchPage> {
        self.search_sorted(scope, query, SearchSort::Relevance, page, per_page).await
    }

    /// Answers a query in `sort` order: tickets by relevance (or a field), then users and
    /// organisations, newest first.
    pub async fn search_sorted(&self, scope: &Scope, query: &str, sort: SearchSort, page: i64, per_page: i64) -> Result<SearchPage> {
        let found = self.search_counting(scope, query, sort, page, per_page, MAX_RESULTS).await?;
        let mut tickets = Vec::new();
        let mut people: Vec<UserId> = Vec::new();
        for h in &found.results {
            match h {
                SearchHit::Ticket(t) => tickets.push(t.as_ref()),
                SearchHit::User(u) => people.push(u.id),
                SearchHit::Organization(_) => {}
            }
        }
        self.consulted(scope, &people, "search.result", "support");
        self.consulted_tickets(scope, tickets, "search.result", "support");
        Ok(found)
    }

    /// The ids of the tickets a query finds as `scope` would (tickets only, at most
    /// [`MAX_RESULTS`]), and how many tickets it finds in all (counted up to one past the cap).
    /// One query, so the set is consistent; nothing is shown, so no read is noted: for scoping
    /// a breach.
    pub async fn search_ticket_ids(&self, scope: &Scope, query: &str) -> Result<(Vec<i64>, i64)> {
        let q = suoja_search::parse(query).map_err(|e| HelpdeskError::BadQuery(e.0))?;
        if q.kind.as_deref().is_some_and(|k| k != "ticket") {
            return Err(HelpdeskError::BadQuery("a scope by search takes tickets only (type:ticket)".into()));
        }
        let query = format!("type:ticket {query}");
        let counted = self.search_counting(scope, &query, SearchSort::Relevance, 1, 1, MAX_RESULTS + 1).await?.count;
        if counted > MAX_RESULTS || counted == 0 {
            return Ok((Vec::new(), counted));
        }
        let found = self
            .search_counting(scope, &query, SearchSort::Relevance, 1, MAX_RESULTS, MAX_RESULTS + 1)
            .await?;
        let ids = found
            .results
            .iter()
            .filter_map(|h| match h {
                SearchHit::Ticket(t) => Some(t.id.0),
                _ => None,
            })
            .collect();
        Ok((ids, found.count))
    }

    /// Counts every match of a query (no result window).
    pub async fn search_count(&self, scope: &Scope, query: &str) -> Result<i64> {
        Ok(self.search_counting(scope, query, SearchSort::Relevance, 1, 1, i64::MAX).await?.count)
    }

    /// One page of a search export (Zendesk's `/search/export`): every match of one type
    /// (`ticket`, `user` or `organization`), newest first, `size` at a time below the cursor
    /// (the last id of the page before), without the 1 000-result window of `/search`. Returns
    /// the page and whether more follow. As in `/search`, end users find only tickets they may
    /// read, and no people or organisations.
    pub async fn search_export(&self, scope: &Scope, query: &str, kind: &str, before: Option<i64>, size: i64) -> Result<(Vec<SearchHit>, bool)> {
        let q = suoja_search::parse(query).map_err(|e| HelpdeskError::BadQuery(e.0))?;
        if q.kind.as_deref().is_some_and(|k| k != kind) {
            return Err(HelpdeskError::BadQuery("type: in the query must agree with filter[type]".into()));
        }
        let mut c = self.db.read().await?;
        let h = self.vault.search_hasher(&mut c, scope.tenant).await?;
        let limit = size + 1;
        let mut hits = Vec::new();
        match kind {
            "ticket" => {
                let f = self.ticket_filter(&mut c, scope, &q, &h).await?;
                let ids: Vec<TicketId> = suoja_store::tickets::ids_before(&mut c, scope.tenant, &f, before, limit)
                    .await?
                    .into_iter()
                    .map(TicketId)
                    .collect();
                let rows = suoja_store::tickets::by_ids(&mut c, scope.tenant, &ids).await?;
                let mut tickets = self.open_tickets(&mut c, scope, &rows).await?;
                tickets.sort_by_key(|t| std::cmp::Reverse(t.id));
                tickets.truncate(suoja_core::num::to_usize(limit));
                hits = tickets.into_iter().map(|t| SearchHit::Ticket(Box::new(t))).collect();
            }
            "user" | "organization" => {
                if ticket_only(&q) || q.words.is_empty() {
                    return Err(HelpdeskError::BadQuery(format!("a search of type {kind} takes words only")));
                }
                if scope.is_staff() {
                    let doc = if kind == "user" { DocKind::User } else { DocKind::Organization };
                    let words: Vec<i64> = q.words.iter().map(|w| h.token(w)).collect();
                    let excluded: Vec<i64> = q.excluded.iter().map(|w| h.token(w)).collect();
                    let left_out = index::any_of(&mut c, scope.tenant, doc, &excluded, i64::MAX).await?;
                    let ids: Vec<i64> = index::all_of(&mut c, scope.tenant, doc, &words)
                        .await?
                        .into_iter()
                        .filter(|id| before.is_none_or(|b| *id < b) && left_out.binary_search(id).is_err())
                        .collect();
                    for chunk in ids.chunks(200) {
                        if hits.len() >= suoja_core::num::to_usize(limit) {
                            break;
                        }
                        if doc == DocKind::User {
                            let chunk: Vec<UserId> = chunk.iter().copied().map(UserId).collect();
                            let mut rows = suoja_store::users::by_ids(&mut c, scope.tenant, &chunk).await?;
                            rows.sort_by_key(|r| std::cmp::Reverse(r.id));
                            for r in rows.iter().filter(|r| r.deleted_at.is_none() && !r.restricted) {
                                hits.push(SearchHit::User(Box::new(self.open_user(&mut c, scope.tenant, r).await?)));
                            }
                        } else {
                            for id in chunk {
                                if let Some(r) = suoja_store::organizations::by_id(&mut c, scope.tenant, OrganizationId(*id)).await? {
                                    hits.push(SearchHit::Organization(Box::new(r.into())));
                                }
                            }
                        }
                    }
                    hits.truncate(suoja_core::num::to_usize(limit));
                }
            }
            _ => {
                return Err(HelpdeskError::BadQuery(format!(
                    "filter[type] must be ticket, user or organization, not '{}'",
                    kind.chars().take(40).collect::<String>()
                )));
            }
        }
        let more = hits.len() > suoja_core::num::to_usize(size);
        hits.truncate(suoja_core::num::to_usize(size));
        let mut tickets = Vec::new();
        let mut people = Vec::new();
        for h in &hits {
            match h {
                SearchHit::Ticket(t) => tickets.push(t.as_ref()),
                SearchHit::User(u) => people.push(u.id),
                SearchHit::Organization(_) => {}
            }
        }
        self.consulted(scope, &people, "search.result", "support");
        self.consulted_tickets(scope, tickets, "search.result", "support");
        Ok((hits, more))
    }

    /// The ticket filter a parsed query stands for, as `scope` may search: the index's match
    /// of its words and tags (an end user's only in what they read), its `-word`s, status,
    /// priority, people and dates.
    async fn ticket_filter(&self, c: &mut Conn, scope: &Scope, q: &suoja_search::Query, h: &suoja_vault::TokenHasher) -> Result<TicketFilter> {
        let word_tokens: Vec<i64> = q.words.iter().map(|w| h.token(w)).collect();
        let excluded: Vec<i64> = q.excluded.iter().map(|w| h.token(w)).collect();
        let mut tag_tokens: Vec<i64> = q.tags.iter().map(|t| h.token(&index::tag_term(t))).collect();
        // Requesters do not see tags, so do not find tickets by them either.
        if !scope.is_staff() && !q.tags.is_empty() {
            tag_tokens.push(h.token(&index::tag_term("\u{0}staff only")));
        }
        let mut f = TicketFilter {
            matching: index::ticket_match(
                c,
                &TicketQuery {
                    words: &word_tokens,
                    // An end user's words must be in what they can read: a word only an
                    // internal note holds finds and counts nothing.
                    public_only: !scope.is_staff(),
                    tags: &tag_tokens,
                },
            ),
            // Left out by what the searcher can read: an end user's `-word` does not see
            // internal notes either.
            excluding: index::tickets_holding_any(c, &excluded, !scope.is_staff()),
            ..Default::default()
        };
        for (cmp, v) in &q.status {
            let set = rank_set(*cmp, v)?;
            f.status_ranks = Some(match f.status_ranks.take() {
                Some(prev) => prev.into_iter().filter(|r| set.contains(r)).collect(),
                None => set,
            });
        }
        if !q.priority.is_empty() {
            f.priorities = Some(q.priority.clone());
        }
        if let Some(r) = &q.requester {
            f.requester = Some(self.resolve_person(c, scope, r).await?.unwrap_or(UserId(-1)));
        }
        if let Some(a) = &q.assignee {
            f.assignee = Some(if a == "none" {
                UserId(-1)
            } else {
                self.resolve_person(c, scope, a).await?.unwrap_or(UserId(-1))
            });
        }
        if !scope.is_staff() {
            // An end user finds what they may read: tickets they requested or are CC'd on.
            f.reader = Some(scope.actor);
        }
        apply_dates(&q.created, &mut f.created_from, &mut f.created_to)?;
        apply_dates(&q.updated, &mut f.updated_from, &mut f.updated_to)?;
        Ok(f)
    }

    /// Answers a query, counting ticket matches up to `count_cap`: pages end at [`MAX_RESULTS`],
    /// and counting every match of a word most tickets contain costs more than the page itself.
    async fn search_counting(&self, scope: &Scope, query: &str, sort: SearchSort, page: i64, per_page: i64, count_cap: i64) -> Result<SearchPage> {
        if page < 1 || (page - 1) * per_page >= MAX_RESULTS {
            return Err(HelpdeskError::BadQuery(format!(
                "search results are limited to {MAX_RESULTS}; narrow the query"
            )));
        }
        let q = suoja_search::parse(query).map_err(|e| HelpdeskError::BadQuery(e.0))?;
        let mut c = self.db.read().await?;
        let h = self.vault.search_hasher(&mut c, scope.tenant).await?;
        let ticket_only = ticket_only(&q);
        let kind = q.kind.clone().unwrap_or_else(|| if ticket_only { "ticket".into() } else { "all".into() });
        if !matches!(kind.as_str(), "ticket" | "user" | "organization" | "all") {
            return Err(HelpdeskError::BadQuery(format!(
                "type must be ticket, user or organization, not '{}'",
                kind.chars().take(40).collect::<String>()
            )));
        }
        if q.words.is_empty() && !ticket_only && kind != "ticket" {
            return Err(HelpdeskError::BadQuery("the query has no words to search for".into()));
        }
        let word_tokens: Vec<i64> = q.words.iter().map(|w| h.token(w)).collect();
        let excluded: Vec<i64> = q.excluded.iter().map(|w| h.token(w)).collect();
        let window = page * per_page;
        // Candidates as (kind, place, id): tickets in the order asked, then users and
        // organisations newest first; only the page is opened.
        let mut candidates: Vec<(u8, i64, i64)> = Vec::new();
        let mut total = 0;
        if kind == "ticket" || kind == "all" {
            let f = self.ticket_filter(&mut c, scope, &q, &h).await?;
            // The index answers the words in one pass per query (its matches are read once and
            // joined to the tickets), so no per-word selectivity probe is needed.
            total += suoja_store::tickets::count_capped(&mut c, scope.tenant, &f, count_cap).await?;
            let ordered = suoja_store::tickets::ordered_ids(&mut c, scope.tenant, &f, sort, window).await?;
            candidates.extend(
                ordered
                    .into_iter()
                    .enumerate()
                    .map(|(place, (id, _))| (0, i64::try_from(place).unwrap_or(i64::MAX), id)),
            );
        }
        if scope.is_staff() && (kind == "user" || kind == "all") && !word_tokens.is_empty() {
            let left_out = index::any_of(&mut c, scope.tenant, DocKind::User, &excluded, i64::MAX).await?;
            let ids: Vec<UserId> = index::all_of(&mut c, scope.tenant, DocKind::User, &word_tokens)
                .await?
                .into_iter()
                .filter(|id| left_out.binary_search(id).is_err())
                .map(UserId)
                .collect();
            for chunk in ids.chunks(500) {
                for r in suoja_store::users::by_ids(&mut c, scope.tenant, chunk)
                    .await?
                    .iter()
                    .filter(|r| r.deleted_at.is_none() && !r.restricted)
                {
                    total += 1;
                    candidates.push((1, -r.id.0, r.id.0));
                }
            }
        }
        if scope.is_staff() && (kind == "organization" || kind == "all") && !word_tokens.is_empty() {
            let left_out = index::any_of(&mut c, scope.tenant, DocKind::Organization, &excluded, i64::MAX).await?;
            for id in index::all_of(&mut c, scope.tenant, DocKind::Organization, &word_tokens)
                .await?
                .into_iter()
                .filter(|id| left_out.binary_search(id).is_err())
            {
                if let Some(r) = suoja_store::organizations::by_id(&mut c, scope.tenant, OrganizationId(id)).await? {
                    total += 1;
                    candidates.push((2, -r.id.0, id));
                }
            }
        }
        candidates.sort_by_key(|(kind, place, _)| (*kind, *place));
        let start = suoja_core::num::to_usize(((page - 1) * per_page).max(0));
        let page: Vec<(u8, i64)> = candidates
            .into_iter()
            .skip(start)
            .take(suoja_core::num::to_usize(per_page))
            .map(|(k, _, id)| (k, id))
            .collect();
        // The page's tickets are read and opened together (their rows and links in two queries).
        let ticket_ids: Vec<TicketId> = page.iter().filter(|(k, _)| *k == 0).map(|(_, id)| TicketId(*id)).collect();
        let rows = suoja_store::tickets::by_ids(&mut c, scope.tenant, &ticket_ids).await?;
        let mut tickets: std::collections::HashMap<i64, Ticket> = self.open_tickets(&mut c, scope, &rows).await?.into_iter().map(|t| (t.id.0, t)).collect();
        let mut results = Vec::new();
        for (kind, id) in page {
            match kind {
                0 => {
                    if let Some(t) = tickets.remove(&id) {
                        results.push(SearchHit::Ticket(Box::new(t)));
                    }
                }
                1 => {
                    if let Some(row) = suoja_store::users::by_id(&mut c, scope.tenant, UserId(id)).await? {
                        results.push(SearchHit::User(Box::new(self.open_user(&mut c, scope.tenant, &row).await?)));
                    }
                }
                _ => {
                    if let Some(row) = suoja_store::organizations::by_id(&mut c, scope.tenant, OrganizationId(id)).await? {
                        results.push(SearchHit::Organization(Box::new(crate::orgs::Organization::from(row))));
                    }
                }
            }
        }
        Ok(SearchPage { results, count: total })
    }

    /// Finds users by a free query over name, e-mail, phone and external id.
    pub async fn search_users(&self, scope: &Scope, query: &str) -> Result<Vec<User>> {
        crate::require_staff(scope)?;
        let mut c = self.db.read().await?;
        let h = self.vault.search_hasher(&mut c, scope.tenant).await?;
        let tokens: Vec<i64> = suoja_search::terms(query).iter().map(|w| h.token(w)).collect();
        let ids = index::all_of(&mut c, scope.tenant, DocKind::User, &tokens).await?;
        let ids: Vec<UserId> = ids.into_iter().take(100).map(UserId).collect();
        let rows = suoja_store::users::by_ids(&mut c, scope.tenant, &ids).await?;
        let mut out = Vec::new();
        for r in rows.iter().filter(|r| r.deleted_at.is_none() && !r.restricted) {
            out.push(self.open_user(&mut c, scope.tenant, r).await?);
        }
        out.sort_by_key(|u| u.id);
        self.consulted(scope, &out.iter().map(|u| u.id).collect::<Vec<_>>(), "user.found", "support");
        Ok(out)
    }

    /// Rebuilds every tenant's search index from the records (a restored backup leaves the index
    /// out): the emptied index is filled 200 documents a statement (tickets 500 at a time, see
    /// `reindex_tickets`). Documents whose data key is
    /// gone are left unindexed. Calls `progress` with the documents done; returns (indexed,
    /// unreadable).
    pub async fn reindex_all(&self, progress: &mut dyn FnMut(u64)) -> Result<(u64, u64)> {
        let tenants = {
            let mut c = self.db.read().await?;
            suoja_store::tenants::ids(&mut c).await?
        };
        let (mut done, mut unreadable) = (0u64, 0u64);
        suoja_store::dialect::bulk_cache(&self.db, true).await?;
        for tenant in tenants {
            let base = done + unreadable;
            let (n, bad) = self.reindex_tenant(tenant, &mut |n| progress(base + n)).await?;
            done += n;
            unreadable += bad;
        }
        self.compact_search_index().await?;
        suoja_store::dialect::bulk_cache(&self.db, false).await?;
        suoja_store::dialect::refresh_statistics(&self.db).await?;
        Ok((done, unreadable))
    }

    /// Merges the search index into one segment after a bulk load, so the writes that follow
    /// do not finish the load's merges in steps ([`index::compact`]). Holds the writer for
    /// about a second per million tickets, and memory for the index's old pages (~120 MB at a
    /// million): for seeding, restores and other times nothing else writes.
    pub async fn compact_search_index(&self) -> Result<()> {
        let mut tx = self.db.begin().await?;
        index::compact(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Rebuilds one tenant's search index from its records (a tenant moved in from another
    /// region, or restored): as [`Helpdesk::reindex_all`] for one tenant, for a tenant no one
    /// else writes to meanwhile. Returns (indexed, unreadable).
    pub async fn reindex_tenant(&self, tenant: TenantId, progress: &mut dyn FnMut(u64)) -> Result<(u64, u64)> {
        let (mut done, mut unreadable) = (0u64, 0u64);
        let mut tx = self.db.begin().await?;
        index::clear(&mut tx, tenant).await?;
        tx.commit().await?;
        for kind in DocKind::ALL {
            if kind == DocKind::Ticket {
                let base = done + unreadable;
                let (n, bad) = self.reindex_tickets(tenant, &mut |n| progress(base + n)).await?;
                done += n;
                unreadable += bad;
                continue;
            }
            let mut after = 0;
            loop {
                let mut tx = self.db.begin().await?;
                let ids = suoja_store::reindex::source_ids(&mut tx, tenant, kind.table(), after, 200).await?;
                let Some(last) = ids.last() else { break };
                after = *last;
                let mut docs = Vec::with_capacity(ids.len());
                for id in ids {
                    match self.source_tokens(&mut tx, tenant, kind, id).await {
                        Ok(Some(tokens)) => docs.push((id, tokens)),
                        Ok(None) => {}
                        Err(HelpdeskError::Vault(_)) => unreadable += 1,
                        Err(e) => return Err(e),
                    }
                }
                done += docs.len() as u64;
                index::insert_many(&mut tx, tenant, kind, &docs).await?;
                tx.commit().await?;
                progress(done + unreadable);
            }
        }
        Ok((done, unreadable))
    }

    /// Every ticket of a tenant into its (cleared) index, [`REINDEX_BATCH`] at a time: a batch
    /// is read in two queries and opened on this task while the batch before it is written on
    /// another, so both cores work. Returns (indexed, unreadable). For a database no one
    /// else writes to (the restore runs it before anything serves the data).
    async fn reindex_tickets(&self, tenant: TenantId, progress: &mut dyn FnMut(u64)) -> Result<(u64, u64)> {
        /// The batch being written: stopped (its transaction rolled back) if the rebuild
        /// returns early, so nothing is written after the rebuild has failed.
        struct Writing(Option<tokio::task::JoinHandle<Result<()>>>);
        impl Drop for Writing {
            fn drop(&mut self) {
                if let Some(w) = self.0.take() {
                    w.abort();
                }
            }
        }
        impl Writing {
            async fn finish(&mut self) -> Result<()> {
                match self.0.take() {
                    Some(w) => w.await.map_err(|e| HelpdeskError::Internal(format!("the index writer stopped: {e}")))?,
                    None => Ok(()),
                }
            }
        }
        let (mut done, mut unreadable, mut after) = (0u64, 0u64, 0i64);
        let mut writing = Writing(None);
        loop {
            let mut c = self.db.read().await?;
            let texts = suoja_store::reindex::ticket_texts(&mut c, tenant, after, REINDEX_BATCH).await?;
            let Some(last) = texts.last() else { break };
            after = last.id;
            let mut docs = Vec::with_capacity(texts.len());
            for t in &texts {
                match self.ticket_tokens(&mut c, tenant, t).await {
                    Ok(tokens) => docs.push((t.id, tokens)),
                    Err(HelpdeskError::Vault(_)) => unreadable += 1,
                    Err(e) => return Err(e),
                }
            }
            drop(c);
            writing.finish().await?;
            done += docs.len() as u64;
            let db = self.db.clone();
            writing.0 = Some(tokio::spawn(async move {
                let mut tx = db.begin().await?;
                index::insert_many(&mut tx, tenant, DocKind::Ticket, &docs).await?;
                tx.commit().await?;
                Ok(())
            }));
            progress(done + unreadable);
        }
        writing.finish().await?;
        Ok((done, unreadable))
    }

    /// The tokens of one user, organisation or ticket as its record stands (`None` when the
    /// record is gone; a vault error when its data key is).
    async fn source_tokens(&self, c: &mut Conn, tenant: TenantId, kind: DocKind, id: i64) -> Result<Option<DocTokens>> {
        let v = &self.vault;
        match kind {
            DocKind::User => match suoja_store::users::by_id(c, tenant, UserId(id)).await? {
                Some(r) => {
                    let u = self.open_user(c, tenant, &r).await?;
                    Ok(Some(doc_tokens(v, c, tenant, &DocText::public(&crate::users::user_search_text(&u))).await?))
                }
                None => Ok(None),
            },
            DocKind::Organization => match suoja_store::organizations::by_id(c, tenant, OrganizationId(id)).await? {
                Some(o) => Ok(Some(doc_tokens(v, c, tenant, &DocText::public(&o.name)).await?)),
                None => Ok(None),
            },
            DocKind::Ticket => match Self::ticket_source(c, tenant, TicketId(id)).await? {
                Some(t) => Ok(Some(self.ticket_tokens(c, tenant, &t).await?)),
                None => Ok(None),
            },
            DocKind::Article => match suoja_store::help_center::article_by_id(c, tenant, id).await? {
                Some(a) if a.archived_at.is_none() => Ok(Some(doc_tokens(v, c, tenant, &DocText::public(&crate::help_center::article_text(&a))).await?)),
                _ => Ok(None),
            },
        }
    }

    /// Rebuilds the index entries of one document of `kind` from its record as it stands (and
    /// removes them when the record is gone or no longer indexed).
    pub async fn reindex_document(&self, c: &mut Conn, tenant: TenantId, kind: DocKind, id: i64) -> Result<()> {
        match self.source_tokens(c, tenant, kind, id).await? {
            Some(tokens) => index::replace(c, tenant, kind, id, &tokens).await?,
            None => {
                index::remove(c, tenant, kind, id).await?;
            }
        }
        Ok(())
    }

    /// Rebuilds an organisation's index entries from its (changed) name.
    pub async fn reindex_organization(&self, c: &mut Conn, tenant: TenantId, id: OrganizationId) -> Result<()> {
        if let Some(o) = suoja_store::organizations::by_id(c, tenant, id).await? {
            index_org(&self.vault, c, tenant, id, &o.name).await?;
        }
        Ok(())
    }

    /// Rebuilds a ticket's index entries from its current fields and comments.
    pub async fn reindex_ticket(&self, c: &mut Conn, tenant: TenantId, id: TicketId) -> Result<()> {
        if let Some(t) = Self::ticket_source(c, tenant, id).await? {
            let tokens = self.ticket_tokens(c, tenant, &t).await?;
            index::replace(c, tenant, DocKind::Ticket, id.0, &tokens).await?;
        }
        Ok(())
    }

    /// A ticket's sealed text as the index reads it (`None` when the ticket is gone).
    async fn ticket_source(c: &mut Conn, tenant: TenantId, id: TicketId) -> Result<Option<suoja_store::reindex::TicketText>> {
        let mut found = suoja_store::reindex::ticket_texts(c, tenant, id.0.saturating_sub(1), 1).await?;
        Ok(found.pop().filter(|t| t.id == id.0))
    }

    /// What a ticket is indexed by: its subject and public comments (what its end users read),
    /// its internal notes, custom field values, external id and the values its fields had
    /// before (staff's only), and its tags.
    async fn ticket_tokens(&self, c: &mut Conn, tenant: TenantId, t: &suoja_store::reindex::TicketText) -> Result<DocTokens> {
        let v = &self.vault;
        let mut public = match &t.subject_enc {
            Some(s) => crate::crypt::open(v, c, tenant, s).await?.expose().clone(),
            None => String::new(),
        };
        let tags: Vec<String> = crate::crypt::open_json(v, c, tenant, &t.tags_enc).await?;
        let mut internal = String::new();
        for (is_public, body) in &t.comments {
            let into = if *is_public { &mut public } else { &mut internal };
            into.push(' ');
            into.push_str(crate::crypt::open(v, c, tenant, body).await?.expose());
        }
        for past in self.past_values(c, tenant, &t.audits, false).await? {
            internal.push(' ');
            internal.push_str(&past);
        }
        let external_id = crate::crypt::open_opt(v, c, tenant, t.external_id_enc.as_deref()).await?;
        // Custom field values and the external id are staff's words too.
        let fields: Vec<(i64, serde_json::Value)> = crate::crypt::open_json(v, c, tenant, &t.custom_fields_enc).await?;
        for text in fields
            .iter()
            .flat_map(|(_, v)| crate::tickets::audits::strings(v))
            .chain(external_id.as_ref().map(|x| x.expose().clone()))
        {
            internal.push(' ');
            internal.push_str(&text);
        }
        doc_tokens(
            v,
            c,
            tenant,
            &DocText {
                public: &public,
                internal: &internal,
                tags: &tags,
                external_id: external_id.as_ref().map(|x| x.expose().as_str()),
            },
        )
        .await
    }
}
