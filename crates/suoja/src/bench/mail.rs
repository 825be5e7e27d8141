//! What the e-mail channel costs. Inbound: messages of ~10 KB of text with a 100 KB attachment
//! are read, turned into tickets (sender's account, ticket, comment, file, the sealed original,
//! thread entry, acknowledgement queued) one transaction each, one at a time (as
//! `suoja mail deliver` takes them) and four side by side (as an IMAP pass stores them), against
//! the in-run baseline of storing the same bytes as one row each, one transaction each, in the
//! same database, the same way.
//! Outbound (with real mail servers, named as the tests name them in `SUOJA_TEST_MAIL`):
//! queued messages handed to the SMTP server, and the time from a public reply's commit to the
//! message in the requester's mailbox, with the server's own mail loop doing the sending.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures_util::StreamExt as _;
use suoja_config::Settings;
use suoja_core::{Email, Personal, Scope, TicketId};
use suoja_helpdesk::model::{CommentInput, TicketInput};

/// The mail figures on one engine.
#[derive(Debug, Clone, Default)]
pub struct MailFigures {
    /// `sqlite` or `postgres`.
    pub engine: String,
    /// Messages stored.
    pub messages: usize,
    /// Bytes of one message.
    pub message_bytes: usize,
    /// Storing the raw bytes as one row each, one at a time, ms for all.
    pub baseline_ms: f64,
    /// Importing them as tickets one at a time, ms for all.
    pub import_ms: f64,
    /// The same, [`suoja_mail::IMPORT_AT_ONCE`] side by side: baseline and import, ms for all.
    pub baseline_side_ms: f64,
    pub import_side_ms: f64,
    /// Messages handed to the SMTP server and the ms it took (with mail servers).
    pub outbound: Option<(usize, f64)>,
    /// As many messages of the same size handed straight to the SMTP server, ms.
    pub outbound_baseline_ms: f64,
    /// Reply commit to the requester's mailbox: samples, p50 ms, p99 ms (with mail servers).
    pub latency: Option<(usize, f64, f64)>,
}

/// The test mail servers, as `.ci/mail-start` prints them.
struct MailEnv {
    smtp: String,
    imap: (String, u16),
    domain: String,
    password: String,
}

fn mail_env() -> Option<MailEnv> {
    let v = std::env::var("SUOJA_TEST_MAIL").ok()?;
    let get = |k: &str| v.split(',').find_map(|p| p.strip_prefix(&format!("{k}="))).map(str::to_string);
    let imap = get("imap")?;
    let (h, p) = imap.rsplit_once(':')?;
    Some(MailEnv {
        smtp: get("smtp")?,
        imap: (h.to_string(), p.parse().ok()?),
        domain: get("domain")?,
        password: get("password")?,
    })
}

/// A message of ~10 KB of text and a 100 KB attachment from `from`.
fn message(from: &str, to: &str, i: usize) -> Vec<u8> {
    let text: String = (0..160)
        .map(|k| format!("Rivi {k} viestissä {i}: tilaus ei ole saapunut, ystävällisin terveisin.\r\n"))
        .collect();
    let attachment: Vec<u8> = (0..100 * 1024).map(|k| u8::try_from((k * 31 + i) % 251).unwrap_or(0)).collect();
    let b64 = {
        use base64::Engine as _;
        let s = base64::engine::general_purpose::STANDARD.encode(&attachment);
        s.as_bytes()
            .chunks(76)
            .map(|c| String::from_utf8_lossy(c).into_owned() + "\r\n")
            .collect::<String>()
    };
    format!(
        "From: Asiakas {i} <{from}>\r\nTo: {to}\r\nSubject: Tilaus {i}\r\nMessage-ID: <bench.{i}.{}@client.example>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n\
         --b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"kuitti-{i}.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}--b--\r\n",
        super::hex_suffix()
    )
    .into_bytes()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = suoja_core::num::floor_usize(((sorted.len() - 1) as f64 * p).round());
    sorted.get(i.min(sorted.len() - 1)).copied().unwrap_or(0.0)
}

