use std::collections::HashSet;

use abo_store::Store;
use abo_store::jobs::{self, NewJob};

use crate::fixtures::*;

fn job(natural_key: Option<String>, run_at_us: i64) -> NewJob {
    NewJob {
        business_id: None,
        kind: "webhook".into(),
        payload: r#"{"TypeTrigger":"CustomerAdded"}"#.into(),
        run_at_us,
        max_attempts: 3,
        natural_key,
    }
}

async fn enqueue_with_same_natural_key_is_a_noop(store: Store) {
    let t = tenant(&store, "A").await;
    let mut tx = store.begin().await.unwrap();
    let mut new = job(Some("invoice-issued:42".into()), NOW);
    new.business_id = Some(t.bid());
    let id = jobs::enqueue(&mut tx, &new, NOW).await.unwrap();
    assert!(id.is_some());
    assert_eq!(jobs::enqueue(&mut tx, &new, NOW).await.unwrap(), None);
    tx.commit().await.unwrap();
    let mut c = store.acquire().await.unwrap();
    assert_eq!(jobs::enqueue(&mut c, &new, NOW).await.unwrap(), None);
    // Jobs without a natural key are never deduplicated.
    assert!(
        jobs::enqueue(&mut c, &job(None, NOW), NOW)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        jobs::enqueue(&mut c, &job(None, NOW), NOW)
            .await
            .unwrap()
            .is_some()
    );
    let stored = jobs::find_by_natural_key(&mut c, "invoice-issued:42")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (Some(stored.id), stored.business_id, stored.attempts),
        (id, Some(t.bid()), 0)
    );
    // An outbox entry rolled back with its transaction never runs.
    let mut tx = store.begin().await.unwrap();
    jobs::enqueue(&mut tx, &job(Some("rolled-back".into()), NOW), NOW)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert!(
        jobs::find_by_natural_key(&mut c, "rolled-back")
            .await
            .unwrap()
            .is_none()
    );
}
abo_store::both_backends!(enqueue_with_same_natural_key_is_a_noop => sqlite_enqueue_with_same_natural_key_is_a_noop, postgres_enqueue_with_same_natural_key_is_a_noop);

/// Several workers claiming concurrently never get the same job, and together get them all.
async fn concurrent_claims_never_share_a_job(store: Store) {
    let mut c = store.acquire().await.unwrap();
    for i in 0..60 {
        jobs::enqueue(&mut c, &job(Some(format!("j{i}")), NOW + i), NOW)
            .await
            .unwrap();
    }
    // Not due yet: never claimed.
    jobs::enqueue(
        &mut c,
        &job(Some("future".into()), NOW + 1_000_000_000),
        NOW,
    )
    .await
    .unwrap();
    drop(c);
    let mut handles = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let worker = format!("worker-{w}");
            let mut mine = Vec::new();
            loop {
                let batch = jobs::claim(&store, &worker, NOW + 1000, 60_000_000, 3)
                    .await
                    .unwrap();
                if batch.is_empty() {
                    break;
                }
                for j in batch {
                    assert_eq!(j.locked_by.as_deref(), Some(worker.as_str()));
                    assert_eq!(j.attempts, 1);
                    mine.push(j.id);
                }
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    let unique: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), unique.len(), "a job was claimed twice");
    assert_eq!(unique.len(), 60);
}
abo_store::both_backends!(concurrent_claims_never_share_a_job => sqlite_concurrent_claims_never_share_a_job, postgres_concurrent_claims_never_share_a_job);

async fn expired_leases_are_reclaimed(store: Store) {
    let mut c = store.acquire().await.unwrap();
    let id = jobs::enqueue(&mut c, &job(Some("one".into()), NOW), NOW)
        .await
        .unwrap()
        .unwrap();
    let lease = 10_000_000;
    let got = jobs::claim(&store, "a", NOW, lease, 10).await.unwrap();
    assert_eq!(got.iter().map(|j| j.id).collect::<Vec<_>>(), vec![id]);
    assert_eq!(got[0].locked_until_us, Some(NOW + lease));
    // Still leased: nobody else gets it.
    assert!(
        jobs::claim(&store, "b", NOW + lease - 1, lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Worker "a" died; once the lease expires "b" takes over.
    let got = jobs::claim(&store, "b", NOW + lease, lease, 10)
        .await
        .unwrap();
    assert_eq!((got.len(), got[0].attempts), (1, 2));
    // "a" lost its lease: its completion is refused; "b" fails it with a retry.
    assert!(!jobs::complete(&mut c, id, "a", NOW).await.unwrap());
    assert!(
        jobs::fail(&mut c, id, "b", "HTTP 500", Some(NOW + 5 * lease))
            .await
            .unwrap()
    );
    let j = jobs::get(&mut c, id).await.unwrap();
    assert_eq!(
        (j.locked_by, j.last_error.as_deref(), j.run_at_us),
        (None, Some("HTTP 500"), NOW + 5 * lease)
    );
    assert!(
        jobs::claim(&store, "c", NOW + 4 * lease, lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let got = jobs::claim(&store, "c", NOW + 5 * lease, lease, 10)
        .await
        .unwrap();
    assert_eq!(got[0].attempts, 3);
    assert!(
        jobs::complete(&mut c, id, "c", NOW + 5 * lease)
            .await
            .unwrap()
    );
    assert!(
        jobs::claim(&store, "d", NOW + 100 * lease, lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        jobs::get(&mut c, id).await.unwrap().done_at_us,
        Some(NOW + 5 * lease)
    );

    // Attempts are bounded: a job that keeps failing becomes dead.
    let dead = jobs::enqueue(&mut c, &job(Some("dead".into()), NOW), NOW)
        .await
        .unwrap()
        .unwrap();
    for i in 0..3 {
        let t = NOW + i * lease;
        let got = jobs::claim(&store, "w", t, lease, 10).await.unwrap();
        assert_eq!(got.len(), 1);
        jobs::fail(&mut c, dead, "w", "boom", Some(t))
            .await
            .unwrap();
    }
    assert!(
        jobs::claim(&store, "w", NOW + 10 * lease, lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Failing without retry kills a job at once.
    let now_dead = jobs::enqueue(&mut c, &job(Some("fatal".into()), NOW), NOW)
        .await
        .unwrap()
        .unwrap();
    jobs::claim(&store, "w", NOW, lease, 10).await.unwrap();
    jobs::fail(&mut c, now_dead, "w", "bad payload", None)
        .await
        .unwrap();
    assert!(
        jobs::claim(&store, "w", NOW + 10 * lease, lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let dead_ids: Vec<i64> = jobs::list_dead(&mut c, 10)
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(dead_ids, vec![now_dead, dead]);
    assert_eq!(jobs::purge_done(&mut c, NOW + 6 * lease).await.unwrap(), 1);
}
abo_store::both_backends!(expired_leases_are_reclaimed => sqlite_expired_leases_are_reclaimed, postgres_expired_leases_are_reclaimed);
