//! The group-commit usage writer on a real store, SQLite and PostgreSQL
//! (`both_backends!`; forced to batch on both, whatever a node would pick).

#[path = "usages_fixture/mod.rs"]
mod fixture;

use abo_service::ServiceError;
use abo_service::usages::{
    NONE_MATCHING, UsageChange, UsageQuery, UsageWrite, UsageWriter, get_usage,
};
use abo_store::{Store, both_backends};
use fixture::{NOW, fixture};

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

async fn current(store: &Store, business_id: i64, customer: &str, feature: &str) -> Option<i64> {
    let query = UsageQuery {
        feature_reference: Some(feature.into()),
        customer_reference: Some(customer.into()),
        ..Default::default()
    };
    get_usage(store, business_id, &query)
        .await
        .unwrap()
        .quantity_current
}

/// Refused writes queued among good ones (so that they share batches) are
/// refused alone, with the errors `record_usage` gives; the others count.
async fn a_refused_write_does_not_sink_its_batch(store: Store) {
    let f = fixture(store).await;
    let (st, b) = (f.store.clone(), f.business_id);
    let c = f.customer(f.main_segment, "cust-w", None).await;
    f.subscription(f.main_segment, c, "basic", "ActiveRunning", 2)
        .await;
    let writer = UsageWriter::batched(st.clone(), 64);
    let mut tasks = Vec::new();
    for i in 0..200 {
        let w = match i % 4 {
            0 => write("cust-w", "sms", UsageChange::Increment(1)),
            // Below zero on a counter that is never negative here: refused.
            1 => write("cust-w", "seats", UsageChange::Increment(-1_000_000)),
            2 => write("cust-w", "no-such-feature", UsageChange::Increment(1)),
            _ => write("nobody", "sms", UsageChange::Increment(1)),
        };
        let writer = writer.clone();
        tasks.push(tokio::spawn(async move {
            (i % 4, writer.record(b, w, NOW).await)
        }));
    }
    for t in tasks {
        match t.await.unwrap() {
            (0, r) => assert!(r.is_ok(), "{r:?}"),
            (1, Err(ServiceError::Invalid(m))) => {
                assert!(m[0].contains("below zero"), "{m:?}")
            }
            (2, Err(ServiceError::NotFound(what))) => {
                assert!(what.contains("no-such-feature"), "{what}")
            }
            (3, Err(ServiceError::Refused { code, .. })) => assert_eq!(code, NONE_MATCHING),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(current(&st, b, "cust-w", "sms").await, Some(50));
    // Invalid input is refused before it is queued, as by `record_usage`.
    let mut bad = write("cust-w", "sms", UsageChange::Increment(1));
    bad.date_stamp_us = Some(NOW + fixture::DAY);
    assert!(matches!(
        writer.record(b, bad, NOW).await,
        Err(ServiceError::Invalid(_))
    ));
    writer.shutdown().await;
}
both_backends!(a_refused_write_does_not_sink_its_batch => sqlite_a_refused_write_does_not_sink_its_batch, postgres_a_refused_write_does_not_sink_its_batch);

/// 10,000 concurrent increments through the writer, with retries of the
/// same idempotency keys racing in the same batches: each key counts once.
async fn concurrent_increments_count_exactly_once(store: Store) {
    let f = fixture(store).await;
    let (st, b) = (f.store.clone(), f.business_id);
    let c = f.customer(f.main_segment, "hot", None).await;
    f.subscription(f.main_segment, c, "basic", "ActiveRunning", 2)
        .await;
    let writer = UsageWriter::batched(st.clone(), 512);
    let mut tasks = Vec::new();
    for t in 0..100 {
        let writer = writer.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..100 {
                let mut w = write("hot", "sms", UsageChange::Increment(1));
                w.idempotency_key = Some(format!("t{t}-{i}"));
                writer.record(b, w.clone(), NOW).await.unwrap();
                if i % 10 == 0 {
                    // A retry: answered, not applied again.
                    writer.record(b, w, NOW).await.unwrap();
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(current(&st, b, "hot", "sms").await, Some(10_000));
    writer.shutdown().await;
}
both_backends!(concurrent_increments_count_exactly_once => sqlite_concurrent_increments_count_exactly_once, postgres_concurrent_increments_count_exactly_once);

/// Shutdown commits what was queued and answers it; later writes fail.
async fn shutdown_drains_the_queue(store: Store) {
    let f = fixture(store).await;
    let (st, b) = (f.store.clone(), f.business_id);
    let c = f.customer(f.main_segment, "cust-s", None).await;
    f.subscription(f.main_segment, c, "basic", "ActiveRunning", 2)
        .await;
    let writer = UsageWriter::batched(st.clone(), 16);
    let mut tasks = Vec::new();
    for _ in 0..300 {
        let writer = writer.clone();
        tasks.push(tokio::spawn(async move {
            writer
                .record(b, write("cust-s", "sms", UsageChange::Increment(1)), NOW)
                .await
        }));
    }
    // Let every task queue its write before stopping.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    writer.shutdown().await;
    let acknowledged = {
        let mut n = 0;
        for t in tasks {
            if t.await.unwrap().is_ok() {
                n += 1;
            }
        }
        n
    };
    assert_eq!(acknowledged, 300);
    assert_eq!(current(&st, b, "cust-s", "sms").await, Some(300));
    let late = writer
        .record(b, write("cust-s", "sms", UsageChange::Increment(1)), NOW)
        .await;
    assert!(matches!(late, Err(ServiceError::Internal(_))), "{late:?}");
    assert_eq!(current(&st, b, "cust-s", "sms").await, Some(300));
}
both_backends!(shutdown_drains_the_queue => sqlite_shutdown_drains_the_queue, postgres_shutdown_drains_the_queue);
