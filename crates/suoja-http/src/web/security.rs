//! Administration: the security settings page — the IP restriction, password rules, session
//! lifetimes, who must use two-step sign-in and the sign-in alerts, saved together (all or
//! nothing) through the same service call as `PUT /api/v2/account/settings`. Admins only.

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use suoja_helpdesk::security::SecurityPolicy;

use super::ctx::{Ctx, Fields};
use super::{Chrome, Failure, FormErrors, Page, render, render_status, see_other};
use crate::AppState;

/// The security settings pages.
pub(super) fn pages() -> Vec<(Page, MethodRouter<AppState>)> {
    vec![(Page::get("/admin/security"), get(show)), (Page::post("/admin/security"), post(save))]
}

/// The fields of the form, as shown.
#[derive(Debug, Clone, Default)]
pub struct Form {
    pub ip_enabled: bool,
    pub allowed_ranges: String,
    pub ip_end_users: bool,
    pub min_length: String,
    pub history: String,
    pub idle_minutes: String,
    pub absolute_hours: String,
    pub staff_second_factor: bool,
    pub end_user_second_factor: bool,
    pub sign_in_alerts: bool,
}

impl From<&SecurityPolicy> for Form {
    fn from(p: &SecurityPolicy) -> Self {
        let s = &p.settings;
        Form {
            ip_enabled: s.ip.enabled,
            allowed_ranges: s.ip.allowed_ranges.clone(),
            ip_end_users: s.ip.end_users,
            min_length: s.password.min_length.to_string(),
            history: s.password.history.to_string(),
            idle_minutes: s.sessions.idle_minutes.to_string(),
            absolute_hours: s.sessions.absolute_hours.to_string(),
            staff_second_factor: p.staff_second_factor,
            end_user_second_factor: s.end_user_second_factor,
            sign_in_alerts: s.sign_in_alerts,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/security.html")]
struct SecurityPage {
    c: Chrome,
    f: Form,
    /// The address this page is seen from (what an IP restriction must allow).
    client: String,
    errors: FormErrors,
}

fn admin(ctx: &Ctx) -> Result<suoja_core::Scope, Failure> {
    let s = ctx.person()?;
    if !s.is_admin() {
        return Err(Failure::forbidden(ctx));
    }
    Ok(s)
}

fn page(ctx: &Ctx, f: Form, errors: FormErrors) -> SecurityPage {
    SecurityPage {
        c: Chrome::new(ctx, ctx.t("security.title"), "security"),
        f,
        client: ctx.client.map(|ip| ip.to_string()).unwrap_or_default(),
        errors,
    }
}

async fn show(State(state): State<AppState>, ctx: Ctx) -> Result<Response, Failure> {
    let scope = admin(&ctx)?;
    let p = state.helpdesk.security_policy(&scope).await.map_err(|e| ctx.fail(e))?;
    Ok(render(&ctx, &page(&ctx, Form::from(&p), FormErrors::default())))
}

async fn save(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let fields = Fields::read(&ctx, &headers, &body)?;
    let scope = admin(&ctx)?;
    let f = Form {
        ip_enabled: fields.get("ip_enabled") == "1",
        allowed_ranges: fields.get("allowed_ranges").chars().take(8_000).collect(),
        ip_end_users: fields.get("ip_end_users") == "1",
        min_length: fields.get("min_length").trim().to_string(),
        history: fields.get("history").trim().to_string(),
        idle_minutes: fields.get("idle_minutes").trim().to_string(),
        absolute_hours: fields.get("absolute_hours").trim().to_string(),
        staff_second_factor: fields.get("staff_second_factor") == "1",
        end_user_second_factor: fields.get("end_user_second_factor") == "1",
        sign_in_alerts: fields.get("sign_in_alerts") == "1",
    };
    // Numbers are parsed here; their ranges are the service's to check.
    let mut errors = FormErrors::default();
    let mut number = |name: &str, text: &str| match text.parse::<i64>() {
        Ok(n) => n,
        Err(_) => {
            errors.add(name, ctx.t("security.whole_number"));
            0
        }
    };
    let mut p = state.helpdesk.security_policy(&scope).await.map_err(|e| ctx.fail(e))?;
    p.settings.password.min_length = number("min_length", &f.min_length);
    p.settings.password.history = number("history", &f.history);
    p.settings.sessions.idle_minutes = number("idle_minutes", &f.idle_minutes);
    p.settings.sessions.absolute_hours = number("absolute_hours", &f.absolute_hours);
    if !errors.is_empty() {
        return Ok(render_status(&ctx, StatusCode::UNPROCESSABLE_ENTITY, &page(&ctx, f, errors)));
    }
    p.settings.ip.enabled = f.ip_enabled;
    p.settings.ip.allowed_ranges = f.allowed_ranges.clone();
    p.settings.ip.end_users = f.ip_end_users;
    p.staff_second_factor = f.staff_second_factor;
    p.settings.end_user_second_factor = f.end_user_second_factor;
    p.settings.sign_in_alerts = f.sign_in_alerts;
    match state.helpdesk.set_security_policy(&scope, p, ctx.client).await {
        Ok(_) => Ok(see_other("/admin/security?done=saved")),
        Err(e) => {
            let placed = ["allowed_ranges", "min_length", "history", "idle_minutes", "absolute_hours"];
            let errors = FormErrors::from_error(e.into(), ctx.lang, &placed).map_err(|e| ctx.fail(e))?;
            Ok(render_status(&ctx, StatusCode::UNPROCESSABLE_ENTITY, &page(&ctx, f, errors)))
        }
    }
}
