//! Memberships (Zendesk's shapes). `/api/v2/organization_memberships…`: which organisation
//! people belong to. A person belongs to one organisation here, so a membership is named by
//! the person's id; the list, show, create and delete calls read and change the person's
//! `organization_id`. `/api/v2/group_memberships…`: which agents work in which group, rows of
//! their own.

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value, json};
use suoja_core::{GroupId, OrganizationId, UserId};
use suoja_helpdesk::model::User;

use super::{ListPage, created, cut_page, id_window, list, no_content, ok};
use crate::extract::{Auth, BaseUrl, JsonBody, Obj, Params, parse_id};
use crate::{ApiError, AppState};

fn membership(u: &User, base: &BaseUrl) -> Value {
    json!({
        "id": u.id.0,
        "url": base.api(&format!("/organization_memberships/{}.json", u.id.0)),
        "user_id": u.id.0,
        "organization_id": u.organization_id.map(|o| o.0),
        "default": true,
        "view_tickets": true,
        "created_at": u.created_at.to_iso(),
        "updated_at": u.updated_at.to_iso(),
    })
}

async fn page(
    app: &AppState,
    scope: suoja_core::Scope,
    base: &BaseUrl,
    params: &Params,
    user: Option<UserId>,
    org: Option<OrganizationId>,
    path: String,
) -> Result<Response, ApiError> {
    let pp = params.paging()?;
    let (after, limit, offset, size) = id_window(pp)?;
    let (mut people, count) = app.helpdesk.org_memberships(&scope, user, org, after, limit, offset).await?;
    let (has_more, first_last) = cut_page(&mut people, size, |u| u.id.0);
    let items = people.iter().map(|u| membership(u, base)).collect();
    Ok(list(
        ListPage {
            root: "organization_memberships",
            items,
            first_last,
            has_more,
            count,
            path,
        },
        pp,
        base,
        params,
    ))
}

/// `GET /organization_memberships` (staff)
pub async fn index(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    if !scope.is_staff() {
        return Err(suoja_helpdesk::HelpdeskError::Forbidden("only staff list organization memberships").into());
    }
    page(&app, scope, &base, &params, None, None, "/organization_memberships".into()).await
}

/// `GET /users/{id}/organization_memberships` (staff, or the person themselves)
pub async fn of_user(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    page(
        &app,
        scope,
        &base,
        &params,
        Some(UserId(id)),
        None,
        format!("/users/{id}/organization_memberships"),
    )
    .await
}

/// `GET /organizations/{id}/organization_memberships` (staff)
pub async fn of_organization(
    State(app): State<AppState>,
    Auth(scope): Auth,
    base: BaseUrl,
    params: Params,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if !scope.is_staff() {
        return Err(suoja_helpdesk::HelpdeskError::Forbidden("only staff list organization memberships").into());
    }
    let id = parse_id(&id)?;
    page(
        &app,
        scope,
        &base,
        &params,
        None,
        Some(OrganizationId(id)),
        format!("/organizations/{id}/organization_memberships"),
    )
    .await
}

/// `GET /organization_memberships/{id}`
pub async fn show(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = UserId(parse_id(&id)?);
    let (people, _) = app.helpdesk.org_memberships(&scope, Some(id), None, None, 1, 0).await?;
    let u = people.first().ok_or(ApiError::NotFound)?;
    Ok(ok(json!({"organization_membership": membership(u, &base)})))
}

/// `POST /organization_memberships` with `{"organization_membership": {"user_id", "organization_id"}}` → 201
pub async fn create(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, body: JsonBody) -> Result<Response, ApiError> {
    if !scope.is_staff() {
        return Err(suoja_helpdesk::HelpdeskError::Forbidden("only staff change organization memberships").into());
    }
    let root = Obj::root(&body.0);
    root.only(&["organization_membership"])?;
    let m = root.object("organization_membership")?;
    m.only(&["user_id", "organization_id", "default", "view_tickets"])?;
    let user = m
        .opt_id("user_id")?
        .ok_or_else(|| ApiError::Field("user_id".into(), "user_id: is required".into(), "BlankValue"))?;
    let org = m
        .opt_id("organization_id")?
        .ok_or_else(|| ApiError::Field("organization_id".into(), "organization_id: is required".into(), "BlankValue"))?;
    let u = app.helpdesk.add_org_membership(&scope, UserId(user), OrganizationId(org)).await?;
    Ok(created(
        &base.api(&format!("/organization_memberships/{}.json", u.id.0)),
        json!({"organization_membership": membership(&u, &base)}),
    ))
}

