//! Authentication: API tokens (`email/token:TOKEN`), OAuth bearer tokens, and passwords
//! (Argon2id). Every failure answers the same way, and an unknown e-mail is checked against a
//! dummy hash so that timing does not tell whether an account exists. After
//! [`MAX_PASSWORD_FAILURES`] wrong passwords in a row an account refuses passwords — even the
//! right one — for [`PASSWORD_BLOCK_MS`], answering exactly as for a wrong password, so the
//! block tells a guesser nothing either (signing in by e-mail link still works).

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use sha2::{Digest as _, Sha256};
use suoja_core::{Email, Personal, Scope, TenantId, random};

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

pub(crate) fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// Wrong passwords in a row after which an account refuses passwords for a while.
pub const MAX_PASSWORD_FAILURES: i64 = 10;
/// How long an account refuses passwords after too many wrong ones: 15 minutes.
pub const PASSWORD_BLOCK_MS: i64 = 15 * 60_000;

/// How many password verifications may run at once: two per core.
pub(crate) fn password_slots() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get() * 2)
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
        Ok(self.authenticate_access(creds, host_tenant).await?.0)
    }

    /// As [`Self::authenticate`], with what the credential may do (an OAuth token's scopes).
    pub async fn authenticate_access(&self, creds: &Credentials, host_tenant: Option<TenantId>) -> Result<(Scope, crate::tokens::Access)> {
        let mut c = self.db.read().await?;
        match creds {
            Credentials::ApiToken { email, token } => {
                let found = suoja_store::tokens::by_hash_with_user(&mut c, &token_hash(token.expose())).await?;
                let (tok, creator) = found
                    .filter(|(t, _)| t.kind == suoja_store::tokens::TokenKind::Api)
                    .ok_or(HelpdeskError::Unauthorized)?;
                self.token_scope(&mut c, &tok, creator, Some(email)).await
            }
            Credentials::Bearer(token) => {
                let found = suoja_store::tokens::by_hash_with_user(&mut c, &token_hash(token.expose())).await?;
                let (tok, creator) = found
                    .filter(|(t, _)| t.kind == suoja_store::tokens::TokenKind::OAuth)
                    .ok_or(HelpdeskError::Unauthorized)?;
                self.token_scope(&mut c, &tok, creator, None).await
            }
            Credentials::Password { email, password } => {
                drop(c);
                let tenant = host_tenant.ok_or(HelpdeskError::Unauthorized)?;
                let scope = self.password_step(tenant, email, password).await?;
                // The API takes no second factor: a person who has one (or staff where the tenant
                // requires one) uses an API or OAuth token there, as with Zendesk. The answer is
                // the same as for a wrong password.
                if self.second_factor_due(&scope).await? {
                    return Err(HelpdeskError::Unauthorized);
                }
                self.clear_password_failures(&scope).await?;
                Ok((scope, crate::tokens::Access::Full))
            }
        }
    }

    /// Whether signing in as `scope` needs a second factor: they set one up, or the tenant
    /// requires one of people in their role.
    pub(crate) async fn second_factor_due(&self, scope: &Scope) -> Result<bool> {
        let mut c = self.db.read().await?;
        let has = suoja_store::web::second_factor(&mut c, scope.tenant, scope.actor)
            .await?
            .is_some_and(|f| f.confirmed_at.is_some());
        Ok(has || self.second_factor_required(&mut c, scope).await?)
    }

    /// The password step of a sign-in: one Argon2 verification whether the account exists, is
    /// blocked or not; a wrong password costs one write whether the account exists or not (an
    /// unknown address counts against a row of no one, user 0, so timing tells nothing), and ten
    /// in a row block the account for a while. A right password does not clear the count: that
    /// waits until the sign-in is complete (a second factor's wrong codes count too).
    pub(crate) async fn password_step(&self, tenant: TenantId, email: &Email, password: &Personal<String>) -> Result<Scope> {
        let mut c = self.db.read().await?;
        let user = self.user_by_email(&mut c, tenant, email).await?;
        let now = self.now();
        let failures = suoja_store::web::sign_in_failures(&mut c, tenant, user.as_ref().map_or(suoja_core::UserId(0), |u| u.id)).await?;
        drop(c);
        let blocked = user.is_some() && failures.is_some_and(|(_, until)| until.is_some_and(|t| t > now));
        let hash = user.as_ref().and_then(|u| u.password_hash.clone());
        let pw = password.expose().clone();
        // A bounded number of verifications at once; the rest are turned away before any work.
        let Ok(_permit) = self.argon.clone().try_acquire_owned() else {
            return Err(HelpdeskError::Busy);
        };
        // Always one verification, blocked or not, known or not: the time taken is the same.
        let phc = hash.clone().unwrap_or_else(|| DUMMY_HASH.to_string());
        let ok = tokio::task::spawn_blocking(move || verify_password(&pw, &phc))
            .await
            .map_err(|e| HelpdeskError::Internal(e.to_string()))?;
        if ok
            && !blocked
            && hash.is_some()
            && let Some(u) = &user
        {
            return scope_for(tenant, u);
        }
        let who = user.as_ref().map_or(suoja_core::UserId(0), |u| u.id);
        self.record_password_failure(tenant, who, now).await?;
        Err(HelpdeskError::Unauthorized)
    }

    /// Counts a wrong password or second-factor code against `user` (0: an unknown address).
    pub(crate) async fn record_password_failure(&self, tenant: TenantId, user: suoja_core::UserId, now: suoja_core::Timestamp) -> Result<()> {
        let mut tx = self.db.begin().await?;
        let block_until = suoja_core::Timestamp(now.0 + PASSWORD_BLOCK_MS);
        let now_blocked = suoja_store::web::record_sign_in_failure(&mut tx, tenant, user, now, MAX_PASSWORD_FAILURES, block_until).await?;
        tx.commit().await?;
        if now_blocked && user.0 != 0 {
            tracing::warn!(tenant.id = %tenant, user.id = %user, minutes = PASSWORD_BLOCK_MS / 60_000, "too many wrong passwords or codes: the account refuses passwords for a while");
        }
        Ok(())
    }

    /// Forgets a person's wrong passwords and codes once they are fully signed in.
    pub(crate) async fn clear_password_failures(&self, scope: &Scope) -> Result<()> {
        let mut tx = self.db.begin().await?;
        suoja_store::web::clear_sign_in_failures(&mut tx, scope.tenant, scope.actor).await?;
        tx.commit().await?;
        Ok(())
    }
}

pub(crate) fn scope_for(tenant: TenantId, user: &suoja_store::users::UserRow) -> Result<Scope> {
    if !user.active || user.suspended || user.deleted_at.is_some() {
        return Err(HelpdeskError::Unauthorized);
    }
    let role = user.role;
    Ok(Scope {
        tenant,
        actor: user.id,
        role,
        privacy_officer: user.privacy_officer,
        token: None,
    })
}
