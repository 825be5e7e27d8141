//! Free text the data map marks (`Column::text`) outside tickets and organisations: people's
//! profile notes, the help center's and community's articles, posts and comments, and whatever
//! surface is declared next. One generic path, driven by the declaration alone, reads such rows
//! (sealed columns opened under their row's key) and writes them back changed: the identifier
//! matcher looks for a person in them (mentions, exports, erasure) and staff redact phrases from
//! them. Tickets, comments and organisations have paths of their own (the ticket index narrows
//! what is read; a ticket's description follows its first comment).

use suoja_core::{KeyId, TenantId};
use suoja_search::DocKind;
use suoja_store::Conn;
use suoja_store::graph::Value;

use crate::datamap::{Column, Storage, TABLES, Table, Text, Via};
use crate::matcher::Markup;
use crate::{Privacy, Result};

/// Tables whose free text the matcher reads through paths of their own.
pub(crate) const OWN_PATHS: &[&str] = &["tickets", "comments", "organizations"];

/// A table with free text read by the generic path.
#[derive(Debug, Clone)]
pub(crate) struct TextTable {
    /// The declaration.
    pub table: &'static Table,
    /// Its free-text columns.
    pub columns: Vec<&'static Column>,
    /// Whether its sealed columns are sealed under the row's `key_id`.
    pub keyed: bool,
    /// Columns linking a row to the people it belongs to (its author, its owner).
    pub people: Vec<&'static str>,
    /// Whether rows have a `created_at`.
    pub dated: bool,
    /// Whether erasing a row's person removes or empties the row; when not (articles staff
    /// wrote stay), the person's own rows are searched for their identifiers like anyone's.
    pub own_rows_go: bool,
}

/// Every table read by the generic path, in the map's order.
pub(crate) fn tables() -> Vec<TextTable> {
    TABLES
        .iter()
        .filter(|t| !t.derived && !OWN_PATHS.contains(&t.name))
        .filter_map(|t| {
            let columns: Vec<&'static Column> = t.columns.iter().filter(|c| c.text.is_some()).collect();
            (!columns.is_empty()).then(|| TextTable {
                table: t,
                keyed: t.columns.iter().any(|c| c.name == "key_id"),
                dated: t.columns.iter().any(|c| c.name == "created_at"),
                own_rows_go: t.erasure != crate::datamap::Erasure::Keep,
                people: t.subjects.iter().filter(|l| l.via == Via::User).map(|l| l.column).collect(),
                columns,
            })
        })
        .collect()
}

/// The generic table named `name`, if it is one.
pub(crate) fn table(name: &str) -> Option<TextTable> {
    tables().into_iter().find(|t| t.table.name == name)
}

/// What a column's markup means to the matcher.
pub(crate) fn markup(c: &Column) -> Markup {
    match c.text {
        Some(Text::Html) => Markup::Html,
        Some(Text::Json) => Markup::Json,
        _ => Markup::Plain,
    }
}

/// One row's free text, opened.
#[derive(Debug, Clone)]
pub(crate) struct TextRow {
    /// The row's id.
    pub id: i64,
    /// The key its sealed columns are sealed under.
    pub key: Option<i64>,
    /// When it was written (ms), if the table says.
    pub created_at: Option<i64>,
    /// The people it belongs to (values of its link columns).
    pub people: Vec<i64>,
    /// Each free-text column that holds a value, with its text.
    pub texts: Vec<(&'static Column, String)>,
}

impl TextTable {
    fn select(&self) -> Vec<&'static str> {
        let mut cols = vec!["id"];
        if self.keyed {
            cols.push("key_id");
        }
        if self.dated {
            cols.push("created_at");
        }
        cols.extend(self.people.iter().copied());
        cols.extend(self.columns.iter().map(|c| c.name));
        cols
    }
}

fn int(v: Option<&Value>) -> Option<i64> {
    match v {
        Some(Value::Int(i)) => Some(*i),
        _ => None,
    }
}

