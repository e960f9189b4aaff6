//! Credit notes (spec §1.9; billing-rules "Balance and invoices"): an issued
//! invoice is never changed; **cancelling** an unpaid one issues a voiding
//! credit note (the invoice ends `Void`), **refunding** a paid one, fully or
//! in part, issues a refund credit note (the invoice ends `PaidRefunded` once
//! fully credited). The amounts come from `abo_core::credit_note`, which never
//! credits more than remains at each tax rate and lets the last note absorb
//! the rounding.
//!
//! "Never exceeding what they credit" holds under concurrency too: every use
//! case here first locks the invoice's row ([`invoices::lock`]), and counts
//! what is already credited as the issued credit notes **plus** the refunds
//! still in flight (`refunds` rows `Started`, written before the gateway is
//! asked). Two refunds at once therefore run one after the other, and the
//! second sees the first's reservation.
//!
//! Credit notes are numbered when issued, in the same transaction, from the
//! segment's gapless credit-note sequence (its own prefix, `C-` by default:
//! billing-rules "credit notes have their own prefix and their own gapless
//! sequence"), exactly as invoices are ([`invoices::issue`]).
//!
//! Effects, in the transaction that issues the note: webhooks
//! `InvoiceCreditIssued` (the note) and `InvoiceDebitCancelled` or
//! `InvoiceDebitRefunded` (the invoice), and the customer's e-mail
//! `CreditNoteNewPaid` (with the note's PDF).

use std::collections::BTreeMap;

use abo_core::{CreditRequest, InvoiceEvent, Money, TaxAmount, TypeCredit, credit_note};
use abo_gateway::{ChargeId, PaymentGateway};
use abo_store::customers::{self, Customer};
use abo_store::invoices::{self, Invoice, NewInvoice, NewInvoiceLine};
use abo_store::refunds::{self, NewRefund, Refund};
use abo_store::{AnyConnection, Store, balance_lines, jobs, payments};
use rust_decimal::Decimal;
use serde_json::json;

use super::collect::timestamp;
use super::{Effects, Gateways, JOB_COLLECT, JOB_RESUME_REFUND, transition};
use crate::error::{Result, ServiceError};
use crate::events::{self, Subject};

/// The longest `Reason` kept on a credit note.
pub const MAX_REASON_CHARS: usize = 500;

/// What a cancel or a refund did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditOutcome {
    /// The credited invoice, after the note (`Void`, `Paid`, `PaidRefunded`).
    pub invoice: Invoice,
    /// The issued credit note.
    pub credit_note: Invoice,
    /// The refund record (refunds only).
    pub refund: Option<Refund>,
}

/// A refund asked by the merchant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefundRequest {
    /// Tax included, minor units; `None` refunds everything that remains.
    pub amount: Option<i64>,
    pub reason: Option<String>,
}

/// Cancels an issued, unpaid invoice: a voiding credit note for its full
/// amount, the invoice `Void`, its balance lines `Cancelled` (they will not
/// be billed again), its pending collection attempts retired. A direct debit
/// already sent to the bank (`DuePending`) cannot be stopped: wait for it to
/// settle, then refund.
pub async fn cancel_invoice(
    store: &Store,
    business_id: i64,
    invoice_id: i64,
    reason: Option<&str>,
    now_us: i64,
) -> Result<CreditOutcome> {
    let reason = clean_reason(reason)?;
    let mut tx = store.begin().await?;
    let invoice = invoices::lock(&mut tx, business_id, invoice_id).await?;
    ensure_debit_invoice(&invoice)?;
    if invoice.state == "DuePending" {
        return Err(ServiceError::Conflict(format!(
            "invoice {}: a direct debit is on its way to the bank and cannot be stopped; \
             refund the invoice once it is paid",
            label(&invoice)
        )));
    }
    // Refuses paid, void and draft invoices with the state machine's words.
    super::next_state(&invoice, InvoiceEvent::Cancel)?;
    let previous = credited_so_far(&mut tx, &invoice).await?;
    let draft = credit_note(
        &breakdown(&invoice)?,
        &previous,
        TypeCredit::Voiding,
        &CreditRequest::Full,
    )?;
    let customer = customers::get(&mut tx, business_id, invoice.customer_id).await?;
    let note = issue_note(
        &mut tx,
        &invoice,
        &customer,
        TypeCredit::Voiding,
        &draft.tax_breakdown,
        previous.is_empty(),
        reason.as_deref(),
        now_us,
    )
    .await?;
    let void = transition(&mut tx, &invoice, InvoiceEvent::Cancel, now_us).await?;
    invoices::set_payment_scheduled(&mut tx, business_id, invoice.id, None, now_us).await?;
    for line in &invoice.lines {
        if let Some(balance_line_id) = line.balance_line_id {
            balance_lines::set_state(&mut tx, business_id, balance_line_id, "Cancelled").await?;
        }
    }
    jobs::retire_pending(
        &mut tx,
        JOB_COLLECT,
        &format!("collect:{}:", invoice.id),
        "the invoice was cancelled",
        now_us,
    )
    .await?;
    announce(
        &mut tx,
        &void,
        &note,
        &customer,
        "InvoiceDebitCancelled",
        now_us,
    )
    .await?;
    let void = invoices::get(&mut tx, business_id, invoice.id).await?;
    tx.commit().await?;
    Ok(CreditOutcome {
        invoice: void,
        credit_note: note,
        refund: None,
    })
}

