//! The back office's "send link" admin API, on SQLite and PostgreSQL:
//! `GET /Distribution/Customers/{id}/Links` and `POST .../Links/Send`. A custom subscription
//! prepared by sales (a draft) is shown and e-mailed; the e-mail goes through the outbox to a
//! real SMTP server on loopback (`SmtpSink`), once per request; its link lands on the draft's
//! page, directly and, once the segment integrates the portal, through the merchant's page
//! (`?crylk=`). Errors: unknown kind, missing or foreign target, another business's customer.

use abo_engine::Engine;
use abo_links::Purpose;
use abo_mail::{Mailer, ReceivedMail, SmtpSettings, SmtpSink};
use abo_store::segments::{self, SegmentSettingsPatch};
use abo_testkit::{TestApp, both_backends};
use mail_parser::MessageParser;
use serde_json::{Value, json};

const FROM: &str = "Acme Billing <billing@acme.example>";

async fn read(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A customer created through API Live, with an address; its id.
async fn customer(app: &TestApp, reference: &str, language: &str) -> i64 {
    let (status, body) = read(
        app.post_json(
            "/v1/Customer",
            &json!({
                "ReferenceCustomer": reference,
                "Name": format!("{reference} internal"),
                "Email": format!("{reference}@customer.example"),
                "Language": language,
            }),
        )
        .await,
    )
    .await;
    assert!(status == 200 || status == 201, "{status} {body}");
    body["Id"].as_i64().expect("the customer's id")
}

/// A custom subscription prepared by sales: a draft of the demo's custom offer.
async fn draft(app: &TestApp, reference: &str) -> i64 {
    let (status, body) = read(
        app.post_json(
            "/v1/Subscription",
            &json!({ "ReferenceCustomer": reference, "ReferenceOffer": "enterprise-custom" }),
        )
        .await,
    )
    .await;
    assert!(status == 200 || status == 201, "{status} {body}");
    assert!(
        body["StateSubscription"]
            .as_str()
            .is_some_and(|s| s.starts_with("Draft")),
        "{body}"
    );
    body["Id"].as_i64().expect("the draft's id")
}

fn links_path(customer: i64) -> String {
    format!("/Distribution/Customers/{customer}/Links")
}

/// Runs what is due (the e-mail jobs) with a mailer pointed at `sink`.
async fn run_outbox(app: &TestApp, sink: &SmtpSink) {
    let mailer = Mailer::new(&SmtpSettings::loopback(sink.port(), FROM), &app.base_url).unwrap();
    Engine::new(app.store.clone())
        .with_mailer(mailer)
        .run_due(app.now_us(), "backoffice-links-test")
        .await
        .expect("the engine runs the e-mail jobs");
}

struct Mail {
    to: String,
    subject: String,
    text: String,
    html: String,
}

fn parse(raw: &ReceivedMail) -> Mail {
    let m = MessageParser::default()
        .parse(&raw.data)
        .expect("a MIME message");
    Mail {
        to: m
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address.as_deref())
            .unwrap()
            .to_owned(),
        subject: m.subject().unwrap().to_owned(),
        text: m.body_text(0).unwrap().into_owned(),
        html: m.body_html(0).unwrap().into_owned(),
    }
}

impl Mail {
    /// The button's link, as the plain-text alternative prints it.
    fn link(&self) -> String {
        self.text
            .split_whitespace()
            .find(|w| w.starts_with("http://") || w.starts_with("https://"))
            .expect("a link in the text body")
            .to_owned()
    }
}

/// Checks that `url` is a hosted link of `purpose` about `target`, signed for `customer`.
async fn verify_hosted(app: &TestApp, url: &str, customer: i64, purpose: Purpose, target: i64) {
    let path = url
        .strip_prefix(&app.base_url)
        .unwrap_or_else(|| panic!("{url} is not under {}", app.base_url));
    let (found, token) = abo_links::parse_hosted_path(path).expect("a hosted path");
    assert_eq!(found, purpose, "{url}");
    let mut conn = app.store.acquire().await.unwrap();
    let ring = abo_service::links::load_keyring(&mut conn, app.business_id)
        .await
        .unwrap();
    let claims = ring
        .verify(token, app.now_us() / 1_000_000)
        .expect("a genuine link");
    assert_eq!(claims.business_id, app.business_id);
    assert_eq!(claims.customer_id, customer);
    assert_eq!(claims.purpose, purpose);
    assert_eq!(claims.target_id, Some(target));
}

/// Opens a hosted link like a browser: it lands in a portal session on `target`, whose page
/// answers 200; returns the page.
async fn open(app: &TestApp, url: &str, target: &str) -> String {
    let r = app.client.get(url).send().await.unwrap();
    assert_eq!(r.status(), 303, "{url}");
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.contains("/portal/s/"), "{location}");
    assert!(location.ends_with(&format!("/{target}")), "{location}");
    let page = app
        .client
        .get(if location.starts_with("http") {
            location.clone()
        } else {
            app.url(&location)
        })
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200, "{location}");
    page.text().await.unwrap()
}

