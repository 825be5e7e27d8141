//! Mail out: the sender works through the outbox. Each message is claimed with a lease (so
//! several nodes can send side by side and a crashed sender's messages are taken up again),
//! given a Message-ID once (the same on every retry, so a message delivered twice is one message
//! to the recipient's mail client), sealed body opened, sent over SMTP, and then kept without its
//! body. A temporary failure (4xx, a connection that broke) is retried with backoff; a permanent
//! one (5xx) or the last attempt marks it failed, with the server's status code only.

use std::time::Duration;

use lettre::message::dkim::{DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm, DkimSigningKey};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MessageBuilder};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::Tls;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde_json::Value;
use suoja_core::{TenantId, Timestamp};
use suoja_store::outbox::MessageRow;

use crate::address::{message_hash, ticket_token};
use crate::{MailError, Mailroom, Result};

/// Attempts before a message is given up.
pub const MAX_ATTEMPTS: i64 = 8;
/// How long a claimed message is left to its sender.
const LEASE_MS: i64 = 120_000;
/// Messages claimed at once.
const BATCH: i64 = 20;
/// Longest a tenant's own server may take to be opened (its name looked up and checked).
const OPEN_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest one message may take to be handed over, every SMTP step included (lettre's own
/// timeout covers each read and write; this bounds the whole), well within [`LEASE_MS`].
const SEND_TIMEOUT: Duration = Duration::from_secs(60);

/// An SMTP connection setting, parsed from `smtp_url`.
#[derive(Clone)]
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    server: String,
    dkim: Option<std::sync::Arc<DkimConfig>>,
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the URL: it may hold a password.
        f.write_str("Smtp")
    }
}

