//! The erasure runner (A17-02, A17-09): executes a stored plan step by step. Each step's changes
//! and the job's bookkeeping commit in one transaction, and each step is idempotent, so a runner
//! killed at any point leaves the job at a committed step and the next runner (after restart, or
//! another node once the lease runs out) carries on with the same result. An erasure is reported
//! complete only after every store has been read back and found clean.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use suoja_core::{ErasureState, KeyId, TenantId, TicketId, Timestamp, UserId};
use suoja_store::Conn;
use suoja_store::erasures::ErasureRow;
use suoja_store::graph::Value as Cell;

use super::plan::{Mentions, OWN_RULES, Plan};
use crate::datamap::{Erasure, TABLES, declared_erasures};
use crate::matcher::Matcher;
use crate::mentions::Source;
use crate::{Privacy, PrivacyError, Result};

/// The steps of a pass, in order.
pub const STEPS: &[&str] = &["records", "tickets", "links", "comments", "redactions", "profile", "maintenance", "verify"];

/// How long a runner holds an erasure between steps.
const LEASE_MS: i64 = 10_000;
/// Passes before an erasure that keeps finding new data is reported failed.
const MAX_PASSES: i64 = 3;
/// How long a held erasure waits before its holds are looked at again.
const HELD_RECHECK_MS: i64 = 60_000;

type Counts = BTreeMap<String, u64>;

fn int(v: Option<&Cell>) -> Option<i64> {
    match v {
        Some(Cell::Int(i)) => Some(*i),
        _ => None,
    }
}

pub(crate) fn parse_plan(row: &ErasureRow) -> Result<Plan> {
    serde_json::from_str(&row.plan).map_err(|e| PrivacyError::Internal(format!("erasure {} has an unreadable plan: {e}", row.id)))
}

pub(crate) fn parse_done(row: &ErasureRow) -> Value {
    serde_json::from_str(&row.done).unwrap_or_else(|_| json!({}))
}

fn add(done: &mut Value, counts: &Counts, step: &str, now: Timestamp) {
    if let Some(totals) = suoja_core::json::member(done, "counts") {
        for (k, v) in counts {
            let cur = totals.get(k.as_str()).and_then(Value::as_u64).unwrap_or(0);
            suoja_core::json::set(totals, k, json!(cur + v));
        }
    }
    if let Some(steps) = suoja_core::json::member(done, "steps") {
        suoja_core::json::set(steps, step, json!(now.to_iso()));
    }
}

/// The writer's large page cache while an erasure's steps run. The steps take each erased
/// ticket's words out of the search index where they lie, rewriting pages all over it (a
/// ticket of ten comments holds a few hundred words), which the default 2 MB cache re-reads and
/// spills. The default comes back when the steps end, and also when the erasure's future is
/// dropped halfway (a client that hung up). An optimisation only: failing to switch is logged,
/// and another erasure or index rebuild ending meanwhile puts the default back early (slower,
/// never wrong).
struct LargeCache {
    db: Option<suoja_store::Db>,
}

impl LargeCache {
    async fn on(db: &suoja_store::Db) -> Self {
        if let Err(e) = suoja_store::dialect::bulk_cache(db, true).await {
            tracing::warn!(error = %e, "the writer's page cache could not be enlarged for an erasure");
        }
        LargeCache { db: Some(db.clone()) }
    }

    async fn off(mut self) {
        if let Some(db) = self.db.take() {
            restore(&db).await;
        }
    }
}

async fn restore(db: &suoja_store::Db) {
    if let Err(e) = suoja_store::dialect::bulk_cache(db, false).await {
        tracing::warn!(error = %e, "the writer's page cache could not be put back after an erasure");
    }
}

impl Drop for LargeCache {
    fn drop(&mut self) {
        if let (Some(db), Ok(runtime)) = (self.db.take(), tokio::runtime::Handle::try_current()) {
            runtime.spawn(async move { restore(&db).await });
        }
    }
}

