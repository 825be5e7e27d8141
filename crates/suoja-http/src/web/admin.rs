//! Administration pages: the mail channel (where mail comes from and goes to, the tenant's own
//! support and privacy addresses, the mailboxes it reads and the SMTP server it sends through, whether notifications are sent and
//! which of them this tenant wants, messages that could not be delivered, and a test message
//! whose server answer is shown). Admins only.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};

use super::ctx::{Ctx, Fields};
use super::{Chrome, Failure, FormErrors, Page, format, render};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    super::router(pages())
}

/// The administration pages.
pub(super) fn pages() -> Vec<(Page, MethodRouter<AppState>)> {
    vec![
        (Page::get("/admin/mail"), get(mail)),
        (Page::post("/admin/mail/test"), post(test)),
        (Page::post("/admin/mail/notifications"), post(set_notifications)),
        (Page::post("/admin/mail/addresses"), post(set_addresses)),
        (Page::post("/admin/mail/mailboxes"), post(add_mailbox)),
        (Page::post("/admin/mail/mailboxes/{id}/remove"), post(remove_mailbox)),
        (Page::post("/admin/mail/smtp"), post(set_smtp)),
        (Page::post("/admin/mail/smtp/remove"), post(remove_smtp)),
    ]
}

fn admin(ctx: &Ctx) -> Result<suoja_core::Scope, Failure> {
    let s = ctx.person()?;
    if !s.is_admin() {
        return Err(Failure::forbidden(ctx));
    }
    Ok(s)
}

/// A message that could not be delivered, as the page lists it.
pub struct FailureItem {
    pub kind: String,
    pub ticket: Option<i64>,
    pub error: String,
    pub queued: String,
}

#[derive(Template)]
#[template(path = "admin/mail.html")]
struct MailPage {
    c: Chrome,
    configured: bool,
    address: String,
    smtp: String,
    imap: String,
    notifications: bool,
    failures: Vec<FailureItem>,
    /// The tenant's notification switches: acknowledgements, replies, assignees.
    received: bool,
    replies: bool,
    assignee: bool,
    /// The answer to a test message just sent, or to a mailbox just added (empty for none).
    answer: String,
    answer_ok: bool,
    /// The tenant's own addresses as typed (empty: the installation's), and the installation's.
    own_support: String,
    own_privacy: String,
    default_support: String,
    default_privacy: String,
    /// The tenant's mailboxes.
    mailboxes: Vec<MailboxItem>,
    /// The tenant's own SMTP server, as shown (empty: the installation's is used).
    own_smtp: String,
    /// Fields of a form sent back with errors (never a password).
    form: Vec<(String, String)>,
    errors: FormErrors,
}

impl MailPage {
    /// A field of the form sent back (empty for none).
    fn value(&self, name: &str) -> &str {
        self.form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
    }
}

/// A mailbox as the page lists it.
pub struct MailboxItem {
    pub id: i64,
    pub server: String,
    pub last_ok: String,
    pub last_error: String,
}

/// What a form sent back shows.
#[derive(Default)]
struct Shown {
    answer: Option<(bool, String)>,
    form: Vec<(String, String)>,
    errors: FormErrors,
}