impl Smtp {
    /// Reads `smtp://[user:pass@]host[:port][?tls=none|starttls]` (STARTTLS when the server
    /// offers it, unless `tls=none`; `tls=starttls` requires it) or `smtps://…` (TLS from the
    /// start, port 465 by default); server certificates are checked against `trust`.
    pub fn from_url(url: &str, trust: &crate::tls::Trust) -> Result<Self> {
        let bad = |why: &str| MailError::Config(format!("smtp_url: {why}"));
        let u = url::Url::parse(url).map_err(|_| bad("not a URL"))?;
        let host = u.host_str().ok_or_else(|| bad("no host"))?.to_string();
        let tls_param = u.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.into_owned());
        let params = || trust.lettre(&host);
        let (port, tls) = match (u.scheme(), tls_param.as_deref()) {
            ("smtp", Some("none")) => (25, Tls::None),
            ("smtp", Some("starttls")) => (587, Tls::Required(params()?)),
            ("smtp", None) => (25, Tls::Opportunistic(params()?)),
            ("smtps", None) => (465, Tls::Wrapper(params()?)),
            _ => return Err(bad("use smtp://host:port (tls=none or tls=starttls may follow) or smtps://host:port")),
        };
        let port = u.port().unwrap_or(port);
        Ok(Self::build(&u, host.clone(), &host, port, tls))
    }

    /// The transport to `connect_to`:`port` with `tls`, signed in with the URL's user and
    /// password when it has them; `shown_host` is what people see.
    fn build(u: &url::Url, connect_to: String, shown_host: &str, port: u16, tls: Tls) -> Self {
        let mode = match &tls {
            Tls::None => "no TLS",
            Tls::Opportunistic(_) => "STARTTLS when offered",
            Tls::Required(_) => "STARTTLS required",
            _ => "TLS",
        };
        let server = format!(
            "{}://{shown_host}:{port} ({mode}{})",
            u.scheme(),
            if u.password().is_some() { ", signed in" } else { "" }
        );
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(connect_to)
            .port(port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(30)));
        if let Some(pass) = u.password() {
            let dec = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
            b = b.credentials(Credentials::new(dec(u.username()), dec(pass)));
        }
        Self {
            transport: b.build(),
            server,
            dkim: None,
        }
    }

    /// A server a tenant's admins named: `smtps://user:pass@host[:465]` or
    /// `smtp://user:pass@host[:587]` (STARTTLS, then required). Always over TLS with the
    /// certificate checked for `host`, and only at a public address unless `policy` lists the
    /// host: the name is resolved and checked here, and the connection goes to the address
    /// checked, so a name that resolves elsewhere later reaches nothing new.
    pub async fn for_tenant(url: &str, trust: &crate::tls::Trust, policy: &suoja_helpdesk::webhooks::EndpointPolicy) -> Result<Self> {
        let bad = |why: &str| MailError::Config(format!("smtp_url: {why}"));
        let u = url::Url::parse(url).map_err(|_| bad("not a URL like smtps://user:password@mail.example.com:465"))?;
        let host = crate::url_host(&u).ok_or_else(|| bad("no host"))?;
        let tls_param = u.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.into_owned());
        let (port, wrapper) = match (u.scheme(), tls_param.as_deref()) {
            ("smtps", None) => (465, true),
            ("smtp", None | Some("starttls")) => (587, false),
            ("smtp", Some("none")) => return Err(bad("mail is sent over TLS (smtps://, or smtp:// with a server that offers STARTTLS)")),
            _ => return Err(bad("use smtps://user:password@host:465 or smtp://user:password@host:587")),
        };
        let port = u.port().unwrap_or(port);
        let addrs = crate::resolve("SMTP", &host, port, Some(policy)).await?;
        let ip = addrs
            .first()
            .map(|a| a.ip())
            .ok_or_else(|| MailError::Server("SMTP: the host name does not resolve".into()))?;
        let params = trust.lettre(&host)?;
        let tls = if wrapper { Tls::Wrapper(params) } else { Tls::Required(params) };
        let shown_host = if host.contains(':') { format!("[{host}]") } else { host.clone() };
        Ok(Self::build(&u, ip.to_string(), &shown_host, port, tls))
    }

    /// Signs every message with DKIM: `key` is an RSA private key in PKCS#1 PEM
    /// (`-----BEGIN RSA PRIVATE KEY-----`) or an Ed25519 key as base64, published in DNS under
    /// `selector._domainkey.domain`. The signature covers From, To, Subject, Date, Message-ID,
    /// Reply-To and Auto-Submitted, relaxed canonicalisation.
    pub fn with_dkim(mut self, selector: &str, domain: &str, key: &str) -> Result<Self> {
        let key = key.trim();
        let algorithm = if key.starts_with("-----BEGIN") {
            DkimSigningAlgorithm::Rsa
        } else {
            DkimSigningAlgorithm::Ed25519
        };
        let signing = DkimSigningKey::new(key, algorithm)
            .map_err(|_| MailError::Config("dkim_key_file: not an RSA key in PKCS#1 PEM or an Ed25519 key in base64".into()))?;
        let headers = ["From", "To", "Subject", "Date", "Message-ID", "Reply-To", "Auto-Submitted"]
            .into_iter()
            .map(HeaderName::new_from_ascii_str)
            .collect();
        let canonicalization = DkimCanonicalization {
            header: DkimCanonicalizationType::Relaxed,
            body: DkimCanonicalizationType::Relaxed,
        };
        self.dkim = Some(std::sync::Arc::new(DkimConfig::new(
            selector.to_string(),
            domain.to_ascii_lowercase(),
            signing,
            headers,
            canonicalization,
        )));
        self.server.push_str(&format!(", DKIM-signed as {selector}._domainkey.{domain}"));
        Ok(self)
    }

    /// Sends one message, signed when DKIM is set up.
    async fn deliver(&self, mut msg: lettre::Message) -> std::result::Result<lettre::transport::smtp::response::Response, lettre::transport::smtp::Error> {
        if let Some(d) = &self.dkim {
            msg.sign(d);
        }
        self.transport.send(msg).await
    }

    /// Where mail goes, for people: scheme, host, port and TLS, never the credentials.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Sends one plain-text message marked as automatic, from `from` to `to`; returns the
    /// server's answer, or its status code as the error. (The admins' test message, an
    /// erasure's confirmation, and the benchmark's baseline go this way.)
    pub async fn send_plain(&self, from: &str, to: &str, subject: &str, text: &str, message_id: &str) -> Result<String, String> {
        let from: Mailbox = from.parse().map_err(|_| "the sender address is not valid".to_string())?;
        let reply_loop = from.email.to_string();
        let to: Mailbox = to.parse().map_err(|_| "the recipient address is not valid".to_string())?;
        let msg = lettre::Message::builder()
            .from(from)
            .to(to)
            .subject(subject)
            .message_id(Some(format!("<{message_id}>")))
            .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("Auto-Submitted"), "auto-generated".to_string()))
            .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("X-Loop"), reply_loop))
            .header(ContentType::TEXT_PLAIN)
            .body(text.to_string())
            .map_err(|_| "the message could not be built".to_string())?;
        match self.deliver(msg).await {
            Ok(r) => Ok(format!("{} {}", r.code(), r.message().next().unwrap_or_default())),
            Err(e) => Err(status_of(&e)),
        }
    }

    /// Asks the server whether it is there, through TLS and the login when set (the admin's
    /// "send a test" starts here); at most 20 seconds.
    pub async fn check(&self) -> Result<()> {
        match tokio::time::timeout(Duration::from_secs(20), self.transport.test_connection()).await {
            Err(_) => Err(MailError::Server("SMTP: the server did not answer in time".into())),
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(MailError::Server("SMTP: the server did not answer".into())),
            Ok(Err(e)) => Err(MailError::Server(format!("SMTP: {}", status_words(&e)))),
        }
    }
}

