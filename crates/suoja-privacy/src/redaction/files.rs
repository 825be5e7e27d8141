//! Redacting a file: an attachment becomes an empty placeholder, a call recording keeps its
//! metadata without its media; retention redacts files the same way.

use serde_json::json;
use suoja_core::{AttachmentId, CommentId, Scope, TenantId, TicketId, Timestamp};
use suoja_store::Conn;
use suoja_store::tickets::TicketRow;

use suoja_helpdesk::HelpdeskError;
use suoja_helpdesk::model::Attachment;

use super::*;
use crate::{Privacy, Result};

impl Privacy {
    /// Deletes an attachment's content. A file leaves a placeholder (`redacted.txt`, empty); a
    /// call recording (audio or video) keeps its metadata (name, type, size) without its media.
    /// Redacting a redacted attachment changes nothing.
    pub async fn redact_attachment(&self, scope: &Scope, ticket: TicketId, comment: CommentId, id: AttachmentId) -> Result<Attachment> {
        let now = self.hd.now();
        let mut tx = self.hd.db().begin().await?;
        let row = self.redactable_ticket(&mut tx, scope, ticket).await?;
        self.ticket_comment(&mut tx, scope.tenant, ticket, comment).await?;
        let a = suoja_store::attachments::by_id(&mut tx, scope.tenant, id)
            .await?
            .filter(|a| a.ticket_id == Some(ticket) && a.comment_id == Some(comment))
            .ok_or(HelpdeskError::NotFound("Attachment"))?;
        if a.redacted_at.is_none() {
            self.redact_attachment_in(&mut tx, scope, row, &a, now).await?;
        }
        let view = self.attachment_view(&mut tx, scope.tenant, id).await?;
        tx.commit().await?;
        self.after_redaction(scope.tenant, ticket, now).await;
        tracing::info!(tenant.id = %scope.tenant, ticket.id = %ticket, attachment.id = %id, actor.id = %scope.actor, "attachment redacted");
        Ok(view)
    }

    /// Redacts one attachment inside the caller's transaction (also used by retention).
    pub(crate) async fn redact_attachment_in(
        &self,
        c: &mut Conn,
        scope: &Scope,
        row: TicketRow,
        a: &suoja_store::attachments::AttachmentRow,
        now: Timestamp,
    ) -> Result<()> {
        self.empty_attachment(c, scope.tenant, a, now).await?;
        let kind = if is_recording(&a.content_type) {
            "recording_redaction"
        } else {
            "attachment_redaction"
        };
        self.finish_redaction(c, scope, row, kind, a.comment_id.map(|m| m.0), Some(a.id.0), None, now)
            .await
    }

    /// Replaces an attachment's content by a sealed empty file: a file becomes the placeholder
    /// `redacted.txt`, a recording keeps its name, type and size.
    pub(super) async fn empty_attachment(&self, c: &mut Conn, tenant: TenantId, a: &suoja_store::attachments::AttachmentRow, at: Timestamp) -> Result<()> {
        let (name_enc, content_type, size) = if is_recording(&a.content_type) {
            (a.file_name_enc.clone(), a.content_type.clone(), a.size)
        } else {
            (
                self.hd.vault().encrypt_str(c, tenant, a.key_id, PLACEHOLDER_NAME).await?,
                "text/plain".to_string(),
                0,
            )
        };
        let empty = self.hd.vault().encrypt(c, tenant, a.key_id, b"").await?;
        // The original e-mail the file came with holds it too: it goes.
        if let Some(comment) = a.comment_id {
            suoja_store::mail::delete_for_comment(c, tenant, comment.0).await?;
        }
        suoja_store::attachments::redact(c, tenant, a.id, name_enc, &content_type, size, empty, at).await?;
        Ok(())
    }

    /// Redacts an attachment for a retention policy: with no acting person, skipping files on
    /// tickets under a legal hold. Returns whether it was redacted.
    pub async fn redact_attachment_for_retention(&self, tenant: TenantId, id: AttachmentId) -> Result<bool> {
        let now = self.hd.now();
        let mut tx = self.hd.db().begin().await?;
        let Some(a) = suoja_store::attachments::by_id(&mut tx, tenant, id).await?.filter(|a| a.redacted_at.is_none()) else {
            return Ok(false);
        };
        let Some(ticket) = a.ticket_id else { return Ok(false) };
        let Some(row) = suoja_store::tickets::by_id_for_update(&mut tx, tenant, ticket).await? else {
            return Ok(false);
        };
        if self.ticket_held(&mut tx, tenant, ticket).await? {
            return Ok(false);
        }
        let system = Scope::operator(tenant);
        self.redact_attachment_in(&mut tx, &system, row, &a, now).await?;
        tx.commit().await?;
        let line = json!({"kind": "redaction", "tenant_id": tenant.0, "ticket_id": ticket.0, "event": if is_recording(&a.content_type) { "recording_redaction" } else { "attachment_redaction" },
            "comment_id": a.comment_id.map(|m| m.0), "attachment_id": a.id.0, "field_id": null, "at": now.0});
        if let Err(e) = self.log_erasure_lines(&[line]).await {
            tracing::error!(error = %e, "writing a redaction to the erasure ledger file failed");
        }
        Ok(true)
    }

    pub(super) async fn attachment_view(&self, c: &mut Conn, tenant: TenantId, id: AttachmentId) -> Result<Attachment> {
        let f = suoja_store::attachments::by_id(c, tenant, id)
            .await?
            .ok_or(HelpdeskError::NotFound("Attachment"))?;
        Ok(Attachment {
            id: f.id,
            file_name: suoja_helpdesk::crypt::open(self.hd.vault(), c, tenant, &f.file_name_enc).await?,
            content_type: f.content_type,
            size: f.size,
            ticket_id: f.ticket_id,
        })
    }
}
