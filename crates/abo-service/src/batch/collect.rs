//! Collections, set-wise, in the two transactions of
//! [`billing::collect_invoice`] (the attempts are committed before any
//! charge is sent; the answers are recorded after):
//! - [`prepare_many`]: the invoices, their attempts and their payers'
//!   permissions read at once, the new attempts written with one statement;
//!   an invoice without a usable card or mandate (it gives up) goes through
//!   [`prepare_collect`] alone; [`prepare_issued`] does the same for the
//!   first attempts of invoices the caller has just inserted, whose rows it
//!   already holds;
//! - [`record_many`]: charges taken at once by a card (the common case)
//!   mark their attempts and invoices paid with one statement each, with
//!   their outbox rows; any other answer (pending debit, 3-D Secure,
//!   failure) is recorded by [`PendingCharge::record`] alone.

use std::collections::{HashMap, HashSet};

use abo_core::InvoiceEvent;
use abo_gateway::{ChargeOutcome, ChargeReceipt};
use abo_store::payments::{self, Succeeded};
use abo_store::{AnyConnection, customers, engine_scan, invoices};

use crate::billing::collect::{PendingCharge, Prepared, new_attempt, prepare_collect};
use crate::billing::{CollectOutcome, Effects, dunning, next_state};
use crate::error::{Result, ServiceError};

/// A `CollectInvoice` job: attempt `attempt` of an invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueCollection {
    pub invoice_id: i64,
    pub attempt: i64,
}

/// Step 1 of the collection of `due` (invoices of `business_id`), in the
/// caller's transaction, which must be committed before any charge is
/// sent. One [`Prepared`] per item, in order.
pub async fn prepare_many(
    conn: &mut AnyConnection,
    business_id: i64,
    due: &[DueCollection],
    now_us: i64,
) -> Result<Vec<Prepared>> {
    let ids: Vec<i64> = due.iter().map(|d| d.invoice_id).collect();
    let heads = invoices::get_many_heads(conn, business_id, &ids).await?;
    let invoices: HashMap<i64, &invoices::Invoice> = heads.iter().map(|i| (i.id, i)).collect();
    let pairs: Vec<(i64, i64)> = due.iter().map(|d| (d.invoice_id, d.attempt)).collect();
    let existing: HashMap<(i64, i64), payments::Payment> =
        payments::find_attempts(conn, business_id, &pairs)
            .await?
            .into_iter()
            .map(|p| ((p.invoice_id, p.attempt), p))
            .collect();
    prepare_known(conn, business_id, due, &invoices, existing, now_us).await
}

/// [`prepare_many`] for the first attempts of `issued`, invoices inserted in
/// the caller's transaction (as [`invoices::insert_issued_many`] returned
/// them): nothing to read back, and no attempt of theirs can exist yet.
pub async fn prepare_issued(
    conn: &mut AnyConnection,
    business_id: i64,
    issued: &[&invoices::Invoice],
    now_us: i64,
) -> Result<Vec<Prepared>> {
    let due: Vec<DueCollection> = issued
        .iter()
        .map(|i| DueCollection {
            invoice_id: i.id,
            attempt: 1,
        })
        .collect();
    let invoices: HashMap<i64, &invoices::Invoice> = issued.iter().map(|i| (i.id, *i)).collect();
    prepare_known(conn, business_id, &due, &invoices, HashMap::new(), now_us).await
}

