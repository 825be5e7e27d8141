//! Conditions of views (Zendesk's `{"field", "operator", "value"}` triples under `all` and
//! `any`): checked when a rule is saved, so a rule with an unknown field, operator or value is
//! refused with a message naming it; turned into the store's typed conditions when a view runs,
//! with `current_user`, `current_groups` and hours resolved at that moment.

use serde_json::Value;
use suoja_core::{Priority, Scope, Status, TicketType, Timestamp};
use suoja_store::tickets::{Condition as StoreCondition, IdColumn, TimeColumn, WordColumn};

use crate::{HelpdeskError, Result};

/// The most conditions one rule holds (all and any together).
pub const MAX_CONDITIONS: usize = 50;

/// A condition in Zendesk's wire form, as stored in a rule's definition.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wire {
    /// The field tested.
    pub field: String,
    /// How.
    pub operator: String,
    /// Against what (a string as Zendesk sends it; `null` or left out for "no value").
    #[serde(default)]
    pub value: Value,
}

impl Wire {
    /// A condition with a text value.
    pub fn new(field: &str, operator: &str, value: &str) -> Wire {
        Wire {
            field: field.into(),
            operator: operator.into(),
            value: Value::String(value.into()),
        }
    }
}

/// Whose value a person condition names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// The agent looking at the view.
    CurrentUser,
    /// The groups the agent looking is in.
    CurrentGroups,
    /// Nobody (no value).
    Nobody,
    /// This id.
    Id(i64),
}

/// A condition checked and typed.
#[derive(Debug, Clone, PartialEq)]
enum Parsed {
    /// Status compared by Zendesk's order.
    Status(Cmp, Status),
    /// Priority compared by its order; `None` is no priority (below low).
    Priority(Cmp, Option<Priority>),
    /// Type.
    Type(bool, Option<TicketType>),
    /// A person, group, organisation or form column.
    Id(IdColumn, bool, Who),
    /// Tags: holds one of them (`true`) or none of them.
    Tags(bool, Vec<String>),
    /// Hours since (or until, for `until_due_date`) a moment; the last flag: only closed
    /// tickets (`CLOSED`: the moment is when it was last solved or closed).
    Hours(TimeColumn, bool, Cmp, i64, bool),
    /// The ticket's earliest running SLA target is missed (`true`), or runs and is not yet.
    SlaBreached(bool),
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Is,
    IsNot,
    Less,
    Greater,
}

/// The value as text: Zendesk sends strings, clients sometimes numbers or booleans.
fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Null => Some(String::new()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn cmp(op: &str, ordered: bool, field: &str) -> Result<Cmp> {
    Ok(match (op, ordered) {
        ("is", _) => Cmp::Is,
        ("is_not", _) => Cmp::IsNot,
        ("less_than", true) => Cmp::Less,
        ("greater_than", true) => Cmp::Greater,
        _ => {
            let allowed = if ordered { "is, is_not, less_than, greater_than" } else { "is, is_not" };
            return Err(HelpdeskError::invalid(
                "conditions",
                format!("conditions: the operator {op:?} cannot test {field}; use one of {allowed}"),
            ));
        }
    })
}

fn who(field: &str, v: &str, groups: bool) -> Result<Who> {
    match v {
        "" | "-" | "none" => Ok(Who::Nobody),
        "current_user" if !groups => Ok(Who::CurrentUser),
        "current_groups" if groups => Ok(Who::CurrentGroups),
        _ => v.parse::<i64>().ok().filter(|n| *n > 0).map(Who::Id).ok_or_else(|| {
            if groups {
                HelpdeskError::invalid("conditions", format!("conditions: {field} takes an id, current_groups or nothing, not {v:?}"))
            } else {
                HelpdeskError::invalid("conditions", format!("conditions: {field} takes an id, current_user or nothing, not {v:?}"))
            }
        }),
    }
}

/// The wire values of a kind, for a message.
pub(crate) fn wires<'a>(all: impl Iterator<Item = &'a str>) -> String {
    all.collect::<Vec<_>>().join(", ")
}

fn one_of(field: &str, allowed: &str, v: &str) -> HelpdeskError {
    if field == "status" {
        HelpdeskError::invalid("conditions", format!("conditions: {field} is one of {allowed}; not {v:?}"))
    } else {
        HelpdeskError::invalid("conditions", format!("conditions: {field} is one of {allowed}, or empty for none; not {v:?}"))
    }
}

