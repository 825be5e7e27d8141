//! SLA policies (Zendesk's `slas/policies`) and the clocks they run on tickets.
//!
//! A policy is a business rule of kind `sla`: a filter (conditions on the ticket, as a
//! trigger's) and targets — one per priority and metric, in minutes of calendar or business
//! hours. The first policy in order whose filter holds applies to a ticket; a ticket without a
//! priority takes the `normal` targets. Business hours are the tenant's first schedule
//! ([`super::schedules`]); without one, business hours are calendar hours.
//!
//! The clocks are computed from what the ticket's history already holds — its status changes
//! (audits) and its comments (when, public or not, by staff or not) — so nothing is stored but
//! the moment of the next breach ([`suoja_store::schedules::set_breach`]), kept with every
//! change so views find overdue tickets by index. The metrics:
//! - `first_reply_time`: from creation to the first public reply by staff;
//! - `next_reply_time`: from a requester's public comment after a staff reply to the next one;
//! - `periodic_update` / `pausable_update`: from a public staff comment to the next, the
//!   latter paused while the ticket is pending or on hold;
//! - `requester_wait_time`: time in new, open and on-hold, paused while pending;
//! - `agent_work_time`: time in new and open;
//! - `total_resolution_time`: from creation until solved, reopened time counted too.
//!
//! Every metric stops (is achieved) when the ticket is solved.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use suoja_core::business_hours::BusinessHours;
use suoja_core::{Priority, Scope, Status, TenantId, TicketId, Timestamp, UserId};
use suoja_store::rules::RuleRow;

use super::conditions::{self, TicketState, Wire};
use super::kept::Versions;
use super::{Kind, RuleInput};
use crate::{Helpdesk, HelpdeskError, Result};

/// The metrics a policy may target.
pub const METRICS: &[&str] = &[
    "first_reply_time",
    "next_reply_time",
    "periodic_update",
    "pausable_update",
    "requester_wait_time",
    "agent_work_time",
    "total_resolution_time",
];

/// The longest target: a year, in minutes.
pub const MAX_TARGET_MINUTES: i64 = 525_600;

const MINUTE: i64 = 60_000;

/// One target of a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyMetric {
    /// `low`, `normal`, `high` or `urgent`.
    pub priority: String,
    /// One of [`METRICS`].
    pub metric: String,
    /// Minutes.
    pub target: i64,
    /// Counted in business hours (else calendar hours).
    #[serde(default)]
    pub business_hours: bool,
}

/// A policy's definition as stored.
#[derive(Serialize, Deserialize)]
struct Definition {
    #[serde(default)]
    all: Vec<Wire>,
    #[serde(default)]
    any: Vec<Wire>,
    policy_metrics: Vec<PolicyMetric>,
}

/// An SLA policy.
#[derive(Debug, Clone)]
pub struct SlaPolicy {
    /// The stored rule.
    pub row: RuleRow,
    /// Conditions that must all hold.
    pub all: Vec<Wire>,
    /// Conditions of which one must hold (when given).
    pub any: Vec<Wire>,
    /// Its targets.
    pub metrics: Vec<PolicyMetric>,
}

impl SlaPolicy {
    fn from_row(row: RuleRow) -> Result<SlaPolicy> {
        let d: Definition = serde_json::from_str(&row.definition).map_err(|e| HelpdeskError::Internal(format!("sla {}: {e}", row.id)))?;
        Ok(SlaPolicy {
            row,
            all: d.all,
            any: d.any,
            metrics: d.policy_metrics,
        })
    }

