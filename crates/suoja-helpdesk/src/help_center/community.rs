//! The community: topics staff create, posts and comments people write in them, and the
//! moderation staff do (status, featured, pinned, closed, hidden, official answers).
//!
//! Who reads what: a topic and its posts are read by everyone, signed-in people or staff (the
//! topic's user segment); a hidden post or comment only by staff. A post's title and details
//! and a comment's body are sealed under the author's key, so erasing the author leaves
//! tombstones (or nothing, as the tenant chose) and the threads keep their shape.

use std::collections::BTreeMap;

use suoja_core::{Personal, Scope, TenantId, Timestamp, UserId};
use suoja_store::Conn;
use suoja_store::community::{self as store, PostCommentRow, PostFilter, PostRow, PostSort, TopicRow};
use suoja_store::help_center::{self as hc_store, Page, Reader};

use super::{NAME, Notice, TITLE, blank, comment_html, invalid, kinds, name, reader, segment};
use crate::{Helpdesk, HelpdeskError, Result, require_staff};

/// The statuses a post can have (Zendesk's `status`).
pub const STATUSES: &[&str] = &["none", "planned", "not_planned", "completed", "answered"];

/// Fields of a topic; `None` leaves a field as it is (or takes its default).
#[derive(Debug, Clone, Default)]
pub struct TopicInput {
    /// Name.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Order.
    pub position: Option<i64>,
    /// `Some(None)`: everyone; `Some(Some(id))`: one of the segments.
    pub user_segment_id: Option<Option<i64>>,
}

/// Fields of a post; `None` leaves a field as it is (or takes its default).
#[derive(Debug, Clone, Default)]
pub struct PostInput {
    /// Title.
    pub title: Option<String>,
    /// HTML details (sanitised here).
    pub details: Option<String>,
    /// Its topic (required to create; staff may move a post).
    pub topic_id: Option<i64>,
    /// Written on someone's behalf (staff only).
    pub author_id: Option<i64>,
    /// Status (staff only).
    pub status: Option<String>,
    /// Featured (staff only).
    pub featured: Option<bool>,
    /// Pinned (staff only).
    pub pinned: Option<bool>,
    /// Closed for comments (staff only).
    pub closed: Option<bool>,
    /// Hidden by a moderator (staff only).
    pub hidden: Option<bool>,
    /// Back-dated (staff only, for imports; creating only).
    pub created_at: Option<Timestamp>,
}

/// Fields of a post comment.
#[derive(Debug, Clone, Default)]
pub struct PostCommentInput {
    /// HTML body (sanitised here).
    pub body: Option<String>,
    /// Written on someone's behalf (staff only).
    pub author_id: Option<i64>,
    /// The official answer (staff only).
    pub official: Option<bool>,
    /// Hidden by a moderator (staff only).
    pub hidden: Option<bool>,
    /// Back-dated (staff only, for imports).
    pub created_at: Option<Timestamp>,
}

/// A post, opened, with its counts.
#[derive(Debug, Clone)]
pub struct PostView {
    /// As stored.
    pub row: PostRow,
    /// Title; `None` for a tombstone.
    pub title: Option<Personal<String>>,
    /// Details; `None` for a tombstone.
    pub details: Option<Personal<String>>,
    /// Sum of the votes.
    pub vote_sum: i64,
    /// How many voted.
    pub vote_count: i64,
    /// How many comments the reader sees.
    pub comment_count: i64,
}

/// A post comment, opened, with its votes.
#[derive(Debug, Clone)]
pub struct PostCommentView {
    /// As stored.
    pub row: PostCommentRow,
    /// Body; `None` for a tombstone.
    pub body: Option<Personal<String>>,
    /// Sum of the votes.
    pub vote_sum: i64,
    /// How many voted.
    pub vote_count: i64,
}

fn status(s: &str) -> Result<String> {
    let s = s.trim().to_ascii_lowercase();
    if STATUSES.contains(&s.as_str()) {
        Ok(s)
    } else {
        Err(invalid("status", "Status: must be one of none, planned, not_planned, completed, answered"))
    }
}

