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
//! reopening it runs again the turns the solve ended and starts those that came due meanwhile.
//! Under a policy, a turn whose target is (or will be) missed gets a `breach` at the moment it
//! is missed — a breach still to come is recorded too, and marked deleted if it no longer
//! will be — and `apply_sla` is recorded when the target on a running turn differs from the
//! last one recorded for its metric ([`plan`] says what is recorded when).

use std::collections::HashSet;

use suoja_core::business_hours::BusinessHours;
use suoja_core::{Scope, Status, TenantId, TicketId, Timestamp};
use suoja_store::Conn;
use suoja_store::metric_events::MetricEventRow;

use super::sla::{PolicyMetric, SlaPolicy, Timeline};
use crate::model::Ticket;
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

/// What a ticket's history implies: its events in order, and the turns still to be met.
#[derive(Debug, Clone, Default)]
pub(crate) struct Derivation {
    /// The events.
    pub events: Vec<Derived>,
    /// The metrics whose latest turn is still to be met (running or paused), with that turn.
    pub live: Vec<(&'static str, i64)>,
}

impl Derivation {
    /// Whether an event belongs to a turn still to be met.
    fn is_live(&self, d: &Derived) -> bool {
        self.live.iter().any(|(m, i)| *m == d.metric && *i == d.instance)
    }
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
    /// Its turn was ended by the ticket being solved (not met): reopening runs it again.
    by_solve: bool,
    /// A next turn is due once the solved ticket is reopened (what would start one came while
    /// it was solved).
    awaiting: bool,
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
            by_solve: false,
            awaiting: false,
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
            self.by_solve = false;
            self.emit(out, "fulfill", t, None);
            self.emit(out, "update_status", t, Some((self.calendar / MINUTE, self.business / MINUTE)));
        }
    }

    /// Ends a running or paused turn because the ticket was solved.
    fn solve(&mut self, out: &mut Vec<Derived>, t: Timestamp) {
        if matches!(self.state, State::Running(_) | State::Paused) {
            self.fulfill(out, t);
            self.by_solve = true;
        }
    }

    /// The ticket was reopened: a turn due meanwhile starts, or the turn the solve ended runs
    /// again, its time counted on.
    fn reopen(&mut self, out: &mut Vec<Derived>, t: Timestamp) {
        if self.awaiting {
            self.awaiting = false;
            self.next_turn(out, t);
        } else if self.state == State::Fulfilled && self.by_solve {
            self.activate(out, t);
        }
    }

    /// What would start a turn came while the ticket is solved: it starts at the reopening.
    fn await_reopen(&mut self) {
        self.awaiting = true;
        self.by_solve = false;
    }

    /// Whether its turn is still to be met (running or paused).
    fn live(&self) -> bool {
        matches!(self.state, State::Running(_) | State::Paused)
    }

    /// Starts the next turn.
    fn next_turn(&mut self, out: &mut Vec<Derived>, t: Timestamp) {
        self.instance += 1;
        self.calendar = 0;
        self.business = 0;
        self.breached = false;
        self.by_solve = false;
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
            clock.solve(&mut out, created);
        } else if !counting.contains(&status) {
            clock.pause(&mut out, created);
        }
    }
    reply.next_turn(&mut out, created);
    if solved(status) {
        reply.solve(&mut out, created);
    }
    // The rest of the history in order; a status change before a comment of the same moment
    // (a reply that also sets pending leaves the next update paused; a comment reopening a
    // solved ticket finds it open). The turns follow the SLA clocks' reading of the same
    // history (`sla::measure`): solving ends every turn, and reopening runs again the turns
    // the solve ended, their time counted on.
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
                status = s;
                if solved(s) {
                    for (clock, _) in &mut cumulative {
                        clock.solve(&mut out, t);
                    }
                    for clock in [&mut reply, &mut periodic, &mut pausable] {
                        clock.solve(&mut out, t);
                    }
                    continue;
                }
                for (clock, counting) in &mut cumulative {
                    clock.reopen(&mut out, t);
                    if counting.contains(&s) {
                        if clock.state == State::Paused {
                            clock.activate(&mut out, t);
                        }
                    } else {
                        clock.pause(&mut out, t);
                    }
                }
                reply.reopen(&mut out, t);
                periodic.reopen(&mut out, t);
                pausable.reopen(&mut out, t);
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
                    // A staff reply meets the reply awaited, even one a solve ended, and starts
                    // the next update turn (at the reopening, while the ticket is solved).
                    reply.fulfill(&mut out, t);
                    reply.by_solve = false;
                    reply.awaiting = false;
                    replied = true;
                    for clock in [&mut periodic, &mut pausable] {
                        if solved(status) {
                            clock.await_reopen();
                        } else {
                            clock.fulfill(&mut out, t);
                            clock.next_turn(&mut out, t);
                        }
                    }
                    if !solved(status) && !PAUSABLE.contains(&status) {
                        pausable.pause(&mut out, t);
                    }
                } else if replied && reply.state == State::Fulfilled && !reply.by_solve && !reply.awaiting {
                    // An end user's comment after a staff reply awaits the next one; while the
                    // ticket is solved that turn starts when it is reopened.
                    if solved(status) {
                        reply.await_reopen();
                    } else {
                        reply.next_turn(&mut out, t);
                    }
                }
            }
        }
    }
    let mut live = Vec::new();
    for clock in cumulative.iter_mut().map(|(c, _)| c).chain([&mut reply, &mut periodic, &mut pausable]) {
        clock.finish(&mut out);
        if clock.live() {
            live.push((clock.metric, clock.instance));
        }
    }
    Derivation { events: out, live }
}

