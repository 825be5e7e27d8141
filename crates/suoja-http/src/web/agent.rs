//! The agent workspace: views with counts, the ticket page (conversation, composer, side panel,
//! the requester's other tickets, redaction by selecting text, removing files), user and
//! organisation pages, and search.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use axum::routing::{MethodRouter, get, post};
use serde::Deserialize;
use suoja_core::{AttachmentId, CommentId, Email, GroupId, OrganizationId, Personal, Priority, Role, Scope, Status, TicketId, UserId};
use suoja_helpdesk::model::{CommentInput, Ticket, TicketInput};
use suoja_helpdesk::tickets::TicketList;
use suoja_helpdesk::tickets::views::View;
use suoja_helpdesk::users::Paging;
use suoja_helpdesk::{SearchHit, model::Comment};

use super::ctx::{Ctx, Fields, check_origin};
use super::{Chrome, Failure, FormErrors, Page, check_text, form_id, format, render, render_status, see_other};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    super::router(pages())
}

/// The agents' workspace.
pub(super) fn pages() -> Vec<(Page, MethodRouter<AppState>)> {
    vec![
        (Page::get("/agent"), get(|| async { see_other("/agent/views/mine") })),
        (Page::get("/agent/views/{view}"), get(view)),
        (Page::get("/agent/tickets/{id}"), get(ticket)),
        (Page::post("/agent/tickets/{id}"), post(update_ticket)),
        (Page::post("/agent/tickets/{id}/comments"), post(add_comment)),
        (Page::post("/agent/tickets/{id}/comments/{comment_id}/redact"), post(redact_text)),
        (
            Page::post("/agent/tickets/{id}/comments/{comment_id}/attachments/{attachment_id}/redact"),
            post(redact_file),
        ),
        (Page::get("/agent/users/{id}"), get(user)),
        (Page::get("/agent/organizations/{id}"), get(organization)),
        (Page::get("/agent/search"), get(search)),
        (Page::get("/files/{id}"), get(file)),
    ]
}

/// Longest comment the composer takes, in characters.
pub const MAX_COMMENT: usize = 65_536;

/// A ticket in a list.
pub struct TicketItem {
    pub id: i64,
    pub subject: String,
    pub requester: String,
    pub requester_id: i64,
    pub status: &'static str,
    pub status_label: &'static str,
    pub priority: &'static str,
    pub updated: String,
}

/// Names of users by id (what the viewer may see; erased people show as a mark).
pub async fn names(state: &AppState, ctx: &Ctx, scope: &suoja_core::Scope, ids: &[UserId]) -> Result<HashMap<i64, String>, Failure> {
    let mut ids: Vec<UserId> = ids.to_vec();
    ids.sort_by_key(|u| u.0);
    ids.dedup();
    let mut out = HashMap::new();
    for chunk in ids.chunks(100) {
        for u in state.helpdesk.get_users(scope, chunk).await.map_err(|e| ctx.fail(e))? {
            out.insert(u.id.0, u.name.expose().clone());
        }
    }
    Ok(out)
}

/// List rows of tickets.
pub async fn items(state: &AppState, ctx: &Ctx, scope: &suoja_core::Scope, tickets: &[Ticket]) -> Result<Vec<TicketItem>, Failure> {
    let ids: Vec<UserId> = tickets.iter().map(|t| t.requester_id).collect();
    let names = names(state, ctx, scope, &ids).await?;
    Ok(tickets
        .iter()
        .map(|t| TicketItem {
            id: t.id.0,
            subject: subject_of(t),
            requester: names.get(&t.requester_id.0).cloned().unwrap_or_else(|| "—".into()),
            requester_id: t.requester_id.0,
            status: t.status.as_str(),
            status_label: ctx.t(&format!("status.{}", t.status.as_str())),
            priority: t.priority.map(|p| ctx.t(&format!("priority.{}", p.as_str()))).unwrap_or(""),
            updated: format::datetime(t.updated_at, &ctx.tz, ctx.lang),
        })
        .collect())
}

fn subject_of(t: &Ticket) -> String {
    match &t.subject {
        Some(s) if !s.expose().trim().is_empty() => s.expose().clone(),
        _ => t.description.expose().chars().take(80).collect(),
    }
}

#[derive(Template)]
#[template(path = "agent/view.html")]
struct ViewPage {
    c: Chrome,
    views: Vec<(&'static str, &'static str, i64, bool)>,
    tickets: Vec<TicketItem>,
    page: i64,
    has_more: bool,
    slug: &'static str,
}

