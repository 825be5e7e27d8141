//! The controller's documents in the privacy console (admins and privacy officers): the data
//! processing agreement read on the page, in English or Finnish, and as a PDF; the records of
//! processing as a PDF. Both are generated from the data map and the tenant's settings at the
//! moment they are opened.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use axum::routing::{MethodRouter, get};
use serde::Deserialize;

use super::ctx::Ctx;
use super::{Chrome, Failure, Lang, Page, render};
use crate::AppState;

/// The documents' pages.
pub(super) fn pages() -> Vec<(Page, MethodRouter<AppState>)> {
    vec![
        (Page::get("/privacy/dpa"), get(dpa)),
        (Page::get("/privacy/dpa.pdf"), get(dpa_pdf)),
        (Page::get("/privacy/records.pdf"), get(records_pdf)),
    ]
}

#[derive(Debug, Default, Deserialize)]
struct Locale {
    #[serde(default)]
    locale: String,
}

impl Locale {
    /// Finnish when asked for, else the page's language.
    fn finnish(&self, ctx: &Ctx) -> bool {
        match self.locale.as_str() {
            "fi" => true,
            "en" => false,
            _ => ctx.lang == Lang::Fi,
        }
    }
}

/// A block of the agreement, as the page shows it (a run of list items is one `list`).
pub struct Block {
    pub kind: String,
    pub text: String,
    pub items: Vec<String>,
}

#[derive(Template)]
#[template(path = "privacy/dpa.html")]
struct DpaPage {
    c: Chrome,
    lang: &'static str,
    blocks: Vec<Block>,
}

async fn dpa(State(state): State<AppState>, ctx: Ctx, Query(q): Query<Locale>) -> Result<Response, Failure> {
    let scope = ctx.privacy_staff()?;
    let finnish = q.finnish(&ctx);
    let doc = state.privacy.dpa(&scope, finnish).await.map_err(|e| ctx.fail(e))?;
    let mut blocks: Vec<Block> = Vec::new();
    for b in doc.get("blocks").and_then(serde_json::Value::as_array).into_iter().flatten() {
        let kind = b["kind"].as_str().unwrap_or_default();
        let text = b["text"].as_str().unwrap_or_default().to_string();
        match (kind, blocks.last_mut()) {
            ("bullet", Some(list)) if list.kind == "list" => list.items.push(text),
            ("bullet", _) => blocks.push(Block {
                kind: "list".into(),
                text: String::new(),
                items: vec![text],
            }),
            _ => blocks.push(Block {
                kind: kind.to_string(),
                text,
                items: Vec::new(),
            }),
        }
    }
    let page = DpaPage {
        c: Chrome::new(&ctx, ctx.t("dpa.title"), "privacy"),
        lang: if finnish { "fi" } else { "en" },
        blocks,
    };
    Ok(render(&ctx, &page))
}

fn pdf(bytes: Vec<u8>, name: &'static str) -> Response {
    let mut r = (StatusCode::OK, bytes).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static(name));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn dpa_pdf(State(state): State<AppState>, ctx: Ctx, Query(q): Query<Locale>) -> Result<Response, Failure> {
    let scope = ctx.privacy_staff()?;
    let bytes = state.privacy.dpa_pdf(&scope, q.finnish(&ctx)).await.map_err(|e| ctx.fail(e))?;
    Ok(pdf(bytes, "inline; filename=\"data-processing-agreement.pdf\""))
}

async fn records_pdf(State(state): State<AppState>, ctx: Ctx, Query(q): Query<Locale>) -> Result<Response, Failure> {
    let scope = ctx.privacy_staff()?;
    let finnish = q.finnish(&ctx);
    let lang = if finnish { Lang::Fi } else { Lang::En };
    let label = |table: &str| {
        let name = lang.data(table);
        (name != table).then_some(name)
    };
    let bytes = state
        .privacy
        .records_of_processing_pdf(&scope, finnish, &label)
        .await
        .map_err(|e| ctx.fail(e))?;
    Ok(pdf(bytes, "inline; filename=\"records-of-processing.pdf\""))
}
