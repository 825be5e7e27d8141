//! Search from the agent workspace.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use suoja_helpdesk::SearchHit;

use super::{TicketItem, items};
use crate::AppState;
use crate::web::ctx::Ctx;
use crate::web::{Chrome, Failure, render_status};

#[derive(Template)]
#[template(path = "agent/search.html")]
pub(super) struct SearchPage {
    c: Chrome,
    q: String,
    tickets: Vec<TicketItem>,
    users: Vec<(i64, String, String)>,
    orgs: Vec<(i64, String)>,
    error: String,
    searched: bool,
}

#[derive(Debug, Deserialize, Default)]
pub(super) struct SearchQuery {
    #[serde(default)]
    q: String,
}

pub(super) async fn search(State(state): State<AppState>, ctx: Ctx, Query(q): Query<SearchQuery>) -> Result<Response, Failure> {
    let scope = ctx.staff()?;
    let text = q.q.trim().chars().take(500).collect::<String>();
    let mut page = SearchPage {
        c: Chrome::new(&ctx, ctx.t("search.title"), "agent"),
        q: text.clone(),
        tickets: Vec::new(),
        users: Vec::new(),
        orgs: Vec::new(),
        error: String::new(),
        searched: !text.is_empty(),
    };
    if !text.is_empty() {
        match state.helpdesk.search(&scope, &text, 1, 50).await {
            Ok(res) => {
                let mut tickets = Vec::new();
                for hit in res.results {
                    match hit {
                        SearchHit::Ticket(t) => tickets.push(*t),
                        SearchHit::User(u) => page.users.push((
                            u.id.0,
                            u.name.expose().clone(),
                            u.email.as_ref().map(|e| e.expose().clone()).unwrap_or_default(),
                        )),
                        SearchHit::Organization(o) => page.orgs.push((o.id.0, o.name.clone())),
                    }
                }
                page.tickets = items(&state, &ctx, &scope, &tickets).await?;
            }
            Err(suoja_helpdesk::HelpdeskError::BadQuery(m)) => page.error = m,
            Err(e) => return Err(ctx.fail(e)),
        }
    }
    let status = if page.error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(render_status(&ctx, status, &page))
}
