//! Redaction: irreversibly removing a phrase from a comment (named as text, or marked with
//! `<redact>` tags in its HTML), a whole attachment or call recording, or text in a ticket's
//! subject or custom fields. In one transaction the new text is sealed over the old, the ticket is
//! re-indexed, export packages that could hold the old text are deleted and the ticket's history
//! records the redaction (kind, target, who, when; never the text). Afterwards the engine's log
//! is checkpointed so the old ciphertext leaves it too. A redaction does not move the ticket's
//! retention clock (`closed_at`).

mod fields;
mod files;
mod free_text;
mod history;
mod text;

pub use free_text::{FreeText, TextRedactionRecord};
pub use history::RedactionRecord;
use history::ledger_line;

use serde_json::Value;
use suoja_core::{CommentId, Personal, Scope, TenantId, TicketId, Timestamp};
use suoja_store::Conn;
use suoja_store::comments::CommentRow;
use suoja_store::history::EventRow;
use suoja_store::tickets::TicketRow;

use suoja_helpdesk::HelpdeskError;

use crate::{Privacy, Result};

/// What a redacted character becomes.
pub const MARK: char = '\u{2587}';

/// File name of a redacted attachment's placeholder.
pub const PLACEHOLDER_NAME: &str = "redacted.txt";

/// Longest phrase accepted for redaction, in characters.
const MAX_PHRASE_CHARS: usize = 10_000;

/// A redaction of a ticket's own fields.
#[derive(Debug, Clone, Default)]
pub struct FieldRedaction {
    /// A phrase to remove from the subject.
    pub subject: Option<Personal<String>>,
    /// Custom fields: the field id and a phrase to remove from its value, or `None` to remove
    /// the whole value.
    pub custom_fields: Vec<(i64, Option<Personal<String>>)>,
}

/// `s` with every character replaced by [`MARK`].
pub(super) fn marks(s: &str) -> String {
    std::iter::repeat_n(MARK, s.chars().count()).collect()
}

/// Replaces every occurrence of `phrase` in `s` by marks; `None` if it does not occur.
pub(super) fn redact_phrase(s: &str, phrase: &str) -> Option<String> {
    (!phrase.is_empty() && s.contains(phrase)).then(|| s.replace(phrase, &marks(phrase)))
}

/// A field error whose message names the field, as Zendesk's do.
pub(super) fn invalid(field: &str, message: impl std::fmt::Display) -> crate::PrivacyError {
    HelpdeskError::invalid(field, format!("{field}: {message}")).into()
}

pub(super) fn check_phrase(field: &str, phrase: &str) -> Result<()> {
    if phrase.trim().is_empty() {
        return Err(invalid(field, "cannot be blank"));
    }
    if phrase.chars().count() > MAX_PHRASE_CHARS {
        return Err(invalid(field, format!("is longer than {MAX_PHRASE_CHARS} characters")));
    }
    if phrase.chars().all(|c| c == MARK) {
        return Err(invalid(field, "is already redacted"));
    }
    Ok(())
}

