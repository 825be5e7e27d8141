//! Reading tickets: one, many, lists (all, requested, CC'd, assigned, organisation), comments,
//! and the incremental export.

use suoja_core::{CommentId, OrganizationId, Scope, Status, TicketId, Timestamp, UserId};

use suoja_store::tickets::{TicketFilter, TicketSort};

use crate::counts::Count;
use crate::model::{Attachment, Comment, Ticket};
use crate::users::Paging;
use crate::{Helpdesk, HelpdeskError, Result, crypt};

/// Which tickets a list shows.
#[derive(Debug, Clone, Copy)]
pub enum TicketList {
    /// Every live ticket (staff).
    All,
    /// Requested by a user.
    Requested(UserId),
    /// A user is CC'd on.
    Ccd(UserId),
    /// Assigned to an agent.
    Assigned(UserId),
    /// Of an organisation.
    Organization(OrganizationId),
    /// In the trash.
    Deleted,
}

/// A page of tickets.
#[derive(Debug, Clone, Default)]
pub struct TicketPage {
    /// Tickets.
    pub tickets: Vec<Ticket>,
    /// Total (offset pagination only).
    pub count: i64,
    /// Whether more follow.
    pub has_more: bool,
}

/// A page of comments.
#[derive(Debug, Clone)]
pub struct CommentPage {
    /// Comments.
    pub comments: Vec<Comment>,
    /// Total.
    pub count: i64,
    /// Whether more follow.
    pub has_more: bool,
}

impl Helpdesk {
    /// Reads one live ticket the scope may see.
    pub async fn get_ticket(&self, scope: &Scope, id: TicketId) -> Result<Ticket> {
        let mut c = self.db.read().await?;
        let row = self.visible_row(&mut c, scope, id).await?;
        let t = self.open_ticket_full(&mut c, scope, &row).await?;
        self.consulted_tickets(scope, [&t], "ticket.viewed", "support");
        Ok(t)
    }

    /// Reads several tickets; ids the scope cannot see are left out.
    pub async fn get_tickets(&self, scope: &Scope, ids: &[TicketId]) -> Result<Vec<Ticket>> {
        let mut c = self.db.read().await?;
        let f = TicketFilter {
            ids: Some(ids.iter().map(|i| i.0).collect()),
            include_restricted: !scope.is_staff(),
            ..Default::default()
        };
        let rows = suoja_store::tickets::list(&mut c, scope.tenant, &f, TicketSort::Id, 100, 0).await?;
        let mut visible = Vec::new();
        for r in rows {
            if self.can_see(&mut c, scope, &r).await? {
                visible.push(r);
            }
        }
        let tickets = self.open_tickets(&mut c, scope, &visible).await?;
        self.consulted_tickets(scope, &tickets, "ticket.viewed", "support");
        Ok(tickets)
    }

    /// Lists tickets.
    pub async fn list_tickets(&self, scope: &Scope, which: TicketList, paging: Paging) -> Result<TicketPage> {
        let mut f = TicketFilter::default();
        match which {
            TicketList::All => crate::require_staff(scope)?,
            TicketList::Deleted => {
                crate::require_staff(scope)?;
                f.deleted = true;
            }
            TicketList::Requested(u) => {
                if !scope.is_staff() && u != scope.actor {
                    return Err(HelpdeskError::NotFound("User"));
                }
                f.requester = Some(u);
            }
            TicketList::Ccd(u) => {
                if !scope.is_staff() && u != scope.actor {
                    return Err(HelpdeskError::NotFound("User"));
                }
                f.ccd = Some(u);
            }
            TicketList::Assigned(u) => {
                crate::require_staff(scope)?;
                f.assignee = Some(u);
            }
            TicketList::Organization(o) => {
                crate::require_staff(scope)?;
                let mut c = self.db.read().await?;
                suoja_store::organizations::by_id(&mut c, scope.tenant, o)
                    .await?
                    .ok_or(HelpdeskError::NotFound("Organization"))?;
                f.organization = Some(o);
            }
        }
        let mut c = self.db.read().await?;
        if let Some(u) = f.requester.or(f.ccd).or(f.assignee) {
            suoja_store::users::by_id(&mut c, scope.tenant, u)
                .await?
                .ok_or(HelpdeskError::NotFound("User"))?;
        }
        self.page_tickets(&mut c, scope, f, paging).await
    }

