//! Other people in a person's export (GDPR Art. 15(4), A15-02): everyone but the person is shown
//! by a stable placeholder — `[other person 1]`, or `Agent #1` for staff unless the operator shows
//! agents by name — and their identifiers are replaced wherever the identifier matcher finds
//! them in the exported text: their e-mail address, phone number and full name (a one-word name
//! too, since it is all of it), as whole words. A name the person shares with them is left
//! alone: it is also the person's own. What was replaced is counted, never stored.

use std::collections::BTreeMap;

use suoja_core::{TenantId, UserId};
use suoja_store::Conn;

use crate::matcher::{Identity, Markup, Matcher};
use crate::{Privacy, Result};

/// Labels for the people in an export and a replacer for their identifiers.
pub(crate) struct People {
    subject: UserId,
    labels: BTreeMap<i64, String>,
    matcher: Matcher,
    replacements: Vec<String>,
}

impl People {
    /// How a person appears in the export.
    pub(crate) fn label(&self, id: Option<i64>) -> serde_json::Value {
        match id {
            None => serde_json::Value::Null,
            Some(i) if i == self.subject.0 => serde_json::json!("you"),
            Some(i) => serde_json::json!(self.labels.get(&i).cloned().unwrap_or_else(|| "[other person]".to_string())),
        }
    }

    /// `text` with every other person's identifiers replaced; returns the count too.
    pub(crate) fn redact(&self, text: &str) -> (String, usize) {
        self.matcher
            .replace(text, Markup::Plain, |h| {
                (h.class.is_strong() || h.whole_name).then(|| self.replacements.get(h.person).cloned().unwrap_or_else(|| "[other person]".into()))
            })
            .unwrap_or_else(|| (text.to_string(), 0))
    }
}

impl Privacy {
    /// Labels the people `ids` (plus anyone whose e-mail or phone appears in `texts`, and with
    /// `by_name` anyone with a name word there — for short passages) and prepares the replacer.
    /// The subject's own identifiers are never replaced.
    pub(crate) async fn people(&self, c: &mut Conn, tenant: TenantId, subject: UserId, ids: &[i64], texts: &[&str], by_name: bool) -> Result<People> {
        let agent_names = self.policy.agent_names;
        let mut all: std::collections::BTreeSet<i64> = ids.iter().copied().filter(|i| *i != subject.0).collect();
        // People not on the ticket but named by e-mail or phone in the text.
        let h = self.hd.vault().search_hasher(c, tenant).await?;
        let mut tokens = Vec::new();
        for t in texts {
            let terms = if by_name { suoja_search::terms(t) } else { suoja_search::contact_terms(t) };
            tokens.extend(terms.iter().map(|term| h.token(term)));
        }
        tokens.sort_unstable();
        tokens.dedup();
        for id in suoja_search::index::any_of(c, tenant, suoja_search::DocKind::User, &tokens, 5_000).await? {
            if id != subject.0 {
                all.insert(id);
            }
        }
        let ids: Vec<UserId> = all.iter().copied().map(UserId).collect();
        let mut rows = Vec::new();
        for chunk in ids.chunks(500) {
            rows.extend(suoja_store::users::by_ids(c, tenant, chunk).await?);
        }
        let mut labels = BTreeMap::new();
        let (mut others, mut agents) = (0, 0);
        let mut identities: Vec<Identity> = Vec::new();
        let mut replacements: Vec<String> = Vec::new();
        let me = match suoja_store::users::by_id(c, tenant, subject).await? {
            Some(u) => self.identity(c, tenant, &u).await?,
            None => Identity::default(),
        };
        rows.sort_by_key(|r| r.id);
        for r in &rows {
            let staff = r.role.is_staff();
            let name = self.hd.vault().decrypt_str(c, tenant, &r.name_enc).await.ok();
            let label = if staff {
                agents += 1;
                match (&name, agent_names) {
                    (Some(n), true) => n.clone(),
                    _ => format!("Agent #{agents}"),
                }
            } else {
                others += 1;
                format!("[other person {others}]")
            };
            labels.insert(r.id.0, label.clone());
            if staff && agent_names {
                continue;
            }
            let mut id = self.identity(c, tenant, r).await?;
            // A name the person shares (all of it, or a one-word name that is one of theirs) is
            // also the person's own: it stays.
            let shared = id.same_name(&me) || (id.name_words().len() == 1 && me.name_words().iter().any(|w| id.name_words().contains(w)));
            if shared {
                id = id.without_name();
            }
            identities.push(id);
            replacements.push(label);
        }
        Ok(People {
            subject,
            labels,
            matcher: Matcher::new(&identities),
            replacements,
        })
    }
}
