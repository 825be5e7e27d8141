//! The PostgreSQL engine: `search_index` rows with `public` and `internal` as `bigint[]`, under
//! GIN indexes on `public` and on `public || internal`, both with `fastupdate = off` so a
//! deleted document leaves nothing in a pending list. Term frequency is not kept (each token is
//! stored once per part), as with FTS5 `detail=column`.

use suoja_core::TenantId;
use suoja_store::tickets::Ranking;
use suoja_store::{Conn, Result};

use super::{DocKind, DocTokens};

/// Tokens written out, separated by commas.
fn listed(tokens: &[i64]) -> String {
    tokens.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// An array literal of tokens (integers only, so safe to splice).
fn array(tokens: &[i64]) -> String {
    format!("ARRAY[{}]::bigint[]", listed(tokens))
}

/// Tokens as the text of an array value, for a parameter cast to `bigint[]`. A document's write
/// then has the same statement text every time, prepared once per connection; with the tokens
/// spliced in, every write was a new statement to parse, plan and (past the connection's cache
/// of statements) close again.
fn array_param(tokens: &[i64]) -> String {
    format!("{{{}}}", listed(tokens))
}

fn holds(public_only: bool) -> &'static str {
    if public_only { "s.public" } else { "(s.public || s.internal)" }
}

pub(super) async fn insert_many(c: &mut Conn, tenant: TenantId, kind: DocKind, docs: &[(i64, DocTokens)]) -> Result<()> {
    if let [(doc, t)] = docs {
        sqlx::query(
            "INSERT INTO search_index (tenant_id, doc_kind, doc_id, public, internal) \
             VALUES ($1, $2, $3, CAST($4 AS bigint[]), CAST($5 AS bigint[]))",
        )
        .bind(tenant.0)
        .bind(kind.code())
        .bind(*doc)
        .bind(array_param(&t.public))
        .bind(array_param(&t.internal))
        .execute(&mut *c)
        .await?;
        return Ok(());
    }
    for chunk in docs.chunks(500) {
        let rows = chunk
            .iter()
            .map(|(doc, t)| format!("($1, $2, {doc}, {}, {})", array(&t.public), array(&t.internal)))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("INSERT INTO search_index (tenant_id, doc_kind, doc_id, public, internal) VALUES {rows}");
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(kind.code()).execute(&mut *c).await?;
    }
    Ok(())
}

pub(super) async fn read(c: &mut Conn, tenant: TenantId, kind: DocKind, doc: i64) -> Result<Option<DocTokens>> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT array_to_string(public, ' '), array_to_string(internal, ' ') FROM search_index WHERE tenant_id = $1 AND doc_kind = $2 AND doc_id = $3",
    )
    .bind(tenant.0)
    .bind(kind.code())
    .bind(doc)
    .fetch_optional(c)
    .await?;
    let parse = |s: &str| s.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    Ok(row.map(|(p, i)| DocTokens {
        public: parse(&p),
        internal: parse(&i),
    }))
}

pub(super) async fn remove(c: &mut Conn, tenant: TenantId, kind: DocKind, doc: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM search_index WHERE tenant_id = $1 AND doc_kind = $2 AND doc_id = $3")
        .bind(tenant.0)
        .bind(kind.code())
        .bind(doc)
        .execute(c)
        .await?
        .rows_affected())
}

/// Gives a document's row the tokens `new`.
pub(super) async fn change(c: &mut Conn, tenant: TenantId, kind: DocKind, doc: i64, new: &DocTokens) -> Result<()> {
    sqlx::query(
        "UPDATE search_index SET public = CAST($4 AS bigint[]), internal = CAST($5 AS bigint[]) \
         WHERE tenant_id = $1 AND doc_kind = $2 AND doc_id = $3",
    )
    .bind(tenant.0)
    .bind(kind.code())
    .bind(doc)
    .bind(array_param(&new.public))
    .bind(array_param(&new.internal))
    .execute(c)
    .await?;
    Ok(())
}

/// Removes a tenant's whole index.
pub(super) async fn clear(c: &mut Conn, tenant: TenantId) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM search_index WHERE tenant_id = $1")
        .bind(tenant.0)
        .execute(c)
        .await?
        .rows_affected())
}

