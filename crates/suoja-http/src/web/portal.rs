//! The end-user portal: my requests (submit, read, reply — public replies only) and the privacy
//! centre (download my data, correct my data, delete my data, the status and due date of each
//! privacy request).

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use axum::routing::{MethodRouter, get, post};
use serde::Deserialize;
use serde_json::json;
use suoja_core::{Email, Personal, Scope, TicketId};
use suoja_helpdesk::model::{CommentInput, RequesterRef, TicketInput};
use suoja_helpdesk::tickets::TicketList;
use suoja_helpdesk::users::Paging;
use suoja_privacy::PrivacyError;
use suoja_privacy::export::{Format, Options};
use suoja_privacy::requests::{Kind, NewRequest, Subject};

use super::agent::{
    CommentNav, CommentView, MAX_COMMENT, PageQuery, TicketItem, comment_window, conversation, items, page_number, post_comment, read_composer, upload_files,
};
use super::ctx::{Ctx, Fields};
use super::{Chrome, Failure, FormErrors, Page, check_text, form_id, format, render, render_status, see_other};
use crate::AppState;
use crate::extract::Client;
use crate::middleware::Sensitive;

pub fn routes() -> Router<AppState> {
    super::router(pages())
}

/// The end users' portal.
pub(super) fn pages() -> Vec<(Page, MethodRouter<AppState>)> {
    vec![
        (Page::get("/portal"), get(home)),
        (Page::get("/portal/requests/new"), get(new_request)),
        (Page::post("/portal/requests/new"), post(create_request)),
        (Page::get("/portal/requests/{id}"), get(request)),
        (Page::post("/portal/requests/{id}/comments"), post(reply)),
        (Page::post("/portal/requests/{id}/rating"), post(rate)),
        (Page::get("/portal/privacy"), get(privacy)),
        (Page::post("/portal/privacy/export"), post(export)),
        (Page::get("/exports/{id}"), get(download)),
        (Page::get("/portal/privacy/correct"), get(correct)),
        (Page::post("/portal/privacy/correct"), post(send_correction)),
        (Page::post("/portal/privacy/erase"), post(erase)),
        (Page::get("/privacy/confirm"), get(show_confirm)),
        (Page::post("/privacy/confirm"), post(confirm)),
    ]
}

/// Longest subject, in characters.
const MAX_SUBJECT: usize = 150;

#[derive(Template)]
#[template(path = "portal/home.html")]
struct HomePage {
    c: Chrome,
    tickets: Vec<TicketItem>,
}

async fn home(State(state): State<AppState>, ctx: Ctx) -> Result<Response, Failure> {
    let scope = ctx.person()?;
    let mut list = state
        .helpdesk
        .list_tickets(&scope, TicketList::Requested(scope.actor), Paging::Offset { page: 1, per_page: 100 })
        .await
        .map_err(|e| ctx.fail(e))?
        .tickets;
    let ccd = state
        .helpdesk
        .list_tickets(&scope, TicketList::Ccd(scope.actor), Paging::Offset { page: 1, per_page: 100 })
        .await
        .map_err(|e| ctx.fail(e))?
        .tickets;
    list.extend(ccd);
    let mut seen = std::collections::HashSet::new();
    list.retain(|t| seen.insert(t.id));
    list.sort_by_key(|t| std::cmp::Reverse(t.updated_at));
    let page = HomePage {
        c: Chrome::new(&ctx, ctx.t("portal.title"), "portal"),
        tickets: items(&state, &ctx, &scope, &list).await?,
    };
    Ok(render(&ctx, &page))
}

#[derive(Template)]
#[template(path = "portal/new.html")]
struct NewPage {
    c: Chrome,
    subject: String,
    body: String,
    fields: Vec<crate::web::custom_fields::FieldControl>,
    portal_form: bool,
    form_id: String,
    errors: FormErrors,
}

/// The ticket fields a requester fills in when opening a request (the portal's).
async fn portal_fields(state: &AppState, ctx: &Ctx, scope: &Scope) -> Result<Vec<suoja_helpdesk::fields::Field>, Failure> {
    state.helpdesk.portal_fields(scope, None).await.map_err(|e| ctx.fail(e))
}

async fn new_request(State(state): State<AppState>, ctx: Ctx) -> Result<Response, Failure> {
    let scope = ctx.person()?;
    let defs = portal_fields(&state, &ctx, &scope).await?;
    let page = NewPage {
        c: Chrome::new(&ctx, ctx.t("portal.new_title"), "portal"),
        subject: String::new(),
        body: String::new(),
        fields: crate::web::custom_fields::inputs(&defs, &[], None, true),
        portal_form: true,
        form_id: form_id(),
        errors: FormErrors::default(),
    };
    Ok(render(&ctx, &page))
}

