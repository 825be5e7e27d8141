//! `suoja bench`: the benchmark suite. It seeds a database, starts a real `suoja serve` as a
//! child process, drives it over loopback HTTP, and in the same run measures a baseline (a bare
//! axum handler inserting one row of the same size into SQLite with the same durability
//! settings), so figures are reported as ratios that hold on a noisy machine. Results go to
//! `BENCHMARKS.md`.

mod backup;
mod baseline;
mod blobs;
mod cluster;
mod erasure;
mod export;
mod help_center;
mod import;
mod load;
mod mail;
mod precision;
mod report;
mod web;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;
use serde_json::json;
use suoja_config::Settings;
use suoja_core::{Email, Personal, Role};
use suoja_helpdesk::model::{CommentInput, RequesterRef, TicketInput, UserInput};

pub use baseline::serve_baseline;
use load::Stats;

/// Arguments of `suoja bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Tickets in the database searched and read.
    #[arg(long, default_value_t = 100_000)]
    pub tickets: usize,
    /// Seconds per measured point.
    #[arg(long, default_value_t = 5)]
    pub secs: u64,
    /// Also run on PostgreSQL: a server URL where databases may be created.
    #[arg(long, env = "SUOJA_BENCH_PG_URL")]
    pub pg: Option<String>,
    /// Where to write the report.
    #[arg(long, default_value = "BENCHMARKS.md")]
    pub out: PathBuf,
    /// Only seed and measure erasure (for large databases): the report's erasure section at
    /// this size is replaced and the rest of the file kept.
    #[arg(long)]
    pub erasure_only: bool,
    /// Only seed (SQLite) and measure backup and restore: the report's backup section at this
    /// size is replaced and the rest of the file kept.
    #[arg(long, conflicts_with = "erasure_only")]
    pub backup_only: bool,
    /// Only seed (SQLite) and time the web interface's pages: the report's page section is
    /// replaced and the rest of the file kept.
    #[arg(long, conflicts_with_all = ["erasure_only", "backup_only"])]
    pub web_only: bool,
    /// Only time what precision costs: the identifier matcher against `str::replace`, and an
    /// end user's search (checked against what they can read) against an agent's. The report's
    /// precision section is replaced and the rest of the file kept.
    #[arg(long, conflicts_with_all = ["erasure_only", "backup_only", "web_only"])]
    pub precision_only: bool,
    /// Only time the e-mail channel: messages imported as tickets against storing their bytes,
    /// and, when `SUOJA_TEST_MAIL` names running mail servers (`.ci/mail-start`), messages
    /// handed to SMTP and the time from a reply to the requester's mailbox. The report's mail
    /// section is replaced and the rest of the file kept.
    #[arg(long, conflicts_with_all = ["erasure_only", "backup_only", "web_only", "precision_only"])]
    pub mail_only: bool,
    /// Only time the help center's and community's pages signed out, with 10 000 articles and
    /// 100 000 posts (or `--tickets` posts, and a tenth as many articles, when fewer). The
    /// report's help center section is replaced and the rest of the file kept.
    #[arg(long, conflicts_with_all = ["erasure_only", "backup_only", "web_only", "precision_only", "mail_only"])]
    pub hc_only: bool,
    /// Only the mixed load (70 % reads, 20 % replies, 10 % new tickets) at rising fixed rates
    /// against one, two and three nodes on one PostgreSQL database (needs `--pg`). The
    /// report's section on several nodes is replaced and the rest of the file kept.
    #[arg(long, requires = "pg", conflicts_with_all = ["erasure_only", "backup_only", "web_only", "precision_only", "mail_only", "hc_only"])]
    pub cluster_only: bool,
    /// Only time `suoja import zendesk`: a source installation seeded with `--tickets` tickets
    /// (at most 20 000) of five comments each, imported into a fresh installation on SQLite (and
    /// PostgreSQL with `--pg`), against reading the same pages alone. The report's import section
    /// is replaced and the rest of the file kept.
    #[arg(long, conflicts_with_all = ["erasure_only", "backup_only", "web_only", "precision_only", "mail_only", "hc_only", "cluster_only"])]
    pub import_only: bool,
    /// Only time uploading and downloading files (256 KB, eight at once, `--secs` each) with
    /// the files kept in the database (the baseline), a local directory and, when
    /// `SUOJA_BENCH_S3_BUCKET` and the `AWS_*` environment name one, an S3 server; on SQLite
    /// (and PostgreSQL with `--pg`). The report's file-store section is replaced and the rest
    /// kept.
    #[arg(long, conflicts_with_all = ["erasure_only", "backup_only", "web_only", "precision_only", "mail_only", "hc_only", "cluster_only", "import_only"])]
    pub blobs_only: bool,
    /// With `--cluster-only`: afterwards, run the three nodes at four fifths of their highest
    /// rate for this many seconds, sampling their memory and the database's connections.
    #[arg(long, default_value_t = 0, requires = "cluster_only")]
    pub soak_secs: u64,
    /// Keep the seeded data directory (and PostgreSQL database) of the full run and say where
    /// they are, to study query plans or profiles afterwards.
    #[arg(long)]
    pub keep: bool,
}

