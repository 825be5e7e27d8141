//! Moving a tenant between regions (`suoja tenant move SUBDOMAIN --to REGION`): an explicit,
//! logged and resumable job that copies, verifies, switches the route and then erases the
//! source, checked down to the bytes, and ends with a certificate.
//!
//! Phases, recorded in the routing database (ids, region names, times and digests; nothing
//! personal), so a run stopped at any point continues where it was when started again:
//!
//! 1. **frozen** — the tenant's requests are refused (503, `Retry-After`) by its region's
//!    nodes, which see the freeze within seconds; the job waits that long, then until the
//!    tenant's records hold still (requests that began before the freeze have ended).
//! 2. **copied** — in one transaction of the destination: its rows of every table (ids kept:
//!    each region numbers its records in its own `id_block`), the tenant key re-wrapped under the
//!    destination's root key, the privacy ledger's chain key carried with it (every ledger
//!    hash, and every certificate naming one, stays valid); then its files into the
//!    destination's blob store, and its search index rebuilt there.
//! 3. **verified** — every table's rows compared (count and an order-independent digest), the
//!    keys opened on both sides and compared, every file compared by SHA-256, the privacy
//!    ledger verified in the destination with the source's head hash.
//! 4. **switched** — checked unchanged once more, the route names the destination (the old
//!    region answers 421 with the new one's address); the source is checked unchanged since the
//!    verification again before anything of it is erased.
//! 5. **done** — the source's rows deleted in one transaction, its files deleted and checked
//!    gone, the tables vacuumed (rewritten, unless `--no-rewrite`) and the write-ahead log
//!    retired; no row of the tenant left, and a byte scan of the source's files (the SQLite
//!    database, the local blob store, and any `--scan` path such as the PostgreSQL data
//!    directory) finds neither the tenant key nor sampled sealed values. The certificate states
//!    all of it, and a `tenant.moved` entry in the tenant's privacy ledger names it.
//!
//! Until the route switches, `--cancel` lets the tenant be served where it was again. Every
//! step is taken only if the move is still at the phase before it and still this run's (a run
//! started later takes the move over; a cancelled one stops), so two runs never both act.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use suoja_config::Settings;
use suoja_core::TenantId;
use suoja_helpdesk::Helpdesk;
use suoja_store::relocation::{self, TableDigest, TenantTable};
use suoja_store::routing::{Move, MovePhase, Routes};

/// How a move runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Rewrite the source's tables after deleting the tenant's rows (PostgreSQL `VACUUM
    /// FULL`: no byte of the tenant stays in their files; each table is locked while it is
    /// rewritten). Without it, space is freed by `VACUUM` and only the key tables are
    /// rewritten: sealed values may stay in freed pages, unreadable once the tenant key is gone.
    pub rewrite: bool,
    /// Files or directories the byte scan of the source reads besides its SQLite files and
    /// local blob store (the PostgreSQL data directory, when this process can read it).
    pub scan: Vec<PathBuf>,
    /// How long the job waits after changing a route for every node to see it (nodes trust a
    /// route they read for five seconds).
    pub settle: Duration,
    /// The operator has brought over by hand what the source wrote after the verification
    /// (the move stopped and said which tables): erase the source all the same.
    pub source_checked: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            rewrite: true,
            scan: Vec::new(),
            settle: Duration::from_secs(7),
            source_checked: false,
        }
    }
}

/// Longest the job waits, after the freeze, for the tenant's records to hold still.
const QUIET_FOR: Duration = Duration::from_secs(60);
/// How long they must hold still.
const QUIET: Duration = Duration::from_secs(2);

/// The tables a move never copies: the data map's derived ones (the search index), rebuilt
/// where the tenant lands.
fn derived() -> Vec<&'static str> {
    suoja_privacy::datamap::TABLES.iter().filter(|t| t.derived).map(|t| t.name).collect()
}

/// Columns not compared between the two sides: the tenant key's wrapping, which differs by
/// design (each region's root key wraps it; the keys themselves are compared unwrapped), and
/// the tenant's region.
fn not_compared(table: &str) -> &'static [&'static str] {
    match table {
        "vault_tenant_keys" => &["wrapped", "chain_key"],
        "tenants" => &["region"],
        _ => &[],
    }
}

/// Both regions of a move, opened.
struct Sides {
    src: Helpdesk,
    dst: Helpdesk,
    dst_settings: Settings,
}

impl Sides {
    async fn close(self) {
        for hd in [&self.src, &self.dst] {
            if let Some(r) = hd.residency() {
                r.routes.close().await;
            }
            hd.db().close().await;
        }
    }
}

/// Runs (or resumes) the move of `subdomain` to region `to`; returns the certificate.
pub async fn run(settings: &Settings, subdomain: &str, to: &str, opts: &Options) -> anyhow::Result<Value> {
    let routes = open_routes(settings).await?;
    let result = run_with(settings, &routes, subdomain, to, opts).await;
    routes.close().await;
    result
}

