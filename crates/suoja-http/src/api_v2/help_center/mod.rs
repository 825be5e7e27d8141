//! `/api/v2/help_center/…` and `/api/v2/community/…` in Zendesk's shapes: categories,
//! sections, articles and article comments here; topics, posts and post comments in
//! [`community`]; votes and subscriptions on both in [`reactions`]. Help center paths may carry
//! a locale (`/help_center/fi/articles`), which filters lists and is the default locale of what
//! is created.

pub mod community;
pub mod reactions;

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value, json};
use suoja_core::{Scope, UserId};
use suoja_helpdesk::help_center::{self as hc, Article, ArticleComment, ArticleCommentInput, ArticleInput, GroupingInput};
use suoja_store::help_center::{ArticleFilter, CategoryRow, Page, SectionRow};

use super::wire::ts;
use super::{ListPage, created, list, no_content, ok};
use crate::extract::{Auth, BaseUrl, JsonBody, Obj, PageParams, Params, parse_id};
use crate::{ApiError, AppState};

/// The path's parameters by name (`locale`, `id`, `comment_id`, `subscription_id`).
type P = Path<HashMap<String, String>>;

fn id_of(p: &HashMap<String, String>, k: &str) -> Result<i64, ApiError> {
    parse_id(p.get(k).map_or("", String::as_str))
}

/// The locale in the path, checked; a locale the help center does not have is not found.
fn path_locale(p: &HashMap<String, String>) -> Result<Option<String>, ApiError> {
    match p.get("locale") {
        None => Ok(None),
        Some(l) => hc::locale(l).map(Some).map_err(|_| ApiError::NotFound),
    }
}

fn hc_url(base: &BaseUrl, path: &str) -> String {
    base.api(&format!("/help_center{path}.json"))
}

fn category(c: &CategoryRow, base: &BaseUrl) -> Value {
    json!({
        "id": c.id,
        "url": hc_url(base, &format!("/{}/categories/{}", c.locale, c.id)),
        "html_url": format!("{}/hc/{}/categories/{}", base.0, c.locale, c.id),
        "name": c.name,
        "description": c.description,
        "locale": c.locale,
        "source_locale": c.locale,
        "position": c.position,
        "outdated": false,
        "created_at": ts(c.created_at),
        "updated_at": ts(c.updated_at),
    })
}

fn section(s: &SectionRow, base: &BaseUrl) -> Value {
    json!({
        "id": s.id,
        "url": hc_url(base, &format!("/{}/sections/{}", s.locale, s.id)),
        "html_url": format!("{}/hc/{}/sections/{}", base.0, s.locale, s.id),
        "category_id": s.category_id,
        "parent_section_id": null,
        "name": s.name,
        "description": s.description,
        "locale": s.locale,
        "source_locale": s.locale,
        "position": s.position,
        "sorting": "manual",
        "outdated": false,
        "theme_template": "section_page",
        "created_at": ts(s.created_at),
        "updated_at": ts(s.updated_at),
    })
}

fn article(a: &Article, base: &BaseUrl) -> Value {
    let r = &a.row;
    let segment = hc::segment_id(r.user_segment.as_deref());
    json!({
        "id": r.id,
        "url": hc_url(base, &format!("/{}/articles/{}", r.locale, r.id)),
        "html_url": format!("{}/hc/{}/articles/{}", base.0, r.locale, r.id),
        "author_id": r.author_id.0,
        "section_id": r.section_id,
        "title": r.title,
        "name": r.title,
        "body": r.body,
        "locale": r.locale,
        "source_locale": r.locale,
        "draft": r.draft,
        "promoted": r.promoted,
        "position": r.position,
        "comments_disabled": r.comments_disabled,
        "label_names": hc::label_list(r),
        "user_segment_id": segment,
        "user_segment_ids": segment.into_iter().collect::<Vec<_>>(),
        "permission_group_id": null,
        "content_tag_ids": [],
        "outdated": false,
        "outdated_locales": [],
        "vote_sum": a.vote_sum,
        "vote_count": a.vote_count,
        "created_at": ts(r.created_at),
        "updated_at": ts(r.updated_at),
        "edited_at": ts(r.edited_at),
    })
}

