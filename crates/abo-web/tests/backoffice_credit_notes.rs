//! Credit notes over HTTP, on both backends: `POST /Billing/Invoices/{id}/Cancel`
//! and `.../Refund` (Abo's back-office additions) answer the credit note in
//! the contract's `Invoice` shape; `GET /v1/Invoice/{id}` and `GET
//! /v1/Invoices` show it with `TypeCredit` and `Reason` (checked against the
//! contract); its PDF says what it credits (read by pdftotext); errors are
//! `{Code, Message}`.

use abo_gateway::{CardDetails, PaymentDetails};
use abo_service::billing::permissions::register_permission;
use abo_service::billing::{CollectOutcome, Gateways, collect_invoice};
use abo_testkit::{TestApp, both_backends};
use serde_json::{Value, json};

/// Bills 19000 (22800 with VAT) to `reference` through the API; the invoice.
async fn bill(app: &TestApp, reference: &str) -> Value {
    let (status, _) = app
        .checked(
            "POST",
            "/v1/BalanceLine",
            app.request("POST", "/v1/BalanceLine").json(
                &json!({"ReferenceCustomer": reference, "Label": "Pro plan", "Amount": 19000}),
            ),
        )
        .await;
    assert_eq!(status, 201);
    let (status, invoice) = app
        .checked(
            "POST",
            "/v1/Billing/Customer",
            app.request("POST", "/v1/Billing/Customer")
                .json(&json!({"ReferenceCustomer": reference})),
        )
        .await;
    assert_eq!(status, 200);
    invoice.unwrap()
}

