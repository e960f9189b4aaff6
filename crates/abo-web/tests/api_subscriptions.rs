//! `/v1/Subscription`, its actions and `/v1/Subscriptions` over HTTP, on both
//! backends. Every answer is checked against the contract, with unknown
//! properties refused (the Subscription JSON is the contract's, exactly).

use std::sync::Arc;

use abo_core::{Clock, TestClock};
use abo_store::balance_lines;
use abo_store::customers::{self, NewCustomer, PaymentSettingsPatch};
use abo_store::{segments, subscriptions as store_subs};
use abo_testkit::{AppOptions, TestApp, ValidateOptions, both_backends};
use jiff::civil::{Date, date};
use jiff::tz::TimeZone;
use serde_json::{Value, json};

const CATALOG: &str = r#"
[[segment]]
reference = "main-eur"
currency = "EUR"
time_zone = "Europe/Paris"
default = true

[[feature]]
reference = "seats"
name = "Seats"
type = "Limitation"

[[feature]]
reference = "support"
name = "Support"
type = "OnOff"
description = "Priority support."

[[offer]]
segment = "main-eur"
reference = "free"
name = "Free"
recurrence = "1 Month"
amount_recurrence = "0"

[[offer]]
segment = "main-eur"
reference = "basic"
name = "Basic"
recurrence = "1 Month"
amount_recurrence = "100.00"

  [[offer.feature]]
  feature = "seats"
  included = 2

  [[offer.feature]]
  feature = "support"
  included = false

[[offer]]
segment = "main-eur"
reference = "premium"
name = "Premium"
recurrence = "1 Month"
amount_recurrence = "180.00"

[[offer]]
segment = "main-eur"
reference = "committed"
name = "Committed"
recurrence = "1 Month"
amount_recurrence = "30.00"
min_recurrences = 3
amount_termination = "10.00"
"#;

fn at(d: Date, hour: i8) -> i64 {
    d.at(hour, 0, 0, 0)
        .to_zoned(TimeZone::get("Europe/Paris").unwrap())
        .unwrap()
        .timestamp()
        .as_microsecond()
}

/// The catalogue above, on a clock standing at `now` (Paris time).
fn options_at(d: Date, hour: i8) -> AppOptions {
    let clock: Arc<dyn Clock> =
        TestClock::shared(jiff::Timestamp::from_microsecond(at(d, hour)).unwrap());
    AppOptions::default().catalog(CATALOG).clock(clock)
}

/// March 25, 2026, 11:00 in Paris: billing-rules' change-of-offer date.
fn march_25() -> AppOptions {
    options_at(date(2026, 3, 25), 11)
}

fn strict() -> ValidateOptions {
    ValidateOptions::default().deny_unknown_properties()
}

/// Sends a request and checks it against the contract operation
/// `method template`; `extra` are statuses ProAbono answers that the
/// operation does not list (their body, if any, is an `Error`, checked here).
/// A path outside the contract (`/v1/Subscription/{id}`, a client alias) is
/// checked against `template`'s responses all the same.
async fn call(
    app: &TestApp,
    method: &str,
    template: &str,
    path: &str,
    body: Option<Value>,
    extra: &[u16],
) -> (u16, Value) {
    let mut request = app.request(method, path);
    request = match body {
        Some(b) => request.json(&b),
        None => request.body(Vec::<u8>::new()),
    };
    // The list envelope carries ProAbono's `DateGenerated`, which the
    // contract's `PaginatedList` does not declare: lists are checked with
    // the default options, and their items strictly below.
    let mut options = if template == "/v1/Subscriptions" {
        ValidateOptions::default()
    } else {
        strict()
    };
    for s in extra {
        options = options.allow_status(*s);
    }
    let operation = app.contract().operation(method, template);
    let (status, body) = if operation.matches_path(path.split('?').next().unwrap()) {
        let r = app.checked_with(method, template, request, &options).await;
        (r.status, r.body.unwrap_or(Value::Null))
    } else {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let parsed: Option<Value> =
            (!text.is_empty()).then(|| serde_json::from_str(&text).unwrap());
        operation
            .validate_response_with(status, parsed.as_ref(), &options)
            .unwrap_or_else(|e| panic!("{method} {path} answered {status}: {e:?}\n{text}"));
        (status, parsed.unwrap_or(Value::Null))
    };
    if extra.contains(&status) && !body.is_null() {
        app.contract()
            .validate_schema("Error", &body)
            .unwrap_or_else(|e| panic!("{e:?}: {body}"));
    }
    if status == 200 && template == "/v1/Subscriptions" {
        let schema = app.contract().schema("Subscription").unwrap();
        for item in body["Items"].as_array().unwrap() {
            app.contract()
                .validate_value(schema, item, &strict())
                .unwrap_or_else(|e| panic!("{e:?}: {item}"));
        }
    }
    (status, body)
}

