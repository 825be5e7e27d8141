//! API and OAuth tokens, stored as SHA-256 hashes only.

use crate::Conn;
use suoja_core::{TenantId, Timestamp, UserId};

use crate::Result;
use crate::row::{i64_, opt_i64, opt_text, text};

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
    /// Id.
    pub id: i64,
    /// Tenant the token belongs to.
    pub tenant_id: TenantId,
    /// The user who created it (API) or who it acts as (OAuth).
    pub user_id: UserId,
    /// API or OAuth.
    pub kind: TokenKind,
    /// What the admin wrote about it (API tokens).
    pub description: Option<String>,
    /// OAuth scopes, space-separated (`None`: read and write).
    pub scopes: Option<String>,
    /// When it stops working.
    pub expires_at: Option<Timestamp>,
    /// Created.
    pub created_at: Timestamp,
}

const COLS: &str = "id, tenant_id, user_id, kind, description, scopes, expires_at, created_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<TokenRow> {
    Ok(TokenRow {
        id: i64_(r, "id")?,
        created_at: Timestamp(i64_(r, "created_at")?),
        ..from_row_without_ids(r)?
    })
}

/// A token's row but for its id and creation time (0 here), which a join names otherwise.
fn from_row_without_ids(r: &sqlx::any::AnyRow) -> Result<TokenRow> {
    Ok(TokenRow {
        id: 0,
        tenant_id: TenantId(i64_(r, "tenant_id")?),
        user_id: UserId(i64_(r, "user_id")?),
        kind: if text(r, "kind")? == "oauth" { TokenKind::OAuth } else { TokenKind::Api },
        description: opt_text(r, "description")?,
        scopes: opt_text(r, "scopes")?,
        expires_at: opt_i64(r, "expires_at")?.map(Timestamp),
        created_at: Timestamp(0),
    })
}

/// Stores a token hash.
pub async fn insert(c: &mut Conn, tenant: TenantId, user: UserId, kind: TokenKind, hash: &[u8], now: Timestamp) -> Result<()> {
    insert_full(c, tenant, user, kind, hash, now, None, None, None).await.map(|_| ())
}

/// Stores a token hash with its description, scopes and expiry; returns its id.
#[expect(clippy::too_many_arguments, reason = "one row's columns, each of its own kind")]
pub async fn insert_full(
    c: &mut Conn,
    tenant: TenantId,
    user: UserId,
    kind: TokenKind,
    hash: &[u8],
    now: Timestamp,
    description: Option<&str>,
    scopes: Option<&str>,
    expires_at: Option<Timestamp>,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO api_tokens (tenant_id, user_id, kind, token_hash, created_at, description, scopes, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(tenant.0)
    .bind(user.0)
    .bind(kind.as_str())
    .bind(hash.to_vec())
    .bind(now.0)
    .bind(description.map(str::to_string))
    .bind(scopes.map(str::to_string))
    .bind(expires_at.map(|t| t.0))
    .fetch_one(c)
    .await?)
}

/// Finds a token by hash, with the row of the user it belongs to (`None` when that user is
/// gone), in one read: authentication needs both on every request. Tokens are looked up before
/// the tenant is known: the token says it.
pub async fn by_hash_with_user(c: &mut Conn, hash: &[u8]) -> Result<Option<(TokenRow, Option<crate::users::UserRow>)>> {
    let sql = format!(
        "SELECT t.id AS token_id, t.tenant_id, t.user_id, t.kind, t.description, t.scopes, t.expires_at, \
         t.created_at AS token_created_at, {} \
         FROM api_tokens t LEFT JOIN users u ON u.tenant_id = t.tenant_id AND u.id = t.user_id \
         WHERE t.token_hash = $1",
        crate::users::columns_of("u")
    );
    let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(hash.to_vec()).fetch_optional(c).await? else {
        return Ok(None);
    };
    let token = TokenRow {
        id: i64_(&row, "token_id")?,
        created_at: Timestamp(i64_(&row, "token_created_at")?),
        ..from_row_without_ids(&row)?
    };
    let user = match opt_i64(&row, "id")? {
        Some(_) => Some(crate::users::from_row(&row)?),
        None => None,
    };
    Ok(Some((token, user)))
}

/// A tenant's tokens of one kind, oldest first.
pub async fn list(c: &mut Conn, tenant: TenantId, kind: TokenKind) -> Result<Vec<TokenRow>> {
    let sql = format!("SELECT {COLS} FROM api_tokens WHERE tenant_id = $1 AND kind = $2 ORDER BY id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(kind.as_str()).fetch_all(c).await?;
    rows.iter().map(from_row).collect()
}

/// Revokes one token of a tenant. Returns whether it existed.
pub async fn delete(c: &mut Conn, tenant: TenantId, kind: TokenKind, id: i64) -> Result<bool> {
    Ok(sqlx::query("DELETE FROM api_tokens WHERE tenant_id = $1 AND kind = $2 AND id = $3")
        .bind(tenant.0)
        .bind(kind.as_str())
        .bind(id)
        .execute(c)
        .await?
        .rows_affected()
        > 0)
}

/// Revokes every token of a user (on suspension or erasure).
pub async fn delete_for_user(c: &mut Conn, tenant: TenantId, user: UserId) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM api_tokens WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant.0)
        .bind(user.0)
        .execute(c)
        .await?
        .rows_affected())
}

/// Revokes a user's OAuth tokens (on a password change or "sign out on every device"); their
/// API tokens, integration credentials, stay.
pub async fn delete_oauth_for_user(c: &mut Conn, tenant: TenantId, user: UserId) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM api_tokens WHERE tenant_id = $1 AND user_id = $2 AND kind = 'oauth'")
        .bind(tenant.0)
        .bind(user.0)
        .execute(c)
        .await?
        .rows_affected())
}
