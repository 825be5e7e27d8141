//! The privacy console (admins and privacy officers): the request inbox by due date with time
//! left, a request's page (identity check, the person's footprint, export, erasure plan and run,
//! certificate), legal holds, retention policies with their preview, and the ledger's state.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use axum::routing::{MethodRouter, get, post};
use serde::Deserialize;
use suoja_core::{ErasureState, Timestamp, UserId};
use suoja_privacy::erasure::holds::{GROUNDS, HoldInput};
use suoja_privacy::export::{Format, Options};

use super::ctx::{Ctx, Fields};
use super::{Chrome, Failure, FormErrors, Page, check_text, format, render, render_status, see_other};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    super::router(pages())
}

/// The privacy console.
pub(super) fn pages() -> Vec<(Page, MethodRouter<AppState>)> {
    vec![
        (Page::get("/privacy"), get(inbox)),
        (Page::get("/privacy/requests/{id}"), get(request)),
        (Page::post("/privacy/requests/{id}/verify"), post(verify)),
        (Page::post("/privacy/requests/{id}/fulfil"), post(fulfil)),
        (Page::post("/privacy/requests/{id}/export"), post(export)),
        (Page::post("/privacy/requests/{id}/erase"), post(erase)),
        (Page::post("/privacy/requests/{id}/mentions/search"), post(search_mentions)),
        (Page::post("/privacy/requests/{id}/mentions/{mention}"), post(decide_mention)),
        (Page::get("/privacy/erasures/{id}/certificate"), get(certificate)),
        (Page::get("/privacy/holds"), get(holds)),
        (Page::post("/privacy/holds"), post(create_hold)),
        (Page::post("/privacy/holds/{id}/release"), post(release_hold)),
        (Page::get("/privacy/retention"), get(retention)),
        (Page::post("/privacy/retention/{policy}"), post(set_policy)),
        (Page::get("/privacy/ledger"), get(ledger)),
    ]
}

/// A request in the inbox.
pub struct InboxItem {
    pub id: i64,
    pub subject: String,
    pub subject_id: i64,
    pub kind: &'static str,
    pub status: &'static str,
    pub due: String,
    pub left: String,
    pub overdue: bool,
    pub open: bool,
}

#[derive(Template)]
#[template(path = "privacy/inbox.html")]
struct InboxPage {
    c: Chrome,
    requests: Vec<InboxItem>,
    all: bool,
}

#[derive(Debug, Deserialize, Default)]
struct InboxQuery {
    #[serde(default)]
    all: Option<String>,
}

async fn inbox(State(state): State<AppState>, ctx: Ctx, Query(q): Query<InboxQuery>) -> Result<Response, Failure> {
    let scope = ctx.privacy_staff()?;
    let all = q.all.is_some();
    let (list, _) = state.privacy.list(&scope, !all, 200, 1).await.map_err(|e| ctx.fail(e))?;
    let ids: Vec<UserId> = list.iter().map(|r| UserId(r.subject_id)).collect();
    let names = super::agent::names(&state, &ctx, &scope, &ids).await?;
    let now = state.helpdesk.now();
    let requests = list
        .iter()
        .map(|r| {
            let (left, overdue) = format::time_left(r.due_at, now, ctx.lang);
            InboxItem {
                id: r.id,
                subject: names.get(&r.subject_id).cloned().unwrap_or_else(|| ctx.t("privacy.erased_person").into()),
                subject_id: r.subject_id,
                kind: ctx.t(&format!("privacy.kind.{}", r.kind)),
                status: ctx.t(&format!("privacy.status.{}", r.status)),
                due: format::date(r.due_at, &ctx.tz, ctx.lang),
                left,
                overdue: overdue && r.closed_at.is_none(),
                open: r.closed_at.is_none(),
            }
        })
        .collect();
    let page = InboxPage {
        c: Chrome::new(&ctx, ctx.t("console.inbox"), "privacy"),
        requests,
        all,
    };
    Ok(render(&ctx, &page))
}

