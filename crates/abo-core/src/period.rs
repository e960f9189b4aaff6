//! Billing periods and calendar arithmetic.
//!
//! billing-rules, Time:
//! - a period is half-open, `[start, end)`, of local calendar dates;
//! - month and year arithmetic keeps the anchor day and clamps to the end of
//!   shorter months, then returns to the anchor (31 → Jan 31, Feb 28, Mar 31,
//!   Apr 30): every period start is computed from the anchor, never chained
//!   from the previous one, so nothing drifts to the 28th;
//! - days are counted as calendar dates in the segment's time zone, never as
//!   24-hour durations, so DST cannot move a renewal or change a day count.

use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};
use serde::{Deserialize, Serialize};

use crate::error::CoreError;
use crate::proration::Fraction;

string_enum! {
    /// The unit of a recurrence or a trial (`UnitRecurrence`, `UnitTrial`).
    pub enum PeriodUnit {
        Day,
        Week,
        Month,
        Year,
    }
}

/// How often an offer renews: `count` × `unit` (`DurationRecurrence`,
/// `UnitRecurrence`). A `count` of 0 is rejected by every operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Recurrence {
    pub unit: PeriodUnit,
    pub count: u32,
}

/// A half-open range of local dates, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Period {
    pub start: Date,
    pub end: Date,
}

impl Period {
    /// A period; `end` must be after `start` (periods are never empty).
    pub fn new(start: Date, end: Date) -> Result<Period, CoreError> {
        if end > start {
            Ok(Period { start, end })
        } else {
            Err(CoreError::InvalidPeriod { start, end })
        }
    }

    /// Number of calendar days in the period (`end` excluded).
    pub fn days(&self) -> i64 {
        days_between(self.start, self.end)
    }

    /// Whether `date` is in `[start, end)`.
    pub fn contains(&self, date: Date) -> bool {
        self.start <= date && date < self.end
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {})", self.start, self.end)
    }
}

/// Calendar days from `from` to `to` (negative when `to` is earlier). Civil
/// dates have no time zone, so a civil day is always exactly 24 hours here.
pub(crate) fn days_between(from: Date, to: Date) -> i64 {
    from.duration_until(to).as_hours() / 24
}

impl Recurrence {
    /// A recurrence of `count` units; `count` must be at least 1.
    pub fn new(unit: PeriodUnit, count: u32) -> Result<Recurrence, CoreError> {
        let recurrence = Recurrence { unit, count };
        recurrence.check()?;
        Ok(recurrence)
    }

    pub const fn monthly() -> Recurrence {
        Recurrence {
            unit: PeriodUnit::Month,
            count: 1,
        }
    }

    pub const fn yearly() -> Recurrence {
        Recurrence {
            unit: PeriodUnit::Year,
            count: 1,
        }
    }

    fn check(self) -> Result<(), CoreError> {
        if self.count == 0 {
            Err(CoreError::InvalidRecurrence(format!(
                "a recurrence of 0 {} never ends",
                self.unit
            )))
        } else {
            Ok(())
        }
    }

    /// The start of period `n` (0 is the anchor itself), computed from the
    /// anchor in one step so that the anchor day survives short months.
    pub fn nth_period_start(self, anchor: Date, n: u32) -> Result<Date, CoreError> {
        self.check()?;
        self.start_at(anchor, i64::from(n))
    }

    /// Period `n`: `[start(n), start(n + 1))`.
    pub fn nth_period(self, anchor: Date, n: u32) -> Result<Period, CoreError> {
        self.check()?;
        let n = i64::from(n);
        Period::new(self.start_at(anchor, n)?, self.start_at(anchor, n + 1)?)
    }

    /// The period, laid out from `anchor`, that contains `date`.
    pub fn period_containing(self, anchor: Date, date: Date) -> Result<Period, CoreError> {
        let n = self.index_of(anchor, date)?;
        Period::new(self.start_at(anchor, n)?, self.start_at(anchor, n + 1)?)
    }

