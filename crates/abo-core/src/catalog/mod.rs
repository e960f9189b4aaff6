//! The offer catalogue of a segment: features, offers with their feature
//! pricing and tiers, pricing tables and discounts (spec §1.4, §1.5).
//!
//! These are the templates a subscription copies at subscribe time; the
//! validation here is what the back office runs before saving one.

mod discount;
mod feature;
mod offer;
mod pricing_table;
mod tier;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use discount::{Discount, DiscountTarget, DiscountValue};
pub use feature::{Feature, FeatureType};
pub use offer::{Offer, OfferFeature, Trial};
pub use pricing_table::PricingTable;
pub use tier::{FeaturePricing, Tier, TierMode, TierPrice, price_quantity};

/// One problem found while validating the catalogue.
///
/// `path` names the object ("offer 'pro-monthly': feature 'seats'"), `field`
/// the ProAbono field at fault (`"Tiers"`, usable as a 422 `Target`), and the
/// whole renders as "offer 'pro-monthly': feature 'seats': tiers must be
/// ascending".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogError {
    pub path: String,
    pub field: String,
    pub message: String,
}

impl CatalogError {
    pub fn new(
        path: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> CatalogError {
        CatalogError {
            path: path.into(),
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for CatalogError {}

/// Collects validation problems under a common path.
pub(crate) struct Problems<'a> {
    path: String,
    errors: &'a mut Vec<CatalogError>,
}

impl<'a> Problems<'a> {
    pub(crate) fn new(path: String, errors: &'a mut Vec<CatalogError>) -> Self {
        Problems { path, errors }
    }

    pub(crate) fn push(&mut self, field: &str, message: impl Into<String>) {
        self.errors
            .push(CatalogError::new(self.path.clone(), field, message));
    }

    pub(crate) fn check(&mut self, ok: bool, field: &str, message: impl Into<String>) {
        if !ok {
            self.push(field, message);
        }
    }

    /// A nested collector, e.g. from "offer 'x'" to "offer 'x': feature 'y'".
    pub(crate) fn nested(&mut self, segment: impl fmt::Display) -> Problems<'_> {
        Problems {
            path: format!("{}: {segment}", self.path),
            errors: self.errors,
        }
    }
}

/// Ok when nothing was found.
pub(crate) fn into_result(errors: Vec<CatalogError>) -> Result<(), Vec<CatalogError>> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}
