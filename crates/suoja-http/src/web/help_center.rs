//! The public help center (`/hc`) and community (`/hc/community`): read by anyone (signed out:
//! only what is for everyone), written to by signed-in people (comments, votes, follows,
//! posts), authored and moderated by staff. Every page works without JavaScript and loads
//! nothing from elsewhere. Content is shown in the page's language (`en-us` or `fi`); people
//! are not named, only whether an answer is official.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use serde::Deserialize;
use suoja_core::{Personal, Scope};
use suoja_helpdesk::help_center::{self as hc, ArticleCommentInput, ArticleInput, Followed, PostCommentInput, PostInput, VoteItem};
use suoja_privacy::redaction::FreeText;
use suoja_store::community::{PostFilter, PostSort};
use suoja_store::help_center::{ArticleFilter, Page as ListPage};

use super::ctx::{Ctx, Fields};
use super::{Chrome, Failure, FormErrors, Lang, Page, format, render, render_status, see_other};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    super::router(pages())
}

/// The help center's and community's pages.
pub(super) fn pages() -> Vec<(Page, MethodRouter<AppState>)> {
    vec![
        (Page::get("/hc"), get(home)),
        (Page::get("/hc/search"), get(search)),
        (Page::get("/hc/sections/{id}"), get(section)),
        (Page::get("/hc/articles/new"), get(new_article)),
        (Page::post("/hc/articles/new"), post(create_article)),
        (Page::get("/hc/articles/{id}"), get(article)),
        (Page::get("/hc/articles/{id}/edit"), get(edit_article)),
        (Page::post("/hc/articles/{id}/edit"), post(save_article)),
        (Page::post("/hc/articles/{id}/comments"), post(comment_article)),
        (Page::post("/hc/articles/{id}/vote"), post(vote_article)),
        (Page::post("/hc/articles/{id}/follow"), post(follow_article)),
        (Page::post("/hc/articles/{id}/redact"), post(redact_article_comment)),
        (Page::get("/hc/community"), get(community)),
        (Page::get("/hc/community/topics/{id}"), get(topic)),
        (Page::post("/hc/community/topics/{id}/posts"), post(create_post)),
        (Page::get("/hc/community/posts/{id}"), get(post_page)),
        (Page::post("/hc/community/posts/{id}/comments"), post(comment_post)),
        (Page::post("/hc/community/posts/{id}/vote"), post(vote_post)),
        (Page::post("/hc/community/posts/{id}/follow"), post(follow_post)),
        (Page::post("/hc/community/posts/{id}/moderate"), post(moderate_post)),
        (Page::post("/hc/community/posts/{id}/comments/{comment_id}/moderate"), post(moderate_comment)),
        (Page::post("/hc/community/posts/{id}/redact"), post(redact_post)),
    ]
}

/// The longest comment or post a page takes, in bytes.
const MAX_TEXT: usize = 64 * 1024;

/// Who reads: the signed-in person, or no one.
fn viewer(ctx: &Ctx) -> Scope {
    ctx.person().unwrap_or_else(|_| hc::anonymous(ctx.tenant))
}

/// The content locale of the page's language.
fn content_locale(lang: Lang) -> &'static str {
    match lang {
        Lang::Fi => "fi",
        Lang::En => hc::DEFAULT_LOCALE,
    }
}

/// The first page of a list, at most `n` long.
fn first(n: i64) -> ListPage {
    ListPage {
        after: None,
        limit: n,
        offset: 0,
        cursor: false,
        count: false,
    }
}

