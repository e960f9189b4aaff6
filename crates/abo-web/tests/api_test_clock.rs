//! `POST /v1/Abo/TestClock/Advance` (an Abo addition): moves a test
//! business's clock, renewing what falls due on the way; refused for a live
//! business (403) and backwards (422).

use abo_service::business::{BusinessSpec, create_business};
use abo_service::subscriptions::{self, CreateFlags, CreateSubscription};
use abo_store::customers::{self, NewCustomer, PaymentSettingsPatch};
use abo_store::{businesses, segments, subscriptions as store_subs};
use abo_testkit::{TestApp, both_backends};
use serde_json::{Value, json};

const PATH: &str = "/v1/Abo/TestClock/Advance";
const DAY_US: i64 = 86_400_000_000;

async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let value = response.json().await.unwrap_or(Value::Null);
    (status, value)
}

/// A running monthly subscription of the demo "pro-yearly"-free catalogue:
/// the demo's "free" offer (nothing to pay, renews without a card).
async fn running_subscription(app: &TestApp, now: i64) -> i64 {
    let mut conn = app.store.acquire().await.unwrap();
    let segment =
        segments::get_by_reference(&mut conn, app.business_id, abo_service::demo::DEMO_SEGMENT)
            .await
            .unwrap();
    let c = customers::create(
        &mut conn,
        &NewCustomer {
            business_id: app.business_id,
            segment_id: segment.id,
            reference: "clock-cust".into(),
            ..Default::default()
        },
        now,
    )
    .await
    .unwrap();
    customers::update_payment_settings(
        &mut conn,
        app.business_id,
        c.id,
        &PaymentSettingsPatch {
            type_payment: Some("ExternalBank".into()),
            ..Default::default()
        },
        now,
    )
    .await
    .unwrap();
    drop(conn);
    let request = CreateSubscription {
        business_id: app.business_id,
        customer_reference: Some("clock-cust".into()),
        offer_reference: "free".into(),
        flags: CreateFlags {
            try_start: true,
            ..Default::default()
        },
        ..Default::default()
    };
    subscriptions::create(&app.store, &request, now)
        .await
        .unwrap()
        .subscription
        .id
}

both_backends! {
    async fn advancing_renews_in_order_and_answers_the_new_now(app: TestApp) {
        let now = app.now_us();
        let mut conn = app.store.acquire().await.unwrap();
        businesses::set_test_clock(&mut conn, app.business_id, Some(now)).await.unwrap();
        drop(conn);
        let id = running_subscription(&app, now).await;

        let (status, answer) = read(app.post_json(PATH, &json!({"Days": 70})).await).await;
        assert_eq!(status, 200, "{answer}");
        assert!(answer["DateNow"].is_string(), "{answer}");
        // Two monthly renewals at least (each a Renew job; free: no bill).
        assert!(answer["JobsRun"].as_u64().unwrap() >= 2, "{answer}");
        let mut conn = app.store.acquire().await.unwrap();
        let business = businesses::get(&mut conn, app.business_id).await.unwrap();
        assert_eq!(business.test_clock_us, Some(now + 70 * DAY_US));
        let sub = store_subs::get(&mut conn, app.business_id, id).await.unwrap();
        assert_eq!(sub.state, "ActiveRunning");
        assert!(sub.period_index >= 2, "{}", sub.period_index);
        assert!(sub.date_period_end_us.unwrap() > now + 70 * DAY_US);
        drop(conn);

        // An explicit target, parsed like every API date: a year on.
        let target_us = now + 435 * DAY_US;
        let target = jiff::Timestamp::from_microsecond(target_us).unwrap().to_string();
        let (status, answer) =
            read(app.post_json(PATH, &json!({"DateTarget": target})).await).await;
        assert_eq!(status, 200, "{answer}");
        let date_now = answer["DateNow"].as_str().unwrap();
        assert_eq!(&date_now[..10], &target[..10], "{answer}");
        let mut conn = app.store.acquire().await.unwrap();
        let sub = store_subs::get(&mut conn, app.business_id, id).await.unwrap();
        assert!(sub.period_index >= 14, "{}", sub.period_index);
    }

    async fn backwards_is_a_422(app: TestApp) {
        let (status, _) = read(app.post_json(PATH, &json!({"Days": 1})).await).await;
        assert_eq!(status, 200);
        let (status, answer) = read(app.post_json(PATH, &json!({"Days": -2})).await).await;
        assert_eq!(status, 422, "{answer}");
        let (status, answer) =
            read(app.post_json(PATH, &json!({"DateTarget": "2001-01-01"})).await).await;
        assert_eq!(status, 422, "{answer}");
        let (status, answer) = read(app.post_json(PATH, &json!({})).await).await;
        assert_eq!(status, 422, "{answer}");
    }

    async fn a_live_business_gets_a_403(app: TestApp) {
        let spec = BusinessSpec {
            name: "Live".into(),
            country: "FR".into(),
            default_language: "en".into(),
            is_test: false,
        };
        let live = create_business(&app.store, &spec, app.now_us()).await.unwrap();
        let as_live = app.with_credentials(&live.credentials.agent_key, &live.credentials.api_key);
        let (status, answer) = read(as_live.post_json(PATH, &json!({"Days": 1})).await).await;
        assert_eq!(status, 403, "{answer}");
        assert_eq!(answer["Code"], "Error.Api.TestClock.NotATestBusiness", "{answer}");
        let mut conn = app.store.acquire().await.unwrap();
        let business = businesses::get(&mut conn, live.business.id).await.unwrap();
        assert_eq!(business.test_clock_us, None);
    }
}
