//! Turns the catalogue file into the core catalogue, checking every entry.
//!
//! All problems are collected (not just the first), each naming its entry,
//! e.g. `offer 'pro-monthly': feature 'seats': unknown feature`.

use super::file::{
    AmountText, CatalogFile, DiscountEntry, FeatureEntry, Included, OfferEntry, OfferFeatureEntry,
    PricingEntry, SegmentEntry, TierEntry,
};
use abo_core::{
    Currency, Discount, DiscountTarget, DiscountValue, Feature, FeaturePricing, FeatureType, Offer,
    OfferFeature, PeriodUnit, PricingTable, Recurrence, Reference, Tier, TierMode, TierPrice,
    Trial,
};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::str::FromStr;

/// A segment as the catalogue describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentSpec {
    pub reference: Reference,
    pub name: String,
    pub currency: Currency,
    pub time_zone: String,
    pub locale: String,
    pub is_default: bool,
    pub url_integrated_form: Option<String>,
    pub url_integrated_portal: Option<String>,
    pub block_renewal_without_payment_method: Option<bool>,
    pub upgrade_at_renewal: Option<bool>,
}

/// The whole catalogue, validated. Offers, pricing tables and discounts carry
/// the reference of their segment.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub segments: Vec<SegmentSpec>,
    pub features: Vec<Feature>,
    pub offers: Vec<(Reference, Offer)>,
    pub pricing_tables: Vec<(Reference, PricingTable)>,
    pub discounts: Vec<(Reference, Discount)>,
}

/// Segments the catalogue does not define but that already exist in the
/// database (reference → currency), so a file may add offers to them.
pub type KnownSegments = HashMap<String, Currency>;

pub fn convert(file: &CatalogFile, existing: &KnownSegments) -> Result<Catalog, Vec<String>> {
    let mut errors = Vec::new();
    let mut catalog = Catalog::default();

    let mut currencies: KnownSegments = existing.clone();
    for entry in &file.segment {
        if let Some(segment) = segment(entry, &mut errors) {
            if catalog
                .segments
                .iter()
                .any(|s| s.reference == segment.reference)
            {
                errors.push(format!(
                    "segment '{}': defined twice",
                    segment.reference.as_str()
                ));
            }
            currencies.insert(segment.reference.as_str().to_string(), segment.currency);
            catalog.segments.push(segment);
        }
    }
    if catalog.segments.iter().filter(|s| s.is_default).count() > 1 {
        errors.push("only one segment can be the default".into());
    }

    let mut feature_types = HashMap::new();
    for entry in &file.feature {
        if let Some(feature) = feature(entry, &mut errors) {
            if feature_types
                .insert(feature.reference.as_str().to_string(), feature.feature_type)
                .is_some()
            {
                errors.push(format!(
                    "feature '{}': defined twice",
                    feature.reference.as_str()
                ));
            }
            catalog.features.push(feature);
        }
    }

    for entry in &file.offer {
        if let Some(pair) = offer(entry, &currencies, &feature_types, &mut errors) {
            if catalog
                .offers
                .iter()
                .any(|(s, o)| s == &pair.0 && o.reference == pair.1.reference)
            {
                errors.push(format!("offer '{}': defined twice", entry.reference));
            }
            catalog.offers.push(pair);
        }
    }

    for entry in &file.pricing_table {
        let path = format!("pricing table '{}'", entry.reference);
        let Some(segment) = segment_ref(&entry.segment, &currencies, &path, &mut errors) else {
            continue;
        };
        let mut offers = Vec::new();
        for offer in &entry.offers {
            if !catalog
                .offers
                .iter()
                .any(|(s, o)| s == &segment && o.reference.as_str() == offer)
            {
                errors.push(format!(
                    "{path}: offer '{offer}' is not defined in segment '{}'",
                    entry.segment
                ));
            } else if let Some(r) = reference(offer, &path, &mut errors) {
                offers.push(r);
            }
        }
        let Some(reference) = reference(&entry.reference, &path, &mut errors) else {
            continue;
        };
        let table = PricingTable {
            reference,
            name: entry.name.clone(),
            offers,
        };
        push_problems(table.validate(), &mut errors);
        catalog.pricing_tables.push((segment, table));
    }

    for entry in &file.discount {
        if let Some(pair) = discount(entry, &currencies, &feature_types, &mut errors) {
            catalog.discounts.push(pair);
        }
    }

    if errors.is_empty() {
        Ok(catalog)
    } else {
        Err(errors)
    }
}