impl Privacy {
    /// Runs an erasure as far as it can go now and returns it. Does nothing (and returns the
    /// row) if another runner holds it.
    pub async fn run_erasure(&self, tenant: TenantId, id: i64) -> Result<ErasureRow> {
        let db = self.hd.db().clone();
        {
            let now = self.hd.now();
            let mut c = db.begin().await?;
            let taken = suoja_store::erasures::lease(&mut c, tenant, id, now, now.0 + LEASE_MS).await?;
            c.commit().await?;
            if !taken {
                return self.erasure_row(tenant, id).await;
            }
        }
        let mut cache = None;
        let ran = self.run_steps(tenant, id, &mut cache).await;
        if let Some(cache) = cache {
            cache.off().await;
        }
        ran
    }

    /// [`Self::run_erasure`]'s steps, with the lease taken; `cache` holds the writer's large
    /// page cache from the first step on.
    async fn run_steps(&self, tenant: TenantId, id: i64, cache: &mut Option<LargeCache>) -> Result<ErasureRow> {
        loop {
            let row = self.erasure_row(tenant, id).await?;
            let next = match row.state {
                ErasureState::Completed | ErasureState::Failed => return Ok(row),
                ErasureState::Held => self.recheck_holds(row).await?,
                ErasureState::Planned | ErasureState::Running | ErasureState::Verifying => {
                    if cache.is_none() {
                        *cache = Some(LargeCache::on(self.hd.db()).await);
                    }
                    // Each step's time, for an operator (and the benchmark) to see where an
                    // erasure's time goes; ids and names of steps only.
                    let step = usize::try_from(row.step).ok().and_then(|i| STEPS.get(i)).copied().unwrap_or("?");
                    let started = std::time::Instant::now();
                    let next = self.run_step(row).await?;
                    tracing::info!(tenant.id = %tenant, erasure.id = id, step, ms = started.elapsed().as_millis(), "erasure step done");
                    next
                }
            };
            if !next {
                return self.erasure_row(tenant, id).await;
            }
        }
    }

    pub(crate) async fn erasure_row(&self, tenant: TenantId, id: i64) -> Result<ErasureRow> {
        let mut c = self.hd.db().read().await?;
        suoja_store::erasures::by_id(&mut c, tenant, id).await?.ok_or(PrivacyError::NotFound("Erasure"))
    }

    /// A held erasure: if its holds have ended, a new pass starts; otherwise it waits.
    async fn recheck_holds(&self, mut row: ErasureRow) -> Result<bool> {
        let now = self.hd.now();
        let previous = parse_plan(&row)?;
        let mentions = Mentions::again(&previous);
        // A person held as a whole stays held without a plan's search of free text; otherwise
        // the search runs before the transaction, as when the erasure started.
        let held_whole = {
            let mut c = self.hd.db().read().await?;
            self.holds_on(&mut c, row.tenant, UserId(row.subject_id)).await?.iter().any(|h| h.person)
        };
        let texts = if held_whole {
            Some(Vec::new())
        } else {
            self.plan_texts(row.tenant, UserId(row.subject_id), &mentions).await?
        };
        let mut tx = self.hd.db().begin().await?;
        let plan = self
            .make_plan(&mut tx, row.tenant, UserId(row.subject_id), TABLES, previous.subject_key, mentions, texts)
            .await?;
        if !plan.held.is_empty() {
            suoja_store::erasures::set_lease(&mut tx, row.tenant, row.id, now.0 + HELD_RECHECK_MS).await?;
            tx.commit().await?;
            return Ok(false);
        }
        if held_whole {
            // The hold ended since the look above: this plan lacks the search of free text, so
            // it is not used; the next look (at once) plans with it.
            suoja_store::erasures::set_lease(&mut tx, row.tenant, row.id, now.0).await?;
            tx.commit().await?;
            return Ok(false);
        }
        let from = (row.step, row.pass);
        row.state = ErasureState::Running;
        row.step = 0;
        row.pass += 1;
        row.plan = serde_json::to_string(&plan).map_err(|e| PrivacyError::Internal(e.to_string()))?;
        row.updated_at = now;
        let moved = suoja_store::erasures::advance(&mut tx, &row, from).await?;
        tx.commit().await?;
        Ok(moved)
    }

