//! The routing database of an installation with several regions: which region serves each
//! tenant's subdomain, and nothing else. Every region's nodes share it; no personal value, no
//! tenant's record and no key is ever written to it (a subdomain names an organisation, and the
//! region is a label of the configuration). Its one table is created here when missing; it is
//! not part of any region's schema or backups.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use suoja_core::Timestamp;

use crate::{Result, StoreError};

/// How long a looked-up route is trusted before it is read again: a tenant moved to another
/// region is refused by the old region's nodes this long after the switch at most.
const FRESH: Duration = Duration::from_secs(5);

/// The shared routing table, with a short memory of the routes it read.
#[derive(Debug)]
pub struct Routes {
    pool: AnyPool,
    seen: Mutex<HashMap<String, (Route, Instant)>>,
}

/// Where a subdomain's tenant is served.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Route {
    /// The region serving it (`None`: no tenant has the subdomain).
    pub region: Option<String>,
    /// Whether it is being moved to another region and not yet served there: its region's
    /// nodes answer none of its requests until the move switches the route or is cancelled.
    pub moving: bool,
}

/// Where a move of a tenant between regions stands (see `suoja tenant move`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MovePhase {
    /// Requests are refused in the region it leaves; nothing copied yet.
    Frozen,
    /// Its records, keys and files are in the destination.
    Copied,
    /// The destination holds exactly what the source holds.
    Verified,
    /// The destination serves it; the source still holds it.
    Switched,
    /// The source's copy is erased and checked; the certificate is written.
    Done,
    /// Cancelled before the route switched: the tenant is served where it was.
    Cancelled,
}

impl MovePhase {
    /// The phase's name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            MovePhase::Frozen => "frozen",
            MovePhase::Copied => "copied",
            MovePhase::Verified => "verified",
            MovePhase::Switched => "switched",
            MovePhase::Done => "done",
            MovePhase::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "frozen" => MovePhase::Frozen,
            "copied" => MovePhase::Copied,
            "verified" => MovePhase::Verified,
            "switched" => MovePhase::Switched,
            "done" => MovePhase::Done,
            "cancelled" => MovePhase::Cancelled,
            other => return Err(StoreError::Corrupt(format!("tenant_moves.phase {other:?}"))),
        })
    }

    /// Whether the tenant's requests are refused in this phase (before the route switches).
    pub fn holds_requests(self) -> bool {
        matches!(self, MovePhase::Frozen | MovePhase::Copied | MovePhase::Verified)
    }

    /// Whether the move has ended (done or cancelled).
    pub fn ended(self) -> bool {
        matches!(self, MovePhase::Done | MovePhase::Cancelled)
    }
}

/// A move of a tenant between regions (ids, region names, times and digests; nothing personal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    /// The move's number (a tenant's moves are kept, the latest is its current one).
    pub id: i64,
    /// The tenant's subdomain.
    pub subdomain: String,
    /// The tenant's id (the same in both regions).
    pub tenant: i64,
    /// The region it leaves.
    pub from: String,
    /// The region it goes to.
    pub to: String,
    /// Where the move stands.
    pub phase: MovePhase,
    /// The run of `suoja tenant move` that carries it on (a later run takes it over; the
    /// earlier one's next step then finds it is no longer its own and stops).
    pub run: String,
    /// When it started.
    pub started_at: Timestamp,
    /// When its phase last changed.
    pub updated_at: Timestamp,
    /// What the verification recorded (JSON: digests of the tenant's rows and files).
    pub figures: Option<String>,
    /// The certificate, once done (JSON).
    pub certificate: Option<String>,
}

/// A route as the operator's overview lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRow {
    /// The tenant's subdomain.
    pub subdomain: String,
    /// The region serving it.
    pub region: String,
    /// Its latest move: the region it went (or is going) to, and the phase.
    pub last_move: Option<(String, MovePhase)>,
}

