//! Group commit for the SQLite writer. Requests that write at nearly the same time share one
//! transaction and one commit (one sync to disk with `durable_commits`): each request's
//! statements run in a savepoint, so one request's failure undoes only its own work, and a
//! request's `commit` returns only once the shared transaction has committed.
//!
//! The writer connection passes from request to request: while a shared transaction is open,
//! its connection is always held by a request or on its way to the next one (handed over, not
//! returned to the pool), so nothing that takes the writer from the pool (maintenance, backups)
//! ever finds a transaction open on it. A batch ends when no request is waiting for the writer,
//! or after [`MAX_MEMBERS`] requests or [`MAX_AGE`], whichever comes first; after [`YIELD_AFTER`]
//! of passing the writer on, it goes back through the pool once so that maintenance gets a turn.
//!
//! A request may go away at any await (a client disconnects): every step that moves the writer
//! on runs to its end regardless (on a spawned task, or from a destructor that spawns one).
//!
//! Holding the pool's writer connection is what makes a request the writer; its statements run
//! on that connection, or — with the native writer on, the default — on a `rusqlite`
//! connection to the same file, in place (`lite.rs`). With durable commits the native writer
//! commits without syncing and a thread of its own syncs each batch before its requests are
//! answered ([`sync_batches`]), so the writer does not wait for the disk.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Executor as _};
use tokio::sync::{oneshot, watch};

use crate::lite::Lite;

use crate::{Result, StoreError};

/// The most requests one commit covers.
pub const MAX_MEMBERS: usize = 64;
/// How long a batch stays open for more requests at most.
pub const MAX_AGE: Duration = Duration::from_millis(4);
/// How long the writer passes from request to request before it goes back through the pool.
pub const YIELD_AFTER: Duration = Duration::from_millis(50);
/// Batches committed and not yet synced, at most: past this the writer waits for the disk
/// before the next commit, as it did when every commit synced.
pub const MAX_UNSYNCED: usize = 4;

/// A committed batch on its way to the sync thread: its id, its outcome to give, and its place
/// among the [`MAX_UNSYNCED`].
type Unsynced = (u64, Outcome, tokio::sync::OwnedSemaphorePermit);

/// How a batch ended: committed, or why not.
type Outcome = Arc<OnceLock<std::result::Result<(), String>>>;

struct Batch {
    id: u64,
    members: usize,
    started: Instant,
    outcome: Outcome,
}

#[derive(Default)]
struct State {
    /// A request holds the writer (or is taking it from the pool): others queue here.
    busy: bool,
    /// Since when the writer has passed from request to request without the pool.
    busy_since: Option<Instant>,
    /// Requests waiting for the writer, in arrival order. Each gets the connection, or `None`:
    /// take it from the pool yourself.
    queue: VecDeque<oneshot::Sender<Option<Writer>>>,
    /// The open batch (its transaction is begun on the writer).
    open: Option<Batch>,
    next_id: u64,
    /// The number the next request to take the writer gets (its deferred rows are marked with it).
    next_member: u64,
    /// Requests committed, and the commits that carried them (for the benchmark).
    committed_members: u64,
    commits: u64,
}

/// The writer as a request holds it: the pool's one writer connection and, with the native
/// writer on, the connection that runs the statements instead.
pub(crate) struct Writer {
    // Declared first so it drops first: an open transaction is rolled back before the pooled
    // connection goes back to the pool and the next request can take the writer.
    native: Option<Native>,
    pooled: PoolConnection<Any>,
    /// Rows of the batch's requests that wait for its commit (`deferred.rs`).
    pub(crate) deferred: crate::deferred::Deferred,
}

/// The native writer as a [`Writer`] holds it. A writer is dropped only on its way back to the
/// pool, where no transaction may be open: one still open then (a batch whose end never ran,
/// as at shutdown) is rolled back here, so the pool's writer and maintenance never find the
/// file locked by it.
struct Native(Arc<Lite>);

impl Drop for Native {
    fn drop(&mut self) {
        if self.0.rollback_if_open() {
            tracing::warn!("the SQLite writer came back with a transaction open; rolled back");
        }
    }
}

