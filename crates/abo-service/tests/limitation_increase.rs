//! Mid-period Limitation increases (billing-rules, Features: "an increase
//! during a period is charged pro rata for the rest of it; a decrease takes
//! effect at renewal (no refund)"), on SQLite and PostgreSQL.
//!
//! Every subscription here is in a 30-day period from 2026-03-09 to
//! 2026-04-08 (local dates, Europe/Paris) and the writes happen on
//! 2026-03-19: 20 of the 30 days remain, fraction 20/30.

use abo_service::business::{BusinessSpec, create_business};
use abo_service::catalog::{import_catalog, parse_catalog};
use abo_service::quoting::{UsageQuoteOptions, quote_usage_changes};
use abo_service::usages::{UsageChange, UsageWrite, UsageWriter, quote_usage, record_usage};
use abo_store::balance_lines::{self, BalanceLine};
use abo_store::customers::{self, NewCustomer};
use abo_store::subscriptions::{self, NewSubscription, Subscription};
use abo_store::{Store, both_backends, offers, segments};

/// 2026-03-10T00:00:00Z in µs.
const NOW: i64 = 1_773_100_800_000_000;
const DAY: i64 = 86_400_000_000;
/// 2026-03-19T00:00:00Z (01:00 in Paris): 10 days into the period.
const WRITE_AT: i64 = NOW + 9 * DAY;

const CATALOG: &str = r#"
[[segment]]
reference = "main-eur"
currency = "EUR"
locale = "en"
default = true

[[feature]]
reference = "seats"
name = "Seats"
type = "Limitation"

[[feature]]
reference = "members"
name = "Team members"
type = "Limitation"

[[feature]]
reference = "sms"
name = "Text messages"
type = "Consumption"

[[offer]]
segment = "main-eur"
reference = "team"
name = "Team"
recurrence = "1 Month"
amount_recurrence = "100.00"

  [[offer.feature]]
  feature = "seats"
  included = 3
  pricing = { unit = "7.00" }

  [[offer.feature]]
  feature = "members"
  included = 2
  pricing = { mode = "Graduated", tiers = [ { up_to = 5, unit = "15.00" }, { up_to = 10, unit = "12.00" }, { unit = "8.00" } ] }

  [[offer.feature]]
  feature = "sms"
  included = 100
  pricing = { unit = "0.20" }
"#;

struct World {
    store: Store,
    business: i64,
    customer: i64,
    sub: Subscription,
}

