//! What every page request carries: the session from the cookie (or none), the language, the
//! CSP nonce, the CSRF token, and the tenant. Also the form reader that checks the CSRF token
//! and the origin before any state changes.

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use suoja_core::{Scope, TenantId, random};
use suoja_helpdesk::signin::{SessionKind, WebSession};

use super::error::Failure;
use super::i18n::Lang;
use crate::AppState;

/// The session cookie.
pub const SESSION_COOKIE: &str = "suoja_session";
/// The cookie that carries the CSRF secret of forms shown before sign-in.
pub const PRE_COOKIE: &str = "suoja_pre";
/// The cookie that remembers a language chosen before sign-in.
pub const LANG_COOKIE: &str = "suoja_lang";
/// The browser's own id, so a sign-in from a browser not used before can be told to the person.
pub const DEVICE_COOKIE: &str = "suoja_device";

/// The per-response CSP nonce, put in the request by the page middleware.
#[derive(Debug, Clone)]
pub struct Nonce(pub String);

/// A page request's context.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The tenant (from the session, or the host).
    pub tenant: TenantId,
    /// The session, if signed in (any kind).
    pub session: Option<WebSession>,
    /// The session token (to sign out).
    pub token: Option<String>,
    /// Language of the page.
    pub lang: Lang,
    /// CSP nonce for this response.
    pub nonce: String,
    /// The CSRF token forms carry.
    pub csrf: String,
    /// A new pre-sign-in secret to set as a cookie with the response, if there was none.
    pub new_pre: Option<String>,
    /// Whether cookies get `Secure` (the public URL is HTTPS).
    pub secure: bool,
    /// The request path and query.
    pub here: String,
    /// Where to come back to after signing in: this page, or for a form the page it was on.
    pub back: String,
    /// The viewer's time zone.
    pub tz: jiff::tz::TimeZone,
    /// The address the request came from (through trusted proxies only).
    pub client: Option<std::net::IpAddr>,
    /// The browser's id cookie, if it sent one.
    pub device: Option<String>,
    /// The browser's `User-Agent` (at most 300 characters).
    pub user_agent: String,
}

pub(super) fn cookies(headers: &HeaderMap) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for v in headers.get_all(header::COOKIE) {
        if let Ok(s) = v.to_str() {
            for pair in s.split(';') {
                if let Some((k, v)) = pair.trim().split_once('=') {
                    out.insert(k.trim().to_string(), v.trim().to_string());
                }
            }
        }
    }
    out
}

/// The CSRF token bound to a secret (a session token or the pre-sign-in cookie).
pub fn csrf_for(secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"suoja-csrf:");
    h.update(secret.as_bytes());
    let digest = h.finalize();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.get(..24).unwrap_or(&digest))
}

/// The language of a page for someone not signed in: the one they chose (its cookie), else
/// their browser's, else English.
pub(super) fn signed_out_lang(jar: &HashMap<String, String>, headers: &HeaderMap, secure: bool) -> Lang {
    jar.get(&super::cookie_name(LANG_COOKIE, secure))
        .and_then(|l| Lang::from_locale(l))
        .unwrap_or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .map(Lang::from_accept_language)
                .unwrap_or(Lang::En)
        })
}

