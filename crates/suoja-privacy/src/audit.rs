//! The admin audit log (Zendesk's `audit_logs`): every change staff make to settings, roles,
//! tokens, webhooks, retention, holds and other privacy work, every staff sign-in, and every
//! download of an export, certificate, notification or record — with actor, time, action, the
//! route and the object's id, and the client address. Entries are in the privacy ledger's hash
//! chain (kinds `audit.*`), so `suoja verify ledger` covers them; they hold ids, routes and codes,
//! and the client address only sealed under the actor's own key (erasing the actor makes it
//! unreadable, the entry stays).

use std::net::IpAddr;

use base64::Engine as _;
use serde_json::{Value, json};
use suoja_core::{LedgerKind, Scope, Timestamp, UserId};
use suoja_store::ledger::AuditFilter;

use crate::{Privacy, PrivacyError, Result};

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
        let mut tx = self.hd.db().begin().await?;
        let sealed = match (client, suoja_store::users::by_id(&mut tx, scope.tenant, scope.actor).await?) {
            (Some(ip), Some(u)) => {
                let s = self.hd.vault().encrypt_str(&mut tx, scope.tenant, u.key_id, &ip.to_string()).await?;
                Some(base64::engine::general_purpose::STANDARD.encode(s))
            }
            _ => None,
        };
        self.record_ledger(
            &mut tx,
            scope.tenant,
            ev.action.kind(),
            None,
            Some(scope.actor.0),
            json!({ "route": ev.route, "source_type": ev.source_type, "source_id": ev.source_id, "client": sealed }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
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
        let more = rows.len() > suoja_core::num::to_usize(limit);
        rows.truncate(suoja_core::num::to_usize(limit));
        let mut out = Vec::with_capacity(rows.len());
        for e in rows {
            let d: Value = serde_json::from_str(&e.details).unwrap_or(Value::Null);
            let ip = match d.get("client").and_then(Value::as_str) {
                Some(b) => match base64::engine::general_purpose::STANDARD.decode(b) {
                    Ok(sealed) => self.hd.vault().decrypt_str(&mut c, scope.tenant, &sealed).await.ok(),
                    Err(_) => None,
                },
                None => None,
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
