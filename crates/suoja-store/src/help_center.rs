//! The help center: categories, sections and articles (the tenant's published content, plain),
//! article comments (sealed under their author's key), votes and subscriptions (rows linked to
//! the person). Vote counts are counted from the votes, never stored.

use std::collections::BTreeMap;

use crate::Conn;
use suoja_core::{KeyId, TenantId, Timestamp, UserId};

use crate::Result;
use crate::row::{bool_, i64_, opt_bytes, opt_i64, opt_text, text};

/// A category as stored.
#[derive(Debug, Clone)]
pub struct CategoryRow {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Locale (`en-us`, `fi`).
    pub locale: String,
    /// Order among categories.
    pub position: i64,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

/// A section as stored.
#[derive(Debug, Clone)]
pub struct SectionRow {
    /// Id.
    pub id: i64,
    /// Its category.
    pub category_id: i64,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Locale.
    pub locale: String,
    /// Order within the category.
    pub position: i64,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

/// An article as stored.
#[derive(Debug, Clone)]
pub struct ArticleRow {
    /// Id.
    pub id: i64,
    /// Its section.
    pub section_id: i64,
    /// The staff member who wrote it (an id that stops resolving once they are erased).
    pub author_id: UserId,
    /// Title.
    pub title: String,
    /// Sanitised HTML.
    pub body: String,
    /// Locale.
    pub locale: String,
    /// Only staff see drafts.
    pub draft: bool,
    /// Shown first.
    pub promoted: bool,
    /// Order within the section.
    pub position: i64,
    /// No new comments.
    pub comments_disabled: bool,
    /// Labels, as a JSON array of strings.
    pub label_names: String,
    /// Who may read it: `None` everyone, `signed_in` or `staff`.
    pub user_segment: Option<String>,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
    /// Last change of title or body.
    pub edited_at: Timestamp,
    /// Archived (Zendesk's delete): read by no one.
    pub archived_at: Option<Timestamp>,
}

/// An article comment as stored.
#[derive(Debug, Clone)]
pub struct ArticleCommentRow {
    /// Id.
    pub id: i64,
    /// Its article.
    pub article_id: i64,
    /// Who wrote it.
    pub author_id: UserId,
    /// The key `body_enc` is sealed under (the author's); `None` for a tombstone.
    pub key_id: Option<KeyId>,
    /// Locale.
    pub locale: String,
    /// Sealed sanitised HTML; `None` once its author was erased (a tombstone).
    pub body_enc: Option<Vec<u8>>,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
    /// Staff who last edited it, when not its author.
    pub non_author_editor_id: Option<UserId>,
    /// When they did.
    pub non_author_updated_at: Option<Timestamp>,
}

/// A vote as stored.
#[derive(Debug, Clone)]
pub struct VoteRow {
    /// Id.
    pub id: i64,
    /// Who voted.
    pub user_id: UserId,
    /// `Article` or `Comment`.
    pub item_type: String,
    /// The article or comment.
    pub item_id: i64,
    /// +1 or -1.
    pub value: i64,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

/// A subscription as stored.
#[derive(Debug, Clone)]
pub struct SubscriptionRow {
    /// Id.
    pub id: i64,
    /// Who follows.
    pub user_id: UserId,
    /// `Article` or `Section`.
    pub content_type: String,
    /// The article or section.
    pub content_id: i64,
    /// Locale.
    pub source_locale: String,
    /// A section's subscriber also hears of comments.
    pub include_comments: bool,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

/// Who reads: what a list or lookup of articles lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// Signed out: published articles for everyone.
    Anonymous,
    /// Signed in (end users): also those for signed-in users.
    SignedIn,
    /// Agents and admins: drafts and every segment.
    Staff,
}

impl Reader {
    /// The condition an article row must meet for this reader (column names of `hc_articles`).
    fn condition(self) -> &'static str {
        match self {
            Reader::Staff => "archived_at IS NULL",
            Reader::SignedIn => "archived_at IS NULL AND draft = 0 AND (user_segment IS NULL OR user_segment = 'signed_in')",
            Reader::Anonymous => "archived_at IS NULL AND draft = 0 AND user_segment IS NULL",
        }
    }

