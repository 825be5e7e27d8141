//! The original e-mail a comment came from, as received: for staff who need to see what the
//! message really said (headers, every part). Reading it is noted in the consultation log like
//! any staff read of a person's data. And the ticket's mail that never reached its recipient.

use suoja_core::{CommentId, Personal, Scope, TicketId, Timestamp, UserId};

use crate::{Helpdesk, HelpdeskError, Result};

impl Helpdesk {
    /// The raw message comment `comment` of ticket `ticket` came from. Staff only; the ticket
    /// must be one the scope may see. Not found once the comment (or its files) was redacted.
    pub async fn original_mail(&self, scope: &Scope, ticket: TicketId, comment: CommentId) -> Result<Personal<Vec<u8>>> {
        if !scope.is_staff() {
            return Err(HelpdeskError::NotFound("Message"));
        }
        let mut c = self.db.read().await?;
        self.visible_row(&mut c, scope, ticket).await?;
        let m = suoja_store::mail::for_comment(&mut c, scope.tenant, comment.0)
            .await?
            .filter(|m| m.ticket_id == ticket.0)
            .ok_or(HelpdeskError::NotFound("Message"))?;
        let sealed = self
            .db
            .blobs()
            .content(m.blob_key.as_deref(), m.raw_enc)
            .await?
            .ok_or(HelpdeskError::NotFound("Message"))?;
        let raw = self.vault.decrypt(&mut c, scope.tenant, &sealed).await?;
        self.consulted(scope, &[UserId(m.user_id)], "mail.original_viewed", "support");
        Ok(Personal::new(raw))
    }
}

/// A message about a ticket that never reached its recipient.
#[derive(Debug, Clone)]
pub struct Undelivered {
    /// Who it was for.
    pub recipient: UserId,
    /// What it was (`ticket_reply`, …).
    pub kind: String,
    /// The mail server's status code, or `bounced 5.1.1`.
    pub error: String,
    /// When it was queued.
    pub queued: Timestamp,
}

impl Helpdesk {
    /// The ticket's messages that failed for good (refused, given up, or bounced). Staff only.
    pub async fn undelivered_mail(&self, scope: &Scope, ticket: TicketId) -> Result<Vec<Undelivered>> {
        if !scope.is_staff() {
            return Err(HelpdeskError::NotFound("Ticket"));
        }
        let mut c = self.db.read().await?;
        Ok(suoja_store::outbox::failures_for_ticket(&mut c, scope.tenant, ticket.0)
            .await?
            .into_iter()
            .map(|m| Undelivered {
                recipient: UserId(m.user_id),
                kind: m.kind,
                error: m.error.unwrap_or_default(),
                queued: m.created_at,
            })
            .collect())
    }
}
