//! The ticket page: the conversation a page at a time, the side panel with the fields an
//! agent can change, the requester's other tickets, and the composer's draft after an error.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use suoja_core::{GroupId, Priority, Role, Scope, Status, TicketId, UserId};
use suoja_helpdesk::model::Comment;
use suoja_helpdesk::users::Paging;

use super::{PageQuery, TicketItem, items, names, page_number};
use crate::AppState;
use crate::web::ctx::Ctx;
use crate::web::{Chrome, Failure, FormErrors, form_id, format, render_status};

/// A comment as the ticket page shows it.
pub struct CommentView {
    pub id: i64,
    pub public: bool,
    pub author: String,
    pub body: String,
    pub when: String,
    pub files: Vec<FileView>,
    /// It came by e-mail (staff may open the original).
    pub email: bool,
    /// The address it came from (staff only; empty otherwise).
    pub from: String,
}

/// A file under a comment.
pub struct FileView {
    pub id: i64,
    pub name: String,
    pub size: String,
    pub redacted: bool,
    pub recording: bool,
}

/// The conversation, with author names.
pub async fn conversation(state: &AppState, ctx: &Ctx, scope: &suoja_core::Scope, comments: &[Comment]) -> Result<Vec<CommentView>, Failure> {
    let names = names(state, ctx, scope, &comments.iter().map(|c| c.author_id).collect::<Vec<_>>()).await?;
    // Staff see which address a mailed comment came from.
    let mut senders: Vec<UserId> = comments.iter().filter(|c| c.via == "email").map(|c| c.author_id).collect();
    senders.sort_by_key(|u| u.0);
    senders.dedup();
    let mut addresses = std::collections::HashMap::new();
    if scope.is_staff() && !senders.is_empty() {
        for chunk in senders.chunks(100) {
            for u in state.helpdesk.get_users(scope, chunk).await.map_err(|e| ctx.fail(e))? {
                if let Some(e) = u.email {
                    addresses.insert(u.id.0, e.expose().clone());
                }
            }
        }
    }
    Ok(comments
        .iter()
        .map(|c| CommentView {
            id: c.id.0,
            public: c.public,
            author: names.get(&c.author_id.0).cloned().unwrap_or_else(|| "—".into()),
            body: c.body.expose().clone(),
            when: format::datetime(c.created_at, &ctx.tz, ctx.lang),
            email: c.via == "email",
            from: if c.via == "email" {
                addresses.get(&c.author_id.0).cloned().unwrap_or_default()
            } else {
                String::new()
            },
            files: c
                .attachments
                .iter()
                .map(|a| FileView {
                    id: a.id.0,
                    name: a.file_name.expose().clone(),
                    size: format::size(a.size),
                    redacted: a.file_name.expose() == "redacted.txt" && a.size == 0,
                    recording: suoja_privacy::redaction::is_recording(&a.content_type),
                })
                .collect(),
        })
        .collect())
}

#[derive(Template)]
#[template(path = "agent/ticket.html")]
pub(super) struct TicketPage {
    c: Chrome,
    /// The active macros the agent sees: (id, title).
    macros: Vec<(i64, String)>,
    t: TicketItem,
    comments: Vec<CommentView>,
    nav: CommentNav,
    statuses: Vec<(&'static str, &'static str)>,
    priorities: Vec<(&'static str, &'static str)>,
    priority: &'static str,
    agents: Vec<(i64, String)>,
    assignee: i64,
    groups: Vec<(i64, String)>,
    group: i64,
    tags: String,
    ccs: Vec<(i64, String)>,
    fields: Vec<crate::web::custom_fields::FieldControl>,
    portal_form: bool,
    others: Vec<TicketItem>,
    /// Mail about the ticket that never reached its recipient: (recipient, server's answer, when).
    undelivered: Vec<(String, String, String)>,
    form_id: String,
    draft: String,
    public: bool,
    errors: FormErrors,
}

pub(super) struct Draft {
    pub(super) body: String,
    pub(super) public: bool,
    pub(super) errors: FormErrors,
}

