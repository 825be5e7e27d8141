//! Users: create, read, update, soft-delete, list, search, and the e-mail lookup that finds a
//! person by the blind index. A user's personal fields are sealed under the user's own key.

use suoja_core::{Email, Personal, Role, Scope, TenantId, Timestamp, UserId};
use suoja_search::index::{self, DocKind};
use suoja_store::users::{UserFilter, UserRow};
use suoja_store::{Conn, StoreError};

use crate::model::{User, UserInput};
use crate::search::index_doc;
use crate::{Helpdesk, HelpdeskError, Result, crypt, require_staff};

/// A page of users.
#[derive(Debug, Clone)]
pub struct UserPage {
    /// The users.
    pub users: Vec<User>,
    /// Total matching (offset pagination).
    pub count: i64,
    /// More after this page.
    pub has_more: bool,
}

/// How to page a list: by offset or after a cursor id.
#[derive(Debug, Clone, Copy)]
pub enum Paging {
    /// `page` (1-based) of `per_page`.
    Offset {
        /// Page number.
        page: i64,
        /// Page size.
        per_page: i64,
    },
    /// Ids after (or before) a cursor.
    Cursor {
        /// Only ids greater than this.
        after: Option<i64>,
        /// Only ids smaller than this.
        before: Option<i64>,
        /// Page size.
        size: i64,
    },
}

impl Paging {
    pub(crate) fn limit_offset(&self) -> (i64, i64) {
        match *self {
            Paging::Offset { page, per_page } => (per_page + 1, (page - 1) * per_page),
            Paging::Cursor { size, .. } => (size + 1, 0),
        }
    }
    pub(crate) fn size(&self) -> i64 {
        match *self {
            Paging::Offset { per_page, .. } => per_page,
            Paging::Cursor { size, .. } => size,
        }
    }
}

pub(crate) fn user_search_text(u: &User) -> String {
    let mut s = u.name.expose().clone();
    for extra in [&u.email, &u.phone, &u.external_id].into_iter().flatten() {
        s.push(' ');
        s.push_str(extra.expose());
    }
    s
}

impl Helpdesk {
    /// Opens a stored user.
    pub(crate) async fn open_user(&self, c: &mut Conn, tenant: TenantId, r: &UserRow) -> Result<User> {
        let v = &self.vault;
        let tags: Vec<String> = match &r.tags_enc {
            Some(t) => crypt::open_json(v, c, tenant, t).await?,
            None => Vec::new(),
        };
        Ok(User {
            id: r.id,
            role: r.role,
            email: crypt::open_opt(v, c, tenant, r.email_enc.as_deref()).await?,
            name: crypt::open(v, c, tenant, &r.name_enc).await?,
            phone: crypt::open_opt(v, c, tenant, r.phone_enc.as_deref()).await?,
            details: crypt::open_opt(v, c, tenant, r.details_enc.as_deref()).await?,
            notes: crypt::open_opt(v, c, tenant, r.notes_enc.as_deref()).await?,
            tags,
            external_id: crypt::open_opt(v, c, tenant, r.external_id_enc.as_deref()).await?,
            user_fields: Personal::new(
                crypt::open_json_opt(v, c, tenant, r.user_fields_enc.as_deref())
                    .await?
                    .unwrap_or_else(|| serde_json::json!({})),
            ),
            organization_id: r.organization_id,
            locale: r.locale.clone(),
            time_zone: r.time_zone.clone(),
            verified: r.verified,
            active: r.active,
            suspended: r.suspended,
            privacy_officer: r.privacy_officer,
            restricted: r.restricted,
            created_at: r.created_at,
            updated_at: r.updated_at,
            last_login_at: r.last_login_at,
            deleted_at: r.deleted_at,
        })
    }

