//! The invoice and balance API over HTTP, on both backends: `POST
//! /v1/BalanceLine`, `GET /v1/Balance`, `POST /v1/Billing/Customer`,
//! `GET /v1/Invoice/{id}`, `GET /v1/Invoice?FullNumber=`, `GET /v1/Invoices`.
//! Every answer is checked against the contract.

use abo_testkit::{TestApp, ValidateOptions, both_backends};
use serde_json::{Value, json};

async fn get(app: &TestApp, template: &str, path: &str) -> (u16, Value) {
    let (status, body) = app.checked("GET", template, app.request("GET", path)).await;
    (status, body.unwrap_or(Value::Null))
}

async fn post(app: &TestApp, template: &str, body: Value) -> (u16, Value) {
    let (status, body) = app
        .checked("POST", template, app.request("POST", template).json(&body))
        .await;
    (status, body.unwrap_or(Value::Null))
}

fn rels(invoice: &Value) -> Vec<String> {
    invoice["Links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rel"].as_str().unwrap().to_owned())
        .collect()
}

both_backends! {
    /// A manual line, the balance with its computations, billing it into a
    /// DueOffline invoice of 19000 + 20 % = 22800, and reading it back.
    async fn balance_then_bill_then_read(app: TestApp) {
        let (customer_id, segment_id) = app.billed_customer("c1", "ExternalBank").await;
        let (status, empty) = get(&app, "/v1/Balance", "/v1/Balance?ReferenceCustomer=c1").await;
        assert_eq!(status, 200);
        assert_eq!(empty["TotalItems"], 0);
        assert_eq!(empty["Computations"]["AmountTotal"], 0);

        // The BalanceLine answer is the contract's, exactly.
        let request = app.request("POST", "/v1/BalanceLine").json(&json!({
            "ReferenceCustomer": "c1",
            "Label": "Consulting XYZ in hours",
            "Amount": 19000,
            "Quantity": 18,
            "KeyCharge": "Service"
        }));
        let strict = ValidateOptions::default().deny_unknown_properties();
        let r = app
            .checked_with("POST", "/v1/BalanceLine", request, &strict)
            .await;
        assert_eq!(r.status, 201);
        let line = r.body.unwrap();
        assert_eq!(line["AmountSubtotal"], 19000);
        assert_eq!(line["AmountTotal"], 22800);
        assert_eq!(line["PricingLocalized"], "€228.00");
        assert_eq!(line["QuantityBilled"], 18);
        assert_eq!(line["StateMove"], "Due");
        assert_eq!(line["TypeLine"], "Manual");
        assert_eq!(line["IdCustomer"], customer_id);

        let (status, balance) =
            get(&app, "/v1/Balance", "/v1/Balance?ReferenceCustomer=c1").await;
        assert_eq!(status, 200);
        assert_eq!(balance["TotalItems"], 1);
        assert_eq!(balance["Computations"]["AmountSubtotal"], 19000);
        assert_eq!(balance["Computations"]["AmountTotal"], 22800);

        let (status, invoice) = post(
            &app,
            "/v1/Billing/Customer",
            json!({"ReferenceCustomer": "c1", "NoteLocalized": "PO.123456"}),
        )
        .await;
        assert_eq!(status, 200, "{invoice}");
        let number = format!("S-{segment_id}.00000001");
        assert_eq!(invoice["FullNumber"], number.as_str());
        assert_eq!(invoice["StateInvoice"], "DueOffline");
        assert_eq!(invoice["Status"], "Due");
        assert_eq!(invoice["TypePayment"], "ExternalBank");
        assert_eq!(invoice["AmountSubtotal"], 19000);
        assert_eq!(invoice["AmountTotal"], 22800);
        assert_eq!(invoice["NoteLocalized"], "PO.123456");
        assert_eq!(invoice["ReferenceCustomer"], "c1");
        assert!(invoice.get("TypeCredit").is_none());
        let links = rels(&invoice);
        for rel in [
            "insite-related-invoice",
            "insite-home",
            "insite-charge",
            "insite-collection-invoice",
        ] {
            assert!(links.iter().any(|r| r == rel), "{rel} in {links:?}");
        }
        let pdf = invoice["Links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "insite-related-invoice")
            .unwrap();
        assert_eq!(pdf["type"], "application/pdf");
        assert!(pdf["href"].as_str().unwrap().starts_with("http"));
        let id = invoice["Id"].as_i64().unwrap();

        // Nothing left in the balance; billing again bills nothing.
        let (status, empty) = get(&app, "/v1/Balance", "/v1/Balance?ReferenceCustomer=c1").await;
        assert_eq!(status, 200);
        assert_eq!(empty["Count"], 0);
        let response = app
            .post_json("/v1/Billing/Customer", &json!({"ReferenceCustomer": "c1"}))
            .await;
        assert_eq!(response.status().as_u16(), 204);

        let (status, by_id) = get(&app, "/v1/Invoice/{id}", &format!("/v1/Invoice/{id}")).await;
        assert_eq!(status, 200);
        assert_eq!(by_id["FullNumber"], number.as_str());
        let (status, by_number) = get(
            &app,
            "/v1/Invoice",
            &format!("/v1/Invoice?FullNumber={number}"),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(by_number["Id"], id);
        // Case-insensitive path and query names.
        let (status, _) = get(
            &app,
            "/v1/Invoice",
            &format!("/v1/invoice?fullnumber={number}"),
        )
        .await;
        assert_eq!(status, 200);

        let (status, _) = get(&app, "/v1/Invoice/{id}", "/v1/Invoice/999999").await;
        assert_eq!(status, 404);
        let (status, _) = get(&app, "/v1/Invoice", "/v1/Invoice?FullNumber=S-0.00000000").await;
        assert_eq!(status, 404);

        let (status, list) =
            get(&app, "/v1/Invoices", "/v1/Invoices?ReferenceCustomer=c1").await;
        assert_eq!(status, 200);
        assert_eq!(list["TotalItems"], 1);
        assert_eq!(list["Items"][0]["Id"], id);
        let (status, list) = get(
            &app,
            "/v1/Invoices",
            &format!("/v1/Invoices?IdCustomer={customer_id}&SizePage=0"),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(list["TotalItems"], 1);
        assert_eq!(list["Count"], 0);
        let (status, _) =
            get(&app, "/v1/Invoices", "/v1/Invoices?ReferenceCustomer=nobody").await;
        assert_eq!(status, 204);
    }

    /// A customer without payment settings cannot be billed, even offline;
    /// a line without an amount is a 422.
    async fn billing_refusals(app: TestApp) {
        app.billed_customer("free", "Free").await;
        for body in [
            json!({"ReferenceCustomer": "free"}),
            json!({"ReferenceCustomer": "free", "ForceOffline": true}),
        ] {
            let (status, error) = post(&app, "/v1/Billing/Customer", body).await;
            assert_eq!(status, 403);
            assert_eq!(error["Code"], "Error.Customer.PaymentSettings.Missing");
        }
        let (status, _) = post(&app, "/v1/Billing/Customer", json!({})).await;
        assert_eq!(status, 422);
        let (status, errors) = post(
            &app,
            "/v1/BalanceLine",
            json!({"ReferenceCustomer": "free", "TypeLine": "Nope"}),
        )
        .await;
        assert_eq!(status, 422);
        assert!(errors.as_array().is_some());
        // EnsureBillable refuses a customer with no payment settings.
        let response = app
            .post_json(
                "/v1/BalanceLine?EnsureBillable=true",
                &json!({"ReferenceCustomer": "free", "Amount": 100}),
            )
            .await;
        assert_eq!(response.status().as_u16(), 403);
    }

    /// Pages of invoices, newest first, with a `next` link.
    async fn invoices_are_paged(app: TestApp) {
        app.billed_customer("p1", "ExternalCheck").await;
        for n in 0..3 {
            let (status, _) = post(
                &app,
                "/v1/BalanceLine",
                json!({"ReferenceCustomer": "p1", "Amount": 1000 + n, "Label": format!("n{n}")}),
            )
            .await;
            assert_eq!(status, 201);
            let (status, _) =
                post(&app, "/v1/Billing/Customer", json!({"ReferenceCustomer": "p1"})).await;
            assert_eq!(status, 200);
        }
        let (status, page) = get(
            &app,
            "/v1/Invoices",
            "/v1/Invoices?ReferenceCustomer=p1&SizePage=2",
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(page["Count"], 2);
        assert_eq!(page["TotalItems"], 3);
        assert_eq!(page["Items"][0]["AmountSubtotal"], 1002);
        assert!(
            page["Links"][0]["href"]
                .as_str()
                .unwrap()
                .contains("Page=2")
        );
        let (status, page2) = get(
            &app,
            "/v1/Invoices",
            "/v1/Invoices?ReferenceCustomer=p1&SizePage=2&Page=2",
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(page2["Count"], 1);
        assert_eq!(page2["Items"][0]["AmountSubtotal"], 1000);
    }
}
