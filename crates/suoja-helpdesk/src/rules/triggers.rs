//! Triggers: rules run on every ticket update (Zendesk's `triggers`). After a ticket is created
//! or changed, the tenant's active triggers are tested in order against the update: what the
//! ticket is now, what changed (`changed`, `value`, `value_previous`, …), whether it was
//! created, the comment added and who made the update. A trigger that holds makes its changes
//! (fields and tags, as a macro's), sends its notifications by e-mail and calls webhooks
//! (`notification_webhook`: a JSON body with placeholders, to a webhook subscribed to
//! `conditional_ticket_events`).
//!
//! **Bounded as Zendesk bounds it:** a trigger fires at most once per update; when one changes
//! the ticket, the triggers are tested again from the first, so one that holds only after
//! another's change fires too. With each firing at most once, an update makes at most as many
//! passes as the tenant has triggers ([`super::MAX_RULES`]); two triggers undoing each other's
//! change each fire once and stop.
//!
//! Every tenant gets the notifications the e-mail channel sends as default triggers: the
//! requester's acknowledgement of a new request, public replies to the requester and CCs,
//! updates and assignments to the assignee. The mail settings' switches turn these on and off.
//! A default notification's text, left as it is, is written in each recipient's language.

use serde_json::Value;
use suoja_core::{Role, Scope, TenantId, UserId};
use suoja_store::rules::RuleRow;

use super::conditions::{self, TicketState, Wire};
use super::kept::Versions;
use super::macros::{self, Action, Assignee, Effect};
use super::{Kind, RuleInput, WhenThen};
use crate::model::TicketInput;
use crate::{Helpdesk, HelpdeskError, Result};

/// The longest notification subject, in characters.
pub const MAX_NOTICE_SUBJECT: usize = 255;

/// The longest notification text, in characters.
pub const MAX_NOTICE_BODY: usize = 20_000;

/// The placeholders a webhook call's body may hold: the ticket's and its people's, never who
/// made the update nor a comment's words (the call is made later, for the ticket as it is).
pub fn webhook_placeholders() -> Vec<&'static str> {
    macros::PLACEHOLDERS.iter().copied().filter(|p| !p.starts_with("current_user.")).collect()
}

/// The placeholders a trigger's notification may hold: a macro's, and the update's comment.
pub fn placeholders() -> Vec<&'static str> {
    let mut p = macros::PLACEHOLDERS.to_vec();
    p.push("ticket.latest_comment");
    p
}

/// A trigger.
#[derive(Debug, Clone)]
pub struct Trigger {
    /// The stored rule.
    pub row: RuleRow,
    /// Conditions that must all hold.
    pub all: Vec<Wire>,
    /// Conditions of which one must hold (when given).
    pub any: Vec<Wire>,
    /// Its changes and notifications.
    pub actions: Vec<Action>,
    /// The category it is filed under.
    pub category_id: Option<i64>,
}

impl Trigger {
    fn from_row(row: RuleRow) -> Result<Trigger> {
        let d = WhenThen::read(&row)?;
        Ok(Trigger {
            row,
            all: d.all,
            any: d.any,
            actions: d.actions,
            category_id: d.category_id,
        })
    }
}

/// What a create or update gives (`None`: left as it is).
#[derive(Debug, Clone, Default)]
pub struct TriggerInput {
    /// Title, description, active, position.
    pub rule: RuleInput,
    /// Conditions that must all hold.
    pub all: Option<Vec<Wire>>,
    /// Conditions of which one must hold.
    pub any: Option<Vec<Wire>>,
    /// Changes and notifications.
    pub actions: Option<Vec<Action>>,
    /// The category (`Some(None)`: none).
    pub category_id: Option<Option<i64>>,
}

/// The most triggers that may change a ticket in one update; the rest are not run (logged).
/// With each change sending the tests back to the first trigger, this bounds an update's work
/// to this many passes over the tenant's triggers.
pub const MAX_CHANGING: usize = 50;

/// A comment's words as conditions compare them: read when a condition first looks for words
/// (most tenants' triggers never do), then kept for the rest of the update.
#[derive(Debug, Default)]
pub(crate) struct Said<'t> {
    /// The comment's text.
    text: &'t str,
    /// Its words in order, and as a set for looking one up.
    read: std::sync::OnceLock<(Vec<String>, std::collections::HashSet<String>)>,
}

impl<'t> Said<'t> {
    pub(crate) fn of(text: &'t str) -> Said<'t> {
        Said {
            text,
            read: std::sync::OnceLock::new(),
        }
    }

    fn read(&self) -> &(Vec<String>, std::collections::HashSet<String>) {
        self.read.get_or_init(|| {
            let words = words(self.text);
            let set = words.iter().cloned().collect();
            (words, set)
        })
    }

    /// The words in order.
    pub(crate) fn words(&self) -> &[String] {
        &self.read().0
    }

    /// Whether `word` (as [`words`] gives it) is among them.
    pub(crate) fn has(&self, word: &str) -> bool {
        self.read().1.contains(word)
    }
}

/// An update, as a trigger's conditions see it.
#[derive(Debug, Clone)]
pub(crate) struct Update<'a> {
    /// The ticket before (`None`: it is being created).
    pub before: Option<&'a TicketState>,
    /// The ticket now.
    pub after: TicketState,
    /// The comment added: whether public, and its words.
    pub comment: Option<(bool, &'a Said<'a>)>,
    /// Who made the update.
    pub actor: UserId,
    /// Their role.
    pub role: Role,
}

/// Fields whose change a trigger tests.
const CHANGE_FIELDS: &[&str] = &[
    "status",
    "priority",
    "type",
    "assignee_id",
    "group_id",
    "requester_id",
    "organization_id",
    "ticket_form_id",
];

