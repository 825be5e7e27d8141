//! Changing a ticket: fields, CCs and followers, the requester, and a comment, with an audit
//! event for each change.

use serde_json::{Value, json};
use suoja_core::{Scope, Status, TicketId, UserId};

use super::{change, is_done, kind_field};
use crate::model::{AuditEvent, TicketChange, TicketInput};
use crate::search::index_add;
use crate::users::normalize_tags;
use crate::{Helpdesk, HelpdeskError, Result, crypt};

impl Helpdesk {
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
}
