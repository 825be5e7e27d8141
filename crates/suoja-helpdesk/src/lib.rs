//! The helpdesk's domain rules: users, organisations, groups, tickets, comments, attachments,
//! search, job statuses and authentication. Services take a [`Scope`] (who acts, in which
//! tenant) and typed inputs parsed at the edge; they encrypt personal values under the right
//! subject's key on the way in and decrypt them on the way out. No HTTP, no HTML.

mod auth;
mod bulk;
pub mod cluster;
pub mod consult;
pub mod counts;
pub mod crypt;
mod error;
pub mod fields;
pub mod groups;
pub mod help_center;
pub mod import;
pub mod jobs;
mod ledger;
pub mod model;
pub mod notify;
pub mod orgs;
mod originals;
pub use originals::Undelivered;
pub mod rules;
pub mod satisfaction;
mod search;
pub mod security;
pub mod setup;
pub mod signin;
pub mod text;
pub mod tickets;
pub mod tokens;
pub mod totp;
pub mod uploads;
pub mod users;
pub mod webhooks;

use std::sync::Arc;

use suoja_core::{Clock, Scope, Timestamp};
use suoja_store::Db;
use suoja_vault::Vault;

pub use auth::Credentials;
pub use error::{HelpdeskError, Result};
pub use search::{MAX_RESULTS as MAX_SEARCH_RESULTS, SearchHit, SearchPage};
pub use suoja_store::tickets::{SearchSort, SortField};

/// The helpdesk services over one database and vault.
#[derive(Clone, Debug)]
pub struct Helpdesk {
    db: Db,
    vault: Vault,
    clock: Arc<dyn Clock>,
    reads: Arc<dyn suoja_core::reads::ReadLog>,
    ledger: Arc<dyn suoja_core::ledger::LedgerWriter<suoja_store::Conn, suoja_store::StoreError>>,
    /// Password verifications running at once are bounded (Argon2 takes 19 MiB and tens of
    /// milliseconds of a core each); past the bound a sign-in is turned away at once.
    argon: Arc<tokio::sync::Semaphore>,
    endpoints: Arc<webhooks::EndpointPolicy>,
    /// Bytes one person may upload in a day.
    upload_quota: i64,
    /// Whether ticket notifications are queued (the installation sends mail).
    notifications: bool,
    /// Each tenant's IP restriction as last read, for a moment (every API request asks).
    security_cache: Arc<security::SettingsCache>,
    /// Views' counts, kept a while when counting is costly.
    view_counts: Arc<rules::counts::CountCache>,
    /// Ticket lists' totals, kept a while when counting is costly (a million-ticket list).
    list_counts: Arc<tickets::ListCounts>,
    /// Each tenant's active triggers, parsed, while they stay as they are.
    trigger_cache: Arc<rules::triggers::TriggerCache>,
    /// Each tenant's active webhooks (id, subscribed events) while they stay as they are.
    webhook_cache: Arc<webhooks::ActiveWebhooks>,
    /// Each tenant's active SLA policies, parsed, while they stay as they are.
    sla_cache: Arc<rules::kept::Kept<Vec<rules::sla::SlaPolicy>>>,
    /// Tenants whose SLA clocks are being measured again, and whether another change asked
    /// for it meanwhile (one pass a tenant at a time).
    remeasuring: Arc<std::sync::Mutex<std::collections::HashMap<suoja_core::TenantId, bool>>>,
    /// Each tenant's popular tags as last counted, for a minute (counting decrypts thousands of
    /// tickets' tags); one count at a time.
    popular_tags: Arc<tickets::tags::PopularTagsCache>,
    /// With several regions: this node's, and the routes they share.
    residency: Option<Arc<setup::Residency>>,
}

impl Helpdesk {
    /// Services over `db` and `vault`, telling time with `clock`, noting staff reads of
    /// personal data in `reads` (the privacy engine's consultation log) and recording its
    /// privacy-relevant actions with `ledger` (the privacy engine's ledger writer).
    pub fn new(
        db: Db,
        vault: Vault,
        clock: Arc<dyn Clock>,
        reads: Arc<dyn suoja_core::reads::ReadLog>,
        ledger: Arc<dyn suoja_core::ledger::LedgerWriter<suoja_store::Conn, suoja_store::StoreError>>,
    ) -> Self {
        Self {
            db,
            vault,
            clock,
            reads,
            ledger,
            argon: Arc::new(tokio::sync::Semaphore::new(auth::password_slots())),
            endpoints: Arc::default(),
            upload_quota: uploads::DEFAULT_UPLOAD_QUOTA,
            notifications: false,
            security_cache: Arc::default(),
            view_counts: Arc::default(),
            list_counts: Arc::new(tickets::ListCounts::keeping_from(tickets::LIST_COUNT_KEPT_FROM)),
            trigger_cache: Arc::default(),
            webhook_cache: Arc::default(),
            sla_cache: Arc::default(),
            remeasuring: Arc::default(),
            popular_tags: Arc::default(),
            residency: None,
        }
    }
    /// This node serves one region of several (data residency).
    pub fn with_residency(mut self, residency: setup::Residency) -> Self {
        self.residency = Some(Arc::new(residency));
        self
    }
    /// Whether ticket notifications are queued for sending (off unless mail goes out).
    pub fn with_notifications(mut self, on: bool) -> Self {
        self.notifications = on;
        self
    }
    /// Which webhook endpoints may be reached.
    pub fn with_endpoint_policy(mut self, policy: webhooks::EndpointPolicy) -> Self {
        self.endpoints = Arc::new(policy);
        self
    }
    /// How many bytes one person may upload in a day.
    pub fn with_upload_quota(mut self, bytes_per_day: i64) -> Self {
        self.upload_quota = bytes_per_day.max(0);
        self
    }
    /// Where staff reads of personal data are noted.
    pub fn read_log(&self) -> &dyn suoja_core::reads::ReadLog {
        self.reads.as_ref()
    }
    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }
    /// The vault.
    pub fn vault(&self) -> &Vault {
        &self.vault
    }
    /// The current time.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
    /// A tenant's subdomain (how Zendesk-shaped answers name the account).
    pub async fn tenant_subdomain(&self, tenant: suoja_core::TenantId) -> Result<String> {
        let mut c = self.db.read().await?;
        Ok(suoja_store::tenants::by_id(&mut c, tenant).await?.map(|t| t.subdomain).unwrap_or_default())
    }
}

/// Refuses callers that are not agents or admins.
pub(crate) fn require_staff(scope: &Scope) -> Result<()> {
    if scope.is_staff() {
        Ok(())
    } else {
        Err(HelpdeskError::Forbidden("only agents and admins can do this"))
    }
}
