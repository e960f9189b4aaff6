//! Customers: upsert, get, list, billing address, payment settings, and their hosted links.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{ApiError, Client, Extra, Link, Page, Query, link_href};

/// A customer (`GET/POST /v1/Customer`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Customer {
    /// Abo's id (the `idc` of return URLs, the customer of link tokens).
    pub id: i64,
    /// Segment id.
    pub id_segment: i64,
    /// The merchant's own reference (its user id).
    pub reference_customer: String,
    /// Segment reference.
    pub reference_segment: String,
    /// ISO 4217 currency of the segment.
    pub currency: String,
    /// Display name.
    pub name: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// `en`, `fr`, ...
    pub language: Option<String>,
    /// `Enabled`, `Suspended`, ...
    pub status: String,
    /// Affiliation reference.
    pub reference_affiliation: Option<String>,
    /// The merchant's key/value pairs.
    pub metadata: Map<String, Value>,
    /// Hosted links: `hosted-home`, `hosted-collection-offers`, `hosted-register`, and
    /// `hosted-subscribe` when the upsert named an offer. Empty for a suspended customer.
    pub links: Vec<Link>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Customer {
    /// The `href` of the link named `rel`.
    pub fn link(&self, rel: &str) -> Option<&str> {
        link_href(&self.links, rel)
    }

    /// The portal home (`hosted-home`): what the 'Subscription' page frames by default.
    pub fn hosted_home(&self) -> Option<&str> {
        self.link("hosted-home")
    }
}

/// The body of `POST /v1/Customer`: creates the customer or updates the given fields.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct CustomerRequest {
    /// The merchant's reference (required).
    pub reference_customer: String,
    /// Segment, when the business has several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_segment: Option<String>,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// E-mail address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Affiliation reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_affiliation: Option<String>,
    /// An offer: the answer then carries `hosted-subscribe` for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_offer: Option<String>,
    /// Key/value pairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

impl CustomerRequest {
    /// A request for the customer `reference_customer`.
    pub fn new(reference_customer: impl Into<String>) -> Self {
        CustomerRequest {
            reference_customer: reference_customer.into(),
            ..Default::default()
        }
    }

    /// Sets the name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the e-mail address.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// Sets the language.
    pub fn language(mut self, language: impl Into<String>) -> Self {
        self.language = Some(language.into());
        self
    }

    /// Sets the segment.
    pub fn segment(mut self, reference_segment: impl Into<String>) -> Self {
        self.reference_segment = Some(reference_segment.into());
        self
    }

    /// Asks for the `hosted-subscribe` link of this offer.
    pub fn offer(mut self, reference_offer: impl Into<String>) -> Self {
        self.reference_offer = Some(reference_offer.into());
        self
    }
}

/// Filters of `GET /v1/Customers`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListCustomers {
    /// Only this segment.
    pub reference_segment: Option<String>,
    /// Only customers with an active subscription including this feature.
    pub reference_feature: Option<String>,
    /// 1-based page.
    pub page: Option<i64>,
    /// Page size (at most 1000; 0 counts only).
    pub size_page: Option<i64>,
}

/// A customer's billing address (every field optional; an update changes only the fields
/// given).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct BillingAddress {
    /// Company name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    /// First name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Address line 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line1: Option<String>,
    /// Address line 2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line2: Option<String>,
    /// Postal code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zip_code: Option<String>,
    /// City.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2 country (decides the tax).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Region or state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Phone number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// VAT number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_information: Option<String>,
}

/// A customer's payment settings (`GET /v1/CustomerSettingsPayment`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct PaymentSettings {
    /// `None`, `Card`, `Sepa`, `Offline`, ...
    pub type_payment: String,
    /// Billing mode.
    pub mode_billing: String,
    /// On the grey list (payment forms refused).
    pub is_grey_listed: bool,
    /// Note printed on invoices.
    pub note_invoice: Option<String>,
    /// Next billing date.
    pub date_next_billing: Option<String>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A partial update of the payment settings: only the fields given change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct PaymentSettingsUpdate {
    /// A manual type (`ExternalBank`, `ExternalCheck`, ...) lets the customer be billed
    /// without a payment method on file; `Card` and `DirectDebit` are set by the hosted
    /// payment forms, not by the API.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_payment: Option<String>,
    /// Billing mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode_billing: Option<String>,
    /// Automatic billing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_auto_billing: Option<bool>,
    /// Note printed on invoices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note_invoice: Option<String>,
    /// Next billing date (ISO 8601).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_next_billing: Option<String>,
}

