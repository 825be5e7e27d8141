//! `/api/v2/community/…`: topics, posts and post comments in Zendesk's shapes (votes and
//! subscriptions on them are in [`super::reactions`]).

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value, json};
use suoja_core::UserId;
use suoja_helpdesk::help_center::{self as hc, PostCommentInput, PostCommentView, PostInput, PostView, TopicInput};
use suoja_store::community::{PostFilter, PostSort, TopicRow};

use super::super::wire::ts;
use super::super::{created, no_content, ok};
use super::{P, created_at_of, id_of, page, page_of, redaction_text};
use crate::extract::{Auth, BaseUrl, JsonBody, Obj, Params};
use crate::{ApiError, AppState};

fn topic(t: &TopicRow, base: &BaseUrl) -> Value {
    let segment = hc::segment_id(t.user_segment.as_deref());
    json!({
        "id": t.id,
        "url": base.api(&format!("/community/topics/{}.json", t.id)),
        "html_url": format!("{}/hc/community/topics/{}", base.0, t.id),
        "name": t.name,
        "description": t.description,
        "position": t.position,
        "manageable_by": "managers",
        "user_segment_id": segment,
        "created_at": ts(t.created_at),
        "updated_at": ts(t.updated_at),
    })
}

fn post(p: &PostView, base: &BaseUrl) -> Value {
    let r = &p.row;
    json!({
        "id": r.id,
        "url": base.api(&format!("/community/posts/{}.json", r.id)),
        "html_url": format!("{}/hc/community/posts/{}", base.0, r.id),
        "title": p.title.as_ref().map_or(hc::TOMBSTONE, |t| t.expose().as_str()),
        "details": p.details.as_ref().map_or("", |d| d.expose().as_str()),
        "author_id": r.author_id.0,
        "topic_id": r.topic_id,
        "status": r.status,
        "featured": r.featured,
        "pinned": r.pinned,
        "closed": r.closed,
        "vote_sum": p.vote_sum,
        "vote_count": p.vote_count,
        "comment_count": p.comment_count,
        "content_tag_ids": [],
        "non_author_editor_id": r.non_author_editor_id.map(|u| u.0),
        "non_author_updated_at": r.non_author_updated_at.map(ts),
        "created_at": ts(r.created_at),
        "updated_at": ts(r.updated_at),
    })
}

fn comment(c: &PostCommentView, base: &BaseUrl) -> Value {
    let r = &c.row;
    json!({
        "id": r.id,
        "url": base.api(&format!("/community/posts/{}/comments/{}.json", r.post_id, r.id)),
        "html_url": format!("{}/hc/community/posts/{}#comment_{}", base.0, r.post_id, r.id),
        "body": c.body.as_ref().map_or(hc::TOMBSTONE, |b| b.expose().as_str()),
        "author_id": r.author_id.0,
        "post_id": r.post_id,
        "official": r.official,
        "vote_sum": c.vote_sum,
        "vote_count": c.vote_count,
        "non_author_editor_id": r.non_author_editor_id.map(|u| u.0),
        "non_author_updated_at": r.non_author_updated_at.map(ts),
        "created_at": ts(r.created_at),
        "updated_at": ts(r.updated_at),
    })
}

fn topic_input(body: &JsonBody) -> Result<TopicInput, ApiError> {
    let r = Obj::root(&body.0);
    r.only(&["topic"])?;
    let o = r.object("topic")?;
    o.only(&[
        "id",
        "url",
        "html_url",
        "name",
        "description",
        "position",
        "manageable_by",
        "user_segment_id",
        "follower_count",
        "created_at",
        "updated_at",
    ])?;
    Ok(TopicInput {
        name: o.opt_str("name", 1_000)?,
        description: o.nullable_str("description", 10_000)?.map(Option::unwrap_or_default),
        position: o.opt_int("position", -1_000_000, 1_000_000)?,
        user_segment_id: o.nullable_id("user_segment_id")?,
    })
}

fn post_input(body: &JsonBody) -> Result<(PostInput, bool), ApiError> {
    let r = Obj::root(&body.0);
    r.only(&["post", "notify_subscribers"])?;
    let notify = r.opt_bool("notify_subscribers")?.unwrap_or(true);
    let o = r.object("post")?;
    o.only(&[
        "id",
        "url",
        "html_url",
        "title",
        "details",
        "topic_id",
        "author_id",
        "status",
        "featured",
        "pinned",
        "closed",
        "hidden",
        "vote_sum",
        "vote_count",
        "comment_count",
        "follower_count",
        "content_tag_ids",
        "created_at",
        "updated_at",
        "non_author_editor_id",
        "non_author_updated_at",
    ])?;
    Ok((
        PostInput {
            title: o.opt_str("title", 1_000)?,
            details: o.nullable_str("details", 600 * 1024)?.map(Option::unwrap_or_default),
            topic_id: o.opt_id("topic_id")?,
            author_id: o.opt_id("author_id")?,
            status: o.opt_str("status", 40)?,
            featured: o.opt_bool("featured")?,
            pinned: o.opt_bool("pinned")?,
            closed: o.opt_bool("closed")?,
            hidden: o.opt_bool("hidden")?,
            created_at: None,
        },
        notify,
    ))
}

