//! Subject, HTML body and plain-text alternative of an e-mail, from minijinja templates.
//!
//! Abo's defaults are embedded (`templates/{en,fr}.toml`: per type a subject, a plain-text
//! body and a button label; `templates/layout.{html,txt}` wrap the body). A merchant's
//! override (per segment, type and language) replaces the subject, the whole HTML or the
//! whole text, and renders with the same variables ([`Context`]). HTML templates escape every
//! variable; text templates do not.

use std::collections::HashMap;
use std::sync::OnceLock;

use abo_core::Locale;
use abo_store::emails::TemplateOverride;
use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior, Value};
use serde::{Deserialize, Serialize};

use crate::error::MailError;
use crate::types::EmailType;

/// The variables every template sees. Amounts and dates are already formatted in the
/// e-mail's language; absent values are undefined: they print as nothing (test them with
/// `{% if x %}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Context {
    /// `en` or `fr`.
    pub lang: String,
    /// The merchant (business) name.
    pub seller_name: String,
    /// The customer's billing name (company, else first and last name); never the internal
    /// `Name` (spec §1.3: "never shown to the customer").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_email: Option<String>,
    /// The customer's `ReferenceCustomer`.
    pub customer_reference: String,
    /// The button's link (signed; rewritten through crylk when the segment integrates).
    pub link: String,
    /// The invoice or credit note's `FullNumber`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_number: Option<String>,
    /// Total including tax, formatted ("€12.00", "12,00 €").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_subtotal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_tax: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_issue: Option<String>,
    /// `DatePaymentLimit`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_due: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_payment: Option<String>,
    /// When the card is charged or the direct debit collected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_collection: Option<String>,
    /// Why an automatic payment failed (gateway reason, e.g. `InsufficientFunds`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credited_invoice_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_title: Option<String>,
    /// End of the current period (terminations) or the subscription's end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_end: Option<String>,
    /// The payment method as displayed (`****-****-****-4242`, masked IBAN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_name: Option<String>,
    /// "December 2026" / "décembre 2026".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_expiration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_before: Option<i64>,
    /// `HostedLinkSent`: which hosted page the link opens (`SubscribeCustom`,
    /// `PaymentMethod`, `Charge`...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_kind: Option<String>,
    /// `HostedLinkSent`: the offer the link subscribes to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offer_name: Option<String>,
    /// `HostedLinkSent`: the merchant's own words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A rendered e-mail, ready to be put in a MIME message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub html: String,
    pub text: String,
}

#[derive(Debug, Deserialize)]
struct Defaults {
    layout: LayoutTexts,
    #[serde(flatten)]
    types: HashMap<String, TypeTexts>,
}

#[derive(Debug, Deserialize)]
struct LayoutTexts {
    link_hint: String,
    attachment_hint: String,
    footer: String,
}

#[derive(Debug, Deserialize)]
struct TypeTexts {
    subject: String,
    body: String,
    action: String,
}

const EN: &str = include_str!("../templates/en.toml");
const FR: &str = include_str!("../templates/fr.toml");
const LAYOUT_HTML: &str = include_str!("../templates/layout.html");
const LAYOUT_TEXT: &str = include_str!("../templates/layout.txt");

fn defaults(locale: Locale) -> &'static Defaults {
    static EN_DEFAULTS: OnceLock<Defaults> = OnceLock::new();
    static FR_DEFAULTS: OnceLock<Defaults> = OnceLock::new();
    let (cell, source) = match locale {
        Locale::En => (&EN_DEFAULTS, EN),
        Locale::Fr => (&FR_DEFAULTS, FR),
    };
    // The embedded files are checked by the `every_type_has_default_texts` test.
    cell.get_or_init(|| toml::from_str(source).expect("embedded e-mail templates parse"))
}

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // A typo in a merchant's template prints nothing rather than failing every e-mail.
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        // Bounds a merchant template's loops: an e-mail never needs much.
        env.set_fuel(Some(100_000));
        env
    })
}

/// The language an e-mail is written in: the payload's, else the customer's, else the
/// segment's; English when none is French.
pub fn language(candidates: &[Option<&str>]) -> Locale {
    candidates
        .iter()
        .flatten()
        .find_map(|tag| Locale::parse(tag))
        .unwrap_or(Locale::En)
}