    /// Whether this reader may read `a` (the same rule as [`Reader::condition`]).
    pub fn may_read(self, a: &ArticleRow) -> bool {
        a.archived_at.is_none()
            && match self {
                Reader::Staff => true,
                Reader::SignedIn => !a.draft && a.user_segment.as_deref().is_none_or(|s| s == "signed_in"),
                Reader::Anonymous => !a.draft && a.user_segment.is_none(),
            }
    }
}

/// Which articles a list holds.
#[derive(Debug, Clone, Copy)]
pub enum ArticleFilter {
    /// Every article.
    All,
    /// A section's.
    Section(i64),
    /// A category's.
    Category(i64),
    /// A staff member's.
    Author(UserId),
    /// These ids (a search's hits).
    Ids,
    /// The promoted ones.
    Promoted,
}

/// The condition leaving out what people whose processing is restricted (GDPR Art. 18) wrote:
/// only staff see it while the restriction lasts. `$1` is the tenant.
pub const RESTRICTED_AUTHOR: &str = "author_id NOT IN (SELECT u.id FROM users u WHERE u.tenant_id = $1 AND u.restricted = 1)";

const CATEGORY: &str = "id, name, description, locale, position, created_at, updated_at";
const SECTION: &str = "id, category_id, name, description, locale, position, created_at, updated_at";
const ARTICLE: &str = "id, section_id, author_id, title, body, locale, draft, promoted, position, comments_disabled, label_names, user_segment, created_at, updated_at, edited_at, archived_at";
const COMMENT: &str = "id, article_id, author_id, key_id, locale, body_enc, created_at, updated_at, non_author_editor_id, non_author_updated_at";
const VOTE: &str = "id, user_id, item_type, item_id, value, created_at, updated_at";
const SUBSCRIPTION: &str = "id, user_id, content_type, content_id, source_locale, include_comments, created_at, updated_at";

fn category(r: &sqlx::any::AnyRow) -> Result<CategoryRow> {
    Ok(CategoryRow {
        id: i64_(r, "id")?,
        name: text(r, "name")?,
        description: text(r, "description")?,
        locale: text(r, "locale")?,
        position: i64_(r, "position")?,
        created_at: Timestamp(i64_(r, "created_at")?),
        updated_at: Timestamp(i64_(r, "updated_at")?),
    })
}

fn section(r: &sqlx::any::AnyRow) -> Result<SectionRow> {
    Ok(SectionRow {
        id: i64_(r, "id")?,
        category_id: i64_(r, "category_id")?,
        name: text(r, "name")?,
        description: text(r, "description")?,
        locale: text(r, "locale")?,
        position: i64_(r, "position")?,
        created_at: Timestamp(i64_(r, "created_at")?),
        updated_at: Timestamp(i64_(r, "updated_at")?),
    })
}

fn article(r: &sqlx::any::AnyRow) -> Result<ArticleRow> {
    Ok(ArticleRow {
        id: i64_(r, "id")?,
        section_id: i64_(r, "section_id")?,
        author_id: UserId(i64_(r, "author_id")?),
        title: text(r, "title")?,
        body: text(r, "body")?,
        locale: text(r, "locale")?,
        draft: bool_(r, "draft")?,
        promoted: bool_(r, "promoted")?,
        position: i64_(r, "position")?,
        comments_disabled: bool_(r, "comments_disabled")?,
        label_names: text(r, "label_names")?,
        user_segment: opt_text(r, "user_segment")?,
        created_at: Timestamp(i64_(r, "created_at")?),
        updated_at: Timestamp(i64_(r, "updated_at")?),
        edited_at: Timestamp(i64_(r, "edited_at")?),
        archived_at: opt_i64(r, "archived_at")?.map(Timestamp),
    })
}

fn comment(r: &sqlx::any::AnyRow) -> Result<ArticleCommentRow> {
    Ok(ArticleCommentRow {
        id: i64_(r, "id")?,
        article_id: i64_(r, "article_id")?,
        author_id: UserId(i64_(r, "author_id")?),
        key_id: opt_i64(r, "key_id")?.map(KeyId),
        locale: text(r, "locale")?,
        body_enc: opt_bytes(r, "body_enc")?,
        created_at: Timestamp(i64_(r, "created_at")?),
        updated_at: Timestamp(i64_(r, "updated_at")?),
        non_author_editor_id: opt_i64(r, "non_author_editor_id")?.map(UserId),
        non_author_updated_at: opt_i64(r, "non_author_updated_at")?.map(Timestamp),
    })
}

fn vote_row(r: &sqlx::any::AnyRow) -> Result<VoteRow> {
    Ok(VoteRow {
        id: i64_(r, "id")?,
        user_id: UserId(i64_(r, "user_id")?),
        item_type: text(r, "item_type")?,
        item_id: i64_(r, "item_id")?,
        value: i64_(r, "value")?,
        created_at: Timestamp(i64_(r, "created_at")?),
        updated_at: Timestamp(i64_(r, "updated_at")?),
    })
}

fn subscription(r: &sqlx::any::AnyRow) -> Result<SubscriptionRow> {
    Ok(SubscriptionRow {
        id: i64_(r, "id")?,
        user_id: UserId(i64_(r, "user_id")?),
        content_type: text(r, "content_type")?,
        content_id: i64_(r, "content_id")?,
        source_locale: text(r, "source_locale")?,
        include_comments: bool_(r, "include_comments")?,
        created_at: Timestamp(i64_(r, "created_at")?),
        updated_at: Timestamp(i64_(r, "updated_at")?),
    })
}

/// A page of a list: rows after `after` (by id), `limit` of them from `offset`.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// Only ids above this (cursor pagination).
    pub after: Option<i64>,
    /// At most this many rows.
    pub limit: i64,
    /// Skipped first (offset pagination).
    pub offset: i64,
    /// Cursor pagination: rows in id order (so `after` is a place in the order), not in the
    /// list's own order.
    pub cursor: bool,
    /// Whether the total is wanted: counting walks every matching row, so the long lists
    /// (articles, posts, comments) answer -1 for the total when it is not.
    pub count: bool,
}

impl Page {
    fn sql(self) -> String {
        format!("LIMIT {} OFFSET {}", self.limit.clamp(0, 1_001), self.offset.max(0))
    }