/// One engine's figures.
#[derive(Debug, Default)]
pub struct EngineResult {
    /// `sqlite` or `postgres`.
    pub engine: String,
    /// Create-ticket at each concurrency.
    pub create: Vec<(usize, Stats)>,
    /// Show ticket at concurrency 16.
    pub show: Option<Stats>,
    /// Search, per query kind.
    pub search: Vec<(String, usize, Stats)>,
    /// Bytes written to disk per created ticket at each concurrency (SQLite: the server's
    /// writes, WAL and database; PostgreSQL: WAL bytes).
    pub create_bytes: Vec<(usize, f64)>,
    /// A public reply of 40 words to an existing ticket, at each concurrency.
    pub reply: Vec<(usize, Stats)>,
    /// Bytes written to disk per reply at each concurrency (as `create_bytes`).
    pub reply_bytes: Vec<(usize, f64)>,
    /// Create-ticket with `durable_commits = false` (SQLite `synchronous=NORMAL`).
    pub create_normal: Vec<(usize, Stats)>,
    /// Create-ticket with `sqlite_native_writer = false` (statements through sqlx's thread).
    pub create_sqlx_writer: Vec<(usize, Stats)>,
    /// Hostile search queries: (queries, worst p50 ms, worst single ms, server errors).
    pub hostile: Option<(usize, f64, f64, usize)>,
    /// Peak resident memory of the server process, in KiB.
    pub rss_kib: u64,
    /// Seconds spent seeding.
    pub seed_secs: f64,
    /// The access-export figures.
    pub export: Option<export::ExportFigures>,
    /// The erasure figures.
    pub erasure: Option<erasure::ErasureFigures>,
    /// The backup figures.
    pub backup: Option<backup::BackupFigures>,
    /// The web page figures.
    pub web: Option<web::WebFigures>,
}

