//! The erasure certificate (A17-10): a receipt for the person and the controller — the request,
//! the times, what was erased per category, what was kept under which hold and until when, the
//! read-back result, the ledger entry's hash, and the date by which any residual copy (a backup)
//! is unreadable. It holds ids, counts and dates only.

use serde_json::{Value, json};
use suoja_core::{Scope, Timestamp};

use super::plan::PLAN_LINES;
use super::run;
use crate::{Privacy, PrivacyError, Result, require_privacy};

/// Plain names of the plan's categories.
fn category_name(key: &str) -> String {
    match key {
        "profile" => "Profile (name, e-mail, phone, notes, tags, custom fields)".into(),
        "keys" => "Encryption key of the person's data (destroyed)".into(),
        "tickets" => "Requests the person made".into(),
        "tickets.comments" => "Replies and internal notes on those requests".into(),
        "tickets.attachments" => "Files on those requests".into(),
        "tickets.collaborator_links" => "CC and follower links on those requests".into(),
        "collaborator_links" => "CC and follower links on other requests".into(),
        "unassigned_tickets" => "Requests unassigned from the person".into(),
        "tombstoned_comments" => "Comments on other requests (replaced by a removal notice)".into(),
        "attachments" => "Files sent on other requests".into(),
        "blobs" => "Copies of those files in the file store (deleted and checked gone)".into(),
        "redacted_comments" => "Mentions of the person in other people's messages (redacted)".into(),
        "api_tokens" => "Sign-in sessions and API tokens".into(),
        "redacted_organizations" => "Mentions of the person in organisation notes (redacted)".into(),
        "deleted_comments" => "Comments on other requests (deleted)".into(),
        "privacy_verifications" => "Identity-check links".into(),
        "mail_outbox" => "Messages waiting to be sent".into(),
        "consultations" => "Records of who viewed the data".into(),
        "export_packages" => "Prepared data exports".into(),
        other => other.replace('_', " "),
    }
}

/// Lines of the plan first, in their order; the data map's tables after them.
fn rank(key: &str) -> usize {
    PLAN_LINES.iter().position(|k| *k == key).unwrap_or(PLAN_LINES.len())
}

impl Privacy {
    /// The certificate of a completed erasure.
    pub async fn erasure_certificate(&self, scope: &Scope, id: i64) -> Result<Value> {
        require_privacy(scope)?;
        let row = self.erasure_row(scope.tenant, id).await?;
        let Some(completed) = row.completed_at else {
            return Err(PrivacyError::Conflict(format!(
                "erasure {id} is {}; the certificate is issued once it has completed and been verified",
                row.state
            )));
        };
        let done = run::parse_done(&row);
        let mut counts: Vec<(&String, &Value)> = done
            .get("counts")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter(|(_, v)| v.as_u64().unwrap_or(0) > 0)
            .collect();
        counts.sort_by_key(|(k, _)| (rank(k), k.to_string()));
        let erased: Vec<Value> = counts
            .into_iter()
            .map(|(k, v)| json!({ "category": category_name(k), "key": k, "count": v }))
            .collect();
        let checks: Vec<Value> = done
            .get("checks")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| json!({ "store": c["store"].as_str().unwrap_or_default().replace('_', " "), "remaining": c["remaining"] }))
            .collect();
        let held: Vec<Value> = serde_json::from_str(&row.held).unwrap_or_default();
        // What holds kept in an earlier pass (a completed pass has no holds left).
        let kept: Vec<Value> = held
            .iter()
            .map(|h| {
                let ground = h["ground"].as_str().unwrap_or_default();
                json!({
                    "what": if h["person"].as_bool().unwrap_or(false) { "the person's data".to_string() } else { format!("{} request(s)", h["tickets"].as_array().map_or(0, Vec::len)) },
                    "hold": h["hold"],
                    "ground": ground,
                    "ground_text": super::holds::GROUNDS.iter().find(|(g, _)| *g == ground).map(|(_, t)| *t),
                    "until": h["until"],
                    "note": "kept, restricted, and erased when the hold ends",
                })
            })
            .collect();
        let days = self.policy.key_backup_days;
        let unreadable_by = Timestamp(completed.0 + days * 86_400_000);
        let mut c = self.hd.db().read().await?;
        let entry = suoja_store::ledger::for_subject(&mut c, scope.tenant, row.subject_id)
            .await?
            .into_iter()
            .find(|e| row.ledger_hash.as_deref() == Some(e.hash.as_slice()));
        Ok(json!({
            "erasure_id": row.id,
            "request_id": row.request_id,
            "subject_id": row.subject_id,
            "generated_at": self.hd.now().to_iso(),
            "controller": self.policy.controller,
            "statement": format!(
                "The personal data held about the person named in this request was erased from every store of this helpdesk, and the erasure was verified by reading each store back. {}",
                if kept.is_empty() { "Nothing was kept." } else { "Some data is kept under a legal hold, as listed below." }
            ),
            "requested_at": row.created_at.to_iso(),
            "completed_at": completed.to_iso(),
            "erased": erased,
            "kept": kept,
            "verification": { "result": "clean: nothing of the person remained outside held items", "passes": row.pass, "checks": checks },
            "ledger_entry": {
                "seq": entry.as_ref().map(|e| e.seq),
                "kind": suoja_core::LedgerKind::SubjectErased,
                "at": entry.as_ref().map(|e| e.at.to_iso()),
                "hash": row.ledger_hash.as_ref().map(hex::encode),
            },
            "residual_copies": format!(
                "Backups may still hold copies, but everything about the person was stored encrypted under a key of their own, which was destroyed at completion. Backups of the key vault are kept for at most {days} days, after which no copy anywhere can be read."
            ),
            "residual_copies_unreadable_by": unreadable_by.to_iso(),
            "rights": format!("If you are not satisfied, you can contact {} or complain to {}.", self.policy.controller_contact, self.policy.supervisory_authority),
        }))
    }

    /// The certificate as a PDF.
    pub async fn erasure_certificate_pdf(&self, scope: &Scope, id: i64) -> Result<Vec<u8>> {
        let cert = self.erasure_certificate(scope, id).await?;
        crate::export::pdf::render_certificate(&cert).ok_or_else(|| PrivacyError::Internal("the PDF fonts could not be loaded".into()))
    }
}
