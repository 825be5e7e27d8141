//! Merging tickets (Zendesk's `POST /tickets/{id}/merge`): up to five source tickets are
//! closed into a target, each with a comment saying where it went, and the target gets a
//! comment naming them. All of it in one transaction: every ticket is checked and locked (in
//! ascending id order) before anything changes, so a merge happens whole or not at all.
//!
//! What Suoja does not do, by design: copy the sources' words into the target (they stay
//! with their ticket, under their writers' keys, and in their export) or make the sources'
//! requesters CCs of the target (that would show them another person's conversation). A
//! merge is the staff's; end users cannot merge.

use suoja_core::{Personal, Scope, Status, TicketId};

use crate::model::{CommentInput, JobStatus, TicketInput};
use crate::{Helpdesk, HelpdeskError, Result};

/// The most source tickets one merge takes, as Zendesk's.
pub const MAX_SOURCES: usize = 5;

/// What a merge is asked: the sources, and optionally the comments' words and visibility.
#[derive(Debug, Clone, Default)]
pub struct Merge {
    /// Tickets closed into the target.
    pub sources: Vec<TicketId>,
    /// The target's comment (a default names the sources).
    pub target_comment: Option<Personal<String>>,
    /// Each source's comment (a default names the target).
    pub source_comment: Option<Personal<String>>,
    /// Whether the target's comment is public (by default only when every ticket has the
    /// target's requester).
    pub target_comment_is_public: Option<bool>,
    /// Whether the sources' comments are public (by default only on a source with the
    /// target's requester).
    pub source_comment_is_public: Option<bool>,
}

impl Helpdesk {
    /// Merges `merge.sources` into `target` (staff). Refused whole, with nothing changed,
    /// when any ticket is unknown, not visible, closed, or the target itself.
    pub async fn merge_tickets(&self, scope: &Scope, target: TicketId, merge: Merge) -> Result<JobStatus> {
        crate::require_staff(scope)?;
        let mut sources = merge.sources.clone();
        sources.sort_unstable();
        sources.dedup();
        if sources.is_empty() || sources.len() > MAX_SOURCES {
            return Err(HelpdeskError::Invalid {
                field: "ids".into(),
                message: format!("ids: name 1 to {MAX_SOURCES} tickets to merge"),
                code: "InvalidValue",
            });
        }
        if sources.contains(&target) {
            return Err(HelpdeskError::Invalid {
                field: "ids".into(),
                message: "ids: a ticket cannot be merged into itself".into(),
                code: "InvalidValue",
            });
        }
        let now = self.now();
        let mut tx = self.db.begin().await?;
        // Every ticket checked and locked first, in ascending id order.
        let mut all = sources.clone();
        all.push(target);
        all.sort_unstable();
        let mut requesters = std::collections::HashMap::new();
        for id in &all {
            let row = self.visible_row_for_update(&mut tx, scope, *id).await?;
            if row.status == Status::Closed {
                return Err(HelpdeskError::Invalid {
                    field: "status".into(),
                    message: "Status: closed prevents ticket update".into(),
                    code: "InvalidValue",
                });
            }
            requesters.insert(*id, row.requester_id);
        }
        let target_requester = requesters.get(&target).copied();
        let same = |id: &TicketId| requesters.get(id).copied() == target_requester;
        for id in &sources {
            let body = merge
                .source_comment
                .clone()
                .unwrap_or_else(|| Personal::new(format!("This request was closed and merged into request #{}.", target.0)));
            let input = TicketInput {
                status: Some(Status::Closed),
                comment: Some(CommentInput {
                    body: Some(body),
                    public: merge.source_comment_is_public.unwrap_or_else(|| same(id)),
                    ..Default::default()
                }),
                ..Default::default()
            };
            self.update_ticket_in(&mut tx, scope, *id, input, now).await?;
        }
        let names = sources.iter().map(|s| format!("#{}", s.0)).collect::<Vec<_>>().join(", ");
        let body = merge.target_comment.clone().unwrap_or_else(|| {
            Personal::new(if sources.len() == 1 {
                format!("Request {names} was closed and merged into this request.")
            } else {
                format!("Requests {names} were closed and merged into this request.")
            })
        });
        let input = TicketInput {
            comment: Some(CommentInput {
                body: Some(body),
                public: merge.target_comment_is_public.unwrap_or_else(|| sources.iter().all(same)),
                ..Default::default()
            }),
            ..Default::default()
        };
        self.update_ticket_in(&mut tx, scope, target, input, now).await?;
        let merged: Vec<i64> = sources.iter().map(|s| s.0).collect();
        let result = serde_json::json!({"id": target.0, "action": "merge", "success": true, "status": "Merged", "source_ids": merged});
        // The job is recorded with the merge, so an answer that fails never hides a done merge.
        let job = self.record_job_in(&mut tx, scope, "completed", vec![result], None).await?;
        tx.commit().await?;
        tracing::info!(tenant.id = %scope.tenant, ticket.id = %target, sources = ?merged, actor.id = %scope.actor, "tickets merged");
        Ok(job)
    }
}
