//! The privacy console's breach register: the list with each open breach's 72-hour clock, a form
//! to record one, and a breach's page — its record and decisions, what was exposed (added to the
//! scope one thing at a time) with the people affected counted by category, the authority's
//! notification as a PDF in English or Finnish, recording that notification, the people's
//! notices, and closing. The privacy services decide everything; these pages read forms.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use axum::routing::{MethodRouter, get, post};
use serde::Deserialize;
use suoja_core::{Personal, Scope};
use suoja_privacy::breaches::notices::category_label;
use suoja_privacy::breaches::scope::Exposure;
use suoja_privacy::breaches::{Breach, Changes, DATA_CATEGORIES, PEOPLE_CATEGORIES};

use super::ctx::{Ctx, Fields};
use super::{Chrome, Failure, FormErrors, Page, check_text, format, render_status, see_other};
use crate::AppState;

/// The breach pages.
pub(super) fn pages() -> Vec<(Page, MethodRouter<AppState>)> {
    vec![
        (Page::get("/privacy/breaches"), get(list)),
        (Page::post("/privacy/breaches"), post(record)),
        (Page::get("/privacy/breaches/{id}"), get(show)),
        (Page::post("/privacy/breaches/{id}"), post(save)),
        (Page::post("/privacy/breaches/{id}/scope"), post(add_scope)),
        (Page::get("/privacy/breaches/{id}/notification"), get(notification)),
        (Page::post("/privacy/breaches/{id}/authority_notified"), post(authority_notified)),
        (Page::post("/privacy/breaches/{id}/notify_people"), post(notify_people)),
        (Page::post("/privacy/breaches/{id}/close"), post(close)),
    ]
}

/// A breach in the list.
pub struct Item {
    pub id: i64,
    pub aware: String,
    pub state: &'static str,
    pub left: String,
    pub overdue: bool,
    pub pending: bool,
    pub summary: String,
}

fn item(ctx: &Ctx, b: &Breach, now: suoja_core::Timestamp) -> Item {
    let pending = b.row.authority_notified_at.is_none() && b.row.notify_authority != Some(false) && b.row.closed_at.is_none();
    // The 72-hour clock reads in hours.
    let (left, _) = format::time_left_in(b.authority_due_at(), now, ctx.lang, 4 * 86_400_000);
    let d = &b.details.expose().description;
    let mut summary: String = d.chars().take(120).collect();
    if d.chars().count() > 120 {
        summary.push('…');
    }
    Item {
        id: b.row.id,
        aware: format::datetime(b.row.aware_at, &ctx.tz, ctx.lang),
        state: ctx.t(&format!("breach.state.{}", b.row.state)),
        left: if pending { left } else { String::new() },
        overdue: b.authority_overdue(now) && b.row.closed_at.is_none(),
        pending,
        summary,
    }
}

#[derive(Template)]
#[template(path = "privacy/breaches.html")]
struct ListPage {
    c: Chrome,
    items: Vec<Item>,
    errors: FormErrors,
    form_id: String,
    aware_at: String,
    description: String,
}

async fn list_page(state: &AppState, ctx: &Ctx, scope: &Scope, form: (String, String), errors: FormErrors, status: StatusCode) -> Result<Response, Failure> {
    let (all, _) = state.privacy.breaches(scope, 200, 0).await.map_err(|e| ctx.fail(e))?;
    let now = state.helpdesk.now();
    let aware_at = if form.0.is_empty() { format::local_input(now, &ctx.tz) } else { form.0 };
    let page = ListPage {
        c: Chrome::new(ctx, ctx.t("breach.title"), "privacy"),
        items: all.iter().map(|b| item(ctx, b, now)).collect(),
        errors,
        form_id: super::form_id(),
        aware_at,
        description: form.1,
    };
    Ok(render_status(ctx, status, &page))
}

async fn list(State(state): State<AppState>, ctx: Ctx) -> Result<Response, Failure> {
    let scope = ctx.privacy_staff()?;
    list_page(&state, &ctx, &scope, (String::new(), String::new()), FormErrors::default(), StatusCode::OK).await
}

