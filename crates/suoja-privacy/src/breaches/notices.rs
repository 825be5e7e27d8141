//! Telling about a breach: the notification to the supervisory authority with every item of
//! Art. 33(3) (JSON and PDF, English or Finnish), its recording (a late one with the reasons for
//! the delay, Art. 33(1)), the notices to the people affected (Art. 34(2)) queued once per person
//! in their language through the outbox and sealed under their key, and the whole register as
//! one document for an authority. The ledger names the breach and the person, never the text.

use serde_json::{Value, json};
use suoja_core::{LedgerKind, Scope, Timestamp, UserId};

use super::{Breach, scope::summarize};
use crate::{Privacy, PrivacyError, Result, require_privacy};

/// The outbox kind of a person's breach notice.
pub const NOTICE_KIND: &str = "breach_notice";

/// A data or people category in words.
pub fn category_label(code: &str, finnish: bool) -> &str {
    match (code, finnish) {
        ("identifier", false) => "names and other identifiers",
        ("identifier", true) => "nimet ja muut tunnisteet",
        ("contact", false) => "contact details (e-mail address, phone number)",
        ("contact", true) => "yhteystiedot (sähköpostiosoite, puhelinnumero)",
        ("content", false) => "messages and the requests' text",
        ("content", true) => "viestit ja pyyntöjen teksti",
        ("file", false) => "files sent",
        ("file", true) => "lähetetyt tiedostot",
        ("profile", false) => "profile details (tags, custom fields)",
        ("profile", true) => "profiilitiedot (tunnisteet, lisäkentät)",
        ("credential", false) => "sign-in credentials",
        ("credential", true) => "kirjautumistiedot",
        ("organisational", false) => "organisation details",
        ("organisational", true) => "organisaation tiedot",
        ("special", false) => "special categories of data (Art. 9 and 10)",
        ("special", true) => "erityiset henkilötietoryhmät (9 ja 10 artikla)",
        ("customers", false) => "customers",
        ("customers", true) => "asiakkaat",
        ("staff", false) => "staff",
        ("staff", true) => "henkilöstö",
        ("children", false) => "children",
        ("children", true) => "lapset",
        ("other", false) => "others",
        ("other", true) => "muut",
        (other, _) => other,
    }
}

fn labels(codes: &[String], finnish: bool) -> Vec<String> {
    codes.iter().map(|c| category_label(c, finnish).to_string()).collect()
}

/// The data categories the record names and the scoping found, the record's first.
fn all_categories(b: &Breach, people: &[suoja_store::breaches::Affected]) -> Vec<String> {
    let mut data: Vec<String> = b.data_categories.clone();
    for c in summarize(people).by_category.keys() {
        if !data.contains(c) {
            data.push(c.clone());
        }
    }
    data
}

/// The breach's contact point, or the tenant's data protection officer when the breach names none.
fn contact_point(given: &str, controller: &suoja_store::settings::Controller) -> String {
    if given.is_empty() {
        controller.dpo_contact.clone()
    } else {
        given.to_string()
    }
}

fn or_null(s: &str) -> Value {
    if s.is_empty() { Value::Null } else { Value::String(s.to_string()) }
}