/// The operators testing a change.
const CHANGE_OPERATORS: &[&str] = &["changed", "not_changed", "value", "value_previous", "not_value", "not_value_previous"];

fn value_text(w: &Wire) -> String {
    match &w.value {
        Value::String(s) => s.trim().to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// The same condition with `is`, to check and read its value as a view's.
fn as_is(w: &Wire) -> Wire {
    Wire {
        field: w.field.clone(),
        operator: "is".into(),
        value: w.value.clone(),
    }
}

/// Checks one trigger condition; returns it as stored.
fn check_condition(w: &Wire) -> Result<Wire> {
    let v = value_text(w);
    let op = w.operator.as_str();
    let stored = |value: &str| Wire {
        field: w.field.clone(),
        operator: w.operator.clone(),
        value: Value::String(value.to_string()),
    };
    match w.field.as_str() {
        "update_type" => {
            if op != "is" || !matches!(v.as_str(), "Create" | "Change") {
                return Err(HelpdeskError::invalid("conditions", "conditions: update_type is Create or Change"));
            }
            Ok(stored(&v))
        }
        "comment_is_public" => {
            if !matches!(op, "is" | "is_not") || !matches!(v.as_str(), "true" | "false" | "not_relevant" | "requester_can_see_comment") {
                return Err(HelpdeskError::invalid(
                    "conditions",
                    "conditions: comment_is_public is (or is_not) true, false, not_relevant (a comment, public or not) or requester_can_see_comment",
                ));
            }
            Ok(stored(&v))
        }
        "comment_includes_word" => {
            if !matches!(op, "includes" | "not_includes" | "is" | "is_not") {
                return Err(HelpdeskError::invalid(
                    "conditions",
                    "conditions: comment_includes_word takes includes, not_includes, is or is_not",
                ));
            }
            if words(&v).is_empty() || v.chars().count() > 1_000 || v.chars().any(char::is_control) {
                return Err(HelpdeskError::invalid(
                    "conditions",
                    "conditions: comment_includes_word takes one to 1000 characters holding at least one word",
                ));
            }
            Ok(stored(&v))
        }
        "role" | "current_user_role" => {
            if !matches!(op, "is" | "is_not") || !matches!(v.as_str(), "end_user" | "agent" | "admin") {
                return Err(HelpdeskError::invalid("conditions", "conditions: role is (or is_not) end_user, agent or admin"));
            }
            Ok(stored(&v))
        }
        f if CHANGE_OPERATORS.contains(&op) => {
            if !CHANGE_FIELDS.contains(&f) {
                return Err(HelpdeskError::invalid(
                    "conditions",
                    format!(
                        "conditions: the operator {op:?} cannot test {f}; changes are tested on {}",
                        CHANGE_FIELDS.join(", ")
                    ),
                ));
            }
            if matches!(op, "changed" | "not_changed") {
                return Ok(stored(""));
            }
            conditions::check(&[as_is(w)], &[])?;
            if v == "current_groups" {
                return Err(HelpdeskError::invalid(
                    "conditions",
                    "conditions: a trigger has no one looking; current_groups means nothing to it",
                ));
            }
            Ok(stored(&v))
        }
        _ => {
            let (checked, _) = conditions::check(std::slice::from_ref(w), &[])?;
            let c = checked
                .into_iter()
                .next()
                .ok_or_else(|| HelpdeskError::invalid("conditions", "conditions: empty"))?;
            if conditions::counts_hours(&c) {
                return Err(HelpdeskError::invalid(
                    "conditions",
                    format!(
                        "conditions: {} counts hours, which a trigger (run when a ticket changes) cannot; use an automation",
                        c.field
                    ),
                ));
            }
            if v == "current_groups" {
                return Err(HelpdeskError::invalid(
                    "conditions",
                    "conditions: a trigger has no one looking; current_groups means nothing to it",
                ));
            }
            Ok(c)
        }
    }
}

/// Checks a trigger's conditions; at most [`conditions::MAX_CONDITIONS`].
pub(crate) fn check_conditions(all: &[Wire], any: &[Wire]) -> Result<(Vec<Wire>, Vec<Wire>)> {
    if all.len() + any.len() > conditions::MAX_CONDITIONS {
        return Err(HelpdeskError::invalid(
            "conditions",
            format!("conditions: at most {}", conditions::MAX_CONDITIONS),
        ));
    }
    let all = all.iter().map(check_condition).collect::<Result<Vec<_>>>()?;
    let any = any.iter().map(check_condition).collect::<Result<Vec<_>>>()?;
    if all.is_empty() && any.is_empty() {
        return Err(HelpdeskError::invalid(
            "conditions",
            "conditions: a trigger needs at least one condition, or it would act on every update",
        ));
    }
    Ok((all, any))
}

/// Words as a comment condition compares them: lower case, split at anything not a letter or
/// digit. What the privacy engine wrote in place of a person's words (`[redacted]`) is no word.
fn words(text: &str) -> Vec<String> {
    text.replace("[redacted]", " ")
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Whether a checked condition holds for the update.
pub(crate) fn holds(w: &Wire, u: &Update<'_>) -> Result<bool> {
    let v = value_text(w);
    let op = w.operator.as_str();
    Ok(match w.field.as_str() {
        "update_type" => (v == "Create") == u.before.is_none(),
        "comment_is_public" => {
            let yes = match v.as_str() {
                "true" | "requester_can_see_comment" => u.comment.is_some_and(|(p, _)| p),
                "false" => u.comment.is_some_and(|(p, _)| !p),
                _ => u.comment.is_some(),
            };
            yes == (op == "is")
        }
        "comment_includes_word" => {
            let wanted = words(&v);
            let found = match u.comment {
                None => false,
                // Any of the words.
                Some((_, said)) if matches!(op, "includes" | "not_includes") => wanted.iter().any(|x| said.has(x)),
                // The words together, in order.
                Some((_, said)) => !wanted.is_empty() && said.words().windows(wanted.len()).any(|s| s == wanted.as_slice()),
            };
            found == matches!(op, "includes" | "is")
        }
        "role" | "current_user_role" => {
            let role = match u.role {
                Role::EndUser => "end_user",
                Role::Agent => "agent",
                Role::Admin => "admin",
            };
            (role == v) == (op == "is")
        }
        f if CHANGE_OPERATORS.contains(&op) => {
            let now = u.after.value_of(f);
            let was = u.before.and_then(|b| b.value_of(f));
            // A new ticket's fields changed from nothing to what they were given.
            let changed = u.before.is_none() || now != was;
            let named = || conditions::value_named(&as_is(w), u.actor.0);
            match op {
                "changed" => changed,
                "not_changed" => !changed,
                "value" => changed && now == named()?,
                "not_value" => !(changed && now == named()?),
                "value_previous" => changed && was == named()?,
                _ => !(changed && was == named()?),
            }
        }
        _ => conditions::holds_on(w, &u.after, u.actor.0)?,
    })
}

/// Whether a trigger holds for the update: every `all`, and one of `any` when there are any.
pub(crate) fn fires(t: &Trigger, u: &Update<'_>) -> Result<bool> {
    for w in &t.all {
        if !holds(w, u)? {
            return Ok(false);
        }
    }
    if t.any.is_empty() {
        return Ok(true);
    }
    for w in &t.any {
        if holds(w, u)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Who a notification goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Recipient {
    /// The ticket's requester.
    Requester,
    /// The requester and the ticket's CCs (not followers).
    RequesterAndCcs,
    /// The ticket's assignee.
    Assignee,
    /// Whoever made the update.
    CurrentUser,
    /// One person.
    User(UserId),
    /// The agents of the ticket's group.
    TicketGroup,
    /// The agents of a group.
    Group(suoja_core::GroupId),
}

/// A notification a trigger sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Notice {
    /// To whom.
    pub to: Recipient,
    /// Subject, with placeholders.
    pub subject: String,
    /// Text, with placeholders.
    pub body: String,
}

/// A trigger's action: a change (as a macro's), a notification or a webhook call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Act {
    Change(Effect),
    Notify(Notice),
    /// POST the body (JSON with placeholders) to the webhook.
    Webhook {
        webhook: i64,
        body: String,
    },
}

/// Checks a webhook call's body: one to [`MAX_NOTICE_BODY`] characters, known placeholders, and
/// JSON (an object or a list) whatever the placeholders hold.
fn check_webhook_body(body: &str) -> Result<()> {
    if body.trim().is_empty() || body.chars().count() > MAX_NOTICE_BODY {
        return Err(HelpdeskError::invalid(
            "actions",
            format!("actions: a webhook call's body is one to {MAX_NOTICE_BODY} characters"),
        ));
    }
    macros::check_placeholders_in(body, &webhook_placeholders())?;
    // Placeholders are filled in as the contents of JSON strings: the body must be JSON with
    // any text in their place.
    let sample = macros::fill(body, &|_| Some("x".into()), false);
    match serde_json::from_str::<Value>(&sample) {
        Ok(Value::Object(_) | Value::Array(_)) => Ok(()),
        _ => Err(HelpdeskError::invalid(
            "actions",
            "actions: a webhook call's body is a JSON object or list, with placeholders inside its strings",
        )),
    }
}

/// Checks placeholders in a notification's text against [`placeholders`].
fn check_notice_text(what: &str, text: &str, most: usize) -> Result<()> {
    if text.trim().is_empty() || text.chars().count() > most {
        return Err(HelpdeskError::invalid(
            "actions",
            format!("actions: a notification's {what} is one to {most} characters"),
        ));
    }
    if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r')) || (what == "subject" && text.contains(['\n', '\r'])) {
        return Err(HelpdeskError::invalid(
            "actions",
            format!("actions: a notification's {what} holds a control character"),
        ));
    }
    macros::check_placeholders_in(text, &placeholders())
}

/// An action's value as a list of texts (numbers written out); empty when it is not one.
fn texts(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Reads one action of a trigger.
pub(crate) fn parse_action(a: &Action) -> Result<Act> {
    match a.field.as_str() {
        "notification_user" | "notification_group" => {
            let parts = texts(&a.value);
            let [to, subject, body] = parts.as_slice() else {
                return Err(HelpdeskError::invalid(
                    "actions",
                    format!("actions: {} takes a list of three: who, the subject and the text", a.field),
                ));
            };
            let to = if a.field == "notification_user" {
                match to.as_str() {
                    "requester_id" => Recipient::Requester,
                    "requester_and_ccs" => Recipient::RequesterAndCcs,
                    "assignee_id" => Recipient::Assignee,
                    "current_user" => Recipient::CurrentUser,
                    n => Recipient::User(UserId(n.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                        HelpdeskError::invalid(
                            "actions",
                            "actions: notification_user goes to requester_id, requester_and_ccs, assignee_id, current_user or a person's id",
                        )
                    })?)),
                }
            } else {
                match to.as_str() {
                    "group_id" => Recipient::TicketGroup,
                    n => Recipient::Group(suoja_core::GroupId(n.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                        HelpdeskError::invalid("actions", "actions: notification_group goes to group_id (the ticket's group) or a group's id")
                    })?)),
                }
            };
            check_notice_text("subject", subject, MAX_NOTICE_SUBJECT)?;
            check_notice_text("text", body, MAX_NOTICE_BODY)?;
            Ok(Act::Notify(Notice {
                to,
                subject: subject.clone(),
                body: body.clone(),
            }))
        }
        "notification_webhook" => {
            let parts = texts(&a.value);
            let [id, body] = parts.as_slice() else {
                return Err(HelpdeskError::invalid(
                    "actions",
                    "actions: notification_webhook takes a list of two: the webhook's id and the JSON body",
                ));
            };
            let webhook = id
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| HelpdeskError::invalid("actions", "actions: notification_webhook names a webhook by its id"))?;
            check_webhook_body(body)?;
            Ok(Act::Webhook { webhook, body: body.clone() })
        }
        "notification_target" => Err(HelpdeskError::invalid(
            "actions",
            "actions: targets are retired; call a webhook subscribed to conditional_ticket_events with notification_webhook",
        )),
        _ => match macros::parse(a)? {
            Effect::Subject(_) | Effect::Comment(_) | Effect::CommentHtml(_) | Effect::Public(_) => Err(HelpdeskError::invalid(
                "actions",
                format!(
                    "actions: a trigger changes fields and tags and sends notifications; {} is not one of them",
                    a.field
                ),
            )),
            e => Ok(Act::Change(e)),
        },
    }
}

