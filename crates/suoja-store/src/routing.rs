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
    seen: Mutex<HashMap<String, (Option<String>, Instant)>>,
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
        Ok(Self {
            pool,
            seen: Mutex::new(HashMap::new()),
        })
    }

    /// The region serving `subdomain`'s tenant, if one is routed; read again after [`FRESH`].
    /// `subdomain` is a host's first label, lower-cased; one no tenant could have is answered
    /// without asking the database.
    pub async fn region_of(&self, subdomain: &str) -> Result<Option<String>> {
        if !possible_subdomain(subdomain) {
            return Ok(None);
        }
        if let Ok(seen) = self.seen.lock()
            && let Some((region, at)) = seen.get(subdomain)
            && at.elapsed() < FRESH
        {
            return Ok(region.clone());
        }
        let region: Option<String> = bounded(
            sqlx::query_scalar("SELECT region FROM tenant_routes WHERE subdomain = $1")
                .bind(subdomain)
                .fetch_optional(&self.pool),
        )
        .await?;
        if let Ok(mut seen) = self.seen.lock() {
            // Bounded: a flood of made-up hosts cannot grow it without end. What is stale goes
            // first; only a flood of fresh names empties it.
            if seen.len() >= 10_000 {
                seen.retain(|_, (_, at)| at.elapsed() < FRESH);
                if seen.len() >= 10_000 {
                    seen.clear();
                }
            }
            seen.insert(subdomain.to_string(), (region.clone(), Instant::now()));
        }
        Ok(region)
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

    fn forget(&self, key: &str) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.remove(key);
        }
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Whether `s` could be a tenant's subdomain (as tenants are created: 1 to 63 lower-case
/// letters, digits and '-').
pub fn possible_subdomain(s: &str) -> bool {
    (1..=63).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}
