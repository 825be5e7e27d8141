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

/// What counts as an end user's activity when looking for quiet ones (the privacy engine's
/// retention policy decides; the store only asks).
#[derive(Debug, Clone, Copy)]
pub struct Activity<'a> {
    /// The account was created, or the profile changed.
    pub profile: bool,
    /// They signed in.
    pub sign_in: bool,
    /// They wrote a comment.
    pub comment: bool,
    /// A ticket they asked for is open, or was closed after the cutoff.
    pub ticket: bool,
    /// Leave out restricted people (GDPR Art. 18).
    pub skip_restricted: bool,
    /// Leave out people with an erasure that has not failed.
    pub skip_erasing: bool,
    /// Other tables where writing a row counts (help center comments, community posts): each
    /// (table, column holding the writer's user id); a row written since the cutoff is activity
    /// (not a change: staff moderating a post change it too).
    pub written: &'a [(&'a str, &'a str)],
    /// When not empty, only people who still hold a value in one of these: (table, column
    /// holding their user id, columns that must not all be empty).
    pub holding: &'a [(&'a str, &'a str, &'a [&'a str])],
}

fn identifier(s: &str) -> Result<&str> {
    if crate::graph::is_identifier(s) {
        Ok(s)
    } else {
        Err(crate::StoreError::Config(format!("not an identifier in the data map: {s}")))
    }
}

/// End users with none of `activity` since `cutoff`, by id.
pub async fn quiet_end_users(c: &mut Conn, tenant: TenantId, cutoff: Timestamp, activity: &Activity<'_>, limit: i64) -> Result<Vec<i64>> {
    let mut sql = String::from("SELECT u.id FROM users u WHERE u.tenant_id = $1 AND u.role = 'end-user'");
    if activity.skip_restricted {
        sql.push_str(" AND u.restricted = 0");
    }
    if activity.profile {
        sql.push_str(" AND u.created_at < $2 AND u.updated_at < $2");
    }
    if activity.sign_in {
        sql.push_str(" AND COALESCE(u.last_login_at, 0) < $2");
    }
    if activity.comment {
        sql.push_str(" AND NOT EXISTS (SELECT 1 FROM comments m WHERE m.tenant_id = u.tenant_id AND m.author_id = u.id AND m.created_at >= $2)");
    }
    if activity.ticket {
        sql.push_str(
            " AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.tenant_id = u.tenant_id AND t.requester_id = u.id AND (t.closed_at IS NULL OR t.closed_at >= $2))",
        );
    }
    for (table, author) in activity.written {
        let (table, author) = (identifier(table)?, identifier(author)?);
        sql.push_str(&format!(
            " AND NOT EXISTS (SELECT 1 FROM {table} w WHERE w.tenant_id = u.tenant_id AND w.{author} = u.id AND w.created_at >= $2)"
        ));
    }
    if !activity.holding.is_empty() {
        let mut any = Vec::new();
        for (table, owner, columns) in activity.holding {
            let (table, owner) = (identifier(table)?, identifier(owner)?);
            let filled: Vec<String> = columns
                .iter()
                .map(|c| identifier(c).map(|c| format!("h.{c} IS NOT NULL")))
                .collect::<Result<_>>()?;
            if filled.is_empty() {
                continue;
            }
            any.push(format!(
                "EXISTS (SELECT 1 FROM {table} h WHERE h.tenant_id = u.tenant_id AND h.{owner} = u.id AND ({}))",
                filled.join(" OR ")
            ));
        }
        if any.is_empty() {
            return Ok(Vec::new());
        }
        sql.push_str(&format!(" AND ({})", any.join(" OR ")));
    }
    if activity.skip_erasing {
        sql.push_str(" AND NOT EXISTS (SELECT 1 FROM erasures e WHERE e.tenant_id = u.tenant_id AND e.subject_id = u.id AND e.state <> 'failed')");
    }
    sql.push_str(" ORDER BY u.id LIMIT $3");
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
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
