//! The search index: one entry per document (ticket, user, organisation, article) holding its keyed token
//! hashes, never plaintext (a token is the first 8 bytes of an HMAC under the tenant's search
//! key). A document's tokens come in two parts: `public`, what its end users can read, and
//! `internal`, what only staff match as words (internal notes, and tags, which `tags:`
//! conditions match for anyone who may read the document).
//!
//! Every caller goes through this module; the engine behind it follows the database:
//! [`sqlite`] keeps an FTS5 table over rows whose words are the tokens, [`postgres`] keeps `bigint[]`
//! columns under GIN indexes. Both remove a deleted document's entries for good (FTS5
//! `secure-delete`; GIN without a pending list), so erasure leaves no postings behind. The index
//! is derived data: backups leave it out and a restore rebuilds it with [`insert_many`].

mod postgres;
mod sqlite;

use suoja_core::TenantId;
use suoja_store::tickets::IndexMatch;
use suoja_store::{Conn, Result};

/// What kind of record a document is. The number is stored with the entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocKind {
    /// A ticket: subject and public comments (public), internal notes and tags (internal).
    Ticket,
    /// A user's profile (searched by staff).
    User,
    /// An organisation's name (searched by staff).
    Organization,
    /// A help center article: its title and body (searched by everyone who may read it).
    Article,
}

impl DocKind {
    /// Every kind, in the order a full re-index visits them.
    pub const ALL: [DocKind; 4] = [DocKind::User, DocKind::Organization, DocKind::Ticket, DocKind::Article];

    /// The number stored for this kind (0 to 3: the SQLite engine keeps it in a rowid's two
    /// low bits).
    pub const fn code(self) -> i64 {
        match self {
            DocKind::Article => 0,
            DocKind::Ticket => 1,
            DocKind::User => 2,
            DocKind::Organization => 3,
        }
    }

    /// The table whose rows are this kind's documents (what a full re-index reads).
    pub const fn table(self) -> &'static str {
        match self {
            DocKind::Ticket => "tickets",
            DocKind::User => "users",
            DocKind::Organization => "organizations",
            DocKind::Article => "hc_articles",
        }
    }
}

/// A document's tokens: what its end users can read, and what only staff match as words.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocTokens {
    /// Tokens of the text end users read.
    pub public: Vec<i64>,
    /// Tokens of internal notes and tags.
    pub internal: Vec<i64>,
}

impl DocTokens {
    /// Each part sorted and without repeats (as stored).
    fn normalized(&self) -> DocTokens {
        DocTokens {
            public: sorted(&self.public),
            internal: sorted(&self.internal),
        }
    }

    /// How many tokens both parts hold.
    pub fn len(&self) -> usize {
        self.public.len() + self.internal.len()
    }