/// A customer of the default segment; `payment` is its `TypePayment`.
async fn customer(app: &TestApp, reference: &str, payment: Option<&str>) -> i64 {
    let mut conn = app.store.acquire().await.unwrap();
    let segment = segments::get_default(&mut conn, app.business_id)
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
        0,
    )
    .await
    .unwrap();
    if let Some(p) = payment {
        customers::update_payment_settings(
            &mut conn,
            app.business_id,
            c.id,
            &PaymentSettingsPatch {
                type_payment: Some(p.into()),
                ..Default::default()
            },
            0,
        )
        .await
        .unwrap();
    }
    c.id
}

async fn create(app: &TestApp, query: &str, body: Value, extra: &[u16]) -> (u16, Value) {
    call(
        app,
        "POST",
        "/v1/Subscription",
        &format!("/v1/Subscription{query}"),
        Some(body),
        extra,
    )
    .await
}

fn rels(body: &Value) -> Vec<String> {
    body["Links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rel"].as_str().unwrap().to_owned())
        .collect()
}

/// Amounts of the customer's balance lines, oldest first.
async fn lines(app: &TestApp, customer_id: i64) -> Vec<(String, i64)> {
    let mut conn = app.store.acquire().await.unwrap();
    balance_lines::list_for_customer(&mut conn, app.business_id, customer_id, None)
        .await
        .unwrap()
        .into_iter()
        .map(|l| (l.type_line, l.amount_subtotal))
        .collect()
}

