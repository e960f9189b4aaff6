//! Quoting over HTTP, on both backends: `POST /v1/Quoting/Subscription`,
//! `…/{id}/Start`, `…/{id}/Upgrade`, `/v1/Quoting/Usage`,
//! `/v1/Quoting/BalanceLine` and the older names (`/v1/PricingSubscription`,
//! `/v1/PricingUsage`, `/v1/Pricing/Subscription/{id}`). Every answer is
//! checked against the contract. The key property: quote, then perform the
//! change, then bill — the invoice carries exactly the quoted amounts.

use std::sync::Arc;

use abo_core::{Clock, TestClock};
use abo_store::customers;
use abo_store::{balance_lines, invoices, segments};
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

[[offer]]
segment = "main-eur"
reference = "basic"
name = "Basic"
recurrence = "1 Month"
amount_recurrence = "100.00"

  [[offer.feature]]
  feature = "seats"
  included = 2
  pricing = { unit = "15.00" }
  updatable_after_subscription = true

[[offer]]
segment = "main-eur"
reference = "premium"
name = "Premium"
recurrence = "1 Month"
amount_recurrence = "180.00"

  [[offer.feature]]
  feature = "seats"
  included = 5
  pricing = { unit = "12.00" }

[[offer]]
segment = "main-eur"
reference = "starter"
name = "Starter"
recurrence = "1 Month"
amount_recurrence = "30.00"
amount_upfront = "20.00"
trial = { duration = "14 Day", amount = "5.00" }
"#;

fn at(d: Date, hour: i8) -> i64 {
    d.at(hour, 0, 0, 0)
        .to_zoned(TimeZone::get("Europe/Paris").unwrap())
        .unwrap()
        .timestamp()
        .as_microsecond()
}

/// March 25, 2026, 11:00 in Paris: billing-rules' change-of-offer date.
fn march_25() -> AppOptions {
    let clock: Arc<dyn Clock> =
        TestClock::shared(jiff::Timestamp::from_microsecond(at(date(2026, 3, 25), 11)).unwrap());
    AppOptions::default().catalog(CATALOG).clock(clock)
}

/// A customer of the default segment, billed in France (20 %), paying by
/// `payment` (bank transfer: billable, invoices left DueOffline).
async fn customer(app: &TestApp, reference: &str, payment: &str) -> i64 {
    app.billed_customer(reference, payment).await.0
}

/// A request checked against the contract operation `template` (the
/// response's extra `Currency`/`TypeLine` are Abo's additions, allowed).
async fn call(app: &TestApp, template: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = app.request("POST", path);
    request = match body {
        Some(b) => request.json(&b),
        None => request.body(Vec::<u8>::new()),
    };
    let operation = app.contract().operation("POST", template);
    let options = ValidateOptions::default()
        .allow_status(404)
        .allow_status(403);
    if operation.matches_path(path.split('?').next().unwrap()) {
        let r = app.checked_with("POST", template, request, &options).await;
        (r.status, r.body.unwrap_or(Value::Null))
    } else {
        // An alias: checked against the operation it stands for.
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let parsed: Option<Value> =
            (!text.is_empty()).then(|| serde_json::from_str(&text).unwrap());
        operation
            .validate_response_with(status, parsed.as_ref(), &options)
            .unwrap_or_else(|e| panic!("POST {path} answered {status}: {e:?}\n{text}"));
        (status, parsed.unwrap_or(Value::Null))
    }
}