impl Writer {
    /// Runs SQL that returns nothing (transaction control). On the native writer, `COMMIT`
    /// and `ROLLBACK` (which can take long: syncing, checkpointing, undoing a large erasure)
    /// run on a blocking thread, and `BEGIN IMMEDIATE` waits for another process's lock with
    /// async sleeps rather than on the thread.
    ///
    /// Deferred rows go in just before `COMMIT`, go with the request's work on `ROLLBACK TO
    /// member`, and with everything on `ROLLBACK`.
    async fn execute(&mut self, sql: &'static str) -> std::result::Result<(), sqlx::Error> {
        match sql {
            "COMMIT" if !self.deferred.is_empty() => self.insert_deferred(true).await?,
            "ROLLBACK TO member" => self.deferred.undo_member(),
            "ROLLBACK" => self.deferred.clear(),
            _ => {}
        }
        let Some(Native(lite)) = &self.native else {
            return self.pooled.execute(sql).await.map(|_| ());
        };
        match sql {
            // The writer's own thread has little else to run meanwhile (`writer_thread.rs`).
            "COMMIT" | "ROLLBACK" | "ROLLBACK TO member" if crate::writer_thread::on_writer_thread() => lite.batch(sql),
            "COMMIT" | "ROLLBACK" | "ROLLBACK TO member" => {
                let lite = lite.clone();
                tokio::task::spawn_blocking(move || lite.batch(sql))
                    .await
                    .map_err(|e| sqlx::Error::Protocol(format!("the writer's {sql} did not finish: {e}")))?
            }
            "BEGIN IMMEDIATE" => {
                let started = Instant::now();
                let mut pause = Duration::from_millis(1);
                while !lite.try_begin_immediate()? {
                    if started.elapsed() >= crate::lite::BUSY_TIMEOUT {
                        return Err(sqlx::Error::PoolTimedOut);
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Ok(())
            }
            _ => lite.batch(sql),
        }
    }

    /// Inserts the deferred rows now: every request's, or the holding request's own.
    /// The rows inserted leave the list before the first await, the others stay in it: a
    /// request that goes away meanwhile loses none but its own (see `Group::begin` for the rows
    /// it inserts on others' behalf).
    pub(crate) async fn insert_deferred(&mut self, all: bool) -> std::result::Result<(), sqlx::Error> {
        let rows = self.deferred.take(all);
        crate::deferred::insert(self.target(), rows).await
    }

    /// The native writer has no transaction although its batch is open (it must have one).
    fn native_transaction_lost(&self) -> bool {
        self.native.as_ref().is_some_and(|Native(lite)| !lite.in_transaction())
    }

    /// The connection statements run on: the native one, or the pooled one.
    pub(crate) fn target(&mut self) -> WriterTarget<'_> {
        match &self.native {
            Some(Native(lite)) => WriterTarget::Native(lite),
            None => WriterTarget::Pooled(&mut self.pooled),
        }
    }
}

/// Where a writer's statements run.
pub(crate) enum WriterTarget<'a> {
    Native(&'a Lite),
    Pooled(&'a mut AnyConnection),
}

/// The shared state of the SQLite writer.
pub(crate) struct Group {
    state: Mutex<State>,
    /// The highest batch id that has finished (committed or failed).
    finished: watch::Sender<u64>,
    /// How long a request waits for the writer before it is told the database is busy.
    wait_limit: Duration,
    /// The native writer, once opened (after the migrations).
    native: OnceLock<Arc<Lite>>,
    /// With durable commits on the native writer: where committed batches go to be synced.
    syncer: OnceLock<std::sync::mpsc::Sender<Unsynced>>,
    /// Places for batches committed and not yet synced ([`MAX_UNSYNCED`]).
    unsynced: Arc<tokio::sync::Semaphore>,
    /// Batches the sync thread has synced to disk.
    synced: std::sync::atomic::AtomicU64,
    /// The highest batch id the sync thread has given an outcome (synced or failed).
    synced_through: std::sync::atomic::AtomicU64,
    /// The log file the sync thread syncs (for a test).
    #[cfg(test)]
    log: OnceLock<std::path::PathBuf>,
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Group")
    }
}

/// A request's place in the queue. Dropped before it got the writer (timed out, or the request
/// went away), it passes on whatever was sent to it meanwhile.
struct Waiting {
    rx: oneshot::Receiver<Option<Writer>>,
    group: Arc<Group>,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.rx.close();
        match self.rx.try_recv() {
            Ok(Some(conn)) => self.group.clone().pass_on_detached(conn),
            Ok(None) => self.group.pass_claim(),
            Err(_) => {}
        }
    }
}

