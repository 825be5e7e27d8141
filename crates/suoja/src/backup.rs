//! Backups and restore (invariant 4: erasure reaches backups).
//!
//! `suoja backup --to DIR` takes a consistent copy of the live database while the server runs
//! (SQLite: one read transaction of the live file; PostgreSQL: one `REPEATABLE READ` snapshot),
//! leaves out the search index, and writes two encrypted files under keys derived from the root
//! key:
//!
//! - `DIR/<id>/data.suoja` — every record, with `manifest.json` (sizes, SHA-256, row counts,
//!   authenticated with the root key);
//! - `DIR/key-vault/<id>.keys.suoja` — the key vault alone, kept separately and deleted after
//!   `key_backup_days` (default 7) by every backup run and by `suoja backup prune`. A person's
//!   data in any older backup is then unreadable once their key is destroyed.
//!
//! - `DIR/erasure-ledger.jsonl` — the erasure ledger (completed erasures and redactions, ids
//!   only): every backup writes it whole with a checkpoint line naming itself, and the server
//!   appends to it as erasures and redactions complete (the directory is registered in the
//!   database), so the backup directory and the root key are all a restore needs.
//!
//! `suoja restore --from DIR/<id>` decrypts and checks everything before touching the target,
//! refuses a non-empty target unless `--force`, refuses a backup newer than the newest erasure
//! ledger it can find (the data directory's and the backup directory's) unless told to take that
//! risk, puts the records and keys back, replays the ledger (everyone erased since the backup is
//! erased again) and rebuilds the search index — all before any server can serve the data.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use suoja_config::Settings;
use suoja_core::Timestamp;
use suoja_vault::Vault;
use suoja_vault::stream::FileKey;

/// What a backup copies, from the data map: derived tables are left out (a restore rebuilds
/// them), the tables of keys wrapped under tenant keys go into the separate key vault file.
fn layout() -> suoja_store::backup::Layout {
    use suoja_privacy::datamap::{Category, Storage, TABLES};
    suoja_store::backup::Layout {
        derived: TABLES.iter().filter(|t| t.derived).map(|t| t.name).collect(),
        vault: TABLES
            .iter()
            .filter(|t| t.columns.iter().any(|c| c.category == Category::Key && c.storage == Storage::TenantSealed))
            .map(|t| t.name)
            .collect(),
    }
}

/// The manifest's format name.
const FORMAT: &str = "suoja-backup";
/// Folder (inside the backup directory) of the key-vault backups.
pub const KEY_VAULT_DIR: &str = "key-vault";

/// One encrypted file of a backup.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileEntry {
    /// Path relative to the backup's own directory.
    pub file: String,
    /// SHA-256 of the encrypted file.
    pub sha256: String,
    /// Plaintext bytes.
    pub bytes: u64,
}

/// What a backup holds, authenticated with the root key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// Always `suoja-backup`.
    pub format: String,
    /// Format version.
    pub version: u32,
    /// The backup's id (its creation time and a random suffix).
    pub id: String,
    /// Engine it was taken from.
    pub engine: String,
    /// When.
    pub created_at: String,
    /// Schema version of the records.
    pub schema_version: i64,
    /// The records.
    pub data: FileEntry,
    /// The key vault (relative path into `key-vault/`).
    pub keys: FileEntry,
    /// When the key-vault file is deleted.
    pub keys_expire_at: String,
    /// Rows per table.
    pub rows: Vec<(String, u64)>,
    /// HMAC of the manifest without this field, hex.
    #[serde(default)]
    pub tag: String,
}

impl Manifest {
    fn body(&self) -> anyhow::Result<Vec<u8>> {
        let mut m = self.clone();
        m.tag.clear();
        Ok(serde_json::to_vec(&m)?)
    }

    fn seal(&mut self, vault: &Vault) -> anyhow::Result<()> {
        self.tag = hex::encode(vault.backup_tag(&self.id, &self.body()?));
        Ok(())
    }

    fn check(&self, vault: &Vault) -> anyhow::Result<()> {
        if self.format != FORMAT || self.version != 1 {
            bail!("not a Suoja backup (format {} version {})", self.format, self.version);
        }
        let want = vault.backup_tag(&self.id, &self.body()?);
        if hex::decode(&self.tag).ok().as_deref() != Some(want.as_slice()) {
            bail!("the manifest was altered or the backup belongs to another installation (its root key differs)");
        }
        Ok(())
    }
}

