//! Ticket audits (Zendesk's Ticket Audits API): a ticket's audits oldest first, by offset or
//! cursor; one audit; and every audit of the account newest first, paged by Zendesk's
//! `cursor`/`after_cursor`/`before_cursor` (admins).

use axum::extract::{Path, State};
use axum::response::Response;
use base64::Engine as _;
use serde_json::{Value, json};
use suoja_core::TicketId;
use suoja_store::ticket_audits::AuditPage;

use super::{ListPage, cut_page, id_window, list, ok, wire};
use crate::extract::params_helpers::with_params;
use crate::extract::{Auth, BaseUrl, Params, parse_id};
use crate::{ApiError, AppState};

/// Most audits on one page of the account's list (Zendesk's limit).
const MAX_LIMIT: i64 = 1000;
/// Audits on a page of the account's list unless `limit` says.
const DEFAULT_LIMIT: i64 = 100;

/// `GET /tickets/{id}/audits` (staff): the ticket's audits, oldest first.
pub async fn for_ticket(
    State(app): State<AppState>,
    Auth(scope): Auth,
    base: BaseUrl,
    params: Params,
    Path(ticket): Path<String>,
) -> Result<Response, ApiError> {
    let ticket = TicketId(parse_id(&ticket)?);
    let pp = params.paging()?;
    let (after, limit, offset, size) = id_window(pp)?;
    let page = AuditPage {
        after,
        before: None,
        descending: false,
        limit,
        offset,
    };
    let (mut found, count) = app.helpdesk.ticket_audits(&scope, ticket, page).await?;
    let (has_more, first_last) = cut_page(&mut found, size, |a| a.id);
    let items = found.iter().map(|a| wire::stored_audit(a, &base)).collect();
    Ok(list(
        ListPage {
            root: "audits",
            items,
            first_last,
            has_more,
            count,
            path: format!("/tickets/{}/audits", ticket.0),
        },
        pp,
        &base,
        &params,
    ))
}

/// `GET /tickets/{ticket_id}/audits/count` (staff): `{"count": {"value", "refreshed_at"}}`.
pub async fn count(State(app): State<AppState>, Auth(scope): Auth, Path(ticket): Path<String>) -> Result<Response, ApiError> {
    let n = app.helpdesk.ticket_audit_count(&scope, TicketId(parse_id(&ticket)?)).await?;
    Ok(ok(json!({"count": {"value": n, "refreshed_at": wire::ts(app.helpdesk.now())}})))
}

/// `GET /tickets/{ticket_id}/audits/{id}` (staff).
pub async fn show(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path((ticket, id)): Path<(String, String)>) -> Result<Response, ApiError> {
    let a = app.helpdesk.ticket_audit(&scope, TicketId(parse_id(&ticket)?), parse_id(&id)?).await?;
    Ok(ok(json!({"audit": wire::stored_audit(&a, &base)})))
}

/// Which way a cursor of the account's list points: to older audits (`after`) or newer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Toward {
    Older,
    Newer,
}

fn encode(toward: Toward, id: i64) -> String {
    let tag = if toward == Toward::Older { 'o' } else { 'n' };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{tag}{id}"))
}

fn decode(cursor: &str) -> Result<(Toward, i64), ApiError> {
    let bad = || ApiError::BadRequest("cursor is not one this list gave out".into());
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor.trim_end_matches('='))
        .map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (toward, id) = match text.split_at_checked(1) {
        Some(("o", id)) => (Toward::Older, id),
        Some(("n", id)) => (Toward::Newer, id),
        _ => return Err(bad()),
    };
    Ok((toward, id.parse::<i64>().map_err(|_| bad())?))
}

/// `GET /ticket_audits` (admins): every audit of the account, newest first. `after_url` leads
/// to older audits and `before_url` to newer ones; each is `null` when there are none.
pub async fn index(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    let limit = params.int("limit", 1, MAX_LIMIT)?.unwrap_or(DEFAULT_LIMIT);
    let cursor = params.get("cursor").filter(|c| !c.is_empty()).map(decode).transpose()?;
    let page = match cursor {
        None => AuditPage {
            after: None,
            before: None,
            descending: true,
            limit: limit + 1,
            offset: 0,
        },
        Some((Toward::Older, id)) => AuditPage {
            after: None,
            before: Some(id),
            descending: true,
            limit: limit + 1,
            offset: 0,
        },
        Some((Toward::Newer, id)) => AuditPage {
            after: Some(id),
            before: None,
            descending: false,
            limit: limit + 1,
            offset: 0,
        },
    };
    let mut found = app.helpdesk.all_audits(&scope, page).await?;
    let more = suoja_core::num::to_i64(found.len()) > limit;
    found.truncate(suoja_core::num::to_usize(limit));
    if !page.descending {
        found.reverse();
    }
    // Whether audits lie beyond each end of the page.
    let (older, newer) = match cursor {
        None => (more, false),
        Some((Toward::Older, _)) => (more, true),
        Some((Toward::Newer, _)) => (true, more),
    };
    let first = found.first().map(|a| a.id);
    let last = found.last().map(|a| a.id);
    let link = |c: &str| with_params(&base.0, "/ticket_audits", &params, &[("cursor", c.to_string()), ("limit", limit.to_string())]);
    let after_cursor = last.filter(|_| older).map(|id| encode(Toward::Older, id));
    let before_cursor = first.filter(|_| newer).map(|id| encode(Toward::Newer, id));
    let audits: Vec<Value> = found.iter().map(|a| wire::stored_audit(a, &base)).collect();
    Ok(ok(json!({
        "audits": audits,
        "after_cursor": after_cursor,
        "after_url": after_cursor.as_deref().map(link),
        "before_cursor": before_cursor,
        "before_url": before_cursor.as_deref().map(link),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        for (t, id) in [(Toward::Older, 1), (Toward::Newer, 987_654_321)] {
            assert_eq!(decode(&encode(t, id)).unwrap(), (t, id));
        }
        for bad in ["", "!!!", "eDEy", "b3g", "b2FiYw"] {
            assert!(decode(bad).is_err(), "{bad}");
        }
    }
}
