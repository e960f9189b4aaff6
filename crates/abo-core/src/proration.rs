//! Proration: plan changes, immediate terminations, mid-period increases.
//!
//! billing-rules, Proration: day granularity in the segment time zone,
//! actual over actual:
//! `fraction = days from the change date (included) to the period end
//! (excluded) / days in the period`; each line is rounded on its own, half
//! away from zero.

use std::fmt;

use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::catalog::{FeaturePricing, price_quantity};
use crate::error::CoreError;
use crate::money::round_half_away_from_zero;
use crate::period::{Period, Recurrence};

/// A share of a period, `days / of`, always in `(0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawFraction")]
pub struct Fraction {
    days: i64,
    of: i64,
}

#[derive(Deserialize)]
struct RawFraction {
    days: i64,
    of: i64,
}

impl TryFrom<RawFraction> for Fraction {
    type Error = CoreError;

    fn try_from(raw: RawFraction) -> Result<Self, Self::Error> {
        Fraction::new(raw.days, raw.of)
    }
}

impl Fraction {
    /// The whole period.
    pub const ONE: Fraction = Fraction { days: 1, of: 1 };

    /// `days / of`, with `0 < days <= of`. Not reduced: 16/31 stays 16/31 so
    /// that invoices can show the day counts.
    pub fn new(days: i64, of: i64) -> Result<Fraction, CoreError> {
        if 0 < days && days <= of {
            Ok(Fraction { days, of })
        } else {
            Err(CoreError::Invalid {
                what: "fraction",
                reason: format!("{days}/{of} is not in (0, 1]"),
            })
        }
    }

    /// Days charged or credited (the numerator).
    pub const fn days(self) -> i64 {
        self.days
    }

    /// Days in the whole period (the denominator).
    pub const fn of(self) -> i64 {
        self.of
    }

    pub const fn is_one(self) -> bool {
        self.days == self.of
    }

    /// The exact value as a decimal (for display; amounts use [`prorate`]).
    pub fn to_decimal(self) -> Decimal {
        Decimal::from(self.days) / Decimal::from(self.of)
    }
}

impl fmt::Display for Fraction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.days, self.of)
    }
}

/// The share of `period` that remains from `change_date` (included) to the
/// period end (excluded). A change must happen inside `[start, end)`: on the
/// first day the fraction is 1, and at or after the end there is nothing
/// left to prorate.
pub fn fraction(change_date: Date, period: Period) -> Result<Fraction, CoreError> {
    if !period.contains(change_date) {
        return Err(CoreError::DateOutsidePeriod {
            date: change_date,
            start: period.start,
            end: period.end,
        });
    }
    let remaining = Period::new(change_date, period.end)?.days();
    Fraction::new(remaining, period.days())
}

/// `amount_minor × fraction`, rounded once, half away from zero. The result
/// never exceeds `amount_minor` in absolute value, so it cannot overflow.
pub fn prorate(amount_minor: i64, fraction: Fraction) -> i64 {
    round_half_away_from_zero(
        i128::from(amount_minor) * i128::from(fraction.days),
        i128::from(fraction.of),
    )
}

/// One prorated balance line: the amount (negative for a credit), the
/// fraction applied and the period it was taken on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProratedLine {
    pub amount: i64,
    pub fraction: Fraction,
    pub period: Period,
}

/// A change of offer ("upgrade" in ProAbono, up or down), as billing-rules
/// describes it: the old subscription ends, the new one starts on the same
/// billing anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferChange {
    /// The billing anchor both offers' periods are laid out from (the
    /// subscription start, or the calendar-billing schedule anchor).
    pub anchor: Date,
    /// The local date of the change in the segment time zone.
    pub change_date: Date,
    /// The old offer's `AmountRecurrence`, in minor units.
    pub old_amount: i64,
    pub old_recurrence: Recurrence,
    /// The new offer's `AmountRecurrence`, in minor units.
    pub new_amount: i64,
    pub new_recurrence: Recurrence,
}

/// The lines of an immediate change of offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeProration {
    /// `-old × fraction`, on the old offer's current period.
    pub credit: ProratedLine,
    /// `+new × fraction`, on the new offer's period containing the change.
    pub charge: ProratedLine,
    /// `credit + charge`, exactly.
    pub net: i64,
    /// Where the new offer's full periods start (its first renewal).
    pub next_renewal: Date,
}

/// Prorates an immediate change of offer.
///
/// Each fraction is taken on its own offer's period: the old offer's current
/// period gives the credit; the new offer's periods are laid out from the same
/// anchor with the new recurrence, and the new offer is charged for the rest
/// of the one containing the change date. With equal recurrences both periods
/// are the same and the new subscription renews on the old renewal date.
pub fn change_of_offer(change: &OfferChange) -> Result<ChangeProration, CoreError> {
    let old_period = change
        .old_recurrence
        .period_containing(change.anchor, change.change_date)?;
    let new_period = change
        .new_recurrence
        .period_containing(change.anchor, change.change_date)?;
    let old_fraction = fraction(change.change_date, old_period)?;
    let new_fraction = fraction(change.change_date, new_period)?;

    let credit = -prorate(change.old_amount, old_fraction);
    let charge = prorate(change.new_amount, new_fraction);
    let net = credit
        .checked_add(charge)
        .ok_or(CoreError::Overflow("change of offer"))?;
    Ok(ChangeProration {
        credit: ProratedLine {
            amount: credit,
            fraction: old_fraction,
            period: old_period,
        },
        charge: ProratedLine {
            amount: charge,
            fraction: new_fraction,
            period: new_period,
        },
        net,
        next_renewal: new_period.end,
    })
}