fn comment(c: &ArticleComment, base: &BaseUrl) -> Value {
    let r = &c.row;
    let body = c.body.as_ref().map_or(hc::TOMBSTONE, |b| b.expose().as_str());
    json!({
        "id": r.id,
        "url": hc_url(base, &format!("/articles/{}/comments/{}", r.article_id, r.id)),
        "html_url": format!("{}/hc/{}/articles/{}#comment_{}", base.0, r.locale, r.article_id, r.id),
        "body": body,
        "author_id": r.author_id.0,
        "source_id": r.article_id,
        "source_type": "Article",
        "locale": r.locale,
        "vote_sum": c.vote_sum,
        "vote_count": c.vote_count,
        "non_author_editor_id": r.non_author_editor_id.map(|u| u.0),
        "non_author_updated_at": r.non_author_updated_at.map(ts),
        "created_at": ts(r.created_at),
        "updated_at": ts(r.updated_at),
    })
}

/// The page asked for, as the store takes it, and the page parameters to answer with.
fn page_of(params: &Params) -> Result<(Page, i64, PageParams), ApiError> {
    let pp = params.paging()?;
    Ok(match pp {
        PageParams::Cursor { size, after, .. } => (
            Page {
                after,
                limit: size + 1,
                offset: 0,
                cursor: true,
                count: true,
            },
            size,
            PageParams::Cursor { size, after, before: None },
        ),
        PageParams::Offset { page, per_page } => (
            Page {
                after: None,
                limit: per_page + 1,
                offset: (page - 1) * per_page,
                cursor: false,
                count: true,
            },
            per_page,
            pp,
        ),
    })
}

/// Answers a page of `items` (one more than `size` means more follow).
#[allow(clippy::too_many_arguments, reason = "a list page: what, which rows, how many, where, how asked")]
fn page<T>(
    root: &str,
    mut items: Vec<T>,
    count: i64,
    size: i64,
    id: impl Fn(&T) -> i64,
    render: impl Fn(&T) -> Value,
    path: &str,
    pp: PageParams,
    base: &BaseUrl,
    params: &Params,
) -> Response {
    let has_more = suoja_core::num::to_i64(items.len()) > size;
    items.truncate(suoja_core::num::to_usize(size));
    let first_last = items.first().zip(items.last()).map(|(a, b)| (id(a), id(b)));
    list(
        ListPage {
            root,
            items: items.iter().map(render).collect(),
            first_last,
            has_more,
            count,
            path: path.to_string(),
        },
        pp,
        base,
        params,
    )
}

fn grouping(body: &JsonBody, root: &str) -> Result<GroupingInput, ApiError> {
    let r = Obj::root(&body.0);
    r.only(&[root])?;
    let o = r.object(root)?;
    o.only(&[
        "id",
        "url",
        "html_url",
        "name",
        "description",
        "locale",
        "source_locale",
        "position",
        "outdated",
        "category_id",
        "parent_section_id",
        "sorting",
        "theme_template",
        "created_at",
        "updated_at",
    ])?;
    Ok(GroupingInput {
        name: o.opt_str("name", 1_000)?,
        description: o.nullable_str("description", 10_000)?.map(Option::unwrap_or_default),
        locale: o.opt_str("locale", 20)?,
        position: o.opt_int("position", -1_000_000, 1_000_000)?,
        category_id: o.opt_id("category_id")?,
    })
}

fn article_input(body: &JsonBody) -> Result<(ArticleInput, bool), ApiError> {
    let r = Obj::root(&body.0);
    r.only(&["article", "notify_subscribers"])?;
    let notify = r.opt_bool("notify_subscribers")?.unwrap_or(true);
    let o = r.object("article")?;
    o.only(&[
        "id",
        "url",
        "html_url",
        "title",
        "name",
        "body",
        "locale",
        "source_locale",
        "draft",
        "promoted",
        "position",
        "comments_disabled",
        "label_names",
        "user_segment_id",
        "user_segment_ids",
        "permission_group_id",
        "content_tag_ids",
        "section_id",
        "author_id",
        "outdated",
        "outdated_locales",
        "vote_sum",
        "vote_count",
        "created_at",
        "updated_at",
        "edited_at",
    ])?;
    let input = ArticleInput {
        title: o.opt_str("title", 1_000)?.or(o.opt_str("name", 1_000)?),
        body: o.nullable_str("body", 600 * 1024)?.map(Option::unwrap_or_default),
        locale: o.opt_str("locale", 20)?,
        draft: o.opt_bool("draft")?,
        promoted: o.opt_bool("promoted")?,
        position: o.opt_int("position", -1_000_000, 1_000_000)?,
        comments_disabled: o.opt_bool("comments_disabled")?,
        label_names: o.opt_strings("label_names", 100, 1_000)?,
        user_segment_id: segment_of(&o)?,
        section_id: o.opt_id("section_id")?,
        author_id: o.opt_id("author_id")?,
        created_at: None,
    };
    Ok((input, notify))
}

