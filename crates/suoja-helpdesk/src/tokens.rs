//! API and OAuth tokens. An API token (`email/token:TOKEN`) is an admin's credential for an
//! integration: it works only while the admin who created it is an active, unsuspended admin, is
//! listed and revoked through `/api/v2/api_tokens`, and is shown once. An OAuth token (`Bearer`)
//! acts as its user within its scopes (`read`, `write`, or per resource, `tickets:read`…) until
//! it expires; a new password, a suspension or "sign out on every device" ends it.

use suoja_core::{Personal, Role, Scope, TenantId, Timestamp, UserId, random};
use suoja_store::tokens::{TokenKind, TokenRow};

use crate::{Helpdesk, HelpdeskError, Result};

/// Resources a scope can name (Zendesk's, and Suoja's `privacy`).
pub const RESOURCES: &[&str] = &[
    "tickets",
    "users",
    "organizations",
    "groups",
    "requests",
    "webhooks",
    "auditlogs",
    "hc",
    "macros",
    "triggers",
    "automations",
    "privacy",
];

/// What a credential may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Everything its user may do.
    Full,
    /// Only what these scopes allow.
    Scoped(Vec<String>),
}

impl Access {
    /// From stored scopes (none stored: read and write).
    fn of(scopes: Option<&str>) -> Self {
        match scopes {
            None => Access::Full,
            Some(s) => {
                let list: Vec<String> = s.split_whitespace().map(str::to_string).collect();
                if list.iter().any(|x| x == "write") && list.iter().any(|x| x == "read") {
                    Access::Full
                } else {
                    Access::Scoped(list)
                }
            }
        }
    }

    /// Whether a request reading (`GET`, `HEAD`) or writing `resource` is allowed.
    pub fn allows(&self, reading: bool, resource: &str) -> bool {
        let Access::Scoped(list) = self else { return true };
        let has = |s: &str| list.iter().any(|x| x == s);
        if reading {
            has("read") || has("write") || has(&format!("{resource}:read")) || has(&format!("{resource}:write"))
        } else {
            has("write") || has(&format!("{resource}:write"))
        }
    }

    /// The resource an API path is about, for scope checks (`/api/v2/tickets/3/comments` →
    /// `tickets`; `/api/v2/deleted_tickets` → `tickets`).
    pub fn resource_of(path: &str) -> String {
        let rest = path.trim_start_matches("/api/v2/");
        let mut parts = rest.split('/').map(|p| p.trim_end_matches(".json"));
        let first = parts.next().unwrap_or("");
        let first = if first == "incremental" { parts.next().unwrap_or("") } else { first };
        match first {
            "deleted_tickets" | "comment_redactions" | "ticket_audits" | "ticket_metric_events" | "uploads" | "attachments" | "search" => "tickets",
            "deleted_users" | "user_fields" => "users",
            "ticket_fields" | "ticket_forms" => "tickets",
            "organization_fields" => "organizations",
            "help_center" | "community" => "hc",
            other => other,
        }
        .to_string()
    }
}

/// Checks OAuth scopes as a client sends them.
pub fn parse_scopes(scopes: &[String]) -> Result<String> {
    if scopes.is_empty() {
        return Err(HelpdeskError::invalid(
            "scopes",
            "name at least one scope (read, write, or resource:read / resource:write)",
        ));
    }
    for s in scopes {
        let ok = matches!(s.as_str(), "read" | "write") || s.split_once(':').is_some_and(|(r, a)| RESOURCES.contains(&r) && matches!(a, "read" | "write"));
        if !ok {
            return Err(HelpdeskError::invalid(
                "scopes",
                format!(
                    "unknown scope '{}' (read, write, or resource:read / resource:write)",
                    s.chars().take(40).collect::<String>()
                ),
            ));
        }
    }
    Ok(scopes.join(" "))
}

/// An API token as admins see it (never its value after creation).
#[derive(Debug, Clone)]
pub struct ApiToken {
    /// Id.
    pub id: i64,
    /// What it is for.
    pub description: Option<String>,
    /// The admin who created it.
    pub created_by: UserId,
    /// Whether it works now (its creator is still an active admin).
    pub active: bool,
    /// Created.
    pub created_at: Timestamp,
}

impl Helpdesk {
    /// Whether a token (found by its hash, with the row of the user it belongs to, read with
    /// it) stands for a credential that works now, and for whom.
    pub(crate) async fn token_scope(
        &self,
        c: &mut suoja_store::Conn,
        tok: &TokenRow,
        creator: Option<suoja_store::users::UserRow>,
        email: Option<&suoja_core::Email>,
    ) -> Result<(Scope, Access)> {
        if tok.expires_at.is_some_and(|t| t <= self.now()) {
            return Err(HelpdeskError::Unauthorized);
        }
        let creator = creator.ok_or(HelpdeskError::Unauthorized)?;
        match tok.kind {
            TokenKind::Api => {
                // Bound to the admin who made it: a demoted, suspended or erased admin's token stops.
                if creator.role != Role::Admin || crate::auth::scope_for(tok.tenant_id, &creator).is_err() {
                    return Err(HelpdeskError::Unauthorized);
                }
                let email = email.ok_or(HelpdeskError::Unauthorized)?;
                // Mostly the admin signs in as themselves: their row is already read (an
                // address's keyed hash is unique in a tenant), so it is not read twice.
                let hash = self.vault.blind_index(c, tok.tenant_id, &email.normalized()).await?;
                let user = if creator.email_hash.as_deref() == Some(hash.as_slice()) {
                    creator
                } else {
                    suoja_store::users::by_email_hash(c, tok.tenant_id, &hash)
                        .await?
                        .ok_or(HelpdeskError::Unauthorized)?
                };
                let scope = crate::auth::scope_for(tok.tenant_id, &user)?;
                Ok((Scope { token: Some(tok.id), ..scope }, Access::Full))
            }
            TokenKind::OAuth => {
                let scope = crate::auth::scope_for(tok.tenant_id, &creator)?;
                Ok((Scope { token: Some(tok.id), ..scope }, Access::of(tok.scopes.as_deref())))
            }
        }
    }

