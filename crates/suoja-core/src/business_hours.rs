//! Business hours: the hours a support team works, as a week of opening intervals in a time
//! zone less its holidays — what SLA targets "in business hours" are counted in.
//!
//! Intervals are minutes from Sunday 00:00 local time, Zendesk's schedule shape (Monday
//! 09:00–17:00 is 1980–2460). Local times become instants day by day in the schedule's zone
//! (the same zone rules as [`crate::calendar::Calendar`]), so a day with a clock change has the
//! hours its wall clock shows: a local time inside a spring-forward gap is read as the clocks
//! were set forward (02:30 becomes 03:30; an interval pushed onto the next is counted once),
//! and a fall-back day's repeated hour is worked twice. A holiday closes its whole
//! local day. Calendar hours are [`BusinessHours::always`].

use std::collections::BTreeSet;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;

use crate::Timestamp;

/// Minutes in a week.
pub const WEEK_MINUTES: u32 = 7 * 1440;

/// How far ahead a target is looked for before it is called unreachable: ten years of days
/// (a schedule whose every day is a holiday, or a target of more open time than that).
const MAX_DAYS: usize = 3_660;

const MINUTE: i64 = 60_000;

/// A week of opening intervals in a time zone, with holidays.
#[derive(Debug, Clone)]
pub struct BusinessHours {
    tz: TimeZone,
    /// Sorted, neither overlapping nor touching, within one week; empty for [`Self::always`].
    intervals: Vec<(u32, u32)>,
    /// Closed days as sorted, disjoint ranges (first and last day).
    holidays: Vec<(Date, Date)>,
    always: bool,
}

impl BusinessHours {
    /// Every hour of every day (calendar hours).
    pub fn always() -> Self {
        Self {
            tz: TimeZone::UTC,
            intervals: Vec::new(),
            holidays: Vec::new(),
            always: true,
        }
    }

    /// A schedule in `time_zone` (an IANA name) open in `intervals` (minutes from Sunday
    /// 00:00; each start before its end, within the week, none overlapping another) except on
    /// `holidays`. Intervals that touch are joined. Returns what is wrong otherwise.
    pub fn new(time_zone: &str, intervals: &[(u32, u32)], holidays: BTreeSet<Date>) -> Result<Self, String> {
        Self::with_holiday_ranges(time_zone, intervals, holidays.into_iter().map(|d| (d, d)))
    }

