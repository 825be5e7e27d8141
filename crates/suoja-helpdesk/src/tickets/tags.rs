//! The tag blind index: a keyed hash of each tag on a ticket, written with the ticket's sealed
//! tags in one transaction. Legal holds by tag find their tickets here, not in the search index
//! (derived data that a restore rebuilds and a re-index empties for a while). And the tenant's
//! popular tags (Zendesk's `GET /tags`), counted from the sealed tags of recent tickets: tags
//! are sealed with each ticket, so there is no list of them to read.

use suoja_core::{TenantId, TicketId};
use suoja_store::Conn;

use crate::{Helpdesk, Result};

/// The blind index input of a tag: a prefix keeps it apart from e-mail addresses, which share
/// the tenant's blind-index key.
fn tag_input(tag: &str) -> String {
    format!("ticket-tag\u{1f}{tag}")
}

/// How far back the popular tags look: 60 days, as Zendesk's list does.
pub const POPULAR_TAGS_DAYS: i64 = 60;

/// The most tickets whose tags are counted (the newest changed); the count says so past it.
pub const POPULAR_TAGS_TICKETS: i64 = 10_000;

/// How long a count of popular tags is kept, per server.
const POPULAR_TAGS_KEPT: std::time::Duration = std::time::Duration::from_secs(60);

/// The tenant's tags in use, most used first.
#[derive(Debug, Clone)]
pub struct PopularTags {
    /// Each tag and the tickets carrying it, by count then name.
    pub tags: Vec<(String, i64)>,
    /// Whether more tickets changed in the window than were counted.
    pub capped: bool,
    /// When they were counted.
    pub counted_at: suoja_core::Timestamp,
}

/// Popular tags kept per tenant for [`POPULAR_TAGS_KEPT`], and the lock one count holds.
#[derive(Debug, Default)]
pub(crate) struct PopularTagsCache {
    kept: std::sync::Mutex<std::collections::HashMap<TenantId, (std::time::Instant, std::sync::Arc<PopularTags>)>>,
    counting: tokio::sync::Mutex<()>,
}

impl PopularTagsCache {
    fn get(&self, tenant: TenantId) -> Option<std::sync::Arc<PopularTags>> {
        let kept = self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        kept.get(&tenant).filter(|(at, _)| at.elapsed() < POPULAR_TAGS_KEPT).map(|(_, t)| t.clone())
    }

    fn put(&self, tenant: TenantId, tags: std::sync::Arc<PopularTags>) {
        let mut kept = self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if kept.len() >= 10_000 && !kept.contains_key(&tenant) {
            kept.clear();
        }
        kept.insert(tenant, (std::time::Instant::now(), tags));
    }
}

impl Helpdesk {
    /// The tags of the tickets changed in the last 60 days (staff), most used first: trashed
    /// and restricted tickets are not counted, and at most the newest 10 000 tickets are. A
    /// count is kept a minute per server, and callers asking at once share one count.
    pub async fn popular_tags(&self, scope: &suoja_core::Scope) -> Result<std::sync::Arc<PopularTags>> {
        crate::require_staff(scope)?;
        if let Some(kept) = self.popular_tags.get(scope.tenant) {
            return Ok(kept);
        }
        let _one = self.popular_tags.counting.lock().await;
        if let Some(kept) = self.popular_tags.get(scope.tenant) {
            return Ok(kept);
        }
        let counted = std::sync::Arc::new(self.count_popular_tags(scope.tenant).await?);
        self.popular_tags.put(scope.tenant, counted.clone());
        Ok(counted)
    }

    async fn count_popular_tags(&self, tenant: TenantId) -> Result<PopularTags> {
        let scope = suoja_core::Scope::operator(tenant);
        let scope = &scope;
        let now = self.now();
        let since = suoja_core::Timestamp(now.0.saturating_sub(POPULAR_TAGS_DAYS * 86_400_000));
        let mut c = self.db.read().await?;
        let sealed = suoja_store::tickets::recent_tags(&mut c, scope.tenant, since, POPULAR_TAGS_TICKETS + 1).await?;
        let capped = suoja_core::num::to_i64(sealed.len()) > POPULAR_TAGS_TICKETS;
        let mut counts: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
        for s in sealed.iter().take(suoja_core::num::to_usize(POPULAR_TAGS_TICKETS)) {
            let tags: Vec<String> = crate::crypt::open_json(&self.vault, &mut c, scope.tenant, s).await?;
            for t in tags {
                *counts.entry(t).or_default() += 1;
            }
        }
        let mut tags: Vec<(String, i64)> = counts.into_iter().collect();
        tags.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(PopularTags { tags, capped, counted_at: now })
    }

    /// Writes a ticket's tag rows for its (normalised) tags, replacing any it had.
    pub async fn set_ticket_tags(&self, c: &mut Conn, tenant: TenantId, id: TicketId, tags: &[String]) -> Result<()> {
        let hashes = self.tag_hashes(c, tenant, tags).await?;
        suoja_store::tickets::set_tag_hashes(c, tenant, id, &hashes).await?;
        Ok(())
    }

    /// Gives a new ticket (no tag rows yet) the tag rows of `tags`.
    pub(crate) async fn add_new_ticket_tags(&self, c: &mut Conn, tenant: TenantId, id: TicketId, tags: &[String]) -> Result<()> {
        if tags.is_empty() {
            return Ok(());
        }
        let hashes = self.tag_hashes(c, tenant, tags).await?;
        suoja_store::tickets::add_tag_hashes(c, tenant, id, &hashes).await?;
        Ok(())
    }

    /// The keyed hashes the tag rows of `tags` hold.
    pub(crate) async fn tag_hashes(&self, c: &mut Conn, tenant: TenantId, tags: &[String]) -> Result<Vec<Vec<u8>>> {
        let mut hashes = Vec::with_capacity(tags.len());
        for t in tags {
            hashes.push(self.vault.blind_index(c, tenant, &tag_input(t)).await?);
        }
        hashes.sort();
        hashes.dedup();
        Ok(hashes)
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
