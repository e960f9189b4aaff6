//! The demo's local mailbox: an SMTP server on loopback receiving the customer e-mails of
//! `abo demo`, and pages on the Abo server to read them (`/demo/mailbox`), so a newcomer can
//! click the links the e-mails carry. Only `abo demo` mounts it.

use abo_mail::{ReceivedMail, SmtpSink};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use mail_parser::{MessageParser, MimeHeaders};

/// The `From` of the demo's e-mails.
pub const DEMO_FROM: &str = "Abo demo <billing@abo-demo.localhost>";

/// Starts the SMTP sink on a free loopback port.
pub async fn start() -> anyhow::Result<SmtpSink> {
    Ok(SmtpSink::start(0).await?)
}

/// `/demo/mailbox` (list), `/demo/mailbox/{id}` (one e-mail), `/demo/mailbox/{id}/html` (its
/// HTML body) and `/demo/mailbox/{id}/attachments/{n}` (its files).
pub fn routes(sink: SmtpSink) -> Router {
    Router::new()
        .route("/demo/mailbox", get(list))
        .route("/demo/mailbox/{id}", get(show))
        .route("/demo/mailbox/{id}/html", get(html_body))
        .route("/demo/mailbox/{id}/attachments/{n}", get(attachment))
        .with_state(sink)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>body{{font-family:sans-serif;margin:2rem;max-width:70rem}}\
         table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #ddd;\
         padding:.4rem;text-align:left}}pre{{white-space:pre-wrap;background:#f6f6f6;\
         padding:1rem}}iframe{{width:100%;height:40rem;border:1px solid #ccc}}</style>\
         </head><body>{body}</body></html>",
        esc(title)
    ))
}

struct Summary {
    from: String,
    to: String,
    subject: String,
    date: String,
}

fn summary(mail: &ReceivedMail) -> Summary {
    let parsed = MessageParser::default().parse(&mail.data);
    let addr = |a: Option<&mail_parser::Address<'_>>| {
        a.and_then(|a| a.first())
            .and_then(|a| a.address.as_deref())
            .unwrap_or_default()
            .to_owned()
    };
    match parsed {
        Some(m) => Summary {
            from: addr(m.from()),
            to: addr(m.to()),
            subject: m.subject().unwrap_or("(no subject)").to_owned(),
            date: m.date().map(|d| d.to_rfc3339()).unwrap_or_default(),
        },
        None => Summary {
            from: mail.mail_from.clone(),
            to: mail.rcpt_to.join(", "),
            subject: "(unreadable message)".into(),
            date: String::new(),
        },
    }
}

async fn list(State(sink): State<SmtpSink>) -> Html<String> {
    let mut rows = String::new();
    for mail in sink.messages().iter().rev() {
        let s = summary(mail);
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td><a href=\"/demo/mailbox/{}\">{}</a></td><td>{}</td></tr>",
            esc(&s.date),
            esc(&s.to),
            mail.id,
            esc(&s.subject),
            esc(&s.from),
        ));
    }
    if rows.is_empty() {
        rows = "<tr><td colspan=\"4\">No e-mail yet. Customer e-mails (invoices, payment \
                notices...) arrive here as the demo bills its customers.</td></tr>"
            .into();
    }
    page(
        "Demo mailbox",
        &format!(
            "<h1>Demo mailbox</h1><p>Every customer e-mail Abo sends in this demo lands here \
             (SMTP on 127.0.0.1:{}). Newest first.</p><table><tr><th>Date</th><th>To</th>\
             <th>Subject</th><th>From</th></tr>{rows}</table>",
            sink.port()
        ),
    )
}

/// Turns the absolute links of a plain-text body into anchors.
fn linkify(text: &str) -> String {
    let mut out = String::new();
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let words: Vec<String> = line
            .split(' ')
            .map(|w| {
                if w.starts_with("http://") || w.starts_with("https://") {
                    format!("<a href=\"{0}\">{0}</a>", esc(w))
                } else {
                    esc(w)
                }
            })
            .collect();
        out.push_str(&words.join(" "));
    }
    out
}

async fn show(State(sink): State<SmtpSink>, Path(id): Path<u64>) -> Response {
    let Some(mail) = sink.message(id) else {
        return (StatusCode::NOT_FOUND, "no such e-mail").into_response();
    };
    let s = summary(&mail);
    let parsed = MessageParser::default().parse(&mail.data);
    let text = parsed
        .as_ref()
        .and_then(|m| m.body_text(0).map(|t| t.replace("\r\n", "\n")))
        .unwrap_or_default();
    let mut files = String::new();
    if let Some(m) = &parsed {
        for (n, part) in m.attachments().enumerate() {
            files.push_str(&format!(
                "<li><a href=\"/demo/mailbox/{id}/attachments/{n}\">{}</a></li>",
                esc(part.attachment_name().unwrap_or("attachment"))
            ));
        }
    }
    let files = if files.is_empty() {
        String::new()
    } else {
        format!("<h2>Attachments</h2><ul>{files}</ul>")
    };
    page(
        &s.subject,
        &format!(
            "<p><a href=\"/demo/mailbox\">← Mailbox</a></p><h1>{}</h1>\
             <p>From {} to {} — {}</p>{files}<h2>HTML</h2>\
             <iframe src=\"/demo/mailbox/{id}/html\" title=\"HTML body\"></iframe>\
             <h2>Plain text</h2><pre>{}</pre>",
            esc(&s.subject),
            esc(&s.from),
            esc(&s.to),
            esc(&s.date),
            linkify(&text),
        ),
    )
    .into_response()
}

