//! `Db`: the connection pools for one engine. SQLite gets one writer connection (SQLite has one
//! writer; a pool of writers only adds lock contention) and a pool of readers; PostgreSQL gets
//! one pool for both. Every SQLite connection runs with `secure_delete=ON` from the database's
//! creation, so deleted rows leave no bytes behind in free pages, and with `temp_store=MEMORY`,
//! so no page image is ever spilled to a temporary file.

use std::str::FromStr as _;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::any::{AnyQueryResult, AnyRow, AnyStatement, AnyTypeInfo};
use sqlx::{Any, AnyConnection, AnyPool, Executor as _};

use crate::group::WriterTarget;
use crate::lite::Lite;
use crate::{Result, StoreError};

/// A connection to the store, as the domain sees it: a pooled connection for reads
/// ([`Db::read`]) or the connection under a write transaction (`&mut tx` for a [`Tx`]). Store
/// and index calls take `&mut Conn`; which engine and which driver stand behind it is the
/// store's business alone. It runs SQL (it is an `Executor`) for the store and the search
/// index's engines, the two crates that write SQL.
pub struct Conn(ConnInner);

enum ConnInner {
    Pooled(sqlx::pool::PoolConnection<Any>),
    /// A connection of its own, outside the pools (work on a server rather than a database).
    Detached(AnyConnection),
    Own(sqlx::Transaction<'static, Any>),
    Grouped(crate::group::Member),
}

impl Conn {
    pub(crate) fn detached(c: AnyConnection) -> Self {
        Conn(ConnInner::Detached(c))
    }

    /// The engine behind the connection.
    pub fn engine(&self) -> Engine {
        let raw: &AnyConnection = match &self.0 {
            ConnInner::Pooled(c) => c,
            ConnInner::Detached(c) => c,
            ConnInner::Own(t) => t,
            // Only SQLite's writer is shared by a group commit.
            ConnInner::Grouped(_) => return Engine::Sqlite,
        };
        if raw.backend_name().eq_ignore_ascii_case("postgresql") {
            Engine::Postgres
        } else {
            Engine::Sqlite
        }
    }

    /// Inserts a row into `into` (a table and its columns, as `"t (a, b)"`): at once, or, in a
    /// request begun with [`Db::begin_adding`] on SQLite, just before its batch commits
    /// (`deferred.rs`). Only for rows nothing in the same request reads back except through
    /// [`Conn::settle_deferred`] first.
    pub async fn insert_at_commit(&mut self, into: &'static str, values: Vec<crate::Bound>) -> Result<()> {
        if let ConnInner::Grouped(m) = &mut self.0 {
            let deferred = &mut m.conn_mut().deferred;
            if deferred.defers() {
                deferred.push(into, values);
                return Ok(());
            }
        }
        crate::deferred::insert(self.target(), vec![crate::deferred::row(into, values)]).await?;
        Ok(())
    }

    /// Inserts now the rows this request deferred to the commit, before it reads or changes
    /// what they belong to.
    pub async fn settle_deferred(&mut self) -> Result<()> {
        if let ConnInner::Grouped(m) = &mut self.0 {
            let writer = m.conn_mut();
            if !writer.deferred.is_empty() {
                writer.insert_deferred(false).await?;
            }
        }
        Ok(())
    }

    /// A nested savepoint opens or ends (rows are not deferred inside one).
    fn nest(&mut self, opens: bool) {
        if let ConnInner::Grouped(m) = &mut self.0 {
            m.conn_mut().deferred.nest(opens);
        }
    }

    /// Where this connection's statements run: a sqlx connection, or the native SQLite writer.
    fn target(&mut self) -> WriterTarget<'_> {
        match &mut self.0 {
            ConnInner::Pooled(c) => WriterTarget::Pooled(c),
            ConnInner::Detached(c) => WriterTarget::Pooled(c),
            ConnInner::Own(t) => WriterTarget::Pooled(t),
            ConnInner::Grouped(m) => m.conn_mut().target(),
        }
    }
}

/// A statement run on the native writer, as sqlx's stream of results and rows.
pub(crate) fn native<'e, 'q: 'e, E>(
    lite: &'e Lite,
    mut query: E,
    first_only: bool,
) -> BoxStream<'e, std::result::Result<sqlx::Either<AnyQueryResult, AnyRow>, sqlx::Error>>
where
    E: 'q + sqlx::Execute<'q, Any>,
{
    use futures_util::StreamExt as _;
    let args = query.take_arguments().map_err(sqlx::Error::Encode);
    let persistent = query.persistent();
    let sql = query.sql();
    futures_util::stream::once(async move {
        // A long transaction lets the runtime's other tasks run now and then.
        tokio::task::coop::consume_budget().await;
        match args.and_then(|args| lite.run(sql.as_str(), args, first_only, persistent)) {
            Ok(out) => out.into_iter().map(Ok).collect::<Vec<_>>(),
            Err(e) => vec![Err(e)],
        }
    })
    .flat_map(futures_util::stream::iter)
    .boxed()
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            ConnInner::Pooled(_) => "Conn",
            ConnInner::Detached(_) => "Conn(detached)",
            ConnInner::Own(_) => "Conn(transaction)",
            ConnInner::Grouped(_) => "Conn(grouped transaction)",
        })
    }
}

impl<'c> sqlx::Executor<'c> for &'c mut Conn {
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> BoxStream<'e, std::result::Result<sqlx::Either<AnyQueryResult, AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + sqlx::Execute<'q, Any>,
    {
        match self.target() {
            WriterTarget::Pooled(c) => c.fetch_many(query),
            WriterTarget::Native(lite) => native(lite, query, false),
        }
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, std::result::Result<Option<AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + sqlx::Execute<'q, Any>,
    {
        use futures_util::StreamExt as _;
        match self.target() {
            WriterTarget::Pooled(c) => c.fetch_optional(query),
            WriterTarget::Native(lite) => Box::pin(async move {
                let mut rows = native(lite, query, true);
                while let Some(item) = rows.next().await {
                    if let sqlx::Either::Right(row) = item? {
                        return Ok(Some(row));
                    }
                }
                Ok(None)
            }),
        }
    }

    fn prepare_with<'e>(self, sql: sqlx::SqlStr, parameters: &'e [AnyTypeInfo]) -> BoxFuture<'e, std::result::Result<AnyStatement, sqlx::Error>>
    where
        'c: 'e,
    {
        match self.target() {
            WriterTarget::Pooled(c) => c.prepare_with(sql, parameters),
            WriterTarget::Native(_) => Box::pin(async { Err(sqlx::Error::Protocol("statements are not prepared ahead on the SQLite writer".into())) }),
        }
    }
}

/// A write transaction: use it as the connection (`&mut tx`) and end it with
/// [`commit`](Tx::commit); dropped without a commit, its work is undone. On SQLite it is the
/// request's part of a group commit (see `group.rs`); on PostgreSQL a transaction of its own.
pub struct Tx(Conn);

impl Tx {
    /// Keeps the transaction's work; returns once it is committed.
    pub async fn commit(self) -> Result<()> {
        match self.0.0 {
            ConnInner::Own(t) => Ok(t.commit().await?),
            ConnInner::Grouped(m) => m.commit().await,
            // Never built: a `Tx` always holds a transaction.
            ConnInner::Pooled(_) | ConnInner::Detached(_) => Ok(()),
        }
    }
}

impl std::ops::Deref for Tx {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.0
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.0
    }
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tx({:?})", self.0)
    }
}

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
    /// SQLite: answer a write only once it is synced to disk (the pool's writer with
    /// `synchronous=FULL`, the native writer's batches by the group's sync thread) rather than
    /// sync at checkpoints only (`NORMAL`).
    pub durable_commits: bool,
    /// SQLite: run the writer's statements in place on a connection of SQLite's own C
    /// interface (`lite.rs`) rather than through sqlx's worker thread. Off only to compare.
    pub native_writer: bool,
    /// Also apply the rehearsal migration (see `migrate::REHEARSAL`), which no release has:
    /// the tests' "next version" when they roll nodes to a build with a new migration. Off in
    /// every real installation.
    pub rehearsal_migration: bool,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(10),
            durable_commits: true,
            native_writer: true,
            rehearsal_migration: false,
        }
    }
}