both_backends! {
    /// Create with overrides and TryStart, then read it back by every route.
    #[options(march_25())]
    async fn create_then_read_by_every_route(app: TestApp) {
        let id = customer(&app, "cust-1", Some("ExternalBank")).await;
        let (status, body) = create(&app, "?TryStart=true", json!({
            "ReferenceCustomer": "cust-1",
            "ReferenceOffer": "basic",
            "TitleLocalized": "Basic, negotiated",
            "AmountUpFront": 10000,
            "AmountRecurrence": "19900",
            "DurationRecurrence": 3,
            "UnitRecurrence": "Month",
            "Features": [
                {"ReferenceFeature": "seats", "QuantityIncluded": 3, "QuantityCurrent": 10},
                {"ReferenceFeature": "support", "IsIncluded": true, "IsEnabled": true}
            ],
            "Metadata": {"Site": "www.example.com"}
        }), &[]).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["Status"], "Active");
        assert_eq!(body["StateSubscription"], "ActiveRunning");
        assert_eq!(body["ReferenceCustomer"], "cust-1");
        assert_eq!(body["ReferenceCustomerBuyer"], "cust-1");
        assert_eq!(body["ReferenceOffer"], "basic");
        assert_eq!(body["ReferenceSegment"], "main-eur");
        assert_eq!(body["Currency"], "EUR");
        assert_eq!(body["TitleLocalized"], "Basic, negotiated");
        assert_eq!(body["AmountUpFront"], 10000);
        assert_eq!(body["AmountRecurrence"], 19900);
        assert_eq!(body["DurationRecurrence"], 3);
        assert_eq!(body["DurationTrial"], 0);
        assert_eq!(body["IsCustomerBillable"], true);
        assert_eq!(body["IsTrial"], false);
        // Period boundaries are local midnights in Paris (UTC+1 then +2).
        assert_eq!(body["DateStart"], "2026-03-25T10:00:00.00Z");
        assert_eq!(body["DatePeriodStart"], "2026-03-24T23:00:00.00Z");
        assert_eq!(body["DatePeriodEnd"], "2026-06-24T22:00:00.00Z");
        assert_eq!(body["DateTerm"], "2026-06-24T22:00:00.00Z");
        assert_eq!(body["DateNextBilling"], "2026-06-25T04:00:00.00Z");
        assert_eq!(body["StatusAfterTerm"], Value::Null);
        assert_eq!(body["Metadata"]["Site"], "www.example.com");
        assert_eq!(body["Features"][0]["ReferenceFeature"], "seats");
        assert_eq!(body["Features"][0]["QuantityIncluded"], 3);
        assert_eq!(body["Features"][0]["QuantityCurrent"], 10);
        assert_eq!(body["Features"][1]["TypeFeature"], "OnOff");
        assert_eq!(body["Features"][1]["IsEnabled"], true);
        assert_eq!(body["Features"][1]["DescriptionLocalized"], "Priority support.");
        let sub = body["Id"].as_i64().unwrap();
        let links = rels(&body);
        for rel in ["self", "insite-home", "hosted-related-subscription",
                    "insite-related-subscription", "hosted-upgrade", "insite-upgrade"] {
            assert!(links.contains(&rel.to_string()), "{rel} missing from {links:?}");
        }
        assert!(!links.iter().any(|r| r.ends_with("restart")));
        assert_eq!(body["Links"][0]["href"], format!("/v1/Subscription/{sub}"));
        assert_eq!(
            lines(&app, id).await,
            [("AutoSubscriptionUpfront".to_string(), 10000), ("AutoSubscriptionRecurrence".to_string(), 19900)]
        );

        for path in [
            format!("/v1/Subscription/{sub}"),
            format!("/v1/Subscription?IdSubscription={sub}"),
            "/v1/Subscription?ReferenceCustomer=cust-1".to_string(),
            "/v1/subscription?referenceCustomer=cust-1&referenceOffer=basic".to_string(),
        ] {
            let (status, read) = call(&app, "GET", "/v1/Subscription", &path, None, &[]).await;
            assert_eq!(status, 200, "{path}: {read}");
            assert_eq!(read["Id"], sub, "{path}");
            assert_eq!(read["Features"], body["Features"], "{path}");
        }
        let (_, lean) = call(&app, "GET", "/v1/Subscription",
            &format!("/v1/Subscription/{sub}?IgnoreFeatures=true"), None, &[]).await;
        assert!(lean.get("Features").is_none());
    }

    /// Validation (422 arrays), unknown things (404), and EnsureBillable (403).
    #[options(march_25())]
    async fn refusals_have_proabono_codes(app: TestApp) {
        customer(&app, "cust-1", None).await;
        let (status, body) = create(&app, "", json!({"ReferenceCustomer": "cust-1"}), &[]).await;
        assert_eq!(status, 422);
        assert!(body[0]["Code"].as_str().unwrap().starts_with("Error.Api.Validation"), "{body}");
        assert_eq!(body[0]["Target"], "ReferenceOffer");

        let (status, body) = create(&app, "", json!({
            "ReferenceCustomer": "cust-1", "ReferenceOffer": "basic",
            "UnitRecurrence": "Fortnight", "AmountRecurrence": -5
        }), &[]).await;
        assert_eq!(status, 422);
        assert_eq!(body.as_array().unwrap().len(), 2, "{body}");

        let (status, body) = create(&app, "",
            json!({"ReferenceCustomer": "cust-1", "ReferenceOffer": "gold"}), &[404]).await;
        assert_eq!(status, 404, "{body}");
        let (status, _) = create(&app, "",
            json!({"ReferenceCustomer": "ghost", "ReferenceOffer": "basic"}), &[404]).await;
        assert_eq!(status, 404);

        let (status, body) = create(&app, "?EnsureBillable=true",
            json!({"ReferenceCustomer": "cust-1", "ReferenceOffer": "basic"}), &[403]).await;
        assert_eq!(status, 403);
        assert_eq!(body["Code"], "Error.Customer.PaymentSettings.Missing");

        for path in ["/v1/Subscription/987654", "/v1/Subscription/abc"] {
            let (status, _) = call(&app, "GET", "/v1/Subscription", path, None, &[]).await;
            assert_eq!(status, 404, "{path}");
        }
        // An empty collection is 204 with no body (spec §2.3).
        let (status, _) = call(&app, "GET", "/v1/Subscriptions",
            "/v1/Subscriptions?ReferenceCustomer=ghost", None, &[204]).await;
        assert_eq!(status, 204);
    }

    /// Older clients send the identifiers in the query (spec §2.5); the
    /// body still wins when both are given.
    #[options(march_25())]
    async fn identifiers_from_the_query(app: TestApp) {
        customer(&app, "cust-q", Some("ExternalBank")).await;
        customer(&app, "cust-body", Some("ExternalBank")).await;
        let (status, body) = create(&app,
            "?ReferenceCustomer=cust-q&referenceoffer=basic&TryStart=true", json!({}), &[]).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["ReferenceOffer"], "basic");
        assert_eq!(body["ReferenceCustomer"], "cust-q");

        let (status, body) = create(&app, "?ReferenceCustomer=cust-q&ReferenceOffer=basic",
            json!({"ReferenceCustomer": "cust-body"}), &[]).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["ReferenceCustomer"], "cust-body");

        let (status, body) = create(&app, "?IdCustomer=abc&ReferenceOffer=basic", json!({}), &[]).await;
        assert_eq!(status, 422, "{body}");
    }

    /// Drafts: the merchant's, the customer's (TryStart without payment
    /// method), and a delayed start; each with the links of its state.
    #[options(march_25())]
    async fn drafts_and_delayed_start(app: TestApp) {
        customer(&app, "cust-1", None).await;
        let request = json!({"ReferenceCustomer": "cust-1", "ReferenceOffer": "basic"});
        let (status, agent) = create(&app, "", request.clone(), &[]).await;
        assert_eq!(status, 201);
        assert_eq!(agent["Status"], "Draft");
        assert_eq!(agent["StateSubscription"], "DraftAgent");
        let links = rels(&agent);
        assert!(links.contains(&"insite-subscribe".to_string()), "{links:?}");
        assert!(links.contains(&"related-quote".to_string()), "{links:?}");
        assert!(!links.contains(&"insite-upgrade".to_string()));

        let (_, customer_draft) = create(&app, "?TryStart=true", request.clone(), &[]).await;
        assert_eq!(customer_draft["StateSubscription"], "DraftCustomer");
        assert_eq!(customer_draft["IsCustomerBillable"], false);

        // TryStart in the body (N8N), a free offer: starts without payment method.
        let (_, free) = create(&app, "", json!({
            "ReferenceCustomer": "cust-1", "ReferenceOffer": "free", "TryStart": true
        }), &[]).await;
        assert_eq!(free["StateSubscription"], "ActiveRunning");

        let (_, delayed) = create(&app, "?TryStart=true", json!({
            "ReferenceCustomer": "cust-1", "ReferenceOffer": "basic",
            "DateStart": "2098-02-14T23:59:59.65Z"
        }), &[]).await;
        assert_eq!(delayed["StateSubscription"], "DraftDelayedStart");
        assert_eq!(delayed["DateStart"], "2098-02-14T23:59:59.65Z");
        // Feb 15 in Paris: its first period starts that local midnight.
        assert_eq!(delayed["DatePeriodStart"], "2098-02-14T23:00:00.00Z");
        assert!(rels(&delayed).contains(&"hosted-register".to_string()));

        // The merchant starts the customer's draft.
        let id = customer_draft["Id"].as_i64().unwrap();
        let (status, started) = call(&app, "POST", "/v1/Subscription/{IdSubscription}/Start",
            &format!("/v1/Subscription/{id}/Start"), None, &[]).await;
        assert_eq!(status, 200, "{started}");
        assert_eq!(started["StateSubscription"], "ActiveRunning");
        // Starting it again is a state conflict with a readable message.
        let (status, conflict) = call(&app, "POST", "/v1/Subscription/{IdSubscription}/Start",
            &format!("/v1/Subscription/{id}/Start"), None, &[409]).await;
        assert_eq!(status, 409);
        assert_eq!(conflict["Code"], "Error.Api.Conflict");
        assert!(conflict["Message"].as_str().unwrap()
            .contains("cannot start a subscription in state ActiveRunning"), "{conflict}");
    }

    /// billing-rules' worked example over HTTP: €100 from Jan 10 changed to
    /// €180 on Mar 25 → -51.61 / +92.90, renewal on Apr 10.
    #[options(march_25())]
    async fn upgrade_prorates_and_answers_the_new_subscription(app: TestApp) {
        let id = customer(&app, "cust-1", Some("Card")).await;
        let (_, old) = create(&app, "?Migration=true", json!({
            "ReferenceCustomer": "cust-1", "ReferenceOffer": "basic",
            "DateStart": "2026-01-10T08:00:00+00:00"
        }), &[]).await;
        assert_eq!(old["DatePeriodStart"], "2026-03-09T23:00:00.00Z");
        let old_id = old["Id"].as_i64().unwrap();

        let (status, new) = call(&app, "POST", "/v1/Subscription/{IdSubscription}/Upgrade",
            &format!("/v1/Subscription/{old_id}/Upgrade?ReferenceOffer=premium"), None, &[]).await;
        assert_eq!(status, 200, "{new}");
        assert_ne!(new["Id"], old["Id"]);
        assert_eq!(new["ReferenceOffer"], "premium");
        assert_eq!(new["StateSubscription"], "ActiveRunning");
        assert_eq!(new["AmountRecurrence"], 18000);
        assert_eq!(new["DateTerm"], "2026-04-09T22:00:00.00Z");
        assert_eq!(
            lines(&app, id).await,
            [("AutoSubscriptionRecurrenceProrata".to_string(), -5161),
             ("AutoSubscriptionRecurrenceProrata".to_string(), 9290)]
        );
        let (_, ended) = call(&app, "GET", "/v1/Subscription",
            &format!("/v1/Subscription/{old_id}"), None, &[]).await;
        assert_eq!(ended["Status"], "Ended");
        assert_eq!(ended["StateSubscription"], "EndedUpgrade");
        assert_eq!(ended["DateEnd"], "2026-03-25T10:00:00.00Z");
        // The customer's subscription is now the new one.
        let (_, current) = call(&app, "GET", "/v1/Subscription",
            "/v1/Subscription?ReferenceCustomer=cust-1", None, &[]).await;
        assert_eq!(current["Id"], new["Id"]);

        // Commitment: refused with a clear code unless IgnoreEngagement.
        let (_, committed) = create(&app, "?TryStart=true",
            json!({"ReferenceCustomer": "cust-1", "ReferenceOffer": "committed"}), &[]).await;
        assert_eq!(committed["IsEngaged"], true);
        assert!(!rels(&committed).contains(&"insite-upgrade".to_string()));
        let cid = committed["Id"].as_i64().unwrap();
        let path = format!("/v1/Subscription/{cid}/Upgrade?ReferenceOffer=premium");
        let (status, refused) = call(&app, "POST", "/v1/Subscription/{IdSubscription}/Upgrade",
            &path, None, &[403]).await;
        assert_eq!(status, 403);
        assert_eq!(refused["Code"], "Error.Subscription.Engaged");
        // At term, with IgnoreEngagement in the body (N8N style).
        let (status, scheduled) = call(&app, "POST", "/v1/Subscription/{IdSubscription}/Upgrade",
            &path, Some(json!({"Immediate": false, "IgnoreEngagement": true})), &[]).await;
        assert_eq!(status, 200, "{scheduled}");
        assert_eq!(scheduled["StateSubscription"], "DraftDelayedUpgrade");
        assert_eq!(scheduled["DateStart"], committed["DateTerm"]);
    }

    /// Termination at term, then immediately (credit and fee), suspension,
    /// a moved term, restart of a suspended subscription.
    #[options(options_at(date(2026, 1, 25), 16))]
    async fn termination_suspension_term_and_restart(app: TestApp) {
        let id = customer(&app, "cust-1", Some("Card")).await;
        let (_, sub) = create(&app, "?TryStart=true", json!({
            "ReferenceCustomer": "cust-1", "ReferenceOffer": "committed",
            "DateStart": "2026-01-10T09:00:00+01:00"
        }), &[]).await;
        let sid = sub["Id"].as_i64().unwrap();
        let termination = "/v1/Subscription/{IdSubscription}/Termination";

        let (status, at_term) = call(&app, "POST", termination,
            &format!("/v1/Subscription/{sid}/Termination"), None, &[]).await;
        assert_eq!(status, 200);
        assert_eq!(at_term["StateSubscription"], "ActiveDelayedTermination");
        assert_eq!(at_term["StatusAfterTerm"], "Ended");
        assert_eq!(at_term["StateSubscriptionAfterTerm"], "EndedTerminated");
        assert!(at_term.get("DateNextBilling").is_none());

        let (status, ended) = call(&app, "POST", termination,
            &format!("/v1/Subscription/{sid}/Termination"), Some(json!({"Immediate": true})), &[]).await;
        assert_eq!(status, 200, "{ended}");
        assert_eq!(ended["StateSubscription"], "EndedTerminated");
        assert_eq!(ended["DateEnd"], "2026-01-25T15:00:00.00Z");
        // 3000 × 16 / 31 credited; the commitment makes the fee due.
        assert_eq!(
            lines(&app, id).await,
            [("AutoSubscriptionRecurrence".to_string(), 3000),
             ("AutoSubscriptionRecurrenceProrata".to_string(), -1548),
             ("AutoSubscriptionTermination".to_string(), 1000)]
        );

        let (_, basic) = create(&app, "?TryStart=true",
            json!({"ReferenceCustomer": "cust-1", "ReferenceOffer": "basic"}), &[]).await;
        let bid = basic["Id"].as_i64().unwrap();
        let (status, moved) = call(&app, "POST", "/v1/Subscription/{IdSubscription}/DateTerm",
            &format!("/v1/Subscription/{bid}/DateTerm"),
            Some(json!({"DateTerm": "2026-02-28T23:00:00.00Z"})), &[]).await;
        assert_eq!(status, 200, "{moved}");
        assert_eq!(moved["DateTerm"], "2026-02-28T23:00:00.00Z");
        assert_eq!(moved["DatePeriodEnd"], "2026-02-28T23:00:00.00Z");

        let (status, suspended) = call(&app, "POST", "/v1/Subscription/{IdSubscription}/Suspension",
            &format!("/v1/Subscription/{bid}/Suspension"), None, &[]).await;
        assert_eq!(status, 200);
        assert_eq!(suspended["StateSubscription"], "ActiveDelayedSuspension");
        assert_eq!(suspended["StateSubscriptionAfterTerm"], "SuspendedAgent");

        // The billing engine suspends at the term (simulated), then the
        // restart link appears and Start restarts it.
        {
            let mut conn = app.store.acquire().await.unwrap();
            store_subs::update_state(&mut conn, app.business_id, bid, "SuspendedAgent", 0)
                .await
                .unwrap();
        }
        let (_, read) = call(&app, "GET", "/v1/Subscription",
            &format!("/v1/Subscription/{bid}"), None, &[]).await;
        assert_eq!(read["Status"], "Suspended");
        assert!(rels(&read).contains(&"hosted-restart".to_string()));
        let (status, restarted) = call(&app, "POST", "/v1/Subscription/{IdSubscription}/Start",
            &format!("/v1/Subscription/{bid}/Start"), None, &[]).await;
        assert_eq!(status, 200);
        assert_eq!(restarted["StateSubscription"], "ActiveRunning");
    }

    /// Lists: filters, pagination with a `next` link, IgnoreFeatures, 204,
    /// and another business sees nothing.
    #[options(march_25())]
    async fn list_filters_and_pages(app: TestApp) {
        customer(&app, "cust-1", Some("Card")).await;
        customer(&app, "cust-2", Some("Card")).await;
        customer(&app, "payer", Some("Card")).await;
        for (c, offer, buyer) in [("cust-1", "basic", None), ("cust-1", "free", None),
                                  ("cust-2", "premium", Some("payer"))] {
            let mut body = json!({"ReferenceCustomer": c, "ReferenceOffer": offer});
            if let Some(b) = buyer {
                body["ReferenceCustomerBuyer"] = json!(b);
            }
            let (status, _) = create(&app, "?TryStart=true", body, &[]).await;
            assert_eq!(status, 201);
        }
        let list = "/v1/Subscriptions";
        let (status, all) = call(&app, "GET", list, "/v1/Subscriptions", None, &[]).await;
        assert_eq!(status, 200);
        assert_eq!(all["TotalItems"], 3);
        assert_eq!(all["Count"], 3);
        assert_eq!(all["Page"], 1);

        let (_, page) = call(&app, "GET", list,
            "/v1/Subscriptions?ReferenceCustomer=cust-1&SizePage=1&IgnoreFeatures=true", None, &[]).await;
        assert_eq!(page["TotalItems"], 2);
        assert_eq!(page["Count"], 1);
        assert!(page["Items"][0].get("Features").is_none());
        assert_eq!(
            page["Links"][0]["href"],
            "/v1/Subscriptions?ReferenceCustomer=cust-1&IgnoreFeatures=true&Page=2&SizePage=1"
        );
        let (_, second) = call(&app, "GET", list,
            "/v1/Subscriptions?ReferenceCustomer=cust-1&SizePage=1&Page=2", None, &[]).await;
        assert_eq!(second["Items"][0]["ReferenceOffer"], "free");

        let (_, by_buyer) = call(&app, "GET", list,
            "/v1/Subscriptions?ReferenceCustomerBuyer=payer&ReferenceSegment=main-eur", None, &[]).await;
        assert_eq!(by_buyer["TotalItems"], 1);
        assert_eq!(by_buyer["Items"][0]["ReferenceCustomer"], "cust-2");
        assert_eq!(by_buyer["Items"][0]["ReferenceCustomerBuyer"], "payer");

        let (status, _) = call(&app, "GET", list,
            "/v1/Subscriptions?SizePage=0", None, &[]).await;
        assert_eq!(status, 200);

        let other = app.second_business().await;
        let (status, _) = call(&other, "GET", list, "/v1/Subscriptions", None, &[204]).await;
        assert_eq!(status, 204);
        let id = all["Items"][0]["Id"].as_i64().unwrap();
        let (status, _) = call(&other, "GET", "/v1/Subscription",
            &format!("/v1/Subscription/{id}"), None, &[]).await;
        assert_eq!(status, 404);
    }
}
