//! The Zendesk API v2 handlers, one module per resource, and the helpers they share for
//! responses and pagination.

pub mod account;
pub mod api_tokens;
pub mod audit_logs;
pub mod audits;
pub mod breaches;
pub mod bulk;
pub mod deleted;
pub mod erasure;
pub mod fields;
pub mod groups;
pub mod help_center;
pub mod incremental;
pub mod jobs;
pub mod memberships;
pub mod mentions;
pub mod oauth;
pub mod orgs;
pub mod parse;
pub mod privacy;
pub mod records;
pub mod redaction;
pub mod requests;
pub mod rules;
pub mod satisfaction;
pub mod search;
pub mod sla;
pub mod subprocessors;
pub mod tickets;
pub mod uploads;
pub mod users;
pub mod webhooks;
pub mod wire;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use serde_json::{Map, Value, json};

use crate::ApiError;
use crate::extract::params_helpers::{encode_cursor, with_params};
use crate::extract::{BaseUrl, PageParams, Params};

/// A JSON response with Zendesk's content type.
pub fn respond(status: StatusCode, v: Value) -> Response {
    let mut r = (status, v.to_string()).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    r
}

/// `200 OK` with a JSON body.
pub fn ok(v: Value) -> Response {
    respond(StatusCode::OK, v)
}

/// `201 Created` with a `Location` header.
pub fn created(location: &str, v: Value) -> Response {
    let mut r = respond(StatusCode::CREATED, v);
    if let Ok(l) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, l);
    }
    r
}

/// `204 No Content`.
pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// What a list page needs to build its pagination keys.
pub struct ListPage<'a> {
    /// Root key (`tickets`, `users`…).
    pub root: &'a str,
    /// Rendered items.
    pub items: Vec<Value>,
    /// Ids of the first and last item, for cursors.
    pub first_last: Option<(i64, i64)>,
    /// More items follow.
    pub has_more: bool,
    /// Total (offset pagination).
    pub count: i64,
    /// Path of the list under `/api/v2` without `.json`.
    pub path: String,
}

/// The rows to fetch for a page of a list read by id after a cursor, or by offset: `(after,
/// limit, offset, size)`, the limit one past the page so the answer knows whether more follow
/// (see [`cut_page`]). `page[before]` is refused: these lists page forwards.
pub fn id_window(pp: PageParams) -> Result<(Option<i64>, i64, i64, i64), ApiError> {
    match pp {
        PageParams::Cursor { size, after, before: None } => Ok((after, size + 1, 0, size)),
        PageParams::Cursor { .. } => Err(ApiError::BadRequest("page[before] is not offered here; follow the next links".into())),
        PageParams::Offset { page, per_page } => Ok((None, per_page + 1, (page - 1) * per_page, per_page)),
    }
}

/// Cuts rows fetched one past a page (see [`id_window`]) to the page; returns whether more
/// follow and the ids of its first and last rows.
pub fn cut_page<T>(rows: &mut Vec<T>, size: i64, id: impl Fn(&T) -> i64) -> (bool, Option<(i64, i64)>) {
    let more = suoja_core::num::to_i64(rows.len()) > size;
    rows.truncate(suoja_core::num::to_usize(size));
    (more, rows.first().zip(rows.last()).map(|(a, b)| (id(a), id(b))))
}

/// `200 OK` with an empty object (restores and other bodiless successes).
pub fn empty_ok() -> Response {
    ok(json!({}))
}

/// Responds with a list page.
pub fn list(page: ListPage<'_>, pp: PageParams, base: &BaseUrl, params: &Params) -> Response {
    ok(list_body(page, pp, base, params))
}

/// Builds `{root: [...], next_page…}` or `{root: [...], meta, links}`.
pub fn list_body(page: ListPage<'_>, pp: PageParams, base: &BaseUrl, params: &Params) -> Value {
    let mut out = Map::new();
    let n = suoja_core::num::to_i64(page.items.len());
    out.insert(page.root.to_string(), Value::Array(page.items));
    match pp {
        PageParams::Offset { page: p, per_page } => {
            let next = (p * per_page < page.count).then(|| {
                with_params(
                    &base.0,
                    &page.path,
                    params,
                    &[("page", (p + 1).to_string()), ("per_page", per_page.to_string())],
                )
            });
            let prev = (p > 1).then(|| {
                with_params(
                    &base.0,
                    &page.path,
                    params,
                    &[("page", (p - 1).to_string()), ("per_page", per_page.to_string())],
                )
            });
            out.insert("next_page".into(), json!(next));
            out.insert("previous_page".into(), json!(prev));
            out.insert("count".into(), json!(page.count));
        }
        PageParams::Cursor { size, after, before } => {
            let (after_c, before_c) = match page.first_last {
                Some((first, last)) => (Some(encode_cursor(last)), Some(encode_cursor(first))),
                None => (None, None),
            };
            // Going backwards, "more" means more before; forwards there is always a way back.
            let (has_next, has_prev) = if before.is_some() {
                (true, page.has_more)
            } else {
                (page.has_more, after.is_some())
            };
            let next = match (&after_c, has_next && n > 0) {
                (Some(c), true) => Some(with_params(
                    &base.0,
                    &page.path,
                    params,
                    &[("page[size]", size.to_string()), ("page[after]", c.clone())],
                )),
                _ => None,
            };
            let prev = match (&before_c, has_prev && n > 0) {
                (Some(c), true) => Some(with_params(
                    &base.0,
                    &page.path,
                    params,
                    &[("page[size]", size.to_string()), ("page[before]", c.clone())],
                )),
                _ => None,
            };
            out.insert(
                "meta".into(),
                json!({"has_more": next.is_some(), "after_cursor": after_c, "before_cursor": before_c}),
            );
            out.insert("links".into(), json!({"next": next, "prev": prev}));
        }
    }
    Value::Object(out)
}

/// Whether `include` asks for a sideload.
pub fn includes(params: &Params, what: &str) -> bool {
    params.get("include").is_some_and(|v| v.split(',').any(|x| x.trim() == what))
}
