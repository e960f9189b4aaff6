//! Everything an e-mail needs, read from the store: the recipient, the language, the
//! template variables, the signed link and the document to attach.

use abo_core::{Currency, Locale, Money};
use abo_links::DEFAULT_LINK_TTL_SECS;
use abo_pdf::InvoiceDocument;
use abo_store::customers::Customer;
use abo_store::emails::{self, TemplateOverride};
use abo_store::{
    AnyConnection, businesses, customers, invoices, payments, segments, subscriptions,
};
use jiff::tz::TimeZone;

use crate::attachment::{self, date_in};
use crate::error::MailError;
use crate::payload::EmailJob;
use crate::render::{self, Context};

/// An e-mail ready to render, or the reason it is not sent.
#[derive(Debug)]
pub enum Prepared {
    /// The type is switched off for the customer's segment.
    Disabled {
        language: Locale,
    },
    /// The customer has no e-mail address.
    NoRecipient {
        language: Locale,
    },
    Ready(Box<ReadyEmail>),
}

#[derive(Debug)]
pub struct ReadyEmail {
    pub recipient: String,
    pub language: Locale,
    pub context: Context,
    pub custom: Option<TemplateOverride>,
    /// The invoice to attach, when the type attaches one.
    pub document: Option<InvoiceDocument>,
}

