//! The community: topics (the tenant's, plain), posts and post comments (what people write,
//! sealed under the author's key). Votes and subscriptions live in the help center's tables
//! with item types `Post` and `PostComment`, content types `Post` and `Topic`.

use std::collections::BTreeMap;

use crate::Conn;
use suoja_core::{KeyId, TenantId, Timestamp, UserId};

use crate::Result;
use crate::help_center::{Page, RESTRICTED_AUTHOR, Reader};
use crate::row::{bool_, i64_, opt_bytes, opt_i64, opt_text, text};

/// A topic as stored.
#[derive(Debug, Clone)]
pub struct TopicRow {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Order among topics.
    pub position: i64,
    /// Who may read it and its posts: `None` everyone, `signed_in` or `staff`.
    pub user_segment: Option<String>,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

/// A post as stored.
#[derive(Debug, Clone)]
pub struct PostRow {
    /// Id.
    pub id: i64,
    /// Its topic.
    pub topic_id: i64,
    /// Who wrote it.
    pub author_id: UserId,
    /// The key its title and details are sealed under (the author's); `None` for a tombstone.
    pub key_id: Option<KeyId>,
    /// `none`, `planned`, `not_planned`, `completed` or `answered`.
    pub status: String,
    /// Featured by staff.
    pub featured: bool,
    /// Pinned to the top of its topic by staff.
    pub pinned: bool,
    /// Closed for comments by staff.
    pub closed: bool,
    /// Hidden by a moderator: only staff see it.
    pub hidden: bool,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
    /// Staff who last edited it, when not its author.
    pub non_author_editor_id: Option<UserId>,
    /// When they did.
    pub non_author_updated_at: Option<Timestamp>,
    /// Sealed title; `None` for a tombstone.
    pub title_enc: Option<Vec<u8>>,
    /// Sealed sanitised HTML; `None` for a tombstone.
    pub details_enc: Option<Vec<u8>>,
}

/// A post comment as stored.
#[derive(Debug, Clone)]
pub struct PostCommentRow {
    /// Id.
    pub id: i64,
    /// Its post.
    pub post_id: i64,
    /// Who wrote it.
    pub author_id: UserId,
    /// The key `body_enc` is sealed under; `None` for a tombstone.
    pub key_id: Option<KeyId>,
    /// Marked by staff as the official answer.
    pub official: bool,
    /// Hidden by a moderator.
    pub hidden: bool,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
    /// Staff who last edited it, when not its author.
    pub non_author_editor_id: Option<UserId>,
    /// When they did.
    pub non_author_updated_at: Option<Timestamp>,
    /// Sealed sanitised HTML; `None` for a tombstone.
    pub body_enc: Option<Vec<u8>>,
}

/// Which posts a list holds.
#[derive(Debug, Clone, Copy)]
pub enum PostFilter {
    /// Every post.
    All,
    /// A topic's.
    Topic(i64),
    /// A person's.
    Author(UserId),
}

/// How posts are ordered (newest first in each; pinned posts first in a topic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostSort {
    /// By creation.
    Created,
    /// By last change (also Zendesk's `edited_at` and `recent_activity`).
    Updated,
    /// By the sum of votes.
    Votes,
    /// By how many comments everyone may read.
    Comments,
}

impl PostSort {
    fn sql(self) -> &'static str {
        match self {
            PostSort::Created => "created_at DESC, id DESC",
            PostSort::Updated => "updated_at DESC, id DESC",
            PostSort::Votes => {
                "(SELECT COALESCE(SUM(v.value), 0) FROM hc_votes v WHERE v.tenant_id = hc_posts.tenant_id AND v.item_type = 'Post' AND v.item_id = hc_posts.id) DESC, id DESC"
            }
            // The comments everyone may read: hidden ones and restricted people's do not count,
            // so the order tells no one of them.
            PostSort::Comments => {
                "(SELECT COUNT(*) FROM hc_post_comments pc WHERE pc.tenant_id = hc_posts.tenant_id AND pc.post_id = hc_posts.id AND pc.hidden = 0 \
                 AND pc.author_id NOT IN (SELECT u.id FROM users u WHERE u.tenant_id = hc_posts.tenant_id AND u.restricted = 1)) DESC, id DESC"
            }
        }
    }
}

const TOPIC: &str = "id, name, description, position, user_segment, created_at, updated_at";
const POST: &str = "id, topic_id, author_id, key_id, status, featured, pinned, closed, hidden, created_at, updated_at, non_author_editor_id, non_author_updated_at, title_enc, details_enc";
const COMMENT: &str = "id, post_id, author_id, key_id, official, hidden, created_at, updated_at, non_author_editor_id, non_author_updated_at, body_enc";

