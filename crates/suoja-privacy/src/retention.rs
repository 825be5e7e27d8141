//! Retention schedules (GDPR Art. 5(1)(e), A5-02): per-tenant policies, on by default with the
//! documented defaults below, each with a preview of what it would remove now. The job runner
//! applies them through the erasure pipeline's own primitives: closed and trashed tickets are
//! purged with everything on them, inactive end users are erased by a full erasure (plan, run,
//! read-back, certificate), old attachments and call recordings are redacted to placeholders;
//! legal holds keep what they cover. Changing a policy is recorded in the ledger.

use serde::Serialize;
use serde_json::json;
use suoja_core::{AttachmentId, Scope, TenantId, TicketId, Timestamp, UserId};
use suoja_store::settings::RetentionRow;

use crate::erasure::Origin;
use crate::{Privacy, PrivacyError, Result};

/// An end user is inactive when none of this happened since the cutoff: the account created or
/// changed, a sign-in, a comment written, a ticket of theirs open or closed, a help center
/// comment or community post or comment written (every table of free text the data
/// map links to its writer). Restricted people (Art. 18) and people already being erased are
/// left to those processes.
const INACTIVE: suoja_store::retention::Activity<'static> = suoja_store::retention::Activity {
    profile: true,
    sign_in: true,
    comment: true,
    ticket: true,
    skip_restricted: true,
    skip_erasing: true,
    written: &[],
    holding: &[],
};

/// The tables where people write free text outside tickets, with the writer's column: each
/// table with declared free text linked to a person by a column other than its own id.
fn written_in() -> Vec<(&'static str, &'static str)> {
    crate::texts::tables()
        .iter()
        .filter(|t| t.dated)
        .flat_map(|t| t.people.iter().filter(|p| **p != "id").map(move |p| (t.table.name, *p)))
        .collect()
}

/// What the community content policy empties: the rows of every table whose erasure keeps the
/// row and empties it (help center comments, community posts and comments), each with its link
/// to the writer and its personal columns.
fn community_content() -> Vec<(&'static str, &'static str, Vec<&'static str>)> {
    let map = crate::datamap::TABLES;
    let own = crate::erasure::plan::OWN_RULES;
    let emptied = crate::datamap::declared_erasures(map, crate::datamap::Erasure::Empty, own);
    crate::datamap::declared_erasures(map, crate::datamap::Erasure::Tombstone, own)
        .chain(emptied)
        .map(|(t, link)| (t.name, link.column, t.personal_column_names(link.column)))
        .collect()
}

/// The unit a policy's period is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Hours.
    Hours,
    /// Days.
    Days,
    /// Months of 30 days.
    Months,
}

impl Unit {
    pub(crate) fn ms(self) -> i64 {
        match self {
            Unit::Hours => 3_600_000,
            Unit::Days => 86_400_000,
            Unit::Months => 30 * 86_400_000,
        }
    }
}

/// One kind of policy, with its default.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Kind {
    /// Name used by the API and CLI.
    pub name: &'static str,
    /// What it removes, in words.
    pub removes: &'static str,
    /// The same in Finnish.
    pub removes_fi: &'static str,
    /// Unit of its period.
    pub unit: Unit,
    /// Period when the tenant has not chosen one.
    pub default: i64,
    /// Shortest period accepted.
    pub min: i64,
    /// Longest period accepted.
    pub max: i64,
    /// The data map's tables whose rows it removes (what the records of processing quote it for).
    pub governs: &'static [&'static str],
}

/// What purging a ticket removes: the ticket and every row that hangs on it.
const TICKET_TABLES: &[&str] = &[
    "tickets",
    "comments",
    "attachments",
    "ticket_collaborators",
    "ticket_tags",
    "ticket_events",
    "ticket_audits",
    "ticket_metric_events",
    "mail_threads",
    "mail_messages",
    "mail_recipients",
    "search_index",
];

