//! Webhook delivery end to end, on SQLite and PostgreSQL: a real endpoint
//! on loopback fails (500), times out, redirects (302), then recovers. Every
//! event is delivered, with both signatures valid, the backoff schedule
//! (1 min, doubling) is kept on the business's test clock, and the history
//! shows each payload exactly as sent.

mod webhooks_support;

use abo_engine::Engine;
use abo_store::businesses;
use abo_testkit::{AppOptions, TestApp, both_backends};
use abo_webhooks::TargetPolicy;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use webhooks_support::{Answer, Receiver, assert_signed};

const MINUTE_US: i64 = 60_000_000;
const SECOND_US: i64 = 1_000_000;

/// Pins the business's test clock to a round instant and returns it.
async fn pin_clock(app: &TestApp) -> i64 {
    let now = (app.now_us() / SECOND_US) * SECOND_US;
    let mut conn = app.store.acquire().await.unwrap();
    businesses::set_test_clock(&mut conn, app.business_id, Some(now))
        .await
        .unwrap();
    now
}

/// Registers `url` for `triggers` and verifies it through the handshake.
async fn register(app: &TestApp, receiver: &Receiver, triggers: &[&str]) -> i64 {
    let r = app
        .post_json(
            "/Notification/Webhooks",
            &json!({ "Url": receiver.url, "Triggers": triggers }),
        )
        .await;
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let id = created["Id"].as_i64().unwrap();
    assert_eq!(created["IsActive"], false);
    let r = app
        .get(&format!(
            "/Notification/Webhooks/{id}/Verification?sendCode=true"
        ))
        .await;
    assert_eq!(r.status(), 200);
    let code = receiver.last_code();
    let r = app
        .post_empty(&format!(
            "/Notification/Webhooks/{id}/Verification?code={code}"
        ))
        .await;
    assert_eq!(r.status(), 200);
    let verified: Value = r.json().await.unwrap();
    assert_eq!(verified["IsActive"], true);
    id
}

async fn secret(app: &TestApp) -> String {
    let r = app.get("/Notification/Webhooks/Secret").await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    body["SecretKey"].as_str().unwrap().to_owned()
}

