//! Reading one RFC 5322 message into what a ticket needs: who sent it, to whom, what it answers,
//! its subject, its text and its files. Charsets (UTF-8, ISO-8859-1/15, Windows-1252, …),
//! encoded words (RFC 2047) and encoded file names (RFC 2231) are decoded by `mail-parser`;
//! nothing here can panic on hostile input, and nothing of the message is logged.

use mail_parser::{Address, HeaderValue, MessageParser, MimeHeaders as _};

/// Why a message is not turned into a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not a message at all, or no sender address in it.
    Malformed(&'static str),
    /// Larger than `max_mail_bytes`.
    TooLarge { size: usize, limit: usize },
    /// An automatic message (auto-reply, bounce, list mail, our own mail coming back): dropped
    /// quietly, so two machines never answer each other.
    Automatic(&'static str),
    /// The sender wrote more often than `mail_per_sender_per_hour`.
    RateLimited,
    /// The sender may not write here (a suspended account).
    Sender(&'static str),
}

impl Refusal {
    /// Whether the sending mail server should be told (a bounce), rather than the message
    /// dropped without a word.
    pub fn bounces(&self) -> bool {
        !matches!(self, Refusal::Automatic(_))
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Malformed(why) => write!(f, "message not accepted: {why}"),
            Refusal::TooLarge { size, limit } => {
                write!(f, "message not accepted: it is {size} bytes and this helpdesk accepts at most {limit}")
            }
            Refusal::Automatic(why) => write!(f, "automatic message ignored ({why})"),
            Refusal::RateLimited => f.write_str("message not accepted: too many messages from this sender in the last hour; try again later"),
            Refusal::Sender(why) => write!(f, "message not accepted: {why}"),
        }
    }
}

/// A mailbox: an address and the display name given with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// The address, as written (compared case-insensitively).
    pub address: String,
    /// The display name, if any.
    pub name: Option<String>,
}

/// A file that came with the message (an attachment or an inline image).
#[derive(Debug, Clone)]
pub struct File {
    /// Its name (decoded), or a made-up one.
    pub name: String,
    /// Its media type.
    pub content_type: String,
    /// Its bytes, decoded.
    pub bytes: Vec<u8>,
}

/// A message, read.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The sender.
    pub from: Mailbox,
    /// Recipients in `To` and `Cc` (`Delivered-To` and the envelope are not seen here).
    pub to: Vec<Mailbox>,
    /// Recipients in `Cc`.
    pub cc: Vec<Mailbox>,
    /// `Message-ID`, without angle brackets.
    pub message_id: Option<String>,
    /// `In-Reply-To` and `References`, nearest first, without angle brackets.
    pub replies_to: Vec<String>,
    /// The subject, decoded.
    pub subject: Option<String>,
    /// The `Date` header as written.
    pub date: Option<String>,
    /// The plain-text body, when the message has one.
    pub text: Option<String>,
    /// The HTML body, when that is all there is (sanitised later, with comments' rules).
    pub html: Option<String>,
    /// Files.
    pub files: Vec<File>,
}

fn mailboxes(a: Option<&Address<'_>>) -> Vec<Mailbox> {
    let Some(a) = a else { return Vec::new() };
    a.iter()
        .filter_map(|m| {
            let address = m.address()?.trim();
            (address.contains('@') && address.len() <= 320).then(|| Mailbox {
                address: address.to_string(),
                name: m.name().map(str::trim).filter(|n| !n.is_empty()).map(str::to_string),
            })
        })
        .collect()
}

fn ids(v: &HeaderValue<'_>) -> Vec<String> {
    match v {
        HeaderValue::Text(t) => vec![t.to_string()],
        HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    }
}

fn header_text<'a>(m: &'a mail_parser::Message<'_>, name: &'static str) -> Option<&'a str> {
    m.header_raw(name).map(str::trim)
}

