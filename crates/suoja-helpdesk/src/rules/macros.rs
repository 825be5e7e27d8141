//! Macros: prepared changes to a ticket and a prepared reply, in Zendesk's shape (`actions` of
//! `{"field", "value"}`). A macro's comment may hold placeholders (`{{ticket.requester.first_name}}`,
//! …) filled in when it is applied; an unknown placeholder is refused when the macro is saved.
//! Applying one through the API shows what it would do and changes nothing; the agent page
//! applies it as one update of the ticket.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use suoja_core::{GroupId, Personal, Priority, Scope, Status, TicketId, TicketType, UserId};
use suoja_store::rules::RuleRow;

use super::conditions::wires;
use super::{Kind, RuleInput};
use crate::fields::Owner;
use crate::model::{Channel, CommentInput, Ticket, TicketChange, TicketInput};
use crate::{Helpdesk, HelpdeskError, Result};

/// The most actions one macro holds.
pub const MAX_ACTIONS: usize = 50;

/// The longest comment a macro holds or makes, in characters (a ticket's comment's limit).
pub const MAX_COMMENT: usize = crate::tickets::MAX_COMMENT_CHARS;

/// The longest subject a macro makes, in characters (a ticket's subject's limit).
pub const MAX_SUBJECT: usize = 1_024;

/// The placeholders a macro's subject and comment may hold.
pub const PLACEHOLDERS: &[&str] = &[
    "ticket.id",
    "ticket.title",
    "ticket.status",
    "ticket.priority",
    "ticket.requester.name",
    "ticket.requester.first_name",
    "ticket.requester.email",
    "ticket.assignee.name",
    "ticket.assignee.first_name",
    "ticket.group.name",
    "current_user.name",
    "current_user.first_name",
    "current_user.email",
];

/// An action in Zendesk's wire form, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// What it sets.
    pub field: String,
    /// To what.
    pub value: Value,
}

/// A macro.
#[derive(Debug, Clone)]
pub struct Macro {
    /// The stored rule.
    pub row: RuleRow,
    /// Its actions.
    pub actions: Vec<Action>,
}

#[derive(Serialize, Deserialize)]
struct Definition {
    actions: Vec<Action>,
}

impl Macro {
    fn from_row(row: RuleRow) -> Result<Macro> {
        let d: Definition = serde_json::from_str(&row.definition).map_err(|e| HelpdeskError::Internal(format!("macro {}: {e}", row.id)))?;
        Ok(Macro { row, actions: d.actions })
    }
}

/// What a create or update gives.
#[derive(Debug, Clone, Default)]
pub struct MacroInput {
    /// Title, description, active, position, restriction.
    pub rule: RuleInput,
    /// The actions (`None`: left as they are).
    pub actions: Option<Vec<Action>>,
}

/// The assignee an action names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Assignee {
    CurrentUser,
    Nobody,
    Id(UserId),
}

/// A checked action.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Effect {
    Status(Status),
    Priority(Option<Priority>),
    Type(Option<TicketType>),
    Assignee(Assignee),
    Group(Option<GroupId>),
    Subject(String),
    SetTags(Vec<String>),
    AddTags(Vec<String>),
    RemoveTags(Vec<String>),
    Comment(String),
    CommentHtml(String),
    Public(bool),
    Field(i64, Value),
}

/// A macro's reply, its placeholders filled in.
#[derive(Debug, Clone)]
pub struct MacroComment {
    /// Plain text (when the macro gives text).
    pub body: Option<Personal<String>>,
    /// HTML (when the macro gives HTML; it wins over text).
    pub html_body: Option<Personal<String>>,
    /// A public reply, or an internal note.
    pub public: bool,
}

