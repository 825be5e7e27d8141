//! Counts kept a while when counting is costly: views' counts and the ticket lists' totals. A
//! count that takes a few milliseconds is counted on every ask, so a small helpdesk's numbers
//! are always exact. A costly one (a view matching one ticket in a hundred of a million, the
//! total of a million-ticket list) is kept for a hundred times what it cost, between
//! [`KEEP_AT_LEAST`] and [`KEEP_AT_MOST`]; past that the kept number is answered at once,
//! marked not fresh (as Zendesk's `fresh: false`), while one task counts it again in the
//! background. Each server keeps its own; counts are numbers, never personal data.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use suoja_core::Timestamp;

use crate::Result;

/// A count that takes less is counted on every ask.
pub const COSTLY: Duration = Duration::from_millis(10);

/// The shortest time a costly count is kept fresh.
pub const KEEP_AT_LEAST: Duration = Duration::from_secs(5);

/// The longest time a costly count is kept fresh.
pub const KEEP_AT_MOST: Duration = Duration::from_secs(300);

/// The most counts kept; past it the oldest half is dropped.
const MAX_KEPT: usize = 10_000;

/// A count as the workspace and the API show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    /// How many (at most the asker's cap, when it has one).
    pub value: i64,
    /// More than the cap match.
    pub more: bool,
    /// Counted just now, or within the time a costly count is kept; `false`: an older number,
    /// being counted again.
    pub fresh: bool,
    /// When it was counted.
    pub counted_at: Timestamp,
}