/// What claiming a subdomain for a region found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This claim made the route: it is the claimant's to take back if it fails.
    Made,
    /// The route already named this region (someone else made it).
    Held,
    /// Another region serves a tenant of this subdomain.
    Taken(String),
}

/// A move held by its run (see [`Routes::hold`]).
#[derive(Debug)]
pub struct Hold {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    id: i64,
}

impl Hold {
    /// Takes the held move to `phase` and lets it go.
    pub async fn advance(mut self, phase: MovePhase, now: Timestamp) -> Result<()> {
        sqlx::query("UPDATE tenant_moves SET phase = $2, updated_at = $3 WHERE id = $1")
            .bind(self.id)
            .bind(phase.as_str())
            .bind(now.0)
            .execute(&mut *self.tx)
            .await?;
        self.tx.commit().await?;
        Ok(())
    }
}

/// Longest a routing statement may take, the wait for a connection included: every request
/// waits on its host's route before anything else.
const WAIT: Duration = Duration::from_secs(3);

/// Runs a routing statement within [`WAIT`]. Any failure of the routing database counts as its
/// being unavailable (503, retry): a node that cannot tell where a tenant lives serves no one,
/// and tells the balancer so.
async fn bounded<T>(statement: impl std::future::Future<Output = std::result::Result<T, sqlx::Error>>) -> Result<T> {
    match tokio::time::timeout(WAIT, statement).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(match StoreError::from(e) {
            StoreError::Database(e) => StoreError::Unavailable(e),
            other => other,
        }),
        Err(_) => Err(StoreError::Unavailable(sqlx::Error::PoolTimedOut)),
    }
}