/// Creates a subscription through the API; returns its id.
async fn subscribe(app: &TestApp, body: Value, query: &str) -> i64 {
    let r = app
        .request("POST", &format!("/v1/Subscription{query}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    v["Id"].as_i64().unwrap()
}

/// Bills the customer now; returns the invoice (`Null` when nothing was due).
async fn bill(app: &TestApp, reference: &str) -> Value {
    let r = app
        .post_json(
            "/v1/Billing/Customer",
            &json!({"ReferenceCustomer": reference}),
        )
        .await;
    let status = r.status().as_u16();
    if status == 204 {
        return Value::Null;
    }
    assert_eq!(status, 200);
    r.json().await.unwrap()
}

/// The stored lines of an invoice: (subtotal, tax).
async fn invoice_lines(app: &TestApp, id: i64) -> Vec<(i64, i64)> {
    let mut conn = app.store.acquire().await.unwrap();
    let invoice = invoices::get(&mut conn, app.business_id, id).await.unwrap();
    invoice
        .lines
        .iter()
        .map(|l| (l.amount_subtotal, l.amount_tax))
        .collect()
}

fn detail_amounts(quote: &Value) -> Vec<(i64, i64)> {
    quote["Details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let sub = d["AmountSubtotal"].as_i64().unwrap();
            (sub, d["AmountTotal"].as_i64().unwrap() - sub)
        })
        .collect()
}

/// The quote's amounts equal the invoice's, line by line and in total.
async fn assert_invoiced_as_quoted(app: &TestApp, quote: &Value, invoice: &Value) {
    assert_eq!(
        invoice["AmountSubtotal"], quote["AmountSubtotal"],
        "{quote}\n{invoice}"
    );
    assert_eq!(
        invoice["AmountTotal"], quote["AmountTotal"],
        "{quote}\n{invoice}"
    );
    assert_eq!(invoice["AmountTotal"], quote["AmountTotalDue"]);
    let lines = invoice_lines(app, invoice["Id"].as_i64().unwrap()).await;
    assert_eq!(lines, detail_amounts(quote));
}

both_backends! {
    /// billing-rules' worked example: monthly €100 from Jan 10, changed on
    /// Mar 25 to €180: credit -51.61, charge +92.90, net +41.29, 20 % VAT.
    /// The quote changes nothing; the change then bills exactly the quote.
    #[options(march_25())]
    async fn upgrade_quote_is_what_is_billed(app: TestApp) {
        customer(&app, "c1", "ExternalBank").await;
        let id = subscribe(&app, json!({"ReferenceCustomer": "c1", "ReferenceOffer": "basic",
            "DateStart": "2026-01-10T10:00:00Z"}), "?TryStart=true").await;
        // The running period (Mar 10 - Apr 10) is billed first.
        let first = bill(&app, "c1").await;
        assert_eq!(first["AmountSubtotal"], 10000);

        let path = format!("/v1/Quoting/Subscription/{id}/Upgrade?ReferenceOffer=premium");
        let (status, quote) = call(&app, "/v1/Quoting/Subscription/{IdSubscription}/Upgrade", &path, None).await;
        assert_eq!(status, 200, "{quote}");
        assert_eq!(quote["IdSubscription"], id);
        assert_eq!(detail_amounts(&quote).iter().map(|d| d.0).collect::<Vec<_>>(), vec![-5161, 9290]);
        assert_eq!(quote["AmountSubtotal"], 4129);
        // 4129 × 20 % = 825.8 → 826, rounded once on the sum.
        assert_eq!(quote["AmountTotal"], 4955);
        assert_eq!(quote["AmountTotalDue"], 4955);
        assert_eq!(quote["PricingLocalized"], "€49.55");
        assert_eq!(quote["Details"][0]["IdSubscription"], id);
        assert_eq!(quote["Details"][1]["IdSubscription"], Value::Null);
        assert_eq!(quote["Details"][1]["DatePeriodEnd"], "2026-04-09T22:00:00.00Z");
        // Then €180 a month from Apr 10.
        assert_eq!(quote["NextTerm"]["AmountSubtotal"], 18000);
        assert_eq!(quote["NextTerm"]["AmountTotal"], 21600);
        assert_eq!(quote["NextTerm"]["DatePeriodStart"], "2026-04-09T22:00:00.00Z");
        assert_eq!(quote["NextTerm"]["DatePeriodEnd"], "2026-05-09T22:00:00.00Z");

        // Nothing was changed by the quote: still Basic, nothing due.
        let (_, sub) = app.get_checked(&format!("/v1/Subscription?IdSubscription={id}")).await;
        assert_eq!(sub.unwrap()["ReferenceOffer"], "basic");
        let mut conn = app.store.acquire().await.unwrap();
        let segment = segments::get_default(&mut conn, app.business_id).await.unwrap().id;
        let c = customers::get_by_reference(&mut conn, app.business_id, segment, "c1").await.unwrap();
        let due = balance_lines::list_for_customer(&mut conn, app.business_id, c.id, Some("Due")).await.unwrap();
        assert!(due.is_empty(), "{due:?}");
        drop(conn);

        // The same quote again (a quote is repeatable), then the change.
        let (_, again) = call(&app, "/v1/Quoting/Subscription/{IdSubscription}/Upgrade", &path, None).await;
        assert_eq!(again, quote);
        let r = app.post_empty(&format!("/v1/Subscription/{id}/Upgrade?ReferenceOffer=premium")).await;
        assert_eq!(r.status(), 200);
        let new_id = r.json::<Value>().await.unwrap()["Id"].as_i64().unwrap();
        let invoice = bill(&app, "c1").await;
        assert_invoiced_as_quoted(&app, &quote, &invoice).await;

        // Back down to Basic now: a credit of 92.90 - 51.61, nothing due now (the credit
        // stays on the balance for the next invoice, as billing does).
        let path = format!("/v1/Quoting/Subscription/{new_id}/Upgrade?ReferenceOffer=basic");
        let (status, down) = call(&app, "/v1/Quoting/Subscription/{IdSubscription}/Upgrade", &path, None).await;
        assert_eq!(status, 200, "{down}");
        assert_eq!(detail_amounts(&down).iter().map(|d| d.0).collect::<Vec<_>>(), vec![-9290, 5161]);
        assert_eq!(down["AmountSubtotal"], -4129);
        assert_eq!(down["AmountTotal"], -4955);
        assert_eq!(down["AmountTotalDue"], 0);

        // At term: nothing due now; the next term is Basic's price.
        let path = format!("/v1/Quoting/Subscription/{new_id}/Upgrade?ReferenceOffer=basic&Immediate=false");
        let (status, at_term) = call(&app, "/v1/Quoting/Subscription/{IdSubscription}/Upgrade", &path, None).await;
        assert_eq!(status, 200, "{at_term}");
        assert_eq!(at_term["AmountTotalDue"], 0);
        assert_eq!(at_term["Details"], json!([]));
        assert_eq!(at_term["NextTerm"]["AmountSubtotal"], 10000);
        assert_eq!(at_term["NextTerm"]["AmountTotal"], 12000);

        // Errors: no ReferenceOffer (422), unknown subscription (404).
        let r = app.post_empty(&format!("/v1/Quoting/Subscription/{new_id}/Upgrade")).await;
        assert_eq!(r.status(), 422);
        let (status, _) = call(&app, "/v1/Quoting/Subscription/{IdSubscription}/Upgrade",
            "/v1/Quoting/Subscription/999999/Upgrade?ReferenceOffer=basic", None).await;
        assert_eq!(status, 404);
    }

    /// A new subscription with overrides: up-front fee, then the trial;
    /// NextTerm is the first paid month. Subscribing then bills the quote.
    #[options(march_25())]
    async fn subscription_quote_is_what_is_billed(app: TestApp) {
        customer(&app, "c2", "ExternalBank").await;
        let body = json!({"ReferenceCustomer": "c2", "ReferenceOffer": "starter", "AmountUpFront": 1999});
        let (status, quote) = call(&app, "/v1/Quoting/Subscription", "/v1/Quoting/Subscription", Some(body.clone())).await;
        assert_eq!(status, 200, "{quote}");
        assert_eq!(detail_amounts(&quote).iter().map(|d| d.0).collect::<Vec<_>>(), vec![1999, 500]);
        assert_eq!(quote["AmountSubtotal"], 2499);
        assert_eq!(quote["AmountTotal"], 2999);
        assert_eq!(quote["IdSubscription"], Value::Null);
        assert!(quote["Details"][0]["DateMove"].is_string(), "{quote}");
        // The trial ends after 14 days; then €30 a month.
        assert_eq!(quote["NextTerm"]["AmountSubtotal"], 3000);
        assert_eq!(quote["NextTerm"]["DatePeriodStart"], "2026-04-07T22:00:00.00Z");
        // Nothing was created.
        let r = app.get("/v1/Subscriptions?ReferenceCustomer=c2").await;
        assert_eq!(r.status(), 204);

        subscribe(&app, body, "?TryStart=true").await;
        let invoice = bill(&app, "c2").await;
        assert_invoiced_as_quoted(&app, &quote, &invoice).await;

        // NET1/NET2's name answers the same quote.
        customer(&app, "c3", "ExternalBank").await;
        let (status, legacy) = call(&app, "/v1/Quoting/Subscription", "/v1/PricingSubscription",
            Some(json!({"ReferenceCustomer": "c3", "ReferenceOffer": "starter", "AmountUpFront": 1999}))).await;
        assert_eq!(status, 200);
        assert_eq!(legacy["AmountTotal"], 2999);

        // Errors: 422 without ReferenceOffer, 404 unknown offer, 403 when
        // the buyer cannot pay and EnsureBillable is set.
        let r = app.post_json("/v1/Quoting/Subscription", &json!({"ReferenceCustomer": "c2"})).await;
        assert_eq!(r.status(), 422);
        let (status, _) = call(&app, "/v1/Quoting/Subscription", "/v1/Quoting/Subscription",
            Some(json!({"ReferenceCustomer": "c2", "ReferenceOffer": "nope"}))).await;
        assert_eq!(status, 404);
        customer(&app, "c4", "Free").await;
        let (status, e) = call(&app, "/v1/Quoting/Subscription", "/v1/Quoting/Subscription?EnsureBillable=true",
            Some(json!({"ReferenceCustomer": "c4", "ReferenceOffer": "basic"}))).await;
        assert_eq!(status, 403);
        assert_eq!(e["Code"], "Error.Customer.PaymentSettings.Missing");
    }

    /// Starting a draft prepared by the merchant: the quote (and its
    /// `related-quote` alias) is what the start then bills.
    #[options(march_25())]
    async fn start_quote_is_what_is_billed(app: TestApp) {
        customer(&app, "c5", "ExternalBank").await;
        let id = subscribe(&app, json!({"ReferenceCustomer": "c5", "ReferenceOffer": "basic",
            "AmountRecurrence": 8900}), "").await;
        let path = format!("/v1/Quoting/Subscription/{id}/Start");
        let (status, quote) = call(&app, "/v1/Quoting/Subscription/{IdSubscription}/Start", &path, None).await;
        assert_eq!(status, 200, "{quote}");
        assert_eq!(quote["IdSubscription"], id);
        assert_eq!(quote["AmountSubtotal"], 8900);
        assert_eq!(quote["AmountTotal"], 10680);
        assert_eq!(quote["NextTerm"]["AmountSubtotal"], 8900);
        assert_eq!(quote["NextTerm"]["DatePeriodStart"], "2026-04-24T22:00:00.00Z");
        let (_, alias) = call(&app, "/v1/Quoting/Subscription/{IdSubscription}/Start",
            &format!("/v1/Pricing/Subscription/{id}?ensureBillable=False"), None).await;
        assert_eq!(alias, quote);

        let r = app.post_empty(&format!("/v1/Subscription/{id}/Start")).await;
        assert_eq!(r.status(), 200);
        let invoice = bill(&app, "c5").await;
        assert_invoiced_as_quoted(&app, &quote, &invoice).await;
    }

    /// Usage quotes run the real usage write: what they say is due is what
    /// the write then bills; NextTerm has the extras at the new quantity.
    #[options(march_25())]
    async fn usage_quote_is_what_is_billed(app: TestApp) {
        customer(&app, "c6", "ExternalBank").await;
        subscribe(&app, json!({"ReferenceCustomer": "c6", "ReferenceOffer": "basic"}), "?TryStart=true").await;
        bill(&app, "c6").await;
        let body = json!({"ReferenceFeature": "seats", "ReferenceCustomer": "c6", "QuantityCurrent": 4,
            "DateStamp": "2026-03-25T10:00:00Z"});
        let (status, quote) = call(&app, "/v1/Quoting/Usage", "/v1/Quoting/Usage?NextTerm=true", Some(body.clone())).await;
        assert_eq!(status, 200, "{quote}");
        assert!(quote["IdSubscription"].is_i64());
        // Next month: €100 + 2 extra seats × €15.
        assert_eq!(quote["NextTerm"]["AmountSubtotal"], 13000);
        assert_eq!(quote["NextTerm"]["AmountTotal"], 15600);
        let (_, legacy) = call(&app, "/v1/Quoting/Usage", "/v1/PricingUsage?NextTerm=true", Some(body.clone())).await;
        assert_eq!(legacy, quote);
        // Nothing applied.
        let (_, u) = app.get_checked("/v1/Usage?ReferenceFeature=seats&ReferenceCustomer=c6").await;
        assert_eq!(u.unwrap()["QuantityCurrent"], 0);

        let r = app.post_json("/v1/Usage", &body).await;
        assert_eq!(r.status(), 200);
        let invoice = bill(&app, "c6").await;
        if quote["AmountTotalDue"] == 0 {
            assert_eq!(invoice, Value::Null, "nothing quoted now, nothing billed now");
        } else {
            assert_invoiced_as_quoted(&app, &quote, &invoice).await;
        }

        let (status, e) = call(&app, "/v1/Quoting/Usage", "/v1/Quoting/Usage",
            Some(json!({"ReferenceFeature": "seats", "ReferenceCustomer": "nobody", "Increment": 1,
                "DateStamp": "2026-03-25T10:00:00Z"}))).await;
        assert_eq!(status, 404, "{e}");
        assert_eq!(e["Code"], "Error.Api.Usage.NoneMatching");
        let r = app.post_json("/v1/Quoting/Usage", &json!({"ReferenceFeature": "seats", "ReferenceCustomer": "c6"})).await;
        assert_eq!(r.status(), 422);
    }

    /// A manual line: the contract's example, 500.00 + 20 % = 600.00.
    #[options(march_25())]
    async fn balance_line_quote(app: TestApp) {
        let id = customer(&app, "cust-42", "ExternalBank").await;
        let (status, q) = call(&app, "/v1/Quoting/BalanceLine", "/v1/Quoting/BalanceLine",
            Some(json!({"ReferenceCustomer": "cust-42", "Label": "Consulting XYZ in hours", "Amount": 50000, "Quantity": 18}))).await;
        assert_eq!(status, 200, "{q}");
        assert_eq!(q["AmountSubtotal"], 50000);
        assert_eq!(q["AmountTotal"], 60000);
        assert_eq!(q["PricingLocalized"], "€600.00");
        assert_eq!(q["IdCustomer"], id);
        assert_eq!(q["ReferenceSegment"], "main-eur");
        assert_eq!(q["QuantityBilled"], 18);
        // Then the line itself, billed: the same total.
        let r = app.post_json("/v1/BalanceLine", &json!({"ReferenceCustomer": "cust-42", "Amount": 50000, "Quantity": 18})).await;
        assert_eq!(r.status(), 201);
        let invoice = bill(&app, "cust-42").await;
        assert_eq!(invoice["AmountTotal"], q["AmountTotal"]);

        let r = app.post_json("/v1/Quoting/BalanceLine", &json!({"ReferenceCustomer": "cust-42"})).await;
        assert_eq!(r.status(), 422);
    }
}
