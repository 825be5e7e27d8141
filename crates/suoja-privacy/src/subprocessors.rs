//! The sub-processor register (GDPR Art. 28(2) and (4)): the organisations the tenant has process
//! personal data for it, the service, where, under which safeguard, from and until when. The list
//! is public (the tenant's customers see it without signing in); a person signed in can subscribe,
//! and a new sub-processor is announced to every subscriber, in their language, a notice period
//! (the controller's setting, 30 days unless changed) before it starts, so they can object in time.
//! Each addition, change and removal is a ledger entry of ids and counts.

use serde_json::json;
use suoja_core::{LedgerKind, Scope, TenantId, Timestamp, UserId};
use suoja_store::subprocessors::SubprocessorRow;

use crate::{Privacy, PrivacyError, Result, require_privacy};

/// Notice period when the controller has not set one.
pub const DEFAULT_NOTICE_DAYS: i64 = 30;

/// The outbox kind of an announcement to a subscriber.
pub const NOTICE_KIND: &str = "subprocessor_notice";

/// A sub-processor's fields as given (`None` leaves one as it is on a change).
#[derive(Debug, Clone, Default)]
pub struct Fields {
    /// The organisation.
    pub name: Option<String>,
    /// What it does with the data.
    pub service: Option<String>,
    /// Where it processes the data.
    pub location: Option<String>,
    /// The safeguard for a transfer.
    pub safeguard: Option<String>,
    /// From when (new ones only; default: the end of the notice period).
    pub starts_at: Option<Timestamp>,
}

fn set(field: &'static str, target: &mut String, value: Option<String>) -> Result<()> {
    if let Some(v) = value {
        let v = v.trim().to_string();
        if v.is_empty() {
            return Err(PrivacyError::invalid(field, "cannot be blank"));
        }
        if v.chars().count() > 500 {
            return Err(PrivacyError::invalid(field, "is longer than 500 characters"));
        }
        *target = v;
    }
    Ok(())
}

fn day(t: Timestamp) -> String {
    let iso = t.to_iso();
    iso.get(..10).unwrap_or(&iso).to_string()
}

impl Privacy {
    /// The list as the tenant's customers see it: sub-processors in use and announced ones.
    pub async fn public_subprocessors(&self, tenant: TenantId) -> Result<Vec<SubprocessorRow>> {
        let now = self.hd.now();
        let mut c = self.hd.db().read().await?;
        let all = suoja_store::subprocessors::list(&mut c, tenant).await?;
        Ok(all.into_iter().filter(|s| s.ends_at.is_none_or(|e| e > now)).collect())
    }

    /// Every sub-processor, ended ones too (privacy staff).
    pub async fn subprocessors(&self, scope: &Scope) -> Result<Vec<SubprocessorRow>> {
        require_privacy(scope)?;
        let mut c = self.hd.db().read().await?;
        Ok(suoja_store::subprocessors::list(&mut c, scope.tenant).await?)
    }

    /// One sub-processor (privacy staff).
    pub async fn subprocessor(&self, scope: &Scope, id: i64) -> Result<SubprocessorRow> {
        require_privacy(scope)?;
        let mut c = self.hd.db().read().await?;
        suoja_store::subprocessors::by_id(&mut c, scope.tenant, id)
            .await?
            .ok_or(PrivacyError::NotFound("Subprocessor"))
    }

