//! Legal holds (GDPR Art. 17(3), A17-05): a person, a ticket, or every ticket carrying a tag,
//! kept despite erasure for a recorded ground, approved by privacy staff, until an expiry date.
//! Held data is restricted while held, listed in erasure plans, and erased automatically once
//! the hold ends (the erasure runner looks again).

use std::collections::BTreeSet;

use serde_json::json;
use suoja_core::{Role, Scope, TenantId, Timestamp, UserId};
use suoja_store::Conn;
use suoja_store::holds::HoldRow;

use super::plan::Held;
use crate::{Privacy, PrivacyError, Result, require_privacy};

/// The grounds of Art. 17(3) a hold can name.
pub const GROUNDS: &[(&str, &str)] = &[
    (
        "freedom_of_expression",
        "Art. 17(3)(a): exercising the right of freedom of expression and information",
    ),
    (
        "legal_obligation",
        "Art. 17(3)(b): compliance with a legal obligation, or a task in the public interest",
    ),
    ("public_health", "Art. 17(3)(c): reasons of public interest in the area of public health"),
    ("archiving", "Art. 17(3)(d): archiving in the public interest, research or statistics"),
    ("legal_claims", "Art. 17(3)(e): the establishment, exercise or defence of legal claims"),
];

/// The longest a hold may run before it must be renewed.
const MAX_DAYS: i64 = 3_660;

/// A new hold, parsed at the edge.
#[derive(Debug, Clone)]
pub struct HoldInput {
    /// `person`, `ticket` or `tag`.
    pub scope: String,
    /// The person (scope `person`).
    pub subject_id: Option<i64>,
    /// The ticket (scope `ticket`).
    pub ticket_id: Option<i64>,
    /// The tag (scope `tag`).
    pub tag: Option<String>,
    /// One of [`GROUNDS`].
    pub ground: String,
    /// The matter's reference.
    pub reference: Option<String>,
    /// Who approved it (privacy staff; the caller when absent).
    pub approver_id: Option<i64>,
    /// When it ends.
    pub expires_at: Timestamp,
}

/// A legal hold as callers see it.
#[derive(Debug, Clone)]
pub struct Hold {
    /// Id.
    pub id: i64,
    /// `person`, `ticket` or `tag`.
    pub scope: String,
    /// The person held (scope `person`).
    pub subject_id: Option<i64>,
    /// The ticket held (scope `ticket`).
    pub ticket_id: Option<i64>,
    /// The tag whose tickets are held (scope `tag`).
    pub tag: Option<String>,
    /// The Art. 17(3) ground (one of [`GROUNDS`]).
    pub ground: String,
    /// The ground in words.
    pub ground_text: Option<&'static str>,
    /// The case or matter reference.
    pub reference: Option<String>,
    /// Who approved it.
    pub approver_id: i64,
    /// Who recorded it.
    pub created_by: i64,
    /// Recorded.
    pub created_at: Timestamp,
    /// When it ends by itself.
    pub expires_at: Timestamp,
    /// When it was released early.
    pub released_at: Option<Timestamp>,
    /// In force now.
    pub active: bool,
}

impl Hold {
    fn from_row(h: HoldRow, now: Timestamp) -> Self {
        Hold {
            active: h.released_at.is_none() && h.expires_at > now,
            ground_text: GROUNDS.iter().find(|(g, _)| *g == h.ground).map(|(_, t)| *t),
            id: h.id,
            scope: h.scope,
            subject_id: h.subject_id,
            ticket_id: h.ticket_id,
            tag: h.tag,
            ground: h.ground,
            reference: h.reference,
            approver_id: h.approver_id,
            created_by: h.created_by,
            created_at: h.created_at,
            expires_at: h.expires_at,
            released_at: h.released_at,
        }
    }
}

