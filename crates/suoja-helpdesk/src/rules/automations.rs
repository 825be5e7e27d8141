//! Automations: time-based rules (Zendesk's `automations`). Every hour each active automation,
//! in order, finds the tickets its conditions hold for — they must count hours (`NEW`,
//! `SOLVED`, `updated_at`, …) — and makes its changes to each, as the installation. So that an
//! automation does not change the same ticket every hour, it must change something its
//! conditions test (closing what it finds solved, tagging what it finds untagged) or test hours
//! with `is` (one hour of a ticket's life). Every tenant gets Zendesk's default: close a ticket
//! four days after it was solved. Closed and restricted tickets are never changed.

use suoja_core::{Personal, Scope, TenantId, TicketId};
use suoja_store::rules::RuleRow;
use suoja_store::tickets::{Condition, IdColumn, TicketSort};

use super::conditions::{self, Change, Wire};
use super::macros::{Action, Assignee, Effect};
use super::{Kind, RuleInput, WhenThen};
use crate::model::TicketInput;
use crate::{Helpdesk, HelpdeskError, Result};

/// How many tickets a tenant's automations change per pass at most; the rest wait for the
/// next hour.
pub const MAX_PER_PASS: i64 = 100_000;

/// How many tickets are read at a time.
const BATCH: i64 = 500;

/// An automation.
#[derive(Debug, Clone)]
pub struct Automation {
    /// The stored rule.
    pub row: RuleRow,
    /// Conditions that must all hold (one at least counts hours).
    pub all: Vec<Wire>,
    /// Conditions of which one must hold.
    pub any: Vec<Wire>,
    /// Its changes.
    pub actions: Vec<Action>,
}

impl Automation {
    fn from_row(row: RuleRow) -> Result<Automation> {
        let d = WhenThen::read(&row)?;
        Ok(Automation {
            row,
            all: d.all,
            any: d.any,
            actions: d.actions,
        })
    }
}

/// What a create or update gives (`None`: left as it is).
#[derive(Debug, Clone, Default)]
pub struct AutomationInput {
    /// Title, description, active, position (automations are the team's: no restriction).
    pub rule: RuleInput,
    /// Conditions that must all hold.
    pub all: Option<Vec<Wire>>,
    /// Conditions of which one must hold.
    pub any: Option<Vec<Wire>>,
    /// Changes.
    pub actions: Option<Vec<Action>>,
}

/// What a pass did: per automation that changed or failed anything, (tenant, automation id,
/// tickets changed, tickets that refused the change).
#[derive(Debug, Clone, Default)]
pub struct PassReport {
    /// The automations that did something.
    pub ran: Vec<(i64, i64, u64, u64)>,
    /// (tenant, automation id) of the automations that could not run.
    pub failed: Vec<(i64, i64)>,
}

