//! `/api/v2/requests…`: the Requests API, a ticket as the person who asked sees it (Zendesk
//! reference §6.4). Everyone answers here only about requests they made or are CC'd on, with
//! public comments only, whatever their role; an end user opens a request, adds to it and marks
//! it solved. The work is the tickets' own services: the same rules, the same checks.

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Map, Value, json};
use suoja_core::{Scope, Status, TicketId, UserId};
use suoja_helpdesk::model::{Comment, Ticket};

use super::{ListPage, created, list_body, ok, parse, wire};
use crate::extract::{Auth, BaseUrl, JsonBody, Obj, PageParams, Params, parse_id};
use crate::{ApiError, AppState};

/// What a new request may carry.
const NEW_FIELDS: &[&str] = &["subject", "comment", "priority", "type", "custom_fields", "ticket_form_id", "due_at"];
/// What a change to a request may carry.
const CHANGE_FIELDS: &[&str] = &["comment", "solved"];
/// Fields a client sends back as it read them (its id, its times): accepted and ignored.
const READ_ONLY: &[&str] = &[
    "id",
    "url",
    "requester_id",
    "created_at",
    "updated_at",
    "can_be_solved_by_me",
    "is_public",
    "via",
];

/// Whether the caller may mark the request solved: their own, assigned, not yet done.
fn solvable_by(t: &Ticket, me: UserId) -> bool {
    t.requester_id == me && t.assignee_id.is_some() && !t.status.is_done()
}

/// A ticket as a request.
fn request(t: &Ticket, base: &BaseUrl, me: UserId) -> Value {
    let ticket = wire::ticket(t, base);
    let field = |k: &str| ticket.get(k).cloned().unwrap_or(Value::Null);
    json!({
        "id": t.id.0,
        "url": base.api(&format!("/requests/{}.json", t.id.0)),
        "subject": field("subject"),
        "description": field("description"),
        "status": field("status"),
        "priority": field("priority"),
        "type": field("type"),
        "requester_id": t.requester_id.0,
        "organization_id": field("organization_id"),
        "assignee_id": field("assignee_id"),
        "group_id": field("group_id"),
        "collaborator_ids": field("collaborator_ids"),
        "email_cc_ids": field("email_cc_ids"),
        "is_public": true,
        "due_at": field("due_at"),
        "can_be_solved_by_me": solvable_by(t, me),
        "solved": matches!(t.status, Status::Solved | Status::Closed),
        "custom_fields": field("custom_fields"),
        "fields": field("fields"),
        "via": field("via"),
        "recipient": null,
        "followup_source_id": null,
        "ticket_form_id": field("ticket_form_id"),
        "created_at": field("created_at"),
        "updated_at": field("updated_at"),
    })
}

/// A public comment as a request's.
fn request_comment(c: &Comment, ticket: i64, base: &BaseUrl) -> Value {
    let mut v = wire::comment(c, base);
    if let Value::Object(o) = &mut v {
        o.insert("request_id".into(), json!(ticket));
        o.insert("url".into(), json!(base.api(&format!("/requests/{ticket}/comments/{}.json", c.id.0))));
        o.remove("audit_id");
        o.remove("metadata");
    }
    v
}

/// The request `id`, if the caller made it or is CC'd on it (anything else is "not found").
async fn own(app: &AppState, scope: &Scope, id: &str) -> Result<Ticket, ApiError> {
    let t = app.helpdesk.get_ticket(scope, TicketId(parse_id(id)?)).await?;
    let me = scope.actor;
    if t.requester_id == me || t.collaborator_ids.contains(&me) || t.email_cc_ids.contains(&me) {
        Ok(t)
    } else {
        Err(ApiError::Helpdesk(suoja_helpdesk::HelpdeskError::NotFound("Request")))
    }
}

/// A list of requests under `path`.
fn request_page(page: &suoja_helpdesk::tickets::TicketPage, path: &str, pp: PageParams, base: &BaseUrl, params: &Params, me: UserId) -> Response {
    let first_last = page.tickets.first().zip(page.tickets.last()).map(|(a, b)| (a.id.0, b.id.0));
    let items = page.tickets.iter().map(|t| request(t, base, me)).collect();
    ok(list_body(
        ListPage {
            root: "requests",
            items,
            first_last,
            has_more: page.has_more,
            count: page.count,
            path: path.into(),
        },
        pp,
        base,
        params,
    ))
}