fn comment_input(body: &JsonBody) -> Result<(PostCommentInput, bool), ApiError> {
    let r = Obj::root(&body.0);
    r.only(&["comment", "notify_subscribers"])?;
    let notify = r.opt_bool("notify_subscribers")?.unwrap_or(true);
    let o = r.object("comment")?;
    o.only(&[
        "id",
        "url",
        "html_url",
        "body",
        "author_id",
        "post_id",
        "official",
        "hidden",
        "vote_sum",
        "vote_count",
        "created_at",
        "updated_at",
        "non_author_editor_id",
        "non_author_updated_at",
    ])?;
    let created_at = created_at_of(&o)?;
    Ok((
        PostCommentInput {
            body: o.opt_str("body", 600 * 1024)?,
            author_id: o.opt_id("author_id")?,
            official: o.opt_bool("official")?,
            hidden: o.opt_bool("hidden")?,
            created_at,
        },
        notify,
    ))
}

// ---- topics ----

/// `GET /community/topics`
pub async fn topics(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    let (pg, size, pp) = page_of(&params)?;
    let (rows, count) = app.helpdesk.list_topics(&scope, pg).await?;
    Ok(page(
        "topics",
        rows,
        count,
        size,
        |r| r.id,
        |r| topic(r, &base),
        "/community/topics",
        pp,
        &base,
        &params,
    ))
}

/// `POST /community/topics`
pub async fn create_topic(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, body: JsonBody) -> Result<Response, ApiError> {
    let t = app.helpdesk.create_topic(&scope, &topic_input(&body)?).await?;
    Ok(created(
        &base.api(&format!("/community/topics/{}.json", t.id)),
        json!({"topic": topic(&t, &base)}),
    ))
}

/// `GET /community/topics/{id}`
pub async fn show_topic(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P) -> Result<Response, ApiError> {
    let t = app.helpdesk.get_topic(&scope, id_of(&p, "id")?).await?;
    Ok(ok(json!({"topic": topic(&t, &base)})))
}

/// `PUT /community/topics/{id}`
pub async fn update_topic(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P, body: JsonBody) -> Result<Response, ApiError> {
    let t = app.helpdesk.update_topic(&scope, id_of(&p, "id")?, &topic_input(&body)?).await?;
    Ok(ok(json!({"topic": topic(&t, &base)})))
}

/// `DELETE /community/topics/{id}`: with its posts.
pub async fn delete_topic(State(app): State<AppState>, Auth(scope): Auth, Path(p): P) -> Result<Response, ApiError> {
    app.helpdesk.delete_topic(&scope, id_of(&p, "id")?).await?;
    Ok(no_content())
}

// ---- posts ----

/// Zendesk's `sort_by` for posts.
fn sort(params: &Params) -> Result<PostSort, ApiError> {
    Ok(match params.get("sort_by").unwrap_or("") {
        "" | "created_at" => PostSort::Created,
        "updated_at" | "edited_at" | "recent_activity" => PostSort::Updated,
        "votes" => PostSort::Votes,
        "comments" => PostSort::Comments,
        other => {
            return Err(ApiError::BadRequest(format!(
                "sort_by '{}' is not one of created_at, edited_at, updated_at, recent_activity, votes, comments",
                other.chars().take(40).collect::<String>()
            )));
        }
    })
}

async fn post_list(app: &AppState, scope: &suoja_core::Scope, base: &BaseUrl, params: &Params, filter: PostFilter, path: &str) -> Result<Response, ApiError> {
    let (pg, size, pp) = page_of(params)?;
    let status = params.get("filter_by").filter(|s| !s.is_empty());
    let (rows, count) = app.helpdesk.list_posts(scope, filter, status, sort(params)?, pg).await?;
    Ok(page("posts", rows, count, size, |r| r.row.id, |r| post(r, base), path, pp, base, params))
}

/// `GET /community/posts`
pub async fn posts(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    post_list(&app, &scope, &base, &params, PostFilter::All, "/community/posts").await
}

/// `GET /community/topics/{id}/posts`
pub async fn topic_posts(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P, params: Params) -> Result<Response, ApiError> {
    let id = id_of(&p, "id")?;
    post_list(&app, &scope, &base, &params, PostFilter::Topic(id), &format!("/community/topics/{id}/posts")).await
}

/// `GET /community/users/{id}/posts`
pub async fn user_posts(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P, params: Params) -> Result<Response, ApiError> {
    let id = id_of(&p, "id")?;
    post_list(
        &app,
        &scope,
        &base,
        &params,
        PostFilter::Author(UserId(id)),
        &format!("/community/users/{id}/posts"),
    )
    .await
}

/// `POST /community/posts`
pub async fn create_post(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, body: JsonBody) -> Result<Response, ApiError> {
    let (input, notify) = post_input(&body)?;
    let p = app.helpdesk.create_post(&scope, &input, notify).await?;
    Ok(created(
        &base.api(&format!("/community/posts/{}.json", p.row.id)),
        json!({"post": post(&p, &base)}),
    ))
}

