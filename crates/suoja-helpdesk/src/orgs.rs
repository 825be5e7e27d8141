//! Organisations: CRUD, lookups by name or external id, and their place in search.

use suoja_core::{GroupId, OrganizationId, Scope, Timestamp, UserId};
use suoja_search::index::{self, DocKind};
use suoja_store::StoreError;
use suoja_store::organizations::OrgRow;

use crate::model::User;
use crate::search::index_org;
use crate::users::normalize_tags;
use crate::{Helpdesk, HelpdeskError, Result, require_staff};

/// An organisation.
#[derive(Debug, Clone)]
pub struct Organization {
    /// Id.
    pub id: OrganizationId,
    /// Name.
    pub name: String,
    /// Details.
    pub details: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// Domains.
    pub domain_names: Vec<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// External id.
    pub external_id: Option<String>,
    /// Default group.
    pub group_id: Option<GroupId>,
    /// Members see each other's tickets.
    pub shared_tickets: bool,
    /// Members comment on each other's tickets.
    pub shared_comments: bool,
    /// Created.
    pub created_at: Timestamp,
    /// Changed.
    pub updated_at: Timestamp,
    /// Values of the tenant's organisation fields, by key.
    pub organization_fields: serde_json::Value,
}

impl From<OrgRow> for Organization {
    fn from(r: OrgRow) -> Self {
        Self {
            id: r.id,
            name: r.name,
            details: r.details,
            notes: r.notes,
            domain_names: serde_json::from_str(&r.domain_names).unwrap_or_default(),
            tags: serde_json::from_str(&r.tags).unwrap_or_default(),
            external_id: r.external_id,
            group_id: r.group_id,
            shared_tickets: r.shared_tickets,
            shared_comments: r.shared_comments,
            created_at: r.created_at,
            updated_at: r.updated_at,
            organization_fields: r
                .organization_fields
                .as_deref()
                .and_then(|f| serde_json::from_str(f).ok())
                .unwrap_or_else(|| serde_json::json!({})),
        }
    }
}

/// Fields to set on an organisation.
#[derive(Debug, Clone, Default)]
pub struct OrgInput {
    /// Name.
    pub name: Option<String>,
    /// Details.
    pub details: Option<Option<String>>,
    /// Notes.
    pub notes: Option<Option<String>>,
    /// Domains.
    pub domain_names: Option<Vec<String>>,
    /// Tags.
    pub tags: Option<Vec<String>>,
    /// External id.
    pub external_id: Option<Option<String>>,
    /// Default group.
    pub group_id: Option<Option<GroupId>>,
    /// Shared tickets.
    pub shared_tickets: Option<bool>,
    /// Shared comments.
    pub shared_comments: Option<bool>,
    /// Values of organisation fields by key (laid over the current ones; `null` removes one).
    pub organization_fields: Option<serde_json::Value>,
}

fn dup_name(e: StoreError) -> HelpdeskError {
    match e {
        StoreError::Duplicate(_) => HelpdeskError::duplicate("name", "Name: has already been taken"),
        other => other.into(),
    }
}

fn apply(row: &mut OrgRow, input: OrgInput) -> Result<()> {
    if let Some(n) = input.name {
        row.name = n;
    }
    if let Some(d) = input.details {
        row.details = d;
    }
    if let Some(n) = input.notes {
        row.notes = n;
    }
    if let Some(d) = input.domain_names {
        row.domain_names = serde_json::to_string(&d).map_err(|e| HelpdeskError::Internal(e.to_string()))?;
    }
    if let Some(t) = input.tags {
        row.tags = serde_json::to_string(&normalize_tags(&t)).map_err(|e| HelpdeskError::Internal(e.to_string()))?;
    }
    if let Some(x) = input.external_id {
        row.external_id = x;
    }
    if let Some(g) = input.group_id {
        row.group_id = g;
    }
    if let Some(b) = input.shared_tickets {
        row.shared_tickets = b;
    }
    if let Some(b) = input.shared_comments {
        row.shared_comments = b;
    }
    Ok(())
}

