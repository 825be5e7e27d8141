//! Recording the helpdesk's privacy-relevant actions in the privacy ledger, through the writer
//! it was given ([`suoja_core::ledger::LedgerWriter`], the privacy engine's), inside the
//! acting transaction so the action and its entry commit together. Details hold ids, counts,
//! field names and codes only.

use suoja_core::TenantId;
use suoja_core::ledger::LedgerEntry;
use suoja_store::Conn;

use crate::{Helpdesk, Result};

impl Helpdesk {
    /// Appends `kind` about `subject` by `actor` with JSON `details` to the tenant's ledger.
    pub(crate) async fn record_ledger(
        &self,
        c: &mut Conn,
        tenant: TenantId,
        kind: suoja_core::LedgerKind,
        subject: Option<i64>,
        actor: Option<i64>,
        details: serde_json::Value,
    ) -> Result<()> {
        let entry = LedgerEntry {
            at: self.now(),
            kind,
            subject,
            actor,
            details,
        };
        Ok(self.ledger.append(c, tenant, entry).await?)
    }
}
