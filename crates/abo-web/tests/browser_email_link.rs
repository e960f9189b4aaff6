//! Headless Chromium, issue 7: a customer opens the link of an e-mail that
//! reached the SMTP sink, lands on the demo merchant site's 'Subscription'
//! page (examples/merchant-site, on another site than Abo), signs in, and the
//! page's iframe shows the hosted page the e-mail was about; a hostile
//! `crylk` leaves the iframe on `hosted-home`.

mod browser_support;

use abo_mail::{Mailer, SmtpSettings, SmtpSink};
use abo_testkit::browser::{Browser, Viewport, install_tls_provider};
use abo_testkit::{AppOptions, Backend, TestApp, spawn_app_with};
use browser_support::*;
use mail_parser::MessageParser;
use merchant_site::abo_merchant::VerificationKey;
use merchant_site::{Site, SiteConfig};

/// Abo integrated at the demo shop's 'Subscription' page, and the shop
/// (addressed as `localhost`, Abo as `127.0.0.1`: two sites), running.
async fn abo_and_shop() -> (TestApp, String) {
    install_tls_provider();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the shop");
    let shop = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let catalog = catalog_integrated_at(&format!("{shop}/subscription"));
    let app = spawn_app_with(Backend::Sqlite, AppOptions::default().catalog(catalog)).await;

    let mut config = SiteConfig::new(&app.base_url, &app.agent_key, &app.api_key);
    // The business's link keys, as the operator hands them to the merchant,
    // so the shop also checks tokens offline.
    let mut conn = app.store.acquire().await.unwrap();
    config.link_keys = abo_store::link_keys::list(&mut conn, app.business_id)
        .await
        .unwrap()
        .into_iter()
        .filter(|k| k.retired_at_us.is_none())
        .map(|k| VerificationKey::parse(&format!("{}:{}", k.kid, k.secret_hex)).unwrap())
        .collect();
    drop(conn);
    let site = Site::new(config).expect("the shop's configuration");
    tokio::spawn(merchant_site::serve(listener, site));
    (app, shop)
}

