//! Erasure over HTTP: the plan (dry run), running an erasure for a person or a verified
//! request, erasures and their certificates, legal holds, and Zendesk's permanent user deletion
//! (`DELETE /deleted_users/{id}`) and `compliance_deletion_statuses`, which run the same
//! pipeline.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use serde_json::{Value, json};
use suoja_core::{Timestamp, UserId};
use suoja_privacy::PrivacyError;
use suoja_privacy::erasure::holds::{Hold, HoldInput};
use suoja_privacy::erasure::{Erasure, Origin};

use super::ok;
use crate::extract::{Auth, BaseUrl, JsonBody, Obj, Params, parse_id};
use crate::{ApiError, AppState};

/// An erasure as the API shows it.
fn erasure_json(e: &Erasure) -> Value {
    json!({
        "id": e.id,
        "subject_id": e.subject_id,
        "subject_role": e.subject_role,
        "request_id": e.request_id,
        "origin": e.origin,
        "state": e.state,
        "pass": e.pass,
        "step": e.step,
        "planned": e.planned,
        "done": e.done,
        "confirmation": e.confirmation,
        "checks": e.checks,
        "held": e.held,
        "error": e.error,
        "created_at": e.created_at.to_iso(),
        "updated_at": e.updated_at.to_iso(),
        "completed_at": e.completed_at.map(|t| t.to_iso()),
        "ledger_hash": e.ledger_hash.as_ref().map(hex::encode),
    })
}

/// A legal hold as the API shows it.
fn hold_json(h: &Hold) -> Value {
    json!({
        "id": h.id,
        "scope": h.scope,
        "subject_id": h.subject_id,
        "ticket_id": h.ticket_id,
        "tag": h.tag,
        "ground": h.ground,
        "ground_text": h.ground_text,
        "reference": h.reference,
        "approver_id": h.approver_id,
        "created_by": h.created_by,
        "created_at": h.created_at.to_iso(),
        "expires_at": h.expires_at.to_iso(),
        "released_at": h.released_at.map(|t| t.to_iso()),
        "active": h.active,
    })
}

/// `page` and `per_page` (at most 100) as a limit and offset.
fn window(params: &Params) -> Result<(i64, i64), ApiError> {
    let num = |k: &str, default: i64, max: i64| -> Result<i64, ApiError> {
        match params.get(k) {
            None => Ok(default),
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| ApiError::Field(k.into(), format!("{k}: must be a whole number from 1 to {max}"), "InvalidValue")),
        }
    };
    let per_page = num("per_page", 100, 100)?;
    let page = num("page", 1, 100_000)?;
    Ok((per_page, (page - 1) * per_page))
}

fn no_body(body: &JsonBody) -> Result<(), ApiError> {
    Obj::root(&body.0).only(&[])
}

/// `GET /privacy/subjects/{id}/erasure_plan`
pub async fn plan(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    let plan = app.privacy.erasure_plan(&scope, UserId(parse_id(&id)?)).await?;
    Ok(ok(json!({ "erasure_plan": {
        "subject_id": plan.subject,
        "role": plan.role,
        "counts": plan.counts(),
        "held": plan.held,
        "kept_replies": plan.kept_replies,
        "review": plan.review,
    } })))
}

/// `POST /privacy/subjects/{id}/erasure`
pub async fn erase_subject(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>, body: JsonBody) -> Result<Response, ApiError> {
    no_body(&body)?;
    let row = app.privacy.erase(&scope, UserId(parse_id(&id)?), Origin::Api).await?;
    Ok(ok(json!({ "erasure": erasure_json(&row) })))
}

/// `POST /privacy/requests/{id}/erasure`
pub async fn erase_request(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>, body: JsonBody) -> Result<Response, ApiError> {
    no_body(&body)?;
    let row = app.privacy.erase_for_request(&scope, parse_id(&id)?).await?;
    Ok(ok(json!({ "erasure": erasure_json(&row) })))
}

