//! The customer workflows over HTTP with the real server, on both backends: pay an invoice,
//! change options (a Limitation quantity), register billing information and a SEPA mandate,
//! restart, and a custom subscription prepared by the merchant.

mod workflow_support;

use abo_links::Purpose;
use abo_testkit::{TestApp, both_backends};
use serde_json::{Value, json};
use workflow_support::*;

/// A started Basic subscription of a customer paying by card 4242; returns (customer id,
/// session base, subscription id).
async fn card_customer_with_basic(app: &TestApp, reference: &str) -> (i64, String, i64) {
    let id = customer(app, reference, "en").await;
    let home = land(app, &link(app, id, Purpose::Home, None).await).await;
    let base = session_base(&home);
    register_card(app, &base, "4242 4242 4242 4242", "wf/plans").await;
    let r = app
        .post_json(
            "/v1/Subscription?TryStart=true",
            &json!({"ReferenceCustomer": reference, "ReferenceOffer": "basic"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let sub = r.json::<Value>().await.unwrap()["Id"].as_i64().unwrap();
    (id, base, sub)
}

both_backends! {
    /// An invoice left to collect is paid from its Charge link: the page shows its amount,
    /// confirming charges the card now. An offline invoice only says how to pay it.
    #[options(march_25())]
    async fn pay_an_invoice(app: TestApp) {
        let (id, _, _) = card_customer_with_basic(&app, "p1").await;
        let r = app.post_json("/v1/Billing/Customer", &json!({"ReferenceCustomer": "p1"})).await;
        let invoice: Value = r.json().await.unwrap();
        assert_eq!(invoice["StateInvoice"], "DueAuto");
        let invoice_id = invoice["Id"].as_i64().unwrap();

        let url = land(&app, &link(&app, id, Purpose::Charge, Some(invoice_id)).await).await;
        let (status, html) = page(&app, &url).await;
        assert_eq!(status, 200, "{html}");
        assert_eq!(attr(&html, "data-quote-due").as_deref(), Some("12000"));
        assert!(html.contains(invoice["FullNumber"].as_str().unwrap()), "{html}");
        let r = confirm(&app, &html).await;
        assert_eq!(r.status(), 303);
        assert!(r.headers()["location"].to_str().unwrap().contains("from=invoice&outcome=paid"));
        let paid: Value = app.get(&format!("/v1/Invoice/{invoice_id}")).await.json().await.unwrap();
        assert_eq!(paid["StateInvoice"], "Paid");
        // Paid: nothing left to pay, no button.
        let (_, html) = page(&app, &url).await;
        assert!(html.contains("data-refused") && !html.contains("data-confirm"), "{html}");

        // Offline.
        let off = customer(&app, "p2", "en").await;
        app.post_json("/v1/CustomerSettingsPayment?ReferenceCustomer=p2", &json!({"TypePayment": "ExternalBank"})).await;
        app.post_json("/v1/BalanceLine", &json!({"ReferenceCustomer": "p2", "Amount": 5000})).await;
        let inv: Value = app.post_json("/v1/Billing/Customer", &json!({"ReferenceCustomer": "p2"})).await.json().await.unwrap();
        let url = land(&app, &link(&app, off, Purpose::Charge, inv["Id"].as_i64()).await).await;
        let (_, html) = page(&app, &url).await;
        assert_eq!(attr(&html, "data-quote-due").as_deref(), Some("6000"));
        assert!(html.contains("payable by bank transfer") && !html.contains("data-confirm"), "{html}");
        // Another customer's invoice is not found from this session.
        let (status, _) = page(&app, &format!("{}/wf/pay/{invoice_id}", session_base(&url))).await;
        assert_eq!(status, 404);
    }

    /// Change options: the form shows the Limitation quantity; "See the price" quotes the new
    /// quantity (what is due now, the next renewal with the extras); confirming applies it
    /// and charges exactly what the quote said.
    #[options(march_25())]
    async fn change_a_limitation_quantity(app: TestApp) {
        let (id, _, sub) = card_customer_with_basic(&app, "o1").await;
        app.post_json("/v1/Billing/Customer", &json!({"ReferenceCustomer": "o1"})).await;
        let before = invoices(&app, "o1").await.len();
        let url = land(&app, &link(&app, id, Purpose::Options, Some(sub)).await).await;
        assert!(url.ends_with(&format!("/wf/options/{sub}")));
        let (status, html) = page(&app, &url).await;
        assert_eq!(status, 200, "{html}");
        assert!(html.contains(r#"name="q.seats" value="0""#), "{html}");
        assert!(!html.contains("data-quote-due"));

        let base = session_base(&url);
        let (_, html) = page(&app, &format!("{base}/wf/options/{sub}?submitted=1&q.seats=4")).await;
        let due: i64 = attr(&html, "data-quote-due").expect("a quote").parse().unwrap();
        // Next renewal: €100 + 2 extra seats × €15, + 20 % VAT.
        assert!(html.contains("€156.00"), "{html}");
        let r = confirm(&app, &html).await;
        assert_eq!(r.status(), 303);
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        let usage: Value = app.get("/v1/Usage?ReferenceFeature=seats&ReferenceCustomer=o1").await.json().await.unwrap();
        assert_eq!(usage["QuantityCurrent"], 4);
        let all = invoices(&app, "o1").await;
        if due == 0 {
            assert!(location.contains("from=options&outcome=nocharge"), "{location}");
            assert_eq!(all.len(), before);
        } else {
            assert!(location.contains("from=options&outcome=paid"), "{location}");
            assert_eq!(all[0]["AmountTotal"], due);
        }
    }

    /// Register billing information then a SEPA mandate (test IBAN, mandate accepted); the
    /// workflow ends on the return URL with outcome=registered.
    #[options(march_25())]
    async fn register_billing_information_and_a_sepa_mandate(app: TestApp) {
        let id = customer(&app, "r1", "en").await;
        let mut conn = app.store.acquire().await.unwrap();
        let segment = abo_store::segments::get_default(&mut conn, app.business_id).await.unwrap();
        drop(conn);
        abo_service::workflows::set_return_url(&app.store, app.business_id, segment.id,
            Some("https://merchant.example/done"), app.now_us()).await.unwrap();
        let url = land(&app, &link(&app, id, Purpose::Register, None).await).await;
        assert!(url.ends_with("/wf/register"), "{url}");
        let base = session_base(&url);
        let (_, html) = page(&app, &url).await;
        let token = csrf(&html);
        // A bad VAT number is explained.
        let r = post_form(&app, &format!("{base}/wf/register"), &pairs(&[("csrf", &token),
            ("kind", "company"), ("company", "ACME"), ("country", "FR"), ("vat", "nonsense")])).await;
        assert_eq!(r.status(), 422);
        let r = post_form(&app, &format!("{base}/wf/register"), &pairs(&[("csrf", &token),
            ("kind", "company"), ("company", "ACME"), ("address1", "1 rue de la Paix"), ("zip", "75002"),
            ("city", "Paris"), ("country", "FR"), ("email", "billing@acme.example")])).await;
        assert_eq!(r.status(), 303);
        let method = app.url(r.headers()["location"].to_str().unwrap());
        assert!(method.contains("/wf/register/method"), "{method}");
        let (_, html) = page(&app, &method).await;
        assert!(html.contains("payment-method/sepa?next=wf/register/done"), "{html}");
        let r = post_form(&app, &format!("{base}/payment-method/sepa"), &pairs(&[("csrf", &token),
            ("iban", "FR76 3000 6000 0112 3456 7890 189"), ("holder", "ACME"), ("accept", "on"),
            ("next", "wf/register/done")])).await;
        assert_eq!(r.status(), 303);
        let done = app.url(r.headers()["location"].to_str().unwrap());
        assert!(done.ends_with("/wf/register/done"), "{done}");
        let r = app.client.get(&done).send().await.unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"].to_str().unwrap(),
            format!("https://merchant.example/done?from=permission&outcome=registered&idc={id}"));
        let s: Value = app.get("/v1/CustomerSettingsPayment?ReferenceCustomer=r1").await.json().await.unwrap();
        assert_eq!(s["TypePayment"], "DirectDebit");
        let a: Value = app.get("/v1/CustomerAddressBilling?ReferenceCustomer=r1").await.json().await.unwrap();
        assert_eq!(a["Company"], "ACME");
    }

    /// A custom subscription prepared by the merchant (a draft with an overridden price) is
    /// started from its link; by SEPA the outcome is pending (debited after the notice).
    #[options(march_25())]
    async fn custom_subscription_paid_by_sepa(app: TestApp) {
        let id = customer(&app, "s1", "en").await;
        let home = land(&app, &link(&app, id, Purpose::Home, None).await).await;
        let base = session_base(&home);
        let (_, form) = page(&app, &format!("{base}/payment-method/sepa")).await;
        let r = post_form(&app, &format!("{base}/payment-method/sepa"), &pairs(&[("csrf", &csrf(&form)),
            ("iban", "FR76 3000 6000 0112 3456 7890 189"), ("holder", "Jane"), ("accept", "on")])).await;
        assert_eq!(r.status(), 303);
        let r = app.post_json("/v1/Subscription", &json!({"ReferenceCustomer": "s1",
            "ReferenceOffer": "premium", "AmountRecurrence": 15000, "TitleLocalized": "Premium for ACME"})).await;
        let sub = r.json::<Value>().await.unwrap()["Id"].as_i64().unwrap();
        let url = land(&app, &link(&app, id, Purpose::SubscribeCustom, Some(sub)).await).await;
        let (status, html) = page(&app, &url).await;
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("Premium for ACME"));
        assert_eq!(attr(&html, "data-quote-due").as_deref(), Some("18000"));
        assert_eq!(attr(&html, "data-method").as_deref(), Some("DirectDebit"));
        let r = confirm(&app, &html).await;
        assert!(r.headers()["location"].to_str().unwrap().contains("from=subscribe&outcome=pending"));
        let all = invoices(&app, "s1").await;
        assert_eq!(all[0]["AmountTotal"], 18000);
        assert_eq!(all[0]["StateInvoice"], "DueAuto");
        // Started: the link now says so.
        let (_, html) = page(&app, &url).await;
        assert!(html.contains("data-refused"), "{html}");
    }

    /// Restart a suspended subscription whose period ended meanwhile: the quote is the new
    /// period, confirming charges the card that amount.
    #[options(march_25())]
    async fn restart_a_suspended_subscription(app: TestApp) {
        let (id, _, sub) = card_customer_with_basic(&app, "x1").await;
        app.post_json("/v1/Billing/Customer", &json!({"ReferenceCustomer": "x1"})).await;
        // Suspended since its period ended on Mar 10 (seeded: the engine would do this at
        // renewal without a payment method).
        let at = |d: jiff::civil::Date| d.at(0, 0, 0, 0)
            .to_zoned(jiff::tz::TimeZone::get("Europe/Paris").unwrap()).unwrap()
            .timestamp().as_microsecond();
        let mut conn = app.store.acquire().await.unwrap();
        abo_store::subscriptions::update(&mut conn, app.business_id, sub, &abo_store::subscriptions::SubscriptionPatch {
            state: Some("SuspendedNoPaymentInfo".into()),
            date_period_start_us: Some(Some(at(jiff::civil::date(2026, 2, 25)))),
            date_period_end_us: Some(Some(at(jiff::civil::date(2026, 3, 25)))),
            date_term_us: Some(Some(at(jiff::civil::date(2026, 3, 25)))),
            billing_anchor: Some(Some("2026-01-25".into())),
            ..Default::default()
        }, app.now_us()).await.unwrap();
        drop(conn);
        let before = invoices(&app, "x1").await.len();
        let url = land(&app, &link(&app, id, Purpose::Restart, Some(sub)).await).await;
        let (status, html) = page(&app, &url).await;
        assert_eq!(status, 200, "{html}");
        assert_eq!(attr(&html, "data-quote-due").as_deref(), Some("12000"), "{html}");
        assert!(html.contains("25 March 2026 to 25 April 2026"), "{html}");
        let r = confirm(&app, &html).await;
        assert!(r.headers()["location"].to_str().unwrap().contains("from=restart&outcome=paid"));
        let all = invoices(&app, "x1").await;
        assert_eq!(all.len(), before + 1);
        assert_eq!(all[0]["AmountTotal"], 12000);
        let s: Value = app.get(&format!("/v1/Subscription/{sub}")).await.json().await.unwrap();
        assert_eq!(s["StateSubscription"], "ActiveRunning");
        // Running: nothing to restart.
        let (_, html) = page(&app, &url).await;
        assert!(html.contains("data-refused"), "{html}");
    }
}
