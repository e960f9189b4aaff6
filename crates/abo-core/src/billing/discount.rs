//! Discounts on the lines of one subscription period (spec §1.4): each
//! discount reduces the lines it targets and becomes `AutoDiscount*` lines,
//! one per line it reduced, so an invoice shows what was taken off what.
//!
//! Rules:
//! - Up-front discounts reduce the up-front fee line; recurring ones the
//!   recurring fee (whole or prorated) of the first `count_recurrences`
//!   periods only; feature discounts the charges of that feature.
//! - A percentage is taken of the line's amount and rounded once per line,
//!   half away from zero ([`Discount::reduction`]).
//! - A flat amount is a budget for the period: it is spent on the targeted
//!   lines in order, so two lines of the same target are not both reduced by
//!   the full flat amount.
//! - A discount never makes a line negative: what several discounts take off
//!   one line is capped at that line's amount. Credits (negative lines) are
//!   never discounted.

use crate::catalog::{Discount, DiscountTarget, DiscountValue};
use crate::error::CoreError;

use super::balance::{BalanceLine, StateMove, TypeLine};

/// A discount of the subscription, with the id of the feature its reference
/// names (the balance knows features by id). `id_feature` is only read for
/// a [`DiscountTarget::Feature`] discount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppliedDiscount<'a> {
    pub discount: &'a Discount,
    pub id_feature: Option<i64>,
}

impl AppliedDiscount<'_> {
    /// Whether this discount reduces `line` in the recurring period
    /// `period_index`.
    fn targets(&self, line: &BalanceLine, period_index: u32) -> bool {
        let in_count = self
            .discount
            .count_recurrences
            .is_none_or(|count| period_index < count);
        match &self.discount.target {
            // Applies once, to the up-front fee, whenever it is charged.
            DiscountTarget::UpFront => line.type_line == TypeLine::AutoSubscriptionUpfront,
            DiscountTarget::Recurrence => line.type_line.is_recurrence() && in_count,
            DiscountTarget::Feature(_) => {
                line.type_line.is_feature()
                    && in_count
                    && self.id_feature.is_some()
                    && line.id_feature == self.id_feature
            }
        }
    }

    /// The `TypeLine` of the lines this discount produces.
    fn type_line(&self) -> TypeLine {
        let flat = matches!(self.discount.value, DiscountValue::Flat(_));
        match (&self.discount.target, flat) {
            (DiscountTarget::UpFront, true) => TypeLine::AutoDiscountUpfrontFlat,
            (DiscountTarget::UpFront, false) => TypeLine::AutoDiscountUpfrontPercent,
            (DiscountTarget::Recurrence, true) => TypeLine::AutoDiscountRecurrenceFlat,
            (DiscountTarget::Recurrence, false) => TypeLine::AutoDiscountRecurrencePercent,
            (DiscountTarget::Feature(_), true) => TypeLine::AutoDiscountFeatureFlat,
            (DiscountTarget::Feature(_), false) => TypeLine::AutoDiscountFeaturePercent,
        }
    }
}

