use abo_store::portal_reads::customer_subscriptions;
use abo_store::segments;
use abo_store::subscriptions::{self, NewSubscription, Subscription};
use abo_store::{Store, features};

use crate::fixtures::*;

/// The portal's batched read returns exactly what the generic repository functions return,
/// for the customer's own subscriptions in its segment only.
async fn customer_subscriptions_match_the_repository(store: Store) {
    let t = tenant(&store, "A").await;
    let mut c = store.acquire().await.unwrap();
    let seats = feature(&mut c, t.bid(), "seats", "Limitation").await;
    let api = feature(&mut c, t.bid(), "api", "OnOff").await;
    let mut hidden = new_feature(t.bid(), "hidden", "Consumption");
    hidden.is_visible = false;
    hidden.description = Some("Not shown".into());
    let hidden = features::create(&mut c, &hidden, NOW).await.unwrap();
    let tiered = offer(
        &mut c,
        &t,
        "pro",
        vec![terms(seats.id, graduated_tiers()), terms(api.id, vec![])],
    )
    .await;
    let plain = offer(
        &mut c,
        &t,
        "basic",
        vec![terms(api.id, vec![]), terms(hidden.id, vec![])],
    )
    .await;
    let cust = customer(&mut c, &t, "cust-1").await;
    let other = customer(&mut c, &t, "cust-2").await;

    let mut ids = Vec::new();
    for (o, recipient, buyer) in [
        (&tiered, cust.id, cust.id),
        (&plain, cust.id, other.id),
        // Bought by the customer for someone else: not one of its subscriptions.
        (&plain, other.id, cust.id),
        (&tiered, other.id, other.id),
    ] {
        let mut new = NewSubscription::from_offer(o, recipient, "ActiveRunning");
        new.customer_buyer_id = buyer;
        new.date_start_us = Some(NOW);
        let s = subscriptions::create(&mut c, &new, NOW).await.unwrap();
        ids.push(s.id);
    }
    // A custom subscription (no offer) of the customer.
    let mut custom = NewSubscription::from_offer(&plain, cust.id, "Draft");
    custom.offer_id = None;
    custom.title = "Custom".into();
    ids.push(
        subscriptions::create(&mut c, &custom, NOW)
            .await
            .unwrap()
            .id,
    );

    let read = customer_subscriptions(&mut c, t.bid(), t.sid(), cust.id, 200)
        .await
        .unwrap();
    let mut expected: Vec<Subscription> = Vec::new();
    for id in [ids[0], ids[1], ids[4]] {
        expected.push(subscriptions::get(&mut c, t.bid(), id).await.unwrap());
    }
    assert_eq!(read.subscriptions, expected);
    assert!(!read.subscriptions[0].features[0].terms.tiers.is_empty());
    let mut offers = read.offer_references.clone();
    offers.sort();
    let mut want = vec![
        (tiered.id, "pro".to_owned()),
        (plain.id, "basic".to_owned()),
    ];
    want.sort();
    assert_eq!(offers, want);
    let mut catalogue = read.features.clone();
    catalogue.sort_by_key(|f| f.id);
    let mut want = Vec::new();
    for id in [seats.id, api.id, hidden.id] {
        want.push(features::get(&mut c, t.bid(), id).await.unwrap());
    }
    want.sort_by_key(|f| f.id);
    assert_eq!(catalogue, want);

    // The limit keeps the oldest, and drops the features of the others.
    let first = customer_subscriptions(&mut c, t.bid(), t.sid(), cust.id, 1)
        .await
        .unwrap();
    assert_eq!(first.subscriptions, expected[..1].to_vec());

    // Nothing of the customer in another segment, nothing for a customer without any.
    let other_segment = segments::create(&mut c, &new_segment(t.bid(), "usd", false), NOW)
        .await
        .unwrap();
    let none = customer_subscriptions(&mut c, t.bid(), other_segment.id, cust.id, 200)
        .await
        .unwrap();
    assert!(none.subscriptions.is_empty() && none.features.is_empty());
    let lonely = customer(&mut c, &t, "cust-3").await;
    let none = customer_subscriptions(&mut c, t.bid(), t.sid(), lonely.id, 200)
        .await
        .unwrap();
    assert!(none.subscriptions.is_empty() && none.offer_references.is_empty());

    // Another business sees nothing of this one.
    let b = tenant(&store, "B").await;
    let foreign = customer_subscriptions(&mut c, b.bid(), t.sid(), cust.id, 200)
        .await
        .unwrap();
    assert!(foreign.subscriptions.is_empty());
}
abo_store::both_backends!(customer_subscriptions_match_the_repository => sqlite_customer_subscriptions_match_the_repository, postgres_customer_subscriptions_match_the_repository);
