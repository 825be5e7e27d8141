//! Per-tenant settings: the choices erasure leaves to the controller, which ticket
//! notifications the tenant sends, and the tenant's own mail addresses and SMTP server.

use crate::Conn;
use suoja_core::{KeyId, TenantId, Timestamp};

use crate::Result;

/// What erasure does with a person's own comments on other people's tickets.
pub async fn erasure_comments(c: &mut Conn, tenant: TenantId) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT erasure_comments FROM privacy_settings WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_optional(c)
        .await?)
}

/// Sets what erasure does with a person's own comments on other people's tickets.
pub async fn set_erasure_comments(c: &mut Conn, tenant: TenantId, value: &str, by: i64, now: Timestamp) -> Result<()> {
    let n = sqlx::query("UPDATE privacy_settings SET erasure_comments = $2, updated_by = $3, updated_at = $4 WHERE tenant_id = $1")
        .bind(tenant.0)
        .bind(value.to_string())
        .bind(by)
        .bind(now.0)
        .execute(&mut *c)
        .await?
        .rows_affected();
    if n == 0 {
        sqlx::query("INSERT INTO privacy_settings (tenant_id, erasure_comments, updated_by, updated_at) VALUES ($1, $2, $3, $4)")
            .bind(tenant.0)
            .bind(value.to_string())
            .bind(by)
            .bind(now.0)
            .execute(c)
            .await?;
    }
    Ok(())
}

/// One stored retention policy: the tenant's value where it differs from the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionRow {
    /// Policy name.
    pub policy: String,
    /// Period, in the policy's unit.
    pub value: i64,
    /// Whether the policy runs.
    pub enabled: bool,
    /// Who set it.
    pub updated_by: i64,
    /// When.
    pub updated_at: Timestamp,
}

/// The tenant's stored retention policies.
pub async fn retention(c: &mut Conn, tenant: TenantId) -> Result<Vec<RetentionRow>> {
    let rows = sqlx::query("SELECT policy, value, enabled, updated_by, updated_at FROM retention_policies WHERE tenant_id = $1 ORDER BY policy")
        .bind(tenant.0)
        .fetch_all(c)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(RetentionRow {
                policy: crate::row::text(r, "policy")?,
                value: crate::row::i64_(r, "value")?,
                enabled: crate::row::bool_(r, "enabled")?,
                updated_by: crate::row::i64_(r, "updated_by")?,
                updated_at: Timestamp(crate::row::i64_(r, "updated_at")?),
            })
        })
        .collect()
}

/// Stores one retention policy of a tenant.
pub async fn set_retention(c: &mut Conn, tenant: TenantId, r: &RetentionRow) -> Result<()> {
    let n = sqlx::query("UPDATE retention_policies SET value = $3, enabled = $4, updated_by = $5, updated_at = $6 WHERE tenant_id = $1 AND policy = $2")
        .bind(tenant.0)
        .bind(r.policy.clone())
        .bind(r.value)
        .bind(i64::from(r.enabled))
        .bind(r.updated_by)
        .bind(r.updated_at.0)
        .execute(&mut *c)
        .await?
        .rows_affected();
    if n == 0 {
        sqlx::query("INSERT INTO retention_policies (tenant_id, policy, value, enabled, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(tenant.0)
            .bind(r.policy.clone())
            .bind(r.value)
            .bind(i64::from(r.enabled))
            .bind(r.updated_by)
            .bind(r.updated_at.0)
            .execute(c)
            .await?;
    }
    Ok(())
}

/// Which ticket notifications a tenant sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notifications {
    /// The requester's acknowledgement of a new ticket.
    pub received: bool,
    /// Public replies to the requester and CCs.
    pub replies: bool,
    /// Notices to assignees.
    pub assignee: bool,
}

impl Default for Notifications {
    fn default() -> Self {
        Self {
            received: true,
            replies: true,
            assignee: true,
        }
    }
}