/// What a macro would do: the changes (each `None` when it leaves the part alone) and its reply.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    /// Status.
    pub status: Option<Status>,
    /// Priority (`Some(None)` clears it).
    pub priority: Option<Option<Priority>>,
    /// Type.
    pub ticket_type: Option<Option<TicketType>>,
    /// Assignee.
    pub assignee_id: Option<Option<UserId>>,
    /// Group.
    pub group_id: Option<Option<GroupId>>,
    /// Subject, placeholders filled in.
    pub subject: Option<Personal<String>>,
    /// Tags replacing the ticket's.
    pub set_tags: Option<Vec<String>>,
    /// Tags added.
    pub add_tags: Vec<String>,
    /// Tags removed.
    pub remove_tags: Vec<String>,
    /// Field values set.
    pub custom_fields: Vec<(i64, Value)>,
    /// The reply.
    pub comment: Option<MacroComment>,
    /// The ticket as it would be after the changes (when applied to a ticket).
    pub ticket: Option<Ticket>,
}

fn text_of(field: &str, v: &Value) -> Result<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Ok(String::new()),
        // Zendesk's older comment form: ["channel:all", "text"].
        Value::Array(a) if field == "comment_value" && a.len() == 2 => a
            .get(1)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| HelpdeskError::invalid("actions", "actions: comment_value is text, or a list of a channel and the text")),
        _ => Err(HelpdeskError::invalid("actions", format!("actions: the value of {field} must be a string"))),
    }
}

fn tags_of(v: &str) -> Result<Vec<String>> {
    let tags: Vec<String> = v.split_whitespace().map(str::to_lowercase).collect();
    if tags.len() > 50 || tags.iter().any(|t| t.chars().count() > 80) {
        return Err(HelpdeskError::invalid("actions", "actions: at most 50 tags of at most 80 characters"));
    }
    Ok(tags)
}

/// The placeholders in `text` (`{{ name }}`, spaces allowed inside the braces), each checked
/// against a macro's.
fn check_placeholders(text: &str) -> Result<()> {
    check_placeholders_in(text, PLACEHOLDERS)
}

/// The placeholders in `text`, each checked against `known`.
pub(crate) fn check_placeholders_in(text: &str, known: &[&str]) -> Result<()> {
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(HelpdeskError::invalid(
                "actions",
                "actions: a placeholder is not closed: it opens and ends with two braces",
            ));
        };
        let name = after[..end].trim();
        if !known.contains(&name) {
            let shown: String = name.chars().take(60).collect();
            let shown = format!("{{{{{shown}}}}}");
            return Err(HelpdeskError::invalid(
                "actions",
                format!("actions: unknown placeholder {shown}; Suoja fills in {}", known.join(", ")),
            ));
        }
        rest = &after[end + 2..];
    }
    Ok(())
}

