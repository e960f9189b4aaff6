use abo_store::subscriptions::{self, NewSubscription, SubscriptionFilter, SubscriptionPatch};
use abo_store::usages::{self, NewUsageEvent};
use abo_store::{PageRequest, Store};

use crate::fixtures::*;

async fn subscription_lifecycle(store: Store) {
    let t = tenant(&store, "A").await;
    let mut c = store.acquire().await.unwrap();
    let seats = feature(&mut c, t.bid(), "seats", "Limitation").await;
    let api = feature(&mut c, t.bid(), "api", "OnOff").await;
    let cust = customer(&mut c, &t, "cust-1").await;
    let buyer = customer(&mut c, &t, "payer").await;
    let o = offer(
        &mut c,
        &t,
        "pro",
        vec![terms(seats.id, graduated_tiers()), terms(api.id, vec![])],
    )
    .await;
    let mut new = NewSubscription::from_offer(&o, cust.id, "ActiveRunning");
    new.customer_buyer_id = buyer.id;
    new.date_start_us = Some(NOW);
    new.date_period_start_us = Some(NOW);
    new.date_period_end_us = Some(NOW + 1000);
    new.billing_anchor = Some("2026-01-01".into());
    new.metadata = Some("{}".into());
    let s = subscriptions::create(&mut c, &new, NOW).await.unwrap();
    assert_eq!(
        (s.title.as_str(), s.amount_recurrence, s.offer_id),
        ("Offer pro", 10_000, Some(o.id))
    );
    assert_eq!(s.features.len(), 2);
    assert_eq!(s.features[0].terms, o.features[0].terms);
    assert_eq!(s.features[0].quantity_current, Some(0));
    assert_eq!(s.features[1].quantity_current, None);
    assert_eq!(s.features[1].feature_reference, "api");

    // Editing the offer does not change the subscription (snapshot).
    let mut pricier = new_offer(&t, "pro", vec![terms(seats.id, vec![])]);
    pricier.amount_recurrence = 99_999;
    abo_store::offers::upsert(&mut c, &pricier, NOW)
        .await
        .unwrap();
    let s_again = subscriptions::get(&mut c, t.bid(), s.id).await.unwrap();
    assert_eq!(s_again, s);

    // Partial update: Some(None) clears, None keeps.
    let patch = SubscriptionPatch {
        state: Some("ActiveDelayedTermination".into()),
        date_term_us: Some(Some(NOW + 1000)),
        metadata: Some(None),
        period_index: Some(1),
        ..Default::default()
    };
    let s2 = subscriptions::update(&mut c, t.bid(), s.id, &patch, NOW + 5)
        .await
        .unwrap();
    assert_eq!(s2.state, "ActiveDelayedTermination");
    assert_eq!(
        (s2.date_term_us, s2.metadata.clone(), s2.period_index),
        (Some(NOW + 1000), None, 1)
    );
    assert_eq!(s2.billing_anchor.as_deref(), Some("2026-01-01"));
    assert_eq!(s2.date_period_end_us, Some(NOW + 1000));
    assert_eq!(s2.updated_at_us, NOW + 5);

    // Renewal work list and listing filters.
    assert_eq!(
        subscriptions::due_for_renewal(&mut c, NOW + 999, 10)
            .await
            .unwrap(),
        vec![]
    );
    assert_eq!(
        subscriptions::due_for_renewal(&mut c, NOW + 1000, 10)
            .await
            .unwrap(),
        vec![(t.bid(), s.id)]
    );
    let filter = SubscriptionFilter {
        customer_id: Some(cust.id),
        ..Default::default()
    };
    let page = subscriptions::list(&mut c, t.bid(), &filter, PageRequest::default())
        .await
        .unwrap();
    assert_eq!((page.total, page.items[0].customer_buyer_id), (1, buyer.id));
    let filter = SubscriptionFilter {
        state: Some("ActiveRunning".into()),
        ..Default::default()
    };
    assert_eq!(
        subscriptions::list(&mut c, t.bid(), &filter, PageRequest::default())
            .await
            .unwrap()
            .total,
        0
    );
    let s3 = subscriptions::update_state(&mut c, t.bid(), s.id, "EndedTerminated", NOW + 6)
        .await
        .unwrap();
    assert_eq!(s3.state, "EndedTerminated");
    assert_eq!(
        subscriptions::due_for_renewal(&mut c, NOW + 2000, 10)
            .await
            .unwrap(),
        vec![]
    );

    // Replacing features.
    let replaced = subscriptions::set_features(
        &mut c,
        t.bid(),
        s.id,
        &[subscriptions::NewSubscriptionFeature {
            terms: terms(api.id, vec![]),
            quantity_current: None,
        }],
        NOW + 7,
    )
    .await
    .unwrap();
    assert_eq!(replaced.features.len(), 1);
    assert_eq!(replaced.features[0].feature_reference, "api");
}
abo_store::both_backends!(subscription_lifecycle => sqlite_subscription_lifecycle, postgres_subscription_lifecycle);

