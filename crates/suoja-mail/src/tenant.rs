//! Each tenant's own mail: its support and privacy addresses (the installation's, from
//! `mail_from` and `mail_privacy_address`, unless the tenant's admins set others), the IMAP
//! mailboxes its admins add in the admin pages, which the fetcher empties beside the
//! installation's own `imap_url`, and the SMTP server its mail goes out through (the
//! installation's `smtp_url` unless its admins name their own).
//!
//! A mailbox's or server's URL carries its password: it is sealed under a key of its own, shown
//! to nobody (the pages show scheme, host, port and folder), and the key is destroyed when it is
//! removed or replaced. A server a tenant names must be on the public internet, unless the
//! operator lists its host (`webhook_allowed_hosts`, the same list webhooks obey), so no tenant
//! can make Suoja knock on the machines beside it; the check is made when it is added and again
//! at every connection (an SMTP server's name is looked up again at least every five minutes,
//! and the connection goes to the address checked). Both are always reached over TLS.

use serde_json::{Value, json};
use suoja_core::{Scope, TenantId, Timestamp};
use suoja_helpdesk::HelpdeskError;
use suoja_store::Conn;

use crate::imap::Imap;
use crate::send::Smtp;
use crate::{MailError, Mailroom, Result, Support};

/// How long an opened tenant SMTP server is used before its name is looked up and checked again.
const SMTP_RECHECK: std::time::Duration = std::time::Duration::from_secs(300);

/// A tenant's own SMTP server, opened: the sealed settings it was opened from (they change
/// only when it is replaced), when, and the transport.
#[derive(Debug, Clone)]
pub(crate) struct OpenedSmtp {
    version: Vec<u8>,
    opened: std::time::Instant,
    smtp: Smtp,
}

/// Mailboxes one tenant may add.
pub const MAX_MAILBOXES: usize = 10;

/// How long a node's hold on a mailbox lasts without renewal.
pub const LEASE_MS: i64 = 120_000;

/// A tenant's addresses in effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addresses {
    /// Where customers write, and what notifications come from.
    pub support: Support,
    /// Where privacy requests are written to, if anywhere.
    pub privacy: Option<Support>,
    /// Whether these are the tenant's own (not the installation's).
    pub own: bool,
    /// The installation's support address (replies to mail sent before the tenant chose its
    /// own still come back by it).
    pub installation: Support,
}

impl Addresses {
    /// The ticket token in a reply address of either support address.
    pub fn reply_tag<'a>(&self, address: &'a str) -> Option<&'a str> {
        self.support.tag_of(address).or_else(|| self.installation.tag_of(address)).flatten()
    }

    /// Whether `address` is one of the helpdesk's own (support or privacy, with or without a
    /// `+tag`).
    pub fn is_ours(&self, address: &str) -> bool {
        self.support.tag_of(address).is_some()
            || self.installation.tag_of(address).is_some()
            || self.privacy.as_ref().is_some_and(|p| p.tag_of(address).is_some())
    }

    /// The helpdesk's own addresses, written out.
    pub fn list(&self) -> Vec<String> {
        let mut out = vec![self.support.address(), self.installation.address()];
        out.extend(self.privacy.as_ref().map(Support::address));
        out
    }
}

/// A mailbox as the admin pages list it: never its credentials.
#[derive(Debug, Clone)]
pub struct MailboxInfo {
    /// Id.
    pub id: i64,
    /// Scheme, host, port and folder, and what happens to imported mail.
    pub server: String,
    /// When it was last emptied without an error.
    pub last_ok_at: Option<Timestamp>,
    /// What went wrong last.
    pub last_error: Option<String>,
    /// When it was added.
    pub created_at: Timestamp,
}

/// A tenant's mailbox, opened for the fetcher.
#[derive(Debug, Clone)]
pub struct TenantMailbox {
    /// Its tenant.
    pub tenant: TenantId,
    /// Its id.
    pub id: i64,
    /// Where and how to fetch (with the host check on).
    pub imap: Imap,
    /// The sealed URL, which changes only when the mailbox is replaced.
    pub version: Vec<u8>,
}

