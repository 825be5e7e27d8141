//! `/api/v2/groups…`.

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::json;
use suoja_core::GroupId;

use super::{ListPage, created, list, no_content, ok, wire};
use crate::extract::{Auth, BaseUrl, JsonBody, Obj, PageParams, Params, parse_id};
use crate::{ApiError, AppState};

fn group_body(body: &JsonBody) -> Result<(Option<String>, Option<Option<String>>), ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["group"])?;
    let g = root.object("group")?;
    g.only(&[
        "id",
        "url",
        "name",
        "description",
        "default",
        "deleted",
        "is_public",
        "created_at",
        "updated_at",
    ])?;
    Ok((g.opt_str("name", 255)?, g.nullable_str("description", 4096)?))
}

/// `GET /groups`
pub async fn index(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    let pp = params.paging()?;
    let (after, limit, offset, size) = match pp {
        PageParams::Cursor { size, after, .. } => (after, size + 1, 0, size),
        PageParams::Offset { page, per_page } => (None, per_page + 1, (page - 1) * per_page, per_page),
    };
    let (mut groups, count) = app.helpdesk.list_groups(&scope, after, limit, offset).await?;
    let has_more = suoja_core::num::to_i64(groups.len()) > size;
    groups.truncate(suoja_core::num::to_usize(size));
    let first_last = groups.first().zip(groups.last()).map(|(a, b)| (a.id.0, b.id.0));
    let items = groups.iter().map(|g| wire::group(g, &base)).collect();
    let pp = match pp {
        PageParams::Cursor { size, after, .. } => PageParams::Cursor { size, after, before: None },
        other => other,
    };
    Ok(list(
        ListPage {
            root: "groups",
            items,
            first_last,
            has_more,
            count,
            path: "/groups".into(),
        },
        pp,
        &base,
        &params,
    ))
}

/// `POST /groups`
pub async fn create(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, body: JsonBody) -> Result<Response, ApiError> {
    let (name, description) = group_body(&body)?;
    let g = app
        .helpdesk
        .create_group(&scope, name.as_deref().unwrap_or(""), description.flatten().as_deref())
        .await?;
    Ok(created(
        &base.api(&format!("/groups/{}.json", g.id.0)),
        json!({"group": wire::group(&g, &base)}),
    ))
}

/// `GET /groups/{id}`
pub async fn show(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
    let g = app.helpdesk.get_group(&scope, GroupId(parse_id(&id)?)).await?;
    Ok(ok(json!({"group": wire::group(&g, &base)})))
}

/// `PUT /groups/{id}`
pub async fn update(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>, body: JsonBody) -> Result<Response, ApiError> {
    let id = GroupId(parse_id(&id)?);
    let (name, description) = group_body(&body)?;
    let g = app
        .helpdesk
        .update_group(&scope, id, name.as_deref(), description.as_ref().map(|d| d.as_deref()))
        .await?;
    Ok(ok(json!({"group": wire::group(&g, &base)})))
}

/// `DELETE /groups/{id}` → 204
pub async fn delete(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    app.helpdesk.delete_group(&scope, GroupId(parse_id(&id)?)).await?;
    Ok(no_content())
}