async fn record(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.privacy_staff()?;
    let mut errors = FormErrors::default();
    check_text(&mut errors, ctx.lang, "description", f.get("description"), true, 20_000);
    let aware = format::parse_local(f.get("aware_at"), &ctx.tz);
    if aware.is_none() {
        errors.add("aware_at", ctx.t("breach.bad_time"));
    }
    if errors.is_empty() {
        let changes = Changes {
            aware_at: aware,
            text: vec![("description", Personal::new(f.get("description").to_string()))],
            ..Changes::default()
        };
        let fid = f.get("form_id").to_string();
        let done = super::once(&state, &ctx, &scope, &fid, "/privacy/breaches", &["aware_at", "description"], || async {
            let b = state.privacy.record_breach(&scope, changes).await?;
            Ok(format!("/privacy/breaches/{}?done=breach_recorded", b.row.id))
        })
        .await?;
        match done {
            Ok(to) => return Ok(see_other(&to)),
            Err(e) => errors = e,
        }
    }
    let form = (f.get("aware_at").to_string(), f.get("description").to_string());
    list_page(&state, &ctx, &scope, form, errors, StatusCode::UNPROCESSABLE_ENTITY).await
}

/// A category as a box to tick.
pub struct Tick {
    pub code: &'static str,
    pub label: &'static str,
    pub on: bool,
}

#[derive(Template)]
#[template(path = "privacy/breach.html")]
struct BreachPage {
    c: Chrome,
    b: Item,
    due: String,
    occurred: String,
    aware_input: String,
    occurred_input: String,
    authority_notified: String,
    people_notified: String,
    closed: bool,
    text: Vec<(&'static str, &'static str, String)>,
    data: Vec<Tick>,
    people: Vec<Tick>,
    notify_authority: &'static str,
    notify_people: &'static str,
    scope: Vec<String>,
    affected: usize,
    records: i64,
    by_category: Vec<(&'static str, i64, i64)>,
    told: usize,
    errors: FormErrors,
}

/// The text fields of the record form: name, label key, rows.
const TEXTS: &[(&str, &str)] = &[
    ("description", "breach.description"),
    ("people_summary", "breach.people_summary"),
    ("consequences", "breach.consequences"),
    ("measures", "breach.measures"),
    ("contact", "breach.contact"),
    ("authority_reasoning", "breach.authority_reasoning"),
    ("people_reasoning", "breach.people_reasoning"),
    ("delay_reason", "breach.delay_reason"),
];

fn exposure_words(ctx: &Ctx, e: &Exposure) -> String {
    let at = |ms: i64| format::datetime(suoja_core::Timestamp(ms), &ctx.tz, ctx.lang);
    match e {
        Exposure::Tickets { ids } => format!(
            "{}: {}",
            ctx.t("breach.kind.tickets"),
            ids.iter().map(|i| format!("#{i}")).collect::<Vec<_>>().join(", ")
        ),
        Exposure::Tag { tag } => format!("{}: {tag}", ctx.t("breach.kind.tag")),
        Exposure::View { view, ids } => format!("{}: {view} ({})", ctx.t("breach.kind.view"), ids.len()),
        Exposure::Search { query, ids } => format!("{}: {query} ({})", ctx.t("breach.kind.search"), ids.len()),
        Exposure::Snapshot { at: when } => format!("{}: {}", ctx.t("breach.kind.snapshot"), at(*when)),
        Exposure::Organization { id } => format!("{}: #{id}", ctx.t("breach.kind.organization")),
        Exposure::TokenReads { token_id, from, to } => format!("{}: #{token_id}, {} – {}", ctx.t("breach.kind.token_reads"), at(*from), at(*to)),
        Exposure::StaffReads { user_id, from, to } => format!("{}: #{user_id}, {} – {}", ctx.t("breach.kind.staff_reads"), at(*from), at(*to)),
        Exposure::NodeReads { node, from, to } => format!("{}: {node}, {} – {}", ctx.t("breach.kind.node_reads"), at(*from), at(*to)),
        Exposure::ExportPackage { id } => format!("{}: {id}", ctx.t("breach.kind.export_package")),
    }
}

fn decision(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "",
    }
}

