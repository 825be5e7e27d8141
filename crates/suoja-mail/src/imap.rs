//! Mail in from an IMAP mailbox. Each pass logs in, takes every message in the folder, stores
//! it (or refuses it for good), and then removes it from the mail server — deleted and expunged,
//! or moved to a folder the operator names — so no second copy of personal data stays with the
//! mail host. Between passes it waits with IDLE where the server offers it, so new mail is taken
//! within moments, and polls otherwise. A message that could not be stored for a passing reason (the database away) stays
//! on the server for the next pass; storing is idempotent, so a pass cut short between storing
//! and removing does no harm.

use std::sync::Arc;

use futures_util::StreamExt as _;
use suoja_core::TenantId;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::{MailError, Mailroom, Result};

/// Messages taken in one pass (the rest wait for the next).
const PER_PASS: usize = 200;
/// Messages fetched with one command, and then stored side by side.
const FETCH_CHUNK: usize = 16;

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    /// Plain text (`?tls=none`).
    Plain,
    /// STARTTLS when the server offers it (`imap://`).
    StartTlsIfOffered,
    /// STARTTLS, or no connection (`?tls=starttls`, and every mailbox a tenant adds).
    StartTls,
    /// TLS from the start (`imaps://`).
    Tls,
}

/// Where to fetch from, parsed from `imap_url`.
#[derive(Clone)]
pub struct Imap {
    host: String,
    port: u16,
    security: Security,
    trust: crate::tls::Trust,
    user: String,
    password: String,
    folder: String,
    move_to: Option<String>,
    /// For a server a tenant named: only public addresses, or the hosts the operator lists.
    guard: Option<Arc<suoja_helpdesk::webhooks::EndpointPolicy>>,
}

