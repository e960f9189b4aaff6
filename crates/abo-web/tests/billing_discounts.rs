//! `POST /v1/Subscription` with `Discounts` (SubscriptionRequest): the
//! discounts are attached to the subscription and reduce what it is charged
//! from its start (the demo catalogue's "50percent-upfrontfee" halves the
//! up-front fee of "pro-monthly"); an unknown discount is a 422 and creates
//! nothing.

use abo_store::balance_lines;
use abo_store::customers::{self, NewCustomer, PaymentSettingsPatch};
use abo_store::{PageRequest, segments, subscriptions as store_subs};
use abo_testkit::{TestApp, both_backends};
use serde_json::json;

async fn customer(app: &TestApp, reference: &str) -> i64 {
    let now = app.now_us();
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
            reference: reference.into(),
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
    c.id
}

both_backends! {
    async fn discounts_reduce_what_the_subscription_is_charged(app: TestApp) {
        let c = customer(&app, "disc").await;
        let (status, body) = app
            .post_json_checked(
                "/v1/Subscription?TryStart=true",
                &json!({
                    "ReferenceCustomer": "disc",
                    "ReferenceOffer": "pro-monthly",
                    "Discounts": [{"ReferenceDiscount": "50percent-upfrontfee"}],
                }),
            )
            .await;
        assert_eq!(status, 201, "{body:?}");
        let body = body.unwrap();
        assert_eq!(body["StateSubscription"], "ActiveRunning", "{body}");
        let mut conn = app.store.acquire().await.unwrap();
        let mut lines: Vec<_> =
            balance_lines::list_for_customer(&mut conn, app.business_id, c, None)
                .await
                .unwrap()
                .into_iter()
                .map(|l| (l.type_line, l.amount_subtotal))
                .collect();
        lines.sort();
        // The €49.00 set-up fee, halved; the trial costs nothing.
        assert!(lines.contains(&("AutoSubscriptionUpfront".to_string(), 4900)), "{lines:?}");
        assert!(
            lines.contains(&("AutoDiscountUpfrontPercent".to_string(), -2450)),
            "{lines:?}"
        );
        let total: i64 = lines.iter().map(|l| l.1).sum();
        assert_eq!(total, 2450, "{lines:?}");
    }

    async fn an_unknown_discount_is_a_422_and_creates_nothing(app: TestApp) {
        let c = customer(&app, "nodisc").await;
        let (status, body) = app
            .post_json_checked(
                "/v1/Subscription?TryStart=true",
                &json!({
                    "ReferenceCustomer": "nodisc",
                    "ReferenceOffer": "pro-monthly",
                    "Discounts": [{"ReferenceDiscount": "no-such-discount"}],
                }),
            )
            .await;
        assert_eq!(status, 422, "{body:?}");
        assert!(format!("{body:?}").contains("no-such-discount"), "{body:?}");
        let mut conn = app.store.acquire().await.unwrap();
        let filter = store_subs::SubscriptionFilter {
            customer_id: Some(c),
            ..Default::default()
        };
        let page = store_subs::list(&mut conn, app.business_id, &filter, PageRequest::default())
            .await
            .unwrap();
        assert_eq!(page.total, 0);
    }
}