fn parse(w: &Wire) -> Result<Parsed> {
    let field = w.field.as_str();
    let v = text_of(&w.value).ok_or_else(|| HelpdeskError::invalid("conditions", format!("conditions: the value of {field} must be a string")))?;
    let op = w.operator.as_str();
    Ok(match field {
        "status" => {
            let c = cmp(op, true, field)?;
            let s = Status::parse(&v).map_err(|_| one_of(field, &wires(Status::ALL.iter().map(|s| s.as_str())), &v))?;
            Parsed::Status(c, s)
        }
        "priority" => {
            let c = cmp(op, true, field)?;
            let p = if v.is_empty() || v == "-" {
                None
            } else {
                Some(Priority::parse(&v).map_err(|_| one_of(field, &wires(Priority::ALL.iter().map(|p| p.as_str())), &v))?)
            };
            Parsed::Priority(c, p)
        }
        "type" | "ticket_type_id" => {
            let c = cmp(op, false, field)?;
            let t = if v.is_empty() || v == "-" {
                None
            } else {
                Some(TicketType::parse(&v).map_err(|_| one_of(field, &wires(TicketType::ALL.iter().map(|t| t.as_str())), &v))?)
            };
            Parsed::Type(c == Cmp::Is, t)
        }
        "assignee_id" | "requester_id" | "submitter_id" | "organization_id" | "group_id" | "ticket_form_id" => {
            let col = match field {
                "assignee_id" => IdColumn::Assignee,
                "requester_id" => IdColumn::Requester,
                "submitter_id" => IdColumn::Submitter,
                "organization_id" => IdColumn::Organization,
                "group_id" => IdColumn::Group,
                _ => IdColumn::Form,
            };
            let person = matches!(col, IdColumn::Assignee | IdColumn::Requester | IdColumn::Submitter);
            let target = who(field, &v, col == IdColumn::Group)?;
            if !person && target == Who::CurrentUser {
                return Err(HelpdeskError::invalid("conditions", format!("conditions: {field} cannot be current_user")));
            }
            Parsed::Id(col, cmp(op, false, field)? == Cmp::Is, target)
        }
        "current_tags" | "tags" => {
            let includes = match op {
                "includes" => true,
                "not_includes" => false,
                _ => {
                    return Err(HelpdeskError::invalid(
                        "conditions",
                        format!("conditions: the operator {op:?} cannot test tags; use includes or not_includes"),
                    ));
                }
            };
            // As a ticket's tags are kept.
            let tags = crate::users::normalize_tags(std::slice::from_ref(&v));
            if tags.is_empty() || tags.len() > 50 || v.split_whitespace().any(|t| t.chars().count() > 80) {
                return Err(HelpdeskError::invalid(
                    "conditions",
                    "conditions: tags take one to 50 tags, separated by spaces",
                ));
            }
            Parsed::Tags(includes, tags)
        }
        "sla_breached" => match (op, v.as_str()) {
            ("is", "true") | ("is_not", "false") => Parsed::SlaBreached(true),
            ("is", "false") | ("is_not", "true") => Parsed::SlaBreached(false),
            _ => {
                return Err(HelpdeskError::invalid("conditions", "conditions: sla_breached is (or is_not) true or false"));
            }
        },
        "NEW" | "SOLVED" | "CLOSED" | "updated_at" | "due_date" | "until_due_date" | "until_sla_breach" => {
            let col = match field {
                "NEW" => TimeColumn::Created,
                "SOLVED" | "CLOSED" => TimeColumn::Closed,
                "updated_at" => TimeColumn::Updated,
                "until_sla_breach" => TimeColumn::SlaBreach,
                _ => TimeColumn::Due,
            };
            let c = match op {
                "is" => Cmp::Is,
                "less_than" => Cmp::Less,
                "greater_than" => Cmp::Greater,
                _ if op.ends_with("business_hours") => {
                    return Err(HelpdeskError::invalid(
                        "conditions",
                        format!("conditions: {op} is not offered: rules count calendar hours (business hours count SLA targets); use calendar hours"),
                    ));
                }
                _ => {
                    return Err(HelpdeskError::invalid(
                        "conditions",
                        format!("conditions: the operator {op:?} cannot test {field}; use is, less_than or greater_than"),
                    ));
                }
            };
            let hours = v
                .parse::<i64>()
                .ok()
                .filter(|h| (0..=100_000).contains(h))
                .ok_or_else(|| HelpdeskError::invalid("conditions", format!("conditions: {field} takes a number of hours from 0 to 100000, not {v:?}")))?;
            Parsed::Hours(col, matches!(field, "until_due_date" | "until_sla_breach"), c, hours, field == "CLOSED")
        }
        f if f.starts_with("custom_fields_") => {
            return Err(HelpdeskError::invalid(
                "conditions",
                format!(
                    "conditions: {f} cannot be tested: field values are sealed with each ticket; a drop-down's or check box's tags can be tested with current_tags"
                ),
            ));
        }
        _ => {
            return Err(HelpdeskError::invalid(
                "conditions",
                format!(
                    "conditions: unknown field {field:?}; Suoja tests status, priority, type, assignee_id, requester_id, submitter_id, organization_id, group_id, ticket_form_id, current_tags, NEW, SOLVED, CLOSED, updated_at, due_date, until_due_date, until_sla_breach and sla_breached"
                ),
            ));
        }
    })
}