    /// `ORDER BY` the list's own `order`, or by id for a cursor.
    fn order(self, order: &str) -> String {
        if self.cursor { "ORDER BY id".into() } else { format!("ORDER BY {order}") }
    }
}

// ---- categories ----

/// Inserts a category.
pub async fn insert_category(c: &mut Conn, tenant: TenantId, r: &CategoryRow) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO hc_categories (tenant_id, name, description, locale, position, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(tenant.0)
    .bind(r.name.clone())
    .bind(r.description.clone())
    .bind(r.locale.clone())
    .bind(r.position)
    .bind(r.created_at.0)
    .bind(r.updated_at.0)
    .fetch_one(c)
    .await?)
}

/// Writes a category's fields.
pub async fn update_category(c: &mut Conn, tenant: TenantId, r: &CategoryRow) -> Result<bool> {
    let done =
        sqlx::query("UPDATE hc_categories SET name = $3, description = $4, locale = $5, position = $6, updated_at = $7 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0)
            .bind(r.id)
            .bind(r.name.clone())
            .bind(r.description.clone())
            .bind(r.locale.clone())
            .bind(r.position)
            .bind(r.updated_at.0)
            .execute(c)
            .await?;
    Ok(done.rows_affected() > 0)
}

/// A category.
pub async fn category_by_id(c: &mut Conn, tenant: TenantId, id: i64) -> Result<Option<CategoryRow>> {
    let sql = format!("SELECT {CATEGORY} FROM hc_categories WHERE tenant_id = $1 AND id = $2");
    let r = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id).fetch_optional(c).await?;
    r.as_ref().map(category).transpose()
}

/// Categories by position, then id (of one locale when given), and how many there are.
pub async fn categories(c: &mut Conn, tenant: TenantId, locale: Option<&str>, page: Page) -> Result<(Vec<CategoryRow>, i64)> {
    let cond = "tenant_id = $1 AND id > $2 AND ($3 = '' OR locale = $3)";
    let sql = format!(
        "SELECT {CATEGORY} FROM hc_categories WHERE {cond} {} {}",
        page.order("position, id"),
        page.sql()
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(page.after.unwrap_or(0))
        .bind(locale.unwrap_or("").to_string())
        .fetch_all(&mut *c)
        .await?;
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM hc_categories WHERE tenant_id = $1 AND ($2 = '' OR locale = $2)")
        .bind(tenant.0)
        .bind(locale.unwrap_or("").to_string())
        .fetch_one(c)
        .await?;
    Ok((rows.iter().map(category).collect::<Result<_>>()?, count))
}

/// Deletes a category with its sections, their articles and everything on those.
pub async fn delete_category(c: &mut Conn, tenant: TenantId, id: i64) -> Result<bool> {
    let sections: Vec<i64> = sqlx::query_scalar("SELECT id FROM hc_sections WHERE tenant_id = $1 AND category_id = $2")
        .bind(tenant.0)
        .bind(id)
        .fetch_all(&mut *c)
        .await?;
    for s in sections {
        delete_section(&mut *c, tenant, s).await?;
    }
    let done = sqlx::query("DELETE FROM hc_categories WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(c)
        .await?;
    Ok(done.rows_affected() > 0)
}

// ---- sections ----

/// Inserts a section.
pub async fn insert_section(c: &mut Conn, tenant: TenantId, r: &SectionRow) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO hc_sections (tenant_id, category_id, name, description, locale, position, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(tenant.0)
    .bind(r.category_id)
    .bind(r.name.clone())
    .bind(r.description.clone())
    .bind(r.locale.clone())
    .bind(r.position)
    .bind(r.created_at.0)
    .bind(r.updated_at.0)
    .fetch_one(c)
    .await?)
}

/// Writes a section's fields.
pub async fn update_section(c: &mut Conn, tenant: TenantId, r: &SectionRow) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE hc_sections SET category_id = $3, name = $4, description = $5, locale = $6, position = $7, updated_at = $8 \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.0)
    .bind(r.id)
    .bind(r.category_id)
    .bind(r.name.clone())
    .bind(r.description.clone())
    .bind(r.locale.clone())
    .bind(r.position)
    .bind(r.updated_at.0)
    .execute(c)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// A section.
