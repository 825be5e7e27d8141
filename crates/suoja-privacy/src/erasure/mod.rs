//! Erasure (GDPR Art. 17): plan, run, prove. A plan says per object type what erasing a person
//! will delete, replace by a tombstone, redact or keep under a legal hold; the runner executes
//! exactly that plan as a durable, resumable job; a read-back of every store decides completion;
//! the certificate states what went, what stayed and why, and the ledger entry that records it.
//! Permanent deletion of a user through the Zendesk API runs the same pipeline.

mod certificate;
pub mod holds;
pub mod ledger_file;
pub mod plan;
pub mod redact;
pub mod replay;
pub mod rows;
pub mod run;

use serde_json::{Value, json};
use suoja_core::{ErasureState, Role, Scope, TenantId, UserId};
use suoja_store::erasures::ErasureRow;

pub use plan::{Held, Plan};

use crate::datamap::TABLES;
use crate::{Privacy, PrivacyError, Result, require_privacy};

/// What started an erasure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A verified erasure request.
    Request(i64),
    /// Permanent deletion through the API (`DELETE /deleted_users/{id}`) or by privacy staff.
    Api,
    /// The inactive end-user retention policy.
    Retention,
    /// Replaying the erasure ledger after a restore.
    Replay,
}

/// One of Zendesk's compliance deletion statuses: an area of the product (`support`, `profile`,
/// `storage`, `all`) and what happened there when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplianceStatus {
    /// `request_deletion`, `started` or `complete`.
    pub action: &'static str,
    /// The area.
    pub application: &'static str,
    /// Who asked for the erasure.
    pub executer_id: Option<i64>,
    /// The person.
    pub user_id: i64,
    /// When (ISO 8601).
    pub created_at: String,
}

/// An erasure as callers see it: its row read, the plan and what the steps did parsed.
#[derive(Debug, Clone)]
pub struct Erasure {
    /// Id.
    pub id: i64,
    /// The person being erased (an id that no longer resolves once done).
    pub subject_id: i64,
    /// Their role when planned.
    pub subject_role: Role,
    /// The privacy request it fulfils, if any.
    pub request_id: Option<i64>,
    /// What started it.
    pub origin: String,
    /// Where it stands.
    pub state: ErasureState,
    /// Pass number.
    pub pass: i64,
    /// The step the current pass is at (`done` past the last).
    pub step: &'static str,
    /// What the current pass's plan counts, per category.
    pub planned: Option<std::collections::BTreeMap<String, u64>>,
    /// What the steps did, per category, summed over passes.
    pub done: Value,
    /// The verification's checks.
    pub checks: Value,
    /// Whether the person who asked was told it is done (`sent`, or `not sent: …`); none when
    /// nobody asked (an erasure staff or retention started).
    pub confirmation: Option<String>,
    /// What is kept under holds.
    pub held: Vec<Held>,
    /// Why it failed, for the operator (no personal values).
    pub error: Option<String>,
    /// Created.
    pub created_at: suoja_core::Timestamp,
    /// Last change.
    pub updated_at: suoja_core::Timestamp,
    /// When verification passed.
    pub completed_at: Option<suoja_core::Timestamp>,
    /// Hash of the ledger entry that records completion.
    pub ledger_hash: Option<Vec<u8>>,
}

impl From<ErasureRow> for Erasure {
    fn from(row: ErasureRow) -> Self {
        let plan: Option<Plan> = serde_json::from_str(&row.plan).ok();
        let done = run::parse_done(&row);
        Erasure {
            id: row.id,
            subject_id: row.subject_id,
            subject_role: row.subject_role,
            request_id: row.request_id,
            origin: row.origin,
            state: row.state,
            pass: row.pass,
            step: run::STEPS.get(usize::try_from(row.step).unwrap_or(usize::MAX)).copied().unwrap_or("done"),
            planned: plan.as_ref().map(Plan::counts),
            done: done.get("counts").cloned().unwrap_or_else(|| json!({})),
            checks: done.get("checks").cloned().unwrap_or_else(|| json!([])),
            confirmation: done.get("confirmation").and_then(Value::as_str).map(str::to_string),
            held: plan.map(|p| p.held).unwrap_or_default(),
            error: row.error,
            created_at: row.created_at,
            updated_at: row.updated_at,
            completed_at: row.completed_at,
            ledger_hash: row.ledger_hash,
        }
    }
}