/// `?status=open,pending`: the statuses asked for.
fn statuses(params: &Params) -> Result<Vec<Status>, ApiError> {
    let Some(list) = params.get("status") else { return Ok(Vec::new()) };
    list.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            Status::parse(s.trim()).map_err(|_| {
                ApiError::BadRequest(format!(
                    "status: {} is not one of new, open, pending, hold, solved, closed",
                    s.trim().chars().take(40).collect::<String>()
                ))
            })
        })
        .collect()
}

async fn listed(app: &AppState, scope: &Scope, base: &BaseUrl, params: &Params, path: &str, ccd: bool, fixed: &[Status]) -> Result<Response, ApiError> {
    let pp = params.paging()?;
    let mut wanted = statuses(params)?;
    if !fixed.is_empty() {
        if wanted.is_empty() {
            wanted = fixed.to_vec();
        } else {
            wanted.retain(|s| fixed.contains(s));
            if wanted.is_empty() {
                // Asked for statuses this list never holds.
                let none = suoja_helpdesk::tickets::TicketPage::default();
                return Ok(request_page(&none, path, pp, base, params, scope.actor));
            }
        }
    }
    let page = app.helpdesk.list_requests(scope, ccd, &wanted, pp.to_paging()).await?;
    Ok(request_page(&page, path, pp, base, params, scope.actor))
}

/// `GET /requests` (`?status=` a comma-separated list): the caller's requests.
pub async fn index(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    listed(&app, &scope, &base, &params, "/requests", false, &[]).await
}

/// `GET /requests/open`: those not yet solved.
pub async fn open(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    let fixed = [Status::New, Status::Open, Status::Pending, Status::Hold];
    listed(&app, &scope, &base, &params, "/requests/open", false, &fixed).await
}

/// `GET /requests/solved`: those solved or closed.
pub async fn solved(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    listed(&app, &scope, &base, &params, "/requests/solved", false, &[Status::Solved, Status::Closed]).await
}

/// `GET /requests/ccd`: those the caller is CC'd on.
pub async fn ccd(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    listed(&app, &scope, &base, &params, "/requests/ccd", true, &[]).await
}

/// `GET /requests/search?query=`: the caller's requests matching words.
pub async fn search(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    let query = params.get("query").map(str::trim).unwrap_or_default();
    if query.is_empty() {
        return Err(ApiError::BadRequest("query: is required".into()));
    }
    if query.len() > 1000 {
        return Err(ApiError::BadRequest("query: at most 1000 characters".into()));
    }
    let page = params.int("page", 1, 1000)?.unwrap_or(1);
    let per_page = params.int("per_page", 1, 100)?.unwrap_or(100);
    // Staff could see every ticket: their requests are only those they asked themselves (an
    // end user's search already covers only what they may read).
    let own = if scope.is_staff() { "requester:me " } else { "" };
    let found = app.helpdesk.search(&scope, &format!("type:ticket {own}{query}"), page, per_page).await?;
    let me = scope.actor;
    let requests: Vec<Value> = found
        .results
        .iter()
        .filter_map(|h| match h {
            suoja_helpdesk::SearchHit::Ticket(t) if t.requester_id == me || t.collaborator_ids.contains(&me) || t.email_cc_ids.contains(&me) => {
                Some(request(t, &base, me))
            }
            _ => None,
        })
        .collect();
    let count = requests.len();
    Ok(ok(json!({"requests": requests, "count": count, "next_page": null, "previous_page": null})))
}

/// A request body's fields as the tickets' parser reads them.
fn as_ticket(req: &Obj<'_>, fields: &[&str]) -> Result<Map<String, Value>, ApiError> {
    let known: Vec<&str> = fields.iter().chain(READ_ONLY).copied().collect();
    req.only(&known)?;
    let mut t = Map::new();
    for k in fields.iter().filter(|k| **k != "solved") {
        if let Some(v) = req.raw(k) {
            t.insert((*k).to_string(), v.clone());
        }
    }
    // A request's comments are public: its requester's words, or an answer they see.
    if let Some(Value::Object(c)) = t.get_mut("comment") {
        if c.get("public").is_some_and(|p| p != &Value::Bool(true)) {
            return Err(ApiError::Field(
                "comment.public".into(),
                "comment.public: a request's comments are public".into(),
                "InvalidValue",
            ));
        }
        c.remove("public");
    }
    Ok(t)
}