/// Cancels a move that has not switched its route (a run still carrying it on stops at its
/// next step); returns it. What was copied into the destination is removed (its route never
/// named it, so nothing there served or changed it): its rows, and its files through the trash.
/// Run again, it removes what an earlier cancel could not.
pub async fn cancel(settings: &Settings, subdomain: &str) -> anyhow::Result<Option<Move>> {
    let routes = open_routes(settings).await?;
    let result = async {
        let cancelled = routes.cancel_move(subdomain, now()).await?;
        let Some(m) = cancelled.or(routes.move_of(subdomain).await?.filter(|m| m.phase == MovePhase::Cancelled)) else {
            return Ok(None);
        };
        tracing::info!(tenant.id = m.tenant, from = %m.from, to = %m.to, phase = m.phase.as_str(), "tenant move cancelled");
        let dst = crate::app::open(&settings.in_region(&m.to)?).await?;
        let removed = remove_copy(&dst, &m).await;
        close(&dst).await;
        removed.with_context(|| format!("removing the copy in {} (the move is cancelled; run the cancel again to finish)", m.to))?;
        Ok(Some(m))
    }
    .await;
    routes.close().await;
    result
}

/// Removes what a move copied into its destination, when the destination's tenant of that id
/// is the moved one; the destination's erasure ledger notes that the tenant is not there (a
/// restore there keeps none of it).
async fn remove_copy(dst: &Helpdesk, m: &Move) -> anyhow::Result<()> {
    let tenant = TenantId(m.tenant);
    let here = {
        let mut c = dst.db().read().await?;
        suoja_store::tenants::by_id(&mut c, tenant).await?
    };
    if let Some(t) = &here
        && t.subdomain != m.subdomain
    {
        bail!("tenant {} in {} is another tenant ({}): nothing of it is touched", m.tenant, m.to, t.subdomain);
    }
    let tables = relocation::all_tenant_tables(dst.db()).await?;
    let mut tx = dst.db().begin().await?;
    for t in tables.iter().filter(|t| t.as_str() != "blob_trash") {
        relocation::delete(&mut tx, tenant, t).await?;
    }
    let gone = suoja_privacy::erasure::replay::TenantMove::out(tenant, &m.subdomain, &m.from, now(), None);
    suoja_store::erasure_log::append(&mut tx, &[gone.line()], now()).await?;
    tx.commit().await?;
    dst.db().blobs().empty_trash(dst.db(), Some(tenant)).await?;
    Ok(())
}

/// The latest move of `subdomain`, if any.
pub async fn status(settings: &Settings, subdomain: &str) -> anyhow::Result<Option<Move>> {
    let routes = open_routes(settings).await?;
    let m = routes.move_of(subdomain).await;
    routes.close().await;
    Ok(m?)
}

async fn open_routes(settings: &Settings) -> anyhow::Result<Routes> {
    let (Some(url), false) = (&settings.routing_url, settings.regions.is_empty()) else {
        bail!("moving a tenant needs [regions] and a routing_url in the configuration");
    };
    Routes::open(url).await.context("opening the routing database (routing_url)")
}

async fn run_with(settings: &Settings, routes: &Routes, subdomain: &str, to: &str, opts: &Options) -> anyhow::Result<Value> {
    let Some(dest) = settings.regions.get(to) else {
        bail!(
            "--to {to}: not among the configured regions ({})",
            settings.regions.keys().cloned().collect::<Vec<_>>().join(", ")
        );
    };
    let run = suoja_core::random::token::<12>();
    let m = match routes.move_of(subdomain).await? {
        Some(m) if !m.phase.ended() => {
            if m.to != to {
                bail!(
                    "{subdomain} is being moved to {} (phase {}): resume that move, or cancel it first",
                    m.to,
                    m.phase.as_str()
                );
            }
            let m = routes.begin_move(subdomain, m.tenant, &m.from, to, &run, now()).await?;
            eprintln!("resuming the move of {subdomain} from {} to {} (phase {})", m.from, m.to, m.phase.as_str());
            tracing::info!(tenant.id = m.tenant, from = %m.from, to = %m.to, phase = m.phase.as_str(), "tenant move resumed");
            m
        }
        _ => {
            let from = routes
                .route(subdomain)
                .await?
                .region
                .with_context(|| format!("no tenant has the subdomain {subdomain}"))?;
            if from == to {
                bail!("{subdomain} is already served in region {to}");
            }
            if dest.database_url.starts_with("sqlite:") {
                bail!("region {to} keeps its data in SQLite, whose ids follow its largest row: a tenant can move only into a region on PostgreSQL");
            }
            let src = crate::app::open(&settings.in_region(&from)?).await?;
            let found = async {
                let dst = crate::app::open(&settings.in_region(to)?).await?;
                let tenant = {
                    let mut c = src.db().read().await?;
                    suoja_store::tenants::by_subdomain(&mut c, subdomain).await?
                };
                // The destination must not hold another tenant of this id (ids given out
                // before the regions had blocks of their own): it would be overwritten.
                let other = match &tenant {
                    Some(t) => {
                        let mut c = dst.db().read().await?;
                        suoja_store::tenants::by_id(&mut c, t.id).await?
                    }
                    None => None,
                };
                close(&dst).await;
                let tenant = tenant.with_context(|| format!("region {from} has no tenant {subdomain}, though the route names it"))?;
                if let Some(o) = other.filter(|o| o.subdomain != subdomain) {
                    bail!(
                        "region {to} has another tenant ({}) with {subdomain}'s id {} (ids given out before each region had an id_block of its own): {subdomain} cannot move there with its ids",
                        o.subdomain,
                        tenant.id
                    );
                }
                anyhow::Ok(tenant)
            }
            .await;
            close(&src).await;
            let tenant = found?;
            let m = routes.begin_move(subdomain, tenant.id.0, &from, to, &run, now()).await?;
            tracing::info!(tenant.id = m.tenant, from = %m.from, to = %m.to, "tenant move started: its requests are refused until the route switches");
            eprintln!("1/5 frozen: {subdomain}'s requests are refused in {} from now on", m.from);
            m
        }
    };
    let src_settings = settings.in_region(&m.from)?;
    let dst_settings = settings.in_region(&m.to)?;
    let sides = Sides {
        src: crate::app::open(&src_settings).await.with_context(|| format!("opening region {}", m.from))?,
        dst: crate::app::open(&dst_settings).await.with_context(|| format!("opening region {}", m.to))?,
        dst_settings,
    };
    let out = phases(&sides, routes, m, &src_settings, opts).await;
    sides.close().await;
    out
}

