//! The erasure ledger file: completed erasures and redactions by id only, kept in the data
//! directory and beside every backup, so that a restore of an older backup applies them again
//! (see `replay.rs`). A line is written once its erasure or redaction has committed.

use crate::{Privacy, PrivacyError, Result};

/// The erasure ledger's file name inside a backup directory.
pub const TARGET_LEDGER: &str = "erasure-ledger.jsonl";

/// Where completed erasures and redactions are written (ids only): the data directory's
/// ledger file, and the ledger kept beside every backup — the configured backup directories
/// and every directory `suoja backup` has written to — so that whoever holds a backup
/// directory and the root key can restore without bringing anyone back.
#[derive(Debug, Clone)]
pub struct ErasureLog {
    /// The data directory's ledger file.
    pub local: std::path::PathBuf,
    /// Backup directories named in the configuration.
    pub targets: Vec<std::path::PathBuf>,
}

/// Appends JSON lines to an erasure ledger file (creating it and its directory) and syncs it.
pub fn append_ledger_lines(path: &std::path::Path, lines: &[serde_json::Value]) -> std::io::Result<()> {
    use std::io::Write as _;
    if lines.is_empty() {
        return Ok(());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        suoja_store::files::private_dir_all(dir)?;
    }
    let mut buf = Vec::new();
    for l in lines {
        serde_json::to_writer(&mut buf, l)?;
        buf.push(b'\n');
    }
    let mut f = suoja_store::files::append_private(path)?;
    f.write_all(&buf)?;
    f.sync_all()
}

/// The lines of a ledger file (none when it does not exist).
pub fn ledger_lines(path: &std::path::Path) -> std::io::Result<Vec<String>> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(t.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Appends to `path` every line of `lines` it does not hold yet; returns how many.
pub fn merge_ledger_lines(path: &std::path::Path, lines: &[String]) -> std::io::Result<usize> {
    let have: std::collections::HashSet<String> = ledger_lines(path)?.into_iter().collect();
    let missing: Vec<serde_json::Value> = lines
        .iter()
        .filter(|l| !have.contains(*l))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    append_ledger_lines(path, &missing)?;
    Ok(missing.len())
}

impl Privacy {
    /// The backup directories whose ledger follows the local one: the configured ones and
    /// those registered by `suoja backup`.
    pub async fn ledger_targets(&self) -> Result<Vec<std::path::PathBuf>> {
        let Some(log) = &self.erasure_log else { return Ok(Vec::new()) };
        let mut out = log.targets.clone();
        let mut c = self.hd.db().read().await?;
        for p in suoja_store::backup_targets::list(&mut c).await? {
            let p = std::path::PathBuf::from(p);
            if !out.contains(&p) {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// Writes lines to the erasure ledger: the local file first (its failure is the caller's
    /// error), then each backup directory's copy (a failure there is logged; the next start or
    /// backup brings that copy up to date).
    pub async fn log_erasure_lines(&self, lines: &[serde_json::Value]) -> Result<()> {
        let Some(log) = &self.erasure_log else { return Ok(()) };
        append_ledger_lines(&log.local, lines).map_err(|e| PrivacyError::Internal(format!("writing the erasure ledger file: {e}")))?;
        for dir in self.ledger_targets().await? {
            if let Err(e) = append_ledger_lines(&dir.join(TARGET_LEDGER), lines) {
                tracing::error!(error = %e, target = %dir.display(), "writing the erasure ledger beside a backup failed; it is brought up to date at the next start or backup");
            }
        }
        Ok(())
    }

    /// Makes every backup directory's ledger hold each line of the local one. Returns how many
    /// lines were added.
    pub async fn sync_ledger_targets(&self) -> Result<usize> {
        let Some(log) = &self.erasure_log else { return Ok(0) };
        let lines = ledger_lines(&log.local).map_err(|e| PrivacyError::Internal(format!("reading the erasure ledger file: {e}")))?;
        let mut added = 0;
        for dir in self.ledger_targets().await? {
            match merge_ledger_lines(&dir.join(TARGET_LEDGER), &lines) {
                Ok(n) => added += n,
                Err(e) => tracing::error!(error = %e, target = %dir.display(), "bringing the erasure ledger beside a backup up to date failed"),
            }
        }
        Ok(added)
    }
}
