//! Administration pages: the mail channel (where mail comes from and goes to, whether
//! notifications are sent and which of them this tenant wants, messages that could not be
//! delivered, and a test message whose server answer is shown). Admins only.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};

use super::ctx::{Ctx, Fields};
use super::{Chrome, Failure, Page, format, render};
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
    /// The answer to a test message just sent (empty for none).
    answer: String,
    answer_ok: bool,
}

async fn page(state: &AppState, ctx: &Ctx, answer: Option<(bool, String)>) -> Result<Response, Failure> {
    let scope = admin(ctx)?;
    let none = ctx.t("mail.not_set").to_string();
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
                m.room.config().support.address(),
                m.smtp.as_ref().map_or_else(|| none.clone(), |s| s.server().to_string()),
                m.imap.as_ref().map_or_else(|| none.clone(), suoja_mail::imap::Imap::server),
                m.notifications,
                failures,
            )
        }
        None => (false, none.clone(), none.clone(), none, false, Vec::new()),
    };
    let (answer_ok, answer) = answer.unwrap_or_default();
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
    };
    Ok(render(ctx, &p))
}

async fn mail(State(state): State<AppState>, ctx: Ctx) -> Result<Response, Failure> {
    page(&state, &ctx, None).await
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
    page(&state, &ctx, Some(answer)).await
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