fn bar(len: u64, what: &str) -> indicatif::ProgressBar {
    let b = indicatif::ProgressBar::new(len.max(1));
    b.set_style(
        indicatif::ProgressStyle::with_template("  {msg:10} {bar:40} {bytes}/{total_bytes} {bytes_per_sec}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    b.set_message(what.to_string());
    b
}

/// Seals `src` into `dst`; returns the entry (hash of the sealed bytes).
fn seal_file(key: &FileKey, role: &str, src: &Path, dst: &Path, rel: &str) -> anyhow::Result<FileEntry> {
    let len = std::fs::metadata(src)?.len();
    let progress = bar(len, role);
    let mut input = BufReader::with_capacity(1 << 20, std::fs::File::open(src)?);
    let out = suoja_store::files::create_private(dst).with_context(|| format!("creating {}", dst.display()))?;
    let mut hashing = HashWriter {
        inner: BufWriter::with_capacity(1 << 20, out),
        hash: Sha256::new(),
    };
    let bytes = suoja_vault::stream::seal(key, role, &mut input, &mut hashing, &mut |n| progress.set_position(n))?;
    hashing.inner.flush()?;
    hashing.inner.get_ref().sync_all()?;
    progress.finish_and_clear();
    Ok(FileEntry {
        file: rel.to_string(),
        sha256: hex::encode(hashing.hash.finalize()),
        bytes,
    })
}

/// Opens a sealed file into `dst`, checking its hash and size against `entry`.
fn open_file(key: &FileKey, role: &str, src: &Path, dst: &Path, entry: &FileEntry) -> anyhow::Result<()> {
    let f = std::fs::File::open(src).with_context(|| format!("opening {}", src.display()))?;
    let progress = bar(entry.bytes, role);
    let mut reading = HashReader {
        inner: BufReader::with_capacity(1 << 20, f),
        hash: Sha256::new(),
    };
    let mut out = BufWriter::with_capacity(1 << 20, suoja_store::files::create_private(dst)?);
    let bytes = suoja_vault::stream::open(key, role, &mut reading, &mut out, &mut |n| progress.set_position(n))
        .with_context(|| format!("{} is damaged or truncated", src.display()))?;
    out.flush()?;
    progress.finish_and_clear();
    if hex::encode(reading.hash.finalize()) != entry.sha256 || bytes != entry.bytes {
        bail!("{} does not match its manifest (size or SHA-256)", src.display());
    }
    Ok(())
}

struct HashWriter<W> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(buf.get(..n).unwrap_or(buf));
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

struct HashReader<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for HashReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(buf.get(..n).unwrap_or(buf));
        Ok(n)
    }
}

fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut hashing = HashWriter {
        inner: std::io::sink(),
        hash: Sha256::new(),
    };
    std::io::copy(&mut BufReader::new(std::fs::File::open(path)?), &mut hashing)?;
    Ok(hex::encode(hashing.hash.finalize()))
}

/// A scratch directory removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn new_id(now: Timestamp) -> String {
    let t = jiff::Timestamp::from_millisecond(now.0).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let suffix = suoja_core::random::hex_id();
    format!("{}-{}", t.strftime("%Y%m%dT%H%M%SZ"), suffix.get(..8).unwrap_or("0"))
}

/// When a backup id says it was taken.
fn id_time(id: &str) -> Option<Timestamp> {
    let stamp = id.split('-').next()?;
    let t = jiff::civil::DateTime::strptime("%Y%m%dT%H%M%SZ", stamp).ok()?;
    let ts = jiff::tz::TimeZone::UTC.to_timestamp(t).ok()?;
    Some(Timestamp(ts.as_millisecond()))
}

/// What `suoja backup` did.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Where the backup is.
    pub dir: PathBuf,
    /// The manifest.
    pub manifest: Manifest,
    /// Key-vault backups deleted because they expired.
    pub pruned: Vec<PathBuf>,
    /// The erasure ledger kept beside the backups.
    pub ledger: PathBuf,
}

