//! Who a ticket may name: requesters (found or created), agents, groups, organisations, CCs
//! and followers, each checked to exist in the tenant and to hold the role the field needs.

use suoja_core::{GroupId, OrganizationId, Personal, Role, Scope, TenantId, Timestamp, UserId};
use suoja_store::Conn;

use crate::model::{RequesterRef, UserInput};
use crate::{Helpdesk, HelpdeskError, Result};

impl Helpdesk {
    pub(super) async fn require_user(&self, c: &mut Conn, tenant: TenantId, id: UserId, field: &str) -> Result<suoja_store::users::UserRow> {
        match suoja_store::users::by_id(c, tenant, id).await? {
            Some(u) if u.deleted_at.is_none() => Ok(u),
            _ => Err(HelpdeskError::invalid(field, format!("user {id} does not exist"))),
        }
    }

    pub(super) async fn require_staff_user(&self, c: &mut Conn, tenant: TenantId, id: UserId, field: &str) -> Result<()> {
        let u = self.require_user(c, tenant, id, field).await?;
        if u.role == Role::EndUser {
            return Err(HelpdeskError::invalid(field, format!("user {id} is not an agent")));
        }
        Ok(())
    }

    pub(super) async fn require_group(&self, c: &mut Conn, tenant: TenantId, g: GroupId) -> Result<()> {
        match suoja_store::groups::by_id(c, tenant, g).await? {
            Some(_) => Ok(()),
            None => Err(HelpdeskError::invalid("group_id", format!("group {g} does not exist"))),
        }
    }

    pub(crate) async fn require_org(&self, c: &mut Conn, tenant: TenantId, o: OrganizationId) -> Result<()> {
        match suoja_store::organizations::by_id(c, tenant, o).await? {
            Some(_) => Ok(()),
            None => Err(HelpdeskError::invalid("organization_id", format!("organization {o} does not exist"))),
        }
    }

    /// Checks the people put on a ticket. Staff may name anyone in the tenant; an end user sees
    /// only themselves and the people already on the ticket, so any other id — existing or not —
    /// gets one answer, decided before any lookup (the answer and its timing say nothing about
    /// which ids exist).
    pub(super) async fn check_people(
        &self,
        c: &mut Conn,
        scope: &Scope,
        ids: &[UserId],
        field: &str,
        staff_only: bool,
        already: &[UserId],
    ) -> Result<Vec<UserId>> {
        let mut out = ids.to_vec();
        out.sort();
        out.dedup();
        if out.len() > 48 {
            return Err(HelpdeskError::invalid(field, "at most 48 people can be added"));
        }
        if !scope.is_staff()
            && let Some(id) = out.iter().find(|id| **id != scope.actor && !already.contains(id))
        {
            return Err(HelpdeskError::invalid(field, format!("user {id} cannot be added by you")));
        }
        for id in &out {
            if staff_only {
                self.require_staff_user(c, scope.tenant, *id, field).await?;
            } else {
                self.require_user(c, scope.tenant, *id, field).await?;
            }
        }
        Ok(out)
    }

    pub(super) async fn resolve_requester(&self, c: &mut Conn, scope: &Scope, r: &RequesterRef, now: Timestamp) -> Result<suoja_store::users::UserRow> {
        match r {
            RequesterRef::Id(id) => self.require_user(c, scope.tenant, *id, "requester_id").await,
            RequesterRef::New { name, email } => {
                if let Some(u) = self.user_by_email(c, scope.tenant, email).await? {
                    if u.deleted_at.is_none() {
                        return Ok(u);
                    }
                    return Err(HelpdeskError::invalid("requester", "that user has been deleted"));
                }
                let name = name
                    .clone()
                    .unwrap_or_else(|| Personal::new(email.normalized().split('@').next().unwrap_or("requester").to_string()));
                let input = UserInput {
                    name: Some(name),
                    email: Some(Some(email.clone())),
                    role: Some(Role::EndUser),
                    ..Default::default()
                };
                let created = self.insert_user(c, scope.tenant, &input, now).await?;
                suoja_store::users::by_id(c, scope.tenant, created.id)
                    .await?
                    .ok_or(HelpdeskError::Internal("user vanished".into()))
            }
        }
    }
}