    /// Runs the next step of a running erasure in one transaction. Returns whether to go on.
    async fn run_step(&self, mut row: ErasureRow) -> Result<bool> {
        let now = self.hd.now();
        let step_index = usize::try_from(row.step).unwrap_or(usize::MAX);
        let Some(step) = STEPS.get(step_index).copied() else {
            return Err(PrivacyError::Internal(format!("erasure {} is past its last step", row.id)));
        };
        let plan = parse_plan(&row)?;
        let tenant = row.tenant;
        let from = (row.step, row.pass);
        let mut done = parse_done(&row);
        self.fault(&format!("before:{step}"));
        let mut blob_counts = Counts::new();
        if step == "maintenance" {
            // Engine maintenance cannot run inside a transaction; it is safe to repeat.
            self.maintenance(&plan).await?;
            // The blobs of the files the steps deleted (their keys went into the trash with
            // their rows): deleted from the blob store, each checked gone. The read-back counts
            // what is left of the trash up to here (later entries are other deletions').
            let db = self.hd.db();
            let left = |mark: i64| async move {
                let mut c = db.read().await?;
                suoja_store::blobs::trash_left_upto(&mut c, tenant, mark).await
            };
            let mark = {
                let mut c = db.read().await?;
                suoja_store::blobs::trash_mark(&mut c, tenant).await?
            };
            let before = left(mark).await?;
            db.blobs().empty_trash(db, Some(tenant)).await?;
            // Entries another node took meanwhile: waited for (a while), so that what this
            // step counts, and what the read-back then finds, is what is really gone.
            let mut now_left = left(mark).await?;
            for _ in 0..100 {
                if now_left == 0 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                db.blobs().empty_trash(db, Some(tenant)).await?;
                now_left = left(mark).await?;
            }
            blob_counts.insert("blobs".into(), u64::try_from(before - now_left).unwrap_or(0));
            suoja_core::json::set(&mut done, "blob_trash_mark", json!(mark));
        }
        if step == "profile" && row.request_id.is_some() && plan.profile && plan.held.is_empty() && done.get("confirmation").is_none() {
            // The person asked: they are told it is done while their address still exists.
            let outcome = self.confirm_erasure(tenant, UserId(plan.subject)).await;
            suoja_core::json::set(&mut done, "confirmation", json!(outcome));
        }
        let mut tx = self.hd.db().begin().await?;
        suoja_store::erasures::set_lease(&mut tx, tenant, row.id, now.0 + LEASE_MS).await?;
        row.state = ErasureState::Running;
        let counts = match step {
            "records" => self.step_records(&mut tx, tenant, &plan).await?,
            "tickets" => self.step_tickets(&mut tx, tenant, &plan).await?,
            "links" => self.step_links(&mut tx, tenant, &plan).await?,
            "comments" => self.step_comments(&mut tx, tenant, &plan).await?,
            "redactions" => self.step_redactions(&mut tx, tenant, &plan).await?,
            "profile" => self.step_profile(&mut tx, tenant, &plan).await?,
            "maintenance" => blob_counts,
            _ => {
                let mut checks = self.read_back(&mut tx, tenant, &plan).await?;
                if !plan.person_held() {
                    // Deleted files whose blobs are not yet gone from the blob store.
                    let mark = done.get("blob_trash_mark").and_then(Value::as_i64).unwrap_or(i64::MAX);
                    let left = suoja_store::blobs::trash_left_upto(&mut tx, tenant, mark).await?;
                    checks.push(json!({ "store": "blob store", "remaining": left }));
                }
                let dirty: Vec<&Value> = checks.iter().filter(|c| c["remaining"].as_i64().unwrap_or(0) > 0).collect();
                let clean = dirty.is_empty();
                suoja_core::json::set(&mut done, "checks", json!(checks));
                if !clean {
                    let stores: Vec<String> = dirty.iter().filter_map(|c| c["store"].as_str().map(str::to_string)).collect();
                    if row.pass >= MAX_PASSES {
                        row.state = ErasureState::Failed;
                        row.error = Some(format!("data remained after {} passes in: {}", row.pass, stores.join(", ")));
                    } else {
                        // New data arrived after planning (or a step was interrupted oddly): plan again.
                        let again = self
                            .make_plan(&mut tx, tenant, UserId(row.subject_id), TABLES, plan.subject_key, Mentions::again(&plan), None)
                            .await?;
                        row.plan = serde_json::to_string(&again).map_err(|e| PrivacyError::Internal(e.to_string()))?;
                        row.pass += 1;
                        row.step = -1;
                    }
                } else if !plan.held.is_empty() {
                    row.state = ErasureState::Held;
                    row.held = serde_json::to_string(&plan.held).map_err(|e| PrivacyError::Internal(e.to_string()))?;
                } else {
                    self.complete(&mut tx, &mut row, &plan, &done, now).await?;
                }
                Counts::new()
            }
        };
        add(&mut done, &counts, step, now);
        row.done = done.to_string();
        row.step += 1;
        row.updated_at = now;
        if row.state == ErasureState::Held {
            row.leased_until = now.0 + HELD_RECHECK_MS;
        }
        self.fault(&format!("commit:{step}"));
        if !suoja_store::erasures::advance(&mut tx, &row, from).await? {
            // Another runner got here first; its work stands.
            return Ok(false);
        }
        if row.state == ErasureState::Held {
            suoja_store::erasures::set_lease(&mut tx, tenant, row.id, now.0 + HELD_RECHECK_MS).await?;
        }
        tx.commit().await?;
        if row.state == ErasureState::Completed {
            let mut entry = super::replay::entry(tenant, row.subject_id, plan.subject_key, row.id, now);
            entry.accepted = plan.accepted.clone();
            self.log_erasure(entry).await;
        }
        if step == "profile" {
            // Other nodes may have this key in memory; this one forgets it now.
            self.hd.vault().forget_cached(tenant);
        }
        self.fault(&format!("after:{step}"));
        Ok(row.state == ErasureState::Running)
    }

