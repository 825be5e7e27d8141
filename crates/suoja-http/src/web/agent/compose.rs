//! What the ticket page posts: replies and notes with files, field changes, redaction of a
//! passage or a file, and the file download behind every attachment link.

use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use suoja_core::{AttachmentId, CommentId, Email, GroupId, Personal, Priority, Status, TicketId, UserId};
use suoja_helpdesk::model::{CommentInput, TicketInput};

use super::ticket::{Draft, ticket_page};
use super::{MAX_COMMENT, PageQuery, page_number};
use crate::AppState;
use crate::web::ctx::{Ctx, Fields, check_origin};
use crate::web::{Failure, FormErrors, check_text, see_other};

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

pub(super) async fn add_comment(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    headers: HeaderMap,
    req: axum::extract::Request,
) -> Result<Response, Failure> {
    let form = read_composer(&ctx, &headers, req).await?;
    let body = form.fields.get("body").to_string();
    if ctx.staff().is_err() && ctx.session.is_none() {
        return Ok(crate::web::signin::expired_with_draft(&ctx, &body));
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
    match crate::web::once(&state, &ctx, &scope, &fid, &here, &["body"], work).await? {
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
            files: Vec::new(),
            via: suoja_helpdesk::model::Channel::Web,
        }),
        status,
        enforce_required: true,
        ..Default::default()
    };
    state.helpdesk.update_ticket(scope, id, input).await?;
    Ok(())
}

pub(super) async fn update_ticket(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.staff()?;
    let bad = |field: &str, m: String| ctx.fail(crate::ApiError::Field(field.into(), m, "InvalidValue"));
    let mut input = TicketInput {
        status: Some(Status::parse(f.get("status")).map_err(|e| bad("status", e.0))?),
        enforce_required: true,
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
    // The custom fields the page showed, sent only where they changed (an unticked box on a
    // field never set is no change).
    let defs = state
        .helpdesk
        .list_fields(&scope, suoja_helpdesk::fields::Owner::Ticket)
        .await
        .map_err(|e| ctx.fail(e))?;
    let current = state.helpdesk.get_ticket(&scope, TicketId(id)).await.map_err(|e| ctx.fail(e))?;
    let fields: Vec<(i64, serde_json::Value)> = crate::web::custom_fields::read_values(&defs, &f.0)
        .into_iter()
        .filter(|(fid, v)| {
            let old = current.custom_fields.expose().iter().find(|(i, _)| i == fid).map(|(_, v)| v.clone());
            let old = old.unwrap_or(serde_json::Value::Null);
            !(old == *v || (old.is_null() && *v == serde_json::Value::Bool(false)))
        })
        .collect();
    if !fields.is_empty() {
        input.custom_fields = Some(Personal::new(fields));
    }
    state.helpdesk.update_ticket(&scope, TicketId(id), input).await.map_err(|e| ctx.fail(e))?;
    Ok(see_other(&format!("/agent/tickets/{id}?done=ticket_updated")))
}

/// Where to go back to after a change to comment `cid` of ticket `id`: the page of the
/// conversation it was made on, at the comment.
pub(super) fn back_to_comment(id: i64, q: &PageQuery, done: &str, cid: i64) -> Response {
    let page = page_number(q);
    let page = if page > 1 { format!("&page={page}") } else { String::new() };
    see_other(&format!("/agent/tickets/{id}?done={done}{page}#comment-{cid}"))
}

pub(super) async fn redact_text(
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
        .privacy
        .redact_comment_text(&scope, TicketId(id), CommentId(cid), &text)
        .await
        .map_err(|e| ctx.fail(e))?;
    Ok(back_to_comment(id, &q, "redacted", cid))
}

pub(super) async fn redact_file(
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
        .privacy
        .redact_attachment(&scope, TicketId(id), CommentId(cid), AttachmentId(aid))
        .await
        .map_err(|e| ctx.fail(e))?;
    Ok(back_to_comment(id, &q, "file_removed", cid))
}

/// A file, for anyone who may see its ticket: always as a download, never rendered in the page.
pub(super) async fn file(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> Result<Response, Failure> {
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

/// The original e-mail a comment came from, as a `.eml` download (staff only).
pub(super) async fn original_mail(State(state): State<AppState>, ctx: Ctx, Path((id, comment)): Path<(i64, i64)>) -> Result<Response, Failure> {
    let scope = ctx.staff()?;
    let raw = state
        .helpdesk
        .original_mail(&scope, suoja_core::TicketId(id), suoja_core::CommentId(comment))
        .await
        .map_err(|e| ctx.fail(e))?;
    let mut r = (StatusCode::OK, raw.expose().clone()).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("message/rfc822"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"ticket-{id}-comment-{comment}.eml\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    Ok(r)
}

/// Applies a macro to the ticket: its changes and its reply as one update.
pub(super) async fn apply_macro(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.staff()?;
    let macro_id: i64 = f
        .get("macro_id")
        .parse()
        .map_err(|_| ctx.fail(crate::ApiError::Field("macro_id".into(), ctx.t("ticket.no_macro").into(), "InvalidValue")))?;
    state.helpdesk.run_macro(&scope, macro_id, TicketId(id)).await.map_err(|e| ctx.fail(e))?;
    Ok(see_other(&format!("/agent/tickets/{id}?done=macro_applied")))
}
