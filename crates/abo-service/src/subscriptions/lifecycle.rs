//! Start (and restart), moving the term, suspension and termination.

use abo_core::{
    Period, SubscriptionEvent, SubscriptionState, SubscriptionStatus, termination_credit,
};
use abo_store::subscriptions::{self, Subscription, SubscriptionFilter, SubscriptionPatch};
use abo_store::{AnyConnection, PageRequest, Store, customers, segments};

use super::PAYMENT_SETTINGS_MISSING;
use super::schedule::{
    Line, Now, Schedule, charge_period, current_period, enqueue_bill_now, is_billable,
    is_engaged_on, lay_out, named, state_of, terms_of, transition, write_line,
};
use super::view::{SubscriptionView, view_of};
use crate::error::{Result, ServiceError};

/// Flags of `POST …/Start`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StartOptions {
    pub ensure_billable: bool,
    pub bill_now: bool,
}

/// Flags of `POST …/Termination`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TerminationOptions {
    pub immediate: bool,
    pub date_termination_us: Option<i64>,
}

/// The subscription (404 when it is not this business's) and "now" in its
/// segment's time zone.
pub(crate) async fn load(
    conn: &mut AnyConnection,
    business_id: i64,
    id: i64,
    now_us: i64,
) -> Result<(Subscription, Now)> {
    let sub = subscriptions::get(conn, business_id, id)
        .await
        .map_err(named(format!("subscription {id}")))?;
    let segment = segments::get(conn, business_id, sub.segment_id).await?;
    let now = Now::new(now_us, &segment.time_zone)?;
    Ok((sub, now))
}

/// `POST …/Start`: starts a draft, or restarts a suspended subscription.
pub async fn start(
    store: &Store,
    business_id: i64,
    id: i64,
    options: StartOptions,
    now_us: i64,
) -> Result<SubscriptionView> {
    let mut tx = store.begin().await?;
    let sub = start_in(&mut tx, business_id, id, options, now_us).await?;
    let view = view_of(&mut tx, sub, now_us).await?;
    tx.commit().await?;
    Ok(view)
}

pub(crate) async fn start_in(
    conn: &mut AnyConnection,
    business_id: i64,
    id: i64,
    options: StartOptions,
    now_us: i64,
) -> Result<Subscription> {
    let (sub, now) = load(conn, business_id, id, now_us).await?;
    start_loaded(conn, sub, &now, options, true).await
}

/// Starts (`charge`: and charges the up-front fee and the current period)
/// or restarts `sub`.
pub(crate) async fn start_loaded(
    conn: &mut AnyConnection,
    sub: Subscription,
    now: &Now,
    options: StartOptions,
    charge: bool,
) -> Result<Subscription> {
    let from = state_of(&sub)?;
    let restart = from.status() == SubscriptionStatus::Suspended;
    let state = transition(
        &sub,
        if restart {
            SubscriptionEvent::Restart
        } else {
            SubscriptionEvent::Start
        },
    )?;
    if options.ensure_billable {
        let buyer = customers::get(conn, sub.business_id, sub.customer_buyer_id).await?;
        if !is_billable(&buyer) {
            return Err(ServiceError::refused(
                PAYMENT_SETTINGS_MISSING,
                format!(
                    "customer '{}' has no payment method: it cannot be billed",
                    buyer.reference
                ),
            ));
        }
    }
    let (trial, recurrence) = terms_of(&sub)?;
    let b = sub.business_id;
    let trigger = if restart {
        "SubscriptionRestarted"
    } else {
        "SubscriptionStarted"
    };
    crate::events::subscription(conn, trigger, &sub, now.us).await?;

    let (updated, schedule, with_upfront) = if restart {
        let ended = sub.date_period_end_us.is_none_or(|end| end <= now.us);
        if !ended {
            let updated =
                subscriptions::update_state(conn, b, sub.id, state.as_str(), now.us).await?;
            return finish(conn, updated, now, options).await;
        }
        // The period ended while suspended: renew into the period that
        // contains today (the suspended time is not charged).
        let anchor = sub
            .billing_anchor
            .as_deref()
            .and_then(|a| a.parse().ok())
            .unwrap_or(now.today);
        let period = recurrence.period_containing(anchor, now.today.max(anchor))?;
        let schedule = Schedule {
            is_trial: false,
            period,
            anchor,
            ordinal: sub.period_index + 1,
        };
        let updated = save_schedule(conn, &sub, state, &schedule, None, now).await?;
        (updated, schedule, false)
    } else {
        // A backdated draft starts on its date; a delayed one started early
        // (or an undated one) starts now.
        let start_us = match (from, sub.date_start_us) {
            (SubscriptionState::DraftDelayedStart, _) => now.us,
            (_, Some(d)) if d <= now.us => d,
            _ => now.us,
        };
        let schedule = lay_out(now.date_of(start_us)?, now.today, trial, recurrence)?;
        let updated = save_schedule(conn, &sub, state, &schedule, Some(start_us), now).await?;
        (updated, schedule, true)
    };
    if charge {
        charge_period(conn, &updated, &schedule, now, with_upfront).await?;
    }
    finish(conn, updated, now, options).await
}

