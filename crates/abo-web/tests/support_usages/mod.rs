//! Seeding shared by `api_usages.rs` and `api_catalog.rs`: customers and
//! subscriptions written straight to the test app's store, on the demo
//! catalogue (`catalog/demo.toml`, segment `demo-eur`).

#![allow(dead_code)] // Each test file uses its own part.

use abo_store::customers::{self, NewCustomer};
use abo_store::subscriptions::{self, NewSubscription, Subscription};
use abo_store::{offers, segments};
use abo_testkit::TestApp;

pub const DAY: i64 = 86_400_000_000;

pub async fn customer(app: &TestApp, reference: &str, language: Option<&str>) -> i64 {
    let mut conn = app.store.acquire().await.unwrap();
    let segment = segments::get_by_reference(&mut conn, app.business_id, "demo-eur")
        .await
        .unwrap();
    customers::create(
        &mut conn,
        &NewCustomer {
            business_id: app.business_id,
            segment_id: segment.id,
            reference: reference.into(),
            language: language.map(str::to_owned),
            ..Default::default()
        },
        app.now_us(),
    )
    .await
    .unwrap()
    .id
}

/// A subscription to `offer` in `state`; started ones are in a 30-day
/// period that began yesterday.
pub async fn subscription(
    app: &TestApp,
    customer_id: i64,
    offer: &str,
    state: &str,
) -> Subscription {
    let mut conn = app.store.acquire().await.unwrap();
    let segment = segments::get_by_reference(&mut conn, app.business_id, "demo-eur")
        .await
        .unwrap();
    let offer = offers::get_by_reference(&mut conn, app.business_id, segment.id, offer)
        .await
        .unwrap();
    let now = app.now_us();
    let mut new = NewSubscription::from_offer(&offer, customer_id, state);
    if state.starts_with("Active") {
        new.date_start_us = Some(now - DAY);
        new.date_period_start_us = Some(now - DAY);
        new.date_period_end_us = Some(now + 29 * DAY);
    }
    subscriptions::create(&mut conn, &new, now - DAY)
        .await
        .unwrap()
}
