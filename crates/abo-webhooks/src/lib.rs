//! `abo-webhooks`: ProAbono's webhooks (spec §1.13).
//!
//! - Endpoints per business ([`endpoints`]), inactive until the handshake
//!   (a code POSTed to the URL, given back by the merchant) activates them;
//!   one signing secret per business ([`secrets`]).
//! - Use cases write events to the outbox (`jobs` of kind [`KIND_EVENT`],
//!   see `abo_service::events`) in the same transaction as their change. The
//!   engine runs them: [`deliver::fan_out`] makes one delivery per active
//!   endpoint subscribed to the trigger, with ProAbono's envelope
//!   ([`envelope`]) stored as sent; [`deliver::attempt`] POSTs it, signed
//!   ([`sign`]), at least once, with backoff; the history is kept 60 days.
//! - The SSRF guard ([`guard`]): endpoints only on public addresses over
//!   https, unless the operator allows private targets or http
//!   ([`TargetPolicy`]); checked at registration and at every delivery.
//! - Sample payloads for every trigger ([`samples`]).
//!
//! Secrets never reach logs: only delivery ids, event ids and errors are logged.

pub mod deliver;
pub mod endpoints;
pub mod envelope;
pub mod guard;
pub mod samples;
pub mod secrets;
pub mod send;
pub mod sign;
pub mod triggers;

use abo_store::StoreError;

pub use guard::TargetPolicy;

/// Job kinds the engine hands to this crate.
/// An event (written by abo-service; same as `abo_service::billing::JOB_WEBHOOK`).
pub const KIND_EVENT: &str = "Webhook";
/// One delivery attempt.
pub const KIND_DELIVERY: &str = "WebhookDelivery";
/// The daily purge of the history older than 60 days.
pub const KIND_PURGE: &str = "WebhookPurge";
/// Every kind above.
pub const KINDS: &[&str] = &[KIND_EVENT, KIND_DELIVERY, KIND_PURGE];

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The request cannot be accepted (bad URL, unknown trigger, bad payload).
    #[error("{0}")]
    Invalid(String),
    /// The endpoint's URL is malformed or a target the SSRF guard refuses.
    #[error("{0}")]
    InvalidUrl(String),
    /// The endpoint did not accept the verification code.
    #[error("the endpoint did not answer 2xx to the verification code: {0}")]
    VerificationFailed(String),
    #[error("wrong verification code")]
    WrongCode,
}

pub type Result<T, E = WebhookError> = std::result::Result<T, E>;

/// Runs one job of a kind of [`KINDS`] (called by the engine); `now_us` is
/// the business's "now"; deliveries go only to targets `policy` accepts.
/// Errors are store errors or a malformed payload.
pub async fn run_job(
    store: &abo_store::Store,
    policy: TargetPolicy,
    job: &abo_store::jobs::Job,
    now_us: i64,
) -> Result<()> {
    let payload: serde_json::Value = serde_json::from_str(&job.payload)
        .map_err(|e| WebhookError::Invalid(format!("payload: {e}")))?;
    let int = |name: &str| {
        payload[name]
            .as_i64()
            .ok_or_else(|| WebhookError::Invalid(format!("payload: {name} is missing")))
    };
    match job.kind.as_str() {
        KIND_EVENT => {
            deliver::fan_out(store, job, now_us).await?;
        }
        KIND_DELIVERY => {
            deliver::attempt(
                store,
                policy,
                int("business_id")?,
                int("delivery_id")?,
                int("attempt")?,
                now_us,
            )
            .await?;
        }
        KIND_PURGE => {
            deliver::purge(store, int("business_id")?, now_us).await?;
        }
        other => {
            return Err(WebhookError::Invalid(format!(
                "job kind {other} is not a webhook job"
            )));
        }
    }
    Ok(())
}