async fn create_request(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, req: axum::extract::Request) -> Result<Response, Failure> {
    let form = read_composer(&ctx, &headers, req).await?;
    let subject = form.fields.get("subject").to_string();
    let body = form.fields.get("body").to_string();
    if ctx.person().is_err() && ctx.session.is_none() {
        return Ok(super::signin::expired_with_draft(&ctx, &body));
    }
    form.fields.check_csrf(&ctx)?;
    let scope = ctx.person()?;
    let mut errors = FormErrors::default();
    check_text(&mut errors, ctx.lang, "subject", &subject, true, MAX_SUBJECT);
    check_text(&mut errors, ctx.lang, "body", &body, true, MAX_COMMENT);
    let fid = form.fields.get("form_id").to_string();
    let defs = portal_fields(&state, &ctx, &scope).await?;
    let values = crate::web::custom_fields::read_values(&defs, &form.fields.0);
    let again = |errors: FormErrors| NewPage {
        c: Chrome::new(&ctx, ctx.t("portal.new_title"), "portal"),
        subject: subject.clone(),
        body: body.clone(),
        fields: crate::web::custom_fields::inputs(&defs, &values, None, true),
        portal_form: true,
        form_id: fid.clone(),
        errors,
    };
    if !errors.is_empty() {
        return Ok(render_status(&ctx, StatusCode::UNPROCESSABLE_ENTITY, &again(errors)));
    }
    let work = || async {
        let id = open_ticket(&state, &scope, &subject, &body, &values, &form.files).await?;
        Ok(format!("/portal/requests/{id}?posted={fid}&done=request_sent"))
    };
    match super::once(&state, &ctx, &scope, &fid, "/portal", &["subject", "body"], work).await? {
        Ok(to) => Ok(see_other(&to)),
        Err(errors) => Ok(render_status(&ctx, StatusCode::UNPROCESSABLE_ENTITY, &again(errors))),
    }
}

async fn open_ticket(
    state: &AppState,
    scope: &Scope,
    subject: &str,
    body: &str,
    fields: &[(i64, serde_json::Value)],
    files: &[(String, String, Vec<u8>)],
) -> Result<i64, crate::ApiError> {
    let token = upload_files(state, scope, files).await?;
    let input = TicketInput {
        subject: Some(Personal::new(subject.to_string())),
        comment: Some(CommentInput {
            body: Some(Personal::new(body.to_string())),
            html_body: None,
            public: true,
            author_id: None,
            uploads: token.into_iter().collect(),
            files: Vec::new(),
            via: suoja_helpdesk::model::Channel::Web,
        }),
        requester: Some(RequesterRef::Id(scope.actor)),
        custom_fields: (!fields.is_empty()).then(|| Personal::new(fields.to_vec())),
        ..Default::default()
    };
    Ok(state.helpdesk.create_ticket(scope, input).await?.ticket.id.0)
}

#[derive(Template)]
#[template(path = "portal/request.html")]
struct RequestPage {
    c: Chrome,
    t: TicketItem,
    /// The fields the portal shows, with their values: (title, value).
    shown: Vec<(String, String)>,
    /// The requester may rate it (it is theirs and solved).
    can_rate: bool,
    /// Their rating so far: `good`, `bad` or empty.
    rating: &'static str,
    /// Their rating's comment.
    rating_comment: String,
    comments: Vec<CommentView>,
    nav: CommentNav,
    form_id: String,
    draft: String,
    errors: FormErrors,
}

