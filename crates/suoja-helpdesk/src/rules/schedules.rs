//! Business-hours schedules (Zendesk's `business_hours/schedules`): a name, a time zone and the
//! week's opening intervals (minutes from Sunday 00:00, [`suoja_core::business_hours`]), with
//! named holidays of one or more days. The tenant's first schedule is the one SLA targets in
//! business hours are counted in. Staff read them; admins change them, and every change has
//! the open tickets' SLA clocks measured again.

use std::collections::BTreeSet;

use jiff::civil::Date;
use suoja_core::business_hours::BusinessHours;
use suoja_core::{Scope, TenantId};
use suoja_store::schedules::{HolidayRow, ScheduleRow};

use crate::{Helpdesk, HelpdeskError, Result};

/// The most schedules a tenant keeps.
pub const MAX_SCHEDULES: i64 = 50;
/// The most intervals a week holds.
pub const MAX_INTERVALS: usize = 100;
/// The most holidays a schedule keeps.
pub const MAX_HOLIDAYS: usize = 500;
/// The longest holiday, in days.
pub const MAX_HOLIDAY_DAYS: i64 = 366;

/// Zendesk's names of common time zones (as its clients send them), with their IANA names;
/// IANA names are taken as they are.
const ZONE_NAMES: &[(&str, &str)] = &[
    ("Pacific Time (US & Canada)", "America/Los_Angeles"),
    ("Mountain Time (US & Canada)", "America/Denver"),
    ("Central Time (US & Canada)", "America/Chicago"),
    ("Eastern Time (US & Canada)", "America/New_York"),
    ("London", "Europe/London"),
    ("Dublin", "Europe/Dublin"),
    ("Amsterdam", "Europe/Amsterdam"),
    ("Berlin", "Europe/Berlin"),
    ("Paris", "Europe/Paris"),
    ("Stockholm", "Europe/Stockholm"),
    ("Helsinki", "Europe/Helsinki"),
    ("Tokyo", "Asia/Tokyo"),
    ("Sydney", "Australia/Sydney"),
];

/// The IANA zone a schedule's time zone names.
pub fn iana(zone: &str) -> &str {
    ZONE_NAMES.iter().find(|(z, _)| *z == zone).map_or(zone, |(_, i)| i)
}

/// A schedule with its holidays.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The stored schedule.
    pub row: ScheduleRow,
    /// The week's intervals.
    pub intervals: Vec<(u32, u32)>,
}

impl Schedule {
    fn from_row(row: ScheduleRow) -> Schedule {
        let intervals = serde_json::from_str(&row.intervals).unwrap_or_default();
        Schedule { row, intervals }
    }
}

/// What a create or update gives (`None`: left as it is).
#[derive(Debug, Clone, Default)]
pub struct ScheduleInput {
    /// Name.
    pub name: Option<String>,
    /// Time zone.
    pub time_zone: Option<String>,
    /// The week's intervals.
    pub intervals: Option<Vec<(u32, u32)>>,
}

/// What a holiday's create or update gives.
#[derive(Debug, Clone, Default)]
pub struct HolidayInput {
    /// Name.
    pub name: Option<String>,
    /// First day.
    pub start_date: Option<String>,
    /// Last day.
    pub end_date: Option<String>,
}

fn check_name(field: &'static str, name: &str) -> Result<String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 255 || n.chars().any(char::is_control) {
        return Err(HelpdeskError::invalid(field, format!("{field}: one to 255 characters, on one line")));
    }
    Ok(n.to_string())
}

/// Checks a schedule's zone and week; returns the week as stored (sorted, touching intervals
/// joined). A week must be open some time: a closed one would never reach a target.
fn check_week(time_zone: &str, intervals: &[(u32, u32)]) -> Result<String> {
    if intervals.len() > MAX_INTERVALS {
        return Err(HelpdeskError::invalid("intervals", format!("intervals: at most {MAX_INTERVALS}")));
    }
    if intervals.is_empty() {
        return Err(HelpdeskError::invalid(
            "intervals",
            "intervals: a schedule is open some time each week (at least one interval)",
        ));
    }
    if jiff::tz::TimeZone::get(iana(time_zone)).is_err() {
        return Err(HelpdeskError::invalid(
            "time_zone",
            format!("time_zone: unknown time zone {time_zone:?}; give an IANA name such as Europe/Helsinki"),
        ));
    }
    let hours = BusinessHours::new(iana(time_zone), intervals, BTreeSet::new()).map_err(|m| HelpdeskError::invalid("intervals", format!("intervals: {m}")))?;
    serde_json::to_string(hours.intervals()).map_err(|e| HelpdeskError::Internal(e.to_string()))
}

fn parse_day(field: &'static str, s: &str) -> Result<Date> {
    s.trim()
        .parse::<Date>()
        .map_err(|_| HelpdeskError::invalid(field, format!("{field}: a date as YYYY-MM-DD, not {s:?}")))
}