async fn close(hd: &Helpdesk) {
    if let Some(r) = hd.residency() {
        r.routes.close().await;
    }
    hd.db().close().await;
}

fn now() -> suoja_core::Timestamp {
    suoja_core::Clock::now(&suoja_core::clock::SystemClock)
}

/// What the verification recorded, kept in the move's row until the certificate replaces it.
fn draft(digests: &[TableDigest], files: &FilesDigest, ledger_head: &str) -> String {
    json!({
        "verified_tables": digests.iter().map(|d| json!({"table": d.table, "rows": d.rows, "digest": d.digest})).collect::<Vec<_>>(),
        "files": {"count": files.count, "digest": files.digest},
        "ledger_head": ledger_head,
    })
    .to_string()
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct FilesDigest {
    count: u64,
    digest: String,
}

/// Why a step was not taken: the move is no longer this run's to carry on.
fn not_mine(m: &Move) -> anyhow::Error {
    anyhow::anyhow!(
        "the move of {} was cancelled, or taken over by another run of this command, while this run was at phase {}: this run stops",
        m.subdomain,
        m.phase.as_str()
    )
}

/// Takes `m` to `phase` (with `figures`), or stops when it is no longer this run's.
async fn advance(routes: &Routes, m: &mut Move, phase: MovePhase, figures: Option<&str>) -> anyhow::Result<()> {
    if !routes.advance(m, phase, figures, now()).await? {
        return Err(not_mine(m));
    }
    m.phase = phase;
    Ok(())
}

/// The verified digests as recorded with the move.
fn verified_digests(figures: &Value) -> Vec<TableDigest> {
    figures["verified_tables"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| TableDigest {
            table: v["table"].as_str().unwrap_or_default().to_string(),
            rows: v["rows"].as_u64().unwrap_or_default(),
            digest: v["digest"].as_str().unwrap_or_default().to_string(),
        })
        .collect()
}

/// The tables whose digests differ between `now` and `was`.
fn changed(now: &[TableDigest], was: &[TableDigest]) -> Vec<String> {
    let mut out: Vec<String> = now.iter().filter(|d| !was.contains(d)).map(|d| d.table.clone()).collect();
    out.extend(was.iter().filter(|d| !now.iter().any(|n| n.table == d.table)).map(|d| d.table.clone()));
    out
}

async fn phases(sides: &Sides, routes: &Routes, mut m: Move, src_settings: &Settings, opts: &Options) -> anyhow::Result<Value> {
    let tenant = TenantId(m.tenant);
    let tables = relocation::tenant_tables(sides.src.db(), &derived()).await?;
    if m.phase == MovePhase::Frozen {
        // Every node trusts a route it read for a few seconds: after this, none starts a
        // request of the tenant in the region it leaves; then the requests already under way
        // are waited for (its records hold still).
        tokio::time::sleep(opts.settle).await;
        if !wait_quiet(&sides.src, tenant, &tables).await? {
            eprintln!(
                "2/5 the tenant's records in {} kept changing for {} s; copying anyway (the verification will tell)",
                m.from,
                QUIET_FOR.as_secs()
            );
        }
        // The move stays this run's, at this phase, with its route at the old region, until
        // the copy is in: no other run takes it over and no cancel lands in between.
        let held = routes
            .hold(&m)
            .await
            .context("another run of this move may be at work (or the routing database is away): try again shortly")?
            .ok_or_else(|| not_mine(&m))?;
        copy(sides, tenant, &m.from, &tables).await.with_context(|| {
            format!(
                "copying to {}: {} stays refused in {} until the same command is run again, or `suoja tenant move {} --cancel` serves it there again",
                m.to, m.subdomain, m.from, m.subdomain
            )
        })?;
        if let Err(e) = held.advance(MovePhase::Copied, now()).await {
            // The hold was lost (its connection went): a cancel may have landed meanwhile, and
            // then what this run copied goes again.
            if routes
                .move_of(&m.subdomain)
                .await?
                .is_some_and(|l| l.id == m.id && l.phase == MovePhase::Cancelled)
            {
                remove_copy(&sides.dst, &m).await?;
            }
            return Err(e.into());
        }
        m.phase = MovePhase::Copied;
        tracing::info!(tenant.id = m.tenant, to = %m.to, "tenant move: copied");
    }
    if m.phase == MovePhase::Copied {
        match verify(sides, tenant, &tables).await? {
            Ok((digests, files, head)) => {
                advance(routes, &mut m, MovePhase::Verified, Some(&draft(&digests, &files, &head))).await?;
                let rows: u64 = digests.iter().map(|d| d.rows).sum();
                eprintln!(
                    "3/5 verified: {rows} rows ({} tables compared) and {} file(s) are the same in {}",
                    digests.len(),
                    files.count,
                    m.to
                );
                tracing::info!(tenant.id = m.tenant, rows, files = files.count, "tenant move: verified");
            }
            Err(differ) => {
                // Copied again from the start by the next run.
                advance(routes, &mut m, MovePhase::Frozen, None).await?;
                bail!(
                    "the copy in {} differs from {} ({}): something wrote to the tenant during the copy; run the same command again to copy afresh",
                    m.to,
                    m.from,
                    differ.join(", ")
                );
            }
        }
    }
    if m.phase == MovePhase::Verified {
        // Nothing has changed since the verification (the last moment to copy again).
        let figures = figures_of(routes, &m).await?;
        let now_digests = digests(&sides.src, tenant, &tables).await?;
        let differ = changed(&now_digests, &verified_digests(&figures));
        if !differ.is_empty() {
            advance(routes, &mut m, MovePhase::Frozen, None).await?;
            bail!(
                "{} changed after the verification ({}); run the same command again to copy afresh",
                m.from,
                differ.join(", ")
            );
        }
        if !routes.switch(&m, now()).await? {
            return Err(not_mine(&m));
        }
        m.phase = MovePhase::Switched;
        tracing::info!(tenant.id = m.tenant, from = %m.from, to = %m.to, "tenant move: the route names the new region");
        eprintln!("4/5 switched: {} serves {} now; {} refuses it", m.to, m.subdomain, m.from);
        tokio::time::sleep(opts.settle).await;
    }
    if m.phase == MovePhase::Switched {
        let figures = figures_of(routes, &m).await?;
        return erase_source(sides, routes, &m, &tables, &figures, src_settings, opts).await;
    }
    // Done before: the certificate as it was written.
    m.certificate
        .as_deref()
        .and_then(|c| serde_json::from_str(c).ok())
        .context("the move is done but its certificate is missing")
}

/// The figures the verification recorded with `m`.
async fn figures_of(routes: &Routes, m: &Move) -> anyhow::Result<Value> {
    routes
        .move_of(&m.subdomain)
        .await?
        .filter(|r| r.id == m.id)
        .and_then(|r| r.figures)
        .and_then(|c| serde_json::from_str::<Value>(&c).ok())
        .context("the move's verified digests are missing from the routing database")
}

/// Waits (up to [`QUIET_FOR`]) until the tenant's records in `hd` hold still for [`QUIET`];
/// whether they did.
async fn wait_quiet(hd: &Helpdesk, tenant: TenantId, tables: &[TenantTable]) -> anyhow::Result<bool> {
    let end = std::time::Instant::now() + QUIET_FOR;
    let mut last = digests(hd, tenant, tables).await?;
    while std::time::Instant::now() < end {
        tokio::time::sleep(QUIET).await;
        let next = digests(hd, tenant, tables).await?;
        if next == last {
            return Ok(true);
        }
        last = next;
    }
    Ok(false)
}

/// Phase 2: rows, keys and files into the destination, and its search index.
async fn copy(sides: &Sides, tenant: TenantId, from_region: &str, tables: &[TenantTable]) -> anyhow::Result<()> {
    let (src, dst) = (&sides.src, &sides.dst);
    let bar = indicatif::ProgressBar::new(tables.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("2/5 copying {bar:30} {pos}/{len} tables, {msg}").unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut read = snapshot(src).await?;
    let copied = async {
        let mut tx = dst.db().begin().await?;
        // What an earlier, interrupted run left in the destination goes first (its files
        // through the trash: those the new copy names again stay).
        for t in relocation::all_tenant_tables(dst.db()).await?.iter().filter(|t| t.as_str() != "blob_trash") {
            relocation::delete(&mut tx, tenant, t).await?;
        }
        let mut rows = 0u64;
        for t in tables {
            rows += relocation::copy(&mut read, &mut tx, tenant, t).await?;
            bar.inc(1);
            bar.set_message(format!("{rows} rows"));
        }
        let carried = src.vault().carry_tenant(&mut read, tenant).await?;
        dst.vault().adopt_tenant(&mut tx, tenant, &carried).await?;
        suoja_store::tenants::set_region(&mut tx, tenant, &sides.dst_settings.region).await?;
        // The region's erasure ledger notes the arrival: a tenant that once left it and comes
        // back is not removed again by a later restore's replay.
        // The tenant's lines of the erasure ledger go with it (the people erased while it
        // lived here stay erased wherever a restore brings it back).
        let mut lines = tenant_ledger_lines(&mut read, tenant).await?;
        lines.push(suoja_privacy::erasure::replay::TenantMove::arrived(tenant, &subdomain_of(src, tenant).await?, from_region, now()).line());
        suoja_store::erasure_log::append(&mut tx, &lines, now()).await?;
        tx.commit().await?;
        anyhow::Ok(rows)
    }
    .await;
    let _ = sqlx::query("COMMIT").execute(&mut read).await;
    drop(read);
    let rows = copied?;
    bar.finish_and_clear();
    dst.db().blobs().empty_trash(dst.db(), Some(tenant)).await?;
    let keys = {
        let mut c = src.db().read().await?;
        relocation::blob_keys(&mut c, tenant).await?
    };
    if !keys.is_empty() && !dst.db().blobs().is_external() {
        bail!("the tenant's files are in a blob store, but the destination's blob_url is `database`");
    }
    for key in &keys {
        let bytes = src
            .db()
            .blobs()
            .get(key)
            .await?
            .with_context(|| format!("the source's blob store has no file {key}, which a row names"))?;
        dst.db().blobs().put(key, bytes).await?;
    }
    let (indexed, unreadable) = dst.reindex_tenant(tenant, &mut |_| {}).await?;
    eprintln!(
        "2/5 copied: {rows} rows and {} file(s); {indexed} documents indexed ({unreadable} of erased people left out)",
        keys.len()
    );
    Ok(())
}

async fn subdomain_of(hd: &Helpdesk, tenant: TenantId) -> anyhow::Result<String> {
    let mut c = hd.db().read().await?;
    Ok(suoja_store::tenants::by_id(&mut c, tenant).await?.map(|t| t.subdomain).unwrap_or_default())
}

/// The erasure ledger's lines about `tenant` (erasures and redactions; not its moves, which
/// each region writes for itself).
async fn tenant_ledger_lines(c: &mut suoja_store::Conn, tenant: TenantId) -> anyhow::Result<Vec<String>> {
    Ok(suoja_store::erasure_log::all(c)
        .await?
        .into_iter()
        .filter(|line| {
            serde_json::from_str::<Value>(line).is_ok_and(|v| {
                v.get("tenant_id").and_then(Value::as_i64) == Some(tenant.0)
                    && !v.get("kind").and_then(Value::as_str).is_some_and(|k| k.starts_with("tenant_moved"))
            })
        })
        .collect())
}

/// A read of the source that sees one state of it for the whole copy (or digest).
async fn snapshot(hd: &Helpdesk) -> anyhow::Result<suoja_store::Conn> {
    let mut c = hd.db().read().await?;
    let begin = match hd.db().engine() {
        suoja_store::Engine::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        suoja_store::Engine::Sqlite => "BEGIN",
    };
    sqlx::query(begin).execute(&mut c).await?;
    Ok(c)
}

async fn digests(hd: &Helpdesk, tenant: TenantId, tables: &[TenantTable]) -> anyhow::Result<Vec<TableDigest>> {
    let mut c = snapshot(hd).await?;
    let mut out = Vec::with_capacity(tables.len());
    let mut failed = None;
    for t in tables {
        match relocation::digest(&mut c, tenant, t, not_compared(&t.name)).await {
            Ok(d) => out.push(d),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    let _ = sqlx::query("COMMIT").execute(&mut c).await;
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(out),
    }
}

async fn files_digest(hd: &Helpdesk, keys: &[String]) -> anyhow::Result<FilesDigest> {
    let mut h = Sha256::new();
    for key in keys {
        let bytes = hd.db().blobs().get(key).await?.with_context(|| format!("file {key} is missing"))?;
        h.update(key.as_bytes());
        h.update(Sha256::digest(&bytes));
    }
    Ok(FilesDigest {
        count: keys.len() as u64,
        digest: hex::encode(h.finalize()),
    })
}

/// Phase 3: `Ok(Ok(..))` when the destination holds exactly the source's rows, keys, files
/// and ledger; `Ok(Err(what differs))` when not.
async fn verify(sides: &Sides, tenant: TenantId, tables: &[TenantTable]) -> anyhow::Result<Result<(Vec<TableDigest>, FilesDigest, String), Vec<String>>> {
    let (src, dst) = (&sides.src, &sides.dst);
    let (a, b) = (digests(src, tenant, tables).await?, digests(dst, tenant, tables).await?);
    let mut differ: Vec<String> = a.iter().zip(&b).filter(|(x, y)| x != y).map(|(x, _)| x.table.clone()).collect();
    let carried = {
        let mut c = src.db().read().await?;
        src.vault().carry_tenant(&mut c, tenant).await?
    };
    let same_keys = {
        let mut c = dst.db().read().await?;
        dst.vault().holds_carried(&mut c, tenant, &carried).await?
    };
    if !same_keys {
        differ.push("the tenant key".into());
    }
    let keys = {
        let mut c = src.db().read().await?;
        relocation::blob_keys(&mut c, tenant).await?
    };
    let (fa, fb) = (files_digest(src, &keys).await?, files_digest(dst, &keys).await?);
    if fa != fb {
        differ.push("files".into());
    }
    let (la, lb) = (
        suoja_privacy::ledger::verify(src.db(), src.vault(), tenant).await?,
        suoja_privacy::ledger::verify(dst.db(), dst.vault(), tenant).await?,
    );
    if !la.ok() {
        bail!("the tenant's privacy ledger does not verify in its region: {:?}; nothing is moved", la.broken);
    }
    if !lb.ok() || lb.head_hash != la.head_hash || lb.entries != la.entries {
        differ.push("the privacy ledger".into());
    }
    Ok(if differ.is_empty() { Ok((a, fa, la.head_hash)) } else { Err(differ) })
}

/// Phase 5: the source's copy erased and checked, the certificate.
async fn erase_source(
    sides: &Sides,
    routes: &Routes,
    m: &Move,
    tables: &[TenantTable],
    figures: &Value,
    src_settings: &Settings,
    opts: &Options,
) -> anyhow::Result<Value> {
    let verified = figures;
    let (src, dst) = (&sides.src, &sides.dst);
    let tenant = TenantId(m.tenant);
    let still_there = {
        let mut c = src.db().read().await?;
        suoja_store::tenants::by_id(&mut c, tenant).await?.is_some()
    };
    let keys = {
        let mut c = dst.db().read().await?;
        relocation::blob_keys(&mut c, tenant).await?
    };
    let mut canaries = sample_sealed(dst, tenant, tables).await?;
    for key in keys.iter().take(8) {
        if let Some(bytes) = dst.db().blobs().get(key).await?
            && bytes.len() >= 48
        {
            let mid = bytes.len() / 2;
            if let Some(slice) = bytes.get(mid - 16..mid + 16) {
                canaries.push(suoja_privacy::scan::Canary::raw(format!("file {key}"), slice.to_vec()));
            }
        }
    }
    let mut brought_over_by_hand: Vec<String> = Vec::new();
    if still_there {
        // Nothing may be erased that the destination does not hold: the source must be as it
        // was verified (a request or background work that wrote after all would show here).
        let differ = changed(&digests(src, tenant, tables).await?, &verified_digests(verified));
        if !differ.is_empty() {
            brought_over_by_hand = overridden(routes, m, verified, differ, opts).await?;
        }
        let mut c = src.db().read().await?;
        if let Some((wrapped, _)) = suoja_store::keys::tenant_key(&mut c, tenant).await? {
            canaries.push(suoja_privacy::scan::Canary::raw("the tenant key as the source wrapped it", wrapped));
        }
    }
    let key_canaries = canaries.iter().filter(|c| c.label.starts_with("the tenant key")).count();
    // One transaction: every row of the tenant, the derived ones too (a SQLite full-text
    // table's entries go with its content rows). The blob trash is left for the files.
    let all = relocation::all_tenant_tables(src.db()).await?;
    let mut deleted = 0u64;
    let all_but_trash: Vec<String> = all.iter().filter(|t| t.as_str() != "blob_trash").cloned().collect();
    let left_behind = rows_of(src, tenant, &all_but_trash).await?;
    if !still_there && !left_behind.is_empty() {
        let written: Vec<String> = left_behind.iter().map(|t| t.split(':').next().unwrap_or_default().to_string()).collect();
        brought_over_by_hand = overridden(routes, m, verified, written, opts).await?;
    }
    if still_there || !left_behind.is_empty() {
        let mut tx = src.db().begin().await?;
        if src.db().engine() == suoja_store::Engine::Postgres {
            // One state of the tenant for the check and the delete: a request that changes a
            // row after it fails this transaction instead of losing its write unseen.
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ").execute(&mut *tx).await?;
        }
        if still_there {
            // Every table but those the operator vouched for is as verified.
            let mut inside = Vec::with_capacity(tables.len());
            for t in tables.iter().filter(|t| !brought_over_by_hand.contains(&t.name)) {
                inside.push(relocation::digest(&mut tx, tenant, t, not_compared(&t.name)).await?);
            }
            let was: Vec<TableDigest> = verified_digests(verified)
                .into_iter()
                .filter(|d| !brought_over_by_hand.contains(&d.table))
                .collect();
            let differ = changed(&inside, &was);
            if !differ.is_empty() {
                bail!(
                    "{} changed just now ({}); nothing was erased: run the same command again",
                    m.from,
                    differ.join(", ")
                );
            }
        }
        for t in all.iter().filter(|t| t.as_str() != "blob_trash") {
            deleted += relocation::delete(&mut tx, tenant, t).await?;
        }
        // The region's erasure ledger (kept beside its backups too) notes the departure: a
        // restore of a backup older than this removes the tenant again.
        let given_out = relocation::ids_given_out(src.db()).await?;
        let left = suoja_privacy::erasure::replay::TenantMove::out(tenant, &m.subdomain, &m.to, now(), Some(given_out).filter(|n| *n > 0));
        suoja_store::erasure_log::append(&mut tx, &[left.line()], now()).await?;
        tx.commit().await?;
    }
    src.vault().forget_cached(tenant);
    // Files: through the trash, each deleted and checked gone; then every key the tenant had.
    src.db().blobs().empty_trash(src.db(), Some(tenant)).await?;
    let mut files_left = 0u64;
    if src.db().blobs().is_external() {
        for key in &keys {
            if src.db().blobs().exists(key).await? {
                src.db().blobs().delete(key).await?;
            }
            if src.db().blobs().exists(key).await? {
                files_left += 1;
            }
        }
    }
    {
        let mut tx = src.db().begin().await?;
        relocation::delete(&mut tx, tenant, "blob_trash").await?;
        tx.commit().await?;
    }
    // The space the rows held: the tables the tenant had rows in (as verified), the derived
    // ones and the keys'; other tenants' tables it never used are left alone.
    let empty: std::collections::BTreeSet<&str> = verified["verified_tables"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["rows"].as_u64() == Some(0))
        .filter_map(|t| t["table"].as_str())
        .collect();
    let mut clear = true;
    for t in all.iter().filter(|t| !empty.contains(t.as_str()) || t.starts_with("vault_")) {
        let rewrite = opts.rewrite || t.starts_with("vault_");
        clear &= if rewrite {
            suoja_store::dialect::rewrite_table(src.db(), t).await?
        } else {
            suoja_store::dialect::vacuum_table(src.db(), t).await?
        };
    }
    let wal_retired = suoja_store::dialect::retire_wal(src.db()).await?;
    // Read back: no row, no file.
    let rows_left = rows_of(src, tenant, &all).await?;
    if !rows_left.is_empty() || files_left > 0 {
        bail!(
            "the source still holds rows ({}) or files ({files_left}) of the tenant; run the same command again",
            rows_left.join(", ")
        );
    }
    // The byte scan of the source's files.
    let mut paths = opts.scan.clone();
    let src_url = src_settings.database_url();
    let database_scanned = !opts.scan.is_empty() || src_url.starts_with("sqlite:");
    if let Some(file) = src_url.strip_prefix("sqlite://") {
        let file = PathBuf::from(file.split('?').next().unwrap_or(file));
        for suffix in ["", "-wal", "-journal"] {
            let p = PathBuf::from(format!("{}{suffix}", file.display()));
            if p.exists() {
                paths.push(p);
            }
        }
    }
    if let Some(dir) = src.db().blobs().local_dir() {
        paths.push(dir.to_path_buf());
    }
    let report = if paths.is_empty() {
        None
    } else {
        let list = paths.clone();
        let found = canaries.clone();
        Some(tokio::task::spawn_blocking(move || suoja_privacy::scan::scan(&list, &found)).await??)
    };
    let (key_found, values_found) = match &report {
        Some(r) => {
            let labels: std::collections::BTreeSet<&str> = r.hits.iter().map(|h| h.canary.as_str()).collect();
            let key = labels.iter().filter(|l| l.starts_with("the tenant key")).count();
            (key, labels.len() - key)
        }
        None => (0, 0),
    };
    if key_found > 0 {
        bail!("the byte scan still finds the tenant key in the source's files (an older transaction may have kept it): run the same command again");
    }
    if opts.rewrite && values_found > 0 {
        bail!("the byte scan still finds {values_found} of the tenant's sealed values in the source's files: run the same command again");
    }
    // The tenant's ledger records the move; its hash goes into the certificate.
    let completed = now();
    let rows: u64 = verified["verified_tables"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["rows"].as_u64())
        .sum();
    let privacy = crate::app::privacy(dst.clone(), &sides.dst_settings)?;
    let entry = {
        let mut tx = dst.db().begin().await?;
        let e = privacy
            .record_ledger(
                &mut tx,
                tenant,
                suoja_core::LedgerKind::TenantMoved,
                None,
                None,
                json!({"from": m.from, "to": m.to, "tables": verified["verified_tables"].as_array().map_or(0, Vec::len), "rows": rows, "files": keys.len()}),
            )
            .await?;
        tx.commit().await?;
        e
    };
    let compared = verified["verified_tables"].as_array().cloned().unwrap_or_default();
    let held: Vec<&Value> = compared.iter().filter(|t| t["rows"].as_u64().unwrap_or(0) > 0).collect();
    let webhooks = compared.iter().find(|t| t["table"] == "webhooks").and_then(|t| t["rows"].as_u64()).unwrap_or(0);
    let certificate = json!({
        "certificate": "tenant-move",
        "tenant_id": m.tenant,
        "subdomain": m.subdomain,
        "from_region": m.from,
        "to_region": m.to,
        "started_at": m.started_at.to_iso(),
        "completed_at": completed.to_iso(),
        "copied": {
            "tables_compared": compared.len(),
            "tables": held,
            "rows": rows,
            "files": verified["files"],
            "comparison": "every table's rows (count and SHA-256 digest), the tenant key and the ledger chain key (opened on both sides), every file (SHA-256) and the privacy ledger (verified, same head) were the same in both regions before the route switched",
            "keys": "the tenant key was re-wrapped under the destination's root key; the privacy ledger's chain key was carried with it, so every earlier ledger hash stays valid",
        },
        "source_erasure": {
            "rows_deleted_search_index_included": deleted,
            "resumed_after_the_delete": !still_there,
            "changed_after_verification_brought_over_by_the_operator": brought_over_by_hand,
            "rows_left": 0,
            "files_deleted_and_checked_gone": keys.len(),
            "tables_rewritten": opts.rewrite,
            "vacuum_saw_no_older_transaction": clear,
            "write_ahead_log_retired": wal_retired,
            "scan": match &report {
                Some(r) => json!({
                    "paths": paths.len(),
                    "files": r.files,
                    "bytes": r.bytes,
                    "canaries": canaries.len(),
                    "tenant_key_canaries": key_canaries,
                    "tenant_key_found": key_found,
                    "sealed_values_found": values_found,
                    "database_files_scanned": database_scanned,
                    "note": match (database_scanned, opts.rewrite) {
                        (false, _) => "only the blob store was scanned: give --scan with the PostgreSQL data directory to scan the database's files",
                        (true, true) => "nothing of the tenant was found",
                        (true, false) => "sealed values found lie in freed space and cannot be opened: the tenant key that wraps their keys is gone",
                    },
                }),
                None => json!({"note": "not run: the source is on PostgreSQL and no --scan path (its data directory) was given"}),
            },
        },
        "webhook_signing_secrets": if webhooks == 0 {
            "the tenant has no webhooks".to_string()
        } else {
            format!("{webhooks} webhook(s): signing secrets derive from each region's root key and changed with the move; read each again from /api/v2/webhooks/{{id}}/signing_secret and give it to its receiver")
        },
        "ledger_entry": {"seq": entry.seq, "hash": hex::encode(&entry.hash)},
    });
    if !routes.finish_move(m, &certificate.to_string(), completed).await? {
        return Err(not_mine(m));
    }
    tracing::info!(tenant.id = m.tenant, from = %m.from, to = %m.to, rows, files = keys.len(), "tenant move done: the source's copy is erased and checked");
    let scanned = match (&report, database_scanned) {
        (Some(_), true) => "rows, files and a byte scan of its database and files checked",
        (Some(_), false) => "rows and files checked, and a byte scan of its blob store; its database's files were not scanned (--scan)",
        (None, _) => "rows and files checked; no byte scan (--scan)",
    };
    eprintln!("5/5 done: {} holds nothing of {} ({scanned})", m.from, m.subdomain);
    Ok(certificate)
}

/// The old region changed after the verification (`differ`: the tables). With
/// `--source-checked` given after a run that stopped on these very tables (the operator has
/// brought them over), the erasure goes on and they are named in the certificate; otherwise
/// they are recorded with the move and the run stops, saying what to do.
async fn overridden(routes: &Routes, m: &Move, figures: &Value, differ: Vec<String>, opts: &Options) -> anyhow::Result<Vec<String>> {
    let recorded: Vec<String> = figures
        .get("changed_after_verification")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    if opts.source_checked && !recorded.is_empty() && differ.iter().all(|t| recorded.contains(t)) {
        eprintln!(
            "erasing {}'s copy although {} changed there after the verification (--source-checked: brought over by hand)",
            m.from,
            differ.join(", ")
        );
        tracing::warn!(tenant.id = m.tenant, tables = %differ.join(","), "tenant move: the operator vouches for changes after the verification");
        return Ok(differ);
    }
    let mut all = recorded;
    for t in &differ {
        if !all.contains(t) {
            all.push(t.clone());
        }
    }
    let mut kept = figures.clone();
    if let Some(o) = kept.as_object_mut() {
        o.insert("changed_after_verification".into(), json!(all));
    }
    if !routes.record_figures(m, &kept.to_string()).await? {
        return Err(not_mine(m));
    }
    bail!(
        "{from} changed after the copy was verified ({tables}), and {to} serves the tenant now: nothing of {from} is erased. \
         Bring what {from} holds in those tables over to {to} by hand, then run the same command with --source-checked to erase {from}'s copy",
        from = m.from,
        to = m.to,
        tables = differ.join(", ")
    )
}

/// `tenant`'s rows in `tables` of `hd`, as "table: count" (only tables with any).
async fn rows_of(hd: &Helpdesk, tenant: TenantId, tables: &[String]) -> anyhow::Result<Vec<String>> {
    let mut c = hd.db().read().await?;
    let mut out = Vec::new();
    for t in tables {
        let owner = if t == "tenants" { "id" } else { "tenant_id" };
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {t} WHERE {owner} = $1")))
            .bind(tenant.0)
            .fetch_one(&mut c)
            .await?;
        if n > 0 {
            out.push(format!("{t}: {n}"));
        }
    }
    Ok(out)
}

/// Slices of the tenant's sealed values (the same bytes in both regions): what the byte scan
/// of the source looks for after the erasure.
async fn sample_sealed(hd: &Helpdesk, tenant: TenantId, tables: &[TenantTable]) -> anyhow::Result<Vec<suoja_privacy::scan::Canary>> {
    const PER_COLUMN: usize = 8;
    let mut out = Vec::new();
    let mut c = hd.db().read().await?;
    for t in tables {
        for (col, kind) in &t.columns {
            if *kind != relocation::Kind::Blob || not_compared(&t.name).contains(&col.as_str()) {
                continue;
            }
            let values: Vec<Option<Vec<u8>>> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT {col} FROM {} WHERE tenant_id = $1 AND {col} IS NOT NULL LIMIT 64",
                t.name
            )))
            .bind(tenant.0)
            .fetch_all(&mut c)
            .await?;
            let mut taken = 0;
            for v in values.into_iter().flatten() {
                // Sealed values carry a random nonce and a tag: 32 bytes of the middle are
                // found only where this value is.
                if v.len() >= 48 && taken < PER_COLUMN {
                    let mid = v.len() / 2;
                    if let Some(slice) = v.get(mid - 16..mid + 16) {
                        out.push(suoja_privacy::scan::Canary::raw(format!("{}.{col}", t.name), slice.to_vec()));
                        taken += 1;
                    }
                }
            }
        }
    }
    Ok(out)
}
