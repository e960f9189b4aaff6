//! The invoice (or credit note) PDF attached to an e-mail: the issued document's frozen data,
//! copied into `abo_pdf::InvoiceDocument` and typeset.

use abo_core::{Currency, Locale};
use abo_pdf::{
    Buyer, BuyerIdentity, DocumentDates, DocumentKind, DocumentLine, InvoiceDocument, Payment,
    PaymentMethod, PaymentStatus, Seller, TaxBreakdown, Totals,
};
use abo_store::businesses::Business;
use abo_store::invoices::Invoice;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use rust_decimal::Decimal;
use serde_json::Value;

use crate::error::MailError;

/// A file attached to an e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// The civil date of instant `us` in `tz`.
pub fn date_in(us: i64, tz: &TimeZone) -> Option<Date> {
    jiff::Timestamp::from_microsecond(us)
        .ok()
        .map(|t| t.to_zoned(tz.clone()).date())
}

/// The document of an issued invoice or credit note. `credited_number` is the full number of
/// the invoice a credit note credits; `card_last4` prints the card of a card invoice.
pub fn document(
    invoice: &Invoice,
    business: &Business,
    locale: Locale,
    tz: &TimeZone,
    credited_number: Option<String>,
    card_last4: Option<String>,
) -> Result<InvoiceDocument, MailError> {
    let number = invoice
        .full_number
        .clone()
        .ok_or_else(|| MailError::Data(format!("invoice {} is not issued", invoice.id)))?;
    let currency = Currency::from_code(&invoice.currency)
        .map_err(|e| MailError::Data(format!("invoice {}: {e}", invoice.id)))?;
    let issue = invoice
        .date_issue_us
        .and_then(|us| date_in(us, tz))
        .ok_or_else(|| MailError::Data(format!("invoice {} has no issue date", invoice.id)))?;
    let kind = if invoice.is_credit_note {
        DocumentKind::CreditNote {
            credited_invoice: credited_number.unwrap_or_default(),
            reason: invoice.reason.clone(),
        }
    } else {
        DocumentKind::Invoice
    };
    let mut lines = Vec::with_capacity(invoice.lines.len());
    let mut taxes: Vec<TaxBreakdown> = Vec::new();
    for line in &invoice.lines {
        let rate: Decimal = line.tax_rate.parse().unwrap_or(Decimal::ZERO);
        lines.push(DocumentLine {
            label: line.label.clone(),
            period_start: line.date_period_start_us.and_then(|us| date_in(us, tz)),
            // Periods end at an exclusive instant; the PDF prints the last day.
            period_end: line
                .date_period_end_us
                .and_then(|us| date_in(us.saturating_sub(1), tz)),
            quantity: Decimal::from(line.quantity),
            unit_price: (line.unit_amount != 0).then_some(line.unit_amount),
            discount: None,
            amount: line.amount_subtotal,
            tax_rate: rate,
        });
        match taxes.iter_mut().find(|t| t.rate == rate) {
            Some(t) => {
                t.base += line.amount_subtotal;
                t.amount += line.amount_tax;
            }
            None => taxes.push(TaxBreakdown {
                rate,
                base: line.amount_subtotal,
                amount: line.amount_tax,
            }),
        }
    }
    let paid = invoice.state == "Paid" || invoice.date_payment_us.is_some();
    let status = match (invoice.is_credit_note, paid) {
        (false, true) => PaymentStatus::Paid,
        (false, false) => PaymentStatus::Due,
        (true, true) => PaymentStatus::Refunded,
        (true, false) => PaymentStatus::NothingDue,
    };
    let method = match invoice.type_payment.as_str() {
        "Card" => card_last4.map(|last4| PaymentMethod::Card { last4 }),
        "DirectDebit" => Some(PaymentMethod::DirectDebit {
            date: invoice
                .date_payment_scheduled_us
                .or(invoice.date_payment_us)
                .and_then(|us| date_in(us, tz)),
        }),
        "ExternalBank" => Some(PaymentMethod::BankTransfer),
        "ExternalCheck" => Some(PaymentMethod::Check),
        "ExternalCash" => Some(PaymentMethod::Cash),
        "Free" | "" => None,
        other => Some(PaymentMethod::Other { name: other.into() }),
    };
    let buyer_json: Value = invoice
        .buyer
        .as_deref()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    Ok(InvoiceDocument {
        kind,
        number,
        language: locale,
        currency,
        dates: DocumentDates {
            issue,
            due: invoice
                .date_payment_limit_us
                .filter(|_| !invoice.is_credit_note)
                .and_then(|us| date_in(us, tz)),
            payment: invoice.date_payment_us.and_then(|us| date_in(us, tz)),
        },
        seller: Seller {
            name: business.name.clone(),
            address_lines: Vec::new(),
            country: business.country.clone(),
            vat_number: None,
            logo: None,
        },
        buyer: buyer(&buyer_json),
        lines,
        taxes,
        totals: Totals {
            subtotal: invoice.amount_subtotal,
            tax: invoice.amount_tax,
            total: invoice.amount_total,
        },
        payment: Payment {
            status,
            method,
            details: Vec::new(),
        },
        legal_mentions: invoice
            .note
            .as_deref()
            .map(|n| n.lines().map(str::to_owned).collect())
            .unwrap_or_default(),
        footer_lines: Vec::new(),
    })
}

/// The buyer as frozen on the invoice at issue (`Invoice.buyer` JSON snapshot).
fn buyer(snapshot: &Value) -> Buyer {
    let text = |k: &str| {
        snapshot[k]
            .as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let person = match (text("FirstName"), text("LastName")) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (f, l) => f.or(l),
    };
    let identity = match text("Company") {
        Some(name) => BuyerIdentity::Company {
            name,
            contact: person,
        },
        None => BuyerIdentity::Person {
            name: person
                .or_else(|| text("Email"))
                .unwrap_or_else(|| "-".into()),
        },
    };
    let mut address_lines: Vec<String> = [text("AddressLine1"), text("AddressLine2")]
        .into_iter()
        .flatten()
        .collect();
    match (text("ZipCode"), text("City")) {
        (Some(z), Some(c)) => address_lines.push(format!("{z} {c}")),
        (z, c) => address_lines.extend(z.or(c)),
    }
    Buyer {
        identity,
        address_lines,
        country: text("Country").unwrap_or_default(),
        vat_number: text("TaxInformation"),
    }
}

/// Typesets the document (CPU-bound: off the async workers).
pub async fn pdf(document: InvoiceDocument) -> Result<Attachment, MailError> {
    let filename = format!("{}.pdf", sanitize(&document.number));
    let bytes = tokio::task::spawn_blocking(move || abo_pdf::render_pdf(&document))
        .await
        .map_err(|e| MailError::Pdf(e.to_string()))?
        .map_err(|e| MailError::Pdf(e.to_string()))?;
    Ok(Attachment {
        filename,
        content_type: "application/pdf".into(),
        bytes,
    })
}

/// A file name from an invoice number: letters, digits, `-`, `_` and `.` only.
fn sanitize(number: &str) -> String {
    number
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}
