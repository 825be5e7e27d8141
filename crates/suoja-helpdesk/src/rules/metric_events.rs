//! Ticket metric events: Zendesk's record of a ticket's clocks, derived from the same history
//! the SLA clocks read ([`super::sla::Timeline`]) and recorded as the ticket changes while the
//! tenant has an SLA policy in use.
//!
//! Six metrics, Zendesk's names: `reply_time` (a turn per reply awaited: the first from
//! creation, then one from each public end-user comment after a staff reply), `agent_work_time`
//! (new and open), `requester_wait_time` (new, open, on hold), `resolution_time` (until
//! solved), `periodic_update_time` (a turn from each public staff reply to the next) and
//! `pausable_update_time` (the same, paused while pending or on hold). Each turn is `activate`d,
//! may `pause` and `activate` again, and is `fulfill`ed with an `update_status` giving the
//! minutes it ran in calendar and business hours; solving a ticket fulfils every running turn,
//! reopening it starts the cumulative ones again. Under a policy, a turn whose target is (or
//! will be) missed gets a `breach` at the moment it is missed — a breach still to come is
//! recorded too, and marked deleted if the turn ends first — and `apply_sla` is recorded when
//! a policy's target starts to apply to a metric, or changes.

use suoja_core::business_hours::BusinessHours;
use suoja_core::{Scope, Status, TenantId, TicketId, Timestamp};
use suoja_store::Conn;
use suoja_store::metric_events::MetricEventRow;

use super::sla::{PolicyMetric, SlaPolicy, Timeline};
use crate::{Helpdesk, HelpdeskError, Result};

/// The metrics, as Zendesk names them.
pub const METRICS: &[&str] = &[
    "agent_work_time",
    "pausable_update_time",
    "periodic_update_time",
    "reply_time",
    "requester_wait_time",
    "resolution_time",
];

const MINUTE: i64 = 60_000;

/// Which turns of a metric a target applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Turns {
    First,
    Later,
    All,
}

/// The Zendesk metric a policy's target measures, and which of its turns.
pub(crate) fn zendesk_metric(ours: &str) -> Option<(&'static str, Turns)> {
    Some(match ours {
        "first_reply_time" => ("reply_time", Turns::First),
        "next_reply_time" => ("reply_time", Turns::Later),
        "periodic_update" => ("periodic_update_time", Turns::All),
        "pausable_update" => ("pausable_update_time", Turns::All),
        "requester_wait_time" => ("requester_wait_time", Turns::All),
        "agent_work_time" => ("agent_work_time", Turns::All),
        "total_resolution_time" => ("resolution_time", Turns::All),
        _ => return None,
    })
}

/// A target as the clocks apply it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target {
    /// The Zendesk metric.
    pub metric: &'static str,
    turns: Turns,
    /// Minutes.
    pub minutes: i64,
    /// Counted in business hours.
    pub business_hours: bool,
}

impl Target {
    /// From a policy's target; `None` for a metric Suoja does not know.
    pub(crate) fn of(m: &PolicyMetric) -> Option<Target> {
        let (metric, turns) = zendesk_metric(&m.metric)?;
        Some(Target {
            metric,
            turns,
            minutes: m.target,
            business_hours: m.business_hours,
        })
    }

    fn covers(&self, metric: &str, instance: i64) -> bool {
        self.metric == metric
            && match self.turns {
                Turns::First => instance == 1,
                Turns::Later => instance > 1,
                Turns::All => true,
            }
    }
}

/// One derived event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Derived {
    /// The Zendesk metric.
    pub metric: &'static str,
    /// Its turn, from 1.
    pub instance: i64,
    /// `activate`, `pause`, `fulfill`, `update_status` or `breach`.
    pub kind: &'static str,
    /// When.
    pub time: Timestamp,
    /// Minutes run in calendar and business hours (`update_status`).
    pub minutes: Option<(i64, i64)>,
}