/// The holidays as ranges of days.
fn holiday_ranges(holidays: &[HolidayRow]) -> Vec<(Date, Date)> {
    holidays
        .iter()
        .filter_map(|h| Some((h.start_date.parse::<Date>().ok()?, h.end_date.parse::<Date>().ok()?)))
        .collect()
}

/// A schedule's business hours with its holidays.
pub(crate) async fn hours_of(c: &mut suoja_store::Conn, tenant: TenantId, row: &ScheduleRow) -> Result<BusinessHours> {
    let s = Schedule::from_row(row.clone());
    let holidays = suoja_store::schedules::holidays(c, tenant, row.id).await?;
    BusinessHours::with_holiday_ranges(iana(&row.time_zone), &s.intervals, holiday_ranges(&holidays)).map_err(HelpdeskError::Internal)
}

fn admins_only(scope: &Scope) -> Result<()> {
    if !scope.is_admin() {
        return Err(HelpdeskError::Forbidden("only admins change schedules"));
    }
    Ok(())
}

impl Helpdesk {
    /// The tenant's schedules (staff), oldest first: the first is the one SLA targets use.
    pub async fn list_schedules(&self, scope: &Scope) -> Result<Vec<Schedule>> {
        crate::require_staff(scope)?;
        let mut c = self.db.read().await?;
        Ok(suoja_store::schedules::list(&mut c, scope.tenant)
            .await?
            .into_iter()
            .map(Schedule::from_row)
            .collect())
    }

    /// One schedule.
    pub async fn get_schedule(&self, scope: &Scope, id: i64) -> Result<Schedule> {
        crate::require_staff(scope)?;
        let mut c = self.db.read().await?;
        suoja_store::schedules::get(&mut c, scope.tenant, id)
            .await?
            .map(Schedule::from_row)
            .ok_or(HelpdeskError::NotFound("Schedule"))
    }

    /// Adds a schedule (admins).
    pub async fn create_schedule(&self, scope: &Scope, input: ScheduleInput) -> Result<Schedule> {
        admins_only(scope)?;
        let name = check_name("name", input.name.as_deref().unwrap_or(""))?;
        let time_zone = input.time_zone.unwrap_or_else(|| "UTC".into());
        let intervals = check_week(&time_zone, input.intervals.as_deref().unwrap_or(&[]))?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        if suoja_store::schedules::count(&mut tx, scope.tenant).await? >= MAX_SCHEDULES {
            return Err(HelpdeskError::Conflict(format!("at most {MAX_SCHEDULES} schedules; remove one first")));
        }
        let mut row = ScheduleRow {
            id: 0,
            name,
            time_zone,
            intervals,
            created_at: now,
            updated_at: now,
        };
        row.id = suoja_store::schedules::insert(&mut tx, scope.tenant, &row).await?;
        tx.commit().await?;
        self.remeasure_later(scope.tenant);
        Ok(Schedule::from_row(row))
    }

    /// Changes a schedule's name, zone or week (admins).
    pub async fn update_schedule(&self, scope: &Scope, id: i64, input: ScheduleInput) -> Result<Schedule> {
        admins_only(scope)?;
        let mut tx = self.db.begin().await?;
        let mut row = suoja_store::schedules::get(&mut tx, scope.tenant, id)
            .await?
            .ok_or(HelpdeskError::NotFound("Schedule"))?;
        if let Some(n) = &input.name {
            row.name = check_name("name", n)?;
        }
        if let Some(z) = input.time_zone {
            row.time_zone = z;
        }
        let week = match input.intervals {
            Some(w) => w,
            None => Schedule::from_row(row.clone()).intervals,
        };
        row.intervals = check_week(&row.time_zone, &week)?;
        row.updated_at = self.now();
        suoja_store::schedules::update(&mut tx, scope.tenant, &row).await?;
        tx.commit().await?;
        self.remeasure_later(scope.tenant);
        Ok(Schedule::from_row(row))
    }

    /// Removes a schedule and its holidays (admins).
    pub async fn delete_schedule(&self, scope: &Scope, id: i64) -> Result<()> {
        admins_only(scope)?;
        let mut tx = self.db.begin().await?;
        if !suoja_store::schedules::delete(&mut tx, scope.tenant, id).await? {
            return Err(HelpdeskError::NotFound("Schedule"));
        }
        tx.commit().await?;
        self.remeasure_later(scope.tenant);
        Ok(())
    }

    /// A schedule's holidays (staff), by first day.
    pub async fn list_holidays(&self, scope: &Scope, schedule: i64) -> Result<Vec<HolidayRow>> {
        self.get_schedule(scope, schedule).await?;
        let mut c = self.db.read().await?;
        Ok(suoja_store::schedules::holidays(&mut c, scope.tenant, schedule).await?)
    }

