//! The admin audit log (Zendesk's `audit_logs`): every change staff make to settings, roles,
//! tokens, webhooks, retention, holds and other privacy work, every staff sign-in, and every
//! download of an export, certificate, notification or record — with actor, time, action, the
//! route and the object's id, and the client address. Entries are in the privacy ledger's hash
//! chain (kinds `audit.*`), so `suoja verify ledger` covers them; they hold ids, routes and codes,
//! and the client address only sealed twice: under the actor's own key (erasing the actor makes
//! it unreadable) and under a key of its 30-day period, which the `audit_addresses` retention
//! policy destroys once the period is older than the tenant keeps addresses. The entries stay,
//! and so does the chain. The log exports as CSV with the same filters.

use std::net::IpAddr;

use base64::Engine as _;
use serde_json::{Value, json};
use suoja_core::{LedgerKind, Scope, Timestamp, UserId};
use suoja_store::ledger::AuditFilter;

use crate::{Privacy, PrivacyError, Result};

/// Most rows one CSV export holds (narrow the time range for more).
pub const MAX_EXPORT_ROWS: usize = 100_000;

/// A CSV field: quoted when it holds a comma, quote or line break, and with a leading `'` when
/// a spreadsheet would read it as a formula.
fn csv_field(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_string()
    };
    // `;` and tabs too: spreadsheets set to Finnish (and other) conventions split cells there.
    if v.contains([',', ';', '\t', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

/// What an audited request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Created something (`POST`).
    Create,
    /// Changed something (`PUT`, `PATCH`, and `POST` actions on an existing object).
    Update,
    /// Removed something (`DELETE`).
    Destroy,
    /// A member of staff signed in.
    Login,
    /// Downloaded or viewed a privacy document (export, certificate, notification, records).
    Exported,
}

impl Action {
    fn kind(self) -> LedgerKind {
        match self {
            Action::Create => LedgerKind::AuditCreate,
            Action::Update => LedgerKind::AuditUpdate,
            Action::Destroy => LedgerKind::AuditDestroy,
            Action::Login => LedgerKind::AuditLogin,
            Action::Exported => LedgerKind::AuditExported,
        }
    }
    /// Zendesk's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Destroy => "destroy",
            Action::Login => "login",
            Action::Exported => "exported",
        }
    }
    /// The action of a Zendesk name.
    pub fn parse(s: &str) -> Option<Action> {
        [Action::Create, Action::Update, Action::Destroy, Action::Login, Action::Exported]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

/// One audited request.
#[derive(Debug, Clone)]
pub struct Event {
    /// What it did.
    pub action: Action,
    /// `METHOD /route/{template}` as the router matched it.
    pub route: String,
    /// The kind of object (`privacy.retention`, `users`, `webhooks`, …).
    pub source_type: String,
    /// The object's id from the path, if it named one.
    pub source_id: Option<String>,
}

/// Which entries of the log to read.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query {
    /// Only this action.
    pub action: Option<Action>,
    /// Only this actor's.
    pub actor: Option<UserId>,
    /// From this time on.
    pub from: Option<Timestamp>,
    /// Up to this time.
    pub to: Option<Timestamp>,
    /// Older than this entry (the cursor).
    pub before: Option<i64>,
    /// At most this many.
    pub limit: i64,
}

/// An entry as the log shows it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its place in the ledger.
    pub id: i64,
    /// When.
    pub at: Timestamp,
    /// Who.
    pub actor: Option<i64>,
    /// What.
    pub action: &'static str,
    /// The route.
    pub route: String,
    /// The kind of object.
    pub source_type: String,
    /// The object's id.
    pub source_id: Option<String>,
    /// The client address (`None` when not known or the actor was erased).
    pub ip_address: Option<String>,
}

