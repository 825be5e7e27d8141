//! Agents' ticket views: the fixed queues of the workspace (mine, unassigned, all open, pending,
//! recently solved), newest change first, with their counts.

use suoja_core::{Scope, Timestamp};
use suoja_store::tickets::{TicketFilter, TicketSort};

use crate::model::Ticket;
use crate::{Helpdesk, Result};

/// A queue of the agent workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Assigned to me, not yet solved.
    MyOpen,
    /// Nobody's, not yet solved.
    Unassigned,
    /// New and open.
    AllOpen,
    /// Waiting for the requester.
    Pending,
    /// Solved or closed in the last 7 days.
    RecentlySolved,
}

/// The most a view's count counts exactly: beyond it the workspace shows "1000+".
pub const VIEW_COUNT_CAP: i64 = 1_000;

impl View {
    /// Every view, in the order the workspace shows them.
    pub const ALL: [View; 5] = [View::MyOpen, View::Unassigned, View::AllOpen, View::Pending, View::RecentlySolved];

    /// The view's path segment.
    pub fn slug(self) -> &'static str {
        match self {
            View::MyOpen => "mine",
            View::Unassigned => "unassigned",
            View::AllOpen => "open",
            View::Pending => "pending",
            View::RecentlySolved => "solved",
        }
    }

    /// The view a path segment names.
    pub fn from_slug(s: &str) -> Option<View> {
        View::ALL.into_iter().find(|v| v.slug() == s)
    }

    fn filter(self, scope: &Scope, now: Timestamp) -> TicketFilter {
        let unsolved = Some(vec![0, 1, 2, 3]);
        let mut f = TicketFilter::default();
        match self {
            View::MyOpen => {
                f.assignee = Some(scope.actor);
                f.status_ranks = unsolved;
            }
            View::Unassigned => {
                f.unassigned = true;
                f.status_ranks = unsolved;
            }
            View::AllOpen => f.status_ranks = Some(vec![0, 1]),
            View::Pending => f.status_ranks = Some(vec![2]),
            View::RecentlySolved => {
                f.status_ranks = Some(vec![4, 5]);
                f.closed_from = Some(Timestamp(now.0 - 7 * 86_400_000));
            }
        }
        f
    }
}

impl Helpdesk {
    /// One page of a view (staff), newest change first, and whether more follow; the view's
    /// total is in [`Self::view_counts`].
    pub async fn ticket_view(&self, scope: &Scope, view: View, limit: i64, offset: i64) -> Result<(Vec<Ticket>, bool)> {
        crate::require_staff(scope)?;
        let f = view.filter(scope, self.now());
        let mut c = self.db.read().await?;
        let mut rows = suoja_store::tickets::list(&mut c, scope.tenant, &f, TicketSort::UpdatedDesc, limit + 1, offset).await?;
        let has_more = suoja_core::num::to_i64(rows.len()) > limit;
        rows.truncate(suoja_core::num::to_usize(limit.max(0)));
        let tickets = self.open_tickets(&mut c, scope, &rows).await?;
        self.consulted_tickets(scope, &tickets, "ticket.listed", "support");
        Ok((tickets, has_more))
    }

    /// The ids of every ticket in a view as `scope` sees it, newest change first, at most
    /// `limit` (staff). Nothing is opened, so no read is noted: for scoping a breach.
    pub async fn view_ticket_ids(&self, scope: &Scope, view: View, limit: i64) -> Result<Vec<i64>> {
        crate::require_staff(scope)?;
        let f = view.filter(scope, self.now());
        let mut c = self.db.read().await?;
        let rows = suoja_store::tickets::list(&mut c, scope.tenant, &f, TicketSort::UpdatedDesc, limit, 0).await?;
        Ok(rows.iter().map(|r| r.id.0).collect())
    }

    /// A person's latest tickets, newest change first, without a total (staff; the ticket
    /// page's side panel).
    pub async fn latest_tickets_of(&self, scope: &Scope, requester: suoja_core::UserId, limit: i64) -> Result<Vec<Ticket>> {
        crate::require_staff(scope)?;
        let f = TicketFilter {
            requester: Some(requester),
            ..Default::default()
        };
        let mut c = self.db.read().await?;
        let rows = suoja_store::tickets::list(&mut c, scope.tenant, &f, TicketSort::UpdatedDesc, limit, 0).await?;
        let tickets = self.open_tickets(&mut c, scope, &rows).await?;
        self.consulted_tickets(scope, &tickets, "ticket.listed", "support");
        Ok(tickets)
    }

    /// The count of every view (staff), in [`View::ALL`] order, as (view, count, more): a count
    /// is exact up to [`VIEW_COUNT_CAP`]; past it the count is the cap and `more` is set. Each is
    /// read from the views' index and stops just past the cap, so the workspace costs the same
    /// at any size (counting every unsolved ticket took 138 ms a page at 1 000 000 tickets).
    pub async fn view_counts(&self, scope: &Scope) -> Result<Vec<(View, i64, bool)>> {
        crate::require_staff(scope)?;
        let now = self.now();
        let mut c = self.db.read().await?;
        let mut out = Vec::with_capacity(View::ALL.len());
        for v in View::ALL {
            let n = suoja_store::tickets::count_capped(&mut c, scope.tenant, &v.filter(scope, now), VIEW_COUNT_CAP + 1).await?;
            out.push((v, n.min(VIEW_COUNT_CAP), n > VIEW_COUNT_CAP));
        }
        Ok(out)
    }
}