    /// Writes `input` onto `row` (sealing under the user's key) and returns the new search text.
    async fn apply_user_input(&self, c: &mut Conn, tenant: TenantId, row: &mut UserRow, input: &UserInput) -> Result<()> {
        let v = &self.vault;
        let k = row.key_id;
        if let Some(name) = &input.name {
            row.name_enc = crypt::seal(v, c, tenant, k, name).await?;
        }
        if let Some(email) = &input.email {
            match email {
                Some(e) => {
                    row.email_hash = Some(v.blind_index(c, tenant, &e.normalized()).await?);
                    row.email_enc = Some(crypt::seal(v, c, tenant, k, e.as_personal()).await?);
                }
                None => {
                    row.email_hash = None;
                    row.email_enc = None;
                }
            }
        }
        if let Some(role) = input.role {
            row.role = role;
        }
        if let Some(p) = &input.phone {
            row.phone_enc = crypt::seal_opt(v, c, tenant, k, p.as_ref()).await?;
        }
        if let Some(d) = &input.details {
            row.details_enc = crypt::seal_opt(v, c, tenant, k, d.as_ref()).await?;
        }
        if let Some(n) = &input.notes {
            row.notes_enc = crypt::seal_opt(v, c, tenant, k, n.as_ref()).await?;
        }
        if let Some(t) = &input.tags {
            row.tags_enc = Some(crypt::seal_json(v, c, tenant, k, &normalize_tags(t)).await?);
        }
        if let Some(x) = &input.external_id {
            row.external_id_enc = crypt::seal_opt(v, c, tenant, k, x.as_ref()).await?;
        }
        if let Some(f) = &input.user_fields {
            // Checked against the tenant's user fields and laid over the values held.
            let current: serde_json::Value = crypt::open_json_opt(v, c, tenant, row.user_fields_enc.as_deref())
                .await?
                .unwrap_or(serde_json::Value::Null);
            let merged = self.merge_keyed_values(c, tenant, crate::fields::Owner::User, &current, f.expose()).await?;
            row.user_fields_enc = Some(crypt::seal_json(v, c, tenant, k, &merged).await?);
        }
        if let Some(o) = input.organization_id {
            if let Some(org) = o {
                self.require_org(c, tenant, org).await?;
            }
            row.organization_id = o;
        }
        if let Some(l) = &input.locale {
            row.locale = l.clone();
        }
        if let Some(z) = &input.time_zone {
            row.time_zone = z.clone();
        }
        if let Some(b) = input.verified {
            row.verified = b;
        }
        if let Some(b) = input.suspended {
            row.suspended = b;
        }
        if let Some(b) = input.privacy_officer {
            row.privacy_officer = b;
        }
        if let Some(p) = &input.password {
            // The tenant's password rules; the address they are checked against is the new one
            // when it changes, else the one on record.
            let email = match &input.email {
                Some(Some(e)) => Some(e.normalized()),
                _ => match &row.email_enc {
                    Some(sealed) => Some(crypt::open(v, c, tenant, sealed).await?.expose().clone()),
                    None => None,
                },
            };
            let existing = (row.id.0 > 0).then(|| row.clone());
            self.check_new_password(c, tenant, existing.as_ref(), email.as_deref(), p.expose()).await?;
            row.password_hash = Some(crate::auth::hash_password(p.expose())?);
        }
        Ok(())
    }

    /// Inserts a user inside a transaction the caller owns; used by user creation, ticket
    /// creation for an unknown requester, and the bootstrap.
    pub(crate) async fn insert_user(&self, c: &mut Conn, tenant: TenantId, input: &UserInput, now: Timestamp) -> Result<User> {
        let name = input.name.clone().ok_or_else(|| HelpdeskError::Invalid {
            field: "name".into(),
            message: "Name: cannot be blank".into(),
            code: "BlankValue",
        })?;
        let key = self.vault.create_subject_key(c, tenant, "user", now).await?;
        let mut row = UserRow {
            id: UserId(0),
            role: input.role.unwrap_or(Role::EndUser),
            key_id: key,
            email_hash: None,
            email_enc: None,
            name_enc: Vec::new(),
            phone_enc: None,
            details_enc: None,
            notes_enc: None,
            tags_enc: None,
            external_id_enc: None,
            user_fields_enc: None,
            organization_id: None,
            locale: "en-US".into(),
            time_zone: "UTC".into(),
            verified: false,
            active: true,
            suspended: false,
            password_hash: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            last_login_at: None,
            restricted: false,
            privacy_officer: false,
        };
        let mut full = input.clone();
        full.name = Some(name);
        self.apply_user_input(c, tenant, &mut row, &full).await?;
        let id = suoja_store::users::insert(c, tenant, &row).await.map_err(dup_email)?;
        row.id = id;
        let user = self.open_user(c, tenant, &row).await?;
        crate::search::index_new_doc(
            &self.vault,
            c,
            tenant,
            DocKind::User,
            id.0,
            &crate::search::DocText::public(&user_search_text(&user)),
        )
        .await?;
        Ok(user)
    }

