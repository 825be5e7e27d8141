//! The SQLite engine: each document's tokens are a row of `search_index_docs`, written as `x`
//! and 16 hex digits, and the FTS5 table `search_index` (tokenizer `ascii`, `detail=column`,
//! `secure-delete` on, external content) indexes those rows. The rowid is the document id times
//! four plus its kind; `public` starts with a scope word naming the tenant and kind, so a match
//! by words alone stays within one tenant and kind. Ticket matches need no scope word: the rowid
//! names the kind, a tenant's tokens are hashed under its own key (another tenant's entries hold
//! none of them), and the join to `tickets` names the tenant.
//!
//! Triggers index a row of words as it is inserted and delete its entries as it is deleted,
//! whoever writes it. A change writes only the tokens whose entry changes ([`change`]): FTS5 is
//! told, with its `delete` command, which entries leave (each removed from the segment holding
//! it) and given the new ones as a row of their own under the same rowid. Every (token,
//! document) entry exists once, so deleting a document's words removes all of its entries.
//!
//! FTS5 reads a doclist forwards far faster than backwards, so queries read matches in rowid
//! order where they can and turn them round here.

use suoja_core::TenantId;
use suoja_store::tickets::{Dense, Ranking};
use suoja_store::{Conn, Result};

use super::{DocKind, DocTokens};

/// The FTS5 word of a token.
fn word(t: i64) -> String {
    format!("x{t:016x}")
}

fn words(tokens: &[i64]) -> String {
    tokens.iter().map(|t| word(*t)).collect::<Vec<_>>().join(" ")
}

fn parse(s: &str) -> Vec<i64> {
    s.split_whitespace()
        .filter_map(|w| w.strip_prefix('x').and_then(|h| u64::from_str_radix(h, 16).ok()))
        .map(|u| i64::from_ne_bytes(u.to_ne_bytes()))
        .collect()
}

/// The word naming a tenant and a kind of document, first in every document's `public` text.
fn scope_word(tenant: TenantId, kind: DocKind) -> String {
    format!("s{}k{}", tenant.0, kind.code())
}

fn rowid(kind: DocKind, doc: i64) -> i64 {
    doc.saturating_mul(4).saturating_add(kind.code())
}

/// `words` joined by `op` as an FTS5 expression over `cols`.
fn expr(cols: &str, tokens: &[i64], op: &str) -> String {
    format!("{cols} : ({})", tokens.iter().map(|t| word(*t)).collect::<Vec<_>>().join(op))
}

fn cols(public_only: bool) -> &'static str {
    if public_only { "public" } else { "{public internal}" }
}

/// The values a statement binds for a document's row (six each).
fn bind_row<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    tenant: TenantId,
    kind: DocKind,
    doc: i64,
    public: String,
    internal: String,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    q.bind(rowid(kind, doc)).bind(tenant.0).bind(kind.code()).bind(doc).bind(public).bind(internal)
}

