//! `/api/v2/privacy/subprocessors…` (privacy staff: the register, adding with its announcement,
//! corrections, removal) and `/api/v2/subprocessors` (anyone: the tenant's current and announced
//! sub-processors; a signed-in person's subscription to announcements).

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value, json};
use suoja_core::Timestamp;
use suoja_privacy::subprocessors::Fields;
use suoja_store::subprocessors::SubprocessorRow;

use super::{created, ok};
use crate::extract::{Auth, BaseUrl, JsonBody, MaybeAuth, Obj, parse_id};
use crate::{ApiError, AppState};

fn subprocessor_json(s: &SubprocessorRow, base: &BaseUrl) -> Value {
    json!({
        "id": s.id,
        "url": base.api(&format!("/privacy/subprocessors/{}.json", s.id)),
        "name": s.name,
        "service": s.service,
        "location": s.location,
        "safeguard": s.safeguard,
        "starts_at": s.starts_at.to_iso(),
        "ends_at": s.ends_at.map(Timestamp::to_iso),
        "created_at": s.created_at.to_iso(),
        "updated_at": s.updated_at.to_iso(),
    })
}

fn fields(body: &JsonBody) -> Result<Fields, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["subprocessor"])?;
    let o = root.object("subprocessor")?;
    o.only(&["name", "service", "location", "safeguard", "starts_at"])?;
    let starts_at = match o.opt_str("starts_at", 40)? {
        None => None,
        Some(s) => Some(Timestamp::parse(&s).ok_or_else(|| ApiError::Field("starts_at".into(), "starts_at: must be an ISO 8601 time".into(), "InvalidValue"))?),
    };
    Ok(Fields {
        name: o.opt_str("name", 500)?,
        service: o.opt_str("service", 500)?,
        location: o.opt_str("location", 500)?,
        safeguard: o.opt_str("safeguard", 500)?,
        starts_at,
    })
}

/// `GET /privacy/subprocessors`
pub async fn index(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl) -> Result<Response, ApiError> {
    let all = app.privacy.subprocessors(&scope).await?;
    Ok(ok(
        json!({ "subprocessors": all.iter().map(|s| subprocessor_json(s, &base)).collect::<Vec<_>>(), "count": all.len() }),
    ))
}

/// `POST /privacy/subprocessors`
pub async fn create(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, body: JsonBody) -> Result<Response, ApiError> {
    let (s, told) = app.privacy.add_subprocessor(&scope, fields(&body)?, &app.public_url).await?;
    Ok(created(
        &base.api(&format!("/privacy/subprocessors/{}.json", s.id)),
        json!({ "subprocessor": subprocessor_json(&s, &base), "subscribers_told": told }),
    ))
}

/// `GET /privacy/subprocessors/{id}`
pub async fn show(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
    let s = app.privacy.subprocessor(&scope, parse_id(&id)?).await?;
    Ok(ok(json!({ "subprocessor": subprocessor_json(&s, &base) })))
}

/// `PUT /privacy/subprocessors/{id}`
pub async fn update(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>, body: JsonBody) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let s = app.privacy.update_subprocessor(&scope, id, fields(&body)?, &app.public_url).await?;
    Ok(ok(json!({ "subprocessor": subprocessor_json(&s, &base) })))
}

/// `DELETE /privacy/subprocessors/{id}`: ends its use now; it stays listed with its end.
pub async fn remove(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
    let s = app.privacy.remove_subprocessor(&scope, parse_id(&id)?).await?;
    Ok(ok(json!({ "subprocessor": subprocessor_json(&s, &base) })))
}

/// `GET /subprocessors`: the tenant's sub-processors in use and announced, for anyone.
pub async fn public(State(app): State<AppState>, MaybeAuth(_, tenant): MaybeAuth) -> Result<Response, ApiError> {
    let list = app.privacy.public_subprocessors(tenant).await?;
    let rows: Vec<Value> = list
        .iter()
        .map(|s| {
            json!({
                "name": s.name,
                "service": s.service,
                "location": s.location,
                "safeguard": s.safeguard,
                "starts_at": s.starts_at.to_iso(),
                "ends_at": s.ends_at.map(Timestamp::to_iso),
            })
        })
        .collect();
    Ok(ok(json!({ "subprocessors": rows })))
}

/// `GET /subprocessors/subscription`
pub async fn subscription(State(app): State<AppState>, Auth(scope): Auth) -> Result<Response, ApiError> {
    let on = app.privacy.subprocessor_subscription(&scope).await?;
    Ok(ok(json!({ "subscription": { "subscribed": on } })))
}

/// `PUT /subprocessors/subscription` with `{"subscription": {"subscribed": true|false}}`.
pub async fn subscribe(State(app): State<AppState>, Auth(scope): Auth, body: JsonBody) -> Result<Response, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["subscription"])?;
    let o = root.object("subscription")?;
    o.only(&["subscribed"])?;
    let on = o
        .opt_bool("subscribed")?
        .ok_or_else(|| ApiError::Field("subscribed".into(), "subscribed: true or false".into(), "BlankValue"))?;
    app.privacy.subscribe_subprocessors(&scope, on).await?;
    Ok(ok(json!({ "subscription": { "subscribed": on } })))
}