impl Helpdesk {
    /// Lays organisation field values given over the row's, checked against the tenant's
    /// organisation fields.
    async fn set_org_fields(&self, c: &mut suoja_store::Conn, scope: &Scope, row: &mut OrgRow, input: &OrgInput) -> Result<()> {
        let Some(given) = &input.organization_fields else {
            return Ok(());
        };
        let current = row
            .organization_fields
            .as_deref()
            .and_then(|f| serde_json::from_str(f).ok())
            .unwrap_or(serde_json::Value::Null);
        let merged = self
            .merge_keyed_values(c, scope.tenant, crate::fields::Owner::Organization, &current, given)
            .await?;
        row.organization_fields = Some(merged.to_string());
        Ok(())
    }

    /// Creates an organisation.
    pub async fn create_org(&self, scope: &Scope, input: OrgInput) -> Result<Organization> {
        require_staff(scope)?;
        if input.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
            return Err(HelpdeskError::Invalid {
                field: "name".into(),
                message: "Name: cannot be blank".into(),
                code: "BlankValue",
            });
        }
        let now = self.now();
        let mut row = OrgRow {
            id: OrganizationId(0),
            name: String::new(),
            details: None,
            notes: None,
            domain_names: "[]".into(),
            tags: "[]".into(),
            external_id: None,
            group_id: None,
            shared_tickets: false,
            shared_comments: false,
            created_at: now,
            updated_at: now,
            organization_fields: None,
        };
        let mut tx = self.db.begin().await?;
        self.set_org_fields(&mut tx, scope, &mut row, &input).await?;
        apply(&mut row, input)?;
        row.id = suoja_store::organizations::insert(&mut tx, scope.tenant, &row).await.map_err(dup_name)?;
        index_org(&self.vault, &mut tx, scope.tenant, row.id, &row.name).await?;
        tx.commit().await?;
        Ok(row.into())
    }

    /// Reads an organisation.
    pub async fn get_org(&self, scope: &Scope, id: OrganizationId) -> Result<Organization> {
        require_staff(scope)?;
        let mut c = self.db.read().await?;
        Ok(suoja_store::organizations::by_id(&mut c, scope.tenant, id)
            .await?
            .ok_or(HelpdeskError::NotFound("Organization"))?
            .into())
    }

    /// Updates an organisation.
    pub async fn update_org(&self, scope: &Scope, id: OrganizationId, input: OrgInput) -> Result<Organization> {
        require_staff(scope)?;
        if input.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err(HelpdeskError::Invalid {
                field: "name".into(),
                message: "Name: cannot be blank".into(),
                code: "BlankValue",
            });
        }
        let mut tx = self.db.begin().await?;
        let mut row = suoja_store::organizations::by_id_for_update(&mut tx, scope.tenant, id)
            .await?
            .ok_or(HelpdeskError::NotFound("Organization"))?;
        self.set_org_fields(&mut tx, scope, &mut row, &input).await?;
        apply(&mut row, input)?;
        row.updated_at = self.now();
        suoja_store::organizations::update(&mut tx, scope.tenant, &row).await.map_err(dup_name)?;
        index_org(&self.vault, &mut tx, scope.tenant, row.id, &row.name).await?;
        tx.commit().await?;
        Ok(row.into())
    }

    /// Deletes an organisation.
    pub async fn delete_org(&self, scope: &Scope, id: OrganizationId) -> Result<()> {
        if !scope.is_admin() {
            return Err(HelpdeskError::Forbidden("only admins can delete organizations"));
        }
        let mut tx = self.db.begin().await?;
        // Members keep their accounts and tickets stay, both without the organisation.
        suoja_store::users::clear_organization(&mut tx, scope.tenant, id).await?;
        suoja_store::tickets::clear_organization(&mut tx, scope.tenant, id).await?;
        if !suoja_store::organizations::delete(&mut tx, scope.tenant, id).await? {
            return Err(HelpdeskError::NotFound("Organization"));
        }
        index::remove(&mut tx, scope.tenant, DocKind::Organization, id.0).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Lists organisations.
    pub async fn list_orgs(&self, scope: &Scope, after: Option<i64>, limit: i64, offset: i64) -> Result<(Vec<Organization>, i64)> {
        require_staff(scope)?;
        let mut c = self.db.read().await?;
        let rows = suoja_store::organizations::list(&mut c, scope.tenant, after, limit, offset).await?;
        let count = suoja_store::organizations::count(&mut c, scope.tenant).await?;
        Ok((rows.into_iter().map(Organization::from).collect(), count))
    }

    /// Organisation memberships (Zendesk's `organization_memberships`): people who belong to
    /// an organisation — of `org`, or the one `user` belongs to — by id after a cursor, at most
    /// `limit`. A person belongs to one organisation here, so a membership is named by the
    /// person's id. Staff see all; an end user only their own.
    pub async fn org_memberships(
        &self,
        scope: &Scope,
        user: Option<UserId>,
        org: Option<OrganizationId>,
        after: Option<i64>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<User>, i64)> {
        if !scope.is_staff() && user != Some(scope.actor) {
            return Err(HelpdeskError::Forbidden("end users see only their own organization memberships"));
        }
        if let Some(u) = user {
            let person = self.get_user(scope, u).await?;
            let member = person.organization_id.is_some_and(|o| org.is_none_or(|want| want == o));
            let count = i64::from(member);
            let shown = member && after.is_none_or(|a| u.0 > a) && offset == 0 && limit > 0;
            return Ok((if shown { vec![person] } else { Vec::new() }, count));
        }
        if let Some(o) = org {
            self.get_org(scope, o).await?;
        }
        let mut c = self.db.read().await?;
        let f = suoja_store::users::UserFilter {
            organization: org,
            in_an_organization: true,
            after,
            ..Default::default()
        };
        let rows = suoja_store::users::list(&mut c, scope.tenant, &f, limit, offset).await?;
        let count = suoja_store::users::count(&mut c, scope.tenant, &f).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.open_user(&mut c, scope.tenant, r).await?);
        }
        self.consulted(scope, &out.iter().map(|u| u.id).collect::<Vec<_>>(), "user.viewed", "support");
        Ok((out, count))
    }

    /// Puts a person in an organisation (Zendesk's `POST /organization_memberships`): as a
    /// change of the person, under the same rules. A person belongs to one organisation here:
    /// one already in another is refused (remove that membership first).
    pub async fn add_org_membership(&self, scope: &Scope, user: UserId, org: OrganizationId) -> Result<User> {
        require_staff(scope)?;
        self.get_org(scope, org).await?;
        let person = self.get_user(scope, user).await?;
        match person.organization_id {
            Some(o) if o == org => Ok(person),
            Some(_) => Err(HelpdeskError::Invalid {
                field: "user_id".into(),
                message: "user_id: the user belongs to another organization; remove that membership first".into(),
                code: "InvalidValue",
            }),
            None => {
                let input = crate::model::UserInput {
                    organization_id: Some(Some(org)),
                    ..Default::default()
                };
                self.update_user(scope, user, input).await
            }
        }
    }

    /// Takes a person out of their organisation (`DELETE /organization_memberships/{id}`, the
    /// id being the person's).
    pub async fn remove_org_membership(&self, scope: &Scope, user: UserId) -> Result<()> {
        require_staff(scope)?;
        let person = self.get_user(scope, user).await?;
        if person.organization_id.is_none() {
            return Err(HelpdeskError::NotFound("OrganizationMembership"));
        }
        let input = crate::model::UserInput {
            organization_id: Some(None),
            ..Default::default()
        };
        self.update_user(scope, user, input).await?;
        Ok(())
    }

    /// Organisations changed since `since`, for the incremental export (admins only).
    pub async fn orgs_changed_since(
        &self,
        scope: &Scope,
        since: Timestamp,
        until: Option<Timestamp>,
        after: Option<(i64, i64)>,
        limit: i64,
    ) -> Result<Vec<Organization>> {
        if !scope.is_admin() {
            return Err(HelpdeskError::Forbidden("only admins can export incrementally"));
        }
        let mut c = self.db.read().await?;
        let rows = suoja_store::organizations::changed_since(&mut c, scope.tenant, since, until, after, limit).await?;
        Ok(rows.into_iter().map(Organization::from).collect())
    }

    /// Finds organisations by exact name or external id.
    pub async fn find_orgs(&self, scope: &Scope, name: Option<&str>, external_id: Option<&str>) -> Result<Vec<Organization>> {
        require_staff(scope)?;
        let mut c = self.db.read().await?;
        Ok(suoja_store::organizations::search(&mut c, scope.tenant, name, external_id)
            .await?
            .into_iter()
            .map(Organization::from)
            .collect())
    }
}
