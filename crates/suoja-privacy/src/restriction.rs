//! Rectification and restriction (GDPR Art. 16, 18, 19). Rectification goes through the
//! helpdesk's user update (which re-indexes, drops stale export packages, writes the ledger and
//! tells recipients); restriction hides a person and their tickets from staff views, lists,
//! search and recipients until lifted with a reason, the person being told first.

use serde_json::{Value, json};
use suoja_core::{Email, Personal, Role, Scope, UserId};
use suoja_helpdesk::model::UserInput;

use crate::requests::Request;
use crate::{Privacy, PrivacyError, Result, require_privacy};

/// Profile fields a rectification may correct.
pub const RECTIFIABLE: &[&str] = &["name", "email", "phone", "details", "locale", "time_zone"];

/// Checks a rectification's `changes` object.
pub fn check_changes(v: &Value) -> Result<()> {
    let Some(obj) = v.as_object() else {
        return Err(PrivacyError::invalid("changes", "must be an object of corrected fields"));
    };
    if obj.is_empty() {
        return Err(PrivacyError::invalid("changes", "names no field"));
    }
    for (k, val) in obj {
        if !RECTIFIABLE.contains(&k.as_str()) {
            return Err(PrivacyError::invalid(
                "changes",
                format!("{k} cannot be corrected this way; correctable: {}", RECTIFIABLE.join(", ")),
            ));
        }
        match val {
            Value::String(s) if s.chars().count() <= 1000 && !s.contains('\0') => {}
            Value::Null if !matches!(k.as_str(), "name" | "locale" | "time_zone") => {}
            _ => return Err(PrivacyError::invalid("changes", format!("{k} must be a string of at most 1000 characters"))),
        }
        if k == "email"
            && let Value::String(s) = val
        {
            Email::parse(s).map_err(|_| PrivacyError::invalid("changes", "email is not a valid e-mail address"))?;
        }
        if k == "name" && val.as_str().is_some_and(|s| s.trim().is_empty()) {
            return Err(PrivacyError::invalid("changes", "name cannot be blank"));
        }
    }
    Ok(())
}

fn changes_to_input(v: &Value) -> Result<UserInput> {
    check_changes(v)?;
    let text = |k: &str| v.get(k).map(|x| x.as_str().map(|s| Personal::new(s.trim().to_string())));
    let mut input = UserInput {
        name: text("name").flatten(),
        phone: text("phone"),
        details: text("details"),
        locale: v.get("locale").and_then(Value::as_str).map(str::to_string),
        time_zone: v.get("time_zone").and_then(Value::as_str).map(str::to_string),
        ..UserInput::default()
    };
    if let Some(e) = v.get("email") {
        input.email = Some(match e.as_str() {
            Some(s) => Some(Email::parse(s).map_err(|_| PrivacyError::invalid("changes", "email is not a valid e-mail address"))?),
            None => None,
        });
    }
    Ok(input)
}

impl Privacy {
    /// Restricts processing of a person's data (Art. 18): they and their tickets disappear from
    /// staff views, lists, search, incremental exports and webhooks; the person and the
    /// recipients are told.
    pub async fn restrict(&self, scope: &Scope, subject: UserId, reason: &str) -> Result<u64> {
        if subject == scope.actor && scope.handles_privacy() {
            return Err(PrivacyError::Conflict(
                "you cannot restrict processing of your own data; ask another privacy officer".into(),
            ));
        }
        self.set_restriction(scope, subject, true, reason).await
    }

    /// Lifts a restriction (Art. 18(3)): the person is told, with the reason, before it takes
    /// effect (the notice is queued in the same transaction, ahead of the change).
    pub async fn lift_restriction(&self, scope: &Scope, subject: UserId, reason: &str) -> Result<u64> {
        self.set_restriction(scope, subject, false, reason).await
    }

