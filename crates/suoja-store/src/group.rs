//! Group commit for the SQLite writer. Requests that write at nearly the same time share one
//! transaction and one commit (one sync to disk with `durable_commits`): each request's
//! statements run in a savepoint, so one request's failure undoes only its own work, and a
//! request's `commit` returns only once the shared transaction has committed.
//!
//! The writer connection passes from request to request: while a shared transaction is open,
//! its connection is always held by a request or on its way to the next one (handed over, not
//! returned to the pool), so nothing that takes the writer from the pool (maintenance, backups)
//! ever finds a transaction open on it. A batch ends when no request is waiting for the writer,
//! or after [`MAX_MEMBERS`] requests or [`MAX_AGE`], whichever comes first.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Executor as _};
use tokio::sync::{oneshot, watch};

use crate::{Result, StoreError};

/// The most requests one commit covers.
pub const MAX_MEMBERS: usize = 64;
/// How long a batch stays open for more requests at most.
pub const MAX_AGE: Duration = Duration::from_millis(4);

struct Batch {
    id: u64,
    members: usize,
    started: Instant,
}

#[derive(Default)]
struct State {
    /// A request holds the writer (or is taking it from the pool): others queue here.
    busy: bool,
    /// Requests waiting for the writer, in arrival order. Each gets the connection, or `None`:
    /// take it from the pool yourself.
    queue: VecDeque<oneshot::Sender<Option<PoolConnection<Any>>>>,
    /// The open batch (its transaction is begun on the writer).
    open: Option<Batch>,
    next_id: u64,
    /// The latest batches whose commit failed, with the reason.
    failed: VecDeque<(u64, String)>,
    /// Requests committed, and the commits that carried them (for the benchmark).
    committed_members: u64,
    commits: u64,
}

/// The shared state of the SQLite writer.
pub(crate) struct Group {
    state: Mutex<State>,
    /// The highest batch id that has finished (committed or failed).
    finished: watch::Sender<u64>,
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Group")
    }
}

impl Group {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Group {
            state: Mutex::new(State {
                next_id: 1,
                ..State::default()
            }),
            finished: watch::channel(0).0,
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the writer for one request: handed over by the request before it when one holds
    /// it (within the open batch, if any), else from the pool; begins a batch when none is
    /// open, then the request's savepoint.
    pub(crate) async fn begin(self: &Arc<Self>, pool: &AnyPool) -> Result<Member> {
        let waiting = {
            let mut st = self.state();
            if st.busy {
                let (tx, rx) = oneshot::channel();
                st.queue.push_back(tx);
                Some(rx)
            } else {
                st.busy = true;
                None
            }
        };
        let conn = match waiting {
            Some(rx) => match rx.await {
                Ok(Some(conn)) => conn,
                Ok(None) | Err(_) => self.acquire(pool).await?,
            },
            None => self.acquire(pool).await?,
        };
        // Only the request holding the writer opens or ends a batch, so this reads and sets
        // `open` without a race.
        let (batch, fresh) = {
            let mut st = self.state();
            match st.open.as_ref() {
                Some(b) => (b.id, false),
                None => {
                    let id = st.next_id;
                    st.next_id += 1;
                    st.open = Some(Batch {
                        id,
                        members: 0,
                        started: Instant::now(),
                    });
                    (id, true)
                }
            }
        };
        // From here a dropped request (an error, or its future cancelled) cleans up after itself.
        let mut member = Member {
            conn: Some(conn),
            group: self.clone(),
            batch,
        };
        if fresh {
            member.conn_mut().execute("BEGIN IMMEDIATE").await?;
        }
        member.conn_mut().execute("SAVEPOINT member").await?;
        Ok(member)
    }

    /// (requests committed, commits that carried them) so far.
    pub(crate) fn stats(&self) -> (u64, u64) {
        let st = self.state();
        (st.committed_members, st.commits)
    }