/// Pages read at most for the side panel's lists (100 each): 5 000 agents or groups.
pub(super) const MAX_LIST_PAGES: i64 = 50;

/// Every agent and admin, for the assignee list, and the current assignee even if they are
/// neither any more: a list without the current value would make the browser send another.
pub(super) async fn assignable(state: &AppState, ctx: &Ctx, scope: &Scope, current: Option<UserId>) -> Result<Vec<(i64, String)>, Failure> {
    let mut out = Vec::new();
    for page in 1..=MAX_LIST_PAGES {
        let p = state
            .helpdesk
            .list_users(scope, vec![Role::Agent, Role::Admin], false, Paging::Offset { page, per_page: 100 })
            .await
            .map_err(|e| ctx.fail(e))?;
        out.extend(p.users.iter().map(|u| (u.id.0, u.name.expose().clone())));
        if !p.has_more {
            break;
        }
    }
    if let Some(id) = current.filter(|id| !out.iter().any(|(a, _)| *a == id.0)) {
        let name = names(state, ctx, scope, &[id]).await?.remove(&id.0).unwrap_or_else(|| format!("#{}", id.0));
        out.push((id.0, name));
    }
    Ok(out)
}

/// Every group, for the group list (the current one included, as for the assignee).
pub(super) async fn all_groups(state: &AppState, ctx: &Ctx, scope: &Scope, current: Option<GroupId>) -> Result<Vec<(i64, String)>, Failure> {
    let mut out: Vec<(i64, String)> = Vec::new();
    for page in 0..MAX_LIST_PAGES {
        let (rows, count) = state.helpdesk.list_groups(scope, None, 100, page * 100).await.map_err(|e| ctx.fail(e))?;
        out.extend(rows.iter().map(|g| (g.id.0, g.name.clone())));
        if rows.is_empty() || i64::try_from(out.len()).unwrap_or(i64::MAX) >= count {
            break;
        }
    }
    if let Some(id) = current.filter(|id| !out.iter().any(|(g, _)| *g == id.0)) {
        out.push((id.0, format!("#{}", id.0)));
    }
    Ok(out)
}

/// Comments a ticket page shows at once: the newest, with links to earlier ones.
pub const COMMENTS_PER_PAGE: i64 = 100;

/// Where a ticket page's comments are in the whole conversation (page 1 is the newest).
pub struct CommentNav {
    pub page: i64,
    pub pages: i64,
    /// "Comments 101–200 of 250", when there is more than one page.
    pub shown: String,
}

/// A page of a ticket's conversation, oldest first within the page: page 1 holds the newest
/// [`COMMENTS_PER_PAGE`], page 2 the ones before them, and so on.
/// A page past the last shows the last.
pub async fn comment_window(state: &AppState, ctx: &Ctx, scope: &Scope, ticket: TicketId, page: i64) -> Result<(Vec<Comment>, CommentNav), Failure> {
    let read = |page: i64| async move {
        state
            .helpdesk
            .list_comments(scope, ticket, None, true, Some((page, COMMENTS_PER_PAGE)), COMMENTS_PER_PAGE)
            .await
            .map_err(|e| ctx.fail(e))
    };
    let mut page = page.max(1);
    let mut list = read(page).await?;
    let pages = ((list.count + COMMENTS_PER_PAGE - 1) / COMMENTS_PER_PAGE).max(1);
    if page > pages {
        page = pages;
        list = read(page).await?;
    }
    let mut comments = list.comments;
    comments.reverse();
    let to = list.count - (page - 1) * COMMENTS_PER_PAGE;
    let from = (to - COMMENTS_PER_PAGE + 1).max(1);
    let shown = if pages > 1 && to >= 1 {
        ctx.t("ticket.comments_shown")
            .replace("{from}", &from.to_string())
            .replace("{to}", &to.to_string())
            .replace("{n}", &list.count.to_string())
    } else {
        String::new()
    };
    Ok((comments, CommentNav { page, pages, shown }))
}

