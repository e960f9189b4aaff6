//! Hostile and repeated input against the real server, on both backends:
//! oversized and deeply nested bodies, wrong types, invalid references,
//! retries with an Idempotency-Key, and a storm of concurrent increments.
//! Each gets the documented error, and the data stays exact.

use abo_testkit::{TestApp, ValidateOptions, both_backends};
use serde_json::{Value, json};

/// A started subscription to the demo catalogue's free offer, whose
/// `e-signature` feature is metered (Consumption).
async fn started_customer(app: &TestApp, reference: &str) -> i64 {
    let (status, _) = app
        .post_json_checked(
            "/v1/Customer",
            &json!({"ReferenceCustomer": reference, "Email": "x@example.com"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, body) = app
        .checked(
            "POST",
            "/v1/Subscription",
            app.request("POST", "/v1/Subscription?TryStart=true")
                .json(&json!({"ReferenceCustomer": reference, "ReferenceOffer": "free"})),
        )
        .await;
    assert!(status == 200 || status == 201, "{status} {body:?}");
    let body = body.unwrap();
    assert_eq!(body["StateSubscription"], "ActiveRunning", "{body}");
    body["Id"].as_i64().unwrap()
}

trait StatusBody {
    fn into_status_body(self) -> (u16, Option<Value>);
}

impl StatusBody for abo_testkit::CheckedResponse {
    fn into_status_body(self) -> (u16, Option<Value>) {
        (self.status, self.body)
    }
}

async fn quantity(app: &TestApp, customer: &str) -> i64 {
    let (status, body) = app
        .get_checked(&format!(
            "/v1/Usage?ReferenceCustomer={customer}&ReferenceFeature=e-signature"
        ))
        .await;
    assert_eq!(status, 200, "{body:?}");
    body.unwrap()["QuantityCurrent"].as_i64().unwrap()
}

fn increment(customer: &str, n: i64) -> Value {
    json!({"ReferenceCustomer": customer, "ReferenceFeature": "e-signature", "Increment": n, "DateStamp": "2020-01-01T00:00:00Z"})
}

both_backends! {
    /// A retry with the same Idempotency-Key counts once and replays the
    /// first answer; the same key with another body is refused.
    async fn idempotency_key_counts_once(app: TestApp) {
        started_customer(&app, "idem").await;
        let send = |body: Value| {
            app.request("POST", "/v1/Usage").header("Idempotency-Key", "retry-1").json(&body).send()
        };
        let first = send(increment("idem", 5)).await.unwrap();
        assert_eq!(first.status(), 200);
        assert!(first.headers().get("idempotent-replayed").is_none());
        let first_body: Value = first.json().await.unwrap();

        let replay = send(increment("idem", 5)).await.unwrap();
        assert_eq!(replay.status(), 200);
        assert_eq!(replay.headers()["idempotent-replayed"], "true");
        let replay_body: Value = replay.json().await.unwrap();
        assert_eq!(replay_body, first_body);
        assert_eq!(quantity(&app, "idem").await, 5, "the retry must not count twice");

        let other = send(increment("idem", 7)).await.unwrap();
        assert_eq!(other.status(), 422);
        let errors: Value = other.json().await.unwrap();
        assert!(errors.is_array(), "422 is an array: {errors}");
        assert_eq!(quantity(&app, "idem").await, 5);

        // Keys are per business: another business may use the same key.
        let stranger = app.second_business().await;
        started_customer(&stranger, "idem").await;
        let theirs = stranger.request("POST", "/v1/Usage").header("Idempotency-Key", "retry-1")
            .json(&increment("idem", 2)).send().await.unwrap();
        assert_eq!(theirs.status(), 200);
        assert_eq!(quantity(&stranger, "idem").await, 2);
        assert_eq!(quantity(&app, "idem").await, 5);
    }

    /// Oversized, deep, malformed and mistyped bodies get a clear error and
    /// change nothing.
    async fn hostile_bodies_are_refused(app: TestApp) {
        started_customer(&app, "victim").await;
        let before = quantity(&app, "victim").await;

        let huge = format!("{{\"ReferenceCustomer\":\"victim\",\"Pad\":\"{}\"}}", "x".repeat(300 * 1024));
        // The server answers 413 before reading the body and closes the
        // connection: keep it out of the client's pool.
        let response = app
            .request("POST", "/v1/Usage")
            .header("content-type", "application/json")
            .header("connection", "close")
            .body(huge)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 413, "oversized body");

        let deep = "[".repeat(5000) + &"]".repeat(5000);
        let response = app.request("POST", "/v1/Usage").header("content-type", "application/json").body(deep).send().await.unwrap();
        assert_eq!(response.status(), 422);
        let errors: Value = response.json().await.unwrap();
        assert!(errors[0]["Message"].as_str().unwrap().contains("deeper"), "{errors}");

        for (body, why) in [
            ("{\"ReferenceCustomer\": ", "truncated JSON"),
            ("{\"ReferenceCustomer\":\"victim\",\"ReferenceFeature\":\"e-signature\",\"Increment\":\"lots\"}", "Increment not a number"),
            ("{\"ReferenceCustomer\":\"victim\",\"ReferenceFeature\":\"e-signature\",\"Increment\":1e400}", "number out of range"),
            ("{\"ReferenceCustomer\":[1,2],\"ReferenceFeature\":\"e-signature\",\"Increment\":1}", "array for a string"),
            ("\"just a string\"", "not an object"),
        ] {
            let response = app.request("POST", "/v1/Usage").header("content-type", "application/json").body(body).send().await.unwrap();
            assert_eq!(response.status(), 422, "{why}");
            let errors: Value = response.json().await.unwrap();
            assert!(errors.is_array() && errors[0]["Code"].is_string(), "{why}: {errors}");
        }

        // Invalid references are validation errors, not lookups.
        for reference in ["a<b", "x;y", "q?", &"r".repeat(51)] {
            let (status, body) = app
                .checked_with(
                    "POST",
                    "/v1/Customer",
                    app.request("POST", "/v1/Customer").json(&json!({"ReferenceCustomer": reference})),
                    &ValidateOptions::default(),
                )
                .await
                .into_status_body();
            assert_eq!(status, 422, "{reference}: {body:?}");
        }
        assert_eq!(quantity(&app, "victim").await, before, "nothing hostile may change the data");
    }

    /// Many concurrent increments on one usage all count, exactly once each.
    async fn concurrent_increments_are_exact(app: TestApp) {
        started_customer(&app, "busy").await;
        // A head start, so no interleaving can take the counter below zero
        // (which is refused, rightly).
        const BASE: i64 = 10_000;
        let response = app.request("POST", "/v1/Usage").json(&increment("busy", BASE)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        const TASKS: i64 = 50;
        const EACH: i64 = 40; // 2,000 HTTP writes; the service tests go to 10,000.
        let mut handles = Vec::new();
        for t in 0..TASKS {
            let app = app.clone();
            handles.push(tokio::spawn(async move {
                for i in 0..EACH {
                    // Alternate +2 and -1 so a lost update of either sign shows.
                    let n = if (t + i) % 2 == 0 { 2 } else { -1 };
                    let response = app.request("POST", "/v1/Usage").json(&increment("busy", n)).send().await.unwrap();
                    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
                }
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        let expected = BASE + (TASKS * EACH / 2) * 2 - (TASKS * EACH / 2);
        assert_eq!(quantity(&app, "busy").await, expected);
    }
}
