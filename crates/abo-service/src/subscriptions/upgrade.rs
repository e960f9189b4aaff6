//! `POST …/Upgrade`: a change of offer (up or down). The old subscription
//! ends and a new one on the target offer takes over, on the same billing
//! anchor, either now (with proration) or at the old one's term.

use abo_core::{
    OfferChange, Period, SubscriptionEvent, SubscriptionState, change_of_offer, fraction, prorate,
    termination_credit,
};
use abo_store::subscriptions::{self, NewSubscription, Subscription, SubscriptionPatch};
use abo_store::{AnyConnection, Store, offers};

use super::ENGAGED;
use super::lifecycle::load;
use super::schedule::{
    Line, Now, Schedule, commitment_end, current_period, enqueue_bill_now, is_engaged_on, lay_out,
    named, terms, terms_of, transition, write_line,
};
use super::view::{SubscriptionView, view_of};
use crate::catalog::mapping::offer_from_store;
use crate::error::{Result, ServiceError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeOptions {
    pub offer_reference: String,
    /// `Immediate` (ProAbono's default is true).
    pub immediate: bool,
    pub bill_now: bool,
    pub ignore_engagement: bool,
}

/// Changes the offer of subscription `id`; returns the new subscription.
pub async fn upgrade(
    store: &Store,
    business_id: i64,
    id: i64,
    options: &UpgradeOptions,
    now_us: i64,
) -> Result<SubscriptionView> {
    let mut tx = store.begin().await?;
    let new = upgrade_in(&mut tx, business_id, id, options, now_us).await?;
    if options.immediate {
        crate::events::upgrade(&mut tx, id, &new, now_us).await?;
    }
    let view = view_of(&mut tx, new, now_us).await?;
    tx.commit().await?;
    Ok(view)
}

/// [`upgrade`] in the caller's transaction (the quotes run it and roll back).
pub(crate) async fn upgrade_in(
    conn: &mut AnyConnection,
    business_id: i64,
    id: i64,
    options: &UpgradeOptions,
    now_us: i64,
) -> Result<Subscription> {
    let (old, now) = load(conn, business_id, id, now_us).await?;
    let offer =
        offers::get_by_reference(conn, business_id, old.segment_id, &options.offer_reference)
            .await
            .map_err(named(format!("offer '{}'", options.offer_reference)))?;
    // The target offer must be coherent before it is copied.
    offer_from_store(&offer)?;
    if options.immediate {
        upgrade_now(conn, &old, &offer, &now, options).await
    } else {
        upgrade_at_term(conn, &old, &offer, &now, options).await
    }
}

fn refuse_engaged(old: &Subscription) -> ServiceError {
    ServiceError::refused(
        ENGAGED,
        format!(
            "subscription {} is within its commitment of {} periods; set IgnoreEngagement to change its offer anyway",
            old.id,
            old.count_min_recurrences.unwrap_or_default()
        ),
    )
}

/// The new subscription's snapshot: the target offer for the same
/// recipient and buyer, with the old metadata and the Limitation quantities
/// (persistent quotas) carried over.
fn successor(
    old: &Subscription,
    offer: &offers::Offer,
    state: SubscriptionState,
) -> NewSubscription {
    let mut new = NewSubscription::from_offer(offer, old.customer_id, state.as_str());
    new.customer_buyer_id = old.customer_buyer_id;
    new.metadata = old.metadata.clone();
    for (f, terms) in new.features.iter_mut().zip(&offer.features) {
        if terms.type_feature != "Limitation" {
            continue;
        }
        if let Some(previous) = old
            .features
            .iter()
            .find(|o| o.terms.feature_id == f.terms.feature_id)
        {
            f.quantity_current = previous.quantity_current;
        }
    }
    new
}

fn clear_trial(new: &mut NewSubscription) {
    new.amount_trial = 0;
    new.duration_trial = None;
    new.unit_trial = None;
}

fn with_schedule(new: &mut NewSubscription, schedule: &Schedule, now: &Now) -> Result<()> {
    let end = now.midnight(schedule.period.end)?;
    new.date_period_start_us = Some(now.midnight(schedule.period.start)?);
    new.date_period_end_us = Some(end);
    new.date_term_us = Some(end);
    new.billing_anchor = Some(schedule.anchor.to_string());
    new.period_index = schedule.ordinal;
    new.is_trial = schedule.is_trial;
    Ok(())
}

async fn upgrade_now(
    conn: &mut AnyConnection,
    old: &Subscription,
    offer: &offers::Offer,
    now: &Now,
    options: &UpgradeOptions,
) -> Result<Subscription> {
    let old_state = transition(old, SubscriptionEvent::Upgrade)?;
    if !options.ignore_engagement && is_engaged_on(old, now, now.today)? {
        return Err(refuse_engaged(old));
    }
    let new_state = SubscriptionState::DraftAgent
        .apply(SubscriptionEvent::Start)
        .map_err(|e| ServiceError::Conflict(e.to_string()))?;
    let mut new = successor(old, offer, new_state);
    new.date_start_us = Some(now.us);
    let (new_trial, new_recurrence) = terms_of_offer(&new)?;
    let (_, old_recurrence) = terms_of(old)?;
    let today = now.today;

    // What the old subscription gets back, and what the new one costs.
    let mut credit: Option<Line<'static>> = None;
    let charge: Option<Line<'static>>;
    let old_period = current_period(old, now)?.filter(|p| p.contains(today));

    if old.is_trial {
        if let Some(period) = old_period {
            let c = termination_credit(old.amount_trial, today, period)?;
            credit = Some(Line {
                kind: "upgrade-credit",
                type_line: "AutoSubscriptionTrialProrata",
                label: format!("{} - refund of the unused trial", old.title),
                amount: c.amount,
                ordinal: old.period_index,
                period: Some(Period::new(today, period.end)?),
                date_move_us: None,
            });
        }
        // The new trial counts from the old start: the trial already used
        // is deducted. When none is left, the first paid period starts now.
        let old_start = now.date_of(old.date_start_us.unwrap_or(now.us))?;
        let remaining_trial = match new_trial {
            Some(t) => {
                let p = t.as_recurrence().nth_period(old_start, 0)?;
                (today < p.end).then_some((t, p))
            }
            None => None,
        };
        match remaining_trial {
            Some((trial, period)) => {
                let schedule = Schedule {
                    is_trial: true,
                    period,
                    anchor: period.end,
                    ordinal: 0,
                };
                with_schedule(&mut new, &schedule, now)?;
                let f = fraction(today, period)?;
                charge = Some(Line {
                    kind: "upgrade-charge",
                    type_line: "AutoSubscriptionTrialProrata",
                    label: format!("{} - trial, prorated ({f} days)", new.title),
                    amount: prorate(trial.amount, f),
                    ordinal: 0,
                    period: Some(Period::new(today, period.end)?),
                    date_move_us: None,
                });
            }
            None => {
                clear_trial(&mut new);
                let schedule = lay_out(today, today, None, new_recurrence)?;
                with_schedule(&mut new, &schedule, now)?;
                charge = Some(Line {
                    kind: "recurrence",
                    type_line: "AutoSubscriptionRecurrence",
                    label: format!("{} - subscription amount", new.title),
                    amount: new.amount_recurrence,
                    ordinal: 0,
                    period: Some(schedule.period),
                    date_move_us: None,
                });
            }
        }
    } else {
        // A paid period is running: prorate both sides on the same anchor.
        clear_trial(&mut new);
        let anchor: jiff::civil::Date = old
            .billing_anchor
            .as_deref()
            .and_then(|a| a.parse().ok())
            .unwrap_or(today);
        let (credit_line, charge_amount, charge_period, fraction_text) = match old_period {
            Some(period) if anchor > period.start => {
                // The term was moved: the current period is a stub ending on
                // the new anchor; the new offer takes the same stub.
                let c = termination_credit(old.amount_recurrence, today, period)?;
                let f = c.fraction;
                (
                    Some(c),
                    prorate(new.amount_recurrence, f),
                    period,
                    f.to_string(),
                )
            }
            Some(_) => {
                let p = change_of_offer(&OfferChange {
                    anchor,
                    change_date: today,
                    old_amount: old.amount_recurrence,
                    old_recurrence,
                    new_amount: new.amount_recurrence,
                    new_recurrence,
                })?;
                (
                    Some(abo_core::ProratedLine {
                        amount: p.credit.amount,
                        fraction: p.credit.fraction,
                        period: p.credit.period,
                    }),
                    p.charge.amount,
                    p.charge.period,
                    p.charge.fraction.to_string(),
                )
            }
            // No period running (suspended after its term): nothing to
            // credit; the new offer starts a full period on the anchor.
            None => {
                let period = new_recurrence.period_containing(anchor, today.max(anchor))?;
                let f = fraction(today.max(period.start), period)?;
                (
                    None,
                    prorate(new.amount_recurrence, f),
                    period,
                    f.to_string(),
                )
            }
        };
        if let Some(c) = credit_line {
            credit = Some(Line {
                kind: "upgrade-credit",
                type_line: "AutoSubscriptionRecurrenceProrata",
                label: format!(
                    "{} - refund of the unused period ({} days of {})",
                    old.title,
                    c.fraction.days(),
                    c.fraction.of()
                ),
                amount: c.amount,
                ordinal: old.period_index,
                period: Some(Period::new(today, c.period.end)?),
                date_move_us: None,
            });
        }
        let schedule = Schedule {
            is_trial: false,
            period: charge_period,
            anchor,
            ordinal: 0,
        };
        with_schedule(&mut new, &schedule, now)?;
        charge = Some(Line {
            kind: "upgrade-charge",
            type_line: "AutoSubscriptionRecurrenceProrata",
            label: format!(
                "{} - subscription amount, prorated ({fraction_text} days)",
                new.title
            ),
            amount: charge_amount,
            ordinal: 0,
            period: Some(Period::new(
                today.max(charge_period.start),
                charge_period.end,
            )?),
            date_move_us: None,
        });
    }

    let created = subscriptions::create(conn, &new, now.us).await?;
    let ended = SubscriptionPatch {
        state: Some(old_state.as_str().into()),
        date_end_us: Some(Some(now.us)),
        date_term_us: Some(Some(now.us)),
        ..Default::default()
    };
    let old_after = subscriptions::update(conn, old.business_id, old.id, &ended, now.us).await?;
    if let Some(line) = credit {
        write_line(conn, &old_after, now, line).await?;
    }
    if let Some(line) = charge {
        write_line(conn, &created, now, line).await?;
    }
    if options.bill_now {
        enqueue_bill_now(conn, &created, now).await?;
    }
    Ok(created)
}

/// The new snapshot's trial and recurrence.
fn terms_of_offer(
    new: &NewSubscription,
) -> Result<(Option<abo_core::Trial>, abo_core::Recurrence)> {
    terms(
        &new.unit_recurrence,
        new.duration_recurrence,
        new.amount_trial,
        new.duration_trial,
        new.unit_trial.as_deref(),
    )
}

async fn upgrade_at_term(
    conn: &mut AnyConnection,
    old: &Subscription,
    offer: &offers::Offer,
    now: &Now,
    options: &UpgradeOptions,
) -> Result<Subscription> {
    let old_state = transition(old, SubscriptionEvent::ScheduleUpgrade)?;
    let term_us = old
        .date_term_us
        .ok_or_else(|| ServiceError::Internal(format!("subscription {} has no term", old.id)))?;
    let term = now.date_of(term_us)?;
    // Changing at the term is fine once the commitment ends by then.
    if !options.ignore_engagement && commitment_end(old, now)?.is_some_and(|end| term < end) {
        return Err(refuse_engaged(old));
    }
    let mut new = successor(old, offer, SubscriptionState::DraftDelayedUpgrade);
    // The trial was had on the old subscription; paid periods start at the
    // term, which becomes the anchor.
    clear_trial(&mut new);
    let (_, recurrence) = terms_of_offer(&new)?;
    let schedule = lay_out(term, term, None, recurrence)?;
    with_schedule(&mut new, &schedule, now)?;
    new.date_start_us = Some(term_us);
    let created = subscriptions::create(conn, &new, now.us).await?;
    subscriptions::update_state(conn, old.business_id, old.id, old_state.as_str(), now.us).await?;
    if options.bill_now {
        enqueue_bill_now(conn, &created, now).await?;
    }
    Ok(created)
}