/// 200 concurrent increments on one usage sum exactly.
async fn concurrent_increments_are_never_lost(store: Store) {
    let t = tenant(&store, "A").await;
    let mut c = store.acquire().await.unwrap();
    let calls = feature(&mut c, t.bid(), "calls", "Consumption").await;
    let cust = customer(&mut c, &t, "cust-1").await;
    let o = offer(&mut c, &t, "metered", vec![terms(calls.id, vec![])]).await;
    let s = subscriptions::create(
        &mut c,
        &NewSubscription::from_offer(&o, cust.id, "ActiveRunning"),
        NOW,
    )
    .await
    .unwrap();
    drop(c);
    let mut handles = Vec::new();
    for i in 0..200i64 {
        let store = store.clone();
        let (bid, sid, fid) = (t.bid(), s.id, calls.id);
        handles.push(tokio::spawn(async move {
            if i % 2 == 0 {
                // Half inside a transaction with the event log (the service's path)...
                let mut tx = store.begin().await.unwrap();
                let ev = NewUsageEvent {
                    business_id: bid,
                    subscription_id: sid,
                    feature_id: fid,
                    increment: Some(1),
                    quantity: None,
                    date_stamp_us: NOW + i,
                    idempotency_key: Some(format!("k{i}")),
                };
                assert!(
                    usages::record_event(&mut tx, &ev, NOW)
                        .await
                        .unwrap()
                        .is_some()
                );
                usages::apply_increment(&mut tx, bid, sid, fid, 1)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            } else {
                // ...half as single statements on pooled connections.
                let mut conn = store.acquire().await.unwrap();
                usages::apply_increment(&mut conn, bid, sid, fid, 1)
                    .await
                    .unwrap();
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let mut c = store.acquire().await.unwrap();
    assert_eq!(
        usages::get(&mut c, t.bid(), s.id, calls.id)
            .await
            .unwrap()
            .quantity_current,
        Some(200)
    );
    assert_eq!(
        usages::list_events(&mut c, t.bid(), s.id, calls.id)
            .await
            .unwrap()
            .len(),
        100
    );

    // A replayed idempotency key is not recorded twice.
    let ev = NewUsageEvent {
        business_id: t.bid(),
        subscription_id: s.id,
        feature_id: calls.id,
        increment: Some(1),
        quantity: None,
        date_stamp_us: NOW,
        idempotency_key: Some("k0".into()),
    };
    assert!(
        usages::record_event(&mut c, &ev, NOW)
            .await
            .unwrap()
            .is_none()
    );
    // Negative increments, absolute quantities, unlimited.
    assert_eq!(
        usages::apply_increment(&mut c, t.bid(), s.id, calls.id, -50)
            .await
            .unwrap(),
        150
    );
    assert_eq!(
        usages::set_quantity(&mut c, t.bid(), s.id, calls.id, None)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        usages::apply_increment(&mut c, t.bid(), s.id, calls.id, 3)
            .await
            .unwrap(),
        3
    );
    usages::set_enabled(&mut c, t.bid(), s.id, calls.id, false)
        .await
        .unwrap();
    let listed = usages::list_for_customer(&mut c, t.bid(), cust.id)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (
            listed[0].feature.quantity_current,
            listed[0].feature.terms.is_enabled
        ),
        (Some(3), false)
    );
    assert_eq!(listed[0].state, "ActiveRunning");
    assert!(
        usages::apply_increment(&mut c, t.bid(), s.id, calls.id + 999, 1)
            .await
            .unwrap_err()
            .is_not_found()
    );
}
abo_store::both_backends!(concurrent_increments_are_never_lost => sqlite_concurrent_increments_are_never_lost, postgres_concurrent_increments_are_never_lost);
