//! Subscriptions: create, get, list, terminate, upgrade.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{ApiError, Client, Extra, Link, Page, Query, link_href};

/// A subscription (`/v1/Subscription`). Amounts are integers of minor units (cents).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Subscription {
    /// Abo's id.
    pub id: i64,
    /// Segment id.
    pub id_segment: i64,
    /// Offer id.
    pub id_offer: Option<i64>,
    /// Customer id.
    pub id_customer: i64,
    /// Segment reference.
    pub reference_segment: String,
    /// Offer reference.
    pub reference_offer: Option<String>,
    /// Customer reference.
    pub reference_customer: String,
    /// Paying customer reference.
    pub reference_customer_buyer: String,
    /// `ActiveRunning`, `ActiveTrial`, `SuspendedPaymentInfoMissing`, `Terminated`, ...
    /// (legacy names such as `Running` for keys set up with legacy states).
    pub state_subscription: String,
    /// ISO 4217.
    pub currency: String,
    /// Title.
    pub title_localized: String,
    /// Start date.
    pub date_start: Option<String>,
    /// End of the current period.
    pub date_period_end: Option<String>,
    /// Date of the next renewal or the end.
    pub date_term: Option<String>,
    /// Date it ended.
    pub date_end: Option<String>,
    /// In trial.
    pub is_trial: bool,
    /// Price per recurrence, in minor units.
    pub amount_recurrence: i64,
    /// Recurrence length.
    pub duration_recurrence: i64,
    /// `Month`, `Year`, `Day`, ...
    pub unit_recurrence: String,
    /// Features with their quantities.
    pub features: Vec<SubscriptionFeature>,
    /// Key/value pairs.
    pub metadata: Option<Map<String, Value>>,
    /// Hosted links (`hosted-related-subscription`, `hosted-upgrade`, ...).
    pub links: Vec<Link>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Subscription {
    /// The `href` of the link named `rel`.
    pub fn link(&self, rel: &str) -> Option<&str> {
        link_href(&self.links, rel)
    }

    /// Whether the customer currently has the subscription's rights (active or trial).
    pub fn is_active(&self) -> bool {
        self.state_subscription.starts_with("Active") || self.state_subscription == "Running"
    }
}

/// A feature of a subscription.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct SubscriptionFeature {
    /// Feature id.
    pub id: i64,
    /// Feature reference.
    pub reference_feature: String,
    /// `OnOff`, `Limitation`, `Consumption`.
    pub type_feature: String,
    /// OnOff: part of the offer.
    pub is_included: Option<bool>,
    /// OnOff: switched on.
    pub is_enabled: Option<bool>,
    /// Included quantity (absent = unlimited).
    pub quantity_included: Option<i64>,
    /// Current quantity.
    pub quantity_current: Option<i64>,
}

/// The body of `POST /v1/Subscription`.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct SubscriptionRequest {
    /// The customer (required).
    pub reference_customer: String,
    /// The offer (required).
    pub reference_offer: String,
    /// Another customer who pays.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_customer_buyer: Option<String>,
    /// Delayed start (ISO 8601).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_start: Option<String>,
    /// Key/value pairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

impl SubscriptionRequest {
    /// Subscribes `reference_customer` to `reference_offer`.
    pub fn new(reference_customer: impl Into<String>, reference_offer: impl Into<String>) -> Self {
        SubscriptionRequest {
            reference_customer: reference_customer.into(),
            reference_offer: reference_offer.into(),
            ..Default::default()
        }
    }
}

/// Query flags of `POST /v1/Subscription`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CreateOptions {
    /// Start now if possible (a priced offer needs a payment method).
    pub try_start: Option<bool>,
    /// Refuse unless the customer can be billed.
    pub ensure_billable: Option<bool>,
    /// Bill at once.
    pub bill_now: Option<bool>,
}

/// `POST /v1/Subscription/{id}/Termination` options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Termination {
    /// End now rather than at the end of the period.
    pub immediate: bool,
    /// End at this date (ISO 8601).
    pub date_termination: Option<String>,
}