/// The article's user segment from `user_segment_id` or Zendesk's newer `user_segment_ids` (at
/// most one here; both given must agree): never silently dropped, so an article meant for a
/// segment cannot end up public.
fn segment_of(o: &Obj<'_>) -> Result<Option<Option<i64>>, ApiError> {
    let one = o.nullable_id("user_segment_id")?;
    let many = match o.raw("user_segment_ids") {
        None | Some(Value::Null) => None,
        Some(_) => Some(o.opt_ids("user_segment_ids")?.unwrap_or_default()),
    };
    let refuse = |m: &str| ApiError::Field("user_segment_ids".into(), m.into(), "InvalidValue");
    match (one, many) {
        (one, None) => Ok(one),
        (None, Some(ids)) => match ids.as_slice() {
            [] => Ok(Some(None)),
            [id] => Ok(Some(Some(*id))),
            _ => Err(refuse("user_segment_ids: at most one segment per article")),
        },
        (Some(one), Some(ids)) => {
            if ids.len() <= 1 && ids.first().copied() == one {
                Ok(Some(one))
            } else {
                Err(refuse("user_segment_ids: must agree with user_segment_id"))
            }
        }
    }
}

/// A back-dated `created_at` (staff's, for imports), checked.
fn created_at_of(o: &Obj<'_>) -> Result<Option<suoja_core::Timestamp>, ApiError> {
    o.opt_str("created_at", 40)?
        .map(|s| {
            suoja_core::Timestamp::parse(&s).ok_or_else(|| ApiError::Field("created_at".into(), "created_at: must be a time (ISO 8601)".into(), "InvalidValue"))
        })
        .transpose()
}

fn comment_input(body: &JsonBody) -> Result<(ArticleCommentInput, bool), ApiError> {
    let r = Obj::root(&body.0);
    r.only(&["comment", "notify_subscribers"])?;
    let notify = r.opt_bool("notify_subscribers")?.unwrap_or(true);
    let o = r.object("comment")?;
    o.only(&[
        "id",
        "url",
        "html_url",
        "body",
        "locale",
        "author_id",
        "created_at",
        "source_id",
        "source_type",
        "updated_at",
        "vote_sum",
        "vote_count",
        "non_author_editor_id",
        "non_author_updated_at",
    ])?;
    let created_at = created_at_of(&o)?;
    Ok((
        ArticleCommentInput {
            body: o.opt_str("body", 600 * 1024)?,
            locale: o.opt_str("locale", 20)?,
            author_id: o.opt_id("author_id")?,
            created_at,
        },
        notify,
    ))
}

// ---- locales and segments ----

/// `GET /help_center/locales`
pub async fn locales(Auth(_): Auth) -> Result<Response, ApiError> {
    Ok(ok(json!({"locales": hc::LOCALES, "default_locale": hc::DEFAULT_LOCALE})))
}

/// `GET /help_center/user_segments`
pub async fn user_segments(Auth(scope): Auth, base: BaseUrl) -> Result<Response, ApiError> {
    if !scope.is_staff() {
        return Err(suoja_helpdesk::HelpdeskError::Forbidden("only agents and admins can list user segments").into());
    }
    let items: Vec<Value> = hc::SEGMENTS
        .iter()
        .map(|(id, key, name)| {
            json!({
                "id": id,
                "url": hc_url(&base, &format!("/user_segments/{id}")),
                "name": name,
                "user_type": if *key == "staff" { "staff" } else { "signed_in_users" },
                "built_in": true,
            })
        })
        .collect();
    Ok(ok(
        json!({"user_segments": items, "next_page": null, "previous_page": null, "count": items.len()}),
    ))
}

