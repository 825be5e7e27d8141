//! The breach register (GDPR Art. 33 and 34): a breach recorded with the moment the controller
//! became aware of it (the 72-hour clock to notify the supervisory authority starts there), what
//! happened, the categories of data and people, likely consequences, measures, and whether the
//! authority and the people must be told, with the reasoning. The exposure is scoped from the
//! data map to the exact people ([`scope`]); the authority's notification and the people's
//! notices are made from the record ([`notices`]). Free text is sealed under the breach's own
//! key; every step is a ledger entry holding ids, counts and codes.

pub mod notices;
pub mod scope;

use serde::{Deserialize, Serialize};
use serde_json::json;
use suoja_core::{LedgerKind, Personal, Scope, TenantId, Timestamp};
use suoja_store::Conn;
use suoja_store::breaches::BreachRow;

use crate::{Privacy, PrivacyError, Result, require_privacy};

/// The supervisory authority is to be notified within this long of awareness (Art. 33(1)).
pub const AUTHORITY_DEADLINE_MS: i64 = 72 * 3_600_000;

/// Where a breach stands.
pub const STATES: &[&str] = &["open", "authority_notified", "people_notified", "closed"];

/// Data category codes: the data map's categories that can be exposed, and `special` for the
/// special categories of Art. 9 and 10 (the controller's judgement; the map cannot tell).
pub const DATA_CATEGORIES: &[&str] = &["identifier", "contact", "content", "file", "profile", "credential", "organisational", "special"];

/// Codes for the categories of people.
pub const PEOPLE_CATEGORIES: &[&str] = &["customers", "staff", "children", "other"];

/// Longest free-text field.
const MAX_TEXT: usize = 20_000;

/// A breach's sealed text.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Details {
    /// What happened, for the register and the authority.
    #[serde(default)]
    pub description: String,
    /// What happened, in plain words for the people affected (Art. 34(2)).
    #[serde(default)]
    pub people_summary: String,
    /// Likely consequences (Art. 33(3)(c)).
    #[serde(default)]
    pub consequences: String,
    /// Measures taken or proposed (Art. 33(3)(d)).
    #[serde(default)]
    pub measures: String,
    /// The data protection officer or other contact point (Art. 33(3)(b)).
    #[serde(default)]
    pub contact: String,
    /// Why the authority must or need not be told.
    #[serde(default)]
    pub authority_reasoning: String,
    /// Why the people must or need not be told (Art. 34(3)).
    #[serde(default)]
    pub people_reasoning: String,
    /// Why the notification came after 72 hours (Art. 33(1)).
    #[serde(default)]
    pub delay_reason: String,
    /// The authority's reference for the notification.
    #[serde(default)]
    pub authority_reference: String,
    /// What was exposed, as last scoped (ids, times, a tag).
    #[serde(default)]
    pub scope: Vec<scope::Exposure>,
    /// The controller's name as the authority was given it (kept when the settings change).
    #[serde(default)]
    pub controller: String,
}

/// A breach with its text opened.
#[derive(Debug, Clone)]
pub struct Breach {
    /// The stored row (times, state, codes).
    pub row: BreachRow,
    /// The sealed text.
    pub details: Personal<Details>,
    /// Data categories (codes).
    pub data_categories: Vec<String>,
    /// Categories of people (codes).
    pub people_categories: Vec<String>,
}

impl Breach {
    /// When the authority is to be notified at the latest.
    pub fn authority_due_at(&self) -> Timestamp {
        Timestamp(self.row.aware_at.0 + AUTHORITY_DEADLINE_MS)
    }
    /// Whether the authority's notification is late (not made and past due, or made after it).
    pub fn authority_overdue(&self, now: Timestamp) -> bool {
        self.row.notify_authority != Some(false) && self.row.authority_notified_at.unwrap_or(now) > self.authority_due_at()
    }
}

/// What is set on a breach; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    /// When the controller became aware.
    pub aware_at: Option<Timestamp>,
    /// When it happened.
    pub occurred_at: Option<Timestamp>,
    /// The sealed text fields, by name (`description`, `consequences`, …).
    pub text: Vec<(&'static str, Personal<String>)>,
    /// Data category codes.
    pub data_categories: Option<Vec<String>>,
    /// People category codes.
    pub people_categories: Option<Vec<String>>,
    /// Whether the authority must be told.
    pub notify_authority: Option<bool>,
    /// Whether the people must be told.
    pub notify_people: Option<bool>,
}

