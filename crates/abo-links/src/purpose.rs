//! What a link opens: the hosted page ([`Purpose`]), its path prefix, and whether it is a
//! portal link or a workflow link ([`LinkKind`]).
//!
//! # Purpose → hosted path table
//!
//! The paths are modelled on the shapes ProAbono's public material shows
//! (`/portal-auth/{enc}`, `/portal-inv-pdf/{enc}`, `/subscribe-offer/{token}`, `/offers/{enc}`,
//! `/overview-subscription/{enc}`); the ones ProAbono never showed follow the same style.
//! Every path is `/{prefix}/{token}`, with no query and no fragment, so the strict crylk
//! validator can demand an exact shape.
//!
//! | Purpose | Path prefix | Kind | `target_id` refers to | code (stable, in tokens) |
//! |---|---|---|---|---|
//! | `Home` | `/portal-auth/` | portal | – | 0 |
//! | `CollectionOffers` | `/offers/` | portal | – | 1 |
//! | `Subscribe` | `/subscribe-offer/` | workflow | offer | 2 |
//! | `SubscribeCustom` | `/subscribe-custom/` | workflow | subscription (draft) | 3 |
//! | `Register` | `/register/` | workflow | subscription (optional, delayed start) | 4 |
//! | `CollectionUpgrade` | `/upgrade-offers/` | workflow | subscription (optional) | 5 |
//! | `Upgrade` | `/upgrade-subscription/` | workflow | subscription | 6 |
//! | `RelatedSubscription` | `/overview-subscription/` | portal | subscription | 7 |
//! | `Restart` | `/restart-subscription/` | workflow | subscription | 8 |
//! | `InvoicePdf` | `/portal-inv-pdf/` | portal | invoice | 9 |
//! | `Charge` | `/pay-invoice/` | workflow | invoice | 10 |
//! | `CollectionInvoices` | `/portal-invoices/` | portal | – | 11 |
//! | `PaymentMethod` | `/portal-payment-method/` | portal | – | 12 |
//! | `BillingAddress` | `/portal-billing-address/` | portal | – | 13 |
//! | `Options` | `/portal-options/` | portal | subscription | 14 |
//! | `Terminate` | `/portal-terminate/` | portal | subscription | 15 |
//!
//! Workflow links are the customer journeys that end with a payment step (subscribe, custom
//! subscription, change of offer, restart, pay an invoice, register billing information):
//! the crylk rewrite sends them to the merchant's "URL of the integrated form". Everything
//! else is consulted inside the portal and goes to the "URL of the integrated portal".
//! `CollectionOffers` is a portal link: it is a catalogue to browse; the workflow starts
//! when the customer picks an offer there.

use serde::{Deserialize, Serialize};

/// The hosted page a link opens.
///
/// The numeric discriminant is written into tokens, so it is frozen: never reorder or
/// reuse a value; add new purposes at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[repr(u8)]
pub enum Purpose {
    /// Portal home (`insite-home` / `hosted-home`).
    Home = 0,
    /// The customer's offer catalogue (`insite-collection-offers`).
    CollectionOffers = 1,
    /// Subscribe to one offer (`insite-subscribe`); target = offer id.
    Subscribe = 2,
    /// Subscribe to a draft subscription prepared by sales; target = subscription id.
    SubscribeCustom = 3,
    /// Register billing information and a payment method (`insite-register`).
    Register = 4,
    /// Catalogue of offers the customer can change to (`insite-collection-upgrade`).
    CollectionUpgrade = 5,
    /// Change the offer of a given subscription (`insite-upgrade`); target = subscription id.
    Upgrade = 6,
    /// Overview of one subscription (`insite-related-subscription`); target = subscription id.
    RelatedSubscription = 7,
    /// Restart a suspended subscription (`insite-restart`); target = subscription id.
    Restart = 8,
    /// Download an invoice PDF (`insite-related-invoice`); target = invoice id.
    InvoicePdf = 9,
    /// Pay a due or failed invoice (`insite-charge`); target = invoice id.
    Charge = 10,
    /// The customer's invoice list (`insite-collection-invoice`).
    CollectionInvoices = 11,
    /// The payment method section of the portal.
    PaymentMethod = 12,
    /// The billing address section of the portal.
    BillingAddress = 13,
    /// Change the options (add-ons) of a subscription; target = subscription id.
    Options = 14,
    /// Terminate a subscription; target = subscription id.
    Terminate = 15,
}

/// Which of the merchant's two integration URLs a link is rewritten to (spec §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LinkKind {
    /// Consultation inside the portal → the merchant's "URL of the integrated portal".
    Portal,
    /// A customer journey ending with a payment step → the "URL of the integrated form".
    Workflow,
}

/// What the optional `target_id` of a link refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    /// An offer id.
    Offer,
    /// A subscription id.
    Subscription,
    /// An invoice id.
    Invoice,
}

impl Purpose {
    /// Every purpose, in code order.
    pub const ALL: [Purpose; 16] = [
        Purpose::Home,
        Purpose::CollectionOffers,
        Purpose::Subscribe,
        Purpose::SubscribeCustom,
        Purpose::Register,
        Purpose::CollectionUpgrade,
        Purpose::Upgrade,
        Purpose::RelatedSubscription,
        Purpose::Restart,
        Purpose::InvoicePdf,
        Purpose::Charge,
        Purpose::CollectionInvoices,
        Purpose::PaymentMethod,
        Purpose::BillingAddress,
        Purpose::Options,
        Purpose::Terminate,
    ];