#[derive(Debug, Deserialize, Default)]
pub(crate) struct PageQuery {
    #[serde(default)]
    page: Option<String>,
}

pub(crate) fn page_number(q: &PageQuery) -> i64 {
    q.page
        .as_deref()
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| (1..=10_000).contains(p))
        .unwrap_or(1)
}

async fn view(State(state): State<AppState>, ctx: Ctx, Path(slug): Path<String>, Query(q): Query<PageQuery>) -> Result<Response, Failure> {
    let scope = ctx.staff()?;
    let v = View::from_slug(&slug).ok_or_else(|| ctx.fail(crate::ApiError::NotFound))?;
    let page = page_number(&q);
    let counts = state.helpdesk.view_counts(&scope).await.map_err(|e| ctx.fail(e))?;
    let (tickets, has_more) = state.helpdesk.ticket_view(&scope, v, 50, (page - 1) * 50).await.map_err(|e| ctx.fail(e))?;
    let views = counts
        .iter()
        .map(|(w, n)| (w.slug(), ctx.t(&format!("views.{}", w.slug())), *n, *w == v))
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

/// A comment as the ticket page shows it.
pub struct CommentView {
    pub id: i64,
    pub public: bool,
    pub author: String,
    pub body: String,
    pub when: String,
    pub files: Vec<FileView>,
}

/// A file under a comment.
pub struct FileView {
    pub id: i64,
    pub name: String,
    pub size: String,
    pub redacted: bool,
    pub recording: bool,
}

/// The conversation, with author names.
pub async fn conversation(state: &AppState, ctx: &Ctx, scope: &suoja_core::Scope, comments: &[Comment]) -> Result<Vec<CommentView>, Failure> {
    let names = names(state, ctx, scope, &comments.iter().map(|c| c.author_id).collect::<Vec<_>>()).await?;
    Ok(comments
        .iter()
        .map(|c| CommentView {
            id: c.id.0,
            public: c.public,
            author: names.get(&c.author_id.0).cloned().unwrap_or_else(|| "—".into()),
            body: c.body.expose().clone(),
            when: format::datetime(c.created_at, &ctx.tz, ctx.lang),
            files: c
                .attachments
                .iter()
                .map(|a| FileView {
                    id: a.id.0,
                    name: a.file_name.expose().clone(),
                    size: format::size(a.size),
                    redacted: a.file_name.expose() == "redacted.txt" && a.size == 0,
                    recording: suoja_helpdesk::tickets::redact::is_recording(&a.content_type),
                })
                .collect(),
        })
        .collect())
}

#[derive(Template)]
#[template(path = "agent/ticket.html")]
struct TicketPage {
    c: Chrome,
    t: TicketItem,
    comments: Vec<CommentView>,
    nav: CommentNav,
    statuses: Vec<(&'static str, &'static str)>,
    priorities: Vec<(&'static str, &'static str)>,
    priority: &'static str,
    agents: Vec<(i64, String)>,
    assignee: i64,
    groups: Vec<(i64, String)>,
    group: i64,
    tags: String,
    ccs: Vec<(i64, String)>,
    fields: Vec<(i64, String)>,
    others: Vec<TicketItem>,
    form_id: String,
    draft: String,
    public: bool,
    errors: FormErrors,
}

struct Draft {
    body: String,
    public: bool,
    errors: FormErrors,
}

/// Pages read at most for the side panel's lists (100 each): 5 000 agents or groups.
const MAX_LIST_PAGES: i64 = 50;

/// Every agent and admin, for the assignee list, and the current assignee even if they are
/// neither any more: a list without the current value would make the browser send another.
async fn assignable(state: &AppState, ctx: &Ctx, scope: &Scope, current: Option<UserId>) -> Result<Vec<(i64, String)>, Failure> {
    let mut out = Vec::new();
    for page in 1..=MAX_LIST_PAGES {
        let p = state
            .helpdesk
            .list_users(scope, vec![Role::Agent, Role::Admin], false, Paging::Offset { page, per_page: 100 })
            .await
            .map_err(|e| ctx.fail(e))?;
        out.extend(p.users.iter().map(|u| (u.id.0, u.name.expose().clone())));
        if !p.has_more {
            break;
        }
    }
    if let Some(id) = current.filter(|id| !out.iter().any(|(a, _)| *a == id.0)) {
        let name = names(state, ctx, scope, &[id]).await?.remove(&id.0).unwrap_or_else(|| format!("#{}", id.0));
        out.push((id.0, name));
    }
    Ok(out)
}

/// Every group, for the group list (the current one included, as for the assignee).
async fn all_groups(state: &AppState, ctx: &Ctx, scope: &Scope, current: Option<GroupId>) -> Result<Vec<(i64, String)>, Failure> {
    let mut out: Vec<(i64, String)> = Vec::new();
    for page in 0..MAX_LIST_PAGES {
        let (rows, count) = state.helpdesk.list_groups(scope, None, 100, page * 100).await.map_err(|e| ctx.fail(e))?;
        out.extend(rows.iter().map(|g| (g.id.0, g.name.clone())));
        if rows.is_empty() || i64::try_from(out.len()).unwrap_or(i64::MAX) >= count {
            break;
        }
    }
    if let Some(id) = current.filter(|id| !out.iter().any(|(g, _)| *g == id.0)) {
        out.push((id.0, format!("#{}", id.0)));
    }
    Ok(out)
}

/// Comments a ticket page shows at once: the newest, with links to earlier ones.
pub const COMMENTS_PER_PAGE: i64 = 100;

/// Where a ticket page's comments are in the whole conversation (page 1 is the newest).
pub struct CommentNav {
    pub page: i64,
    pub pages: i64,
    /// "Comments 101–200 of 250", when there is more than one page.
    pub shown: String,
}

/// A page of a ticket's conversation, oldest first within the page: page 1 holds the newest
/// [`COMMENTS_PER_PAGE`], page 2 the ones before them, and so on.
/// A page past the last shows the last.
pub async fn comment_window(state: &AppState, ctx: &Ctx, scope: &Scope, ticket: TicketId, page: i64) -> Result<(Vec<Comment>, CommentNav), Failure> {
    let read = |page: i64| async move {
        state
            .helpdesk
            .list_comments(scope, ticket, None, true, Some((page, COMMENTS_PER_PAGE)), COMMENTS_PER_PAGE)
            .await
            .map_err(|e| ctx.fail(e))
    };
    let mut page = page.max(1);
    let mut list = read(page).await?;
    let pages = ((list.count + COMMENTS_PER_PAGE - 1) / COMMENTS_PER_PAGE).max(1);
    if page > pages {
        page = pages;
        list = read(page).await?;
    }
    let mut comments = list.comments;
    comments.reverse();
    let to = list.count - (page - 1) * COMMENTS_PER_PAGE;
    let from = (to - COMMENTS_PER_PAGE + 1).max(1);
    let shown = if pages > 1 && to >= 1 {
        ctx.t("ticket.comments_shown")
            .replace("{from}", &from.to_string())
            .replace("{to}", &to.to_string())
            .replace("{n}", &list.count.to_string())
    } else {
        String::new()
    };
    Ok((comments, CommentNav { page, pages, shown }))
}

async fn ticket_page(state: &AppState, ctx: &Ctx, id: i64, page: i64, draft: Draft, status: StatusCode) -> Result<Response, Failure> {
    let scope = ctx.staff()?;
    let t = state.helpdesk.get_ticket(&scope, TicketId(id)).await.map_err(|e| ctx.fail(e))?;
    let (comments, nav) = comment_window(state, ctx, &scope, t.id, page).await?;
    let item = items(state, ctx, &scope, std::slice::from_ref(&t)).await?.remove(0);
    let agents = assignable(state, ctx, &scope, t.assignee_id).await?;
    let groups = all_groups(state, ctx, &scope, t.group_id).await?;
    let mut cc_ids = t.collaborator_ids.clone();
    cc_ids.extend(t.email_cc_ids.iter().copied());
    cc_ids.sort_by_key(|u| u.0);
    cc_ids.dedup();
    let cc_names = names(state, ctx, &scope, &cc_ids).await?;
    let others = state
        .helpdesk
        .latest_tickets_of(&scope, t.requester_id, 11)
        .await
        .map_err(|e| ctx.fail(e))?
        .into_iter()
        .filter(|o| o.id != t.id)
        .take(10)
        .collect::<Vec<_>>();
    let page = TicketPage {
        c: Chrome::new(ctx, format!("#{} {}", t.id.0, item.subject), "agent"),
        comments: conversation(state, ctx, &scope, &comments).await?,
        nav,
        statuses: Status::ALL.iter().map(|s| (s.as_str(), ctx.t(&format!("status.{}", s.as_str())))).collect(),
        priorities: Priority::ALL.iter().map(|p| (p.as_str(), ctx.t(&format!("priority.{}", p.as_str())))).collect(),
        priority: t.priority.map(|p| p.as_str()).unwrap_or(""),
        agents,
        assignee: t.assignee_id.map(|u| u.0).unwrap_or(0),
        groups,
        group: t.group_id.map(|g| g.0).unwrap_or(0),
        tags: t.tags.join(" "),
        ccs: cc_ids
            .iter()
            .map(|u| (u.0, cc_names.get(&u.0).cloned().unwrap_or_else(|| "—".into())))
            .collect(),
        fields: t
            .custom_fields
            .expose()
            .iter()
            .map(|(id, v)| {
                (
                    *id,
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| if v.is_null() { String::new() } else { v.to_string() }),
                )
            })
            .collect(),
        others: items(state, ctx, &scope, &others).await?,
        t: item,
        form_id: form_id(),
        draft: draft.body,
        public: draft.public,
        errors: draft.errors,
    };
    Ok(render_status(ctx, status, &page))
}

