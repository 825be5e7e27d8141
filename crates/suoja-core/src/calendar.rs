//! Deadlines of data-subject requests (GDPR Art. 12(3)), computed as EU Regulation 1182/71
//! counts periods: a period of one month that starts on a day ends at the last moment of the day
//! with the same number in the next month, or of that month's last day when the number does not
//! exist; a period ending on a Saturday, Sunday or public holiday ends on the next working day.
//! Days are days of the controller's calendar (its time zone and holidays).

use std::collections::BTreeSet;

use crate::Timestamp;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{ToSpan as _, ZonedDateTime};

/// The calendar deadlines are counted in.
#[derive(Debug, Clone)]
pub struct Calendar {
    tz: TimeZone,
    holidays: BTreeSet<Date>,
}

impl Default for Calendar {
    fn default() -> Self {
        Self {
            tz: TimeZone::UTC,
            holidays: BTreeSet::new(),
        }
    }
}

impl Calendar {
    /// A calendar in `time_zone` (an IANA name such as `Europe/Helsinki`) with `holidays`
    /// (`YYYY-MM-DD`). Returns the offending value when one does not parse.
    pub fn new(time_zone: &str, holidays: &[String]) -> Result<Self, String> {
        let tz = TimeZone::get(time_zone).map_err(|_| format!("unknown time zone {time_zone:?}"))?;
        let mut set = BTreeSet::new();
        for h in holidays {
            let d: Date = h.parse().map_err(|_| format!("holiday {h:?} is not a YYYY-MM-DD date"))?;
            set.insert(d);
        }
        Ok(Self { tz, holidays: set })
    }

