//! What a server keeps of a tenant's rules between requests: each kept list is tagged with the
//! version it was read at ([`suoja_store::rules::versions`]), read in the request's own
//! transaction, so a change made by any server (or process) is seen by the next request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use suoja_core::TenantId;

/// A version of a tenant's rules of one kind (or of its webhooks): how many, and the sums of
/// their times of change and of their ids.
pub(crate) type Version = (i64, i64, i64);

/// The versions one read gives for a ticket's change: its triggers, its SLA policies, the
/// webhooks it may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Versions {
    pub triggers: Version,
    pub sla: Version,
    pub webhooks: Version,
}

/// Each tenant's `T` as last read, with the version it was read at.
#[derive(Debug)]
pub(crate) struct Kept<T>(Mutex<HashMap<TenantId, (Version, Arc<T>)>>);

impl<T> Default for Kept<T> {
    fn default() -> Self {
        Kept(Mutex::new(HashMap::new()))
    }
}

impl<T> Kept<T> {
    fn get(&self, tenant: TenantId, version: Version) -> Option<Arc<T>> {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(&tenant).filter(|(v, _)| *v == version).map(|(_, l)| l.clone())
    }

    /// Drops what is kept for a tenant (its rules were just changed on this server; another
    /// server sees the change in the version).
    pub(crate) fn forget(&self, tenant: TenantId) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).remove(&tenant);
    }

    /// What is kept at `version`, or what `read` gives (kept from now on at `version`).
    /// Without a version (none was read) it is read and not kept. `read` runs only when needed.
    pub(crate) async fn get_or_read<E>(&self, tenant: TenantId, version: Option<Version>, read: impl Future<Output = Result<T, E>>) -> Result<Arc<T>, E> {
        if let Some(kept) = version.and_then(|v| self.get(tenant, v)) {
            return Ok(kept);
        }
        let fresh = Arc::new(read.await?);
        if let Some(v) = version {
            self.put(tenant, v, fresh.clone());
        }
        Ok(fresh)
    }

    fn put(&self, tenant: TenantId, version: Version, list: Arc<T>) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        // One entry a tenant; a server with very many tenants starts again rather than grow.
        if map.len() >= 10_000 && !map.contains_key(&tenant) {
            map.clear();
        }
        map.insert(tenant, (version, list));
    }
}
