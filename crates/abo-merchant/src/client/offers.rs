//! Offers: the catalogue, optionally for one customer.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ApiError, Client, Extra, Link, Page, Query, link_href};

/// An offer (`/v1/Offer`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Offer {
    /// Abo's id.
    pub id: i64,
    /// Segment id.
    pub id_segment: i64,
    /// The offer's reference.
    pub reference_offer: String,
    /// Segment reference.
    pub reference_segment: String,
    /// Internal name.
    pub name: String,
    /// Shown in pricing tables.
    pub is_visible: bool,
    /// Has a price.
    pub is_priced: bool,
    /// Title shown to customers.
    pub title_localized: String,
    /// Description shown to customers.
    pub description_localized: Option<String>,
    /// Prices (`PricingLocalized`, `AmountRecurrence`, ...), as sent.
    pub pricing: Option<Value>,
    /// Features, as sent.
    pub features: Option<Vec<Value>>,
    /// Hosted links (`hosted-subscribe` when asked for a customer).
    pub links: Option<Vec<Link>>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Offer {
    /// The `href` of the link named `rel`.
    pub fn link(&self, rel: &str) -> Option<&str> {
        self.links.as_deref().and_then(|l| link_href(l, rel))
    }
}

/// Filters of `GET /v1/Offers`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOffers {
    /// Links and prices for this customer.
    pub reference_customer: Option<String>,
    /// Only this segment.
    pub reference_segment: Option<String>,
    /// Only visible offers.
    pub is_visible: Option<bool>,
    /// Offers the customer's subscription may change to.
    pub upgrade: Option<bool>,
    /// Language of the `*Localized` fields.
    pub language: Option<String>,
    /// 1-based page.
    pub page: Option<i64>,
    /// Page size.
    pub size_page: Option<i64>,
}

impl Client {
    /// `GET /v1/Offers`.
    pub async fn list_offers(&self, filter: &ListOffers) -> Result<Page<Offer>, ApiError> {
        let q = Query::new()
            .opt("ReferenceCustomer", filter.reference_customer.as_deref())
            .opt("ReferenceSegment", filter.reference_segment.as_deref())
            .opt("IsVisible", filter.is_visible)
            .opt("Upgrade", filter.upgrade)
            .opt("Language", filter.language.as_deref())
            .opt("Page", filter.page)
            .opt("SizePage", filter.size_page);
        self.get_page("/v1/Offers", &q).await
    }

    /// `GET /v1/Offer`: one offer, with the customer's subscribe link when
    /// `reference_customer` is given.
    pub async fn get_offer(
        &self,
        reference_offer: &str,
        reference_customer: Option<&str>,
    ) -> Result<Offer, ApiError> {
        let q = Query::new()
            .add("ReferenceOffer", reference_offer)
            .opt("ReferenceCustomer", reference_customer);
        self.get_one("/v1/Offer", &q).await
    }
}
