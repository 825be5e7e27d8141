//! Data-subject requests (GDPR Art. 12): one inbox for every channel, due dates by the
//! calendar rules in [`crate::deadline`], identity checks proportionate to the channel, reasoned
//! extensions and refusals, and a ledger entry for every step. Reasons and requested changes
//! are sealed under the person's key; the ledger and the inbox hold ids and codes.

use serde_json::{Value, json};
use suoja_core::{Email, Personal, RequestStatus, Scope, TenantId, Timestamp, UserId};
use suoja_store::Conn;
use suoja_store::requests::RequestRow;

use crate::{Privacy, PrivacyError, Result, require_privacy};

/// What the person asks for.
pub use suoja_core::RequestKind as Kind;

/// Channels staff may record a request from (the person's own requests come from `portal`).
pub const STAFF_CHANNELS: &[&str] = &["email", "phone", "letter", "ticket", "in person", "api"];

/// Refusal codes (Art. 12(5), 15(4), 17(3)).
pub const REFUSAL_CODES: &[&str] = &[
    "manifestly_unfounded",
    "excessive",
    "identity_not_confirmed",
    "legal_obligation",
    "legal_claims",
    "rights_of_others",
    "other",
];

/// A request, with its sealed details opened.
#[derive(Debug, Clone)]
pub struct Request {
    /// Id.
    pub id: i64,
    /// The person (user id).
    pub subject_id: i64,
    /// What the person asks for.
    pub kind: suoja_core::RequestKind,
    /// `portal`, `api`, `agent`, `email`, `phone`, `letter`.
    pub channel: String,
    /// Where it stands.
    pub status: suoja_core::RequestStatus,
    /// Staff member who opened it, if any.
    pub opened_by: Option<i64>,
    /// When it reached us.
    pub received_at: Timestamp,
    /// Current due time.
    pub due_at: Timestamp,
    /// Due time before any extension.
    pub original_due_at: Timestamp,
    /// When it was extended.
    pub extended_at: Option<Timestamp>,
    /// When the person's identity was confirmed.
    pub verified_at: Option<Timestamp>,
    /// `session`, `email_link` or `staff`.
    pub verification: Option<String>,
    /// When it was fulfilled or refused.
    pub closed_at: Option<Timestamp>,
    /// Refusal or outcome code.
    pub outcome_code: Option<String>,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
    /// The person's key, which seals the details and notices to them.
    pub(crate) key_id: suoja_core::KeyId,
    /// Reasons and requested changes.
    pub details: Personal<Value>,
    /// Withheld-items summary.
    pub withheld: Value,
}

/// Who a new request is about.
#[derive(Debug, Clone)]
pub enum Subject {
    /// The signed-in person themselves.
    Myself,
    /// A person chosen by staff.
    User(UserId),
    /// Whoever holds this e-mail address (anonymous requests).
    Email(Email),
}

/// A new request.
#[derive(Debug, Clone)]
pub struct NewRequest {
    /// Who.
    pub subject: Subject,
    /// What.
    pub kind: Kind,
    /// Where it came from (staff only; the person's own requests are `portal`/`email_link`).
    pub channel: Option<String>,
    /// When it reached the organisation (staff only; defaults to now).
    pub received_at: Option<Timestamp>,
    /// For rectification: the corrected profile fields (`name`, `phone`, `email`, …).
    pub changes: Option<Personal<Value>>,
    /// Free text from the person or the agent.
    pub message: Option<Personal<String>>,
    /// For a request written to the privacy address: the message's SPF, DKIM and DMARC results
    /// (`{"spf": "pass", …}`), one input to the identity check. Kept with the request and in
    /// the ledger; never trusted alone (the link still goes to the address on record).
    pub sender_check: Option<Value>,
}

mod identity;

/// A sender check reduced to its three known codes (anything else becomes `none`), so nothing
/// but a code reaches the ledger.
fn sender_check_codes(v: Value) -> Value {
    const CODES: &[&str] = &["pass", "fail", "softfail", "neutral", "none", "temperror", "permerror"];
    let code = |k: &str| v.get(k).and_then(Value::as_str).filter(|c| CODES.contains(c)).unwrap_or("none");
    json!({ "spf": code("spf"), "dkim": code("dkim"), "dmarc": code("dmarc") })
}

impl Privacy {
    async fn seal_details(&self, c: &mut Conn, tenant: TenantId, key: suoja_core::KeyId, details: &Value) -> Result<Vec<u8>> {
        Ok(self.hd.vault().encrypt_str(c, tenant, key, &details.to_string()).await?)
    }