#[derive(Template)]
#[template(path = "privacy/request.html")]
struct RequestPage {
    c: Chrome,
    r: InboxItem,
    kind: String,
    received: String,
    verified: String,
    verification: String,
    /// SPF, DKIM and DMARC of a request written to the privacy address.
    sender_check: String,
    sender_doubt: bool,
    footprint: Vec<(String, String)>,
    exports: Vec<super::portal::ExportItem>,
    plan: Vec<(String, u64)>,
    held: usize,
    erasures: Vec<(i64, String, bool)>,
    erased: bool,
    mentions: Vec<MentionItem>,
    reviews_mentions: bool,
}

/// A mention candidate as the request page shows it.
struct MentionItem {
    id: i64,
    place: String,
    strength: String,
    state: String,
    pending: bool,
    passages: Vec<String>,
}

async fn request(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> Result<Response, Failure> {
    let scope = ctx.privacy_staff()?;
    let r = state.privacy.get(&scope, id).await.map_err(|e| ctx.fail(e))?;
    let subject = UserId(r.subject_id);
    let names = super::agent::names(&state, &ctx, &scope, &[subject]).await?;
    let now = state.helpdesk.now();
    let (left, overdue) = format::time_left(r.due_at, now, ctx.lang);
    let erased = state.privacy.is_erased(scope.tenant, subject).await.map_err(|e| ctx.fail(e))?;
    let mut footprint = Vec::new();
    let mut plan = Vec::new();
    let mut held = 0;
    if !erased {
        // Looking at the person's footprint is itself logged, with this request as the reason.
        if let Ok(fp) = state.privacy.inspect(&scope, subject, &format!("privacy request {id}")).await
            && let Some(obj) = fp.get("tables").and_then(|t| t.as_object())
        {
            for (table, v) in obj {
                let n = v.get("rows").or_else(|| v.get("count")).cloned().unwrap_or(v.clone());
                footprint.push((ctx.lang.data(table), n.to_string()));
            }
        }
        if r.kind == suoja_core::RequestKind::Erasure
            && let Ok(p) = state.privacy.erasure_plan(&scope, subject).await
        {
            plan = p
                .counts()
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|(what, n)| (ctx.lang.data(&what), n))
                .collect();
            held = p.held_tickets().len();
        }
    }
    let mut exports = Vec::new();
    if r.kind.is_export() {
        for p in state.privacy.packages(&scope, id).await.map_err(|e| ctx.fail(e))? {
            exports.push(super::portal::ExportItem::new(&ctx, &p));
        }
    }
    let erasures = state
        .privacy
        .erasures_of(&scope, subject)
        .await
        .map_err(|e| ctx.fail(e))?
        .into_iter()
        .filter(|e| e.request_id == Some(id))
        .map(|e| (e.id, e.state.as_str().to_string(), e.state == ErasureState::Completed))
        .collect();
    let reviews_mentions = r.kind.is_export() || r.kind == suoja_core::RequestKind::Erasure;
    let mut mentions = Vec::new();
    if reviews_mentions {
        for m in state.privacy.mentions(&scope, id).await.map_err(|e| ctx.fail(e))? {
            let ticket = m.ticket_id.map(|t| t.to_string()).unwrap_or_default();
            let place = match (m.source.as_str(), m.public) {
                ("comment", Some(true)) => ctx.t("console.mention_reply").replace("{n}", &ticket),
                ("comment", _) => ctx.t("console.mention_note").replace("{n}", &ticket),
                ("ticket_subject", _) => ctx.t("console.mention_subject").replace("{n}", &ticket),
                ("ticket_fields", _) => ctx.t("console.mention_fields").replace("{n}", &ticket),
                ("organization", _) => ctx.t("console.mention_organization").to_string(),
                ("hc_article_comments" | "hc_posts" | "hc_post_comments" | "hc_articles", _) => {
                    ctx.t(&format!("console.mention_{}", m.source)).replace("{n}", &m.source_id.to_string())
                }
                (table, _) => ctx.t("console.mention_text").replace("{table}", table).replace("{n}", &m.source_id.to_string()),
            };
            mentions.push(MentionItem {
                id: m.id,
                place,
                strength: ctx.t(&format!("console.mention_strength_{}", m.strength)).to_string(),
                state: ctx.t(&format!("console.mention_state_{}", m.state)).to_string(),
                pending: m.decision() == suoja_privacy::mentions::Decision::Pending,
                passages: m.passages,
            });
        }
    }
    let check = r.details.expose().get("sender_check");
    let word = |k: &str| check.and_then(|c| c.get(k)).and_then(|v| v.as_str()).unwrap_or("none").to_string();
    let sender_check = check
        .map(|_| format!("SPF {} · DKIM {} · DMARC {}", word("spf"), word("dkim"), word("dmarc")))
        .unwrap_or_default();
    let sender_doubt = check.is_some() && word("dmarc") != "pass";
    let page = RequestPage {
        c: Chrome::new(&ctx, format!("{} #{id}", ctx.t("console.request")), "privacy"),
        sender_check,
        sender_doubt,
        kind: r.kind.to_string(),
        received: format::datetime(r.received_at, &ctx.tz, ctx.lang),
        verified: r.verified_at.map(|t| format::datetime(t, &ctx.tz, ctx.lang)).unwrap_or_default(),
        verification: r.verification.clone().unwrap_or_default(),
        r: InboxItem {
            id,
            subject: names.get(&subject.0).cloned().unwrap_or_else(|| ctx.t("privacy.erased_person").into()),
            subject_id: subject.0,
            kind: ctx.t(&format!("privacy.kind.{}", r.kind)),
            status: ctx.t(&format!("privacy.status.{}", r.status)),
            due: format::date(r.due_at, &ctx.tz, ctx.lang),
            left,
            overdue: overdue && r.closed_at.is_none(),
            open: r.closed_at.is_none(),
        },
        footprint,
        exports,
        plan,
        held,
        erasures,
        erased,
        mentions,
        reviews_mentions,
    };
    Ok(render(&ctx, &page))
}