/// What an SMTP error says, without the server's words (which may quote an address).
fn status_of(e: &lettre::transport::smtp::Error) -> String {
    match e.status() {
        Some(code) => code.to_string(),
        None if e.is_timeout() => "timeout".into(),
        None => "connection failed".into(),
    }
}

/// What an SMTP error says to the admin who set the server up: its status code, or what failed
/// on the way (never the server's own words, which may quote an address).
fn status_words(e: &lettre::transport::smtp::Error) -> String {
    match e.status() {
        Some(code) if code.to_string().starts_with("535") => format!("{code}: the server refused the user name or password"),
        Some(code) => code.to_string(),
        None if e.is_timeout() => "timeout".into(),
        None if e.is_tls() => "the TLS handshake failed (is the server's certificate valid for its name?)".into(),
        // lettre's own words, not the server's.
        None if e.is_client() && e.to_string().contains("STARTTLS") => "the server does not offer STARTTLS".into(),
        None => "connection failed".into(),
    }
}

/// How long to wait before attempt `n + 1`.
fn backoff(attempts: i64) -> i64 {
    let exp = u32::try_from(attempts.clamp(0, 10)).unwrap_or(10);
    (30_000_i64 * 2_i64.pow(exp)).min(3_600_000)
}

/// Subjects of the privacy engine's messages, which carry no subject of their own.
fn subject_for(kind: &str) -> &'static str {
    match kind {
        "verification_link" => "Confirm your privacy request",
        "sign_in_link" => "Your sign-in link",
        "credentials_changed" => "Your sign-in details were changed",
        "request_extended" => "Your privacy request: more time is needed",
        "request_refused" => "Your privacy request",
        "restriction_lifted" | "restriction_applied" => "Processing of your data",
        "export_ready" => "Your data export is ready",
        crate::deliver::REFUSED => "Your message was not accepted",
        _ => "A message from the helpdesk",
    }
}

/// Kinds a person wrote (a public reply): not marked as automatic.
fn written_by_a_person(kind: &str) -> bool {
    kind == suoja_helpdesk::notify::kinds::REPLY
}

/// A message that could not be sent, for admins: what it was and the server's status code.
#[derive(Debug, Clone)]
pub struct Undelivered {
    /// The outbox id.
    pub id: i64,
    /// What it was (`ticket_reply`, `verification_link`, …).
    pub kind: String,
    /// The ticket it was about.
    pub ticket: Option<i64>,
    /// The server's status code, or what failed.
    pub error: String,
    /// When it was queued.
    pub queued: Timestamp,
}

/// What one pass of the sender did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// Handed to the mail server.
    pub sent: usize,
    /// Put back for a later attempt.
    pub retried: usize,
    /// Given up.
    pub failed: usize,
}