/// Runs the outbox's e-mail jobs through a real SMTP exchange with the sink
/// and returns the first link of the first message's text.
async fn email_link(app: &TestApp, sink: &SmtpSink) -> String {
    let mailer = Mailer::new(
        &SmtpSettings::loopback(sink.port(), "Test business <billing@business.example>"),
        &app.base_url,
    )
    .expect("the mailer");
    abo_engine::Engine::new(app.store.clone())
        .with_mailer(mailer)
        .run_due(app.now_us(), "browser-test")
        .await
        .expect("the engine runs the e-mail jobs");
    let mails = sink.wait_for(1).await;
    let message = MessageParser::default()
        .parse(&mails[0].data)
        .expect("a MIME message");
    let text = message.body_text(0).expect("a text part").to_string();
    let start = text
        .find("http://localhost")
        .unwrap_or_else(|| panic!("no link to the shop in the e-mail:\n{text}"));
    text[start..]
        .split(|c: char| c.is_whitespace() || c == '>' || c == '"' || c == ')')
        .next()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_link_opens_the_invoice_to_pay_inside_the_merchant_page() {
    let (app, shop) = abo_and_shop().await;
    let sink = SmtpSink::start(0).await.expect("the SMTP sink");
    // cust-alice is one of the shop's demo users; she owes an invoice,
    // payable offline, and the e-mail about it is switched on.
    customer_with_subscription(&app, "cust-alice", "en", "pro-yearly").await;
    let invoice = bill_now(&app, "cust-alice").await;
    let invoice_id = invoice["Id"].as_i64().expect("the invoice");
    {
        let mut conn = app.store.acquire().await.unwrap();
        let segment = abo_store::segments::get_default(&mut conn, app.business_id)
            .await
            .unwrap();
        abo_mail::settings::enable_all(&mut conn, app.business_id, segment.id, app.now_us())
            .await
            .unwrap();
    }
    let link = email_link(&app, &sink).await;
    assert!(
        link.starts_with(&format!("{shop}/subscription?crylk=")),
        "the e-mail links {link}, not the shop's page"
    );

    let browser = Browser::start("an_email_link_opens_the_invoice_to_pay", Viewport::Desktop).await;
    browser.goto(&link).await;
    // Signed out: the shop asks who you are, then comes back with the crylk.
    browser.click("button[data-user='cust-alice']").await;
    browser
        .wait_for("[data-portal-source='crylk'] iframe")
        .await;
    browser.enter_frame("[data-portal-source] iframe").await;
    browser.wait_for("[data-workflow='pay']").await;
    let framed = browser.document_url().await;
    assert!(
        framed.starts_with(&app.base_url),
        "the frame shows {framed}"
    );
    assert!(
        framed.contains(&format!("/wf/pay/{invoice_id}")),
        "the frame shows {framed}, not invoice {invoice_id}'s payment"
    );
    browser.leave_frame().await;
    browser.screenshot("invoice-to-pay").await;

    // A hostile crylk (a look-alike host carrying a genuine path) is not
    // framed: the shop shows the customer's hosted-home instead.
    let token = link.rsplit("%2f").next().unwrap_or_default();
    for hostile in [
        format!("http%3a%2f%2f127.0.0.1.evil.example%2fpay-invoice%2f{token}"),
        "javascript%3aalert(1)".to_string(),
        format!("https%3a%2f%2fevil.example%2fportal-auth%2f{token}"),
    ] {
        browser
            .goto(&format!("{shop}/subscription?crylk={hostile}"))
            .await;
        browser.wait_for("[data-portal-source='home'] iframe").await;
        browser.enter_frame("[data-portal-source] iframe").await;
        browser.wait_for("nav.sections").await;
        let framed = browser.document_url().await;
        assert!(
            framed.starts_with(&format!("{}/portal/s/", app.base_url)) && framed.ends_with("/home"),
            "crylk={hostile} framed {framed}"
        );
        browser.leave_frame().await;
    }
    browser.close().await;
}

/// The link Abo publishes (e-mails, back office) for `purpose`: the shop's
/// page with `?crylk=` since the segment integrates the portal.
async fn published_link(
    app: &TestApp,
    reference: &str,
    purpose: abo_links::Purpose,
    target: Option<i64>,
) -> String {
    let customer = api_get(app, &format!("/v1/Customer?ReferenceCustomer={reference}")).await;
    let id = customer["Id"].as_i64().expect("customer id");
    let mut conn = app.store.acquire().await.unwrap();
    abo_service::links::customer_link(
        &mut conn,
        &app.base_url,
        app.business_id,
        id,
        purpose,
        target,
        abo_links::DEFAULT_LINK_TTL_SECS,
        app.now_us(),
    )
    .await
    .expect("a customer link")
    .url
}

/// The other kinds of links e-mails and the back office hand out land in
/// the shop's iframe too: the payment-method page, and a custom
/// subscription the merchant prepared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_method_and_custom_subscription_links_land_in_the_merchant_page() {
    let (app, shop) = abo_and_shop().await;
    customer(&app, "cust-bruno", "fr").await;
    let draft = api_post(
        &app,
        "/v1/Subscription",
        serde_json::json!({ "ReferenceCustomer": "cust-bruno", "ReferenceOffer": "enterprise-custom" }),
    )
    .await;
    let draft_id = draft["Id"].as_i64().expect("the draft's id");
    let browser = Browser::start(
        "payment_method_and_custom_subscription_links",
        Viewport::Phone,
    )
    .await;

    let payment = published_link(&app, "cust-bruno", abo_links::Purpose::PaymentMethod, None).await;
    assert!(
        payment.starts_with(&format!("{shop}/subscription?crylk=")),
        "{payment}"
    );
    browser.goto(&payment).await;
    browser.click("button[data-user='cust-bruno']").await;
    browser
        .wait_for("[data-portal-source='crylk'] iframe")
        .await;
    browser.enter_frame("[data-portal-source] iframe").await;
    browser
        .wait_for("nav.sections a[aria-current='page'][href$='/payment-method']")
        .await;
    browser.wait_for("[data-method='none']").await;
    browser.leave_frame().await;
    browser.screenshot("payment-method").await;

    let custom = published_link(
        &app,
        "cust-bruno",
        abo_links::Purpose::SubscribeCustom,
        Some(draft_id),
    )
    .await;
    assert!(
        custom.starts_with(&format!("{shop}/subscription?crylk=")),
        "{custom}"
    );
    browser.goto(&custom).await;
    browser
        .wait_for("[data-portal-source='crylk'] iframe")
        .await;
    browser.enter_frame("[data-portal-source] iframe").await;
    browser.wait_for("[data-workflow='subscribe-custom']").await;
    let framed = browser.document_url().await;
    assert!(
        framed.starts_with(&app.base_url)
            && framed.contains(&format!("/wf/subscribe-custom/{draft_id}")),
        "the frame shows {framed}"
    );
    let text = browser.body_text().await;
    assert!(
        text.contains("Enterprise"),
        "the custom offer is not shown:\n{text}"
    );
    browser.leave_frame().await;
    browser.screenshot("custom-subscription").await;
    browser.close().await;
}
