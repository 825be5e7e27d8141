//! `/api/v2/account/settings`: the account settings a controller must be able to show, in
//! Zendesk's shape where it has one — for now the IP restriction of staff and API access
//! (`settings.security.ip_restriction`). Admins only; saving checks that the admin's own address
//! stays allowed.

use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};
use suoja_store::settings::IpRestriction;

use super::ok;
use crate::extract::{Auth, Client, JsonBody, Obj};
use crate::{ApiError, AppState};

fn settings_json(r: &IpRestriction) -> Value {
    json!({ "settings": { "security": { "ip_restriction": {
        "enabled": r.enabled,
        "allowed_ranges": r.allowed_ranges,
        "end_users": r.end_users,
    } } } })
}

/// `GET /account/settings`
pub async fn show(State(app): State<AppState>, Auth(scope): Auth) -> Result<Response, ApiError> {
    Ok(ok(settings_json(&app.helpdesk.ip_restriction(&scope).await?)))
}

/// `PUT /account/settings` with `{"settings": {"security": {"ip_restriction": {…}}}}`; fields left
/// out keep their value.
pub async fn update(State(app): State<AppState>, Auth(scope): Auth, client: Client, body: JsonBody) -> Result<Response, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["settings"])?;
    let settings = root.object("settings")?;
    settings.only(&["security"])?;
    let security = settings.object("security")?;
    security.only(&["ip_restriction"])?;
    let ip = security.object("ip_restriction")?;
    ip.only(&["enabled", "allowed_ranges", "end_users"])?;
    let current = app.helpdesk.ip_restriction(&scope).await?;
    let wanted = IpRestriction {
        enabled: ip.opt_bool("enabled")?.unwrap_or(current.enabled),
        allowed_ranges: ip.opt_str("allowed_ranges", 8_000)?.unwrap_or(current.allowed_ranges),
        end_users: ip.opt_bool("end_users")?.unwrap_or(current.end_users),
    };
    let saved = app.helpdesk.set_ip_restriction(&scope, wanted, client.0).await?;
    Ok(ok(settings_json(&saved)))
}
