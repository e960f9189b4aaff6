//! Invoices and credit notes.

use serde::{Deserialize, Serialize};

use super::{ApiError, Client, Extra, Link, Page, Query, link_href};

/// An invoice or credit note (`/v1/Invoice`). Amounts are integers of minor units.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Invoice {
    /// Abo's id.
    pub id: i64,
    /// Customer id.
    pub id_customer: i64,
    /// Customer reference.
    pub reference_customer: String,
    /// Segment reference.
    pub reference_segment: String,
    /// Number, once issued.
    pub full_number: Option<String>,
    /// ISO 4217.
    pub currency: String,
    /// Before tax.
    pub amount_subtotal: i64,
    /// Tax included.
    pub amount_total: i64,
    /// `Due`, `Paid`, ...
    pub state_invoice: String,
    /// How it is paid.
    pub type_payment: String,
    /// Issue date.
    pub date_issue: Option<String>,
    /// Payment date.
    pub date_payment: Option<String>,
    /// Credit note kind (credit notes only).
    pub type_credit: Option<String>,
    /// Hosted links (`hosted-charge` to pay a due invoice, ...).
    pub links: Vec<Link>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Invoice {
    /// The `href` of the link named `rel`.
    pub fn link(&self, rel: &str) -> Option<&str> {
        link_href(&self.links, rel)
    }
}

/// Filters of `GET /v1/Invoices`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListInvoices {
    /// Only this customer.
    pub reference_customer: Option<String>,
    /// Only this subscription.
    pub id_subscription: Option<i64>,
    /// Only this segment.
    pub reference_segment: Option<String>,
    /// 1-based page.
    pub page: Option<i64>,
    /// Page size.
    pub size_page: Option<i64>,
}

/// The body of `POST /v1/Billing/Customer`: bill what is due now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BillCustomer {
    /// The customer (required).
    pub reference_customer: String,
    /// Issue an offline invoice even with an automatic payment method.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub force_offline: Option<bool>,
    /// Note printed on the invoice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note_localized: Option<String>,
}

impl Client {
    /// `GET /v1/Invoice/{id}`.
    pub async fn get_invoice(&self, id: i64) -> Result<Invoice, ApiError> {
        self.get_one(&format!("/v1/Invoice/{id}"), &Query::new())
            .await
    }

    /// `GET /v1/Invoice?FullNumber=`.
    pub async fn get_invoice_by_number(&self, full_number: &str) -> Result<Invoice, ApiError> {
        let q = Query::new().add("FullNumber", full_number);
        self.get_one("/v1/Invoice", &q).await
    }

    /// `GET /v1/Invoices`: invoices and credit notes.
    pub async fn list_invoices(&self, filter: &ListInvoices) -> Result<Page<Invoice>, ApiError> {
        let q = Query::new()
            .opt("ReferenceCustomer", filter.reference_customer.as_deref())
            .opt("IdSubscription", filter.id_subscription)
            .opt("ReferenceSegment", filter.reference_segment.as_deref())
            .opt("Page", filter.page)
            .opt("SizePage", filter.size_page);
        self.get_page("/v1/Invoices", &q).await
    }

    /// `POST /v1/Billing/Customer`: bills what is due now. `Ok(None)` when nothing is due;
    /// [`ApiError::Forbidden`] (`Error.Customer.PaymentSettings.Missing`) when the customer
    /// cannot be billed.
    pub async fn bill_customer(&self, request: &BillCustomer) -> Result<Option<Invoice>, ApiError> {
        let r = self
            .request(reqwest::Method::POST, "/v1/Billing/Customer", &Query::new())
            .json(request);
        Ok(self.send(r).await?.map(|(_, invoice)| invoice))
    }
}