/// Every policy, with the documented defaults.
pub const KINDS: &[Kind] = &[
    Kind {
        name: "closed_tickets",
        removes: "tickets solved or closed this long ago, with their comments, notes, files and history",
        removes_fi: "näin kauan sitten ratkaistut tai suljetut pyynnöt kommentteineen, muistiinpanoineen, tiedostoineen ja historioineen",
        unit: Unit::Days,
        default: 730,
        min: 1,
        max: 36_500,
        governs: TICKET_TABLES,
    },
    Kind {
        name: "inactive_end_users",
        removes: "end users with no sign-in, comment, ticket, help center or community activity for this long (erased in full)",
        removes_fi: "loppukäyttäjät, joilla ei ole ollut näin pitkään kirjautumista, kommenttia, pyyntöä eikä toimintaa ohjekeskuksessa tai yhteisössä (kaikki tiedot poistetaan)",
        unit: Unit::Months,
        default: 36,
        min: 1,
        max: 1_200,
        governs: &["users"],
    },
    Kind {
        name: "community_content",
        removes: "help center comments and community posts and comments of end users with no activity for this long (emptied, the threads keep their shape)",
        removes_fi: "näin pitkään passiivisina olleiden loppukäyttäjien ohjekeskuksen kommentit sekä yhteisön julkaisut ja kommentit (tyhjennetään, keskustelut säilyttävät muotonsa)",
        unit: Unit::Months,
        default: 24,
        min: 1,
        max: 1_200,
        governs: &["hc_article_comments", "hc_posts", "hc_post_comments"],
    },
    Kind {
        name: "attachments",
        removes: "files attached this long ago (a placeholder stays in the conversation)",
        removes_fi: "näin kauan sitten liitetyt tiedostot (keskusteluun jää paikanpitäjä)",
        unit: Unit::Days,
        default: 365,
        min: 1,
        max: 36_500,
        governs: &["attachments"],
    },
    Kind {
        name: "call_recordings",
        removes: "call recordings made this long ago (their metadata stays)",
        removes_fi: "näin kauan sitten tehdyt puhelutallenteet (niiden tiedot säilyvät)",
        unit: Unit::Days,
        default: 90,
        min: 1,
        max: 36_500,
        governs: &[],
    },
    Kind {
        name: "deleted_tickets",
        removes: "tickets in the trash this long",
        removes_fi: "näin pitkään roskakorissa olleet pyynnöt",
        unit: Unit::Days,
        default: 7,
        min: 1,
        max: 7,
        governs: TICKET_TABLES,
    },
    Kind {
        name: "verification_links",
        removes: "identity-check links sent this long ago (a day at least: the daily link limit counts them)",
        removes_fi: "näin kauan sitten lähetetyt henkilöllisyyden tarkistuslinkit (vähintään vuorokausi: päivittäinen linkkiraja laskee ne)",
        unit: Unit::Hours,
        default: 48,
        min: 24,
        max: 8_760,
        governs: &["privacy_verifications"],
    },
    Kind {
        name: "export_packages",
        removes: "export packages built this long ago",
        removes_fi: "näin kauan sitten kootut tietopaketit",
        unit: Unit::Hours,
        default: 168,
        min: 1,
        max: 8_760,
        governs: &["export_packages", "export_chunks"],
    },
    Kind {
        name: "audit_addresses",
        removes: "client addresses in the admin audit log recorded this long ago (kept per 30-day period, whose key is destroyed once the whole period is past; counted in periods; the entries stay in the ledger's chain)",
        removes_fi: "näin kauan sitten kirjatut asiakasosoitteet ylläpidon tapahtumalokissa (säilytetään 30 päivän jaksoittain, ja jakson avain hävitetään, kun koko jakso on ohi; lasketaan jaksoina; merkinnät jäävät kirjanpidon ketjuun)",
        unit: Unit::Months,
        default: 12,
        min: 1,
        max: 120,
        governs: &["audit_address_keys"],
    },
];

/// Most records one policy handles per tenant per run; the next run takes the rest.
const BATCH: i64 = 500;

/// Most due records one run looks through to find a batch that no legal hold keeps.
const MAX_WINDOW: i64 = 32_000;

/// A policy as it stands for a tenant.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyView {
    /// Name.
    pub policy: &'static str,
    /// What it removes.
    pub removes: &'static str,
    /// Period.
    pub value: i64,
    /// Unit of the period.
    pub unit: Unit,
    /// Whether it runs.
    pub enabled: bool,
    /// The default period.
    pub default: i64,
    /// Shortest period accepted.
    pub min: i64,
    /// Longest period accepted.
    pub max: i64,
    /// Who last changed it (`None`: never changed).
    pub updated_by: Option<i64>,
    /// When.
    pub updated_at: Option<String>,
}

