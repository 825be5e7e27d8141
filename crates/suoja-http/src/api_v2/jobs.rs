//! `/api/v2/job_statuses/{id}` (Zendesk reference §6.2).

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::json;

use super::{ok, wire};
use crate::extract::{Auth, BaseUrl};
use crate::{ApiError, AppState};

/// `GET /job_statuses/{id}`
pub async fn show(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
    if id.len() != 32 || !id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(ApiError::NotFound);
    }
    let j = app.helpdesk.job_status(&scope, &id).await?;
    Ok(ok(json!({"job_status": wire::job(&j, &base)})))
}
