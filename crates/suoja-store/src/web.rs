//! Web sign-in state: browser sessions (and pending second-factor steps and one-time sign-in
//! links, which share the table), TOTP secrets, one-time form ids, and counts of failed password
//! sign-ins, single-use recovery codes, and the browsers a person signed in from. Tokens, codes
//! and browser ids are stored as SHA-256 hashes only; secrets arrive sealed.

use crate::Conn;
use suoja_core::{TenantId, Timestamp, UserId};

use crate::Result;
use crate::row::{bytes, i64_, opt_i64, text};

/// A session-table row found by its token hash.
#[derive(Debug, Clone)]
pub struct SessionRow {
    /// Row id.
    pub id: i64,
    /// Tenant.
    pub tenant_id: TenantId,
    /// The person.
    pub user_id: UserId,
    /// `session`, `second_factor`, `enrol` or `link`.
    pub kind: String,
    /// Created.
    pub created_at: Timestamp,
    /// Last request seen (sessions).
    pub last_seen_at: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
}

/// Stores a session-table row.
pub async fn insert_session(c: &mut Conn, tenant: TenantId, user: UserId, kind: &str, hash: &[u8], now: Timestamp, expires: Timestamp) -> Result<()> {
    sqlx::query("INSERT INTO web_sessions (tenant_id, user_id, kind, token_hash, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $5, $6)")
        .bind(tenant.0)
        .bind(user.0)
        .bind(kind)
        .bind(hash.to_vec())
        .bind(now.0)
        .bind(expires.0)
        .execute(c)
        .await?;
    Ok(())
}

/// Finds a live row by token hash (tokens are looked up before the tenant is known).
pub async fn session_by_hash(c: &mut Conn, hash: &[u8], now: Timestamp) -> Result<Option<SessionRow>> {
    let row =
        sqlx::query("SELECT id, tenant_id, user_id, kind, created_at, last_seen_at, expires_at FROM web_sessions WHERE token_hash = $1 AND expires_at > $2")
            .bind(hash.to_vec())
            .bind(now.0)
            .fetch_optional(c)
            .await?;
    row.map(|r| {
        Ok(SessionRow {
            id: i64_(&r, "id")?,
            tenant_id: TenantId(i64_(&r, "tenant_id")?),
            user_id: UserId(i64_(&r, "user_id")?),
            kind: text(&r, "kind")?,
            created_at: Timestamp(i64_(&r, "created_at")?),
            last_seen_at: Timestamp(i64_(&r, "last_seen_at")?),
            expires_at: Timestamp(i64_(&r, "expires_at")?),
        })
    })
    .transpose()
}

/// Moves a session's idle clock.
pub async fn touch_session(c: &mut Conn, tenant: TenantId, id: i64, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE web_sessions SET last_seen_at = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .bind(now.0)
        .execute(c)
        .await?;
    Ok(())
}

/// Deletes one row by id; returns whether it was there (a link or step is used once).
pub async fn delete_session(c: &mut Conn, tenant: TenantId, id: i64) -> Result<bool> {
    Ok(sqlx::query("DELETE FROM web_sessions WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(c)
        .await?
        .rows_affected()
        == 1)
}

/// Deletes every row of a person (sign-out everywhere, password change, suspension).
pub async fn delete_sessions_of(c: &mut Conn, tenant: TenantId, user: UserId) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM web_sessions WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant.0)
        .bind(user.0)
        .execute(c)
        .await?
        .rows_affected())
}

/// How many sign-in links a person was sent since `since` (the daily limit).
pub async fn links_since(c: &mut Conn, tenant: TenantId, user: UserId, since: Timestamp) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM web_sessions WHERE tenant_id = $1 AND user_id = $2 AND kind = 'link' AND created_at >= $3")
            .bind(tenant.0)
            .bind(user.0)
            .bind(since.0)
            .fetch_one(c)
            .await?,
    )
}