impl Routes {
    /// Opens the routing database at `url` (`sqlite://…` or `postgres://…`), creating its table
    /// when missing.
    pub async fn open(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let url = if url.starts_with("sqlite:") && !url.contains('?') {
            format!("{url}?mode=rwc")
        } else if url.starts_with("sqlite:") || url.starts_with("postgres:") || url.starts_with("postgresql:") {
            url.to_string()
        } else {
            return Err(StoreError::Config("routing_url must start with sqlite:// or postgres://".into()));
        };
        let sqlite = url.starts_with("sqlite:");
        let pool = AnyPoolOptions::new()
            .max_connections(if sqlite { 1 } else { 4 })
            .acquire_timeout(WAIT)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        conn.execute("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(AnyConnectOptions::from_str(&url)?)
            .await?;
        pool.execute("CREATE TABLE IF NOT EXISTS tenant_routes (subdomain TEXT PRIMARY KEY, region TEXT NOT NULL, updated_at BIGINT NOT NULL)")
            .await?;
        let id = if sqlite {
            "id INTEGER PRIMARY KEY AUTOINCREMENT"
        } else {
            "id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
        };
        pool.execute(sqlx::AssertSqlSafe(format!(
            "CREATE TABLE IF NOT EXISTS tenant_moves ({id}, subdomain TEXT NOT NULL, tenant_id BIGINT NOT NULL, from_region TEXT NOT NULL, \
             to_region TEXT NOT NULL, phase TEXT NOT NULL, run TEXT NOT NULL, started_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, \
             figures TEXT, certificate TEXT)"
        )))
        .await?;
        pool.execute("CREATE INDEX IF NOT EXISTS tenant_moves_subdomain ON tenant_moves (subdomain, id)")
            .await?;
        Ok(Self {
            pool,
            seen: Mutex::new(HashMap::new()),
        })
    }

    /// The region serving `subdomain`'s tenant, if one is routed; read again after [`FRESH`].
    /// `subdomain` is a host's first label, lower-cased; one no tenant could have is answered
    /// without asking the database.
    pub async fn region_of(&self, subdomain: &str) -> Result<Option<String>> {
        Ok(self.route(subdomain).await?.region)
    }

    /// Where `subdomain`'s tenant is served and whether it is being moved; read again after
    /// [`FRESH`] (as [`Routes::region_of`]).
    pub async fn route(&self, subdomain: &str) -> Result<Route> {
        if !possible_subdomain(subdomain) {
            return Ok(Route::default());
        }
        if let Ok(seen) = self.seen.lock()
            && let Some((route, at)) = seen.get(subdomain)
            && at.elapsed() < FRESH
        {
            return Ok(route.clone());
        }
        let row: Option<(String, Option<String>)> = bounded(
            sqlx::query_as(
                "SELECT r.region, (SELECT m.phase FROM tenant_moves m WHERE m.subdomain = r.subdomain ORDER BY m.id DESC LIMIT 1) AS phase \
                 FROM tenant_routes r WHERE r.subdomain = $1",
            )
            .bind(subdomain)
            .fetch_optional(&self.pool),
        )
        .await?;
        let route = match row {
            Some((region, phase)) => Route {
                region: Some(region),
                moving: match phase {
                    Some(p) => MovePhase::parse(&p)?.holds_requests(),
                    None => false,
                },
            },
            None => Route::default(),
        };
        if let Ok(mut seen) = self.seen.lock() {
            // Bounded: a flood of made-up hosts cannot grow it without end. What is stale goes
            // first; only a flood of fresh names empties it.
            if seen.len() >= 10_000 {
                seen.retain(|_, (_, at)| at.elapsed() < FRESH);
                if seen.len() >= 10_000 {
                    seen.clear();
                }
            }
            seen.insert(subdomain.to_string(), (route.clone(), Instant::now()));
        }
        Ok(route)
    }

    /// Whether the routing database answers (readiness).
    pub async fn ping(&self) -> Result<()> {
        bounded(sqlx::query("SELECT 1").execute(&self.pool)).await?;
        Ok(())
    }

    /// Routes `subdomain` (a valid one: checked by the caller as tenants' are) to `region`
    /// unless another region already serves it. Run before the tenant is created, so two
    /// regions can never both create one.
    pub async fn claim(&self, subdomain: &str, region: &str, now: Timestamp) -> Result<Claim> {
        if !possible_subdomain(subdomain) {
            return Err(StoreError::Config(format!("{subdomain:?} cannot be a tenant's subdomain")));
        }
        let made = bounded(
            sqlx::query("INSERT INTO tenant_routes (subdomain, region, updated_at) VALUES ($1, $2, $3) ON CONFLICT (subdomain) DO NOTHING")
                .bind(subdomain)
                .bind(region)
                .bind(now.0)
                .execute(&self.pool),
        )
        .await?
        .rows_affected()
            == 1;
        let held: Option<String> = bounded(
            sqlx::query_scalar("SELECT region FROM tenant_routes WHERE subdomain = $1")
                .bind(subdomain)
                .fetch_optional(&self.pool),
        )
        .await?;
        self.forget(subdomain);
        Ok(match held {
            Some(r) if r != region => Claim::Taken(r),
            _ if made => Claim::Made,
            _ => Claim::Held,
        })
    }

    /// Removes the route a [`Claim::Made`] made (its tenant could not be created). Returns
    /// whether a route went.
    pub async fn release(&self, subdomain: &str, region: &str) -> Result<bool> {
        let n = bounded(
            sqlx::query("DELETE FROM tenant_routes WHERE subdomain = $1 AND region = $2")
                .bind(subdomain)
                .bind(region)
                .execute(&self.pool),
        )
        .await?
        .rows_affected();
        self.forget(subdomain);
        Ok(n > 0)
    }

    /// Starts moving `subdomain`'s tenant from `from` to `to` as `run` (its requests are
    /// refused from now on, within [`FRESH`] on every node), or takes over the move already
    /// under way to `to` (resumed). Refused when the route does not name `from`, or a move
    /// elsewhere is under way.
    pub async fn begin_move(&self, subdomain: &str, tenant: i64, from: &str, to: &str, run: &str, now: Timestamp) -> Result<Move> {
        let mut tx = bounded(self.pool.begin()).await?;
        if let Some(m) = move_row(&mut tx, subdomain).await?.filter(|m| !m.phase.ended()) {
            if m.to != to {
                return Err(StoreError::Config(format!(
                    "{subdomain} is already being moved from {} to {} (phase {}): resume that move, or cancel it first",
                    m.from,
                    m.to,
                    m.phase.as_str()
                )));
            }
            // Bounded: a run holding the move (copying) keeps its row locked until it is done.
            bounded(
                sqlx::query("UPDATE tenant_moves SET run = $2 WHERE id = $1")
                    .bind(m.id)
                    .bind(run)
                    .execute(&mut *tx),
            )
            .await?;
            tx.commit().await?;
            return Ok(Move { run: run.to_string(), ..m });
        }
        let region: Option<String> = sqlx::query_scalar("SELECT region FROM tenant_routes WHERE subdomain = $1")
            .bind(subdomain)
            .fetch_optional(&mut *tx)
            .await?;
        if region.as_deref() != Some(from) {
            return Err(StoreError::Config(format!(
                "{subdomain} is not served in region {from} (its route: {})",
                region.as_deref().unwrap_or("none")
            )));
        }
        sqlx::query(
            "INSERT INTO tenant_moves (subdomain, tenant_id, from_region, to_region, phase, run, started_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(subdomain)
        .bind(tenant)
        .bind(from)
        .bind(to)
        .bind(MovePhase::Frozen.as_str())
        .bind(run)
        .bind(now.0)
        .execute(&mut *tx)
        .await?;
        let made = move_row(&mut tx, subdomain).await?.ok_or_else(|| StoreError::Corrupt("tenant_moves".into()))?;
        tx.commit().await?;
        self.forget(subdomain);
        Ok(made)
    }

    /// As [`Routes::claim`], for a tenant just made: a route this region already held is marked
    /// anew (its `updated_at` moves on), so the claim that made it can no longer take it back
    /// with [`Routes::release_claim`] — two creates of one subdomain at once, the one that lost
    /// never unroutes the one that won — and a route taken back meanwhile is made again.
    pub async fn confirm(&self, subdomain: &str, region: &str, now: Timestamp) -> Result<Claim> {
        let claim = self.claim(subdomain, region, now).await?;
        if claim == Claim::Held {
            bounded(
                sqlx::query(
                    "UPDATE tenant_routes SET updated_at = CASE WHEN updated_at >= $3 THEN updated_at + 1 ELSE $3 END \
                     WHERE subdomain = $1 AND region = $2",
                )
                .bind(subdomain)
                .bind(region)
                .bind(now.0)
                .execute(&self.pool),
            )
            .await?;
            self.forget(subdomain);
        }
        Ok(claim)
    }

    /// Takes back the route of `subdomain` to `region` that a [`Routes::claim`] at `claimed_at`
    /// made, if it is still that claim's (not confirmed since by a tenant made): whether it did.
    pub async fn release_claim(&self, subdomain: &str, region: &str, claimed_at: Timestamp) -> Result<bool> {
        let n = bounded(
            sqlx::query("DELETE FROM tenant_routes WHERE subdomain = $1 AND region = $2 AND updated_at = $3")
                .bind(subdomain)
                .bind(region)
                .bind(claimed_at.0)
                .execute(&self.pool),
        )
        .await?
        .rows_affected();
        self.forget(subdomain);
        Ok(n > 0)
    }

    /// `subdomain`'s current move (its latest), if it ever moved or is moving.
    pub async fn move_of(&self, subdomain: &str) -> Result<Option<Move>> {
        let mut c = bounded(self.pool.acquire()).await?;
        move_row(&mut c, subdomain).await
    }

    /// Takes `m` from its phase to `phase` (with the verification's `figures`, when given, in
    /// the same statement), if it is still at that phase and still `m`'s run's; whether it was.
    pub async fn advance(&self, m: &Move, phase: MovePhase, figures: Option<&str>, now: Timestamp) -> Result<bool> {
        let n = bounded(
            sqlx::query("UPDATE tenant_moves SET phase = $4, updated_at = $5, figures = COALESCE($6, figures) WHERE id = $1 AND phase = $2 AND run = $3")
                .bind(m.id)
                .bind(m.phase.as_str())
                .bind(&m.run)
                .bind(phase.as_str())
                .bind(now.0)
                .bind(figures)
                .execute(&self.pool),
        )
        .await?
        .rows_affected();
        self.forget(&m.subdomain);
        Ok(n == 1)
    }

    /// Holds `m` for a step that writes outside the routing database (the copy): if it is
    /// still at its phase, still `m`'s run's and its route still names the region it leaves,
    /// its row stays locked until [`Hold::advance`] (or the hold is dropped), so no other run
    /// takes it over and no cancel lands meanwhile. `None` when it is no longer so.
    pub async fn hold(&self, m: &Move) -> Result<Option<Hold>> {
        let mut tx = bounded(self.pool.begin()).await?;
        let mine = bounded(
            sqlx::query("UPDATE tenant_moves SET updated_at = updated_at WHERE id = $1 AND phase = $2 AND run = $3")
                .bind(m.id)
                .bind(m.phase.as_str())
                .bind(&m.run)
                .execute(&mut *tx),
        )
        .await?
        .rows_affected();
        let region: Option<String> = sqlx::query_scalar("SELECT region FROM tenant_routes WHERE subdomain = $1")
            .bind(&m.subdomain)
            .fetch_optional(&mut *tx)
            .await?;
        if mine != 1 || region.as_deref() != Some(m.from.as_str()) {
            return Ok(None);
        }
        Ok(Some(Hold { tx, id: m.id }))
    }

    /// Routes `m`'s subdomain to the region it goes to, in one transaction with its phase
    /// (verified → switched, if still `m`'s run's): from now on that region serves it and its
    /// old region refuses it (421). Whether it switched.
    pub async fn switch(&self, m: &Move, now: Timestamp) -> Result<bool> {
        let mut tx = bounded(self.pool.begin()).await?;
        let mine = sqlx::query("UPDATE tenant_moves SET phase = $4, updated_at = $5 WHERE id = $1 AND phase = $2 AND run = $3")
            .bind(m.id)
            .bind(MovePhase::Verified.as_str())
            .bind(&m.run)
            .bind(MovePhase::Switched.as_str())
            .bind(now.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if mine != 1 {
            return Ok(false);
        }
        let n = sqlx::query("UPDATE tenant_routes SET region = $3, updated_at = $4 WHERE subdomain = $1 AND region = $2")
            .bind(&m.subdomain)
            .bind(&m.from)
            .bind(&m.to)
            .bind(now.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n != 1 {
            return Err(StoreError::Config(format!("the route of {} no longer names {}", m.subdomain, m.from)));
        }
        tx.commit().await?;
        self.forget(&m.subdomain);
        Ok(true)
    }

    /// Marks `m` done with its certificate (switched → done, if still `m`'s run's); whether it was.
    pub async fn finish_move(&self, m: &Move, certificate: &str, now: Timestamp) -> Result<bool> {
        let n = bounded(
            sqlx::query("UPDATE tenant_moves SET phase = $4, updated_at = $5, certificate = $6 WHERE id = $1 AND phase = $2 AND run = $3")
                .bind(m.id)
                .bind(MovePhase::Switched.as_str())
                .bind(&m.run)
                .bind(MovePhase::Done.as_str())
                .bind(now.0)
                .bind(certificate)
                .execute(&self.pool),
        )
        .await?
        .rows_affected();
        self.forget(&m.subdomain);
        Ok(n == 1)
    }

    /// Keeps `figures` with `m` (if still at its phase and `m`'s run's); whether it was.
    pub async fn record_figures(&self, m: &Move, figures: &str) -> Result<bool> {
        let n = bounded(
            sqlx::query("UPDATE tenant_moves SET figures = $4 WHERE id = $1 AND phase = $2 AND run = $3")
                .bind(m.id)
                .bind(m.phase.as_str())
                .bind(&m.run)
                .bind(figures)
                .execute(&self.pool),
        )
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Cancels `subdomain`'s move if it has not switched the route (its requests are served
    /// where they were again; a run still carrying it on stops at its next step); returns it.
    pub async fn cancel_move(&self, subdomain: &str, now: Timestamp) -> Result<Option<Move>> {
        let mut tx = bounded(self.pool.begin()).await?;
        let Some(m) = move_row(&mut tx, subdomain).await?.filter(|m| m.phase.holds_requests()) else {
            return Ok(None);
        };
        let n = bounded(
            sqlx::query("UPDATE tenant_moves SET phase = $3, updated_at = $4 WHERE id = $1 AND phase = $2")
                .bind(m.id)
                .bind(m.phase.as_str())
                .bind(MovePhase::Cancelled.as_str())
                .bind(now.0)
                .execute(&mut *tx),
        )
        .await?
        .rows_affected();
        if n != 1 {
            return Ok(None);
        }
        tx.commit().await?;
        self.forget(subdomain);
        Ok(Some(m))
    }

    fn forget(&self, key: &str) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.remove(key);
        }
    }

    /// Every route, by subdomain, with its latest move's destination and phase (for the
    /// operator's overview); at most `limit`.
    pub async fn list(&self, limit: i64) -> Result<Vec<RouteRow>> {
        let rows: Vec<(String, String, Option<String>, Option<String>)> = bounded(
            sqlx::query_as(
                "SELECT r.subdomain, r.region, m.to_region, m.phase FROM tenant_routes r \
                 LEFT JOIN tenant_moves m ON m.id = (SELECT MAX(l.id) FROM tenant_moves l WHERE l.subdomain = r.subdomain) \
                 ORDER BY r.subdomain LIMIT $1",
            )
            .bind(limit)
            .fetch_all(&self.pool),
        )
        .await?;
        rows.into_iter()
            .map(|(subdomain, region, to, phase)| {
                let last_move = match (to, phase) {
                    (Some(to), Some(p)) => Some((to, MovePhase::parse(&p)?)),
                    _ => None,
                };
                Ok(RouteRow { subdomain, region, last_move })
            })
            .collect()
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// `subdomain`'s latest move.
async fn move_row(c: &mut sqlx::AnyConnection, subdomain: &str) -> Result<Option<Move>> {
    let row = sqlx::query(
        "SELECT id, subdomain, tenant_id, from_region, to_region, phase, run, started_at, updated_at, figures, certificate \
         FROM tenant_moves WHERE subdomain = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(subdomain)
    .fetch_optional(c)
    .await?;
    let Some(r) = row else { return Ok(None) };
    use sqlx::Row as _;
    Ok(Some(Move {
        id: r.try_get("id")?,
        subdomain: r.try_get("subdomain")?,
        tenant: r.try_get("tenant_id")?,
        from: r.try_get("from_region")?,
        to: r.try_get("to_region")?,
        phase: MovePhase::parse(&r.try_get::<String, _>("phase")?)?,
        run: r.try_get("run")?,
        started_at: Timestamp(r.try_get("started_at")?),
        updated_at: Timestamp(r.try_get("updated_at")?),
        figures: r.try_get("figures")?,
        certificate: r.try_get("certificate")?,
    }))
}

/// Whether `s` could be a tenant's subdomain (as tenants are created: 1 to 63 lower-case
/// letters, digits and '-').
pub fn possible_subdomain(s: &str) -> bool {
    (1..=63).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}
