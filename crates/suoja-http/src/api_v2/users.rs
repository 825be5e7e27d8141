//! `/api/v2/users…` and `/api/v2/deleted_users…`: users, search, and their ticket lists
//! (Zendesk reference §6.5).

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value, json};
use suoja_core::{Role, UserId};
use suoja_helpdesk::tickets::TicketList;

use super::{ListPage, created, list, ok, parse, wire};
use crate::extract::{Auth, BaseUrl, JsonBody, Obj, Params, parse_id};
use crate::{ApiError, AppState};

fn user_body(body: &JsonBody) -> Result<suoja_helpdesk::model::UserInput, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["user"])?;
    parse::user_input(&root.object("user")?)
}

/// `GET /users/me`
pub async fn me(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl) -> Result<Response, ApiError> {
    let u = app.helpdesk.get_user(&scope, scope.actor).await?;
    Ok(ok(json!({"user": wire::user(&u, &base, &scope)})))
}

/// `POST /users`
pub async fn create(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, body: JsonBody) -> Result<Response, ApiError> {
    let input = user_body(&body)?;
    let u = app.helpdesk.create_user(&scope, input).await?;
    Ok(created(
        &base.api(&format!("/users/{}.json", u.id.0)),
        json!({"user": wire::user(&u, &base, &scope)}),
    ))
}

/// `GET /users/{id}`
pub async fn show(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
    let u = app.helpdesk.get_user(&scope, UserId(parse_id(&id)?)).await?;
    Ok(ok(json!({"user": wire::user(&u, &base, &scope)})))
}

/// `GET /users/show_many?ids=` or `?external_ids=` (comma-separated, at most 100)
pub async fn show_many(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    let users = match external_ids(&params, false)? {
        Some(ext) => app.helpdesk.users_by_external_ids(&scope, &ext).await?,
        None => {
            let ids: Vec<UserId> = params.ids("ids")?.into_iter().map(UserId).collect();
            app.helpdesk.get_users(&scope, &ids).await?
        }
    };
    Ok(ok(json!({"users": users.iter().map(|u| wire::user(u, &base, &scope)).collect::<Vec<_>>()})))
}

/// `?external_ids=` (1 to 100, comma-separated, up to 1 024 characters each, as a person's may
/// be), unless `?ids=` is given instead. An id given twice (in any case, as they are compared)
/// counts once. For a job (`strict`), an empty entry or a repeated id is refused, so each item's
/// `index` is its place in the list as given; a lookup skips them.
fn external_ids(params: &Params, strict: bool) -> Result<Option<Vec<String>>, ApiError> {
    match params.get("external_ids") {
        Some(list) if params.get("ids").is_none() => {
            let bad = || ApiError::BadRequest("external_ids: 1 to 100 external ids, comma-separated, none empty".into());
            let mut ext: Vec<String> = Vec::new();
            for e in list.split(',').map(str::trim) {
                if e.chars().count() > 1024 || (strict && e.is_empty()) {
                    return Err(bad());
                }
                if e.is_empty() {
                    continue;
                }
                if ext.iter().any(|x| x.to_lowercase() == e.to_lowercase()) {
                    if strict {
                        return Err(ApiError::BadRequest("external_ids: give each external id once".into()));
                    }
                    continue;
                }
                ext.push(e.to_string());
            }
            if ext.is_empty() || ext.len() > 100 {
                return Err(bad());
            }
            Ok(Some(ext))
        }
        Some(_) => Err(ApiError::BadRequest("give ids or external_ids, not both".into())),
        None => Ok(None),
    }
}

/// `POST /users/create_or_update_many` with `{"users": [{…}, …]}` → 200 with a job status:
/// each found by e-mail, then external id, and changed, or created.
pub async fn create_or_update_many(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, body: JsonBody) -> Result<Response, ApiError> {
    if !scope.is_staff() {
        return Err(suoja_helpdesk::HelpdeskError::Forbidden("only staff create users in bulk").into());
    }
    let inputs = super::bulk::items(&body, "users", parse::user_input)?;
    let job = app.helpdesk.create_or_update_many_users(&scope, inputs).await?;
    Ok(ok(json!({"job_status": wire::job(&job, &base)})))
}