struct ChildGuard {
    child: Child,
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

async fn wait_port(port: u16) -> anyhow::Result<()> {
    for _ in 0..600 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("server on port {port} did not start")
}

/// Creates tickets through the API at `conc` for `secs`.
async fn create_load(base: &str, auth: &(String, String), requester: i64, conc: usize, secs: Duration) -> anyhow::Result<Stats> {
    let url = format!("{base}/api/v2/tickets.json");
    load::run(conc, secs, auth, move |c, i| {
        let (subject, body) = ticket_text(i);
        c.post(url.clone()).json(
            &json!({"ticket": {"requester_id": requester, "subject": subject, "comment": {"body": body}, "tags": ["bench", "load"], "priority": "normal"}}),
        )
    })
    .await
}

/// Adds a public reply of 40 words to the seeded tickets (spread over them, so no two loops
/// wait on one ticket) through the API at `conc` for `secs`.
async fn reply_load(base: &str, auth: &(String, String), tickets: i64, conc: usize, secs: Duration) -> anyhow::Result<Stats> {
    let base = base.to_string();
    load::run(conc, secs, auth, move |c, i| {
        let id = (suoja_core::num::to_i64(i) * 7919 + 13) % tickets + 1;
        c.put(format!("{base}/api/v2/tickets/{id}.json"))
            .json(&json!({"ticket": {"comment": {"body": reply_text(i), "public": true}}}))
    })
    .await
}

/// Bytes written to disk so far: the server process's writes on SQLite (`/proc/PID/io`), the
/// WAL bytes on PostgreSQL (`pg_stat_wal`).
async fn disk_writes(pid: u32, pg: Option<&str>) -> Option<u64> {
    match pg {
        None => std::fs::read_to_string(format!("/proc/{pid}/io"))
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("write_bytes:"))
            .and_then(|n| n.trim().parse().ok()),
        Some(url) => suoja_store::pg_admin::wal_bytes(url).await,
    }
}