    /// Creates a user. Agents create end users; only admins create agents and admins.
    pub async fn create_user(&self, scope: &Scope, input: UserInput) -> Result<User> {
        require_staff(scope)?;
        if input.role.is_some_and(Role::is_staff) && !scope.is_admin() {
            return Err(HelpdeskError::Forbidden("only admins can create agents and admins"));
        }
        if input.privacy_officer == Some(true) && !scope.is_admin() {
            return Err(HelpdeskError::Forbidden("only admins can change roles and the privacy officer flag"));
        }
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let user = self.insert_user(&mut tx, scope.tenant, &input, now).await?;
        tx.commit().await?;
        tracing::info!(tenant.id = %scope.tenant, user.id = %user.id, actor.id = %scope.actor, "user created");
        Ok(user)
    }

    /// Reads a user. End users may read only themselves.
    pub async fn get_user(&self, scope: &Scope, id: UserId) -> Result<User> {
        if !scope.is_staff() && id != scope.actor {
            return Err(HelpdeskError::NotFound("User"));
        }
        let mut c = self.db.read().await?;
        let row = suoja_store::users::by_id(&mut c, scope.tenant, id)
            .await?
            .filter(|r| !r.restricted || r.id == scope.actor)
            .ok_or(HelpdeskError::NotFound("User"))?;
        self.consulted(scope, &[row.id], "user.viewed", "support");
        self.open_user(&mut c, scope.tenant, &row).await
    }

