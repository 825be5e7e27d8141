//! `/api/v2/tickets…`: tickets, bulk creation and comments (Zendesk reference §6.1–§6.3).

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value, json};
use suoja_core::{Scope, TicketId, UserId};
use suoja_helpdesk::model::Ticket;
use suoja_helpdesk::tickets::{TagChange, TicketList};

use super::{ListPage, created, includes, list, list_body, no_content, ok, parse, wire};
use crate::extract::{Auth, BaseUrl, JsonBody, Obj, PageParams, Params, parse_id};
use crate::{ApiError, AppState};

async fn sideload_users(app: &AppState, scope: &Scope, base: &BaseUrl, tickets: &[&Ticket]) -> Result<Vec<Value>, ApiError> {
    let mut ids: Vec<UserId> = Vec::new();
    for t in tickets {
        ids.push(t.requester_id);
        ids.push(t.submitter_id);
        ids.extend(t.assignee_id);
        ids.extend(t.collaborator_ids.iter().copied());
        ids.extend(t.email_cc_ids.iter().copied());
        ids.extend(t.follower_ids.iter().copied());
    }
    ids.sort();
    ids.dedup();
    let users = app.helpdesk.get_users(scope, &ids).await?;
    Ok(users.iter().map(|u| wire::user(u, base, scope)).collect())
}

/// Responds with a page of tickets listed under `path`.
pub fn ticket_page(page: &suoja_helpdesk::tickets::TicketPage, path: String, pp: PageParams, base: &BaseUrl, params: &Params) -> Response {
    let first_last = page.tickets.first().zip(page.tickets.last()).map(|(a, b)| (a.id.0, b.id.0));
    let items = page.tickets.iter().map(|t| wire::ticket(t, base)).collect();
    list(
        ListPage {
            root: "tickets",
            items,
            first_last,
            has_more: page.has_more,
            count: page.count,
            path,
        },
        pp,
        base,
        params,
    )
}

/// `GET /tickets`
pub async fn index(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    if let Some(external_id) = params.get("external_id") {
        // Zendesk's lookup by external id: every match, on one page.
        let tickets = app.helpdesk.tickets_by_external_id(&scope, external_id).await?;
        let items: Vec<Value> = tickets.iter().map(|t| wire::ticket(t, &base)).collect();
        return Ok(ok(json!({"tickets": items, "count": items.len(), "next_page": null, "previous_page": null})));
    }
    let pp = params.paging()?;
    let page = app.helpdesk.list_tickets(&scope, TicketList::All, pp.to_paging()).await?;
    Ok(ticket_page(&page, "/tickets".into(), pp, &base, &params))
}

fn ticket_body(body: &JsonBody, creating: bool) -> Result<suoja_helpdesk::model::TicketInput, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["ticket"])?;
    parse::ticket_input(&root.object("ticket")?, creating)
}

/// `POST /tickets` → 201 with the ticket and its audit.
pub async fn create(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, body: JsonBody) -> Result<Response, ApiError> {
    let input = ticket_body(&body, true)?;
    let change = app.helpdesk.create_ticket(&scope, input).await?;
    let loc = base.api(&format!("/tickets/{}.json", change.ticket.id.0));
    Ok(created(
        &loc,
        json!({"ticket": wire::ticket(&change.ticket, &base), "audit": wire::audit(&change)}),
    ))
}

/// `GET /tickets/{id}` (with `include=users`; for staff, `include=slas`: the SLA policy
/// applying and its clocks, and `include=metric_events`: its metric events by metric)
pub async fn show(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params, Path(id): Path<String>) -> Result<Response, ApiError> {
    let t = app.helpdesk.get_ticket(&scope, TicketId(parse_id(&id)?)).await?;
    let mut out = json!({"ticket": wire::ticket(&t, &base)});
    if includes(&params, "slas") && scope.is_staff() {
        let slas = app.helpdesk.ticket_sla(&scope, t.id).await?;
        if let Some(ticket) = out.get_mut("ticket") {
            suoja_core::json::set(ticket, "slas", super::sla::ticket_slas(slas.as_ref()));
        }
    }
    if includes(&params, "metric_events") && scope.is_staff() {
        let events = app.helpdesk.ticket_metric_events(&scope, &t).await?;
        if let Some(ticket) = out.get_mut("ticket") {
            suoja_core::json::set(ticket, "metric_events", super::sla::metric_events_by_metric(&events));
        }
    }
    if includes(&params, "users") {
        suoja_core::json::set(&mut out, "users", Value::Array(sideload_users(&app, &scope, &base, &[&t]).await?));
    }
    Ok(ok(out))
}

