//! `/api/v2/job_statuses` (the latest 100), `/job_statuses/show_many?ids=` and
//! `/job_statuses/{id}` (Zendesk reference §6.2).

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::json;

use super::{ok, wire};
use crate::extract::{Auth, BaseUrl, Params};
use crate::{ApiError, AppState};

/// `GET /job_statuses/{id}`
pub async fn show(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
    if id.len() != 32 || !id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(ApiError::NotFound);
    }
    let j = app.helpdesk.job_status(&scope, &id).await?;
    Ok(ok(json!({"job_status": wire::job(&j, &base)})))
}

/// `GET /job_statuses`
pub async fn index(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl) -> Result<Response, ApiError> {
    let jobs = app.helpdesk.job_statuses(&scope, None).await?;
    Ok(ok(json!({"job_statuses": jobs.iter().map(|j| wire::job(j, &base)).collect::<Vec<_>>()})))
}

/// `GET /job_statuses/show_many?ids=a,b` (at most 100 ids; unknown ones are left out).
pub async fn show_many(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    // Who may ask comes before what was asked.
    if !scope.is_staff() {
        return Err(suoja_helpdesk::HelpdeskError::Forbidden("only staff read job statuses").into());
    }
    let ids: Vec<String> = params
        .get("ids")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let mut ids = ids;
    ids.sort();
    ids.dedup();
    if ids.is_empty() || ids.len() > 100 || ids.iter().any(|id| id.len() != 32 || !id.chars().all(|c| c.is_ascii_hexdigit())) {
        return Err(ApiError::BadRequest("ids: 1 to 100 job status ids, comma-separated".into()));
    }
    let jobs = app.helpdesk.job_statuses(&scope, Some(&ids)).await?;
    Ok(ok(json!({"job_statuses": jobs.iter().map(|j| wire::job(j, &base)).collect::<Vec<_>>()})))
}
