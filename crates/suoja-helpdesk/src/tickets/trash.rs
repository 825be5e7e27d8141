//! The ticket trash: soft deletion, restore, and permanent deletion (which removes comments,
//! attachments, links and index entries in one transaction). A restricted ticket (GDPR Art. 18)
//! is out of staff's reach here as everywhere: it answers as if it did not exist. Trashed tickets are purged for
//! good by the `deleted_tickets` retention policy (7 days at most), unless a legal hold keeps
//! them.

use crate::{Helpdesk, HelpdeskError, Result};
use suoja_core::{Scope, TicketId};

impl Helpdesk {
    /// Moves a ticket to the trash.
    pub async fn delete_ticket(&self, scope: &Scope, id: TicketId) -> Result<()> {
        crate::require_staff(scope)?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let mut row = suoja_store::tickets::by_id_for_update(&mut tx, scope.tenant, id)
            .await?
            .filter(|t| t.deleted_at.is_none() && !t.restricted)
            .ok_or(HelpdeskError::NotFound("Ticket"))?;
        row.deleted_at = Some(now);
        row.deleted_by = Some(scope.actor);
        row.updated_at = now;
        suoja_store::tickets::update(&mut tx, scope.tenant, &row).await?;
        tx.commit().await?;
        tracing::info!(tenant.id = %scope.tenant, ticket.id = %id, actor.id = %scope.actor, "ticket moved to trash");
        Ok(())
    }

    /// Restores a trashed ticket.
    pub async fn restore_ticket(&self, scope: &Scope, id: TicketId) -> Result<()> {
        self.restore_tickets(scope, &[id]).await
    }

    /// Restores trashed tickets, all or none: one that is not in the trash (or not the
    /// tenant's) answers as not found and restores nothing.
    pub async fn restore_tickets(&self, scope: &Scope, ids: &[TicketId]) -> Result<()> {
        crate::require_staff(scope)?;
        let now = self.now();
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut tx = self.db.begin().await?;
        for id in &ids {
            let mut row = suoja_store::tickets::by_id_for_update(&mut tx, scope.tenant, *id)
                .await?
                .filter(|t| t.deleted_at.is_some() && !t.restricted)
                .ok_or(HelpdeskError::NotFound("Ticket"))?;
            row.deleted_at = None;
            row.deleted_by = None;
            row.updated_at = now;
            suoja_store::tickets::update(&mut tx, scope.tenant, &row).await?;
            // Breaches to come recorded before the ticket went to the trash are called off
            // (the policies may have changed meanwhile, which the trash is not measured
            // against); what the ticket implies now is recorded again.
            suoja_store::metric_events::call_off_pending(&mut tx, scope.tenant, *id, now).await?;
            self.keep_sla(&mut tx, scope.tenant, *id, now, None).await?;
        }
        tx.commit().await?;
        let restored: Vec<i64> = ids.iter().map(|i| i.0).collect();
        tracing::info!(tenant.id = %scope.tenant, tickets = ?restored, actor.id = %scope.actor, "tickets restored");
        Ok(())
    }
}