/// The text fields a breach has, as the API names them.
pub const TEXT_FIELDS: &[&str] = &[
    "description",
    "people_summary",
    "consequences",
    "measures",
    "contact",
    "authority_reasoning",
    "people_reasoning",
    "delay_reason",
];

fn set_text(d: &mut Details, field: &str, value: String) {
    match field {
        "description" => d.description = value,
        "people_summary" => d.people_summary = value,
        "consequences" => d.consequences = value,
        "measures" => d.measures = value,
        "contact" => d.contact = value,
        "authority_reasoning" => d.authority_reasoning = value,
        "people_reasoning" => d.people_reasoning = value,
        "delay_reason" => d.delay_reason = value,
        _ => {}
    }
}

fn text_of<'a>(d: &'a Details, field: &str) -> &'a str {
    match field {
        "description" => &d.description,
        "people_summary" => &d.people_summary,
        "consequences" => &d.consequences,
        "measures" => &d.measures,
        "contact" => &d.contact,
        "authority_reasoning" => &d.authority_reasoning,
        "people_reasoning" => &d.people_reasoning,
        "delay_reason" => &d.delay_reason,
        _ => "",
    }
}

fn codes(field: &'static str, given: &[String], known: &[&str]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for c in given {
        if !known.contains(&c.as_str()) {
            return Err(PrivacyError::invalid(field, format!("must be among {}", known.join(", "))));
        }
        if !out.contains(c) {
            out.push(c.clone());
        }
    }
    Ok(out)
}