/// Whether a message was written by a machine, and which sign says so.
fn automatic(m: &mail_parser::Message<'_>, from: &Mailbox, own_addresses: &[String]) -> Option<&'static str> {
    if let Some(v) = header_text(m, "Auto-Submitted")
        && !v.eq_ignore_ascii_case("no")
    {
        return Some("Auto-Submitted");
    }
    if let Some(v) = header_text(m, "Precedence")
        && ["bulk", "junk", "list", "auto_reply"].iter().any(|p| v.eq_ignore_ascii_case(p))
    {
        return Some("Precedence");
    }
    for h in ["X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"] {
        if h != "X-Auto-Response-Suppress" && header_text(m, h).is_some() {
            return Some("X-Autoreply");
        }
    }
    if header_text(m, "List-Id").is_some() || header_text(m, "List-Unsubscribe").is_some() {
        return Some("mailing list");
    }
    if let Some(loop_) = header_text(m, "X-Loop")
        && own_addresses.iter().any(|a| loop_.eq_ignore_ascii_case(a))
    {
        return Some("X-Loop");
    }
    let local = from.address.split('@').next().unwrap_or_default().to_ascii_lowercase();
    if ["mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply", "do-not-reply"].contains(&local.as_str()) {
        return Some("automatic sender");
    }
    // Any `+tag` form of the helpdesk's own addresses is the helpdesk too.
    let untagged = match from.address.rsplit_once('@') {
        Some((l, d)) => format!("{}@{d}", l.split('+').next().unwrap_or(l)),
        None => from.address.clone(),
    };
    if own_addresses.iter().any(|a| untagged.eq_ignore_ascii_case(a)) {
        return Some("our own address");
    }
    // A bounce has an empty return path.
    if m.header_raw("Return-Path").map(str::trim) == Some("<>") {
        return Some("bounce");
    }
    None
}

/// Reads `raw`. `own_addresses` are the helpdesk's own addresses (mail from them, or marked
/// with them in `X-Loop`, is ours coming back).
pub fn parse(raw: &[u8], max_bytes: usize, own_addresses: &[String]) -> Result<Incoming, Refusal> {
    if raw.len() > max_bytes {
        return Err(Refusal::TooLarge {
            size: raw.len(),
            limit: max_bytes,
        });
    }
    let m = MessageParser::default().parse(raw).ok_or(Refusal::Malformed("not an e-mail message"))?;
    let from = mailboxes(m.from())
        .into_iter()
        .next()
        .or_else(|| mailboxes(m.sender()).into_iter().next())
        .ok_or(Refusal::Malformed("no sender address"))?;
    if let Some(why) = automatic(&m, &from, own_addresses) {
        return Err(Refusal::Automatic(why));
    }
    let mut replies_to = ids(m.in_reply_to());
    let mut refs = ids(m.references());
    refs.reverse();
    replies_to.extend(refs);
    replies_to.truncate(50);
    // A real text/plain part is preferred; HTML only when that is all there is.
    let has_plain = m.text_bodies().any(|p| p.is_text() && !p.is_text_html());
    let (text, html) = if has_plain {
        (m.body_text(0).map(|t| t.into_owned()), None)
    } else {
        (None, m.body_html(0).map(|t| t.into_owned()))
    };
    let mut files = Vec::new();
    for (i, p) in m.attachments().enumerate() {
        if p.is_message() && p.attachment_name().is_none() {
            // A forwarded message without a name still arrives, as a file of its own.
        }
        let content_type = p
            .content_type()
            .map(|ct| match ct.subtype() {
                Some(sub) => format!("{}/{}", ct.ctype(), sub),
                None => ct.ctype().to_string(),
            })
            .unwrap_or_else(|| "application/octet-stream".into())
            .to_ascii_lowercase();
        // A media type as the API accepts them (`type/subtype`, short, plain letters); anything
        // else is stored as plain bytes.
        let plain = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "!#$&^_.+-".contains(c));
        let content_type = match content_type.split_once('/') {
            Some((t, sub)) if content_type.len() <= 100 && plain(t) && plain(sub) => content_type,
            _ => "application/octet-stream".into(),
        };
        let name = p
            .attachment_name()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| {
                if p.is_message() {
                    format!("message-{}.eml", i + 1)
                } else {
                    format!("attachment-{}", i + 1)
                }
            });
        let bytes = match p.message() {
            Some(inner) => inner.raw_message().to_vec(),
            None => p.contents().to_vec(),
        };
        files.push(File { name, content_type, bytes });
    }
    Ok(Incoming {
        to: mailboxes(m.to()),
        cc: mailboxes(m.cc()),
        message_id: m.message_id().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()),
        replies_to,
        subject: m.subject().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()),
        date: m.header_raw("Date").map(|d| d.trim().to_string()),
        text,
        html,
        files,
        from,
    })
}

