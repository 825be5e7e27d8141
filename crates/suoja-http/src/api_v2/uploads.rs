//! `/api/v2/uploads` and `/api/v2/attachments/{id}`: files sent as the raw request body, then
//! attached to a comment by token (Zendesk reference §6.3).

use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse as _, Response};
use serde_json::json;
use suoja_core::{AttachmentId, Personal};

use super::{created, ok, wire};
use crate::extract::{Auth, BaseUrl, Params, parse_id};
use crate::{ApiError, AppState};

/// `POST /uploads?filename=&token=` with the file as the body.
pub async fn upload(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params, req: Request) -> Result<Response, ApiError> {
    let name = params
        .get("filename")
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiError::BadRequest("filename is required".into()))?;
    if name.chars().count() > 255 || name.contains(['/', '\\', '\0']) {
        return Err(ApiError::BadRequest("filename must be a plain file name of at most 255 characters".into()));
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .filter(|c| c.len() < 128 && c.contains('/'))
        .unwrap_or("application/octet-stream")
        .to_string();
    let bytes = crate::extract::read_body(req, app.limits.max_upload_bytes).await?;
    let up = app
        .helpdesk
        .upload(&scope, params.get("token"), Personal::new(name.to_string()), &content_type, &bytes)
        .await?;
    let atts: Vec<_> = up.attachments.iter().map(|a| wire::attachment(a, &base)).collect();
    let last = atts.last().cloned();
    Ok(created(
        &base.api("/uploads.json"),
        json!({"upload": {"token": up.token, "expires_at": null, "attachments": atts, "attachment": last}}),
    ))
}

/// `GET /attachments/{id}`
pub async fn show(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
    let f = app.helpdesk.attachment(&scope, AttachmentId(parse_id(&id)?)).await?;
    Ok(ok(json!({"attachment": wire::attachment(&f.attachment, &base)})))
}

/// `GET /attachments/{id}/content`: the file, as a download.
pub async fn content(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    let f = app.helpdesk.attachment(&scope, AttachmentId(parse_id(&id)?)).await?;
    let mut r = f.bytes.into_inner().into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment"));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    Ok(r)
}