/// Fills in the placeholders `value` knows (others stay as written); `html` escapes the values.
pub(crate) fn fill(text: &str, value: &dyn Fn(&str) -> Option<String>, html: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            // Not a placeholder: the rest is text.
            out.push_str(&rest[start..]);
            return out;
        };
        let name = after[..end].trim();
        match value(name) {
            Some(v) if html => out.push_str(&crate::text::escape(&v)),
            Some(v) => out.push_str(&v),
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

fn one_of(field: &str, allowed: &str, v: &str) -> HelpdeskError {
    HelpdeskError::invalid("actions", format!("actions: {field} is one of {allowed}; not {v:?}"))
}

pub(crate) fn parse(a: &Action) -> Result<Effect> {
    let f = a.field.as_str();
    let v = text_of(f, &a.value)?;
    if v.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r')) {
        return Err(HelpdeskError::invalid("actions", format!("actions: {f} holds a control character")));
    }
    let v = v.trim_end_matches(['\r', '\n']).to_string();
    let opt = |v: &str| if v.is_empty() || v == "-" { None } else { Some(v.to_string()) };
    Ok(match f {
        "status" => Effect::Status(Status::parse(&v).map_err(|_| one_of(f, &wires(Status::ALL.iter().map(|s| s.as_str())), &v))?),
        "priority" => Effect::Priority(
            opt(&v)
                .map(|p| Priority::parse(&p))
                .transpose()
                .map_err(|_| one_of(f, &wires(Priority::ALL.iter().map(|p| p.as_str())), &v))?,
        ),
        "type" | "ticket_type_id" => Effect::Type(
            opt(&v)
                .map(|t| TicketType::parse(&t))
                .transpose()
                .map_err(|_| one_of(f, &wires(TicketType::ALL.iter().map(|t| t.as_str())), &v))?,
        ),
        "assignee_id" => Effect::Assignee(match v.as_str() {
            "current_user" => Assignee::CurrentUser,
            "" | "-" => Assignee::Nobody,
            n => Assignee::Id(UserId(n.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                HelpdeskError::invalid("actions", format!("actions: assignee_id takes an id, current_user or nothing, not {n:?}"))
            })?)),
        }),
        "group_id" => Effect::Group(match v.as_str() {
            "" | "-" => None,
            n => Some(GroupId(n.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                HelpdeskError::invalid("actions", format!("actions: group_id takes an id or nothing, not {n:?}"))
            })?)),
        }),
        "subject" => {
            if v.trim().is_empty() || v.chars().count() > 255 {
                return Err(HelpdeskError::invalid("actions", "actions: subject is one to 255 characters"));
            }
            check_placeholders(&v)?;
            Effect::Subject(v)
        }
        "set_tags" => Effect::SetTags(tags_of(&v)?),
        "current_tags" => Effect::AddTags(tags_of(&v)?),
        "remove_tags" => Effect::RemoveTags(tags_of(&v)?),
        "comment_value" | "comment_value_html" => {
            if v.trim().is_empty() || v.chars().count() > MAX_COMMENT {
                return Err(HelpdeskError::invalid("actions", format!("actions: {f} is one to {MAX_COMMENT} characters")));
            }
            check_placeholders(&v)?;
            if f == "comment_value" { Effect::Comment(v) } else { Effect::CommentHtml(v) }
        }
        "comment_mode_is_public" => Effect::Public(match v.as_str() {
            "true" => true,
            "false" => false,
            _ => return Err(HelpdeskError::invalid("actions", "actions: comment_mode_is_public is true or false")),
        }),
        f if f.starts_with("custom_fields_") => {
            let id = f["custom_fields_".len()..]
                .parse::<i64>()
                .map_err(|_| HelpdeskError::invalid("actions", format!("actions: {f} names no field")))?;
            Effect::Field(id, a.value.clone())
        }
        _ => {
            return Err(HelpdeskError::invalid(
                "actions",
                format!(
                    "actions: unknown field {f:?}; a macro sets status, priority, type, assignee_id, group_id, subject, set_tags, current_tags, remove_tags, comment_value, comment_value_html, comment_mode_is_public or custom_fields_<id>"
                ),
            ));
        }
    })
}

impl Helpdesk {
    /// Checks a macro's actions: known fields, values of their shape, known placeholders,
    /// custom fields that exist and values they take; returns them as stored.
    pub(crate) async fn check_actions(&self, scope: &Scope, actions: &[Action]) -> Result<Vec<Action>> {
        if actions.is_empty() || actions.len() > MAX_ACTIONS {
            return Err(HelpdeskError::invalid("actions", format!("actions: one to {MAX_ACTIONS} actions")));
        }
        let mut out = Vec::with_capacity(actions.len());
        for a in actions {
            let effect = parse(a)?;
            let value = match effect {
                Effect::Field(id, v) => {
                    let field = self.get_field(scope, Owner::Ticket, id).await.map_err(|e| match e {
                        HelpdeskError::NotFound(_) => HelpdeskError::invalid("actions", format!("actions: custom_fields_{id} names no ticket field")),
                        other => other,
                    })?;
                    if field.def.system || !field.def.active {
                        return Err(HelpdeskError::invalid(
                            "actions",
                            format!("actions: custom_fields_{id} is not a custom field in use"),
                        ));
                    }
                    crate::fields::check_value(&field, &v, "actions")?
                }
                // The people and groups named must be there now (as an update would require).
                Effect::Assignee(Assignee::Id(u)) => {
                    let ok = match self.get_user(scope, u).await {
                        Ok(user) => user.role.is_staff(),
                        Err(HelpdeskError::NotFound(_)) => false,
                        Err(e) => return Err(e),
                    };
                    if !ok {
                        return Err(HelpdeskError::invalid("actions", format!("actions: assignee_id {} is not an agent", u.0)));
                    }
                    a.value.clone()
                }
                Effect::Group(Some(g)) => {
                    match self.get_group(scope, g).await {
                        Ok(_) => {}
                        Err(HelpdeskError::NotFound(_)) => {
                            return Err(HelpdeskError::invalid("actions", format!("actions: group_id {} names no group", g.0)));
                        }
                        Err(e) => return Err(e),
                    }
                    a.value.clone()
                }
                _ if a.field == "comment_value" => Value::String(text_of(&a.field, &a.value)?),
                _ => a.value.clone(),
            };
            out.push(Action { field: a.field.clone(), value });
        }
        Ok(out)
    }

