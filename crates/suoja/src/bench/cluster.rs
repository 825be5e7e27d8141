//! `suoja bench --cluster-only`: a mixed load (70 % reads, 20 % replies, 10 % new tickets) at
//! fixed arrival rates against one, two and three `suoja serve` nodes on one PostgreSQL
//! database, the requests spread over the nodes in turn as a balancer would. After a few
//! seconds of warm-up that are not counted, each rate runs open-loop (a request is sent when its
//! time comes, whether or not earlier ones were answered) and its latency is counted from that
//! time, so a node falling behind shows as latency rather than as a lower rate. The rates climb
//! until p99 passes 50 ms or requests fail; the highest rate within that bound is each node
//! count's figure. With `--soak-secs`, the three nodes then carry four fifths of their figure
//! for that long, and the nodes' memory and the database's connections are sampled as it goes
//! (they should stay flat). The nodes, PostgreSQL and the load share the machine's cores.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::json;
use suoja_config::Settings;

use super::load::Stats;
use super::{ChildGuard, free_port, serve_command, wait_port};

/// Latency bound of a sustained rate.
const P99_BOUND_MS: f64 = 50.0;
/// Requests in flight at most; a rate needing more is past what the nodes sustain.
const IN_FLIGHT_MAX: usize = 1024;
/// The first rate tried, requests a second.
const FIRST_RATE: f64 = 100.0;
/// Each rate is this much the one before.
const RATE_STEP: f64 = 1.4;
/// Rates tried at most per node count.
const MAX_STEPS: usize = 12;
/// Seconds of load at the first rate before the first measured point, not counted: freshly
/// started nodes open their database connections and fill their caches meanwhile.
const WARM_UP_SECS: u64 = 5;

/// One rate's figures.
#[derive(Debug, Clone)]
pub struct Point {
    /// Requests a second offered.
    pub offered: f64,
    /// Latency from each request's scheduled time, and answers a second.
    pub stats: Stats,
}

/// One node count's figures.
#[derive(Debug, Clone)]
pub struct NodesFigures {
    /// Nodes serving.
    pub nodes: usize,
    /// Each rate tried, in order.
    pub points: Vec<Point>,
    /// Peak resident memory of the nodes, MB each.
    pub rss_mb: Vec<f64>,
}

impl NodesFigures {
    /// The highest rate answered within the bound, without failures.
    pub fn sustained(&self) -> Option<&Point> {
        self.points
            .iter()
            .filter(|p| p.stats.p99 <= P99_BOUND_MS && p.stats.errors == 0)
            .max_by(|a, b| a.offered.total_cmp(&b.offered))
    }
}

/// One sample of a soak.
#[derive(Debug, Clone)]
pub struct SoakSample {
    /// Seconds since the soak began.
    pub at_secs: u64,
    /// Resident memory of each node now, MB.
    pub rss_mb: Vec<f64>,
    /// Connections to the benchmark's database now.
    pub connections: i64,
    /// The load since the previous sample.
    pub stats: Stats,
}

/// A soak: the three nodes at a steady rate for a while.
#[derive(Debug, Clone)]
pub struct Soak {
    /// Requests a second offered.
    pub rate: f64,
    /// The samples, in order.
    pub samples: Vec<SoakSample>,
}

/// The whole measurement.
#[derive(Debug, Clone)]
pub struct ClusterFigures {
    /// Tickets in the database.
    pub tickets: usize,
    /// Seconds spent seeding.
    pub seed_secs: f64,
    /// Seconds per rate.
    pub secs: u64,
    /// Per node count.
    pub by_nodes: Vec<NodesFigures>,
    /// The soak, when asked for.
    pub soak: Option<Soak>,
}

