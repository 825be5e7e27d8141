//! `/api/v2/privacy/breaches…`: the breach register — record a breach and its 72-hour clock,
//! change it, scope what was exposed to the people affected, the authority's notification
//! (JSON or PDF, English or Finnish), recording that notification, the people's notices, closing,
//! and the register as one document. Privacy staff only (the services check).

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use serde_json::{Value, json};
use suoja_core::{Personal, Timestamp};
use suoja_privacy::breaches::scope::Exposure;
use suoja_privacy::breaches::{Breach, Changes, TEXT_FIELDS};

use super::{created, ok};
use crate::extract::{Auth, BaseUrl, JsonBody, Obj, Params, parse_id};
use crate::{ApiError, AppState};

fn time(o: &Obj<'_>, key: &str) -> Result<Option<Timestamp>, ApiError> {
    match o.opt_str(key, 40)? {
        None => Ok(None),
        Some(s) => Timestamp::parse(&s)
            .map(Some)
            .ok_or_else(|| ApiError::Field(key.into(), format!("{key}: must be an ISO 8601 time"), "InvalidValue")),
    }
}

fn breach_json(b: &Breach, base: &BaseUrl, now: Timestamp) -> Value {
    let d = b.details.expose();
    let due = b.authority_due_at();
    let pending = b.row.authority_notified_at.is_none() && b.row.notify_authority != Some(false) && b.row.closed_at.is_none();
    let scope: Vec<Value> = d.scope.iter().map(exposure_json).collect();
    json!({
        "id": b.row.id,
        "url": base.api(&format!("/privacy/breaches/{}.json", b.row.id)),
        "state": b.row.state,
        "aware_at": b.row.aware_at.to_iso(),
        "occurred_at": b.row.occurred_at.map(Timestamp::to_iso),
        "authority_notification_due_at": due.to_iso(),
        "time_left_seconds": if pending { json!((due.0 - now.0).div_euclid(1000)) } else { Value::Null },
        "overdue": b.authority_overdue(now) && b.row.closed_at.is_none(),
        "recorded_by": b.row.recorded_by,
        "description": d.description,
        "people_summary": d.people_summary,
        "consequences": d.consequences,
        "measures": d.measures,
        "contact": d.contact,
        "data_categories": b.data_categories,
        "people_categories": b.people_categories,
        "notify_authority": b.row.notify_authority,
        "authority_reasoning": d.authority_reasoning,
        "notify_people": b.row.notify_people,
        "people_reasoning": d.people_reasoning,
        "delay_reason": d.delay_reason,
        "authority_reference": d.authority_reference,
        "authority_notified_at": b.row.authority_notified_at.map(Timestamp::to_iso),
        "people_notified_at": b.row.people_notified_at.map(Timestamp::to_iso),
        "scope": scope,
        "closed_at": b.row.closed_at.map(Timestamp::to_iso),
        "created_at": b.row.created_at.to_iso(),
        "updated_at": b.row.updated_at.to_iso(),
    })
}

/// An exposure as the API shows it (times in ISO 8601).
fn exposure_json(e: &Exposure) -> Value {
    match e {
        Exposure::TokenReads { token_id, from, to } => {
            json!({ "kind": "token_reads", "token_id": token_id, "from": Timestamp(*from).to_iso(), "to": Timestamp(*to).to_iso() })
        }
        Exposure::StaffReads { user_id, from, to } => {
            json!({ "kind": "staff_reads", "user_id": user_id, "from": Timestamp(*from).to_iso(), "to": Timestamp(*to).to_iso() })
        }
        Exposure::NodeReads { node, from, to } => {
            json!({ "kind": "node_reads", "node": node, "from": Timestamp(*from).to_iso(), "to": Timestamp(*to).to_iso() })
        }
        Exposure::Snapshot { at } => json!({ "kind": "snapshot", "at": Timestamp(*at).to_iso() }),
        other => serde_json::to_value(other).unwrap_or(Value::Null),
    }
}