impl std::fmt::Debug for Imap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the user or password.
        f.debug_struct("Imap").field("security", &self.security).finish_non_exhaustive()
    }
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Fetched {
    /// Stored (new tickets, comments, or duplicates recognised).
    pub stored: usize,
    /// Refused for good and removed.
    pub refused: usize,
    /// Left on the server for the next pass.
    pub kept: usize,
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug> Io for T {}

fn imap_err(e: impl std::fmt::Display) -> MailError {
    // The server's words may quote a mailbox name or an address: only the kind is kept.
    let s = e.to_string();
    let kind = s.split(':').next().unwrap_or("error").chars().take(40).collect::<String>();
    MailError::Server(format!("IMAP: {kind}"))
}

impl Imap {
    /// Reads `imap://user:pass@host[:143]/FOLDER[?tls=none|starttls]` or `imaps://…[:993]/…`
    /// (folder `INBOX` when none is given); `move_to` keeps imported messages in that folder
    /// instead of deleting them; server certificates are checked against `trust`.
    pub fn from_url(url: &str, move_to: Option<String>, trust: &crate::tls::Trust) -> Result<Self> {
        let bad = |why: &str| MailError::Config(format!("imap_url: {why}"));
        let u = url::Url::parse(url).map_err(|_| bad("not a URL"))?;
        let tls_param = u.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.into_owned());
        let security = match (u.scheme(), tls_param.as_deref()) {
            ("imap", None) => Security::StartTlsIfOffered,
            ("imap", Some("starttls")) => Security::StartTls,
            ("imap", Some("none")) => Security::Plain,
            ("imaps", None) => Security::Tls,
            _ => return Err(bad("use imap://…/INBOX (tls=none or tls=starttls may follow) or imaps://…/INBOX")),
        };
        let dec = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
        let host = crate::url_host(&u).ok_or_else(|| bad("no host"))?;
        let user = dec(u.username());
        let password = dec(u.password().ok_or_else(|| bad("no user and password (imap://user:pass@host/INBOX)"))?);
        let folder = dec(u.path().trim_start_matches('/'));
        Ok(Self {
            port: u.port().unwrap_or(if security == Security::Tls { 993 } else { 143 }),
            host,
            security,
            trust: trust.clone(),
            user,
            password,
            folder: if folder.is_empty() { "INBOX".into() } else { folder },
            move_to,
            guard: None,
        })
    }

    /// The same mailbox, connected to only at public addresses or hosts `policy` lists (for
    /// servers a tenant names, not the operator).
    /// Such a mailbox is always read over TLS: `imap://` requires STARTTLS, and `tls=none` is
    /// refused.
    pub fn guarded(mut self, policy: suoja_helpdesk::webhooks::EndpointPolicy) -> Result<Self> {
        self.security = match self.security {
            Security::Plain => {
                return Err(MailError::Config(
                    "imap_url: a mailbox is read over TLS (imaps://, or imap:// with a server that offers STARTTLS)".into(),
                ));
            }
            Security::StartTlsIfOffered | Security::StartTls => Security::StartTls,
            Security::Tls => Security::Tls,
        };
        self.guard = Some(Arc::new(policy));
        Ok(self)
    }

    /// Logs in and opens the folder once; the server's answer in a few words (how many
    /// messages wait), or why it failed.
    pub async fn check(&self) -> Result<String> {
        // Bounded: a server that stays silent, or talks without end, is given up on.
        tokio::time::timeout(std::time::Duration::from_secs(20), self.check_inner())
            .await
            .map_err(|_| MailError::Server("IMAP: the server did not answer in time".into()))?
    }

    async fn check_inner(&self) -> Result<String> {
        let client = self.connect().await?;
        let mut s = client
            .login(&self.user, &self.password)
            .await
            .map_err(|_| MailError::Server("IMAP: the server refused the user name or password".into()))?;
        let folder = s
            .select(&self.folder)
            .await
            .map_err(|_| MailError::Server("IMAP: the folder cannot be opened".into()))?;
        let _ = s.logout().await;
        Ok(format!("logged in; {} messages waiting in the folder", folder.exists))
    }

    /// Where mail is fetched from, for people: scheme, host, port and folder, never the
    /// credentials.
    pub fn server(&self) -> String {
        let (scheme, tls) = match self.security {
            Security::Tls => ("imaps", "TLS"),
            Security::StartTls => ("imap", "STARTTLS"),
            Security::StartTlsIfOffered => ("imap", "STARTTLS when offered"),
            Security::Plain => ("imap", "no TLS"),
        };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let kept = match &self.move_to {
            Some(m) => format!("imported mail moved to {m}"),
            None => "imported mail deleted from the server".to_string(),
        };
        format!("{scheme}://{host}:{}/{} ({tls}; {kept})", self.port, self.folder)
    }

    /// A connection ready to log in: the server's greeting read, and TLS in place as the URL
    /// asks (from the start, or after STARTTLS).
    async fn connect(&self) -> Result<async_imap::Client<Box<dyn Io>>> {
        let addrs = crate::resolve("IMAP", &self.host, self.port, self.guard.as_deref()).await?;
        let tcp = tokio::time::timeout(std::time::Duration::from_secs(20), TcpStream::connect(&addrs[..]))
            .await
            .map_err(|_| MailError::Server("IMAP: connection timed out".into()))?
            .map_err(|_| MailError::Server("IMAP: connection failed".into()))?;
        if self.security == Security::Tls {
            let mut client = async_imap::Client::new(Box::new(self.handshake(tcp).await?) as Box<dyn Io>);
            client.read_response().await.map_err(imap_err)?;
            return Ok(client);
        }
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await.map_err(imap_err)?;
        if self.security == Security::Plain {
            return Ok(Self::boxed(client));
        }
        match client.run_command_and_check_ok("STARTTLS", None).await {
            Ok(()) => {
                // No greeting follows the handshake.
                let tls = self.handshake(client.into_inner()).await?;
                Ok(async_imap::Client::new(Box::new(tls) as Box<dyn Io>))
            }
            Err(async_imap::error::Error::No(_) | async_imap::error::Error::Bad(_)) if self.security == Security::StartTlsIfOffered => Ok(Self::boxed(client)),
            Err(_) => Err(MailError::Server("IMAP: the server does not offer STARTTLS".into())),
        }
    }

    fn boxed(client: async_imap::Client<TcpStream>) -> async_imap::Client<Box<dyn Io>> {
        async_imap::Client::new(Box::new(client.into_inner()) as Box<dyn Io>)
    }

    async fn handshake(&self, tcp: TcpStream) -> Result<tokio_rustls::client::TlsStream<TcpStream>> {
        let name = tokio_rustls::rustls::pki_types::ServerName::try_from(self.host.clone())
            .map_err(|_| MailError::Config("imap_url: the host is not a valid TLS name".into()))?;
        tokio::time::timeout(
            std::time::Duration::from_secs(20),
            tokio_rustls::TlsConnector::from(self.trust.rustls()?).connect(name, tcp),
        )
        .await
        .map_err(|_| MailError::Server("IMAP: TLS handshake timed out".into()))?
        .map_err(|_| MailError::Server("IMAP: TLS handshake failed (is the server's certificate valid for its name?)".into()))
    }
}

