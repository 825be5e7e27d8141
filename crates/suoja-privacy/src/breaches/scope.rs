//! Scoping a breach from the data map: the privacy officer says what was exposed — tickets (by
//! id, tag, view or search), an organisation, a copy of the whole tenant made at a time (a
//! backup, a disk image), what one API token, one member of staff or one node (a server of
//! several on one database) served in a time window (the consultation log), an export package — and the people affected are found with the
//! categories of their data and how many of their records, for review before anyone is told.
//! Tickets are followed through the map's links (a table added to the map is covered), so the
//! people on a ticket are exactly those its rows name.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::json;
use suoja_core::{LedgerKind, Scope, TenantId, Timestamp, UserId};
use suoja_store::Conn;
use suoja_store::breaches::Affected;
use suoja_store::consultations::Reader;
use suoja_store::graph::Value as Cell;

use crate::datamap::{Category, TABLES, TICKETS, Via};
use crate::{Privacy, PrivacyError, Result, require_privacy};

/// Most exposures in one scope, and most tickets named in one.
pub const MAX_EXPOSURES: usize = 20;
/// Most tickets one exposure names.
pub const MAX_TICKETS: usize = 10_000;

/// One thing that was exposed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Exposure {
    /// Tickets by id.
    Tickets {
        /// Their ids.
        ids: Vec<i64>,
    },
    /// The tickets carrying a tag (found through the tag blind index).
    Tag {
        /// The tag.
        tag: String,
    },
    /// The tickets of a shared view (`unassigned`, `open`, `pending`, `solved`), resolved to
    /// their ids when the scope is made and kept so (a view changes; what was exposed does not).
    View {
        /// The view's name.
        view: String,
        /// The tickets it held when the scope was made (filled in then).
        #[serde(default)]
        ids: Vec<i64>,
    },
    /// The tickets a search query finds (Zendesk's query syntax, tickets only), at most 1 000,
    /// resolved to their ids when the scope is made and kept so.
    Search {
        /// The query.
        query: String,
        /// The tickets it found when the scope was made (filled in then).
        #[serde(default)]
        ids: Vec<i64>,
    },
    /// An organisation: its members' profiles and its tickets.
    Organization {
        /// Its id.
        id: i64,
    },
    /// What an API or OAuth token read from `from` to `to` (milliseconds, inclusive).
    TokenReads {
        /// The token's id.
        token_id: i64,
        /// Start of the window.
        from: i64,
        /// End of the window.
        to: i64,
    },
    /// What one member of staff read, with any credential, in a window.
    StaffReads {
        /// Their user id.
        user_id: i64,
        /// Start of the window.
        from: i64,
        /// End of the window.
        to: i64,
    },
    /// What one node served in a window: every read of a person's data it answered, whoever
    /// asked (a compromised server of several).
    NodeReads {
        /// The node's `node_name`.
        node: String,
        /// Start of the window.
        from: i64,
        /// End of the window.
        to: i64,
    },
    /// A copy of the whole tenant as it was at `at` (milliseconds): a backup (its manifest's
    /// `created_at`), a disk image, a database dump. Everyone on record then, and every ticket
    /// then, followed through the map.
    Snapshot {
        /// When the copy was made.
        at: i64,
    },
    /// An export package: everything about the person it was built for.
    ExportPackage {
        /// Its id.
        id: String,
    },
}

