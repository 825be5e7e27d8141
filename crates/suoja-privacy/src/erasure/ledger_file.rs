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
    /// Lines written to the database in the last [`WINDOW_MS`] that this node's file holds
    /// (it wrote them, or copied them): digest → when noted. The copy reads the database's
    /// lines of that window, not the ones after a row number, because a row numbered lower may
    /// commit later than one numbered higher, and numbers skip.
    recent: std::sync::Mutex<std::collections::HashMap<String, i64>>,
    /// Lines the database did not take when they were written (it was away): written again by
    /// the next copy.
    unsent: std::sync::Mutex<Vec<String>>,
    /// When the last copy that read the database started (this node's clock, ms; 0: none
    /// yet). The next copy reads from a window before it, however long ago that was (a node
    /// paused, or busy with a long sweep, misses nothing).
    copied_from: std::sync::atomic::AtomicI64,
}

/// How far before the last copy's start each copy reads the database's ledger: longer than
/// any transaction writing a line takes to commit, and than the nodes' clocks differ.
const WINDOW_MS: i64 = 120_000;

/// How much of the end of its own file a node reads before copying lines into it (lines
/// another process on the same data directory wrote there, such as `suoja retention run`).
const TAIL_BYTES: u64 = 256 * 1024;

impl ErasureLog {
    /// The ledger kept in `local` and beside the backups in `targets`.
    pub fn new(local: std::path::PathBuf, targets: Vec<std::path::PathBuf>) -> Self {
        Self {
            local,
            targets,
            recent: std::sync::Mutex::default(),
            unsent: std::sync::Mutex::default(),
            copied_from: std::sync::atomic::AtomicI64::new(0),
        }
    }

    fn note(&self, lines: &[String], now: i64) {
        let mut recent = self.recent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for l in lines {
            recent.insert(suoja_store::erasure_log::digest(l), now);
        }
    }

    fn noted(&self, line: &str) -> bool {
        self.recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains_key(&suoja_store::erasure_log::digest(line))
    }
}

/// The lines at the end of a ledger file (its last [`TAIL_BYTES`]).
fn tail_lines(path: &std::path::Path) -> std::io::Result<std::collections::HashSet<String>> {
    use std::io::{Read as _, Seek as _};
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(std::collections::HashSet::new()),
        Err(e) => return Err(e),
    };
    let len = f.metadata()?.len();
    f.seek(std::io::SeekFrom::Start(len.saturating_sub(TAIL_BYTES)))?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf).lines().map(str::to_string).collect())
}

/// Whether a line is a JSON object (a torn or foreign line is not copied anywhere).
fn well_formed(line: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(line).is_ok_and(|v| v.is_object())
}

/// An error of reading or writing this node's ledger file.
fn file_error(doing: &'static str) -> impl Fn(std::io::Error) -> PrivacyError {
    move |e| PrivacyError::Internal(format!("{doing} the erasure ledger file: {e}"))
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
    // A file whose last line was torn (a crash in the middle of a write) gets its own line
    // ended first, so no new line is glued to it.
    if !ends_with_newline(path)? {
        buf.push(b'\n');
    }
    for l in lines {
        serde_json::to_writer(&mut buf, l)?;
        buf.push(b'\n');
    }
    let mut f = suoja_store::files::append_private(path)?;
    f.write_all(&buf)?;
    f.sync_all()
}

/// Whether a file is empty, missing, or ends with a newline.
fn ends_with_newline(path: &std::path::Path) -> std::io::Result<bool> {
    use std::io::{Read as _, Seek as _};
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(true),
        Err(e) => return Err(e),
    };
    let len = f.metadata()?.len();
    if len == 0 {
        return Ok(true);
    }
    f.seek(std::io::SeekFrom::Start(len - 1))?;
    let mut last = [0u8; 1];
    f.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

