//! Webhook events (spec §1.13): the one place use cases write them, in their
//! own transaction, to the outbox (`jobs` of kind `Webhook`). The webhooks
//! worker (`abo-webhooks`) turns each into one delivery per subscribed
//! endpoint, with ProAbono's envelope built from what the ids name.
//!
//! Each event has a natural key, so a use case retried (or a job run twice)
//! emits it once: `webhook:{trigger}:{subject}:{occurrence}`, where the
//! occurrence tells repeated events of one subject apart (a period, an
//! attempt, or the instant of the change).

use abo_store::customers::Customer;
use abo_store::subscriptions::Subscription;
use abo_store::{AnyConnection, jobs};
use serde_json::{Map, Value, json};

use crate::billing::JOB_WEBHOOK;
use crate::error::Result;

/// Retries of the fan-out (store errors only: sending has its own schedule).
const MAX_ATTEMPTS: i64 = 20;

/// What an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Customer {
        segment_id: i64,
        customer_id: i64,
    },
    Subscription {
        segment_id: i64,
        customer_id: i64,
        subscription_id: i64,
    },
    Invoice {
        segment_id: i64,
        customer_id: i64,
        invoice_id: i64,
    },
    GatewayPermission {
        segment_id: i64,
        customer_id: i64,
        permission_id: i64,
    },
}

impl Subject {
    pub fn customer(c: &Customer) -> Subject {
        Subject::Customer {
            segment_id: c.segment_id,
            customer_id: c.id,
        }
    }

    pub fn subscription(s: &Subscription) -> Subject {
        Subject::Subscription {
            segment_id: s.segment_id,
            customer_id: s.customer_id,
            subscription_id: s.id,
        }
    }

    fn key(&self) -> String {
        match self {
            Subject::Customer { customer_id, .. } => format!("customer={customer_id}"),
            Subject::Subscription {
                subscription_id, ..
            } => format!("subscription={subscription_id}"),
            Subject::Invoice { invoice_id, .. } => format!("invoice={invoice_id}"),
            Subject::GatewayPermission { permission_id, .. } => {
                format!("permission={permission_id}")
            }
        }
    }

    fn ids(&self) -> Map<String, Value> {
        let (segment, customer, extra) = match *self {
            Subject::Customer {
                segment_id,
                customer_id,
            } => (segment_id, customer_id, None),
            Subject::Subscription {
                segment_id,
                customer_id,
                subscription_id,
            } => (
                segment_id,
                customer_id,
                Some(("IdSubscription", subscription_id)),
            ),
            Subject::Invoice {
                segment_id,
                customer_id,
                invoice_id,
            } => (segment_id, customer_id, Some(("IdInvoice", invoice_id))),
            Subject::GatewayPermission {
                segment_id,
                customer_id,
                permission_id,
            } => (
                segment_id,
                customer_id,
                Some(("IdGatewayPermission", permission_id)),
            ),
        };
        let mut m = Map::new();
        m.insert("IdSegment".into(), json!(segment));
        m.insert("IdCustomer".into(), json!(customer));
        if let Some((name, id)) = extra {
            m.insert(name.into(), json!(id));
        }
        m
    }
}

/// Writes event `trigger` about `subject` to the outbox, once per
/// `occurrence` (e.g. `now_us` for a change that can happen again, a period
/// index, or `""` for a once-only event). Call it in the transaction of the
/// change. Returns whether it was written (false: already emitted).
pub async fn emit(
    conn: &mut AnyConnection,
    business_id: i64,
    trigger: &str,
    subject: Subject,
    occurrence: &str,
    now_us: i64,
) -> Result<bool> {
    let mut payload = subject.ids();
    payload.insert("TypeTrigger".into(), json!(trigger));
    payload.insert("IdBusiness".into(), json!(business_id));
    let key = if occurrence.is_empty() {
        format!("webhook:{trigger}:{}", subject.key())
    } else {
        format!("webhook:{trigger}:{}:{occurrence}", subject.key())
    };
    let written = jobs::enqueue(
        conn,
        &jobs::NewJob {
            business_id: Some(business_id),
            kind: JOB_WEBHOOK.into(),
            payload: Value::Object(payload).to_string(),
            run_at_us: now_us,
            max_attempts: MAX_ATTEMPTS,
            natural_key: Some(key),
        },
        now_us,
    )
    .await?;
    Ok(written.is_some())
}

/// [`emit`] about a customer, once per instant of change.
pub async fn customer(
    conn: &mut AnyConnection,
    trigger: &str,
    c: &Customer,
    now_us: i64,
) -> Result<bool> {
    emit(
        conn,
        c.business_id,
        trigger,
        Subject::customer(c),
        &now_us.to_string(),
        now_us,
    )
    .await
}

/// [`emit`] about a subscription, once per instant of change.
pub async fn subscription(
    conn: &mut AnyConnection,
    trigger: &str,
    s: &Subscription,
    now_us: i64,
) -> Result<bool> {
    emit(
        conn,
        s.business_id,
        trigger,
        Subject::subscription(s),
        &now_us.to_string(),
        now_us,
    )
    .await
}

/// `SubscriptionUpdated`: the subscription changed in a way no dedicated
/// event tells (a suspension requested for the term, a scheduled termination
/// withdrawn), so that a merchant mirroring `StateSubscription` sees it now
/// rather than at the term.
pub async fn subscription_updated(
    conn: &mut AnyConnection,
    s: &Subscription,
    now_us: i64,
) -> Result<bool> {
    subscription(conn, "SubscriptionUpdated", s, now_us).await
}

/// A termination: `SubscriptionTerminated` when it ended now, else
/// `SubscriptionTerminatedAtRenewal` (it ends at its term, when the renewal
/// emits `SubscriptionTerminated`).
pub async fn termination(conn: &mut AnyConnection, s: &Subscription, now_us: i64) -> Result<bool> {
    let trigger = if s.state == abo_core::SubscriptionState::EndedTerminated.as_str() {
        "SubscriptionTerminated"
    } else {
        "SubscriptionTerminatedAtRenewal"
    };
    subscription(conn, trigger, s, now_us).await
}

/// An immediate change of offer: `SubscriptionTerminatedForUpgrade` for the
/// old subscription and `SubscriptionUpgraded` for the new one.
pub async fn upgrade(
    conn: &mut AnyConnection,
    old_id: i64,
    new: &Subscription,
    now_us: i64,
) -> Result<()> {
    let old = Subject::Subscription {
        segment_id: new.segment_id,
        customer_id: new.customer_id,
        subscription_id: old_id,
    };
    let at = now_us.to_string();
    emit(
        conn,
        new.business_id,
        "SubscriptionTerminatedForUpgrade",
        old,
        &at,
        now_us,
    )
    .await?;
    subscription(conn, "SubscriptionUpgraded", new, now_us).await?;
    Ok(())
}
