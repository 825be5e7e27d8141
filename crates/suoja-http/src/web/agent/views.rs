//! The agent's views: the lists of tickets (mine, unassigned, all open, …) with counts.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use suoja_helpdesk::tickets::views::View;

use super::{PageQuery, TicketItem, items, page_number};
use crate::AppState;
use crate::web::ctx::Ctx;
use crate::web::{Chrome, Failure, render};

#[derive(Template)]
#[template(path = "agent/view.html")]
pub(super) struct ViewPage {
    c: Chrome,
    /// (slug, label, count, whether the count is at its cap, whether it is the view shown)
    views: Vec<(&'static str, &'static str, i64, bool, bool)>,
    tickets: Vec<TicketItem>,
    page: i64,
    has_more: bool,
    slug: &'static str,
}

pub(super) async fn view(State(state): State<AppState>, ctx: Ctx, Path(slug): Path<String>, Query(q): Query<PageQuery>) -> Result<Response, Failure> {
    let scope = ctx.staff()?;
    let v = View::from_slug(&slug).ok_or_else(|| ctx.fail(crate::ApiError::NotFound))?;
    let page = page_number(&q);
    let counts = state.helpdesk.view_counts(&scope).await.map_err(|e| ctx.fail(e))?;
    let (tickets, has_more) = state.helpdesk.ticket_view(&scope, v, 50, (page - 1) * 50).await.map_err(|e| ctx.fail(e))?;
    let views = counts
        .iter()
        .map(|(w, n, more)| (w.slug(), ctx.t(&format!("views.{}", w.slug())), *n, *more, *w == v))
        .collect();
    let p = ViewPage {
        c: Chrome::new(&ctx, ctx.t(&format!("views.{}", v.slug())), "agent"),
        views,
        tickets: items(&state, &ctx, &scope, &tickets).await?,
        page,
        has_more,
        slug: v.slug(),
    };
    Ok(render(&ctx, &p))
}
