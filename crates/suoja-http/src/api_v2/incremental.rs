//! The incremental exports (Zendesk reference §6.8): everything changed since a time, in
//! (updated_at, id) order — resumable by cursor (`/incremental/{tickets,users}/cursor`) or by
//! time (`/incremental/{tickets,users,organizations}?start_time=`, which leaves the newest
//! minute for the next poll: see `SETTLE_SECS`).

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
    let rows = app.helpdesk.tickets_changed_since(&scope, w.since, None, w.after, w.limit).await?;
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
    let rows = app.helpdesk.users_changed_since(&scope, w.since, None, w.after, w.limit).await?;
    let last = rows.last().map(|u| (u.updated_at.0, u.id.0));
    let items = rows.iter().map(|u| wire::user(u, &base, &scope)).collect();
    let position = last.or(w.after).unwrap_or((w.since.0, 0));
    Ok(page("users", items, position, w.limit, &base, "/incremental/users/cursor"))
}

/// Changes this recent are left for the next poll of a time-based export: a write stamps its
/// time before it commits, and may wait for the writer (SQLite: up to 10 s for the pool and 10 s
/// more for another process's lock) or for a row another request holds, so the newest
/// seconds may still be filling when they are read. A minute, as Zendesk asks of `start_time`.
const SETTLE_SECS: i64 = 60;

/// Where the settled changes end at `now` (see [`SETTLE_SECS`]).
fn settled_before(now: Timestamp) -> Timestamp {
    Timestamp((now.as_secs() - SETTLE_SECS).max(0) * 1000)
}

/// A time-based page (Zendesk's `start_time` export): rows changed at or after `start_time`
/// (seconds), oldest first, `per_page` of them (at most 1 000), then the rest of the last
/// row's second, so the next page can start at the following second without losing or
/// repeating anything (`next_page`); `end_time` is the last row's second, as Zendesk's. Only
/// seconds at least [`SETTLE_SECS`] old are read, so `end_of_stream` means "nothing more
/// yet". Each fetch is bounded above (settled seconds; the last row's second), so only rows
/// the page shows are read and noted as exported. A second holding more changes than a page
/// makes that page larger, never a page that repeats.
async fn by_time<T, F, Fut>(params: &Params, now: Timestamp, stamp: fn(&T) -> (i64, i64), fetch: F) -> Result<(Vec<T>, Value), ApiError>
where
    F: Fn(Timestamp, Option<Timestamp>, Option<(i64, i64)>, i64) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>, ApiError>>,
{
    if params.get("cursor").is_some() {
        return Err(ApiError::BadRequest("cursor belongs to the /cursor exports; this one takes start_time".into()));
    }
    let start = params
        .int("start_time", 0, 32_503_680_000)?
        .ok_or_else(|| ApiError::BadRequest("start_time (seconds since the epoch) is required".into()))?;
    let limit = params.int("per_page", 1, 1000)?.unwrap_or(1000);
    let settled = settled_before(now);
    let since = Timestamp(start * 1000);
    let mut rows: Vec<T> = fetch(since, Some(settled), None, limit).await?;
    let full = suoja_core::num::to_i64(rows.len()) == limit;
    let mut next = start;
    if let Some(last) = rows.last().map(stamp) {
        let second = last.0.div_euclid(1000);
        next = second + 1;
        if full {
            // The rest of the last row's second, so the next page starts clean.
            let end = Timestamp(((second + 1) * 1000).min(settled.0));
            let mut after = last;
            loop {
                let more = fetch(since, Some(end), Some(after), 1000).await?;
                let done = more.len() < 1000;
                if let Some(l) = more.last() {
                    after = stamp(l);
                }
                rows.extend(more);
                if done {
                    break;
                }
            }
        }
    }
    let count = rows.len();
    let end_time = rows.last().map_or(start, |r| stamp(r).0.div_euclid(1000));
    Ok((rows, json!({"count": count, "end_of_stream": !full, "end_time": end_time, "next_start": next})))
}

/// Answers a time-based page: `{root: [...], count, end_of_stream, end_time, next_page}`.
fn time_page(root: &str, items: Vec<Value>, mut meta: Value, base: &BaseUrl, path: &str, params: &Params) -> Response {
    let next = meta.get("next_start").and_then(Value::as_i64).unwrap_or(0);
    let mut keep: Vec<(String, String)> = vec![("start_time".into(), next.to_string())];
    if let Some(pp) = params.get("per_page") {
        keep.push(("per_page".into(), pp.to_string()));
    }
    let next_page = with_params(
        &base.0,
        path,
        &Params::default(),
        &keep.iter().map(|(k, v)| (k.as_str(), v.clone())).collect::<Vec<_>>(),
    );
    if let Value::Object(m) = &mut meta {
        m.remove("next_start");
        m.insert("next_page".into(), Value::String(next_page));
        m.insert(root.into(), Value::Array(items));
    }
    ok(meta)
}

