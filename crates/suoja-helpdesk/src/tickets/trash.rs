//! The ticket trash: soft deletion, restore, and permanent deletion (which removes comments,
//! attachments, links and index entries in one transaction). Trashed tickets are purged for
//! good after [`TRASH_DAYS`], unless a legal hold keeps them.

use crate::{Helpdesk, HelpdeskError, Result};
use suoja_core::{Scope, TicketId};

/// Days a deleted ticket stays restorable.
pub const TRASH_DAYS: i64 = 7;

impl Helpdesk {
    /// Moves a ticket to the trash.
    pub async fn delete_ticket(&self, scope: &Scope, id: TicketId) -> Result<()> {
        crate::require_staff(scope)?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let mut row = suoja_store::tickets::by_id(&mut tx, scope.tenant, id)
            .await?
            .filter(|t| t.deleted_at.is_none())
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
        crate::require_staff(scope)?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let mut row = suoja_store::tickets::by_id(&mut tx, scope.tenant, id)
            .await?
            .filter(|t| t.deleted_at.is_some())
            .ok_or(HelpdeskError::NotFound("Ticket"))?;
        row.deleted_at = None;
        row.deleted_by = None;
        row.updated_at = now;
        suoja_store::tickets::update(&mut tx, scope.tenant, &row).await?;
        tx.commit().await?;
        tracing::info!(tenant.id = %scope.tenant, ticket.id = %id, actor.id = %scope.actor, "ticket restored");
        Ok(())
    }

    /// Deletes a trashed ticket for good.
    pub async fn purge_ticket(&self, scope: &Scope, id: TicketId) -> Result<()> {
        crate::require_staff(scope)?;
        let mut tx = self.db.begin().await?;
        suoja_store::tickets::by_id(&mut tx, scope.tenant, id)
            .await?
            .filter(|t| t.deleted_at.is_some())
            .ok_or(HelpdeskError::NotFound("Ticket"))?;
        if self.ticket_held(&mut tx, scope.tenant, id).await? {
            return Err(HelpdeskError::Conflict(
                "the ticket is under a legal hold and cannot be deleted until the hold ends".into(),
            ));
        }
        crate::erase::purge_ticket_rows(&mut tx, scope.tenant, id).await?;
        tx.commit().await?;
        suoja_store::dialect::checkpoint(&self.db).await?;
        tracing::info!(tenant.id = %scope.tenant, ticket.id = %id, actor.id = %scope.actor, "ticket deleted permanently");
        Ok(())
    }

    /// Trash older than [`TRASH_DAYS`] is deleted for good, in every tenant (tickets under a
    /// legal hold stay); returns how many tickets went. The worker runs this.
    pub async fn purge_expired_trash(&self) -> Result<usize> {
        let cutoff = self.now().0 - TRASH_DAYS * 86_400_000;
        let mut c = self.db.read().await?;
        let tenants = suoja_store::tenants::ids(&mut c).await?;
        let f = suoja_store::tickets::TicketFilter {
            deleted: true,
            include_restricted: true,
            ..Default::default()
        };
        let mut expired = Vec::new();
        for t in tenants {
            let rows = suoja_store::tickets::list(&mut c, t, &f, suoja_store::tickets::TicketSort::Id, 100_000, 0).await?;
            expired.extend(rows.into_iter().filter(|r| r.deleted_at.is_some_and(|d| d.0 <= cutoff)).map(|r| (t, r.id)));
        }
        drop(c);
        let mut n = 0;
        for (tenant, id) in expired {
            let mut tx = self.db.begin().await?;
            if self.ticket_held(&mut tx, tenant, id).await? {
                continue;
            }
            crate::erase::purge_ticket_rows(&mut tx, tenant, id).await?;
            tx.commit().await?;
            tracing::info!(tenant.id = %tenant, ticket.id = %id, "ticket deleted from the trash after {TRASH_DAYS} days");
            n += 1;
        }
        if n > 0 {
            suoja_store::dialect::checkpoint(&self.db).await?;
        }
        Ok(n)
    }
}
