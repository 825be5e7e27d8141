//! Zendesk wire shapes: services' values rendered with Zendesk's field names, including the
//! read-only fields clients expect. Personal values are exposed here, on their way out to an
//! authorised caller, and nowhere else in this crate.

use serde_json::{Value, json};
use suoja_core::CommentId;
use suoja_core::{Scope, Timestamp};
use suoja_helpdesk::model::{Attachment, AuditEvent, Comment, Group, JobStatus, Ticket, TicketChange, User};
use suoja_helpdesk::orgs::Organization;
use suoja_helpdesk::tickets::audits::Audit;

use crate::extract::BaseUrl;

pub fn ts(t: Timestamp) -> Value {
    Value::String(t.to_iso())
}

fn opt_ts(t: Option<Timestamp>) -> Value {
    t.map(ts).unwrap_or(Value::Null)
}

fn via(channel: &str) -> Value {
    json!({"channel": channel, "source": {"from": {}, "to": {}, "rel": null}})
}

/// A ticket.
pub fn ticket(t: &Ticket, base: &BaseUrl) -> Value {
    let custom: Vec<Value> = t.custom_fields.expose().iter().map(|(id, v)| json!({"id": id, "value": v})).collect();
    let subject = t.subject.as_ref().map(|s| s.expose().clone());
    json!({
        "id": t.id.0,
        "url": base.api(&format!("/tickets/{}.json", t.id.0)),
        "external_id": t.external_id.as_ref().map(|x| x.expose().clone()),
        "type": t.ticket_type.map(|x| x.as_str()),
        "subject": subject,
        "raw_subject": subject,
        "description": t.description.expose(),
        "priority": t.priority.map(|p| p.as_str()),
        "status": if t.deleted_at.is_some() { "deleted" } else { t.status.as_str() },
        "recipient": null,
        "requester_id": t.requester_id.0,
        "submitter_id": t.submitter_id.0,
        "assignee_id": t.assignee_id.map(|u| u.0),
        "organization_id": t.organization_id.map(|o| o.0),
        "group_id": t.group_id.map(|g| g.0),
        "collaborator_ids": t.collaborator_ids.iter().chain(t.email_cc_ids.iter()).map(|u| u.0).collect::<std::collections::BTreeSet<_>>(),
        "follower_ids": t.follower_ids.iter().map(|u| u.0).collect::<Vec<_>>(),
        "email_cc_ids": t.email_cc_ids.iter().map(|u| u.0).collect::<Vec<_>>(),
        "forum_topic_id": null,
        "problem_id": null,
        "has_incidents": false,
        "is_public": true,
        "due_at": opt_ts(t.due_at),
        "tags": t.tags,
        "custom_fields": custom,
        "fields": custom,
        "satisfaction_rating": t.satisfaction.as_ref().map(|(id, score, comment)| json!({
            "id": id,
            "score": score,
            "comment": comment.as_ref().map(|c| c.expose().clone()),
        })),
        "sharing_agreement_ids": [],
        "custom_status_id": null,
        "followup_ids": [],
        "ticket_form_id": t.ticket_form_id,
        "brand_id": null,
        "allow_channelback": false,
        "allow_attachments": true,
        "from_messaging_channel": false,
        "via": via(&t.via),
        "created_at": ts(t.created_at),
        "updated_at": ts(t.updated_at),
    })
}

