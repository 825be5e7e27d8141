//! Request bodies parsed into the services' typed inputs. Every field Zendesk documents is
//! known (read-only ones are accepted and ignored); anything else is refused by name.

use serde_json::Value;
use suoja_core::{Email, GroupId, OrganizationId, Personal, Priority, Role, Status, TicketType, Timestamp, UserId};
use suoja_helpdesk::model::{CommentInput, CustomFields, RequesterRef, TicketInput, UserInput};
use suoja_helpdesk::orgs::OrgInput;

use crate::ApiError;
use crate::extract::Obj;

const NAME_MAX: usize = 255;
const TEXT_MAX: usize = 65_536;
const SHORT_MAX: usize = 1024;

/// Fields of a ticket object (writable and read-only).
pub const TICKET_FIELDS: &[&str] = &[
    "id",
    "url",
    "external_id",
    "type",
    "subject",
    "raw_subject",
    "description",
    "priority",
    "status",
    "recipient",
    "requester_id",
    "requester",
    "submitter_id",
    "assignee_id",
    "assignee_email",
    "organization_id",
    "group_id",
    "collaborator_ids",
    "collaborators",
    "follower_ids",
    "followers",
    "email_cc_ids",
    "email_ccs",
    "forum_topic_id",
    "problem_id",
    "has_incidents",
    "is_public",
    "due_at",
    "tags",
    "additional_tags",
    "remove_tags",
    "custom_fields",
    "fields",
    "satisfaction_rating",
    "sharing_agreement_ids",
    "custom_status_id",
    "followup_ids",
    "ticket_form_id",
    "brand_id",
    "allow_channelback",
    "allow_attachments",
    "from_messaging_channel",
    "via",
    "via_id",
    "via_followup_source_id",
    "created_at",
    "updated_at",
    "comment",
    "metadata",
    "safe_update",
    "updated_stamp",
    "macro_ids",
    "generated_timestamp",
    "result_type",
    "audit",
    "attribute_value_ids",
    "encoded_id",
    "comment_count",
    "dates",
    "is_public",
    "voice_comment",
];

const COMMENT_FIELDS: &[&str] = &[
    "body",
    "html_body",
    "plain_body",
    "public",
    "author_id",
    "uploads",
    "id",
    "type",
    "attachments",
    "created_at",
    "via",
    "metadata",
    "audit_id",
];

/// Fields of a user object.
pub const USER_FIELDS: &[&str] = &[
    "id",
    "url",
    "name",
    "email",
    "phone",
    "photo",
    "locale_id",
    "locale",
    "time_zone",
    "iana_time_zone",
    "organization_id",
    "role",
    "role_type",
    "custom_role_id",
    "verified",
    "external_id",
    "tags",
    "alias",
    "active",
    "shared",
    "shared_agent",
    "shared_phone_number",
    "signature",
    "details",
    "notes",
    "restricted_agent",
    "suspended",
    "privacy_officer",
    "default_group_id",
    "report_csv",
    "only_private_comments",
    "ticket_restriction",
    "moderator",
    "chat_only",
    "two_factor_auth_enabled",
    "user_fields",
    "last_login_at",
    "created_at",
    "updated_at",
    "identities",
    "skip_verify_email",
    "password",
    "organization",
    "result_type",
    "permanently_deleted",
];

/// Fields of an organisation object.
pub const ORG_FIELDS: &[&str] = &[
    "id",
    "url",
    "name",
    "details",
    "notes",
    "domain_names",
    "group_id",
    "shared_tickets",
    "shared_comments",
    "external_id",
    "tags",
    "organization_fields",
    "created_at",
    "updated_at",
    "result_type",
];

fn personal(s: Option<String>) -> Option<Personal<String>> {
    s.map(Personal::new)
}

fn enum_field<T>(o: &Obj<'_>, key: &str, parse: fn(&str) -> Result<T, suoja_core::values::Invalid>) -> Result<Option<Option<T>>, ApiError> {
    match o.nullable_str(key, 64)? {
        None => Ok(None),
        Some(None) => Ok(Some(None)),
        Some(Some(s)) => parse(&s.to_lowercase()).map(|v| Some(Some(v))).map_err(|e| o.invalid(key, e)),
    }
}

fn timestamp(o: &Obj<'_>, key: &str) -> Result<Option<Option<Timestamp>>, ApiError> {
    match o.nullable_str(key, 64)? {
        None => Ok(None),
        Some(None) => Ok(Some(None)),
        Some(Some(s)) => Timestamp::parse(&s)
            .map(|t| Some(Some(t)))
            .ok_or_else(|| o.invalid(key, suoja_core::values::Invalid("must be an ISO 8601 date or time".into()))),
    }
}