    /// The caller's own requests (the tickets they requested, or with `ccd` those they are
    /// CC'd on), in any of `statuses` (all when empty): the end users' Requests API.
    pub async fn list_requests(&self, scope: &Scope, ccd: bool, statuses: &[Status], paging: Paging) -> Result<TicketPage> {
        let mut f = TicketFilter::default();
        if ccd {
            f.ccd = Some(scope.actor);
        } else {
            f.requester = Some(scope.actor);
        }
        if !statuses.is_empty() {
            f.status_ranks = Some(statuses.iter().map(|s| *s as i64).collect());
        }
        let mut c = self.db.read().await?;
        self.page_tickets(&mut c, scope, f, paging).await
    }

    async fn page_tickets(&self, c: &mut suoja_store::Conn, scope: &Scope, mut f: TicketFilter, paging: Paging) -> Result<TicketPage> {
        // Restricted tickets stay visible to the people on them, not to staff (GDPR Art. 18).
        f.include_restricted = !scope.is_staff();
        if let Paging::Cursor { after, before, .. } = paging {
            f.after = after;
            f.before = before;
        }
        let (limit, offset) = paging.limit_offset();
        let mut rows = suoja_store::tickets::list(c, scope.tenant, &f, TicketSort::Id, limit, offset).await?;
        let size = suoja_core::num::to_usize(paging.size());
        let has_more = rows.len() > size;
        if has_more {
            if f.before.is_some() {
                rows.remove(0);
            } else {
                rows.truncate(size);
            }
        }
        let count = match paging {
            Paging::Offset { .. } => {
                self.list_count(
                    c,
                    scope,
                    TicketFilter {
                        after: None,
                        before: None,
                        ..f.clone()
                    },
                )
                .await?
            }
            Paging::Cursor { .. } => 0,
        };
        let tickets = self.open_tickets(c, scope, &rows).await?;
        self.consulted_tickets(scope, &tickets, "ticket.listed", "support");
        Ok(TicketPage { tickets, count, has_more })
    }

    /// How many tickets `f` lists in all (an offset page's `count`): exact while counting is
    /// cheap or the total is under [`LIST_COUNT_KEPT_FROM`]; a costly large total is kept a while and recounted
    /// in the background (see [`crate::counts`]), as Zendesk's own large counts lag.
    /// Counted now on `c`, the caller's connection (a request never holds two: a pool's worth of
    /// them would wait on each other).
    async fn list_count(&self, c: &mut suoja_store::Conn, scope: &Scope, f: TicketFilter) -> Result<i64> {
        let key = (scope.tenant, list_key(&f));
        let (hd, tenant) = (self.clone(), scope.tenant);
        let now = async { Ok(Count::exact(suoja_store::tickets::count(c, tenant, &f).await?, self.now())) };
        let f = f.clone();
        let later = move || {
            let (hd, f) = (hd.clone(), f.clone());
            async move {
                let mut c = hd.db.read().await?;
                Ok(Count::exact(suoja_store::tickets::count(&mut c, tenant, &f).await?, hd.now()))
            }
        };
        Ok(self.list_counts.get(key, 0, "ticket list", now, later).await?.value)
    }

    /// A ticket's comments in order; end users never see internal notes.
    pub async fn list_comments(
        &self,
        scope: &Scope,
        ticket: TicketId,
        after: Option<i64>,
        descending: bool,
        page: Option<(i64, i64)>,
        size: i64,
    ) -> Result<CommentPage> {
        let mut c = self.db.read().await?;
        let row = suoja_store::tickets::by_id(&mut c, scope.tenant, ticket)
            .await?
            .filter(|t| t.deleted_at.is_none())
            .ok_or(HelpdeskError::NotFound("Ticket"))?;
        if !self.can_see(&mut c, scope, &row).await? {
            return Err(HelpdeskError::NotFound("Ticket"));
        }
        let public_only = !scope.is_staff();
        let (limit, offset) = match page {
            Some((p, per)) => (per + 1, (p - 1) * per),
            None => (size + 1, 0),
        };
        let per = suoja_core::num::to_usize(page.map(|(_, per)| per).unwrap_or(size));
        let mut rows = suoja_store::comments::for_ticket(
            &mut c,
            scope.tenant,
            ticket,
            suoja_store::comments::CommentQuery {
                public_only,
                after,
                descending,
                limit,
                offset,
            },
        )
        .await?;
        let has_more = rows.len() > per;
        rows.truncate(per);
        let count = suoja_store::comments::count_for_ticket(&mut c, scope.tenant, ticket, public_only).await?;
        let ids: Vec<CommentId> = rows.iter().map(|r| r.id).collect();
        let files = suoja_store::attachments::for_comments(&mut c, scope.tenant, &ids).await?;
        let mut comments = Vec::with_capacity(rows.len());
        let audits = super::audits::comment_audits(&mut c, scope.tenant, ticket).await?;
        for r in &rows {
            let mut opened = self.open_comment(&mut c, scope.tenant, r, &files).await?;
            opened.audit_id = audits.get(&r.id.0).copied();
            comments.push(opened);
        }
        // The requester's and every shown comment's writer's words were read.
        let mut readers_saw: Vec<UserId> = vec![row.requester_id];
        readers_saw.extend(rows.iter().map(|r| r.author_id));
        self.consulted(scope, &readers_saw, "ticket.comments_viewed", "support");
        Ok(CommentPage { comments, count, has_more })
    }

