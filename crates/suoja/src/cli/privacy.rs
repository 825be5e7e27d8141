//! `suoja export`, `suoja verify ledger` and `suoja verify erasure`: the privacy engine from the
//! command line, acting as the installation's operator (recorded in the ledger as actor 0, "the
//! command line").

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use suoja_core::{Email, Scope, TenantId};
use suoja_privacy::Privacy;
use suoja_privacy::export::{Filter, Format, Options};

/// Arguments of `suoja export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The person's e-mail address.
    #[arg(long)]
    pub subject: String,
    /// Output format.
    #[arg(long, default_value = "zip", value_parser = ["json", "pdf", "zip"])]
    pub format: String,
    /// Which tickets to include.
    #[arg(long, default_value = "all", value_parser = ["requested", "ccd", "commented", "all"])]
    pub filter: String,
    /// Include internal notes about the person (default: the configured policy).
    #[arg(long)]
    pub include_internal_notes: Option<bool>,
    /// Where to write the file (default: ./personal-data-<user id>.<format>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Tenant subdomain (default: the installation's first tenant).
    #[arg(long)]
    pub tenant: Option<String>,
    /// Data directory.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

/// What `suoja verify` checks.
#[derive(Debug, Subcommand)]
pub enum VerifyWhat {
    /// Recompute the privacy ledger's hash chain of every tenant and report the first break.
    Ledger {
        /// Data directory.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Scan every byte under the data directory (and any `--path`) for canary values in every
    /// encoding a copy could take; exit 1 when any is found.
    Erasure {
        /// File of canary values, one per line (`label: value` or just the value).
        #[arg(long)]
        canary: PathBuf,
        /// More files or directories to scan (a PostgreSQL data directory, log files, backups).
        #[arg(long)]
        path: Vec<PathBuf>,
        /// Data directory.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

pub(crate) async fn open(config: Option<&std::path::Path>, data_dir: Option<PathBuf>) -> anyhow::Result<Privacy> {
    let s = super::settings(config, data_dir, None)?;
    let hd = crate::app::open(&s).await?;
    crate::app::privacy(hd, &s)
}

pub(crate) async fn tenant(p: &Privacy, subdomain: Option<&str>) -> anyhow::Result<TenantId> {
    let mut c = p.helpdesk().db().read().await?;
    let t = match subdomain {
        Some(s) => suoja_store::tenants::by_subdomain(&mut c, s).await?,
        None => suoja_store::tenants::first(&mut c).await?,
    };
    t.map(|t| t.id).context("no such tenant")
}

/// Runs `suoja export`.
pub async fn export(config: Option<&std::path::Path>, args: ExportArgs) -> anyhow::Result<()> {
    let email = Email::parse(&args.subject).map_err(|_| anyhow::anyhow!("--subject: not a valid e-mail address"))?;
    let format = Format::parse(&args.format).map_err(|e| anyhow::anyhow!("{e}"))?;
    let filter = Filter::parse(&args.filter).map_err(|e| anyhow::anyhow!("{e}"))?;
    let p = open(config, args.data_dir).await?;
    let tenant = tenant(&p, args.tenant.as_deref()).await?;
    let user = {
        let mut c = p.helpdesk().db().read().await?;
        p.helpdesk().user_by_email(&mut c, tenant, &email).await.map_err(|e| anyhow::anyhow!("{e}"))?
    };
    let Some(user) = user else {
        bail!("nobody with that e-mail address is on record in this tenant");
    };
    let scope = Scope::operator(tenant);
    let bar = indicatif::ProgressBar::new(1);
    bar.set_style(indicatif::ProgressStyle::with_template("  {msg:12} {bar:40} {pos}/{len}").unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()));
    let progress = |step: &str, done: u64, total: u64| {
        bar.set_message(step.to_string());
        bar.set_length(total.max(1));
        bar.set_position(done);
    };
    let opts = Options {
        filter,
        include_internal_notes: args.include_internal_notes,
    };
    let export = p.export(&scope, user.id, None, &opts, &progress).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    bar.set_message("packaging");
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from(format!("personal-data-{}.{}", user.id.0, format.as_str())));
    // Written as a stream (one file of the person's in memory at a time) into a file only the
    // operator can read.
    let file = suoja_store::files::create_private(&out).with_context(|| format!("creating {}", out.display()))?;
    let mut sink = suoja_privacy::export::package::ToFile(file);
    let written = p.write_package(tenant, &export, format, &mut sink).await;
    bar.finish_and_clear();
    let size = match written {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&out);
            bail!("writing {}: {e}", out.display());
        }
    };
    sink.0.sync_all().with_context(|| format!("writing {}", out.display()))?;
    let tickets = export.doc.get("tickets").and_then(serde_json::Value::as_array).map_or(0, Vec::len);
    println!("wrote {} ({size} bytes): {tickets} ticket(s), {} file(s)", out.display(), export.files.len());
    p.helpdesk().db().close().await;
    Ok(())
}

