//! Headless Chromium: the customer workflows, started from the portal inside
//! the merchant's cross-site iframe (third-party cookies blocked). Each one
//! shows a quote before the customer commits, and the amount billed is the
//! amount quoted.

mod browser_support;

use abo_testkit::TestApp;
use abo_testkit::browser::{Browser, Viewport};
use browser_support::*;
use serde_json::{Value, json};

/// The minor units the workflow page quotes as due now (`data-quote-due`).
async fn quoted_due(browser: &Browser) -> i64 {
    let due = browser.attr("[data-quote-due]", "data-quote-due").await;
    due.parse()
        .unwrap_or_else(|_| panic!("data-quote-due is {due:?}"))
}

/// Confirms a workflow and passes the sandbox 3-D Secure challenge when the
/// bank asks for one; returns the outcome of the confirmation page.
async fn confirm(browser: &Browser) -> String {
    browser.click("button[data-confirm]").await;
    if browser
        .wait_for_any(&["[data-outcome]", "[data-challenge]"])
        .await
        == 1
    {
        browser.screenshot("charge-challenge").await;
        approve_challenge(browser).await;
    }
    browser.attr("[data-outcome]", "data-outcome").await
}

async fn approve_challenge(browser: &Browser) {
    browser
        .click("[data-challenge] form:has(input[name='answer'][value='approve']) button")
        .await;
}

/// The customer's invoices, newest first, through API Live.
async fn invoices(app: &TestApp, reference: &str) -> Vec<Value> {
    let list = api_get(app, &format!("/v1/Invoices?ReferenceCustomer={reference}")).await;
    let mut items = list["Items"].as_array().cloned().unwrap_or_default();
    items.sort_by_key(|i| std::cmp::Reverse(i["Id"].as_i64().unwrap_or(0)));
    items
}

/// Subscribe from the portal's offer list with a sandbox card that needs
/// 3-D Secure: the quote, the card form, the bank's challenge, the charge,
/// all inside the iframe; the invoice is paid for exactly the quoted amount.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_subscribes_with_a_card_that_needs_3d_secure() {
    let (app, merchant) = abo_and_merchant().await;
    let home = portal_home(&app, "sub-1", "en").await;
    let browser = Browser::start("a_customer_subscribes_with_3d_secure", Viewport::Desktop).await;
    open_framed(&browser, &merchant, &home).await;
    browser.wait_for("[data-empty='subscriptions']").await;
    browser
        .click("[data-offer='basic'] a[href*='/wf/subscribe/']")
        .await;

    browser.wait_for("[data-workflow='subscribe']").await;
    let due = quoted_due(&browser).await;
    assert_eq!(due, 1200, "Basic is €10.00 a month plus 20 % VAT");
    framed_screenshot(&browser, "quote").await;
    browser
        .click(".pay-step a[href*='/payment-method/card']")
        .await;
    browser.fill("#number", "4200 4600 3700 3700").await;
    browser.fill("#expiry", "12/34").await;
    browser.fill("#cvc", "123").await;
    browser
        .click("form[action*='/payment-method/card'] button[type='submit']")
        .await;
    browser.wait_for("[data-challenge]").await;
    framed_screenshot(&browser, "challenge").await;
    approve_challenge(&browser).await;

    // Back on the workflow, the card registered; the quote has not moved.
    browser
        .wait_for("[data-workflow='subscribe'] .pay-step[data-method='Card']")
        .await;
    assert_eq!(quoted_due(&browser).await, due);
    let outcome = confirm(&browser).await;
    assert_eq!(outcome, "paid");
    framed_screenshot(&browser, "done").await;

    let sub = api_get(&app, "/v1/Subscription?ReferenceCustomer=sub-1").await;
    assert_eq!(sub["StateSubscription"], "ActiveRunning", "{sub}");
    assert_eq!(sub["ReferenceOffer"], "basic", "{sub}");
    let invoices = invoices(&app, "sub-1").await;
    assert_eq!(invoices.len(), 1, "{invoices:?}");
    assert_eq!(invoices[0]["AmountTotal"], due, "{}", invoices[0]);
    assert_eq!(invoices[0]["StateInvoice"], "Paid", "{}", invoices[0]);
    browser.close().await;
}

