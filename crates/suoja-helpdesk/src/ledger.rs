//! Appending to the privacy ledger from inside a service's transaction, so an action and its
//! ledger entry commit together. Details hold ids, counts, field names and codes only.

use suoja_core::TenantId;
use suoja_store::Conn;
use suoja_store::ledger::{Entry, NewEntry};

use crate::{Helpdesk, Result};

impl Helpdesk {
    /// Appends `kind` about `subject` by `actor` with JSON `details` to the tenant's ledger.
    pub async fn record_ledger(
        &self,
        c: &mut Conn,
        tenant: TenantId,
        kind: suoja_core::LedgerKind,
        subject: Option<i64>,
        actor: Option<i64>,
        details: serde_json::Value,
    ) -> Result<Entry> {
        let chain = self.vault.ledger_chain(tenant);
        let entry = NewEntry {
            at: self.now(),
            kind,
            subject,
            actor,
            details: details.to_string(),
        };
        Ok(suoja_store::ledger::append(c, tenant, &entry, |prev, body| chain.hash(prev, body)).await?)
    }
}
