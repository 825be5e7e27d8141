//! Wrapped keys of the vault: tenant keys (wrapped by the root key) and per-subject data keys
//! (wrapped by their tenant key, their id bound in). Destroying a subject key deletes its row;
//! with `secure_delete` the bytes are zeroed, which is what crypto-shredding relies on. Each
//! tenant has a generation, bumped by every destruction, that nodes check before using a key
//! they cached.

use crate::Conn;
use suoja_core::{KeyId, TenantId, Timestamp};

use crate::Result;

/// Stores a tenant's wrapped key.
pub async fn insert_tenant_key(c: &mut Conn, tenant: TenantId, wrapped: &[u8], now: Timestamp) -> Result<()> {
    sqlx::query("INSERT INTO vault_tenant_keys (tenant_id, wrapped, created_at) VALUES ($1, $2, $3)")
        .bind(tenant.0)
        .bind(wrapped.to_vec())
        .bind(now.0)
        .execute(c)
        .await?;
    Ok(())
}

/// Reads a tenant's wrapped key and, for a tenant that moved here from another region, the
/// sealed key of its ledger's chain.
pub async fn tenant_key(c: &mut Conn, tenant: TenantId) -> Result<Option<(Vec<u8>, Option<Vec<u8>>)>> {
    let row = sqlx::query("SELECT wrapped, chain_key FROM vault_tenant_keys WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_optional(c)
        .await?;
    row.map(|r| Ok((crate::row::bytes(&r, "wrapped")?, crate::row::opt_bytes(&r, "chain_key")?)))
        .transpose()
}

/// Replaces a tenant's wrapped key and ledger chain key (a tenant moved here from another
/// region, whose root key wrapped them there); whether the tenant's row was there.
pub async fn rewrap_tenant_key(c: &mut Conn, tenant: TenantId, wrapped: &[u8], chain: &[u8]) -> Result<bool> {
    let n = sqlx::query("UPDATE vault_tenant_keys SET wrapped = $2, chain_key = $3 WHERE tenant_id = $1")
        .bind(tenant.0)
        .bind(wrapped.to_vec())
        .bind(chain.to_vec())
        .execute(c)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// Makes the row of a new subject key and returns its id; the wrapped key, which binds the id,
/// is stored next with [`set_subject_key`] (in the same transaction).
pub async fn insert_subject_key(c: &mut Conn, tenant: TenantId, kind: &str, now: Timestamp) -> Result<KeyId> {
    let id: i64 =
        sqlx::query_scalar("INSERT INTO vault_subject_keys (tenant_id, subject_kind, wrapped, created_at, bound) VALUES ($1, $2, $3, $4, 1) RETURNING id")
            .bind(tenant.0)
            .bind(kind)
            .bind(Vec::<u8>::new())
            .bind(now.0)
            .fetch_one(c)
            .await?;
    Ok(KeyId(id))
}

/// Stores a subject key's wrapped form, bound to its id.
pub async fn set_subject_key(c: &mut Conn, tenant: TenantId, id: KeyId, wrapped: &[u8]) -> Result<()> {
    sqlx::query("UPDATE vault_subject_keys SET wrapped = $3, bound = 1 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id.0)
        .bind(wrapped.to_vec())
        .execute(c)
        .await?;
    Ok(())
}

/// Subject keys wrapped before ids were bound in: (tenant, id, wrapped), a batch at a time.
pub async fn unbound_subject_keys(c: &mut Conn, limit: i64) -> Result<Vec<(TenantId, KeyId, Vec<u8>)>> {
    let rows: Vec<(i64, i64, Vec<u8>)> = sqlx::query_as("SELECT tenant_id, id, wrapped FROM vault_subject_keys WHERE bound = 0 ORDER BY id LIMIT $1")
        .bind(limit)
        .fetch_all(c)
        .await?;
    Ok(rows.into_iter().map(|(t, i, w)| (TenantId(t), KeyId(i), w)).collect())
}

/// A tenant's key generation: bumped whenever one of its subject keys is destroyed.
pub async fn generation(c: &mut Conn, tenant: TenantId) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT generation FROM vault_tenant_keys WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_optional(c)
        .await?
        .unwrap_or(0))
}

/// Reads a wrapped subject key; `None` once destroyed.
pub async fn subject_key(c: &mut Conn, tenant: TenantId, id: KeyId) -> Result<Option<Vec<u8>>> {
    Ok(sqlx::query_scalar("SELECT wrapped FROM vault_subject_keys WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id.0)
        .fetch_optional(c)
        .await?)
}

/// Destroys a subject key and bumps the tenant's generation, so that every node drops the key
/// from its cache before it next uses a key of the tenant. Returns whether a key was there.
pub async fn destroy_subject_key(c: &mut Conn, tenant: TenantId, id: KeyId) -> Result<bool> {
    let done = sqlx::query("DELETE FROM vault_subject_keys WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id.0)
        .execute(&mut *c)
        .await?;
    sqlx::query("UPDATE vault_tenant_keys SET generation = generation + 1 WHERE tenant_id = $1")
        .bind(tenant.0)
        .execute(c)
        .await?;
    Ok(done.rows_affected() > 0)
}
