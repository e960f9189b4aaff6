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
            && trigger_of(&job.payload).is_some_and(|t| !webhooks::listens(&listened, &t))
    });
    jobs::record_done_many(conn, &done, now_us).await?;
    jobs::enqueue_many(conn, &pending, now_us).await?;
    Ok(())
}

/// The `TypeTrigger` of a webhook payload, read without building the rest
/// of it (the other fields are skipped, not allocated).
fn trigger_of(payload: &str) -> Option<std::borrow::Cow<'_, str>> {
    #[derive(serde::Deserialize)]
    struct Head<'a> {
        #[serde(rename = "TypeTrigger", borrow)]
        trigger: Option<std::borrow::Cow<'a, str>>,
    }
    serde_json::from_str::<Head>(payload).ok()?.trigger
}

#[cfg(test)]
mod tests {
    use super::trigger_of;

    #[test]
    fn the_trigger_is_read_from_anywhere_in_the_payload() {
        let payload = r#"{"IdInvoice":4,"InvoiceDebit":{"Id":4,"TypeTrigger":"x"},"TypeTrigger":"InvoiceDebitPaid"}"#;
        assert_eq!(trigger_of(payload).as_deref(), Some("InvoiceDebitPaid"));
        assert_eq!(
            trigger_of(r#"{"TypeTrigger":"A\u0042"}"#).as_deref(),
            Some("AB")
        );
        assert_eq!(trigger_of(r#"{"IdInvoice":4}"#), None);
        assert_eq!(trigger_of("not json"), None);
    }
}