    /// Whether the policy's filter holds on the ticket.
    fn applies(&self, t: &TicketState) -> Result<bool> {
        for w in &self.all {
            if !conditions::holds_on(w, t, 0)? {
                return Ok(false);
            }
        }
        if self.any.is_empty() {
            return Ok(true);
        }
        for w in &self.any {
            if conditions::holds_on(w, t, 0)? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// What a create or update gives (`None`: left as it is).
#[derive(Debug, Clone, Default)]
pub struct SlaInput {
    /// Title, description, position.
    pub rule: RuleInput,
    /// Filter conditions that must all hold.
    pub all: Option<Vec<Wire>>,
    /// Filter conditions of which one must hold.
    pub any: Option<Vec<Wire>>,
    /// Targets.
    pub metrics: Option<Vec<PolicyMetric>>,
}

/// Checks a policy's filter: conditions on the ticket as it stands (no hours, no viewer).
fn check_filter(all: &[Wire], any: &[Wire]) -> Result<(Vec<Wire>, Vec<Wire>)> {
    let (all, any) = conditions::check(all, any)?;
    for w in all.iter().chain(&any) {
        if conditions::counts_hours(w) {
            return Err(HelpdeskError::invalid(
                "filter",
                format!("filter: {} counts hours; an SLA policy's filter tests the ticket as it stands", w.field),
            ));
        }
        let v = w.value.as_str().unwrap_or_default();
        if v == "current_user" || v == "current_groups" {
            return Err(HelpdeskError::invalid(
                "filter",
                "filter: an SLA policy applies whoever looks; current_user and current_groups mean nothing to it",
            ));
        }
    }
    Ok((all, any))
}

/// Checks a policy's targets: known priorities and metrics, one to a year of minutes, one
/// target per priority and metric.
fn check_metrics(metrics: &[PolicyMetric]) -> Result<Vec<PolicyMetric>> {
    if metrics.len() > Priority::ALL.len() * METRICS.len() {
        return Err(HelpdeskError::invalid(
            "policy_metrics",
            "policy_metrics: at most one target per priority and metric",
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for m in metrics {
        if Priority::parse(&m.priority).is_err() {
            return Err(HelpdeskError::invalid(
                "policy_metrics",
                format!("policy_metrics: priority is low, normal, high or urgent, not {:?}", m.priority),
            ));
        }
        if !METRICS.contains(&m.metric.as_str()) {
            return Err(HelpdeskError::invalid(
                "policy_metrics",
                format!("policy_metrics: unknown metric {:?}; Suoja counts {}", m.metric, METRICS.join(", ")),
            ));
        }
        if !(1..=MAX_TARGET_MINUTES).contains(&m.target) {
            return Err(HelpdeskError::invalid(
                "policy_metrics",
                format!("policy_metrics: a target is 1 to {MAX_TARGET_MINUTES} minutes, not {}", m.target),
            ));
        }
        if !seen.insert((m.priority.clone(), m.metric.clone())) {
            return Err(HelpdeskError::invalid(
                "policy_metrics",
                format!("policy_metrics: {} has two targets for {} priority", m.metric, m.priority),
            ));
        }
    }
    Ok(metrics.to_vec())
}

fn definition_json(all: Vec<Wire>, any: Vec<Wire>, policy_metrics: Vec<PolicyMetric>) -> Result<String> {
    serde_json::to_string(&Definition { all, any, policy_metrics }).map_err(|e| HelpdeskError::Internal(e.to_string()))
}

/// Where a metric stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Its clock runs.
    Active,
    /// Its clock is stopped for now (the ticket waits for the requester).
    Paused,
    /// It was met, late or not (or the ticket was solved).
    Achieved,
}

/// A metric of the policy applying to a ticket, as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricState {
    /// Which.
    pub metric: &'static str,
    /// Its target in minutes.
    pub target: i64,
    /// Counted in business hours.
    pub business_hours: bool,
    /// Where it stands.
    pub stage: Stage,
    /// When a running clock misses the target (`None` when it does not run).
    pub breach_at: Option<Timestamp>,
    /// Whether the target was missed (now, or at an earlier turn of the metric).
    pub breached: bool,
}

/// The policy applying to a ticket and its metrics.
#[derive(Debug, Clone)]
pub struct TicketSla {
    /// The policy's id and title.
    pub policy: (i64, String),
    /// The metrics of the ticket's priority.
    pub metrics: Vec<MetricState>,
}

impl TicketSla {
    /// The moment the first running clock misses its target.
    pub fn next_breach(&self) -> Option<Timestamp> {
        self.metrics.iter().filter(|m| m.stage == Stage::Active).filter_map(|m| m.breach_at).min()
    }
}

/// A tenant's SLA policies in use and the hours business-hours targets count, read once for
/// many tickets.
pub(crate) struct SlaRules {
    policies: std::sync::Arc<Vec<SlaPolicy>>,
    hours: BusinessHours,
}

/// A ticket's history as the clocks read it.
#[derive(Debug, Clone)]
pub(crate) struct Timeline {
    /// Created.
    pub created_at: Timestamp,
    /// The status from each moment on, in order, the first at creation.
    pub statuses: Vec<(Timestamp, Status)>,
    /// Comments in order: when, public, written by staff. The first is the request itself.
    pub comments: Vec<(Timestamp, bool, bool)>,
}

impl Timeline {
    /// The spans (to `now`) in which the status is one of `counting`.
    fn spans(&self, counting: &[Status], now: Timestamp) -> Vec<(Timestamp, Timestamp)> {
        let mut out = Vec::new();
        for (i, (from, s)) in self.statuses.iter().enumerate() {
            let to = self.statuses.get(i + 1).map_or(now, |n| n.0);
            if counting.contains(s) && to.0 > from.0 {
                out.push((*from, to));
            }
        }
        out
    }

    /// The current status.
    fn status(&self) -> Option<Status> {
        self.statuses.last().map(|s| s.1)
    }

    /// Public staff comments, the request itself included when staff wrote it in public (a
    /// ticket an agent opens for its requester starts answered).
    fn staff_replies(&self) -> impl Iterator<Item = Timestamp> + '_ {
        self.comments.iter().filter(|c| c.1 && c.2).map(|c| c.0)
    }
}

fn clip(spans: &[(Timestamp, Timestamp)], from: Timestamp, to: Timestamp) -> Vec<(Timestamp, Timestamp)> {
    spans
        .iter()
        .filter_map(|(a, b)| {
            let (a, b) = (a.0.max(from.0), b.0.min(to.0));
            (a < b).then_some((Timestamp(a), Timestamp(b)))
        })
        .collect()
}

/// Walks counted spans against a target: the open time they hold, and the moment the target
/// is reached within them (`None`: not within them).
fn consume(h: &BusinessHours, spans: &[(Timestamp, Timestamp)], target_ms: i64) -> (i64, Option<Timestamp>) {
    let mut used = 0;
    for (a, b) in spans {
        let open = h.open_between(*a, *b);
        if used + open >= target_ms {
            return (used + open, h.add(*a, target_ms - used));
        }
        used += open;
    }
    (used, None)
}

/// A clock's stage: achieved once the ticket is solved, else running or paused.
fn stage(solved: bool, running: bool) -> Stage {
    if solved {
        Stage::Achieved
    } else if running {
        Stage::Active
    } else {
        Stage::Paused
    }
}

/// One turn of a metric measured over `spans`, its clock still running at `now` when
/// `running`: its stage, breach moment and whether it was missed.
fn turn(h: &BusinessHours, spans: &[(Timestamp, Timestamp)], target_ms: i64, running: bool, now: Timestamp) -> (Option<Timestamp>, bool) {
    let (used, crossed) = consume(h, spans, target_ms);
    match crossed {
        Some(at) => (Some(at), at.0 <= now.0),
        None if running => {
            // The last span runs to now and on: the target falls where the open time left runs out.
            let from = spans.last().map_or(now, |s| s.1);
            (h.add(from, target_ms - used), false)
        }
        None => (None, false),
    }
}

/// A metric's state on a ticket at `now`; `None` when the metric has not begun (a next reply
/// before the first, an update before any staff reply).
pub(crate) fn measure(metric: &PolicyMetric, tl: &Timeline, hours: &BusinessHours, now: Timestamp) -> Option<MetricState> {
    let target_ms = metric.target.saturating_mul(MINUTE);
    let solved = matches!(tl.status(), Some(Status::Solved | Status::Closed));
    let all = [Status::New, Status::Open, Status::Pending, Status::Hold];
    let h = if metric.business_hours { hours } else { &BusinessHours::always() };
    let state = |stage: Stage, breach_at: Option<Timestamp>, breached: bool| MetricState {
        metric: METRICS.iter().copied().find(|m| *m == metric.metric).unwrap_or("first_reply_time"),
        target: metric.target,
        business_hours: metric.business_hours,
        stage,
        breach_at: if stage == Stage::Active { breach_at } else { None },
        breached,
    };
    // A cumulative clock over the statuses it counts, paused in the others, stopped at solved.
    let cumulative = |counting: &[Status]| {
        let spans = tl.spans(counting, now);
        let running = !solved && tl.status().is_some_and(|s| counting.contains(&s));
        let (at, missed) = turn(h, &spans, target_ms, running, now);
        state(stage(solved, running), at, missed)
    };
    match metric.metric.as_str() {
        "requester_wait_time" => Some(cumulative(&[Status::New, Status::Open, Status::Hold])),
        "agent_work_time" => Some(cumulative(&[Status::New, Status::Open])),
        "total_resolution_time" => Some(cumulative(&all)),
        "first_reply_time" => {
            // A request an agent wrote in public for the requester is its own first reply.
            if tl.comments.first().is_some_and(|c| c.1 && c.2) {
                return Some(state(Stage::Achieved, None, false));
            }
            let reply = tl.staff_replies().next();
            let end = reply.unwrap_or(now);
            let spans = clip(&tl.spans(&all, now), tl.created_at, end);
            let running = reply.is_none() && !solved;
            let (at, missed) = turn(h, &spans, target_ms, running, end);
            Some(state(if running { Stage::Active } else { Stage::Achieved }, at, missed))
        }
        "next_reply_time" => {
            // Each end user's public comment after a staff reply starts a turn; the next staff
            // reply ends it.
            let mut missed = false;
            let mut open_from: Option<Timestamp> = None;
            let mut replied = false;
            for (at, public, staff) in &tl.comments {
                if *public && *staff {
                    if let Some(from) = open_from.take() {
                        let spans = clip(&tl.spans(&all, now), from, *at);
                        missed |= turn(h, &spans, target_ms, false, *at).1;
                    }
                    replied = true;
                } else if *public && !*staff && replied && open_from.is_none() {
                    open_from = Some(*at);
                }
            }
            if !replied {
                return None;
            }
            match open_from {
                Some(from) => {
                    // Solved, the turn ends where the unsolved time does (the spans stop there).
                    let spans = clip(&tl.spans(&all, now), from, now);
                    let (at, m) = turn(h, &spans, target_ms, !solved, now);
                    Some(state(if solved { Stage::Achieved } else { Stage::Active }, at, missed || m))
                }
                None => Some(state(Stage::Achieved, None, missed)),
            }
        }
        "periodic_update" | "pausable_update" => {
            let counting: &[Status] = if metric.metric == "pausable_update" {
                &[Status::New, Status::Open]
            } else {
                &all
            };
            let replies: Vec<Timestamp> = tl.staff_replies().collect();
            let last = *replies.last()?;
            let mut missed = false;
            for (from, to) in replies.iter().zip(replies.iter().skip(1)) {
                let spans = clip(&tl.spans(counting, now), *from, *to);
                missed |= turn(h, &spans, target_ms, false, *to).1;
            }
            // The turn since the last one, to now or (solved) to where the unsolved time stops.
            let running = !solved && tl.status().is_some_and(|s| counting.contains(&s));
            let spans = clip(&tl.spans(counting, now), last, now);
            let (at, m) = turn(h, &spans, target_ms, running, now);
            Some(state(stage(solved, running), at, missed || m))
        }
        _ => None,
    }
}

/// A ticket's clocks under `policy` with `targets` for its priority (none measured without a
/// timeline).
fn sla_of(policy: &SlaPolicy, targets: &[&PolicyMetric], timeline: Option<&Timeline>, hours: &BusinessHours, now: Timestamp) -> TicketSla {
    TicketSla {
        policy: (policy.row.id, policy.row.title.clone()),
        metrics: match timeline {
            Some(tl) => targets.iter().filter_map(|m| measure(m, tl, hours, now)).collect(),
            None => Vec::new(),
        },
    }
}

impl Helpdesk {
    /// The SLA policies (staff read them), in order.
    pub async fn list_sla_policies(&self, scope: &Scope) -> Result<Vec<SlaPolicy>> {
        self.rules_of(scope, Kind::Sla, None).await?.into_iter().map(SlaPolicy::from_row).collect()
    }

    /// One SLA policy.
    pub async fn get_sla_policy(&self, scope: &Scope, id: i64) -> Result<SlaPolicy> {
        SlaPolicy::from_row(self.rule(scope, Kind::Sla, id).await?)
    }

    /// Adds a policy (admins), last in order unless a position is given; the tickets not yet
    /// solved are measured against it.
    pub async fn create_sla_policy(&self, scope: &Scope, input: SlaInput) -> Result<SlaPolicy> {
        policies_are_the_teams(scope, &input)?;
        let (all, any) = check_filter(input.all.as_deref().unwrap_or(&[]), input.any.as_deref().unwrap_or(&[]))?;
        let metrics = check_metrics(input.metrics.as_deref().unwrap_or(&[]))?;
        let mut rule = input.rule.clone();
        rule.restriction = Some(None);
        rule.active = Some(true);
        let row = self.add_rule(scope, Kind::Sla, &rule, definition_json(all, any, metrics)?).await?;
        self.sla_cache.forget(scope.tenant);
        self.remeasure_later(scope.tenant);
        SlaPolicy::from_row(row)
    }

    /// Changes a policy (admins).
    pub async fn update_sla_policy(&self, scope: &Scope, id: i64, input: SlaInput) -> Result<SlaPolicy> {
        policies_are_the_teams(scope, &input)?;
        let old = self.get_sla_policy(scope, id).await?;
        let (all, any) = check_filter(input.all.as_deref().unwrap_or(&old.all), input.any.as_deref().unwrap_or(&old.any))?;
        let metrics = check_metrics(input.metrics.as_deref().unwrap_or(&old.metrics))?;
        let definition = definition_json(all, any, metrics)?;
        let row = self.change_rule(scope, Kind::Sla, id, &input.rule, |_| Ok(definition)).await?;
        self.sla_cache.forget(scope.tenant);
        self.remeasure_later(scope.tenant);
        SlaPolicy::from_row(row)
    }

    /// Removes a policy (admins).
    pub async fn delete_sla_policy(&self, scope: &Scope, id: i64) -> Result<()> {
        if !scope.is_admin() {
            return Err(HelpdeskError::Forbidden("only admins change SLA policies"));
        }
        self.remove_rule(scope, Kind::Sla, id).await?;
        self.sla_cache.forget(scope.tenant);
        self.remeasure_later(scope.tenant);
        Ok(())
    }

    /// Puts the policies named in `ids` first, in that order (admins); the others follow.
    pub async fn reorder_sla_policies(&self, scope: &Scope, ids: &[i64]) -> Result<Vec<SlaPolicy>> {
        if !scope.is_admin() {
            return Err(HelpdeskError::Forbidden("only admins change SLA policies"));
        }
        let now = self.now();
        let mut tx = self.db.begin().await?;
        if !super::reorder(&mut tx, scope, Kind::Sla, ids, now).await? {
            return Err(HelpdeskError::invalid(
                "sla_policy_ids",
                "sla_policy_ids: the tenant's SLA policy ids, each once, in the order wanted",
            ));
        }
        tx.commit().await?;
        self.sla_cache.forget(scope.tenant);
        self.remeasure_later(scope.tenant);
        self.list_sla_policies(scope).await
    }

    /// The tenant's business hours: its first schedule with its holidays; calendar hours when
    /// it has none.
    pub(crate) async fn business_hours(&self, c: &mut suoja_store::Conn, tenant: TenantId) -> Result<BusinessHours> {
        let Some(first) = suoja_store::schedules::list(c, tenant).await?.into_iter().next() else {
            return Ok(BusinessHours::always());
        };
        super::schedules::hours_of(c, tenant, &first).await
    }

    /// The tenant's active policies, in order, with the business hours when a target counts
    /// them; `None` when it has no policy in use.
    async fn sla_rules(&self, c: &mut suoja_store::Conn, tenant: TenantId) -> Result<Option<SlaRules>> {
        self.sla_rules_known(c, tenant, None).await
    }

    /// [`Self::sla_rules`]; with `known` (the versions read with a change's triggers) the
    /// policies are kept between requests by their version.
    async fn sla_rules_known(&self, c: &mut suoja_store::Conn, tenant: TenantId, known: Option<&Versions>) -> Result<Option<SlaRules>> {
        let read = async {
            suoja_store::rules::list_active_shared(c, tenant, Kind::Sla.as_str())
                .await?
                .into_iter()
                .map(SlaPolicy::from_row)
                .collect::<Result<Vec<_>>>()
        };
        let policies = self.sla_cache.get_or_read(tenant, known.map(|v| v.sla), read).await?;
        if policies.is_empty() {
            return Ok(None);
        }
        // The schedule is read even when no target counts business hours: metric events give
        // every turn's time in business hours too.
        let hours = self.business_hours(c, tenant).await?;
        Ok(Some(SlaRules { policies, hours }))
    }

    /// The policy applying to a ticket and its clocks at `now`, read in `c` (the caller's
    /// transaction sees its own changes); `None` when no policy applies.
    pub(crate) async fn measure_ticket(&self, c: &mut suoja_store::Conn, tenant: TenantId, id: TicketId, now: Timestamp) -> Result<Option<TicketSla>> {
        let Some(rules) = self.sla_rules(c, tenant).await? else {
            return Ok(None);
        };
        let Some(row) = suoja_store::tickets::by_id(c, tenant, id).await? else {
            return Ok(None);
        };
        self.measure_row(c, tenant, &row, &rules, now).await
    }

    /// The policy applying to a ticket under the tenant's rules, and its targets for the
    /// ticket's priority.
    async fn applying<'r>(
        &self,
        c: &mut suoja_store::Conn,
        tenant: TenantId,
        row: &suoja_store::tickets::TicketRow,
        rules: &'r SlaRules,
    ) -> Result<Option<(&'r SlaPolicy, Vec<&'r PolicyMetric>)>> {
        let state = self.trigger_state(c, tenant, row).await?;
        for p in rules.policies.iter() {
            if p.applies(&state)? {
                let priority = state.priority.unwrap_or(Priority::Normal);
                return Ok(Some((p, p.metrics.iter().filter(|m| m.priority == priority.as_str()).collect())));
            }
        }
        Ok(None)
    }

    /// A ticket's clocks under the tenant's rules.
    async fn measure_row(
        &self,
        c: &mut suoja_store::Conn,
        tenant: TenantId,
        row: &suoja_store::tickets::TicketRow,
        rules: &SlaRules,
        now: Timestamp,
    ) -> Result<Option<TicketSla>> {
        let Some((policy, targets)) = self.applying(c, tenant, row, rules).await? else {
            return Ok(None);
        };
        if targets.is_empty() {
            return Ok(Some(sla_of(policy, &targets, None, &rules.hours, now)));
        }
        let timeline = self.timeline(c, tenant, row).await?;
        Ok(Some(sla_of(policy, &targets, Some(&timeline), &rules.hours, now)))
    }

    /// A ticket's status changes (from its audits) and comments, as the clocks read them.
    async fn timeline(&self, c: &mut suoja_store::Conn, tenant: TenantId, row: &suoja_store::tickets::TicketRow) -> Result<Timeline> {
        let mut statuses: Vec<(Timestamp, Status)> = Vec::new();
        // The status a first change left, when no audit records the ticket's creation.
        let mut before_first: Option<Status> = None;
        for (at, events) in suoja_store::ticket_audits::status_changes(c, tenant, row.id).await? {
            let events: Vec<Value> = serde_json::from_str(&events).unwrap_or_default();
            for e in &events {
                let kind = e.get("type").and_then(Value::as_str);
                if matches!(kind, Some("Create" | "Change"))
                    && e.get("field_name").and_then(Value::as_str) == Some("status")
                    && let Some(s) = e.get("value").and_then(Value::as_str).and_then(|s| Status::parse(s).ok())
                {
                    if statuses.is_empty() && kind == Some("Change") {
                        before_first = e.get("previous_value").and_then(Value::as_str).and_then(|s| Status::parse(s).ok());
                    }
                    statuses.push((at, s));
                }
            }
        }
        statuses.sort_by_key(|s| s.0);
        if statuses.first().is_none_or(|s| s.0.0 > row.created_at.0) {
            // History from before audits were kept: the status the first change left, else the
            // ticket's status, since it was created.
            let first = before_first.or_else(|| statuses.first().map(|s| s.1)).unwrap_or(row.status);
            statuses.insert(0, (row.created_at, first));
        }
        let comments = suoja_store::comments::timeline(c, tenant, row.id).await?;
        let mut authors: Vec<UserId> = comments.iter().map(|c| c.1).collect();
        authors.sort_unstable();
        authors.dedup();
        let staff: std::collections::BTreeSet<UserId> = suoja_store::users::by_ids(c, tenant, &authors)
            .await?
            .into_iter()
            .filter(|u| u.role.is_staff())
            .map(|u| u.id)
            .collect();
        Ok(Timeline {
            created_at: row.created_at,
            statuses,
            comments: comments.into_iter().map(|(at, author, public)| (at, public, staff.contains(&author))).collect(),
        })
    }

    /// Keeps a ticket's next breach after a change, in the change's transaction, and records
    /// its new metric events while the tenant has a policy in use.
    /// `known`: the versions read with the change's triggers, if they ran.
    pub(crate) async fn keep_sla(&self, c: &mut suoja_store::Conn, tenant: TenantId, id: TicketId, now: Timestamp, known: Option<&Versions>) -> Result<()> {
        self.keep_sla_of(c, tenant, id, now, false, known).await
    }

    /// [`Self::keep_sla`] for a ticket created in the caller's transaction, which has no
    /// breach time stored yet (one statement fewer for every new ticket).
    pub(crate) async fn keep_new_ticket_sla(
        &self,
        c: &mut suoja_store::Conn,
        tenant: TenantId,
        id: TicketId,
        now: Timestamp,
        known: Option<&Versions>,
    ) -> Result<()> {
        self.keep_sla_of(c, tenant, id, now, true, known).await
    }

    async fn keep_sla_of(&self, c: &mut suoja_store::Conn, tenant: TenantId, id: TicketId, now: Timestamp, new: bool, known: Option<&Versions>) -> Result<()> {
        let mut next = None;
        if let Some(rules) = self.sla_rules_known(c, tenant, known).await?
            && let Some(row) = suoja_store::tickets::by_id(c, tenant, id).await?
        {
            let applying = self.applying(c, tenant, &row, &rules).await?;
            let timeline = self.timeline(c, tenant, &row).await?;
            if let Some((policy, targets)) = &applying {
                next = sla_of(policy, targets, Some(&timeline), &rules.hours, now).next_breach();
            }
            let stored = suoja_store::metric_events::for_ticket(c, tenant, id).await?;
            let recording = super::metric_events::plan(id, &stored, applying.as_ref(), &timeline, &rules.hours, now);
            self.write_recording(c, tenant, id, &recording, now).await?;
        }
        let stored = if new { None } else { suoja_store::schedules::breach_of(c, tenant, id).await? };
        if next != stored {
            suoja_store::schedules::set_breach(c, tenant, id, next).await?;
        }
        Ok(())
    }

    /// The policy and clocks of a ticket `scope` may read (Zendesk's `include=slas`).
    pub async fn ticket_sla(&self, scope: &Scope, id: TicketId) -> Result<Option<TicketSla>> {
        crate::require_staff(scope)?;
        let mut c = self.db.read().await?;
        self.measure_ticket(&mut c, scope.tenant, id, self.now()).await
    }

    /// Whether the tenant has an SLA policy in use.
    pub(crate) async fn has_sla_policies(&self, tenant: TenantId) -> Result<bool> {
        let mut c = self.db.read().await?;
        Ok(!suoja_store::rules::list_active_shared(&mut c, tenant, Kind::Sla.as_str()).await?.is_empty())
    }

    /// Whether the tenant's SLA clocks are being measured again now (a benchmark waits for it).
    pub fn remeasuring(&self, tenant: TenantId) -> bool {
        self.remeasuring.lock().unwrap_or_else(std::sync::PoisonError::into_inner).contains_key(&tenant)
    }

    /// Measures every ticket of the tenant not yet solved again, in batches (a policy or
    /// schedule changed), in the background; failures are logged. One pass a tenant at a
    /// time: changes made during a pass ask for one more pass after it, however many they are.
    pub(crate) fn remeasure_later(&self, tenant: TenantId) {
        {
            let mut running = self.remeasuring.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(again) = running.get_mut(&tenant) {
                *again = true;
                return;
            }
            running.insert(tenant, false);
        }
        let hd = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = hd.remeasure(tenant).await {
                    tracing::warn!(tenant.id = %tenant, error = %e, "SLA breaches not measured again");
                }
                let mut running = hd.remeasuring.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if running.get(&tenant) == Some(&true) {
                    running.insert(tenant, false);
                    continue;
                }
                running.remove(&tenant);
                break;
            }
        });
    }

    /// Measures every ticket of the tenant not yet solved again; how many. Tickets are
    /// measured a batch at a time on a read connection, the rules and business hours read once
    /// a batch; only changed moments are written, in a short transaction of their own, and only
    /// where the ticket has not changed since it was measured (its own change kept it then).
    pub async fn remeasure(&self, tenant: TenantId) -> Result<usize> {
        let mut after = 0;
        let mut n = 0;
        loop {
            let now = self.now();
            let mut changes = Vec::new();
            let mut recordings = Vec::new();
            let rows = {
                let mut c = self.db.read().await?;
                let rows = suoja_store::schedules::unsolved_after(&mut c, tenant, after, 200).await?;
                let rules = self.sla_rules(&mut c, tenant).await?;
                for (row, kept) in &rows {
                    let applying = match &rules {
                        Some(r) => self.applying(&mut c, tenant, row, r).await?,
                        None => None,
                    };
                    // Metric events: a policy that now applies is recorded, and breaches to come
                    // that the change calls off are marked. A ticket with neither is left for its
                    // next change.
                    let stored = suoja_store::metric_events::for_ticket(&mut c, tenant, row.id).await?;
                    let pending = stored.iter().any(|s| s.kind == "breach" && !s.deleted && s.time > now);
                    let timeline = if applying.as_ref().is_some_and(|a| !a.1.is_empty()) || pending {
                        Some(self.timeline(&mut c, tenant, row).await?)
                    } else {
                        None
                    };
                    let next = match (&applying, &timeline, &rules) {
                        (Some((policy, targets)), Some(tl), Some(r)) => sla_of(policy, targets, Some(tl), &r.hours, now).next_breach(),
                        _ => None,
                    };
                    if next != *kept {
                        changes.push((row.id, next, row.updated_at));
                    }
                    if let Some(tl) = &timeline {
                        let always = BusinessHours::always();
                        let hours = rules.as_ref().map_or(&always, |r| &r.hours);
                        let recording = super::metric_events::plan(row.id, &stored, applying.as_ref(), tl, hours, now);
                        if !recording.is_empty() {
                            recordings.push((row.id, recording, row.updated_at));
                        }
                    }
                }
                rows
            };
            let Some((last, _)) = rows.last() else { return Ok(n) };
            after = last.id.0;
            if !changes.is_empty() || !recordings.is_empty() {
                let mut tx = self.db.begin().await?;
                for (id, next, seen) in changes {
                    suoja_store::schedules::set_breach_if_unchanged(&mut tx, tenant, id, next, seen).await?;
                }
                for (id, recording, seen) in recordings {
                    // A ticket changed since was recorded by its own change; the row is locked
                    // so no change records beside this (PostgreSQL; SQLite has one writer).
                    let locked = suoja_store::tickets::by_id_for_update(&mut tx, tenant, id).await?;
                    if locked.is_some_and(|t| t.updated_at == seen) {
                        self.write_recording(&mut tx, tenant, id, &recording, now).await?;
                    }
                }
                tx.commit().await?;
            }
            n += rows.len();
        }
    }
}

