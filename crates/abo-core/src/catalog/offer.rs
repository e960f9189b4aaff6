//! Offers: the templates subscriptions copy (spec §1.4, billing-rules
//! Subscription life).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::{CatalogError, FeaturePricing, FeatureType, Problems, into_result};
use crate::currency::Currency;
use crate::period::{PeriodUnit, Recurrence};
use crate::reference::Reference;

/// A trial period before the first recurrence (`AmountTrial`,
/// `DurationTrial`, `UnitTrial`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trial {
    pub amount: i64,
    pub duration: u32,
    pub unit: PeriodUnit,
}

impl Trial {
    /// The trial as a recurrence, to lay its single period out from the start.
    pub fn as_recurrence(&self) -> Recurrence {
        Recurrence {
            unit: self.unit,
            count: self.duration,
        }
    }
}

/// A feature as sold in an offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferFeature {
    pub feature: Reference,
    pub feature_type: FeatureType,
    /// The plan includes it (`IsIncluded`).
    pub is_included: bool,
    /// It is active at subscribe time (`IsEnabled`); rights follow this flag.
    pub is_enabled: bool,
    /// Units included in the price (`QuantityIncluded`), for Limitation and
    /// Consumption features; `None` means none are included.
    pub quantity_included: Option<u64>,
    pub pricing: FeaturePricing,
    /// ProAbono `Properties`: `UpdatableBeforeSubscription`.
    pub updatable_before_subscription: bool,
    /// ProAbono `Properties`: `UpdatableAfterSubscription`.
    pub updatable_after_subscription: bool,
    /// ProAbono `Properties`: `FreeInTrial`.
    pub free_in_trial: bool,
}

impl OfferFeature {
    pub(crate) fn check(&self, p: &mut Problems<'_>) {
        match (&self.pricing, self.feature_type) {
            (FeaturePricing::OnOff { .. }, FeatureType::Limitation | FeatureType::Consumption) => {
                p.push(
                    "Pricing",
                    format!(
                        "an on/off price does not fit a {} feature",
                        self.feature_type
                    ),
                );
            }
            (
                FeaturePricing::PerUnit { .. } | FeaturePricing::Tiered { .. },
                FeatureType::OnOff,
            ) => {
                p.push("Pricing", "an OnOff feature can only have an on/off price");
            }
            _ => {}
        }
        if self.feature_type == FeatureType::OnOff {
            p.check(
                self.quantity_included.is_none(),
                "QuantityIncluded",
                "an OnOff feature has no included quantity",
            );
        }
        self.pricing.check(p);
    }
}

/// An offer of a segment's catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub reference: Reference,
    pub name: String,
    pub description: Option<String>,
    pub is_visible: bool,
    pub currency: Currency,
    /// Setup fee charged at start (`AmountUpFront`), minor units.
    pub amount_upfront: i64,
    pub trial: Option<Trial>,
    /// Fee charged in advance for each period (`AmountRecurrence`).
    pub amount_recurrence: i64,
    pub recurrence: Recurrence,
    /// Periods after which the subscription ends (`None` = unlimited).
    pub count_recurrences: Option<u32>,
    /// Commitment during which the customer cannot terminate or change plan.
    pub count_min_recurrences: Option<u32>,
    /// Fee charged on early termination (`AmountTermination`).
    pub amount_termination: i64,
    pub features: Vec<OfferFeature>,
}

impl Offer {
    /// `IsPriced`: false only when the offer is always free.
    pub fn is_priced(&self) -> bool {
        self.amount_upfront > 0
            || self.amount_recurrence > 0
            || self.amount_termination > 0
            || self.trial.is_some_and(|t| t.amount > 0)
            || self.features.iter().any(|f| f.pricing.is_priced())
    }

    /// The offer feature for `feature`, if the offer has it.
    pub fn feature(&self, feature: &str) -> Option<&OfferFeature> {
        self.features.iter().find(|f| f.feature.as_str() == feature)
    }

