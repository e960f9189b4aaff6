//! Switching e-mail types on and off per segment (ProAbono: Settings → Client Emails →
//! Selection of Automatic Emails; all off by default), and the merchant's own wording of each
//! type per language. Overrides are rendered before they are stored: a template that does
//! not render is refused with minijinja's message, never stored (it would fail every e-mail).

use abo_core::Locale;
use abo_store::emails::TemplateOverride;
use abo_store::{AnyConnection, emails};

use crate::error::MailError;
use crate::render::{self, Context};
use crate::types::EmailType;

/// Switches `kind` on or off for the segment.
pub async fn set_enabled(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
    kind: EmailType,
    enabled: bool,
    now_us: i64,
) -> Result<(), MailError> {
    abo_store::segments::get(conn, business_id, segment_id).await?;
    emails::set_enabled(conn, business_id, segment_id, kind.name(), enabled, now_us).await?;
    Ok(())
}

/// Switches every type on for the segment (what `abo demo` does).
pub async fn enable_all(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
    now_us: i64,
) -> Result<(), MailError> {
    for kind in EmailType::ALL {
        set_enabled(conn, business_id, segment_id, kind, true, now_us).await?;
    }
    Ok(())
}

/// The types switched on for the segment.
pub async fn enabled(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
) -> Result<Vec<EmailType>, MailError> {
    Ok(emails::enabled_types(conn, business_id, segment_id)
        .await?
        .iter()
        .filter_map(|name| EmailType::parse(name))
        .collect())
}

/// The languages e-mails are written in (and templates overridden for).
pub const LANGUAGES: [Locale; 2] = [Locale::En, Locale::Fr];

/// The longest template part accepted (an e-mail body, not a web site).
pub const MAX_TEMPLATE_BYTES: usize = 64 * 1024;