/// The people found, with their categories and records.
#[derive(Debug, Clone, Default)]
pub struct Found(BTreeMap<i64, (BTreeSet<&'static str>, i64)>);

impl Found {
    fn add(&mut self, user: i64, categories: impl IntoIterator<Item = &'static str>, records: i64) {
        if user <= 0 {
            return;
        }
        let e = self.0.entry(user).or_default();
        e.0.extend(categories);
        e.1 += records;
    }
}

/// The code of a data category that can be exposed (not ids, keys, keyed hashes or credentials,
/// which say nothing readable about a person).
fn exposed(c: Category) -> Option<&'static str> {
    match c {
        Category::Identifier => Some("identifier"),
        Category::Contact => Some("contact"),
        Category::Content => Some("content"),
        Category::File => Some("file"),
        Category::Profile => Some("profile"),
        Category::Organisational => Some("organisational"),
        Category::None | Category::Credential | Category::Key | Category::Derived => None,
    }
}

/// What a read in the consultation log shows of a person.
fn read_categories(action: &str) -> &'static [&'static str] {
    match action {
        "ticket.viewed" => &["identifier", "contact", "content"],
        "ticket.named" => &["identifier"],
        "ticket.comments_viewed" | "mail.original_viewed" => &["identifier", "contact", "content", "file"],
        "ticket.exported" => &["identifier", "contact", "content", "profile"],
        "ticket.listed" | "search.result" => &["identifier", "content"],
        "user.viewed" | "user.found" | "user.listed" | "user.exported" => &["identifier", "contact", "profile"],
        "footprint.viewed" | "export.built" => &["identifier", "contact", "content", "file", "profile"],
        _ => &["identifier"],
    }
}

/// The ids of a table's rows created at or before `at`, reading the tenant's rows a page at a
/// time in id order.
async fn made_by(c: &mut Conn, tenant: TenantId, table: &str, at: i64) -> Result<Vec<i64>> {
    let mut out = Vec::new();
    let mut before = None;
    loop {
        let rows = suoja_store::graph::rows_newest(c, tenant, table, &["id", "created_at"], before, 1_000).await?;
        let Some(last) = rows.last() else { break };
        before = match last.first() {
            Some(Cell::Int(id)) => Some(*id),
            _ => None,
        };
        for r in &rows {
            if let (Some(Cell::Int(id)), Some(Cell::Int(created))) = (r.first(), r.get(1))
                && *created <= at
            {
                out.push(*id);
            }
        }
        if rows.len() < 1_000 || before.is_none() {
            break;
        }
    }
    Ok(out)
}

fn ints(rows: &[Vec<Cell>]) -> impl Iterator<Item = i64> + '_ {
    rows.iter().filter_map(|r| match r.first() {
        Some(Cell::Int(v)) => Some(*v),
        _ => None,
    })
}