impl Privacy {
    async fn open_rows(&self, c: &mut Conn, tenant: TenantId, t: &TextTable, rows: Vec<Vec<Value>>) -> Result<Vec<TextRow>> {
        let skip = 1 + usize::from(t.keyed) + usize::from(t.dated);
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let Some(id) = int(r.first()) else { continue };
            let key = if t.keyed { int(r.get(1)) } else { None };
            let created_at = if t.dated { int(r.get(1 + usize::from(t.keyed))) } else { None };
            let people = (0..t.people.len()).filter_map(|i| int(r.get(skip + i))).collect();
            let mut texts = Vec::new();
            for (i, col) in t.columns.iter().enumerate() {
                let text = match r.get(skip + t.people.len() + i) {
                    Some(Value::Text(s)) => Some(s.clone()),
                    // A value whose key is gone (an erased author's) is unreadable and stays so.
                    Some(Value::Bytes(b)) => self.hd.vault().decrypt_str(c, tenant, b).await.ok(),
                    _ => None,
                };
                if let Some(text) = text.filter(|s| !s.is_empty()) {
                    texts.push((*col, text));
                }
            }
            out.push(TextRow {
                id,
                key,
                created_at,
                people,
                texts,
            });
        }
        Ok(out)
    }

    /// Up to `limit` rows of `t`, newest first, below `before` when given.
    pub(crate) async fn text_rows(&self, c: &mut Conn, tenant: TenantId, t: &TextTable, before: Option<i64>, limit: i64) -> Result<Vec<TextRow>> {
        let rows = suoja_store::graph::rows_newest(c, tenant, t.table.name, &t.select(), before, limit).await?;
        self.open_rows(c, tenant, t, rows).await
    }

    /// One row of `t`.
    pub(crate) async fn text_row(&self, c: &mut Conn, tenant: TenantId, t: &TextTable, id: i64) -> Result<Option<TextRow>> {
        let rows = suoja_store::graph::rows_linked(c, tenant, t.table.name, &t.select(), "id", &[id]).await?;
        Ok(self.open_rows(c, tenant, t, rows).await?.into_iter().next())
    }

    /// Rewrites one row's free text with `change` (given each text and its markup; `None` leaves
    /// a text as it is), sealing a changed sealed value again under the row's key, rebuilds the
    /// row's search entries when the table is indexed, and deletes the export packages that
    /// could hold the old text. Returns whether anything changed.
    pub(crate) async fn rewrite_text(
        &self,
        c: &mut Conn,
        tenant: TenantId,
        t: &TextTable,
        id: i64,
        change: impl Fn(&str, Markup) -> Option<String>,
    ) -> Result<bool> {
        match self.text_row(c, tenant, t, id).await? {
            Some(row) => self.rewrite_row(c, tenant, t, &row, change).await,
            None => Ok(false),
        }
    }

    /// As [`Self::rewrite_text`], for a row the caller has already read.
    pub(crate) async fn rewrite_row(
        &self,
        c: &mut Conn,
        tenant: TenantId,
        t: &TextTable,
        row: &TextRow,
        change: impl Fn(&str, Markup) -> Option<String>,
    ) -> Result<bool> {
        let id = row.id;
        let mut values: Vec<(&str, Value)> = Vec::new();
        for (col, text) in &row.texts {
            let Some(new) = change(text, markup(col)) else { continue };
            let value = match col.storage {
                Storage::Plain => Value::Text(new),
                _ => {
                    let Some(k) = row.key else { continue };
                    Value::Bytes(self.hd.vault().encrypt_str(c, tenant, KeyId(k), &new).await?)
                }
            };
            values.push((col.name, value));
        }
        if values.is_empty() {
            return Ok(false);
        }
        suoja_store::graph::set_values(c, tenant, t.table.name, id, &values).await?;
        // Export packages that could hold the old text go: the row's people's, and those of
        // people whose accepted mentions quote it.
        let mut holders = row.people.clone();
        for r in suoja_store::graph::rows_linked(c, tenant, "privacy_mentions", &["subject_id", "source"], "source_id", &[id]).await? {
            if r.get(1) == Some(&Value::Text(t.table.name.to_string())) {
                holders.extend(int(r.first()));
            }
        }
        holders.sort_unstable();
        holders.dedup();
        for p in holders {
            suoja_store::exports::delete_for_subject(c, tenant, p).await?;
        }
        for kind in DocKind::ALL.into_iter().filter(|k| k.table() == t.table.name) {
            self.hd.reindex_document(c, tenant, kind, id).await?;
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datamap::Storage;

    /// Every free text the map declares is read somewhere: by a path of its own, or by the
    /// generic one, which needs an `id`, and a `key_id` for sealed values.
    #[test]
    fn every_declared_free_text_is_readable_by_a_path() {
        let generic: Vec<&str> = tables().iter().map(|t| t.table.name).collect();
        for t in TABLES.iter().filter(|t| t.columns.iter().any(|c| c.text.is_some())) {
            if OWN_PATHS.contains(&t.name) {
                continue;
            }
            assert!(generic.contains(&t.name), "{} declares free text no path reads", t.name);
            assert!(t.columns.iter().any(|c| c.name == "id"), "{}: free text without an id column", t.name);
            let sealed = t.columns.iter().any(|c| c.text.is_some() && c.storage != Storage::Plain);
            assert!(
                !sealed || t.columns.iter().any(|c| c.name == "key_id"),
                "{}: sealed free text without key_id",
                t.name
            );
        }
        for own in OWN_PATHS {
            assert!(TABLES.iter().any(|t| t.name == *own), "{own} is not in the map");
        }
    }

    /// Free text holds words people write: only content and organisational text is marked.
    #[test]
    fn only_text_columns_are_marked() {
        for t in TABLES {
            for c in t.columns.iter().filter(|c| c.text.is_some()) {
                assert!(
                    matches!(c.category, crate::datamap::Category::Content | crate::datamap::Category::Organisational),
                    "{}.{} is marked as free text but holds {:?}",
                    t.name,
                    c.name,
                    c.category
                );
            }
        }
    }

    #[test]
    fn the_help_center_and_community_texts_are_read_generically() {
        let names: Vec<&str> = tables().iter().map(|t| t.table.name).collect();
        for t in ["hc_article_comments", "hc_posts", "hc_post_comments", "hc_articles", "users"] {
            assert!(names.contains(&t), "{t}: {names:?}");
        }
        let posts = table("hc_posts").unwrap();
        assert!(posts.keyed);
        assert_eq!(posts.people, vec!["author_id"]);
        assert_eq!(posts.columns.iter().map(|c| c.name).collect::<Vec<_>>(), vec!["title_enc", "details_enc"]);
    }
}
