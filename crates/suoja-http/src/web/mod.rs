//! The web interface: server-rendered pages (askama templates under `templates/`, compiled and
//! auto-escaping) for agents (`/agent`), end users (`/portal`) and privacy staff (`/privacy`),
//! sign-in (`/signin`), and the assets they use, all served by the binary. Pages work without
//! JavaScript; `assets/app.js` only adds conveniences (redaction by selecting text, drafts kept
//! across an expired session, confirmations). Handlers call the helpdesk and privacy services
//! exactly as the API does; no rule lives here.

mod admin;
mod agent;
mod assets;
mod audit;
mod breaches;
mod console;
mod ctx;
mod custom_fields;
mod documents;
mod error;
mod fields;
mod format;
mod help_center;
mod i18n;
mod operator;
mod portal;
mod rules;
mod security;
mod signin;
mod subprocessors;

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get};
use suoja_core::random;

pub use ctx::{Ctx, SESSION_COOKIE};
pub use error::Failure;
pub use i18n::Lang;

use crate::AppState;

/// What the layout needs from every page.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// Language.
    pub lang: Lang,
    /// CSP nonce of this response.
    pub nonce: String,
    /// CSRF token for the forms on the page.
    pub csrf: String,
    /// The signed-in person's name (empty when signed out).
    pub name: String,
    /// Signed in with a full session.
    pub signed_in: bool,
    /// An agent or admin.
    pub is_staff: bool,
    /// Privacy staff.
    pub handles_privacy: bool,
    /// An admin.
    pub is_admin: bool,
    /// Page title.
    pub title: String,
    /// Which part of the interface (`agent`, `portal`, `centre`, `privacy`, `account`, `signin`).
    pub section: &'static str,
    /// A one-line confirmation of what just happened (empty for none).
    pub flash: String,
}

impl Chrome {
    /// The layout of a page titled `title` in `section`.
    pub fn new(ctx: &Ctx, title: impl Into<String>, section: &'static str) -> Self {
        let full = ctx.session.as_ref().filter(|s| s.kind == suoja_helpdesk::signin::SessionKind::Full);
        let flash = ctx
            .here
            .split_once('?')
            .and_then(|(_, q)| q.split('&').find_map(|p| p.strip_prefix("done=")))
            .filter(|k| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            .map(|k| {
                let key = format!("flash.{k}");
                if i18n::EN.contains_key(&key) {
                    ctx.t(&key).to_string()
                } else {
                    String::new()
                }
            })
            .unwrap_or_default();
        Chrome {
            lang: ctx.lang,
            nonce: ctx.nonce.clone(),
            csrf: ctx.csrf.clone(),
            name: full.map(|s| s.name.expose().clone()).unwrap_or_default(),
            signed_in: full.is_some(),
            is_staff: full.is_some_and(|s| s.scope.is_staff()),
            handles_privacy: full.is_some_and(|s| s.scope.handles_privacy()),
            is_admin: full.is_some_and(|s| s.scope.is_admin()),
            title: title.into(),
            section,
            flash,
        }
    }

    /// The text of `key` in the page's language.
    pub fn t(&self, key: &str) -> &'static str {
        self.lang.t(key)
    }
}

/// Renders a page: HTML, never cached, with the pre-sign-in cookie when one was made.
pub fn render(ctx: &Ctx, page: &impl Template) -> Response {
    render_status(ctx, axum::http::StatusCode::OK, page)
}

/// Renders a page with a status (a form shown again with errors is a 422).
pub fn render_status(ctx: &Ctx, status: axum::http::StatusCode, page: &impl Template) -> Response {
    render_page(status, page, ctx.lang, ctx.new_pre.as_deref(), ctx.secure)
}

/// Renders a page in `lang` with a status, setting the pre-sign-in cookie to `new_pre` when one
/// was made (for pages without a [`Ctx`], such as the operator's).
pub(crate) fn render_page(status: axum::http::StatusCode, page: &impl Template, lang: Lang, new_pre: Option<&str>, secure: bool) -> Response {
    let html = match page.render() {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            return Failure::new(crate::ApiError::Helpdesk(suoja_helpdesk::HelpdeskError::Internal("template".into())), lang).into_response();
        }
    };
    let mut r = (status, html).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    if let Some(pre) = new_pre {
        set_cookie(&mut r, ctx::PRE_COOKIE, pre, secure, None);
    }
    r
}