    /// The macros `scope` sees (staff): shared and their own; only active ones with `active`.
    pub async fn list_macros(&self, scope: &Scope, active: Option<bool>) -> Result<Vec<Macro>> {
        self.rules_of(scope, Kind::Macro, active).await?.into_iter().map(Macro::from_row).collect()
    }

    /// One macro `scope` sees.
    pub async fn get_macro(&self, scope: &Scope, id: i64) -> Result<Macro> {
        Macro::from_row(self.rule(scope, Kind::Macro, id).await?)
    }

    /// Adds a macro: shared (admins) or personal.
    pub async fn create_macro(&self, scope: &Scope, input: MacroInput) -> Result<Macro> {
        crate::require_staff(scope)?;
        let actions = self.check_actions(scope, input.actions.as_deref().unwrap_or(&[])).await?;
        let def = serde_json::to_string(&Definition { actions }).map_err(|e| HelpdeskError::Internal(e.to_string()))?;
        Macro::from_row(self.add_rule(scope, Kind::Macro, &input.rule, def).await?)
    }

    /// Changes a macro.
    pub async fn update_macro(&self, scope: &Scope, id: i64, input: MacroInput) -> Result<Macro> {
        crate::require_staff(scope)?;
        let checked = match &input.actions {
            Some(a) => Some(
                serde_json::to_string(&Definition {
                    actions: self.check_actions(scope, a).await?,
                })
                .map_err(|e| HelpdeskError::Internal(e.to_string()))?,
            ),
            None => None,
        };
        let row = self
            .change_rule(scope, Kind::Macro, id, &input.rule, |old| Ok(checked.unwrap_or_else(|| old.to_string())))
            .await?;
        Macro::from_row(row)
    }

    /// Removes a macro.
    pub async fn delete_macro(&self, scope: &Scope, id: i64) -> Result<()> {
        self.remove_rule(scope, Kind::Macro, id).await
    }

