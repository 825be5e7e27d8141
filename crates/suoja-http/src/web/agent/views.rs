//! The agent's views: the active views they see (the default queues, the team's and their
//! own) with counts, and the tickets of the one shown, in the columns the view names and,
//! when it groups them, under a heading per group.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use std::collections::HashMap;

use suoja_core::UserId;
use suoja_helpdesk::model::Ticket;
use suoja_helpdesk::rules::views::View;

use super::{PageQuery, names, page_number};
use crate::AppState;
use crate::web::ctx::Ctx;
use crate::web::{Chrome, Failure, format, render};

/// How many of the workspace's views are counted.
const COUNTED: usize = 20;

#[derive(Template)]
#[template(path = "agent/view.html")]
pub(super) struct ViewPage {
    c: Chrome,
    /// (slug, label, count, whether the count is at its cap, whether it is the view shown)
    views: Vec<(String, String, i64, bool, bool)>,
    /// The view's columns' headings.
    columns: Vec<&'static str>,
    rows: Vec<ViewRow>,
    page: i64,
    has_more: bool,
    slug: String,
}

/// A ticket's row: its cells in the view's columns, and the heading of the group it starts.
pub(super) struct ViewRow {
    /// The group heading shown above this row (the first of its group), when grouped.
    group: Option<String>,
    /// (kind: `link`, `badge` or `text`; text; link target or status for a badge).
    cells: Vec<(&'static str, String, String)>,
}

/// A column's heading key.
fn heading(col: &str) -> &'static str {
    match col {
        "nice_id" => "tickets.id",
        "subject" => "tickets.subject",
        "requester" => "tickets.requester",
        "assignee" => "tickets.assignee",
        "group" => "tickets.group",
        "organization" => "tickets.organization",
        "status" => "tickets.status",
        "priority" => "tickets.priority",
        "type" => "tickets.type",
        "created" => "tickets.created",
        "due_date" => "tickets.due_date",
        _ => "tickets.updated",
    }
}

/// The rows of a page of a view's tickets, in its columns, with a heading where a group starts
/// when it groups (the list comes grouped; tickets grouped by a time share its day, in the time
/// zone `offset` milliseconds east of UTC that the list was grouped in).
async fn rows(state: &AppState, ctx: &Ctx, scope: &suoja_core::Scope, v: &View, tickets: &[Ticket], offset: i64) -> Result<Vec<ViewRow>, Failure> {
    let cols = &v.def.columns;
    let wants = |c: &str| cols.iter().any(|x| x == c) || v.def.group_by.as_deref() == Some(c);
    let mut people: Vec<UserId> = Vec::new();
    if wants("requester") {
        people.extend(tickets.iter().map(|t| t.requester_id));
    }
    if wants("assignee") {
        people.extend(tickets.iter().filter_map(|t| t.assignee_id));
    }
    let who = names(state, ctx, scope, &people).await?;
    let mut groups: HashMap<i64, String> = HashMap::new();
    let mut orgs: HashMap<i64, String> = HashMap::new();
    for t in tickets {
        if wants("group")
            && let Some(g) = t.group_id
            && !groups.contains_key(&g.0)
            && let Ok(found) = state.helpdesk.get_group(scope, g).await
        {
            groups.insert(g.0, found.name);
        }
        if wants("organization")
            && let Some(o) = t.organization_id
            && !orgs.contains_key(&o.0)
            && let Ok(found) = state.helpdesk.get_org(scope, o).await
        {
            orgs.insert(o.0, found.name);
        }
    }
    let person = |id: Option<UserId>| match id {
        Some(u) => ("link", who.get(&u.0).cloned().unwrap_or_else(|| "—".into()), format!("/agent/users/{}", u.0)),
        None => ("text", "—".to_string(), String::new()),
    };
    let cell = |t: &Ticket, col: &str| -> (&'static str, String, String) {
        match col {
            "nice_id" => ("text", t.id.0.to_string(), String::new()),
            "subject" => ("link", super::subject_of(t), format!("/agent/tickets/{}", t.id.0)),
            "requester" => person(Some(t.requester_id)),
            "assignee" => person(t.assignee_id),
            "group" => (
                "text",
                t.group_id.and_then(|g| groups.get(&g.0).cloned()).unwrap_or_else(|| "—".into()),
                String::new(),
            ),
            "organization" => (
                "text",
                t.organization_id.and_then(|o| orgs.get(&o.0).cloned()).unwrap_or_else(|| "—".into()),
                String::new(),
            ),
            "status" => (
                "badge",
                ctx.t(&format!("status.{}", t.status.as_str())).to_string(),
                t.status.as_str().to_string(),
            ),
            "priority" => (
                "text",
                t.priority.map(|p| ctx.t(&format!("priority.{}", p.as_str()))).unwrap_or("—").to_string(),
                String::new(),
            ),
            "type" => ("text", t.ticket_type.map_or("—", |x| x.as_str()).to_string(), String::new()),
            "created" => ("text", format::datetime(t.created_at, &ctx.tz, ctx.lang), String::new()),
            "due_date" => (
                "text",
                t.due_at.map(|d| format::date(d, &ctx.tz, ctx.lang)).unwrap_or_else(|| "—".into()),
                String::new(),
            ),
            _ => ("text", format::datetime(t.updated_at, &ctx.tz, ctx.lang), String::new()),
        }
    };
    let grouping_zone = jiff::tz::TimeZone::fixed(jiff::tz::Offset::from_seconds(i32::try_from(offset / 1_000).unwrap_or(0)).unwrap_or(jiff::tz::Offset::UTC));
    let mut out: Vec<(String, ViewRow)> = tickets
        .iter()
        .map(|t| {
            // Days are those the list was grouped by: the reader's offset now, for every
            // ticket (a time from the other side of a clock change keeps its group).
            let day = |at: suoja_core::Timestamp| format::date(at, &grouping_zone, ctx.lang);
            let key = match v.def.group_by.as_deref() {
                Some("created") => day(t.created_at),
                Some("updated") => day(t.updated_at),
                Some("due_date") => t.due_at.map_or_else(|| "—".into(), day),
                Some(g) => cell(t, g).1,
                None => String::new(),
            };
            (
                key,
                ViewRow {
                    group: None,
                    cells: cols.iter().map(|c| cell(t, c)).collect(),
                },
            )
        })
        .collect();
    if let Some(g) = v.def.group_by.as_deref() {
        // Groups in the order they first come (the list's order keeps each group together; a
        // day that a time-zone change splits is joined on the page).
        let mut order: Vec<String> = Vec::new();
        for (k, _) in &out {
            if !order.contains(k) {
                order.push(k.clone());
            }
        }
        out.sort_by_key(|(k, _)| order.iter().position(|o| o == k));
        let label = ctx.t(heading(g));
        let mut last: Option<String> = None;
        for (k, row) in &mut out {
            if last.as_ref() != Some(k) {
                row.group = Some(format!("{label}: {k}"));
                last = Some(k.clone());
            }
        }
    }
    Ok(out.into_iter().map(|(_, r)| r).collect())
}