/// `GET /tickets/show_many?ids=`
pub async fn show_many(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    let ids: Vec<TicketId> = params.ids("ids")?.into_iter().map(TicketId).collect();
    let tickets = app.helpdesk.get_tickets(&scope, &ids).await?;
    let mut out = json!({"tickets": tickets.iter().map(|t| wire::ticket(t, &base)).collect::<Vec<_>>()});
    if includes(&params, "users") {
        let refs: Vec<&Ticket> = tickets.iter().collect();
        suoja_core::json::set(&mut out, "users", Value::Array(sideload_users(&app, &scope, &base, &refs).await?));
    }
    Ok(ok(out))
}

/// `PUT /tickets/{id}` → 200 with the ticket and its audit.
pub async fn update(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>, body: JsonBody) -> Result<Response, ApiError> {
    let id = TicketId(parse_id(&id)?);
    let input = ticket_body(&body, false)?;
    let change = app.helpdesk.update_ticket(&scope, id, input).await?;
    Ok(ok(json!({"ticket": wire::ticket(&change.ticket, &base), "audit": wire::audit(&change)})))
}

/// `GET /tags`: the tenant's tags of the last 60 days, most used first (`{"tags": [{"name",
/// "count"}]}`), in offset or cursor pages.
pub async fn popular_tags(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    let pp = params.paging()?;
    let all = app.helpdesk.popular_tags(&scope).await?;
    let total = suoja_core::num::to_i64(all.tags.len());
    // A cursor is a place in the list.
    let (start, size) = match pp {
        PageParams::Offset { page, per_page } => ((page - 1) * per_page, per_page),
        PageParams::Cursor { size, before: Some(b), .. } => (b.saturating_sub(size).max(0), size.min(b.max(0))),
        PageParams::Cursor { size, after, before: None } => (after.map_or(0, |a| a.saturating_add(1)), size),
    };
    let from = suoja_core::num::to_usize(start.clamp(0, total));
    let to = suoja_core::num::to_usize(start.saturating_add(size).clamp(0, total));
    let items: Vec<Value> = all
        .tags
        .get(from..to)
        .unwrap_or_default()
        .iter()
        .map(|(name, count)| json!({"name": name, "count": count}))
        .collect();
    let first_last = (!items.is_empty()).then(|| (suoja_core::num::to_i64(from), suoja_core::num::to_i64(to) - 1));
    Ok(list(
        ListPage {
            root: "tags",
            items,
            first_last,
            has_more: suoja_core::num::to_i64(to) < total,
            count: total,
            path: "/tags".into(),
        },
        pp,
        &base,
        &params,
    ))
}

/// `GET /tags/count`: how many tags are in use (the tickets of the last 60 days).
pub async fn popular_tags_count(State(app): State<AppState>, Auth(scope): Auth) -> Result<Response, ApiError> {
    let all = app.helpdesk.popular_tags(&scope).await?;
    Ok(ok(json!({"count": {"value": all.tags.len(), "refreshed_at": all.counted_at.to_iso()}})))
}

/// `GET /tickets/{id}/tags` → `{"tags": [...]}`.
pub async fn tags(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    let tags = app.helpdesk.ticket_tags(&scope, TicketId(parse_id(&id)?)).await?;
    Ok(ok(json!({"tags": tags})))
}

/// `POST /tickets/{id}/tags` with `{"tags": [...]}` replaces the ticket's tags.
pub async fn set_tags(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>, body: JsonBody) -> Result<Response, ApiError> {
    change_tags(&app, &scope, &id, &body, TagChange::Set).await
}

/// `PUT /tickets/{id}/tags` with `{"tags": [...]}` adds to them.
pub async fn add_tags(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>, body: JsonBody) -> Result<Response, ApiError> {
    change_tags(&app, &scope, &id, &body, TagChange::Add).await
}