    /// The number of the period that contains `date` (0 for the first).
    pub fn period_index(self, anchor: Date, date: Date) -> Result<u32, CoreError> {
        let n = self.index_of(anchor, date)?;
        u32::try_from(n).map_err(|_| CoreError::Overflow("period index"))
    }

    fn index_of(self, anchor: Date, date: Date) -> Result<i64, CoreError> {
        self.check()?;
        if date < anchor {
            return Err(CoreError::BeforeAnchor { date, anchor });
        }
        let count = i64::from(self.count);
        // A close estimate from the calendar, then at most a step or two of
        // correction: clamping can only pull a start back by a few days.
        let mut n = match self.unit {
            PeriodUnit::Day => days_between(anchor, date) / count,
            PeriodUnit::Week => days_between(anchor, date) / (7 * count),
            PeriodUnit::Month => (month_index(date) - month_index(anchor)) / count,
            PeriodUnit::Year => i64::from(date.year() - anchor.year()) / count,
        };
        while n > 0 && self.start_at(anchor, n)? > date {
            n -= 1;
        }
        while self.start_at(anchor, n + 1)? <= date {
            n += 1;
        }
        Ok(n)
    }

    fn start_at(self, anchor: Date, n: i64) -> Result<Date, CoreError> {
        let steps = n
            .checked_mul(i64::from(self.count))
            .ok_or(CoreError::Overflow("recurrence steps"))?;
        match self.unit {
            PeriodUnit::Day => add_days(anchor, steps),
            PeriodUnit::Week => add_days(
                anchor,
                steps
                    .checked_mul(7)
                    .ok_or(CoreError::Overflow("recurrence steps"))?,
            ),
            PeriodUnit::Month => shift_months(anchor, steps, anchor.day()),
            PeriodUnit::Year => shift_months(
                anchor,
                steps
                    .checked_mul(12)
                    .ok_or(CoreError::Overflow("recurrence steps"))?,
                anchor.day(),
            ),
        }
    }

    /// Months in one period, for Month and Year recurrences.
    fn months(self) -> Option<i64> {
        match self.unit {
            PeriodUnit::Month => Some(i64::from(self.count)),
            PeriodUnit::Year => Some(i64::from(self.count) * 12),
            PeriodUnit::Day | PeriodUnit::Week => None,
        }
    }
}

/// "1 Month", "14 Day": the count, a space, the ProAbono unit name.
impl fmt::Display for Recurrence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.count, self.unit)
    }
}

/// Parses "1 Month", "3 months", "14 Day" (count first; the unit ignores
/// case and a plural "s"), as written in catalogue files.
impl FromStr for Recurrence {
    type Err = CoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || {
            CoreError::InvalidRecurrence(format!(
                "'{s}' is not a count and a unit such as '1 Month'"
            ))
        };
        let mut words = s.split_whitespace();
        let (Some(count), Some(unit), None) = (words.next(), words.next(), words.next()) else {
            return Err(invalid());
        };
        let count: u32 = count.parse().map_err(|_| invalid())?;
        let unit = unit
            .parse::<PeriodUnit>()
            .or_else(|_| unit.strip_suffix(['s', 'S']).unwrap_or(unit).parse())
            .map_err(|_| invalid())?;
        Recurrence::new(unit, count)
    }
}

fn add_days(date: Date, days: i64) -> Result<Date, CoreError> {
    let span = Span::new().try_days(days)?;
    Ok(date.checked_add(span)?)
}

/// Months since year 0, so month differences are plain subtraction.
fn month_index(date: Date) -> i64 {
    i64::from(date.year()) * 12 + i64::from(date.month()) - 1
}

