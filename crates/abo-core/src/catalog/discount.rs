//! Discounts (spec §1.4): on the up-front fee, the recurring fee or a
//! feature; flat or percent; optionally limited to a number of periods. They
//! become `AutoDiscount*` balance lines.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{CatalogError, Problems, into_result};
use crate::error::CoreError;
use crate::money::checked_round_half_away_from_zero;
use crate::reference::Reference;

/// What a discount reduces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DiscountTarget {
    /// The up-front fee (`AutoDiscountUpfront*`).
    UpFront,
    /// The recurring fee (`AutoDiscountRecurrence*`).
    Recurrence,
    /// The price of one feature (`AutoDiscountFeature*`).
    Feature(Reference),
}

/// How much a discount takes off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DiscountValue {
    /// A fixed amount in minor units, never more than the discounted amount.
    Flat(i64),
    /// A percentage in (0, 100] (a rate may be a decimal, an amount never is).
    Percent(Decimal),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discount {
    pub reference: Reference,
    pub name: String,
    pub target: DiscountTarget,
    pub value: DiscountValue,
    /// Periods the discount applies to (`None` = every period). Meaningless
    /// for an up-front discount, which applies once.
    pub count_recurrences: Option<u32>,
}

impl Discount {
    pub fn validate(&self) -> Result<(), Vec<CatalogError>> {
        let mut errors = Vec::new();
        let mut p = Problems::new(format!("discount '{}'", self.reference), &mut errors);
        p.check(
            !self.name.trim().is_empty(),
            "Name",
            "name must not be empty",
        );
        match self.value {
            DiscountValue::Flat(amount) => {
                p.check(amount > 0, "Amount", "a flat discount must be positive");
            }
            DiscountValue::Percent(pct) => p.check(
                pct > Decimal::ZERO && pct <= Decimal::ONE_HUNDRED,
                "Percent",
                format!("percent must be in (0, 100], not {pct}"),
            ),
        }
        if let Some(count) = self.count_recurrences {
            p.check(
                count >= 1,
                "CountRecurrences",
                "CountRecurrences must be at least 1 (null means every period)",
            );
        }
        into_result(errors)
    }

    /// The reduction, in minor units (positive, to be booked as a negative
    /// line), for a line of `amount` minor units. A percentage is rounded
    /// half away from zero once; a flat discount never exceeds the amount.
    /// Nothing is taken off a zero or negative amount.
    pub fn reduction(&self, amount: i64) -> Result<i64, CoreError> {
        if amount <= 0 {
            return Ok(0);
        }
        match self.value {
            DiscountValue::Flat(flat) => Ok(flat.clamp(0, amount)),
            DiscountValue::Percent(pct) => {
                // pct = m × 10^-scale exactly, so amount × pct / 100 is
                // amount × m / (100 × 10^scale), in exact integers.
                let mantissa = pct.mantissa();
                let scale = 10_i128
                    .checked_pow(pct.scale())
                    .ok_or(CoreError::Overflow("discount percent"))?;
                let numerator = i128::from(amount)
                    .checked_mul(mantissa)
                    .ok_or(CoreError::Overflow("discount"))?;
                // Out of i64 only for an unvalidated percent above 100.
                let reduction = checked_round_half_away_from_zero(numerator, 100 * scale)
                    .ok_or(CoreError::Overflow("discount"))?;
                Ok(reduction.clamp(0, amount))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn discount(target: DiscountTarget, value: DiscountValue) -> Discount {
        Discount {
            reference: Reference::parse("50percent-upfrontfee").unwrap(),
            name: "Half price set-up".into(),
            target,
            value,
            count_recurrences: None,
        }
    }

    #[test]
    fn percent_bounds() {
        for (pct, ok) in [
            (dec!(50), true),
            (dec!(100), true),
            (dec!(0.01), true),
            (dec!(0), false),
            (dec!(-5), false),
            (dec!(100.01), false),
        ] {
            let d = discount(DiscountTarget::UpFront, DiscountValue::Percent(pct));
            assert_eq!(d.validate().is_ok(), ok, "{pct}");
        }
        let bad = discount(DiscountTarget::UpFront, DiscountValue::Percent(dec!(150)));
        assert_eq!(
            bad.validate().unwrap_err()[0].to_string(),
            "discount '50percent-upfrontfee': percent must be in (0, 100], not 150"
        );
    }

    #[test]
    fn flat_and_count_validation() {
        let mut d = discount(DiscountTarget::Recurrence, DiscountValue::Flat(0));
        d.count_recurrences = Some(0);
        assert_eq!(d.validate().unwrap_err().len(), 2);
        d.value = DiscountValue::Flat(500);
        d.count_recurrences = Some(3);
        assert_eq!(d.validate(), Ok(()));
    }

    #[test]
    fn reductions() {
        let half = discount(DiscountTarget::UpFront, DiscountValue::Percent(dec!(50)));
        assert_eq!(half.reduction(19000), Ok(9500));
        assert_eq!(half.reduction(1), Ok(1)); // 0.5 rounds away from zero
        let third = discount(
            DiscountTarget::Recurrence,
            DiscountValue::Percent(dec!(33.33)),
        );
        assert_eq!(third.reduction(10000), Ok(3333));
        let flat = discount(
            DiscountTarget::Feature(Reference::parse("seats").unwrap()),
            DiscountValue::Flat(500),
        );
        assert_eq!(flat.reduction(300), Ok(300));
        assert_eq!(flat.reduction(3000), Ok(500));
        assert_eq!(flat.reduction(0), Ok(0));
        assert_eq!(half.reduction(-100), Ok(0));
        let unvalidated = discount(DiscountTarget::UpFront, DiscountValue::Percent(dec!(300)));
        assert_eq!(unvalidated.reduction(1000), Ok(1000));
        assert!(unvalidated.reduction(i64::MAX).is_err());
    }

    #[test]
    fn serde_shape() {
        let d = discount(DiscountTarget::UpFront, DiscountValue::Percent(dec!(50)));
        let json = serde_json::to_string(&d).unwrap();
        assert!(json.contains(r#""target":"UpFront""#), "{json}");
        assert!(json.contains(r#""value":{"Percent":"50"}"#), "{json}");
        assert_eq!(serde_json::from_str::<Discount>(&json).unwrap(), d);
    }
}
