//! What a customer may do to its own subscriptions from the portal.
//!
//! * **Terminate at term** (the default, as in ProAbono's portal): allowed when the
//!   commitment (`CountMinRecurrences`) is over by the term. While the customer is committed
//!   beyond the term, the portal offers no at-term termination; when the offer has a
//!   termination fee it offers an immediate termination that charges it (the API's
//!   `Immediate=true` rule: engaged + immediate = fee).
//! * **Cancel a termination** scheduled at term (`ActiveDelayedTermination` → `ActiveRunning`),
//!   restoring the term to the period's end.

use abo_core::{SubscriptionEvent, SubscriptionState};
use abo_store::subscriptions::{self, Subscription, SubscriptionPatch};
use abo_store::{AnyConnection, Store};
use jiff::civil::Date;

use crate::error::{Result, ServiceError};
use crate::subscriptions::schedule::{Now, commitment_end, state_of, transition};
use crate::subscriptions::{SubscriptionView, TerminationOptions};

/// What the termination page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminationInfo {
    pub state: SubscriptionState,
    /// The local date the subscription would end at term.
    pub term: Option<Date>,
    /// The end of the commitment, when the customer is committed now.
    pub commitment_end: Option<Date>,
    /// Terminating at term is allowed (not committed beyond the term, and the state allows).
    pub at_term_allowed: bool,
    /// Committed beyond the term, with a fee: an immediate termination is offered.
    pub immediate_with_fee: Option<i64>,
}

async fn own(
    conn: &mut AnyConnection,
    business_id: i64,
    customer_id: i64,
    id: i64,
    now_us: i64,
) -> Result<(Subscription, Now)> {
    let sub = subscriptions::get(conn, business_id, id)
        .await
        .map_err(|_| ServiceError::not_found(format!("subscription {id}")))?;
    if sub.customer_id != customer_id && sub.customer_buyer_id != customer_id {
        return Err(ServiceError::not_found(format!("subscription {id}")));
    }
    let segment = abo_store::segments::get(conn, business_id, sub.segment_id).await?;
    let now = Now::new(now_us, &segment.time_zone)?;
    Ok((sub, now))
}

fn info_of(sub: &Subscription, now: &Now) -> Result<TerminationInfo> {
    let state = state_of(sub)?;
    let term = sub.date_term_us.map(|t| now.date_of(t)).transpose()?;
    let commitment = commitment_end(sub, now)?;
    let committed_beyond_term = match (commitment, term) {
        (Some(end), Some(term)) => end > term,
        (Some(_), None) => true,
        _ => false,
    };
    let can_request = state.apply(SubscriptionEvent::RequestTermination).is_ok();
    Ok(TerminationInfo {
        state,
        term,
        commitment_end: commitment,
        at_term_allowed: can_request && !committed_beyond_term,
        immediate_with_fee: (state.is_active()
            && committed_beyond_term
            && sub.amount_termination > 0)
            .then_some(sub.amount_termination),
    })
}

/// The termination rules for one of the customer's subscriptions.
pub async fn termination_info(
    store: &Store,
    business_id: i64,
    customer_id: i64,
    id: i64,
    now_us: i64,
) -> Result<TerminationInfo> {
    let mut conn = store.acquire().await?;
    let (sub, now) = own(&mut conn, business_id, customer_id, id, now_us).await?;
    info_of(&sub, &now)
}

/// Terminates at the term (or, when `with_fee`, immediately with the termination fee).
pub async fn terminate(
    store: &Store,
    business_id: i64,
    customer_id: i64,
    id: i64,
    with_fee: bool,
    now_us: i64,
) -> Result<SubscriptionView> {
    let info = termination_info(store, business_id, customer_id, id, now_us).await?;
    let options = if with_fee {
        if info.immediate_with_fee.is_none() {
            return Err(ServiceError::refused(
                "Error.Subscription.Termination.NotAllowed",
                "this subscription cannot be terminated now",
            ));
        }
        TerminationOptions {
            immediate: true,
            date_termination_us: None,
        }
    } else {
        if !info.at_term_allowed {
            return Err(ServiceError::refused(
                crate::subscriptions::ENGAGED,
                "this subscription cannot be terminated at its term",
            ));
        }
        TerminationOptions::default()
    };
    crate::subscriptions::terminate(store, business_id, id, options, now_us).await
}

/// Withdraws a termination scheduled at the term.
pub async fn cancel_termination(
    store: &Store,
    business_id: i64,
    customer_id: i64,
    id: i64,
    now_us: i64,
) -> Result<()> {
    let mut tx = store.begin().await?;
    let (sub, _) = own(&mut tx, business_id, customer_id, id, now_us).await?;
    let state = transition(&sub, SubscriptionEvent::CancelTermination)?;
    let patch = SubscriptionPatch {
        state: Some(state.as_str().into()),
        // A termination date chosen inside the period had moved the term: the renewal
        // comes back to the period's end.
        date_term_us: Some(sub.date_period_end_us.or(sub.date_term_us)),
        ..Default::default()
    };
    let sub = subscriptions::update(&mut tx, business_id, id, &patch, now_us).await?;
    crate::events::subscription_updated(&mut tx, &sub, now_us).await?;
    tx.commit().await?;
    Ok(())
}