/// What a policy would remove now.
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    /// The policy.
    pub policy: &'static str,
    /// Whether it is enabled (a disabled policy removes nothing).
    pub enabled: bool,
    /// Records created, closed or last active before this are due.
    pub cutoff: String,
    /// How many are due (up to the first 500).
    pub count: usize,
    /// Whether there are more than `count`.
    pub more: bool,
    /// Of those, how many a legal hold keeps.
    pub held: usize,
    /// Their ids (tickets, users, attachments, links or packages).
    pub ids: Vec<serde_json::Value>,
}

/// What one run removed, per policy.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunReport {
    /// (tenant, policy, records removed or started).
    pub applied: Vec<(i64, &'static str, u64)>,
}

impl RunReport {
    /// Records removed in total.
    pub fn total(&self) -> u64 {
        self.applied.iter().map(|(_, _, n)| n).sum()
    }
}

/// Looks a policy up by name.
pub fn kind(name: &str) -> Result<&'static Kind> {
    KINDS.iter().find(|k| k.name == name).ok_or(PrivacyError::NotFound("Retention policy"))
}

fn require_privacy(scope: &Scope) -> Result<()> {
    if !scope.handles_privacy() {
        return Err(PrivacyError::Forbidden("only admins and privacy officers manage retention"));
    }
    Ok(())
}

fn view(k: &'static Kind, stored: Option<&RetentionRow>) -> PolicyView {
    PolicyView {
        policy: k.name,
        removes: k.removes,
        value: stored.map(|s| s.value).unwrap_or(k.default),
        unit: k.unit,
        enabled: stored.is_none_or(|s| s.enabled),
        default: k.default,
        min: k.min,
        max: k.max,
        updated_by: stored.map(|s| s.updated_by),
        updated_at: stored.map(|s| s.updated_at.to_iso()),
    }
}

impl Privacy {
    pub(crate) async fn policies_of(&self, c: &mut suoja_store::Conn, tenant: TenantId) -> Result<Vec<PolicyView>> {
        let stored = suoja_store::settings::retention(c, tenant).await?;
        Ok(KINDS.iter().map(|k| view(k, stored.iter().find(|s| s.policy == k.name))).collect())
    }

    /// The tenant's retention policies.
    pub async fn retention_policies(&self, scope: &Scope) -> Result<Vec<PolicyView>> {
        require_privacy(scope)?;
        let mut c = self.hd.db().read().await?;
        self.policies_of(&mut c, scope.tenant).await
    }

    /// Changes one policy's period and/or whether it runs; recorded in the ledger.
    pub async fn set_retention_policy(&self, scope: &Scope, name: &str, value: Option<i64>, enabled: Option<bool>) -> Result<PolicyView> {
        require_privacy(scope)?;
        let k = kind(name)?;
        if value.is_none() && enabled.is_none() {
            return Err(PrivacyError::invalid("policy", "give a value, enabled, or both"));
        }
        if let Some(v) = value
            && !(k.min..=k.max).contains(&v)
        {
            let unit = serde_json::to_value(k.unit)
                .ok()
                .and_then(|u| u.as_str().map(str::to_string))
                .unwrap_or_default();
            return Err(PrivacyError::invalid("value", format!("must be from {} to {} {unit}", k.min, k.max)));
        }
        let now = self.hd.now();
        let mut tx = self.hd.db().begin().await?;
        let current = self.policies_of(&mut tx, scope.tenant).await?.into_iter().find(|p| p.policy == k.name);
        let row = RetentionRow {
            policy: k.name.into(),
            value: value.or(current.as_ref().map(|c| c.value)).unwrap_or(k.default),
            enabled: enabled.or(current.as_ref().map(|c| c.enabled)).unwrap_or(true),
            updated_by: scope.actor.0,
            updated_at: now,
        };
        suoja_store::settings::set_retention(&mut tx, scope.tenant, &row).await?;
        self.record_ledger(
            &mut tx,
            scope.tenant,
            suoja_core::LedgerKind::RetentionChanged,
            None,
            Some(scope.actor.0),
            json!({ "policy": k.name, "value": row.value, "unit": k.unit, "enabled": row.enabled,
                        "previous": current.as_ref().map(|c| json!({"value": c.value, "enabled": c.enabled})) }),
        )
        .await?;
        tx.commit().await?;
        Ok(view(k, Some(&row)))
    }