/// `GET /incremental/tickets?start_time=` (time-based)
pub async fn tickets_by_time(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    let (hd, who) = (&app.helpdesk, &scope);
    let (rows, meta) = by_time(
        &params,
        hd.now(),
        |t: &suoja_helpdesk::model::Ticket| (t.updated_at.0, t.id.0),
        |since, until, after, limit| async move { Ok(hd.tickets_changed_since(who, since, until, after, limit).await?) },
    )
    .await?;
    let items = rows
        .iter()
        .map(|t| {
            let mut v = wire::ticket(t, &base);
            suoja_core::json::set(&mut v, "generated_timestamp", json!(t.updated_at.as_secs()));
            v
        })
        .collect();
    Ok(time_page("tickets", items, meta, &base, "/incremental/tickets", &params))
}

/// `GET /incremental/users?start_time=` (time-based)
pub async fn users_by_time(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    let (hd, who) = (&app.helpdesk, &scope);
    let (rows, meta) = by_time(
        &params,
        hd.now(),
        |u: &suoja_helpdesk::model::User| (u.updated_at.0, u.id.0),
        |since, until, after, limit| async move { Ok(hd.users_changed_since(who, since, until, after, limit).await?) },
    )
    .await?;
    let items = rows.iter().map(|u| wire::user(u, &base, &scope)).collect();
    Ok(time_page("users", items, meta, &base, "/incremental/users", &params))
}

/// `GET /incremental/organizations?start_time=` (time-based)
pub async fn organizations_by_time(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    let (hd, who) = (&app.helpdesk, &scope);
    let (rows, meta) = by_time(
        &params,
        hd.now(),
        |o: &suoja_helpdesk::orgs::Organization| (o.updated_at.0, o.id.0),
        |since, until, after, limit| async move { Ok(hd.orgs_changed_since(who, since, until, after, limit).await?) },
    )
    .await?;
    let items = rows.iter().map(|o| wire::organization(o, &base)).collect();
    Ok(time_page("organizations", items, meta, &base, "/incremental/organizations", &params))
}

/// One ticket event of the time-based export: an audit with its events as child events (a
/// comment is said to be there, and whether public, without its text).
fn ticket_event(a: &suoja_helpdesk::tickets::audits::Audit) -> Value {
    let children: Vec<Value> = a
        .events
        .iter()
        .map(|e| {
            let kind = e.get("type").and_then(Value::as_str).unwrap_or_default();
            let mut c = json!({
                "id": e.get("id").cloned().unwrap_or(Value::Null),
                "via": a.via,
                "via_reference_id": null,
                "event_type": kind,
            });
            if kind == "Comment" {
                suoja_core::json::set(&mut c, "comment_present", json!(true));
                suoja_core::json::set(&mut c, "comment_public", e.get("public").cloned().unwrap_or(Value::Null));
            }
            for key in ["field_name", "value", "previous_value", "comment_id", "recipients", "public"] {
                if kind != "Comment"
                    && let Some(v) = e.get(key)
                {
                    suoja_core::json::set(&mut c, key, v.clone());
                }
            }
            // Zendesk's child events also carry a changed field under its own name.
            if let (Some(f), Some(v)) = (e.get("field_name").and_then(Value::as_str), e.get("value")) {
                suoja_core::json::set(&mut c, f, v.clone());
            }
            c
        })
        .collect();
    json!({
        "id": a.id,
        "ticket_id": a.ticket_id.0,
        "timestamp": a.created_at.as_secs(),
        "created_at": wire::ts(a.created_at),
        "updater_id": a.author_id.map_or(-1, |u| u.0),
        "via": a.via,
        "system": {},
        "event_type": "Audit",
        "child_events": children,
    })
}

/// `GET /incremental/ticket_events?start_time=` (time-based, admins): every audit of every
/// ticket, oldest first.
pub async fn ticket_events_by_time(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    let (hd, who) = (&app.helpdesk, &scope);
    let (rows, meta) = by_time(
        &params,
        hd.now(),
        |a: &suoja_helpdesk::tickets::audits::Audit| (a.created_at.0, a.id),
        |since, until, after, limit| async move { Ok(hd.audits_changed_since(who, since, until, after, limit).await?) },
    )
    .await?;
    let items = rows.iter().map(ticket_event).collect();
    Ok(time_page("ticket_events", items, meta, &base, "/incremental/ticket_events", &params))
}

/// `GET /incremental/ticket_metric_events?start_time=` (time-based, admins): every ticket's
/// metric events, oldest first.
pub async fn ticket_metric_events_by_time(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    if !scope.is_admin() {
        // Said before the parameters are read: who may not export learns nothing more.
        return Err(ApiError::Helpdesk(suoja_helpdesk::HelpdeskError::Forbidden(
            "only admins export ticket metric events",
        )));
    }
    let (hd, who) = (&app.helpdesk, &scope);
    let (rows, meta) = by_time(
        &params,
        hd.now(),
        |e: &suoja_helpdesk::rules::metric_events::MetricEvent| (e.row.time.0, e.row.id),
        |since, until, after, limit| async move { Ok(hd.metric_events_since(who, since, until, after, limit).await?) },
    )
    .await?;
    let items = rows.iter().map(super::sla::metric_event).collect();
    Ok(time_page(
        "ticket_metric_events",
        items,
        meta,
        &base,
        "/incremental/ticket_metric_events",
        &params,
    ))
}