impl Privacy {
    /// Records a hold; its items are restricted at once.
    pub async fn create_hold(&self, scope: &Scope, input: HoldInput) -> Result<Hold> {
        require_privacy(scope)?;
        let now = self.hd.now();
        if !GROUNDS.iter().any(|(g, _)| *g == input.ground) {
            let names: Vec<&str> = GROUNDS.iter().map(|(g, _)| *g).collect();
            return Err(PrivacyError::invalid("ground", format!("must be one of {}", names.join(", "))));
        }
        if input.expires_at <= now {
            return Err(PrivacyError::invalid("expires_at", "must be in the future"));
        }
        if input.expires_at.0 - now.0 > MAX_DAYS * 86_400_000 {
            return Err(PrivacyError::invalid("expires_at", "a hold runs at most 10 years; renew it when it ends"));
        }
        let reference = input.reference.map(|r| r.trim().to_string()).filter(|r| !r.is_empty());
        if reference.as_ref().is_some_and(|r| r.chars().count() > 200) {
            return Err(PrivacyError::invalid("reference", "at most 200 characters"));
        }
        let mut tx = self.hd.db().begin().await?;
        let approver = input.approver_id.unwrap_or(scope.actor.0);
        let ok_approver = suoja_store::users::by_id(&mut tx, scope.tenant, UserId(approver))
            .await?
            .filter(|u| u.deleted_at.is_none() && (u.role == Role::Admin || u.privacy_officer));
        if ok_approver.is_none() {
            return Err(PrivacyError::invalid("approver_id", "must be an admin or privacy officer of this helpdesk"));
        }
        let (subject_id, ticket_id, tag) = match input.scope.as_str() {
            "person" => {
                let id = input
                    .subject_id
                    .ok_or_else(|| PrivacyError::invalid("subject_id", "a person hold names the person"))?;
                suoja_store::users::by_id(&mut tx, scope.tenant, UserId(id))
                    .await?
                    .ok_or(PrivacyError::NotFound("User"))?;
                (Some(id), None, None)
            }
            "ticket" => {
                let id = input
                    .ticket_id
                    .ok_or_else(|| PrivacyError::invalid("ticket_id", "a ticket hold names the ticket"))?;
                suoja_store::tickets::by_id(&mut tx, scope.tenant, suoja_core::TicketId(id))
                    .await?
                    .ok_or(PrivacyError::NotFound("Ticket"))?;
                (None, Some(id), None)
            }
            "tag" => {
                let tag = input
                    .tag
                    .map(|t| t.trim().to_lowercase())
                    .filter(|t| !t.is_empty() && t.len() <= 80 && !t.contains(char::is_whitespace));
                let tag = tag.ok_or_else(|| PrivacyError::invalid("tag", "a tag hold names one tag (no spaces, at most 80 characters)"))?;
                (None, None, Some(tag))
            }
            _ => return Err(PrivacyError::invalid("scope", "must be person, ticket or tag")),
        };
        let row = HoldRow {
            id: 0,
            scope: input.scope.clone(),
            subject_id,
            ticket_id,
            tag,
            ground: input.ground.clone(),
            reference,
            approver_id: approver,
            created_by: scope.actor.0,
            created_at: now,
            expires_at: input.expires_at,
            released_at: None,
            released_by: None,
        };
        let id = suoja_store::holds::insert(&mut tx, scope.tenant, &row).await?;
        let row = HoldRow { id, ..row };
        // Held items are restricted while held.
        let tickets: Vec<i64> = self.hold_tickets(&mut tx, scope.tenant, &row).await?.into_iter().collect();
        suoja_store::tickets::set_restricted_ids(&mut tx, scope.tenant, &tickets, true).await?;
        if let Some(s) = subject_id {
            crate::restriction::restrict_person(&mut tx, scope.tenant, UserId(s), true, now).await?;
        }
        self.record_ledger(
            &mut tx,
            scope.tenant,
            suoja_core::LedgerKind::HoldCreated,
            subject_id,
            Some(scope.actor.0),
            json!({ "hold": id, "scope": row.scope, "ticket": ticket_id, "ground": row.ground, "approver": approver, "expires_at": row.expires_at.to_iso() }),
        )
        .await?;
        tx.commit().await?;
        Ok(Hold::from_row(row, now))
    }

    /// Releases a hold before its expiry; erasures waiting on it resume.
    pub async fn release_hold(&self, scope: &Scope, id: i64) -> Result<Hold> {
        require_privacy(scope)?;
        let now = self.hd.now();
        let mut tx = self.hd.db().begin().await?;
        let row = suoja_store::holds::by_id(&mut tx, scope.tenant, id)
            .await?
            .ok_or(PrivacyError::NotFound("Hold"))?;
        if !suoja_store::holds::release(&mut tx, scope.tenant, id, scope.actor.0, now).await? {
            return Err(PrivacyError::Conflict("the hold is no longer in force".into()));
        }
        self.record_ledger(
            &mut tx,
            scope.tenant,
            suoja_core::LedgerKind::HoldReleased,
            row.subject_id,
            Some(scope.actor.0),
            json!({ "hold": id }),
        )
        .await?;
        self.lift_hold_restrictions(&mut tx, scope.tenant, &row, now).await?;
        let row = suoja_store::holds::by_id(&mut tx, scope.tenant, id)
            .await?
            .ok_or(PrivacyError::NotFound("Hold"))?;
        tx.commit().await?;
        Ok(Hold::from_row(row, now))
    }