/// `GET /community/posts/{id}`
pub async fn show_post(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P) -> Result<Response, ApiError> {
    let v = app.helpdesk.get_post(&scope, id_of(&p, "id")?).await?;
    Ok(ok(json!({"post": post(&v, &base)})))
}

/// `PUT /community/posts/{id}`
pub async fn update_post(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P, body: JsonBody) -> Result<Response, ApiError> {
    let (input, _) = post_input(&body)?;
    let v = app.helpdesk.update_post(&scope, id_of(&p, "id")?, &input).await?;
    Ok(ok(json!({"post": post(&v, &base)})))
}

/// `DELETE /community/posts/{id}`
pub async fn delete_post(State(app): State<AppState>, Auth(scope): Auth, Path(p): P) -> Result<Response, ApiError> {
    app.helpdesk.delete_post(&scope, id_of(&p, "id")?).await?;
    Ok(no_content())
}

// ---- post comments ----

/// `GET /community/posts/{id}/comments`
pub async fn comments(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P, params: Params) -> Result<Response, ApiError> {
    let id = id_of(&p, "id")?;
    let (pg, size, pp) = page_of(&params)?;
    let (rows, count) = app.helpdesk.list_post_comments(&scope, id, pg).await?;
    let path = format!("/community/posts/{id}/comments");
    Ok(page(
        "comments",
        rows,
        count,
        size,
        |r| r.row.id,
        |r| comment(r, &base),
        &path,
        pp,
        &base,
        &params,
    ))
}

/// `GET /community/users/{id}/comments`
pub async fn user_comments(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P, params: Params) -> Result<Response, ApiError> {
    let user = id_of(&p, "id")?;
    let (pg, size, pp) = page_of(&params)?;
    let (rows, count) = app.helpdesk.list_user_post_comments(&scope, UserId(user), pg).await?;
    let path = format!("/community/users/{user}/comments");
    Ok(page(
        "comments",
        rows,
        count,
        size,
        |r| r.row.id,
        |r| comment(r, &base),
        &path,
        pp,
        &base,
        &params,
    ))
}

/// `POST /community/posts/{id}/comments`
pub async fn create_comment(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P, body: JsonBody) -> Result<Response, ApiError> {
    let id = id_of(&p, "id")?;
    let (input, notify) = comment_input(&body)?;
    let c = app.helpdesk.create_post_comment(&scope, id, &input, notify).await?;
    Ok(created(
        &base.api(&format!("/community/posts/{id}/comments/{}.json", c.row.id)),
        json!({"comment": comment(&c, &base)}),
    ))
}

/// `GET /community/posts/{id}/comments/{comment_id}`
pub async fn show_comment(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P) -> Result<Response, ApiError> {
    let c = app.helpdesk.get_post_comment(&scope, id_of(&p, "id")?, id_of(&p, "comment_id")?).await?;
    Ok(ok(json!({"comment": comment(&c, &base)})))
}

/// `PUT /community/posts/{id}/comments/{comment_id}`
pub async fn update_comment(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P, body: JsonBody) -> Result<Response, ApiError> {
    let (input, _) = comment_input(&body)?;
    let c = app
        .helpdesk
        .update_post_comment(&scope, id_of(&p, "id")?, id_of(&p, "comment_id")?, &input)
        .await?;
    Ok(ok(json!({"comment": comment(&c, &base)})))
}

/// `PUT /community/posts/{id}/comments/{comment_id}/redact` with `{"text"}`: staff replace
/// every occurrence of the text in the comment by redaction marks, irreversibly.
pub async fn redact_comment(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P, body: JsonBody) -> Result<Response, ApiError> {
    let (post, id) = (id_of(&p, "id")?, id_of(&p, "comment_id")?);
    let text = redaction_text(&body)?;
    app.privacy
        .redact_free_text(&scope, suoja_privacy::redaction::FreeText::PostComment(post, id), &text)
        .await?;
    let c = app.helpdesk.get_post_comment(&scope, post, id).await?;
    Ok(ok(json!({"comment": comment(&c, &base)})))
}

/// `PUT /community/posts/{id}/redact` with `{"text"}`: staff replace every occurrence of the
/// text in the post's title and details by redaction marks, irreversibly.
pub async fn redact_post(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P, body: JsonBody) -> Result<Response, ApiError> {
    let id = id_of(&p, "id")?;
    let text = redaction_text(&body)?;
    app.privacy
        .redact_free_text(&scope, suoja_privacy::redaction::FreeText::Post(id), &text)
        .await?;
    let v = app.helpdesk.get_post(&scope, id).await?;
    Ok(ok(json!({"post": post(&v, &base)})))
}

/// `DELETE /community/posts/{id}/comments/{comment_id}`
pub async fn delete_comment(State(app): State<AppState>, Auth(scope): Auth, Path(p): P) -> Result<Response, ApiError> {
    app.helpdesk.delete_post_comment(&scope, id_of(&p, "id")?, id_of(&p, "comment_id")?).await?;
    Ok(no_content())
}
