//! Events to deliveries, and delivery attempts with backoff.
//!
//! - [`fan_out`] (a `Webhook` job, written by the use cases in the same
//!   transaction as their change): builds the envelope once and writes one
//!   delivery per active endpoint subscribed to the trigger (natural key
//!   event × endpoint) with its first attempt job, in one transaction.
//! - [`attempt`] (a `WebhookDelivery` job): POSTs the stored payload, then
//!   records the result and, on failure, enqueues the next attempt with
//!   exponential backoff (1 min doubling, at most 6 h) until the delivery is
//!   3 days old, when it is marked `Failed`. A delivery is `Delivered` only
//!   after a 2xx: at-least-once. Each attempt job names its attempt number,
//!   and an attempt already recorded is not made again, so a job run twice
//!   (an expired lease) does not double the schedule.
//! - [`purge`] (a `WebhookPurge` job, at most one per business and day):
//!   removes deliveries older than 60 days.

use abo_store::webhooks::{self, AttemptResult, Delivery, NewDelivery};
use abo_store::{Store, jobs};
use serde_json::json;

use crate::envelope::{self, Event};
use crate::guard::TargetPolicy;
use crate::{KIND_DELIVERY, KIND_PURGE, Result, secrets, send};

const MINUTE_US: i64 = 60_000_000;
const DAY_US: i64 = 86_400_000_000;
/// The first retry waits this long; each next one twice as long.
pub const FIRST_BACKOFF_US: i64 = MINUTE_US;
/// No wait is longer than this.
pub const MAX_BACKOFF_US: i64 = 6 * 60 * MINUTE_US;
/// A delivery still failing this long after the event is given up.
pub const GIVE_UP_AFTER_US: i64 = 3 * DAY_US;
/// The history is kept this long.
pub const HISTORY_US: i64 = 60 * DAY_US;

/// The wait after failed attempt number `attempt` (1-based).
pub fn backoff_us(attempt: i64) -> i64 {
    let shift = u32::try_from((attempt - 1).clamp(0, 20)).unwrap_or(20);
    FIRST_BACKOFF_US
        .saturating_mul(1i64 << shift)
        .min(MAX_BACKOFF_US)
}

/// Fans a `Webhook` job out into deliveries. Returns how many were created.
pub async fn fan_out(store: &Store, job: &jobs::Job, now_us: i64) -> Result<u64> {
    let event = Event::from_job(job)?;
    let mut tx = store.begin().await?;
    let endpoints =
        webhooks::endpoints_for_trigger(&mut tx, event.business_id, &event.trigger).await?;
    let mut created = 0;
    if !endpoints.is_empty() {
        let payload = envelope::build(&mut tx, &event).await?.to_string();
        for endpoint in endpoints {
            let new = NewDelivery {
                business_id: event.business_id,
                endpoint_id: endpoint.id,
                event_id: &event.id,
                type_trigger: &event.trigger,
                date_trigger_us: event.date_trigger_us,
                payload: &payload,
            };
            if let Some(delivery) = webhooks::create_delivery(&mut tx, &new, now_us).await? {
                enqueue_attempt(&mut tx, &delivery, 1, now_us, None).await?;
                created += 1;
            }
        }
        // Only businesses with webhooks have a history to purge.
        enqueue_purge(&mut tx, event.business_id, now_us).await?;
    }
    tx.commit().await.map_err(abo_store::StoreError::from)?;
    Ok(created)
}

/// The ids of the `Webhook` jobs among `events` that no endpoint listens
/// to: their fan-out creates nothing, so the caller completes them at once
/// instead of running each in its own transaction. One query per business.
pub async fn unheard(store: &Store, events: &[jobs::Job]) -> Result<Vec<i64>> {
    let mut listened: std::collections::HashMap<i64, Vec<String>> = Default::default();
    let mut out = Vec::new();
    let mut conn = store.acquire().await?;
    for job in events {
        let Ok(event) = Event::from_job(job) else {
            continue; // the one-by-one path reports it
        };
        if let std::collections::hash_map::Entry::Vacant(e) = listened.entry(event.business_id) {
            e.insert(webhooks::listened_triggers(&mut conn, event.business_id).await?);
        }
        if !webhooks::listens(&listened[&event.business_id], &event.trigger) {
            out.push(job.id);
        }
    }
    Ok(out)
}

/// Enqueues attempt number `attempt` of `delivery` at `run_at_us`. `tag`
/// tells a manual retry apart from the scheduled attempt of the same number.
pub(crate) async fn enqueue_attempt(
    conn: &mut abo_store::AnyConnection,
    delivery: &Delivery,
    attempt: i64,
    run_at_us: i64,
    tag: Option<&str>,
) -> Result<()> {
    let key = match tag {
        Some(tag) => format!("webhook-delivery:{}:{attempt}:{tag}", delivery.id),
        None => format!("webhook-delivery:{}:{attempt}", delivery.id),
    };
    let new = jobs::NewJob {
        business_id: Some(delivery.business_id),
        kind: KIND_DELIVERY.into(),
        payload: json!({
            "business_id": delivery.business_id,
            "delivery_id": delivery.id,
            "attempt": attempt,
        })
        .to_string(),
        run_at_us,
        // The attempt itself never fails the job (failures are recorded and
        // rescheduled as new jobs); only a store error does, retried by the engine.
        max_attempts: 10,
        natural_key: Some(key),
    };
    jobs::enqueue(conn, &new, run_at_us).await?;
    Ok(())
}