async fn ticket(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Query(q): Query<PageQuery>) -> Result<Response, Failure> {
    let draft = Draft {
        body: String::new(),
        public: true,
        errors: FormErrors::default(),
    };
    ticket_page(&state, &ctx, id, page_number(&q), draft, StatusCode::OK).await
}

/// A composer's submission: text fields and files.
#[derive(Default)]
pub struct Composed {
    pub fields: Fields,
    pub files: Vec<(String, String, Vec<u8>)>,
}

/// Reads a composer form (multipart, or URL-encoded when it has no files).
pub async fn read_composer(ctx: &Ctx, headers: &HeaderMap, req: axum::extract::Request) -> Result<Composed, Failure> {
    check_origin(ctx, headers)?;
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut out = Composed::default();
    if ct.starts_with("multipart/form-data") {
        let mut mp = <Multipart as axum::extract::FromRequest<()>>::from_request(req, &())
            .await
            .map_err(|_| ctx.fail(crate::ApiError::BadRequest(ctx.t("form.bad_upload").into())))?;
        loop {
            let field = match mp.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(ctx.fail(crate::ApiError::TooLarge(0))),
                Err(_) => return Err(ctx.fail(crate::ApiError::BadRequest(ctx.t("form.bad_upload").into()))),
            };
            let name = field.name().unwrap_or("").to_string();
            let file_name = field.file_name().map(str::to_string);
            let ty = field.content_type().unwrap_or("application/octet-stream").to_string();
            let data = field
                .bytes()
                .await
                .map_err(|_| ctx.fail(crate::ApiError::BadRequest(ctx.t("form.bad_upload").into())))?;
            match file_name {
                Some(f) if name == "files" => {
                    if !f.is_empty() && !data.is_empty() {
                        out.files.push((f, ty, data.to_vec()));
                    }
                }
                _ => out.fields.0.push((name, String::from_utf8_lossy(&data).into_owned())),
            }
        }
    } else {
        // The `Bytes` extractor honours the routes' body limit; the fields decode as `Fields::read` does.
        let body = <Bytes as axum::extract::FromRequest<()>>::from_request(req, &())
            .await
            .map_err(|_| ctx.fail(crate::ApiError::TooLarge(0)))?;
        out.fields = Fields::parse(&body);
    }
    Ok(out)
}

