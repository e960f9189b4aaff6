//! Feature pricing and tiers (spec §1.5, billing-rules Features).
//!
//! Tiers are defined on the ABSOLUTE quantity, and included units are never
//! charged. Graduated: each billable unit is priced by the tier it falls in.
//! Volume: every billable unit is priced by the tier containing the total
//! quantity. With 2 included, units 3–5 at €15, 6–10 at €12, 11+ at €8, a
//! customer at 12 units pays 3×15 + 5×12 + 2×8 = €121 graduated and 10×8 = €80
//! volume (ProAbono's page says €96 for volume, charging the included units;
//! we never do).

use serde::{Deserialize, Serialize};

use super::Problems;
use crate::error::CoreError;

string_enum! {
    /// How tiers combine.
    pub enum TierMode {
        /// Each unit priced by its own tier ("tiered" in ProAbono's page).
        Graduated,
        /// All units priced by the tier of the total quantity.
        Volume,
    }
}

/// The price of a tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TierPrice {
    /// This amount for each unit.
    PerUnit(i64),
    /// `amount` for each started lot of `lot_size` units ("per lot of N").
    PerLot { lot_size: u64, amount: i64 },
    /// This amount once, as soon as one billable unit falls in the tier
    /// (graduated) or the tier is the volume tier.
    Flat(i64),
}

/// One tier: it covers absolute quantities up to `up_to` inclusive, from the
/// previous tier's `up_to + 1` (or 1 for the first). `None` is unbounded and
/// must be the last tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tier {
    pub up_to: Option<u64>,
    pub price: TierPrice,
}

/// How a feature of an offer is priced beyond what is included.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum FeaturePricing {
    /// Free.
    #[default]
    None,
    /// An OnOff option: `amount` per period when enabled and not included
    /// ("optional +€10.00").
    OnOff { amount: i64 },
    /// `amount` per unit beyond the included quantity ("+€7.00/extra unit").
    PerUnit { amount: i64 },
    /// Tiers on the absolute quantity.
    Tiered { mode: TierMode, tiers: Vec<Tier> },
}

impl FeaturePricing {
    /// Whether any amount can ever be charged.
    pub fn is_priced(&self) -> bool {
        match self {
            FeaturePricing::None => false,
            FeaturePricing::OnOff { amount } | FeaturePricing::PerUnit { amount } => *amount > 0,
            FeaturePricing::Tiered { tiers, .. } => tiers.iter().any(|t| match t.price {
                TierPrice::PerUnit(a)
                | TierPrice::Flat(a)
                | TierPrice::PerLot { amount: a, .. } => a > 0,
            }),
        }
    }

    /// Reports every problem of this pricing into `p`.
    pub(crate) fn check(&self, p: &mut Problems<'_>) {
        match self {
            FeaturePricing::None => {}
            FeaturePricing::OnOff { amount } | FeaturePricing::PerUnit { amount } => {
                p.check(*amount >= 0, "Amount", "amount must not be negative");
            }
            FeaturePricing::Tiered { tiers, .. } => check_tiers(tiers, p),
        }
    }
}

fn check_tiers(tiers: &[Tier], p: &mut Problems<'_>) {
    if tiers.is_empty() {
        p.push("Tiers", "tiers must not be empty");
        return;
    }
    let mut previous: Option<u64> = None;
    let mut ascending = true;
    for (i, tier) in tiers.iter().enumerate() {
        let is_last = i + 1 == tiers.len();
        match tier.up_to {
            None if !is_last => p.push(
                "Tiers",
                format!("tier {}: only the last tier may be unbounded", i + 1),
            ),
            Some(_) if is_last => p.push("Tiers", "the last tier must be unbounded"),
            Some(0) => p.push("Tiers", format!("tier {}: up_to must be at least 1", i + 1)),
            Some(up_to) => {
                if previous.is_some_and(|prev| up_to <= prev) {
                    ascending = false;
                }
                previous = Some(up_to);
            }
            None => {}
        }
        match tier.price {
            TierPrice::PerUnit(a) | TierPrice::Flat(a) => p.check(
                a >= 0,
                "Tiers",
                format!("tier {}: amount must not be negative", i + 1),
            ),
            TierPrice::PerLot { lot_size, amount } => {
                p.check(
                    lot_size > 0,
                    "Tiers",
                    format!("tier {}: lot size must be at least 1", i + 1),
                );
                p.check(
                    amount >= 0,
                    "Tiers",
                    format!("tier {}: amount must not be negative", i + 1),
                );
            }
        }
    }
    p.check(ascending, "Tiers", "tiers must be ascending");
}