/// What a request of the mix is, by its number: 7 in 10 reads (a ticket, a search, the
/// newest tickets), 2 replies, 1 new ticket.
fn request(c: &reqwest::Client, base: &str, i: usize, tickets: i64, requester: i64) -> reqwest::RequestBuilder {
    let id = (suoja_core::num::to_i64(i) * 7919 + 7) % tickets + 1;
    match i % 10 {
        0..=4 => c.get(format!("{base}/api/v2/tickets/{id}.json")),
        5 => c.get(format!("{base}/api/v2/search.json?query=refund%20invoice&per_page=20")),
        6 => c.get(format!("{base}/api/v2/tickets.json?per_page=25&sort_order=desc")),
        7 | 8 => c
            .put(format!("{base}/api/v2/tickets/{id}.json"))
            .json(&json!({"ticket": {"comment": {"body": super::reply_text(i), "public": true}}})),
        _ => {
            let (subject, body) = super::ticket_text(i);
            c.post(format!("{base}/api/v2/tickets.json"))
                .json(&json!({"ticket": {"requester_id": requester, "subject": subject, "comment": {"body": body}}}))
        }
    }
}

/// Offers `rate` requests a second for `secs` across `bases` in turn.
async fn open_loop(bases: &[String], auth: &(String, String), rate: f64, secs: Duration, tickets: i64, requester: i64) -> anyhow::Result<Stats> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(30))
        .build()?;
    let total = suoja_core::num::floor_usize((rate * secs.as_secs_f64()).max(1.0));
    let interval = Duration::from_secs_f64(1.0 / rate);
    let in_flight = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let mut refused = 0;
    for i in 0..total {
        let due = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        if in_flight.load(Ordering::Relaxed) >= IN_FLIGHT_MAX {
            refused += 1;
            continue;
        }
        in_flight.fetch_add(1, Ordering::Relaxed);
        let base = bases.get(i % bases.len()).cloned().unwrap_or_default();
        let (client, auth, in_flight) = (client.clone(), auth.clone(), in_flight.clone());
        tasks.spawn(async move {
            let sent = request(&client, &base, i, tickets, requester).basic_auth(&auth.0, Some(&auth.1)).send().await;
            let ok = match sent {
                Ok(r) => {
                    let good = r.status().is_success();
                    let _ = r.bytes().await;
                    good
                }
                Err(_) => false,
            };
            in_flight.fetch_sub(1, Ordering::Relaxed);
            (ok, due.elapsed().as_secs_f64() * 1000.0, i % 10)
        });
    }
    let mut lat = Vec::with_capacity(total);
    // Each kind of request's latencies too, printed for the console (which one makes the tail).
    let mut by_kind: [Vec<f64>; 5] = Default::default();
    let mut errors = refused;
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok((true, ms, n)) => {
                lat.push(ms);
                let kind = match n {
                    0..=4 => 0,
                    5 => 1,
                    6 => 2,
                    7 | 8 => 3,
                    _ => 4,
                };
                if let Some(k) = by_kind.get_mut(kind) {
                    k.push(ms);
                }
            }
            _ => errors += 1,
        }
    }
    let kinds: Vec<String> = ["show", "search", "list", "reply", "create"]
        .iter()
        .zip(by_kind.iter_mut())
        .map(|(name, l)| {
            l.sort_by(f64::total_cmp);
            let idx = suoja_core::num::floor_usize(((l.len().max(1) - 1) as f64 * 0.99).round());
            format!("{name} p99 {:.1}", l.get(idx).copied().unwrap_or(0.0))
        })
        .collect();
    eprintln!("    by request: {}", kinds.join(", "));
    let elapsed = start.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    let at = |p: f64| {
        let idx = suoja_core::num::floor_usize(((lat.len().max(1) - 1) as f64 * p).round());
        lat.get(idx).copied().unwrap_or(0.0)
    };
    Ok(Stats {
        rps: lat.len() as f64 / elapsed,
        p50: at(0.5),
        p99: at(0.99),
        errors,
    })
}

/// Seeds `tickets` tickets into a fresh database on `admin`'s PostgreSQL server, then measures
/// one, two and three nodes.
pub async fn measure(admin: &str, tickets: usize, secs: u64, soak_secs: u64) -> anyhow::Result<ClusterFigures> {
    let dir = std::env::temp_dir().join(format!("suoja-bench-cluster-{}", super::hex_suffix()));
    std::fs::create_dir_all(&dir)?;
    let settings = Settings {
        data_dir: dir.clone(),
        database_url: Some(super::create_pg_database(admin).await?),
        ..Settings::default()
    };
    let result = measure_on(&dir, &settings, tickets, secs, soak_secs).await;
    let _ = std::fs::remove_dir_all(&dir);
    if let Some(url) = &settings.database_url {
        super::drop_pg_database(admin, url).await;
    }
    result
}