/// One policy's targets applying to a ticket.
pub(crate) type Applying<'r> = (&'r SlaPolicy, Vec<&'r PolicyMetric>);

/// What recording a ticket's metric events would write: new rows, and breaches to come that
/// will no longer happen.
#[derive(Debug, Clone, Default)]
pub(crate) struct Recording {
    new: Vec<MetricEventRow>,
    called_off: Vec<i64>,
}

impl Recording {
    /// Whether it writes nothing.
    pub(crate) fn is_empty(&self) -> bool {
        self.new.is_empty() && self.called_off.is_empty()
    }
}

/// The recording for a ticket whose events so far are `stored`, given what its history implies.
///
/// The events are a log of what each change implied when it was made: past events are never
/// rewritten. A ticket's first recording writes its history; later ones write what happened
/// since the last (events at or after it), a breach of a turn still to be met wherever it falls
/// (a target that changed can move it into the past), and an `apply_sla` where the target on a
/// live turn differs from the last one recorded for its metric. A breach no longer implied is
/// called off (`deleted`) when it is still to come or its turn still runs; one that came on a
/// turn since met stays.
pub(crate) fn plan(
    id: TicketId,
    stored: &[MetricEventRow],
    applying: Option<&Applying<'_>>,
    timeline: &Timeline,
    hours: &BusinessHours,
    now: Timestamp,
) -> Recording {
    let targets: Vec<Target> = applying.map(|(_, ts)| ts.iter().filter_map(|m| Target::of(m)).collect()).unwrap_or_default();
    let derived = derive(timeline, &targets, hours);
    let key = |metric: &str, instance: i64, kind: &str, time: Timestamp| (metric.to_string(), instance, kind.to_string(), time.0);
    let held: HashSet<(String, i64, String, i64)> = stored
        .iter()
        .filter(|s| !s.deleted)
        .map(|s| key(&s.metric, s.instance_id, &s.kind, s.time))
        .collect();
    let implied: HashSet<(String, i64, String, i64)> = derived.events.iter().map(|d| key(d.metric, d.instance, d.kind, d.time)).collect();
    let since = stored.iter().map(|s| s.recorded_at).max();
    let row = |metric: &str, instance: i64, kind: &str, time: Timestamp| MetricEventRow {
        id: 0,
        ticket_id: id,
        metric: metric.to_string(),
        instance_id: instance,
        kind: kind.to_string(),
        time,
        policy_id: None,
        target: None,
        business_hours: None,
        calendar_minutes: None,
        business_minutes: None,
        deleted: false,
        recorded_at: now,
    };
    let mut new: Vec<MetricEventRow> = Vec::new();
    for d in &derived.events {
        if held.contains(&key(d.metric, d.instance, d.kind, d.time)) {
            continue;
        }
        let live_breach = d.kind == "breach" && derived.is_live(d);
        // What this change itself did happens at `now` (even when another change of the ticket
        // with a later time committed first).
        let wanted = match since {
            None => d.kind != "breach" || live_breach,
            Some(since) => d.time >= since || d.time == now || live_breach,
        };
        if wanted {
            let mut r = row(d.metric, d.instance, d.kind, d.time);
            r.calendar_minutes = d.minutes.map(|m| m.0);
            r.business_minutes = d.minutes.map(|m| m.1);
            new.push(r);
        }
    }
    // A breach no longer implied is called off when it is still to come, or when its turn is
    // still to be met (a changed target moved it: the turn keeps one breach, the one it implies
    // now). One that came on a turn since met stays.
    let called_off: Vec<i64> = stored
        .iter()
        .filter(|s| s.kind == "breach" && !s.deleted && !implied.contains(&key(&s.metric, s.instance_id, &s.kind, s.time)))
        .filter(|s| s.time > now || derived.live.iter().any(|(m, i)| *m == s.metric && *i == s.instance_id))
        .map(|s| s.id)
        .collect();
    if let Some((policy, _)) = applying {
        for (metric, turn) in &derived.live {
            let Some(t) = targets.iter().find(|t| t.covers(metric, *turn)) else {
                continue;
            };
            let last = stored.iter().filter(|s| s.kind == "apply_sla" && s.metric == *metric).max_by_key(|s| s.id);
            let unchanged =
                last.is_some_and(|s| s.policy_id == Some(policy.row.id) && s.target == Some(t.minutes) && s.business_hours == Some(t.business_hours));
            if !unchanged {
                let mut r = row(metric, *turn, "apply_sla", now);
                r.policy_id = Some(policy.row.id);
                r.target = Some(t.minutes);
                r.business_hours = Some(t.business_hours);
                new.push(r);
            }
        }
    }
    Recording { new, called_off }
}