/// Refunds a paid invoice, fully or in part. The money goes back through the
/// gateway that collected it (card, SEPA: idempotency key `refund:{id}`), or
/// the refund is recorded for an offline payment (the merchant pays it back
/// by their own means). An amount above what remains refundable is refused
/// (422) and changes nothing.
///
/// Two steps, each its own transaction: [`reserve_refund`], then
/// [`complete_refund`]. A crash between them is recovered by the reservation's
/// `ResumeRefund` job ([`resume_refund`]).
pub async fn refund_invoice(
    store: &Store,
    gateways: &Gateways,
    business_id: i64,
    invoice_id: i64,
    request: &RefundRequest,
    now_us: i64,
) -> Result<CreditOutcome> {
    let refund = reserve_refund(store, gateways, business_id, invoice_id, request, now_us).await?;
    complete_refund(store, gateways, &refund, now_us).await
}

/// Step 1 of a refund: reserves what it credits (a `Started` refund),
/// committed before the gateway is asked (the invoice's row lock orders
/// concurrent refunds), with its `ResumeRefund` job: should the process die
/// before the refund is finished, that job finishes it
/// [`RESUME_REFUND_AFTER_US`] later, replaying the gateway call under the
/// same idempotency key, so the reservation never stays held and the money
/// never goes back twice.
pub async fn reserve_refund(
    store: &Store,
    gateways: &Gateways,
    business_id: i64,
    invoice_id: i64,
    request: &RefundRequest,
    now_us: i64,
) -> Result<Refund> {
    let reason = clean_reason(request.reason.as_deref())?;
    let mut tx = store.begin().await?;
    let invoice = invoices::lock(&mut tx, business_id, invoice_id).await?;
    ensure_debit_invoice(&invoice)?;
    match invoice.state.as_str() {
        "Paid" => {}
        "PaidRefunded" => {
            return Err(ServiceError::invalid(format!(
                "Amount: invoice {} is already fully refunded",
                label(&invoice)
            )));
        }
        state => {
            return Err(ServiceError::Conflict(format!(
                "invoice {} is {state}: only a paid invoice is refunded (cancel an unpaid one)",
                label(&invoice)
            )));
        }
    }
    let previous = credited_so_far(&mut tx, &invoice).await?;
    let asked = match request.amount {
        None => CreditRequest::Full,
        Some(amount) => CreditRequest::Total(amount),
    };
    let draft = credit_note(&breakdown(&invoice)?, &previous, TypeCredit::Refund, &asked)
        .map_err(|e| ServiceError::invalid(format!("Amount: {e}")))?;
    let payment = refunded_payment(&mut tx, &invoice).await?;
    // Resolved before the reservation, so that nothing but the gateway's
    // answer can leave it behind.
    abo_core::Currency::from_code(&invoice.currency)?;
    timestamp(now_us)?;
    if let Some(payment) = &payment {
        gateway_of(&mut tx, gateways, payment).await?;
    }
    let refund = refunds::insert_started(
        &mut tx,
        &NewRefund {
            business_id,
            invoice_id: invoice.id,
            payment_id: payment.as_ref().map(|p| p.id),
            type_payment: invoice.type_payment.clone(),
            amount: draft.total,
            currency: invoice.currency.clone(),
            breakdown: breakdown_json(&draft.tax_breakdown),
            reason,
        },
        now_us,
    )
    .await?;
    jobs::enqueue(
        &mut tx,
        &jobs::NewJob {
            business_id: Some(business_id),
            kind: JOB_RESUME_REFUND.into(),
            payload: json!({"refund_id": refund.id}).to_string(),
            run_at_us: now_us + RESUME_REFUND_AFTER_US,
            max_attempts: 10,
            natural_key: Some(format!("resume-refund:{}", refund.id)),
        },
        now_us,
    )
    .await?;
    tx.commit().await?;
    Ok(refund)
}

