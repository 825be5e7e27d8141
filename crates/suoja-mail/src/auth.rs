//! Who really sent a message: SPF, DKIM and DMARC, checked for mail to the privacy address and
//! recorded with the request as one input to the identity check (the link to the address on
//! record stays the check itself: a forged `From:` only sends the real holder a link).
//!
//! The envelope (connecting address, HELO name, `MAIL FROM`) comes from the MTA when it pipes a
//! message to `suoja mail deliver`, or, for mail fetched over IMAP, from the headers the
//! receiving server wrote on top (`Return-Path:` and the newest `Received:` that names an
//! address). The DNS lookups go to the system's resolver or to a server named in the
//! configuration (`mail_dns`), and are bounded in time: a slow resolver makes the result
//! `temperror`, never a lost message.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use mail_auth::hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use mail_auth::{AuthenticatedMessage, DkimResult, DmarcResult, MessageAuthenticator, SpfResult};
use mail_auth::{dmarc::verify::DmarcParameters, spf::verify::SpfParameters};

use crate::{MailError, Result};

/// How long all lookups for one message may take.
const LOOKUP_BUDGET: Duration = Duration::from_secs(8);

/// The SMTP envelope of a message, as far as it is known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// The address that handed the message to the receiving server.
    pub client_ip: Option<IpAddr>,
    /// The name it gave in HELO/EHLO.
    pub helo: Option<String>,
    /// The `MAIL FROM` address (empty for bounces).
    pub mail_from: Option<String>,
}

impl Envelope {
    /// The envelope as the receiving server recorded it in the message: `Return-Path:` and the
    /// newest (topmost) `Received:` header the receiving server wrote. Only that one is
    /// believed: every header below it came with the message and may be made up, so when it
    /// names no address the connecting address is unknown (SPF `none`; only DKIM can then make
    /// DMARC pass). Headers above it written by the site's own delivery into the mailbox store
    /// (`with LMTP`, as Postfix handing mail to Dovecot writes it) are passed over: only the
    /// site's servers can put a header above the receiving server's.
    pub fn from_headers(raw: &[u8]) -> Envelope {
        use mail_parser::Protocol as P;
        let Some(m) = mail_parser::MessageParser::default().parse_headers(raw) else {
            return Envelope::default();
        };
        let mail_from = m.return_path().as_text().map(|s| s.trim().trim_matches(['<', '>']).to_string());
        let delivery_hop = |r: &&mail_parser::Received<'_>| {
            matches!(
                r.with,
                Some(P::LMTP | P::LMTPA | P::LMTPS | P::LMTPSA | P::UTF8LMTP | P::UTF8LMTPA | P::UTF8LMTPS | P::UTF8LMTPSA)
            )
        };
        let received = m.received_all().find(|r| !delivery_hop(r)).filter(|r| r.from_ip.is_some());
        let helo = received.and_then(|r| r.helo.as_ref().or(r.from.as_ref())).map(|h| match h {
            mail_parser::Host::Name(n) => n.to_string(),
            mail_parser::Host::IpAddr(ip) => ip.to_string(),
        });
        Envelope {
            client_ip: received.and_then(|r| r.from_ip),
            helo,
            mail_from,
        }
    }
}

/// The outcome of the three checks, each one of `pass`, `fail`, `softfail`, `neutral`, `none`,
/// `temperror`, `permerror` (RFC 8601's words). Holds no address or name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderCheck {
    /// SPF of the envelope sender's domain for the connecting address.
    pub spf: &'static str,
    /// The best of the message's DKIM signatures.
    pub dkim: &'static str,
    /// DMARC of the `From:` domain (SPF or DKIM passing for that same domain).
    pub dmarc: &'static str,
}

impl SenderCheck {
    /// Nothing could be checked.
    pub fn unchecked() -> Self {
        Self {
            spf: "none",
            dkim: "none",
            dmarc: "none",
        }
    }

    /// As JSON, for the request record.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "spf": self.spf, "dkim": self.dkim, "dmarc": self.dmarc })
    }
}

/// The checker: a DNS resolver and the verifiers.
#[derive(Clone)]
pub struct Checker {
    auth: MessageAuthenticator,
}

impl std::fmt::Debug for Checker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Checker")
    }
}

