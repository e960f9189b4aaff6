//! The engine's batches (set-wise renewals, billings and collections) write
//! exactly what the same engine writes carrying out every job alone: two
//! identical businesses — card, failing card, SEPA, bank transfer, a
//! discount, a buyer without a payment method, monthly and yearly offers —
//! are driven through four months, one by each engine, and their balance
//! lines, invoices, payments and outbox rows are compared row by row.

mod common;

use std::collections::BTreeMap;

use abo_engine::Engine;
use abo_service::subscriptions::{self, CreateFlags, CreateSubscription};
use abo_store::{Store, both_backends};
use common::outcome::outcome;
use common::*;
use jiff::civil::date;
use sqlx::Row;

/// The common catalogue (monthly, yearly) and a recurring discount.
fn catalog() -> String {
    format!(
        r#"{CATALOG}
[[discount]]
segment = "main-eur"
reference = "three-euros"
name = "3 euros off"
target = "Recurrence"
amount = "3.00"
"#
    )
}

/// A business with a mixed book of customers, all subscribed at `t0`.
async fn mixed_business(store: &Store, t0: i64, one_by_one: bool) -> World {
    let mut w = World::with_catalog(store.clone(), t0, &catalog()).await;
    if one_by_one {
        w.engine = Engine::new(store.clone()).one_by_one();
    }
    let cards = [
        ("card-1", "4242 4242 4242 4242", "monthly"),
        ("card-2", "4242 4242 4242 4242", "monthly"),
        ("card-3", "4242 4242 4242 4242", "monthly"),
        ("card-4", "4242 4242 4242 4242", "monthly"),
        ("card-5", "4242 4242 4242 4242", "yearly"),
        ("card-6", "4242 4242 4242 4242", "yearly"),
        // Fine while the customer is there, insufficient funds at renewal.
        ("poor-1", "4200 4600 3702 5901", "monthly"),
        ("poor-2", "4200 4600 3702 5901", "monthly"),
    ];
    for (reference, number, offer) in cards {
        let c = w.customer(reference, "Free").await;
        w.register(c, &card(number, "12/30"), t0).await;
        w.subscribe(reference, offer, t0).await;
    }
    for reference in ["sepa-1", "sepa-2"] {
        let c = w.customer(reference, "Free").await;
        w.register(c, &mandate("DE89 3704 0044 0532 0130 00"), t0)
            .await;
        w.subscribe(reference, "monthly", t0).await;
    }
    for reference in ["bank-1", "bank-2", "bank-3"] {
        w.customer(reference, "ExternalBank").await;
        w.subscribe(reference, "monthly", t0).await;
    }
    for reference in ["promo-1", "promo-2"] {
        w.customer(reference, "ExternalBank").await;
        let request = CreateSubscription {
            business_id: w.business,
            customer_reference: Some(reference.into()),
            offer_reference: "monthly".into(),
            flags: CreateFlags {
                try_start: true,
                bill_now: true,
                ..Default::default()
            },
            discounts: vec!["three-euros".into()],
            ..Default::default()
        };
        subscriptions::create(&w.store, &request, t0).await.unwrap();
    }
    // No payment method: suspended at its first renewal.
    w.customer("free-1", "Free").await;
    w.subscribe("free-1", "monthly", t0).await;
    w
}

/// Invoice numbers of the business, in order.
async fn numbers(store: &Store, business: i64) -> Vec<i64> {
    let mut conn = store.acquire().await.unwrap();
    sqlx::query(
        "SELECT number FROM invoices WHERE business_id = $1 AND number IS NOT NULL \
         ORDER BY number",
    )
    .bind(business)
    .fetch_all(&mut *conn)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get::<i64, _>(0))
    .collect()
}

async fn batches_write_what_one_by_one_writes(store: Store) {
    let t0 = at(date(2026, 1, 15), 10);
    let batched = mixed_business(&store, t0, false).await;
    let alone = mixed_business(&store, t0, true).await;
    let end = at(date(2026, 5, 20), 12);
    let a = batched.advance(end).await;
    let b = alone.advance(end).await;
    assert_eq!(a.run.jobs_failed, 0, "{a:?}");
    assert_eq!(a.run.batches_rolled_back, 0, "{a:?}");
    assert_eq!(b.run.jobs_failed, 0, "{b:?}");
    assert_eq!(
        (a.run.renewals, a.run.invoices, a.run.payments),
        (b.run.renewals, b.run.invoices, b.run.payments)
    );
    // Four monthly terms for 13 monthly subscriptions, one suspension.
    assert_eq!(a.run.renewals, 4 * 13 + 1, "{a:?}");

    let (rows_batched, outbox_batched) = outcome(&store, batched.business).await;
    let (rows_alone, outbox_alone) = outcome(&store, alone.business).await;
    assert!(rows_alone.len() > 100, "{}", rows_alone.len());
    assert_eq!(rows_batched.len(), rows_alone.len());
    for (x, y) in rows_batched.iter().zip(&rows_alone) {
        assert_eq!(x, y);
    }
    // The batched engine renews in its scan's transaction and bills the
    // buyers there (`scan::renew_due`): its own work items, `Renew` jobs and
    // the renewals' `BillCustomer` jobs, are not written for those. Every
    // other row of the outbox is the same.
    let work = |key: &String| key.starts_with("Renew ") || key.starts_with("BillCustomer bill:");
    let (work_batched, outbox_batched): (BTreeMap<_, _>, BTreeMap<_, _>) =
        outbox_batched.into_iter().partition(|(k, _)| work(k));
    let (work_alone, outbox_alone): (BTreeMap<_, _>, BTreeMap<_, _>) =
        outbox_alone.into_iter().partition(|(k, _)| work(k));
    assert_eq!(outbox_batched, outbox_alone);
    assert!(
        work_batched.keys().all(|k| !k.starts_with("Renew ")),
        "{work_batched:?}"
    );
    let billings = |w: &BTreeMap<String, usize>| {
        w.iter()
            .filter(|(k, _)| k.starts_with("Bill"))
            .map(|(_, n)| *n)
            .sum::<usize>()
    };
    assert!(
        billings(&work_batched) < billings(&work_alone),
        "{work_batched:?} {work_alone:?}"
    );
    // Gapless numbering either way.
    for business in [batched.business, alone.business] {
        let n = numbers(&store, business).await;
        assert_eq!(n, (1..=n.len() as i64).collect::<Vec<_>>());
    }
}

both_backends!(batches_write_what_one_by_one_writes => sqlite_batches_write_what_one_by_one_writes, postgres_batches_write_what_one_by_one_writes);