async fn finish(
    conn: &mut AnyConnection,
    sub: Subscription,
    now: &Now,
    options: StartOptions,
) -> Result<Subscription> {
    if options.bill_now {
        enqueue_bill_now(conn, &sub, now).await?;
    }
    Ok(sub)
}

/// Saves a new state with the schedule's dates (term = period end).
pub(crate) async fn save_schedule(
    conn: &mut AnyConnection,
    sub: &Subscription,
    state: SubscriptionState,
    schedule: &Schedule,
    date_start_us: Option<i64>,
    now: &Now,
) -> Result<Subscription> {
    let end = now.midnight(schedule.period.end)?;
    let patch = SubscriptionPatch {
        state: Some(state.as_str().into()),
        date_start_us: date_start_us.map(Some),
        date_period_start_us: Some(Some(now.midnight(schedule.period.start)?)),
        date_period_end_us: Some(Some(end)),
        date_term_us: Some(Some(end)),
        billing_anchor: Some(Some(schedule.anchor.to_string())),
        period_index: Some(schedule.ordinal),
        is_trial: Some(schedule.is_trial),
        ..Default::default()
    };
    Ok(subscriptions::update(conn, sub.business_id, sub.id, &patch, now.us).await?)
}

/// `POST …/DateTerm`: moves the term (the next renewal, or the date a
/// delayed effect happens).
pub async fn move_term(
    store: &Store,
    business_id: i64,
    id: i64,
    date_term_us: i64,
    now_us: i64,
) -> Result<SubscriptionView> {
    let mut tx = store.begin().await?;
    let (sub, now) = load(&mut tx, business_id, id, now_us).await?;
    let state = state_of(&sub)?;
    if state.is_final() {
        return Err(ServiceError::Conflict(format!(
            "subscription {id}: cannot move the term of a subscription in state {state}"
        )));
    }
    if date_term_us <= now_us {
        return Err(ServiceError::invalid("DateTerm: must be in the future"));
    }
    let mut patch = SubscriptionPatch {
        date_term_us: Some(Some(date_term_us)),
        ..Default::default()
    };
    if state.is_active() {
        if sub
            .date_period_start_us
            .is_some_and(|start| date_term_us <= start)
        {
            return Err(ServiceError::invalid(
                "DateTerm: must be after the start of the current period",
            ));
        }
        // The renewal moves with the term; later periods follow its date.
        patch.date_period_end_us = Some(Some(date_term_us));
        patch.billing_anchor = Some(Some(now.date_of(date_term_us)?.to_string()));
    }
    let sub = subscriptions::update(&mut tx, business_id, id, &patch, now_us).await?;
    crate::events::subscription(&mut tx, "SubscriptionDateTermUpdated", &sub, now_us).await?;
    let view = view_of(&mut tx, sub, now_us).await?;
    tx.commit().await?;
    Ok(view)
}

/// `POST …/Suspension`: suspension takes effect at renewal
/// (`ActiveDelayedSuspension`); the billing engine applies it at the term.
pub async fn request_suspension(
    store: &Store,
    business_id: i64,
    id: i64,
    now_us: i64,
) -> Result<SubscriptionView> {
    let mut tx = store.begin().await?;
    let (sub, _) = load(&mut tx, business_id, id, now_us).await?;
    let state = transition(&sub, SubscriptionEvent::RequestSuspension)?;
    let sub = subscriptions::update_state(&mut tx, business_id, id, state.as_str(), now_us).await?;
    crate::events::subscription_updated(&mut tx, &sub, now_us).await?;
    let view = view_of(&mut tx, sub, now_us).await?;
    tx.commit().await?;
    Ok(view)
}

