//! Web sign-in: password (then a TOTP code, or a single-use recovery code, when the person has
//! a second factor or must have one), one-time e-mail links, sessions with the tenant's idle and
//! absolute limits, a mail to staff signing in from a browser not seen before, sign-out
//! everywhere, and one-time form ids. Tokens and codes are random and stored as SHA-256 hashes;
//! every failure answers the same way. The HTTP layer owns cookies and pages; this module owns
//! the rules.

use sha2::{Digest as _, Sha256};
use suoja_core::{Email, LedgerKind, Personal, Role, Scope, TenantId, Timestamp, UserId, random};
use suoja_store::settings::SessionLimits;
use suoja_store::web::SessionRow;

use crate::auth::token_hash;
use crate::{Helpdesk, HelpdeskError, Result, totp};

/// Recovery codes a person is given at a time.
pub const RECOVERY_CODES: usize = 10;
/// Browsers remembered per person (the least recently used go first).
pub const DEVICES_KEPT: i64 = 20;
/// After a sign-in alert, further new browsers within this are not mailed again.
pub const ALERT_QUIET_MS: i64 = 10 * 60_000;
/// The first browser of an account younger than this is remembered without an alert.
pub const NEW_ACCOUNT_MS: i64 = 7 * 86_400_000;
/// A second-factor step (or a forced set-up) must be finished within this.
pub const STEP_MS: i64 = 10 * 60_000;
/// A sign-in link works once, within this.
pub const LINK_MS: i64 = 15 * 60_000;
/// Sign-in links a person can be sent per day (the rest are silently dropped).
pub const LINKS_PER_DAY: i64 = 5;

/// What a browser holds after a step of signing in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    /// Signed in: the session token.
    Session(Personal<String>),
    /// The password was right; a TOTP code is needed (the step's token).
    SecondFactor(Personal<String>),
    /// The password was right; the tenant requires a second factor the person has not set up
    /// (the token allows only setting it up).
    Enrol(Personal<String>),
}

/// What a session token stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// A full session.
    Full,
    /// Waiting for a TOTP code.
    SecondFactor,
    /// May only set up a second factor.
    Enrol,
}

/// A live session.
#[derive(Debug, Clone)]
pub struct WebSession {
    /// Row id.
    pub id: i64,
    /// Who, in which tenant, with which role.
    pub scope: Scope,
    /// What the token allows.
    pub kind: SessionKind,
    /// The person's name.
    pub name: Personal<String>,
    /// Their language setting (`en-US`, `fi`, …).
    pub locale: String,
    /// Their time zone (IANA name).
    pub time_zone: String,
}

/// A second factor just confirmed.
#[derive(Debug, Clone)]
pub struct Confirmed {
    /// The new session, when the confirmation finished a sign-in.
    pub session: Option<Personal<String>>,
    /// The person's recovery codes, shown this once.
    pub recovery_codes: Vec<Personal<String>>,
}

/// A new TOTP secret being set up.
#[derive(Debug, Clone)]
pub struct NewSecondFactor {
    /// Base32, for typing into an authenticator app.
    pub secret: Personal<String>,
    /// The `otpauth://` URI for apps that read one.
    pub uri: Personal<String>,
}

impl Helpdesk {
    /// First step with a password. Unknown e-mail, wrong password and inactive account all answer
    /// `Unauthorized` after the same work.
    pub async fn web_sign_in(&self, tenant: TenantId, email: &Email, password: &Personal<String>) -> Result<SignIn> {
        let scope = self.password_step(tenant, email, password).await?;
        let step = self.after_first_factor(scope, false).await?;
        if !matches!(step, SignIn::SecondFactor(_)) {
            self.clear_password_failures(&scope).await?;
        }
        Ok(step)
    }

