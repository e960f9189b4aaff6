//! Webhook deliveries off the engine loop. An endpoint may take its whole
//! 10 s timeout to answer (or never answer): its attempt must delay neither
//! the other endpoints nor renewals and billing. So `WebhookDelivery` jobs
//! are not run inline by [`crate::Engine::run_business`]: it claims them
//! (with the same lease as any job, so two nodes never make the same attempt
//! at once) and hands each to a task of its own, at most [`MAX_IN_FLIGHT`]
//! at a time per engine, each bounded by [`ATTEMPT_TIMEOUT`].
//!
//! The attempt itself is unchanged (`abo_webhooks::deliver::attempt`): it
//! records its result and schedules the next attempt with the same backoff,
//! so delivery stays at-least-once with one delivery per (event, endpoint).
//! A node that dies mid-attempt leaves the job leased; it is claimed again
//! when the lease expires.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use abo_store::{Store, jobs};
use abo_webhooks::TargetPolicy;
use tokio::sync::{Semaphore, watch};

/// Attempts in flight at most, per engine.
pub const MAX_IN_FLIGHT: usize = 16;
/// One attempt at most: the HTTP timeout plus DNS and the store's writes;
/// well under the job lease, so a slow attempt is not claimed twice.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
const _: () = assert!(ATTEMPT_TIMEOUT.as_secs() * 1_000_000 < crate::LEASE_US as u64);

/// The delivery worker of one engine (shared by its clones).
#[derive(Clone)]
pub(crate) struct Deliveries {
    store: Store,
    policy: TargetPolicy,
    permits: Arc<Semaphore>,
    /// Attempts in flight per business, so a test clock can wait for them.
    in_flight: Arc<watch::Sender<HashMap<i64, usize>>>,
}

impl Deliveries {
    pub(crate) fn new(store: Store, policy: TargetPolicy) -> Deliveries {
        Deliveries {
            store,
            policy,
            permits: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            in_flight: Arc::new(watch::Sender::new(HashMap::new())),
        }
    }

    pub(crate) fn policy(&self) -> TargetPolicy {
        self.policy
    }

    /// Claims the business's delivery attempts due at `now_us` (as many as
    /// there are free slots) and starts them. Returns how many started;
    /// never waits for an attempt to finish.
    pub(crate) async fn dispatch_due(
        &self,
        business_id: i64,
        now_us: i64,
        lease_now_us: i64,
        worker_id: &str,
    ) -> Result<u64, abo_store::StoreError> {
        let free = self.permits.available_permits();
        if free == 0 {
            return Ok(0);
        }
        let claim = jobs::KindsClaim {
            worker_id,
            due_us: now_us,
            lease_now_us,
            lease_us: crate::LEASE_US,
            limit: i64::try_from(free).unwrap_or(1),
            business_id: Some(business_id),
            kinds: &[abo_webhooks::KIND_DELIVERY],
        };
        let claimed = jobs::claim_kinds_leased(&self.store, &claim).await?;
        let started = claimed.len() as u64;
        for job in claimed {
            // Another clone of this engine may have taken the slot meanwhile:
            // then wait for one (an attempt ends within ATTEMPT_TIMEOUT).
            let permit = self
                .permits
                .clone()
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            let slot = InFlight::enter(self.in_flight.clone(), business_id);
            let this = self.clone();
            let worker_id = worker_id.to_owned();
            tokio::spawn(async move {
                this.run(&job, now_us, &worker_id).await;
                drop(permit);
                drop(slot);
            });
        }
        Ok(started)
    }

    /// Makes the attempt, then completes the job, or fails it to be retried
    /// (store errors, a timeout) with the engine's backoff.
    async fn run(&self, job: &jobs::Job, now_us: i64, worker_id: &str) {
        let attempt = abo_webhooks::run_job(&self.store, self.policy, job, now_us);
        let outcome = match tokio::time::timeout(ATTEMPT_TIMEOUT, attempt).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!(
                "the attempt took more than {} s",
                ATTEMPT_TIMEOUT.as_secs()
            )),
        };
        let finished = async {
            let mut conn = self.store.acquire().await?;
            match &outcome {
                Ok(()) => jobs::complete(&mut conn, job.id, worker_id, now_us).await,
                Err(error) => {
                    tracing::warn!(job = job.id, %error, "webhook delivery job failed");
                    let retry_at = now_us + retry_backoff_us(job.attempts);
                    jobs::fail(&mut conn, job.id, worker_id, error, Some(retry_at)).await
                }
            }
        };
        if let Err(error) = finished.await {
            // The lease expires and the job is claimed again.
            tracing::warn!(job = job.id, %error, "webhook delivery job not recorded");
        }
    }

    /// Waits until no attempt of `business_id` is in flight.
    pub(crate) async fn wait_idle(&self, business_id: i64) {
        let mut rx = self.in_flight.subscribe();
        // The sender lives as long as `self`: this cannot fail.
        let _ = rx
            .wait_for(|m| m.get(&business_id).copied().unwrap_or(0) == 0)
            .await;
    }

    /// Waits until no attempt at all is in flight (the engine stopping), at
    /// most [`ATTEMPT_TIMEOUT`].
    pub(crate) async fn wait_all(&self) {
        let mut rx = self.in_flight.subscribe();
        let idle = rx.wait_for(|m| m.is_empty());
        let _ = tokio::time::timeout(ATTEMPT_TIMEOUT, idle).await;
    }
}

/// The engine's retry schedule for a job that failed (not the attempts'
/// own backoff, which `deliver::attempt` schedules): 1 min doubling, at most a day.
fn retry_backoff_us(attempts: i64) -> i64 {
    let shift = u32::try_from(attempts.clamp(1, 11) - 1).unwrap_or(0);
    (60_000_000i64 << shift).min(86_400_000_000)
}

/// One attempt counted in flight until dropped (even if its task panics).
struct InFlight {
    counts: Arc<watch::Sender<HashMap<i64, usize>>>,
    business_id: i64,
}

impl InFlight {
    fn enter(counts: Arc<watch::Sender<HashMap<i64, usize>>>, business_id: i64) -> InFlight {
        counts.send_modify(|m| *m.entry(business_id).or_default() += 1);
        InFlight {
            counts,
            business_id,
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.counts.send_modify(|m| {
            if let Some(n) = m.get_mut(&self.business_id) {
                *n -= 1;
                if *n == 0 {
                    m.remove(&self.business_id);
                }
            }
        });
    }
}