async fn integrate(app: &TestApp, page: &str) {
    let mut conn = app.store.acquire().await.unwrap();
    let segment = segments::get_default(&mut conn, app.business_id)
        .await
        .unwrap();
    segments::update_settings(
        &mut conn,
        app.business_id,
        segment.id,
        &SegmentSettingsPatch {
            url_integrated_form: Some(Some(page.to_owned())),
            url_integrated_portal: Some(Some(page.to_owned())),
            ..Default::default()
        },
        app.now_us(),
    )
    .await
    .unwrap();
}

/// The first code of a 422 array.
fn first_code(body: &Value) -> &str {
    assert!(body.is_array(), "a 422 is an array: {body}");
    body[0]["Code"].as_str().unwrap_or_default()
}

both_backends! {
    /// A custom subscription's link is shown, then e-mailed (once per request, whatever the
    /// retries), and the e-mail's link opens the draft's page for the right customer.
    async fn a_custom_subscription_link_is_shown_and_emailed_once(app: TestApp) {
        let id = customer(&app, "nora", "en").await;
        let draft_id = draft(&app, "nora").await;
        let query = format!("?Kind=SubscribeCustom&IdSubscription={draft_id}");

        let (status, links) = read(app.get(&format!("{}{query}", links_path(id))).await).await;
        assert_eq!(status, 200, "{links}");
        let link = &links[0];
        assert_eq!(link["Kind"], "SubscribeCustom");
        assert!(link["DateExpiration"].as_str().is_some(), "{link}");
        // Not integrated: what to hand out is the hosted page itself.
        assert_eq!(link["Href"], link["HrefHosted"]);
        let href = link["Href"].as_str().unwrap();
        verify_hosted(&app, href, id, Purpose::SubscribeCustom, draft_id).await;
        let page = open(&app, href, &format!("wf/subscribe-custom/{draft_id}")).await;
        assert!(page.contains("subscribe-custom"), "{page}");

        // Without Kind: every link that needs no target.
        let (status, all) = read(app.get(&links_path(id)).await).await;
        assert_eq!(status, 200);
        let kinds: Vec<&str> = all.as_array().unwrap().iter().filter_map(|l| l["Kind"].as_str()).collect();
        for kind in ["Home", "PaymentMethod", "CollectionInvoices", "BillingAddress", "Register"] {
            assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
        }
        assert!(!kinds.contains(&"SubscribeCustom"), "{kinds:?}");

        let sink = SmtpSink::start(0).await.unwrap();
        let send = |key: &'static str| {
            app.request("POST", &format!("{}/Send", links_path(id)))
                .header("Idempotency-Key", key)
                .json(&json!({
                    "Kind": "SubscribeCustom",
                    "IdSubscription": draft_id,
                    "Message": "As discussed with Paul, your tailored plan."
                }))
                .send()
        };
        let (status, first) = read(send("offer-nora-1").await.unwrap()).await;
        assert_eq!(status, 202, "{first}");
        assert_eq!(first["To"], "nora@customer.example");
        assert_eq!(first["Kind"], "SubscribeCustom");
        // The merchant's client retries: the same request, the same job.
        let (status, again) = read(send("offer-nora-1").await.unwrap()).await;
        assert_eq!(status, 202);
        assert_eq!(again["IdJob"], first["IdJob"]);
        run_outbox(&app, &sink).await;
        // Run again: nothing is due any more, nothing is sent twice.
        run_outbox(&app, &sink).await;
        let received = sink.wait_for(1).await;
        assert_eq!(received.len(), 1, "one request, one e-mail");
        let mail = parse(&received[0]);
        assert_eq!(mail.to, "nora@customer.example");
        assert!(mail.subject.starts_with("Your custom offer from"), "{}", mail.subject);
        assert!(mail.text.contains("As discussed with Paul, your tailored plan."), "{}", mail.text);
        assert!(mail.text.contains("See my offer: http"), "{}", mail.text);
        assert!(mail.html.contains("See my offer"));
        let emailed = mail.link();
        verify_hosted(&app, &emailed, id, Purpose::SubscribeCustom, draft_id).await;
        open(&app, &emailed, &format!("wf/subscribe-custom/{draft_id}")).await;

        // A new request (another key) is another e-mail.
        let (status, other) = read(send("offer-nora-2").await.unwrap()).await;
        assert_eq!(status, 202);
        assert_ne!(other["IdJob"], first["IdJob"]);
        run_outbox(&app, &sink).await;
        assert_eq!(sink.wait_for(2).await.len(), 2);
    }

    /// With the segment's integrated URLs set, shown and e-mailed links point to the
    /// merchant's page; decoding `crylk` gives the hosted link, which lands on the page.
    async fn integrated_links_go_through_the_merchant_page(app: TestApp) {
        integrate(&app, "https://shop.example/subscription?tab=billing").await;
        let id = customer(&app, "olga", "fr").await;
        let draft_id = draft(&app, "olga").await;
        let (status, links) = read(
            app.get(&format!("{}?kind=subscribecustom&idsubscription={draft_id}", links_path(id)))
                .await,
        )
        .await;
        assert_eq!(status, 200, "{links}");
        let href = links[0]["Href"].as_str().unwrap();
        assert!(
            href.starts_with("https://shop.example/subscription?tab=billing&crylk="),
            "{href}"
        );
        let hosted = abo_links::crylk_decode(abo_links::crylk_from_url(href).unwrap()).unwrap();
        assert_eq!(hosted, links[0]["HrefHosted"].as_str().unwrap());

        let sink = SmtpSink::start(0).await.unwrap();
        let (status, sent) = read(
            app.post_json(
                &format!("{}/Send", links_path(id)),
                &json!({"Kind": "PaymentMethod"}),
            )
            .await,
        )
        .await;
        assert_eq!(status, 202, "{sent}");
        run_outbox(&app, &sink).await;
        let mail = parse(&sink.wait_for(1).await[0]);
        // Olga reads French.
        assert_eq!(mail.subject, "Mettez à jour votre moyen de paiement");
        let emailed = mail.link();
        assert!(emailed.starts_with("https://shop.example/subscription?tab=billing&crylk="), "{emailed}");
        let hosted = abo_links::crylk_decode(abo_links::crylk_from_url(&emailed).unwrap()).unwrap();
        let path = hosted.strip_prefix(&app.base_url).expect("an Abo link");
        let (purpose, _) = abo_links::parse_hosted_path(path).unwrap();
        assert_eq!(purpose, Purpose::PaymentMethod);
        open(&app, &hosted, "payment-method").await;
    }

    /// Bad requests are refused with ProAbono's error shapes, and a business never reaches
    /// another's customers.
    async fn bad_requests_and_other_businesses_are_refused(app: TestApp) {
        let id = customer(&app, "pia", "en").await;
        let draft_id = draft(&app, "pia").await;
        customer(&app, "quentin", "en").await;
        let others_draft = draft(&app, "quentin").await;

        let (status, body) = read(app.get(&format!("{}?Kind=Teleport", links_path(id))).await).await;
        assert_eq!(status, 422);
        assert_eq!(first_code(&body), "Error.Api.Validation.Kind");
        assert!(body[0]["Message"].as_str().unwrap().contains("SubscribeCustom"), "{body}");

        let send = format!("{}/Send", links_path(id));
        let (status, body) = read(app.post_json(&send, &json!({})).await).await;
        assert_eq!(status, 422);
        assert_eq!(first_code(&body), "Error.Api.Validation.Kind");

        let (status, body) = read(app.post_json(&send, &json!({"Kind": "SubscribeCustom"})).await).await;
        assert_eq!(status, 422);
        assert_eq!(first_code(&body), "Error.Api.Validation.IdSubscription");

        // Another customer's draft is not this customer's to send.
        let (status, body) = read(
            app.post_json(&send, &json!({"Kind": "SubscribeCustom", "IdSubscription": others_draft}))
                .await,
        )
        .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(first_code(&body), "Error.Api.Validation.IdSubscription");

        let (status, body) = read(
            app.post_json(&send, &json!({"Kind": "Home", "IdInvoice": 1})).await,
        )
        .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(first_code(&body), "Error.Api.Validation.IdInvoice");

        // An unknown customer, and the customers of another business: ProAbono's 403.
        let (status, body) = read(app.get(&format!("{}?Kind=Home", links_path(i64::MAX / 2))).await).await;
        assert_eq!(status, 403);
        assert_eq!(body["Code"], "Error.Api.Customer.Unaccessible");
        let other = app.second_business().await;
        for path in [
            format!("{}?Kind=Home", links_path(id)),
            format!("{}?Kind=SubscribeCustom&IdSubscription={draft_id}", links_path(id)),
        ] {
            let (status, body) = read(other.get(&path).await).await;
            assert_eq!(status, 403, "{path}: {body}");
            assert_eq!(body["Code"], "Error.Api.Customer.Unaccessible");
        }
        let (status, body) = read(
            other
                .post_json(&send, &json!({"Kind": "SubscribeCustom", "IdSubscription": draft_id}))
                .await,
        )
        .await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["Code"], "Error.Api.Customer.Unaccessible");
        // Nothing was queued for the refused requests (e-mails of other types are off).
        let sink = SmtpSink::start(0).await.unwrap();
        run_outbox(&app, &sink).await;
        assert!(sink.messages().is_empty(), "{} e-mails sent", sink.messages().len());

        let (status, _) = read(app.unauthenticated().get(&format!("{}?Kind=Home", links_path(id))).await).await;
        assert_eq!(status, 401);
    }
}