impl Mailroom {
    /// One pass over the mailbox for `tenant`.
    pub async fn fetch_once(&self, imap: &Imap, tenant: TenantId) -> Result<Fetched> {
        // With several regions, a tenant moved away (or being moved) has its mail left on the
        // server: it is fetched where the tenant is served, once it is.
        let hd = self.privacy.helpdesk();
        let subdomain = {
            let mut c = hd.db().read().await?;
            suoja_store::tenants::by_id(&mut c, tenant).await?.map(|t| t.subdomain)
        };
        if let Some(subdomain) = subdomain {
            hd.check_region(&subdomain).await?;
        }
        let client = imap.connect().await?;
        let mut s = client.login(&imap.user, &imap.password).await.map_err(|(e, _)| imap_err(e))?;
        s.select(&imap.folder).await.map_err(imap_err)?;
        let mut uids: Vec<u32> = s.uid_search("ALL").await.map_err(imap_err)?.into_iter().collect();
        uids.sort_unstable();
        let mut done = Vec::new();
        let mut out = Fetched::default();
        let uids: Vec<u32> = uids.into_iter().take(PER_PASS).collect();
        for chunk in uids.chunks(FETCH_CHUNK) {
            // One FETCH for the chunk, then its messages stored side by side (their commits
            // share a sync to disk).
            let set = chunk.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
            let mut raws: Vec<(u32, Vec<u8>)> = Vec::with_capacity(chunk.len());
            {
                let fetches = s.uid_fetch(&set, "BODY.PEEK[]").await.map_err(imap_err)?;
                let items: Vec<_> = fetches.collect().await;
                for f in items.into_iter().filter_map(|f| f.ok()) {
                    if let (Some(uid), Some(body)) = (f.uid, f.body()) {
                        raws.push((uid, body.to_vec()));
                    }
                }
            }
            let bodies: Vec<&[u8]> = raws.iter().map(|(_, r)| r.as_slice()).collect();
            let results = self.deliver_all(tenant, &bodies).await;
            for ((uid, raw), result) in raws.iter().zip(results) {
                match result {
                    Ok(_) => {
                        out.stored += 1;
                        done.push(*uid);
                    }
                    Err(MailError::Refused(why)) => {
                        out.refused += 1;
                        done.push(*uid);
                        tracing::info!(tenant.id = %tenant, refusal = %refusal_kind(&why), "fetched mail refused");
                        // No MTA will bounce it: the sender, if known, is told why.
                        if let Err(e) = self.tell_refused(tenant, raw, &why).await {
                            tracing::warn!(tenant.id = %tenant, error = %e, "telling a sender of a refusal failed");
                        }
                    }
                    Err(e) if e.temporary() => {
                        // Left for the next pass; the messages after it are not held up by it.
                        out.kept += 1;
                        tracing::warn!(tenant.id = %tenant, error = %e, "fetched mail left on the server for the next pass");
                    }
                    Err(e) => {
                        out.refused += 1;
                        done.push(*uid);
                        tracing::info!(tenant.id = %tenant, error = %e, "fetched mail refused");
                    }
                }
            }
        }
        if !done.is_empty() {
            let set = done.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
            match &imap.move_to {
                Some(folder) => {
                    s.uid_mv(&set, folder).await.map_err(imap_err)?;
                }
                None => {
                    {
                        let stored = s.uid_store(&set, "+FLAGS.SILENT (\\Deleted)").await.map_err(imap_err)?;
                        let _: Vec<_> = stored.collect().await;
                    }
                    let expunged = s.expunge().await.map_err(imap_err)?;
                    let _: Vec<_> = expunged.collect().await;
                }
            }
        }
        let _ = s.logout().await;
        Ok(out)
    }
}

impl Mailroom {
    /// Waits until the mailbox may hold new mail: with IDLE (when the server offers it) until the
    /// server says something arrived, at most `max`; without it, `max`. Returns at once when
    /// mail is already waiting.
    pub async fn wait_for_mail(&self, imap: &Imap, max: std::time::Duration) -> Result<()> {
        let client = imap.connect().await?;
        let mut s = client.login(&imap.user, &imap.password).await.map_err(|(e, _)| imap_err(e))?;
        let caps = s.capabilities().await.map_err(imap_err)?;
        if !caps.has_str("IDLE") {
            let _ = s.logout().await;
            tokio::time::sleep(max).await;
            return Ok(());
        }
        let mailbox = s.select(&imap.folder).await.map_err(imap_err)?;
        if mailbox.exists > 0 {
            let _ = s.logout().await;
            return Ok(());
        }
        let mut idle = s.idle();
        idle.init().await.map_err(imap_err)?;
        {
            let (wait, _interrupt) = idle.wait_with_timeout(max);
            let _ = tokio::time::timeout(max + std::time::Duration::from_secs(5), wait).await;
        }
        let mut s = idle.done().await.map_err(imap_err)?;
        let _ = s.logout().await;
        Ok(())
    }
}

/// A refusal's kind, for logs (its reason can name no one, but the kind is enough).
fn refusal_kind(r: &crate::Refusal) -> &'static str {
    match r {
        crate::Refusal::Malformed(_) => "malformed",
        crate::Refusal::TooLarge { .. } => "too large",
        crate::Refusal::Automatic(_) => "automatic",
        crate::Refusal::RateLimited => "rate limited",
        crate::Refusal::Sender(_) => "sender",
    }
}