/// `GET /privacy/erasures`
pub async fn index(State(app): State<AppState>, Auth(scope): Auth, params: Params) -> Result<Response, ApiError> {
    let (limit, offset) = window(&params)?;
    let rows = app.privacy.erasures(&scope, limit, offset).await?;
    Ok(ok(json!({ "erasures": rows.iter().map(erasure_json).collect::<Vec<_>>() })))
}

/// `GET /privacy/erasures/{id}`
pub async fn show(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    let row = app.privacy.erasure(&scope, parse_id(&id)?).await?;
    Ok(ok(json!({ "erasure": erasure_json(&row) })))
}

/// `GET /privacy/erasures/{id}/certificate[?format=pdf]`
pub async fn certificate(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>, params: Params) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    match params.get("format").unwrap_or("json") {
        "json" => Ok(ok(json!({ "certificate": app.privacy.erasure_certificate(&scope, id).await? }))),
        "pdf" => {
            let bytes = app.privacy.erasure_certificate_pdf(&scope, id).await?;
            let mut r = (StatusCode::OK, bytes).into_response();
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"erasure-certificate-{id}.pdf\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            Ok(r)
        }
        _ => Err(ApiError::Field("format".into(), "format: must be json or pdf".into(), "InvalidValue")),
    }
}

/// `POST /privacy/holds`
pub async fn create_hold(State(app): State<AppState>, Auth(scope): Auth, body: JsonBody) -> Result<Response, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["hold"])?;
    let h = root.object("hold")?;
    h.only(&["scope", "subject_id", "ticket_id", "tag", "ground", "reference", "approver_id", "expires_at"])?;
    let expires = h
        .opt_str("expires_at", 40)?
        .ok_or_else(|| ApiError::Field("expires_at".into(), "expires_at: a hold needs an end date".into(), "BlankValue"))?;
    let expires_at =
        Timestamp::parse(&expires).ok_or_else(|| ApiError::Field("expires_at".into(), "expires_at: must be an ISO 8601 time".into(), "InvalidValue"))?;
    let input = HoldInput {
        scope: h.opt_str("scope", 20)?.unwrap_or_default(),
        subject_id: h.opt_id("subject_id")?,
        ticket_id: h.opt_id("ticket_id")?,
        tag: h.opt_str("tag", 200)?,
        ground: h.opt_str("ground", 60)?.unwrap_or_default(),
        reference: h.opt_str("reference", 1000)?,
        approver_id: h.opt_id("approver_id")?,
        expires_at,
    };
    let row = app.privacy.create_hold(&scope, input).await?;
    Ok(super::created(&format!("/api/v2/privacy/holds/{}", row.id), json!({ "hold": hold_json(&row) })))
}

/// `GET /privacy/holds`
pub async fn holds(State(app): State<AppState>, Auth(scope): Auth, params: Params) -> Result<Response, ApiError> {
    let (limit, offset) = window(&params)?;
    let rows = app.privacy.holds(&scope, limit, offset).await?;
    Ok(ok(json!({ "holds": rows.iter().map(hold_json).collect::<Vec<_>>() })))
}

/// `GET /privacy/holds/{id}`
pub async fn hold(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    let row = app.privacy.hold(&scope, parse_id(&id)?).await?;
    Ok(ok(json!({ "hold": hold_json(&row) })))
}

/// `DELETE /privacy/holds/{id}`: releases the hold early.
pub async fn release_hold(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    let row = app.privacy.release_hold(&scope, parse_id(&id)?).await?;
    Ok(ok(json!({ "hold": hold_json(&row) })))
}