impl Group {
    pub(crate) fn new(wait_limit: Duration) -> Arc<Self> {
        Arc::new(Group {
            state: Mutex::new(State {
                next_id: 1,
                ..State::default()
            }),
            finished: watch::channel(0).0,
            wait_limit,
            native: OnceLock::new(),
            syncer: OnceLock::new(),
            unsynced: Arc::new(tokio::sync::Semaphore::new(MAX_UNSYNCED)),
            synced: std::sync::atomic::AtomicU64::new(0),
            synced_through: std::sync::atomic::AtomicU64::new(0),
            #[cfg(test)]
            log: OnceLock::new(),
        })
    }

    /// Runs the writer's statements on `lite` from now on. With `durable` (`lite` then
    /// commits without syncing) each batch is synced to disk on a thread of its own after its
    /// commit, and its requests are answered only then (see [`sync_batches`]).
    pub(crate) fn set_native(self: &Arc<Self>, lite: Lite, durable: bool) -> Result<()> {
        if durable {
            let log_path = lite
                .wal_path()
                .ok_or_else(|| StoreError::Config("the writer's database has no file for its log".into()))?;
            let log = open_log(&log_path).map_err(|e| StoreError::Config(format!("the write-ahead log could not be opened to sync it: {e}")))?;
            #[cfg(test)]
            let _ = self.log.set(log_path);
            let (tx, rx) = std::sync::mpsc::channel();
            let group = Arc::downgrade(self);
            std::thread::Builder::new()
                .name("suoja-sync".into())
                .spawn(move || sync_batches(&log, &rx, &group))
                .map_err(|e| StoreError::Config(format!("the commit sync thread could not start: {e}")))?;
            let _ = self.syncer.set(tx);
        }
        let _ = self.native.set(Arc::new(lite));
        Ok(())
    }

    /// The log file the sync thread syncs, if there is one.
    #[cfg(test)]
    pub(crate) fn synced_log(&self) -> Option<&std::path::Path> {
        self.log.get().map(std::path::PathBuf::as_path)
    }

