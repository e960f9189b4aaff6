//! Billings, set-wise: the due lines of every customer of the batch read at
//! once, each customer's invoice drafted by [`billing::draft_invoice`] (the
//! one-by-one path's own assembly), the numbers of a segment taken as one
//! block in customer order, invoices, their lines, the billed lines and the
//! outbox rows written with one statement per table. An invoice of nothing
//! to pay (paid at once, which may restart suspended subscriptions) runs
//! [`billing::bill_in`] in the same transaction.

use std::collections::HashMap;

use abo_store::balance_lines::{self, BalanceLine};
use abo_store::invoices::{self, Invoice, IssuedInvoice};
use abo_store::jobs::{self, Lease};
use abo_store::{AnyConnection, billing_settings, businesses, customers};

use super::collect::prepare_issued;
use crate::billing::collect::Prepared;
use crate::billing::{self, BillOptions, JOB_COLLECT, draft_invoice, issue_effects};
use crate::error::{Result, ServiceError};

/// What [`bill_many`] did.
#[derive(Default)]
pub struct Billed {
    /// Invoices issued.
    pub invoices: u64,
    /// The card collections started at once (with a lease: see [`bill_many`]).
    pub collections: Vec<Collection>,
}

/// A first collection attempt written in the billing's transaction, to be
/// charged by the worker holding its job once the transaction commits.
pub struct Collection {
    /// The natural key of its `CollectInvoice` job (enqueued leased).
    pub job_key: String,
    pub prepared: Prepared,
}

/// Bills the due lines of `customer_ids` (of `business_id`), one invoice
/// each, in the caller's transaction, in the order given.
///
/// With a `lease`, the invoices to be charged now (card) also have their
/// first collection attempt written ([`prepare_issued`], step 1 of a
/// collection), and their `CollectInvoice` jobs enqueued already claimed by
/// the lease's worker: that worker sends the charges once the transaction
/// commits ([`Billed::collections`]); if it dies first, the jobs come back
/// when the lease ends and replay the attempts (same idempotency keys).
pub async fn bill_many(
    conn: &mut AnyConnection,
    business_id: i64,
    customer_ids: &[i64],
    now_us: i64,
    lease: Option<Lease<'_>>,
) -> Result<Billed> {
    let mut seen = std::collections::HashSet::with_capacity(customer_ids.len());
    let order: Vec<i64> = customer_ids
        .iter()
        .copied()
        .filter(|id| seen.insert(*id))
        .collect();
    let customers: HashMap<i64, customers::Customer> =
        customers::get_many(conn, business_id, &order)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
    bill_known(conn, business_id, &order, &customers, now_us, lease).await
}