/// `POST …/Termination`: at the term by default, at a chosen date, or now.
pub async fn terminate(
    store: &Store,
    business_id: i64,
    id: i64,
    options: TerminationOptions,
    now_us: i64,
) -> Result<SubscriptionView> {
    let mut tx = store.begin().await?;
    let (sub, now) = load(&mut tx, business_id, id, now_us).await?;
    let future_date = options.date_termination_us.filter(|d| *d > now_us);
    let sub = match (options.immediate, future_date) {
        (true, Some(_)) => {
            return Err(ServiceError::invalid(
                "DateTermination: an immediate termination cannot take a future date",
            ));
        }
        (false, Some(date)) => {
            let state = transition(&sub, SubscriptionEvent::RequestTermination)?;
            if sub.date_period_end_us.is_some_and(|end| date > end) {
                return Err(ServiceError::invalid(
                    "DateTermination: after the end of the current period; move DateTerm first",
                ));
            }
            let patch = SubscriptionPatch {
                state: Some(state.as_str().into()),
                date_term_us: Some(Some(date)),
                ..Default::default()
            };
            subscriptions::update(&mut tx, business_id, id, &patch, now_us).await?
        }
        (false, None) if options.date_termination_us.is_none() => {
            let state = transition(&sub, SubscriptionEvent::RequestTermination)?;
            subscriptions::update_state(&mut tx, business_id, id, state.as_str(), now_us).await?
        }
        // Immediate, or a date that is already past: terminate from it.
        _ => {
            let effective_us = options.date_termination_us.unwrap_or(now_us).min(now_us);
            terminate_now(&mut tx, sub, &now, effective_us).await?
        }
    };
    crate::events::termination(&mut tx, &sub, now_us).await?;
    let view = view_of(&mut tx, sub, now_us).await?;
    tx.commit().await?;
    Ok(view)
}

async fn terminate_now(
    conn: &mut AnyConnection,
    sub: Subscription,
    now: &Now,
    effective_us: i64,
) -> Result<Subscription> {
    let from = state_of(&sub)?;
    let state = transition(&sub, SubscriptionEvent::TerminateNow)?;
    let date = now.date_of(effective_us)?;
    let engaged = is_engaged_on(&sub, now, date)?;
    if from.is_active()
        && let Some(period) = current_period(&sub, now)?
    {
        if date < period.start {
            return Err(ServiceError::invalid(
                "DateTermination: before the start of the current period",
            ));
        }
        if date < period.end {
            // The unused part of the period is credited.
            let (amount, type_line) = if sub.is_trial {
                (sub.amount_trial, "AutoSubscriptionTrialProrata")
            } else {
                (sub.amount_recurrence, "AutoSubscriptionRecurrenceProrata")
            };
            let credit = termination_credit(amount, date, period)?;
            write_line(
                conn,
                &sub,
                now,
                Line {
                    kind: "termination-credit",
                    type_line,
                    label: format!(
                        "{} - refund of the unused period ({} days of {})",
                        sub.title,
                        credit.fraction.days(),
                        credit.fraction.of()
                    ),
                    amount: credit.amount,
                    ordinal: sub.period_index,
                    period: Some(Period::new(date, period.end)?),
                    date_move_us: None,
                },
            )
            .await?;
        }
    }
    if engaged {
        write_line(
            conn,
            &sub,
            now,
            Line {
                kind: "termination-fee",
                type_line: "AutoSubscriptionTermination",
                label: format!("{} - early termination fee", sub.title),
                amount: sub.amount_termination,
                ordinal: sub.period_index,
                period: None,
                date_move_us: Some(effective_us),
            },
        )
        .await?;
    }
    if from == SubscriptionState::ActiveDelayedUpgrade {
        delete_pending_upgrade(conn, &sub, now).await?;
    }
    let patch = SubscriptionPatch {
        state: Some(state.as_str().into()),
        date_end_us: Some(Some(effective_us)),
        date_term_us: Some(Some(effective_us)),
        ..Default::default()
    };
    Ok(subscriptions::update(conn, sub.business_id, sub.id, &patch, now.us).await?)
}

/// The draft that replaces `sub` at its term (a change of offer at term):
/// the customer's `DraftDelayedUpgrade` starting at `sub`'s term.
pub(crate) async fn pending_upgrade(
    conn: &mut AnyConnection,
    sub: &Subscription,
) -> Result<Option<Subscription>> {
    let filter = SubscriptionFilter {
        segment_id: Some(sub.segment_id),
        customer_id: Some(sub.customer_id),
        state: Some(SubscriptionState::DraftDelayedUpgrade.as_str().into()),
    };
    let page =
        subscriptions::list(conn, sub.business_id, &filter, PageRequest::new(0, 1000)).await?;
    Ok(page
        .items
        .into_iter()
        .find(|d| d.date_start_us == sub.date_term_us && d.id != sub.id))
}

/// Ending a subscription whose change of offer was scheduled deletes the
/// draft that would have replaced it, so it can never start orphaned.
async fn delete_pending_upgrade(
    conn: &mut AnyConnection,
    sub: &Subscription,
    now: &Now,
) -> Result<()> {
    if let Some(draft) = pending_upgrade(conn, sub).await? {
        let state = transition(&draft, SubscriptionEvent::CancelScheduledUpgrade)?;
        subscriptions::update_state(conn, draft.business_id, draft.id, state.as_str(), now.us)
            .await?;
    }
    Ok(())
}