impl Checker {
    /// A checker asking `dns` (UDP and TCP), or the system's resolver when none is given.
    pub fn new(dns: Option<SocketAddr>) -> Result<Self> {
        let mut opts = ResolverOpts::default();
        opts.timeout = Duration::from_secs(2);
        opts.attempts = 1;
        let auth = match dns {
            Some(addr) => {
                let mut server = NameServerConfig::udp_and_tcp(addr.ip());
                for c in &mut server.connections {
                    c.port = addr.port();
                }
                MessageAuthenticator::new(ResolverConfig::from_name_servers(vec![server]), opts)
            }
            None => mail_auth::hickory_resolver::system_conf::read_system_conf().and_then(|(cfg, _)| MessageAuthenticator::new(cfg, opts)),
        }
        .map_err(|e| MailError::Config(format!("mail_dns: cannot set up the resolver: {e}")))?;
        Ok(Self { auth })
    }

    /// Checks `raw` as received with `envelope` by `host` (the receiving domain).
    pub async fn check(&self, raw: &[u8], envelope: &Envelope, host: &str) -> SenderCheck {
        match tokio::time::timeout(LOOKUP_BUDGET, self.check_inner(raw, envelope, host)).await {
            Ok(c) => c,
            Err(_) => SenderCheck {
                spf: "temperror",
                dkim: "temperror",
                dmarc: "temperror",
            },
        }
    }

    async fn check_inner(&self, raw: &[u8], envelope: &Envelope, host: &str) -> SenderCheck {
        let Some(message) = AuthenticatedMessage::parse(raw) else {
            return SenderCheck {
                spf: "none",
                dkim: "permerror",
                dmarc: "none",
            };
        };
        let dkim = self.auth.verify_dkim(&message).await;
        let dkim_word = dkim_word(dkim.iter().map(|o| o.result()));
        let helo = envelope.helo.as_deref().unwrap_or_default();
        // An empty MAIL FROM (a bounce) is checked as postmaster@HELO, as RFC 7208 says.
        let mail_from = envelope.mail_from.as_deref().filter(|s| s.contains('@'));
        let spf = match envelope.client_ip {
            Some(ip) => Some(match mail_from {
                Some(sender) => self.auth.verify_spf(SpfParameters::verify_mail_from(ip, helo, host, sender)).await,
                None => self.auth.verify_spf(SpfParameters::verify_ehlo(ip, helo, host)).await,
            }),
            None => None,
        };
        let spf_word = spf.as_ref().map_or("none", |s| spf_word(s.result()));
        let mail_from_domain = mail_from.and_then(|s| s.rsplit_once('@')).map_or(helo, |(_, d)| d);
        let dmarc_word = match &spf {
            Some(spf) => {
                let out = self.auth.verify_dmarc(DmarcParameters::new(&message, &dkim, mail_from_domain, spf)).await;
                dmarc_word(&out.result())
            }
            None => {
                // Without an envelope only DKIM can align.
                let none = mail_auth::SpfOutput::default();
                let out = self.auth.verify_dmarc(DmarcParameters::new(&message, &dkim, mail_from_domain, &none)).await;
                dmarc_word(&out.result())
            }
        };
        SenderCheck {
            spf: spf_word,
            dkim: dkim_word,
            dmarc: dmarc_word,
        }
    }
}

fn spf_word(r: SpfResult) -> &'static str {
    match r {
        SpfResult::Pass => "pass",
        SpfResult::Fail => "fail",
        SpfResult::SoftFail => "softfail",
        SpfResult::Neutral => "neutral",
        SpfResult::TempError => "temperror",
        SpfResult::PermError => "permerror",
        SpfResult::None => "none",
    }
}

/// The best of several signatures' results (one passing signature is enough). A body that no
/// longer matches its signature is a failure (RFC 8601), though the verifier calls it neutral.
fn dkim_word<'a>(results: impl Iterator<Item = &'a DkimResult>) -> &'static str {
    let rank = |r: &DkimResult| match r {
        DkimResult::Pass => (0, "pass"),
        DkimResult::TempError(_) => (1, "temperror"),
        DkimResult::Neutral(mail_auth::Error::Dkim(mail_auth::dkim::DkimError::FailedBodyHashMatch)) => (3, "fail"),
        DkimResult::Neutral(_) => (2, "neutral"),
        DkimResult::Fail(_) => (3, "fail"),
        DkimResult::PermError(_) => (4, "permerror"),
        DkimResult::None => (5, "none"),
    };
    results.map(rank).min_by_key(|(r, _)| *r).map_or("none", |(_, w)| w)
}

