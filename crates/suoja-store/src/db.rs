//! `Db`: the connection pools for one engine. SQLite gets one writer connection (SQLite has one
//! writer; a pool of writers only adds lock contention) and a pool of readers; PostgreSQL gets
//! one pool for both. Every SQLite connection runs with `secure_delete=ON` from the database's
//! creation, so deleted rows leave no bytes behind in free pages.

use std::str::FromStr as _;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor as _};

use crate::{Result, StoreError};

/// A write transaction.
pub type Tx = sqlx::Transaction<'static, Any>;
/// A pooled connection for reads.
pub type Conn = sqlx::pool::PoolConnection<Any>;

/// Which database engine a `Db` talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Embedded SQLite in WAL mode.
    Sqlite,
    /// PostgreSQL 15 or later.
    Postgres,
}

/// Tuning for the pools.
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// Reader connections (SQLite) or total connections (PostgreSQL).
    pub max_connections: u32,
    /// How long to wait for a connection before answering "unavailable".
    pub acquire_timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// The database, on either engine.
#[derive(Debug, Clone)]
pub struct Db {
    engine: Engine,
    write: AnyPool,
    read: AnyPool,
}

const SQLITE_PRAGMAS: &str = "PRAGMA secure_delete = ON; PRAGMA foreign_keys = OFF; \
    PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; PRAGMA journal_size_limit = 0;";

impl Db {
    /// Connects to `url` (`sqlite://path/to/file.db` or `postgres://…`), creating a SQLite file
    /// when missing, and runs the migrations.
    pub async fn connect(url: &str, options: &DbOptions) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let engine = if url.starts_with("sqlite:") {
            Engine::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Engine::Postgres
        } else {
            return Err(StoreError::Config("database_url must start with sqlite:// or postgres://".into()));
        };
        let db = match engine {
            Engine::Sqlite => {
                let url = if url.contains('?') { url.to_string() } else { format!("{url}?mode=rwc") };
                let connect = AnyConnectOptions::from_str(&url)?;
                // The first connection sets the file-level modes before anyone else writes.
                let write = AnyPoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .acquire_timeout(options.acquire_timeout)
                    .test_before_acquire(false)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(SQLITE_PRAGMAS).await?;
                            conn.execute("PRAGMA journal_mode = WAL;").await?;
                            Ok(())
                        })
                    })
                    .connect_with(connect.clone())
                    .await?;
                let read = AnyPoolOptions::new()
                    .max_connections(options.max_connections.max(1))
                    .acquire_timeout(options.acquire_timeout)
                    .test_before_acquire(false)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(SQLITE_PRAGMAS).await?;
                            Ok(())
                        })
                    })
                    .connect_with(connect)
                    .await?;
                Db { engine, write, read }
            }
            Engine::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(options.max_connections.max(2))
                    .acquire_timeout(options.acquire_timeout)
                    .connect(url)
                    .await?;
                Db {
                    engine,
                    write: pool.clone(),
                    read: pool,
                }
            }
        };
        db.migrate().await?;
        if engine == Engine::Sqlite {
            // Gives the planner statistics where they are missing or stale (cheap when fresh).
            db.write.execute("PRAGMA analysis_limit = 2000; PRAGMA optimize = 0x10002;").await?;
            crate::dialect::drop_samples(&db).await?;
        }
        Ok(db)
    }

    /// The engine behind this `Db`.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`): another process writing the same file (a `suoja` command beside the server)
    /// is then waited for under `busy_timeout`, where a deferred transaction that read first
    /// would fail at its first write with `SQLITE_BUSY`.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self.engine {
            Engine::Sqlite => self.write.begin_with("BEGIN IMMEDIATE").await?,
            Engine::Postgres => self.write.begin().await?,
        })
    }

    /// A connection for reads.
    pub async fn read(&self) -> Result<Conn> {
        Ok(self.read.acquire().await?)
    }

    /// The write pool, for statements that must run outside a transaction (maintenance).
    pub fn write_pool(&self) -> &AnyPool {
        &self.write
    }

    /// Closes every connection (waits for them to be returned).
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }

    async fn migrate(&self) -> Result<()> {
        let mut conn = self.write.acquire().await?;
        crate::migrate::run(&mut conn, self.engine).await
    }
}
