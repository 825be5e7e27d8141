//! The agent's views: the active views they see (the default queues, the team's and their
//! own) with counts, and the tickets of the one shown.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use suoja_helpdesk::rules::views::View;

use super::{PageQuery, TicketItem, items, page_number};
use crate::AppState;
use crate::web::ctx::Ctx;
use crate::web::{Chrome, Failure, render};

/// How many of the workspace's views are counted.
const COUNTED: usize = 20;

#[derive(Template)]
#[template(path = "agent/view.html")]
pub(super) struct ViewPage {
    c: Chrome,
    /// (slug, label, count, whether the count is at its cap, whether it is the view shown)
    views: Vec<(String, String, i64, bool, bool)>,
    tickets: Vec<TicketItem>,
    page: i64,
    has_more: bool,
    slug: String,
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
    let (tickets, has_more) = state.helpdesk.view_tickets(&scope, &v, 50, (page - 1) * 50).await.map_err(|e| ctx.fail(e))?;
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
        tickets: items(&state, &ctx, &scope, &tickets).await?,
        page,
        has_more,
        slug: v.slug(),
    };
    Ok(render(&ctx, &p))
}
