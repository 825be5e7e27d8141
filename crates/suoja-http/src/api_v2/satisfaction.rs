//! `/api/v2/satisfaction_ratings…` and `POST /api/v2/tickets/{id}/satisfaction_rating`
//! (Zendesk's): the requester rates their solved ticket; staff read the ratings.

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value, json};
use suoja_core::{Personal, TicketId};
use suoja_helpdesk::satisfaction::{Rating, Score};

use super::{ListPage, cut_page, id_window, list, ok};
use crate::extract::{Auth, BaseUrl, JsonBody, Obj, Params, parse_id};
use crate::{ApiError, AppState};

fn rating(r: &Rating, base: &BaseUrl) -> Value {
    json!({
        "id": r.id,
        "url": base.api(&format!("/satisfaction_ratings/{}.json", r.id)),
        "ticket_id": r.ticket_id.0,
        "requester_id": r.requester_id.0,
        "assignee_id": r.assignee_id.map(|u| u.0),
        "group_id": r.group_id.map(|g| g.0),
        "score": r.score,
        "comment": r.comment.as_ref().map(|c| c.expose().clone()),
        "reason": null,
        "created_at": r.created_at.to_iso(),
        "updated_at": r.updated_at.to_iso(),
    })
}

/// `POST /tickets/{id}/satisfaction_rating` with `{"satisfaction_rating": {"score": "good" |
/// "bad", "comment": "…"}}` (the requester of a solved ticket) → 200 with the rating.
pub async fn rate(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>, body: JsonBody) -> Result<Response, ApiError> {
    let id = TicketId(parse_id(&id)?);
    let root = Obj::root(&body.0);
    root.only(&["satisfaction_rating"])?;
    let r = root.object("satisfaction_rating")?;
    r.only(&["score", "comment", "reason_code", "reason_id"])?;
    let score = r
        .opt_str("score", 20)?
        .ok_or_else(|| ApiError::Field("score".into(), "score: is required".into(), "BlankValue"))?;
    let score = Score::parse(&score).ok_or_else(|| ApiError::Field("score".into(), "score: must be good or bad".into(), "InvalidValue"))?;
    let comment = r.opt_str("comment", 10_000)?.map(Personal::new);
    let saved = app.helpdesk.rate_ticket(&scope, id, score, comment).await?;
    Ok(ok(json!({"satisfaction_rating": rating(&saved, &base)})))
}

/// `GET /satisfaction_ratings?score=good|bad|received` (staff; cursor pages, newest last)
pub async fn index(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    if !scope.is_staff() {
        return Err(suoja_helpdesk::HelpdeskError::Forbidden("only staff read satisfaction ratings").into());
    }
    let scores: &[&str] = match params.get("score") {
        None | Some("received") => &["good", "bad"],
        Some("good") => &["good"],
        Some("bad") => &["bad"],
        Some(_) => return Err(ApiError::BadRequest("score must be good, bad or received".into())),
    };
    let pp = params.paging()?;
    let (after, limit, offset, size) = id_window(pp)?;
    let (mut found, count) = app.helpdesk.satisfaction_ratings(&scope, scores, after.unwrap_or(0), limit, offset).await?;
    let (has_more, first_last) = cut_page(&mut found, size, |r| r.id);
    let items = found.iter().map(|r| rating(r, &base)).collect();
    Ok(list(
        ListPage {
            root: "satisfaction_ratings",
            items,
            first_last,
            has_more,
            count,
            path: "/satisfaction_ratings".into(),
        },
        pp,
        &base,
        &params,
    ))
}

/// `GET /satisfaction_ratings/{id}` (staff)
pub async fn show(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
    let r = app.helpdesk.satisfaction_rating(&scope, parse_id(&id)?).await?;
    Ok(ok(json!({"satisfaction_rating": rating(&r, &base)})))
}