    /// Batches committed without syncing and then synced by the sync thread (none without one).
    #[cfg(test)]
    pub(crate) fn synced_batches(&self) -> u64 {
        self.synced.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Records batches as finished: their members' waits end.
    fn notify_finished(&self, id: u64) {
        self.finished.send_modify(|f| *f = (*f).max(id));
    }

    /// Whether the writer's statements run on the native writer.
    #[cfg(test)]
    pub(crate) fn is_native(&self) -> bool {
        self.native.get().is_some()
    }

    /// Runs SQL that returns nothing on the native writer, if there is one (for the writer's
    /// per-connection settings); call it holding the pool's writer connection.
    pub(crate) fn native_batch(&self, sql: &str) -> std::result::Result<(), sqlx::Error> {
        match self.native.get() {
            Some(lite) => lite.batch(sql),
            None => Ok(()),
        }
    }

    /// Closes the native writer (`Db::close`, once the pool's writer is back and closed).
    pub(crate) fn close_native(&self) {
        if let Some(lite) = self.native.get() {
            lite.close();
        }
    }

    /// Requests waiting for the writer (for a test).
    #[cfg(test)]
    pub(crate) fn waiting(&self) -> usize {
        self.state().queue.len()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the writer for one request: handed over by the request before it when one holds
    /// it (within the open batch, if any), else from the pool; begins a batch when none is
    /// open, then the request's savepoint. A request that is `adding` only adds records and
    /// changes only those it adds: it may defer rows to the commit (`deferred.rs`); any other
    /// finds the rows deferred by earlier requests inserted before its savepoint begins.
    pub(crate) async fn begin(self: &Arc<Self>, pool: &AnyPool, adding: bool) -> Result<Member> {
        let waiting = {
            let mut st = self.state();
            if st.busy {
                let (tx, rx) = oneshot::channel();
                st.queue.push_back(tx);
                Some(rx)
            } else {
                st.busy = true;
                st.busy_since = Some(Instant::now());
                None
            }
        };
        let conn = match waiting {
            Some(rx) => {
                let mut waiting = Waiting { rx, group: self.clone() };
                match tokio::time::timeout(self.wait_limit, &mut waiting.rx).await {
                    Ok(Ok(Some(conn))) => conn,
                    Ok(Ok(None)) | Ok(Err(_)) => {
                        drop(waiting);
                        self.acquire(pool).await?
                    }
                    // `waiting` passes on anything sent meanwhile.
                    Err(_) => return Err(StoreError::Unavailable(sqlx::Error::PoolTimedOut)),
                }
            }
            None => self.acquire(pool).await?,
        };
        // Only the request holding the writer opens or ends a batch, so this reads and sets
        // `open` without a race.
        let (batch, outcome, fresh, seq) = {
            let mut st = self.state();
            st.next_member += 1;
            let seq = st.next_member;
            let (batch, outcome, fresh) = match st.open.as_ref() {
                Some(b) => (b.id, b.outcome.clone(), false),
                None => {
                    let id = st.next_id;
                    st.next_id += 1;
                    let outcome = Outcome::default();
                    st.open = Some(Batch {
                        id,
                        members: 0,
                        started: Instant::now(),
                        outcome: outcome.clone(),
                    });
                    (id, outcome, true)
                }
            };
            (batch, outcome, fresh, seq)
        };
        // From here a dropped request (an error, or its future gone) cleans up after itself.
        let mut member = Member {
            began: !fresh,
            conn: Some(conn),
            group: self.clone(),
            batch,
            outcome,
            savepoint: false,
        };
        // Until the batch's transaction has begun, a member that goes away (an error, or its
        // future dropped while waiting for another process's lock) ends the batch as failed:
        // no one else's work is in it, and passing the writer on inside a batch without a
        // transaction would let the next requests' savepoints commit on their own.
        if fresh {
            member.conn_mut().execute("BEGIN IMMEDIATE").await?;
            member.began = true;
        } else if member.conn_mut().native_transaction_lost() {
            member.began = false;
            return Err(StoreError::CommitFailed("the shared transaction was no longer open".into()));
        }
        member.conn_mut().deferred.enter(seq, adding);
        // Outside every savepoint. Until the rows are in, this request going away (or failing)
        // fails the whole batch: they are other requests', and no savepoint of its own holds
        // them.
        if !adding && !member.conn_mut().deferred.is_empty() {
            member.began = false;
            member.conn_mut().insert_deferred(true).await?;
            member.began = true;
        }
        member.conn_mut().execute("SAVEPOINT member").await?;
        member.savepoint = true;
        Ok(member)
    }

    /// (requests committed, commits that carried them) so far.
    pub(crate) fn stats(&self) -> (u64, u64) {
        let st = self.state();
        (st.committed_members, st.commits)
    }

    /// Takes the writer from the pool for a request that claimed it (`busy` set); if that
    /// fails or the request goes away meanwhile, the claim passes to the next waiting request.
    async fn acquire(&self, pool: &AnyPool) -> Result<Writer> {
        struct Claim<'a>(&'a Group, bool);
        impl Drop for Claim<'_> {
            fn drop(&mut self) {
                if !self.1 {
                    self.0.pass_claim();
                }
            }
        }
        let mut claim = Claim(self, false);
        let pooled = pool.acquire().await?;
        claim.1 = true;
        self.state().busy_since = Some(Instant::now());
        Ok(Writer {
            pooled,
            native: self.native.get().cloned().map(Native),
            deferred: crate::deferred::Deferred::default(),
        })
    }

    /// The claimant went away without the writer: the next waiting request takes it from the
    /// pool, or no one holds it.
    fn pass_claim(&self) {
        let mut st = self.state();
        while let Some(tx) = st.queue.pop_front() {
            if tx.send(None).is_ok() {
                return;
            }
        }
        st.busy = false;
    }

    /// Passes the writer to the next waiting request; gives it back (to return to the pool)
    /// when no one is waiting. Between batches, after [`YIELD_AFTER`] of passing it on, the
    /// next request is told to take it from the pool instead, where maintenance waiting for it
    /// comes first.
    fn hand_over(&self, mut conn: Writer) -> Option<Writer> {
        let mut st = self.state();
        let yield_now = st.open.is_none() && st.busy_since.is_some_and(|t| t.elapsed() >= YIELD_AFTER);
        while let Some(tx) = st.queue.pop_front() {
            if yield_now {
                if tx.send(None).is_ok() {
                    return Some(conn);
                }
                continue;
            }
            match tx.send(Some(conn)) {
                Ok(()) => return None,
                // That request gave up waiting: try the next.
                Err(Some(back)) => conn = back,
                Err(None) => return None,
            }
        }
        st.busy = false;
        Some(conn)
    }

