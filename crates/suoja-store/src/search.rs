//! The search index: one row per document (ticket, user, organisation) holding its keyed token
//! hashes, on SQLite an FTS5 table, on PostgreSQL arrays under GIN indexes. It is derived data
//! (dropped from backups, rebuilt on restore) and holds no plaintext: a token is the first 8
//! bytes of an HMAC under the tenant's search key. A document's tokens come in two parts:
//! `public`, what its end users can read, and `internal`, what only staff match (internal notes,
//! tags). Deleting a document removes its entries for good (FTS5 `secure-delete`; no GIN pending
//! list on PostgreSQL).

use sqlx::AnyConnection;
use suoja_core::TenantId;

use crate::Result;

fn is_pg(c: &AnyConnection) -> bool {
    c.backend_name().eq_ignore_ascii_case("postgresql")
}

/// The FTS5 word of a token: `x` and its 16 hex digits.
fn word(t: i64) -> String {
    format!("x{t:016x}")
}

/// The FTS5 word naming a tenant and a kind of document; every document's `public` text starts
/// with it, so every match is within one tenant and kind.
fn scope_word(tenant: TenantId, kind: i64) -> String {
    format!("s{}k{kind}", tenant.0)
}

/// The FTS5 rowid of a document.
fn rowid(kind: i64, doc: i64) -> i64 {
    doc.saturating_mul(4).saturating_add(kind)
}

fn array(tokens: &[i64]) -> String {
    format!("ARRAY[{}]::bigint[]", tokens.iter().map(i64::to_string).collect::<Vec<_>>().join(","))
}

fn words(tokens: &[i64]) -> String {
    tokens.iter().map(|t| word(*t)).collect::<Vec<_>>().join(" ")
}

fn sorted(tokens: &[i64]) -> Vec<i64> {
    let mut v = tokens.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

/// An FTS5 query: the scope word in `public` and every token anywhere (or, `public_only`, in
/// `public`).
fn match_all(tenant: TenantId, kind: i64, tokens: &[i64], public_only: bool) -> String {
    let cols = if public_only { "public" } else { "{public internal}" };
    format!(
        "public : {} AND {cols} : ({})",
        scope_word(tenant, kind),
        tokens.iter().map(|t| word(*t)).collect::<Vec<_>>().join(" AND ")
    )
}

/// Replaces a document's entries.
pub async fn replace(c: &mut AnyConnection, tenant: TenantId, kind: i64, doc: i64, public: &[i64], internal: &[i64]) -> Result<()> {
    remove(&mut *c, tenant, kind, doc).await?;
    insert_new(c, tenant, kind, doc, public, internal).await
}

/// Inserts the entries of a document that has none yet.
pub async fn insert_new(c: &mut AnyConnection, tenant: TenantId, kind: i64, doc: i64, public: &[i64], internal: &[i64]) -> Result<()> {
    let (public, internal) = (sorted(public), sorted(internal));
    if is_pg(c) {
        let sql = format!(
            "INSERT INTO search_index (tenant_id, doc_kind, doc_id, public, internal) VALUES ($1, $2, $3, {}, {})",
            array(&public),
            array(&internal)
        );
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(kind).bind(doc).execute(c).await?;
    } else {
        sqlx::query("INSERT INTO search_index (rowid, tenant_id, doc_kind, doc_id, public, internal) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(rowid(kind, doc))
            .bind(tenant.0)
            .bind(kind)
            .bind(doc)
            .bind(format!("{} {}", scope_word(tenant, kind), words(&public)))
            .bind(words(&internal))
            .execute(c)
            .await?;
    }
    Ok(())
}

/// A document's entries as stored: (public, internal); `None` when it has none.
async fn read(c: &mut AnyConnection, tenant: TenantId, kind: i64, doc: i64) -> Result<Option<(Vec<i64>, Vec<i64>)>> {
    let parse = |s: &str, pg: bool| -> Vec<i64> {
        s.split_whitespace()
            .filter_map(|w| {
                if pg {
                    w.parse().ok()
                } else {
                    w.strip_prefix('x')
                        .and_then(|h| u64::from_str_radix(h, 16).ok())
                        .map(|u| i64::from_ne_bytes(u.to_ne_bytes()))
                }
            })
            .collect()
    };
    let pg = is_pg(c);
    let row: Option<(String, String)> = if pg {
        sqlx::query_as(
            "SELECT array_to_string(public, ' '), array_to_string(internal, ' ') FROM search_index WHERE tenant_id = $1 AND doc_kind = $2 AND doc_id = $3",
        )
        .bind(tenant.0)
        .bind(kind)
        .bind(doc)
        .fetch_optional(c)
        .await?
    } else {
        sqlx::query_as("SELECT public, internal FROM search_index WHERE rowid = $1 AND tenant_id = $2")
            .bind(rowid(kind, doc))
            .bind(tenant.0)
            .fetch_optional(c)
            .await?
    };
    Ok(row.map(|(p, i)| (parse(&p, pg), parse(&i, pg))))
}

/// Adds tokens to a document's entries (a new comment on a ticket).
pub async fn add(c: &mut AnyConnection, tenant: TenantId, kind: i64, doc: i64, public: &[i64], internal: &[i64]) -> Result<()> {
    let (mut p, mut i) = read(&mut *c, tenant, kind, doc).await?.unwrap_or_default();
    let before = (p.len(), i.len());
    p = sorted(&[p, public.to_vec()].concat());
    i = sorted(&[i, internal.to_vec()].concat());
    if (p.len(), i.len()) == before && before != (0, 0) {
        return Ok(());
    }
    replace(c, tenant, kind, doc, &p, &i).await
}

/// Removes a document from the index.
pub async fn remove(c: &mut AnyConnection, tenant: TenantId, kind: i64, doc: i64) -> Result<u64> {
    let done = if is_pg(c) {
        sqlx::query("DELETE FROM search_index WHERE tenant_id = $1 AND doc_kind = $2 AND doc_id = $3")
            .bind(tenant.0)
            .bind(kind)
            .bind(doc)
            .execute(c)
            .await?
    } else {
        sqlx::query("DELETE FROM search_index WHERE rowid = $1 AND tenant_id = $2")
            .bind(rowid(kind, doc))
            .bind(tenant.0)
            .execute(c)
            .await?
    };
    Ok(done.rows_affected())
}

/// Documents of `kind` holding every one of `tokens` (anywhere), newest (highest id) first, at
/// most `limit`.
async fn matching(c: &mut AnyConnection, tenant: TenantId, kind: i64, tokens: &[i64], limit: i64) -> Result<Vec<i64>> {
    let tokens = sorted(tokens);
    if tokens.is_empty() {
        return Ok(Vec::new());
    }
    if is_pg(c) {
        let sql = format!(
            "SELECT doc_id FROM search_index WHERE tenant_id = $1 AND doc_kind = $2 AND (public || internal) @> {} ORDER BY doc_id DESC LIMIT {limit}",
            array(&tokens)
        );
        Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(kind).fetch_all(c).await?)
    } else {
        let sql = format!("SELECT rowid / 4 FROM search_index WHERE search_index MATCH $1 ORDER BY rowid DESC LIMIT {limit}");
        Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(match_all(tenant, kind, &tokens, false))
            .fetch_all(c)
            .await?)
    }
}

