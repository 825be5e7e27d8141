//! Bulk operations that Zendesk runs as jobs: tickets changed or moved to the trash many at a
//! time, people and organisations created or changed many at a time, and a person created or
//! updated by e-mail or external id. Every item goes through the same service as one item
//! would (same rules, same index, same audit), in a transaction of its own; the job's results
//! say per item what was done or why not (see [`Helpdesk::run_job`]), and hold ids only.

use serde_json::json;
use suoja_core::{OrganizationId, Scope, TicketId, UserId};

use crate::jobs::{at_most_100, key};
use crate::model::{JobStatus, TicketInput, User, UserInput};
use crate::orgs::{OrgInput, Organization};
use crate::{Helpdesk, HelpdeskError, Result};

impl Helpdesk {
    /// Changes up to 100 tickets, each with its own change (Zendesk's `update_many`); the same
    /// change for each is the same list with one input repeated.
    pub async fn update_many_tickets(&self, scope: &Scope, items: Vec<(TicketId, TicketInput)>) -> Result<JobStatus> {
        crate::require_staff(scope)?;
        at_most_100(items.len(), "tickets")?;
        let items = items
            .into_iter()
            .map(|(id, input)| (key(json!({"id": id.0, "action": "update"})), (id, input)))
            .collect();
        self.run_job(scope, items, HelpdeskError::kind, |(id, input)| async move {
            self.update_ticket(scope, id, input).await?;
            Ok(key(json!({"success": true, "status": "Updated"})))
        })
        .await
    }

    /// Moves up to 100 tickets to the trash (Zendesk's `destroy_many`).
    pub async fn delete_many_tickets(&self, scope: &Scope, ids: &[TicketId]) -> Result<JobStatus> {
        crate::require_staff(scope)?;
        at_most_100(ids.len(), "tickets")?;
        let items = distinct(ids).into_iter().map(|id| (key(json!({"id": id.0, "action": "delete"})), id)).collect();
        self.run_job(scope, items, HelpdeskError::kind, |id| async move {
            self.delete_ticket(scope, id).await?;
            Ok(key(json!({"success": true, "status": "Deleted"})))
        })
        .await
    }

    /// Creates up to 100 people (Zendesk's `users/create_many`): agents create end users, only
    /// admins create staff, as one at a time.
    pub async fn create_many_users(&self, scope: &Scope, inputs: Vec<UserInput>) -> Result<JobStatus> {
        crate::require_staff(scope)?;
        at_most_100(inputs.len(), "users")?;
        let items = inputs.into_iter().enumerate().map(|(i, u)| (key(json!({"index": i})), u)).collect();
        self.run_job(scope, items, HelpdeskError::kind, |input| async move {
            let u = self.create_user(scope, input).await?;
            Ok(key(json!({"id": u.id.0, "status": "Created", "success": true})))
        })
        .await
    }

    /// Changes up to 100 people, each with its own change (Zendesk's `users/update_many`).
    pub async fn update_many_users(&self, scope: &Scope, items: Vec<(UserId, UserInput)>) -> Result<JobStatus> {
        crate::require_staff(scope)?;
        at_most_100(items.len(), "users")?;
        let items = items
            .into_iter()
            .map(|(id, input)| (key(json!({"id": id.0, "action": "update"})), (id, input)))
            .collect();
        self.run_job(scope, items, HelpdeskError::kind, |(id, input)| async move {
            self.update_user(scope, id, input).await?;
            Ok(key(json!({"success": true, "status": "Updated"})))
        })
        .await
    }

    /// Creates a person, or changes the one already known by the input's e-mail address or,
    /// without an address, its external id (Zendesk's `users/create_or_update`). Returns the
    /// person and whether they are new. A deleted or restricted person is never matched: the
    /// address is then refused as taken, as a create would refuse it.
    pub async fn create_or_update_user(&self, scope: &Scope, input: UserInput) -> Result<(User, bool)> {
        crate::require_staff(scope)?;
        let found = {
            let mut c = self.db.read().await?;
            match (&input.email, &input.external_id) {
                (Some(Some(email)), _) => self
                    .user_by_email(&mut c, scope.tenant, email)
                    .await?
                    .filter(|r| r.deleted_at.is_none() && !r.restricted)
                    .map(|r| r.id),
                (_, Some(Some(ext))) => {
                    let ext = ext.expose().clone();
                    self.users_with_external_ids(&mut c, scope, std::slice::from_ref(&ext))
                        .await?
                        .first()
                        .map(|u| u.id)
                }
                _ => {
                    return Err(HelpdeskError::Invalid {
                        field: "user".into(),
                        message: "email or external_id is required to find the user".into(),
                        code: "BlankValue",
                    });
                }
            }
        };
        match found {
            Some(id) => Ok((self.update_user(scope, id, input).await?, false)),
            None => Ok((self.create_user(scope, input).await?, true)),
        }
    }

