//! The agent workspace: views with counts, the ticket page (conversation, composer, side panel,
//! the requester's other tickets, redaction by selecting text, removing files), user and
//! organisation pages, and search.

mod compose;
mod people;
mod search;
mod ticket;
mod views;

use compose::{add_comment, apply_macro, file, original_mail, redact_file, redact_text, update_ticket};
use people::{organization, user};
use search::search;
use ticket::ticket;
use views::view;

pub use compose::{post_comment, read_composer, upload_files};
pub use ticket::{CommentNav, CommentView, comment_window, conversation};
pub(crate) use views::title as view_title;

use std::collections::HashMap;

use axum::Router;
use axum::routing::{MethodRouter, get, post};
use serde::Deserialize;
use suoja_core::UserId;
use suoja_helpdesk::model::Ticket;

use super::ctx::Ctx;
use super::{Failure, Page, format, see_other};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    super::router(pages())
}

/// The agents' workspace.
pub(super) fn pages() -> Vec<(Page, MethodRouter<AppState>)> {
    vec![
        (Page::get("/agent"), get(|| async { see_other("/agent/views/mine") })),
        (Page::get("/agent/views/{view}"), get(view)),
        (Page::get("/agent/tickets/{id}"), get(ticket)),
        (Page::post("/agent/tickets/{id}"), post(update_ticket)),
        (Page::post("/agent/tickets/{id}/comments"), post(add_comment)),
        (Page::post("/agent/tickets/{id}/macro"), post(apply_macro)),
        (Page::post("/agent/tickets/{id}/comments/{comment_id}/redact"), post(redact_text)),
        (
            Page::post("/agent/tickets/{id}/comments/{comment_id}/attachments/{attachment_id}/redact"),
            post(redact_file),
        ),
        (Page::get("/agent/tickets/{id}/comments/{comment_id}/original"), get(original_mail)),
        (Page::get("/agent/users/{id}"), get(user)),
        (Page::get("/agent/organizations/{id}"), get(organization)),
        (Page::get("/agent/search"), get(search)),
        (Page::get("/files/{id}"), get(file)),
    ]
}

/// Longest comment the composer takes, in characters.
pub const MAX_COMMENT: usize = 65_536;

/// A ticket in a list.
pub struct TicketItem {
    pub id: i64,
    pub subject: String,
    pub requester: String,
    pub requester_id: i64,
    pub status: &'static str,
    pub status_label: &'static str,
    pub priority: &'static str,
    pub updated: String,
}

/// Names of users by id (what the viewer may see; erased people show as a mark).
pub async fn names(state: &AppState, ctx: &Ctx, scope: &suoja_core::Scope, ids: &[UserId]) -> Result<HashMap<i64, String>, Failure> {
    let mut ids: Vec<UserId> = ids.to_vec();
    ids.sort_by_key(|u| u.0);
    ids.dedup();
    let mut out = HashMap::new();
    for chunk in ids.chunks(100) {
        for u in state.helpdesk.get_users(scope, chunk).await.map_err(|e| ctx.fail(e))? {
            out.insert(u.id.0, u.name.expose().clone());
        }
    }
    Ok(out)
}

/// List rows of tickets.
pub async fn items(state: &AppState, ctx: &Ctx, scope: &suoja_core::Scope, tickets: &[Ticket]) -> Result<Vec<TicketItem>, Failure> {
    let ids: Vec<UserId> = tickets.iter().map(|t| t.requester_id).collect();
    let names = names(state, ctx, scope, &ids).await?;
    Ok(tickets
        .iter()
        .map(|t| TicketItem {
            id: t.id.0,
            subject: subject_of(t),
            requester: names.get(&t.requester_id.0).cloned().unwrap_or_else(|| "—".into()),
            requester_id: t.requester_id.0,
            status: t.status.as_str(),
            status_label: ctx.t(&format!("status.{}", t.status.as_str())),
            priority: t.priority.map(|p| ctx.t(&format!("priority.{}", p.as_str()))).unwrap_or(""),
            updated: format::datetime(t.updated_at, &ctx.tz, ctx.lang),
        })
        .collect())
}

fn subject_of(t: &Ticket) -> String {
    match &t.subject {
        Some(s) if !s.expose().trim().is_empty() => s.expose().clone(),
        _ => t.description.expose().chars().take(80).collect(),
    }
}

#[derive(Debug, Deserialize, Default)]
pub(crate) struct PageQuery {
    #[serde(default)]
    page: Option<String>,
}

pub(crate) fn page_number(q: &PageQuery) -> i64 {
    q.page
        .as_deref()
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| (1..=10_000).contains(p))
        .unwrap_or(1)
}