    /// As [`Self::new`], with holidays as ranges of days (first and last day, inclusive).
    pub fn with_holiday_ranges(time_zone: &str, intervals: &[(u32, u32)], holidays: impl IntoIterator<Item = (Date, Date)>) -> Result<Self, String> {
        let tz = TimeZone::get(time_zone).map_err(|_| format!("unknown time zone {time_zone:?}"))?;
        let mut sorted = intervals.to_vec();
        sorted.sort_unstable();
        let mut joined: Vec<(u32, u32)> = Vec::with_capacity(sorted.len());
        for (s, e) in sorted {
            if s >= e || e > WEEK_MINUTES {
                return Err(format!(
                    "an interval runs from a start to a later end within the week (0 to {WEEK_MINUTES} minutes), not {s} to {e}"
                ));
            }
            match joined.last_mut() {
                Some(last) if s < last.1 => return Err(format!("intervals {}–{} and {s}–{e} overlap", last.0, last.1)),
                Some(last) if s == last.1 => last.1 = e,
                _ => joined.push((s, e)),
            }
        }
        let mut ranges: Vec<(Date, Date)> = holidays.into_iter().filter(|(a, b)| a <= b).collect();
        ranges.sort_unstable();
        let mut merged: Vec<(Date, Date)> = Vec::with_capacity(ranges.len());
        for (a, b) in ranges {
            match merged.last_mut() {
                Some(last) if a <= last.1.tomorrow().unwrap_or(Date::MAX) => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        Ok(Self {
            tz,
            intervals: joined,
            holidays: merged,
            always: false,
        })
    }

    /// The week's intervals as kept: sorted, touching ones joined.
    pub fn intervals(&self) -> &[(u32, u32)] {
        &self.intervals
    }

    /// Whether a local date is a holiday.
    fn is_holiday(&self, day: Date) -> bool {
        let i = self.holidays.partition_point(|(a, _)| *a <= day);
        i.checked_sub(1).and_then(|i| self.holidays.get(i)).is_some_and(|(_, b)| day <= *b)
    }

    /// Whether the schedule is open at some time of some week (an empty week never is).
    pub fn ever_open(&self) -> bool {
        self.always || !self.intervals.is_empty()
    }

    /// The instant a local date's minute `m` (0..=1440) falls on.
    fn instant(&self, day: Date, m: u32) -> Option<i64> {
        let (day, m) = if m >= 1440 { (day.tomorrow().ok()?, 0) } else { (day, m) };
        let time = Time::new(i8::try_from(m / 60).ok()?, i8::try_from(m % 60).ok()?, 0, 0).ok()?;
        // Ambiguous and skipped local times resolve as a wall clock does: the earlier of a
        // repeated hour; a time in a gap moved forward by the gap.
        let z = day.to_datetime(time).to_zoned_datetime(self.tz.clone()).ok()?;
        Some(z.timestamp().as_millisecond())
    }

    /// The open spans of one local date, as instants in order.
    fn spans_of(&self, day: Date) -> Vec<(i64, i64)> {
        if self.is_holiday(day) {
            return Vec::new();
        }
        let lo = u32::try_from(day.weekday().to_sunday_zero_offset()).unwrap_or(0) * 1440;
        let hi = lo + 1440;
        self.intervals
            .iter()
            .filter_map(|&(s, e)| {
                let (s, e) = (s.max(lo), e.min(hi));
                if s >= e {
                    return None;
                }
                let (a, b) = (self.instant(day, s - lo)?, self.instant(day, e - lo)?);
                (a < b).then_some((a, b))
            })
            // An end pushed past the clock change can reach past the next start: counted once.
            .fold(Vec::new(), |mut spans: Vec<(i64, i64)>, (a, b)| {
                let a = spans.last().map_or(a, |last| a.max(last.1));
                if a < b {
                    spans.push((a, b));
                }
                spans
            })
    }

    /// The local date an instant falls on.
    fn day_of(&self, t: i64) -> Option<Date> {
        Some(jiff::Timestamp::from_millisecond(t).ok()?.to_zoned_datetime(self.tz.clone()).date())
    }

    /// Milliseconds of open time from `from` to `to` (none when `to` is not after `from`).
    pub fn open_between(&self, from: Timestamp, to: Timestamp) -> i64 {
        if to.0 <= from.0 {
            return 0;
        }
        if self.always {
            return to.0 - from.0;
        }
        let (Some(mut day), Some(last)) = (self.day_of(from.0), self.day_of(to.0)) else {
            return 0;
        };
        let mut open = 0;
        while day <= last {
            for (a, b) in self.spans_of(day) {
                let (a, b) = (a.max(from.0), b.min(to.0));
                if a < b {
                    open += b - a;
                }
            }
            let Ok(next) = day.tomorrow() else { break };
            day = next;
        }
        open
    }

    /// The instant at which `ms` milliseconds of open time have passed since `from` (`from`
    /// itself for none); `None` when the schedule does not reach it within ten years.
    pub fn add(&self, from: Timestamp, ms: i64) -> Option<Timestamp> {
        if ms <= 0 {
            return Some(from);
        }
        if self.always {
            return from.0.checked_add(ms).map(Timestamp);
        }
        let mut day = self.day_of(from.0)?;
        let mut left = ms;
        for _ in 0..MAX_DAYS {
            for (a, b) in self.spans_of(day) {
                let a = a.max(from.0);
                if a >= b {
                    continue;
                }
                if b - a >= left {
                    return Some(Timestamp(a + left));
                }
                left -= b - a;
            }
            day = day.tomorrow().ok()?;
        }
        None
    }

    /// [`Self::add`] of whole minutes.
    pub fn add_minutes(&self, from: Timestamp, minutes: i64) -> Option<Timestamp> {
        self.add(from, minutes.checked_mul(MINUTE)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    /// Monday to Friday, 09:00–17:00.
    fn office(tz: &str, holidays: &[&str]) -> BusinessHours {
        let week: Vec<(u32, u32)> = (1..=5).map(|d| (d * 1440 + 540, d * 1440 + 1020)).collect();
        BusinessHours::new(tz, &week, holidays.iter().map(|h| h.parse().unwrap()).collect()).unwrap()
    }

    #[test]
    fn a_target_waits_for_opening_and_skips_the_weekend() {
        let h = office("Europe/Helsinki", &[]);
        // Friday 2026-03-06 16:00 Helsinki (14:00 UTC): one hour left that day, one on Monday.
        let due = h.add_minutes(at("2026-03-06T14:00:00Z"), 120).unwrap();
        assert_eq!(due, at("2026-03-09T08:00:00Z"), "Monday 10:00 Helsinki");
        // Saturday night: Monday 09:00 + 30 min.
        assert_eq!(h.add_minutes(at("2026-03-07T22:00:00Z"), 30).unwrap(), at("2026-03-09T07:30:00Z"));
        assert_eq!(h.open_between(at("2026-03-06T14:00:00Z"), due), 2 * 3_600_000);
        // A whole week holds 40 hours.
        assert_eq!(h.open_between(at("2026-03-08T00:00:00Z"), at("2026-03-15T00:00:00Z")), 40 * 3_600_000);
    }

    #[test]
    fn holidays_close_their_day() {
        let h = office("Europe/Helsinki", &["2026-12-24", "2026-12-25"]);
        // Wednesday 23 December 16:30 Helsinki, 2 hours: 30 min that day, Thursday and Friday are
        // holidays, the rest on Monday 28th from 09:00.
        let due = h.add_minutes(at("2026-12-23T14:30:00Z"), 120).unwrap();
        assert_eq!(due, at("2026-12-28T08:30:00Z"));
    }

    #[test]
    fn clock_changes_keep_the_wall_clock_hours() {
        // New York, Sunday 2026-03-08 springs forward at 02:00: a Sunday 00:00–24:00 schedule has
        // 23 hours that day, and 25 on Sunday 2026-11-01.
        let sunday = BusinessHours::new("America/New_York", &[(0, 1440)], BTreeSet::new()).unwrap();
        assert_eq!(sunday.open_between(at("2026-03-07T12:00:00Z"), at("2026-03-10T00:00:00Z")), 23 * 3_600_000);
        assert_eq!(sunday.open_between(at("2026-10-31T12:00:00Z"), at("2026-11-03T00:00:00Z")), 25 * 3_600_000);
        // An office day keeps 09:00–17:00 local on both sides of the change.
        let h = office("America/New_York", &[]);
        // Friday 6 March 16:00 EST (21:00 UTC) + 2 h → Monday 9 March 10:00 EDT (14:00 UTC).
        assert_eq!(h.add_minutes(at("2026-03-06T21:00:00Z"), 120).unwrap(), at("2026-03-09T14:00:00Z"));
        // An interval starting in the gap (02:30 that Sunday, until 04:00) starts at 03:30, as
        // the clocks were set forward: half an hour that day.
        let gap = BusinessHours::new("America/New_York", &[(150, 240)], BTreeSet::new()).unwrap();
        assert_eq!(gap.open_between(at("2026-03-08T00:00:00Z"), at("2026-03-09T00:00:00Z")), 30 * MINUTE);
    }

    #[test]
    fn an_interval_pushed_past_the_clock_change_is_not_counted_twice() {
        // New York, Sunday 2027-03-14 springs forward at 02:00: 01:00–02:45 ends at 03:45 EDT,
        // past the next interval's start at 03:00; together they hold 01:00 EST to 04:00 EDT.
        let h = BusinessHours::new("America/New_York", &[(60, 165), (180, 240)], BTreeSet::new()).unwrap();
        assert_eq!(h.open_between(at("2027-03-14T00:00:00Z"), at("2027-03-15T00:00:00Z")), 2 * 3_600_000);
    }

    #[test]
    fn holiday_ranges_close_every_day_they_hold() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        let week: Vec<(u32, u32)> = (1..=5).map(|x| (x * 1440 + 540, x * 1440 + 1020)).collect();
        let h = BusinessHours::with_holiday_ranges("UTC", &week, [(d("2026-12-24"), d("2026-12-31")), (d("2026-12-28"), d("2027-01-01"))]).unwrap();
        assert_eq!(h.holidays, vec![(d("2026-12-24"), d("2027-01-01"))], "overlapping ranges merge");
        // Wednesday 23 December 16:00 + 2 h: one hour that day, the next on Monday 4 January.
        assert_eq!(h.add_minutes(at("2026-12-23T16:00:00Z"), 120).unwrap(), at("2027-01-04T10:00:00Z"));
        assert!(h.is_holiday(d("2026-12-24")) && h.is_holiday(d("2027-01-01")) && !h.is_holiday(d("2027-01-02")));
    }

    #[test]
    fn bad_schedules_are_refused() {
        assert!(BusinessHours::new("Mars/Olympus", &[(0, 60)], BTreeSet::new()).is_err());
        assert!(BusinessHours::new("UTC", &[(60, 60)], BTreeSet::new()).is_err());
        assert!(BusinessHours::new("UTC", &[(0, WEEK_MINUTES + 1)], BTreeSet::new()).is_err());
        assert!(BusinessHours::new("UTC", &[(0, 120), (60, 180)], BTreeSet::new()).is_err());
        // Touching intervals join.
        let h = BusinessHours::new("UTC", &[(60, 120), (0, 60)], BTreeSet::new()).unwrap();
        assert_eq!(h.intervals, vec![(0, 120)]);
        // A week with no hours never reaches a target.
        let closed = BusinessHours::new("UTC", &[], BTreeSet::new()).unwrap();
        assert!(!closed.ever_open());
        assert_eq!(closed.add_minutes(at("2026-01-01T00:00:00Z"), 1), None);
    }

    #[test]
    fn calendar_hours_are_plain_time() {
        let h = BusinessHours::always();
        assert_eq!(h.add_minutes(at("2026-03-06T14:00:00Z"), 90).unwrap(), at("2026-03-06T15:30:00Z"));
        assert_eq!(h.open_between(at("2026-03-06T14:00:00Z"), at("2026-03-06T15:00:00Z")), 3_600_000);
    }

    /// A schedule of up to six intervals of a week, in zones with clock changes (one of 30
    /// minutes), with holidays.
    fn schedule() -> impl Strategy<Value = BusinessHours> {
        (
            prop::sample::select(vec!["UTC", "Europe/Helsinki", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]),
            prop::collection::vec((0..WEEK_MINUTES, 30_u32..900), 1..6),
            prop::collection::vec(0_i64..1_500, 0..20),
        )
            .prop_filter_map("overlapping intervals", |(tz, raw, holidays)| {
                let intervals: Vec<(u32, u32)> = raw.iter().map(|&(s, len)| (s, (s + len).min(WEEK_MINUTES))).collect();
                let base: Date = "2025-01-01".parse().ok()?;
                let holidays = holidays.iter().filter_map(|d| base.checked_add(jiff::Span::new().days(*d)).ok()).collect();
                BusinessHours::new(tz, &intervals, holidays).ok()
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// A target reached after `ms` of open time is exactly `ms` of open time away, is open
        /// just before it, and a later start or a longer target never reaches it sooner.
        #[test]
        fn reaching_a_target_is_consistent(h in schedule(), start in 1_735_689_600_000_i64..1_830_000_000_000, ms in 1_i64..(20 * 3_600_000), more in 0_i64..(20 * 3_600_000)) {
            let from = Timestamp(start);
            let due = h.add(from, ms).expect("open every week");
            prop_assert!(due.0 > from.0);
            prop_assert_eq!(h.open_between(from, due), ms);
            prop_assert_eq!(h.open_between(Timestamp(due.0 - 1), due), 1);
            let later = h.add(from, ms + more).expect("open every week");
            prop_assert!(later >= due);
            let from_later = h.add(Timestamp(start + more), ms).expect("open every week");
            prop_assert!(from_later >= due);
        }

        /// Open time adds up over consecutive stretches and never exceeds the time elapsed.
        #[test]
        fn open_time_adds_up(h in schedule(), a in 1_735_689_600_000_i64..1_830_000_000_000, x in 0_i64..(20 * 86_400_000), y in 0_i64..(20 * 86_400_000)) {
            let (a, b, c) = (Timestamp(a), Timestamp(a + x), Timestamp(a + x + y));
            let ab = h.open_between(a, b);
            prop_assert_eq!(ab + h.open_between(b, c), h.open_between(a, c));
            prop_assert!(ab <= x);
        }
    }
}