pub async fn section_by_id(c: &mut Conn, tenant: TenantId, id: i64) -> Result<Option<SectionRow>> {
    let sql = format!("SELECT {SECTION} FROM hc_sections WHERE tenant_id = $1 AND id = $2");
    let r = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id).fetch_optional(c).await?;
    r.as_ref().map(section).transpose()
}

/// Sections (of one category and one locale when given) by position, then id, and how many.
pub async fn sections(c: &mut Conn, tenant: TenantId, category_id: Option<i64>, locale: Option<&str>, page: Page) -> Result<(Vec<SectionRow>, i64)> {
    let cond = "tenant_id = $1 AND ($2 = 0 OR category_id = $2) AND ($3 = '' OR locale = $3)";
    let sql = format!(
        "SELECT {SECTION} FROM hc_sections WHERE {cond} AND id > $4 {} {}",
        page.order("position, id"),
        page.sql()
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(category_id.unwrap_or(0))
        .bind(locale.unwrap_or("").to_string())
        .bind(page.after.unwrap_or(0))
        .fetch_all(&mut *c)
        .await?;
    let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM hc_sections WHERE {cond}")))
        .bind(tenant.0)
        .bind(category_id.unwrap_or(0))
        .bind(locale.unwrap_or("").to_string())
        .fetch_one(c)
        .await?;
    Ok((rows.iter().map(section).collect::<Result<_>>()?, count))
}

/// Deletes a section with its articles and everything on those.
pub async fn delete_section(c: &mut Conn, tenant: TenantId, id: i64) -> Result<bool> {
    let articles: Vec<i64> = sqlx::query_scalar("SELECT id FROM hc_articles WHERE tenant_id = $1 AND section_id = $2")
        .bind(tenant.0)
        .bind(id)
        .fetch_all(&mut *c)
        .await?;
    for a in articles {
        delete_article(&mut *c, tenant, a).await?;
    }
    subscriptions_of_content_delete(&mut *c, tenant, "Section", id).await?;
    let done = sqlx::query("DELETE FROM hc_sections WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(c)
        .await?;
    Ok(done.rows_affected() > 0)
}

// ---- articles ----

/// Inserts an article.
pub async fn insert_article(c: &mut Conn, tenant: TenantId, r: &ArticleRow) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO hc_articles (tenant_id, section_id, author_id, title, locale, draft, promoted, position, comments_disabled, \
         label_names, user_segment, created_at, updated_at, edited_at, archived_at, body) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id",
    )
    .bind(tenant.0)
    .bind(r.section_id)
    .bind(r.author_id.0)
    .bind(r.title.clone())
    .bind(r.locale.clone())
    .bind(i64::from(r.draft))
    .bind(i64::from(r.promoted))
    .bind(r.position)
    .bind(i64::from(r.comments_disabled))
    .bind(r.label_names.clone())
    .bind(r.user_segment.clone())
    .bind(r.created_at.0)
    .bind(r.updated_at.0)
    .bind(r.edited_at.0)
    .bind(r.archived_at.map(|t| t.0))
    .bind(r.body.clone())
    .fetch_one(c)
    .await?)
}

/// Writes an article's fields.
pub async fn update_article(c: &mut Conn, tenant: TenantId, r: &ArticleRow) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE hc_articles SET section_id = $3, author_id = $4, title = $5, locale = $6, draft = $7, promoted = $8, position = $9, \
         comments_disabled = $10, label_names = $11, user_segment = $12, updated_at = $13, edited_at = $14, archived_at = $15, body = $16 \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.0)
    .bind(r.id)
    .bind(r.section_id)
    .bind(r.author_id.0)
    .bind(r.title.clone())
    .bind(r.locale.clone())
    .bind(i64::from(r.draft))
    .bind(i64::from(r.promoted))
    .bind(r.position)
    .bind(i64::from(r.comments_disabled))
    .bind(r.label_names.clone())
    .bind(r.user_segment.clone())
    .bind(r.updated_at.0)
    .bind(r.edited_at.0)
    .bind(r.archived_at.map(|t| t.0))
    .bind(r.body.clone())
    .execute(c)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// An article (archived ones included: the caller decides who sees what).
