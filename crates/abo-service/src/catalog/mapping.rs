//! The one place where catalogue types cross between the core (rich Rust
//! types) and the store (plain rows with ProAbono string names).

use crate::error::{Result, ServiceError};
use abo_core::{
    Currency, FeaturePricing, FeatureType, Offer, OfferFeature, PeriodUnit, Recurrence, Reference,
    Tier, TierMode, TierPrice, Trial,
};
use abo_store::offers::{self as store_offers, FeatureTerms};

/// Core pricing → the store's (model, amount, tiers) columns.
pub fn pricing_to_store(
    pricing: &FeaturePricing,
) -> (String, Option<i64>, Vec<store_offers::Tier>) {
    match pricing {
        FeaturePricing::None => ("None".into(), None, Vec::new()),
        FeaturePricing::OnOff { amount } => ("OnOff".into(), Some(*amount), Vec::new()),
        FeaturePricing::PerUnit { amount } => ("PerUnit".into(), Some(*amount), Vec::new()),
        FeaturePricing::Tiered { mode, tiers } => (
            mode.to_string(),
            None,
            tiers
                .iter()
                .map(|t| {
                    let (kind, amount, lot_size) = match t.price {
                        TierPrice::PerUnit(a) => ("PerUnit", a, None),
                        TierPrice::PerLot { lot_size, amount } => {
                            ("PerLot", amount, Some(to_i64(lot_size)))
                        }
                        TierPrice::Flat(a) => ("Flat", a, None),
                    };
                    store_offers::Tier {
                        up_to: t.up_to.map(to_i64),
                        price_kind: kind.into(),
                        amount,
                        lot_size,
                    }
                })
                .collect(),
        ),
    }
}

/// The store's pricing columns → core pricing.
pub fn pricing_from_store(terms: &FeatureTerms) -> Result<FeaturePricing> {
    let amount = || {
        terms
            .pricing_amount
            .ok_or_else(|| corrupt("pricing_amount is missing"))
    };
    Ok(match terms.pricing_model.as_str() {
        "None" => FeaturePricing::None,
        "OnOff" => FeaturePricing::OnOff { amount: amount()? },
        "PerUnit" => FeaturePricing::PerUnit { amount: amount()? },
        model => {
            let mode: TierMode = model
                .parse()
                .map_err(|_| corrupt(&format!("pricing model {model}")))?;
            let tiers = terms
                .tiers
                .iter()
                .map(|t| {
                    let price = match t.price_kind.as_str() {
                        "PerUnit" => TierPrice::PerUnit(t.amount),
                        "Flat" => TierPrice::Flat(t.amount),
                        "PerLot" => TierPrice::PerLot {
                            lot_size: from_i64(
                                t.lot_size.ok_or_else(|| corrupt("lot_size is missing"))?,
                            )?,
                            amount: t.amount,
                        },
                        other => return Err(corrupt(&format!("tier price kind {other}"))),
                    };
                    Ok(Tier {
                        up_to: t.up_to.map(from_i64).transpose()?,
                        price,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            FeaturePricing::Tiered { mode, tiers }
        }
    })
}

/// A stored offer → the core offer (to subscribe, quote, or display).
pub fn offer_from_store(offer: &store_offers::Offer) -> Result<Offer> {
    let currency = Currency::from_code(&offer.currency)?;
    let unit: PeriodUnit = offer
        .unit_recurrence
        .parse()
        .map_err(|_| corrupt("unit_recurrence"))?;
    let trial = match (offer.duration_trial, &offer.unit_trial) {
        (Some(duration), Some(unit)) => Some(Trial {
            amount: offer.amount_trial,
            duration: u32::try_from(duration).map_err(|_| corrupt("duration_trial"))?,
            unit: unit.parse().map_err(|_| corrupt("unit_trial"))?,
        }),
        _ => None,
    };
    let features = offer
        .features
        .iter()
        .map(|f| {
            Ok(OfferFeature {
                feature: Reference::parse(&f.feature_reference)?,
                feature_type: f
                    .type_feature
                    .parse::<FeatureType>()
                    .map_err(|_| corrupt("type_feature"))?,
                is_included: f.terms.is_included,
                is_enabled: f.terms.is_enabled,
                quantity_included: f.terms.quantity_included.map(from_i64).transpose()?,
                pricing: pricing_from_store(&f.terms)?,
                updatable_before_subscription: f.terms.updatable_before_subscription,
                updatable_after_subscription: f.terms.updatable_after_subscription,
                free_in_trial: f.terms.free_in_trial,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Offer {
        reference: Reference::parse(&offer.reference)?,
        name: offer.name.clone(),
        description: offer.description.clone(),
        is_visible: offer.is_visible,
        currency,
        amount_upfront: offer.amount_upfront,
        trial,
        amount_recurrence: offer.amount_recurrence,
        recurrence: Recurrence::new(
            unit,
            u32::try_from(offer.duration_recurrence).map_err(|_| corrupt("duration_recurrence"))?,
        )?,
        count_recurrences: offer
            .count_recurrences
            .map(|c| u32::try_from(c).map_err(|_| corrupt("count_recurrences")))
            .transpose()?,
        count_min_recurrences: offer
            .count_min_recurrences
            .map(|c| u32::try_from(c).map_err(|_| corrupt("count_min_recurrences")))
            .transpose()?,
        amount_termination: offer.amount_termination,
        features,
    })
}

/// Quantities are `u64` in the core and `BIGINT` in the store; catalogue
/// quantities never come near `i64::MAX`, so saturate rather than fail.
fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn from_i64(v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| corrupt("negative quantity"))
}

fn corrupt(what: &str) -> ServiceError {
    ServiceError::Internal(format!("stored catalogue is inconsistent: {what}"))
}
