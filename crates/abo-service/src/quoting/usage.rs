//! Quotes of usage changes (`POST /v1/Quoting/Usage`, and the options page
//! of the hosted workflows): the real usage writes run in a transaction
//! that is rolled back.

use abo_store::usages::{self as store_usages, StartedFilter};
use abo_store::{Store, subscriptions};

use super::assemble::{Quote, due_ids, quote_of, written_since};
use super::next_term::next_term;
use super::subscription::refuse_unbillable;
use crate::error::{Result, ServiceError};
use crate::usages::{UsageWrite, apply_write, check_write};

/// Options of a usage quote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageQuoteOptions {
    /// `EnsureBillable`: `None` checks the buyer only when the change costs
    /// something (the contract's default), `Some(true)` always, `Some(false)`
    /// never.
    pub ensure_billable: Option<bool>,
    /// Add the renewal after the change.
    pub next_term: bool,
}

/// The quote of applying `writes` (one or several features of one
/// subscription, in order) now.
pub async fn quote_usage_changes(
    store: &Store,
    business_id: i64,
    writes: &[UsageWrite],
    options: UsageQuoteOptions,
    now_us: i64,
) -> Result<Quote> {
    let errors: Vec<String> = writes
        .iter()
        .filter_map(|w| check_write(w, now_us).err())
        .collect();
    if !errors.is_empty() {
        return Err(ServiceError::Invalid(errors));
    }
    if writes.is_empty() {
        return Err(ServiceError::invalid("no usage change to quote"));
    }
    let mut tx = store.begin().await?;
    // The buyers of every subscription a write may land on, before anything
    // changes.
    let mut buyers = Vec::new();
    for w in writes {
        let rows = store_usages::list_started(
            &mut tx,
            business_id,
            &StartedFilter {
                customer_reference: w.customer_reference.as_deref(),
                feature_reference: Some(&w.feature_reference),
                subscription_id: w.subscription_id,
                ..Default::default()
            },
        )
        .await?;
        for row in rows {
            let sub = subscriptions::get(&mut tx, business_id, row.subscription_id).await?;
            if !buyers.contains(&sub.customer_buyer_id) {
                buyers.push(sub.customer_buyer_id);
            }
        }
    }
    let before = due_ids(&mut tx, business_id, &buyers).await?;
    let mut target = None;
    for w in writes {
        let usage = apply_write(&mut tx, business_id, w, now_us).await?;
        target.get_or_insert(usage.subscription_id);
    }
    let id = target.expect("at least one write");
    let sub = subscriptions::get(&mut tx, business_id, id).await?;
    let buyer = sub.customer_buyer_id;
    let lines = written_since(&mut tx, business_id, buyer, &before).await?;
    let mut quote = quote_of(&mut tx, business_id, buyer, Some(id), &lines).await?;
    if lines.is_empty() {
        // Nothing charged now: the period the change applies to.
        quote.date_period_start_us = sub.date_period_start_us;
        quote.date_period_end_us = sub.date_period_end_us;
    }
    let check = options
        .ensure_billable
        .unwrap_or(quote.amount_total_due > 0);
    refuse_unbillable(&mut tx, business_id, buyer, check).await?;
    if options.next_term {
        quote.next_term = next_term(&mut tx, business_id, id).await?.map(Box::new);
    }
    tx.rollback().await?;
    Ok(quote)
}
