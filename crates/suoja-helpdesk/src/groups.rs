//! Agent groups, and which agents work in them (memberships: staff only; a membership names
//! an agent and a group once; an agent's first group is their default).

use suoja_core::{GroupId, Scope};
use suoja_store::StoreError;

use crate::model::Group;
use crate::{Helpdesk, HelpdeskError, Result, require_staff};

fn dup(e: StoreError) -> HelpdeskError {
    match e {
        StoreError::Duplicate(_) => HelpdeskError::duplicate("name", "Name: has already been taken"),
        other => other.into(),
    }
}

impl Helpdesk {
    /// Creates a group (admins).
    pub async fn create_group(&self, scope: &Scope, name: &str, description: Option<&str>) -> Result<Group> {
        if !scope.is_admin() {
            return Err(HelpdeskError::Forbidden("only admins can create groups"));
        }
        if name.trim().is_empty() {
            return Err(HelpdeskError::Invalid {
                field: "name".into(),
                message: "Name: cannot be blank".into(),
                code: "BlankValue",
            });
        }
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let id = suoja_store::groups::insert(&mut tx, scope.tenant, name.trim(), description, now)
            .await
            .map_err(dup)?;
        let g = suoja_store::groups::by_id(&mut tx, scope.tenant, id)
            .await?
            .ok_or(HelpdeskError::Internal("group vanished".into()))?;
        tx.commit().await?;
        Ok(g.into())
    }

    /// Reads a group.
    pub async fn get_group(&self, scope: &Scope, id: GroupId) -> Result<Group> {
        require_staff(scope)?;
        let mut c = self.db.read().await?;
        Ok(suoja_store::groups::by_id(&mut c, scope.tenant, id)
            .await?
            .ok_or(HelpdeskError::NotFound("Group"))?
            .into())
    }

    /// Renames or re-describes a group (admins).
    pub async fn update_group(&self, scope: &Scope, id: GroupId, name: Option<&str>, description: Option<Option<&str>>) -> Result<Group> {
        if !scope.is_admin() {
            return Err(HelpdeskError::Forbidden("only admins can change groups"));
        }
        let mut tx = self.db.begin().await?;
        let mut g = suoja_store::groups::by_id(&mut tx, scope.tenant, id)
            .await?
            .ok_or(HelpdeskError::NotFound("Group"))?;
        if let Some(n) = name {
            if n.trim().is_empty() {
                return Err(HelpdeskError::Invalid {
                    field: "name".into(),
                    message: "Name: cannot be blank".into(),
                    code: "BlankValue",
                });
            }
            g.name = n.trim().to_string();
        }
        if let Some(d) = description {
            g.description = d.map(str::to_string);
        }
        g.updated_at = self.now();
        suoja_store::groups::update(&mut tx, scope.tenant, &g).await.map_err(dup)?;
        tx.commit().await?;
        Ok(g.into())
    }

