//! The helpdesk's values as services hand them out (decrypted, personal fields wrapped) and take
//! them in (parsed and typed at the edge).

use serde_json::Value;
use suoja_core::{AttachmentId, CommentId, Email, GroupId, OrganizationId, Personal, Priority, Role, Status, TicketId, TicketType, Timestamp, UserId};

/// Custom field values of a ticket: `(field id, value)`, personal.
pub type CustomFields = Personal<Vec<(i64, Value)>>;

/// A user, decrypted.
#[derive(Debug, Clone)]
pub struct User {
    /// Id.
    pub id: UserId,
    /// Role.
    pub role: Role,
    /// E-mail address.
    pub email: Option<Personal<String>>,
    /// Name.
    pub name: Personal<String>,
    /// Phone.
    pub phone: Option<Personal<String>>,
    /// Details.
    pub details: Option<Personal<String>>,
    /// Notes (agents only).
    pub notes: Option<Personal<String>>,
    /// Tags.
    pub tags: Vec<String>,
    /// External id.
    pub external_id: Option<Personal<String>>,
    /// User fields.
    pub user_fields: Personal<Value>,
    /// Organisation.
    pub organization_id: Option<OrganizationId>,
    /// Locale.
    pub locale: String,
    /// Time zone.
    pub time_zone: String,
    /// Verified.
    pub verified: bool,
    /// Not soft-deleted.
    pub active: bool,
    /// Suspended.
    pub suspended: bool,
    /// May work on privacy requests.
    pub privacy_officer: bool,
    /// Processing is restricted (GDPR Art. 18).
    pub restricted: bool,
    /// Created.
    pub created_at: Timestamp,
    /// Changed.
    pub updated_at: Timestamp,
    /// Last sign-in.
    pub last_login_at: Option<Timestamp>,
    /// Soft-deleted at.
    pub deleted_at: Option<Timestamp>,
}

/// Fields to set on a user; `None` leaves a field as it is. For an optional field,
/// `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct UserInput {
    /// Name.
    pub name: Option<Personal<String>>,
    /// E-mail.
    pub email: Option<Option<Email>>,
    /// Role.
    pub role: Option<Role>,
    /// Phone.
    pub phone: Option<Option<Personal<String>>>,
    /// Details.
    pub details: Option<Option<Personal<String>>>,
    /// Notes.
    pub notes: Option<Option<Personal<String>>>,
    /// Tags.
    pub tags: Option<Vec<String>>,
    /// External id.
    pub external_id: Option<Option<Personal<String>>>,
    /// User fields.
    pub user_fields: Option<Personal<Value>>,
    /// Organisation.
    pub organization_id: Option<Option<OrganizationId>>,
    /// Locale.
    pub locale: Option<String>,
    /// Time zone.
    pub time_zone: Option<String>,
    /// Verified.
    pub verified: Option<bool>,
    /// Suspended.
    pub suspended: Option<bool>,
    /// May work on privacy requests (admins only may set it).
    pub privacy_officer: Option<bool>,
    /// New password.
    pub password: Option<Personal<String>>,
}

/// A ticket, decrypted.
#[derive(Debug, Clone)]
pub struct Ticket {
    /// Id.
    pub id: TicketId,
    /// Requester.
    pub requester_id: UserId,
    /// Submitter.
    pub submitter_id: UserId,
    /// Assignee.
    pub assignee_id: Option<UserId>,
    /// Group.
    pub group_id: Option<GroupId>,
    /// Organisation.
    pub organization_id: Option<OrganizationId>,
    /// Subject.
    pub subject: Option<Personal<String>>,
    /// First comment's text.
    pub description: Personal<String>,
    /// Status.
    pub status: Status,
    /// Priority.
    pub priority: Option<Priority>,
    /// Type.
    pub ticket_type: Option<TicketType>,
    /// Tags.
    pub tags: Vec<String>,
    /// Custom field values.
    pub custom_fields: CustomFields,
    /// The ticket form it was filled in with.
    pub ticket_form_id: Option<i64>,
    /// Its requester's satisfaction rating (id, `good`/`bad`, comment), for staff and the
    /// requester; `None` when unrated or for anyone else.
    pub satisfaction: Option<(i64, String, Option<Personal<String>>)>,
    /// External id.
    pub external_id: Option<Personal<String>>,
    /// Due date.
    pub due_at: Option<Timestamp>,
    /// Channel.
    pub via: String,
    /// CC'd users.
    pub collaborator_ids: Vec<UserId>,
    /// E-mail CCs.
    pub email_cc_ids: Vec<UserId>,
    /// Followers.
    pub follower_ids: Vec<UserId>,
    /// Created.
    pub created_at: Timestamp,
    /// Changed.
    pub updated_at: Timestamp,
    /// In the trash since.
    pub deleted_at: Option<Timestamp>,
    /// Who trashed it.
    pub deleted_by: Option<UserId>,
}