    /// Opens a stored comment with its files (from `files`, which may hold other comments' too).
    pub async fn open_comment(
        &self,
        c: &mut suoja_store::Conn,
        tenant: suoja_core::TenantId,
        r: &suoja_store::comments::CommentRow,
        files: &[suoja_store::attachments::AttachmentRow],
    ) -> Result<Comment> {
        let body = crypt::open(&self.vault, c, tenant, &r.body_enc).await?;
        let html_body = match &r.html_enc {
            Some(h) => crypt::open(&self.vault, c, tenant, h).await?,
            None => suoja_core::Personal::new(crate::text::plain_to_html(body.expose())),
        };
        let mut attachments = Vec::new();
        for f in files.iter().filter(|f| f.comment_id == Some(r.id)) {
            attachments.push(Attachment {
                id: f.id,
                file_name: crypt::open(&self.vault, c, tenant, &f.file_name_enc).await?,
                content_type: f.content_type.clone(),
                size: f.size,
                ticket_id: f.ticket_id,
            });
        }
        Ok(Comment {
            id: r.id,
            ticket_id: r.ticket_id,
            author_id: r.author_id,
            public: r.public,
            body,
            html_body,
            attachments,
            via: r.via.clone(),
            audit_id: None,
            created_at: r.created_at,
        })
    }

    /// Tickets changed since `since` (trash included), for the incremental export.
    pub async fn tickets_changed_since(
        &self,
        scope: &Scope,
        since: Timestamp,
        until: Option<Timestamp>,
        after: Option<(i64, i64)>,
        limit: i64,
    ) -> Result<Vec<Ticket>> {
        if !scope.is_admin() {
            return Err(HelpdeskError::Forbidden("only admins can export incrementally"));
        }
        let mut c = self.db.read().await?;
        let rows = suoja_store::tickets::changed_since(&mut c, scope.tenant, since, until, after, limit).await?;
        let tickets = self.open_tickets(&mut c, scope, &rows).await?;
        self.consulted_tickets(scope, &tickets, "ticket.exported", "integration export");
        Ok(tickets)
    }
}

impl Helpdesk {
    /// Notes a read of `tickets`: their requesters' and submitters' words and fields under
    /// `action`, and everyone else the tickets name (assignee, CCs, followers), whose ids alone
    /// the reader saw, as `ticket.named`.
    pub(crate) fn consulted_tickets<'a>(&self, scope: &Scope, tickets: impl IntoIterator<Item = &'a Ticket>, action: &str, purpose: &str) {
        let mut owners = Vec::new();
        let mut named = Vec::new();
        for t in tickets {
            owners.extend([t.requester_id, t.submitter_id]);
            named.extend(t.assignee_id);
            named.extend(t.collaborator_ids.iter().chain(&t.email_cc_ids).chain(&t.follower_ids).copied());
        }
        named.retain(|u| !owners.contains(u));
        self.consulted(scope, &owners, action, purpose);
        if !named.is_empty() {
            self.consulted(scope, &named, "ticket.named", purpose);
        }
    }
}

/// A list's total below this is counted on every ask: offset pages reach only the first
/// 10 000 tickets of a list, so any total a client could page through is exact.
pub(crate) const LIST_COUNT_KEPT_FROM: i64 = 10_000;

/// The ticket lists' totals kept on this server, by tenant and filter ([`list_key`]).
pub(crate) type ListCounts = crate::counts::CountCache<(suoja_core::TenantId, u64)>;

/// A filter, hashed: every field it holds (ids and numbers, nothing personal) tells one list
/// from another.
fn list_key(f: &TicketFilter) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    format!("{f:?}").hash(&mut h);
    h.finish()
}
