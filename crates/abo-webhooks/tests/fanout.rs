//! Events to deliveries, on SQLite and PostgreSQL: one delivery per active
//! endpoint subscribed to the trigger, exactly once however often the event
//! is fanned out; the envelope of the trigger's family built from the
//! store; attempts recorded only forward; the history purged after 60 days.

use abo_service::business::{BusinessSpec, create_business};
use abo_service::catalog::{import_catalog, parse_catalog};
use abo_service::events;
use abo_service::subscriptions::{CreateFlags, CreateSubscription, create};
use abo_store::customers::{self, NewCustomer};
use abo_store::webhooks::{self, AttemptResult, DeliveryFilter};
use abo_store::{PageRequest, Store, both_backends, jobs, segments};
use serde_json::Value;

const NOW: i64 = 1_780_000_000_000_000;
const DAY_US: i64 = 86_400_000_000;

async fn business(store: &Store) -> i64 {
    let created = create_business(
        store,
        &BusinessSpec {
            name: "Hooks".into(),
            country: "FR".into(),
            default_language: "en".into(),
            is_test: true,
        },
        NOW,
    )
    .await
    .unwrap();
    let id = created.business.id;
    let catalog = parse_catalog(abo_service::demo::DEMO_CATALOG).unwrap();
    import_catalog(store, id, &catalog, NOW).await.unwrap();
    id
}

/// An endpoint, verified unless `pending`.
async fn endpoint(store: &Store, business: i64, triggers: &[&str], pending: bool) -> i64 {
    let triggers: Vec<String> = triggers.iter().map(|t| (*t).to_owned()).collect();
    let e = abo_webhooks::endpoints::create(
        store,
        abo_webhooks::TargetPolicy::default(),
        business,
        "https://example.com/h",
        &triggers,
        NOW,
    )
    .await
    .unwrap();
    if !pending {
        let mut conn = store.acquire().await.unwrap();
        webhooks::mark_verified(&mut conn, business, e.id, NOW)
            .await
            .unwrap();
    }
    e.id
}

/// The business's pending `Webhook` jobs (events), oldest first.
async fn events_of(store: &Store, business: i64) -> Vec<jobs::Job> {
    jobs::claim_kinds(
        store,
        "t",
        NOW + DAY_US,
        60_000_000,
        100,
        Some(business),
        &["Webhook"],
    )
    .await
    .unwrap()
}

