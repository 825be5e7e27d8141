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
        self.consulted(scope, &rows.iter().map(|r| r.requester_id).collect::<Vec<_>>(), "ticket.listed", "support");
        let tickets = self.open_tickets(&mut c, scope, &rows).await?;
        Ok((tickets, has_more))
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
        self.consulted(scope, &rows.iter().map(|r| r.requester_id).collect::<Vec<_>>(), "ticket.listed", "support");
        self.open_tickets(&mut c, scope, &rows).await
    }

    /// The count of every view (staff), in [`View::ALL`] order: two queries, whatever the
    /// number of views.
    pub async fn view_counts(&self, scope: &Scope) -> Result<Vec<(View, i64)>> {
        crate::require_staff(scope)?;
        let now = self.now();
        let mut c = self.db.read().await?;
        let [mine, unassigned, open, pending] = suoja_store::tickets::unsolved_counts(&mut c, scope.tenant, scope.actor).await?;
        let solved = suoja_store::tickets::count(&mut c, scope.tenant, &View::RecentlySolved.filter(scope, now)).await?;
        Ok(vec![
            (View::MyOpen, mine),
            (View::Unassigned, unassigned),
            (View::AllOpen, open),
            (View::Pending, pending),
            (View::RecentlySolved, solved),
        ])
    }
}
