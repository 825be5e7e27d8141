//! The records of processing activities (GDPR Art. 30(1)), generated rather than written: one
//! activity per table of the data map that holds personal data, with its purpose, the people it
//! is about (the map's subject links), the categories of data (its columns), how it is stored,
//! what erasure does, and its retention — the map's words and the retention policies actually
//! in force for the tenant. Around them: the controller and its data protection officer (the
//! tenant's settings), recipients (the webhooks and integrations registered), where the data
//! is stored, and the security measures configured. A table added to the map appears here, and
//! a retention policy changed changes the record.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use suoja_core::Scope;

use crate::datamap::{Category, Storage, TABLES, Via};
use crate::{Privacy, Result, require_privacy};

/// A data category in words.
fn category_words(c: Category) -> Option<&'static str> {
    match c {
        Category::Contact => Some("contact"),
        Category::Identifier => Some("identifier"),
        Category::Content => Some("content"),
        Category::File => Some("file"),
        Category::Profile => Some("profile"),
        Category::Credential => Some("credential"),
        Category::Key => Some("key"),
        Category::Derived => Some("derived"),
        Category::Organisational => Some("organisational"),
        Category::None => None,
    }
}

/// The host (and port) of a webhook endpoint: where its data goes, without its path or secrets.
fn host_of(endpoint: &str) -> String {
    let rest = endpoint.split_once("://").map_or(endpoint, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    authority.rsplit('@').next().unwrap_or_default().to_string()
}

impl Privacy {
    /// The tenant's records of processing (privacy staff).
    pub async fn records_of_processing(&self, scope: &Scope) -> Result<Value> {
        require_privacy(scope)?;
        let now = self.hd.now();
        let policies = self.retention_policies(scope).await?;
        let mut c = self.hd.db().read().await?;
        let controller = self.controller_details(&mut c, scope.tenant).await?;
        let webhooks = suoja_store::webhooks::list(&mut c, scope.tenant).await?;
        let api_tokens = suoja_store::tokens::list(&mut c, scope.tenant, suoja_store::tokens::TokenKind::Api)
            .await?
            .len();
        let oauth_tokens = suoja_store::tokens::list(&mut c, scope.tenant, suoja_store::tokens::TokenKind::OAuth)
            .await?
            .len();
        let staff_factor = suoja_store::web::staff_second_factor(&mut c, scope.tenant).await?;
        let (_, sec) = suoja_store::settings::security_settings(&mut c, scope.tenant).await?;
        let ranges = sec.ip.allowed_ranges.split_whitespace().count();
        let backup_targets = suoja_store::backup_targets::list(&mut c).await?.len();
        let own_smtp = suoja_store::settings::mail_smtp(&mut c, scope.tenant).await?.is_some();
        let subprocessors = suoja_store::subprocessors::list(&mut c, scope.tenant).await?;
        // The region the tenant was created in (with several regions, the one whose database
        // this is).
        let region = suoja_store::tenants::by_id(&mut c, scope.tenant)
            .await?
            .map_or_else(|| self.policy.region.clone(), |t| t.region);
        drop(c);

        let mut activities = Vec::new();
        let mut derived = Vec::new();
        for t in TABLES {
            let data: BTreeSet<&str> = t.columns.iter().filter_map(|col| category_words(col.category)).collect();
            if data.is_empty() && t.subjects.is_empty() {
                continue;
            }
            let mut storage: Vec<Storage> = Vec::new();
            for col in t.columns.iter().filter(|col| col.category != Category::None) {
                if !storage.contains(&col.storage) {
                    storage.push(col.storage);
                }
            }
            let people: Vec<&str> = t
                .subjects
                .iter()
                .filter(|l| l.via == Via::User || l.via == Via::Ticket)
                .map(|l| l.role)
                .collect();
            let in_force: Vec<Value> = policies
                .iter()
                .filter(|p| crate::retention::KINDS.iter().any(|k| k.name == p.policy && k.governs.contains(&t.name)))
                .map(|p| {
                    json!({
                        "policy": p.policy,
                        "removes": p.removes,
                        "removes_fi": crate::retention::KINDS.iter().find(|k| k.name == p.policy).map_or("", |k| k.removes_fi),
                        "after": p.value,
                        "unit": p.unit,
                        "enabled": p.enabled,
                    })
                })
                .collect();
            let activity = json!({
                "table": t.name,
                "purpose": t.purpose,
                "purpose_fi": t.purpose_fi,
                "people": people,
                "data": data,
                "storage": storage,
                "erasure": t.erasure,
                "retention": t.retention,
                "retention_fi": t.retention_fi,
                "retention_in_force": in_force,
            });
            if t.derived {
                derived.push(activity);
            } else {
                activities.push(activity);
            }
        }
        let recipients: Vec<Value> = webhooks
            .iter()
            .map(|w| {
                let host = host_of(&w.endpoint);
                json!({
                    "kind": "webhook",
                    "id": w.id,
                    "name": w.name,
                    "host": host,
                    "active": w.status == "active",
                    "events": serde_json::from_str::<Value>(&w.subscriptions).unwrap_or(Value::Null),
                })
            })
            .collect();
        // What is in force, as codes the documents put in words (`value` where a figure counts).
        let security = json!([
            { "code": "encryption_at_rest" },
            { "code": "keyed_lookups" },
            { "code": "tamper_evident_ledger" },
            { "code": "consultation_log" },
            { "code": "verified_erasure" },
            { "code": "sessions_and_sign_in_limits", "idle_minutes": sec.sessions.idle_minutes, "absolute_hours": sec.sessions.absolute_hours },
            { "code": "password_rules", "min_length": sec.password.min_length, "history": sec.password.history },
            { "code": if sec.ip.enabled { "ip_restriction" } else { "no_ip_restriction" }, "value": ranges, "end_users": sec.ip.end_users },
            { "code": if staff_factor { "staff_second_factor" } else { "staff_second_factor_optional" } },
            { "code": if sec.end_user_second_factor { "end_user_second_factor" } else { "end_user_second_factor_optional" } },
            { "code": "recovery_codes" },
            { "code": if sec.sign_in_alerts { "sign_in_alerts" } else { "no_sign_in_alerts" } },
            { "code": if backup_targets > 0 { "encrypted_backups" } else { "no_backup_target" }, "value": backup_targets },
        ]);
        Ok(json!({
            "document_title": "Records of processing activities",
            "generated_at": now.to_iso(),
            "controller": {
                "name": controller.name,
                "contact": controller.contact,
                "dpo_contact": controller.dpo_contact,
            },
            "region": region,
            "transfers": format!(
                "Personal data of this helpdesk is stored in the {region} region; it leaves it only to the recipients and sub-processors listed, whose locations and safeguards are given."
            ),
            "activities": activities,
            "derived": derived,
            "recipients": recipients,
            "subprocessors": subprocessors.iter().filter(|s| s.ends_at.is_none_or(|e| e > now)).map(|s| json!({
                "name": s.name,
                "service": s.service,
                "location": s.location,
                "safeguard": s.safeguard,
                "starts_at": s.starts_at.to_iso(),
            })).collect::<Vec<_>>(),
            "integrations": { "api_tokens": api_tokens, "oauth_tokens": oauth_tokens },
            "mail": if own_smtp { "sent through the tenant's own SMTP server" } else { "sent through the installation's SMTP server, when one is configured" },
            "retention_policies": policies,
            "security": security,
        }))
    }

    /// The tenant's controller details, with the installation's words where it set none.
    pub(crate) async fn controller_details(&self, c: &mut suoja_store::Conn, tenant: suoja_core::TenantId) -> Result<suoja_store::settings::Controller> {
        let set = suoja_store::settings::controller(c, tenant).await?;
        Ok(set.unwrap_or_else(|| suoja_store::settings::Controller {
            name: self.policy.controller.clone(),
            contact: self.policy.controller_contact.clone(),
            dpo_contact: String::new(),
            subprocessor_notice_days: crate::subprocessors::DEFAULT_NOTICE_DAYS,
        }))
    }

    /// The controller details as the tenant set them (`None`: not set yet).
    pub async fn controller(&self, scope: &Scope) -> Result<Option<suoja_store::settings::Controller>> {
        require_privacy(scope)?;
        let mut c = self.hd.db().read().await?;
        Ok(suoja_store::settings::controller(&mut c, scope.tenant).await?)
    }

    /// Sets the controller details (admins and privacy officers); each must be given.
    pub async fn set_controller(&self, scope: &Scope, d: suoja_store::settings::Controller) -> Result<suoja_store::settings::Controller> {
        require_privacy(scope)?;
        let d = suoja_store::settings::Controller {
            name: d.name.trim().to_string(),
            contact: d.contact.trim().to_string(),
            dpo_contact: d.dpo_contact.trim().to_string(),
            subprocessor_notice_days: d.subprocessor_notice_days,
        };
        if !(0..=365).contains(&d.subprocessor_notice_days) {
            return Err(crate::PrivacyError::invalid("subprocessor_notice_days", "must be from 0 to 365 days"));
        }
        for (field, v) in [("name", &d.name), ("contact", &d.contact), ("dpo_contact", &d.dpo_contact)] {
            if v.is_empty() {
                return Err(crate::PrivacyError::invalid(field, "cannot be blank"));
            }
            if v.chars().count() > 500 {
                return Err(crate::PrivacyError::invalid(field, "is longer than 500 characters"));
            }
        }
        let now = self.hd.now();
        let mut tx = self.hd.db().begin().await?;
        suoja_store::settings::set_controller(&mut tx, scope.tenant, &d, scope.actor.0, now).await?;
        self.record_ledger(
            &mut tx,
            scope.tenant,
            suoja_core::LedgerKind::SettingsChanged,
            None,
            Some(scope.actor.0),
            json!({ "setting": "controller_details" }),
        )
        .await?;
        tx.commit().await?;
        Ok(d)
    }

    /// The records as a PDF, in English or Finnish; `label` gives a table's name in the
    /// reader's language where one is known.
    pub async fn records_of_processing_pdf(&self, scope: &Scope, finnish: bool, label: &(dyn Fn(&str) -> Option<String> + Sync)) -> Result<Vec<u8>> {
        let doc = self.records_of_processing(scope).await?;
        crate::export::pdf::render_records(&doc, finnish, label).ok_or_else(|| crate::PrivacyError::Internal("the PDF fonts could not be loaded".into()))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn webhook_hosts_leave_paths_and_credentials_out() {
        assert_eq!(super::host_of("https://hooks.example.com:8443/in/abc?token=x"), "hooks.example.com:8443");
        assert_eq!(super::host_of("https://user:pw@example.org"), "example.org");
    }

    #[test]
    fn retention_policies_name_tables_of_the_map() {
        for k in crate::retention::KINDS {
            for t in k.governs {
                assert!(crate::datamap::table(t).is_some(), "{} governs {t}, which the data map does not have", k.name);
            }
        }
    }
}
