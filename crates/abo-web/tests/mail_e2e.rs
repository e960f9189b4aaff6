//! Customer e-mails end to end, on both backends: an event writes an `Email` job to the
//! outbox, the engine (with a mailer) claims it, renders it and sends it over SMTP to a real
//! SMTP server on loopback (`abo_mail::SmtpSink`, the outside world here). Each received
//! message is parsed as MIME (mail-parser) and checked: recipient, language, amounts, the
//! invoice PDF (pdftotext finds its number), and the link: it verifies for the right
//! customer, purpose and target, and an HTTP GET on it lands on the right hosted page —
//! directly, or through the merchant's page (`?crylk=`) when the segment integrates.
//! One case also goes through aiosmtpd (`abo_testkit::smtp`), an SMTP server we did not
//! write, so that our sender and our receiver cannot share a misreading of SMTP.

use std::time::Duration;

use abo_engine::Engine;
use abo_links::Purpose;
use abo_mail::{EmailType, Mailer, ReceivedMail, SmtpSettings, SmtpSink};
use abo_store::customers::{self, BillingAddress, NewCustomer, PaymentSettingsPatch};
use abo_store::segments::{self, SegmentSettingsPatch};
use abo_store::{emails, jobs};
use abo_testkit::smtp::AioSmtpd;
use abo_testkit::{TestApp, both_backends};
use mail_parser::{MessageParser, MimeHeaders};
use serde_json::{Value, json};

const FROM: &str = "Acme Billing <billing@acme.example>";

/// `sink`: the SMTP server the mailer sends to (ours by default, or aiosmtpd).
struct Harness<R = SmtpSink> {
    app: TestApp,
    sink: R,
    engine: Engine,
    segment_id: i64,
}

async fn harness(app: &TestApp) -> Harness {
    harness_with(app, true).await
}

/// `enable`: switch every type on for the default segment (off is the default).
async fn harness_with(app: &TestApp, enable: bool) -> Harness {
    let sink = SmtpSink::start(0).await.unwrap();
    let port = sink.port();
    harness_on(app, enable, sink, port).await
}

/// Abo's mailer pointed at `sink`, listening on loopback `port`.
async fn harness_on<R>(app: &TestApp, enable: bool, sink: R, port: u16) -> Harness<R> {
    let mailer = Mailer::new(&SmtpSettings::loopback(port, FROM), &app.base_url).unwrap();
    let engine = Engine::new(app.store.clone()).with_mailer(mailer);
    let mut conn = app.store.acquire().await.unwrap();
    let segment = segments::get_default(&mut conn, app.business_id)
        .await
        .unwrap();
    if enable {
        abo_mail::settings::enable_all(&mut conn, app.business_id, segment.id, app.now_us())
            .await
            .unwrap();
    }
    Harness {
        app: app.clone(),
        sink,
        engine,
        segment_id: segment.id,
    }
}

impl<R> Harness<R> {
    /// A customer of the default segment, billed in France, paying by `payment`.
    async fn customer(&self, reference: &str, language: &str, payment: &str) -> i64 {
        let app = &self.app;
        let mut conn = app.store.acquire().await.unwrap();
        let c = customers::create(
            &mut conn,
            &NewCustomer {
                business_id: app.business_id,
                segment_id: self.segment_id,
                reference: reference.into(),
                name: Some("internal name".into()),
                email: Some(format!("{reference}@customer.example")),
                language: Some(language.into()),
                ..Default::default()
            },
            app.now_us(),
        )
        .await
        .unwrap();
        customers::update_billing_address(
            &mut conn,
            app.business_id,
            c.id,
            &BillingAddress {
                first_name: Some("Camille".into()),
                last_name: Some(reference.to_uppercase()),
                country: Some("FR".into()),
                ..Default::default()
            },
            app.now_us(),
        )
        .await
        .unwrap();
        customers::update_payment_settings(
            &mut conn,
            app.business_id,
            c.id,
            &PaymentSettingsPatch {
                type_payment: Some(payment.into()),
                ..Default::default()
            },
            app.now_us(),
        )
        .await
        .unwrap();
        c.id
    }

