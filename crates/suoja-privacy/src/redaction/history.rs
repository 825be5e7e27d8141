//! The lines the erasure ledger file keeps of each redaction (the ticket's audits show them to
//! staff), and applying them again to a database restored from before them.

use serde_json::{Value, json};
use suoja_core::{AttachmentId, CommentId, Scope, TenantId, TicketId, Timestamp};
use suoja_store::history::EventRow;

use suoja_helpdesk::HelpdeskError;
use suoja_helpdesk::tickets::audits::on_strings;

use super::*;
use crate::{Privacy, Result};

/// A redaction as the erasure ledger file records it: ids, kind and time, never the text.
pub(super) fn ledger_line(tenant: TenantId, e: &EventRow) -> Value {
    json!({"kind": "redaction", "tenant_id": tenant.0, "ticket_id": e.ticket_id.0, "event": e.kind, "comment_id": e.comment_id,
        "attachment_id": e.attachment_id, "field_id": e.field_id, "at": e.created_at.0})
}

/// A redaction read back from the erasure ledger file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct RedactionRecord {
    /// Tenant.
    pub tenant_id: i64,
    /// Ticket.
    pub ticket_id: i64,
    /// The history event kind (`comment_redaction`, …).
    pub event: String,
    /// Comment concerned.
    pub comment_id: Option<i64>,
    /// Attachment concerned.
    pub attachment_id: Option<i64>,
    /// Custom field concerned.
    pub field_id: Option<i64>,
    /// When (ms), as in the ticket's history.
    pub at: i64,
}

impl Privacy {
    /// Applies a redaction again to a database restored from before it, unless the ticket's
    /// history shows it was applied or the ticket (or comment) is not the one redacted (written
    /// after the redaction, or on another ticket). The file holds no text, so the whole target is redacted: the
    /// comment's entire text (and the description when it is the first comment), the whole
    /// subject, the field's whole value, the file. Returns whether anything was done.
    pub async fn replay_redaction(&self, r: &RedactionRecord) -> Result<bool> {
        let tenant = TenantId(r.tenant_id);
        let ticket = TicketId(r.ticket_id);
        let at = Timestamp(r.at);
        let mut tx = self.hd.db().begin().await?;
        // The ticket must be the one redacted: a restore brings back old id counters, so a
        // ticket written after the redaction may carry its id, and is never touched.
        let Some(mut row) = suoja_store::tickets::by_id_for_update(&mut tx, tenant, ticket)
            .await?
            .filter(|t| t.created_at <= at)
        else {
            return Ok(false);
        };
        let applied = suoja_store::history::for_ticket(&mut tx, tenant, ticket)
            .await?
            .iter()
            .any(|e| e.kind == r.event && e.created_at == at && e.comment_id == r.comment_id && e.attachment_id == r.attachment_id && e.field_id == r.field_id);
        if applied {
            return Ok(false);
        }
        let system = Scope::operator(tenant);
        match r.event.as_str() {
            "comment_redaction" => {
                let Some(m) = suoja_store::comments::by_id(&mut tx, tenant, CommentId(r.comment_id.unwrap_or(0)))
                    .await?
                    .filter(|m| m.ticket_id == ticket && m.created_at <= at)
                else {
                    return Ok(false);
                };
                let body = self.hd.vault().decrypt_str(&mut tx, tenant, &m.body_enc).await?;
                let body_enc = self.hd.vault().encrypt_str(&mut tx, tenant, m.key_id, &marks(&body)).await?;
                suoja_store::comments::rekey(&mut tx, tenant, m.id, m.key_id, body_enc, None).await?;
                let first = suoja_store::comments::for_ticket(
                    &mut tx,
                    tenant,
                    ticket,
                    suoja_store::comments::CommentQuery {
                        limit: 1,
                        ..suoja_store::comments::CommentQuery::ALL
                    },
                )
                .await?;
                if first.first().map(|f| f.id) == Some(m.id) {
                    let d = self.hd.vault().decrypt_str(&mut tx, tenant, &row.description_enc).await?;
                    row.description_enc = self.hd.vault().encrypt_str(&mut tx, tenant, row.key_id, &marks(&d)).await?;
                }
            }
            "attachment_redaction" | "recording_redaction" => {
                let Some(a) = suoja_store::attachments::by_id(&mut tx, tenant, AttachmentId(r.attachment_id.unwrap_or(0)))
                    .await?
                    .filter(|a| a.ticket_id == Some(ticket))
                else {
                    return Ok(false);
                };
                if a.redacted_at.is_none() {
                    self.empty_attachment(&mut tx, tenant, &a, at).await?;
                }
            }
            "subject_redaction" => {
                if let Some(s) = row.subject_enc.clone() {
                    let subject = self.hd.vault().decrypt_str(&mut tx, tenant, &s).await?;
                    row.subject_enc = Some(self.hd.vault().encrypt_str(&mut tx, tenant, row.key_id, &marks(&subject)).await?);
                }
                self.hd
                    .rewrite_audit_values(&mut tx, tenant, ticket, "subject", &|v| on_strings(v, &|s| Some(marks(s))))
                    .await?;
            }
            _ => {
                let raw = self.hd.vault().decrypt(&mut tx, tenant, &row.custom_fields_enc).await?;
                let mut fields: Vec<(i64, Value)> = serde_json::from_slice(&raw).map_err(|e| HelpdeskError::Internal(format!("custom fields: {e}")))?;
                for f in fields.iter_mut().filter(|(id, _)| Some(*id) == r.field_id) {
                    f.1 = match &f.1 {
                        Value::String(s) => Value::String(marks(s)),
                        _ => Value::Null,
                    };
                }
                row.custom_fields_enc = suoja_helpdesk::crypt::seal_json(self.hd.vault(), &mut tx, tenant, row.key_id, &fields).await?;
                if let Some(f) = r.field_id {
                    let whole = |v: &Value| match v {
                        Value::String(s) => Some(Value::String(marks(s))),
                        Value::Null => None,
                        _ => Some(Value::Null),
                    };
                    self.hd.rewrite_audit_values(&mut tx, tenant, ticket, &f.to_string(), &whole).await?;
                }
            }
        }
        let kind = r.event.clone();
        self.finish_redaction(&mut tx, &system, row, &kind, r.comment_id, r.attachment_id, r.field_id, at)
            .await?;
        tx.commit().await?;
        self.clear_log().await;
        Ok(true)
    }
}