/// Sanitised HTML, sanitised once more as it is shown (it was when it was stored); an image
/// written without a text alternative is marked decorative (`alt=""`), so a reader's screen
/// reader does not spell out its address.
fn shown_html(html: &str) -> String {
    let clean = suoja_helpdesk::text::sanitize_html(html);
    let mut out = String::with_capacity(clean.len());
    let mut rest = clean.as_str();
    while let Some(at) = rest.find("<img") {
        let (before, tag_on) = rest.split_at(at);
        out.push_str(before);
        let end = tag_on.find('>').map_or(tag_on.len(), |e| e + 1);
        let (tag, after) = tag_on.split_at(end);
        if tag.contains(" alt=") {
            out.push_str(tag);
        } else {
            out.push_str("<img alt=\"\"");
            out.push_str(tag.trim_start_matches("<img"));
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// A link in a list.
pub struct Link {
    pub href: String,
    pub text: String,
    pub note: String,
}

/// A section with its articles, on the home page.
pub struct SectionView {
    pub id: i64,
    pub name: String,
    pub articles: Vec<Link>,
}

/// A category with its sections, on the home page.
pub struct CategoryView {
    pub name: String,
    pub description: String,
    pub sections: Vec<SectionView>,
}

#[derive(Template)]
#[template(path = "hc/home.html")]
struct HomePage {
    c: Chrome,
    categories: Vec<CategoryView>,
    promoted: Vec<Link>,
    q: String,
}

async fn home(State(state): State<AppState>, ctx: Ctx) -> Result<Response, Failure> {
    let scope = viewer(&ctx);
    let hd = &state.helpdesk;
    let locale = content_locale(ctx.lang);
    // Categories of any language, holding the sections written in the page's language (a
    // category in another language with no such section is left out).
    let (cats, _) = hd.list_categories(&scope, None, first(100)).await.map_err(|e| ctx.fail(e))?;
    let mut categories = Vec::new();
    for cat in cats {
        let (secs, _) = hd
            .list_sections(&scope, Some(cat.id), Some(locale), first(100))
            .await
            .map_err(|e| ctx.fail(e))?;
        let mut sections = Vec::new();
        for s in secs {
            let (arts, _) = hd
                .list_articles(&scope, ArticleFilter::Section(s.id), Some(locale), first(10))
                .await
                .map_err(|e| ctx.fail(e))?;
            sections.push(SectionView {
                id: s.id,
                name: s.name,
                articles: arts.into_iter().map(|a| article_link(&ctx, &a)).collect(),
            });
        }
        if sections.is_empty() && cat.locale != locale {
            continue;
        }
        categories.push(CategoryView {
            name: cat.name,
            description: cat.description,
            sections,
        });
    }
    let (promoted, _) = hd
        .list_articles(&scope, ArticleFilter::Promoted, Some(locale), first(10))
        .await
        .map_err(|e| ctx.fail(e))?;
    let promoted = promoted.iter().map(|a| article_link(&ctx, a)).collect();
    let page = HomePage {
        c: Chrome::new(&ctx, ctx.t("hc.title"), "hc"),
        categories,
        promoted,
        q: String::new(),
    };
    Ok(render(&ctx, &page))
}

fn article_link(ctx: &Ctx, a: &hc::Article) -> Link {
    let mut note = Vec::new();
    if a.row.draft {
        note.push(ctx.t("hc.draft"));
    }
    if a.row.user_segment.is_some() {
        note.push(ctx.t("hc.restricted"));
    }
    Link {
        href: format!("/hc/articles/{}", a.row.id),
        text: a.row.title.clone(),
        note: note.join(", "),
    }
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

#[derive(Template)]
#[template(path = "hc/search.html")]
struct SearchPage {
    c: Chrome,
    q: String,
    results: Vec<Link>,
    error: String,
}

async fn search(State(state): State<AppState>, ctx: Ctx, Query(q): Query<SearchQuery>) -> Result<Response, Failure> {
    let scope = viewer(&ctx);
    let query: String = q.q.chars().take(1_000).collect();
    let (results, error) = match state.helpdesk.search_articles(&scope, &query, Some(content_locale(ctx.lang)), first(50)).await {
        Ok((rows, _)) => (rows.iter().map(|a| article_link(&ctx, a)).collect(), String::new()),
        Err(e) => (
            Vec::new(),
            super::service_message(&crate::ApiError::from(e))
                .map(|(_, m)| ctx.lang.message(m))
                .unwrap_or_default(),
        ),
    };
    let page = SearchPage {
        c: Chrome::new(&ctx, ctx.t("hc.search_title"), "hc"),
        q: query,
        results,
        error,
    };
    Ok(render(&ctx, &page))
}

#[derive(Template)]
#[template(path = "hc/section.html")]
struct SectionPage {
    c: Chrome,
    name: String,
    description: String,
    id: i64,
    articles: Vec<Link>,
}

async fn section(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> Result<Response, Failure> {
    let scope = viewer(&ctx);
    let s = state.helpdesk.get_section(&scope, id).await.map_err(|e| ctx.fail(e))?;
    let (arts, _) = state
        .helpdesk
        .list_articles(&scope, ArticleFilter::Section(id), None, first(200))
        .await
        .map_err(|e| ctx.fail(e))?;
    let page = SectionPage {
        c: Chrome::new(&ctx, s.name.clone(), "hc"),
        name: s.name,
        description: s.description,
        id,
        articles: arts.iter().map(|a| article_link(&ctx, a)).collect(),
    };
    Ok(render(&ctx, &page))
}

/// A comment as a page shows it.
pub struct CommentItem {
    pub id: i64,
    pub when: String,
    pub html: String,
    pub removed: bool,
    pub official: bool,
    pub hidden: bool,
    pub votes: i64,
}

impl CommentItem {
    /// A comment (an article's or a post's) with its body opened, `None` for a tombstone.
    #[allow(clippy::too_many_arguments, reason = "the fields a page shows of either kind of comment")]
    fn new(ctx: &Ctx, id: i64, created_at: suoja_core::Timestamp, body: Option<&Personal<String>>, official: bool, hidden: bool, votes: i64) -> Self {
        CommentItem {
            id,
            when: format::datetime(created_at, &ctx.tz, ctx.lang),
            html: body.map(|b| shown_html(b.expose())).unwrap_or_default(),
            removed: body.is_none(),
            official,
            hidden,
            votes,
        }
    }
}

/// A comment form's text, and what is wrong with it.
fn comment_text(ctx: &Ctx, f: &Fields) -> (String, FormErrors) {
    let text = f.get("body").to_string();
    let mut errors = FormErrors::default();
    super::check_text(&mut errors, ctx.lang, "body", &text, true, MAX_TEXT);
    (text, errors)
}

#[derive(Template)]
#[template(path = "hc/article.html")]
struct ArticlePage {
    c: Chrome,
    id: i64,
    title: String,
    html: String,
    updated: String,
    votes: i64,
    vote_count: i64,
    comments: Vec<CommentItem>,
    comments_open: bool,
    following: Option<i64>,
    body: String,
    errors: FormErrors,
    note: String,
}

async fn article_page(state: &AppState, ctx: &Ctx, id: i64, body: String, errors: FormErrors, status: StatusCode) -> Result<Response, Failure> {
    let scope = viewer(ctx);
    let hd = &state.helpdesk;
    let a = hd.get_article(&scope, id).await.map_err(|e| ctx.fail(e))?;
    let (comments, _) = hd.list_article_comments(&scope, id, first(100)).await.map_err(|e| ctx.fail(e))?;
    let following = match ctx.person() {
        Ok(p) => hd
            .list_subscriptions(&p, Followed::Article(id), first(1))
            .await
            .map_err(|e| ctx.fail(e))?
            .0
            .first()
            .map(|s| s.id),
        Err(_) => None,
    };
    let note = article_link(ctx, &a).note;
    let page = ArticlePage {
        c: Chrome::new(ctx, a.row.title.clone(), "hc"),
        id,
        title: a.row.title.clone(),
        html: shown_html(&a.row.body),
        updated: format::date(a.row.edited_at, &ctx.tz, ctx.lang),
        votes: a.vote_sum,
        vote_count: a.vote_count,
        comments: comments
            .iter()
            .map(|cm| CommentItem::new(ctx, cm.row.id, cm.row.created_at, cm.body.as_ref(), false, false, cm.vote_sum))
            .collect(),
        comments_open: !a.row.comments_disabled,
        following,
        body,
        errors,
        note,
    };
    Ok(render_status(ctx, status, &page))
}

async fn article(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> Result<Response, Failure> {
    article_page(&state, &ctx, id, String::new(), FormErrors::default(), StatusCode::OK).await
}

/// A form's fields for a signed-in person: the person and the fields.
fn person_form(ctx: &Ctx, headers: &HeaderMap, body: &Bytes) -> Result<(Scope, Fields), Failure> {
    let scope = ctx.person()?;
    let fields = Fields::read(ctx, headers, body)?;
    Ok((scope, fields))
}

/// The field errors of a refused write, or the failure page for anything else.
fn refused(ctx: &Ctx, e: impl Into<crate::ApiError>, fields: &[&str]) -> Result<FormErrors, Failure> {
    FormErrors::from_error(e.into(), ctx.lang, fields).map_err(|e| ctx.fail(e))
}

async fn comment_article(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let (scope, f) = person_form(&ctx, &headers, &body)?;
    let (text, mut errors) = comment_text(&ctx, &f);
    if errors.is_empty() {
        let input = ArticleCommentInput {
            body: Some(suoja_helpdesk::text::plain_to_html(&text)),
            ..ArticleCommentInput::default()
        };
        match state.helpdesk.create_article_comment(&scope, id, &input, true).await {
            Ok(c) => return Ok(see_other(&format!("/hc/articles/{id}?done=comment_added#comment-{}", c.row.id))),
            Err(e) => errors = refused(&ctx, e, &["body"])?,
        }
    }
    article_page(&state, &ctx, id, text, errors, StatusCode::UNPROCESSABLE_ENTITY).await
}

async fn vote_article(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let (scope, f) = person_form(&ctx, &headers, &body)?;
    let item = match f.get("comment").parse::<i64>() {
        Ok(c) => VoteItem::ArticleComment { article: id, id: c },
        Err(_) => VoteItem::Article(id),
    };
    state.helpdesk.vote(&scope, item, f.get("value") != "down").await.map_err(|e| ctx.fail(e))?;
    Ok(see_other(&format!("/hc/articles/{id}?done=voted")))
}

async fn follow_article(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let (scope, f) = person_form(&ctx, &headers, &body)?;
    follow(&state, &ctx, &scope, Followed::Article(id), &f).await?;
    Ok(see_other(&format!("/hc/articles/{id}?done=followed")))
}

/// Follows, or (`stop` set to a subscription id) stops following.
async fn follow(state: &AppState, ctx: &Ctx, scope: &Scope, what: Followed, f: &Fields) -> Result<(), Failure> {
    match f.get("stop").parse::<i64>() {
        Ok(sub) => state.helpdesk.unsubscribe(scope, what, sub).await.map_err(|e| ctx.fail(e)),
        Err(_) => state
            .helpdesk
            .subscribe(scope, what, None, true, None)
            .await
            .map(|_| ())
            .map_err(|e| ctx.fail(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::shown_html;

    #[test]
    fn images_without_alternatives_are_marked_decorative() {
        assert_eq!(shown_html("<p>a<img src=\"x\">b</p>"), "<p>a<img alt=\"\" src=\"x\">b</p>");
        assert_eq!(shown_html("<img alt=\"A chart\" src=\"x\">"), "<img alt=\"A chart\" src=\"x\">");
        assert_eq!(shown_html("<img src=x onerror=alert(1)>"), "<img alt=\"\" src=\"x\">");
        assert_eq!(shown_html("no images"), "no images");
    }
}

// ---- authoring (staff) ----

#[derive(Deserialize)]
struct NewQuery {
    #[serde(default)]
    section: Option<i64>,
}

/// A section to choose, in the editor.
pub struct SectionChoice {
    pub id: i64,
    pub name: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "hc/edit.html")]
struct EditPage {
    c: Chrome,
    action: String,
    title: String,
    body: String,
    sections: Vec<SectionChoice>,
    draft: bool,
    promoted: bool,
    comments_disabled: bool,
    segment: String,
    locale: String,
    errors: FormErrors,
}

async fn editor(state: &AppState, ctx: &Ctx, form: EditForm, action: String, errors: FormErrors, status: StatusCode) -> Result<Response, Failure> {
    let scope = ctx.staff()?;
    let (secs, _) = state.helpdesk.list_sections(&scope, None, None, first(500)).await.map_err(|e| ctx.fail(e))?;
    let page = EditPage {
        c: Chrome::new(ctx, ctx.t("hc.editor"), "hc"),
        action,
        sections: secs
            .into_iter()
            .map(|s| SectionChoice {
                selected: Some(s.id) == form.section,
                id: s.id,
                name: s.name,
            })
            .collect(),
        title: form.title,
        body: form.body,
        draft: form.draft,
        promoted: form.promoted,
        comments_disabled: form.comments_disabled,
        segment: form.segment,
        locale: form.locale,
        errors,
    };
    Ok(render_status(ctx, status, &page))
}

/// The editor's fields.
#[derive(Default)]
struct EditForm {
    title: String,
    body: String,
    section: Option<i64>,
    draft: bool,
    promoted: bool,
    comments_disabled: bool,
    segment: String,
    locale: String,
}

impl EditForm {
    fn read(f: &Fields) -> Self {
        EditForm {
            title: f.get("title").to_string(),
            body: f.get("body").to_string(),
            section: f.get("section").parse().ok(),
            draft: f.get("draft") == "1",
            promoted: f.get("promoted") == "1",
            comments_disabled: f.get("comments_disabled") == "1",
            segment: f.get("segment").to_string(),
            locale: f.get("locale").to_string(),
        }
    }

    fn input(&self) -> ArticleInput {
        ArticleInput {
            title: Some(self.title.clone()),
            body: Some(self.body.clone()),
            locale: Some(self.locale.clone()).filter(|l| !l.is_empty()),
            draft: Some(self.draft),
            promoted: Some(self.promoted),
            comments_disabled: Some(self.comments_disabled),
            // Empty is everyone; anything else must name a segment (the service refuses an
            // unknown one), never quietly everyone.
            user_segment_id: Some(if self.segment.is_empty() {
                None
            } else {
                Some(self.segment.parse().unwrap_or(-1))
            }),
            section_id: self.section,
            ..ArticleInput::default()
        }
    }
}

async fn new_article(State(state): State<AppState>, ctx: Ctx, Query(q): Query<NewQuery>) -> Result<Response, Failure> {
    ctx.staff()?;
    let form = EditForm {
        section: q.section,
        locale: content_locale(ctx.lang).into(),
        ..EditForm::default()
    };
    editor(&state, &ctx, form, "/hc/articles/new".into(), FormErrors::default(), StatusCode::OK).await
}

async fn create_article(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let scope = ctx.staff()?;
    let f = Fields::read(&ctx, &headers, &body)?;
    let form = EditForm::read(&f);
    let errors = match form.section {
        None => {
            let mut e = FormErrors::default();
            e.add("section", ctx.t("hc.choose_section"));
            e
        }
        Some(section) => match state.helpdesk.create_article(&scope, section, &form.input(), None, true).await {
            Ok(a) => return Ok(see_other(&format!("/hc/articles/{}?done=article_saved", a.row.id))),
            Err(e) => refused(&ctx, e, &["title", "body", "locale", "section_id", "user_segment_id"])?,
        },
    };
    editor(&state, &ctx, form, "/hc/articles/new".into(), errors, StatusCode::UNPROCESSABLE_ENTITY).await
}

async fn edit_article(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> Result<Response, Failure> {
    let scope = ctx.staff()?;
    let a = state.helpdesk.get_article(&scope, id).await.map_err(|e| ctx.fail(e))?.row;
    let form = EditForm {
        title: a.title,
        body: a.body,
        section: Some(a.section_id),
        draft: a.draft,
        promoted: a.promoted,
        comments_disabled: a.comments_disabled,
        segment: hc::segment_id(a.user_segment.as_deref()).map(|s| s.to_string()).unwrap_or_default(),
        locale: a.locale,
    };
    editor(&state, &ctx, form, format!("/hc/articles/{id}/edit"), FormErrors::default(), StatusCode::OK).await
}

async fn save_article(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let scope = ctx.staff()?;
    let f = Fields::read(&ctx, &headers, &body)?;
    let form = EditForm::read(&f);
    match state.helpdesk.update_article(&scope, id, &form.input()).await {
        Ok(_) => Ok(see_other(&format!("/hc/articles/{id}?done=article_saved"))),
        Err(e) => {
            let errors = refused(&ctx, e, &["title", "body", "locale", "section_id", "user_segment_id"])?;
            editor(&state, &ctx, form, format!("/hc/articles/{id}/edit"), errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

// ---- community ----

/// A post in a list.
pub struct PostItem {
    pub id: i64,
    pub title: String,
    pub status: String,
    pub pinned: bool,
    pub closed: bool,
    pub hidden: bool,
    pub votes: i64,
    pub comments: i64,
    pub when: String,
}

#[derive(Template)]
#[template(path = "hc/community.html")]
struct CommunityPage {
    c: Chrome,
    topics: Vec<Link>,
    recent: Vec<PostItem>,
}

fn post_item(ctx: &Ctx, p: &hc::PostView) -> PostItem {
    PostItem {
        id: p.row.id,
        title: p.title.as_ref().map_or_else(|| ctx.t("hc.removed").to_string(), |t| t.expose().clone()),
        status: if p.row.status == "none" {
            String::new()
        } else {
            ctx.t(&format!("hc_status.{}", p.row.status)).to_string()
        },
        pinned: p.row.pinned,
        closed: p.row.closed,
        hidden: p.row.hidden,
        votes: p.vote_sum,
        comments: p.comment_count,
        when: format::date(p.row.created_at, &ctx.tz, ctx.lang),
    }
}

async fn community(State(state): State<AppState>, ctx: Ctx) -> Result<Response, Failure> {
    let scope = viewer(&ctx);
    let (topics, _) = state.helpdesk.list_topics(&scope, first(100)).await.map_err(|e| ctx.fail(e))?;
    let (recent, _) = state
        .helpdesk
        .list_posts(&scope, PostFilter::All, None, PostSort::Updated, first(10))
        .await
        .map_err(|e| ctx.fail(e))?;
    let page = CommunityPage {
        c: Chrome::new(&ctx, ctx.t("hc.community"), "hc"),
        topics: topics
            .into_iter()
            .map(|t| Link {
                href: format!("/hc/community/topics/{}", t.id),
                text: t.name,
                note: t.description,
            })
            .collect(),
        recent: recent.iter().map(|p| post_item(&ctx, p)).collect(),
    };
    Ok(render(&ctx, &page))
}

#[derive(Template)]
#[template(path = "hc/topic.html")]
struct TopicPage {
    c: Chrome,
    id: i64,
    name: String,
    description: String,
    posts: Vec<PostItem>,
    previous: Option<i64>,
    next: Option<i64>,
    title: String,
    details: String,
    errors: FormErrors,
}

/// Posts a topic page lists at a time.
const POSTS_PER_PAGE: i64 = 30;

#[allow(clippy::too_many_arguments, reason = "a topic page: which, which page, and the new-post form's state")]
async fn topic_page(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    page_no: i64,
    title: String,
    details: String,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, Failure> {
    let scope = viewer(ctx);
    let t = state.helpdesk.get_topic(&scope, id).await.map_err(|e| ctx.fail(e))?;
    let page_no = page_no.clamp(1, 10_000);
    let list = ListPage {
        after: None,
        limit: POSTS_PER_PAGE + 1,
        offset: (page_no - 1) * POSTS_PER_PAGE,
        cursor: false,
        count: false,
    };
    let (mut posts, _) = state
        .helpdesk
        .list_posts(&scope, PostFilter::Topic(id), None, PostSort::Updated, list)
        .await
        .map_err(|e| ctx.fail(e))?;
    let more = posts.len() > suoja_core::num::to_usize(POSTS_PER_PAGE);
    posts.truncate(suoja_core::num::to_usize(POSTS_PER_PAGE));
    let page = TopicPage {
        c: Chrome::new(ctx, t.name.clone(), "hc"),
        id,
        name: t.name,
        description: t.description,
        posts: posts.iter().map(|p| post_item(ctx, p)).collect(),
        previous: (page_no > 1).then(|| page_no - 1),
        next: more.then_some(page_no + 1),
        title,
        details,
        errors,
    };
    Ok(render_status(ctx, status, &page))
}

#[derive(Deserialize)]
struct PageNumber {
    #[serde(default)]
    page: Option<i64>,
}

async fn topic(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Query(q): Query<PageNumber>) -> Result<Response, Failure> {
    topic_page(
        &state,
        &ctx,
        id,
        q.page.unwrap_or(1),
        String::new(),
        String::new(),
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

async fn create_post(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let (scope, f) = person_form(&ctx, &headers, &body)?;
    let (title, details) = (f.get("title").to_string(), f.get("details").to_string());
    let mut errors = FormErrors::default();
    super::check_text(&mut errors, ctx.lang, "title", &title, true, 255);
    super::check_text(&mut errors, ctx.lang, "details", &details, false, MAX_TEXT);
    if errors.is_empty() {
        let input = PostInput {
            title: Some(title.clone()),
            details: Some(suoja_helpdesk::text::plain_to_html(&details)),
            topic_id: Some(id),
            ..PostInput::default()
        };
        match state.helpdesk.create_post(&scope, &input, true).await {
            Ok(p) => return Ok(see_other(&format!("/hc/community/posts/{}?done=post_added", p.row.id))),
            Err(e) => errors = refused(&ctx, e, &["title", "details"])?,
        }
    }
    topic_page(&state, &ctx, id, 1, title, details, errors, StatusCode::UNPROCESSABLE_ENTITY).await
}

#[derive(Template)]
#[template(path = "hc/post.html")]
struct PostPage {
    c: Chrome,
    p: PostItem,
    topic_id: i64,
    html: String,
    comments: Vec<CommentItem>,
    following: Option<i64>,
    can_comment: bool,
    statuses: Vec<(&'static str, &'static str)>,
    current_status: String,
    body: String,
    errors: FormErrors,
}

async fn post_view(state: &AppState, ctx: &Ctx, id: i64, body: String, errors: FormErrors, status: StatusCode) -> Result<Response, Failure> {
    let scope = viewer(ctx);
    let hd = &state.helpdesk;
    let p = hd.get_post(&scope, id).await.map_err(|e| ctx.fail(e))?;
    let (comments, _) = hd.list_post_comments(&scope, id, first(100)).await.map_err(|e| ctx.fail(e))?;
    let following = match ctx.person() {
        Ok(person) => hd
            .list_subscriptions(&person, Followed::Post(id), first(1))
            .await
            .map_err(|e| ctx.fail(e))?
            .0
            .first()
            .map(|s| s.id),
        Err(_) => None,
    };
    let page = PostPage {
        c: Chrome::new(
            ctx,
            p.title.as_ref().map_or_else(|| ctx.t("hc.removed").to_string(), |t| t.expose().clone()),
            "hc",
        ),
        topic_id: p.row.topic_id,
        html: p.details.as_ref().map(|d| shown_html(d.expose())).unwrap_or_default(),
        can_comment: ctx.person().is_ok() && (!p.row.closed || scope.is_staff()),
        current_status: p.row.status.clone(),
        statuses: hc::POST_STATUSES.iter().map(|s| (*s, ctx.t(&format!("hc_status.{s}")))).collect(),
        p: post_item(ctx, &p),
        comments: comments
            .iter()
            .map(|cm| CommentItem::new(ctx, cm.row.id, cm.row.created_at, cm.body.as_ref(), cm.row.official, cm.row.hidden, cm.vote_sum))
            .collect(),
        following,
        body,
        errors,
    };
    Ok(render_status(ctx, status, &page))
}

async fn post_page(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> Result<Response, Failure> {
    post_view(&state, &ctx, id, String::new(), FormErrors::default(), StatusCode::OK).await
}

async fn comment_post(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let (scope, f) = person_form(&ctx, &headers, &body)?;
    let (text, mut errors) = comment_text(&ctx, &f);
    if errors.is_empty() {
        let input = PostCommentInput {
            body: Some(suoja_helpdesk::text::plain_to_html(&text)),
            ..PostCommentInput::default()
        };
        match state.helpdesk.create_post_comment(&scope, id, &input, true).await {
            Ok(c) => return Ok(see_other(&format!("/hc/community/posts/{id}?done=comment_added#comment-{}", c.row.id))),
            Err(e) => errors = refused(&ctx, e, &["body"])?,
        }
    }
    post_view(&state, &ctx, id, text, errors, StatusCode::UNPROCESSABLE_ENTITY).await
}

async fn vote_post(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let (scope, f) = person_form(&ctx, &headers, &body)?;
    let item = match f.get("comment").parse::<i64>() {
        Ok(c) => VoteItem::PostComment { post: id, id: c },
        Err(_) => VoteItem::Post(id),
    };
    state.helpdesk.vote(&scope, item, f.get("value") != "down").await.map_err(|e| ctx.fail(e))?;
    Ok(see_other(&format!("/hc/community/posts/{id}?done=voted")))
}

async fn follow_post(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let (scope, f) = person_form(&ctx, &headers, &body)?;
    follow(&state, &ctx, &scope, Followed::Post(id), &f).await?;
    Ok(see_other(&format!("/hc/community/posts/{id}?done=followed")))
}

async fn moderate_post(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let scope = ctx.staff()?;
    let f = Fields::read(&ctx, &headers, &body)?;
    let input = PostInput {
        status: Some(f.get("status").to_string()).filter(|s| !s.is_empty()),
        pinned: Some(f.get("pinned") == "1"),
        closed: Some(f.get("closed") == "1"),
        hidden: Some(f.get("hidden") == "1"),
        ..PostInput::default()
    };
    state.helpdesk.update_post(&scope, id, &input).await.map_err(|e| ctx.fail(e))?;
    Ok(see_other(&format!("/hc/community/posts/{id}?done=moderated")))
}

async fn moderate_comment(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, comment)): Path<(i64, i64)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let scope = ctx.staff()?;
    let f = Fields::read(&ctx, &headers, &body)?;
    let input = PostCommentInput {
        official: Some(f.get("official") == "1"),
        hidden: Some(f.get("hidden") == "1"),
        ..PostCommentInput::default()
    };
    state.helpdesk.update_post_comment(&scope, id, comment, &input).await.map_err(|e| ctx.fail(e))?;
    Ok(see_other(&format!("/hc/community/posts/{id}?done=moderated#comment-{comment}")))
}

/// The phrase and the comment (if one is named) of a staff redaction form.
fn redaction_form(ctx: &Ctx, headers: &HeaderMap, body: &Bytes) -> Result<(Scope, Option<i64>, Personal<String>), Failure> {
    let scope = ctx.staff()?;
    let f = Fields::read(ctx, headers, body)?;
    let comment = match f.get("comment") {
        "" => None,
        c => Some(c.parse::<i64>().map_err(|_| ctx.fail(suoja_helpdesk::HelpdeskError::NotFound("Comment")))?),
    };
    Ok((scope, comment, Personal::new(f.get("text").to_string())))
}

/// Staff redact a phrase from an article's comment, for good (as in a ticket's comments).
async fn redact_article_comment(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let (scope, comment, text) = redaction_form(&ctx, &headers, &body)?;
    let comment = comment.ok_or_else(|| ctx.fail(suoja_helpdesk::HelpdeskError::NotFound("Comment")))?;
    state
        .privacy
        .redact_free_text(&scope, FreeText::ArticleComment(id, comment), &text)
        .await
        .map_err(|e| ctx.fail(e))?;
    Ok(see_other(&format!("/hc/articles/{id}?done=redacted#comment-{comment}")))
}

/// Staff redact a phrase from a post (its title and details) or, with `comment`, from one of
/// its comments.
async fn redact_post(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let (scope, comment, text) = redaction_form(&ctx, &headers, &body)?;
    let target = comment.map_or(FreeText::Post(id), |c| FreeText::PostComment(id, c));
    state.privacy.redact_free_text(&scope, target, &text).await.map_err(|e| ctx.fail(e))?;
    let anchor = comment.map(|c| format!("#comment-{c}")).unwrap_or_default();
    Ok(see_other(&format!("/hc/community/posts/{id}?done=redacted{anchor}")))
}
