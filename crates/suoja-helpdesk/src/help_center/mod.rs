//! The help center: categories, sections and articles that staff publish, and what signed-in
//! people add to them (article comments, votes, subscriptions).
//!
//! Who reads what: an article is read by everyone, by signed-in people or by staff only (its
//! user segment); drafts and archived articles only by staff (archived by no one through the
//! API, as Zendesk's delete). A comment, vote or subscription is read where its article is.
//! Article and comment HTML is sanitised with the rules of ticket comments. A comment is sealed
//! under its author's key, so erasing them leaves a tombstone in its place (or nothing, as the
//! tenant chose); votes are counted from the votes, so erasing them corrects every count.

use std::collections::BTreeMap;

use suoja_core::{Personal, Scope, TenantId, Timestamp, UserId};
use suoja_search::index::{self, DocKind};
use suoja_store::Conn;
use suoja_store::help_center::{self as store, ArticleCommentRow, ArticleFilter, ArticleRow, CategoryRow, Page, Reader, SectionRow};

mod community;
mod reactions;

pub use community::{PostCommentInput, PostCommentView, PostInput, PostView, STATUSES as POST_STATUSES, TopicInput};
pub use reactions::{Followed, VoteItem};

use crate::search::{DocText, index_doc};
use crate::{Helpdesk, HelpdeskError, Result, require_staff};

/// The locales help center content is written in.
pub const LOCALES: &[&str] = &[DEFAULT_LOCALE, "fi"];
/// The locale of content created without one.
pub const DEFAULT_LOCALE: &str = "en-us";

/// The user segments: `None` is everyone; these two are built in (Zendesk's ids are the
/// tenant's own; clients only pass them back).
pub const SEGMENTS: &[(i64, &str, &str)] = &[(1, "signed_in", "Signed-in users"), (2, "staff", "Agents and admins")];

/// The longest title, name or label, in characters.
const MAX_NAME: usize = 255;
/// The largest article body, in bytes of HTML.
const MAX_BODY: usize = 512 * 1024;
/// The largest comment or post, in bytes of HTML.
const MAX_COMMENT: usize = 64 * 1024;

/// What a comment says once its author was erased.
pub const TOMBSTONE: &str = "[removed at the person's request]";

/// An article with its vote totals.
#[derive(Debug, Clone)]
pub struct Article {
    /// As stored.
    pub row: ArticleRow,
    /// Sum of the votes (+1 and -1).
    pub vote_sum: i64,
    /// How many voted.
    pub vote_count: i64,
}

/// An article comment, opened, with its vote totals.
#[derive(Debug, Clone)]
pub struct ArticleComment {
    /// As stored (the body still sealed).
    pub row: ArticleCommentRow,
    /// The sanitised HTML; `None` for a tombstone.
    pub body: Option<Personal<String>>,
    /// Sum of the votes.
    pub vote_sum: i64,
    /// How many voted.
    pub vote_count: i64,
}

/// Fields of a category or section; `None` leaves a field as it is (or takes its default).
#[derive(Debug, Clone, Default)]
pub struct GroupingInput {
    /// Name.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Locale.
    pub locale: Option<String>,
    /// Order.
    pub position: Option<i64>,
    /// A section's category (moving it).
    pub category_id: Option<i64>,
}

/// Fields of an article; `None` leaves a field as it is (or takes its default).
#[derive(Debug, Clone, Default)]
pub struct ArticleInput {
    /// Title.
    pub title: Option<String>,
    /// HTML body (sanitised here).
    pub body: Option<String>,
    /// Locale.
    pub locale: Option<String>,
    /// Draft.
    pub draft: Option<bool>,
    /// Promoted.
    pub promoted: Option<bool>,
    /// Order.
    pub position: Option<i64>,
    /// No new comments.
    pub comments_disabled: Option<bool>,
    /// Labels.
    pub label_names: Option<Vec<String>>,
    /// `Some(None)`: everyone; `Some(Some(id))`: one of [`SEGMENTS`].
    pub user_segment_id: Option<Option<i64>>,
    /// Moves it to another section.
    pub section_id: Option<i64>,
    /// Another staff member as its author.
    pub author_id: Option<i64>,
    /// Back-dated (imports; creating only).
    pub created_at: Option<Timestamp>,
}

/// Fields of an article comment.
#[derive(Debug, Clone, Default)]
pub struct ArticleCommentInput {
    /// HTML body (sanitised here).
    pub body: Option<String>,
    /// Locale.
    pub locale: Option<String>,
    /// Written on someone's behalf (staff only).
    pub author_id: Option<i64>,
    /// Back-dated (staff only, for imports).
    pub created_at: Option<Timestamp>,
}

