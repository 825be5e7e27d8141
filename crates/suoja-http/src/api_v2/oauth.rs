//! `/api/v2/oauth/tokens`: bearer tokens for the OAuth scheme (`Authorization: Bearer …`). The
//! full token is shown once, in the creation answer; only its hash is stored.

use axum::extract::State;
use axum::response::Response;
use serde_json::json;
use suoja_core::Timestamp;

use super::created;
use crate::extract::{Auth, BaseUrl, JsonBody, Obj};
use crate::{ApiError, AppState};

/// `POST /oauth/tokens` → 201 with `full_token` (admins; the token acts as the caller, within
/// its `scopes`, until `expires_at`).
pub async fn create(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, body: JsonBody) -> Result<Response, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["token"])?;
    let mut scopes = None;
    let mut expires_at = None;
    if let Some(t) = root.opt_object("token")? {
        t.only(&["client_id", "scopes", "user_id", "expires_at", "refresh_token_expires_at"])?;
        if let Some(u) = t.opt_id("user_id")?
            && u != scope.actor.0
        {
            return Err(ApiError::Field(
                "token.user_id".into(),
                "token.user_id: tokens act as the user who creates them".into(),
                "InvalidValue",
            ));
        }
        if let Some(list) = t.opt_strings("scopes", 20, 40)? {
            scopes = Some(suoja_helpdesk::tokens::parse_scopes(&list)?);
        }
        if let Some(at) = t.opt_str("expires_at", 40)? {
            expires_at = Some(
                Timestamp::parse(&at)
                    .ok_or_else(|| ApiError::Field("token.expires_at".into(), "token.expires_at: must be an ISO 8601 time".into(), "InvalidValue"))?,
            );
        }
    }
    if !scope.is_admin() {
        return Err(ApiError::Helpdesk(suoja_helpdesk::HelpdeskError::Forbidden(
            "only admins can create OAuth tokens",
        )));
    }
    let token = app.helpdesk.issue_bearer_token(&scope, scopes.as_deref(), expires_at).await?;
    let now = app.helpdesk.now().to_iso();
    let shown: Vec<&str> = scopes.as_deref().map_or(vec!["read", "write"], |s| s.split(' ').collect());
    Ok(created(
        &base.api("/oauth/tokens.json"),
        json!({"token": {"user_id": scope.actor.0, "client_id": null, "token": "[shown once]", "full_token": token.expose(), "scopes": shown, "created_at": now, "expires_at": expires_at.map(Timestamp::to_iso)}}),
    ))
}
