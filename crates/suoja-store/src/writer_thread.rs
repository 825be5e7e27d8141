//! The SQLite writer's thread: a single-threaded runtime of its own where the busiest write
//! paths (a new ticket, a reply) run from beginning to commit.
//!
//! Why: the group commit passes the writer from request to request (`group.rs`). On the
//! server's runtime the next request's task then waits in a worker's queue behind other
//! requests' parsing and reading, and the writer stands idle meanwhile (measured: ~66 µs per
//! handover, ~18 % of the writer's time at 16 clients). Here only those write transactions
//! are queued (and what they start themselves, such as a file store's upload of an attached
//! file), so the next request runs as soon as the one before lets go of the writer, and a
//! batch's commit runs in place rather than on a blocking thread and back.
//!
//! Work sent here runs to its end even if the request that sent it goes away: a new ticket or
//! reply whose client disconnected before the answer is still kept.

use std::cell::Cell;
use std::future::Future;
use std::sync::{Mutex, PoisonError};

use tokio::sync::oneshot;

use crate::{Result, StoreError};

thread_local! {
    static ON_WRITER_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Whether the caller runs on a writer thread (any database's: a commit may block it).
pub(crate) fn on_writer_thread() -> bool {
    ON_WRITER_THREAD.with(Cell::get)
}

/// A running writer thread; it ends when this is dropped (the last `Db` clone is gone, and with
/// it every piece of work that held one).
#[derive(Debug)]
pub(crate) struct WriterThread {
    runtime: tokio::runtime::Handle,
    thread: std::thread::ThreadId,
    stop: Mutex<Option<oneshot::Sender<()>>>,
}

impl WriterThread {
    pub(crate) fn start() -> Result<Self> {
        let (ready, started) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let spawned = std::thread::Builder::new()
            .name("suoja-writer".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready.send(Err(e.to_string()));
                        return;
                    }
                };
                ON_WRITER_THREAD.with(|on| on.set(true));
                let _ = ready.send(Ok(runtime.handle().clone()));
                runtime.block_on(async {
                    let _ = stopped.await;
                });
            })
            .map_err(|e| StoreError::Config(format!("the writer thread could not start: {e}")))?;
        let thread = spawned.thread().id();
        let runtime = started
            .recv()
            .map_err(|_| StoreError::Config("the writer thread ended as it started".into()))?
            .map_err(|e| StoreError::Config(format!("the writer thread's runtime could not start: {e}")))?;
        Ok(WriterThread {
            runtime,
            thread,
            stop: Mutex::new(Some(stop)),
        })
    }

    /// Runs `work` on the writer thread and returns what it returned (in place when called
    /// there), in the caller's tracing span. A panic in it is resumed in the caller, as if it
    /// had run there.
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T>
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        if std::thread::current().id() == self.thread {
            return Ok(work.await);
        }
        match self.runtime.spawn(tracing::Instrument::instrument(work, tracing::Span::current())).await {
            Ok(out) => Ok(out),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(StoreError::CommitFailed("the writer thread stopped".into())),
        }
    }
}

impl Drop for WriterThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.lock().unwrap_or_else(PoisonError::into_inner).take() {
            let _ = stop.send(());
        }
    }
}
