//! `/api/v2/search` and `/api/v2/search/count` (Zendesk reference §6.7): offset pages of mixed
//! results, each with its `result_type`; `/api/v2/search/export`: every match of one type in
//! cursor pages.

use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};
use suoja_helpdesk::SearchHit;
use suoja_helpdesk::{SearchSort, SortField};

use super::{ok, wire};
use crate::extract::params_helpers::with_params;
use crate::extract::{Auth, BaseUrl, Params};
use crate::{ApiError, AppState};

fn query(params: &Params) -> Result<String, ApiError> {
    let mut q = params.get("query").unwrap_or("").to_string();
    if q.len() > 2048 {
        return Err(ApiError::BadRequest("query is too long".into()));
    }
    if let Some(t) = params.get("filter[type]")
        && !q.contains("type:")
    {
        q.push_str(&format!(" type:{t}"));
    }
    if q.trim().is_empty() {
        return Err(ApiError::BadRequest("query is required".into()));
    }
    Ok(q)
}

/// `sort_by` and `sort_order` as Zendesk documents them: without `sort_by`, best match first.
fn sort(params: &Params) -> Result<SearchSort, ApiError> {
    let desc = match params.get("sort_order") {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(_) => return Err(ApiError::BadRequest("sort_order must be asc or desc".into())),
    };
    let field = match params.get("sort_by") {
        None | Some("") | Some("relevance") => return Ok(SearchSort::Relevance),
        Some("updated_at") => SortField::UpdatedAt,
        Some("created_at") => SortField::CreatedAt,
        Some("priority") => SortField::Priority,
        Some("status") => SortField::Status,
        Some("ticket_type") => SortField::TicketType,
        Some(_) => {
            return Err(ApiError::BadRequest(
                "sort_by must be updated_at, created_at, priority, status or ticket_type".into(),
            ));
        }
    };
    Ok(SearchSort::Field(field, desc))
}

/// `GET /search?query=`
pub async fn search(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    let q = query(&params)?;
    let page = params.int("page", 1, 1000)?.unwrap_or(1);
    let per_page = params.int("per_page", 1, 100)?.unwrap_or(100);
    let order = sort(&params)?;
    let res = app.helpdesk.search_sorted(&scope, &q, order, page, per_page).await?;
    let results = hits(&res.results, &base, &scope);
    let shown = (page * per_page).min(suoja_helpdesk::MAX_SEARCH_RESULTS);
    let next = (shown < res.count.min(suoja_helpdesk::MAX_SEARCH_RESULTS)).then(|| {
        with_params(
            &base.0,
            "/search",
            &params,
            &[("page", (page + 1).to_string()), ("per_page", per_page.to_string())],
        )
    });
    let prev = (page > 1).then(|| {
        with_params(
            &base.0,
            "/search",
            &params,
            &[("page", (page - 1).to_string()), ("per_page", per_page.to_string())],
        )
    });
    Ok(ok(
        json!({"results": results, "count": res.count, "next_page": next, "previous_page": prev, "facets": null}),
    ))
}

/// `GET /search/count?query=`
pub async fn count(State(app): State<AppState>, Auth(scope): Auth, params: Params) -> Result<Response, ApiError> {
    let q = query(&params)?;
    let count = app.helpdesk.search_count(&scope, &q).await?;
    Ok(ok(json!({"count": count})))
}

/// Search results on the wire, each with its `result_type`.
fn hits(found: &[SearchHit], base: &BaseUrl, scope: &suoja_core::Scope) -> Vec<Value> {
    found
        .iter()
        .map(|h| {
            let (mut v, kind) = match h {
                SearchHit::Ticket(t) => (wire::ticket(t, base), "ticket"),
                SearchHit::User(u) => (wire::user(u, base, scope), "user"),
                SearchHit::Organization(o) => (wire::organization(o, base), "organization"),
            };
            suoja_core::json::set(&mut v, "result_type", json!(kind));
            v
        })
        .collect()
}

/// `GET /search/export?query=&filter[type]=ticket|user|organization` (Zendesk's): every match
/// of one type, newest first, `page[size]` at a time (100 by default, at most 1 000), by
/// `page[after]` cursor; no 1 000-result limit and no count.
pub async fn export(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    let kind = params
        .get("filter[type]")
        .ok_or_else(|| ApiError::BadRequest("filter[type] is required: ticket, user or organization".into()))?
        .to_string();
    let q = params.get("query").unwrap_or("");
    if q.len() > 2048 {
        return Err(ApiError::BadRequest("query is too long".into()));
    }
    if q.trim().is_empty() {
        return Err(ApiError::BadRequest("query is required".into()));
    }
    let size = params.int("page[size]", 1, 1000)?.unwrap_or(100);
    let after = params
        .get("page[after]")
        .filter(|s| !s.is_empty())
        .map(crate::extract::params_helpers::decode_cursor)
        .transpose()?;
    let (found, more) = app.helpdesk.search_export(&scope, q, &kind, after, size).await?;
    let results = hits(&found, &base, &scope);
    let last = found.last().map(|h| match h {
        SearchHit::Ticket(t) => t.id.0,
        SearchHit::User(u) => u.id.0,
        SearchHit::Organization(o) => o.id.0,
    });
    let cursor = last.filter(|_| more).map(crate::extract::params_helpers::encode_cursor);
    let next = cursor.as_ref().map(|c| {
        with_params(
            &base.0,
            "/search/export",
            &params,
            &[("page[size]", size.to_string()), ("page[after]", c.clone())],
        )
    });
    Ok(ok(json!({
        "results": results,
        "facets": null,
        "meta": {"has_more": more, "after_cursor": cursor, "before_cursor": null},
        "links": {"next": next, "prev": null},
    })))
}