/// Checks a rule's conditions: every one names a known field, an operator that field takes and
/// a value of its shape. Values are kept as Zendesk's strings, as given (tags are compared as a
/// ticket's are kept: lower case, without trailing commas).
pub fn check(all: &[Wire], any: &[Wire]) -> Result<(Vec<Wire>, Vec<Wire>)> {
    if all.len() + any.len() > MAX_CONDITIONS {
        return Err(HelpdeskError::invalid("conditions", format!("conditions: at most {MAX_CONDITIONS}")));
    }
    let norm = |ws: &[Wire]| -> Result<Vec<Wire>> {
        ws.iter()
            .map(|w| {
                parse(w)?;
                Ok(Wire {
                    // One spelling for tags, as the privacy engine reads them.
                    field: if w.field == "tags" { "current_tags".into() } else { w.field.clone() },
                    operator: w.operator.clone(),
                    value: Value::String(text_of(&w.value).unwrap_or_default()),
                })
            })
            .collect()
    };
    Ok((norm(all)?, norm(any)?))
}

/// What a view's conditions need from the moment and the viewer to become the store's.
pub(crate) struct Context<'a> {
    /// The agent looking.
    pub scope: &'a Scope,
    /// Now.
    pub now: Timestamp,
    /// The groups the agent is in.
    pub groups: &'a [i64],
    /// A query giving the tickets holding any of the given tags (`$1` the tenant).
    pub tagged: &'a dyn Fn(&[String]) -> Option<String>,
}

const HOUR: i64 = 3_600_000;

fn ranks<T: Copy + PartialOrd>(all: &[Option<T>], c: Cmp, v: Option<T>) -> Vec<Option<T>> {
    all.iter()
        .copied()
        .filter(|x| match c {
            Cmp::Is => *x == v,
            Cmp::IsNot => *x != v,
            Cmp::Less => *x < v,
            Cmp::Greater => *x > v,
        })
        .collect()
}

