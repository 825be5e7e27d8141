//! The consultation log: staff reads of a person's data, noted in memory as the helpdesk reports
//! them ([`suoja_core::reads::ReadLog`]) and written in batches (a write per read would halve
//! read throughput on SQLite's single writer). The worker flushes every few hundred
//! milliseconds; exports and erasures flush before reading the log, and shutdown flushes what
//! is left. Each row names the node that served the read (`node_name`), so a breach of one
//! node of several can be scoped to what it served. Reads by people of their own data are not kept, nor an end user's own reads of
//! what they share with others (a request they are CC'd on); reads through an API token are,
//! whoever it acts as.

use std::sync::Mutex;

use suoja_core::reads::{Read, ReadLog};
use suoja_core::{Role, Scope, TenantId, Timestamp, UserId};
use suoja_store::consultations::Consultation;

use crate::{Privacy, Result};

/// Held while reads are taken from the log and written.
static FLUSHING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Reads waiting to be written.
#[derive(Debug, Default)]
pub struct Consultations {
    pending: Mutex<Vec<Read>>,
}

/// The role name recorded for a reader (the person sees roles, not names, by default).
pub fn role_name(scope: &Scope) -> &'static str {
    if scope.token.is_some() && !scope.is_staff() {
        // An admin's API token acting as this person: an integration, not the person.
        return "integration";
    }
    match (scope.role, scope.privacy_officer) {
        (_, true) => "privacy officer",
        (Role::Admin, false) => "admin",
        (Role::Agent, false) => "agent",
        (Role::EndUser, false) => "end user",
    }
}

impl ReadLog for Consultations {
    fn note(&self, scope: &Scope, subjects: &[UserId], action: &str, purpose: &str, at: Timestamp) {
        // Staff reads, and reads through an API token acting as anyone (an integration): what a
        // leaked token read must be findable.
        if !scope.is_staff() && scope.token.is_none() {
            return;
        }
        let subjects: std::collections::BTreeSet<UserId> = subjects.iter().copied().filter(|s| *s != scope.actor).collect();
        let mut p = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for subject in subjects {
            p.push(Read {
                tenant: scope.tenant,
                subject,
                at,
                actor: scope.actor,
                actor_role: role_name(scope),
                action: action.to_string(),
                purpose: purpose.to_string(),
                token: scope.token,
            });
        }
    }

    fn forget(&self, tenant: TenantId, subject: UserId) {
        let mut p = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        p.retain(|r| !(r.tenant == tenant && r.subject == subject));
    }

    fn drain(&self) -> Vec<Read> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }
}

impl Privacy {
    /// Writes the reads the helpdesk noted; returns how many.
    pub async fn flush_consultations(&self) -> Result<usize> {
        // One flush at a time in the process: a flush that finds the log empty because the
        // background flush took its reads a moment before returns only once those are written.
        let _one = FLUSHING.lock().await;
        let reads = self.hd.read_log().drain();
        if reads.is_empty() {
            return Ok(0);
        }
        let mut by_tenant: std::collections::BTreeMap<TenantId, Vec<Consultation>> = std::collections::BTreeMap::new();
        for r in reads {
            by_tenant.entry(r.tenant).or_default().push(Consultation {
                subject_id: r.subject.0,
                at: r.at,
                actor_id: r.actor.0,
                actor_role: r.actor_role.to_string(),
                action: r.action,
                purpose: r.purpose,
                token_id: r.token,
                node: Some(self.policy.node.clone()),
            });
        }
        let mut tx = self.hd.db().begin().await?;
        let mut n = 0;
        for (t, rows) in &by_tenant {
            suoja_store::consultations::record(&mut tx, *t, rows).await?;
            n += rows.len();
        }
        tx.commit().await?;
        Ok(n)
    }

    /// Drops the reads of one person not written yet (they are being erased).
    pub fn forget_consultations(&self, tenant: TenantId, subject: UserId) {
        self.hd.read_log().forget(tenant, subject);
    }
}
