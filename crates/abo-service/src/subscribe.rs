//! Subscribing a customer to an offer from the agent side (used by
//! `abo demo`): the subscription is created as the API's
//! `POST /v1/Subscription` would, then started by the merchant (as
//! `POST …/Start`), in one transaction. See [`crate::subscriptions`] for
//! the rules.

use crate::error::Result;
use crate::subscriptions::{self, CreateSubscription, StartOptions};
use abo_store::{Store, segments, subscriptions as store_subscriptions};

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
) -> Result<store_subscriptions::Subscription> {
    let mut tx = store.begin().await?;
    let segment = segments::get(&mut tx, request.business_id, request.segment_id).await?;
    let draft = subscriptions::create_in(
        &mut tx,
        &CreateSubscription {
            business_id: request.business_id,
            segment_reference: Some(segment.reference),
            customer_reference: Some(request.customer_reference.clone()),
            offer_reference: request.offer_reference.clone(),
            ..Default::default()
        },
        now_us,
    )
    .await?;
    let started = subscriptions::start_in(
        &mut tx,
        request.business_id,
        draft.id,
        StartOptions::default(),
        now_us,
    )
    .await?;
    tx.commit().await?;
    Ok(started)
}
