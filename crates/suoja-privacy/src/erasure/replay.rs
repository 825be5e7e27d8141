//! The erasure ledger: one JSON line per completed erasure — tenant id, person id, their data
//! key id, erasure id and time, never a personal value — written when an erasure completes into
//! the database and each node's ledger file (every node copies the others' lines into its own),
//! and copied beside every backup (appended there as erasures complete, and written whole by
//! each `suoja backup` with a checkpoint line naming the backup).
//! Restoring an older backup, or starting a server on a database copied back by hand, replays it
//! before any request is served: every person erased since the copy was made is erased again by
//! the same pipeline, and their data key destroyed, so a restore cannot bring anyone back.

use std::collections::HashSet;
use std::path::Path;

use crate::redaction::{RedactionRecord, TextRedactionRecord};
use serde::{Deserialize, Serialize};
use suoja_core::{KeyId, Scope, TenantId, Timestamp, UserId};

use super::Origin;
use crate::{Privacy, PrivacyError, Result};

/// One completed erasure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Tenant.
    pub tenant_id: i64,
    /// The person erased.
    pub subject_id: i64,
    /// Their data key, destroyed.
    pub key_id: Option<i64>,
    /// The erasure.
    pub erasure_id: i64,
    /// When it completed.
    pub completed_at: String,
    /// Texts where weak matches were replaced because privacy staff accepted them (ids only),
    /// so a replay replaces them again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accepted: Vec<super::plan::Mention>,
}

/// What a replay did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Replay {
    /// Entries read.
    pub entries: usize,
    /// People erased again (they were back in the database).
    pub erased: usize,
    /// Data keys destroyed that had come back without their person.
    pub keys_destroyed: usize,
    /// Entries of tenants this database does not have.
    pub other_tenants: usize,
    /// Redactions applied again (the whole comment, field or file, since the file holds no text).
    pub redactions: usize,
    /// Tenants removed again: they had moved to another region since the copy was made.
    pub tenants_removed: usize,
}

/// A tenant leaving this region for another (`tenant_moved_out`, written when the move has
/// erased it here, or when a cancelled move's copy is removed) or arriving (`tenant_moved_in`,
/// written when it is copied in). The line of a tenant written last decides: a tenant whose
/// last line says it left is removed again when a restore brings it back; one that came back
/// later stays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantMove {
    /// `tenant_moved_out` or `tenant_moved_in`.
    pub kind: String,
    /// The tenant.
    pub tenant_id: i64,
    /// Its subdomain: a restored database that gave the id to another tenant since (a region
    /// on SQLite numbers from its largest row) keeps that one.
    #[serde(default)]
    pub subdomain: String,
    /// The other region (where it went, or where it came from).
    pub region: String,
    /// When (ISO 8601).
    pub at: String,
    /// The highest id this region had given out when the tenant left (the tenant's ids go
    /// with it): a restore never gives these out again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids_given_out: Option<i64>,
}

impl TenantMove {
    /// The line of a tenant that left this region for `to`, when the region had given out ids
    /// up to `ids_given_out`.
    pub fn out(tenant: TenantId, subdomain: &str, to: &str, at: Timestamp, ids_given_out: Option<i64>) -> Self {
        Self {
            kind: "tenant_moved_out".into(),
            tenant_id: tenant.0,
            subdomain: subdomain.into(),
            region: to.into(),
            at: at.to_iso(),
            ids_given_out,
        }
    }

    /// The line of a tenant that arrived in this region from `from`.
    pub fn arrived(tenant: TenantId, subdomain: &str, from: &str, at: Timestamp) -> Self {
        Self {
            kind: "tenant_moved_in".into(),
            tenant_id: tenant.0,
            subdomain: subdomain.into(),
            region: from.into(),
            at: at.to_iso(),
            ids_given_out: None,
        }
    }