/// `DELETE /users/destroy_many?ids=` or `?external_ids=` → 200 with a job status (each person
/// soft-deleted, as `DELETE /users/{id}`).
pub async fn destroy_many(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    if !scope.is_staff() {
        return Err(suoja_helpdesk::HelpdeskError::Forbidden("only staff delete users in bulk").into());
    }
    let ids = match external_ids(&params, true)? {
        Some(ext) => app.helpdesk.user_ids_by_external_ids(&scope, &ext).await?,
        None => {
            let mut ids = params.ids("ids")?;
            if ids.is_empty() {
                return Err(ApiError::BadRequest("ids: name 1 to 100 ids, comma-separated".into()));
            }
            let mut seen = std::collections::BTreeSet::new();
            ids.retain(|id| seen.insert(*id));
            ids.into_iter().map(|i| Some(UserId(i))).collect()
        }
    };
    let job = app.helpdesk.delete_many_users(&scope, ids).await?;
    Ok(ok(json!({"job_status": wire::job(&job, &base)})))
}

/// `POST /users/create_many` with `{"users": [{…}, …]}` → 200 with a job status.
pub async fn create_many(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, body: JsonBody) -> Result<Response, ApiError> {
    if !scope.is_staff() {
        return Err(suoja_helpdesk::HelpdeskError::Forbidden("only staff create users in bulk").into());
    }
    let inputs = super::bulk::items(&body, "users", parse::user_input)?;
    let job = app.helpdesk.create_many_users(&scope, inputs).await?;
    Ok(ok(json!({"job_status": wire::job(&job, &base)})))
}

/// `POST /users/create_or_update` with `{"user": {…}}` → 201 with a new user, or 200 with the
/// one found by `email` (or, without one, `external_id`) and changed.
pub async fn create_or_update(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, body: JsonBody) -> Result<Response, ApiError> {
    if !scope.is_staff() {
        return Err(suoja_helpdesk::HelpdeskError::Forbidden("only staff create users").into());
    }
    let input = user_body(&body)?;
    let (u, new) = app.helpdesk.create_or_update_user(&scope, input).await?;
    let body = json!({"user": wire::user(&u, &base, &scope)});
    Ok(if new {
        created(&base.api(&format!("/users/{}.json", u.id.0)), body)
    } else {
        ok(body)
    })
}

/// `PUT /users/update_many?ids=1,2` (or `?external_ids=a,b`) with `{"user": {…}}`, or with
/// `{"users": [{"id": 1, …}, …]}` → 200 with a job status.
pub async fn update_many(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params, body: JsonBody) -> Result<Response, ApiError> {
    if !scope.is_staff() {
        return Err(suoja_helpdesk::HelpdeskError::Forbidden("only staff change users in bulk").into());
    }
    if let Some(ext) = external_ids(&params, true)? {
        let root = Obj::root(&body.0);
        root.only(&["user"])?;
        let input = parse::user_input(&root.object("user")?)?;
        let job = app.helpdesk.update_many_users_by_external_ids(&scope, &ext, input).await?;
        return Ok(ok(json!({"job_status": wire::job(&job, &base)})));
    }
    let items = super::bulk::changes(&body, &params, "user", "users", parse::user_input)?;
    let items = items.into_iter().map(|(id, u)| (UserId(id), u)).collect();
    let job = app.helpdesk.update_many_users(&scope, items).await?;
    Ok(ok(json!({"job_status": wire::job(&job, &base)})))
}

/// `PUT /users/{id}`
pub async fn update(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>, body: JsonBody) -> Result<Response, ApiError> {
    let id = UserId(parse_id(&id)?);
    let input = user_body(&body)?;
    let u = app.helpdesk.update_user(&scope, id, input).await?;
    Ok(ok(json!({"user": wire::user(&u, &base, &scope)})))
}

/// `DELETE /users/{id}` (soft delete; 200 with the deactivated user)
pub async fn delete(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
    let u = app.helpdesk.delete_user(&scope, UserId(parse_id(&id)?)).await?;
    Ok(ok(json!({"user": wire::user(&u, &base, &scope)})))
}