async fn add_comment(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    headers: HeaderMap,
    req: axum::extract::Request,
) -> Result<Response, Failure> {
    let form = read_composer(&ctx, &headers, req).await?;
    let body = form.fields.get("body").to_string();
    if ctx.staff().is_err() && ctx.session.is_none() {
        return Ok(super::signin::expired_with_draft(&ctx, &body));
    }
    form.fields.check_csrf(&ctx)?;
    let scope = ctx.staff()?;
    let public = form.fields.get("public") != "0";
    let mut errors = FormErrors::default();
    check_text(&mut errors, ctx.lang, "body", &body, form.files.is_empty(), MAX_COMMENT);
    let status = match form.fields.get("status") {
        "" => None,
        s => Some(Status::parse(s).map_err(|e| ctx.fail(crate::ApiError::Field("status".into(), e.0, "InvalidValue")))?),
    };
    if !errors.is_empty() {
        let draft = Draft { body, public, errors };
        return ticket_page(&state, &ctx, id, 1, draft, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let fid = form.fields.get("form_id").to_string();
    let here = format!("/agent/tickets/{id}");
    let work = || async {
        post_comment(&state, &scope, TicketId(id), &body, public, status, &form.files).await?;
        Ok(format!("{here}?posted={fid}&done=comment_added"))
    };
    match super::once(&state, &ctx, &scope, &fid, &here, &["body"], work).await? {
        Ok(to) => Ok(see_other(&to)),
        Err(errors) => {
            let draft = Draft { body, public, errors };
            ticket_page(&state, &ctx, id, 1, draft, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// Uploads a composer's files under one upload token (none without files).
pub async fn upload_files(state: &AppState, scope: &suoja_core::Scope, files: &[(String, String, Vec<u8>)]) -> Result<Option<String>, crate::ApiError> {
    let mut token: Option<String> = None;
    for (name, ty, bytes) in files {
        let up = state.helpdesk.upload(scope, token.as_deref(), Personal::new(name.clone()), ty, bytes).await?;
        token = Some(up.token);
    }
    Ok(token)
}

/// Uploads the files and adds the comment (one ticket update).
pub async fn post_comment(
    state: &AppState,
    scope: &suoja_core::Scope,
    id: TicketId,
    body: &str,
    public: bool,
    status: Option<Status>,
    files: &[(String, String, Vec<u8>)],
) -> Result<(), crate::ApiError> {
    let token = upload_files(state, scope, files).await?;
    let input = TicketInput {
        comment: Some(CommentInput {
            body: Some(Personal::new(body.to_string())),
            html_body: None,
            public,
            author_id: None,
            uploads: token.into_iter().collect(),
        }),
        status,
        ..Default::default()
    };
    state.helpdesk.update_ticket(scope, id, input).await?;
    Ok(())
}

async fn update_ticket(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.staff()?;
    let bad = |field: &str, m: String| ctx.fail(crate::ApiError::Field(field.into(), m, "InvalidValue"));
    let mut input = TicketInput {
        status: Some(Status::parse(f.get("status")).map_err(|e| bad("status", e.0))?),
        ..Default::default()
    };
    input.priority = Some(match f.get("priority") {
        "" => None,
        p => Some(Priority::parse(p).map_err(|e| bad("priority", e.0))?),
    });
    input.assignee_id = Some(match f.get("assignee_id") {
        "" | "0" => None,
        a => Some(UserId(a.parse().map_err(|_| bad("assignee_id", "is not a person".into()))?)),
    });
    input.group_id = Some(match f.get("group_id") {
        "" | "0" => None,
        g => Some(GroupId(g.parse().map_err(|_| bad("group_id", "is not a group".into()))?)),
    });
    input.tags = Some(f.get("tags").split_whitespace().map(str::to_string).collect());
    let mut ccs: Vec<UserId> = f.all("keep_cc").iter().filter_map(|v| v.parse().ok()).map(UserId).collect();
    let add = f.get("add_cc").trim();
    if !add.is_empty() {
        let email = Email::parse(add).map_err(|e| bad("add_cc", e.0))?;
        let found = state
            .helpdesk
            .search_users(&scope, email.as_personal().expose())
            .await
            .map_err(|e| ctx.fail(e))?;
        let u = found.first().ok_or_else(|| bad("add_cc", ctx.t("ticket.cc_unknown").into()))?;
        ccs.push(u.id);
    }
    input.collaborator_ids = Some(ccs);
    let mut fields = Vec::new();
    for (k, v) in &f.0 {
        if let Some(fid) = k.strip_prefix("field_").and_then(|n| n.parse::<i64>().ok()) {
            fields.push((
                fid,
                if v.is_empty() {
                    serde_json::Value::Null
                } else {
                    serde_json::Value::String(v.clone())
                },
            ));
        }
    }
    if !fields.is_empty() {
        input.custom_fields = Some(Personal::new(fields));
    }
    state.helpdesk.update_ticket(&scope, TicketId(id), input).await.map_err(|e| ctx.fail(e))?;
    Ok(see_other(&format!("/agent/tickets/{id}?done=ticket_updated")))
}

/// Where to go back to after a change to comment `cid` of ticket `id`: the page of the
/// conversation it was made on, at the comment.
fn back_to_comment(id: i64, q: &PageQuery, done: &str, cid: i64) -> Response {
    let page = page_number(q);
    let page = if page > 1 { format!("&page={page}") } else { String::new() };
    see_other(&format!("/agent/tickets/{id}?done={done}{page}#comment-{cid}"))
}

async fn redact_text(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, cid)): Path<(i64, i64)>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.staff()?;
    let text = Personal::new(f.get("text").to_string());
    state
        .helpdesk
        .redact_comment_text(&scope, TicketId(id), CommentId(cid), &text)
        .await
        .map_err(|e| ctx.fail(e))?;
    Ok(back_to_comment(id, &q, "redacted", cid))
}

async fn redact_file(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, cid, aid)): Path<(i64, i64, i64)>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.staff()?;
    state
        .helpdesk
        .redact_attachment(&scope, TicketId(id), CommentId(cid), AttachmentId(aid))
        .await
        .map_err(|e| ctx.fail(e))?;
    Ok(back_to_comment(id, &q, "file_removed", cid))
}

/// A file, for anyone who may see its ticket: always as a download, never rendered in the page.
async fn file(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> Result<Response, Failure> {
    let scope = ctx.person()?;
    let f = state.helpdesk.attachment(&scope, AttachmentId(id)).await.map_err(|e| ctx.fail(e))?;
    let name: String = f
        .attachment
        .file_name
        .expose()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' })
        .collect();
    let mut r = (StatusCode::OK, f.bytes.expose().clone()).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    Ok(r)
}

#[derive(Template)]
#[template(path = "agent/user.html")]
struct UserPage {
    c: Chrome,
    name: String,
    email: String,
    phone: String,
    role: String,
    org: Option<(i64, String)>,
    tickets: Vec<TicketItem>,
    id: i64,
}

async fn user(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> Result<Response, Failure> {
    let scope = ctx.staff()?;
    let u = state.helpdesk.get_user(&scope, UserId(id)).await.map_err(|e| ctx.fail(e))?;
    let org = match u.organization_id {
        Some(o) => state.helpdesk.get_org(&scope, o).await.ok().map(|o| (o.id.0, o.name)),
        None => None,
    };
    let list = state
        .helpdesk
        .list_tickets(&scope, TicketList::Requested(u.id), Paging::Offset { page: 1, per_page: 50 })
        .await
        .map_err(|e| ctx.fail(e))?;
    let page = UserPage {
        c: Chrome::new(&ctx, u.name.expose().clone(), "agent"),
        name: u.name.expose().clone(),
        email: u.email.as_ref().map(|e| e.expose().clone()).unwrap_or_default(),
        phone: u.phone.as_ref().map(|e| e.expose().clone()).unwrap_or_default(),
        role: ctx.t(&format!("role.{}", u.role.as_str())).to_string(),
        org,
        tickets: items(&state, &ctx, &scope, &list.tickets).await?,
        id: u.id.0,
    };
    Ok(render(&ctx, &page))
}

#[derive(Template)]
#[template(path = "agent/organization.html")]
struct OrgPage {
    c: Chrome,
    name: String,
    details: String,
    domains: String,
    tickets: Vec<TicketItem>,
}

async fn organization(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> Result<Response, Failure> {
    let scope = ctx.staff()?;
    let o = state.helpdesk.get_org(&scope, OrganizationId(id)).await.map_err(|e| ctx.fail(e))?;
    let list = state
        .helpdesk
        .list_tickets(&scope, TicketList::Organization(o.id), Paging::Offset { page: 1, per_page: 50 })
        .await
        .map_err(|e| ctx.fail(e))?;
    let page = OrgPage {
        c: Chrome::new(&ctx, o.name.clone(), "agent"),
        name: o.name.clone(),
        details: o.details.clone().unwrap_or_default(),
        domains: o.domain_names.join(", "),
        tickets: items(&state, &ctx, &scope, &list.tickets).await?,
    };
    Ok(render(&ctx, &page))
}

#[derive(Template)]
#[template(path = "agent/search.html")]
struct SearchPage {
    c: Chrome,
    q: String,
    tickets: Vec<TicketItem>,
    users: Vec<(i64, String, String)>,
    orgs: Vec<(i64, String)>,
    error: String,
    searched: bool,
}

#[derive(Debug, Deserialize, Default)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

async fn search(State(state): State<AppState>, ctx: Ctx, Query(q): Query<SearchQuery>) -> Result<Response, Failure> {
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