    async fn set_restriction(&self, scope: &Scope, subject: UserId, on: bool, reason: &str) -> Result<u64> {
        require_privacy(scope)?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(PrivacyError::invalid(
                "reason",
                if on {
                    "a restriction needs a reason"
                } else {
                    "lifting a restriction needs a reason"
                },
            ));
        }
        let now = self.hd.now();
        let mut tx = self.hd.db().begin().await?;
        let user = suoja_store::users::by_id(&mut tx, scope.tenant, subject)
            .await?
            .filter(|u| u.deleted_at.is_none())
            .ok_or(PrivacyError::NotFound("User"))?;
        if user.restricted == on {
            let state = if on { "already restricted" } else { "not restricted" };
            return Err(PrivacyError::Conflict(format!("processing of this person's data is {state}")));
        }
        let (kind, event, body) = if on {
            (
                "restriction_applied",
                suoja_core::LedgerKind::SubjectRestricted,
                format!("Processing of your data has been restricted. Reason: {reason}"),
            )
        } else {
            (
                "restriction_lifted",
                suoja_core::LedgerKind::SubjectRestrictionLifted,
                format!("The restriction of processing of your data is being lifted. Reason: {reason}"),
            )
        };
        let sealed = self.hd.vault().encrypt_str(&mut tx, scope.tenant, user.key_id, &body).await?;
        suoja_store::outbox::insert(&mut tx, scope.tenant, subject.0, kind, sealed, now).await?;
        let tickets = restrict_person(&mut tx, scope.tenant, subject, on, now).await?;
        self.record_ledger(
            &mut tx,
            scope.tenant,
            event,
            Some(subject.0),
            Some(scope.actor.0),
            json!({ "tickets": tickets }),
        )
        .await?;
        self.hd.notify_recipients(&mut tx, scope.tenant, subject, event.as_str(), &[], now).await?;
        tx.commit().await?;
        Ok(tickets)
    }

    /// Carries out a verified request: rectification applies the corrections; restriction and
    /// objection restrict processing; access and portability close once an export package was
    /// built for the request. Erasure is refused here: it runs through the erasure pipeline.
    pub async fn fulfil(&self, scope: &Scope, id: i64) -> Result<Request> {
        require_privacy(scope)?;
        let req = self.get(scope, id).await?;
        if req.closed_at.is_some() {
            return Err(PrivacyError::Conflict(format!("the request is already {}", req.status)));
        }
        if req.verified_at.is_none() {
            return Err(PrivacyError::Conflict("the person's identity is not confirmed yet".into()));
        }
        let subject = UserId(req.subject_id);
        let mut outcome = json!({});
        match req.kind.as_str() {
            "rectification" => {
                let changes = req.details.expose().get("changes").cloned().unwrap_or(Value::Null);
                // A staff member's sign-in address is their account: only an admin changes it.
                if changes.get("email").is_some() && !scope.is_admin() {
                    let mut c = self.hd.db().read().await?;
                    let role = suoja_store::users::by_id(&mut c, scope.tenant, subject).await?.map(|u| u.role);
                    if role.is_some_and(Role::is_staff) {
                        return Err(PrivacyError::Forbidden("a staff member's sign-in e-mail is corrected by an admin"));
                    }
                }
                let input = changes_to_input(&changes)?;
                let staff = Scope {
                    role: suoja_core::Role::Admin,
                    ..*scope
                };
                self.hd.rectify_user(&staff, subject, input).await?;
                suoja_core::json::set(
                    &mut outcome,
                    "fields",
                    json!(changes.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()).unwrap_or_default()),
                );
            }
            "restriction" | "objection" => {
                let reason = format!("{} request {id}", req.kind);
                match self.restrict(scope, subject, &reason).await {
                    Ok(n) => suoja_core::json::set(&mut outcome, "tickets", json!(n)),
                    Err(PrivacyError::Conflict(_)) => suoja_core::json::set(&mut outcome, "already_restricted", json!(true)),
                    Err(e) => return Err(e),
                }
            }
            "access" | "portability" => {
                let mut c = self.hd.db().read().await?;
                let packages = suoja_store::exports::for_request(&mut c, scope.tenant, id).await?;
                let Some(newest) = packages.iter().map(|p| p.created_at).max() else {
                    return Err(PrivacyError::Conflict("build the export package for this request first".into()));
                };
                let (pending, decided) = self.mention_review_state(&mut c, scope.tenant, id).await?;
                if pending > 0 {
                    return Err(PrivacyError::Conflict(format!(
                        "{pending} mentions of the person wait for review; accept or reject each before fulfilling"
                    )));
                }
                if decided.is_some_and(|d| d > newest) {
                    return Err(PrivacyError::Conflict(
                        "mentions were reviewed after the newest export package; build the package again so it holds them".into(),
                    ));
                }
            }
            _ => {
                return Err(PrivacyError::Conflict(
                    "erasure requests are carried out by the erasure pipeline: POST /api/v2/privacy/requests/{id}/erasure".into(),
                ));
            }
        }
        self.change(scope, id, |row, now| {
            row.status = suoja_core::RequestStatus::Fulfilled;
            row.closed_at = Some(now);
            row.outcome_code = Some("fulfilled".into());
            let mut d = outcome;
            suoja_core::json::set(&mut d, "kind", json!(row.kind));
            Ok((suoja_core::LedgerKind::RequestFulfilled, d, None))
        })
        .await
    }
}

/// Restricts a person (GDPR Art. 18) or lifts it: their profile and every ticket they asked
/// for. Returns how many tickets changed.
pub(crate) async fn restrict_person(
    c: &mut suoja_store::Conn,
    tenant: suoja_core::TenantId,
    subject: UserId,
    on: bool,
    now: suoja_core::Timestamp,
) -> Result<u64> {
    suoja_store::users::set_restricted(c, tenant, subject, on, now).await?;
    Ok(suoja_store::tickets::set_restricted_for_requester(c, tenant, subject, on).await?)
}