    /// Live people (not restricted) whose external id is exactly one of `ids` (at most 100),
    /// by id. External ids are sealed, so candidates come from the search index by their words
    /// and are kept only when the opened value is equal.
    pub async fn users_by_external_ids(&self, scope: &Scope, ids: &[String]) -> Result<Vec<User>> {
        crate::require_staff(scope)?;
        at_most_100(ids.len(), "external_ids")?;
        let mut c = self.db.read().await?;
        let out = self.users_with_external_ids(&mut c, scope, ids).await?;
        self.consulted(scope, &out.iter().map(|u| u.id).collect::<Vec<_>>(), "user.viewed", "support");
        Ok(out)
    }

    async fn users_with_external_ids(&self, c: &mut suoja_store::Conn, scope: &Scope, ids: &[String]) -> Result<Vec<User>> {
        let h = self.vault.search_hasher(c, scope.tenant).await?;
        let mut out: Vec<User> = Vec::new();
        for ext in ids {
            let tokens: Vec<i64> = suoja_search::terms(ext).iter().map(|w| h.token(w)).collect();
            if tokens.is_empty() {
                continue;
            }
            let found = suoja_search::index::all_of(c, scope.tenant, suoja_search::DocKind::User, &tokens).await?;
            let found: Vec<UserId> = found.into_iter().map(UserId).collect();
            for chunk in found.chunks(100) {
                for r in suoja_store::users::by_ids(c, scope.tenant, chunk).await? {
                    if r.deleted_at.is_some() || r.restricted || out.iter().any(|u| u.id == r.id) {
                        continue;
                    }
                    let u = self.open_user(c, scope.tenant, &r).await?;
                    if u.external_id.as_ref().is_some_and(|x| x.expose() == ext) {
                        out.push(u);
                    }
                }
            }
        }
        out.sort_by_key(|u| u.id);
        Ok(out)
    }

    /// Creates up to 100 organisations (Zendesk's `organizations/create_many`).
    pub async fn create_many_orgs(&self, scope: &Scope, inputs: Vec<OrgInput>) -> Result<JobStatus> {
        crate::require_staff(scope)?;
        at_most_100(inputs.len(), "organizations")?;
        let items = inputs.into_iter().enumerate().map(|(i, o)| (key(json!({"index": i})), o)).collect();
        self.run_job(scope, items, HelpdeskError::kind, |input| async move {
            let o = self.create_org(scope, input).await?;
            Ok(key(json!({"id": o.id.0, "status": "Created", "success": true})))
        })
        .await
    }

    /// Organisations by ids or by external ids (at most 100; unknown ones are left out), by id.
    pub async fn orgs_by(&self, scope: &Scope, ids: &[OrganizationId], external_ids: &[String]) -> Result<Vec<Organization>> {
        crate::require_staff(scope)?;
        at_most_100(ids.len() + external_ids.len(), "organizations")?;
        let mut c = self.db.read().await?;
        let mut out: Vec<Organization> = Vec::new();
        for id in distinct(ids) {
            if let Some(r) = suoja_store::organizations::by_id(&mut c, scope.tenant, id).await? {
                out.push(r.into());
            }
        }
        for ext in external_ids {
            for r in suoja_store::organizations::search(&mut c, scope.tenant, None, Some(ext)).await? {
                if !out.iter().any(|o| o.id == r.id) {
                    out.push(r.into());
                }
            }
        }
        out.sort_by_key(|o| o.id);
        Ok(out)
    }
}

/// Ids in ascending order, each once: the order bulk work locks rows in.
fn distinct<T: Ord + Copy>(ids: &[T]) -> Vec<T> {
    let mut v = ids.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}