    async fn open_request(&self, c: &mut Conn, tenant: TenantId, row: RequestRow) -> Result<Request> {
        let details = match &row.details_enc {
            Some(d) => match self.hd.vault().decrypt_str(c, tenant, d).await {
                Ok(s) => serde_json::from_str(&s).unwrap_or(Value::Null),
                // The person was erased: their key is gone and so are the reasons.
                Err(_) => json!({ "unreadable": true }),
            },
            None => json!({}),
        };
        let withheld = serde_json::from_str(&row.withheld).unwrap_or(json!([]));
        Ok(Request {
            id: row.id,
            subject_id: row.subject_id,
            kind: row.kind,
            channel: row.channel.clone(),
            status: row.status,
            opened_by: row.opened_by,
            received_at: row.received_at,
            due_at: row.due_at,
            original_due_at: row.original_due_at,
            extended_at: row.extended_at,
            verified_at: row.verified_at,
            verification: row.verification.clone(),
            closed_at: row.closed_at,
            outcome_code: row.outcome_code.clone(),
            created_at: row.created_at,
            updated_at: row.updated_at,
            key_id: row.key_id,
            details: Personal::new(details),
            withheld,
        })
    }

    /// Opens a request. Staff open requests for a person from any channel; a signed-in person
    /// opens their own (verified by their session); without a session (`scope` is `None`) the
    /// person names an e-mail address and, only if it is on record, a one-time link is sent to it.
    /// The anonymous answer is the same whether or not the address is known (`Ok(None)`).
    pub async fn open(&self, tenant: TenantId, scope: Option<&Scope>, input: NewRequest, base_url: &str) -> Result<Option<Request>> {
        let now = self.hd.now();
        // What can be checked without knowing who the subject is, first: an anonymous caller's
        // mistake gets the same answer whether or not the address is on record.
        if input.kind == Kind::Rectification && input.changes.is_none() {
            return Err(PrivacyError::invalid("changes", "a rectification request names the corrected fields"));
        }
        if let Some(ch) = &input.changes {
            crate::restriction::check_changes(ch.expose())?;
        }
        let mut tx = self.hd.db().begin().await?;
        let (subject_row, channel, received_at, verified) = match (scope, &input.subject) {
            (Some(s), Subject::Myself) => {
                let u = suoja_store::users::by_id(&mut tx, tenant, s.actor)
                    .await?
                    .ok_or(PrivacyError::NotFound("User"))?;
                let channel = if s.is_staff() { "api" } else { "portal" };
                // A session whose password or address someone else set proves nothing about
                // who holds it: staff confirm the identity instead.
                let proven = !suoja_store::web::credentials_reset(&mut tx, tenant, u.id).await?;
                (u, channel.to_string(), now, proven)
            }
            (Some(s), Subject::User(id)) => {
                if !s.is_staff() {
                    return Err(PrivacyError::Forbidden("people can open requests only about themselves"));
                }
                let u = suoja_store::users::by_id(&mut tx, tenant, *id).await?.ok_or(PrivacyError::NotFound("User"))?;
                let channel = input.channel.clone().unwrap_or_else(|| "api".into());
                if !STAFF_CHANNELS.contains(&channel.as_str()) {
                    return Err(PrivacyError::invalid("channel", format!("must be one of {}", STAFF_CHANNELS.join(", "))));
                }
                let received = input.received_at.unwrap_or(now);
                if received > now {
                    return Err(PrivacyError::invalid("received_at", "cannot be in the future"));
                }
                if received.0 < now.0 - 90 * 86_400_000 {
                    return Err(PrivacyError::invalid(
                        "received_at",
                        "is more than 90 days ago; record requests when they arrive",
                    ));
                }
                (u, channel, received, false)
            }
            (None, Subject::Email(email)) => match self.hd.user_by_email(&mut tx, tenant, email).await? {
                Some(u) if u.deleted_at.is_none() => {
                    // Past the day's link limit nothing is recorded: an address cannot be used to
                    // flood the inbox (the caller sees the same answer).
                    let sent = suoja_store::requests::verifications_since(&mut tx, tenant, u.id.0, Timestamp(now.0 - 86_400_000)).await?;
                    if sent >= self.policy.links_per_day {
                        return Ok(None);
                    }
                    // Written to the privacy address (the mail channel says so), or from a form.
                    let channel = if input.channel.as_deref() == Some("email") { "email" } else { "email_link" };
                    (u, channel.to_string(), now, false)
                }
                _ => return Ok(None),
            },
            (Some(_), Subject::Email(_)) => {
                return Err(PrivacyError::invalid(
                    "email",
                    "signed-in people open requests about themselves; staff name the user by id",
                ));
            }
            (None, _) => return Err(PrivacyError::invalid("email", "is required when not signed in")),
        };
        if subject_row.deleted_at.is_some() {
            return Err(PrivacyError::NotFound("User"));
        }
        let due = self.policy.calendar.due(received_at);
        let mut details = json!({});
        if let Some(ch) = &input.changes {
            suoja_core::json::set(&mut details, "changes", ch.expose().clone());
        }
        if let Some(m) = &input.message {
            suoja_core::json::set(&mut details, "message", json!(m.expose()));
        }
        // Only the mail channel records how the message checked out.
        let sender_check = input.sender_check.filter(|_| channel == "email" && scope.is_none()).map(sender_check_codes);
        if let Some(check) = &sender_check {
            suoja_core::json::set(&mut details, "sender_check", check.clone());
        }
        let key = subject_row.key_id;
        let details_enc = Some(self.seal_details(&mut tx, tenant, key, &details).await?);
        let mut row = RequestRow {
            id: 0,
            subject_id: subject_row.id.0,
            kind: input.kind,
            channel: channel.clone(),
            status: if verified { RequestStatus::Verified } else { RequestStatus::Received },
            opened_by: scope.filter(|s| s.is_staff()).map(|s| s.actor.0),
            received_at,
            due_at: due,
            original_due_at: due,
            extended_at: None,
            verified_at: verified.then_some(now),
            verification: verified.then(|| "session".to_string()),
            closed_at: None,
            outcome_code: None,
            key_id: key,
            details_enc,
            withheld: "[]".into(),
            created_at: now,
            updated_at: now,
        };
        row.id = suoja_store::requests::insert(&mut tx, tenant, &row).await?;
        let actor = scope.map(|s| s.actor.0);
        self.record_ledger(
            &mut tx,
            tenant,
            suoja_core::LedgerKind::RequestReceived,
            Some(row.subject_id),
            actor,
            json!({ "request": row.id, "kind": row.kind, "channel": channel, "received_at": received_at.0, "due_at": due.0, "sender_check": sender_check }),
        )
        .await?;
        if verified {
            self.record_ledger(
                &mut tx,
                tenant,
                suoja_core::LedgerKind::RequestVerified,
                Some(row.subject_id),
                actor,
                json!({ "request": row.id, "method": "session" }),
            )
            .await?;
        } else if subject_row.email_enc.is_some() && !matches!(input.subject, Subject::Myself) {
            // (A person whose own session is no proof gets no link either: the address on record
            // may be the one someone else set. Staff confirm who they are.)
            self.send_link(&mut tx, tenant, &mut row, base_url, now).await?;
        }
        let req = self.open_request(&mut tx, tenant, row).await?;
        tx.commit().await?;
        tracing::info!(tenant.id = %tenant, request.id = req.id, kind = req.kind.as_str(), "privacy request received");
        Ok(Some(req))
    }

