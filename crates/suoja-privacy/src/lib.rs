//! The privacy engine: the data map and everything derived from it — the subject graph,
//! data-subject requests with their deadlines and identity checks, access and portability
//! exports (JSON, PDF, ZIP), rectification and restriction, and the tamper-evident ledger that
//! records every privacy action. Built on the helpdesk's services and the store; knows nothing
//! of HTTP.

pub mod audit;
pub mod breaches;
pub mod consult;
pub mod courier;
pub mod datamap;
/// Deadlines of data-subject requests, counted in the controller's calendar (in `suoja-core`,
/// which the helpdesk's business hours share).
pub use suoja_core::calendar as deadline;
pub mod dpa;
pub mod erasure;
mod error;
pub mod export;
pub mod graph;
pub mod info;
pub mod ledger;
pub mod matcher;
pub mod mentions;
pub mod records;
pub mod redaction;
pub mod requests;
pub mod restriction;
pub mod retention;
pub mod scan;
pub mod subprocessors;
mod texts;

pub use error::{PrivacyError, Result};
use suoja_helpdesk::Helpdesk;

/// How the operator runs privacy work; from configuration.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The calendar deadlines are counted in.
    pub calendar: deadline::Calendar,
    /// Whether access exports include internal notes about the person by default.
    pub include_internal_notes: bool,
    /// Whether agents appear by name in exports (otherwise as `Agent #n`).
    pub agent_names: bool,
    /// How long an export package can be downloaded.
    pub export_ttl_ms: i64,
    /// How long an identity-check link is valid (at most 24 hours).
    pub link_ttl_ms: i64,
    /// Wrong codes accepted before a link is locked.
    pub max_link_attempts: i64,
    /// Links sent to one person per 24 hours.
    pub links_per_day: i64,
    /// The controller, as named to the person.
    pub controller: String,
    /// Where the person can reach the controller about their data.
    pub controller_contact: String,
    /// The supervisory authority the person may complain to.
    pub supervisory_authority: String,
    /// The region the data is stored in.
    pub region: String,
    /// This node's name, written with the reads it serves (what scopes a breach to one node).
    pub node: String,
    /// Days backups of the key vault are kept: after this, no residual copy of an erased
    /// person's data can be read.
    pub key_backup_days: i64,
    /// Export packages a person may start in 24 hours (privacy staff are not counted against it).
    pub exports_per_day: i64,
    /// Export packages built at once on one node; the rest wait their turn.
    pub export_builds_at_once: usize,
    /// The processor named in the data processing agreement (the installation's operator).
    pub processor: String,
    /// The operator's agreement template in English (`None`: the one shipped with Suoja).
    pub dpa_template_en: Option<String>,
    /// The operator's agreement template in Finnish (`None`: the one shipped with Suoja).
    pub dpa_template_fi: Option<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            calendar: deadline::Calendar::default(),
            include_internal_notes: true,
            agent_names: false,
            export_ttl_ms: 7 * 24 * 3_600_000,
            link_ttl_ms: 24 * 3_600_000,
            max_link_attempts: 5,
            links_per_day: 3,
            exports_per_day: 5,
            export_builds_at_once: 2,
            controller: "the organisation running this helpdesk".into(),
            controller_contact: "the privacy contact of the organisation running this helpdesk".into(),
            supervisory_authority: "the data protection supervisory authority of your country of residence".into(),
            region: "eu".into(),
            node: "suoja".into(),
            key_backup_days: 7,
            processor: "the provider of this Suoja installation".into(),
            dpa_template_en: None,
            dpa_template_fi: None,
        }
    }
}

/// The privacy services over the helpdesk.
#[derive(Debug, Clone)]
pub struct Privacy {
    hd: Helpdesk,
    policy: std::sync::Arc<Policy>,
    builds: std::sync::Arc<tokio::sync::Semaphore>,
    fault: FaultHook,
    erasure_log: Option<std::sync::Arc<erasure::ledger_file::ErasureLog>>,
    courier: Option<std::sync::Arc<dyn courier::Courier>>,
}

/// A test-only hook the erasure runner calls at named points (`before:tickets`,
/// `commit:tickets`, `after:tickets`…), so a test can kill the process there. Empty in
/// production.
#[derive(Clone, Default)]
pub struct FaultHook(Option<std::sync::Arc<FaultFn>>);

type FaultFn = dyn Fn(&str) + Send + Sync;

impl FaultHook {
    /// A hook calling `f` at every point.
    pub fn new(f: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Self(Some(std::sync::Arc::new(f)))
    }
}

impl std::fmt::Debug for FaultHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "FaultHook(set)" } else { "FaultHook(none)" })
    }
}

impl Privacy {
    /// Privacy services over `hd` under `policy`.
    pub fn new(hd: Helpdesk, policy: Policy) -> Self {
        Self {
            hd,
            builds: std::sync::Arc::new(tokio::sync::Semaphore::new(policy.export_builds_at_once.max(1))),
            policy: std::sync::Arc::new(policy),
            fault: FaultHook::default(),
            erasure_log: None,
            courier: None,
        }
    }
    /// Sends the confirmation of a requested erasure with `courier`, just before the person's
    /// address is erased.
    pub fn with_courier(mut self, courier: std::sync::Arc<dyn courier::Courier>) -> Self {
        self.courier = Some(courier);
        self
    }
    /// Records completed erasures and redactions (ids only) in the erasure ledger file (see
    /// [`erasure::ledger_file::ErasureLog`]), so a restore of an older backup applies them again.
    pub fn with_erasure_log(mut self, log: erasure::ledger_file::ErasureLog) -> Self {
        self.erasure_log = Some(std::sync::Arc::new(log));
        self
    }
    /// The data directory's erasure ledger file, if one is kept.
    pub fn ledger_file(&self) -> Option<&std::path::Path> {
        self.erasure_log.as_deref().map(|l| l.local.as_path())
    }
    /// The same services with a fault hook (tests only).
    pub fn with_fault_hook(mut self, hook: FaultHook) -> Self {
        self.fault = hook;
        self
    }
    pub(crate) fn fault(&self, point: &str) {
        if let Some(f) = &self.fault.0 {
            f(point);
        }
    }
    /// The helpdesk underneath.
    pub fn helpdesk(&self) -> &Helpdesk {
        &self.hd
    }
    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }
}

/// Refuses callers who do not handle privacy work.
pub(crate) fn require_privacy(scope: &suoja_core::Scope) -> Result<()> {
    if scope.handles_privacy() {
        Ok(())
    } else {
        Err(PrivacyError::Forbidden("only admins and privacy officers can do this"))
    }
}
