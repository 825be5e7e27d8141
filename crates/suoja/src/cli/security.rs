//! `suoja security`: a tenant's security settings from the server's command line, as the
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
    /// Show the security settings.
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
    let p = hd.security_policy(&scope).await.map_err(fail)?;
    let s = &p.settings;
    let yes = |b: bool| if b { "yes" } else { "no" };
    println!(
        "ip_restriction: {}; allowed ranges: {}; end users held too: {}",
        if s.ip.enabled { "on" } else { "off" },
        if s.ip.allowed_ranges.is_empty() { "none" } else { &s.ip.allowed_ranges },
        yes(s.ip.end_users)
    );
    println!(
        "passwords: at least {} characters; earlier passwords refused: {}",
        s.password.min_length, s.password.history
    );
    println!(
        "sessions: end after {} minutes idle, {} hours in all",
        s.sessions.idle_minutes, s.sessions.absolute_hours
    );
    println!(
        "second factor required: staff {}, end users {}",
        yes(p.staff_second_factor),
        yes(s.end_user_second_factor)
    );
    println!("sign-in alerts: {}", if s.sign_in_alerts { "on" } else { "off" });
    Ok(())
}