/// Who a new ticket is for.
#[derive(Debug, Clone)]
pub enum RequesterRef {
    /// An existing user.
    Id(UserId),
    /// A person by e-mail, created as an end user when unknown.
    New {
        /// Name (defaults to the e-mail's local part).
        name: Option<Personal<String>>,
        /// E-mail.
        email: Email,
    },
}

/// A new comment.
#[derive(Debug, Clone, Default)]
pub struct CommentInput {
    /// Plain-text body (may be empty when `html_body` is given).
    pub body: Option<Personal<String>>,
    /// HTML body; sanitised before storing.
    pub html_body: Option<Personal<String>>,
    /// Public reply (default) or internal note.
    pub public: bool,
    /// Author, when an agent writes on someone's behalf.
    pub author_id: Option<UserId>,
    /// Upload tokens whose files to attach.
    pub uploads: Vec<String>,
    /// Files that come with the comment itself (a mail's attachments), written once, in their
    /// place, under the comment's key.
    pub files: Vec<NewFile>,
    /// Where it came in.
    pub via: Channel,
}

/// A file given with its comment rather than uploaded first.
#[derive(Debug, Clone)]
pub struct NewFile {
    /// Its name, as the sender gave it.
    pub file_name: Personal<String>,
    /// Its MIME type.
    pub content_type: String,
    /// Its bytes.
    pub bytes: Personal<Vec<u8>>,
}

/// Where a ticket or comment came in (`via.channel` on the API).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Channel {
    /// The REST API (and the pages, which use the same services).
    #[default]
    Api,
    /// The web pages.
    Web,
    /// E-mail.
    Email,
    /// Brought over from another helpdesk (`suoja import`).
    Import,
}

impl Channel {
    /// As stored and as the API shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Api => "api",
            Channel::Web => "web",
            Channel::Email => "email",
            Channel::Import => "import",
        }
    }
}

/// Fields of a new ticket or changes to one.
#[derive(Debug, Clone, Default)]
pub struct TicketInput {
    /// Subject.
    pub subject: Option<Personal<String>>,
    /// Comment to add (required on create).
    pub comment: Option<CommentInput>,
    /// Requester.
    pub requester: Option<RequesterRef>,
    /// Submitter (create only).
    pub submitter_id: Option<UserId>,
    /// Assignee.
    pub assignee_id: Option<Option<UserId>>,
    /// Group.
    pub group_id: Option<Option<GroupId>>,
    /// Organisation.
    pub organization_id: Option<Option<OrganizationId>>,
    /// Status.
    pub status: Option<Status>,
    /// Priority.
    pub priority: Option<Option<Priority>>,
    /// Type.
    pub ticket_type: Option<Option<TicketType>>,
    /// Replace tags.
    pub tags: Option<Vec<String>>,
    /// Tags to add.
    pub additional_tags: Vec<String>,
    /// Tags to remove.
    pub remove_tags: Vec<String>,
    /// Zendesk's `safe_update`: the ticket's `updated_at` as the caller read it; the update is
    /// refused (409) when the ticket has changed since (to the second, as the API shows times).
    pub updated_stamp: Option<Timestamp>,
    /// Custom field values to set (merged by id).
    pub custom_fields: Option<CustomFields>,
    /// External id.
    pub external_id: Option<Option<Personal<String>>>,
    /// Due date.
    pub due_at: Option<Option<Timestamp>>,
    /// CC'd users (replace).
    pub collaborator_ids: Option<Vec<UserId>>,
    /// E-mail CCs (replace).
    pub email_cc_ids: Option<Vec<UserId>>,
    /// Followers (replace).
    pub follower_ids: Option<Vec<UserId>>,
    /// The ticket form (`None` leaves it; `Some(None)` clears it).
    pub ticket_form_id: Option<Option<i64>>,
    /// Hold staff to the fields required to solve a ticket (the agent pages do; the API does
    /// not, as Zendesk's does not).
    pub enforce_required: bool,
}