/// What a ticket's history implies: its events in order, and each metric's current turn.
#[derive(Debug, Clone, Default)]
pub(crate) struct Derivation {
    /// The events.
    pub events: Vec<Derived>,
    /// Each metric's latest turn (0: none yet).
    pub turns: Vec<(&'static str, i64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Running(Timestamp),
    Paused,
    Fulfilled,
}

/// One metric's clock as the history is walked.
struct Clock<'a> {
    metric: &'static str,
    instance: i64,
    state: State,
    calendar: i64,
    business: i64,
    breached: bool,
    targets: &'a [Target],
    hours: &'a BusinessHours,
}

impl<'a> Clock<'a> {
    fn new(metric: &'static str, targets: &'a [Target], hours: &'a BusinessHours) -> Self {
        Clock {
            metric,
            instance: 0,
            state: State::Idle,
            calendar: 0,
            business: 0,
            breached: false,
            targets,
            hours,
        }
    }

    fn emit(&self, out: &mut Vec<Derived>, kind: &'static str, time: Timestamp, minutes: Option<(i64, i64)>) {
        out.push(Derived {
            metric: self.metric,
            instance: self.instance,
            kind,
            time,
            minutes,
        });
    }

    /// The target on this turn, and the hours it counts.
    fn target(&self) -> Option<(i64, &BusinessHours, bool)> {
        let t = self.targets.iter().find(|t| t.covers(self.metric, self.instance))?;
        Some((t.minutes.saturating_mul(MINUTE), self.hours, t.business_hours))
    }

    /// Where the turn's target is missed if it runs from `from` with no end; `None` without a
    /// target, once breached, or when the hours never reach it.
    fn crossing(&self, from: Timestamp) -> Option<Timestamp> {
        if self.breached {
            return None;
        }
        let (target, hours, business) = self.target()?;
        let used = if business { self.business } else { self.calendar };
        if business {
            hours.add(from, target - used)
        } else {
            BusinessHours::always().add(from, target - used)
        }
    }

    /// Counts the span `from`..`to` the clock ran, with a breach where it crossed the target.
    fn accrue(&mut self, out: &mut Vec<Derived>, from: Timestamp, to: Timestamp) {
        if let Some(at) = self.crossing(from)
            && at.0 <= to.0
        {
            self.emit(out, "breach", at, None);
            self.breached = true;
        }
        self.calendar += (to.0 - from.0).max(0);
        self.business += self.hours.open_between(from, to);
    }

    fn activate(&mut self, out: &mut Vec<Derived>, t: Timestamp) {
        if !matches!(self.state, State::Running(_)) {
            self.state = State::Running(t);
            self.emit(out, "activate", t, None);
        }
    }

    fn pause(&mut self, out: &mut Vec<Derived>, t: Timestamp) {
        if let State::Running(since) = self.state {
            self.accrue(out, since, t);
            self.state = State::Paused;
            self.emit(out, "pause", t, None);
        }
    }

    fn fulfill(&mut self, out: &mut Vec<Derived>, t: Timestamp) {
        if let State::Running(since) = self.state {
            self.accrue(out, since, t);
        }
        if matches!(self.state, State::Running(_) | State::Paused) {
            self.state = State::Fulfilled;
            self.emit(out, "fulfill", t, None);
            self.emit(out, "update_status", t, Some((self.calendar / MINUTE, self.business / MINUTE)));
        }
    }

    /// Starts the next turn.
    fn next_turn(&mut self, out: &mut Vec<Derived>, t: Timestamp) {
        self.instance += 1;
        self.calendar = 0;
        self.business = 0;
        self.breached = false;
        self.state = State::Idle;
        self.activate(out, t);
    }

    /// A turn still running at the end: its breach, past or to come.
    fn finish(&mut self, out: &mut Vec<Derived>) {
        if let State::Running(since) = self.state
            && let Some(at) = self.crossing(since)
        {
            self.emit(out, "breach", at, None);
            self.breached = true;
        }
    }
}

fn solved(s: Status) -> bool {
    matches!(s, Status::Solved | Status::Closed)
}