    /// Extends the due date by two further months (Art. 12(3)). Only before the original due
    /// date, only once, and with a reason the person is told.
    pub async fn extend(&self, scope: &Scope, id: i64, reason: &str) -> Result<Request> {
        require_privacy(scope)?;
        if reason.trim().is_empty() {
            return Err(PrivacyError::invalid("reason", "an extension needs a reason"));
        }
        let calendar = self.policy.calendar.clone();
        let req = self
            .change(scope, id, |row, now| {
                if row.extended_at.is_some() {
                    return Err(PrivacyError::Conflict("the request was already extended".into()));
                }
                if now > row.original_due_at {
                    return Err(PrivacyError::Conflict(
                        "the original due date has passed; an extension must be decided before it".into(),
                    ));
                }
                row.extended_at = Some(now);
                row.due_at = calendar.extended_due(row.received_at);
                Ok((
                    suoja_core::LedgerKind::RequestExtended,
                    json!({ "due_at": row.due_at.0 }),
                    Some(("extension_reason", reason.to_string())),
                ))
            })
            .await?;
        let body = format!(
            "We need more time to answer your {} request. The new due date is {}. Reason: {}",
            req.kind,
            req.due_at.to_iso(),
            reason.trim()
        );
        self.notify(scope.tenant, &req, "request_extended", &body).await?;
        Ok(req)
    }

