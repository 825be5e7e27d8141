//! A tenant's security settings. The IP restriction: the address ranges staff and API access
//! may come from (and end users too, if the admins choose), enforced on every authenticated API
//! request and page; an admin cannot save a list that leaves out the address they are saving it
//! from, so the last admin cannot lock everyone out. The password rules, after NIST SP 800-63B:
//! a minimum length (12 unless the admins choose another), no composition rules, no password
//! from the list of common ones shipped with Suoja nor the person's own address, and optionally
//! none of the person's last few. Session lifetimes, whether end users must give a second
//! factor too, and whether staff are told of a sign-in from a new browser.

use std::net::IpAddr;

use suoja_core::{Scope, Timestamp};
use suoja_store::settings::{IpRestriction, PasswordPolicy, SecuritySettings, SessionLimits};

use crate::{Helpdesk, HelpdeskError, Result};

/// How long a node trusts the settings it read (another node's change takes effect here
/// within this; this node's own change at once).
const CACHE_FOR: std::time::Duration = std::time::Duration::from_secs(2);

/// A tenant's security settings as a node uses them: the stored settings and the parsed ranges.
#[derive(Debug, Clone)]
pub(crate) struct InForce {
    pub(crate) settings: SecuritySettings,
    /// Whether staff must use a second factor.
    pub(crate) staff_second_factor: bool,
    ranges: IpRanges,
}

impl InForce {
    /// Whether someone of this role must sign in with a second factor.
    pub(crate) fn second_factor_required(&self, staff: bool) -> bool {
        if staff {
            self.staff_second_factor
        } else {
            self.settings.end_user_second_factor
        }
    }
}

/// Each tenant's settings as last read, and when.
#[derive(Debug, Default)]
pub struct SettingsCache(std::sync::Mutex<std::collections::HashMap<suoja_core::TenantId, (std::time::Instant, InForce)>>);

impl SettingsCache {
    fn get(&self, tenant: suoja_core::TenantId) -> Option<InForce> {
        let map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(&tenant).filter(|(at, _)| at.elapsed() < CACHE_FOR).map(|(_, r)| r.clone())
    }
    fn put(&self, tenant: suoja_core::TenantId, r: InForce) {
        let mut map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.insert(tenant, (std::time::Instant::now(), r));
    }
    pub(crate) fn forget(&self, tenant: suoja_core::TenantId) {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&tenant);
    }
}

/// Everything an admin sets about signing in and access, as the API and pages show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityPolicy {
    /// The stored settings.
    pub settings: SecuritySettings,
    /// Whether agents and admins must sign in with a second factor.
    pub staff_second_factor: bool,
}

/// The common passwords refused, one per line, lower case.
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// Whether `password` is a common one (compared in lower case, and without a trailing run of
/// digits and punctuation, so `Salasana1234!` is `salasana`'s).
pub fn is_common(password: &str) -> bool {
    let lower = password.to_lowercase();
    let stem = lower.trim_end_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation());
    let one_char = lower.chars().collect::<std::collections::BTreeSet<_>>().len() <= 2;
    one_char
        || COMMON_PASSWORDS
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .any(|l| l == lower || (stem.len() >= 6 && l.trim_end_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation()) == stem))
}

/// Most ranges one list holds.
pub const MAX_RANGES: usize = 100;

/// A parsed list of allowed addresses and CIDR ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpRanges(Vec<(IpAddr, u8)>);

impl IpRanges {
    /// Parses `203.0.113.0/24 198.51.100.7 2001:db8::/32` (spaces or commas between); the
    /// first entry that is not an address or range is named in the error.
    pub fn parse(text: &str) -> std::result::Result<IpRanges, String> {
        let mut out = Vec::new();
        for item in text.split([' ', ',', '\n', '\t']).filter(|s| !s.is_empty()) {
            let (addr, bits) = match item.split_once('/') {
                Some((a, b)) => (a, Some(b)),
                None => (item, None),
            };
            let ip: IpAddr = addr
                .parse()
                .map_err(|_| format!("'{}' is not an IP address or range", item.chars().take(60).collect::<String>()))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                None => max,
                Some(b) => b
                    .parse::<u8>()
                    .ok()
                    .filter(|b| *b <= max)
                    .ok_or_else(|| format!("'{}' has a prefix length outside 0 to {max}", item.chars().take(60).collect::<String>()))?,
            };
            out.push((ip, bits));
            if out.len() > MAX_RANGES {
                return Err(format!("more than {MAX_RANGES} ranges"));
            }
        }
        Ok(IpRanges(out))
    }

    /// Whether `ip` is in one of the ranges (an IPv4 address mapped into IPv6 counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.0.iter().any(|(net, bits)| match (net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => prefix_eq(&n.octets(), &a.octets(), *bits),
            (IpAddr::V6(n), IpAddr::V6(a)) => prefix_eq(&n.octets(), &a.octets(), *bits),
            _ => false,
        })
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Whether the first `bits` bits of `a` and `b` agree.
fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let mut left = usize::from(bits);
    for (x, y) in a.iter().zip(b) {
        if left == 0 {
            return true;
        }
        let take = left.min(8);
        let mask = u8::MAX << (8 - take);
        if x & mask != y & mask {
            return false;
        }
        left -= take;
    }
    true
}