    /// Deletes a group (admins).
    pub async fn delete_group(&self, scope: &Scope, id: GroupId) -> Result<()> {
        if !scope.is_admin() {
            return Err(HelpdeskError::Forbidden("only admins can delete groups"));
        }
        let mut tx = self.db.begin().await?;
        // Locked first, so no membership is added to it while it goes.
        suoja_store::groups::by_id_for_update(&mut tx, scope.tenant, id)
            .await?
            .ok_or(HelpdeskError::NotFound("Group"))?;
        // Its tickets stay, unassigned from the group; its memberships go.
        suoja_store::tickets::clear_group(&mut tx, scope.tenant, id).await?;
        suoja_store::groups::remove_group_memberships(&mut tx, scope.tenant, id).await?;
        if !suoja_store::groups::delete(&mut tx, scope.tenant, id).await? {
            return Err(HelpdeskError::NotFound("Group"));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Lists groups.
    pub async fn list_groups(&self, scope: &Scope, after: Option<i64>, limit: i64, offset: i64) -> Result<(Vec<Group>, i64)> {
        require_staff(scope)?;
        let mut c = self.db.read().await?;
        let rows = suoja_store::groups::list(&mut c, scope.tenant, after, limit, offset).await?;
        let count = suoja_store::groups::count(&mut c, scope.tenant).await?;
        Ok((rows.into_iter().map(Group::from).collect(), count))
    }
}

impl Helpdesk {
    /// Group memberships (staff), of one agent or one group when given, by id after a cursor,
    /// at most `limit` from `offset`, and how many there are.
    pub async fn group_memberships(
        &self,
        scope: &Scope,
        user: Option<suoja_core::UserId>,
        group: Option<GroupId>,
        after: Option<i64>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<suoja_store::groups::MembershipRow>, i64)> {
        require_staff(scope)?;
        let mut c = self.db.read().await?;
        if let Some(g) = group
            && suoja_store::groups::by_id(&mut c, scope.tenant, g).await?.is_none()
        {
            return Err(HelpdeskError::NotFound("Group"));
        }
        if let Some(u) = user
            && suoja_store::users::by_id(&mut c, scope.tenant, u)
                .await?
                .filter(|r| r.deleted_at.is_none() && !r.restricted)
                .is_none()
        {
            return Err(HelpdeskError::NotFound("User"));
        }
        let rows = suoja_store::groups::memberships(&mut c, scope.tenant, user, group, after.unwrap_or(0), limit, offset).await?;
        let count = suoja_store::groups::count_memberships(&mut c, scope.tenant, user, group).await?;
        self.consulted(scope, &rows.iter().map(|m| m.user_id).collect::<Vec<_>>(), "group_membership.viewed", "support");
        Ok((rows, count))
    }

    /// One membership (staff).
    pub async fn group_membership(&self, scope: &Scope, id: i64) -> Result<suoja_store::groups::MembershipRow> {
        require_staff(scope)?;
        let mut c = self.db.read().await?;
        let m = suoja_store::groups::membership_by_id(&mut c, scope.tenant, id)
            .await?
            .ok_or(HelpdeskError::NotFound("GroupMembership"))?;
        self.consulted(scope, &[m.user_id], "group_membership.viewed", "support");
        Ok(m)
    }

    /// Puts an agent in a group (admins). End users work in no group; a pair already there is
    /// refused as taken.
    pub async fn add_group_membership(&self, scope: &Scope, user: suoja_core::UserId, group: GroupId) -> Result<suoja_store::groups::MembershipRow> {
        if !scope.is_admin() {
            return Err(HelpdeskError::Forbidden("only admins change group memberships"));
        }
        let now = self.now();
        let mut tx = self.db.begin().await?;
        suoja_store::groups::by_id_for_update(&mut tx, scope.tenant, group)
            .await?
            .ok_or(HelpdeskError::NotFound("Group"))?;
        let person = suoja_store::users::by_id_for_update(&mut tx, scope.tenant, user)
            .await?
            .filter(|r| r.deleted_at.is_none() && !r.restricted)
            .ok_or(HelpdeskError::NotFound("User"))?;
        if !person.role.is_staff() {
            return Err(HelpdeskError::Invalid {
                field: "user_id".into(),
                message: "user_id: only agents and admins belong to groups".into(),
                code: "InvalidValue",
            });
        }
        let id = suoja_store::groups::add_membership(&mut tx, scope.tenant, user, group, now)
            .await
            .map_err(|e| match e {
                StoreError::Duplicate(_) => HelpdeskError::duplicate("user_id", "user_id: the agent is already in the group"),
                other => other.into(),
            })?;
        let row = suoja_store::groups::membership_by_id(&mut tx, scope.tenant, id)
            .await?
            .ok_or(HelpdeskError::Internal("a membership just added is not there".into()))?;
        tx.commit().await?;
        tracing::info!(tenant.id = %scope.tenant, user.id = %user, group.id = %group, actor.id = %scope.actor, "group membership added");
        Ok(row)
    }

    /// Makes one of an agent's memberships their default group (admins), as Zendesk's
    /// `make_default`; a membership of someone else is unknown here.
    pub async fn make_default_group_membership(&self, scope: &Scope, user: suoja_core::UserId, id: i64) -> Result<()> {
        if !scope.is_admin() {
            return Err(HelpdeskError::Forbidden("only admins change group memberships"));
        }
        let now = self.now();
        let mut tx = self.db.begin().await?;
        // The agent's row is the lock their memberships change under.
        suoja_store::users::by_id_for_update(&mut tx, scope.tenant, user)
            .await?
            .filter(|r| r.deleted_at.is_none() && !r.restricted)
            .ok_or(HelpdeskError::NotFound("User"))?;
        if !suoja_store::groups::make_default(&mut tx, scope.tenant, user, id, now).await? {
            return Err(HelpdeskError::NotFound("GroupMembership"));
        }
        tx.commit().await?;
        tracing::info!(tenant.id = %scope.tenant, user.id = %user, actor.id = %scope.actor, "default group changed");
        Ok(())
    }

    /// Takes an agent out of a group (admins).
    pub async fn remove_group_membership(&self, scope: &Scope, id: i64) -> Result<()> {
        if !scope.is_admin() {
            return Err(HelpdeskError::Forbidden("only admins change group memberships"));
        }
        let mut tx = self.db.begin().await?;
        if !suoja_store::groups::remove_membership(&mut tx, scope.tenant, id).await? {
            return Err(HelpdeskError::NotFound("GroupMembership"));
        }
        tx.commit().await?;
        Ok(())
    }
}
