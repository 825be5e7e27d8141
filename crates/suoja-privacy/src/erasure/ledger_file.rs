//! The erasure ledger: completed erasures and redactions by id only, kept in the database, in
//! each node's ledger file and beside every backup, so that a restore of an older backup applies
//! them again (see `replay.rs`). A line is written once its erasure or redaction has committed;
//! every node copies the lines other nodes wrote into its own file within seconds
//! ([`Privacy::sync_erasure_log`]), so no node's disk holds the only record of an erasure and
//! any node can replay the whole ledger.

use crate::{Privacy, PrivacyError, Result};

/// The erasure ledger's file name inside a backup directory.
pub const TARGET_LEDGER: &str = "erasure-ledger.jsonl";

/// Where completed erasures and redactions are written (ids only): the data directory's
/// ledger file, and the ledger kept beside every backup — the configured backup directories
/// and every directory `suoja backup` has written to — so that whoever holds a backup
/// directory and the root key can restore without bringing anyone back.
#[derive(Debug)]
pub struct ErasureLog {
    /// The data directory's ledger file.
    pub local: std::path::PathBuf,
    /// Backup directories named in the configuration.
    pub targets: Vec<std::path::PathBuf>,
    /// The database's ledger row up to which the local file holds every line.
    synced: std::sync::atomic::AtomicI64,
    /// Digests of lines this node wrote (to its file already) since the last copy from the
    /// database, which therefore skips them.
    written_here: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl ErasureLog {
    /// The ledger kept in `local` and beside the backups in `targets`.
    pub fn new(local: std::path::PathBuf, targets: Vec<std::path::PathBuf>) -> Self {
        Self {
            local,
            targets,
            synced: std::sync::atomic::AtomicI64::new(0),
            written_here: std::sync::Mutex::default(),
        }
    }

    fn note_written(&self, digests: impl IntoIterator<Item = String>) {
        if let Ok(mut w) = self.written_here.lock() {
            w.extend(digests);
        }
    }
}

/// Lines as the ledger keeps them: one compact JSON text each.
fn as_lines(lines: &[serde_json::Value]) -> Vec<String> {
    lines.iter().map(serde_json::Value::to_string).collect()
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

    /// Writes lines to the erasure ledger: the local file first, then the database (a failure
    /// of either is the caller's error), then each backup directory's copy (a failure there is
    /// logged; the next start or backup brings that copy up to date).
    pub async fn log_erasure_lines(&self, lines: &[serde_json::Value]) -> Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        let texts = as_lines(lines);
        // This node's file first (it is on this disk; a database that is away now gets the
        // lines from the file at the next start), then the database, then beside the backups.
        if let Some(log) = &self.erasure_log {
            log.note_written(texts.iter().map(|l| suoja_store::erasure_log::digest(l)));
            append_ledger_lines(&log.local, lines).map_err(|e| PrivacyError::Internal(format!("writing the erasure ledger file: {e}")))?;
        }
        {
            let mut tx = self.hd.db().begin().await?;
            suoja_store::erasure_log::append(&mut tx, &texts, self.hd.now()).await?;
            tx.commit().await?;
        }
        if self.erasure_log.is_none() {
            return Ok(());
        }
        for dir in self.ledger_targets().await? {
            if let Err(e) = append_ledger_lines(&dir.join(TARGET_LEDGER), lines) {
                tracing::error!(error = %e, target = %dir.display(), "writing the erasure ledger beside a backup failed; it is brought up to date at the next start or backup");
            }
        }
        Ok(())
    }

    /// Copies into this node's ledger file the lines other nodes wrote into the database's
    /// ledger since the last copy. Returns how many.
    pub async fn sync_erasure_log(&self) -> Result<usize> {
        let Some(log) = &self.erasure_log else { return Ok(0) };
        let mut copied = 0;
        loop {
            let from = log.synced.load(std::sync::atomic::Ordering::Acquire);
            let rows = {
                let mut c = self.hd.db().read().await?;
                suoja_store::erasure_log::after(&mut c, from, 1000).await?
            };
            let Some(last) = rows.last().map(|(id, _)| *id) else { break };
            let theirs: Vec<serde_json::Value> = {
                let mut mine = log
                    .written_here
                    .lock()
                    .map_err(|_| PrivacyError::Internal("the ledger's lock was poisoned".into()))?;
                rows.iter()
                    .filter(|(_, line)| !mine.remove(&suoja_store::erasure_log::digest(line)))
                    .filter_map(|(_, line)| serde_json::from_str(line).ok())
                    .collect()
            };
            append_ledger_lines(&log.local, &theirs).map_err(|e| PrivacyError::Internal(format!("writing the erasure ledger file: {e}")))?;
            copied += theirs.len();
            log.synced.store(last, std::sync::atomic::Ordering::Release);
        }
        Ok(copied)
    }

    /// Makes the database's ledger and this node's file hold the same lines (at start, before
    /// the file is replayed): lines only the database has are appended to the file, lines only
    /// the file has (the database was put back from an older copy) are written to the database.
    pub(crate) async fn merge_erasure_logs(&self) -> Result<()> {
        let Some(log) = &self.erasure_log else { return Ok(()) };
        let in_file: std::collections::HashSet<String> = ledger_lines(&log.local)
            .map_err(|e| PrivacyError::Internal(format!("reading the erasure ledger file: {e}")))?
            .into_iter()
            .collect();
        let (mut in_db, mut last) = (std::collections::HashSet::new(), 0);
        let mut only_db = Vec::new();
        loop {
            let rows = {
                let mut c = self.hd.db().read().await?;
                suoja_store::erasure_log::after(&mut c, last, 10_000).await?
            };
            let Some(end) = rows.last().map(|(id, _)| *id) else { break };
            last = end;
            for (_, line) in rows {
                if !in_file.contains(&line) {
                    only_db.extend(serde_json::from_str::<serde_json::Value>(&line).ok());
                }
                in_db.insert(line);
            }
        }
        append_ledger_lines(&log.local, &only_db).map_err(|e| PrivacyError::Internal(format!("writing the erasure ledger file: {e}")))?;
        let only_file: Vec<String> = in_file.into_iter().filter(|l| !in_db.contains(l)).collect();
        for chunk in only_file.chunks(1000) {
            let mut tx = self.hd.db().begin().await?;
            suoja_store::erasure_log::append(&mut tx, chunk, self.hd.now()).await?;
            tx.commit().await?;
        }
        // Rows written from the file just now are in the file already.
        let newest = {
            let mut c = self.hd.db().read().await?;
            let mut newest = last;
            loop {
                let rows = suoja_store::erasure_log::after(&mut c, newest, 10_000).await?;
                match rows.last() {
                    Some((id, _)) => newest = *id,
                    None => break,
                }
            }
            newest
        };
        log.synced.store(newest, std::sync::atomic::Ordering::Release);
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