    /// Whether `d` is a working day.
    pub fn is_working_day(&self, d: Date) -> bool {
        !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday) && !self.holidays.contains(&d)
    }

    /// The calendar day an instant falls on.
    pub fn day_of(&self, t: Timestamp) -> Date {
        match jiff::Timestamp::from_millisecond(t.0) {
            Ok(ts) => ts.to_zoned_datetime(self.tz.clone()).date(),
            Err(_) => Date::ZERO,
        }
    }

    /// The last day of a period of `months` months starting on `start`, moved to a working day.
    pub fn period_end_day(&self, start: Date, months: i32) -> Date {
        // jiff clamps to the month's last day when the day number does not exist (31 Jan → 28/29 Feb).
        let mut day = start.checked_add(months.months()).unwrap_or(Date::MAX);
        while !self.is_working_day(day) {
            match day.tomorrow() {
                Ok(next) => day = next,
                Err(_) => break,
            }
        }
        day
    }

    /// The last millisecond of `day` in this calendar's time zone.
    pub fn end_of_day(&self, day: Date) -> Timestamp {
        let next = day.tomorrow().unwrap_or(Date::MAX);
        match next.to_zoned_datetime(self.tz.clone()) {
            Ok(z) => Timestamp(z.timestamp().as_millisecond() - 1),
            Err(_) => Timestamp(i64::MAX),
        }
    }

    /// The due time of a request received at `received`: one month.
    pub fn due(&self, received: Timestamp) -> Timestamp {
        self.end_of_day(self.period_end_day(self.day_of(received), 1))
    }

    /// The due time after an extension by two further months (Art. 12(3)), counted from the day
    /// the request was received so that the whole period is three months.
    pub fn extended_due(&self, received: Timestamp) -> Timestamp {
        self.end_of_day(self.period_end_day(self.day_of(received), 3))
    }

    /// The instant as a zoned date-time in this calendar (for display).
    pub fn zoned(&self, t: Timestamp) -> Option<ZonedDateTime> {
        jiff::Timestamp::from_millisecond(t.0).ok().map(|ts| ts.to_zoned_datetime(self.tz.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn every_day(from: &str, to: &str) -> Vec<Date> {
        let mut out = vec![];
        let mut day = d(from);
        while day <= d(to) {
            out.push(day);
            day = day.tomorrow().unwrap();
        }
        out
    }

    #[test]
    fn same_day_number_next_month_then_clamped_then_past_weekends() {
        let c = Calendar::default();
        // Thursday 2026-01-15 → Sunday 2026-02-15 → Monday 2026-02-16.
        assert_eq!(c.period_end_day(d("2026-01-15"), 1), d("2026-02-16"));
        // 31 January → 28 February 2025 (a Friday).
        assert_eq!(c.period_end_day(d("2025-01-31"), 1), d("2025-02-28"));
        // 31 January 2024 → 29 February 2024 (leap year, a Thursday).
        assert_eq!(c.period_end_day(d("2024-01-31"), 1), d("2024-02-29"));
        // 30 March 2026 → 30 April 2026 (Thursday).
        assert_eq!(c.period_end_day(d("2026-03-30"), 1), d("2026-04-30"));
        // 31 May 2026 → 30 June 2026 (Tuesday).
        assert_eq!(c.period_end_day(d("2026-05-31"), 1), d("2026-06-30"));
    }

    #[test]
    fn holidays_roll_to_the_next_working_day() {
        let c = Calendar::new("Europe/Helsinki", &["2026-12-24".into(), "2026-12-25".into()]).unwrap();
        // 24 November 2026 (Tuesday) → 24 December (holiday) → 25th (holiday) → 26th Saturday → 28th Monday.
        assert_eq!(c.period_end_day(d("2026-11-24"), 1), d("2026-12-28"));
        assert!(Calendar::new("Mars/Olympus", &[]).is_err());
        assert!(Calendar::new("UTC", &["24.12.2026".into()]).is_err());
    }

    #[test]
    fn due_is_the_end_of_the_day_in_the_controllers_time_zone() {
        let c = Calendar::new("Europe/Helsinki", &[]).unwrap();
        // 2026-03-10 23:30 UTC is already 11 March in Helsinki.
        let received = Timestamp::parse("2026-03-10T23:30:00Z").unwrap();
        let due = c.zoned(c.due(received)).unwrap();
        assert_eq!(due.date(), d("2026-04-13")); // 11 April 2026 is a Saturday
        assert_eq!((due.hour(), due.minute(), due.second()), (23, 59, 59));
    }

    /// Every day of five years (two leap years, every DST change of two zones): the rules hold.
    #[test]
    fn property_every_date_of_five_years() {
        let holidays = vec!["2025-12-24".to_string(), "2026-05-01".into(), "2027-01-01".into()];
        for tz in ["UTC", "Europe/Helsinki", "America/New_York"] {
            let c = Calendar::new(tz, &holidays).unwrap();
            let mut last_end = Date::MIN;
            for start in every_day("2024-01-01", "2028-12-31") {
                let end = c.period_end_day(start, 1);
                // Never earlier than the same (or clamped) day number next month.
                let nominal = start.checked_add(1.month()).unwrap();
                assert!(end >= nominal, "{start} → {end}");
                // The nominal day is kept when it is a working day.
                if c.is_working_day(nominal) {
                    assert_eq!(end, nominal, "{start}");
                }
                // The end is a working day, and moving it never skips one.
                assert!(c.is_working_day(end), "{start} → {end}");
                let mut day = nominal;
                while day < end {
                    assert!(!c.is_working_day(day), "{start}: skipped working day {day}");
                    day = day.tomorrow().unwrap();
                }
                // Day numbers: same as the start unless the month is shorter.
                if nominal.day() != start.day() {
                    assert_eq!(nominal, nominal.last_of_month(), "{start}");
                }
                // Later receipt never means an earlier deadline.
                assert!(end >= last_end, "{start}");
                last_end = end;
                // Three months on extension, never shorter than one.
                assert!(c.period_end_day(start, 3) > end);
                // The due instant is the last millisecond of the end day, in the zone.
                let received = start.to_zoned_datetime(c.tz.clone()).unwrap().timestamp().as_millisecond() + 3_600_000;
                let due = c.due(Timestamp(received));
                assert_eq!(c.day_of(due), end, "{tz} {start}");
                assert_ne!(c.day_of(Timestamp(due.0 + 1)), end, "{tz} {start}");
            }
        }
    }
}