/// Hostile or careless search queries, each sent 20 times: (queries, worst p50 ms, worst single
/// ms, answers of 500 or above). Every one must get a client error or an answer.
async fn hostile_searches(base: &str, auth: &(String, String)) -> anyhow::Result<(usize, f64, f64, usize)> {
    let words = (0..1000).map(|i| format!("word{i}")).collect::<Vec<_>>().join("%20");
    let tags = (0..1000).map(|i| format!("tags:t{i}")).collect::<Vec<_>>().join("%20");
    let queries = [
        "query=".to_string(),
        "query=%21%21%21%20%3F%3F%3F".to_string(),
        format!("query={words}"),
        format!("query=type:ticket%20{tags}"),
        format!("query={}", "a".repeat(5000)),
        "query=%22refund%20invoice".to_string(),
        "query=colour:red%20refund".to_string(),
        "query=created%3E99999999-12-31".to_string(),
        "query=%FF%FE".to_string(),
        "query=refund%00invoice".to_string(),
        "query=refund&sort_by=colour".to_string(),
        "query=refund&page=99999999999999999999".to_string(),
        "query=refund%20invoice%20order%20account%20update&per_page=100".to_string(),
    ];
    let client = reqwest::Client::new();
    let (mut worst_p50, mut worst, mut server_errors) = (0.0f64, 0.0f64, 0);
    for q in &queries {
        let mut times = Vec::new();
        for _ in 0..20 {
            let t0 = std::time::Instant::now();
            let r = client
                .get(format!("{base}/api/v2/search.json?{q}"))
                .basic_auth(&auth.0, Some(&auth.1))
                .send()
                .await?;
            if r.status().is_server_error() {
                server_errors += 1;
            }
            let _ = r.bytes().await;
            times.push(t0.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        worst_p50 = worst_p50.max(times.get(times.len() / 2).copied().unwrap_or(0.0));
        worst = worst.max(times.last().copied().unwrap_or(0.0));
    }
    println!("  hostile search queries: worst p50 {worst_p50:.1} ms, worst {worst:.1} ms, {server_errors} server errors");
    Ok((queries.len(), worst_p50, worst, server_errors))
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// The vocabulary: each generated ticket has a subject and a ~600-byte body of ordinary words,
/// plus marker words with known frequencies for the search points.
fn ticket_text(i: usize) -> (String, String) {
    const WORDS: &[&str] = &[
        "invoice",
        "refund",
        "password",
        "login",
        "delivery",
        "order",
        "account",
        "billing",
        "error",
        "update",
        "shipping",
        "payment",
        "card",
        "address",
        "return",
        "product",
        "warranty",
        "broken",
        "missing",
        "package",
        "subscription",
        "cancel",
        "upgrade",
        "download",
        "install",
        "email",
        "phone",
        "support",
        "question",
        "help",
    ];
    let word = |n: usize| WORDS.get(n % WORDS.len()).copied().unwrap_or("help");
    let mut body = String::with_capacity(700);
    let mut x = (i as u64).wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    while body.len() < 600 {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        body.push_str(word(suoja_core::num::u64_to_usize(x >> 33)));
        body.push(' ');
    }
    if i.is_multiple_of(100) {
        body.push_str("onepercentword ");
    }
    if i.is_multiple_of(10_000) {
        body.push_str("rarebenchword ");
    }
    (format!("Ticket {i} about {}", word(i)), body)
}

/// A reply of exactly 40 words from the same vocabulary as the tickets.
fn reply_text(i: usize) -> String {
    let words: Vec<String> = (0..40)
        .map(|n| {
            let (_, body) = ticket_text(i.wrapping_mul(31).wrapping_add(n));
            body.split(' ').nth(n % 7).unwrap_or("help").to_string()
        })
        .collect();
    words.join(" ")
}

async fn create_pg_database(admin: &str) -> anyhow::Result<String> {
    suoja_store::pg_admin::create_database(admin, "suoja_bench_")
        .await
        .context("creating the benchmark's PostgreSQL database")
}

/// Drops a benchmark database made by [`create_pg_database`] (best effort).
async fn drop_pg_database(admin: &str, url: &str) {
    suoja_store::pg_admin::drop_database(admin, url, "suoja_bench_").await;
}

fn hex_suffix() -> String {
    suoja_core::random::hex_id().chars().take(10).collect()
}

/// `suoja serve` on the benchmark's data directory, without rate limits or chatter.
fn serve_command(dir: &std::path::Path, port: u16, settings: &Settings) -> anyhow::Result<Command> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(["serve", "--data-dir"])
        .arg(dir)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("SUOJA_RATE_LIMIT_PER_MINUTE", "100000000")
        .env("SUOJA_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(u) = &settings.database_url {
        cmd.env("SUOJA_DATABASE_URL", u);
    } else {
        cmd.env_remove("SUOJA_DATABASE_URL");
    }
    Ok(cmd)
}

/// The create-ticket load again, at each concurrency, against a server started on the same
/// data with one boolean setting (`var`) turned off.
struct SameCreates<'a> {
    dir: &'a std::path::Path,
    settings: &'a Settings,
    auth: &'a (String, String),
    requester: i64,
    secs: Duration,
    concs: &'a [usize],
    engine: &'a str,
    var: &'static str,
}

impl SameCreates<'_> {
    async fn run(&self) -> anyhow::Result<Vec<(usize, Stats)>> {
        let port = free_port()?;
        let mut cmd = serve_command(self.dir, port, self.settings)?;
        cmd.env(self.var, "false");
        let _server = ChildGuard {
            child: cmd.spawn().context("starting suoja serve")?,
        };
        wait_port(port).await?;
        let base = format!("http://127.0.0.1:{port}");
        let mut out = Vec::new();
        for &conc in self.concs {
            let stats = create_load(&base, self.auth, self.requester, conc, self.secs).await?;
            println!("  {} create-ticket c={conc}, {}=false: {}", self.engine, self.var, stats.line());
            out.push((conc, stats));
        }
        Ok(out)
    }
}