/// Documents of `kind` that carry every one of `tokens`.
pub async fn all_of(c: &mut AnyConnection, tenant: TenantId, kind: i64, tokens: &[i64]) -> Result<Vec<i64>> {
    matching(c, tenant, kind, tokens, 100_000).await
}

/// Up to `limit` documents of `kind` carrying `token`, newest (highest id) first. Used to judge
/// how selective a token is without counting all of its entries.
pub async fn docs_with(c: &mut AnyConnection, tenant: TenantId, kind: i64, token: i64, limit: i64) -> Result<Vec<i64>> {
    matching(c, tenant, kind, &[token], limit).await
}

/// Documents of `kind` holding any of `tokens` (at most `limit`).
pub async fn any_of(c: &mut AnyConnection, tenant: TenantId, kind: i64, tokens: &[i64], limit: i64) -> Result<Vec<i64>> {
    let mut out = std::collections::BTreeSet::new();
    let pg = is_pg(c);
    for chunk in sorted(tokens).chunks(500) {
        let ids: Vec<i64> = if pg {
            let sql = format!(
                "SELECT doc_id FROM search_index WHERE tenant_id = $1 AND doc_kind = $2 AND (public || internal) && {} LIMIT {limit}",
                array(chunk)
            );
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(tenant.0)
                .bind(kind)
                .fetch_all(&mut *c)
                .await?
        } else {
            let expr = format!(
                "public : {} AND {{public internal}} : ({})",
                scope_word(tenant, kind),
                chunk.iter().map(|t| word(*t)).collect::<Vec<_>>().join(" OR ")
            );
            let sql = format!("SELECT rowid / 4 FROM search_index WHERE search_index MATCH $1 LIMIT {limit}");
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(expr).fetch_all(&mut *c).await?
        };
        out.extend(ids);
        if i64::try_from(out.len()).unwrap_or(i64::MAX) >= limit {
            break;
        }
    }
    Ok(out.into_iter().collect())
}

/// How many tokens the index holds for a document.
pub async fn doc_postings(c: &mut AnyConnection, tenant: TenantId, kind: i64, doc: i64) -> Result<i64> {
    Ok(read(c, tenant, kind, doc)
        .await?
        .map_or(0, |(p, i)| i64::try_from(p.len() + i.len()).unwrap_or(i64::MAX)))
}

