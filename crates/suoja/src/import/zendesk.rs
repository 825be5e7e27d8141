//! Zendesk's JSON shapes read into the records Suoja makes: people, organisations, groups,
//! custom ticket fields, tickets and their comments. Ids the records point at are mapped to the
//! ids the pointed-at records were given here; what cannot be mapped is said, never guessed.

use serde_json::Value;
use suoja_core::{Email, Personal, Priority, Role, Status, TicketType, Timestamp, UserId};
use suoja_helpdesk::fields::{FieldInput, OptionInput, Owner};
use suoja_helpdesk::import::IdMap;
use suoja_helpdesk::model::{Channel, CommentInput, CustomFields, NewFile, RequesterRef, TicketInput, UserInput};
use suoja_helpdesk::orgs::OrgInput;
use suoja_helpdesk::satisfaction::Score;

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.trim().is_empty())
}

fn int(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64)
}

fn flag(v: &Value, key: &str) -> Option<bool> {
    v.get(key).and_then(Value::as_bool)
}

fn time(v: &Value, key: &str) -> Option<Timestamp> {
    text(v, key).and_then(Timestamp::parse)
}

fn ints(v: &Value, key: &str) -> Vec<i64> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default()
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

fn personal(v: &Value, key: &str) -> Option<Personal<String>> {
    text(v, key).map(|s| Personal::new(s.to_string()))
}

/// A record's id at the source.
pub fn id(v: &Value) -> Option<i64> {
    int(v, "id")
}

/// A person: their record here, or why they cannot come over.
pub fn user(v: &Value, ids: &IdMap) -> Result<(UserInput, Option<Timestamp>), String> {
    let name = personal(v, "name").ok_or("name: blank")?;
    let email = match text(v, "email") {
        Some(e) => Some(Some(Email::parse(e).map_err(|_| "email: not a valid e-mail address".to_string())?)),
        None => None,
    };
    let role = match text(v, "role") {
        Some("admin") => Role::Admin,
        Some("agent") => Role::Agent,
        _ => Role::EndUser,
    };
    let input = UserInput {
        name: Some(name),
        email,
        role: Some(role),
        phone: personal(v, "phone").map(Some),
        details: personal(v, "details").map(Some),
        notes: personal(v, "notes").map(Some),
        tags: Some(strings(v, "tags")),
        external_id: personal(v, "external_id").map(Some),
        organization_id: int(v, "organization_id").and_then(|o| ids.org(o)).map(Some),
        locale: text(v, "locale").map(str::to_string),
        time_zone: text(v, "iana_time_zone").map(str::to_string),
        verified: flag(v, "verified"),
        // Someone deleted at the source comes over (they wrote comments) but cannot sign in.
        suspended: Some(flag(v, "suspended").unwrap_or(false) || flag(v, "active") == Some(false)),
        ..Default::default()
    };
    Ok((input, time(v, "created_at")))
}

/// An organisation.
pub fn org(v: &Value, ids: &IdMap) -> Result<OrgInput, String> {
    let name = text(v, "name").ok_or("name: blank")?;
    Ok(OrgInput {
        name: Some(name.trim().to_string()),
        details: Some(text(v, "details").map(str::to_string)),
        notes: Some(text(v, "notes").map(str::to_string)),
        domain_names: Some(strings(v, "domain_names")),
        tags: Some(strings(v, "tags")),
        external_id: Some(text(v, "external_id").map(str::to_string)),
        group_id: Some(int(v, "group_id").and_then(|g| ids.group(g))),
        shared_tickets: flag(v, "shared_tickets"),
        shared_comments: flag(v, "shared_comments"),
        ..Default::default()
    })
}

/// Whether Suoja keeps ticket fields of this type (Zendesk's `dropdown` is its `tagger`).
fn kept(kind: &str) -> bool {
    kind == "dropdown" || Owner::Ticket.types().contains(&kind)
}