/// The benchmark's tenant (`bench`), its admin signing in as `admin`.
async fn bench_tenant(hd: &suoja_helpdesk::Helpdesk, admin: &str) -> anyhow::Result<suoja_helpdesk::setup::Bootstrap> {
    let email = Email::parse(admin).map_err(|e| anyhow::anyhow!(e.0))?;
    hd.bootstrap_tenant("bench", "Bench", "eu", &email, false)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// A database seeded through the library.
struct Seeded {
    hd: suoja_helpdesk::Helpdesk,
    boot: suoja_helpdesk::setup::Bootstrap,
    requester: suoja_helpdesk::model::User,
    seed_secs: f64,
}

/// Seeds `settings`' database through the library: the tenant (its admin signs in as
/// `bench@example.fi`), a requester and `tickets` tickets of generated text, in transactions of
/// 1 000.
async fn seed(engine: &str, settings: &Settings, tickets: usize) -> anyhow::Result<Seeded> {
    let started = std::time::Instant::now();
    let hd = crate::app::open(settings).await?;
    let boot = bench_tenant(&hd, "bench@example.fi").await?;
    let requester = hd
        .create_user(
            &boot.admin,
            UserInput {
                name: Some(Personal::new("Bench Requester".into())),
                email: Some(Some(Email::parse("requester@example.fi").map_err(|e| anyhow::anyhow!(e.0))?)),
                role: Some(Role::EndUser),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut done = 0;
    let bar = indicatif::ProgressBar::new(tickets as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!("  seeding {engine} {{bar:40}} {{pos}}/{{len}} tickets ({{per_sec}}, eta {{eta}})"))
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    while done < tickets {
        let n = (tickets - done).min(1000);
        let batch: Vec<TicketInput> = (done..done + n)
            .map(|i| {
                let (subject, body) = ticket_text(i);
                TicketInput {
                    subject: Some(Personal::new(subject)),
                    comment: Some(CommentInput {
                        body: Some(Personal::new(body)),
                        html_body: None,
                        public: true,
                        author_id: None,
                        uploads: Vec::new(),
                        files: Vec::new(),
                        via: Default::default(),
                    }),
                    requester: Some(RequesterRef::Id(requester.id)),
                    // One in a hundred urgent, for the web benchmark's view of urgent tickets.
                    priority: (i % 100 == 0).then_some(Some(suoja_core::Priority::Urgent)),
                    ..Default::default()
                }
            })
            .collect();
        hd.import_tickets(&boot.admin, batch).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        done += n;
        bar.set_position(done as u64);
    }
    bar.finish_and_clear();
    // As a restore does after its rebuild: the batches' index segments merged now, not by
    // the creates measured next (counted in the seeding time).
    hd.compact_search_index().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let seed_secs = started.elapsed().as_secs_f64();
    Ok(Seeded {
        hd,
        boot,
        requester,
        seed_secs,
    })
}

async fn run_engine(engine: &str, pg: Option<&str>, args: &BenchArgs, baseline_create: &[(usize, Stats)]) -> anyhow::Result<EngineResult> {
    let dir = std::env::temp_dir().join(format!("suoja-bench-{engine}-{}", hex_suffix()));
    std::fs::create_dir_all(&dir)?;
    let mut settings = Settings {
        data_dir: dir.clone(),
        // The library's writes (seeding, export, erasure) as configured: `SUOJA_DURABLE_COMMITS=false`
        // measures them with commits synced at checkpoints only.
        durable_commits: std::env::var("SUOJA_DURABLE_COMMITS").map_or(true, |v| v != "false"),
        ..Settings::default()
    };
    if let Some(admin) = pg {
        settings.database_url = Some(create_pg_database(admin).await?);
    }
    let Seeded {
        hd,
        boot,
        requester,
        seed_secs,
    } = seed(engine, &settings, args.tickets).await?;
    if args.backup_only {
        hd.db().close().await;
        let port = free_port()?;
        let server = ChildGuard {
            child: serve_command(&dir, port, &settings)?.spawn().context("starting suoja serve")?,
        };
        wait_port(port).await?;
        let auth = ("bench@example.fi/token".to_string(), boot.api_token.expose().clone());
        let figures = backup::measure(
            &dir,
            &format!("http://127.0.0.1:{port}"),
            &auth,
            suoja_core::num::to_i64(args.tickets),
            Duration::from_secs(args.secs),
        )
        .await?;
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);
        return Ok(EngineResult {
            engine: engine.into(),
            seed_secs,
            backup: Some(figures),
            ..Default::default()
        });
    }
    if args.web_only {
        let (ticket, custom_view, newest_view) = web::seed(&hd, &boot.admin, requester.id).await?;
        // A database in service has been vacuumed and analysed; measuring while autovacuum
        // works through the freshly seeded tables would time the two cores' contention instead.
        if pg.is_some() {
            sqlx::query("VACUUM ANALYZE").execute(hd.db().write_pool()).await?;
        }
        let automations = web::measure_automations(&hd, &boot.admin, requester.id).await?;
        let triggers = web::measure_triggers(&hd, &boot.admin, requester.id, 300).await?;
        let slas = web::measure_slas(&hd, &boot.admin, requester.id, 300).await?;
        hd.db().close().await;
        let port = free_port()?;
        let server = ChildGuard {
            child: serve_command(&dir, port, &settings)?.spawn().context("starting suoja serve")?,
        };
        wait_port(port).await?;
        let figures = web::measure(
            &format!("http://127.0.0.1:{port}"),
            ticket,
            custom_view,
            newest_view,
            300,
            (automations, triggers, slas),
        )
        .await?;
        drop(server);
        if args.keep {
            println!("  {engine} data kept in {}", dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&dir);
        }
        return Ok(EngineResult {
            engine: engine.into(),
            seed_secs,
            web: Some(figures),
            ..Default::default()
        });
    }
    let person = export::seed(&hd, &boot.admin).await?;
    // The privacy services as the server builds them: the erasure ledger file is written too.
    let privacy = crate::app::privacy(hd.clone(), &settings)?;
    let export_figures = if args.erasure_only {
        export::ExportFigures {
            baseline_ms: export::baseline(&hd, &boot.admin, person).await?.0,
            ..Default::default()
        }
    } else {
        export::measure(&hd, &privacy, &boot.admin, person).await?
    };
    let sqlite_dir = if pg.is_none() { Some(dir.as_path()) } else { None };
    let erasure_figures = erasure::measure(&hd, &privacy, &boot.admin, person, export_figures.baseline_ms, sqlite_dir).await?;
    hd.db().close().await;
    if args.erasure_only {
        let _ = std::fs::remove_dir_all(&dir);
        return Ok(EngineResult {
            engine: engine.into(),
            seed_secs,
            erasure: Some(erasure_figures),
            ..Default::default()
        });
    }

    let port = free_port()?;
    let server = ChildGuard {
        child: serve_command(&dir, port, &settings)?.spawn().context("starting suoja serve")?,
    };
    wait_port(port).await?;
    let base = format!("http://127.0.0.1:{port}");
    let auth = ("bench@example.fi/token".to_string(), boot.api_token.expose().clone());
    let secs = Duration::from_secs(args.secs);
    let mut result = EngineResult {
        engine: engine.into(),
        seed_secs,
        export: Some(export_figures),
        erasure: Some(erasure_figures),
        ..Default::default()
    };

    for &(conc, _) in baseline_create {
        let before = disk_writes(server.child.id(), settings.database_url.as_deref()).await;
        let stats = create_load(&base, &auth, requester.id.0, conc, secs).await?;
        let after = disk_writes(server.child.id(), settings.database_url.as_deref()).await;
        let created = stats.rps * secs.as_secs_f64();
        if let (Some(b), Some(a)) = (before, after) {
            result.create_bytes.push((conc, a.saturating_sub(b) as f64 / created.max(1.0)));
        }
        println!("  {engine} create-ticket c={conc}: {}", stats.line());
        result.create.push((conc, stats));
    }
    let max_id = suoja_core::num::to_i64(args.tickets);
    for &(conc, _) in baseline_create {
        let before = disk_writes(server.child.id(), settings.database_url.as_deref()).await;
        let stats = reply_load(&base, &auth, max_id, conc, secs).await?;
        let after = disk_writes(server.child.id(), settings.database_url.as_deref()).await;
        let replies = stats.rps * secs.as_secs_f64();
        if let (Some(b), Some(a)) = (before, after) {
            result.reply_bytes.push((conc, a.saturating_sub(b) as f64 / replies.max(1.0)));
        }
        println!("  {engine} reply c={conc}: {}", stats.line());
        result.reply.push((conc, stats));
    }
    let url = format!("{base}/api/v2/tickets");
    let show = load::run(16, secs, &auth, move |c, i| {
        c.get(format!("{url}/{}.json", (suoja_core::num::to_i64(i) * 7919) % max_id + 1))
    })
    .await?;
    println!("  {engine} show-ticket c=16: {}", show.line());
    result.show = Some(show);
    for (label, q) in [
        ("rare word (10 hits)", "rarebenchword"),
        ("1 % word", "onepercentword"),
        ("two words", "refund invoice"),
        ("status filter", "status:new type:ticket"),
        ("two words by updated_at", "refund invoice&sort_by=updated_at"),
    ] {
        let url = format!("{base}/api/v2/search.json?query={}&per_page=20", q.replace(' ', "%20").replace(':', "%3A"));
        let stats = load::run(1, secs, &auth, move |c, _| c.get(url.clone())).await?;
        println!("  {engine} search {label}: {}", stats.line());
        result.search.push((label.into(), 1, stats));
    }
    result.hostile = Some(hostile_searches(&base, &auth).await?);
    result.rss_kib = peak_rss_kib(server.child.id());
    drop(server);
    if pg.is_none() {
        let concs: Vec<usize> = baseline_create.iter().map(|(c, _)| *c).collect();
        let same = |var: &'static str| SameCreates {
            dir: &dir,
            settings: &settings,
            auth: &auth,
            requester: requester.id.0,
            secs,
            concs: &concs,
            engine,
            var,
        };
        // The same creates with commits synced at checkpoints only.
        result.create_normal = same("SUOJA_DURABLE_COMMITS").run().await?;
        // The same creates with the writer's statements sent through sqlx's worker thread.
        result.create_sqlx_writer = same("SUOJA_SQLITE_NATIVE_WRITER").run().await?;
    }
    if args.keep {
        println!("  {engine} data kept in {}", dir.display());
        if let Some(u) = &settings.database_url {
            println!("  {engine} database kept at {u}");
        }
    } else {
        let _ = std::fs::remove_dir_all(&dir);
        if let (Some(admin), Some(url)) = (pg, &settings.database_url) {
            drop_pg_database(admin, url).await;
        }
    }
    Ok(result)
}

/// Runs SQLite (and PostgreSQL when `pg` is given) and rewrites one section of the report,
/// keeping the rest of the file.
async fn write_section(args: &BenchArgs, pg: Option<&str>, name: &str, render: fn(&str, &BenchArgs, &[EngineResult]) -> String) -> anyhow::Result<()> {
    let mut results = vec![run_engine("sqlite", None, args, &[]).await?];
    if let Some(pg) = pg {
        results.push(run_engine("postgres", Some(pg), args, &[]).await?);
    }
    let old = std::fs::read_to_string(&args.out).unwrap_or_default();
    let text = render(&old, args, &results);
    std::fs::write(&args.out, text).with_context(|| format!("writing {}", args.out.display()))?;
    println!("wrote the {name} section of {}", args.out.display());
    Ok(())
}

/// Measures what precision costs and rewrites that section of the report.
async fn write_precision(args: &BenchArgs) -> anyhow::Result<()> {
    let m = precision::matcher();
    println!(
        "  matcher: {} comments, {} MB: str::replace {:.0} ms, matcher {:.0} ms (weak too {:.0} ms, HTML {:.0} ms)",
        m.comments,
        m.bytes / 1_000_000,
        m.baseline_ms,
        m.strong_ms,
        m.weak_ms,
        m.html_ms
    );
    let mut searches = vec![precision::end_user_search("sqlite", None, 1_000).await?];
    if let Some(pg) = &args.pg {
        searches.push(precision::end_user_search("postgres", Some(pg), 1_000).await?);
    }
    let old = std::fs::read_to_string(&args.out).unwrap_or_default();
    std::fs::write(&args.out, report::with_precision_section(&old, &m, &searches)).with_context(|| format!("writing {}", args.out.display()))?;
    println!("wrote the precision section of {}", args.out.display());
    Ok(())
}

/// Runs the suite and writes the report (or one section of it).
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.backup_only {
        return write_section(&args, None, "backup", report::with_backup_section).await;
    }
    if args.web_only {
        return write_section(&args, args.pg.as_deref(), "web pages", report::with_web_section).await;
    }
    if args.erasure_only {
        return write_section(&args, args.pg.as_deref(), "erasure", report::with_erasure_section).await;
    }
    if args.precision_only {
        return write_precision(&args).await;
    }
    if args.hc_only {
        let posts = args.tickets.min(100_000);
        let articles = (posts / 10).max(100);
        let mut figures = vec![help_center::measure("sqlite", None, articles, posts, 300).await?];
        if let Some(pg) = &args.pg {
            figures.push(help_center::measure("postgres", Some(pg), articles, posts, 300).await?);
        }
        let old = std::fs::read_to_string(&args.out).unwrap_or_default();
        std::fs::write(&args.out, report::with_hc_section(&old, &figures)).with_context(|| format!("writing {}", args.out.display()))?;
        println!("wrote the help center section of {}", args.out.display());
        return Ok(());
    }
    if args.cluster_only
        && let Some(pg) = &args.pg
    {
        let figures = cluster::measure(pg, args.tickets, args.secs, args.soak_secs).await?;
        let old = std::fs::read_to_string(&args.out).unwrap_or_default();
        std::fs::write(&args.out, report::with_cluster_section(&old, &figures)).with_context(|| format!("writing {}", args.out.display()))?;
        println!("wrote the several-nodes section of {}", args.out.display());
        return Ok(());
    }
    if args.import_only {
        let figures = import::measure(args.pg.as_deref(), args.tickets.min(20_000)).await?;
        let old = std::fs::read_to_string(&args.out).unwrap_or_default();
        std::fs::write(&args.out, report::with_import_section(&old, &figures)).with_context(|| format!("writing {}", args.out.display()))?;
        println!("wrote the import section of {}", args.out.display());
        return Ok(());
    }
    if args.blobs_only {
        let secs = Duration::from_secs(args.secs.max(1));
        let mut figures = blobs::measure("sqlite", None, secs).await?;
        if let Some(pg) = &args.pg {
            figures.extend(blobs::measure("postgres", Some(pg), secs).await?);
        }
        let old = std::fs::read_to_string(&args.out).unwrap_or_default();
        std::fs::write(&args.out, report::with_blobs_section(&old, &figures)).with_context(|| format!("writing {}", args.out.display()))?;
        println!("wrote the file-store section of {}", args.out.display());
        return Ok(());
    }
    if args.mail_only {
        let n = args.tickets.min(2_000);
        let mut figures = vec![mail::measure("sqlite", None, n).await?];
        if let Some(pg) = &args.pg {
            figures.push(mail::measure("postgres", Some(pg), n).await?);
        }
        let old = std::fs::read_to_string(&args.out).unwrap_or_default();
        std::fs::write(&args.out, report::with_mail_section(&old, &figures)).with_context(|| format!("writing {}", args.out.display()))?;
        println!("wrote the mail section of {}", args.out.display());
        return Ok(());
    }
    println!("baseline: bare axum handler inserting one ticket-sized row into SQLite (WAL, synchronous=NORMAL, secure_delete=ON, one writer)");
    let baseline = baseline::measure(args.secs).await?;
    let mut results = vec![run_engine("sqlite", None, &args, &baseline).await?];
    if let Some(pg) = &args.pg {
        results.push(run_engine("postgres", Some(pg), &args, &baseline).await?);
    }
    let old = std::fs::read_to_string(&args.out).unwrap_or_default();
    let text = report::render(&args, &baseline, &results) + &report::kept_sections(&old);
    std::fs::write(&args.out, text).with_context(|| format!("writing {}", args.out.display()))?;
    println!("wrote {}", args.out.display());
    Ok(())
}