/// Renders `kind` in `locale` with `ctx`, using the merchant's `custom` parts where given.
///
/// Errors: [`MailError::Template`] when a (merchant) template does not compile or render.
pub fn render(
    kind: EmailType,
    locale: Locale,
    ctx: &Context,
    has_attachment: bool,
    custom: Option<&TemplateOverride>,
) -> Result<Rendered, MailError> {
    let env = environment();
    let texts = defaults(locale);
    let own = texts
        .types
        .get(kind.name())
        .ok_or_else(|| MailError::Template(format!("no default texts for {kind}")))?;
    let base = Value::from(Serde(ctx));
    let tpl = |name: &str, source: &str, vars: &Value| -> Result<String, MailError> {
        env.render_named_str(name, source, vars.clone())
            .map_err(|e| MailError::Template(format!("{kind} ({locale}) {name}: {e:#}")))
    };
    let subject_source = custom
        .and_then(|c| c.subject.as_deref())
        .unwrap_or(&own.subject);
    let subject = one_line(&tpl("subject.txt", subject_source, &base)?);
    let body = tpl("body.txt", &own.body, &base)?;
    let paragraphs: Vec<String> = body
        .split("\n\n")
        // Reflow each paragraph, keeping the no-break spaces of formatted amounts.
        .map(|p| p.split_ascii_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect();
    let action = one_line(&tpl("action.txt", &own.action, &base)?);
    let layout = Value::from(std::collections::BTreeMap::from([
        ("subject", Value::from(subject.clone())),
        ("paragraphs", Value::from(paragraphs)),
        ("action", Value::from(action)),
        ("has_attachment", Value::from(has_attachment)),
        (
            "link_hint",
            Value::from(tpl("hint.txt", &texts.layout.link_hint, &base)?),
        ),
        (
            "attachment_hint",
            Value::from(tpl("attach.txt", &texts.layout.attachment_hint, &base)?),
        ),
        (
            "footer",
            Value::from(tpl("footer.txt", &texts.layout.footer, &base)?),
        ),
    ]));
    let vars = minijinja::context! { ..layout, ..base };
    let html_source = custom
        .and_then(|c| c.body_html.as_deref())
        .unwrap_or(LAYOUT_HTML);
    let text_source = custom
        .and_then(|c| c.body_text.as_deref())
        .unwrap_or(LAYOUT_TEXT);
    Ok(Rendered {
        subject,
        html: tpl("body.html", html_source, &vars)?,
        text: tpl("body.txt", text_source, &vars)?,
    })
}

/// Header-safe: one line, no control characters, trimmed.
fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_control())
        .flat_map(str::split_ascii_whitespace)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(lang: &str) -> Context {
        Context {
            lang: lang.into(),
            seller_name: "Acme <SaaS>".into(),
            customer_name: Some("Ada".into()),
            customer_reference: "ada".into(),
            link: "https://abo.example/pay-invoice/T?x=1&y=2".into(),
            invoice_number: Some("S-00001".into()),
            amount: Some("€12.00".into()),
            date_issue: Some("1 December 2026".into()),
            date_due: Some("31 December 2026".into()),
            date_collection: Some("4 December 2026".into()),
            subscription_title: Some("Pro".into()),
            date_end: Some("1 January 2027".into()),
            card_name: Some("****-****-****-4242".into()),
            card_expiration: Some("December 2026".into()),
            days_before: Some(7),
            ..Context::default()
        }
    }

    #[test]
    fn every_type_has_default_texts_in_every_language() {
        for locale in [Locale::En, Locale::Fr] {
            for kind in EmailType::ALL {
                let r = render(kind, locale, &ctx(&locale.to_string()), true, None).unwrap();
                assert!(!r.subject.is_empty(), "{kind} {locale}");
                assert!(r.text.contains("https://abo.example/pay-invoice/T?x=1&y=2"));
                // HTML escapes the link's `&` and the seller's `<`.
                assert!(r.html.contains("T?x=1&amp;y=2"), "{kind} {}", r.html);
                assert!(r.html.contains("Acme &lt;SaaS&gt;"));
                assert!(!r.text.contains("&amp;"));
            }
        }
    }

    #[test]
    fn french_is_french() {
        let r = render(
            EmailType::InvoiceNewPaymentOffline,
            Locale::Fr,
            &ctx("fr"),
            true,
            None,
        )
        .unwrap();
        assert!(
            r.subject.starts_with("Votre facture S-00001"),
            "{}",
            r.subject
        );
        assert!(r.text.contains("Bonjour Ada,"), "{}", r.text);
        assert!(r.text.contains("Payer la facture: https://"));
    }

    #[test]
    fn merchant_override_replaces_parts_and_escapes_html() {
        let custom = TemplateOverride {
            subject: Some("Facture {{ invoice_number }}\r\nBcc: x@y".into()),
            body_html: Some("<p>{{ customer_name }} {{ seller_name }}</p>".into()),
            body_text: None,
        };
        let r = render(
            EmailType::InvoiceNewPaid,
            Locale::En,
            &ctx("en"),
            false,
            Some(&custom),
        )
        .unwrap();
        assert_eq!(r.subject, "Facture S-00001 Bcc: x@y");
        assert_eq!(r.html, "<p>Ada Acme &lt;SaaS&gt;</p>");
        assert!(r.text.contains("View the invoice: https://"));
    }

    #[test]
    fn absent_values_print_nothing() {
        let ctx = Context {
            lang: "en".into(),
            seller_name: "Acme".into(),
            link: "https://abo.example/x".into(),
            ..Context::default()
        };
        let r = render(EmailType::InvoiceOverdue, Locale::En, &ctx, false, None).unwrap();
        assert!(r.text.starts_with("Hello,"), "{}", r.text);
        assert!(
            !r.text.contains("None") && !r.text.contains("none"),
            "{}",
            r.text
        );
    }

    #[test]
    fn broken_override_is_an_error() {
        let custom = TemplateOverride {
            subject: Some("{% if %}".into()),
            ..TemplateOverride::default()
        };
        let err = render(
            EmailType::InvoiceNewPaid,
            Locale::En,
            &ctx("en"),
            false,
            Some(&custom),
        )
        .unwrap_err();
        assert!(matches!(err, MailError::Template(_)));
    }
}