/// How long after its reservation a refund not finished yet is taken for
/// abandoned (its process died) and finished by its `ResumeRefund` job: far
/// longer than a gateway call.
pub const RESUME_REFUND_AFTER_US: i64 = 10 * 60 * 1_000_000;

/// The payment a refund of `invoice` goes back through: its last successful
/// charge with a payment method (none: an offline payment, recorded only).
async fn refunded_payment(
    conn: &mut AnyConnection,
    invoice: &Invoice,
) -> Result<Option<payments::Payment>> {
    Ok(
        payments::list_for_invoice(conn, invoice.business_id, invoice.id)
            .await?
            .into_iter()
            .rev()
            .find(|p| p.state == "Succeeded" && p.charge_id.is_some() && p.permission_id.is_some()),
    )
}

/// The gateway that collected `payment`.
async fn gateway_of<'g>(
    conn: &mut AnyConnection,
    gateways: &'g Gateways,
    payment: &payments::Payment,
) -> Result<&'g dyn PaymentGateway> {
    let permission = payments::get_permission(
        conn,
        payment.business_id,
        payment.permission_id.unwrap_or_default(),
    )
    .await?;
    gateways.for_permission(&permission)
}

/// Steps 2 and 3 of a reserved refund: the money given back through the
/// gateway (idempotency key `refund:{id}`: a replay after a crash refunds
/// once), then the credit note issued, or the reservation released if the
/// gateway refused.
pub async fn complete_refund(
    store: &Store,
    gateways: &Gateways,
    refund: &Refund,
    now_us: i64,
) -> Result<CreditOutcome> {
    let business_id = refund.business_id;
    let credits = parse_breakdown(&refund.breakdown)?;
    let currency = abo_core::Currency::from_code(&refund.currency)?;

    // 2. Give the money back through the gateway that collected it.
    let charged = match refund.payment_id {
        Some(payment_id) => {
            let mut conn = store.acquire().await?;
            let payment = payments::list_for_invoice(&mut conn, business_id, refund.invoice_id)
                .await?
                .into_iter()
                .find(|p| p.id == payment_id)
                .ok_or_else(|| ServiceError::NotFound(format!("payment {payment_id}")))?;
            let gateway = gateway_of(&mut conn, gateways, &payment).await?;
            Some((payment, gateway))
        }
        None => None,
    };
    let answer = match charged {
        Some((payment, gateway)) => gateway
            .refund_once(
                &ChargeId(payment.charge_id.clone().unwrap_or_default()),
                Money::new(refund.amount, currency),
                &format!("refund:{}", refund.id),
                timestamp(now_us)?,
            )
            .await
            .map(|r| Some(r.id.0))
            .map_err(|e| e.to_string()),
        None => Ok(None),
    };

    // 3. Issue the credit note, or release the reservation.
    let mut tx = store.begin().await?;
    let invoice = invoices::lock(&mut tx, business_id, refund.invoice_id).await?;
    let gateway_refund_id = match answer {
        Ok(id) => id,
        Err(why) => {
            refunds::finish(
                &mut tx,
                business_id,
                refund.id,
                "Failed",
                None,
                None,
                Some(&why),
                now_us,
            )
            .await?;
            tx.commit().await?;
            return Err(ServiceError::Conflict(format!(
                "the gateway refused to refund invoice {}: {why}",
                label(&invoice)
            )));
        }
    };
    let customer = customers::get(&mut tx, business_id, invoice.customer_id).await?;
    let issued_before = issued_notes(&mut tx, &invoice).await?;
    // The invoice's own lines only when this note alone credits all of it.
    let invoiced = breakdown(&invoice)?;
    let whole_invoice = issued_before.is_empty() && fully_credited(&invoiced, &credits);
    let note = issue_note(
        &mut tx,
        &invoice,
        &customer,
        TypeCredit::Refund,
        &credits,
        whole_invoice,
        refund.reason.as_deref(),
        now_us,
    )
    .await?;
    let state = if gateway_refund_id.is_some() {
        "Succeeded"
    } else {
        "Recorded"
    };
    // Finished once: a concurrent finisher (the resume job and the request)
    // makes this `finish` fail, which rolls the note back.
    let refund = refunds::finish(
        &mut tx,
        business_id,
        refund.id,
        state,
        Some(note.id),
        gateway_refund_id.as_deref(),
        None,
        now_us,
    )
    .await?;
    // Fully credited once the issued notes (this one included) add up to
    // the invoice at every rate.
    let mut all = issued_before;
    all.extend(note_breakdown(&note)?);
    let invoice = if invoice.state == "Paid" && fully_credited(&invoiced, &all) {
        transition(&mut tx, &invoice, InvoiceEvent::Refund, now_us).await?
    } else {
        invoice
    };
    announce(
        &mut tx,
        &invoice,
        &note,
        &customer,
        "InvoiceDebitRefunded",
        now_us,
    )
    .await?;
    tx.commit().await?;
    Ok(CreditOutcome {
        invoice,
        credit_note: note,
        refund: Some(refund),
    })
}