    /// Adds a sub-processor starting at the end of the notice period or later, and queues its
    /// announcement to every subscriber; returns it and how many were told.
    pub async fn add_subprocessor(&self, scope: &Scope, f: Fields, base_url: &str) -> Result<(SubprocessorRow, usize)> {
        require_privacy(scope)?;
        let now = self.hd.now();
        let mut tx = self.hd.db().begin().await?;
        let controller = self.controller_details(&mut tx, scope.tenant).await?;
        let notice_days = controller.subprocessor_notice_days;
        let earliest = Timestamp(now.0 + notice_days * 86_400_000);
        let starts_at = f.starts_at.unwrap_or(earliest);
        // A minute's leeway: "in 30 days" typed now is not refused for the seconds it took.
        if starts_at.0 < earliest.0 - 60_000 {
            return Err(PrivacyError::invalid(
                "starts_at",
                format!("subscribers are told {notice_days} days ahead: start on {} or later", day(earliest)),
            ));
        }
        if starts_at.0 > now.0 + 5 * 365 * 86_400_000 {
            return Err(PrivacyError::invalid("starts_at", "is more than five years ahead"));
        }
        let mut s = SubprocessorRow {
            id: 0,
            name: String::new(),
            service: String::new(),
            location: String::new(),
            safeguard: String::new(),
            starts_at,
            ends_at: None,
            created_by: scope.actor.0,
            created_at: now,
            updated_at: now,
        };
        for (field, target, value) in [
            ("name", &mut s.name, f.name),
            ("service", &mut s.service, f.service),
            ("location", &mut s.location, f.location),
            ("safeguard", &mut s.safeguard, f.safeguard),
        ] {
            if value.is_none() {
                return Err(PrivacyError::invalid(field, "cannot be blank"));
            }
            set(field, target, value)?;
        }
        s.id = suoja_store::subprocessors::insert(&mut tx, scope.tenant, &s).await?;
        let told = self.announce(&mut tx, scope.tenant, &s, &controller, base_url, false).await?;
        self.record_ledger(
            &mut tx,
            scope.tenant,
            LedgerKind::SubprocessorAdded,
            None,
            Some(scope.actor.0),
            json!({ "subprocessor": s.id, "starts_at": s.starts_at.to_iso(), "subscribers_told": told }),
        )
        .await?;
        tx.commit().await?;
        Ok((s, told))
    }

    /// Changes a sub-processor that has not started yet, while its start is still a notice
    /// period away; the change is announced to every subscriber as the addition was. One in use
    /// is removed and the changed one added anew, with its own notice.
    pub async fn update_subprocessor(&self, scope: &Scope, id: i64, f: Fields, base_url: &str) -> Result<SubprocessorRow> {
        require_privacy(scope)?;
        if f.starts_at.is_some() {
            return Err(PrivacyError::invalid(
                "starts_at",
                "an announced start does not move; remove the sub-processor and add it again",
            ));
        }
        let now = self.hd.now();
        let mut tx = self.hd.db().begin().await?;
        let mut s = suoja_store::subprocessors::by_id(&mut tx, scope.tenant, id)
            .await?
            .ok_or(PrivacyError::NotFound("Subprocessor"))?;
        let controller = self.controller_details(&mut tx, scope.tenant).await?;
        if s.ends_at.is_some() || s.starts_at.0 < now.0 + controller.subprocessor_notice_days * 86_400_000 {
            return Err(PrivacyError::Conflict(format!(
                "sub-processor {id} is in use, ended, or starts within the notice period: remove it and add the changed one anew"
            )));
        }
        let mut fields = Vec::new();
        for (field, target, value) in [
            ("name", &mut s.name, f.name),
            ("service", &mut s.service, f.service),
            ("location", &mut s.location, f.location),
            ("safeguard", &mut s.safeguard, f.safeguard),
        ] {
            let before = target.clone();
            set(field, target, value)?;
            if *target != before {
                fields.push(field);
            }
        }
        if fields.is_empty() {
            return Ok(s);
        }
        s.updated_at = now;
        suoja_store::subprocessors::update(&mut tx, scope.tenant, &s).await?;
        let told = self.announce(&mut tx, scope.tenant, &s, &controller, base_url, true).await?;
        self.record_ledger(
            &mut tx,
            scope.tenant,
            LedgerKind::SubprocessorChanged,
            None,
            Some(scope.actor.0),
            json!({ "subprocessor": id, "fields": fields, "subscribers_told": told }),
        )
        .await?;
        tx.commit().await?;
        Ok(s)
    }

    /// Queues the announcement of `s` (new, or `changed`) to every subscriber who can be written
    /// to, in their language; returns how many.
    async fn announce(
        &self,
        c: &mut suoja_store::Conn,
        tenant: TenantId,
        s: &SubprocessorRow,
        controller: &suoja_store::settings::Controller,
        base_url: &str,
        changed: bool,
    ) -> Result<usize> {
        let now = self.hd.now();
        let mut told = 0;
        for user in suoja_store::subprocessors::subscribers(c, tenant).await? {
            let Some(to) = self.hd.mail_recipient(c, tenant, UserId(user)).await? else {
                continue;
            };
            let finnish = to.locale.to_ascii_lowercase().starts_with("fi");
            let (subject, text) = announcement(s, controller, base_url, finnish, changed);
            let body = json!({ "subject": subject, "text": text }).to_string();
            let sealed = self.hd.vault().encrypt_str(c, tenant, to.key_id, &body).await?;
            suoja_store::outbox::insert(c, tenant, user, NOTICE_KIND, sealed, now).await?;
            told += 1;
        }
        Ok(told)
    }