/// `(?, ?, ?, ?, ?, ?), …` for `n` rows.
fn placeholders(n: usize) -> String {
    (0..n)
        .map(|i| {
            let b = i * 6;
            format!("(${}, ${}, ${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

const COLUMNS: &str = "tenant_id, doc_kind, doc_id, public, internal";

/// Where a document's row goes (its rowid, then [`COLUMNS`]).
const DOCS: &str = "search_index_docs (id, tenant_id, doc_kind, doc_id, public, internal)";

/// A document's `public` and `internal` texts: its tokens as words, `public` after the scope word.
fn texts(tenant: TenantId, kind: DocKind, t: &DocTokens) -> (String, String) {
    (format!("{} {}", scope_word(tenant, kind), words(&t.public)), words(&t.internal))
}

pub(super) async fn insert_many(c: &mut Conn, tenant: TenantId, kind: DocKind, docs: &[(i64, DocTokens)]) -> Result<()> {
    // Six values a row, well under SQLite's limit on bound values. FTS5 takes the rows in rowid
    // order (a rowid lower than the last one written flushes its pending entries early).
    let mut docs: Vec<&(i64, DocTokens)> = docs.iter().collect();
    docs.sort_by_key(|(d, _)| *d);
    for chunk in docs.chunks(500) {
        let sql = format!("INSERT INTO {DOCS} VALUES {}", placeholders(chunk.len()));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (doc, t) in chunk {
            let (public, internal) = texts(tenant, kind, t);
            q = bind_row(q, tenant, kind, *doc, public, internal);
        }
        // A trigger indexes each row as it is inserted (migration 37).
        q.execute(&mut *c).await?;
    }
    Ok(())
}

/// Inserts one document's row, at the batch's commit where the request allows it
/// (`Conn::insert_at_commit`); the trigger indexes it then.
pub(super) async fn insert_at_commit(c: &mut Conn, tenant: TenantId, kind: DocKind, doc: i64, t: &DocTokens) -> Result<()> {
    use suoja_store::Bound::{Int, Text};
    let (public, internal) = texts(tenant, kind, t);
    let values = vec![Int(rowid(kind, doc)), Int(tenant.0), Int(kind.code()), Int(doc), Text(public), Text(internal)];
    c.insert_at_commit(DOCS, values).await
}

pub(super) async fn read(c: &mut Conn, tenant: TenantId, kind: DocKind, doc: i64) -> Result<Option<DocTokens>> {
    c.settle_deferred().await?;
    let row: Option<(String, String)> = sqlx::query_as("SELECT public, internal FROM search_index_docs WHERE id = $1 AND tenant_id = $2")
        .bind(rowid(kind, doc))
        .bind(tenant.0)
        .fetch_optional(c)
        .await?;
    // Sorted and once each, as `change` needs them, whatever wrote the row.
    Ok(row.map(|(p, i)| DocTokens {
        public: super::sorted(&parse(&p)),
        internal: super::sorted(&parse(&i)),
    }))
}

pub(super) async fn remove(c: &mut Conn, tenant: TenantId, kind: DocKind, doc: i64) -> Result<u64> {
    c.settle_deferred().await?;
    // A trigger tells FTS5 to delete the entries of the row's words (each removed from the
    // segment holding it) as the row goes (migration 37).
    Ok(sqlx::query("DELETE FROM search_index_docs WHERE id = $1 AND tenant_id = $2")
        .bind(rowid(kind, doc))
        .bind(tenant.0)
        .execute(c)
        .await?
        .rows_affected())
}

/// Turns a document's stored entries `old` into `new` (both sorted, without repeats), touching
/// only the tokens whose entry changes. A token's entry in FTS5 is one (token, document) pair
/// saying which columns hold it, so a token that stays but moves between `public` and
/// `internal` is removed and written again; tokens in both and unchanged are left alone.
pub(super) async fn change(c: &mut Conn, tenant: TenantId, kind: DocKind, doc: i64, old: &DocTokens, new: &DocTokens) -> Result<()> {
    c.settle_deferred().await?;
    let changed: Vec<i64> = super::sorted(
        &[
            difference(&old.public, &new.public),
            difference(&new.public, &old.public),
            difference(&old.internal, &new.internal),
            difference(&new.internal, &old.internal),
        ]
        .concat(),
    );
    // The changed tokens a part holds: in the old parts, the entries that leave; in the new,
    // those that come.
    let changed_in = |part: &[i64]| changed.iter().copied().filter(|t| part.binary_search(t).is_ok()).collect::<Vec<_>>();
    let (out_public, out_internal) = (changed_in(&old.public), changed_in(&old.internal));
    let (in_public, in_internal) = (changed_in(&new.public), changed_in(&new.internal));
    if !out_public.is_empty() || !out_internal.is_empty() {
        let q = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO search_index (search_index, rowid, {COLUMNS}) VALUES ('delete', $1, $2, $3, $4, $5, $6)"
        )));
        bind_row(q, tenant, kind, doc, words(&out_public), words(&out_internal))
            .execute(&mut *c)
            .await?;
    }
    let (public, internal) = texts(tenant, kind, new);
    sqlx::query("UPDATE search_index_docs SET public = $1, internal = $2 WHERE id = $3 AND tenant_id = $4")
        .bind(public)
        .bind(internal)
        .bind(rowid(kind, doc))
        .bind(tenant.0)
        .execute(&mut *c)
        .await?;
    if !in_public.is_empty() || !in_internal.is_empty() {
        let q = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO search_index (rowid, {COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
        )));
        bind_row(q, tenant, kind, doc, words(&in_public), words(&in_internal)).execute(&mut *c).await?;
    }
    Ok(())
}

