//! The search index: postings of keyed token hashes to documents. It is derived data (it can
//! be dropped and rebuilt), lives in its own table so backups can leave it out, and holds no
//! plaintext: a token is the first 8 bytes of an HMAC under the tenant's search key.

use sqlx::AnyConnection;
use suoja_core::TenantId;

use crate::Result;

/// Replaces a document's postings.
pub async fn replace(c: &mut AnyConnection, tenant: TenantId, kind: i64, doc: i64, tokens: &[i64]) -> Result<()> {
    remove(&mut *c, tenant, kind, doc).await?;
    insert_new(c, tenant, kind, doc, tokens).await
}

/// Inserts the postings of a document that has none yet.
pub async fn insert_new(c: &mut AnyConnection, tenant: TenantId, kind: i64, doc: i64, tokens: &[i64]) -> Result<()> {
    for chunk in tokens.chunks(200) {
        let mut sql = String::from("INSERT INTO search_postings (tenant_id, token, doc_kind, doc_id) VALUES ");
        let values: Vec<String> = chunk.iter().map(|t| format!("({}, {t}, {kind}, {doc})", tenant.0)).collect();
        sql.push_str(&values.join(", "));
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *c).await?;
    }
    Ok(())
}

/// Adds postings to a document (duplicates ignored).
pub async fn add(c: &mut AnyConnection, tenant: TenantId, kind: i64, doc: i64, tokens: &[i64]) -> Result<()> {
    for t in tokens {
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT doc_id FROM search_postings WHERE tenant_id = $1 AND token = $2 AND doc_kind = $3 AND doc_id = $4")
                .bind(tenant.0)
                .bind(*t)
                .bind(kind)
                .bind(doc)
                .fetch_optional(&mut *c)
                .await?;
        if exists.is_none() {
            sqlx::query("INSERT INTO search_postings (tenant_id, token, doc_kind, doc_id) VALUES ($1, $2, $3, $4)")
                .bind(tenant.0)
                .bind(*t)
                .bind(kind)
                .bind(doc)
                .execute(&mut *c)
                .await?;
        }
    }
    Ok(())
}

/// Removes a document from the index.
pub async fn remove(c: &mut AnyConnection, tenant: TenantId, kind: i64, doc: i64) -> Result<u64> {
    Ok(
        sqlx::query("DELETE FROM search_postings WHERE tenant_id = $1 AND doc_kind = $2 AND doc_id = $3")
            .bind(tenant.0)
            .bind(kind)
            .bind(doc)
            .execute(c)
            .await?
            .rows_affected(),
    )
}

/// Documents of `kind` that carry every one of `tokens`.
pub async fn all_of(c: &mut AnyConnection, tenant: TenantId, kind: i64, tokens: &[i64]) -> Result<Vec<i64>> {
    if tokens.is_empty() {
        return Ok(Vec::new());
    }
    let mut distinct = tokens.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let list = distinct.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let sql = format!(
        "SELECT doc_id FROM search_postings WHERE tenant_id = $1 AND doc_kind = $2 AND token IN ({list}) GROUP BY doc_id HAVING COUNT(*) = {} ORDER BY doc_id DESC LIMIT 100000",
        distinct.len()
    );
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(kind).fetch_all(c).await?)
}

/// Up to `limit` documents of `kind` carrying `token`, newest (highest id) first. Used to judge
/// how selective a token is without counting all of its postings.
pub async fn docs_with(c: &mut AnyConnection, tenant: TenantId, kind: i64, token: i64, limit: i64) -> Result<Vec<i64>> {
    let sql = format!("SELECT doc_id FROM search_postings WHERE tenant_id = $1 AND token = $2 AND doc_kind = $3 ORDER BY doc_id DESC LIMIT {limit}");
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(token)
        .bind(kind)
        .fetch_all(c)
        .await?)
}

/// Documents of `kind` holding any of `tokens` (at most `limit`).
pub async fn any_of(c: &mut AnyConnection, tenant: TenantId, kind: i64, tokens: &[i64], limit: i64) -> Result<Vec<i64>> {
    let mut out = std::collections::BTreeSet::new();
    for chunk in tokens.chunks(500) {
        let list = chunk.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let sql = format!("SELECT DISTINCT doc_id FROM search_postings WHERE tenant_id = $1 AND doc_kind = $2 AND token IN ({list}) LIMIT {limit}");
        let ids: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(tenant.0)
            .bind(kind)
            .fetch_all(&mut *c)
            .await?;
        out.extend(ids);
        if i64::try_from(out.len()).unwrap_or(i64::MAX) >= limit {
            break;
        }
    }
    Ok(out.into_iter().collect())
}

/// How many index entries a document has.
pub async fn doc_postings(c: &mut AnyConnection, tenant: TenantId, kind: i64, doc: i64) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM search_postings WHERE tenant_id = $1 AND doc_kind = $2 AND doc_id = $3")
            .bind(tenant.0)
            .bind(kind)
            .bind(doc)
            .fetch_one(c)
            .await?,
    )
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
    Ok(sqlx::query("DELETE FROM search_postings WHERE tenant_id = $1")
        .bind(tenant.0)
        .execute(c)
        .await?
        .rows_affected())
}