/// Splits an HTML body carrying `<redact>…</redact>` tags into the body without the tags and the
/// byte ranges (in that body) the tags enclosed. Tags may not nest, overlap, be left open or
/// enclose nothing.
pub fn parse_redact_tags(html: &str) -> Result<(String, Vec<std::ops::Range<usize>>)> {
    const OPEN: &str = "<redact>";
    const CLOSE: &str = "</redact>";
    let lower = html.to_ascii_lowercase();
    let mut out = String::with_capacity(html.len());
    let mut ranges = Vec::new();
    let mut open: Option<usize> = None;
    let mut i = 0;
    while i < html.len() {
        if lower[i..].starts_with(OPEN) {
            if open.is_some() {
                return Err(invalid("html_body", "<redact> tags must not nest or overlap"));
            }
            open = Some(out.len());
            i += OPEN.len();
        } else if lower[i..].starts_with(CLOSE) {
            let Some(start) = open.take() else {
                return Err(invalid("html_body", "</redact> without a matching <redact>"));
            };
            if start == out.len() {
                return Err(invalid("html_body", "a <redact> tag encloses nothing"));
            }
            ranges.push(start..out.len());
            i += CLOSE.len();
        } else {
            let ch = html[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    if open.is_some() {
        return Err(invalid("html_body", "a <redact> tag is not closed"));
    }
    if ranges.is_empty() {
        return Err(invalid("html_body", "no text is enclosed in <redact> tags"));
    }
    Ok((out, ranges))
}

impl Privacy {
    /// Staff only; the ticket must be visible to the caller and not in the trash. The row is
    /// locked until the caller's transaction ends (a redaction is a change of the ticket).
    pub(super) async fn redactable_ticket(&self, c: &mut Conn, scope: &Scope, id: TicketId) -> Result<TicketRow> {
        if !scope.is_staff() {
            return Err(HelpdeskError::Forbidden("only agents and admins can redact").into());
        }
        let row = suoja_store::tickets::by_id_for_update(c, scope.tenant, id)
            .await?
            .filter(|t| t.deleted_at.is_none())
            .ok_or(HelpdeskError::NotFound("Ticket"))?;
        if !self.hd.can_see(c, scope, &row).await? {
            return Err(HelpdeskError::NotFound("Ticket").into());
        }
        Ok(row)
    }

    pub(super) async fn ticket_comment(&self, c: &mut Conn, tenant: TenantId, ticket: TicketId, id: CommentId) -> Result<CommentRow> {
        suoja_store::comments::by_id(c, tenant, id)
            .await?
            .filter(|m| m.ticket_id == ticket)
            .ok_or_else(|| HelpdeskError::NotFound("Comment").into())
    }

    /// Ticket bookkeeping shared by every redaction: the row written back with a new
    /// `updated_at` (so integrations see the change; `closed_at` stays), the history event, the
    /// index rebuilt and the export packages of everyone on the ticket deleted.
    #[allow(
        clippy::too_many_arguments,
        reason = "the transaction, the rows and the new texts of one redaction, each used once"
    )]
    pub(super) async fn finish_redaction(
        &self,
        c: &mut Conn,
        scope: &Scope,
        mut row: TicketRow,
        kind: &str,
        comment: Option<i64>,
        attachment: Option<i64>,
        field: Option<i64>,
        now: Timestamp,
    ) -> Result<()> {
        row.updated_at = now;
        suoja_store::tickets::update(c, scope.tenant, &row).await?;
        let event = EventRow {
            id: 0,
            ticket_id: row.id,
            actor_id: (scope.actor.0 > 0).then_some(scope.actor.0),
            kind: kind.into(),
            comment_id: comment,
            attachment_id: attachment,
            field_id: field,
            created_at: now,
        };
        suoja_store::history::insert(c, scope.tenant, &event).await?;
        self.audit_redactions(c, scope, &row, &[event], now).await?;
        self.hd.reindex_ticket(c, scope.tenant, row.id).await?;
        let mut people = vec![row.requester_id.0, row.submitter_id.0];
        people.extend(row.assignee_id.map(|a| a.0));
        for (_, u, _) in suoja_store::tickets::collaborators(c, scope.tenant, &[row.id]).await? {
            people.push(u.0);
        }
        for m in suoja_store::comments::for_ticket(c, scope.tenant, row.id, suoja_store::comments::CommentQuery::ALL).await? {
            people.push(m.author_id.0);
        }
        people.sort_unstable();
        people.dedup();
        for p in people {
            suoja_store::exports::delete_for_subject(c, scope.tenant, p).await?;
        }
        Ok(())
    }

    /// The ticket's audit of redactions: what kind, which comment, file or field, never the
    /// text (as the redaction history).
    pub(super) async fn audit_redactions(&self, c: &mut Conn, scope: &Scope, row: &TicketRow, events: &[EventRow], now: Timestamp) -> Result<()> {
        let events: Vec<suoja_helpdesk::model::AuditEvent> = events
            .iter()
            .map(|e| {
                let kind = match e.kind.as_str() {
                    "comment_redaction" => "comment_redaction",
                    "attachment_redaction" => "attachment_redaction",
                    "recording_redaction" => "recording_redaction",
                    "subject_redaction" => "subject_redaction",
                    _ => "custom_field_redaction",
                };
                suoja_helpdesk::model::AuditEvent {
                    comment_id: e.comment_id.map(suoja_core::CommentId),
                    ..suoja_helpdesk::model::AuditEvent::new(kind)
                }
                .with("attachment_id", serde_json::json!(e.attachment_id))
                .with("field_id", serde_json::json!(e.field_id))
            })
            .collect();
        let author = (scope.actor.0 > 0).then_some(scope.actor);
        let via = if author.is_some() { "api" } else { "rule" };
        self.hd.record_audit(c, scope.tenant, row, author, via, &events, now).await?;
        Ok(())
    }

    /// After a redaction has committed: lists it in the erasure ledger file (so a restore of an
    /// older backup applies it again), then clears the engine's files of the old text.
    pub(super) async fn after_redaction(&self, tenant: TenantId, ticket: TicketId, at: Timestamp) {
        if self.ledger_file().is_some() {
            let logged = async {
                let mut c = self.hd.db().read().await?;
                let events = suoja_store::history::for_ticket(&mut c, tenant, ticket).await?;
                drop(c);
                let lines: Vec<Value> = events.iter().filter(|e| e.created_at == at).map(|e| ledger_line(tenant, e)).collect();
                self.log_erasure_lines(&lines).await
            }
            .await;
            if let Err(e) = logged {
                tracing::error!(error = %e, "writing a redaction to the erasure ledger file failed");
            }
        }
        // A redacted file's blob goes now, not at the blob loop's next pass.
        if let Err(e) = self.hd.db().blobs().empty_trash(self.hd.db(), Some(tenant)).await {
            tracing::warn!(error = %e, "deleting a redacted file's blob failed; the blob loop tries again");
        }
        self.clear_log().await;
    }

    /// Moves the old ciphertext out of the engine's files: SQLite zeroed the old cells
    /// (`secure_delete`) and a truncating checkpoint clears the log; PostgreSQL's `VACUUM` prunes
    /// and compacts the pages that held the old row versions, and the WAL segment that held them
    /// is retired. A busy log is retried by the next redaction or erasure; the failure is logged,
    /// the redaction itself has committed.
    pub(super) async fn clear_log(&self) {
        for table in ["comments", "tickets", "attachments"] {
            if let Err(e) = suoja_store::dialect::vacuum_table(self.hd.db(), table).await {
                tracing::warn!(error = %e, table, "vacuuming after a redaction failed");
            }
        }
        match suoja_store::dialect::retire_wal(self.hd.db()).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!("the database log could not be cleared after a redaction; the next checkpoint will"),
            Err(e) => tracing::warn!(error = %e, "clearing the database log after a redaction failed"),
        }
    }
}