fn topic(r: &sqlx::any::AnyRow) -> Result<TopicRow> {
    Ok(TopicRow {
        id: i64_(r, "id")?,
        name: text(r, "name")?,
        description: text(r, "description")?,
        position: i64_(r, "position")?,
        user_segment: opt_text(r, "user_segment")?,
        created_at: Timestamp(i64_(r, "created_at")?),
        updated_at: Timestamp(i64_(r, "updated_at")?),
    })
}

fn post(r: &sqlx::any::AnyRow) -> Result<PostRow> {
    Ok(PostRow {
        id: i64_(r, "id")?,
        topic_id: i64_(r, "topic_id")?,
        author_id: UserId(i64_(r, "author_id")?),
        key_id: opt_i64(r, "key_id")?.map(KeyId),
        status: text(r, "status")?,
        featured: bool_(r, "featured")?,
        pinned: bool_(r, "pinned")?,
        closed: bool_(r, "closed")?,
        hidden: bool_(r, "hidden")?,
        created_at: Timestamp(i64_(r, "created_at")?),
        updated_at: Timestamp(i64_(r, "updated_at")?),
        non_author_editor_id: opt_i64(r, "non_author_editor_id")?.map(UserId),
        non_author_updated_at: opt_i64(r, "non_author_updated_at")?.map(Timestamp),
        title_enc: opt_bytes(r, "title_enc")?,
        details_enc: opt_bytes(r, "details_enc")?,
    })
}

fn comment(r: &sqlx::any::AnyRow) -> Result<PostCommentRow> {
    Ok(PostCommentRow {
        id: i64_(r, "id")?,
        post_id: i64_(r, "post_id")?,
        author_id: UserId(i64_(r, "author_id")?),
        key_id: opt_i64(r, "key_id")?.map(KeyId),
        official: bool_(r, "official")?,
        hidden: bool_(r, "hidden")?,
        created_at: Timestamp(i64_(r, "created_at")?),
        updated_at: Timestamp(i64_(r, "updated_at")?),
        non_author_editor_id: opt_i64(r, "non_author_editor_id")?.map(UserId),
        non_author_updated_at: opt_i64(r, "non_author_updated_at")?.map(Timestamp),
        body_enc: opt_bytes(r, "body_enc")?,
    })
}

/// The condition on a topic row (`t.`) for `reader`.
fn topic_condition(reader: Reader) -> &'static str {
    match reader {
        Reader::Staff => "1 = 1",
        Reader::SignedIn => "(t.user_segment IS NULL OR t.user_segment = 'signed_in')",
        Reader::Anonymous => "t.user_segment IS NULL",
    }
}

/// Whether `reader` may read `t` (the same rule as the lists).
pub fn may_read_topic(reader: Reader, t: &TopicRow) -> bool {
    match reader {
        Reader::Staff => true,
        Reader::SignedIn => t.user_segment.as_deref().is_none_or(|s| s == "signed_in"),
        Reader::Anonymous => t.user_segment.is_none(),
    }
}

// ---- topics ----

/// Inserts a topic.
pub async fn insert_topic(c: &mut Conn, tenant: TenantId, r: &TopicRow) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO hc_topics (tenant_id, name, description, position, user_segment, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(tenant.0)
    .bind(r.name.clone())
    .bind(r.description.clone())
    .bind(r.position)
    .bind(r.user_segment.clone())
    .bind(r.created_at.0)
    .bind(r.updated_at.0)
    .fetch_one(c)
    .await?)
}

/// Writes a topic's fields.
pub async fn update_topic(c: &mut Conn, tenant: TenantId, r: &TopicRow) -> Result<bool> {
    let done =
        sqlx::query("UPDATE hc_topics SET name = $3, description = $4, position = $5, user_segment = $6, updated_at = $7 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0)
            .bind(r.id)
            .bind(r.name.clone())
            .bind(r.description.clone())
            .bind(r.position)
            .bind(r.user_segment.clone())
            .bind(r.updated_at.0)
            .execute(c)
            .await?;
    Ok(done.rows_affected() > 0)
}

/// A topic.
pub async fn topic_by_id(c: &mut Conn, tenant: TenantId, id: i64) -> Result<Option<TopicRow>> {
    let sql = format!("SELECT {TOPIC} FROM hc_topics WHERE tenant_id = $1 AND id = $2");
    let r = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id).fetch_optional(c).await?;
    r.as_ref().map(topic).transpose()
}