    /// Reads several users (unknown ids are skipped).
    pub async fn get_users(&self, scope: &Scope, ids: &[UserId]) -> Result<Vec<User>> {
        let mut c = self.db.read().await?;
        let rows = suoja_store::users::by_ids(&mut c, scope.tenant, ids).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            if (scope.is_staff() && !r.restricted) || r.id == scope.actor {
                out.push(self.open_user(&mut c, scope.tenant, &r).await?);
            }
        }
        out.sort_by_key(|u| u.id);
        self.consulted(scope, &out.iter().map(|u| u.id).collect::<Vec<_>>(), "user.viewed", "support");
        Ok(out)
    }

    /// Updates a user. End users may change only their own name, phone, locale, time zone and
    /// password; role changes need an admin.
    pub async fn update_user(&self, scope: &Scope, id: UserId, input: UserInput) -> Result<User> {
        self.change_user(scope, id, input, false).await
    }

    /// Applies a verified rectification request (GDPR Art. 16) to a person's profile: as
    /// [`Self::update_user`] by an admin, and also while the person is restricted (a correction
    /// is often why processing was restricted). Only the privacy engine calls this.
    pub async fn rectify_user(&self, scope: &Scope, id: UserId, input: UserInput) -> Result<User> {
        self.change_user(scope, id, input, true).await
    }

    async fn change_user(&self, scope: &Scope, id: UserId, input: UserInput, rectification: bool) -> Result<User> {
        let own = id == scope.actor;
        if !scope.is_staff() {
            if !own {
                return Err(HelpdeskError::NotFound("User"));
            }
            if input.role.is_some()
                || input.email.is_some()
                || input.notes.is_some()
                || input.tags.is_some()
                || input.organization_id.is_some()
                || input.verified.is_some()
                || input.suspended.is_some()
                || input.user_fields.is_some()
                || input.external_id.is_some()
            {
                return Err(HelpdeskError::Forbidden(
                    "end users can change only their name, phone, locale, time zone and password",
                ));
            }
        }
        if (input.role.is_some() || input.privacy_officer.is_some()) && !scope.is_admin() {
            return Err(HelpdeskError::Forbidden("only admins can change roles and the privacy officer flag"));
        }
        // Setting someone else's password or sign-in address is taking over their account:
        // admins only, in the ledger, and the person is told.
        let sets_credentials = input.password.is_some() || input.email.is_some();
        if sets_credentials && !own && !scope.is_admin() {
            return Err(HelpdeskError::Forbidden("only admins can set another person's password or sign-in e-mail"));
        }
        if own && scope.is_staff() && (input.role.is_some_and(|r| r != scope.role) || input.suspended == Some(true)) {
            return Err(HelpdeskError::Conflict(
                "you cannot change your own role or suspend yourself; ask another admin".into(),
            ));
        }
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let mut row = suoja_store::users::by_id_for_update(&mut tx, scope.tenant, id)
            .await?
            .ok_or(HelpdeskError::NotFound("User"))?;
        // A restricted person (GDPR Art. 18) is out of staff's reach, for writes as for reads.
        if row.deleted_at.is_some() || (row.restricted && !own && !rectification) {
            return Err(HelpdeskError::NotFound("User"));
        }
        if row.role.is_staff() && !scope.is_admin() && !own {
            return Err(HelpdeskError::Forbidden("only admins can change agents and admins"));
        }
        if row.role == Role::Admin && input.role.is_some_and(|r| r != Role::Admin) && suoja_store::users::count_admins(&mut tx, scope.tenant).await? <= 1 {
            return Err(HelpdeskError::Conflict("the last admin cannot be demoted".into()));
        }
        let before = row.clone();
        let was_staff = row.role.is_staff();
        self.apply_user_input(&mut tx, scope.tenant, &mut row, &input).await?;
        row.updated_at = now;
        suoja_store::users::update(&mut tx, scope.tenant, &row).await.map_err(dup_email)?;
        let user = self.open_user(&mut tx, scope.tenant, &row).await?;
        index_doc(
            &self.vault,
            &mut tx,
            scope.tenant,
            DocKind::User,
            id.0,
            &crate::search::DocText::public(&user_search_text(&user)),
        )
        .await?;
        if before.role.is_staff() && !row.role.is_staff() {
            // An end user works in no group.
            suoja_store::groups::remove_user_memberships(&mut tx, scope.tenant, id).await?;
        }
        if input.password.is_some() || (row.suspended && !before.suspended) {
            // A new password or a suspension ends the person's sessions and OAuth tokens everywhere.
            self.end_sessions(&mut tx, scope.tenant, id).await?;
        }
        if sets_credentials && !own {
            self.credentials_set_by_someone_else(&mut tx, scope, &row, input.password.is_some(), input.email.is_some(), now)
                .await?;
        } else if own && input.password.is_some() {
            suoja_store::web::clear_credentials_reset(&mut tx, scope.tenant, id).await?;
        }
        let fields = rectified_fields(&before, &row);
        if !fields.is_empty() {
            // Rectification (GDPR Art. 16): the ledger names the fields, never the values; export
            // packages built from the old values are dropped; recipients are told.
            self.record_ledger(
                &mut tx,
                scope.tenant,
                suoja_core::LedgerKind::UserRectified,
                Some(id.0),
                Some(scope.actor.0),
                serde_json::json!({ "fields": fields }),
            )
            .await?;
            suoja_store::exports::delete_for_subject(&mut tx, scope.tenant, id.0).await?;
            self.notify_recipients(&mut tx, scope.tenant, id, "subject.rectified", &fields, now).await?;
        }
        tx.commit().await?;
        // Whether their comments are staff replies changes every SLA clock they wrote on:
        // measured again once the new role can be read.
        if row.role.is_staff() != was_staff {
            self.remeasure_later(scope.tenant);
        }
        tracing::info!(tenant.id = %scope.tenant, user.id = %id, actor.id = %scope.actor, "user updated");
        Ok(user)
    }

    /// Records that `scope` set `user`'s password and/or sign-in e-mail: a ledger entry (field
    /// names only), a mark that makes the person's own session no proof of identity for a
    /// privacy request until they set their own password, and a message to the person.
    async fn credentials_set_by_someone_else(
        &self,
        c: &mut Conn,
        scope: &Scope,
        user: &suoja_store::users::UserRow,
        password: bool,
        email: bool,
        now: suoja_core::Timestamp,
    ) -> Result<()> {
        let mut fields = Vec::new();
        if password {
            fields.push("password");
        }
        if email {
            fields.push("email");
        }
        self.record_ledger(
            c,
            scope.tenant,
            suoja_core::LedgerKind::UserCredentialsSet,
            Some(user.id.0),
            Some(scope.actor.0),
            serde_json::json!({ "fields": fields }),
        )
        .await?;
        suoja_store::web::mark_credentials_reset(c, scope.tenant, user.id, scope.actor, now).await?;
        let what = match (password, email) {
            (true, true) => "your password and your sign-in e-mail address",
            (true, false) => "your password",
            _ => "your sign-in e-mail address",
        };
        let body = format!(
            "An administrator changed {what} on {}. If you did not ask for this, contact the helpdesk at once; until you set a password of your own, requests about your personal data need a further check of your identity.",
            now.to_iso()
        );
        let sealed = self.vault.encrypt_str(c, scope.tenant, user.key_id, &body).await?;
        suoja_store::outbox::insert(c, scope.tenant, user.id.0, "credentials_changed", sealed, now).await?;
        tracing::info!(tenant.id = %scope.tenant, user.id = %user.id, actor.id = %scope.actor, "credentials set by an admin");
        Ok(())
    }

    /// Soft-deletes a user (Zendesk's `DELETE /users/{id}`): the account is deactivated, its
    /// tokens revoked, and it appears in the deleted users list until erased.
    pub async fn delete_user(&self, scope: &Scope, id: UserId) -> Result<User> {
        require_staff(scope)?;
        if id == scope.actor {
            return Err(HelpdeskError::Conflict("you cannot delete yourself; ask another admin".into()));
        }
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let mut row = suoja_store::users::by_id_for_update(&mut tx, scope.tenant, id)
            .await?
            .ok_or(HelpdeskError::NotFound("User"))?;
        if row.deleted_at.is_some() || row.restricted {
            return Err(HelpdeskError::NotFound("User"));
        }
        if row.role.is_staff() && !scope.is_admin() {
            return Err(HelpdeskError::Forbidden("only admins can delete agents and admins"));
        }
        if row.role == Role::Admin && suoja_store::users::count_admins(&mut tx, scope.tenant).await? <= 1 {
            return Err(HelpdeskError::Conflict("the last admin cannot be deleted".into()));
        }
        row.active = false;
        row.deleted_at = Some(now);
        row.updated_at = now;
        suoja_store::users::update(&mut tx, scope.tenant, &row).await?;
        // A deleted person works in no group.
        suoja_store::groups::remove_user_memberships(&mut tx, scope.tenant, id).await?;
        suoja_store::tokens::delete_for_user(&mut tx, scope.tenant, id).await?;
        index::remove(&mut tx, scope.tenant, DocKind::User, id.0).await?;
        let user = self.open_user(&mut tx, scope.tenant, &row).await?;
        tx.commit().await?;
        tracing::info!(tenant.id = %scope.tenant, user.id = %id, actor.id = %scope.actor, "user soft-deleted");
        Ok(user)
    }

    /// How many users (staff only): the deleted ones with `deleted` (`/deleted_users/count`).
    pub async fn count_users(&self, scope: &Scope, deleted: bool) -> Result<i64> {
        require_staff(scope)?;
        let mut c = self.db.read().await?;
        Ok(suoja_store::users::count(&mut c, scope.tenant, &UserFilter { deleted, ..Default::default() }).await?)
    }

    /// Lists users (staff only).
    pub async fn list_users(&self, scope: &Scope, roles: Vec<Role>, deleted: bool, paging: Paging) -> Result<UserPage> {
        require_staff(scope)?;
        let mut filter = UserFilter {
            roles,
            deleted,
            ..Default::default()
        };
        if let Paging::Cursor { after, before, .. } = paging {
            filter.after = after;
            filter.before = before;
        }
        let (limit, offset) = paging.limit_offset();
        let mut c = self.db.read().await?;
        let mut rows = suoja_store::users::list(&mut c, scope.tenant, &filter, limit, offset).await?;
        let has_more = suoja_core::num::to_i64(rows.len()) > paging.size();
        if has_more {
            if filter.before.is_some() {
                rows.remove(0);
            } else {
                rows.truncate(suoja_core::num::to_usize(paging.size()));
            }
        }
        let count = match paging {
            Paging::Offset { .. } => {
                suoja_store::users::count(
                    &mut c,
                    scope.tenant,
                    &UserFilter {
                        after: None,
                        before: None,
                        ..filter
                    },
                )
                .await?
            }
            Paging::Cursor { .. } => 0,
        };
        self.consulted(scope, &rows.iter().map(|r| r.id).collect::<Vec<_>>(), "user.listed", "support");
        let mut users = Vec::with_capacity(rows.len());
        for r in &rows {
            users.push(self.open_user(&mut c, scope.tenant, r).await?);
        }
        Ok(UserPage { users, count, has_more })
    }

    /// Finds a live user by e-mail through the blind index.
    pub async fn user_by_email(&self, c: &mut Conn, tenant: TenantId, email: &Email) -> Result<Option<UserRow>> {
        let hash = self.vault.blind_index(c, tenant, &email.normalized()).await?;
        Ok(suoja_store::users::by_email_hash(c, tenant, &hash).await?)
    }

    /// Users changed since `since`, for the incremental export (admins only).
    pub async fn users_changed_since(
        &self,
        scope: &Scope,
        since: Timestamp,
        until: Option<Timestamp>,
        after: Option<(i64, i64)>,
        limit: i64,
    ) -> Result<Vec<User>> {
        if !scope.is_admin() {
            return Err(HelpdeskError::Forbidden("only admins can export incrementally"));
        }
        let mut c = self.db.read().await?;
        let rows = suoja_store::users::changed_since(&mut c, scope.tenant, since, until, after, limit).await?;
        self.consulted(scope, &rows.iter().map(|r| r.id).collect::<Vec<_>>(), "user.exported", "integration export");
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.open_user(&mut c, scope.tenant, r).await?);
        }
        Ok(out)
    }
}

