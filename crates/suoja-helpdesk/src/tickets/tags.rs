//! The tag blind index: a keyed hash of each tag on a ticket, written with the ticket's sealed
//! tags in one transaction. Legal holds by tag find their tickets here, not in the search index
//! (derived data that a restore rebuilds and a re-index empties for a while).

use suoja_core::{TenantId, TicketId};
use suoja_store::Conn;

use crate::{Helpdesk, Result};

/// The blind index input of a tag: a prefix keeps it apart from e-mail addresses, which share
/// the tenant's blind-index key.
fn tag_input(tag: &str) -> String {
    format!("ticket-tag\u{1f}{tag}")
}

impl Helpdesk {
    /// Writes a ticket's tag rows for its (normalised) tags, replacing any it had.
    pub async fn set_ticket_tags(&self, c: &mut Conn, tenant: TenantId, id: TicketId, tags: &[String]) -> Result<()> {
        let mut hashes = Vec::with_capacity(tags.len());
        for t in tags {
            hashes.push(self.vault.blind_index(c, tenant, &tag_input(t)).await?);
        }
        suoja_store::tickets::set_tag_hashes(c, tenant, id, &hashes).await?;
        Ok(())
    }

    /// Tickets (trashed ones included) carrying `tag` (normalised as tags are), by id.
    pub async fn tickets_with_tag(&self, c: &mut Conn, tenant: TenantId, tag: &str) -> Result<Vec<i64>> {
        let Some(tag) = crate::users::normalize_tags(&[tag.to_string()]).into_iter().next() else {
            return Ok(Vec::new());
        };
        let hash = self.vault.blind_index(c, tenant, &tag_input(&tag)).await?;
        Ok(suoja_store::tickets::with_tag_hash(c, tenant, &hash).await?)
    }

    /// Fills in the tag rows of tickets from before the tag blind index, once per tenant (run at
    /// start; a ticket whose key is gone has nothing left to hold and is skipped). Returns the
    /// tickets read.
    pub async fn backfill_ticket_tags(&self) -> Result<u64> {
        let pending = {
            let mut c = self.db.read().await?;
            suoja_store::tickets::tag_backfill_pending(&mut c).await?
        };
        let mut done = 0;
        for tenant in pending {
            let mut after = 0;
            loop {
                let mut tx = self.db.begin().await?;
                let ids = suoja_store::tickets::ids_after(&mut tx, tenant, after, 500).await?;
                let Some(last) = ids.last() else {
                    suoja_store::tickets::tag_backfill_done(&mut tx, tenant).await?;
                    tx.commit().await?;
                    break;
                };
                after = *last;
                for id in ids {
                    let Some(row) = suoja_store::tickets::by_id(&mut tx, tenant, TicketId(id)).await? else {
                        continue;
                    };
                    match crate::crypt::open_json::<Vec<String>>(&self.vault, &mut tx, tenant, &row.tags_enc).await {
                        Ok(tags) => self.set_ticket_tags(&mut tx, tenant, row.id, &tags).await?,
                        // Crypto-shredded: nothing is left to hold. Any other failure stops
                        // the start, and the tenant stays on the list for the next one.
                        Err(crate::HelpdeskError::Vault(suoja_vault::VaultError::KeyDestroyed(_))) => continue,
                        Err(e) => return Err(e),
                    }
                    done += 1;
                }
                tx.commit().await?;
            }
        }
        Ok(done)
    }
}
