//! Shared set-up of the hosted pages' browser tests: an Abo on SQLite whose
//! demo segment lets a [`MerchantSite`] (another site) frame its pages, and
//! customers created through API Live.
#![allow(dead_code)]

use abo_testkit::browser::{Browser, MerchantSite};
use abo_testkit::{AppOptions, Backend, TestApp, spawn_app_with};
use serde_json::{Value, json};

/// Two plain monthly plans added to the demo segment for the workflow
/// tests: upgrading from one to the other mid-period is prorated, and their
/// `seats` limitation can be changed after subscribing.
pub const PLANS: &str = r#"
[[feature]]
reference = "seats"
name = "Seats"
type = "Limitation"

[[offer]]
segment = "demo-eur"
reference = "basic"
name = "Basic"
recurrence = "1 Month"
amount_recurrence = "10.00"

  [[offer.feature]]
  feature = "seats"
  included = 1
  pricing = { unit = "5.00" }
  updatable_after_subscription = true

[[offer]]
segment = "demo-eur"
reference = "premium"
name = "Premium"
recurrence = "1 Month"
amount_recurrence = "30.00"

  [[offer.feature]]
  feature = "seats"
  included = 3
  pricing = { unit = "4.00" }
  updatable_after_subscription = true

[[pricing_table]]
segment = "demo-eur"
reference = "plans"
name = "Plans"
offers = ["basic", "premium"]
"#;

/// The demo catalogue plus [`PLANS`], with the segment's integrated form
/// and portal URLs on `merchant`'s 'Subscription' page: its origin may frame
/// the hosted pages.
pub fn catalog_for(merchant: &MerchantSite) -> String {
    catalog_integrated_at(&format!("{}/subscription", merchant.origin()))
}

/// The demo catalogue plus [`PLANS`], integrated at the merchant page `page`.
pub fn catalog_integrated_at(page: &str) -> String {
    let demo = abo_service::demo::DEMO_CATALOG;
    let anchor = "reference = \"demo-eur\"\n";
    assert!(demo.contains(anchor), "the demo catalogue's segment moved");
    let mut catalog = demo.replacen(
        anchor,
        &format!("{anchor}url_integrated_form = \"{page}\"\nurl_integrated_portal = \"{page}\"\n"),
        1,
    );
    catalog.push_str(PLANS);
    catalog
}

/// Abo (SQLite) with the merchant's origin allowed to frame it, plus the site.
pub async fn abo_and_merchant() -> (TestApp, MerchantSite) {
    abo_and_merchant_with(AppOptions::default()).await
}

pub async fn abo_and_merchant_with(options: AppOptions) -> (TestApp, MerchantSite) {
    abo_testkit::browser::install_tls_provider();
    let merchant = MerchantSite::start().await;
    let app = spawn_app_with(Backend::Sqlite, options.catalog(catalog_for(&merchant))).await;
    (app, merchant)
}

/// `POST /v1/Customer`: a customer of the demo segment speaking `language`;
/// returns the API's answer (with its `Links`).
pub async fn customer(app: &TestApp, reference: &str, language: &str) -> Value {
    let response = app
        .post_json(
            "/v1/Customer",
            &json!({
                "ReferenceCustomer": reference,
                "ReferenceSegment": "demo-eur",
                "Name": format!("Customer {reference}"),
                "Email": format!("{reference}@example.com"),
                "Language": language,
            }),
        )
        .await;
    let status = response.status();
    let body: Value = response.json().await.expect("the customer as JSON");
    assert!(status.is_success(), "POST /v1/Customer: {status} {body}");
    body
}

/// The `href` of the link `rel` in an API answer's `Links`.
pub fn link(body: &Value, rel: &str) -> String {
    body["Links"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|l| l["rel"] == rel)
        .and_then(|l| l["href"].as_str())
        .unwrap_or_else(|| panic!("no `{rel}` link with an href in {body}"))
        .to_string()
}

/// The customer's `hosted-home` (the portal's landing link).
pub async fn portal_home(app: &TestApp, reference: &str, language: &str) -> String {
    link(&customer(app, reference, language).await, "hosted-home")
}

