//! `suoja security`: a tenant's IP restriction from the server's command line, as the
//! installation's operator (actor 0 in the ledger) — the way back in when a changed office
//! network or proxy locks every admin out.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use suoja_core::Scope;
use suoja_store::settings::IpRestriction;

/// Arguments of `suoja security`.
#[derive(Debug, Args)]
pub struct SecurityArgs {
    /// What to do.
    #[command(subcommand)]
    pub what: SecurityWhat,
    /// Tenant subdomain (default: the installation's first tenant).
    #[arg(long, global = true)]
    pub tenant: Option<String>,
    /// Data directory.
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
}

/// `suoja security` subcommands.
#[derive(Debug, Subcommand)]
pub enum SecurityWhat {
    /// Show the IP restriction.
    Show,
    /// Switch the IP restriction off (its list is kept).
    DisableIpRestriction,
}

/// Runs `suoja security`.
pub async fn run(config: Option<&std::path::Path>, args: SecurityArgs) -> anyhow::Result<()> {
    let p = super::privacy::open(config, args.data_dir).await?;
    let tenant = super::privacy::tenant(&p, args.tenant.as_deref()).await?;
    let scope = Scope::operator(tenant);
    let hd = p.helpdesk();
    let fail = |e: suoja_helpdesk::HelpdeskError| anyhow::anyhow!("{e}");
    let r = hd.ip_restriction(&scope).await.map_err(fail)?;
    match args.what {
        SecurityWhat::Show => {}
        SecurityWhat::DisableIpRestriction => {
            hd.set_ip_restriction(&scope, IpRestriction { enabled: false, ..r.clone() }, None)
                .await
                .map_err(fail)?;
        }
    }
    let r = hd.ip_restriction(&scope).await.map_err(fail)?;
    println!(
        "ip_restriction: {}; allowed ranges: {}; end users held too: {}",
        if r.enabled { "on" } else { "off" },
        if r.allowed_ranges.is_empty() { "none" } else { &r.allowed_ranges },
        if r.end_users { "yes" } else { "no" }
    );
    Ok(())
}