/// A comment, decrypted.
#[derive(Debug, Clone)]
pub struct Comment {
    /// Id.
    pub id: CommentId,
    /// Ticket.
    pub ticket_id: TicketId,
    /// Author.
    pub author_id: UserId,
    /// Public reply or internal note.
    pub public: bool,
    /// Plain text.
    pub body: Personal<String>,
    /// Sanitised HTML.
    pub html_body: Personal<String>,
    /// Files.
    pub attachments: Vec<Attachment>,
    /// Channel.
    pub via: String,
    /// Created.
    pub created_at: Timestamp,
    /// The audit that added it, where the reader looked it up (a ticket's comment list).
    pub audit_id: Option<i64>,
}

/// An attachment's metadata, decrypted.
#[derive(Debug, Clone)]
pub struct Attachment {
    /// Id.
    pub id: AttachmentId,
    /// File name.
    pub file_name: Personal<String>,
    /// MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
    /// Ticket, once attached.
    pub ticket_id: Option<TicketId>,
}

/// One event of a ticket's audit: Zendesk's `Create`, `Change`, `Comment`,
/// `CommentPrivacyChange`, `Notification` and the redaction events.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// The event type, as Zendesk names it.
    pub kind: &'static str,
    /// Field created or changed (a custom field by its id).
    pub field_name: Option<String>,
    /// New value.
    pub value: Option<Value>,
    /// Previous value.
    pub previous_value: Option<Value>,
    /// Whether the values may be personal (a subject, tags, custom field values): they are
    /// stored sealed under the ticket's key, apart from the rest of the event.
    pub personal: bool,
    /// For `Comment` and `CommentPrivacyChange` events.
    pub comment_id: Option<CommentId>,
    /// Further non-personal members (`recipients` of a notification, the attachment or field of
    /// a redaction, the tickets of a merge).
    pub detail: serde_json::Map<String, Value>,
}

impl AuditEvent {
    /// An event of `kind` with nothing else set.
    pub fn new(kind: &'static str) -> Self {
        Self {
            kind,
            field_name: None,
            value: None,
            previous_value: None,
            personal: false,
            comment_id: None,
            detail: serde_json::Map::new(),
        }
    }

    /// A `Comment` event.
    pub fn comment(id: CommentId) -> Self {
        Self {
            comment_id: Some(id),
            ..Self::new("Comment")
        }
    }

    /// A `Create` event of a field.
    pub fn create(field: &str, value: Value, personal: bool) -> Self {
        Self {
            field_name: Some(field.to_string()),
            value: Some(value),
            personal,
            ..Self::new("Create")
        }
    }

    /// A `Change` event of a field.
    pub fn change(field: &str, previous: Value, value: Value, personal: bool) -> Self {
        Self {
            field_name: Some(field.to_string()),
            value: Some(value),
            previous_value: Some(previous),
            personal,
            ..Self::new("Change")
        }
    }

    /// With a further non-personal member.
    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.detail.insert(key.to_string(), value);
        self
    }
}

/// The outcome of creating or updating a ticket.
#[derive(Debug, Clone)]
pub struct TicketChange {
    /// The ticket after the change.
    pub ticket: Ticket,
    /// The audit of the change.
    pub events: Vec<AuditEvent>,
    /// The acting user.
    pub author_id: UserId,
    /// When.
    pub at: Timestamp,
    /// The stored audit's id.
    pub audit_id: i64,
}

/// A group of agents.
#[derive(Debug, Clone)]
pub struct Group {
    /// Id.
    pub id: GroupId,
    /// Unique name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

impl From<suoja_store::groups::GroupRow> for Group {
    fn from(g: suoja_store::groups::GroupRow) -> Self {
        Group {
            id: g.id,
            name: g.name,
            description: g.description,
            created_at: g.created_at,
            updated_at: g.updated_at,
        }
    }
}

/// The status of a background job (bulk creation and the like).
#[derive(Debug, Clone)]
pub struct JobStatus {
    /// 32-hex id.
    pub id: String,
    /// `queued`, `working`, `completed`, `failed` or `killed`.
    pub status: String,
    /// Items in the job.
    pub total: i64,
    /// Items done.
    pub progress: i64,
    /// A message for people.
    pub message: Option<String>,
    /// Per-item results (ids, actions, errors; no personal data).
    pub results: Value,
    /// Created.
    pub created_at: Timestamp,
}

impl From<suoja_store::jobs::JobStatusRow> for JobStatus {
    fn from(j: suoja_store::jobs::JobStatusRow) -> Self {
        JobStatus {
            results: serde_json::from_str(&j.results).unwrap_or_else(|_| Value::Array(Vec::new())),
            id: j.id,
            status: j.status,
            total: j.total,
            progress: j.progress,
            message: j.message,
            created_at: j.created_at,
        }
    }
}