/// The tokens of sorted `a` not in sorted `b`.
fn difference(a: &[i64], b: &[i64]) -> Vec<i64> {
    a.iter().copied().filter(|t| b.binary_search(t).is_err()).collect()
}

/// Merges every segment of the index into one (FTS5's `optimize`).
pub(super) async fn compact(c: &mut Conn) -> Result<()> {
    c.settle_deferred().await?;
    sqlx::query("INSERT INTO search_index (search_index) VALUES ('optimize')").execute(c).await?;
    Ok(())
}

/// Removes a tenant's whole index.
pub(super) async fn clear(c: &mut Conn, tenant: TenantId) -> Result<u64> {
    c.settle_deferred().await?;
    // Each row's entries go with it (the trigger of `remove`).
    Ok(sqlx::query("DELETE FROM search_index_docs WHERE tenant_id = $1")
        .bind(tenant.0)
        .execute(c)
        .await?
        .rows_affected())
}

/// Newest first. FTS5 walks a doclist backwards far more slowly than forwards (at 1 000 000
/// tickets, 3.3 ms against 0.05 ms for two common words and a user's scope word), so the
/// matches are read forwards and turned round here; only when there are more than `limit`,
/// and the newest are needed, does it walk backwards.
pub(super) async fn all_of(c: &mut Conn, tenant: TenantId, kind: DocKind, tokens: &[i64], limit: i64) -> Result<Vec<i64>> {
    c.settle_deferred().await?;
    let m = format!("public : {} AND {}", scope_word(tenant, kind), expr(cols(false), tokens, " AND "));
    let sql = format!(
        "SELECT rowid / 4 FROM search_index WHERE search_index MATCH $1 ORDER BY rowid ASC LIMIT {}",
        limit.saturating_add(1)
    );
    let mut ids: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(&m).fetch_all(&mut *c).await?;
    if i64::try_from(ids.len()).unwrap_or(i64::MAX) <= limit {
        ids.reverse();
        return Ok(ids);
    }
    let sql = format!("SELECT rowid / 4 FROM search_index WHERE search_index MATCH $1 ORDER BY rowid DESC LIMIT {limit}");
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(m).fetch_all(c).await?)
}

pub(super) async fn any_of(c: &mut Conn, tenant: TenantId, kind: DocKind, tokens: &[i64], limit: i64) -> Result<Vec<i64>> {
    c.settle_deferred().await?;
    let m = format!("public : {} AND {}", scope_word(tenant, kind), expr(cols(false), tokens, " OR "));
    let sql = format!("SELECT rowid / 4 FROM search_index WHERE search_index MATCH $1 LIMIT {limit}");
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(m).fetch_all(c).await?)
}

/// The FTS5 expression a ticket search matches (words, then tags).
fn ticket_expr(words: &[i64], public_only: bool, tags: &[i64]) -> String {
    let mut parts = Vec::new();
    if !words.is_empty() {
        parts.push(expr(cols(public_only), words, " AND "));
    }
    if !tags.is_empty() {
        parts.push(expr(cols(false), tags, " AND "));
    }
    parts.join(" AND ")
}

pub(super) fn ticket_docs(words: &[i64], public_only: bool, tags: &[i64]) -> String {
    format!(
        "SELECT rowid / 4 AS doc FROM search_index WHERE search_index MATCH '{}' AND rowid % 4 = {}",
        ticket_expr(words, public_only, tags),
        DocKind::Ticket.code()
    )
}

