//! Amounts and dates as the portal prints them, per language:
//! en "€12.00", "30 November 2026"; fr "12,00 €", "30 novembre 2026".
//!
//! Amounts go through [`abo_core::Money::format`] (the same as invoices); dates are shown in
//! the segment's time zone, since that is where periods are laid out.

use abo_core::{Currency, Locale, Money};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// An amount of minor units of `currency` ("€12.00" / "12,00 €"); an unknown currency code
/// prints as "12.00 XXX".
pub fn money(minor: i64, currency: &str, locale: Locale) -> String {
    match currency.parse::<Currency>() {
        Ok(c) => Money::new(minor, c).format(locale),
        Err(_) => format!("{}.{:02} {currency}", minor / 100, (minor % 100).abs()),
    }
}

/// A civil date ("30 November 2026" / "30 novembre 2026", "1er décembre 2026"): the
/// same words as on invoices and in e-mails.
pub fn date(d: Date, locale: Locale) -> String {
    abo_pdf::format_date(d, locale)
}

/// A month and year, for card expiries ("December 2028" / "décembre 2028").
pub fn month_year(d: Date, locale: Locale) -> String {
    abo_pdf::format_month_year(d, locale)
}

/// The local date of an instant (epoch microseconds) in `tz`.
pub fn local_date(us: i64, tz: &TimeZone) -> Option<Date> {
    let ts = Timestamp::from_microsecond(us).ok()?;
    Some(ts.to_zoned(tz.clone()).date())
}

/// An instant (epoch microseconds) as a local date in `tz`.
pub fn instant(us: i64, tz: &TimeZone, locale: Locale) -> String {
    local_date(us, tz)
        .map(|d| date(d, locale))
        .unwrap_or_default()
}

/// The time zone of a segment, UTC when unknown.
pub fn time_zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date as d;

    #[test]
    fn brief_examples() {
        assert_eq!(money(1200, "EUR", Locale::En), "€12.00");
        assert_eq!(money(1200, "EUR", Locale::Fr), "12,00\u{a0}€");
        assert_eq!(date(d(2026, 11, 30), Locale::En), "30 November 2026");
        assert_eq!(date(d(2026, 11, 30), Locale::Fr), "30 novembre 2026");
        assert_eq!(date(d(2026, 12, 1), Locale::Fr), "1er décembre 2026");
    }

    #[test]
    fn instants_use_the_segment_time_zone() {
        // 2026-11-30T23:30:00Z is already December 1st in Paris.
        let us = 1_796_081_400_000_000;
        let paris = time_zone("Europe/Paris");
        assert_eq!(instant(us, &paris, Locale::En), "1 December 2026");
        assert_eq!(instant(us, &TimeZone::UTC, Locale::En), "30 November 2026");
    }
}