/// `DELETE /tickets/{id}/tags` with `{"tags": [...]}` removes these.
pub async fn remove_tags(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>, body: JsonBody) -> Result<Response, ApiError> {
    change_tags(&app, &scope, &id, &body, TagChange::Remove).await
}

/// The three tag changes: the body names the tags (and may ask for a safe update, as a ticket
/// update may); the answer holds the tags after the change. A closed ticket's tags cannot
/// change (422), as Zendesk's.
async fn change_tags(app: &AppState, scope: &Scope, id: &str, body: &JsonBody, how: TagChange) -> Result<Response, ApiError> {
    let id = TicketId(parse_id(id)?);
    let root = Obj::root(&body.0);
    root.only(&["tags", "safe_update", "updated_stamp"])?;
    let tags = root
        .opt_strings("tags", 100, 80)?
        .ok_or_else(|| ApiError::Field("tags".into(), "tags: is required".into(), "BlankValue"))?;
    let stamp = parse::safe_update(&root)?;
    let tags = app.helpdesk.change_ticket_tags(scope, id, how, tags, stamp).await?;
    Ok(ok(json!({"tags": tags})))
}

/// `DELETE /tickets/{id}` → 204; the ticket moves to the trash.
pub async fn delete(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    app.helpdesk.delete_ticket(&scope, TicketId(parse_id(&id)?)).await?;
    Ok(no_content())
}

/// `POST /tickets/create_many` → 200 with a job status.
pub async fn create_many(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, body: JsonBody) -> Result<Response, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["tickets"])?;
    let Some(Value::Array(items)) = root.raw("tickets") else {
        return Err(ApiError::Field("tickets".into(), "tickets: must be a list of tickets".into(), "InvalidValue"));
    };
    if items.len() > 100 {
        return Err(ApiError::Field("tickets".into(), "tickets: at most 100 per request".into(), "TooManyValues"));
    }
    let mut inputs = Vec::with_capacity(items.len());
    for it in items {
        let Value::Object(m) = it else {
            return Err(ApiError::Field(
                "tickets".into(),
                "tickets: each item must be a ticket object".into(),
                "InvalidValue",
            ));
        };
        inputs.push(parse::ticket_input(&Obj::root(m), true)?);
    }
    let job = app.helpdesk.create_many_tickets(&scope, inputs).await?;
    Ok(ok(json!({"job_status": wire::job(&job, &base)})))
}

/// `PUT /tickets/update_many?ids=1,2` with `{"ticket": {…}}`, or with `{"tickets": [{"id": 1,
/// …}, …]}` → 200 with a job status (each ticket changed as `PUT /tickets/{id}` would).
pub async fn update_many(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params, body: JsonBody) -> Result<Response, ApiError> {
    if !scope.is_staff() {
        return Err(suoja_helpdesk::HelpdeskError::Forbidden("only staff change tickets in bulk").into());
    }
    let items = super::bulk::changes(&body, &params, "ticket", "tickets", |o| parse::ticket_input(o, false))?;
    // An upload attaches to one comment: one change for several tickets cannot carry it.
    if items.len() > 1 && params.get("ids").is_some() && items.iter().any(|(_, t)| t.comment.as_ref().is_some_and(|c| !c.uploads.is_empty())) {
        return Err(ApiError::Field(
            "ticket.comment.uploads".into(),
            "ticket.comment.uploads: an upload attaches to one ticket; give each ticket its own change in a tickets list".into(),
            "InvalidValue",
        ));
    }
    let items = items.into_iter().map(|(id, t)| (TicketId(id), t)).collect();
    let job = app.helpdesk.update_many_tickets(&scope, items).await?;
    Ok(ok(json!({"job_status": wire::job(&job, &base)})))
}

/// `DELETE /tickets/destroy_many?ids=1,2` → 200 with a job status; the tickets move to the
/// trash.
pub async fn destroy_many(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    if !scope.is_staff() {
        return Err(suoja_helpdesk::HelpdeskError::Forbidden("only staff delete tickets").into());
    }
    let ids: Vec<TicketId> = params.ids("ids")?.into_iter().map(TicketId).collect();
    let job = app.helpdesk.delete_many_tickets(&scope, &ids).await?;
    Ok(ok(json!({"job_status": wire::job(&job, &base)})))
}

