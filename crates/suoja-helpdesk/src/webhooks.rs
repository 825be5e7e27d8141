//! Outbound webhooks: registration, events queued durably when tickets change, and the
//! recipients of GDPR Art. 19 — every webhook that received a person's data is told when that
//! person's data is rectified, restricted or erased. Restricted people's tickets are not sent.
//! Payloads are built at delivery time from ids; the queue holds ids only.

use serde_json::{Value, json};
use suoja_core::{Scope, TenantId, TicketId, Timestamp, UserId};
use suoja_store::AnyConnection;
use suoja_store::queue::WorkItem;
use suoja_store::webhooks::{Disclosure, WebhookRow};

use crate::{Helpdesk, HelpdeskError, Result};

/// Event types a webhook can subscribe to.
pub const EVENTS: &[&str] = &["ticket.created", "ticket.updated"];

/// Privacy events every recipient of a person's data receives (not subscribable away).
pub const PRIVACY_EVENTS: &[&str] = &["subject.rectified", "subject.restricted", "subject.restriction_lifted", "subject.erased"];

/// The queue kind of a delivery.
pub const DELIVERY: &str = "webhook.deliver";

/// A registered webhook.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Where events are POSTed.
    pub endpoint: String,
    /// `active` or `inactive`.
    pub status: String,
    /// Subscribed event types.
    pub subscriptions: Vec<String>,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

