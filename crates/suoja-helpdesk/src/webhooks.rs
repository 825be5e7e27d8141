//! Outbound webhooks: registration, events queued durably when tickets change, and the
//! recipients of GDPR Art. 19 — every webhook that received a person's data is told when that
//! person's data is rectified, restricted or erased. Restricted people's tickets are not sent.
//! Payloads are built at delivery time from ids; the queue holds ids only.
//!
//! Endpoints must be HTTPS on a public address: loopback, private, link-local, unique-local,
//! shared and unspecified addresses are refused — at registration and again at delivery, where
//! the address connected to is the one checked — unless the operator lists the host in
//! `webhook_allowed_hosts` (which also allows plain HTTP to it). Every delivery is signed as
//! Zendesk signs its webhooks (HMAC-SHA256 of timestamp and body under a per-webhook secret that
//! is shown once) and carries an id that stays the same across retries.

use serde_json::{Value, json};
use suoja_core::{Scope, TenantId, TicketId, Timestamp, UserId};
use suoja_store::Conn;
use suoja_store::queue::WorkItem;
use suoja_store::webhooks::{Disclosure, WebhookRow};

use crate::{Helpdesk, HelpdeskError, Result};

/// Event types a webhook can subscribe to: ticket events, and the calls triggers make.
pub const EVENTS: &[&str] = &["ticket.created", "ticket.updated", CONDITIONAL];

/// What a webhook subscribes to for triggers to call it (Zendesk's name).
pub const CONDITIONAL: &str = "conditional_ticket_events";

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
    /// The signing secret, in the answer that creates the webhook only.
    pub signing_secret: Option<suoja_core::Personal<String>>,
}

/// Each tenant's active webhooks (id, subscribed event types), kept by their version.
pub(crate) type ActiveWebhooks = crate::rules::kept::Kept<Vec<(i64, Vec<String>)>>;

fn open(r: WebhookRow) -> Webhook {
    Webhook {
        signing_secret: None,
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
    /// The webhook's signing secret.
    pub secret: suoja_core::Personal<String>,
}

/// Which webhook endpoints may be reached: public HTTPS addresses, and the hosts the operator
/// lists (private or plain HTTP ones included).
#[derive(Debug, Clone, Default)]
pub struct EndpointPolicy {
    /// Host names or addresses allowed whatever they resolve to, over HTTP too.
    pub allowed_hosts: Vec<String>,
}

impl EndpointPolicy {
    /// Whether `host` is on the operator's list.
    pub fn allows_host(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.allowed_hosts
            .iter()
            .any(|h| h.trim_start_matches('[').trim_end_matches(']').eq_ignore_ascii_case(host))
    }

    /// Checks an endpoint's form: an absolute `https` URL (`http` for listed hosts) with a host,
    /// no user or password in it; an address given as a literal must be public. Returns the host.
    pub fn check_url(&self, endpoint: &str) -> std::result::Result<url::Url, &'static str> {
        let u = url::Url::parse(endpoint).map_err(|_| "Endpoint: must be an http(s) URL")?;
        let host = u.host_str().ok_or("Endpoint: must be an http(s) URL")?.to_string();
        if !u.username().is_empty() || u.password().is_some() {
            return Err("Endpoint: must not carry a user name or password");
        }
        let listed = self.allows_host(&host);
        match u.scheme() {
            "https" => {}
            "http" if listed => {}
            "http" => return Err("Endpoint: must be https (plain http only to hosts the operator allows)"),
            _ => return Err("Endpoint: must be an http(s) URL"),
        }
        if !listed
            && let Some(ip) = literal_ip(&host)
            && !is_public(ip)
        {
            return Err("Endpoint: must be a public address (not loopback, private, link-local or the like)");
        }
        Ok(u)
    }
}

/// The signature of a delivery, as Zendesk computes its webhooks' (`X-Zendesk-Webhook-Signature`):
/// base64 of HMAC-SHA256 under the webhook's secret over the timestamp followed by the body.
pub fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    use base64::Engine as _;
    use hmac::{KeyInit as _, Mac as _};
    let mut mac = <hmac::Hmac<sha2::Sha256>>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(timestamp.as_bytes());
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The address a URL's host names literally, if it is one.
pub fn literal_ip(host: &str) -> Option<std::net::IpAddr> {
    host.trim_start_matches('[').trim_end_matches(']').parse().ok()
}