/// The date `months` months from `base`'s month, on `day` clamped to the
/// length of the target month.
fn shift_months(base: Date, months: i64, day: i8) -> Result<Date, CoreError> {
    let target = month_index(base)
        .checked_add(months)
        .ok_or(CoreError::Overflow("month arithmetic"))?;
    let year = i16::try_from(target.div_euclid(12))
        .map_err(|_| CoreError::Calendar(format!("year of month index {target} out of range")))?;
    let month = (target.rem_euclid(12) + 1) as i8;
    let first = Date::new(year, month, 1)?;
    Ok(Date::new(year, month, day.min(first.days_in_month()))?)
}

/// The schedule of a subscription billed on a fixed day of the month
/// (billing-rules: "explicit billing anchor day", calendar billing).
///
/// The first period is a stub from the start date to the first anchor date,
/// charged `stub days / days in the full period that ends on that anchor`;
/// full periods follow from the anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarBilling {
    /// `[start, first_anchor)`, or `None` when the start is on an anchor date.
    pub stub: Option<Period>,
    /// The full period that ends on `first_anchor` (the stub's reference).
    pub reference_period: Period,
    /// Stub days / reference period days; `None` when there is no stub.
    pub stub_fraction: Option<Fraction>,
    /// The first anchor date on or after the start; full periods start here.
    pub first_anchor: Date,
    /// The date to lay full periods out from with
    /// [`Recurrence::period_containing`]: an anchor date on or before
    /// `first_anchor` whose day is the anchor day itself, so that clamping in
    /// a short month (31 → Feb 28) does not stick to later periods.
    pub schedule_anchor: Date,
}

/// Lays out calendar billing for a subscription starting on `start`, billed
/// on day `anchor_day` (1–31, clamped in short months) every `recurrence`
/// (Month or Year units only: a day of the month means nothing to a
/// daily or weekly recurrence).
pub fn calendar_billing(
    start: Date,
    anchor_day: u8,
    recurrence: Recurrence,
) -> Result<CalendarBilling, CoreError> {
    recurrence.check()?;
    let months = recurrence.months().ok_or_else(|| {
        CoreError::InvalidRecurrence(format!(
            "calendar billing needs a Month or Year recurrence, not {}",
            recurrence.unit
        ))
    })?;
    if !(1..=31).contains(&anchor_day) {
        return Err(CoreError::Invalid {
            what: "billing anchor day",
            reason: format!("{anchor_day} is not a day of the month (1-31)"),
        });
    }
    let day = anchor_day as i8;

    let this_month = shift_months(start, 0, day)?;
    let first_anchor = if this_month >= start {
        this_month
    } else {
        shift_months(start, 1, day)?
    };
    let reference_period = Period::new(shift_months(first_anchor, -months, day)?, first_anchor)?;

    let (stub, stub_fraction) = if first_anchor == start {
        (None, None)
    } else {
        let stub = Period::new(start, first_anchor)?;
        let fraction = Fraction::new(stub.days(), reference_period.days())?;
        (Some(stub), Some(fraction))
    };

    // Walk back whole periods to find a date that carries the anchor day
    // unclamped; 48 steps covers the leap-year cycle of a Feb 29 anchor.
    // Where none exists (a yearly anchor on April 31st), every period falls
    // in a month that clamps the same way, so the first anchor itself is fine.
    let mut schedule_anchor = first_anchor;
    for k in 0..=48 {
        let candidate = shift_months(first_anchor, -k * months, day)?;
        if candidate.day() == day {
            schedule_anchor = candidate;
            break;
        }
    }

    Ok(CalendarBilling {
        stub,
        reference_period,
        stub_fraction,
        first_anchor,
        schedule_anchor,
    })
}

/// The instant at which `date` begins in `tz`. When local midnight does not
/// exist (a DST gap at midnight, as in America/Santiago), the day begins at
/// the first instant after the gap (jiff's "compatible" disambiguation).
pub fn local_midnight(date: Date, tz: &TimeZone) -> Result<Timestamp, CoreError> {
    local_instant(date.to_datetime(Time::midnight()), tz)
}