/// The ticket update a trigger's changes make, `current_user` being `actor`; `None` when it
/// changes nothing.
pub(crate) fn input_of(actions: &[Action], actor: UserId) -> Result<Option<TicketInput>> {
    let mut input = TicketInput::default();
    let mut fields = Vec::new();
    let mut any = false;
    for a in actions {
        let Act::Change(e) = parse_action(a)? else { continue };
        any = true;
        match e {
            Effect::Status(s) => input.status = Some(s),
            Effect::Priority(p) => input.priority = Some(p),
            Effect::Type(t) => input.ticket_type = Some(t),
            Effect::Assignee(Assignee::Id(u)) => input.assignee_id = Some(Some(u)),
            Effect::Assignee(Assignee::CurrentUser) => input.assignee_id = Some(Some(actor)),
            Effect::Assignee(Assignee::Nobody) => input.assignee_id = Some(None),
            Effect::Group(g) => input.group_id = Some(g),
            Effect::SetTags(t) => input.tags = Some(t),
            Effect::AddTags(t) => input.additional_tags.extend(t),
            Effect::RemoveTags(t) => input.remove_tags.extend(t),
            Effect::Field(id, v) => fields.push((id, v)),
            Effect::Subject(_) | Effect::Comment(_) | Effect::CommentHtml(_) | Effect::Public(_) => {}
        }
    }
    if !fields.is_empty() {
        input.custom_fields = Some(suoja_core::Personal::new(fields));
    }
    Ok(any.then_some(input))
}