/// `POST /tickets/{id}/merge` with `{"ids": [...], "target_comment", "source_comment",
/// "target_comment_is_public", "source_comment_is_public"}` → 200 with a job status; the
/// merge is whole or refused whole.
pub async fn merge(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>, body: JsonBody) -> Result<Response, ApiError> {
    if !scope.is_staff() {
        return Err(suoja_helpdesk::HelpdeskError::Forbidden("only staff merge tickets").into());
    }
    let target = TicketId(parse_id(&id)?);
    let root = Obj::root(&body.0);
    root.only(&[
        "ids",
        "target_comment",
        "source_comment",
        "target_comment_is_public",
        "source_comment_is_public",
    ])?;
    let ids = root
        .opt_ids("ids")?
        .ok_or_else(|| ApiError::Field("ids".into(), "ids: is required".into(), "BlankValue"))?;
    let text = |k: &str| -> Result<Option<suoja_core::Personal<String>>, ApiError> {
        Ok(root
            .opt_str(k, suoja_helpdesk::tickets::MAX_COMMENT_CHARS)?
            .filter(|t| !t.trim().is_empty())
            .map(suoja_core::Personal::new))
    };
    let merge = suoja_helpdesk::tickets::merge::Merge {
        sources: ids.into_iter().map(TicketId).collect(),
        target_comment: text("target_comment")?,
        source_comment: text("source_comment")?,
        target_comment_is_public: root.opt_bool("target_comment_is_public")?,
        source_comment_is_public: root.opt_bool("source_comment_is_public")?,
    };
    let job = app.helpdesk.merge_tickets(&scope, target, merge).await?;
    Ok(ok(json!({"job_status": wire::job(&job, &base)})))
}

/// `GET /tickets/{id}/comments`
pub async fn comments(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params, Path(id): Path<String>) -> Result<Response, ApiError> {
    let tid = parse_id(&id)?;
    let pp = params.paging()?;
    let descending = params.get("sort_order") == Some("desc") || params.get("sort") == Some("-created_at");
    let (after, page, size) = match pp {
        PageParams::Cursor { size, after, .. } => (after, None, size),
        PageParams::Offset { page, per_page } => (None, Some((page, per_page)), per_page),
    };
    let cp = app.helpdesk.list_comments(&scope, TicketId(tid), after, descending, page, size).await?;
    let first_last = cp.comments.first().zip(cp.comments.last()).map(|(a, b)| (a.id.0, b.id.0));
    let items: Vec<Value> = cp.comments.iter().map(|c| wire::comment(c, &base)).collect();
    // Comments page forwards only; a `page[before]` is answered as the first page.
    let resp_pp = match pp {
        PageParams::Cursor { size, after, .. } => PageParams::Cursor { size, after, before: None },
        other => other,
    };
    let page = ListPage {
        root: "comments",
        items,
        first_last,
        has_more: cp.has_more,
        count: cp.count,
        path: format!("/tickets/{tid}/comments"),
    };
    let mut body = list_body(page, resp_pp, &base, &params);
    if includes(&params, "users") {
        let mut ids: Vec<UserId> = cp.comments.iter().map(|c| c.author_id).collect();
        ids.sort();
        ids.dedup();
        let users = app.helpdesk.get_users(&scope, &ids).await?;
        suoja_core::json::set(&mut body, "users", Value::Array(users.iter().map(|u| wire::user(u, &base, &scope)).collect()));
    }
    Ok(ok(body))
}

/// `PUT /tickets/{id}/comments/{comment_id}/make_private` (staff): the comment becomes an
/// internal note; answers with it.
pub async fn make_private(
    State(app): State<AppState>,
    Auth(scope): Auth,
    base: BaseUrl,
    Path((id, comment)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (id, comment) = (TicketId(parse_id(&id)?), suoja_core::CommentId(parse_id(&comment)?));
    let c = app.helpdesk.make_comment_private(&scope, id, comment).await?;
    Ok(ok(json!({ "comment": wire::comment(&c, &base) })))
}

/// `GET /tickets/{id}/comments/count`
pub async fn comments_count(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    let cp = app
        .helpdesk
        .list_comments(&scope, TicketId(parse_id(&id)?), None, false, Some((1, 1)), 1)
        .await?;
    Ok(ok(json!({"count": {"value": cp.count, "refreshed_at": app.helpdesk.now().to_iso()}})))
}
