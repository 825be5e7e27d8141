//! Views' counts, kept a while when counting is costly. A count that takes a few milliseconds
//! is counted on every ask, so a small helpdesk's numbers are always exact. A costly one (a
//! view matching one ticket in a hundred of a million) is kept for a hundred times what it
//! cost, between [`KEEP_AT_LEAST`] and [`KEEP_AT_MOST`]; past that the kept number is answered
//! at once, marked not fresh (as Zendesk's `fresh: false`), while one task counts it again in
//! the background. Each server keeps its own; counts are numbers, never personal data.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use suoja_core::{Scope, TenantId, Timestamp, UserId};

use super::views::{VIEW_COUNT_CAP, View};
use crate::{Helpdesk, Result};

/// A count that takes less is counted on every ask.
pub const COSTLY: Duration = Duration::from_millis(10);

/// The shortest time a costly count is kept fresh.
pub const KEEP_AT_LEAST: Duration = Duration::from_secs(5);

/// The longest time a costly count is kept fresh.
pub const KEEP_AT_MOST: Duration = Duration::from_secs(300);

/// The most counts kept; past it the oldest half is dropped.
const MAX_KEPT: usize = 10_000;

/// A view's count as the workspace and the API show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewCount {
    /// Tickets, at most [`VIEW_COUNT_CAP`].
    pub value: i64,
    /// More than the cap match.
    pub more: bool,
    /// Counted just now, or within the time a costly count is kept; `false`: an older number,
    /// being counted again.
    pub fresh: bool,
    /// When it was counted.
    pub counted_at: Timestamp,
}

/// Whose count: the view, and the agent asking when its conditions name `current_user` or
/// `current_groups` (everyone else's count of it differs).
type Key = (TenantId, i64, Option<UserId>);

#[derive(Debug, Clone, Copy)]
struct Entry {
    value: i64,
    more: bool,
    counted_at: Timestamp,
    /// When, on this server's clock.
    at: Instant,
    /// What counting took.
    cost: Duration,
    /// The view's definition when counted ([`version`]): a changed view is counted anew.
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

/// What the cache holds for a view.
#[derive(Debug, PartialEq, Eq)]
enum Lookup {
    /// Count it now, and wait.
    Miss,
    /// This, fresh.
    Fresh(ViewCount),
    /// This, no longer fresh; `true`: the asker starts the recount.
    Stale(ViewCount, bool),
}

/// The counts kept on this server.
#[derive(Debug, Default)]
pub(crate) struct CountCache(Mutex<HashMap<Key, Entry>>);

impl CountCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn lookup(&self, key: Key, version: u64, now: Instant) -> Lookup {
        let mut map = self.lock();
        let Some(e) = map.get_mut(&key).filter(|e| e.version == version) else {
            return Lookup::Miss;
        };
        let count = |fresh| ViewCount {
            value: e.value,
            more: e.more,
            fresh,
            counted_at: e.counted_at,
        };
        if now.saturating_duration_since(e.at) < keep_for(e.cost) {
            return Lookup::Fresh(count(true));
        }
        if e.cost < COSTLY {
            return Lookup::Miss;
        }
        let start = !e.refreshing;
        e.refreshing = true;
        Lookup::Stale(count(false), start)
    }

    fn put(&self, key: Key, version: u64, c: ViewCount, at: Instant, cost: Duration) {
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
                value: c.value,
                more: c.more,
                counted_at: c.counted_at,
                at,
                cost,
                version,
                refreshing: false,
            },
        );
    }

    /// A recount failed: the next ask tries again.
    fn failed(&self, key: Key) {
        if let Some(e) = self.lock().get_mut(&key) {
            e.refreshing = false;
        }
    }
}

/// A view's definition and time of change, hashed.
fn version(v: &View) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.row.definition.hash(&mut h);
    v.row.updated_at.0.hash(&mut h);
    h.finish()
}

fn key(scope: &Scope, v: &View) -> Key {
    let personal = v.def.all.iter().chain(&v.def.any).any(super::conditions::names_the_viewer);
    (scope.tenant, v.row.id, personal.then_some(scope.actor))
}

