//! Authentication: API tokens (`email/token:TOKEN`), OAuth bearer tokens, and passwords
//! (Argon2id). Every failure answers the same way, and an unknown e-mail is checked against a
//! dummy hash so that timing does not tell whether an account exists.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use sha2::{Digest as _, Sha256};
use suoja_core::{Email, Personal, Role, Scope, TenantId, random};

use crate::{Helpdesk, HelpdeskError, Result};

/// What a client presented.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// `Authorization: Basic base64(email/token:TOKEN)`.
    ApiToken {
        /// The user to act as.
        email: Email,
        /// The token.
        token: Personal<String>,
    },
    /// `Authorization: Basic base64(email:password)`.
    Password {
        /// The user.
        email: Email,
        /// The password.
        password: Personal<String>,
    },
    /// `Authorization: Bearer TOKEN`.
    Bearer(Personal<String>),
}

pub(crate) fn hash_password(password: &str) -> Result<String> {
    let salt = random::bytes::<16>();
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HelpdeskError::Internal(e.to_string()))
}

fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A fixed Argon2id hash to verify against when the user does not exist.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c3VvamEtZHVtbXktc2FsdA$Wm5mQ1RrOHJ0bDJ4bXZCZ0RjN2R6Q1l0c0xuN0VwY0E";

/// The stored form of a token.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

impl Helpdesk {
    /// Authenticates `creds`. `host_tenant` is the tenant the request's host names (for
    /// passwords, which do not say their tenant); tokens carry their own.
    pub async fn authenticate(&self, creds: &Credentials, host_tenant: Option<TenantId>) -> Result<Scope> {
        let mut c = self.db.read().await?;
        match creds {
            Credentials::ApiToken { email, token } => {
                let found = suoja_store::tokens::by_hash(&mut c, &token_hash(token.expose())).await?;
                let Some(tok) = found.filter(|t| t.kind == suoja_store::tokens::TokenKind::Api) else {
                    return Err(HelpdeskError::Unauthorized);
                };
                let user = self.user_by_email(&mut c, tok.tenant_id, email).await?.ok_or(HelpdeskError::Unauthorized)?;
                scope_for(tok.tenant_id, &user)
            }
            Credentials::Bearer(token) => {
                let found = suoja_store::tokens::by_hash(&mut c, &token_hash(token.expose())).await?;
                let tok = found.ok_or(HelpdeskError::Unauthorized)?;
                let user = suoja_store::users::by_id(&mut c, tok.tenant_id, tok.user_id)
                    .await?
                    .ok_or(HelpdeskError::Unauthorized)?;
                scope_for(tok.tenant_id, &user)
            }
            Credentials::Password { email, password } => {
                let tenant = host_tenant.ok_or(HelpdeskError::Unauthorized)?;
                let user = self.user_by_email(&mut c, tenant, email).await?;
                let hash = user.as_ref().and_then(|u| u.password_hash.clone());
                let pw = password.expose().clone();
                let phc = hash.clone().unwrap_or_else(|| DUMMY_HASH.to_string());
                let ok = tokio::task::spawn_blocking(move || verify_password(&pw, &phc))
                    .await
                    .map_err(|e| HelpdeskError::Internal(e.to_string()))?;
                match (ok && hash.is_some(), user) {
                    (true, Some(u)) => scope_for(tenant, &u),
                    _ => Err(HelpdeskError::Unauthorized),
                }
            }
        }
    }
}

pub(crate) fn scope_for(tenant: TenantId, user: &suoja_store::users::UserRow) -> Result<Scope> {
    if !user.active || user.suspended || user.deleted_at.is_some() {
        return Err(HelpdeskError::Unauthorized);
    }
    let role = Role::parse(&user.role).map_err(|_| HelpdeskError::Unauthorized)?;
    Ok(Scope {
        tenant,
        actor: user.id,
        role,
        privacy_officer: user.privacy_officer,
    })
}
