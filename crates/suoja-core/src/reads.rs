//! How the helpdesk tells the privacy engine that staff read a person's data. The helpdesk
//! calls [`ReadLog::note`] wherever it shows a person's data to staff; which reads are kept,
//! under which role name, and when they are written is the privacy engine's business (its
//! consultation log is the one implementation; a person's access export lists these reads).

use crate::{Scope, TenantId, Timestamp, UserId};

/// One read kept for writing: who read whose data, when, what and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    /// The reader's tenant.
    pub tenant: TenantId,
    /// The person whose data was read.
    pub subject: UserId,
    /// When.
    pub at: Timestamp,
    /// Who read it.
    pub actor: UserId,
    /// The reader's role as the person sees it (`agent`, `admin`, `privacy officer`).
    pub actor_role: &'static str,
    /// What was read (`ticket.viewed`, `user.viewed`, …).
    pub action: String,
    /// Why (`support`, `privacy request`, …).
    pub purpose: String,
    /// The API or OAuth token the reader used, if any.
    pub token: Option<i64>,
}

/// Where reads of personal data are noted.
pub trait ReadLog: Send + Sync + std::fmt::Debug {
    /// Notes that `scope` read the data of `subjects` at `at`.
    fn note(&self, scope: &Scope, subjects: &[UserId], action: &str, purpose: &str, at: Timestamp);
    /// Forgets the reads of one person not written yet (they are being erased).
    fn forget(&self, tenant: TenantId, subject: UserId);
    /// Takes every read noted and not written yet, to write them.
    fn drain(&self) -> Vec<Read>;
}
