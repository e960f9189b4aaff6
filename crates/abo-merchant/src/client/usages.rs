//! Usages: a customer's rights per feature, read and written.

use serde::{Deserialize, Serialize};

use super::{ApiError, Client, Extra, Page, Query};

/// A customer's usage of one feature (`/v1/Usage`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Usage {
    /// Feature id.
    pub id_feature: i64,
    /// Customer id.
    pub id_customer: i64,
    /// Subscription id.
    pub id_subscription: i64,
    /// Feature reference.
    pub reference_feature: String,
    /// Customer reference.
    pub reference_customer: String,
    /// `OnOff`, `Limitation`, `Consumption`.
    pub type_feature: String,
    /// OnOff: part of the subscription.
    pub is_included: Option<bool>,
    /// OnOff: switched on. Enforce this, not `IsIncluded`.
    pub is_enabled: Option<bool>,
    /// Included quantity; absent means unlimited.
    pub quantity_included: Option<i64>,
    /// Current quantity.
    pub quantity_current: Option<i64>,
    /// Period start.
    pub date_period_start: Option<String>,
    /// Period end.
    pub date_period_end: Option<String>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Which usage to read (`GET /v1/Usage`, `GET /v1/Usages`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageQuery {
    /// Customer reference.
    pub reference_customer: Option<String>,
    /// Feature reference.
    pub reference_feature: Option<String>,
    /// Subscription id.
    pub id_subscription: Option<i64>,
    /// 1-based page (lists only).
    pub page: Option<i64>,
    /// Page size (lists only).
    pub size_page: Option<i64>,
}

impl UsageQuery {
    /// The usage of `reference_feature` by `reference_customer`.
    pub fn new(
        reference_customer: impl Into<String>,
        reference_feature: impl Into<String>,
    ) -> Self {
        UsageQuery {
            reference_customer: Some(reference_customer.into()),
            reference_feature: Some(reference_feature.into()),
            ..Default::default()
        }
    }

    fn query(&self) -> Query {
        Query::new()
            .opt("ReferenceCustomer", self.reference_customer.as_deref())
            .opt("ReferenceFeature", self.reference_feature.as_deref())
            .opt("IdSubscription", self.id_subscription)
            .opt("Page", self.page)
            .opt("SizePage", self.size_page)
    }
}

/// A usage write: exactly one of `increment`, `quantity_current`, `is_enabled`.
///
/// Prefer `quantity_current` (absolute, safe to retry) for limitations, and send an
/// `Idempotency-Key` with increments ([`Client::post_usage_idempotent`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct UsageRequest {
    /// Customer reference.
    pub reference_customer: String,
    /// Feature reference.
    pub reference_feature: String,
    /// Subscription, when the customer has several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_subscription: Option<i64>,
    /// Add this much (consumption).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub increment: Option<i64>,
    /// Set the quantity to this (limitation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity_current: Option<i64>,
    /// Switch an OnOff feature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_enabled: Option<bool>,
    /// When it happened (ISO 8601); default now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_stamp: Option<String>,
}

impl UsageRequest {
    /// Adds `n` to a consumption feature.
    pub fn increment(
        reference_customer: impl Into<String>,
        reference_feature: impl Into<String>,
        n: i64,
    ) -> Self {
        UsageRequest {
            reference_customer: reference_customer.into(),
            reference_feature: reference_feature.into(),
            increment: Some(n),
            ..Default::default()
        }
    }

    /// Sets the current quantity of a limitation feature.
    pub fn set_quantity(
        reference_customer: impl Into<String>,
        reference_feature: impl Into<String>,
        n: i64,
    ) -> Self {
        UsageRequest {
            reference_customer: reference_customer.into(),
            reference_feature: reference_feature.into(),
            quantity_current: Some(n),
            ..Default::default()
        }
    }

    /// Switches an OnOff feature.
    pub fn enable(
        reference_customer: impl Into<String>,
        reference_feature: impl Into<String>,
        on: bool,
    ) -> Self {
        UsageRequest {
            reference_customer: reference_customer.into(),
            reference_feature: reference_feature.into(),
            is_enabled: Some(on),
            ..Default::default()
        }
    }
}

impl Client {
    /// `GET /v1/Usage`; [`ApiError::NotFound`] (`Error.Api.Usage.NoneMatching`) when the
    /// customer has no subscription with the feature.
    pub async fn get_usage(&self, query: &UsageQuery) -> Result<Usage, ApiError> {
        self.get_one("/v1/Usage", &query.query()).await
    }

    /// `GET /v1/Usages`: every usage matching (an empty page when none).
    pub async fn list_usages(&self, query: &UsageQuery) -> Result<Page<Usage>, ApiError> {
        self.get_page("/v1/Usages", &query.query()).await
    }

    /// `POST /v1/Usage`.
    pub async fn post_usage(&self, usage: &UsageRequest) -> Result<Usage, ApiError> {
        self.post_one("/v1/Usage", &Query::new(), usage).await
    }

    /// `POST /v1/Usage` with an `Idempotency-Key`: a retry with the same key counts once.
    pub async fn post_usage_idempotent(
        &self,
        usage: &UsageRequest,
        key: &str,
    ) -> Result<Usage, ApiError> {
        let request = self
            .request(reqwest::Method::POST, "/v1/Usage", &Query::new())
            .header("Idempotency-Key", key)
            .json(usage);
        self.one(request).await
    }

    /// `POST /v1/Usages`: up to 50 writes in one call; the usages after them.
    pub async fn post_usages(&self, usages: &[UsageRequest]) -> Result<Vec<Usage>, ApiError> {
        self.post_one("/v1/Usages", &Query::new(), usages).await
    }
}
