//! The SMTP leg on its own: a rendered e-mail built as MIME by lettre, sent to the loopback
//! SMTP sink, parsed back with mail-parser (an independent MIME implementation).

use std::time::{Duration, SystemTime};

use abo_core::Locale;
use abo_mail::attachment::Attachment;
use abo_mail::render::{Context, render};
use abo_mail::smtp::build_message;
use abo_mail::{EmailType, MailError, Mailer, SmtpSettings, SmtpSink};
use mail_parser::{MessageParser, MimeHeaders};

fn context() -> Context {
    Context {
        lang: "fr".into(),
        seller_name: "Acme".into(),
        customer_name: Some("Léa Martin".into()),
        customer_reference: "lea".into(),
        link: "https://abo.example/pay-invoice/AQEJDsq6G4TwDoC4BoS6FwKz1L7cTd2xYXRxXHFt4Jm2".into(),
        invoice_number: Some("S-00042".into()),
        amount: Some("1\u{202f}234,56\u{a0}€".into()),
        date_issue: Some("1er décembre 2026".into()),
        date_due: Some("31 décembre 2026".into()),
        ..Context::default()
    }
}

#[tokio::test]
async fn a_rendered_email_survives_smtp_and_mime() {
    let sink = SmtpSink::start(0).await.unwrap();
    let mailer = Mailer::new(
        &SmtpSettings::loopback(sink.port(), "Acme Billing <billing@acme.example>"),
        "https://abo.example",
    )
    .unwrap();
    let rendered = render(
        EmailType::InvoiceNewPaymentOffline,
        Locale::Fr,
        &context(),
        true,
        None,
    )
    .unwrap();
    // A line starting with a dot must survive SMTP dot-stuffing.
    let mut rendered = rendered;
    rendered.text.push_str("\n.leading dot\n..two dots\n");
    let pdf = Attachment {
        filename: "S-00042.pdf".into(),
        content_type: "application/pdf".into(),
        bytes: b"%PDF-1.7\n.\r\n.binary-ish\x00\xff\n%%EOF".to_vec(),
    };
    let date = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_000_000);
    let message = build_message(
        mailer.from(),
        "lea@customer.example",
        "fr",
        &rendered,
        std::slice::from_ref(&pdf),
        "<email.1.test@acme.example>",
        date,
    )
    .unwrap();
    mailer.send(message).await.unwrap();

    let received = tokio::time::timeout(Duration::from_secs(30), sink.wait_for(1))
        .await
        .unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].mail_from, "billing@acme.example");
    assert_eq!(received[0].rcpt_to, vec!["lea@customer.example".to_owned()]);
    let m = MessageParser::default().parse(&received[0].data).unwrap();
    assert_eq!(m.subject(), Some(rendered.subject.as_str()));
    assert!(rendered.subject.starts_with("Votre facture S-00042"));
    assert_eq!(m.message_id(), Some("email.1.test@acme.example"));
    assert_eq!(m.header_raw("Content-Language").map(str::trim), Some("fr"));
    assert_eq!(
        m.date().map(|d| d.to_timestamp()),
        Some(1_796_000_000),
        "the Date header is the engine's clock, not the system's"
    );
    // SMTP carries lines as CRLF.
    let text = m.body_text(0).unwrap().replace("\r\n", "\n");
    assert_eq!(text.trim_end(), rendered.text.trim_end());
    assert!(text.contains("1\u{202f}234,56\u{a0}€"));
    assert!(text.contains("\n.leading dot\n..two dots"));
    let html = m.body_html(0).unwrap().replace("\r\n", "\n");
    assert_eq!(html.trim_end(), rendered.html.trim_end());
    let files: Vec<_> = m.attachments().collect();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].attachment_name(), Some("S-00042.pdf"));
    assert_eq!(files[0].contents(), pdf.bytes.as_slice());
    sink.stop();
}

#[tokio::test]
async fn an_unreachable_server_is_a_transient_error() {
    // Bind then drop: the port is (almost certainly) closed.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut settings = SmtpSettings::loopback(port, "billing@acme.example");
    settings.timeout = Duration::from_secs(5);
    let mailer = Mailer::new(&settings, "https://abo.example").unwrap();
    let rendered = render(EmailType::CardExpired, Locale::En, &context(), false, None).unwrap();
    let message = build_message(
        mailer.from(),
        "lea@customer.example",
        "en",
        &rendered,
        &[],
        "<email.2.test@acme.example>",
        SystemTime::UNIX_EPOCH,
    )
    .unwrap();
    match mailer.send(message).await {
        Err(MailError::Smtp { permanent, .. }) => assert!(!permanent, "retry later"),
        other => panic!("expected an SMTP error, got {other:?}"),
    }
}

#[test]
fn credentials_refuse_a_clear_text_remote_server() {
    let settings = SmtpSettings {
        host: "smtp.example.com".into(),
        port: 25,
        tls: abo_mail::TlsMode::None,
        username: Some("user".into()),
        password: Some(abo_mail::Secret("hunter2".into())),
        from: "billing@acme.example".into(),
        timeout: Duration::from_secs(5),
    };
    assert!(matches!(
        Mailer::new(&settings, "https://abo.example"),
        Err(MailError::Config(_))
    ));
    // The password never shows in logs.
    assert!(!format!("{settings:?}").contains("hunter2"));
    let bad_from = SmtpSettings {
        from: "not an address".into(),
        ..SmtpSettings::loopback(25, "x@y.example")
    };
    assert!(matches!(
        Mailer::new(&bad_from, "https://abo.example"),
        Err(MailError::Config(_))
    ));
}
