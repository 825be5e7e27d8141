//! The erasure plan (A17-01): what erasing one person will do, per object type, and what legal
//! holds keep back and why — computed from the data map and the store, with no change made. The
//! runner executes exactly a stored plan, and the counts it reports are compared with these.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use suoja_core::{Role, TenantId, UserId};
use suoja_store::Conn;
use suoja_store::graph::Value;

use crate::datamap::{Erasure, declared_erasures};
use crate::mentions::{Found, Reach, Source};
use crate::{Privacy, Result};

/// Which weak matches a plan looks for, and which it replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mentions {
    /// None: strong matches only (the retention policy's erasures, the API's).
    Strong,
    /// Weak ones too, listed for review (a dry run).
    Review,
    /// Weak ones too, replacing those accepted on this erasure request.
    Request(i64),
    /// Weak ones too, replacing these (accepted earlier: a later pass of the same erasure, or
    /// its replay after a restore).
    Accepted(Vec<Mention>),
}

impl Mentions {
    /// For a later pass of an erasure planned as `previous`.
    pub(crate) fn again(previous: &Plan) -> Self {
        if previous.accepted.is_empty() {
            Mentions::Strong
        } else {
            Mentions::Accepted(previous.accepted.clone())
        }
    }
    pub(crate) fn weak(&self) -> bool {
        *self != Mentions::Strong
    }
}

/// Tables whose erasure the runner handles with their own rules; every other table the data map
/// links to a person by user id, with erasure `Delete`, is handled generically.
pub(crate) const OWN_RULES: &[&str] = &[
    "users",
    "tickets",
    "comments",
    "attachments",
    "ticket_collaborators",
    "vault_subject_keys",
    "search_index",
];

/// What a hold keeps back from this erasure.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Held {
    /// The hold.
    pub hold: i64,
    /// Its Art. 17(3) ground.
    pub ground: String,
    /// When it ends.
    pub until: String,
    /// Whether it holds the person as a whole.
    pub person: bool,
    /// Tickets it holds.
    pub tickets: Vec<i64>,
}

/// The lines of [`Plan::counts`] besides the data map's tables, in the order they are listed:
/// the person first, then their tickets, then what changes elsewhere.
pub const PLAN_LINES: &[&str] = &[
    "profile",
    "keys",
    "tickets",
    "tickets.comments",
    "tickets.attachments",
    "tickets.collaborator_links",
    "tombstoned_comments",
    "deleted_comments",
    "attachments",
    "collaborator_links",
    "redacted_comments",
    "redacted_organizations",
    "redacted_texts",
    "review_mentions",
    "unassigned_tickets",
];

/// A text where the person was found only weakly (a first name, a bare local part): listed
/// for review; replaced only once privacy staff accepted it on the erasure request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Mention {
    /// `comment`, `ticket_subject`, `ticket_fields`, `organization`, or the table of other free
    /// text.
    pub source: String,
    /// The comment, ticket, organisation or row id.
    pub id: i64,
    /// The ticket it is on.
    pub ticket_id: Option<i64>,
}

/// The plan of one pass.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Plan {
    /// The person.
    pub subject: i64,
    /// Their role.
    pub role: Role,
    /// Their data key, known across passes even after the profile is gone.
    pub subject_key: Option<i64>,
    /// Their data key, to destroy in this pass (absent once destroyed, or while holds need it).
    pub key: Option<i64>,
    /// Whether their profile row exists and goes.
    pub profile: bool,
    /// Tickets they requested, deleted whole.
    pub tickets: Vec<i64>,
    /// Comments, notes, attachments and CC links on those tickets.
    pub on_tickets: BTreeMap<String, u64>,
    /// Tickets where their CC/follower links are removed, with how many links.
    pub links: BTreeMap<i64, u64>,
    /// Tickets assigned to them (agents), unassigned.
    pub unassign: Vec<i64>,
    /// Their own comments on other people's tickets replaced by a tombstone (ticket, comment).
    pub tombstones: Vec<(i64, i64)>,
    /// Their own comments on other people's tickets deleted (when the tenant chose `delete`).
    pub deletions: Vec<(i64, i64)>,
    /// Their own replies kept under a pseudonym (agents' work on others' tickets).
    pub kept_replies: u64,
    /// Files they uploaded to other people's tickets, deleted.
    pub attachments: Vec<i64>,
    /// Tickets whose comments (listed), subject or description hold the person's identifiers,
    /// redacted: ticket → comments.
    pub redactions: BTreeMap<i64, Vec<i64>>,
    /// How many organisations' name, details or notes hold their identifiers, redacted.
    pub organizations: u64,
    /// Those organisations.
    #[serde(default)]
    pub organization_ids: Vec<i64>,
    /// Rows of other tables with free text the data map declares (help center and community
    /// text, profile notes) that hold their identifiers, redacted: table → row ids.
    #[serde(default)]
    pub texts: BTreeMap<String, Vec<i64>>,
    /// Texts with weak matches only, listed for review and left alone.
    #[serde(default)]
    pub review: Vec<Mention>,
    /// Texts whose weak matches privacy staff accepted on the request: replaced too.
    #[serde(default)]
    pub accepted: Vec<Mention>,
    /// Other tables the data map links to them, rows deleted (or, for tombstone tables,
    /// emptied) per table.
    pub records: BTreeMap<String, u64>,
    /// Whether their rows in the map's tombstone tables are deleted rather than emptied (the
    /// tenant's choice for erased people's comments, when the plan was made).
    #[serde(default)]
    pub delete_texts: bool,
    /// Keyed search tokens of their e-mail and phone, for the read-back of the index. Cleared
    /// when the erasure completes.
    pub probes: Vec<Vec<i64>>,
    /// What holds keep back.
    pub held: Vec<Held>,
}