fn policies_are_the_teams(scope: &Scope, input: &SlaInput) -> Result<()> {
    if !scope.is_admin() {
        return Err(HelpdeskError::Forbidden("only admins change SLA policies"));
    }
    if matches!(input.rule.restriction, Some(Some(_))) {
        return Err(HelpdeskError::invalid("restriction", "restriction: SLA policies apply to the whole team"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    fn t(h: i64) -> Timestamp {
        // Monday 2026-03-02 00:00 UTC, plus hours.
        Timestamp(1_772_409_600_000 + h * H)
    }

    fn target(metric: &str, minutes: i64, business_hours: bool) -> PolicyMetric {
        PolicyMetric {
            priority: "normal".into(),
            metric: metric.into(),
            target: minutes,
            business_hours,
        }
    }

    fn office() -> BusinessHours {
        let week: Vec<(u32, u32)> = (1..=5).map(|d| (d * 1440 + 540, d * 1440 + 1020)).collect();
        BusinessHours::new("UTC", &week, std::collections::BTreeSet::new()).unwrap()
    }

    /// Created Monday 10:00 by the requester.
    fn requested() -> Timeline {
        Timeline {
            created_at: t(10),
            statuses: vec![(t(10), Status::New)],
            comments: vec![(t(10), true, false)],
        }
    }

    #[test]
    fn first_reply_runs_from_creation_until_a_public_staff_reply() {
        let m = target("first_reply_time", 120, false);
        let mut tl = requested();
        let s = measure(&m, &tl, &office(), t(11)).unwrap();
        assert_eq!((s.stage, s.breach_at, s.breached), (Stage::Active, Some(t(12)), false));
        // An internal note is no reply; a requester's own comment neither.
        tl.comments.push((t(11), false, true));
        tl.comments.push((t(11), true, false));
        assert_eq!(measure(&m, &tl, &office(), t(13)).unwrap().stage, Stage::Active);
        // Late: replied at 13:00.
        tl.comments.push((t(13), true, true));
        let s = measure(&m, &tl, &office(), t(14)).unwrap();
        assert_eq!((s.stage, s.breach_at, s.breached), (Stage::Achieved, None, true));
    }

    #[test]
    fn business_hours_carry_a_target_over_the_night_and_weekend() {
        // Friday 16:00 with two business hours: Monday 10:00.
        let m = target("first_reply_time", 120, true);
        let friday = Timeline {
            created_at: t(4 * 24 + 16),
            statuses: vec![(t(4 * 24 + 16), Status::Open)],
            comments: vec![(t(4 * 24 + 16), true, false)],
        };
        let s = measure(&m, &friday, &office(), t(4 * 24 + 17)).unwrap();
        assert_eq!(s.breach_at, Some(t(7 * 24 + 10)));
        // In calendar hours: Friday 18:00.
        let s = measure(&target("first_reply_time", 120, false), &friday, &office(), t(4 * 24 + 17)).unwrap();
        assert_eq!(s.breach_at, Some(t(4 * 24 + 18)));
    }

    #[test]
    fn requester_wait_pauses_while_pending_and_stops_at_solved() {
        let m = target("requester_wait_time", 180, false);
        let mut tl = requested();
        tl.statuses.push((t(11), Status::Pending));
        let s = measure(&m, &tl, &office(), t(20)).unwrap();
        assert_eq!((s.stage, s.breach_at), (Stage::Paused, None));
        // Open again at 20:00 with two hours used up by one: breach at 22:00.
        tl.statuses.push((t(20), Status::Open));
        let s = measure(&m, &tl, &office(), t(21)).unwrap();
        assert_eq!((s.stage, s.breach_at), (Stage::Active, Some(t(22))));
        tl.statuses.push((t(23), Status::Solved));
        let s = measure(&m, &tl, &office(), t(24)).unwrap();
        assert_eq!((s.stage, s.breached), (Stage::Achieved, true));
    }

    #[test]
    fn next_reply_starts_with_the_requesters_answer_to_a_reply() {
        let m = target("next_reply_time", 60, false);
        let mut tl = requested();
        assert_eq!(measure(&m, &tl, &office(), t(11)), None, "no staff reply yet");
        tl.comments.push((t(11), true, true));
        let s = measure(&m, &tl, &office(), t(12)).unwrap();
        assert_eq!(s.stage, Stage::Achieved);
        tl.comments.push((t(12), true, false));
        tl.comments.push((t(12), true, false));
        let s = measure(&m, &tl, &office(), t(12)).unwrap();
        assert_eq!((s.stage, s.breach_at), (Stage::Active, Some(t(13))), "from the first unanswered comment");
        // Answered half an hour later: met.
        tl.comments.push((Timestamp(t(12).0 + 30 * MINUTE), true, true));
        let s = measure(&m, &tl, &office(), t(14)).unwrap();
        assert_eq!((s.stage, s.breached), (Stage::Achieved, false));
    }

    #[test]
    fn a_ticket_an_agent_opens_in_public_starts_answered() {
        // The agent writes the request in public for its requester at 10:00.
        let mut tl = Timeline {
            created_at: t(10),
            statuses: vec![(t(10), Status::Open)],
            comments: vec![(t(10), true, true)],
        };
        assert_eq!(
            measure(&target("first_reply_time", 60, false), &tl, &office(), t(11)).unwrap().stage,
            Stage::Achieved
        );
        let p = measure(&target("periodic_update", 120, false), &tl, &office(), t(11)).unwrap();
        assert_eq!((p.stage, p.breach_at), (Stage::Active, Some(t(12))));
        // The requester answers at 11:00: the next reply is due at 12:00.
        tl.comments.push((t(11), true, false));
        let n = measure(&target("next_reply_time", 60, false), &tl, &office(), t(11)).unwrap();
        assert_eq!((n.stage, n.breach_at), (Stage::Active, Some(t(12))));
    }

    #[test]
    fn solving_keeps_a_turn_missed_before_it() {
        let mut tl = requested();
        tl.comments.push((t(11), true, true));
        tl.comments.push((t(12), true, false));
        // Unanswered from 12:00, solved at 15:00 with an internal note: two hours late.
        tl.comments.push((t(15), false, true));
        tl.statuses.push((t(15), Status::Solved));
        let n = measure(&target("next_reply_time", 60, false), &tl, &office(), t(16)).unwrap();
        assert_eq!((n.stage, n.breached, n.breach_at), (Stage::Achieved, true, None));
        let p = measure(&target("periodic_update", 180, false), &tl, &office(), t(16)).unwrap();
        assert_eq!((p.stage, p.breached), (Stage::Achieved, true), "11:00 to the solve at 15:00 is four hours");
        // Solved in time: met.
        let p = measure(&target("periodic_update", 300, false), &tl, &office(), t(30)).unwrap();
        assert_eq!((p.stage, p.breached), (Stage::Achieved, false), "no time counts once solved");
    }

    #[test]
    fn periodic_update_runs_from_the_last_public_staff_comment() {
        let m = target("periodic_update", 60, false);
        let mut tl = requested();
        assert_eq!(measure(&m, &tl, &office(), t(11)), None);
        tl.comments.push((t(11), true, true));
        tl.comments.push((t(13), true, true));
        let s = measure(&m, &tl, &office(), t(13)).unwrap();
        assert_eq!(
            (s.stage, s.breach_at, s.breached),
            (Stage::Active, Some(t(14)), true),
            "11:00 to 13:00 was late"
        );
        // Pausable: stopped while pending.
        tl.statuses.push((t(13), Status::Pending));
        let s = measure(&target("pausable_update", 60, false), &tl, &office(), t(20)).unwrap();
        assert_eq!(s.stage, Stage::Paused);
    }

    #[test]
    fn the_next_breach_is_the_earliest_running_clock() {
        let sla = TicketSla {
            policy: (1, "p".into()),
            metrics: vec![
                MetricState {
                    metric: "first_reply_time",
                    target: 60,
                    business_hours: false,
                    stage: Stage::Active,
                    breach_at: Some(t(5)),
                    breached: false,
                },
                MetricState {
                    metric: "requester_wait_time",
                    target: 60,
                    business_hours: false,
                    stage: Stage::Active,
                    breach_at: Some(t(3)),
                    breached: false,
                },
            ],
        };
        assert_eq!(sla.next_breach(), Some(t(3)));
    }

    #[test]
    fn bad_targets_are_refused() {
        for (m, needle) in [
            (target("first_reply_time", 0, false), "1 to 525600"),
            (target("first_reply_time", -5, false), "1 to 525600"),
            (target("reply_time_ish", 5, false), "unknown metric"),
            (
                PolicyMetric {
                    priority: "asap".into(),
                    ..target("first_reply_time", 5, false)
                },
                "priority",
            ),
        ] {
            assert!(check_metrics(&[m]).unwrap_err().to_string().contains(needle), "{needle}");
        }
        let twice = vec![target("first_reply_time", 5, false), target("first_reply_time", 9, true)];
        assert!(check_metrics(&twice).unwrap_err().to_string().contains("two targets"));
        assert!(check_filter(&[Wire::new("NEW", "greater_than", "3")], &[]).is_err());
        assert!(check_filter(&[Wire::new("assignee_id", "is", "current_user")], &[]).is_err());
        assert!(check_filter(&[Wire::new("priority", "is", "urgent")], &[]).is_ok());
    }
}