/// The sender's address of a message, read from its headers alone (for telling the sender of a
/// refused message why; the message itself may be too large or broken to read).
pub fn sender_of(raw: &[u8]) -> Option<String> {
    let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n").map_or(raw.len().min(64 * 1024), |i| i + 4);
    let m = MessageParser::default().parse_headers(raw.get(..head_end.min(64 * 1024))?)?;
    mailboxes(m.from()).into_iter().next().map(|mb| mb.address)
}

/// The ticket number a subject names as `[#123]`, if any.
pub fn subject_ticket(subject: &str) -> Option<i64> {
    let start = subject.find("[#")?;
    let rest = subject.get(start + 2..)?;
    let end = rest.find(']')?;
    rest.get(..end)?.trim().parse().ok().filter(|n: &i64| *n > 0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

    use super::*;

    const OWN: &[&str] = &["support@suoja.test"];

    fn own() -> Vec<String> {
        OWN.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn finnish_latin1_with_encoded_words_and_an_rfc2231_file_name() {
        let mut raw = b"From: =?ISO-8859-1?Q?P=E4ivi_J=E4rvinen?= <paivi@suoja.test>\r\n\
To: support@suoja.test\r\n\
Subject: =?ISO-8859-1?Q?Tilaus_ei_n=E4y?=\r\n\
Message-ID: <abc@suoja.test>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            .to_vec();
        raw.extend_from_slice(b"Hyv\xe4\xe4 p\xe4iv\xe4\xe4, tilaukseni ei n\xe4y.\r\n");
        raw.extend_from_slice(
            b"--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename*=iso-8859-1''kuitti_%E4%F6.txt\r\n\r\nkuitti\r\n--b--\r\n",
        );
        let m = parse(&raw, 1 << 20, &own()).unwrap();
        assert_eq!(m.from.address, "paivi@suoja.test");
        assert_eq!(m.from.name.as_deref(), Some("Päivi Järvinen"));
        assert_eq!(m.subject.as_deref(), Some("Tilaus ei näy"));
        assert_eq!(m.text.as_deref().map(str::trim), Some("Hyvää päivää, tilaukseni ei näy."));
        assert_eq!(m.files.len(), 1);
        assert_eq!(m.files[0].name, "kuitti_äö.txt");
        assert_eq!(m.files[0].bytes, b"kuitti");
        assert_eq!(m.message_id.as_deref(), Some("abc@suoja.test"));
    }

    #[test]
    fn windows_1252_and_html_only() {
        let mut raw = b"From: a@suoja.test\r\nSubject: x\r\nContent-Type: text/html; charset=windows-1252\r\n\r\n".to_vec();
        raw.extend_from_slice(b"<p>\x93quoted\x94 \x80 10</p><script>x</script>");
        let m = parse(&raw, 1 << 20, &own()).unwrap();
        assert!(m.text.is_none());
        let html = m.html.unwrap();
        assert!(html.contains("\u{201c}quoted\u{201d} \u{20ac} 10"), "{html}");
    }

    #[test]
    fn automatic_messages_are_recognised() {
        for (header, why) in [
            ("Auto-Submitted: auto-replied", "Auto-Submitted"),
            ("Precedence: bulk", "Precedence"),
            ("X-Autoreply: yes", "X-Autoreply"),
            ("List-Id: <x.lists.example>", "mailing list"),
            ("X-Loop: support@suoja.test", "X-Loop"),
        ] {
            let raw = format!("From: a@suoja.test\r\n{header}\r\nSubject: away\r\n\r\nI am away.\r\n");
            assert_eq!(parse(raw.as_bytes(), 1 << 20, &own()).unwrap_err(), Refusal::Automatic(why), "{header}");
        }
        let raw = b"From: MAILER-DAEMON@suoja.test\r\nSubject: failure\r\n\r\nx\r\n";
        assert_eq!(parse(raw, 1 << 20, &own()).unwrap_err(), Refusal::Automatic("automatic sender"));
        let raw = b"From: support@suoja.test\r\nSubject: ours\r\n\r\nx\r\n";
        assert_eq!(parse(raw, 1 << 20, &own()).unwrap_err(), Refusal::Automatic("our own address"));
        let raw = b"From: Support+t1-abc@Suoja.test\r\nSubject: ours\r\n\r\nx\r\n";
        assert_eq!(parse(raw, 1 << 20, &own()).unwrap_err(), Refusal::Automatic("our own address"));
        let raw = b"From: a@suoja.test\r\nAuto-Submitted: no\r\nSubject: fine\r\n\r\nx\r\n";
        assert!(parse(raw, 1 << 20, &own()).is_ok());
    }

    #[test]
    fn inline_images_and_encoded_file_names_become_files() {
        let m = parse(include_bytes!("../tests/sample.eml"), 1 << 20, &own()).unwrap();
        assert_eq!(m.from.name.as_deref(), Some("Ted Started"));
        assert_eq!(m.cc.first().map(|c| c.name.as_deref()), Some(Some("Äino")));
        assert_eq!(m.subject.as_deref(), Some("Laskun korjaus – tilaus"));
        let text = m.text.unwrap();
        assert!(
            text.contains("virhe – katso liite") && text.contains("> quoted earlier text") && text.contains("Ted"),
            "{text}"
        );
        let files: Vec<(&str, &str)> = m.files.iter().map(|f| (f.name.as_str(), f.content_type.as_str())).collect();
        assert_eq!(files, [("kuva.png", "image/png"), ("lasku ä.pdf", "application/pdf")]);
        assert!(m.files[0].bytes.starts_with(b"\x89PNG"));
        assert_eq!(m.replies_to, ["prev@suoja.test"]);
    }

    #[test]
    fn odd_media_types_become_plain_bytes() {
        let raw = b"From: a@suoja.test\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: appl\x00ication/x\xff; name=a.bin\r\nContent-Disposition: attachment; filename=a.bin\r\n\r\nxyz\r\n--b\r\nContent-Type: image/png; name=b.png\r\nContent-Disposition: attachment; filename=b.png\r\n\r\npng\r\n--b--\r\n";
        let m = parse(raw, 1 << 20, &own()).unwrap();
        let types: Vec<&str> = m.files.iter().map(|f| f.content_type.as_str()).collect();
        assert_eq!(types, ["application/octet-stream", "image/png"]);
    }

    #[test]
    fn refusals() {
        assert!(matches!(parse(b"x", 0, &own()), Err(Refusal::TooLarge { size: 1, limit: 0 })));
        assert_eq!(
            parse(b"Subject: no sender\r\n\r\nbody", 1 << 20, &own()).unwrap_err(),
            Refusal::Malformed("no sender address")
        );
        assert!(parse(b"", 1 << 20, &own()).is_err());
    }

    #[test]
    fn thread_headers_nearest_first() {
        let raw = b"From: a@suoja.test\r\nIn-Reply-To: <c@x>\r\nReferences: <a@x> <b@x> <c@x>\r\n\r\nx";
        let m = parse(raw, 1 << 20, &own()).unwrap();
        assert_eq!(m.replies_to, vec!["c@x", "c@x", "b@x", "a@x"]);
    }

    #[test]
    fn subject_numbers() {
        assert_eq!(subject_ticket("Re: [#123] Printer"), Some(123));
        assert_eq!(subject_ticket("[# 7 ]"), Some(7));
        assert_eq!(subject_ticket("[#abc]"), None);
        assert_eq!(subject_ticket("[#-1]"), None);
        assert_eq!(subject_ticket("no number"), None);
        assert_eq!(subject_ticket("[#99999999999999999999999]"), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        /// Mutated messages never panic the reader.
        #[test]
        fn never_panics(flips in proptest::collection::vec((0usize..2048, proptest::prelude::any::<u8>()), 0..40), cut in 0usize..2048) {
            let mut raw = include_bytes!("../tests/sample.eml").to_vec();
            let n = raw.len();
            for (at, b) in flips {
                if let Some(x) = raw.get_mut(at % n) { *x = b; }
            }
            raw.truncate(cut.max(1).min(n));
            let _ = parse(&raw, 1 << 20, &own());
        }
    }
}