    /// Sends the person the confirmation that their data is erased, to the address about to
    /// go. Returns what happened, for the erasure's record (no address, no text).
    async fn confirm_erasure(&self, tenant: TenantId, subject: UserId) -> String {
        let Some(courier) = &self.courier else {
            return "not sent: this installation sends no mail".into();
        };
        let address = async {
            let mut c = self.hd.db().read().await.ok()?;
            let u = suoja_store::users::by_id(&mut c, tenant, subject).await.ok()??;
            let enc = u.email_enc?;
            let a = self.hd.vault().decrypt_str(&mut c, tenant, &enc).await.ok()?;
            Some((a, u.locale.to_ascii_lowercase().starts_with("fi")))
        }
        .await;
        let Some((address, finnish)) = address else {
            return "not sent: no address on record".into();
        };
        let (subject_line, text) = crate::courier::erasure_confirmation(finnish, &self.policy.controller);
        // Well within the step's lease, so no other runner takes the erasure (and sends again)
        // while this one waits on the mail server.
        match tokio::time::timeout(std::time::Duration::from_secs(5), courier.send(&address, &subject_line, &text)).await {
            Ok(Ok(())) => "sent".into(),
            Ok(Err(code)) => format!("not sent: {code}"),
            Err(_) => "not sent: the mail server did not answer in 5 s".into(),
        }
    }

