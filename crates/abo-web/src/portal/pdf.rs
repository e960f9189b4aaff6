//! An issued invoice (or credit note) as an `abo_pdf::InvoiceDocument`: the frozen data of
//! the invoice (its lines, totals and buyer snapshot taken at issue), the seller from the
//! business, the language of the customer.

use abo_core::{Currency, Locale};
use abo_pdf::{
    Buyer, BuyerIdentity, DocumentDates, DocumentKind, DocumentLine, InvoiceDocument, Payment,
    PaymentStatus, Seller, TaxBreakdown, Totals,
};
use abo_store::businesses::Business;
use abo_store::invoices::Invoice;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::BTreeMap;
use std::str::FromStr;

use super::format::local_date;

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Builds the document. `credited_number` is the full number of the credited invoice, for a
/// credit note.
pub fn document(
    invoice: &Invoice,
    business: &Business,
    locale: Locale,
    tz: &TimeZone,
    credited_number: Option<String>,
) -> Result<InvoiceDocument, String> {
    let currency = Currency::from_str(&invoice.currency).map_err(|e| e.to_string())?;
    let date = |us: Option<i64>| us.and_then(|u| local_date(u, tz));
    let issue: Date = date(invoice.date_issue_us)
        .or_else(|| local_date(invoice.created_at_us, tz))
        .ok_or("invoice without a date")?;
    let snapshot: Value = invoice
        .buyer
        .as_deref()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    let person = [text(&snapshot, "FirstName"), text(&snapshot, "LastName")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let identity = match text(&snapshot, "Company") {
        Some(name) => BuyerIdentity::Company {
            name,
            contact: (!person.is_empty()).then_some(person),
        },
        None => BuyerIdentity::Person {
            name: if person.is_empty() {
                text(&snapshot, "Name").unwrap_or_default()
            } else {
                person
            },
        },
    };
    let mut address_lines: Vec<String> = ["AddressLine1", "AddressLine2"]
        .iter()
        .filter_map(|k| text(&snapshot, k))
        .collect();
    let city = [text(&snapshot, "ZipCode"), text(&snapshot, "City")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if !city.is_empty() {
        address_lines.push(city);
    }
    let mut lines = Vec::with_capacity(invoice.lines.len());
    let mut by_rate: BTreeMap<Decimal, (i64, i64)> = BTreeMap::new();
    for l in &invoice.lines {
        // Stored as a percent ("20", "5.5").
        let percent = Decimal::from_str(&l.tax_rate).unwrap_or_default();
        let entry = by_rate.entry(percent).or_default();
        entry.0 += l.amount_subtotal;
        entry.1 += l.amount_tax;
        lines.push(DocumentLine {
            label: l.label.clone(),
            period_start: date(l.date_period_start_us),
            // Periods are half-open; the PDF prints the last day included.
            period_end: date(l.date_period_end_us).and_then(|d| d.yesterday().ok()),
            quantity: Decimal::from(l.quantity),
            unit_price: (l.quantity > 0 && l.unit_amount * l.quantity == l.amount_subtotal)
                .then_some(l.unit_amount),
            discount: None,
            amount: l.amount_subtotal,
            tax_rate: percent,
        });
    }
    let taxes = by_rate
        .into_iter()
        .map(|(rate, (base, amount))| TaxBreakdown { rate, base, amount })
        .collect();
    let status = if invoice.is_credit_note && invoice.type_credit.as_deref() == Some("Voiding") {
        // A voiding note cancels an unpaid invoice: no money moved.
        PaymentStatus::NothingDue
    } else if invoice.is_credit_note {
        PaymentStatus::Refunded
    } else if invoice.state.starts_with("Paid") {
        PaymentStatus::Paid
    } else if invoice.state == "Void" {
        PaymentStatus::NothingDue
    } else {
        PaymentStatus::Due
    };
    let kind = match (invoice.is_credit_note, credited_number) {
        (true, Some(credited_invoice)) => DocumentKind::CreditNote {
            credited_invoice,
            reason: invoice.reason.clone(),
        },
        _ => DocumentKind::Invoice,
    };
    Ok(InvoiceDocument {
        kind,
        number: invoice
            .full_number
            .clone()
            .unwrap_or_else(|| format!("DRAFT-{}", invoice.id)),
        language: locale,
        currency,
        dates: DocumentDates {
            issue,
            due: date(invoice.date_payment_limit_us),
            payment: date(invoice.date_payment_us),
        },
        seller: Seller {
            name: business.name.clone(),
            address_lines: Vec::new(),
            country: business.country.clone(),
            vat_number: None,
            logo: None,
        },
        buyer: Buyer {
            identity,
            address_lines,
            country: text(&snapshot, "Country").unwrap_or_default(),
            vat_number: text(&snapshot, "TaxInformation"),
        },
        lines,
        taxes,
        totals: Totals {
            subtotal: invoice.amount_subtotal,
            tax: invoice.amount_tax,
            total: invoice.amount_total,
        },
        payment: Payment {
            status,
            method: None,
            details: invoice.note.iter().cloned().collect(),
        },
        legal_mentions: Vec::new(),
        footer_lines: Vec::new(),
    })
}