/// Takes a backup of the database `settings` names into `root/<id>/`.
pub async fn backup(settings: &Settings, root: &Path) -> anyhow::Result<Summary> {
    let vault = Vault::new(crate::app::load_root_key(settings)?);
    let now = Timestamp(jiff::Timestamp::now().as_millisecond());
    let id = new_id(now);
    let dir = root.join(&id);
    let keys_dir = root.join(KEY_VAULT_DIR);
    suoja_store::files::private_dir_all(&keys_dir).with_context(|| format!("creating {}", keys_dir.display()))?;
    let scratch = Scratch(root.join(format!(".partial-{id}")));
    suoja_store::files::private_dir_all(&scratch.0)?;
    let (data_db, keys_db) = (scratch.0.join("data.db"), scratch.0.join("keys.db"));
    let rows_bar = indicatif::ProgressBar::new_spinner();
    rows_bar.set_message("copying a consistent snapshot");
    let (rows, schema_version, engine) =
        suoja_store::backup::snapshot(&settings.database_url(), &data_db, &keys_db, &layout(), &mut |n| rows_bar.set_position(n))
            .await
            .context("copying the database")?;
    rows_bar.finish_and_clear();
    // Files in the blob store go into the backup with their rows, from the server's store
    // (checked as every process checks it). A blob not found whose row the live database still
    // names is lost: the backup goes on without it and says so.
    let blobs = crate::app::open_blobs(settings)?;
    let live = suoja_store::Db::connect(&settings.database_url(), &suoja_store::DbOptions::default()).await?;
    let checked = blobs.check_against(&live, &crate::app::blob_store_mark(&vault)).await;
    if let Err(e) = checked {
        live.close().await;
        return Err(anyhow::Error::new(e).context("checking blob_url against the database; no backup was written"));
    }
    let inlined = suoja_store::backup::inline_blobs(&data_db, &blobs).await;
    let lost = match &inlined {
        Ok((_, missing)) if !missing.is_empty() => suoja_store::backup::still_named(&live, missing).await,
        _ => Ok(Vec::new()),
    };
    live.close().await;
    let (inlined, lost) = (inlined.context("copying files from the blob store")?.0, lost?);
    if !lost.is_empty() {
        tracing::warn!(
            files = lost.len(),
            "files the database names are missing from the blob store; the backup holds them empty"
        );
        eprintln!(
            "warning: {} file(s) the database names are missing from {}; the backup holds them empty",
            lost.len(),
            blobs.describe()
        );
    }
    if inlined > 0 {
        tracing::info!(files = inlined, "files copied from the blob store into the backup");
    }
    let engine = match engine {
        suoja_store::Engine::Sqlite => "sqlite",
        suoja_store::Engine::Postgres => "postgres",
    };
    let key = vault.backup_key(&id);
    suoja_store::files::private_dir_all(&dir)?;
    let data = seal_file(&key, "data", &data_db, &scratch.0.join("data.suoja"), "data.suoja")?;
    let keys_name = format!("{id}.keys.suoja");
    let keys = seal_file(&key, "keys", &keys_db, &keys_dir.join(&keys_name), &format!("../{KEY_VAULT_DIR}/{keys_name}"))?;
    std::fs::rename(scratch.0.join("data.suoja"), dir.join("data.suoja"))?;
    let mut manifest = Manifest {
        format: FORMAT.into(),
        version: 1,
        id: id.clone(),
        engine: engine.into(),
        created_at: now.to_iso(),
        schema_version,
        data,
        keys,
        keys_expire_at: Timestamp(now.0 + i64::from(settings.key_backup_days) * 86_400_000).to_iso(),
        rows,
        tag: String::new(),
    };
    manifest.seal(&vault)?;
    let path = dir.join("manifest.json");
    suoja_store::files::write_private(&path, &serde_json::to_vec_pretty(&manifest)?)?;
    let ledger = keep_ledger(settings, root, &id).await?;
    let pruned = prune(root, now, settings.key_backup_days)?;
    Ok(Summary { dir, manifest, pruned, ledger })
}

