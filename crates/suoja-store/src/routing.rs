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

/// Why a subdomain could not be routed to a region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The route is this region's now (or already was).
    Routed,
    /// Another region serves a tenant of this subdomain.
    Taken(String),
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
            .max_connections(if sqlite { 1 } else { 2 })
            .acquire_timeout(Duration::from_secs(10))
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
    pub async fn region_of(&self, subdomain: &str) -> Result<Option<String>> {
        let key = subdomain.to_ascii_lowercase();
        if let Ok(seen) = self.seen.lock()
            && let Some((region, at)) = seen.get(&key)
            && at.elapsed() < FRESH
        {
            return Ok(region.clone());
        }
        let region: Option<String> = sqlx::query_scalar("SELECT region FROM tenant_routes WHERE subdomain = $1")
            .bind(&key)
            .fetch_optional(&self.pool)
            .await?;
        if let Ok(mut seen) = self.seen.lock() {
            // Bounded: a flood of made-up hosts cannot grow it without end.
            if seen.len() > 10_000 {
                seen.clear();
            }
            seen.insert(key, (region.clone(), Instant::now()));
        }
        Ok(region)
    }

    /// Routes `subdomain` to `region` unless another region already serves it. Run before the
    /// tenant is created, so two regions can never both create one.
    pub async fn claim(&self, subdomain: &str, region: &str, now: Timestamp) -> Result<Claim> {
        let key = subdomain.to_ascii_lowercase();
        sqlx::query("INSERT INTO tenant_routes (subdomain, region, updated_at) VALUES ($1, $2, $3) ON CONFLICT (subdomain) DO NOTHING")
            .bind(&key)
            .bind(region)
            .bind(now.0)
            .execute(&self.pool)
            .await?;
        let held: Option<String> = sqlx::query_scalar("SELECT region FROM tenant_routes WHERE subdomain = $1")
            .bind(&key)
            .fetch_optional(&self.pool)
            .await?;
        self.forget(&key);
        Ok(match held {
            Some(r) if r != region => Claim::Taken(r),
            _ => Claim::Routed,
        })
    }

    /// Removes `subdomain`'s route if it names `region` (a tenant whose creation failed after
    /// its claim). Returns whether a route went.
    pub async fn release(&self, subdomain: &str, region: &str) -> Result<bool> {
        let key = subdomain.to_ascii_lowercase();
        let n = sqlx::query("DELETE FROM tenant_routes WHERE subdomain = $1 AND region = $2")
            .bind(&key)
            .bind(region)
            .execute(&self.pool)
            .await?
            .rows_affected();
        self.forget(&key);
        Ok(n > 0)
    }

    /// Every route, by subdomain (the operator's listing).
    pub async fn all(&self) -> Result<Vec<(String, String)>> {
        Ok(sqlx::query_as("SELECT subdomain, region FROM tenant_routes ORDER BY subdomain")
            .fetch_all(&self.pool)
            .await?)
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