    /// Issues an OAuth token for the scope's user, with `scopes` (space-separated, checked by
    /// [`parse_scopes`]) and an expiry.
    pub async fn issue_bearer_token(&self, scope: &Scope, scopes: Option<&str>, expires_at: Option<Timestamp>) -> Result<Personal<String>> {
        if expires_at.is_some_and(|t| t <= self.now()) {
            return Err(HelpdeskError::invalid("expires_at", "must be in the future"));
        }
        let token = random::token::<30>();
        let mut tx = self.db.begin().await?;
        suoja_store::tokens::insert_full(
            &mut tx,
            scope.tenant,
            scope.actor,
            TokenKind::OAuth,
            &crate::auth::token_hash(&token),
            self.now(),
            None,
            scopes,
            expires_at,
        )
        .await?;
        tx.commit().await?;
        Ok(Personal::new(token))
    }

    /// Creates an API token (admins only); the value is returned this once.
    pub async fn create_api_token(&self, scope: &Scope, description: Option<&str>) -> Result<(ApiToken, Personal<String>)> {
        require_admin(scope)?;
        let token = random::token::<30>();
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let id = suoja_store::tokens::insert_full(
            &mut tx,
            scope.tenant,
            scope.actor,
            TokenKind::Api,
            &crate::auth::token_hash(&token),
            now,
            description,
            None,
            None,
        )
        .await?;
        self.record_ledger(
            &mut tx,
            scope.tenant,
            suoja_core::LedgerKind::ApiTokenCreated,
            None,
            Some(scope.actor.0),
            serde_json::json!({ "token": id }),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(tenant.id = %scope.tenant, token.id = id, actor.id = %scope.actor, "API token created");
        Ok((
            ApiToken {
                id,
                description: description.map(str::to_string),
                created_by: scope.actor,
                active: true,
                created_at: now,
            },
            Personal::new(token),
        ))
    }

    /// The tenant's API tokens (admins only).
    pub async fn api_tokens(&self, scope: &Scope) -> Result<Vec<ApiToken>> {
        require_admin(scope)?;
        let mut c = self.db.read().await?;
        let rows = suoja_store::tokens::list(&mut c, scope.tenant, TokenKind::Api).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let creator = suoja_store::users::by_id(&mut c, scope.tenant, r.user_id).await?;
            let active = creator.is_some_and(|u| u.role == Role::Admin && crate::auth::scope_for(scope.tenant, &u).is_ok());
            out.push(ApiToken {
                id: r.id,
                description: r.description,
                created_by: r.user_id,
                active,
                created_at: r.created_at,
            });
        }
        Ok(out)
    }

    /// Revokes an API token (admins only).
    pub async fn revoke_api_token(&self, scope: &Scope, id: i64) -> Result<()> {
        require_admin(scope)?;
        let mut tx = self.db.begin().await?;
        if !suoja_store::tokens::delete(&mut tx, scope.tenant, TokenKind::Api, id).await? {
            return Err(HelpdeskError::NotFound("ApiToken"));
        }
        self.record_ledger(
            &mut tx,
            scope.tenant,
            suoja_core::LedgerKind::ApiTokenRevoked,
            None,
            Some(scope.actor.0),
            serde_json::json!({ "token": id }),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(tenant.id = %scope.tenant, token.id = id, actor.id = %scope.actor, "API token revoked");
        Ok(())
    }

    /// Ends a person's browser sessions and OAuth tokens (a new password, a suspension, "sign
    /// out on every device").
    pub(crate) async fn end_sessions(&self, c: &mut suoja_store::Conn, tenant: TenantId, user: UserId) -> Result<u64> {
        let sessions = suoja_store::web::delete_sessions_of(c, tenant, user).await?;
        let tokens = suoja_store::tokens::delete_oauth_for_user(c, tenant, user).await?;
        Ok(sessions + tokens)
    }
}

fn require_admin(scope: &Scope) -> Result<()> {
    if scope.is_admin() {
        Ok(())
    } else {
        Err(HelpdeskError::Forbidden("only admins manage API tokens"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_allow_what_they_name() {
        let read = Access::of(Some("read"));
        assert!(read.allows(true, "users") && !read.allows(false, "tickets"));
        let tickets = Access::of(Some("tickets:read"));
        assert!(tickets.allows(true, "tickets") && !tickets.allows(true, "users") && !tickets.allows(false, "tickets"));
        let write = Access::of(Some("tickets:write"));
        assert!(write.allows(false, "tickets") && write.allows(true, "tickets") && !write.allows(false, "users"));
        assert_eq!(Access::of(Some("read write")), Access::Full);
        assert_eq!(Access::of(None), Access::Full);
        assert_eq!(Access::resource_of("/api/v2/deleted_tickets/3.json"), "tickets");
        assert_eq!(Access::resource_of("/api/v2/incremental/users/cursor"), "users");
        assert_eq!(Access::resource_of("/api/v2/users/me.json"), "users");
        assert!(parse_scopes(&["read".into(), "tickets:write".into()]).is_ok());
        assert!(parse_scopes(&["admin".into()]).is_err());
        assert!(parse_scopes(&[]).is_err());
    }
}
