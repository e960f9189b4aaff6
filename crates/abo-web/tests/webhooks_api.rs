//! The Backoffice API of webhooks, on SQLite and PostgreSQL: registration,
//! the verification handshake, samples for every trigger, the secret, and
//! tenant isolation (a business never sees nor acts on another's webhooks).

mod webhooks_support;

use abo_engine::Engine;
use abo_testkit::{AppOptions, TestApp, both_backends};
use abo_webhooks::TargetPolicy;
use serde_json::{Value, json};
use webhooks_support::{Answer, Receiver, assert_signed};

async fn read(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn create(app: &TestApp, url: &str, triggers: &[&str]) -> (u16, Value) {
    read(
        app.post_json(
            "/Notification/Webhooks",
            &json!({ "Url": url, "Triggers": triggers }),
        )
        .await,
    )
    .await
}

/// Every trigger of ProAbono's catalogue (spec §1.13), with the blocks its
/// envelope must carry besides the header and `Customer`.
const CATALOGUE: &[(&str, &[&str])] = &[
    ("CustomerAdded", &[]),
    ("CustomerBillingAddressUpdated", &[]),
    ("CustomerPaymentMethodUpdated", &[]),
    ("CustomerBillingSucceeded", &[]),
    ("CustomerBillingFailed", &[]),
    ("CustomerChargingSucceeded", &["GatewayPermission"]),
    ("CustomerChargingPending", &["GatewayPermission"]),
    ("CustomerChargingFailed", &["GatewayPermission"]),
    ("CustomerChargingAutoFailedNoPermission", &[]),
    ("CustomerChargingAutoFailedNoRetry", &["GatewayPermission"]),
    ("CustomerSuspended", &[]),
    ("CustomerEnabled", &[]),
    ("CustomerIsGreyListed", &[]),
    ("SubscriptionStarted", SUB),
    ("SubscriptionRenewed", SUB),
    ("SubscriptionSuspendedAgent", SUB),
    ("SubscriptionRestarted", SUB),
    ("SubscriptionSuspendedPaymentInfoMissing", SUB),
    ("SubscriptionSuspendedPaymentDue", SUB),
    ("SubscriptionTerminatedAtRenewal", SUB),
    ("SubscriptionTerminated", SUB),
    ("SubscriptionHistory", SUB),
    ("SubscriptionDeleted", SUB),
    ("SubscriptionUpdated", SUB),
    ("SubscriptionFeaturesUpdated", SUB),
    ("SubscriptionUpgraded", SUB),
    ("SubscriptionTerminatedForUpgrade", SUB),
    ("SubscriptionDateTermUpdated", &[]),
    ("InvoiceDebitIssuedPaymentAuto", &["InvoiceDebit"]),
    ("InvoiceDebitIssuedPaymentOffline", &["InvoiceDebit"]),
    ("InvoiceDebitPaid", &["InvoiceDebit"]),
    ("InvoiceDebitRefunded", &["InvoiceDebit"]),
    ("InvoiceDebitCancelled", &["InvoiceDebit"]),
    ("InvoiceDebitPaymentAutoFailed", &["InvoiceDebit"]),
    ("InvoiceDebitPaymentAutoRequestedAuth", &["InvoiceDebit"]),
    ("InvoiceDebitOverdue", &["InvoiceDebit"]),
    ("InvoiceDebitDisputed", &["InvoiceDebit"]),
    ("InvoiceDebitUncollectible", &["InvoiceDebit"]),
    ("InvoiceCreditIssued", &["InvoiceCredit"]),
    ("GatewayPermissionSoonExpired", &["GatewayPermission"]),
    ("GatewayPermissionExpired", &["GatewayPermission"]),
    ("GatewayPermissionDefective", &["GatewayPermission"]),
    ("GatewayPermissionInsufficientFunds", &["GatewayPermission"]),
    ("GatewayPermissionPaymentIssues", &["GatewayPermission"]),
];
const SUB: &[&str] = &["CustomerBuyer", "Offer", "Subscription"];
const ALL_BLOCKS: &[&str] = &[
    "CustomerBuyer",
    "Offer",
    "Subscription",
    "GatewayPermission",
    "InvoiceDebit",
    "InvoiceCredit",
];

both_backends! {
    async fn samples_exist_for_every_trigger_with_their_blocks(app: TestApp) {
        for (trigger, blocks) in CATALOGUE {
            let (status, body) = read(
                app.get(&format!("/Notification/Webhooks/Sample?TypeTrigger={trigger}")).await,
            )
            .await;
            assert_eq!(status, 200, "{trigger}");
            let data: Value = serde_json::from_str(body["Data"].as_str().unwrap())
                .unwrap_or_else(|e| panic!("{trigger}: Data is not JSON: {e}"));
            assert_eq!(data["TypeTrigger"], *trigger);
            for header in ["Id", "IdBusiness", "IdSegment", "ReferenceSegment", "DateTrigger"] {
                assert!(!data[header].is_null(), "{trigger}: {header}");
            }
            assert!(data["Customer"]["ReferenceCustomer"].is_string(), "{trigger}");
            for block in ALL_BLOCKS {
                assert_eq!(
                    data.get(*block).is_some(),
                    blocks.contains(block),
                    "{trigger}: block {block}"
                );
            }
        }
        // Aliases answer the current name; unknown triggers are refused.
        let (_, body) = read(
            app.get("/Notification/Webhooks/Sample?TypeTrigger=SubscriptionSuspendedCustomer")
                .await,
        )
        .await;
        assert_eq!(body["TypeTrigger"], "SubscriptionSuspendedAgent");
        let (status, _) =
            read(app.get("/Notification/Webhooks/Sample?TypeTrigger=Nope").await).await;
        assert_eq!(status, 422);
        // Lower-case paths work too.
        let (status, _) =
            read(app.get("/notification/webhooks/sample?typetrigger=CustomerAdded").await).await;
        assert_eq!(status, 200);
    }

    #[options(AppOptions::default().allow_private_webhooks())]
    async fn the_handshake_activates_only_with_the_right_code(app: TestApp) {
        let receiver = Receiver::start().await;
        let (status, created) = create(&app, &receiver.url, &["CustomerAdded"]).await;
        assert_eq!(status, 201);
        let id = created["Id"].as_i64().unwrap();
        assert_eq!(created["Triggers"], json!(["CustomerAdded"]));
        assert_eq!(created["IsActive"], false);

        // An endpoint that does not answer 2xx does not get a code accepted.
        receiver.answer_codes_with(Answer::Status(500));
        let send = format!("/Notification/Webhooks/{id}/Verification?sendCode=true");
        let (status, body) = read(app.get(&send).await).await;
        assert_eq!(status, 422);
        assert_eq!(body["Code"], "Error.Webhook.Verification.Failed");
        let refused = receiver.last_code();
        let (status, _) = read(
            app.post_empty(&format!("/Notification/Webhooks/{id}/Verification?code={refused}"))
                .await,
        )
        .await;
        assert_eq!(status, 422);

        receiver.answer_codes_with(Answer::Status(200));
        let (status, _) = read(app.get(&send).await).await;
        assert_eq!(status, 200);
        let secret = {
            let (_, s) = read(app.get("/Notification/Webhooks/Secret").await).await;
            s["SecretKey"].as_str().unwrap().to_owned()
        };
        let code_request = receiver.codes().last().unwrap().clone();
        assert!(code_request.json().get("TypeTrigger").is_none());
        assert_signed(&code_request, &secret);
        let code = receiver.last_code();
        let (status, body) = read(
            app.post_empty(&format!("/Notification/Webhooks/{id}/Verification?code=wrong"))
                .await,
        )
        .await;
        assert_eq!((status, body["Code"].as_str()), (422, Some("Error.Webhook.Verification.Code")));
        // The code may come in the body as well.
        let (status, body) = read(
            app.post_json(
                &format!("/Notification/Webhooks/{id}/Verification"),
                &json!({ "Code": code }),
            )
            .await,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(body["IsActive"], true);
        let (_, shown) = read(app.get(&format!("/Notification/Webhooks/{id}")).await).await;
        assert_eq!(shown["StateWebhook"], "Active");
        assert!(shown["DateVerified"].is_string());
    }

    async fn registration_is_validated_and_the_secret_rotates(app: TestApp) {
        let (status, _) = create(&app, "ftp://example.com/x", &["CustomerAdded"]).await;
        assert_eq!(status, 422);
        let (status, _) = create(&app, "https://example.com/x", &["NoSuchTrigger"]).await;
        assert_eq!(status, 422);
        let (status, _) = create(&app, "https://example.com/x", &[]).await;
        assert_eq!(status, 422);
        let (status, body) =
            create(&app, "https://example.com/x", &["customeradded", "CustomerSettingsPaymentUpdated"])
                .await;
        assert_eq!(status, 201);
        assert_eq!(
            body["Triggers"],
            json!(["CustomerAdded", "CustomerPaymentMethodUpdated"])
        );
        let (status, list) = read(app.get("/Notification/Webhooks").await).await;
        assert_eq!(status, 200);
        assert_eq!(list["Items"].as_array().unwrap().len(), 1);

        let (_, first) = read(app.get("/Notification/Webhooks/Secret").await).await;
        let (_, again) = read(app.get("/Notification/Webhooks/Secret").await).await;
        assert_eq!(first["SecretKey"], again["SecretKey"]);
        let (status, rotated) =
            read(app.post_empty("/Notification/Webhooks/Secret/Rotate").await).await;
        assert_eq!(status, 200);
        assert_ne!(rotated["SecretKey"], first["SecretKey"]);
        assert!(rotated["DatePreviousKeyExpiry"].is_string());

        let id = body["Id"].as_i64().unwrap();
        let r = app
            .request("DELETE", &format!("/Notification/Webhooks/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        let (status, _) = read(app.get(&format!("/Notification/Webhooks/{id}")).await).await;
        assert_eq!(status, 404);
        let (status, _) = read(app.unauthenticated().get("/Notification/Webhooks").await).await;
        assert_eq!(status, 401);
    }

    #[options(AppOptions::default().allow_private_webhooks())]
    async fn a_business_cannot_see_nor_touch_another_ones_webhooks(app: TestApp) {
        let receiver = Receiver::start().await;
        let engine = Engine::new(app.store.clone()).with_webhook_policy(TargetPolicy::permissive());
        let (_, created) = create(&app, &receiver.url, &["CustomerAdded"]).await;
        let id = created["Id"].as_i64().unwrap();
        let send = format!("/Notification/Webhooks/{id}/Verification?sendCode=true");
        assert_eq!(app.get(&send).await.status(), 200);
        let code = receiver.last_code();
        let verify = format!("/Notification/Webhooks/{id}/Verification?code={code}");
        assert_eq!(app.post_empty(&verify).await.status(), 200);
        let r = app
            .post_json("/v1/Customer", &json!({ "ReferenceCustomer": "iso-1" }))
            .await;
        assert_eq!(r.status(), 201);
        engine.run_due(app.now_us(), "w").await.unwrap();
        let (status, history) = read(app.get("/Notification/WebhookNotifications").await).await;
        assert_eq!(status, 200);
        let notification = history["Items"][0]["Id"].as_i64().unwrap();

        let other = app.second_business().await;
        // The other business's own events never reach A's endpoint.
        let r = other
            .post_json("/v1/Customer", &json!({ "ReferenceCustomer": "iso-2" }))
            .await;
        assert_eq!(r.status(), 201);
        engine.run_due(app.now_us(), "w").await.unwrap();
        engine.wait_webhooks(app.business_id).await;
        engine.wait_webhooks(other.business_id).await;
        assert_eq!(receiver.notifications().len(), 1);

        assert_eq!(other.get("/Notification/Webhooks").await.status(), 204);
        assert_eq!(other.get(&format!("/Notification/Webhooks/{id}")).await.status(), 404);
        assert_eq!(other.get(&send).await.status(), 404);
        assert_eq!(other.post_empty(&verify).await.status(), 404);
        let r = other
            .request("DELETE", &format!("/Notification/Webhooks/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(other.get("/Notification/WebhookNotifications").await.status(), 204);
        let n = format!("/Notification/WebhookNotifications/{notification}");
        assert_eq!(other.get(&n).await.status(), 404);
        assert_eq!(other.post_empty(&format!("{n}/Retry")).await.status(), 404);
        let (_, mine) = read(app.get("/Notification/Webhooks/Secret").await).await;
        let (_, theirs) = read(other.get("/Notification/Webhooks/Secret").await).await;
        assert_ne!(mine["SecretKey"], theirs["SecretKey"]);
        // A's webhook is untouched.
        let (_, shown) = read(app.get(&format!("/Notification/Webhooks/{id}")).await).await;
        assert_eq!(shown["IsActive"], true);
        assert_eq!(app.get(&n).await.status(), 200);
    }
}