    /// One holiday.
    pub async fn get_holiday(&self, scope: &Scope, schedule: i64, id: i64) -> Result<HolidayRow> {
        self.list_holidays(scope, schedule)
            .await?
            .into_iter()
            .find(|h| h.id == id)
            .ok_or(HelpdeskError::NotFound("Holiday"))
    }

    /// Adds a holiday to a schedule, or changes one (`id`), admins; one to 366 days.
    pub async fn put_holiday(&self, scope: &Scope, schedule: i64, id: Option<i64>, input: HolidayInput) -> Result<HolidayRow> {
        admins_only(scope)?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        if suoja_store::schedules::get(&mut tx, scope.tenant, schedule).await?.is_none() {
            return Err(HelpdeskError::NotFound("Schedule"));
        }
        let existing = suoja_store::schedules::holidays(&mut tx, scope.tenant, schedule).await?;
        let mut row = match id {
            Some(id) => existing.iter().find(|h| h.id == id).cloned().ok_or(HelpdeskError::NotFound("Holiday"))?,
            None => {
                if existing.len() >= MAX_HOLIDAYS {
                    return Err(HelpdeskError::Conflict(format!("at most {MAX_HOLIDAYS} holidays a schedule; remove one first")));
                }
                HolidayRow {
                    id: 0,
                    schedule_id: schedule,
                    name: String::new(),
                    start_date: String::new(),
                    end_date: String::new(),
                    created_at: now,
                    updated_at: now,
                }
            }
        };
        if let Some(n) = &input.name {
            row.name = check_name("name", n)?;
        } else if row.name.is_empty() {
            row.name = check_name("name", "")?;
        }
        let start = parse_day("start_date", input.start_date.as_deref().unwrap_or(&row.start_date))?;
        let end = parse_day("end_date", input.end_date.as_deref().unwrap_or(&row.end_date))?;
        let days = start.until(end).map(|s| i64::from(s.get_days())).unwrap_or(-1);
        if !(0..MAX_HOLIDAY_DAYS).contains(&days) {
            return Err(HelpdeskError::invalid(
                "end_date",
                format!("end_date: on or after start_date, a holiday of at most {MAX_HOLIDAY_DAYS} days"),
            ));
        }
        row.start_date = start.to_string();
        row.end_date = end.to_string();
        row.updated_at = now;
        if row.id == 0 {
            row.id = suoja_store::schedules::insert_holiday(&mut tx, scope.tenant, &row).await?;
        } else {
            suoja_store::schedules::update_holiday(&mut tx, scope.tenant, &row).await?;
        }
        tx.commit().await?;
        self.remeasure_later(scope.tenant);
        Ok(row)
    }

    /// Removes a holiday (admins).
    pub async fn delete_holiday(&self, scope: &Scope, schedule: i64, id: i64) -> Result<()> {
        admins_only(scope)?;
        let mut tx = self.db.begin().await?;
        if !suoja_store::schedules::delete_holiday(&mut tx, scope.tenant, schedule, id).await? {
            return Err(HelpdeskError::NotFound("Holiday"));
        }
        tx.commit().await?;
        self.remeasure_later(scope.tenant);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use suoja_core::business_hours::WEEK_MINUTES;

    #[test]
    fn weeks_and_zones_are_checked() {
        assert!(check_week("Europe/Helsinki", &[(1980, 2460)]).is_ok());
        assert!(check_week("Pacific Time (US & Canada)", &[(1980, 2460)]).is_ok());
        assert!(check_week("Mars/Olympus", &[(0, 60)]).unwrap_err().to_string().contains("time_zone"));
        assert!(check_week("UTC", &[(0, 100), (50, 200)]).unwrap_err().to_string().contains("overlap"));
        assert!(check_week("UTC", &[(100, 100)]).is_err());
        assert!(check_week("UTC", &[(0, WEEK_MINUTES + 1)]).is_err());
        assert!(check_week("UTC", &[]).unwrap_err().to_string().contains("at least one interval"));
        assert_eq!(check_week("UTC", &[(300, 400), (0, 60)]).unwrap(), "[[0,60],[300,400]]");
        assert_eq!(check_week("UTC", &[(60, 120), (0, 60)]).unwrap(), "[[0,120]]", "touching intervals are joined");
    }

    #[test]
    fn holidays_are_kept_as_ranges_of_days() {
        let h = |s: &str, e: &str| HolidayRow {
            id: 1,
            schedule_id: 1,
            name: "x".into(),
            start_date: s.into(),
            end_date: e.into(),
            created_at: suoja_core::Timestamp(0),
            updated_at: suoja_core::Timestamp(0),
        };
        let d = |s: &str| s.parse::<Date>().unwrap();
        let ranges = holiday_ranges(&[h("2026-12-24", "2026-12-26"), h("2027-01-01", "2027-01-01"), h("bad", "2027-01-01")]);
        assert_eq!(ranges, vec![(d("2026-12-24"), d("2026-12-26")), (d("2027-01-01"), d("2027-01-01"))]);
    }
}
