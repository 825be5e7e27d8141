//! `/api/v2/incremental/{tickets,users}/cursor` (Zendesk reference §6.8): everything changed
//! since a time, in (updated_at, id) order, resumable by cursor.

use axum::extract::State;
use axum::response::Response;
use base64::Engine as _;
use serde_json::{Value, json};
use suoja_core::Timestamp;

use super::{ok, wire};
use crate::extract::params_helpers::with_params;
use crate::extract::{Auth, BaseUrl, Params};
use crate::{ApiError, AppState};

fn encode(t: i64, id: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{t}.{id}"))
}

fn decode(s: &str) -> Result<(i64, i64), ApiError> {
    let bad = || ApiError::BadRequest("The cursor is not valid; use after_cursor from the previous page".into());
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (t, i) = text.split_once('.').ok_or_else(bad)?;
    Ok((t.parse().map_err(|_| bad())?, i.parse().map_err(|_| bad())?))
}

struct Window {
    since: Timestamp,
    after: Option<(i64, i64)>,
    limit: i64,
}

fn window(params: &Params) -> Result<Window, ApiError> {
    let limit = params.int("per_page", 1, 1000)?.unwrap_or(1000);
    if let Some(c) = params.get("cursor").filter(|c| !c.is_empty()) {
        let (t, i) = decode(c)?;
        return Ok(Window {
            since: Timestamp(0),
            after: Some((t, i)),
            limit,
        });
    }
    let start = params
        .int("start_time", 0, 32_503_680_000)?
        .ok_or_else(|| ApiError::BadRequest("start_time (seconds since the epoch) or cursor is required".into()))?;
    Ok(Window {
        since: Timestamp(start * 1000),
        after: None,
        limit,
    })
}

/// Builds a page: the items, and a cursor at the last item (or where the window started, so a
/// client can poll again from there).
fn page(root: &str, items: Vec<Value>, position: (i64, i64), limit: i64, base: &BaseUrl, path: &str) -> Response {
    let end = suoja_core::num::to_i64(items.len()) < limit;
    let cursor = encode(position.0, position.1);
    let after_url = with_params(&base.0, path, &Params::default(), &[("cursor", cursor.clone())]);
    let mut out = json!({
        "after_cursor": cursor,
        "after_url": after_url,
        "before_cursor": null,
        "before_url": null,
        "end_of_stream": end,
    });
    suoja_core::json::set(&mut out, root, Value::Array(items));
    ok(out)
}

/// `GET /incremental/tickets/cursor`
pub async fn tickets(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    let w = window(&params)?;
    let rows = app.helpdesk.tickets_changed_since(&scope, w.since, w.after, w.limit).await?;
    let last = rows.last().map(|t| (t.updated_at.0, t.id.0));
    let items = rows
        .iter()
        .map(|t| {
            let mut v = wire::ticket(t, &base);
            suoja_core::json::set(&mut v, "generated_timestamp", json!(t.updated_at.as_secs()));
            v
        })
        .collect();
    let position = last.or(w.after).unwrap_or((w.since.0, 0));
    Ok(page("tickets", items, position, w.limit, &base, "/incremental/tickets/cursor"))
}

/// `GET /incremental/users/cursor`
pub async fn users(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    let w = window(&params)?;
    let rows = app.helpdesk.users_changed_since(&scope, w.since, w.after, w.limit).await?;
    let last = rows.last().map(|u| (u.updated_at.0, u.id.0));
    let items = rows.iter().map(|u| wire::user(u, &base, &scope)).collect();
    let position = last.or(w.after).unwrap_or((w.since.0, 0));
    Ok(page("users", items, position, w.limit, &base, "/incremental/users/cursor"))
}
