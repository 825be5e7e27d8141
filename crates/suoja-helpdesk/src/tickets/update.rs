//! Changing a ticket: fields, CCs and followers, the requester, and a comment, with an audit
//! event for each change. `update_ticket` reads the ticket, checks who may change what, and
//! runs the steps below in one transaction: people and status, content, CC lists, the comment.

use serde_json::{Value, json};
use suoja_core::{Scope, Status, TicketId, Timestamp, UserId};
use suoja_store::Conn;
use suoja_store::tickets::TicketRow;

use super::{change, kind_field};
use crate::model::{AuditEvent, TicketChange, TicketInput};
use crate::search::index_add;
use crate::users::normalize_tags;
use crate::{Helpdesk, HelpdeskError, Result, crypt};

/// How a tags request changes a ticket's tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagChange {
    /// Replace them.
    Set,
    /// Add to them.
    Add,
    /// Take these away.
    Remove,
}

/// What [`Helpdesk::change_content`] changed beyond the row.
#[derive(Debug, Default)]
pub(super) struct ContentChange {
    /// The ticket's index document must be rebuilt.
    pub reindex: bool,
    /// The ticket's tags, when they changed: their rows (the tags' keyed hashes, which legal
    /// holds and the privacy graph read) are the caller's to write, once however many changes
    /// an update makes (its triggers may change the tags ten times after it).
    pub tags: Option<Vec<String>>,
}

/// End users may only add public comments to their own tickets and mark them solved.
fn check_end_user_change(scope: &Scope, input: &TicketInput) -> Result<()> {
    if scope.is_staff() {
        return Ok(());
    }
    let only_comment_or_solve = input.subject.is_none()
        && input.requester.is_none()
        && input.assignee_id.is_none()
        && input.group_id.is_none()
        && input.organization_id.is_none()
        && input.priority.is_none()
        && input.ticket_type.is_none()
        && input.tags.is_none()
        && input.additional_tags.is_empty()
        && input.remove_tags.is_empty()
        && input.custom_fields.is_none()
        && input.ticket_form_id.is_none()
        && input.external_id.is_none()
        && input.due_at.is_none()
        && input.follower_ids.is_none()
        && input.status.is_none_or(|s| s == Status::Solved);
    if !only_comment_or_solve || input.comment.as_ref().is_some_and(|c| !c.public) {
        return Err(HelpdeskError::Forbidden(
            "end users can only add public comments to their tickets or mark them solved",
        ));
    }
    Ok(())
}

/// Whether a custom field value sent equals the one held (a multi-select's choices in any order).
fn same_value(held: &Value, sent: &Value) -> bool {
    match (held, sent) {
        (Value::Array(a), Value::Array(b)) => {
            let set = |x: &Vec<Value>| x.iter().map(Value::to_string).collect::<std::collections::BTreeSet<_>>();
            set(a) == set(b)
        }
        _ => held == sent,
    }
}

/// A status change and what it moves: `closed_at` (the retention clock) is set when the ticket
/// becomes done, kept while it stays done, cleared when it is reopened.
fn set_status(row: &mut TicketRow, to: Status, now: Timestamp, events: &mut Vec<AuditEvent>) {
    if to == row.status {
        return;
    }
    events.push(change("status", json!(row.status), json!(to)));
    row.closed_at = match (row.status.is_done(), to.is_done()) {
        (_, false) => None,
        (false, true) => Some(now),
        (true, true) => row.closed_at,
    };
    row.status = to;
}

impl Helpdesk {
    /// Changes a ticket and/or adds a comment. End users may only comment on their own tickets
    /// (and mark them solved).
    pub async fn update_ticket(&self, scope: &Scope, id: TicketId, input: TicketInput) -> Result<TicketChange> {
        let (hd, scope) = (self.clone(), *scope);
        self.db.on_writer(async move { hd.update_ticket_here(&scope, id, input).await }).await?
    }

