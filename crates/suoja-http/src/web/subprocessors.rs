//! The tenant's public list of sub-processors (`/subprocessors`): who processes personal data
//! for it, for what, where and under which safeguard, including those announced but not started
//! yet — readable without signing in — and, for a signed-in person, subscribing to hear of new
//! ones before they start.

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};

use super::ctx::{Ctx, Fields};
use super::{Chrome, Failure, Page, format, render, see_other};
use crate::AppState;

/// The pages.
pub(super) fn pages() -> Vec<(Page, MethodRouter<AppState>)> {
    vec![
        (Page::get("/subprocessors"), get(list)),
        (Page::post("/subprocessors/subscription"), post(subscribe)),
    ]
}

/// A sub-processor as the list shows it.
pub struct Row {
    pub name: String,
    pub service: String,
    pub location: String,
    pub safeguard: String,
    pub from: String,
    pub until: String,
    pub upcoming: bool,
}

#[derive(Template)]
#[template(path = "privacy/subprocessors.html")]
struct ListPage {
    c: Chrome,
    rows: Vec<Row>,
    subscribed: bool,
}

async fn list(State(state): State<AppState>, ctx: Ctx) -> Result<Response, Failure> {
    let now = state.helpdesk.now();
    let all = state.privacy.public_subprocessors(ctx.tenant).await.map_err(|e| ctx.fail(e))?;
    let subscribed = match ctx.person() {
        Ok(scope) => state.privacy.subprocessor_subscription(&scope).await.map_err(|e| ctx.fail(e))?,
        Err(_) => false,
    };
    let rows = all
        .iter()
        .map(|s| Row {
            name: s.name.clone(),
            service: s.service.clone(),
            location: s.location.clone(),
            safeguard: s.safeguard.clone(),
            from: format::date(s.starts_at, &ctx.tz, ctx.lang),
            until: s.ends_at.map(|t| format::date(t, &ctx.tz, ctx.lang)).unwrap_or_default(),
            upcoming: s.starts_at > now,
        })
        .collect();
    let page = ListPage {
        c: Chrome::new(&ctx, ctx.t("subprocessors.title"), "hc"),
        rows,
        subscribed,
    };
    Ok(render(&ctx, &page))
}

async fn subscribe(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let scope = ctx.person()?;
    let f = Fields::read(&ctx, &headers, &body)?;
    let on = f.get("subscribe") == "1";
    state.privacy.subscribe_subprocessors(&scope, on).await.map_err(|e| ctx.fail(e))?;
    Ok(see_other(if on {
        "/subprocessors?done=subscribed"
    } else {
        "/subprocessors?done=unsubscribed"
    }))
}