/// A stored condition as the store tests it now, for `cx`'s viewer.
pub(crate) fn to_store(w: &Wire, cx: &Context<'_>) -> Result<StoreCondition> {
    Ok(match parse(w)? {
        Parsed::Status(c, s) => {
            let all: Vec<Option<Status>> = Status::ALL.iter().copied().map(Some).collect();
            StoreCondition::Ids {
                column: IdColumn::StatusRank,
                values: ranks(&all, c, Some(s)).into_iter().flatten().map(|s| Some(s.rank())).collect(),
                negate: false,
            }
        }
        Parsed::Priority(c, p) => {
            let mut all: Vec<Option<Priority>> = vec![None];
            all.extend(Priority::ALL.iter().copied().map(Some));
            StoreCondition::Words {
                column: WordColumn::Priority,
                values: ranks(&all, c, p).into_iter().map(|p| p.map(|p| p.as_str().to_string())).collect(),
                negate: false,
            }
        }
        Parsed::Type(is, t) => StoreCondition::Words {
            column: WordColumn::Type,
            values: vec![t.map(|t| t.as_str().to_string())],
            negate: !is,
        },
        Parsed::Id(column, is, target) => {
            let values = match target {
                Who::CurrentUser => vec![Some(cx.scope.actor.0)],
                Who::CurrentGroups => cx.groups.iter().copied().map(Some).collect(),
                Who::Nobody => vec![None],
                Who::Id(n) => vec![Some(n)],
            };
            StoreCondition::Ids { column, values, negate: !is }
        }
        Parsed::Tags(includes, tags) => match (cx.tagged)(&tags) {
            Some(docs) => StoreCondition::Index { docs, negate: !includes },
            None if includes => StoreCondition::Never,
            None => StoreCondition::Ids {
                column: IdColumn::StatusRank,
                values: Vec::new(),
                negate: true,
            },
        },
        Parsed::Hours(column, until, c, h, closed_only) => {
            // "Hours since" counts whole hours: `is 24` holds from 24 h to just under 25 h.
            let (lo, hi) = if until {
                // Hours until the moment: it lies in the future.
                match c {
                    Cmp::Is => (Some(cx.now.0 + h * HOUR), Some(cx.now.0 + (h + 1) * HOUR)),
                    Cmp::Less => (Some(cx.now.0), Some(cx.now.0 + h * HOUR)),
                    _ => (Some(cx.now.0 + (h + 1) * HOUR), None),
                }
            } else {
                match c {
                    Cmp::Is => (Some(cx.now.0 - (h + 1) * HOUR + 1), Some(cx.now.0 - h * HOUR + 1)),
                    Cmp::Less => (Some(cx.now.0 - h * HOUR + 1), None),
                    _ => (None, Some(cx.now.0 - (h + 1) * HOUR + 1)),
                }
            };
            let time = StoreCondition::Time {
                column,
                from: lo.map(Timestamp),
                to: hi.map(Timestamp),
            };
            if closed_only {
                StoreCondition::All(vec![
                    StoreCondition::Ids {
                        column: IdColumn::StatusRank,
                        values: vec![Some(Status::Closed.rank())],
                        negate: false,
                    },
                    time,
                ])
            } else {
                time
            }
        }
        // Missed: the breach moment has come; not missed: a target runs and its moment is ahead.
        Parsed::SlaBreached(missed) => StoreCondition::Time {
            column: TimeColumn::SlaBreach,
            from: (!missed).then_some(Timestamp(cx.now.0 + 1)),
            to: missed.then_some(Timestamp(cx.now.0 + 1)),
        },
    })
}

