//! Administration: the audit log page — who changed what, from where, newest first, filtered
//! by action, actor and dates (UTC), fifty at a time, and the same selection as a CSV download.
//! Reads through the privacy engine's audit log, as `GET /api/v2/audit_logs` does. Admins only.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::{MethodRouter, get};
use serde::Deserialize;
use suoja_core::{Timestamp, UserId};
use suoja_privacy::audit::{Action, Query as AuditQuery};

use super::ctx::Ctx;
use super::{Chrome, Failure, Page, format, render};
use crate::AppState;

/// Entries a page shows.
const PAGE: i64 = 50;

/// The audit log pages.
pub(super) fn pages() -> Vec<(Page, MethodRouter<AppState>)> {
    vec![(Page::get("/admin/audit"), get(show)), (Page::get("/admin/audit/export"), get(export))]
}

/// The filters, as the form sends them.
#[derive(Debug, Default, Deserialize)]
struct Filters {
    #[serde(default)]
    action: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    before: String,
}

impl Filters {
    /// The audit query they stand for; an unreadable filter is left out and named.
    fn query(&self) -> (AuditQuery, Vec<&'static str>) {
        let mut bad = Vec::new();
        let mut q = AuditQuery::default();
        if !self.action.is_empty() {
            q.action = Action::parse(&self.action);
            if q.action.is_none() {
                bad.push("action");
            }
        }
        if !self.actor.trim().is_empty() {
            match self.actor.trim().parse::<i64>() {
                Ok(n) if n > 0 => q.actor = Some(UserId(n)),
                _ => bad.push("actor"),
            }
        }
        let date = |s: &str, end: bool, name: &'static str, bad: &mut Vec<&'static str>| {
            if s.is_empty() {
                return None;
            }
            match Timestamp::parse(s) {
                Some(t) if s.len() == 10 => Some(if end { Timestamp(t.0 + 86_400_000 - 1) } else { t }),
                _ => {
                    bad.push(name);
                    None
                }
            }
        };
        q.from = date(&self.from, false, "from", &mut bad);
        q.to = date(&self.to, true, "to", &mut bad);
        if let (Some(a), Some(b)) = (q.from, q.to)
            && a > b
        {
            bad.push("to");
            q.to = None;
        }
        q.before = self.before.parse::<i64>().ok().filter(|n| *n > 0);
        (q, bad)
    }

    /// The filters as a query string (without the cursor).
    fn query_string(&self) -> String {
        serde_urlencoded::to_string([
            ("action", self.action.as_str()),
            ("actor", self.actor.trim()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
        ])
        .unwrap_or_default()
    }
}

/// An entry as the page lists it.
pub struct Row {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: &'static str,
    pub route: String,
    pub source: String,
    pub address: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    c: Chrome,
    f: Filters,
    bad: Vec<&'static str>,
    rows: Vec<Row>,
    /// The filters as a query string, for the next page and the download.
    kept: String,
    next: Option<i64>,
}

impl AuditPage {
    fn is_bad(&self, name: &str) -> bool {
        self.bad.contains(&name)
    }
}

fn admin(ctx: &Ctx) -> Result<suoja_core::Scope, Failure> {
    let s = ctx.person()?;
    if !s.is_admin() {
        return Err(Failure::forbidden(ctx));
    }
    Ok(s)
}

async fn show(State(state): State<AppState>, ctx: Ctx, Query(f): Query<Filters>) -> Result<Response, Failure> {
    let scope = admin(&ctx)?;
    let (q, bad) = f.query();
    let (entries, next) = state
        .privacy
        .audit_log(&scope, AuditQuery { limit: PAGE, ..q })
        .await
        .map_err(|e| ctx.fail(e))?;
    let rows = entries
        .into_iter()
        .map(|e| Row {
            id: e.id,
            // In UTC, as the filters are.
            at: format::datetime(e.at, &jiff::tz::TimeZone::UTC, ctx.lang),
            actor: e.actor.map(|a| a.to_string()).unwrap_or_default(),
            action: ctx.t(&format!("audit.do.{}", e.action)),
            route: e.route,
            source: match e.source_id {
                Some(id) => format!("{} {id}", e.source_type),
                None => e.source_type,
            },
            address: e.ip_address.unwrap_or_default(),
        })
        .collect();
    let page = AuditPage {
        c: Chrome::new(&ctx, ctx.t("audit.title"), "audit"),
        kept: f.query_string(),
        f,
        bad,
        rows,
        next,
    };
    Ok(render(&ctx, &page))
}

async fn export(State(state): State<AppState>, ctx: Ctx, Query(f): Query<Filters>) -> Result<Response, Failure> {
    let scope = admin(&ctx)?;
    let (q, bad) = f.query();
    // A filter that cannot be read would export everything: the page says what is wrong.
    if !bad.is_empty() {
        return Ok(super::see_other(&format!("/admin/audit?{}", f.query_string())));
    }
    let (csv, more) = state.privacy.audit_log_csv(&scope, q).await.map_err(|e| ctx.fail(e))?;
    Ok(crate::api_v2::audit_logs::csv_download(csv, more))
}