/// The CSRF token of forms shown without a session, from the pre-sign-in cookie; with a new
/// secret to set as that cookie when there was none.
pub(super) fn pre_csrf(jar: &HashMap<String, String>, secure: bool) -> (String, Option<String>) {
    match jar.get(&super::cookie_name(PRE_COOKIE, secure)) {
        Some(pre) if pre.len() >= 20 && pre.len() < 100 => (csrf_for(pre), None),
        _ => {
            let pre = random::token::<24>();
            (csrf_for(&pre), Some(pre))
        }
    }
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let jar = cookies(&parts.headers);
        let secure = state.public_url.starts_with("https://");
        let named = |n: &str| super::cookie_name(n, secure);
        let token = jar.get(&named(SESSION_COOKIE)).filter(|t| !t.is_empty() && t.len() < 100).cloned();
        let client = crate::middleware::client_addr_of(&parts.extensions, &parts.headers, &state.limits.trusted_proxies);
        let mut session = match &token {
            Some(t) => state.helpdesk.web_session(t).await.map_err(|e| Failure::new(e.into(), Lang::En))?,
            None => None,
        };
        // A session from an address the tenant's IP restriction does not allow counts as none:
        // its holder sees what anyone signed out sees (and can sign out), nothing more.
        if let Some(s) = &session {
            match state.helpdesk.check_address(&s.scope, client).await {
                Ok(()) => {}
                Err(suoja_helpdesk::HelpdeskError::Forbidden(_)) => session = None,
                Err(e) => return Err(Failure::new(e.into(), Lang::En)),
            }
        }
        let lang = session
            .as_ref()
            .and_then(|s| Lang::from_locale(&s.locale))
            .unwrap_or_else(|| signed_out_lang(&jar, &parts.headers, secure));
        let tenant = match &session {
            Some(s) => s.scope.tenant,
            None => {
                let host = parts.headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
                state
                    .helpdesk
                    .tenant_for_host(host)
                    .await
                    .map_err(|e| Failure::new(e.into(), lang))?
                    .ok_or_else(|| Failure::new(crate::ApiError::NotFound, lang))?
            }
        };
        tracing::Span::current().record("tenant.id", tenant.0);
        if let Some(s) = &session {
            tracing::Span::current().record("actor.id", s.scope.actor.0);
            if s.kind == suoja_helpdesk::signin::SessionKind::Full
                && let Some(slot) = parts.extensions.get::<crate::audit::AuditSlot>()
            {
                slot.set(s.scope);
            }
        }
        let (csrf, new_pre) = match (&session, &token) {
            (Some(_), Some(t)) => (csrf_for(t), None),
            _ => pre_csrf(&jar, secure),
        };
        let nonce = parts.extensions.get::<Nonce>().map(|n| n.0.clone()).unwrap_or_default();
        let here = parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
        let back = if is_write(&parts.method) {
            let host = parts.headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
            parts
                .headers
                .get(header::REFERER)
                .and_then(|r| r.to_str().ok())
                .and_then(|r| r.split_once("://").map(|(_, rest)| rest.to_string()))
                .and_then(|rest| rest.strip_prefix(host).map(str::to_string))
                .filter(|p| p.starts_with('/') && !p.starts_with("//"))
                .unwrap_or_else(|| "/".into())
        } else {
            here.clone()
        };
        let tz = super::format::zone(session.as_ref().map(|s| s.time_zone.as_str()).unwrap_or("UTC"));
        let device = jar.get(&named(DEVICE_COOKIE)).filter(|d| !d.is_empty() && d.len() < 100).cloned();
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(300).collect())
            .unwrap_or_default();
        Ok(Ctx {
            client,
            device,
            user_agent,
            tenant,
            session,
            token,
            lang,
            nonce,
            csrf,
            new_pre,
            secure,
            here,
            back,
            tz,
        })
    }
}

impl Ctx {
    /// The signed-in person (a full session), or a redirect to sign in.
    pub fn person(&self) -> Result<Scope, Failure> {
        match &self.session {
            Some(s) if s.kind == SessionKind::Full => Ok(s.scope),
            _ => Err(Failure::sign_in(self)),
        }
    }

    /// A signed-in agent or admin.
    pub fn staff(&self) -> Result<Scope, Failure> {
        let s = self.person()?;
        if !s.is_staff() {
            return Err(Failure::forbidden(self));
        }
        Ok(s)
    }

    /// Signed-in privacy staff (admins and privacy officers).
    pub fn privacy_staff(&self) -> Result<Scope, Failure> {
        let s = self.person()?;
        if !s.handles_privacy() {
            return Err(Failure::forbidden(self));
        }
        Ok(s)
    }

