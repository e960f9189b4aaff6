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

/// The shop link of the e-mail whose subject starts with `subject`, among what the
/// sink received.
async fn shop_link_of(sink: &SmtpSink, count: usize, subject: &str) -> String {
    let mails = sink.wait_for(count).await;
    let (text, found) = mails
        .iter()
        .map(|m| {
            MessageParser::default()
                .parse(&m.data)
                .expect("a MIME message")
        })
        .map(|m| {
            (
                m.body_text(0).unwrap_or_default().to_string(),
                m.subject().unwrap_or_default().to_string(),
            )
        })
        .find(|(_, s)| s.starts_with(subject))
        .unwrap_or_else(|| panic!("no e-mail about {subject:?} among {} received", mails.len()));
    let start = text
        .find("http://localhost")
        .unwrap_or_else(|| panic!("no link to the shop in {found:?}:\n{text}"));
    text[start..]
        .split(|c: char| c.is_whitespace() || c == '>' || c == '"' || c == ')')
        .next()
        .unwrap()
        .to_string()
}

/// The first day of the month after `date`'s.
fn next_month(date: jiff::civil::Date) -> jiff::civil::Date {
    date.first_of_month()
        .checked_add(jiff::ToSpan::month(1))
        .expect("a month later")
}

/// The other kinds of links e-mails and the back office hand out land in the shop's iframe
/// too, each from a real e-mail: a custom subscription the merchant prepared and sent with
/// the back office's "send link" action, then the payment-method page from the "card
/// expires soon" e-mail the engine writes when the clock reaches the notice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_method_and_custom_subscription_links_land_in_the_merchant_page() {
    let (app, shop) = abo_and_shop().await;
    let sink = SmtpSink::start(0).await.expect("the SMTP sink");
    let mailer = Mailer::new(
        &SmtpSettings::loopback(sink.port(), "Test business <billing@business.example>"),
        &app.base_url,
    )
    .expect("the mailer");
    let engine = abo_engine::Engine::new(app.store.clone()).with_mailer(mailer);
    let bruno = customer(&app, "cust-bruno", "fr").await;
    let bruno_id = bruno["Id"].as_i64().expect("the customer's id");
    // Sales prepared a custom subscription for Bruno: a draft.
    let draft = api_post(
        &app,
        "/v1/Subscription",
        serde_json::json!({ "ReferenceCustomer": "cust-bruno", "ReferenceOffer": "enterprise-custom" }),
    )
    .await;
    let draft_id = draft["Id"].as_i64().expect("the draft's id");
    // His card works until the end of next month; the merchant switched the "card expires
    // soon" e-mail on (admin API).
    let today = jiff::Timestamp::from_microsecond(app.now_us())
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let expiry_month = next_month(next_month(today));
    let last_day = expiry_month.last_of_month();
    let card = abo_gateway::PaymentDetails::Card(abo_gateway::CardDetails {
        number: "4242 4242 4242 4242".into(),
        expiry: format!(
            "{:02}/{:02}",
            expiry_month.month(),
            expiry_month.year() % 100
        ),
        cvc: "123".into(),
        country: Some("FR".into()),
    });
    abo_service::billing::permissions::register_permission(
        &app.store,
        &abo_service::billing::Gateways::default(),
        app.business_id,
        bruno_id,
        &card,
        app.now_us(),
    )
    .await
    .expect("the card is registered");
    let switched = app
        .request(
            "PUT",
            "/Organization/Segments/demo-eur/Emails/CardExpiresSoon",
        )
        .json(&serde_json::json!({ "Enabled": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(switched.status(), 200);

    // The merchant sends Bruno his custom offer (back office "send link").
    let sent = app
        .post_json(
            &format!("/Distribution/Customers/{bruno_id}/Links/Send"),
            &serde_json::json!({ "Kind": "SubscribeCustom", "IdSubscription": draft_id }),
        )
        .await;
    assert_eq!(sent.status(), 202);
    engine
        .run_due(app.now_us(), "browser-test")
        .await
        .expect("the engine sends the e-mail");
    let custom = shop_link_of(&sink, 1, "Votre offre personnalisée").await;
    assert!(
        custom.starts_with(&format!("{shop}/subscription?crylk=")),
        "{custom}"
    );

    let browser = Browser::start(
        "payment_method_and_custom_subscription_links",
        Viewport::Phone,
    )
    .await;
    browser.goto(&custom).await;
    browser.click("button[data-user='cust-bruno']").await;
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
    // The quote of the custom offer: its name and what starting it costs.
    let text = browser.body_text().await;
    assert!(
        text.contains("Enterprise") && text.contains('€'),
        "the custom offer's quote is not shown:\n{text}"
    );
    browser.leave_frame().await;
    browser.screenshot("custom-subscription").await;

    // The clock reaches 30 days before the card's last day: the engine writes the notice
    // and sends the e-mail.
    let notice = last_day
        .checked_sub(jiff::ToSpan::days(29))
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp()
        .as_microsecond();
    engine
        .advance_clock(app.business_id, notice, app.now_us(), "browser-test")
        .await
        .expect("the clock moves");
    let payment = shop_link_of(&sink, 2, "Votre carte").await;
    assert!(
        payment.starts_with(&format!("{shop}/subscription?crylk=")),
        "{payment}"
    );
    browser.goto(&payment).await;
    browser
        .wait_for("[data-portal-source='crylk'] iframe")
        .await;
    browser.enter_frame("[data-portal-source] iframe").await;
    browser
        .wait_for("nav.sections a[aria-current='page'][href$='/payment-method']")
        .await;
    // The card the e-mail is about.
    browser.wait_for("[data-method='Card']").await;
    let framed = browser.document_url().await;
    assert!(
        framed.starts_with(&app.base_url),
        "the frame shows {framed}"
    );
    let shown = browser.text("[data-method='Card']").await;
    assert!(shown.contains("4242"), "the card shown is {shown:?}");
    browser.leave_frame().await;
    browser.screenshot("payment-method").await;
    browser.close().await;
}