/// A user; notes only for staff callers.
pub fn user(u: &User, base: &BaseUrl, scope: &Scope) -> Value {
    json!({
        "id": u.id.0,
        "url": base.api(&format!("/users/{}.json", u.id.0)),
        "name": u.name.expose(),
        "email": u.email.as_ref().map(|e| e.expose().clone()),
        "phone": u.phone.as_ref().map(|e| e.expose().clone()),
        "photo": null,
        "locale_id": 1,
        "locale": u.locale,
        "time_zone": u.time_zone,
        "iana_time_zone": u.time_zone,
        "organization_id": u.organization_id.map(|o| o.0),
        "role": u.role.as_str(),
        "role_type": null,
        "custom_role_id": null,
        "verified": u.verified,
        "external_id": u.external_id.as_ref().map(|e| e.expose().clone()),
        "tags": u.tags,
        "alias": null,
        "active": u.active,
        "shared": false,
        "shared_agent": false,
        "shared_phone_number": null,
        "signature": null,
        "details": u.details.as_ref().map(|e| e.expose().clone()),
        "notes": if scope.is_staff() { u.notes.as_ref().map(|e| e.expose().clone()) } else { None },
        "restricted_agent": false,
        "suspended": u.suspended,
        "privacy_officer": u.privacy_officer,
        "restricted": u.restricted,
        "default_group_id": null,
        "report_csv": false,
        "only_private_comments": false,
        "ticket_restriction": if u.role.is_staff() { Value::Null } else { json!("requested") },
        "moderator": false,
        "chat_only": false,
        "two_factor_auth_enabled": false,
        "user_fields": u.user_fields.expose(),
        "last_login_at": opt_ts(u.last_login_at),
        "created_at": ts(u.created_at),
        "updated_at": ts(u.updated_at),
    })
}

/// An attachment.
pub fn attachment(a: &Attachment, base: &BaseUrl) -> Value {
    let content = base.api(&format!("/attachments/{}/content", a.id.0));
    json!({
        "id": a.id.0,
        "url": base.api(&format!("/attachments/{}.json", a.id.0)),
        "file_name": a.file_name.expose(),
        "content_url": content,
        "mapped_content_url": content,
        "content_type": a.content_type,
        "size": a.size,
        "width": null,
        "height": null,
        "inline": false,
        "deleted": false,
        "malware_access_override": false,
        "malware_scan_result": "not_scanned",
        "thumbnails": [],
    })
}

/// A comment.
pub fn comment(c: &Comment, base: &BaseUrl) -> Value {
    json!({
        "id": c.id.0,
        "type": "Comment",
        "author_id": c.author_id.0,
        "body": c.body.expose(),
        "html_body": c.html_body.expose(),
        "plain_body": c.body.expose(),
        "public": c.public,
        "attachments": c.attachments.iter().map(|a| attachment(a, base)).collect::<Vec<_>>(),
        "audit_id": c.audit_id,
        "via": via(&c.via),
        "metadata": {"system": {}, "custom": {}},
        "created_at": ts(c.created_at),
    })
}

fn event(e: &AuditEvent, idx: usize, change: &TicketChange) -> Value {
    let mut v = json!({
        "id": suoja_helpdesk::tickets::audits::event_id(change.audit_id, idx),
        "type": e.kind,
    });
    if let Some(f) = &e.field_name {
        suoja_core::json::set(&mut v, "field_name", json!(f));
        suoja_core::json::set(&mut v, "value", e.value.clone().unwrap_or(Value::Null));
        if e.kind == "Change" {
            suoja_core::json::set(&mut v, "previous_value", e.previous_value.clone().unwrap_or(Value::Null));
        }
    }
    if let Some(cid) = e.comment_id {
        suoja_core::json::set(&mut v, "comment_id", json!(cid.0));
        if e.kind == "Comment" {
            suoja_core::json::set(&mut v, "id", json!(cid.0));
        }
    }
    for (k, x) in &e.detail {
        suoja_core::json::set(&mut v, k, x.clone());
    }
    v
}

/// The audit of a ticket change, as its answer carries it.
pub fn audit(change: &TicketChange) -> Value {
    json!({
        "id": change.audit_id,
        "ticket_id": change.ticket.id.0,
        "created_at": ts(change.at),
        "author_id": change.author_id.0,
        "via": via("api"),
        "metadata": {"system": {}, "custom": {}},
        "events": change.events.iter().enumerate().map(|(i, e)| event(e, i, change)).collect::<Vec<_>>(),
    })
}

