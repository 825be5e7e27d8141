//! Votes and subscriptions, on the help center's articles and the community's posts alike.
//! A vote or subscription needs the item to be readable by its person; no one votes on what
//! they wrote; a second vote changes the first; following twice answers the first
//! subscription. Who voted how, and who follows what, is staff's to see (and each person's own).

use suoja_core::{Role, Scope, UserId};
use suoja_store::Conn;
use suoja_store::community;
use suoja_store::help_center::{self as store, Page, Reader, SubscriptionRow, VoteRow};

use super::{DEFAULT_LOCALE, invalid, locale};
use crate::{Helpdesk, HelpdeskError, Result, require_staff};

/// What a vote is on, with what it sits under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoteItem {
    /// An article.
    Article(i64),
    /// A comment on an article.
    ArticleComment {
        /// The article.
        article: i64,
        /// The comment.
        id: i64,
    },
    /// A community post.
    Post(i64),
    /// A comment on a post.
    PostComment {
        /// The post.
        post: i64,
        /// The comment.
        id: i64,
    },
}

impl VoteItem {
    /// The item type and id as stored (Zendesk's `item_type`, `item_id`).
    pub fn parts(self) -> (&'static str, i64) {
        match self {
            VoteItem::Article(id) => ("Article", id),
            VoteItem::ArticleComment { id, .. } => ("Comment", id),
            VoteItem::Post(id) => ("Post", id),
            VoteItem::PostComment { id, .. } => ("PostComment", id),
        }
    }
}

/// What a subscription follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Followed {
    /// An article (new comments).
    Article(i64),
    /// A section (new articles, and comments when asked).
    Section(i64),
    /// A post (new comments).
    Post(i64),
    /// A topic (new posts, and comments when asked).
    Topic(i64),
}

impl Followed {
    /// The content type and id as stored (Zendesk's `content_type`, `content_id`).
    pub fn parts(self) -> (&'static str, i64) {
        match self {
            Followed::Article(id) => ("Article", id),
            Followed::Section(id) => ("Section", id),
            Followed::Post(id) => ("Post", id),
            Followed::Topic(id) => ("Topic", id),
        }
    }

    /// Whether following it can include comments on what it holds.
    fn holds_threads(self) -> bool {
        matches!(self, Followed::Section(_) | Followed::Topic(_))
    }
}

impl Helpdesk {
    /// The author of an item `scope` may read; not found otherwise.
    async fn vote_target_author(&self, c: &mut Conn, scope: &Scope, item: VoteItem) -> Result<UserId> {
        Ok(match item {
            VoteItem::Article(a) => self.readable_article(c, scope, a).await?.author_id,
            VoteItem::ArticleComment { article, id } => self.readable_comment(c, scope, article, id).await?.author_id,
            VoteItem::Post(p) => self.readable_post(c, scope, p).await?.author_id,
            VoteItem::PostComment { post, id } => self.readable_post_comment(c, scope, post, id).await?.author_id,
        })
    }

    /// Votes up (+1) or down (-1) on an item `scope` may read; a second vote changes the first.
    /// No one votes on what they wrote.
    pub async fn vote(&self, scope: &Scope, item: VoteItem, up: bool) -> Result<VoteRow> {
        super::signed_in(scope)?;
        let mut tx = self.db.begin().await?;
        if self.vote_target_author(&mut tx, scope, item).await? == scope.actor {
            return Err(HelpdeskError::Forbidden("you cannot vote on what you wrote"));
        }
        let (ty, id) = item.parts();
        let v = store::vote(&mut tx, scope.tenant, scope.actor, ty, id, if up { 1 } else { -1 }, self.now()).await?;
        tx.commit().await?;
        Ok(v)
    }

    /// Votes on an item `scope` may read (staff see everyone's; others their own).
    pub async fn list_votes(&self, scope: &Scope, item: VoteItem, page: Page) -> Result<(Vec<VoteRow>, i64)> {
        let mut c = self.db.read().await?;
        self.vote_target_author(&mut c, scope, item).await?;
        let (ty, id) = item.parts();
        let user = (!scope.is_staff()).then_some(scope.actor);
        Ok(store::votes(&mut c, scope.tenant, Some((ty, id)), user, page).await?)
    }

    /// A person's votes (their own, or anyone's for staff).
    pub async fn list_user_votes(&self, scope: &Scope, user: UserId, page: Page) -> Result<(Vec<VoteRow>, i64)> {
        let mut c = self.db.read().await?;
        self.own_or_staff(&mut c, scope, user).await?;
        Ok(store::votes(&mut c, scope.tenant, None, Some(user), page).await?)
    }

    /// One vote (its voter's, or staff's).
    pub async fn get_vote(&self, scope: &Scope, id: i64) -> Result<VoteRow> {
        let mut c = self.db.read().await?;
        store::vote_by_id(&mut c, scope.tenant, id)
            .await?
            .filter(|v| v.user_id == scope.actor || scope.is_staff())
            .ok_or(HelpdeskError::NotFound("Vote"))
    }