/// The statuses each cumulative clock runs in.
const AGENT_WORK: &[Status] = &[Status::New, Status::Open];
const REQUESTER_WAIT: &[Status] = &[Status::New, Status::Open, Status::Hold];
const RESOLUTION: &[Status] = &[Status::New, Status::Open, Status::Pending, Status::Hold];
const PAUSABLE: &[Status] = &[Status::New, Status::Open];

/// Derives a ticket's metric events from its history up to `now`, with breaches for `targets`
/// (the applying policy's, for the ticket's priority) counted in `hours` where they say so.
pub(crate) fn derive(tl: &Timeline, targets: &[Target], hours: &BusinessHours) -> Derivation {
    let mut out = Vec::new();
    let created = tl.created_at;
    let mut status = tl.statuses.first().map_or(Status::New, |s| s.1);
    let mut cumulative = [
        (Clock::new("agent_work_time", targets, hours), AGENT_WORK),
        (Clock::new("requester_wait_time", targets, hours), REQUESTER_WAIT),
        (Clock::new("resolution_time", targets, hours), RESOLUTION),
    ];
    let mut reply = Clock::new("reply_time", targets, hours);
    let mut periodic = Clock::new("periodic_update_time", targets, hours);
    let mut pausable = Clock::new("pausable_update_time", targets, hours);
    for (clock, counting) in &mut cumulative {
        clock.next_turn(&mut out, created);
        if solved(status) {
            clock.fulfill(&mut out, created);
        } else if !counting.contains(&status) {
            clock.pause(&mut out, created);
        }
    }
    reply.next_turn(&mut out, created);
    if solved(status) {
        reply.fulfill(&mut out, created);
    }
    // The rest of the history in order; a status change before a comment of the same moment
    // (a reply that also sets pending leaves the next update paused; a comment reopening a
    // solved ticket finds it open).
    enum Moment {
        Status(Status),
        Comment(bool, bool),
    }
    let mut moments: Vec<(Timestamp, u8, Moment)> = Vec::new();
    for (at, s) in tl.statuses.iter().skip(1) {
        moments.push((*at, 0, Moment::Status(*s)));
    }
    for (at, public, staff) in &tl.comments {
        moments.push((*at, 1, Moment::Comment(*public, *staff)));
    }
    moments.sort_by_key(|m| (m.0, m.1));
    let mut replied = false;
    for (t, _, m) in moments {
        match m {
            Moment::Status(s) => {
                if s == status {
                    continue;
                }
                let was_solved = solved(status);
                status = s;
                if solved(s) {
                    for (clock, _) in &mut cumulative {
                        clock.fulfill(&mut out, t);
                    }
                    for clock in [&mut reply, &mut periodic, &mut pausable] {
                        clock.fulfill(&mut out, t);
                    }
                    continue;
                }
                for (clock, counting) in &mut cumulative {
                    if counting.contains(&s) {
                        clock.activate(&mut out, t);
                    } else {
                        if clock.state == State::Fulfilled {
                            clock.activate(&mut out, t);
                        }
                        clock.pause(&mut out, t);
                    }
                }
                if was_solved && replied {
                    periodic.next_turn(&mut out, t);
                    pausable.next_turn(&mut out, t);
                }
                if PAUSABLE.contains(&s) {
                    if pausable.state == State::Paused {
                        pausable.activate(&mut out, t);
                    }
                } else {
                    pausable.pause(&mut out, t);
                }
            }
            Moment::Comment(public, staff) => {
                if !public {
                    continue;
                }
                if staff {
                    reply.fulfill(&mut out, t);
                    replied = true;
                    if !solved(status) {
                        periodic.fulfill(&mut out, t);
                        periodic.next_turn(&mut out, t);
                        pausable.fulfill(&mut out, t);
                        pausable.next_turn(&mut out, t);
                        if !PAUSABLE.contains(&status) {
                            pausable.pause(&mut out, t);
                        }
                    }
                } else if replied && reply.state == State::Fulfilled && !solved(status) {
                    reply.next_turn(&mut out, t);
                }
            }
        }
    }
    let mut turns = Vec::new();
    for (clock, _) in &mut cumulative {
        clock.finish(&mut out);
        turns.push((clock.metric, clock.instance));
    }
    for clock in [&mut reply, &mut periodic, &mut pausable] {
        clock.finish(&mut out);
        turns.push((clock.metric, clock.instance));
    }
    Derivation { events: out, turns }
}

