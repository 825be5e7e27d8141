//! The e-mail channel. Mail comes in through an MTA's pipe (`suoja mail deliver`) or from an
//! IMAP mailbox Suoja empties ([`imap`]); each message is read ([`parse`]), turned into a new
//! ticket or a comment on the ticket it answers ([`Mailroom::deliver`]), and kept once, sealed,
//! as the comment's original. Mail goes out from the outbox over SMTP ([`send`]): ticket
//! notifications the helpdesk queues and the privacy engine's messages, each with a Message-ID
//! and a reply address that thread the answer back to its ticket.
//!
//! Nothing of a message (addresses, subjects, bodies) is ever logged: logs carry tenant, ticket
//! and outbox ids and the kind of a refusal only.

mod address;
pub mod auth;
mod deliver;
pub mod imap;
pub mod parse;
pub mod send;
pub mod tenant;
pub mod tls;

use std::sync::Arc;

use suoja_privacy::Privacy;

pub use address::Support;
pub use deliver::{Delivered, IMPORT_AT_ONCE, REFUSED};
pub use parse::Refusal;
pub use tls::Trust;

/// What can go wrong with mail.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The message is refused for good (malformed, too large, automatic, rate limited).
    #[error("{0}")]
    Refused(Refusal),
    /// No such tenant, or several and none named.
    #[error("{0}")]
    Tenant(String),
    /// The helpdesk refused the change.
    #[error(transparent)]
    Helpdesk(#[from] suoja_helpdesk::HelpdeskError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] suoja_store::StoreError),
    /// The vault failed.
    #[error(transparent)]
    Vault(#[from] suoja_vault::VaultError),
    /// The mail server failed or refused.
    #[error("mail server: {0}")]
    Server(String),
    /// The configuration is wrong.
    #[error("{0}")]
    Config(String),
}

impl MailError {
    /// Whether trying again later may succeed (an MTA should retry: exit 75), as opposed to a
    /// message that will never be accepted (exit 65).
    pub fn temporary(&self) -> bool {
        match self {
            // A configuration mistake is fixed by the operator: the MTA keeps the message meanwhile.
            MailError::Config(_) | MailError::Tenant(_) => true,
            MailError::Refused(_) => false,
            MailError::Helpdesk(e) => matches!(
                e,
                suoja_helpdesk::HelpdeskError::Store(_)
                    | suoja_helpdesk::HelpdeskError::Busy
                    | suoja_helpdesk::HelpdeskError::Moving
                    | suoja_helpdesk::HelpdeskError::WrongRegion { .. }
                    | suoja_helpdesk::HelpdeskError::Internal(_)
            ),
            MailError::Store(_) | MailError::Vault(_) | MailError::Server(_) => true,
        }
    }
}

/// Results of mail work.
pub type Result<T, E = MailError> = std::result::Result<T, E>;

/// A mail server's host as its URL names it; an IPv6 address without its brackets, as the
/// resolver and TLS names take it.
pub(crate) fn url_host(u: &url::Url) -> Option<String> {
    u.host_str().map(|h| h.trim_start_matches('[').trim_end_matches(']').to_string())
}

/// The addresses of a mail server (`what`: "IMAP" or "SMTP", which starts each message), looked
/// up within 10 seconds. With `guard` (a server a tenant named), every address must be public
/// unless the operator lists the host.
pub(crate) async fn resolve(what: &str, host: &str, port: u16, guard: Option<&suoja_helpdesk::webhooks::EndpointPolicy>) -> Result<Vec<std::net::SocketAddr>> {
    let addrs: Vec<std::net::SocketAddr> = tokio::time::timeout(std::time::Duration::from_secs(10), tokio::net::lookup_host((host, port)))
        .await
        .map_err(|_| MailError::Server(format!("{what}: the host name did not resolve in time")))?
        .map_err(|_| MailError::Server(format!("{what}: the host name does not resolve")))?
        .collect();
    if addrs.is_empty() {
        return Err(MailError::Server(format!("{what}: the host name does not resolve")));
    }
    if let Some(policy) = guard
        && !policy.allows_host(host)
        && addrs.iter().any(|a| !suoja_helpdesk::webhooks::is_public(a.ip()))
    {
        return Err(MailError::Server(format!(
            "{what}: the server must be at a public address (not loopback, private, link-local or the like)"
        )));
    }
    Ok(addrs)
}

/// How the mail channel is set up.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// The support address (`mail_from`).
    pub support: Support,
    /// The privacy address: mail to it opens a privacy request instead of a ticket.
    pub privacy: Option<Support>,
    /// Where people reach the installation (links in messages).
    pub public_url: String,
    /// Largest message accepted.
    pub max_bytes: usize,
    /// Messages one sender may write in an hour.
    pub per_sender_per_hour: u32,
    /// The DNS server SPF, DKIM and DMARC lookups ask (`None`: the system's resolver).
    pub dns: Option<std::net::SocketAddr>,
    /// Domains tenants may use for their own addresses, besides the support address's.
    pub tenant_domains: Vec<String>,
    /// The roots mail servers' certificates are checked against.
    pub trust: Trust,
    /// `Received:` headers the site's own delivery adds above the receiving server's in fetched
    /// mail (1 when Postfix hands mail to Dovecot over LMTP), passed over when the sender's
    /// address is read for SPF.
    pub local_hops: usize,
}

/// The mail channel as an installation runs it: the channel, where mail goes and comes from,
/// and whether notifications are sent.
#[derive(Clone, Debug)]
pub struct Setup {
    /// The channel.
    pub room: Mailroom,
    /// Where mail goes out.
    pub smtp: Option<send::Smtp>,
    /// Where mail is fetched from.
    pub imap: Option<imap::Imap>,
    /// Whether ticket notifications are queued.
    pub notifications: bool,
}

/// The mail channel over the privacy engine (which holds the helpdesk).
#[derive(Clone, Debug)]
pub struct Mailroom {
    privacy: Privacy,
    cfg: Arc<MailConfig>,
    checker: Option<auth::Checker>,
    /// Held while a message to the privacy address is handled, so two copies stored side by
    /// side open one request, not two.
    privacy_mail: Arc<tokio::sync::Mutex<()>>,
    /// Tenants' own SMTP servers, opened (their pooled connections kept between passes).
    tenant_smtp: Arc<tokio::sync::Mutex<std::collections::HashMap<suoja_core::TenantId, tenant::OpenedSmtp>>>,
}

impl Mailroom {
    /// The channel for `privacy`'s helpdesk with `cfg`. Without a usable resolver, mail to the
    /// privacy address is recorded as unchecked.
    pub fn new(privacy: Privacy, cfg: MailConfig) -> Self {
        let checker = match auth::Checker::new(cfg.dns) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(error = %e, "sender checks (SPF, DKIM, DMARC) are off");
                None
            }
        };
        Self {
            privacy,
            cfg: Arc::new(cfg),
            checker,
            privacy_mail: Arc::new(tokio::sync::Mutex::new(())),
            tenant_smtp: Arc::default(),
        }
    }

    /// The services behind it.
    pub fn privacy(&self) -> &Privacy {
        &self.privacy
    }

    /// Its configuration.
    pub fn config(&self) -> &MailConfig {
        &self.cfg
    }
}
