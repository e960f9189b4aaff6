//! A billing fixture written straight to the store, shared by the credit-note
//! and sandbox-restart tests here and by `abo`'s `cli_invoice` test (which
//! includes this file by path): a test business with one EUR segment, a
//! customer billed in France (20 % VAT), and due lines of 190.00.
#![allow(dead_code)]

use abo_service::billing::bill_customer;
use abo_service::business::{BusinessSpec, create_business};
use abo_store::Store;
use abo_store::balance_lines::{self, NewBalanceLine};
use abo_store::customers::{self, BillingAddress, NewCustomer, PaymentSettingsPatch};
use abo_store::segments::{self, NewSegment, Segment};

/// 2026-01-01T00:00:00Z.
pub const NOW: i64 = 1_767_225_600_000_000;
pub const DAY: i64 = 86_400_000_000;

pub struct Tenant {
    pub business_id: i64,
    pub segment: Segment,
}

/// A test business `name` in France with its default EUR segment `main`,
/// numbering invoices and credit notes with `prefixes` (else the defaults).
pub async fn tenant(store: &Store, name: &str, prefixes: Option<(&str, &str)>) -> Tenant {
    let business_id = create_business(
        store,
        &BusinessSpec {
            name: name.into(),
            country: "FR".into(),
            default_language: "en".into(),
            is_test: true,
        },
        NOW,
    )
    .await
    .unwrap()
    .business
    .id;
    let mut c = store.acquire().await.unwrap();
    let segment = segments::create(
        &mut c,
        &NewSegment {
            business_id,
            reference: "main".into(),
            name: "main".into(),
            currency: "EUR".into(),
            time_zone: None,
            locale: None,
            is_default: true,
            invoice_prefix: prefixes.map(|(invoice, _)| invoice.into()),
            credit_note_prefix: prefixes.map(|(_, note)| note.into()),
        },
        NOW,
    )
    .await
    .unwrap();
    Tenant {
        business_id,
        segment,
    }
}

/// A customer billed in France (20 % VAT) paying by `type_payment`.
pub async fn customer(store: &Store, t: &Tenant, reference: &str, type_payment: &str) -> i64 {
    let mut c = store.acquire().await.unwrap();
    let cust = customers::create(
        &mut c,
        &NewCustomer {
            business_id: t.business_id,
            segment_id: t.segment.id,
            reference: reference.into(),
            name: Some("Jane Doe".into()),
            email: Some("jane@doe.com".into()),
            language: Some("en".into()),
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap();
    customers::update_billing_address(
        &mut c,
        t.business_id,
        cust.id,
        &BillingAddress {
            country: Some("FR".into()),
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap();
    customers::update_payment_settings(
        &mut c,
        t.business_id,
        cust.id,
        &PaymentSettingsPatch {
            type_payment: Some(type_payment.into()),
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap();
    cust.id
}

/// A due line of 19000 (22800 with VAT) for the customer, under `key`.
pub async fn due_19000(store: &Store, t: &Tenant, customer_id: i64, key: &str) {
    let mut c = store.acquire().await.unwrap();
    balance_lines::insert(
        &mut c,
        &NewBalanceLine {
            business_id: t.business_id,
            segment_id: t.segment.id,
            customer_id,
            type_line: "AutoSubscriptionRecurrence".into(),
            label: "Pro plan".into(),
            quantity_billed: Some(1),
            amount_subtotal: 19000,
            currency: "EUR".into(),
            date_move_us: Some(NOW),
            natural_key: Some(key.into()),
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap();
}

/// [`due_19000`], billed: returns the invoice id.
pub async fn bill_19000(store: &Store, t: &Tenant, customer_id: i64, key: &str) -> i64 {
    due_19000(store, t, customer_id, key).await;
    bill_customer(store, t.business_id, customer_id, NOW)
        .await
        .unwrap()
        .unwrap()
}
