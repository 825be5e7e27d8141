//! `/api/v2/account/settings`: the account settings a controller must be able to show, in
//! Zendesk's shape where it has one — the IP restriction of staff and API access
//! (`settings.security.ip_restriction`; saving checks that the admin's own address stays
//! allowed) and the password rules (`settings.security.password`). Admins only.

use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};
use suoja_store::settings::{IpRestriction, PasswordPolicy};

use super::ok;
use crate::extract::{Auth, Client, JsonBody, Obj};
use crate::{ApiError, AppState};

fn settings_json(r: &IpRestriction, p: &PasswordPolicy) -> Value {
    json!({ "settings": { "security": {
        "ip_restriction": {
            "enabled": r.enabled,
            "allowed_ranges": r.allowed_ranges,
            "end_users": r.end_users,
        },
        "password": { "min_length": p.min_length, "history": p.history },
    } } })
}

/// `GET /account/settings`
pub async fn show(State(app): State<AppState>, Auth(scope): Auth) -> Result<Response, ApiError> {
    Ok(ok(settings_json(
        &app.helpdesk.ip_restriction(&scope).await?,
        &app.helpdesk.password_policy(&scope).await?,
    )))
}

/// `PUT /account/settings` with `{"settings": {"security": {"ip_restriction": {…}}}}`; fields left
/// out keep their value.
pub async fn update(State(app): State<AppState>, Auth(scope): Auth, client: Client, body: JsonBody) -> Result<Response, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["settings"])?;
    let settings = root.object("settings")?;
    settings.only(&["security"])?;
    let security = settings.object("security")?;
    security.only(&["ip_restriction", "password"])?;
    let ip = match security.opt_object("ip_restriction")? {
        None => None,
        Some(ip) => {
            ip.only(&["enabled", "allowed_ranges", "end_users"])?;
            let current = app.helpdesk.ip_restriction(&scope).await?;
            Some(IpRestriction {
                enabled: ip.opt_bool("enabled")?.unwrap_or(current.enabled),
                allowed_ranges: ip.opt_str("allowed_ranges", 8_000)?.unwrap_or(current.allowed_ranges),
                end_users: ip.opt_bool("end_users")?.unwrap_or(current.end_users),
            })
        }
    };
    let password = match security.opt_object("password")? {
        None => None,
        Some(pw) => {
            pw.only(&["min_length", "history"])?;
            let current = app.helpdesk.password_policy(&scope).await?;
            Some(PasswordPolicy {
                min_length: pw.opt_int("min_length", 0, 1_000)?.unwrap_or(current.min_length),
                history: pw.opt_int("history", 0, 1_000)?.unwrap_or(current.history),
            })
        }
    };
    // Both checked before either is saved: a request saves all of itself or nothing.
    if let Some(r) = &ip {
        suoja_helpdesk::security::check_ip_restriction(r, client.0)?;
    }
    if let Some(p) = password {
        suoja_helpdesk::security::check_password_policy(p)?;
        app.helpdesk.set_password_policy(&scope, p).await?;
    }
    if let Some(r) = ip {
        app.helpdesk.set_ip_restriction(&scope, r, client.0).await?;
    }
    Ok(ok(settings_json(
        &app.helpdesk.ip_restriction(&scope).await?,
        &app.helpdesk.password_policy(&scope).await?,
    )))
}
