//! The backup benchmark (SQLite): with a server running on the seeded data directory, show-ticket
//! latency is measured idle and again while `suoja backup` runs in another process; the backup's
//! and the restore's throughput (bytes of the data directory per second) are set against a plain
//! copy of the same files in the same run. The restore is split into its phases (decrypt and
//! check, records, erasure replay, search index rebuild).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use super::load::{self, Stats};

/// Backup figures.
#[derive(Debug, Clone, Default)]
pub struct BackupFigures {
    /// Bytes in the data directory.
    pub dir_bytes: u64,
    /// Plain copy of the data directory, seconds.
    pub copy_secs: f64,
    /// `suoja backup`, seconds.
    pub backup_secs: f64,
    /// Bytes of the encrypted backup (records and key vault).
    pub backup_bytes: u64,
    /// `suoja restore` into an empty data directory, seconds per phase.
    pub restore_secs: [f64; 4],
    /// Show-ticket with the server idle.
    pub idle: Stats,
    /// Show-ticket while the backup runs.
    pub during: Stats,
}

fn dir_size(dir: &Path) -> anyhow::Result<u64> {
    let mut n = 0;
    for p in suoja_privacy::scan::files(&[dir.to_path_buf()])? {
        n += std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
    }
    Ok(n)
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let p = e?.path();
        if p.is_file() {
            std::fs::copy(&p, to.join(p.file_name().context("file name")?))?;
            std::fs::File::open(to.join(p.file_name().context("file name")?))?.sync_all()?;
        }
    }
    Ok(())
}

fn mb_s(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / 1e6 / secs.max(1e-9)
}

impl BackupFigures {
    /// Backup throughput, MB/s.
    pub fn backup_mb_s(&self) -> f64 {
        mb_s(self.dir_bytes, self.backup_secs)
    }
    /// Plain copy throughput, MB/s.
    pub fn copy_mb_s(&self) -> f64 {
        mb_s(self.dir_bytes, self.copy_secs)
    }
    /// Restore of the records (without the index rebuild), MB/s.
    pub fn restore_mb_s(&self) -> f64 {
        mb_s(self.dir_bytes, self.restore_secs[0] + self.restore_secs[1] + self.restore_secs[2])
    }
}

/// Measures backup and restore of the SQLite data directory `dir` served on `base`.
pub async fn measure(dir: &Path, base: &str, auth: &(String, String), max_ticket: i64, secs: Duration) -> anyhow::Result<BackupFigures> {
    let mut f = BackupFigures {
        dir_bytes: dir_size(dir)?,
        ..Default::default()
    };
    let work = dir.with_extension("backup-bench");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let url = format!("{base}/api/v2/tickets");
    let show = move |c: &reqwest::Client, i: usize| c.get(format!("{url}/{}.json", (suoja_core::num::to_i64(i) * 7919) % max_ticket + 1));
    f.idle = load::run(4, secs, auth, show.clone()).await?;
    println!("  show-ticket c=4 idle: {}", f.idle.line());

    let t = Instant::now();
    copy_dir(dir, &work.join("copy"))?;
    f.copy_secs = t.elapsed().as_secs_f64();
    std::fs::remove_dir_all(work.join("copy"))?;
    println!(
        "  plain copy of {} MB: {:.1} s ({:.0} MB/s)",
        f.dir_bytes / 1_000_000,
        f.copy_secs,
        f.copy_mb_s()
    );

    let exe = std::env::current_exe()?;
    let backups = work.join("backups");
    let t = Instant::now();
    let mut child = Command::new(&exe)
        .args(["backup", "--to"])
        .arg(&backups)
        .arg("--data-dir")
        .arg(dir)
        .env_remove("SUOJA_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting suoja backup")?;
    // Load for as long as the backup runs, in slices so the figures cover the whole of it.
    let mut during: Vec<Stats> = Vec::new();
    while child.try_wait()?.is_none() {
        during.push(load::run(4, Duration::from_secs(2), auth, show.clone()).await?);
    }
    f.backup_secs = t.elapsed().as_secs_f64();
    if !child.wait()?.success() {
        bail!("suoja backup failed");
    }
    f.during = Stats {
        rps: during.iter().map(|s| s.rps).sum::<f64>() / during.len().max(1) as f64,
        p50: during.iter().map(|s| s.p50).fold(0.0, f64::max),
        p99: during.iter().map(|s| s.p99).fold(0.0, f64::max),
        errors: during.iter().map(|s| s.errors).sum(),
    };
    f.backup_bytes = dir_size(&backups)?;
    println!(
        "  backup: {:.1} s ({:.0} MB/s, {} MB written); show-ticket during it: {}",
        f.backup_secs,
        f.backup_mb_s(),
        f.backup_bytes / 1_000_000,
        f.during.line()
    );

    let id_dir = std::fs::read_dir(&backups)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.join("manifest.json").exists())
        .context("the backup folder")?;
    let target = work.join("restored");
    std::fs::create_dir_all(&target)?;
    std::fs::copy(dir.join("root.key"), target.join("root.key"))?;
    let out = Command::new(&exe)
        .args(["restore", "--from"])
        .arg(&id_dir)
        .arg("--data-dir")
        .arg(&target)
        .env_remove("SUOJA_DATABASE_URL")
        .output()
        .context("running suoja restore")?;
    if !out.status.success() {
        bail!("suoja restore failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("timings:")).context("restore timings")?;
    let nums: Vec<f64> = line.split_whitespace().filter_map(|w| w.parse::<f64>().ok()).collect();
    if nums.len() != 4 {
        bail!("unexpected restore output: {line}");
    }
    f.restore_secs.copy_from_slice(&nums);
    println!("  restore: {line}");
    let _ = std::fs::remove_dir_all(&work);
    Ok(f)
}