/// Puts the erasure ledger beside a finished backup: every line of the data directory's file
/// that the backup directory's copy lacks, then a checkpoint naming the backup in both; and
/// registers the directory so the server appends to it from now on. Returns the copy's path.
async fn keep_ledger(settings: &Settings, root: &Path, backup: &str) -> anyhow::Result<PathBuf> {
    let root = std::fs::canonicalize(root).with_context(|| format!("resolving {}", root.display()))?;
    let local = settings.erasure_ledger_file();
    let copy = root.join(suoja_privacy::erasure::ledger_file::TARGET_LEDGER);
    let db = suoja_store::Db::connect(&settings.database_url(), &suoja_store::DbOptions::default()).await?;
    // The database's lines too: they include what other nodes wrote.
    let mut lines = suoja_privacy::erasure::ledger_file::ledger_lines(&local).with_context(|| format!("reading {}", local.display()))?;
    lines.extend(database_ledger_lines(&db).await?);
    suoja_privacy::erasure::ledger_file::merge_ledger_lines(&copy, &lines).with_context(|| format!("writing {}", copy.display()))?;
    let now = Timestamp(jiff::Timestamp::now().as_millisecond());
    let mark = suoja_privacy::erasure::replay::checkpoint(backup, now);
    for file in [&copy, &local] {
        suoja_privacy::erasure::ledger_file::append_ledger_lines(file, std::slice::from_ref(&mark)).with_context(|| format!("writing {}", file.display()))?;
    }
    let registered = async {
        let mut tx = db.begin().await?;
        suoja_store::backup_targets::register(&mut tx, &root.to_string_lossy(), now).await?;
        tx.commit().await?;
        Ok::<(), suoja_store::StoreError>(())
    }
    .await;
    db.close().await;
    registered.context("registering the backup directory")?;
    Ok(copy)
}

/// Deletes the key-vault backups in `root` older than `days` at `now`; returns them.
pub fn prune(root: &Path, now: Timestamp, days: u32) -> anyhow::Result<Vec<PathBuf>> {
    let dir = root.join(KEY_VAULT_DIR);
    let mut gone = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(gone);
    };
    for e in entries {
        let path = e?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
        let Some(id) = name.strip_suffix(".keys.suoja") else { continue };
        if let Some(at) = id_time(id)
            && now.0 - at.0 >= i64::from(days) * 86_400_000
        {
            std::fs::remove_file(&path).with_context(|| format!("deleting {}", path.display()))?;
            gone.push(path);
        }
    }
    Ok(gone)
}

fn read_manifest(dir: &Path, vault: &Vault) -> anyhow::Result<Manifest> {
    let path = dir.join("manifest.json");
    let text = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let m: Manifest = serde_json::from_slice(&text).with_context(|| format!("{} is not a backup manifest", path.display()))?;
    m.check(vault)?;
    Ok(m)
}

/// The key-vault file to use: `--keys` if given, else the backup's own while it has not expired.
fn keys_source(dir: &Path, m: &Manifest, keys: Option<&Path>, now: Timestamp, days: u32) -> anyhow::Result<(PathBuf, String)> {
    let (path, id) = match keys {
        Some(p) => {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let id = name
                .strip_suffix(".keys.suoja")
                .context("--keys must name a key-vault backup file (<id>.keys.suoja)")?;
            (p.to_path_buf(), id.to_string())
        }
        None => (dir.join(&m.keys.file), m.id.clone()),
    };
    let expired = id_time(&id).is_none_or(|at| now.0 - at.0 >= i64::from(days) * 86_400_000);
    if expired || !path.exists() {
        bail!(
            "the key-vault backup {} has expired or been deleted (kept {days} days); name a newer one with --keys DIR/{KEY_VAULT_DIR}/<id>.keys.suoja",
            path.display()
        );
    }
    Ok((path, id))
}

/// Decrypts and checks a backup into `scratch` (data.db, and keys.db when `keys` is given).
async fn unpack(dir: &Path, m: &Manifest, vault: &Vault, scratch: &Path, keys: Option<(&Path, &str)>) -> anyhow::Result<()> {
    let key = vault.backup_key(&m.id);
    let data_db = scratch.join("data.db");
    open_file(&key, "data", &dir.join(&m.data.file), &data_db, &m.data)?;
    suoja_store::backup::integrity_check(&data_db).await?;
    if let Some((path, id)) = keys {
        let keys_db = scratch.join("keys.db");
        let kkey = vault.backup_key(id);
        let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let mut out = BufWriter::new(suoja_store::files::create_private(&keys_db)?);
        suoja_vault::stream::open(&kkey, "keys", &mut BufReader::new(f), &mut out, &mut |_| {})
            .with_context(|| format!("{} is damaged or truncated", path.display()))?;
        out.flush()?;
        suoja_store::backup::integrity_check(&keys_db).await?;
    }
    Ok(())
}

