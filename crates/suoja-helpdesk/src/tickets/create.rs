//! Opening a ticket with its first comment, and adding a comment inside a change.

use serde_json::{Value, json};
use suoja_core::{CommentId, KeyId, Personal, Role, Scope, Status, TicketId, Timestamp, UserId};
use suoja_search::DocKind;
use suoja_store::Conn;
use suoja_store::comments::CommentRow;
use suoja_store::tickets::TicketRow;

use super::batch::Batch;
use super::kind_field;
use crate::model::{AuditEvent, CommentInput, RequesterRef, TicketChange, TicketInput};
use crate::users::normalize_tags;
use crate::{Helpdesk, HelpdeskError, Result, crypt};

impl Helpdesk {
    /// Adds a comment to a ticket inside the caller's transaction (or to the batch of new
    /// tickets it belongs to); returns its id, its plain text, whether it is public and who
    /// wrote it. `read` is a person already read in the caller's transaction (a new ticket's
    /// requester): when they are the writer, their row is not read again.
    #[allow(clippy::too_many_arguments, reason = "one comment: where, on what, what, when, whom we know, in which batch")]
    pub(crate) async fn add_comment(
        &self,
        c: &mut Conn,
        scope: &Scope,
        ticket: &TicketRow,
        input: &CommentInput,
        now: Timestamp,
        read: Option<&suoja_store::users::UserRow>,
        mut batch: Option<&mut Batch>,
    ) -> Result<(CommentId, String, bool, UserId)> {
        let author_id = match input.author_id {
            Some(a) if a != scope.actor => {
                if !scope.is_staff() {
                    return Err(HelpdeskError::Forbidden("end users cannot comment on behalf of others"));
                }
                a
            }
            _ => scope.actor,
        };
        let author = match read {
            Some(known) if known.id == author_id => known.clone(),
            _ => self.person(c, scope.tenant, author_id, "author_id", batch.as_deref_mut()).await?,
        };
        self.add_comment_by(c, scope, ticket, input, now, &author, batch).await
    }

    /// Adds a comment written by `author` (already looked up) inside the caller's transaction;
    /// as [`Helpdesk::add_comment`].
    #[allow(clippy::too_many_arguments, reason = "one comment: where, on what, what, when, by whom, in which batch")]
    pub(crate) async fn add_comment_by(
        &self,
        c: &mut Conn,
        scope: &Scope,
        ticket: &TicketRow,
        input: &CommentInput,
        now: Timestamp,
        author: &suoja_store::users::UserRow,
        batch: Option<&mut Batch>,
    ) -> Result<(CommentId, String, bool, UserId)> {
        let author_id = author.id;
        // An end user's words are public, except when brought over from another helpdesk,
        // where the comment's own flag holds (a note by someone who is an end user here may
        // have been written as staff there, or by a person found here by their address).
        let imported = input.via == crate::model::Channel::Import;
        let public = input.public || (author.role == Role::EndUser && !imported);
        let (plain, html) = match (&input.body, &input.html_body) {
            (_, Some(h)) => {
                let clean = crate::text::sanitize_html(h.expose());
                let plain = input
                    .body
                    .as_ref()
                    .map(|b| b.expose().clone())
                    .unwrap_or_else(|| crate::text::html_to_plain(&clean));
                (plain, Some(clean))
            }
            (Some(b), None) => (b.expose().clone(), None),
            (None, None) => (String::new(), None),
        };
        if plain.trim().is_empty() && input.uploads.is_empty() && input.files.is_empty() {
            return Err(HelpdeskError::Invalid {
                field: "comment".into(),
                message: "Comment: cannot be blank".into(),
                code: "BlankValue",
            });
        }
        let key = comment_key(author, ticket.key_id);
        let row = CommentRow {
            id: CommentId(0),
            ticket_id: ticket.id,
            author_id,
            key_id: key,
            public,
            body_enc: self.vault.encrypt_str(c, scope.tenant, key, &plain).await?,
            html_enc: match &html {
                Some(h) => Some(self.vault.encrypt_str(c, scope.tenant, key, h).await?),
                None => None,
            },
            via: input.via.as_str().into(),
            created_at: now,
        };
        let id = match batch {
            Some(batch) => batch.add_comment(row)?,
            None => suoja_store::comments::insert(c, scope.tenant, &row).await?,
        };
        for token in &input.uploads {
            self.bind_upload(c, scope, token, ticket.id, id, key).await?;
        }
        self.attach_files(c, scope, (ticket.id, id), key, &input.files, !imported).await?;
        Ok((id, plain, public, author_id))
    }

    /// Opens a ticket for a requester, with its first comment.
    pub async fn create_ticket(&self, scope: &Scope, input: TicketInput) -> Result<TicketChange> {
        let (hd, scope) = (self.clone(), *scope);
        self.db.on_writer(async move { hd.create_ticket_here(&scope, input).await }).await?
    }