impl Privacy {
    /// The authority's notification of breach `id` in English or Finnish: every Art. 33(3) item,
    /// the clock, and the reasons for any delay. Needs the contact point.
    pub async fn breach_notification(&self, scope: &Scope, id: i64, finnish: bool) -> Result<Value> {
        require_privacy(scope)?;
        let mut c = self.hd.db().read().await?;
        let row = self.breach_row(&mut c, scope.tenant, id).await?;
        let b = self.open_breach(&mut c, scope.tenant, row).await?;
        let people = suoja_store::breaches::people(&mut c, scope.tenant, id).await?;
        let controller = self.controller_details(&mut c, scope.tenant).await?;
        let d = b.details.expose();
        let contact = contact_point(&d.contact, &controller);
        if contact.is_empty() {
            return Err(PrivacyError::invalid(
                "contact",
                "name the data protection officer or other contact point before making the notification",
            ));
        }
        let now = self.hd.now();
        let found = summarize(&people);
        let data = all_categories(&b, &people);
        let (title, lang) = if finnish {
            ("Ilmoitus henkilötietojen tietoturvaloukkauksesta", "fi")
        } else {
            ("Notification of a personal data breach", "en")
        };
        let notified = people.iter().filter(|p| p.notified_at.is_some()).count();
        Ok(json!({
            "document_title": title,
            "language": lang,
            "breach_id": id,
            "generated_at": now.to_iso(),
            "controller": if d.controller.is_empty() { &controller.name } else { &d.controller },
            "region": self.policy.region,
            "contact": contact,
            "aware_at": b.row.aware_at.to_iso(),
            "occurred_at": b.row.occurred_at.map(Timestamp::to_iso),
            "authority_notification_due_at": b.authority_due_at().to_iso(),
            "authority_notified_at": b.row.authority_notified_at.map(Timestamp::to_iso),
            "late": b.authority_overdue(now),
            "delay_reason": or_null(&d.delay_reason),
            "nature": {
                "description": d.description,
                "data_categories": labels(&data, finnish),
                "people_categories": labels(&b.people_categories, finnish),
                "people_affected": found.people,
                "records_affected": found.records,
                "by_category": found.by_category,
            },
            "consequences": or_null(&d.consequences),
            "measures": or_null(&d.measures),
            "people_notice": {
                "required": b.row.notify_people,
                "reasoning": or_null(&d.people_reasoning),
                "notified": notified,
                "notified_at": b.row.people_notified_at.map(Timestamp::to_iso),
            },
        }))
    }

    /// The notification as a PDF.
    pub async fn breach_notification_pdf(&self, scope: &Scope, id: i64, finnish: bool) -> Result<Vec<u8>> {
        let doc = self.breach_notification(scope, id, finnish).await?;
        crate::export::pdf::render_breach_notification(&doc, finnish).ok_or_else(|| PrivacyError::Internal("the PDF fonts could not be loaded".into()))
    }

    /// Records that the authority was notified at `at` (default now), with its reference. A
    /// notification after the 72 hours needs the reasons for the delay.
    pub async fn breach_authority_notified(
        &self,
        scope: &Scope,
        id: i64,
        at: Option<Timestamp>,
        reference: Option<String>,
        delay_reason: Option<String>,
    ) -> Result<Breach> {
        require_privacy(scope)?;
        let now = self.hd.now();
        let mut tx = self.hd.db().begin().await?;
        let mut b = self.breach_to_change(&mut tx, scope.tenant, id).await?;
        if b.row.authority_notified_at.is_some() {
            return Err(PrivacyError::Conflict(format!("the notification of breach {id} is recorded already")));
        }
        let at = at.unwrap_or(now);
        if at > now {
            return Err(PrivacyError::invalid("notified_at", "cannot be in the future"));
        }
        if at < b.row.aware_at {
            return Err(PrivacyError::invalid(
                "notified_at",
                "cannot be before the moment you became aware of the breach",
            ));
        }
        let mut d = b.details.expose().clone();
        let controller = self.controller_details(&mut tx, scope.tenant).await?;
        if contact_point(&d.contact, &controller).is_empty() {
            return Err(PrivacyError::invalid(
                "contact",
                "name the data protection officer or other contact point first",
            ));
        }
        // What the authority is given stays as given, whatever the settings say later.
        d.contact = contact_point(&d.contact, &controller);
        d.controller = controller.name.clone();
        if let Some(r) = delay_reason.map(|r| r.trim().to_string()).filter(|r| !r.is_empty()) {
            d.delay_reason = r.chars().take(super::MAX_TEXT).collect();
        }
        if let Some(r) = reference.map(|r| r.trim().to_string()).filter(|r| !r.is_empty()) {
            d.authority_reference = r.chars().take(200).collect();
        }
        let late = at > b.authority_due_at();
        if late && d.delay_reason.is_empty() {
            return Err(PrivacyError::invalid(
                "delay_reason",
                "the notification is later than 72 hours after awareness: record the reasons for the delay",
            ));
        }
        b.details = suoja_core::Personal::new(d);
        b.row.authority_notified_at = Some(at);
        b.row.notify_authority = Some(true);
        if b.row.state == "open" {
            b.row.state = "authority_notified".into();
        }
        b.row.updated_at = now;
        self.seal_breach(&mut tx, scope.tenant, &mut b).await?;
        suoja_store::breaches::update(&mut tx, scope.tenant, &b.row).await?;
        self.record_ledger(
            &mut tx,
            scope.tenant,
            LedgerKind::BreachAuthorityNotified,
            None,
            Some(scope.actor.0),
            json!({ "breach": id, "at": at.to_iso(), "late": late }),
        )
        .await?;
        tx.commit().await?;
        Ok(b)
    }

