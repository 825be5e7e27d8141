//! Sign-in pages: password, TOTP code, one-time e-mail link, sign-out (here or everywhere), and
//! the account page (language, time zone, second factor, and for admins the staff rule).

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse as _, Response};
use axum::routing::{MethodRouter, get, post};
use serde::Deserialize;
use suoja_core::{Email, Personal};
use suoja_helpdesk::HelpdeskError;
use suoja_helpdesk::model::UserInput;
use suoja_helpdesk::signin::{SessionKind, SignIn};

use super::ctx::{Ctx, DEVICE_COOKIE, Fields, LANG_COOKIE, SESSION_COOKIE};
use super::{Chrome, Failure, FormErrors, Lang, Page, check_text, render, render_status, see_other, set_cookie};
use crate::AppState;
use crate::extract::Client;
use crate::middleware::Sensitive;
use crate::uniform::answer_after;

pub fn routes() -> Router<AppState> {
    super::router(pages())
        // Forms a person sends before (or while) signing in are small: a draft kept across an
        // expired session is the largest thing in them.
        .layer(axum::extract::DefaultBodyLimit::max(SIGN_IN_FORM_BYTES))
}

/// The sign-in and account pages.
pub(super) fn pages() -> Vec<(Page, MethodRouter<AppState>)> {
    vec![
        (Page::get("/signin"), get(show)),
        (Page::post("/signin"), post(submit)),
        (Page::get("/signin/second-factor"), get(show_code)),
        (Page::post("/signin/second-factor"), post(submit_code)),
        (Page::get("/signin/link"), get(show_link)),
        (Page::post("/signin/link"), post(send_link)),
        (Page::get("/signin/link/{token}"), get(show_redeem)),
        (Page::post("/signin/link/{token}"), post(redeem)),
        (Page::post("/signout"), post(sign_out)),
        (Page::post("/signout/everywhere"), post(sign_out_everywhere)),
        (Page::get("/account"), get(account)),
        (Page::post("/account"), post(save_account)),
        (Page::get("/account/second-factor"), get(factor)),
        (Page::post("/account/second-factor"), post(begin_factor)),
        (Page::post("/account/second-factor/confirm"), post(confirm_factor)),
        (Page::post("/account/second-factor/remove"), post(remove_factor)),
        (Page::get("/account/recovery-codes"), get(recovery_codes)),
        (Page::post("/account/recovery-codes"), post(create_recovery_codes)),
    ]
}

/// The largest body the sign-in and account forms take.
pub const SIGN_IN_FORM_BYTES: usize = 64 * 1024;

#[derive(Debug, Deserialize, Default)]
struct Back {
    #[serde(default)]
    return_to: String,
    #[serde(default)]
    lang: String,
}

/// A local path to return to, or `/`.
/// Where to go after signing in: a path on this site (never the sign-in pages), else home.
fn local(path: &str) -> String {
    super::error::same_origin_path(path)
        .filter(|p| !p.starts_with("/signin"))
        .unwrap_or_else(|| "/".to_string())
}

#[derive(Template)]
#[template(path = "signin/password.html")]
struct PasswordPage {
    c: Chrome,
    email: String,
    return_to: String,
    error: String,
    draft: String,
}

async fn show(mut ctx: Ctx, Query(q): Query<Back>) -> Response {
    let chosen = Lang::from_locale(&q.lang);
    if let Some(l) = chosen {
        ctx.lang = l;
    }
    let page = PasswordPage {
        c: Chrome::new(&ctx, ctx.t("signin.title"), "signin"),
        email: String::new(),
        return_to: local(&q.return_to),
        error: String::new(),
        draft: String::new(),
    };
    let mut r = render(&ctx, &page);
    if let Some(l) = chosen {
        set_cookie(&mut r, LANG_COOKIE, l.code(), ctx.secure, Some(365 * 86_400));
    }
    r
}