/// Reads what `job` needs, in business `business_id`; `base_url` is where the hosted pages
/// are served (links are signed for 7 days from `now_us`).
pub async fn prepare(
    conn: &mut AnyConnection,
    base_url: &str,
    business_id: i64,
    job: &EmailJob,
    now_us: i64,
) -> Result<Prepared, MailError> {
    let customer = customers::get(conn, business_id, job.customer_id).await?;
    let segment = segments::get(conn, business_id, customer.segment_id).await?;
    let business = businesses::get(conn, business_id).await?;
    let locale = render::language(&[
        job.language.as_deref(),
        customer.language.as_deref(),
        Some(segment.locale.as_str()),
        Some(business.default_language.as_str()),
    ]);
    if job.kind.is_automatic()
        && !emails::is_enabled(conn, business_id, segment.id, job.kind.name()).await?
    {
        return Ok(Prepared::Disabled { language: locale });
    }
    let Some(recipient) = job
        .to
        .clone()
        .or_else(|| customer.email.clone())
        .filter(|e| !e.trim().is_empty())
    else {
        return Ok(Prepared::NoRecipient { language: locale });
    };
    let tz = TimeZone::get(&segment.time_zone).unwrap_or(TimeZone::UTC);
    let date = |us: Option<i64>| {
        us.and_then(|us| date_in(us, &tz))
            .map(|d| abo_pdf::format_date(d, locale))
    };
    let mut ctx = Context {
        lang: locale.to_string(),
        seller_name: business.name.clone(),
        customer_name: billing_name(&customer),
        customer_email: Some(recipient.clone()),
        customer_reference: customer.reference.clone(),
        reason: job.reason.clone(),
        days_before: job.days_before,
        link_kind: job
            .link_kind
            .map(|k| crate::send_link::kind_name(k).to_owned()),
        message: job.message.clone(),
        ..Context::default()
    };
    let mut document = None;
    if let Some(invoice_id) = job.invoice_id {
        let invoice = invoices::get(conn, business_id, invoice_id).await?;
        check_owner(invoice.customer_id, &customer, "invoice", invoice_id)?;
        let money = |minor: i64| -> Option<String> {
            Currency::from_code(&invoice.currency)
                .ok()
                .map(|c| Money::new(minor, c).format(locale))
        };
        let credited = match invoice.credited_invoice_id {
            Some(id) => invoices::get(conn, business_id, id).await?.full_number,
            None => None,
        };
        let permission =
            payments::current_permission(conn, business_id, customer.id, &invoice.type_payment)
                .await?;
        ctx.invoice_number = invoice.full_number.clone();
        ctx.amount = money(invoice.amount_total);
        ctx.amount_subtotal = money(invoice.amount_subtotal);
        ctx.amount_tax = money(invoice.amount_tax);
        ctx.date_issue = date(invoice.date_issue_us);
        ctx.date_due = date(invoice.date_payment_limit_us);
        ctx.date_payment = date(invoice.date_payment_us);
        ctx.date_collection = date(
            job.date_payment_scheduled_us
                .or(invoice.date_payment_scheduled_us)
                .or(invoice.date_issue_us),
        );
        ctx.credited_invoice_number = credited.clone();
        ctx.card_name = permission.as_ref().map(|p| p.name_display.clone());
        // A direct-debit notice states what was announced when it was enqueued.
        if let (Some(amount), Some(code)) = (job.amount_total, job.currency.as_deref())
            && let Ok(currency) = Currency::from_code(code)
        {
            ctx.amount = Some(Money::new(amount, currency).format(locale));
        }
        if job.kind.attaches_pdf() {
            let last4 = permission.as_ref().map(|p| last4(&p.name_display));
            document = Some(attachment::document(
                &invoice, &business, locale, &tz, credited, last4,
            )?);
        }
    }
    if let Some(subscription_id) = job.subscription_id {
        let sub = subscriptions::get(conn, business_id, subscription_id).await?;
        if sub.customer_id != customer.id && sub.customer_buyer_id != customer.id {
            return Err(MailError::Data(format!(
                "subscription {subscription_id} is not customer {}'s",
                customer.id
            )));
        }
        ctx.subscription_title = Some(sub.title.clone());
        ctx.date_end = date(
            sub.date_end_us
                .or(sub.date_term_us)
                .or(sub.date_period_end_us),
        );
    }
    if let Some(permission_id) = job.permission_id {
        let permission = payments::get_permission(conn, business_id, permission_id).await?;
        check_owner(
            permission.customer_id,
            &customer,
            "payment method",
            permission_id,
        )?;
        ctx.card_name = Some(permission.name_display.clone());
        ctx.card_expiration = permission
            .date_expiration
            .as_deref()
            .and_then(|d| d.parse::<jiff::civil::Date>().ok())
            .map(|d| abo_pdf::format_month_year(d, locale));
    }
    if let Some(offer_id) = job.offer_id {
        let offer = abo_store::offers::get(conn, business_id, offer_id).await?;
        if offer.segment_id != customer.segment_id {
            return Err(MailError::Data(format!(
                "offer {offer_id} is not in customer {}'s segment",
                customer.id
            )));
        }
        ctx.offer_name = Some(offer.name.clone());
    }
    let (purpose, target) = job.link();
    let link = abo_service::links::customer_link(
        conn,
        base_url,
        business_id,
        customer.id,
        purpose,
        target,
        DEFAULT_LINK_TTL_SECS,
        now_us,
    )
    .await?;
    ctx.link = link.url;
    let custom = emails::template_override(
        conn,
        business_id,
        segment.id,
        job.kind.name(),
        &locale.to_string(),
    )
    .await?;
    Ok(Prepared::Ready(Box::new(ReadyEmail {
        recipient,
        language: locale,
        context: ctx,
        custom,
        document,
    })))
}

fn check_owner(owner: i64, customer: &Customer, what: &str, id: i64) -> Result<(), MailError> {
    if owner == customer.id {
        Ok(())
    } else {
        Err(MailError::Data(format!(
            "{what} {id} is not customer {}'s",
            customer.id
        )))
    }
}

/// The name the customer gave for billing: the company, else first and last name.
fn billing_name(customer: &Customer) -> Option<String> {
    let a = &customer.billing_address;
    let clean = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    clean(&a.company).or_else(|| match (clean(&a.first_name), clean(&a.last_name)) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (f, l) => f.or(l),
    })
}

/// The last four digits of a displayed card (`****-****-****-4242`).
fn last4(display: &str) -> String {
    let digits: Vec<char> = display.chars().filter(char::is_ascii_digit).collect();
    digits[digits.len().saturating_sub(4)..].iter().collect()
}