/// Checks an IP restriction before it is saved from `client`: its ranges parse, and an enabled
/// one allows at least `client`.
pub fn check_ip_restriction(r: &IpRestriction, client: Option<IpAddr>) -> Result<IpRanges> {
    let ranges = IpRanges::parse(&r.allowed_ranges).map_err(|m| HelpdeskError::invalid("allowed_ranges", m))?;
    if r.enabled {
        if ranges.is_empty() {
            return Err(HelpdeskError::invalid("allowed_ranges", "name at least one address or range to allow"));
        }
        if !client.is_some_and(|ip| ranges.contains(ip)) {
            return Err(HelpdeskError::invalid(
                "allowed_ranges",
                "the address you are saving from is not in the list: saving it would lock you out",
            ));
        }
    }
    Ok(ranges)
}

/// Checks password rules before they are saved: a minimum of 8 to 64 characters, 0 to 24
/// earlier passwords remembered.
pub fn check_password_policy(p: suoja_store::settings::PasswordPolicy) -> Result<()> {
    if !(8..=64).contains(&p.min_length) {
        return Err(HelpdeskError::invalid("min_length", "must be from 8 to 64 characters"));
    }
    if !(0..=24).contains(&p.history) {
        return Err(HelpdeskError::invalid("history", "must be from 0 to 24 passwords"));
    }
    Ok(())
}

/// Checks session limits before they are saved: idle 5 minutes to a day, absolute 1 hour to
/// 30 days, and the idle limit not longer than the absolute one.
pub fn check_session_limits(l: SessionLimits) -> Result<()> {
    if !(5..=1_440).contains(&l.idle_minutes) {
        return Err(HelpdeskError::invalid("idle_minutes", "must be from 5 to 1440 minutes"));
    }
    if !(1..=720).contains(&l.absolute_hours) {
        return Err(HelpdeskError::invalid("absolute_hours", "must be from 1 to 720 hours"));
    }
    if l.idle_minutes > l.absolute_hours * 60 {
        return Err(HelpdeskError::invalid("idle_minutes", "must not be longer than the absolute limit"));
    }
    Ok(())
}

impl Helpdesk {
    /// The tenant's security settings in force at this node (read at most every two seconds).
    pub(crate) async fn settings_in_force(&self, tenant: suoja_core::TenantId) -> Result<InForce> {
        if let Some(r) = self.security_cache.get(tenant) {
            return Ok(r);
        }
        let mut c = self.db.read().await?;
        self.settings_in_force_on(&mut c, tenant).await
    }

    /// As [`Helpdesk::settings_in_force`], read on `c` (a connection or transaction the caller
    /// holds: a request never waits for a second connection while it holds one, or a pool's
    /// worth of requests could wait on each other).
    pub(crate) async fn settings_in_force_on(&self, c: &mut suoja_store::Conn, tenant: suoja_core::TenantId) -> Result<InForce> {
        if let Some(r) = self.security_cache.get(tenant) {
            return Ok(r);
        }
        let (_, settings) = suoja_store::settings::security_settings(c, tenant).await?;
        let staff_second_factor = suoja_store::web::staff_second_factor(c, tenant).await?;
        let ranges = IpRanges::parse(&settings.ip.allowed_ranges).unwrap_or(IpRanges(Vec::new()));
        let r = InForce {
            settings,
            staff_second_factor,
            ranges,
        };
        self.security_cache.put(tenant, r.clone());
        Ok(r)
    }

