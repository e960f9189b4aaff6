//! Webhooks are delivered off the engine loop, on SQLite and PostgreSQL: an
//! endpoint that never answers holds only its own attempt (until the 10 s
//! timeout), not the delivery to another endpoint nor a renewal that falls
//! due meanwhile. The hung attempt is then recorded as a timeout and
//! retried on the usual schedule.
//!
//! The checks wait on conditions, with generous deadlines; the one margin
//! relied on is the sender's 10 s timeout against loopback requests and a
//! renewal of one subscription, which take milliseconds.

mod webhooks_support;

use abo_engine::Engine;
use abo_store::{businesses, subscriptions, webhooks};
use abo_testkit::{AppOptions, TestApp, both_backends};
use abo_webhooks::TargetPolicy;
use serde_json::{Value, json};
use std::time::Duration;
use webhooks_support::{Answer, Receiver};

const SECOND_US: i64 = 1_000_000;

/// Registers `receiver` for `CustomerAdded` and verifies it.
async fn register(app: &TestApp, receiver: &Receiver) -> i64 {
    let r = app
        .post_json(
            "/Notification/Webhooks",
            &json!({ "Url": receiver.url, "Triggers": ["CustomerAdded"] }),
        )
        .await;
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["Id"].as_i64().unwrap();
    let send = format!("/Notification/Webhooks/{id}/Verification?sendCode=true");
    assert_eq!(app.get(&send).await.status(), 200);
    let verify = format!(
        "/Notification/Webhooks/{id}/Verification?code={}",
        receiver.last_code()
    );
    assert_eq!(app.post_empty(&verify).await.status(), 200);
    id
}

/// The delivery of the business's only event to endpoint `endpoint`.
async fn delivery_to(app: &TestApp, endpoint: i64) -> webhooks::Delivery {
    let mut conn = app.store.acquire().await.unwrap();
    let filter = webhooks::DeliveryFilter {
        endpoint_id: Some(endpoint),
        ..Default::default()
    };
    let page = webhooks::list_deliveries(
        &mut conn,
        app.business_id,
        &filter,
        abo_store::PageRequest::new(0, 100),
    )
    .await
    .unwrap();
    assert_eq!(page.items.len(), 1);
    page.items[0].clone()
}

/// Waits (up to a minute) until `done` holds.
async fn wait_until<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !done().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

both_backends! {
    #[options(AppOptions::default().allow_private_webhooks())]
    async fn a_hanging_endpoint_delays_neither_other_endpoints_nor_renewals(app: TestApp) {
        let b = app.business_id;
        let t0 = (app.now_us() / SECOND_US) * SECOND_US;
        {
            let mut conn = app.store.acquire().await.unwrap();
            businesses::set_test_clock(&mut conn, b, Some(t0)).await.unwrap();
        }
        let hanging = Receiver::start().await;
        let healthy = Receiver::start().await;
        let hanging_id = register(&app, &hanging).await;
        let healthy_id = register(&app, &healthy).await;
        hanging.script(&[], Answer::Hang);
        healthy.script(&[], Answer::Status(200));

        // A customer (the event) with a subscription that renews at its term.
        let r = app
            .post_json("/v1/Customer", &json!({ "ReferenceCustomer": "hang-1" }))
            .await;
        assert_eq!(r.status(), 201);
        let request = abo_service::subscriptions::CreateSubscription {
            business_id: b,
            customer_reference: Some("hang-1".into()),
            offer_reference: "free".into(),
            flags: abo_service::subscriptions::CreateFlags {
                try_start: true,
                ..Default::default()
            },
            ..Default::default()
        };
        abo_service::subscriptions::create(&app.store, &request, t0).await.unwrap();
        let term = {
            let mut conn = app.store.acquire().await.unwrap();
            subscriptions::next_term_at(&mut conn, b).await.unwrap().expect("a term")
        };

        let engine =
            Engine::new(app.store.clone()).with_webhook_policy(TargetPolicy::permissive());
        let run = engine.run_business(b, t0, "w").await.unwrap();
        assert_eq!(run.webhooks_dispatched, 2, "{run:?}");

        // The healthy endpoint is served while the other one hangs.
        wait_until("the healthy endpoint's delivery", || async {
            delivery_to(&app, healthy_id).await.status == webhooks::DELIVERED
        })
        .await;
        wait_until("the hanging endpoint got its request", || async {
            hanging.notifications().len() == 1
        })
        .await;
        assert_eq!(healthy.notifications().len(), 1);
        assert_eq!(delivery_to(&app, hanging_id).await.attempts, 0, "still in flight");

        // The renewal falls due: it is made while the attempt still hangs.
        let run = engine.run_business(b, term, "w").await.unwrap();
        assert_eq!(run.renewals, 1, "{run:?}");
        assert_eq!(delivery_to(&app, hanging_id).await.attempts, 0, "still in flight");

        // The hung attempt ends at the sender's timeout, recorded and rescheduled.
        engine.wait_webhooks(b).await;
        let hung = delivery_to(&app, hanging_id).await;
        assert_eq!(hung.attempts, 1);
        assert_eq!(hung.status, webhooks::PENDING);
        assert_eq!(hung.last_error.as_deref(), Some("timed out after 10 s"));
        assert_eq!(hung.next_attempt_us, Some(t0 + 60 * SECOND_US));
        let served = delivery_to(&app, healthy_id).await;
        assert_eq!((served.attempts, served.last_http_status), (1, Some(200)));
    }
}
