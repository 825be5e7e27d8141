//! Finding tickets by their external id (Zendesk's `GET /tickets?external_id=`). External ids
//! are sealed like the rest of a ticket, so a ticket is found through one keyed term of the
//! whole id in its index entries, then opened and compared; tickets from before that term
//! existed are indexed by it once, at the server's start.

use suoja_core::{Scope, TicketId};

use crate::model::Ticket;
use crate::{Helpdesk, HelpdeskError, Result};

/// Longest external id looked up, in characters (as long as a ticket's may be).
const MAX_EXTERNAL_ID: usize = 1024;

impl Helpdesk {
    /// The live tickets (not in the trash, not restricted) the caller may see whose external
    /// id is `external_id`, compared without regard to case, by id.
    pub async fn tickets_by_external_id(&self, scope: &Scope, external_id: &str) -> Result<Vec<Ticket>> {
        crate::require_staff(scope)?;
        if external_id.trim().is_empty() || external_id.chars().count() > MAX_EXTERNAL_ID {
            return Err(HelpdeskError::invalid("external_id", "external_id: give 1 to 1024 characters"));
        }
        let mut c = self.db.read().await?;
        let h = self.vault.search_hasher(&mut c, scope.tenant).await?;
        let token = h.token(&suoja_search::index::external_id_term(external_id));
        let found = suoja_search::index::all_of(&mut c, scope.tenant, suoja_search::DocKind::Ticket, &[token]).await?;
        let ids: Vec<TicketId> = found.into_iter().map(TicketId).collect();
        let wanted = external_id.to_lowercase();
        let mut out = Vec::new();
        for chunk in ids.chunks(500) {
            for row in suoja_store::tickets::by_ids(&mut c, scope.tenant, chunk).await? {
                let Ok(row) = self.visible(&mut c, scope, Some(row)).await else { continue };
                let ticket = self.open_ticket_full(&mut c, scope, &row).await?;
                if ticket.external_id.as_ref().is_some_and(|x| x.expose().to_lowercase() == wanted) {
                    out.push(ticket);
                }
            }
        }
        out.sort_by_key(|t| t.id);
        self.consulted_tickets(scope, &out, "ticket.viewed", "support");
        Ok(out)
    }

    /// Indexes by their external ids the tickets of tenants the migration listed; returns how
    /// many tickets were indexed again. Run at the start, before the server answers.
    pub async fn backfill_external_id_index(&self) -> Result<u64> {
        let pending = {
            let mut c = self.db.read().await?;
            suoja_store::tickets::external_id_backfill_pending(&mut c).await?
        };
        let mut done = 0;
        for tenant in pending {
            let mut after = 0;
            loop {
                let mut tx = self.db.begin().await?;
                let ids = suoja_store::tickets::ids_with_external_id_after(&mut tx, tenant, after, 500).await?;
                let Some(last) = ids.last() else {
                    suoja_store::tickets::external_id_backfill_done(&mut tx, tenant).await?;
                    tx.commit().await?;
                    break;
                };
                after = *last;
                for id in ids {
                    match self.reindex_ticket(&mut tx, tenant, TicketId(id)).await {
                        Ok(()) => done += 1,
                        // Crypto-shredded: nothing is left to find it by.
                        Err(HelpdeskError::Vault(suoja_vault::VaultError::KeyDestroyed(_))) => {}
                        Err(e) => return Err(e),
                    }
                }
                tx.commit().await?;
            }
        }
        Ok(done)
    }
}
