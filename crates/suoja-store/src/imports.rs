//! What an import from another helpdesk has brought over: each record's id at the source and
//! its id here (ids only), and where each stage of the import stands. The map is written in the
//! same transaction as the record it names, so a repeated or resumed import finds it.

use std::collections::HashMap;

use suoja_core::{TenantId, Timestamp};

use crate::row::{i64_, text};
use crate::{Conn, Result};

/// The ids here of the records of `kind` brought over from `source` whose source ids are in
/// `ids` (source id → local id; ids not yet brought over are absent).
pub async fn mapped(c: &mut Conn, tenant: TenantId, source: &str, kind: &str, ids: &[i64]) -> Result<HashMap<i64, i64>> {
    let mut out = HashMap::with_capacity(ids.len());
    for piece in crate::ids::pieces(ids) {
        let sql = format!(
            "SELECT source_id, local_id FROM import_map WHERE tenant_id = $1 AND source = $2 AND kind = $3 AND source_id IN ({})",
            crate::ids::marks(4, piece.len())
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.0)
            .bind(source.to_string())
            .bind(kind.to_string());
        for id in crate::ids::padded(&piece) {
            q = q.bind(id);
        }
        for r in q.fetch_all(&mut *c).await? {
            out.insert(i64_(&r, "source_id")?, i64_(&r, "local_id")?);
        }
    }
    Ok(out)
}

/// Every record of `kind` brought over from `source` (source id → local id).
pub async fn all_mapped(c: &mut Conn, tenant: TenantId, source: &str, kind: &str) -> Result<HashMap<i64, i64>> {
    let rows = sqlx::query("SELECT source_id, local_id FROM import_map WHERE tenant_id = $1 AND source = $2 AND kind = $3")
        .bind(tenant.0)
        .bind(source.to_string())
        .bind(kind.to_string())
        .fetch_all(c)
        .await?;
    rows.iter().map(|r| Ok((i64_(r, "source_id")?, i64_(r, "local_id")?))).collect()
}

/// Remembers that the record `source_id` of `kind` at `source` is `local_id` here. A second
/// write for the same source record keeps the first and returns false.
pub async fn map(c: &mut Conn, tenant: TenantId, source: &str, kind: &str, source_id: i64, local_id: i64) -> Result<bool> {
    let n = sqlx::query(
        "INSERT INTO import_map (tenant_id, source, kind, source_id, local_id) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (tenant_id, source, kind, source_id) DO NOTHING",
    )
    .bind(tenant.0)
    .bind(source.to_string())
    .bind(kind.to_string())
    .bind(source_id)
    .bind(local_id)
    .execute(c)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// [`map`] for many records of one kind (source id, local id); returns how many were new (a
/// record another import mapped first keeps its first mapping and is not counted).
pub async fn map_many(c: &mut Conn, tenant: TenantId, source: &str, kind: &str, pairs: &[(i64, i64)]) -> Result<u64> {
    const COLS: usize = 2;
    let mut n = 0;
    for chunk in crate::bulk::pieces(pairs, COLS) {
        let rows: Vec<String> = (0..chunk.len()).map(|i| format!("($1, $2, $3, ${}, ${})", 4 + 2 * i, 5 + 2 * i)).collect();
        let sql = format!(
            "INSERT INTO import_map (tenant_id, source, kind, source_id, local_id) VALUES {} \
             ON CONFLICT (tenant_id, source, kind, source_id) DO NOTHING",
            rows.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.0)
            .bind(source.to_string())
            .bind(kind.to_string());
        for (source_id, local_id) in chunk {
            q = q.bind(*source_id).bind(*local_id);
        }
        n += q.execute(&mut *c).await?.rows_affected();
    }
    Ok(n)
}

/// Where `stage` of the import from `source` stands (`None`: not started).
pub async fn checkpoint(c: &mut Conn, tenant: TenantId, source: &str, stage: &str) -> Result<Option<String>> {
    let row = sqlx::query("SELECT position FROM import_checkpoints WHERE tenant_id = $1 AND source = $2 AND stage = $3")
        .bind(tenant.0)
        .bind(source.to_string())
        .bind(stage.to_string())
        .fetch_optional(c)
        .await?;
    row.map(|r| text(&r, "position")).transpose()
}

/// Records where `stage` of the import from `source` stands.
pub async fn set_checkpoint(c: &mut Conn, tenant: TenantId, source: &str, stage: &str, position: &str, now: Timestamp) -> Result<()> {
    sqlx::query(
        "INSERT INTO import_checkpoints (tenant_id, source, stage, position, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (tenant_id, source, stage) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at",
    )
    .bind(tenant.0)
    .bind(source.to_string())
    .bind(stage.to_string())
    .bind(position.to_string())
    .bind(now.0)
    .execute(c)
    .await?;
    Ok(())
}

/// The people brought over from `source` who are no longer here (erased, or deleted): their
/// source ids. An import does not bring them back.
pub async fn people_gone(c: &mut Conn, tenant: TenantId, source: &str) -> Result<Vec<i64>> {
    let rows = sqlx::query(
        "SELECT m.source_id FROM import_map m LEFT JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.local_id \
         WHERE m.tenant_id = $1 AND m.source = $2 AND m.kind = 'user' AND (u.id IS NULL OR u.deleted_at IS NOT NULL)",
    )
    .bind(tenant.0)
    .bind(source.to_string())
    .fetch_all(c)
    .await?;
    rows.iter().map(|r| i64_(r, "source_id")).collect()
}