/// The price, in minor units, of `quantity` units (absolute) when
/// `quantity_included` of them are included. Included units are never
/// charged. For an OnOff pricing, a quantity of 1 or more means enabled, and
/// an included feature (`quantity_included >= 1`) is free.
///
/// Errors only on arithmetic overflow or a zero lot size (which validation
/// rejects); tier order is assumed valid (see [`crate::Offer::validate`]).
pub fn price_quantity(
    pricing: &FeaturePricing,
    quantity_included: u64,
    quantity: u64,
) -> Result<i64, CoreError> {
    let billable = quantity.saturating_sub(quantity_included);
    match pricing {
        FeaturePricing::None => Ok(0),
        FeaturePricing::OnOff { amount } => Ok(if billable > 0 { *amount } else { 0 }),
        FeaturePricing::PerUnit { amount } => times(*amount, billable),
        FeaturePricing::Tiered {
            mode: TierMode::Graduated,
            tiers,
        } => graduated(tiers, quantity_included, quantity),
        FeaturePricing::Tiered {
            mode: TierMode::Volume,
            tiers,
        } => volume(tiers, quantity, billable),
    }
}

fn graduated(tiers: &[Tier], included: u64, quantity: u64) -> Result<i64, CoreError> {
    let mut total: i64 = 0;
    let mut lower = 0; // the tier covers (lower, up_to]
    for tier in tiers {
        let upper = tier.up_to.unwrap_or(u64::MAX);
        // Billable units in this tier: (max(lower, included), min(upper, quantity)].
        let from = lower.max(included);
        let to = upper.min(quantity);
        if to > from {
            let price = tier_price(tier.price, to - from)?;
            total = total
                .checked_add(price)
                .ok_or(CoreError::Overflow("graduated tiers"))?;
        }
        if upper >= quantity {
            break;
        }
        lower = upper;
    }
    Ok(total)
}

fn volume(tiers: &[Tier], quantity: u64, billable: u64) -> Result<i64, CoreError> {
    if billable == 0 {
        return Ok(0);
    }
    let tier = tiers
        .iter()
        .find(|t| t.up_to.is_none_or(|up_to| quantity <= up_to))
        .or(tiers.last());
    match tier {
        Some(tier) => tier_price(tier.price, billable),
        None => Ok(0),
    }
}

/// The price of `units` billable units (at least one) under one tier price.
fn tier_price(price: TierPrice, units: u64) -> Result<i64, CoreError> {
    match price {
        TierPrice::PerUnit(amount) => times(amount, units),
        TierPrice::PerLot { lot_size, amount } => {
            if lot_size == 0 {
                return Err(CoreError::Invalid {
                    what: "tier",
                    reason: "lot size must be at least 1".into(),
                });
            }
            times(amount, units.div_ceil(lot_size))
        }
        TierPrice::Flat(amount) => Ok(amount),
    }
}