/// Runs `suoja verify …`.
pub async fn verify(config: Option<&std::path::Path>, what: VerifyWhat) -> anyhow::Result<()> {
    match what {
        VerifyWhat::Ledger { data_dir } => {
            let p = open(config, data_dir).await?;
            let reports = suoja_privacy::ledger::verify_all(p.helpdesk().db(), p.helpdesk().vault())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            p.helpdesk().db().close().await;
            let mut broken = 0;
            for r in &reports {
                match &r.broken {
                    None => println!("tenant {}: {} entries verified; head #{} {}", r.tenant, r.entries, r.head_seq, r.head_hash),
                    Some(b) => {
                        broken += 1;
                        println!(
                            "tenant {}: BROKEN at entry {}: {} ({} entries verified before it)",
                            r.tenant, b.seq, b.reason, r.head_seq
                        );
                    }
                }
            }
            if reports.is_empty() {
                println!("no ledger entries yet");
            }
            if broken > 0 {
                bail!("the ledger of {broken} tenant(s) does not verify");
            }
            Ok(())
        }
        VerifyWhat::Erasure { canary, path, data_dir } => {
            let s = super::settings(config, data_dir, None)?;
            let text = std::fs::read_to_string(&canary).with_context(|| format!("reading {}", canary.display()))?;
            let canaries = suoja_privacy::scan::parse_canaries(&text);
            if canaries.is_empty() {
                bail!("{} holds no canary values", canary.display());
            }
            let mut paths = vec![s.data_dir.clone()];
            paths.extend(path);
            // A local blob store outside the data directory holds files too.
            let blobs = suoja_store::blobs::Blobs::open(&s.blob_url()).context("opening the blob store (blob_url)")?;
            if let Some(dir) = blobs.local_dir().filter(|d| !d.starts_with(&s.data_dir)) {
                paths.push(dir.to_path_buf());
            }
            if let Some(dir) = postgres_data_dir(&s).await? {
                paths.push(dir);
            }
            for p in &paths {
                println!("scanning {}", p.display());
            }
            let report = suoja_privacy::scan::scan(&paths, &canaries).context("scanning")?;
            for h in &report.hits {
                println!("{} @ {}: {} ({})", h.path.display(), h.offset, h.canary, h.encoding);
            }
            println!(
                "scanned {} files, {} bytes, for {} canaries in every encoding: {} hits",
                report.files,
                report.bytes,
                canaries.len(),
                report.hits.len()
            );
            if !report.hits.is_empty() {
                bail!("canary values were found");
            }
            Ok(())
        }
    }
}

/// On PostgreSQL: checkpoints (and retires WAL segments, where the role may) so the server's
/// memory is on disk, and returns the cluster's data directory if this process can read it.
async fn postgres_data_dir(s: &suoja_config::Settings) -> anyhow::Result<Option<PathBuf>> {
    let url = s.database_url();
    if !url.starts_with("postgres") {
        return Ok(None);
    }
    let db = suoja_store::Db::connect(&url, &suoja_store::DbOptions::default())
        .await
        .context("opening the database")?;
    if !suoja_store::dialect::retire_wal(&db).await? {
        println!("note: this role may not checkpoint or switch WAL segments; recent changes may not be on disk yet");
    }
    let dir: Option<String> = sqlx::query_scalar("SHOW data_directory").fetch_one(db.write_pool()).await.ok();
    db.close().await;
    Ok(dir.map(PathBuf::from).filter(|d| std::fs::read_dir(d).is_ok()).or_else(|| {
        println!("note: the PostgreSQL data directory is not readable from here; pass it with --path on the database host");
        None
    }))
}
