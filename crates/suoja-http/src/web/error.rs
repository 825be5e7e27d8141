//! How a page request fails: the status comes from the one place that maps errors to statuses
//! (`ApiError`), the body is an HTML page in the viewer's language; a missing session sends the
//! browser to sign in and back; a failed CSRF or origin check is a 403 that changes nothing.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::ctx::Ctx;
use super::i18n::Lang;
use crate::ApiError;

#[derive(Debug)]
enum Kind {
    Error(ApiError),
    SignIn(String),
    Forbidden,
    Csrf,
}

/// A page request that could not be served.
#[derive(Debug)]
pub struct Failure {
    kind: Kind,
    lang: Lang,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    lang: &'a str,
    title: &'a str,
    message: String,
    home: &'a str,
    status: u16,
}

impl Failure {
    /// A failure from an error.
    pub fn new(e: ApiError, lang: Lang) -> Self {
        Failure { kind: Kind::Error(e), lang }
    }
    /// Not signed in (or the session ended): to the sign-in page, then back.
    pub fn sign_in(ctx: &Ctx) -> Self {
        Failure {
            kind: Kind::SignIn(ctx.back.clone()),
            lang: ctx.lang,
        }
    }
    /// Signed in, but not allowed.
    pub fn forbidden(ctx: &Ctx) -> Self {
        Failure {
            kind: Kind::Forbidden,
            lang: ctx.lang,
        }
    }
    /// The form did not come from our page.
    pub fn csrf(ctx: &Ctx) -> Self {
        Self::csrf_in(ctx.lang)
    }
    /// A form without its CSRF token, or from another site, on a page without a tenant.
    pub fn csrf_in(lang: Lang) -> Self {
        Failure { kind: Kind::Csrf, lang }
    }
}

/// `back` as a path on this site, or `None`: it is parsed as a browser parses a link on one of
/// our pages (tabs and newlines dropped, backslashes read as slashes, `..` resolved), and only a
/// result on our own origin is kept — as its path, query and fragment, never as written. So
/// `/\t/evil.example`, `\\evil.example` or `https://evil.example` lead nowhere but home.
pub fn same_origin_path(back: &str) -> Option<String> {
    const HOME: &str = "https://suoja.invalid/";
    let base = url::Url::parse(HOME).ok()?;
    if !back.starts_with('/') {
        return None;
    }
    let u = base.join(back).ok()?;
    if u.origin() != base.origin() {
        return None;
    }
    let mut out = u.path().to_string();
    if let Some(q) = u.query() {
        out.push('?');
        out.push_str(q);
    }
    if let Some(f) = u.fragment() {
        out.push('#');
        out.push_str(f);
    }
    Some(out)
}

/// `/signin?return_to=…` for a local path (anything else returns to the start page).
pub fn sign_in_url(back: &str) -> String {
    let target = same_origin_path(back).unwrap_or_else(|| "/".into());
    format!(
        "/signin?return_to={}",
        percent_encoding::utf8_percent_encode(&target, percent_encoding::NON_ALPHANUMERIC)
    )
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let lang = self.lang;
        let mut retry_after = None;
        let (status, message) = match self.kind {
            Kind::SignIn(back) => return Redirect::to(&sign_in_url(&back)).into_response(),
            Kind::Forbidden => (StatusCode::FORBIDDEN, lang.t("error.forbidden").to_string()),
            Kind::Csrf => (StatusCode::FORBIDDEN, lang.t("error.csrf").to_string()),
            Kind::Error(e) => {
                let detail = match super::service_message(&e) {
                    Some((Some(field), message)) => Some(lang.field_message(field, message)),
                    Some((None, message)) => Some(lang.message(message)),
                    None => match &e {
                        ApiError::Field(field, message, _) => Some(lang.field_message(field, message)),
                        ApiError::BadRequest(m) => Some(lang.message(m)),
                        _ => None,
                    },
                };
                let api = e.into_response();
                let status = api.status();
                // "Try again shortly" (503) and "too many" (429) keep their `Retry-After`.
                retry_after = api.headers().get(header::RETRY_AFTER).cloned();
                let generic = match status.as_u16() {
                    404 => lang.t("error.not_found"),
                    401 => lang.t("error.sign_in"),
                    403 => lang.t("error.forbidden"),
                    409 => lang.t("error.conflict"),
                    413 => lang.t("error.too_large"),
                    429 => lang.t("error.too_many"),
                    s if s >= 500 => lang.t("error.internal"),
                    _ => lang.t("error.bad_input"),
                };
                (status, detail.map(|d| format!("{generic} {d}")).unwrap_or_else(|| generic.to_string()))
            }
        };
        if status == StatusCode::UNAUTHORIZED {
            return Redirect::to(&sign_in_url("/")).into_response();
        }
        let page = ErrorPage {
            lang: lang.code(),
            title: lang.t("error.title"),
            message,
            home: lang.t("error.home"),
            status: status.as_u16(),
        };
        let html = page.render().unwrap_or_default();
        let mut r = (status, html).into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        if let Some(v) = retry_after {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::same_origin_path;

    #[test]
    fn only_our_own_paths_are_returned_to() {
        for ok in ["/", "/agent/tickets/3?page=2", "/portal#x"] {
            assert_eq!(same_origin_path(ok).as_deref(), Some(ok), "{ok}");
        }
        for bad in [
            "//evil.example",
            "/\t/evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "https://evil.example/",
            "/\n/evil.example",
            "javascript:alert(1)",
            "",
        ] {
            let got = same_origin_path(bad);
            assert!(
                got.is_none() || got.as_deref().is_some_and(|p| p.starts_with('/') && !p.starts_with("//")),
                "{bad:?} -> {got:?}"
            );
        }
        assert_eq!(same_origin_path("/\t/evil.example"), None);
        assert_eq!(same_origin_path("/a/../../b").as_deref(), Some("/b"));
    }
}
