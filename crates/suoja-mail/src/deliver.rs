//! From a message to a ticket. Everything a message changes — the sender's account when they
//! are new, the ticket or the comment, its files, the original message (sealed under the
//! comment's key) and the thread entries — is written in one transaction: a message is stored
//! whole or not at all, and storing it twice changes nothing (it is known by a keyed hash of its
//! Message-ID and content).
//!
//! Which ticket a message answers, strongest sign first: the reply address of a ticket (its
//! token carries a MAC), then `In-Reply-To` / `References` naming a message of the ticket, then
//! `[#123]` in the subject — the last only when the sender is already on that ticket. A sender
//! who is not on the ticket found (the requester, a CC, or staff) opens a new ticket instead,
//! as does an answer to a closed ticket.

use sha2::{Digest as _, Sha256};
use suoja_core::{Email, Personal, Role, Scope, Status, TenantId, TicketId, Timestamp, UserId};
use suoja_helpdesk::model::{Channel, CommentInput, NewFile, RequesterRef, TicketInput};
use suoja_store::Conn;
use suoja_store::mail::MailRow;

use crate::address::{message_hash, ticket_of_token};
use crate::parse::{Incoming, Refusal, parse, subject_ticket};
use crate::tenant::Addresses;
use crate::{MailError, Mailroom, Result};

/// What became of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivered {
    /// It opened this ticket.
    Opened {
        /// The ticket.
        ticket: i64,
    },
    /// It was added to this ticket.
    Added {
        /// The ticket.
        ticket: i64,
    },
    /// It was stored before (on this ticket); nothing changed.
    Duplicate {
        /// The ticket.
        ticket: i64,
    },
    /// It was a bounce of a message Suoja sent: that message is marked failed (the ticket shows
    /// it); nothing is stored.
    Bounce,
    /// It was written to the privacy address: a privacy request is open for the sender's
    /// address if it is on record (with a confirmation link sent to it), and nothing otherwise;
    /// the answer does not tell which.
    PrivacyRequest,
}

impl Delivered {
    /// The ticket, if it went to one.
    pub fn ticket(self) -> Option<i64> {
        match self {
            Delivered::Opened { ticket } | Delivered::Added { ticket } | Delivered::Duplicate { ticket } => Some(ticket),
            Delivered::PrivacyRequest | Delivered::Bounce => None,
        }
    }
}

/// What a message to the privacy address asks for, from its words (English and Finnish): an
/// erasure, a restriction, an objection, a portable copy, or else a copy of the data (staff
/// read the message and can change the request).
fn privacy_kind(subject: &str, body: &str) -> suoja_core::RequestKind {
    use suoja_core::RequestKind as K;
    let text = format!("{subject} {body}").to_lowercase();
    let any = |words: &[&str]| words.iter().any(|w| text.contains(w));
    if any(&["erase", "erasure", "delete", "forget", "poista", "unohd"]) {
        K::Erasure
    } else if any(&["restrict", "rajoit"]) {
        K::Restriction
    } else if any(&["object", "vastust", "kiellän"]) {
        K::Objection
    } else if any(&["portab", "siirr"]) {
        K::Portability
    } else {
        K::Access
    }
}

/// What makes two copies of a message the same message: its Message-ID, sender and subject
/// (and its date, when it has no Message-ID), and its body's bytes. Not the whole message: each mail server on the way adds trace
/// headers (`Received`, `Delivered-To`, `Return-Path`), so a second delivery of one message
/// differs in its header block.
fn dedupe_key(raw: &[u8], m: &Incoming) -> String {
    let body = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|i| i + 2))
        .and_then(|i| raw.get(i..))
        .unwrap_or(raw);
    let digest = hex::encode(Sha256::digest(body));
    format!(
        "mail-dedupe:{}\u{0}{}\u{0}{}\u{0}{}\u{0}{digest}",
        m.message_id.as_deref().unwrap_or_default(),
        m.from.address.to_ascii_lowercase(),
        m.subject.as_deref().unwrap_or_default(),
        if m.message_id.is_some() { "" } else { m.date.as_deref().unwrap_or_default() },
    )
}

/// Messages stored side by side when several arrive together (an IMAP pass).
pub const IMPORT_AT_ONCE: usize = 4;

