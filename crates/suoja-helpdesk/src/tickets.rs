//! Tickets: opening, changing (with comments, CCs, followers and uploads), and the audit of each
//! change. A ticket's personal fields are sealed under its requester's key; a comment under its
//! author's key when the author is an end user, else under the ticket's key.

pub mod audits;
pub(crate) mod batch;
mod create;
mod external;
mod keys;
pub mod merge;
mod open;
mod people;
mod read;
pub mod tags;
mod trash;
mod triggered;
mod update;

use serde_json::Value;

use crate::model::AuditEvent;

pub use read::{CommentPage, TicketList, TicketPage};
pub(crate) use read::{LIST_COUNT_KEPT_FROM, ListCounts};
pub use update::TagChange;

/// Longest comment body accepted, in characters.
pub const MAX_COMMENT_CHARS: usize = 65_536;

/// A `Change` event of a field whose values are not personal.
fn change(field: &str, previous: Value, value: Value) -> AuditEvent {
    AuditEvent::change(field, previous, value, false)
}

/// The ticket field a CC or follower list is audited under.
fn kind_field(kind: &str) -> &'static str {
    match kind {
        "collaborator" => "collaborator_ids",
        "email_cc" => "email_cc_ids",
        _ => "follower_ids",
    }
}
