//! Tickets: opening, changing (with comments, CCs, followers and uploads), and the audit of each
//! change. A ticket's personal fields are sealed under its requester's key; a comment under its
//! author's key when the author is an end user, else under the ticket's key.

mod read;
pub mod redact;
mod tags;
mod trash;
pub mod views;

use serde_json::{Value, json};
use suoja_core::{CommentId, GroupId, KeyId, OrganizationId, Personal, Role, Scope, Status, TenantId, TicketId, Timestamp, UserId};
use suoja_search::DocKind;
use suoja_store::Conn;
use suoja_store::comments::CommentRow;
use suoja_store::tickets::TicketRow;

use crate::model::{AuditEvent, CommentInput, RequesterRef, Ticket, TicketChange, TicketInput, UserInput};
use crate::search::index_add;
use crate::users::normalize_tags;
use crate::{Helpdesk, HelpdeskError, Result, crypt};

pub use read::{CommentPage, TicketList, TicketPage};

/// Longest comment body accepted, in characters.
pub const MAX_COMMENT_CHARS: usize = 65_536;

/// Solved and closed tickets are done: their retention clock runs from the moment they became so.
fn is_done(status: &str) -> bool {
    matches!(status, "solved" | "closed")
}

fn change(field: &'static str, previous: Value, value: Value) -> AuditEvent {
    AuditEvent {
        kind: "Change",
        field_name: Some(field),
        value: Some(value),
        previous_value: Some(previous),
        comment_id: None,
    }
}

impl Helpdesk {
    async fn require_user(&self, c: &mut Conn, tenant: TenantId, id: UserId, field: &str) -> Result<suoja_store::users::UserRow> {
        match suoja_store::users::by_id(c, tenant, id).await? {
            Some(u) if u.deleted_at.is_none() => Ok(u),
            _ => Err(HelpdeskError::invalid(field, format!("user {id} does not exist"))),
        }
    }

    async fn require_staff_user(&self, c: &mut Conn, tenant: TenantId, id: UserId, field: &str) -> Result<()> {
        let u = self.require_user(c, tenant, id, field).await?;
        if u.role == Role::EndUser {
            return Err(HelpdeskError::invalid(field, format!("user {id} is not an agent")));
        }
        Ok(())
    }

    async fn require_group(&self, c: &mut Conn, tenant: TenantId, g: GroupId) -> Result<()> {
        match suoja_store::groups::by_id(c, tenant, g).await? {
            Some(_) => Ok(()),
            None => Err(HelpdeskError::invalid("group_id", format!("group {g} does not exist"))),
        }
    }

    pub(crate) async fn require_org(&self, c: &mut Conn, tenant: TenantId, o: OrganizationId) -> Result<()> {
        match suoja_store::organizations::by_id(c, tenant, o).await? {
            Some(_) => Ok(()),
            None => Err(HelpdeskError::invalid("organization_id", format!("organization {o} does not exist"))),
        }
    }

    /// Checks the people put on a ticket. Staff may name anyone in the tenant; an end user sees
    /// only themselves and the people already on the ticket, so any other id — existing or not —
    /// gets one answer, decided before any lookup (the answer and its timing say nothing about
    /// which ids exist).
    async fn check_people(&self, c: &mut Conn, scope: &Scope, ids: &[UserId], field: &str, staff_only: bool, already: &[UserId]) -> Result<Vec<UserId>> {
        let mut out = ids.to_vec();
        out.sort();
        out.dedup();
        if out.len() > 48 {
            return Err(HelpdeskError::invalid(field, "at most 48 people can be added"));
        }
        if !scope.is_staff()
            && let Some(id) = out.iter().find(|id| **id != scope.actor && !already.contains(id))
        {
            return Err(HelpdeskError::invalid(field, format!("user {id} cannot be added by you")));
        }
        for id in &out {
            if staff_only {
                self.require_staff_user(c, scope.tenant, *id, field).await?;
            } else {
                self.require_user(c, scope.tenant, *id, field).await?;
            }
        }
        Ok(out)
    }