async fn add_customer(app: &TestApp, reference: &str) {
    let r = app
        .post_json(
            "/v1/Customer",
            &json!({
                "ReferenceCustomer": reference,
                "Name": format!("Customer {reference}"),
                "Email": format!("{reference}@example.com"),
                "Language": "en",
            }),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
}

async fn history(app: &TestApp) -> Vec<Value> {
    let r = app
        .get("/Notification/WebhookNotifications?SizePage=1000")
        .await;
    if r.status() == 204 {
        return Vec::new();
    }
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    body["Items"].as_array().unwrap().clone()
}

both_backends! {
    #[options(AppOptions::default().allow_private_webhooks())]
    async fn a_failing_endpoint_gets_every_event_on_schedule(app: TestApp) {
        let receiver = Receiver::start().await;
        let engine = Engine::new(app.store.clone()).with_webhook_policy(TargetPolicy::permissive());
        let b = app.business_id;
        let t0 = pin_clock(&app).await;
        register(&app, &receiver, &["CustomerAdded", "SubscriptionStarted"]).await;
        let secret = secret(&app).await;
        receiver.script(
            &[Answer::Status(500), Answer::Hang, Answer::Redirect],
            Answer::Status(200),
        );

        add_customer(&app, "wh-1").await;
        engine.run_business(b, t0, "w").await.unwrap();
        engine.wait_webhooks(b).await;
        assert_eq!(receiver.notifications().len(), 1);
        let h = history(&app).await;
        assert_eq!(h.len(), 1);
        assert_eq!(h[0]["Status"], "Pending");
        assert_eq!(h[0]["CountAttempts"], 1);
        assert_eq!(h[0]["LastHttpStatus"], 500);

        // Backoff: 1 min, then 2, then 4. Nothing is sent a second early.
        let schedule = [
            (t0 + MINUTE_US, 2),
            (t0 + 3 * MINUTE_US, 3),
            (t0 + 7 * MINUTE_US, 4),
        ];
        for (due, count) in schedule {
            engine.advance_clock(b, due - SECOND_US, t0, "w").await.unwrap();
            assert_eq!(receiver.notifications().len(), count - 1, "early before {count}");
            engine.advance_clock(b, due, t0, "w").await.unwrap();
            assert_eq!(receiver.notifications().len(), count, "attempt {count} at its time");
        }
        let answers: Vec<Answer> = receiver.notifications().iter().map(|r| r.answer).collect();
        assert_eq!(
            answers,
            [Answer::Status(500), Answer::Hang, Answer::Redirect, Answer::Status(200)]
        );
        let h = history(&app).await;
        assert_eq!(h[0]["Status"], "Delivered");
        assert_eq!(h[0]["CountAttempts"], 4);
        assert_eq!(h[0]["LastHttpStatus"], 200);

        // More events once it works, of two families.
        add_customer(&app, "wh-2").await;
        let request = abo_service::subscriptions::CreateSubscription {
            business_id: b,
            customer_reference: Some("wh-2".into()),
            offer_reference: "free".into(),
            flags: abo_service::subscriptions::CreateFlags {
                try_start: true,
                ..Default::default()
            },
            ..Default::default()
        };
        let now = t0 + 7 * MINUTE_US;
        abo_service::subscriptions::create(&app.store, &request, now).await.unwrap();
        engine.advance_clock(b, now + MINUTE_US, t0, "w").await.unwrap();

        // Every event delivered, each attempt signed, each payload as stored.
        let received = receiver.notifications();
        for r in &received {
            assert_signed(r, &secret);
        }
        let h = history(&app).await;
        assert_eq!(h.len(), 3);
        let delivered: BTreeSet<String> = received
            .iter()
            .filter(|r| r.succeeded())
            .map(|r| r.json()["Id"].as_str().unwrap().to_owned())
            .collect();
        let events: BTreeSet<String> = h
            .iter()
            .map(|n| n["IdTrigger"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(delivered, events);
        for n in &h {
            assert_eq!(n["Status"], "Delivered", "{n}");
            let sent = received
                .iter()
                .rev()
                .find(|r| r.json()["Id"] == n["IdTrigger"])
                .unwrap();
            assert_eq!(n["Payload"].as_str().unwrap().as_bytes(), &sent.body[..]);
        }
        let started = received
            .iter()
            .map(|r| r.json())
            .find(|v| v["TypeTrigger"] == "SubscriptionStarted")
            .expect("SubscriptionStarted delivered");
        assert_eq!(started["IdBusiness"], b);
        assert_eq!(started["Customer"]["ReferenceCustomer"], "wh-2");
        assert_eq!(started["CustomerBuyer"]["ReferenceCustomer"], "wh-2");
        assert_eq!(started["Offer"]["ReferenceOffer"], "free");
        assert_eq!(started["Subscription"]["StateSubscription"], "ActiveRunning");
        assert_eq!(started["ReferenceSegment"], abo_service::demo::DEMO_SEGMENT);
        let added = received.last().unwrap().json();
        assert!(added["Id"].as_str().unwrap().starts_with("trg_"));
    }

    /// A delivery still failing 3 days after its event is given up, as
    /// `Failed`; a manual retry sends it once more.
    #[options(AppOptions::default().allow_private_webhooks())]
    async fn a_dead_endpoint_is_given_up_after_three_days_then_retried_by_hand(app: TestApp) {
        let receiver = Receiver::start().await;
        let engine = Engine::new(app.store.clone()).with_webhook_policy(TargetPolicy::permissive());
        let b = app.business_id;
        let t0 = pin_clock(&app).await;
        register(&app, &receiver, &["CustomerAdded"]).await;
        receiver.script(&[], Answer::Status(503));
        add_customer(&app, "dead-1").await;
        engine.advance_clock(b, t0 + 4 * 86_400 * SECOND_US, t0, "w").await.unwrap();
        let h = history(&app).await;
        assert_eq!(h[0]["Status"], "Failed");
        let attempts = h[0]["CountAttempts"].as_i64().unwrap();
        assert_eq!(attempts as usize, receiver.notifications().len());
        // 1+2+...+256 min (9 attempts, 8.5 h), then every 6 h up to 3 days.
        assert!((18..=22).contains(&attempts), "{attempts} attempts");

        receiver.script(&[], Answer::Status(204));
        let id = h[0]["Id"].as_i64().unwrap();
        let r = app
            .post_empty(&format!("/Notification/WebhookNotifications/{id}/Retry"))
            .await;
        assert_eq!(r.status(), 202);
        engine.run_due(app.now_us(), "w").await.unwrap();
        engine.wait_webhooks(b).await;
        let h = history(&app).await;
        assert_eq!(h[0]["Status"], "Delivered");
        assert_eq!(h[0]["LastHttpStatus"], 204);
        assert_eq!(receiver.notifications().len() as i64, attempts + 1);
    }
}