/// The webhook calls of a trigger: (the action's place, the webhook).
pub(crate) fn webhooks_of(actions: &[Action]) -> Vec<(usize, i64)> {
    actions
        .iter()
        .enumerate()
        .filter_map(|(i, a)| match parse_action(a) {
            Ok(Act::Webhook { webhook, .. }) => Some((i, webhook)),
            _ => None,
        })
        .collect()
}

/// The notifications of a trigger.
pub(crate) fn notices_of(actions: &[Action]) -> Result<Vec<Notice>> {
    let mut out = Vec::new();
    for a in actions {
        if let Act::Notify(n) = parse_action(a)? {
            out.push(n);
        }
    }
    Ok(out)
}

/// Each tenant's active triggers, parsed, as of a version.
pub(crate) type TriggerCache = super::kept::Kept<Vec<Trigger>>;

/// A default trigger: key, title, conditions under `all`, the notification (who, subject,
/// text), and which mail setting switches it.
struct Default {
    key: &'static str,
    title: &'static str,
    all: &'static [(&'static str, &'static str, &'static str)],
    to: &'static str,
    subject: &'static str,
    body: &'static str,
}

const DEFAULTS: &[Default] = &[
    Default {
        key: "notify_requester_received",
        title: "Notify requester of received request",
        all: &[("update_type", "is", "Create")],
        to: "requester_id",
        subject: "[#{{ticket.id}}] We received your request: {{ticket.title}}",
        body: "Hello,\n\nwe received your request (number {{ticket.id}}) and will answer soon; reply to this message to add to it.\n",
    },
    Default {
        key: "notify_requester_comment",
        title: "Notify requester and CCs of comment update",
        all: &[("update_type", "is", "Change"), ("comment_is_public", "is", "true")],
        to: "requester_and_ccs",
        subject: "[#{{ticket.id}}] Re: {{ticket.title}}",
        body: "{{ticket.latest_comment}}\n\n--\nReply to this message to add to request {{ticket.id}}.\n",
    },
    Default {
        key: "notify_assignee_update",
        title: "Notify assignee of comment update",
        all: &[("assignee_id", "is_not", ""), ("comment_is_public", "is", "not_relevant")],
        to: "assignee_id",
        subject: "[#{{ticket.id}}] Assigned to you: {{ticket.title}}",
        body: "Request {{ticket.id}} is assigned to you.\n\n{{ticket.latest_comment}}\n",
    },
    Default {
        key: "notify_assignee_assignment",
        title: "Notify assignee of assignment",
        all: &[
            ("assignee_id", "changed", ""),
            ("assignee_id", "is_not", ""),
            ("comment_is_public", "is_not", "not_relevant"),
        ],
        to: "assignee_id",
        subject: "[#{{ticket.id}}] Assigned to you: {{ticket.title}}",
        body: "Request {{ticket.id}} is assigned to you.\n",
    },
];