async fn world(store: Store) -> World {
    let created = create_business(
        &store,
        &BusinessSpec {
            name: "Limitation test".into(),
            country: "FR".into(),
            default_language: "en".into(),
            is_test: true,
        },
        NOW,
    )
    .await
    .unwrap();
    let business = created.business.id;
    import_catalog(&store, business, &parse_catalog(CATALOG).unwrap(), NOW)
        .await
        .unwrap();
    let mut conn = store.acquire().await.unwrap();
    let segment = segments::get_by_reference(&mut conn, business, "main-eur")
        .await
        .unwrap()
        .id;
    let customer = customers::create(
        &mut conn,
        &NewCustomer {
            business_id: business,
            segment_id: segment,
            reference: "cust-1".into(),
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap()
    .id;
    let offer = offers::get_by_reference(&mut conn, business, segment, "team")
        .await
        .unwrap();
    let mut new = NewSubscription::from_offer(&offer, customer, "ActiveRunning");
    new.date_start_us = Some(NOW - DAY);
    new.date_period_start_us = Some(NOW - DAY);
    new.date_period_end_us = Some(NOW + 29 * DAY);
    let sub = subscriptions::create(&mut conn, &new, NOW - DAY)
        .await
        .unwrap();
    drop(conn);
    World {
        store,
        business,
        customer,
        sub,
    }
}

fn write(feature: &str, change: UsageChange, key: Option<&str>) -> UsageWrite {
    UsageWrite {
        feature_reference: feature.into(),
        customer_reference: Some("cust-1".into()),
        subscription_id: None,
        change,
        date_stamp_us: None,
        idempotency_key: key.map(str::to_owned),
    }
}

impl World {
    async fn record(&self, feature: &str, change: UsageChange, key: Option<&str>) -> i64 {
        record_usage(
            &self.store,
            self.business,
            &write(feature, change, key),
            WRITE_AT,
        )
        .await
        .unwrap()
        .quantity_current
        .unwrap()
    }

    async fn due(&self) -> Vec<BalanceLine> {
        let mut conn = self.store.acquire().await.unwrap();
        balance_lines::list_for_customer(&mut conn, self.business, self.customer, Some("Due"))
            .await
            .unwrap()
    }

    async fn amounts(&self) -> Vec<i64> {
        self.due().await.iter().map(|l| l.amount_subtotal).collect()
    }
}

/// The worked example: 3 seats included at €7 each beyond; on day 11 of a
/// 30-day period (20 days left) the customer goes from 3 to 5 seats:
/// 2 × 700 × 20/30 = 933.33 → 933 cents (rounded once, half away from
/// zero). A decrease charges nothing, going back up to 5 charges nothing
/// more, and only the units above 5 are charged again: 5 → 6 is
/// 1 × 700 × 20/30 = 466.67 → 467.
async fn increase_is_charged_pro_rata_once(store: Store) {
    let w = world(store).await;
    // Within the included quantity: nothing.
    assert_eq!(w.record("seats", UsageChange::Quantity(3), None).await, 3);
    assert!(w.amounts().await.is_empty());

    assert_eq!(w.record("seats", UsageChange::Quantity(5), None).await, 5);
    let lines = w.due().await;
    assert_eq!(lines.len(), 1);
    let line = &lines[0];
    assert_eq!(line.amount_subtotal, 933);
    assert_eq!(line.type_line, "AutoFeatureProrata");
    assert_eq!(line.state_move, "Due");
    assert_eq!(line.subscription_id, Some(w.sub.id));
    assert_eq!(
        (line.quantity_reported, line.quantity_billed),
        (Some(5), Some(2))
    );
    assert_eq!(
        line.date_period_end_us,
        Some(NOW + 29 * DAY - 3_600_000_000 * 2)
    );
    let feature = line.feature_id.unwrap();
    assert_eq!(
        line.natural_key.as_deref(),
        Some(format!("subscription={}:period=0:feature={feature}:hwm=5", w.sub.id).as_str())
    );

    // Decrease: no refund, nothing charged.
    assert_eq!(w.record("seats", UsageChange::Increment(-1), None).await, 4);
    assert_eq!(w.record("seats", UsageChange::Quantity(2), None).await, 2);
    // Back up to what the period is already billed for: nothing more.
    assert_eq!(w.record("seats", UsageChange::Quantity(5), None).await, 5);
    assert_eq!(w.amounts().await, [933]);
    // Above it: only the new unit.
    assert_eq!(w.record("seats", UsageChange::Increment(1), None).await, 6);
    assert_eq!(w.amounts().await, [933, 467]);
}
both_backends!(increase_is_charged_pro_rata_once => sqlite_increase_is_charged_pro_rata_once, postgres_increase_is_charged_pro_rata_once);

/// Tiers are priced as the renewal prices them (billing-rules' graduated
/// example: 2 included, units 3-5 at €15, 6-10 at €12, 11+ at €8), the
/// increase being price(new) − price(billed), × 20/30:
/// 0 → 4: 2 × 15 = 3000 → 2000; 4 → 7: 6900 − 3000 = 3900 → 2600;
/// 7 → 12: 12100 − 6900 = 5200 → 3466.67 → 3467.
async fn tiers_are_priced_like_the_renewal(store: Store) {
    let w = world(store).await;
    w.record("members", UsageChange::Quantity(4), None).await;
    w.record("members", UsageChange::Quantity(7), None).await;
    w.record("members", UsageChange::Increment(5), None).await;
    assert_eq!(w.amounts().await, [2000, 2600, 3467]);
    // Consumption is billed in arrears, never now.
    w.record("sms", UsageChange::Increment(500), None).await;
    assert_eq!(w.amounts().await, [2000, 2600, 3467]);
}
both_backends!(tiers_are_priced_like_the_renewal => sqlite_tiers_are_priced_like_the_renewal, postgres_tiers_are_priced_like_the_renewal);

/// A retried write (same idempotency key) neither counts nor charges twice.
async fn retried_write_charges_once(store: Store) {
    let w = world(store).await;
    w.record("seats", UsageChange::Quantity(3), None).await;
    for _ in 0..3 {
        assert_eq!(
            w.record("seats", UsageChange::Increment(2), Some("k-1"))
                .await,
            5
        );
    }
    assert_eq!(w.amounts().await, [933]);
    assert_eq!(
        w.record("seats", UsageChange::Increment(1), Some("k-2"))
            .await,
        6
    );
    assert_eq!(w.amounts().await, [933, 467]);
}
both_backends!(retried_write_charges_once => sqlite_retried_write_charges_once, postgres_retried_write_charges_once);

/// Through the group-commit writer (batched on both backends here): four
/// concurrent +1 increments from 3 seats, in one batch transaction, charge
/// each new unit once: four lines of 1 × 700 × 20/30 → 467, marks 4 to 7.
async fn batched_writer_charges_each_unit_once(store: Store) {
    let w = world(store).await;
    w.record("seats", UsageChange::Quantity(3), None).await;
    let writer = UsageWriter::batched(w.store.clone(), 64);
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let writer = writer.clone();
        let b = w.business;
        tasks.push(tokio::spawn(async move {
            writer
                .record(b, write("seats", UsageChange::Increment(1), None), WRITE_AT)
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    // Retried through the writer with a key: once.
    for _ in 0..2 {
        writer
            .record(
                w.business,
                write("seats", UsageChange::Increment(1), Some("w-1")),
                WRITE_AT,
            )
            .await
            .unwrap();
    }
    writer.shutdown().await;
    let lines = w.due().await;
    assert_eq!(
        lines.iter().map(|l| l.amount_subtotal).collect::<Vec<_>>(),
        [467; 5]
    );
    let mut marks: Vec<_> = lines
        .iter()
        .map(|l| {
            l.natural_key
                .clone()
                .unwrap()
                .rsplit('=')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    marks.sort();
    assert_eq!(marks, ["4", "5", "6", "7", "8"]);
}
both_backends!(batched_writer_charges_each_unit_once => sqlite_batched_writer_charges_each_unit_once, postgres_batched_writer_charges_each_unit_once);

/// The quote of a write (the quoting service's dry run, and the legacy
/// `Pricing/Usage` quote built on it) equals the line the write then makes,
/// and quoting changes nothing.
async fn quotes_equal_the_line(store: Store) {
    let w = world(store).await;
    w.record("seats", UsageChange::Quantity(3), None).await;
    let change = write("seats", UsageChange::Quantity(5), None);
    let options = UsageQuoteOptions {
        ensure_billable: Some(false),
        next_term: false,
    };
    let quote = quote_usage_changes(
        &w.store,
        w.business,
        std::slice::from_ref(&change),
        options,
        WRITE_AT,
    )
    .await
    .unwrap();
    assert_eq!(quote.amount_subtotal, 933);
    // FR business, customer without a billing country: 20 %.
    assert_eq!(quote.amount_total, 933 + 187);
    let legacy = quote_usage(&w.store, w.business, &change, WRITE_AT)
        .await
        .unwrap();
    assert_eq!(legacy.amount, quote.amount_subtotal);
    assert_eq!(legacy.amount_due_now, quote.amount_total_due);
    assert!(w.amounts().await.is_empty(), "a quote writes nothing");

    record_usage(&w.store, w.business, &change, WRITE_AT)
        .await
        .unwrap();
    assert_eq!(w.amounts().await, [quote.amount_subtotal]);
    // Back to 5 after a decrease: the quote says nothing is due, as billed.
    w.record("seats", UsageChange::Quantity(4), None).await;
    let again = quote_usage_changes(
        &w.store,
        w.business,
        std::slice::from_ref(&change),
        options,
        WRITE_AT,
    )
    .await
    .unwrap();
    assert_eq!(again.amount_total_due, 0);
    let legacy = quote_usage(&w.store, w.business, &change, WRITE_AT)
        .await
        .unwrap();
    assert_eq!(legacy.amount_due_now, 0);
}
both_backends!(quotes_equal_the_line => sqlite_quotes_equal_the_line, postgres_quotes_equal_the_line);

/// The renewal bills the extras in advance at the quantity then current and
/// resets the mark to it: after 3 → 5 seats in the first period (933), the
/// renewal on 2026-04-08 charges 2 × €7 for Apr 8 – May 8 (30 days); on
/// Apr 18 (20 days left) going down to 4 costs nothing and 4 → 6 charges
/// only the unit above 5: 1 × 700 × 20/30 → 467, keyed on period 1.
async fn renewal_resets_the_mark(store: Store) {
    let w = world(store).await;
    {
        let mut conn = w.store.acquire().await.unwrap();
        customers::update_payment_settings(
            &mut conn,
            w.business,
            w.customer,
            &customers::PaymentSettingsPatch {
                type_payment: Some("ExternalBank".into()),
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap();
    }
    w.record("seats", UsageChange::Quantity(3), None).await;
    w.record("seats", UsageChange::Quantity(5), None).await;
    assert_eq!(w.amounts().await, [933]);
    let renewed = abo_service::renewal::renew(
        &w.store,
        w.business,
        w.sub.id,
        0,
        "ActiveRunning",
        NOW + 29 * DAY,
    )
    .await
    .unwrap()
    .expect("renewed");
    assert_eq!(renewed.period_index, 1);
    let after_renewal = w.due().await;
    let seats = after_renewal
        .iter()
        .find(|l| {
            l.natural_key
                .as_deref()
                .is_some_and(|k| k.ends_with(":period=1:limitation-seats"))
        })
        .expect("the renewal's seats line");
    assert_eq!(
        (seats.amount_subtotal, seats.quantity_reported),
        (1400, Some(5))
    );

    let apr_18 = NOW + 39 * DAY;
    let at = |change| {
        let store = w.store.clone();
        let b = w.business;
        async move {
            record_usage(&store, b, &write("seats", change, None), apr_18)
                .await
                .unwrap()
        }
    };
    at(UsageChange::Quantity(4)).await;
    assert_eq!(w.due().await.len(), after_renewal.len());
    at(UsageChange::Quantity(6)).await;
    let lines = w.due().await;
    assert_eq!(lines.len(), after_renewal.len() + 1);
    let last = lines.last().unwrap();
    assert_eq!(last.amount_subtotal, 467);
    assert_eq!(
        last.natural_key.as_deref(),
        Some(
            format!(
                "subscription={}:period=1:feature={}:hwm=6",
                w.sub.id,
                last.feature_id.unwrap()
            )
            .as_str()
        )
    );
}
both_backends!(renewal_resets_the_mark => sqlite_renewal_resets_the_mark, postgres_renewal_resets_the_mark);
