//! `abo-engine`: subscriptions living in time. The scheduler finds what
//! falls due (renewals, jobs), and the workers carry it out through the use
//! cases of `abo-service`; nothing here decides.
//!
//! Safe on any number of nodes:
//! - renewals are found by a scan and turned into `Renew` jobs whose natural
//!   key names the subscription, its period and its state, so a renewal is
//!   enqueued once however many nodes scan;
//! - jobs are claimed with a lease (`FOR UPDATE SKIP LOCKED` on Postgres);
//!   only the kinds this engine handles are claimed (`Webhook` and `Email`
//!   belong to the notifications workers);
//! - the renewal itself takes the subscription at the expected period and
//!   state, so even a job run twice (a lease that expired) renews once.
//!
//! Time: every business has its own "now": its test clock when it has one,
//! else the node's clock. [`Engine::advance_clock`] moves a test business's
//! clock, stepping to each due instant so that effects happen in date order.

use abo_service::ServiceError;
use abo_store::{Store, StoreError, businesses, jobs, subscriptions};

/// The job kinds this engine claims.
pub const HANDLED_KINDS: &[&str] = &[KIND_RENEW, KIND_BILL_CUSTOMER];
pub const KIND_RENEW: &str = "Renew";
pub const KIND_BILL_CUSTOMER: &str = "BillCustomer";

/// How long a claimed job is leased to its worker.
const LEASE_US: i64 = 5 * 60 * 1_000_000;
/// Jobs claimed, and renewals scanned, per round.
const BATCH: i64 = 100;
/// Rounds per call at most (a round that finds nothing ends the call).
const MAX_ROUNDS: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("business {0} is not a test business: its clock cannot be moved")]
    NotATestBusiness(i64),
    #[error("the clock of business {business_id} cannot go backwards")]
    Backwards { business_id: i64 },
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunReport {
    /// `Renew` jobs enqueued by the scan.
    pub renewals_enqueued: u64,
    /// Jobs carried out (completed).
    pub jobs_run: u64,
    /// Jobs that failed (retried later while attempts remain).
    pub jobs_failed: u64,
    /// Subscriptions whose term was processed.
    pub renewals: u64,
    /// Invoices issued by `BillCustomer` jobs.
    pub invoices: u64,
}

impl RunReport {
    fn add(&mut self, other: RunReport) {
        self.renewals_enqueued += other.renewals_enqueued;
        self.jobs_run += other.jobs_run;
        self.jobs_failed += other.jobs_failed;
        self.renewals += other.renewals;
        self.invoices += other.invoices;
    }

    /// Whether anything happened.
    pub fn is_empty(&self) -> bool {
        *self == RunReport::default()
    }
}

/// What moving a test clock did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdvanceReport {
    /// The business's clock after the move.
    pub now_us: i64,
    pub run: RunReport,
}

#[derive(Clone)]
pub struct Engine {
    store: Store,
}

impl Engine {
    pub fn new(store: Store) -> Engine {
        Engine { store }
    }

    /// Runs what is due in every business, each at its own "now" (its test
    /// clock, else `now_us`).
    pub async fn run_due(&self, now_us: i64, worker_id: &str) -> Result<RunReport> {
        let all = {
            let mut conn = self.store.acquire().await?;
            businesses::list(&mut conn).await?
        };
        let mut report = RunReport::default();
        for business in all {
            let now = business.test_clock_us.unwrap_or(now_us);
            report.add(self.run_business(business.id, now, worker_id).await?);
        }
        Ok(report)
    }

    /// Runs what is due at `now_us` in one business, until nothing is.
    pub async fn run_business(
        &self,
        business_id: i64,
        now_us: i64,
        worker_id: &str,
    ) -> Result<RunReport> {
        let mut report = RunReport::default();
        for _ in 0..MAX_ROUNDS {
            let enqueued = self.scan_renewals(business_id, now_us).await?;
            let claimed = jobs::claim_kinds(
                &self.store,
                worker_id,
                now_us,
                LEASE_US,
                BATCH,
                Some(business_id),
                HANDLED_KINDS,
            )
            .await?;
            report.renewals_enqueued += enqueued;
            if claimed.is_empty() {
                break;
            }
            for job in claimed {
                report.add(self.process(&job, now_us, worker_id).await?);
            }
        }
        Ok(report)
    }

