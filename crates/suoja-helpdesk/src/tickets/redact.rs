//! Redaction: irreversibly removing a phrase from a comment (named as text, or marked with
//! `<redact>` tags in its HTML), a whole attachment or call recording, or text in a ticket's
//! subject or custom fields. In one transaction the new text is sealed over the old, the ticket is
//! re-indexed, export packages that could hold the old text are deleted and the ticket's history
//! records the redaction (kind, target, who, when; never the text). Afterwards the engine's log
//! is checkpointed so the old ciphertext leaves it too. A redaction does not move the ticket's
//! retention clock (`closed_at`).

use serde_json::{Value, json};
use suoja_core::{AttachmentId, CommentId, Personal, Scope, TenantId, TicketId, Timestamp, UserId};
use suoja_store::Conn;
use suoja_store::comments::CommentRow;
use suoja_store::history::EventRow;
use suoja_store::tickets::TicketRow;

use crate::model::{Attachment, Comment, Ticket};
use crate::text::{escape, html_to_plain, plain_to_html, sanitize_html};
use crate::{Helpdesk, HelpdeskError, Result, crypt};

/// What a redacted character becomes.
pub const MARK: char = '\u{2587}';

/// File name of a redacted attachment's placeholder.
pub const PLACEHOLDER_NAME: &str = "redacted.txt";

/// Longest phrase accepted for redaction, in characters.
const MAX_PHRASE_CHARS: usize = 10_000;

/// One entry of a ticket's redaction history.
#[derive(Debug, Clone)]
pub struct HistoryEvent {
    /// Id.
    pub id: i64,
    /// Ticket.
    pub ticket_id: TicketId,
    /// Who redacted (`None`: the retention scheduler).
    pub actor_id: Option<UserId>,
    /// Kind, such as `comment_redaction`.
    pub kind: String,
    /// Comment concerned.
    pub comment_id: Option<CommentId>,
    /// Attachment concerned.
    pub attachment_id: Option<AttachmentId>,
    /// Custom field concerned.
    pub field_id: Option<i64>,
    /// When.
    pub created_at: Timestamp,
}

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
fn marks(s: &str) -> String {
    std::iter::repeat_n(MARK, s.chars().count()).collect()
}

/// Replaces every occurrence of `phrase` in `s` by marks; `None` if it does not occur.
fn redact_phrase(s: &str, phrase: &str) -> Option<String> {
    (!phrase.is_empty() && s.contains(phrase)).then(|| s.replace(phrase, &marks(phrase)))
}

/// A field error whose message names the field, as Zendesk's do.
fn invalid(field: &str, message: impl std::fmt::Display) -> HelpdeskError {
    HelpdeskError::invalid(field, format!("{field}: {message}"))
}

