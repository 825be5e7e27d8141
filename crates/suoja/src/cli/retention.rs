//! `suoja retention`: view, change, preview and apply a tenant's retention policies from the
//! command line, as the installation's operator (actor 0 in the ledger).

use std::path::PathBuf;

use anyhow::bail;
use clap::{Args, Subcommand};
use suoja_core::Scope;

/// Arguments of `suoja retention`.
#[derive(Debug, Args)]
pub struct RetentionArgs {
    /// What to do.
    #[command(subcommand)]
    pub what: RetentionWhat,
    /// Tenant subdomain (default: the installation's first tenant).
    #[arg(long, global = true)]
    pub tenant: Option<String>,
    /// Data directory.
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
}

/// `suoja retention` subcommands.
#[derive(Debug, Subcommand)]
pub enum RetentionWhat {
    /// Show every policy with its period, unit and whether it runs.
    List,
    /// Change a policy's period (in its unit) and/or switch it on or off.
    Set {
        /// Policy name, as `list` shows it.
        policy: String,
        /// New period, in the policy's unit (at least 1).
        #[arg(long, allow_negative_numbers = true)]
        value: Option<i64>,
        /// Switch the policy on.
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        /// Switch the policy off.
        #[arg(long)]
        disable: bool,
    },
    /// Show what a policy would remove now (changes nothing).
    Preview {
        /// Policy name.
        policy: String,
    },
    /// Apply every enabled policy of every tenant once, as the server does each interval.
    Run,
}

/// Runs `suoja retention`.
pub async fn run(config: Option<&std::path::Path>, args: RetentionArgs) -> anyhow::Result<()> {
    let p = super::privacy::open(config, args.data_dir).await?;
    let tenant = super::privacy::tenant(&p, args.tenant.as_deref()).await?;
    let scope = Scope::operator(tenant);
    let fail = |e: suoja_privacy::PrivacyError| anyhow::anyhow!("{e}");
    match args.what {
        RetentionWhat::List => {
            println!("{:<20} {:>7} {:<7} {:<8} {:>7}  removes", "policy", "value", "unit", "enabled", "default");
            for v in p.retention_policies(&scope).await.map_err(fail)? {
                let unit = serde_json::to_value(v.unit)?.as_str().unwrap_or_default().to_string();
                println!(
                    "{:<20} {:>7} {:<7} {:<8} {:>7}  {}",
                    v.policy,
                    v.value,
                    unit,
                    if v.enabled { "yes" } else { "no" },
                    v.default,
                    v.removes
                );
            }
        }
        RetentionWhat::Set {
            policy,
            value,
            enable,
            disable,
        } => {
            let enabled = match (enable, disable) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            };
            if value.is_none() && enabled.is_none() {
                bail!("give --value N, --enable or --disable");
            }
            let v = p.set_retention_policy(&scope, &policy, value, enabled).await.map_err(fail)?;
            println!("{}", serde_json::to_string(&v)?);
        }
        RetentionWhat::Preview { policy } => {
            let v = p.retention_preview(&scope, &policy).await.map_err(fail)?;
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        RetentionWhat::Run => {
            let report = p.run_retention().await.map_err(fail)?;
            let done = p.run_due_erasures().await.map_err(fail)?;
            for (tenant, policy, n) in &report.applied {
                println!("tenant {tenant}: {policy}: {n}");
            }
            println!("{} records removed or redacted, {done} erasures run", report.total());
        }
    }
    p.helpdesk().db().close().await;
    Ok(())
}
