//! `/api/v2/deleted_tickets…` (Zendesk reference §6.4): the trash, restore and permanent
//! deletion.

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::json;
use suoja_core::TicketId;
use suoja_helpdesk::tickets::TicketList;

use super::{ListPage, list, ok, wire};
use crate::extract::{Auth, BaseUrl, Params, parse_id};
use crate::{ApiError, AppState};

/// `GET /deleted_tickets`
pub async fn index(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    let pp = params.paging()?;
    let page = app.helpdesk.list_tickets(&scope, TicketList::Deleted, pp.to_paging()).await?;
    let first_last = page.tickets.first().zip(page.tickets.last()).map(|(a, b)| (a.id.0, b.id.0));
    let items = page
        .tickets
        .iter()
        .map(|t| {
            json!({
                "id": t.id.0,
                "subject": t.subject.as_ref().map(|s| s.expose().clone()),
                "description": t.description.expose(),
                "actor": {"id": t.deleted_by.map(|u| u.0), "name": null},
                "deleted_at": t.deleted_at.map(|d| d.to_iso()),
                "previous_state": t.status.as_str(),
            })
        })
        .collect();
    Ok(list(
        ListPage {
            root: "deleted_tickets",
            items,
            first_last,
            has_more: page.has_more,
            count: page.count,
            path: "/deleted_tickets".into(),
        },
        pp,
        &base,
        &params,
    ))
}

/// `PUT /deleted_tickets/{id}/restore` → 200, empty
pub async fn restore(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    app.helpdesk.restore_ticket(&scope, TicketId(parse_id(&id)?)).await?;
    Ok(super::empty_ok())
}

/// `PUT /deleted_tickets/restore_many?ids=1,2` → 200, empty; all or none (at most 100).
pub async fn restore_many(State(app): State<AppState>, Auth(scope): Auth, params: Params) -> Result<Response, ApiError> {
    // Who may ask comes before what was asked.
    if !scope.is_staff() {
        return Err(suoja_helpdesk::HelpdeskError::Forbidden("only staff restore tickets").into());
    }
    let ids = params.ids("ids")?;
    if ids.is_empty() || ids.len() > 100 {
        return Err(ApiError::BadRequest("ids: 1 to 100 ticket ids, comma-separated".into()));
    }
    let ids: Vec<TicketId> = ids.into_iter().map(TicketId).collect();
    app.helpdesk.restore_tickets(&scope, &ids).await?;
    Ok(super::empty_ok())
}

/// `DELETE /deleted_tickets/{id}` → 200 with a job status
pub async fn destroy(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    app.privacy.purge_ticket(&scope, TicketId(id)).await?;
    let job = app
        .helpdesk
        .record_job(
            &scope,
            "completed",
            vec![json!({"id": id, "action": "delete", "success": true, "status": "Deleted"})],
            None,
        )
        .await?;
    Ok(ok(json!({"job_status": wire::job(&job, &base)})))
}

/// `GET /deleted_users/count`: `{"count": {"value", "refreshed_at"}}` as Zendesk's counts.
pub async fn users_count(State(app): State<AppState>, Auth(scope): Auth) -> Result<Response, ApiError> {
    let n = app.helpdesk.count_users(&scope, true).await?;
    Ok(ok(json!({"count": {"value": n, "refreshed_at": app.helpdesk.now().to_iso()}})))
}

/// `DELETE /deleted_tickets/destroy_many?ids=1,2` → 200 with a job status; each trashed
/// ticket is deleted permanently as `DELETE /deleted_tickets/{id}` would, or its result says
/// why not.
pub async fn destroy_many(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    if !scope.is_staff() {
        return Err(suoja_helpdesk::HelpdeskError::Forbidden("only agents and admins can do this").into());
    }
    let ids: Vec<TicketId> = params.ids("ids")?.into_iter().map(TicketId).collect();
    let job = app.privacy.purge_tickets(&scope, &ids).await?;
    Ok(ok(json!({"job_status": wire::job(&job, &base)})))
}
