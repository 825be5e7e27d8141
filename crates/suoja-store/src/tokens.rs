//! API and OAuth tokens, stored as SHA-256 hashes only.

use sqlx::AnyConnection;
use suoja_core::{TenantId, Timestamp, UserId};

use crate::Result;
use crate::row::{i64_, text};

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Account API token, used as `email/token:TOKEN` (the e-mail picks the user).
    Api,
    /// Bearer token bound to one user.
    OAuth,
}

impl TokenKind {
    fn as_str(self) -> &'static str {
        match self {
            TokenKind::Api => "api",
            TokenKind::OAuth => "oauth",
        }
    }
}

/// A token found by its hash.
#[derive(Debug, Clone)]
pub struct TokenRow {
    /// Tenant the token belongs to.
    pub tenant_id: TenantId,
    /// The user who created it (API) or who it acts as (OAuth).
    pub user_id: UserId,
    /// API or OAuth.
    pub kind: TokenKind,
}

/// Stores a token hash.
pub async fn insert(c: &mut AnyConnection, tenant: TenantId, user: UserId, kind: TokenKind, hash: &[u8], now: Timestamp) -> Result<()> {
    sqlx::query("INSERT INTO api_tokens (tenant_id, user_id, kind, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(tenant.0)
        .bind(user.0)
        .bind(kind.as_str())
        .bind(hash.to_vec())
        .bind(now.0)
        .execute(c)
        .await?;
    Ok(())
}

/// Finds a token by hash. Tokens are looked up before the tenant is known: the token says it.
pub async fn by_hash(c: &mut AnyConnection, hash: &[u8]) -> Result<Option<TokenRow>> {
    let row = sqlx::query("SELECT tenant_id, user_id, kind FROM api_tokens WHERE token_hash = $1")
        .bind(hash.to_vec())
        .fetch_optional(c)
        .await?;
    row.map(|r| {
        Ok(TokenRow {
            tenant_id: TenantId(i64_(&r, "tenant_id")?),
            user_id: UserId(i64_(&r, "user_id")?),
            kind: if text(&r, "kind")? == "oauth" { TokenKind::OAuth } else { TokenKind::Api },
        })
    })
    .transpose()
}

/// Revokes every token of a user (on suspension or erasure).
pub async fn delete_for_user(c: &mut AnyConnection, tenant: TenantId, user: UserId) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM api_tokens WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant.0)
        .bind(user.0)
        .execute(c)
        .await?
        .rows_affected())
}

/// Revokes a user's OAuth tokens (on a password change or "sign out on every device"); their
/// API tokens, integration credentials, stay.
pub async fn delete_oauth_for_user(c: &mut AnyConnection, tenant: TenantId, user: UserId) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM api_tokens WHERE tenant_id = $1 AND user_id = $2 AND kind = 'oauth'")
        .bind(tenant.0)
        .bind(user.0)
        .execute(c)
        .await?
        .rows_affected())
}
