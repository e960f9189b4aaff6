//! Overdue invoices (spec §1.9: "Invoice – overdue" e-mail when unpaid 60
//! days, webhook `InvoiceDebitOverdue`). Issuing an invoice that waits for
//! money writes an `InvoiceOverdue` job at issue + the segment's overdue
//! delay; when due, an invoice still unpaid is told about (and an offline one
//! becomes `ProblemOverdue`). A paid or cancelled invoice is left alone.

use abo_core::InvoiceEvent;
use abo_store::invoices::{self, Invoice};
use abo_store::{Store, customers, engine_scan, jobs};
use serde_json::json;

use super::{DAY_US, Effects, JOB_INVOICE_OVERDUE, transition};
use crate::error::Result;

/// The overdue check of a newly issued invoice, `overdue_days` after its
/// issue (natural key `overdue:{invoice}`).
pub(crate) fn overdue_job(invoice: &Invoice, overdue_days: i64, now_us: i64) -> jobs::NewJob {
    let issued = invoice.date_issue_us.unwrap_or(now_us);
    jobs::NewJob {
        business_id: Some(invoice.business_id),
        kind: JOB_INVOICE_OVERDUE.into(),
        payload: json!({"business_id": invoice.business_id, "invoice_id": invoice.id}).to_string(),
        run_at_us: issued.saturating_add(overdue_days.saturating_mul(DAY_US)),
        max_attempts: 10,
        natural_key: Some(format!("overdue:{}", invoice.id)),
    }
}

/// The `InvoiceOverdue` job. Returns whether the invoice was overdue.
pub async fn mark_overdue(
    store: &Store,
    business_id: i64,
    invoice_id: i64,
    now_us: i64,
) -> Result<bool> {
    let mut tx = store.begin().await?;
    let invoice = invoices::get(&mut tx, business_id, invoice_id).await?;
    if invoice.is_credit_note || !engine_scan::UNPAID_STATES.contains(&invoice.state.as_str()) {
        return Ok(false);
    }
    let invoice = if invoice.state == "DueOffline" {
        transition(&mut tx, &invoice, InvoiceEvent::Overdue, now_us).await?
    } else {
        invoice
    };
    let customer = customers::get(&mut tx, business_id, invoice.customer_id).await?;
    let effects = Effects::new(business_id, &invoice, &customer, now_us);
    effects.webhook(&mut tx, "InvoiceDebitOverdue").await?;
    effects.email(&mut tx, "InvoiceOverdue", json!({})).await?;
    tx.commit().await?;
    Ok(true)
}