    /// The step after a password or a sign-in link (`via_link`): a second-factor step for a
    /// person with one (recovery codes are taken there only after a password: a mailbox and a
    /// code must not be enough), an enrolment step where the tenant requires one, else a session.
    async fn after_first_factor(&self, scope: Scope, via_link: bool) -> Result<SignIn> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let factor = suoja_store::web::second_factor(&mut tx, scope.tenant, scope.actor).await?;
        let confirmed = factor.is_some_and(|f| f.confirmed_at.is_some());
        let required = self.second_factor_required(&mut tx, &scope).await?;
        let absolute = self.settings_in_force_on(&mut tx, scope.tenant).await?.settings.sessions.absolute_ms();
        let token = random::token::<32>();
        let (kind, expires, out) = if confirmed {
            (
                if via_link { "link_factor" } else { "second_factor" },
                now.0 + STEP_MS,
                SignIn::SecondFactor(Personal::new(token.clone())),
            )
        } else if required {
            ("enrol", now.0 + STEP_MS, SignIn::Enrol(Personal::new(token.clone())))
        } else {
            ("session", now.0 + absolute, SignIn::Session(Personal::new(token.clone())))
        };
        suoja_store::web::insert_session(&mut tx, scope.tenant, scope.actor, kind, &token_hash(&token), now, Timestamp(expires)).await?;
        if kind == "session" {
            suoja_store::users::touch_login(&mut tx, scope.tenant, scope.actor, now).await?;
        }
        tx.commit().await?;
        tracing::info!(tenant.id = %scope.tenant, user.id = %scope.actor, step = kind, "web sign-in");
        Ok(out)
    }

    /// Second step: the TOTP code for a step token. A wrong code ends the step (sign in again).
    pub async fn web_second_factor(&self, step_token: &str, code: &str) -> Result<Personal<String>> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let row = suoja_store::web::session_by_hash(&mut tx, &token_hash(step_token), now)
            .await?
            .filter(|r| r.kind == "second_factor" || r.kind == "link_factor")
            .ok_or(HelpdeskError::Unauthorized)?;
        let blocked = suoja_store::web::sign_in_failures(&mut tx, row.tenant_id, row.user_id)
            .await?
            .is_some_and(|(_, until)| until.is_some_and(|t| t > now));
        let recovery = !blocked && row.kind == "second_factor" && looks_like_recovery_code(code);
        let ok = if recovery {
            self.use_recovery_code(&mut tx, row.tenant_id, row.user_id, code, now).await?
        } else {
            !blocked && self.check_code(&mut tx, row.tenant_id, row.user_id, code, now).await?
        };
        suoja_store::web::delete_session(&mut tx, row.tenant_id, row.id).await?;
        if !ok {
            tx.commit().await?;
            // A wrong code counts toward the same block as a wrong password.
            if !blocked {
                self.record_password_failure(row.tenant_id, row.user_id, now).await?;
            }
            return Err(HelpdeskError::Unauthorized);
        }
        suoja_store::web::clear_sign_in_failures(&mut tx, row.tenant_id, row.user_id).await?;
        let token = random::token::<32>();
        let absolute = self.settings_in_force_on(&mut tx, row.tenant_id).await?.settings.sessions.absolute_ms();
        suoja_store::web::insert_session(
            &mut tx,
            row.tenant_id,
            row.user_id,
            "session",
            &token_hash(&token),
            now,
            Timestamp(now.0 + absolute),
        )
        .await?;
        suoja_store::users::touch_login(&mut tx, row.tenant_id, row.user_id, now).await?;
        tx.commit().await?;
        Ok(Personal::new(token))
    }

    async fn check_code(&self, c: &mut suoja_store::Conn, tenant: TenantId, user: UserId, code: &str, now: Timestamp) -> Result<bool> {
        let Some(f) = suoja_store::web::second_factor(c, tenant, user).await? else {
            return Ok(false);
        };
        let secret = self.vault.decrypt(c, tenant, &f.secret_enc).await?;
        let Some(step) = totp::matching_step(&secret, code, now) else {
            return Ok(false);
        };
        Ok(suoja_store::web::accept_step(c, tenant, user, step, now).await?)
    }

    /// The session a token stands for, if it is live: not past its absolute limit, not idle too
    /// long, the person still active. Moves the idle clock (at most once a minute).
    pub async fn web_session(&self, token: &str) -> Result<Option<WebSession>> {
        let now = self.now();
        let mut c = self.db.read().await?;
        let Some(row) = suoja_store::web::session_by_hash(&mut c, &token_hash(token), now).await? else {
            return Ok(None);
        };
        let in_force = self.settings_in_force_on(&mut c, row.tenant_id).await?;
        let limits = in_force.settings.sessions;
        let mut kind = match row.kind.as_str() {
            "session" => SessionKind::Full,
            "second_factor" | "link_factor" => SessionKind::SecondFactor,
            "enrol" => SessionKind::Enrol,
            _ => return Ok(None),
        };
        // The limits in force now hold sessions already open; one past them ends for good (a
        // longer limit chosen later does not bring it back).
        if kind == SessionKind::Full && (now.0 - row.last_seen_at.0 > limits.idle_ms() || now.0 - row.created_at.0 > limits.absolute_ms()) {
            drop(c);
            let mut tx = self.db.begin().await?;
            suoja_store::web::delete_session(&mut tx, row.tenant_id, row.id).await?;
            tx.commit().await?;
            return Ok(None);
        }
        let Some(user) = suoja_store::users::by_id(&mut c, row.tenant_id, row.user_id).await? else {
            return Ok(None);
        };
        if !user.active || user.suspended || user.deleted_at.is_some() {
            return Ok(None);
        }
        // A rule switched on while the session was open: it may only set up the factor now.
        if kind == SessionKind::Full
            && in_force.second_factor_required(user.role.is_staff())
            && suoja_store::web::second_factor(&mut c, row.tenant_id, row.user_id)
                .await?
                .is_none_or(|f| f.confirmed_at.is_none())
        {
            kind = SessionKind::Enrol;
        }
        let role = user.role;
        let name = self
            .vault
            .decrypt_str(&mut c, row.tenant_id, &user.name_enc)
            .await
            .map(Personal::new)
            .unwrap_or_else(|_| Personal::new(String::new()));
        drop(c);
        if kind == SessionKind::Full && now.0 - row.last_seen_at.0 >= 60_000 {
            let mut tx = self.db.begin().await?;
            suoja_store::web::touch_session(&mut tx, row.tenant_id, row.id, now).await?;
            tx.commit().await?;
        }
        Ok(Some(WebSession {
            id: row.id,
            scope: Scope {
                tenant: row.tenant_id,
                actor: row.user_id,
                role,
                privacy_officer: user.privacy_officer,
                token: None,
            },
            kind,
            name,
            locale: user.locale,
            time_zone: user.time_zone,
        }))
    }

    /// Ends one session (or step).
    pub async fn web_sign_out(&self, session: &WebSession) -> Result<()> {
        let mut tx = self.db.begin().await?;
        suoja_store::web::delete_session(&mut tx, session.scope.tenant, session.id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends every session of the person, on every device; returns how many.
    pub async fn web_sign_out_everywhere(&self, scope: &Scope) -> Result<u64> {
        let mut tx = self.db.begin().await?;
        let n = self.end_sessions(&mut tx, scope.tenant, scope.actor).await?;
        tx.commit().await?;
        tracing::info!(tenant.id = %scope.tenant, user.id = %scope.actor, sessions = n, "signed out everywhere");
        Ok(n)
    }

    /// Queues a one-time sign-in link to the address, if a person with it can sign in and has
    /// not had too many today. The caller says the same thing either way.
    pub async fn send_sign_in_link(&self, tenant: TenantId, email: &Email, base_url: &str) -> Result<()> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let Some(user) = self.user_by_email(&mut tx, tenant, email).await? else {
            return Ok(());
        };
        if !user.active || user.suspended || user.deleted_at.is_some() {
            return Ok(());
        }
        if suoja_store::web::links_since(&mut tx, tenant, user.id, Timestamp(now.0 - 86_400_000)).await? >= LINKS_PER_DAY {
            return Ok(());
        }
        let token = random::token::<32>();
        suoja_store::web::insert_session(&mut tx, tenant, user.id, "link", &token_hash(&token), now, Timestamp(now.0 + LINK_MS)).await?;
        let body = format!("Sign in to the help centre (the link works once, for 15 minutes): {base_url}/signin/link/{token}");
        let sealed = self.vault.encrypt_str(&mut tx, tenant, user.key_id, &body).await?;
        suoja_store::outbox::insert(&mut tx, tenant, user.id.0, "sign_in_link", sealed, now).await?;
        tx.commit().await?;
        tracing::info!(tenant.id = %tenant, user.id = %user.id, "sign-in link queued");
        Ok(())
    }

    /// Uses a sign-in link (once). Staff still give their second factor.
    pub async fn redeem_sign_in_link(&self, tenant: TenantId, token: &str) -> Result<SignIn> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let row: SessionRow = suoja_store::web::session_by_hash(&mut tx, &token_hash(token), now)
            .await?
            .filter(|r| r.kind == "link" && r.tenant_id == tenant)
            .ok_or(HelpdeskError::Unauthorized)?;
        suoja_store::web::delete_session(&mut tx, tenant, row.id).await?;
        let user = suoja_store::users::by_id(&mut tx, tenant, row.user_id)
            .await?
            .ok_or(HelpdeskError::Unauthorized)?;
        tx.commit().await?;
        let scope = crate::auth::scope_for(tenant, &user)?;
        self.after_first_factor(scope, true).await
    }

    /// Starts setting up a TOTP second factor (replacing an unconfirmed one). A person who has a
    /// confirmed one removes it first.
    pub async fn begin_second_factor(&self, scope: &Scope, issuer: &str) -> Result<NewSecondFactor> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        if suoja_store::web::second_factor(&mut tx, scope.tenant, scope.actor)
            .await?
            .is_some_and(|f| f.confirmed_at.is_some())
        {
            return Err(HelpdeskError::Conflict("a second factor is already set up; remove it first".into()));
        }
        let user = suoja_store::users::by_id(&mut tx, scope.tenant, scope.actor)
            .await?
            .ok_or(HelpdeskError::Unauthorized)?;
        let secret = random::bytes::<20>();
        let sealed = self.vault.encrypt(&mut tx, scope.tenant, user.key_id, &secret).await?;
        suoja_store::web::put_second_factor(&mut tx, scope.tenant, scope.actor, &sealed, now).await?;
        tx.commit().await?;
        let b32 = totp::base32(&secret);
        let uri = format!("otpauth://totp/{issuer}:{}?secret={b32}&issuer={issuer}&digits=6&period=30", scope.actor.0);
        Ok(NewSecondFactor {
            secret: Personal::new(b32),
            uri: Personal::new(uri),
        })
    }

    /// Confirms the factor being set up with a code from the app, and gives the person their
    /// recovery codes (shown once). From an enrolment step, this also signs the person in: the
    /// new session token comes back then.
    pub async fn confirm_second_factor(&self, session: &WebSession, code: &str) -> Result<Confirmed> {
        let now = self.now();
        let scope = session.scope;
        let mut tx = self.db.begin().await?;
        if !self.check_code(&mut tx, scope.tenant, scope.actor, code, now).await? {
            return Err(HelpdeskError::invalid("code", "is not the current code of the authenticator app"));
        }
        let out = if session.kind == SessionKind::Enrol {
            suoja_store::web::delete_session(&mut tx, scope.tenant, session.id).await?;
            let token = random::token::<32>();
            let absolute = self.settings_in_force_on(&mut tx, scope.tenant).await?.settings.sessions.absolute_ms();
            suoja_store::web::insert_session(
                &mut tx,
                scope.tenant,
                scope.actor,
                "session",
                &token_hash(&token),
                now,
                Timestamp(now.0 + absolute),
            )
            .await?;
            suoja_store::users::touch_login(&mut tx, scope.tenant, scope.actor, now).await?;
            Some(Personal::new(token))
        } else {
            None
        };
        let recovery_codes = self.issue_recovery_codes(&mut tx, &scope, now).await?;
        tx.commit().await?;
        tracing::info!(tenant.id = %scope.tenant, user.id = %scope.actor, "second factor confirmed");
        Ok(Confirmed { session: out, recovery_codes })
    }

    /// Whether the person has a confirmed second factor.
    pub async fn has_second_factor(&self, scope: &Scope) -> Result<bool> {
        let mut c = self.db.read().await?;
        Ok(suoja_store::web::second_factor(&mut c, scope.tenant, scope.actor)
            .await?
            .is_some_and(|f| f.confirmed_at.is_some()))
    }

    /// Removes the person's second factor and recovery codes, given a current code from the
    /// app or an unused recovery code (a lost phone is replaced this way). Where the tenant
    /// requires a second factor, the person's sessions may then only set up a new one. The
    /// person is told by mail.
    pub async fn remove_second_factor(&self, scope: &Scope, code: &str) -> Result<()> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let proved = if looks_like_recovery_code(code) {
            suoja_store::web::use_recovery_code(&mut tx, scope.tenant, scope.actor, &recovery_hash(scope.tenant, scope.actor, code), now).await?
        } else {
            self.check_code(&mut tx, scope.tenant, scope.actor, code, now).await?
        };
        if !proved {
            return Err(HelpdeskError::invalid(
                "code",
                "is neither the current code of the authenticator app nor an unused recovery code",
            ));
        }
        suoja_store::web::delete_second_factor(&mut tx, scope.tenant, scope.actor).await?;
        suoja_store::web::delete_recovery_codes(&mut tx, scope.tenant, scope.actor).await?;
        let when = now.to_iso();
        self.mail_person(
            &mut tx,
            scope.tenant,
            scope.actor,
            "second_factor_removed",
            ("Two-step sign-in was turned off", format!("Two-step sign-in was turned off for your account at {when} (UTC), and your recovery codes no longer work.\n\nIf this was not you, change your password, sign out everywhere and tell your administrator.")),
            ("Kaksivaiheinen kirjautuminen poistettiin käytöstä", format!("Tilisi kaksivaiheinen kirjautuminen poistettiin käytöstä {when} (UTC), eivätkä palautuskoodisi enää toimi.\n\nJos se et ollut sinä, vaihda salasanasi, kirjaudu ulos kaikkialta ja kerro ylläpitäjälle.")),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(tenant.id = %scope.tenant, user.id = %scope.actor, "second factor removed");
        Ok(())
    }

    /// Whether the tenant requires a second factor of agents and admins.
    pub async fn staff_second_factor(&self, tenant: TenantId) -> Result<bool> {
        let mut c = self.db.read().await?;
        Ok(suoja_store::web::staff_second_factor(&mut c, tenant).await?)
    }

    /// Sets whether the tenant requires a second factor of agents and admins (admins only).
    pub async fn set_staff_second_factor(&self, scope: &Scope, on: bool) -> Result<()> {
        if scope.role != Role::Admin {
            return Err(HelpdeskError::Forbidden("only admins change sign-in rules"));
        }
        let mut tx = self.db.begin().await?;
        suoja_store::web::set_staff_second_factor(&mut tx, scope.tenant, on).await?;
        tx.commit().await?;
        self.security_cache.forget(scope.tenant);
        tracing::info!(tenant.id = %scope.tenant, on, "staff second factor setting changed");
        Ok(())
    }

    /// Claims a one-time form id before doing a form's work: `Some(location)` when it was
    /// already used (show that instead of doing the work again).
    pub async fn claim_form(&self, scope: &Scope, form_id: &str) -> Result<Option<String>> {
        if form_id.is_empty() || form_id.len() > 64 || !form_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(HelpdeskError::invalid("form_id", "is missing or malformed; reload the page"));
        }
        let mut tx = self.db.begin().await?;
        let found = suoja_store::web::claim_form(&mut tx, scope.tenant, scope.actor, form_id, "", self.now()).await?;
        tx.commit().await?;
        Ok(found)
    }

    /// Records where a claimed form's work led.
    pub async fn finish_form(&self, scope: &Scope, form_id: &str, location: &str) -> Result<()> {
        let mut tx = self.db.begin().await?;
        suoja_store::web::set_form_location(&mut tx, scope.tenant, scope.actor, form_id, location).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets a claimed form id whose work failed, so the corrected form can be sent again.
    pub async fn release_form(&self, scope: &Scope, form_id: &str) -> Result<()> {
        let mut tx = self.db.begin().await?;
        suoja_store::web::release_form(&mut tx, scope.tenant, scope.actor, form_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes expired sessions, steps and links, and day-old form ids (every tenant).
    pub async fn purge_web_state(&self) -> Result<u64> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let n = suoja_store::web::purge_expired(&mut tx, now, Timestamp(now.0 - 86_400_000)).await?;
        tx.commit().await?;
        Ok(n)
    }
}

/// Whether `code` has the shape of a recovery code (ten letters and digits; dashes and spaces
/// ignored) rather than of a six-digit TOTP code.
pub fn looks_like_recovery_code(code: &str) -> bool {
    normalized_recovery_code(code).len() == 10
}

fn normalized_recovery_code(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .take(64)
        .collect()
}

/// The stored form of a person's recovery code: SHA-256 over the code with the tenant and
/// person, so equal codes of two people never share a hash.
fn recovery_hash(tenant: TenantId, user: UserId, code: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(format!("suoja-recovery:{}:{}:", tenant.0, user.0).as_bytes());
    h.update(normalized_recovery_code(code).as_bytes());
    h.finalize().to_vec()
}

/// A new recovery code: ten characters of Crockford's base32 alphabet in lower case (50 random
/// bits), shown as two groups of five.
fn new_recovery_code() -> String {
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
    let bytes = random::bytes::<10>();
    let chars: String = bytes
        .iter()
        .map(|b| char::from(ALPHABET.get(usize::from(b & 31)).copied().unwrap_or(b'0')))
        .collect();
    format!("{}-{}", chars.get(..5).unwrap_or_default(), chars.get(5..).unwrap_or_default())
}

/// The browser and system a `User-Agent` names, in a few words (for the person's own mail).
pub fn browser_name(user_agent: &str) -> String {
    let browser = [("Edg/", "Edge"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari")]
        .iter()
        .find(|(needle, _)| user_agent.contains(needle))
        .map_or("an unknown browser", |(_, name)| name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| user_agent.contains(needle))
    .map(|(_, name)| *name);
    match system {
        Some(s) => format!("{browser}, {s}"),
        None => browser.to_string(),
    }
}

impl Helpdesk {
    /// The session limits in force for the tenant.
    pub async fn session_limits(&self, tenant: TenantId) -> Result<SessionLimits> {
        Ok(self.settings_in_force(tenant).await?.settings.sessions)
    }

    /// Whether `scope` must sign in with a second factor: staff when the tenant requires it of
    /// staff, end users when it requires it of end users.
    pub(crate) async fn second_factor_required(&self, c: &mut suoja_store::Conn, scope: &Scope) -> Result<bool> {
        if scope.is_staff() {
            Ok(suoja_store::web::staff_second_factor(c, scope.tenant).await?)
        } else {
            Ok(suoja_store::settings::security_settings(c, scope.tenant).await?.1.end_user_second_factor)
        }
    }

    /// Gives the person new recovery codes in place of the old ones, given a current code from
    /// the app (a session alone is not enough); the person is told by mail.
    pub async fn create_recovery_codes(&self, scope: &Scope, code: &str) -> Result<Vec<Personal<String>>> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        if suoja_store::web::second_factor(&mut tx, scope.tenant, scope.actor)
            .await?
            .is_none_or(|f| f.confirmed_at.is_none())
        {
            return Err(HelpdeskError::Conflict("set up a second factor first; recovery codes stand in for it".into()));
        }
        if !self.check_code(&mut tx, scope.tenant, scope.actor, code, now).await? {
            return Err(HelpdeskError::invalid("code", "is not the current code of the authenticator app"));
        }
        let codes = self.issue_recovery_codes(&mut tx, scope, now).await?;
        let when = now.to_iso();
        self.mail_person(
            &mut tx,
            scope.tenant,
            scope.actor,
            "recovery_codes_created",
            ("New recovery codes were made", format!("New recovery codes were made for your account at {when} (UTC); the earlier ones no longer work.\n\nIf this was not you, change your password, sign out everywhere and tell your administrator.")),
            ("Uudet palautuskoodit luotiin", format!("Tilillesi luotiin uudet palautuskoodit {when} (UTC); aiemmat eivät enää toimi.\n\nJos se et ollut sinä, vaihda salasanasi, kirjaudu ulos kaikkialta ja kerro ylläpitäjälle.")),
        )
        .await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// Makes the person's recovery codes (the old ones stop working); kept only as hashes.
    async fn issue_recovery_codes(&self, c: &mut suoja_store::Conn, scope: &Scope, now: Timestamp) -> Result<Vec<Personal<String>>> {
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
        let hashes: Vec<Vec<u8>> = codes.iter().map(|c| recovery_hash(scope.tenant, scope.actor, c)).collect();
        suoja_store::web::replace_recovery_codes(c, scope.tenant, scope.actor, &hashes, now).await?;
        self.record_ledger(
            c,
            scope.tenant,
            LedgerKind::RecoveryCodesCreated,
            Some(scope.actor.0),
            Some(scope.actor.0),
            serde_json::json!({ "codes": codes.len() }),
        )
        .await?;
        tracing::info!(tenant.id = %scope.tenant, user.id = %scope.actor, "recovery codes created");
        Ok(codes.into_iter().map(Personal::new).collect())
    }

    /// Queues a mail to a person about their own account, in their language (English or
    /// Finnish), sealed under their key.
    async fn mail_person(&self, c: &mut suoja_store::Conn, tenant: TenantId, user: UserId, kind: &str, en: (&str, String), fi: (&str, String)) -> Result<()> {
        let Some(person) = suoja_store::users::by_id(c, tenant, user).await? else {
            return Ok(());
        };
        let (subject, text) = if person.locale.to_ascii_lowercase().starts_with("fi") { fi } else { en };
        self.queue_about(c, tenant, &person, kind, None, subject, &text).await
    }

    /// How many unused recovery codes the person has.
    pub async fn recovery_codes_left(&self, scope: &Scope) -> Result<i64> {
        let mut c = self.db.read().await?;
        Ok(suoja_store::web::recovery_codes_left(&mut c, scope.tenant, scope.actor).await?)
    }

    /// Uses up a recovery code in place of a TOTP code; on success the person is told by mail
    /// (someone holding their password and a code is in) and how many codes are left.
    async fn use_recovery_code(&self, c: &mut suoja_store::Conn, tenant: TenantId, user: UserId, code: &str, now: Timestamp) -> Result<bool> {
        if !suoja_store::web::use_recovery_code(c, tenant, user, &recovery_hash(tenant, user, code), now).await? {
            return Ok(false);
        }
        let left = suoja_store::web::recovery_codes_left(c, tenant, user).await?;
        self.record_ledger(
            c,
            tenant,
            LedgerKind::RecoveryCodeUsed,
            Some(user.0),
            Some(user.0),
            serde_json::json!({ "left": left }),
        )
        .await?;
        let when = now.to_iso();
        self.mail_person(
            c,
            tenant,
            user,
            "recovery_code_used",
            ("A recovery code was used to sign in", format!("Someone signed in to your account at {when} (UTC) with a recovery code instead of the second factor. You have {left} unused codes left.\n\nIf this was not you, change your password, sign out everywhere and tell your administrator.")),
            ("Kirjauduit palautuskoodilla", format!("Tilillesi kirjauduttiin {when} (UTC) palautuskoodilla toisen tunnistautumisvaiheen sijaan. Käyttämättömiä koodeja on jäljellä {left}.\n\nJos se et ollut sinä, vaihda salasanasi, kirjaudu ulos kaikkialta ja kerro ylläpitäjälle.")),
        )
        .await?;
        tracing::info!(tenant.id = %tenant, user.id = %user, left, "recovery code used");
        Ok(true)
    }

    /// Notes which browser a member of staff signed in from. `device` is the browser's id
    /// cookie, if it sent one; the answer is the id to set when a new one was made. A browser
    /// the person has not used before mails them a sign-in alert, when the tenant keeps alerts
    /// on — except the first browser of an account made in the last week, and at most one
    /// alert in ten minutes. Each person's twenty most recently used browsers are remembered.
    pub async fn note_sign_in(
        &self,
        session_token: &str,
        device: Option<&str>,
        user_agent: &str,
        client: Option<std::net::IpAddr>,
        base_url: &str,
    ) -> Result<Option<String>> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let Some(row) = suoja_store::web::session_by_hash(&mut tx, &token_hash(session_token), now)
            .await?
            .filter(|r| r.kind == "session")
        else {
            return Ok(None);
        };
        let Some(person) = suoja_store::users::by_id(&mut tx, row.tenant_id, row.user_id)
            .await?
            .filter(|p| p.role.is_staff())
        else {
            return Ok(None);
        };
        let (device, new) = match device.filter(|d| (20..100).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')) {
            Some(d) => (d.to_string(), false),
            None => (random::token::<32>(), true),
        };
        let mut h = Sha256::new();
        h.update(b"suoja-device:");
        h.update(device.as_bytes());
        let hash = h.finalize().to_vec();
        let others = suoja_store::web::device_count(&mut tx, row.tenant_id, row.user_id).await?;
        let recent = suoja_store::web::devices_since(&mut tx, row.tenant_id, row.user_id, Timestamp(now.0 - ALERT_QUIET_MS)).await?;
        let known = suoja_store::web::seen_device(&mut tx, row.tenant_id, row.user_id, &hash, now).await?;
        suoja_store::web::trim_devices(&mut tx, row.tenant_id, row.user_id, DEVICES_KEPT).await?;
        let new_account = others == 0 && now.0 - person.created_at.0 < NEW_ACCOUNT_MS;
        if !known && !new_account && recent == 0 && self.settings_in_force_on(&mut tx, row.tenant_id).await?.settings.sign_in_alerts {
            let browser = browser_name(user_agent);
            let address = client.map_or_else(|| "-".to_string(), |ip| ip.to_string());
            let when = now.to_iso();
            self.mail_person(
                &mut tx,
                row.tenant_id,
                row.user_id,
                "sign_in_alert",
                ("New sign-in to your account", format!("Someone signed in to your account at {when} (UTC) from a browser you have not signed in with before: {browser}, address {address}.\n\nIf this was you, there is nothing to do. If it was not, change your password and sign out everywhere at {base_url}/account, and tell your administrator.")),
                ("Uusi kirjautuminen tilillesi", format!("Tilillesi kirjauduttiin {when} (UTC) selaimella, jolla et ole ennen kirjautunut: {browser}, osoite {address}.\n\nJos se olit sinä, mitään ei tarvitse tehdä. Jos et, vaihda salasanasi ja kirjaudu ulos kaikkialta sivulla {base_url}/account ja kerro ylläpitäjälle.")),
            )
            .await?;
            tracing::info!(tenant.id = %row.tenant_id, user.id = %row.user_id, "sign-in from a new browser: alert queued");
        }
        tx.commit().await?;
        Ok(new.then_some(device))
    }
}
