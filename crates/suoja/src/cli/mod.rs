//! The command line: `serve`, `init`, `migrate`, `config`, `export`, `verify`, `mail`, `tenant`, `import` and `bench`. Commands parse arguments, call
//! the library, and print; they hold no rules of their own.

mod backup;
mod init;
mod mail;
mod privacy;
mod retention;
mod security;
mod serve;
mod tenant;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use suoja_config::Settings;

/// Suoja: a self-hostable helpdesk whose GDPR compliance you can verify.
#[derive(Debug, Parser)]
#[command(name = "suoja", version, about)]
pub struct Cli {
    /// Configuration file (TOML); defaults to ./suoja.toml when present.
    #[arg(long, global = true, env = "SUOJA_CONFIG")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (creates ./suoja-data on SQLite when nothing else is configured).
    Serve(serve::ServeArgs),
    /// Create a tenant with an admin and print its API token as one JSON line.
    Init(init::InitArgs),
    /// Run database migrations and exit.
    Migrate {
        /// Data directory.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Print the default configuration file.
    Config,
    /// Export what is held about a person (JSON, PDF, or a ZIP with both and their files).
    Export(privacy::ExportArgs),
    /// Check integrity: `suoja verify ledger`, `suoja verify erasure --canary FILE`.
    Verify {
        /// What to verify.
        #[command(subcommand)]
        what: privacy::VerifyWhat,
    },
    /// Take an encrypted backup while the server runs; `verify` or `prune` backups.
    Backup(backup::BackupArgs),
    /// Restore a backup, replay the erasure ledger and rebuild the search index.
    Restore(backup::RestoreArgs),
    /// Mail: `suoja mail deliver` (one message on standard input, from an MTA), `suoja mail check`.
    Mail(mail::MailArgs),
    /// Retention policies: `suoja retention list|set|preview|run`.
    Retention(retention::RetentionArgs),
    /// A tenant's IP restriction: `suoja security show|disable-ip-restriction`.
    Security(security::SecurityArgs),
    /// Tenants across regions: `suoja tenant move SUBDOMAIN --to REGION`, `suoja tenant move-status SUBDOMAIN`.
    Tenant(tenant::TenantArgs),
    /// Move a tenant in from another helpdesk: `suoja import zendesk --url … --email … --token …`.
    Import(crate::import::ImportArgs),
    /// Run the benchmark suite and write BENCHMARKS.md.
    Bench(crate::bench::BenchArgs),
    /// The benchmark's baseline server (used by `suoja bench`).
    #[command(hide = true)]
    BenchBaseline {
        /// Address to listen on.
        #[arg(long)]
        listen: std::net::SocketAddr,
        /// SQLite file.
        #[arg(long)]
        db: PathBuf,
    },
}

/// A failure that ends the process with a particular exit status (an MTA reads 65 and 75).
#[derive(Debug)]
pub struct Exit {
    /// The exit status.
    pub code: u8,
    /// What to print on standard error.
    pub message: String,
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

/// Loads settings, letting command-line flags win over file and environment.
pub fn settings(config: Option<&std::path::Path>, data_dir: Option<PathBuf>, listen: Option<std::net::SocketAddr>) -> anyhow::Result<Settings> {
    let mut s = Settings::load(config)?;
    if let Some(d) = data_dir {
        s.data_dir = d;
    }
    if let Some(l) = listen {
        s.listen = l;
    }
    Ok(s)
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(cli.config.as_deref(), args).await,
        Command::Init(args) => init::run(cli.config.as_deref(), args).await,
        Command::Migrate { data_dir } => {
            let s = settings(cli.config.as_deref(), data_dir, None)?;
            let hd = crate::app::open(&s).await?;
            hd.db().close().await;
            println!("migrations are up to date");
            Ok(())
        }
        Command::Bench(args) => crate::bench::run(args).await,
        Command::Tenant(args) => tenant::run(cli.config.as_deref(), args).await,
        Command::Import(args) => crate::import::run(cli.config.as_deref(), args).await,
        Command::Export(args) => privacy::export(cli.config.as_deref(), args).await,
        Command::Retention(args) => retention::run(cli.config.as_deref(), args).await,
        Command::Security(args) => security::run(cli.config.as_deref(), args).await,
        Command::Mail(args) => mail::run(cli.config.as_deref(), args).await,
        Command::Backup(args) => backup::run(cli.config.as_deref(), args).await,
        Command::Restore(args) => backup::restore(cli.config.as_deref(), args).await,
        Command::Verify { what } => privacy::verify(cli.config.as_deref(), what).await,
        Command::BenchBaseline { listen, db } => crate::bench::serve_baseline(listen, db).await,
        Command::Config => {
            print!("{}", suoja_config::DEFAULT_TOML);
            Ok(())
        }
    }
}
