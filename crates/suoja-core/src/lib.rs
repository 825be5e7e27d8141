//! Shared vocabulary of Suoja without I/O: typed ids, redacting wrappers for personal values,
//! boundary newtypes parsed at the edge, the clock, and the error kinds every crate maps to.
//! Nothing here touches a database, a file or the network.

pub mod business_hours;
pub mod calendar;
pub mod clock;
pub mod error;
pub mod ids;
pub mod json;
pub mod ledger;
pub mod num;
pub mod personal;
pub mod random;
pub mod reads;
pub mod values;

pub use clock::{Clock, Timestamp};
pub use error::ErrorKind;
pub use ids::*;
pub use personal::Personal;
pub use values::{Email, ErasureState, LedgerKind, NonEmpty, Priority, RequestKind, RequestStatus, Role, Status, TicketType};

/// Who is acting, for whom: the value every service call requires. Produced only by
/// authentication (the HTTP extractor, the CLI's bootstrap), never from request data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    /// The tenant every read and write is confined to.
    pub tenant: TenantId,
    /// The acting user.
    pub actor: UserId,
    /// The acting user's role.
    pub role: Role,
    /// The acting user is a privacy officer.
    pub privacy_officer: bool,
    /// The API or OAuth token the request came with (`None` for a session, a password or the
    /// installation itself), so what a token read can be told apart when a breach is scoped.
    pub token: Option<i64>,
}

impl Scope {
    /// The installation acting on its own in `tenant` — the command line, the retention
    /// scheduler, a replay after a restore — recorded as actor 0.
    pub fn operator(tenant: TenantId) -> Self {
        Self {
            tenant,
            actor: UserId(0),
            role: Role::Admin,
            privacy_officer: true,
            token: None,
        }
    }
    /// Agents and admins.
    pub fn is_staff(&self) -> bool {
        self.role.is_staff()
    }
    /// Admins only.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
    /// Admins and privacy officers: those who work on data-subject requests.
    pub fn handles_privacy(&self) -> bool {
        self.is_admin() || (self.privacy_officer && self.is_staff())
    }
}