    /// Keeps a member's work (its savepoint is released on `conn`) and moves the writer on:
    /// to the next request within the batch, or by committing the batch here. Either way the
    /// member then waits for the batch's outcome. Runs to its end on a task of its own.
    async fn release(self: Arc<Self>, mut conn: Writer) -> Result<()> {
        if let Err(e) = conn.execute("RELEASE member").await {
            let undone = undo(&mut conn).await;
            self.after_undo(conn, undone).await;
            return Err(e.into());
        }
        if let Some(b) = self.state().open.as_mut() {
            b.members += 1;
        }
        let mut pass_on = self.batch_goes_on(true);
        // On the writer's thread, requests sent there since this one began have not run yet
        // (this thread was busy): let them queue for the writer before deciding to commit.
        if !pass_on && crate::writer_thread::on_writer_thread() && self.batch_goes_on(false) {
            tokio::task::yield_now().await;
            pass_on = self.batch_goes_on(true);
        }
        if pass_on {
            match self.hand_over(conn) {
                None => Ok(()),
                // No one took it after all: commit here.
                Some(conn) => self.finish(conn).await,
            }
        } else {
            self.finish(conn).await
        }
    }

    /// Whether the open batch may take more requests (and, with `waiting`, one is waiting).
    fn batch_goes_on(&self, waiting: bool) -> bool {
        let st = self.state();
        let queued = !waiting || !st.queue.is_empty();
        st.open
            .as_ref()
            .is_some_and(|b| queued && b.members < MAX_MEMBERS && b.started.elapsed() < MAX_AGE)
    }

    /// Commits the open batch on `conn` and records the outcome; then passes the writer on.
    async fn finish(&self, mut conn: Writer) -> Result<()> {
        // With the sync thread, at most MAX_UNSYNCED batches are committed and not yet synced:
        // a slow disk slows the writer down (and requests waiting for it are told the database
        // is busy) rather than piling up visible, unanswered work.
        let place = match (self.syncer.get(), &conn.native) {
            (Some(_), Some(_)) => self.unsynced.clone().acquire_owned().await.ok(),
            _ => None,
        };
        let outcome = conn.execute("COMMIT").await.map(|_| ()).map_err(|e| e.to_string());
        if outcome.is_err() {
            let _ = conn.execute("ROLLBACK").await;
        }
        self.end_batch(conn, outcome.clone(), place);
        outcome.map_err(StoreError::CommitFailed)
    }

    /// Records how the open batch ended, wakes its members (once it is synced to disk, when a
    /// sync thread does that) and passes the writer on.
    fn end_batch(&self, conn: Writer, outcome: std::result::Result<(), String>, place: Option<tokio::sync::OwnedSemaphorePermit>) {
        let id = {
            let mut st = self.state();
            let batch = st.open.take();
            let members = batch.as_ref().map_or(0, |b| b.members as u64);
            if outcome.is_ok() && members > 0 {
                st.commits += 1;
                st.committed_members += members;
            }
            match batch {
                Some(b) => {
                    // Committed on the native writer with a sync thread (it holds a place):
                    // the sync thread gives the outcome. One that has stopped (never while the
                    // group lives) cannot make the batch durable: it fails.
                    let sent = match (self.syncer.get(), place, &outcome) {
                        (Some(tx), Some(place), Ok(())) => tx.send((b.id, b.outcome.clone(), place)).is_ok(),
                        _ => false,
                    };
                    if !sent {
                        let outcome = match (self.syncer.get(), &conn.native, outcome) {
                            (Some(_), Some(_), Ok(())) => Err("the commit could not be synced to disk".into()),
                            (_, _, outcome) => outcome,
                        };
                        let _ = b.outcome.set(outcome);
                    }
                    b.id
                }
                None => 0,
            }
        };
        self.notify_finished(id);
        drop(self.hand_over(conn));
    }