async fn page(state: &AppState, ctx: &Ctx, shown: Shown) -> Result<Response, Failure> {
    let scope = admin(ctx)?;
    let none = ctx.t("mail.not_set").to_string();
    let mut own = (String::new(), String::new());
    let mut defaults = (none.clone(), none.clone());
    let mut mailboxes = Vec::new();
    let mut own_smtp = String::new();
    if let Some(m) = &state.mail {
        own = m.room.own_addresses(&scope).await.map_err(|e| ctx.fail(e))?;
        own_smtp = m.room.own_smtp(&scope).await.map_err(|e| ctx.fail(e))?.unwrap_or_default();
        let cfg = m.room.config();
        defaults = (
            cfg.support.address(),
            cfg.privacy.as_ref().map_or_else(|| none.clone(), suoja_mail::Support::address),
        );
        for b in m.room.mailboxes(&scope).await.map_err(|e| ctx.fail(e))? {
            mailboxes.push(MailboxItem {
                id: b.id,
                server: b.server,
                last_ok: b.last_ok_at.map(|t| format::datetime(t, &ctx.tz, ctx.lang)).unwrap_or_default(),
                last_error: b.last_error.unwrap_or_default(),
            });
        }
    }
    let (configured, address, smtp, imap, notifications, failures) = match &state.mail {
        Some(m) => {
            let failures = m
                .room
                .undelivered(scope.tenant, 50)
                .await
                .map_err(|e| ctx.fail(e))?
                .into_iter()
                .map(|f| FailureItem {
                    kind: f.kind,
                    ticket: f.ticket,
                    error: f.error,
                    queued: format::datetime(f.queued, &ctx.tz, ctx.lang),
                })
                .collect();
            (
                true,
                if own.0.is_empty() { m.room.config().support.address() } else { own.0.clone() },
                if own_smtp.is_empty() {
                    m.smtp.as_ref().map_or_else(|| none.clone(), |s| s.server().to_string())
                } else {
                    own_smtp.clone()
                },
                m.imap.as_ref().map_or_else(|| none.clone(), suoja_mail::imap::Imap::server),
                m.notifications,
                failures,
            )
        }
        None => (false, none.clone(), none.clone(), none, false, Vec::new()),
    };
    let (answer_ok, answer) = shown.answer.unwrap_or_default();
    let status = if shown.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let switches = state.helpdesk.notification_settings(&scope).await.map_err(|e| ctx.fail(e))?;
    let p = MailPage {
        received: switches.received,
        replies: switches.replies,
        assignee: switches.assignee,
        c: Chrome::new(ctx, ctx.t("mail.title"), "admin"),
        configured,
        address,
        smtp,
        imap,
        notifications,
        failures,
        answer,
        answer_ok,
        own_support: own.0,
        own_privacy: own.1,
        default_support: defaults.0,
        default_privacy: defaults.1,
        mailboxes,
        own_smtp,
        form: shown.form,
        errors: shown.errors,
    };
    let mut r = render(ctx, &p);
    *r.status_mut() = status;
    Ok(r)
}

async fn mail(State(state): State<AppState>, ctx: Ctx) -> Result<Response, Failure> {
    page(&state, &ctx, Shown::default()).await
}

/// Sends a test message to the admin's own address and shows the server's answer.
async fn test(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    Fields::read(&ctx, &headers, &body)?;
    let scope = admin(&ctx)?;
    let answer = match state.mail.as_ref().and_then(|m| m.smtp.as_ref().map(|s| (m, s))) {
        None => (false, ctx.t("mail.no_smtp").to_string()),
        Some((m, smtp)) => match m.room.send_test(smtp, scope.tenant, scope.actor).await {
            Ok(reply) => (true, reply),
            Err(e) => (false, e.to_string()),
        },
    };
    page(
        &state,
        &ctx,
        Shown {
            answer: Some(answer),
            ..Shown::default()
        },
    )
    .await
}

/// The mail channel, or the page saying mail is off.
fn mail_of<'a>(state: &'a AppState, ctx: &Ctx) -> Result<&'a suoja_mail::Setup, Failure> {
    state
        .mail
        .as_deref()
        .ok_or_else(|| ctx.fail(crate::ApiError::BadRequest(ctx.t("mail.off").to_string())))
}

/// Sets the tenant's own support and privacy addresses.
async fn set_addresses(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let scope = admin(&ctx)?;
    let m = mail_of(&state, &ctx)?;
    match m.room.set_addresses(&scope, f.get("support_address"), f.get("privacy_address")).await {
        Ok(()) => Ok(super::see_other("/admin/mail?done=saved")),
        Err(e) => {
            shown_again(
                &state,
                &ctx,
                e,
                &f,
                &["support_address", "privacy_address"],
                &["support_address", "privacy_address"],
            )
            .await
        }
    }
}

/// The page with a server's answer to a form that went through.
async fn answered(state: &AppState, ctx: &Ctx, answer: String) -> Result<Response, Failure> {
    page(
        state,
        ctx,
        Shown {
            answer: Some((true, answer)),
            ..Shown::default()
        },
    )
    .await
}

/// The page again after a form was refused: the refusal at its fields (`placed`), and the
/// fields `kept` filled in as they were sent.
async fn shown_again(state: &AppState, ctx: &Ctx, e: suoja_mail::MailError, f: &Fields, kept: &[&str], placed: &[&str]) -> Result<Response, Failure> {
    let errors = FormErrors::from_error(e.into(), ctx.lang, placed).map_err(|e| ctx.fail(e))?;
    let form = kept.iter().map(|k| ((*k).to_string(), without_password(f.get(k)))).collect();
    page(
        state,
        ctx,
        Shown {
            form,
            errors,
            ..Shown::default()
        },
    )
    .await
}

