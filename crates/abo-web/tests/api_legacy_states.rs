//! Legacy subscription state names (`Running`) for clients written before
//! ProAbono's 2022 vocabulary: per API credential, or per request with
//! `LegacyStates=true`. Current names stay the default.

use abo_testkit::{TestApp, both_backends};
use serde_json::{Value, json};

async fn start_free_subscription(app: &TestApp) -> i64 {
    let (status, _) = app
        .post_json_checked(
            "/v1/Customer",
            &json!({"ReferenceCustomer": "old-php", "Email": "php@example.com"}),
        )
        .await;
    assert_eq!(status, 201);
    let response = app
        .checked(
            "POST",
            "/v1/Subscription",
            app.request("POST", "/v1/Subscription?TryStart=true")
                .json(&json!({"ReferenceCustomer": "old-php", "ReferenceOffer": "free"})),
        )
        .await;
    let body = response.1.expect("a subscription");
    assert_eq!(body["StateSubscription"], "ActiveRunning");
    body["Id"].as_i64().unwrap()
}

async fn state_of(app: &TestApp, query: &str) -> Value {
    let response = app
        .get(&format!(
            "/v1/Subscription?ReferenceCustomer=old-php{query}"
        ))
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["StateSubscription"].clone()
}

both_backends! {
    async fn legacy_names_on_request_or_per_key(app: TestApp) {
        start_free_subscription(&app).await;
        assert_eq!(state_of(&app, "").await, "ActiveRunning");
        assert_eq!(state_of(&app, "&LegacyStates=true").await, "Running");
        assert_eq!(state_of(&app, "&legacystates=1").await, "Running");

        // A key marked for a legacy client answers legacy names by default,
        // and can still ask for the current ones.
        let credentials = abo_service::business::add_credentials(&app.store, app.business_id, "php", true, app.now_us())
            .await
            .unwrap();
        let legacy = app.with_credentials(&credentials.agent_key, &credentials.api_key);
        assert_eq!(state_of(&legacy, "").await, "Running");
        assert_eq!(state_of(&legacy, "&LegacyStates=false").await, "ActiveRunning");

        let response = app.get("/v1/Subscription?ReferenceCustomer=old-php&LegacyStates=maybe").await;
        assert_eq!(response.status(), 422);
    }
}