/// Zendesk's `safe_update: true` with `updated_stamp`: the time the update is conditional on.
/// `updated_stamp` alone changes nothing, as in Zendesk.
pub(crate) fn safe_update(o: &Obj<'_>) -> Result<Option<Timestamp>, ApiError> {
    if o.opt_bool("safe_update")? != Some(true) {
        return Ok(None);
    }
    match timestamp(o, "updated_stamp")? {
        Some(Some(t)) => Ok(Some(t)),
        _ => Err(ApiError::Field(
            "updated_stamp".into(),
            "updated_stamp: is required with safe_update".into(),
            "BlankValue",
        )),
    }
}

fn email(o: &Obj<'_>, key: &str) -> Result<Option<Option<Email>>, ApiError> {
    match o.nullable_str(key, Email::MAX_LEN + 10)? {
        None => Ok(None),
        Some(None) => Ok(Some(None)),
        Some(Some(s)) if s.trim().is_empty() => Ok(Some(None)),
        Some(Some(s)) => Email::parse(&s).map(|e| Some(Some(e))).map_err(|e| o.invalid(key, e)),
    }
}

fn name(o: &Obj<'_>, key: &str) -> Result<Option<Personal<String>>, ApiError> {
    match o.nullable_str(key, NAME_MAX)? {
        None => Ok(None),
        Some(None) => Err(ApiError::Field(key.into(), "Name: cannot be blank".into(), "BlankValue")),
        Some(Some(s)) => suoja_core::NonEmpty::parse(&s, NAME_MAX)
            .map(|n| Some(Personal::new(n.into_string())))
            .map_err(|e| o.invalid(key, e)),
    }
}

/// A user object.
pub fn user_input(o: &Obj<'_>) -> Result<UserInput, ApiError> {
    o.only(USER_FIELDS)?;
    let user_fields = match o.raw("user_fields") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => Some(Personal::new(v.clone())),
        Some(_) => return Err(ApiError::Field("user_fields".into(), "user_fields: must be an object".into(), "InvalidValue")),
    };
    Ok(UserInput {
        name: name(o, "name")?,
        email: email(o, "email")?,
        role: enum_field(o, "role", Role::parse)?.flatten(),
        phone: o.nullable_str("phone", 64)?.map(personal),
        details: o.nullable_str("details", TEXT_MAX)?.map(personal),
        notes: o.nullable_str("notes", TEXT_MAX)?.map(personal),
        tags: o.opt_strings("tags", 100, 80)?,
        external_id: o.nullable_str("external_id", SHORT_MAX)?.map(personal),
        user_fields,
        organization_id: o.nullable_id("organization_id")?.map(|x| x.map(OrganizationId)),
        locale: o.opt_str("locale", 16)?,
        time_zone: o.opt_str("time_zone", 64)?,
        verified: o.opt_bool("verified")?,
        suspended: o.opt_bool("suspended")?,
        privacy_officer: o.opt_bool("privacy_officer")?,
        password: match o.opt_str("password", 256)? {
            Some(p) if p.chars().count() < 8 => {
                return Err(ApiError::Field(
                    "password".into(),
                    "password: must be at least 8 characters".into(),
                    "InvalidValue",
                ));
            }
            p => personal(p),
        },
    })
}

/// A comment object.
pub fn comment_input(o: &Obj<'_>) -> Result<CommentInput, ApiError> {
    o.only(COMMENT_FIELDS)?;
    Ok(CommentInput {
        body: personal(o.opt_str("body", TEXT_MAX)?),
        html_body: personal(o.opt_str("html_body", TEXT_MAX * 2)?),
        public: o.opt_bool("public")?.unwrap_or(true),
        author_id: o.opt_id("author_id")?.map(UserId),
        uploads: o.opt_strings("uploads", 20, 200)?.unwrap_or_default(),
        files: Vec::new(),
        via: Default::default(),
    })
}