    /// What a policy would remove now (changes nothing).
    pub async fn retention_preview(&self, scope: &Scope, name: &str) -> Result<Preview> {
        require_privacy(scope)?;
        let k = kind(name)?;
        let mut c = self.hd.db().read().await?;
        let p = self
            .policies_of(&mut c, scope.tenant)
            .await?
            .into_iter()
            .find(|p| p.policy == k.name)
            .ok_or(PrivacyError::NotFound("Retention policy"))?;
        drop(c);
        let cutoff = Timestamp(self.hd.now().0 - p.value * k.unit.ms());
        let (ids, held) = self.candidates(scope.tenant, k.name, cutoff, BATCH + 1).await?;
        let more = ids.len() > suoja_core::num::to_usize(BATCH);
        let ids: Vec<serde_json::Value> = ids.into_iter().take(suoja_core::num::to_usize(BATCH)).collect();
        Ok(Preview {
            policy: k.name,
            enabled: p.enabled,
            cutoff: cutoff.to_iso(),
            count: ids.len(),
            more,
            held,
            ids,
        })
    }

    /// The records a policy finds due, and how many of them a legal hold keeps.
    async fn candidates(&self, tenant: TenantId, policy: &str, cutoff: Timestamp, limit: i64) -> Result<(Vec<serde_json::Value>, usize)> {
        let mut c = self.hd.db().read().await?;
        let store = &mut c;
        let mut held = 0;
        let ids: Vec<serde_json::Value> = match policy {
            "closed_tickets" | "deleted_tickets" => {
                let ids = if policy == "closed_tickets" {
                    suoja_store::retention::closed_tickets(store, tenant, cutoff, limit).await?
                } else {
                    suoja_store::retention::trashed_tickets(store, tenant, cutoff, limit).await?
                };
                for id in &ids {
                    if self.ticket_held(store, tenant, TicketId(*id)).await? {
                        held += 1;
                    }
                }
                ids.into_iter().map(|i| json!(i)).collect()
            }
            "inactive_end_users" | "community_content" => {
                let written = written_in();
                let content = community_content();
                let holding: Vec<(&str, &str, &[&str])> = content.iter().map(|(t, l, c)| (*t, *l, c.as_slice())).collect();
                let activity = suoja_store::retention::Activity {
                    written: &written,
                    holding: if policy == "community_content" { &holding } else { &[] },
                    ..INACTIVE
                };
                let ids = suoja_store::retention::quiet_end_users(store, tenant, cutoff, &activity, limit).await?;
                let holds = suoja_store::holds::active(store, tenant, self.hd.now()).await?;
                held = ids.iter().filter(|id| holds.iter().any(|h| h.subject_id == Some(**id))).count();
                ids.into_iter().map(|i| json!(i)).collect()
            }
            "attachments" | "call_recordings" => {
                let types = ["audio/", "video/"];
                let rows = suoja_store::attachments::older_than(store, tenant, cutoff, &types, policy == "attachments", limit).await?;
                for r in &rows {
                    if let Some(t) = r.ticket_id
                        && self.ticket_held(store, tenant, t).await?
                    {
                        held += 1;
                    }
                }
                rows.into_iter().map(|r| json!(r.id.0)).collect()
            }
            "verification_links" => suoja_store::retention::verification_links(store, tenant, cutoff, limit)
                .await?
                .into_iter()
                .map(|i| json!(i))
                .collect(),
            "export_packages" => suoja_store::retention::export_packages(store, tenant, cutoff, limit)
                .await?
                .into_iter()
                .map(|i| json!(i))
                .collect(),
            // The 30-day periods (by number) whose addresses are due.
            "audit_addresses" => suoja_store::ledger::audit_periods_ended_before(store, tenant, cutoff, limit)
                .await?
                .into_iter()
                .map(|(period, _)| json!(period))
                .collect(),
            _ => return Err(PrivacyError::NotFound("Retention policy")),
        };
        Ok((ids, held))
    }

    /// Applies every enabled policy of every tenant once (the job runner calls this every
    /// scheduler interval). Each policy handles up to 500 records per tenant per run.
    pub async fn run_retention(&self) -> Result<RunReport> {
        let mut report = RunReport::default();
        let tenants = {
            let mut c = self.hd.db().read().await?;
            suoja_store::tenants::ids(&mut c).await?
        };
        for tenant in tenants {
            let policies = {
                let mut c = self.hd.db().read().await?;
                self.policies_of(&mut c, tenant).await?
            };
            for p in policies.iter().filter(|p| p.enabled) {
                let k = kind(p.policy)?;
                let cutoff = Timestamp(self.hd.now().0 - p.value * k.unit.ms());
                let n = self.apply(tenant, k.name, cutoff).await?;
                if n > 0 {
                    report.applied.push((tenant.0, k.name, n));
                    let mut tx = self.hd.db().begin().await?;
                    self.record_ledger(
                        &mut tx,
                        tenant,
                        suoja_core::LedgerKind::RetentionApplied,
                        None,
                        None,
                        json!({ "policy": k.name, "records": n, "cutoff": cutoff.to_iso() }),
                    )
                    .await?;
                    tx.commit().await?;
                    tracing::info!(tenant.id = %tenant, policy = k.name, records = n, "retention policy applied");
                }
            }
        }
        if report.total() > 0 {
            suoja_store::dialect::retire_wal(self.hd.db()).await?;
        }
        Ok(report)
    }

