//! Row-level erasure primitives that the privacy engine's erasure pipeline composes: deleting a
//! ticket with everything on it, replacing a comment by a tombstone, re-indexing what the
//! privacy engine redacted, and removing a profile. Each works inside the caller's transaction
//! and is idempotent (running it twice changes nothing the second time), so an interrupted
//! erasure can simply run its step again. Finding a person in free text is not done here: that
//! is the privacy engine's identifier matcher.

use suoja_core::{KeyId, OrganizationId, TenantId, TicketId, UserId};
use suoja_search::index::{self, DocKind};
use suoja_store::Conn;

use crate::{Helpdesk, Result};

/// What a comment says once its author was erased: the thread keeps its order and shape.
pub const TOMBSTONE: &str = "[removed at the person's request]";

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
pub async fn purge_ticket_rows(c: &mut Conn, tenant: TenantId, id: TicketId) -> Result<Purged> {
    let attachments = suoja_store::graph::delete_linked(c, tenant, "attachments", "ticket_id", &[id.0]).await?;
    let comments = suoja_store::comments::delete_for_ticket(c, tenant, id).await?;
    let links = suoja_store::graph::delete_linked(c, tenant, "ticket_collaborators", "ticket_id", &[id.0]).await?;
    index::remove(c, tenant, DocKind::Ticket, id.0).await?;
    suoja_store::history::delete_for_ticket(c, tenant, id).await?;
    let tickets = u64::from(suoja_store::tickets::delete(c, tenant, id).await?);
    Ok(Purged {
        tickets,
        comments,
        attachments,
        links,
    })
}

/// The erasure ledger's file name inside a backup directory.
pub const TARGET_LEDGER: &str = "erasure-ledger.jsonl";

/// Where completed erasures and redactions are written (ids only): the data directory's
/// ledger file, and the ledger kept beside every backup — the configured backup directories
/// and every directory `suoja backup` has written to — so that whoever holds a backup
/// directory and the root key can restore without bringing anyone back.
#[derive(Debug, Clone)]
pub struct ErasureLog {
    /// The data directory's ledger file.
    pub local: std::path::PathBuf,
    /// Backup directories named in the configuration.
    pub targets: Vec<std::path::PathBuf>,
}

/// Appends JSON lines to an erasure ledger file (creating it and its directory) and syncs it.
pub fn append_ledger_lines(path: &std::path::Path, lines: &[serde_json::Value]) -> std::io::Result<()> {
    use std::io::Write as _;
    if lines.is_empty() {
        return Ok(());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        suoja_store::files::private_dir_all(dir)?;
    }
    let mut buf = Vec::new();
    for l in lines {
        serde_json::to_writer(&mut buf, l)?;
        buf.push(b'\n');
    }
    let mut f = suoja_store::files::append_private(path)?;
    f.write_all(&buf)?;
    f.sync_all()
}

/// The lines of a ledger file (none when it does not exist).
pub fn ledger_lines(path: &std::path::Path) -> std::io::Result<Vec<String>> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(t.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Appends to `path` every line of `lines` it does not hold yet; returns how many.
pub fn merge_ledger_lines(path: &std::path::Path, lines: &[String]) -> std::io::Result<usize> {
    let have: std::collections::HashSet<String> = ledger_lines(path)?.into_iter().collect();
    let missing: Vec<serde_json::Value> = lines
        .iter()
        .filter(|l| !have.contains(*l))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    append_ledger_lines(path, &missing)?;
    Ok(missing.len())
}

impl Helpdesk {
    /// The backup directories whose ledger follows the local one: the configured ones and
    /// those registered by `suoja backup`.
    pub async fn ledger_targets(&self) -> Result<Vec<std::path::PathBuf>> {
        let Some(log) = &self.erasure_log else { return Ok(Vec::new()) };
        let mut out = log.targets.clone();
        let mut c = self.db.read().await?;
        for p in suoja_store::backup_targets::list(&mut c).await? {
            let p = std::path::PathBuf::from(p);
            if !out.contains(&p) {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// Writes lines to the erasure ledger: the local file first (its failure is the caller's
    /// error), then each backup directory's copy (a failure there is logged; the next start or
    /// backup brings that copy up to date).
    pub async fn log_erasure_lines(&self, lines: &[serde_json::Value]) -> Result<()> {
        let Some(log) = &self.erasure_log else { return Ok(()) };
        append_ledger_lines(&log.local, lines).map_err(|e| crate::HelpdeskError::Internal(format!("writing the erasure ledger file: {e}")))?;
        for dir in self.ledger_targets().await? {
            if let Err(e) = append_ledger_lines(&dir.join(TARGET_LEDGER), lines) {
                tracing::error!(error = %e, target = %dir.display(), "writing the erasure ledger beside a backup failed; it is brought up to date at the next start or backup");
            }
        }
        Ok(())
    }

    /// Makes every backup directory's ledger hold each line of the local one. Returns how many
    /// lines were added.
    pub async fn sync_ledger_targets(&self) -> Result<usize> {
        let Some(log) = &self.erasure_log else { return Ok(0) };
        let lines = ledger_lines(&log.local).map_err(|e| crate::HelpdeskError::Internal(format!("reading the erasure ledger file: {e}")))?;
        let mut added = 0;
        for dir in self.ledger_targets().await? {
            match merge_ledger_lines(&dir.join(TARGET_LEDGER), &lines) {
                Ok(n) => added += n,
                Err(e) => tracing::error!(error = %e, target = %dir.display(), "bringing the erasure ledger beside a backup up to date failed"),
            }
        }
        Ok(added)
    }
}

impl Helpdesk {
    /// Replaces a comment's text with [`TOMBSTONE`], sealed under `ticket_key` (the ticket's
    /// key, not the erased author's), and drops its HTML. Returns whether the comment exists.
    pub async fn tombstone_comment(&self, c: &mut Conn, tenant: TenantId, id: i64, ticket_key: KeyId) -> Result<bool> {
        let body = self.vault.encrypt_str(c, tenant, ticket_key, TOMBSTONE).await?;
        let done = suoja_store::comments::rekey(c, tenant, suoja_core::CommentId(id), ticket_key, body, None).await?;
        Ok(done)
    }

    /// Removes a person's profile: the user row, their index document and their tokens and
    /// sessions. Returns whether the row existed.
    pub async fn remove_profile(&self, c: &mut Conn, tenant: TenantId, id: UserId) -> Result<bool> {
        suoja_store::tokens::delete_for_user(c, tenant, id).await?;
        index::remove(c, tenant, DocKind::User, id.0).await?;
        Ok(suoja_store::graph::delete_linked(c, tenant, "users", "id", &[id.0]).await? > 0)
    }

    /// Rebuilds an organisation's index entries from its (changed) name.
    pub async fn reindex_organization(&self, c: &mut Conn, tenant: TenantId, id: OrganizationId) -> Result<()> {
        if let Some(o) = suoja_store::organizations::by_id(c, tenant, id).await? {
            crate::search::index_org(&self.vault, c, tenant, id, &o.name).await?;
        }
        Ok(())
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
    pub async fn ticket_held(&self, c: &mut Conn, tenant: TenantId, id: TicketId) -> Result<bool> {
        let holds = suoja_store::holds::active(c, tenant, self.now()).await?;
        if holds.iter().any(|h| h.ticket_id == Some(id.0)) {
            return Ok(true);
        }
        let tags: Vec<&str> = holds.iter().filter_map(|h| h.tag.as_deref()).collect();
        if tags.is_empty() {
            return Ok(false);
        }
        for tag in tags {
            if self.tickets_with_tag(c, tenant, tag).await?.contains(&id.0) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