/// `POST /v1/Subscription/{id}/Upgrade` options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Upgrade {
    /// The new offer (required).
    pub reference_offer: String,
    /// Change now (default) or at renewal.
    pub immediate: Option<bool>,
    /// Bill at once.
    pub bill_now: Option<bool>,
    /// Ignore the commitment.
    pub ignore_engagement: Option<bool>,
}

impl Upgrade {
    /// An upgrade to `reference_offer` with the server's defaults.
    pub fn to(reference_offer: impl Into<String>) -> Self {
        Upgrade {
            reference_offer: reference_offer.into(),
            ..Default::default()
        }
    }
}

/// Filters of `GET /v1/Subscriptions`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListSubscriptions {
    /// Only this customer.
    pub reference_customer: Option<String>,
    /// Only this paying customer.
    pub reference_customer_buyer: Option<String>,
    /// Only this segment.
    pub reference_segment: Option<String>,
    /// 1-based page.
    pub page: Option<i64>,
    /// Page size.
    pub size_page: Option<i64>,
}

impl Client {
    /// `POST /v1/Subscription`: subscribes a customer to an offer.
    pub async fn create_subscription(
        &self,
        request: &SubscriptionRequest,
        options: CreateOptions,
    ) -> Result<Subscription, ApiError> {
        let q = Query::new()
            .opt("TryStart", options.try_start)
            .opt("EnsureBillable", options.ensure_billable)
            .opt("BillNow", options.bill_now);
        self.post_one("/v1/Subscription", &q, request).await
    }

    /// `GET /v1/Subscription/{id}`.
    pub async fn get_subscription(&self, id: i64) -> Result<Subscription, ApiError> {
        self.get_one(&format!("/v1/Subscription/{id}"), &Query::new())
            .await
    }

    /// `GET /v1/Subscription?ReferenceCustomer=`: the customer's current subscription.
    pub async fn get_customer_subscription(
        &self,
        reference_customer: &str,
    ) -> Result<Subscription, ApiError> {
        let q = Query::new().add("ReferenceCustomer", reference_customer);
        self.get_one("/v1/Subscription", &q).await
    }

    /// `GET /v1/Subscriptions`.
    pub async fn list_subscriptions(
        &self,
        filter: &ListSubscriptions,
    ) -> Result<Page<Subscription>, ApiError> {
        let q = Query::new()
            .opt("ReferenceCustomer", filter.reference_customer.as_deref())
            .opt(
                "ReferenceCustomerBuyer",
                filter.reference_customer_buyer.as_deref(),
            )
            .opt("ReferenceSegment", filter.reference_segment.as_deref())
            .opt("Page", filter.page)
            .opt("SizePage", filter.size_page);
        self.get_page("/v1/Subscriptions", &q).await
    }

    /// `POST /v1/Subscription/{id}/Termination`.
    pub async fn terminate_subscription(
        &self,
        id: i64,
        options: &Termination,
    ) -> Result<Subscription, ApiError> {
        let q = Query::new()
            .add("Immediate", options.immediate)
            .opt("DateTermination", options.date_termination.as_deref());
        self.post_empty_one(&format!("/v1/Subscription/{id}/Termination"), &q)
            .await
    }

    /// `POST /v1/Subscription/{id}/Upgrade`: returns the **new** subscription.
    pub async fn upgrade_subscription(
        &self,
        id: i64,
        upgrade: &Upgrade,
    ) -> Result<Subscription, ApiError> {
        let q = Query::new()
            .add("ReferenceOffer", &upgrade.reference_offer)
            .opt("Immediate", upgrade.immediate)
            .opt("BillNow", upgrade.bill_now)
            .opt("IgnoreEngagement", upgrade.ignore_engagement);
        self.post_empty_one(&format!("/v1/Subscription/{id}/Upgrade"), &q)
            .await
    }
}
