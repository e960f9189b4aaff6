//! `/v1/Usage`, `/v1/Usages` and the legacy `/v1/Pricing/Usage` over HTTP, on
//! both backends, every answer checked against the contract.

#[path = "support_usages/mod.rs"]
mod support;

use abo_testkit::{TestApp, ValidateOptions, both_backends};
use serde_json::{Value, json};
use support::{customer, subscription};

const POST_USAGE: (&str, &str) = ("POST", "/v1/Usage");
const GET_USAGE: (&str, &str) = ("GET", "/v1/Usage");

async fn post_usage(app: &TestApp, body: Value) -> (u16, Option<Value>) {
    app.checked_with(
        POST_USAGE.0,
        POST_USAGE.1,
        app.request("POST", "/v1/Usage").json(&body),
        // NoneMatching is a documented ProAbono answer (spec §2.4) the
        // contract's operation does not list.
        &ValidateOptions::default()
            .allow_status(403)
            .allow_status(404),
    )
    .await
    .into_parts()
}

trait IntoParts {
    fn into_parts(self) -> (u16, Option<Value>);
}

impl IntoParts for abo_testkit::CheckedResponse {
    fn into_parts(self) -> (u16, Option<Value>) {
        (self.status, self.body)
    }
}

/// `GET /v1/Usages` answers the envelope of the contract's examples while its
/// schema says "array": check the envelope as a `PaginatedList` and each
/// item as a `Usage`.
async fn get_usages(app: &TestApp, query: &str) -> (u16, Option<Value>) {
    let response = app
        .request("GET", &format!("/v1/Usages?{query}"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    if status == 204 {
        assert!(text.is_empty(), "204 with a body: {text}");
        return (status, None);
    }
    let body: Value = serde_json::from_str(&text).unwrap();
    if status == 200 {
        let contract = app.contract();
        contract.validate_schema("PaginatedList", &body).unwrap();
        for item in body["Items"].as_array().unwrap() {
            contract
                .validate_schema("Usage", item)
                .unwrap_or_else(|e| panic!("{e:?}: {item}"));
        }
    }
    (status, Some(body))
}

both_backends! {
    /// Relative, absolute and on/off writes, read back; tolerant inputs.
    async fn writes_and_reads(app: TestApp) {
        let c = customer(&app, "cust-http", None).await;
        let s = subscription(&app, c, "pro-monthly", "ActiveRunning").await;

        let (status, body) = post_usage(&app, json!({
            "ReferenceFeature": "e-signature", "ReferenceCustomer": "cust-http",
            "Increment": 57, "DateStamp": "2025-03-29T19:33:50.65Z"
        })).await;
        assert_eq!(status, 200, "{body:?}");
        let body = body.unwrap();
        assert_eq!(body["QuantityCurrent"], 57);
        assert_eq!(body["QuantityIncluded"], 20);
        assert_eq!(body["TypeFeature"], "Consumption");
        assert_eq!(body["IdSubscription"], s.id);
        assert_eq!(body["ReferenceSegment"], "demo-eur");
        assert!(body.get("IsEnabled").is_none());

        // Increment as a numeric string, PHP's +0000 date, camelCase names.
        let (status, body) = post_usage(&app, json!({
            "referenceFeature": "e-signature", "referenceCustomer": "cust-http",
            "increment": "-7", "dateStamp": "2025-03-29T19:33:50+0000"
        })).await;
        assert_eq!((status, body.unwrap()["QuantityCurrent"].clone()), (200, json!(50)));

        // Absolute write on a Limitation; no DateStamp at all (N8N) is "now".
        let (status, body) = post_usage(&app, json!({
            "ReferenceFeature": "team-members", "ReferenceCustomer": "cust-http", "QuantityCurrent": 17
        })).await;
        assert_eq!((status, body.unwrap()["QuantityCurrent"].clone()), (200, json!(17)));

        // OnOff.
        let (status, body) = post_usage(&app, json!({
            "ReferenceFeature": "support-24", "ReferenceCustomer": "cust-http", "IsEnabled": false
        })).await;
        let body = body.unwrap();
        assert_eq!((status, body["IsEnabled"].clone(), body["IsIncluded"].clone()), (200, json!(false), json!(true)));
        assert!(body.get("QuantityCurrent").is_none());

        let (status, body) = app.checked(GET_USAGE.0, GET_USAGE.1,
            app.request("GET", "/v1/Usage?referencefeature=team-members&ReferenceCustomer=cust-http")).await;
        assert_eq!((status, body.unwrap()["QuantityCurrent"].clone()), (200, json!(17)));

        // Validation: 422 arrays.
        for bad in [
            json!({"ReferenceFeature": "e-signature", "ReferenceCustomer": "cust-http"}),
            json!({"ReferenceFeature": "e-signature", "ReferenceCustomer": "cust-http", "Increment": 1, "QuantityCurrent": 2}),
            json!({"ReferenceCustomer": "cust-http", "Increment": 1}),
            json!({"ReferenceFeature": "e-signature", "ReferenceCustomer": "cust-http", "Increment": "x"}),
            json!({"ReferenceFeature": "e-signature", "ReferenceCustomer": "cust-http", "Increment": 1, "DateStamp": "2999-01-01T00:00:00Z"}),
            json!({"ReferenceFeature": "support-24", "ReferenceCustomer": "cust-http", "Increment": 1}),
            json!({"ReferenceFeature": "e-signature", "ReferenceCustomer": "cust-http", "Increment": -1000}),
        ] {
            let (status, body) = post_usage(&app, bad.clone()).await;
            assert_eq!(status, 422, "{bad} → {body:?}");
            assert!(body.unwrap().is_array());
        }
    }

    /// Not started, or no such feature: ProAbono's NoneMatching.
    async fn none_matching(app: TestApp) {
        let c = customer(&app, "cust-draft", None).await;
        subscription(&app, c, "pro-monthly", "DraftAgent").await;
        let (status, body) = post_usage(&app, json!({
            "ReferenceFeature": "e-signature", "ReferenceCustomer": "cust-draft", "Increment": 1
        })).await;
        assert_eq!(status, 403);
        assert_eq!(body.unwrap()["Code"], "Error.Api.Usage.NoneMatching");
        let (status, body) = post_usage(&app, json!({
            "ReferenceFeature": "no-such-feature", "ReferenceCustomer": "cust-draft", "Increment": 1
        })).await;
        assert_eq!(status, 404);
        assert_eq!(body.unwrap()["Code"], "Error.Api.Usage.NoneMatching");
        let (status, body) = app.checked(GET_USAGE.0, GET_USAGE.1,
            app.request("GET", "/v1/Usage?ReferenceFeature=e-signature&ReferenceCustomer=cust-draft")).await;
        assert_eq!(status, 404);
        assert_eq!(body.unwrap()["Code"], "Error.Api.Usage.NoneMatching");
        let (status, _) = get_usages(&app, "ReferenceCustomer=cust-draft").await;
        assert_eq!(status, 204);
        let (status, _) = app.unauthenticated().checked(POST_USAGE.0, POST_USAGE.1,
            app.unauthenticated().request("POST", "/v1/Usage").json(&json!({}))).await;
        assert_eq!(status, 401);
    }

    /// Batches: all or nothing, at most 50; listing with the envelope.
    async fn batches_and_listing(app: TestApp) {
        for r in ["cust-42", "cust-43"] {
            let c = customer(&app, r, None).await;
            subscription(&app, c, "pro-yearly", "ActiveRunning").await;
        }
        let batch = json!([
            {"ReferenceFeature": "team-members", "ReferenceCustomer": "cust-42", "QuantityCurrent": 17, "DateStamp": "2025-03-29T19:35:51.65Z"},
            {"ReferenceFeature": "team-members", "ReferenceCustomer": "cust-43", "QuantityCurrent": 10, "DateStamp": "2025-03-29T19:35:51.6500000Z"}
        ]);
        let (status, body) = app.checked("POST", "/v1/Usages", app.request("POST", "/v1/Usages").json(&batch)).await;
        assert_eq!(status, 200);
        let got: Vec<Value> = body.unwrap().as_array().unwrap().iter().map(|u| u["QuantityCurrent"].clone()).collect();
        assert_eq!(got, vec![json!(17), json!(10)]);

        let too_many = Value::Array(vec![json!({"ReferenceFeature": "e-signature", "ReferenceCustomer": "cust-42", "Increment": 1}); 51]);
        let (status, _) = app.checked("POST", "/v1/Usages", app.request("POST", "/v1/Usages").json(&too_many)).await;
        assert_eq!(status, 422);
        let bad = json!([
            {"ReferenceFeature": "e-signature", "ReferenceCustomer": "cust-42", "Increment": 1},
            {"ReferenceFeature": "e-signature", "ReferenceCustomer": "cust-42"}
        ]);
        let (status, body) = app.checked("POST", "/v1/Usages", app.request("POST", "/v1/Usages").json(&bad)).await;
        assert_eq!(status, 422);
        assert!(body.unwrap()[0]["Message"].as_str().unwrap().starts_with("[1]"));

        let (status, body) = get_usages(&app, "ReferenceFeature=team-members").await;
        assert_eq!(status, 200);
        let body = body.unwrap();
        assert_eq!((body["TotalItems"].clone(), body["Count"].clone()), (json!(2), json!(2)));
        let (status, body) = get_usages(&app, "ReferenceCustomer=cust-42&SizePage=2").await;
        assert_eq!(status, 200);
        let body = body.unwrap();
        assert_eq!(body["TotalItems"], 3);
        assert_eq!(body["Items"].as_array().unwrap().len(), 2);
        assert!(body["Links"][0]["href"].as_str().unwrap().contains("Page=2"));
    }

    /// A retried write with the same Idempotency-Key counts once.
    async fn idempotent_retry(app: TestApp) {
        let c = customer(&app, "cust-retry", None).await;
        subscription(&app, c, "pro-monthly", "ActiveRunning").await;
        let body = json!({"ReferenceFeature": "e-signature", "ReferenceCustomer": "cust-retry", "Increment": 5});
        for expected in [5, 5, 5] {
            let (status, got) = app.checked(POST_USAGE.0, POST_USAGE.1,
                app.request("POST", "/v1/Usage").header("Idempotency-Key", "k-1").json(&body)).await;
            assert_eq!((status, got.unwrap()["QuantityCurrent"].clone()), (200, json!(expected)));
        }
        let (_, got) = app.checked(POST_USAGE.0, POST_USAGE.1,
            app.request("POST", "/v1/Usage").header("Idempotency-Key", "k-2").json(&body)).await;
        assert_eq!(got.unwrap()["QuantityCurrent"], 10);
    }

    /// Legacy quote: Limitation increase pro rata now, Consumption at renewal.
    async fn pricing_usage_quote(app: TestApp) {
        let c = customer(&app, "cust-quote", None).await;
        subscription(&app, c, "pro-monthly", "ActiveRunning").await;
        let check = |body: &Value| app.contract().validate_schema("Quote", body).unwrap_or_else(|e| panic!("{e:?}: {body}"));

        // 0 → 4 team members: 2 included, units 3-4 at €15 → €30.00 a month,
        // charged for the 29 remaining days of a 30-day period (± a DST day).
        let r = app.request("POST", "/v1/Pricing/Usage?NextTerm=true")
            .json(&json!({"ReferenceFeature": "team-members", "ReferenceCustomer": "cust-quote", "Increment": 4}))
            .send().await.unwrap();
        assert_eq!(r.status(), 200);
        let q: Value = r.json().await.unwrap();
        check(&q);
        let subtotal = q["AmountSubtotal"].as_i64().unwrap();
        assert!((2800..=3000).contains(&subtotal), "{q}");
        // Due now as the invoice will carry it: 20 % tax (FR business),
        // rounded once; the same as the quoting API's dry run of the write.
        let total = subtotal + (subtotal * 2 + 5) / 10;
        assert_eq!((q["AmountTotal"].clone(), q["AmountTotalDue"].clone()), (json!(total), json!(total)), "{q}");
        assert_eq!(q["Details"][0]["AmountTotal"], total);
        let r = app.request("POST", "/v1/Quoting/Usage?EnsureBillable=false")
            .json(&json!({"ReferenceFeature": "team-members", "ReferenceCustomer": "cust-quote", "Increment": 4}))
            .send().await.unwrap();
        assert_eq!(r.status(), 200);
        let quoted: Value = r.json().await.unwrap();
        assert_eq!((quoted["AmountSubtotal"].clone(), quoted["AmountTotalDue"].clone()), (json!(subtotal), json!(total)), "{quoted}");
        assert_eq!(q["LabelLocalized"], "Amount due");
        assert_eq!(q["NextTerm"]["AmountTotal"], 1900 + 3000);
        assert_eq!(q["Details"][0]["QuantityReported"], 4);
        assert_eq!(q["Details"][0]["QuantityBilled"], 2);
        // Nothing was applied.
        let (_, u) = app.checked(GET_USAGE.0, GET_USAGE.1,
            app.request("GET", "/v1/Usage?ReferenceFeature=team-members&ReferenceCustomer=cust-quote")).await;
        assert_eq!(u.unwrap()["QuantityCurrent"], 0);

        // Consumption: 30 signatures, 20 included, 10 × €0.20 at renewal.
        let r = app.request("POST", "/v1/Pricing/Usage?referenceCustomer=cust-quote&referenceFeature=e-signature")
            .json(&json!({"Increment": 30, "DateStamp": "2025-03-29T19:33:50Z"}))
            .send().await.unwrap();
        let q: Value = r.json().await.unwrap();
        check(&q);
        assert_eq!((q["AmountTotalDue"].clone(), q["AmountTotal"].clone()), (json!(0), json!(200)));
        assert!(q.get("NextTerm").is_none());

        let r = app.request("POST", "/v1/Pricing/Usage")
            .json(&json!({"ReferenceFeature": "e-signature", "ReferenceCustomer": "nobody", "Increment": 1}))
            .send().await.unwrap();
        assert_eq!(r.status(), 404);
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["Code"], "Error.Api.Usage.NoneMatching");
    }
}
