//! Job statuses for bulk operations (`create_many`, `update_many`, `destroy_many`, permanent
//! deletion). Bulk work runs to
//! completion before the answer, one item per transaction, and its status is kept so clients
//! that poll `job_statuses/{id}` see the outcome.

use serde_json::{Map, Value, json};
use suoja_core::{ErrorKind, Scope, random};
use suoja_store::jobs::JobStatusRow;

use crate::model::{JobStatus, TicketInput};
use crate::{Helpdesk, HelpdeskError, Result};

impl Helpdesk {
    /// Creates up to 100 tickets, each in its own transaction; failures are reported per item.
    pub async fn create_many_tickets(&self, scope: &Scope, inputs: Vec<TicketInput>) -> Result<JobStatus> {
        // Bulk creation is for staff and integrations, as with Zendesk: an end user asks one
        // ticket at a time.
        crate::require_staff(scope)?;
        at_most_100(inputs.len(), "tickets")?;
        let items = inputs.into_iter().enumerate().map(|(i, t)| (key(json!({"index": i})), t)).collect();
        self.run_job(scope, items, HelpdeskError::kind, |input| async move {
            let ch = self.create_ticket(scope, input).await?;
            Ok(key(json!({"id": ch.ticket.id.0})))
        })
        .await
    }

    /// Runs a bulk job's items in turn and stores the job. Each item is named in its result by
    /// `key` (its index or id, and the action) and done by `each`, in a transaction of its own,
    /// whose answer is added to the result. An item refused for the client's reasons (invalid,
    /// unknown, not allowed, in conflict) is reported with `success: false`, `error` and
    /// `details`, and the job goes on; a failure on our side ends the request with that error,
    /// as it would for one item, and the items before it stay done.
    pub async fn run_job<I, E, F, Fut>(
        &self,
        scope: &Scope,
        items: Vec<(Map<String, Value>, I)>,
        kind: fn(&E) -> ErrorKind,
        mut each: F,
    ) -> std::result::Result<JobStatus, E>
    where
        E: From<HelpdeskError> + std::fmt::Display,
        F: FnMut(I) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<Map<String, Value>, E>>,
    {
        let mut results = Vec::with_capacity(items.len());
        for (mut result, item) in items {
            match each(item).await {
                Ok(done) => result.extend(done),
                Err(e) => {
                    let error = match kind(&e) {
                        ErrorKind::NotFound => "RecordNotFound",
                        ErrorKind::Invalid => "RecordInvalid",
                        ErrorKind::Conflict => "Conflict",
                        ErrorKind::Forbidden | ErrorKind::Unauthorized => "PermissionDenied",
                        ErrorKind::Unavailable | ErrorKind::Internal => return Err(e),
                    };
                    result.insert("success".into(), Value::Bool(false));
                    result.insert("error".into(), error.into());
                    result.insert("details".into(), e.to_string().into());
                }
            }
            results.push(Value::Object(result));
        }
        Ok(self.record_job(scope, "completed", results, None).await?)
    }

    /// Stores a finished job's status.
    pub async fn record_job(&self, scope: &Scope, status: &str, results: Vec<Value>, message: Option<&str>) -> Result<JobStatus> {
        let mut tx = self.db.begin().await?;
        let job = self.record_job_in(&mut tx, scope, status, results, message).await?;
        tx.commit().await?;
        Ok(job)
    }

    /// Stores a finished job's status in the caller's transaction (with the work it reports).
    pub(crate) async fn record_job_in(
        &self,
        tx: &mut suoja_store::Conn,
        scope: &Scope,
        status: &str,
        results: Vec<Value>,
        message: Option<&str>,
    ) -> Result<JobStatus> {
        let row = JobStatusRow {
            id: random::hex_id(),
            status: status.into(),
            total: suoja_core::num::to_i64(results.len()),
            progress: suoja_core::num::to_i64(results.len()),
            message: message.map(str::to_string).or_else(|| Some("Completed at ".to_string() + &self.now().to_iso())),
            results: Value::Array(results).to_string(),
            created_at: self.now(),
        };
        suoja_store::jobs::insert(tx, scope.tenant, &row).await?;
        Ok(row.into())
    }

    /// The tenant's job statuses (staff), newest first: the latest 100, or those of `ids` (at
    /// most 100; unknown ids are left out, as Zendesk's `show_many` does).
    pub async fn job_statuses(&self, scope: &Scope, ids: Option<&[String]>) -> Result<Vec<JobStatus>> {
        crate::require_staff(scope)?;
        let mut c = self.db.read().await?;
        Ok(suoja_store::jobs::list(&mut c, scope.tenant, ids, 100)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Reads a job status.
    pub async fn job_status(&self, scope: &Scope, id: &str) -> Result<JobStatus> {
        // Jobs are started by staff and say what they did to the tenant's records.
        crate::require_staff(scope)?;
        let mut c = self.db.read().await?;
        Ok(suoja_store::jobs::by_id(&mut c, scope.tenant, id)
            .await?
            .ok_or(HelpdeskError::NotFound("JobStatus"))?
            .into())
    }
}

/// A job result's fields from a JSON object literal.
pub fn key(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Bulk requests carry at most 100 items, as Zendesk's do.
pub fn at_most_100(n: usize, what: &str) -> Result<()> {
    if n > 100 {
        return Err(HelpdeskError::Invalid {
            field: what.into(),
            message: format!("at most 100 {what} per request"),
            code: "TooManyValues",
        });
    }
    if n == 0 {
        return Err(HelpdeskError::Invalid {
            field: what.into(),
            message: format!("name at least one of the {what}"),
            code: "BlankValue",
        });
    }
    Ok(())
}
