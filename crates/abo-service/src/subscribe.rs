//! Subscribing a customer to an offer: the offer is copied into the
//! subscription (a snapshot), the first period is laid out in the segment's
//! time zone, and the subscription starts.
//!
//! This is the agent-side start used by the demo and, next, by the API's
//! `POST /v1/Subscription`; payment collection and billing of the first
//! period belong to the billing engine.

use crate::catalog::mapping::offer_from_store;
use crate::error::{Result, ServiceError};
use abo_core::{SubscriptionEvent, SubscriptionState, local_date, local_midnight};
use abo_store::{Store, customers, offers, segments, subscriptions};
use jiff::Timestamp;
use jiff::tz::TimeZone;

#[derive(Debug, Clone)]
pub struct SubscribeRequest {
    pub business_id: i64,
    pub segment_id: i64,
    pub customer_reference: String,
    pub offer_reference: String,
}

/// Creates and starts a subscription; returns it as stored.
pub async fn subscribe(
    store: &Store,
    request: &SubscribeRequest,
    now_us: i64,
) -> Result<subscriptions::Subscription> {
    let mut tx = store.begin().await?;
    let (b, s) = (request.business_id, request.segment_id);
    let segment = segments::get(&mut tx, b, s).await?;
    let customer = customers::get_by_reference(&mut tx, b, s, &request.customer_reference).await?;
    let offer = offers::get_by_reference(&mut tx, b, s, &request.offer_reference).await?;
    // The core offer checks the stored snapshot is coherent before we copy it.
    let core_offer = offer_from_store(&offer)?;

    let state = SubscriptionState::DraftAgent
        .apply(SubscriptionEvent::Start)
        .map_err(|e| ServiceError::invalid(e.to_string()))?;
    let tz = TimeZone::get(&segment.time_zone).map_err(|e| {
        ServiceError::Internal(format!("segment time zone {}: {e}", segment.time_zone))
    })?;
    let now =
        Timestamp::from_microsecond(now_us).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let today = local_date(now, &tz);

    // A trial comes first; paid periods are then laid out from its end.
    let (is_trial, period, anchor) = match core_offer.trial.filter(|t| t.duration > 0) {
        Some(trial) => {
            let period = trial.as_recurrence().nth_period(today, 0)?;
            (true, period, period.end)
        }
        None => (false, core_offer.recurrence.nth_period(today, 0)?, today),
    };

    let mut new = subscriptions::NewSubscription::from_offer(&offer, customer.id, state.as_str());
    new.date_start_us = Some(now_us);
    new.date_period_start_us = Some(local_midnight(period.start, &tz)?.as_microsecond());
    new.date_period_end_us = Some(local_midnight(period.end, &tz)?.as_microsecond());
    new.date_term_us = new.date_period_end_us;
    new.billing_anchor = Some(anchor.to_string());
    new.is_trial = is_trial;
    let subscription = subscriptions::create(&mut tx, &new, now_us).await?;
    tx.commit().await?;
    Ok(subscription)
}
