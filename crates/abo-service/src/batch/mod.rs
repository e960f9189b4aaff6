//! Set-wise forms of the three steps every renewal goes through — renew
//! ([`renew`]), bill ([`bill`]), collect ([`collect`]) — for the engine's
//! batches of due jobs: the common case costs a few statements for the whole
//! batch instead of a dozen per subscription.
//!
//! Nothing is decided twice: each step sorts its items into those of the
//! common case, written set-wise from the same pure pieces as the one-by-one
//! use case (schedules, balance lines, invoice assembly, state machines,
//! outbox rows with the same natural keys), and the others, carried out by
//! that use case, in the same transaction. The guarantees are those of the
//! one-by-one path: a subscription is taken at its expected period and
//! state, a line is billed only while `Due`, an invoice is paid only from
//! the state it was charged in, invoice numbers are taken in the batch's
//! transaction (gapless, given back by a rollback).

pub mod bill;
pub mod collect;
pub mod renew;

use abo_store::{AnyConnection, jobs, webhooks};

use crate::billing::JOB_WEBHOOK;
use crate::error::Result;

/// Writes a batch's outbox rows in the caller's transaction. A webhook
/// event no endpoint of the business listens to is recorded as done at once
/// (its fan-out would create nothing: the endpoints listening when an event
/// happens are the ones told); the other rows are enqueued for their workers.
pub(crate) async fn write_outbox(
    conn: &mut AnyConnection,
    business_id: i64,
    rows: Vec<jobs::NewJob>,
    now_us: i64,
) -> Result<()> {
    let listened = webhooks::listened_triggers(conn, business_id).await?;
    let (done, pending): (Vec<_>, Vec<_>) = rows.into_iter().partition(|job| {
        job.kind == JOB_WEBHOOK
            && serde_json::from_str::<serde_json::Value>(&job.payload)
                .ok()
                .and_then(|p| p["TypeTrigger"].as_str().map(str::to_owned))
                .is_some_and(|trigger| !webhooks::listens(&listened, &trigger))
    });
    jobs::record_done_many(conn, &done, now_us).await?;
    jobs::enqueue_many(conn, &pending, now_us).await?;
    Ok(())
}