/// `suoja backup verify DIR`: the manifest's tag, each file's hash and authentication, SQLite's
/// integrity check of the decrypted records. Returns the manifest.
pub async fn verify(settings: &Settings, dir: &Path) -> anyhow::Result<Manifest> {
    let vault = Vault::new(crate::app::existing_root_key(settings)?);
    let m = read_manifest(dir, &vault)?;
    let scratch = Scratch(dir.join(format!(".verify-{}", suoja_core::random::hex_id())));
    suoja_store::files::private_dir_all(&scratch.0)?;
    let keys_path = dir.join(&m.keys.file);
    let keys = keys_path.exists().then_some((keys_path.as_path(), m.id.as_str()));
    unpack(dir, &m, &vault, &scratch.0, keys).await?;
    if let Some((p, _)) = keys
        && sha256_file(p)? != m.keys.sha256
    {
        bail!("{} does not match its manifest", p.display());
    }
    Ok(m)
}

/// Options of `suoja restore`.
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// A key-vault backup to use instead of the backup's own.
    pub keys: Option<PathBuf>,
    /// Restore over a database that holds data.
    pub force: bool,
    /// Another erasure ledger file to replay (a copy kept elsewhere).
    pub ledger: Option<PathBuf>,
    /// Restore even when no erasure ledger as new as the backup can be found: anyone erased
    /// after the newest ledger found comes back.
    pub risk_restoring_erased_people: bool,
}

/// What a restore did.
#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    /// The backup's id.
    pub backup: String,
    /// Rows put back.
    pub rows: u64,
    /// Erasures replayed from the erasure ledger.
    pub replay: suoja_privacy::erasure::replay::Replay,
    /// The ledgers read, and the newest time they record.
    pub ledgers: Vec<PathBuf>,
    /// The newest time the ledgers record (all completed erasures before it were replayed).
    pub ledger_newest: Option<String>,
    /// When no ledger was as new as the backup (restored only because the operator took the
    /// risk): erasures and redactions completed after this time were not replayed.
    pub not_replayed_after: Option<String>,
    /// Search documents rebuilt, and those whose key is gone.
    pub indexed: (u64, u64),
    /// Seconds spent decrypting and checking, putting the records back, replaying erasures
    /// and rebuilding the search index.
    pub secs: [f64; 4],
}