/// `POST path` with a JSON body through API Live; panics unless 2xx.
pub async fn api_post(app: &TestApp, path: &str, body: Value) -> Value {
    let response = app.post_json(path, &body).await;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert!(status.is_success(), "POST {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// `GET path` through API Live; panics unless 2xx.
pub async fn api_get(app: &TestApp, path: &str) -> Value {
    let response = app.get(path).await;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert!(status.is_success(), "GET {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// A customer paying by bank transfer (`ExternalBank`: no card needed) with a
/// running subscription to `offer`, started through API Live, and billed:
/// its first invoice is due. Returns the subscription.
pub async fn customer_with_subscription(
    app: &TestApp,
    reference: &str,
    language: &str,
    offer: &str,
) -> Value {
    customer(app, reference, language).await;
    api_post(
        app,
        &format!("/v1/CustomerSettingsPayment?ReferenceCustomer={reference}"),
        json!({ "TypePayment": "ExternalBank" }),
    )
    .await;
    let sub = api_post(
        app,
        "/v1/Subscription?TryStart=true",
        json!({ "ReferenceCustomer": reference, "ReferenceOffer": offer }),
    )
    .await;
    assert_eq!(sub["StateSubscription"], "ActiveRunning", "{sub}");
    bill_now(app, reference).await;
    sub
}

/// `POST /v1/Billing/Customer`: bills what the customer owes now and
/// returns the customer's latest invoice.
pub async fn bill_now(app: &TestApp, reference: &str) -> Value {
    let response = app
        .post_json(
            "/v1/Billing/Customer",
            &json!({ "ReferenceCustomer": reference }),
        )
        .await;
    assert!(
        response.status().is_success(),
        "billing {reference}: {}",
        response.status()
    );
    let list = api_get(app, &format!("/v1/Invoices?ReferenceCustomer={reference}")).await;
    list["Items"][0].clone()
}

/// A fresh `hosted-home` of an existing customer.
pub async fn fresh_home(app: &TestApp, reference: &str) -> String {
    link(
        &api_get(app, &format!("/v1/Customer?ReferenceCustomer={reference}")).await,
        "hosted-home",
    )
}

/// Opens `url` inside the merchant's iframe and waits for the portal in it.
pub async fn open_framed(browser: &Browser, merchant: &MerchantSite, url: &str) {
    browser.goto(&merchant.frame_url(url)).await;
    browser.enter_frame("#abo-frame").await;
    browser.wait_for("nav.sections").await;
}

/// The portal's navigation entry of `rel` (`home`, `invoices`, `billing`,
/// `payment-method`): clicks it and waits until that section is current.
pub async fn go_to_section(browser: &Browser, rel: &str) {
    browser
        .click(&format!("nav.sections a[href$='/{rel}']"))
        .await;
    browser
        .wait_for(&format!(
            "nav.sections a[aria-current='page'][href$='/{rel}']"
        ))
        .await;
}

/// From inside the merchant's iframe: waits until the merchant page has
/// sized the frame to the height the portal posted (`resize.js`), takes a
/// screenshot of the whole merchant page, and comes back into the frame.
pub async fn framed_screenshot(browser: &Browser, name: &str) {
    // The page may still grow (fonts, late layout) and post again: compare
    // the frame's height with the page's current one until they agree.
    let deadline = tokio::time::Instant::now() + abo_testkit::browser::WAIT;
    loop {
        let content = browser
            .execute(
                "return Math.ceil(document.documentElement.scrollHeight);",
                vec![],
            )
            .await;
        browser.leave_frame().await;
        let frame = browser
            .execute(
                "return Math.ceil(document.getElementById('abo-frame').getBoundingClientRect().height);",
                vec![],
            )
            .await;
        if frame == content {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            browser
                .fail(&format!(
                    "the merchant page did not size its iframe to the portal's height ({frame} px for {content} px)"
                ))
                .await;
        }
        browser.enter_frame("#abo-frame").await;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    browser.screenshot(name).await;
    browser.enter_frame("#abo-frame").await;
}
