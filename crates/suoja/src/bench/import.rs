//! What moving in from another helpdesk costs. A source installation (SQLite) is seeded through
//! the library with tickets of five comments each (the first by the requester, then agents and
//! requester in turn, one of them an internal note), and served by `suoja serve`; then
//! `suoja import zendesk` brings the whole tenant into a fresh installation on each engine,
//! timed from start to end. The in-run baseline reads exactly what the import reads (every
//! incremental page and every ticket's comments, as many requests at once) and writes nothing,
//! so the ratio says what writing costs on top of reading.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures_util::StreamExt as _;
use serde_json::Value;
use suoja_config::Settings;
use suoja_core::{Email, Personal, Role, Timestamp, UserId};
use suoja_helpdesk::import::{ImportedComment, ImportedTicket, ImportedUser};
use suoja_helpdesk::model::{Channel, CommentInput, RequesterRef, TicketInput, UserInput};

use super::{ChildGuard, free_port, serve_command, wait_port};

/// Requests to the source at once, for the import and the baseline alike.
pub const PARALLEL: usize = 8;

/// The import figures on one engine.
#[derive(Debug, Clone, Default)]
pub struct ImportFigures {
    /// `sqlite` or `postgres` (the destination's engine).
    pub engine: String,
    /// Tickets brought over.
    pub tickets: usize,
    /// Comments per ticket.
    pub comments: usize,
    /// Reading everything the import reads, seconds.
    pub read_secs: f64,
    /// The import, seconds.
    pub import_secs: f64,
    /// Of the import's tickets stage: seconds spent writing, and waiting for the source (as
    /// the import reports them).
    pub split: Option<(f64, f64)>,
    /// Seeding the source through the library (SQLite), seconds.
    pub seed_secs: f64,
}

/// Seeds the source and measures an import into each engine.
pub async fn measure(pg: Option<&str>, tickets: usize) -> anyhow::Result<Vec<ImportFigures>> {
    let src_dir = std::env::temp_dir().join(format!("suoja-bench-import-src-{}", super::hex_suffix()));
    std::fs::create_dir_all(&src_dir)?;
    let src_settings = Settings {
        data_dir: src_dir.clone(),
        ..Settings::default()
    };
    let seeding = Instant::now();
    let token = seed_source(&src_settings, tickets).await?;
    let seed_secs = seeding.elapsed().as_secs_f64();
    let port = free_port()?;
    let _source = ChildGuard {
        child: serve_command(&src_dir, port, &src_settings)?.spawn().context("starting the source")?,
    };
    wait_port(port).await?;
    let base = format!("http://127.0.0.1:{port}");
    let mut out = Vec::new();
    for (engine, admin) in [("sqlite", None), ("postgres", pg)] {
        if engine == "postgres" && admin.is_none() {
            continue;
        }
        let read_secs = read_everything(&base, &token).await?;
        let (import_secs, split) = import_into(engine, admin, &base, &token, tickets).await?;
        println!(
            "  import into {engine}: {tickets} tickets of 5 comments in {import_secs:.1} s ({:.0} tickets/s); reading alone {read_secs:.1} s",
            tickets as f64 / import_secs
        );
        out.push(ImportFigures {
            engine: engine.into(),
            tickets,
            comments: 5,
            read_secs,
            import_secs,
            split,
            seed_secs,
        });
    }
    let _ = std::fs::remove_dir_all(&src_dir);
    Ok(out)
}

