//! Row-level erasure primitives that the privacy engine's erasure pipeline composes: deleting a
//! ticket with everything on it, replacing a comment by a tombstone, redacting a person's
//! identifiers inside other people's text, and removing a profile. Each works inside the
//! caller's transaction and is idempotent (running it twice changes nothing the second time),
//! so an interrupted erasure can simply run its step again.

use suoja_core::{KeyId, TenantId, TicketId, UserId};
use suoja_store::AnyConnection;

use crate::search::{DOC_TICKET, DOC_USER};
use crate::{Helpdesk, Result};

/// What a comment says once its author was erased: the thread keeps its order and shape.
pub const TOMBSTONE: &str = "[removed at the person's request]";

/// What replaces a person's identifier inside someone else's text.
pub const REDACTED: &str = "[redacted]";

/// Rows removed with one ticket.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    /// Ticket rows (0 when it was already gone).
    pub tickets: u64,
    /// Comments and internal notes.
    pub comments: u64,
    /// Attachments.
    pub attachments: u64,
    /// CC and follower links.
    pub links: u64,
}

/// Deletes a ticket and everything on it (comments, notes, attachments, links, index entries) in
/// the caller's transaction. Shared by permanent deletion from the trash and by erasure.
pub async fn purge_ticket_rows(c: &mut AnyConnection, tenant: TenantId, id: TicketId) -> Result<Purged> {
    let attachments = suoja_store::graph::delete_linked(c, tenant, "attachments", "ticket_id", &[id.0]).await?;
    let comments = suoja_store::comments::delete_for_ticket(c, tenant, id).await?;
    let links = suoja_store::graph::delete_linked(c, tenant, "ticket_collaborators", "ticket_id", &[id.0]).await?;
    suoja_store::search::remove(c, tenant, DOC_TICKET, id.0).await?;
    suoja_store::history::delete_for_ticket(c, tenant, id).await?;
    let tickets = u64::from(suoja_store::tickets::delete(c, tenant, id).await?);
    Ok(Purged {
        tickets,
        comments,
        attachments,
        links,
    })
}

/// Replaces `s`'s occurrences of each identifier (case-insensitively) with [`REDACTED`].
/// Returns the new text if anything changed.
pub fn redact_identifiers(s: &str, identifiers: &[String]) -> Option<String> {
    let mut out = s.to_string();
    let mut changed = false;
    for ident in identifiers.iter().filter(|i| !i.trim().is_empty()) {
        loop {
            let lowered = out.to_lowercase();
            let needle = ident.to_lowercase();
            // Byte positions agree only when lower-casing kept every length; otherwise match exactly.
            let found = if lowered.len() == out.len() {
                lowered.find(&needle)
            } else {
                out.find(ident.as_str())
            };
            let Some(at) = found else { break };
            let end = at + needle.len();
            if !out.is_char_boundary(at) || !out.is_char_boundary(end) {
                break;
            }
            out.replace_range(at..end, REDACTED);
            changed = true;
        }
    }
    changed.then_some(out)
}