/// POSTs to a back-office path; the status and the JSON body.
async fn back_office(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let response = app.request("POST", path).json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A created credit note is the contract's `Invoice`; an error its `Error`
/// (or, for 422, a list of them).
fn check_answer(app: &TestApp, status: u16, body: &Value) {
    let (schema, items): (&str, Vec<&Value>) = match status {
        201 => ("Invoice", vec![body]),
        422 => (
            "Error",
            body.as_array().expect("422 is a list").iter().collect(),
        ),
        _ => ("Error", vec![body]),
    };
    for item in items {
        if let Err(errors) = app.contract().validate_schema(schema, item) {
            panic!("{status} {item} is not a contract {schema}: {errors:?}");
        }
    }
}

async fn get_invoice(app: &TestApp, id: &Value) -> Value {
    let (status, body) = app
        .checked(
            "GET",
            "/v1/Invoice/{id}",
            app.request("GET", &format!("/v1/Invoice/{id}")),
        )
        .await;
    assert_eq!(status, 200);
    body.unwrap()
}

/// The text of the PDF behind the document's `insite-related-invoice` link.
async fn pdf_text(app: &TestApp, document: &Value) -> String {
    let href = document["Links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "insite-related-invoice")
        .expect("a PDF link")["href"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = app.client.get(&href).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("credit-note.pdf");
    std::fs::write(&path, &bytes).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

both_backends! {
    /// An unpaid invoice cancelled: a voiding credit note for 22800, the
    /// invoice Void, both listed, the note's PDF, and the refusals.
    async fn cancel_an_unpaid_invoice(app: TestApp) {
        let (_, segment_id) = app.billed_customer("c1", "ExternalBank").await;
        let invoice = bill(&app, "c1").await;
        assert_eq!(invoice["StateInvoice"], "DueOffline");
        let id = invoice["Id"].clone();

        let (status, note) = back_office(
            &app,
            &format!("/Billing/Invoices/{id}/Cancel"),
            json!({"Reason": "Ordered twice"}),
        )
        .await;
        assert_eq!(status, 201, "{note}");
        check_answer(&app, status, &note);
        let number = format!("C-{segment_id}.00000001");
        assert_eq!(note["FullNumber"], number.as_str());
        assert_eq!(note["TypeCredit"], "Voiding");
        assert_eq!(note["Reason"], "Ordered twice");
        assert_eq!(note["AmountSubtotal"], 19000);
        assert_eq!(note["AmountTotal"], 22800);
        assert_eq!(note["StateInvoice"], "Paid");
        assert_eq!(note["ReferenceCustomer"], "c1");

        let void = get_invoice(&app, &id).await;
        assert_eq!((&void["StateInvoice"], &void["Status"]), (&json!("Void"), &json!("Void")));
        assert!(void.get("TypeCredit").is_none());
        let read = get_invoice(&app, &note["Id"]).await;
        assert_eq!((&read["TypeCredit"], &read["Reason"]), (&json!("Voiding"), &json!("Ordered twice")));

        let (status, list) = app
            .checked(
                "GET",
                "/v1/Invoices",
                app.request("GET", "/v1/Invoices?ReferenceCustomer=c1"),
            )
            .await;
        assert_eq!(status, 200);
        let items = list.unwrap()["Items"].as_array().unwrap().clone();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["TypeCredit"], "Voiding", "newest first");
        assert!(items[1].get("TypeCredit").is_none());

        let text = pdf_text(&app, &read).await;
        let invoice_number = invoice["FullNumber"].as_str().unwrap();
        for expected in ["CREDIT NOTE FOR INVOICE", number.as_str(), invoice_number, "Reason: Ordered twice", "228.00", "Nothing to pay: the credited invoice is cancelled"] {
            assert!(text.contains(expected), "the PDF lacks {expected:?}:\n{text}");
        }

        // Cancelling again, or the note itself: 409 {Code, Message}.
        for target in [&id, &note["Id"]] {
            let (status, error) =
                back_office(&app, &format!("/Billing/Invoices/{target}/Cancel"), json!({})).await;
            assert_eq!(status, 409, "{error}");
            check_answer(&app, status, &error);
            assert_eq!(error["Code"], "Error.Api.Conflict");
        }
        let (status, error) =
            back_office(&app, "/billing/invoices/999999/cancel", json!({})).await;
        assert_eq!(status, 404, "{error}");
        check_answer(&app, status, &error);
        let response = app
            .unauthenticated()
            .request("POST", &format!("/Billing/Invoices/{id}/Cancel"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401);
    }

    /// A card payment refunded in two parts through the sandbox: too much is
    /// a 422, then 10000, then the rest; the invoice ends PaidRefunded.
    async fn refund_a_card_payment(app: TestApp) {
        let (customer_id, segment_id) = app.billed_customer("card", "Free").await;
        // The sandbox's state is in the database: the card registered and
        // charged here is the one the server refunds.
        let gateways = Gateways::persistent(app.store.clone());
        let now = app.now_us();
        register_permission(
            &app.store,
            &gateways,
            app.business_id,
            customer_id,
            &PaymentDetails::Card(CardDetails {
                number: "4242 4242 4242 4242".into(),
                expiry: "12/40".into(),
                cvc: "123".into(),
                country: None,
            }),
            now,
        )
        .await
        .unwrap();
        let invoice = bill(&app, "card").await;
        let id = invoice["Id"].clone();
        let outcome =
            collect_invoice(&app.store, &gateways, app.business_id, id.as_i64().unwrap(), 1, now)
                .await
                .unwrap();
        assert_eq!(outcome, CollectOutcome::Paid);

        let path = format!("/Billing/Invoices/{id}/Refund");
        let (status, errors) = back_office(&app, &path, json!({"Amount": 22801})).await;
        assert_eq!(status, 422, "{errors}");
        check_answer(&app, status, &errors);
        assert_eq!(errors[0]["Code"], "Error.Api.Validation.Amount");

        let (status, first) =
            back_office(&app, &path, json!({"Amount": "10000", "Reason": "Goodwill"})).await;
        assert_eq!(status, 201, "{first}");
        check_answer(&app, status, &first);
        assert_eq!(first["TypeCredit"], "Refund");
        assert_eq!(first["Reason"], "Goodwill");
        assert_eq!(first["TypePayment"], "Card");
        assert_eq!((&first["AmountSubtotal"], &first["AmountTotal"]), (&json!(8333), &json!(10000)));
        assert_eq!(first["FullNumber"], format!("C-{segment_id}.00000001").as_str());
        assert_eq!(get_invoice(&app, &id).await["StateInvoice"], "Paid");

        let (status, rest) = back_office(&app, &path, json!({})).await;
        assert_eq!(status, 201, "{rest}");
        assert_eq!((&rest["AmountSubtotal"], &rest["AmountTotal"]), (&json!(10667), &json!(12800)));
        let refunded = get_invoice(&app, &id).await;
        assert_eq!((&refunded["StateInvoice"], &refunded["Status"]), (&json!("PaidRefunded"), &json!("Paid")));

        let text = pdf_text(&app, &get_invoice(&app, &first["Id"]).await).await;
        for expected in ["CREDIT NOTE FOR INVOICE", "Reason: Goodwill", "100.00", "Refund date", invoice["FullNumber"].as_str().unwrap()] {
            assert!(text.contains(expected), "the PDF lacks {expected:?}:\n{text}");
        }

        let (status, error) = back_office(&app, &path, json!({})).await;
        assert_eq!(status, 422, "nothing remains: {error}");
        check_answer(&app, status, &error);
    }
}

/// The OpenAPI document served documents the two additions.
#[tokio::test]
async fn openapi_documents_the_back_office_additions() {
    let app = abo_testkit::spawn_app(abo_store::Backend::Sqlite).await;
    let doc: Value = app.get("/v1/openapi.json").await.json().await.unwrap();
    for path in [
        "/Billing/Invoices/{IdInvoice}/Cancel",
        "/Billing/Invoices/{IdInvoice}/Refund",
    ] {
        let op = &doc["paths"][path]["post"];
        assert_eq!(op["tags"][0], "Abo", "{path}");
        assert_eq!(
            op["responses"]["201"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Invoice"
        );
    }
    app.cleanup().await;
}