/// One policy's targets applying to a ticket.
type Applying<'r> = (&'r SlaPolicy, Vec<&'r PolicyMetric>);

impl Helpdesk {
    /// Records what a ticket's history now implies and was not recorded yet, in the change's
    /// transaction: new events, breaches to come that no longer will (marked deleted), and an
    /// `apply_sla` for each metric whose applying target is new or changed.
    #[allow(clippy::too_many_arguments, reason = "the parts of one measurement, each read once by the caller")]
    pub(crate) async fn record_metric_events(
        &self,
        c: &mut Conn,
        tenant: TenantId,
        id: TicketId,
        applying: Option<&Applying<'_>>,
        timeline: &Timeline,
        hours: &BusinessHours,
        now: Timestamp,
    ) -> Result<()> {
        let targets: Vec<Target> = applying.map(|(_, ts)| ts.iter().filter_map(|m| Target::of(m)).collect()).unwrap_or_default();
        let derived = derive(timeline, &targets, hours);
        let stored = suoja_store::metric_events::for_ticket(c, tenant, id).await?;
        let same = |s: &MetricEventRow, d: &Derived| s.metric == d.metric && s.instance_id == d.instance && s.kind == d.kind && s.time == d.time;
        let mut new: Vec<MetricEventRow> = derived
            .events
            .iter()
            .filter(|d| !stored.iter().any(|s| same(s, d)))
            .map(|d| MetricEventRow {
                id: 0,
                ticket_id: id,
                metric: d.metric.to_string(),
                instance_id: d.instance,
                kind: d.kind.to_string(),
                time: d.time,
                policy_id: None,
                target: None,
                business_hours: None,
                calendar_minutes: d.minutes.map(|m| m.0),
                business_minutes: d.minutes.map(|m| m.1),
                deleted: false,
            })
            .collect();
        let gone: Vec<i64> = stored
            .iter()
            .filter(|s| s.kind == "breach" && !s.deleted && s.time.0 > now.0 && !derived.events.iter().any(|d| same(s, d)))
            .map(|s| s.id)
            .collect();
        if let Some((policy, _)) = applying {
            for (metric, turn) in &derived.turns {
                let Some(t) = targets.iter().find(|t| t.covers(metric, (*turn).max(1))) else {
                    continue;
                };
                let last = stored.iter().rev().find(|s| s.kind == "apply_sla" && s.metric == *metric);
                let unchanged =
                    last.is_some_and(|s| s.policy_id == Some(policy.row.id) && s.target == Some(t.minutes) && s.business_hours == Some(t.business_hours));
                if !unchanged {
                    new.push(MetricEventRow {
                        id: 0,
                        ticket_id: id,
                        metric: metric.to_string(),
                        instance_id: (*turn).max(1),
                        kind: "apply_sla".into(),
                        time: now,
                        policy_id: Some(policy.row.id),
                        target: Some(t.minutes),
                        business_hours: Some(t.business_hours),
                        calendar_minutes: None,
                        business_minutes: None,
                        deleted: false,
                    });
                }
            }
        }
        if !new.is_empty() {
            suoja_store::metric_events::insert(c, tenant, &new, now).await?;
        }
        if !gone.is_empty() {
            suoja_store::metric_events::mark_deleted(c, tenant, id, &gone).await?;
        }
        Ok(())
    }

    /// A ticket's metric events (staff), in the order they happened; an `apply_sla` names its
    /// policy as it is now (`None` once removed).
    pub async fn ticket_metric_events(&self, scope: &Scope, id: TicketId) -> Result<Vec<MetricEvent>> {
        crate::require_staff(scope)?;
        let mut c = self.db.read().await?;
        if suoja_store::tickets::by_id(&mut c, scope.tenant, id).await?.is_none() {
            return Err(HelpdeskError::NotFound("ticket"));
        }
        let mut rows = suoja_store::metric_events::for_ticket(&mut c, scope.tenant, id).await?;
        rows.sort_by_key(|r| (r.time, r.id));
        self.metric_events_with_policies(&mut c, scope.tenant, rows).await
    }

