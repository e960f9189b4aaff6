//! Renewal: what happens to a subscription when its period ends (spec §1.6,
//! billing-rules "Subscription life", "Features" and "Exactly once").
//!
//! [`renew`] runs in ONE transaction for one subscription whose term is
//! reached at `now`:
//! - what waits for the term happens: `ActiveDelayedTermination` →
//!   `EndedTerminated`, `ActiveDelayedSuspension` → `SuspendedAgent`,
//!   `ActiveDelayedUpgrade` → `EndedUpgrade` and the customer's
//!   `DraftDelayedUpgrade` starting at that term becomes `ActiveRunning`
//!   (its first period charged, no up-front fee: the customer is not new);
//! - a running subscription whose `CountRecurrences` paid periods are done
//!   becomes `EndedComplete`;
//! - a running subscription whose buyer cannot be billed (no payment method)
//!   is suspended (`SuspendedNoPaymentInfo`) when its segment blocks such
//!   renewals (the default) and the next period costs something: a free
//!   offer renews without a payment method;
//! - otherwise it renews: `period_index` + 1, the next period laid out from
//!   the anchor (never chained) in the segment's time zone; the end of a
//!   trial renews into the first paid period the same way.
//!
//! In every case the Consumption extras of the period that ended are billed
//! in arrears (valued with `price_quantity` on the absolute quantity, the
//! included quantity free) and their counters reset by subtracting what was
//! billed (a usage recorded concurrently still counts for the next period).
//! A renewal also charges, in advance, the recurrence fee, the Limitation
//! extras and the enabled priced OnOff options of the new period.
//!
//! Effects: a `BillCustomer` job for the buyer (natural key
//! `bill:{customer}:{date of the term}`) and `Webhook` outbox rows (natural
//! key `webhook:{trigger}:{subscription}:{period}`), in the same transaction.
//!
//! Exactly once: the transaction first takes the subscription at the
//! expected `(period_index, state)` with a conditional update
//! (`subscriptions::lock_for_renewal`); a second run for the same term finds
//! it moved on and changes nothing. Every line carries the natural key
//! `subscription={id}:period={n}:{kind}` on top.
//!
//! A buyer over its segment's unpaid thresholds is suspended at renewal
//! (`SuspendedPaymentDue`, `billing::dunning`); a payment restarts it.
//! [`start_delayed`] starts a `DraftDelayedStart` subscription on its date.

use abo_core::price_quantity;
use abo_core::{FeaturePricing, FeatureType, Period, SubscriptionEvent, SubscriptionState};
use abo_store::balance_lines::{self, NewBalanceLine};
use abo_store::subscriptions::{self, Subscription, SubscriptionPatch};
use abo_store::{AnyConnection, Store, customers, jobs, segments, usages};
use jiff::civil::Date;

use crate::billing::dunning::over_unpaid_threshold;
use crate::catalog::mapping::pricing_from_store;
use crate::error::Result;
use crate::subscriptions::schedule::{
    Now, Schedule, charge_period, corrupt, current_period, is_billable, lay_out, line_key,
    state_of, terms_of, transition,
};
use crate::subscriptions::{pending_upgrade, save_schedule};

/// What one renewal did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewalOutcome {
    pub subscription_id: i64,
    /// The state before and after.
    pub from: String,
    pub to: String,
    /// The period index after the renewal.
    pub period_index: i64,
    /// The subscription that replaced this one (a change of offer at term).
    pub started_id: Option<i64>,
}