/// `DELETE /deleted_users/{id}`: permanent deletion of a soft-deleted user, through the erasure
/// pipeline. Answers once the erasure has been verified (or is waiting on a legal hold).
pub async fn destroy_deleted_user(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = UserId(parse_id(&id)?);
    if !scope.is_staff() {
        return Err(ApiError::NotFound);
    }
    let user = app.helpdesk.get_user(&scope, id).await.ok();
    match user {
        Some(u) if u.deleted_at.is_none() => {
            return Err(ApiError::Privacy(PrivacyError::Conflict(
                "soft-delete the user first (DELETE /api/v2/users/{id}); permanent deletion applies to deleted users".into(),
            )));
        }
        Some(_) => {}
        None if app.privacy.is_erased(scope.tenant, id).await? => {
            return Err(ApiError::Privacy(PrivacyError::Conflict(
                "this user has already been permanently deleted".into(),
            )));
        }
        None => return Err(ApiError::NotFound),
    }
    let row = app.privacy.erase(&scope, id, Origin::Api).await?;
    Ok(ok(json!({ "deleted_user": {
        "id": id.0,
        "url": base.api(&format!("/deleted_users/{}.json", id.0)),
        "name": "Permanently deleted user",
        "email": null,
        "active": false,
        "erasure": erasure_json(&row),
    } })))
}

/// `GET /users/{id}/compliance_deletion_statuses[?application=]`
pub async fn compliance_statuses(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>, params: Params) -> Result<Response, ApiError> {
    let subdomain = app.helpdesk.tenant_subdomain(scope.tenant).await?;
    let list: Vec<Value> = app
        .privacy
        .compliance_statuses(&scope, UserId(parse_id(&id)?))
        .await?
        .into_iter()
        .filter(|s| params.get("application").is_none_or(|a| a == s.application))
        .map(|s| {
            json!({
                "action": s.action,
                "application": s.application,
                "account_subdomain": subdomain,
                "executer_id": s.executer_id,
                "user_id": s.user_id,
                "created_at": s.created_at,
            })
        })
        .collect();
    Ok(ok(json!({ "compliance_deletion_statuses": list })))
}

/// `GET /privacy/settings`
pub async fn settings(State(app): State<AppState>, Auth(scope): Auth) -> Result<Response, ApiError> {
    let comments = app.privacy.erasure_comments(&scope).await?;
    Ok(ok(json!({ "settings": { "erasure_comments": comments } })))
}

/// `PUT /privacy/settings`
pub async fn update_settings(State(app): State<AppState>, Auth(scope): Auth, body: JsonBody) -> Result<Response, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["settings"])?;
    let s = root.object("settings")?;
    s.only(&["erasure_comments"])?;
    let v = s
        .opt_str("erasure_comments", 20)?
        .ok_or_else(|| ApiError::Field("erasure_comments".into(), "erasure_comments: tombstone or delete".into(), "BlankValue"))?;
    app.privacy.set_erasure_comments(&scope, &v).await?;
    Ok(ok(json!({ "settings": { "erasure_comments": v } })))
}

/// `GET /privacy/retention`: every retention policy of the tenant, defaults included.
pub async fn retention(State(app): State<AppState>, Auth(scope): Auth) -> Result<Response, ApiError> {
    Ok(ok(json!({ "retention_policies": app.privacy.retention_policies(&scope).await? })))
}

/// `PUT /privacy/retention/{policy}` with `{"retention_policy": {"value", "enabled"}}`.
pub async fn update_retention(State(app): State<AppState>, Auth(scope): Auth, Path(policy): Path<String>, body: JsonBody) -> Result<Response, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["retention_policy"])?;
    let p = root.object("retention_policy")?;
    p.only(&["value", "enabled"])?;
    let value = match p.raw("value") {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .ok_or_else(|| ApiError::Field("value".into(), "value: must be a whole number of the policy's unit".into(), "InvalidValue"))?,
        ),
    };
    let view = app.privacy.set_retention_policy(&scope, &policy, value, p.opt_bool("enabled")?).await?;
    Ok(ok(json!({ "retention_policy": view })))
}

/// `GET /privacy/retention/{policy}/preview`: what the policy would remove now.
pub async fn retention_preview(State(app): State<AppState>, Auth(scope): Auth, Path(policy): Path<String>) -> Result<Response, ApiError> {
    Ok(ok(json!({ "preview": app.privacy.retention_preview(&scope, &policy).await? })))
}