    /// Metric events that happened at or after `since` and before `until` (admins; the
    /// time-based export), oldest first, after the (time, id) position `after`.
    pub async fn metric_events_since(
        &self,
        scope: &Scope,
        since: Timestamp,
        until: Option<Timestamp>,
        after: Option<(i64, i64)>,
        limit: i64,
    ) -> Result<Vec<MetricEvent>> {
        if !scope.is_admin() {
            return Err(HelpdeskError::Forbidden("only admins export ticket metric events"));
        }
        let mut c = self.db.read().await?;
        let rows = suoja_store::metric_events::changed_since(&mut c, scope.tenant, since, until, after, limit).await?;
        self.metric_events_with_policies(&mut c, scope.tenant, rows).await
    }

    async fn metric_events_with_policies(&self, c: &mut Conn, tenant: TenantId, rows: Vec<MetricEventRow>) -> Result<Vec<MetricEvent>> {
        let policies = if rows.iter().any(|r| r.policy_id.is_some()) {
            suoja_store::rules::list(c, tenant, super::Kind::Sla.as_str(), suoja_core::UserId(0)).await?
        } else {
            Vec::new()
        };
        Ok(rows
            .into_iter()
            .map(|row| {
                let policy = row
                    .policy_id
                    .and_then(|p| policies.iter().find(|r| r.id == p))
                    .map(|r| (r.title.clone(), r.description.clone()));
                MetricEvent { row, policy }
            })
            .collect())
    }
}

