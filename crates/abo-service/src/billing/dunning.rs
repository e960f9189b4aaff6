//! Unpaid thresholds (spec §1.6 "automatic suspension at renewal": unpaid
//! thresholds exceeded → `SuspendedPaymentDue`; none by default). A segment
//! may set an amount (the buyer's unpaid issued invoices add up to at least
//! it) and/or a number of days (its oldest unpaid invoice was issued at least
//! that long ago). Renewal asks [`over_unpaid_threshold`]; a payment that
//! brings the buyer back under the thresholds restarts the subscriptions
//! suspended for it ([`restart_paid_up`]).

use abo_store::{AnyConnection, billing_settings, customers, engine_scan, jobs};
use serde_json::json;

use super::{DAY_US, JOB_WEBHOOK};
use crate::error::Result;
use crate::subscriptions::StartOptions;

/// Whether buyer `customer_id` (of segment `segment_id`) is over the
/// segment's unpaid thresholds at `now_us`.
pub(crate) async fn over_unpaid_threshold(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
    customer_id: i64,
    now_us: i64,
) -> Result<bool> {
    let settings = billing_settings::get(conn, business_id, segment_id).await?;
    if settings.unpaid_threshold_amount.is_none() && settings.unpaid_threshold_days.is_none() {
        return Ok(false);
    }
    let unpaid = engine_scan::unpaid_of_customer(conn, business_id, customer_id).await?;
    if unpaid.count == 0 {
        return Ok(false);
    }
    let by_amount = settings
        .unpaid_threshold_amount
        .is_some_and(|limit| unpaid.amount_total >= limit);
    let by_age = match (settings.unpaid_threshold_days, unpaid.oldest_issue_us) {
        (Some(days), Some(oldest)) => now_us.saturating_sub(oldest) >= days.saturating_mul(DAY_US),
        _ => false,
    };
    Ok(by_amount || by_age)
}

/// After a payment: restarts the buyer's `SuspendedPaymentDue`
/// subscriptions when it is no longer over the thresholds (a subscription
/// whose period ended meanwhile renews into the current one and is billed).
/// Returns the restarted subscriptions.
pub(crate) async fn restart_paid_up(
    conn: &mut AnyConnection,
    business_id: i64,
    customer_id: i64,
    now_us: i64,
) -> Result<Vec<i64>> {
    let suspended = engine_scan::buyer_subscriptions_in_state(
        conn,
        business_id,
        customer_id,
        "SuspendedPaymentDue",
    )
    .await?;
    if suspended.is_empty() {
        return Ok(Vec::new());
    }
    let customer = customers::get(conn, business_id, customer_id).await?;
    if over_unpaid_threshold(conn, business_id, customer.segment_id, customer_id, now_us).await? {
        return Ok(Vec::new());
    }
    let mut restarted = Vec::with_capacity(suspended.len());
    for (id, period_index) in suspended {
        let options = StartOptions {
            ensure_billable: false,
            bill_now: true,
        };
        let sub = crate::subscriptions::start_in(conn, business_id, id, options, now_us).await?;
        jobs::enqueue(
            conn,
            &jobs::NewJob {
                business_id: Some(business_id),
                kind: JOB_WEBHOOK.into(),
                payload: json!({
                    "TypeTrigger": "SubscriptionRestarted",
                    "IdBusiness": business_id,
                    "IdSegment": sub.segment_id,
                    "IdCustomer": sub.customer_id,
                    "IdSubscription": sub.id,
                })
                .to_string(),
                run_at_us: now_us,
                max_attempts: 20,
                natural_key: Some(format!(
                    "webhook:SubscriptionRestarted:{id}:payment-due:{period_index}"
                )),
            },
            now_us,
        )
        .await?;
        restarted.push(id);
    }
    Ok(restarted)
}
