//! `Auth`: the caller's `Scope`, from Basic (`email/token:TOKEN` or `email:password`) or Bearer
//! credentials. A handler that takes `Auth` cannot run unauthenticated.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine as _;
use suoja_core::{Email, Personal, Scope};
use suoja_helpdesk::{Credentials, HelpdeskError};

use crate::{ApiError, AppState};

/// The authenticated caller.
#[derive(Debug, Clone, Copy)]
pub struct Auth(pub Scope);

fn parse_credentials(value: &str) -> Option<Credentials> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    match scheme.to_ascii_lowercase().as_str() {
        "bearer" => Some(Credentials::Bearer(Personal::new(rest.trim().to_string()))),
        "basic" => {
            let decoded = base64::engine::general_purpose::STANDARD.decode(rest.trim()).ok()?;
            let text = String::from_utf8(decoded).ok()?;
            let (user, secret) = text.split_once(':')?;
            if let Some(email) = user.strip_suffix("/token") {
                Some(Credentials::ApiToken {
                    email: Email::parse(email).ok()?,
                    token: Personal::new(secret.to_string()),
                })
            } else {
                Some(Credentials::Password {
                    email: Email::parse(user).ok()?,
                    password: Personal::new(secret.to_string()),
                })
            }
        }
        _ => None,
    }
}

/// The caller when credentials are sent (and then they must be right), or nobody, with the
/// tenant the host names. For the few endpoints a person may use without an account session.
#[derive(Debug, Clone, Copy)]
pub struct MaybeAuth(pub Option<Scope>, pub suoja_core::TenantId);

impl FromRequestParts<AppState> for MaybeAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            let Auth(scope) = Auth::from_request_parts(parts, state).await?;
            return Ok(MaybeAuth(Some(scope), scope.tenant));
        }
        let host = parts.headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
        let tenant = state.helpdesk.tenant_for_host(host).await?.ok_or(ApiError::NotFound)?;
        tracing::Span::current().record("tenant.id", tenant.0);
        Ok(MaybeAuth(None, tenant))
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let creds = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_credentials)
            .ok_or(ApiError::Helpdesk(HelpdeskError::Unauthorized))?;
        let host_tenant = match &creds {
            Credentials::Password { .. } => {
                let host = parts.headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
                state.helpdesk.tenant_for_host(host).await?
            }
            _ => None,
        };
        let (scope, access) = state.helpdesk.authenticate_access(&creds, host_tenant).await?;
        tracing::Span::current().record("tenant.id", scope.tenant.0).record("actor.id", scope.actor.0);
        // An OAuth token does only what its scopes name.
        let reading = matches!(parts.method, axum::http::Method::GET | axum::http::Method::HEAD);
        if !access.allows(reading, &suoja_helpdesk::tokens::Access::resource_of(parts.uri.path())) {
            return Err(ApiError::Helpdesk(HelpdeskError::Forbidden("the token's scopes do not allow this")));
        }
        // The tenant's IP restriction, from the address the request came from (through trusted
        // proxies only).
        // Refused as a wrong credential would be: from outside, nobody learns that it works.
        let client = crate::middleware::client_addr_of(&parts.extensions, &parts.headers, &state.limits.trusted_proxies);
        match state.helpdesk.check_address(&scope, client).await {
            Err(HelpdeskError::Forbidden(_)) => return Err(ApiError::Helpdesk(HelpdeskError::Unauthorized)),
            other => other?,
        }
        if let Some(slot) = parts.extensions.get::<crate::audit::AuditSlot>() {
            slot.set(scope);
        }
        Ok(Auth(scope))
    }
}
