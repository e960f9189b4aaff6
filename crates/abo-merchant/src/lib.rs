//! # abo-merchant
//!
//! What a merchant's server needs to integrate Abo, the ProAbono-compatible billing
//! platform, into its own site:
//!
//! * [`Client`]: a typed async client for API Live (`/v1`): customers (upsert, get, list,
//!   billing address, payment settings, hosted links), subscriptions (create, get, list,
//!   terminate, upgrade), usages (get, post, batch), offers and invoices. Errors are values
//!   ([`ApiError`]): ProAbono's `{Code, Message}`, the 422 array, 401/403/404; a `204 No
//!   Content` collection is an empty [`Page`].
//! * [`PortalLinks`]: the strict `crylk` resolver of the merchant's 'Subscription' page. It
//!   returns the hosted URL to frame, or the customer's `hosted-home` with the reason
//!   ([`FallbackReason`]) for the log; with the business's [`VerificationKey`], it also
//!   verifies the link's signature, expiry and customer offline.
//! * [`IframeSnippet`]: the `<iframe>` element, escaped, with a sandbox fit for payment
//!   forms.
//! * [`webhook::WebhookVerifier`]: both webhook signatures (Abo's body-covering
//!   `abo-signature`, and ProAbono's `x-proabono-signature`), with secret rotation.
//!
//! ## The 'Subscription' page, parts 1 and 2
//!
//! ```no_run
//! use abo_merchant::{Client, CustomerRequest, IframeSnippet, PortalLinks};
//!
//! # async fn page(user_id: &str, user_name: &str, crylk: Option<&str>) -> Result<String, abo_merchant::ApiError> {
//! // Once, at start-up.
//! let abo = Client::new("https://api.abo.example", "agent-key", "api-key")?;
//! let links = PortalLinks::new("portal.abo.example");
//!
//! // Part 1: make sure the customer exists and get its fresh links (server side).
//! let customer = abo.upsert_customer(&CustomerRequest::new(user_id).name(user_name)).await?;
//! let home = customer.hosted_home().unwrap_or("about:blank");
//!
//! // Part 2: honour `?crylk=` (links from e-mails), else frame hosted-home.
//! let link = links.resolve_portal_link(crylk, home);
//! if let Some(reason) = link.fallback_reason() {
//!     eprintln!("framing hosted-home: {reason}"); // log it, never show it
//! }
//! Ok(IframeSnippet::new(link.src()).title("Your subscription").to_html())
//! # }
//! ```
//!
//! `docs/integration.md` in Abo's repository explains the same steps in plain HTTP terms
//! for other stacks.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod hex;
pub mod iframe;
pub mod portal;
pub mod webhook;

pub use abo_links::{
    LinkClaims, LinkError, LinkKind, Purpose, RejectReason, crylk_from_query, crylk_from_url,
};
pub use client::{
    ApiError, BillCustomer, BillingAddress, Client, CreateOptions, Customer, CustomerRequest,
    Extra, Invoice, Link, ListCustomers, ListInvoices, ListOffers, ListSubscriptions, Offer, Page,
    PaymentSettings, PaymentSettingsUpdate, ProAbonoError, Subscription, SubscriptionFeature,
    SubscriptionRequest, Termination, Upgrade, Usage, UsageQuery, UsageRequest, link_href,
};
pub use iframe::IframeSnippet;
pub use portal::{ConfigError, Expect, FallbackReason, PortalLink, PortalLinks, VerificationKey};
pub use webhook::{VerifiedWebhook, WebhookError, WebhookVerifier};