fn parse_codes(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

impl Privacy {
    pub(crate) async fn open_breach(&self, c: &mut Conn, tenant: TenantId, row: BreachRow) -> Result<Breach> {
        let text = self.hd.vault().decrypt_str(c, tenant, &row.details_enc).await?;
        let details: Details = serde_json::from_str(&text).map_err(|_| PrivacyError::Internal("a breach's sealed details do not parse".into()))?;
        Ok(Breach {
            data_categories: parse_codes(&row.data_categories),
            people_categories: parse_codes(&row.people_categories),
            row,
            details: Personal::new(details),
        })
    }

    pub(crate) async fn breach_row(&self, c: &mut Conn, tenant: TenantId, id: i64) -> Result<BreachRow> {
        suoja_store::breaches::by_id(c, tenant, id).await?.ok_or(PrivacyError::NotFound("Breach"))
    }

    /// The breach to change, opened and locked until the transaction of `c` ends (every change
    /// of a breach starts here); a closed one no longer changes.
    pub(crate) async fn breach_to_change(&self, c: &mut Conn, tenant: TenantId, id: i64) -> Result<Breach> {
        let row = suoja_store::breaches::by_id_for_update(c, tenant, id)
            .await?
            .ok_or(PrivacyError::NotFound("Breach"))?;
        if row.closed_at.is_some() {
            return Err(PrivacyError::Conflict(format!("breach {id} is closed; its record no longer changes")));
        }
        self.open_breach(c, tenant, row).await
    }

    pub(crate) async fn seal_breach(&self, c: &mut Conn, tenant: TenantId, b: &mut Breach) -> Result<()> {
        let text = serde_json::to_string(b.details.expose()).map_err(|e| PrivacyError::Internal(e.to_string()))?;
        b.row.details_enc = self.hd.vault().encrypt_str(c, tenant, b.row.key_id, &text).await?;
        Ok(())
    }

    /// Applies `changes` to `b`, checking each; returns the names of the fields that changed.
    fn apply_breach_changes(&self, b: &mut Breach, changes: Changes, now: Timestamp) -> Result<Vec<&'static str>> {
        let mut changed = Vec::new();
        let notified = b.row.authority_notified_at.is_some();
        if let Some(at) = changes.aware_at.filter(|at| *at != b.row.aware_at) {
            if notified {
                return Err(PrivacyError::invalid(
                    "aware_at",
                    "the authority was notified with this moment of awareness; it no longer changes",
                ));
            }
            if at > now {
                return Err(PrivacyError::invalid("aware_at", "cannot be in the future: record the moment you became aware"));
            }
            if at.0 < now.0 - 10 * 365 * 86_400_000 {
                return Err(PrivacyError::invalid("aware_at", "is more than ten years ago"));
            }
            b.row.aware_at = at;
            changed.push("aware_at");
        }
        if let Some(at) = changes.occurred_at.filter(|at| Some(*at) != b.row.occurred_at) {
            if at > now {
                return Err(PrivacyError::invalid("occurred_at", "cannot be in the future"));
            }
            b.row.occurred_at = Some(at);
            changed.push("occurred_at");
        }
        if b.row.occurred_at.is_some_and(|o| o > b.row.aware_at) {
            return Err(PrivacyError::invalid("occurred_at", "cannot be after the moment you became aware of it"));
        }
        let before = b.details.expose().clone();
        let mut d = before.clone();
        for (field, value) in changes.text {
            let v = value.expose().trim().to_string();
            if v.chars().count() > MAX_TEXT {
                return Err(PrivacyError::invalid(field, format!("is longer than {MAX_TEXT} characters")));
            }
            set_text(&mut d, field, v);
        }
        if d.description.is_empty() {
            return Err(PrivacyError::invalid("description", "say what happened"));
        }
        // What the authority was told stays told: its contact point and the reasons for a late
        // notification can be corrected, never taken back.
        if notified && !before.contact.is_empty() && d.contact.is_empty() {
            return Err(PrivacyError::invalid(
                "contact",
                "the authority was given this contact point; correct it, do not empty it",
            ));
        }
        if b.authority_overdue(now) && notified && d.delay_reason.is_empty() {
            return Err(PrivacyError::invalid(
                "delay_reason",
                "the notification was late: the reasons for the delay stay on record",
            ));
        }
        for field in TEXT_FIELDS {
            if text_of(&before, field) != text_of(&d, field) {
                changed.push(*field);
            }
        }
        b.details = Personal::new(d);
        if let Some(c) = changes.data_categories {
            let c = codes("data_categories", &c, DATA_CATEGORIES)?;
            if c != b.data_categories {
                b.data_categories = c;
                changed.push("data_categories");
            }
        }
        if let Some(c) = changes.people_categories {
            let c = codes("people_categories", &c, PEOPLE_CATEGORIES)?;
            if c != b.people_categories {
                b.people_categories = c;
                changed.push("people_categories");
            }
        }
        if let Some(v) = changes.notify_authority.filter(|v| Some(*v) != b.row.notify_authority) {
            if notified {
                return Err(PrivacyError::invalid("notify_authority", "the authority was notified already"));
            }
            b.row.notify_authority = Some(v);
            changed.push("notify_authority");
        }
        if let Some(v) = changes.notify_people.filter(|v| Some(*v) != b.row.notify_people) {
            if !v && b.row.people_notified_at.is_some() {
                return Err(PrivacyError::invalid("notify_people", "people were notified already"));
            }
            b.row.notify_people = Some(v);
            changed.push("notify_people");
        }
        b.row.data_categories = json!(b.data_categories).to_string();
        b.row.people_categories = json!(b.people_categories).to_string();
        Ok(changed)
    }

    /// Records a breach (privacy staff). `aware_at` is required: the clock runs from it.
    pub async fn record_breach(&self, scope: &Scope, changes: Changes) -> Result<Breach> {
        require_privacy(scope)?;
        if changes.aware_at.is_none() {
            return Err(PrivacyError::invalid(
                "aware_at",
                "say when you became aware of the breach: the 72-hour clock starts then",
            ));
        }
        let now = self.hd.now();
        let mut tx = self.hd.db().begin().await?;
        let key_id = self.hd.vault().create_subject_key(&mut tx, scope.tenant, "breach", now).await?;
        let mut b = Breach {
            row: BreachRow {
                id: 0,
                state: "open".into(),
                aware_at: now,
                occurred_at: None,
                recorded_by: scope.actor.0,
                key_id,
                details_enc: Vec::new(),
                data_categories: "[]".into(),
                people_categories: "[]".into(),
                notify_authority: None,
                notify_people: None,
                authority_notified_at: None,
                people_notified_at: None,
                closed_at: None,
                created_at: now,
                updated_at: now,
            },
            details: Personal::new(Details::default()),
            data_categories: Vec::new(),
            people_categories: Vec::new(),
        };
        let fields = self.apply_breach_changes(&mut b, changes, now)?;
        self.seal_breach(&mut tx, scope.tenant, &mut b).await?;
        b.row.id = suoja_store::breaches::insert(&mut tx, scope.tenant, &b.row).await?;
        self.record_ledger(
            &mut tx,
            scope.tenant,
            LedgerKind::BreachRecorded,
            None,
            Some(scope.actor.0),
            json!({ "breach": b.row.id, "aware_at": b.row.aware_at.to_iso(), "fields": fields }),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(tenant.id = %scope.tenant, actor.id = %scope.actor, breach.id = b.row.id, "breach recorded");
        Ok(b)
    }

    /// Changes a breach that is not closed.
    pub async fn update_breach(&self, scope: &Scope, id: i64, changes: Changes) -> Result<Breach> {
        require_privacy(scope)?;
        let now = self.hd.now();
        let mut tx = self.hd.db().begin().await?;
        let mut b = self.breach_to_change(&mut tx, scope.tenant, id).await?;
        let fields = self.apply_breach_changes(&mut b, changes, now)?;
        if fields.is_empty() {
            return Ok(b);
        }
        b.row.updated_at = now;
        self.seal_breach(&mut tx, scope.tenant, &mut b).await?;
        suoja_store::breaches::update(&mut tx, scope.tenant, &b.row).await?;
        self.record_ledger(
            &mut tx,
            scope.tenant,
            LedgerKind::BreachUpdated,
            None,
            Some(scope.actor.0),
            json!({ "breach": id, "fields": fields }),
        )
        .await?;
        tx.commit().await?;
        Ok(b)
    }

    /// One breach.
    pub async fn breach(&self, scope: &Scope, id: i64) -> Result<Breach> {
        require_privacy(scope)?;
        let mut c = self.hd.db().read().await?;
        let row = self.breach_row(&mut c, scope.tenant, id).await?;
        self.open_breach(&mut c, scope.tenant, row).await
    }

    /// The register, open breaches first (soonest due first), with the total.
    pub async fn breaches(&self, scope: &Scope, limit: i64, offset: i64) -> Result<(Vec<Breach>, i64)> {
        require_privacy(scope)?;
        let mut c = self.hd.db().read().await?;
        let rows = suoja_store::breaches::list(&mut c, scope.tenant, limit, offset).await?;
        let total = suoja_store::breaches::count(&mut c, scope.tenant).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(self.open_breach(&mut c, scope.tenant, r).await?);
        }
        Ok((out, total))
    }

    /// Closes a breach: its record stops changing. The authority and the people must have been
    /// told, or the record must say they need not be.
    pub async fn close_breach(&self, scope: &Scope, id: i64) -> Result<Breach> {
        require_privacy(scope)?;
        let now = self.hd.now();
        let mut tx = self.hd.db().begin().await?;
        let mut b = self.breach_to_change(&mut tx, scope.tenant, id).await?;
        let d = b.details.expose();
        match b.row.notify_authority {
            None => {
                return Err(PrivacyError::invalid(
                    "notify_authority",
                    "decide whether the authority must be told before closing",
                ));
            }
            Some(true) if b.row.authority_notified_at.is_none() => {
                return Err(PrivacyError::Conflict(
                    "the authority must be told and has not been; record the notification first".into(),
                ));
            }
            Some(false) if d.authority_reasoning.is_empty() => {
                return Err(PrivacyError::invalid("authority_reasoning", "say why the authority need not be told"));
            }
            _ => {}
        }
        match b.row.notify_people {
            None => {
                return Err(PrivacyError::invalid(
                    "notify_people",
                    "decide whether the people affected must be told before closing",
                ));
            }
            Some(true) => {
                // Everyone affected who can be written to has been told.
                let mut untold = 0;
                for p in suoja_store::breaches::people(&mut tx, scope.tenant, id).await? {
                    if p.notified_at.is_none() && self.hd.mail_recipient(&mut tx, scope.tenant, suoja_core::UserId(p.user_id)).await?.is_some() {
                        untold += 1;
                    }
                }
                if b.row.people_notified_at.is_none() || untold > 0 {
                    return Err(PrivacyError::Conflict(
                        "the people affected must be told and some have not been; send their notices first".into(),
                    ));
                }
            }
            Some(false) if d.people_reasoning.is_empty() => {
                return Err(PrivacyError::invalid("people_reasoning", "say why the people affected need not be told"));
            }
            _ => {}
        }
        b.row.state = "closed".into();
        b.row.closed_at = Some(now);
        b.row.updated_at = now;
        suoja_store::breaches::update(&mut tx, scope.tenant, &b.row).await?;
        self.record_ledger(
            &mut tx,
            scope.tenant,
            LedgerKind::BreachClosed,
            None,
            Some(scope.actor.0),
            json!({ "breach": id }),
        )
        .await?;
        tx.commit().await?;
        Ok(b)
    }
}