/// `DELETE /organization_memberships/{id}` → 204
pub async fn delete(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    app.helpdesk.remove_org_membership(&scope, UserId(parse_id(&id)?)).await?;
    Ok(no_content())
}

fn group_membership(m: &suoja_store::groups::MembershipRow, base: &BaseUrl) -> Value {
    json!({
        "id": m.id,
        "url": base.api(&format!("/group_memberships/{}.json", m.id)),
        "user_id": m.user_id.0,
        "group_id": m.group_id.0,
        "default": m.is_default,
        "created_at": m.created_at.to_iso(),
        "updated_at": m.updated_at.to_iso(),
    })
}

async fn group_page(
    app: &AppState,
    scope: suoja_core::Scope,
    base: &BaseUrl,
    params: &Params,
    user: Option<UserId>,
    group: Option<GroupId>,
    path: String,
) -> Result<Response, ApiError> {
    let pp = params.paging()?;
    let (after, limit, offset, size) = id_window(pp)?;
    let (mut rows, count) = app.helpdesk.group_memberships(&scope, user, group, after, limit, offset).await?;
    let (has_more, first_last) = cut_page(&mut rows, size, |m| m.id);
    let items = rows.iter().map(|m| group_membership(m, base)).collect();
    Ok(list(
        ListPage {
            root: "group_memberships",
            items,
            first_last,
            has_more,
            count,
            path,
        },
        pp,
        base,
        params,
    ))
}

/// `GET /group_memberships` (staff)
pub async fn groups_index(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    group_page(&app, scope, &base, &params, None, None, "/group_memberships".into()).await
}

/// `GET /users/{id}/group_memberships` (staff)
pub async fn groups_of_user(
    State(app): State<AppState>,
    Auth(scope): Auth,
    base: BaseUrl,
    params: Params,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    group_page(&app, scope, &base, &params, Some(UserId(id)), None, format!("/users/{id}/group_memberships")).await
}

/// `PUT /users/{user_id}/group_memberships/{id}/make_default` (admins) → the agent's
/// memberships, the one named now their default.
pub async fn group_make_default(
    State(app): State<AppState>,
    Auth(scope): Auth,
    base: BaseUrl,
    params: Params,
    Path((user, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let user = parse_id(&user)?;
    app.helpdesk.make_default_group_membership(&scope, UserId(user), parse_id(&id)?).await?;
    group_page(
        &app,
        scope,
        &base,
        &params,
        Some(UserId(user)),
        None,
        format!("/users/{user}/group_memberships"),
    )
    .await
}

/// `GET /groups/{id}/memberships` (staff)
pub async fn of_group(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    group_page(&app, scope, &base, &params, None, Some(GroupId(id)), format!("/groups/{id}/memberships")).await
}

/// `GET /group_memberships/{id}` (staff)
pub async fn group_show(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
    let m = app.helpdesk.group_membership(&scope, parse_id(&id)?).await?;
    Ok(ok(json!({"group_membership": group_membership(&m, &base)})))
}

/// `POST /group_memberships` with `{"group_membership": {"user_id", "group_id"}}` → 201 (admins)
pub async fn group_create(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, body: JsonBody) -> Result<Response, ApiError> {
    if !scope.is_admin() {
        return Err(suoja_helpdesk::HelpdeskError::Forbidden("only admins change group memberships").into());
    }
    let root = Obj::root(&body.0);
    root.only(&["group_membership"])?;
    let m = root.object("group_membership")?;
    m.only(&["user_id", "group_id", "default"])?;
    let user = m
        .opt_id("user_id")?
        .ok_or_else(|| ApiError::Field("user_id".into(), "user_id: is required".into(), "BlankValue"))?;
    let group = m
        .opt_id("group_id")?
        .ok_or_else(|| ApiError::Field("group_id".into(), "group_id: is required".into(), "BlankValue"))?;
    let row = app.helpdesk.add_group_membership(&scope, UserId(user), GroupId(group)).await?;
    Ok(created(
        &base.api(&format!("/group_memberships/{}.json", row.id)),
        json!({"group_membership": group_membership(&row, &base)}),
    ))
}

/// `DELETE /group_memberships/{id}` → 204 (admins)
pub async fn group_delete(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    app.helpdesk.remove_group_membership(&scope, parse_id(&id)?).await?;
    Ok(no_content())
}
