//! Many customers with many running subscriptions, written straight to the
//! store in large transactions (the engine's scale tests and benchmark):
//! each customer pays by card (a `4242` card registered with the engine's
//! sandbox gateway) or by bank transfer, and has one monthly subscription
//! running since `start`, whose first term is one month later.
#![allow(dead_code)]

use abo_gateway::{CardDetails, PaymentDetails, PaymentGateway, Registration};
use abo_service::billing::Gateways;
use abo_store::customers::{self, NewCustomer, PaymentSettingsPatch};
use abo_store::payments::{self, NewPermission};
use abo_store::subscriptions::{self, NewSubscription};
use abo_store::{Store, offers};
use jiff::civil::Date;
use jiff::tz::TimeZone;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payer {
    Card,
    Offline,
}

fn midnight(d: Date, tz: &TimeZone) -> i64 {
    d.to_zoned(tz.clone()).unwrap().timestamp().as_microsecond()
}

/// Creates `n` customers `fleet-{i}` with one running subscription to
/// `offer` each, from `start` (a date in `time_zone`).
#[allow(clippy::too_many_arguments)]
pub async fn create_fleet(
    store: &Store,
    gateways: &Gateways,
    business: i64,
    segment: i64,
    offer: &str,
    n: usize,
    payer: Payer,
    start: Date,
    time_zone: &str,
) {
    let tz = TimeZone::get(time_zone).unwrap();
    let start_us = midnight(start, &tz);
    let end = start.checked_add(jiff::Span::new().months(1)).unwrap();
    let end_us = midnight(end, &tz);
    let offer = {
        let mut conn = store.acquire().await.unwrap();
        offers::get_by_reference(&mut conn, business, segment, offer)
            .await
            .unwrap()
    };
    let card = PaymentDetails::Card(CardDetails {
        number: "4242 4242 4242 4242".into(),
        expiry: "12/40".into(),
        cvc: "123".into(),
        country: Some("FR".into()),
    });
    let mut i = 0;
    while i < n {
        let mut tx = store.begin().await.unwrap();
        for _ in 0..1000.min(n - i) {
            let reference = format!("fleet-{i:06}");
            let c = customers::create(
                &mut tx,
                &NewCustomer {
                    business_id: business,
                    segment_id: segment,
                    reference: reference.clone(),
                    email: Some(format!("{reference}@example.com")),
                    ..Default::default()
                },
                start_us,
            )
            .await
            .unwrap();
            let type_payment = match payer {
                Payer::Card => {
                    let ts = jiff::Timestamp::from_microsecond(start_us).unwrap();
                    let Registration::Enabled(p) = gateways
                        .card
                        .register_permission(&reference, &card, ts)
                        .await
                        .unwrap()
                    else {
                        panic!("4242 needs no 3-D Secure")
                    };
                    payments::insert_permission(
                        &mut tx,
                        &NewPermission {
                            business_id: business,
                            customer_id: c.id,
                            type_payment: "Card".into(),
                            type_gateway: "CardDummy".into(),
                            gateway_permission_id: p.id.as_str().to_owned(),
                            state: "Enabled".into(),
                            name_display: p.name_display.clone(),
                            country: p.country.clone(),
                            date_expiration: p.date_expiration.map(|d| d.to_string()),
                            mandate_reference: None,
                        },
                        start_us,
                    )
                    .await
                    .unwrap();
                    "Card"
                }
                Payer::Offline => "ExternalBank",
            };
            customers::update_payment_settings(
                &mut tx,
                business,
                c.id,
                &PaymentSettingsPatch {
                    type_payment: Some(type_payment.into()),
                    ..Default::default()
                },
                start_us,
            )
            .await
            .unwrap();
            let mut new = NewSubscription::from_offer(&offer, c.id, "ActiveRunning");
            new.date_start_us = Some(start_us);
            new.date_period_start_us = Some(start_us);
            new.date_period_end_us = Some(end_us);
            new.date_term_us = Some(end_us);
            new.billing_anchor = Some(start.to_string());
            subscriptions::create(&mut tx, &new, start_us)
                .await
                .unwrap();
            i += 1;
        }
        tx.commit().await.unwrap();
        // What autovacuum does on a server that runs it (this machine's
        // doesn't): without fresh statistics the planner takes the tables for
        // as small as when they were created, and the setup of 100,000
        // subscriptions went quadratic (543 s, against 30 s for 20,000).
        if store.backend() == abo_store::Backend::Postgres && i % 10_000 == 0 {
            let mut conn = store.acquire().await.unwrap();
            sqlx::query("ANALYZE").execute(&mut *conn).await.unwrap();
        }
    }
}