/// Change plan mid-period: the quote credits the unused part of Basic and
/// charges the rest of the period on Premium; that prorated amount is the
/// new invoice's total, shown in the portal's invoices.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_changes_plan_and_the_prorated_amount_is_invoiced() {
    let (app, merchant) = abo_and_merchant().await;
    let sub = customer_with_subscription(&app, "plan-1", "en", "basic").await;
    let id = sub["Id"].as_i64().expect("subscription id");
    api_post(&app, "/v1/Abo/TestClock/Advance", json!({ "Days": 10 })).await;
    let home = fresh_home(&app, "plan-1").await;
    let browser = Browser::start("a_customer_changes_plan", Viewport::Desktop).await;
    open_framed(&browser, &merchant, &home).await;

    browser
        .click(&format!(
            "[data-subscription='{id}'] a[href*='/wf/change-plan/{id}']"
        ))
        .await;
    browser.wait_for("[data-workflow='change-plan']").await;
    if !browser.exists("[data-offer='premium']").await {
        browser.click("[data-table='plans']").await;
    }
    browser.click("[data-offer='premium'] a").await;
    browser
        .wait_for("[data-workflow='change-plan'] [data-quote-due]")
        .await;
    framed_screenshot(&browser, "quote").await;
    let due = quoted_due(&browser).await;
    assert!(
        browser.exists(".quote tr.credit").await,
        "no prorated credit for the unused part of Basic"
    );
    // A full month of Premium is €36.00 with VAT; the rest of a month less
    // the unused Basic is strictly between nothing and that.
    assert!(due > 0 && due < 3600, "not prorated: {due}");

    let outcome = confirm(&browser).await;
    assert!(
        ["due", "pending", "paid"].contains(&outcome.as_str()),
        "{outcome}"
    );
    let after = api_get(&app, "/v1/Subscription?ReferenceCustomer=plan-1").await;
    assert_eq!(after["ReferenceOffer"], "premium", "{after}");

    let invoices = invoices(&app, "plan-1").await;
    assert_eq!(invoices.len(), 2, "{invoices:?}");
    let newest = &invoices[0];
    assert_eq!(
        newest["AmountTotal"], due,
        "the invoice is not the quote: {newest}"
    );

    // The same amount, as the customer sees it in the invoices section.
    go_to_section(&browser, "invoices").await;
    let number = newest["FullNumber"].as_str().expect("invoice number");
    let row = browser.text(&format!("[data-invoice='{number}']")).await;
    let shown = format!("€{}.{:02}", due / 100, due % 100);
    assert!(row.contains(&shown), "{row:?} lacks {shown}");
    framed_screenshot(&browser, "invoices").await;
    browser.close().await;
}

/// Change options: the `seats` limitation goes from 1 to 4; the page shows
/// the quote first, and the subscription then has 4 seats.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_changes_a_limitation_quantity() {
    let (app, merchant) = abo_and_merchant().await;
    let sub = customer_with_subscription(&app, "seats-1", "fr", "basic").await;
    let id = sub["Id"].as_i64().expect("subscription id");
    let home = fresh_home(&app, "seats-1").await;
    let browser = Browser::start("a_customer_changes_a_limitation_quantity", Viewport::Phone).await;
    open_framed(&browser, &merchant, &home).await;

    browser
        .click(&format!(
            "[data-subscription='{id}'] a[href*='/wf/options/{id}']"
        ))
        .await;
    browser.wait_for("[data-workflow='options']").await;
    browser.fill("input[data-feature='seats']", "4").await;
    browser.click("button[data-preview]").await;
    browser
        .wait_for("[data-workflow='options'] [data-quote-due]")
        .await;
    let due = quoted_due(&browser).await;
    framed_screenshot(&browser, "quote").await;
    let before = invoices(&app, "seats-1").await.len();
    confirm(&browser).await;

    let usage = api_get(
        &app,
        "/v1/Usage?ReferenceCustomer=seats-1&ReferenceFeature=seats",
    )
    .await;
    assert_eq!(usage["QuantityCurrent"], 4, "{usage}");
    // Whatever was quoted as due now is what got billed now.
    let after = invoices(&app, "seats-1").await;
    if due == 0 {
        assert_eq!(
            after.len(),
            before,
            "billed although nothing was quoted: {after:?}"
        );
    } else {
        assert_eq!(after.len(), before + 1, "{after:?}");
        assert_eq!(after[0]["AmountTotal"], due, "{}", after[0]);
    }
    browser.close().await;
}