    /// Whether both parts are empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub(crate) fn sorted(tokens: &[i64]) -> Vec<i64> {
    let mut v = tokens.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

fn is_pg(c: &Conn) -> bool {
    c.engine() == suoja_store::Engine::Postgres
}

/// Inserts the entries of a document that has none yet.
///
/// On SQLite, in a request begun with `Db::begin_adding`, the row waits for the batch's commit
/// so that the batch's new documents make one FTS5 segment; every other call here inserts a
/// request's waiting rows before it reads or changes the index (`Conn::settle_deferred`).
pub async fn insert(c: &mut Conn, tenant: TenantId, kind: DocKind, doc: i64, tokens: &DocTokens) -> Result<()> {
    if is_pg(c) {
        insert_many(c, tenant, kind, &[(doc, tokens.clone())]).await
    } else {
        sqlite::insert_at_commit(c, tenant, kind, doc, &tokens.normalized()).await
    }
}

/// Inserts the entries of many documents that have none yet, in few statements (imports, the
/// rebuild after a restore).
pub async fn insert_many(c: &mut Conn, tenant: TenantId, kind: DocKind, docs: &[(i64, DocTokens)]) -> Result<()> {
    let docs: Vec<(i64, DocTokens)> = docs.iter().map(|(d, t)| (*d, t.normalized())).collect();
    if is_pg(c) {
        postgres::insert_many(c, tenant, kind, &docs).await
    } else {
        sqlite::insert_many(c, tenant, kind, &docs).await
    }
}

/// Merges the index into one segment after a bulk load (seeding, the rebuild after a restore).
/// SQLite's FTS5 merges the segments of each batch in steps, paid by the writes that follow:
/// after a million tickets seeded, creates spent a quarter of the server's time finishing those
/// merges, at about half the rate. Done at once, it takes about a second per million tickets
/// and holds the writer meanwhile, so it is for when nothing else writes. Inside the writer's
/// savepoint the old segments' pages are kept in memory until it ends (the index's size: ~120
/// MB at a million tickets). PostgreSQL's GIN index has no such steps: nothing to do.
pub async fn compact(c: &mut Conn) -> Result<()> {
    if is_pg(c) { Ok(()) } else { sqlite::compact(c).await }
}

/// Replaces a document's entries (inserting them when it has none), writing only what changed.
pub async fn replace(c: &mut Conn, tenant: TenantId, kind: DocKind, doc: i64, tokens: &DocTokens) -> Result<()> {
    let old = read(&mut *c, tenant, kind, doc).await?;
    change(c, tenant, kind, doc, old, tokens.normalized()).await
}

/// Turns the entries `old` (as [`read`] gave them) into `new` (normalized).
async fn change(c: &mut Conn, tenant: TenantId, kind: DocKind, doc: i64, old: Option<DocTokens>, new: DocTokens) -> Result<()> {
    let Some(old) = old else {
        return insert(c, tenant, kind, doc, &new).await;
    };
    if old == new {
        return Ok(());
    }
    if is_pg(c) {
        postgres::change(c, tenant, kind, doc, &new).await
    } else {
        sqlite::change(c, tenant, kind, doc, &old, &new).await
    }
}

/// A document's entries as stored; `None` when it has none.
pub async fn read(c: &mut Conn, tenant: TenantId, kind: DocKind, doc: i64) -> Result<Option<DocTokens>> {
    if is_pg(c) {
        postgres::read(c, tenant, kind, doc).await
    } else {
        sqlite::read(c, tenant, kind, doc).await
    }
}

/// Adds tokens to a document's entries (a new comment on a ticket); nothing is written when it
/// already holds them all, and otherwise only the new tokens are.
pub async fn add(c: &mut Conn, tenant: TenantId, kind: DocKind, doc: i64, tokens: &DocTokens) -> Result<()> {
    let old = read(&mut *c, tenant, kind, doc).await?;
    let none = DocTokens::default();
    let base = old.as_ref().unwrap_or(&none);
    let new = DocTokens {
        public: sorted(&[base.public.as_slice(), tokens.public.as_slice()].concat()),
        internal: sorted(&[base.internal.as_slice(), tokens.internal.as_slice()].concat()),
    };
    change(c, tenant, kind, doc, old, new).await
}

/// Removes a document from the index; returns how many entries went (0 or 1).
pub async fn remove(c: &mut Conn, tenant: TenantId, kind: DocKind, doc: i64) -> Result<u64> {
    if is_pg(c) {
        postgres::remove(c, tenant, kind, doc).await
    } else {
        sqlite::remove(c, tenant, kind, doc).await
    }
}

/// Documents of `kind` holding every one of `tokens` (public or internal), newest (highest id)
/// first, at most 100 000.
pub async fn all_of(c: &mut Conn, tenant: TenantId, kind: DocKind, tokens: &[i64]) -> Result<Vec<i64>> {
    let tokens = sorted(tokens);
    if tokens.is_empty() {
        return Ok(Vec::new());
    }
    if is_pg(c) {
        postgres::all_of(c, tenant, kind, &tokens, 100_000).await
    } else {
        sqlite::all_of(c, tenant, kind, &tokens, 100_000).await
    }
}

/// Documents of `kind` holding any of `tokens` (at most `limit`), in id order.
pub async fn any_of(c: &mut Conn, tenant: TenantId, kind: DocKind, tokens: &[i64], limit: i64) -> Result<Vec<i64>> {
    let mut out = std::collections::BTreeSet::new();
    let pg = is_pg(c);
    for chunk in sorted(tokens).chunks(500) {
        let ids = if pg {
            postgres::any_of(&mut *c, tenant, kind, chunk, limit).await?
        } else {
            sqlite::any_of(&mut *c, tenant, kind, chunk, limit).await?
        };
        out.extend(ids);
        if i64::try_from(out.len()).unwrap_or(i64::MAX) >= limit {
            break;
        }
    }
    Ok(out.into_iter().collect())
}

/// How many tokens the index holds for a document (0 when it has no entry).
pub async fn doc_postings(c: &mut Conn, tenant: TenantId, kind: DocKind, doc: i64) -> Result<i64> {
    Ok(read(c, tenant, kind, doc).await?.map_or(0, |t| i64::try_from(t.len()).unwrap_or(i64::MAX)))
}

/// Removes a tenant's whole index (before rebuilding it).
pub async fn clear(c: &mut Conn, tenant: TenantId) -> Result<u64> {
    if is_pg(c) {
        postgres::clear(c, tenant).await
    } else {
        sqlite::clear(c, tenant).await
    }
}

/// How many of the newest matching tickets relevance ranks: search pages end at 1 000 results,
/// and scoring every ticket that holds a common word would cost time in proportion to the
/// helpdesk's size. The rest follow, newest first.
pub const RANKED: i64 = 1_000;

/// What a ticket search asks of the index.
#[derive(Debug, Clone, Default)]
pub struct TicketQuery<'a> {
    /// Word tokens the ticket must hold, every one.
    pub words: &'a [i64],
    /// The words must be in what end users read (an end user's search).
    pub public_only: bool,
    /// Tag tokens the ticket must hold, every one.
    pub tags: &'a [i64],
}