/// `POST /requests` → 201 with the request.
pub async fn create(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, body: JsonBody) -> Result<Response, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["request"])?;
    let t = as_ticket(&root.object("request")?, NEW_FIELDS)?;
    let mut input = parse::ticket_input(&Obj::root(&t), true)?;
    // Opened by the person for themselves, whatever their role.
    input.requester = Some(suoja_helpdesk::model::RequesterRef::Id(scope.actor));
    let change = app.helpdesk.create_ticket(&scope, input).await?;
    let loc = base.api(&format!("/requests/{}.json", change.ticket.id.0));
    Ok(created(&loc, json!({"request": request(&change.ticket, &base, scope.actor)})))
}

/// `GET /requests/{id}`
pub async fn show(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
    let t = own(&app, &scope, &id).await?;
    Ok(ok(json!({"request": request(&t, &base, scope.actor)})))
}

/// `PUT /requests/{id}` with `{"request": {"comment": {…}, "solved": true}}` → 200.
pub async fn update(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>, body: JsonBody) -> Result<Response, ApiError> {
    let t = own(&app, &scope, &id).await?;
    let root = Obj::root(&body.0);
    root.only(&["request"])?;
    let req = root.object("request")?;
    let fields = as_ticket(&req, CHANGE_FIELDS)?;
    let mut input = parse::ticket_input(&Obj::root(&fields), false)?;
    if req.opt_bool("solved")? == Some(true) {
        if !solvable_by(&t, scope.actor) {
            return Err(ApiError::Field(
                "solved".into(),
                "solved: only its requester can mark a request solved, once it is assigned and not yet solved".into(),
                "InvalidValue",
            ));
        }
        input.status = Some(Status::Solved);
    }
    if input.comment.is_none() && input.status.is_none() {
        return Err(ApiError::Field(
            "comment".into(),
            "comment: a change adds a comment or marks the request solved".into(),
            "BlankValue",
        ));
    }
    let change = app.helpdesk.update_ticket(&scope, t.id, input).await?;
    Ok(ok(json!({"request": request(&change.ticket, &base, scope.actor)})))
}

/// `GET /requests/{id}/comments`: its public comments, oldest first, all on one page (paging
/// parameters are accepted and the answer says there is no more).
pub async fn comments(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
    let t = own(&app, &scope, &id).await?;
    let all = public_comments(&app, &scope, t.id).await?;
    let mut users: Vec<UserId> = all.iter().map(|c| c.author_id).collect();
    users.sort();
    users.dedup();
    let people = app.helpdesk.get_users(&scope, &users).await?;
    let items: Vec<Value> = all.iter().map(|c| request_comment(c, t.id.0, &base)).collect();
    let count = items.len();
    Ok(ok(json!({
        "comments": items,
        "users": people.iter().map(|u| wire::user(u, &base, &scope)).collect::<Vec<_>>(),
        "organizations": [],
        "next_page": null,
        "previous_page": null,
        "count": count,
        // All of them on one page, for clients that page by cursor.
        "meta": {"has_more": false, "after_cursor": null, "before_cursor": null},
        "links": {"next": null, "prev": null},
    })))
}

/// `GET /requests/{id}/comments/{comment_id}`
pub async fn comment(
    State(app): State<AppState>,
    Auth(scope): Auth,
    base: BaseUrl,
    Path((id, comment_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let t = own(&app, &scope, &id).await?;
    let cid = parse_id(&comment_id)?;
    let c = public_comments(&app, &scope, t.id)
        .await?
        .into_iter()
        .find(|c| c.id.0 == cid)
        .ok_or(ApiError::Helpdesk(suoja_helpdesk::HelpdeskError::NotFound("Comment")))?;
    Ok(ok(json!({"comment": request_comment(&c, t.id.0, &base)})))
}

/// Every public comment of a ticket the caller may read, oldest first (a request has at most a
/// few thousand; read in pages of 100).
async fn public_comments(app: &AppState, scope: &Scope, id: TicketId) -> Result<Vec<Comment>, ApiError> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = app.helpdesk.list_comments(scope, id, after, false, None, 100).await?;
        after = page.comments.last().map(|c| c.id.0);
        out.extend(page.comments.into_iter().filter(|c| c.public));
        if !page.has_more || after.is_none() || out.len() >= 5000 {
            break;
        }
    }
    Ok(out)
}