fn invalid(field: &str, message: impl Into<String>) -> MailError {
    MailError::Invalid {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// The e-mail type named `name` (as in payloads: `InvoiceNewPaid`..., in any case: API
/// paths are matched in lower case too). Errors: [`MailError::Invalid`] listing the names.
pub fn parse_type(name: &str) -> Result<EmailType, MailError> {
    let name = name.trim();
    let found = EmailType::ALL
        .into_iter()
        .chain(EmailType::ON_REQUEST)
        .find(|t| t.name().eq_ignore_ascii_case(name));
    found.ok_or_else(|| {
        let known: Vec<&str> = EmailType::ALL
            .iter()
            .chain(EmailType::ON_REQUEST.iter())
            .map(|t| t.name())
            .collect();
        invalid(
            "Type",
            format!(
                "unknown e-mail type {name:?}; the types are {}",
                known.join(", ")
            ),
        )
    })
}

/// `en` or `fr`. Errors: [`MailError::Invalid`] on `Language`.
pub fn parse_language(tag: &str) -> Result<Locale, MailError> {
    LANGUAGES
        .into_iter()
        .find(|l| l.to_string().eq_ignore_ascii_case(tag.trim()))
        .ok_or_else(|| invalid("Language", format!("unknown language {tag:?}: en or fr")))
}

/// Variables with every value set, so a merchant template is rendered through all its
/// branches' variables before it is stored.
fn sample_context(locale: Locale) -> Context {
    let some = |s: &str| Some(s.to_owned());
    Context {
        lang: locale.to_string(),
        seller_name: "Sample seller".into(),
        customer_name: some("Sample customer"),
        customer_email: some("customer@example.com"),
        customer_reference: "sample-customer".into(),
        link: "https://abo.example/portal-auth/sample".into(),
        invoice_number: some("S-00001"),
        amount: some("€12.00"),
        amount_subtotal: some("€10.00"),
        amount_tax: some("€2.00"),
        date_issue: some("1 December 2026"),
        date_due: some("31 December 2026"),
        date_payment: some("2 December 2026"),
        date_collection: some("4 December 2026"),
        reason: some("InsufficientFunds"),
        credited_invoice_number: some("S-00000"),
        subscription_title: some("Pro"),
        date_end: some("1 January 2027"),
        card_name: some("****-****-****-4242"),
        card_expiration: some("December 2026"),
        days_before: Some(7),
        link_kind: some("SubscribeCustom"),
        offer_name: some("Enterprise"),
        message: some("As discussed on the phone."),
    }
}

/// Checks a merchant's override of `kind` in `locale`: each part at most
/// [`MAX_TEMPLATE_BYTES`], and the e-mail renders with it. Errors: [`MailError::Invalid`]
/// carrying minijinja's message (with the line), so the merchant can fix the template.
pub fn check_template(
    kind: EmailType,
    locale: Locale,
    custom: &TemplateOverride,
) -> Result<(), MailError> {
    for (field, part) in [
        ("Subject", &custom.subject),
        ("BodyHtml", &custom.body_html),
        ("BodyText", &custom.body_text),
    ] {
        if part.as_ref().is_some_and(|p| p.len() > MAX_TEMPLATE_BYTES) {
            return Err(invalid(
                field,
                format!("{field} is longer than {MAX_TEMPLATE_BYTES} bytes"),
            ));
        }
    }
    match render::render(kind, locale, &sample_context(locale), true, Some(custom)) {
        Ok(_) => Ok(()),
        Err(MailError::Template(message)) => Err(invalid("Template", message)),
        Err(e) => Err(e),
    }
}

/// One type's settings in one segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeSettings {
    pub kind: EmailType,
    /// Always true for the types sent on request.
    pub enabled: bool,
    /// The merchant's overrides, per language (languages without one use Abo's wording).
    pub templates: Vec<(Locale, TemplateOverride)>,
}

/// The settings of `kind` for the segment.
pub async fn type_settings(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
    kind: EmailType,
) -> Result<TypeSettings, MailError> {
    let enabled = !kind.is_automatic()
        || emails::is_enabled(conn, business_id, segment_id, kind.name()).await?;
    let mut templates = Vec::new();
    for locale in LANGUAGES {
        let found = emails::template_override(
            conn,
            business_id,
            segment_id,
            kind.name(),
            &locale.to_string(),
        )
        .await?;
        if let Some(custom) = found {
            templates.push((locale, custom));
        }
    }
    Ok(TypeSettings {
        kind,
        enabled,
        templates,
    })
}

/// What to change in one type's settings; `None` keeps what is stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypeSettingsUpdate {
    pub enabled: Option<bool>,
    /// The complete set of overrides: languages left out go back to Abo's wording.
    pub templates: Option<Vec<(Locale, TemplateOverride)>>,
}

/// Checks everything in `update` first (an unknown or twice-given language, a template that
/// does not render, switching off a type sent on request), then stores it: nothing is stored
/// when anything is wrong. Run it in a transaction to make the stores atomic.
pub async fn update_type(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
    kind: EmailType,
    update: &TypeSettingsUpdate,
    now_us: i64,
) -> Result<TypeSettings, MailError> {
    abo_store::segments::get(conn, business_id, segment_id).await?;
    if update.enabled == Some(false) && !kind.is_automatic() {
        return Err(invalid(
            "Enabled",
            format!("{kind} is sent when the merchant asks for it: it cannot be switched off"),
        ));
    }
    if let Some(templates) = &update.templates {
        for (i, (locale, custom)) in templates.iter().enumerate() {
            if templates[..i].iter().any(|(l, _)| l == locale) {
                return Err(invalid(
                    "Language",
                    format!("language {locale} is given twice"),
                ));
            }
            check_template(kind, *locale, custom)?;
        }
    }
    if let Some(enabled) = update.enabled
        && kind.is_automatic()
    {
        emails::set_enabled(conn, business_id, segment_id, kind.name(), enabled, now_us).await?;
    }
    if let Some(templates) = &update.templates {
        for locale in LANGUAGES {
            let custom = templates
                .iter()
                .find(|(l, _)| *l == locale)
                .map(|(_, c)| c.clone())
                .unwrap_or_default();
            emails::set_template_override(
                conn,
                business_id,
                segment_id,
                kind.name(),
                &locale.to_string(),
                &custom,
                now_us,
            )
            .await?;
        }
    }
    type_settings(conn, business_id, segment_id, kind).await
}