/// A cookie's name as sent: behind TLS with the `__Host-` prefix, so that only this host, over
/// HTTPS and for every path, can have set it.
pub fn cookie_name(name: &str, secure: bool) -> String {
    if secure { format!("__Host-{name}") } else { name.to_string() }
}

/// Adds a `Set-Cookie`: HttpOnly, SameSite=Lax, path `/`, `Secure` and `__Host-` behind TLS;
/// `max_age` `Some(0)` deletes it.
pub fn set_cookie(r: &mut Response, name: &str, value: &str, secure: bool, max_age: Option<i64>) {
    let name = cookie_name(name, secure);
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if secure {
        c.push_str("; Secure");
    }
    if let Some(a) = max_age {
        c.push_str(&format!("; Max-Age={a}"));
    }
    if let Ok(v) = HeaderValue::from_str(&c) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// A 303 to `to` (after a form).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// The errors of a form shown again: field name → message.
#[derive(Debug, Clone, Default)]
pub struct FormErrors(pub Vec<(String, String)>);

impl FormErrors {
    /// The message for `field` (empty for none).
    pub fn get(&self, field: &str) -> &str {
        self.0.iter().find(|(f, _)| f == field).map(|(_, m)| m.as_str()).unwrap_or("")
    }
    /// Whether `field` has one.
    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|(f, _)| f == field)
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Adds one.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push((field.to_string(), message.into()));
    }
    /// The field error a service returned, in the viewer's language: at its field when the
    /// form shows that field (`placed`), otherwise as the form's message with the field named;
    /// a conflict as the form's message. Any other error comes back.
    pub fn from_error(e: crate::ApiError, lang: Lang, placed: &[&str]) -> Result<FormErrors, crate::ApiError> {
        let mut f = FormErrors::default();
        match service_message(&e) {
            Some((Some(field), message)) if field == "form" || placed.contains(&field) => f.add(field, lang.message(message)),
            Some((Some(field), message)) => f.add("form", lang.field_message(field, message)),
            Some((None, message)) => f.add("form", lang.message(message)),
            None => return Err(e),
        }
        Ok(f)
    }
}

/// A service's message about what the person sent: a field error as `(Some(field), message)`,
/// a conflict as `(None, message)`; `None` for any other error.
pub(crate) fn service_message(e: &crate::ApiError) -> Option<(Option<&str>, &str)> {
    match e {
        crate::ApiError::Helpdesk(suoja_helpdesk::HelpdeskError::Invalid { field, message, .. }) => Some((Some(field.as_str()), message.as_str())),
        crate::ApiError::Privacy(suoja_privacy::PrivacyError::Invalid { field, message }) => Some((Some(field), message.as_str())),
        crate::ApiError::Helpdesk(suoja_helpdesk::HelpdeskError::Conflict(m)) | crate::ApiError::Privacy(suoja_privacy::PrivacyError::Conflict(m)) => {
            Some((None, m.as_str()))
        }
        _ => None,
    }
}

/// Checks a text field: required or not, at most `max` characters, no NUL.
pub fn check_text(errors: &mut FormErrors, lang: Lang, field: &str, value: &str, required: bool, max: usize) {
    if required && value.trim().is_empty() {
        errors.add(field, lang.t("form.required"));
    } else if value.chars().count() > max {
        errors.add(field, lang.t("form.too_long").replace("{n}", &max.to_string()));
    } else if value.contains('\0') || value.contains('\u{FFFD}') {
        errors.add(field, lang.t("form.bad_text"));
    }
}

