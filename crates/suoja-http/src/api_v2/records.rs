//! `/api/v2/privacy/records_of_processing` and `/api/v2/privacy/dpa` (JSON, or PDF, in English
//! or Finnish), and `/api/v2/privacy/controller`: the records of processing and the data
//! processing agreement generated from the data map and the tenant's settings, and the
//! controller and data protection officer they name. Privacy staff.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use serde_json::json;
use suoja_store::settings::Controller;

use super::ok;
use crate::extract::{Auth, JsonBody, Obj, Params};
use crate::web::Lang;
use crate::{ApiError, AppState};

/// `GET /privacy/records_of_processing[?format=pdf][&locale=fi]`
pub async fn records(State(app): State<AppState>, Auth(scope): Auth, params: Params) -> Result<Response, ApiError> {
    let lang = match params.get("locale").unwrap_or("en") {
        "en" | "en-US" | "en-GB" => Lang::En,
        "fi" | "fi-FI" => Lang::Fi,
        _ => return Err(ApiError::Field("locale".into(), "locale: must be en or fi".into(), "InvalidValue")),
    };
    match params.get("format").unwrap_or("json") {
        "json" => Ok(ok(json!({ "records_of_processing": app.privacy.records_of_processing(&scope).await? }))),
        "pdf" => {
            let label = |table: &str| {
                let name = lang.data(table);
                (name != table).then_some(name)
            };
            let bytes = app.privacy.records_of_processing_pdf(&scope, lang == Lang::Fi, &label).await?;
            let mut r = (StatusCode::OK, bytes).into_response();
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
            h.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"records-of-processing.pdf\""),
            );
            Ok(r)
        }
        _ => Err(ApiError::Field("format".into(), "format: must be json or pdf".into(), "InvalidValue")),
    }
}

fn controller_json(c: &Controller) -> serde_json::Value {
    json!({ "name": c.name, "contact": c.contact, "dpo_contact": c.dpo_contact, "subprocessor_notice_days": c.subprocessor_notice_days })
}

/// `GET /privacy/controller`
pub async fn controller(State(app): State<AppState>, Auth(scope): Auth) -> Result<Response, ApiError> {
    let c = app.privacy.controller(&scope).await?;
    Ok(ok(json!({ "controller": c.as_ref().map(controller_json) })))
}

/// `PUT /privacy/controller`
pub async fn set_controller(State(app): State<AppState>, Auth(scope): Auth, body: JsonBody) -> Result<Response, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["controller"])?;
    let c = root.object("controller")?;
    c.only(&["name", "contact", "dpo_contact", "subprocessor_notice_days"])?;
    let current = app.privacy.controller(&scope).await?;
    let d = Controller {
        name: c.opt_str("name", 500)?.unwrap_or_default(),
        contact: c.opt_str("contact", 500)?.unwrap_or_default(),
        dpo_contact: c.opt_str("dpo_contact", 500)?.unwrap_or_default(),
        subprocessor_notice_days: c
            .opt_int("subprocessor_notice_days", 0, 365)?
            .or(current.map(|c| c.subprocessor_notice_days))
            .unwrap_or(suoja_privacy::subprocessors::DEFAULT_NOTICE_DAYS),
    };
    let saved = app.privacy.set_controller(&scope, d).await?;
    Ok(ok(json!({ "controller": controller_json(&saved) })))
}

/// `GET /privacy/dpa[?format=pdf][&locale=fi]`: the data processing agreement with its annexes.
pub async fn dpa(State(app): State<AppState>, Auth(scope): Auth, params: Params) -> Result<Response, ApiError> {
    let finnish = match params.get("locale").unwrap_or("en") {
        "en" | "en-US" | "en-GB" => false,
        "fi" | "fi-FI" => true,
        _ => return Err(ApiError::Field("locale".into(), "locale: must be en or fi".into(), "InvalidValue")),
    };
    match params.get("format").unwrap_or("json") {
        "json" => Ok(ok(json!({ "dpa": app.privacy.dpa(&scope, finnish).await? }))),
        "pdf" => {
            let bytes = app.privacy.dpa_pdf(&scope, finnish).await?;
            let mut r = (StatusCode::OK, bytes).into_response();
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
            h.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"data-processing-agreement.pdf\""),
            );
            Ok(r)
        }
        _ => Err(ApiError::Field("format".into(), "format: must be json or pdf".into(), "InvalidValue")),
    }
}
