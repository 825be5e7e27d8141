//! Redacting a phrase from free text outside tickets: a help center comment, a community post
//! or comment. As with a ticket comment, the phrase is replaced by marks everywhere it occurs in
//! the row's text, the new text is sealed over the old under the same key, the search entries are
//! rebuilt, export packages that could hold the old text are deleted, and the privacy ledger and
//! the erasure ledger file record the redaction (table, row, who, when; never the text) so that
//! a restore of an older backup applies it again. Afterwards the engine's files are cleared of
//! the old value.

use serde_json::json;
use suoja_core::{LedgerKind, Personal, Scope, TenantId};
use suoja_helpdesk::HelpdeskError;
use suoja_helpdesk::text::{escape, sanitize_html};

use super::*;
use crate::matcher::Markup;
use crate::{Privacy, Result};

/// What staff can redact outside tickets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreeText {
    /// A comment on a help center article: (article, comment).
    ArticleComment(i64, i64),
    /// A community post.
    Post(i64),
    /// A comment on a community post: (post, comment).
    PostComment(i64, i64),
}

impl FreeText {
    /// The table, the row, and the column and value naming its parent.
    fn target(self) -> (&'static str, i64, Option<(&'static str, i64)>) {
        match self {
            FreeText::ArticleComment(a, id) => ("hc_article_comments", id, Some(("article_id", a))),
            FreeText::Post(id) => ("hc_posts", id, None),
            FreeText::PostComment(p, id) => ("hc_post_comments", id, Some(("post_id", p))),
        }
    }

    fn noun(self) -> &'static str {
        match self {
            FreeText::ArticleComment(..) | FreeText::PostComment(..) => "Comment",
            FreeText::Post(_) => "Post",
        }
    }
}

/// A redaction of free text as the erasure ledger file records it: ids and time, never the text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct TextRedactionRecord {
    /// Tenant.
    pub tenant_id: i64,
    /// The table (a free-text table of the data map).
    pub table: String,
    /// The row.
    pub row_id: i64,
    /// The person the row belongs to (its author), whose ledger holds the redaction.
    pub subject_id: Option<i64>,
    /// When (ms), as in the privacy ledger.
    pub at: i64,
}

/// `text` with every occurrence of `phrase` (and, in HTML, of its escaped form) marked.
fn redact_in(text: &str, markup: Markup, phrase: &str) -> Option<String> {
    match markup {
        Markup::Plain => redact_phrase(text, phrase),
        Markup::Html => {
            let once = redact_phrase(text, phrase);
            let twice = redact_phrase(once.as_deref().unwrap_or(text), &escape(phrase));
            twice.or(once).map(|h| sanitize_html(&h))
        }
        // A rule's definition is not redacted by phrase (staff change the rule instead).
        Markup::Json => None,
    }
}

impl Privacy {
    /// Removes every occurrence of `phrase` from a help center comment or community post or
    /// comment (its title and body). Staff only; the phrase must occur in it.
    pub async fn redact_free_text(&self, scope: &Scope, target: FreeText, phrase: &Personal<String>) -> Result<()> {
        if !scope.is_staff() {
            return Err(HelpdeskError::Forbidden("only agents and admins can redact").into());
        }
        let phrase = phrase.expose();
        check_phrase("text", phrase)?;
        let (table, id, parent) = target.target();
        let t = crate::texts::table(table).ok_or_else(|| crate::PrivacyError::Internal(format!("{table} holds no declared free text")))?;
        let now = self.hd.now();
        let mut tx = self.hd.db().begin().await?;
        if let Some((column, value)) = parent {
            let rows = suoja_store::graph::rows_linked(&mut tx, scope.tenant, table, &["id", column], "id", &[id]).await?;
            if rows.first().and_then(|r| r.get(1)) != Some(&suoja_store::graph::Value::Int(value)) {
                return Err(HelpdeskError::NotFound(target.noun()).into());
            }
        }
        let Some(row) = self.text_row(&mut tx, scope.tenant, &t, id).await? else {
            return Err(HelpdeskError::NotFound(target.noun()).into());
        };
        if !self
            .rewrite_row(&mut tx, scope.tenant, &t, &row, |text, markup| redact_in(text, markup, phrase))
            .await?
        {
            return Err(invalid("text", "does not occur in the text (it may already be redacted)"));
        }
        let subject = row.people.first().copied();
        self.record_ledger(
            &mut tx,
            scope.tenant,
            LedgerKind::TextRedacted,
            subject,
            Some(scope.actor.0),
            json!({ "table": table, "id": id, "at": now.0 }),
        )
        .await?;
        tx.commit().await?;
        let line = json!({"kind": "text_redaction", "tenant_id": scope.tenant.0, "table": table, "row_id": id, "subject_id": subject, "at": now.0});
        if let Err(e) = self.log_erasure_lines(&[line]).await {
            tracing::error!(error = %e, "writing a redaction to the erasure ledger file failed");
        }
        self.clear_text_log(table).await;
        tracing::info!(tenant.id = %scope.tenant, table, row.id = id, actor.id = %scope.actor, "text redacted");
        Ok(())
    }

