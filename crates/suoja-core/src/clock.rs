//! Time: a `Timestamp` in milliseconds since the Unix epoch and an injectable `Clock`, so that
//! deadlines and retention can be tested by moving time instead of waiting.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Milliseconds since 1970-01-01T00:00:00Z, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// ISO 8601 in UTC with second precision, as Zendesk writes it: `2024-01-31T09:14:57Z`.
    pub fn to_iso(self) -> String {
        match jiff::Timestamp::from_millisecond(self.0) {
            Ok(t) => t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            Err(_) => "1970-01-01T00:00:00Z".to_string(),
        }
    }
    /// Parses an ISO 8601 timestamp or a plain date (`2024-01-31`, taken as midnight UTC).
    pub fn parse(s: &str) -> Option<Self> {
        if let Ok(t) = s.parse::<jiff::Timestamp>() {
            return Some(Self(t.as_millisecond()));
        }
        let date: jiff::civil::Date = s.parse().ok()?;
        let zoned = date.to_zoned_datetime(jiff::tz::TimeZone::UTC).ok()?;
        Some(Self(zoned.timestamp().as_millisecond()))
    }
    /// Whole seconds since the epoch.
    pub fn as_secs(self) -> i64 {
        self.0.div_euclid(1000)
    }
}

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp(jiff::Timestamp::now().as_millisecond())
    }
}

/// A clock that tests set and advance by hand.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A manual clock showing `at`.
    pub fn new(at: Timestamp) -> Self {
        Self(Arc::new(AtomicI64::new(at.0)))
    }
    /// Sets the clock to `at` (tests move it forward only).
    pub fn set(&self, at: Timestamp) {
        self.0.store(at.0, Ordering::SeqCst);
    }
    /// Moves the clock forward by `ms` milliseconds.
    pub fn advance_ms(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_round_trip() {
        let t = Timestamp::parse("2024-02-29T12:34:56Z").unwrap();
        assert_eq!(t.to_iso(), "2024-02-29T12:34:56Z");
        assert_eq!(Timestamp::parse("2024-01-01").unwrap().to_iso(), "2024-01-01T00:00:00Z");
        assert!(Timestamp::parse("yesterday").is_none());
    }
}
