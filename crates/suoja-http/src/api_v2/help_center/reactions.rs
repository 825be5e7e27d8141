//! Votes and subscriptions on articles, posts and their comments, sections and topics:
//! `…/up`, `…/down`, `…/votes`, `/help_center/votes/{id}`, `…/subscriptions[/{id}]` and a
//! person's votes and subscriptions.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use suoja_core::{Scope, UserId};
use suoja_helpdesk::help_center::{Followed, VoteItem};
use suoja_store::help_center::{SubscriptionRow, VoteRow};

use super::super::wire::ts;
use super::super::{created, no_content, ok, respond};
use super::{P, hc_url, id_of, page, page_of};
use crate::extract::{Auth, BaseUrl, JsonBody, Obj, Params};
use crate::{ApiError, AppState};

fn vote(v: &VoteRow, base: &BaseUrl) -> Value {
    json!({
        "id": v.id,
        "url": hc_url(base, &format!("/votes/{}", v.id)),
        "user_id": v.user_id.0,
        "value": v.value,
        "item_id": v.item_id,
        "item_type": v.item_type,
        "created_at": ts(v.created_at),
        "updated_at": ts(v.updated_at),
    })
}

/// Where a followed thing lives under `/api/v2`.
fn followed_path(content_type: &str, id: i64) -> String {
    match content_type {
        "Article" => format!("/help_center/articles/{id}"),
        "Section" => format!("/help_center/sections/{id}"),
        "Post" => format!("/community/posts/{id}"),
        _ => format!("/community/topics/{id}"),
    }
}

fn subscription(s: &SubscriptionRow, base: &BaseUrl) -> Value {
    json!({
        "id": s.id,
        "url": base.api(&format!("{}/subscriptions/{}.json", followed_path(&s.content_type, s.content_id), s.id)),
        "user_id": s.user_id.0,
        "content_id": s.content_id,
        "content_type": s.content_type,
        "locale": s.source_locale,
        "source_locale": s.source_locale,
        "include_comments": s.include_comments,
        "created_at": ts(s.created_at),
        "updated_at": ts(s.updated_at),
    })
}

/// What the path names a vote on: an article's or a post's (`community`), or one of their
/// comments.
fn vote_item(p: &HashMap<String, String>, community: bool) -> Result<VoteItem, ApiError> {
    let id = id_of(p, "id")?;
    Ok(match (p.get("comment_id"), community) {
        (Some(_), false) => VoteItem::ArticleComment {
            article: id,
            id: id_of(p, "comment_id")?,
        },
        (Some(_), true) => VoteItem::PostComment {
            post: id,
            id: id_of(p, "comment_id")?,
        },
        (None, false) => VoteItem::Article(id),
        (None, true) => VoteItem::Post(id),
    })
}

fn votes_path(item: VoteItem) -> String {
    match item {
        VoteItem::Article(a) => format!("/help_center/articles/{a}/votes"),
        VoteItem::ArticleComment { article, id } => format!("/help_center/articles/{article}/comments/{id}/votes"),
        VoteItem::Post(p) => format!("/community/posts/{p}/votes"),
        VoteItem::PostComment { post, id } => format!("/community/posts/{post}/comments/{id}/votes"),
    }
}

async fn cast(app: &AppState, scope: &Scope, base: &BaseUrl, item: VoteItem, up: bool) -> Result<Response, ApiError> {
    let v = app.helpdesk.vote(scope, item, up).await?;
    let mut r = respond(StatusCode::OK, json!({"vote": vote(&v, base)}));
    if let Ok(l) = HeaderValue::from_str(&hc_url(base, &format!("/votes/{}", v.id))) {
        r.headers_mut().insert(header::LOCATION, l);
    }
    Ok(r)
}

async fn votes_of(app: &AppState, scope: &Scope, base: &BaseUrl, item: VoteItem, params: &Params) -> Result<Response, ApiError> {
    let (pg, size, pp) = page_of(params)?;
    let (rows, count) = app.helpdesk.list_votes(scope, item, pg).await?;
    Ok(page(
        "votes",
        rows,
        count,
        size,
        |r| r.id,
        |r| vote(r, base),
        &votes_path(item),
        pp,
        base,
        params,
    ))
}

/// `POST /help_center/articles/{id}[/comments/{comment_id}]/up`
pub async fn up(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P) -> Result<Response, ApiError> {
    cast(&app, &scope, &base, vote_item(&p, false)?, true).await
}

/// `POST /help_center/articles/{id}[/comments/{comment_id}]/down`
pub async fn down(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P) -> Result<Response, ApiError> {
    cast(&app, &scope, &base, vote_item(&p, false)?, false).await
}

/// `POST /community/posts/{id}[/comments/{comment_id}]/up`
pub async fn post_up(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P) -> Result<Response, ApiError> {
    cast(&app, &scope, &base, vote_item(&p, true)?, true).await
}

/// `POST /community/posts/{id}[/comments/{comment_id}]/down`
pub async fn post_down(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P) -> Result<Response, ApiError> {
    cast(&app, &scope, &base, vote_item(&p, true)?, false).await
}

/// `GET /help_center/articles/{id}[/comments/{comment_id}]/votes`
pub async fn votes(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P, params: Params) -> Result<Response, ApiError> {
    votes_of(&app, &scope, &base, vote_item(&p, false)?, &params).await
}

/// `GET /community/posts/{id}[/comments/{comment_id}]/votes`
pub async fn post_votes(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P, params: Params) -> Result<Response, ApiError> {
    votes_of(&app, &scope, &base, vote_item(&p, true)?, &params).await
}