/// How far east of UTC the reader's time zone is now (milliseconds): the days a view grouped by
/// a time is grouped by.
fn group_offset(state: &AppState, ctx: &Ctx) -> i64 {
    let now = jiff::Timestamp::from_millisecond(state.helpdesk.now().0).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    i64::from(ctx.tz.to_offset(now).seconds()) * 1_000
}

/// A view's title in the reader's language: a default view still holding its default title
/// is named by the page's words for it.
pub(crate) fn title(ctx: &Ctx, v: &View) -> String {
    match v.default_title_key() {
        Some(key) => ctx.t(&format!("views.{key}")).to_string(),
        None => v.row.title.clone(),
    }
}

pub(super) async fn view(State(state): State<AppState>, ctx: Ctx, Path(slug): Path<String>, Query(q): Query<PageQuery>) -> Result<Response, Failure> {
    let scope = ctx.staff()?;
    let v = state.helpdesk.view_by_slug(&scope, &slug).await.map_err(|e| ctx.fail(e))?;
    let page = page_number(&q);
    // Read once: the list is grouped and its days headed by the same offset.
    let offset = group_offset(&state, &ctx);
    let (tickets, has_more) = state
        .helpdesk
        .view_tickets(&scope, &v, offset, 50, (page - 1) * 50)
        .await
        .map_err(|e| ctx.fail(e))?;
    let mut views = Vec::new();
    for (i, w) in state
        .helpdesk
        .list_views(&scope, Some(true))
        .await
        .map_err(|e| ctx.fail(e))?
        .into_iter()
        .enumerate()
    {
        // The first views are counted; past them a view is listed without a count, so a long
        // list costs one query per page, not one per view.
        // A view that cannot be counted (one whose condition names a value erased since) is
        // listed without its count, not allowed to take the workspace down.
        let (n, more) = if i < COUNTED {
            match state.helpdesk.view_count(&scope, &w).await {
                Ok(n) => (n.value, n.more),
                Err(e) => {
                    tracing::warn!(view.id = w.row.id, error = %e, "a view could not be counted");
                    (-1, false)
                }
            }
        } else {
            (-1, false)
        };
        views.push((w.slug(), title(&ctx, &w), n, more, w.row.id == v.row.id));
    }
    let p = ViewPage {
        c: Chrome::new(&ctx, title(&ctx, &v), "agent"),
        views,
        columns: v.def.columns.iter().map(|c| heading(c)).collect(),
        rows: rows(&state, &ctx, &scope, &v, &tickets, offset).await?,
        page,
        has_more,
        slug: v.slug(),
    };
    Ok(render(&ctx, &p))
}