/// A custom ticket field (`Ok(None)`: one of the built-in fields every ticket has here).
pub fn ticket_field(v: &Value) -> Result<Option<FieldInput>, String> {
    let kind = text(v, "type").unwrap_or_default();
    if flag(v, "removable") == Some(false) && !kept(kind) || is_builtin(kind) {
        return Ok(None);
    }
    if !kept(kind) {
        return Err(format!("type: {kind} fields are not kept here"));
    }
    let title = text(v, "title").ok_or("title: blank")?;
    let options = v.get("custom_field_options").and_then(Value::as_array).map(|opts| {
        opts.iter()
            .filter_map(|o| {
                Some(OptionInput {
                    id: None,
                    name: text(o, "name")?.to_string(),
                    value: text(o, "value")?.to_string(),
                    default: flag(o, "default").unwrap_or(false),
                })
            })
            .collect()
    });
    Ok(Some(FieldInput {
        field_type: Some(if kind == "dropdown" { "tagger".into() } else { kind.to_string() }),
        title: Some(title.to_string()),
        description: text(v, "description").map(str::to_string),
        title_in_portal: Some(text(v, "title_in_portal").filter(|t| *t != title).map(str::to_string)),
        active: flag(v, "active"),
        required: flag(v, "required"),
        required_in_portal: flag(v, "required_in_portal"),
        visible_in_portal: flag(v, "visible_in_portal"),
        editable_in_portal: flag(v, "editable_in_portal"),
        regexp: (kind == "regexp").then(|| text(v, "regexp_for_validation").map(str::to_string)),
        tag: (kind == "checkbox").then(|| text(v, "tag").map(str::to_string)),
        options: if matches!(kind, "tagger" | "dropdown" | "multiselect") {
            options
        } else {
            None
        },
        ..Default::default()
    }))
}

fn is_builtin(kind: &str) -> bool {
    matches!(
        kind,
        "subject" | "description" | "status" | "custom_status" | "tickettype" | "priority" | "basic_priority" | "group" | "assignee"
    )
}

/// The people a ticket and its comments point at (requester, submitter, assignee, CCs,
/// followers, writers), for fetching those not yet brought over.
pub fn people_of(ticket: &Value, comments: &[Value]) -> Vec<i64> {
    let mut out: Vec<i64> = ["requester_id", "submitter_id", "assignee_id"].iter().filter_map(|k| int(ticket, k)).collect();
    for k in ["collaborator_ids", "email_cc_ids", "follower_ids"] {
        out.extend(ints(ticket, k));
    }
    out.extend(comments.iter().filter_map(|c| int(c, "author_id")));
    out.sort_unstable();
    out.dedup();
    out
}

