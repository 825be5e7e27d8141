//! The user and organisation pages.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use suoja_core::{OrganizationId, UserId};
use suoja_helpdesk::tickets::TicketList;
use suoja_helpdesk::users::Paging;

use super::{TicketItem, items};
use crate::AppState;
use crate::web::ctx::Ctx;
use crate::web::{Chrome, Failure, render};

#[derive(Template)]
#[template(path = "agent/user.html")]
pub(super) struct UserPage {
    c: Chrome,
    name: String,
    email: String,
    phone: String,
    role: String,
    org: Option<(i64, String)>,
    tickets: Vec<TicketItem>,
    id: i64,
}

pub(super) async fn user(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> Result<Response, Failure> {
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
pub(super) struct OrgPage {
    c: Chrome,
    name: String,
    details: String,
    domains: String,
    tickets: Vec<TicketItem>,
}

pub(super) async fn organization(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> Result<Response, Failure> {
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
