//! Row-level erasure primitives the erasure pipeline composes: deleting a ticket with
//! everything on it (also permanent deletion from the trash and retention), replacing a comment
//! by a tombstone, and removing a profile; and the one rule for what a legal hold keeps. Each
//! works inside the caller's transaction and is idempotent (running it twice changes nothing the
//! second time), so an interrupted erasure can simply run its step again. Finding a person in
//! free text is not done here: that is the identifier matcher's work.

use suoja_core::{KeyId, Scope, TenantId, TicketId, UserId};
use suoja_search::index::{self, DocKind};
use suoja_store::Conn;

use crate::{Privacy, PrivacyError, Result};

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

/// Deletes a ticket and everything on it (comments, notes, attachments, links, the mail it came
/// from, index entries) in
/// the caller's transaction. Shared by permanent deletion from the trash and by erasure.
pub async fn purge_ticket_rows(c: &mut Conn, tenant: TenantId, id: TicketId) -> Result<Purged> {
    let attachments = suoja_store::graph::delete_linked(c, tenant, "attachments", "ticket_id", &[id.0]).await?;
    let comments = suoja_store::comments::delete_for_ticket(c, tenant, id).await?;
    let links = suoja_store::graph::delete_linked(c, tenant, "ticket_collaborators", "ticket_id", &[id.0]).await?;
    suoja_store::graph::delete_linked(c, tenant, "satisfaction_ratings", "ticket_id", &[id.0]).await?;
    suoja_store::mail::delete_for_ticket(c, tenant, id.0).await?;
    index::remove(c, tenant, DocKind::Ticket, id.0).await?;
    suoja_store::history::delete_for_ticket(c, tenant, id).await?;
    suoja_store::ticket_audits::delete_for_ticket(c, tenant, id).await?;
    suoja_store::metric_events::delete_for_ticket(c, tenant, id).await?;
    let tickets = u64::from(suoja_store::tickets::delete(c, tenant, id).await?);
    Ok(Purged {
        tickets,
        comments,
        attachments,
        links,
    })
}

impl Privacy {
    /// Replaces a comment's text with [`TOMBSTONE`], sealed under `ticket_key` (the ticket's
    /// key, not the erased author's), and drops its HTML. Returns whether the comment exists.
    pub async fn tombstone_comment(&self, c: &mut Conn, tenant: TenantId, id: i64, ticket_key: KeyId) -> Result<bool> {
        let body = self.hd.vault().encrypt_str(c, tenant, ticket_key, TOMBSTONE).await?;
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

    /// Deletes a ticket with everything on it unless a legal hold keeps it (retention of closed
    /// and trashed tickets). Returns whether it was deleted.
    pub async fn purge_ticket_unless_held(&self, tenant: TenantId, id: TicketId) -> Result<bool> {
        let mut tx = self.hd.db().begin().await?;
        if self.ticket_held(&mut tx, tenant, id).await? {
            return Ok(false);
        }
        let purged = purge_ticket_rows(&mut tx, tenant, id).await?;
        tx.commit().await?;
        Ok(purged.tickets > 0)
    }

    /// Whether a legal hold in force keeps this ticket: the rule the erasure plan applies too
    /// (a hold keeps its ticket and the tickets carrying its tag, see `holds.rs`).
    pub async fn ticket_held(&self, c: &mut Conn, tenant: TenantId, id: TicketId) -> Result<bool> {
        for h in suoja_store::holds::active(c, tenant, self.hd.now()).await? {
            if self.hold_tickets(c, tenant, &h).await?.contains(&id.0) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Deletes a trashed ticket for good (staff), unless a legal hold keeps it.
    pub async fn purge_ticket(&self, scope: &Scope, id: TicketId) -> Result<()> {
        self.purge_ticket_in_place(scope, id).await?;
        // The deleted rows' bytes leave the write-ahead log.
        suoja_store::dialect::checkpoint(self.hd.db()).await?;
        Ok(())
    }

    /// [`Self::purge_ticket`] without the checkpoint (a job of many runs it once at the end).
    async fn purge_ticket_in_place(&self, scope: &Scope, id: TicketId) -> Result<()> {
        if !scope.is_staff() {
            return Err(suoja_helpdesk::HelpdeskError::Forbidden("only agents and admins can do this").into());
        }
        let mut tx = self.hd.db().begin().await?;
        suoja_store::tickets::by_id_for_update(&mut tx, scope.tenant, id)
            .await?
            .filter(|t| t.deleted_at.is_some() && !t.restricted)
            .ok_or(PrivacyError::NotFound("Ticket"))?;
        if self.ticket_held(&mut tx, scope.tenant, id).await? {
            return Err(PrivacyError::Conflict(
                "the ticket is under a legal hold and cannot be deleted until the hold ends".into(),
            ));
        }
        purge_ticket_rows(&mut tx, scope.tenant, id).await?;
        tx.commit().await?;
        tracing::info!(tenant.id = %scope.tenant, ticket.id = %id, actor.id = %scope.actor, "ticket deleted permanently");
        Ok(())
    }

    /// Deletes up to 100 trashed tickets permanently (Zendesk's `deleted_tickets/destroy_many`),
    /// each as [`Self::purge_ticket`] does, in a transaction of its own; the job's results say
    /// which went and why others did not (unknown, not in the trash, under a legal hold).
    pub async fn purge_tickets(&self, scope: &Scope, ids: &[TicketId]) -> Result<suoja_helpdesk::model::JobStatus> {
        if !scope.is_staff() {
            return Err(suoja_helpdesk::HelpdeskError::Forbidden("only agents and admins can do this").into());
        }
        suoja_helpdesk::jobs::at_most_100(ids.len(), "tickets")?;
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let items = ids
            .into_iter()
            .map(|id| (suoja_helpdesk::jobs::key(serde_json::json!({"id": id.0, "action": "delete"})), id))
            .collect();
        let job = self
            .hd
            .run_job(scope, items, PrivacyError::kind, |id| async move {
                self.purge_ticket_in_place(scope, id).await?;
                Ok(suoja_helpdesk::jobs::key(serde_json::json!({"success": true, "status": "Deleted"})))
            })
            .await;
        // The deleted rows' bytes leave the write-ahead log, whatever became of the job.
        suoja_store::dialect::checkpoint(self.hd.db()).await?;
        job
    }
}