/// A condition on `tickets` (in a query whose `$1` is the tenant): the ticket's index entries
/// hold every one of `words` (only in what end users read, when `public_only`) and every one of
/// `tags` (anywhere). `None` when there is nothing to match.
pub fn ticket_condition(pg: bool, words: &[i64], public_only: bool, tags: &[i64]) -> Option<String> {
    const TICKET: i64 = 1;
    let (words, tags) = (sorted(words), sorted(tags));
    if words.is_empty() && tags.is_empty() {
        return None;
    }
    Some(if pg {
        let mut parts = Vec::new();
        if !words.is_empty() {
            parts.push(format!(
                "{} @> {}",
                if public_only { "s.public" } else { "(s.public || s.internal)" },
                array(&words)
            ));
        }
        if !tags.is_empty() {
            parts.push(format!("(s.public || s.internal) @> {}", array(&tags)));
        }
        format!(
            "EXISTS (SELECT 1 FROM search_index s WHERE s.tenant_id = $1 AND s.doc_kind = {TICKET} AND s.doc_id = tickets.id AND {})",
            parts.join(" AND ")
        )
    } else {
        let mut parts = Vec::new();
        if !words.is_empty() {
            let cols = if public_only { "public" } else { "{public internal}" };
            parts.push(format!("{cols} : ({})", words.iter().map(|t| word(*t)).collect::<Vec<_>>().join(" AND ")));
        }
        if !tags.is_empty() {
            parts.push(format!(
                "{{public internal}} : ({})",
                tags.iter().map(|t| word(*t)).collect::<Vec<_>>().join(" AND ")
            ));
        }
        let expr = parts.join(" AND ");
        // No scope word here: the rowid names the kind, and the ids are joined to this tenant's
        // tickets (another tenant's document names another tenant's ticket id).
        format!("tickets.id IN (SELECT rowid / 4 FROM search_index WHERE search_index MATCH '{expr}' AND rowid % 4 = {TICKET})")
    })
}

/// How many of the newest matching tickets relevance ranks: search pages end at 1 000 results,
/// and scoring every ticket that holds a common word would cost time in proportion to the
/// helpdesk's size.
pub const RANKED: i64 = 2_000;

/// A subquery giving the tickets that match `words` as (`doc`, `score`) rows, to join on
/// `tickets.id` in a query whose `$1` is the tenant, and the direction of `score` that puts the
/// best first. Words in what end users read (subject, public comments) weigh twice those only
/// in internal notes, and a short ticket ranks above a long one holding the same words: on
/// SQLite FTS5's BM25 with those column weights, on PostgreSQL the same two signals counted
/// from the arrays (whose tokens are distinct, so a word counts once per part, as with FTS5
/// `detail=column`). Only the [`RANKED`] newest matches are ranked; the caller lists the rest
/// after them, newest first.
pub fn ticket_ranking(pg: bool, words: &[i64], public_only: bool) -> Option<(String, &'static str)> {
    const TICKET: i64 = 1;
    let words = sorted(words);
    if words.is_empty() {
        return None;
    }
    Some(if pg {
        let list = array(&words);
        let holds = if public_only { "s.public" } else { "(s.public || s.internal)" };
        (
            format!(
                "SELECT s.doc_id AS doc, (2 * (SELECT COUNT(*) FROM unnest(s.public) u WHERE u = ANY({list})) + (SELECT COUNT(*) FROM unnest(s.internal) u WHERE u = ANY({list})))::float8 \
                 / ln(2 + cardinality(s.public) + cardinality(s.internal)) AS score \
                 FROM search_index s WHERE s.tenant_id = $1 AND s.doc_kind = {TICKET} AND {holds} @> {list} \
                 ORDER BY s.doc_id DESC LIMIT {RANKED}"
            ),
            "DESC",
        )
    } else {
        let cols = if public_only { "public" } else { "{public internal}" };
        let expr = format!("{cols} : ({})", words.iter().map(|t| word(*t)).collect::<Vec<_>>().join(" AND "));
        // Columns: tenant_id, doc_kind, doc_id (not indexed), public, internal. BM25 is
        // negative, lower is better. The rowid names the kind; the join names the tenant.
        (
            format!(
                "SELECT rowid / 4 AS doc, bm25(search_index, 0, 0, 0, 2.0, 1.0) AS score FROM search_index \
                 WHERE search_index MATCH '{expr}' AND rowid % 4 = {TICKET} ORDER BY rowid DESC LIMIT {RANKED}"
            ),
            "ASC",
        )
    })
}

/// Ids of the documents a full re-index visits, after `after`: live users, every organisation,
/// every ticket (the trash included).
pub async fn source_ids(c: &mut AnyConnection, tenant: TenantId, table: &str, after: i64, limit: i64) -> Result<Vec<i64>> {
    let sql = match table {
        "users" => "SELECT id FROM users WHERE tenant_id = $1 AND id > $2 AND deleted_at IS NULL ORDER BY id LIMIT $3",
        "organizations" => "SELECT id FROM organizations WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        "tickets" => "SELECT id FROM tickets WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        _ => return Err(crate::StoreError::Config(format!("{table} is not indexed"))),
    };
    Ok(sqlx::query_scalar(sql).bind(tenant.0).bind(after).bind(limit).fetch_all(c).await?)
}

/// Removes a tenant's whole index (before rebuilding it).
pub async fn clear(c: &mut AnyConnection, tenant: TenantId) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM search_index WHERE tenant_id = $1")
        .bind(tenant.0)
        .execute(c)
        .await?
        .rows_affected())
}
