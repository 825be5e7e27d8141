//! Mentions of a person in other people's text, found by the identifier matcher and reviewed by
//! a person before anything is done with them (A15-02, A17-01). Strong matches (e-mail, phone,
//! full name) on other people's tickets become candidates of an access request; weak ones (a
//! first name, a bare address local part) only when privacy staff search for them from the
//! request, and they are what an erasure request asks staff to review. Staff accept or reject
//! each candidate; only the sentences around an accepted match — never the whole comment, and
//! with other people's identifiers replaced — reach the person's export, and only an accepted
//! weak match is replaced by an erasure. Every decision is in the ledger, without text.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;
use suoja_core::{Scope, TenantId, Timestamp, UserId};
use suoja_store::Conn;
use suoja_store::graph::Value;
use suoja_store::mentions::MentionRow;
use suoja_store::users::UserRow;

use crate::matcher::{Class, Identity, Markup, Matcher};
use crate::{Privacy, PrivacyError, Result, require_privacy};

/// Where a mention's text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// A comment or internal note.
    Comment,
    /// A ticket's subject.
    TicketSubject,
    /// A ticket's custom field values, tags and external id, and what its subject and fields
    /// held before (its audits keep that).
    TicketFields,
    /// An organisation's name, details or notes.
    Organization,
    /// A row of another table with free text the data map declares (a help center comment, a
    /// community post, a person's profile notes): the table's name.
    Text(&'static str),
}

impl Source {
    /// Wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Comment => "comment",
            Source::TicketSubject => "ticket_subject",
            Source::TicketFields => "ticket_fields",
            Source::Organization => "organization",
            Source::Text(table) => table,
        }
    }
    pub(crate) fn parse(s: &str) -> Option<Self> {
        [Source::Comment, Source::TicketSubject, Source::TicketFields, Source::Organization]
            .into_iter()
            .find(|x| x.as_str() == s)
            .or_else(|| crate::texts::table(s).map(|t| Source::Text(t.table.name)))
    }
}

/// What privacy staff decided about a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Not yet reviewed.
    Pending,
    /// It is about the person.
    Accepted,
    /// It is not (or must not be given out).
    Rejected,
}

impl Decision {
    /// Wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Pending => "pending",
            Decision::Accepted => "accepted",
            Decision::Rejected => "rejected",
        }
    }
    /// Parses a stored value (anything unknown is pending).
    pub fn parse_str(s: &str) -> Self {
        match s {
            "accepted" => Decision::Accepted,
            "rejected" => Decision::Rejected,
            _ => Decision::Pending,
        }
    }
}

/// A piece of someone else's text where the person was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Where.
    pub source: Source,
    /// The id of the comment, ticket, organisation or row.
    pub source_id: i64,
    /// The ticket it is on.
    pub ticket_id: Option<i64>,
    /// The classes that matched.
    pub classes: BTreeSet<Class>,
}

impl Found {
    /// Whether any match was strong.
    pub fn strong(&self) -> bool {
        self.classes.iter().any(|c| c.is_strong())
    }
    pub(crate) fn key(&self) -> (Source, i64) {
        (self.source, self.source_id)
    }
}

/// How far a search for mentions looks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reach {
    /// Also single name words and the address's local part.
    pub weak: bool,
    /// Also organisations' texts.
    pub organizations: bool,
    /// Also the person's own comments (an erasure scans the replies it keeps).
    pub own_comments: bool,
    /// Every row of the other tables with free text, however many (an erasure); otherwise
    /// the newest [`STRONG_ROWS`] (or [`WEAK_ROWS`]) of each.
    pub complete: bool,
    /// Also the other tables with free text (help center, community, profile notes); off when
    /// the caller searched them already, outside its transaction ([`Privacy::find_in_free_text`]).
    pub free_text: bool,
}

/// Tickets a search for strong matches opens at most (newest first).
const STRONG_TICKETS: usize = 20_000;
/// Tickets a search for weak matches opens at most: a first name is in many of them.
const WEAK_TICKETS: usize = 2_000;
/// Rows of each other table with free text a search for strong matches reads at most (newest
/// first): nothing narrows them, so each is opened.
const STRONG_ROWS: i64 = 100_000;
/// Rows of each such table a search for weak matches reads at most.
const WEAK_ROWS: i64 = 20_000;

