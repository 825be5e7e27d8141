//! How the helpdesk writes to the privacy ledger. The ledger (a hash chain per tenant of what was
//! done about people's data, ids and codes only) is the privacy engine's; the helpdesk records
//! its own privacy-relevant actions (API tokens, webhook recipients, a person's corrected
//! profile) through [`LedgerWriter`], inside its own transaction, so an action and its entry
//! commit together. The one implementation is the privacy engine's.

use std::future::Future;
use std::pin::Pin;

use crate::{LedgerKind, TenantId, Timestamp};

/// An entry to append.
#[derive(Debug, Clone)]
pub struct LedgerEntry {
    /// When it happened.
    pub at: Timestamp,
    /// What happened.
    pub kind: LedgerKind,
    /// The person concerned, by user id.
    pub subject: Option<i64>,
    /// Who acted, by user id (`None` for the system).
    pub actor: Option<i64>,
    /// Ids, counts, field names and codes; never personal values.
    pub details: serde_json::Value,
}

/// Appends ledger entries over a connection `C` of the store, failing with `E`.
pub trait LedgerWriter<C: ?Sized, E>: Send + Sync + std::fmt::Debug {
    /// Appends `entry` to the tenant's chain in the transaction `c` belongs to.
    fn append<'a>(&'a self, c: &'a mut C, tenant: TenantId, entry: LedgerEntry) -> Pin<Box<dyn Future<Output = Result<(), E>> + Send + 'a>>;
}