/// The Finnish words of a default notification left as it is (subject, text).
pub(crate) fn finnish_default(subject: &str, body: &str) -> Option<(&'static str, &'static str)> {
    let d = DEFAULTS.iter().find(|d| d.subject == subject && d.body == body)?;
    Some(match d.key {
        "notify_requester_received" => (
            "[#{{ticket.id}}] Pyyntösi on vastaanotettu: {{ticket.title}}",
            "Hei,\n\nsaimme pyyntösi (numero {{ticket.id}}). Vastaamme pian; voit lisätä tietoja vastaamalla tähän viestiin.\n",
        ),
        "notify_requester_comment" => (
            "[#{{ticket.id}}] Vastaus pyyntöösi: {{ticket.title}}",
            "{{ticket.latest_comment}}\n\n--\nVastaa tähän viestiin lisätäksesi pyyntöön {{ticket.id}}.\n",
        ),
        "notify_assignee_update" => (
            "[#{{ticket.id}}] Sinulle osoitettu pyyntö päivittyi: {{ticket.title}}",
            "Pyyntö {{ticket.id}} on osoitettu sinulle.\n\n{{ticket.latest_comment}}\n",
        ),
        _ => (
            "[#{{ticket.id}}] Sinulle osoitettu pyyntö päivittyi: {{ticket.title}}",
            "Pyyntö {{ticket.id}} on osoitettu sinulle.\n",
        ),
    })
}

/// Which default triggers a mail setting switches.
fn switched_by(key: &str, n: &suoja_store::settings::Notifications) -> bool {
    match key {
        "notify_requester_received" => n.received,
        "notify_requester_comment" => n.replies,
        _ => n.assignee,
    }
}

impl Helpdesk {
    /// Adds the default triggers the tenant does not have yet, in use as its mail settings say.
    pub(crate) async fn ensure_default_triggers(&self, c: &mut suoja_store::Conn, tenant: TenantId) -> Result<()> {
        let have = suoja_store::rules::count_defaults(c, tenant, Kind::Trigger.as_str()).await?;
        if have >= suoja_core::num::to_i64(DEFAULTS.len()) {
            return Ok(());
        }
        let settings = suoja_store::settings::notifications(c, tenant).await?;
        let now = self.now();
        for (i, d) in DEFAULTS.iter().enumerate() {
            let actions = vec![Action {
                field: "notification_user".into(),
                value: serde_json::json!([d.to, d.subject, d.body]),
            }];
            let all = d.all.iter().map(|(f, o, v)| Wire::new(f, o, v)).collect();
            let row = super::default_row(
                Kind::Trigger,
                d.key,
                d.title,
                i,
                switched_by(d.key, &settings),
                WhenThen::json(all, Vec::new(), actions)?,
                now,
            );
            // `ON CONFLICT DO NOTHING`: two first updates at once add them once.
            suoja_store::rules::insert(c, tenant, &row).await?;
        }
        Ok(())
    }