pub(super) fn ticket_holds_one(words: &[i64], public_only: bool, tags: &[i64]) -> String {
    format!(
        "EXISTS (SELECT 1 FROM search_index WHERE search_index MATCH '{}' AND rowid = tickets.id * 4 + {})",
        ticket_expr(words, public_only, tags),
        DocKind::Ticket.code()
    )
}

pub(super) fn ticket_docs_any(tokens: &[i64], public_only: bool) -> String {
    format!(
        "SELECT rowid / 4 AS doc FROM search_index WHERE search_index MATCH '{}' AND rowid % 4 = {}",
        expr(cols(public_only), tokens, " OR "),
        DocKind::Ticket.code()
    )
}

/// A ticket's length in words, from its columns' sizes as `count` gives them: each word takes
/// 18 bytes with its space (the short scope word first in `public` adds nothing after the
/// division, so the count is the PostgreSQL engine's). The text is ASCII: its size in bytes
/// (`octet_length`, read from the row's header) is its length (`length`, counted character by
/// character, as the index of sizes holds it).
fn length_in_words(public_only: bool, count: &str, public: &str, internal: &str) -> String {
    if public_only {
        format!("({count}({public}) + 1) / 18")
    } else {
        format!("({count}({public}) + {count}({internal}) + 2) / 18")
    }
}

/// How many of `words` a column's text holds: a word is `x` and 16 hex digits, and no other
/// word holds an `x`, so finding one in a column's text is finding the token.
fn words_in(words: &[i64], col: &str) -> String {
    words
        .iter()
        .map(|t| format!("(instr({col}, '{}') > 0)", word(*t)))
        .collect::<Vec<_>>()
        .join(" + ")
}