/// The fields of `{"breach": {…}}` a create or an update may set.
fn changes(body: &JsonBody) -> Result<Changes, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["breach"])?;
    let b = root.object("breach")?;
    let mut known: Vec<&str> = vec![
        "aware_at",
        "occurred_at",
        "data_categories",
        "people_categories",
        "notify_authority",
        "notify_people",
    ];
    known.extend_from_slice(TEXT_FIELDS);
    b.only(&known)?;
    let mut text = Vec::new();
    for f in TEXT_FIELDS {
        if let Some(v) = b.nullable_str(f, 20_000)? {
            text.push((*f, Personal::new(v.unwrap_or_default())));
        }
    }
    Ok(Changes {
        aware_at: time(&b, "aware_at")?,
        occurred_at: time(&b, "occurred_at")?,
        text,
        data_categories: b.opt_strings("data_categories", 20, 40)?,
        people_categories: b.opt_strings("people_categories", 20, 40)?,
        notify_authority: b.opt_bool("notify_authority")?,
        notify_people: b.opt_bool("notify_people")?,
    })
}

/// `POST /privacy/breaches`
pub async fn create(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, body: JsonBody) -> Result<Response, ApiError> {
    let b = app.privacy.record_breach(&scope, changes(&body)?).await?;
    Ok(created(
        &base.api(&format!("/privacy/breaches/{}.json", b.row.id)),
        json!({ "breach": breach_json(&b, &base, app.helpdesk.now()) }),
    ))
}

/// `GET /privacy/breaches`
pub async fn index(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    let per_page = params.int("per_page", 1, 100)?.unwrap_or(100);
    let page = params.int("page", 1, 10_000)?.unwrap_or(1);
    let (all, count) = app.privacy.breaches(&scope, per_page, (page - 1) * per_page).await?;
    let now = app.helpdesk.now();
    let link = |p: i64| base.api(&format!("/privacy/breaches.json?page={p}&per_page={per_page}"));
    Ok(ok(json!({
        "breaches": all.iter().map(|b| breach_json(b, &base, now)).collect::<Vec<_>>(),
        "count": count,
        "next_page": (page * per_page < count).then(|| link(page + 1)),
        "previous_page": (page > 1).then(|| link(page - 1)),
    })))
}

/// `GET /privacy/breaches/{id}`
pub async fn show(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
    let b = app.privacy.breach(&scope, parse_id(&id)?).await?;
    Ok(ok(json!({ "breach": breach_json(&b, &base, app.helpdesk.now()) })))
}

/// `PUT /privacy/breaches/{id}`
pub async fn update(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>, body: JsonBody) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let b = app.privacy.update_breach(&scope, id, changes(&body)?).await?;
    Ok(ok(json!({ "breach": breach_json(&b, &base, app.helpdesk.now()) })))
}

/// The ticket ids a view or search exposure was resolved to, if given (none: resolve it now).
fn resolved_ids(o: &Obj<'_>) -> Result<Vec<i64>, ApiError> {
    let max = suoja_privacy::breaches::scope::MAX_TICKETS;
    let bad = || ApiError::Field("ids".into(), format!("ids: a list of 1 to {max} ticket ids"), "InvalidValue");
    match o.raw("ids") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) if !a.is_empty() && a.len() <= max => {
            a.iter().map(|v| v.as_i64().filter(|i| *i > 0)).collect::<Option<Vec<i64>>>().ok_or_else(bad)
        }
        _ => Err(bad()),
    }
}