fn admin(scope: &Scope) -> Result<()> {
    if scope.is_admin() {
        Ok(())
    } else {
        Err(HelpdeskError::Forbidden("only admins can change the mail settings").into())
    }
}

fn invalid(field: &str, message: impl Into<String>) -> MailError {
    HelpdeskError::invalid(field, message).into()
}

/// Reads an address typed into the admin page (`""`: none).
fn address_field(field: &str, value: &str) -> Result<Option<Support>> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if v.len() > 254 || v.contains(char::is_whitespace) || v.contains(['<', '>', ',', ';', '"']) {
        return Err(invalid(field, "must be one address like support@example.com"));
    }
    Support::parse(v)
        .map(Some)
        .map_err(|_| invalid(field, "must be one address like support@example.com, without a +tag"))
}

impl Mailroom {
    /// The addresses in effect for `tenant`.
    pub async fn addresses(&self, c: &mut Conn, tenant: TenantId) -> Result<Addresses> {
        let (support, privacy) = suoja_store::settings::mail_addresses(c, tenant).await?;
        let installation = self.cfg.support.clone();
        let own = support.is_some() || privacy.is_some();
        Ok(Addresses {
            support: support
                .as_deref()
                .and_then(|a| Support::parse(a).ok())
                .unwrap_or_else(|| self.cfg.support.clone()),
            privacy: match privacy.as_deref() {
                Some(p) => Support::parse(p).ok(),
                None => self.cfg.privacy.clone(),
            },
            own,
            installation,
        })
    }

    /// The addresses the tenant set itself (empty: the installation's), for its admins.
    pub async fn own_addresses(&self, scope: &Scope) -> Result<(String, String)> {
        admin(scope)?;
        let mut c = self.privacy.helpdesk().db().read().await?;
        let (s, p) = suoja_store::settings::mail_addresses(&mut c, scope.tenant).await?;
        Ok((s.unwrap_or_default(), p.unwrap_or_default()))
    }

    /// Sets the tenant's own support and privacy addresses (`""`: the installation's). The two
    /// must differ; mail to either must reach a mailbox Suoja reads (the page says so).
    pub async fn set_addresses(&self, scope: &Scope, support: &str, privacy: &str) -> Result<()> {
        admin(scope)?;
        let s = address_field("support_address", support)?;
        let p = address_field("privacy_address", privacy)?;
        if let (Some(s), Some(p)) = (&s, &p)
            && s.address().eq_ignore_ascii_case(&p.address())
        {
            return Err(invalid("privacy_address", "must differ from the support address"));
        }
        let hd = self.privacy.helpdesk();
        let mut tx = hd.db().begin().await?;
        // Mail goes out From these through the installation's server: only at domains the
        // operator allows, never the installation's own addresses, never another tenant's.
        let installation: Vec<String> = std::iter::once(self.cfg.support.address())
            .chain(self.cfg.privacy.as_ref().map(Support::address))
            .collect();
        for (field, a) in [("support_address", &s), ("privacy_address", &p)] {
            let Some(a) = a else { continue };
            let allowed = a.domain == self.cfg.support.domain || self.cfg.tenant_domains.iter().any(|d| d.eq_ignore_ascii_case(&a.domain));
            if !allowed {
                return Err(invalid(field, "must be at a domain the operator allows (mail_tenant_domains)"));
            }
            if installation.iter().any(|i| i.eq_ignore_ascii_case(&a.address())) {
                return Err(invalid(field, "is the installation's own address"));
            }
            if suoja_store::settings::mail_address_taken(&mut tx, scope.tenant, &a.address()).await? {
                return Err(invalid(field, "is already another helpdesk's address"));
            }
        }
        let (s, p) = (s.map(|a| a.address()), p.map(|a| a.address()));
        suoja_store::settings::set_mail_addresses(&mut tx, scope.tenant, s.as_deref(), p.as_deref(), scope.actor.0, hd.now()).await?;
        tx.commit().await?;
        tracing::info!(tenant.id = %scope.tenant, "mail addresses changed");
        Ok(())
    }