    async fn resolve_requester(&self, c: &mut Conn, scope: &Scope, r: &RequesterRef, now: Timestamp) -> Result<suoja_store::users::UserRow> {
        match r {
            RequesterRef::Id(id) => self.require_user(c, scope.tenant, *id, "requester_id").await,
            RequesterRef::New { name, email } => {
                if let Some(u) = self.user_by_email(c, scope.tenant, email).await? {
                    if u.deleted_at.is_none() {
                        return Ok(u);
                    }
                    return Err(HelpdeskError::invalid("requester", "that user has been deleted"));
                }
                let name = name
                    .clone()
                    .unwrap_or_else(|| Personal::new(email.normalized().split('@').next().unwrap_or("requester").to_string()));
                let input = UserInput {
                    name: Some(name),
                    email: Some(Some(email.clone())),
                    role: Some(Role::EndUser),
                    ..Default::default()
                };
                let created = self.insert_user(c, scope.tenant, &input, now).await?;
                suoja_store::users::by_id(c, scope.tenant, created.id)
                    .await?
                    .ok_or(HelpdeskError::Internal("user vanished".into()))
            }
        }
    }

    /// Adds a comment to a ticket inside the caller's transaction; returns its id and text.
    /// Adds a comment; returns its id, its plain text and whether it is public.
    async fn add_comment(&self, c: &mut Conn, scope: &Scope, ticket: &TicketRow, input: &CommentInput, now: Timestamp) -> Result<(CommentId, String, bool)> {
        let author_id = match input.author_id {
            Some(a) if a != scope.actor => {
                if !scope.is_staff() {
                    return Err(HelpdeskError::Forbidden("end users cannot comment on behalf of others"));
                }
                a
            }
            _ => scope.actor,
        };
        let author = self.require_user(c, scope.tenant, author_id, "author_id").await?;
        let public = input.public || author.role == Role::EndUser;
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
        if plain.trim().is_empty() && input.uploads.is_empty() {
            return Err(HelpdeskError::Invalid {
                field: "comment".into(),
                message: "Comment: cannot be blank".into(),
                code: "BlankValue",
            });
        }
        let key = comment_key(&author, ticket.key_id);
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
            via: "api".into(),
            created_at: now,
        };
        let id = suoja_store::comments::insert(c, scope.tenant, &row).await?;
        for token in &input.uploads {
            self.bind_upload(c, scope, token, ticket.id, id, key).await?;
        }
        Ok((id, plain, public))
    }

    /// Opens a ticket for a requester, with its first comment.
    pub async fn create_ticket(&self, scope: &Scope, input: TicketInput) -> Result<TicketChange> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let change = self.create_ticket_in(&mut tx, scope, input, now, None).await?;
        tx.commit().await?;
        tracing::info!(tenant.id = %scope.tenant, ticket.id = %change.ticket.id, actor.id = %scope.actor, "ticket created");
        Ok(change)
    }

    /// Creates a ticket in the caller's transaction. Its index entry is written now, or, with
    /// `pending` (bulk imports), handed back to be written with others in one statement.
    pub(crate) async fn create_ticket_in(
        &self,
        c: &mut Conn,
        scope: &Scope,
        input: TicketInput,
        now: Timestamp,
        pending: Option<&mut Vec<(i64, suoja_search::DocTokens)>>,
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
            Some(r) => self.resolve_requester(c, scope, r, now).await?,
            None => self.require_user(c, scope.tenant, scope.actor, "requester_id").await?,
        };
        let submitter = input.submitter_id.unwrap_or(scope.actor);
        if submitter != scope.actor {
            self.require_user(c, scope.tenant, submitter, "submitter_id").await?;
        }
        let assignee = input.assignee_id.flatten();
        if let Some(a) = assignee {
            self.require_staff_user(c, scope.tenant, a, "assignee_id").await?;
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
        let mut tags = input.tags.clone().unwrap_or_default();
        tags.extend(input.additional_tags.iter().cloned());
        let tags = normalize_tags(&tags);
        let custom: Vec<(i64, Value)> = input.custom_fields.as_ref().map(|c| c.expose().clone()).unwrap_or_default();
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
            status: status.as_str().into(),
            status_rank: status as i64,
            priority: input.priority.flatten().map(|p| p.as_str().to_string()),
            ticket_type: input.ticket_type.flatten().map(|t| t.as_str().to_string()),
            tags_enc: crypt::seal_json(v, c, scope.tenant, key, &tags).await?,
            custom_fields_enc: crypt::seal_json(v, c, scope.tenant, key, &custom).await?,
            external_id_enc: crypt::seal_opt(v, c, scope.tenant, key, input.external_id.clone().flatten().as_ref()).await?,
            due_at: input.due_at.flatten(),
            via: "api".into(),
            created_at: now,
            updated_at: now,
            deleted_at: None,
            deleted_by: None,
            restricted: requester.restricted,
            closed_at: is_done(status.as_str()).then_some(now),
        };
        row.id = suoja_store::tickets::insert(c, scope.tenant, &row).await?;
        self.set_ticket_tags(c, scope.tenant, row.id, &tags).await?;
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
        let (comment_id, plain, public) = self.add_comment(c, scope, &row, &comment, now).await?;
        let mut text = input.subject.as_ref().map(|s| s.expose().clone()).unwrap_or_default();
        let mut internal = String::new();
        if public {
            text.push(' ');
            text.push_str(&plain);
        } else {
            internal = plain;
        }
        let doc = crate::search::DocText {
            public: &text,
            internal: &internal,
            tags: &tags,
        };
        match pending {
            Some(pending) => pending.push((row.id.0, crate::search::doc_tokens(v, c, scope.tenant, &doc).await?)),
            None => crate::search::index_new_doc(v, c, scope.tenant, DocKind::Ticket, row.id.0, &doc).await?,
        }
        self.queue_ticket_event(c, scope.tenant, row.id, row.restricted, "ticket.created", now).await?;
        let mut ticket = self.open_ticket_row(c, scope.tenant, &row).await?;
        let [collaborators, email_ccs, followers] = links;
        ticket.collaborator_ids = collaborators;
        ticket.email_cc_ids = email_ccs;
        ticket.follower_ids = followers;
        let mut events = vec![AuditEvent {
            kind: "Comment",
            field_name: None,
            value: None,
            previous_value: None,
            comment_id: Some(comment_id),
        }];
        for (field, value) in [
            ("status", json!(status.as_str())),
            ("requester_id", json!(requester.id.0)),
            ("subject", Value::Null),
            ("priority", json!(row.priority)),
            ("assignee_id", json!(assignee.map(|a| a.0))),
        ] {
            events.push(AuditEvent {
                kind: "Create",
                field_name: Some(field),
                value: Some(value),
                previous_value: None,
                comment_id: None,
            });
        }
        Ok(TicketChange {
            ticket,
            events,
            author_id: scope.actor,
            at: now,
        })
    }

    /// Changes a ticket and/or adds a comment. End users may only comment on their own tickets
    /// (and mark them solved).
    pub async fn update_ticket(&self, scope: &Scope, id: TicketId, input: TicketInput) -> Result<TicketChange> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let mut row = suoja_store::tickets::by_id(&mut tx, scope.tenant, id)
            .await?
            .filter(|t| t.deleted_at.is_none())
            .ok_or(HelpdeskError::NotFound("Ticket"))?;
        if !self.can_see(&mut tx, scope, &row).await? {
            return Err(HelpdeskError::NotFound("Ticket"));
        }
        if !scope.is_staff() {
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
                && input.external_id.is_none()
                && input.due_at.is_none()
                && input.follower_ids.is_none()
                && input.status.is_none_or(|s| s == Status::Solved);
            if !only_comment_or_solve || input.comment.as_ref().is_some_and(|c| !c.public) {
                return Err(HelpdeskError::Forbidden(
                    "end users can only add public comments to their tickets or mark them solved",
                ));
            }
        }
        if row.status == "closed" {
            return Err(HelpdeskError::invalid("status", "Status: closed prevents ticket update"));
        }
        let v = self.vault.clone();
        let t = scope.tenant;
        let mut events = Vec::new();
        let mut reindex = false;

        if let Some(r) = &input.requester {
            let new_req = self.resolve_requester(&mut tx, scope, r, now).await?;
            if new_req.id != row.requester_id {
                events.push(change("requester_id", json!(row.requester_id.0), json!(new_req.id.0)));
                self.rekey_ticket(&mut tx, t, &mut row, new_req.key_id).await?;
                row.requester_id = new_req.id;
            }
        }
        if let Some(s) = &input.subject {
            row.subject_enc = Some(crypt::seal(&v, &mut tx, t, row.key_id, s).await?);
            events.push(change("subject", Value::Null, Value::Null));
            reindex = true;
        }
        if let Some(a) = input.assignee_id {
            if let Some(a) = a {
                self.require_staff_user(&mut tx, t, a, "assignee_id").await?;
            }
            if a != row.assignee_id {
                events.push(change("assignee_id", json!(row.assignee_id.map(|x| x.0)), json!(a.map(|x| x.0))));
                row.assignee_id = a;
            }
        }
        if let Some(g) = input.group_id {
            if let Some(g) = g {
                self.require_group(&mut tx, t, g).await?;
            }
            events.push(change("group_id", json!(row.group_id.map(|x| x.0)), json!(g.map(|x| x.0))));
            row.group_id = g;
        }
        if let Some(o) = input.organization_id {
            if let Some(o) = o {
                self.require_org(&mut tx, t, o).await?;
            }
            row.organization_id = o;
        }
        if let Some(s) = input.status {
            if s.as_str() != row.status {
                events.push(change("status", json!(row.status), json!(s.as_str())));
                row.closed_at = match (is_done(&row.status), is_done(s.as_str())) {
                    (_, false) => None,
                    (false, true) => Some(now),
                    (true, true) => row.closed_at,
                };
                row.status = s.as_str().into();
                row.status_rank = s as i64;
            }
        } else if row.status == "new" && input.assignee_id.flatten().is_some() {
            events.push(change("status", json!("new"), json!("open")));
            row.status = "open".into();
            row.status_rank = Status::Open as i64;
        }
        if let Some(p) = input.priority {
            let new = p.map(|p| p.as_str().to_string());
            events.push(change("priority", json!(row.priority), json!(new)));
            row.priority = new;
        }
        if let Some(ty) = input.ticket_type {
            let new = ty.map(|t| t.as_str().to_string());
            events.push(change("type", json!(row.ticket_type), json!(new)));
            row.ticket_type = new;
        }
        if input.tags.is_some() || !input.additional_tags.is_empty() || !input.remove_tags.is_empty() {
            let mut tags: Vec<String> = match &input.tags {
                Some(t) => t.clone(),
                None => crypt::open_json(&v, &mut tx, t, &row.tags_enc).await?,
            };
            tags.extend(input.additional_tags.iter().cloned());
            let remove = normalize_tags(&input.remove_tags);
            let tags: Vec<String> = normalize_tags(&tags).into_iter().filter(|x| !remove.contains(x)).collect();
            row.tags_enc = crypt::seal_json(&v, &mut tx, t, row.key_id, &tags).await?;
            self.set_ticket_tags(&mut tx, t, row.id, &tags).await?;
            events.push(change("tags", Value::Null, json!(tags)));
            reindex = true;
        }
        if let Some(cf) = &input.custom_fields {
            let mut current: Vec<(i64, Value)> = crypt::open_json(&v, &mut tx, t, &row.custom_fields_enc).await?;
            for (fid, val) in cf.expose() {
                current.retain(|(i, _)| i != fid);
                current.push((*fid, val.clone()));
            }
            current.sort_by_key(|(i, _)| *i);
            row.custom_fields_enc = crypt::seal_json(&v, &mut tx, t, row.key_id, &current).await?;
            events.push(change("custom_fields", Value::Null, Value::Null));
        }
        if let Some(x) = &input.external_id {
            row.external_id_enc = crypt::seal_opt(&v, &mut tx, t, row.key_id, x.as_ref()).await?;
        }
        if let Some(d) = input.due_at {
            row.due_at = d;
        }
        for (kind, ids, staff) in [
            ("collaborator", &input.collaborator_ids, false),
            ("email_cc", &input.email_cc_ids, false),
            ("follower", &input.follower_ids, true),
        ] {
            if let Some(ids) = ids {
                let already: Vec<UserId> = if scope.is_staff() {
                    Vec::new()
                } else {
                    suoja_store::tickets::collaborators(&mut tx, t, &[row.id])
                        .await?
                        .into_iter()
                        .filter(|(_, _, k)| k == kind)
                        .map(|(_, u, _)| u)
                        .collect()
                };
                let ids = self.check_people(&mut tx, scope, ids, kind_field(kind), staff, &already).await?;
                suoja_store::tickets::set_collaborators(&mut tx, t, row.id, kind, &ids, now).await?;
                events.push(change(kind_field(kind), Value::Null, json!(ids.iter().map(|u| u.0).collect::<Vec<_>>())));
            }
        }
        if let Some(comment) = &input.comment {
            let (cid, plain, public) = self.add_comment(&mut tx, scope, &row, comment, now).await?;
            events.push(AuditEvent {
                kind: "Comment",
                field_name: None,
                value: None,
                previous_value: None,
                comment_id: Some(cid),
            });
            if !reindex {
                index_add(&v, &mut tx, t, row.id, &plain, public).await?;
            }
        }
        row.updated_at = now;
        suoja_store::tickets::update(&mut tx, t, &row).await?;
        if reindex {
            self.reindex_ticket(&mut tx, t, row.id).await?;
        }
        let ticket = self.open_ticket_full(&mut tx, scope, &row).await?;
        self.queue_ticket_event(&mut tx, t, row.id, row.restricted, "ticket.updated", now).await?;
        tx.commit().await?;
        tracing::info!(tenant.id = %t, ticket.id = %id, actor.id = %scope.actor, changes = events.len(), "ticket updated");
        Ok(TicketChange {
            ticket,
            events,
            author_id: scope.actor,
            at: now,
        })
    }

    /// Moves a ticket's personal fields (and the comments sealed under the ticket's key) to a
    /// new requester's key, so that erasing the old requester cannot shred this ticket.
    async fn rekey_ticket(&self, c: &mut Conn, t: TenantId, row: &mut TicketRow, new_key: KeyId) -> Result<()> {
        let v = &self.vault;
        let old_key = row.key_id;
        macro_rules! reseal {
            ($field:expr) => {{
                let plain = v.decrypt(c, t, &$field).await?;
                $field = v.encrypt(c, t, new_key, &plain).await?;
            }};
        }
        if let Some(s) = row.subject_enc.as_mut() {
            let plain = v.decrypt(c, t, s).await?;
            *s = v.encrypt(c, t, new_key, &plain).await?;
        }
        if let Some(s) = row.external_id_enc.as_mut() {
            let plain = v.decrypt(c, t, s).await?;
            *s = v.encrypt(c, t, new_key, &plain).await?;
        }
        reseal!(row.description_enc);
        reseal!(row.tags_enc);
        reseal!(row.custom_fields_enc);
        row.key_id = new_key;
        let comments = suoja_store::comments::for_ticket(c, t, row.id, suoja_store::comments::CommentQuery::ALL).await?;
        for m in comments.into_iter().filter(|m| m.key_id == old_key) {
            let body = v.decrypt(c, t, &m.body_enc).await?;
            let html = match &m.html_enc {
                Some(h) => Some(v.decrypt(c, t, h).await?),
                None => None,
            };
            let body_enc = v.encrypt(c, t, new_key, &body).await?;
            let html_enc = match html {
                Some(h) => Some(v.encrypt(c, t, new_key, &h).await?),
                None => None,
            };
            suoja_store::comments::rekey(c, t, m.id, new_key, body_enc, html_enc).await?;
        }
        Ok(())
    }

    /// Whether the scope may see a ticket: staff always; end users when they requested it or are
    /// CC'd on it.
    pub(crate) async fn can_see(&self, c: &mut Conn, scope: &Scope, row: &TicketRow) -> Result<bool> {
        if row.restricted && scope.is_staff() {
            // Restricted (GDPR Art. 18): staff reach it only through the privacy console, with a reason.
            return Ok(false);
        }
        if scope.is_staff() || row.requester_id == scope.actor {
            return Ok(true);
        }
        let links = suoja_store::tickets::collaborators(c, scope.tenant, &[row.id]).await?;
        Ok(links.iter().any(|(_, u, k)| *u == scope.actor && k != "follower"))
    }

    pub(crate) async fn open_ticket_row(&self, c: &mut Conn, t: TenantId, r: &TicketRow) -> Result<Ticket> {
        let v = &self.vault;
        let custom: Vec<(i64, Value)> = crypt::open_json(v, c, t, &r.custom_fields_enc).await?;
        Ok(Ticket {
            id: r.id,
            requester_id: r.requester_id,
            submitter_id: r.submitter_id,
            assignee_id: r.assignee_id,
            group_id: r.group_id,
            organization_id: r.organization_id,
            subject: crypt::open_opt(v, c, t, r.subject_enc.as_deref()).await?,
            description: crypt::open(v, c, t, &r.description_enc).await?,
            status: Status::parse(&r.status).map_err(|e| HelpdeskError::Internal(e.0))?,
            priority: r.priority.as_deref().and_then(|p| suoja_core::Priority::parse(p).ok()),
            ticket_type: r.ticket_type.as_deref().and_then(|p| suoja_core::TicketType::parse(p).ok()),
            tags: crypt::open_json(v, c, t, &r.tags_enc).await?,
            custom_fields: Personal::new(custom),
            external_id: crypt::open_opt(v, c, t, r.external_id_enc.as_deref()).await?,
            due_at: r.due_at,
            via: r.via.clone(),
            collaborator_ids: Vec::new(),
            email_cc_ids: Vec::new(),
            follower_ids: Vec::new(),
            created_at: r.created_at,
            updated_at: r.updated_at,
            deleted_at: r.deleted_at,
            deleted_by: r.deleted_by,
        })
    }

    pub(crate) async fn open_ticket_full(&self, c: &mut Conn, scope: &Scope, r: &TicketRow) -> Result<Ticket> {
        let mut v = self.open_tickets(c, scope, std::slice::from_ref(r)).await?;
        v.pop().ok_or(HelpdeskError::Internal("ticket vanished".into()))
    }

    /// Opens tickets with their CC and follower links, as `scope` may see them: an end user's
    /// description is the first public comment, never a private one.
    pub(crate) async fn open_tickets(&self, c: &mut Conn, scope: &Scope, rows: &[TicketRow]) -> Result<Vec<Ticket>> {
        let t = scope.tenant;
        let ids: Vec<TicketId> = rows.iter().map(|r| r.id).collect();
        let links = suoja_store::tickets::collaborators(c, t, &ids).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let mut ticket = self.open_ticket_row(c, t, r).await?;
            for (tid, u, kind) in &links {
                if *tid == r.id {
                    match kind.as_str() {
                        "collaborator" => ticket.collaborator_ids.push(*u),
                        "email_cc" => ticket.email_cc_ids.push(*u),
                        _ => ticket.follower_ids.push(*u),
                    }
                }
            }
            if !scope.is_staff() {
                ticket.description = self.public_description(c, t, r).await?;
            }
            out.push(ticket);
        }
        Ok(out)
    }

    /// What a ticket's requester and CCs read as its description (Zendesk shows end users no
    /// private comment): the first comment when it is public, else the first public comment's
    /// text, else nothing.
    pub async fn public_description(&self, c: &mut Conn, t: TenantId, r: &TicketRow) -> Result<Personal<String>> {
        use suoja_store::comments::CommentQuery;
        let first = suoja_store::comments::for_ticket(c, t, r.id, CommentQuery { limit: 1, ..CommentQuery::ALL }).await?;
        if first.first().is_some_and(|m| m.public) {
            return crypt::open(&self.vault, c, t, &r.description_enc).await;
        }
        let public = suoja_store::comments::for_ticket(
            c,
            t,
            r.id,
            CommentQuery {
                public_only: true,
                limit: 1,
                ..CommentQuery::ALL
            },
        )
        .await?;
        match public.first() {
            Some(m) => crypt::open(&self.vault, c, t, &m.body_enc).await,
            None => Ok(Personal::new(String::new())),
        }
    }
}

/// The key a comment goes under: an end user's own key (their words are their data), or the
/// ticket's key for staff replies (the organisation's record of the requester's case).
fn comment_key(author: &suoja_store::users::UserRow, ticket_key: KeyId) -> KeyId {
    if author.role == Role::EndUser { author.key_id } else { ticket_key }
}

fn kind_field(kind: &str) -> &'static str {
    match kind {
        "collaborator" => "collaborator_ids",
        "email_cc" => "email_cc_ids",
        _ => "follower_ids",
    }
}
