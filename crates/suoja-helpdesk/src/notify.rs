//! Ticket notifications by e-mail: the messages triggers send (`rules::triggers`), in each
//! recipient's language when a default notification's words are left as they are. They are
//! queued in the outbox inside the change's transaction (sealed under the recipient's key, so
//! erasing the recipient erases them) and sent by the mail sender; nothing is queued unless the
//! installation sends mail.
//!
//! - No one is told of their own update, except a requester acknowledged for the request they
//!   opened, or a notification an admin addressed to `current_user`.
//! - An end user is never sent an internal note's words, nor, on a new ticket, the words it was
//!   opened with (a forged sender would otherwise have the helpdesk mail any text to anyone).
//! - Staff notices go to staff only: an end user in a group's list, named as assignee or by id
//!   is not sent an agent's notice.
//! - An end user's message names no one else's details but staff's names; a message quoting an
//!   internal note is not sent to an end user at all.

use std::collections::BTreeSet;

use serde_json::json;
use suoja_core::{Role, Scope, TenantId, UserId};
use suoja_store::Conn;
use suoja_store::tickets::TicketRow;
use suoja_store::users::UserRow;

use crate::rules::triggers::{Notice, Recipient};
use crate::{Helpdesk, Result};

/// The outbox kinds of ticket notifications (what the sender and the admin pages show).
pub mod kinds {
    /// To the requester: their new ticket was received.
    pub const RECEIVED: &str = "ticket_received";
    /// To the requester and CCs: a public reply.
    pub const REPLY: &str = "ticket_reply";
    /// To the assignee: a ticket of theirs changed or was opened for them.
    pub const ASSIGNEE: &str = "ticket_assignee";
}

