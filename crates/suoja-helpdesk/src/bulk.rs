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

    /// Creates or changes up to 100 people (Zendesk's `users/create_or_update_many`), each as
    /// [`Self::create_or_update_user`] would.
    pub async fn create_or_update_many_users(&self, scope: &Scope, inputs: Vec<UserInput>) -> Result<JobStatus> {
        crate::require_staff(scope)?;
        at_most_100(inputs.len(), "users")?;
        let items = inputs.into_iter().enumerate().map(|(i, u)| (key(json!({"index": i})), u)).collect();
        self.run_job(scope, items, HelpdeskError::kind, |input| async move {
            let (u, new) = self.create_or_update_user(scope, input).await?;
            let status = if new { "Created" } else { "Updated" };
            Ok(key(json!({"id": u.id.0, "status": status, "success": true})))
        })
        .await
    }

    /// Moves up to 100 people to the deleted users (Zendesk's `users/destroy_many`), each as
    /// `DELETE /users/{id}` would. `None` stands for an external id that matched nobody: a
    /// failed item, reported by its place in the request (never by the id itself).
    pub async fn delete_many_users(&self, scope: &Scope, ids: Vec<Option<UserId>>) -> Result<JobStatus> {
        crate::require_staff(scope)?;
        at_most_100(ids.len(), "users")?;
        let items = ids
            .into_iter()
            .enumerate()
            .map(|(i, id)| match id {
                Some(id) => (key(json!({"id": id.0, "action": "delete"})), Some(id)),
                None => (key(json!({"index": i, "action": "delete"})), None),
            })
            .collect();
        self.run_job(scope, items, HelpdeskError::kind, |id| async move {
            self.delete_user(scope, id.ok_or(HelpdeskError::NotFound("User"))?).await?;
            Ok(key(json!({"success": true, "status": "Deleted"})))
        })
        .await
    }

    /// Changes the people with these external ids, the same change for each (Zendesk's
    /// `users/update_many?external_ids=`); an external id that matches nobody is a failed item
    /// reported by its place in the request.
    pub async fn update_many_users_by_external_ids(&self, scope: &Scope, external_ids: &[String], input: UserInput) -> Result<JobStatus> {
        let found = self.user_ids_by_external_ids(scope, external_ids).await?;
        let items = found
            .into_iter()
            .enumerate()
            .map(|(i, id)| match id {
                Some(id) => (key(json!({"id": id.0, "action": "update"})), (Some(id), input.clone())),
                None => (key(json!({"index": i, "action": "update"})), (None, input.clone())),
            })
            .collect();
        self.run_job(scope, items, HelpdeskError::kind, |(id, input)| async move {
            self.update_user(scope, id.ok_or(HelpdeskError::NotFound("User"))?, input).await?;
            Ok(key(json!({"success": true, "status": "Updated"})))
        })
        .await
    }

    /// For each external id (at most 100), the one live person who has it (`None` when nobody
    /// does; a `409` when several do, as for `create_or_update`).
    pub async fn user_ids_by_external_ids(&self, scope: &Scope, external_ids: &[String]) -> Result<Vec<Option<UserId>>> {
        crate::require_staff(scope)?;
        at_most_100(external_ids.len(), "external_ids")?;
        let mut c = self.db.read().await?;
        let mut out = Vec::with_capacity(external_ids.len());
        for ext in external_ids {
            let people = self.users_with_external_ids(&mut c, scope, std::slice::from_ref(ext), false).await?;
            match people.as_slice() {
                [] => out.push(None),
                [one] => out.push(Some(one.id)),
                _ => return Err(HelpdeskError::Conflict("external_ids: several users have one of them; use their ids".into())),
            }
        }
        Ok(out)
    }

    /// Creates a person, or changes the one already known (Zendesk's `users/create_or_update`):
    /// found by the input's e-mail address first, then by its external id. Returns the person
    /// and whether they are new.
    ///
    /// - Found by address, the address is theirs already: the change leaves it alone (it is not
    ///   a new sign-in address, so no credentials notice and agents may do it).
    /// - An address of a deleted or restricted person matches nobody, and the create then
    ///   refuses it as taken. An external id of a restricted person is refused the same way
    ///   (staff cannot change them, and a second profile would sidestep the restriction); one
    ///   that several people share is refused as ambiguous.
    /// - `"email": null` is no identity to find by, and never clears an address here.
    pub async fn create_or_update_user(&self, scope: &Scope, mut input: UserInput) -> Result<(User, bool)> {
        crate::require_staff(scope)?;
        if matches!(input.email, Some(None)) {
            input.email = None;
        }
        let found = {
            let mut c = self.db.read().await?;
            let by_email = match &input.email {
                Some(Some(email)) => self
                    .user_by_email(&mut c, scope.tenant, email)
                    .await?
                    .filter(|r| r.deleted_at.is_none() && !r.restricted)
                    .map(|r| r.id),
                _ => None,
            };
            match (by_email, &input.external_id) {
                (Some(id), _) => {
                    input.email = None;
                    Some(id)
                }
                (None, Some(Some(ext))) => {
                    let ext = ext.expose().clone();
                    if suoja_search::terms(&ext).is_empty() {
                        return Err(HelpdeskError::Invalid {
                            field: "external_id".into(),
                            message: "external_id: needs a letter or a digit to find the user by".into(),
                            code: "InvalidValue",
                        });
                    }
                    let people = self.users_with_external_ids(&mut c, scope, std::slice::from_ref(&ext), true).await?;
                    if people.iter().any(|u| u.restricted) {
                        return Err(HelpdeskError::duplicate("external_id", "External id: is already being used by another user"));
                    }
                    match people.as_slice() {
                        [] => None,
                        [one] => Some(one.id),
                        _ => {
                            return Err(HelpdeskError::Conflict("external_id: several users have it; update them by id".into()));
                        }
                    }
                }
                (None, _) if input.email.is_none() => {
                    return Err(HelpdeskError::Invalid {
                        field: "user".into(),
                        message: "email or external_id is required to find the user".into(),
                        code: "BlankValue",
                    });
                }
                (None, _) => None,
            }
        };
        match found {
            Some(id) => Ok((self.update_user(scope, id, input).await?, false)),
            None => Ok((self.create_user(scope, input).await?, true)),
        }
    }

    /// Live people (not restricted) whose external id is one of `ids` (at most 100, compared
    /// without regard to case), by id. External ids are sealed, so candidates come from the
    /// search index by their words — at most [`CANDIDATES`] for each id, newest first — and are
    /// kept only when the opened value is equal.
    pub async fn users_by_external_ids(&self, scope: &Scope, ids: &[String]) -> Result<Vec<User>> {
        crate::require_staff(scope)?;
        at_most_100(ids.len(), "external_ids")?;
        let mut c = self.db.read().await?;
        let out = self.users_with_external_ids(&mut c, scope, ids, false).await?;
        self.consulted(scope, &out.iter().map(|u| u.id).collect::<Vec<_>>(), "user.viewed", "support");
        Ok(out)
    }

    /// The people with one of these external ids (restricted ones too when `restricted`).
    async fn users_with_external_ids(&self, c: &mut suoja_store::Conn, scope: &Scope, ids: &[String], restricted: bool) -> Result<Vec<User>> {
        let h = self.vault.search_hasher(c, scope.tenant).await?;
        let mut out: Vec<User> = Vec::new();
        for ext in ids {
            let tokens: Vec<i64> = suoja_search::terms(ext).iter().map(|w| h.token(w)).collect();
            if tokens.is_empty() {
                continue;
            }
            let wanted = ext.to_lowercase();
            let mut found = suoja_search::index::all_of(c, scope.tenant, suoja_search::DocKind::User, &tokens).await?;
            found.truncate(CANDIDATES);
            let found: Vec<UserId> = found.into_iter().map(UserId).collect();
            for r in suoja_store::users::by_ids(c, scope.tenant, &found).await? {
                if r.deleted_at.is_some() || (r.restricted && !restricted) || out.iter().any(|u| u.id == r.id) {
                    continue;
                }
                let u = self.open_user(c, scope.tenant, &r).await?;
                if u.external_id.as_ref().is_some_and(|x| x.expose().to_lowercase() == wanted) {
                    out.push(u);
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

/// The most people opened to compare one external id: its words are in their index entries
/// (an external id's words are rarely anyone else's, so this bounds the cost, not the answer).
const CANDIDATES: usize = 100;

/// Ids in ascending order, each once: the order bulk work locks rows in.
fn distinct<T: Ord + Copy>(ids: &[T]) -> Vec<T> {
    let mut v = ids.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}