/// The database, on either engine.
#[derive(Debug, Clone)]
pub struct Db {
    engine: Engine,
    write: AnyPool,
    read: AnyPool,
    /// SQLite: the writer's group commit.
    group: std::sync::Arc<crate::group::Group>,
    /// Where files' bytes go (the database itself unless [`Db::with_blobs`] says otherwise).
    blobs: crate::blobs::Blobs,
    /// SQLite: when this process last changed the planner's statistics.
    statistics: std::sync::Arc<StatisticsEpoch>,
    /// SQLite: the thread the busiest write paths run on ([`Db::on_writer`]).
    writer_thread: Option<std::sync::Arc<crate::writer_thread::WriterThread>>,
}

/// When the planner's statistics last changed, so that readers opened before it are replaced
/// as they are next taken from the pool: a SQLite connection reads the statistics as it opens
/// and plans with them for as long as it lives.
#[derive(Debug)]
pub(crate) struct StatisticsEpoch {
    start: std::time::Instant,
    /// Nanoseconds after `start` (0: never changed).
    changed: std::sync::atomic::AtomicU64,
}

impl StatisticsEpoch {
    fn new() -> std::sync::Arc<Self> {
        std::sync::Arc::new(StatisticsEpoch {
            start: std::time::Instant::now(),
            changed: std::sync::atomic::AtomicU64::new(0),
        })
    }

    fn now_ns(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Records a change (after it is committed).
    fn mark(&self) {
        // A millisecond on: a reader's age is read a moment before it is compared, so one
        // opened just before the change could otherwise look opened after it (one opened just
        // after it is replaced once more, which costs nothing).
        self.changed
            .store(self.now_ns().saturating_add(1_000_000), std::sync::atomic::Ordering::Release);
    }

    /// Whether a connection that has existed for `age` opened after the last change.
    fn current(&self, age: std::time::Duration) -> bool {
        let changed = self.changed.load(std::sync::atomic::Ordering::Acquire);
        let opened = self.now_ns().saturating_sub(u64::try_from(age.as_nanos()).unwrap_or(u64::MAX));
        changed == 0 || opened >= changed
    }
}

/// How long a SQLite reader is kept before the pool replaces it, so it reads statistics that
/// another process changed (this process's own changes replace readers at once).
const READER_LIFETIME: std::time::Duration = std::time::Duration::from_secs(600);

/// Every SQLite connection's settings. `temp_store = MEMORY`: a statement journal (the page
/// images a savepoint must be able to restore; every request's transaction is one) or a sort
/// that outgrows its cache would otherwise spill into an unlinked file in `/var/tmp`, leaving
/// page images of personal data in free blocks of the disk, outside every erasure's reach, and
/// writing each reused page twice. The cost is memory: a transaction holds the old images of
/// the pages it changes that existed before it, so one that deletes much (erasing a person with
/// large files) holds about that much until it ends. Migrations, which may copy whole tables,
/// spill to a file instead (`migrate::run`). `wal_autocheckpoint = 4000` pages (16 MB instead of 4): the
/// log is copied into the file and truncated a quarter as often, which the mail import measured
/// at ~20 % more messages a second; erasure, redaction and retention still truncate it at once
/// themselves (`dialect::retire_wal`), and `journal_size_limit = 0` keeps every truncation whole.
const SQLITE_PRAGMAS: &str = "PRAGMA secure_delete = ON; PRAGMA foreign_keys = OFF; \
    PRAGMA busy_timeout = 10000; PRAGMA journal_size_limit = 0; PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 4000;";

/// The file the native writer opens for a `sqlite:` URL, as sqlx reads the URL; `None` (no
/// native writer) for an in-memory or read-only database, or when the URL sets anything
/// beyond the open mode (another VFS, `immutable`, a cache mode), which the second connection
/// could not be sure to share.
fn writable_file(url: &str) -> Option<String> {
    let (location, query) = url.split_once('?').unwrap_or((url, ""));
    if location.ends_with(":memory:") || !query.split('&').filter(|kv| !kv.is_empty()).all(|kv| kv == "mode=rw" || kv == "mode=rwc") {
        return None;
    }
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).ok()?;
    let path = options.get_filename();
    let path = path.to_str()?;
    (!path.is_empty() && !path.starts_with("file:")).then(|| path.to_string())
}

/// The writer's `synchronous` setting (readers write nothing).
fn synchronous(durable: bool) -> &'static str {
    if durable {
        "PRAGMA synchronous = FULL;"
    } else {
        "PRAGMA synchronous = NORMAL;"
    }
}

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
                let sync = synchronous(options.durable_commits);
                // The first connection sets the file-level modes before anyone else writes.
                let write = AnyPoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .acquire_timeout(options.acquire_timeout)
                    .test_before_acquire(false)
                    .after_connect(move |conn, _| {
                        Box::pin(async move {
                            conn.execute(SQLITE_PRAGMAS).await?;
                            conn.execute(sync).await?;
                            conn.execute("PRAGMA journal_mode = WAL;").await?;
                            Ok(())
                        })
                    })
                    .connect_with(connect.clone())
                    .await?;
                let statistics = StatisticsEpoch::new();
                let epoch = statistics.clone();
                let read = AnyPoolOptions::new()
                    .max_connections(options.max_connections.max(1))
                    .acquire_timeout(options.acquire_timeout)
                    // A connection reads the planner's statistics as it opens: readers opened
                    // before they last changed are replaced (`dialect::refresh_statistics`).
                    .max_lifetime(READER_LIFETIME)
                    .test_before_acquire(false)
                    .before_acquire(move |_, meta| {
                        let current = epoch.current(meta.age);
                        Box::pin(async move { Ok(current) })
                    })
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(SQLITE_PRAGMAS).await?;
                            Ok(())
                        })
                    })
                    .connect_with(connect)
                    .await?;
                Db {
                    engine,
                    write,
                    read,
                    group: crate::group::Group::new(options.acquire_timeout),
                    blobs: crate::blobs::Blobs::in_database(),
                    statistics,
                    writer_thread: Some(std::sync::Arc::new(crate::writer_thread::WriterThread::start()?)),
                }
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
                    group: crate::group::Group::new(options.acquire_timeout),
                    blobs: crate::blobs::Blobs::in_database(),
                    statistics: StatisticsEpoch::new(),
                    writer_thread: None,
                }
            }
        };
        db.migrate(options.rehearsal_migration).await?;
        if engine == Engine::Sqlite {
            // Gives the planner statistics where they are missing or stale (cheap when fresh).
            crate::dialect::refresh_statistics(&db).await?;
            if let Some(path) = writable_file(url).filter(|_| options.native_writer) {
                // Durable commits are synced by the group's sync thread after each batch's
                // commit (`group::sync_batches`), so the writer itself commits without syncing.
                let pragmas = format!("{SQLITE_PRAGMAS} {}", synchronous(false));
                db.group.set_native(Lite::open(&path, &pragmas)?, options.durable_commits)?;
            }
        }
        Ok(db)
    }

    /// The engine behind this `Db`.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// This database with files' bytes kept in `blobs`.
    #[must_use]
    pub fn with_blobs(mut self, blobs: crate::blobs::Blobs) -> Self {
        self.blobs = blobs;
        self
    }

    /// Where files' bytes are kept.
    pub fn blobs(&self) -> &crate::blobs::Blobs {
        &self.blobs
    }

    /// Starts a write transaction. On SQLite it joins the writer's group commit: requests
    /// writing at nearly the same time share one transaction (each in its own savepoint) and
    /// one commit. A shared transaction takes the write lock at once (`BEGIN IMMEDIATE`):
    /// another process writing the same file (a `suoja` command beside the server) is then
    /// waited for under `busy_timeout`, where a deferred transaction that read first would fail
    /// at its first write with `SQLITE_BUSY`.
    pub async fn begin(&self) -> Result<Tx> {
        self.begin_as(false).await
    }

    /// [`Db::begin`] for work that adds records and changes only those it adds (a new
    /// ticket): on SQLite its search index rows may wait for the batch's commit
    /// ([`Conn::insert_at_commit`]), so a batch's new documents make one FTS5 segment.
    pub async fn begin_adding(&self) -> Result<Tx> {
        self.begin_as(true).await
    }

    async fn begin_as(&self, adding: bool) -> Result<Tx> {
        Ok(match self.engine {
            Engine::Sqlite => Tx(Conn(ConnInner::Grouped(self.group.begin(&self.write, adding).await?))),
            Engine::Postgres => Tx(Conn(ConnInner::Own(self.write.begin().await?))),
        })
    }

    /// Runs `work` where writes are quickest: on SQLite, on the writer's own thread
    /// (`writer_thread.rs`), where the group commit passes the writer on without waiting behind
    /// other requests; on PostgreSQL, in place. Meant for a whole write transaction, from
    /// [`Db::begin`] to its commit, on a busy path. It runs to its end even if the caller goes
    /// away.
    pub async fn on_writer<T, F>(&self, work: F) -> Result<T>
    where
        F: std::future::Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        match &self.writer_thread {
            Some(thread) => thread.run(work).await,
            None => Ok(work.await),
        }
    }

    /// Applies a per-connection setting to every connection that writes (SQLite: the pool's
    /// writer and the native writer; PostgreSQL: nothing).
    pub(crate) async fn writer_pragma(&self, pragma: &'static str) -> Result<()> {
        if self.engine == Engine::Sqlite {
            // Holding the pool's writer, so no batch is running on the native one.
            let mut writer = self.write.acquire().await?;
            writer.execute(pragma).await?;
            // Off the runtime's threads: a statement that writes (`ANALYZE sqlite_schema`) may
            // wait up to the busy timeout for another process's write to end.
            let group = self.group.clone();
            tokio::task::spawn_blocking(move || group.native_batch(pragma))
                .await
                .map_err(|_| StoreError::Database(sqlx::Error::WorkerCrashed))??;
        }
        Ok(())
    }

    /// SQLite: (write transactions committed, commits that carried them) since start; their
    /// ratio is how many requests a group commit shares. PostgreSQL: (0, 0).
    pub fn commit_stats(&self) -> (u64, u64) {
        match self.engine {
            Engine::Sqlite => self.group.stats(),
            Engine::Postgres => (0, 0),
        }
    }

    /// Readers opened before now are replaced as they are next taken from the pool (the
    /// planner's statistics changed).
    pub(crate) fn statistics_changed(&self) {
        self.statistics.mark();
    }

    /// A connection for reads.
    pub async fn read(&self) -> Result<Conn> {
        Ok(Conn(ConnInner::Pooled(self.read.acquire().await?)))
    }

    /// The write pool, for statements that must run outside a transaction (maintenance).
    pub fn write_pool(&self) -> &AnyPool {
        &self.write
    }

    /// Closes every connection (waits for them to be returned).
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
        self.group.close_native();
    }

    async fn migrate(&self, rehearsal: bool) -> Result<()> {
        let mut conn = self.write.acquire().await?;
        crate::migrate::run(&mut conn, self.engine, rehearsal).await
    }
}

