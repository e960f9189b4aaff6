//! Features: the rights an offer grants (spec §1.5).

use serde::{Deserialize, Serialize};

use super::{CatalogError, Problems, into_result};
use crate::reference::Reference;

string_enum! {
    /// ProAbono's `TypeFeature`.
    pub enum FeatureType {
        /// Binary: included or not (`IsIncluded`), enabled or not (`IsEnabled`).
        OnOff,
        /// A persistent quota (`QuantityCurrent`), never reset.
        Limitation,
        /// A metered quantity, reset at each renewal.
        Consumption,
    }
}

impl FeatureType {
    /// Whether the feature carries a quantity (Limitation, Consumption).
    pub const fn has_quantity(self) -> bool {
        !matches!(self, FeatureType::OnOff)
    }
}

/// A feature of the business (features are business-wide, spec §1.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feature {
    pub reference: Reference,
    pub name: String,
    pub description: Option<String>,
    pub feature_type: FeatureType,
    pub is_visible: bool,
}

impl Feature {
    pub fn validate(&self) -> Result<(), Vec<CatalogError>> {
        let mut errors = Vec::new();
        let mut p = Problems::new(format!("feature '{}'", self.reference), &mut errors);
        p.check(
            !self.name.trim().is_empty(),
            "Name",
            "name must not be empty",
        );
        into_result(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(FeatureType::OnOff.to_string(), "OnOff");
        assert_eq!(
            "limitation".parse::<FeatureType>().unwrap(),
            FeatureType::Limitation
        );
        assert_eq!(
            serde_json::to_string(&FeatureType::Consumption).unwrap(),
            "\"Consumption\""
        );
        assert!(!FeatureType::OnOff.has_quantity());
        assert!(FeatureType::Consumption.has_quantity());
    }

    #[test]
    fn validation() {
        let mut f = Feature {
            reference: Reference::parse("seats").unwrap(),
            name: "Seats".into(),
            description: None,
            feature_type: FeatureType::Limitation,
            is_visible: true,
        };
        assert!(f.validate().is_ok());
        f.name = " ".into();
        let errors = f.validate().unwrap_err();
        assert_eq!(
            errors[0].to_string(),
            "feature 'seats': name must not be empty"
        );
    }
}
