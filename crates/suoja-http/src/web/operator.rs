//! The operator's pages (`/operator`): for whoever runs the installation, not for a tenant's
//! people. They show where every tenant lives — this region's tenants and, with several
//! regions, every routed subdomain with its region and its latest move between regions — and
//! create a tenant in this node's region (as `suoja init` does). They are opened by the
//! configured `operator_token`: the sign-in form sets a cookie holding an expiry and its
//! HMAC under the token, good for eight hours on every node that shares the token, so
//! nothing is stored. Without a token configured, none of them is served (404). They select
//! no tenant from the host and read nothing about a person; the admin's address typed into
//! the form goes to the new tenant's sealed records only.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use hmac::{KeyInit as _, Mac as _};
use suoja_core::{Email, random};

use super::ctx::{Fields, Nonce, cookies, from_our_pages, pre_csrf, signed_out_lang};
use super::{Chrome, Failure, FormErrors, Lang, Page, check_text, cookie_name, render_page, see_other, set_cookie};
use crate::middleware::Sensitive;
use crate::{ApiError, AppState, OperatorAccess};

/// The cookie that carries an operator's sign-in.
const COOKIE: &str = "suoja_operator";

/// How long an operator's sign-in lasts.
const SESSION_SECS: i64 = 8 * 3600;

/// How far ahead of this node's clock another node's may be (a sign-in made there is good here).
const CLOCK_SLACK_SECS: i64 = 60;

/// The pages.
pub(super) fn pages() -> Vec<(Page, MethodRouter<AppState>)> {
    vec![
        (Page::get("/operator"), get(home)),
        (Page::post("/operator/signin"), post(sign_in)),
        (Page::post("/operator/signout"), post(sign_out)),
        (Page::post("/operator/tenants"), post(create)),
    ]
}

/// The signature of a sign-in that lasts until `expires` (Unix seconds), under `token`.
fn signature(token: &str, expires: i64) -> String {
    let mut mac = <hmac::Hmac<sha2::Sha256>>::new_from_slice(token.as_bytes()).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(b"suoja-operator-session:");
    mac.update(expires.to_string().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `cookie` is a sign-in under `token` that has not expired at `now` (Unix seconds),
/// nor lasts longer than a sign-in can.
fn valid_sign_in(token: &str, cookie: &str, now: i64) -> bool {
    let Some((expires, sig)) = cookie.split_once('.') else { return false };
    let Ok(expires) = expires.parse::<i64>() else { return false };
    expires > now && expires <= now + SESSION_SECS + CLOCK_SLACK_SECS && random::constant_time_eq(sig.as_bytes(), signature(token, expires).as_bytes())
}

/// An operator page's request: the configured access, the language, the CSP nonce, the CSRF
/// token of its forms, and whether the operator has signed in.
struct Op {
    access: Arc<OperatorAccess>,
    lang: Lang,
    nonce: String,
    csrf: String,
    new_pre: Option<String>,
    secure: bool,
    signed_in: bool,
    client: Option<std::net::IpAddr>,
}

impl FromRequestParts<AppState> for Op {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let secure = state.public_url.starts_with("https://");
        let jar = cookies(&parts.headers);
        let lang = signed_out_lang(&jar, &parts.headers, secure);
        let Some(access) = state.operator.clone() else {
            return Err(Failure::new(ApiError::NotFound, lang));
        };
        let now = state.helpdesk.now().0 / 1000;
        let signed_in = jar.get(&cookie_name(COOKIE, secure)).is_some_and(|c| valid_sign_in(&access.token, c, now));
        let (csrf, new_pre) = pre_csrf(&jar, secure);
        Ok(Op {
            access,
            lang,
            nonce: parts.extensions.get::<Nonce>().map(|n| n.0.clone()).unwrap_or_default(),
            csrf,
            new_pre,
            secure,
            signed_in,
            client: crate::middleware::client_addr_of(&parts.extensions, &parts.headers, &state.limits.trusted_proxies),
        })
    }
}

impl Op {
    fn chrome(&self, title: &str) -> Chrome {
        Chrome {
            lang: self.lang,
            nonce: self.nonce.clone(),
            csrf: self.csrf.clone(),
            name: String::new(),
            signed_in: false,
            is_staff: false,
            handles_privacy: false,
            is_admin: false,
            title: title.to_string(),
            section: "operator",
            flash: String::new(),
        }
    }

    fn t(&self, key: &str) -> &'static str {
        self.lang.t(key)
    }

    fn fail(&self, e: impl Into<ApiError>) -> Failure {
        Failure::new(e.into(), self.lang)
    }

    /// A page, with the pre-sign-in cookie when one was made.
    fn render(&self, status: StatusCode, page: &impl Template) -> Response {
        render_page(status, page, self.lang, self.new_pre.as_deref(), self.secure)
    }

    /// A form's fields after the origin and CSRF checks.
    fn fields(&self, headers: &HeaderMap, body: &[u8]) -> Result<Fields, Failure> {
        let f = Fields::parse(body);
        if from_our_pages(headers) && f.carries(&self.csrf) {
            Ok(f)
        } else {
            Err(Failure::csrf_in(self.lang))
        }
    }
}