/// The credit of an immediate termination: the unused part of the period,
/// `-amount × fraction`, as a negative line.
pub fn termination_credit(
    amount_minor: i64,
    termination_date: Date,
    period: Period,
) -> Result<ProratedLine, CoreError> {
    let f = fraction(termination_date, period)?;
    Ok(ProratedLine {
        amount: -prorate(amount_minor, f),
        fraction: f,
        period,
    })
}

/// The charge for raising a Limitation feature from `old_quantity` to
/// `new_quantity` during a period: the extra price of the rest of the period
/// (billing-rules, Features: an increase is charged pro rata, a decrease takes
/// effect at renewal with no refund, so it gives 0 here).
pub fn limitation_increase(
    pricing: &FeaturePricing,
    quantity_included: u64,
    old_quantity: u64,
    new_quantity: u64,
    change_date: Date,
    period: Period,
) -> Result<i64, CoreError> {
    let f = fraction(change_date, period)?;
    if new_quantity <= old_quantity {
        return Ok(0);
    }
    let before = price_quantity(pricing, quantity_included, old_quantity)?;
    let after = price_quantity(pricing, quantity_included, new_quantity)?;
    let extra = after
        .checked_sub(before)
        .ok_or(CoreError::Overflow("limitation increase"))?;
    Ok(prorate(extra.max(0), f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Tier, TierMode, TierPrice};
    use crate::period::PeriodUnit;
    use jiff::civil::date;

    fn period(a: Date, b: Date) -> Period {
        Period::new(a, b).unwrap()
    }

    #[test]
    fn monthly_100_to_180_on_march_25() {
        // billing-rules worked example 1.
        let change = OfferChange {
            anchor: date(2026, 1, 10),
            change_date: date(2026, 3, 25),
            old_amount: 10000,
            old_recurrence: Recurrence::monthly(),
            new_amount: 18000,
            new_recurrence: Recurrence::monthly(),
        };
        let p = change_of_offer(&change).unwrap();
        let expected_period = period(date(2026, 3, 10), date(2026, 4, 10));
        assert_eq!(p.credit.period, expected_period);
        assert_eq!(p.credit.fraction, Fraction::new(16, 31).unwrap());
        assert_eq!(p.credit.amount, -5161);
        assert_eq!(p.charge.amount, 9290);
        assert_eq!(p.charge.period, expected_period);
        assert_eq!(p.net, 4129);
        assert_eq!(p.next_renewal, date(2026, 4, 10));
        // Full periods at €180 follow from the old renewal date.
        assert_eq!(
            Recurrence::monthly()
                .period_containing(change.anchor, p.next_renewal)
                .unwrap(),
            period(date(2026, 4, 10), date(2026, 5, 10))
        );
    }

    #[test]
    fn ten_to_twenty_dollars_halfway() {
        // billing-rules worked example 2: a 30-day period, 15 days remain.
        let p = period(date(2026, 4, 1), date(2026, 5, 1));
        assert_eq!(p.days(), 30);
        let f = fraction(date(2026, 4, 16), p).unwrap();
        assert_eq!(f, Fraction::new(15, 30).unwrap());
        assert_eq!(-prorate(1000, f), -500);
        assert_eq!(prorate(2000, f), 1000);
        let change = OfferChange {
            anchor: date(2026, 1, 1),
            change_date: date(2026, 4, 16),
            old_amount: 1000,
            old_recurrence: Recurrence::monthly(),
            new_amount: 2000,
            new_recurrence: Recurrence::monthly(),
        };
        let c = change_of_offer(&change).unwrap();
        assert_eq!((c.credit.amount, c.charge.amount, c.net), (-500, 1000, 500));
    }

    #[test]
    fn change_on_the_first_day_is_a_full_fraction() {
        let p = period(date(2026, 3, 10), date(2026, 4, 10));
        let f = fraction(date(2026, 3, 10), p).unwrap();
        assert!(f.is_one());
        assert_eq!(prorate(10000, f), 10000);
        assert_eq!(prorate(-10000, f), -10000);
    }

    #[test]
    fn no_change_at_or_after_the_end_or_before_the_start() {
        let p = period(date(2026, 3, 10), date(2026, 4, 10));
        for d in [date(2026, 4, 10), date(2026, 5, 1), date(2026, 3, 9)] {
            assert!(matches!(
                fraction(d, p),
                Err(CoreError::DateOutsidePeriod { .. })
            ));
        }
        // The last day still has one day left.
        assert_eq!(
            fraction(date(2026, 4, 9), p).unwrap(),
            Fraction::new(1, 31).unwrap()
        );
    }

    #[test]
    fn yearly_360_to_monthly_30_on_may_11() {
        // billing-rules: a yearly subscription anchored on May 1 (next
        // February has 28 days) changed on May 11 to a monthly offer.
        let change = OfferChange {
            anchor: date(2026, 5, 1),
            change_date: date(2026, 5, 11),
            old_amount: 36000,
            old_recurrence: Recurrence::yearly(),
            new_amount: 3000,
            new_recurrence: Recurrence::monthly(),
        };
        let p = change_of_offer(&change).unwrap();
        assert_eq!(p.credit.period, period(date(2026, 5, 1), date(2027, 5, 1)));
        assert_eq!(p.credit.fraction, Fraction::new(355, 365).unwrap());
        assert_eq!(p.credit.amount, -35014);
        assert_eq!(p.charge.period, period(date(2026, 5, 1), date(2026, 6, 1)));
        assert_eq!(p.charge.fraction, Fraction::new(21, 31).unwrap());
        assert_eq!(p.charge.amount, 2032);
        assert_eq!(p.net, -32982);
        assert_eq!(p.next_renewal, date(2026, 6, 1));
    }

    #[test]
    fn monthly_to_yearly_uses_the_yearly_period() {
        let change = OfferChange {
            anchor: date(2026, 1, 10),
            change_date: date(2026, 3, 25),
            old_amount: 10000,
            old_recurrence: Recurrence::monthly(),
            new_amount: 100000,
            new_recurrence: Recurrence::yearly(),
        };
        let p = change_of_offer(&change).unwrap();
        assert_eq!(p.credit.amount, -5161);
        assert_eq!(
            p.charge.period,
            period(date(2026, 1, 10), date(2027, 1, 10))
        );
        assert_eq!(p.charge.fraction, Fraction::new(291, 365).unwrap());
        assert_eq!(p.charge.amount, 79726); // 100000 × 291 / 365 = 79726.03
        assert_eq!(p.next_renewal, date(2027, 1, 10));
    }

    #[test]
    fn change_before_the_anchor_is_an_error() {
        let change = OfferChange {
            anchor: date(2026, 1, 10),
            change_date: date(2026, 1, 9),
            old_amount: 100,
            old_recurrence: Recurrence::monthly(),
            new_amount: 200,
            new_recurrence: Recurrence::new(PeriodUnit::Week, 1).unwrap(),
        };
        assert!(change_of_offer(&change).is_err());
    }

    #[test]
    fn immediate_termination_credits_the_unused_part() {
        let p = period(date(2026, 3, 10), date(2026, 4, 10));
        let line = termination_credit(10000, date(2026, 3, 25), p).unwrap();
        assert_eq!(line.amount, -5161);
        assert_eq!(line.fraction, Fraction::new(16, 31).unwrap());
    }

    #[test]
    fn limitation_increase_is_pro_rata_and_decrease_is_free() {
        let pricing = FeaturePricing::PerUnit { amount: 700 };
        let p = period(date(2026, 3, 10), date(2026, 4, 10));
        // 5 included, 7 → 10 users on Mar 25: 3 extra users × €7 × 16/31.
        let charge = limitation_increase(&pricing, 5, 7, 10, date(2026, 3, 25), p).unwrap();
        assert_eq!(charge, 1084); // 2100 × 16 / 31 = 1083.87
        assert_eq!(
            limitation_increase(&pricing, 5, 10, 7, date(2026, 3, 25), p).unwrap(),
            0
        );
        // Still within the included quantity: nothing to pay.
        assert_eq!(
            limitation_increase(&pricing, 5, 2, 5, date(2026, 3, 25), p).unwrap(),
            0
        );
        let tiered = FeaturePricing::Tiered {
            mode: TierMode::Graduated,
            tiers: vec![
                Tier {
                    up_to: Some(5),
                    price: TierPrice::PerUnit(1500),
                },
                Tier {
                    up_to: None,
                    price: TierPrice::PerUnit(1200),
                },
            ],
        };
        // 2 included, 5 → 7: units 6 and 7 at €12 over the whole period.
        assert_eq!(
            limitation_increase(&tiered, 2, 5, 7, date(2026, 3, 10), p).unwrap(),
            2400
        );
        assert!(limitation_increase(&tiered, 2, 5, 7, date(2026, 4, 10), p).is_err());
    }

    #[test]
    fn fraction_invariants() {
        assert!(Fraction::new(0, 31).is_err());
        assert!(Fraction::new(32, 31).is_err());
        assert!(Fraction::new(-1, 31).is_err());
        assert_eq!(Fraction::new(16, 31).unwrap().to_string(), "16/31");
        let json = serde_json::to_string(&Fraction::new(16, 31).unwrap()).unwrap();
        assert_eq!(json, r#"{"days":16,"of":31}"#);
        assert!(serde_json::from_str::<Fraction>(r#"{"days":32,"of":31}"#).is_err());
    }
}