// ---- categories ----

/// `GET /help_center[/{locale}]/categories`
pub async fn categories(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P, params: Params) -> Result<Response, ApiError> {
    let l = path_locale(&p)?;
    let (pg, size, pp) = page_of(&params)?;
    let (rows, count) = app.helpdesk.list_categories(&scope, l.as_deref(), pg).await?;
    Ok(page(
        "categories",
        rows,
        count,
        size,
        |r| r.id,
        |r| category(r, &base),
        "/help_center/categories",
        pp,
        &base,
        &params,
    ))
}

/// `POST /help_center[/{locale}]/categories`
pub async fn create_category(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P, body: JsonBody) -> Result<Response, ApiError> {
    let l = path_locale(&p)?;
    let input = grouping(&body, "category")?;
    let c = app.helpdesk.create_category(&scope, &input, l.as_deref()).await?;
    Ok(created(
        &hc_url(&base, &format!("/categories/{}", c.id)),
        json!({"category": category(&c, &base)}),
    ))
}

/// `GET /help_center[/{locale}]/categories/{id}`
pub async fn show_category(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P) -> Result<Response, ApiError> {
    path_locale(&p)?;
    let c = app.helpdesk.get_category(&scope, id_of(&p, "id")?).await?;
    Ok(ok(json!({"category": category(&c, &base)})))
}

/// `PUT /help_center[/{locale}]/categories/{id}`
pub async fn update_category(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P, body: JsonBody) -> Result<Response, ApiError> {
    path_locale(&p)?;
    let input = grouping(&body, "category")?;
    let c = app.helpdesk.update_category(&scope, id_of(&p, "id")?, &input).await?;
    Ok(ok(json!({"category": category(&c, &base)})))
}

/// `DELETE /help_center/categories/{id}`: with its sections and articles.
pub async fn delete_category(State(app): State<AppState>, Auth(scope): Auth, Path(p): P) -> Result<Response, ApiError> {
    app.helpdesk.delete_category(&scope, id_of(&p, "id")?).await?;
    Ok(no_content())
}

// ---- sections ----

/// `GET /help_center[/{locale}]/sections` and `…/categories/{id}/sections`
pub async fn sections(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P, params: Params) -> Result<Response, ApiError> {
    let l = path_locale(&p)?;
    let category = p.get("id").map(|_| id_of(&p, "id")).transpose()?;
    let (pg, size, pp) = page_of(&params)?;
    let (rows, count) = app.helpdesk.list_sections(&scope, category, l.as_deref(), pg).await?;
    let path = category.map_or("/help_center/sections".to_string(), |c| format!("/help_center/categories/{c}/sections"));
    Ok(page("sections", rows, count, size, |r| r.id, |r| section(r, &base), &path, pp, &base, &params))
}

/// `POST /help_center[/{locale}]/categories/{id}/sections`
pub async fn create_section(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P, body: JsonBody) -> Result<Response, ApiError> {
    let l = path_locale(&p)?;
    let category = id_of(&p, "id")?;
    let input = grouping(&body, "section")?;
    let s = app.helpdesk.create_section(&scope, category, &input, l.as_deref()).await?;
    Ok(created(&hc_url(&base, &format!("/sections/{}", s.id)), json!({"section": section(&s, &base)})))
}

/// `GET /help_center[/{locale}]/sections/{id}`
pub async fn show_section(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P) -> Result<Response, ApiError> {
    path_locale(&p)?;
    let s = app.helpdesk.get_section(&scope, id_of(&p, "id")?).await?;
    Ok(ok(json!({"section": section(&s, &base)})))
}

/// `PUT /help_center[/{locale}]/sections/{id}`
pub async fn update_section(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P, body: JsonBody) -> Result<Response, ApiError> {
    path_locale(&p)?;
    let input = grouping(&body, "section")?;
    let s = app.helpdesk.update_section(&scope, id_of(&p, "id")?, &input).await?;
    Ok(ok(json!({"section": section(&s, &base)})))
}