    /// Adds the default triggers when the tenant has not got them yet (a read when it has).
    pub(crate) async fn default_triggers_present(&self, tenant: TenantId) -> Result<()> {
        let have = {
            let mut c = self.db.read().await?;
            suoja_store::rules::count_defaults(&mut c, tenant, Kind::Trigger.as_str()).await?
        };
        if have < suoja_core::num::to_i64(DEFAULTS.len()) {
            let mut tx = self.db.begin().await?;
            self.ensure_default_triggers(&mut tx, tenant).await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// The active triggers of a tenant, in order (the update path; defaults added first). Read
    /// and parsed once per change of the tenant's triggers: every update asks only whether they
    /// changed ([`suoja_store::rules::version`], one small query), so 100 triggers cost an
    /// update their testing, not their reading.
    ///
    /// With them, the versions of the tenant's triggers, SLA policies and webhooks, read at
    /// once: the change's other steps keep what they read by them.
    pub(crate) async fn active_triggers(&self, c: &mut suoja_store::Conn, tenant: TenantId) -> Result<(std::sync::Arc<Vec<Trigger>>, Versions)> {
        let mut versions = self.rule_versions(c, tenant).await?;
        // Fewer rules than the defaults: they are not all there yet (none is ever removed, so a
        // version kept is never one of these).
        if versions.triggers.0 < suoja_core::num::to_i64(DEFAULTS.len()) {
            self.ensure_default_triggers(c, tenant).await?;
            versions = self.rule_versions(c, tenant).await?;
        }
        let read = async {
            suoja_store::rules::list_active_shared(c, tenant, Kind::Trigger.as_str())
                .await?
                .into_iter()
                .map(Trigger::from_row)
                .collect::<Result<Vec<_>>>()
        };
        let list = self.trigger_cache.get_or_read(tenant, Some(versions.triggers), read).await?;
        Ok((list, versions))
    }

    /// The versions of a tenant's triggers, SLA policies and webhooks, in one read.
    async fn rule_versions(&self, c: &mut suoja_store::Conn, tenant: TenantId) -> Result<Versions> {
        let ([triggers, sla], webhooks) = suoja_store::rules::versions(c, tenant, [Kind::Trigger.as_str(), Kind::Sla.as_str()]).await?;
        Ok(Versions { triggers, sla, webhooks })
    }

    /// Turns the default notification triggers on and off as the mail settings say.
    pub(crate) async fn switch_default_triggers(&self, c: &mut suoja_store::Conn, tenant: TenantId, n: &suoja_store::settings::Notifications) -> Result<()> {
        self.ensure_default_triggers(c, tenant).await?;
        self.trigger_cache.forget(tenant);
        for d in DEFAULTS {
            suoja_store::rules::set_active_by_key(c, tenant, Kind::Trigger.as_str(), d.key, switched_by(d.key, n), self.now()).await?;
        }
        Ok(())
    }

    /// The mail settings as the default notification triggers hold them.
    /// (The caller makes sure the defaults are there.)
    pub(crate) async fn settings_from_triggers(&self, c: &mut suoja_store::Conn, tenant: TenantId) -> Result<suoja_store::settings::Notifications> {
        let rows = suoja_store::rules::list(c, tenant, Kind::Trigger.as_str(), UserId(0)).await?;
        let on = |key: &str| rows.iter().any(|r| r.key.as_deref() == Some(key) && r.active);
        Ok(suoja_store::settings::Notifications {
            received: on("notify_requester_received"),
            replies: on("notify_requester_comment"),
            assignee: on("notify_assignee_update") || on("notify_assignee_assignment"),
        })
    }

    /// Checks a trigger: its conditions, and its actions as a macro's (without replies) or
    /// notifications to people and groups that exist.
    async fn check_trigger(&self, scope: &Scope, all: &[Wire], any: &[Wire], actions: &[Action]) -> Result<(Vec<Wire>, Vec<Wire>, Vec<Action>)> {
        let (all, any) = check_conditions(all, any)?;
        if actions.is_empty() || actions.len() > macros::MAX_ACTIONS {
            return Err(HelpdeskError::invalid("actions", format!("actions: one to {} actions", macros::MAX_ACTIONS)));
        }
        let mut changes = Vec::new();
        let mut out = Vec::with_capacity(actions.len());
        for a in actions {
            match parse_action(a)? {
                Act::Change(_) => changes.push(a.clone()),
                Act::Webhook { webhook, body } => {
                    match self.get_webhook(scope, webhook).await {
                        Ok(w) if w.subscriptions.iter().any(|s| s == crate::webhooks::CONDITIONAL) => {}
                        Ok(_) => {
                            return Err(HelpdeskError::invalid(
                                "actions",
                                format!("actions: webhook {webhook} is not subscribed to conditional_ticket_events"),
                            ));
                        }
                        Err(HelpdeskError::NotFound(_)) => {
                            return Err(HelpdeskError::invalid(
                                "actions",
                                format!("actions: notification_webhook: no webhook {webhook}"),
                            ));
                        }
                        Err(e) => return Err(e),
                    }
                    out.push(Action {
                        field: a.field.clone(),
                        value: serde_json::json!([webhook.to_string(), body]),
                    });
                }
                Act::Notify(n) => {
                    match n.to {
                        Recipient::User(u) => match self.get_user(scope, u).await {
                            Ok(user) if user.role.is_staff() => {}
                            Ok(_) => {
                                return Err(HelpdeskError::invalid(
                                    "actions",
                                    format!("actions: notification_user by id goes to agents; {} is not one", u.0),
                                ));
                            }
                            Err(HelpdeskError::NotFound(_)) => {
                                return Err(HelpdeskError::invalid("actions", format!("actions: notification_user: no person {}", u.0)));
                            }
                            Err(e) => return Err(e),
                        },
                        Recipient::Group(g) => match self.get_group(scope, g).await {
                            Ok(_) => {}
                            Err(HelpdeskError::NotFound(_)) => {
                                return Err(HelpdeskError::invalid("actions", format!("actions: notification_group: no group {}", g.0)));
                            }
                            Err(e) => return Err(e),
                        },
                        _ => {}
                    }
                    out.push(Action {
                        field: a.field.clone(),
                        value: serde_json::json!([recipient_wire(&n.to), n.subject, n.body]),
                    });
                }
            }
        }
        if !changes.is_empty() {
            out.extend(self.check_actions(scope, &changes).await?);
        }
        Ok((all, any, out))
    }

    /// The triggers (staff read them), in order; only active ones with `active`.
    pub async fn list_triggers(&self, scope: &Scope, active: Option<bool>) -> Result<Vec<Trigger>> {
        crate::require_staff(scope)?;
        self.default_triggers_present(scope.tenant).await?;
        self.rules_of(scope, Kind::Trigger, active).await?.into_iter().map(Trigger::from_row).collect()
    }

    /// One trigger.
    pub async fn get_trigger(&self, scope: &Scope, id: i64) -> Result<Trigger> {
        Trigger::from_row(self.rule(scope, Kind::Trigger, id).await?)
    }

    /// Adds a trigger (admins), last in order unless a position is given.
    pub async fn create_trigger(&self, scope: &Scope, input: TriggerInput) -> Result<Trigger> {
        triggers_are_the_teams(scope, &input)?;
        let (all, any, actions) = self
            .check_trigger(
                scope,
                input.all.as_deref().unwrap_or(&[]),
                input.any.as_deref().unwrap_or(&[]),
                input.actions.as_deref().unwrap_or(&[]),
            )
            .await?;
        let mut rule = input.rule.clone();
        rule.restriction = Some(None);
        let category = self.category_given(scope, &input).await?.flatten();
        let definition = WhenThen::in_category(&WhenThen::json(all, any, actions)?, category)?;
        let row = self.add_rule(scope, Kind::Trigger, &rule, definition).await;
        self.trigger_cache.forget(scope.tenant);
        Trigger::from_row(row?)
    }

    /// Changes a trigger (admins); its conditions and actions are checked again when given or
    /// when it is put back in use.
    pub async fn update_trigger(&self, scope: &Scope, id: i64, input: TriggerInput) -> Result<Trigger> {
        triggers_are_the_teams(scope, &input)?;
        let category = self.category_given(scope, &input).await?;
        if input.all.is_none() && input.any.is_none() && input.actions.is_none() && input.rule.active != Some(true) {
            let row = self
                .change_rule(scope, Kind::Trigger, id, &input.rule, |old| match category {
                    Some(c) => WhenThen::in_category(old, c),
                    None => Ok(old.to_string()),
                })
                .await;
            self.trigger_cache.forget(scope.tenant);
            return Trigger::from_row(row?);
        }
        let old = self.get_trigger(scope, id).await?;
        let (all, any, actions) = self
            .check_trigger(
                scope,
                input.all.as_deref().unwrap_or(&old.all),
                input.any.as_deref().unwrap_or(&old.any),
                input.actions.as_deref().unwrap_or(&old.actions),
            )
            .await?;
        let definition = WhenThen::in_category(&WhenThen::json(all, any, actions)?, category.unwrap_or(old.category_id))?;
        let row = self.change_rule(scope, Kind::Trigger, id, &input.rule, |_| Ok(definition)).await;
        self.trigger_cache.forget(scope.tenant);
        Trigger::from_row(row?)
    }

    /// Removes a trigger (admins; not a default one, which can be taken out of use).
    pub async fn delete_trigger(&self, scope: &Scope, id: i64) -> Result<()> {
        if !scope.is_admin() {
            return Err(HelpdeskError::Forbidden("only admins change triggers"));
        }
        let done = self.remove_rule(scope, Kind::Trigger, id).await;
        self.trigger_cache.forget(scope.tenant);
        done
    }

    /// Puts the triggers named in `ids` first, in that order (admins); the others follow in
    /// the order they had. An id named twice or naming no trigger of the tenant is refused.
    pub async fn reorder_triggers(&self, scope: &Scope, ids: &[i64]) -> Result<Vec<Trigger>> {
        if !scope.is_admin() {
            return Err(HelpdeskError::Forbidden("only admins change triggers"));
        }
        let now = self.now();
        let mut tx = self.db.begin().await?;
        self.ensure_default_triggers(&mut tx, scope.tenant).await?;
        if !super::reorder(&mut tx, scope, Kind::Trigger, ids, now).await? {
            return Err(HelpdeskError::invalid(
                "trigger_ids",
                "trigger_ids: the tenant's trigger ids, each once, in the order wanted",
            ));
        }
        tx.commit().await?;
        self.trigger_cache.forget(scope.tenant);
        self.list_triggers(scope, None).await
    }
}

fn recipient_wire(r: &Recipient) -> String {
    match r {
        Recipient::Requester => "requester_id".into(),
        Recipient::RequesterAndCcs => "requester_and_ccs".into(),
        Recipient::Assignee => "assignee_id".into(),
        Recipient::CurrentUser => "current_user".into(),
        Recipient::User(u) => u.0.to_string(),
        Recipient::TicketGroup => "group_id".into(),
        Recipient::Group(g) => g.0.to_string(),
    }
}

impl Helpdesk {
    /// The category a create or update names, checked to be one of the tenant's.
    async fn category_given(&self, scope: &Scope, input: &TriggerInput) -> Result<Option<Option<i64>>> {
        if let Some(Some(c)) = input.category_id {
            match self.rule(scope, Kind::TriggerCategory, c).await {
                Ok(_) => {}
                Err(HelpdeskError::NotFound(_)) => {
                    return Err(HelpdeskError::invalid("category_id", format!("category_id: no trigger category {c}")));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(input.category_id)
    }
}

fn triggers_are_the_teams(scope: &Scope, input: &TriggerInput) -> Result<()> {
    if !scope.is_admin() {
        return Err(HelpdeskError::Forbidden("only admins change triggers"));
    }
    if matches!(input.rule.restriction, Some(Some(_))) {
        return Err(HelpdeskError::invalid("restriction", "restriction: triggers act for the whole team"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use suoja_core::Status;

    fn w(field: &str, operator: &str, value: &str) -> Wire {
        Wire::new(field, operator, value)
    }

    fn state(status: Status, assignee: Option<i64>) -> TicketState {
        TicketState {
            status,
            priority: None,
            ticket_type: None,
            requester: 10,
            submitter: 10,
            assignee,
            group: None,
            organization: None,
            form: None,
            tags: vec!["vip".into()],
        }
    }

    fn t(all: Vec<Wire>, any: Vec<Wire>) -> Trigger {
        Trigger {
            row: RuleRow {
                id: 1,
                kind: "trigger".into(),
                key: None,
                owner_id: None,
                title: "t".into(),
                description: String::new(),
                active: true,
                position: 0,
                definition: String::new(),
                created_at: suoja_core::Timestamp(0),
                updated_at: suoja_core::Timestamp(0),
            },
            all,
            any,
            actions: Vec::new(),
            category_id: None,
        }
    }

    #[test]
    fn change_conditions_compare_before_and_after() {
        let before = state(Status::Open, None);
        let u = Update {
            before: Some(&before),
            after: state(Status::Solved, Some(5)),
            comment: None,
            actor: UserId(5),
            role: Role::Agent,
        };
        let holds = |c: Wire| holds(&check_condition(&c).unwrap(), &u).unwrap();
        assert!(holds(w("status", "changed", "")));
        assert!(holds(w("status", "value", "solved")));
        assert!(!holds(w("status", "value", "open")));
        assert!(holds(w("status", "value_previous", "open")));
        assert!(holds(w("status", "not_value_previous", "pending")));
        assert!(!holds(w("priority", "changed", "")));
        assert!(holds(w("priority", "not_changed", "")));
        assert!(holds(w("assignee_id", "value", "current_user")));
        assert!(holds(w("assignee_id", "value_previous", "")));
        assert!(holds(w("update_type", "is", "Change")));
        assert!(!holds(w("update_type", "is", "Create")));
        // No comment: not public, not private, not present.
        assert!(!holds(w("comment_is_public", "is", "true")));
        assert!(!holds(w("comment_is_public", "is", "not_relevant")));
        assert!(holds(w("comment_is_public", "is_not", "not_relevant")));
        assert!(holds(w("current_tags", "includes", "vip gold")));
        assert!(holds(w("role", "is", "agent")));
        assert!(holds(w("status", "greater_than", "pending")));
    }

    #[test]
    fn a_new_ticket_changed_every_field_it_was_given() {
        let fire = Said::of("Printer on fire");
        let u = Update {
            before: None,
            after: state(Status::New, Some(7)),
            comment: Some((true, &fire)),
            actor: UserId(10),
            role: Role::EndUser,
        };
        let holds = |c: Wire| holds(&check_condition(&c).unwrap(), &u).unwrap();
        assert!(holds(w("update_type", "is", "Create")));
        assert!(holds(w("assignee_id", "changed", "")));
        assert!(holds(w("assignee_id", "value", "7")));
        assert!(holds(w("comment_is_public", "is", "true")));
        assert!(holds(w("comment_is_public", "is", "not_relevant")));
        assert!(!holds(w("comment_is_public", "is", "false")));
        assert!(holds(w("role", "is", "end_user")));
    }

    #[test]
    fn comment_words_are_whole_words_in_any_case() {
        let said = Said::of("We STARTED the refund, Ted.");
        let u = Update {
            before: None,
            after: state(Status::New, None),
            comment: Some((true, &said)),
            actor: UserId(10),
            role: Role::EndUser,
        };
        let holds = |c: Wire| holds(&check_condition(&c).unwrap(), &u).unwrap();
        // Conditions on anything else leave the comment unread.
        assert!(holds(w("comment_is_public", "is", "true")));
        assert!(holds(w("role", "is", "end_user")));
        assert!(said.read.get().is_none(), "the words were read for no condition on them");
        assert!(holds(w("comment_includes_word", "includes", "refund chargeback")));
        assert!(said.read.get().is_some());
        assert!(holds(w("comment_includes_word", "includes", "ted")));
        // "art" is inside "started", not a word of the comment.
        assert!(!holds(w("comment_includes_word", "includes", "art")));
        assert!(holds(w("comment_includes_word", "not_includes", "art")));
        assert!(holds(w("comment_includes_word", "is", "the refund")));
        assert!(!holds(w("comment_includes_word", "is", "refund the")));
    }

    #[test]
    fn all_and_any_combine() {
        let before = state(Status::Open, None);
        let u = Update {
            before: Some(&before),
            after: state(Status::Pending, None),
            comment: None,
            actor: UserId(5),
            role: Role::Agent,
        };
        let trig = t(
            vec![w("status", "changed", "")],
            vec![w("status", "is", "solved"), w("status", "is", "pending")],
        );
        assert!(fires(&trig, &u).unwrap());
        let trig = t(vec![w("status", "changed", "")], vec![w("status", "is", "solved")]);
        assert!(!fires(&trig, &u).unwrap());
    }

    #[test]
    fn bad_conditions_and_actions_are_refused_by_name() {
        for (c, needle) in [
            (w("update_type", "is", "Delete"), "Create or Change"),
            (w("comment_is_public", "is", "maybe"), "comment_is_public"),
            (w("NEW", "greater_than", "3"), "counts hours"),
            (w("current_tags", "changed", ""), "cannot test current_tags"),
            (w("status", "value", "sleeping"), "status is one of"),
            (w("group_id", "is", "current_groups"), "current_groups"),
            (w("colour", "is", "red"), "unknown field"),
            (w("role", "is", "boss"), "end_user, agent or admin"),
        ] {
            let e = check_condition(&c).unwrap_err().to_string();
            assert!(e.contains(needle), "{c:?}: {e}");
        }
        assert!(check_conditions(&[], &[]).unwrap_err().to_string().contains("at least one condition"));
        let act = |f: &str, v: Value| Action { field: f.into(), value: v };
        for (a, needle) in [
            (act("notification_user", serde_json::json!(["requester_id", "Hi"])), "list of three"),
            (act("notification_user", serde_json::json!(["boss", "Hi", "There"])), "goes to"),
            (
                act("notification_user", serde_json::json!(["requester_id", "Hi {{ticket.secret}}", "x"])),
                "unknown placeholder",
            ),
            (
                act("notification_user", serde_json::json!(["requester_id", "Hi\nthere", "x"])),
                "control character",
            ),
            (act("notification_user", serde_json::json!(["requester_id", "", "x"])), "one to 255"),
            (act("notification_webhook", serde_json::json!(["1"])), "list of two"),
            (act("notification_webhook", serde_json::json!(["hook", "{}"])), "by its id"),
            (
                act("notification_webhook", serde_json::json!(["1", "{\"id\": {{ticket.id}}}"])),
                "JSON object or list",
            ),
            (act("notification_webhook", serde_json::json!(["1", "plain words"])), "JSON object or list"),
            (
                act("notification_webhook", serde_json::json!(["1", "{\"who\": \"{{current_user.email}}\"}"])),
                "placeholder",
            ),
            (act("notification_target", serde_json::json!(["1", "{}"])), "retired"),
            (act("comment_value", Value::String("hello".into())), "not one of them"),
        ] {
            let e = parse_action(&a).unwrap_err().to_string();
            assert!(e.contains(needle), "{a:?}: {e}");
        }
        let ok = parse_action(&act(
            "notification_webhook",
            serde_json::json!(["7", "{\"id\": \"{{ticket.id}}\", \"who\": \"{{ticket.requester.name}}\"}"]),
        ))
        .unwrap();
        assert!(matches!(ok, Act::Webhook { webhook: 7, .. }), "{ok:?}");
    }

    #[test]
    fn every_default_has_finnish_words_and_checks() {
        for d in DEFAULTS {
            assert!(finnish_default(d.subject, d.body).is_some(), "{}", d.key);
            let all: Vec<Wire> = d.all.iter().map(|(f, o, v)| w(f, o, v)).collect();
            check_conditions(&all, &[]).unwrap();
            parse_action(&Action {
                field: "notification_user".into(),
                value: serde_json::json!([d.to, d.subject, d.body]),
            })
            .unwrap();
        }
        assert!(finnish_default("Changed", "text").is_none());
    }
}
