//! What a full re-index of the search index visits: the live users, every organisation, every
//! ticket and every live help center article of a tenant, in id order. (The index itself is `suoja_search::index`.)

use crate::Conn;
use suoja_core::TenantId;

use crate::Result;

/// Ids of the documents a full re-index visits, after `after`: live users, every organisation,
/// every ticket (the trash included), live articles.
pub async fn source_ids(c: &mut Conn, tenant: TenantId, table: &str, after: i64, limit: i64) -> Result<Vec<i64>> {
    let sql = match table {
        "users" => "SELECT id FROM users WHERE tenant_id = $1 AND id > $2 AND deleted_at IS NULL ORDER BY id LIMIT $3",
        "organizations" => "SELECT id FROM organizations WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        "tickets" => "SELECT id FROM tickets WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        "hc_articles" => "SELECT id FROM hc_articles WHERE tenant_id = $1 AND id > $2 AND archived_at IS NULL ORDER BY id LIMIT $3",
        _ => return Err(crate::StoreError::Config(format!("{table} is not indexed"))),
    };
    Ok(sqlx::query_scalar(sql).bind(tenant.0).bind(after).bind(limit).fetch_all(c).await?)
}
