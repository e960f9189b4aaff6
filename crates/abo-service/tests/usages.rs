//! Usage use cases on a real store, SQLite and PostgreSQL (`both_backends!`).

#[path = "usages_fixture/mod.rs"]
mod fixture;

use abo_service::ServiceError;
use abo_service::usages::{
    self, NONE_MATCHING, Usage, UsageChange, UsageQuery, UsageWrite, get_usage, list_usages,
    record_usage, record_usages,
};
use abo_store::{PageRequest, Store, both_backends};
use fixture::{DAY, NOW, fixture};

fn write(customer: &str, feature: &str, change: UsageChange) -> UsageWrite {
    UsageWrite {
        feature_reference: feature.into(),
        customer_reference: Some(customer.into()),
        subscription_id: None,
        change,
        date_stamp_us: Some(NOW - 1000),
        idempotency_key: None,
    }
}

fn query(customer: &str, feature: &str) -> UsageQuery {
    UsageQuery {
        feature_reference: Some(feature.into()),
        customer_reference: Some(customer.into()),
        ..Default::default()
    }
}

fn is_none_matching(e: &ServiceError) -> bool {
    matches!(e, ServiceError::Refused { code, .. } if *code == NONE_MATCHING)
}

async fn relative_absolute_and_onoff_writes(store: Store) {
    let f = fixture(store).await;
    let c = f.customer(f.main_segment, "cust-1", None).await;
    let s = f
        .subscription(f.main_segment, c, "basic", "ActiveRunning", 5)
        .await;
    let (st, b) = (&f.store, f.business_id);

    // Consumption: relative writes, negative ones included.
    let u = record_usage(
        st,
        b,
        &write("cust-1", "sms", UsageChange::Increment(57)),
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(
        (u.quantity_included, u.quantity_current),
        (Some(100), Some(57))
    );
    assert_eq!(u.subscription_id, s.id);
    assert_eq!(u.feature_type.to_string(), "Consumption");
    assert_eq!(
        (u.date_period_start_us, u.date_period_end_us),
        (Some(NOW - DAY), Some(NOW + 29 * DAY))
    );
    assert_eq!(
        (u.customer_reference.as_str(), u.segment_reference.as_str()),
        ("cust-1", "main-eur")
    );
    let u = record_usage(
        st,
        b,
        &write("cust-1", "sms", UsageChange::Increment(-7)),
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(u.quantity_current, Some(50));

    // Below zero is refused and changes nothing.
    let err = record_usage(
        st,
        b,
        &write("cust-1", "sms", UsageChange::Increment(-51)),
        NOW,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ServiceError::Invalid(_)), "{err:?}");
    assert_eq!(
        get_usage(st, b, &query("cust-1", "sms"))
            .await
            .unwrap()
            .quantity_current,
        Some(50)
    );

    // Limitation: absolute then relative.
    let u = record_usage(
        st,
        b,
        &write("cust-1", "seats", UsageChange::Quantity(17)),
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(
        (u.quantity_included, u.quantity_current),
        (Some(3), Some(17))
    );
    let u = record_usage(
        st,
        b,
        &write("cust-1", "seats", UsageChange::Increment(-2)),
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(u.quantity_current, Some(15));

    // OnOff: switched on, not included.
    let before = get_usage(st, b, &query("cust-1", "api")).await.unwrap();
    assert_eq!((before.is_included, before.is_enabled), (false, false));
    let u = record_usage(
        st,
        b,
        &write("cust-1", "api", UsageChange::Enabled(true)),
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(
        (u.is_included, u.is_enabled, u.quantity_current),
        (false, true, None)
    );
    assert!(
        get_usage(st, b, &query("cust-1", "api"))
            .await
            .unwrap()
            .is_enabled
    );

    // The kind of write must fit the kind of feature.
    for (feature, change) in [
        ("api", UsageChange::Increment(1)),
        ("api", UsageChange::Quantity(1)),
        ("sms", UsageChange::Enabled(true)),
    ] {
        let err = record_usage(st, b, &write("cust-1", feature, change), NOW)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ServiceError::Invalid(_)),
            "{feature}: {err:?}"
        );
    }

    // DateStamp: missing means now; the future is refused; a negative absolute too.
    let mut w = write("cust-1", "sms", UsageChange::Increment(1));
    w.date_stamp_us = None;
    assert_eq!(
        record_usage(st, b, &w, NOW).await.unwrap().quantity_current,
        Some(51)
    );
    w.date_stamp_us = Some(NOW + DAY);
    let err = record_usage(st, b, &w, NOW).await.unwrap_err();
    assert!(
        matches!(&err, ServiceError::Invalid(m) if m[0].contains("DateStamp")),
        "{err:?}"
    );
    let err = record_usage(
        st,
        b,
        &write("cust-1", "seats", UsageChange::Quantity(-1)),
        NOW,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ServiceError::Invalid(_)));

    // Every applied write is logged for billing, with its date stamp.
    let mut conn = st.acquire().await.unwrap();
    let sms = abo_store::features::get_by_reference(&mut conn, b, "sms")
        .await
        .unwrap();
    let events = abo_store::usages::list_events(&mut conn, b, s.id, sms.id)
        .await
        .unwrap();
    let increments: Vec<Option<i64>> = events.iter().map(|e| e.increment).collect();
    assert_eq!(increments, vec![Some(57), Some(-7), Some(1)]);
    assert_eq!(events[0].date_stamp_us, NOW - 1000);
    assert_eq!(events[2].date_stamp_us, NOW);
}
both_backends!(relative_absolute_and_onoff_writes => sqlite_relative_absolute_and_onoff_writes, postgres_relative_absolute_and_onoff_writes);

async fn only_started_subscriptions(store: Store) {
    let f = fixture(store).await;
    let (st, b) = (&f.store, f.business_id);
    let draft = f.customer(f.main_segment, "cust-draft", None).await;
    f.subscription(f.main_segment, draft, "basic", "DraftAgent", 0)
        .await;
    let ended = f.customer(f.main_segment, "cust-ended", None).await;
    f.subscription(f.main_segment, ended, "basic", "EndedTerminated", 40)
        .await;
    let suspended = f.customer(f.main_segment, "cust-susp", None).await;
    f.subscription(f.main_segment, suspended, "basic", "SuspendedAgent", 40)
        .await;
    let secret = f.customer(f.main_segment, "cust-secret", None).await;
    f.subscription(f.main_segment, secret, "secret", "ActiveRunning", 1)
        .await;

    for customer in [
        "cust-draft",
        "cust-ended",
        "cust-susp",
        "cust-secret",
        "nobody",
    ] {
        let err = record_usage(
            st,
            b,
            &write(customer, "sms", UsageChange::Increment(1)),
            NOW,
        )
        .await
        .unwrap_err();
        assert!(is_none_matching(&err), "{customer}: {err:?}");
        let err = get_usage(st, b, &query(customer, "sms")).await.unwrap_err();
        assert!(
            matches!(err, ServiceError::NotFound(_)),
            "{customer}: {err:?}"
        );
        let page = list_usages(
            st,
            b,
            &UsageQuery {
                customer_reference: Some(customer.into()),
                ..Default::default()
            },
            PageRequest::new(0, 10),
        )
        .await
        .unwrap();
        assert_eq!(page.total, 0, "{customer}");
    }
    // An unknown feature is named as such.
    let err = record_usage(
        st,
        b,
        &write("cust-draft", "nope", UsageChange::Increment(1)),
        NOW,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, ServiceError::NotFound(m) if m.contains("nope")),
        "{err:?}"
    );
    // Nothing was written anywhere.
    let mut conn = st.acquire().await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM usage_events")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(n, 0);
}
both_backends!(only_started_subscriptions => sqlite_only_started_subscriptions, postgres_only_started_subscriptions);

