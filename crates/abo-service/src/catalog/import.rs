//! `abo import`: create or update a business's catalogue from a file.
//!
//! Everything happens in one transaction: any error leaves the database as it
//! was, and importing the same file twice reports zero changes.

use super::convert::{self, Catalog, KnownSegments};
use super::file::CatalogFile;
use super::mapping::pricing_to_store;
use crate::error::{Result, ServiceError};
use abo_core::{Currency, DiscountTarget, DiscountValue};
use abo_store::{
    AnyConnection, Store, Written, discounts, features, offers, pricing_tables, segments,
};
use std::collections::HashMap;
use std::path::Path;

/// What an import did, per kind of entry.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

impl ImportReport {
    fn count(&mut self, written: Written) {
        match written {
            Written::Created => self.created += 1,
            Written::Updated => self.updated += 1,
            Written::Unchanged => self.unchanged += 1,
        }
    }
}

impl std::fmt::Display for ImportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} created, {} updated, {} unchanged",
            self.created, self.updated, self.unchanged
        )
    }
}

/// Parses catalogue text; the error names the line and column.
pub fn parse_catalog(text: &str) -> Result<CatalogFile> {
    toml::from_str(text).map_err(|e| {
        let message = e.message().trim().to_string();
        let at = e
            .span()
            .map(|span| {
                let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                format!("line {line}: ")
            })
            .unwrap_or_default();
        ServiceError::invalid(format!("{at}{message}"))
    })
}

/// Reads and imports a catalogue file for `business_id`.
pub async fn import_catalog_file(
    store: &Store,
    business_id: i64,
    path: &Path,
    now_us: i64,
) -> Result<ImportReport> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ServiceError::invalid(format!("cannot read {}: {e}", path.display())))?;
    let file = parse_catalog(&text).map_err(|e| match e {
        ServiceError::Invalid(m) => {
            ServiceError::Invalid(vec![format!("{}: {}", path.display(), m.join("; "))])
        }
        other => other,
    })?;
    import_catalog(store, business_id, &file, now_us).await
}

/// Imports a parsed catalogue for `business_id`, in one transaction.
pub async fn import_catalog(
    store: &Store,
    business_id: i64,
    file: &CatalogFile,
    now_us: i64,
) -> Result<ImportReport> {
    if let Some(segment) = file.segment.iter().find(|s| s.emails.is_some()) {
        return Err(ServiceError::invalid(format!(
            "segment {}: e-mail settings are imported with abo_mail::catalog (as `abo import` \
             does), which checks their types and templates",
            segment.reference
        )));
    }
    let mut tx = store.begin().await?;
    let report = import_catalog_in(&mut tx, business_id, file, now_us).await?;
    tx.commit().await?;
    Ok(report)
}

/// [`import_catalog`] inside the caller's transaction, without its `[segment.emails]` parts
/// (`abo_mail::catalog` imports the whole file: this, then the e-mail settings).
pub async fn import_catalog_in(
    conn: &mut AnyConnection,
    business_id: i64,
    file: &CatalogFile,
    now_us: i64,
) -> Result<ImportReport> {
    let mut known = KnownSegments::new();
    for s in segments::list(conn, business_id).await? {
        if let Ok(c) = Currency::from_code(&s.currency) {
            known.insert(s.reference, c);
        }
    }
    let catalog = convert::convert(file, &known).map_err(ServiceError::Invalid)?;
    write(conn, business_id, &catalog, now_us).await
}