    async fn step_records(&self, c: &mut Conn, tenant: TenantId, plan: &Plan) -> Result<Counts> {
        let mut out = Counts::new();
        // Drop reads of the person still waiting in memory; the read-back catches other nodes'.
        self.forget_consultations(tenant, UserId(plan.subject));
        // Mail addressed to the person names them in its headers: those originals go with their
        // recipient rows (the comments stay, redacted by the later steps where they name the
        // person). Counted as the recipient rows, as the plan counts them.
        let links = suoja_store::graph::count_linked(c, tenant, "mail_recipients", "user_id", &[plan.subject]).await?;
        suoja_store::mail::delete_naming(c, tenant, plan.subject).await?;
        for (t, link) in declared_erasures(TABLES, Erasure::Delete, OWN_RULES) {
            let n = suoja_store::graph::delete_linked(c, tenant, t.name, link.column, &[plan.subject]).await?;
            *out.entry(t.name.to_string()).or_default() += n;
        }
        let emptied = declared_erasures(TABLES, Erasure::Empty, OWN_RULES).map(|e| (e, false));
        for ((t, link), deletable) in declared_erasures(TABLES, Erasure::Tombstone, OWN_RULES).map(|e| (e, true)).chain(emptied) {
            let n = if plan.delete_texts && deletable {
                suoja_store::graph::delete_linked(c, tenant, t.name, link.column, &[plan.subject]).await?
            } else {
                let cols = t.personal_column_names(link.column);
                suoja_store::graph::clear_linked(c, tenant, t.name, link.column, &[plan.subject], &cols).await?
            };
            *out.entry(t.name.to_string()).or_default() += n;
        }
        if plan.delete_texts {
            // Other people's votes on what was just deleted now point at nothing.
            suoja_store::help_center::remove_dangling_votes(c, tenant).await?;
        }
        if links > 0 {
            out.insert("mail_recipients".into(), u64::try_from(links).unwrap_or(0));
        }
        // The person can no longer sign in or act while the rest runs; held tickets are restricted.
        if let Some(mut u) = suoja_store::users::by_id_for_update(c, tenant, UserId(plan.subject)).await? {
            u.active = false;
            suoja_store::users::update(c, tenant, &u).await?;
            crate::restriction::restrict_person(c, tenant, UserId(plan.subject), true, self.hd.now()).await?;
        }
        let held: Vec<i64> = plan.held_tickets().into_iter().collect();
        suoja_store::tickets::set_restricted_ids(c, tenant, &held, true).await?;
        Ok(out)
    }

    async fn step_tickets(&self, c: &mut Conn, tenant: TenantId, plan: &Plan) -> Result<Counts> {
        let mut out = Counts::new();
        for t in &plan.tickets {
            let p = crate::erasure::rows::purge_ticket_rows(c, tenant, TicketId(*t)).await?;
            *out.entry("tickets".into()).or_default() += p.tickets;
            *out.entry("tickets.comments".into()).or_default() += p.comments;
            *out.entry("tickets.attachments".into()).or_default() += p.attachments;
            *out.entry("tickets.collaborator_links".into()).or_default() += p.links;
        }
        Ok(out)
    }

    async fn step_links(&self, c: &mut Conn, tenant: TenantId, plan: &Plan) -> Result<Counts> {
        let mut out = Counts::new();
        let subject = UserId(plan.subject);
        for t in plan.links.keys() {
            *out.entry("collaborator_links".into()).or_default() += suoja_store::tickets::remove_collaborator(c, tenant, *t, subject).await?;
        }
        let mut unassigned = 0;
        for t in &plan.unassign {
            let n = suoja_store::tickets::unassign(c, tenant, subject, &[*t]).await?;
            if n > 0
                && let Some(row) = suoja_store::tickets::by_id(c, tenant, TicketId(*t)).await?
            {
                // The ticket's history says its assignee went, not who they were.
                let event = suoja_helpdesk::model::AuditEvent::change("assignee_id", Value::Null, Value::Null, false).with("reason", json!("erasure"));
                self.hd.record_audit(c, tenant, &row, None, "rule", &[event], self.hd.now()).await?;
            }
            unassigned += n;
        }
        out.insert("unassigned_tickets".into(), unassigned);
        // The histories of the tickets they were on, other than their own (which go whole).
        let mut on: BTreeSet<i64> = plan.links.keys().copied().collect();
        on.extend(plan.unassign.iter().copied());
        on.extend(plan.redactions.keys().copied());
        on.extend(plan.tombstones.iter().chain(&plan.deletions).map(|(t, _)| *t));
        for t in on {
            self.hd.forget_person_in_audits(c, tenant, TicketId(t), subject).await?;
        }
        Ok(out)
    }