fn check_phrase(field: &str, phrase: &str) -> Result<()> {
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

impl Helpdesk {
    /// Staff only; the ticket must be visible to the caller and not in the trash.
    async fn redactable_ticket(&self, c: &mut Conn, scope: &Scope, id: TicketId) -> Result<TicketRow> {
        if !scope.is_staff() {
            return Err(HelpdeskError::Forbidden("only agents and admins can redact"));
        }
        let row = suoja_store::tickets::by_id(c, scope.tenant, id)
            .await?
            .filter(|t| t.deleted_at.is_none())
            .ok_or(HelpdeskError::NotFound("Ticket"))?;
        if !self.can_see(c, scope, &row).await? {
            return Err(HelpdeskError::NotFound("Ticket"));
        }
        Ok(row)
    }

    async fn ticket_comment(&self, c: &mut Conn, tenant: TenantId, ticket: TicketId, id: CommentId) -> Result<CommentRow> {
        suoja_store::comments::by_id(c, tenant, id)
            .await?
            .filter(|m| m.ticket_id == ticket)
            .ok_or(HelpdeskError::NotFound("Comment"))
    }

    /// Removes every occurrence of `phrase` from a comment (and from the ticket's description
    /// when it is the first comment). The phrase must occur in the comment.
    pub async fn redact_comment_text(&self, scope: &Scope, ticket: TicketId, comment: CommentId, phrase: &Personal<String>) -> Result<Comment> {
        let phrase = phrase.expose();
        check_phrase("text", phrase)?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let row = self.redactable_ticket(&mut tx, scope, ticket).await?;
        let m = self.ticket_comment(&mut tx, scope.tenant, ticket, comment).await?;
        let body = self.vault.decrypt_str(&mut tx, scope.tenant, &m.body_enc).await?;
        let html = match &m.html_enc {
            Some(h) => Some(self.vault.decrypt_str(&mut tx, scope.tenant, h).await?),
            None => None,
        };
        let new_body = redact_phrase(&body, phrase);
        let new_html = html.as_deref().and_then(|h| {
            let once = redact_phrase(h, phrase);
            let escaped = escape(phrase);
            match redact_phrase(once.as_deref().unwrap_or(h), &escaped) {
                Some(twice) => Some(twice),
                None => once,
            }
        });
        if new_body.is_none() && new_html.is_none() {
            return Err(invalid("text", "does not occur in the comment (it may already be redacted)"));
        }
        let body = new_body.unwrap_or(body);
        let html = new_html.map(|h| sanitize_html(&h)).or(html);
        let phrases = [phrase.to_string()];
        self.store_comment_redaction(&mut tx, scope, row, &m, &body, html.as_deref(), &phrases, now)
            .await?;
        let view = self.comment_view(&mut tx, scope.tenant, comment).await?;
        tx.commit().await?;
        self.after_redaction(scope.tenant, ticket, now).await;
        tracing::info!(tenant.id = %scope.tenant, ticket.id = %ticket, comment.id = %comment, actor.id = %scope.actor, "comment redacted");
        Ok(view)
    }

    /// Redacts what `<redact>` tags enclose in `html_body`, which must otherwise be the
    /// comment's HTML body as the API shows it.
    pub async fn redact_comment_html(&self, scope: &Scope, ticket: Option<TicketId>, comment: CommentId, html_body: &Personal<String>) -> Result<Comment> {
        let (stripped, ranges) = parse_redact_tags(html_body.expose())?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let m = suoja_store::comments::by_id(&mut tx, scope.tenant, comment)
            .await?
            .filter(|m| ticket.is_none_or(|t| t == m.ticket_id))
            .ok_or(HelpdeskError::NotFound("Comment"))?;
        let row = self.redactable_ticket(&mut tx, scope, m.ticket_id).await?;
        let body = self.vault.decrypt_str(&mut tx, scope.tenant, &m.body_enc).await?;
        let current = match &m.html_enc {
            Some(h) => self.vault.decrypt_str(&mut tx, scope.tenant, h).await?,
            None => plain_to_html(&body),
        };
        if stripped != current {
            return Err(invalid(
                "html_body",
                "must be the comment's html_body unchanged except for the <redact> tags added",
            ));
        }
        let mut html = String::with_capacity(current.len());
        let mut at = 0;
        let mut phrases = Vec::new();
        for r in &ranges {
            html.push_str(&current[at..r.start]);
            let inner = &current[r.clone()];
            if inner.chars().all(|c| c == MARK) {
                return Err(invalid("html_body", "the text in a <redact> tag is already redacted"));
            }
            html.push_str(&marks(inner));
            let plain = html_to_plain(inner);
            let plain = plain.trim();
            if !plain.is_empty() {
                phrases.push(plain.to_string());
            }
            at = r.end;
        }
        html.push_str(&current[at..]);
        let html = sanitize_html(&html);
        // The plain body loses the same phrases; if one does not occur as such (it spanned
        // markup), the plain body is derived from the redacted HTML instead.
        let mut new_body = body.clone();
        let mut derived = false;
        for p in &phrases {
            match redact_phrase(&new_body, p) {
                Some(b) => new_body = b,
                None => derived = true,
            }
        }
        if derived {
            new_body = html_to_plain(&html);
        }
        // A plain comment stays plain: its HTML is derived from the body when shown.
        let html = m.html_enc.is_some().then_some(html);
        self.store_comment_redaction(&mut tx, scope, row, &m, &new_body, html.as_deref(), &phrases, now)
            .await?;
        let view = self.comment_view(&mut tx, scope.tenant, comment).await?;
        tx.commit().await?;
        self.after_redaction(scope.tenant, m.ticket_id, now).await;
        tracing::info!(tenant.id = %scope.tenant, comment.id = %comment, actor.id = %scope.actor, "comment redacted");
        Ok(view)
    }

    /// Seals a comment's new text over the old, redacts the same phrases in the description
    /// when it is the ticket's first comment, and does the bookkeeping of every redaction.
    #[allow(clippy::too_many_arguments, reason = "the transaction, the rows and the new texts of one redaction, each used once")]
    async fn store_comment_redaction(
        &self,
        c: &mut Conn,
        scope: &Scope,
        mut row: TicketRow,
        m: &CommentRow,
        body: &str,
        html: Option<&str>,
        phrases: &[String],
        now: Timestamp,
    ) -> Result<()> {
        let body_enc = self.vault.encrypt_str(c, scope.tenant, m.key_id, body).await?;
        let html_enc = match html {
            Some(h) => Some(self.vault.encrypt_str(c, scope.tenant, m.key_id, h).await?),
            None => None,
        };
        suoja_store::comments::rekey(c, scope.tenant, m.id, m.key_id, body_enc, html_enc).await?;
        let first = suoja_store::comments::for_ticket(
            c,
            scope.tenant,
            row.id,
            suoja_store::comments::CommentQuery {
                limit: 1,
                ..suoja_store::comments::CommentQuery::ALL
            },
        )
        .await?;
        if first.first().map(|f| f.id) == Some(m.id) {
            let mut description = self.vault.decrypt_str(c, scope.tenant, &row.description_enc).await?;
            for p in phrases {
                if let Some(d) = redact_phrase(&description, p) {
                    description = d;
                }
            }
            row.description_enc = self.vault.encrypt_str(c, scope.tenant, row.key_id, &description).await?;
        }
        self.finish_redaction(c, scope, row, "comment_redaction", Some(m.id.0), None, None, now).await
    }

    /// Ticket bookkeeping shared by every redaction: the row written back with a new
    /// `updated_at` (so integrations see the change; `closed_at` stays), the history event, the
    /// index rebuilt and the export packages of everyone on the ticket deleted.
    #[allow(clippy::too_many_arguments, reason = "the transaction, the rows and the new texts of one redaction, each used once")]
    async fn finish_redaction(
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
        self.reindex_ticket(c, scope.tenant, row.id).await?;
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

    /// After a redaction has committed: lists it in the erasure ledger file (so a restore of an
    /// older backup applies it again), then clears the engine's files of the old text.
    async fn after_redaction(&self, tenant: TenantId, ticket: TicketId, at: Timestamp) {
        if self.ledger_file().is_some() {
            let logged = async {
                let mut c = self.db.read().await?;
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
        self.clear_log().await;
    }

    /// Moves the old ciphertext out of the engine's files: SQLite zeroed the old cells
    /// (`secure_delete`) and a truncating checkpoint clears the log; PostgreSQL's `VACUUM` prunes
    /// and compacts the pages that held the old row versions, and the WAL segment that held them
    /// is retired. A busy log is retried by the next redaction or erasure; the failure is logged,
    /// the redaction itself has committed.
    async fn clear_log(&self) {
        for table in ["comments", "tickets", "attachments"] {
            if let Err(e) = suoja_store::dialect::vacuum_table(&self.db, table).await {
                tracing::warn!(error = %e, table, "vacuuming after a redaction failed");
            }
        }
        match suoja_store::dialect::retire_wal(&self.db).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!("the database log could not be cleared after a redaction; the next checkpoint will"),
            Err(e) => tracing::warn!(error = %e, "clearing the database log after a redaction failed"),
        }
    }

    /// A comment as the API shows it.
    pub(crate) async fn comment_view(&self, c: &mut Conn, tenant: TenantId, id: CommentId) -> Result<Comment> {
        let r = suoja_store::comments::by_id(c, tenant, id).await?.ok_or(HelpdeskError::NotFound("Comment"))?;
        let files = suoja_store::attachments::for_comments(c, tenant, &[r.id]).await?;
        self.open_comment(c, tenant, &r, &files).await
    }

    /// Deletes an attachment's content. A file leaves a placeholder (`redacted.txt`, empty); a
    /// call recording (audio or video) keeps its metadata (name, type, size) without its media.
    /// Redacting a redacted attachment changes nothing.
    pub async fn redact_attachment(&self, scope: &Scope, ticket: TicketId, comment: CommentId, id: AttachmentId) -> Result<Attachment> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
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
    async fn empty_attachment(&self, c: &mut Conn, tenant: TenantId, a: &suoja_store::attachments::AttachmentRow, at: Timestamp) -> Result<()> {
        let (name_enc, content_type, size) = if is_recording(&a.content_type) {
            (a.file_name_enc.clone(), a.content_type.clone(), a.size)
        } else {
            (
                self.vault.encrypt_str(c, tenant, a.key_id, PLACEHOLDER_NAME).await?,
                "text/plain".to_string(),
                0,
            )
        };
        let empty = self.vault.encrypt(c, tenant, a.key_id, b"").await?;
        suoja_store::attachments::redact(c, tenant, a.id, name_enc, &content_type, size, empty, at).await?;
        Ok(())
    }

    /// Redacts an attachment for a retention policy: with no acting person, skipping files on
    /// tickets under a legal hold. Returns whether it was redacted.
    pub async fn redact_attachment_for_retention(&self, tenant: TenantId, id: AttachmentId) -> Result<bool> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let Some(a) = suoja_store::attachments::by_id(&mut tx, tenant, id).await?.filter(|a| a.redacted_at.is_none()) else {
            return Ok(false);
        };
        let Some(ticket) = a.ticket_id else { return Ok(false) };
        let Some(row) = suoja_store::tickets::by_id(&mut tx, tenant, ticket).await? else {
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

    async fn attachment_view(&self, c: &mut Conn, tenant: TenantId, id: AttachmentId) -> Result<Attachment> {
        let f = suoja_store::attachments::by_id(c, tenant, id)
            .await?
            .ok_or(HelpdeskError::NotFound("Attachment"))?;
        Ok(Attachment {
            id: f.id,
            file_name: crypt::open(&self.vault, c, tenant, &f.file_name_enc).await?,
            content_type: f.content_type,
            size: f.size,
            ticket_id: f.ticket_id,
        })
    }

    /// Redacts phrases in the subject and in custom field values (or a field's whole value).
    pub async fn redact_ticket_fields(&self, scope: &Scope, ticket: TicketId, r: &FieldRedaction) -> Result<Ticket> {
        if r.subject.is_none() && r.custom_fields.is_empty() {
            return Err(invalid("ticket", "name a subject phrase or custom fields to redact"));
        }
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let mut row = self.redactable_ticket(&mut tx, scope, ticket).await?;
        let mut events: Vec<(&str, Option<i64>)> = Vec::new();
        if let Some(p) = &r.subject {
            check_phrase("subject", p.expose())?;
            let subject = match &row.subject_enc {
                Some(s) => self.vault.decrypt_str(&mut tx, scope.tenant, s).await?,
                None => String::new(),
            };
            let new = redact_phrase(&subject, p.expose()).ok_or_else(|| invalid("subject", "does not occur in the subject (it may already be redacted)"))?;
            row.subject_enc = Some(self.vault.encrypt_str(&mut tx, scope.tenant, row.key_id, &new).await?);
            events.push(("subject_redaction", None));
        }
        if !r.custom_fields.is_empty() {
            let raw = self.vault.decrypt(&mut tx, scope.tenant, &row.custom_fields_enc).await?;
            let mut fields: Vec<(i64, Value)> = serde_json::from_slice(&raw).map_err(|e| HelpdeskError::Internal(format!("custom fields: {e}")))?;
            for (id, phrase) in &r.custom_fields {
                let slot = fields
                    .iter_mut()
                    .find(|(f, _)| f == id)
                    .ok_or_else(|| invalid("custom_fields", format!("the ticket has no value for field {id}")))?;
                slot.1 = match (&slot.1, phrase) {
                    (Value::Null, _) => return Err(invalid("custom_fields", format!("field {id} has no value"))),
                    (Value::String(s), Some(p)) => {
                        check_phrase("custom_fields", p.expose())?;
                        Value::String(redact_phrase(s, p.expose()).ok_or_else(|| invalid("custom_fields", format!("the text does not occur in field {id}")))?)
                    }
                    (Value::String(s), None) if s.chars().all(|c| c == MARK) => {
                        return Err(invalid("custom_fields", format!("field {id} is already redacted")));
                    }
                    (Value::String(s), None) => Value::String(marks(s)),
                    (_, Some(_)) => return Err(invalid("custom_fields", format!("field {id} holds no text; redact its whole value"))),
                    (_, None) => Value::Null,
                };
                events.push(("custom_field_redaction", Some(*id)));
            }
            row.custom_fields_enc = crypt::seal_json(&self.vault, &mut tx, scope.tenant, row.key_id, &fields).await?;
        }
        // Every event but the last is recorded here; the last goes with the bookkeeping.
        let Some((&(kind, field), earlier)) = events.split_last() else {
            return Err(invalid("ticket", "nothing to redact"));
        };
        for (kind, field) in earlier {
            suoja_store::history::insert(
                &mut tx,
                scope.tenant,
                &EventRow {
                    id: 0,
                    ticket_id: ticket,
                    actor_id: Some(scope.actor.0),
                    kind: (*kind).into(),
                    comment_id: None,
                    attachment_id: None,
                    field_id: *field,
                    created_at: now,
                },
            )
            .await?;
        }
        let id = row.id;
        self.finish_redaction(&mut tx, scope, row, kind, None, None, field, now).await?;
        let fresh = suoja_store::tickets::by_id(&mut tx, scope.tenant, id)
            .await?
            .ok_or(HelpdeskError::NotFound("Ticket"))?;
        let view = self.open_ticket_full(&mut tx, scope, &fresh).await?;
        tx.commit().await?;
        self.after_redaction(scope.tenant, ticket, now).await;
        tracing::info!(tenant.id = %scope.tenant, ticket.id = %ticket, actor.id = %scope.actor, "ticket fields redacted");
        Ok(view)
    }

    /// A ticket's redaction history, for staff.
    pub async fn ticket_history(&self, scope: &Scope, ticket: TicketId) -> Result<Vec<HistoryEvent>> {
        let mut c = self.db.read().await?;
        self.redactable_ticket(&mut c, scope, ticket).await?;
        Ok(suoja_store::history::for_ticket(&mut c, scope.tenant, ticket)
            .await?
            .into_iter()
            .map(|e| HistoryEvent {
                id: e.id,
                ticket_id: e.ticket_id,
                actor_id: e.actor_id.map(UserId),
                kind: e.kind,
                comment_id: e.comment_id.map(CommentId),
                attachment_id: e.attachment_id.map(AttachmentId),
                field_id: e.field_id,
                created_at: e.created_at,
            })
            .collect())
    }
}

/// A redaction as the erasure ledger file records it: ids, kind and time, never the text.
fn ledger_line(tenant: TenantId, e: &EventRow) -> Value {
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

impl Helpdesk {
    /// Applies a redaction again to a database restored from before it, unless the ticket's
    /// history shows it was applied. The file holds no text, so the whole target is redacted: the
    /// comment's entire text (and the description when it is the first comment), the whole
    /// subject, the field's whole value, the file. Returns whether anything was done.
    pub async fn replay_redaction(&self, r: &RedactionRecord) -> Result<bool> {
        let tenant = TenantId(r.tenant_id);
        let ticket = TicketId(r.ticket_id);
        let at = Timestamp(r.at);
        let mut tx = self.db.begin().await?;
        let Some(mut row) = suoja_store::tickets::by_id(&mut tx, tenant, ticket).await? else {
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
                let Some(m) = suoja_store::comments::by_id(&mut tx, tenant, CommentId(r.comment_id.unwrap_or(0))).await? else {
                    return Ok(false);
                };
                let body = self.vault.decrypt_str(&mut tx, tenant, &m.body_enc).await?;
                let body_enc = self.vault.encrypt_str(&mut tx, tenant, m.key_id, &marks(&body)).await?;
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
                    let d = self.vault.decrypt_str(&mut tx, tenant, &row.description_enc).await?;
                    row.description_enc = self.vault.encrypt_str(&mut tx, tenant, row.key_id, &marks(&d)).await?;
                }
            }
            "attachment_redaction" | "recording_redaction" => {
                let Some(a) = suoja_store::attachments::by_id(&mut tx, tenant, AttachmentId(r.attachment_id.unwrap_or(0))).await? else {
                    return Ok(false);
                };
                if a.redacted_at.is_none() {
                    self.empty_attachment(&mut tx, tenant, &a, at).await?;
                }
            }
            "subject_redaction" => {
                if let Some(s) = row.subject_enc.clone() {
                    let subject = self.vault.decrypt_str(&mut tx, tenant, &s).await?;
                    row.subject_enc = Some(self.vault.encrypt_str(&mut tx, tenant, row.key_id, &marks(&subject)).await?);
                }
            }
            _ => {
                let raw = self.vault.decrypt(&mut tx, tenant, &row.custom_fields_enc).await?;
                let mut fields: Vec<(i64, Value)> = serde_json::from_slice(&raw).map_err(|e| HelpdeskError::Internal(format!("custom fields: {e}")))?;
                for f in fields.iter_mut().filter(|(id, _)| Some(*id) == r.field_id) {
                    f.1 = match &f.1 {
                        Value::String(s) => Value::String(marks(s)),
                        _ => Value::Null,
                    };
                }
                row.custom_fields_enc = crypt::seal_json(&self.vault, &mut tx, tenant, row.key_id, &fields).await?;
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