#[derive(Template)]
#[template(path = "operator/signin.html")]
struct SignInPage {
    c: Chrome,
    error: String,
}

/// A tenant as the overview lists it.
struct Row {
    subdomain: String,
    id: String,
    name: String,
    region: String,
    here: bool,
    /// Where its region's operator pages are (another region's), or empty.
    elsewhere: String,
    /// Its latest move, in words (empty for none).
    moved: String,
}

#[derive(Template)]
#[template(path = "operator/home.html")]
struct HomePage {
    c: Chrome,
    region: String,
    rows: Vec<Row>,
    regions: Vec<(String, String)>,
    errors: FormErrors,
    subdomain: String,
    name: String,
    email: String,
}

#[derive(Template)]
#[template(path = "operator/created.html")]
struct CreatedPage {
    c: Chrome,
    subdomain: String,
    id: i64,
    region: String,
    email: String,
    token: String,
}

async fn home(State(state): State<AppState>, op: Op) -> Result<Response, Failure> {
    if !op.signed_in {
        let page = SignInPage {
            c: op.chrome(op.t("operator.signin_title")),
            error: String::new(),
        };
        return Ok(op.render(StatusCode::OK, &page));
    }
    overview(&state, &op, FormErrors::default(), ("", "", "")).await
}

/// The overview, with the create form as sent (`form`: subdomain, name, address) and its errors.
async fn overview(state: &AppState, op: &Op, errors: FormErrors, form: (&str, &str, &str)) -> Result<Response, Failure> {
    let places = state.helpdesk.tenant_places(&op.access.region).await.map_err(|e| op.fail(e))?;
    let residency = state.helpdesk.residency();
    let region = residency.map_or(op.access.region.clone(), |r| r.region.clone());
    let urls = residency.map(|r| r.urls.clone()).unwrap_or_default();
    let rows = places
        .into_iter()
        .map(|p| Row {
            elsewhere: if p.here {
                String::new()
            } else {
                urls.get(&p.region).map(|u| format!("{}/operator", u.trim_end_matches('/'))).unwrap_or_default()
            },
            moved: p
                .last_move
                .map(|(to, phase)| op.t("operator.moved").replace("{to}", &to).replace("{phase}", phase.as_str()))
                .unwrap_or_default(),
            subdomain: p.subdomain,
            id: p.id.map(|i| i.0.to_string()).unwrap_or_default(),
            name: p.name.unwrap_or_default(),
            region: p.region,
            here: p.here,
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let regions = urls
        .into_iter()
        .filter(|(name, _)| *name != region)
        .map(|(name, url)| (name, format!("{}/operator", url.trim_end_matches('/'))))
        .collect();
    let page = HomePage {
        c: op.chrome(op.t("operator.title")),
        region,
        rows,
        regions,
        errors,
        subdomain: form.0.to_string(),
        name: form.1.to_string(),
        email: form.2.to_string(),
    };
    Ok(op.render(status, &page))
}

async fn sign_in(State(state): State<AppState>, op: Op, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = op.fields(&headers, &body)?;
    state
        .rate
        .take_sensitive(Sensitive::OperatorToken, op.client, state.node.nodes_alive())
        .map_err(|secs| op.fail(ApiError::RateLimited(secs)))?;
    let given = f.get("token").trim();
    if !random::constant_time_eq(given.as_bytes(), op.access.token.as_bytes()) {
        tracing::warn!("an operator sign-in was refused: wrong token");
        let page = SignInPage {
            c: op.chrome(op.t("operator.signin_title")),
            error: op.t("operator.wrong_token").to_string(),
        };
        return Ok(op.render(StatusCode::UNAUTHORIZED, &page));
    }
    let expires = state.helpdesk.now().0 / 1000 + SESSION_SECS;
    let mut r = see_other("/operator");
    set_cookie(
        &mut r,
        COOKIE,
        &format!("{expires}.{}", signature(&op.access.token, expires)),
        op.secure,
        Some(SESSION_SECS),
    );
    tracing::info!("an operator signed in");
    Ok(r)
}

async fn sign_out(op: Op, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    op.fields(&headers, &body)?;
    let mut r = see_other("/operator");
    set_cookie(&mut r, COOKIE, "", op.secure, Some(0));
    Ok(r)
}

async fn create(State(state): State<AppState>, op: Op, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = op.fields(&headers, &body)?;
    if !op.signed_in {
        return Ok(see_other("/operator"));
    }
    let (subdomain, name, email) = (f.get("subdomain").trim(), f.get("name").trim(), f.get("admin_email").trim());
    let mut errors = FormErrors::default();
    check_text(&mut errors, op.lang, "subdomain", subdomain, true, 63);
    check_text(&mut errors, op.lang, "name", name, true, 255);
    check_text(&mut errors, op.lang, "admin_email", email, true, 254);
    let parsed = Email::parse(email);
    if !errors.has("admin_email") && parsed.is_err() {
        errors.add("admin_email", op.t("operator.bad_email"));
    }
    let address = match (errors.is_empty(), parsed) {
        (true, Ok(address)) => address,
        _ => return overview(&state, &op, errors, (subdomain, name, email)).await,
    };
    match state.helpdesk.create_tenant(subdomain, name, &op.access.region, &address, false).await {
        Ok(b) => {
            tracing::info!(tenant.id = %b.tenant, "the operator created a tenant");
            let page = CreatedPage {
                c: op.chrome(op.t("operator.created_title")),
                subdomain: b.subdomain.clone(),
                id: b.tenant.0,
                region: state.helpdesk.residency().map_or(op.access.region.clone(), |r| r.region.clone()),
                email: address.as_personal().expose().clone(),
                token: b.api_token.expose().clone(),
            };
            Ok(op.render(StatusCode::CREATED, &page))
        }
        Err(e) => {
            let errors = FormErrors::from_error(e.into(), op.lang, &["subdomain", "name"]).map_err(|e| op.fail(e))?;
            overview(&state, &op, errors, (subdomain, name, email)).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sign_in_holds_only_under_its_token_and_until_it_expires() {
        let token = "a-token-of-at-least-thirty-two-characters";
        let now = 1_800_000_000;
        let cookie = format!("{}.{}", now + 60, signature(token, now + 60));
        assert!(valid_sign_in(token, &cookie, now));
        assert!(!valid_sign_in(token, &cookie, now + 60), "expired");
        assert!(!valid_sign_in("another-token-of-at-least-thirty-two-chars", &cookie, now), "another token");
        // A later expiry cannot be written without the token, nor one past a session's length.
        let later = format!("{}.{}", now + 120, signature(token, now + 60));
        assert!(!valid_sign_in(token, &later, now));
        let slack = now + SESSION_SECS + CLOCK_SLACK_SECS;
        assert!(
            valid_sign_in(token, &format!("{slack}.{}", signature(token, slack)), now),
            "another node's clock a little ahead"
        );
        let too_long = format!("{}.{}", slack + 1, signature(token, slack + 1));
        assert!(!valid_sign_in(token, &too_long, now));
        for junk in ["", ".", "x.y", "123", &format!("{}.", now + 60)] {
            assert!(!valid_sign_in(token, junk, now), "{junk:?}");
        }
    }
}