/// Measures one engine (`pg`: a PostgreSQL server where databases may be created).
pub async fn measure(engine: &str, pg: Option<&str>, messages: usize) -> anyhow::Result<MailFigures> {
    let dir = std::env::temp_dir().join(format!("suoja-bench-mail-{engine}-{}", super::hex_suffix()));
    std::fs::create_dir_all(&dir)?;
    let env = mail_env();
    let support = match &env {
        Some(e) => format!("bench-support-{}@{}", super::hex_suffix(), e.domain),
        None => "support@bench.example".to_string(),
    };
    let mut settings = Settings {
        data_dir: dir.clone(),
        mail_from: Some(support.clone()),
        rate_limit_per_minute: 1_000_000,
        mail_per_sender_per_hour: 1_000_000,
        ..Settings::default()
    };
    if let Some(e) = &env {
        settings.smtp_url = Some(format!("smtp://{}?tls=none", e.smtp));
    }
    if let Some(admin) = pg {
        settings.database_url = Some(super::create_pg_database(admin).await?);
    }
    let hd = crate::app::open(&settings).await?;
    let privacy = crate::app::privacy(hd.clone(), &settings)?;
    let room = crate::app::mailroom(&privacy, &settings)?.context("mail_from is set")?;
    let boot = super::bench_tenant(&hd, "bench@example.fi").await?;
    let domain = env.as_ref().map_or("example.fi", |e| e.domain.as_str()).to_string();
    let sender = |i: usize| format!("bench-customer-{}@{domain}", i % 50);
    let msgs: Vec<Vec<u8>> = (0..messages).map(|i| message(&sender(i), &support, i)).collect();
    let message_bytes = msgs.first().map_or(0, Vec::len);

    // Baseline: the same bytes, one row each, one transaction each; one at a time, and
    // IMPORT_AT_ONCE side by side.
    {
        let mut tx = hd.db().begin().await?;
        sqlx::query("CREATE TABLE bench_raw (id BIGINT PRIMARY KEY, raw BYTEA)")
            .execute(&mut *tx)
            .await
            .or_else(|_| Ok::<_, sqlx::Error>(Default::default()))?;
        tx.commit().await?;
    }
    let store_row = |id: i64, m: &[u8]| {
        let (hd, m) = (hd.clone(), m.to_vec());
        async move {
            let mut tx = hd.db().begin().await?;
            sqlx::query("INSERT INTO bench_raw (id, raw) VALUES ($1, $2)")
                .bind(id)
                .bind(m)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, anyhow::Error>(())
        }
    };
    let (mut baseline_ms, mut baseline_side_ms) = (f64::MAX, f64::MAX);
    for round in 0..2_i64 {
        let t = Instant::now();
        for (i, m) in msgs.iter().enumerate() {
            store_row(round * 10_000_000 + suoja_core::num::to_i64(i), m).await?;
        }
        baseline_ms = baseline_ms.min(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        let rows = futures_util::stream::iter(
            msgs.iter()
                .enumerate()
                .map(|(i, m)| store_row(round * 10_000_000 + 5_000_000 + suoja_core::num::to_i64(i), m)),
        )
        .buffer_unordered(suoja_mail::IMPORT_AT_ONCE)
        .collect::<Vec<_>>()
        .await;
        rows.into_iter().collect::<anyhow::Result<Vec<()>>>()?;
        baseline_side_ms = baseline_side_ms.min(t.elapsed().as_secs_f64() * 1000.0);
    }
    {
        let mut tx = hd.db().begin().await?;
        sqlx::query("DROP TABLE bench_raw").execute(&mut *tx).await?;
        tx.commit().await?;
    }

    // Half the messages one at a time, the other half as an IMAP pass stores them.
    let half = messages / 2;
    let (first, second) = msgs.split_at(half.min(msgs.len()));
    let t = Instant::now();
    for m in first {
        room.deliver(boot.tenant, m).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let import_ms = t.elapsed().as_secs_f64() * 1000.0 * messages as f64 / half.max(1) as f64;
    let t = Instant::now();
    for chunk in second.chunks(16) {
        let bodies: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
        for r in room.deliver_all(boot.tenant, &bodies).await {
            r.map_err(|e| anyhow::anyhow!("{e}"))?;
        }
    }
    let import_side_ms = t.elapsed().as_secs_f64() * 1000.0 * messages as f64 / (messages - half).max(1) as f64;
    println!(
        "  {engine}: {messages} messages of {} KB imported at {:.0}/s one at a time, {:.0}/s {} side by side; the same bytes as rows {baseline_ms:.0} / {baseline_side_ms:.0} ms",
        message_bytes / 1024,
        messages as f64 / (import_ms / 1000.0),
        messages as f64 / (import_side_ms / 1000.0),
        suoja_mail::IMPORT_AT_ONCE,
    );

    let mut figures = MailFigures {
        engine: engine.to_string(),
        messages,
        message_bytes,
        baseline_ms,
        import_ms,
        baseline_side_ms,
        import_side_ms,
        ..Default::default()
    };
    if let Some(e) = &env {
        // Every import queued an acknowledgement: hand them all to the SMTP server. The
        // baseline hands as many messages of the same size straight to it, 20 at a time over
        // the same pooled connections (what the mail server itself takes).
        let smtp = suoja_mail::send::Smtp::from_url(&format!("smtp://{}?tls=none", e.smtp), &suoja_mail::Trust::public())?;
        let text: String = "Hello, we received your request and will answer soon. ".repeat(200);
        let t = Instant::now();
        for chunk in (0..messages).collect::<Vec<_>>().chunks(20) {
            let sends = chunk.iter().map(|i| {
                let to = sender(*i);
                let id = format!("bench.baseline.{i}.{}@{}", super::hex_suffix(), e.domain);
                let (smtp, support, text) = (&smtp, &support, &text);
                async move { smtp.send_plain(support, &to, "Baseline", text, &id).await }
            });
            for r in futures_util::future::join_all(sends).await {
                r.map_err(|e| anyhow::anyhow!("baseline send: {e}"))?;
            }
        }
        figures.outbound_baseline_ms = t.elapsed().as_secs_f64() * 1000.0;
        let t = Instant::now();
        let mut sent = 0;
        loop {
            let s = room.send_due(&smtp).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            sent += s.sent;
            if s.sent + s.retried + s.failed == 0 {
                break;
            }
        }
        let out_ms = t.elapsed().as_secs_f64() * 1000.0;
        println!(
            "  {engine}: {sent} messages handed to the SMTP server in {out_ms:.0} ms ({:.0}/s)",
            sent as f64 / (out_ms / 1000.0)
        );
        figures.outbound = Some((sent, out_ms));
        figures.latency = Some(latency(&settings, hd.clone(), &boot.admin, e).await?);
    } else {
        hd.db().close().await;
    }
    let _ = std::fs::remove_dir_all(&dir);
    if let (Some(admin), Some(url)) = (pg, &settings.database_url) {
        super::drop_pg_database(admin, url).await;
    }
    Ok(figures)
}

/// A server with its mail loop; an agent replies publicly on a ticket 40 times, one at a time,
/// and each reply is timed from its commit until it is in the requester's mailbox.
async fn latency(settings: &Settings, hd: suoja_helpdesk::Helpdesk, admin: &Scope, e: &MailEnv) -> anyhow::Result<(usize, f64, f64)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let running = crate::app::start(settings, hd.clone(), Some(listener)).await?;
    let requester = format!("bench-requester-{}@{}", super::hex_suffix(), e.domain);
    let ticket = hd
        .create_ticket(
            admin,
            TicketInput {
                subject: Some(Personal::new("Latency".into())),
                requester: Some(suoja_helpdesk::model::RequesterRef::New {
                    name: None,
                    email: Email::parse(&requester).map_err(|e| anyhow::anyhow!(e.0))?,
                }),
                comment: Some(CommentInput {
                    body: Some(Personal::new("Opened for the latency benchmark.".into())),
                    public: true,
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .ticket
        .id;
    let mut samples = Vec::new();
    let mut have = count_mail(e, &requester).await?;
    // The acknowledgement of the new ticket first.
    if wait_until(e, &requester, have + 1).await? {
        have += 1;
    }
    for i in 0..40 {
        reply(&hd, admin, ticket, i).await?;
        let t = Instant::now();
        if !wait_until(e, &requester, have + 1).await? {
            anyhow::bail!("a reply did not reach the requester's mailbox in 30 s");
        }
        have += 1;
        samples.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    running.stop().await?;
    samples.sort_by(f64::total_cmp);
    Ok((samples.len(), percentile(&samples, 0.5), percentile(&samples, 0.99)))
}

/// Waits (up to 30 s) until `address` has `n` messages; whether it did.
async fn wait_until(e: &MailEnv, address: &str, n: usize) -> anyhow::Result<bool> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if count_mail(e, address).await? >= n {
            return Ok(true);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(false)
}

async fn reply(hd: &suoja_helpdesk::Helpdesk, admin: &Scope, ticket: TicketId, i: usize) -> anyhow::Result<()> {
    hd.update_ticket(
        admin,
        ticket,
        TicketInput {
            comment: Some(CommentInput {
                body: Some(Personal::new(format!("Reply {i} for the latency benchmark."))),
                public: true,
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

/// Messages in `address`'s INBOX.
async fn count_mail(e: &MailEnv, address: &str) -> anyhow::Result<usize> {
    let tcp = tokio::net::TcpStream::connect((e.imap.0.as_str(), e.imap.1)).await?;
    let mut client = async_imap::Client::new(tcp);
    client.read_response().await?;
    let mut s = client.login(address, &e.password).await.map_err(|(e, _)| anyhow::anyhow!("IMAP login: {e}"))?;
    let mailbox = s.select("INBOX").await?;
    let _ = s.logout().await;
    Ok(usize::try_from(mailbox.exists).unwrap_or(usize::MAX))
}