fn staff_only(scope: &Scope, set: bool, what: &'static str) -> Result<()> {
    if set && !scope.is_staff() {
        return Err(HelpdeskError::Forbidden(what));
    }
    Ok(())
}

impl Helpdesk {
    // ---- topics ----

    /// Creates a topic (staff).
    pub async fn create_topic(&self, scope: &Scope, input: &TopicInput) -> Result<TopicRow> {
        require_staff(scope)?;
        let now = self.now();
        let mut row = TopicRow {
            id: 0,
            name: name(NAME, input.name.as_deref().unwrap_or(""))?,
            description: input.description.clone().unwrap_or_default(),
            position: input.position.unwrap_or(0),
            user_segment: segment(input.user_segment_id.flatten())?,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.db.begin().await?;
        row.id = store::insert_topic(&mut tx, scope.tenant, &row).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Changes a topic (staff).
    pub async fn update_topic(&self, scope: &Scope, id: i64, input: &TopicInput) -> Result<TopicRow> {
        require_staff(scope)?;
        let mut tx = self.db.begin().await?;
        let mut row = store::topic_by_id(&mut tx, scope.tenant, id).await?.ok_or(HelpdeskError::NotFound("Topic"))?;
        if let Some(n) = &input.name {
            row.name = name(NAME, n)?;
        }
        if let Some(d) = &input.description {
            row.description = d.clone();
        }
        if let Some(p) = input.position {
            row.position = p;
        }
        if let Some(s) = input.user_segment_id {
            row.user_segment = segment(s)?;
        }
        row.updated_at = self.now();
        store::update_topic(&mut tx, scope.tenant, &row).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Deletes a topic with its posts (staff).
    pub async fn delete_topic(&self, scope: &Scope, id: i64) -> Result<()> {
        require_staff(scope)?;
        let mut tx = self.db.begin().await?;
        if !store::delete_topic(&mut tx, scope.tenant, id).await? {
            return Err(HelpdeskError::NotFound("Topic"));
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn readable_topic(&self, c: &mut Conn, scope: &Scope, id: i64) -> Result<TopicRow> {
        store::topic_by_id(c, scope.tenant, id)
            .await?
            .filter(|t| store::may_read_topic(reader(scope), t))
            .ok_or(HelpdeskError::NotFound("Topic"))
    }

    pub(super) async fn topic_open_to_end_users(&self, c: &mut Conn, scope: &Scope, id: i64) -> Result<bool> {
        Ok(store::topic_by_id(c, scope.tenant, id)
            .await?
            .is_some_and(|t| store::may_read_topic(Reader::SignedIn, &t)))
    }

    /// A topic `scope` may read.
    pub async fn get_topic(&self, scope: &Scope, id: i64) -> Result<TopicRow> {
        let mut c = self.db.read().await?;
        self.readable_topic(&mut c, scope, id).await
    }

    /// Topics `scope` may read.
    pub async fn list_topics(&self, scope: &Scope, page: Page) -> Result<(Vec<TopicRow>, i64)> {
        let mut c = self.db.read().await?;
        Ok(store::topics(&mut c, scope.tenant, reader(scope), page).await?)
    }

    // ---- posts ----

    pub(super) async fn readable_post(&self, c: &mut Conn, scope: &Scope, id: i64) -> Result<PostRow> {
        let p = store::post_by_id(c, scope.tenant, id)
            .await?
            .filter(|p| scope.is_staff() || !p.hidden)
            .ok_or(HelpdeskError::NotFound("Post"))?;
        self.readable_topic(c, scope, p.topic_id).await.map_err(|_| HelpdeskError::NotFound("Post"))?;
        if self.hidden_by_restriction(c, scope, p.author_id).await? {
            return Err(HelpdeskError::NotFound("Post"));
        }
        Ok(p)
    }

    async fn open_posts(&self, c: &mut Conn, scope: &Scope, rows: Vec<PostRow>) -> Result<Vec<PostView>> {
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let votes = hc_store::vote_totals(c, scope.tenant, "Post", &ids).await?;
        let counts = store::comment_counts(c, scope.tenant, &ids, scope.is_staff()).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let title = self.open_sealed(c, scope.tenant, row.title_enc.as_deref()).await;
            let details = self.open_sealed(c, scope.tenant, row.details_enc.as_deref()).await;
            let (vote_sum, vote_count) = votes.get(&row.id).copied().unwrap_or((0, 0));
            let comment_count = counts.get(&row.id).copied().unwrap_or(0);
            out.push(PostView {
                row,
                title,
                details,
                vote_sum,
                vote_count,
                comment_count,
            });
        }
        Ok(out)
    }

    /// A sealed value opened; `None` when there is none or its key is gone (a tombstone).
    async fn open_sealed(&self, c: &mut Conn, tenant: TenantId, sealed: Option<&[u8]>) -> Option<Personal<String>> {
        match sealed {
            Some(b) => self.vault.decrypt_str(c, tenant, b).await.ok().map(Personal::new),
            None => None,
        }
    }

    /// Posts in a topic `scope` may read (anyone signed in); staff may write for someone else
    /// and set the moderation fields. Tells the topic's followers.
    pub async fn create_post(&self, scope: &Scope, input: &PostInput, notify: bool) -> Result<PostView> {
        super::signed_in(scope)?;
        staff_only(scope, input.author_id.is_some(), "only agents and admins can set a post's author")?;
        staff_only(scope, input.created_at.is_some(), "only agents and admins can back-date a post")?;
        let moderated = input.status.is_some() || input.featured.is_some() || input.pinned.is_some() || input.closed.is_some() || input.hidden.is_some();
        staff_only(
            scope,
            moderated,
            "only agents and admins can set a post's status, featured, pinned, closed or hidden",
        )?;
        let title = name(TITLE, input.title.as_deref().unwrap_or(""))?;
        let details = comment_html(input.details.as_deref().unwrap_or(""), false)?;
        let Some(topic_id) = input.topic_id else {
            return Err(blank("topic_id", "Topic: cannot be blank"));
        };
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let topic = self
            .readable_topic(&mut tx, scope, topic_id)
            .await
            .map_err(|_| invalid("topic_id", "Topic: no such topic"))?;
        let author = suoja_store::users::by_id(&mut tx, scope.tenant, UserId(input.author_id.unwrap_or(scope.actor.0)))
            .await?
            .filter(|u| u.deleted_at.is_none())
            .ok_or_else(|| invalid("author_id", "Author: no such user"))?;
        Self::author_may_read(&author, store::may_read_topic(Reader::SignedIn, &topic))?;
        let mut row = PostRow {
            id: 0,
            topic_id: topic.id,
            author_id: author.id,
            key_id: Some(author.key_id),
            status: input.status.as_deref().map(status).transpose()?.unwrap_or_else(|| "none".into()),
            featured: input.featured.unwrap_or(false),
            pinned: input.pinned.unwrap_or(false),
            closed: input.closed.unwrap_or(false),
            hidden: input.hidden.unwrap_or(false),
            created_at: input.created_at.unwrap_or(now),
            updated_at: input.created_at.unwrap_or(now),
            non_author_editor_id: None,
            non_author_updated_at: None,
            title_enc: Some(self.vault.encrypt_str(&mut tx, scope.tenant, author.key_id, &title).await?),
            details_enc: Some(self.vault.encrypt_str(&mut tx, scope.tenant, author.key_id, &details).await?),
        };
        row.id = store::insert_post(&mut tx, scope.tenant, &row).await?;
        if notify && !row.hidden {
            let to = store::topic_followers(&mut tx, scope.tenant, topic.id, author.id).await?;
            let notice = Notice {
                kind: kinds::POST,
                en: (
                    format!("New post in {}", topic.name),
                    format!("Someone posted in a topic you follow, “{}” (post number {}).\n", topic.name, row.id),
                ),
                fi: (
                    format!("Uusi viesti aiheessa {}", topic.name),
                    format!("Seuraamaasi aiheeseen ”{}” on kirjoitettu viesti (numero {}).\n", topic.name, row.id),
                ),
                end_users: store::may_read_topic(Reader::SignedIn, &topic),
            };
            self.tell_followers(&mut tx, scope.tenant, &to, &notice).await?;
        }
        tx.commit().await?;
        Ok(PostView {
            row,
            title: Some(Personal::new(title)),
            details: Some(Personal::new(details)),
            vote_sum: 0,
            vote_count: 0,
            comment_count: 0,
        })
    }

    /// Changes a post: its author may change its title and details; staff anything, and an
    /// edit by staff of someone's words is marked as theirs.
    pub async fn update_post(&self, scope: &Scope, id: i64, input: &PostInput) -> Result<PostView> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let mut row = self.readable_post(&mut tx, scope, id).await?;
        // A client sending the post back as it read it changes none of these: only a change
        // is staff's to make.
        let changes = |new: Option<bool>, old: bool| new.is_some_and(|n| n != old);
        staff_only(
            scope,
            input.author_id.is_some_and(|a| a != row.author_id.0),
            "only agents and admins can set a post's author",
        )?;
        let moderated = input.status.as_deref().is_some_and(|s| s.trim().to_ascii_lowercase() != row.status)
            || changes(input.featured, row.featured)
            || changes(input.pinned, row.pinned)
            || changes(input.closed, row.closed)
            || changes(input.hidden, row.hidden)
            || input.topic_id.is_some_and(|t| t != row.topic_id);
        staff_only(
            scope,
            moderated,
            "only agents and admins can set a post's status, featured, pinned, closed, hidden or topic",
        )?;
        if row.author_id != scope.actor && !scope.is_staff() {
            return Err(HelpdeskError::Forbidden("only the post's author and staff can change it"));
        }
        if input.title.is_some() || input.details.is_some() {
            let Some(key) = row.key_id.filter(|_| row.title_enc.is_some()) else {
                return Err(HelpdeskError::Conflict("the post was removed at its author's request".into()));
            };
            if let Some(t) = &input.title {
                let t = name(TITLE, t)?;
                row.title_enc = Some(self.vault.encrypt_str(&mut tx, scope.tenant, key, &t).await?);
            }
            if let Some(d) = &input.details {
                let d = comment_html(d, false)?;
                row.details_enc = Some(self.vault.encrypt_str(&mut tx, scope.tenant, key, &d).await?);
            }
            if row.author_id != scope.actor {
                row.non_author_editor_id = Some(scope.actor);
                row.non_author_updated_at = Some(now);
            }
        }
        if let Some(t) = input.topic_id {
            self.readable_topic(&mut tx, scope, t)
                .await
                .map_err(|_| invalid("topic_id", "Topic: no such topic"))?;
            row.topic_id = t;
        }
        if let Some(s) = &input.status {
            row.status = status(s)?;
        }
        row.featured = input.featured.unwrap_or(row.featured);
        row.pinned = input.pinned.unwrap_or(row.pinned);
        row.closed = input.closed.unwrap_or(row.closed);
        row.hidden = input.hidden.unwrap_or(row.hidden);
        row.updated_at = now;
        store::update_post(&mut tx, scope.tenant, &row).await?;
        let mut out = self.open_posts(&mut tx, scope, vec![row]).await?;
        tx.commit().await?;
        out.pop().ok_or(HelpdeskError::NotFound("Post"))
    }

    /// Deletes a post with its comments (its author, or staff).
    pub async fn delete_post(&self, scope: &Scope, id: i64) -> Result<()> {
        let mut tx = self.db.begin().await?;
        let row = self.readable_post(&mut tx, scope, id).await?;
        if row.author_id != scope.actor && !scope.is_staff() {
            return Err(HelpdeskError::Forbidden("only the post's author and staff can delete it"));
        }
        store::delete_post(&mut tx, scope.tenant, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A post `scope` may read.
    pub async fn get_post(&self, scope: &Scope, id: i64) -> Result<PostView> {
        let mut c = self.db.read().await?;
        let row = self.readable_post(&mut c, scope, id).await?;
        let mut out = self.open_posts(&mut c, scope, vec![row]).await?;
        out.pop().ok_or(HelpdeskError::NotFound("Post"))
    }

    /// Posts `scope` may read, by `filter` and `status`, in `sort` order (a topic or person that
    /// does not exist is not found).
    pub async fn list_posts(&self, scope: &Scope, filter: PostFilter, status_filter: Option<&str>, sort: PostSort, page: Page) -> Result<(Vec<PostView>, i64)> {
        let wanted = status_filter.map(status).transpose()?;
        let mut c = self.db.read().await?;
        match filter {
            PostFilter::Topic(t) => {
                self.readable_topic(&mut c, scope, t).await?;
            }
            PostFilter::Author(u) => {
                suoja_store::users::by_id(&mut c, scope.tenant, u)
                    .await?
                    .ok_or(HelpdeskError::NotFound("User"))?;
            }
            PostFilter::All => {}
        }
        let (rows, count) = store::posts(&mut c, scope.tenant, reader(scope), filter, wanted.as_deref(), sort, page).await?;
        Ok((self.open_posts(&mut c, scope, rows).await?, count))
    }

    // ---- post comments ----

    pub(super) async fn readable_post_comment(&self, c: &mut Conn, scope: &Scope, post: i64, id: i64) -> Result<PostCommentRow> {
        self.readable_post(c, scope, post).await?;
        let row = store::comment_by_id(c, scope.tenant, id)
            .await?
            .filter(|r| r.post_id == post && (scope.is_staff() || !r.hidden))
            .ok_or(HelpdeskError::NotFound("Comment"))?;
        if self.hidden_by_restriction(c, scope, row.author_id).await? {
            return Err(HelpdeskError::NotFound("Comment"));
        }
        Ok(row)
    }

    async fn open_post_comments(&self, c: &mut Conn, tenant: TenantId, rows: Vec<PostCommentRow>) -> Result<Vec<PostCommentView>> {
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let totals: BTreeMap<i64, (i64, i64)> = hc_store::vote_totals(c, tenant, "PostComment", &ids).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let body = self.open_sealed(c, tenant, row.body_enc.as_deref()).await;
            let (vote_sum, vote_count) = totals.get(&row.id).copied().unwrap_or((0, 0));
            out.push(PostCommentView {
                row,
                body,
                vote_sum,
                vote_count,
            });
        }
        Ok(out)
    }

    /// Comments on a post `scope` may read, oldest first.
    pub async fn list_post_comments(&self, scope: &Scope, post: i64, page: Page) -> Result<(Vec<PostCommentView>, i64)> {
        let mut c = self.db.read().await?;
        self.readable_post(&mut c, scope, post).await?;
        let (rows, count) = store::comments(&mut c, scope.tenant, Some(post), None, scope.is_staff(), page).await?;
        Ok((self.open_post_comments(&mut c, scope.tenant, rows).await?, count))
    }

    /// A person's post comments (their own, or anyone's for staff).
    pub async fn list_user_post_comments(&self, scope: &Scope, user: UserId, page: Page) -> Result<(Vec<PostCommentView>, i64)> {
        let mut c = self.db.read().await?;
        self.own_or_staff(&mut c, scope, user).await?;
        let (rows, count) = store::comments(&mut c, scope.tenant, None, Some(user), scope.is_staff(), page).await?;
        Ok((self.open_post_comments(&mut c, scope.tenant, rows).await?, count))
    }

    /// One comment on a post.
    pub async fn get_post_comment(&self, scope: &Scope, post: i64, id: i64) -> Result<PostCommentView> {
        let mut c = self.db.read().await?;
        let row = self.readable_post_comment(&mut c, scope, post, id).await?;
        let mut out = self.open_post_comments(&mut c, scope.tenant, vec![row]).await?;
        out.pop().ok_or(HelpdeskError::NotFound("Comment"))
    }

    /// Comments on a post (anyone who may read it, unless it is closed; staff always). Tells
    /// the post's followers.
    pub async fn create_post_comment(&self, scope: &Scope, post: i64, input: &PostCommentInput, notify: bool) -> Result<PostCommentView> {
        super::signed_in(scope)?;
        staff_only(
            scope,
            input.author_id.is_some() || input.created_at.is_some(),
            "only agents and admins can set a comment's author or time",
        )?;
        staff_only(
            scope,
            input.official.is_some() || input.hidden.is_some(),
            "only agents and admins can mark a comment official or hidden",
        )?;
        let body = comment_html(input.body.as_deref().unwrap_or(""), true)?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let p = self.readable_post(&mut tx, scope, post).await?;
        if p.closed && !scope.is_staff() {
            return Err(HelpdeskError::Conflict("the post is closed for comments".into()));
        }
        let author = suoja_store::users::by_id(&mut tx, scope.tenant, UserId(input.author_id.unwrap_or(scope.actor.0)))
            .await?
            .filter(|u| u.deleted_at.is_none())
            .ok_or_else(|| invalid("author_id", "Author: no such user"))?;
        let open = !p.hidden && self.topic_open_to_end_users(&mut tx, scope, p.topic_id).await?;
        Self::author_may_read(&author, open)?;
        let mut row = PostCommentRow {
            id: 0,
            post_id: p.id,
            author_id: author.id,
            key_id: Some(author.key_id),
            official: input.official.unwrap_or(false),
            hidden: input.hidden.unwrap_or(false),
            created_at: input.created_at.unwrap_or(now),
            updated_at: now,
            non_author_editor_id: None,
            non_author_updated_at: None,
            body_enc: Some(self.vault.encrypt_str(&mut tx, scope.tenant, author.key_id, &body).await?),
        };
        row.id = store::insert_comment(&mut tx, scope.tenant, &row).await?;
        if notify && !row.hidden && !p.hidden {
            let to = store::post_followers(&mut tx, scope.tenant, p.id, p.topic_id, author.id).await?;
            let notice = Notice {
                kind: kinds::POST_COMMENT,
                en: (
                    "New comment on a post you follow".into(),
                    format!("Someone commented on post number {} that you follow.\n", p.id),
                ),
                fi: (
                    "Uusi kommentti seuraamaasi viestiin".into(),
                    format!("Seuraamaasi viestiin (numero {}) on kommentoitu.\n", p.id),
                ),
                end_users: self.topic_open_to_end_users(&mut tx, scope, p.topic_id).await?,
            };
            self.tell_followers(&mut tx, scope.tenant, &to, &notice).await?;
        }
        tx.commit().await?;
        Ok(PostCommentView {
            row,
            body: Some(Personal::new(body)),
            vote_sum: 0,
            vote_count: 0,
        })
    }

    /// Changes a comment: its author the body; staff anything (official, hidden).
    pub async fn update_post_comment(&self, scope: &Scope, post: i64, id: i64, input: &PostCommentInput) -> Result<PostCommentView> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let mut row = self.readable_post_comment(&mut tx, scope, post, id).await?;
        let changes = |new: Option<bool>, old: bool| new.is_some_and(|n| n != old);
        staff_only(
            scope,
            changes(input.official, row.official) || changes(input.hidden, row.hidden),
            "only agents and admins can mark a comment official or hidden",
        )?;
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
        row.official = input.official.unwrap_or(row.official);
        row.hidden = input.hidden.unwrap_or(row.hidden);
        row.updated_at = now;
        store::update_comment(&mut tx, scope.tenant, &row).await?;
        let mut out = self.open_post_comments(&mut tx, scope.tenant, vec![row]).await?;
        tx.commit().await?;
        out.pop().ok_or(HelpdeskError::NotFound("Comment"))
    }

    /// Deletes a comment (its author, or staff).
    pub async fn delete_post_comment(&self, scope: &Scope, post: i64, id: i64) -> Result<()> {
        let mut tx = self.db.begin().await?;
        let row = self.readable_post_comment(&mut tx, scope, post, id).await?;
        if row.author_id != scope.actor && !scope.is_staff() {
            return Err(HelpdeskError::Forbidden("only the comment's author and staff can delete it"));
        }
        store::delete_comment(&mut tx, scope.tenant, id).await?;
        tx.commit().await?;
        Ok(())
    }
}