    /// Vacuums the table and clears the engine's log of the old value (a failure is logged; the
    /// redaction itself has committed).
    async fn clear_text_log(&self, table: &str) {
        if let Err(e) = suoja_store::dialect::vacuum_table(self.hd.db(), table).await {
            tracing::warn!(error = %e, table, "vacuuming after a redaction failed");
        }
        if let Err(e) = suoja_store::dialect::retire_wal(self.hd.db()).await {
            tracing::warn!(error = %e, "clearing the database log after a redaction failed");
        }
    }

    /// Applies a free-text redaction again to a database restored from before it, unless the
    /// privacy ledger shows it was applied. The file holds no text, so the row's whole text is
    /// marked. Returns whether anything was done.
    pub async fn replay_text_redaction(&self, r: &TextRedactionRecord) -> Result<bool> {
        let tenant = TenantId(r.tenant_id);
        let Some(t) = crate::texts::table(&r.table) else { return Ok(false) };
        let mut tx = self.hd.db().begin().await?;
        let entries = match r.subject_id {
            Some(s) => suoja_store::ledger::for_subject(&mut tx, tenant, s).await?,
            None => suoja_store::ledger::page(&mut tx, tenant, 0, i64::MAX).await?,
        };
        let applied = entries.iter().any(|e| {
            let d: serde_json::Value = serde_json::from_str(&e.details).unwrap_or_default();
            let field = |k: &str| d.get(k).cloned().unwrap_or_default();
            e.kind == LedgerKind::TextRedacted.as_str() && field("table") == r.table.as_str() && field("id") == r.row_id && field("at") == r.at
        });
        if applied {
            return Ok(false);
        }
        // The row must be the one redacted: there, written by the same person no later than the
        // redaction (a restore brings back old id counters, so a later row may have its id).
        let row = self
            .text_row(&mut tx, tenant, &t, r.row_id)
            .await?
            .filter(|row| (r.subject_id.is_none() || row.people.first().copied() == r.subject_id) && row.created_at.is_none_or(|c| c <= r.at));
        let whole = |text: &str, markup: Markup| -> Option<String> {
            let plain = match markup {
                Markup::Plain => text.to_string(),
                Markup::Html => suoja_helpdesk::text::html_to_plain(text),
                // Structure, not a text to blank whole.
                Markup::Json => return None,
            };
            (!plain.chars().all(|c| c == MARK)).then(|| marks(&plain))
        };
        let changed = match &row {
            Some(row) => self.rewrite_row(&mut tx, tenant, &t, row, whole).await?,
            None => false,
        };
        // Recorded either way: an absent row's line is then done, so a row given its id later
        // is never taken for it.
        self.record_ledger(
            &mut tx,
            tenant,
            LedgerKind::TextRedacted,
            r.subject_id,
            None,
            json!({ "table": r.table, "id": r.row_id, "at": r.at, "replayed": true, "absent": row.is_none() }),
        )
        .await?;
        tx.commit().await?;
        if changed {
            self.clear_text_log(t.table.name).await;
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_loses_the_phrase_and_its_escaped_form() {
        let out = redact_in("<p>Call Tom &amp; Jerry at 040 123</p>", Markup::Html, "Tom & Jerry").unwrap_or_default();
        assert!(!out.contains("Tom"), "{out}");
        assert!(out.contains("040 123"));
        assert_eq!(redact_in("nothing here", Markup::Plain, "Tom"), None);
    }
}