fn people(o: &Obj<'_>, ids_key: &str, objects_key: &str) -> Result<Option<Vec<UserId>>, ApiError> {
    let mut ids = o.opt_ids(ids_key)?;
    if let Some(Value::Array(items)) = o.raw(objects_key) {
        let list = ids.get_or_insert_with(Vec::new);
        for it in items {
            match it {
                Value::Number(n) => list.push(
                    n.as_i64()
                        .ok_or_else(|| ApiError::Field(objects_key.into(), format!("{objects_key}: must list user ids"), "InvalidValue"))?,
                ),
                Value::Object(m) => {
                    if let Some(id) = m.get("user_id").or_else(|| m.get("id")).and_then(Value::as_i64) {
                        list.push(id);
                    }
                }
                _ => {
                    return Err(ApiError::Field(
                        objects_key.into(),
                        format!("{objects_key}: must list user ids"),
                        "InvalidValue",
                    ));
                }
            }
        }
    }
    Ok(ids.map(|v| v.into_iter().map(UserId).collect()))
}

/// Most custom field values one request may set.
const MAX_CUSTOM_FIELDS: usize = 100;

/// A field's id must be positive, its value not too long, and the fields few enough; a field
/// named twice keeps the value given last.
fn check_custom(mut fields: Vec<(i64, Value)>) -> Result<Option<CustomFields>, ApiError> {
    let bad = |m: &str| ApiError::Field("custom_fields".into(), format!("custom_fields: {m}"), "InvalidValue");
    let mut seen = std::collections::BTreeSet::new();
    fields.reverse();
    fields.retain(|(id, _)| seen.insert(*id));
    fields.reverse();
    if fields.len() > MAX_CUSTOM_FIELDS {
        return Err(bad("at most 100 fields per request"));
    }
    for (id, v) in &fields {
        if *id <= 0 {
            return Err(bad("a field id is a positive number"));
        }
        if v.to_string().len() > TEXT_MAX {
            return Err(bad("a value is too long"));
        }
    }
    Ok(Some(Personal::new(fields)))
}

fn custom_fields(o: &Obj<'_>) -> Result<Option<CustomFields>, ApiError> {
    let raw = o.raw("custom_fields").or_else(|| o.raw("fields"));
    match raw {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for it in items {
                let id = it
                    .get("id")
                    .and_then(Value::as_i64)
                    .ok_or_else(|| ApiError::Field("custom_fields".into(), "custom_fields: each entry needs a numeric id".into(), "InvalidValue"))?;
                out.push((id, it.get("value").cloned().unwrap_or(Value::Null)));
            }
            check_custom(out)
        }
        Some(Value::Object(m)) => {
            let mut out = Vec::new();
            for (k, v) in m {
                let id = k
                    .parse::<i64>()
                    .map_err(|_| ApiError::Field("custom_fields".into(), "custom_fields: keys must be field ids".into(), "InvalidValue"))?;
                out.push((id, v.clone()));
            }
            check_custom(out)
        }
        Some(_) => Err(ApiError::Field(
            "custom_fields".into(),
            "custom_fields: must be a list of {id, value}".into(),
            "InvalidValue",
        )),
    }
}

/// A ticket object (create or update).
pub fn ticket_input(o: &Obj<'_>, creating: bool) -> Result<TicketInput, ApiError> {
    o.only(TICKET_FIELDS)?;
    let requester = if let Some(r) = o.opt_object("requester")? {
        r.only(&["name", "email", "locale_id", "locale", "phone"])?;
        let e = email(&r, "email")?
            .flatten()
            .ok_or_else(|| ApiError::Field("requester.email".into(), "requester.email: is required".into(), "BlankValue"))?;
        Some(RequesterRef::New {
            name: name(&r, "name")?,
            email: e,
        })
    } else {
        o.opt_id("requester_id")?.map(|i| RequesterRef::Id(UserId(i)))
    };
    let mut comment = o.opt_object("comment")?.map(|c| comment_input(&c)).transpose()?;
    if creating
        && comment.is_none()
        && let Some(d) = o.opt_str("description", TEXT_MAX)?
    {
        {
            comment = Some(CommentInput {
                body: Some(Personal::new(d)),
                html_body: None,
                public: true,
                author_id: None,
                uploads: Vec::new(),
                files: Vec::new(),
                via: Default::default(),
            });
        }
    }
    let subject = match o.nullable_str("subject", 1024)? {
        Some(Some(s)) if !s.trim().is_empty() => Some(Personal::new(s)),
        _ => None,
    };
    Ok(TicketInput {
        subject,
        comment,
        requester,
        submitter_id: o.opt_id("submitter_id")?.map(UserId),
        assignee_id: o.nullable_id("assignee_id")?.map(|x| x.map(UserId)),
        group_id: o.nullable_id("group_id")?.map(|x| x.map(GroupId)),
        organization_id: o.nullable_id("organization_id")?.map(|x| x.map(OrganizationId)),
        status: enum_field(o, "status", Status::parse)?.flatten(),
        priority: enum_field(o, "priority", Priority::parse)?,
        ticket_type: enum_field(o, "type", TicketType::parse)?,
        tags: o.opt_strings("tags", 100, 80)?,
        additional_tags: o.opt_strings("additional_tags", 100, 80)?.unwrap_or_default(),
        remove_tags: o.opt_strings("remove_tags", 100, 80)?.unwrap_or_default(),
        updated_stamp: safe_update(o)?,
        custom_fields: custom_fields(o)?,
        external_id: o.nullable_str("external_id", SHORT_MAX)?.map(personal),
        due_at: timestamp(o, "due_at")?,
        collaborator_ids: people(o, "collaborator_ids", "collaborators")?,
        email_cc_ids: people(o, "email_cc_ids", "email_ccs")?,
        follower_ids: people(o, "follower_ids", "followers")?,
        ticket_form_id: o.nullable_id("ticket_form_id")?,
        // The API solves a ticket whatever its required fields hold, as Zendesk's does.
        enforce_required: false,
    })
}