    async fn step_comments(&self, c: &mut Conn, tenant: TenantId, plan: &Plan) -> Result<Counts> {
        let mut out = Counts::new();
        let mut touched = BTreeSet::new();
        // A ticket's description is its first comment's text: where the person wrote that on
        // someone else's ticket, the description goes with it.
        let mut firsts = BTreeSet::new();
        for (t, m) in plan.tombstones.iter().chain(&plan.deletions) {
            let first = suoja_store::comments::for_ticket(
                c,
                tenant,
                TicketId(*t),
                suoja_store::comments::CommentQuery {
                    public_only: false,
                    after: None,
                    descending: false,
                    limit: 1,
                    offset: 0,
                },
            )
            .await?;
            if first.first().is_some_and(|f| f.id.0 == *m) {
                firsts.insert(*t);
            }
        }
        for t in &firsts {
            if let Some(mut ticket) = suoja_store::tickets::by_id_for_update(c, tenant, TicketId(*t)).await? {
                ticket.description_enc = self.hd.vault().encrypt_str(c, tenant, ticket.key_id, super::rows::TOMBSTONE).await?;
                suoja_store::tickets::update(c, tenant, &ticket).await?;
                *out.entry("tombstoned_descriptions".into()).or_default() += 1;
            }
        }
        for (t, m) in &plan.tombstones {
            let Some(ticket) = suoja_store::tickets::by_id(c, tenant, TicketId(*t)).await? else {
                continue;
            };
            if self.tombstone_comment(c, tenant, *m, ticket.key_id).await? {
                *out.entry("tombstoned_comments".into()).or_default() += 1;
                touched.insert(*t);
            }
        }
        let ids: Vec<i64> = plan.deletions.iter().map(|(_, m)| *m).collect();
        out.insert(
            "deleted_comments".into(),
            suoja_store::graph::delete_linked(c, tenant, "comments", "id", &ids).await?,
        );
        touched.extend(plan.deletions.iter().map(|(t, _)| *t));
        let n = suoja_store::graph::delete_linked(c, tenant, "attachments", "id", &plan.attachments).await?;
        out.insert("attachments".into(), n);
        // The index of each ticket held the words of the comments just replaced.
        for t in touched {
            self.hd.reindex_ticket(c, tenant, TicketId(t)).await?;
        }
        Ok(out)
    }

    async fn step_redactions(&self, c: &mut Conn, tenant: TenantId, plan: &Plan) -> Result<Counts> {
        let mut out = Counts::new();
        out.insert("redacted_comments".into(), 0);
        let Some(user) = suoja_store::users::by_id(c, tenant, UserId(plan.subject)).await? else {
            return Ok(out);
        };
        let matcher = Matcher::one(&self.identity(c, tenant, &user).await?);
        let accepted: BTreeSet<(Source, i64)> = plan.accepted.iter().filter_map(|m| Source::parse(&m.source).map(|s| (s, m.id))).collect();
        for (t, comments) in &plan.redactions {
            let n = self.redact_in_ticket(c, tenant, TicketId(*t), comments, &matcher, &accepted).await?;
            *out.entry("redacted_comments".into()).or_default() += n;
        }
        let mut orgs = 0;
        for o in &plan.organization_ids {
            let weak = accepted.contains(&(Source::Organization, *o));
            orgs += u64::from(self.redact_in_organization(c, tenant, *o, &matcher, weak).await?);
        }
        out.insert("redacted_organizations".into(), orgs);
        let mut texts = 0;
        for (table, ids) in &plan.texts {
            let Some(t) = crate::texts::table(table) else { continue };
            for id in ids {
                let weak = accepted.contains(&(Source::Text(t.table.name), *id));
                let change = |text: &str, markup| super::redact::erase_text(&matcher, text, markup, weak);
                texts += u64::from(self.rewrite_text(c, tenant, &t, *id, change).await?);
            }
        }
        out.insert("redacted_texts".into(), texts);
        Ok(out)
    }