/// Deletes expired rows and form ids older than `forms_before` (every tenant); returns how many.
pub async fn purge_expired(c: &mut Conn, now: Timestamp, forms_before: Timestamp) -> Result<u64> {
    let a = sqlx::query("DELETE FROM web_sessions WHERE expires_at <= $1")
        .bind(now.0)
        .execute(&mut *c)
        .await?
        .rows_affected();
    let b = sqlx::query("DELETE FROM web_submissions WHERE created_at < $1")
        .bind(forms_before.0)
        .execute(&mut *c)
        .await?
        .rows_affected();
    // Failure counts as old as form ids are forgotten, unless they still block.
    let f = sqlx::query("DELETE FROM sign_in_failures WHERE updated_at < $1 AND (blocked_until IS NULL OR blocked_until <= $2)")
        .bind(forms_before.0)
        .bind(now.0)
        .execute(&mut *c)
        .await?
        .rows_affected();
    // A browser not used for half a year is forgotten (its next sign-in is a new device's).
    let d = sqlx::query("DELETE FROM known_devices WHERE last_seen_at < $1")
        .bind(now.0 - DEVICE_KEPT_MS)
        .execute(c)
        .await?
        .rows_affected();
    Ok(a + b + f + d)
}

/// Counts a failed password sign-in of an existing account; when the count reaches `limit`,
/// passwords are refused until `block_until` and counting starts again. Returns whether this
/// failure blocked the account.
pub async fn record_sign_in_failure(c: &mut Conn, tenant: TenantId, user: UserId, now: Timestamp, limit: i64, block_until: Timestamp) -> Result<bool> {
    let failures: i64 = sqlx::query_scalar(
        "INSERT INTO sign_in_failures (tenant_id, user_id, failures, blocked_until, updated_at) VALUES ($1, $2, 1, NULL, $3) \
         ON CONFLICT (tenant_id, user_id) DO UPDATE SET failures = sign_in_failures.failures + 1, updated_at = $3 RETURNING failures",
    )
    .bind(tenant.0)
    .bind(user.0)
    .bind(now.0)
    .fetch_one(&mut *c)
    .await?;
    if failures < limit {
        return Ok(false);
    }
    sqlx::query("UPDATE sign_in_failures SET failures = 0, blocked_until = $3, updated_at = $4 WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant.0)
        .bind(user.0)
        .bind(block_until.0)
        .bind(now.0)
        .execute(c)
        .await?;
    Ok(true)
}

/// An account's failed password sign-ins: how many since the last success or block, and until
/// when passwords are refused (possibly past). `None` when there were none.
pub async fn sign_in_failures(c: &mut Conn, tenant: TenantId, user: UserId) -> Result<Option<(i64, Option<Timestamp>)>> {
    let row: Option<(i64, Option<i64>)> = sqlx::query_as("SELECT failures, blocked_until FROM sign_in_failures WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant.0)
        .bind(user.0)
        .fetch_optional(c)
        .await?;
    Ok(row.map(|(n, until)| (n, until.map(Timestamp))))
}

/// Forgets an account's failed sign-ins (after one that succeeded).
pub async fn clear_sign_in_failures(c: &mut Conn, tenant: TenantId, user: UserId) -> Result<()> {
    sqlx::query("DELETE FROM sign_in_failures WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant.0)
        .bind(user.0)
        .execute(c)
        .await?;
    Ok(())
}

/// A person's second factor.
#[derive(Debug, Clone)]
pub struct SecondFactorRow {
    /// Sealed TOTP secret.
    pub secret_enc: Vec<u8>,
    /// When the person proved they set it up (unconfirmed secrets do not count).
    pub confirmed_at: Option<Timestamp>,
    /// The last time step whose code was accepted.
    pub last_step: i64,
}

/// A person's second factor, if they have begun setting one up.
pub async fn second_factor(c: &mut Conn, tenant: TenantId, user: UserId) -> Result<Option<SecondFactorRow>> {
    let row = sqlx::query("SELECT secret_enc, confirmed_at, last_step FROM second_factors WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant.0)
        .bind(user.0)
        .fetch_optional(c)
        .await?;
    row.map(|r| {
        Ok(SecondFactorRow {
            secret_enc: bytes(&r, "secret_enc")?,
            confirmed_at: opt_i64(&r, "confirmed_at")?.map(Timestamp),
            last_step: i64_(&r, "last_step")?,
        })
    })
    .transpose()
}

/// Starts (or restarts) setting up a second factor: a new, unconfirmed secret.
pub async fn put_second_factor(c: &mut Conn, tenant: TenantId, user: UserId, secret_enc: &[u8], now: Timestamp) -> Result<()> {
    sqlx::query("DELETE FROM second_factors WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant.0)
        .bind(user.0)
        .execute(&mut *c)
        .await?;
    sqlx::query("INSERT INTO second_factors (tenant_id, user_id, secret_enc, confirmed_at, last_step, created_at) VALUES ($1, $2, $3, NULL, 0, $4)")
        .bind(tenant.0)
        .bind(user.0)
        .bind(secret_enc.to_vec())
        .bind(now.0)
        .execute(c)
        .await?;
    Ok(())
}

/// Records an accepted code's step (and confirms the factor). Returns false when a code of this
/// or a later step was already accepted: the same code does not work twice.
pub async fn accept_step(c: &mut Conn, tenant: TenantId, user: UserId, step: i64, now: Timestamp) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE second_factors SET last_step = $3, confirmed_at = COALESCE(confirmed_at, $4) WHERE tenant_id = $1 AND user_id = $2 AND last_step < $3",
    )
    .bind(tenant.0)
    .bind(user.0)
    .bind(step)
    .bind(now.0)
    .execute(c)
    .await?
    .rows_affected()
        == 1)
}

/// Removes a person's second factor.
pub async fn delete_second_factor(c: &mut Conn, tenant: TenantId, user: UserId) -> Result<bool> {
    Ok(sqlx::query("DELETE FROM second_factors WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant.0)
        .bind(user.0)
        .execute(c)
        .await?
        .rows_affected()
        == 1)
}

/// Claims a one-time form id: `Ok(None)` the first time (record `location` after the work),
/// `Ok(Some(location))` when it was already used — also when two submits race, since the
/// insert is the claim.
pub async fn claim_form(c: &mut Conn, tenant: TenantId, user: UserId, form_id: &str, location: &str, now: Timestamp) -> Result<Option<String>> {
    let claimed = sqlx::query(
        "INSERT INTO web_submissions (tenant_id, user_id, form_id, location, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (tenant_id, user_id, form_id) DO NOTHING",
    )
    .bind(tenant.0)
    .bind(user.0)
    .bind(form_id)
    .bind(location)
    .bind(now.0)
    .execute(&mut *c)
    .await?
    .rows_affected();
    if claimed == 1 {
        return Ok(None);
    }
    Ok(
        sqlx::query_scalar("SELECT location FROM web_submissions WHERE tenant_id = $1 AND user_id = $2 AND form_id = $3")
            .bind(tenant.0)
            .bind(user.0)
            .bind(form_id)
            .fetch_optional(c)
            .await?,
    )
}

/// Sets where a claimed form id leads.
pub async fn set_form_location(c: &mut Conn, tenant: TenantId, user: UserId, form_id: &str, location: &str) -> Result<()> {
    sqlx::query("UPDATE web_submissions SET location = $4 WHERE tenant_id = $1 AND user_id = $2 AND form_id = $3")
        .bind(tenant.0)
        .bind(user.0)
        .bind(form_id)
        .bind(location)
        .execute(c)
        .await?;
    Ok(())
}

/// Whether the tenant requires a second factor of agents and admins.
pub async fn staff_second_factor(c: &mut Conn, tenant: TenantId) -> Result<bool> {
    let v: Option<i64> = sqlx::query_scalar("SELECT staff_second_factor FROM tenants WHERE id = $1")
        .bind(tenant.0)
        .fetch_optional(c)
        .await?;
    Ok(v.unwrap_or(0) != 0)
}

/// Sets whether the tenant requires a second factor of agents and admins.
pub async fn set_staff_second_factor(c: &mut Conn, tenant: TenantId, on: bool) -> Result<()> {
    sqlx::query("UPDATE tenants SET staff_second_factor = $2 WHERE id = $1")
        .bind(tenant.0)
        .bind(i64::from(on))
        .execute(c)
        .await?;
    Ok(())
}

/// Forgets a claimed form id (its work failed and the form is shown again).
pub async fn release_form(c: &mut Conn, tenant: TenantId, user: UserId, form_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM web_submissions WHERE tenant_id = $1 AND user_id = $2 AND form_id = $3")
        .bind(tenant.0)
        .bind(user.0)
        .bind(form_id)
        .execute(c)
        .await?;
    Ok(())
}

/// Notes that `by` set `user`'s password or sign-in e-mail.
pub async fn mark_credentials_reset(c: &mut Conn, tenant: TenantId, user: UserId, by: UserId, at: Timestamp) -> Result<()> {
    sqlx::query(
        "INSERT INTO credential_resets (tenant_id, user_id, reset_by, reset_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (tenant_id, user_id) DO UPDATE SET reset_by = $3, reset_at = $4",
    )
    .bind(tenant.0)
    .bind(user.0)
    .bind(by.0)
    .bind(at.0)
    .execute(c)
    .await?;
    Ok(())
}

/// Forgets that someone else set `user`'s credentials (they set their own password since).
pub async fn clear_credentials_reset(c: &mut Conn, tenant: TenantId, user: UserId) -> Result<()> {
    sqlx::query("DELETE FROM credential_resets WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant.0)
        .bind(user.0)
        .execute(c)
        .await?;
    Ok(())
}

/// Whether someone else set `user`'s password or sign-in e-mail and they have not set their own
/// password since.
pub async fn credentials_reset(c: &mut Conn, tenant: TenantId, user: UserId) -> Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM credential_resets WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant.0)
        .bind(user.0)
        .fetch_one(c)
        .await?;
    Ok(n > 0)
}

/// How long a browser not used again is remembered.
pub const DEVICE_KEPT_MS: i64 = 180 * 86_400_000;

/// Replaces a person's recovery codes with these hashes.
pub async fn replace_recovery_codes(c: &mut Conn, tenant: TenantId, user: UserId, hashes: &[Vec<u8>], now: Timestamp) -> Result<()> {
    delete_recovery_codes(c, tenant, user).await?;
    for h in hashes {
        sqlx::query("INSERT INTO recovery_codes (tenant_id, user_id, code_hash, created_at, used_at) VALUES ($1, $2, $3, $4, NULL)")
            .bind(tenant.0)
            .bind(user.0)
            .bind(h.clone())
            .bind(now.0)
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

/// Deletes a person's recovery codes.
pub async fn delete_recovery_codes(c: &mut Conn, tenant: TenantId, user: UserId) -> Result<()> {
    sqlx::query("DELETE FROM recovery_codes WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant.0)
        .bind(user.0)
        .execute(c)
        .await?;
    Ok(())
}

/// Uses a recovery code: true when it was the person's and unused (it is used up now; two
/// sign-ins racing with one code cannot both succeed, the update is the claim).
pub async fn use_recovery_code(c: &mut Conn, tenant: TenantId, user: UserId, hash: &[u8], now: Timestamp) -> Result<bool> {
    Ok(
        sqlx::query("UPDATE recovery_codes SET used_at = $4 WHERE tenant_id = $1 AND user_id = $2 AND code_hash = $3 AND used_at IS NULL")
            .bind(tenant.0)
            .bind(user.0)
            .bind(hash.to_vec())
            .bind(now.0)
            .execute(c)
            .await?
            .rows_affected()
            == 1,
    )
}

/// How many unused recovery codes a person has.
pub async fn recovery_codes_left(c: &mut Conn, tenant: TenantId, user: UserId) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE tenant_id = $1 AND user_id = $2 AND used_at IS NULL")
            .bind(tenant.0)
            .bind(user.0)
            .fetch_one(c)
            .await?,
    )
}

/// Notes a sign-in from a browser: true when the person had used it before.
pub async fn seen_device(c: &mut Conn, tenant: TenantId, user: UserId, hash: &[u8], now: Timestamp) -> Result<bool> {
    let updated = sqlx::query("UPDATE known_devices SET last_seen_at = $4 WHERE tenant_id = $1 AND user_id = $2 AND device_hash = $3")
        .bind(tenant.0)
        .bind(user.0)
        .bind(hash.to_vec())
        .bind(now.0)
        .execute(&mut *c)
        .await?
        .rows_affected();
    if updated == 1 {
        return Ok(true);
    }
    sqlx::query(
        "INSERT INTO known_devices (tenant_id, user_id, device_hash, first_seen_at, last_seen_at) VALUES ($1, $2, $3, $4, $4) \
         ON CONFLICT (tenant_id, user_id, device_hash) DO NOTHING",
    )
    .bind(tenant.0)
    .bind(user.0)
    .bind(hash.to_vec())
    .bind(now.0)
    .execute(c)
    .await?;
    Ok(false)
}

/// How many browsers a person is known to have signed in from.
pub async fn device_count(c: &mut Conn, tenant: TenantId, user: UserId) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM known_devices WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant.0)
        .bind(user.0)
        .fetch_one(c)
        .await?)
}