    /// The line's text.
    pub fn line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// What a ledger file holds.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    /// Completed erasures.
    pub erasures: Vec<Entry>,
    /// Completed redactions.
    pub redactions: Vec<RedactionRecord>,
    /// Completed redactions of free text outside tickets.
    pub text_redactions: Vec<TextRedactionRecord>,
    /// Tenants that left this region or arrived in it, in the order written.
    pub moves: Vec<TenantMove>,
    /// The newest time any line records (an erasure's completion, a redaction, a backup's
    /// checkpoint): the ledger holds everything completed before it.
    pub newest: Option<Timestamp>,
}

/// The checkpoint line `suoja backup` writes into the ledgers when a backup is complete.
pub fn checkpoint(backup: &str, at: Timestamp) -> serde_json::Value {
    serde_json::json!({ "kind": "checkpoint", "backup": backup, "at": at.to_iso() })
}

/// Reads the file: its erasures, its redactions and its newest time. A missing file is an
/// empty ledger; a line torn by a crash (its JSON cut short) is left out; any other damage is
/// an error naming the line.
pub fn read(path: &Path) -> Result<Ledger> {
    let lines =
        crate::erasure::ledger_file::ledger_lines(path).map_err(|e| PrivacyError::Internal(format!("reading the erasure ledger {}: {e}", path.display())))?;
    read_lines(&lines, &path.display().to_string())
}

/// Reads ledger lines from `origin` (a file's name, or the database): as [`read`].
pub fn read_lines(lines: &[String], origin: &str) -> Result<Ledger> {
    let mut out = Ledger::default();
    let mut seen = |t: Option<Timestamp>| {
        if let Some(t) = t {
            out.newest = Some(out.newest.map_or(t, |n| n.max(t)));
        }
    };
    let (mut erasures, mut redactions, mut text_redactions, mut moves) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (i, line) in lines.iter().enumerate() {
        let bad = |e: serde_json::Error| PrivacyError::Internal(format!("erasure ledger {origin} line {}: {e}", i + 1));
        // A line that ends before its JSON does was torn by a crash in the middle of a write
        // (the next write ended it): it holds nothing to replay. Any other damage is an error.
        let v: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) if e.is_eof() => {
                tracing::warn!(origin = %origin, line = i + 1, "a torn erasure ledger line is left out");
                continue;
            }
            Err(e) => return Err(bad(e)),
        };
        match v.get("kind").and_then(serde_json::Value::as_str) {
            Some("checkpoint") => seen(v.get("at").and_then(serde_json::Value::as_str).and_then(Timestamp::parse)),
            Some("redaction") => {
                let r: RedactionRecord = serde_json::from_value(v).map_err(bad)?;
                seen(Some(Timestamp(r.at)));
                redactions.push(r);
            }
            Some("text_redaction") => {
                let r: TextRedactionRecord = serde_json::from_value(v).map_err(bad)?;
                seen(Some(Timestamp(r.at)));
                text_redactions.push(r);
            }
            Some("tenant_moved_out" | "tenant_moved_in") => {
                let m: TenantMove = serde_json::from_value(v).map_err(bad)?;
                seen(Timestamp::parse(&m.at));
                moves.push(m);
            }
            _ => {
                let e: Entry = serde_json::from_value(v).map_err(bad)?;
                seen(Timestamp::parse(&e.completed_at));
                erasures.push(e);
            }
        }
    }
    out.erasures = erasures;
    out.redactions = redactions;
    out.text_redactions = text_redactions;
    out.moves = moves;
    Ok(out)
}

