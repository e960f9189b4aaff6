//! The events that had no emitter, delivered end to end on SQLite and
//! PostgreSQL with ProAbono's envelope: `CustomerEnabled` (a suspended
//! customer enabled again, the reverse of `POST /v1/Customer/Suspension`)
//! and `SubscriptionUpdated` (a change no dedicated event tells: a
//! suspension requested for the term with `POST …/Suspension`).

mod webhooks_support;

use abo_engine::Engine;
use abo_store::businesses;
use abo_testkit::{AppOptions, TestApp, both_backends};
use abo_webhooks::TargetPolicy;
use serde_json::{Value, json};
use webhooks_support::{Receiver, assert_signed};

const TRIGGERS: &[&str] = &[
    "CustomerSuspended",
    "CustomerEnabled",
    "SubscriptionUpdated",
];

async fn register(app: &TestApp, receiver: &Receiver) {
    let r = app
        .post_json(
            "/Notification/Webhooks",
            &json!({ "Url": receiver.url, "Triggers": TRIGGERS }),
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
}

async fn secret(app: &TestApp) -> String {
    let r = app.get("/Notification/Webhooks/Secret").await;
    r.json::<Value>().await.unwrap()["SecretKey"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Runs what is due at `now` and waits for the deliveries.
async fn deliver(engine: &Engine, b: i64, now: i64) {
    engine.run_business(b, now, "w").await.unwrap();
    engine.wait_webhooks(b).await;
}

/// The header every envelope carries.
fn assert_header(v: &Value, trigger: &str, app: &TestApp) {
    assert_eq!(v["TypeTrigger"], trigger, "{v}");
    assert_eq!(v["IdBusiness"], app.business_id, "{v}");
    assert_eq!(
        v["ReferenceSegment"],
        abo_service::demo::DEMO_SEGMENT,
        "{v}"
    );
    assert!(v["Id"].as_str().unwrap().starts_with("trg_"), "{v}");
    assert!(v["DateTrigger"].is_string(), "{v}");
    assert_eq!(v["Customer"]["ReferenceCustomer"], "ev-1", "{v}");
}

both_backends! {
    #[options(AppOptions::default().allow_private_webhooks())]
    async fn customer_enabled_and_subscription_updated_are_delivered(app: TestApp) {
        let b = app.business_id;
        let t0 = (app.now_us() / 1_000_000) * 1_000_000;
        {
            let mut conn = app.store.acquire().await.unwrap();
            businesses::set_test_clock(&mut conn, b, Some(t0)).await.unwrap();
        }
        let receiver = Receiver::start().await;
        register(&app, &receiver).await;
        let secret = secret(&app).await;
        let engine =
            Engine::new(app.store.clone()).with_webhook_policy(TargetPolicy::permissive());

        let r = app
            .post_json("/v1/Customer", &json!({ "ReferenceCustomer": "ev-1" }))
            .await;
        assert_eq!(r.status(), 201);
        let request = abo_service::subscriptions::CreateSubscription {
            business_id: b,
            customer_reference: Some("ev-1".into()),
            offer_reference: "free".into(),
            flags: abo_service::subscriptions::CreateFlags {
                try_start: true,
                ..Default::default()
            },
            ..Default::default()
        };
        let sub = abo_service::subscriptions::create(&app.store, &request, t0)
            .await
            .unwrap()
            .subscription;

        // A suspension requested for the term: SubscriptionUpdated now.
        let r = app
            .post_empty(&format!("/v1/Subscription/{}/Suspension", sub.id))
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        deliver(&engine, b, t0).await;
        let received = receiver.notifications();
        assert_eq!(received.len(), 1);
        let updated = received[0].json();
        assert_header(&updated, "SubscriptionUpdated", &app);
        assert_eq!(updated["Subscription"]["Id"], sub.id);
        assert_eq!(
            updated["Subscription"]["StateSubscription"],
            "ActiveDelayedSuspension"
        );
        assert_eq!(updated["Offer"]["ReferenceOffer"], "free");
        assert_eq!(updated["CustomerBuyer"]["ReferenceCustomer"], "ev-1");

        // Suspended, then enabled again.
        let r = app
            .post_empty("/v1/Customer/Suspension?ReferenceCustomer=ev-1")
            .await;
        assert_eq!(r.status(), 200);
        deliver(&engine, b, t0).await;
        // Abo's addition (ProAbono does it in the back office).
        let r = app
            .post_empty("/v1/Abo/Customer/Enabling?ReferenceCustomer=ev-1")
            .await;
        assert_eq!(r.status(), 200);
        let enabled: Value = r.json().await.unwrap();
        assert_eq!(enabled["Status"], "Enabled");
        assert!(
            enabled["Links"].as_array().is_some_and(|l| !l.is_empty()),
            "an enabled customer has links again: {enabled}"
        );
        // Enabling an enabled customer emits nothing more.
        let r = app
            .post_empty("/v1/Abo/Customer/Enabling?ReferenceCustomer=ev-1")
            .await;
        assert_eq!(r.status(), 200);
        deliver(&engine, b, t0).await;

        let received = receiver.notifications();
        let triggers: Vec<String> = received
            .iter()
            .map(|r| r.json()["TypeTrigger"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            triggers,
            ["SubscriptionUpdated", "CustomerSuspended", "CustomerEnabled"]
        );
        for r in &received {
            assert!(r.succeeded());
            assert_signed(r, &secret);
        }
        let suspended = received[1].json();
        assert_header(&suspended, "CustomerSuspended", &app);
        assert_eq!(suspended["Customer"]["Status"], "Suspended");
        let enabled = received[2].json();
        assert_header(&enabled, "CustomerEnabled", &app);
        assert_eq!(enabled["Customer"]["Status"], "Enabled");
        // Customer events carry the Customer block only.
        for block in ["CustomerBuyer", "Offer", "Subscription", "InvoiceDebit"] {
            assert!(enabled.get(block).is_none(), "{block} in {enabled}");
        }
        let r = app.get("/v1/Customer?ReferenceCustomer=ev-1").await;
        assert_eq!(r.json::<Value>().await.unwrap()["Status"], "Enabled");
    }
}