/// A metric event as shown.
#[derive(Debug, Clone)]
pub struct MetricEvent {
    /// As stored.
    pub row: MetricEventRow,
    /// The applied policy's title and description, as it is now.
    pub policy: Option<(String, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    fn tl(statuses: &[(i64, Status)], comments: &[(i64, bool, bool)]) -> Timeline {
        Timeline {
            created_at: Timestamp(0),
            statuses: statuses.iter().map(|(t, s)| (Timestamp(*t), *s)).collect(),
            comments: comments.iter().map(|(t, p, s)| (Timestamp(*t), *p, *s)).collect(),
        }
    }

    fn of(d: &Derivation, metric: &str) -> Vec<(i64, &'static str, i64)> {
        d.events.iter().filter(|e| e.metric == metric).map(|e| (e.instance, e.kind, e.time.0)).collect()
    }

    fn target(metric: &str, minutes: i64) -> Target {
        Target::of(&PolicyMetric {
            priority: "normal".into(),
            metric: metric.into(),
            target: minutes,
            business_hours: false,
        })
        .unwrap()
    }

    #[test]
    fn a_request_answered_then_solved() {
        // An end user asks at 0; an agent replies at 1 h; solved at 3 h.
        let t = tl(
            &[(0, Status::New), (H, Status::Open), (3 * H, Status::Solved)],
            &[(0, true, false), (H, true, true)],
        );
        let d = derive(&t, &[], &BusinessHours::always());
        assert_eq!(of(&d, "reply_time"), vec![(1, "activate", 0), (1, "fulfill", H), (1, "update_status", H)]);
        assert_eq!(
            of(&d, "periodic_update_time"),
            vec![(1, "activate", H), (1, "fulfill", 3 * H), (1, "update_status", 3 * H)]
        );
        assert_eq!(
            of(&d, "resolution_time"),
            vec![(1, "activate", 0), (1, "fulfill", 3 * H), (1, "update_status", 3 * H)]
        );
        let status = d.events.iter().find(|e| e.metric == "resolution_time" && e.kind == "update_status").unwrap();
        assert_eq!(status.minutes, Some((180, 180)));
        assert!(d.events.iter().all(|e| e.kind != "breach"), "no policy, no breach");
    }

    #[test]
    fn pending_pauses_the_clocks_that_wait_for_the_requester() {
        let t = tl(
            &[(0, Status::New), (H, Status::Pending), (2 * H, Status::Open), (4 * H, Status::Solved)],
            &[(0, true, false), (H, true, true), (2 * H, true, false)],
        );
        let d = derive(&t, &[], &BusinessHours::always());
        assert_eq!(
            of(&d, "requester_wait_time"),
            vec![
                (1, "activate", 0),
                (1, "pause", H),
                (1, "activate", 2 * H),
                (1, "fulfill", 4 * H),
                (1, "update_status", 4 * H)
            ]
        );
        let waited = d
            .events
            .iter()
            .find(|e| e.metric == "requester_wait_time" && e.kind == "update_status")
            .unwrap();
        assert_eq!(waited.minutes, Some((180, 180)), "three of the four hours: not while pending");
        // The requester's answer starts the second reply turn, still running at the solve.
        assert_eq!(
            of(&d, "reply_time"),
            vec![
                (1, "activate", 0),
                (1, "fulfill", H),
                (1, "update_status", H),
                (2, "activate", 2 * H),
                (2, "fulfill", 4 * H),
                (2, "update_status", 4 * H)
            ]
        );
        // The reply that set pending leaves the pausable update paused from its start.
        assert_eq!(
            of(&d, "pausable_update_time"),
            vec![
                (1, "activate", H),
                (1, "pause", H),
                (1, "activate", 2 * H),
                (1, "fulfill", 4 * H),
                (1, "update_status", 4 * H)
            ]
        );
    }

    #[test]
    fn breaches_past_and_to_come() {
        // First reply target 30 min, answered at 1 h: missed at 30 min. The next reply turn
        // starts at 2 h with a 60 min target and is still running: its breach is at 3 h.
        let t = tl(&[(0, Status::Open)], &[(0, true, false), (H, true, true), (2 * H, true, false)]);
        let targets = [target("first_reply_time", 30), target("next_reply_time", 60)];
        let d = derive(&t, &targets, &BusinessHours::always());
        let breaches: Vec<_> = of(&d, "reply_time").into_iter().filter(|e| e.1 == "breach").collect();
        assert_eq!(breaches, vec![(1, "breach", H / 2), (2, "breach", 3 * H)]);
        // Met targets breach nothing.
        let d = derive(&t, &[target("first_reply_time", 90)], &BusinessHours::always());
        assert!(d.events.iter().all(|e| e.kind != "breach"), "{:?}", d.events);
        assert!(d.turns.contains(&("reply_time", 2)));
    }

    #[test]
    fn a_reopened_ticket_runs_its_cumulative_clocks_again() {
        let t = tl(
            &[(0, Status::Open), (H, Status::Solved), (2 * H, Status::Open), (3 * H, Status::Solved)],
            &[(0, true, false), (H / 2, true, true), (2 * H, true, false)],
        );
        let d = derive(&t, &[target("total_resolution_time", 100)], &BusinessHours::always());
        assert_eq!(
            of(&d, "resolution_time"),
            vec![
                (1, "activate", 0),
                (1, "fulfill", H),
                (1, "update_status", H),
                (1, "activate", 2 * H),
                // 60 min before the solve and 40 more after reopening: missed at 2 h 40 min.
                (1, "breach", 2 * H + 40 * 60_000),
                (1, "fulfill", 3 * H),
                (1, "update_status", 3 * H)
            ]
        );
        // The requester's comment that reopened it starts a reply turn.
        assert!(of(&d, "reply_time").contains(&(2, "activate", 2 * H)));
    }

    #[test]
    fn a_ticket_an_agent_opens_in_public_starts_answered() {
        let t = tl(&[(0, Status::Open)], &[(0, true, true)]);
        let d = derive(&t, &[target("first_reply_time", 1)], &BusinessHours::always());
        assert_eq!(of(&d, "reply_time"), vec![(1, "activate", 0), (1, "fulfill", 0), (1, "update_status", 0)]);
    }
}