fn segment(entry: &SegmentEntry, errors: &mut Vec<String>) -> Option<SegmentSpec> {
    let path = format!("segment '{}'", entry.reference);
    let reference = reference(&entry.reference, &path, errors);
    let currency = match Currency::from_code(&entry.currency) {
        Ok(c) => Some(c),
        Err(e) => {
            errors.push(format!("{path}: {e}"));
            None
        }
    };
    let time_zone = entry
        .time_zone
        .clone()
        .unwrap_or_else(|| "Europe/Paris".into());
    if jiff::tz::TimeZone::get(&time_zone).is_err() {
        errors.push(format!("{path}: unknown time zone '{time_zone}'"));
    }
    let locale = entry.locale.clone().unwrap_or_else(|| "en".into());
    if abo_core::Locale::parse(&locale).is_none() {
        errors.push(format!(
            "{path}: unsupported locale '{locale}' (use en or fr)"
        ));
    }
    for (field, url) in [
        ("url_integrated_form", &entry.url_integrated_form),
        ("url_integrated_portal", &entry.url_integrated_portal),
    ] {
        if let Some(url) = url
            && let Err(e) = abo_links::validate_integrated_url(url)
        {
            errors.push(format!("{path}: {field}: {e}"));
        }
    }
    Some(SegmentSpec {
        reference: reference?,
        name: entry
            .name
            .clone()
            .unwrap_or_else(|| entry.reference.clone()),
        currency: currency?,
        time_zone,
        locale,
        is_default: entry.default,
        url_integrated_form: entry.url_integrated_form.clone(),
        url_integrated_portal: entry.url_integrated_portal.clone(),
        block_renewal_without_payment_method: entry.block_renewal_without_payment_method,
        upgrade_at_renewal: entry.upgrade_at_renewal,
    })
}

fn feature(entry: &FeatureEntry, errors: &mut Vec<String>) -> Option<Feature> {
    let path = format!("feature '{}'", entry.reference);
    let reference = reference(&entry.reference, &path, errors);
    let feature_type = parse_enum::<FeatureType>(
        &entry.feature_type,
        "type",
        "OnOff, Limitation or Consumption",
        &path,
        errors,
    );
    let feature = Feature {
        reference: reference?,
        name: entry.name.clone(),
        description: entry.description.clone(),
        feature_type: feature_type?,
        is_visible: entry.visible,
    };
    push_problems(feature.validate(), errors);
    Some(feature)
}

