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
    /// `Received:` header the receiving server wrote, which is the topmost one once the
    /// `local_hops` headers the site's own delivery adds above it are passed over (1 when
    /// Postfix hands mail to Dovecot over LMTP; the operator says so, since a header's own words
    /// cannot be trusted to tell). Only that header is believed: every header below it came with
    /// the message and may be made up. Its client address is read only when it is unambiguous,
    /// the one address literal (`[192.0.2.1]`) in its `from` part: the sender chooses the HELO
    /// name written there too, and one that carries an address of its own makes the header
    /// ambiguous. Then, as when the header names no address, the connecting address is unknown
    /// (SPF `none`; only DKIM can make DMARC pass).
    pub fn from_headers(raw: &[u8], local_hops: usize) -> Envelope {
        let Some(m) = mail_parser::MessageParser::default().parse_headers(raw) else {
            return Envelope::default();
        };
        let mail_from = m.return_path().as_text().map(|s| s.trim().trim_matches(['<', '>']).to_string());
        // Topmost first, unfolded.
        let received = m
            .headers_raw()
            .filter(|(name, _)| name.eq_ignore_ascii_case("received"))
            .map(|(_, value)| value.split_whitespace().collect::<Vec<_>>().join(" "))
            .nth(local_hops);
        let (client_ip, helo) = received.as_deref().map(client_of).unwrap_or_default();
        Envelope {
            client_ip,
            helo: client_ip.and(helo),
            mail_from,
        }
    }
}

/// The client address and HELO name of a receiving server's `Received:` value: the one
/// address literal between `from` and the server's `by`, or nothing when there is none or
/// more than one (the HELO name, which the sender chooses, may carry one).
fn client_of(value: &str) -> (Option<IpAddr>, Option<String>) {
    let Some(rest) = value.strip_prefix("from ").or_else(|| value.strip_prefix("FROM ")) else {
        return (None, None);
    };
    // The `from` part ends at the last " by " before the date (after `;`); a HELO name with
    // " by " in it only makes more text to look through, never fewer literals.
    let before_date = rest.rsplit_once(';').map_or(rest, |(h, _)| h);
    let from_part = before_date.rsplit_once(" by ").map_or(before_date, |(f, _)| f);
    let mut found: Vec<IpAddr> = Vec::new();
    let mut s = from_part;
    while let Some(open) = s.find('[') {
        let after = &s[open + 1..];
        let Some(close) = after.find(']') else { break };
        let literal = &after[..close];
        let literal = literal.strip_prefix("IPv6:").or_else(|| literal.strip_prefix("ipv6:")).unwrap_or(literal);
        match literal.parse::<IpAddr>() {
            Ok(ip) if !found.contains(&ip) => found.push(ip),
            Ok(_) => {}
            // Anything else in brackets is the sender's doing: too clever to believe.
            Err(_) => return (None, None),
        }
        s = &after[close + 1..];
    }
    let helo = from_part.split_whitespace().next().map(str::to_string);
    match found.as_slice() {
        [ip] => (Some(*ip), helo),
        _ => (None, None),
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
        let e = Envelope::from_headers(raw, 0);
        assert_eq!(e.client_ip, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(e.helo.as_deref(), Some("mail.sender.test"));
        assert_eq!(e.mail_from.as_deref(), Some("ann@sender.test"));
        let v6 = b"Received: from mx.a.test (mx.a.test [IPv6:2001:db8::1]) by mx.suoja.test with ESMTPS id 1; Thu, 3 Dec 2026 12:00:00 +0000\r\n\r\nb";
        assert_eq!(Envelope::from_headers(v6, 0).client_ip, Some("2001:db8::1".parse().unwrap()));
    }

    #[test]
    fn a_received_header_below_the_receiving_servers_is_not_believed() {
        // The receiving server's own header names no address (Exim's form for a sender without
        // reverse DNS is not read as one); the one below was written by the sender.
        let raw = b"Return-Path: <boss@bank.test>\r\nReceived: from mx.suoja.test by mx.suoja.test with local; Thu, 3 Dec 2026 12:00:00 +0000\r\nReceived: from mail.bank.test (mail.bank.test [6.6.6.6]) by relay.bank.test; Thu, 3 Dec 2026 11:59:59 +0000\r\nFrom: boss@bank.test\r\nSubject: x\r\n\r\nbody\r\n";
        let e = Envelope::from_headers(raw, 0);
        assert_eq!(e.client_ip, None, "{e:?}");
        assert_eq!(e.mail_from.as_deref(), Some("boss@bank.test"));
    }

    #[test]
    fn a_helo_name_carrying_an_address_makes_the_header_unbelievable() {
        // Postfix writes the HELO name as the sender gave it, then the real address.
        for helo in ["a[6.6.6.6];", "x)with(LMTP", "[6.6.6.6]", "a (b [6.6.6.6]) by c", "x[not-an-ip]"] {
            let raw = format!(
                "Received: from {helo} (unknown [203.0.113.9])\r\n\tby mx.suoja.test (Postfix) with ESMTP id 9\r\n\tfor <privacy@suoja.test>; Thu,  3 Dec 2026 12:00:00 +0000 (UTC)\r\nReceived: from mail.sender.test (mail.sender.test [6.6.6.6]) by x with ESMTP; Thu, 3 Dec 2026 11:59:59 +0000\r\nFrom: a@sender.test\r\n\r\nb"
            );
            let e = Envelope::from_headers(raw.as_bytes(), 0);
            assert_ne!(e.client_ip, Some("6.6.6.6".parse().unwrap()), "{helo}: {e:?}");
            assert!(e.client_ip.is_none() || e.client_ip == Some("203.0.113.9".parse().unwrap()), "{helo}: {e:?}");
        }
    }

    #[test]
    fn the_sites_own_delivery_hops_are_passed_over_only_as_the_operator_says() {
        // Dovecot's header for Postfix's LMTP delivery on top, the receiving server's below it,
        // and below that one a header the sender wrote.
        let raw = b"Return-Path: <ann@sender.test>\r\nReceived: from mx.suoja.test\r\n\tby vm with LMTP\r\n\tid gHO2\r\n\t(envelope-from <ann@sender.test>)\r\n\tfor <privacy@suoja.test>; Thu, 03 Dec 2026 19:04:01 +0000\r\nReceived: from mail.sender.test (localhost [127.0.0.1])\r\n\tby mx.suoja.test (Postfix) with ESMTP id 4AB\r\n\tfor <privacy@suoja.test>; Thu,  3 Dec 2026 19:04:01 +0000 (UTC)\r\nReceived: from forged.test (forged.test [6.6.6.6]) by x with ESMTP; Thu, 3 Dec 2026 11:59:59 +0000\r\nFrom: Ann <ann@sender.test>\r\nSubject: x\r\n\r\nbody\r\n";
        let e = Envelope::from_headers(raw, 1);
        assert_eq!(e.client_ip, Some("127.0.0.1".parse().unwrap()), "{e:?}");
        assert_eq!(e.helo.as_deref(), Some("mail.sender.test"));
        assert_eq!(Envelope::from_headers(raw, 0).client_ip, None, "the LMTP hop names no address");
    }

    #[test]
    fn no_headers_no_envelope() {
        let e = Envelope::from_headers(b"From: a@b.test\r\n\r\nhi\r\n", 0);
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
