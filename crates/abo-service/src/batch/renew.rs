//! Renewals, set-wise. The common case — a running subscription renewing
//! into its next period, whose buyer can pay, with nothing to charge but its
//! recurrence (no consumption, Limitation extra, priced option or discount)
//! — is written with one statement per table for the whole batch; every
//! other renewal (terminations, suspensions, changes of offer, completed
//! recurrences, features, discounts, unpaid thresholds) runs
//! [`renewal::renew_in`] in the same transaction.

use std::collections::{HashMap, HashSet};

use abo_core::{SubscriptionEvent, SubscriptionState};
use abo_store::jobs::Lease;
use abo_store::subscriptions::{self, ScheduleUpdate, Subscription};
use abo_store::{
    AnyConnection, balance_lines, billing_settings, customers, jobs, segments,
    subscription_discounts,
};

use super::bill::{Collection, bill_known};
use crate::error::Result;
use crate::renewal::{
    self, billing_job, features_write_nothing, next_schedule, reached_term, webhook_job,
};
use crate::subscriptions::schedule::{
    Now, is_billable, line_of, period_line, state_of, transition,
};

/// A `Renew` job: the subscription at the period and state it was due in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueRenewal {
    pub subscription_id: i64,
    pub period_index: i64,
    pub state: String,
}

/// What [`renew_many`] did.
#[derive(Default)]
pub struct Renewed {
    /// Subscriptions renewed (a subscription renewed or moved meanwhile is
    /// left alone, as by [`renewal::renew_expected`]).
    pub renewals: u64,
    /// Invoices issued to the buyers of the common-case renewals.
    pub invoices: u64,
    /// Their card collections started at once (billed with a lease: see
    /// [`bill_many`](super::bill::bill_many)).
    pub collections: Vec<Collection>,
}

/// Renews `due` (subscriptions of `business_id`) in the caller's
/// transaction.
///
/// The buyers of the common-case renewals are billed at once, in the same
/// transaction, as by [`bill_many`](super::bill::bill_many): what their
/// `BillCustomer` job would do at the same instant, without writing,
/// claiming and completing it. A buyer with another subscription still due
/// gets the job instead, as one by one, so that its renewals of the term are
/// billed together. `lease`: see `bill_many`.
pub async fn renew_many(
    conn: &mut AnyConnection,
    business_id: i64,
    due: &[DueRenewal],
    now_us: i64,
    lease: Option<Lease<'_>>,
) -> Result<Renewed> {
    let expected: Vec<(i64, i64, String)> = due
        .iter()
        .map(|d| (d.subscription_id, d.period_index, d.state.clone()))
        .collect();
    let taken = subscriptions::lock_many_for_renewal(conn, business_id, &expected).await?;
    if taken.is_empty() {
        return Ok(Renewed::default());
    }
    let ids: Vec<i64> = taken.iter().map(|s| s.id).collect();
    let discounted = subscription_discounts::with_discounts(conn, business_id, &ids).await?;
    let mut buyer_ids: Vec<i64> = taken.iter().map(|s| s.customer_buyer_id).collect();
    buyer_ids.sort_unstable();
    buyer_ids.dedup();
    let buyer_rows: HashMap<i64, customers::Customer> =
        customers::get_many(conn, business_id, &buyer_ids)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
    let mut settings: HashMap<i64, SegmentRules> = HashMap::new();

    let mut plain = Plain::default();
    let mut others = Vec::new();
    for sub in &taken {
        if let std::collections::hash_map::Entry::Vacant(e) = settings.entry(sub.segment_id) {
            e.insert(SegmentRules::load(conn, business_id, sub.segment_id, now_us).await?);
        }
        let rules = &settings[&sub.segment_id];
        let buyer = buyer_rows.get(&sub.customer_buyer_id);
        let common = !discounted.contains(&sub.id)
            && buyer.is_some_and(|b| rules.renews_plainly(b, sub.amount_recurrence))
            && plain.add(sub, &rules.now)?;
        if !common {
            others.push(sub.id);
        }
    }
    let mut renewed = Renewed {
        renewals: plain.updates.len() as u64,
        ..Renewed::default()
    };
    subscriptions::save_schedules(conn, business_id, &plain.updates, now_us).await?;
    balance_lines::insert_many(conn, &plain.lines, now_us).await?;

    // Billed now, unless another renewal of the buyer is still due.
    let mut buyers: Vec<i64> = plain.billings.iter().map(|j| j.0).collect();
    buyers.sort_unstable();
    buyers.dedup();
    let waiting = subscriptions::buyers_with_due_renewals(conn, business_id, &buyers, now_us)
        .await?
        .into_iter()
        .chain(others_buyers(&taken, &others))
        .collect::<HashSet<i64>>();
    let mut bill_now = Vec::new();
    let mut outbox = plain.jobs;
    for (buyer, job) in plain.billings {
        if waiting.contains(&buyer) {
            outbox.push(job);
        } else if !bill_now.contains(&buyer) {
            bill_now.push(buyer);
        }
    }
    super::write_outbox(conn, business_id, outbox, now_us).await?;

    for id in others {
        if renewal::renew_in(conn, business_id, id, now_us)
            .await?
            .is_some()
        {
            renewed.renewals += 1;
        }
    }
    // Renewals write no customer row: those read above are still current.
    let billed = bill_known(conn, business_id, &bill_now, &buyer_rows, now_us, lease).await?;
    renewed.invoices = billed.invoices;
    renewed.collections = billed.collections;
    Ok(renewed)
}

