use abo_store::customers::{self, CustomerFilter};
use abo_store::invoices::{self, NewInvoice};
use abo_store::subscriptions::{self, NewSubscription};
use abo_store::{PageRequest, Store, StoreError, balance_lines, offers, usages};

use crate::fixtures::*;

/// Business B can never read or touch business A's rows, by id or by reference, and cannot
/// link its own rows to A's.
async fn tenant_isolation(store: Store) {
    let a = tenant(&store, "A").await;
    let b = tenant(&store, "B").await;
    let mut c = store.acquire().await.unwrap();
    let seats_a = feature(&mut c, a.bid(), "seats", "Limitation").await;
    let cust_a = customer(&mut c, &a, "cust-1").await;
    let offer_a = offer(&mut c, &a, "pro", vec![terms(seats_a.id, vec![])]).await;
    let sub_a = subscriptions::create(
        &mut c,
        &NewSubscription::from_offer(&offer_a, cust_a.id, "ActiveRunning"),
        NOW,
    )
    .await
    .unwrap();

    // Reads by id.
    assert!(
        customers::get(&mut c, b.bid(), cust_a.id)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        offers::get(&mut c, b.bid(), offer_a.id)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        subscriptions::get(&mut c, b.bid(), sub_a.id)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        abo_store::features::get(&mut c, b.bid(), seats_a.id)
            .await
            .is_err()
    );
    assert!(
        abo_store::segments::get(&mut c, b.bid(), a.sid())
            .await
            .is_err()
    );
    // Reads by reference, even when B knows A's segment id.
    assert!(
        customers::get_by_reference(&mut c, b.bid(), a.sid(), "cust-1")
            .await
            .is_err()
    );
    assert!(
        offers::get_by_reference(&mut c, b.bid(), a.sid(), "pro")
            .await
            .is_err()
    );
    assert!(
        customers::get_by_reference(&mut c, b.bid(), b.sid(), "cust-1")
            .await
            .is_err()
    );
    // Listings.
    let listed = customers::list(
        &mut c,
        b.bid(),
        &CustomerFilter::default(),
        PageRequest::default(),
    )
    .await
    .unwrap();
    assert_eq!(listed.total, 0);
    let in_a_segment = CustomerFilter {
        segment_id: Some(a.sid()),
        ..Default::default()
    };
    assert_eq!(
        customers::list(&mut c, b.bid(), &in_a_segment, PageRequest::default())
            .await
            .unwrap()
            .total,
        0
    );
    // Writes.
    let patch = customers::CustomerPatch {
        name: Some("pwned".into()),
        ..Default::default()
    };
    assert!(
        customers::update(&mut c, b.bid(), cust_a.id, &patch, NOW)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        customers::revoke_links(&mut c, b.bid(), cust_a.id, NOW)
            .await
            .is_err()
    );
    assert!(
        usages::apply_increment(&mut c, b.bid(), sub_a.id, seats_a.id, 1)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        subscriptions::update_state(&mut c, b.bid(), sub_a.id, "EndedTerminated", NOW)
            .await
            .is_err()
    );
    assert_eq!(
        subscriptions::get(&mut c, a.bid(), sub_a.id)
            .await
            .unwrap()
            .state,
        "ActiveRunning"
    );
    // Cross-tenant references are refused by the schema.
    let mut foreign = NewSubscription::from_offer(&offer_a, cust_a.id, "ActiveRunning");
    foreign.business_id = b.bid();
    foreign.segment_id = b.sid();
    let err = subscriptions::create(&mut c, &foreign, NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    let foreign_offer = new_offer(&b, "steal", vec![terms(seats_a.id, vec![])]);
    let err = offers::create(&mut c, &foreign_offer, NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    let inv = NewInvoice {
        business_id: b.bid(),
        segment_id: b.sid(),
        customer_id: cust_a.id,
        type_payment: "Free".into(),
        currency: "EUR".into(),
        ..Default::default()
    };
    assert!(matches!(
        invoices::create_draft(&mut c, &inv, NOW).await,
        Err(StoreError::Invalid(_))
    ));
    let line = balance_lines::NewBalanceLine {
        business_id: b.bid(),
        segment_id: b.sid(),
        customer_id: cust_a.id,
        type_line: "Charge".into(),
        label: "x".into(),
        amount_subtotal: 100,
        currency: "EUR".into(),
        ..Default::default()
    };
    assert!(matches!(
        balance_lines::insert(&mut c, &line, NOW).await,
        Err(StoreError::Invalid(_))
    ));
}
abo_store::both_backends!(tenant_isolation => sqlite_tenant_isolation, postgres_tenant_isolation);