    /// Refuses `scope` calling from `client` when the tenant restricts addresses and this caller
    /// is held to the restriction (staff, API tokens, and end users when chosen). A request
    /// without a known address is refused too while the restriction is on.
    pub async fn check_address(&self, scope: &Scope, client: Option<IpAddr>) -> Result<()> {
        let held = scope.is_staff() || scope.token.is_some();
        let r = self.settings_in_force(scope.tenant).await?;
        if !r.settings.ip.enabled || (!held && !r.settings.ip.end_users) {
            return Ok(());
        }
        if client.is_some_and(|ip| r.ranges.contains(ip)) {
            Ok(())
        } else {
            Err(HelpdeskError::Forbidden(
                "this helpdesk accepts this access only from the addresses its admins allow",
            ))
        }
    }

    /// The tenant's security settings (admins).
    pub async fn security_policy(&self, scope: &Scope) -> Result<SecurityPolicy> {
        if !scope.is_admin() {
            return Err(HelpdeskError::Forbidden("only admins can see the security settings"));
        }
        let mut c = self.db.read().await?;
        let (_, settings) = suoja_store::settings::security_settings(&mut c, scope.tenant).await?;
        let staff_second_factor = suoja_store::web::staff_second_factor(&mut c, scope.tenant).await?;
        Ok(SecurityPolicy { settings, staff_second_factor })
    }

    /// Saves the tenant's security settings (admins), all of them or none: every part is
    /// checked first, and an enabled IP restriction must allow `client`, the address the admin
    /// saves it from. Each part that changed is one ledger entry (numbers and switches only).
    pub async fn set_security_policy(&self, scope: &Scope, new: SecurityPolicy, client: Option<IpAddr>) -> Result<SecurityPolicy> {
        if !scope.is_admin() {
            return Err(HelpdeskError::Forbidden("only admins can change the security settings"));
        }
        let mut new = new;
        new.settings.ip.allowed_ranges = new.settings.ip.allowed_ranges.split_whitespace().collect::<Vec<_>>().join(" ");
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let (_, old) = suoja_store::settings::security_settings(&mut tx, scope.tenant).await?;
        let old_staff = suoja_store::web::staff_second_factor(&mut tx, scope.tenant).await?;
        // The lock-out check applies to a restriction being changed (another part can be saved
        // from anywhere the restriction in force lets the admin in, the command line included).
        let ranges = if new.settings.ip == old.ip {
            IpRanges::parse(&new.settings.ip.allowed_ranges).map_err(|m| HelpdeskError::invalid("allowed_ranges", m))?
        } else {
            check_ip_restriction(&new.settings.ip, client)?
        };
        check_password_policy(new.settings.password)?;
        check_session_limits(new.settings.sessions)?;
        suoja_store::settings::set_security_settings(&mut tx, scope.tenant, &new.settings, scope.actor.0, now).await?;
        if new.staff_second_factor != old_staff {
            suoja_store::web::set_staff_second_factor(&mut tx, scope.tenant, new.staff_second_factor).await?;
        }
        let s = &new.settings;
        let mut changes = Vec::new();
        if s.ip != old.ip {
            changes.push(serde_json::json!({ "setting": "ip_restriction", "enabled": s.ip.enabled, "ranges": ranges.0.len(), "end_users": s.ip.end_users }));
        }
        if s.password != old.password {
            changes.push(serde_json::json!({ "setting": "password_policy", "min_length": s.password.min_length, "history": s.password.history }));
        }
        if s.sessions != old.sessions {
            // Sessions already past the old limits or the new ones end now: a longer limit
            // brings back no session that timed out.
            suoja_store::web::end_sessions_past(
                &mut tx,
                scope.tenant,
                Timestamp(now.0 - s.sessions.idle_ms().min(old.sessions.idle_ms())),
                Timestamp(now.0 - s.sessions.absolute_ms().min(old.sessions.absolute_ms())),
            )
            .await?;
            changes
                .push(serde_json::json!({ "setting": "session_limits", "idle_minutes": s.sessions.idle_minutes, "absolute_hours": s.sessions.absolute_hours }));
        }
        if s.end_user_second_factor != old.end_user_second_factor || new.staff_second_factor != old_staff {
            changes.push(serde_json::json!({ "setting": "second_factor", "staff": new.staff_second_factor, "end_users": s.end_user_second_factor }));
        }
        if s.sign_in_alerts != old.sign_in_alerts {
            changes.push(serde_json::json!({ "setting": "sign_in_alerts", "enabled": s.sign_in_alerts }));
        }
        for change in changes {
            self.record_ledger(
                &mut tx,
                scope.tenant,
                suoja_core::LedgerKind::SettingsChanged,
                None,
                Some(scope.actor.0),
                change,
            )
            .await?;
        }
        tx.commit().await?;
        self.security_cache.forget(scope.tenant);
        tracing::info!(tenant.id = %scope.tenant, actor.id = %scope.actor, ip_restriction = new.settings.ip.enabled, "security settings saved");
        Ok(new)
    }