/// A stored audit of a ticket; a `Comment` event carries the comment as it stands now.
pub fn stored_audit(a: &Audit, base: &BaseUrl) -> Value {
    let events: Vec<Value> = a
        .events
        .iter()
        .map(|e| {
            let e = e.clone();
            let found = e.get("comment_id").and_then(Value::as_i64).and_then(|id| a.comments.get(&CommentId(id)));
            if e.get("type").and_then(Value::as_str) == Some("Comment")
                && let Some(c) = found
            {
                // As in Zendesk, a comment event's id is the comment's.
                let mut full = comment(c, base);
                suoja_core::json::set(&mut full, "audit_id", json!(a.id));
                return full;
            }
            e
        })
        .collect();
    json!({
        "id": a.id,
        "ticket_id": a.ticket_id.0,
        "created_at": ts(a.created_at),
        "author_id": a.author_id.map(|u| u.0).unwrap_or(-1),
        "via": via(&a.via),
        "metadata": {"system": {}, "custom": {}},
        "events": events,
    })
}

/// An organisation.
pub fn organization(o: &Organization, base: &BaseUrl) -> Value {
    json!({
        "id": o.id.0,
        "url": base.api(&format!("/organizations/{}.json", o.id.0)),
        "name": o.name,
        "details": o.details,
        "notes": o.notes,
        "domain_names": o.domain_names,
        "group_id": o.group_id.map(|g| g.0),
        "shared_tickets": o.shared_tickets,
        "shared_comments": o.shared_comments,
        "external_id": o.external_id,
        "tags": o.tags,
        "organization_fields": o.organization_fields,
        "created_at": ts(o.created_at),
        "updated_at": ts(o.updated_at),
    })
}

/// A group.
pub fn group(g: &Group, base: &BaseUrl) -> Value {
    json!({
        "id": g.id.0,
        "url": base.api(&format!("/groups/{}.json", g.id.0)),
        "name": g.name,
        "description": g.description.clone().unwrap_or_default(),
        "default": false,
        "deleted": false,
        "is_public": true,
        "created_at": ts(g.created_at),
        "updated_at": ts(g.updated_at),
    })
}

/// A job status.
pub fn job(j: &JobStatus, base: &BaseUrl) -> Value {
    json!({
        "id": j.id,
        "url": base.api(&format!("/job_statuses/{}.json", j.id)),
        "total": j.total,
        "progress": j.progress,
        "status": j.status,
        "message": j.message,
        "results": j.results,
    })
}

/// A person's identities as Zendesk shows them: the address (primary) and the phone number,
/// numbered from the person's id (`2·id` and `2·id + 1`), since Suoja keeps one of each.
pub fn identities(u: &User, base: &BaseUrl) -> Vec<Value> {
    let mut out = Vec::new();
    let at = |n: i64| base.api(&format!("/users/{}/identities/{n}.json", u.id.0));
    // Ids past i64::MAX / 2 have no identity numbers (none are handed out that high).
    let Some(base_id) = u.id.0.checked_mul(2) else {
        return out;
    };
    if let Some(e) = &u.email {
        let id = base_id;
        out.push(json!({
            "id": id, "url": at(id), "user_id": u.id.0, "type": "email", "value": e.expose(),
            "verified": u.verified, "primary": true, "deliverable_state": "deliverable", "undeliverable_count": 0,
            "created_at": u.created_at.to_iso(), "updated_at": u.updated_at.to_iso(),
        }));
    }
    if let Some(p) = &u.phone {
        let id = base_id.saturating_add(1);
        out.push(json!({
            "id": id, "url": at(id), "user_id": u.id.0, "type": "phone_number", "value": p.expose(),
            "verified": false, "primary": u.email.is_none(),
            "created_at": u.created_at.to_iso(), "updated_at": u.updated_at.to_iso(),
        }));
    }
    out
}