/// The lines of a ledger file (none when it does not exist). A last line that is not whole
/// JSON and has no newline was torn by a crash in the middle of a write: it is left out (a
/// completed erasure is written again from the erasures table at the next start).
pub fn ledger_lines(path: &std::path::Path) -> std::io::Result<Vec<String>> {
    match std::fs::read_to_string(path) {
        Ok(t) => {
            let mut lines: Vec<String> = t.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect();
            if !t.is_empty() && !t.ends_with('\n') && lines.last().is_some_and(|l| !well_formed(l)) {
                tracing::warn!(file = %path.display(), "the erasure ledger file ends in a torn line; it is left out");
                lines.pop();
            }
            Ok(lines)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Appends to `path` every line of `lines` it does not hold yet; returns how many.
pub fn merge_ledger_lines(path: &std::path::Path, lines: &[String]) -> std::io::Result<usize> {
    let mut have: std::collections::HashSet<String> = ledger_lines(path)?.into_iter().collect();
    let missing: Vec<serde_json::Value> = lines
        .iter()
        .filter(|l| have.insert((*l).clone()))
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
    /// error), then beside each backup (a failure there is logged; the next start or backup
    /// brings that copy up to date), then the database (when it is away, the lines are kept
    /// and written by the next copy, [`Privacy::sync_erasure_log`]; the caller hears of it).
    pub async fn log_erasure_lines(&self, lines: &[serde_json::Value]) -> Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        let texts = as_lines(lines);
        if let Some(log) = &self.erasure_log {
            append_ledger_lines(&log.local, lines).map_err(file_error("writing"))?;
            log.note(&texts, self.hd.now().0);
            match self.ledger_targets().await {
                Ok(dirs) => {
                    for dir in dirs {
                        if let Err(e) = append_ledger_lines(&dir.join(TARGET_LEDGER), lines) {
                            tracing::error!(error = %e, target = %dir.display(), "writing the erasure ledger beside a backup failed; it is brought up to date at the next start or backup");
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "finding the backup directories failed; their ledgers are brought up to date at the next start or backup")
                }
            }
        }
        if let Err(e) = self.write_ledger_rows(&texts).await {
            if let Some(log) = &self.erasure_log {
                log.unsent.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend(texts);
            }
            return Err(e);
        }
        Ok(())
    }

    async fn write_ledger_rows(&self, texts: &[String]) -> Result<()> {
        let mut tx = self.hd.db().begin().await?;
        suoja_store::erasure_log::append(&mut tx, texts, self.hd.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Brings the ledger up to date between nodes: writes to the database the lines it did not
    /// take before, then copies into this node's file the lines other nodes (or other
    /// processes) wrote into the database lately. Returns how many lines were copied.
    pub async fn sync_erasure_log(&self) -> Result<usize> {
        let Some(log) = &self.erasure_log else { return Ok(0) };
        let unsent = std::mem::take(&mut *log.unsent.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        if !unsent.is_empty()
            && let Err(e) = self.write_ledger_rows(&unsent).await
        {
            log.unsent.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend(unsent);
            return Err(e);
        }
        let now = self.hd.now().0;
        let last = log.copied_from.load(std::sync::atomic::Ordering::Acquire);
        let from = if last > 0 { last.min(now) } else { now } - WINDOW_MS;
        let rows = {
            let mut c = self.hd.db().read().await?;
            suoja_store::erasure_log::since(&mut c, suoja_core::Timestamp(from)).await?
        };
        let mut fresh: Vec<String> = rows.into_iter().filter(|l| !log.noted(l) && well_formed(l)).collect();
        fresh.dedup();
        if !fresh.is_empty() {
            let tail = tail_lines(&log.local).map_err(file_error("reading"))?;
            let (already, missing): (Vec<String>, Vec<String>) = fresh.into_iter().partition(|l| tail.contains(l));
            log.note(&already, now);
            let values: Vec<serde_json::Value> = missing.iter().filter_map(|l| serde_json::from_str(l).ok()).collect();
            append_ledger_lines(&log.local, &values).map_err(file_error("writing"))?;
            log.note(&missing, now);
            fresh = missing;
        }
        log.copied_from.store(now, std::sync::atomic::Ordering::Release);
        // Notes older than any window a copy can still read are dropped.
        log.recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|_, at| *at >= from - WINDOW_MS);
        Ok(fresh.len())
    }

    /// Makes the database's ledger and this node's file hold the same lines (at start, before
    /// the file is replayed): lines only the database has are appended to the file, lines only
    /// the file has (the database was put back from an older copy) are written to the database.
    /// A line that is not a JSON object (torn by a crash) is copied nowhere.
    pub(crate) async fn merge_erasure_logs(&self) -> Result<()> {
        let Some(log) = &self.erasure_log else { return Ok(()) };
        let in_file: std::collections::HashSet<String> = ledger_lines(&log.local).map_err(file_error("reading"))?.into_iter().collect();
        let db_lines = {
            let mut c = self.hd.db().read().await?;
            suoja_store::erasure_log::all(&mut c).await?
        };
        // In the order written, as the other nodes' files have them.
        let only_db: Vec<serde_json::Value> = db_lines
            .iter()
            .filter(|l| !in_file.contains(*l))
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok().filter(serde_json::Value::is_object))
            .collect();
        append_ledger_lines(&log.local, &only_db).map_err(file_error("writing"))?;
        let in_db: std::collections::HashSet<String> = db_lines.into_iter().collect();
        let only_file: Vec<String> = in_file.iter().filter(|l| !in_db.contains(*l) && well_formed(l)).cloned().collect();
        for chunk in only_file.chunks(1000) {
            self.write_ledger_rows(chunk).await?;
        }
        // Lines of the recent window the file now holds; any other (a line another node
        // committed meanwhile) is copied by the next sync.
        let now = self.hd.now().0;
        let recent = {
            let mut c = self.hd.db().read().await?;
            suoja_store::erasure_log::since(&mut c, suoja_core::Timestamp(now - WINDOW_MS)).await?
        };
        let held: Vec<String> = recent.into_iter().filter(|l| in_file.contains(l) || in_db.contains(l)).collect();
        log.note(&held, now);
        log.copied_from.store(now, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    /// Makes every backup directory's ledger hold each line of the local one. Returns how many
    /// lines were added.
    pub async fn sync_ledger_targets(&self) -> Result<usize> {
        let Some(log) = &self.erasure_log else { return Ok(0) };
        let lines = ledger_lines(&log.local).map_err(file_error("reading"))?;
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
