//! `/api/v2/webhooks…`: the recipients the operator registers. Events are delivered by the
//! background worker; every delivery is entered in the disclosure log of the people it carried.

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value, json};
use suoja_helpdesk::webhooks::Webhook;

use super::{created, no_content, ok};
use crate::extract::{Auth, BaseUrl, JsonBody, Obj, parse_id};
use crate::{ApiError, AppState};

fn webhook_json(w: &Webhook, base: &BaseUrl) -> Value {
    json!({
        "id": w.id.to_string(),
        "url": base.api(&format!("/webhooks/{}", w.id)),
        "name": w.name,
        "endpoint": w.endpoint,
        "http_method": "POST",
        "request_format": "json",
        "status": w.status,
        "subscriptions": w.subscriptions,
        "created_at": w.created_at.to_iso(),
        "updated_at": w.updated_at.to_iso(),
    })
}

/// `GET /webhooks`
pub async fn index(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl) -> Result<Response, ApiError> {
    let list = app.helpdesk.list_webhooks(&scope).await?;
    Ok(ok(
        json!({ "webhooks": list.iter().map(|w| webhook_json(w, &base)).collect::<Vec<_>>(), "meta": { "has_more": false } }),
    ))
}

/// `POST /webhooks`
pub async fn create(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, body: JsonBody) -> Result<Response, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["webhook"])?;
    let w = root.object("webhook")?;
    w.only(&["name", "endpoint", "http_method", "request_format", "status", "subscriptions", "description"])?;
    if w.opt_str("http_method", 10)?.is_some_and(|m| m != "POST") {
        return Err(ApiError::Field(
            "http_method".into(),
            "http_method: only POST is supported".into(),
            "InvalidValue",
        ));
    }
    if w.opt_str("request_format", 10)?.is_some_and(|m| m != "json") {
        return Err(ApiError::Field(
            "request_format".into(),
            "request_format: only json is supported".into(),
            "InvalidValue",
        ));
    }
    let hook = app
        .helpdesk
        .create_webhook(
            &scope,
            w.opt_str("name", 255)?.unwrap_or_default(),
            w.opt_str("endpoint", 2000)?.unwrap_or_default(),
            w.opt_str("status", 20)?.as_deref().unwrap_or("active"),
            w.opt_strings("subscriptions", 20, 64)?.unwrap_or_default(),
        )
        .await?;
    let mut shown = webhook_json(&hook, &base);
    // The signing secret, this once (a lost one is replaced with POST …/signing_secret).
    suoja_core::json::set(
        &mut shown,
        "signing_secret",
        json!({ "algorithm": "SHA256", "secret": hook.signing_secret.as_ref().map(|s| s.expose().clone()) }),
    );
    Ok(created(&base.api(&format!("/webhooks/{}", hook.id)), json!({ "webhook": shown })))
}

/// `POST /webhooks/{id}/signing_secret`: a new signing secret, shown once.
pub async fn reset_secret(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    let secret = app.helpdesk.reset_signing_secret(&scope, parse_id(&id)?).await?;
    Ok(ok(json!({ "signing_secret": { "algorithm": "SHA256", "secret": secret.expose() } })))
}

/// `GET /webhooks/{id}`
pub async fn show(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
    let w = app.helpdesk.get_webhook(&scope, parse_id(&id)?).await?;
    Ok(ok(json!({ "webhook": webhook_json(&w, &base) })))
}

/// `DELETE /webhooks/{id}`
pub async fn delete(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    app.helpdesk.delete_webhook(&scope, parse_id(&id)?).await?;
    Ok(no_content())
}