/// An organisation object.
pub fn org_input(o: &Obj<'_>) -> Result<OrgInput, ApiError> {
    o.only(ORG_FIELDS)?;
    Ok(OrgInput {
        name: o.opt_str("name", NAME_MAX)?,
        details: o.nullable_str("details", TEXT_MAX)?,
        notes: o.nullable_str("notes", TEXT_MAX)?,
        domain_names: o.opt_strings("domain_names", 100, 255)?,
        tags: o.opt_strings("tags", 100, 80)?,
        external_id: o.nullable_str("external_id", SHORT_MAX)?,
        group_id: o.nullable_id("group_id")?.map(|x| x.map(GroupId)),
        shared_tickets: o.opt_bool("shared_tickets")?,
        shared_comments: o.opt_bool("shared_comments")?,
        organization_fields: match o.raw("organization_fields") {
            None | Some(Value::Null) => None,
            Some(v @ Value::Object(_)) => Some(v.clone()),
            Some(_) => {
                return Err(ApiError::Field(
                    "organization_fields".into(),
                    "organization_fields: must be an object".into(),
                    "InvalidValue",
                ));
            }
        },
    })
}

// Fuzzing: request bodies come from anyone with a credential. Any JSON value, however nested or
// typed, is turned into an input or refused with a field error: no panic.
#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    /// Keys the parsers know, and some they do not.
    const KEYS: &[&str] = &[
        "subject",
        "comment",
        "body",
        "html_body",
        "public",
        "requester_id",
        "requester",
        "submitter_id",
        "assignee_id",
        "group_id",
        "organization_id",
        "collaborator_ids",
        "collaborators",
        "email_ccs",
        "followers",
        "status",
        "priority",
        "type",
        "tags",
        "custom_fields",
        "fields",
        "id",
        "value",
        "uploads",
        "due_at",
        "external_id",
        "name",
        "email",
        "phone",
        "role",
        "details",
        "notes",
        "user_fields",
        "locale",
        "time_zone",
        "verified",
        "password",
        "domain_names",
        "shared_tickets",
        "organization_fields",
        "x",
        "",
    ];

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            Just(Value::from(u64::MAX)),
            "\\PC{0,40}".prop_map(Value::String),
            Just(Value::String("a@b.fi".into())),
            Just(Value::String("2024-01-31T09:14:57Z".into())),
            Just(Value::String("\u{0}<script>é".into())),
            Just(Value::String("x".repeat(70_000))),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        scalar().prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::vec((prop::sample::select(KEYS), inner), 0..8)
                    .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
            ]
        })
    }

    fn object() -> impl Strategy<Value = Map<String, Value>> {
        prop::collection::vec((prop::sample::select(KEYS), value()), 0..12).prop_map(|kv| kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn any_object_is_an_input_or_a_field_error(m in object(), creating in any::<bool>()) {
            let o = Obj::root(&m);
            for result in [
                ticket_input(&o, creating).err(),
                user_input(&o).err(),
                comment_input(&o).err(),
                org_input(&o).err(),
            ]
            .into_iter()
            .flatten()
            {
                // The client's mistake, said as such: never a server error.
                let status = axum::response::IntoResponse::into_response(result).status();
                prop_assert!(status.is_client_error(), "{status}");
            }
        }
    }
}
