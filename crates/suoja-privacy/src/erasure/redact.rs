//! Replacing an erased person's identifiers inside other people's text (A17-01): the comments,
//! notes, subjects, descriptions and organisation texts an erasure plan names. The identifier
//! matcher decides what is the person — strong matches always, a weak match only where privacy
//! staff accepted it — and each changed value is sealed again under its own key. Nothing else in
//! the text changes.

use std::collections::BTreeSet;

use suoja_core::{OrganizationId, TenantId, TicketId};
use suoja_store::Conn;

use crate::matcher::{Markup, Matcher};
use crate::mentions::Source;
use crate::{Privacy, Result};

/// What replaces a person's identifier inside someone else's text.
pub const REDACTED: &str = "[redacted]";

/// `text` with the person's strong matches (and, with `weak`, their weak ones) replaced.
pub(crate) fn erase_text(m: &Matcher, text: &str, markup: Markup, weak: bool) -> Option<String> {
    m.replace(text, markup, |h| (h.class.is_strong() || weak).then(|| REDACTED.to_string()))
        .map(|(s, _)| s)
}

impl Privacy {
    /// Replaces the person's identifiers in the given comments of one ticket and in the
    /// ticket's subject and description, re-sealing each changed value under its own key, then
    /// rebuilds the ticket's index entries. `accepted` holds the texts where weak matches go too.
    /// Returns how many comments changed.
    pub(crate) async fn redact_in_ticket(
        &self,
        c: &mut Conn,
        tenant: TenantId,
        ticket: TicketId,
        comment_ids: &[i64],
        m: &Matcher,
        accepted: &BTreeSet<(Source, i64)>,
    ) -> Result<u64> {
        let v = self.hd.vault();
        let Some(mut row) = suoja_store::tickets::by_id_for_update(c, tenant, ticket).await? else {
            return Ok(0);
        };
        let mut changed = 0;
        let comments = suoja_store::comments::for_ticket(c, tenant, ticket, suoja_store::comments::CommentQuery::ALL).await?;
        let first = comments.first().map(|m| m.id.0);
        for cm in comments.iter().filter(|cm| comment_ids.contains(&cm.id.0)) {
            let weak = accepted.contains(&(Source::Comment, cm.id.0));
            let Ok(body) = v.decrypt_str(c, tenant, &cm.body_enc).await else {
                continue;
            };
            let html = match cm.html_enc.as_deref() {
                Some(h) => v.decrypt_str(c, tenant, h).await.ok(),
                None => None,
            };
            let new_body = erase_text(m, &body, Markup::Plain, weak);
            let new_html = html.as_deref().and_then(|h| erase_text(m, h, Markup::Html, weak));
            if new_body.is_none() && new_html.is_none() {
                continue;
            }
            let body_enc = v.encrypt_str(c, tenant, cm.key_id, new_body.as_deref().unwrap_or(&body)).await?;
            let html_enc = match new_html.or(html) {
                Some(h) => Some(v.encrypt_str(c, tenant, cm.key_id, &h).await?),
                None => None,
            };
            suoja_store::comments::rekey(c, tenant, cm.id, cm.key_id, body_enc, html_enc).await?;
            // The original e-mail holds the same words: it goes.
            suoja_store::mail::delete_for_comment(c, tenant, cm.id.0).await?;
            changed += 1;
        }
        let mut row_changed = false;
        // The description is the first comment's text: it follows that comment's decision.
        let weak_description = first.is_some_and(|f| accepted.contains(&(Source::Comment, f)));
        if let Ok(d) = v.decrypt_str(c, tenant, &row.description_enc).await
            && let Some(new) = erase_text(m, &d, Markup::Plain, weak_description)
        {
            row.description_enc = v.encrypt_str(c, tenant, row.key_id, &new).await?;
            row_changed = true;
        }
        if let Some(s) = row.subject_enc.clone()
            && let Ok(d) = v.decrypt_str(c, tenant, &s).await
            && let Some(new) = erase_text(m, &d, Markup::Plain, accepted.contains(&(Source::TicketSubject, ticket.0)))
        {
            row.subject_enc = Some(v.encrypt_str(c, tenant, row.key_id, &new).await?);
            row_changed = true;
        }
        // The ticket's other fields (custom field values, tags, external id), and what they and
        // the subject held before, as its audits keep it: weak matches only where privacy staff
        // accepted them there.
        let weak_fields = accepted.contains(&(Source::TicketFields, ticket.0));
        let erase = |s: &str| erase_text(m, s, Markup::Plain, weak_fields);
        let fields: Vec<(i64, serde_json::Value)> = suoja_helpdesk::crypt::open_json(v, c, tenant, &row.custom_fields_enc).await?;
        let mut fields_changed = false;
        let fields: Vec<(i64, serde_json::Value)> = fields
            .into_iter()
            .map(|(id, value)| match suoja_helpdesk::tickets::audits::on_strings(&value, &erase) {
                Some(new) => {
                    fields_changed = true;
                    (id, new)
                }
                None => (id, value),
            })
            .collect();
        if fields_changed {
            row.custom_fields_enc = suoja_helpdesk::crypt::seal_json(v, c, tenant, row.key_id, &fields).await?;
            row_changed = true;
        }
        let tags: Vec<String> = suoja_helpdesk::crypt::open_json(v, c, tenant, &row.tags_enc).await?;
        if tags.iter().any(|t| erase(t).is_some()) {
            let kept: Vec<String> = tags.iter().map(|t| erase(t).unwrap_or_else(|| t.clone())).collect();
            let kept = suoja_helpdesk::users::normalize_tags(&kept);
            row.tags_enc = suoja_helpdesk::crypt::seal_json(v, c, tenant, row.key_id, &kept).await?;
            self.hd.set_ticket_tags(c, tenant, ticket, &kept).await?;
            row_changed = true;
        }
        if let Some(x) = row.external_id_enc.clone()
            && let Ok(d) = v.decrypt_str(c, tenant, &x).await
            && let Some(new) = erase(&d)
        {
            row.external_id_enc = Some(v.encrypt_str(c, tenant, row.key_id, &new).await?);
            row_changed = true;
        }
        if row_changed {
            suoja_store::tickets::update(c, tenant, &row).await?;
        }
        self.hd
            .rewrite_audit_values(c, tenant, ticket, suoja_helpdesk::tickets::audits::EVERY_FIELD, &|v| {
                suoja_helpdesk::tickets::audits::on_strings(v, &erase)
            })
            .await?;
        self.hd.reindex_ticket(c, tenant, ticket).await?;
        Ok(changed)
    }