/// A candidate as privacy staff see it.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Id.
    pub id: i64,
    /// The request it belongs to.
    pub request_id: i64,
    /// Where the text is (`comment`, `ticket_subject`, `organization`, or the table of
    /// other free text, such as `hc_post_comments`).
    pub source: String,
    /// The id of that comment, ticket, organisation or row.
    pub source_id: i64,
    /// The ticket it is on, if any.
    pub ticket_id: Option<i64>,
    /// `strong` or `weak`.
    pub strength: String,
    /// The identifier classes that matched.
    pub classes: Vec<String>,
    /// `pending`, `accepted` or `rejected`.
    pub state: String,
    /// Who decided.
    pub decided_by: Option<i64>,
    /// When.
    pub decided_at: Option<Timestamp>,
    /// Found.
    pub created_at: Timestamp,
    /// The sentences around each match, other people's identifiers replaced.
    pub passages: Vec<String>,
    /// For a comment: whether it is public (otherwise an internal note).
    pub public: Option<bool>,
    /// When the text was written (a comment's time).
    pub written_at: Option<Timestamp>,
    /// Who wrote it (a comment's author).
    pub author_id: Option<i64>,
}

impl Candidate {
    /// The decision.
    pub fn decision(&self) -> Decision {
        Decision::parse_str(&self.state)
    }
}

/// The classes of the person's matches in `text`: strong ones, and with `weak` weak ones too.
fn matched_classes(matcher: &Matcher, text: &str, markup: Markup, weak: bool) -> BTreeSet<Class> {
    matcher
        .find(text, markup)
        .into_iter()
        .filter(|h| weak || h.class.is_strong())
        .map(|h| h.class)
        .collect()
}

fn int(v: Option<&Value>) -> Option<i64> {
    match v {
        Some(Value::Int(i)) => Some(*i),
        _ => None,
    }
}

impl Privacy {
    /// A person's identity for the matcher, from their stored (sealed) profile.
    pub(crate) async fn identity(&self, c: &mut Conn, tenant: TenantId, user: &UserRow) -> Result<Identity> {
        let v = self.hd.vault();
        let name = v.decrypt_str(c, tenant, &user.name_enc).await.unwrap_or_default();
        let email = match user.email_enc.as_deref() {
            Some(e) => v.decrypt_str(c, tenant, e).await.ok(),
            None => None,
        };
        let phone = match user.phone_enc.as_deref() {
            Some(p) => v.decrypt_str(c, tenant, p).await.ok(),
            None => None,
        };
        Ok(Identity::new(&name, email.as_deref(), phone.as_deref()))
    }

