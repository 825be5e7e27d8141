//! The privacy ledger: appending entries (the privacy engine's own, and the helpdesk's through
//! [`suoja_core::ledger::LedgerWriter`], always in the acting transaction) and verifying it:
//! recompute every entry's keyed hash in order, check that each names its predecessor's hash and
//! that numbering has no gaps, and compare the end of the chain with the recorded head. Any
//! edited, removed, inserted or reordered entry breaks one of these.

use serde::Serialize;
use suoja_core::TenantId;
use suoja_store::Db;
use suoja_store::ledger::{GENESIS, canonical};
use suoja_vault::Vault;

use crate::{Privacy, Result};

/// Appends an entry to the tenant's chain in `c`'s transaction.
async fn append(
    vault: &Vault,
    c: &mut suoja_store::Conn,
    tenant: TenantId,
    e: suoja_core::ledger::LedgerEntry,
) -> suoja_store::Result<suoja_store::ledger::Entry> {
    let chain = match vault.ledger_chain(c, tenant).await {
        Ok(chain) => chain,
        Err(suoja_vault::VaultError::Store(e)) => return Err(e),
        Err(e) => return Err(suoja_store::StoreError::Corrupt(format!("the privacy ledger's chain key: {e}"))),
    };
    let entry = suoja_store::ledger::NewEntry {
        at: e.at,
        kind: e.kind,
        subject: e.subject,
        actor: e.actor,
        details: e.details.to_string(),
    };
    suoja_store::ledger::append(c, tenant, &entry, |prev, body| chain.hash(prev, body)).await
}

/// The ledger writer the helpdesk is given.
#[derive(Debug, Clone)]
pub struct Writer {
    vault: Vault,
}

impl Writer {
    /// A writer hashing with `vault`'s per-tenant chain keys.
    pub fn new(vault: Vault) -> Self {
        Self { vault }
    }
}

impl suoja_core::ledger::LedgerWriter<suoja_store::Conn, suoja_store::StoreError> for Writer {
    fn append<'a>(
        &'a self,
        c: &'a mut suoja_store::Conn,
        tenant: TenantId,
        entry: suoja_core::ledger::LedgerEntry,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = suoja_store::Result<()>> + Send + 'a>> {
        Box::pin(async move { append(&self.vault, c, tenant, entry).await.map(|_| ()) })
    }
}

impl Privacy {
    /// Appends `kind` about `subject` by `actor` with `details` (ids, counts and codes) to the
    /// tenant's ledger in `c`'s transaction; returns the entry (its hash ends up in certificates).
    pub async fn record_ledger(
        &self,
        c: &mut suoja_store::Conn,
        tenant: TenantId,
        kind: suoja_core::LedgerKind,
        subject: Option<i64>,
        actor: Option<i64>,
        details: serde_json::Value,
    ) -> Result<suoja_store::ledger::Entry> {
        let entry = suoja_core::ledger::LedgerEntry {
            at: self.hd.now(),
            kind,
            subject,
            actor,
            details,
        };
        Ok(append(self.hd.vault(), c, tenant, entry).await?)
    }
}

/// The first problem found in a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Broken {
    /// Sequence number of the first entry that does not verify.
    pub seq: i64,
    /// What is wrong there.
    pub reason: String,
}

/// The outcome of verifying one tenant's ledger.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The tenant.
    pub tenant: i64,
    /// Entries read.
    pub entries: i64,
    /// The last verified sequence number.
    pub head_seq: i64,
    /// The last verified hash (hex); write it down elsewhere to anchor the chain.
    pub head_hash: String,
    /// The first break, if any.
    pub broken: Option<Broken>,
}

impl Report {
    /// Whether the chain verified.
    pub fn ok(&self) -> bool {
        self.broken.is_none()
    }
}

/// Verifies one tenant's chain.
pub async fn verify(db: &Db, vault: &Vault, tenant: TenantId) -> Result<Report> {
    let mut c = db.read().await?;
    let chain = vault.ledger_chain(&mut c, tenant).await?;
    let mut prev_hash = GENESIS.to_vec();
    let mut expected = 1_i64;
    let mut entries = 0_i64;
    let mut broken = None;
    'pages: loop {
        let page = suoja_store::ledger::page(&mut c, tenant, expected - 1, 1000).await?;
        if page.is_empty() {
            break;
        }
        for e in page {
            entries += 1;
            let problem = if e.seq != expected {
                Some(format!("entry {expected} is missing (next stored entry is {})", e.seq))
            } else if e.prev_hash != prev_hash {
                Some("does not follow the entry before it (entries removed, inserted or reordered)".to_string())
            } else if e.hash != chain.hash(&prev_hash, &canonical(tenant, e.seq, e.at, &e.kind, e.subject, e.actor, &e.details)) {
                Some("its content does not match its hash (edited)".to_string())
            } else {
                None
            };
            if let Some(reason) = problem {
                broken = Some(Broken { seq: expected, reason });
                break 'pages;
            }
            prev_hash = e.hash;
            expected += 1;
        }
    }
    let last = expected - 1;
    if broken.is_none() {
        match suoja_store::ledger::head(&mut c, tenant).await? {
            Some((seq, hash)) if seq == last && hash == prev_hash => {}
            Some((seq, _)) if seq > last => {
                broken = Some(Broken {
                    seq: last + 1,
                    reason: format!("entries {} to {seq} were removed from the end", last + 1),
                })
            }
            None if last == 0 => {}
            _ => {
                broken = Some(Broken {
                    seq: last,
                    reason: "the recorded head does not match the last entry".into(),
                })
            }
        }
    }
    Ok(Report {
        tenant: tenant.0,
        entries,
        head_seq: last,
        head_hash: hex::encode(&prev_hash),
        broken,
    })
}

/// Verifies every tenant's chain.
pub async fn verify_all(db: &Db, vault: &Vault) -> Result<Vec<Report>> {
    let tenants = {
        let mut c = db.read().await?;
        suoja_store::ledger::tenants(&mut c).await?
    };
    let mut out = Vec::with_capacity(tenants.len());
    for t in tenants {
        out.push(verify(db, vault, t).await?);
    }
    Ok(out)
}

impl crate::Privacy {
    /// Verifies the caller's tenant's ledger (privacy staff).
    pub async fn verify_ledger(&self, scope: &suoja_core::Scope) -> Result<Report> {
        crate::require_privacy(scope)?;
        verify(self.hd.db(), self.hd.vault(), scope.tenant).await
    }
}