    /// A manual line of 190.00 + 20 % billed at once: the invoice's id and number.
    async fn bill(&self, reference: &str) -> (i64, String) {
        let r = self
            .app
            .post_json(
                "/v1/BalanceLine",
                &json!({"ReferenceCustomer": reference, "Label": "Consulting", "Amount": 19000}),
            )
            .await;
        assert_eq!(r.status(), 201);
        let r = self
            .app
            .post_json(
                "/v1/Billing/Customer",
                &json!({"ReferenceCustomer": reference}),
            )
            .await;
        assert_eq!(r.status(), 200, "billing");
        let invoice: Value = r.json().await.unwrap();
        (
            invoice["Id"].as_i64().unwrap(),
            invoice["FullNumber"].as_str().unwrap().to_owned(),
        )
    }

    async fn run(&self) {
        self.engine
            .run_business(self.app.business_id, self.app.now_us(), "mail-test")
            .await
            .unwrap();
    }

    async fn enqueue(&self, key: &str, payload: Value) {
        let mut conn = self.app.store.acquire().await.unwrap();
        jobs::enqueue(
            &mut conn,
            &jobs::NewJob {
                business_id: Some(self.app.business_id),
                kind: abo_mail::JOB_KIND.into(),
                payload: payload.to_string(),
                run_at_us: self.app.now_us(),
                max_attempts: 10,
                natural_key: Some(key.into()),
            },
            self.app.now_us(),
        )
        .await
        .unwrap();
    }

    async fn set_integrated(&self, form: Option<&str>, portal: Option<&str>) {
        let mut conn = self.app.store.acquire().await.unwrap();
        segments::update_settings(
            &mut conn,
            self.app.business_id,
            self.segment_id,
            &SegmentSettingsPatch {
                url_integrated_form: Some(form.map(str::to_owned)),
                url_integrated_portal: Some(portal.map(str::to_owned)),
                ..Default::default()
            },
            self.app.now_us(),
        )
        .await
        .unwrap();
    }
}

impl Harness {
    async fn wait(&self, count: usize) -> Vec<ReceivedMail> {
        tokio::time::timeout(Duration::from_secs(60), self.sink.wait_for(count))
            .await
            .unwrap_or_else(|_| panic!("{count} e-mails did not arrive"))
    }
}

/// What the tests read in a received message.
#[derive(Debug)]
struct Mail {
    message_id: String,
    to: String,
    subject: String,
    language: String,
    text: String,
    html: String,
    pdfs: Vec<(String, Vec<u8>)>,
}

fn parse(raw: &ReceivedMail) -> Mail {
    parse_bytes(&raw.data)
}