    /// Withdraws a vote (its voter, or staff).
    pub async fn delete_vote(&self, scope: &Scope, id: i64) -> Result<()> {
        self.get_vote(scope, id).await?;
        let mut tx = self.db.begin().await?;
        store::delete_vote(&mut tx, scope.tenant, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `user` is the caller, or the caller is staff; and `user` is of the tenant.
    pub(super) async fn own_or_staff(&self, c: &mut Conn, scope: &Scope, user: UserId) -> Result<()> {
        if user != scope.actor {
            require_staff(scope)?;
        }
        suoja_store::users::by_id(c, scope.tenant, user).await?.ok_or(HelpdeskError::NotFound("User"))?;
        Ok(())
    }

    /// The locale of content `scope` may read, and whether an end user may read it.
    async fn followable(&self, c: &mut Conn, scope: &Scope, what: Followed) -> Result<(String, bool)> {
        Ok(match what {
            Followed::Article(id) => {
                let a = self.readable_article(c, scope, id).await?;
                let open = Reader::SignedIn.may_read(&a);
                (a.locale, open)
            }
            Followed::Section(id) => {
                let s = store::section_by_id(c, scope.tenant, id).await?.ok_or(HelpdeskError::NotFound("Section"))?;
                (s.locale, true)
            }
            Followed::Post(id) => {
                let p = self.readable_post(c, scope, id).await?;
                let open = !p.hidden && self.topic_open_to_end_users(c, scope, p.topic_id).await?;
                (DEFAULT_LOCALE.to_string(), open)
            }
            Followed::Topic(id) => {
                let t = self.readable_topic(c, scope, id).await?;
                (DEFAULT_LOCALE.to_string(), community::may_read_topic(Reader::SignedIn, &t))
            }
        })
    }

    /// Follows content `scope` may read (staff may subscribe someone else, who must be able
    /// to read it too). Following twice answers the first subscription (`false`: nothing new).
    pub async fn subscribe(
        &self,
        scope: &Scope,
        what: Followed,
        source_locale: Option<&str>,
        include_comments: bool,
        user: Option<i64>,
    ) -> Result<(SubscriptionRow, bool)> {
        super::signed_in(scope)?;
        let user = match user.map(UserId) {
            Some(u) if u != scope.actor => {
                require_staff(scope)?;
                u
            }
            _ => scope.actor,
        };
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let subscriber = suoja_store::users::by_id(&mut tx, scope.tenant, user)
            .await?
            .filter(|u| u.deleted_at.is_none())
            .ok_or_else(|| invalid("user_id", "User: no such user"))?;
        let (default_locale, open) = self.followable(&mut tx, scope, what).await?;
        if subscriber.role == Role::EndUser && !open {
            return Err(invalid("user_id", "User: cannot read this"));
        }
        let (ty, id) = what.parts();
        let row = SubscriptionRow {
            id: 0,
            user_id: user,
            content_type: ty.into(),
            content_id: id,
            source_locale: locale(source_locale.unwrap_or(&default_locale))?,
            include_comments: what.holds_threads() && include_comments,
            created_at: now,
            updated_at: now,
        };
        let out = store::subscribe(&mut tx, scope.tenant, &row).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Subscriptions to content `scope` may read (staff see everyone's; others their own).
    pub async fn list_subscriptions(&self, scope: &Scope, what: Followed, page: Page) -> Result<(Vec<SubscriptionRow>, i64)> {
        let mut c = self.db.read().await?;
        self.followable(&mut c, scope, what).await?;
        let user = (!scope.is_staff()).then_some(scope.actor);
        let (ty, id) = what.parts();
        Ok(store::subscriptions(&mut c, scope.tenant, Some((ty, id)), user, page).await?)
    }

    /// A person's subscriptions (their own, or anyone's for staff).
    pub async fn list_user_subscriptions(&self, scope: &Scope, user: UserId, page: Page) -> Result<(Vec<SubscriptionRow>, i64)> {
        let mut c = self.db.read().await?;
        self.own_or_staff(&mut c, scope, user).await?;
        Ok(store::subscriptions(&mut c, scope.tenant, None, Some(user), page).await?)
    }

    /// One subscription to `what` (its subscriber's, or staff's).
    pub async fn get_subscription(&self, scope: &Scope, what: Followed, id: i64) -> Result<SubscriptionRow> {
        let mut c = self.db.read().await?;
        let (ty, content) = what.parts();
        store::subscription_by_id(&mut c, scope.tenant, id)
            .await?
            .filter(|s| s.content_type == ty && s.content_id == content)
            .filter(|s| s.user_id == scope.actor || scope.is_staff())
            .ok_or(HelpdeskError::NotFound("Subscription"))
    }

    /// Ends a subscription to `what` (its subscriber, or staff).
    pub async fn unsubscribe(&self, scope: &Scope, what: Followed, id: i64) -> Result<()> {
        self.get_subscription(scope, what, id).await?;
        let mut tx = self.db.begin().await?;
        store::delete_subscription(&mut tx, scope.tenant, id).await?;
        tx.commit().await?;
        Ok(())
    }
}
