//! Per-tenant privacy settings: the choices erasure leaves to the controller.

use sqlx::AnyConnection;
use suoja_core::{TenantId, Timestamp};

use crate::Result;

/// What erasure does with a person's own comments on other people's tickets.
pub async fn erasure_comments(c: &mut AnyConnection, tenant: TenantId) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT erasure_comments FROM privacy_settings WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_optional(c)
        .await?)
}

/// Sets what erasure does with a person's own comments on other people's tickets.
pub async fn set_erasure_comments(c: &mut AnyConnection, tenant: TenantId, value: &str, by: i64, now: Timestamp) -> Result<()> {
    let n = sqlx::query("UPDATE privacy_settings SET erasure_comments = $2, updated_by = $3, updated_at = $4 WHERE tenant_id = $1")
        .bind(tenant.0)
        .bind(value.to_string())
        .bind(by)
        .bind(now.0)
        .execute(&mut *c)
        .await?
        .rows_affected();
    if n == 0 {
        sqlx::query("INSERT INTO privacy_settings (tenant_id, erasure_comments, updated_by, updated_at) VALUES ($1, $2, $3, $4)")
            .bind(tenant.0)
            .bind(value.to_string())
            .bind(by)
            .bind(now.0)
            .execute(c)
            .await?;
    }
    Ok(())
}