pub(super) fn ticket_ranking(words: &[i64], public_only: bool, tags: &[i64]) -> Ranking {
    let ticket = DocKind::Ticket.code();
    let among_internal = if public_only { "0".to_string() } else { words_in(words, "internal") };
    let among_columns = format!(
        "id / 4 AS doc, {} AS public_hits, {among_internal} AS internal_hits, {} AS length",
        words_in(words, "public"),
        length_in_words(public_only, "octet_length", "public", "internal")
    );
    let matched = ticket_expr(words, public_only, tags);
    let newest = format!(
        "SELECT rowid AS r FROM search_index WHERE search_index MATCH '{matched}' AND rowid % 4 = {ticket} ORDER BY rowid DESC LIMIT {}",
        super::RANKED
    );
    // The ranking over a set of matches `m` (rowids `r`).
    let one_word = match words {
        [only] if tags.is_empty() => Some(*only),
        _ => None,
    };
    let owned = words.to_vec();
    let ranked_from = move |newest: &str| match one_word {
        // One word and nothing else to match: from the index alone. Which of the newest matches
        // hold the word in which column is FTS5's answer to a column's query for the word from
        // the oldest of them on (a list SQLite builds once per column, of at most those
        // matches); their sizes are read from the index of sizes beside the documents' ids
        // (`search_index_docs_size`), not from their words, a page of the table each: a word in
        // 1 % of a million tickets ranked in about 2 ms instead of 9. With more to match, a
        // common word's list from the oldest match on could be most of the index (a rare word
        // beside a common one: 53 ms against 0.5 ms), so the matches' words are read.
        Some(only) => {
            let in_column = |col: &str| {
                format!(
                    "(m.r IN (SELECT rowid FROM search_index WHERE search_index MATCH '{col} : {}' AND rowid >= (SELECT MIN(r) FROM m)))",
                    word(only)
                )
            };
            let internal_hits = if public_only { "0".to_string() } else { in_column("internal") };
            format!(
                "WITH m AS ({newest}) SELECT m.r / 4 AS doc, {} AS public_hits, {internal_hits} AS internal_hits, \
                 (SELECT {} FROM search_index_docs d INDEXED BY search_index_docs_size WHERE d.id = m.r) AS length FROM m",
                in_column("public"),
                length_in_words(public_only, "length", "d.public", "d.internal")
            )
        }
        None => format!(
            "WITH m AS ({newest}) SELECT m.r / 4 AS doc, {} AS public_hits, {among_internal} AS internal_hits, {} AS length \
             FROM m JOIN search_index_docs ON search_index_docs.id = m.r",
            words_in(&owned, "public"),
            length_in_words(public_only, "octet_length", "public", "internal")
        ),
    };
    let subquery = ranked_from(&newest);
    // The matches within `span` rowids of the newest document (of any kind), read forwards:
    // FTS5 walks a list backwards only after loading all of it (two words each in 90 % of a
    // million tickets: ~4 ms for the newest thousand backwards, ~1.5 ms forwards from where
    // they begin). `+r`: sorted here, not asked of FTS5 as an order.
    let in_span = move |span: i64| {
        format!(
            "SELECT rowid AS r FROM search_index WHERE search_index MATCH '{matched}' AND rowid % 4 = {ticket} \
             AND rowid >= (SELECT IFNULL(MAX(id), 0) FROM search_index_docs) - {span}"
        )
    };
    let probe = {
        let in_span = in_span.clone();
        move |span: i64| format!("SELECT COUNT(*) FROM ({} LIMIT {})", in_span(span), 2 * super::RANKED)
    };
    let within = move |span: i64| ranked_from(&format!("SELECT r FROM ({}) ORDER BY +r DESC LIMIT {}", in_span(span), super::RANKED));
    Ranking {
        subquery,
        among: std::sync::Arc::new(move |docs: &[i64]| {
            let rowids = docs.iter().map(|d| rowid(DocKind::Ticket, *d).to_string()).collect::<Vec<_>>().join(",");
            format!("SELECT {among_columns} FROM search_index_docs WHERE id IN ({rowids})")
        }),
        dense: Some(Dense {
            // 1 600 tickets' worth of rowids (four a document).
            first: 6_400,
            probe: std::sync::Arc::new(probe),
            within: std::sync::Arc::new(within),
        }),
        score: super::relevance,
        limit: super::RANKED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_read_back_as_the_tokens_written() {
        let tokens = vec![i64::MIN, -1, 0, 1, i64::MAX];
        assert_eq!(parse(&words(&tokens)), tokens);
    }

    /// A new SQLite database in a directory of its own under `name`.
    async fn fresh_db(name: &str) -> (suoja_store::Db, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("suoja-search-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let db = suoja_store::Db::connect(&format!("sqlite://{}/t.db", dir.display()), &suoja_store::DbOptions::default())
            .await
            .unwrap();
        (db, dir)
    }

    /// The newest thousand matches read forwards within a span (the ranking's `dense` form)
    /// are ranked exactly as those read backwards, whenever the span's count says it holds a
    /// thousand; the count is the matches' (up to its bound) among the span's documents.
    #[tokio::test]
    async fn the_newest_matches_read_within_a_span_are_those_read_backwards() {
        let (db, dir) = fresh_db("span").await;
        let tenant = TenantId(1);
        // 3 000 tickets: token 1 in all but each seventh (public in even ones, internal in odd),
        // token 2 in nine of ten, token 3 in each fiftieth; tokens from 100 give every third other
        // lengths.
        let docs: Vec<(i64, DocTokens)> = (1..=3000_i64)
            .map(|d| {
                let (mut public, mut internal) = (vec![], vec![]);
                if d % 7 != 0 {
                    if d % 2 == 0 { public.push(1) } else { internal.push(1) }
                }
                if d % 10 != 0 {
                    public.push(2);
                }
                if d % 50 == 0 {
                    internal.push(3);
                }
                if d % 3 == 0 {
                    public.extend(100..100 + d % 11);
                }
                (d, DocTokens { public, internal })
            })
            .collect();
        let mut tx = db.begin().await.unwrap();
        insert_many(&mut tx, tenant, DocKind::Ticket, &docs).await.unwrap();
        tx.commit().await.unwrap();
        let mut c = db.read().await.unwrap();
        async fn rows(c: &mut Conn, sql: &str) -> Vec<(i64, i64, i64, i64)> {
            let mut rows: Vec<(i64, i64, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string())).fetch_all(c).await.unwrap();
            rows.sort_unstable();
            rows
        }
        let holds = |d: i64, words: &[i64]| {
            docs.iter()
                .any(|(id, t)| *id == d && words.iter().all(|w| t.public.contains(w) || t.internal.contains(w)))
        };
        let mut compared = 0;
        for words in [&[1][..], &[1, 2], &[2, 1], &[3, 1], &[2]] {
            for public_only in [false, true] {
                let r = ticket_ranking(words, public_only, &[]);
                let backwards = rows(&mut c, &r.subquery).await;
                let dense = r.dense.clone().unwrap();
                for span in [400, 6_400, 12_000, 64_000] {
                    let counted: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe((dense.probe)(span))).fetch_one(&mut c).await.unwrap();
                    let first = (3000 * 4 - span) / 4;
                    let expected = if public_only {
                        let public = |d: i64| docs.iter().any(|(id, t)| *id == d && words.iter().all(|w| t.public.contains(w)));
                        (1..=3000).filter(|d| *d >= first && public(*d)).count()
                    } else {
                        (1..=3000).filter(|d| *d >= first && holds(*d, words)).count()
                    };
                    assert_eq!(
                        counted,
                        i64::try_from(expected.min(2000)).unwrap(),
                        "{words:?} public only {public_only}, span {span}"
                    );
                    if counted >= super::super::RANKED {
                        assert_eq!(
                            rows(&mut c, &(dense.within)(span)).await,
                            backwards,
                            "{words:?} public only {public_only}, span {span}"
                        );
                        compared += 1;
                    }
                }
            }
        }
        assert!(compared >= 10, "only {compared} spans held a thousand matches");
        drop(c);
        db.close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Documents written in many transactions lie in many segments; compacted, in one, and
    /// every query finds what it found before (a removed document's words included: none).
    #[tokio::test]
    async fn a_compacted_index_is_one_segment_and_finds_the_same() {
        let (db, dir) = fresh_db("compact").await;
        let tenant = TenantId(1);
        for batch in 0..12_i64 {
            let docs: Vec<(i64, DocTokens)> = (1..=50_i64)
                .map(|i| {
                    let d = batch * 50 + i;
                    (
                        d,
                        DocTokens {
                            public: vec![1, 10 + d % 7],
                            internal: vec![100 + d % 3],
                        },
                    )
                })
                .collect();
            let mut tx = db.begin().await.unwrap();
            insert_many(&mut tx, tenant, DocKind::Ticket, &docs).await.unwrap();
            tx.commit().await.unwrap();
        }
        let mut tx = db.begin().await.unwrap();
        super::super::remove(&mut tx, tenant, DocKind::Ticket, 14).await.unwrap();
        tx.commit().await.unwrap();
        async fn segments(db: &suoja_store::Db) -> i64 {
            let mut c = db.read().await.unwrap();
            sqlx::query_scalar("SELECT COUNT(DISTINCT segid) FROM search_index_idx")
                .fetch_one(&mut c)
                .await
                .unwrap()
        }
        async fn found(db: &suoja_store::Db) -> Vec<Vec<i64>> {
            let mut c = db.read().await.unwrap();
            let mut out = Vec::new();
            for words in [&[1][..], &[1, 17], &[102], &[14, 101]] {
                out.push(super::super::all_of(&mut c, TenantId(1), DocKind::Ticket, words).await.unwrap());
            }
            out
        }
        let before = found(&db).await;
        assert!(segments(&db).await > 1, "each transaction wrote a segment");
        assert_eq!(before.first().map(Vec::len), Some(599));
        let mut tx = db.begin().await.unwrap();
        super::super::compact(&mut tx).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(segments(&db).await, 1);
        assert_eq!(found(&db).await, before);
        assert!(!before.iter().flatten().any(|d| *d == 14), "the removed document is found by none");
        db.close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn expressions_hold_only_hex_words() {
        // The expression is spliced into SQL: it must hold nothing but the words, operators,
        // column names and brackets.
        let e = ticket_expr(&[1, -2], true, &[3]);
        assert!(e.chars().all(|ch| ch.is_ascii_alphanumeric() || " :(){}".contains(ch)), "{e}");
    }
}