/// Topics `reader` may read, by position, and how many.
pub async fn topics(c: &mut Conn, tenant: TenantId, reader: Reader, page: Page) -> Result<(Vec<TopicRow>, i64)> {
    let cond = format!("t.tenant_id = $1 AND {}", topic_condition(reader));
    let order = if page.cursor { "t.id" } else { "t.position, t.id" };
    let sql = format!(
        "SELECT {} FROM hc_topics t WHERE {cond} AND t.id > $2 ORDER BY {order} LIMIT {} OFFSET {}",
        TOPIC.split(", ").map(|c| format!("t.{c}")).collect::<Vec<_>>().join(", "),
        page.limit.clamp(0, 1_001),
        page.offset.max(0)
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(page.after.unwrap_or(0))
        .fetch_all(&mut *c)
        .await?;
    let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM hc_topics t WHERE {cond}")))
        .bind(tenant.0)
        .fetch_one(c)
        .await?;
    Ok((rows.iter().map(topic).collect::<Result<_>>()?, count))
}

/// Deletes a topic with its posts and everything on them.
pub async fn delete_topic(c: &mut Conn, tenant: TenantId, id: i64) -> Result<bool> {
    let posts: Vec<i64> = sqlx::query_scalar("SELECT id FROM hc_posts WHERE tenant_id = $1 AND topic_id = $2")
        .bind(tenant.0)
        .bind(id)
        .fetch_all(&mut *c)
        .await?;
    for p in posts {
        delete_post(&mut *c, tenant, p).await?;
    }
    sqlx::query("DELETE FROM hc_subscriptions WHERE tenant_id = $1 AND content_type = 'Topic' AND content_id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(&mut *c)
        .await?;
    let done = sqlx::query("DELETE FROM hc_topics WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(c)
        .await?;
    Ok(done.rows_affected() > 0)
}

// ---- posts ----

/// Inserts a post.
pub async fn insert_post(c: &mut Conn, tenant: TenantId, r: &PostRow) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO hc_posts (tenant_id, topic_id, author_id, key_id, status, featured, pinned, closed, hidden, created_at, updated_at, \
         non_author_editor_id, non_author_updated_at, title_enc, details_enc) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
    )
    .bind(tenant.0)
    .bind(r.topic_id)
    .bind(r.author_id.0)
    .bind(r.key_id.map(|k| k.0))
    .bind(r.status.clone())
    .bind(i64::from(r.featured))
    .bind(i64::from(r.pinned))
    .bind(i64::from(r.closed))
    .bind(i64::from(r.hidden))
    .bind(r.created_at.0)
    .bind(r.updated_at.0)
    .bind(r.non_author_editor_id.map(|u| u.0))
    .bind(r.non_author_updated_at.map(|t| t.0))
    .bind(r.title_enc.clone())
    .bind(r.details_enc.clone())
    .fetch_one(c)
    .await?)
}

/// Writes a post's fields.
pub async fn update_post(c: &mut Conn, tenant: TenantId, r: &PostRow) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE hc_posts SET topic_id = $3, status = $4, featured = $5, pinned = $6, closed = $7, hidden = $8, updated_at = $9, \
         non_author_editor_id = $10, non_author_updated_at = $11, title_enc = $12, details_enc = $13 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.0)
    .bind(r.id)
    .bind(r.topic_id)
    .bind(r.status.clone())
    .bind(i64::from(r.featured))
    .bind(i64::from(r.pinned))
    .bind(i64::from(r.closed))
    .bind(i64::from(r.hidden))
    .bind(r.updated_at.0)
    .bind(r.non_author_editor_id.map(|u| u.0))
    .bind(r.non_author_updated_at.map(|t| t.0))
    .bind(r.title_enc.clone())
    .bind(r.details_enc.clone())
    .execute(c)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// A post.
pub async fn post_by_id(c: &mut Conn, tenant: TenantId, id: i64) -> Result<Option<PostRow>> {
    let sql = format!("SELECT {POST} FROM hc_posts WHERE tenant_id = $1 AND id = $2");
    let r = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id).fetch_optional(c).await?;
    r.as_ref().map(post).transpose()
}