/// The tenant's notification switches (all on when never set).
pub async fn notifications(c: &mut Conn, tenant: TenantId) -> Result<Notifications> {
    let r = sqlx::query("SELECT notify_received, notify_replies, notify_assignee FROM mail_settings WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_optional(c)
        .await?;
    Ok(match r {
        Some(r) => Notifications {
            received: crate::row::bool_(&r, "notify_received")?,
            replies: crate::row::bool_(&r, "notify_replies")?,
            assignee: crate::row::bool_(&r, "notify_assignee")?,
        },
        None => Notifications::default(),
    })
}

/// Sets the tenant's notification switches.
pub async fn set_notifications(c: &mut Conn, tenant: TenantId, n: Notifications, by: i64, now: Timestamp) -> Result<()> {
    sqlx::query(
        "INSERT INTO mail_settings (tenant_id, notify_received, notify_replies, notify_assignee, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (tenant_id) DO UPDATE SET notify_received = excluded.notify_received, notify_replies = excluded.notify_replies, \
         notify_assignee = excluded.notify_assignee, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    )
    .bind(tenant.0)
    .bind(i64::from(n.received))
    .bind(i64::from(n.replies))
    .bind(i64::from(n.assignee))
    .bind(by)
    .bind(now.0)
    .execute(c)
    .await?;
    Ok(())
}

/// A tenant's own support and privacy addresses (`None`: the installation's).
pub async fn mail_addresses(c: &mut Conn, tenant: TenantId) -> Result<(Option<String>, Option<String>)> {
    let r = sqlx::query("SELECT support_address, privacy_address FROM mail_settings WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_optional(c)
        .await?;
    Ok(match r {
        Some(r) => (crate::row::opt_text(&r, "support_address")?, crate::row::opt_text(&r, "privacy_address")?),
        None => (None, None),
    })
}

/// Sets a tenant's own support and privacy addresses (`None`: back to the installation's).
pub async fn set_mail_addresses(c: &mut Conn, tenant: TenantId, support: Option<&str>, privacy: Option<&str>, by: i64, now: Timestamp) -> Result<()> {
    sqlx::query(
        "INSERT INTO mail_settings (tenant_id, support_address, privacy_address, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (tenant_id) DO UPDATE SET support_address = excluded.support_address, privacy_address = excluded.privacy_address, \
         updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    )
    .bind(tenant.0)
    .bind(support.map(str::to_string))
    .bind(privacy.map(str::to_string))
    .bind(by)
    .bind(now.0)
    .execute(c)
    .await?;
    Ok(())
}

/// A tenant's own SMTP server, sealed: the key it is sealed under and the sealed settings.
pub async fn mail_smtp(c: &mut Conn, tenant: TenantId) -> Result<Option<(KeyId, Vec<u8>)>> {
    let r = sqlx::query("SELECT smtp_key_id, smtp_enc FROM mail_settings WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_optional(c)
        .await?;
    let Some(r) = r else { return Ok(None) };
    Ok(match (crate::row::opt_i64(&r, "smtp_key_id")?, crate::row::opt_bytes(&r, "smtp_enc")?) {
        (Some(k), Some(enc)) => Some((KeyId(k), enc)),
        _ => None,
    })
}

/// Sets (or, with `None`, clears) a tenant's own SMTP server; returns the key the one it
/// replaces was sealed under, for the caller to destroy.
pub async fn set_mail_smtp(c: &mut Conn, tenant: TenantId, smtp: Option<(KeyId, &[u8])>, by: i64, now: Timestamp) -> Result<Option<KeyId>> {
    let old = mail_smtp(c, tenant).await?.map(|(k, _)| k);
    sqlx::query(
        "INSERT INTO mail_settings (tenant_id, smtp_key_id, smtp_enc, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (tenant_id) DO UPDATE SET smtp_key_id = excluded.smtp_key_id, smtp_enc = excluded.smtp_enc, \
         updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    )
    .bind(tenant.0)
    .bind(smtp.map(|(k, _)| k.0))
    .bind(smtp.map(|(_, e)| e.to_vec()))
    .bind(by)
    .bind(now.0)
    .execute(c)
    .await?;
    Ok(old)
}

/// Whether a tenant other than `tenant` uses `address` as its support or privacy address (an
/// address belongs to one tenant; this looks across tenants on purpose, and answers yes or no).
pub async fn mail_address_taken(c: &mut Conn, tenant: TenantId, address: &str) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM mail_settings WHERE tenant_id <> $1 AND (LOWER(support_address) = LOWER($2) OR LOWER(privacy_address) = LOWER($2))",
    )
    .bind(tenant.0)
    .bind(address.to_string())
    .fetch_one(c)
    .await?;
    Ok(n > 0)
}

/// Who the controller is, as the tenant set it: name, contact point, data protection officer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Controller {
    /// The organisation's name.
    pub name: String,
    /// How to reach it about personal data.
    pub contact: String,
    /// The data protection officer or other contact point.
    pub dpo_contact: String,
    /// Days ahead a new sub-processor is announced to the list's subscribers.
    pub subprocessor_notice_days: i64,
}

/// The tenant's controller details, if it set them.
pub async fn controller(c: &mut Conn, tenant: TenantId) -> Result<Option<Controller>> {
    let r = sqlx::query("SELECT name, contact, dpo_contact, subprocessor_notice_days FROM controller_details WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_optional(c)
        .await?;
    r.map(|r| {
        Ok(Controller {
            name: crate::row::text(&r, "name")?,
            contact: crate::row::text(&r, "contact")?,
            dpo_contact: crate::row::text(&r, "dpo_contact")?,
            subprocessor_notice_days: crate::row::i64_(&r, "subprocessor_notice_days")?,
        })
    })
    .transpose()
}

/// Sets the tenant's controller details.
pub async fn set_controller(c: &mut Conn, tenant: TenantId, d: &Controller, by: i64, now: Timestamp) -> Result<()> {
    sqlx::query(
        "INSERT INTO controller_details (tenant_id, name, contact, dpo_contact, subprocessor_notice_days, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (tenant_id) DO UPDATE SET name = excluded.name, contact = excluded.contact, dpo_contact = excluded.dpo_contact, \
         subprocessor_notice_days = excluded.subprocessor_notice_days, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    )
    .bind(tenant.0)
    .bind(d.name.clone())
    .bind(d.contact.clone())
    .bind(d.dpo_contact.clone())
    .bind(d.subprocessor_notice_days)
    .bind(by)
    .bind(now.0)
    .execute(c)
    .await?;
    Ok(())
}

/// Which addresses a tenant's staff and API access may come from, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpRestriction {
    /// Whether it is enforced.
    pub enabled: bool,
    /// The allowed ranges, as the admin wrote them (space-separated addresses and CIDR ranges).
    pub allowed_ranges: String,
    /// Whether end users signed in are held to it too.
    pub end_users: bool,
}

/// A tenant's password rules: no composition rules, a minimum length, and how many earlier
/// passwords a person may not take again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Fewest characters.
    pub min_length: i64,
    /// Earlier passwords that cannot be reused (0: none remembered).
    pub history: i64,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self { min_length: 12, history: 0 }
    }
}

/// How long a web session lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// Minutes without a request after which a session ends.
    pub idle_minutes: i64,
    /// Hours after sign-in after which a session ends, however busy.
    pub absolute_hours: i64,
}

impl SessionLimits {
    /// The idle limit in milliseconds.
    pub fn idle_ms(&self) -> i64 {
        self.idle_minutes.saturating_mul(60_000)
    }
    /// The absolute limit in milliseconds.
    pub fn absolute_ms(&self) -> i64 {
        self.absolute_hours.saturating_mul(3_600_000)
    }
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            idle_minutes: 30,
            absolute_hours: 12,
        }
    }
}