async fn list_users(
    app: &AppState,
    scope: suoja_core::Scope,
    base: &BaseUrl,
    params: &Params,
    deleted: bool,
    root: &str,
    path: &str,
) -> Result<Response, ApiError> {
    let pp = params.paging()?;
    let mut roles = params
        .0
        .iter()
        .filter(|(k, _)| k.as_str() == "role" || k.as_str() == "role[]")
        .map(|(_, v)| Role::parse(v).map_err(|e| ApiError::BadRequest(format!("role {}", e.0))))
        .collect::<Result<Vec<Role>, ApiError>>()?;
    roles.sort();
    roles.dedup();
    let page = app.helpdesk.list_users(&scope, roles, deleted, pp.to_paging()).await?;
    let first_last = page.users.first().zip(page.users.last()).map(|(a, b)| (a.id.0, b.id.0));
    let items = page.users.iter().map(|u| wire::user(u, base, &scope)).collect();
    Ok(list(
        ListPage {
            root,
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

/// `GET /users`
pub async fn index(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    list_users(&app, scope, &base, &params, false, "users", "/users").await
}

/// `GET /deleted_users`
pub async fn deleted_index(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    list_users(&app, scope, &base, &params, true, "deleted_users", "/deleted_users").await
}

/// `GET /deleted_users/{id}`
pub async fn deleted_show(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
    if !scope.is_staff() {
        return Err(ApiError::NotFound);
    }
    let u = app.helpdesk.get_user(&scope, UserId(parse_id(&id)?)).await?;
    if u.deleted_at.is_none() {
        return Err(ApiError::NotFound);
    }
    Ok(ok(json!({"deleted_user": wire::user(&u, &base, &scope)})))
}

/// `GET /users/search?query=`
pub async fn search(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    let q = params.get("query").or_else(|| params.get("external_id")).unwrap_or("");
    if q.trim().is_empty() {
        return Err(ApiError::BadRequest("query is required".into()));
    }
    if q.len() > 1024 {
        return Err(ApiError::BadRequest("query is too long".into()));
    }
    let users = app.helpdesk.search_users(&scope, q).await?;
    let items: Vec<Value> = users.iter().map(|u| wire::user(u, &base, &scope)).collect();
    let n = items.len();
    Ok(ok(json!({"users": items, "count": n, "next_page": null, "previous_page": null})))
}

async fn user_tickets(
    app: AppState,
    scope: suoja_core::Scope,
    base: BaseUrl,
    params: Params,
    id: String,
    which: fn(UserId) -> TicketList,
    tail: &str,
) -> Result<Response, ApiError> {
    let uid = parse_id(&id)?;
    let pp = params.paging()?;
    let page = app.helpdesk.list_tickets(&scope, which(UserId(uid)), pp.to_paging()).await?;
    Ok(super::tickets::ticket_page(&page, format!("/users/{uid}/tickets/{tail}"), pp, &base, &params))
}

/// `GET /users/{id}/tickets/requested`
pub async fn requested(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params, Path(id): Path<String>) -> Result<Response, ApiError> {
    user_tickets(app, scope, base, params, id, TicketList::Requested, "requested").await
}

/// `GET /users/{id}/tickets/ccd`
pub async fn ccd(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params, Path(id): Path<String>) -> Result<Response, ApiError> {
    user_tickets(app, scope, base, params, id, TicketList::Ccd, "ccd").await
}

/// `GET /users/{id}/tickets/assigned`
pub async fn assigned(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params, Path(id): Path<String>) -> Result<Response, ApiError> {
    user_tickets(app, scope, base, params, id, TicketList::Assigned, "assigned").await
}

/// `GET /users/{id}/identities` (staff, or the person themselves): the address and phone.
pub async fn identities(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
    let u = app.helpdesk.get_user(&scope, UserId(parse_id(&id)?)).await?;
    let items = wire::identities(&u, &base);
    let n = items.len();
    Ok(ok(json!({"identities": items, "count": n, "next_page": null, "previous_page": null})))
}

/// `GET /users/{id}/identities/{identity_id}`
pub async fn identity(
    State(app): State<AppState>,
    Auth(scope): Auth,
    base: BaseUrl,
    Path((id, identity)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let identity = parse_id(&identity)?;
    let u = app.helpdesk.get_user(&scope, UserId(parse_id(&id)?)).await?;
    let found = wire::identities(&u, &base)
        .into_iter()
        .find(|i| i["id"].as_i64() == Some(identity))
        .ok_or(ApiError::NotFound)?;
    Ok(ok(json!({"identity": found})))
}