pub async fn article_by_id(c: &mut Conn, tenant: TenantId, id: i64) -> Result<Option<ArticleRow>> {
    let sql = format!("SELECT {ARTICLE} FROM hc_articles WHERE tenant_id = $1 AND id = $2");
    let r = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id).fetch_optional(c).await?;
    r.as_ref().map(article).transpose()
}

/// Articles `reader` may read, by `filter` and locale, promoted first, then by position and
/// id; and how many there are. With [`ArticleFilter::Ids`], only those in `ids`.
pub async fn articles(
    c: &mut Conn,
    tenant: TenantId,
    reader: Reader,
    filter: ArticleFilter,
    ids: &[i64],
    locale: Option<&str>,
    page: Page,
) -> Result<(Vec<ArticleRow>, i64)> {
    let (by, value) = match filter {
        ArticleFilter::All | ArticleFilter::Ids => ("$2 = 0", 0),
        ArticleFilter::Promoted => ("promoted = 1 AND $2 = 0", 0),
        ArticleFilter::Section(s) => ("section_id = $2", s),
        ArticleFilter::Category(cat) => ("section_id IN (SELECT id FROM hc_sections WHERE tenant_id = $1 AND category_id = $2)", cat),
        ArticleFilter::Author(u) => ("author_id = $2", u.0),
    };
    let ids_cond = if matches!(filter, ArticleFilter::Ids) {
        if ids.is_empty() {
            return Ok((Vec::new(), 0));
        }
        // Ids are integers formatted here, never text from a request.
        let list: Vec<String> = ids.iter().take(10_000).map(i64::to_string).collect();
        format!(" AND id IN ({})", list.join(", "))
    } else {
        String::new()
    };
    let cond = format!("tenant_id = $1 AND {by} AND ($3 = '' OR locale = $3) AND {}{ids_cond}", reader.condition());
    let sql = format!(
        "SELECT {ARTICLE} FROM hc_articles WHERE {cond} AND id > $4 {} {}",
        page.order("promoted DESC, position, id"),
        page.sql()
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(value)
        .bind(locale.unwrap_or("").to_string())
        .bind(page.after.unwrap_or(0))
        .fetch_all(&mut *c)
        .await?;
    let count: i64 = if page.count {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM hc_articles WHERE {cond}")))
            .bind(tenant.0)
            .bind(value)
            .bind(locale.unwrap_or("").to_string())
            .fetch_one(c)
            .await?
    } else {
        -1
    };
    Ok((rows.iter().map(article).collect::<Result<_>>()?, count))
}

/// Every live article's id after `after` (a full re-index of the search index).
pub async fn article_ids(c: &mut Conn, tenant: TenantId, after: i64, limit: i64) -> Result<Vec<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM hc_articles WHERE tenant_id = $1 AND id > $2 AND archived_at IS NULL ORDER BY id LIMIT $3")
            .bind(tenant.0)
            .bind(after)
            .bind(limit)
            .fetch_all(c)
            .await?,
    )
}