    /// Replaces the person's identifiers in an organisation's name, details, notes and field
    /// values (plain, organisational data) and re-indexes it. Returns whether it changed.
    pub(crate) async fn redact_in_organization(&self, c: &mut Conn, tenant: TenantId, id: i64, m: &Matcher, weak: bool) -> Result<bool> {
        let Some(mut o) = suoja_store::organizations::by_id_for_update(c, tenant, OrganizationId(id)).await? else {
            return Ok(false);
        };
        let name = erase_text(m, &o.name, Markup::Plain, weak);
        let details = o.details.as_deref().and_then(|d| erase_text(m, d, Markup::Plain, weak));
        let notes = o.notes.as_deref().and_then(|d| erase_text(m, d, Markup::Plain, weak));
        // The values of its organisation fields, as free text.
        let mut fields: serde_json::Map<String, serde_json::Value> =
            o.organization_fields.as_deref().and_then(|f| serde_json::from_str(f).ok()).unwrap_or_default();
        let mut fields_changed = false;
        for value in fields.values_mut() {
            if let Some(new) = suoja_helpdesk::tickets::audits::on_strings(value, &|s| erase_text(m, s, Markup::Plain, weak)) {
                *value = new;
                fields_changed = true;
            }
        }
        if name.is_none() && details.is_none() && notes.is_none() && !fields_changed {
            return Ok(false);
        }
        if fields_changed {
            o.organization_fields = Some(serde_json::Value::Object(fields).to_string());
        }
        if let Some(n) = name {
            // Names are unique per tenant; the id keeps a redacted one unique.
            o.name = format!("{n} #{id}");
        }
        o.details = details.or(o.details);
        o.notes = notes.or(o.notes);
        o.updated_at = self.hd.now();
        suoja_store::organizations::update(c, tenant, &o).await?;
        self.hd.reindex_organization(c, tenant, OrganizationId(id)).await?;
        Ok(true)
    }
}