    /// Enqueues a `Renew` job per subscription whose term is reached.
    async fn scan_renewals(&self, business_id: i64, now_us: i64) -> Result<u64> {
        let mut tx = self.store.begin().await?;
        let due = subscriptions::due_for_renewal_in(&mut tx, business_id, now_us, BATCH).await?;
        let mut enqueued = 0;
        for (id, period_index, state) in due {
            let payload = serde_json::json!({
                "business_id": business_id,
                "subscription_id": id,
                "period_index": period_index,
                "state": state,
            });
            let new = jobs::NewJob {
                business_id: Some(business_id),
                kind: KIND_RENEW.into(),
                payload: payload.to_string(),
                run_at_us: now_us,
                max_attempts: 10,
                natural_key: Some(format!("renew:{id}:{period_index}:{state}")),
            };
            if jobs::enqueue(&mut tx, &new, now_us).await?.is_some() {
                enqueued += 1;
            }
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(enqueued)
    }

    /// Carries out one claimed job, then completes it, or records the
    /// failure and schedules a retry (backoff doubling from 1 minute, at
    /// most a day).
    async fn process(&self, job: &jobs::Job, now_us: i64, worker_id: &str) -> Result<RunReport> {
        let mut report = RunReport::default();
        let outcome = self.dispatch(job, now_us, &mut report).await;
        let mut conn = self.store.acquire().await?;
        match outcome {
            Ok(()) => {
                jobs::complete(&mut conn, job.id, worker_id, now_us).await?;
                report.jobs_run += 1;
            }
            Err(error) => {
                tracing::warn!(job = job.id, kind = %job.kind, %error, "job failed");
                let shift = u32::try_from(job.attempts.clamp(1, 11) - 1).unwrap_or(0);
                let backoff_us = (60_000_000i64 << shift).min(86_400_000_000);
                jobs::fail(
                    &mut conn,
                    job.id,
                    worker_id,
                    &error.to_string(),
                    Some(now_us + backoff_us),
                )
                .await?;
                report.jobs_failed += 1;
            }
        }
        Ok(report)
    }

    async fn dispatch(
        &self,
        job: &jobs::Job,
        now_us: i64,
        report: &mut RunReport,
    ) -> Result<(), String> {
        let payload: serde_json::Value =
            serde_json::from_str(&job.payload).map_err(|e| format!("payload: {e}"))?;
        let int = |name: &str| {
            payload[name]
                .as_i64()
                .ok_or_else(|| format!("payload: {name} is missing"))
        };
        match job.kind.as_str() {
            KIND_RENEW => {
                let state = payload["state"]
                    .as_str()
                    .ok_or("payload: state is missing")?;
                let done = abo_service::renewal::renew(
                    &self.store,
                    int("business_id")?,
                    int("subscription_id")?,
                    int("period_index")?,
                    state,
                    now_us,
                )
                .await
                .map_err(|e| e.to_string())?;
                if done.is_some() {
                    report.renewals += 1;
                }
                Ok(())
            }
            KIND_BILL_CUSTOMER => {
                let invoice = abo_service::billing::bill_customer(
                    &self.store,
                    int("business_id")?,
                    int("customer_id")?,
                    now_us,
                )
                .await
                .map_err(|e| e.to_string())?;
                if invoice.is_some() {
                    report.invoices += 1;
                }
                Ok(())
            }
            other => Err(format!("job kind {other} is not handled here")),
        }
    }

    /// The earliest instant something falls due in the business (a term or
    /// a job this engine handles).
    pub async fn next_due_us(&self, business_id: i64) -> Result<Option<i64>> {
        let mut conn = self.store.acquire().await?;
        let term = subscriptions::next_term_at(&mut conn, business_id).await?;
        let job = jobs::next_run_at(&mut conn, business_id, HANDLED_KINDS).await?;
        Ok(match (term, job) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    /// Moves the clock of test business `business_id` to `target_us`,
    /// carrying out every effect that falls due on the way, in date order:
    /// the clock steps to each due instant and runs what is due there.
    /// `real_now_us` is where a business without a test clock yet starts.
    pub async fn advance_clock(
        &self,
        business_id: i64,
        target_us: i64,
        real_now_us: i64,
        worker_id: &str,
    ) -> Result<AdvanceReport> {
        let business = {
            let mut conn = self.store.acquire().await?;
            businesses::get(&mut conn, business_id).await?
        };
        if !business.is_test {
            return Err(EngineError::NotATestBusiness(business_id));
        }
        let mut current = business.test_clock_us.unwrap_or(real_now_us);
        if target_us < current {
            return Err(EngineError::Backwards { business_id });
        }
        let mut report = RunReport::default();
        for _ in 0..MAX_ROUNDS {
            let Some(next) = self.next_due_us(business_id).await? else {
                break;
            };
            if next > target_us {
                break;
            }
            if next > current {
                current = next;
                self.set_clock(business_id, current).await?;
            }
            let run = self.run_business(business_id, current, worker_id).await?;
            report.add(run);
            if run.is_empty() {
                // Due but not progressing (a job leased elsewhere, or dead):
                // leave it to the next run.
                break;
            }
        }
        self.set_clock(business_id, target_us).await?;
        report.add(self.run_business(business_id, target_us, worker_id).await?);
        Ok(AdvanceReport {
            now_us: target_us,
            run: report,
        })
    }

    async fn set_clock(&self, business_id: i64, now_us: i64) -> Result<()> {
        let mut conn = self.store.acquire().await?;
        businesses::set_test_clock(&mut conn, business_id, Some(now_us)).await?;
        Ok(())
    }

    /// The background loop of `abo serve`: runs what is due every
    /// `interval`, until `shutdown` resolves. Errors are logged, never fatal.
    pub async fn run_forever(
        self,
        clock: std::sync::Arc<dyn abo_core::Clock>,
        worker_id: String,
        interval: std::time::Duration,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = ticker.tick() => {
                    let now = clock.now().as_microsecond();
                    match self.run_due(now, &worker_id).await {
                        Ok(report) if !report.is_empty() => {
                            tracing::info!(?report, "engine run");
                        }
                        Ok(_) => {}
                        Err(error) => tracing::warn!(%error, "engine run failed"),
                    }
                }
            }
        }
    }
}