/// Deletes an article with its comments, the votes on both and its subscriptions.
pub async fn delete_article(c: &mut Conn, tenant: TenantId, id: i64) -> Result<bool> {
    sqlx::query(
        "DELETE FROM hc_votes WHERE tenant_id = $1 AND item_type = 'Comment' \
         AND item_id IN (SELECT id FROM hc_article_comments WHERE tenant_id = $1 AND article_id = $2)",
    )
    .bind(tenant.0)
    .bind(id)
    .execute(&mut *c)
    .await?;
    sqlx::query("DELETE FROM hc_article_comments WHERE tenant_id = $1 AND article_id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(&mut *c)
        .await?;
    sqlx::query("DELETE FROM hc_votes WHERE tenant_id = $1 AND item_type = 'Article' AND item_id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(&mut *c)
        .await?;
    subscriptions_of_content_delete(&mut *c, tenant, "Article", id).await?;
    let done = sqlx::query("DELETE FROM hc_articles WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(c)
        .await?;
    Ok(done.rows_affected() > 0)
}

// ---- article comments ----

/// Inserts an article comment.
pub async fn insert_comment(c: &mut Conn, tenant: TenantId, r: &ArticleCommentRow) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO hc_article_comments (tenant_id, article_id, author_id, key_id, locale, created_at, updated_at, \
         non_author_editor_id, non_author_updated_at, body_enc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(tenant.0)
    .bind(r.article_id)
    .bind(r.author_id.0)
    .bind(r.key_id.map(|k| k.0))
    .bind(r.locale.clone())
    .bind(r.created_at.0)
    .bind(r.updated_at.0)
    .bind(r.non_author_editor_id.map(|u| u.0))
    .bind(r.non_author_updated_at.map(|t| t.0))
    .bind(r.body_enc.clone())
    .fetch_one(c)
    .await?)
}

/// Writes an article comment's body and edit marks.
pub async fn update_comment(c: &mut Conn, tenant: TenantId, r: &ArticleCommentRow) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE hc_article_comments SET key_id = $3, locale = $4, updated_at = $5, non_author_editor_id = $6, \
         non_author_updated_at = $7, body_enc = $8 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.0)
    .bind(r.id)
    .bind(r.key_id.map(|k| k.0))
    .bind(r.locale.clone())
    .bind(r.updated_at.0)
    .bind(r.non_author_editor_id.map(|u| u.0))
    .bind(r.non_author_updated_at.map(|t| t.0))
    .bind(r.body_enc.clone())
    .execute(c)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// An article comment.
pub async fn comment_by_id(c: &mut Conn, tenant: TenantId, id: i64) -> Result<Option<ArticleCommentRow>> {
    let sql = format!("SELECT {COMMENT} FROM hc_article_comments WHERE tenant_id = $1 AND id = $2");
    let r = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id).fetch_optional(c).await?;
    r.as_ref().map(comment).transpose()
}

/// Comments on an article (`Some`) or by a person (`None`, `author`), oldest first, and how many;
/// for anyone but staff, none by a person whose processing is restricted.
pub async fn comments(
    c: &mut Conn,
    tenant: TenantId,
    article: Option<i64>,
    author: Option<UserId>,
    reader: Reader,
    page: Page,
) -> Result<(Vec<ArticleCommentRow>, i64)> {
    let restricted = if reader == Reader::Staff {
        String::new()
    } else {
        format!(" AND {RESTRICTED_AUTHOR}")
    };
    let cond = format!("tenant_id = $1 AND ($2 = 0 OR article_id = $2) AND ($3 = 0 OR author_id = $3){restricted}");
    let sql = format!("SELECT {COMMENT} FROM hc_article_comments WHERE {cond} AND id > $4 ORDER BY id {}", page.sql());
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(article.unwrap_or(0))
        .bind(author.map_or(0, |a| a.0))
        .bind(page.after.unwrap_or(0))
        .fetch_all(&mut *c)
        .await?;
    let count: i64 = if page.count {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM hc_article_comments WHERE {cond}")))
            .bind(tenant.0)
            .bind(article.unwrap_or(0))
            .bind(author.map_or(0, |a| a.0))
            .fetch_one(c)
            .await?
    } else {
        -1
    };
    Ok((rows.iter().map(comment).collect::<Result<_>>()?, count))
}