async fn submit(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let return_to = local(f.get("return_to"));
    let email = f.get("email").trim().to_string();
    let fail = |ctx: &Ctx, message: &str| {
        let page = PasswordPage {
            c: Chrome::new(ctx, ctx.t("signin.title"), "signin"),
            email: email.clone(),
            return_to: return_to.clone(),
            error: message.to_string(),
            draft: String::new(),
        };
        render_status(ctx, StatusCode::UNAUTHORIZED, &page)
    };
    let Ok(parsed) = Email::parse(&email) else {
        return Ok(fail(&ctx, ctx.t("signin.failed")));
    };
    let password = Personal::new(f.get("password").to_string());
    match state.helpdesk.web_sign_in(ctx.tenant, &parsed, &password).await {
        Ok(step) if !allowed_from(&state, &ctx, &step).await? => Ok(fail(&ctx, ctx.t("signin.failed"))),
        Ok(step) => after_step(&state, &ctx, step, &return_to).await,
        Err(HelpdeskError::Unauthorized) => Ok(fail(&ctx, ctx.t("signin.failed"))),
        Err(e) => Err(ctx.fail(e)),
    }
}

/// Whether the tenant's IP restriction lets the person the step signs in use it from here; if
/// not, the step's session ends at once and the answer is a wrong password's.
async fn allowed_from(state: &AppState, ctx: &Ctx, step: &SignIn) -> Result<bool, Failure> {
    let token = match step {
        SignIn::Session(t) | SignIn::SecondFactor(t) | SignIn::Enrol(t) => t,
    };
    let Some(session) = state.helpdesk.web_session(token.expose()).await.map_err(|e| ctx.fail(e))? else {
        return Ok(true);
    };
    match state.helpdesk.check_address(&session.scope, ctx.client).await {
        Ok(()) => Ok(true),
        Err(HelpdeskError::Forbidden(_)) => {
            state.helpdesk.web_sign_out(&session).await.map_err(|e| ctx.fail(e))?;
            Ok(false)
        }
        Err(e) => Err(ctx.fail(e)),
    }
}

/// Where a sign-in step leads, with its cookie.
async fn after_step(state: &AppState, ctx: &Ctx, step: SignIn, return_to: &str) -> Result<Response, Failure> {
    let q = percent_encoding::utf8_percent_encode(return_to, percent_encoding::NON_ALPHANUMERIC).to_string();
    let (token, to) = match step {
        SignIn::Session(t) => {
            let mut r = see_other(return_to);
            signed_in(state, ctx, &t, &mut r).await?;
            return Ok(r);
        }
        SignIn::SecondFactor(t) => (t, format!("/signin/second-factor?return_to={q}")),
        SignIn::Enrol(t) => (t, format!("/account/second-factor?return_to={q}")),
    };
    let mut r = see_other(&to);
    set_cookie(&mut r, SESSION_COOKIE, token.expose(), ctx.secure, None);
    Ok(r)
}

/// Sets a finished sign-in's session cookie on `r`, and notes the browser (a new one is given
/// its id cookie; staff are told of a browser they have not used before).
async fn signed_in(state: &AppState, ctx: &Ctx, token: &Personal<String>, r: &mut Response) -> Result<(), Failure> {
    let new_device = state
        .helpdesk
        .note_sign_in(token.expose(), ctx.device.as_deref(), &ctx.user_agent, ctx.client, &state.public_url)
        .await
        .map_err(|e| ctx.fail(e))?;
    set_cookie(r, SESSION_COOKIE, token.expose(), ctx.secure, None);
    if let Some(d) = new_device {
        set_cookie(r, DEVICE_COOKIE, &d, ctx.secure, Some(400 * 86_400));
    }
    Ok(())
}

#[derive(Template)]
#[template(path = "signin/code.html")]
struct CodePage {
    c: Chrome,
    return_to: String,
    error: String,
}

async fn show_code(ctx: Ctx, Query(q): Query<Back>) -> Response {
    if !ctx.session.as_ref().is_some_and(|s| s.kind == SessionKind::SecondFactor) {
        return see_other("/signin");
    }
    let page = CodePage {
        c: Chrome::new(&ctx, ctx.t("signin.code_title"), "signin"),
        return_to: local(&q.return_to),
        error: String::new(),
    };
    render(&ctx, &page)
}

async fn submit_code(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let Some(token) = ctx
        .token
        .clone()
        .filter(|_| ctx.session.as_ref().is_some_and(|s| s.kind == SessionKind::SecondFactor))
    else {
        return Ok(see_other("/signin"));
    };
    match state.helpdesk.web_second_factor(&token, f.get("code")).await {
        Ok(session) => after_step(&state, &ctx, SignIn::Session(session), &local(f.get("return_to"))).await,
        Err(HelpdeskError::Unauthorized) => {
            let mut r = see_other("/signin?failed=code");
            set_cookie(&mut r, SESSION_COOKIE, "", ctx.secure, Some(0));
            Ok(r)
        }
        Err(e) => Err(ctx.fail(e)),
    }
}