/// Ends a tenant's full sessions idle since before `idle_before` or begun before
/// `begun_before`; returns how many.
pub async fn end_sessions_past(c: &mut Conn, tenant: TenantId, idle_before: Timestamp, begun_before: Timestamp) -> Result<u64> {
    Ok(
        sqlx::query("DELETE FROM web_sessions WHERE tenant_id = $1 AND kind = 'session' AND (last_seen_at < $2 OR created_at < $3)")
            .bind(tenant.0)
            .bind(idle_before.0)
            .bind(begun_before.0)
            .execute(c)
            .await?
            .rows_affected(),
    )
}

/// Keeps a person's `keep` most recently used browsers and forgets the rest.
pub async fn trim_devices(c: &mut Conn, tenant: TenantId, user: UserId, keep: i64) -> Result<()> {
    let kept: Vec<i64> = sqlx::query_scalar("SELECT last_seen_at FROM known_devices WHERE tenant_id = $1 AND user_id = $2 ORDER BY last_seen_at DESC LIMIT $3")
        .bind(tenant.0)
        .bind(user.0)
        .bind(keep)
        .fetch_all(&mut *c)
        .await?;
    if i64::try_from(kept.len()).unwrap_or(i64::MAX) < keep {
        return Ok(());
    }
    let Some(oldest) = kept.last() else { return Ok(()) };
    sqlx::query("DELETE FROM known_devices WHERE tenant_id = $1 AND user_id = $2 AND last_seen_at < $3")
        .bind(tenant.0)
        .bind(user.0)
        .bind(*oldest)
        .execute(c)
        .await?;
    Ok(())
}

/// How many browsers a person first used since `since`.
pub async fn devices_since(c: &mut Conn, tenant: TenantId, user: UserId, since: Timestamp) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM known_devices WHERE tenant_id = $1 AND user_id = $2 AND first_seen_at >= $3")
            .bind(tenant.0)
            .bind(user.0)
            .bind(since.0)
            .fetch_one(c)
            .await?,
    )
}
