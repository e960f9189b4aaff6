//! ProAbono's `TypeTrigger` catalogue (spec §1.13) and which blocks each
//! family carries in its envelope.

/// A block of the envelope besides the header and `Customer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Block {
    Customer,
    CustomerBuyer,
    Offer,
    Subscription,
    GatewayPermission,
    InvoiceDebit,
    InvoiceCredit,
}

impl Block {
    pub fn name(self) -> &'static str {
        match self {
            Block::Customer => "Customer",
            Block::CustomerBuyer => "CustomerBuyer",
            Block::Offer => "Offer",
            Block::Subscription => "Subscription",
            Block::GatewayPermission => "GatewayPermission",
            Block::InvoiceDebit => "InvoiceDebit",
            Block::InvoiceCredit => "InvoiceCredit",
        }
    }
}

/// Every trigger an endpoint can subscribe to, in ProAbono's order.
pub const ALL: &[&str] = &[
    // Customer
    "CustomerAdded",
    "CustomerBillingAddressUpdated",
    "CustomerPaymentMethodUpdated",
    "CustomerBillingSucceeded",
    "CustomerBillingFailed",
    "CustomerChargingSucceeded",
    "CustomerChargingPending",
    "CustomerChargingFailed",
    "CustomerChargingAutoFailedNoPermission",
    "CustomerChargingAutoFailedNoRetry",
    "CustomerSuspended",
    "CustomerEnabled",
    "CustomerIsGreyListed",
    // Subscription
    "SubscriptionStarted",
    "SubscriptionRenewed",
    "SubscriptionSuspendedAgent",
    "SubscriptionRestarted",
    "SubscriptionSuspendedPaymentInfoMissing",
    "SubscriptionSuspendedPaymentDue",
    "SubscriptionTerminatedAtRenewal",
    "SubscriptionTerminated",
    "SubscriptionHistory",
    "SubscriptionDeleted",
    "SubscriptionUpdated",
    "SubscriptionFeaturesUpdated",
    "SubscriptionUpgraded",
    "SubscriptionTerminatedForUpgrade",
    "SubscriptionDateTermUpdated",
    // Invoice
    "InvoiceDebitIssuedPaymentAuto",
    "InvoiceDebitIssuedPaymentOffline",
    "InvoiceDebitPaid",
    "InvoiceDebitRefunded",
    "InvoiceDebitCancelled",
    "InvoiceDebitPaymentAutoFailed",
    "InvoiceDebitPaymentAutoRequestedAuth",
    "InvoiceDebitOverdue",
    "InvoiceDebitDisputed",
    "InvoiceDebitUncollectible",
    "InvoiceCreditIssued",
    // Payment method
    "GatewayPermissionSoonExpired",
    "GatewayPermissionExpired",
    "GatewayPermissionDefective",
    "GatewayPermissionInsufficientFunds",
    "GatewayPermissionPaymentIssues",
];

/// Older names still accepted when subscribing, mapped to the current one.
const ALIASES: &[(&str, &str)] = &[
    (
        "CustomerSettingsPaymentUpdated",
        "CustomerPaymentMethodUpdated",
    ),
    (
        "SubscriptionSuspendedCustomer",
        "SubscriptionSuspendedAgent",
    ),
    // N8N's spelling.
    (
        "InvoiceDebitPaymentAutoRequestedAuto",
        "InvoiceDebitPaymentAutoRequestedAuth",
    ),
];

/// The catalogue name of `name` (case-insensitive, aliases resolved), or `None`.
pub fn canonical(name: &str) -> Option<&'static str> {
    let name = name.trim();
    ALL.iter()
        .copied()
        .find(|t| t.eq_ignore_ascii_case(name))
        .or_else(|| {
            ALIASES
                .iter()
                .find(|(alias, _)| alias.eq_ignore_ascii_case(name))
                .map(|(_, t)| *t)
        })
}

/// The blocks of `trigger`'s envelope, `Customer` first (spec §1.13, "which blocks per family").
pub fn blocks(trigger: &str) -> &'static [Block] {
    use Block::*;
    match trigger {
        // Charging events carry the payment method charged, except the one saying there is none.
        "CustomerChargingSucceeded"
        | "CustomerChargingPending"
        | "CustomerChargingFailed"
        | "CustomerChargingAutoFailedNoRetry" => &[Customer, GatewayPermission],
        "SubscriptionDateTermUpdated" => &[Customer],
        "InvoiceCreditIssued" => &[Customer, InvoiceCredit],
        t if t.starts_with("Subscription") => &[Customer, CustomerBuyer, Offer, Subscription],
        t if t.starts_with("InvoiceDebit") => &[Customer, InvoiceDebit],
        t if t.starts_with("GatewayPermission") => &[Customer, GatewayPermission],
        _ => &[Customer],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_trigger_is_canonical_and_starts_with_customer() {
        for t in ALL {
            assert_eq!(canonical(t), Some(*t));
            assert_eq!(canonical(&t.to_lowercase()), Some(*t));
            assert_eq!(blocks(t)[0], Block::Customer);
        }
        assert_eq!(
            canonical("SubscriptionSuspendedCustomer"),
            Some("SubscriptionSuspendedAgent")
        );
        assert_eq!(canonical("Nope"), None);
    }
}