    /// The text of `key` in the page's language.
    pub fn t(&self, key: &str) -> &'static str {
        self.lang.t(key)
    }

    /// A failure page in this context's language.
    pub fn fail(&self, e: impl Into<crate::ApiError>) -> Failure {
        Failure::new(e.into(), self.lang)
    }
}

/// A submitted form's fields (URL-encoded), after the CSRF and origin checks.
#[derive(Debug, Clone, Default)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    /// Reads an URL-encoded body; refuses a missing or wrong CSRF token and a foreign origin.
    pub fn read(ctx: &Ctx, headers: &HeaderMap, body: &[u8]) -> Result<Fields, Failure> {
        check_origin(ctx, headers)?;
        let f = Fields::parse(body);
        f.check_csrf(ctx)?;
        Ok(f)
    }

    /// Decodes an URL-encoded body without any check (the caller checks the CSRF token).
    pub fn parse(body: &[u8]) -> Fields {
        Fields(form_urlencoded_pairs(body))
    }

    /// Refuses the form unless it carries this context's CSRF token.
    pub fn check_csrf(&self, ctx: &Ctx) -> Result<(), Failure> {
        if self.carries(&ctx.csrf) { Ok(()) } else { Err(Failure::csrf(ctx)) }
    }

    /// Whether the form carries the CSRF token `csrf` (compared in constant time).
    pub fn carries(&self, csrf: &str) -> bool {
        random::constant_time_eq(self.get("csrf").as_bytes(), csrf.as_bytes())
    }

    /// A field's value, trimmed of nothing; empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
    }

    /// Every value of a repeated field.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }
}

fn form_urlencoded_pairs(body: &[u8]) -> Vec<(String, String)> {
    // Invalid UTF-8 or percent escapes decode lossily: the field then fails validation with a
    // message instead of the request failing as a whole.
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body).unwrap_or_else(|_| {
        String::from_utf8_lossy(body)
            .split('&')
            .filter_map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                let dec = |s: &str| percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
                (!k.is_empty()).then(|| (dec(k), dec(v)))
            })
            .collect()
    })
}

/// State-changing requests must come from our own pages: an `Origin` (or, without one,
/// `Sec-Fetch-Site`) that names another site is refused before the CSRF token is even read.
pub fn check_origin(ctx: &Ctx, headers: &HeaderMap) -> Result<(), Failure> {
    if from_our_pages(headers) { Ok(()) } else { Err(Failure::csrf(ctx)) }
}

/// Whether a state-changing request may come from our own pages: its `Origin` (or, without
/// one, `Sec-Fetch-Site`) names no other site.
pub fn from_our_pages(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        Some(origin) => origin != "null" && origin.split("://").nth(1).unwrap_or("") == host,
        None => headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) != Some("cross-site"),
    }
}

/// Whether a request changes state (and so needs the checks above).
pub fn is_write(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

// Fuzzing: form bodies are whatever a browser (or anyone) posts. Any bytes decode into fields,
// invalid UTF-8 and broken escapes lossily, without a panic; well-formed forms round-trip.
#[cfg(test)]
mod fuzz {
    use super::Fields;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn any_body_decodes(body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..400),
            "[a-z%=&+0-9A-F\\xff]{0,200}".prop_map(String::into_bytes),
        ]) {
            let f = Fields::parse(&body);
            let _ = f.get("csrf");
        }

        #[test]
        fn well_formed_forms_round_trip(pairs in prop::collection::vec(("[a-z_]{1,10}", "\\PC{0,30}"), 0..10)) {
            let body = serde_urlencoded::to_string(&pairs).unwrap_or_default();
            let f = Fields::parse(body.as_bytes());
            for (k, v) in &pairs {
                prop_assert!(f.all(k).contains(&v.as_str()));
            }
        }
    }
}