/// Tags as they are stored: split at whitespace, lower case, at most 80 characters each, sorted,
/// each once.
pub fn normalize_tags(tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = tags
        .iter()
        .flat_map(|t| t.split_whitespace())
        .map(|t| t.trim_matches(',').to_lowercase())
        .filter(|t| !t.is_empty())
        .map(|t| t.chars().take(80).collect())
        .collect();
    out.sort();
    out.dedup();
    out
}

pub(crate) fn dup_email(e: StoreError) -> HelpdeskError {
    match e {
        StoreError::Duplicate(_) => HelpdeskError::duplicate("email", "Email: is already being used by another user"),
        other => other.into(),
    }
}

/// The personal fields whose stored value changed (ciphertexts are re-sealed only when set, so a
/// changed ciphertext means the field was written; equal plaintexts re-sealed count as written).
fn rectified_fields(before: &UserRow, after: &UserRow) -> Vec<&'static str> {
    type Pair<'a> = (&'static str, Option<&'a [u8]>, Option<&'a [u8]>);
    let pairs: [Pair<'_>; 8] = [
        ("name", Some(before.name_enc.as_slice()), Some(after.name_enc.as_slice())),
        ("email", before.email_enc.as_deref(), after.email_enc.as_deref()),
        ("phone", before.phone_enc.as_deref(), after.phone_enc.as_deref()),
        ("details", before.details_enc.as_deref(), after.details_enc.as_deref()),
        ("notes", before.notes_enc.as_deref(), after.notes_enc.as_deref()),
        ("tags", before.tags_enc.as_deref(), after.tags_enc.as_deref()),
        ("external_id", before.external_id_enc.as_deref(), after.external_id_enc.as_deref()),
        ("user_fields", before.user_fields_enc.as_deref(), after.user_fields_enc.as_deref()),
    ];
    pairs.into_iter().filter(|(_, a, b)| a != b).map(|(f, _, _)| f).collect()
}
