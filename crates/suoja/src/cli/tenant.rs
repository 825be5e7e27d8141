//! `suoja tenant move SUBDOMAIN --to REGION` (with `--cancel`) and `suoja tenant move-status
//! SUBDOMAIN`: moving a tenant between the configuration's regions (see `relocate.rs`).

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// Arguments of `suoja tenant`.
#[derive(Debug, Args)]
pub struct TenantArgs {
    /// What to do.
    #[command(subcommand)]
    pub what: TenantWhat,
}

/// `suoja tenant` commands.
#[derive(Debug, Subcommand)]
pub enum TenantWhat {
    /// Move a tenant to another region: copy, verify, switch its route, erase the source
    /// (checked down to the bytes) and print the certificate. Run it again to resume a move that
    /// stopped; its requests are refused (503) until the route switches.
    Move {
        /// The tenant's subdomain.
        subdomain: String,
        /// The region to move it to (one of `[regions]`, on PostgreSQL).
        #[arg(long, required_unless_present = "cancel")]
        to: Option<String>,
        /// Cancel a move that has not switched the route yet (the tenant is served where it was).
        #[arg(long, conflicts_with = "to")]
        cancel: bool,
        /// Leave the source's tables as they are after deleting the tenant's rows (`VACUUM`,
        /// no `VACUUM FULL`, so other tenants are never locked out): sealed values may stay in
        /// freed space, unreadable once the tenant key is gone.
        #[arg(long)]
        no_rewrite: bool,
        /// A file or directory the byte scan of the source reads (e.g. the PostgreSQL data
        /// directory, when this process can read it); may be given several times.
        #[arg(long)]
        scan: Vec<PathBuf>,
        /// Also write the certificate to this file.
        #[arg(long)]
        certificate: Option<PathBuf>,
        /// The move stopped because the old region changed after the verification (it named
        /// the tables), and what changed has been brought over by hand: erase the old copy.
        #[arg(long)]
        source_checked: bool,
    },
    /// Print where a tenant's latest move stands (and its certificate once done).
    MoveStatus {
        /// The tenant's subdomain.
        subdomain: String,
    },
}

/// Runs `suoja tenant`.
pub async fn run(config: Option<&std::path::Path>, args: TenantArgs) -> anyhow::Result<()> {
    let s = super::settings(config, None, None)?;
    match args.what {
        TenantWhat::Move {
            subdomain,
            to,
            cancel,
            no_rewrite,
            scan,
            certificate,
            source_checked,
        } => {
            if cancel {
                return match crate::relocate::cancel(&s, &subdomain).await? {
                    Some(m) => {
                        eprintln!(
                            "the move of {subdomain} to {} is cancelled: {} serves it again (within seconds), and what was copied to {} is removed",
                            m.to, m.from, m.to
                        );
                        Ok(())
                    }
                    None => anyhow::bail!("{subdomain} has no move to cancel (none, or its route has already switched)"),
                };
            }
            let to = to.ok_or_else(|| anyhow::anyhow!("--to REGION is required"))?;
            let opts = crate::relocate::Options {
                rewrite: !no_rewrite,
                scan,
                source_checked,
                ..crate::relocate::Options::default()
            };
            let cert = crate::relocate::run(&s, &subdomain, &to, &opts).await?;
            let text = serde_json::to_string_pretty(&cert)?;
            if let Some(path) = certificate {
                std::fs::write(&path, format!("{text}\n")).map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
            }
            println!("{text}");
            Ok(())
        }
        TenantWhat::MoveStatus { subdomain } => {
            let Some(m) = crate::relocate::status(&s, &subdomain).await? else {
                println!("{}", serde_json::json!({"subdomain": subdomain, "move": null}));
                return Ok(());
            };
            let certificate: Option<serde_json::Value> = match m.phase {
                suoja_store::routing::MovePhase::Done => m.certificate.as_deref().and_then(|c| serde_json::from_str(c).ok()),
                _ => None,
            };
            println!(
                "{}",
                serde_json::json!({
                    "subdomain": m.subdomain,
                    "tenant_id": m.tenant,
                    "from_region": m.from,
                    "to_region": m.to,
                    "phase": m.phase.as_str(),
                    "started_at": m.started_at.to_iso(),
                    "updated_at": m.updated_at.to_iso(),
                    "certificate": certificate,
                })
            );
            Ok(())
        }
    }
}