/// Posts `reader` may read (in topics they may read; hidden ones for staff only), by `filter`
/// and `status` (Zendesk's `filter_by`), pinned first, in `sort` order; and how many.
pub async fn posts(
    c: &mut Conn,
    tenant: TenantId,
    reader: Reader,
    filter: PostFilter,
    status: Option<&str>,
    sort: PostSort,
    page: Page,
) -> Result<(Vec<PostRow>, i64)> {
    let (by, value) = match filter {
        PostFilter::All => ("$2 = 0", 0),
        PostFilter::Topic(t) => ("topic_id = $2", t),
        PostFilter::Author(u) => ("author_id = $2", u.0),
    };
    let hidden = if reader == Reader::Staff {
        String::new()
    } else {
        format!(" AND hidden = 0 AND {RESTRICTED_AUTHOR}")
    };
    let cond = format!(
        "tenant_id = $1 AND {by} AND ($3 = '' OR status = $3){hidden} AND topic_id IN (SELECT t.id FROM hc_topics t WHERE t.tenant_id = $1 AND {})",
        topic_condition(reader)
    );
    let order = if page.cursor {
        "id".to_string()
    } else if matches!(filter, PostFilter::Topic(_)) {
        format!("pinned DESC, {}", sort.sql())
    } else {
        sort.sql().to_string()
    };
    let sql = format!(
        "SELECT {POST} FROM hc_posts WHERE {cond} AND id > $4 ORDER BY {order} LIMIT {} OFFSET {}",
        page.limit.clamp(0, 1_001),
        page.offset.max(0)
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(value)
        .bind(status.unwrap_or("").to_string())
        .bind(page.after.unwrap_or(0))
        .fetch_all(&mut *c)
        .await?;
    let count: i64 = if page.count {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM hc_posts WHERE {cond}")))
            .bind(tenant.0)
            .bind(value)
            .bind(status.unwrap_or("").to_string())
            .fetch_one(c)
            .await?
    } else {
        -1
    };
    Ok((rows.iter().map(post).collect::<Result<_>>()?, count))
}

/// Deletes a post with its comments, the votes on both and its subscriptions.
pub async fn delete_post(c: &mut Conn, tenant: TenantId, id: i64) -> Result<bool> {
    sqlx::query(
        "DELETE FROM hc_votes WHERE tenant_id = $1 AND item_type = 'PostComment' \
         AND item_id IN (SELECT id FROM hc_post_comments WHERE tenant_id = $1 AND post_id = $2)",
    )
    .bind(tenant.0)
    .bind(id)
    .execute(&mut *c)
    .await?;
    for sql in [
        "DELETE FROM hc_post_comments WHERE tenant_id = $1 AND post_id = $2",
        "DELETE FROM hc_votes WHERE tenant_id = $1 AND item_type = 'Post' AND item_id = $2",
        "DELETE FROM hc_subscriptions WHERE tenant_id = $1 AND content_type = 'Post' AND content_id = $2",
    ] {
        sqlx::query(sql).bind(tenant.0).bind(id).execute(&mut *c).await?;
    }
    let done = sqlx::query("DELETE FROM hc_posts WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(c)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// How many comments (staff: all; others: those not hidden) each of `posts` has.
pub async fn comment_counts(c: &mut Conn, tenant: TenantId, posts: &[i64], staff: bool) -> Result<BTreeMap<i64, i64>> {
    let mut out = BTreeMap::new();
    for piece in crate::ids::pieces(posts) {
        let hidden = if staff {
            String::new()
        } else {
            format!(" AND hidden = 0 AND {RESTRICTED_AUTHOR}")
        };
        let sql = format!(
            "SELECT post_id, COUNT(*) FROM hc_post_comments WHERE tenant_id = $1 AND post_id IN ({}){hidden} GROUP BY post_id",
            crate::ids::marks(2, piece.len())
        );
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant.0);
        for id in crate::ids::padded(&piece) {
            q = q.bind(id);
        }
        let rows: Vec<(i64, i64)> = q.fetch_all(&mut *c).await?;
        out.extend(rows);
    }
    Ok(out)
}

// ---- post comments ----

/// Inserts a post comment.
pub async fn insert_comment(c: &mut Conn, tenant: TenantId, r: &PostCommentRow) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO hc_post_comments (tenant_id, post_id, author_id, key_id, official, hidden, created_at, updated_at, \
         non_author_editor_id, non_author_updated_at, body_enc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(tenant.0)
    .bind(r.post_id)
    .bind(r.author_id.0)
    .bind(r.key_id.map(|k| k.0))
    .bind(i64::from(r.official))
    .bind(i64::from(r.hidden))
    .bind(r.created_at.0)
    .bind(r.updated_at.0)
    .bind(r.non_author_editor_id.map(|u| u.0))
    .bind(r.non_author_updated_at.map(|t| t.0))
    .bind(r.body_enc.clone())
    .fetch_one(c)
    .await?)
}

/// Writes a post comment's fields.
pub async fn update_comment(c: &mut Conn, tenant: TenantId, r: &PostCommentRow) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE hc_post_comments SET official = $3, hidden = $4, updated_at = $5, non_author_editor_id = $6, \
         non_author_updated_at = $7, body_enc = $8 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.0)
    .bind(r.id)
    .bind(i64::from(r.official))
    .bind(i64::from(r.hidden))
    .bind(r.updated_at.0)
    .bind(r.non_author_editor_id.map(|u| u.0))
    .bind(r.non_author_updated_at.map(|t| t.0))
    .bind(r.body_enc.clone())
    .execute(c)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// A post comment.