async fn write(
    conn: &mut AnyConnection,
    business_id: i64,
    catalog: &Catalog,
    now_us: i64,
) -> Result<ImportReport> {
    let mut report = ImportReport::default();

    for spec in &catalog.segments {
        let new = segments::NewSegment {
            business_id,
            reference: spec.reference.as_str().to_string(),
            name: spec.name.clone(),
            currency: spec.currency.code().to_string(),
            time_zone: Some(spec.time_zone.clone()),
            locale: Some(spec.locale.clone()),
            is_default: spec.is_default,
            invoice_prefix: None,
            credit_note_prefix: None,
        };
        let (segment, mut written) = segments::upsert(conn, &new, now_us)
            .await
            .map_err(|e| entry_error("segment", &new.reference, e))?;
        // Settings the file leaves out keep their stored value.
        let patch = segments::SegmentSettingsPatch {
            url_integrated_form: Some(spec.url_integrated_form.clone()),
            url_integrated_portal: Some(spec.url_integrated_portal.clone()),
            block_renewal_without_payment_method: spec.block_renewal_without_payment_method,
            upgrade_at_renewal: spec.upgrade_at_renewal,
            ..Default::default()
        };
        let settings_differ = segment.url_integrated_form != spec.url_integrated_form
            || segment.url_integrated_portal != spec.url_integrated_portal
            || spec
                .block_renewal_without_payment_method
                .is_some_and(|v| v != segment.block_renewal_without_payment_method)
            || spec
                .upgrade_at_renewal
                .is_some_and(|v| v != segment.upgrade_at_renewal);
        if settings_differ {
            segments::update_settings(conn, business_id, segment.id, &patch, now_us).await?;
            if written == Written::Unchanged {
                written = Written::Updated;
            }
        }
        report.count(written);
    }

    let mut segment_ids = HashMap::new();
    for s in segments::list(conn, business_id).await? {
        segment_ids.insert(s.reference.clone(), s.id);
    }

    for feature in &catalog.features {
        let new = features::NewFeature {
            business_id,
            reference: feature.reference.as_str().to_string(),
            name: feature.name.clone(),
            description: feature.description.clone(),
            type_feature: feature.feature_type.to_string(),
            is_visible: feature.is_visible,
        };
        let (_, written) = features::upsert(conn, &new, now_us)
            .await
            .map_err(|e| entry_error("feature", &new.reference, e))?;
        report.count(written);
    }
    let mut feature_ids = HashMap::new();
    for f in features::list(conn, business_id).await? {
        feature_ids.insert(f.reference.clone(), f.id);
    }
    let feature_id = |reference: &str, path: &str| {
        feature_ids
            .get(reference)
            .copied()
            .ok_or_else(|| ServiceError::invalid(format!("{path}: unknown feature '{reference}'")))
    };

    let mut offer_ids = HashMap::new();
    for (segment, offer) in &catalog.offers {
        let path = format!("offer '{}'", offer.reference.as_str());
        let segment_id = segment_ids[segment.as_str()];
        let mut terms = Vec::new();
        for f in &offer.features {
            let (pricing_model, pricing_amount, tiers) = pricing_to_store(&f.pricing);
            terms.push(offers::FeatureTerms {
                feature_id: feature_id(f.feature.as_str(), &path)?,
                is_included: f.is_included,
                is_enabled: f.is_enabled,
                quantity_included: f
                    .quantity_included
                    .map(|q| i64::try_from(q).unwrap_or(i64::MAX)),
                pricing_model,
                pricing_amount,
                updatable_before_subscription: f.updatable_before_subscription,
                updatable_after_subscription: f.updatable_after_subscription,
                free_in_trial: f.free_in_trial,
                tiers,
            });
        }
        let new = offers::NewOffer {
            business_id,
            segment_id,
            reference: offer.reference.as_str().to_string(),
            name: offer.name.clone(),
            description: offer.description.clone(),
            is_visible: offer.is_visible,
            currency: offer.currency.code().to_string(),
            amount_upfront: offer.amount_upfront,
            amount_trial: offer.trial.map_or(0, |t| t.amount),
            duration_trial: offer.trial.map(|t| i64::from(t.duration)),
            unit_trial: offer.trial.map(|t| t.unit.to_string()),
            amount_recurrence: offer.amount_recurrence,
            duration_recurrence: i64::from(offer.recurrence.count),
            unit_recurrence: offer.recurrence.unit.to_string(),
            count_recurrences: offer.count_recurrences.map(i64::from),
            count_min_recurrences: offer.count_min_recurrences.map(i64::from),
            amount_termination: offer.amount_termination,
            features: terms,
        };
        let (stored, written) = offers::upsert(conn, &new, now_us)
            .await
            .map_err(|e| entry_error("offer", &new.reference, e))?;
        offer_ids.insert((segment_id, new.reference.clone()), stored.id);
        report.count(written);
    }

    for (segment, table) in &catalog.pricing_tables {
        let segment_id = segment_ids[segment.as_str()];
        let mut ids = Vec::new();
        for offer in &table.offers {
            let id = match offer_ids.get(&(segment_id, offer.as_str().to_string())) {
                Some(id) => *id,
                None => {
                    offers::get_by_reference(conn, business_id, segment_id, offer.as_str())
                        .await?
                        .id
                }
            };
            ids.push(id);
        }
        let new = pricing_tables::NewPricingTable {
            business_id,
            segment_id,
            reference: table.reference.as_str().to_string(),
            name: table.name.clone(),
            offer_ids: ids,
        };
        let (_, written) = pricing_tables::upsert(conn, &new, now_us)
            .await
            .map_err(|e| entry_error("pricing table", &new.reference, e))?;
        report.count(written);
    }

    for (segment, discount) in &catalog.discounts {
        let path = format!("discount '{}'", discount.reference.as_str());
        let (target, feature) = match &discount.target {
            DiscountTarget::UpFront => ("UpFront", None),
            DiscountTarget::Recurrence => ("Recurrence", None),
            DiscountTarget::Feature(f) => ("Feature", Some(feature_id(f.as_str(), &path)?)),
        };
        let (value_kind, amount, percent) = match discount.value {
            DiscountValue::Flat(a) => ("Flat", Some(a), None),
            DiscountValue::Percent(p) => ("Percent", None, Some(p.normalize().to_string())),
        };
        let new = discounts::NewDiscount {
            business_id,
            segment_id: segment_ids[segment.as_str()],
            reference: discount.reference.as_str().to_string(),
            name: discount.name.clone(),
            target: target.to_string(),
            feature_id: feature,
            value_kind: value_kind.to_string(),
            amount,
            percent,
            count_recurrences: discount.count_recurrences.map(i64::from),
        };
        let (_, written) = discounts::upsert(conn, &new, now_us)
            .await
            .map_err(|e| entry_error("discount", &new.reference, e))?;
        report.count(written);
    }
    Ok(report)
}

/// Prefix a store error with the entry it concerns.
fn entry_error(kind: &str, reference: &str, err: abo_store::StoreError) -> ServiceError {
    ServiceError::invalid(format!("{kind} '{reference}': {err}"))
}