fn offer(
    entry: &OfferEntry,
    currencies: &KnownSegments,
    feature_types: &HashMap<String, FeatureType>,
    errors: &mut Vec<String>,
) -> Option<(Reference, Offer)> {
    let path = format!("offer '{}'", entry.reference);
    let segment = segment_ref(&entry.segment, currencies, &path, errors);
    let currency = currencies.get(&entry.segment).copied();
    let reference = reference(&entry.reference, &path, errors);
    let recurrence = recurrence(&entry.recurrence, "recurrence", &path, errors);
    let trial = entry.trial.as_ref().and_then(|t| {
        let r = recurrence_of(&t.duration, "trial.duration", &path, errors)?;
        let amount = match (&t.amount, currency) {
            (Some(a), Some(c)) => amount(a, c, "trial.amount", &path, errors)?,
            _ => 0,
        };
        Some(Trial {
            amount,
            duration: r.count,
            unit: r.unit,
        })
    });
    let currency = currency?;
    let amount_recurrence = amount(
        &entry.amount_recurrence,
        currency,
        "amount_recurrence",
        &path,
        errors,
    );
    let amount_upfront = optional_amount(
        &entry.amount_upfront,
        currency,
        "amount_upfront",
        &path,
        errors,
    );
    let amount_termination = optional_amount(
        &entry.amount_termination,
        currency,
        "amount_termination",
        &path,
        errors,
    );
    let mut features = Vec::new();
    for f in &entry.feature {
        if let Some(of) = offer_feature(f, currency, feature_types, &path, errors) {
            if features
                .iter()
                .any(|x: &OfferFeature| x.feature == of.feature)
            {
                errors.push(format!("{path}: feature '{}' listed twice", f.feature));
            }
            features.push(of);
        }
    }
    let offer = Offer {
        reference: reference?,
        name: entry.name.clone(),
        description: entry.description.clone(),
        is_visible: entry.visible,
        currency,
        amount_upfront: amount_upfront?,
        trial,
        amount_recurrence: amount_recurrence?,
        recurrence: recurrence?,
        count_recurrences: entry.recurrences,
        count_min_recurrences: entry.min_recurrences,
        amount_termination: amount_termination?,
        features,
    };
    push_problems(offer.validate(), errors);
    Some((segment?, offer))
}

fn offer_feature(
    entry: &OfferFeatureEntry,
    currency: Currency,
    feature_types: &HashMap<String, FeatureType>,
    offer_path: &str,
    errors: &mut Vec<String>,
) -> Option<OfferFeature> {
    let path = format!("{offer_path}: feature '{}'", entry.feature);
    let Some(&feature_type) = feature_types.get(&entry.feature) else {
        errors.push(format!(
            "{path}: unknown feature (define it in a [[feature]] entry)"
        ));
        return None;
    };
    let (is_included, quantity_included) = match (feature_type, &entry.included, entry.unlimited) {
        (_, Some(_), true) => {
            errors.push(format!(
                "{path}: give either `included` or `unlimited = true`, not both"
            ));
            return None;
        }
        (FeatureType::OnOff, Some(Included::Flag(b)), false) => (*b, None),
        (FeatureType::OnOff, None, false) => (false, None),
        (FeatureType::OnOff, _, _) => {
            errors.push(format!(
                "{path}: an OnOff feature takes `included = true` or `false`"
            ));
            return None;
        }
        (_, Some(Included::Quantity(q)), false) => (true, Some(*q)),
        (_, None, true) => (true, None),
        (_, None, false) => (true, Some(0)),
        (_, Some(Included::Flag(_)), false) => {
            errors.push(format!("{path}: a {feature_type} feature takes `included = <quantity>` or `unlimited = true`"));
            return None;
        }
    };
    let pricing = match &entry.pricing {
        None => FeaturePricing::None,
        Some(p) => pricing(p, currency, &path, errors)?,
    };
    Some(OfferFeature {
        feature: reference(&entry.feature, &path, errors)?,
        feature_type,
        is_included,
        is_enabled: entry.enabled,
        quantity_included,
        pricing,
        updatable_before_subscription: entry.updatable_before_subscription,
        updatable_after_subscription: entry.updatable_after_subscription,
        free_in_trial: entry.free_in_trial,
    })
}

fn pricing(
    entry: &PricingEntry,
    currency: Currency,
    path: &str,
    errors: &mut Vec<String>,
) -> Option<FeaturePricing> {
    match (&entry.unit, &entry.amount, &entry.mode, &entry.tiers) {
        (Some(unit), None, None, None) => Some(FeaturePricing::PerUnit {
            amount: amount(unit, currency, "pricing.unit", path, errors)?,
        }),
        (None, Some(a), None, None) => Some(FeaturePricing::OnOff {
            amount: amount(a, currency, "pricing.amount", path, errors)?,
        }),
        (None, None, Some(mode), Some(tiers)) => {
            let mode =
                parse_enum::<TierMode>(mode, "pricing.mode", "Graduated or Volume", path, errors)?;
            let mut out = Vec::new();
            for (i, t) in tiers.iter().enumerate() {
                out.push(tier(
                    t,
                    currency,
                    &format!("{path}: tier {}", i + 1),
                    errors,
                )?);
            }
            Some(FeaturePricing::Tiered { mode, tiers: out })
        }
        _ => {
            errors.push(format!(
                "{path}: pricing takes `unit`, `amount`, or `mode` with `tiers`"
            ));
            None
        }
    }
}

