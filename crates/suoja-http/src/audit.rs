//! The admin audit log at the edge: which requests are audited (staff changes to settings,
//! roles, tokens, webhooks, retention, holds and privacy work; staff sign-ins; downloads of
//! privacy documents), recorded after they succeed with the route the router matched, the
//! object's id from the path and the client address. The extractors that learn who is calling
//! leave the scope in the request's [`AuditSlot`]; the privacy engine keeps the entry
//! ([`suoja_privacy::audit`]).

use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;
use suoja_core::Scope;
use suoja_privacy::audit::{Action, Event};

use crate::AppState;

/// Where the extractors leave the caller's scope for the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditSlot(Arc<Mutex<Option<Scope>>>);

impl AuditSlot {
    /// Notes who is calling.
    pub fn set(&self, scope: Scope) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(scope);
    }
    fn get(&self) -> Option<Scope> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Route prefixes whose changes are audited.
const AUDITED: &[&str] = &[
    "/api/v2/privacy/",
    "/api/v2/account/",
    "/api/v2/api_tokens",
    "/api/v2/oauth/",
    "/api/v2/webhooks",
    "/api/v2/users",
    "/api/v2/groups",
    "/api/v2/deleted_users",
    "/api/v2/deleted_tickets",
    "/api/v2/comment_redactions",
    // Business rules and the fields they test.
    "/api/v2/views",
    "/api/v2/macros",
    "/api/v2/triggers",
    "/api/v2/trigger_categories",
    "/api/v2/automations",
    "/api/v2/slas/",
    "/api/v2/business_hours/",
    "/api/v2/ticket_fields",
    "/api/v2/ticket_forms",
    "/api/v2/user_fields",
    "/api/v2/organization_fields",
    "/agent/rules/",
    "/admin/",
    "/privacy/",
    "/account/",
];

/// Routes that open a privacy document when read.
fn exported(route: &str) -> bool {
    route.contains("/download")
        || route.starts_with("/exports/")
        || route.ends_with("/original")
        || route.starts_with("/api/v2/incremental/")
        || route.ends_with("/breaches/{id}/people")
        || route.ends_with("/certificate")
        || route.ends_with("/notification")
        || route.ends_with("/records_of_processing")
        || route.ends_with("/dpa")
        || route.ends_with(".pdf")
        || route.ends_with("/breaches/register")
        || route.ends_with("/footprint")
        || route.starts_with("/api/v2/audit_logs/export")
        || route == "/admin/audit/export"
}

/// What a request to `route` by `method` does, if it is audited.
pub fn audited(method: &Method, route: &str) -> Option<Action> {
    if *method == Method::POST
        && matches!(
            route,
            "/signin" | "/signin/second-factor" | "/signin/link/{token}" | "/account/second-factor/confirm"
        )
    {
        return Some(Action::Login);
    }
    if *method == Method::GET {
        return exported(route).then_some(Action::Exported);
    }
    if !(AUDITED.iter().any(|p| route.starts_with(p)) || route.ends_with("/redact") || route.ends_with("/make_private")) {
        return None;
    }
    match *method {
        Method::DELETE => Some(Action::Destroy),
        Method::PUT | Method::PATCH => Some(Action::Update),
        // A POST that removes (`…/remove`, `…/release`) destroys; one on an object (a path with
        // an id) changes it; one to a collection creates.
        Method::POST => Some(if route.ends_with("/remove") || route.ends_with("/release") {
            Action::Destroy
        } else if route.contains('{') || route.starts_with("/account/") || route.starts_with("/admin/") {
            Action::Update
        } else {
            Action::Create
        }),
        _ => None,
    }
}

/// The kind of object (`privacy.retention`) and its id from the path, by the route template.
fn source(route: &str, path: &str) -> (String, Option<String>) {
    let route = route.strip_prefix("/api/v2").unwrap_or(route);
    let path = path.strip_prefix("/api/v2").unwrap_or(path);
    let kind: Vec<&str> = route.split('/').filter(|s| !s.is_empty() && !s.starts_with('{')).collect();
    let id = route
        .split('/')
        .zip(path.split('/'))
        .find(|(r, _)| r.starts_with('{') && *r != "{token}")
        .map(|(_, p)| {
            // As the router decoded it (`%35` is the object 5 it acted on).
            let decoded = percent_encoding::percent_decode_str(p).decode_utf8_lossy();
            let p = decoded.trim_end_matches(".json");
            // Numeric ids as numbers (`0042` and `+42` are 42), anything else as written.
            p.parse::<i64>().map_or_else(|_| p.chars().take(64).collect(), |n| n.to_string())
        });
    (kind.join("."), id)
}