/// The source tenant: 200 end users, 5 agents, `tickets` tickets of five comments (the
/// requester's, an agent's reply, the requester's answer, an agent's internal note, an agent's
/// reply), written through the library in batches. Returns the admin's API token.
async fn seed_source(settings: &Settings, tickets: usize) -> anyhow::Result<String> {
    let err = |e: suoja_helpdesk::HelpdeskError| anyhow::anyhow!("{e}");
    let hd = crate::app::open(settings).await?;
    let boot = super::bench_tenant(&hd, "bench@example.fi").await?;
    let scope = suoja_core::Scope::operator(boot.admin.tenant);
    let people: Vec<ImportedUser> = (0..205)
        .map(|i| {
            Ok(ImportedUser {
                source_id: i,
                input: UserInput {
                    name: Some(Personal::new(format!("Person {i}"))),
                    email: Some(Some(Email::parse(&format!("person{i}@example.fi")).map_err(|e| anyhow::anyhow!(e.0))?)),
                    role: Some(if i < 5 { Role::Agent } else { Role::EndUser }),
                    ..Default::default()
                },
                created_at: None,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let made = hd.import_people(&scope, "bench-seed", people).await.map_err(err)?;
    let ids: Vec<UserId> = made.landed.iter().map(|(_, l)| UserId(l.id())).collect();
    let (agents, requesters) = ids.split_at(5);
    let started = Instant::now();
    let bar = indicatif::ProgressBar::new(tickets as u64);
    let mut done = 0;
    while done < tickets {
        let n = (tickets - done).min(500);
        let batch = (done..done + n).map(|i| seed_ticket(i, agents, requesters)).collect();
        hd.import_conversations(&scope, "bench-seed", batch).await.map_err(err)?;
        done += n;
        bar.set_position(done as u64);
    }
    bar.finish_and_clear();
    println!("  source seeded: {tickets} tickets of 5 comments in {:.0} s", started.elapsed().as_secs_f64());
    hd.db().close().await;
    Ok(boot.api_token.expose().clone())
}

fn seed_ticket(i: usize, agents: &[UserId], requesters: &[UserId]) -> ImportedTicket {
    let pick = |list: &[UserId], k: usize| list.get(k % list.len().max(1)).copied().unwrap_or(UserId(1));
    let requester = pick(requesters, i);
    let agent = pick(agents, i);
    let t0 = Timestamp(1_700_000_000_000 + suoja_core::num::to_i64(i) * 60_000);
    let comment = |k: usize, author: UserId, public: bool| CommentInput {
        body: Some(Personal::new(super::reply_text(i * 5 + k))),
        html_body: None,
        public,
        author_id: Some(author),
        uploads: Vec::new(),
        files: Vec::new(),
        via: Channel::Import,
    };
    let (subject, _) = super::ticket_text(i);
    ImportedTicket {
        source_id: suoja_core::num::to_i64(i),
        input: TicketInput {
            subject: Some(Personal::new(subject)),
            comment: Some(comment(0, requester, true)),
            requester: Some(RequesterRef::Id(requester)),
            submitter_id: Some(requester),
            assignee_id: Some(Some(agent)),
            tags: Some(vec!["bench".into()]),
            ..Default::default()
        },
        later: [(agent, true), (requester, true), (agent, false), (agent, true)]
            .into_iter()
            .enumerate()
            .map(|(k, (who, public))| ImportedComment {
                input: comment(k + 1, who, public),
                created_at: Timestamp(t0.0 + suoja_core::num::to_i64(k + 1) * 3_600_000),
            })
            .collect(),
        created_at: t0,
        updated_at: Timestamp(t0.0 + 5 * 3_600_000),
    }
}

/// Reads what an import reads: the incremental exports of people and tickets, and each
/// ticket's comments, `PARALLEL` at a time. Seconds.
async fn read_everything(base: &str, token: &str) -> anyhow::Result<f64> {
    let client = reqwest::Client::new();
    let get = |url: String| {
        let client = client.clone();
        async move {
            let r = client.get(url).basic_auth("bench@example.fi/token", Some(token)).send().await?;
            if !r.status().is_success() {
                bail!("the source answered {}", r.status());
            }
            Ok::<Value, anyhow::Error>(r.json().await?)
        }
    };
    let started = Instant::now();
    for root in ["users", "tickets"] {
        let mut url = format!("{base}/api/v2/incremental/{root}/cursor.json?start_time=0");
        loop {
            let page = get(url.clone()).await?;
            let items = page.get(root).and_then(Value::as_array).cloned().unwrap_or_default();
            if root == "tickets" {
                let results: Vec<anyhow::Result<Value>> = futures_util::stream::iter(items.iter().filter_map(|t| t.get("id").and_then(Value::as_i64)))
                    .map(|id| get(format!("{base}/api/v2/tickets/{id}/comments.json?page[size]=100&sort_order=asc")))
                    .buffered(PARALLEL)
                    .collect()
                    .await;
                for r in results {
                    r?;
                }
            }
            let more = page.get("end_of_stream") == Some(&Value::Bool(false)) && !items.is_empty();
            match page.get("after_url").and_then(Value::as_str) {
                Some(next) if more => url = next.to_string(),
                _ => break,
            }
        }
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Runs `suoja import zendesk` into a fresh installation on `engine`. Seconds, and the
/// import's own split of its tickets stage (writing, waiting for the source).
async fn import_into(engine: &str, admin: Option<&str>, base: &str, token: &str, tickets: usize) -> anyhow::Result<(f64, Option<(f64, f64)>)> {
    let dir = std::env::temp_dir().join(format!("suoja-bench-import-{engine}-{}", super::hex_suffix()));
    std::fs::create_dir_all(&dir)?;
    let mut settings = Settings {
        data_dir: dir.clone(),
        ..Settings::default()
    };
    if let Some(admin) = admin {
        settings.database_url = Some(super::create_pg_database(admin).await?);
    }
    let hd = crate::app::open(&settings).await?;
    super::bench_tenant(&hd, "dest@example.fi").await?;
    hd.db().close().await;
    let mut cmd = tokio::process::Command::new(std::env::current_exe()?);
    cmd.args([
        "import",
        "zendesk",
        "--url",
        base,
        "--email",
        "bench@example.fi",
        "--parallel",
        &PARALLEL.to_string(),
        "--data-dir",
    ])
    .arg(&dir)
    .env("ZENDESK_API_TOKEN", token)
    .env("SUOJA_LOG", "warn")
    .stdin(Stdio::null())
    .stderr(Stdio::null());
    match &settings.database_url {
        Some(u) => cmd.env("SUOJA_DATABASE_URL", u),
        None => cmd.env_remove("SUOJA_DATABASE_URL"),
    };
    let started = Instant::now();
    let out = tokio::time::timeout(Duration::from_secs(3600), cmd.output()).await??;
    let secs = started.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&out.stdout);
    let made = text
        .lines()
        .find(|l| l.trim_start().starts_with("ticket "))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|n| n.parse::<usize>().ok());
    if !out.status.success() || made != Some(tickets) {
        bail!("the import did not bring every ticket over: {text}");
    }
    // "tickets: 2.6 s writing, 12.0 s waiting for the source"
    let split = text.lines().find(|l| l.trim_start().starts_with("tickets:")).and_then(|l| {
        let numbers: Vec<f64> = l.split_whitespace().filter_map(|w| w.parse().ok()).collect();
        match numbers[..] {
            [writing, waiting] => Some((writing, waiting)),
            _ => None,
        }
    });
    if let (Some(admin), Some(url)) = (admin, &settings.database_url) {
        super::drop_pg_database(admin, url).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok((secs, split))
}