/// Renews subscription `id` (of `business_id`) if it is still at
/// `(period_index, state)` and its term is reached at `now_us`. `None` when
/// there is nothing to do (already renewed, moved, or not due).
pub async fn renew(
    store: &Store,
    business_id: i64,
    id: i64,
    period_index: i64,
    state: &str,
    now_us: i64,
) -> Result<Option<RenewalOutcome>> {
    let mut tx = store.begin().await?;
    let outcome = renew_expected(&mut tx, business_id, id, period_index, state, now_us).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// [`renew`] inside the caller's transaction (the engine renews a batch of
/// subscriptions in one): takes the subscription at the expected
/// `(period_index, state)`, then renews it.
pub async fn renew_expected(
    conn: &mut AnyConnection,
    business_id: i64,
    id: i64,
    period_index: i64,
    state: &str,
    now_us: i64,
) -> Result<Option<RenewalOutcome>> {
    if !subscriptions::lock_for_renewal(conn, business_id, id, period_index, state, now_us).await? {
        return Ok(None);
    }
    renew_in(conn, business_id, id, now_us).await
}

/// The renewal of subscription `id`, inside the caller's transaction.
pub async fn renew_in(
    conn: &mut AnyConnection,
    business_id: i64,
    id: i64,
    now_us: i64,
) -> Result<Option<RenewalOutcome>> {
    let sub = subscriptions::get(conn, business_id, id).await?;
    let segment = segments::get(conn, business_id, sub.segment_id).await?;
    let now = Now::new(now_us, &segment.time_zone)?;
    let from = state_of(&sub)?;
    if !from.is_active() {
        return Ok(None);
    }
    let Some((term_us, period)) = reached_term(&sub, &now)? else {
        return Ok(None);
    };
    let term = now.date_of(term_us)?;
    let ended = sub.period_index;

    // The period that ended is billed for what was consumed, whatever follows.
    bill_consumption(conn, &sub, &now, period, term, ended).await?;

    let mut started_id = None;
    let (updated, trigger) = match from {
        SubscriptionState::ActiveDelayedTermination
        | SubscriptionState::ActiveDelayedSuspension => {
            let state = transition(&sub, SubscriptionEvent::ReachTerm)?;
            let mut patch = SubscriptionPatch {
                state: Some(state.as_str().into()),
                ..Default::default()
            };
            let trigger = if state == SubscriptionState::EndedTerminated {
                patch.date_end_us = Some(Some(term_us));
                patch.date_term_us = Some(Some(term_us));
                "SubscriptionTerminated"
            } else {
                "SubscriptionSuspendedAgent"
            };
            let updated = subscriptions::update(conn, business_id, id, &patch, now.us).await?;
            (updated, trigger)
        }
        SubscriptionState::ActiveDelayedUpgrade => {
            let draft = pending_upgrade(conn, &sub).await?;
            let state = transition(&sub, SubscriptionEvent::ReachTerm)?;
            let patch = SubscriptionPatch {
                state: Some(state.as_str().into()),
                date_end_us: Some(Some(term_us)),
                date_term_us: Some(Some(term_us)),
                ..Default::default()
            };
            let updated = subscriptions::update(conn, business_id, id, &patch, now.us).await?;
            if let Some(draft) = draft {
                let new = start_successor(conn, draft, &now, term).await?;
                webhook(conn, &new, "SubscriptionUpgraded", new.period_index, &now).await?;
                started_id = Some(new.id);
            }
            (updated, "SubscriptionTerminatedForUpgrade")
        }
        _ => match next_schedule(&sub, term)? {
            None => {
                let state = transition(&sub, SubscriptionEvent::EndComplete)?;
                let patch = SubscriptionPatch {
                    state: Some(state.as_str().into()),
                    date_end_us: Some(Some(term_us)),
                    ..Default::default()
                };
                let updated = subscriptions::update(conn, business_id, id, &patch, now.us).await?;
                (updated, "SubscriptionHistory")
            }
            Some(schedule) => {
                let next_price = sub
                    .amount_recurrence
                    .saturating_add(features_in_advance(&sub, false)?);
                let buyer = customers::get(conn, business_id, sub.customer_buyer_id).await?;
                let payment_due = next_price > 0
                    && over_unpaid_threshold(conn, business_id, sub.segment_id, buyer.id, now.us)
                        .await?;
                if payment_due {
                    let state = transition(&sub, SubscriptionEvent::RenewalWithPaymentDue)?;
                    let updated =
                        subscriptions::update_state(conn, business_id, id, state.as_str(), now.us)
                            .await?;
                    (updated, "SubscriptionSuspendedPaymentDue")
                } else if segment.block_renewal_without_payment_method
                    && next_price > 0
                    && !is_billable(&buyer)
                {
                    let state = transition(&sub, SubscriptionEvent::RenewalWithoutPaymentMethod)?;
                    let updated =
                        subscriptions::update_state(conn, business_id, id, state.as_str(), now.us)
                            .await?;
                    (updated, "SubscriptionSuspendedPaymentInfoMissing")
                } else {
                    let state = transition(&sub, SubscriptionEvent::Renew)?;
                    let updated = save_schedule(conn, &sub, state, &schedule, None, &now).await?;
                    charge_period(conn, &updated, &schedule, &now, false).await?;
                    (updated, "SubscriptionRenewed")
                }
            }
        },
    };
    webhook(conn, &sub, trigger, ended, &now).await?;
    if let Some(template) = email_of(trigger) {
        email(conn, &sub, template, ended, &now).await?;
    }
    enqueue_billing(conn, &sub, term, &now).await?;
    Ok(Some(RenewalOutcome {
        subscription_id: id,
        from: from.as_str().into(),
        to: updated.state.clone(),
        period_index: updated.period_index,
        started_id,
    }))
}

/// The term of `sub` if it is reached at `now`: the period end, or an earlier
/// chosen termination date, with the current period.
pub(crate) fn reached_term(sub: &Subscription, now: &Now) -> Result<Option<(i64, Period)>> {
    let (Some(period_end_us), Some(period)) = (sub.date_period_end_us, current_period(sub, now)?)
    else {
        return Ok(None);
    };
    let term_us = sub
        .date_term_us
        .map_or(period_end_us, |t| t.min(period_end_us));
    Ok((term_us <= now.us).then_some((term_us, period)))
}

/// The period a running subscription renews into at `term` (laid out from
/// its anchor, never chained), or `None` when its `CountRecurrences` paid
/// periods are done.
pub(crate) fn next_schedule(sub: &Subscription, term: Date) -> Result<Option<Schedule>> {
    let (trial, recurrence) = terms_of(sub)?;
    let had_trial = i64::from(trial.is_some());
    let paid = if sub.is_trial {
        0
    } else {
        sub.period_index + 1 - had_trial
    };
    if sub.count_recurrences.is_some_and(|c| paid >= c) {
        return Ok(None);
    }
    let anchor: Date = match sub.billing_anchor.as_deref() {
        Some(a) => a.parse().map_err(|_| corrupt("billing_anchor"))?,
        None => term,
    };
    Ok(Some(Schedule {
        is_trial: false,
        period: recurrence.period_containing(anchor, term.max(anchor))?,
        anchor,
        ordinal: sub.period_index + 1,
    }))
}

/// Whether a renewal of `sub` writes nothing for its features: no
/// consumption to bill in arrears, no Limitation extra or priced option to
/// charge in advance (the engine's batches renew such subscriptions set-wise).
pub(crate) fn features_write_nothing(sub: &Subscription) -> Result<bool> {
    for f in &sub.features {
        let consumed = f.type_feature == FeatureType::Consumption.as_str()
            && f.quantity_current.is_some_and(|q| q > 0);
        if consumed || feature_in_advance(f, false)?.is_some() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The customer's e-mail for a renewal's outcome (mail types in
/// notes/contracts.md), if any.
fn email_of(trigger: &str) -> Option<&'static str> {
    match trigger {
        "SubscriptionSuspendedPaymentInfoMissing" => Some("SubscriptionSuspendedNoPaymentMethod"),
        "SubscriptionSuspendedPaymentDue" => Some("SubscriptionSuspendedPaymentDue"),
        "SubscriptionHistory" => Some("SubscriptionEnded"),
        "SubscriptionTerminated" => Some("SubscriptionTerminated"),
        _ => None,
    }
}

/// Starts a `DraftDelayedStart` subscription on its start date (the
/// `StartDelayed` job), in one transaction: its periods are laid out from
/// that date, the up-front fee and first period are charged and billed.
/// `None` when there is nothing to do (started, cancelled, not yet due).
/// Periods after the start that have already ended are left to the
/// renewals, which charge each of them in order.
pub async fn start_delayed(
    store: &Store,
    business_id: i64,
    id: i64,
    now_us: i64,
) -> Result<Option<i64>> {
    const DELAYED: &str = "DraftDelayedStart";
    let mut tx = store.begin().await?;
    let sub = subscriptions::get(&mut tx, business_id, id).await?;
    let Some(start_us) = sub.date_start_us.filter(|s| *s <= now_us) else {
        return Ok(None);
    };
    if sub.state != DELAYED
        || !subscriptions::lock_for_renewal(
            &mut tx,
            business_id,
            id,
            sub.period_index,
            DELAYED,
            now_us,
        )
        .await?
    {
        return Ok(None);
    }
    let segment = segments::get(&mut tx, business_id, sub.segment_id).await?;
    let now = Now::new(now_us, &segment.time_zone)?;
    let state = transition(&sub, SubscriptionEvent::ReachDelayedStart)?;
    let (trial, recurrence) = terms_of(&sub)?;
    let start = now.date_of(start_us)?;
    let schedule = lay_out(start, start, trial, recurrence)?;
    let started = save_schedule(&mut tx, &sub, state, &schedule, Some(start_us), &now).await?;
    charge_period(&mut tx, &started, &schedule, &now, true).await?;
    webhook(
        &mut tx,
        &started,
        "SubscriptionStarted",
        started.period_index,
        &now,
    )
    .await?;
    enqueue_billing(&mut tx, &started, start, &now).await?;
    tx.commit().await?;
    Ok(Some(started.id))
}

/// Starts the draft of a change of offer at `term`: its periods are laid out
/// from the term (its anchor); the current one is charged in advance.
async fn start_successor(
    conn: &mut AnyConnection,
    draft: Subscription,
    now: &Now,
    term: Date,
) -> Result<Subscription> {
    let state = transition(&draft, SubscriptionEvent::ReachDelayedStart)?;
    let (_, recurrence) = terms_of(&draft)?;
    let start = match draft.date_start_us {
        Some(us) => now.date_of(us)?,
        None => term,
    };
    let schedule = lay_out(start, term, None, recurrence)?;
    let start_us = now.midnight(start)?;
    let started = save_schedule(conn, &draft, state, &schedule, Some(start_us), now).await?;
    charge_period(conn, &started, &schedule, now, false).await?;
    Ok(started)
}

/// The price of the Limitation extras and enabled priced OnOff options for
/// one period (`in_trial`: features free in trial cost nothing).
fn features_in_advance(sub: &Subscription, in_trial: bool) -> Result<i64> {
    let mut total = 0i64;
    for f in &sub.features {
        total = total.saturating_add(feature_in_advance(f, in_trial)?.map_or(0, |(a, _, _)| a));
    }
    Ok(total)
}

/// (amount, quantity reported, quantity billed) of a feature for one period.
type InAdvance = (i64, Option<i64>, Option<i64>);

/// One feature's price for a period in advance, or `None` when it is not
/// charged in advance.
fn feature_in_advance(
    f: &subscriptions::SubscriptionFeature,
    in_trial: bool,
) -> Result<Option<InAdvance>> {
    if in_trial && f.terms.free_in_trial {
        return Ok(None);
    }
    let kind: FeatureType = f
        .type_feature
        .parse()
        .map_err(|_| corrupt("feature type"))?;
    let pricing = pricing_from_store(&f.terms)?;
    Ok(match (kind, &pricing) {
        (FeatureType::Limitation, _) => {
            let Some(included) = f.terms.quantity_included else {
                return Ok(None);
            };
            let quantity = f.quantity_current.unwrap_or(0).max(0);
            let amount = price_quantity(&pricing, to_u64(included), to_u64(quantity))?;
            Some((amount, Some(quantity), Some((quantity - included).max(0))))
        }
        (FeatureType::OnOff, FeaturePricing::OnOff { amount })
            if !f.terms.is_included && f.terms.is_enabled =>
        {
            Some((*amount, None, None))
        }
        _ => None,
    })
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// Limitation extras and enabled options of the new period, in advance.
pub(crate) async fn charge_features(
    conn: &mut AnyConnection,
    sub: &Subscription,
    schedule: &Schedule,
    now: &Now,
) -> Result<()> {
    for f in &sub.features {
        let Some((amount, reported, billed)) = feature_in_advance(f, schedule.is_trial)? else {
            continue;
        };
        let (kind, type_line, label) = if reported.is_some() {
            ("limitation", "AutoFeatureNotProratable", "extra units")
        } else {
            ("option", "AutoFeatureNotProratable", "option")
        };
        write_feature_line(
            conn,
            sub,
            now,
            FeatureLine {
                feature_id: f.terms.feature_id,
                kind: format!("{kind}-{}", f.feature_reference),
                type_line,
                label: format!("{} - {} - {label}", sub.title, f.feature_reference),
                amount,
                reported,
                billed,
                ordinal: schedule.ordinal,
                period: schedule.period,
            },
        )
        .await?;
        if let Some(quantity) = reported {
            // What the new period is billed for: a mid-period increase is
            // charged above it (`usages::increase`).
            let (b, s, feature) = (sub.business_id, sub.id, f.terms.feature_id);
            usages::set_limitation_billed(conn, b, s, feature, schedule.ordinal, quantity, now.us)
                .await?;
        }
    }
    Ok(())
}

/// Consumption of the period that ended (`period`, up to `term`): billed in
/// arrears, then the counters are reset.
async fn bill_consumption(
    conn: &mut AnyConnection,
    sub: &Subscription,
    now: &Now,
    period: Period,
    term: Date,
    ordinal: i64,
) -> Result<()> {
    let billed_period = if term > period.start && term < period.end {
        Period::new(period.start, term)?
    } else {
        period
    };
    for f in &sub.features {
        if f.type_feature != FeatureType::Consumption.as_str() {
            continue;
        }
        let Some(quantity) = f.quantity_current.filter(|q| *q > 0) else {
            continue;
        };
        let free = sub.is_trial && f.terms.free_in_trial;
        if let (Some(included), false) = (f.terms.quantity_included, free) {
            let pricing = pricing_from_store(&f.terms)?;
            let amount = price_quantity(&pricing, to_u64(included), to_u64(quantity))?;
            write_feature_line(
                conn,
                sub,
                now,
                FeatureLine {
                    feature_id: f.terms.feature_id,
                    kind: format!("consumption-{}", f.feature_reference),
                    type_line: "AutoFeatureNotProratable",
                    label: format!("{} - {} - consumption", sub.title, f.feature_reference),
                    amount,
                    reported: Some(quantity),
                    billed: Some((quantity - included).max(0)),
                    ordinal,
                    period: billed_period,
                },
            )
            .await?;
        }
        // Subtract what was counted: increments recorded meanwhile survive.
        usages::apply_increment(conn, sub.business_id, sub.id, f.terms.feature_id, -quantity)
            .await?;
    }
    Ok(())
}

struct FeatureLine<'a> {
    feature_id: i64,
    kind: String,
    type_line: &'a str,
    label: String,
    amount: i64,
    reported: Option<i64>,
    billed: Option<i64>,
    ordinal: i64,
    period: Period,
}

/// A feature's balance line (nothing for 0; nothing new for a known key).
async fn write_feature_line(
    conn: &mut AnyConnection,
    sub: &Subscription,
    now: &Now,
    line: FeatureLine<'_>,
) -> Result<()> {
    if line.amount == 0 {
        return Ok(());
    }
    let new = NewBalanceLine {
        business_id: sub.business_id,
        segment_id: sub.segment_id,
        customer_id: sub.customer_buyer_id,
        subscription_id: Some(sub.id),
        feature_id: Some(line.feature_id),
        type_line: line.type_line.into(),
        key_charge: Some("Service".into()),
        label: line.label,
        quantity_reported: line.reported,
        quantity_billed: line.billed,
        amount_subtotal: line.amount,
        currency: sub.currency.clone(),
        date_move_us: None,
        date_period_start_us: Some(now.midnight(line.period.start)?),
        date_period_end_us: Some(now.midnight(line.period.end)?),
        natural_key: Some(line_key(sub.id, line.ordinal, &line.kind)),
    };
    balance_lines::insert(conn, &new, now.us).await?;
    Ok(())
}

/// Asks the billing engine to bill the buyer, once per buyer and term date.
async fn enqueue_billing(
    conn: &mut AnyConnection,
    sub: &Subscription,
    term: Date,
    now: &Now,
) -> Result<()> {
    jobs::enqueue(conn, &billing_job(sub, term, now.us), now.us).await?;
    Ok(())
}

/// The `BillCustomer` job of a renewal (natural key `bill:{buyer}:{term}`).
pub(crate) fn billing_job(sub: &Subscription, term: Date, now_us: i64) -> jobs::NewJob {
    let payload = serde_json::json!({
        "business_id": sub.business_id,
        "customer_id": sub.customer_buyer_id,
    });
    jobs::NewJob {
        business_id: Some(sub.business_id),
        kind: "BillCustomer".into(),
        payload: payload.to_string(),
        run_at_us: now_us,
        max_attempts: 10,
        natural_key: Some(format!("bill:{}:{term}", sub.customer_buyer_id)),
    }
}

/// An e-mail to the customer, once per template, subscription and period.
async fn email(
    conn: &mut AnyConnection,
    sub: &Subscription,
    template: &str,
    period: i64,
    now: &Now,
) -> Result<()> {
    let payload = serde_json::json!({
        "Template": template,
        "IdCustomer": sub.customer_id,
        "IdSubscription": sub.id,
    });
    jobs::enqueue(
        conn,
        &jobs::NewJob {
            business_id: Some(sub.business_id),
            kind: "Email".into(),
            payload: payload.to_string(),
            run_at_us: now.us,
            max_attempts: 10,
            natural_key: Some(format!("email:subscription={}:{template}:{period}", sub.id)),
        },
        now.us,
    )
    .await?;
    Ok(())
}

/// A webhook outbox row, once per trigger, subscription and period.
async fn webhook(
    conn: &mut AnyConnection,
    sub: &Subscription,
    trigger: &str,
    period: i64,
    now: &Now,
) -> Result<()> {
    jobs::enqueue(conn, &webhook_job(sub, trigger, period, now.us), now.us).await?;
    Ok(())
}

/// The webhook outbox row of a subscription's event (natural key
/// `webhook:{trigger}:{subscription}:{period}`).
pub(crate) fn webhook_job(
    sub: &Subscription,
    trigger: &str,
    period: i64,
    now_us: i64,
) -> jobs::NewJob {
    let payload = serde_json::json!({
        "TypeTrigger": trigger,
        "IdBusiness": sub.business_id,
        "IdSegment": sub.segment_id,
        "IdCustomer": sub.customer_id,
        "IdSubscription": sub.id,
    });
    jobs::NewJob {
        business_id: Some(sub.business_id),
        kind: "Webhook".into(),
        payload: payload.to_string(),
        run_at_us: now_us,
        max_attempts: 20,
        natural_key: Some(format!("webhook:{trigger}:{}:{period}", sub.id)),
    }
}