/// A comment's attachments: (name, type, address).
pub fn attachments(comment: &Value) -> Vec<(String, String, String)> {
    comment
        .get("attachments")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|f| {
                    Some((
                        text(f, "file_name").unwrap_or("attachment").to_string(),
                        text(f, "content_type").unwrap_or("application/octet-stream").to_string(),
                        text(f, "content_url")?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Is this ticket deleted at the source (the incremental export lists them)?
pub fn is_deleted(ticket: &Value) -> bool {
    text(ticket, "status") == Some("deleted")
}

/// Why the source's person `id`, named in `field`, is not here.
fn missing(ids: &IdMap, field: &str, id: i64) -> String {
    if ids.is_gone(id) {
        format!("{field}: the source's person {id} was erased or deleted here, and is not brought back")
    } else {
        format!("{field}: the source's person {id} could not be brought over")
    }
}

/// A comment as written here (its files already read); `opened` dates one the source gives no
/// time for.
pub fn comment(v: &Value, ids: &IdMap, files: Vec<NewFile>, opened: Timestamp) -> Result<(CommentInput, Timestamp), String> {
    let author = int(v, "author_id").ok_or("comment author_id: missing")?;
    let author = ids.user(author).ok_or_else(|| missing(ids, "comment author_id", author))?;
    let body = personal(v, "plain_body").or_else(|| personal(v, "body"));
    let html = personal(v, "html_body");
    Ok((
        CommentInput {
            body,
            html_body: html,
            // A comment that does not say it is public stays internal: never shown to the
            // requester by mistake.
            public: flag(v, "public").unwrap_or(false),
            author_id: Some(author),
            uploads: Vec::new(),
            files,
            via: Channel::Import,
        },
        time(v, "created_at").unwrap_or(opened),
    ))
}

/// A ticket's fields (its first comment is added by the caller); unknown custom fields are
/// counted in `dropped`.
pub fn ticket(v: &Value, ids: &IdMap, dropped: &mut u64) -> Result<TicketInput, String> {
    let person = |key: &str| -> Result<Option<UserId>, String> {
        match int(v, key) {
            None => Ok(None),
            Some(id) => ids.user(id).map(Some).ok_or_else(|| missing(ids, key, id)),
        }
    };
    let requester = person("requester_id")?.ok_or("requester_id: missing")?;
    let status = match text(v, "status") {
        Some(s) => Status::parse(s).map_err(|_| format!("status: {s} is not a status here"))?,
        None => Status::New,
    };
    let mut custom = Vec::new();
    for f in v.get("custom_fields").and_then(Value::as_array).into_iter().flatten() {
        let (Some(fid), Some(value)) = (int(f, "id"), f.get("value")) else { continue };
        if value.is_null() || value.as_str().is_some_and(str::is_empty) || value.as_array().is_some_and(Vec::is_empty) {
            continue;
        }
        match ids.field(fid) {
            Some(local) => custom.push((local, value.clone())),
            None => *dropped += 1,
        }
    }
    // `None` for none: a new ticket has no CCs to replace.
    let mapped = |key: &str| -> Option<Vec<UserId>> {
        let people: Vec<UserId> = ints(v, key).into_iter().filter_map(|u| ids.user(u)).collect();
        (!people.is_empty()).then_some(people)
    };
    Ok(TicketInput {
        subject: personal(v, "subject").or_else(|| personal(v, "raw_subject")),
        requester: Some(RequesterRef::Id(requester)),
        submitter_id: Some(person("submitter_id")?.unwrap_or(requester)),
        assignee_id: Some(person("assignee_id").ok().flatten()),
        group_id: Some(int(v, "group_id").and_then(|g| ids.group(g))),
        organization_id: Some(int(v, "organization_id").and_then(|o| ids.org(o))),
        status: Some(status),
        priority: Some(text(v, "priority").and_then(|p| Priority::parse(p).ok())),
        ticket_type: Some(text(v, "type").and_then(|t| TicketType::parse(t).ok())),
        tags: Some(strings(v, "tags")),
        custom_fields: (!custom.is_empty()).then(|| CustomFields::new(custom)),
        external_id: Some(personal(v, "external_id")),
        due_at: Some(time(v, "due_at")),
        collaborator_ids: mapped("collaborator_ids"),
        email_cc_ids: mapped("email_cc_ids"),
        follower_ids: mapped("follower_ids"),
        ..Default::default()
    })
}

/// When a ticket was opened and last changed.
pub fn ticket_times(v: &Value) -> (Timestamp, Timestamp) {
    let created = time(v, "created_at").unwrap_or(Timestamp(0));
    (created, time(v, "updated_at").unwrap_or(created))
}

/// A satisfaction rating as the source has it.
pub struct Rating {
    /// The rated ticket's id at the source.
    pub ticket: i64,
    /// Good or bad.
    pub score: Score,
    /// What the requester wrote with it.
    pub comment: Option<Personal<String>>,
    /// When it was given and last changed.
    pub at: (Timestamp, Timestamp),
}

/// A satisfaction rating (`None`: an offered survey nobody answered).
pub fn rating(v: &Value) -> Option<Rating> {
    let score = Score::parse(text(v, "score")?)?;
    let created = time(v, "created_at").unwrap_or(Timestamp(0));
    Some(Rating {
        ticket: int(v, "ticket_id")?,
        score,
        comment: personal(v, "comment"),
        at: (created, time(v, "updated_at").unwrap_or(created)),
    })
}
