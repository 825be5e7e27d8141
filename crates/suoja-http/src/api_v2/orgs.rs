//! `/api/v2/organizations…` (Zendesk reference §6.6).

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::json;
use suoja_core::OrganizationId;
use suoja_helpdesk::tickets::TicketList;

use super::{ListPage, created, list, no_content, ok, parse, wire};
use crate::extract::{Auth, BaseUrl, JsonBody, Obj, PageParams, Params, parse_id};
use crate::{ApiError, AppState};

fn org_body(body: &JsonBody) -> Result<suoja_helpdesk::orgs::OrgInput, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["organization"])?;
    parse::org_input(&root.object("organization")?)
}

/// `GET /organizations`
pub async fn index(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    let pp = params.paging()?;
    let (after, limit, offset, size) = match pp {
        PageParams::Cursor { size, after, .. } => (after, size + 1, 0, size),
        PageParams::Offset { page, per_page } => (None, per_page + 1, (page - 1) * per_page, per_page),
    };
    let (mut orgs, count) = app.helpdesk.list_orgs(&scope, after, limit, offset).await?;
    let has_more = suoja_core::num::to_i64(orgs.len()) > size;
    orgs.truncate(suoja_core::num::to_usize(size));
    let first_last = orgs.first().zip(orgs.last()).map(|(a, b)| (a.id.0, b.id.0));
    let items = orgs.iter().map(|o| wire::organization(o, &base)).collect();
    let pp = match pp {
        PageParams::Cursor { size, after, .. } => PageParams::Cursor { size, after, before: None },
        other => other,
    };
    Ok(list(
        ListPage {
            root: "organizations",
            items,
            first_last,
            has_more,
            count,
            path: "/organizations".into(),
        },
        pp,
        &base,
        &params,
    ))
}

/// `POST /organizations`
pub async fn create(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, body: JsonBody) -> Result<Response, ApiError> {
    let o = app.helpdesk.create_org(&scope, org_body(&body)?).await?;
    Ok(created(
        &base.api(&format!("/organizations/{}.json", o.id.0)),
        json!({"organization": wire::organization(&o, &base)}),
    ))
}

/// `POST /organizations/create_many` with `{"organizations": [{…}, …]}` → 200 with a job
/// status.
pub async fn create_many(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, body: JsonBody) -> Result<Response, ApiError> {
    if !scope.is_staff() {
        return Err(suoja_helpdesk::HelpdeskError::Forbidden("only staff create organizations").into());
    }
    let inputs = super::bulk::items(&body, "organizations", parse::org_input)?;
    let job = app.helpdesk.create_many_orgs(&scope, inputs).await?;
    Ok(ok(json!({"job_status": wire::job(&job, &base)})))
}

/// `GET /organizations/show_many?ids=` or `?external_ids=` (comma-separated, at most 100)
pub async fn show_many(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    // Who may ask comes before what was asked.
    if !scope.is_staff() {
        return Err(suoja_helpdesk::HelpdeskError::Forbidden("only staff read organizations").into());
    }
    let (ids, ext) = match (params.get("ids"), params.get("external_ids")) {
        (Some(_), None) => (params.ids("ids")?.into_iter().map(OrganizationId).collect(), Vec::new()),
        (None, Some(list)) => {
            let mut ext: Vec<String> = list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
            ext.dedup();
            if ext.len() > 100 || ext.iter().any(|e| e.chars().count() > 255) {
                return Err(ApiError::BadRequest("external_ids: 1 to 100 external ids, comma-separated".into()));
            }
            (Vec::new(), ext)
        }
        _ => return Err(ApiError::BadRequest("give ids or external_ids (one of them)".into())),
    };
    if ids.is_empty() && ext.is_empty() {
        return Err(ApiError::BadRequest("ids: name 1 to 100 ids, comma-separated".into()));
    }
    let orgs = app.helpdesk.orgs_by(&scope, &ids, &ext).await?;
    Ok(ok(
        json!({"organizations": orgs.iter().map(|o| wire::organization(o, &base)).collect::<Vec<_>>()}),
    ))
}

/// `GET /organizations/{id}`
pub async fn show(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
    let o = app.helpdesk.get_org(&scope, OrganizationId(parse_id(&id)?)).await?;
    Ok(ok(json!({"organization": wire::organization(&o, &base)})))
}

/// `PUT /organizations/{id}`
pub async fn update(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>, body: JsonBody) -> Result<Response, ApiError> {
    let id = OrganizationId(parse_id(&id)?);
    let o = app.helpdesk.update_org(&scope, id, org_body(&body)?).await?;
    Ok(ok(json!({"organization": wire::organization(&o, &base)})))
}

/// `DELETE /organizations/{id}` → 204
pub async fn delete(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    app.helpdesk.delete_org(&scope, OrganizationId(parse_id(&id)?)).await?;
    Ok(no_content())
}

/// `GET /organizations/search?name=|external_id=`
pub async fn search(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    let name = params.get("name");
    let ext = params.get("external_id");
    if name.is_none() && ext.is_none() {
        return Err(ApiError::BadRequest("name or external_id is required".into()));
    }
    let orgs = app.helpdesk.find_orgs(&scope, name, ext).await?;
    Ok(ok(
        json!({"organizations": orgs.iter().map(|o| wire::organization(o, &base)).collect::<Vec<_>>(), "count": orgs.len(), "next_page": null, "previous_page": null}),
    ))
}

/// `GET /organizations/{id}/tickets`
pub async fn tickets(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params, Path(id): Path<String>) -> Result<Response, ApiError> {
    let oid = parse_id(&id)?;
    let pp = params.paging()?;
    let page = app
        .helpdesk
        .list_tickets(&scope, TicketList::Organization(OrganizationId(oid)), pp.to_paging())
        .await?;
    Ok(super::tickets::ticket_page(&page, format!("/organizations/{oid}/tickets"), pp, &base, &params))
}