    /// The tenant's mailboxes, for its admins.
    pub async fn mailboxes(&self, scope: &Scope) -> Result<Vec<MailboxInfo>> {
        admin(scope)?;
        let hd = self.privacy.helpdesk();
        let mut c = hd.db().read().await?;
        let rows = suoja_store::mail::mailboxes(&mut c, scope.tenant).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let server = match self.open_mailbox(&mut c, &r).await {
                Ok(imap) => imap.server(),
                Err(_) => "(unreadable)".into(),
            };
            out.push(MailboxInfo {
                id: r.id,
                server,
                last_ok_at: r.last_ok_at,
                last_error: r.last_error,
                created_at: r.created_at,
            });
        }
        Ok(out)
    }

    /// Adds a mailbox after logging in to it once (so a wrong password or folder is told at
    /// once, with the server's answer); returns its id and that answer.
    pub async fn add_mailbox(&self, scope: &Scope, url: &str, move_to: &str) -> Result<(i64, String)> {
        admin(scope)?;
        let url = url.trim();
        if url.is_empty() || url.len() > 2000 {
            return Err(invalid("imap_url", "must be a URL like imaps://user:password@mail.example.com:993/INBOX"));
        }
        let move_to = move_to.trim();
        if move_to.len() > 200 || move_to.chars().any(char::is_control) {
            return Err(invalid("move_to", "must be a folder name"));
        }
        let move_to = (!move_to.is_empty()).then(|| move_to.to_string());
        let imap = Imap::from_url(url, move_to.clone(), &self.cfg.trust)
            .and_then(|i| i.guarded(self.privacy.helpdesk().endpoint_policy().clone()))
            .map_err(|e| invalid("imap_url", e.to_string()))?;
        let hd = self.privacy.helpdesk();
        {
            let mut c = hd.db().read().await?;
            if suoja_store::mail::mailboxes(&mut c, scope.tenant).await?.len() >= MAX_MAILBOXES {
                return Err(invalid("imap_url", format!("a tenant may have at most {MAX_MAILBOXES} mailboxes")));
            }
        }
        let answer = imap.check().await.map_err(|e| invalid("imap_url", e.to_string()))?;
        let now = hd.now();
        let mut tx = hd.db().begin().await?;
        let key = hd.vault().create_subject_key(&mut tx, scope.tenant, "mailbox", now).await?;
        let sealed = hd
            .vault()
            .encrypt_str(&mut tx, scope.tenant, key, &json!({ "url": url, "move_to": move_to }).to_string())
            .await?;
        let id = suoja_store::mail::insert_mailbox(&mut tx, scope.tenant, key.0, &sealed, scope.actor.0, now).await?;
        tx.commit().await?;
        tracing::info!(tenant.id = %scope.tenant, mailbox.id = id, "mailbox added");
        Ok((id, answer))
    }

    /// Removes a mailbox and destroys the key its credentials were sealed under.
    pub async fn remove_mailbox(&self, scope: &Scope, id: i64) -> Result<()> {
        admin(scope)?;
        let hd = self.privacy.helpdesk();
        let mut tx = hd.db().begin().await?;
        let Some(key) = suoja_store::mail::delete_mailbox(&mut tx, scope.tenant, id).await? else {
            return Err(HelpdeskError::NotFound("Mailbox").into());
        };
        hd.vault().destroy_subject_key(&mut tx, scope.tenant, suoja_core::KeyId(key)).await?;
        tx.commit().await?;
        tracing::info!(tenant.id = %scope.tenant, mailbox.id = id, "mailbox removed");
        Ok(())
    }

    /// Every tenant's mailboxes, for the fetcher: each one's id and version (its sealed
    /// settings, which change only when it is replaced), and, opened, those `known` does not
    /// already hold at that version — so the fetcher's look every few seconds decrypts only
    /// what is new. One that cannot be opened is left out of the opened and logged.
    pub async fn tenant_mailboxes(&self, known: impl Fn(i64, &[u8]) -> bool) -> Result<(Vec<(i64, Vec<u8>)>, Vec<TenantMailbox>)> {
        let hd = self.privacy.helpdesk();
        let mut c = hd.db().read().await?;
        let rows = suoja_store::mail::all_mailboxes(&mut c).await?;
        let present = rows.iter().map(|r| (r.id, r.url_enc.clone())).collect();
        let mut opened = Vec::new();
        for r in rows.iter().filter(|r| !known(r.id, &r.url_enc)) {
            match self.open_mailbox(&mut c, r).await {
                Ok(imap) => opened.push(TenantMailbox {
                    tenant: r.tenant,
                    id: r.id,
                    imap,
                    version: r.url_enc.clone(),
                }),
                Err(e) => tracing::warn!(tenant.id = %r.tenant, mailbox.id = r.id, error = %e, "a mailbox cannot be opened"),
            }
        }
        Ok((present, opened))
    }

    /// Takes or renews this node's hold on a mailbox; whether it may fetch it now.
    pub async fn lease_mailbox(&self, m: &TenantMailbox, owner: &str) -> Result<bool> {
        let hd = self.privacy.helpdesk();
        let now = hd.now();
        let mut tx = hd.db().begin().await?;
        let ok = suoja_store::mail::lease_mailbox(&mut tx, m.tenant, m.id, owner, Timestamp(now.0 + LEASE_MS), now).await?;
        tx.commit().await?;
        Ok(ok)
    }

    /// Notes how a pass over a mailbox went (an error as its kind, which names no one).
    pub async fn note_mailbox(&self, m: &TenantMailbox, error: Option<&MailError>) -> Result<()> {
        let hd = self.privacy.helpdesk();
        let mut tx = hd.db().begin().await?;
        let e = error.map(|e| e.to_string().chars().take(200).collect::<String>());
        suoja_store::mail::note_mailbox(&mut tx, m.tenant, m.id, e.as_deref(), hd.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The tenant's own SMTP server as its admins see it (never the password), if it has one.
    pub async fn own_smtp(&self, scope: &Scope) -> Result<Option<String>> {
        admin(scope)?;
        let hd = self.privacy.helpdesk();
        let mut c = hd.db().read().await?;
        let Some((_, enc)) = suoja_store::settings::mail_smtp(&mut c, scope.tenant).await? else {
            return Ok(None);
        };
        let v = sealed_smtp(&hd.vault().decrypt_str(&mut c, scope.tenant, &enc).await?)?;
        Ok(Some(v.get("server").and_then(Value::as_str).unwrap_or_default().to_string()))
    }

    /// Sends the tenant's mail through its own server from now on, after signing in to it once
    /// (a wrong password or an untrusted certificate is told at once); the server's answer.
    /// It replaces any the tenant had, whose key is destroyed.
    pub async fn set_smtp(&self, scope: &Scope, url: &str) -> Result<String> {
        admin(scope)?;
        let url = url.trim();
        if url.is_empty() || url.len() > 2000 {
            return Err(invalid("smtp_url", "must be a URL like smtps://user:password@mail.example.com:465"));
        }
        let hd = self.privacy.helpdesk();
        let smtp = Smtp::for_tenant(url, &self.cfg.trust, hd.endpoint_policy())
            .await
            .map_err(|e| invalid("smtp_url", e.to_string()))?;
        smtp.check().await.map_err(|e| invalid("smtp_url", e.to_string()))?;
        let server = smtp.server().to_string();
        let now = hd.now();
        let mut tx = hd.db().begin().await?;
        let key = hd.vault().create_subject_key(&mut tx, scope.tenant, "smtp", now).await?;
        let sealed = hd
            .vault()
            .encrypt_str(&mut tx, scope.tenant, key, &json!({ "url": url, "server": server }).to_string())
            .await?;
        if let Some(old) = suoja_store::settings::set_mail_smtp(&mut tx, scope.tenant, Some((key, &sealed)), scope.actor.0, now).await? {
            hd.vault().destroy_subject_key(&mut tx, scope.tenant, old).await?;
        }
        tx.commit().await?;
        self.tenant_smtp.lock().await.remove(&scope.tenant);
        tracing::info!(tenant.id = %scope.tenant, "tenant SMTP server set");
        Ok(format!("signed in; the tenant's mail now goes out through {server}"))
    }

    /// Sends the tenant's mail through the installation's server again, and destroys the key
    /// its own server's settings were sealed under.
    pub async fn remove_smtp(&self, scope: &Scope) -> Result<()> {
        admin(scope)?;
        let hd = self.privacy.helpdesk();
        let mut tx = hd.db().begin().await?;
        if let Some(old) = suoja_store::settings::set_mail_smtp(&mut tx, scope.tenant, None, scope.actor.0, hd.now()).await? {
            hd.vault().destroy_subject_key(&mut tx, scope.tenant, old).await?;
        }
        tx.commit().await?;
        self.tenant_smtp.lock().await.remove(&scope.tenant);
        tracing::info!(tenant.id = %scope.tenant, "tenant SMTP server removed");
        Ok(())
    }

    /// The server `tenant`'s mail goes out through: its own, when its admins named one, else
    /// `installation`.
    pub(crate) async fn smtp_for(&self, tenant: TenantId, installation: &Smtp) -> Result<Smtp> {
        let hd = self.privacy.helpdesk();
        let mut c = hd.db().read().await?;
        let Some((_, enc)) = suoja_store::settings::mail_smtp(&mut c, tenant).await? else {
            return Ok(installation.clone());
        };
        if let Some(o) = self.tenant_smtp.lock().await.get(&tenant)
            && o.version == enc
            && o.opened.elapsed() < SMTP_RECHECK
        {
            return Ok(o.smtp.clone());
        }
        let v = sealed_smtp(&hd.vault().decrypt_str(&mut c, tenant, &enc).await?)?;
        drop(c);
        let url = v.get("url").and_then(Value::as_str).unwrap_or_default();
        let smtp = Smtp::for_tenant(url, &self.cfg.trust, hd.endpoint_policy()).await?;
        self.tenant_smtp.lock().await.insert(
            tenant,
            OpenedSmtp {
                version: enc,
                opened: std::time::Instant::now(),
                smtp: smtp.clone(),
            },
        );
        Ok(smtp)
    }

    async fn open_mailbox(&self, c: &mut Conn, r: &suoja_store::mail::MailboxRow) -> Result<Imap> {
        let hd = self.privacy.helpdesk();
        let text = hd.vault().decrypt_str(c, r.tenant, &r.url_enc).await?;
        let v: Value = serde_json::from_str(&text).map_err(|_| MailError::Config("a mailbox's settings are unreadable".into()))?;
        let url = v.get("url").and_then(Value::as_str).unwrap_or_default();
        let move_to = v.get("move_to").and_then(Value::as_str).map(str::to_string);
        Imap::from_url(url, move_to, &self.cfg.trust)?.guarded(hd.endpoint_policy().clone())
    }
}

/// A tenant's sealed SMTP settings, read.
fn sealed_smtp(text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|_| MailError::Config("the tenant's SMTP settings are unreadable".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_typed_into_the_page() {
        assert_eq!(address_field("a", "  ").unwrap(), None);
        assert_eq!(address_field("a", "Help@Acme.test").unwrap().unwrap().address(), "Help@acme.test");
        for bad in ["help", "help+x@acme.test", "a@b.test, c@d.test", "Help <help@acme.test>", "a b@c.test"] {
            assert!(address_field("a", bad).is_err(), "{bad}");
        }
    }
}
