//! `suoja serve`: runs the server until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use suoja_core::Email;

/// Arguments of `suoja serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Data directory.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Create a demo tenant on first start and print its credentials once.
    #[arg(long)]
    pub demo: bool,
}

/// Runs `suoja serve`.
pub async fn run(config: Option<&std::path::Path>, args: ServeArgs) -> anyhow::Result<()> {
    let s = super::settings(config, args.data_dir, args.listen)?;
    let hd = crate::app::open(&s).await?;
    // With several regions: tenants this region's database holds without a route (made before
    // regions were configured, or restored) are routed here when a node starts, so no other
    // region can take them.
    let (routed, elsewhere) = hd
        .route_local_tenants()
        .await
        .map_err(|e| anyhow::anyhow!("routing this region's tenants: {e}"))?;
    if !routed.is_empty() {
        tracing::info!(tenants = routed.len(), region = %s.region, "tenants of this region routed to it");
    }
    for (subdomain, other) in &elsewhere {
        tracing::warn!(%subdomain, region = %other, "a tenant of this database is routed to another region; its requests are refused here");
    }
    let has_tenant = {
        let mut c = hd.db().read().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        suoja_store::tenants::first(&mut c).await.map_err(|e| anyhow::anyhow!("{e}"))?.is_some()
    };
    if !has_tenant && args.demo {
        let email = Email::parse("admin@demo.suoja.example").map_err(|e| anyhow::anyhow!(e.0))?;
        let b = hd.create_tenant("demo", "Suoja demo", &s.region, &email, true).await?;
        println!("Demo tenant created. These credentials are shown once:");
        println!("  admin e-mail: {}", email.as_personal().expose());
        if let Some(p) = &b.password {
            println!("  password:     {}", p.expose());
        }
        println!("  API token:    {}", b.api_token.expose());
        println!(
            "  try: curl -u '{}/token:{}' http://{}/api/v2/users/me.json",
            email.as_personal().expose(),
            b.api_token.expose(),
            s.listen
        );
    } else {
        crate::app::require_tenant(has_tenant)?;
    }
    let running = crate::app::start(&s, hd, None).await?;
    println!("Suoja is listening on http://{}", running.addr);
    tracing::info!(listen = %running.addr, "serving");
    crate::app::shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight requests");
    running.stop().await?;
    Ok(())
}
