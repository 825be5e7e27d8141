//! Redacting a comment: a phrase named as text, or passages marked with `<redact>` tags in its
//! HTML; the description follows when it is the ticket's first comment.

use suoja_core::{CommentId, Personal, Scope, TenantId, TicketId, Timestamp};
use suoja_store::Conn;
use suoja_store::comments::CommentRow;
use suoja_store::tickets::TicketRow;

use suoja_helpdesk::HelpdeskError;
use suoja_helpdesk::model::Comment;
use suoja_helpdesk::text::{escape, html_to_plain, plain_to_html, sanitize_html};

use super::*;
use crate::{Privacy, Result};

impl Privacy {
    /// Removes every occurrence of `phrase` from a comment (and from the ticket's description
    /// when it is the first comment). The phrase must occur in the comment.
    pub async fn redact_comment_text(&self, scope: &Scope, ticket: TicketId, comment: CommentId, phrase: &Personal<String>) -> Result<Comment> {
        let phrase = phrase.expose();
        check_phrase("text", phrase)?;
        let now = self.hd.now();
        let mut tx = self.hd.db().begin().await?;
        let row = self.redactable_ticket(&mut tx, scope, ticket).await?;
        let m = self.ticket_comment(&mut tx, scope.tenant, ticket, comment).await?;
        let body = self.hd.vault().decrypt_str(&mut tx, scope.tenant, &m.body_enc).await?;
        let html = match &m.html_enc {
            Some(h) => Some(self.hd.vault().decrypt_str(&mut tx, scope.tenant, h).await?),
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
        let now = self.hd.now();
        let mut tx = self.hd.db().begin().await?;
        // The ticket is locked before the comment is read, as every redaction does, so two
        // redactions of one comment take turns and each starts from the other's result.
        let of = suoja_store::comments::by_id(&mut tx, scope.tenant, comment)
            .await?
            .filter(|m| ticket.is_none_or(|t| t == m.ticket_id))
            .ok_or(HelpdeskError::NotFound("Comment"))?
            .ticket_id;
        let row = self.redactable_ticket(&mut tx, scope, of).await?;
        let m = suoja_store::comments::by_id(&mut tx, scope.tenant, comment)
            .await?
            .filter(|m| m.ticket_id == of)
            .ok_or(HelpdeskError::NotFound("Comment"))?;
        let body = self.hd.vault().decrypt_str(&mut tx, scope.tenant, &m.body_enc).await?;
        let current = match &m.html_enc {
            Some(h) => self.hd.vault().decrypt_str(&mut tx, scope.tenant, h).await?,
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
    #[allow(
        clippy::too_many_arguments,
        reason = "the transaction, the rows and the new texts of one redaction, each used once"
    )]
    pub(super) async fn store_comment_redaction(
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
        // The original e-mail the comment came from holds the same words: it goes.
        suoja_store::mail::delete_for_comment(c, scope.tenant, m.id.0).await?;
        let body_enc = self.hd.vault().encrypt_str(c, scope.tenant, m.key_id, body).await?;
        let html_enc = match html {
            Some(h) => Some(self.hd.vault().encrypt_str(c, scope.tenant, m.key_id, h).await?),
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
            let mut description = self.hd.vault().decrypt_str(c, scope.tenant, &row.description_enc).await?;
            for p in phrases {
                if let Some(d) = redact_phrase(&description, p) {
                    description = d;
                }
            }
            row.description_enc = self.hd.vault().encrypt_str(c, scope.tenant, row.key_id, &description).await?;
        }
        self.finish_redaction(c, scope, row, "comment_redaction", Some(m.id.0), None, None, now).await
    }

    /// A comment as the API shows it.
    pub(crate) async fn comment_view(&self, c: &mut Conn, tenant: TenantId, id: CommentId) -> Result<Comment> {
        let r = suoja_store::comments::by_id(c, tenant, id).await?.ok_or(HelpdeskError::NotFound("Comment"))?;
        let files = suoja_store::attachments::for_comments(c, tenant, &[r.id]).await?;
        Ok(self.hd.open_comment(c, tenant, &r, &files).await?)
    }
}