/// `suoja restore --from DIR`.
pub async fn restore(settings: &Settings, dir: &Path, opts: &RestoreOptions) -> anyhow::Result<Restored> {
    let clock = std::time::Instant::now();
    let mut secs = [0.0; 4];
    let vault = Vault::new(crate::app::existing_root_key(settings)?);
    let m = read_manifest(dir, &vault)?;
    let now = Timestamp(jiff::Timestamp::now().as_millisecond());
    let (keys_path, keys_id) = keys_source(dir, &m, opts.keys.as_deref(), now, settings.key_backup_days)?;
    let mut ledger = gather_ledgers(settings, dir, opts.ledger.as_deref())?;
    add_database_ledger(&mut ledger, settings).await?;
    let backup_time = Timestamp::parse(&m.created_at).context("the manifest's time is not a time")?;
    let behind = ledger.newest.is_none_or(|n| n < backup_time);
    if behind && !opts.risk_restoring_erased_people {
        bail!(
            "no erasure ledger as new as this backup ({}) was found (read: {}; newest entry: {}). Everyone erased after the ledger's last entry would come back. \
             Give the ledger with --ledger FILE (it is kept as erasure-ledger.jsonl in the backup directory), or restore anyway with --risk-restoring-erased-people. Nothing was changed.",
            m.created_at,
            if ledger.files.is_empty() {
                "none".to_string()
            } else {
                ledger.files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
            },
            ledger.newest.map_or_else(|| "none".to_string(), Timestamp::to_iso),
        );
    }
    let url = settings.database_url();
    let sqlite_file = url.strip_prefix("sqlite://").map(|p| PathBuf::from(p.split('?').next().unwrap_or(p)));
    // Everything is decrypted and checked before the target is touched.
    let scratch_root = match &sqlite_file {
        Some(f) => f.parent().map(Path::to_path_buf).unwrap_or_default(),
        None => std::env::temp_dir(),
    };
    suoja_store::files::private_dir_all(&scratch_root)?;
    let scratch = Scratch(scratch_root.join(format!(".restore-{}", m.id)));
    let _ = std::fs::remove_dir_all(&scratch.0);
    suoja_store::files::private_dir_all(&scratch.0)?;
    unpack(dir, &m, &vault, &scratch.0, Some((&keys_path, &keys_id))).await?;
    let (data_db, keys_db) = (scratch.0.join("data.db"), scratch.0.join("keys.db"));
    let rows: u64 = m.rows.iter().map(|(_, n)| n).sum();
    secs[0] = clock.elapsed().as_secs_f64();
    match &sqlite_file {
        Some(target) => {
            if target.exists() && suoja_store::backup::sqlite_has_data(target).await? && !opts.force {
                bail!("{} holds data; restore over it with --force (nothing was changed)", target.display());
            }
            suoja_store::backup::attach_keys(&data_db, &keys_db, &layout()).await?;
            for suffix in ["", "-wal", "-shm"] {
                let p = PathBuf::from(format!("{}{suffix}", target.display()));
                if p.exists() {
                    std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
                }
            }
            std::fs::rename(&data_db, target).with_context(|| format!("moving the restored database to {}", target.display()))?;
        }
        None => {
            let db = suoja_store::Db::connect(&url, &suoja_store::DbOptions::default()).await?;
            let empty = suoja_store::backup::is_empty(&db).await?;
            if !empty && !opts.force {
                db.close().await;
                bail!("the database holds data; restore over it with --force (nothing was changed)");
            }
            let imported = suoja_store::backup::import(&db, &data_db, &keys_db, &layout(), !empty, &mut |_| {}).await;
            db.close().await;
            imported?;
        }
    }
    drop(scratch);
    secs[1] = clock.elapsed().as_secs_f64() - secs[0];
    // Before anything serves it: erasures since the backup, then the search index. Every
    // ledger found is merged into the data directory's, which the replay reads.
    let local = settings.erasure_ledger_file();
    suoja_privacy::erasure::ledger_file::merge_ledger_lines(&local, &ledger.lines).with_context(|| format!("writing {}", local.display()))?;
    let hd = crate::app::open(settings).await?;
    let privacy = crate::app::privacy(hd.clone(), settings)?;
    let replay = privacy.reconcile_erasure_log().await?;
    secs[2] = clock.elapsed().as_secs_f64() - secs[0] - secs[1];
    let progress = indicatif::ProgressBar::new_spinner();
    progress.set_message("rebuilding the search index");
    let indexed = hd.reindex_all(&mut |n| progress.set_position(n)).await?;
    progress.finish_and_clear();
    suoja_store::dialect::retire_wal(hd.db()).await?;
    hd.db().close().await;
    secs[3] = clock.elapsed().as_secs_f64() - secs[0] - secs[1] - secs[2];
    Ok(Restored {
        backup: m.id,
        rows,
        replay,
        ledgers: ledger.files,
        ledger_newest: ledger.newest.map(Timestamp::to_iso),
        not_replayed_after: behind.then(|| ledger.newest.map_or_else(|| "the start".to_string(), Timestamp::to_iso)),
        indexed,
        secs,
    })
}

/// The lines of the erasure ledger in the live database.
async fn database_ledger_lines(db: &suoja_store::Db) -> anyhow::Result<Vec<String>> {
    let mut c = db.read().await?;
    Ok(suoja_store::erasure_log::all(&mut c).await?)
}