/// The discount lines for the `lines` of one period of a subscription.
///
/// `period_index` counts the recurring periods charged, the first being 0:
/// a discount with `count_recurrences: Some(3)` reduces periods 0, 1 and 2.
/// Each produced line is due, negative, in the currency, period, nature of
/// charge and ids of the line it reduces, labelled with the discount's name;
/// nothing is produced for a zero reduction.
pub fn apply_discounts(
    lines: &[BalanceLine],
    discounts: &[AppliedDiscount<'_>],
    period_index: u32,
) -> Result<Vec<BalanceLine>, CoreError> {
    // What may still be taken off each line.
    let mut left: Vec<i64> = lines.iter().map(|l| l.amount_subtotal.max(0)).collect();
    let mut out = Vec::new();
    for applied in discounts {
        let mut flat_budget = match applied.discount.value {
            DiscountValue::Flat(amount) => Some(amount.max(0)),
            DiscountValue::Percent(_) => None,
        };
        for (line, left) in lines.iter().zip(left.iter_mut()) {
            if !applied.targets(line, period_index) {
                continue;
            }
            let reduction = match flat_budget.as_mut() {
                Some(budget) => {
                    let take = (*budget).min(*left);
                    *budget -= take;
                    take
                }
                None => applied.discount.reduction(line.amount_subtotal)?.min(*left),
            };
            if reduction == 0 {
                continue;
            }
            *left -= reduction;
            out.push(BalanceLine {
                type_line: applied.type_line(),
                state_move: StateMove::Due,
                label: applied.discount.name.clone(),
                quantity: 1,
                amount_subtotal: -reduction,
                currency: line.currency,
                date: line.date,
                key_charge: line.key_charge.clone(),
                id_subscription: line.id_subscription,
                id_feature: line.id_feature,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::LineDate;
    use crate::currency::Currency;
    use crate::reference::Reference;
    use jiff::civil::date;
    use rust_decimal::dec;

    fn discount(target: DiscountTarget, value: DiscountValue, count: Option<u32>) -> Discount {
        Discount {
            reference: Reference::parse("promo").unwrap(),
            name: "Promo".into(),
            target,
            value,
            count_recurrences: count,
        }
    }

    fn line(type_line: TypeLine, amount: i64, id_feature: Option<i64>) -> BalanceLine {
        let mut l = BalanceLine::due(
            type_line,
            "fee",
            amount,
            Currency::EUR,
            LineDate::Move(date(2026, 1, 1)),
        );
        l.id_feature = id_feature;
        l
    }

    #[test]
    fn a_flat_budget_is_spent_once_across_lines() {
        let d = discount(DiscountTarget::Recurrence, DiscountValue::Flat(1000), None);
        let lines = [
            line(TypeLine::AutoSubscriptionRecurrenceProrata, 600, None),
            line(TypeLine::AutoSubscriptionRecurrence, 5000, None),
        ];
        let out = apply_discounts(
            &lines,
            &[AppliedDiscount {
                discount: &d,
                id_feature: None,
            }],
            0,
        )
        .unwrap();
        let amounts: Vec<i64> = out.iter().map(|l| l.amount_subtotal).collect();
        assert_eq!(amounts, [-600, -400]);
        assert!(
            out.iter()
                .all(|l| l.type_line == TypeLine::AutoDiscountRecurrenceFlat)
        );
    }

    #[test]
    fn stacked_discounts_never_make_a_line_negative() {
        let a = discount(
            DiscountTarget::UpFront,
            DiscountValue::Percent(dec!(70)),
            None,
        );
        let b = discount(DiscountTarget::UpFront, DiscountValue::Flat(5000), None);
        let lines = [
            line(TypeLine::AutoSubscriptionUpfront, 4900, None),
            line(TypeLine::CreditPromotion, -1000, None),
        ];
        let applied = [
            AppliedDiscount {
                discount: &a,
                id_feature: None,
            },
            AppliedDiscount {
                discount: &b,
                id_feature: None,
            },
        ];
        let out = apply_discounts(&lines, &applied, 0).unwrap();
        let amounts: Vec<i64> = out.iter().map(|l| l.amount_subtotal).collect();
        assert_eq!(amounts, [-3430, -1470]);
        assert_eq!(out[0].type_line, TypeLine::AutoDiscountUpfrontPercent);
        assert_eq!(out[1].type_line, TypeLine::AutoDiscountUpfrontFlat);
    }

    #[test]
    fn a_feature_discount_needs_the_feature_id() {
        let d = discount(
            DiscountTarget::Feature(Reference::parse("seats").unwrap()),
            DiscountValue::Percent(dec!(10)),
            None,
        );
        let lines = [line(TypeLine::AutoFeatureProratable, 1000, Some(7))];
        let unresolved = [AppliedDiscount {
            discount: &d,
            id_feature: None,
        }];
        assert!(apply_discounts(&lines, &unresolved, 0).unwrap().is_empty());
        let other = [AppliedDiscount {
            discount: &d,
            id_feature: Some(8),
        }];
        assert!(apply_discounts(&lines, &other, 0).unwrap().is_empty());
    }
}
