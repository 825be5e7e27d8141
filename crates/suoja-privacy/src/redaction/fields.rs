//! Redacting a ticket's own fields: phrases in the subject, custom field values.

use serde_json::Value;
use suoja_core::{Scope, TicketId};
use suoja_store::history::EventRow;

use suoja_helpdesk::HelpdeskError;
use suoja_helpdesk::model::Ticket;
use suoja_helpdesk::tickets::audits::on_strings;

use super::*;
use crate::{Privacy, Result};

impl Privacy {
    /// Redacts phrases in the subject and in custom field values (or a field's whole value).
    pub async fn redact_ticket_fields(&self, scope: &Scope, ticket: TicketId, r: &FieldRedaction) -> Result<Ticket> {
        if r.subject.is_none() && r.custom_fields.is_empty() {
            return Err(invalid("ticket", "name a subject phrase or custom fields to redact"));
        }
        let now = self.hd.now();
        let mut tx = self.hd.db().begin().await?;
        let mut row = self.redactable_ticket(&mut tx, scope, ticket).await?;
        let mut events: Vec<(&str, Option<i64>)> = Vec::new();
        if let Some(p) = &r.subject {
            check_phrase("subject", p.expose())?;
            let subject = match &row.subject_enc {
                Some(s) => self.hd.vault().decrypt_str(&mut tx, scope.tenant, s).await?,
                None => String::new(),
            };
            // The phrase goes from the subject and from every subject the ticket had before.
            let phrase = p.expose().as_str();
            let past = self
                .hd
                .rewrite_audit_values(&mut tx, scope.tenant, ticket, "subject", &|v| on_strings(v, &|s| redact_phrase(s, phrase)))
                .await?;
            match redact_phrase(&subject, phrase) {
                Some(new) => row.subject_enc = Some(self.hd.vault().encrypt_str(&mut tx, scope.tenant, row.key_id, &new).await?),
                None if past > 0 => {}
                None => return Err(invalid("subject", "does not occur in the subject (it may already be redacted)")),
            }
            events.push(("subject_redaction", None));
        }
        if !r.custom_fields.is_empty() {
            let raw = self.hd.vault().decrypt(&mut tx, scope.tenant, &row.custom_fields_enc).await?;
            let mut fields: Vec<(i64, Value)> = serde_json::from_slice(&raw).map_err(|e| HelpdeskError::Internal(format!("custom fields: {e}")))?;
            for (id, phrase) in &r.custom_fields {
                let field = id.to_string();
                let slot = fields.iter_mut().find(|(f, _)| f == id);
                match phrase {
                    // A phrase goes from the field's value and from every value it had before;
                    // it must be found in one of them.
                    Some(p) => {
                        check_phrase("custom_fields", p.expose())?;
                        let past = self
                            .hd
                            .rewrite_audit_values(&mut tx, scope.tenant, ticket, &field, &|v| on_strings(v, &|s| redact_phrase(s, p.expose())))
                            .await?;
                        let now = match slot {
                            // Text, or a list of texts (a multiple choice field).
                            Some((_, v @ (Value::String(_) | Value::Array(_)))) => {
                                on_strings(v, &|s| redact_phrase(s, p.expose())).map(|new| *v = new).is_some()
                            }
                            Some((_, v)) if !v.is_null() && past == 0 => {
                                return Err(invalid("custom_fields", format!("field {id} holds no text; redact its whole value")));
                            }
                            _ => false,
                        };
                        if !now && past == 0 {
                            return Err(invalid("custom_fields", format!("the text does not occur in field {id}")));
                        }
                    }
                    // The whole value goes, with the copies of it the history keeps (not the
                    // other values the field had: a phrase reaches those).
                    None => {
                        let slot = slot.ok_or_else(|| invalid("custom_fields", format!("the ticket has no value for field {id}")))?;
                        let old = slot.1.clone();
                        slot.1 = match &old {
                            Value::Null => return Err(invalid("custom_fields", format!("field {id} has no value"))),
                            Value::String(s) if s.chars().all(|c| c == MARK) => {
                                return Err(invalid("custom_fields", format!("field {id} is already redacted")));
                            }
                            Value::String(s) => Value::String(marks(s)),
                            _ => Value::Null,
                        };
                        let gone = slot.1.clone();
                        self.hd
                            .rewrite_audit_values(&mut tx, scope.tenant, ticket, &field, &|v| (*v == old).then(|| gone.clone()))
                            .await?;
                    }
                }
                events.push(("custom_field_redaction", Some(*id)));
            }
            row.custom_fields_enc = suoja_helpdesk::crypt::seal_json(self.hd.vault(), &mut tx, scope.tenant, row.key_id, &fields).await?;
        }
        // Every event but the last is recorded here; the last goes with the bookkeeping.
        let Some((&(kind, field), earlier)) = events.split_last() else {
            return Err(invalid("ticket", "name a subject phrase or custom fields to redact"));
        };
        let mut recorded = Vec::new();
        for (kind, field) in earlier {
            let event = EventRow {
                id: 0,
                ticket_id: ticket,
                actor_id: Some(scope.actor.0),
                kind: (*kind).into(),
                comment_id: None,
                attachment_id: None,
                field_id: *field,
                created_at: now,
            };
            suoja_store::history::insert(&mut tx, scope.tenant, &event).await?;
            recorded.push(event);
        }
        if !recorded.is_empty() {
            self.audit_redactions(&mut tx, scope, &row, &recorded, now).await?;
        }
        let id = row.id;
        self.finish_redaction(&mut tx, scope, row, kind, None, None, field, now).await?;
        let fresh = suoja_store::tickets::by_id(&mut tx, scope.tenant, id)
            .await?
            .ok_or(HelpdeskError::NotFound("Ticket"))?;
        let view = self.hd.open_ticket_full(&mut tx, scope, &fresh).await?;
        tx.commit().await?;
        self.after_redaction(scope.tenant, ticket, now).await;
        tracing::info!(tenant.id = %scope.tenant, ticket.id = %ticket, actor.id = %scope.actor, "ticket fields redacted");
        Ok(view)
    }
}