impl Plan {
    /// Counts per category, the numbers a preview shows and a run must match.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        let n = |v: usize| u64::try_from(v).unwrap_or(u64::MAX);
        out.insert("profile".into(), u64::from(self.profile));
        out.insert("keys".into(), u64::from(self.key.is_some()));
        out.insert("tickets".into(), n(self.tickets.len()));
        for (k, v) in &self.on_tickets {
            out.insert(format!("tickets.{k}"), *v);
        }
        out.insert("collaborator_links".into(), self.links.values().sum());
        out.insert("unassigned_tickets".into(), n(self.unassign.len()));
        out.insert("tombstoned_comments".into(), n(self.tombstones.len()));
        out.insert("deleted_comments".into(), n(self.deletions.len()));
        out.insert("attachments".into(), n(self.attachments.len()));
        out.insert("redacted_comments".into(), n(self.redactions.values().map(Vec::len).sum()));
        out.insert("redacted_organizations".into(), self.organizations);
        out.insert("redacted_texts".into(), n(self.texts.values().map(Vec::len).sum()));
        out.insert("review_mentions".into(), n(self.review.len()));
        for (t, v) in &self.records {
            out.insert(t.clone(), *v);
        }
        out
    }

    /// Tickets held by some hold.
    pub fn held_tickets(&self) -> BTreeSet<i64> {
        self.held.iter().flat_map(|h| h.tickets.iter().copied()).collect()
    }

    /// Whether a hold keeps the person as a whole.
    pub fn person_held(&self) -> bool {
        self.held.iter().any(|h| h.person)
    }
}

fn int(v: Option<&Value>) -> Option<i64> {
    match v {
        Some(Value::Int(i)) => Some(*i),
        _ => None,
    }
}

impl Privacy {
    /// An erasure plan's search of the other tables with free text (help center, community,
    /// profile notes), on a read connection: it opens every row, so it runs before the
    /// transaction that plans, and the single writer never waits for it. `None` when the person
    /// is gone (the plan then has no identifiers to look for).
    pub(crate) async fn plan_texts(&self, tenant: TenantId, subject: UserId, mentions: &Mentions) -> Result<Option<Vec<Found>>> {
        let mut c = self.hd.db().read().await?;
        let Some(user) = suoja_store::users::by_id(&mut c, tenant, subject).await? else {
            return Ok(None);
        };
        let reach = Reach {
            weak: mentions.weak(),
            organizations: true,
            own_comments: true,
            complete: true,
            free_text: true,
        };
        Ok(Some(self.find_in_free_text(&mut c, tenant, &user, reach).await?.0))
    }