/// Whether an attachment is a call recording (its media goes, its metadata stays).
pub fn is_recording(content_type: &str) -> bool {
    content_type.starts_with("audio/") || content_type.starts_with("video/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_parsed_and_bad_ones_refused() {
        let (s, r) = parse_redact_tags("<p>card <redact>4111</redact> and <REDACT>x y</redact></p>").unwrap();
        assert_eq!(s, "<p>card 4111 and x y</p>");
        assert_eq!(r.iter().map(|r| &s[r.clone()]).collect::<Vec<_>>(), ["4111", "x y"]);
        for bad in [
            "<redact>a<redact>b</redact></redact>",
            "<redact>a",
            "a</redact>",
            "<redact></redact>",
            "no tags",
        ] {
            assert!(parse_redact_tags(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phrases_become_marks_of_the_same_length() {
        assert_eq!(redact_phrase("pin 1234, again 1234", "1234").unwrap(), "pin ▇▇▇▇, again ▇▇▇▇");
        assert_eq!(redact_phrase("nothing", "1234"), None);
        assert_eq!(marks("äö"), "▇▇");
    }

    // Fuzzing: `<redact>` markup comes from agents' clients. Any text parses or is refused
    // without a panic; when it parses, the body is the input without its tags and the ranges lie
    // in order on character boundaries of that body.
    mod fuzz {
        use super::super::parse_redact_tags;
        use proptest::prelude::*;

        fn markup() -> impl Strategy<Value = String> {
            let piece = prop_oneof![
                Just("<redact>".to_string()),
                Just("</redact>".to_string()),
                Just("<REDACT>".to_string()),
                Just("</Redact>".to_string()),
                Just("<redact".to_string()),
                Just("<p>".to_string()),
                Just("&amp;".to_string()),
                Just("é".to_string()),
                Just("👩‍💻".to_string()),
                "\\PC{0,8}",
                any::<String>(),
            ];
            prop::collection::vec(piece, 0..30).prop_map(|v| v.concat())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            #[test]
            fn any_markup_parses_or_is_refused(html in markup()) {
                if let Ok((body, ranges)) = parse_redact_tags(&html) {
                    // The tags found in one pass from the left, removed.
                    let stripped = {
                        let lower = html.to_ascii_lowercase();
                        let mut tags: Vec<(usize, usize)> = ["<redact>", "</redact>"]
                            .iter()
                            .flat_map(|t| lower.match_indices(t).map(|(at, m)| (at, at + m.len())))
                            .collect();
                        tags.sort_unstable();
                        let mut s = String::new();
                        let mut at = 0;
                        for (start, end) in tags {
                            s.push_str(&html[at..start]);
                            at = end;
                        }
                        s.push_str(&html[at..]);
                        s
                    };
                    prop_assert_eq!(&body, &stripped);
                    let mut last = 0;
                    for r in &ranges {
                        prop_assert!(r.start >= last && r.start < r.end && r.end <= body.len());
                        prop_assert!(body.is_char_boundary(r.start) && body.is_char_boundary(r.end));
                        last = r.end;
                    }
                    prop_assert!(!ranges.is_empty());
                }
            }
        }
    }
}
