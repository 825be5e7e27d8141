//! Who a ticket may name: requesters (found or created), agents, groups, organisations, CCs
//! and followers, each checked to exist in the tenant and to hold the role the field needs.

use suoja_core::{GroupId, OrganizationId, Personal, Role, Scope, TenantId, Timestamp, UserId};
use suoja_store::Conn;

use crate::model::{RequesterRef, UserInput};
use crate::{Helpdesk, HelpdeskError, Result};

impl Helpdesk {
    pub(crate) async fn require_user(&self, c: &mut Conn, tenant: TenantId, id: UserId, field: &str) -> Result<suoja_store::users::UserRow> {
        match suoja_store::users::by_id(c, tenant, id).await? {
            Some(u) if u.deleted_at.is_none() => Ok(u),
            _ => Err(HelpdeskError::invalid(field, format!("user {id} does not exist"))),
        }
    }

    pub(super) async fn require_staff_user(
        &self,
        c: &mut Conn,
        tenant: TenantId,
        id: UserId,
        field: &str,
        batch: Option<&mut super::batch::Batch>,
    ) -> Result<()> {
        let u = self.person(c, tenant, id, field, batch).await?;
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
                self.require_staff_user(c, scope.tenant, *id, field, None).await?;
            } else {
                self.require_user(c, scope.tenant, *id, field).await?;
            }
        }
        Ok(out)
    }

    pub(super) async fn resolve_requester(&self, c: &mut Conn, scope: &Scope, r: &RequesterRef, now: Timestamp) -> Result<suoja_store::users::UserRow> {
        match r {
            RequesterRef::Id(id) => self.require_user(c, scope.tenant, *id, "requester_id").await,
            RequesterRef::New { name, email } => self.find_or_create_end_user(c, scope.tenant, email, name.clone(), now).await,
        }
    }

    /// The user with this address, or a new end user with it (named `name`, or after the
    /// address's local part), in the caller's transaction. A deleted user's address is refused.
    pub async fn find_or_create_end_user(
        &self,
        c: &mut Conn,
        tenant: suoja_core::TenantId,
        email: &suoja_core::Email,
        name: Option<Personal<String>>,
        now: Timestamp,
    ) -> Result<suoja_store::users::UserRow> {
        if let Some(u) = self.user_by_email(c, tenant, email).await? {
            if u.deleted_at.is_none() {
                return Ok(u);
            }
            return Err(HelpdeskError::invalid("requester", "that user has been deleted"));
        }
        let name = name.unwrap_or_else(|| Personal::new(email.normalized().split('@').next().unwrap_or("requester").to_string()));
        let input = UserInput {
            name: Some(name),
            email: Some(Some(email.clone())),
            role: Some(Role::EndUser),
            ..Default::default()
        };
        let created = self.insert_user(c, tenant, &input, now).await?;
        suoja_store::users::by_id(c, tenant, created.id)
            .await?
            .ok_or(HelpdeskError::Internal("user vanished".into()))
    }

    /// Adds people a message was also addressed to (its `To` and `Cc`) as the ticket's email
    /// CCs, in the caller's transaction. They received the message already, so adding them
    /// tells them nothing new; through the API an end user cannot add others.
    pub async fn add_mail_ccs(
        &self,
        c: &mut Conn,
        tenant: suoja_core::TenantId,
        ticket: suoja_core::TicketId,
        people: &[UserId],
        now: Timestamp,
    ) -> Result<()> {
        if people.is_empty() {
            return Ok(());
        }
        let mut ids: Vec<UserId> = suoja_store::tickets::collaborators(c, tenant, &[ticket])
            .await?
            .into_iter()
            .filter(|(_, _, kind)| kind == "email_cc")
            .map(|(_, u, _)| u)
            .collect();
        let before = ids.len();
        for p in people {
            if !ids.contains(p) {
                ids.push(*p);
            }
        }
        if ids.len() > 48 {
            ids.truncate(48);
        }
        if ids.len() != before {
            suoja_store::tickets::set_collaborators(c, tenant, ticket, "email_cc", &ids, now).await?;
        }
        Ok(())
    }
}
