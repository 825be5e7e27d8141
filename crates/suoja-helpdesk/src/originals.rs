//! The original e-mail a comment came from, as received: for staff who need to see what the
//! message really said (headers, every part). Reading it is noted in the consultation log like
//! any staff read of a person's data.

use suoja_core::{CommentId, Personal, Scope, TicketId, UserId};

use crate::{Helpdesk, HelpdeskError, Result};

impl Helpdesk {
    /// The raw message comment `comment` of ticket `ticket` came from. Staff only; the ticket
    /// must be one the scope may see. Not found once the comment (or its files) was redacted.
    pub async fn original_mail(&self, scope: &Scope, ticket: TicketId, comment: CommentId) -> Result<Personal<Vec<u8>>> {
        if !scope.is_staff() {
            return Err(HelpdeskError::NotFound("Message"));
        }
        let mut c = self.db.read().await?;
        let row = suoja_store::tickets::by_id(&mut c, scope.tenant, ticket)
            .await?
            .filter(|t| t.deleted_at.is_none())
            .ok_or(HelpdeskError::NotFound("Ticket"))?;
        if !self.can_see(&mut c, scope, &row).await? {
            return Err(HelpdeskError::NotFound("Ticket"));
        }
        let m = suoja_store::mail::for_comment(&mut c, scope.tenant, comment.0)
            .await?
            .filter(|m| m.ticket_id == ticket.0)
            .ok_or(HelpdeskError::NotFound("Message"))?;
        let raw = self.vault.decrypt(&mut c, scope.tenant, &m.raw_enc).await?;
        self.consulted(scope, &[UserId(m.user_id)], "mail.original_viewed", "support");
        Ok(Personal::new(raw))
    }
}