pub async fn comment_by_id(c: &mut Conn, tenant: TenantId, id: i64) -> Result<Option<PostCommentRow>> {
    let sql = format!("SELECT {COMMENT} FROM hc_post_comments WHERE tenant_id = $1 AND id = $2");
    let r = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id).fetch_optional(c).await?;
    r.as_ref().map(comment).transpose()
}

/// Comments on a post (`Some`) or by a person, oldest first (hidden ones, and those by people
/// whose processing is restricted, only with `with_hidden`: for staff), and how many.
pub async fn comments(
    c: &mut Conn,
    tenant: TenantId,
    post: Option<i64>,
    author: Option<UserId>,
    with_hidden: bool,
    page: Page,
) -> Result<(Vec<PostCommentRow>, i64)> {
    let hidden = if with_hidden {
        String::new()
    } else {
        format!(" AND hidden = 0 AND {RESTRICTED_AUTHOR}")
    };
    let cond = format!("tenant_id = $1 AND ($2 = 0 OR post_id = $2) AND ($3 = 0 OR author_id = $3){hidden}");
    let sql = format!(
        "SELECT {COMMENT} FROM hc_post_comments WHERE {cond} AND id > $4 ORDER BY id LIMIT {} OFFSET {}",
        page.limit.clamp(0, 1_001),
        page.offset.max(0)
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(post.unwrap_or(0))
        .bind(author.map_or(0, |a| a.0))
        .bind(page.after.unwrap_or(0))
        .fetch_all(&mut *c)
        .await?;
    let count: i64 = if page.count {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM hc_post_comments WHERE {cond}")))
            .bind(tenant.0)
            .bind(post.unwrap_or(0))
            .bind(author.map_or(0, |a| a.0))
            .fetch_one(c)
            .await?
    } else {
        -1
    };
    Ok((rows.iter().map(comment).collect::<Result<_>>()?, count))
}

/// Deletes a post comment and the votes on it.
pub async fn delete_comment(c: &mut Conn, tenant: TenantId, id: i64) -> Result<bool> {
    sqlx::query("DELETE FROM hc_votes WHERE tenant_id = $1 AND item_type = 'PostComment' AND item_id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(&mut *c)
        .await?;
    let done = sqlx::query("DELETE FROM hc_post_comments WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(c)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// The people following a post or its topic, for the notice of a new comment; never `except`.
pub async fn post_followers(c: &mut Conn, tenant: TenantId, post: i64, topic: i64, except: UserId) -> Result<Vec<UserId>> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT user_id FROM hc_subscriptions WHERE tenant_id = $1 AND user_id <> $4 AND \
         ((content_type = 'Post' AND content_id = $2) OR (content_type = 'Topic' AND content_id = $3 AND include_comments = 1)) \
         ORDER BY user_id",
    )
    .bind(tenant.0)
    .bind(post)
    .bind(topic)
    .bind(except.0)
    .fetch_all(c)
    .await?;
    Ok(ids.into_iter().map(UserId).collect())
}

/// The people following a topic, for the notice of a new post; never `except`.
pub async fn topic_followers(c: &mut Conn, tenant: TenantId, topic: i64, except: UserId) -> Result<Vec<UserId>> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT user_id FROM hc_subscriptions WHERE tenant_id = $1 AND user_id <> $3 AND content_type = 'Topic' \
         AND content_id = $2 ORDER BY user_id",
    )
    .bind(tenant.0)
    .bind(topic)
    .bind(except.0)
    .fetch_all(c)
    .await?;
    Ok(ids.into_iter().map(UserId).collect())
}