impl Privacy {
    /// Records a completed erasure in the erasure ledger (the local file and beside every
    /// backup), when one is kept.
    pub(crate) async fn log_erasure(&self, entry: Entry) {
        let line = match serde_json::to_value(&entry) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "encoding an erasure ledger line failed");
                return;
            }
        };
        if let Err(e) = self.log_erasure_lines(&[line]).await {
            // The next start writes it from the database (see `reconcile_erasure_log`).
            tracing::error!(error = %e, "writing the erasure ledger failed; what it could not write is written again by the next copy or start");
        }
    }

    /// Makes the database and the erasure ledger file agree before serving: erasures the file
    /// lists that the database does not hold as completed are run again; completed erasures
    /// missing from the file are appended to it.
    pub async fn reconcile_erasure_log(&self) -> Result<Replay> {
        let Some(path) = self.ledger_file().map(Path::to_path_buf) else {
            return Ok(Replay::default());
        };
        self.merge_erasure_logs().await?;
        let Ledger {
            erasures: entries,
            redactions,
            text_redactions,
            moves,
            ..
        } = read(&path)?;
        // Lines of a tenant that left this region are its own, not those of a tenant given its
        // id since (a restored SQLite region numbers from its largest row): they are left out.
        let others = self.reused_tenant_ids(&moves).await?;
        let entries: Vec<Entry> = entries.into_iter().filter(|e| !others.contains(&e.tenant_id)).collect();
        let redactions: Vec<RedactionRecord> = redactions.into_iter().filter(|r| !others.contains(&r.tenant_id)).collect();
        let text_redactions: Vec<TextRedactionRecord> = text_redactions.into_iter().filter(|r| !others.contains(&r.tenant_id)).collect();
        let mut replay = self.replay_erasures(&entries).await?;
        replay.tenants_removed = self.replay_tenant_moves(&moves).await?;
        for r in &redactions {
            if self.replay_redaction(r).await? {
                replay.redactions += 1;
            }
        }
        for r in &text_redactions {
            if self.replay_text_redaction(r).await? {
                replay.redactions += 1;
            }
        }
        let listed: HashSet<(i64, i64)> = entries.iter().map(|e| (e.tenant_id, e.subject_id)).collect();
        let completed = {
            let mut c = self.hd.db().read().await?;
            suoja_store::erasures::completed(&mut c).await?
        };
        let missing: Vec<Entry> = completed
            .into_iter()
            .filter(|(t, s, _, _)| !listed.contains(&(t.0, *s)))
            .map(|(t, s, id, at)| Entry {
                tenant_id: t.0,
                subject_id: s,
                key_id: None,
                erasure_id: id,
                completed_at: at.to_iso(),
                accepted: Vec::new(),
            })
            .collect();
        let lines: Vec<serde_json::Value> = missing
            .iter()
            .map(serde_json::to_value)
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| PrivacyError::Internal(format!("encoding erasure ledger lines: {e}")))?;
        self.log_erasure_lines(&lines).await?;
        self.sync_ledger_targets().await?;
        Ok(replay)
    }

    /// Tenant ids whose last line in `moves` says a tenant left this region, that this database
    /// now gives to a tenant of another subdomain.
    async fn reused_tenant_ids(&self, moves: &[TenantMove]) -> Result<HashSet<i64>> {
        let mut last: std::collections::BTreeMap<i64, &TenantMove> = std::collections::BTreeMap::new();
        for m in moves {
            last.insert(m.tenant_id, m);
        }
        let mut out = HashSet::new();
        for (id, m) in last {
            if m.kind != "tenant_moved_out" || m.subdomain.is_empty() {
                continue;
            }
            let mut c = self.hd.db().read().await?;
            if suoja_store::tenants::by_id(&mut c, TenantId(id))
                .await?
                .is_some_and(|t| t.subdomain != m.subdomain)
            {
                out.insert(id);
            }
        }
        Ok(out)
    }

    /// Removes again every tenant whose latest line in `moves` says it left this region, when
    /// this database holds it (a restore of a copy older than the move brought it back): all
    /// its rows in one transaction; its files had gone from this region's store with the move.
    /// Then moves the database's ids past those the departed tenants took with them. Returns
    /// how many tenants were removed.
    pub async fn replay_tenant_moves(&self, moves: &[TenantMove]) -> Result<usize> {
        // The line written last decides (lines are in the order written: the database's by
        // row number, a file's as appended), whatever the clocks of the consoles said.
        let mut latest: std::collections::BTreeMap<i64, &TenantMove> = std::collections::BTreeMap::new();
        for m in moves {
            latest.insert(m.tenant_id, m);
        }
        let mut removed = 0;
        for (tenant, m) in latest {
            if m.kind != "tenant_moved_out" {
                continue;
            }
            let tenant = TenantId(tenant);
            let present = {
                let mut c = self.hd.db().read().await?;
                suoja_store::tenants::by_id(&mut c, tenant).await?
            };
            // Only the tenant that left: one that has its id now (and another subdomain) stays.
            if !present.is_some_and(|t| m.subdomain.is_empty() || t.subdomain == m.subdomain) {
                continue;
            }
            let tables = suoja_store::relocation::all_tenant_tables(self.hd.db()).await?;
            let mut tx = self.hd.db().begin().await?;
            for t in &tables {
                suoja_store::relocation::delete(&mut tx, tenant, t).await?;
            }
            tx.commit().await?;
            self.hd.vault().forget_cached(tenant);
            tracing::info!(tenant.id = %tenant, region = %m.region, "a tenant that had moved to another region was removed again after a restore");
            removed += 1;
        }
        if removed > 0 {
            suoja_store::dialect::retire_wal(self.hd.db()).await?;
        }
        // Ids the region gave out before a tenant left went with it: a database taken back in
        // time by a restore gives none of them out again.
        let floor = moves.iter().filter_map(|m| m.ids_given_out).max().unwrap_or(0);
        let raised = suoja_store::relocation::raise_ids(self.hd.db(), floor).await?;
        if raised > 0 {
            tracing::info!(sequences = raised, "ids given out before tenants moved away are not given out again");
        }
        Ok(removed)
    }

    /// Erases again everyone in `entries` whom this database still holds, and destroys their
    /// data keys. Runs each erasure to its end (or to its legal holds) before returning.
    pub async fn replay_erasures(&self, entries: &[Entry]) -> Result<Replay> {
        let mut out = Replay {
            entries: entries.len(),
            ..Replay::default()
        };
        if entries.is_empty() {
            return Ok(out);
        }
        let (tenants, done) = {
            let mut c = self.hd.db().read().await?;
            let tenants: HashSet<i64> = suoja_store::tenants::ids(&mut c).await?.into_iter().map(|t| t.0).collect();
            let done: HashSet<(i64, i64)> = suoja_store::erasures::completed(&mut c)
                .await?
                .into_iter()
                .map(|(t, s, _, _)| (t.0, s))
                .collect();
            (tenants, done)
        };
        for e in entries {
            if !tenants.contains(&e.tenant_id) {
                out.other_tenants += 1;
                continue;
            }
            let tenant = TenantId(e.tenant_id);
            let present = {
                let mut c = self.hd.db().read().await?;
                suoja_store::users::by_id(&mut c, tenant, UserId(e.subject_id)).await?.is_some()
            };
            if present && !done.contains(&(e.tenant_id, e.subject_id)) {
                let row = self
                    .erase_with(&Scope::operator(tenant), UserId(e.subject_id), Origin::Replay, e.accepted.clone())
                    .await?;
                tracing::info!(tenant.id = %tenant, erasure.id = row.id, state = row.state.as_str(), "erasure replayed after a restore");
                out.erased += 1;
            }
            if let Some(k) = e.key_id {
                let mut tx = self.hd.db().begin().await?;
                if self.hd.vault().destroy_subject_key(&mut tx, tenant, KeyId(k)).await? {
                    out.keys_destroyed += 1;
                }
                tx.commit().await?;
                self.hd.vault().forget_cached(tenant);
            }
        }
        if out.erased + out.keys_destroyed > 0 {
            suoja_store::dialect::retire_wal(self.hd.db()).await?;
        }
        Ok(out)
    }
}

/// The entry for an erasure that just completed.
pub(crate) fn entry(tenant: TenantId, subject: i64, key: Option<i64>, erasure: i64, at: Timestamp) -> Entry {
    Entry {
        tenant_id: tenant.0,
        subject_id: subject,
        key_id: key,
        erasure_id: erasure,
        completed_at: at.to_iso(),
        accepted: Vec::new(),
    }
}