    /// Every problem of the offer, each naming the offer, the feature where
    /// relevant, and the field (e.g. "offer 'pro-monthly': feature 'seats':
    /// tiers must be ascending").
    pub fn validate(&self) -> Result<(), Vec<CatalogError>> {
        let mut errors = Vec::new();
        let mut p = Problems::new(format!("offer '{}'", self.reference), &mut errors);
        p.check(
            !self.name.trim().is_empty(),
            "Name",
            "name must not be empty",
        );
        for (field, amount) in [
            ("AmountUpFront", self.amount_upfront),
            ("AmountRecurrence", self.amount_recurrence),
            ("AmountTermination", self.amount_termination),
        ] {
            p.check(amount >= 0, field, format!("{field} must not be negative"));
        }
        p.check(
            self.recurrence.count >= 1,
            "DurationRecurrence",
            "DurationRecurrence must be at least 1",
        );
        if let Some(trial) = self.trial {
            p.check(
                trial.amount >= 0,
                "AmountTrial",
                "AmountTrial must not be negative",
            );
            p.check(
                trial.duration >= 1,
                "DurationTrial",
                "DurationTrial must be at least 1",
            );
        }
        if let Some(count) = self.count_recurrences {
            p.check(
                count >= 1,
                "CountRecurrences",
                "CountRecurrences must be at least 1 (null means unlimited)",
            );
        }
        if let Some(min) = self.count_min_recurrences {
            p.check(
                min >= 1,
                "CountMinRecurrences",
                "CountMinRecurrences must be at least 1 (null means no commitment)",
            );
            if let Some(count) = self.count_recurrences {
                p.check(
                    min <= count,
                    "CountMinRecurrences",
                    "CountMinRecurrences must not exceed CountRecurrences",
                );
            }
        }
        let mut seen = HashSet::new();
        for feature in &self.features {
            let mut fp = p.nested(format_args!("feature '{}'", feature.feature));
            fp.check(
                seen.insert(feature.feature.as_str()),
                "Features",
                "feature appears more than once",
            );
            feature.check(&mut fp);
        }
        into_result(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Tier, TierMode, TierPrice};

    fn r(s: &str) -> Reference {
        Reference::parse(s).unwrap()
    }

    fn seats(pricing: FeaturePricing) -> OfferFeature {
        OfferFeature {
            feature: r("seats"),
            feature_type: FeatureType::Limitation,
            is_included: true,
            is_enabled: true,
            quantity_included: Some(2),
            pricing,
            updatable_before_subscription: true,
            updatable_after_subscription: true,
            free_in_trial: false,
        }
    }

    fn offer() -> Offer {
        Offer {
            reference: r("pro-monthly"),
            name: "Pro".into(),
            description: None,
            is_visible: true,
            currency: Currency::EUR,
            amount_upfront: 0,
            trial: Some(Trial {
                amount: 0,
                duration: 14,
                unit: PeriodUnit::Day,
            }),
            amount_recurrence: 19000,
            recurrence: Recurrence::monthly(),
            count_recurrences: None,
            count_min_recurrences: None,
            amount_termination: 0,
            features: vec![seats(FeaturePricing::PerUnit { amount: 700 })],
        }
    }

    #[test]
    fn a_good_offer_validates() {
        assert_eq!(offer().validate(), Ok(()));
        assert!(offer().is_priced());
        assert!(offer().feature("seats").is_some());
        assert!(offer().feature("storage").is_none());
    }

    #[test]
    fn free_offer_is_not_priced() {
        let mut o = offer();
        o.amount_recurrence = 0;
        o.features[0].pricing = FeaturePricing::None;
        assert!(!o.is_priced());
        o.features[0].pricing = FeaturePricing::PerUnit { amount: 1 };
        assert!(o.is_priced());
    }

    #[test]
    fn errors_name_the_offer_feature_and_field() {
        let mut o = offer();
        o.features[0].pricing = FeaturePricing::Tiered {
            mode: TierMode::Graduated,
            tiers: vec![
                Tier {
                    up_to: Some(10),
                    price: TierPrice::PerUnit(1500),
                },
                Tier {
                    up_to: Some(5),
                    price: TierPrice::PerUnit(1200),
                },
                Tier {
                    up_to: None,
                    price: TierPrice::PerUnit(800),
                },
            ],
        };
        let errors = o.validate().unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].to_string(),
            "offer 'pro-monthly': feature 'seats': tiers must be ascending"
        );
        assert_eq!(errors[0].field, "Tiers");
    }

    #[test]
    fn every_problem_is_reported() {
        let mut o = offer();
        o.name = String::new();
        o.amount_recurrence = -1;
        o.recurrence.count = 0;
        o.trial = Some(Trial {
            amount: -1,
            duration: 0,
            unit: PeriodUnit::Day,
        });
        o.count_recurrences = Some(3);
        o.count_min_recurrences = Some(6);
        o.features
            .push(seats(FeaturePricing::OnOff { amount: 100 }));
        let messages: Vec<String> = o
            .validate()
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            messages,
            [
                "offer 'pro-monthly': name must not be empty",
                "offer 'pro-monthly': AmountRecurrence must not be negative",
                "offer 'pro-monthly': DurationRecurrence must be at least 1",
                "offer 'pro-monthly': AmountTrial must not be negative",
                "offer 'pro-monthly': DurationTrial must be at least 1",
                "offer 'pro-monthly': CountMinRecurrences must not exceed CountRecurrences",
                "offer 'pro-monthly': feature 'seats': feature appears more than once",
                "offer 'pro-monthly': feature 'seats': an on/off price does not fit a Limitation feature",
            ]
        );
    }

    #[test]
    fn onoff_features_take_onoff_prices_only() {
        let mut o = offer();
        o.features = vec![OfferFeature {
            feature: r("sso"),
            feature_type: FeatureType::OnOff,
            is_included: false,
            is_enabled: false,
            quantity_included: Some(1),
            pricing: FeaturePricing::PerUnit { amount: 100 },
            updatable_before_subscription: true,
            updatable_after_subscription: true,
            free_in_trial: true,
        }];
        let errors = o.validate().unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].field, "Pricing");
        assert_eq!(errors[1].field, "QuantityIncluded");
        o.features[0].pricing = FeaturePricing::OnOff { amount: 1000 };
        o.features[0].quantity_included = None;
        assert_eq!(o.validate(), Ok(()));
    }

    #[test]
    fn serde_round_trip() {
        let json = serde_json::to_string(&offer()).unwrap();
        assert!(json.contains(r#""currency":"EUR""#));
        assert!(json.contains(r#""recurrence":{"unit":"Month","count":1}"#));
        let back: Offer = serde_json::from_str(&json).unwrap();
        assert_eq!(back, offer());
    }
}