impl Mailroom {
    /// Sends what is due in the outbox (up to one batch, the messages side by side over the
    /// transport's pooled connections). Returns what happened.
    pub async fn send_due(&self, smtp: &Smtp) -> Result<Sent> {
        let hd = self.privacy.helpdesk();
        let v = hd.vault();
        let now = hd.now();
        let support = self.cfg.support.clone();
        let claimed = {
            let mut tx = hd.db().begin().await?;
            let rows = suoja_store::outbox::claim(&mut tx, now, LEASE_MS, BATCH, &|m| support.message_id(m.tenant, m.id)).await?;
            // Replies to these come back to their tickets by their Message-IDs.
            for m in &rows {
                if let (Some(ticket), Some(id)) = (m.ticket_id, &m.message_id) {
                    let h = message_hash(v, &mut tx, m.tenant, id).await?;
                    suoja_store::mail::thread(&mut tx, m.tenant, &h, ticket, now).await?;
                }
            }
            tx.commit().await?;
            rows
        };
        if claimed.is_empty() {
            return Ok(Sent::default());
        }
        // Each tenant's mail through its own server, when its admins named one: opened side by
        // side, and every step bounded, so one tenant's slow or silent server holds up nobody
        // else's mail and a pass ends well within its lease.
        let mut tenants: Vec<TenantId> = claimed.iter().map(|m| m.tenant).collect();
        tenants.sort_unstable_by_key(|t| t.0);
        tenants.dedup();
        let opened = futures_util::future::join_all(tenants.iter().map(|t| async move {
            let s = match tokio::time::timeout(OPEN_TIMEOUT, self.smtp_for(*t, smtp)).await {
                Err(_) => Err("the tenant's server did not answer in time".to_string()),
                Ok(Err(MailError::Server(why))) => Err(why.chars().take(120).collect()),
                Ok(Err(_)) => Err("the tenant's server cannot be opened".to_string()),
                Ok(Ok(s)) => Ok(s),
            };
            (*t, s)
        }))
        .await;
        let servers: std::collections::HashMap<TenantId, Result<Smtp, String>> = opened.into_iter().collect();
        let results = futures_util::future::join_all(claimed.iter().map(|m| async {
            match servers.get(&m.tenant) {
                Some(Ok(s)) => match tokio::time::timeout(SEND_TIMEOUT, self.send_one(s, m)).await {
                    Ok(r) => r,
                    Err(_) => Err(Failure::Temporary("timeout".into())),
                },
                Some(Err(why)) => Err(Failure::Temporary(why.clone())),
                None => Err(Failure::Temporary("no server".into())),
            }
        }))
        .await;
        let mut out = Sent::default();
        let mut tx = hd.db().begin().await?;
        let at = hd.now();
        for (m, r) in claimed.iter().zip(results) {
            match r {
                Ok(()) => {
                    suoja_store::outbox::mark_sent(&mut tx, m.tenant, m.id, at).await?;
                    out.sent += 1;
                    tracing::info!(tenant.id = %m.tenant, outbox.id = m.id, kind = %m.kind, "mail sent");
                }
                Err(Failure::Permanent(code)) => {
                    suoja_store::outbox::mark_failed(&mut tx, m.tenant, m.id, &code).await?;
                    out.failed += 1;
                    tracing::warn!(tenant.id = %m.tenant, outbox.id = m.id, kind = %m.kind, status = %code, "mail refused for good");
                }
                Err(Failure::Temporary(code)) if m.attempts >= MAX_ATTEMPTS => {
                    suoja_store::outbox::mark_failed(&mut tx, m.tenant, m.id, &code).await?;
                    out.failed += 1;
                    tracing::warn!(tenant.id = %m.tenant, outbox.id = m.id, kind = %m.kind, status = %code, "mail given up after its last attempt");
                }
                Err(Failure::Temporary(code)) => {
                    let next = Timestamp(at.0 + backoff(m.attempts));
                    suoja_store::outbox::retry_at(&mut tx, m.tenant, m.id, next, &code).await?;
                    out.retried += 1;
                    tracing::warn!(tenant.id = %m.tenant, outbox.id = m.id, kind = %m.kind, status = %code, attempt = m.attempts, "mail will be retried");
                }
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Sends a test message to `to` (an admin's own address) right away; returns the server's
    /// answer (its status and first line, which names no one).
    pub async fn send_test(&self, smtp: &Smtp, tenant: TenantId, to: suoja_core::UserId) -> Result<String> {
        let hd = self.privacy.helpdesk();
        let mut c = hd.db().read().await?;
        let user = suoja_store::users::by_id(&mut c, tenant, to)
            .await?
            .ok_or_else(|| MailError::Config("no such user".into()))?;
        let Some(enc) = &user.email_enc else {
            return Err(MailError::Config("you have no e-mail address to send to".into()));
        };
        let address = hd.vault().decrypt_str(&mut c, tenant, enc).await?;
        let support = &self.addresses(&mut c, tenant).await?.support;
        drop(c);
        let smtp = tokio::time::timeout(OPEN_TIMEOUT, self.smtp_for(tenant, smtp))
            .await
            .map_err(|_| MailError::Server("SMTP: the server did not answer in time".into()))??;
        let sent = tokio::time::timeout(
            SEND_TIMEOUT,
            smtp.send_plain(
                &support.address(),
                &address,
                "Suoja: test message",
                "This is a test message from Suoja: mail from the helpdesk reaches this address.\n",
                &support.message_id(tenant, 0),
            ),
        )
        .await
        .map_err(|_| MailError::Server("SMTP: the server did not answer in time".into()))?;
        sent.map_err(MailError::Server)
    }

    /// The tenant's messages that failed for good, newest first.
    pub async fn undelivered(&self, tenant: TenantId, limit: i64) -> Result<Vec<Undelivered>> {
        let mut c = self.privacy.helpdesk().db().read().await?;
        Ok(suoja_store::outbox::failures(&mut c, tenant, limit)
            .await?
            .into_iter()
            .map(|m| Undelivered {
                id: m.id,
                kind: m.kind,
                ticket: m.ticket_id,
                error: m.error.unwrap_or_default(),
                queued: m.created_at,
            })
            .collect())
    }

    async fn send_one(&self, smtp: &Smtp, m: &MessageRow) -> Result<(), Failure> {
        let msg = self.compose(m).await.map_err(|e| match e {
            MailError::Store(_) | MailError::Server(_) => Failure::Temporary("store".into()),
            MailError::Vault(_) => Failure::Permanent("unreadable (key destroyed)".into()),
            _ => Failure::Permanent("cannot be composed".into()),
        })?;
        let Some(msg) = msg else {
            return Err(Failure::Permanent("no recipient address".into()));
        };
        smtp.deliver(msg).await.map(|_| ()).map_err(|e| {
            if e.is_permanent() {
                Failure::Permanent(status_of(&e))
            } else {
                Failure::Temporary(status_of(&e))
            }
        })
    }

    /// The message as it goes out, or `None` when the recipient has no address any more.
    async fn compose(&self, m: &MessageRow) -> Result<Option<lettre::Message>> {
        let hd = self.privacy.helpdesk();
        let v = hd.vault();
        let t: TenantId = m.tenant;
        let mut c = hd.db().read().await?;
        let Some(user) = suoja_store::users::by_id(&mut c, t, suoja_core::UserId(m.user_id)).await? else {
            return Ok(None);
        };
        let Some(email_enc) = &user.email_enc else { return Ok(None) };
        let to = v.decrypt_str(&mut c, t, email_enc).await?;
        let body = v.decrypt_str(&mut c, t, &m.body_enc).await?;
        let (subject, text) = match serde_json::from_str::<Value>(&body) {
            Ok(Value::Object(o)) => (
                o.get("subject").and_then(Value::as_str).unwrap_or_default().to_string(),
                o.get("text").and_then(Value::as_str).unwrap_or_default().to_string(),
            ),
            _ => (subject_for(&m.kind).to_string(), body),
        };
        // From the tenant's own address; Message-IDs stay on the installation's domain, which
        // threading recognises whatever address a tenant uses.
        let support = &self.addresses(&mut c, t).await?.support;
        let from: Mailbox = support.address().parse().map_err(|_| MailError::Config("mail_from is not an address".into()))?;
        let Ok(to) = to.parse::<Mailbox>() else { return Ok(None) };
        let message_id = m.message_id.clone().unwrap_or_else(|| self.cfg.support.message_id(t, m.id));
        let mut b: MessageBuilder = lettre::Message::builder()
            .from(from)
            .to(to)
            .subject(subject)
            .message_id(Some(format!("<{message_id}>")));
        b = b.raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("X-Loop"), support.address()));
        if !written_by_a_person(&m.kind) {
            b = b.raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("Auto-Submitted"), "auto-generated".to_string()));
        }
        if let Some(ticket) = m.ticket_id {
            // Replies come back by the ticket's own address (and by this message's id, noted
            // when it was claimed).
            let token = ticket_token(v, &mut c, t, ticket).await?;
            let reply: Mailbox = support
                .reply_address(&token)
                .parse()
                .map_err(|_| MailError::Config("mail_from is not an address".into()))?;
            b = b.reply_to(reply);
        }
        let msg = b
            .header(ContentType::TEXT_PLAIN)
            .body(text)
            .map_err(|_| MailError::Config("message could not be built".into()))?;
        Ok(Some(msg))
    }
}

/// Why a message was not sent.
enum Failure {
    /// Try again later (the status code, or what failed).
    Temporary(String),
    /// Never (the status code, or why).
    Permanent(String),
}

/// Sends the privacy engine's one immediate message (an erasure's confirmation) over SMTP,
/// from the support address.
#[derive(Debug, Clone)]
pub struct SmtpCourier {
    /// The server.
    pub smtp: Smtp,
    /// The support address.
    pub from: crate::Support,
}

impl suoja_privacy::courier::Courier for SmtpCourier {
    fn send<'a>(&'a self, to: &'a str, subject: &'a str, text: &'a str) -> suoja_privacy::courier::Sending<'a> {
        Box::pin(async move {
            self.smtp
                .send_plain(&self.from.address(), to, subject, text, &self.from.message_id(TenantId(0), 0))
                .await
                .map(|_| ())
        })
    }
}
