//! Dates, times, durations and sizes as people read them: in the viewer's time zone and the
//! conventions of their language (`29 Nov 2026, 14:05` / `29.11.2026 klo 14.05`).

use jiff::tz::TimeZone;
use suoja_core::Timestamp;

use super::i18n::Lang;

const MONTHS_EN: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// A time zone by IANA name, UTC when unknown.
pub fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
}

fn zoned(t: Timestamp, tz: &TimeZone) -> Option<jiff::ZonedDateTime> {
    jiff::Timestamp::from_millisecond(t.0).ok().map(|ts| ts.to_zoned_datetime(tz.clone()))
}

fn month_en(z: &jiff::ZonedDateTime) -> &'static str {
    let month = usize::try_from(z.month()).unwrap_or(1).saturating_sub(1);
    MONTHS_EN.get(month).copied().unwrap_or("")
}

/// Date and time of `t` in `tz`.
pub fn datetime(t: Timestamp, tz: &TimeZone, lang: Lang) -> String {
    let Some(z) = zoned(t, tz) else { return String::new() };
    match lang {
        Lang::En => format!("{} {} {}, {:02}:{:02}", z.day(), month_en(&z), z.year(), z.hour(), z.minute()),
        Lang::Fi => format!("{}.{}.{} klo {:02}.{:02}", z.day(), z.month(), z.year(), z.hour(), z.minute()),
    }
}

/// A `datetime-local` field's value (`2026-12-04T13:50`) read in `tz`; `None` when it is not one.
pub fn parse_local(s: &str, tz: &TimeZone) -> Option<Timestamp> {
    let dt: jiff::civil::DateTime = s.trim().parse().ok()?;
    let z = dt.to_zoned_datetime(tz.clone()).ok()?;
    Some(Timestamp(z.timestamp().as_millisecond()))
}

/// `t` as a `datetime-local` field's value in `tz`.
pub fn local_input(t: Timestamp, tz: &TimeZone) -> String {
    let Some(z) = zoned(t, tz) else { return String::new() };
    format!("{:04}-{:02}-{:02}T{:02}:{:02}", z.year(), z.month(), z.day(), z.hour(), z.minute())
}

/// Date of `t` in `tz`.
pub fn date(t: Timestamp, tz: &TimeZone, lang: Lang) -> String {
    let Some(z) = zoned(t, tz) else { return String::new() };
    match lang {
        Lang::En => format!("{} {} {}", z.day(), month_en(&z), z.year()),
        Lang::Fi => format!("{}.{}.{}", z.day(), z.month(), z.year()),
    }
}

/// Time left until `due` from `now` ("3 days left", "overdue by 5 hours"), and whether overdue.
pub fn time_left(due: Timestamp, now: Timestamp, lang: Lang) -> (String, bool) {
    time_left_in(due, now, lang, 2 * 86_400_000)
}

/// As [`time_left`], in hours up to `days_from` (a 72-hour clock reads in hours).
pub fn time_left_in(due: Timestamp, now: Timestamp, lang: Lang, days_from: i64) -> (String, bool) {
    let ms = due.0 - now.0;
    let overdue = ms < 0;
    let abs = ms.unsigned_abs();
    let (n, unit) = if abs >= days_from.unsigned_abs() {
        (abs / 86_400_000, "days")
    } else if abs >= 2 * 3_600_000 {
        (abs / 3_600_000, "hours")
    } else {
        ((abs / 60_000).max(1), "minutes")
    };
    let key = match (overdue, unit) {
        (false, "days") => "time.days_left",
        (false, "hours") => "time.hours_left",
        (false, _) => "time.minutes_left",
        (true, "days") => "time.overdue_days",
        (true, "hours") => "time.overdue_hours",
        (true, _) => "time.overdue_minutes",
    };
    (lang.t(key).replace("{n}", &n.to_string()), overdue)
}

/// A byte count ("12 KB").
pub fn size(bytes: i64) -> String {
    match bytes {
        b if b >= 1024 * 1024 => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
        b if b >= 1024 => format!("{} KB", b / 1024),
        b => format!("{b} B"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_follow_zone_and_language() {
        let t = Timestamp(1_795_918_400_000); // 2026-11-29T02:13:20Z
        assert_eq!(datetime(t, &TimeZone::UTC, Lang::En), "29 Nov 2026, 02:13");
        assert_eq!(datetime(t, &zone("Europe/Helsinki"), Lang::Fi), "29.11.2026 klo 04.13");
        assert_eq!(datetime(t, &zone("No/Such_Zone"), Lang::En), "29 Nov 2026, 02:13");
        assert_eq!(date(t, &zone("America/Los_Angeles"), Lang::En), "28 Nov 2026");
    }

    #[test]
    fn local_times_read_in_the_viewers_zone() {
        let tz = zone("Europe/Helsinki");
        let t = parse_local("2026-12-04T13:50", &tz).unwrap();
        assert_eq!(t.to_iso(), "2026-12-04T11:50:00Z");
        assert_eq!(local_input(t, &tz), "2026-12-04T13:50");
        assert_eq!(parse_local("tomorrow", &tz), None);
    }

    #[test]
    fn a_72_hour_clock_reads_in_hours() {
        let now = Timestamp(0);
        assert_eq!(
            time_left_in(Timestamp(71 * 3_600_000 + 59 * 60_000), now, Lang::En, 4 * 86_400_000).0,
            "71 hours left"
        );
        assert_eq!(
            time_left_in(Timestamp(-26 * 3_600_000), now, Lang::Fi, 4 * 86_400_000),
            ("myöhässä 26 tuntia".to_string(), true)
        );
    }

    #[test]
    fn time_left_reads_naturally() {
        let now = Timestamp(0);
        assert_eq!(time_left(Timestamp(3 * 86_400_000 + 5), now, Lang::En), ("3 days left".into(), false));
        assert_eq!(time_left(Timestamp(-5 * 3_600_000), now, Lang::En), ("overdue by 5 hours".into(), true));
        assert_eq!(time_left(Timestamp(3 * 86_400_000), now, Lang::Fi).0, "3 päivää jäljellä");
    }
}