fn times(amount: i64, units: u64) -> Result<i64, CoreError> {
    i64::try_from(units)
        .ok()
        .and_then(|u| amount.checked_mul(u))
        .ok_or(CoreError::Overflow("feature price"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::CatalogError;

    /// billing-rules: 2 included, 3–5 at €15, 6–10 at €12, 11+ at €8.
    fn example(mode: TierMode) -> FeaturePricing {
        FeaturePricing::Tiered {
            mode,
            tiers: vec![
                Tier {
                    up_to: Some(5),
                    price: TierPrice::PerUnit(1500),
                },
                Tier {
                    up_to: Some(10),
                    price: TierPrice::PerUnit(1200),
                },
                Tier {
                    up_to: None,
                    price: TierPrice::PerUnit(800),
                },
            ],
        }
    }

    #[test]
    fn billing_rules_tier_example() {
        assert_eq!(
            price_quantity(&example(TierMode::Graduated), 2, 12),
            Ok(12100)
        );
        assert_eq!(price_quantity(&example(TierMode::Volume), 2, 12), Ok(8000));
    }

    #[test]
    fn graduated_boundaries() {
        let g = example(TierMode::Graduated);
        assert_eq!(price_quantity(&g, 2, 0), Ok(0));
        assert_eq!(price_quantity(&g, 2, 2), Ok(0));
        assert_eq!(price_quantity(&g, 2, 3), Ok(1500));
        assert_eq!(price_quantity(&g, 2, 5), Ok(4500));
        assert_eq!(price_quantity(&g, 2, 6), Ok(5700));
        assert_eq!(price_quantity(&g, 2, 10), Ok(10500));
        assert_eq!(price_quantity(&g, 2, 11), Ok(11300));
        // Included units reaching into the second tier.
        assert_eq!(price_quantity(&g, 7, 12), Ok(3 * 1200 + 2 * 800));
    }

    #[test]
    fn volume_boundaries() {
        let v = example(TierMode::Volume);
        assert_eq!(price_quantity(&v, 2, 2), Ok(0));
        assert_eq!(price_quantity(&v, 2, 5), Ok(3 * 1500));
        assert_eq!(price_quantity(&v, 2, 6), Ok(4 * 1200));
        assert_eq!(price_quantity(&v, 2, 10), Ok(8 * 1200));
        assert_eq!(price_quantity(&v, 2, 11), Ok(9 * 800));
    }

    #[test]
    fn lots_and_flat_tiers() {
        let lots = FeaturePricing::Tiered {
            mode: TierMode::Graduated,
            tiers: vec![
                Tier {
                    up_to: Some(100),
                    price: TierPrice::PerLot {
                        lot_size: 10,
                        amount: 500,
                    },
                },
                Tier {
                    up_to: None,
                    price: TierPrice::Flat(9900),
                },
            ],
        };
        // 5 included, 30 units: 25 billable in tier 1 → 3 started lots.
        assert_eq!(price_quantity(&lots, 5, 30), Ok(1500));
        // 101 units: 95 billable in tier 1 (10 lots) + the flat tier.
        assert_eq!(price_quantity(&lots, 5, 101), Ok(5000 + 9900));
        let volume_lots = FeaturePricing::Tiered {
            mode: TierMode::Volume,
            tiers: vec![Tier {
                up_to: None,
                price: TierPrice::PerLot {
                    lot_size: 10,
                    amount: 500,
                },
            }],
        };
        assert_eq!(price_quantity(&volume_lots, 0, 21), Ok(1500));
    }

    #[test]
    fn simple_pricings() {
        let per_unit = FeaturePricing::PerUnit { amount: 700 };
        assert_eq!(price_quantity(&per_unit, 5, 8), Ok(2100));
        assert_eq!(price_quantity(&per_unit, 5, 3), Ok(0));
        let option = FeaturePricing::OnOff { amount: 1000 };
        assert_eq!(price_quantity(&option, 0, 1), Ok(1000));
        assert_eq!(price_quantity(&option, 0, 0), Ok(0));
        assert_eq!(price_quantity(&option, 1, 1), Ok(0));
        assert_eq!(price_quantity(&FeaturePricing::None, 0, 1000), Ok(0));
        assert!(price_quantity(&FeaturePricing::PerUnit { amount: i64::MAX }, 0, 2).is_err());
        assert!(price_quantity(&per_unit, 0, u64::MAX).is_err());
    }

    fn problems(pricing: &FeaturePricing) -> Vec<String> {
        let mut errors: Vec<CatalogError> = Vec::new();
        pricing.check(&mut Problems::new("feature 'seats'".into(), &mut errors));
        errors.into_iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn validation() {
        assert!(problems(&example(TierMode::Graduated)).is_empty());
        let descending = FeaturePricing::Tiered {
            mode: TierMode::Graduated,
            tiers: vec![
                Tier {
                    up_to: Some(10),
                    price: TierPrice::PerUnit(1),
                },
                Tier {
                    up_to: Some(5),
                    price: TierPrice::PerUnit(1),
                },
                Tier {
                    up_to: None,
                    price: TierPrice::PerUnit(1),
                },
            ],
        };
        assert_eq!(
            problems(&descending),
            ["feature 'seats': tiers must be ascending"]
        );
        let bounded_last = FeaturePricing::Tiered {
            mode: TierMode::Volume,
            tiers: vec![Tier {
                up_to: Some(5),
                price: TierPrice::PerLot {
                    lot_size: 0,
                    amount: -1,
                },
            }],
        };
        assert_eq!(
            problems(&bounded_last),
            [
                "feature 'seats': the last tier must be unbounded",
                "feature 'seats': tier 1: lot size must be at least 1",
                "feature 'seats': tier 1: amount must not be negative",
            ]
        );
        let early_unbounded = FeaturePricing::Tiered {
            mode: TierMode::Volume,
            tiers: vec![
                Tier {
                    up_to: None,
                    price: TierPrice::Flat(1),
                },
                Tier {
                    up_to: None,
                    price: TierPrice::Flat(1),
                },
            ],
        };
        assert_eq!(
            problems(&early_unbounded),
            ["feature 'seats': tier 1: only the last tier may be unbounded"]
        );
        assert_eq!(
            problems(&FeaturePricing::Tiered {
                mode: TierMode::Volume,
                tiers: vec![]
            }),
            ["feature 'seats': tiers must not be empty"]
        );
        assert_eq!(
            problems(&FeaturePricing::PerUnit { amount: -5 }),
            ["feature 'seats': amount must not be negative"]
        );
    }

    #[test]
    fn serde_shape() {
        let json = serde_json::to_string(&example(TierMode::Volume)).unwrap();
        assert!(json.starts_with(
            r#"{"Tiered":{"mode":"Volume","tiers":[{"up_to":5,"price":{"PerUnit":1500}}"#
        ));
        let back: FeaturePricing = serde_json::from_str(&json).unwrap();
        assert_eq!(back, example(TierMode::Volume));
    }
}