/// Resident memory of a process now, MB.
fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

/// Connections to the database at `url` now (this question's own included).
async fn connections(url: &str) -> anyhow::Result<i64> {
    use sqlx::Connection as _;
    let mut c = sqlx::PgConnection::connect(url).await?;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        .fetch_one(&mut c)
        .await?;
    c.close().await?;
    Ok(n)
}

async fn measure_on(dir: &std::path::Path, settings: &Settings, tickets: usize, secs: u64, soak_secs: u64) -> anyhow::Result<ClusterFigures> {
    let seeded = super::seed("postgres", settings, tickets).await?;
    println!("  cluster: seeded {tickets} tickets in {:.0} s", seeded.seed_secs);
    seeded.hd.db().close().await;
    let root_key = std::fs::read_to_string(dir.join("root.key")).context("reading the seeded root key")?;
    let auth = ("bench@example.fi/token".to_string(), seeded.boot.api_token.expose().clone());
    let last_ticket = suoja_core::num::to_i64(tickets.max(1));
    let mut by_nodes = Vec::new();
    let mut soak = None;
    for nodes in 1..=3 {
        let mut servers = Vec::new();
        let mut bases = Vec::new();
        for n in 0..nodes {
            let node_dir = dir.join(format!("node-{n}"));
            std::fs::create_dir_all(&node_dir)?;
            let port = free_port()?;
            let mut cmd = serve_command(&node_dir, port, settings)?;
            cmd.env("SUOJA_ROOT_KEY", root_key.trim()).env("SUOJA_NODE_NAME", format!("bench-{n}"));
            servers.push(ChildGuard {
                child: cmd.spawn().context("starting suoja serve")?,
            });
            wait_port(port).await?;
            bases.push(format!("http://127.0.0.1:{port}"));
        }
        open_loop(&bases, &auth, FIRST_RATE, Duration::from_secs(WARM_UP_SECS), last_ticket, seeded.requester.id.0).await?;
        let mut points = Vec::new();
        let mut rate = FIRST_RATE;
        for _ in 0..MAX_STEPS {
            let stats = open_loop(&bases, &auth, rate, Duration::from_secs(secs), last_ticket, seeded.requester.id.0).await?;
            println!("  cluster {nodes} node(s), {rate:.0} req/s offered: {}", stats.line());
            let past = stats.p99 > P99_BOUND_MS || stats.errors > 0;
            points.push(Point { offered: rate, stats });
            if past {
                break;
            }
            rate *= RATE_STEP;
        }
        let figures = NodesFigures {
            nodes,
            points,
            rss_mb: servers.iter().map(|s| super::peak_rss_kib(s.child.id()) as f64 / 1024.0).collect(),
        };
        if nodes == 3
            && soak_secs > 0
            && let (Some(best), Some(url)) = (figures.sustained(), &settings.database_url)
        {
            let rate = best.offered * 0.8;
            let mut samples = Vec::new();
            let started = Instant::now();
            while started.elapsed().as_secs() < soak_secs {
                let stats = open_loop(&bases, &auth, rate, Duration::from_secs(30), last_ticket, seeded.requester.id.0).await?;
                let sample = SoakSample {
                    at_secs: started.elapsed().as_secs(),
                    rss_mb: servers.iter().map(|s| rss_mb(s.child.id())).collect(),
                    connections: connections(url).await?,
                    stats,
                };
                println!(
                    "  soak {:>5} s at {rate:.0} req/s: {}  RSS {:?} MB, {} connections",
                    sample.at_secs,
                    sample.stats.line(),
                    sample.rss_mb.iter().map(|m| m.round()).collect::<Vec<_>>(),
                    sample.connections
                );
                samples.push(sample);
            }
            soak = Some(Soak { rate, samples });
        }
        drop(servers);
        by_nodes.push(figures);
    }
    Ok(ClusterFigures {
        tickets,
        seed_secs: seeded.seed_secs,
        secs,
        by_nodes,
        soak,
    })
}