/// `DELETE /help_center/sections/{id}`: with its articles.
pub async fn delete_section(State(app): State<AppState>, Auth(scope): Auth, Path(p): P) -> Result<Response, ApiError> {
    app.helpdesk.delete_section(&scope, id_of(&p, "id")?).await?;
    Ok(no_content())
}

// ---- articles ----

async fn article_list(
    app: &AppState,
    scope: &Scope,
    base: &BaseUrl,
    p: &HashMap<String, String>,
    params: &Params,
    filter: ArticleFilter,
    path: &str,
) -> Result<Response, ApiError> {
    let l = path_locale(p)?;
    let (pg, size, pp) = page_of(params)?;
    let (rows, count) = app.helpdesk.list_articles(scope, filter, l.as_deref(), pg).await?;
    Ok(page("articles", rows, count, size, |r| r.row.id, |r| article(r, base), path, pp, base, params))
}

/// `GET /help_center[/{locale}]/articles`
pub async fn articles(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P, params: Params) -> Result<Response, ApiError> {
    article_list(&app, &scope, &base, &p, &params, ArticleFilter::All, "/help_center/articles").await
}

/// `GET /help_center[/{locale}]/sections/{id}/articles`
pub async fn section_articles(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P, params: Params) -> Result<Response, ApiError> {
    let id = id_of(&p, "id")?;
    article_list(
        &app,
        &scope,
        &base,
        &p,
        &params,
        ArticleFilter::Section(id),
        &format!("/help_center/sections/{id}/articles"),
    )
    .await
}

/// `GET /help_center[/{locale}]/categories/{id}/articles`
pub async fn category_articles(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P, params: Params) -> Result<Response, ApiError> {
    let id = id_of(&p, "id")?;
    article_list(
        &app,
        &scope,
        &base,
        &p,
        &params,
        ArticleFilter::Category(id),
        &format!("/help_center/categories/{id}/articles"),
    )
    .await
}

/// `GET /help_center/users/{id}/articles`
pub async fn user_articles(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P, params: Params) -> Result<Response, ApiError> {
    let id = id_of(&p, "id")?;
    article_list(
        &app,
        &scope,
        &base,
        &p,
        &params,
        ArticleFilter::Author(UserId(id)),
        &format!("/help_center/users/{id}/articles"),
    )
    .await
}

/// `GET /help_center/articles/search?query=…`
pub async fn search_articles(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    let query = params.get("query").unwrap_or("");
    let l = params.get("locale").filter(|s| !s.is_empty()).map(hc::locale).transpose()?;
    let (pg, size, pp) = page_of(&params)?;
    let (rows, count) = app.helpdesk.search_articles(&scope, query, l.as_deref(), pg).await?;
    let render = |a: &Article| {
        let mut v = article(a, &base);
        if let Some(o) = v.as_object_mut() {
            o.insert("result_type".into(), json!("article"));
            o.insert("snippet".into(), json!(a.row.title));
        }
        v
    };
    Ok(page(
        "results",
        rows,
        count,
        size,
        |r| r.row.id,
        render,
        "/help_center/articles/search",
        pp,
        &base,
        &params,
    ))
}

/// `POST /help_center[/{locale}]/sections/{id}/articles`
pub async fn create_article(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P, body: JsonBody) -> Result<Response, ApiError> {
    let l = path_locale(&p)?;
    let (input, notify) = article_input(&body)?;
    let a = app.helpdesk.create_article(&scope, id_of(&p, "id")?, &input, l.as_deref(), notify).await?;
    Ok(created(
        &hc_url(&base, &format!("/articles/{}", a.row.id)),
        json!({"article": article(&a, &base)}),
    ))
}

/// `GET /help_center[/{locale}]/articles/{id}`
pub async fn show_article(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P) -> Result<Response, ApiError> {
    path_locale(&p)?;
    let a = app.helpdesk.get_article(&scope, id_of(&p, "id")?).await?;
    Ok(ok(json!({"article": article(&a, &base)})))
}