impl Client {
    /// `POST /v1/Customer`: creates the customer or updates the fields given, and returns it
    /// with fresh hosted links. Call it when rendering the 'Subscription' page (part 1).
    pub async fn upsert_customer(&self, request: &CustomerRequest) -> Result<Customer, ApiError> {
        self.post_one("/v1/Customer", &Query::new(), request).await
    }

    /// `GET /v1/Customer`: the customer with this reference, with fresh hosted links;
    /// [`ApiError::NotFound`] when unknown.
    pub async fn get_customer(&self, reference_customer: &str) -> Result<Customer, ApiError> {
        let q = Query::new().add("ReferenceCustomer", reference_customer);
        self.get_one("/v1/Customer", &q).await
    }

    /// `GET /v1/Customers`: a page of customers (list items carry no links).
    pub async fn list_customers(&self, filter: &ListCustomers) -> Result<Page<Customer>, ApiError> {
        let q = Query::new()
            .opt("ReferenceSegment", filter.reference_segment.as_deref())
            .opt("ReferenceFeature", filter.reference_feature.as_deref())
            .opt("Page", filter.page)
            .opt("SizePage", filter.size_page);
        self.get_page("/v1/Customers", &q).await
    }

    /// `GET /v1/CustomerAddressBilling`; [`ApiError::Forbidden`]
    /// (`Error.Api.Customer.Unaccessible`) for an unknown customer.
    pub async fn get_billing_address(
        &self,
        reference_customer: &str,
    ) -> Result<BillingAddress, ApiError> {
        let q = Query::new().add("ReferenceCustomer", reference_customer);
        self.get_one("/v1/CustomerAddressBilling", &q).await
    }

    /// `POST /v1/CustomerAddressBilling`: updates the fields given.
    pub async fn update_billing_address(
        &self,
        reference_customer: &str,
        address: &BillingAddress,
    ) -> Result<BillingAddress, ApiError> {
        let q = Query::new().add("ReferenceCustomer", reference_customer);
        self.post_one("/v1/CustomerAddressBilling", &q, address)
            .await
    }

    /// `GET /v1/CustomerSettingsPayment`.
    pub async fn get_payment_settings(
        &self,
        reference_customer: &str,
    ) -> Result<PaymentSettings, ApiError> {
        let q = Query::new().add("ReferenceCustomer", reference_customer);
        self.get_one("/v1/CustomerSettingsPayment", &q).await
    }

    /// `POST /v1/CustomerSettingsPayment`: updates the fields given.
    pub async fn update_payment_settings(
        &self,
        reference_customer: &str,
        update: &PaymentSettingsUpdate,
    ) -> Result<PaymentSettings, ApiError> {
        let q = Query::new().add("ReferenceCustomer", reference_customer);
        self.post_one("/v1/CustomerSettingsPayment", &q, update)
            .await
    }

    /// The customer's current hosted links (`GET /v1/Customer`'s `Links`).
    pub async fn customer_links(&self, reference_customer: &str) -> Result<Vec<Link>, ApiError> {
        Ok(self.get_customer(reference_customer).await?.links)
    }

    /// `POST /v1/Customer/LinksRevokation`: revokes every link issued so far (e-mailed ones
    /// included) and returns the customer with new links.
    pub async fn revoke_customer_links(
        &self,
        reference_customer: &str,
    ) -> Result<Customer, ApiError> {
        let q = Query::new().add("ReferenceCustomer", reference_customer);
        self.post_empty_one("/v1/Customer/LinksRevokation", &q)
            .await
    }
}