    /// Queues the notice to every affected person not told yet, in their language; returns how
    /// many were queued, how many had been told before, and how many cannot be written to.
    pub async fn notify_breach_people(&self, scope: &Scope, id: i64) -> Result<Value> {
        require_privacy(scope)?;
        let now = self.hd.now();
        let mut tx = self.hd.db().begin().await?;
        let mut b = self.breach_to_change(&mut tx, scope.tenant, id).await?;
        if b.row.notify_people == Some(false) {
            return Err(PrivacyError::Conflict(
                "the record says the people affected need not be told; change that decision first".into(),
            ));
        }
        let controller = self.controller_details(&mut tx, scope.tenant).await?;
        let d = b.details.expose().clone();
        let contact = contact_point(&d.contact, &controller);
        for (field, value, what) in [
            ("contact", &contact, "name the data protection officer or other contact point"),
            ("people_summary", &d.people_summary, "say in plain words what happened, for the people affected"),
            ("consequences", &d.consequences, "describe the likely consequences"),
            ("measures", &d.measures, "describe the measures taken and what people can do"),
        ] {
            if value.is_empty() {
                return Err(PrivacyError::invalid(field, format!("{what} before the notices go out")));
            }
        }
        let people = suoja_store::breaches::people(&mut tx, scope.tenant, id).await?;
        if people.is_empty() {
            return Err(PrivacyError::invalid("scope", "no one affected is known yet: scope the breach first"));
        }
        let (mut queued, mut before, mut unreachable) = (0_i64, 0_i64, 0_i64);
        for p in &people {
            if p.notified_at.is_some() {
                before += 1;
                continue;
            }
            let Some(user) = self.hd.mail_recipient(&mut tx, scope.tenant, UserId(p.user_id)).await? else {
                unreachable += 1;
                continue;
            };
            // Marked first: of two sendings at once, only one gets the person.
            if !suoja_store::breaches::mark_notified(&mut tx, scope.tenant, id, p.user_id, now).await? {
                before += 1;
                continue;
            }
            let finnish = user.locale.to_ascii_lowercase().starts_with("fi");
            let mut cats: Vec<String> = serde_json::from_str(&p.categories).unwrap_or_default();
            // What the data map cannot attribute to a person (credentials, special categories)
            // but the record says was exposed, every notice names.
            for c in b.data_categories.iter().filter(|c| matches!(c.as_str(), "credential" | "special")) {
                if !cats.contains(c) {
                    cats.push(c.clone());
                }
            }
            let (subject, text) = self.notice_text(&b, &labels(&cats, finnish), &contact, &controller.name, finnish);
            let body = json!({ "subject": subject, "text": text }).to_string();
            let sealed = self.hd.vault().encrypt_str(&mut tx, scope.tenant, user.key_id, &body).await?;
            suoja_store::outbox::insert(&mut tx, scope.tenant, p.user_id, NOTICE_KIND, sealed, now).await?;
            self.record_ledger(
                &mut tx,
                scope.tenant,
                LedgerKind::BreachPersonNotified,
                Some(p.user_id),
                Some(scope.actor.0),
                json!({ "breach": id, "language": if finnish { "fi" } else { "en" } }),
            )
            .await?;
            queued += 1;
        }
        b.row.notify_people = Some(true);
        if queued > 0 {
            b.row.people_notified_at = Some(now);
            if b.row.state != "closed" {
                b.row.state = "people_notified".into();
            }
        }
        b.row.updated_at = now;
        suoja_store::breaches::update(&mut tx, scope.tenant, &b.row).await?;
        tx.commit().await?;
        tracing::info!(tenant.id = %scope.tenant, breach.id = id, queued, before, unreachable, "breach notices queued");
        Ok(json!({ "queued": queued, "notified_before": before, "unreachable": unreachable }))
    }