    /// Waits until batch `id` has finished (and, with durable commits, is on disk); its
    /// outcome.
    async fn wait(&self, id: u64, outcome: &Outcome) -> Result<()> {
        let mut rx = self.finished.subscribe();
        let given = |o: &std::result::Result<(), String>| match o {
            Ok(()) => Ok(()),
            Err(reason) => Err(StoreError::CommitFailed(reason.clone())),
        };
        loop {
            let finished = *rx.borrow_and_update() >= id;
            if let Some(o) = outcome.get() {
                return given(o);
            }
            // Ended without an outcome (a step that moved the writer on was lost)? With a sync
            // thread, batches reach it in order, and it gives their outcomes before it moves
            // its mark: past this batch with none given, it will give none. Read once more, as
            // the outcome may have been given since the first look.
            if finished && (self.syncer.get().is_none() || self.synced_through.load(std::sync::atomic::Ordering::SeqCst) >= id) {
                return match outcome.get() {
                    Some(o) => given(o),
                    None => Err(StoreError::CommitFailed("the shared transaction ended without an outcome".into())),
                };
            }
            if rx.changed().await.is_err() {
                return Err(StoreError::CommitFailed("the database was closed".into()));
            }
        }
    }

    /// After a member's work was undone: the batch goes on with the next waiting request, or
    /// ends here. When even the undo failed, SQLite has rolled the whole batch back: it ends as
    /// failed, and the next request begins a new one.
    async fn after_undo(&self, conn: Writer, undone: bool) {
        if !undone {
            let mut conn = conn;
            let _ = conn.execute("ROLLBACK").await;
            self.end_batch(conn, Err("the shared transaction was rolled back".into()), None);
            return;
        }
        if let Some(conn) = self.hand_over(conn) {
            let _ = self.finish(conn).await;
        }
    }

    /// The writer reached a request that went away before using it: pass it on (or end the
    /// batch) on the runtime.
    fn pass_on_detached(self: Arc<Self>, conn: Writer) {
        spawn_or_close(conn, move |conn| async move { self.after_undo(conn, true).await });
    }
}

/// The sync thread: syncs the write-ahead log to disk after batches committed without syncing,
/// then gives them their outcome. Every batch that committed while the one sync before ran
/// shares the next one, and the writer goes on to the next batch meanwhile instead of
/// waiting for the disk. A batch's frames are in the log before its `COMMIT` returns, so a
/// sync that begins after it covers them; where the log was copied into the database and
/// emptied in between, SQLite synced the database first. Ends when the group is gone.
///
/// Readers may see a batch's rows a moment before its requests are answered (between its
/// commit and its sync, one sync's time); a request is answered only once what it wrote is on
/// disk.
///
/// The log is the file SQLite writes (named as SQLite resolves the database's path), opened
/// once: SQLite keeps that file while its connections are open, and the native writer is open
/// as long as the group. A sync that fails fails every batch after it too, until the server is
/// started again: the kernel may have dropped the pages it could not write, and a later sync
/// that succeeds would not bring them back (as PostgreSQL, which stops).
fn sync_batches(log: &std::fs::File, due: &std::sync::mpsc::Receiver<Unsynced>, group: &std::sync::Weak<Group>) {
    let mut failed: Option<String> = None;
    while let Ok(first) = due.recv() {
        let mut batches = vec![first];
        batches.extend(due.try_iter());
        let synced = match &failed {
            Some(reason) => Err(reason.clone()),
            None => log.sync_all().map_err(|e| {
                tracing::error!(error = %e, "the write-ahead log could not be synced to disk; this and every later commit fail until a restart");
                format!("the commit could not be synced to disk: {e}")
            }),
        };
        if let Err(reason) = &synced {
            failed = Some(reason.clone());
        }
        let last = batches.iter().map(|(id, _, _)| *id).max().unwrap_or(0);
        let Some(group) = group.upgrade() else {
            return;
        };
        if synced.is_ok() {
            group
                .synced
                .fetch_add(u64::try_from(batches.len()).unwrap_or(u64::MAX), std::sync::atomic::Ordering::SeqCst);
        }
        // Outcomes first, then the mark (`Group::wait` reads them in that order), the places
        // back and the notification.
        for (_, outcome, _) in &batches {
            let _ = outcome.set(synced.clone());
        }
        group.synced_through.fetch_max(last, std::sync::atomic::Ordering::SeqCst);
        drop(batches);
        group.notify_finished(last);
    }
}

