//! `GET|POST /v1/CustomerSettingsPayment`: how a customer pays and is billed.

use super::validate::{self, Problems, clip, given};
use super::{CustomerKey, CustomerView, locate};
use crate::error::Result;
use abo_store::Store;
use abo_store::customers::{self, PaymentSettingsPatch};

/// The payment types the API may set: the free and manual ones. `Card` and `DirectDebit`
/// are set by a payment gateway when the customer registers a method on a hosted page.
pub const MANUAL_TYPES: [&str; 5] = [
    "Free",
    "ExternalCheck",
    "ExternalCash",
    "ExternalBank",
    "ExternalOther",
];

/// Types only a gateway sets, and the legacy "no type" value.
const GATEWAY_TYPES: [&str; 4] = ["Card", "DirectDebit", "Wallet", "Undefined"];

/// A `CustomerPaymentSettingsRequest`; each field is independent, `None` = unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaymentSettingsInput {
    /// A name (`ExternalBank`) or a legacy numeric value as text (`"102"`).
    pub type_payment: Option<String>,
    /// `Auto` or `Manual`.
    pub mode_billing: Option<String>,
    /// N8N's spelling of `ModeBilling`: `true` = `Auto`, `false` = `Manual`.
    pub is_auto_billing: Option<bool>,
    pub is_grey_listed: Option<bool>,
    pub note_invoice: Option<String>,
    pub date_next_billing_us: Option<i64>,
}

/// The printed note is a line or two at the bottom of invoices.
const NOTE_MAX_CHARS: usize = 500;

/// `TypePayment` from its name (any case) or its legacy numeric value (NET1/NET2 enum:
/// 0 Undefined, 100 ExternalCheck, 101 ExternalCash, 102 ExternalBank, 120 ExternalOther,
/// 1000 Card, 2000 DirectDebit, 3000 Wallet), restricted to what the API may set.
pub fn parse_type_payment(value: &str) -> Result<&'static str, String> {
    let value = value.trim();
    let name = match value {
        "0" => Some("Undefined"),
        "100" => Some("ExternalCheck"),
        "101" => Some("ExternalCash"),
        "102" => Some("ExternalBank"),
        "120" => Some("ExternalOther"),
        "1000" => Some("Card"),
        "2000" => Some("DirectDebit"),
        "3000" => Some("Wallet"),
        _ => MANUAL_TYPES
            .iter()
            .chain(GATEWAY_TYPES.iter())
            .copied()
            .find(|t| t.eq_ignore_ascii_case(value)),
    };
    match name {
        Some(n) if MANUAL_TYPES.contains(&n) => Ok(n),
        Some(n) => Err(format!(
            "TypePayment: {n} cannot be set through the API (a payment gateway sets it when the \
             customer registers a payment method); use one of {}",
            MANUAL_TYPES.join(", ")
        )),
        None => Err(format!(
            "TypePayment: '{}' is not one of {}",
            clip(value),
            MANUAL_TYPES.join(", ")
        )),
    }
}

fn parse_mode_billing(value: &str) -> Result<&'static str, String> {
    ["Auto", "Manual"]
        .into_iter()
        .find(|m| m.eq_ignore_ascii_case(value.trim()))
        .ok_or_else(|| format!("ModeBilling: '{}' is not Auto or Manual", clip(value)))
}

/// The stored payment settings of a customer.
pub async fn payment_settings(
    store: &Store,
    business_id: i64,
    key: &CustomerKey,
) -> Result<CustomerView> {
    let mut conn = store.acquire().await?;
    let (customer, segment) = locate(&mut conn, business_id, key).await?;
    Ok(CustomerView::of(customer, segment))
}

/// Partial update; see [`PaymentSettingsInput`] and [`parse_type_payment`].
pub async fn update_payment_settings(
    store: &Store,
    business_id: i64,
    key: &CustomerKey,
    input: &PaymentSettingsInput,
    now_us: i64,
) -> Result<CustomerView> {
    let mut problems = Problems::default();
    let type_payment =
        given(input.type_payment.as_deref()).and_then(|v| problems.take(parse_type_payment(v)));
    let mode =
        given(input.mode_billing.as_deref()).and_then(|v| problems.take(parse_mode_billing(v)));
    let from_flag = input
        .is_auto_billing
        .map(|auto| if auto { "Auto" } else { "Manual" });
    let mode_billing = match (mode, from_flag) {
        (Some(m), Some(f)) if m != f => {
            problems.push(format!(
                "IsAutoBilling: contradicts ModeBilling {m}; send only one of them"
            ));
            None
        }
        (m, f) => m.or(f),
    };
    let note_invoice = given(input.note_invoice.as_deref())
        .and_then(|v| problems.take(validate::text("NoteInvoice", v, NOTE_MAX_CHARS)));
    problems.into_result()?;

    let patch = PaymentSettingsPatch {
        type_payment: type_payment.map(str::to_owned),
        mode_billing: mode_billing.map(str::to_owned),
        is_grey_listed: input.is_grey_listed,
        note_invoice,
        date_next_billing_us: input.date_next_billing_us,
    };
    let mut tx = store.begin().await?;
    let (customer, segment) = locate(&mut tx, business_id, key).await?;
    let customer =
        customers::update_payment_settings(&mut tx, business_id, customer.id, &patch, now_us)
            .await?;
    if patch.type_payment.is_some() {
        crate::events::customer(&mut tx, "CustomerPaymentMethodUpdated", &customer, now_us).await?;
    }
    tx.commit().await?;
    Ok(CustomerView::of(customer, segment))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_payment_names_and_legacy_numbers() {
        assert_eq!(parse_type_payment("ExternalBank").unwrap(), "ExternalBank");
        assert_eq!(parse_type_payment("externalcash").unwrap(), "ExternalCash");
        assert_eq!(parse_type_payment("Free").unwrap(), "Free");
        assert_eq!(parse_type_payment("100").unwrap(), "ExternalCheck");
        assert_eq!(parse_type_payment("101").unwrap(), "ExternalCash");
        assert_eq!(parse_type_payment("102").unwrap(), "ExternalBank");
        assert_eq!(parse_type_payment("120").unwrap(), "ExternalOther");
        for refused in [
            "Card",
            "DirectDebit",
            "1000",
            "2000",
            "3000",
            "0",
            "Bitcoin",
            "7",
        ] {
            assert!(parse_type_payment(refused).is_err(), "{refused}");
        }
        assert!(
            parse_type_payment("Card")
                .unwrap_err()
                .contains("payment gateway")
        );
    }

    #[test]
    fn mode_billing() {
        assert_eq!(parse_mode_billing("auto").unwrap(), "Auto");
        assert_eq!(parse_mode_billing("Manual").unwrap(), "Manual");
        assert!(parse_mode_billing("Sometimes").is_err());
    }
}