async fn request_page(state: &AppState, ctx: &Ctx, id: i64, page: i64, draft: String, errors: FormErrors, status: StatusCode) -> Result<Response, Failure> {
    let scope = ctx.person()?;
    let t = state.helpdesk.get_ticket(&scope, TicketId(id)).await.map_err(|e| ctx.fail(e))?;
    // The service gives end users public comments only; internal notes never reach this page.
    let (comments, nav) = comment_window(state, ctx, &scope, t.id, page).await?;
    let defs = state.helpdesk.portal_fields(&scope, None).await.map_err(|e| ctx.fail(e))?;
    let shown = crate::web::custom_fields::inputs(&defs, t.custom_fields.expose(), None, false)
        .into_iter()
        .filter(|f| !f.value.is_empty() || f.checked)
        .map(|f| {
            let value = if f.kind == "checkbox" {
                ctx.t("form.yes").to_string()
            } else {
                let names: Vec<String> = f.options.iter().filter(|(_, _, sel)| *sel).map(|(_, n, _)| n.clone()).collect();
                if names.is_empty() { f.value } else { names.join(", ") }
            };
            let title = defs
                .iter()
                .find(|d| d.def.id == f.id)
                .and_then(|d| d.def.title_in_portal.clone())
                .unwrap_or(f.title);
            (title, value)
        })
        .collect();
    let mine = t.requester_id == scope.actor;
    let (rating, rating_comment) = if mine && t.status.is_done() {
        match state.helpdesk.my_rating(&scope, t.id).await.map_err(|e| ctx.fail(e))? {
            Some((score, comment)) => (score.as_str(), comment.map(|c| c.expose().clone()).unwrap_or_default()),
            None => ("", String::new()),
        }
    } else {
        ("", String::new())
    };
    let page = RequestPage {
        can_rate: mine && !scope.is_staff() && t.status == suoja_core::Status::Solved,
        rating,
        rating_comment,
        shown,
        c: Chrome::new(ctx, format!("#{}", t.id.0), "portal"),
        t: items(state, ctx, &scope, std::slice::from_ref(&t)).await?.remove(0),
        comments: conversation(state, ctx, &scope, &comments).await?,
        nav,
        form_id: form_id(),
        draft,
        errors,
    };
    Ok(render_status(ctx, status, &page))
}

async fn request(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Query(q): Query<PageQuery>) -> Result<Response, Failure> {
    request_page(&state, &ctx, id, page_number(&q), String::new(), FormErrors::default(), StatusCode::OK).await
}