/// Opens the write-ahead log at `path` to sync it, and syncs its directory once, so that the
/// log's own entry survives a power cut (SQLite syncs the directory when it first syncs a new
/// log itself, which the native writer no longer does on commit).
fn open_log(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let log = std::fs::OpenOptions::new().write(true).open(path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(log)
}

/// Runs `step` with the writer on the runtime; without one (never in the server), closes the
/// connection rather than return it with a transaction open (SQLite then rolls it back).
fn spawn_or_close<F, Fut>(conn: Writer, step: F)
where
    F: FnOnce(Writer) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    match tokio::runtime::Handle::try_current() {
        Ok(rt) => {
            rt.spawn(step(conn));
        }
        Err(_) => {
            // The native writer's open transaction is rolled back as it drops (`Native`).
            let Writer { mut pooled, native, .. } = conn;
            drop(native);
            pooled.close_on_drop();
        }
    }
}

/// One request's part of a batch: the writer connection, inside the request's savepoint.
pub(crate) struct Member {
    /// The batch's transaction has begun (set once the first member's `BEGIN` succeeded).
    began: bool,
    conn: Option<Writer>,
    group: Arc<Group>,
    batch: u64,
    outcome: Outcome,
    /// The request's savepoint was set.
    savepoint: bool,
}

impl Member {
    pub(crate) fn conn_mut(&mut self) -> &mut Writer {
        match self.conn.as_mut() {
            Some(c) => c,
            None => unreachable!("a member holds the writer until it commits or is dropped"),
        }
    }

    /// Keeps the request's work and returns once the batch holding it has committed. Moving
    /// the writer on runs in the request's own task (the next request gets the writer at once,
    /// not after the tasks queued on this thread), and, should the request go away before that
    /// step is done, on a task of its own to its end.
    pub(crate) async fn commit(mut self) -> Result<()> {
        let Some(conn) = self.conn.take() else {
            return Ok(());
        };
        let step = RunsToEnd(Some(Box::pin(self.group.clone().release(conn))));
        step.await?;
        // Committed here or by a later member; with durable commits, perhaps still on its way
        // to the disk.
        self.group.wait(self.batch, &self.outcome).await
    }
}

/// A step that moves the writer on, polled by the request that owns it; dropped unfinished
/// (the request went away), it goes on as a task of its own.
struct RunsToEnd<T: Send + 'static>(Option<std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>>);

impl<T: Send + 'static> std::future::Future for RunsToEnd<T> {
    type Output = T;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<T> {
        // Out of its place while it runs: a step that panics is dropped with the unwinding,
        // never handed on to be polled again.
        let Some(mut step) = self.0.take() else {
            return std::task::Poll::Pending;
        };
        let out = step.as_mut().poll(cx);
        if out.is_pending() {
            self.0 = Some(step);
        }
        out
    }
}

impl<T: Send + 'static> Drop for RunsToEnd<T> {
    fn drop(&mut self) {
        if let Some(step) = self.0.take() {
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => drop(rt.spawn(step)),
                // Never: the step is only polled, and so only dropped, on the runtime.
                Err(_) => drop(step),
            }
        }
    }
}

/// Undoes the savepoint's work (the batch's earlier members keep theirs); whether it could.
async fn undo(conn: &mut Writer) -> bool {
    conn.execute("ROLLBACK TO member").await.is_ok() && conn.execute("RELEASE member").await.is_ok()
}

impl Drop for Member {
    fn drop(&mut self) {
        // Dropped without commit (an error, or the request went away): undo its savepoint and
        // end or pass on the batch, on the runtime (a destructor cannot wait). Without a
        // savepoint there is nothing of its own to undo (an undo that fails there must not
        // roll back the batch's other members).
        let Some(conn) = self.conn.take() else {
            return;
        };
        let group = self.group.clone();
        if !self.began {
            spawn_or_close(conn, move |conn| async move { group.after_undo(conn, false).await });
            return;
        }
        let savepoint = self.savepoint;
        spawn_or_close(conn, move |mut conn| async move {
            let undone = if savepoint {
                undo(&mut conn).await
            } else {
                let _ = undo(&mut conn).await;
                true
            };
            group.after_undo(conn, undone).await;
        });
    }
}