async fn breach_page(state: &AppState, ctx: &Ctx, scope: &Scope, id: i64, shown: Option<&Fields>, errors: FormErrors) -> Result<Response, Failure> {
    let b = state.privacy.breach(scope, id).await.map_err(|e| ctx.fail(e))?;
    let people = state.privacy.breach_people(scope, id).await.map_err(|e| ctx.fail(e))?;
    let summary = suoja_privacy::breaches::scope::summarize(&people);
    let now = state.helpdesk.now();
    let d = b.details.expose();
    let stored = |name: &str| -> String {
        match name {
            "description" => d.description.clone(),
            "people_summary" => d.people_summary.clone(),
            "consequences" => d.consequences.clone(),
            "measures" => d.measures.clone(),
            "contact" => d.contact.clone(),
            "authority_reasoning" => d.authority_reasoning.clone(),
            "people_reasoning" => d.people_reasoning.clone(),
            "delay_reason" => d.delay_reason.clone(),
            _ => String::new(),
        }
    };
    let value = |name: &str| shown.map_or_else(|| stored(name), |f| f.get(name).to_string());
    let ticks = |codes: &[&'static str], have: &[String], prefix: &str| -> Vec<Tick> {
        codes
            .iter()
            .map(|c| Tick {
                code: c,
                label: category_label(c, ctx.lang == super::Lang::Fi),
                on: shown.map_or_else(|| have.iter().any(|h| h == c), |f| f.get(&format!("{prefix}{c}")) == "1"),
            })
            .collect()
    };
    let fi = ctx.lang == super::Lang::Fi;
    let by_category = summary
        .by_category
        .iter()
        .map(|(k, v)| {
            (
                category_label(DATA_CATEGORIES.iter().find(|c| **c == k.as_str()).copied().unwrap_or("other"), fi),
                v.people,
                v.records,
            )
        })
        .collect();
    let choice = |name: &str, stored: Option<bool>| -> &'static str {
        match shown.map(|f| f.get(name)) {
            Some("yes") => "yes",
            Some("no") => "no",
            Some(_) => "",
            None => decision(stored),
        }
    };
    let page = BreachPage {
        c: Chrome::new(ctx, format!("{} #{id}", ctx.t("breach.one")), "privacy"),
        b: item(ctx, &b, now),
        due: format::datetime(b.authority_due_at(), &ctx.tz, ctx.lang),
        occurred: b.row.occurred_at.map(|t| format::datetime(t, &ctx.tz, ctx.lang)).unwrap_or_default(),
        aware_input: shown.map_or_else(|| format::local_input(b.row.aware_at, &ctx.tz), |f| f.get("aware_at").to_string()),
        occurred_input: shown.map_or_else(
            || b.row.occurred_at.map(|t| format::local_input(t, &ctx.tz)).unwrap_or_default(),
            |f| f.get("occurred_at").to_string(),
        ),
        authority_notified: b.row.authority_notified_at.map(|t| format::datetime(t, &ctx.tz, ctx.lang)).unwrap_or_default(),
        people_notified: b.row.people_notified_at.map(|t| format::datetime(t, &ctx.tz, ctx.lang)).unwrap_or_default(),
        closed: b.row.closed_at.is_some(),
        text: TEXTS.iter().map(|(name, key)| (*name, ctx.t(key), value(name))).collect(),
        data: ticks(DATA_CATEGORIES, &b.data_categories, "data_"),
        people: ticks(PEOPLE_CATEGORIES, &b.people_categories, "people_"),
        notify_authority: choice("notify_authority", b.row.notify_authority),
        notify_people: choice("notify_people", b.row.notify_people),
        scope: d.scope.iter().map(|e| exposure_words(ctx, e)).collect(),
        affected: people.len(),
        records: summary.records,
        by_category,
        told: people.iter().filter(|p| p.notified_at.is_some()).count(),
        errors,
    };
    let status = if page.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(render_status(ctx, status, &page))
}

