//! Shared set-up of the usage and offer service tests: a business with a small
//! catalogue imported from TOML, customers, and subscriptions written straight
//! to the store in the state each test needs (started, draft, ended).

#![allow(dead_code)] // Each test file uses its own part of the fixture.

use abo_service::business::{BusinessSpec, create_business};
use abo_service::catalog::{import_catalog, parse_catalog};
use abo_store::customers::{self, NewCustomer};
use abo_store::subscriptions::{self, NewSubscription, Subscription};
use abo_store::{Store, offers, segments};

/// 2026-03-10T00:00:00Z in µs.
pub const NOW: i64 = 1_773_100_800_000_000;
pub const DAY: i64 = 86_400_000_000;

pub const CATALOG: &str = r#"
[[segment]]
reference = "main-eur"
currency = "EUR"
locale = "en"
default = true

[[segment]]
reference = "fr-eur"
currency = "EUR"
locale = "fr"

[[feature]]
reference = "seats"
name = "Seats"
type = "Limitation"

[[feature]]
reference = "sms"
name = "Text messages"
type = "Consumption"
description = "Messages sent <per month>"

[[feature]]
reference = "api"
name = "API access"
type = "OnOff"

[[feature]]
reference = "audit"
name = "Audit log"
type = "OnOff"
visible = false

[[offer]]
segment = "main-eur"
reference = "basic"
name = "Basic"
description = "For small teams"
recurrence = "1 Month"
amount_recurrence = "190.00"

  [[offer.feature]]
  feature = "seats"
  included = 3
  pricing = { unit = "7.00" }
  updatable_after_subscription = true

  [[offer.feature]]
  feature = "sms"
  included = 100
  pricing = { mode = "Graduated", tiers = [ { up_to = 1000, unit = "0.20" }, { unit = "0.10" } ] }

  [[offer.feature]]
  feature = "api"
  included = false
  enabled = false
  pricing = { amount = "10.00" }

  [[offer.feature]]
  feature = "audit"
  included = true

[[offer]]
segment = "main-eur"
reference = "pro"
name = "Pro & Co"
recurrence = "1 Year"
amount_recurrence = "1900.00"
amount_upfront = "49.00"

  [[offer.feature]]
  feature = "seats"
  unlimited = true

  [[offer.feature]]
  feature = "sms"
  included = 500

  [[offer.feature]]
  feature = "api"
  included = true

[[offer]]
segment = "main-eur"
reference = "secret"
name = "Secret"
visible = false
recurrence = "3 Month"
amount_recurrence = "0"

[[offer]]
segment = "fr-eur"
reference = "basic"
name = "Basique"
recurrence = "1 Month"
amount_recurrence = "190.00"

  [[offer.feature]]
  feature = "seats"
  included = 3
  pricing = { unit = "7.00" }

[[pricing_table]]
segment = "main-eur"
reference = "grid"
name = "Grid"
offers = ["pro", "basic"]
"#;

pub struct Fixture {
    pub store: Store,
    pub business_id: i64,
    pub main_segment: i64,
    pub fr_segment: i64,
}

pub async fn fixture(store: Store) -> Fixture {
    let created = create_business(
        &store,
        &BusinessSpec {
            name: "Usage test".into(),
            country: "FR".into(),
            default_language: "en".into(),
            is_test: true,
        },
        NOW,
    )
    .await
    .unwrap();
    let business_id = created.business.id;
    import_catalog(&store, business_id, &parse_catalog(CATALOG).unwrap(), NOW)
        .await
        .unwrap();
    let mut conn = store.acquire().await.unwrap();
    let main_segment = segments::get_by_reference(&mut conn, business_id, "main-eur")
        .await
        .unwrap()
        .id;
    let fr_segment = segments::get_by_reference(&mut conn, business_id, "fr-eur")
        .await
        .unwrap()
        .id;
    drop(conn);
    Fixture {
        store,
        business_id,
        main_segment,
        fr_segment,
    }
}

impl Fixture {
    pub async fn customer(&self, segment_id: i64, reference: &str, language: Option<&str>) -> i64 {
        let mut conn = self.store.acquire().await.unwrap();
        customers::create(
            &mut conn,
            &NewCustomer {
                business_id: self.business_id,
                segment_id,
                reference: reference.into(),
                language: language.map(str::to_owned),
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap()
        .id
    }

    /// A subscription of `customer_id` to `offer` in `state`, started
    /// `started_days_ago` days before NOW, in a 30-day current period.
    pub async fn subscription(
        &self,
        segment_id: i64,
        customer_id: i64,
        offer: &str,
        state: &str,
        started_days_ago: i64,
    ) -> Subscription {
        let mut conn = self.store.acquire().await.unwrap();
        let offer = offers::get_by_reference(&mut conn, self.business_id, segment_id, offer)
            .await
            .unwrap();
        let mut new = NewSubscription::from_offer(&offer, customer_id, state);
        let start = NOW - started_days_ago * DAY;
        if state.starts_with("Active") || state.starts_with("Ended") {
            new.date_start_us = Some(start);
            new.date_period_start_us = Some(NOW - DAY);
            new.date_period_end_us = Some(NOW + 29 * DAY);
        }
        subscriptions::create(&mut conn, &new, start).await.unwrap()
    }
}
