//! Headless Chromium: the Customer Portal's sections, used by a customer
//! inside the merchant's cross-site iframe (third-party cookies blocked).

mod browser_support;

use abo_testkit::browser::{Browser, Viewport};
use browser_support::*;
use serde_json::{Value, json};

/// Payment method section: a SEPA mandate registered through the sandbox
/// form (IBAN, holder, mandate acceptance) is then shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_registers_a_sepa_mandate() {
    let (app, merchant) = abo_and_merchant().await;
    let home = portal_home(&app, "sepa-1", "en").await;
    let browser = Browser::start("a_customer_registers_a_sepa_mandate", Viewport::Desktop).await;
    open_framed(&browser, &merchant, &home).await;
    go_to_section(&browser, "payment-method").await;
    browser.wait_for("[data-method='none']").await;
    browser.click("a[href$='/payment-method/sepa']").await;
    browser
        .fill("#iban", "FR76 3000 6000 0112 3456 7890 189")
        .await;
    browser.fill("#holder", "Marie Curie").await;
    browser.click("input[name='accept']").await;
    browser.screenshot("sepa-form").await;
    browser
        .click("form[action$='/payment-method/sepa'] button[type='submit']")
        .await;
    let shown = browser.wait_for("[data-method='DirectDebit']").await;
    let text = shown.text().await.unwrap_or_default();
    assert!(
        text.contains("0189") || text.contains("189"),
        "mandate shown as {text:?}"
    );
    browser.screenshot("sepa-registered").await;

    let settings = api_get(&app, "/v1/CustomerSettingsPayment?ReferenceCustomer=sepa-1").await;
    assert_eq!(settings["TypePayment"], "DirectDebit", "{settings}");
    browser.close().await;
}

/// Payment method section: a card that needs 3-D Secure goes through the
/// sandbox challenge page, inside the iframe, and is then shown masked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_registers_a_card_through_3d_secure() {
    let (app, merchant) = abo_and_merchant().await;
    let home = portal_home(&app, "card-1", "en").await;
    let browser = Browser::start(
        "a_customer_registers_a_card_through_3d_secure",
        Viewport::Desktop,
    )
    .await;
    open_framed(&browser, &merchant, &home).await;
    go_to_section(&browser, "payment-method").await;
    browser.click("a[href$='/payment-method/card']").await;
    fill_card(&browser, "4200 4600 3700 3700").await;
    browser.wait_for("[data-challenge]").await;
    browser.screenshot("challenge").await;
    browser
        .click("[data-challenge] form:has(input[name='answer'][value='approve']) button")
        .await;
    let shown = browser.wait_for("[data-method='Card']").await;
    let text = shown.text().await.unwrap_or_default();
    assert!(text.contains("3700"), "card shown as {text:?}");
    assert!(
        !text.contains("4200 4600"),
        "the card number is not masked: {text:?}"
    );

    let settings = api_get(&app, "/v1/CustomerSettingsPayment?ReferenceCustomer=card-1").await;
    assert_eq!(settings["TypePayment"], "Card", "{settings}");
    browser.close().await;
}

/// Types a sandbox card into the portal's card form and submits it.
async fn fill_card(browser: &Browser, number: &str) {
    browser.fill("#number", number).await;
    browser.fill("#expiry", "12/34").await;
    browser.fill("#cvc", "123").await;
    browser
        .click("form[action*='/payment-method/card'] button[type='submit']")
        .await;
}

/// Subscriptions section: terminate at term (the scheduled termination is
/// shown), then cancel the termination (the subscription runs on).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_terminates_at_term_then_cancels_the_termination() {
    let (app, merchant) = abo_and_merchant().await;
    let sub = customer_with_subscription(&app, "term-1", "en", "pro-yearly").await;
    let id = sub["Id"].as_i64().expect("subscription id");
    let home = fresh_home(&app, "term-1").await;
    let browser = Browser::start("a_customer_terminates_at_term", Viewport::Desktop).await;
    open_framed(&browser, &merchant, &home).await;

    let card = format!("[data-subscription='{id}']");
    browser.wait_for(&card).await;
    assert!(!browser.exists(&format!("{card} [data-scheduled]")).await);
    browser
        .click(&format!("{card} a[href$='/subscriptions/{id}/terminate']"))
        .await;
    browser
        .click("form:has(input[name='mode'][value='at-term']) button[type='submit']")
        .await;
    browser.wait_for(&format!("{card} [data-scheduled]")).await;
    browser.screenshot("termination-scheduled").await;
    let scheduled = api_get(&app, &format!("/v1/Subscription/{id}")).await;
    assert_eq!(
        scheduled["StateSubscription"], "ActiveDelayedTermination",
        "{scheduled}"
    );

    browser
        .click(&format!(
            "{card} form[action$='/subscriptions/{id}/cancel-termination'] button"
        ))
        .await;
    browser.wait_gone(&format!("{card} [data-scheduled]")).await;
    browser.wait_for(&card).await;
    let running = api_get(&app, &format!("/v1/Subscription/{id}")).await;
    assert_eq!(running["StateSubscription"], "ActiveRunning", "{running}");
    browser.close().await;
}