    /// Takes the writer from the pool for a request that claimed it (`busy` set); if that
    /// fails or the request goes away meanwhile, the claim passes to the next waiting request.
    async fn acquire(&self, pool: &AnyPool) -> Result<PoolConnection<Any>> {
        struct Claim<'a>(&'a Group, bool);
        impl Drop for Claim<'_> {
            fn drop(&mut self) {
                if !self.1 {
                    self.0.pass_claim();
                }
            }
        }
        let mut claim = Claim(self, false);
        let conn = pool.acquire().await?;
        claim.1 = true;
        Ok(conn)
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
    /// when no one is waiting.
    fn hand_over(&self, mut conn: PoolConnection<Any>) -> Option<PoolConnection<Any>> {
        let mut st = self.state();
        while let Some(tx) = st.queue.pop_front() {
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

    /// Commits the open batch on `conn` and records the outcome; then passes the writer on.
    async fn finish(&self, mut conn: PoolConnection<Any>) -> Result<()> {
        let outcome = conn.execute("COMMIT").await.map(|_| ()).map_err(|e| e.to_string());
        if outcome.is_err() {
            let _ = conn.execute("ROLLBACK").await;
        }
        self.end_batch(conn, outcome.clone());
        outcome.map_err(StoreError::CommitFailed)
    }

    /// Records how the open batch ended, wakes its members and passes the writer on.
    fn end_batch(&self, conn: PoolConnection<Any>, outcome: std::result::Result<(), String>) {
        let id = {
            let mut st = self.state();
            let batch = st.open.take();
            let id = batch.as_ref().map_or(0, |b| b.id);
            let members = batch.map_or(0, |b| b.members as u64);
            if outcome.is_ok() && members > 0 {
                st.commits += 1;
                st.committed_members += members;
            }
            if let Err(reason) = outcome {
                st.failed.push_back((id, reason));
                if st.failed.len() > 64 {
                    st.failed.pop_front();
                }
            }
            id
        };
        self.finished.send_modify(|f| *f = (*f).max(id));
        drop(self.hand_over(conn));
    }

    /// Waits until batch `id` has finished; its outcome.
    async fn wait(&self, id: u64) -> Result<()> {
        let mut rx = self.finished.subscribe();
        loop {
            if *rx.borrow_and_update() >= id {
                let st = self.state();
                return match st.failed.iter().find(|(f, _)| *f == id) {
                    Some((_, reason)) => Err(StoreError::CommitFailed(reason.clone())),
                    None => Ok(()),
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
    async fn after_undo(&self, conn: PoolConnection<Any>, undone: bool) {
        if !undone {
            let mut conn = conn;
            let _ = conn.execute("ROLLBACK").await;
            self.end_batch(conn, Err("the shared transaction was rolled back".into()));
            return;
        }
        if let Some(conn) = self.hand_over(conn) {
            let _ = self.finish(conn).await;
        }
    }
}

/// One request's part of a batch: the writer connection, inside the request's savepoint.
pub(crate) struct Member {
    conn: Option<PoolConnection<Any>>,
    group: Arc<Group>,
    batch: u64,
}

impl Member {
    pub(crate) fn conn_mut(&mut self) -> &mut AnyConnection {
        match self.conn.as_mut() {
            Some(c) => c,
            None => unreachable!("a member holds the writer until it commits or is dropped"),
        }
    }

    pub(crate) fn conn_ref(&self) -> &AnyConnection {
        match self.conn.as_ref() {
            Some(c) => c,
            None => unreachable!("a member holds the writer until it commits or is dropped"),
        }
    }

    /// Keeps the request's work and returns once the batch holding it has committed.
    pub(crate) async fn commit(mut self) -> Result<()> {
        let Some(mut conn) = self.conn.take() else {
            return Ok(());
        };
        let group = self.group.clone();
        if let Err(e) = conn.execute("RELEASE member").await {
            let undone = undo(&mut conn).await;
            group.after_undo(conn, undone).await;
            return Err(e.into());
        }
        let pass_on = {
            let mut st = group.state();
            let queued = !st.queue.is_empty();
            match st.open.as_mut() {
                Some(b) => {
                    b.members += 1;
                    queued && b.members < MAX_MEMBERS && b.started.elapsed() < MAX_AGE
                }
                None => false,
            }
        };
        if pass_on {
            match group.hand_over(conn) {
                None => group.wait(self.batch).await,
                // No one took it after all: commit here.
                Some(conn) => group.finish(conn).await,
            }
        } else {
            group.finish(conn).await
        }
    }
}

/// Undoes the savepoint's work (the batch's earlier members keep theirs); whether it could.
async fn undo(conn: &mut PoolConnection<Any>) -> bool {
    conn.execute("ROLLBACK TO member").await.is_ok() && conn.execute("RELEASE member").await.is_ok()
}

impl Drop for Member {
    fn drop(&mut self) {
        // Dropped without commit (an error, or the request went away): undo its savepoint and
        // end or pass on the batch, on the runtime (a destructor cannot wait).
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        let group = self.group.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    let undone = undo(&mut conn).await;
                    group.after_undo(conn, undone).await;
                });
            }
            Err(_) => {
                // No runtime: the connection is closed rather than returned with a transaction
                // open; SQLite rolls the whole batch back.
                conn.close_on_drop();
            }
        }
    }
}