/// Whether an address is on the public internet: not loopback, private, link-local, shared
/// (carrier-grade NAT), unique-local, multicast, documentation, reserved or unspecified.
pub fn is_public(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v) => {
            let [a, b, ..] = v.octets();
            !(v.is_loopback()
                || v.is_private()
                || v.is_link_local()
                || v.is_unspecified()
                || v.is_broadcast()
                || v.is_multicast()
                || v.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && v.octets()[2] == 0)
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v) => {
            if let Some(v4) = v.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let seg = v.segments();
            // IPv4-compatible (`::a.b.c.d`) and 6to4 (`2002:AABB:CCDD::`) addresses carry an
            // IPv4 address: judged by it.
            if seg[..6].iter().all(|s| *s == 0) && !v.is_loopback() && !v.is_unspecified() {
                let ([a, b], [c, d]) = (seg[6].to_be_bytes(), seg[7].to_be_bytes());
                return is_public(IpAddr::V4(std::net::Ipv4Addr::new(a, b, c, d)));
            }
            if seg[0] == 0x2002 {
                let ([a, b], [c, d]) = (seg[1].to_be_bytes(), seg[2].to_be_bytes());
                return is_public(IpAddr::V4(std::net::Ipv4Addr::new(a, b, c, d)));
            }
            let first = seg[0];
            !(v.is_loopback()
                || v.is_unspecified()
                || v.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first & 0xffc0) == 0xfec0
                || (first == 0x0100 && seg[1..4].iter().all(|s| *s == 0))
                || (first == 0x2001 && v.segments()[1] == 0x0db8)
                || (first == 0x0064 && v.segments()[1] == 0xff9b))
        }
    }
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
        if endpoint.len() > 2000 || endpoint.contains(char::is_whitespace) {
            return Err(HelpdeskError::invalid("endpoint", "Endpoint: must be an http(s) URL"));
        }
        self.check_endpoint(&endpoint).await?;
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
            signing_salt: Some(suoja_core::random::bytes::<16>().to_vec()),
        };
        let mut tx = self.db.begin().await?;
        let id = suoja_store::webhooks::insert(&mut tx, scope.tenant, &row).await?;
        self.record_ledger(
            &mut tx,
            scope.tenant,
            suoja_core::LedgerKind::RecipientRegistered,
            None,
            Some(scope.actor.0),
            json!({ "webhook": id }),
        )
        .await?;
        tx.commit().await?;
        self.webhook_cache.forget(scope.tenant);
        let secret = self.vault.webhook_secret(scope.tenant, id, row.signing_salt.as_deref().unwrap_or_default());
        Ok(Webhook {
            signing_secret: Some(suoja_core::Personal::new(secret)),
            ..open(WebhookRow { id, ..row })
        })
    }

    /// Checks an endpoint against the policy; a host name must resolve, and only to public
    /// addresses (unless the operator lists it).
    pub async fn check_endpoint(&self, endpoint: &str) -> Result<()> {
        let u = self.endpoints.check_url(endpoint).map_err(|m| HelpdeskError::invalid("endpoint", m))?;
        let host = u.host_str().unwrap_or_default().to_string();
        if self.endpoints.allows_host(&host) || literal_ip(&host).is_some() {
            return Ok(());
        }
        let port = u.port_or_known_default().unwrap_or(443);
        let found = tokio::time::timeout(std::time::Duration::from_secs(2), tokio::net::lookup_host((host.as_str(), port))).await;
        let addrs: Vec<std::net::SocketAddr> = match found {
            Ok(Ok(a)) => a.collect(),
            _ => Vec::new(),
        };
        if addrs.is_empty() {
            return Err(HelpdeskError::invalid("endpoint", "Endpoint: the host name does not resolve"));
        }
        if addrs.iter().any(|a| !is_public(a.ip())) {
            return Err(HelpdeskError::invalid(
                "endpoint",
                "Endpoint: must be a public address (not loopback, private, link-local or the like)",
            ));
        }
        Ok(())
    }

    /// The endpoint policy webhooks are checked against.
    pub fn endpoint_policy(&self) -> &EndpointPolicy {
        &self.endpoints
    }

    /// Gives a webhook a new signing secret, shown this once (admins).
    pub async fn reset_signing_secret(&self, scope: &Scope, id: i64) -> Result<suoja_core::Personal<String>> {
        if !scope.is_admin() {
            return Err(HelpdeskError::Forbidden("only admins can manage webhooks"));
        }
        let salt = suoja_core::random::bytes::<16>();
        let mut tx = self.db.begin().await?;
        if !suoja_store::webhooks::set_signing_salt(&mut tx, scope.tenant, id, &salt, self.now()).await? {
            return Err(HelpdeskError::NotFound("Webhook"));
        }
        self.record_ledger(
            &mut tx,
            scope.tenant,
            suoja_core::LedgerKind::RecipientSecretReset,
            None,
            Some(scope.actor.0),
            json!({ "webhook": id }),
        )
        .await?;
        tx.commit().await?;
        Ok(suoja_core::Personal::new(self.vault.webhook_secret(scope.tenant, id, &salt)))
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
        // A webhook triggers call stays until they no longer do (as Zendesk refuses it).
        let callers: Vec<i64> = suoja_store::rules::list(&mut tx, scope.tenant, "trigger", scope.actor)
            .await?
            .iter()
            .filter(|r| {
                crate::rules::WhenThen::read(r)
                    .map(|d| crate::rules::triggers::webhooks_of(&d.actions).iter().any(|(_, w)| *w == id))
                    .unwrap_or(false)
            })
            .map(|r| r.id)
            .collect();
        if !callers.is_empty() {
            return Err(HelpdeskError::Conflict(format!(
                "triggers {callers:?} call this webhook; change or remove them first"
            )));
        }
        if !suoja_store::webhooks::delete(&mut tx, scope.tenant, id).await? {
            return Err(HelpdeskError::NotFound("Webhook"));
        }
        self.record_ledger(
            &mut tx,
            scope.tenant,
            suoja_core::LedgerKind::RecipientRemoved,
            None,
            Some(scope.actor.0),
            json!({ "webhook": id }),
        )
        .await?;
        tx.commit().await?;
        self.webhook_cache.forget(scope.tenant);
        Ok(())
    }

    /// Queues `event` about a ticket for every active webhook subscribed to it, unless the
    /// ticket is restricted.
    ///
    /// `known`: the versions read with the change's triggers, by which the tenant's active
    /// webhooks are kept between requests (a webhook is only ever added, re-keyed or removed,
    /// and each moves the version); without them they are read.
    #[allow(clippy::too_many_arguments, reason = "where, which ticket and event, when, and what is known")]
    pub(crate) async fn queue_ticket_event(
        &self,
        c: &mut Conn,
        tenant: TenantId,
        ticket: TicketId,
        restricted: bool,
        event: &str,
        now: Timestamp,
        known: Option<&crate::rules::kept::Versions>,
    ) -> Result<()> {
        if restricted {
            return Ok(());
        }
        let read = async {
            let all = suoja_store::webhooks::list(&mut *c, tenant).await?;
            Ok::<_, HelpdeskError>(
                all.into_iter()
                    .map(open)
                    .filter(|w| w.status == "active")
                    .map(|w| (w.id, w.subscriptions))
                    .collect(),
            )
        };
        let active = self.webhook_cache.get_or_read(tenant, known.map(|v| v.webhooks), read).await?;
        for (id, subscriptions) in active.iter() {
            if subscriptions.iter().any(|s| s == event) {
                let payload = json!({ "webhook": id, "event": event, "ticket": ticket.0 }).to_string();
                suoja_store::queue::enqueue(c, tenant, DELIVERY, &payload, now, now).await?;
            }
        }
        Ok(())
    }

    /// Queues a trigger's call of a webhook about a ticket: ids only; the body is made from the
    /// trigger's action when it is delivered, for the ticket as it is then.
    pub(crate) async fn queue_trigger_call(&self, c: &mut Conn, tenant: TenantId, call: (i64, i64, usize), ticket: TicketId, now: Timestamp) -> Result<()> {
        let (webhook, trigger, action) = call;
        let payload = json!({ "webhook": webhook, "event": CONDITIONAL, "ticket": ticket.0, "trigger": trigger, "action": action }).to_string();
        suoja_store::queue::enqueue(c, tenant, DELIVERY, &payload, now, now).await?;
        Ok(())
    }

    /// The body of a trigger's webhook call: its action's template, filled in for the ticket,
    /// with who it discloses and what of them; `None` when the trigger no longer makes that call.
    async fn trigger_call_body(
        &self,
        c: &mut Conn,
        tenant: TenantId,
        row: &suoja_store::tickets::TicketRow,
        p: &Value,
        webhook: i64,
    ) -> Result<Option<(Value, Vec<i64>, Vec<&'static str>)>> {
        let (Some(trigger), Some(action)) = (p.get("trigger").and_then(Value::as_i64), p.get("action").and_then(Value::as_u64)) else {
            return Err(HelpdeskError::Internal("bad delivery payload".into()));
        };
        // A trigger taken out of use or removed since makes no more calls, queued ones included.
        let Some(rule) = suoja_store::rules::get(c, tenant, "trigger", trigger, false).await?.filter(|r| r.active) else {
            return Ok(None);
        };
        let actions = crate::rules::WhenThen::read(&rule)?.actions;
        let Some(a) = usize::try_from(action).ok().and_then(|i| actions.get(i)) else {
            return Ok(None);
        };
        let Ok(crate::rules::triggers::Act::Webhook { webhook: to, body }) = crate::rules::triggers::parse_action(a) else {
            return Ok(None);
        };
        if to != webhook {
            return Ok(None);
        }
        let (text, subjects, categories) = self.webhook_body(c, tenant, row, &body).await?;
        match serde_json::from_str::<Value>(&text) {
            Ok(v) => Ok(Some((v, subjects, categories))),
            Err(_) => {
                tracing::warn!(tenant.id = %tenant, trigger.id = trigger, "a trigger's webhook body is not JSON once filled in; not sent");
                Ok(None)
            }
        }
    }

    /// Tells every recipient that received the person's data about a privacy `event`
    /// (GDPR Art. 19). `fields` names what changed, never the values.
    pub async fn notify_recipients(&self, c: &mut Conn, tenant: TenantId, subject: UserId, event: &str, fields: &[&str], now: Timestamp) -> Result<usize> {
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
        let (Some(webhook), Some(event)) = (p.get("webhook").and_then(Value::as_i64), p.get("event").and_then(Value::as_str)) else {
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
        let (body, subjects, categories) = if let Some(subject) = p.get("subject").and_then(Value::as_i64) {
            let body = json!({ "type": event, "subject_id": subject, "fields": p.get("fields"), "occurred_at": p.get("at") });
            (body, vec![subject], vec![])
        } else if let Some(ticket) = p.get("ticket").and_then(Value::as_i64) {
            let Some(row) = suoja_store::tickets::by_id(&mut c, tenant, TicketId(ticket)).await? else {
                return Ok(None);
            };
            if row.restricted || row.deleted_at.is_some() {
                return Ok(None);
            }
            if p.get("trigger").is_some() {
                let Some(made) = self.trigger_call_body(&mut c, tenant, &row, &p, webhook).await? else {
                    return Ok(None);
                };
                made
            } else {
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
            }
        } else {
            return Err(HelpdeskError::Internal("bad delivery payload".into()));
        };
        let secret = suoja_core::Personal::new(self.vault.webhook_secret(tenant, webhook, w.signing_salt.as_deref().unwrap_or_default()));
        Ok(Some(Prepared {
            secret,
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

#[cfg(test)]
mod tests {
    use super::is_public;

    #[test]
    fn addresses_that_carry_or_name_private_ones_are_not_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "169.254.1.1",
            "::1",
            "::",
            "::ffff:127.0.0.1",
            "::127.0.0.1",
            "::10.0.0.1",
            "2002:7f00:1::",
            "2002:a00:1::1",
            "fec0::1",
            "100::1",
            "fe80::1",
            "fc00::1",
            "64:ff9b::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "2606:2800:220:1::1", "::93.184.216.34", "2002:5db8:d822::1"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }
}