impl Privacy {
    /// The people on `tickets` and what of theirs the tickets hold, through every map table
    /// whose rows name a person on a ticket. A row's content is its first-named person's (a
    /// ticket's requester, a comment's author, a file's uploader); everyone else a row names
    /// (submitter, assignee) is exposed by name and address. A row counts once per person.
    /// With `until`, only rows written by then count (where the table says when a row was
    /// written).
    async fn people_on_tickets(&self, c: &mut Conn, tenant: TenantId, tickets: &[i64], until: Option<i64>, found: &mut Found) -> Result<()> {
        for chunk in tickets.chunks(500) {
            for t in TABLES.iter().filter(|t| !t.derived) {
                let ticket_col = if t.name == TICKETS { "id" } else { "ticket_id" };
                let links: Vec<&'static str> = t.subjects.iter().filter(|l| l.via == Via::User && l.on_ticket).map(|l| l.column).collect();
                if links.is_empty() || !t.columns.iter().any(|c| c.name == ticket_col) {
                    continue;
                }
                let dated = until.is_some() && t.columns.iter().any(|c| c.name == "created_at");
                let mut columns = links.clone();
                if dated {
                    columns.push("created_at");
                }
                let content: Vec<&'static str> = t.columns.iter().filter_map(|c| exposed(c.category)).collect();
                for row in suoja_store::graph::rows_linked(c, tenant, t.name, &columns, ticket_col, chunk).await? {
                    if dated
                        && let (Some(Cell::Int(written)), Some(until)) = (row.last(), until)
                        && *written > until
                    {
                        continue;
                    }
                    let mut seen = BTreeSet::new();
                    for (i, cell) in row.iter().take(links.len()).enumerate() {
                        let Cell::Int(user) = cell else { continue };
                        if !seen.insert(*user) {
                            continue;
                        }
                        let own: &[&'static str] = if i == 0 { &content } else { &[] };
                        // Whoever a ticket names is shown there by name and address.
                        found.add(*user, ["identifier", "contact"].into_iter().chain(own.iter().copied()), 1);
                    }
                }
            }
        }
        Ok(())
    }

    async fn existing_tickets(&self, c: &mut Conn, tenant: TenantId, ids: &[i64]) -> Result<Vec<i64>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let rows = suoja_store::graph::rows_linked(c, tenant, TICKETS, &["id"], "id", chunk).await?;
            out.extend(ints(&rows));
        }
        Ok(out)
    }

    async fn expose(&self, c: &mut Conn, officer: &Scope, e: &Exposure, found: &mut Found) -> Result<()> {
        let tenant = officer.tenant;
        match e {
            Exposure::Tickets { ids } => {
                if ids.is_empty() || ids.len() > MAX_TICKETS {
                    return Err(PrivacyError::invalid("scope", format!("name between 1 and {MAX_TICKETS} tickets")));
                }
                let mut wanted: Vec<i64> = ids.clone();
                wanted.sort_unstable();
                wanted.dedup();
                let have: BTreeSet<i64> = self.existing_tickets(c, tenant, &wanted).await?.into_iter().collect();
                if let Some(missing) = wanted.iter().find(|i| !have.contains(i)) {
                    return Err(PrivacyError::invalid("scope", format!("ticket {missing} not found")));
                }
                self.people_on_tickets(c, tenant, &wanted, None, found).await
            }
            Exposure::Tag { tag } => {
                let tickets = self.hd.tickets_with_tag(c, tenant, tag).await?;
                if tickets.is_empty() {
                    return Err(PrivacyError::invalid("scope", "no ticket carries this tag"));
                }
                self.people_on_tickets(c, tenant, &tickets, None, found).await
            }
            // Resolved to ids before any connection was taken (see `resolve`).
            Exposure::View { ids, .. } | Exposure::Search { ids, .. } => {
                let have: BTreeSet<i64> = self.existing_tickets(c, tenant, ids).await?.into_iter().collect();
                if let Some(missing) = ids.iter().find(|i| !have.contains(i)) {
                    return Err(PrivacyError::invalid("scope", format!("ticket {missing} not found")));
                }
                self.people_on_tickets(c, tenant, ids, None, found).await
            }
            Exposure::Organization { id } => {
                suoja_store::organizations::by_id(c, tenant, suoja_core::OrganizationId(*id))
                    .await?
                    .ok_or_else(|| PrivacyError::invalid("scope", format!("organization {id} not found")))?;
                let members = suoja_store::graph::rows_linked(c, tenant, "users", &["id"], "organization_id", &[*id]).await?;
                for m in ints(&members) {
                    found.add(m, ["identifier", "contact", "profile"], 1);
                }
                let tickets = suoja_store::graph::rows_linked(c, tenant, TICKETS, &["id"], "organization_id", &[*id]).await?;
                let tickets: Vec<i64> = ints(&tickets).collect();
                self.people_on_tickets(c, tenant, &tickets, None, found).await
            }
            Exposure::TokenReads { token_id, from, to } => reads_in_window(c, tenant, Reader::Token(*token_id), *from, *to, found).await,
            Exposure::StaffReads { user_id, from, to } => reads_in_window(c, tenant, Reader::Actor(*user_id), *from, *to, found).await,
            Exposure::NodeReads { node, from, to } => reads_in_window(c, tenant, Reader::Node(node), *from, *to, found).await,
            Exposure::Snapshot { at } => {
                let at = *at;
                let mut on_record = Found::default();
                for user in made_by(c, tenant, "users", at).await? {
                    on_record.add(user, ["identifier", "contact", "profile"], 1);
                }
                let tickets = made_by(c, tenant, TICKETS, at).await?;
                if tickets.is_empty() && on_record.0.is_empty() {
                    return Err(PrivacyError::invalid("scope", "nothing was on record at that time"));
                }
                // Rows written after the copy (a later comment on an older ticket) are not in it.
                self.people_on_tickets(c, tenant, &tickets, Some(at), &mut on_record).await?;
                for (user, (cats, records)) in on_record.0 {
                    found.add(user, cats, records);
                }
                Ok(())
            }
            Exposure::ExportPackage { id } => {
                let p = suoja_store::exports::by_id(c, tenant, id)
                    .await?
                    .ok_or_else(|| PrivacyError::invalid("scope", "export package not found"))?;
                let fp = self.footprint_with(tenant, UserId(p.subject_id), TABLES, false).await?;
                for (table, rows) in &fp.records {
                    let categories: Vec<&'static str> = crate::datamap::table(table)
                        .map(|t| t.columns.iter().filter_map(|c| exposed(c.category)).collect())
                        .unwrap_or_default();
                    found.add(p.subject_id, categories, i64::try_from(rows.len()).unwrap_or(i64::MAX));
                }
                found.add(p.subject_id, ["identifier", "contact"], 0);
                Ok(())
            }
        }
    }

    /// Resolves the exposures that name tickets by a view or a search to the tickets' ids (once:
    /// ids already there are kept), and holds a copy's time to now. Runs before the scope takes
    /// its connection, as a search takes its own.
    async fn resolve(&self, officer: &Scope, exposures: &mut [Exposure], now: Timestamp) -> Result<()> {
        for e in exposures.iter_mut() {
            match e {
                Exposure::View { view, ids } if ids.is_empty() => {
                    let name = view.trim().to_ascii_lowercase();
                    // A view by its key or id. One that tests `current_user` or `current_groups`
                    // (`mine`) would list the officer's own queue, not the exposed one.
                    let v = match self.hd.view_by_slug(officer, &name).await {
                        Ok(v) => v,
                        Err(suoja_helpdesk::HelpdeskError::NotFound(_)) => {
                            return Err(PrivacyError::invalid(
                                "scope",
                                "no view is called that; name a view by its id, or unassigned, open, pending, solved",
                            ));
                        }
                        Err(other) => return Err(other.into()),
                    };
                    if v.def
                        .all
                        .iter()
                        .chain(&v.def.any)
                        .any(|w| matches!(w.value.as_str(), Some("current_user" | "current_groups")))
                    {
                        return Err(PrivacyError::invalid(
                            "scope",
                            "the view lists the tickets of whoever opens it (current_user or current_groups); scope by another view, tag or search",
                        ));
                    }
                    let found = self.hd.view_ticket_ids(officer, &v, i64::try_from(MAX_TICKETS).unwrap_or(i64::MAX) + 1).await?;
                    let mut found: Vec<i64> = found.into_iter().map(|t| t.0).collect();
                    if found.len() > MAX_TICKETS {
                        return Err(PrivacyError::invalid(
                            "scope",
                            format!("the view holds more than {MAX_TICKETS} tickets; scope by tag or search"),
                        ));
                    }
                    if found.is_empty() {
                        return Err(PrivacyError::invalid("scope", "the view holds no ticket"));
                    }
                    found.sort_unstable();
                    *view = name;
                    *ids = found;
                }
                Exposure::Search { query, ids } if ids.is_empty() => {
                    let (mut found, total) = self.hd.search_ticket_ids(officer, query).await.map_err(|e| match e {
                        suoja_helpdesk::HelpdeskError::BadQuery(m) => PrivacyError::invalid("scope", m),
                        other => other.into(),
                    })?;
                    if total > suoja_core::num::to_i64(found.len()) {
                        return Err(PrivacyError::invalid(
                            "scope",
                            format!(
                                "the search finds {total} tickets, more than the {} a scope by search takes; narrow it or scope by tag",
                                suoja_helpdesk::MAX_SEARCH_RESULTS
                            ),
                        ));
                    }
                    if found.is_empty() {
                        return Err(PrivacyError::invalid("scope", "the search finds no ticket"));
                    }
                    found.sort_unstable();
                    found.dedup();
                    *ids = found;
                }
                // A copy made this minute: the form names minutes, the server's clock may lag.
                Exposure::Snapshot { at } if *at > now.0 + 60_000 => {
                    return Err(PrivacyError::invalid("scope", "a copy's time cannot be in the future"));
                }
                Exposure::Snapshot { at } => *at = (*at).min(now.0),
                _ => {}
            }
        }
        Ok(())
    }

    /// Scopes breach `id` to `exposures` (replacing any earlier scope): finds the people
    /// affected and stores them with their categories and record counts. People already told
    /// keep their notice time. Returns the summary.
    pub async fn scope_breach(&self, scope: &Scope, id: i64, exposures: Vec<Exposure>) -> Result<Summary> {
        require_privacy(scope)?;
        if exposures.is_empty() || exposures.len() > MAX_EXPOSURES {
            return Err(PrivacyError::invalid(
                "scope",
                format!("name between 1 and {MAX_EXPOSURES} things that were exposed"),
            ));
        }
        let now = self.hd.now();
        let mut exposures = exposures;
        self.resolve(scope, &mut exposures, now).await?;
        // Reads noted but not written yet count too.
        self.flush_consultations().await?;
        let mut found = Found::default();
        {
            let mut c = self.hd.db().read().await?;
            if self.breach_row(&mut c, scope.tenant, id).await?.closed_at.is_some() {
                return Err(PrivacyError::Conflict(format!("breach {id} is closed; its record no longer changes")));
            }
            for e in &exposures {
                self.expose(&mut c, scope, e, &mut found).await?;
            }
        }
        let mut tx = self.hd.db().begin().await?;
        let mut b = self.breach_to_change(&mut tx, scope.tenant, id).await?;
        let people: Vec<Affected> = found
            .0
            .iter()
            .map(|(user, (cats, records))| Affected {
                user_id: *user,
                categories: json!(cats).to_string(),
                records: *records,
                notified_at: None,
            })
            .collect();
        suoja_store::breaches::set_people(&mut tx, scope.tenant, id, &people).await?;
        let mut d = b.details.expose().clone();
        d.scope = exposures;
        b.details = suoja_core::Personal::new(d);
        b.row.updated_at = now;
        self.seal_breach(&mut tx, scope.tenant, &mut b).await?;
        suoja_store::breaches::update(&mut tx, scope.tenant, &b.row).await?;
        let summary = summary(&found);
        // What kinds of exposure, never their terms (a search's words, a tag).
        let exposure_kinds: Vec<&str> = d_kinds(&b.details.expose().scope);
        self.record_ledger(
            &mut tx,
            scope.tenant,
            LedgerKind::BreachScoped,
            None,
            Some(scope.actor.0),
            json!({ "breach": id, "people": summary.people, "by_category": summary.by_category, "exposures": exposure_kinds }),
        )
        .await?;
        tx.commit().await?;
        Ok(summary)
    }

    /// The people a breach affected, by id, with their categories, records and notice times.
    pub async fn breach_people(&self, scope: &Scope, id: i64) -> Result<Vec<Affected>> {
        require_privacy(scope)?;
        let mut c = self.hd.db().read().await?;
        self.breach_row(&mut c, scope.tenant, id).await?;
        Ok(suoja_store::breaches::people(&mut c, scope.tenant, id).await?)
    }
}