#[derive(Template)]
#[template(path = "signin/link.html")]
struct LinkPage {
    c: Chrome,
    sent: bool,
    email: String,
    error: String,
}

async fn show_link(ctx: Ctx) -> Response {
    let page = LinkPage {
        c: Chrome::new(&ctx, ctx.t("signin.link_title"), "signin"),
        sent: false,
        email: String::new(),
        error: String::new(),
    };
    render(&ctx, &page)
}

async fn send_link(State(state): State<AppState>, ctx: Ctx, client: Client, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let email = f.get("email").trim().to_string();
    let Ok(parsed) = Email::parse(&email) else {
        let page = LinkPage {
            c: Chrome::new(&ctx, ctx.t("signin.link_title"), "signin"),
            sent: false,
            email,
            error: ctx.t("form.bad_email").to_string(),
        };
        return Ok(render_status(&ctx, StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    // The same page after the same time whether or not the address is on record; a few links
    // an hour per client address.
    client.attempt(&state, Sensitive::MailedLink).map_err(|e| ctx.fail(e))?;
    let (helpdesk, tenant, public_url) = (state.helpdesk.clone(), ctx.tenant, state.public_url.clone());
    answer_after("sign-in link", async move { helpdesk.send_sign_in_link(tenant, &parsed, &public_url).await })
        .await
        .map_err(|e| ctx.fail(e))?;
    let page = LinkPage {
        c: Chrome::new(&ctx, ctx.t("signin.link_title"), "signin"),
        sent: true,
        email: String::new(),
        error: String::new(),
    };
    Ok(render(&ctx, &page))
}

#[derive(Template)]
#[template(path = "signin/redeem.html")]
struct RedeemPage {
    c: Chrome,
    token: String,
}

/// Opening the link shows a button: mail scanners that fetch links do not use them up.
async fn show_redeem(ctx: Ctx, Path(token): Path<String>) -> Response {
    let token: String = token
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(100)
        .collect();
    let page = RedeemPage {
        c: Chrome::new(&ctx, ctx.t("signin.link_title"), "signin"),
        token,
    };
    render(&ctx, &page)
}

async fn redeem(State(state): State<AppState>, ctx: Ctx, Path(token): Path<String>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    Fields::read(&ctx, &headers, &body)?;
    match state.helpdesk.redeem_sign_in_link(ctx.tenant, &token).await {
        Ok(step) => after_step(&state, &ctx, step, "/").await,
        Err(HelpdeskError::Unauthorized) => Ok(see_other("/signin?failed=link")),
        Err(e) => Err(ctx.fail(e)),
    }
}

async fn sign_out(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    Fields::read(&ctx, &headers, &body)?;
    if let Some(s) = &ctx.session {
        state.helpdesk.web_sign_out(s).await.map_err(|e| ctx.fail(e))?;
    }
    let mut r = see_other("/signin?done=signed_out");
    set_cookie(&mut r, SESSION_COOKIE, "", ctx.secure, Some(0));
    // Drafts kept in this browser go with the session.
    r.headers_mut().insert("clear-site-data", axum::http::HeaderValue::from_static("\"storage\""));
    Ok(r)
}

async fn sign_out_everywhere(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.person()?;
    state.helpdesk.web_sign_out_everywhere(&scope).await.map_err(|e| ctx.fail(e))?;
    let mut r = see_other("/signin?done=signed_out_everywhere");
    set_cookie(&mut r, SESSION_COOKIE, "", ctx.secure, Some(0));
    // Drafts kept in this browser go with the session.
    r.headers_mut().insert("clear-site-data", axum::http::HeaderValue::from_static("\"storage\""));
    Ok(r)
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    c: Chrome,
    locale: String,
    time_zone: String,
    has_factor: bool,
    codes_left: i64,
    errors: FormErrors,
}

async fn account(State(state): State<AppState>, ctx: Ctx) -> Result<Response, Failure> {
    let scope = ctx.person()?;
    let Some(s) = &ctx.session else { return Err(Failure::sign_in(&ctx)) };
    let page = AccountPage {
        c: Chrome::new(&ctx, ctx.t("account.title"), "account"),
        locale: Lang::from_locale(&s.locale).map(|l| l.code().to_string()).unwrap_or_default(),
        time_zone: s.time_zone.clone(),
        has_factor: state.helpdesk.has_second_factor(&scope).await.map_err(|e| ctx.fail(e))?,
        codes_left: state.helpdesk.recovery_codes_left(&scope).await.map_err(|e| ctx.fail(e))?,
        errors: FormErrors::default(),
    };
    Ok(render(&ctx, &page))
}

async fn save_account(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.person()?;
    let mut errors = FormErrors::default();
    let locale = f.get("locale");
    if Lang::from_locale(locale).is_none() {
        errors.add("locale", ctx.t("form.choose"));
    }
    let tz = f.get("time_zone").trim();
    check_text(&mut errors, ctx.lang, "time_zone", tz, true, 64);
    if errors.is_empty() && jiff::tz::TimeZone::get(tz).is_err() {
        errors.add("time_zone", ctx.t("account.bad_zone"));
    }
    if !errors.is_empty() {
        let page = AccountPage {
            c: Chrome::new(&ctx, ctx.t("account.title"), "account"),
            locale: locale.to_string(),
            time_zone: tz.to_string(),
            has_factor: state.helpdesk.has_second_factor(&scope).await.map_err(|e| ctx.fail(e))?,
            codes_left: state.helpdesk.recovery_codes_left(&scope).await.map_err(|e| ctx.fail(e))?,
            errors,
        };
        return Ok(render_status(&ctx, StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let input = UserInput {
        locale: Some(locale.to_string()),
        time_zone: Some(tz.to_string()),
        ..Default::default()
    };
    // A person changes their own settings; the service's self-update rules apply.
    state.helpdesk.update_user(&scope, scope.actor, input).await.map_err(|e| ctx.fail(e))?;
    Ok(see_other("/account?done=saved"))
}

#[derive(Template)]
#[template(path = "signin/factor.html")]
struct FactorPage {
    c: Chrome,
    has_factor: bool,
    enrolling: bool,
    secret: String,
    uri: String,
    return_to: String,
    error: String,
}

fn factor_session(ctx: &Ctx) -> Result<suoja_helpdesk::signin::WebSession, Failure> {
    match &ctx.session {
        Some(s) if matches!(s.kind, SessionKind::Full | SessionKind::Enrol) => Ok(s.clone()),
        _ => Err(Failure::sign_in(ctx)),
    }
}

async fn factor(State(state): State<AppState>, ctx: Ctx, Query(q): Query<Back>) -> Result<Response, Failure> {
    let s = factor_session(&ctx)?;
    let page = FactorPage {
        c: Chrome::new(&ctx, ctx.t("factor.title"), "account"),
        has_factor: state.helpdesk.has_second_factor(&s.scope).await.map_err(|e| ctx.fail(e))?,
        enrolling: s.kind == SessionKind::Enrol,
        secret: String::new(),
        uri: String::new(),
        return_to: local(&q.return_to),
        error: String::new(),
    };
    Ok(render(&ctx, &page))
}

async fn begin_factor(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let s = factor_session(&ctx)?;
    let new = state.helpdesk.begin_second_factor(&s.scope, "Suoja").await.map_err(|e| ctx.fail(e))?;
    let page = FactorPage {
        c: Chrome::new(&ctx, ctx.t("factor.title"), "account"),
        has_factor: false,
        enrolling: s.kind == SessionKind::Enrol,
        secret: new.secret.expose().clone(),
        uri: new.uri.expose().clone(),
        return_to: local(f.get("return_to")),
        error: String::new(),
    };
    Ok(render(&ctx, &page))
}

async fn confirm_factor(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let s = factor_session(&ctx)?;
    match state.helpdesk.confirm_second_factor(&s, f.get("code")).await {
        // The recovery codes at once, shown this one time; from an enrolment step this also
        // finishes the sign-in.
        Ok(done) => {
            let page = RecoveryPage {
                c: Chrome::new(&ctx, ctx.t("recovery.title"), "account"),
                left: i64::try_from(done.recovery_codes.len()).unwrap_or(0),
                codes: done.recovery_codes.iter().map(|c| c.expose().clone()).collect(),
                return_to: if done.session.is_some() {
                    local(f.get("return_to"))
                } else {
                    "/account".into()
                },
                error: String::new(),
            };
            let mut r = render(&ctx, &page);
            if let Some(token) = &done.session {
                signed_in(&state, &ctx, token, &mut r).await?;
            }
            Ok(r)
        }
        Err(HelpdeskError::Invalid { .. }) => {
            let page = FactorPage {
                c: Chrome::new(&ctx, ctx.t("factor.title"), "account"),
                has_factor: false,
                enrolling: s.kind == SessionKind::Enrol,
                secret: f.get("secret").chars().filter(char::is_ascii_alphanumeric).collect(),
                uri: String::new(),
                return_to: local(f.get("return_to")),
                error: ctx.t("factor.wrong_code").to_string(),
            };
            Ok(render_status(&ctx, StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(ctx.fail(e)),
    }
}

async fn remove_factor(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.person()?;
    match state.helpdesk.remove_second_factor(&scope, f.get("code")).await {
        Ok(()) => Ok(see_other("/account?done=factor_off")),
        Err(e @ HelpdeskError::Invalid { .. }) => {
            let Some(s) = &ctx.session else { return Err(Failure::sign_in(&ctx)) };
            let errors = FormErrors::from_error(e.into(), ctx.lang, &["code"]).map_err(|e| ctx.fail(e))?;
            let page = AccountPage {
                c: Chrome::new(&ctx, ctx.t("account.title"), "account"),
                locale: Lang::from_locale(&s.locale).map(|l| l.code().to_string()).unwrap_or_default(),
                time_zone: s.time_zone.clone(),
                has_factor: true,
                codes_left: state.helpdesk.recovery_codes_left(&scope).await.map_err(|e| ctx.fail(e))?,
                errors,
            };
            Ok(render_status(&ctx, StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(ctx.fail(e)),
    }
}

#[derive(Template)]
#[template(path = "signin/recovery.html")]
struct RecoveryPage {
    c: Chrome,
    left: i64,
    /// The new codes, shown this once (empty when none were just made).
    codes: Vec<String>,
    return_to: String,
    /// Why the codes were not made (a wrong code from the app).
    error: String,
}

async fn recovery_codes(State(state): State<AppState>, ctx: Ctx, Query(q): Query<Back>) -> Result<Response, Failure> {
    let scope = ctx.person()?;
    if !state.helpdesk.has_second_factor(&scope).await.map_err(|e| ctx.fail(e))? {
        return Ok(see_other("/account/second-factor"));
    }
    let page = RecoveryPage {
        c: Chrome::new(&ctx, ctx.t("recovery.title"), "account"),
        left: state.helpdesk.recovery_codes_left(&scope).await.map_err(|e| ctx.fail(e))?,
        codes: Vec::new(),
        return_to: local(&q.return_to),
        error: String::new(),
    };
    Ok(render(&ctx, &page))
}

async fn create_recovery_codes(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.person()?;
    match state.helpdesk.create_recovery_codes(&scope, f.get("code")).await {
        // Shown once (pages are never cached).
        Ok(codes) => {
            let page = RecoveryPage {
                c: Chrome::new(&ctx, ctx.t("recovery.title"), "account"),
                left: i64::try_from(codes.len()).unwrap_or(0),
                codes: codes.iter().map(|c| c.expose().clone()).collect(),
                return_to: local(f.get("return_to")),
                error: String::new(),
            };
            Ok(render(&ctx, &page))
        }
        Err(HelpdeskError::Invalid { .. }) => {
            let page = RecoveryPage {
                c: Chrome::new(&ctx, ctx.t("recovery.title"), "account"),
                left: state.helpdesk.recovery_codes_left(&scope).await.map_err(|e| ctx.fail(e))?,
                codes: Vec::new(),
                return_to: local(f.get("return_to")),
                error: ctx.t("factor.wrong_code").to_string(),
            };
            Ok(render_status(&ctx, StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(ctx.fail(e)),
    }
}

/// The sign-in page shown instead of a form's result when the session ended: the unsent text
/// is handed back so nothing typed is lost.
pub fn expired_with_draft(ctx: &Ctx, draft: &str) -> Response {
    let page = PasswordPage {
        c: Chrome::new(ctx, ctx.t("signin.title"), "signin"),
        email: String::new(),
        return_to: local(ctx.back.split('?').next().unwrap_or("/")),
        error: ctx.t("signin.expired").to_string(),
        draft: draft.to_string(),
    };
    render_status(ctx, StatusCode::UNAUTHORIZED, &page).into_response()
}
