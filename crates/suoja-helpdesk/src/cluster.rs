//! The nodes serving one database: each node's heartbeat (so every node knows how many serve
//! with it) and turns at work run once per interval across all of them (the retention sweep,
//! the automations' pass). On one SQLite file there is one node and every turn is its own.
//! Both run on the machines' own clocks, never on a clock a test has set: a turn is a stretch
//! of real time.

use std::time::Duration;

use suoja_core::{Clock as _, Timestamp};
pub use suoja_store::cluster::{FirstTurn, NodeRow};

use crate::{Helpdesk, Result};

/// A node heard from within this long counts as alive.
pub const ALIVE_WITHIN: Duration = Duration::from_secs(30);

/// A node not heard from for this long is forgotten (it was killed without leaving).
const FORGET_AFTER: Duration = Duration::from_secs(600);

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn wall_clock() -> Timestamp {
    suoja_core::clock::SystemClock.now()
}

impl Helpdesk {
    /// Writes this node's heartbeat and returns the nodes alive (this one included).
    pub async fn heartbeat(&self, node: &str, started_at: Timestamp) -> Result<Vec<NodeRow>> {
        let now = wall_clock();
        let mut tx = self.db.begin().await?;
        suoja_store::cluster::heartbeat(&mut tx, node, env!("CARGO_PKG_VERSION"), started_at, now).await?;
        suoja_store::cluster::forget_silent(&mut tx, Timestamp(now.0 - ms(FORGET_AFTER))).await?;
        tx.commit().await?;
        let mut c = self.db.read().await?;
        Ok(suoja_store::cluster::alive(&mut c, Timestamp(now.0 - ms(ALIVE_WITHIN))).await?)
    }

    /// Takes this node out of the count at once (a clean stop).
    pub async fn leave_cluster(&self, node: &str) -> Result<()> {
        let mut tx = self.db.begin().await?;
        suoja_store::cluster::leave(&mut tx, node).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether `node` takes this interval's turn at `work` (see
    /// [`suoja_store::cluster::take_turn`]): at most one node gets each turn.
    pub async fn take_turn(&self, work: &str, node: &str, every: Duration, first: FirstTurn) -> Result<bool> {
        let now = wall_clock();
        let mut tx = self.db.begin().await?;
        let mine = suoja_store::cluster::take_turn(&mut tx, work, node, ms(every), first, now).await?;
        tx.commit().await?;
        Ok(mine)
    }
}