/// A change an automation makes, as far as its conditions can see it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Change<'a> {
    /// The status becomes this.
    Status(Status),
    /// The priority becomes this.
    Priority(Option<Priority>),
    /// The type becomes this.
    Type(Option<TicketType>),
    /// The assignee becomes this.
    Assignee(Option<i64>),
    /// The group becomes this.
    Group(Option<i64>),
    /// These tags are added.
    AddTags(&'a [String]),
    /// These tags are removed.
    RemoveTags(&'a [String]),
    /// The tags become these.
    SetTags(&'a [String]),
}

fn holds<T: PartialOrd>(c: Cmp, x: &T, against: &T) -> bool {
    match c {
        Cmp::Is => x == against,
        Cmp::IsNot => x != against,
        Cmp::Less => x < against,
        Cmp::Greater => x > against,
    }
}

/// Whether the condition can no longer hold on a ticket once `change` is made: an automation
/// that makes such a change stops matching the tickets it changed.
pub(crate) fn nullified_by(w: &Wire, change: Change<'_>) -> bool {
    let Ok(p) = parse(w) else { return false };
    let target = |who: Who| match who {
        Who::Id(n) => Some(Some(n)),
        Who::Nobody => Some(None),
        Who::CurrentUser | Who::CurrentGroups => None,
    };
    let lower = |tags: &[String]| crate::users::normalize_tags(tags);
    match (p, change) {
        (Parsed::Status(c, s), Change::Status(x)) => !holds(c, &x, &s),
        (Parsed::Priority(c, p), Change::Priority(x)) => !holds(c, &x, &p),
        (Parsed::Type(is, t), Change::Type(x)) => (x == t) != is,
        (Parsed::Id(IdColumn::Assignee, is, who), Change::Assignee(x)) | (Parsed::Id(IdColumn::Group, is, who), Change::Group(x)) => {
            target(who).is_some_and(|t| (x == t) != is)
        }
        (Parsed::Tags(false, t), Change::AddTags(a) | Change::SetTags(a)) => lower(a).iter().any(|x| t.contains(x)),
        (Parsed::Tags(true, t), Change::RemoveTags(r)) => {
            let r = lower(r);
            t.iter().all(|x| r.contains(x))
        }
        (Parsed::Tags(true, t), Change::SetTags(s)) => !lower(s).iter().any(|x| t.contains(x)),
        _ => false,
    }
}

/// Whether the condition counts hours (an automation's clock).
pub(crate) fn counts_hours(w: &Wire) -> bool {
    matches!(parse(w), Ok(Parsed::Hours(..) | Parsed::SlaBreached(_)))
}

/// Whether the condition holds for one hour of a ticket's life only (`is` some hours): an
/// automation testing it runs on a ticket once. Not hours since the last update, which the
/// automation's own change starts again.
pub(crate) fn holds_for_one_hour(w: &Wire) -> bool {
    w.field != "updated_at" && matches!(parse(w), Ok(Parsed::Hours(_, _, Cmp::Is, _, _)))
}

/// Whether only closed tickets (which no automation changes) satisfy the condition.
pub(crate) fn tests_closed(w: &Wire) -> bool {
    match parse(w) {
        Ok(Parsed::Hours(_, _, _, _, closed)) => closed,
        // Only what nothing but a closed ticket satisfies.
        Ok(Parsed::Status(c, s)) => Status::ALL.iter().filter(|x| holds(c, *x, &s)).eq([Status::Closed].iter()),
        _ => false,
    }
}

/// Whether the condition names whoever looks (`current_user`, `current_groups`).
pub(crate) fn names_the_viewer(w: &Wire) -> bool {
    matches!(parse(w), Ok(Parsed::Id(_, _, Who::CurrentUser | Who::CurrentGroups)))
}

/// A ticket as a trigger's conditions see it, before or after an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TicketState {
    pub status: Status,
    pub priority: Option<Priority>,
    pub ticket_type: Option<TicketType>,
    pub requester: i64,
    pub submitter: i64,
    pub assignee: Option<i64>,
    pub group: Option<i64>,
    pub organization: Option<i64>,
    pub form: Option<i64>,
    /// Lower case, as kept.
    pub tags: Vec<String>,
}

impl TicketState {
    /// The value a field holds, in the form a condition names it (`None`: no value).
    pub(crate) fn value_of(&self, field: &str) -> Option<String> {
        match field {
            "status" => Some(self.status.as_str().to_string()),
            "priority" => self.priority.map(|p| p.as_str().to_string()),
            "type" | "ticket_type_id" => self.ticket_type.map(|t| t.as_str().to_string()),
            "requester_id" => Some(self.requester.to_string()),
            "submitter_id" => Some(self.submitter.to_string()),
            "assignee_id" => self.assignee.map(|a| a.to_string()),
            "group_id" => self.group.map(|g| g.to_string()),
            "organization_id" => self.organization.map(|o| o.to_string()),
            "ticket_form_id" => self.form.map(|f| f.to_string()),
            _ => None,
        }
    }
}

/// A condition's value in the form [`TicketState::value_of`] gives (`current_user`: `actor`),
/// for a condition that [`check`] accepted.
pub(crate) fn value_named(w: &Wire, actor: i64) -> Result<Option<String>> {
    Ok(match parse(w)? {
        Parsed::Status(_, s) => Some(s.as_str().to_string()),
        Parsed::Priority(_, p) => p.map(|p| p.as_str().to_string()),
        Parsed::Type(_, t) => t.map(|t| t.as_str().to_string()),
        Parsed::Id(_, _, Who::CurrentUser) => Some(actor.to_string()),
        Parsed::Id(_, _, Who::Id(n)) => Some(n.to_string()),
        Parsed::Id(_, _, Who::Nobody | Who::CurrentGroups) => None,
        Parsed::Tags(..) | Parsed::Hours(..) | Parsed::SlaBreached(_) => None,
    })
}

/// Whether a condition holds on `t`, with `actor` as `current_user` (a trigger's conditions
/// on the ticket as an update leaves it). Hours and `current_groups` never hold here: a
/// trigger refuses them when saved.
pub(crate) fn holds_on(w: &Wire, t: &TicketState, actor: i64) -> Result<bool> {
    Ok(match parse(w)? {
        Parsed::Status(c, s) => holds(c, &t.status, &s),
        Parsed::Priority(c, p) => holds(c, &t.priority, &p),
        Parsed::Type(is, ty) => (t.ticket_type == ty) == is,
        Parsed::Id(col, is, who) => {
            let held = match col {
                IdColumn::Requester => Some(t.requester),
                IdColumn::Submitter => Some(t.submitter),
                IdColumn::Assignee => t.assignee,
                IdColumn::Group => t.group,
                IdColumn::Organization => t.organization,
                IdColumn::Form => t.form,
                IdColumn::StatusRank => Some(t.status.rank()),
            };
            let want = match who {
                Who::CurrentUser => Some(actor),
                Who::Id(n) => Some(n),
                Who::Nobody => None,
                Who::CurrentGroups => return Ok(false),
            };
            (held == want) == is
        }
        Parsed::Tags(includes, tags) => tags.iter().any(|x| t.tags.contains(x)) == includes,
        Parsed::Hours(..) | Parsed::SlaBreached(_) => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(field: &str, operator: &str, value: &str) -> Wire {
        Wire::new(field, operator, value)
    }

    #[test]
    fn unknown_fields_operators_and_values_are_refused_by_name() {
        for (c, needle) in [
            (w("colour", "is", "red"), "unknown field \"colour\""),
            (w("status", "includes", "open"), "operator \"includes\""),
            (w("status", "is", "sleeping"), "status is one of"),
            (w("type", "less_than", "task"), "operator \"less_than\""),
            (w("assignee_id", "is", "Maria"), "assignee_id takes an id"),
            (w("group_id", "is", "current_user"), "group_id takes an id"),
            (w("current_tags", "is", "vip"), "includes or not_includes"),
            (w("NEW", "greater_than", "-3"), "number of hours"),
            (w("NEW", "greater_than_business_hours", "3"), "business hours"),
            (w("custom_fields_12", "is", "x"), "sealed"),
        ] {
            let e = check(std::slice::from_ref(&c), &[]).unwrap_err().to_string();
            assert!(e.contains(needle), "{c:?}: {e}");
        }
        let many: Vec<Wire> = (0..51).map(|_| w("status", "is", "open")).collect();
        assert!(check(&many, &[]).is_err());
    }

    #[test]
    fn ordered_comparisons_pick_the_right_values() {
        let scope = Scope::operator(suoja_core::TenantId(1));
        let cx = Context {
            scope: &scope,
            now: Timestamp(100 * HOUR),
            groups: &[7, 8],
            tagged: &|_| None,
        };
        let got = |c: Wire| format!("{:?}", to_store(&c, &cx).unwrap());
        assert!(got(w("status", "less_than", "solved")).contains("[Some(0), Some(1), Some(2), Some(3)]"));
        assert!(got(w("status", "greater_than", "pending")).contains("[Some(3), Some(4), Some(5)]"));
        // No priority is below low: "priority less than normal" holds for none and low.
        assert!(got(w("priority", "less_than", "normal")).contains("[None, Some(\"low\")]"));
        assert!(got(w("priority", "is_not", "urgent")).contains("[None, Some(\"low\"), Some(\"normal\"), Some(\"high\")]"));
        assert!(got(w("group_id", "is", "current_groups")).contains("[Some(7), Some(8)]"));
        assert!(got(w("assignee_id", "is_not", "")).contains("[None], negate: true"));
        // A tag no ticket was ever indexed with: `includes` finds nothing, `not_includes` all.
        assert_eq!(got(w("current_tags", "includes", "vip")), "Never");
        // Created 24 to 25 hours ago.
        let is = got(w("NEW", "is", "24"));
        assert!(
            is.contains(&format!("from: Some(Timestamp({})), to: Some(Timestamp({}))", 75 * HOUR + 1, 76 * HOUR + 1)),
            "{is}"
        );
        let older = got(w("SOLVED", "greater_than", "24"));
        assert!(older.contains(&format!("from: None, to: Some(Timestamp({}))", 75 * HOUR + 1)), "{older}");
    }
}
