//! `suoja mail`: the MTA's way in (`deliver`, one message on standard input, as a pipe
//! transport hands it over) and a check of the outgoing mail server.

use std::io::Read as _;
use std::path::PathBuf;

use clap::Subcommand;

use super::Exit;

/// What to do with mail.
#[derive(Debug, clap::Args)]
pub struct MailArgs {
    #[command(subcommand)]
    what: MailWhat,
}

#[derive(Debug, Subcommand)]
enum MailWhat {
    /// Store one RFC 5322 message read from standard input. Exits 0 when it is stored (or was an
    /// automatic message, dropped on purpose), 75 when the MTA should try again later, 65 when
    /// the message will never be accepted (the reason on standard error, for the bounce).
    Deliver {
        /// The tenant (subdomain) the message is for; needed when there are several.
        #[arg(long)]
        tenant: Option<String>,
        /// Data directory.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// The envelope sender (Postfix: `${sender}`); with `--client-ip`, the SPF and DMARC
        /// of mail to the privacy address are checked against it instead of the headers.
        #[arg(long)]
        sender: Option<String>,
        /// The address that handed the message over (Postfix: `${client_address}`).
        #[arg(long)]
        client_ip: Option<String>,
        /// The name it gave in HELO (Postfix: `${client_helo}`).
        #[arg(long)]
        helo: Option<String>,
    },
    /// Ask the SMTP server in `smtp_url` whether it answers.
    Check {
        /// Data directory.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

/// EX_DATAERR: the message is refused for good.
const DATAERR: u8 = 65;
/// EX_TEMPFAIL: the MTA should retry.
const TEMPFAIL: u8 = 75;

pub(super) async fn run(config: Option<&std::path::Path>, args: MailArgs) -> anyhow::Result<()> {
    match args.what {
        MailWhat::Deliver {
            tenant,
            data_dir,
            sender,
            client_ip,
            helo,
        } => {
            // An MTA with no client (mail submitted locally) passes an empty or "unknown" value.
            let envelope = suoja_mail::auth::Envelope {
                client_ip: client_ip.as_deref().and_then(|ip| ip.trim().parse().ok()),
                helo: helo.filter(|h| !h.trim().is_empty() && h != "unknown"),
                mail_from: sender.filter(|s| !s.trim().is_empty()),
            };
            let envelope = (envelope != suoja_mail::auth::Envelope::default()).then_some(envelope);
            deliver(config, tenant, data_dir, envelope).await
        }
        MailWhat::Check { data_dir } => {
            let s = super::settings(config, data_dir, None)?;
            let Some(url) = &s.smtp_url else {
                anyhow::bail!("smtp_url is not set");
            };
            suoja_mail::send::Smtp::from_url(url, &crate::app::mail_trust(&s)?)?.check().await?;
            println!("the SMTP server answers");
            Ok(())
        }
    }
}

async fn deliver(
    config: Option<&std::path::Path>,
    tenant: Option<String>,
    data_dir: Option<PathBuf>,
    envelope: Option<suoja_mail::auth::Envelope>,
) -> anyhow::Result<()> {
    let temp = |m: String| Exit { code: TEMPFAIL, message: m };
    let s = super::settings(config, data_dir, None).map_err(|e| temp(format!("configuration: {e:#}")))?;
    let mut raw = Vec::new();
    let limit = u64::try_from(s.max_mail_bytes).unwrap_or(u64::MAX).saturating_add(1);
    std::io::stdin()
        .take(limit)
        .read_to_end(&mut raw)
        .map_err(|_| temp("reading the message from standard input failed".into()))?;
    let hd = crate::app::open(&s).await.map_err(|e| temp(format!("opening the database: {e:#}")))?;
    let privacy = crate::app::privacy(hd.clone(), &s).map_err(|e| temp(format!("{e:#}")))?;
    let Some(room) = crate::app::mailroom(&privacy, &s).map_err(|e| temp(format!("{e:#}")))? else {
        return Err(temp("mail_from is not set: Suoja does not know its own address".into()).into());
    };
    let tenant = tenant.or_else(|| s.mail_tenant.clone());
    let result = match room.tenant(tenant.as_deref()).await {
        Ok(t) => room.deliver_with(t, &raw, envelope.as_ref()).await,
        Err(e) => Err(e),
    };
    hd.db().close().await;
    match result {
        Ok(d) => {
            match d {
                suoja_mail::Delivered::Bounce => println!("a bounce: recorded against the message it answers"),
                suoja_mail::Delivered::PrivacyRequest => println!("handled as a privacy request"),
                d => println!("stored in ticket {}", d.ticket().unwrap_or_default()),
            }
            Ok(())
        }
        Err(suoja_mail::MailError::Refused(r)) if !r.bounces() => {
            eprintln!("{r}");
            Ok(())
        }
        Err(e) if e.temporary() => Err(temp(format!("{e}")).into()),
        Err(e) => Err(Exit {
            code: DATAERR,
            message: e.to_string(),
        }
        .into()),
    }
}