    /// What a macro would do (staff), to `ticket` when given: its changes and its reply with
    /// the placeholders filled in, and the ticket as it would be. Nothing is changed.
    pub async fn apply_macro(&self, scope: &Scope, id: i64, ticket: Option<TicketId>) -> Result<Applied> {
        let m = self.get_macro(scope, id).await?;
        let t = match ticket {
            Some(t) => Some(self.get_ticket(scope, t).await?),
            None => None,
        };
        // The people and group placeholders name, read only when the macro uses them.
        let uses = |p: &str| m.actions.iter().any(|a| a.value.as_str().is_some_and(|s| s.contains(p)));
        let me = if uses("current_user.") {
            Some(self.get_user(scope, scope.actor).await?)
        } else {
            None
        };
        let requester = match &t {
            Some(t) if uses("ticket.requester.") => Some(self.get_user(scope, t.requester_id).await?),
            _ => None,
        };
        let assignee = match t.as_ref().and_then(|t| t.assignee_id) {
            Some(a) if uses("ticket.assignee.") => Some(self.get_user(scope, a).await?),
            _ => None,
        };
        let group = match t.as_ref().and_then(|t| t.group_id) {
            Some(g) if uses("ticket.group.") => Some(self.get_group(scope, g).await?.name),
            _ => None,
        };
        let first = |n: &Personal<String>| n.expose().split_whitespace().next().unwrap_or("").to_string();
        let value = |name: &str| -> Option<String> {
            let email = |u: &crate::model::User| u.email.as_ref().map(|e| e.expose().clone()).unwrap_or_default();
            match name {
                "current_user.name" => me.as_ref().map(|u| u.name.expose().clone()),
                "current_user.first_name" => me.as_ref().map(|u| first(&u.name)),
                "current_user.email" => me.as_ref().map(email),
                _ => {
                    let t = t.as_ref()?;
                    match name {
                        "ticket.id" => Some(t.id.0.to_string()),
                        "ticket.title" => Some(t.subject.as_ref().map(|s| s.expose().clone()).unwrap_or_default()),
                        "ticket.status" => Some(t.status.as_str().to_string()),
                        "ticket.priority" => Some(t.priority.map(|p| p.as_str().to_string()).unwrap_or_default()),
                        "ticket.requester.name" => requester.as_ref().map(|u| u.name.expose().clone()),
                        "ticket.requester.first_name" => requester.as_ref().map(|u| first(&u.name)),
                        "ticket.requester.email" => requester.as_ref().map(email),
                        "ticket.assignee.name" => Some(assignee.as_ref().map(|u| u.name.expose().clone()).unwrap_or_default()),
                        "ticket.assignee.first_name" => Some(assignee.as_ref().map(|u| first(&u.name)).unwrap_or_default()),
                        "ticket.group.name" => Some(group.clone().unwrap_or_default()),
                        _ => None,
                    }
                }
            }
        };
        let mut out = Applied::default();
        let (mut body, mut html, mut public) = (None, None, true);
        for a in &m.actions {
            match parse(a)? {
                Effect::Status(s) => out.status = Some(s),
                Effect::Priority(p) => out.priority = Some(p),
                Effect::Type(ty) => out.ticket_type = Some(ty),
                Effect::Assignee(x) => {
                    out.assignee_id = Some(match x {
                        Assignee::CurrentUser => Some(scope.actor),
                        Assignee::Nobody => None,
                        Assignee::Id(u) => Some(u),
                    })
                }
                Effect::Group(g) => out.group_id = Some(g),
                Effect::Subject(s) => out.subject = Some(Personal::new(fill(&s, &value, false))),
                Effect::SetTags(tags) => out.set_tags = Some(tags),
                Effect::AddTags(tags) => out.add_tags.extend(tags),
                Effect::RemoveTags(tags) => out.remove_tags.extend(tags),
                Effect::Comment(c) => body = Some(Personal::new(fill(&c, &value, false))),
                Effect::CommentHtml(c) => html = Some(Personal::new(fill(&c, &value, true))),
                Effect::Public(p) => public = p,
                Effect::Field(id, v) => out.custom_fields.push((id, v)),
            }
        }
        // Filled in, a placeholder can make a text of any length: held to what a ticket takes.
        if out.subject.as_ref().is_some_and(|s| s.expose().chars().count() > MAX_SUBJECT) {
            return Err(HelpdeskError::invalid(
                "actions",
                format!("actions: the subject filled in is longer than {MAX_SUBJECT} characters"),
            ));
        }
        for text in [&body, &html].into_iter().flatten() {
            if text.expose().chars().count() > MAX_COMMENT {
                return Err(HelpdeskError::invalid(
                    "actions",
                    format!("actions: the reply filled in is longer than {MAX_COMMENT} characters"),
                ));
            }
        }
        if body.is_some() || html.is_some() {
            // The HTML reply wins when both are given, as in Zendesk.
            out.comment = Some(if html.is_some() {
                MacroComment {
                    body: None,
                    html_body: html,
                    public,
                }
            } else {
                MacroComment { body, html_body: None, public }
            });
        }
        if let Some(mut t) = t {
            if let Some(s) = out.status {
                t.status = s;
            }
            if let Some(p) = out.priority {
                t.priority = p;
            }
            if let Some(ty) = out.ticket_type {
                t.ticket_type = ty;
            }
            if let Some(a) = out.assignee_id {
                t.assignee_id = a;
            }
            if let Some(g) = out.group_id {
                t.group_id = g;
            }
            if let Some(s) = &out.subject {
                t.subject = Some(s.clone());
            }
            if let Some(tags) = &out.set_tags {
                t.tags = tags.clone();
            }
            for tag in &out.add_tags {
                if !t.tags.contains(tag) {
                    t.tags.push(tag.clone());
                }
            }
            t.tags.retain(|x| !out.remove_tags.contains(x));
            let mut fields = t.custom_fields.expose().clone();
            for (id, v) in &out.custom_fields {
                match fields.iter_mut().find(|(f, _)| f == id) {
                    Some(slot) => slot.1 = v.clone(),
                    None => fields.push((*id, v.clone())),
                }
            }
            t.custom_fields = Personal::new(fields);
            out.ticket = Some(t);
        }
        Ok(out)
    }