/// The instant of a local date and time in `tz`: a time in a DST gap moves
/// forward by the gap (Paris 2026-03-29 02:30 → 03:30+02:00), a time in a
/// fold takes its first occurrence.
pub fn local_instant(datetime: DateTime, tz: &TimeZone) -> Result<Timestamp, CoreError> {
    Ok(tz.to_timestamp(datetime)?)
}

/// The local calendar date of an instant in `tz`.
pub fn local_date(ts: Timestamp, tz: &TimeZone) -> Date {
    tz.to_datetime(ts).date()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn monthly() -> Recurrence {
        Recurrence::monthly()
    }

    #[test]
    fn unit_names() {
        assert_eq!("Month".parse::<PeriodUnit>().unwrap(), PeriodUnit::Month);
        assert_eq!("year".parse::<PeriodUnit>().unwrap(), PeriodUnit::Year);
        assert_eq!(PeriodUnit::Week.to_string(), "Week");
        assert!("Hour".parse::<PeriodUnit>().is_err());
        assert_eq!(serde_json::to_string(&PeriodUnit::Day).unwrap(), "\"Day\"");
    }

    #[test]
    fn recurrence_text() {
        assert_eq!(Recurrence::monthly().to_string(), "1 Month");
        assert_eq!(
            "1 Month".parse::<Recurrence>().unwrap(),
            Recurrence::monthly()
        );
        assert_eq!(
            " 3  months ".parse::<Recurrence>().unwrap(),
            Recurrence::new(PeriodUnit::Month, 3).unwrap()
        );
        assert_eq!(
            "14 Day".parse::<Recurrence>().unwrap(),
            Recurrence::new(PeriodUnit::Day, 14).unwrap()
        );
        for bad in [
            "Month",
            "0 Month",
            "1 Fortnight",
            "-1 Day",
            "1 Month extra",
            "",
        ] {
            assert!(bad.parse::<Recurrence>().is_err(), "{bad}");
        }
    }

    #[test]
    fn anchor_31_clamps_and_returns() {
        let anchor = date(2026, 1, 31);
        let starts: Vec<_> = (0..5)
            .map(|n| monthly().nth_period_start(anchor, n).unwrap())
            .collect();
        assert_eq!(
            starts,
            [
                date(2026, 1, 31),
                date(2026, 2, 28),
                date(2026, 3, 31),
                date(2026, 4, 30),
                date(2026, 5, 31)
            ]
        );
        // In a leap year February gets its 29th.
        assert_eq!(
            monthly().nth_period_start(date(2028, 1, 31), 1).unwrap(),
            date(2028, 2, 29)
        );
    }

    #[test]
    fn feb_29_yearly_anchor() {
        let y = Recurrence::yearly();
        let anchor = date(2024, 2, 29);
        assert_eq!(y.nth_period_start(anchor, 1).unwrap(), date(2025, 2, 28));
        assert_eq!(y.nth_period_start(anchor, 4).unwrap(), date(2028, 2, 29));
    }

    #[test]
    fn days_and_weeks() {
        let anchor = date(2026, 3, 1);
        let every_10_days = Recurrence::new(PeriodUnit::Day, 10).unwrap();
        assert_eq!(
            every_10_days.nth_period(anchor, 2).unwrap(),
            Period::new(date(2026, 3, 21), date(2026, 3, 31)).unwrap()
        );
        let fortnightly = Recurrence::new(PeriodUnit::Week, 2).unwrap();
        assert_eq!(
            fortnightly
                .period_containing(anchor, date(2026, 3, 20))
                .unwrap(),
            Period::new(date(2026, 3, 15), date(2026, 3, 29)).unwrap()
        );
    }

    #[test]
    fn period_containing_the_worked_example() {
        // Monthly from Jan 10; on Mar 25 the period is Mar 10 to Apr 10.
        let p = monthly()
            .period_containing(date(2026, 1, 10), date(2026, 3, 25))
            .unwrap();
        assert_eq!(
            p,
            Period::new(date(2026, 3, 10), date(2026, 4, 10)).unwrap()
        );
        assert_eq!(p.days(), 31);
        assert_eq!(
            monthly()
                .period_index(date(2026, 1, 10), date(2026, 3, 25))
                .unwrap(),
            2
        );
    }

    #[test]
    fn period_containing_is_half_open() {
        let anchor = date(2026, 1, 31);
        // Feb 28 starts period 1; Feb 27 is still in period 0.
        assert_eq!(
            monthly()
                .period_containing(anchor, date(2026, 2, 27))
                .unwrap()
                .start,
            anchor
        );
        assert_eq!(
            monthly()
                .period_containing(anchor, date(2026, 2, 28))
                .unwrap(),
            Period::new(date(2026, 2, 28), date(2026, 3, 31)).unwrap()
        );
        assert!(matches!(
            monthly().period_containing(anchor, date(2026, 1, 30)),
            Err(CoreError::BeforeAnchor { .. })
        ));
    }

    #[test]
    fn zero_count_is_rejected() {
        assert!(Recurrence::new(PeriodUnit::Month, 0).is_err());
        let zero = Recurrence {
            unit: PeriodUnit::Day,
            count: 0,
        };
        assert!(zero.nth_period_start(date(2026, 1, 1), 3).is_err());
        assert!(
            zero.period_containing(date(2026, 1, 1), date(2026, 2, 1))
                .is_err()
        );
    }

    #[test]
    fn out_of_range_is_an_error_not_a_panic() {
        assert!(
            Recurrence::yearly()
                .nth_period_start(date(2026, 1, 1), u32::MAX)
                .is_err()
        );
        assert!(
            Recurrence::new(PeriodUnit::Day, u32::MAX)
                .unwrap()
                .nth_period_start(date(2026, 1, 1), u32::MAX)
                .is_err()
        );
    }

    #[test]
    fn period_basics() {
        let p = Period::new(date(2026, 3, 1), date(2026, 4, 1)).unwrap();
        assert_eq!(p.days(), 31);
        assert!(p.contains(date(2026, 3, 1)));
        assert!(p.contains(date(2026, 3, 31)));
        assert!(!p.contains(date(2026, 4, 1)));
        assert!(!p.contains(date(2026, 2, 28)));
        assert!(Period::new(date(2026, 3, 1), date(2026, 3, 1)).is_err());
        assert_eq!(p.to_string(), "[2026-03-01, 2026-04-01)");
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, r#"{"start":"2026-03-01","end":"2026-04-01"}"#);
    }

    #[test]
    fn calendar_billing_stub_on_the_first() {
        let cb = calendar_billing(date(2026, 1, 15), 1, monthly()).unwrap();
        assert_eq!(cb.first_anchor, date(2026, 2, 1));
        assert_eq!(
            cb.stub,
            Some(Period::new(date(2026, 1, 15), date(2026, 2, 1)).unwrap())
        );
        assert_eq!(
            cb.reference_period,
            Period::new(date(2026, 1, 1), date(2026, 2, 1)).unwrap()
        );
        assert_eq!(cb.stub_fraction, Some(Fraction::new(17, 31).unwrap()));
        assert_eq!(cb.schedule_anchor, date(2026, 2, 1));
        assert_eq!(
            monthly()
                .period_containing(cb.schedule_anchor, date(2026, 2, 10))
                .unwrap(),
            Period::new(date(2026, 2, 1), date(2026, 3, 1)).unwrap()
        );
    }

    #[test]
    fn calendar_billing_on_an_anchor_has_no_stub() {
        let cb = calendar_billing(date(2026, 3, 1), 1, monthly()).unwrap();
        assert_eq!(cb.stub, None);
        assert_eq!(cb.stub_fraction, None);
        assert_eq!(cb.first_anchor, date(2026, 3, 1));
    }

    #[test]
    fn calendar_billing_day_31_keeps_its_day() {
        // Start Feb 10, billed on the 31st: first anchor Feb 28 (clamped),
        // the reference period Jan 31 to Feb 28, and later periods return to
        // the 31st.
        let cb = calendar_billing(date(2026, 2, 10), 31, monthly()).unwrap();
        assert_eq!(cb.first_anchor, date(2026, 2, 28));
        assert_eq!(
            cb.reference_period,
            Period::new(date(2026, 1, 31), date(2026, 2, 28)).unwrap()
        );
        assert_eq!(cb.stub_fraction, Some(Fraction::new(18, 28).unwrap()));
        assert_eq!(cb.schedule_anchor, date(2026, 1, 31));
        let next = monthly()
            .period_containing(cb.schedule_anchor, cb.first_anchor)
            .unwrap();
        assert_eq!(
            next,
            Period::new(date(2026, 2, 28), date(2026, 3, 31)).unwrap()
        );
    }

    #[test]
    fn calendar_billing_later_in_the_month() {
        // Start on the 20th, billed on the 5th: the anchor is next month.
        let cb = calendar_billing(date(2026, 4, 20), 5, monthly()).unwrap();
        assert_eq!(cb.first_anchor, date(2026, 5, 5));
        assert_eq!(cb.stub.unwrap().days(), 15);
        assert_eq!(cb.reference_period.days(), 30);
    }

    #[test]
    fn calendar_billing_rejects_bad_input() {
        assert!(calendar_billing(date(2026, 1, 1), 0, monthly()).is_err());
        assert!(calendar_billing(date(2026, 1, 1), 32, monthly()).is_err());
        let weekly = Recurrence::new(PeriodUnit::Week, 1).unwrap();
        assert!(matches!(
            calendar_billing(date(2026, 1, 1), 1, weekly),
            Err(CoreError::InvalidRecurrence(_))
        ));
    }

    #[test]
    fn march_in_paris_still_has_31_days() {
        let tz = TimeZone::get("Europe/Paris").unwrap();
        let p = Period::new(date(2026, 3, 1), date(2026, 4, 1)).unwrap();
        assert_eq!(p.days(), 31);
        // The instants are 31 days minus the hour lost on March 29 apart, yet
        // the period counts calendar dates.
        let start = local_midnight(p.start, &tz).unwrap();
        let end = local_midnight(p.end, &tz).unwrap();
        assert_eq!(start.duration_until(end).as_hours(), 31 * 24 - 1);
        assert_eq!(local_date(start, &tz), p.start);
        assert_eq!(local_date(end, &tz), p.end);
    }

    #[test]
    fn paris_gap_resolves_forward() {
        let tz = TimeZone::get("Europe/Paris").unwrap();
        let ts = local_instant(date(2026, 3, 29).at(2, 30, 0, 0), &tz).unwrap();
        assert_eq!(ts.to_string(), "2026-03-29T01:30:00Z");
        let zoned = ts.to_zoned(tz.clone());
        assert_eq!(zoned.datetime(), date(2026, 3, 29).at(3, 30, 0, 0));
        assert_eq!(zoned.offset().seconds(), 2 * 3600);
        assert_eq!(local_date(ts, &tz), date(2026, 3, 29));
    }

    #[test]
    fn midnight_in_a_gap_resolves_forward() {
        // Chile springs forward at midnight: 2024-09-08 00:00 does not exist.
        let tz = TimeZone::get("America/Santiago").unwrap();
        let ts = local_midnight(date(2024, 9, 8), &tz).unwrap();
        let zoned = ts.to_zoned(tz.clone());
        assert_eq!(zoned.datetime(), date(2024, 9, 8).at(1, 0, 0, 0));
        assert_eq!(local_date(ts, &tz), date(2024, 9, 8));
    }

    #[test]
    fn local_date_depends_on_the_zone() {
        let ts: Timestamp = "2026-01-31T23:30:00Z".parse().unwrap();
        assert_eq!(local_date(ts, &TimeZone::UTC), date(2026, 1, 31));
        let paris = TimeZone::get("Europe/Paris").unwrap();
        assert_eq!(local_date(ts, &paris), date(2026, 2, 1));
    }
}
