//! Pricing tables ("offer grids"): offers grouped for display, e.g. Monthly
//! vs Annual. An offer in no visible table is a private offer (spec §1.4).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::{CatalogError, Problems, into_result};
use crate::reference::Reference;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricingTable {
    pub reference: Reference,
    pub name: String,
    /// Offers in display order.
    pub offers: Vec<Reference>,
}

impl PricingTable {
    pub fn contains(&self, offer: &str) -> bool {
        self.offers.iter().any(|o| o.as_str() == offer)
    }

    pub fn validate(&self) -> Result<(), Vec<CatalogError>> {
        let mut errors = Vec::new();
        let mut p = Problems::new(format!("pricing table '{}'", self.reference), &mut errors);
        p.check(
            !self.name.trim().is_empty(),
            "Name",
            "name must not be empty",
        );
        let mut seen = HashSet::new();
        for offer in &self.offers {
            p.check(
                seen.insert(offer.as_str()),
                "Offers",
                format!("offer '{offer}' appears more than once"),
            );
        }
        into_result(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Reference {
        Reference::parse(s).unwrap()
    }

    #[test]
    fn validation() {
        let mut t = PricingTable {
            reference: r("monthly"),
            name: "Monthly".into(),
            offers: vec![r("basic"), r("pro")],
        };
        assert_eq!(t.validate(), Ok(()));
        assert!(t.contains("pro"));
        assert!(!t.contains("enterprise"));
        t.offers.push(r("pro"));
        assert_eq!(
            t.validate().unwrap_err()[0].to_string(),
            "pricing table 'monthly': offer 'pro' appears more than once"
        );
    }
}
