//! The access-export benchmark: one person with 1 000 tickets and 10 000 comments in a
//! database that holds the suite's other tickets; JSON and PDF built through the library, timed
//! against a baseline of reading the same rows' ciphertext without opening anything.

use std::time::Instant;

use suoja_core::{Email, Personal, Role, Scope, UserId};
use suoja_helpdesk::Helpdesk;
use suoja_helpdesk::model::{CommentInput, RequesterRef, TicketInput, UserInput};
use suoja_privacy::Privacy;
use suoja_privacy::export::{Format, Options, no_progress, package};

/// Tickets of the exported person.
pub const TICKETS: usize = 1_000;
/// Comments per ticket (including the description).
pub const COMMENTS_PER_TICKET: usize = 10;

/// Export figures (best of three runs, milliseconds).
#[derive(Debug, Clone, Default)]
pub struct ExportFigures {
    /// Reading the person's ticket and comment ciphertext, nothing opened.
    pub baseline_ms: f64,
    /// Graph, decryption, placeholders and the JSON bytes.
    pub json_ms: f64,
    /// The same and the PDF.
    pub pdf_ms: f64,
    /// JSON size.
    pub json_bytes: usize,
    /// PDF size.
    pub pdf_bytes: usize,
    /// Tickets and comments in the export.
    pub tickets: usize,
    /// Comments in the export.
    pub comments: usize,
}

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// Seeds the person; returns their id.
pub async fn seed(hd: &Helpdesk, admin: &Scope) -> anyhow::Result<UserId> {
    let person = hd
        .create_user(
            admin,
            UserInput {
                name: Some(Personal::new("Export Person".into())),
                email: Some(Some(Email::parse("export.person@example.fi").map_err(|e| err(e.0))?)),
                role: Some(Role::EndUser),
                ..Default::default()
            },
        )
        .await
        .map_err(err)?;
    let batch: Vec<TicketInput> = (0..TICKETS)
        .map(|i| {
            let (subject, body) = super::ticket_text(i);
            TicketInput {
                subject: Some(Personal::new(subject)),
                comment: Some(CommentInput {
                    body: Some(Personal::new(body)),
                    public: true,
                    ..Default::default()
                }),
                requester: Some(RequesterRef::Id(person.id)),
                ..Default::default()
            }
        })
        .collect();
    hd.import_tickets(admin, batch).await.map_err(err)?;
    let ids: Vec<i64> = {
        let mut c = hd.db().read().await?;
        sqlx::query_scalar::<_, i64>("SELECT id FROM tickets WHERE tenant_id = $1 AND requester_id = $2 ORDER BY id")
            .bind(admin.tenant.0)
            .bind(person.id.0)
            .fetch_all(&mut c)
            .await?
    };
    let bar = indicatif::ProgressBar::new((ids.len() * (COMMENTS_PER_TICKET - 1)) as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("  seeding export person {bar:40} {pos}/{len} comments")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    for (n, id) in ids.iter().enumerate() {
        for k in 1..COMMENTS_PER_TICKET {
            let (_, body) = super::ticket_text(n * COMMENTS_PER_TICKET + k);
            let public = k % 3 != 0;
            hd.update_ticket(
                admin,
                suoja_core::TicketId(*id),
                TicketInput {
                    comment: Some(CommentInput {
                        body: Some(Personal::new(body)),
                        public,
                        author_id: if public && k % 2 == 0 { Some(person.id) } else { None },
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            )
            .await
            .map_err(err)?;
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    Ok(person.id)
}

/// Reading the person's comment ciphertext, nothing opened: best of three in ms, and how many
/// comments were read.
pub async fn baseline(hd: &Helpdesk, admin: &Scope, person: UserId) -> anyhow::Result<(f64, usize)> {
    let mut best = f64::MAX;
    let mut n = 0;
    for _ in 0..3 {
        let t = Instant::now();
        let mut c = hd.db().read().await?;
        let rows: Vec<Vec<u8>> = sqlx::query_scalar(
            "SELECT c.body_enc FROM comments c JOIN tickets t ON t.tenant_id = c.tenant_id AND t.id = c.ticket_id WHERE t.tenant_id = $1 AND t.requester_id = $2",
        )
        .bind(admin.tenant.0)
        .bind(person.0)
        .fetch_all(&mut c)
        .await?;
        drop(c);
        n = rows.len();
        best = best.min(t.elapsed().as_secs_f64() * 1000.0);
    }
    Ok((best, n))
}

/// Times the export of `person`.
pub async fn measure(hd: &Helpdesk, privacy: &Privacy, admin: &Scope, person: UserId) -> anyhow::Result<ExportFigures> {
    let mut f = ExportFigures {
        baseline_ms: f64::MAX,
        json_ms: f64::MAX,
        pdf_ms: f64::MAX,
        ..Default::default()
    };
    (f.baseline_ms, f.comments) = baseline(hd, admin, person).await?;
    for _ in 0..3 {
        let t = Instant::now();
        let export = privacy.export(admin, person, None, &Options::default(), &no_progress).await.map_err(err)?;
        let mut json = package::InMemory::default();
        privacy.write_package(admin.tenant, &export, Format::Json, &mut json).await.map_err(err)?;
        let json = json.0;
        let json_ms = t.elapsed().as_secs_f64() * 1000.0;
        f.json_ms = f.json_ms.min(json_ms);
        f.json_bytes = json.len();
        f.tickets = export.doc.get("tickets").and_then(serde_json::Value::as_array).map_or(0, Vec::len);

        let t = Instant::now();
        let export = privacy.export(admin, person, None, &Options::default(), &no_progress).await.map_err(err)?;
        let mut pdf = package::InMemory::default();
        privacy.write_package(admin.tenant, &export, Format::Pdf, &mut pdf).await.map_err(err)?;
        let pdf = pdf.0;
        f.pdf_ms = f.pdf_ms.min(t.elapsed().as_secs_f64() * 1000.0);
        f.pdf_bytes = pdf.len();
    }
    println!(
        "  export of {} tickets / {} comments: baseline read {:.0} ms, JSON {:.0} ms, PDF {:.0} ms ({:.1} MB)",
        f.tickets,
        f.comments,
        f.baseline_ms,
        f.json_ms,
        f.pdf_ms,
        f.pdf_bytes as f64 / 1e6
    );
    Ok(f)
}