    /// [`Self::update_ticket`] on the caller's thread.
    async fn update_ticket_here(&self, scope: &Scope, id: TicketId, input: TicketInput) -> Result<TicketChange> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let change = self.update_ticket_in(&mut tx, scope, id, input, now).await?;
        tx.commit().await?;
        tracing::info!(tenant.id = %scope.tenant, ticket.id = %id, actor.id = %scope.actor, changes = change.events.len(), "ticket updated");
        Ok(change)
    }

    /// Makes a public comment private (Zendesk's `make_private`, staff): end users no longer
    /// see it nor find the ticket by its words, and it is not made public again. The first
    /// comment is the ticket's description, which its requester always sees: it stays public.
    /// Making a private comment private changes nothing.
    pub async fn make_comment_private(&self, scope: &Scope, id: TicketId, comment: suoja_core::CommentId) -> Result<crate::model::Comment> {
        crate::require_staff(scope)?;
        let now = self.now();
        let t = scope.tenant;
        let mut tx = self.db.begin().await?;
        let mut row = self.visible_row_for_update(&mut tx, scope, id).await?;
        let found = suoja_store::comments::by_id(&mut tx, t, comment)
            .await?
            .filter(|c| c.ticket_id == row.id)
            .ok_or(HelpdeskError::NotFound("Comment"))?;
        let first = suoja_store::comments::for_ticket(
            &mut tx,
            t,
            row.id,
            suoja_store::comments::CommentQuery {
                limit: 1,
                ..suoja_store::comments::CommentQuery::ALL
            },
        )
        .await?;
        if found.public && first.first().is_some_and(|f| f.id == found.id) {
            return Err(HelpdeskError::Conflict(
                "the first comment is the ticket's description, which its requester always sees; it stays public".into(),
            ));
        }
        if suoja_store::comments::make_private(&mut tx, t, found.id).await? {
            // Reply mails carrying its text that are not sent yet are withdrawn (one already
            // sent cannot be called back).
            let text = crypt::open(&self.vault, &mut tx, t, &found.body_enc).await?;
            let mut withdrawn = 0;
            for m in suoja_store::outbox::queued_about(&mut tx, t, row.id.0, crate::notify::kinds::REPLY).await? {
                let body = self.vault.decrypt_str(&mut tx, t, &m.body_enc).await.unwrap_or_default();
                let carries = serde_json::from_str::<Value>(&body)
                    .ok()
                    .and_then(|v| {
                        v.get("text")
                            .and_then(Value::as_str)
                            .map(|s| s.starts_with(&format!("{}\n\n--", text.expose())))
                    })
                    .unwrap_or(false);
                if carries && suoja_store::outbox::withdraw(&mut tx, t, m.id).await? {
                    withdrawn += 1;
                }
            }
            tracing::info!(tenant.id = %t, ticket.id = %row.id, withdrawn, "reply mails of a comment made private withdrawn");
            row.updated_at = now;
            suoja_store::tickets::update(&mut tx, t, &row).await?;
            // The index keeps public and internal words apart: the comment's words move.
            self.reindex_ticket(&mut tx, t, row.id).await?;
            self.queue_ticket_event(&mut tx, t, row.id, row.restricted, "ticket.updated", now, None).await?;
            let event = AuditEvent {
                comment_id: Some(found.id),
                ..AuditEvent::new("CommentPrivacyChange")
            };
            self.record_audit(&mut tx, t, &row, Some(scope.actor), "api", &[event.with("public", json!(false))], now)
                .await?;
        }
        let changed = suoja_store::comments::by_id(&mut tx, t, found.id)
            .await?
            .ok_or(HelpdeskError::NotFound("Comment"))?;
        let files = suoja_store::attachments::for_comments(&mut tx, t, &[changed.id]).await?;
        let out = self.open_comment(&mut tx, t, &changed, &files).await?;
        // A public reply made private is no reply: the ticket's clocks are measured again.
        self.keep_sla(&mut tx, t, row.id, now, None).await?;
        tx.commit().await?;
        tracing::info!(tenant.id = %t, ticket.id = %row.id, comment.id = %changed.id, "comment made private");
        Ok(out)
    }

    /// A ticket's tags (staff, as Zendesk's tags endpoints; the ticket itself shows its tags
    /// to whoever may read it).
    pub async fn ticket_tags(&self, scope: &Scope, id: TicketId) -> Result<Vec<String>> {
        crate::require_staff(scope)?;
        Ok(self.get_ticket(scope, id).await?.tags)
    }

    /// Sets, adds or removes tags (Zendesk's `POST`, `PUT` and `DELETE /tickets/{id}/tags`) as
    /// an update of the ticket, with its audit event, index and tag rows; the tags after it.
    pub async fn change_ticket_tags(
        &self,
        scope: &Scope,
        id: TicketId,
        how: TagChange,
        tags: Vec<String>,
        updated_stamp: Option<Timestamp>,
    ) -> Result<Vec<String>> {
        crate::require_staff(scope)?;
        let mut input = match how {
            TagChange::Set => TicketInput {
                tags: Some(tags),
                ..Default::default()
            },
            TagChange::Add => TicketInput {
                additional_tags: tags,
                ..Default::default()
            },
            TagChange::Remove => TicketInput {
                remove_tags: tags,
                ..Default::default()
            },
        };
        input.updated_stamp = updated_stamp;
        Ok(self.update_ticket(scope, id, input).await?.ticket.tags)
    }

    /// Changes a ticket in the caller's transaction (mail import stores the original message in
    /// the same one).
    pub async fn update_ticket_in(&self, tx: &mut Conn, scope: &Scope, id: TicketId, input: TicketInput, now: Timestamp) -> Result<TicketChange> {
        let mut row = self.visible_row_for_update(tx, scope, id).await?;
        check_end_user_change(scope, &input)?;
        if let Some(stamp) = input.updated_stamp
            && stamp.0.div_euclid(1000) != row.updated_at.0.div_euclid(1000)
        {
            return Err(HelpdeskError::Conflict(
                "safe_update: the ticket has changed since updated_stamp; read it again and retry".into(),
            ));
        }
        if row.status == Status::Closed {
            return Err(HelpdeskError::invalid("status", "Status: closed prevents ticket update"));
        }
        // As read (and locked): only what differs from it is written back.
        let read = row.clone();
        let t = scope.tenant;
        let before = self.trigger_state(tx, t, &row).await?;
        let mut events = Vec::new();
        let subject_changed = self.change_people_and_status(tx, scope, &mut row, &input, now, &mut events).await?;
        let content = self.change_content(tx, scope, &mut row, &input, &mut events).await?;
        let mut reindex = content.reindex || subject_changed;
        // A ticket solved on the agent pages holds what its required fields ask for, whoever
        // solves it or changes its fields afterwards (a requester marking it solved is not
        // asked, nor the API, nor a merge closing its sources).
        let touched = |f: &str| events.iter().any(|e| e.field_name.as_deref() == Some(f));
        if input.enforce_required
            && scope.is_staff()
            && row.status.is_done()
            && (touched("status") || touched("ticket_form_id") || input.custom_fields.is_some())
        {
            let values: Vec<(i64, Value)> = crypt::open_json(&self.vault, tx, t, &row.custom_fields_enc).await?;
            self.check_required(tx, t, row.ticket_form_id, &values, false).await?;
        }
        self.change_lists(tx, scope, &row, &input, now, &mut events).await?;
        let mut said = None;
        if let Some(comment) = &input.comment {
            let (cid, plain, public, author) = self.add_comment(tx, scope, &row, comment, now, None, None).await?;
            events.push(AuditEvent::comment(cid).with("public", json!(public)).with("author_id", json!(author.0)));
            if !reindex {
                index_add(&self.vault, tx, t, row.id, &plain, public).await?;
            }
            said = Some((public, plain));
        }
        let comment = said.as_ref().map(|(public, plain)| (*public, plain.as_str()));
        let fired = self.run_triggers(tx, scope, &mut row, Some(&before), comment, &mut events, now).await?;
        // The tags' rows, once: as the triggers left the tags, or as this change did.
        if let Some(tags) = fired.tags.as_ref().or(content.tags.as_ref()) {
            self.set_ticket_tags(tx, t, row.id, tags).await?;
        }
        reindex |= fired.reindex;
        events.extend(crate::notify::audit_events(&fired.told));
        row.updated_at = now;
        suoja_store::tickets::update_from(tx, t, &read, &row).await?;
        let via = input.comment.as_ref().map(|c| c.via).unwrap_or_default();
        let audit_id = if events.is_empty() {
            0
        } else {
            self.record_audit(tx, t, &row, Some(scope.actor), via.as_str(), &events, now).await?
        };
        self.keep_sla(tx, t, row.id, now, fired.versions.as_ref()).await?;
        if reindex {
            self.reindex_ticket(tx, t, row.id).await?;
        }
        let ticket = self.open_ticket_full(tx, scope, &row).await?;
        self.queue_ticket_event(tx, t, row.id, row.restricted, "ticket.updated", now, fired.versions.as_ref())
            .await?;
        Ok(TicketChange {
            ticket,
            events,
            author_id: scope.actor,
            at: now,
            audit_id,
        })
    }

    /// The requester (the ticket moves to their key), subject, assignee, group, organisation and
    /// status, audited in that order. A new ticket given an assignee and no status becomes open.
    /// Returns whether the ticket's index document must be rebuilt.
    pub(super) async fn change_people_and_status(
        &self,
        c: &mut Conn,
        scope: &Scope,
        row: &mut TicketRow,
        input: &TicketInput,
        now: Timestamp,
        events: &mut Vec<AuditEvent>,
    ) -> Result<bool> {
        let t = scope.tenant;
        if let Some(r) = &input.requester {
            let new_req = self.resolve_requester(c, scope, r, now).await?;
            if new_req.id != row.requester_id {
                events.push(change("requester_id", json!(row.requester_id.0), json!(new_req.id.0)));
                self.rekey_ticket(c, t, row, new_req.key_id).await?;
                row.requester_id = new_req.id;
            }
        }
        let mut reindex = false;
        if let Some(s) = &input.subject {
            let old = crypt::open_opt(&self.vault, c, t, row.subject_enc.as_deref()).await?;
            if old.as_ref().map(|o| o.expose()) != Some(s.expose()) {
                row.subject_enc = Some(crypt::seal(&self.vault, c, t, row.key_id, s).await?);
                events.push(AuditEvent::change("subject", json!(old.map(|o| o.expose().clone())), json!(s.expose()), true));
                reindex = true;
            }
        }
        if let Some(a) = input.assignee_id {
            if let Some(a) = a {
                self.require_staff_user(c, t, a, "assignee_id", None).await?;
            }
            if a != row.assignee_id {
                events.push(change("assignee_id", json!(row.assignee_id.map(|x| x.0)), json!(a.map(|x| x.0))));
                row.assignee_id = a;
            }
        }
        if let Some(g) = input.group_id {
            if let Some(g) = g {
                self.require_group(c, t, g).await?;
            }
            if g != row.group_id {
                events.push(change("group_id", json!(row.group_id.map(|x| x.0)), json!(g.map(|x| x.0))));
                row.group_id = g;
            }
        }
        if let Some(o) = input.organization_id {
            if let Some(o) = o {
                self.require_org(c, t, o).await?;
            }
            if o != row.organization_id {
                events.push(change("organization_id", json!(row.organization_id.map(|x| x.0)), json!(o.map(|x| x.0))));
                row.organization_id = o;
            }
        }
        match input.status {
            Some(s) => set_status(row, s, now, events),
            None if row.status == Status::New && input.assignee_id.flatten().is_some() => set_status(row, Status::Open, now, events),
            None => {}
        }
        Ok(reindex)
    }

    /// Priority, type, tags, custom fields, external id and due date. Returns whether
    /// the ticket's index document must be rebuilt.
    pub(super) async fn change_content(
        &self,
        c: &mut Conn,
        scope: &Scope,
        row: &mut TicketRow,
        input: &TicketInput,
        events: &mut Vec<AuditEvent>,
    ) -> Result<ContentChange> {
        let v = &self.vault;
        let t = scope.tenant;
        let mut out = ContentChange::default();
        if let Some(form) = input.ticket_form_id
            && form != row.ticket_form_id
        {
            if let Some(id) = form {
                self.check_form(c, scope, id).await?;
            }
            events.push(change("ticket_form_id", json!(row.ticket_form_id), json!(form)));
            row.ticket_form_id = form;
        }
        let mut reindex = false;
        if let Some(p) = input.priority {
            let new = p.map(|p| p.as_str().to_string());
            if new != row.priority {
                events.push(change("priority", json!(row.priority), json!(new)));
                row.priority = new;
            }
        }
        if let Some(ty) = input.ticket_type {
            let new = ty.map(|t| t.as_str().to_string());
            if new != row.ticket_type {
                events.push(change("type", json!(row.ticket_type), json!(new)));
                row.ticket_type = new;
            }
        }
        // Custom fields first: a drop-down's option (a multi-select's options, a ticked box's
        // tag) is a tag too, so a changed value changes the tags below.
        let (mut field_add, mut field_remove) = (Vec::new(), Vec::new());
        if let Some(cf) = &input.custom_fields {
            let mut current: Vec<(i64, Value)> = crypt::open_json(v, c, t, &row.custom_fields_enc).await?;
            // A value sent back as it is held is no change and is not checked again (a client
            // writes back the ticket it read, values of fields since removed included).
            let held = |id: i64| current.iter().find(|(i, _)| *i == id).map(|(_, v)| v);
            let given: Vec<(i64, Value)> = cf
                .expose()
                .iter()
                .filter(|(id, val)| !held(*id).is_some_and(|h| same_value(h, val)))
                .cloned()
                .collect();
            let checked = self.check_ticket_values(c, scope, &given).await?;
            let mut changed = false;
            for (fid, val) in &checked.values {
                let old = current.iter().find(|(i, _)| i == fid).map(|(_, v)| v.clone()).unwrap_or(Value::Null);
                if old == *val {
                    continue;
                }
                field_remove.extend(checked.tags_of(*fid, &old));
                field_add.extend(checked.tags_of(*fid, val));
                events.push(AuditEvent::change(&fid.to_string(), old, val.clone(), true));
                current.retain(|(i, _)| i != fid);
                current.push((*fid, val.clone()));
                changed = true;
            }
            if changed {
                current.sort_by_key(|(i, _)| *i);
                row.custom_fields_enc = crypt::seal_json(v, c, t, row.key_id, &current).await?;
                reindex = true;
            }
        }
        if input.tags.is_some() || !input.additional_tags.is_empty() || !input.remove_tags.is_empty() || !field_add.is_empty() || !field_remove.is_empty() {
            let before: Vec<String> = crypt::open_json(v, c, t, &row.tags_enc).await?;
            let mut tags: Vec<String> = match &input.tags {
                Some(t) => t.clone(),
                None => before.clone(),
            };
            tags.extend(input.additional_tags.iter().cloned());
            let mut remove = normalize_tags(&input.remove_tags);
            let field_add = normalize_tags(&field_add);
            remove.extend(normalize_tags(&field_remove).into_iter().filter(|x| !field_add.contains(x)));
            tags.retain(|x| !remove.contains(&x.to_lowercase()));
            tags.extend(field_add);
            let tags: Vec<String> = normalize_tags(&tags).into_iter().filter(|x| !remove.contains(x)).collect();
            if tags != before {
                row.tags_enc = crypt::seal_json(v, c, t, row.key_id, &tags).await?;
                events.push(AuditEvent::change("tags", json!(before), json!(tags), true));
                reindex = true;
                out.tags = Some(tags);
            }
        }
        if let Some(x) = &input.external_id {
            let old = crypt::open_opt(v, c, t, row.external_id_enc.as_deref()).await?;
            if old.as_ref().map(|o| o.expose()) != x.as_ref().map(|n| n.expose()) {
                events.push(AuditEvent::change(
                    "external_id",
                    json!(old.map(|o| o.expose().clone())),
                    json!(x.as_ref().map(|n| n.expose().clone())),
                    true,
                ));
                row.external_id_enc = crypt::seal_opt(v, c, t, row.key_id, x.as_ref()).await?;
                reindex = true;
            }
        }
        if let Some(d) = input.due_at
            && d != row.due_at
        {
            events.push(change("due_at", json!(row.due_at.map(|x| x.to_iso())), json!(d.map(|x| x.to_iso()))));
            row.due_at = d;
        }
        out.reindex = reindex;
        Ok(out)
    }

    /// CCs (collaborators, e-mail CCs) and followers (agents only). An end user may only keep
    /// or add people already on the list.
    async fn change_lists(
        &self,
        c: &mut Conn,
        scope: &Scope,
        row: &TicketRow,
        input: &TicketInput,
        now: Timestamp,
        events: &mut Vec<AuditEvent>,
    ) -> Result<()> {
        let t = scope.tenant;
        for (kind, ids, staff) in [
            ("collaborator", &input.collaborator_ids, false),
            ("email_cc", &input.email_cc_ids, false),
            ("follower", &input.follower_ids, true),
        ] {
            let Some(ids) = ids else { continue };
            let already: Vec<UserId> = if scope.is_staff() {
                Vec::new()
            } else {
                suoja_store::tickets::collaborators(c, t, &[row.id])
                    .await?
                    .into_iter()
                    .filter(|(_, _, k)| k == kind)
                    .map(|(_, u, _)| u)
                    .collect()
            };
            let ids = self.check_people(c, scope, ids, kind_field(kind), staff, &already).await?;
            let before: Vec<i64> = suoja_store::tickets::collaborators(c, t, &[row.id])
                .await?
                .into_iter()
                .filter(|(_, _, k)| k == kind)
                .map(|(_, u, _)| u.0)
                .collect();
            suoja_store::tickets::set_collaborators(c, t, row.id, kind, &ids, now).await?;
            let after: Vec<i64> = ids.iter().map(|u| u.0).collect();
            let (mut b, mut a) = (before.clone(), after.clone());
            b.sort_unstable();
            a.sort_unstable();
            if a != b {
                events.push(change(kind_field(kind), json!(before), json!(after)));
            }
        }
        Ok(())
    }
}