async fn show(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> Result<Response, Failure> {
    let scope = ctx.privacy_staff()?;
    breach_page(&state, &ctx, &scope, id, None, FormErrors::default()).await
}

/// What the record form says.
fn changes_from(f: &Fields, b: &Breach, tz: &jiff::tz::TimeZone) -> Changes {
    let pick = |name: &str| match f.get(name) {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    };
    // The form shows times to the minute: a time left as shown is not a change.
    let moved = |name: &str, was: Option<suoja_core::Timestamp>| {
        let shown = was.map(|t| format::local_input(t, tz)).unwrap_or_default();
        (f.get(name).trim() != shown).then(|| format::parse_local(f.get(name), tz)).flatten()
    };
    Changes {
        aware_at: moved("aware_at", Some(b.row.aware_at)),
        occurred_at: moved("occurred_at", b.row.occurred_at),
        text: TEXTS.iter().map(|(name, _)| (*name, Personal::new(f.get(name).to_string()))).collect(),
        data_categories: Some(
            DATA_CATEGORIES
                .iter()
                .filter(|c| f.get(&format!("data_{c}")) == "1")
                .map(|c| (*c).to_string())
                .collect(),
        ),
        people_categories: Some(
            PEOPLE_CATEGORIES
                .iter()
                .filter(|c| f.get(&format!("people_{c}")) == "1")
                .map(|c| (*c).to_string())
                .collect(),
        ),
        notify_authority: pick("notify_authority"),
        notify_people: pick("notify_people"),
    }
}

async fn save(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.privacy_staff()?;
    let mut errors = FormErrors::default();
    for (name, _) in TEXTS {
        check_text(&mut errors, ctx.lang, name, f.get(name), *name == "description", 20_000);
    }
    for name in ["aware_at", "occurred_at"] {
        if !f.get(name).trim().is_empty() && format::parse_local(f.get(name), &ctx.tz).is_none() {
            errors.add(name, ctx.t("breach.bad_time"));
        }
    }
    if errors.is_empty() {
        let b = state.privacy.breach(&scope, id).await.map_err(|e| ctx.fail(e))?;
        match state.privacy.update_breach(&scope, id, changes_from(&f, &b, &ctx.tz)).await {
            Ok(_) => return Ok(see_other(&format!("/privacy/breaches/{id}?done=saved"))),
            Err(e) => {
                let mut placed: Vec<&str> = TEXTS.iter().map(|(n, _)| *n).collect();
                placed.extend(["aware_at", "occurred_at"]);
                errors = FormErrors::from_error(e.into(), ctx.lang, &placed).map_err(|e| ctx.fail(e))?;
            }
        }
    }
    breach_page(&state, &ctx, &scope, id, Some(&f), errors).await
}

/// One exposure from the scope form, or the field that is wrong.
fn exposure_from(ctx: &Ctx, f: &Fields) -> Result<Exposure, (&'static str, &'static str)> {
    let window = || -> Result<(i64, i64), (&'static str, &'static str)> {
        let from = format::parse_local(f.get("from"), &ctx.tz).ok_or(("from", "breach.bad_time"))?;
        let to = format::parse_local(f.get("to"), &ctx.tz).ok_or(("to", "breach.bad_time"))?;
        // The form names minutes: the window ends with the last millisecond of its last minute.
        Ok((from.0, to.0 + 59_999))
    };
    let number = |s: &str| s.trim().trim_start_matches('#').parse::<i64>().ok().filter(|n| *n > 0);
    let target = f.get("target").trim();
    match f.get("kind") {
        "tickets" => {
            let ids: Option<Vec<i64>> = target.split([',', ' ']).filter(|s| !s.trim().is_empty()).map(number).collect();
            match ids {
                Some(ids) if !ids.is_empty() => Ok(Exposure::Tickets { ids }),
                _ => Err(("target", "breach.bad_tickets")),
            }
        }
        "tag" if !target.is_empty() => Ok(Exposure::Tag { tag: target.to_string() }),
        "view" if !target.is_empty() => Ok(Exposure::View {
            view: target.to_string(),
            ids: Vec::new(),
        }),
        "search" if !target.is_empty() => Ok(Exposure::Search {
            query: target.to_string(),
            ids: Vec::new(),
        }),
        "organization" => number(target).map(|id| Exposure::Organization { id }).ok_or(("target", "breach.bad_number")),
        "token_reads" => {
            let token_id = number(target).ok_or(("target", "breach.bad_number"))?;
            let (from, to) = window()?;
            Ok(Exposure::TokenReads { token_id, from, to })
        }
        "staff_reads" => {
            let user_id = number(target).ok_or(("target", "breach.bad_number"))?;
            let (from, to) = window()?;
            Ok(Exposure::StaffReads { user_id, from, to })
        }
        "node_reads" if !target.is_empty() => {
            let (from, to) = window()?;
            Ok(Exposure::NodeReads {
                node: target.to_string(),
                from,
                to,
            })
        }
        "export_package" if !target.is_empty() => Ok(Exposure::ExportPackage { id: target.to_string() }),
        // A copy of everything: the window's end is when it was made.
        "snapshot" => {
            let at = format::parse_local(f.get("to"), &ctx.tz).ok_or(("to", "breach.bad_time"))?;
            Ok(Exposure::Snapshot { at: at.0 + 59_999 })
        }
        _ => Err(("target", "breach.bad_target")),
    }
}

async fn add_scope(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.privacy_staff()?;
    let b = state.privacy.breach(&scope, id).await.map_err(|e| ctx.fail(e))?;
    let mut errors = FormErrors::default();
    let mut exposures = if f.get("replace") == "1" {
        Vec::new()
    } else {
        b.details.expose().scope.clone()
    };
    match exposure_from(&ctx, &f) {
        Ok(e) => exposures.push(e),
        Err((field, key)) => errors.add(field, ctx.t(key)),
    }
    if errors.is_empty() {
        match state.privacy.scope_breach(&scope, id, exposures).await {
            Ok(_) => return Ok(see_other(&format!("/privacy/breaches/{id}?done=breach_scoped#people"))),
            Err(e) => errors = FormErrors::from_error(e.into(), ctx.lang, &["scope"]).map_err(|e| ctx.fail(e))?,
        }
    }
    breach_page(&state, &ctx, &scope, id, None, errors).await
}

#[derive(Debug, Deserialize, Default)]
struct LocaleQuery {
    #[serde(default)]
    locale: Option<String>,
}

async fn notification(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Query(q): Query<LocaleQuery>) -> Result<Response, Failure> {
    let scope = ctx.privacy_staff()?;
    let finnish = q.locale.as_deref().map_or(ctx.lang == super::Lang::Fi, |l| l == "fi");
    match state.privacy.breach_notification_pdf(&scope, id, finnish).await {
        Ok(bytes) => {
            let mut r = (StatusCode::OK, bytes).into_response();
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"breach-{id}-notification.pdf\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            Ok(r)
        }
        Err(e) => {
            let errors = FormErrors::from_error(e.into(), ctx.lang, &["contact"]).map_err(|e| ctx.fail(e))?;
            breach_page(&state, &ctx, &scope, id, None, errors).await
        }
    }
}

async fn authority_notified(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.privacy_staff()?;
    let text = |name: &str| Some(f.get(name).trim().to_string()).filter(|s| !s.is_empty());
    match state
        .privacy
        .breach_authority_notified(&scope, id, None, text("reference"), text("delay_reason"))
        .await
    {
        Ok(_) => Ok(see_other(&format!("/privacy/breaches/{id}?done=authority_notified"))),
        Err(e) => {
            let errors = FormErrors::from_error(e.into(), ctx.lang, &["delay_reason", "contact"]).map_err(|e| ctx.fail(e))?;
            breach_page(&state, &ctx, &scope, id, None, errors).await
        }
    }
}

async fn notify_people(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.privacy_staff()?;
    match state.privacy.notify_breach_people(&scope, id).await {
        Ok(_) => Ok(see_other(&format!("/privacy/breaches/{id}?done=people_notified#people"))),
        Err(e) => {
            let placed: Vec<&str> = TEXTS.iter().map(|(n, _)| *n).collect();
            let errors = FormErrors::from_error(e.into(), ctx.lang, &placed).map_err(|e| ctx.fail(e))?;
            breach_page(&state, &ctx, &scope, id, None, errors).await
        }
    }
}

async fn close(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.privacy_staff()?;
    match state.privacy.close_breach(&scope, id).await {
        Ok(_) => Ok(see_other(&format!("/privacy/breaches/{id}?done=breach_closed"))),
        Err(e) => {
            let placed: Vec<&str> = TEXTS.iter().map(|(n, _)| *n).collect();
            let errors = FormErrors::from_error(e.into(), ctx.lang, &placed).map_err(|e| ctx.fail(e))?;
            breach_page(&state, &ctx, &scope, id, None, errors).await
        }
    }
}