/// One exposure of `{"scope": [{"kind": …}, …]}`.
fn exposure(o: &Obj<'_>) -> Result<Exposure, ApiError> {
    let window = |o: &Obj<'_>| -> Result<(i64, i64), ApiError> {
        let from = time(o, "from")?.ok_or_else(|| ApiError::Field("from".into(), "from: a window needs its start".into(), "BlankValue"))?;
        let to = time(o, "to")?.ok_or_else(|| ApiError::Field("to".into(), "to: a window needs its end".into(), "BlankValue"))?;
        Ok((from.0, to.0))
    };
    let id = |o: &Obj<'_>, key: &str| {
        o.opt_id(key)?
            .ok_or_else(|| ApiError::Field(key.into(), format!("{key}: is required"), "BlankValue"))
    };
    match o.opt_str("kind", 40)?.as_deref() {
        Some("tickets") => {
            o.only(&["kind", "ids"])?;
            let max = suoja_privacy::breaches::scope::MAX_TICKETS;
            let bad = || ApiError::Field("ids".into(), format!("ids: a list of 1 to {max} ticket ids"), "InvalidValue");
            let ids = match o.raw("ids") {
                Some(Value::Array(a)) if !a.is_empty() && a.len() <= max => {
                    a.iter().map(|v| v.as_i64().filter(|i| *i > 0)).collect::<Option<Vec<i64>>>().ok_or_else(bad)?
                }
                _ => return Err(bad()),
            };
            Ok(Exposure::Tickets { ids })
        }
        Some("tag") => {
            o.only(&["kind", "tag"])?;
            let tag = o.opt_str("tag", 200)?.filter(|t| !t.trim().is_empty());
            Ok(Exposure::Tag {
                tag: tag.ok_or_else(|| ApiError::Field("tag".into(), "tag: is required".into(), "BlankValue"))?,
            })
        }
        // With `ids` (as a breach's scope shows them), the tickets it was resolved to are kept.
        Some("view") => {
            o.only(&["kind", "view", "ids"])?;
            let view = o.opt_str("view", 40)?.filter(|t| !t.trim().is_empty());
            Ok(Exposure::View {
                view: view.ok_or_else(|| ApiError::Field("view".into(), "view: is required".into(), "BlankValue"))?,
                ids: resolved_ids(o)?,
            })
        }
        Some("search") => {
            o.only(&["kind", "query", "ids"])?;
            let query = o.opt_str("query", 1_000)?.filter(|t| !t.trim().is_empty());
            Ok(Exposure::Search {
                query: query.ok_or_else(|| ApiError::Field("query".into(), "query: is required".into(), "BlankValue"))?,
                ids: resolved_ids(o)?,
            })
        }
        Some("snapshot") => {
            o.only(&["kind", "at"])?;
            let at = time(o, "at")?.ok_or_else(|| ApiError::Field("at".into(), "at: when the copy was made is required".into(), "BlankValue"))?;
            // The manifest's time is in whole seconds, taken as the copy starts: the whole second.
            Ok(Exposure::Snapshot { at: at.0 + 999 })
        }
        Some("organization") => {
            o.only(&["kind", "id"])?;
            Ok(Exposure::Organization { id: id(o, "id")? })
        }
        Some("token_reads") => {
            o.only(&["kind", "token_id", "from", "to"])?;
            let (from, to) = window(o)?;
            Ok(Exposure::TokenReads {
                token_id: id(o, "token_id")?,
                from,
                to,
            })
        }
        Some("staff_reads") => {
            o.only(&["kind", "user_id", "from", "to"])?;
            let (from, to) = window(o)?;
            Ok(Exposure::StaffReads {
                user_id: id(o, "user_id")?,
                from,
                to,
            })
        }
        Some("node_reads") => {
            o.only(&["kind", "node", "from", "to"])?;
            let node = o.opt_str("node", 64)?.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
            let (from, to) = window(o)?;
            Ok(Exposure::NodeReads {
                node: node.ok_or_else(|| ApiError::Field("node".into(), "node: the node's name is required".into(), "BlankValue"))?,
                from,
                to,
            })
        }
        Some("export_package") => {
            o.only(&["kind", "id"])?;
            let id = o.opt_str("id", 64)?.filter(|s| !s.is_empty());
            Ok(Exposure::ExportPackage {
                id: id.ok_or_else(|| ApiError::Field("id".into(), "id: is required".into(), "BlankValue"))?,
            })
        }
        _ => Err(ApiError::Field(
            "kind".into(),
            "kind: must be tickets, tag, view, search, organization, token_reads, staff_reads, node_reads, snapshot or export_package".into(),
            "InvalidValue",
        )),
    }
}