fn open(r: WebhookRow) -> Webhook {
    Webhook {
        id: r.id,
        name: r.name,
        endpoint: r.endpoint,
        status: r.status,
        subscriptions: serde_json::from_str(&r.subscriptions).unwrap_or_default(),
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

/// A delivery ready to send: where, what, and whose data it carries.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Tenant.
    pub tenant: TenantId,
    /// The webhook.
    pub webhook: i64,
    /// Endpoint URL.
    pub endpoint: String,
    /// Event type.
    pub event: String,
    /// JSON body (may hold personal data; never logged).
    pub body: Vec<u8>,
    /// People whose data the body carries.
    pub subjects: Vec<i64>,
    /// Categories of their data in the body.
    pub categories: Vec<&'static str>,
}

impl Helpdesk {
    /// Registers a webhook (admins). The endpoint must be an `http` or `https` URL.
    pub async fn create_webhook(&self, scope: &Scope, name: String, endpoint: String, status: &str, subscriptions: Vec<String>) -> Result<Webhook> {
        if !scope.is_admin() {
            return Err(HelpdeskError::Forbidden("only admins can manage webhooks"));
        }
        if name.trim().is_empty() || name.len() > 255 {
            return Err(HelpdeskError::invalid("name", "Name: must be 1 to 255 characters"));
        }
        let lower = endpoint.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) || endpoint.len() > 2000 || endpoint.contains(char::is_whitespace) {
            return Err(HelpdeskError::invalid("endpoint", "Endpoint: must be an http(s) URL"));
        }
        if !matches!(status, "active" | "inactive") {
            return Err(HelpdeskError::invalid("status", "Status: must be active or inactive"));
        }
        if let Some(bad) = subscriptions.iter().find(|s| !EVENTS.contains(&s.as_str())) {
            return Err(HelpdeskError::invalid(
                "subscriptions",
                format!("unknown event type {bad:?}; known: {}", EVENTS.join(", ")),
            ));
        }
        let now = self.now();
        let row = WebhookRow {
            id: 0,
            name,
            endpoint,
            status: status.into(),
            subscriptions: json!(subscriptions).to_string(),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.db.begin().await?;
        let id = suoja_store::webhooks::insert(&mut tx, scope.tenant, &row).await?;
        self.record_ledger(
            &mut tx,
            scope.tenant,
            "recipient.registered",
            None,
            Some(scope.actor.0),
            json!({ "webhook": id }),
        )
        .await?;
        tx.commit().await?;
        Ok(open(WebhookRow { id, ..row }))
    }

    /// Lists webhooks (admins).
    pub async fn list_webhooks(&self, scope: &Scope) -> Result<Vec<Webhook>> {
        if !scope.handles_privacy() {
            return Err(HelpdeskError::Forbidden("only admins can manage webhooks"));
        }
        let mut c = self.db.read().await?;
        Ok(suoja_store::webhooks::list(&mut c, scope.tenant).await?.into_iter().map(open).collect())
    }

    /// Reads a webhook (admins).
    pub async fn get_webhook(&self, scope: &Scope, id: i64) -> Result<Webhook> {
        if !scope.handles_privacy() {
            return Err(HelpdeskError::Forbidden("only admins can manage webhooks"));
        }
        let mut c = self.db.read().await?;
        suoja_store::webhooks::by_id(&mut c, scope.tenant, id)
            .await?
            .map(open)
            .ok_or(HelpdeskError::NotFound("Webhook"))
    }

    /// Removes a webhook (admins).
    pub async fn delete_webhook(&self, scope: &Scope, id: i64) -> Result<()> {
        if !scope.is_admin() {
            return Err(HelpdeskError::Forbidden("only admins can manage webhooks"));
        }
        let mut tx = self.db.begin().await?;
        if !suoja_store::webhooks::delete(&mut tx, scope.tenant, id).await? {
            return Err(HelpdeskError::NotFound("Webhook"));
        }
        self.record_ledger(&mut tx, scope.tenant, "recipient.removed", None, Some(scope.actor.0), json!({ "webhook": id }))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Queues `event` about a ticket for every active webhook subscribed to it, unless the
    /// ticket is restricted.
    pub(crate) async fn queue_ticket_event(
        &self,
        c: &mut AnyConnection,
        tenant: TenantId,
        ticket: TicketId,
        restricted: bool,
        event: &str,
        now: Timestamp,
    ) -> Result<()> {
        if restricted {
            return Ok(());
        }
        for w in suoja_store::webhooks::list(c, tenant).await? {
            let w = open(w);
            if w.status == "active" && w.subscriptions.iter().any(|s| s == event) {
                let payload = json!({ "webhook": w.id, "event": event, "ticket": ticket.0 }).to_string();
                suoja_store::queue::enqueue(c, tenant, DELIVERY, &payload, now, now).await?;
            }
        }
        Ok(())
    }

    /// Tells every recipient that received the person's data about a privacy `event`
    /// (GDPR Art. 19). `fields` names what changed, never the values.
    pub async fn notify_recipients(
        &self,
        c: &mut AnyConnection,
        tenant: TenantId,
        subject: UserId,
        event: &str,
        fields: &[&str],
        now: Timestamp,
    ) -> Result<usize> {
        let recipients = suoja_store::webhooks::recipients_of(c, tenant, subject.0).await?;
        for r in &recipients {
            let payload = json!({ "webhook": r, "event": event, "subject": subject.0, "fields": fields, "at": now.to_iso() }).to_string();
            suoja_store::queue::enqueue(c, tenant, DELIVERY, &payload, now, now).await?;
        }
        Ok(recipients.len())
    }

    /// Builds a queued delivery; `None` when there is nothing to send any more (webhook removed
    /// or inactive, ticket gone or restricted since).
    pub async fn prepare_delivery(&self, item: &WorkItem) -> Result<Option<Prepared>> {
        let p: Value = serde_json::from_str(&item.payload).map_err(|_| HelpdeskError::Internal("bad delivery payload".into()))?;
        let (Some(webhook), Some(event)) = (p["webhook"].as_i64(), p["event"].as_str()) else {
            return Err(HelpdeskError::Internal("bad delivery payload".into()));
        };
        let tenant = item.tenant;
        let mut c = self.db.read().await?;
        let Some(w) = suoja_store::webhooks::by_id(&mut c, tenant, webhook).await? else {
            return Ok(None);
        };
        if w.status != "active" {
            return Ok(None);
        }
        let (body, subjects, categories) = if let Some(subject) = p["subject"].as_i64() {
            let body = json!({ "type": event, "subject_id": subject, "fields": p["fields"], "occurred_at": p["at"] });
            (body, vec![subject], vec![])
        } else if let Some(ticket) = p["ticket"].as_i64() {
            let Some(row) = suoja_store::tickets::by_id(&mut c, tenant, TicketId(ticket)).await? else {
                return Ok(None);
            };
            if row.restricted || row.deleted_at.is_some() {
                return Ok(None);
            }
            let t = self.open_ticket_row(&mut c, tenant, &row).await?;
            let requester = suoja_store::users::by_id(&mut c, tenant, row.requester_id).await?;
            let (name, email) = match &requester {
                Some(u) if !u.restricted => {
                    let u = self.open_user(&mut c, tenant, u).await?;
                    (Some(u.name.expose().clone()), u.email.map(|e| e.expose().clone()))
                }
                _ => (None, None),
            };
            let body = json!({
                "type": event,
                "ticket": {
                    "id": t.id.0,
                    "subject": t.subject.as_ref().map(|s| s.expose().clone()),
                    "status": t.status.as_str(),
                    "priority": t.priority.map(|p| p.as_str()),
                    "requester": { "id": row.requester_id.0, "name": name, "email": email },
                    "updated_at": t.updated_at.to_iso(),
                }
            });
            (body, vec![row.requester_id.0], vec!["identifier", "contact", "content"])
        } else {
            return Err(HelpdeskError::Internal("bad delivery payload".into()));
        };
        Ok(Some(Prepared {
            tenant,
            webhook,
            endpoint: w.endpoint,
            event: event.to_string(),
            body: body.to_string().into_bytes(),
            subjects,
            categories,
        }))
    }

    /// Records the outcome of a delivery in the disclosure log of every person it carried.
    pub async fn record_delivery(&self, d: &Prepared, outcome: &str) -> Result<()> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        for s in &d.subjects {
            let row = Disclosure {
                subject_id: *s,
                recipient_id: d.webhook,
                event: d.event.clone(),
                categories: json!(d.categories).to_string(),
                outcome: outcome.to_string(),
                at: now,
            };
            suoja_store::webhooks::record_disclosure(&mut tx, d.tenant, &row).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
