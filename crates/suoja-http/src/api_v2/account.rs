//! `/api/v2/account/settings`: the account settings a controller must be able to show, in
//! Zendesk's shape where it has one, under `settings.security` — the IP restriction of staff and
//! API access (`ip_restriction`; saving checks that the admin's own address stays allowed), the
//! password rules (`password`), session lifetimes (`sessions`), who must give a second factor
//! (`second_factor`) and the mail on a staff sign-in from a new browser (`sign_in_alerts`).
//! Admins only; a change saves all of itself or nothing.

use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};
use suoja_helpdesk::security::SecurityPolicy;

use super::ok;
use crate::extract::{Auth, Client, JsonBody, Obj};
use crate::{ApiError, AppState};

fn settings_json(p: &SecurityPolicy) -> Value {
    let s = &p.settings;
    json!({ "settings": { "security": {
        "ip_restriction": {
            "enabled": s.ip.enabled,
            "allowed_ranges": s.ip.allowed_ranges,
            "end_users": s.ip.end_users,
        },
        "password": { "min_length": s.password.min_length, "history": s.password.history },
        "sessions": { "idle_minutes": s.sessions.idle_minutes, "absolute_hours": s.sessions.absolute_hours },
        "second_factor": { "staff": p.staff_second_factor, "end_users": s.end_user_second_factor },
        "sign_in_alerts": { "enabled": s.sign_in_alerts },
    } } })
}

/// `GET /account/settings`
pub async fn show(State(app): State<AppState>, Auth(scope): Auth) -> Result<Response, ApiError> {
    Ok(ok(settings_json(&app.helpdesk.security_policy(&scope).await?)))
}

/// `PUT /account/settings` with `{"settings": {"security": {"ip_restriction": {…}, …}}}`; parts
/// and fields left out keep their value.
pub async fn update(State(app): State<AppState>, Auth(scope): Auth, client: Client, body: JsonBody) -> Result<Response, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["settings"])?;
    let settings = root.object("settings")?;
    settings.only(&["security"])?;
    let security = settings.object("security")?;
    security.only(&["ip_restriction", "password", "sessions", "second_factor", "sign_in_alerts"])?;
    let mut p = app.helpdesk.security_policy(&scope).await?;
    let s = &mut p.settings;
    if let Some(ip) = security.opt_object("ip_restriction")? {
        ip.only(&["enabled", "allowed_ranges", "end_users"])?;
        s.ip.enabled = ip.opt_bool("enabled")?.unwrap_or(s.ip.enabled);
        if let Some(r) = ip.opt_str("allowed_ranges", 8_000)? {
            s.ip.allowed_ranges = r;
        }
        s.ip.end_users = ip.opt_bool("end_users")?.unwrap_or(s.ip.end_users);
    }
    if let Some(pw) = security.opt_object("password")? {
        pw.only(&["min_length", "history"])?;
        s.password.min_length = pw.opt_int("min_length", 0, 1_000)?.unwrap_or(s.password.min_length);
        s.password.history = pw.opt_int("history", 0, 1_000)?.unwrap_or(s.password.history);
    }
    if let Some(l) = security.opt_object("sessions")? {
        l.only(&["idle_minutes", "absolute_hours"])?;
        s.sessions.idle_minutes = l.opt_int("idle_minutes", 0, 100_000)?.unwrap_or(s.sessions.idle_minutes);
        s.sessions.absolute_hours = l.opt_int("absolute_hours", 0, 100_000)?.unwrap_or(s.sessions.absolute_hours);
    }
    if let Some(f) = security.opt_object("second_factor")? {
        f.only(&["staff", "end_users"])?;
        s.end_user_second_factor = f.opt_bool("end_users")?.unwrap_or(s.end_user_second_factor);
        p.staff_second_factor = f.opt_bool("staff")?.unwrap_or(p.staff_second_factor);
    }
    let s = &mut p.settings;
    if let Some(a) = security.opt_object("sign_in_alerts")? {
        a.only(&["enabled"])?;
        s.sign_in_alerts = a.opt_bool("enabled")?.unwrap_or(s.sign_in_alerts);
    }
    Ok(ok(settings_json(&app.helpdesk.set_security_policy(&scope, p, client.0).await?)))
}