impl Helpdesk {
    /// A view's count (staff), exact up to [`VIEW_COUNT_CAP`]: counted now when counting is
    /// cheap, else as last counted (see the module).
    pub async fn view_count(&self, scope: &Scope, v: &View) -> Result<ViewCount> {
        crate::require_staff(scope)?;
        let key = key(scope, v);
        match self.view_counts.lookup(key, version(v), Instant::now()) {
            Lookup::Fresh(c) => Ok(c),
            Lookup::Stale(c, start) => {
                if start {
                    let (hd, scope, v) = (self.clone(), *scope, v.clone());
                    tokio::spawn(async move {
                        if let Err(e) = hd.count_and_keep(&scope, &v, key).await {
                            tracing::warn!(view.id = v.row.id, error = %e, "a view could not be counted again");
                            hd.view_counts.failed(key);
                        }
                    });
                }
                Ok(c)
            }
            Lookup::Miss => self.count_and_keep(scope, v, key).await,
        }
    }

    async fn count_and_keep(&self, scope: &Scope, v: &View, key: Key) -> Result<ViewCount> {
        let started = Instant::now();
        let n = {
            let mut c = self.db.read().await?;
            let f = self.view_filter(&mut c, scope, v).await?;
            suoja_store::tickets::count_capped(&mut c, scope.tenant, &f, VIEW_COUNT_CAP + 1).await?
        };
        let count = ViewCount {
            value: n.min(VIEW_COUNT_CAP),
            more: n > VIEW_COUNT_CAP,
            fresh: true,
            counted_at: self.now(),
        };
        self.view_counts.put(key, version(v), count, Instant::now(), started.elapsed());
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(value: i64) -> ViewCount {
        ViewCount {
            value,
            more: false,
            fresh: true,
            counted_at: Timestamp(1),
        }
    }

    const K: Key = (TenantId(1), 7, None);

    #[test]
    fn a_cheap_count_is_counted_on_every_ask() {
        let cache = CountCache::default();
        let t0 = Instant::now();
        cache.put(K, 5, count(3), t0, Duration::from_millis(2));
        assert_eq!(cache.lookup(K, 5, t0), Lookup::Miss);
        assert_eq!(cache.lookup(K, 5, t0 + Duration::from_secs(60)), Lookup::Miss);
    }

    #[test]
    fn a_costly_count_is_kept_then_recounted_by_one_asker_while_the_old_number_is_shown() {
        let cache = CountCache::default();
        let t0 = Instant::now();
        // 400 ms to count: fresh for 40 s.
        cache.put(K, 5, count(1000), t0, Duration::from_millis(400));
        assert_eq!(cache.lookup(K, 5, t0 + Duration::from_secs(39)), Lookup::Fresh(count(1000)));
        let stale = ViewCount { fresh: false, ..count(1000) };
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
    fn a_changed_view_or_another_agent_is_counted_anew() {
        let cache = CountCache::default();
        let t0 = Instant::now();
        cache.put(K, 5, count(4), t0, Duration::from_secs(1));
        assert_eq!(cache.lookup(K, 6, t0), Lookup::Miss);
        assert_eq!(cache.lookup((TenantId(1), 7, Some(UserId(3))), 5, t0), Lookup::Miss);
        assert_eq!(cache.lookup((TenantId(2), 7, None), 5, t0), Lookup::Miss);
    }

    #[test]
    fn keeping_is_bounded_both_ways() {
        assert_eq!(keep_for(Duration::from_millis(9)), Duration::ZERO);
        assert_eq!(keep_for(Duration::from_millis(10)), KEEP_AT_LEAST);
        assert_eq!(keep_for(Duration::from_millis(400)), Duration::from_secs(40));
        assert_eq!(keep_for(Duration::from_secs(30)), KEEP_AT_MOST);
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = CountCache::default();
        let t0 = Instant::now();
        let kept = i64::try_from(MAX_KEPT).unwrap();
        for i in 0..kept + 10 {
            let at = t0 + Duration::from_millis(u64::try_from(i).unwrap_or(0));
            cache.put((TenantId(1), i, None), 0, count(i), at, Duration::from_secs(1));
        }
        assert!(cache.lock().len() <= MAX_KEPT);
        // The newest is kept.
        let last = kept + 9;
        assert!(cache.lock().contains_key(&(TenantId(1), last, None)));
    }
}