async fn verify(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.privacy_staff()?;
    let how = f.get("how").trim();
    let how = if how.is_empty() { "checked by staff" } else { how };
    state.privacy.verify_by_staff(&scope, id, how).await.map_err(|e| ctx.fail(e))?;
    Ok(see_other(&format!("/privacy/requests/{id}?done=verified")))
}

async fn fulfil(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.privacy_staff()?;
    state.privacy.fulfil(&scope, id).await.map_err(|e| ctx.fail(e))?;
    Ok(see_other(&format!("/privacy/requests/{id}?done=fulfilled")))
}

async fn export(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.privacy_staff()?;
    let started = state
        .privacy
        .start_package(&scope, id, Format::Zip, &Options::default())
        .await
        .map_err(|e| ctx.fail(e))?;
    let p = started.ready_within(super::portal::EXPORT_WAIT).await.map_err(|e| ctx.fail(e))?;
    let done = if p.is_ready() { "export_ready" } else { "export_preparing" };
    Ok(see_other(&format!("/privacy/requests/{id}?done={done}")))
}

async fn search_mentions(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.privacy_staff()?;
    let weak = f.get("weak") == "1";
    state.privacy.search_mentions(&scope, id, weak).await.map_err(|e| ctx.fail(e))?;
    Ok(see_other(&format!("/privacy/requests/{id}?done=mentions_searched#mentions")))
}

async fn decide_mention(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, mention)): Path<(i64, i64)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.privacy_staff()?;
    let accept = match f.get("decision") {
        "accept" => true,
        "reject" => false,
        _ => return Err(ctx.fail(crate::ApiError::BadRequest("decision must be accept or reject".into()))),
    };
    state.privacy.decide_mention(&scope, id, mention, accept).await.map_err(|e| ctx.fail(e))?;
    Ok(see_other(&format!("/privacy/requests/{id}?done=mention_decided#mentions")))
}

async fn erase(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.privacy_staff()?;
    state.privacy.erase_for_request(&scope, id).await.map_err(|e| ctx.fail(e))?;
    Ok(see_other(&format!("/privacy/requests/{id}?done=erased")))
}