/// A field sent back as typed, less any password written into a URL in it.
fn without_password(value: &str) -> String {
    match url::Url::parse(value.trim()) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => value.to_string(),
    }
}

/// The URL of a mail server from the form's fields: the server's address (one of `schemes`)
/// with the user name and password put in (so the password is typed into a password field,
/// not into a URL).
fn server_url(schemes: &[&str], server: &str, user: &str, password: &str) -> Option<String> {
    let mut u = url::Url::parse(server.trim()).ok()?;
    if !schemes.contains(&u.scheme()) || u.host_str().is_none() {
        return None;
    }
    let enc = |s: &str| percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string();
    if !user.is_empty() {
        u.set_username(&enc(user)).ok()?;
    }
    if !password.is_empty() {
        u.set_password(Some(&enc(password))).ok()?;
    }
    Some(u.to_string())
}

/// Adds a mailbox the tenant's mail is fetched from, after logging in to it once.
async fn add_mailbox(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let scope = admin(&ctx)?;
    let m = mail_of(&state, &ctx)?;
    let result = match server_url(&["imap", "imaps"], f.get("server"), f.get("user"), f.get("password")) {
        Some(url) => m.room.add_mailbox(&scope, &url, f.get("move_to")).await,
        None => Err(suoja_helpdesk::HelpdeskError::invalid("imap_url", "must be a URL like imaps://user:password@mail.example.com:993/INBOX").into()),
    };
    match result {
        Ok((_, answer)) => answered(&state, &ctx, answer).await,
        // The password is never sent back.
        Err(e) => shown_again(&state, &ctx, e, &f, &["server", "user", "move_to"], &["imap_url", "move_to"]).await,
    }
}

/// Sends the tenant's mail through its own SMTP server, after signing in to it once.
async fn set_smtp(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let scope = admin(&ctx)?;
    let m = mail_of(&state, &ctx)?;
    let result = match server_url(&["smtp", "smtps"], f.get("smtp_server"), f.get("smtp_user"), f.get("smtp_password")) {
        // The sender runs only where the installation sends mail at all.
        Some(_) if m.smtp.is_none() => Err(suoja_helpdesk::HelpdeskError::invalid("smtp_url", "this installation sends no mail (smtp_url is not set)").into()),
        Some(url) => m.room.set_smtp(&scope, &url).await,
        None => Err(suoja_helpdesk::HelpdeskError::invalid("smtp_url", "must be a URL like smtps://mail.example.com:465").into()),
    };
    match result {
        Ok(answer) => answered(&state, &ctx, answer).await,
        // The password is never sent back (not even one typed into the server's URL).
        Err(e) => shown_again(&state, &ctx, e, &f, &["smtp_server", "smtp_user"], &["smtp_url"]).await,
    }
}

/// Sends the tenant's mail through the installation's server again.
async fn remove_smtp(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    Fields::read(&ctx, &headers, &body)?;
    let scope = admin(&ctx)?;
    let m = mail_of(&state, &ctx)?;
    m.room.remove_smtp(&scope).await.map_err(|e| ctx.fail(e))?;
    Ok(super::see_other("/admin/mail?done=removed"))
}

/// Removes a mailbox (and destroys its sealed credentials).
async fn remove_mailbox(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    Fields::read(&ctx, &headers, &body)?;
    let scope = admin(&ctx)?;
    let m = mail_of(&state, &ctx)?;
    m.room.remove_mailbox(&scope, id).await.map_err(|e| ctx.fail(e))?;
    Ok(super::see_other("/admin/mail?done=removed"))
}

/// Switches the tenant's ticket notifications.
async fn set_notifications(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let scope = admin(&ctx)?;
    let n = suoja_store::settings::Notifications {
        received: f.get("received") == "1",
        replies: f.get("replies") == "1",
        assignee: f.get("assignee") == "1",
    };
    state.helpdesk.set_notification_settings(&scope, n).await.map_err(|e| ctx.fail(e))?;
    Ok(super::see_other("/admin/mail?done=saved"))
}