    /// Applies a macro to a ticket (staff, the agent page): its changes and its reply as one
    /// update, held to the fields required to solve.
    pub async fn run_macro(&self, scope: &Scope, id: i64, ticket: TicketId) -> Result<TicketChange> {
        if !self.get_macro(scope, id).await?.row.active {
            return Err(HelpdeskError::Conflict("the macro is not in use".into()));
        }
        let a = self.apply_macro(scope, id, Some(ticket)).await?;
        let input = TicketInput {
            subject: a.subject,
            comment: a.comment.map(|c| CommentInput {
                body: c.body,
                html_body: c.html_body,
                public: c.public,
                author_id: None,
                uploads: Vec::new(),
                files: Vec::new(),
                via: Channel::Web,
            }),
            assignee_id: a.assignee_id,
            group_id: a.group_id,
            status: a.status,
            priority: a.priority,
            ticket_type: a.ticket_type,
            tags: a.set_tags,
            additional_tags: a.add_tags,
            remove_tags: a.remove_tags,
            custom_fields: (!a.custom_fields.is_empty()).then(|| Personal::new(a.custom_fields)),
            enforce_required: true,
            ..Default::default()
        };
        self.update_ticket(scope, ticket, input).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn act(field: &str, value: &str) -> Action {
        Action {
            field: field.into(),
            value: Value::String(value.into()),
        }
    }

    #[test]
    fn placeholders_are_checked_and_filled() {
        assert!(parse(&act("comment_value", "Hi {{ticket.requester.first_name}}, {{ current_user.name }} here")).is_ok());
        let e = parse(&act("comment_value", "Hi {{ticket.requester.shoe_size}}")).unwrap_err().to_string();
        assert!(e.contains("unknown placeholder {{ticket.requester.shoe_size}}"), "{e}");
        assert!(parse(&act("comment_value", "Hi {{ticket.id")).is_err());
        let v = |n: &str| (n == "ticket.requester.name").then(|| "Ted <b>Öberg</b>".to_string());
        assert_eq!(
            fill("Hi {{ ticket.requester.name }}, {{ticket.id}}", &v, false),
            "Hi Ted <b>Öberg</b>, {{ticket.id}}"
        );
        assert_eq!(fill("<p>Hi {{ticket.requester.name}}</p>", &v, true), "<p>Hi Ted &lt;b&gt;Öberg&lt;/b&gt;</p>");
        // Braces that close nothing are text, written once.
        assert_eq!(fill("a }} b {{ticket.requester.name}} {{ c", &v, false), "a }} b Ted <b>Öberg</b> {{ c");
    }

    #[test]
    fn unknown_fields_and_bad_values_are_refused() {
        for (a, needle) in [
            (act("colour", "red"), "unknown field \"colour\""),
            (act("status", "sleeping"), "status is one of"),
            (act("assignee_id", "Maria"), "assignee_id takes an id"),
            (act("comment_mode_is_public", "maybe"), "true or false"),
            (act("custom_fields_x", "1"), "names no field"),
            (act("comment_value", " "), "one to"),
            (act("current_tags", "a\u{0}b"), "control character"),
            (act("subject", "s\u{0}t"), "control character"),
        ] {
            let e = parse(&a).unwrap_err().to_string();
            assert!(e.contains(needle), "{a:?}: {e}");
        }
    }
}