fn tier(
    entry: &TierEntry,
    currency: Currency,
    path: &str,
    errors: &mut Vec<String>,
) -> Option<Tier> {
    let price = match (&entry.unit, &entry.lot, &entry.flat) {
        (Some(u), None, None) => TierPrice::PerUnit(amount(u, currency, "unit", path, errors)?),
        (None, Some(lot), None) => TierPrice::PerLot {
            lot_size: lot.size,
            amount: amount(&lot.amount, currency, "lot.amount", path, errors)?,
        },
        (None, None, Some(f)) => TierPrice::Flat(amount(f, currency, "flat", path, errors)?),
        _ => {
            errors.push(format!(
                "{path}: a tier is priced by exactly one of `unit`, `lot` or `flat`"
            ));
            return None;
        }
    };
    Some(Tier {
        up_to: entry.up_to,
        price,
    })
}

fn discount(
    entry: &DiscountEntry,
    currencies: &KnownSegments,
    feature_types: &HashMap<String, FeatureType>,
    errors: &mut Vec<String>,
) -> Option<(Reference, Discount)> {
    let path = format!("discount '{}'", entry.reference);
    let segment = segment_ref(&entry.segment, currencies, &path, errors)?;
    let currency = *currencies.get(&entry.segment)?;
    let target = match (entry.target.to_ascii_lowercase().as_str(), &entry.feature) {
        ("upfront", None) => DiscountTarget::UpFront,
        ("recurrence", None) => DiscountTarget::Recurrence,
        ("feature", Some(f)) => {
            if !feature_types.contains_key(f) {
                errors.push(format!("{path}: unknown feature '{f}'"));
                return None;
            }
            DiscountTarget::Feature(reference(f, &path, errors)?)
        }
        ("feature", None) => {
            errors.push(format!(
                "{path}: target Feature needs `feature = \"<reference>\"`"
            ));
            return None;
        }
        (_, Some(_))
            if matches!(
                entry.target.to_ascii_lowercase().as_str(),
                "upfront" | "recurrence"
            ) =>
        {
            errors.push(format!("{path}: `feature` is only for target Feature"));
            return None;
        }
        _ => {
            errors.push(format!(
                "{path}: target must be UpFront, Recurrence or Feature, not '{}'",
                entry.target
            ));
            return None;
        }
    };
    let value = match (&entry.amount, &entry.percent) {
        (Some(a), None) => DiscountValue::Flat(amount(a, currency, "amount", &path, errors)?),
        (None, Some(p)) => match Decimal::from_str(p.trim()) {
            Ok(d) => DiscountValue::Percent(d),
            Err(_) => {
                errors.push(format!(
                    "{path}: percent must be a number such as \"12.5\", not '{p}'"
                ));
                return None;
            }
        },
        _ => {
            errors.push(format!("{path}: give exactly one of `amount` or `percent`"));
            return None;
        }
    };
    let discount = Discount {
        reference: reference(&entry.reference, &path, errors)?,
        name: entry.name.clone(),
        target,
        value,
        count_recurrences: entry.recurrences,
    };
    push_problems(discount.validate(), errors);
    Some((segment, discount))
}

// --- small parsers -------------------------------------------------------

fn reference(text: &str, path: &str, errors: &mut Vec<String>) -> Option<Reference> {
    match Reference::parse(text) {
        Ok(r) => Some(r),
        Err(e) => {
            errors.push(format!("{path}: {e}"));
            None
        }
    }
}