async fn reply(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, headers: HeaderMap, req: axum::extract::Request) -> Result<Response, Failure> {
    let form = read_composer(&ctx, &headers, req).await?;
    let body = form.fields.get("body").to_string();
    if ctx.person().is_err() && ctx.session.is_none() {
        return Ok(super::signin::expired_with_draft(&ctx, &body));
    }
    form.fields.check_csrf(&ctx)?;
    let scope = ctx.person()?;
    let mut errors = FormErrors::default();
    check_text(&mut errors, ctx.lang, "body", &body, form.files.is_empty(), MAX_COMMENT);
    if !errors.is_empty() {
        return request_page(&state, &ctx, id, 1, body, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let fid = form.fields.get("form_id").to_string();
    let here = format!("/portal/requests/{id}");
    let work = || async {
        post_comment(&state, &scope, TicketId(id), &body, true, None, &form.files).await?;
        Ok(format!("{here}?posted={fid}&done=comment_added"))
    };
    match super::once(&state, &ctx, &scope, &fid, &here, &["body"], work).await? {
        Ok(to) => Ok(see_other(&to)),
        Err(errors) => request_page(&state, &ctx, id, 1, body, errors, StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}

/// Most characters of a rating's comment.
const MAX_RATING_COMMENT: usize = 10_000;

/// The requester rates their solved request: good or bad, with a comment if they like.
async fn rate(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.person()?;
    let comment = f.get("comment").trim().to_string();
    let mut errors = FormErrors::default();
    check_text(&mut errors, ctx.lang, "comment", &comment, false, MAX_RATING_COMMENT);
    let score = suoja_helpdesk::satisfaction::Score::parse(f.get("score"));
    if score.is_none() {
        errors.add("score", ctx.t("form.choose").to_string());
    }
    let Some(score) = score.filter(|_| errors.is_empty()) else {
        return request_page(&state, &ctx, id, 1, String::new(), errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let comment = (!comment.is_empty()).then(|| Personal::new(comment));
    state
        .helpdesk
        .rate_ticket(&scope, TicketId(id), score, comment)
        .await
        .map_err(|e| ctx.fail(e))?;
    Ok(see_other(&format!("/portal/requests/{id}?done=rated")))
}

/// A privacy request as the person sees it.
pub struct PrivacyItem {
    pub id: i64,
    pub kind: &'static str,
    pub status: &'static str,
    pub received: String,
    pub due: String,
    pub left: String,
    pub overdue: bool,
    pub open: bool,
    pub exports: Vec<ExportItem>,
}

/// An export package as a page lists it.
pub struct ExportItem {
    pub id: String,
    pub format: String,
    pub expires: String,
    /// Whether it can be downloaded (else `status` says what it is).
    pub ready: bool,
    pub status: &'static str,
}

impl ExportItem {
    pub fn new(ctx: &Ctx, p: &suoja_privacy::export::package::Package) -> Self {
        Self {
            id: p.id.clone(),
            format: p.format.as_str().to_uppercase(),
            expires: format::datetime(p.expires_at, &ctx.tz, ctx.lang),
            ready: p.is_ready(),
            status: ctx.t(&format!("export_status.{}", p.status)),
        }
    }
}

/// How long asking for an export waits for it before the page says it is being prepared.
pub const EXPORT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Template)]
#[template(path = "portal/privacy.html")]
struct PrivacyPage {
    c: Chrome,
    requests: Vec<PrivacyItem>,
}

async fn privacy(State(state): State<AppState>, ctx: Ctx) -> Result<Response, Failure> {
    let scope = ctx.person()?;
    let (list, _) = state.privacy.list(&scope, false, 100, 1).await.map_err(|e| ctx.fail(e))?;
    let now = state.helpdesk.now();
    let mut requests = Vec::new();
    for r in list.into_iter().filter(|r| r.subject_id == scope.actor.0) {
        let mut exports = Vec::new();
        if r.kind.is_export() {
            for p in state.privacy.packages(&scope, r.id).await.map_err(|e| ctx.fail(e))? {
                exports.push(ExportItem::new(&ctx, &p));
            }
        }
        let (left, overdue) = format::time_left(r.due_at, now, ctx.lang);
        requests.push(PrivacyItem {
            id: r.id,
            kind: ctx.t(&format!("privacy.kind.{}", r.kind)),
            status: ctx.t(&format!("privacy.status.{}", r.status)),
            received: format::date(r.received_at, &ctx.tz, ctx.lang),
            due: format::date(r.due_at, &ctx.tz, ctx.lang),
            left,
            overdue,
            open: r.closed_at.is_none(),
            exports,
        });
    }
    let page = PrivacyPage {
        c: Chrome::new(&ctx, ctx.t("centre.title"), "centre"),
        requests,
    };
    Ok(render(&ctx, &page))
}

async fn open_own(state: &AppState, ctx: &Ctx, scope: &Scope, kind: Kind, changes: Option<serde_json::Value>, message: &str) -> Result<i64, crate::ApiError> {
    let input = NewRequest {
        subject: Subject::Myself,
        kind,
        channel: None,
        received_at: None,
        changes: changes.map(Personal::new),
        message: (!message.trim().is_empty()).then(|| Personal::new(message.to_string())),
        sender_check: None,
    };
    let req = state.privacy.open(ctx.tenant, Some(scope), input, &state.public_url).await?;
    req.map(|r| r.id).ok_or(crate::ApiError::NotFound)
}

/// "Download my data": an access request (verified by the session) and its package, built now.
async fn export(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.person()?;
    let id = open_own(&state, &ctx, &scope, Kind::Access, None, "").await.map_err(|e| ctx.fail(e))?;
    let started = state
        .privacy
        .start_package(&scope, id, Format::Zip, &Options::default())
        .await
        .map_err(|e| ctx.fail(e))?;
    let p = started.ready_within(EXPORT_WAIT).await.map_err(|e| ctx.fail(e))?;
    Ok(see_other(if p.is_ready() {
        "/portal/privacy?done=export_ready"
    } else {
        "/portal/privacy?done=export_preparing"
    }))
}

/// An export package, for the person it is about or privacy staff, until it expires.
async fn download(State(state): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> Result<Response, Failure> {
    let scope = ctx.person()?;
    let (p, reader) = state.privacy.download(&scope, &id).await.map_err(|e| ctx.fail(e))?;
    let (ty, ext) = match p.format {
        Format::Json => ("application/json", "json"),
        Format::Pdf => ("application/pdf", "pdf"),
        Format::Zip => ("application/zip", "zip"),
    };
    let mut r = (StatusCode::OK, crate::package_body::body(reader, u64::try_from(p.size).unwrap_or(0))).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ty));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"suoja-export-{}.{ext}\"", p.id)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

#[derive(Template)]
#[template(path = "portal/correct.html")]
struct CorrectPage {
    c: Chrome,
    name: String,
    email: String,
    phone: String,
    message: String,
    errors: FormErrors,
}

async fn correct(State(state): State<AppState>, ctx: Ctx) -> Result<Response, Failure> {
    let scope = ctx.person()?;
    let me = state.helpdesk.get_user(&scope, scope.actor).await.map_err(|e| ctx.fail(e))?;
    let page = CorrectPage {
        c: Chrome::new(&ctx, ctx.t("correct.title"), "centre"),
        name: me.name.expose().clone(),
        email: me.email.as_ref().map(|e| e.expose().clone()).unwrap_or_default(),
        phone: me.phone.as_ref().map(|e| e.expose().clone()).unwrap_or_default(),
        message: String::new(),
        errors: FormErrors::default(),
    };
    Ok(render(&ctx, &page))
}

async fn send_correction(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.person()?;
    let me = state.helpdesk.get_user(&scope, scope.actor).await.map_err(|e| ctx.fail(e))?;
    let (name, email, phone, message) = (f.get("name").trim(), f.get("email").trim(), f.get("phone").trim(), f.get("message"));
    let mut errors = FormErrors::default();
    check_text(&mut errors, ctx.lang, "name", name, true, 255);
    check_text(&mut errors, ctx.lang, "phone", phone, false, 50);
    check_text(&mut errors, ctx.lang, "message", message, false, 4000);
    if !email.is_empty() && Email::parse(email).is_err() {
        errors.add("email", ctx.t("form.bad_email"));
    }
    let mut changes = serde_json::Map::new();
    if name != me.name.expose() {
        changes.insert("name".into(), json!(name));
    }
    if email != me.email.as_ref().map(|e| e.expose().as_str()).unwrap_or("") && !email.is_empty() {
        changes.insert("email".into(), json!(email));
    }
    if phone != me.phone.as_ref().map(|e| e.expose().as_str()).unwrap_or("") {
        changes.insert("phone".into(), if phone.is_empty() { serde_json::Value::Null } else { json!(phone) });
    }
    if errors.is_empty() && changes.is_empty() {
        errors.add("form", ctx.t("correct.nothing"));
    }
    if errors.is_empty() {
        match open_own(&state, &ctx, &scope, Kind::Rectification, Some(serde_json::Value::Object(changes)), message).await {
            Ok(_) => return Ok(see_other("/portal/privacy?done=correction_sent")),
            Err(e) => errors = FormErrors::from_error(e, ctx.lang, &["name", "email", "phone", "message"]).map_err(|e| ctx.fail(e))?,
        }
    }
    let page = CorrectPage {
        c: Chrome::new(&ctx, ctx.t("correct.title"), "centre"),
        name: name.to_string(),
        email: email.to_string(),
        phone: phone.to_string(),
        message: message.to_string(),
        errors,
    };
    Ok(render_status(&ctx, StatusCode::UNPROCESSABLE_ENTITY, &page))
}

async fn erase(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.person()?;
    if f.get("confirm") != "1" {
        return Err(ctx.fail(crate::ApiError::Field(
            "confirm".into(),
            ctx.t("centre.erase_confirm_needed").into(),
            "InvalidValue",
        )));
    }
    open_own(&state, &ctx, &scope, Kind::Erasure, None, f.get("message"))
        .await
        .map_err(|e| ctx.fail(e))?;
    Ok(see_other("/portal/privacy?done=erasure_requested"))
}

#[derive(Deserialize, Default)]
struct ConfirmQuery {
    #[serde(default)]
    token: String,
}

#[derive(Template)]
#[template(path = "portal/confirm.html")]
struct ConfirmPage {
    c: Chrome,
    token: String,
    error: String,
    /// (what was asked, when it will be answered) once confirmed.
    done: Option<(&'static str, String)>,
}

/// A confirmation link's token as it may appear in a page: its own alphabet only, bounded.
fn link_token(raw: &str) -> String {
    raw.trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(120)
        .collect()
}

/// Opening a privacy request's confirmation link shows a button (no session needed): mail
/// scanners that fetch links do not confirm anything.
async fn show_confirm(ctx: Ctx, Query(q): Query<ConfirmQuery>) -> Response {
    let page = ConfirmPage {
        c: Chrome::new(&ctx, ctx.t("confirm.title"), "centre"),
        token: link_token(&q.token),
        error: String::new(),
        done: None,
    };
    render(&ctx, &page)
}

/// Confirms the request. Every failure gets the same page; each client address gets a few
/// tries.
async fn confirm(State(state): State<AppState>, ctx: Ctx, client: Client, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let token = link_token(f.get("token"));
    client.attempt(&state, Sensitive::Confirmation).map_err(|e| ctx.fail(e))?;
    match state.privacy.confirm(ctx.tenant, &token).await {
        Ok(r) => {
            let page = ConfirmPage {
                c: Chrome::new(&ctx, ctx.t("confirm.title"), "centre"),
                token: String::new(),
                error: String::new(),
                done: Some((ctx.t(&format!("privacy.kind.{}", r.kind)), format::date(r.due_at, &ctx.tz, ctx.lang))),
            };
            Ok(render(&ctx, &page))
        }
        Err(PrivacyError::InvalidLink) => {
            let page = ConfirmPage {
                c: Chrome::new(&ctx, ctx.t("confirm.title"), "centre"),
                token,
                error: ctx.t("confirm.invalid").to_string(),
                done: None,
            };
            Ok(render_status(&ctx, StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(ctx.fail(e)),
    }
}
