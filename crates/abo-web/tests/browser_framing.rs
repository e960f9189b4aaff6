//! Headless Chromium: the hosted pages inside a merchant's iframe on another
//! site, with third-party cookies blocked, and framing refused to origins the
//! segment does not allow (CSP `frame-ancestors`).

mod browser_support;

use abo_testkit::browser::{Browser, MerchantSite, Viewport};
use browser_support::{abo_and_merchant, api_get, go_to_section, portal_home};
use serde_json::Value;

/// Sets a `SameSite=None` cookie from script and reads it back.
const COOKIE_PROBE: &str = "document.cookie = 'abo_probe=1; SameSite=None; Secure; path=/'; \
                            return document.cookie;";

/// The harness itself: a page framed cross-site cannot keep a cookie (the
/// browser blocks third-party cookies), while the same page at top level
/// can. So the portal tests below prove it works without them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_harness_blocks_third_party_cookies() {
    let merchant = MerchantSite::start().await;
    let other_site = MerchantSite::start_as("127.0.0.1").await;
    let browser = Browser::start("the_harness_blocks_third_party_cookies", Viewport::Desktop).await;
    let probe = format!("{}/cookie-probe", other_site.base_url);

    browser.goto(&merchant.frame_url(&probe)).await;
    browser.enter_frame("#abo-frame").await;
    browser.wait_for("#probe").await;
    let framed = browser.execute(COOKIE_PROBE, vec![]).await;
    assert_eq!(framed, Value::from(""), "a cross-site frame kept a cookie");

    browser.goto(&probe).await;
    browser.wait_for("#probe").await;
    let top = browser.execute(COOKIE_PROBE, vec![]).await;
    assert_eq!(
        top,
        Value::from("abo_probe=1"),
        "a first-party page could not set a cookie"
    );
    browser.close().await;
}

/// The harness's phone viewport is what the page sees, and screenshots
/// cover the whole page at that width.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_harness_emulates_a_phone_and_takes_full_page_screenshots() {
    let merchant = MerchantSite::start().await;
    let browser = Browser::start("the_harness_emulates_a_phone", Viewport::Phone).await;
    browser
        .goto(&format!("{}/cookie-probe", merchant.base_url))
        .await;
    browser.wait_for("#probe").await;
    let width = browser.execute("return window.innerWidth;", vec![]).await;
    assert_eq!(width, Value::from(390));
    // Make the page taller than the viewport: the screenshot must cover it.
    browser
        .execute(
            "document.body.style.height = '2000px'; return null;",
            vec![],
        )
        .await;
    let path = browser.screenshot("tall").await;
    let png = std::fs::read(&path).expect("the screenshot file");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!(w, 390, "screenshot width");
    assert!(
        h >= 2000,
        "the screenshot is {h} px high, not the whole page"
    );
    browser.close().await;
}

/// The portal loads in the merchant's cross-site iframe and its navigation
/// works there (no cookie available), section after section.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_works_in_a_cross_site_iframe() {
    let (app, merchant) = abo_and_merchant().await;
    let home = portal_home(&app, "framed-1", "en").await;
    let browser =
        Browser::start("the_portal_works_in_a_cross_site_iframe", Viewport::Desktop).await;
    browser.goto(&merchant.frame_url(&home)).await;
    browser.enter_frame("#abo-frame").await;
    browser.wait_for("nav.sections").await;
    let url = browser.document_url().await;
    assert!(
        url.starts_with(&app.base_url),
        "the frame shows {url}, not Abo"
    );
    // No cookie could be set, yet every section opens, in the frame.
    for section in ["invoices", "billing", "payment-method", "home"] {
        go_to_section(&browser, section).await;
    }
    // And a form posts (CSRF token and session in the page, not in cookies).
    go_to_section(&browser, "billing").await;
    browser.fill("#first_name", "Ada").await;
    browser.fill("#last_name", "Lovelace").await;
    browser.fill("#address1", "1 place Bellecour").await;
    browser.fill("#zip", "69002").await;
    browser.fill("#city", "Lyon").await;
    browser.fill("#country", "FR").await;
    browser
        .click("form[action$='/billing'] button[type='submit']")
        .await;
    browser.wait_for("p.notice[role='status']").await;
    let address = api_get(
        &app,
        "/v1/CustomerBillingAddress?ReferenceCustomer=framed-1",
    )
    .await;
    assert_eq!(address["City"], "Lyon", "{address}");
    browser.close().await;
}

/// A page of an origin the segment does not list cannot frame the portal:
/// the frame loads (the browser fired its `load`), but shows no portal.
/// The allowed merchant, in the same browser, does show it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_origin_not_allowed_cannot_frame_the_portal() {
    let (app, merchant) = abo_and_merchant().await;
    // Same host, another port: another origin, not in frame-ancestors.
    let intruder = MerchantSite::start().await;
    let home = portal_home(&app, "framed-2", "en").await;

    // The header itself, as the browser receives it.
    let csp = app
        .client
        .get(&home)
        .send()
        .await
        .expect("GET hosted-home")
        .headers()
        .get_all("content-security-policy")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect::<Vec<_>>()
        .join(", ");
    assert!(
        csp.contains("frame-ancestors"),
        "no frame-ancestors in {csp:?}"
    );
    assert!(
        csp.contains(merchant.origin()),
        "{csp:?} lacks {}",
        merchant.origin()
    );
    assert!(
        !csp.contains(intruder.origin()),
        "{csp:?} allows {}",
        intruder.origin()
    );

    let browser = Browser::start(
        "an_origin_not_allowed_cannot_frame_the_portal",
        Viewport::Desktop,
    )
    .await;
    browser.goto(&intruder.frame_url(&home)).await;
    browser.wait_for("#abo-frame:not([data-loads='0'])").await;
    browser.screenshot("intruder").await;
    browser.enter_frame("#abo-frame").await;
    assert!(
        !browser.exists("nav.sections").await,
        "the portal shows inside {}'s frame",
        intruder.origin()
    );
    let inside = browser.document_url().await;
    assert!(
        !inside.starts_with(&app.base_url),
        "the frame holds an Abo document: {inside}"
    );

    // Control: the allowed merchant frames a fresh link in the same browser.
    let home = portal_home(&app, "framed-2", "en").await;
    browser.goto(&merchant.frame_url(&home)).await;
    browser.enter_frame("#abo-frame").await;
    browser.wait_for("nav.sections").await;
    browser.close().await;
}