/// A tenant's security settings, as stored (the defaults when never set). Whether staff must
/// use a second factor is kept with the tenant (`web::staff_second_factor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecuritySettings {
    /// Where staff and API access may come from.
    pub ip: IpRestriction,
    /// Password rules.
    pub password: PasswordPolicy,
    /// Session lifetimes.
    pub sessions: SessionLimits,
    /// Whether end users must sign in with a second factor too.
    pub end_user_second_factor: bool,
    /// Whether staff are mailed when they sign in from a browser not seen before.
    pub sign_in_alerts: bool,
}

impl Default for SecuritySettings {
    fn default() -> Self {
        Self {
            ip: IpRestriction::default(),
            password: PasswordPolicy::default(),
            sessions: SessionLimits::default(),
            end_user_second_factor: false,
            sign_in_alerts: true,
        }
    }
}

/// Whether the tenant ever saved its security settings, and what they are.
pub async fn security_settings(c: &mut Conn, tenant: TenantId) -> Result<(bool, SecuritySettings)> {
    let r = sqlx::query(
        "SELECT ip_restriction, allowed_ranges, restrict_end_users, password_min_length, password_history, \
         session_idle_minutes, session_absolute_hours, end_user_second_factor, sign_in_alerts FROM security_settings WHERE tenant_id = $1",
    )
    .bind(tenant.0)
    .fetch_optional(c)
    .await?;
    let Some(r) = r else { return Ok((false, SecuritySettings::default())) };
    let i = |name: &str| crate::row::i64_(&r, name);
    Ok((
        true,
        SecuritySettings {
            ip: IpRestriction {
                enabled: i("ip_restriction")? != 0,
                allowed_ranges: crate::row::text(&r, "allowed_ranges")?,
                end_users: i("restrict_end_users")? != 0,
            },
            password: PasswordPolicy {
                min_length: i("password_min_length")?,
                history: i("password_history")?,
            },
            sessions: SessionLimits {
                idle_minutes: i("session_idle_minutes")?,
                absolute_hours: i("session_absolute_hours")?,
            },
            end_user_second_factor: i("end_user_second_factor")? != 0,
            sign_in_alerts: i("sign_in_alerts")? != 0,
        },
    ))
}