/// A condition as `(field, operator, value)`.
type Triple = (&'static str, &'static str, &'static str);

/// An action as `(field, value)`.
type Pair = (&'static str, &'static str);

/// The default automations: (key, title, all conditions, actions).
const DEFAULTS: &[(&str, &str, &[Triple], &[Pair])] = &[(
    "close_solved",
    "Close ticket 4 days after status is set to solved",
    &[("status", "is", "solved"), ("SOLVED", "greater_than", "96")],
    &[("status", "closed")],
)];

/// What an automation's update changes in the end, as conditions see it: each field's last
/// value, and tags netted as a ticket's update applies them (a tag both added and removed is
/// removed).
fn net_changes(input: &TicketInput) -> (Vec<Change<'_>>, Vec<String>, Vec<String>) {
    let mut out = Vec::new();
    if let Some(s) = input.status {
        out.push(Change::Status(s));
    }
    if let Some(p) = input.priority {
        out.push(Change::Priority(p));
    }
    if let Some(t) = input.ticket_type {
        out.push(Change::Type(t));
    }
    if let Some(a) = input.assignee_id {
        out.push(Change::Assignee(a.map(|u| u.0)));
    }
    if let Some(g) = input.group_id {
        out.push(Change::Group(g.map(|g| g.0)));
    }
    let removed = crate::users::normalize_tags(&input.remove_tags);
    let added: Vec<String> = crate::users::normalize_tags(&input.additional_tags)
        .into_iter()
        .filter(|t| !removed.contains(t))
        .collect();
    let set: Vec<String> = match &input.tags {
        Some(set) => {
            let mut all = crate::users::normalize_tags(set);
            all.extend(added.iter().cloned());
            all.retain(|t| !removed.contains(t));
            all
        }
        None => Vec::new(),
    };
    (out, if input.tags.is_some() { set } else { added }, removed)
}

/// Whether an automation stops matching a ticket once it has changed it: its net change makes
/// one of its `all` conditions false, or one of them holds for one hour of a ticket's life.
fn stops_matching(all: &[Wire], actions: &[Action]) -> Result<bool> {
    if all.iter().any(conditions::holds_for_one_hour) {
        return Ok(true);
    }
    let input = input_of(actions)?;
    let (mut changes, tags, removed) = net_changes(&input);
    if input.tags.is_some() {
        changes.push(Change::SetTags(&tags));
    } else {
        changes.push(Change::AddTags(&tags));
        changes.push(Change::RemoveTags(&removed));
    }
    Ok(changes.iter().any(|ch| all.iter().any(|w| conditions::nullified_by(w, *ch))))
}

/// The ticket update an automation's actions make.
fn input_of(actions: &[Action]) -> Result<TicketInput> {
    let mut input = TicketInput::default();
    let mut fields = Vec::new();
    for a in actions {
        match super::macros::parse(a)? {
            Effect::Status(s) => input.status = Some(s),
            Effect::Priority(p) => input.priority = Some(p),
            Effect::Type(t) => input.ticket_type = Some(t),
            Effect::Assignee(Assignee::Id(u)) => input.assignee_id = Some(Some(u)),
            Effect::Assignee(_) => input.assignee_id = Some(None),
            Effect::Group(g) => input.group_id = Some(g),
            Effect::SetTags(t) => input.tags = Some(t),
            Effect::AddTags(t) => input.additional_tags.extend(t),
            Effect::RemoveTags(t) => input.remove_tags.extend(t),
            Effect::Field(id, v) => fields.push((id, v)),
            Effect::Subject(_) | Effect::Comment(_) | Effect::CommentHtml(_) | Effect::Public(_) => {}
        }
    }
    if !fields.is_empty() {
        input.custom_fields = Some(Personal::new(fields));
    }
    Ok(input)
}

impl Helpdesk {
    /// Checks an automation: its conditions as a view's, one at least counting hours, none
    /// naming whoever looks; its actions as a macro's, without replies or `current_user`; and
    /// that it stops matching what it changed.
    async fn check_automation(&self, scope: &Scope, all: &[Wire], any: &[Wire], actions: &[Action]) -> Result<(Vec<Wire>, Vec<Wire>, Vec<Action>)> {
        let (all, any) = conditions::check(all, any)?;
        if !all.iter().any(conditions::counts_hours) {
            return Err(HelpdeskError::invalid(
                "conditions",
                "conditions: an automation needs an hours condition under all (NEW, SOLVED, updated_at, due_date or until_due_date)",
            ));
        }
        if all.iter().chain(&any).any(conditions::names_the_viewer) {
            return Err(HelpdeskError::invalid(
                "conditions",
                "conditions: an automation runs with no one looking; current_user and current_groups mean nothing to it",
            ));
        }
        let actions = self.check_actions(scope, actions).await?;
        if all.iter().any(conditions::tests_closed) {
            return Err(HelpdeskError::invalid(
                "conditions",
                "conditions: closed tickets are final; an automation never changes them",
            ));
        }
        for a in &actions {
            match super::macros::parse(a)? {
                Effect::Subject(_) | Effect::Comment(_) | Effect::CommentHtml(_) | Effect::Public(_) => {
                    return Err(HelpdeskError::invalid(
                        "actions",
                        format!("actions: an automation changes fields and tags; {} is not one of them", a.field),
                    ));
                }
                Effect::Assignee(Assignee::CurrentUser) => {
                    return Err(HelpdeskError::invalid(
                        "actions",
                        "actions: an automation runs with no one looking; assign to an agent's id",
                    ));
                }
                _ => {}
            }
        }
        let stops = stops_matching(&all, &actions)?;
        if !stops {
            return Err(HelpdeskError::invalid(
                "conditions",
                "conditions: an automation must change something its conditions test (or test hours with is), or it would change the same tickets every hour",
            ));
        }
        Ok((all, any, actions))
    }

    /// Adds the default automations the tenant does not have yet.
    pub(crate) async fn ensure_default_automations(&self, tenant: TenantId) -> Result<()> {
        let mut c = self.db.read().await?;
        let have = suoja_store::rules::count_defaults(&mut c, tenant, Kind::Automation.as_str()).await?;
        drop(c);
        if have >= suoja_core::num::to_i64(DEFAULTS.len()) {
            return Ok(());
        }
        let now = self.now();
        let mut tx = self.db.begin().await?;
        for (i, (key, title, all, actions)) in DEFAULTS.iter().enumerate() {
            let actions = actions
                .iter()
                .map(|(f, v)| Action {
                    field: f.to_string(),
                    value: serde_json::Value::String(v.to_string()),
                })
                .collect();
            let all = all.iter().map(|(f, o, v)| Wire::new(f, o, v)).collect();
            let row = super::default_row(Kind::Automation, key, title, i, true, WhenThen::json(all, Vec::new(), actions)?, now);
            suoja_store::rules::insert(&mut tx, tenant, &row).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The automations (staff read them), in order; only active ones with `active`.
    pub async fn list_automations(&self, scope: &Scope, active: Option<bool>) -> Result<Vec<Automation>> {
        crate::require_staff(scope)?;
        self.ensure_default_automations(scope.tenant).await?;
        self.rules_of(scope, Kind::Automation, active)
            .await?
            .into_iter()
            .map(Automation::from_row)
            .collect()
    }

    /// One automation.
    pub async fn get_automation(&self, scope: &Scope, id: i64) -> Result<Automation> {
        Automation::from_row(self.rule(scope, Kind::Automation, id).await?)
    }

    /// Adds an automation (admins).
    pub async fn create_automation(&self, scope: &Scope, input: AutomationInput) -> Result<Automation> {
        automations_are_the_teams(scope, &input)?;
        let (all, any, actions) = self
            .check_automation(
                scope,
                input.all.as_deref().unwrap_or(&[]),
                input.any.as_deref().unwrap_or(&[]),
                input.actions.as_deref().unwrap_or(&[]),
            )
            .await?;
        let mut rule = input.rule.clone();
        rule.restriction = Some(None);
        Automation::from_row(self.add_rule(scope, Kind::Automation, &rule, WhenThen::json(all, any, actions)?).await?)
    }

    /// Changes an automation (admins); the whole of it is checked again.
    pub async fn update_automation(&self, scope: &Scope, id: i64, input: AutomationInput) -> Result<Automation> {
        automations_are_the_teams(scope, &input)?;
        if input.all.is_none() && input.any.is_none() && input.actions.is_none() && input.rule.active != Some(true) {
            // Title, order, out of use: the definition stays as it is (an automation whose
            // assignee has left can still be taken out of use; putting one back in use checks it).
            return Automation::from_row(self.change_rule(scope, Kind::Automation, id, &input.rule, |old| Ok(old.to_string())).await?);
        }
        let old = self.get_automation(scope, id).await?;
        let (all, any, actions) = self
            .check_automation(
                scope,
                input.all.as_deref().unwrap_or(&old.all),
                input.any.as_deref().unwrap_or(&old.any),
                input.actions.as_deref().unwrap_or(&old.actions),
            )
            .await?;
        let definition = WhenThen::json(all, any, actions)?;
        Automation::from_row(self.change_rule(scope, Kind::Automation, id, &input.rule, |_| Ok(definition)).await?)
    }

    /// Removes an automation (admins; not a default one).
    pub async fn delete_automation(&self, scope: &Scope, id: i64) -> Result<()> {
        if !scope.is_admin() {
            return Err(HelpdeskError::Forbidden("only admins change automations"));
        }
        self.remove_rule(scope, Kind::Automation, id).await
    }

    /// One pass of every tenant's active automations, in order (the worker runs it hourly).
    /// A ticket that refuses a change (a field required to solve it is empty) is left and
    /// counted; an automation that cannot run (a broken definition, a database error) is
    /// logged and the pass goes on with the next, and the next tenant. `stop` ends the pass
    /// between automations.
    pub async fn run_automations(&self) -> Result<PassReport> {
        self.run_automations_until(&|| false).await
    }

    /// As [`Self::run_automations`], ending early when `stop` says so.
    pub async fn run_automations_until(&self, stop: &(dyn Fn() -> bool + Sync)) -> Result<PassReport> {
        let tenants = {
            let mut c = self.db.read().await?;
            suoja_store::tenants::ids(&mut c).await?
        };
        let mut report = PassReport::default();
        for tenant in tenants {
            if stop() {
                break;
            }
            let scope = Scope::operator(tenant);
            let list = match self.ensure_default_automations(tenant).await {
                Ok(()) => self.list_automations(&scope, Some(true)).await,
                Err(e) => Err(e),
            };
            let list = match list {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(tenant.id = %tenant, error = %e, "reading the automations failed");
                    continue;
                }
            };
            let mut budget = MAX_PER_PASS;
            for a in list {
                if stop() || budget <= 0 {
                    break;
                }
                match self.run_automation(&scope, &a, budget, stop).await {
                    Ok((changed, refused)) => {
                        // Only changes spend the tenant's budget: tickets refusing every hour do
                        // not keep its later automations from running.
                        budget -= i64::try_from(changed).unwrap_or(i64::MAX);
                        if changed + refused > 0 {
                            tracing::info!(tenant.id = %tenant, automation.id = a.row.id, changed, refused, "automation ran");
                            report.ran.push((tenant.0, a.row.id, changed, refused));
                        }
                    }
                    Err(e) => {
                        tracing::warn!(tenant.id = %tenant, automation.id = a.row.id, error = %e, "an automation could not run");
                        report.failed.push((tenant.0, a.row.id));
                    }
                }
            }
        }
        Ok(report)
    }

    async fn run_automation(&self, scope: &Scope, a: &Automation, budget: i64, stop: &(dyn Fn() -> bool + Sync)) -> Result<(u64, u64)> {
        let input = input_of(&a.actions)?;
        let (mut changed, mut refused) = (0_u64, 0_u64);
        let mut after = 0;
        let mut seen = 0;
        // At most `budget` changes, and at most MAX_PER_PASS tickets looked at.
        while !stop() && i64::try_from(changed).unwrap_or(i64::MAX) < budget && seen < MAX_PER_PASS {
            let batch = BATCH.min(budget - i64::try_from(changed).unwrap_or(i64::MAX)).min(MAX_PER_PASS - seen);
            let (ids, filter): (Vec<TicketId>, _) = {
                let mut c = self.db.read().await?;
                let mut f = self.rule_filter(&mut c, scope, &a.all, &a.any).await?;
                // Closed tickets are final.
                if let Some(cs) = f.conditions.as_mut() {
                    cs.all.push(Condition::Ids {
                        column: IdColumn::StatusRank,
                        values: vec![Some(suoja_core::Status::Closed.rank())],
                        negate: true,
                    });
                }
                f.after = Some(after);
                let ids = suoja_store::tickets::list(&mut c, scope.tenant, &f, TicketSort::Id, batch, 0)
                    .await?
                    .into_iter()
                    .map(|r| r.id)
                    .collect();
                (ids, f)
            };
            let Some(last) = ids.last() else { break };
            after = last.0;
            for id in &ids {
                // Each ticket in a transaction of its own: writers wait for one ticket at most, and
                // a ticket that fails for any reason is undone alone while the pass goes on.
                // (Measured at 1 000 000 tickets, 25 tickets a transaction in savepoints was no
                // faster: the full-text index writes out its changes at every savepoint anyway.)
                match self.change_if_still_matching(scope, *id, &filter, &input).await {
                    Ok(true) => changed += 1,
                    // Changed since it was found (reopened, reassigned): it no longer matches.
                    Ok(false) => {}
                    Err(e) => {
                        if !matches!(e, HelpdeskError::Invalid { .. } | HelpdeskError::Conflict(_) | HelpdeskError::NotFound(_)) {
                            tracing::warn!(tenant.id = %scope.tenant, automation.id = a.row.id, ticket.id = %id, error = %e, "an automation could not change a ticket");
                        }
                        refused += 1;
                    }
                }
            }
            seen += suoja_core::num::to_i64(ids.len());
        }
        Ok((changed, refused))
    }
}

impl Helpdesk {
    /// Changes a ticket the pass found, in a transaction of its own, if the automation's
    /// conditions still hold once its row is locked: a person's change made between the pass
    /// finding the ticket and changing it is not overruled. Whether it was changed.
    async fn change_if_still_matching(
        &self,
        scope: &Scope,
        id: TicketId,
        filter: &suoja_store::tickets::TicketFilter,
        input: &crate::model::TicketInput,
    ) -> Result<bool> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        if suoja_store::tickets::by_id_for_update(&mut tx, scope.tenant, id).await?.is_none() {
            return Ok(false);
        }
        let mut f = filter.clone();
        f.after = Some(id.0 - 1);
        let still = suoja_store::tickets::list(&mut tx, scope.tenant, &f, TicketSort::Id, 1, 0)
            .await?
            .first()
            .is_some_and(|r| r.id == id);
        if !still {
            return Ok(false);
        }
        self.update_ticket_in(&mut tx, scope, id, input.clone(), now).await?;
        tx.commit().await?;
        Ok(true)
    }
}

fn automations_are_the_teams(scope: &Scope, input: &AutomationInput) -> Result<()> {
    if !scope.is_admin() {
        return Err(HelpdeskError::Forbidden("only admins change automations"));
    }
    if matches!(input.rule.restriction, Some(Some(_))) {
        return Err(HelpdeskError::invalid("restriction", "restriction: automations are the team's, never personal"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(field: &str, operator: &str, value: &str) -> Wire {
        Wire::new(field, operator, value)
    }

    fn act(field: &str, value: &str) -> Action {
        Action {
            field: field.into(),
            value: serde_json::Value::String(value.into()),
        }
    }

    fn stops(all: &[Wire], actions: &[Action]) -> bool {
        stops_matching(all, actions).unwrap()
    }

    #[test]
    fn an_automation_must_stop_matching_what_it_changed() {
        let solved = [w("status", "is", "solved"), w("SOLVED", "greater_than", "96")];
        assert!(stops(&solved, &[act("status", "closed")]));
        assert!(!stops(&solved, &[act("priority", "high")]), "a priority change leaves it solved");
        assert!(!stops(&solved, &[act("status", "solved")]), "solved again is still solved");
        let pending = [w("status", "less_than", "solved"), w("updated_at", "greater_than", "48")];
        assert!(stops(&pending, &[act("status", "solved")]));
        assert!(!stops(&pending, &[act("status", "open")]));
        let untagged = [w("current_tags", "not_includes", "reminded"), w("NEW", "greater_than", "24")];
        assert!(stops(&untagged, &[act("current_tags", "Reminded")]), "tags compare as tickets keep them");
        assert!(!stops(&untagged, &[act("current_tags", "other")]));
        let tagged = [w("current_tags", "includes", "a b"), w("NEW", "greater_than", "24")];
        assert!(stops(&tagged, &[act("remove_tags", "a b")]));
        assert!(!stops(&tagged, &[act("remove_tags", "a")]), "b still holds");
        assert!(stops(&tagged, &[act("set_tags", "c")]));
        let unassigned = [w("assignee_id", "is", ""), w("NEW", "greater_than", "1")];
        assert!(stops(&unassigned, &[act("assignee_id", "7")]));
        assert!(!stops(&unassigned, &[act("assignee_id", "")]));
        // `is` some hours holds for one hour of a ticket's life.
        assert!(stops(&[w("NEW", "is", "24")], &[act("priority", "high")]));
        // Not hours since the last update: the change starts them again.
        assert!(!stops(&[w("updated_at", "is", "0")], &[act("priority", "high")]));
        // The net change counts: the last status wins, a tag added and removed is neither.
        assert!(!stops(&pending, &[act("status", "solved"), act("status", "open")]));
        assert!(
            !stops(&untagged, &[act("current_tags", "reminded"), act("remove_tags", "reminded")]),
            "removing wins"
        );
        assert!(stops(&tagged, &[act("current_tags", "a b"), act("remove_tags", "a b")]), "removing wins");
        assert!(!stops(&tagged, &[act("set_tags", "b"), act("current_tags", "a")]), "a is still there");
        let low = [w("priority", "less_than", "high"), w("NEW", "greater_than", "4")];
        assert!(stops(&low, &[act("priority", "urgent")]));
        assert!(!stops(&low, &[act("priority", "")]), "no priority is below high");
    }
}
