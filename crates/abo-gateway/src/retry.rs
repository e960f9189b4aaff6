//! Dunning dates as pure functions (billing-rules, Collection).
//!
//! * A failed automatic payment is retried 3, 5 and 7 days after the
//!   previous attempt; when the last retry fails the invoice becomes
//!   `ProblemAuto` (the customer gets a link to pay or update the method and
//!   `InvoiceDebitPaymentAutoFailed` fires). That decision is the service's;
//!   [`next_retry`] only answers "when, if ever, is the next attempt".
//! * Cards expiring soon are notified 30 and 7 days before the end of their
//!   expiry month: [`card_expiry_notices`].

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp, ToSpan};

use crate::card_dummy::CardExpiry;
use crate::error::GatewayError;

/// Days between a failed attempt and the next one, one entry per retry.
pub const DEFAULT_RETRY_DELAYS_DAYS: [u32; 3] = [3, 5, 7];

/// Days before the end of the expiry month when the customer is told.
pub const DEFAULT_EXPIRY_NOTICE_DAYS: [u32; 2] = [30, 7];

/// When to retry after attempt `attempt_number` failed at `last_attempt_at`,
/// with the default schedule. `attempt_number` counts from 1 (the first,
/// original attempt). `None` means no more retries: the invoice becomes
/// `ProblemAuto`.
///
/// Attempt 1 fails → retry 3 days later; 2 → 5 days; 3 → 7 days; 4 → `None`.
pub fn next_retry(attempt_number: u32, last_attempt_at: Timestamp) -> Option<Timestamp> {
    next_retry_with(&DEFAULT_RETRY_DELAYS_DAYS, attempt_number, last_attempt_at)
}

/// [`next_retry`] with a configured schedule (`delays_days[i]` is the wait
/// after attempt `i + 1`). A day is 24 hours: retries keep the UTC time of
/// day of the failed attempt. Attempt 0 (no attempt yet) and instants past
/// the representable range give `None`.
pub fn next_retry_with(
    delays_days: &[u32],
    attempt_number: u32,
    last_attempt_at: Timestamp,
) -> Option<Timestamp> {
    let index = usize::try_from(attempt_number.checked_sub(1)?).ok()?;
    let days = *delays_days.get(index)?;
    let delay = SignedDuration::from_hours(i64::from(days) * 24);
    last_attempt_at.checked_add(delay).ok()
}

/// The two dates on which a card expiring `expiry_month`/`expiry_year`
/// (`year` in four digits) is notified: 30 and 7 days before the last day of
/// the expiry month (the card works through that day). For a card expiring
/// 12/2026: 2026-12-01 and 2026-12-24.
pub fn card_expiry_notices(expiry_month: i8, expiry_year: i16) -> Result<[Date; 2], GatewayError> {
    card_expiry_notices_with(expiry_month, expiry_year, DEFAULT_EXPIRY_NOTICE_DAYS)
}

/// [`card_expiry_notices`] with configured numbers of days.
pub fn card_expiry_notices_with(
    expiry_month: i8,
    expiry_year: i16,
    days_before: [u32; 2],
) -> Result<[Date; 2], GatewayError> {
    let last_day = CardExpiry::new(expiry_month, expiry_year)?.last_day();
    Ok(days_before.map(|days| last_day.saturating_sub(i64::from(days).days())))
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn default_schedule_is_3_5_7_days_then_problem_auto() {
        let first = at("2026-01-30T09:15:00Z");
        let second = next_retry(1, first).unwrap();
        assert_eq!(second, at("2026-02-02T09:15:00Z"));
        let third = next_retry(2, second).unwrap();
        assert_eq!(third, at("2026-02-07T09:15:00Z"));
        let fourth = next_retry(3, third).unwrap();
        assert_eq!(fourth, at("2026-02-14T09:15:00Z"));
        assert_eq!(next_retry(4, fourth), None);
        assert_eq!(next_retry(0, first), None);
        assert_eq!(next_retry(u32::MAX, first), None);
    }

    #[test]
    fn retries_cross_leap_days_and_dst_in_utc() {
        // 2028 is a leap year: Feb 27 + 3 days = Mar 1.
        assert_eq!(
            next_retry(1, at("2028-02-27T00:00:00Z")),
            Some(at("2028-03-01T00:00:00Z"))
        );
        assert_eq!(
            next_retry(1, at("2027-02-27T00:00:00Z")),
            Some(at("2027-03-02T00:00:00Z"))
        );
        // Europe's DST change on 2026-03-29 does not move a UTC retry.
        assert_eq!(
            next_retry(2, at("2026-03-27T08:00:00Z")),
            Some(at("2026-04-01T08:00:00Z"))
        );
    }

    #[test]
    fn custom_schedule_and_overflow() {
        assert_eq!(
            next_retry_with(&[1], 1, at("2026-01-01T00:00:00Z")),
            Some(at("2026-01-02T00:00:00Z"))
        );
        assert_eq!(next_retry_with(&[1], 2, at("2026-01-01T00:00:00Z")), None);
        assert_eq!(next_retry_with(&[], 1, at("2026-01-01T00:00:00Z")), None);
        assert_eq!(next_retry(1, Timestamp::MAX), None);
    }

    #[test]
    fn expiry_notices_around_month_ends_and_leap_years() {
        assert_eq!(
            card_expiry_notices(12, 2026).unwrap(),
            [date(2026, 12, 1), date(2026, 12, 24)]
        );
        assert_eq!(
            card_expiry_notices(3, 2026).unwrap(),
            [date(2026, 3, 1), date(2026, 3, 24)]
        );
        assert_eq!(
            card_expiry_notices(4, 2026).unwrap(),
            [date(2026, 3, 31), date(2026, 4, 23)]
        );
        // February in a leap year ends on the 29th, otherwise on the 28th.
        assert_eq!(
            card_expiry_notices(2, 2028).unwrap(),
            [date(2028, 1, 30), date(2028, 2, 22)]
        );
        assert_eq!(
            card_expiry_notices(2, 2027).unwrap(),
            [date(2027, 1, 29), date(2027, 2, 21)]
        );
        assert_eq!(
            card_expiry_notices(2, 2100).unwrap(),
            [date(2100, 1, 29), date(2100, 2, 21)]
        );
        assert_eq!(
            card_expiry_notices(2, 2000).unwrap(),
            [date(2000, 1, 30), date(2000, 2, 22)]
        );
        // 30 days before March 31 is March 1, even after a short February.
        assert_eq!(card_expiry_notices(3, 2028).unwrap()[0], date(2028, 3, 1));
        // January reaches back into the previous year.
        assert_eq!(
            card_expiry_notices(1, 2027).unwrap(),
            [date(2027, 1, 1), date(2027, 1, 24)]
        );
        assert_eq!(
            card_expiry_notices_with(6, 2026, [60, 1]).unwrap(),
            [date(2026, 5, 1), date(2026, 6, 29)]
        );
    }

    #[test]
    fn expiry_notices_refuse_impossible_months() {
        for (month, year) in [(0, 2026), (13, 2026), (-1, 2026), (6, 1999), (6, 9999)] {
            assert_eq!(
                card_expiry_notices(month, year),
                Err(GatewayError::InvalidExpiryMonth)
            );
        }
    }
}