    async fn step_profile(&self, c: &mut Conn, tenant: TenantId, plan: &Plan) -> Result<Counts> {
        let mut out = Counts::new();
        if plan.person_held() {
            return Ok(out);
        }
        out.insert("profile".into(), u64::from(self.remove_profile(c, tenant, UserId(plan.subject)).await?));
        if let Some(k) = plan.key {
            out.insert("keys".into(), u64::from(self.hd.vault().destroy_subject_key(c, tenant, KeyId(k)).await?));
        }
        Ok(out)
    }

    /// Pushes deleted bytes out of the engine's files: SQLite zeroes freed cells as it goes
    /// (`secure_delete`), and the write-ahead log is checkpointed and truncated; PostgreSQL
    /// vacuums the tables whose old row versions are readable without the destroyed key (key
    /// material, keyed and one-way hashes, plain links between the person and other records),
    /// rewrites the organisations table if its plain text was redacted, and retires the WAL
    /// segments holding old rows.
    async fn maintenance(&self, plan: &Plan) -> Result<()> {
        let db = self.hd.db();
        // The tables with rules of their own that hold such values, and every table the data
        // map's declarations had this erasure change (its rows link the person in plain).
        let mut tables: BTreeSet<&str> = BTreeSet::from(["vault_subject_keys", "users", "api_tokens", "ticket_collaborators", "search_index"]);
        tables.extend(
            plan.records
                .iter()
                .filter(|(_, n)| **n > 0)
                .filter_map(|(t, _)| crate::datamap::table(t))
                .map(|t| t.name),
        );
        for t in tables {
            suoja_store::dialect::vacuum_table(db, t).await?;
        }
        // Free text redacted elsewhere: a sealed value's old ciphertext is readable while the
        // writer's key lives, and plain text is plain; the old row versions must go.
        for table in plan
            .texts
            .iter()
            .filter(|(_, ids)| !ids.is_empty())
            .filter_map(|(t, _)| crate::datamap::table(t))
        {
            let plain = table.columns.iter().any(|c| c.text.is_some() && c.storage == crate::datamap::Storage::Plain);
            if plain {
                if !suoja_store::dialect::rewrite_table(db, table.name).await? {
                    tracing::warn!(table = table.name, "a long transaction may have kept old rows through the rewrite");
                }
            } else {
                suoja_store::dialect::vacuum_table(db, table.name).await?;
            }
        }
        if plan.organizations > 0 {
            // Organisation text is plain; its old versions must leave the files.
            if !suoja_store::dialect::rewrite_table(db, "organizations").await? {
                tracing::warn!(
                    "a transaction open for over 20 s may have kept old organisation rows through the rewrite; they stay until the table is rewritten again"
                );
            }
        }
        if !suoja_store::dialect::retire_wal(db).await? {
            tracing::warn!(
                "the write-ahead log could not be retired now (SQLite: readers kept it busy; PostgreSQL: the role may not checkpoint or switch segments); deleted rows stay in it until the next checkpoint"
            );
        }
        Ok(())
    }

