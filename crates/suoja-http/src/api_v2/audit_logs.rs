//! `GET /api/v2/audit_logs` and `/audit_logs/{id}` (admins): the admin audit log in Zendesk's
//! shape — `action` (`create`, `update`, `destroy`, `login`, `exported`), `actor_id`,
//! `source_type`, `source_id`, `change_description` (the route), `ip_address`, `created_at` —
//! newest first with cursor pagination (`page[size]`, `page[after]`) and Zendesk's filters
//! (`filter[action]`, `filter[actor_id]`, `filter[created_at][]` twice for a range); and
//! `GET /api/v2/audit_logs/export`, the log with the same filters as a CSV download.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse as _, Response};
use serde_json::{Value, json};
use suoja_core::{Timestamp, UserId};
use suoja_privacy::audit::{Action, Entry, Query};

use super::ok;
use crate::extract::params_helpers::encode_cursor;
use crate::extract::{Auth, BaseUrl, PageParams, Params, parse_id};
use crate::{ApiError, AppState};

fn entry_json(e: &Entry, base: &BaseUrl) -> Value {
    json!({
        "url": base.api(&format!("/audit_logs/{}.json", e.id)),
        "id": e.id,
        "action": e.action,
        "action_label": e.action,
        "actor_id": e.actor,
        "source_id": e.source_id,
        "source_type": e.source_type,
        "source_label": e.source_type,
        "change_description": e.route,
        "ip_address": e.ip_address,
        "created_at": e.at.to_iso(),
    })
}

/// The filters of a request, and the query's pairs (to keep them in the next page's link).
fn filters(params: &Params, raw: Option<&str>) -> Result<(Query, Vec<(String, String)>), ApiError> {
    let action = match params.get("filter[action]") {
        None | Some("") => None,
        Some(a) => Some(Action::parse(a).ok_or_else(|| ApiError::BadRequest("filter[action] must be create, update, destroy, login or exported".into()))?),
    };
    let actor = params.int("filter[actor_id]", 1, i64::MAX)?.map(UserId);
    // `filter[created_at][]` twice: from and to.
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or("")).unwrap_or_default();
    let times: Vec<Timestamp> = pairs
        .iter()
        .filter(|(k, _)| k == "filter[created_at][]")
        .map(|(_, v)| Timestamp::parse(v).ok_or_else(|| ApiError::BadRequest("filter[created_at][] must be ISO 8601 times".into())))
        .collect::<Result<_, _>>()?;
    let (from, to) = match times.as_slice() {
        [] => (None, None),
        [a, b] if a <= b => (Some(*a), Some(*b)),
        _ => return Err(ApiError::BadRequest("filter[created_at][] takes two times, the earlier first".into())),
    };
    let q = Query {
        action,
        actor,
        from,
        to,
        ..Query::default()
    };
    Ok((q, pairs))
}

/// `GET /audit_logs`
pub async fn index(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let (q, pairs) = filters(&params, raw.as_deref())?;
    let (size, before) = match params.paging()? {
        PageParams::Cursor { size, after, .. } => (size, after),
        PageParams::Offset { per_page, .. } => (per_page, None),
    };
    let q = Query { before, limit: size, ..q };
    let (entries, next) = app.privacy.audit_log(&scope, q).await?;
    // The next page keeps the filters.
    let next_link = next.map(|n| {
        let mut keep: Vec<(String, String)> = pairs.iter().filter(|(k, _)| k.starts_with("filter[")).cloned().collect();
        keep.push(("page[size]".into(), size.to_string()));
        keep.push(("page[after]".into(), encode_cursor(n)));
        base.api(&format!("/audit_logs.json?{}", serde_urlencoded::to_string(&keep).unwrap_or_default()))
    });
    Ok(ok(json!({
        "audit_logs": entries.iter().map(|e| entry_json(e, &base)).collect::<Vec<_>>(),
        "meta": { "has_more": next.is_some(), "after_cursor": next.map(encode_cursor), "before_cursor": null },
        "links": { "next": next_link, "prev": null },
    })))
}

/// `GET /audit_logs/{id}`
pub async fn show(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let q = Query {
        before: Some(id.saturating_add(1)),
        limit: 1,
        ..Query::default()
    };
    let (entries, _) = app.privacy.audit_log(&scope, q).await?;
    let e = entries.into_iter().find(|e| e.id == id).ok_or(ApiError::NotFound)?;
    Ok(ok(json!({ "audit_log": entry_json(&e, &base) })))
}

/// `GET /audit_logs/export`: the entries the filters select, newest first, as CSV (at most
/// 100 000 rows; `X-Suoja-Truncated: true` when there were more — narrow the time range).
pub async fn export(State(app): State<AppState>, Auth(scope): Auth, params: Params, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let (q, _) = filters(&params, raw.as_deref())?;
    let (csv, more) = app.privacy.audit_log_csv(&scope, q).await?;
    Ok(csv_download(csv, more))
}

/// The audit log as a CSV download, never cached; `X-Suoja-Truncated: true` when rows were left
/// out (the API's export and the admin page's download answer alike).
pub(crate) fn csv_download(csv: String, more: bool) -> Response {
    let mut r = (axum::http::StatusCode::OK, csv).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"audit-log.csv\""));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if more {
        h.insert("x-suoja-truncated", HeaderValue::from_static("true"));
    }
    r
}