/// The outbox kind of the notice telling a sender their message was refused.
pub const REFUSED: &str = "mail_refused";

/// Longest subject kept (the rest is in the original).
const MAX_SUBJECT: usize = 250;
/// Longest comment text kept, in characters (the rest is in the original, which agents open).
const MAX_TEXT: usize = 64 * 1024;

/// The comment's plain text and HTML: the message's own, cut at [`MAX_TEXT`] with a note, or a
/// placeholder when it has no text at all (only headers, or only files).
fn comment_text(m: &Incoming, has_files: bool) -> (Option<String>, Option<String>) {
    let cut = |t: &str| -> String {
        if t.chars().count() <= MAX_TEXT {
            return t.to_string();
        }
        let mut s: String = t.chars().take(MAX_TEXT).collect();
        s.push_str("\n\n[The message is longer; the rest is in the original message.]");
        s
    };
    match (&m.text, &m.html) {
        (Some(t), _) if !t.trim().is_empty() => (Some(cut(t)), None),
        (_, Some(h)) if !h.trim().is_empty() && h.len() <= MAX_TEXT * 4 => (None, Some(h.clone())),
        (_, Some(h)) if !h.trim().is_empty() => (Some(cut(&suoja_helpdesk::text::html_to_plain(h))), None),
        _ if has_files => (None, None),
        _ => (Some("(The message had no text.)".into()), None),
    }
}

/// A sender over their daily upload quota (the message's files count against it) is told so;
/// any other error stays what it was.
fn quota_used_up(e: suoja_helpdesk::HelpdeskError) -> MailError {
    match e {
        suoja_helpdesk::HelpdeskError::Limit { .. } => MailError::Refused(Refusal::Sender("the sender's upload quota for today is used up")),
        e => e.into(),
    }
}

/// Most files taken from one message.
const MAX_FILES: usize = 50;

impl Mailroom {
    /// The tenant mail for `subdomain` (or, without one, the only tenant) goes to.
    pub async fn tenant(&self, subdomain: Option<&str>) -> Result<TenantId> {
        let hd = self.privacy.helpdesk();
        let mut c = hd.db().read().await?;
        let tenant = match subdomain {
            Some(s) => suoja_store::tenants::by_subdomain(&mut c, s)
                .await?
                .ok_or_else(|| MailError::Tenant(format!("no tenant with subdomain {s:?}")))?,
            None => {
                let ids = suoja_store::tenants::ids(&mut c).await?;
                let id = match ids.as_slice() {
                    [one] => *one,
                    [] => return Err(MailError::Tenant("there is no tenant yet (run `suoja init`)".into())),
                    _ => return Err(MailError::Tenant("there are several tenants: name one (--tenant or mail_tenant)".into())),
                };
                suoja_store::tenants::by_id(&mut c, id)
                    .await?
                    .ok_or_else(|| MailError::Tenant("the tenant went away".into()))?
            }
        };
        // With several regions, a tenant served elsewhere (moved away) or being moved takes no
        // mail here: the MTA keeps it and tries again (exit 75).
        hd.check_region(&tenant.subdomain).await?;
        Ok(tenant.id)
    }