impl Privacy {
    /// The dry run: what erasing `subject` now would do. Changes nothing.
    pub async fn erasure_plan(&self, scope: &Scope, subject: UserId) -> Result<Plan> {
        require_privacy(scope)?;
        let mut c = self.hd.db().read().await?;
        suoja_store::users::by_id(&mut c, scope.tenant, subject)
            .await?
            .ok_or(PrivacyError::NotFound("User"))?;
        let mut plan = self
            .make_plan(&mut c, scope.tenant, subject, TABLES, None, plan::Mentions::Review, None)
            .await?;
        plan.probes.clear();
        Ok(plan)
    }

    /// Starts erasing `subject` (or returns the erasure already under way) without running it.
    pub async fn start_erasure(&self, scope: &Scope, subject: UserId, origin: Origin) -> Result<Erasure> {
        Ok(self.start_erasure_with(scope, subject, origin, Vec::new()).await?.into())
    }

    /// As [`Self::start_erasure`], replacing also the weak matches in `accepted` (a replay of an
    /// erasure whose request accepted them).
    pub(crate) async fn start_erasure_with(&self, scope: &Scope, subject: UserId, origin: Origin, accepted: Vec<plan::Mention>) -> Result<ErasureRow> {
        require_privacy(scope)?;
        // Reads of the person noted in memory are written now, so the plan sees them.
        self.flush_consultations().await?;
        let now = self.hd.now();
        let request_id = match origin {
            Origin::Request(id) => Some(id),
            Origin::Api | Origin::Retention | Origin::Replay => None,
        };
        let mentions = match (request_id, accepted.is_empty()) {
            (Some(r), _) => plan::Mentions::Request(r),
            (None, false) => plan::Mentions::Accepted(accepted),
            (None, true) => plan::Mentions::Strong,
        };
        // The search of free text opens every row: done before the transaction, on a read
        // connection, so the writer does not wait for it.
        let texts = self.plan_texts(scope.tenant, subject, &mentions).await?;
        let mut tx = self.hd.db().begin().await?;
        if let Some(open) = suoja_store::erasures::for_subject(&mut tx, scope.tenant, subject.0)
            .await?
            .into_iter()
            .find(|e| !e.state.is_finished())
        {
            return Ok(open);
        }
        let Some(user) = suoja_store::users::by_id(&mut tx, scope.tenant, subject).await? else {
            let erased = suoja_store::erasures::for_subject(&mut tx, scope.tenant, subject.0)
                .await?
                .into_iter()
                .any(|e| e.state == ErasureState::Completed);
            return Err(if erased {
                PrivacyError::Conflict("this person has already been erased".into())
            } else {
                PrivacyError::NotFound("User")
            });
        };
        if subject == scope.actor {
            return Err(PrivacyError::Conflict("you cannot erase your own account; ask another admin".into()));
        }
        if user.role == Role::Admin && user.deleted_at.is_none() && suoja_store::users::count_admins(&mut tx, scope.tenant).await? <= 1 {
            return Err(PrivacyError::Conflict(
                "the last admin cannot be erased: make someone else an admin first".into(),
            ));
        }
        if user.role.is_staff() && !scope.is_admin() {
            return Err(PrivacyError::Forbidden("only admins can erase agents and admins"));
        }
        let plan = self.make_plan(&mut tx, scope.tenant, subject, TABLES, None, mentions, texts).await?;
        let by_retention = matches!(origin, Origin::Retention | Origin::Replay);
        let row = ErasureRow {
            id: 0,
            tenant: scope.tenant,
            subject_id: subject.0,
            subject_role: user.role,
            request_id,
            origin: match origin {
                Origin::Request(_) => "request",
                Origin::Api => "api",
                Origin::Retention => "retention",
                Origin::Replay => "replay",
            }
            .into(),
            state: ErasureState::Planned,
            step: 0,
            pass: 1,
            plan: serde_json::to_string(&plan).map_err(|e| PrivacyError::Internal(e.to_string()))?,
            done: json!({ "counts": {}, "steps": {} }).to_string(),
            held: "[]".into(),
            error: None,
            actor_id: (!by_retention).then_some(scope.actor.0),
            leased_until: 0,
            created_at: now,
            updated_at: now,
            completed_at: None,
            ledger_hash: None,
        };
        let id = match suoja_store::erasures::insert(&mut tx, &row).await {
            Ok(id) => id,
            Err(suoja_store::StoreError::Duplicate(_)) => {
                // Someone started the same erasure a moment ago: that one is the erasure.
                drop(tx);
                let mut c = self.hd.db().read().await?;
                return suoja_store::erasures::for_subject(&mut c, scope.tenant, subject.0)
                    .await?
                    .into_iter()
                    .find(|e| !e.state.is_finished())
                    .ok_or_else(|| PrivacyError::Conflict("another erasure of this person just finished".into()));
            }
            Err(e) => return Err(e.into()),
        };
        self.record_ledger(
            &mut tx,
            scope.tenant,
            suoja_core::LedgerKind::ErasureStarted,
            Some(subject.0),
            (!by_retention).then_some(scope.actor.0),
            json!({ "erasure": id, "request": request_id, "planned": plan.counts(), "held": plan.held.iter().map(|h| h.hold).collect::<Vec<_>>() }),
        )
        .await?;
        tx.commit().await?;
        Ok(ErasureRow { id, ..row })
    }

