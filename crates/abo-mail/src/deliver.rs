//! Carrying out one `Email` outbox job: render, send, record.
//!
//! # Exactly once, and the one remaining window
//!
//! * The engine claims a job with a lease (`FOR UPDATE SKIP LOCKED` on Postgres), so one node
//!   at a time runs it; the job's natural key (`email:invoice=42:InvoiceNewPaid`) made it
//!   enqueued once per event.
//! * Before sending, the worker looks for the job's record in `sent_emails` (unique on the
//!   natural key); one there means the e-mail went out already: nothing is sent again.
//! * After the SMTP server accepted the message, the record is written (`ON CONFLICT DO
//!   NOTHING`), then the engine completes the job.
//!
//! What remains: a crash (or a lease that expires while a slow SMTP server holds the message)
//! **between the server's acceptance and the record's commit** sends the e-mail a second time
//! when the job is retried. No protocol closes that window with a plain SMTP relay (the relay
//! offers no idempotency key); it lasts one database round trip. To make a duplicate harmless,
//! both copies carry the same `Message-ID` (derived from the natural key), which mail clients
//! and many relays use to fold duplicates.

use std::time::{Duration, SystemTime};

use abo_store::emails::{self, NewSentEmail};
use abo_store::{Store, jobs};

use crate::attachment;
use crate::error::MailError;
use crate::payload::EmailJob;
use crate::prepare::{Prepared, prepare};
use crate::render;
use crate::smtp::{Mailer, build_message};

/// What became of an e-mail job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Accepted by the SMTP server now.
    Sent { message_id: String },
    /// Already sent (or settled) by an earlier run of the job.
    AlreadyDone,
    /// The type is off for the customer's segment: recorded, not sent.
    Disabled,
    /// The customer has no address: recorded, not sent.
    NoRecipient,
    /// The SMTP server refused the message for good (5xx): recorded, not retried.
    Rejected { reason: String },
}

/// Carries out `job` (an `Email` job claimed by the caller) at `now_us`.
///
/// Errors are worth a retry (the engine reschedules the job with backoff): SMTP server
/// unreachable or answering 4xx, database errors. Permanent problems (unknown type, missing
/// data, 5xx) are recorded and returned as `Ok`, so the job completes instead of looping.
pub async fn deliver(
    store: &Store,
    mailer: &Mailer,
    job: &jobs::Job,
    now_us: i64,
) -> Result<Delivery, MailError> {
    let business_id = job
        .business_id
        .ok_or_else(|| MailError::Payload(format!("job {} has no business", job.id)))?;
    let natural_key = job
        .natural_key
        .clone()
        .unwrap_or_else(|| format!("job:{}", job.id));
    let parsed = match EmailJob::parse(&job.payload) {
        Ok(parsed) => parsed,
        Err(e) => {
            // A payload we will never understand: say so once, do not retry.
            tracing::error!(job = job.id, error = %e, "e-mail job dropped");
            return Ok(Delivery::Rejected {
                reason: e.to_string(),
            });
        }
    };
    let mut conn = store.acquire().await?;
    if emails::find_by_natural_key(&mut conn, business_id, &natural_key)
        .await?
        .is_some()
    {
        return Ok(Delivery::AlreadyDone);
    }
    let record = |state: &str, language: String| NewSentEmail {
        business_id,
        natural_key: natural_key.clone(),
        job_id: Some(job.id),
        customer_id: Some(parsed.customer_id),
        template: parsed.kind.name().to_owned(),
        language,
        state: state.to_owned(),
        recipient: None,
        subject: None,
        message_id: None,
    };
    let prepared = match prepare(&mut conn, mailer.base_url(), business_id, &parsed, now_us).await {
        Ok(p) => p,
        Err(MailError::Data(reason)) => {
            tracing::error!(job = job.id, %reason, "e-mail job dropped");
            emails::record(&mut conn, &record("Rejected", "en".into()), now_us).await?;
            return Ok(Delivery::Rejected { reason });
        }
        Err(e) => return Err(e),
    };
    let ready = match prepared {
        Prepared::Disabled { language } => {
            emails::record(&mut conn, &record("Disabled", language.to_string()), now_us).await?;
            return Ok(Delivery::Disabled);
        }
        Prepared::NoRecipient { language } => {
            emails::record(
                &mut conn,
                &record("NoRecipient", language.to_string()),
                now_us,
            )
            .await?;
            return Ok(Delivery::NoRecipient);
        }
        Prepared::Ready(ready) => ready,
    };
    // No connection is held while typesetting and talking to the SMTP server.
    drop(conn);
    let mut attachments = Vec::new();
    if let Some(document) = ready.document.clone() {
        attachments.push(attachment::pdf(document).await?);
    }
    let rendered = render::render(
        parsed.kind,
        ready.language,
        &ready.context,
        !attachments.is_empty(),
        ready.custom.as_ref(),
    )?;
    let message_id = message_id(business_id, &natural_key, mailer);
    let date = SystemTime::UNIX_EPOCH + Duration::from_micros(u64::try_from(now_us).unwrap_or(0));
    let message = build_message(
        mailer.from(),
        &ready.recipient,
        &ready.language.to_string(),
        &rendered,
        &attachments,
        &message_id,
        date,
    )?;
    let mut sent = NewSentEmail {
        recipient: Some(ready.recipient.clone()),
        subject: Some(rendered.subject.clone()),
        message_id: Some(message_id.clone()),
        ..record("Sent", ready.language.to_string())
    };
    let outcome = mailer.send(message).await;
    let mut conn = store.acquire().await?;
    match outcome {
        Ok(()) => {
            emails::record(&mut conn, &sent, now_us).await?;
            tracing::info!(job = job.id, template = %parsed.kind, "e-mail sent");
            Ok(Delivery::Sent { message_id })
        }
        Err(MailError::Smtp {
            message,
            permanent: true,
        }) => {
            sent.state = "Rejected".into();
            emails::record(&mut conn, &sent, now_us).await?;
            tracing::warn!(job = job.id, reason = %message, "e-mail rejected by the SMTP server");
            Ok(Delivery::Rejected { reason: message })
        }
        Err(e) => Err(e),
    }
}

/// `<email.{business}.{natural key, made header-safe}@{domain of From}>`.
fn message_id(business_id: i64, natural_key: &str, mailer: &Mailer) -> String {
    let local: String = natural_key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let domain = mailer.from().email.domain().to_owned();
    format!("<email.{business_id}.{local}@{domain}>")
}