/// `PUT /privacy/breaches/{id}/scope`
pub async fn set_scope(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>, body: JsonBody) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let root = Obj::root(&body.0);
    root.only(&["scope"])?;
    let Some(Value::Array(items)) = root.raw("scope") else {
        return Err(ApiError::Field(
            "scope".into(),
            "scope: must be a list of what was exposed".into(),
            "InvalidValue",
        ));
    };
    let mut exposures = Vec::with_capacity(items.len());
    for item in items.iter().take(suoja_privacy::breaches::scope::MAX_EXPOSURES + 1) {
        let Value::Object(m) = item else {
            return Err(ApiError::Field(
                "scope".into(),
                "scope: each item is an object with a kind".into(),
                "InvalidValue",
            ));
        };
        exposures.push(exposure(&Obj::root(m))?);
    }
    let summary = app.privacy.scope_breach(&scope, id, exposures).await?;
    Ok(ok(json!({ "affected": summary })))
}

/// `GET /privacy/breaches/{id}/people`
pub async fn people(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    let people = app.privacy.breach_people(&scope, parse_id(&id)?).await?;
    let rows: Vec<Value> = people
        .iter()
        .map(|p| {
            json!({
                "user_id": p.user_id,
                "categories": serde_json::from_str::<Value>(&p.categories).unwrap_or(Value::Null),
                "records": p.records,
                "notified_at": p.notified_at.map(Timestamp::to_iso),
            })
        })
        .collect();
    Ok(ok(json!({ "affected": suoja_privacy::breaches::scope::summarize(&people), "people": rows })))
}

/// `GET /privacy/breaches/{id}/notification[?format=pdf][&locale=fi]`
pub async fn notification(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>, params: Params) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let finnish = match params.get("locale").unwrap_or("en") {
        "en" | "en-US" | "en-GB" => false,
        "fi" | "fi-FI" => true,
        _ => return Err(ApiError::Field("locale".into(), "locale: must be en or fi".into(), "InvalidValue")),
    };
    match params.get("format").unwrap_or("json") {
        "json" => Ok(ok(json!({ "notification": app.privacy.breach_notification(&scope, id, finnish).await? }))),
        "pdf" => {
            let bytes = app.privacy.breach_notification_pdf(&scope, id, finnish).await?;
            let mut r = (StatusCode::OK, bytes).into_response();
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"breach-{id}-notification.pdf\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            Ok(r)
        }
        _ => Err(ApiError::Field("format".into(), "format: must be json or pdf".into(), "InvalidValue")),
    }
}

/// `POST /privacy/breaches/{id}/authority_notified`
pub async fn authority_notified(
    State(app): State<AppState>,
    Auth(scope): Auth,
    base: BaseUrl,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let root = Obj::root(&body.0);
    root.only(&["notification"])?;
    let n = root.object("notification")?;
    n.only(&["notified_at", "reference", "delay_reason"])?;
    let b = app
        .privacy
        .breach_authority_notified(
            &scope,
            id,
            time(&n, "notified_at")?,
            n.opt_str("reference", 200)?,
            n.opt_str("delay_reason", 20_000)?,
        )
        .await?;
    Ok(ok(json!({ "breach": breach_json(&b, &base, app.helpdesk.now()) })))
}

/// `POST /privacy/breaches/{id}/notify_people`
pub async fn notify_people(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    let result = app.privacy.notify_breach_people(&scope, parse_id(&id)?).await?;
    Ok(ok(json!({ "notices": result })))
}

/// `POST /privacy/breaches/{id}/close`
pub async fn close(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
    let b = app.privacy.close_breach(&scope, parse_id(&id)?).await?;
    Ok(ok(json!({ "breach": breach_json(&b, &base, app.helpdesk.now()) })))
}

/// `GET /privacy/breaches/register`
pub async fn register(State(app): State<AppState>, Auth(scope): Auth) -> Result<Response, ApiError> {
    Ok(ok(json!({ "register": app.privacy.breach_register(&scope).await? })))
}