    /// Tells the sender of a message refused for good why (mail fetched over IMAP has no MTA to
    /// bounce it): only a person already on record, at most once an hour, never for automatic
    /// mail. Returns whether a notice was queued.
    pub async fn tell_refused(&self, tenant: TenantId, raw: &[u8], why: &Refusal) -> Result<bool> {
        if !why.bounces() {
            return Ok(false);
        }
        let Some(from) = crate::parse::sender_of(raw) else { return Ok(false) };
        let Ok(email) = Email::parse(&from) else { return Ok(false) };
        let hd = self.privacy.helpdesk();
        let now = hd.now();
        let mut tx = hd.db().begin().await?;
        let Some(user) = hd.user_by_email(&mut tx, tenant, &email).await? else {
            return Ok(false);
        };
        if user.deleted_at.is_some() {
            return Ok(false);
        }
        let hour_ago = now.0 - 3_600_000;
        let recent = suoja_store::outbox::for_user(&mut tx, tenant, user.id.0)
            .await?
            .iter()
            .any(|m| m.kind == REFUSED && m.created_at.0 >= hour_ago);
        if recent {
            return Ok(false);
        }
        let support = self.addresses(&mut tx, tenant).await?.support;
        let body = serde_json::json!({
            "subject": "Your message was not accepted",
            "text": format!("Hello,\n\nyour message to {} could not be accepted: {why}.\n", support.address()),
        })
        .to_string();
        let sealed = hd.vault().encrypt_str(&mut tx, tenant, user.key_id, &body).await?;
        suoja_store::outbox::insert(&mut tx, tenant, user.id.0, REFUSED, sealed, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The address replies to `ticket` go to (its token only this tenant's key makes).
    pub async fn reply_address(&self, tenant: TenantId, ticket: i64) -> Result<String> {
        let hd = self.privacy.helpdesk();
        let mut c = hd.db().read().await?;
        let token = crate::address::ticket_token(hd.vault(), &mut c, tenant, ticket).await?;
        Ok(self.addresses(&mut c, tenant).await?.support.reply_address(&token))
    }

    /// Stores several messages for `tenant`, [`IMPORT_AT_ONCE`] side by side (their
    /// transactions share commits), each as [`Mailroom::deliver`] would; the results in order.
    pub async fn deliver_all(&self, tenant: TenantId, raws: &[&[u8]]) -> Vec<Result<Delivered>> {
        let mut out = Vec::with_capacity(raws.len());
        for group in raws.chunks(IMPORT_AT_ONCE) {
            let mut side = Vec::with_capacity(group.len());
            for raw in group {
                side.push(Box::pin(self.deliver(tenant, raw)));
            }
            out.extend(futures_util::future::join_all(side).await);
        }
        out
    }

    /// Stores one raw message for `tenant`, its envelope read from the headers the receiving
    /// server wrote (as for mail fetched over IMAP).
    pub async fn deliver(&self, tenant: TenantId, raw: &[u8]) -> Result<Delivered> {
        self.deliver_with(tenant, raw, None).await
    }

    /// Stores one raw message for `tenant` that arrived with `envelope` (as an MTA's pipe
    /// transport tells it), or with the envelope its headers record when `None`.
    pub async fn deliver_with(&self, tenant: TenantId, raw: &[u8], envelope: Option<&crate::auth::Envelope>) -> Result<Delivered> {
        let addrs = {
            let mut c = self.privacy.helpdesk().db().read().await?;
            self.addresses(&mut c, tenant).await?
        };
        let mut m = match parse(raw, self.cfg.max_bytes, &addrs.list()) {
            Ok(m) => m,
            Err(Refusal::Automatic(why)) => {
                // A bounce of ours is recorded against the message it answers; other automatic
                // mail is dropped.
                return match self.bounce(tenant, raw).await? {
                    true => Ok(Delivered::Bounce),
                    false => Err(MailError::Refused(Refusal::Automatic(why))),
                };
            }
            Err(r) => return Err(MailError::Refused(r)),
        };
        if let Some(p) = &addrs.privacy
            && m.to.iter().chain(&m.cc).any(|r| p.tag_of(&r.address).is_some())
        {
            // A second delivery of the same message opens no second request; it is noted once
            // handled, so a delivery that failed on the way is handled again. (One at a time:
            // two copies stored side by side must not both find it unseen.)
            let _one_at_a_time = self.privacy_mail.lock().await;
            let hd = self.privacy.helpdesk();
            let hash = {
                let mut c = hd.db().read().await?;
                let hash = hd.vault().blind_index(&mut c, tenant, &dedupe_key(raw, &m)).await?;
                if suoja_store::mail::was_seen(&mut c, tenant, &hash).await? {
                    return Ok(Delivered::PrivacyRequest);
                }
                hash
            };
            let check = match &self.checker {
                Some(checker) => {
                    let from_headers;
                    let envelope = match envelope {
                        Some(e) => e,
                        None => {
                            from_headers = crate::auth::Envelope::from_headers(raw, self.cfg.local_hops);
                            &from_headers
                        }
                    };
                    checker.check(raw, envelope, &p.domain).await
                }
                None => crate::auth::SenderCheck::unchecked(),
            };
            let done = self.privacy_request(tenant, &m, &check).await?;
            let mut tx = hd.db().begin().await?;
            let sender = match Email::parse(&m.from.address) {
                Ok(e) => hd.user_by_email(&mut tx, tenant, &e).await?.map(|u| u.id.0),
                Err(_) => None,
            };
            suoja_store::mail::note_seen(&mut tx, tenant, &hash, sender, hd.now()).await?;
            tx.commit().await?;
            return Ok(done);
        }
        let hd = self.privacy.helpdesk();
        let v = hd.vault();
        let now = hd.now();
        let mut tx = hd.db().begin().await?;
        let dedupe = {
            let key = dedupe_key(raw, &m);
            v.blind_index(&mut tx, tenant, &key).await?
        };
        if let Some(ticket) = suoja_store::mail::seen(&mut tx, tenant, &dedupe).await? {
            return Ok(Delivered::Duplicate { ticket });
        }
        let email = Email::parse(&m.from.address).map_err(|_| MailError::Refused(Refusal::Malformed("the sender address is not valid")))?;
        let sender = hd
            .find_or_create_end_user(&mut tx, tenant, &email, m.from.name.clone().map(Personal::new), now)
            .await
            .map_err(|e| match e {
                suoja_helpdesk::HelpdeskError::Invalid { .. } => MailError::Refused(Refusal::Sender("this sender may not write here")),
                e => e.into(),
            })?;
        if sender.suspended {
            return Err(MailError::Refused(Refusal::Sender("this sender may not write here")));
        }
        let hour_ago = Timestamp(now.0 - 3_600_000);
        if suoja_store::mail::count_from_since(&mut tx, tenant, sender.id.0, hour_ago).await? >= i64::from(self.cfg.per_sender_per_hour) {
            return Err(MailError::Refused(Refusal::RateLimited));
        }
        let scope = Scope {
            tenant,
            actor: sender.id,
            role: sender.role,
            privacy_officer: false,
            token: None,
        };
        let files = Self::files(std::mem::take(&mut m.files))?;
        let (text, html) = comment_text(&m, !files.is_empty());
        let answered = self.ticket_answered(&mut tx, &scope, &m, &addrs).await?;
        let comment = CommentInput {
            body: text.map(Personal::new),
            html_body: html.map(Personal::new),
            // Mail from a staff address becomes an internal note: it can be forged, and must not
            // reach the requester under the helpdesk's name.
            public: scope.role == Role::EndUser,
            author_id: None,
            uploads: Vec::new(),
            files,
            via: Channel::Email,
        };
        let ccs = self.copied_people(&mut tx, tenant, &m, &addrs, sender.id, now).await?;
        let (outcome, change, add_ccs) = match answered {
            Some((ticket, strong)) => {
                let input = TicketInput {
                    comment: Some(comment),
                    ..Default::default()
                };
                let change = hd
                    .update_ticket_in(&mut tx, &scope, TicketId(ticket), input, now)
                    .await
                    .map_err(quota_used_up)?;
                // Only a reply through the ticket's own address brings new CCs: a subject number
                // or thread headers are no proof the mail came from someone on the ticket.
                (Delivered::Added { ticket }, change, strong)
            }
            None => {
                let subject: String = m.subject.clone().unwrap_or_else(|| "(no subject)".into()).chars().take(MAX_SUBJECT).collect();
                let input = TicketInput {
                    subject: Some(Personal::new(subject)),
                    comment: Some(comment),
                    requester: Some(RequesterRef::Id(sender.id)),
                    ..Default::default()
                };
                let change = hd.create_ticket_in(&mut tx, &scope, input, now).await.map_err(quota_used_up)?;
                (Delivered::Opened { ticket: change.ticket.id.0 }, change, true)
            }
        };
        let ticket = change.ticket.id.0;
        if add_ccs && scope.role == Role::EndUser {
            hd.add_mail_ccs(&mut tx, tenant, TicketId(ticket), &ccs, now).await?;
        }
        let comment_id = change.events.iter().find_map(|e| e.comment_id);
        let key = match comment_id {
            Some(cid) => suoja_store::comments::by_id(&mut tx, tenant, cid).await?.map(|r| r.key_id),
            None => None,
        }
        .unwrap_or(sender.key_id);
        let blobs = hd.db().blobs();
        let sealed = v.encrypt(&mut tx, tenant, key, raw).await?;
        let content = suoja_store::blobs::Content::store(blobs, tenant, sealed).await?;
        let (raw_enc, blob_key) = content.clone().into_columns();
        let row = MailRow {
            id: 0,
            user_id: sender.id.0,
            ticket_id: ticket,
            comment_id: comment_id.map(|c| c.0),
            key_id: key.0,
            raw_enc,
            blob_key,
            size: suoja_core::num::to_i64(raw.len()),
            created_at: now,
        };
        let mail_id = match suoja_store::mail::insert(&mut tx, tenant, &row, &dedupe).await {
            Ok(id) => id,
            Err(e) => {
                content.discard(blobs).await;
                return Err(e.into());
            }
        };
        let recipients: Vec<i64> = ccs.iter().map(|u| u.0).collect();
        suoja_store::mail::add_recipients(&mut tx, tenant, mail_id, &recipients).await?;
        if let Some(id) = &m.message_id {
            let h = message_hash(v, &mut tx, tenant, id).await?;
            suoja_store::mail::thread(&mut tx, tenant, &h, ticket, now).await?;
        }
        tx.commit().await?;
        tracing::info!(tenant.id = %tenant, ticket.id = ticket, bytes = raw.len(), "mail stored");
        Ok(outcome)
    }

    /// If `raw` is a delivery failure report about a message Suoja sent (it quotes that
    /// message's Message-ID, whose random part only Suoja knows), marks that message failed with
    /// the report's status code. Delay reports (`4.x.x`) change nothing. Returns whether it was one.
    async fn bounce(&self, tenant: TenantId, raw: &[u8]) -> Result<bool> {
        let text = String::from_utf8_lossy(raw);
        // Only a delivery status report (RFC 3464) saying delivery failed: an out-of-office
        // answer quoting our Message-ID is not one.
        let lower = text.to_ascii_lowercase();
        if !lower.contains("report-type=delivery-status") && !lower.contains("report-type=\"delivery-status\"") {
            return Ok(false);
        }
        if !lower.lines().any(|l| l.trim() == "action: failed") {
            return Ok(false);
        }
        let prefix = format!("<suoja.{}.", tenant.0);
        let Some(id) = text.match_indices(&prefix).find_map(|(at, _)| {
            let rest = text.get(at + 1..)?;
            let end = rest.find('>')?;
            let id = rest.get(..end)?;
            (id.len() < 200 && id.ends_with(&format!("@{}", self.cfg.support.domain))).then(|| id.to_string())
        }) else {
            return Ok(false);
        };
        let status = text.lines().find_map(|l| {
            let v = l.strip_prefix("Status:")?.trim();
            let code: String = v.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
            (code.len() >= 5).then_some(code)
        });
        let hd = self.privacy.helpdesk();
        let mut tx = hd.db().begin().await?;
        let Some(m) = suoja_store::outbox::by_message_id(&mut tx, tenant, &id).await? else {
            return Ok(false);
        };
        match status.as_deref() {
            Some(s) if s.starts_with('5') => suoja_store::outbox::mark_failed(&mut tx, tenant, m.id, &format!("bounced {s}")).await?,
            // A delay (4.x.x) or no status at all: the message may still arrive.
            _ => return Ok(true),
        }
        tx.commit().await?;
        tracing::info!(tenant.id = %tenant, outbox.id = m.id, "bounce recorded");
        Ok(true)
    }

    /// A message to the privacy address: the sender's request, opened as one from an address
    /// (a one-time link goes to the address on record; the message is kept with the request).
    async fn privacy_request(&self, tenant: TenantId, m: &Incoming, check: &crate::auth::SenderCheck) -> Result<Delivered> {
        let email = Email::parse(&m.from.address).map_err(|_| MailError::Refused(Refusal::Malformed("the sender address is not valid")))?;
        let text = m
            .text
            .clone()
            .or_else(|| m.html.as_deref().map(suoja_helpdesk::text::html_to_plain))
            .unwrap_or_default();
        let subject = m.subject.clone().unwrap_or_default();
        let message: String = format!("{subject}\n\n{text}").chars().take(4000).collect();
        let input = suoja_privacy::requests::NewRequest {
            subject: suoja_privacy::requests::Subject::Email(email),
            kind: privacy_kind(&subject, &text),
            channel: Some("email".into()),
            received_at: None,
            changes: None,
            message: Some(Personal::new(message)),
            sender_check: Some(check.to_json()),
        };
        match self.privacy.open(tenant, None, input, &self.cfg.public_url).await {
            Ok(_) => {}
            // The store or vault failing is worth a retry; anything else the request refused is
            // answered as for an unknown address (the sender learns nothing from it).
            Err(suoja_privacy::PrivacyError::Helpdesk(h)) if matches!(h, suoja_helpdesk::HelpdeskError::Store(_) | suoja_helpdesk::HelpdeskError::Vault(_)) => {
                return Err(h.into());
            }
            Err(suoja_privacy::PrivacyError::Internal(why)) => return Err(MailError::Server(why)),
            Err(_) => {}
        }
        tracing::info!(tenant.id = %tenant, "mail to the privacy address handled");
        Ok(Delivered::PrivacyRequest)
    }

    /// The message's files, as its comment's (written once, in place, with the comment).
    fn files(files: Vec<crate::parse::File>) -> Result<Vec<NewFile>> {
        let mut out = Vec::new();
        for f in files.into_iter().filter(|f| !f.bytes.is_empty()).take(MAX_FILES) {
            if f.bytes.len() > suoja_helpdesk::uploads::MAX_UPLOAD_BYTES {
                return Err(MailError::Refused(Refusal::Malformed("an attachment is too large")));
            }
            out.push(NewFile {
                file_name: Personal::new(f.name),
                content_type: f.content_type,
                bytes: Personal::new(f.bytes),
            });
        }
        Ok(out)
    }

    /// The open ticket this message answers, if the sender may add to it, and whether it was
    /// found by the ticket's reply address (the one sign a forged `From` cannot give).
    async fn ticket_answered(&self, c: &mut Conn, scope: &Scope, m: &Incoming, addrs: &Addresses) -> Result<Option<(i64, bool)>> {
        let hd = self.privacy.helpdesk();
        let v = hd.vault();
        let t = scope.tenant;
        let mut found: Option<(i64, bool)> = None;
        // The reply address: a token only this tenant's key makes.
        for to in m.to.iter().chain(&m.cc) {
            if let Some(tag) = addrs.reply_tag(&to.address)
                && let Some(id) = ticket_of_token(v, c, t, tag).await?
            {
                found = Some((id, true));
                break;
            }
        }
        if found.is_none() && !m.replies_to.is_empty() {
            let mut hashes = Vec::with_capacity(m.replies_to.len());
            for id in &m.replies_to {
                hashes.push(message_hash(v, c, t, id).await?);
            }
            found = suoja_store::mail::ticket_of(c, t, &hashes).await?.map(|id| (id, false));
        }
        if found.is_none() {
            found = m.subject.as_deref().and_then(subject_ticket).map(|id| (id, false));
        }
        let Some((id, strong)) = found else { return Ok(None) };
        let Some(row) = suoja_store::tickets::by_id(c, t, TicketId(id)).await? else {
            return Ok(None);
        };
        if row.deleted_at.is_some() || row.status == Status::Closed {
            return Ok(None);
        }
        // Only someone already on the ticket adds to it; anyone else opens a ticket of their own.
        // Staff write on a ticket by mail only through its reply address: a `From` naming an
        // agent proves nothing.
        let on_ticket = (scope.role != Role::EndUser && strong)
            || row.requester_id == scope.actor
            || suoja_store::tickets::collaborators(c, t, &[row.id])
                .await?
                .iter()
                .any(|(_, u, kind)| *u == scope.actor && kind != "follower");
        Ok(on_ticket.then_some((id, strong)))
    }

    /// People in `To` and `Cc` besides the sender and the helpdesk: the new ticket's CCs.
    async fn copied_people(&self, c: &mut Conn, tenant: TenantId, m: &Incoming, addrs: &Addresses, sender: UserId, now: Timestamp) -> Result<Vec<UserId>> {
        let hd = self.privacy.helpdesk();
        let mut out = Vec::new();
        for mb in m.to.iter().chain(&m.cc).take(20) {
            if addrs.is_ours(&mb.address) {
                continue;
            }
            let Ok(email) = Email::parse(&mb.address) else { continue };
            let Ok(u) = hd.find_or_create_end_user(c, tenant, &email, mb.name.clone().map(Personal::new), now).await else {
                continue;
            };
            if u.id != sender && !u.suspended && !out.contains(&u.id) {
                out.push(u.id);
            }
        }
        Ok(out)
    }
}