    /// [`Self::create_ticket`] on the caller's thread.
    async fn create_ticket_here(&self, scope: &Scope, input: TicketInput) -> Result<TicketChange> {
        let now = self.now();
        // A new ticket adds records and changes only those it adds (its requester, when new,
        // included): its search index rows may wait for the batch's commit.
        let mut tx = self.db.begin_adding().await?;
        let change = self.create_ticket_in(&mut tx, scope, input, now).await?;
        tx.commit().await?;
        tracing::info!(tenant.id = %scope.tenant, ticket.id = %change.ticket.id, actor.id = %scope.actor, "ticket created");
        Ok(change)
    }

    /// Creates a ticket in the caller's transaction (mail import stores the original message in
    /// the same one).
    pub async fn create_ticket_in(&self, c: &mut Conn, scope: &Scope, input: TicketInput, now: Timestamp) -> Result<TicketChange> {
        self.create_ticket_with(c, scope, input, now, None).await
    }

    /// [`Self::create_ticket_in`]; with a `batch` (imports and seeding) the ticket's rows, audit
    /// and index entry are gathered there and written with the batch's other tickets, and it
    /// runs no triggers, calls no webhooks and tells no one.
    pub(crate) async fn create_ticket_with(
        &self,
        c: &mut Conn,
        scope: &Scope,
        input: TicketInput,
        now: Timestamp,
        mut batch: Option<&mut Batch>,
    ) -> Result<TicketChange> {
        let comment = input.comment.clone().ok_or_else(|| HelpdeskError::Invalid {
            field: "description".into(),
            message: "Description: cannot be blank".into(),
            code: "BlankValue",
        })?;
        if !scope.is_staff() {
            let staff_fields = input.assignee_id.is_some()
                || input.group_id.is_some()
                || input.follower_ids.is_some()
                || input.status.is_some()
                || input.submitter_id.is_some()
                || input.external_id.is_some();
            let other_requester = match &input.requester {
                Some(RequesterRef::Id(id)) => *id != scope.actor,
                Some(RequesterRef::New { .. }) => true,
                None => false,
            };
            if staff_fields || other_requester || !comment.public {
                return Err(HelpdeskError::Forbidden(
                    "end users can open tickets only for themselves, with a public description",
                ));
            }
        }
        let requester = match &input.requester {
            Some(RequesterRef::Id(id)) => self.person(c, scope.tenant, *id, "requester_id", batch.as_deref_mut()).await?,
            Some(r) => self.resolve_requester(c, scope, r, now).await?,
            None => self.person(c, scope.tenant, scope.actor, "requester_id", batch.as_deref_mut()).await?,
        };
        // Who submitted the ticket and wrote its first comment, as Zendesk has it: a ticket
        // made through the API for a requester, without `submitter_id`, is the requester's (they
        // submitted it, and the description is their words, kept under their key); an explicit
        // `submitter_id` makes that person the submitter and writer; on the web pages the agent
        // is. A private description is staff's note whoever the submitter: its writer stays the
        // staff member (unless `comment.author_id` says otherwise), so it never becomes public.
        let submitter = match input.submitter_id {
            Some(s) => s,
            None if scope.is_staff() && comment.via == crate::model::Channel::Api => requester.id,
            None => scope.actor,
        };
        if submitter != scope.actor && submitter != requester.id {
            self.person(c, scope.tenant, submitter, "submitter_id", batch.as_deref_mut()).await?;
        }
        let mut comment = comment;
        if comment.author_id.is_none() && comment.public && submitter != scope.actor {
            comment.author_id = Some(submitter);
        }
        let assignee = input.assignee_id.flatten();
        if let Some(a) = assignee {
            self.require_staff_user(c, scope.tenant, a, "assignee_id", batch.as_deref_mut()).await?;
        }
        let group = input.group_id.flatten();
        if let Some(g) = group {
            self.require_group(c, scope.tenant, g).await?;
        }
        let org = input.organization_id.flatten().or(requester.organization_id);
        if let Some(o) = input.organization_id.flatten() {
            self.require_org(c, scope.tenant, o).await?;
        }
        let status = input.status.unwrap_or(if assignee.is_some() { Status::Open } else { Status::New });
        let key = requester.key_id;
        let given: Vec<(i64, Value)> = input.custom_fields.as_ref().map(|c| c.expose().clone()).unwrap_or_default();
        let checked = match batch.as_deref_mut() {
            Some(b) if !given.is_empty() => {
                let defs = self.ticket_fields_for(c, scope.tenant, Some(b)).await?;
                crate::fields::check_ticket_values_against(scope, &given, defs)?
            }
            _ => self.check_ticket_values(c, scope, &given).await?,
        };
        let custom: Vec<(i64, Value)> = checked.values.clone();
        let mut tags = input.tags.clone().unwrap_or_default();
        tags.extend(input.additional_tags.iter().cloned());
        // A drop-down's option, a multi-select's options and a ticked box's tag are tags too.
        for (id, v) in &custom {
            tags.extend(checked.tags_of(*id, v));
        }
        let tags = normalize_tags(&tags);
        let form = match input.ticket_form_id {
            Some(Some(id)) => {
                self.check_form(c, scope, id).await?;
                Some(id)
            }
            Some(None) => None,
            None => self.default_form(c, scope.tenant, batch.as_deref_mut()).await?,
        };
        // Requesters fill in what the portal requires (mail cannot); agents what a solved
        // ticket requires.
        if !scope.is_staff() && comment.via != crate::model::Channel::Email {
            self.check_required(c, scope.tenant, form, &custom, true).await?;
        }
        if input.enforce_required && scope.is_staff() && status.is_done() {
            self.check_required(c, scope.tenant, form, &custom, false).await?;
        }
        let v = &self.vault;
        let description_text = match (&comment.body, &comment.html_body) {
            (Some(b), _) => b.expose().clone(),
            (None, Some(h)) => crate::text::html_to_plain(&crate::text::sanitize_html(h.expose())),
            (None, None) => String::new(),
        };
        let mut row = TicketRow {
            id: TicketId(0),
            key_id: key,
            requester_id: requester.id,
            submitter_id: submitter,
            assignee_id: assignee,
            group_id: group,
            organization_id: org,
            subject_enc: crypt::seal_opt(v, c, scope.tenant, key, input.subject.as_ref()).await?,
            description_enc: v.encrypt_str(c, scope.tenant, key, &description_text).await?,
            status,
            priority: input.priority.flatten().map(|p| p.as_str().to_string()),
            ticket_type: input.ticket_type.flatten().map(|t| t.as_str().to_string()),
            tags_enc: crypt::seal_json(v, c, scope.tenant, key, &tags).await?,
            custom_fields_enc: crypt::seal_json(v, c, scope.tenant, key, &custom).await?,
            external_id_enc: crypt::seal_opt(v, c, scope.tenant, key, input.external_id.clone().flatten().as_ref()).await?,
            due_at: input.due_at.flatten(),
            via: comment.via.as_str().into(),
            created_at: now,
            updated_at: now,
            deleted_at: None,
            deleted_by: None,
            restricted: requester.restricted,
            closed_at: status.is_done().then_some(now),
            ticket_form_id: form,
        };
        match batch.as_deref_mut() {
            Some(b) => {
                row.id = b.add_ticket(row.clone())?;
                b.add_tags(row.id, self.tag_hashes(c, scope.tenant, &tags).await?);
            }
            None => {
                row.id = suoja_store::tickets::insert(c, scope.tenant, &row).await?;
                self.add_new_ticket_tags(c, scope.tenant, row.id, &tags).await?;
            }
        }
        let mut links: [Vec<UserId>; 3] = Default::default();
        for (slot, (kind, ids, staff)) in [
            ("collaborator", &input.collaborator_ids, false),
            ("email_cc", &input.email_cc_ids, false),
            ("follower", &input.follower_ids, true),
        ]
        .into_iter()
        .enumerate()
        {
            if let Some(ids) = ids {
                let ids = self.check_people(c, scope, ids, kind_field(kind), staff, &[]).await?;
                suoja_store::tickets::set_collaborators(c, scope.tenant, row.id, kind, &ids, now).await?;
                if let Some(s) = links.get_mut(slot) {
                    *s = ids;
                }
            }
        }
        // Usually written by the requester, whose row was just read.
        let (comment_id, plain, public, author) = self.add_comment(c, scope, &row, &comment, now, Some(&requester), batch.as_deref_mut()).await?;
        let mut text = input.subject.as_ref().map(|s| s.expose().clone()).unwrap_or_default();
        let mut notes = String::new();
        if public {
            text.push(' ');
            text.push_str(&plain);
        } else {
            notes = plain;
        }
        let external = input.external_id.clone().flatten();
        // Custom field values and the external id are staff's words too.
        let mut fields_text = String::new();
        for text in custom
            .iter()
            .flat_map(|(_, v)| crate::tickets::audits::strings(v))
            .chain(external.as_ref().map(|x| x.expose().clone()))
        {
            fields_text.push(' ');
            fields_text.push_str(&text);
        }
        let internal = format!("{notes}{fields_text}");
        let doc = crate::search::DocText {
            public: &text,
            internal: &internal,
            tags: &tags,
            external_id: external.as_ref().map(|x| x.expose().as_str()),
        };
        let mut triggered = Vec::new();
        let bulk = batch.is_some();
        let (told, changed, versions) = match batch.as_deref_mut() {
            Some(b) => {
                b.index(row.id, &doc, &notes, &fields_text);
                (Vec::new(), false, None)
            }
            None => {
                crate::search::index_new_doc(v, c, scope.tenant, DocKind::Ticket, row.id.0, &doc).await?;
                // Bulk imports run no triggers and tell no one; a ticket opened one at a time
                // does. The triggers' changes follow the ticket's creation in its audit.
                let inserted = row.clone();
                let fired = self
                    .run_triggers(c, scope, &mut row, None, Some((public, description_text.as_str())), &mut triggered, now)
                    .await?;
                if let Some(tags) = &fired.tags {
                    self.set_ticket_tags(c, scope.tenant, row.id, tags).await?;
                }
                if !triggered.is_empty() {
                    suoja_store::tickets::update_from(c, scope.tenant, &inserted, &row).await?;
                    if fired.reindex {
                        self.reindex_ticket(c, scope.tenant, row.id).await?;
                    }
                }
                let changed = !triggered.is_empty() || fired.tags.is_some();
                (fired.told, changed, fired.versions)
            }
        };
        // Bulk imports call no webhooks either: the records were not created, only moved.
        if !bulk {
            self.queue_ticket_event(c, scope.tenant, row.id, row.restricted, "ticket.created", now, versions.as_ref())
                .await?;
        }
        // What was just sealed need not be unsealed again, unless a trigger changed it.
        let mut ticket = if changed {
            self.open_ticket_row(c, scope.tenant, &row).await?
        } else {
            super::open::ticket_of(
                &row,
                super::open::Unsealed {
                    subject: input.subject.clone(),
                    description: Personal::new(description_text),
                    tags: tags.clone(),
                    custom_fields: Personal::new(custom.clone()),
                    external_id: external,
                },
            )
        };
        let [collaborators, email_ccs, followers] = links;
        ticket.collaborator_ids = collaborators;
        ticket.email_cc_ids = email_ccs;
        ticket.follower_ids = followers;
        let mut events = vec![AuditEvent::comment(comment_id).with("public", json!(public)).with("author_id", json!(author.0))];
        for (field, value) in [
            ("status", json!(status.as_str())),
            ("requester_id", json!(requester.id.0)),
            ("submitter_id", json!(submitter.0)),
            ("priority", json!(row.priority)),
            ("type", json!(row.ticket_type)),
            ("assignee_id", json!(assignee.map(|a| a.0))),
            ("group_id", json!(group.map(|g| g.0))),
            ("organization_id", json!(org.map(|o| o.0))),
            ("due_at", json!(row.due_at.map(|d| d.to_iso()))),
        ] {
            if !value.is_null() {
                events.push(AuditEvent::create(field, value, false));
            }
        }
        if let Some(s) = &input.subject {
            events.push(AuditEvent::create("subject", json!(s.expose()), true));
        }
        if !tags.is_empty() {
            events.push(AuditEvent::create("tags", json!(tags), true));
        }
        for (id, value) in &custom {
            events.push(AuditEvent::create(&id.to_string(), value.clone(), true));
        }
        if let Some(x) = input.external_id.clone().flatten() {
            events.push(AuditEvent::create("external_id", json!(x.expose()), true));
        }
        for (kind, ids) in [
            ("collaborator", &ticket.collaborator_ids),
            ("email_cc", &ticket.email_cc_ids),
            ("follower", &ticket.follower_ids),
        ] {
            if !ids.is_empty() {
                events.push(AuditEvent::create(kind_field(kind), json!(ids.iter().map(|u| u.0).collect::<Vec<_>>()), false));
            }
        }
        events.extend(triggered);
        events.extend(crate::notify::audit_events(&told));
        let audit_id = match batch {
            Some(b) => {
                b.add_audit(
                    self.audit_row(c, scope.tenant, &row, Some(scope.actor), comment.via.as_str(), &events, now)
                        .await?,
                );
                0
            }
            None => {
                self.record_audit(c, scope.tenant, &row, Some(scope.actor), comment.via.as_str(), &events, now)
                    .await?
            }
        };
        // Bulk imports are measured together in the background once they are in.
        if !bulk {
            self.keep_new_ticket_sla(c, scope.tenant, row.id, now, versions.as_ref()).await?;
        }
        Ok(TicketChange {
            ticket,
            events,
            author_id: scope.actor,
            at: now,
            audit_id,
        })
    }
}

/// The key a comment goes under: an end user's own key (their words are their data), or the
/// ticket's key for staff replies (the organisation's record of the requester's case).
pub(super) fn comment_key(author: &suoja_store::users::UserRow, ticket_key: KeyId) -> KeyId {
    if author.role == Role::EndUser { author.key_id } else { ticket_key }
}