impl Privacy {
    /// Records an audited request by `scope` from `client`.
    pub async fn record_audit(&self, scope: &Scope, ev: Event, client: Option<IpAddr>) -> Result<()> {
        let now = self.hd.now();
        let mut tx = self.hd.db().begin().await?;
        let sealed = match (client, suoja_store::users::by_id(&mut tx, scope.tenant, scope.actor).await?) {
            (Some(ip), Some(u)) => {
                let inner = self.hd.vault().encrypt_str(&mut tx, scope.tenant, u.key_id, &ip.to_string()).await?;
                let period = self.audit_period_key(&mut tx, scope.tenant, now).await?;
                let outer = self.hd.vault().encrypt(&mut tx, scope.tenant, period, &inner).await?;
                Some(base64::engine::general_purpose::STANDARD.encode(outer))
            }
            _ => None,
        };
        self.record_ledger(
            &mut tx,
            scope.tenant,
            ev.action.kind(),
            None,
            Some(scope.actor.0),
            json!({ "route": ev.route, "source_type": ev.source_type, "source_id": ev.source_id, "address": sealed }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The key of the 30-day period `now` falls in, made on first use.
    async fn audit_period_key(&self, c: &mut suoja_store::Conn, tenant: suoja_core::TenantId, now: Timestamp) -> Result<suoja_core::KeyId> {
        let period = now.0.div_euclid(suoja_store::ledger::AUDIT_PERIOD_MS);
        if let Some(k) = suoja_store::ledger::audit_period_key(c, tenant, period).await? {
            return Ok(k);
        }
        let key = self.hd.vault().create_subject_key(c, tenant, "audit_period", now).await?;
        if suoja_store::ledger::insert_audit_period_key(c, tenant, period, key, now).await? {
            return Ok(key);
        }
        // Another request made the period's key first: use that one, and drop this.
        self.hd.vault().destroy_subject_key(c, tenant, key).await?;
        suoja_store::ledger::audit_period_key(c, tenant, period)
            .await?
            .ok_or(PrivacyError::Internal("an audit period key vanished".into()))
    }

    /// The client address of an entry's details, if it can still be read.
    async fn audit_address(&self, c: &mut suoja_store::Conn, tenant: suoja_core::TenantId, d: &Value) -> Option<String> {
        let b64 = |k: &str| {
            d.get(k)
                .and_then(Value::as_str)
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        };
        if let Some(outer) = b64("address") {
            let inner = self.hd.vault().decrypt(c, tenant, &outer).await.ok()?;
            return self.hd.vault().decrypt_str(c, tenant, &inner).await.ok();
        }
        // Entries written before addresses had periods: under the actor's key alone.
        let sealed = b64("client")?;
        self.hd.vault().decrypt_str(c, tenant, &sealed).await.ok()
    }

    /// Destroys the keys of audit-address periods that ended before `cutoff` (at most `limit`
    /// periods); returns how many.
    pub(crate) async fn forget_audit_addresses(&self, tenant: suoja_core::TenantId, cutoff: Timestamp, limit: i64) -> Result<u64> {
        let mut tx = self.hd.db().begin().await?;
        let due = suoja_store::ledger::audit_periods_ended_before(&mut tx, tenant, cutoff, limit).await?;
        for (period, key) in &due {
            self.hd.vault().destroy_subject_key(&mut tx, tenant, *key).await?;
            suoja_store::ledger::delete_audit_period(&mut tx, tenant, *period).await?;
        }
        tx.commit().await?;
        Ok(u64::try_from(due.len()).unwrap_or(u64::MAX))
    }

    /// The whole log as CSV (admins), newest first, with the filters of `q` (its cursor and
    /// limit are ignored): at most `MAX_EXPORT_ROWS` rows, and whether there were more.
    pub async fn audit_log_csv(&self, scope: &Scope, q: Query) -> Result<(String, bool)> {
        let mut out = String::from("id,created_at,actor_id,action,source_type,source_id,change_description,ip_address\n");
        let mut before = None;
        let mut rows = 0usize;
        loop {
            let (entries, next) = self.audit_log(scope, Query { before, limit: 1_000, ..q }).await?;
            for (i, e) in entries.iter().enumerate() {
                let fields = [
                    e.id.to_string(),
                    e.at.to_iso(),
                    e.actor.map(|a| a.to_string()).unwrap_or_default(),
                    e.action.to_string(),
                    e.source_type.clone(),
                    e.source_id.clone().unwrap_or_default(),
                    e.route.clone(),
                    e.ip_address.clone().unwrap_or_default(),
                ];
                out.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
                out.push('\n');
                rows += 1;
                if rows >= MAX_EXPORT_ROWS {
                    return Ok((out, next.is_some() || i + 1 < entries.len()));
                }
            }
            match next {
                Some(n) => before = Some(n),
                None => return Ok((out, false)),
            }
        }
    }

    /// A page of the audit log, newest first (admins); with the cursor of the next page.
    pub async fn audit_log(&self, scope: &Scope, q: Query) -> Result<(Vec<Entry>, Option<i64>)> {
        if !scope.is_admin() {
            return Err(PrivacyError::Forbidden("only admins read the audit log"));
        }
        let f = AuditFilter {
            kind: q.action.map(|a| a.kind().as_str().to_string()),
            actor: q.actor.map(|a| a.0),
            from: q.from,
            to: q.to,
        };
        let limit = q.limit;
        let mut c = self.hd.db().read().await?;
        let mut rows = suoja_store::ledger::audit_page(&mut c, scope.tenant, &f, q.before, limit + 1).await?;
        // Addresses of entries written before they had periods cannot be shredded by period:
        // past the policy, they are not shown.
        let policy = self
            .policies_of(&mut c, scope.tenant)
            .await?
            .into_iter()
            .find(|p| p.policy == "audit_addresses" && p.enabled);
        let single_sealed_from = match policy {
            Some(p) => Timestamp(self.hd.now().0 - p.value * p.unit.ms()),
            None => Timestamp(i64::MIN),
        };
        let more = rows.len() > suoja_core::num::to_usize(limit);
        rows.truncate(suoja_core::num::to_usize(limit));
        let mut out = Vec::with_capacity(rows.len());
        for e in rows {
            let d: Value = serde_json::from_str(&e.details).unwrap_or(Value::Null);
            let ip = if d.get("address").is_none() && e.at < single_sealed_from {
                None
            } else {
                self.audit_address(&mut c, scope.tenant, &d).await
            };
            let action = e.kind.strip_prefix("audit.").and_then(Action::parse).map_or("update", Action::as_str);
            out.push(Entry {
                id: e.seq,
                at: e.at,
                actor: e.actor,
                action,
                route: d.get("route").and_then(Value::as_str).unwrap_or_default().to_string(),
                source_type: d.get("source_type").and_then(Value::as_str).unwrap_or_default().to_string(),
                source_id: d.get("source_id").and_then(Value::as_str).map(str::to_string),
                ip_address: ip,
            });
        }
        let next = if more { out.last().map(|e| e.id) } else { None };
        Ok((out, next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("PUT /api/v2/users/{id}"), "PUT /api/v2/users/{id}");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("-1"), "'-1");
        assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(csv_field("a;b"), "\"a;b\"");
        assert_eq!(csv_field("a\tb"), "\"a\tb\"");
    }
}