/// The buyers of the renewals left to the one-by-one path (`others`): they
/// enqueue their buyer's billing, which then bills the whole term at once.
fn others_buyers<'a>(
    taken: &'a [Subscription],
    others: &'a [i64],
) -> impl Iterator<Item = i64> + 'a {
    taken
        .iter()
        .filter(|s| others.contains(&s.id))
        .map(|s| s.customer_buyer_id)
}

/// What a segment decides about a renewal.
struct SegmentRules {
    /// The batch's instant in the segment's time zone.
    now: Now,
    block_without_payment_method: bool,
    /// Unpaid thresholds are set: each renewal looks at its buyer's invoices.
    thresholds: bool,
}

impl SegmentRules {
    async fn load(
        conn: &mut AnyConnection,
        business_id: i64,
        segment_id: i64,
        now_us: i64,
    ) -> Result<Self> {
        let segment = segments::get(conn, business_id, segment_id).await?;
        let billing = billing_settings::get(conn, business_id, segment_id).await?;
        Ok(SegmentRules {
            now: Now::new(now_us, &segment.time_zone)?,
            block_without_payment_method: segment.block_renewal_without_payment_method,
            thresholds: billing.unpaid_threshold_amount.is_some()
                || billing.unpaid_threshold_days.is_some(),
        })
    }

    /// Whether a renewal costing `price` goes ahead for `buyer` without
    /// looking further (no threshold to check, nothing to suspend for).
    fn renews_plainly(&self, buyer: &customers::Customer, price: i64) -> bool {
        let suspends = self.block_without_payment_method && price > 0 && !is_billable(buyer);
        !(self.thresholds || suspends)
    }
}

/// The writes of the common-case renewals of a batch.
#[derive(Default)]
struct Plain {
    updates: Vec<ScheduleUpdate>,
    lines: Vec<balance_lines::NewBalanceLine>,
    jobs: Vec<jobs::NewJob>,
    /// Each renewal's buyer and its `BillCustomer` job.
    billings: Vec<(i64, jobs::NewJob)>,
}

impl Plain {
    /// Adds the renewal of `sub` if it is of the common case: a running
    /// subscription (no delayed effect waiting for its term) whose term is
    /// reached, renewing into a next period, whose features write nothing.
    /// Exactly what [`renewal::renew_in`] writes for it: the new period, its
    /// recurrence line, the `SubscriptionRenewed` webhook and the buyer's
    /// `BillCustomer` job.
    fn add(&mut self, sub: &Subscription, now: &Now) -> Result<bool> {
        let from = state_of(sub)?;
        if !from.is_active()
            || matches!(
                from,
                SubscriptionState::ActiveDelayedTermination
                    | SubscriptionState::ActiveDelayedSuspension
                    | SubscriptionState::ActiveDelayedUpgrade
            )
            || !features_write_nothing(sub)?
        {
            return Ok(false);
        }
        let Some((term_us, _)) = reached_term(sub, now)? else {
            return Ok(false);
        };
        let term = now.date_of(term_us)?;
        let Some(schedule) = next_schedule(sub, term)? else {
            return Ok(false);
        };
        let state = transition(sub, SubscriptionEvent::Renew)?;
        let end = now.midnight(schedule.period.end)?;
        self.updates.push(ScheduleUpdate {
            id: sub.id,
            state: state.as_str().into(),
            date_period_start_us: now.midnight(schedule.period.start)?,
            date_period_end_us: end,
            billing_anchor: schedule.anchor.to_string(),
            period_index: schedule.ordinal,
            is_trial: schedule.is_trial,
        });
        self.lines
            .extend(line_of(sub, now, period_line(sub, &schedule))?);
        self.jobs.push(webhook_job(
            sub,
            "SubscriptionRenewed",
            sub.period_index,
            now.us,
        ));
        self.billings
            .push((sub.customer_buyer_id, billing_job(sub, term, now.us)));
        Ok(true)
    }
}