    /// One hold.
    pub async fn hold(&self, scope: &Scope, id: i64) -> Result<Hold> {
        require_privacy(scope)?;
        let mut c = self.hd.db().read().await?;
        let row = suoja_store::holds::by_id(&mut c, scope.tenant, id)
            .await?
            .ok_or(PrivacyError::NotFound("Hold"))?;
        Ok(Hold::from_row(row, self.hd.now()))
    }

    /// Every hold, newest first.
    pub async fn holds(&self, scope: &Scope, limit: i64, offset: i64) -> Result<Vec<Hold>> {
        require_privacy(scope)?;
        let now = self.hd.now();
        let mut c = self.hd.db().read().await?;
        Ok(suoja_store::holds::list(&mut c, scope.tenant, limit, offset)
            .await?
            .into_iter()
            .map(|h| Hold::from_row(h, now))
            .collect())
    }

    /// Holds that ran out since the last look: their tickets are no longer restricted for them,
    /// and the ledger records the end. Returns how many ended.
    pub async fn end_expired_holds(&self) -> Result<usize> {
        let now = self.hd.now();
        let mut tx = self.hd.db().begin().await?;
        let ended = suoja_store::holds::expired_unreleased(&mut tx, now).await?;
        for (tenant, h) in &ended {
            suoja_store::holds::mark_ended(&mut tx, *tenant, h.id).await?;
            self.record_ledger(
                &mut tx,
                *tenant,
                suoja_core::LedgerKind::HoldExpired,
                h.subject_id,
                None,
                json!({ "hold": h.id }),
            )
            .await?;
            self.lift_hold_restrictions(&mut tx, *tenant, h, now).await?;
        }
        tx.commit().await?;
        Ok(ended.len())
    }

    /// Lifts the restriction a hold put on its tickets, except where another hold in force or
    /// the requester's own restriction still applies. (A person hold leaves the person
    /// restricted: lifting that needs a reason and the person's notice.)
    async fn lift_hold_restrictions(&self, c: &mut Conn, tenant: TenantId, h: &HoldRow, now: Timestamp) -> Result<()> {
        let mut still: BTreeSet<i64> = BTreeSet::new();
        for other in suoja_store::holds::active(c, tenant, now).await?.iter().filter(|o| o.id != h.id) {
            still.extend(self.hold_tickets(c, tenant, other).await?);
        }
        let mut lift = Vec::new();
        for t in self.hold_tickets(c, tenant, h).await? {
            if still.contains(&t) {
                continue;
            }
            let Some(row) = suoja_store::tickets::by_id(c, tenant, suoja_core::TicketId(t)).await? else {
                continue;
            };
            let requester_restricted = suoja_store::users::by_id(c, tenant, row.requester_id).await?.is_some_and(|u| u.restricted);
            if !requester_restricted {
                lift.push(t);
            }
        }
        suoja_store::tickets::set_restricted_ids(c, tenant, &lift, false).await?;
        Ok(())
    }

    /// The tickets a hold keeps.
    pub(crate) async fn hold_tickets(&self, c: &mut Conn, tenant: TenantId, h: &HoldRow) -> Result<BTreeSet<i64>> {
        let mut out = BTreeSet::new();
        if let Some(t) = h.ticket_id {
            out.insert(t);
        }
        if let Some(tag) = &h.tag {
            out.extend(self.hd.tickets_with_tag(c, tenant, tag).await?);
        }
        Ok(out)
    }

    /// Holds in force now that keep something of `subject`: person holds on them, and every
    /// ticket hold (the plan keeps only those touching the person's tickets).
    pub(crate) async fn holds_on(&self, c: &mut Conn, tenant: TenantId, subject: UserId) -> Result<Vec<Held>> {
        let now = self.hd.now();
        let mut out = Vec::new();
        for h in suoja_store::holds::active(c, tenant, now).await? {
            let person = h.subject_id == Some(subject.0);
            if h.scope == "person" && !person {
                continue;
            }
            let tickets = self.hold_tickets(c, tenant, &h).await?.into_iter().collect();
            out.push(Held {
                hold: h.id,
                ground: h.ground.clone(),
                until: h.expires_at.to_iso(),
                person,
                tickets,
            });
        }
        Ok(out)
    }
}
