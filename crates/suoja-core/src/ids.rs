//! Typed ids: a `TicketId` can never be passed where a `UserId` is meant.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    )*};
}

id_type!(
    /// A tenant (one customer organisation running its helpdesk on this installation).
    TenantId,
    /// A person known to the helpdesk: end user, agent or admin.
    UserId,
    /// A support ticket.
    TicketId,
    /// A public comment or internal note on a ticket.
    CommentId,
    /// An organisation end users belong to.
    OrganizationId,
    /// A group of agents.
    GroupId,
    /// A file attached to a comment (or uploaded and not yet attached).
    AttachmentId,
    /// A data key in the vault.
    KeyId,
);