/// Step 1 once the invoices of `due` and their attempts already started
/// (`existing`, by invoice and attempt) are known.
async fn prepare_known(
    conn: &mut AnyConnection,
    business_id: i64,
    due: &[DueCollection],
    invoices: &HashMap<i64, &invoices::Invoice>,
    mut existing: HashMap<(i64, i64), payments::Payment>,
    now_us: i64,
) -> Result<Vec<Prepared>> {
    let mut payers: Vec<i64> = invoices.values().map(|i| i.customer_id).collect();
    payers.sort_unstable();
    payers.dedup();
    // Newest first: the first of a payer and payment type is the current one.
    let mut permissions: HashMap<(i64, String), payments::Permission> = HashMap::new();
    for p in payments::enabled_permissions_of(conn, business_id, &payers).await? {
        permissions
            .entry((p.customer_id, p.type_payment.clone()))
            .or_insert(p);
    }

    enum Step {
        Done(CollectOutcome),
        Alone(DueCollection),
        Charge(Box<PendingCharge>),
        New(Box<(invoices::Invoice, payments::Permission)>, i64),
    }
    let mut steps = Vec::with_capacity(due.len());
    let mut new = Vec::new();
    for d in due {
        let Some(&invoice) = invoices.get(&d.invoice_id) else {
            // Unknown here: the one-by-one path gives the error.
            steps.push(Step::Alone(*d));
            continue;
        };
        let started = existing.remove(&(d.invoice_id, d.attempt));
        if invoice.state != "DueAuto"
            || invoice.amount_total <= 0
            || started.as_ref().is_some_and(|p| p.state != "Started")
        {
            steps.push(Step::Done(CollectOutcome::Skipped));
            continue;
        }
        let key = (invoice.customer_id, invoice.type_payment.clone());
        let Some(permission) = permissions.get(&key) else {
            steps.push(Step::Alone(*d));
            continue;
        };
        match started {
            Some(payment) => steps.push(Step::Charge(Box::new(PendingCharge {
                invoice: invoice.clone(),
                permission: permission.clone(),
                payment,
            }))),
            None => {
                new.push(new_attempt(invoice, permission, d.attempt));
                steps.push(Step::New(
                    Box::new((invoice.clone(), permission.clone())),
                    d.attempt,
                ));
            }
        }
    }
    let mut inserted: HashMap<(i64, i64), payments::Payment> =
        payments::insert_attempts(conn, &new, now_us)
            .await?
            .into_iter()
            .map(|p| ((p.invoice_id, p.attempt), p))
            .collect();
    let mut out = Vec::with_capacity(steps.len());
    for step in steps {
        out.push(match step {
            Step::Done(outcome) => Prepared::Done(outcome),
            Step::Charge(charge) => Prepared::Charge(charge),
            Step::Alone(d) => {
                prepare_collect(conn, business_id, d.invoice_id, d.attempt, now_us).await?
            }
            Step::New(pair, attempt) => {
                let (invoice, permission) = *pair;
                let payment = inserted.remove(&(invoice.id, attempt)).ok_or_else(|| {
                    ServiceError::Conflict(format!(
                        "attempt {attempt} of invoice {} was started concurrently",
                        invoice.id
                    ))
                })?;
                Prepared::Charge(Box::new(PendingCharge {
                    invoice,
                    permission,
                    payment,
                }))
            }
        });
    }
    Ok(out)
}

/// Step 3: the gateway's answers applied to their attempts and invoices, in
/// the caller's transaction. One outcome per answer, in order.
pub async fn record_many(
    conn: &mut AnyConnection,
    business_id: i64,
    answered: &[(&PendingCharge, &ChargeReceipt)],
    now_us: i64,
) -> Result<Vec<CollectOutcome>> {
    let mut paid_now = Vec::new();
    let mut succeeded = Vec::new();
    let mut plain = HashSet::new();
    for (i, (charge, receipt)) in answered.iter().enumerate() {
        // A settled debit is watched for a charge-back: that path runs alone.
        if receipt.outcome == ChargeOutcome::Succeeded
            && charge.invoice.type_payment != "DirectDebit"
            && charge.payment.state == "Started"
        {
            // Paid from the state it was charged in: an invoice that moved since
            // (cancelled meanwhile) is not updated, and the batch then rolls
            // back to the one-by-one path, which records it from its stored state.
            let invoice = &charge.invoice;
            let to = next_state(invoice, InvoiceEvent::Pay)?;
            paid_now.push((invoice.id, invoice.state.clone(), to.as_str().to_owned()));
            succeeded.push(Succeeded {
                payment_id: charge.payment.id,
                charge_id: receipt.charge_id.as_str().to_owned(),
            });
            plain.insert(i);
        }
    }
    let marked = payments::set_succeeded_many(conn, business_id, &succeeded, now_us).await?;
    let paid = invoices::pay_many(conn, business_id, &paid_now, now_us).await?;
    if marked != succeeded.len() as u64 || paid.len() != paid_now.len() {
        return Err(ServiceError::Conflict(
            "payments were recorded concurrently".into(),
        ));
    }
    let mut payers: Vec<i64> = paid.iter().map(|i| i.customer_id).collect();
    payers.sort_unstable();
    payers.dedup();
    let customers: HashMap<i64, customers::Customer> =
        customers::get_many(conn, business_id, &payers)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
    let mut effects = Vec::with_capacity(paid.len() * 2);
    for invoice in &paid {
        let customer = customers
            .get(&invoice.customer_id)
            .ok_or_else(|| ServiceError::NotFound(format!("customer {}", invoice.customer_id)))?;
        let e = Effects::new(business_id, invoice, customer, now_us);
        effects.push(e.webhook_job("InvoiceDebitPaid", ""));
        effects.push(e.webhook_job("CustomerChargingSucceeded", ""));
    }
    super::write_outbox(conn, business_id, effects, now_us).await?;
    // A payment may bring a buyer back under its unpaid thresholds.
    let suspended =
        engine_scan::buyers_suspended_for_payment_due(conn, business_id, &payers).await?;
    for customer in suspended {
        dunning::restart_paid_up(conn, business_id, customer, now_us).await?;
    }

    let mut out = Vec::with_capacity(answered.len());
    for (i, (charge, receipt)) in answered.iter().enumerate() {
        out.push(if plain.contains(&i) {
            CollectOutcome::Paid
        } else {
            charge.record(conn, receipt, now_us).await?
        });
    }
    Ok(out)
}