    /// The tenant's IP restriction (admins).
    pub async fn ip_restriction(&self, scope: &Scope) -> Result<IpRestriction> {
        Ok(self.security_policy(scope).await?.settings.ip)
    }

    /// Sets the tenant's IP restriction alone (admins), as `set_security_policy` does.
    pub async fn set_ip_restriction(&self, scope: &Scope, r: IpRestriction, client: Option<IpAddr>) -> Result<IpRestriction> {
        let mut p = self.security_policy(scope).await?;
        p.settings.ip = r;
        Ok(self.set_security_policy(scope, p, client).await?.settings.ip)
    }

    /// The tenant's password rules (admins).
    pub async fn password_policy(&self, scope: &Scope) -> Result<PasswordPolicy> {
        Ok(self.security_policy(scope).await?.settings.password)
    }

    /// Checks a new password against the tenant's rules for the person `user` (when they exist
    /// already) whose address is `email` (when known); remembers the password it replaces.
    pub(crate) async fn check_new_password(
        &self,
        c: &mut suoja_store::Conn,
        tenant: suoja_core::TenantId,
        user: Option<&suoja_store::users::UserRow>,
        email: Option<&str>,
        password: &str,
    ) -> Result<()> {
        let (_, settings) = suoja_store::settings::security_settings(c, tenant).await?;
        let policy = settings.password;
        let length = i64::try_from(password.chars().count()).unwrap_or(i64::MAX);
        if length < policy.min_length {
            return Err(HelpdeskError::invalid("password", format!("must be at least {} characters", policy.min_length)));
        }
        if is_common(password) {
            return Err(HelpdeskError::invalid(
                "password",
                "is one of the passwords people choose most often; choose another",
            ));
        }
        // The whole address as the password (a name part inside a phrase is left alone: people
        // do write "eeva's long garden phrase").
        if email.is_some_and(|e| password.trim().eq_ignore_ascii_case(e)) {
            return Err(HelpdeskError::invalid("password", "must not be your e-mail address"));
        }
        let Some(user) = user else { return Ok(()) };
        if policy.history > 0 {
            let mut earlier = suoja_store::settings::password_history(c, tenant, user.id.0, policy.history).await?;
            earlier.extend(user.password_hash.clone());
            for phc in earlier {
                let pw = password.to_string();
                let same = tokio::task::spawn_blocking(move || crate::auth::verify_password(&pw, &phc))
                    .await
                    .map_err(|e| HelpdeskError::Internal(e.to_string()))?;
                if same {
                    return Err(HelpdeskError::invalid(
                        "password",
                        format!("must differ from your last {} passwords", policy.history),
                    ));
                }
            }
            if let Some(old) = &user.password_hash {
                suoja_store::settings::remember_password(c, tenant, user.id.0, old, policy.history, self.now()).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_passwords_are_refused_in_their_usual_forms() {
        for common in [
            "password1234",
            "Salasana1234!",
            "QWERTY123456",
            "aaaaaaaaaaaaaa",
            "abababababab",
            "correcthorsebatterystaple",
        ] {
            assert!(is_common(common), "{common}");
        }
        for fine in ["correct horse battery", "kolme vihreää omenaa", "tk421-is-not-at-his-post"] {
            assert!(!is_common(fine), "{fine}");
        }
    }

    #[test]
    fn ranges_parse_and_match() {
        let r = IpRanges::parse("203.0.113.0/24 198.51.100.7, 2001:db8::/32").unwrap();
        for ok in ["203.0.113.1", "203.0.113.255", "198.51.100.7", "2001:db8::1", "::ffff:203.0.113.9"] {
            assert!(r.contains(ok.parse().unwrap()), "{ok}");
        }
        for no in ["203.0.114.1", "198.51.100.8", "2001:db9::1", "10.0.0.1"] {
            assert!(!r.contains(no.parse().unwrap()), "{no}");
        }
        assert!(IpRanges::parse("0.0.0.0/0").unwrap().contains("8.8.8.8".parse().unwrap()));
        for bad in ["203.0.113.0/33", "example.com", "1.2.3", "10.0.0.0/x", "::/129"] {
            assert!(IpRanges::parse(bad).is_err(), "{bad}");
        }
        let many = (0..101).map(|i| format!("10.0.0.{i}")).collect::<Vec<_>>().join(" ");
        assert!(IpRanges::parse(&many).is_err());
    }
}