    /// Index probes for a person: each a set of keyed tokens a ticket must all hold to be worth
    /// opening. Strong: the address, every spelling of the number, the full name; weak: each
    /// name word and the local part.
    async fn probes(&self, c: &mut Conn, tenant: TenantId, user: &UserRow, weak: bool) -> Result<Vec<Vec<i64>>> {
        let v = self.hd.vault();
        let h = v.search_hasher(c, tenant).await?;
        let mut out: Vec<Vec<i64>> = Vec::new();
        let mut texts: Vec<(String, bool)> = Vec::new();
        if let Ok(name) = v.decrypt_str(c, tenant, &user.name_enc).await {
            let words = suoja_search::terms(&name);
            if weak {
                for w in &words {
                    texts.push((w.clone(), false));
                }
            }
            texts.push((name, true));
        }
        if let Some(e) = user.email_enc.as_deref()
            && let Ok(email) = v.decrypt_str(c, tenant, e).await
        {
            let email = email.trim().to_lowercase();
            out.push(vec![h.token(&email)]);
            if weak && let Some((local, _)) = email.split_once('@') {
                texts.push((local.to_string(), true));
            }
        }
        if let Some(p) = user.phone_enc.as_deref()
            && let Ok(phone) = v.decrypt_str(c, tenant, p).await
        {
            let identity = Identity::new("", None, Some(&phone));
            for form in identity.phone_forms() {
                out.push(vec![h.token(form.trim_start_matches('+'))]);
            }
        }
        for (t, all) in texts {
            let tokens: Vec<i64> = suoja_search::terms(&t).iter().map(|w| h.token(w)).collect();
            if tokens.is_empty() {
                continue;
            }
            if all {
                out.push(tokens);
            } else {
                out.extend(tokens.into_iter().map(|t| vec![t]));
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Text in other people's records where `user` is found: comments not written by them and
    /// subjects of tickets outside `exclude`, and (if asked) organisations' texts. Strong matches
    /// only, unless `reach.weak`. Returns what was found and whether the search stopped at its
    /// limit of tickets.
    pub(crate) async fn find_in_text(
        &self,
        c: &mut Conn,
        tenant: TenantId,
        user: &UserRow,
        exclude: &BTreeSet<i64>,
        reach: Reach,
    ) -> Result<(Vec<Found>, bool)> {
        let identity = self.identity(c, tenant, user).await?;
        let matcher = Matcher::one(&identity);
        if matcher.is_empty() {
            return Ok((Vec::new(), false));
        }
        let limit = if reach.weak { WEAK_TICKETS } else { STRONG_TICKETS };
        let mut tickets: BTreeSet<i64> = BTreeSet::new();
        let mut truncated = false;
        for probe in self.probes(c, tenant, user, reach.weak).await? {
            let found = suoja_search::index::all_of(c, tenant, suoja_search::DocKind::Ticket, &probe).await?;
            for t in found.into_iter().filter(|t| !exclude.contains(t)) {
                if tickets.len() >= limit {
                    truncated = true;
                    break;
                }
                tickets.insert(t);
            }
        }
        let classes_in = |text: &str, markup: Markup| matched_classes(&matcher, text, markup, reach.weak);
        let mut out = Vec::new();
        let ids: Vec<i64> = tickets.iter().rev().copied().collect();
        for chunk in ids.chunks(500) {
            let subjects = suoja_store::graph::rows_linked(c, tenant, "tickets", &["id", "subject_enc"], "id", chunk).await?;
            for r in subjects {
                let (Some(id), Some(Value::Bytes(sealed))) = (int(r.first()), r.get(1)) else {
                    continue;
                };
                let Ok(text) = self.hd.vault().decrypt_str(c, tenant, sealed).await else {
                    continue;
                };
                let classes = classes_in(&text, Markup::Plain);
                if !classes.is_empty() {
                    out.push(Found {
                        source: Source::TicketSubject,
                        source_id: id,
                        ticket_id: Some(id),
                        classes,
                    });
                }
            }
            // Their other fields, now and before (their audits keep what they held).
            for id in chunk {
                let Ok(values) = self.hd.ticket_field_texts(c, tenant, suoja_core::TicketId(*id)).await else {
                    continue;
                };
                let classes: BTreeSet<Class> = values.iter().flat_map(|s| classes_in(s, Markup::Plain)).collect();
                if !classes.is_empty() {
                    out.push(Found {
                        source: Source::TicketFields,
                        source_id: *id,
                        ticket_id: Some(*id),
                        classes,
                    });
                }
            }
            let comments = suoja_store::graph::rows_linked(c, tenant, "comments", &["id", "ticket_id", "author_id", "body_enc"], "ticket_id", chunk).await?;
            for r in comments {
                let (Some(id), Some(ticket), Some(author), Some(Value::Bytes(sealed))) = (int(r.first()), int(r.get(1)), int(r.get(2)), r.get(3)) else {
                    continue;
                };
                if author == user.id.0 && !reach.own_comments {
                    continue;
                }
                let Ok(text) = self.hd.vault().decrypt_str(c, tenant, sealed).await else {
                    continue;
                };
                let classes = classes_in(&text, Markup::Plain);
                if !classes.is_empty() {
                    out.push(Found {
                        source: Source::Comment,
                        source_id: id,
                        ticket_id: Some(ticket),
                        classes,
                    });
                }
            }
        }
        if reach.organizations {
            let mut after = None;
            loop {
                let page = suoja_store::organizations::list(c, tenant, after, 500, 0).await?;
                let Some(last) = page.last() else { break };
                after = Some(last.id.0);
                for o in page {
                    let mut classes = classes_in(&o.name, Markup::Plain);
                    for t in [o.details.as_deref(), o.notes.as_deref()].into_iter().flatten() {
                        classes.extend(classes_in(t, Markup::Plain));
                    }
                    for t in org_field_texts(&o) {
                        classes.extend(classes_in(&t, Markup::Plain));
                    }
                    if !classes.is_empty() {
                        out.push(Found {
                            source: Source::Organization,
                            source_id: o.id.0,
                            ticket_id: None,
                            classes,
                        });
                    }
                }
            }
        }
        if reach.free_text {
            let (more, cut) = self.find_in_free_text(c, tenant, user, reach).await?;
            out.extend(more);
            truncated |= cut;
        }
        out.sort_by_key(Found::key);
        Ok((out, truncated))
    }

    /// The part of [`Self::find_in_text`] that reads every other table with free text the data
    /// map declares (nothing narrows it, so each row is opened): callers that write keep it out
    /// of their transaction by calling it first on a read connection.
    pub(crate) async fn find_in_free_text(&self, c: &mut Conn, tenant: TenantId, user: &UserRow, reach: Reach) -> Result<(Vec<Found>, bool)> {
        let identity = self.identity(c, tenant, user).await?;
        let matcher = Matcher::one(&identity);
        if matcher.is_empty() {
            return Ok((Vec::new(), false));
        }
        let mut out = Vec::new();
        let mut truncated = false;
        // Every other free text the data map declares, each row opened (other people's rows
        // only: the person's own are theirs, exported and erased as such). Strong matches are
        // looked for in up to STRONG_ROWS rows of each table (every row, for an erasure); weak
        // ones, which a person must review, only in the newest WEAK_ROWS.
        let rows_limit = match (reach.complete, reach.weak) {
            (true, _) => i64::MAX,
            (false, true) => WEAK_ROWS,
            (false, false) => STRONG_ROWS,
        };
        for t in crate::texts::tables() {
            let mut before = None;
            let mut read = 0;
            loop {
                let page = self.text_rows(c, tenant, &t, before, 2_000.min(rows_limit.saturating_sub(read))).await?;
                let Some(last) = page.last() else { break };
                before = Some(last.id);
                let weak_here = read < WEAK_ROWS;
                read += suoja_core::num::to_i64(page.len());
                for row in page.iter().filter(|r| !(t.own_rows_go && r.people.contains(&user.id.0))) {
                    let mut classes = BTreeSet::new();
                    for (col, text) in &row.texts {
                        classes.extend(matched_classes(&matcher, text, crate::texts::markup(col), reach.weak && weak_here));
                    }
                    if !classes.is_empty() {
                        out.push(Found {
                            source: Source::Text(t.table.name),
                            source_id: row.id,
                            ticket_id: None,
                            classes,
                        });
                    }
                }
                if read >= rows_limit {
                    truncated |= !self.text_rows(c, tenant, &t, before, 1).await?.is_empty();
                    break;
                }
            }
        }
        Ok((out, truncated))
    }

    /// Records what was found as pending candidates of a request (those it already has keep
    /// their decision). Returns how many were new.
    pub(crate) async fn record_candidates(&self, c: &mut Conn, tenant: TenantId, request: i64, subject: i64, found: &[Found]) -> Result<usize> {
        let now = self.hd.now();
        let mut new = 0;
        for f in found {
            let row = MentionRow {
                id: 0,
                request_id: request,
                subject_id: subject,
                source: f.source.as_str().into(),
                source_id: f.source_id,
                ticket_id: f.ticket_id,
                strength: if f.strong() { "strong" } else { "weak" }.into(),
                classes: f.classes.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(","),
                state: Decision::Pending.as_str().into(),
                decided_by: None,
                decided_at: None,
                created_at: now,
            };
            if suoja_store::mentions::insert_new(c, tenant, &row).await? {
                new += 1;
            }
        }
        Ok(new)
    }

    /// Searches for mentions of a request's person and records them as candidates: strong
    /// matches on other people's tickets, and with `weak` single name words and the address's
    /// local part too. An erasure request's candidates are its weak matches (its strong ones are
    /// replaced without review). Returns the request's candidates and whether the search stopped
    /// at its limit.
    pub async fn search_mentions(&self, scope: &Scope, request: i64, weak: bool) -> Result<(Vec<Candidate>, bool)> {
        require_privacy(scope)?;
        let req = self.get(scope, request).await?;
        if req.closed_at.is_some() {
            return Err(PrivacyError::Conflict(format!("the request is already {}", req.status)));
        }
        let erasure = req.kind == suoja_core::RequestKind::Erasure;
        if !(req.kind.is_export() || req.kind == suoja_core::RequestKind::Erasure) {
            return Err(PrivacyError::Conflict(format!("a {} request has no mentions to review", req.kind)));
        }
        let tenant = scope.tenant;
        // The search reads (many rows, on a read connection); only what it found is written.
        let mut c = self.hd.db().read().await?;
        let user = suoja_store::users::by_id(&mut c, tenant, UserId(req.subject_id))
            .await?
            .ok_or(PrivacyError::NotFound("User"))?;
        let exclude = self.own_tickets(&mut c, tenant, user.id).await?;
        let reach = Reach {
            weak: weak || erasure,
            organizations: erasure,
            own_comments: false,
            complete: false,
            free_text: true,
        };
        let (found, truncated) = self.find_in_text(&mut c, tenant, &user, &exclude, reach).await?;
        drop(c);
        let mut tx = self.hd.db().begin().await?;
        // The search took a while: what it found is recorded only if the request is still open
        // and the person still there.
        let still = suoja_store::requests::by_id(&mut tx, tenant, request)
            .await?
            .is_some_and(|r| r.closed_at.is_none())
            && suoja_store::users::by_id(&mut tx, tenant, user.id).await?.is_some();
        if !still {
            return Err(PrivacyError::Conflict("the request was closed, or its person erased, during the search".into()));
        }
        let found: Vec<Found> = found.into_iter().filter(|f| if erasure { !f.strong() } else { true }).collect();
        let new = self.record_candidates(&mut tx, tenant, request, user.id.0, &found).await?;
        self.record_ledger(
            &mut tx,
            tenant,
            suoja_core::LedgerKind::MentionsSearched,
            Some(user.id.0),
            Some(scope.actor.0),
            json!({ "request": request, "weak": reach.weak, "found": found.len(), "new": new, "truncated": truncated }),
        )
        .await?;
        tx.commit().await?;
        Ok((self.mentions(scope, request).await?, truncated))
    }

    /// Tickets a person is on (requested, submitted, CC'd or following): their own records,
    /// never "mentions".
    pub(crate) async fn own_tickets(&self, c: &mut Conn, tenant: TenantId, subject: UserId) -> Result<BTreeSet<i64>> {
        let mut out = BTreeSet::new();
        for (table, col) in [("tickets", "requester_id"), ("tickets", "submitter_id")] {
            for r in suoja_store::graph::rows_linked(c, tenant, table, &["id"], col, &[subject.0]).await? {
                out.extend(int(r.first()));
            }
        }
        for r in suoja_store::graph::rows_linked(c, tenant, "ticket_collaborators", &["ticket_id"], "user_id", &[subject.0]).await? {
            out.extend(int(r.first()));
        }
        Ok(out)
    }

    /// A request's candidates with their passages.
    pub async fn mentions(&self, scope: &Scope, request: i64) -> Result<Vec<Candidate>> {
        require_privacy(scope)?;
        let req = self.get(scope, request).await?;
        let mut c = self.hd.db().read().await?;
        let rows = suoja_store::mentions::for_request(&mut c, scope.tenant, request).await?;
        let user = suoja_store::users::by_id(&mut c, scope.tenant, UserId(req.subject_id)).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(self.candidate(&mut c, scope.tenant, user.as_ref(), row).await?);
        }
        Ok(out)
    }

    /// Opens a candidate: the passages around the person's matches in the text as it is now.
    pub(crate) async fn candidate(&self, c: &mut Conn, tenant: TenantId, user: Option<&UserRow>, row: MentionRow) -> Result<Candidate> {
        let mut cand = Candidate {
            id: row.id,
            request_id: row.request_id,
            source: row.source.clone(),
            source_id: row.source_id,
            ticket_id: row.ticket_id,
            strength: row.strength.clone(),
            classes: row.classes.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect(),
            state: row.state.clone(),
            decided_by: row.decided_by,
            decided_at: row.decided_at,
            created_at: row.created_at,
            passages: Vec::new(),
            public: None,
            written_at: None,
            author_id: None,
        };
        let Some(user) = user else { return Ok(cand) };
        let Some(source) = Source::parse(&cand.source) else { return Ok(cand) };
        let v = self.hd.vault();
        let mut texts: Vec<String> = Vec::new();
        let mut people: Vec<i64> = Vec::new();
        match source {
            Source::Comment => {
                let rows = suoja_store::graph::rows_linked(
                    c,
                    tenant,
                    "comments",
                    &["author_id", "public", "body_enc", "created_at"],
                    "id",
                    &[cand.source_id],
                )
                .await?;
                if let Some(r) = rows.first() {
                    cand.author_id = int(r.first());
                    cand.public = int(r.get(1)).map(|p| p == 1);
                    cand.written_at = int(r.get(3)).map(Timestamp);
                    people.extend(cand.author_id);
                    if let Some(Value::Bytes(b)) = r.get(2)
                        && let Ok(t) = v.decrypt_str(c, tenant, b).await
                    {
                        texts.push(t);
                    }
                }
            }
            Source::TicketSubject => {
                let rows = suoja_store::graph::rows_linked(c, tenant, "tickets", &["requester_id", "subject_enc"], "id", &[cand.source_id]).await?;
                if let Some(r) = rows.first() {
                    people.extend(int(r.first()));
                    if let Some(Value::Bytes(b)) = r.get(1)
                        && let Ok(t) = v.decrypt_str(c, tenant, b).await
                    {
                        texts.push(t);
                    }
                }
            }
            Source::TicketFields => {
                let rows = suoja_store::graph::rows_linked(c, tenant, "tickets", &["requester_id"], "id", &[cand.source_id]).await?;
                people.extend(rows.first().and_then(|r| int(r.first())));
                texts.extend(self.hd.ticket_field_texts(c, tenant, suoja_core::TicketId(cand.source_id)).await?);
            }
            Source::Organization => {
                if let Some(o) = suoja_store::organizations::by_id(c, tenant, suoja_core::OrganizationId(cand.source_id)).await? {
                    texts.extend(org_field_texts(&o));
                    texts.push(o.name);
                    texts.extend(o.details);
                    texts.extend(o.notes);
                }
            }
            Source::Text(table) => {
                if let Some(t) = crate::texts::table(table)
                    && let Some(row) = self.text_row(c, tenant, &t, cand.source_id).await?
                {
                    cand.author_id = row.people.first().copied();
                    cand.written_at = row.created_at.map(Timestamp);
                    cand.public = Some(row.texts.iter().all(|(col, _)| col.text != Some(crate::datamap::Text::StaffNotes)));
                    people.extend(row.people);
                    for (col, text) in row.texts {
                        // Passages are cut from plain text: HTML is read as the page shows it.
                        texts.push(match crate::texts::markup(col) {
                            Markup::Html => suoja_helpdesk::text::html_to_plain(&text),
                            Markup::Json => crate::matcher::json_text(&text),
                            Markup::Plain => text,
                        });
                    }
                }
            }
        }
        let identity = self.identity(c, tenant, user).await?;
        let matcher = Matcher::one(&identity);
        let weak_too = cand.strength == "weak";
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let others = self.people(c, tenant, user.id, &people, &refs, true).await?;
        for t in &texts {
            let hits: Vec<_> = matcher.find(t, Markup::Plain).into_iter().filter(|h| weak_too || h.class.is_strong()).collect();
            for r in crate::matcher::passages(t, &hits) {
                let passage = t.get(r).unwrap_or_default().trim();
                let (masked, _) = others.redact(passage);
                cand.passages.push(masked);
            }
        }
        Ok(cand)
    }

    /// Accepts or rejects a pending candidate of an open request (a decision is final: deciding
    /// again, or after the request closed, is a conflict). Recorded in the ledger without text.
    pub async fn decide_mention(&self, scope: &Scope, request: i64, id: i64, accept: bool) -> Result<Candidate> {
        require_privacy(scope)?;
        let req = self.get(scope, request).await?;
        if req.closed_at.is_some() {
            return Err(PrivacyError::Conflict(format!(
                "the request is already {}; its mentions can no longer be decided",
                req.status
            )));
        }
        let now = self.hd.now();
        let tenant = scope.tenant;
        let mut tx = self.hd.db().begin().await?;
        let row = suoja_store::mentions::by_id(&mut tx, tenant, request, id)
            .await?
            .ok_or(PrivacyError::NotFound("Mention"))?;
        let decision = if accept { Decision::Accepted } else { Decision::Rejected };
        if !suoja_store::mentions::decide(&mut tx, tenant, id, decision.as_str(), scope.actor.0, now).await? {
            return Err(PrivacyError::Conflict(format!("this mention was already {}", row.state)));
        }
        self.record_ledger(
            &mut tx,
            tenant,
            if accept {
                suoja_core::LedgerKind::MentionAccepted
            } else {
                suoja_core::LedgerKind::MentionRejected
            },
            Some(row.subject_id),
            Some(scope.actor.0),
            json!({ "request": request, "mention": id, "source": row.source, "source_id": row.source_id, "ticket": row.ticket_id, "strength": row.strength }),
        )
        .await?;
        tx.commit().await?;
        let mut c = self.hd.db().read().await?;
        let row = suoja_store::mentions::by_id(&mut c, tenant, request, id)
            .await?
            .ok_or(PrivacyError::NotFound("Mention"))?;
        let user = suoja_store::users::by_id(&mut c, tenant, UserId(row.subject_id)).await?;
        self.candidate(&mut c, tenant, user.as_ref(), row).await
    }

    /// How many of a request's candidates wait for a decision, and the newest decision's time.
    pub(crate) async fn mention_review_state(&self, c: &mut Conn, tenant: TenantId, request: i64) -> Result<(usize, Option<Timestamp>)> {
        let rows = suoja_store::mentions::for_request(c, tenant, request).await?;
        let pending = rows.iter().filter(|r| r.state == Decision::Pending.as_str()).count();
        let newest = rows.iter().filter_map(|r| r.decided_at).max();
        Ok((pending, newest))
    }

    /// The accepted weak matches of a request, by where they are: what an erasure may replace
    /// beyond the strong matches.
    pub(crate) async fn accepted_sources(&self, c: &mut Conn, tenant: TenantId, request: i64) -> Result<BTreeMap<(Source, i64), Option<i64>>> {
        Ok(suoja_store::mentions::for_request(c, tenant, request)
            .await?
            .into_iter()
            .filter(|r| r.state == Decision::Accepted.as_str())
            .filter_map(|r| Source::parse(&r.source).map(|s| ((s, r.source_id), r.ticket_id)))
            .collect())
    }
}

/// The text in an organisation's field values (strings, and the items of lists).
pub(crate) fn org_field_texts(o: &suoja_store::organizations::OrgRow) -> Vec<String> {
    let Some(v) = o.organization_fields.as_deref().and_then(|f| serde_json::from_str::<serde_json::Value>(f).ok()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for x in v.as_object().into_iter().flat_map(|m| m.values()) {
        match x {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(items) => out.extend(items.iter().filter_map(|i| i.as_str().map(str::to_string))),
            _ => {}
        }
    }
    out
}