    /// Refuses a request with a code and a reason; the person is told why and how to complain.
    pub async fn refuse(&self, scope: &Scope, id: i64, code: &str, reason: &str) -> Result<Request> {
        require_privacy(scope)?;
        if !REFUSAL_CODES.contains(&code) {
            return Err(PrivacyError::invalid("code", format!("must be one of {}", REFUSAL_CODES.join(", "))));
        }
        if reason.trim().is_empty() {
            return Err(PrivacyError::invalid("reason", "a refusal needs a reason"));
        }
        let req = self
            .change(scope, id, |row, now| {
                row.status = RequestStatus::Refused;
                row.closed_at = Some(now);
                row.outcome_code = Some(code.to_string());
                Ok((
                    suoja_core::LedgerKind::RequestRefused,
                    json!({ "code": code }),
                    Some(("refusal_reason", reason.to_string())),
                ))
            })
            .await?;
        let body = format!(
            "We cannot act on your {} request. Reason: {}\nYou have the right to lodge a complaint with {} and to seek a judicial remedy before a court.",
            req.kind,
            reason.trim(),
            self.policy.supervisory_authority
        );
        self.notify(scope.tenant, &req, "request_refused", &body).await?;
        Ok(req)
    }

    /// Applies a change to an open request in one transaction with its ledger entry. `f` returns
    /// the ledger kind, non-personal details, and optionally a sealed detail to add.
    pub(crate) async fn change(
        &self,
        scope: &Scope,
        id: i64,
        f: impl FnOnce(&mut RequestRow, Timestamp) -> Result<(suoja_core::LedgerKind, Value, Option<(&'static str, String)>)>,
    ) -> Result<Request> {
        let now = self.hd.now();
        let mut tx = self.hd.db().begin().await?;
        let mut row = suoja_store::requests::by_id(&mut tx, scope.tenant, id)
            .await?
            .ok_or(PrivacyError::NotFound("Request"))?;
        if row.closed_at.is_some() {
            return Err(PrivacyError::Conflict(format!("the request is already {}", row.status)));
        }
        let (kind, mut ledger_details, sealed) = f(&mut row, now)?;
        if let Some((field, text)) = sealed {
            let mut details = match &row.details_enc {
                Some(d) => serde_json::from_str(&self.hd.vault().decrypt_str(&mut tx, scope.tenant, d).await?).unwrap_or(json!({})),
                None => json!({}),
            };
            if !details.is_object() {
                return Err(PrivacyError::Internal("a request's stored details are not a JSON object".into()));
            }
            suoja_core::json::set(&mut details, field, json!(text.trim()));
            row.details_enc = Some(self.seal_details(&mut tx, scope.tenant, row.key_id, &details).await?);
        }
        row.updated_at = now;
        suoja_store::requests::update(&mut tx, scope.tenant, &row).await?;
        suoja_core::json::set(&mut ledger_details, "request", json!(id));
        self.record_ledger(&mut tx, scope.tenant, kind, Some(row.subject_id), Some(scope.actor.0), ledger_details)
            .await?;
        let req = self.open_request(&mut tx, scope.tenant, row).await?;
        tx.commit().await?;
        Ok(req)
    }

    async fn notify(&self, tenant: TenantId, req: &Request, kind: &str, body: &str) -> Result<()> {
        let mut tx = self.hd.db().begin().await?;
        self.queue_message(&mut tx, tenant, UserId(req.subject_id), req.key_id, kind, body).await?;
        tx.commit().await?;
        Ok(())
    }

    /// One request. Staff who handle privacy see any; a person sees their own.
    pub async fn get(&self, scope: &Scope, id: i64) -> Result<Request> {
        let mut c = self.hd.db().read().await?;
        let row = suoja_store::requests::by_id(&mut c, scope.tenant, id)
            .await?
            .filter(|r| scope.handles_privacy() || r.subject_id == scope.actor.0)
            .ok_or(PrivacyError::NotFound("Request"))?;
        self.open_request(&mut c, scope.tenant, row).await
    }

    /// The inbox (privacy staff: everyone's; a person: their own): open requests first, soonest
    /// due first. Returns the page and the total.
    pub async fn list(&self, scope: &Scope, open_only: bool, per_page: i64, page: i64) -> Result<(Vec<Request>, i64)> {
        let subject = if scope.handles_privacy() { None } else { Some(scope.actor.0) };
        let mut c = self.hd.db().read().await?;
        let rows = suoja_store::requests::list(&mut c, scope.tenant, subject, open_only, per_page, (page - 1) * per_page).await?;
        let total = suoja_store::requests::count(&mut c, scope.tenant, subject, open_only).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(self.open_request(&mut c, scope.tenant, r).await?);
        }
        Ok((out, total))
    }
}