    /// A person's notice: the breach's plain-words summary, the categories of their data, the
    /// consequences, the measures and the contact point, framed in their language.
    fn notice_text(&self, b: &Breach, categories: &[String], contact: &str, controller: &str, finnish: bool) -> (String, String) {
        let d = b.details.expose();
        let aware = b.row.aware_at.to_iso();
        let day = aware.get(..10).unwrap_or(&aware);
        let authority = &self.policy.supervisory_authority;
        let cats = categories.join(", ");
        if finnish {
            (
                "Tärkeää: tietojasi koskeva tietoturvaloukkaus".into(),
                format!(
                    "Hei,\n\nkerromme tietoturvaloukkauksesta, joka koski henkilötietojasi palvelussa, jota ylläpitää {controller}.\n\n\
                     Mitä tapahtui: {}\nMilloin: saimme tiedon loukkauksesta {day}.\nMitä tietojasi se koski: {cats}\n\
                     Mitä siitä voi seurata: {}\nMitä olemme tehneet ja mitä voit tehdä: {}\nYhteyshenkilö: {}\n\n\
                     Voit myös tehdä valituksen valvontaviranomaiselle ({authority}).\n",
                    d.people_summary, d.consequences, d.measures, contact
                ),
            )
        } else {
            (
                "Important: a security incident affecting your data".into(),
                format!(
                    "Hello,\n\nwe are writing to tell you about a security incident that affected your personal data at the helpdesk run by {controller}.\n\n\
                     What happened: {}\nWhen: we became aware of it on {day}.\nWhich of your data was involved: {cats}\n\
                     What it may mean for you: {}\nWhat we have done, and what you can do: {}\nWho to contact: {}\n\n\
                     You may also complain to {authority}.\n",
                    d.people_summary, d.consequences, d.measures, contact
                ),
            )
        }
    }

    /// The whole register as one document for an authority: every breach with its times,
    /// decisions, reasoning, categories and counts (no one's identity).
    pub async fn breach_register(&self, scope: &Scope) -> Result<Value> {
        require_privacy(scope)?;
        let (all, total) = self.breaches(scope, 10_000, 0).await?;
        let now = self.hd.now();
        let mut out = Vec::with_capacity(all.len());
        let mut c = self.hd.db().read().await?;
        for b in &all {
            let people = suoja_store::breaches::people(&mut c, scope.tenant, b.row.id).await?;
            let d = b.details.expose();
            out.push(json!({
                "id": b.row.id,
                "state": b.row.state,
                "aware_at": b.row.aware_at.to_iso(),
                "occurred_at": b.row.occurred_at.map(Timestamp::to_iso),
                "authority_notification_due_at": b.authority_due_at().to_iso(),
                "authority_notified_at": b.row.authority_notified_at.map(Timestamp::to_iso),
                "late": b.authority_overdue(now),
                "description": d.description,
                "data_categories": all_categories(b, &people),
                "people_categories": b.people_categories,
                "affected": summarize(&people),
                "consequences": or_null(&d.consequences),
                "measures": or_null(&d.measures),
                "notify_authority": b.row.notify_authority,
                "authority_reasoning": or_null(&d.authority_reasoning),
                "notify_people": b.row.notify_people,
                "people_reasoning": or_null(&d.people_reasoning),
                "people_notified": people.iter().filter(|p| p.notified_at.is_some()).count(),
                "delay_reason": or_null(&d.delay_reason),
                "closed_at": b.row.closed_at.map(Timestamp::to_iso),
            }));
        }
        let controller = self.controller_details(&mut c, scope.tenant).await?;
        Ok(json!({ "controller": controller.name, "generated_at": now.to_iso(), "count": total, "breaches": out }))
    }
}