/// Adds to `ledger` the lines the database about to be replaced holds (every node writes each
/// line there, so it may hold lines no file here has).
async fn add_database_ledger(ledger: &mut Ledgers, settings: &Settings) -> anyhow::Result<()> {
    let url = settings.database_url();
    if let Some(f) = url.strip_prefix("sqlite://").map(|p| PathBuf::from(p.split('?').next().unwrap_or(p)))
        && !f.exists()
    {
        return Ok(());
    }
    // Read as it is (not migrated: a refused restore changes nothing). A database that cannot
    // be opened has nothing to add; one that opens but fails to be read stops the restore.
    let lines = suoja_store::erasure_log::read_unmigrated(&url)
        .await
        .map_err(|e| anyhow::anyhow!("reading the erasure ledger in the database: {e}"))?;
    // Lines torn by a crash are not the ledger's; they are left out, not trusted.
    let lines: Vec<String> = lines
        .into_iter()
        .filter(|l| serde_json::from_str::<serde_json::Value>(l).is_ok_and(|v| v.is_object()))
        .collect();
    if lines.is_empty() {
        return Ok(());
    }
    let read = suoja_privacy::erasure::replay::read_lines(&lines, "in the database").map_err(|e| anyhow::anyhow!("{e}"))?;
    ledger.newest = match (ledger.newest, read.newest) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    let seen: std::collections::HashSet<String> = ledger.lines.iter().cloned().collect();
    ledger.lines.extend(lines.into_iter().filter(|l| !seen.contains(l)));
    ledger.files.push(PathBuf::from("the database's erasure_log"));
    Ok(())
}

/// Every erasure ledger a restore can find: the data directory's, the one kept beside the
/// backups (the backup's parent directory) and one named on the command line.
struct Ledgers {
    files: Vec<PathBuf>,
    lines: Vec<String>,
    newest: Option<Timestamp>,
}

fn gather_ledgers(settings: &Settings, dir: &Path, extra: Option<&Path>) -> anyhow::Result<Ledgers> {
    let mut candidates = vec![settings.erasure_ledger_file()];
    if let Some(parent) = std::fs::canonicalize(dir)?.parent() {
        candidates.push(parent.join(suoja_privacy::erasure::ledger_file::TARGET_LEDGER));
    }
    if let Some(e) = extra {
        if !e.exists() {
            bail!("the erasure ledger {} does not exist", e.display());
        }
        candidates.push(e.to_path_buf());
    }
    let mut out = Ledgers {
        files: Vec::new(),
        lines: Vec::new(),
        newest: None,
    };
    let mut seen = std::collections::HashSet::new();
    for f in candidates {
        if !f.exists() {
            continue;
        }
        let read = suoja_privacy::erasure::replay::read(&f).map_err(|e| anyhow::anyhow!("{e}"))?;
        out.newest = match (out.newest, read.newest) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        for l in suoja_privacy::erasure::ledger_file::ledger_lines(&f)? {
            if seen.insert(l.clone()) {
                out.lines.push(l);
            }
        }
        out.files.push(f);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test that cannot go on should panic")]
    use super::*;

    /// The backup's layout is the data map's: the derived search index stays out, the two key
    /// tables go apart, and a table the map adds is copied with no edit here.
    #[test]
    fn the_layout_follows_the_data_map() {
        let l = layout();
        assert_eq!(l.derived, vec!["search_index"]);
        let mut vault = l.vault.clone();
        vault.sort_unstable();
        assert_eq!(vault, vec!["vault_subject_keys", "vault_tenant_keys"]);
        assert!(
            !l.vault.contains(&"export_packages"),
            "a package's key is sealed under its person's, not the vault's"
        );
    }

    #[test]
    fn ids_carry_their_time_and_key_backups_expire() {
        let now = Timestamp::parse("2026-11-29T12:00:00Z").unwrap();
        let id = new_id(now);
        assert_eq!(id_time(&id), Some(now));
        let dir = std::env::temp_dir().join(format!("suoja-prune-{}", suoja_core::random::hex_id()));
        std::fs::create_dir_all(dir.join(KEY_VAULT_DIR)).unwrap();
        let old = new_id(Timestamp(now.0 - 7 * 86_400_000));
        let young = new_id(Timestamp(now.0 - 6 * 86_400_000));
        for i in [&old, &young] {
            std::fs::write(dir.join(KEY_VAULT_DIR).join(format!("{i}.keys.suoja")), b"x").unwrap();
        }
        let gone = prune(&dir, now, 7).unwrap();
        assert_eq!(gone.len(), 1);
        assert!(gone[0].to_string_lossy().contains(&old));
        assert!(dir.join(KEY_VAULT_DIR).join(format!("{young}.keys.suoja")).exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
