//! `/api/v2/privacy/requests/{id}/mentions`: passages in other people's text that may be about a
//! request's person, for privacy staff to accept or reject before anything leaves in an export
//! (or, for weak matches, before an erasure replaces them). Zendesk has no such endpoints; the
//! shapes follow its style (root keys, RecordInvalid errors).

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::json;
use suoja_privacy::mentions::Candidate;

use super::ok;
use crate::extract::{Auth, JsonBody, Obj, parse_id};
use crate::{ApiError, AppState};

fn list(items: &[Candidate]) -> serde_json::Value {
    let pending = items.iter().filter(|c| c.decision() == suoja_privacy::mentions::Decision::Pending).count();
    json!({
        "mentions": items.iter().map(wire).collect::<Vec<_>>(),
        "count": items.len(),
        "pending": pending,
    })
}

/// The API shape of a candidate.
fn wire(c: &Candidate) -> serde_json::Value {
    json!({
        "id": c.id,
        "request_id": c.request_id,
        "source": c.source,
        "source_id": c.source_id,
        "ticket_id": c.ticket_id,
        "strength": c.strength,
        "classes": c.classes,
        "state": c.state,
        "public": c.public,
        "passages": c.passages,
        "written_at": c.written_at.map(|t| t.to_iso()),
        "decided_by_id": c.decided_by,
        "decided_at": c.decided_at.map(|t| t.to_iso()),
        "created_at": c.created_at.to_iso(),
    })
}

/// `GET /privacy/requests/{id}/mentions`
pub async fn index(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    let items = app.privacy.mentions(&scope, parse_id(&id)?).await?;
    Ok(ok(list(&items)))
}

/// `POST /privacy/requests/{id}/mentions` with `{"mention": {"id", "decision": "accept"|"reject"}}`
pub async fn decide(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>, body: JsonBody) -> Result<Response, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["mention"])?;
    let m = root.object("mention")?;
    m.only(&["id", "decision"])?;
    let mention = m
        .opt_id("id")?
        .ok_or_else(|| ApiError::Field("id".into(), "id: name the mention to decide".into(), "BlankValue"))?;
    let accept = match m.opt_str("decision", 10)?.as_deref() {
        Some("accept") => true,
        Some("reject") => false,
        _ => {
            return Err(ApiError::Field("decision".into(), "decision: must be accept or reject".into(), "InvalidValue"));
        }
    };
    let c = app.privacy.decide_mention(&scope, parse_id(&id)?, mention, accept).await?;
    Ok(ok(json!({ "mention": wire(&c) })))
}

/// `POST /privacy/requests/{id}/mentions/search` with `{"search": {"weak": true}}`: looks for
/// mentions now (weak ones only when asked) and records new candidates.
pub async fn search(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>, body: JsonBody) -> Result<Response, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["search"])?;
    let weak = match root.opt_object("search")? {
        Some(s) => {
            s.only(&["weak"])?;
            s.opt_bool("weak")?.unwrap_or(false)
        }
        None => false,
    };
    let (items, truncated) = app.privacy.search_mentions(&scope, parse_id(&id)?, weak).await?;
    let mut v = list(&items);
    suoja_core::json::set(&mut v, "truncated", json!(truncated));
    Ok(ok(v))
}