fn dmarc_word(r: &DmarcResult) -> &'static str {
    match r {
        DmarcResult::Pass => "pass",
        DmarcResult::Fail(_) => "fail",
        DmarcResult::TempError(_) => "temperror",
        DmarcResult::PermError(_) => "permerror",
        DmarcResult::None => "none",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_from_the_receiving_servers_headers() {
        let raw = b"Return-Path: <ann@sender.test>\r\nDelivered-To: privacy@suoja.test\r\nReceived: from mail.sender.test (localhost [127.0.0.1])\r\n\tby mx.suoja.test (Postfix) with ESMTP id 4AB\r\n\tfor <privacy@suoja.test>; Thu,  3 Dec 2026 12:00:00 +0000 (UTC)\r\nReceived: from [10.0.0.9] (laptop [10.0.0.9]) by mail.sender.test; Thu, 3 Dec 2026 11:59:59 +0000\r\nFrom: Ann <ann@sender.test>\r\nSubject: x\r\n\r\nbody\r\n";
        let e = Envelope::from_headers(raw);
        assert_eq!(e.client_ip, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(e.helo.as_deref(), Some("mail.sender.test"));
        assert_eq!(e.mail_from.as_deref(), Some("ann@sender.test"));
    }

    #[test]
    fn a_received_header_below_the_receiving_servers_is_not_believed() {
        // The receiving server's own header names no address (Exim's form for a sender without
        // reverse DNS is not read as one); the one below was written by the sender.
        let raw = b"Return-Path: <boss@bank.test>\r\nReceived: from mx.suoja.test by mx.suoja.test with local; Thu, 3 Dec 2026 12:00:00 +0000\r\nReceived: from mail.bank.test (mail.bank.test [6.6.6.6]) by relay.bank.test; Thu, 3 Dec 2026 11:59:59 +0000\r\nFrom: boss@bank.test\r\nSubject: x\r\n\r\nbody\r\n";
        let e = Envelope::from_headers(raw);
        assert_eq!(e.client_ip, None, "{e:?}");
        assert_eq!(e.mail_from.as_deref(), Some("boss@bank.test"));
    }

    #[test]
    fn the_sites_own_lmtp_hop_above_the_receiving_servers_header_is_passed_over() {
        // Dovecot's header for Postfix's LMTP delivery on top, the receiving server's below it,
        // and below that one a header the sender wrote (an LMTP one, which must not count).
        let raw = b"Return-Path: <ann@sender.test>\r\nReceived: from mx.suoja.test\r\n\tby vm with LMTP\r\n\tid gHO2\r\n\t(envelope-from <ann@sender.test>)\r\n\tfor <privacy@suoja.test>; Thu, 03 Dec 2026 19:04:01 +0000\r\nReceived: from mail.sender.test (localhost [127.0.0.1])\r\n\tby mx.suoja.test (Postfix) with ESMTP id 4AB\r\n\tfor <privacy@suoja.test>; Thu,  3 Dec 2026 19:04:01 +0000 (UTC)\r\nReceived: from forged.test (forged.test [6.6.6.6]) by x with LMTP; Thu, 3 Dec 2026 11:59:59 +0000\r\nFrom: Ann <ann@sender.test>\r\nSubject: x\r\n\r\nbody\r\n";
        let e = Envelope::from_headers(raw);
        assert_eq!(e.client_ip, Some("127.0.0.1".parse().unwrap()), "{e:?}");
        assert_eq!(e.helo.as_deref(), Some("mail.sender.test"));
    }

    #[test]
    fn no_headers_no_envelope() {
        let e = Envelope::from_headers(b"From: a@b.test\r\n\r\nhi\r\n");
        assert_eq!(e, Envelope::default());
    }

    #[test]
    fn one_passing_signature_is_enough() {
        let r = [DkimResult::Fail(mail_auth::Error::NotAligned), DkimResult::Pass];
        assert_eq!(dkim_word(r.iter()), "pass");
        assert_eq!(dkim_word([].iter()), "none");
        let altered = [DkimResult::Neutral(mail_auth::Error::Dkim(mail_auth::dkim::DkimError::FailedBodyHashMatch))];
        assert_eq!(dkim_word(altered.iter()), "fail");
    }
}