async fn enqueue_purge(
    conn: &mut abo_store::AnyConnection,
    business_id: i64,
    now_us: i64,
) -> Result<()> {
    let new = jobs::NewJob {
        business_id: Some(business_id),
        kind: KIND_PURGE.into(),
        payload: json!({ "business_id": business_id }).to_string(),
        run_at_us: now_us,
        max_attempts: 10,
        natural_key: Some(format!(
            "webhook-purge:{business_id}:{}",
            now_us.div_euclid(DAY_US)
        )),
    };
    jobs::enqueue(conn, &new, now_us).await?;
    Ok(())
}

/// What [`attempt`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptReport {
    /// Already made (the job ran twice) or the delivery is settled.
    Skipped,
    Delivered,
    /// Failed; the next attempt is scheduled at this instant.
    Retrying(i64),
    /// Failed for the last time.
    GaveUp,
}

/// Carries out attempt `attempt` of delivery `delivery_id` (a `WebhookDelivery` job).
pub async fn attempt(
    store: &Store,
    policy: TargetPolicy,
    business_id: i64,
    delivery_id: i64,
    attempt: i64,
    now_us: i64,
) -> Result<AttemptReport> {
    let (delivery, endpoint, secret) = {
        let mut conn = store.acquire().await?;
        let delivery = webhooks::get_delivery(&mut conn, business_id, delivery_id).await?;
        if delivery.attempts >= attempt || delivery.status == webhooks::DELIVERED {
            return Ok(AttemptReport::Skipped);
        }
        let endpoint =
            match webhooks::get_endpoint(&mut conn, business_id, delivery.endpoint_id).await {
                Ok(e) => e,
                // Deleted since: nothing to deliver to.
                Err(e) if e.is_not_found() => {
                    let result = AttemptResult {
                        attempt,
                        status: webhooks::FAILED,
                        http_status: None,
                        error: Some("the webhook was deleted"),
                        next_attempt_us: None,
                    };
                    webhooks::record_attempt(&mut conn, business_id, delivery.id, &result, now_us)
                        .await?;
                    return Ok(AttemptReport::GaveUp);
                }
                Err(e) => return Err(e.into()),
            };
        let secret = secrets::get_or_create(&mut conn, business_id, now_us).await?;
        (delivery, endpoint, secret)
    };
    let outcome = send::post(
        policy,
        &endpoint.url,
        &delivery.event_id,
        &secret.signing_secrets(now_us),
        &delivery.payload,
    )
    .await;
    let http_status = outcome.status.map(i64::from);
    let (status, next, report) = if outcome.delivered() {
        (webhooks::DELIVERED, None, AttemptReport::Delivered)
    } else {
        let next = now_us + backoff_us(attempt);
        if next - delivery.created_at_us > GIVE_UP_AFTER_US {
            (webhooks::FAILED, None, AttemptReport::GaveUp)
        } else {
            (webhooks::PENDING, Some(next), AttemptReport::Retrying(next))
        }
    };
    if let Some(error) = &outcome.error {
        tracing::info!(
            delivery = delivery.id,
            event = %delivery.event_id,
            attempt,
            %error,
            "webhook delivery failed"
        );
    }
    let mut tx = store.begin().await?;
    let result = AttemptResult {
        attempt,
        status,
        http_status,
        error: outcome.error.as_deref(),
        next_attempt_us: next,
    };
    let recorded =
        webhooks::record_attempt(&mut tx, business_id, delivery.id, &result, now_us).await?;
    if recorded && let Some(next) = next {
        enqueue_attempt(&mut tx, &delivery, attempt + 1, next, None).await?;
    }
    tx.commit().await.map_err(abo_store::StoreError::from)?;
    Ok(if recorded {
        report
    } else {
        AttemptReport::Skipped
    })
}

/// Deletes the business's deliveries older than 60 days.
pub async fn purge(store: &Store, business_id: i64, now_us: i64) -> Result<u64> {
    let mut conn = store.acquire().await?;
    Ok(webhooks::purge_deliveries(&mut conn, business_id, now_us - HISTORY_US).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_a_minute_up_to_six_hours() {
        assert_eq!(backoff_us(1), MINUTE_US);
        assert_eq!(backoff_us(2), 2 * MINUTE_US);
        assert_eq!(backoff_us(5), 16 * MINUTE_US);
        assert_eq!(backoff_us(9), 256 * MINUTE_US);
        assert_eq!(backoff_us(10), MAX_BACKOFF_US);
        assert_eq!(backoff_us(1000), MAX_BACKOFF_US);
    }
}