    /// Starts erasing `subject` and runs it to the end (or to its holds) before returning. If
    /// another runner has it (a second request for the same person), waits for that one, up to
    /// half a minute, and returns the erasure as it then stands.
    pub async fn erase(&self, scope: &Scope, subject: UserId, origin: Origin) -> Result<Erasure> {
        Ok(self.erase_with(scope, subject, origin, Vec::new()).await?.into())
    }

    /// As [`Self::erase`], replacing also the weak matches in `accepted`.
    pub(crate) async fn erase_with(&self, scope: &Scope, subject: UserId, origin: Origin, accepted: Vec<plan::Mention>) -> Result<ErasureRow> {
        let planning = std::time::Instant::now();
        let row = self.start_erasure_with(scope, subject, origin, accepted).await?;
        tracing::info!(tenant.id = %scope.tenant, erasure.id = row.id, ms = planning.elapsed().as_millis(), "erasure planned");
        let started = std::time::Instant::now();
        loop {
            let row = self.run_erasure(scope.tenant, row.id).await?;
            if (row.state.is_finished() || row.state == ErasureState::Held) || started.elapsed() > std::time::Duration::from_secs(30) {
                return Ok(row);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// Carries out a verified erasure request.
    pub async fn erase_for_request(&self, scope: &Scope, request: i64) -> Result<Erasure> {
        require_privacy(scope)?;
        let req = self.get(scope, request).await?;
        if req.kind != suoja_core::RequestKind::Erasure {
            return Err(PrivacyError::Conflict(format!("request {request} is a {} request, not erasure", req.kind)));
        }
        if req.closed_at.is_some() {
            return Err(PrivacyError::Conflict(format!("the request is already {}", req.status)));
        }
        if req.verified_at.is_none() {
            return Err(PrivacyError::Conflict("the person's identity is not confirmed yet".into()));
        }
        self.erase(scope, UserId(req.subject_id), Origin::Request(request)).await
    }

    /// One erasure.
    pub async fn erasure(&self, scope: &Scope, id: i64) -> Result<Erasure> {
        require_privacy(scope)?;
        Ok(self.erasure_row(scope.tenant, id).await?.into())
    }

    /// A tenant's erasures, newest first.
    pub async fn erasures(&self, scope: &Scope, limit: i64, offset: i64) -> Result<Vec<Erasure>> {
        require_privacy(scope)?;
        let mut c = self.hd.db().read().await?;
        Ok(suoja_store::erasures::list(&mut c, scope.tenant, limit, offset)
            .await?
            .into_iter()
            .map(Erasure::from)
            .collect())
    }

    /// A person's erasures, newest first.
    pub async fn erasures_of(&self, scope: &Scope, subject: UserId) -> Result<Vec<Erasure>> {
        require_privacy(scope)?;
        let mut c = self.hd.db().read().await?;
        Ok(suoja_store::erasures::for_subject(&mut c, scope.tenant, subject.0)
            .await?
            .into_iter()
            .map(Erasure::from)
            .collect())
    }

    /// Ends holds that ran out, then runs every erasure that is due in any tenant (interrupted
    /// ones, and held ones whose holds may have ended). Returns how many were looked at.
    pub async fn run_due_erasures(&self) -> Result<usize> {
        self.end_expired_holds().await?;
        let now = self.hd.now();
        let due = {
            let mut c = self.hd.db().read().await?;
            suoja_store::erasures::runnable(&mut c, now, 20).await?
        };
        for (tenant, id) in &due {
            if let Err(e) = self.run_erasure(*tenant, *id).await {
                tracing::warn!(tenant.id = %tenant, erasure.id = id, error = %e, "erasure step failed; it will be retried");
            }
        }
        Ok(due.len())
    }

    /// Zendesk's compliance deletion statuses of a user: the request, then when each area
    /// started and completed, from the erasure's step log; oldest erasure first.
    pub async fn compliance_statuses(&self, scope: &Scope, subject: UserId) -> Result<Vec<ComplianceStatus>> {
        require_privacy(scope)?;
        let mut c = self.hd.db().read().await?;
        let rows = suoja_store::erasures::for_subject(&mut c, scope.tenant, subject.0).await?;
        let mut out = Vec::new();
        for row in rows.iter().rev() {
            let done = run::parse_done(row);
            let step = |name: &str| done.get("steps").and_then(|s| s.get(name)).and_then(Value::as_str).map(str::to_string);
            let status = |action: &'static str, application: &'static str, at: String| ComplianceStatus {
                action,
                application,
                executer_id: row.actor_id,
                user_id: row.subject_id,
                created_at: at,
            };
            out.push(status("request_deletion", "all", row.created_at.to_iso()));
            for (application, first, last) in [
                ("support", "records", "redactions"),
                ("profile", "profile", "profile"),
                ("storage", "maintenance", "maintenance"),
            ] {
                if let Some(at) = step(first) {
                    out.push(status("started", application, at));
                }
                if let Some(at) = step(last) {
                    out.push(status("complete", application, at));
                }
            }
            if let Some(at) = row.completed_at {
                out.push(status("complete", "all", at.to_iso()));
            }
        }
        Ok(out)
    }

    /// What erasure does with a person's own comments on other people's tickets: `tombstone`
    /// (the default) or `delete`.
    pub async fn erasure_comments(&self, scope: &Scope) -> Result<String> {
        require_privacy(scope)?;
        let mut c = self.hd.db().read().await?;
        let comments = suoja_store::settings::erasure_comments(&mut c, scope.tenant).await?;
        Ok(comments.unwrap_or_else(|| "tombstone".to_string()))
    }

    /// Changes what erasure does with a person's own comments on other people's tickets:
    /// `tombstone` (the default: the thread keeps a removal notice in its place) or `delete`.
    pub async fn set_erasure_comments(&self, scope: &Scope, value: &str) -> Result<()> {
        require_privacy(scope)?;
        if !matches!(value, "tombstone" | "delete") {
            return Err(PrivacyError::invalid("erasure_comments", "must be tombstone or delete"));
        }
        let now = self.hd.now();
        let mut tx = self.hd.db().begin().await?;
        suoja_store::settings::set_erasure_comments(&mut tx, scope.tenant, value, scope.actor.0, now).await?;
        self.record_ledger(
            &mut tx,
            scope.tenant,
            suoja_core::LedgerKind::SettingsChanged,
            None,
            Some(scope.actor.0),
            json!({ "erasure_comments": value }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether the erasure of `subject` has completed (their data is gone for good).
    pub async fn is_erased(&self, tenant: TenantId, subject: UserId) -> Result<bool> {
        let mut c = self.hd.db().read().await?;
        Ok(suoja_store::erasures::for_subject(&mut c, tenant, subject.0)
            .await?
            .iter()
            .any(|e| e.state == ErasureState::Completed))
    }
}