/// The `ResumeRefund` job: finishes refund `refund_id` if it is still
/// `Started` (its process died between reservation and credit note), as
/// [`complete_refund`]. Done once the refund is finished, whoever finished it
/// and however (a refusal by the gateway releases the reservation).
pub async fn resume_refund(
    store: &Store,
    gateways: &Gateways,
    business_id: i64,
    refund_id: i64,
    now_us: i64,
) -> Result<()> {
    let started = |refund: &Refund| refund.state == "Started";
    let refund = {
        let mut conn = store.acquire().await?;
        refunds::get(&mut conn, business_id, refund_id).await?
    };
    if !started(&refund) {
        return Ok(());
    }
    tracing::warn!(refund = refund_id, "refund left unfinished: finishing it");
    let result = complete_refund(store, gateways, &refund, now_us).await;
    let mut conn = store.acquire().await?;
    match result {
        Err(error) if started(&refunds::get(&mut conn, business_id, refund_id).await?) => {
            Err(error)
        }
        _ => Ok(()),
    }
}

/// What remains refundable on an invoice (tax included): its total minus
/// the issued credit notes and the refunds in flight.
pub async fn refundable(conn: &mut AnyConnection, invoice: &Invoice) -> Result<i64> {
    let credited: i64 = credited_so_far(conn, invoice)
        .await?
        .iter()
        .map(|t| t.base + t.amount)
        .sum();
    Ok(invoice.amount_total - credited)
}

fn ensure_debit_invoice(invoice: &Invoice) -> Result<()> {
    if invoice.is_credit_note {
        return Err(ServiceError::Conflict(format!(
            "{} is a credit note: only invoices are credited",
            label(invoice)
        )));
    }
    if invoice.number.is_none() {
        return Err(ServiceError::Conflict(format!(
            "invoice {} is a draft: only an issued invoice is credited",
            invoice.id
        )));
    }
    Ok(())
}

fn label(invoice: &Invoice) -> String {
    invoice
        .full_number
        .clone()
        .unwrap_or_else(|| invoice.id.to_string())
}

/// A trimmed, bounded reason (`None` when empty).
fn clean_reason(reason: Option<&str>) -> Result<Option<String>> {
    let Some(reason) = reason.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(ServiceError::invalid(format!(
            "Reason: at most {MAX_REASON_CHARS} characters"
        )));
    }
    if reason.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ServiceError::invalid(
            "Reason: control characters are not allowed",
        ));
    }
    Ok(Some(reason.to_owned()))
}

fn rate_of(text: &str) -> Result<Decimal> {
    text.parse()
        .map_err(|_| ServiceError::Internal(format!("unreadable tax rate '{text}'")))
}

/// Per tax rate, in order of first appearance: the sum of the lines' bases
/// and taxes (an invoice's lines add up to its breakdown exactly).
fn lines_breakdown(invoice: &Invoice) -> Result<Vec<TaxAmount>> {
    let mut out: Vec<TaxAmount> = Vec::new();
    for line in &invoice.lines {
        let rate = rate_of(&line.tax_rate)?;
        match out.iter_mut().find(|t| t.rate == rate) {
            Some(t) => {
                t.base += line.amount_subtotal;
                t.amount += line.amount_tax;
            }
            None => out.push(TaxAmount {
                rate,
                base: line.amount_subtotal,
                amount: line.amount_tax,
            }),
        }
    }
    Ok(out)
}