    /// Plans the erasure of `subject` now. Changes nothing.
    /// `known_key` is the person's key from an earlier pass (their profile may be gone by now);
    /// `mentions` says whether weak matches are looked for (to list for review, and to replace
    /// where the request's reviewer accepted them). `texts` is what [`Self::plan_texts`] found
    /// in the other tables with free text before the caller's transaction began; without it,
    /// they are searched here.
    #[allow(
        clippy::too_many_arguments,
        reason = "the transaction, the person, the map, and what earlier passes and the search before the transaction found"
    )]
    pub(crate) async fn make_plan(
        &self,
        c: &mut Conn,
        tenant: TenantId,
        subject: UserId,
        map: &[crate::datamap::Table],
        known_key: Option<i64>,
        mentions: Mentions,
        texts: Option<Vec<Found>>,
    ) -> Result<Plan> {
        let user = suoja_store::users::by_id(c, tenant, subject).await?;
        let subject_key = user.as_ref().map(|u| u.key_id.0).or(known_key);
        let key_exists = match subject_key {
            Some(k) => suoja_store::graph::count_linked(c, tenant, "vault_subject_keys", "id", &[k]).await? > 0,
            None => false,
        };
        let mut plan = Plan {
            subject: subject.0,
            role: user.as_ref().map_or(Role::EndUser, |u| u.role),
            profile: user.is_some(),
            subject_key,
            key: subject_key.filter(|_| key_exists),
            ..Plan::default()
        };
        plan.held = self.holds_on(c, tenant, subject).await?;
        let held = plan.held_tickets();
        if plan.person_held() {
            return Ok(plan);
        }

        // Tickets they requested go whole.
        let requested = suoja_store::graph::rows_linked(c, tenant, "tickets", &["id"], "requester_id", &[subject.0]).await?;
        let mut touched: BTreeSet<i64> = requested.iter().filter_map(|r| int(r.first())).collect();
        plan.tickets = touched.iter().copied().filter(|t| !held.contains(t)).collect();
        for (name, link) in [("comments", "ticket_id"), ("attachments", "ticket_id"), ("collaborator_links", "ticket_id")] {
            let table = if name == "collaborator_links" { "ticket_collaborators" } else { name };
            let n = suoja_store::graph::count_linked(c, tenant, table, link, &plan.tickets).await?;
            plan.on_tickets.insert(name.into(), u64::try_from(n).unwrap_or(0));
        }
        let gone: BTreeSet<i64> = plan.tickets.iter().copied().chain(held.iter().copied()).collect();

        // Links on other tickets.
        for r in suoja_store::graph::rows_linked(c, tenant, "ticket_collaborators", &["ticket_id", "kind"], "user_id", &[subject.0]).await? {
            touched.extend(int(r.first()));
            if let Some(t) = int(r.first()).filter(|t| !gone.contains(t)) {
                *plan.links.entry(t).or_default() += 1;
            }
        }
        let assigned = suoja_store::graph::rows_linked(c, tenant, "tickets", &["id"], "assignee_id", &[subject.0]).await?;
        plan.unassign = assigned.iter().filter_map(|r| int(r.first())).filter(|t| !gone.contains(t)).collect();

        // Their comments and files on other tickets.
        let key = plan.subject_key.unwrap_or(-1);
        let delete_comments = suoja_store::settings::erasure_comments(c, tenant).await?.as_deref() == Some("delete");
        for r in suoja_store::graph::rows_linked(c, tenant, "comments", &["id", "ticket_id", "key_id"], "author_id", &[subject.0]).await? {
            let (Some(id), Some(t), Some(k)) = (int(r.first()), int(r.get(1)), int(r.get(2))) else {
                continue;
            };
            touched.insert(t);
            if gone.contains(&t) {
                continue;
            }
            // A comment sealed under the person's own key is theirs (end users); staff replies are
            // sealed under the ticket's key and stay, with the author a pseudonymous id.
            if k == key && delete_comments {
                plan.deletions.push((t, id));
            } else if k == key {
                plan.tombstones.push((t, id));
            } else {
                plan.kept_replies += 1;
            }
        }
        for r in suoja_store::graph::rows_linked(c, tenant, "attachments", &["id", "ticket_id"], "uploader_id", &[subject.0]).await? {
            let (Some(id), t) = (int(r.first()), int(r.get(1))) else { continue };
            touched.extend(t);
            if t.is_none_or(|t| !gone.contains(&t)) {
                plan.attachments.push(id);
            }
        }

        // Their identifiers in other people's text (and in their own kept replies), as the
        // identifier matcher finds them: strong matches go; weak ones are listed for review and
        // go only where the request's reviewer accepted them.
        if let Some(u) = &user {
            let reach = Reach {
                weak: mentions.weak(),
                organizations: true,
                own_comments: true,
                complete: true,
                free_text: texts.is_none(),
            };
            let (mut found, _) = self.find_in_text(c, tenant, u, &gone, reach).await?;
            if let Some(t) = texts {
                found.extend(t);
                found.sort_by_key(Found::key);
            }
            let accepted: BTreeSet<(Source, i64)> = match &mentions {
                Mentions::Request(r) => self.accepted_sources(c, tenant, *r).await?.into_keys().collect(),
                Mentions::Accepted(list) => list.iter().filter_map(|m| Source::parse(&m.source).map(|s| (s, m.id))).collect(),
                Mentions::Strong | Mentions::Review => BTreeSet::new(),
            };
            let replaced: BTreeSet<i64> = plan.tombstones.iter().chain(&plan.deletions).map(|(_, m)| *m).collect();
            for f in found {
                if f.source == Source::Comment && replaced.contains(&f.source_id) {
                    continue;
                }
                let item = Mention {
                    source: f.source.as_str().into(),
                    id: f.source_id,
                    ticket_id: f.ticket_id,
                };
                let is_accepted = accepted.contains(&(f.source, f.source_id));
                if !f.strong() && !is_accepted {
                    plan.review.push(item);
                    continue;
                }
                if is_accepted {
                    plan.accepted.push(item);
                }
                match (f.source, f.ticket_id) {
                    (Source::Organization, _) => plan.organization_ids.push(f.source_id),
                    (Source::Text(table), _) => plan.texts.entry(table.to_string()).or_default().push(f.source_id),
                    (Source::Comment, Some(t)) => plan.redactions.entry(t).or_default().push(f.source_id),
                    (_, Some(t)) => {
                        plan.redactions.entry(t).or_default();
                    }
                    (_, None) => {}
                }
            }
            plan.organizations = u64::try_from(plan.organization_ids.len()).unwrap_or(u64::MAX);
            let h = self.hd.vault().search_hasher(c, tenant).await?;
            let identity = self.identity(c, tenant, u).await?;
            let mut probes: Vec<String> = identity.email().map(str::to_string).into_iter().collect();
            probes.extend(identity.phone_forms().iter().map(|f| f.trim_start_matches('+').to_string()));
            for p in probes {
                let tokens: Vec<i64> = suoja_search::terms(&p).iter().filter(|t| **t == p).map(|t| h.token(t)).collect();
                if !tokens.is_empty() {
                    plan.probes.push(tokens);
                }
            }
        }

        // Every other table the data map links to the person, by its declaration alone.
        for (t, link) in declared_erasures(map, Erasure::Delete, OWN_RULES) {
            let n = suoja_store::graph::count_linked(c, tenant, t.name, link.column, &[subject.0]).await?;
            *plan.records.entry(t.name.to_string()).or_default() += u64::try_from(n).unwrap_or(0);
        }
        plan.delete_texts = delete_comments;
        let emptied = declared_erasures(map, Erasure::Empty, OWN_RULES).map(|e| (e, false));
        for ((t, link), deletable) in declared_erasures(map, Erasure::Tombstone, OWN_RULES).map(|e| (e, true)).chain(emptied) {
            let n = if delete_comments && deletable {
                suoja_store::graph::count_linked(c, tenant, t.name, link.column, &[subject.0]).await?
            } else {
                let cols = t.personal_column_names(link.column);
                suoja_store::graph::count_linked_filled(c, tenant, t.name, link.column, &[subject.0], &cols).await?
            };
            *plan.records.entry(t.name.to_string()).or_default() += u64::try_from(n).unwrap_or(0);
        }

        // Only holds that keep something of this person belong in their plan.
        plan.held.retain_mut(|h| {
            h.tickets.retain(|t| touched.contains(t));
            h.person || !h.tickets.is_empty()
        });
        let held = plan.held_tickets();

        // A key that sealed held data stays until the hold ends.
        if !held.is_empty() && self.key_seals_held(c, tenant, key, &held).await? {
            plan.key = None;
        }
        Ok(plan)
    }

    async fn key_seals_held(&self, c: &mut Conn, tenant: TenantId, key: i64, held: &BTreeSet<i64>) -> Result<bool> {
        let ids: Vec<i64> = held.iter().copied().collect();
        let tickets = suoja_store::graph::rows_linked(c, tenant, "tickets", &["key_id"], "id", &ids).await?;
        let comments = suoja_store::graph::rows_linked(c, tenant, "comments", &["key_id"], "ticket_id", &ids).await?;
        let files = suoja_store::graph::rows_linked(c, tenant, "attachments", &["key_id"], "ticket_id", &ids).await?;
        Ok(tickets.iter().chain(&comments).chain(&files).any(|r| int(r.first()) == Some(key)))
    }
}
