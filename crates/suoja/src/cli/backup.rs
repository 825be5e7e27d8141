//! `suoja backup` (take, verify, prune) and `suoja restore`: see [`crate::backup`].

use std::path::PathBuf;

use anyhow::bail;
use clap::{Args, Subcommand};

/// Arguments of `suoja backup`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BackupArgs {
    /// Check or tidy backups instead of taking one.
    #[command(subcommand)]
    pub action: Option<BackupAction>,
    /// Directory to write the backup into (a folder per backup, plus `key-vault/`).
    #[arg(long)]
    pub to: Option<PathBuf>,
    /// Data directory.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

/// `suoja backup` subcommands.
#[derive(Debug, Subcommand)]
pub enum BackupAction {
    /// Check one backup: the manifest's tag, every file's hash and authentication, and the
    /// decrypted database's integrity.
    Verify {
        /// The backup's folder (`DIR/<id>`).
        dir: PathBuf,
        /// Data directory (for the root key).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Delete key-vault backups older than `key_backup_days`.
    Prune {
        /// The backup directory (the one given to `--to`).
        dir: PathBuf,
        /// Data directory (for the configuration).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

/// Arguments of `suoja restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup's folder (`DIR/<id>`).
    #[arg(long)]
    pub from: PathBuf,
    /// A newer key-vault backup (`DIR/key-vault/<id>.keys.suoja`) when this backup's own has
    /// expired.
    #[arg(long)]
    pub keys: Option<PathBuf>,
    /// Replace a database that holds data.
    #[arg(long)]
    pub force: bool,
    /// An erasure ledger kept elsewhere (`erasure-ledger.jsonl`), replayed with the data
    /// directory's and the backup directory's own.
    #[arg(long)]
    pub ledger: Option<PathBuf>,
    /// Restore even though no erasure ledger as new as the backup was found: everyone erased
    /// after the newest ledger entry comes back.
    #[arg(long)]
    pub risk_restoring_erased_people: bool,
    /// Data directory.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

/// Runs `suoja backup`.
pub async fn run(config: Option<&std::path::Path>, args: BackupArgs) -> anyhow::Result<()> {
    match args.action {
        Some(BackupAction::Verify { dir, data_dir }) => {
            let s = super::settings(config, data_dir, None)?;
            let m = crate::backup::verify(&s, &dir).await?;
            let rows: u64 = m.rows.iter().map(|(_, n)| n).sum();
            println!(
                "backup {} is intact: {} bytes of records, {rows} rows, taken {} from {}",
                m.id, m.data.bytes, m.created_at, m.engine
            );
            Ok(())
        }
        Some(BackupAction::Prune { dir, data_dir }) => {
            let s = super::settings(config, data_dir, None)?;
            let now = suoja_core::Timestamp(jiff::Timestamp::now().as_millisecond());
            let gone = crate::backup::prune(&dir, now, s.key_backup_days)?;
            println!("{} expired key-vault backups deleted", gone.len());
            Ok(())
        }
        None => {
            let Some(to) = args.to else {
                bail!("give --to DIR (or `suoja backup verify DIR`, `suoja backup prune DIR`)");
            };
            let s = super::settings(config, args.data_dir, None)?;
            let started = std::time::Instant::now();
            let summary = crate::backup::backup(&s, &to).await?;
            println!(
                "backup {} written to {} in {:.1} s ({} bytes of records; key vault kept until {})",
                summary.manifest.id,
                summary.dir.display(),
                started.elapsed().as_secs_f64(),
                summary.manifest.data.bytes,
                summary.manifest.keys_expire_at
            );
            println!("erasure ledger kept at {}", summary.ledger.display());
            if !summary.pruned.is_empty() {
                println!("{} expired key-vault backups deleted", summary.pruned.len());
            }
            Ok(())
        }
    }
}

/// Runs `suoja restore`.
pub async fn restore(config: Option<&std::path::Path>, args: RestoreArgs) -> anyhow::Result<()> {
    let s = super::settings(config, args.data_dir, None)?;
    let opts = crate::backup::RestoreOptions {
        keys: args.keys,
        force: args.force,
        ledger: args.ledger,
        risk_restoring_erased_people: args.risk_restoring_erased_people,
    };
    let r = crate::backup::restore(&s, &args.from, &opts).await?;
    println!(
        "restored backup {}: {} rows; {} erasures replayed, {} keys destroyed, {} redactions applied again; search index rebuilt ({} documents, {} unreadable)",
        r.backup, r.rows, r.replay.erased, r.replay.keys_destroyed, r.replay.redactions, r.indexed.0, r.indexed.1
    );
    println!(
        "erasure ledgers read: {} (newest entry {})",
        if r.ledgers.is_empty() {
            "none".to_string()
        } else {
            r.ledgers.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        },
        r.ledger_newest.as_deref().unwrap_or("none")
    );
    if let Some(after) = &r.not_replayed_after {
        println!("NOT REPLAYED: erasures and redactions completed after {after} are in no ledger found; anyone erased since then is back in this database");
    }
    println!(
        "timings: decrypt and check {:.1} s, records {:.1} s, replay {:.1} s, search index {:.1} s",
        r.secs[0], r.secs[1], r.secs[2], r.secs[3]
    );
    Ok(())
}