/// A point in the open transaction that [`rollback_to`] returns to, so one part of a request
/// (a trigger's changes) can be undone alone. `name` is a constant word.
pub async fn savepoint(c: &mut Conn, name: &'static str) -> crate::Result<()> {
    // The request's rows waiting for the commit go in first: inserted later inside the
    // savepoint, a rollback to it would take them away.
    c.settle_deferred().await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("SAVEPOINT {name}"))).execute(&mut *c).await?;
    c.nest(true);
    Ok(())
}

/// Undoes what was written since the savepoint, and ends it.
pub async fn rollback_to(c: &mut Conn, name: &'static str) -> crate::Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!("ROLLBACK TO SAVEPOINT {name}")))
        .execute(&mut *c)
        .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("RELEASE SAVEPOINT {name}"))).execute(&mut *c).await?;
    c.nest(false);
    Ok(())
}

/// Keeps what was written since the savepoint, and ends it.
pub async fn release(c: &mut Conn, name: &'static str) -> crate::Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!("RELEASE SAVEPOINT {name}"))).execute(&mut *c).await?;
    c.nest(false);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn sqlite(name: &str) -> (Db, std::path::PathBuf) {
        sqlite_with(name, true).await
    }

    async fn sqlite_with(name: &str, native_writer: bool) -> (Db, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("suoja-{name}-{native_writer}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let options = DbOptions {
            native_writer,
            ..DbOptions::default()
        };
        let db = Db::connect(&format!("sqlite://{}/t.db", dir.display()), &options).await.unwrap();
        assert_eq!(db.group.is_native(), native_writer);
        (db, dir)
    }

    /// `EXPLAIN QUERY PLAN` `q` on `c`, its steps joined, prepared anew (a cached statement
    /// would keep the plan it was first given).
    async fn plan_of(c: &mut Conn, q: &str) -> String {
        let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(q)).persistent(false).fetch_all(c).await.unwrap();
        rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("; ")
    }

    /// The plans of `q` on the pool's writer and on the native writer (inside a transaction).
    async fn writers_plans(db: &Db, q: &str) -> [(&'static str, String); 2] {
        let mut w = Conn(ConnInner::Pooled(db.write_pool().acquire().await.unwrap()));
        let writer = plan_of(&mut w, q).await;
        drop(w);
        let mut tx = db.begin().await.unwrap();
        let native = plan_of(&mut tx, q).await;
        drop(tx);
        [("writer", writer), ("native writer", native)]
    }

    /// The search index's tables are planned by key on every connection — the writer that
    /// analysed them as the database opened, a reader, the native writer — and on the writers
    /// after a refresh of the statistics, when the database last opened with next to nothing in
    /// them. Planned from the few rows they held then, FTS5's merges (`DELETE … WHERE id >= ?
    /// AND id <= ?`) and a list of documents read by rowid would scan the whole table (a
    /// figure of two: a full scan; of five: a scan from the range's start to the table's end).
    #[tokio::test]
    async fn search_tables_are_planned_by_key_however_small_they_were() {
        const PLANS: [(&str, &str); 2] = [
            (
                "EXPLAIN QUERY PLAN DELETE FROM search_index_data WHERE id >= 1 AND id <= 2",
                "SEARCH search_index_data USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)",
            ),
            (
                "EXPLAIN QUERY PLAN SELECT public FROM search_index_docs WHERE id IN (5, 9, 13, 17)",
                "SEARCH search_index_docs USING INTEGER PRIMARY KEY (rowid=?)",
            ),
        ];
        async fn check(c: &mut Conn, who: &str) {
            for (q, want) in PLANS {
                let got = plan_of(&mut *c, q).await;
                assert_eq!(got, want, "{who}");
            }
        }
        let (db, dir) = sqlite("search-plan").await;
        let mut tx = db.begin().await.unwrap();
        for doc in [1_i64, 2, 3] {
            sqlx::query(
                "INSERT INTO search_index_docs (id, tenant_id, doc_kind, doc_id, public, internal) VALUES ($1, 1, 1, $2, 's1k1 x0000000000000001', '')",
            )
            .bind(doc * 4 + 1)
            .bind(doc)
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        db.close().await;
        let db = Db::connect(&format!("sqlite://{}/t.db", dir.display()), &DbOptions::default()).await.unwrap();
        let counted: Vec<(String, String)> =
            sqlx::query_as("SELECT tbl, COALESCE(idx, '') || ': ' || stat FROM sqlite_stat1 WHERE tbl LIKE 'search_index_d%' ORDER BY tbl, idx")
                .fetch_all(db.write_pool())
                .await
                .unwrap();
        assert_eq!(
            counted,
            [
                ("search_index_data".to_string(), ": 1000".to_string()),
                ("search_index_docs".to_string(), "search_index_docs_size: 1000 1 1 1".to_string())
            ],
            "the open analysed both tables and kept their figures at the floor"
        );
        check(&mut db.read().await.unwrap(), "a reader, as opened").await;
        for round in ["as opened", "after a refresh"] {
            // One at a time: the native writer's transactions may take the writer pool's
            // one connection.
            let mut w = Conn(ConnInner::Pooled(db.write_pool().acquire().await.unwrap()));
            check(&mut w, &format!("the writer, {round}")).await;
            drop(w);
            let mut tx = db.begin().await.unwrap();
            check(&mut tx, &format!("the native writer, {round}")).await;
            drop(tx);
            crate::dialect::refresh_statistics(&db).await.unwrap();
        }
        db.close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A server opened on a new database plans with the statistics refreshed after its tables
    /// grew, on the pool's writer and on the native writer alike (each reads them when it
    /// opens, and the native writer lives as long as the server). Planned with SQLite's default
    /// estimates (the tables had no statistics), or with figures from when a ticket held every
    /// audit, a ticket's audits are read through the tenant's time index, every audit of the
    /// tenant, instead of the ticket's own.
    #[tokio::test]
    async fn writers_plan_with_refreshed_statistics() {
        const PLAN: &str = "EXPLAIN QUERY PLAN SELECT created_at, events FROM ticket_audits WHERE tenant_id = 1 AND ticket_id = 7 ORDER BY created_at, id";
        let (db, dir) = sqlite("grown").await;
        let mut tx = db.begin().await.unwrap();
        let stale = plan_of(&mut tx, PLAN).await;
        assert!(stale.contains("ticket_audits_tenant_time"), "planned as empty: {stale}");
        drop(tx);
        // First twenty audits of one ticket, analysed (the ticket's index would find them all),
        // then two thousand of two hundred tickets: the table grew a hundredfold since.
        for (n, tickets) in [(20_i64, 1_i64), (2000, 200)] {
            let mut tx = db.begin().await.unwrap();
            sqlx::query(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
                 INSERT INTO ticket_audits (tenant_id, ticket_id, via, events, created_at) SELECT 1, 7 + i % $2, 'api', '[]', i FROM n",
            )
            .bind(n)
            .bind(tickets)
            .execute(&mut *tx)
            .await
            .unwrap();
            tx.commit().await.unwrap();
            crate::dialect::refresh_statistics(&db).await.unwrap();
        }
        for (who, p) in writers_plans(&db, PLAN).await {
            assert!(p.contains("USING INDEX ticket_audits_ticket"), "the {who} plans {p}");
        }
        db.close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A view's page on SQLite counts its matches first when its conditions are statuses and an
    /// assignee (SQLite's statistics cannot tell how many tickets have no assignee, or a rare
    /// status): matching many (every ticket but a few unassigned), the page is walked along the
    /// order's index, never every match read and sorted; matching few (a status three tickets
    /// have, one agent's thirty), they are sorted from their ids, never every ticket walked.
    /// Every page is the plain query's page.
    #[tokio::test]
    async fn a_views_page_walks_many_matches_and_sorts_few() {
        use crate::tickets::{Condition, Conditions, IdColumn, TicketFilter, TicketSort, list, page_sql};
        use suoja_core::{TenantId, UserId};
        let (db, dir) = sqlite("view-pages").await;
        let mut tx = db.begin().await.unwrap();
        // Tenant 100: 3 000 tickets, unassigned but for every hundredth (agent 7), new or open
        // but for every thousandth (pending); times scrambled against ids and each other.
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) \
             INSERT INTO tickets (id, tenant_id, key_id, requester_id, submitter_id, assignee_id, description_enc, status, status_rank, tags_enc, \
             custom_fields_enc, via, created_at, updated_at) \
             SELECT i, 100, 1, 1000 + i % 50, 1000 + i % 50, CASE WHEN i % 100 = 0 THEN 7 END, x'00', \
             CASE WHEN i % 1000 = 0 THEN 'pending' WHEN i % 2 = 0 THEN 'open' ELSE 'new' END, \
             CASE WHEN i % 1000 = 0 THEN 2 ELSE i % 2 END, x'00', x'00', 'api', (i * 7919) % 3001, (i * 104729) % 3001 FROM n",
        )
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
        crate::dialect::refresh_statistics(&db).await.unwrap();
        let tenant = TenantId(100);
        let unsolved = Some(vec![0, 1, 2, 3]);
        let cases = [
            (
                "unassigned",
                TicketFilter {
                    unassigned: true,
                    status_ranks: unsolved.clone(),
                    ..Default::default()
                },
                true,
            ),
            (
                "pending",
                TicketFilter {
                    status_ranks: Some(vec![2]),
                    ..Default::default()
                },
                false,
            ),
            // As the default view "Unassigned tickets" asks it.
            (
                "unassigned",
                TicketFilter {
                    conditions: Some(Conditions {
                        all: vec![
                            Condition::Ids {
                                column: IdColumn::Assignee,
                                values: vec![None],
                                negate: false,
                            },
                            Condition::Ids {
                                column: IdColumn::StatusRank,
                                values: vec![Some(0), Some(1), Some(2), Some(3)],
                                negate: false,
                            },
                        ],
                        any: Vec::new(),
                    }),
                    ..Default::default()
                },
                true,
            ),
            (
                "agent 7's",
                TicketFilter {
                    assignee: Some(UserId(7)),
                    status_ranks: unsolved,
                    ..Default::default()
                },
                false,
            ),
        ];
        let mut r = db.read().await.unwrap();
        for (what, f, many) in &cases {
            for (sort, order, index) in [
                (TicketSort::UpdatedDesc, "updated_at DESC, id DESC", "tickets_tenant_updated"),
                (TicketSort::CreatedAsc, "created_at ASC, id ASC", "tickets_tenant_created"),
            ] {
                for offset in [0, 20] {
                    let sql = page_sql(&mut r, tenant, f, None, sort, 25, offset).await.unwrap().unwrap();
                    let plan = plan_of(&mut r, &format!("EXPLAIN QUERY PLAN {}", sql.replace("$1", "100"))).await;
                    if *many {
                        assert!(
                            plan.contains(&format!("USING INDEX {index}")) && !plan.contains("TEMP B-TREE"),
                            "{what}: {plan}"
                        );
                    } else {
                        assert!(plan.contains("USING INTEGER PRIMARY KEY"), "{what}: {plan}");
                    }
                    let got: Vec<i64> = list(&mut r, tenant, f, sort, 25, offset).await.unwrap().iter().map(|t| t.id.0).collect();
                    let want: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                        "SELECT id FROM tickets NOT INDEXED WHERE tenant_id = 100 AND deleted_at IS NULL AND restricted = 0 AND {} \
                         ORDER BY {order} LIMIT 25 OFFSET {offset}",
                        match *what {
                            "unassigned" => "assignee_id IS NULL AND status_rank IN (0, 1, 2, 3)",
                            "pending" => "status_rank = 2",
                            _ => "assignee_id = 7 AND status_rank IN (0, 1, 2, 3)",
                        }
                    )))
                    .persistent(false)
                    .fetch_all(&mut r)
                    .await
                    .unwrap();
                    assert_eq!(got, want, "{what}, {order}, from {offset}");
                    let expected = match (*what, offset) {
                        ("pending", 0) => 3,
                        ("pending", _) => 0,
                        ("agent 7's", 20) => 10,
                        _ => 25,
                    };
                    assert_eq!(got.len(), expected, "{what}, from {offset}");
                }
            }
        }
        drop(r);
        db.close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A person's rows are planned through the person's own keys however skewed the helpdesk:
    /// here one requester holds nearly every ticket (as a monitoring system or a benchmark's
    /// requester does) and another ten. Analysed as measured — bounded, a tenant looks like two
    /// thousand rows; exactly, a requester like half the tickets — the second person's comments
    /// were read through the tenant's part of the author index (every comment of the tenant).
    /// Shaped, on every connection (a reader opened before the change is replaced), and a refresh
    /// after that changes nothing. A status is no key: shaped as one, or as measured among
    /// small tenants that come first, a view of one status in order of change read every ticket
    /// of the status and sorted them.
    #[tokio::test]
    async fn a_persons_rows_are_planned_through_their_own_keys() {
        const PLAN: &str = "EXPLAIN QUERY PLAN SELECT c.body_enc FROM comments c JOIN tickets t ON t.tenant_id = c.tenant_id AND t.id = c.ticket_id \
                            WHERE t.tenant_id = 100 AND t.requester_id = 3";
        // A view of the tickets of one status, in order of change: walked in that order, not
        // every ticket of the status read and sorted (a status is no key).
        const VIEW: &str = "EXPLAIN QUERY PLAN SELECT id FROM tickets WHERE tenant_id = 100 AND deleted_at IS NULL AND status_rank IN (4) \
                            ORDER BY updated_at DESC, id DESC LIMIT 25";
        // A view of unsolved tickets, newest first: walked in order of creation (migration 42),
        // not every unsolved ticket read and sorted.
        const CREATED: &str = "EXPLAIN QUERY PLAN SELECT id FROM tickets WHERE tenant_id = 100 AND deleted_at IS NULL AND status_rank IN (0, 1, 2, 3) \
                               ORDER BY created_at DESC, id DESC LIMIT 50";
        async fn stats(db: &Db) -> String {
            crate::dialect::row_counts(db).await.unwrap()
        }
        let (db, dir) = sqlite("skewed").await;
        // A reader opened on the empty tables, back in the pool when the statistics change.
        let mut early = db.read().await.unwrap();
        let empty = plan_of(&mut early, PLAN).await;
        drop(early);
        let mut tx = db.begin().await.unwrap();
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3010) \
             INSERT INTO tickets (id, tenant_id, key_id, requester_id, submitter_id, description_enc, status, status_rank, tags_enc, \
             custom_fields_enc, via, created_at, updated_at) \
             SELECT i, 100, 1, CASE WHEN i % 301 = 0 THEN 3 ELSE 2 END, 2, x'00', 'new', i % 5, x'00', x'00', 'api', i, i FROM n",
        )
        .execute(&mut *tx)
        .await
        .unwrap();
        // Before it in every index, sixty small tenants of thirty tickets: a bounded analysis
        // measures their statuses (about six tickets a status), not the large tenant's.
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1800) \
             INSERT INTO tickets (id, tenant_id, key_id, requester_id, submitter_id, description_enc, status, status_rank, tags_enc, \
             custom_fields_enc, via, created_at, updated_at) \
             SELECT 10000 + i, 1 + i / 30, 1, 1000 + i / 30, 1000 + i / 30, x'00', 'new', i % 5, x'00', x'00', 'api', i, i FROM n",
        )
        .execute(&mut *tx)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO comments (tenant_id, ticket_id, author_id, key_id, public, body_enc, via, created_at) \
             SELECT tenant_id, id, requester_id, 1, 1, x'00', 'api', created_at FROM tickets",
        )
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
        for exact in [false, true] {
            if exact {
                // As an analysis without a bound measures it.
                db.write_pool().execute("PRAGMA analysis_limit = 0; ANALYZE").await.unwrap();
            }
            crate::dialect::refresh_statistics(&db).await.unwrap();
            let shaped = stats(&db).await;
            crate::dialect::refresh_statistics(&db).await.unwrap();
            assert_eq!(stats(&db).await, shaped, "a refresh of shaped statistics changed them");
            assert!(shaped.contains("tickets tickets_tenant_requester_updated 4810 4810 9 "), "{shaped}");
            let [writer, native] = writers_plans(&db, PLAN).await;
            let views = writers_plans(&db, VIEW).await;
            // The reader opened before is replaced: it planned `empty` with SQLite's defaults.
            let mut r = db.read().await.unwrap();
            let reader = ("reader", plan_of(&mut r, PLAN).await);
            let reader_view = ("reader", plan_of(&mut r, VIEW).await);
            let reader_created = ("reader", plan_of(&mut r, CREATED).await);
            drop(r);
            for (who, view) in views.into_iter().chain([reader_view]) {
                assert_eq!(
                    view, "SEARCH tickets USING INDEX tickets_tenant_updated (tenant_id=?)",
                    "the {who}'s status view"
                );
            }
            for (who, view) in writers_plans(&db, CREATED).await.into_iter().chain([reader_created]) {
                assert_eq!(
                    view, "SEARCH tickets USING INDEX tickets_tenant_created (tenant_id=?)",
                    "the {who}'s view in order of creation"
                );
            }
            for (who, p) in [writer, native, reader] {
                assert!(
                    p.contains("SEARCH t USING COVERING INDEX tickets_tenant_requester_updated (tenant_id=? AND requester_id=?)")
                        && p.contains("SEARCH c USING INDEX comments_tenant_ticket (tenant_id=? AND ticket_id=?)"),
                    "the {who}, analysed exactly: {exact}, plans {p} (on empty tables: {empty})"
                );
            }
        }
        db.close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A search's count looks each match up among the ids of the tenant's live tickets
    /// (`tickets_live`), not in the table, and counts only the tenant's live tickets: none
    /// trashed, restricted or another tenant's, stopping at the cap. Asked anything more of a
    /// ticket (here a status), it reads the table's rows as before.
    #[tokio::test]
    async fn a_search_count_reads_only_the_ids_of_live_tickets() {
        let (db, dir) = sqlite("live").await;
        let mut tx = db.begin().await.unwrap();
        // Tenant 100 has tickets 1–300, tenant 200 301–600; every tenth trashed, every fifteenth
        // restricted.
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 600) \
             INSERT INTO tickets (id, tenant_id, key_id, requester_id, submitter_id, description_enc, status, status_rank, tags_enc, \
             custom_fields_enc, via, created_at, updated_at, deleted_at, restricted) \
             SELECT i, CASE WHEN i <= 300 THEN 100 ELSE 200 END, 1, 2, 2, x'00', 'new', i % 5, x'00', x'00', 'api', i, i, \
             CASE WHEN i % 10 = 0 THEN i END, CASE WHEN i % 15 = 0 THEN 1 ELSE 0 END FROM n",
        )
        .execute(&mut *tx)
        .await
        .unwrap();
        // Six hundred tenants: the figures then say a tenant has about one live ticket, which
        // tempts the planner to walk the tenant's tickets and look each up among the matches.
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 600) \
             INSERT INTO tenants (subdomain, name, region, created_at) SELECT 't' || i, 'T', 'eu', 0 FROM n",
        )
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
        crate::dialect::refresh_statistics(&db).await.unwrap();
        let shaped = crate::dialect::row_counts(&db).await.unwrap();
        assert!(shaped.contains("tickets tickets_live 520 1 1"), "{shaped}");
        // The search engine's matches: every third ticket of both tenants.
        let docs = (1..=600).filter(|i| i % 3 == 0).map(|i| format!("({i})")).collect::<Vec<_>>().join(",");
        let matching = crate::tickets::IndexMatch {
            docs: format!("SELECT column1 AS doc FROM (VALUES {docs})"),
            holds: "1 = 1".into(),
            ranking: None,
        };
        let live = crate::tickets::TicketFilter {
            matching: Some(matching),
            ..Default::default()
        };
        let of_status = crate::tickets::TicketFilter {
            status_ranks: Some(vec![1]),
            ..live.clone()
        };
        let expected = |status: Option<i64>| {
            let n = (1..=300_i64)
                .filter(|i| i % 3 == 0 && i % 10 != 0 && i % 15 != 0 && status.is_none_or(|s| i % 5 == s))
                .count();
            i64::try_from(n).unwrap()
        };
        let mut r = db.read().await.unwrap();
        let tenant = suoja_core::TenantId(100);
        assert_eq!(crate::tickets::count_capped(&mut r, tenant, &live, 1000).await.unwrap(), expected(None));
        assert_eq!(crate::tickets::count_capped(&mut r, tenant, &live, 50).await.unwrap(), 50);
        assert_eq!(crate::tickets::count_capped(&mut r, tenant, &of_status, 1000).await.unwrap(), expected(Some(1)));
        let plan =
            |f: &crate::tickets::TicketFilter, r: &Conn| format!("EXPLAIN QUERY PLAN {}", crate::tickets::count_capped_sql(r, f, 1000).replace("$1", "100"));
        let (live_plan, status_plan) = (plan(&live, &r), plan(&of_status, &r));
        let live_plan = plan_of(&mut r, &live_plan).await;
        let status_plan = plan_of(&mut r, &status_plan).await;
        assert!(
            live_plan.contains("SEARCH tickets USING INDEX tickets_live (tenant_id=? AND id=?"),
            "{live_plan}"
        );
        assert!(status_plan.contains("SEARCH tickets USING INTEGER PRIMARY KEY (rowid=?)"), "{status_plan}");
        drop(r);
        db.close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Writers at the same time share commits; one writer's failure undoes its own work only;
    /// a dropped transaction leaves nothing; every committed write is there once `commit`
    /// returns, read from another connection.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn group_commit_keeps_each_writers_work_or_none_of_it() {
        for native in [true, false] {
            group_commit_on(native).await;
        }
    }

    async fn group_commit_on(native: bool) {
        let (db, dir) = sqlite_with("group", native).await;
        let mut tx = db.begin().await.unwrap();
        sqlx::query("CREATE TABLE t (x INTEGER NOT NULL UNIQUE, who INTEGER NOT NULL)")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..200i64 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = db.begin().await.unwrap();
                // A writer before it may have taken this value (see below): then it gives up.
                if sqlx::query("INSERT INTO t (x, who) VALUES ($1, $2)")
                    .bind(i * 10)
                    .bind(i)
                    .execute(&mut *tx)
                    .await
                    .is_err()
                {
                    return (i, false);
                }
                // Every fifth writer then breaks a rule (its own first row must go too), every
                // seventh gives up without committing.
                let clash = (i % 5 == 0).then_some(((i + 1) % 200) * 10);
                if let Some(x) = clash {
                    tokio::task::yield_now().await;
                    if sqlx::query("INSERT INTO t (x, who) VALUES ($1, $2)")
                        .bind(x)
                        .bind(i)
                        .execute(&mut *tx)
                        .await
                        .is_err()
                    {
                        return (i, false);
                    }
                    sqlx::query("INSERT INTO t (x, who) VALUES ($1, $2)")
                        .bind(-x - 1)
                        .bind(i)
                        .execute(&mut *tx)
                        .await
                        .unwrap();
                }
                if i % 7 == 0 {
                    return (i, false);
                }
                tx.commit().await.unwrap();
                let mut r = db.read().await.unwrap();
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t WHERE who = $1")
                    .bind(i)
                    .fetch_one(&mut r)
                    .await
                    .unwrap();
                assert!(n >= 1, "writer {i}'s row is readable once commit returned");
                (i, true)
            }));
        }
        let mut kept = Vec::new();
        for t in tasks {
            let (i, ok) = t.await.unwrap();
            if ok {
                kept.push(i);
            }
        }
        let mut r = db.read().await.unwrap();
        let mut whos: Vec<i64> = sqlx::query_scalar("SELECT DISTINCT who FROM t ORDER BY who").fetch_all(&mut r).await.unwrap();
        whos.sort();
        kept.sort();
        assert_eq!(whos, kept, "exactly the committed writers' rows");
        let (members, commits) = db.commit_stats();
        assert_eq!(members, kept.len() as u64 + 1, "every committed transaction counted (and the table's)");
        assert!(commits < members, "{members} transactions in {commits} commits: none shared");
        drop(r);
        db.close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }

    async fn count_d(c: &mut Conn, id: i64) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM d WHERE id = $1").bind(id).fetch_one(c).await.unwrap()
    }

    fn row(id: i64, who: i64) -> Vec<crate::Bound> {
        vec![crate::Bound::Int(id), crate::Bound::Int(who)]
    }

    /// Rows deferred to the commit: a request begun to add records writes them as its batch
    /// commits, unless it reads them first (`settle_deferred`) or is inside a savepoint of its
    /// own; they go when its work is undone; any other request finds them written.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rows_deferred_to_the_commit_go_with_their_request() {
        for native in [true, false] {
            deferred_rows_on(native).await;
        }
    }

    async fn deferred_rows_on(native: bool) {
        let (db, dir) = sqlite_with("deferred", native).await;
        let mut tx = db.begin().await.unwrap();
        sqlx::query("CREATE TABLE d (id INTEGER PRIMARY KEY, who INTEGER NOT NULL)")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();

        // Waits for the commit; written now once the request reads it.
        let mut tx = db.begin_adding().await.unwrap();
        tx.insert_at_commit("d (id, who)", row(1, 1)).await.unwrap();
        assert_eq!(count_d(&mut tx, 1).await, 0, "deferred: not written yet");
        tx.settle_deferred().await.unwrap();
        assert_eq!(count_d(&mut tx, 1).await, 1, "settled: written in the request");
        tx.insert_at_commit("d (id, who)", row(2, 1)).await.unwrap();
        assert_eq!(count_d(&mut tx, 2).await, 0);
        tx.commit().await.unwrap();
        let mut r = db.read().await.unwrap();
        assert_eq!(count_d(&mut r, 2).await, 1, "written by the commit");
        drop(r);

        // Undone with the request's work.
        let mut tx = db.begin_adding().await.unwrap();
        tx.insert_at_commit("d (id, who)", row(3, 2)).await.unwrap();
        drop(tx);
        // Inside a savepoint of the request's own: written at once, undone with it; a row
        // deferred before it is kept.
        let mut tx = db.begin_adding().await.unwrap();
        tx.insert_at_commit("d (id, who)", row(7, 3)).await.unwrap();
        savepoint(&mut tx, "inner").await.unwrap();
        tx.insert_at_commit("d (id, who)", row(4, 3)).await.unwrap();
        assert_eq!(count_d(&mut tx, 4).await, 1, "not deferred inside a savepoint");
        // The index read inside it settles nothing that a rollback to it could take away.
        tx.settle_deferred().await.unwrap();
        rollback_to(&mut tx, "inner").await.unwrap();
        tx.insert_at_commit("d (id, who)", row(5, 3)).await.unwrap();
        assert_eq!(count_d(&mut tx, 5).await, 0, "deferred again once it ended");
        tx.commit().await.unwrap();
        // A request not begun to add writes at once.
        let mut tx = db.begin().await.unwrap();
        tx.insert_at_commit("d (id, who)", row(6, 4)).await.unwrap();
        assert_eq!(count_d(&mut tx, 6).await, 1);
        tx.commit().await.unwrap();
        let mut r = db.read().await.unwrap();
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM d ORDER BY id").fetch_all(&mut r).await.unwrap();
        assert_eq!(ids, vec![1, 2, 5, 6, 7]);
        drop(r);

        // In one batch: the next request (not adding) finds the rows deferred before it.
        let mut shared = false;
        for attempt in 0..20i64 {
            let id = 100 + attempt;
            let (members, commits) = db.commit_stats();
            let mut first = db.begin_adding().await.unwrap();
            first.insert_at_commit("d (id, who)", row(id, 5)).await.unwrap();
            let next = {
                let db = db.clone();
                tokio::spawn(async move {
                    let mut tx = db.begin().await.unwrap();
                    let seen = count_d(&mut tx, id).await;
                    tx.commit().await.unwrap();
                    seen
                })
            };
            tokio::time::timeout(Duration::from_secs(10), async {
                while db.group.waiting() == 0 {
                    tokio::task::yield_now().await;
                }
            })
            .await
            .expect("the next request queues for the writer");
            first.commit().await.unwrap();
            let seen = next.await.unwrap();
            assert_eq!(seen, 1, "a later request of the batch reads the row deferred before it");
            if db.commit_stats() == (members + 2, commits + 1) {
                shared = true;
                break;
            }
        }
        assert!(shared, "the two requests never shared a commit");

        // Many requests at once, some undone: exactly the committed ones' rows remain.
        let mut tasks = Vec::new();
        for i in 0..200i64 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = db.begin_adding().await.unwrap();
                tx.insert_at_commit("d (id, who)", row(1000 + i, 1000 + i)).await.unwrap();
                tokio::task::yield_now().await;
                if i % 3 == 0 {
                    tx.settle_deferred().await.unwrap();
                }
                if i % 7 == 0 {
                    return None;
                }
                tx.commit().await.unwrap();
                Some(1000 + i)
            }));
        }
        let mut kept = Vec::new();
        for t in tasks {
            kept.extend(t.await.unwrap());
        }
        kept.sort();
        let mut r = db.read().await.unwrap();
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM d WHERE id >= 1000 ORDER BY id")
            .fetch_all(&mut r)
            .await
            .unwrap();
        assert_eq!(ids, kept, "exactly the committed requests' rows");
        drop(r);
        db.close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Requests that go away at any point (a client disconnecting drops its future) never
    /// leave the writer stuck or back in the pool with a transaction open.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writers_that_go_away_at_any_point_never_stall_the_rest() {
        let (db, dir) = sqlite("gone").await;
        let mut tx = db.begin().await.unwrap();
        sqlx::query("CREATE TABLE t (x INTEGER NOT NULL)").execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        let rounds = async {
            for round in 0..30u64 {
                let mut handles = Vec::new();
                for i in 0..24i64 {
                    let db = db.clone();
                    handles.push(tokio::spawn(async move {
                        let mut tx = db.begin().await?;
                        sqlx::query("INSERT INTO t (x) VALUES ($1)").bind(i).execute(&mut *tx).await?;
                        tokio::task::yield_now().await;
                        tx.commit().await
                    }));
                }
                tokio::time::sleep(Duration::from_micros(round * 97 % 1500)).await;
                for (k, h) in handles.iter().enumerate() {
                    if k % 3 == suoja_core::num::u64_to_usize(round) % 3 {
                        h.abort();
                    }
                }
                for h in handles {
                    let _ = h.await;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(60), rounds)
            .await
            .expect("no writer is left waiting for good");
        tokio::time::timeout(Duration::from_secs(10), async {
            let mut tx = db.begin().await.unwrap();
            sqlx::query("INSERT INTO t (x) VALUES (-1)").execute(&mut *tx).await.unwrap();
            tx.commit().await.unwrap();
        })
        .await
        .expect("the writer is free again");
        // `VACUUM` refuses to run inside a transaction: none was left open on the writer.
        sqlx::query("VACUUM").execute(db.write_pool()).await.unwrap();
        db.close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Work sent to the writer's thread runs there and returns its value (and, sent from
    /// there, runs in place); writes sent there at once share commits; work whose caller goes
    /// away still runs to its end; a panic in it is resumed in the caller, and the thread goes
    /// on.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn work_on_the_writers_thread() {
        let (db, dir) = sqlite("onwriter").await;
        let thread = || std::thread::current().name().map(str::to_string);
        assert_eq!(db.on_writer(async move { thread() }).await.unwrap().as_deref(), Some("suoja-writer"));
        let inner = db.clone();
        let (outer, nested) = db
            .on_writer(async move { (tokio::task::try_id(), inner.on_writer(async move { tokio::task::try_id() }).await) })
            .await
            .unwrap();
        assert!(outer.is_some());
        assert_eq!(nested.unwrap(), outer, "nested work runs in place, in the same task");
        let mut tx = db.begin().await.unwrap();
        sqlx::query("CREATE TABLE t (x INTEGER NOT NULL)").execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        let insert = |db: Db, x: i64| async move {
            let mut tx = db.begin().await?;
            sqlx::query("INSERT INTO t (x) VALUES ($1)").bind(x).execute(&mut *tx).await?;
            tx.commit().await
        };
        let (members, commits) = db.commit_stats();
        let mut tasks = Vec::new();
        for x in 0..100 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move { db.on_writer(insert(db.clone(), x)).await }));
        }
        for t in tasks {
            t.await.unwrap().unwrap().unwrap();
        }
        let (members_after, commits_after) = db.commit_stats();
        assert_eq!(members_after - members, 100);
        assert!(commits_after - commits < 100, "{} commits for 100 writes: none shared", commits_after - commits);
        // The caller goes away while its work waits: the work goes on.
        let work = db.clone();
        let gone = tokio::time::timeout(
            Duration::from_millis(1),
            db.on_writer(async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                insert(work, 1000).await
            }),
        )
        .await;
        assert!(gone.is_err(), "the caller went away first");
        let count = |db: Db| async move {
            let mut r = db.read().await.unwrap();
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM t").fetch_one(&mut r).await.unwrap()
        };
        let mut n = 0;
        for _ in 0..100 {
            n = count(db.clone()).await;
            if n == 101 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(n, 101, "the work whose caller went away committed");
        let panicking = db.clone();
        let joined = tokio::spawn(async move {
            panicking
                .on_writer(async move {
                    if n > 0 {
                        panic!("a panic on the writer's thread");
                    }
                    n
                })
                .await
        })
        .await;
        assert!(joined.is_err_and(|e| e.is_panic()), "the panic reached the caller");
        assert_eq!(db.on_writer(async { 7 }).await.unwrap(), 7, "the thread goes on after a panic");
        db.close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The sync thread syncs the log SQLite writes, named after the database's path as SQLite
    /// resolves it: a database opened through a symbolic link has its log beside the file the
    /// link names.
    #[tokio::test]
    async fn the_log_synced_is_the_one_sqlite_writes() {
        let dir = std::env::temp_dir().join(format!("suoja-synclink-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("real")).unwrap();
        let real = dir.join("real").join("t.db");
        Db::connect(&format!("sqlite://{}", real.display()), &DbOptions::default())
            .await
            .unwrap()
            .close()
            .await;
        let link = dir.join("link.db");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let db = Db::connect(&format!("sqlite://{}", link.display()), &DbOptions::default()).await.unwrap();
        let log = db.group.synced_log().expect("durable commits sync a log").to_path_buf();
        assert_eq!(log.canonicalize().unwrap(), dir.join("real").join("t.db-wal").canonicalize().unwrap());
        assert!(!dir.join("link.db-wal").exists(), "no log beside the link");
        let mut tx = db.begin().await.unwrap();
        sqlx::query("CREATE TABLE t (x INTEGER)").execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        assert!(std::fs::metadata(&log).unwrap().len() > 0, "the commit's frames are in the log synced");
        db.close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// `durable_commits` reaches the SQLite writer: the pool's writer syncs every commit
    /// (FULL, 2); the native writer commits without syncing (NORMAL, 1) and, with durable
    /// commits, its group's sync thread syncs each batch before its requests are answered.
    #[tokio::test]
    async fn durable_commits_set_the_writers_synchronous_mode() {
        for (durable, expected) in [(true, 2i64), (false, 1)] {
            let dir = std::env::temp_dir().join(format!("suoja-sync-{}-{durable}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let url = format!("sqlite://{}/t.db", dir.display());
            let db = Db::connect(
                &url,
                &DbOptions {
                    durable_commits: durable,
                    ..DbOptions::default()
                },
            )
            .await
            .unwrap();
            let mode: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(db.write_pool()).await.unwrap();
            assert_eq!(mode, expected, "durable_commits = {durable}");
            // The connection a write transaction's statements run on (the native writer), with
            // the same settings as the pool's writer.
            let mut tx = db.begin().await.unwrap();
            assert_eq!(format!("{:?}", *tx), "Conn(grouped transaction)");
            for (pragma, want) in [
                ("PRAGMA synchronous", 1),
                ("PRAGMA secure_delete", 1),
                ("PRAGMA busy_timeout", 10_000),
                ("PRAGMA temp_store", 2),
            ] {
                let got: i64 = sqlx::query_scalar(pragma).fetch_one(&mut *tx).await.unwrap();
                assert_eq!(got, want, "{pragma} on the writer");
            }
            let native: Option<i64> = sqlx::query_scalar("SELECT 1").fetch_optional(&mut *tx).await.unwrap();
            assert_eq!(native, Some(1));
            tx.commit().await.unwrap();
            // One after another, every commit is answered only after its batch was synced.
            for i in 0..20 {
                let mut tx = db.begin().await.unwrap();
                sqlx::query("CREATE TABLE IF NOT EXISTS synced (x INTEGER)").execute(&mut *tx).await.unwrap();
                sqlx::query("INSERT INTO synced (x) VALUES ($1)").bind(i).execute(&mut *tx).await.unwrap();
                tx.commit().await.unwrap();
                let (_, commits) = db.commit_stats();
                let synced = db.group.synced_batches();
                if durable {
                    assert_eq!(synced, commits, "commit {i} answered before its sync");
                } else {
                    assert_eq!(synced, 0, "no sync thread without durable commits");
                }
            }
            // The pool's writer, which ran the migrations (they spill to a file), is back to memory.
            let got: i64 = sqlx::query_scalar("PRAGMA temp_store").fetch_one(db.write_pool()).await.unwrap();
            assert_eq!(got, 2, "temp_store on the pool's writer after the migrations");
            // Readers too (a large sort spills like a statement journal).
            let mut r = db.read().await.unwrap();
            let got: i64 = sqlx::query_scalar("PRAGMA temp_store").fetch_one(&mut r).await.unwrap();
            assert_eq!(got, 2, "temp_store on a reader");
            drop(r);
            assert!(db.group.is_native(), "the native writer is on by default");
            db.close().await;
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }

    /// Every value of a row, with the kind sqlx decoded it as.
    fn render(row: &AnyRow) -> Vec<String> {
        use sqlx::{Row as _, TypeInfo as _, ValueRef as _};
        (0..row.len())
            .map(|i| {
                let raw = row.try_get_raw(i).unwrap();
                if raw.is_null() {
                    return "NULL".to_string();
                }
                match raw.type_info().name() {
                    "BIGINT" => format!("int {}", row.try_get::<i64, _>(i).unwrap()),
                    "DOUBLE" => format!("real {}", row.try_get::<f64, _>(i).unwrap()),
                    "TEXT" => format!("text {:?}", row.try_get::<String, _>(i).unwrap()),
                    "BLOB" => format!("blob {:?}", row.try_get::<Vec<u8>, _>(i).unwrap()),
                    other => format!("{other}?"),
                }
            })
            .collect()
    }

    /// The same statements read the same rows through the native writer (`&mut tx`) as through
    /// sqlx's driver (a pooled reader), and write the same way through either writer.
    #[tokio::test]
    async fn the_native_writer_reads_and_writes_as_sqlx_does() {
        let mut seen = Vec::new();
        for native in [true, false] {
            let (db, dir) = sqlite_with("same", native).await;
            let mut tx = db.begin().await.unwrap();
            sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, r REAL, s TEXT, b BLOB, d TEXT)")
                .execute(&mut *tx)
                .await
                .unwrap();
            for (i, s) in (0u8..).zip(["", "Ted", "Åsa Öberg", "<b>x</b>", "\u{1F600}"]) {
                let r = sqlx::query("INSERT INTO t (n, r, s, b, d) VALUES ($2, $3, $1, $4, NULL)")
                    .bind(s)
                    .bind(i64::from(i) - 2)
                    .bind(f64::from(i) / 3.0)
                    .bind(vec![i; usize::from(i)])
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                assert_eq!(r.rows_affected(), 1);
            }
            let changed = sqlx::query("UPDATE t SET d = s WHERE n >= $1").bind(0i64).execute(&mut *tx).await.unwrap();
            assert_eq!(changed.rows_affected(), 3);
            let returned = sqlx::query("INSERT INTO t (n) VALUES ($1) RETURNING id, n")
                .bind(99i64)
                .fetch_all(&mut *tx)
                .await
                .unwrap();
            assert_eq!(
                returned.iter().map(render).collect::<Vec<_>>(),
                vec![vec!["int 6".to_string(), "int 99".to_string()]]
            );
            let queries = [
                "SELECT * FROM t ORDER BY id",
                "SELECT COUNT(*) AS c, SUM(r) AS s, MAX(s) AS m, group_concat(hex(b)) AS h FROM t",
                "SELECT id, n > 0 AS positive, length(s) AS len, NULL AS nada FROM t WHERE s LIKE '%e%' ORDER BY id",
                "SELECT 1 WHERE 0",
            ];
            let mut through_writer = Vec::new();
            for q in queries {
                let rows = sqlx::query(q).fetch_all(&mut *tx).await.unwrap();
                through_writer.push(rows.iter().map(render).collect::<Vec<_>>());
                let first = sqlx::query(q).fetch_optional(&mut *tx).await.unwrap();
                assert_eq!(
                    first.as_ref().map(render),
                    through_writer.last().unwrap().first().cloned(),
                    "{q}: fetch_optional"
                );
            }
            tx.commit().await.unwrap();
            let mut reader = db.read().await.unwrap();
            for (q, written) in queries.iter().zip(&through_writer) {
                let rows = sqlx::query(*q).fetch_all(&mut reader).await.unwrap();
                assert_eq!(
                    &rows.iter().map(render).collect::<Vec<_>>(),
                    written,
                    "{q}: the writer and a reader agree (native = {native})"
                );
            }
            seen.push(through_writer);
            drop(reader);
            db.close().await;
            std::fs::remove_dir_all(&dir).unwrap();
        }
        assert_eq!(seen[0], seen[1], "the native writer and sqlx's agree");
    }

    /// Another process holding the write lock makes a transaction wait without blocking the
    /// runtime's thread (a single-threaded runtime keeps serving other tasks), then begin.
    #[tokio::test]
    async fn waiting_for_another_writer_does_not_block_the_thread() {
        let (db, dir) = sqlite("busy").await;
        let mut other = rusqlite::Connection::open(dir.join("t.db")).unwrap();
        let lock = other.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).unwrap();
        let ticks = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let ticker = {
            let ticks = ticks.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            })
        };
        let waiting = tokio::spawn({
            let db = db.clone();
            async move {
                let mut tx = db.begin().await.unwrap();
                sqlx::query("CREATE TABLE t (x INTEGER)").execute(&mut *tx).await.unwrap();
                tx.commit().await.unwrap();
            }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!waiting.is_finished(), "the transaction waits for the lock");
        assert!(ticks.load(std::sync::atomic::Ordering::Relaxed) >= 10, "other tasks ran meanwhile");
        lock.rollback().unwrap();
        waiting.await.unwrap();
        ticker.abort();
        drop(other);
        db.close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A request that goes away while its batch waits to begin (another process holds the
    /// lock) ends that batch; the requests queued behind it begin their own and are told the
    /// truth about their commits.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_request_gone_before_its_batch_began_leaves_the_rest_whole() {
        for native in [true, false] {
            let (db, dir) = sqlite_with("gone-begin", native).await;
            let mut tx = db.begin().await.unwrap();
            sqlx::query("CREATE TABLE t (x INTEGER NOT NULL)").execute(&mut *tx).await.unwrap();
            tx.commit().await.unwrap();
            let mut other = rusqlite::Connection::open(dir.join("t.db")).unwrap();
            let lock = other.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).unwrap();
            let first = tokio::spawn({
                let db = db.clone();
                async move {
                    let _tx = db.begin().await;
                }
            });
            tokio::time::sleep(Duration::from_millis(50)).await;
            let mut rest = Vec::new();
            for i in 0..3i64 {
                let db = db.clone();
                rest.push(tokio::spawn(async move {
                    let mut tx = db.begin().await?;
                    sqlx::query("INSERT INTO t (x) VALUES ($1)").bind(i).execute(&mut *tx).await?;
                    tx.commit().await
                }));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            first.abort();
            let _ = first.await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            lock.rollback().unwrap();
            for r in rest {
                r.await.unwrap().unwrap_or_else(|e| panic!("native = {native}: a queued request was told {e}"));
            }
            let mut r = db.read().await.unwrap();
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t").fetch_one(&mut r).await.unwrap();
            assert_eq!(n, 3, "native = {native}");
            drop((r, other));
            db.close().await;
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }

    #[test]
    fn the_native_writer_opens_only_plain_files() {
        assert_eq!(writable_file("sqlite:///srv/data/suoja.db").as_deref(), Some("/srv/data/suoja.db"));
        assert_eq!(
            writable_file("sqlite:///srv/my%20data/suoja.db?mode=rwc").as_deref(),
            Some("/srv/my data/suoja.db")
        );
        for url in [
            "sqlite::memory:",
            "sqlite:///srv/suoja.db?mode=ro",
            "sqlite:///srv/suoja.db?immutable=true",
            "sqlite:///srv/suoja.db?vfs=unix-dotfile",
        ] {
            assert_eq!(writable_file(url), None, "{url}");
        }
    }
}