/// `GET /help_center/users/{id}/votes`
pub async fn user_votes(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P, params: Params) -> Result<Response, ApiError> {
    let user = id_of(&p, "id")?;
    let (pg, size, pp) = page_of(&params)?;
    let (rows, count) = app.helpdesk.list_user_votes(&scope, UserId(user), pg).await?;
    let path = format!("/help_center/users/{user}/votes");
    Ok(page("votes", rows, count, size, |r| r.id, |r| vote(r, &base), &path, pp, &base, &params))
}

/// `GET /help_center/votes/{id}`
pub async fn show_vote(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P) -> Result<Response, ApiError> {
    let v = app.helpdesk.get_vote(&scope, id_of(&p, "id")?).await?;
    Ok(ok(json!({"vote": vote(&v, &base)})))
}

/// `DELETE /help_center/votes/{id}`
pub async fn delete_vote(State(app): State<AppState>, Auth(scope): Auth, Path(p): P) -> Result<Response, ApiError> {
    app.helpdesk.delete_vote(&scope, id_of(&p, "id")?).await?;
    Ok(no_content())
}

/// What the path names as followed, by the route's kind.
fn followed(p: &HashMap<String, String>, kind: fn(i64) -> Followed) -> Result<Followed, ApiError> {
    Ok(kind(id_of(p, "id")?))
}

async fn subscribe(app: &AppState, scope: &Scope, base: &BaseUrl, what: Followed, body: &JsonBody) -> Result<Response, ApiError> {
    let r = Obj::root(&body.0);
    r.only(&["subscription"])?;
    let o = r.object("subscription")?;
    o.only(&["source_locale", "locale", "include_comments", "user_id", "content_id", "content_type"])?;
    let source_locale = o.opt_str("source_locale", 20)?.or(o.opt_str("locale", 20)?);
    let include = o.opt_bool("include_comments")?.unwrap_or(false);
    let (s, new) = app
        .helpdesk
        .subscribe(scope, what, source_locale.as_deref(), include, o.opt_id("user_id")?)
        .await?;
    let body = subscription(&s, base);
    let location = body.get("url").and_then(Value::as_str).unwrap_or_default().to_string();
    let v = json!({ "subscription": body });
    Ok(if new { created(&location, v) } else { ok(v) })
}

async fn subscriptions_of(app: &AppState, scope: &Scope, base: &BaseUrl, what: Followed, params: &Params) -> Result<Response, ApiError> {
    let (pg, size, pp) = page_of(params)?;
    let (rows, count) = app.helpdesk.list_subscriptions(scope, what, pg).await?;
    let (ty, id) = what.parts();
    let path = format!("{}/subscriptions", followed_path(ty, id));
    Ok(page(
        "subscriptions",
        rows,
        count,
        size,
        |r| r.id,
        |r| subscription(r, base),
        &path,
        pp,
        base,
        params,
    ))
}

/// Handlers for one kind of followed content, at `…/{id}/subscriptions[/{subscription_id}]`.
macro_rules! follow_routes {
    ($kind:expr, $create:ident, $list:ident, $show:ident, $delete:ident, $what:literal) => {
        #[doc = concat!("`POST …/", $what, "/{id}/subscriptions`")]
        pub async fn $create(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P, body: JsonBody) -> Result<Response, ApiError> {
            subscribe(&app, &scope, &base, followed(&p, $kind)?, &body).await
        }

        #[doc = concat!("`GET …/", $what, "/{id}/subscriptions`")]
        pub async fn $list(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P, params: Params) -> Result<Response, ApiError> {
            subscriptions_of(&app, &scope, &base, followed(&p, $kind)?, &params).await
        }

        #[doc = concat!("`GET …/", $what, "/{id}/subscriptions/{subscription_id}`")]
        pub async fn $show(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P) -> Result<Response, ApiError> {
            let s = app.helpdesk.get_subscription(&scope, followed(&p, $kind)?, id_of(&p, "subscription_id")?).await?;
            Ok(ok(json!({"subscription": subscription(&s, &base)})))
        }

        #[doc = concat!("`DELETE …/", $what, "/{id}/subscriptions/{subscription_id}`")]
        pub async fn $delete(State(app): State<AppState>, Auth(scope): Auth, Path(p): P) -> Result<Response, ApiError> {
            app.helpdesk.unsubscribe(&scope, followed(&p, $kind)?, id_of(&p, "subscription_id")?).await?;
            Ok(no_content())
        }
    };
}

follow_routes!(
    Followed::Article,
    subscribe_article,
    article_subscriptions,
    show_article_subscription,
    unsubscribe_article,
    "articles"
);
follow_routes!(
    Followed::Section,
    subscribe_section,
    section_subscriptions,
    show_section_subscription,
    unsubscribe_section,
    "sections"
);
follow_routes!(
    Followed::Post,
    subscribe_post,
    post_subscriptions,
    show_post_subscription,
    unsubscribe_post,
    "posts"
);
follow_routes!(
    Followed::Topic,
    subscribe_topic,
    topic_subscriptions,
    show_topic_subscription,
    unsubscribe_topic,
    "topics"
);

/// `GET /help_center/users/{id}/subscriptions`
pub async fn user_subscriptions(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P, params: Params) -> Result<Response, ApiError> {
    let user = id_of(&p, "id")?;
    let (pg, size, pp) = page_of(&params)?;
    let (rows, count) = app.helpdesk.list_user_subscriptions(&scope, UserId(user), pg).await?;
    let path = format!("/help_center/users/{user}/subscriptions");
    Ok(page(
        "subscriptions",
        rows,
        count,
        size,
        |r| r.id,
        |r| subscription(r, &base),
        &path,
        pp,
        &base,
        &params,
    ))
}