/// Deletes an article comment and the votes on it.
pub async fn delete_comment(c: &mut Conn, tenant: TenantId, id: i64) -> Result<bool> {
    sqlx::query("DELETE FROM hc_votes WHERE tenant_id = $1 AND item_type = 'Comment' AND item_id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(&mut *c)
        .await?;
    let done = sqlx::query("DELETE FROM hc_article_comments WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(c)
        .await?;
    Ok(done.rows_affected() > 0)
}

// ---- votes ----

/// Sets a person's vote on an item (a second vote changes the first); the vote.
pub async fn vote(c: &mut Conn, tenant: TenantId, user: UserId, item_type: &str, item_id: i64, value: i64, now: Timestamp) -> Result<VoteRow> {
    let done = sqlx::query("UPDATE hc_votes SET value = $5, updated_at = $6 WHERE tenant_id = $1 AND item_type = $2 AND item_id = $3 AND user_id = $4")
        .bind(tenant.0)
        .bind(item_type.to_string())
        .bind(item_id)
        .bind(user.0)
        .bind(value)
        .bind(now.0)
        .execute(&mut *c)
        .await?;
    if done.rows_affected() == 0 {
        sqlx::query("INSERT INTO hc_votes (tenant_id, user_id, item_type, item_id, value, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)")
            .bind(tenant.0)
            .bind(user.0)
            .bind(item_type.to_string())
            .bind(item_id)
            .bind(value)
            .bind(now.0)
            .execute(&mut *c)
            .await?;
    }
    let sql = format!("SELECT {VOTE} FROM hc_votes WHERE tenant_id = $1 AND item_type = $2 AND item_id = $3 AND user_id = $4");
    let r = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(item_type.to_string())
        .bind(item_id)
        .bind(user.0)
        .fetch_one(c)
        .await?;
    vote_row(&r)
}

/// A vote.
pub async fn vote_by_id(c: &mut Conn, tenant: TenantId, id: i64) -> Result<Option<VoteRow>> {
    let sql = format!("SELECT {VOTE} FROM hc_votes WHERE tenant_id = $1 AND id = $2");
    let r = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id).fetch_optional(c).await?;
    r.as_ref().map(vote_row).transpose()
}

/// Votes on an item (`item`) or by a person (`user`), by id, and how many.
pub async fn votes(c: &mut Conn, tenant: TenantId, item: Option<(&str, i64)>, user: Option<UserId>, page: Page) -> Result<(Vec<VoteRow>, i64)> {
    let cond = "tenant_id = $1 AND ($2 = '' OR (item_type = $2 AND item_id = $3)) AND ($4 = 0 OR user_id = $4)";
    let (ty, id) = item.map_or((String::new(), 0), |(t, i)| (t.to_string(), i));
    let sql = format!("SELECT {VOTE} FROM hc_votes WHERE {cond} AND id > $5 ORDER BY id {}", page.sql());
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(ty.clone())
        .bind(id)
        .bind(user.map_or(0, |u| u.0))
        .bind(page.after.unwrap_or(0))
        .fetch_all(&mut *c)
        .await?;
    let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM hc_votes WHERE {cond}")))
        .bind(tenant.0)
        .bind(ty)
        .bind(id)
        .bind(user.map_or(0, |u| u.0))
        .fetch_one(c)
        .await?;
    Ok((rows.iter().map(vote_row).collect::<Result<_>>()?, count))
}

/// Deletes the votes on comments that no longer exist (after an erasure deleted a person's
/// comments, the votes others gave them); how many went.
pub async fn remove_dangling_votes(c: &mut Conn, tenant: TenantId) -> Result<u64> {
    let mut n = 0;
    for (kind, table) in [("Comment", "hc_article_comments"), ("PostComment", "hc_post_comments")] {
        let sql = format!(
            "DELETE FROM hc_votes WHERE tenant_id = $1 AND item_type = '{kind}' \
             AND NOT EXISTS (SELECT 1 FROM {table} x WHERE x.tenant_id = $1 AND x.id = hc_votes.item_id)"
        );
        n += sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).execute(&mut *c).await?.rows_affected();
    }
    Ok(n)
}