async fn certificate(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> Result<Response, Failure> {
    let scope = ctx.privacy_staff()?;
    let pdf = state.privacy.erasure_certificate_pdf(&scope, id).await.map_err(|e| ctx.fail(e))?;
    let mut r = (StatusCode::OK, pdf).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"erasure-certificate-{id}.pdf\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

#[derive(Template)]
#[template(path = "privacy/holds.html")]
struct HoldsPage {
    c: Chrome,
    holds: Vec<(i64, String, String, String, String, bool)>,
    grounds: Vec<(&'static str, &'static str)>,
    form: Vec<(String, String)>,
    errors: FormErrors,
}

async fn holds_page(state: &AppState, ctx: &Ctx, form: Vec<(String, String)>, errors: FormErrors, status: StatusCode) -> Result<Response, Failure> {
    let scope = ctx.privacy_staff()?;
    let list = state.privacy.holds(&scope, 200, 0).await.map_err(|e| ctx.fail(e))?;
    let now = state.helpdesk.now();
    let holds = list
        .iter()
        .map(|h| {
            let target = match h.scope.as_str() {
                "person" => format!("{} {}", ctx.t("holds.person"), h.subject_id.unwrap_or(0)),
                "ticket" => format!("{} #{}", ctx.t("holds.ticket"), h.ticket_id.unwrap_or(0)),
                _ => format!("{} {}", ctx.t("holds.tag"), h.tag.clone().unwrap_or_default()),
            };
            let active = h.released_at.is_none() && h.expires_at > now;
            (
                h.id,
                target,
                h.ground.clone(),
                h.reference.clone().unwrap_or_default(),
                format::date(h.expires_at, &ctx.tz, ctx.lang),
                active,
            )
        })
        .collect();
    let page = HoldsPage {
        c: Chrome::new(ctx, ctx.t("holds.title"), "privacy"),
        holds,
        grounds: GROUNDS.to_vec(),
        form,
        errors,
    };
    Ok(render_status(ctx, status, &page))
}

impl HoldsPage {
    fn value(&self, name: &str) -> &str {
        self.form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
    }
}

async fn holds(State(state): State<AppState>, ctx: Ctx) -> Result<Response, Failure> {
    holds_page(&state, &ctx, Vec::new(), FormErrors::default(), StatusCode::OK).await
}

async fn create_hold(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.privacy_staff()?;
    let mut errors = FormErrors::default();
    let kind = f.get("scope");
    let target = f.get("target").trim();
    check_text(&mut errors, ctx.lang, "target", target, true, 100);
    check_text(&mut errors, ctx.lang, "reference", f.get("reference"), false, 200);
    let days: i64 = match f.get("days").trim().parse() {
        Ok(d) if (1..=3650).contains(&d) => d,
        _ => {
            errors.add("days", ctx.t("holds.bad_days"));
            0
        }
    };
    let id = target.trim_start_matches('#').parse::<i64>().ok();
    if errors.is_empty() && kind != "tag" && id.is_none() {
        errors.add("target", ctx.t("holds.bad_target"));
    }
    if errors.is_empty() {
        let input = HoldInput {
            scope: kind.to_string(),
            subject_id: if kind == "person" { id } else { None },
            ticket_id: if kind == "ticket" { id } else { None },
            tag: (kind == "tag").then(|| target.to_string()),
            ground: f.get("ground").to_string(),
            reference: Some(f.get("reference").trim().to_string()).filter(|r| !r.is_empty()),
            approver_id: None,
            expires_at: Timestamp(state.helpdesk.now().0 + days * 86_400_000),
        };
        match state.privacy.create_hold(&scope, input).await {
            Ok(_) => return Ok(see_other("/privacy/holds?done=hold_placed")),
            Err(e) => errors = FormErrors::from_error(e.into(), ctx.lang, &["days", "subject_id", "tag", "target", "ticket_id"]).map_err(|e| ctx.fail(e))?,
        }
    }
    holds_page(&state, &ctx, f.0, errors, StatusCode::UNPROCESSABLE_ENTITY).await
}

async fn release_hold(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.privacy_staff()?;
    state.privacy.release_hold(&scope, id).await.map_err(|e| ctx.fail(e))?;
    Ok(see_other("/privacy/holds?done=hold_released"))
}

/// A retention policy as the console shows it.
pub struct PolicyItem {
    pub name: &'static str,
    pub label: &'static str,
    pub value: i64,
    pub unit: &'static str,
    pub enabled: bool,
    pub min: i64,
    pub max: i64,
    pub preview: Option<(usize, usize, bool)>,
    pub error: String,
}

#[derive(Template)]
#[template(path = "privacy/retention.html")]
struct RetentionPage {
    c: Chrome,
    policies: Vec<PolicyItem>,
}

#[derive(Debug, Deserialize, Default)]
struct PreviewQuery {
    #[serde(default)]
    preview: Option<String>,
}

async fn retention_page(state: &AppState, ctx: &Ctx, preview: Option<&str>, error: Option<(&str, String)>) -> Result<Response, Failure> {
    let scope = ctx.privacy_staff()?;
    let list = state.privacy.retention_policies(&scope).await.map_err(|e| ctx.fail(e))?;
    let mut policies = Vec::new();
    for p in list {
        let pv = if preview == Some(p.policy) {
            let pr = state.privacy.retention_preview(&scope, p.policy).await.map_err(|e| ctx.fail(e))?;
            Some((pr.count, pr.held, pr.more))
        } else {
            None
        };
        policies.push(PolicyItem {
            name: p.policy,
            label: ctx.t(&format!("retention.{}", p.policy)),
            value: p.value,
            unit: ctx.t(&format!("unit.{:?}", p.unit).to_lowercase()),
            enabled: p.enabled,
            min: p.min,
            max: p.max,
            preview: pv,
            error: error.as_ref().filter(|(n, _)| *n == p.policy).map(|(_, m)| m.clone()).unwrap_or_default(),
        });
    }
    let page = RetentionPage {
        c: Chrome::new(ctx, ctx.t("retention.title"), "privacy"),
        policies,
    };
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok(render_status(ctx, status, &page))
}

async fn retention(State(state): State<AppState>, ctx: Ctx, Query(q): Query<PreviewQuery>) -> Result<Response, Failure> {
    retention_page(&state, &ctx, q.preview.as_deref(), None).await
}

async fn set_policy(State(state): State<AppState>, ctx: Ctx, Path(policy): Path<String>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.privacy_staff()?;
    let Ok(value) = f.get("value").trim().parse::<i64>() else {
        return retention_page(&state, &ctx, None, Some((policy.as_str(), ctx.t("retention.bad_value").to_string()))).await;
    };
    let enabled = f.get("enabled") == "1";
    match state.privacy.set_retention_policy(&scope, &policy, Some(value), Some(enabled)).await {
        Ok(_) => Ok(see_other("/privacy/retention?done=saved")),
        Err(suoja_privacy::PrivacyError::Invalid { message, .. }) => {
            retention_page(&state, &ctx, None, Some((policy.as_str(), ctx.lang.message(&message)))).await
        }
        Err(e) => Err(ctx.fail(e)),
    }
}

#[derive(Template)]
#[template(path = "privacy/ledger.html")]
struct LedgerPage {
    c: Chrome,
    entries: i64,
    head_seq: i64,
    head_hash: String,
    intact: bool,
}

async fn ledger(State(state): State<AppState>, ctx: Ctx) -> Result<Response, Failure> {
    let scope = ctx.privacy_staff()?;
    let report = state.privacy.verify_ledger(&scope).await.map_err(|e| ctx.fail(e))?;
    let page = LedgerPage {
        c: Chrome::new(&ctx, ctx.t("ledger.title"), "privacy"),
        entries: report.entries,
        head_seq: report.head_seq,
        head_hash: report.head_hash.clone(),
        intact: report.broken.is_none(),
    };
    Ok(render(&ctx, &page))
}