/// `PUT /help_center[/{locale}]/articles/{id}`
pub async fn update_article(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P, body: JsonBody) -> Result<Response, ApiError> {
    path_locale(&p)?;
    let (input, _) = article_input(&body)?;
    let a = app.helpdesk.update_article(&scope, id_of(&p, "id")?, &input).await?;
    Ok(ok(json!({"article": article(&a, &base)})))
}

/// `DELETE /help_center/articles/{id}`: archives it.
pub async fn delete_article(State(app): State<AppState>, Auth(scope): Auth, Path(p): P) -> Result<Response, ApiError> {
    app.helpdesk.archive_article(&scope, id_of(&p, "id")?).await?;
    Ok(no_content())
}

// ---- article comments ----

/// `GET /help_center/articles/{id}/comments`
pub async fn comments(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P, params: Params) -> Result<Response, ApiError> {
    let article = id_of(&p, "id")?;
    let (pg, size, pp) = page_of(&params)?;
    let (rows, count) = app.helpdesk.list_article_comments(&scope, article, pg).await?;
    let path = format!("/help_center/articles/{article}/comments");
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

/// `GET /help_center/users/{id}/comments`
pub async fn user_comments(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P, params: Params) -> Result<Response, ApiError> {
    let user = id_of(&p, "id")?;
    let (pg, size, pp) = page_of(&params)?;
    let (rows, count) = app.helpdesk.list_user_article_comments(&scope, UserId(user), pg).await?;
    let path = format!("/help_center/users/{user}/comments");
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

/// `POST /help_center/articles/{id}/comments`
pub async fn create_comment(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P, body: JsonBody) -> Result<Response, ApiError> {
    let article = id_of(&p, "id")?;
    let (input, notify) = comment_input(&body)?;
    let c = app.helpdesk.create_article_comment(&scope, article, &input, notify).await?;
    Ok(created(
        &hc_url(&base, &format!("/articles/{article}/comments/{}", c.row.id)),
        json!({"comment": comment(&c, &base)}),
    ))
}

/// `GET /help_center/articles/{id}/comments/{comment_id}`
pub async fn show_comment(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P) -> Result<Response, ApiError> {
    let c = app.helpdesk.get_article_comment(&scope, id_of(&p, "id")?, id_of(&p, "comment_id")?).await?;
    Ok(ok(json!({"comment": comment(&c, &base)})))
}

/// `PUT /help_center/articles/{id}/comments/{comment_id}`
pub async fn update_comment(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P, body: JsonBody) -> Result<Response, ApiError> {
    let (input, _) = comment_input(&body)?;
    let c = app
        .helpdesk
        .update_article_comment(&scope, id_of(&p, "id")?, id_of(&p, "comment_id")?, &input)
        .await?;
    Ok(ok(json!({"comment": comment(&c, &base)})))
}

/// The phrase of a `PUT …/redact` body, `{"text"}`.
pub(super) fn redaction_text(body: &JsonBody) -> Result<suoja_core::Personal<String>, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["text"])?;
    let text = root
        .opt_str("text", 65_536)?
        .ok_or_else(|| ApiError::Field("text".into(), "text: is required".into(), "BlankValue"))?;
    Ok(suoja_core::Personal::new(text))
}

/// `PUT /help_center/articles/{id}/comments/{comment_id}/redact` with `{"text"}`: staff replace
/// every occurrence of the text in the comment by redaction marks, irreversibly.
pub async fn redact_comment(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(p): P, body: JsonBody) -> Result<Response, ApiError> {
    let (article, id) = (id_of(&p, "id")?, id_of(&p, "comment_id")?);
    let text = redaction_text(&body)?;
    app.privacy
        .redact_free_text(&scope, suoja_privacy::redaction::FreeText::ArticleComment(article, id), &text)
        .await?;
    let c = app.helpdesk.get_article_comment(&scope, article, id).await?;
    Ok(ok(json!({"comment": comment(&c, &base)})))
}

/// `DELETE /help_center/articles/{id}/comments/{comment_id}`
pub async fn delete_comment(State(app): State<AppState>, Auth(scope): Auth, Path(p): P) -> Result<Response, ApiError> {
    app.helpdesk.delete_article_comment(&scope, id_of(&p, "id")?, id_of(&p, "comment_id")?).await?;
    Ok(no_content())
}
