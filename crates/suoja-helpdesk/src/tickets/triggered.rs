//! Running the tenant's triggers inside a ticket's create or update (what they test and do is
//! `rules::triggers`): each fires at most once; a trigger that changes the ticket sends the
//! others back to the first; its changes are audited as the trigger's; its notifications are
//! sent once the triggers are done, with the ticket as they leave it. A trigger whose changes
//! fail (an agent it assigns has left) is skipped whole (changes and notifications), its
//! changes undone, and logged by id. At most [`MAX_CHANGING`] triggers change one update;
//! restricted tickets run none. The tags the triggers leave are returned for the caller to write
//! their rows (their keyed hashes) once, whatever changed them.

use serde_json::json;
use suoja_core::{Priority, Scope, TenantId, TicketType, Timestamp, UserId};
use suoja_store::Conn;
use suoja_store::tickets::TicketRow;

use crate::model::AuditEvent;
use crate::rules::conditions::TicketState;
use crate::rules::kept::Versions;
use crate::rules::triggers::{MAX_CHANGING, Notice, Said, Update, fires, input_of, notices_of, webhooks_of};
use crate::{Helpdesk, HelpdeskError, Result, crypt};

/// What the triggers did to an update.
#[derive(Debug, Default)]
pub(crate) struct Triggered {
    /// The ticket's index document must be rebuilt (its subject or tags changed).
    pub reindex: bool,
    /// Who was told what.
    pub told: Vec<(&'static str, UserId)>,
    /// The ticket's tags as the triggers leave them, when they changed them: their rows are
    /// the caller's to write.
    pub tags: Option<Vec<String>>,
    /// The versions of the tenant's rules read with its triggers (`None`: no trigger ran),
    /// for the change's other steps ([`crate::rules::kept`]).
    pub versions: Option<Versions>,
}

impl Helpdesk {
    /// A ticket's fields as triggers' conditions see them.
    pub(crate) async fn trigger_state(&self, c: &mut Conn, t: TenantId, row: &TicketRow) -> Result<TicketState> {
        let tags: Vec<String> = crypt::open_json(&self.vault, c, t, &row.tags_enc).await?;
        Ok(TicketState {
            status: row.status,
            priority: row.priority.as_deref().and_then(|p| Priority::parse(p).ok()),
            ticket_type: row.ticket_type.as_deref().and_then(|p| TicketType::parse(p).ok()),
            requester: row.requester_id.0,
            submitter: row.submitter_id.0,
            assignee: row.assignee_id.map(|a| a.0),
            group: row.group_id.map(|g| g.0),
            organization: row.organization_id.map(|o| o.0),
            form: row.ticket_form_id,
            tags,
        })
    }