async fn fan_out_twice_makes_one_delivery_per_subscribed_active_endpoint(store: Store) {
    let b = business(&store).await;
    let other = business(&store).await;
    let wanted = endpoint(&store, b, &["CustomerAdded", "SubscriptionStarted"], false).await;
    let _unverified = endpoint(&store, b, &["CustomerAdded"], true).await;
    let _other_trigger = endpoint(&store, b, &["InvoiceDebitPaid"], false).await;
    let _other_business = endpoint(&store, other, &["CustomerAdded"], false).await;

    let mut tx = store.begin().await.unwrap();
    let segment = segments::get_default(&mut tx, b).await.unwrap();
    let c = customers::create(
        &mut tx,
        &NewCustomer {
            business_id: b,
            segment_id: segment.id,
            reference: "fan-1".into(),
            name: Some("Fan One".into()),
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap();
    assert!(
        events::customer(&mut tx, "CustomerAdded", &c, NOW)
            .await
            .unwrap()
    );
    // The same event again (a retried use case) is not written twice.
    assert!(
        !events::customer(&mut tx, "CustomerAdded", &c, NOW)
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    let sub = create(
        &store,
        &CreateSubscription {
            business_id: b,
            customer_reference: Some("fan-1".into()),
            offer_reference: "free".into(),
            flags: CreateFlags {
                try_start: true,
                ..Default::default()
            },
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap();

    let claimed = events_of(&store, b).await;
    let triggers: Vec<String> = claimed
        .iter()
        .map(|j| {
            serde_json::from_str::<Value>(&j.payload).unwrap()["TypeTrigger"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(
        triggers.contains(&"CustomerAdded".to_owned()),
        "{triggers:?}"
    );
    assert!(
        triggers.contains(&"SubscriptionStarted".to_owned()),
        "{triggers:?}"
    );
    for job in &claimed {
        abo_webhooks::deliver::fan_out(&store, job, NOW)
            .await
            .unwrap();
        // Fanned out again (a job run twice): nothing new.
        assert_eq!(
            abo_webhooks::deliver::fan_out(&store, job, NOW)
                .await
                .unwrap(),
            0
        );
    }
    let mut conn = store.acquire().await.unwrap();
    let all = webhooks::list_deliveries(
        &mut conn,
        b,
        &DeliveryFilter::default(),
        PageRequest::default(),
    )
    .await
    .unwrap();
    let delivered_triggers: Vec<&str> = all.items.iter().map(|d| d.type_trigger.as_str()).collect();
    assert_eq!(all.total, 2, "{delivered_triggers:?}");
    assert!(
        all.items
            .iter()
            .all(|d| d.endpoint_id == wanted && d.status == "Pending")
    );
    // One first attempt job per delivery.
    for d in &all.items {
        let job = jobs::find_by_natural_key(&mut conn, &format!("webhook-delivery:{}:1", d.id))
            .await
            .unwrap();
        assert!(job.is_some());
    }
    let started = all
        .items
        .iter()
        .find(|d| d.type_trigger == "SubscriptionStarted")
        .unwrap();
    let envelope: Value = serde_json::from_str(&started.payload).unwrap();
    assert_eq!(envelope["Id"], started.event_id);
    assert_eq!(envelope["IdBusiness"], b);
    assert_eq!(envelope["IdSegment"], segment.id);
    assert_eq!(envelope["ReferenceSegment"], segment.reference);
    assert_eq!(envelope["Customer"]["Name"], "Fan One");
    assert_eq!(envelope["CustomerBuyer"]["Id"], c.id);
    assert_eq!(envelope["Offer"]["ReferenceOffer"], "free");
    assert_eq!(envelope["Subscription"]["Id"], sub.subscription.id);
    assert_eq!(envelope["Subscription"]["Status"], "Active");
    assert!(envelope.get("InvoiceDebit").is_none());
    let added = all
        .items
        .iter()
        .find(|d| d.type_trigger == "CustomerAdded")
        .unwrap();
    let envelope: Value = serde_json::from_str(&added.payload).unwrap();
    assert_eq!(
        envelope.as_object().unwrap().len(),
        7,
        "header + Customer: {envelope}"
    );

    // The other business sees none of it.
    let theirs = webhooks::list_deliveries(
        &mut conn,
        other,
        &DeliveryFilter::default(),
        PageRequest::default(),
    )
    .await
    .unwrap();
    assert_eq!(theirs.total, 0);
    assert!(
        webhooks::get_delivery(&mut conn, other, added.id)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        webhooks::get_endpoint(&mut conn, other, wanted)
            .await
            .unwrap_err()
            .is_not_found()
    );
}
both_backends!(fan_out_twice_makes_one_delivery_per_subscribed_active_endpoint => fan_out_sqlite, fan_out_postgres);

async fn attempts_only_move_forward_and_history_is_purged_after_60_days(store: Store) {
    let b = business(&store).await;
    let e = endpoint(&store, b, &["CustomerAdded"], false).await;
    let mut conn = store.acquire().await.unwrap();
    let new = webhooks::NewDelivery {
        business_id: b,
        endpoint_id: e,
        event_id: "trg_1",
        type_trigger: "CustomerAdded",
        date_trigger_us: NOW,
        payload: "{}",
    };
    let d = webhooks::create_delivery(&mut conn, &new, NOW)
        .await
        .unwrap()
        .unwrap();
    assert!(
        webhooks::create_delivery(&mut conn, &new, NOW)
            .await
            .unwrap()
            .is_none()
    );
    let second = AttemptResult {
        attempt: 2,
        status: "Pending",
        http_status: Some(500),
        error: Some("HTTP 500"),
        next_attempt_us: Some(NOW + 1),
    };
    assert!(
        webhooks::record_attempt(&mut conn, b, d.id, &second, NOW)
            .await
            .unwrap()
    );
    let first = AttemptResult {
        attempt: 1,
        ..second.clone()
    };
    assert!(
        !webhooks::record_attempt(&mut conn, b, d.id, &first, NOW)
            .await
            .unwrap()
    );
    assert!(
        !webhooks::record_attempt(&mut conn, b, d.id, &second, NOW)
            .await
            .unwrap()
    );
    assert_eq!(
        webhooks::get_delivery(&mut conn, b, d.id)
            .await
            .unwrap()
            .attempts,
        2
    );

    let later = webhooks::NewDelivery {
        event_id: "trg_2",
        ..new
    };
    webhooks::create_delivery(&mut conn, &later, NOW + 30 * DAY_US)
        .await
        .unwrap()
        .unwrap();
    drop(conn);
    assert_eq!(
        abo_webhooks::deliver::purge(&store, b, NOW + 59 * DAY_US)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        abo_webhooks::deliver::purge(&store, b, NOW + 61 * DAY_US)
            .await
            .unwrap(),
        1
    );
    let mut conn = store.acquire().await.unwrap();
    let left = webhooks::list_deliveries(
        &mut conn,
        b,
        &DeliveryFilter::default(),
        PageRequest::default(),
    )
    .await
    .unwrap();
    assert_eq!(left.items.len(), 1);
    assert_eq!(left.items[0].event_id, "trg_2");
}
both_backends!(attempts_only_move_forward_and_history_is_purged_after_60_days => purge_sqlite, purge_postgres);
