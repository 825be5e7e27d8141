//! The consultation log's producer: staff reads of a person's data are noted in memory and
//! written in batches (a write per read would halve read throughput on SQLite's single writer).
//! A background task flushes every few hundred milliseconds; exports flush before reading the
//! log, and shutdown flushes what is left.

use suoja_core::{Role, Scope, TenantId, UserId};
use suoja_store::consultations::Consultation;

use crate::{Helpdesk, Result};

/// Notes waiting to be written.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    rows: Vec<(TenantId, Consultation)>,
}

/// The role name recorded for a reader (the person sees roles, not names, by default).
pub fn role_name(scope: &Scope) -> &'static str {
    match (scope.role, scope.privacy_officer) {
        (_, true) => "privacy officer",
        (Role::Admin, false) => "admin",
        (Role::Agent, false) => "agent",
        (Role::EndUser, false) => "end user",
    }
}

impl Helpdesk {
    /// Notes that `scope` read the data of `subjects` (`action` such as `ticket.viewed`) for
    /// `purpose`. Reads by people of their own data are not noted.
    pub fn consulted(&self, scope: &Scope, subjects: &[UserId], action: &str, purpose: &str) {
        if !scope.is_staff() {
            return;
        }
        let at = self.now();
        let subjects: std::collections::BTreeSet<UserId> = subjects.iter().copied().filter(|s| *s != scope.actor).collect();
        let mut p = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for s in subjects {
            p.rows.push((
                scope.tenant,
                Consultation {
                    subject_id: s.0,
                    at,
                    actor_id: scope.actor.0,
                    actor_role: role_name(scope).to_string(),
                    action: action.to_string(),
                    purpose: purpose.to_string(),
                },
            ));
        }
    }

    /// Drops reads of one person still waiting to be written (they are being erased).
    pub fn forget_consultations(&self, tenant: TenantId, subject: i64) {
        let mut p = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        p.rows.retain(|(t, r)| !(*t == tenant && r.subject_id == subject));
    }

    /// Writes the noted reads; returns how many.
    pub async fn flush_consultations(&self) -> Result<usize> {
        let rows = std::mem::take(&mut self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner).rows);
        if rows.is_empty() {
            return Ok(0);
        }
        let mut by_tenant: std::collections::BTreeMap<TenantId, Vec<Consultation>> = std::collections::BTreeMap::new();
        for (t, r) in rows {
            by_tenant.entry(t).or_default().push(r);
        }
        let mut tx = self.db.begin().await?;
        let mut n = 0;
        for (t, rows) in &by_tenant {
            suoja_store::consultations::record(&mut tx, *t, rows).await?;
            n += rows.len();
        }
        tx.commit().await?;
        Ok(n)
    }
}