/// Appends JSON lines to the erasure ledger file (creating it and its directory) and syncs it.
/// The file lists completed erasures and redactions by id, to be applied again after a restore.
pub fn append_ledger_lines(path: &std::path::Path, lines: &[serde_json::Value]) -> std::io::Result<()> {
    use std::io::Write as _;
    if lines.is_empty() {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut buf = Vec::new();
    for l in lines {
        serde_json::to_writer(&mut buf, l)?;
        buf.push(b'\n');
    }
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    f.write_all(&buf)?;
    f.sync_all()
}

impl Helpdesk {
    /// Replaces a comment's text with [`TOMBSTONE`], sealed under `ticket_key` (the ticket's
    /// key, not the erased author's), and drops its HTML. Returns whether the comment exists.
    pub async fn tombstone_comment(&self, c: &mut AnyConnection, tenant: TenantId, id: i64, ticket_key: KeyId) -> Result<bool> {
        let body = self.vault.encrypt_str(c, tenant, ticket_key, TOMBSTONE).await?;
        let done = suoja_store::comments::rekey(c, tenant, suoja_core::CommentId(id), ticket_key, body, None).await?;
        Ok(done)
    }

    /// Redacts `identifiers` in the given comments of one ticket and in the ticket's subject and
    /// description, re-sealing each changed value under its own key, then rebuilds the ticket's
    /// index entries. Returns how many comments changed.
    pub async fn redact_in_ticket(
        &self,
        c: &mut AnyConnection,
        tenant: TenantId,
        ticket: TicketId,
        comment_ids: &[i64],
        identifiers: &[String],
    ) -> Result<u64> {
        let Some(mut row) = suoja_store::tickets::by_id(c, tenant, ticket).await? else {
            return Ok(0);
        };
        let mut changed = 0;
        let comments = suoja_store::comments::for_ticket(c, tenant, ticket, suoja_store::comments::CommentQuery::ALL).await?;
        for m in comments.iter().filter(|m| comment_ids.contains(&m.id.0)) {
            let Ok(body) = self.vault.decrypt_str(c, tenant, &m.body_enc).await else {
                continue;
            };
            let html = match m.html_enc.as_deref() {
                Some(h) => self.vault.decrypt_str(c, tenant, h).await.ok(),
                None => None,
            };
            let new_body = redact_identifiers(&body, identifiers);
            let new_html = html.as_deref().and_then(|h| redact_identifiers(h, identifiers));
            if new_body.is_none() && new_html.is_none() {
                continue;
            }
            let body_enc = self.vault.encrypt_str(c, tenant, m.key_id, new_body.as_deref().unwrap_or(&body)).await?;
            let html_enc = match new_html.or(html) {
                Some(h) => Some(self.vault.encrypt_str(c, tenant, m.key_id, &h).await?),
                None => None,
            };
            suoja_store::comments::rekey(c, tenant, m.id, m.key_id, body_enc, html_enc).await?;
            changed += 1;
        }
        let mut row_changed = false;
        if let Ok(d) = self.vault.decrypt_str(c, tenant, &row.description_enc).await
            && let Some(new) = redact_identifiers(&d, identifiers)
        {
            row.description_enc = self.vault.encrypt_str(c, tenant, row.key_id, &new).await?;
            row_changed = true;
        }
        if let Some(s) = row.subject_enc.clone()
            && let Ok(d) = self.vault.decrypt_str(c, tenant, &s).await
            && let Some(new) = redact_identifiers(&d, identifiers)
        {
            row.subject_enc = Some(self.vault.encrypt_str(c, tenant, row.key_id, &new).await?);
            row_changed = true;
        }
        if row_changed {
            suoja_store::tickets::update(c, tenant, &row).await?;
        }
        self.reindex_ticket(c, tenant, ticket).await?;
        Ok(changed)
    }

    /// Removes a person's profile: the user row, their index document and their tokens and
    /// sessions. Returns whether the row existed.
    pub async fn remove_profile(&self, c: &mut AnyConnection, tenant: TenantId, id: UserId) -> Result<bool> {
        suoja_store::tokens::delete_for_user(c, tenant, id).await?;
        suoja_store::search::remove(c, tenant, DOC_USER, id.0).await?;
        Ok(suoja_store::graph::delete_linked(c, tenant, "users", "id", &[id.0]).await? > 0)
    }

    /// Redacts `identifiers` in every organisation's name, details and notes (stored in plain
    /// form, as organisational data) and re-indexes the ones that changed; with `apply` false,
    /// only counts them. Returns how many.
    pub async fn redact_in_organizations(&self, c: &mut AnyConnection, tenant: TenantId, identifiers: &[String], apply: bool) -> Result<u64> {
        let mut changed = 0;
        let mut after = None;
        loop {
            let page = suoja_store::organizations::list(c, tenant, after, 500, 0).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id.0);
            for mut o in page {
                let name = redact_identifiers(&o.name, identifiers);
                let details = o.details.as_deref().and_then(|d| redact_identifiers(d, identifiers));
                let notes = o.notes.as_deref().and_then(|d| redact_identifiers(d, identifiers));
                if name.is_none() && details.is_none() && notes.is_none() {
                    continue;
                }
                changed += 1;
                if !apply {
                    continue;
                }
                if let Some(n) = name {
                    // Names are unique per tenant; the id keeps a redacted one unique.
                    o.name = format!("{n} #{}", o.id.0);
                }
                o.details = details.or(o.details);
                o.notes = notes.or(o.notes);
                o.updated_at = self.now();
                suoja_store::organizations::update(c, tenant, &o).await?;
                crate::search::index_doc(&self.vault, c, tenant, crate::search::DOC_ORG, o.id.0, &o.name, &[]).await?;
            }
        }
        Ok(changed)
    }

    /// Deletes a ticket with everything on it unless a legal hold keeps it (retention of closed
    /// and trashed tickets). Returns whether it was deleted.
    pub async fn purge_ticket_unless_held(&self, tenant: TenantId, id: TicketId) -> Result<bool> {
        let mut tx = self.db.begin().await?;
        if self.ticket_held(&mut tx, tenant, id).await? {
            return Ok(false);
        }
        let purged = purge_ticket_rows(&mut tx, tenant, id).await?;
        tx.commit().await?;
        Ok(purged.tickets > 0)
    }

    /// Whether a legal hold in force keeps this ticket (by its id or one of its tags).
    pub async fn ticket_held(&self, c: &mut AnyConnection, tenant: TenantId, id: TicketId) -> Result<bool> {
        let holds = suoja_store::holds::active(c, tenant, self.now()).await?;
        if holds.iter().any(|h| h.ticket_id == Some(id.0)) {
            return Ok(true);
        }
        let tags: Vec<&str> = holds.iter().filter_map(|h| h.tag.as_deref()).collect();
        if tags.is_empty() {
            return Ok(false);
        }
        let h = self.vault.search_hasher(c, tenant).await?;
        for tag in tags {
            if suoja_store::search::all_of(c, tenant, DOC_TICKET, &[h.token(&format!("tag:{tag}"))])
                .await?
                .contains(&id.0)
            {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_every_occurrence_in_any_case() {
        let ids = vec!["Ada@Example.com".to_string(), "Ada Lovelace".to_string()];
        let out = redact_identifiers("Mail ada@example.com or ADA@EXAMPLE.COM; ask ada lovelace.", &ids).unwrap();
        assert_eq!(out, "Mail [redacted] or [redacted]; ask [redacted].");
        assert_eq!(redact_identifiers("nothing here", &ids), None);
        // Text whose lower-casing changes byte lengths still loses exact matches.
        let out = redact_identifiers("İstanbul: Ada Lovelace", &ids).unwrap();
        assert_eq!(out, "İstanbul: [redacted]");
    }
}
