//! The quote of paying an issued invoice (the "pay an invoice" workflow):
//! its own amounts, due when it is still unpaid.

use abo_core::{Currency, InvoiceState};
use abo_store::{Store, invoices};

use super::assemble::{Quote, QuoteLine};
use crate::error::{Result, ServiceError};

/// The invoice `id` as a quote: its lines and totals; due now when it is
/// unpaid (Due or Problem), else 0.
pub async fn quote_invoice(store: &Store, business_id: i64, id: i64) -> Result<Quote> {
    let mut conn = store.acquire().await?;
    let invoice = invoices::get(&mut conn, business_id, id)
        .await
        .map_err(|_| ServiceError::NotFound(format!("invoice {id}")))?;
    let unpaid = invoice
        .state
        .parse::<InvoiceState>()
        .is_ok_and(InvoiceState::is_unpaid);
    let lines = invoice
        .lines
        .iter()
        .map(|l| QuoteLine {
            subscription_id: None,
            feature_id: None,
            type_line: l.type_line.clone(),
            label: l.label.clone(),
            quantity_reported: Some(l.quantity),
            quantity_billed: Some(l.quantity),
            amount_subtotal: l.amount_subtotal,
            amount_tax: l.amount_tax,
            amount_total: l.amount_subtotal + l.amount_tax,
            date_move_us: l
                .date_period_start_us
                .is_none()
                .then_some(invoice.date_issue_us)
                .flatten(),
            date_period_start_us: l.date_period_start_us,
            date_period_end_us: l.date_period_end_us,
        })
        .collect::<Vec<_>>();
    Ok(Quote {
        customer_id: invoice.customer_id,
        subscription_id: None,
        currency: Currency::from_code(&invoice.currency)?,
        tax_rate: invoice
            .lines
            .first()
            .map(|l| l.tax_rate.clone())
            .unwrap_or_else(|| "0".into()),
        reverse_charge: false,
        amount_subtotal: invoice.amount_subtotal,
        amount_tax: invoice.amount_tax,
        amount_total: invoice.amount_total,
        amount_total_due: if unpaid {
            invoice.amount_total.max(0)
        } else {
            0
        },
        date_period_start_us: lines.iter().filter_map(|l| l.date_period_start_us).min(),
        date_period_end_us: lines.iter().filter_map(|l| l.date_period_end_us).max(),
        lines,
        next_term: None,
    })
}