/// A match's relevance, the same on both engines: each query word found in what end users read
/// (subject, public comments) counts 2, each found in internal notes 1 (a word in both, 3), over
/// the logarithm of the ticket's length in words, so a short ticket ranks above a long one holding
/// the same words. For an end user both counts and the length come from what they read alone:
/// internal notes never move a ticket up or down their list.
///
/// Every match holds every word somewhere, so how rare a word is (BM25's other signal) would
/// not tell two matches apart; counting it for a common word costs a pass over every ticket
/// holding it, which grows with the helpdesk.
pub fn relevance(public_hits: i64, internal_hits: i64, length: i64) -> f64 {
    let hits = 2.0 * public_hits.max(0) as f64 + internal_hits.max(0) as f64;
    hits / (2.0 + length.max(0) as f64).ln()
}

/// The ticket list's view of a query: the matching ticket ids as a query and, when there are
/// words to rank by, a ranking subquery scored by [`relevance`]. `None` when the query matches
/// nothing by index.
pub fn ticket_match(c: &Conn, q: &TicketQuery<'_>) -> Option<IndexMatch> {
    let (words, tags) = (sorted(q.words), sorted(q.tags));
    if words.is_empty() && tags.is_empty() {
        return None;
    }
    let pg = is_pg(c);
    let (docs, holds) = if pg {
        (
            postgres::ticket_docs(&words, q.public_only, &tags),
            postgres::ticket_holds_one(&words, q.public_only, &tags),
        )
    } else {
        (
            sqlite::ticket_docs(&words, q.public_only, &tags),
            sqlite::ticket_holds_one(&words, q.public_only, &tags),
        )
    };
    let ranking = (!words.is_empty()).then(|| {
        if pg {
            postgres::ticket_ranking(&words, q.public_only, &tags)
        } else {
            sqlite::ticket_ranking(&words, q.public_only, &tags)
        }
    });
    Some(IndexMatch { docs, holds, ranking })
}

/// A query giving the ids (`doc`) of the tickets holding any of `excluded` (only in what end
/// users read, when `public_only`): the tickets a search leaves out. `None` when nothing is.
pub fn tickets_holding_any(c: &Conn, excluded: &[i64], public_only: bool) -> Option<String> {
    let excluded = sorted(excluded);
    if excluded.is_empty() {
        return None;
    }
    Some(if is_pg(c) {
        postgres::ticket_docs_any(&excluded, public_only)
    } else {
        sqlite::ticket_docs_any(&excluded, public_only)
    })
}

/// The tokens of a query's tag (tags are indexed as `tag:` words in the internal part).
pub fn tag_term(tag: &str) -> String {
    format!("tag:{tag}")
}

/// The term a ticket's external id is indexed by (one term for the whole id, without regard to
/// case, in the internal part; words never produce it, as they never produce a tag's).
pub fn external_id_term(external_id: &str) -> String {
    format!("external_id:{}", external_id.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_keep_their_numbers() {
        // The numbers are stored; changing one would orphan every entry of that kind.
        assert_eq!(DocKind::ALL.map(DocKind::code), [2, 3, 1, 0]);
    }

    #[test]
    fn relevance_weighs_what_end_users_read_and_prefers_short_tickets() {
        assert!(relevance(1, 0, 10) > relevance(0, 1, 10), "public counts more than internal");
        assert!(relevance(1, 0, 3) > relevance(1, 0, 300), "short before long");
        assert!(relevance(2, 0, 20) > relevance(1, 1, 20));
        assert_eq!(relevance(0, 0, 5), 0.0);
        // Nonsense from a damaged row scores, never panics or gives NaN.
        assert!(relevance(-1, i64::MAX, -7).is_finite());
    }

    #[test]
    fn tokens_are_stored_sorted_and_once() {
        let t = DocTokens {
            public: vec![3, 1, 3, 2],
            internal: vec![9, 9],
        }
        .normalized();
        assert_eq!(t.public, vec![1, 2, 3]);
        assert_eq!(t.internal, vec![9]);
        assert_eq!(t.len(), 4);
    }
}