/// The `Notification` events of an audit: one per kind of message, with its recipients' ids
/// (the messages' words are not kept in the audit; they were sealed for their recipients).
pub(crate) fn audit_events(told: &[(&'static str, UserId)]) -> Vec<crate::model::AuditEvent> {
    let mut by_kind: Vec<(&'static str, Vec<i64>)> = Vec::new();
    for (kind, who) in told {
        match by_kind.iter_mut().find(|(k, _)| k == kind) {
            Some((_, ids)) => ids.push(who.0),
            None => by_kind.push((kind, vec![who.0])),
        }
    }
    by_kind
        .into_iter()
        .map(|(kind, ids)| {
            crate::model::AuditEvent::new("Notification")
                .with("recipients", json!(ids))
                .with("notification", json!(kind))
        })
        .collect()
}

fn finnish(u: &UserRow) -> bool {
    u.locale.to_ascii_lowercase().starts_with("fi")
}

impl Helpdesk {
    /// Queues the notifications the triggers that fired call for, in the caller's transaction,
    /// with the ticket as the update leaves it. Returns who was told what (the outbox kind and
    /// the recipient), for the ticket's audit.
    pub(crate) async fn send_notices(
        &self,
        c: &mut Conn,
        scope: &Scope,
        ticket: &TicketRow,
        created: bool,
        comment: Option<(bool, &str)>,
        notices: &[Notice],
    ) -> Result<Vec<(&'static str, UserId)>> {
        let mut told = Vec::new();
        if !self.notifications || notices.is_empty() {
            return Ok(told);
        }
        let t = scope.tenant;
        let subject = match &ticket.subject_enc {
            Some(s) => self.vault.decrypt_str(c, t, s).await?,
            None => String::new(),
        };
        let mut names = Names::default();
        for n in notices {
            let (to, staff_only) = self.recipients(c, scope, ticket, &n.to).await?;
            for u in to {
                let explicit = n.to == Recipient::CurrentUser;
                let acknowledged = created && u == ticket.requester_id;
                if u == scope.actor && !explicit && !acknowledged {
                    continue;
                }
                // A person whose processing is restricted is sent nothing about tickets.
                let Some(r) = self.recipient(c, t, u).await?.filter(|r| !r.restricted) else {
                    continue;
                };
                let end_user = r.role == Role::EndUser;
                if end_user && staff_only {
                    continue;
                }
                let kind = match n.to {
                    Recipient::Requester | Recipient::RequesterAndCcs if created => kinds::RECEIVED,
                    Recipient::Requester | Recipient::RequesterAndCcs => kinds::REPLY,
                    _ if end_user => kinds::REPLY,
                    _ => kinds::ASSIGNEE,
                };
                // Staff read every comment; an end user only a public one on a ticket already
                // open.
                let shown = |public: bool| !end_user || (public && !created);
                let latest = match comment {
                    Some((public, text)) if shown(public) => text,
                    // An end user is not told that an internal note was written.
                    Some((false, _)) if n.body.contains("ticket.latest_comment") || n.subject.contains("ticket.latest_comment") => continue,
                    _ => "",
                };
                let (subj_t, body_t) = match crate::rules::triggers::finnish_default(&n.subject, &n.body) {
                    Some((s, b)) if finnish(&r) => (s.to_string(), b.to_string()),
                    _ => (n.subject.clone(), n.body.clone()),
                };
                let needs = |p: &str| subj_t.contains(p) || body_t.contains(p);
                names.load(self, c, t, ticket, scope.actor, &needs).await?;
                let viewer = Viewer {
                    id: r.id,
                    end_user,
                    actor: scope.actor,
                };
                let value = |name: &str| names.value(name, ticket, &subject, latest, &viewer);
                // One line: a value holding a line break does not start a header.
                let subj: String = crate::rules::macros::fill(&subj_t, &value, false)
                    .chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .collect();
                let body = crate::rules::macros::fill(&body_t, &value, false);
                self.queue(c, t, &r, kind, ticket.id.0, &subj, &body).await?;
                told.push((kind, r.id));
            }
        }
        Ok(told)
    }

    /// The people a notification names, and whether it is for staff only.
    async fn recipients(&self, c: &mut Conn, scope: &Scope, ticket: &TicketRow, to: &Recipient) -> Result<(Vec<UserId>, bool)> {
        let t = scope.tenant;
        Ok(match to {
            Recipient::Requester => (vec![ticket.requester_id], false),
            Recipient::RequesterAndCcs => {
                let mut to: BTreeSet<UserId> = BTreeSet::from([ticket.requester_id]);
                for (_, user, kind) in suoja_store::tickets::collaborators(c, t, &[ticket.id]).await? {
                    if kind != "follower" {
                        to.insert(user);
                    }
                }
                (to.into_iter().collect(), false)
            }
            Recipient::Assignee => (ticket.assignee_id.into_iter().collect(), true),
            Recipient::CurrentUser => (vec![scope.actor], false),
            Recipient::User(u) => (vec![*u], true),
            Recipient::TicketGroup | Recipient::Group(_) => {
                let g = match to {
                    Recipient::Group(g) => Some(*g),
                    _ => ticket.group_id,
                };
                let Some(g) = g else { return Ok((Vec::new(), true)) };
                let members = suoja_store::groups::memberships(c, t, None, Some(g), 0, 1_000, 0).await?;
                (members.iter().map(|m| m.user_id).collect(), true)
            }
        })
    }

    /// Which ticket notifications the tenant sends.
    pub async fn notification_settings(&self, scope: &Scope) -> Result<suoja_store::settings::Notifications> {
        if !scope.is_admin() {
            return Err(crate::HelpdeskError::Forbidden("only admins see the mail settings"));
        }
        // The default notification triggers hold the switches.
        self.default_triggers_present(scope.tenant).await?;
        let mut c = self.db.read().await?;
        self.settings_from_triggers(&mut c, scope.tenant).await
    }

    /// Switches the tenant's ticket notifications (admins).
    pub async fn set_notification_settings(&self, scope: &Scope, n: suoja_store::settings::Notifications) -> Result<()> {
        if !scope.is_admin() {
            return Err(crate::HelpdeskError::Forbidden("only admins change the mail settings"));
        }
        let mut tx = self.db.begin().await?;
        suoja_store::settings::set_notifications(&mut tx, scope.tenant, n, scope.actor.0, self.now()).await?;
        self.switch_default_triggers(&mut tx, scope.tenant, &n).await?;
        tx.commit().await?;
        tracing::info!(tenant.id = %scope.tenant, actor.id = %scope.actor, received = n.received, replies = n.replies, assignee = n.assignee, "notification settings changed");
        Ok(())
    }

    /// Deletes outbox messages sent or given up more than 30 days ago (the data map's
    /// retention for `mail_outbox`; their bodies went when they were sent), and the notes of
    /// privacy mail handled as long ago. Returns how many rows went.
    pub async fn purge_finished_mail(&self) -> Result<u64> {
        let before = suoja_core::Timestamp(self.now().0 - 30 * 86_400_000);
        let mut tx = self.db.begin().await?;
        let n = suoja_store::outbox::purge_finished(&mut tx, before).await? + suoja_store::mail::purge_seen(&mut tx, before).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// A person who can be written to: exists, active, not suspended, with an address.
    async fn recipient(&self, c: &mut Conn, t: TenantId, id: UserId) -> Result<Option<UserRow>> {
        Ok(suoja_store::users::by_id(c, t, id)
            .await?
            .filter(|u| u.email_enc.is_some() && u.deleted_at.is_none() && !u.suspended))
    }

    #[allow(clippy::too_many_arguments, reason = "one message: where, to whom, what kind, about which ticket, its two texts")]
    async fn queue(&self, c: &mut Conn, t: TenantId, to: &UserRow, kind: &str, ticket: i64, subject: &str, text: &str) -> Result<()> {
        self.queue_about(c, t, to, kind, Some(ticket), subject, text).await
    }

    /// Queues one message to `to` (sealed under their key), about a ticket or about nothing
    /// the outbox links (help center notices).
    #[allow(clippy::too_many_arguments, reason = "one message: where, to whom, what kind, about which ticket, its two texts")]
    pub(crate) async fn queue_about(&self, c: &mut Conn, t: TenantId, to: &UserRow, kind: &str, ticket: Option<i64>, subject: &str, text: &str) -> Result<()> {
        let body = json!({ "subject": subject, "text": text }).to_string();
        let sealed = self.vault.encrypt_str(c, t, to.key_id, &body).await?;
        suoja_store::outbox::insert_about(c, t, to.id.0, kind, ticket, sealed, self.now()).await?;
        Ok(())
    }

    /// A trigger's webhook body filled in for the ticket as it is: each placeholder's value as
    /// the contents of a JSON string (quotes and line breaks escaped), a restricted person's as
    /// nothing. Returns the body, the people it discloses (the requester or assignee it names)
    /// and the categories of their data it holds.
    pub(crate) async fn webhook_body(&self, c: &mut Conn, t: TenantId, ticket: &TicketRow, template: &str) -> Result<(String, Vec<i64>, Vec<&'static str>)> {
        let subject = match &ticket.subject_enc {
            Some(s) if template.contains("ticket.title") => self.vault.decrypt_str(c, t, s).await?,
            _ => String::new(),
        };
        let needs = |p: &str| template.contains(p);
        let mut names = Names::default();
        names.load(self, c, t, ticket, UserId(0), &needs).await?;
        // The receiving system reads as staff do (as the ticket events it gets).
        let viewer = Viewer {
            id: UserId(0),
            end_user: false,
            actor: UserId(0),
        };
        // The placeholders the body really fills in, not words that look like them.
        let used: std::cell::RefCell<Vec<String>> = std::cell::RefCell::default();
        let value = |name: &str| {
            used.borrow_mut().push(name.to_string());
            let v = names.value(name, ticket, &subject, "", &viewer)?;
            let quoted = serde_json::to_string(&v).ok()?;
            quoted.get(1..quoted.len().saturating_sub(1)).map(str::to_string)
        };
        let body = crate::rules::macros::fill(template, &value, false);
        let used = used.into_inner();
        let uses = |prefix: &str| used.iter().any(|u| u.starts_with(prefix));
        let mut subjects = Vec::new();
        let mut categories = Vec::new();
        for (prefix, person, id) in [
            ("ticket.requester.", &names.requester, Some(ticket.requester_id)),
            ("ticket.assignee.", &names.assignee, ticket.assignee_id),
        ] {
            if uses(prefix)
                && let (Some(p), Some(id)) = (person, id)
                && !p.restricted
            {
                subjects.push(id.0);
            }
        }
        if uses("ticket.requester.") || uses("ticket.assignee.") {
            categories.push("identifier");
        }
        if used.iter().any(|u| u.ends_with(".email")) {
            categories.push("contact");
        }
        if uses("ticket.title") {
            if !subjects.contains(&ticket.requester_id.0) {
                subjects.push(ticket.requester_id.0);
            }
            categories.push("content");
        }
        Ok((body, subjects, categories))
    }

    /// A person who can be sent mail now (`None` when they cannot).
    pub async fn mail_recipient(&self, c: &mut Conn, t: TenantId, id: UserId) -> Result<Option<UserRow>> {
        self.recipient(c, t, id).await
    }
}

/// Who a message is for, as placeholders see it.
struct Viewer {
    id: UserId,
    end_user: bool,
    /// Who made the update.
    actor: UserId,
}

/// The names placeholders ask for, read once per update.
#[derive(Default)]
struct Names {
    loaded: bool,
    requester: Option<Person>,
    assignee: Option<Person>,
    me: Option<Person>,
    group: Option<String>,
}

/// A person placeholders may name, as they are now.
struct Person {
    name: String,
    email: String,
    /// Staff now (an assignee demoted since is not).
    staff: bool,
    /// Their processing is restricted: no placeholder names them.
    restricted: bool,
}

impl Names {
    async fn load(&mut self, hd: &Helpdesk, c: &mut Conn, t: TenantId, ticket: &TicketRow, actor: UserId, needs: &(dyn Fn(&str) -> bool + Sync)) -> Result<()> {
        if self.loaded || !(needs("ticket.requester.") || needs("ticket.assignee.") || needs("current_user.") || needs("ticket.group.")) {
            return Ok(());
        }
        self.loaded = true;
        for (slot, who) in [(0, Some(ticket.requester_id)), (1, ticket.assignee_id), (2, Some(actor))] {
            let Some(who) = who else { continue };
            let Some(u) = suoja_store::users::by_id(c, t, who).await? else { continue };
            let name = hd.vault.decrypt_str(c, t, &u.name_enc).await?;
            let email = match &u.email_enc {
                Some(e) => hd.vault.decrypt_str(c, t, e).await?,
                None => String::new(),
            };
            let v = Some(Person {
                name,
                email,
                staff: u.role.is_staff(),
                restricted: u.restricted,
            });
            match slot {
                0 => self.requester = v,
                1 => self.assignee = v,
                _ => self.me = v,
            }
        }
        if let Some(g) = ticket.group_id {
            self.group = suoja_store::groups::by_id(c, t, g).await?.map(|g| g.name);
        }
        Ok(())
    }

    /// A placeholder's value for `viewer`. An end user reads no one else's name or address but
    /// staff's names (which the tickets they see show): the requester's details only when they
    /// are the requester, an end user who made the update only when it is them. No one reads a
    /// restricted person's details.
    fn value(&self, name: &str, ticket: &TicketRow, subject: &str, latest: &str, viewer: &Viewer) -> Option<String> {
        let first = |n: &str| n.split_whitespace().next().unwrap_or("").to_string();
        let of = |p: &Person, part: &str| -> String {
            match part {
                "name" => p.name.clone(),
                "first_name" => first(&p.name),
                "email" => p.email.clone(),
                _ => String::new(),
            }
        };
        Some(match name {
            "ticket.id" => ticket.id.0.to_string(),
            "ticket.title" => subject.to_string(),
            "ticket.status" => ticket.status.as_str().to_string(),
            "ticket.priority" => ticket.priority.clone().unwrap_or_default(),
            "ticket.latest_comment" => latest.to_string(),
            "ticket.group.name" => self.group.clone().unwrap_or_default(),
            n => {
                let (who, part) = n.rsplit_once('.')?;
                let (person, id) = match who {
                    "ticket.requester" => (&self.requester, Some(ticket.requester_id)),
                    "ticket.assignee" => (&self.assignee, ticket.assignee_id),
                    "current_user" => (&self.me, Some(viewer.actor)),
                    _ => return None,
                };
                let Some(p) = person.as_ref().filter(|p| !p.restricted) else {
                    return Some(String::new());
                };
                let themselves = id == Some(viewer.id);
                if !viewer.end_user || themselves || (p.staff && part != "email") {
                    of(p, part)
                } else {
                    String::new()
                }
            }
        })
    }
}