impl Count {
    /// An exact count with no cap, counted at `at`.
    pub fn exact(value: i64, at: Timestamp) -> Self {
        Count {
            value,
            more: false,
            fresh: true,
            counted_at: at,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    count: Count,
    /// When, on this server's clock.
    at: Instant,
    /// What counting took.
    cost: Duration,
    /// What was counted, as it was (a changed view is counted anew).
    version: u64,
    /// A task is counting it again.
    refreshing: bool,
}

/// How long a count that cost `cost` stays fresh.
fn keep_for(cost: Duration) -> Duration {
    if cost < COSTLY {
        Duration::ZERO
    } else {
        cost.saturating_mul(100).clamp(KEEP_AT_LEAST, KEEP_AT_MOST)
    }
}

/// What the cache holds for a key.
#[derive(Debug, PartialEq, Eq)]
enum Lookup {
    /// Count it now, and wait.
    Miss,
    /// This, fresh.
    Fresh(Count),
    /// This, no longer fresh; `true`: the asker starts the recount.
    Stale(Count, bool),
}

/// The counts kept on this server, by `K` (whose count of what).
#[derive(Debug)]
pub(crate) struct CountCache<K> {
    counts: Mutex<HashMap<K, Entry>>,
    /// Counts below this are counted on every ask, however long they took.
    keep_from: i64,
}

impl<K> Default for CountCache<K> {
    fn default() -> Self {
        Self::keeping_from(0)
    }
}

impl<K> CountCache<K> {
    /// A cache that keeps only counts of at least `keep_from`: smaller ones stay exact however
    /// long they take (a busy machine must not make a ten-ticket list's total lag).
    pub(crate) fn keeping_from(keep_from: i64) -> Self {
        Self {
            counts: Mutex::new(HashMap::new()),
            keep_from,
        }
    }
}

impl<K: Copy + Eq + Hash + Send + 'static> CountCache<K> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Entry>> {
        self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn lookup(&self, key: K, version: u64, now: Instant) -> Lookup {
        let mut map = self.lock();
        let Some(e) = map.get_mut(&key).filter(|e| e.version == version) else {
            return Lookup::Miss;
        };
        if now.saturating_duration_since(e.at) < keep_for(e.cost) {
            return Lookup::Fresh(e.count);
        }
        if e.cost < COSTLY {
            return Lookup::Miss;
        }
        let start = !e.refreshing;
        e.refreshing = true;
        Lookup::Stale(Count { fresh: false, ..e.count }, start)
    }

    fn put(&self, key: K, version: u64, count: Count, at: Instant, cost: Duration) {
        let cost = if count.value < self.keep_from { Duration::ZERO } else { cost };
        let mut map = self.lock();
        if map.len() >= MAX_KEPT && !map.contains_key(&key) {
            let mut ages: Vec<Instant> = map.values().map(|e| e.at).collect();
            ages.sort_unstable();
            let cut = ages.get(ages.len() / 2).copied().unwrap_or(at);
            map.retain(|_, e| e.at > cut);
        }
        map.insert(
            key,
            Entry {
                count: Count { fresh: true, ..count },
                at,
                cost,
                version,
                refreshing: false,
            },
        );
    }

    /// A recount failed: the next ask tries again.
    fn failed(&self, key: K) {
        if let Some(e) = self.lock().get_mut(&key) {
            e.refreshing = false;
        }
    }

    /// `key`'s count: counted now by `now` when counting is cheap or nothing is kept (so a
    /// caller holding a connection counts on it, never waiting for a second one), else as kept,
    /// with `later` counting it again in the background once it is stale (see the module).
    /// `what` names the count in the warning a failed background recount leaves (no personal
    /// data).
    pub(crate) async fn get<N, F, Fut>(self: &Arc<Self>, key: K, version: u64, what: &'static str, now: N, later: F) -> Result<Count>
    where
        N: Future<Output = Result<Count>>,
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Count>> + Send + 'static,
    {
        match self.lookup(key, version, Instant::now()) {
            Lookup::Fresh(c) => Ok(c),
            Lookup::Stale(c, start) => {
                if start {
                    let cache = Arc::clone(self);
                    tokio::spawn(async move {
                        if let Err(e) = cache.count_and_keep(key, version, later()).await {
                            tracing::warn!(count = what, error = %e, "a count could not be counted again");
                            cache.failed(key);
                        }
                    });
                }
                Ok(c)
            }
            Lookup::Miss => self.count_and_keep(key, version, now).await,
        }
    }

    async fn count_and_keep(&self, key: K, version: u64, count: impl Future<Output = Result<Count>>) -> Result<Count> {
        let started = Instant::now();
        let n = count.await?;
        self.put(key, version, n, Instant::now(), started.elapsed());
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(value: i64) -> Count {
        Count {
            value,
            more: false,
            fresh: true,
            counted_at: Timestamp(1),
        }
    }

    type Key = (i64, i64, Option<i64>);
    const K: Key = (1, 7, None);

    #[test]
    fn a_cheap_count_is_counted_on_every_ask() {
        let cache = CountCache::<Key>::default();
        let t0 = Instant::now();
        cache.put(K, 5, count(3), t0, Duration::from_millis(2));
        assert_eq!(cache.lookup(K, 5, t0), Lookup::Miss);
        assert_eq!(cache.lookup(K, 5, t0 + Duration::from_secs(60)), Lookup::Miss);
    }

    #[test]
    fn a_costly_count_is_kept_then_recounted_by_one_asker_while_the_old_number_is_shown() {
        let cache = CountCache::<Key>::default();
        let t0 = Instant::now();
        // 400 ms to count: fresh for 40 s.
        cache.put(K, 5, count(1000), t0, Duration::from_millis(400));
        assert_eq!(cache.lookup(K, 5, t0 + Duration::from_secs(39)), Lookup::Fresh(count(1000)));
        let stale = Count { fresh: false, ..count(1000) };
        let later = t0 + Duration::from_secs(41);
        assert_eq!(cache.lookup(K, 5, later), Lookup::Stale(stale, true));
        // The second asker does not start another recount.
        assert_eq!(cache.lookup(K, 5, later), Lookup::Stale(stale, false));
        // A recount that failed lets the next asker try.
        cache.failed(K);
        assert_eq!(cache.lookup(K, 5, later), Lookup::Stale(stale, true));
        // The recount lands: fresh again.
        cache.put(K, 5, count(990), later, Duration::from_millis(400));
        assert_eq!(cache.lookup(K, 5, later), Lookup::Fresh(count(990)));
    }

    #[test]
    fn a_changed_version_or_another_key_is_counted_anew() {
        let cache = CountCache::<Key>::default();
        let t0 = Instant::now();
        cache.put(K, 5, count(4), t0, Duration::from_secs(1));
        assert_eq!(cache.lookup(K, 6, t0), Lookup::Miss);
        assert_eq!(cache.lookup((1, 7, Some(3)), 5, t0), Lookup::Miss);
        assert_eq!(cache.lookup((2, 7, None), 5, t0), Lookup::Miss);
    }

    #[test]
    fn a_small_count_is_never_kept_however_long_it_took() {
        let cache = CountCache::<Key>::keeping_from(10_000);
        let t0 = Instant::now();
        cache.put(K, 5, count(9_999), t0, Duration::from_secs(1));
        assert_eq!(cache.lookup(K, 5, t0), Lookup::Miss);
        cache.put(K, 5, count(10_000), t0, Duration::from_secs(1));
        assert_eq!(cache.lookup(K, 5, t0), Lookup::Fresh(count(10_000)));
    }

    #[test]
    fn keeping_is_bounded_both_ways() {
        assert_eq!(keep_for(Duration::from_millis(9)), Duration::ZERO);
        assert_eq!(keep_for(Duration::from_millis(10)), KEEP_AT_LEAST);
        assert_eq!(keep_for(Duration::from_millis(400)), Duration::from_secs(40));
        assert_eq!(keep_for(Duration::from_secs(30)), KEEP_AT_MOST);
    }

    #[tokio::test]
    async fn a_costly_count_is_answered_from_the_cache_without_counting_again() {
        use std::sync::atomic::{AtomicI64, Ordering};
        let cache = Arc::new(CountCache::<Key>::default());
        let asked = Arc::new(AtomicI64::new(0));
        let counter = |asked: Arc<AtomicI64>| {
            move || {
                let asked = Arc::clone(&asked);
                async move {
                    tokio::time::sleep(Duration::from_millis(12)).await;
                    Ok(count(asked.fetch_add(1, Ordering::SeqCst) + 1))
                }
            }
        };
        let ask = || {
            let count = counter(Arc::clone(&asked));
            cache.get(K, 1, "test", count(), count)
        };
        let first = ask().await.map(|c| c.value);
        assert_eq!(first.ok(), Some(1));
        // Costly (12 ms): kept 5 s, so the next ask does not count.
        let again = ask().await.map(|c| c.value);
        assert_eq!(again.ok(), Some(1));
        assert_eq!(asked.load(Ordering::SeqCst), 1);
    }
}
