//! Wrapped keys of the vault: tenant keys (wrapped by the root key) and per-subject data keys
//! (wrapped by their tenant key). Destroying a subject key deletes its row; with
//! `secure_delete` the bytes are zeroed, which is what crypto-shredding relies on.

use sqlx::AnyConnection;
use suoja_core::{KeyId, TenantId, Timestamp};

use crate::Result;

/// Stores a tenant's wrapped key.
pub async fn insert_tenant_key(c: &mut AnyConnection, tenant: TenantId, wrapped: &[u8], now: Timestamp) -> Result<()> {
    sqlx::query("INSERT INTO vault_tenant_keys (tenant_id, wrapped, created_at) VALUES ($1, $2, $3)")
        .bind(tenant.0)
        .bind(wrapped.to_vec())
        .bind(now.0)
        .execute(c)
        .await?;
    Ok(())
}

/// Reads a tenant's wrapped key.
pub async fn tenant_key(c: &mut AnyConnection, tenant: TenantId) -> Result<Option<Vec<u8>>> {
    Ok(sqlx::query_scalar("SELECT wrapped FROM vault_tenant_keys WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_optional(c)
        .await?)
}

/// Stores a new wrapped subject key and returns its id.
pub async fn insert_subject_key(c: &mut AnyConnection, tenant: TenantId, kind: &str, wrapped: &[u8], now: Timestamp) -> Result<KeyId> {
    let id: i64 = sqlx::query_scalar("INSERT INTO vault_subject_keys (tenant_id, subject_kind, wrapped, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
        .bind(tenant.0)
        .bind(kind)
        .bind(wrapped.to_vec())
        .bind(now.0)
        .fetch_one(c)
        .await?;
    Ok(KeyId(id))
}

/// Reads a wrapped subject key; `None` once destroyed.
pub async fn subject_key(c: &mut AnyConnection, tenant: TenantId, id: KeyId) -> Result<Option<Vec<u8>>> {
    Ok(sqlx::query_scalar("SELECT wrapped FROM vault_subject_keys WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id.0)
        .fetch_optional(c)
        .await?)
}

/// Destroys a subject key. Returns whether a key was there.
pub async fn destroy_subject_key(c: &mut AnyConnection, tenant: TenantId, id: KeyId) -> Result<bool> {
    let done = sqlx::query("DELETE FROM vault_subject_keys WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id.0)
        .execute(c)
        .await?;
    Ok(done.rows_affected() > 0)
}