impl Helpdesk {
    /// Writes a recording for a ticket, in the caller's transaction.
    pub(crate) async fn write_recording(&self, c: &mut Conn, tenant: TenantId, id: TicketId, r: &Recording, now: Timestamp) -> Result<()> {
        if !r.new.is_empty() {
            suoja_store::metric_events::insert(c, tenant, &r.new, now).await?;
        }
        if !r.called_off.is_empty() {
            suoja_store::metric_events::mark_deleted(c, tenant, id, &r.called_off).await?;
        }
        Ok(())
    }

    /// The metric events of a ticket the caller has opened (staff; opening it checked that
    /// they may read it), in the order they happened; an `apply_sla` names its policy as it is
    /// now (`None` once removed).
    pub async fn ticket_metric_events(&self, scope: &Scope, ticket: &Ticket) -> Result<Vec<MetricEvent>> {
        crate::require_staff(scope)?;
        let mut c = self.db.read().await?;
        let mut rows = suoja_store::metric_events::for_ticket(&mut c, scope.tenant, ticket.id).await?;
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
        assert!(d.live.contains(&("reply_time", 2)));
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

    #[test]
    fn what_comes_while_solved_starts_its_turn_at_the_reopening() {
        // Replied at 1 h, solved at 2 h; the requester writes at 3 h (solved still) and the
        // ticket is reopened at 4 h: the second reply turn starts at 4 h, with nothing at 3 h.
        let t = tl(
            &[(0, Status::Open), (2 * H, Status::Solved), (4 * H, Status::Open)],
            &[(0, true, false), (H, true, true), (3 * H, true, false)],
        );
        let d = derive(&t, &[target("next_reply_time", 30)], &BusinessHours::always());
        let reply = of(&d, "reply_time");
        assert!(reply.iter().all(|e| e.2 != 3 * H), "{reply:?}");
        assert!(
            reply.contains(&(2, "activate", 4 * H)) && reply.contains(&(2, "breach", 4 * H + H / 2)),
            "{reply:?}"
        );
        // The update turn a reply began ended with the solve and runs again at the reopening.
        let periodic = of(&d, "periodic_update_time");
        assert_eq!(
            periodic,
            vec![(1, "activate", H), (1, "fulfill", 2 * H), (1, "update_status", 2 * H), (1, "activate", 4 * H)]
        );
        // A staff reply while solved: the next update turn starts at the reopening.
        let t = tl(
            &[(0, Status::Open), (2 * H, Status::Solved), (4 * H, Status::Open)],
            &[(0, true, false), (H, true, true), (3 * H, true, true)],
        );
        let d = derive(&t, &[], &BusinessHours::always());
        let periodic = of(&d, "periodic_update_time");
        assert!(periodic.iter().all(|e| e.2 != 3 * H), "{periodic:?}");
        assert_eq!(periodic.last(), Some(&(2, "activate", 4 * H)), "{periodic:?}");
    }

    /// A small deterministic generator (no seed file, the same cases every run).
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self, n: u64) -> u64 {
            self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 33) % n
        }
    }

    /// Over generated histories, calendar and business hours, the breach each running clock
    /// is heading for is the one the SLA clocks show (`sla::measure`), and every breach to come
    /// the events hold is one the clocks show: the two readings of a history agree.
    #[test]
    fn events_and_clocks_agree_on_every_running_breach() {
        use super::super::sla::measure;
        let week: Vec<(u32, u32)> = (1..=5).map(|d| (d * 1440 + 540, d * 1440 + 1020)).collect();
        let office = BusinessHours::new("Europe/Helsinki", &week, Default::default()).unwrap();
        let ours = [
            "first_reply_time",
            "next_reply_time",
            "periodic_update",
            "pausable_update",
            "requester_wait_time",
            "agent_work_time",
            "total_resolution_time",
        ];
        let statuses = [
            Status::New,
            Status::Open,
            Status::Pending,
            Status::Hold,
            Status::Solved,
            Status::Open,
            Status::Pending,
        ];
        let mut rng = Lcg(7);
        let mut checked = 0;
        for case in 0..3_000 {
            // Sunday 1 March 2026 22:00 UTC onwards: weekends and evenings in the way.
            let start = 1_772_402_400_000;
            let mut t = start;
            let first = [Status::New, Status::Open, Status::Pending][usize::try_from(rng.next(3)).unwrap()];
            let mut st = vec![(Timestamp(t), first)];
            let mut comments = vec![(Timestamp(t), true, rng.next(5) == 0)];
            for _ in 0..rng.next(9) {
                t += i64::try_from(rng.next(600) + 1).unwrap() * 60_000;
                match rng.next(4) {
                    0 => st.push((Timestamp(t), statuses[usize::try_from(rng.next(7)).unwrap()])),
                    1 => comments.push((Timestamp(t), true, true)),
                    2 => comments.push((Timestamp(t), true, false)),
                    _ => {
                        // A reply that also changes the status, as one update.
                        comments.push((Timestamp(t), true, true));
                        st.push((Timestamp(t), statuses[usize::try_from(rng.next(7)).unwrap()]));
                    }
                }
            }
            let now = Timestamp(t + i64::try_from(rng.next(900)).unwrap() * 60_000);
            let tl = Timeline {
                created_at: Timestamp(start),
                statuses: st,
                comments,
            };
            let business = case % 2 == 1;
            let policy: Vec<PolicyMetric> = ours
                .iter()
                .map(|m| PolicyMetric {
                    priority: "normal".into(),
                    metric: (*m).into(),
                    target: i64::try_from(rng.next(600) + 5).unwrap(),
                    business_hours: business,
                })
                .collect();
            let targets: Vec<Target> = policy.iter().filter_map(Target::of).collect();
            let d = derive(&tl, &targets, &office);
            let breaches: Vec<&Derived> = d.events.iter().filter(|e| e.kind == "breach" && d.is_live(e)).collect();
            for m in &policy {
                let Some(state) = measure(m, &tl, &office, now) else { continue };
                let (zm, _) = zendesk_metric(&m.metric).unwrap();
                let live = d.live.iter().find(|l| l.0 == zm).map(|l| l.1);
                let covered = live.is_some_and(|i| Target::of(m).unwrap().covers(zm, i));
                if state.stage == super::super::sla::Stage::Active
                    && let Some(b) = state.breach_at
                {
                    checked += 1;
                    assert!(covered, "case {case}: {} active at {b:?} but no live turn: {:?} {tl:?}", m.metric, d.live);
                    assert!(
                        breaches.iter().any(|e| e.metric == zm && e.time == b),
                        "case {case}: {} breaches at {b:?}; events {:?}; {tl:?} now {now:?}",
                        m.metric,
                        d.events.iter().filter(|e| e.metric == zm).collect::<Vec<_>>()
                    );
                } else if covered {
                    // Not running: no breach of this turn may still be to come.
                    assert!(
                        !breaches.iter().any(|e| e.metric == zm && Some(e.instance) == live && e.time > now),
                        "case {case}: {} is {:?} yet a breach is to come: {:?}; {tl:?} now {now:?}",
                        m.metric,
                        state.stage,
                        d.events.iter().filter(|e| e.metric == zm).collect::<Vec<_>>()
                    );
                }
            }
        }
        assert!(checked > 1_000, "only {checked} running clocks checked");
    }
}