    /// Reads every store back (A17-09): what remains of the person outside held items.
    pub(crate) async fn read_back(&self, c: &mut Conn, tenant: TenantId, plan: &Plan) -> Result<Vec<Value>> {
        let s = plan.subject;
        let held = plan.held_tickets();
        let mut checks = Vec::new();
        let mut check = |store: &str, remaining: i64| checks.push(json!({ "store": store, "remaining": remaining }));
        let outside = |rows: Vec<Vec<Cell>>, col: usize| -> i64 {
            let n = rows.iter().filter(|r| int(r.get(col)).is_none_or(|t| !held.contains(&t))).count();
            i64::try_from(n).unwrap_or(i64::MAX)
        };
        if plan.person_held() {
            return Ok(Vec::new());
        }
        check("profile", suoja_store::graph::count_linked(c, tenant, "users", "id", &[s]).await?);
        // The key must be gone unless held data still needs it (then the plan keeps it).
        if let Some(k) = plan.subject_key.filter(|_| plan.key.is_some() || held.is_empty()) {
            check("keys", suoja_store::graph::count_linked(c, tenant, "vault_subject_keys", "id", &[k]).await?);
        }
        let requested = suoja_store::graph::rows_linked(c, tenant, "tickets", &["id"], "requester_id", &[s]).await?;
        check("tickets (with trash)", outside(requested, 0));
        let assigned = suoja_store::graph::rows_linked(c, tenant, "tickets", &["id"], "assignee_id", &[s]).await?;
        check("ticket assignments", outside(assigned, 0));
        let links = suoja_store::graph::rows_linked(c, tenant, "ticket_collaborators", &["ticket_id"], "user_id", &[s]).await?;
        check("collaborator links", outside(links, 0));
        let key = plan.subject_key.unwrap_or(-1);
        let own = suoja_store::graph::rows_linked(c, tenant, "comments", &["key_id", "ticket_id"], "author_id", &[s]).await?;
        let own: Vec<Vec<Cell>> = own.into_iter().filter(|r| int(r.first()) == Some(key)).collect();
        check("comments sealed under the person's key", outside(own, 1));
        let files = suoja_store::graph::rows_linked(c, tenant, "attachments", &["id", "ticket_id"], "uploader_id", &[s]).await?;
        check("attachments", outside(files, 1));
        for (t, link) in declared_erasures(TABLES, Erasure::Delete, OWN_RULES) {
            check(t.name, suoja_store::graph::count_linked(c, tenant, t.name, link.column, &[s]).await?);
        }
        for (t, link) in declared_erasures(TABLES, Erasure::Tombstone, OWN_RULES).chain(declared_erasures(TABLES, Erasure::Empty, OWN_RULES)) {
            let cols = t.personal_column_names(link.column);
            check(
                t.name,
                suoja_store::graph::count_linked_filled(c, tenant, t.name, link.column, &[s], &cols).await?,
            );
        }
        check(
            "search index: profile",
            suoja_search::index::doc_postings(c, tenant, suoja_search::DocKind::User, s).await?,
        );
        let mut hits = BTreeSet::new();
        for tokens in &plan.probes {
            for t in suoja_search::index::all_of(c, tenant, suoja_search::DocKind::Ticket, tokens).await? {
                if !held.contains(&t) {
                    hits.insert(t);
                }
            }
        }
        check("search index: tickets", i64::try_from(hits.len()).unwrap_or(i64::MAX));
        Ok(checks)
    }

    async fn complete(&self, c: &mut Conn, row: &mut ErasureRow, plan: &Plan, done: &Value, now: Timestamp) -> Result<()> {
        let tenant = row.tenant;
        let entry = self
            .record_ledger(
                c,
                tenant,
                suoja_core::LedgerKind::SubjectErased,
                Some(row.subject_id),
                row.actor_id,
                json!({ "erasure": row.id, "request": row.request_id, "passes": row.pass, "counts": done["counts"] }),
            )
            .await?;
        self.hd.notify_recipients(c, tenant, UserId(row.subject_id), "subject.erased", &[], now).await?;
        if let Some(rid) = row.request_id
            && let Some(mut req) = suoja_store::requests::by_id(c, tenant, rid).await?
            && req.closed_at.is_none()
        {
            req.status = suoja_core::RequestStatus::Fulfilled;
            req.closed_at = Some(now);
            req.outcome_code = Some("erased".into());
            req.updated_at = now;
            suoja_store::requests::update(c, tenant, &req).await?;
        }
        // The keyed search probes were only for the read-back.
        let mut kept = plan.clone();
        kept.probes.clear();
        row.plan = serde_json::to_string(&kept).map_err(|e| PrivacyError::Internal(e.to_string()))?;
        row.state = ErasureState::Completed;
        row.completed_at = Some(now);
        row.ledger_hash = Some(entry.hash.clone());
        Ok(())
    }
}
