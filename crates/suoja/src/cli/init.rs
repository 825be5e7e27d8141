//! `suoja init`: non-interactive bootstrap for scripts and CI.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;
use suoja_core::Email;

/// Arguments of `suoja init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Data directory.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// E-mail of the first admin.
    #[arg(long)]
    pub admin_email: String,
    /// Subdomain that selects the tenant.
    #[arg(long, default_value = "default")]
    pub subdomain: String,
    /// Display name of the organisation.
    #[arg(long, default_value = "Suoja")]
    pub name: String,
    /// Also generate a password for the admin (printed once).
    #[arg(long)]
    pub with_password: bool,
    /// The region to create the tenant in, one of the configuration's `[regions]` (its
    /// database, blob store and root key are used; the subdomain is routed to it). Default:
    /// `region`.
    #[arg(long)]
    pub region: Option<String>,
}

/// Runs `suoja init`.
pub async fn run(config: Option<&std::path::Path>, args: InitArgs) -> anyhow::Result<()> {
    let email = Email::parse(&args.admin_email).map_err(|e| anyhow::anyhow!("--admin-email {}", e.0))?;
    let mut s = super::settings(config, args.data_dir, None)?;
    if let Some(region) = &args.region {
        if s.regions.is_empty() {
            anyhow::ensure!(
                *region == s.region,
                "--region {region}: this installation has one region, {}; configure [regions] to have several",
                s.region
            );
        } else {
            s = s.in_region(region)?;
        }
    }
    let hd = crate::app::open(&s).await?;
    let b = hd.create_tenant(&args.subdomain, &args.name, &s.region, &email, args.with_password).await;
    if let Some(r) = hd.residency() {
        r.routes.close().await;
    }
    let b = b?;
    let mut line = json!({"tenant": b.subdomain, "tenant_id": b.tenant.0, "region": s.region, "admin_email": email.as_personal().expose(), "api_token": b.api_token.expose()});
    if let Some(p) = &b.password {
        suoja_core::json::set(&mut line, "admin_password", json!(p.expose()));
    }
    println!("{line}");
    hd.db().close().await;
    Ok(())
}