fn invalid(field: &str, message: impl Into<String>) -> HelpdeskError {
    HelpdeskError::Invalid {
        field: field.into(),
        message: message.into(),
        code: "InvalidValue",
    }
}

fn blank(field: &str, message: &'static str) -> HelpdeskError {
    HelpdeskError::Invalid {
        field: field.into(),
        message: message.into(),
        code: "BlankValue",
    }
}

/// What a short text field is called in messages: (field, blank, too long).
type Named = (&'static str, &'static str, &'static str);
const NAME: Named = ("name", "Name: cannot be blank", "Name: is too long (at most 255 characters)");
const TITLE: Named = ("title", "Title: cannot be blank", "Title: is too long (at most 255 characters)");
const LABEL: Named = ("label_names", "Label: cannot be blank", "Label: is too long (at most 255 characters)");

/// A locale as stored, or why it is refused.
pub fn locale(s: &str) -> Result<String> {
    let l = s.trim().to_ascii_lowercase();
    if LOCALES.contains(&l.as_str()) {
        Ok(l)
    } else {
        Err(invalid(
            "locale",
            format!("Locale: is not one of the help center's locales ({})", LOCALES.join(", ")),
        ))
    }
}

fn name((field, if_blank, if_long): Named, v: &str) -> Result<String> {
    let v = v.trim();
    if v.is_empty() {
        return Err(blank(field, if_blank));
    }
    if v.chars().count() > MAX_NAME {
        return Err(invalid(field, if_long));
    }
    Ok(v.to_string())
}

/// Sanitised HTML of an article's body (`required`: with some words in it).
fn html(v: &str, required: bool) -> Result<String> {
    if v.len() > MAX_BODY {
        return Err(invalid("body", "Body: is too long (at most 512 KB)"));
    }
    sanitised(v, required)
}

/// Sanitised HTML of what a person writes: a comment or a post (pages show many at once).
fn comment_html(v: &str, required: bool) -> Result<String> {
    if v.len() > MAX_COMMENT {
        return Err(invalid("body", "Body: is too long (at most 64 KB)"));
    }
    sanitised(v, required)
}

fn sanitised(v: &str, required: bool) -> Result<String> {
    let clean = crate::text::sanitize_html(v);
    if required && crate::text::html_to_plain(&clean).trim().is_empty() {
        return Err(blank("body", "Body: cannot be blank"));
    }
    Ok(clean)
}

fn segment(id: Option<i64>) -> Result<Option<String>> {
    match id {
        None => Ok(None),
        Some(id) => SEGMENTS
            .iter()
            .find(|(i, _, _)| *i == id)
            .map(|(_, key, _)| Some((*key).to_string()))
            .ok_or_else(|| invalid("user_segment_id", "User segment: no such segment")),
    }
}

/// The id of a stored segment key.
pub fn segment_id(key: Option<&str>) -> Option<i64> {
    key.and_then(|k| SEGMENTS.iter().find(|(_, s, _)| *s == k).map(|(i, _, _)| *i))
}

fn labels(v: &[String]) -> Result<String> {
    if v.len() > 50 {
        return Err(invalid("label_names", "Labels: at most 50"));
    }
    let mut out: Vec<String> = Vec::new();
    for l in v {
        let l = name(LABEL, l)?;
        if !out.contains(&l) {
            out.push(l);
        }
    }
    serde_json::to_string(&out).map_err(|e| HelpdeskError::Internal(e.to_string()))
}

/// An article's labels as a list.
pub fn label_list(a: &ArticleRow) -> Vec<String> {
    serde_json::from_str(&a.label_names).unwrap_or_default()
}

/// The text an article is found by: its title and the words of its body.
pub(crate) fn article_text(a: &ArticleRow) -> String {
    format!("{}\n{}", a.title, crate::text::html_to_plain(&a.body))
}

/// The scope of a signed-out reader of `tenant`'s help center and community (the public
/// pages): no one, reading only what is for everyone and writing nothing.
pub fn anonymous(tenant: TenantId) -> Scope {
    Scope {
        tenant,
        actor: UserId(0),
        role: suoja_core::Role::EndUser,
        privacy_officer: false,
        token: None,
    }
}

/// Who `scope` reads as.
pub fn reader(scope: &Scope) -> Reader {
    if scope.is_staff() {
        Reader::Staff
    } else if scope.actor.0 == 0 {
        Reader::Anonymous
    } else {
        Reader::SignedIn
    }
}

/// Refuses a signed-out reader: comments, votes, subscriptions and posts are a person's.
pub(crate) fn signed_in(scope: &Scope) -> Result<()> {
    if reader(scope) == Reader::Anonymous {
        return Err(HelpdeskError::Unauthorized);
    }
    Ok(())
}

/// The outbox kinds of help center and community notices.
pub mod kinds {
    /// To a section's followers: a new article.
    pub const ARTICLE: &str = "hc_article";
    /// To an article's (and its section's) followers: a new comment.
    pub const COMMENT: &str = "hc_comment";
    /// To a topic's followers: a new post.
    pub const POST: &str = "community_post";
    /// To a post's (and its topic's) followers: a new comment.
    pub const POST_COMMENT: &str = "community_comment";
}

impl Helpdesk {
    // ---- categories and sections ----

    /// Creates a category (staff).
    pub async fn create_category(&self, scope: &Scope, input: &GroupingInput, path_locale: Option<&str>) -> Result<CategoryRow> {
        require_staff(scope)?;
        let now = self.now();
        let mut row = CategoryRow {
            id: 0,
            name: name(NAME, input.name.as_deref().unwrap_or(""))?,
            description: input.description.clone().unwrap_or_default(),
            locale: locale(input.locale.as_deref().or(path_locale).unwrap_or(DEFAULT_LOCALE))?,
            position: input.position.unwrap_or(0),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.db.begin().await?;
        row.id = store::insert_category(&mut tx, scope.tenant, &row).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Changes a category (staff).
    pub async fn update_category(&self, scope: &Scope, id: i64, input: &GroupingInput) -> Result<CategoryRow> {
        require_staff(scope)?;
        let mut tx = self.db.begin().await?;
        let mut row = store::category_by_id(&mut tx, scope.tenant, id)
            .await?
            .ok_or(HelpdeskError::NotFound("Category"))?;
        if let Some(n) = &input.name {
            row.name = name(NAME, n)?;
        }
        if let Some(d) = &input.description {
            row.description = d.clone();
        }
        if let Some(l) = &input.locale {
            row.locale = locale(l)?;
        }
        if let Some(p) = input.position {
            row.position = p;
        }
        row.updated_at = self.now();
        store::update_category(&mut tx, scope.tenant, &row).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// A category (anyone signed in).
    pub async fn get_category(&self, scope: &Scope, id: i64) -> Result<CategoryRow> {
        let mut c = self.db.read().await?;
        store::category_by_id(&mut c, scope.tenant, id)
            .await?
            .ok_or(HelpdeskError::NotFound("Category"))
    }

    /// Categories (of one locale when given).
    pub async fn list_categories(&self, scope: &Scope, locale_filter: Option<&str>, page: Page) -> Result<(Vec<CategoryRow>, i64)> {
        let l = locale_filter.map(locale).transpose()?;
        let mut c = self.db.read().await?;
        Ok(store::categories(&mut c, scope.tenant, l.as_deref(), page).await?)
    }

    /// Deletes a category with its sections and their articles (staff).
    pub async fn delete_category(&self, scope: &Scope, id: i64) -> Result<()> {
        require_staff(scope)?;
        let mut tx = self.db.begin().await?;
        let articles = self.articles_under(&mut tx, scope.tenant, ArticleFilter::Category(id)).await?;
        if !store::delete_category(&mut tx, scope.tenant, id).await? {
            return Err(HelpdeskError::NotFound("Category"));
        }
        for a in articles {
            index::remove(&mut tx, scope.tenant, DocKind::Article, a).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn articles_under(&self, c: &mut Conn, tenant: TenantId, filter: ArticleFilter) -> Result<Vec<i64>> {
        let page = Page {
            after: None,
            limit: 1_001,
            offset: 0,
            cursor: true,
            count: false,
        };
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let (rows, _) = store::articles(c, tenant, Reader::Staff, filter, &[], None, Page { after, ..page }).await?;
            let Some(last) = rows.last().map(|r| r.id) else { break };
            out.extend(rows.iter().map(|r| r.id));
            after = Some(last);
        }
        Ok(out)
    }

    /// Creates a section in a category (staff).
    pub async fn create_section(&self, scope: &Scope, category_id: i64, input: &GroupingInput, path_locale: Option<&str>) -> Result<SectionRow> {
        require_staff(scope)?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let category = store::category_by_id(&mut tx, scope.tenant, category_id)
            .await?
            .ok_or(HelpdeskError::NotFound("Category"))?;
        let mut row = SectionRow {
            id: 0,
            category_id: category.id,
            name: name(NAME, input.name.as_deref().unwrap_or(""))?,
            description: input.description.clone().unwrap_or_default(),
            locale: locale(input.locale.as_deref().or(path_locale).unwrap_or(&category.locale))?,
            position: input.position.unwrap_or(0),
            created_at: now,
            updated_at: now,
        };
        row.id = store::insert_section(&mut tx, scope.tenant, &row).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Changes a section, or moves it to another category (staff).
    pub async fn update_section(&self, scope: &Scope, id: i64, input: &GroupingInput) -> Result<SectionRow> {
        require_staff(scope)?;
        let mut tx = self.db.begin().await?;
        let mut row = store::section_by_id(&mut tx, scope.tenant, id)
            .await?
            .ok_or(HelpdeskError::NotFound("Section"))?;
        if let Some(cat) = input.category_id {
            store::category_by_id(&mut tx, scope.tenant, cat)
                .await?
                .ok_or_else(|| invalid("category_id", "Category: no such category"))?;
            row.category_id = cat;
        }
        if let Some(n) = &input.name {
            row.name = name(NAME, n)?;
        }
        if let Some(d) = &input.description {
            row.description = d.clone();
        }
        if let Some(l) = &input.locale {
            row.locale = locale(l)?;
        }
        if let Some(p) = input.position {
            row.position = p;
        }
        row.updated_at = self.now();
        store::update_section(&mut tx, scope.tenant, &row).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// A section.
    pub async fn get_section(&self, scope: &Scope, id: i64) -> Result<SectionRow> {
        let mut c = self.db.read().await?;
        store::section_by_id(&mut c, scope.tenant, id).await?.ok_or(HelpdeskError::NotFound("Section"))
    }

    /// Sections (of a category, of a locale).
    pub async fn list_sections(&self, scope: &Scope, category: Option<i64>, locale_filter: Option<&str>, page: Page) -> Result<(Vec<SectionRow>, i64)> {
        let l = locale_filter.map(locale).transpose()?;
        let mut c = self.db.read().await?;
        if let Some(cat) = category {
            store::category_by_id(&mut c, scope.tenant, cat)
                .await?
                .ok_or(HelpdeskError::NotFound("Category"))?;
        }
        Ok(store::sections(&mut c, scope.tenant, category, l.as_deref(), page).await?)
    }

    /// Deletes a section with its articles (staff).
    pub async fn delete_section(&self, scope: &Scope, id: i64) -> Result<()> {
        require_staff(scope)?;
        let mut tx = self.db.begin().await?;
        let articles = self.articles_under(&mut tx, scope.tenant, ArticleFilter::Section(id)).await?;
        if !store::delete_section(&mut tx, scope.tenant, id).await? {
            return Err(HelpdeskError::NotFound("Section"));
        }
        for a in articles {
            index::remove(&mut tx, scope.tenant, DocKind::Article, a).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    // ---- articles ----

    async fn staff_author(&self, c: &mut Conn, tenant: TenantId, id: i64) -> Result<UserId> {
        match suoja_store::users::by_id(c, tenant, UserId(id)).await? {
            Some(u) if u.role.is_staff() && u.deleted_at.is_none() => Ok(u.id),
            _ => Err(invalid("author_id", "Author: must be an agent or admin of this help center")),
        }
    }

    /// Creates an article in a section (staff); tells the section's followers unless it is a
    /// draft or `notify` is false.
    pub async fn create_article(&self, scope: &Scope, section_id: i64, input: &ArticleInput, path_locale: Option<&str>, notify: bool) -> Result<Article> {
        require_staff(scope)?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let section = store::section_by_id(&mut tx, scope.tenant, section_id)
            .await?
            .ok_or(HelpdeskError::NotFound("Section"))?;
        let author = match input.author_id {
            Some(a) => self.staff_author(&mut tx, scope.tenant, a).await?,
            None => scope.actor,
        };
        let mut row = ArticleRow {
            id: 0,
            section_id: section.id,
            author_id: author,
            title: name(TITLE, input.title.as_deref().unwrap_or(""))?,
            body: html(input.body.as_deref().unwrap_or(""), false)?,
            locale: locale(input.locale.as_deref().or(path_locale).unwrap_or(&section.locale))?,
            draft: input.draft.unwrap_or(false),
            promoted: input.promoted.unwrap_or(false),
            position: input.position.unwrap_or(0),
            comments_disabled: input.comments_disabled.unwrap_or(false),
            label_names: labels(input.label_names.as_deref().unwrap_or(&[]))?,
            user_segment: segment(input.user_segment_id.flatten())?,
            created_at: input.created_at.unwrap_or(now),
            updated_at: input.created_at.unwrap_or(now),
            edited_at: input.created_at.unwrap_or(now),
            archived_at: None,
        };
        row.id = store::insert_article(&mut tx, scope.tenant, &row).await?;
        index_doc(
            &self.vault,
            &mut tx,
            scope.tenant,
            DocKind::Article,
            row.id,
            &DocText::public(&article_text(&row)),
        )
        .await?;
        if notify && !row.draft {
            let to = store::section_followers(&mut tx, scope.tenant, section.id, scope.actor).await?;
            self.tell_followers(&mut tx, scope.tenant, &to, &Notice::article(&row, kinds::ARTICLE)).await?;
        }
        tx.commit().await?;
        Ok(Article {
            row,
            vote_sum: 0,
            vote_count: 0,
        })
    }

    /// Changes an article (staff).
    pub async fn update_article(&self, scope: &Scope, id: i64, input: &ArticleInput) -> Result<Article> {
        require_staff(scope)?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let mut row = store::article_by_id(&mut tx, scope.tenant, id)
            .await?
            .filter(|a| a.archived_at.is_none())
            .ok_or(HelpdeskError::NotFound("Article"))?;
        if let Some(s) = input.section_id {
            store::section_by_id(&mut tx, scope.tenant, s)
                .await?
                .ok_or_else(|| invalid("section_id", "Section: no such section"))?;
            row.section_id = s;
        }
        if let Some(a) = input.author_id {
            row.author_id = self.staff_author(&mut tx, scope.tenant, a).await?;
        }
        if let Some(t) = &input.title {
            row.title = name(TITLE, t)?;
            row.edited_at = now;
        }
        if let Some(b) = &input.body {
            row.body = html(b, false)?;
            row.edited_at = now;
        }
        if let Some(l) = &input.locale {
            row.locale = locale(l)?;
        }
        if let Some(d) = input.draft {
            row.draft = d;
        }
        if let Some(p) = input.promoted {
            row.promoted = p;
        }
        if let Some(p) = input.position {
            row.position = p;
        }
        if let Some(d) = input.comments_disabled {
            row.comments_disabled = d;
        }
        if let Some(l) = &input.label_names {
            row.label_names = labels(l)?;
        }
        if let Some(s) = input.user_segment_id {
            row.user_segment = segment(s)?;
        }
        row.updated_at = now;
        store::update_article(&mut tx, scope.tenant, &row).await?;
        index_doc(
            &self.vault,
            &mut tx,
            scope.tenant,
            DocKind::Article,
            row.id,
            &DocText::public(&article_text(&row)),
        )
        .await?;
        let totals = store::vote_totals(&mut tx, scope.tenant, "Article", &[row.id]).await?;
        tx.commit().await?;
        Ok(with_totals(row, &totals))
    }

    /// Archives an article (Zendesk's delete; staff): no one reads it any more.
    pub async fn archive_article(&self, scope: &Scope, id: i64) -> Result<()> {
        require_staff(scope)?;
        let mut tx = self.db.begin().await?;
        let mut row = store::article_by_id(&mut tx, scope.tenant, id)
            .await?
            .filter(|a| a.archived_at.is_none())
            .ok_or(HelpdeskError::NotFound("Article"))?;
        row.archived_at = Some(self.now());
        row.updated_at = self.now();
        store::update_article(&mut tx, scope.tenant, &row).await?;
        index::remove(&mut tx, scope.tenant, DocKind::Article, id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn readable_article(&self, c: &mut Conn, scope: &Scope, id: i64) -> Result<ArticleRow> {
        store::article_by_id(c, scope.tenant, id)
            .await?
            .filter(|a| reader(scope).may_read(a))
            .ok_or(HelpdeskError::NotFound("Article"))
    }

    /// An article `scope` may read.
    pub async fn get_article(&self, scope: &Scope, id: i64) -> Result<Article> {
        let mut c = self.db.read().await?;
        let row = self.readable_article(&mut c, scope, id).await?;
        let totals = store::vote_totals(&mut c, scope.tenant, "Article", &[row.id]).await?;
        Ok(with_totals(row, &totals))
    }

    /// Articles `scope` may read, by `filter` (a section, category or author that does not
    /// exist is not found).
    pub async fn list_articles(&self, scope: &Scope, filter: ArticleFilter, locale_filter: Option<&str>, page: Page) -> Result<(Vec<Article>, i64)> {
        let l = locale_filter.map(locale).transpose()?;
        let mut c = self.db.read().await?;
        match filter {
            ArticleFilter::Section(s) => {
                store::section_by_id(&mut c, scope.tenant, s).await?.ok_or(HelpdeskError::NotFound("Section"))?;
            }
            ArticleFilter::Category(cat) => {
                store::category_by_id(&mut c, scope.tenant, cat)
                    .await?
                    .ok_or(HelpdeskError::NotFound("Category"))?;
            }
            ArticleFilter::Author(u) => {
                // People may ask of staff (whose articles name them) and of themselves; any other
                // id reads as unknown, so the answer tells no one who else has an account.
                let author = suoja_store::users::by_id(&mut c, scope.tenant, u).await?;
                if !author.is_some_and(|a| scope.is_staff() || a.id == scope.actor || a.role.is_staff()) {
                    return Err(HelpdeskError::NotFound("User"));
                }
            }
            ArticleFilter::All | ArticleFilter::Ids | ArticleFilter::Promoted => {}
        }
        let (rows, count) = store::articles(&mut c, scope.tenant, reader(scope), filter, &[], l.as_deref(), page).await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let totals = store::vote_totals(&mut c, scope.tenant, "Article", &ids).await?;
        Ok((rows.into_iter().map(|r| with_totals(r, &totals)).collect(), count))
    }

    /// Articles holding every word of `query` that `scope` may read, newest first; and how many.
    pub async fn search_articles(&self, scope: &Scope, query: &str, locale_filter: Option<&str>, page: Page) -> Result<(Vec<Article>, i64)> {
        let l = locale_filter.map(locale).transpose()?;
        if query.chars().count() > 1_000 {
            return Err(HelpdeskError::BadQuery("the query is too long (at most 1 000 characters)".into()));
        }
        let mut c = self.db.read().await?;
        let h = self.vault.search_hasher(&mut c, scope.tenant).await?;
        let mut tokens: Vec<i64> = suoja_search::terms(query).iter().map(|t| h.token(t)).collect();
        tokens.truncate(32);
        if tokens.is_empty() {
            return Ok((Vec::new(), 0));
        }
        let ids = index::all_of(&mut c, scope.tenant, DocKind::Article, &tokens).await?;
        let (rows, count) = store::articles(&mut c, scope.tenant, reader(scope), ArticleFilter::Ids, &ids, l.as_deref(), page).await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let totals = store::vote_totals(&mut c, scope.tenant, "Article", &ids).await?;
        Ok((rows.into_iter().map(|r| with_totals(r, &totals)).collect(), count))
    }

    // ---- article comments ----

    async fn open_comments(&self, c: &mut Conn, tenant: TenantId, rows: Vec<ArticleCommentRow>) -> Result<Vec<ArticleComment>> {
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let totals = store::vote_totals(c, tenant, "Comment", &ids).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let body = match &row.body_enc {
                // A key destroyed since (its author erased mid-way) reads as a tombstone too.
                Some(b) => self.vault.decrypt_str(c, tenant, b).await.ok().map(Personal::new),
                None => None,
            };
            let (vote_sum, vote_count) = totals.get(&row.id).copied().unwrap_or((0, 0));
            out.push(ArticleComment {
                row,
                body,
                vote_sum,
                vote_count,
            });
        }
        Ok(out)
    }

    /// Comments on an article `scope` may read, oldest first.
    pub async fn list_article_comments(&self, scope: &Scope, article: i64, page: Page) -> Result<(Vec<ArticleComment>, i64)> {
        let mut c = self.db.read().await?;
        self.readable_article(&mut c, scope, article).await?;
        let (rows, count) = store::comments(&mut c, scope.tenant, Some(article), None, reader(scope), page).await?;
        Ok((self.open_comments(&mut c, scope.tenant, rows).await?, count))
    }

    /// A person's article comments (their own, or anyone's for staff), on articles the caller
    /// may read.
    pub async fn list_user_article_comments(&self, scope: &Scope, user: UserId, page: Page) -> Result<(Vec<ArticleComment>, i64)> {
        if user != scope.actor {
            require_staff(scope)?;
        }
        let mut c = self.db.read().await?;
        suoja_store::users::by_id(&mut c, scope.tenant, user)
            .await?
            .ok_or(HelpdeskError::NotFound("User"))?;
        let (rows, count) = store::comments(&mut c, scope.tenant, None, Some(user), reader(scope), page).await?;
        Ok((self.open_comments(&mut c, scope.tenant, rows).await?, count))
    }

    async fn readable_comment(&self, c: &mut Conn, scope: &Scope, article: i64, id: i64) -> Result<ArticleCommentRow> {
        self.readable_article(c, scope, article).await?;
        let row = store::comment_by_id(c, scope.tenant, id)
            .await?
            .filter(|r| r.article_id == article)
            .ok_or(HelpdeskError::NotFound("Comment"))?;
        if self.hidden_by_restriction(c, scope, row.author_id).await? {
            return Err(HelpdeskError::NotFound("Comment"));
        }
        Ok(row)
    }

    /// Whether what `author` wrote is hidden from `scope`: their processing is restricted (GDPR
    /// Art. 18), and only staff see it while that lasts.
    pub(super) async fn hidden_by_restriction(&self, c: &mut Conn, scope: &Scope, author: UserId) -> Result<bool> {
        if scope.is_staff() {
            return Ok(false);
        }
        Ok(suoja_store::users::by_id(c, scope.tenant, author).await?.is_some_and(|u| u.restricted))
    }

    /// Refuses staff writing on someone's behalf where that person could not read it: their
    /// words would sit in their records (and export) about something hidden from them.
    pub(super) fn author_may_read(author: &suoja_store::users::UserRow, may: bool) -> Result<()> {
        if !author.role.is_staff() && !may {
            return Err(invalid("author_id", "Author: cannot read this"));
        }
        Ok(())
    }

    /// One comment on an article.
    pub async fn get_article_comment(&self, scope: &Scope, article: i64, id: i64) -> Result<ArticleComment> {
        let mut c = self.db.read().await?;
        let row = self.readable_comment(&mut c, scope, article, id).await?;
        let mut out = self.open_comments(&mut c, scope.tenant, vec![row]).await?;
        out.pop().ok_or(HelpdeskError::NotFound("Comment"))
    }

    /// Comments on an article (anyone signed in who may read it, unless comments are off);
    /// staff may write on someone's behalf or back-date. Tells the article's followers.
    pub async fn create_article_comment(&self, scope: &Scope, article: i64, input: &ArticleCommentInput, notify: bool) -> Result<ArticleComment> {
        signed_in(scope)?;
        if (input.author_id.is_some() || input.created_at.is_some()) && !scope.is_staff() {
            return Err(HelpdeskError::Forbidden("only agents and admins can set a comment's author or time"));
        }
        let body = comment_html(input.body.as_deref().unwrap_or(""), true)?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let a = self.readable_article(&mut tx, scope, article).await?;
        if a.comments_disabled {
            return Err(HelpdeskError::Conflict("comments are turned off for this article".into()));
        }
        let author_id = UserId(input.author_id.unwrap_or(scope.actor.0));
        let author = suoja_store::users::by_id(&mut tx, scope.tenant, author_id)
            .await?
            .filter(|u| u.deleted_at.is_none())
            .ok_or_else(|| invalid("author_id", "Author: no such user"))?;
        Self::author_may_read(&author, Reader::SignedIn.may_read(&a))?;
        let sealed = self.vault.encrypt_str(&mut tx, scope.tenant, author.key_id, &body).await?;
        let mut row = ArticleCommentRow {
            id: 0,
            article_id: a.id,
            author_id: author.id,
            key_id: Some(author.key_id),
            locale: locale(input.locale.as_deref().unwrap_or(&a.locale))?,
            body_enc: Some(sealed),
            created_at: input.created_at.unwrap_or(now),
            updated_at: now,
            non_author_editor_id: None,
            non_author_updated_at: None,
        };
        row.id = store::insert_comment(&mut tx, scope.tenant, &row).await?;
        if notify {
            let to = store::comment_followers(&mut tx, scope.tenant, a.id, a.section_id, author.id).await?;
            self.tell_followers(&mut tx, scope.tenant, &to, &Notice::article(&a, kinds::COMMENT)).await?;
        }
        tx.commit().await?;
        Ok(ArticleComment {
            row,
            body: Some(Personal::new(body)),
            vote_sum: 0,
            vote_count: 0,
        })
    }

    /// Changes a comment's body (its author, or staff: then marked as edited by them).
    pub async fn update_article_comment(&self, scope: &Scope, article: i64, id: i64, input: &ArticleCommentInput) -> Result<ArticleComment> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let mut row = self.readable_comment(&mut tx, scope, article, id).await?;
        if row.author_id != scope.actor && !scope.is_staff() {
            return Err(HelpdeskError::Forbidden("only the comment's author and staff can change it"));
        }
        if let Some(b) = &input.body {
            let Some(key) = row.key_id.filter(|_| row.body_enc.is_some()) else {
                return Err(HelpdeskError::Conflict("the comment was removed at its author's request".into()));
            };
            let body = comment_html(b, true)?;
            row.body_enc = Some(self.vault.encrypt_str(&mut tx, scope.tenant, key, &body).await?);
            if row.author_id != scope.actor {
                row.non_author_editor_id = Some(scope.actor);
                row.non_author_updated_at = Some(now);
            }
        }
        if let Some(l) = &input.locale {
            row.locale = locale(l)?;
        }
        row.updated_at = now;
        store::update_comment(&mut tx, scope.tenant, &row).await?;
        let mut out = self.open_comments(&mut tx, scope.tenant, vec![row]).await?;
        tx.commit().await?;
        out.pop().ok_or(HelpdeskError::NotFound("Comment"))
    }

    /// Deletes a comment (its author, or staff).
    pub async fn delete_article_comment(&self, scope: &Scope, article: i64, id: i64) -> Result<()> {
        let mut tx = self.db.begin().await?;
        let row = self.readable_comment(&mut tx, scope, article, id).await?;
        if row.author_id != scope.actor && !scope.is_staff() {
            return Err(HelpdeskError::Forbidden("only the comment's author and staff can delete it"));
        }
        store::delete_comment(&mut tx, scope.tenant, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Queues `notice` to each follower who may read what it is about and can be mailed, in
    /// their language.
    pub(super) async fn tell_followers(&self, c: &mut Conn, tenant: TenantId, to: &[UserId], notice: &Notice) -> Result<()> {
        if !self.notifications {
            return Ok(());
        }
        for u in to {
            let Some(r) = self.mail_recipient(c, tenant, *u).await? else { continue };
            if !r.role.is_staff() && !notice.end_users {
                continue;
            }
            let (subject, text) = if r.locale.to_ascii_lowercase().starts_with("fi") {
                &notice.fi
            } else {
                &notice.en
            };
            self.queue_about(c, tenant, &r, notice.kind, None, subject, text).await?;
        }
        Ok(())
    }
}

/// A notice to followers of new content: its outbox kind, its subject and text in English and
/// Finnish, and whether end users may read what it is about. It names the content by its
/// number (and an article by its title, which staff published), never by what a person wrote.
pub(super) struct Notice {
    pub kind: &'static str,
    pub en: (String, String),
    pub fi: (String, String),
    pub end_users: bool,
}

impl Notice {
    fn article(a: &ArticleRow, kind: &'static str) -> Self {
        let (en, fi) = if kind == kinds::ARTICLE {
            (
                (
                    format!("New article: {}", a.title),
                    format!("An article was published in a section you follow: “{}” (number {}).\n", a.title, a.id),
                ),
                (
                    format!("Uusi artikkeli: {}", a.title),
                    format!("Seuraamaasi osioon on julkaistu artikkeli ”{}” (numero {}).\n", a.title, a.id),
                ),
            )
        } else {
            (
                (
                    format!("New comment: {}", a.title),
                    format!("Someone commented on an article you follow: “{}” (number {}).\n", a.title, a.id),
                ),
                (
                    format!("Uusi kommentti: {}", a.title),
                    format!("Seuraamaasi artikkeliin ”{}” (numero {}) on kommentoitu.\n", a.title, a.id),
                ),
            )
        };
        Notice {
            kind,
            en,
            fi,
            end_users: Reader::SignedIn.may_read(a),
        }
    }
}

fn with_totals(row: ArticleRow, totals: &BTreeMap<i64, (i64, i64)>) -> Article {
    let (vote_sum, vote_count) = totals.get(&row.id).copied().unwrap_or((0, 0));
    Article { row, vote_sum, vote_count }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_and_segments_are_checked() {
        assert_eq!(locale("EN-US").ok().as_deref(), Some("en-us"));
        assert_eq!(locale("fi").ok().as_deref(), Some("fi"));
        assert!(locale("xx-yy").is_err());
        assert!(locale("").is_err());
        assert_eq!(segment(None).ok(), Some(None));
        assert_eq!(segment(Some(2)).ok(), Some(Some("staff".to_string())));
        assert!(segment(Some(99)).is_err());
        assert_eq!(segment_id(Some("signed_in")), Some(1));
    }

    #[test]
    fn labels_are_trimmed_once_each_and_bounded() {
        let v = vec![" a ".to_string(), "a".into(), "b".into()];
        assert_eq!(labels(&v).ok().as_deref(), Some(r#"["a","b"]"#));
        assert!(labels(&vec!["x".to_string(); 51]).is_err());
        assert!(labels(&["".to_string()]).is_err());
    }

    #[test]
    fn bodies_are_sanitised_and_comments_need_words() {
        let clean = html("<p onclick=\"x()\">Hi<script>alert(1)</script></p>", true).unwrap_or_default();
        assert!(!clean.contains("script") && !clean.contains("onclick"), "{clean}");
        assert!(html("<p> </p>", true).is_err());
        assert!(html("", false).is_ok());
    }
}
