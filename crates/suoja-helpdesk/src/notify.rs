//! Ticket notifications by e-mail: who is told what when a ticket is opened, answered or
//! assigned, in each recipient's language. They are queued in the outbox inside the change's
//! transaction (sealed under the recipient's key, so erasing the recipient erases them) and sent
//! by the mail sender; nothing is queued unless the installation sends mail.
//!
//! - A new ticket: the requester gets an acknowledgement (without their words), the assignee
//!   (when it is not the person who opened it) a notice with them.
//! - A public reply: the requester and the ticket's CCs get it, never its own author.
//! - An internal note reaches no one outside staff: only the assignee is told of it.
//! - A new assignee is told (unless they assigned themselves).

use std::collections::BTreeSet;

use serde_json::json;
use suoja_core::{Role, Scope, TenantId, UserId};
use suoja_store::Conn;
use suoja_store::tickets::TicketRow;
use suoja_store::users::UserRow;

use crate::{Helpdesk, Result};

/// What happened to a ticket.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Event<'a> {
    /// Opened, with its first comment.
    Opened { text: &'a str },
    /// A comment added: public (a reply) or an internal note.
    Commented { text: &'a str, public: bool },
    /// Given a new assignee.
    Assigned,
}

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
    /// Queues the notifications `event` calls for, in the caller's transaction.
    /// Returns who was told what (the outbox kind and the recipient), for the ticket's audit.
    pub(crate) async fn notify(&self, c: &mut Conn, scope: &Scope, ticket: &TicketRow, event: Event<'_>) -> Result<Vec<(&'static str, UserId)>> {
        let mut told = Vec::new();
        if !self.notifications {
            return Ok(told);
        }
        let t = scope.tenant;
        let on = suoja_store::settings::notifications(c, t).await?;
        let subject = match &ticket.subject_enc {
            Some(s) => self.vault.decrypt_str(c, t, s).await?,
            None => String::new(),
        };
        let id = ticket.id.0;
        match event {
            Event::Opened { text } => {
                if on.received
                    && let Some(r) = self.recipient(c, t, ticket.requester_id).await?
                {
                    // Their words are not quoted back: a forged sender would otherwise have the
                    // helpdesk mail any text to any address.
                    let (subj, body) = if finnish(&r) {
                        (
                            format!("[#{id}] Pyyntösi on vastaanotettu: {subject}"),
                            format!("Hei,\n\nsaimme pyyntösi (numero {id}). Vastaamme pian; voit lisätä tietoja vastaamalla tähän viestiin.\n"),
                        )
                    } else {
                        (
                            format!("[#{id}] We received your request: {subject}"),
                            format!("Hello,\n\nwe received your request (number {id}) and will answer soon; reply to this message to add to it.\n"),
                        )
                    };
                    self.queue(c, t, &r, kinds::RECEIVED, id, &subj, &body).await?;
                    told.push((kinds::RECEIVED, r.id));
                }
                if let Some(a) = ticket.assignee_id.filter(|a| on.assignee && *a != scope.actor)
                    && self.tell_assignee(c, t, a, id, &subject, text).await?
                {
                    told.push((kinds::ASSIGNEE, a));
                }
            }
            Event::Commented { text, public } => {
                if public && on.replies {
                    let mut to: BTreeSet<UserId> = BTreeSet::from([ticket.requester_id]);
                    for (_, user, kind) in suoja_store::tickets::collaborators(c, t, &[ticket.id]).await? {
                        if kind != "follower" {
                            to.insert(user);
                        }
                    }
                    to.remove(&scope.actor);
                    for u in to {
                        let Some(r) = self.recipient(c, t, u).await? else { continue };
                        let (subj, body) = if finnish(&r) {
                            (
                                format!("[#{id}] Vastaus pyyntöösi: {subject}"),
                                format!("{text}\n\n--\nVastaa tähän viestiin lisätäksesi pyyntöön {id}.\n"),
                            )
                        } else {
                            (
                                format!("[#{id}] Re: {subject}"),
                                format!("{text}\n\n--\nReply to this message to add to request {id}.\n"),
                            )
                        };
                        self.queue(c, t, &r, kinds::REPLY, id, &subj, &body).await?;
                        told.push((kinds::REPLY, r.id));
                    }
                }
                if let Some(a) = ticket.assignee_id.filter(|a| on.assignee && *a != scope.actor)
                    && self.tell_assignee(c, t, a, id, &subject, text).await?
                {
                    told.push((kinds::ASSIGNEE, a));
                }
            }
            Event::Assigned => {
                if let Some(a) = ticket.assignee_id.filter(|a| on.assignee && *a != scope.actor)
                    && self.tell_assignee(c, t, a, id, &subject, "").await?
                {
                    told.push((kinds::ASSIGNEE, a));
                }
            }
        }
        Ok(told)
    }

    /// Tells the assignee; returns whether a message was queued.
    async fn tell_assignee(&self, c: &mut Conn, t: TenantId, assignee: UserId, id: i64, subject: &str, text: &str) -> Result<bool> {
        let Some(r) = self.recipient(c, t, assignee).await? else {
            return Ok(false);
        };
        if r.role == Role::EndUser {
            return Ok(false);
        }
        let (subj, body) = if finnish(&r) {
            (
                format!("[#{id}] Sinulle osoitettu pyyntö päivittyi: {subject}"),
                format!("Pyyntö {id} on osoitettu sinulle.\n\n{text}\n"),
            )
        } else {
            (
                format!("[#{id}] Assigned to you: {subject}"),
                format!("Request {id} is assigned to you.\n\n{text}\n"),
            )
        };
        self.queue(c, t, &r, kinds::ASSIGNEE, id, &subj, &body).await?;
        Ok(true)
    }

    /// Which ticket notifications the tenant sends.
    pub async fn notification_settings(&self, scope: &Scope) -> Result<suoja_store::settings::Notifications> {
        if !scope.is_admin() {
            return Err(crate::HelpdeskError::Forbidden("only admins see the mail settings"));
        }
        let mut c = self.db.read().await?;
        Ok(suoja_store::settings::notifications(&mut c, scope.tenant).await?)
    }

    /// Switches the tenant's ticket notifications (admins).
    pub async fn set_notification_settings(&self, scope: &Scope, n: suoja_store::settings::Notifications) -> Result<()> {
        if !scope.is_admin() {
            return Err(crate::HelpdeskError::Forbidden("only admins change the mail settings"));
        }
        let mut tx = self.db.begin().await?;
        suoja_store::settings::set_notifications(&mut tx, scope.tenant, n, scope.actor.0, self.now()).await?;
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

    /// A person who can be sent mail now (`None` when they cannot).
    pub async fn mail_recipient(&self, c: &mut Conn, t: TenantId, id: UserId) -> Result<Option<UserRow>> {
        self.recipient(c, t, id).await
    }
}