    /// Ends the use of a sub-processor now; it stays in the register with its end.
    pub async fn remove_subprocessor(&self, scope: &Scope, id: i64) -> Result<SubprocessorRow> {
        require_privacy(scope)?;
        let now = self.hd.now();
        let mut tx = self.hd.db().begin().await?;
        let mut s = suoja_store::subprocessors::by_id(&mut tx, scope.tenant, id)
            .await?
            .ok_or(PrivacyError::NotFound("Subprocessor"))?;
        if s.ends_at.is_some() {
            return Err(PrivacyError::Conflict(format!("sub-processor {id} was removed already")));
        }
        s.ends_at = Some(now);
        s.updated_at = now;
        suoja_store::subprocessors::update(&mut tx, scope.tenant, &s).await?;
        self.record_ledger(
            &mut tx,
            scope.tenant,
            LedgerKind::SubprocessorRemoved,
            None,
            Some(scope.actor.0),
            json!({ "subprocessor": id }),
        )
        .await?;
        tx.commit().await?;
        Ok(s)
    }

    /// Whether the signed-in person hears of new sub-processors.
    pub async fn subprocessor_subscription(&self, scope: &Scope) -> Result<bool> {
        let mut c = self.hd.db().read().await?;
        Ok(suoja_store::subprocessors::subscribed(&mut c, scope.tenant, scope.actor.0).await?)
    }

    /// Subscribes the signed-in person to announcements (or, `on` false, stops them). Only the
    /// person does this, signed in: not an API token acting for them.
    pub async fn subscribe_subprocessors(&self, scope: &Scope, on: bool) -> Result<bool> {
        if scope.token.is_some() && !scope.is_staff() {
            return Err(PrivacyError::Forbidden("people subscribe themselves, signed in; not through an API token"));
        }
        let now = self.hd.now();
        let mut tx = self.hd.db().begin().await?;
        let changed = suoja_store::subprocessors::subscribe(&mut tx, scope.tenant, scope.actor.0, on, now).await?;
        tx.commit().await?;
        Ok(changed)
    }
}

/// The announcement of `s` to one subscriber: subject and text.
fn announcement(s: &SubprocessorRow, controller: &suoja_store::settings::Controller, base_url: &str, finnish: bool, changed: bool) -> (String, String) {
    let list = format!("{}/subprocessors", base_url.trim_end_matches('/'));
    let contact = if controller.dpo_contact.is_empty() {
        &controller.contact
    } else {
        &controller.dpo_contact
    };
    if finnish {
        (
            if changed {
                format!("Ilmoitettu alikäsittelijä muuttui: {}", s.name)
            } else {
                format!("Uusi alikäsittelijä: {}", s.name)
            },
            format!(
                "Hei,\n\n{} ottaa {} alkaen käyttöön uuden alikäsittelijän, joka käsittelee henkilötietoja sen puolesta:\n\n{} — {}\nSijainti: {}\nSuojatoimi: {}\n\nJos vastustat muutosta, ota yhteyttä: {contact}\n\nSaat tämän viestin, koska tilasit ilmoitukset uusista alikäsittelijöistä. Luettelo ja tilauksen peruminen: {list}\n",
                controller.name,
                day(s.starts_at),
                s.name,
                s.service,
                s.location,
                s.safeguard
            ),
        )
    } else {
        (
            if changed {
                format!("An announced sub-processor changed: {}", s.name)
            } else {
                format!("A new sub-processor: {}", s.name)
            },
            format!(
                "Hello,\n\n{} will start using a new sub-processor, which processes personal data on its behalf, on {}:\n\n{} — {}\nWhere: {}\nSafeguard: {}\n\nIf you object, contact {contact}.\n\nYou receive this because you asked to hear of new sub-processors. The list, and how to stop these messages: {list}\n",
                controller.name,
                day(s.starts_at),
                s.name,
                s.service,
                s.location,
                s.safeguard
            ),
        )
    }
}