pub(super) async fn ticket_page(state: &AppState, ctx: &Ctx, id: i64, page: i64, draft: Draft, status: StatusCode) -> Result<Response, Failure> {
    let scope = ctx.staff()?;
    let t = state.helpdesk.get_ticket(&scope, TicketId(id)).await.map_err(|e| ctx.fail(e))?;
    let (comments, nav) = comment_window(state, ctx, &scope, t.id, page).await?;
    let item = items(state, ctx, &scope, std::slice::from_ref(&t)).await?.remove(0);
    let agents = assignable(state, ctx, &scope, t.assignee_id).await?;
    let groups = all_groups(state, ctx, &scope, t.group_id).await?;
    let mut cc_ids = t.collaborator_ids.clone();
    cc_ids.extend(t.email_cc_ids.iter().copied());
    cc_ids.sort_by_key(|u| u.0);
    cc_ids.dedup();
    let cc_names = names(state, ctx, &scope, &cc_ids).await?;
    let others = state
        .helpdesk
        .latest_tickets_of(&scope, t.requester_id, 11)
        .await
        .map_err(|e| ctx.fail(e))?
        .into_iter()
        .filter(|o| o.id != t.id)
        .take(10)
        .collect::<Vec<_>>();
    let defs = state
        .helpdesk
        .list_fields(&scope, suoja_helpdesk::fields::Owner::Ticket)
        .await
        .map_err(|e| ctx.fail(e))?;
    let form = match t.ticket_form_id {
        Some(f) => state.helpdesk.get_form(&scope, f).await.ok(),
        None => None,
    };
    let failed = state.helpdesk.undelivered_mail(&scope, t.id).await.map_err(|e| ctx.fail(e))?;
    let failed_names = names(state, ctx, &scope, &failed.iter().map(|f| f.recipient).collect::<Vec<_>>()).await?;
    let undelivered = failed
        .iter()
        .map(|f| {
            (
                failed_names.get(&f.recipient.0).cloned().unwrap_or_else(|| "—".into()),
                f.error.clone(),
                format::datetime(f.queued, &ctx.tz, ctx.lang),
            )
        })
        .collect();
    let macros = state
        .helpdesk
        .list_macros(&scope, Some(true))
        .await
        .map_err(|e| ctx.fail(e))?
        .into_iter()
        .map(|m| (m.row.id, m.row.title))
        .collect();
    let page = TicketPage {
        c: Chrome::new(ctx, format!("#{} {}", t.id.0, item.subject), "agent"),
        macros,
        undelivered,
        comments: conversation(state, ctx, &scope, &comments).await?,
        nav,
        statuses: Status::ALL.iter().map(|s| (s.as_str(), ctx.t(&format!("status.{}", s.as_str())))).collect(),
        priorities: Priority::ALL.iter().map(|p| (p.as_str(), ctx.t(&format!("priority.{}", p.as_str())))).collect(),
        priority: t.priority.map(|p| p.as_str()).unwrap_or(""),
        agents,
        assignee: t.assignee_id.map(|u| u.0).unwrap_or(0),
        groups,
        group: t.group_id.map(|g| g.0).unwrap_or(0),
        tags: t.tags.join(" "),
        ccs: cc_ids
            .iter()
            .map(|u| (u.0, cc_names.get(&u.0).cloned().unwrap_or_else(|| "—".into())))
            .collect(),
        fields: crate::web::custom_fields::inputs(&defs, t.custom_fields.expose(), form.as_ref().map(|f| f.field_ids.as_slice()), false),
        portal_form: false,
        others: items(state, ctx, &scope, &others).await?,
        t: item,
        form_id: form_id(),
        draft: draft.body,
        public: draft.public,
        errors: draft.errors,
    };
    Ok(render_status(ctx, status, &page))
}

pub(super) async fn ticket(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Query(q): Query<PageQuery>) -> Result<Response, Failure> {
    let draft = Draft {
        body: String::new(),
        public: true,
        errors: FormErrors::default(),
    };
    ticket_page(&state, &ctx, id, page_number(&q), draft, StatusCode::OK).await
}