/// Does a creating form's work once per one-time form id: `Ok(location)` to redirect to (the
/// first submit's result when the form was sent again), or `Err(errors)` to show the form again
/// (the id is released so the corrected form can be sent; a service's field error is at its
/// field when the form shows it, `placed`). `work` returns where its result is.
pub async fn once<F, Fut>(
    state: &AppState,
    ctx: &Ctx,
    scope: &suoja_core::Scope,
    form_id: &str,
    fallback: &str,
    placed: &[&str],
    work: F,
) -> Result<Result<String, FormErrors>, Failure>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<String, crate::ApiError>>,
{
    if let Some(prev) = state.helpdesk.claim_form(scope, form_id).await.map_err(|e| ctx.fail(e))? {
        return Ok(Ok(if prev.is_empty() { fallback.to_string() } else { prev }));
    }
    match work().await {
        Ok(to) => {
            state.helpdesk.finish_form(scope, form_id, &to).await.map_err(|e| ctx.fail(e))?;
            Ok(Ok(to))
        }
        Err(e) => {
            state.helpdesk.release_form(scope, form_id).await.map_err(|e| ctx.fail(e))?;
            Ok(Err(FormErrors::from_error(e, ctx.lang, placed).map_err(|e| ctx.fail(e))?))
        }
    }
}

/// A fresh one-time form id.
pub fn form_id() -> String {
    random::token::<16>()
}

/// Security headers of every page and asset: a strict CSP with this response's nonce, no
/// framing, no sniffing, no referrer to other sites, pages never cached.
async fn page_headers(mut req: Request, next: Next) -> Response {
    let nonce = random::token::<18>();
    req.extensions_mut().insert(ctx::Nonce(nonce.clone()));
    let mut res = next.run(req).await;
    let csp = format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'self'; img-src 'self' data:; media-src 'self'; \
         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    );
    let h = res.headers_mut();
    // A download that set its own (stricter) policy keeps it.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY)
        && let Ok(v) = HeaderValue::from_str(&csp)
    {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    h.insert("permissions-policy", HeaderValue::from_static("camera=(), microphone=(), geolocation=()"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

async fn start(ctx: Ctx) -> Response {
    match &ctx.session {
        Some(s) if s.kind == suoja_helpdesk::signin::SessionKind::Full && s.scope.is_staff() => see_other("/agent"),
        Some(s) if s.kind == suoja_helpdesk::signin::SessionKind::Full => see_other("/portal"),
        _ => see_other("/signin"),
    }
}

/// The web routes, with their security headers and a body limit fit for attachments.
pub fn routes(state: &AppState) -> Router<AppState> {
    router(own_pages())
        .merge(signin::routes())
        .merge(agent::routes())
        .merge(portal::routes())
        .merge(help_center::routes())
        .merge(console::routes())
        .merge(router(breaches::pages()))
        .merge(router(subprocessors::pages()))
        .merge(admin::routes())
        .merge(router(security::pages()))
        .merge(router(audit::pages()))
        .merge(router(fields::pages()))
        .merge(router(rules::pages()))
        .merge(router(documents::pages()))
        .merge(router(operator::pages()))
        .layer(DefaultBodyLimit::max(state.limits.max_upload_bytes + 64 * 1024))
        .layer(axum::middleware::from_fn(page_headers))
}

/// A page of the web interface: a method and a path, as the router knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// HTTP method, lower case.
    pub method: &'static str,
    /// Path, with `{id}` parameters.
    pub path: &'static str,
}

impl Page {
    fn get(path: &'static str) -> Self {
        Page { method: "get", path }
    }
    fn post(path: &'static str) -> Self {
        Page { method: "post", path }
    }
}

/// Every page of the web interface, from the same tables the router is built from (the
/// authorization matrix test walks them).
pub fn table() -> Vec<Page> {
    [
        own_pages(),
        signin::pages(),
        agent::pages(),
        portal::pages(),
        help_center::pages(),
        console::pages(),
        breaches::pages(),
        subprocessors::pages(),
        admin::pages(),
        security::pages(),
        audit::pages(),
        fields::pages(),
        rules::pages(),
        documents::pages(),
        operator::pages(),
    ]
    .into_iter()
    .flatten()
    .map(|(page, _)| page)
    .collect()
}

fn own_pages() -> Vec<(Page, MethodRouter<AppState>)> {
    vec![(Page::get("/"), get(start)), (Page::get("/assets/{name}"), get(assets::serve))]
}

/// A router of `pages`; two methods on one path share it.
fn router(pages: Vec<(Page, MethodRouter<AppState>)>) -> Router<AppState> {
    pages.into_iter().fold(Router::new(), |r, (page, handler)| r.route(page.path, handler))
}