async fn several_subscriptions_are_summed(store: Store) {
    let f = fixture(store).await;
    let (st, b) = (&f.store, f.business_id);
    let c = f.customer(f.main_segment, "cust-2", None).await;
    // The older subscription (basic) is where writes without IdSubscription go.
    let basic = f
        .subscription(f.main_segment, c, "basic", "ActiveRunning", 20)
        .await;
    let pro = f
        .subscription(f.main_segment, c, "pro", "ActiveDelayedTermination", 3)
        .await;
    // A draft and an ended one never count.
    f.subscription(f.main_segment, c, "pro", "DraftAgent", 0)
        .await;
    f.subscription(f.main_segment, c, "basic", "EndedTerminated", 60)
        .await;

    let u = record_usage(
        st,
        b,
        &write("cust-2", "sms", UsageChange::Increment(10)),
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(
        (u.subscription_id, u.quantity_current),
        (basic.id, Some(10))
    );
    let mut to_pro = write("cust-2", "sms", UsageChange::Increment(5));
    to_pro.subscription_id = Some(pro.id);
    let u = record_usage(st, b, &to_pro, NOW).await.unwrap();
    assert_eq!((u.subscription_id, u.quantity_current), (pro.id, Some(5)));

    // Quantities summed over both started subscriptions.
    let sms = get_usage(st, b, &query("cust-2", "sms")).await.unwrap();
    assert_eq!(
        (sms.quantity_included, sms.quantity_current),
        (Some(600), Some(15))
    );
    assert_eq!(sms.subscription_id, basic.id);
    // Unlimited (pro) wins over a limit of 3 (basic): QuantityCurrent absent.
    let seats = get_usage(st, b, &query("cust-2", "seats")).await.unwrap();
    assert!(seats.is_unlimited());
    assert_eq!(
        (seats.quantity_included, seats.quantity_current),
        (None, None)
    );
    // OnOff: enabled and included if any is (pro includes it, basic does not).
    let api = get_usage(st, b, &query("cust-2", "api")).await.unwrap();
    assert_eq!((api.is_included, api.is_enabled), (true, true));
    // One subscription on its own is not summed.
    let only_pro = get_usage(
        st,
        b,
        &UsageQuery {
            subscription_id: Some(pro.id),
            ..query("cust-2", "sms")
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (only_pro.quantity_included, only_pro.quantity_current),
        (Some(500), Some(5))
    );

    // The listing: one usage per feature, in the oldest subscription's order.
    let all = list_usages(
        st,
        b,
        &UsageQuery {
            customer_reference: Some("cust-2".into()),
            ..Default::default()
        },
        PageRequest::new(0, 10),
    )
    .await
    .unwrap();
    let refs: Vec<&str> = all
        .items
        .iter()
        .map(|u| u.feature_reference.as_str())
        .collect();
    assert_eq!(refs, vec!["seats", "sms", "api", "audit"]);
    assert_eq!(all.total, 4);
    let same: Vec<&Usage> = all
        .items
        .iter()
        .filter(|u| u.feature_reference == "sms")
        .collect();
    assert_eq!(same[0].quantity_current, Some(15));
    // Per subscription: one row per feature of that subscription.
    let per_sub = list_usages(
        st,
        b,
        &UsageQuery {
            subscription_id: Some(pro.id),
            ..Default::default()
        },
        PageRequest::new(0, 10),
    )
    .await
    .unwrap();
    assert_eq!(per_sub.total, 3);
    // Pagination over the summed list.
    let page2 = list_usages(
        st,
        b,
        &UsageQuery {
            customer_id: Some(c),
            ..Default::default()
        },
        PageRequest::new(2, 2),
    )
    .await
    .unwrap();
    let refs: Vec<&str> = page2
        .items
        .iter()
        .map(|u| u.feature_reference.as_str())
        .collect();
    assert_eq!((refs, page2.total), (vec!["api", "audit"], 4));

    // By feature across customers: one row per customer.
    let other = f.customer(f.main_segment, "cust-3", None).await;
    f.subscription(f.main_segment, other, "basic", "ActiveRunning", 1)
        .await;
    let by_feature = list_usages(
        st,
        b,
        &UsageQuery {
            feature_reference: Some("sms".into()),
            ..Default::default()
        },
        PageRequest::new(0, 10),
    )
    .await
    .unwrap();
    let who: Vec<(&str, Option<i64>)> = by_feature
        .items
        .iter()
        .map(|u| (u.customer_reference.as_str(), u.quantity_current))
        .collect();
    assert_eq!(who, vec![("cust-2", Some(15)), ("cust-3", Some(0))]);
}
both_backends!(several_subscriptions_are_summed => sqlite_several_subscriptions_are_summed, postgres_several_subscriptions_are_summed);

async fn customer_reference_across_segments(store: Store) {
    let f = fixture(store).await;
    let (st, b) = (&f.store, f.business_id);
    // The same reference in two segments: the default segment's customer wins.
    let main = f.customer(f.main_segment, "twin", None).await;
    let fr = f.customer(f.fr_segment, "twin", None).await;
    f.subscription(f.main_segment, main, "basic", "ActiveRunning", 2)
        .await;
    let fr_sub = f
        .subscription(f.fr_segment, fr, "basic", "ActiveRunning", 9)
        .await;
    let u = record_usage(
        st,
        b,
        &write("twin", "seats", UsageChange::Increment(2)),
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(
        (u.customer_id, u.segment_reference.as_str()),
        (main, "main-eur")
    );
    // A customer only in a non-default segment is found without a segment.
    let solo = f.customer(f.fr_segment, "solo", None).await;
    f.subscription(f.fr_segment, solo, "basic", "ActiveRunning", 2)
        .await;
    let u = record_usage(
        st,
        b,
        &write("solo", "seats", UsageChange::Increment(1)),
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(
        (
            u.customer_id,
            u.segment_reference.as_str(),
            u.quantity_current
        ),
        (solo, "fr-eur", Some(1))
    );
    // IdSubscription picks the other twin.
    let mut w = write("twin", "seats", UsageChange::Increment(4));
    w.subscription_id = Some(fr_sub.id);
    assert_eq!(record_usage(st, b, &w, NOW).await.unwrap().customer_id, fr);
    // Narrowed by segment on reads.
    let u = get_usage(
        st,
        b,
        &UsageQuery {
            segment_id: Some(f.fr_segment),
            ..query("twin", "seats")
        },
    )
    .await
    .unwrap();
    assert_eq!(u.quantity_current, Some(4));
}
both_backends!(customer_reference_across_segments => sqlite_customer_reference_across_segments, postgres_customer_reference_across_segments);

async fn retried_write_counts_once(store: Store) {
    let f = fixture(store).await;
    let (st, b) = (&f.store, f.business_id);
    let c = f.customer(f.main_segment, "cust-r", None).await;
    f.subscription(f.main_segment, c, "basic", "ActiveRunning", 2)
        .await;
    let mut w = write("cust-r", "sms", UsageChange::Increment(3));
    w.idempotency_key = Some("req-1".into());
    assert_eq!(
        record_usage(st, b, &w, NOW).await.unwrap().quantity_current,
        Some(3)
    );
    // The retry answers the current state and applies nothing.
    assert_eq!(
        record_usage(st, b, &w, NOW + 5)
            .await
            .unwrap()
            .quantity_current,
        Some(3)
    );
    w.idempotency_key = Some("req-2".into());
    assert_eq!(
        record_usage(st, b, &w, NOW).await.unwrap().quantity_current,
        Some(6)
    );
    // Concurrent retries of one key: exactly one applies.
    w.idempotency_key = Some("req-3".into());
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (st, w) = (st.clone(), w.clone());
        tasks.push(tokio::spawn(
            async move { record_usage(&st, b, &w, NOW).await },
        ));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(
        get_usage(st, b, &query("cust-r", "sms"))
            .await
            .unwrap()
            .quantity_current,
        Some(9)
    );
}
both_backends!(retried_write_counts_once => sqlite_retried_write_counts_once, postgres_retried_write_counts_once);

async fn batches_are_all_or_nothing(store: Store) {
    let f = fixture(store).await;
    let (st, b) = (&f.store, f.business_id);
    for r in ["cust-a", "cust-b"] {
        let c = f.customer(f.main_segment, r, None).await;
        f.subscription(f.main_segment, c, "basic", "ActiveRunning", 2)
            .await;
    }
    let ok = vec![
        write("cust-a", "seats", UsageChange::Quantity(17)),
        write("cust-b", "seats", UsageChange::Quantity(10)),
    ];
    let out = record_usages(st, b, &ok, NOW).await.unwrap();
    let got: Vec<Option<i64>> = out.iter().map(|u| u.quantity_current).collect();
    assert_eq!(got, vec![Some(17), Some(10)]);

    // 51 writes are refused before anything is read.
    let too_many = vec![write("cust-a", "sms", UsageChange::Increment(1)); usages::MAX_BATCH + 1];
    assert!(matches!(
        record_usages(st, b, &too_many, NOW).await,
        Err(ServiceError::Invalid(_))
    ));
    // Each invalid write is named by its index.
    let mut bad = vec![write("cust-a", "sms", UsageChange::Increment(1)); 3];
    bad[1].feature_reference = String::new();
    bad[2].date_stamp_us = Some(NOW + DAY);
    match record_usages(st, b, &bad, NOW).await {
        Err(ServiceError::Invalid(errors)) => {
            assert_eq!(errors.len(), 2);
            assert!(
                errors[0].starts_with("[1]") && errors[1].starts_with("[2]"),
                "{errors:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    // One write matching nothing refuses the batch; the first was rolled back.
    let mixed = vec![
        write("cust-a", "sms", UsageChange::Increment(1)),
        write("nobody", "sms", UsageChange::Increment(1)),
    ];
    let err = record_usages(st, b, &mixed, NOW).await.unwrap_err();
    assert!(is_none_matching(&err), "{err:?}");
    assert_eq!(
        get_usage(st, b, &query("cust-a", "sms"))
            .await
            .unwrap()
            .quantity_current,
        Some(0)
    );
}
both_backends!(batches_are_all_or_nothing => sqlite_batches_are_all_or_nothing, postgres_batches_are_all_or_nothing);

/// 10,000 increments of one usage from 100 concurrent tasks: the atomic
/// `UPDATE … RETURNING` must not lose a single one, on either backend.
async fn ten_thousand_concurrent_increments(store: Store) {
    let f = fixture(store).await;
    let (st, b) = (f.store.clone(), f.business_id);
    let c = f.customer(f.main_segment, "hot", None).await;
    f.subscription(f.main_segment, c, "basic", "ActiveRunning", 2)
        .await;
    let mut tasks = Vec::new();
    for t in 0..100 {
        let st = st.clone();
        tasks.push(tokio::spawn(async move {
            let mut last = 0;
            for i in 0..100 {
                let mut w = write("hot", "sms", UsageChange::Increment(1));
                // Distinct keys: every write is a new one and must count.
                w.idempotency_key = Some(format!("t{t}-{i}"));
                last = record_usage(&st, b, &w, NOW)
                    .await
                    .unwrap()
                    .quantity_current
                    .unwrap();
            }
            last
        }));
    }
    let mut highest = 0;
    for t in tasks {
        highest = highest.max(t.await.unwrap());
    }
    assert_eq!(highest, 10_000);
    assert_eq!(
        get_usage(&st, b, &query("hot", "sms"))
            .await
            .unwrap()
            .quantity_current,
        Some(10_000)
    );
}
both_backends!(ten_thousand_concurrent_increments => sqlite_ten_thousand_concurrent_increments, postgres_ten_thousand_concurrent_increments);