/// The invoice's breakdown per rate.
fn breakdown(invoice: &Invoice) -> Result<Vec<TaxAmount>> {
    let lines = lines_breakdown(invoice)?;
    let (base, tax): (i64, i64) = lines
        .iter()
        .fold((0, 0), |(b, t), x| (b + x.base, t + x.amount));
    if base != invoice.amount_subtotal || tax != invoice.amount_tax {
        return Err(ServiceError::Internal(format!(
            "invoice {}: its lines do not add up to its totals",
            invoice.id
        )));
    }
    Ok(lines)
}

fn note_breakdown(note: &Invoice) -> Result<Vec<TaxAmount>> {
    lines_breakdown(note)
}

/// What the issued credit notes of `invoice` credit, per rate.
async fn issued_notes(conn: &mut AnyConnection, invoice: &Invoice) -> Result<Vec<TaxAmount>> {
    let mut out = Vec::new();
    for note in invoices::list_credit_notes(conn, invoice.business_id, invoice.id).await? {
        if note.number.is_some() {
            out.extend(note_breakdown(&note)?);
        }
    }
    Ok(out)
}

/// Issued credit notes plus the refunds in flight (their reservations).
async fn credited_so_far(conn: &mut AnyConnection, invoice: &Invoice) -> Result<Vec<TaxAmount>> {
    let mut out = issued_notes(conn, invoice).await?;
    for refund in refunds::list_for_invoice(conn, invoice.business_id, invoice.id).await? {
        if refund.state == "Started" {
            out.extend(parse_breakdown(&refund.breakdown)?);
        }
    }
    Ok(out)
}

fn breakdown_json(breakdown: &[TaxAmount]) -> String {
    serde_json::Value::Array(
        breakdown
            .iter()
            .map(|t| json!({"rate": t.rate.normalize().to_string(), "base": t.base, "amount": t.amount}))
            .collect(),
    )
    .to_string()
}

fn parse_breakdown(text: &str) -> Result<Vec<TaxAmount>> {
    let bad = || ServiceError::Internal(format!("unreadable refund breakdown {text}"));
    let value: serde_json::Value = serde_json::from_str(text).map_err(|_| bad())?;
    let items = value.as_array().ok_or_else(bad)?;
    items
        .iter()
        .map(|item| {
            Ok(TaxAmount {
                rate: rate_of(item["rate"].as_str().ok_or_else(bad)?)?,
                base: item["base"].as_i64().ok_or_else(bad)?,
                amount: item["amount"].as_i64().ok_or_else(bad)?,
            })
        })
        .collect()
}

/// Whether `credited` adds up to `invoice` at every rate.
fn fully_credited(invoice: &[TaxAmount], credited: &[TaxAmount]) -> bool {
    let mut left: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for t in invoice {
        let e = left.entry(t.rate.normalize().to_string()).or_default();
        e.0 += t.base;
        e.1 += t.amount;
    }
    for t in credited {
        let e = left.entry(t.rate.normalize().to_string()).or_default();
        e.0 -= t.base;
        e.1 -= t.amount;
    }
    left.values().all(|&(base, tax)| base == 0 && tax == 0)
}