/// Deletes a vote.
pub async fn delete_vote(c: &mut Conn, tenant: TenantId, id: i64) -> Result<bool> {
    let done = sqlx::query("DELETE FROM hc_votes WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(c)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// (sum, count) of the votes on each of `ids` of `item_type`; items without votes are absent.
pub async fn vote_totals(c: &mut Conn, tenant: TenantId, item_type: &str, ids: &[i64]) -> Result<BTreeMap<i64, (i64, i64)>> {
    let mut out = BTreeMap::new();
    for piece in crate::ids::pieces(ids) {
        let sql = format!(
            "SELECT item_id, CAST(SUM(value) AS BIGINT), COUNT(*) FROM hc_votes WHERE tenant_id = $1 AND item_type = $2 \
             AND item_id IN ({}) GROUP BY item_id",
            crate::ids::marks(3, piece.len())
        );
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(item_type.to_string());
        for id in crate::ids::padded(&piece) {
            q = q.bind(id);
        }
        let rows: Vec<(i64, i64, i64)> = q.fetch_all(&mut *c).await?;
        out.extend(rows.into_iter().map(|(id, sum, n)| (id, (sum, n))));
    }
    Ok(out)
}

// ---- subscriptions ----

/// Subscribes a person to content; an existing subscription is returned unchanged, with
/// `false` (nothing new).
pub async fn subscribe(c: &mut Conn, tenant: TenantId, r: &SubscriptionRow) -> Result<(SubscriptionRow, bool)> {
    if let Some(existing) = subscription_of(&mut *c, tenant, r.user_id, &r.content_type, r.content_id).await? {
        return Ok((existing, false));
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO hc_subscriptions (tenant_id, user_id, content_type, content_id, source_locale, include_comments, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(tenant.0)
    .bind(r.user_id.0)
    .bind(r.content_type.clone())
    .bind(r.content_id)
    .bind(r.source_locale.clone())
    .bind(i64::from(r.include_comments))
    .bind(r.created_at.0)
    .bind(r.updated_at.0)
    .fetch_one(&mut *c)
    .await?;
    let mut row = r.clone();
    row.id = id;
    Ok((row, true))
}

async fn subscription_of(c: &mut Conn, tenant: TenantId, user: UserId, content_type: &str, content_id: i64) -> Result<Option<SubscriptionRow>> {
    let sql = format!("SELECT {SUBSCRIPTION} FROM hc_subscriptions WHERE tenant_id = $1 AND content_type = $2 AND content_id = $3 AND user_id = $4");
    let r = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(content_type.to_string())
        .bind(content_id)
        .bind(user.0)
        .fetch_optional(c)
        .await?;
    r.as_ref().map(subscription).transpose()
}

/// A subscription.
pub async fn subscription_by_id(c: &mut Conn, tenant: TenantId, id: i64) -> Result<Option<SubscriptionRow>> {
    let sql = format!("SELECT {SUBSCRIPTION} FROM hc_subscriptions WHERE tenant_id = $1 AND id = $2");
    let r = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id).fetch_optional(c).await?;
    r.as_ref().map(subscription).transpose()
}

/// Subscriptions to content (`content`) or of a person (`user`), by id, and how many.
pub async fn subscriptions(
    c: &mut Conn,
    tenant: TenantId,
    content: Option<(&str, i64)>,
    user: Option<UserId>,
    page: Page,
) -> Result<(Vec<SubscriptionRow>, i64)> {
    let cond = "tenant_id = $1 AND ($2 = '' OR (content_type = $2 AND content_id = $3)) AND ($4 = 0 OR user_id = $4)";
    let (ty, id) = content.map_or((String::new(), 0), |(t, i)| (t.to_string(), i));
    let sql = format!(
        "SELECT {SUBSCRIPTION} FROM hc_subscriptions WHERE {cond} AND id > $5 ORDER BY id {}",
        page.sql()
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(ty.clone())
        .bind(id)
        .bind(user.map_or(0, |u| u.0))
        .bind(page.after.unwrap_or(0))
        .fetch_all(&mut *c)
        .await?;
    let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM hc_subscriptions WHERE {cond}")))
        .bind(tenant.0)
        .bind(ty)
        .bind(id)
        .bind(user.map_or(0, |u| u.0))
        .fetch_one(c)
        .await?;
    Ok((rows.iter().map(subscription).collect::<Result<_>>()?, count))
}

/// Deletes a subscription.
pub async fn delete_subscription(c: &mut Conn, tenant: TenantId, id: i64) -> Result<bool> {
    let done = sqlx::query("DELETE FROM hc_subscriptions WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(c)
        .await?;
    Ok(done.rows_affected() > 0)
}

async fn subscriptions_of_content_delete(c: &mut Conn, tenant: TenantId, content_type: &str, id: i64) -> Result<u64> {
    Ok(
        sqlx::query("DELETE FROM hc_subscriptions WHERE tenant_id = $1 AND content_type = $2 AND content_id = $3")
            .bind(tenant.0)
            .bind(content_type.to_string())
            .bind(id)
            .execute(c)
            .await?
            .rows_affected(),
    )
}

/// The people following an article (and the section it is in, with comments included), for
/// the notice of a new comment; never `except` (the comment's author).
pub async fn comment_followers(c: &mut Conn, tenant: TenantId, article: i64, section: i64, except: UserId) -> Result<Vec<UserId>> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT user_id FROM hc_subscriptions WHERE tenant_id = $1 AND user_id <> $4 AND \
         ((content_type = 'Article' AND content_id = $2) OR (content_type = 'Section' AND content_id = $3 AND include_comments = 1)) \
         ORDER BY user_id",
    )
    .bind(tenant.0)
    .bind(article)
    .bind(section)
    .bind(except.0)
    .fetch_all(c)
    .await?;
    Ok(ids.into_iter().map(UserId).collect())
}

/// The people following a section, for the notice of a new article; never `except`.
pub async fn section_followers(c: &mut Conn, tenant: TenantId, section: i64, except: UserId) -> Result<Vec<UserId>> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT user_id FROM hc_subscriptions WHERE tenant_id = $1 AND user_id <> $3 AND content_type = 'Section' \
         AND content_id = $2 ORDER BY user_id",
    )
    .bind(tenant.0)
    .bind(section)
    .bind(except.0)
    .fetch_all(c)
    .await?;
    Ok(ids.into_iter().map(UserId).collect())
}
