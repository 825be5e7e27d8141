//! What each retention policy would remove in one tenant now: the candidates, oldest first,
//! at most `limit`. Deleting them is the privacy engine's work (through the erasure primitives,
//! under legal holds); these queries only find them.

use crate::Conn;
use suoja_core::{TenantId, Timestamp};

use crate::Result;

/// Solved or closed tickets (not in the trash) whose `closed_at` is before `cutoff`.
pub async fn closed_tickets(c: &mut Conn, tenant: TenantId, cutoff: Timestamp, limit: i64) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM tickets WHERE tenant_id = $1 AND closed_at < $2 AND deleted_at IS NULL AND status IN ('solved', 'closed') ORDER BY closed_at, id LIMIT $3",
    )
    .bind(tenant.0)
    .bind(cutoff.0)
    .bind(limit)
    .fetch_all(c)
    .await?)
}

/// Tickets in the trash since before `cutoff`.
pub async fn trashed_tickets(c: &mut Conn, tenant: TenantId, cutoff: Timestamp, limit: i64) -> Result<Vec<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM tickets WHERE tenant_id = $1 AND deleted_at IS NOT NULL AND deleted_at < $2 ORDER BY deleted_at, id LIMIT $3")
            .bind(tenant.0)
            .bind(cutoff.0)
            .bind(limit)
            .fetch_all(c)
            .await?,
    )
}

/// End users with no activity since `cutoff`: created, signed in, wrote a comment, or had a
/// ticket open or closed after it. Restricted people (Art. 18) and people already being erased
/// are left out.
pub async fn inactive_end_users(c: &mut Conn, tenant: TenantId, cutoff: Timestamp, limit: i64) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT u.id FROM users u WHERE u.tenant_id = $1 AND u.role = 'end-user' AND u.restricted = 0 \
           AND u.created_at < $2 AND COALESCE(u.last_login_at, 0) < $2 AND u.updated_at < $2 \
           AND NOT EXISTS (SELECT 1 FROM comments m WHERE m.tenant_id = u.tenant_id AND m.author_id = u.id AND m.created_at >= $2) \
           AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.tenant_id = u.tenant_id AND t.requester_id = u.id AND (t.closed_at IS NULL OR t.closed_at >= $2)) \
           AND NOT EXISTS (SELECT 1 FROM erasures e WHERE e.tenant_id = u.tenant_id AND e.subject_id = u.id AND e.state <> 'failed') \
         ORDER BY u.id LIMIT $3",
    )
    .bind(tenant.0)
    .bind(cutoff.0)
    .bind(limit)
    .fetch_all(c)
    .await?)
}

/// Identity-check links created before `cutoff`.
pub async fn verification_links(c: &mut Conn, tenant: TenantId, cutoff: Timestamp, limit: i64) -> Result<Vec<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM privacy_verifications WHERE tenant_id = $1 AND created_at < $2 ORDER BY created_at, id LIMIT $3")
            .bind(tenant.0)
            .bind(cutoff.0)
            .bind(limit)
            .fetch_all(c)
            .await?,
    )
}

/// Deletes identity-check links by id.
pub async fn delete_verification_links(c: &mut Conn, tenant: TenantId, ids: &[i64]) -> Result<u64> {
    crate::graph::delete_linked(c, tenant, "privacy_verifications", "id", ids).await
}

/// Export packages created before `cutoff`.
pub async fn export_packages(c: &mut Conn, tenant: TenantId, cutoff: Timestamp, limit: i64) -> Result<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM export_packages WHERE tenant_id = $1 AND created_at < $2 ORDER BY created_at, id LIMIT $3")
            .bind(tenant.0)
            .bind(cutoff.0)
            .bind(limit)
            .fetch_all(c)
            .await?,
    )
}

/// Deletes export packages (and their chunks) by id.
pub async fn delete_export_packages(c: &mut Conn, tenant: TenantId, ids: &[String]) -> Result<u64> {
    crate::exports::delete(c, tenant, ids).await
}
