//! Agent groups.

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
        // Its tickets stay, unassigned from the group.
        suoja_store::tickets::clear_group(&mut tx, scope.tenant, id).await?;
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