fn segment_ref(
    text: &str,
    known: &KnownSegments,
    path: &str,
    errors: &mut Vec<String>,
) -> Option<Reference> {
    if !known.contains_key(text) {
        errors.push(format!(
            "{path}: unknown segment '{text}' (define it in a [[segment]] entry)"
        ));
        return None;
    }
    reference(text, path, errors)
}

fn parse_enum<T: FromStr>(
    text: &str,
    field: &str,
    expected: &str,
    path: &str,
    errors: &mut Vec<String>,
) -> Option<T> {
    match text.parse::<T>() {
        Ok(v) => Some(v),
        Err(_) => {
            errors.push(format!("{path}: {field} must be {expected}, not '{text}'"));
            None
        }
    }
}

/// `"1 Month"`, `"14 Day"`, or just `"Month"` (count 1).
pub fn recurrence_of(
    text: &str,
    field: &str,
    path: &str,
    errors: &mut Vec<String>,
) -> Option<Recurrence> {
    let mut parts = text.split_whitespace();
    let (count, unit) = match (parts.next(), parts.next(), parts.next()) {
        (Some(unit), None, None) => (Some(1), unit),
        (Some(count), Some(unit), None) => (count.parse::<u32>().ok(), unit),
        _ => (None, ""),
    };
    let unit = unit.trim_end_matches(['s', 'S']);
    let parsed = count
        .zip(unit.parse::<PeriodUnit>().ok())
        .and_then(|(c, u)| Recurrence::new(u, c).ok());
    if parsed.is_none() {
        errors.push(format!("{path}: {field} must look like \"1 Month\" (units: Day, Week, Month, Year), not '{text}'"));
    }
    parsed
}

fn recurrence(text: &str, field: &str, path: &str, errors: &mut Vec<String>) -> Option<Recurrence> {
    recurrence_of(text, field, path, errors)
}

fn optional_amount(
    value: &Option<AmountText>,
    currency: Currency,
    field: &str,
    path: &str,
    errors: &mut Vec<String>,
) -> Option<i64> {
    match value {
        Some(v) => amount(v, currency, field, path, errors),
        None => Some(0),
    }
}

/// Converts an amount written in currency units to minor units, exactly.
pub fn amount(
    value: &AmountText,
    currency: Currency,
    field: &str,
    path: &str,
    errors: &mut Vec<String>,
) -> Option<i64> {
    let result = match value {
        AmountText::Int(i) => i
            .checked_mul(10i64.pow(u32::from(currency.exponent())))
            .ok_or_else(|| "is too large".to_string()),
        AmountText::Float(f) => Err(format!(
            "write amounts as strings (\"{f}\"), so they are exact"
        )),
        AmountText::Text(t) => parse_amount(t, currency),
    };
    match result {
        Ok(v) if v >= 0 => Some(v),
        Ok(_) => {
            errors.push(format!("{path}: {field} cannot be negative"));
            None
        }
        Err(e) => {
            errors.push(format!("{path}: {field} {e}"));
            None
        }
    }
}

fn parse_amount(text: &str, currency: Currency) -> Result<i64, String> {
    let d = Decimal::from_str(text.trim())
        .map_err(|_| format!("must be an amount such as \"19.00\", not '{text}'"))?;
    let exponent = u32::from(currency.exponent());
    if d.normalize().scale() > exponent {
        return Err(format!(
            "'{text}' has more decimals than {} allows ({exponent})",
            currency.code()
        ));
    }
    let scaled = d * Decimal::from(10i64.pow(exponent));
    i64::try_from(scaled.trunc()).map_err(|_| "is too large".to_string())
}

fn push_problems(result: Result<(), Vec<abo_core::CatalogError>>, errors: &mut Vec<String>) {
    if let Err(problems) = result {
        errors.extend(problems.iter().map(ToString::to_string));
    }
}