    async fn apply(&self, tenant: TenantId, policy: &'static str, cutoff: Timestamp) -> Result<u64> {
        // Items a legal hold keeps stay due; the window widens past them so they cannot starve
        // the rest.
        let mut limit = BATCH;
        let ids = loop {
            let (ids, held) = self.candidates(tenant, policy, cutoff, limit).await?;
            if suoja_core::num::to_i64(ids.len()) < limit || ids.len() - held >= suoja_core::num::to_usize(BATCH) || limit >= MAX_WINDOW {
                break ids;
            }
            limit *= 4;
        };
        let mut n = 0;
        match policy {
            "closed_tickets" | "deleted_tickets" => {
                for id in ids.iter().filter_map(serde_json::Value::as_i64) {
                    n += u64::from(self.purge_ticket_unless_held(tenant, TicketId(id)).await?);
                }
            }
            "inactive_end_users" => {
                for id in ids.iter().filter_map(serde_json::Value::as_i64) {
                    // The worker runs the erasure (and keeps what a hold covers, as for any erasure).
                    match self.start_erasure(&Scope::operator(tenant), UserId(id), Origin::Retention).await {
                        Ok(_) => n += 1,
                        Err(e) => tracing::warn!(tenant.id = %tenant, user.id = id, error = %e, "retention could not start an erasure"),
                    }
                }
            }
            "community_content" => {
                let ids: Vec<i64> = ids.iter().filter_map(serde_json::Value::as_i64).collect();
                n = self.empty_community_content(tenant, &ids).await?;
            }
            "attachments" | "call_recordings" => {
                for id in ids.iter().filter_map(serde_json::Value::as_i64) {
                    n += u64::from(self.redact_attachment_for_retention(tenant, AttachmentId(id)).await?);
                }
            }
            "verification_links" => {
                let ids: Vec<i64> = ids.iter().filter_map(serde_json::Value::as_i64).collect();
                let mut tx = self.hd.db().begin().await?;
                n = suoja_store::retention::delete_verification_links(&mut tx, tenant, &ids).await?;
                tx.commit().await?;
            }
            "export_packages" => {
                let ids: Vec<String> = ids.iter().filter_map(|v| v.as_str().map(str::to_string)).collect();
                let mut tx = self.hd.db().begin().await?;
                n = suoja_store::retention::delete_export_packages(&mut tx, tenant, &ids).await?;
                tx.commit().await?;
            }
            "audit_addresses" => {
                n = self.forget_audit_addresses(tenant, cutoff, BATCH).await?;
            }
            _ => {}
        }
        Ok(n)
    }

    /// Empties the help center and community rows these people wrote, as an erasure's
    /// tombstones do (the rows keep their place in their threads), unless a legal hold keeps the
    /// person; their export packages, which may hold the text, go too. Returns how many people's
    /// content was emptied.
    async fn empty_community_content(&self, tenant: TenantId, people: &[i64]) -> Result<u64> {
        let content = community_content();
        let mut tx = self.hd.db().begin().await?;
        let holds = suoja_store::holds::active(&mut tx, tenant, self.hd.now()).await?;
        let mut n = 0;
        for p in people.iter().filter(|p| !holds.iter().any(|h| h.subject_id == Some(**p))) {
            let mut emptied = 0;
            for (table, link, columns) in &content {
                emptied += suoja_store::graph::clear_linked(&mut tx, tenant, table, link, &[*p], columns).await?;
            }
            if emptied > 0 {
                suoja_store::exports::delete_for_subject(&mut tx, tenant, *p).await?;
                n += 1;
            }
        }
        tx.commit().await?;
        for (table, _, _) in &content {
            suoja_store::dialect::vacuum_table(self.hd.db(), table).await?;
        }
        Ok(n)
    }
}