/// Creates and issues the credit note: a copy of the invoice's lines when
/// it credits the whole invoice at once, else one line per tax rate.
#[allow(clippy::too_many_arguments)]
async fn issue_note(
    conn: &mut AnyConnection,
    invoice: &Invoice,
    customer: &Customer,
    type_credit: TypeCredit,
    credits: &[TaxAmount],
    whole_invoice: bool,
    reason: Option<&str>,
    now_us: i64,
) -> Result<Invoice> {
    let lines: Vec<NewInvoiceLine> = if whole_invoice {
        invoice
            .lines
            .iter()
            .map(|l| NewInvoiceLine {
                balance_line_id: None,
                type_line: l.type_line.clone(),
                label: l.label.clone(),
                quantity: l.quantity,
                unit_amount: l.unit_amount,
                amount_subtotal: l.amount_subtotal,
                tax_rate: l.tax_rate.clone(),
                amount_tax: l.amount_tax,
                date_period_start_us: l.date_period_start_us,
                date_period_end_us: l.date_period_end_us,
            })
            .collect()
    } else {
        let french = customer
            .language
            .as_deref()
            .is_some_and(|l| l.to_ascii_lowercase().starts_with("fr"));
        let what = match (type_credit, french) {
            (TypeCredit::Refund, false) => "Refund of invoice",
            (TypeCredit::Refund, true) => "Remboursement de la facture",
            (TypeCredit::Voiding, false) => "Cancellation of invoice",
            (TypeCredit::Voiding, true) => "Annulation de la facture",
        };
        credits
            .iter()
            .map(|t| NewInvoiceLine {
                balance_line_id: None,
                type_line: "Manual".into(),
                label: format!("{what} {}", label(invoice)),
                quantity: 1,
                unit_amount: t.base,
                amount_subtotal: t.base,
                tax_rate: t.rate.normalize().to_string(),
                amount_tax: t.amount,
                date_period_start_us: None,
                date_period_end_us: None,
            })
            .collect()
    };
    let subtotal: i64 = lines.iter().map(|l| l.amount_subtotal).sum();
    let tax: i64 = lines.iter().map(|l| l.amount_tax).sum();
    let new = NewInvoice {
        business_id: invoice.business_id,
        segment_id: invoice.segment_id,
        customer_id: invoice.customer_id,
        is_credit_note: true,
        type_credit: Some(type_credit.as_str().to_owned()),
        credited_invoice_id: Some(invoice.id),
        type_payment: invoice.type_payment.clone(),
        currency: invoice.currency.clone(),
        amount_subtotal: subtotal,
        amount_tax: tax,
        amount_total: subtotal + tax,
        date_payment_limit_us: None,
        date_payment_scheduled_us: None,
        note: None,
        reason: reason.map(str::to_owned),
        buyer: invoice.buyer.clone(),
        lines,
    };
    let draft = invoices::create_draft(conn, &new, now_us).await?;
    // A credit note is settled when issued: the money went back (refund, on
    // that date) or nothing is owed any more (voiding: no money moved, so no
    // payment date).
    let issued = invoices::issue(conn, invoice.business_id, draft.id, "Paid", now_us).await?;
    if type_credit == TypeCredit::Voiding {
        return Ok(issued);
    }
    Ok(invoices::set_state(
        conn,
        invoice.business_id,
        draft.id,
        "Paid",
        Some(now_us),
        now_us,
    )
    .await?)
}

/// The outbox writes of a credit note: `InvoiceCreditIssued` about the note,
/// `trigger` about the invoice, and the customer's `CreditNoteNewPaid`.
async fn announce(
    conn: &mut AnyConnection,
    invoice: &Invoice,
    note: &Invoice,
    customer: &Customer,
    trigger: &str,
    now_us: i64,
) -> Result<()> {
    let subject = |invoice_id| Subject::Invoice {
        segment_id: invoice.segment_id,
        customer_id: invoice.customer_id,
        invoice_id,
    };
    events::emit(
        conn,
        invoice.business_id,
        "InvoiceCreditIssued",
        subject(note.id),
        "",
        now_us,
    )
    .await?;
    // One per credit note: an invoice may be refunded in several parts.
    events::emit(
        conn,
        invoice.business_id,
        trigger,
        subject(invoice.id),
        &format!("credit={}", note.id),
        now_us,
    )
    .await?;
    Effects::new(invoice.business_id, note, customer, now_us)
        .email(
            conn,
            "CreditNoteNewPaid",
            json!({"IdInvoiceCredited": invoice.id, "AmountTotal": note.amount_total,
                   "Currency": note.currency}),
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn t(rate: Decimal, base: i64, amount: i64) -> TaxAmount {
        TaxAmount { rate, base, amount }
    }

    #[test]
    fn breakdown_round_trips_through_json() {
        let b = vec![t(dec!(20), 1000, 200), t(dec!(5.5), 333, 18)];
        assert_eq!(parse_breakdown(&breakdown_json(&b)).unwrap(), b);
    }

    #[test]
    fn fully_credited_compares_every_rate() {
        let invoice = vec![t(dec!(20), 1000, 200), t(dec!(5.5), 100, 6)];
        let part = vec![t(dec!(20), 1000, 200)];
        assert!(!fully_credited(&invoice, &part));
        let mut all = part.clone();
        all.push(t(dec!(5.50), 60, 3));
        all.push(t(dec!(5.5), 40, 3));
        assert!(fully_credited(&invoice, &all));
    }

    #[test]
    fn reasons_are_trimmed_and_bounded() {
        assert_eq!(clean_reason(Some("  ")).unwrap(), None);
        assert_eq!(
            clean_reason(Some(" Duplicate order ")).unwrap().as_deref(),
            Some("Duplicate order")
        );
        assert!(clean_reason(Some(&"x".repeat(MAX_REASON_CHARS + 1))).is_err());
        assert!(clean_reason(Some("a\u{0}b")).is_err());
    }
}