    /// Runs the tenant's active triggers on an update of `row` (`before`: the ticket before it,
    /// `None` when it is being created; `comment`: the one added, public or not, in plain
    /// text), in the caller's transaction. Changes go into `row` and `events`; the caller
    /// stores the row.
    #[allow(
        clippy::too_many_arguments,
        reason = "an update: where, who, the ticket before and after, its comment, its audit, when"
    )]
    pub(crate) async fn run_triggers(
        &self,
        c: &mut Conn,
        scope: &Scope,
        row: &mut TicketRow,
        before: Option<&TicketState>,
        comment: Option<(bool, &str)>,
        events: &mut Vec<AuditEvent>,
        now: Timestamp,
    ) -> Result<Triggered> {
        let t = scope.tenant;
        let mut out = Triggered::default();
        // A restricted ticket is only stored (Art. 18): no rule changes it or mails about it.
        if row.restricted {
            return Ok(out);
        }
        let (triggers, versions) = self.active_triggers(c, t).await?;
        out.versions = Some(versions);
        if triggers.is_empty() {
            return Ok(out);
        }
        let mut fired = vec![false; triggers.len()];
        let mut changed = 0_usize;
        let mut skipped: Vec<i64> = Vec::new();
        let mut notices: Vec<Notice> = Vec::new();
        // Webhook calls: (webhook, trigger, the action's place).
        let mut calls: Vec<(i64, i64, usize)> = Vec::new();
        // The comment's words, read once for every trigger that looks for words.
        let said = comment.map(|(public, text)| (public, Said::of(text)));
        let mut update = Update {
            before,
            after: self.trigger_state(c, t, row).await?,
            comment: said.as_ref().map(|(public, words)| (*public, words)),
            actor: scope.actor,
            role: scope.role,
        };
        // The triggers' changes are the installation's, checked as an admin's would be.
        let installation = Scope::operator(t);
        'pass: loop {
            for (i, trigger) in triggers.iter().enumerate() {
                if fired.get(i).copied().unwrap_or(true) {
                    continue;
                }
                let holds = match fires(trigger, &update) {
                    Ok(h) => h,
                    Err(e) => {
                        // Tested once an update, logged once.
                        if let Some(f) = fired.get_mut(i) {
                            *f = true;
                        }
                        tracing::warn!(tenant.id = %t, trigger.id = trigger.row.id, error = %e, "a trigger could not be tested");
                        false
                    }
                };
                if !holds {
                    continue;
                }
                if let Some(f) = fired.get_mut(i) {
                    *f = true;
                }
                let (input, mine) = match (input_of(&trigger.actions, scope.actor), notices_of(&trigger.actions)) {
                    (Ok(i), Ok(n)) => (i, n),
                    (Err(e), _) | (_, Err(e)) => {
                        tracing::warn!(tenant.id = %t, trigger.id = trigger.row.id, error = %e, "a trigger could not be read");
                        continue;
                    }
                };
                let mine_calls: Vec<(i64, i64, usize)> = webhooks_of(&trigger.actions).into_iter().map(|(i, w)| (w, trigger.row.id, i)).collect();
                let Some(input) = input else {
                    notices.extend(mine);
                    calls.extend(mine_calls);
                    continue;
                };
                if changed >= MAX_CHANGING {
                    // Past the bound the update ends as it stands; the trigger is neither run nor
                    // heard from.
                    skipped.push(trigger.row.id);
                    continue;
                }
                let start = events.len();
                let kept = row.clone();
                suoja_store::savepoint(c, "trigger_change").await?;
                let done = async {
                    let a = self.change_people_and_status(c, &installation, row, &input, now, events).await?;
                    let b = self.change_content(c, &installation, row, &input, events).await?;
                    Ok::<_, HelpdeskError>((a || b.reindex, b.tags))
                }
                .await;
                match done {
                    Ok((reindex, changed_tags)) => {
                        suoja_store::release(c, "trigger_change").await?;
                        if changed_tags.is_some() {
                            out.tags = changed_tags;
                        }
                        // Its notifications and calls go only with its changes.
                        notices.extend(mine);
                        calls.extend(mine_calls);
                        out.reindex |= reindex;
                        let via = json!({"channel": "rule", "source": {"rel": "trigger", "from": {"id": trigger.row.id}}});
                        for e in events.iter_mut().skip(start) {
                            e.detail.insert("via".into(), via.clone());
                        }
                        if events.len() > start {
                            changed += 1;
                            update.after = self.trigger_state(c, t, row).await?;
                            continue 'pass;
                        }
                    }
                    Err(e @ (HelpdeskError::Invalid { .. } | HelpdeskError::NotFound(_) | HelpdeskError::Conflict(_))) => {
                        suoja_store::rollback_to(c, "trigger_change").await?;
                        *row = kept;
                        events.truncate(start);
                        tracing::warn!(tenant.id = %t, trigger.id = trigger.row.id, error = %e, "a trigger's changes were refused");
                    }
                    Err(e) => return Err(e),
                }
            }
            break;
        }
        if !skipped.is_empty() {
            tracing::warn!(tenant.id = %t, ticket.id = %row.id, most = MAX_CHANGING, skipped = ?skipped, "a ticket's update reached the most triggers that may change it");
        }
        out.told = self.send_notices(c, scope, row, before.is_none(), comment, &notices).await?;
        for call in calls {
            self.queue_trigger_call(c, t, call, row.id, now).await?;
        }
        Ok(out)
    }
}