fn parse_bytes(raw: &[u8]) -> Mail {
    let m = MessageParser::default().parse(raw).expect("a MIME message");
    Mail {
        message_id: m.message_id().unwrap().to_owned(),
        to: m
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address.as_deref())
            .unwrap()
            .to_owned(),
        subject: m.subject().unwrap().to_owned(),
        language: m
            .header_raw("Content-Language")
            .unwrap_or_default()
            .trim()
            .to_owned(),
        text: m.body_text(0).unwrap().into_owned(),
        html: m.body_html(0).unwrap().into_owned(),
        pdfs: m
            .attachments()
            .filter(|p| p.content_type().is_some_and(|c| c.subtype() == Some("pdf")))
            .map(|p| {
                (
                    p.attachment_name().unwrap_or_default().to_owned(),
                    p.contents().to_vec(),
                )
            })
            .collect(),
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

/// The text of a PDF, by pdftotext.
fn pdf_text(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("invoice.pdf");
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// Verifies a hosted URL: it is under the app, for `purpose`, signed for `customer_id`
/// about `target`.
async fn verify_hosted(
    app: &TestApp,
    url: &str,
    customer_id: i64,
    purpose: Purpose,
    target: Option<i64>,
) {
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
    assert_eq!(claims.customer_id, customer_id);
    assert_eq!(claims.purpose, purpose);
    assert_eq!(claims.target_id, target);
}

/// Opens a hosted link like a browser would, and checks it lands on `target` (relative to
/// the portal session); pages that exist answer 200.
async fn open(app: &TestApp, url: &str, target: &str) -> String {
    let r = app.client.get(url).send().await.unwrap();
    if target.ends_with(".pdf") {
        assert_eq!(r.status(), 200, "{url}");
        assert_eq!(r.headers()["content-type"], "application/pdf");
        return String::new();
    }
    assert_eq!(r.status(), 303, "{url}");
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.contains("/portal/s/"), "{location}");
    assert!(
        location.ends_with(&format!("/{target}")),
        "{location} does not end with {target}"
    );
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
    let status = page.status().as_u16();
    let body = page.text().await.unwrap();
    assert_eq!(status, 200, "{location}: {body}");
    body
}

/// The offline invoice e-mail of customer "lea" (French, 228,00 €): recipient, language,
/// greeting, amount, the PDF named and numbered after the invoice, and a pay link that
/// verifies for the customer and invoice and lands on the pay page.
async fn check_french_offline_invoice(
    app: &TestApp,
    raw: &[u8],
    customer: i64,
    invoice: i64,
    number: &str,
) {
    let mail = parse_bytes(raw);
    assert_eq!(mail.to, "lea@customer.example");
    assert_eq!(mail.language, "fr");
    assert!(mail.subject.contains(number), "{}", mail.subject);
    assert!(
        mail.subject.starts_with("Votre facture"),
        "{}",
        mail.subject
    );
    assert!(mail.text.contains("Bonjour Camille LEA,"), "{}", mail.text);
    assert!(mail.text.contains("228,00\u{a0}€"), "{}", mail.text);
    assert!(!mail.text.contains("internal name"));
    assert!(mail.html.contains("228,00"));
    assert_eq!(mail.pdfs.len(), 1);
    assert_eq!(mail.pdfs[0].0, format!("{number}.pdf"));
    let pdf = pdf_text(&mail.pdfs[0].1);
    assert!(pdf.contains(number), "{pdf}");
    let link = mail.link();
    assert!(mail.html.contains(&link.replace('/', "&#x2f;")) || mail.html.contains(&link));
    verify_hosted(app, &link, customer, Purpose::Charge, Some(invoice)).await;
    let page = open(app, &link, &format!("wf/pay/{invoice}")).await;
    assert!(page.contains(number), "the pay page shows invoice {number}");
}

both_backends! {
    /// An offline invoice for a French customer: event → outbox → engine → SMTP. The e-mail
    /// is in French, states the amount the French way, carries the PDF and a pay link that
    /// verifies for the customer and invoice and lands on the pay page.
    async fn offline_invoice_in_french_end_to_end(app: TestApp) {
        let h = harness(&app).await;
        let customer = h.customer("lea", "fr", "ExternalBank").await;
        let (invoice, number) = h.bill("lea").await;
        h.run().await;
        let mails = h.wait(1).await;
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].rcpt_to, vec!["lea@customer.example".to_owned()]);
        check_french_offline_invoice(&app, &mails[0].data, customer, invoice, &number).await;

        // Recorded once; running again sends nothing more.
        let mut conn = app.store.acquire().await.unwrap();
        let history = emails::list_for_customer(&mut conn, app.business_id, customer, 10)
            .await
            .unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].state, "Sent");
        assert_eq!(history[0].template, "InvoiceNewPaymentOffline");
        drop(conn);
        h.run().await;
        assert_eq!(h.sink.messages().len(), 1);
    }

    /// The French offline invoice again, delivered to aiosmtpd, a real SMTP server we did
    /// not write: lettre's dialogue, the MIME structure and the PDF survive a third-party
    /// receiver, and its envelope names the customer.
    async fn offline_invoice_through_aiosmtpd(app: TestApp) {
        let server = AioSmtpd::start();
        let port = server.port();
        let h = harness_on(&app, true, server, port).await;
        let customer = h.customer("lea", "fr", "ExternalBank").await;
        let (invoice, number) = h.bill("lea").await;
        h.run().await;
        // aiosmtpd stores a message before it answers 250: once sent, it is in the Maildir.
        let messages = h.sink.messages();
        assert_eq!(messages.len(), 1, "one e-mail delivered to aiosmtpd");
        let envelope = MessageParser::default().parse(&messages[0]).unwrap();
        assert_eq!(
            envelope.header_raw("X-RcptTo").map(str::trim),
            Some("lea@customer.example")
        );
        assert_eq!(
            envelope.header_raw("X-MailFrom").map(str::trim),
            Some("billing@acme.example")
        );
        check_french_offline_invoice(&app, &messages[0], customer, invoice, &number).await;

        // Running again sends nothing more.
        h.run().await;
        assert_eq!(h.sink.messages().len(), 1);
    }

    /// With the segment's integrated URLs set, the links point to the merchant's pages with
    /// `crylk`; decoding it gives the hosted URL, which opens the right page for the right
    /// customer. Workflow links go to the form URL, portal links to the portal URL.
    async fn integrated_links_go_through_crylk(app: TestApp) {
        let h = harness(&app).await;
        h.set_integrated(
            Some("https://shop.example/subscribe?tab=pay#top"),
            Some("https://shop.example/account"),
        )
        .await;
        let customer = h.customer("max", "en", "ExternalCheck").await;
        let (invoice, number) = h.bill("max").await;
        // A portal link too: the invoice was paid.
        h.enqueue(
            &format!("email:invoice={invoice}:InvoiceNewPaid"),
            json!({"Template": "InvoiceNewPaid", "IdCustomer": customer, "IdInvoice": invoice}),
        )
        .await;
        h.run().await;
        let mails: Vec<Mail> = h.wait(2).await.iter().map(parse).collect();
        let offline = mails.iter().find(|m| m.subject.contains("ready to be paid")).unwrap();
        let paid = mails.iter().find(|m| m.subject.contains("(paid)")).unwrap();
        assert_eq!(offline.language, "en");
        assert!(offline.text.contains("€228.00"), "{}", offline.text);
        assert!(offline.subject.contains(&number));

        let form_link = offline.link();
        assert!(
            form_link.starts_with("https://shop.example/subscribe?tab=pay&crylk="),
            "{form_link}"
        );
        assert!(form_link.ends_with("#top"), "{form_link}");
        let hosted = abo_links::crylk_decode(abo_links::crylk_from_url(&form_link).unwrap()).unwrap();
        verify_hosted(&app, &hosted, customer, Purpose::Charge, Some(invoice)).await;
        let page = open(&app, &hosted, &format!("wf/pay/{invoice}")).await;
        assert!(page.contains(&number), "the pay page shows invoice {number}");

        let portal_link = paid.link();
        assert!(portal_link.starts_with("https://shop.example/account?crylk="), "{portal_link}");
        let hosted = abo_links::crylk_decode(abo_links::crylk_from_url(&portal_link).unwrap()).unwrap();
        verify_hosted(&app, &hosted, customer, Purpose::InvoicePdf, Some(invoice)).await;
        open(&app, &hosted, "invoice.pdf").await;
        // The merchant's validator (strict crylk check) accepts what we produced.
        assert!(hosted.starts_with(&app.base_url));
    }

    /// Every e-mail type of spec §1.12 is rendered and sent with the right link, language
    /// and attachment; the off switch of a segment is honoured.
    async fn every_type_is_sent_with_its_link(app: TestApp) {
        let h = harness(&app).await;
        let customer = h.customer("zoe", "fr", "ExternalBank").await;
        let (invoice, number) = h.bill("zoe").await;
        h.run().await;
        h.wait(1).await; // the offline invoice's own e-mail
        // A subscription and a card of the customer.
        let r = app
            .post_json("/v1/Subscription", &json!({"ReferenceCustomer": "zoe", "ReferenceOffer": "free"}))
            .await;
        assert!(r.status().is_success(), "{}", r.status());
        let subscription = r.json::<Value>().await.unwrap()["Id"].as_i64().unwrap();
        let card = {
            let mut conn = app.store.acquire().await.unwrap();
            abo_store::payments::insert_permission(
                &mut conn,
                &abo_store::payments::NewPermission {
                    business_id: app.business_id,
                    customer_id: customer,
                    type_payment: "Card".into(),
                    type_gateway: "CardDummy".into(),
                    gateway_permission_id: "card_zoe".into(),
                    state: "Enabled".into(),
                    name_display: "****-****-****-4242".into(),
                    country: Some("FR".into()),
                    date_expiration: Some("2026-12-31".into()),
                    mandate_reference: None,
                },
                app.now_us(),
            )
            .await
            .unwrap()
            .id
        };
        // Switch one type off: it is recorded, not sent.
        {
            let mut conn = app.store.acquire().await.unwrap();
            abo_mail::settings::set_enabled(
                &mut conn, app.business_id, h.segment_id, EmailType::InvoiceDisputed, false, app.now_us(),
            )
            .await
            .unwrap();
        }
        let mut expected = Vec::new();
        for kind in EmailType::ALL {
            let mut payload = json!({"Template": kind.name(), "IdCustomer": customer});
            match kind.subject() {
                abo_mail::Subject::Invoice => payload["IdInvoice"] = json!(invoice),
                abo_mail::Subject::Subscription => payload["IdSubscription"] = json!(subscription),
                abo_mail::Subject::PaymentMethod => payload["IdPermission"] = json!(card),
                // Sent on request only (tests/backoffice_links.rs), never in ALL.
                abo_mail::Subject::Customer => unreachable!("{kind} is not automatic"),
            }
            if kind == EmailType::CardExpiresSoon {
                payload["DaysBefore"] = json!(7);
            }
            h.enqueue(&format!("email:test:{}", kind.name()), payload).await;
            if kind != EmailType::InvoiceDisputed {
                expected.push(kind);
            }
        }
        h.run().await;
        let all = h.wait(1 + expected.len()).await;
        let mails: Vec<Mail> = all.iter().map(parse).collect();
        let title = {
            let mut conn = app.store.acquire().await.unwrap();
            abo_store::subscriptions::get(&mut conn, app.business_id, subscription)
                .await
                .unwrap()
                .title
        };
        let mut conn = app.store.acquire().await.unwrap();
        for kind in EmailType::ALL {
            let record = emails::find_by_natural_key(&mut conn, app.business_id, &format!("email:test:{}", kind.name()))
                .await
                .unwrap()
                .unwrap();
            if kind == EmailType::InvoiceDisputed {
                assert_eq!(record.state, "Disabled");
                continue;
            }
            assert_eq!(record.state, "Sent", "{kind}");
            let id = record.message_id.unwrap();
            let mail = mails
                .iter()
                .find(|m| format!("<{}>", m.message_id) == id)
                .unwrap_or_else(|| panic!("{kind}: {id} not received"));
            assert_eq!(Some(&mail.subject), record.subject.as_ref());
            assert_eq!(mail.to, "zoe@customer.example");
            assert_eq!(mail.language, "fr", "{kind}");
            assert!(mail.text.starts_with("Bonjour Camille ZOE,"), "{kind}: {}", mail.text);
            let (purpose, target) = match kind.subject() {
                abo_mail::Subject::Invoice => kind.link(Some(invoice), None),
                abo_mail::Subject::Subscription => kind.link(None, Some(subscription)),
                abo_mail::Subject::PaymentMethod => kind.link(None, None),
                abo_mail::Subject::Customer => unreachable!("{kind} is not automatic"),
            };
            let link = mail.link();
            verify_hosted(&app, &link, customer, purpose, target).await;
            // A GET on the link lands on the page of its purpose, in a session of this customer.
            if purpose == Purpose::InvoicePdf {
                open(&app, &link, "invoice.pdf").await;
            } else {
                open(&app, &link, &abo_web::portal::landing::session_target(purpose, target)).await;
            }
            assert_eq!(mail.pdfs.len(), usize::from(kind.attaches_pdf()), "{kind}");
            if kind.attaches_pdf() {
                assert!(pdf_text(&mail.pdfs[0].1).contains(&number), "{kind}");
            }
            match kind.subject() {
                abo_mail::Subject::Invoice => assert!(mail.text.contains(&number), "{kind}: {}", mail.text),
                abo_mail::Subject::Subscription => assert!(mail.text.contains(&title), "{kind}: {}", mail.text),
                abo_mail::Subject::PaymentMethod => assert!(mail.text.contains("4242"), "{kind}: {}", mail.text),
                abo_mail::Subject::Customer => unreachable!("{kind} is not automatic"),
            }
        }
        drop(conn);
        let card_soon = mails.iter().find(|m| m.subject.contains("expire bientôt")).unwrap();
        assert!(card_soon.text.contains("décembre 2026"), "{}", card_soon.text);
        assert!(card_soon.text.contains("dans 7 jours"), "{}", card_soon.text);
        // Landing pages of the portal's own links.
        let to_home = mails.iter().find(|m| m.subject.contains("expire bientôt")).unwrap().link();
        open(&app, &to_home, "payment-method").await;
        let ended = mails.iter().find(|m| m.subject.contains("est terminé")).unwrap().link();
        open(&app, &ended, "offers").await;
        let at_term = mails.iter().find(|m| m.subject.contains("prendra fin")).unwrap().link();
        open(&app, &at_term, &format!("subscriptions/{subscription}")).await;
    }

    /// A SEPA customer's invoice: the direct-debit notice states the amount and the debit
    /// date (3 days after issue), carries the invoice PDF and a link to it.
    async fn direct_debit_notice_states_amount_and_date(app: TestApp) {
        let h = harness(&app).await;
        let customer = h.customer("sepa", "en", "DirectDebit").await;
        {
            let mut conn = app.store.acquire().await.unwrap();
            abo_store::payments::insert_permission(
                &mut conn,
                &abo_store::payments::NewPermission {
                    business_id: app.business_id,
                    customer_id: customer,
                    type_payment: "DirectDebit".into(),
                    type_gateway: "DirectDebitDummy".into(),
                    gateway_permission_id: "mandate_sepa".into(),
                    state: "Enabled".into(),
                    name_display: "FR76 **** **** 1234".into(),
                    country: Some("FR".into()),
                    date_expiration: None,
                    mandate_reference: Some("RUM-1".into()),
                },
                app.now_us(),
            )
            .await
            .unwrap();
        }
        let (invoice, number) = h.bill("sepa").await;
        h.run().await;
        let mails = h.wait(1).await;
        let mail = parse(&mails[0]);
        let debit = jiff::Timestamp::from_microsecond(app.now_us() + 3 * 86_400_000_000)
            .unwrap()
            .to_zoned(jiff::tz::TimeZone::get("Europe/Paris").unwrap())
            .date();
        let date = debit.strftime("%-d %B %Y").to_string();
        assert_eq!(mail.subject, format!("Direct debit notice: €228.00 on {date}"));
        assert!(mail.text.contains(&format!("We will collect €228.00 by SEPA direct debit from your account FR76 **** **** 1234 on {date}")), "{}", mail.text);
        assert!(mail.text.contains(&number));
        assert_eq!(mail.pdfs.len(), 1);
        assert!(pdf_text(&mail.pdfs[0].1).contains(&number));
        let link = mail.link();
        verify_hosted(&app, &link, customer, Purpose::InvoicePdf, Some(invoice)).await;
        open(&app, &link, "invoice.pdf").await;
    }

    /// Two engines racing over the same outbox send each e-mail exactly once.
    async fn two_engines_send_each_email_once(app: TestApp) {
        let h = harness(&app).await;
        let customer = h.customer("duo", "en", "ExternalBank").await;
        let (invoice, _) = h.bill("duo").await;
        for i in 0..7 {
            h.enqueue(
                &format!("email:invoice={invoice}:InvoiceOverdue:{i}"),
                json!({"Template": "InvoiceOverdue", "IdCustomer": customer, "IdInvoice": invoice}),
            )
            .await;
        }
        let other = Engine::new(app.store.clone()).with_mailer(
            Mailer::new(&SmtpSettings::loopback(h.sink.port(), FROM), &app.base_url).unwrap(),
        );
        let now = app.now_us();
        let (a, b) = tokio::join!(
            h.engine.run_business(app.business_id, now, "node-a"),
            other.run_business(app.business_id, now, "node-b"),
        );
        a.unwrap();
        b.unwrap();
        h.run().await;
        other.run_business(app.business_id, now, "node-b").await.unwrap();
        let mails = h.wait(8).await;
        // Settle: nothing more arrives once every job is done.
        h.run().await;
        assert_eq!(h.sink.messages().len(), 8, "1 invoice e-mail + 7 reminders, once each");
        let mut ids: Vec<String> = mails
            .iter()
            .map(|m| {
                MessageParser::default()
                    .parse(&m.data)
                    .unwrap()
                    .message_id()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 8);
        let mut conn = app.store.acquire().await.unwrap();
        let history = emails::list_for_customer(&mut conn, app.business_id, customer, 100)
            .await
            .unwrap();
        assert_eq!(history.len(), 8);
    }

    /// Off by default: a segment that never switched a type on sends nothing.
    async fn types_are_off_by_default(app: TestApp) {
        let h = harness_with(&app, false).await;
        let customer = h.customer("off", "en", "ExternalBank").await;
        let (invoice, _) = h.bill("off").await;
        h.run().await;
        let mut conn = app.store.acquire().await.unwrap();
        let record = emails::find_by_natural_key(
            &mut conn,
            app.business_id,
            &format!("email:invoice={invoice}:InvoiceNewPaymentOffline"),
        )
        .await
        .unwrap()
        .expect("the job ran");
        assert_eq!(record.state, "Disabled");
        assert_eq!(record.customer_id, Some(customer));
        assert!(h.sink.messages().is_empty());
    }
}
