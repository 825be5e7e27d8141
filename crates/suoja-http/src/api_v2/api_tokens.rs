//! `/api/v2/api_tokens`: the tenant's API tokens, for admins. A token's value is shown once, in
//! the answer that creates it; lists show what it is for, who made it and whether it works (it
//! stops when its admin is demoted, suspended or erased).

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value, json};
use suoja_helpdesk::tokens::ApiToken;

use super::{created, no_content, ok};
use crate::extract::{Auth, BaseUrl, JsonBody, Obj, parse_id};
use crate::{ApiError, AppState};

fn token_json(t: &ApiToken, base: &BaseUrl, value: Option<&str>) -> Value {
    json!({
        "id": t.id,
        "url": base.api(&format!("/api_tokens/{}.json", t.id)),
        "description": t.description,
        "created_by_id": t.created_by.0,
        "active": t.active,
        "token": value,
        "created_at": t.created_at.to_iso(),
    })
}

/// `GET /api_tokens`
pub async fn index(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl) -> Result<Response, ApiError> {
    let list = app.helpdesk.api_tokens(&scope).await?;
    Ok(ok(json!({
        "api_tokens": list.iter().map(|t| token_json(t, &base, None)).collect::<Vec<_>>(),
        "count": list.len(),
        "next_page": null,
        "previous_page": null,
    })))
}

/// `POST /api_tokens` with `{"api_token": {"description"}}` → 201 with the token, shown once.
pub async fn create(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, body: JsonBody) -> Result<Response, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["api_token"])?;
    let description = match root.opt_object("api_token")? {
        Some(t) => {
            t.only(&["description"])?;
            t.opt_str("description", 255)?
        }
        None => None,
    };
    let (t, value) = app.helpdesk.create_api_token(&scope, description.as_deref()).await?;
    Ok(created(
        &base.api(&format!("/api_tokens/{}.json", t.id)),
        json!({ "api_token": token_json(&t, &base, Some(value.expose())) }),
    ))
}

/// `DELETE /api_tokens/{id}`
pub async fn destroy(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    app.helpdesk.revoke_api_token(&scope, parse_id(&id)?).await?;
    Ok(no_content())
}