/// How many people and records a category of data reaches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CategoryCount {
    /// People with data of the category exposed.
    pub people: i64,
    /// Their records.
    pub records: i64,
}

/// The people a breach affected, counted: in all and by category of data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// People affected.
    pub people: usize,
    /// Their records exposed.
    pub records: i64,
    /// By data category code.
    pub by_category: BTreeMap<String, CategoryCount>,
}

/// People and records by category.
fn summary(found: &Found) -> Summary {
    let mut by_category: BTreeMap<String, CategoryCount> = BTreeMap::new();
    for (cats, records) in found.0.values() {
        for c in cats {
            let e = by_category.entry((*c).to_string()).or_default();
            e.people += 1;
            e.records += records;
        }
    }
    Summary {
        people: found.0.len(),
        records: found.0.values().map(|(_, r)| r).sum::<i64>(),
        by_category,
    }
}

/// The summary of stored people (as [`Privacy::scope_breach`] returned it).
pub fn summarize(people: &[Affected]) -> Summary {
    let mut found = Found::default();
    for p in people {
        let cats: Vec<String> = serde_json::from_str(&p.categories).unwrap_or_default();
        let cats: Vec<&'static str> = cats
            .iter()
            .filter_map(|c| super::DATA_CATEGORIES.iter().find(|k| **k == c.as_str()).copied())
            .collect();
        found.add(p.user_id, cats, p.records);
    }
    summary(&found)
}