    /// The hosted path prefix, with leading and trailing slash; the token follows it.
    ///
    /// ```
    /// use abo_links::Purpose;
    /// assert_eq!(Purpose::Home.path_prefix(), "/portal-auth/");
    /// assert_eq!(Purpose::InvoicePdf.path_prefix(), "/portal-inv-pdf/");
    /// ```
    pub const fn path_prefix(self) -> &'static str {
        match self {
            Purpose::Home => "/portal-auth/",
            Purpose::CollectionOffers => "/offers/",
            Purpose::Subscribe => "/subscribe-offer/",
            Purpose::SubscribeCustom => "/subscribe-custom/",
            Purpose::Register => "/register/",
            Purpose::CollectionUpgrade => "/upgrade-offers/",
            Purpose::Upgrade => "/upgrade-subscription/",
            Purpose::RelatedSubscription => "/overview-subscription/",
            Purpose::Restart => "/restart-subscription/",
            Purpose::InvoicePdf => "/portal-inv-pdf/",
            Purpose::Charge => "/pay-invoice/",
            Purpose::CollectionInvoices => "/portal-invoices/",
            Purpose::PaymentMethod => "/portal-payment-method/",
            Purpose::BillingAddress => "/portal-billing-address/",
            Purpose::Options => "/portal-options/",
            Purpose::Terminate => "/portal-terminate/",
        }
    }

    /// Portal or workflow link; decides which merchant URL the crylk rewrite uses.
    ///
    /// ```
    /// use abo_links::{LinkKind, Purpose};
    /// assert_eq!(Purpose::Charge.kind(), LinkKind::Workflow);
    /// assert_eq!(Purpose::InvoicePdf.kind(), LinkKind::Portal);
    /// ```
    pub const fn kind(self) -> LinkKind {
        match self {
            Purpose::Subscribe
            | Purpose::SubscribeCustom
            | Purpose::Register
            | Purpose::CollectionUpgrade
            | Purpose::Upgrade
            | Purpose::Restart
            | Purpose::Charge => LinkKind::Workflow,
            Purpose::Home
            | Purpose::CollectionOffers
            | Purpose::RelatedSubscription
            | Purpose::InvoicePdf
            | Purpose::CollectionInvoices
            | Purpose::PaymentMethod
            | Purpose::BillingAddress
            | Purpose::Options
            | Purpose::Terminate => LinkKind::Portal,
        }
    }

    /// What `LinkClaims::target_id` refers to for this purpose, if anything.
    ///
    /// Informational: tokens do not enforce it, the hosted page handler does (it must load
    /// the target within the customer anyway).
    pub const fn target_kind(self) -> Option<TargetKind> {
        match self {
            Purpose::Subscribe => Some(TargetKind::Offer),
            Purpose::SubscribeCustom
            | Purpose::Register
            | Purpose::CollectionUpgrade
            | Purpose::Upgrade
            | Purpose::RelatedSubscription
            | Purpose::Restart
            | Purpose::Options
            | Purpose::Terminate => Some(TargetKind::Subscription),
            Purpose::InvoicePdf | Purpose::Charge => Some(TargetKind::Invoice),
            Purpose::Home
            | Purpose::CollectionOffers
            | Purpose::CollectionInvoices
            | Purpose::PaymentMethod
            | Purpose::BillingAddress => None,
        }
    }

    /// The frozen one-byte code written into tokens.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The purpose for a token code, if it is one.
    ///
    /// ```
    /// use abo_links::Purpose;
    /// for p in Purpose::ALL {
    ///     assert_eq!(Purpose::from_code(p.code()), Some(p));
    /// }
    /// assert_eq!(Purpose::from_code(16), None);
    /// ```
    pub const fn from_code(code: u8) -> Option<Purpose> {
        if (code as usize) < Purpose::ALL.len() {
            Some(Purpose::ALL[code as usize])
        } else {
            None
        }
    }

    /// The purpose whose path prefix is exactly `prefix` (with both slashes).
    pub fn from_path_prefix(prefix: &str) -> Option<Purpose> {
        Purpose::ALL.into_iter().find(|p| p.path_prefix() == prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_dense_and_stable() {
        for (i, p) in Purpose::ALL.iter().enumerate() {
            assert_eq!(p.code() as usize, i);
        }
    }

    #[test]
    fn path_prefixes_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for p in Purpose::ALL {
            let prefix = p.path_prefix();
            assert!(seen.insert(prefix), "duplicate prefix {prefix}");
            assert!(prefix.starts_with('/') && prefix.ends_with('/'));
            let inner = &prefix[1..prefix.len() - 1];
            assert!(!inner.is_empty());
            assert!(inner.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'));
            assert_eq!(Purpose::from_path_prefix(prefix), Some(p));
        }
    }

    #[test]
    fn workflow_set_matches_spec() {
        let workflows: Vec<_> = Purpose::ALL
            .into_iter()
            .filter(|p| p.kind() == LinkKind::Workflow)
            .collect();
        assert_eq!(
            workflows,
            [
                Purpose::Subscribe,
                Purpose::SubscribeCustom,
                Purpose::Register,
                Purpose::CollectionUpgrade,
                Purpose::Upgrade,
                Purpose::Restart,
                Purpose::Charge
            ]
        );
    }
}
