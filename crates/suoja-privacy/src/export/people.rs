//! Other people in a person's export (GDPR Art. 15(4), A15-02): everyone but the person is shown
//! by a stable placeholder — `[other person 1]`, or `Agent #1` for staff unless the operator shows
//! agents by name — and their known identifiers (name, e-mail, phone) are replaced wherever they
//! occur in the exported text. What was replaced is counted, never stored.

use std::collections::BTreeMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use suoja_core::{TenantId, UserId};
use suoja_store::AnyConnection;

use crate::{Privacy, Result};

/// Labels for the people in an export and a replacer for their identifiers.
pub(crate) struct People {
    subject: UserId,
    labels: BTreeMap<i64, String>,
    matcher: Option<AhoCorasick>,
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
        let Some(m) = &self.matcher else {
            return (text.to_string(), 0);
        };
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        let mut n = 0;
        for hit in m.find_iter(text) {
            out.push_str(text.get(last..hit.start()).unwrap_or_default());
            out.push_str(self.replacements.get(hit.pattern().as_usize()).map_or("[other person]", String::as_str));
            last = hit.end();
            n += 1;
        }
        out.push_str(text.get(last..).unwrap_or_default());
        (out, n)
    }
}

impl Privacy {
    /// Labels the people `ids` (plus anyone whose e-mail or phone appears in `texts`) and
    /// prepares the replacer. The subject's own identifiers are never replaced.
    pub(crate) async fn people(
        &self,
        c: &mut AnyConnection,
        tenant: TenantId,
        subject: UserId,
        ids: &[i64],
        texts: &[&str],
        agent_names: bool,
    ) -> Result<People> {
        let mut all: std::collections::BTreeSet<i64> = ids.iter().copied().filter(|i| *i != subject.0).collect();
        // People not on the ticket but named by e-mail or phone in the text.
        let h = self.hd.vault().search_hasher(c, tenant).await?;
        let mut tokens = Vec::new();
        for t in texts {
            tokens.extend(suoja_search::contact_terms(t).iter().map(|term| h.token(term)));
        }
        tokens.sort_unstable();
        tokens.dedup();
        for id in suoja_store::search::any_of(c, tenant, 2, &tokens, 5_000).await? {
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
        let mut patterns: Vec<(String, String)> = Vec::new();
        let subject_ids = {
            let me = suoja_store::users::by_id(c, tenant, subject).await?;
            match me {
                Some(u) => self.identifiers(c, tenant, &u).await?,
                None => Vec::new(),
            }
        };
        rows.sort_by_key(|r| r.id);
        for r in &rows {
            let staff = r.role != "end-user";
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
            for ident in self.identifiers(c, tenant, r).await? {
                // Never replace what is also the person's own identifier (shared names).
                if !subject_ids.iter().any(|s| s.eq_ignore_ascii_case(&ident)) {
                    patterns.push((ident, label.clone()));
                }
            }
        }
        patterns.sort_by_key(|p| std::cmp::Reverse(p.0.len()));
        let matcher = if patterns.is_empty() {
            None
        } else {
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::LeftmostLongest)
                .build(patterns.iter().map(|(p, _)| p.as_str()))
                .ok()
        };
        Ok(People {
            subject,
            labels,
            matcher,
            replacements: patterns.into_iter().map(|(_, l)| l).collect(),
        })
    }
}