pub(super) async fn all_of(c: &mut Conn, tenant: TenantId, kind: DocKind, tokens: &[i64], limit: i64) -> Result<Vec<i64>> {
    let sql = format!(
        "SELECT doc_id FROM search_index s WHERE tenant_id = $1 AND doc_kind = $2 AND {} @> {} ORDER BY doc_id DESC LIMIT {limit}",
        holds(false),
        array(tokens)
    );
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(kind.code())
        .fetch_all(c)
        .await?)
}

pub(super) async fn any_of(c: &mut Conn, tenant: TenantId, kind: DocKind, tokens: &[i64], limit: i64) -> Result<Vec<i64>> {
    let sql = format!(
        "SELECT doc_id FROM search_index s WHERE tenant_id = $1 AND doc_kind = $2 AND {} && {} LIMIT {limit}",
        holds(false),
        array(tokens)
    );
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(kind.code())
        .fetch_all(c)
        .await?)
}

/// The conditions on an index row `s` for a ticket search.
fn ticket_holds(words: &[i64], public_only: bool, tags: &[i64]) -> String {
    let mut parts = Vec::new();
    if !words.is_empty() {
        parts.push(format!("{} @> {}", holds(public_only), array(words)));
    }
    if !tags.is_empty() {
        parts.push(format!("{} @> {}", holds(false), array(tags)));
    }
    parts.join(" AND ")
}

pub(super) fn ticket_docs(words: &[i64], public_only: bool, tags: &[i64]) -> String {
    format!(
        "SELECT s.doc_id AS doc FROM search_index s WHERE s.tenant_id = $1 AND s.doc_kind = {} AND {}",
        DocKind::Ticket.code(),
        ticket_holds(words, public_only, tags)
    )
}

pub(super) fn ticket_holds_one(words: &[i64], public_only: bool, tags: &[i64]) -> String {
    format!(
        "EXISTS (SELECT 1 FROM search_index s WHERE s.tenant_id = $1 AND s.doc_kind = {} AND s.doc_id = tickets.id AND {})",
        DocKind::Ticket.code(),
        ticket_holds(words, public_only, tags)
    )
}

pub(super) fn ticket_docs_any(tokens: &[i64], public_only: bool) -> String {
    format!(
        "SELECT s.doc_id AS doc FROM search_index s WHERE s.tenant_id = $1 AND s.doc_kind = {} AND {} && {}",
        DocKind::Ticket.code(),
        holds(public_only),
        array(tokens)
    )
}

/// The query's words in each part, and the ticket's length (the containment tests spare
/// counting in the usual cases: every word public, none internal). For an end user
/// (`public_only`) only what they read counts, length included.
pub(super) fn ticket_ranking(words: &[i64], public_only: bool, tags: &[i64]) -> Ranking {
    let list = array(words);
    let (internal_hits, length) = if public_only {
        ("0".to_string(), "cardinality(s.public)")
    } else {
        (
            format!("CASE WHEN s.internal && {list} THEN (SELECT COUNT(*) FROM unnest({list}) w WHERE w = ANY(s.internal)) ELSE 0 END"),
            "cardinality(s.public) + cardinality(s.internal)",
        )
    };
    let columns = format!(
        "s.doc_id AS doc, \
         (CASE WHEN s.public @> {list} THEN cardinality({list}) ELSE (SELECT COUNT(*) FROM unnest({list}) w WHERE w = ANY(s.public)) END)::bigint AS public_hits, \
         ({internal_hits})::bigint AS internal_hits, ({length})::bigint AS length"
    );
    let among_columns = columns.clone();
    Ranking {
        subquery: format!(
            "SELECT {columns} FROM search_index s WHERE s.tenant_id = $1 AND s.doc_kind = {} AND {} ORDER BY s.doc_id DESC LIMIT {}",
            DocKind::Ticket.code(),
            ticket_holds(words, public_only, tags),
            super::RANKED
        ),
        among: std::sync::Arc::new(move |docs: &[i64]| {
            format!(
                "SELECT {among_columns} FROM search_index s WHERE s.tenant_id = $1 AND s.doc_kind = {} AND s.doc_id = ANY({})",
                DocKind::Ticket.code(),
                array(docs)
            )
        }),
        // PostgreSQL reads its index in either direction alike.
        dense: None,
        score: super::relevance,
        limit: super::RANKED,
    }
}