/// Saves the tenant's security settings, all of them at once.
pub async fn set_security_settings(c: &mut Conn, tenant: TenantId, s: &SecuritySettings, by: i64, now: Timestamp) -> Result<()> {
    sqlx::query(
        "INSERT INTO security_settings (tenant_id, ip_restriction, allowed_ranges, restrict_end_users, password_min_length, password_history, \
         session_idle_minutes, session_absolute_hours, end_user_second_factor, sign_in_alerts, updated_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (tenant_id) DO UPDATE SET ip_restriction = excluded.ip_restriction, allowed_ranges = excluded.allowed_ranges, \
         restrict_end_users = excluded.restrict_end_users, password_min_length = excluded.password_min_length, \
         password_history = excluded.password_history, session_idle_minutes = excluded.session_idle_minutes, \
         session_absolute_hours = excluded.session_absolute_hours, end_user_second_factor = excluded.end_user_second_factor, \
         sign_in_alerts = excluded.sign_in_alerts, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    )
    .bind(tenant.0)
    .bind(i64::from(s.ip.enabled))
    .bind(s.ip.allowed_ranges.clone())
    .bind(i64::from(s.ip.end_users))
    .bind(s.password.min_length)
    .bind(s.password.history)
    .bind(s.sessions.idle_minutes)
    .bind(s.sessions.absolute_hours)
    .bind(i64::from(s.end_user_second_factor))
    .bind(i64::from(s.sign_in_alerts))
    .bind(by)
    .bind(now.0)
    .execute(c)
    .await?;
    Ok(())
}

/// A person's earlier password hashes, newest first, at most `limit`.
pub async fn password_history(c: &mut Conn, tenant: TenantId, user: i64, limit: i64) -> Result<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT hash FROM password_history WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at DESC LIMIT $3")
            .bind(tenant.0)
            .bind(user)
            .bind(limit)
            .fetch_all(c)
            .await?,
    )
}

/// Remembers a person's replaced password hash, keeping only the newest `keep`.
pub async fn remember_password(c: &mut Conn, tenant: TenantId, user: i64, hash: &str, keep: i64, now: Timestamp) -> Result<()> {
    sqlx::query("INSERT INTO password_history (tenant_id, user_id, hash, created_at) VALUES ($1, $2, $3, $4)")
        .bind(tenant.0)
        .bind(user)
        .bind(hash.to_string())
        .bind(now.0)
        .execute(&mut *c)
        .await?;
    let kept: Vec<i64> = sqlx::query_scalar("SELECT created_at FROM password_history WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at DESC LIMIT $3")
        .bind(tenant.0)
        .bind(user)
        .bind(keep.max(0))
        .fetch_all(&mut *c)
        .await?;
    let oldest_kept = if kept.len() < usize::try_from(keep.max(0)).unwrap_or(0) {
        i64::MIN
    } else {
        kept.last().copied().unwrap_or(i64::MAX)
    };
    sqlx::query("DELETE FROM password_history WHERE tenant_id = $1 AND user_id = $2 AND created_at < $3")
        .bind(tenant.0)
        .bind(user)
        .bind(oldest_kept)
        .execute(c)
        .await?;
    Ok(())
}