/// [`bill_many`] of `order` (customer ids, each once), whose rows the caller
/// has read in its transaction (`customers`, by id).
pub(super) async fn bill_known(
    conn: &mut AnyConnection,
    business_id: i64,
    order: &[i64],
    customers: &HashMap<i64, customers::Customer>,
    now_us: i64,
    lease: Option<Lease<'_>>,
) -> Result<Billed> {
    let business = businesses::get(conn, business_id).await?;
    let mut due: HashMap<i64, Vec<BalanceLine>> = HashMap::new();
    for line in balance_lines::due_of_customers(conn, business_id, order).await? {
        due.entry(line.customer_id).or_default().push(line);
    }

    // Drafts, in customer order; invoices of nothing to pay go alone.
    let mut drafts = Vec::new();
    let mut alone = Vec::new();
    for id in order {
        let customer = customers
            .get(id)
            .ok_or_else(|| ServiceError::NotFound(format!("customer {id}")))?;
        let lines = due.remove(id).unwrap_or_default();
        let options = BillOptions::default();
        match draft_invoice(&business.country, customer, &lines, &options, now_us)? {
            Some(draft) if draft.new.amount_total == 0 => alone.push(*id),
            Some(draft) => drafts.push((customer, lines, draft)),
            None => {}
        }
    }

    // Numbers: one block per segment, in customer order.
    let mut needed: Vec<(i64, i64)> = Vec::new();
    for (customer, _, _) in &drafts {
        match needed.iter_mut().find(|(s, _)| *s == customer.segment_id) {
            Some((_, n)) => *n += 1,
            None => needed.push((customer.segment_id, 1)),
        }
    }
    let mut numbers: HashMap<i64, std::vec::IntoIter<(i64, String)>> = HashMap::new();
    let mut overdue_days: HashMap<i64, i64> = HashMap::new();
    for (segment, count) in needed {
        let block = invoices::take_numbers(conn, business_id, segment, false, count).await?;
        numbers.insert(segment, block.into_iter());
        let settings = billing_settings::get(conn, business_id, segment).await?;
        overdue_days.insert(segment, settings.overdue_days);
    }
    let mut issued = Vec::with_capacity(drafts.len());
    for (customer, _, draft) in &drafts {
        let (number, full_number) = numbers
            .get_mut(&customer.segment_id)
            .and_then(Iterator::next)
            .ok_or_else(|| ServiceError::Internal("invoice numbers ran out".into()))?;
        issued.push(IssuedInvoice {
            new: draft.new.clone(),
            state: draft.issued_state.as_str().into(),
            number,
            full_number,
        });
    }
    let invoices = invoices::insert_issued_many(conn, &issued, now_us).await?;

    let mut billed = Vec::new();
    let mut effects = Vec::new();
    let mut collect_now = Vec::new();
    for (invoice, (customer, lines, draft)) in invoices.iter().zip(&drafts) {
        billed.extend(lines.iter().map(|l| (l.id, invoice.id)));
        let days = overdue_days[&invoice.segment_id];
        for job in issue_effects(invoice, customer, draft.method, days, now_us) {
            if lease.is_some() && job.kind == JOB_COLLECT && job.run_at_us <= now_us {
                collect_now.push((job, invoice));
            } else {
                effects.push(job);
            }
        }
    }
    let marked = balance_lines::mark_billed_many(conn, business_id, &billed).await?;
    if marked != billed.len() as u64 {
        return Err(ServiceError::Conflict(
            "balance lines were billed concurrently".into(),
        ));
    }
    super::write_outbox(conn, business_id, effects, now_us).await?;
    let mut out = Billed {
        invoices: invoices.len() as u64,
        collections: Vec::new(),
    };
    if let Some(lease) = lease
        && !collect_now.is_empty()
    {
        out.collections = start_collections(conn, business_id, collect_now, lease, now_us).await?;
    }

    for id in alone {
        let options = BillOptions::default();
        if billing::bill_in(conn, business_id, id, &options, now_us)
            .await?
            .is_some()
        {
            out.invoices += 1;
        }
    }
    Ok(out)
}

/// The first attempts of `jobs` (`CollectInvoice` jobs of new invoices, with
/// their invoice), written with their jobs leased.
async fn start_collections(
    conn: &mut AnyConnection,
    business_id: i64,
    jobs: Vec<(jobs::NewJob, &Invoice)>,
    lease: Lease<'_>,
    now_us: i64,
) -> Result<Vec<Collection>> {
    let (new, issued): (Vec<jobs::NewJob>, Vec<&Invoice>) = jobs.into_iter().unzip();
    let enqueued = jobs::enqueue_many_leased(conn, &new, lease, now_us).await?;
    if enqueued != new.len() as u64 {
        return Err(ServiceError::Conflict(
            "collections were enqueued concurrently".into(),
        ));
    }
    // Attempt 1 of each: the attempt `issue_effects` enqueued the job for.
    let prepared = prepare_issued(conn, business_id, &issued, now_us).await?;
    Ok(new
        .into_iter()
        .zip(prepared)
        .map(|(job, prepared)| Collection {
            job_key: job.natural_key.unwrap_or_default(),
            prepared,
        })
        .collect())
}
