//! Two schedulers racing on PostgreSQL over many subscriptions due at the
//! same term write exactly what one scheduler alone writes: the balance
//! lines, invoices and payments are compared row by row, the outbox rows
//! kind by kind. 1,000 subscriptions by default; `ABO_RACE_SUBSCRIPTIONS=10000`
//! for the figure (85 s in a debug build on the 2-core development
//! machine, setup of both fleets included).

mod common;

use std::sync::Arc;

use abo_engine::Engine;
use abo_service::billing::Gateways;
use abo_store::{Store, businesses, segments};
use common::fleet::{Payer, create_fleet};
use common::outcome::outcome;
use common::*;
use jiff::civil::date;
use sqlx::Row;

fn count() -> usize {
    std::env::var("ABO_RACE_SUBSCRIPTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000)
}

/// A business with `n` card-paying subscriptions due on April 10, 2026.
async fn business_with_fleet(store: &Store, gateways: &Gateways, n: usize) -> i64 {
    let t0 = at(date(2026, 3, 10), 0);
    let w = World::new(store.clone(), t0).await;
    let segment = {
        let mut conn = store.acquire().await.unwrap();
        segments::get_default(&mut conn, w.business)
            .await
            .unwrap()
            .id
    };
    create_fleet(
        store,
        gateways,
        w.business,
        segment,
        "monthly",
        n,
        Payer::Card,
        date(2026, 3, 10),
        "Europe/Paris",
    )
    .await;
    let mut conn = store.acquire().await.unwrap();
    businesses::set_test_clock(&mut conn, w.business, Some(term()))
        .await
        .unwrap();
    w.business
}

fn term() -> i64 {
    at(date(2026, 4, 10), 1)
}

/// Runs `engine` until the business has no due job left undone, by this
/// node or another: (renewals, jobs run). A round that finds nothing is not
/// the end while another node still holds jobs, which may spawn more (a
/// renewal enqueues its billing, billing its collection and outbox).
async fn drain(engine: Engine, store: Store, business: i64, worker: String) -> (u64, u64) {
    let (mut renewals, mut jobs) = (0, 0);
    loop {
        let r = engine
            .run_business(business, term(), &worker)
            .await
            .unwrap();
        renewals += r.renewals;
        jobs += r.jobs_run;
        assert_eq!(r.jobs_failed, 0, "{worker}: {r:?}");
        if r.jobs_run == 0 && r.renewals_enqueued == 0 {
            if pending_jobs(&store, business).await == 0 {
                return (renewals, jobs);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

/// Jobs of the kinds these engines run (they have no mailer), due by the
/// term and not done yet, whoever holds them.
async fn pending_jobs(store: &Store, business: i64) -> usize {
    let mut conn = store.acquire().await.unwrap();
    sqlx::query(
        "SELECT kind FROM jobs WHERE business_id = $1 AND done_at_us IS NULL \
         AND run_at_us <= $2",
    )
    .bind(business)
    .bind(term())
    .fetch_all(&mut *conn)
    .await
    .unwrap()
    .iter()
    .filter(|r| abo_engine::HANDLED_KINDS.contains(&r.get::<String, _>(0).as_str()))
    .count()
}

async fn two_schedulers_race_like_one(store: Store) {
    let n = count();
    // The PSP is shared by every node.
    let gateways = Arc::new(Gateways::sandbox());
    let alone = business_with_fleet(&store, &gateways, n).await;
    let raced = business_with_fleet(&store, &gateways, n).await;

    // Rounds of 100 jobs: with the default 1,000, the first node to claim
    // would take the whole backlog of a 1,000-subscription run.
    let engine = Engine::with_gateways(store.clone(), gateways.clone()).with_batch_size(100);
    assert_eq!(
        drain(engine.clone(), store.clone(), alone, "single".into())
            .await
            .0,
        n as u64
    );

    let a = tokio::spawn(drain(engine.clone(), store.clone(), raced, "node-a".into()));
    let b = tokio::spawn(drain(
        Engine::with_gateways(store.clone(), gateways.clone()).with_batch_size(100),
        store.clone(),
        raced,
        "node-b".into(),
    ));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    // What one node left in flight when the other stopped looking.
    let rest = drain(engine, store.clone(), raced, "sweep".into()).await;
    assert_eq!(
        a.0 + b.0 + rest.0,
        n as u64,
        "each subscription renewed once"
    );
    // Both nodes took work (renewals, billing, collection, outbox).
    assert!(a.1 > 0 && b.1 > 0, "both nodes worked: {a:?} and {b:?}");

    let (rows_alone, outbox_alone) = outcome(&store, alone).await;
    let (rows_raced, outbox_raced) = outcome(&store, raced).await;
    // Per subscription: the renewal's line (with its invoice), the invoice's
    // line and a payment.
    assert_eq!(rows_alone.len(), 3 * n);
    assert_eq!(rows_alone.len(), rows_raced.len());
    for (x, y) in rows_alone.iter().zip(&rows_raced) {
        assert_eq!(x, y);
    }
    assert_eq!(outbox_alone, outbox_raced);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_two_schedulers_race_like_one() {
    abo_store::testing::run_postgres(
        "postgres_two_schedulers_race_like_one",
        two_schedulers_race_like_one,
    )
    .await;
}