/// The people `reader` read from `from` to `to` (the consultation log), with the categories
/// their reads showed. A reader that cannot be found must not pass as "nobody affected".
async fn reads_in_window(c: &mut Conn, tenant: TenantId, reader: Reader<'_>, from: i64, to: i64, found: &mut Found) -> Result<()> {
    if from > to {
        return Err(PrivacyError::invalid("scope", "a window's start comes before its end"));
    }
    match reader {
        // A leaked token is usually revoked by now: it is known if it exists or ever read.
        Reader::Token(id) => {
            let exists = suoja_store::tokens::list(c, tenant, suoja_store::tokens::TokenKind::Api)
                .await?
                .iter()
                .chain(suoja_store::tokens::list(c, tenant, suoja_store::tokens::TokenKind::OAuth).await?.iter())
                .any(|t| t.id == id);
            if !exists && !suoja_store::consultations::token_seen(c, tenant, id).await? {
                return Err(PrivacyError::invalid("scope", format!("API token {id} not found")));
            }
        }
        Reader::Actor(id) => {
            let staff = suoja_store::users::by_id(c, tenant, UserId(id)).await?.is_some_and(|u| u.role.is_staff());
            if !staff {
                return Err(PrivacyError::invalid("scope", format!("user {id} is not a member of staff")));
            }
        }
        // Nodes are not registered anywhere: a name is known by the reads it served.
        Reader::Node(name) => {
            if !suoja_store::consultations::node_seen(c, tenant, name).await? {
                return Err(PrivacyError::invalid("scope", format!("no read was ever served by a node named {name}")));
            }
        }
    }
    for (subject, action, n) in suoja_store::consultations::read_by(c, tenant, reader, Timestamp(from), Timestamp(to)).await? {
        found.add(subject, read_categories(&action).iter().copied(), n);
    }
    Ok(())
}

/// The kinds of the exposures (for the ledger, without their terms).
fn d_kinds(exposures: &[Exposure]) -> Vec<&'static str> {
    exposures
        .iter()
        .map(|e| match e {
            Exposure::Tickets { .. } => "tickets",
            Exposure::Tag { .. } => "tag",
            Exposure::View { .. } => "view",
            Exposure::Search { .. } => "search",
            Exposure::Organization { .. } => "organization",
            Exposure::TokenReads { .. } => "token_reads",
            Exposure::StaffReads { .. } => "staff_reads",
            Exposure::NodeReads { .. } => "node_reads",
            Exposure::Snapshot { .. } => "snapshot",
            Exposure::ExportPackage { .. } => "export_package",
        })
        .collect()
}