/// Invoices section: the invoice is listed and its download link gives a
/// real PDF of that invoice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_downloads_an_invoice_pdf() {
    let (app, merchant) = abo_and_merchant().await;
    customer_with_subscription(&app, "pdf-1", "en", "pro-yearly").await;
    let invoices = api_get(&app, "/v1/Invoices?ReferenceCustomer=pdf-1").await;
    let number = invoices["Items"][0]["FullNumber"]
        .as_str()
        .unwrap_or_else(|| panic!("no invoice in {invoices}"))
        .to_string();
    let home = fresh_home(&app, "pdf-1").await;
    let browser = Browser::start("a_customer_downloads_an_invoice_pdf", Viewport::Desktop).await;
    open_framed(&browser, &merchant, &home).await;
    go_to_section(&browser, "invoices").await;
    let row = format!("[data-invoice='{number}']");
    browser.wait_for(&row).await;
    let link = browser.wait_for(&format!("{row} a[href*='/pdf']")).await;
    let href = link
        .prop("href")
        .await
        .ok()
        .flatten()
        .expect("the download link's absolute URL");

    // From inside the frame, as the browser would download it.
    let fetched = browser
        .client()
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             fetch(arguments[0]).then(async r => {\
               const b = new Uint8Array(await r.arrayBuffer());\
               done([r.status, r.headers.get('content-type'), String.fromCharCode(...b.slice(0, 5))]);\
             }).catch(e => done(['error', String(e), '']));",
            vec![Value::from(href.clone())],
        )
        .await
        .expect("fetch the PDF from the frame");
    assert_eq!(fetched[0], 200, "{fetched}");
    assert!(
        fetched[1]
            .as_str()
            .unwrap_or_default()
            .starts_with("application/pdf"),
        "{fetched}"
    );
    assert_eq!(fetched[2], "%PDF-", "{fetched}");

    // And its content: the invoice's number, read by pdftotext.
    let pdf = app
        .client
        .get(&href)
        .send()
        .await
        .expect("GET the PDF")
        .bytes()
        .await
        .expect("the PDF bytes");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("invoice.pdf");
    std::fs::write(&file, &pdf).expect("write the PDF");
    let text = std::process::Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) runs");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(&number),
        "the PDF does not show {number}:\n{text}"
    );
    browser.close().await;
}

/// An expired link and a revoked link open a clear page inside the iframe
/// (the merchant may frame it), not the portal and not a stack trace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_and_revoked_links_show_a_clear_page() {
    let (app, merchant) = abo_and_merchant().await;
    let browser = Browser::start(
        "expired_and_revoked_links_show_a_clear_page",
        Viewport::Desktop,
    )
    .await;

    // Revoked: the merchant revokes the customer's links.
    let revoked = portal_home(&app, "links-1", "en").await;
    api_post(
        &app,
        "/v1/Customer/LinksRevokation?ReferenceCustomer=links-1",
        json!({}),
    )
    .await;
    browser.goto(&merchant.frame_url(&revoked)).await;
    browser.enter_frame("#abo-frame").await;
    browser.wait_for("[data-error='revoked']").await;
    assert_clear_error_page(&browser).await;
    browser.screenshot("revoked").await;

    // Expired: a day later on the business's clock (links live 4 hours).
    let expired = fresh_home(&app, "links-1").await;
    api_post(&app, "/v1/Abo/TestClock/Advance", json!({ "Days": 1 })).await;
    browser.goto(&merchant.frame_url(&expired)).await;
    browser.enter_frame("#abo-frame").await;
    browser.wait_for("[data-error='expired']").await;
    assert_clear_error_page(&browser).await;
    browser.screenshot("expired").await;

    // Control: a fresh link still opens the portal.
    let fresh = fresh_home(&app, "links-1").await;
    open_framed(&browser, &merchant, &fresh).await;
    browser.close().await;
}

/// An error page: a heading and an explanation, no portal, no internals.
async fn assert_clear_error_page(browser: &Browser) {
    assert!(!browser.exists("nav.sections").await, "the portal shows");
    let heading = browser.text("h1").await;
    assert!(!heading.trim().is_empty(), "no heading");
    let text = browser.body_text().await;
    for leak in ["panicked", "stack backtrace", "Error {", "sqlx", "src/"] {
        assert!(!text.contains(leak), "the page shows {leak:?}:\n{text}");
    }
    assert!(text.len() > heading.len() + 10, "no explanation:\n{text}");
}

/// Screenshots of every portal section, framed, at desktop and phone
/// widths, in English and French (under target/screenshots/).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screenshots_of_every_section_in_english_and_french() {
    let (app, merchant) = abo_and_merchant().await;
    for language in ["en", "fr"] {
        let reference = format!("shots-{language}");
        customer_with_subscription(&app, &reference, language, "pro-yearly").await;
        api_post(
            &app,
            &format!("/v1/CustomerBillingAddress?ReferenceCustomer={reference}"),
            json!({
                "FirstName": "Ada", "LastName": "Lovelace", "AddressLine1": "12 rue de la Paix",
                "City": "Paris", "ZipCode": "75002", "Country": "FR"
            }),
        )
        .await;
    }
    let browser = Browser::start("screenshots_of_every_section", Viewport::Desktop).await;
    for language in ["en", "fr"] {
        for viewport in [Viewport::Desktop, Viewport::Phone] {
            browser.set_viewport(viewport).await;
            let home = fresh_home(&app, &format!("shots-{language}")).await;
            open_framed(&browser, &merchant, &home).await;
            let lang = browser
                .execute("return document.documentElement.lang;", vec![])
                .await;
            assert_eq!(lang, Value::from(language));
            for section in ["home", "invoices", "billing", "payment-method"] {
                if section != "home" {
                    go_to_section(&browser, section).await;
                }
                let name = format!("{section}-{}-{language}", viewport.name());
                framed_screenshot(&browser, &name).await;
            }
        }
    }
    browser.close().await;
}