/// The session a sign-in answer set, from its cookie.
fn session_cookie(res: &Response, name: &str) -> Option<String> {
    res.headers().get_all(header::SET_COOKIE).iter().find_map(|v| {
        let s = v.to_str().ok()?;
        let pair = s.split(';').next()?;
        let (k, val) = pair.split_once('=')?;
        (k == name && !val.is_empty()).then(|| val.to_string())
    })
}

/// Records audited requests that succeeded.
pub async fn audit(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_default();
    let Some(action) = audited(&method, &route) else {
        return next.run(req).await;
    };
    let path = req.uri().path().to_string();
    let client = crate::middleware::client_addr_of(req.extensions(), req.headers(), &state.limits.trusted_proxies);
    let slot = AuditSlot::default();
    req.extensions_mut().insert(slot.clone());
    let res = next.run(req).await;
    if !(res.status().is_success() || res.status().is_redirection()) {
        return res;
    }
    let scope = match action {
        Action::Login => {
            let name = crate::web::cookie_name(crate::web::SESSION_COOKIE, state.public_url.starts_with("https://"));
            match session_cookie(&res, &name) {
                Some(token) => state
                    .helpdesk
                    .web_session(&token)
                    .await
                    .ok()
                    .flatten()
                    .filter(|s| s.kind == suoja_helpdesk::signin::SessionKind::Full)
                    .map(|s| s.scope),
                None => None,
            }
        }
        _ => slot.get(),
    };
    // Staff, and API tokens whoever they act as (an admin's integration).
    let Some(scope) = scope.filter(|s| s.is_staff() || s.token.is_some()) else {
        return res;
    };
    let (source_type, source_id) = source(&route, &path);
    let ev = Event {
        action,
        route: format!("{method} {route}"),
        source_type,
        source_id,
    };
    if let Err(e) = state.privacy.record_audit(&scope, ev, client).await {
        tracing::error!(tenant.id = %scope.tenant, actor.id = %scope.actor, error = %e, "the audit log could not record a request");
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_audited_by_what_they_do() {
        assert_eq!(audited(&Method::PUT, "/api/v2/privacy/retention/{policy}"), Some(Action::Update));
        assert_eq!(audited(&Method::POST, "/api/v2/privacy/holds"), Some(Action::Create));
        assert_eq!(audited(&Method::POST, "/api/v2/privacy/requests/{id}/verify"), Some(Action::Update));
        assert_eq!(audited(&Method::POST, "/api/v2/privacy/subjects/{id}/restriction/lift"), Some(Action::Update));
        assert_eq!(audited(&Method::POST, "/admin/mail/smtp/remove"), Some(Action::Destroy));
        assert_eq!(audited(&Method::POST, "/account/staff-second-factor"), Some(Action::Update));
        assert_eq!(audited(&Method::POST, "/api/v2/privacy/holds"), Some(Action::Create));
        assert_eq!(audited(&Method::POST, "/account/second-factor/confirm"), Some(Action::Login));
        assert_eq!(audited(&Method::GET, "/api/v2/incremental/tickets/cursor"), Some(Action::Exported));
        assert_eq!(source("/api/v2/users/{id}", "/api/v2/users/0042.json").1.as_deref(), Some("42"));
        assert_eq!(audited(&Method::DELETE, "/api/v2/webhooks/{id}"), Some(Action::Destroy));
        assert_eq!(audited(&Method::GET, "/api/v2/privacy/exports/{id}/download"), Some(Action::Exported));
        assert_eq!(audited(&Method::POST, "/signin"), Some(Action::Login));
        assert_eq!(audited(&Method::POST, "/api/v2/triggers"), Some(Action::Create));
        assert_eq!(audited(&Method::PUT, "/api/v2/slas/policies/{id}"), Some(Action::Update));
        assert_eq!(audited(&Method::PATCH, "/api/v2/trigger_categories/{id}"), Some(Action::Update));
        assert_eq!(
            audited(&Method::DELETE, "/api/v2/business_hours/schedules/{id}/holidays/{holiday_id}"),
            Some(Action::Destroy)
        );
        assert_eq!(audited(&Method::POST, "/agent/rules/schedules/{id}/remove"), Some(Action::Destroy));
        // Reading what a macro would do changes nothing.
        assert_eq!(audited(&Method::GET, "/api/v2/macros/{id}/apply"), None);
        assert_eq!(audited(&Method::GET, "/api/v2/tickets"), None);
        assert_eq!(audited(&Method::POST, "/api/v2/tickets"), None);
        assert_eq!(
            source("/api/v2/privacy/retention/{policy}", "/api/v2/privacy/retention/closed_tickets.json"),
            ("privacy.retention".to_string(), Some("closed_tickets".to_string()))
        );
        assert_eq!(source("/signin/link/{token}", "/signin/link/secret").1, None, "a link's secret is never kept");
    }
}