async fn html_body(State(sink): State<SmtpSink>, Path(id): Path<u64>) -> Response {
    let Some(mail) = sink.message(id) else {
        return (StatusCode::NOT_FOUND, "no such e-mail").into_response();
    };
    let html = MessageParser::default()
        .parse(&mail.data)
        .and_then(|m| m.body_html(0).map(|h| h.into_owned()))
        .unwrap_or_default();
    // Links open in the whole tab (not inside the frame); no script runs.
    let html = html.replacen("<head>", "<head><base target=\"_top\">", 1);
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, "script-src 'none'"),
        ],
        html,
    )
        .into_response()
}

async fn attachment(State(sink): State<SmtpSink>, Path((id, n)): Path<(u64, usize)>) -> Response {
    let Some(mail) = sink.message(id) else {
        return (StatusCode::NOT_FOUND, "no such e-mail").into_response();
    };
    let Some(parsed) = MessageParser::default().parse(&mail.data) else {
        return (StatusCode::NOT_FOUND, "unreadable e-mail").into_response();
    };
    let Some(part) = parsed.attachments().nth(n) else {
        return (StatusCode::NOT_FOUND, "no such attachment").into_response();
    };
    let content_type = part
        .content_type()
        .map(|c| match c.subtype() {
            Some(sub) => format!("{}/{}", c.ctype(), sub),
            None => c.ctype().to_owned(),
        })
        .unwrap_or_else(|| "application/octet-stream".into());
    (
        [(header::CONTENT_TYPE, content_type)],
        part.contents().to_vec(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use abo_core::Locale;
    use abo_mail::attachment::Attachment;
    use abo_mail::render::{Context, render};
    use abo_mail::smtp::build_message;
    use abo_mail::{EmailType, Mailer, SmtpSettings};
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn get(app: &Router, path: &str) -> (StatusCode, String, Vec<u8>) {
        let r = app
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = r.status();
        let ct = r
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        (status, ct, body)
    }

    /// An e-mail sent over SMTP to the demo mailbox is listed, shown with its clickable
    /// link, its HTML body and its PDF.
    #[tokio::test]
    async fn received_emails_are_listed_and_shown_with_links() {
        let sink = start().await.unwrap();
        let app = routes(sink.clone());
        let (status, _, body) = get(&app, "/demo/mailbox").await;
        assert_eq!(status, 200);
        assert!(String::from_utf8_lossy(&body).contains("No e-mail yet"));

        let mailer = Mailer::new(
            &SmtpSettings::loopback(sink.port(), DEMO_FROM),
            "http://127.0.0.1:8080",
        )
        .unwrap();
        let link = "http://127.0.0.1:8080/pay-invoice/AQEJDsq6G4TwDoC4BoS6FwKz1L7cTd2xYXRxXHFt4Jm2";
        let ctx = Context {
            lang: "en".into(),
            seller_name: "Abo demo".into(),
            customer_reference: "ada".into(),
            link: link.into(),
            invoice_number: Some("S-1.00000007".into()),
            amount: Some("€22.80".into()),
            ..Context::default()
        };
        let rendered = render(EmailType::InvoiceOverdue, Locale::En, &ctx, true, None).unwrap();
        let pdf = Attachment {
            filename: "S-1.00000007.pdf".into(),
            content_type: "application/pdf".into(),
            bytes: b"%PDF-1.7 demo".to_vec(),
        };
        let message = build_message(
            mailer.from(),
            "ada@example.com",
            "en",
            &rendered,
            &[pdf],
            "<email.1.demo@abo-demo.localhost>",
            std::time::SystemTime::UNIX_EPOCH,
        )
        .unwrap();
        mailer.send(message).await.unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(30), sink.wait_for(1))
            .await
            .unwrap();

        let (_, _, body) = get(&app, "/demo/mailbox").await;
        let list = String::from_utf8_lossy(&body).into_owned();
        assert!(list.contains("ada@example.com"), "{list}");
        assert!(list.contains("href=\"/demo/mailbox/1\""), "{list}");
        assert!(list.contains("S-1.00000007 is overdue"), "{list}");

        let (status, _, body) = get(&app, "/demo/mailbox/1").await;
        assert_eq!(status, 200);
        let page = String::from_utf8_lossy(&body).into_owned();
        assert!(
            page.contains(&format!("<a href=\"{link}\">{link}</a>")),
            "{page}"
        );
        assert!(page.contains("/demo/mailbox/1/attachments/0"), "{page}");

        let (status, ct, body) = get(&app, "/demo/mailbox/1/html").await;
        assert_eq!(status, 200);
        assert!(ct.starts_with("text/html"));
        let html = String::from_utf8_lossy(&body).into_owned();
        assert!(html.contains("<base target=\"_top\">"));
        assert!(html.contains("Pay the invoice"));

        let (status, ct, body) = get(&app, "/demo/mailbox/1/attachments/0").await;
        assert_eq!(status, 200);
        assert_eq!(ct, "application/pdf");
        assert_eq!(body, b"%PDF-1.7 demo");

        assert_eq!(get(&app, "/demo/mailbox/9").await.0, 404);
        sink.stop();
    }
}
