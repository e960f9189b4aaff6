//! `abo-engine`: subscriptions living in time. The scheduler finds what
//! falls due (renewals, jobs), and the workers carry it out through the use
//! cases of `abo-service`; nothing here decides.
//!
//! Safe on any number of nodes:
//! - renewals are found by a scan and carried out in batches in the scan's
//!   own transaction, which takes each subscription at the period and state
//!   it was found due in (Postgres: rows locked `FOR UPDATE SKIP LOCKED`, so
//!   nodes, and the lanes of a node, share them), bills the buyers and
//!   starts their card payments
//!   (`scan::renew_due`); the one-by-one engine, and a batch that failed,
//!   turn them into `Renew` jobs instead. Delayed starts become
//!   `StartDelayed` jobs. A job's natural key names the subscription, its
//!   period and its state, so it is enqueued once however many nodes scan;
//! - jobs are claimed with a lease (`FOR UPDATE SKIP LOCKED` on Postgres),
//!   taken on the node's clock, so the jobs of a node that died come back
//!   even while a test clock stands still; only the kinds in
//!   [`HANDLED_KINDS`] are claimed (plus `Email` with a mailer);
//! - billing (`BillCustomer`), collection (`CollectInvoice`, `PollPayment`
//!   through the node's [`Gateways`]), card-expiry notices (`CardExpiry`)
//!   and overdue checks (`InvoiceOverdue`) are jobs written by the use cases
//!   in the transaction that causes them;
//! - the renewal itself takes the subscription at the expected period and
//!   state, so even a job run twice (a lease that expired) renews once.
//!
//! Time: every business has its own "now": its test clock when it has one,
//! else the node's clock. [`Engine::advance_clock`] moves a test business's
//! clock, stepping to each due instant so that effects happen in date order.

use std::sync::Arc;

use abo_service::ServiceError;
use abo_service::billing::{CollectOutcome, Gateways};
use abo_store::{Backend, Store, StoreError, businesses, jobs, subscriptions};

mod batch;
mod scan;
mod webhooks;

/// The job kinds this engine claims.
pub const HANDLED_KINDS: &[&str] = &[
    KIND_RENEW,
    KIND_BILL_CUSTOMER,
    KIND_COLLECT,
    KIND_POLL_PAYMENT,
    KIND_START_DELAYED,
    KIND_CARD_EXPIRY,
    KIND_INVOICE_OVERDUE,
    KIND_RESUME_REFUND,
    abo_webhooks::KIND_EVENT,
    abo_webhooks::KIND_DELIVERY,
    abo_webhooks::KIND_PURGE,
];
pub const KIND_RENEW: &str = "Renew";
pub const KIND_BILL_CUSTOMER: &str = "BillCustomer";
/// Charges an issued invoice (attempt n): `abo_service::billing::collect_invoice`.
pub const KIND_COLLECT: &str = abo_service::billing::JOB_COLLECT;
/// Asks the gateway about a pending (SEPA) payment.
pub const KIND_POLL_PAYMENT: &str = abo_service::billing::JOB_POLL_PAYMENT;
/// Starts a `DraftDelayedStart` subscription on its start date.
pub const KIND_START_DELAYED: &str = "StartDelayed";
/// Tells the customer and the merchant that a card expires soon, or expired.
pub const KIND_CARD_EXPIRY: &str = abo_service::billing::JOB_CARD_EXPIRY;
/// Marks an invoice still unpaid at its overdue date.
pub const KIND_INVOICE_OVERDUE: &str = abo_service::billing::JOB_INVOICE_OVERDUE;
/// Finishes a refund left unfinished by a process that died.
pub const KIND_RESUME_REFUND: &str = abo_service::billing::JOB_RESUME_REFUND;

/// How long a claimed job is leased to its worker, on the node's clock: a
/// job never takes that long (collection calls are idempotent anyway), and a
/// node that died gives its jobs back after it.
const LEASE_US: i64 = 60 * 1_000_000;
/// Jobs claimed, and renewals scanned, per round, by default: a batch of
/// 1,000 costs a few statements per table ([`batch`]) and holds the write
/// lock of a SQLite database for tens of milliseconds.
const BATCH: i64 = 1000;
/// Renewal batches run at once on Postgres ([`Engine::lanes`]).
const POSTGRES_LANES: usize = 4;
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
    /// Invoices paid by a collection or a settled debit.
    pub payments: u64,
    /// Delayed subscriptions started on their date.
    pub starts: u64,
    /// Webhook delivery attempts handed to the delivery worker ([`webhooks`]).
    pub webhooks_dispatched: u64,
    /// Batches rolled back and carried out one job at a time instead (a
    /// failing job, or a concurrent node: [`batch`]).
    pub batches_rolled_back: u64,
}

impl RunReport {
    fn add(&mut self, other: RunReport) {
        self.renewals_enqueued += other.renewals_enqueued;
        self.jobs_run += other.jobs_run;
        self.jobs_failed += other.jobs_failed;
        self.renewals += other.renewals;
        self.invoices += other.invoices;
        self.payments += other.payments;
        self.starts += other.starts;
        self.webhooks_dispatched += other.webhooks_dispatched;
        self.batches_rolled_back += other.batches_rolled_back;
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
    gateways: Arc<Gateways>,
    /// The node's clock, for leases only (what is due follows each
    /// business's clock).
    clock: Arc<dyn abo_core::Clock>,
    /// Sends customer e-mails; without one, `Email` jobs are left to an engine that has one.
    mailer: Option<abo_mail::Mailer>,
    /// Sends webhooks off the loop, to targets its policy accepts.
    deliveries: webhooks::Deliveries,
    /// Renewals, billings and collections carried out in batches ([`batch`]).
    batches: bool,
    /// Jobs claimed, and renewals scanned, per round.
    batch_size: i64,
}

impl Engine {
    /// An engine with the sandbox gateways.
    pub fn new(store: Store) -> Engine {
        let gateways = Arc::new(Gateways::sandbox());
        Engine::with_gateways(store, gateways)
    }

    /// An engine collecting through `gateways` (shared with the web layer,
    /// which registers cards and mandates with the same gateways).
    pub fn with_gateways(store: Store, gateways: Arc<Gateways>) -> Engine {
        Engine {
            deliveries: webhooks::Deliveries::new(store.clone(), Default::default()),
            store,
            gateways,
            clock: Arc::new(abo_core::SystemClock),
            mailer: None,
            batches: true,
            batch_size: BATCH,
        }
    }

    /// The same engine, claiming at most `size` jobs (1 to 1,000) per round:
    /// smaller rounds let several nodes share a small backlog.
    pub fn with_batch_size(mut self, size: i64) -> Engine {
        self.batch_size = size.clamp(1, BATCH);
        self
    }

    /// The same engine, carrying out every job alone: the reference the
    /// batches are tested against (they must write exactly the same rows).
    pub fn one_by_one(mut self) -> Engine {
        self.batches = false;
        self
    }

    /// The same engine, taking its leases on `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn abo_core::Clock>) -> Engine {
        self.clock = clock;
        self
    }

    /// The same engine, sending webhooks to the targets `policy` accepts
    /// (by default public addresses over https only).
    pub fn with_webhook_policy(mut self, policy: abo_webhooks::TargetPolicy) -> Engine {
        self.deliveries = webhooks::Deliveries::new(self.store.clone(), policy);
        self
    }

    /// Waits until no webhook delivery attempt of the business is in flight
    /// (they run off the loop: [`Engine::run_business`] does not wait for them).
    pub async fn wait_webhooks(&self, business_id: i64) {
        self.deliveries.wait_idle(business_id).await;
    }

    /// The payment gateways this engine collects through.
    pub fn gateways(&self) -> &Arc<Gateways> {
        &self.gateways
    }

    /// The same engine, also sending customer e-mails (`Email` jobs) with `mailer`.
    pub fn with_mailer(mut self, mailer: abo_mail::Mailer) -> Engine {
        self.mailer = Some(mailer);
        self
    }

    /// The job kinds this engine claims: [`HANDLED_KINDS`], plus `Email` with a mailer.
    fn kinds(&self) -> &'static [&'static str] {
        static WITH_EMAIL: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
        if self.mailer.is_none() {
            return HANDLED_KINDS;
        }
        WITH_EMAIL.get_or_init(|| [HANDLED_KINDS, &[abo_mail::JOB_KIND]].concat())
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
            let batch = self.batch_size;
            let lease_now_us = self.clock.now().as_microsecond();
            let mut renewed = 0;
            let mut enqueued = 0;
            if self.batches {
                // Each lane renews a batch of its own (`FOR UPDATE SKIP LOCKED`
                // keeps them apart, as between nodes).
                let mut lanes = tokio::task::JoinSet::new();
                for _ in 0..self.lanes() {
                    let engine = self.clone();
                    let worker_id = worker_id.to_owned();
                    lanes.spawn(async move {
                        engine
                            .renewal_batch(business_id, now_us, lease_now_us, batch, &worker_id)
                            .await
                    });
                }
                while let Some(lane) = lanes.join_next().await {
                    let lane = lane.map_err(|e| {
                        EngineError::Service(ServiceError::Internal(format!("renewal lane: {e}")))
                    })??;
                    renewed += lane.renewals;
                    report.add(lane);
                }
            } else {
                enqueued += scan::renewals(&self.store, business_id, now_us, batch).await?;
            }
            enqueued += scan::delayed_starts(&self.store, business_id, now_us, batch).await?;
            // Webhook deliveries are claimed by their own worker, below.
            let kinds: Vec<&str> = self
                .kinds()
                .iter()
                .copied()
                .filter(|k| *k != abo_webhooks::KIND_DELIVERY)
                .collect();
            let claim = jobs::KindsClaim {
                worker_id,
                due_us: now_us,
                lease_now_us,
                lease_us: LEASE_US,
                limit: batch,
                business_id: Some(business_id),
                kinds: &kinds,
            };
            let claimed = jobs::claim_kinds_leased(&self.store, &claim).await?;
            report.renewals_enqueued += enqueued;
            let claimed_any = !claimed.is_empty();
            report.add(self.process_claimed(&claimed, now_us, worker_id).await?);
            let dispatched = self
                .deliveries
                .dispatch_due(business_id, now_us, lease_now_us, worker_id)
                .await?;
            report.webhooks_dispatched += dispatched;
            if !claimed_any && dispatched == 0 && renewed == 0 {
                break;
            }
        }
        Ok(report)
    }

    /// How many renewal batches run at once. Postgres: four, so that some
    /// batches' statements run on the server while others wait for this
    /// node (its reads, charges and commit); they still queue for their
    /// segment's invoice numbers, held from `take_numbers` to the commit.
    /// Measured on 2 cores (renewal benchmark, 20,000 subscriptions, runs
    /// alternated): two lanes 2,517-2,606/s, three 2,946-3,028/s, four
    /// 2,938-3,544/s, six 2,750-2,943/s. SQLite: one, as it has one writer.
    fn lanes(&self) -> usize {
        match self.store.backend() {
            Backend::Postgres => POSTGRES_LANES,
            Backend::Sqlite => 1,
        }
    }

    /// One renewal batch (`scan::renew_due`) and the card charges it
    /// started. A batch that rolled back leaves its renewals to `Renew` jobs,
    /// which go one by one.
    async fn renewal_batch(
        &self,
        business_id: i64,
        now_us: i64,
        lease_now_us: i64,
        batch: i64,
        worker_id: &str,
    ) -> Result<RunReport> {
        let mut report = RunReport::default();
        let lease = jobs::Lease {
            worker_id,
            locked_until_us: lease_now_us + LEASE_US,
        };
        match scan::renew_due(&self.store, business_id, now_us, batch, lease).await {
            Ok(done) => {
                report.renewals += done.renewals;
                report.invoices += done.invoices;
                match self
                    .collect_started(business_id, done.collections, now_us, worker_id)
                    .await
                {
                    Ok(collected) => report.add(collected),
                    // Their jobs are given back: they run alone.
                    Err(error) => tracing::warn!(%error, "collections not recorded"),
                }
            }
            Err(error) => {
                tracing::info!(%error, "renewal batch rolled back: one by one");
                report.batches_rolled_back += 1;
                report.renewals_enqueued +=
                    scan::renewals(&self.store, business_id, now_us, batch).await?;
            }
        }
        Ok(report)
    }

    /// Carries out claimed jobs (sorted by due instant), instant by instant:
    /// first the notifications (webhook events, e-mails: they only tell what
    /// already happened, and are fanned out before later work moves what they
    /// describe); then the other jobs in their order, where each run of
    /// consecutive renewals, billings or collections is carried out as one
    /// batch ([`batch`]). The order between those jobs is kept: a customer's
    /// billing of one term runs before the renewal of the next term, when a
    /// clock far ahead makes both due at once.
    ///
    /// The jobs carried out one by one are completed together at the end of
    /// their instant, in one statement (a commit each would cost more than
    /// most of them): a crash before it only runs them again once their
    /// lease is over, which every job tolerates (natural keys, expected
    /// states), as it already must after a crash between effect and completion.
    async fn process_claimed(
        &self,
        claimed: &[jobs::Job],
        now_us: i64,
        worker_id: &str,
    ) -> Result<RunReport> {
        let notification = |j: &jobs::Job| {
            abo_webhooks::KINDS.contains(&j.kind.as_str()) || j.kind == abo_mail::JOB_KIND
        };
        let mut report = RunReport::default();
        for instant in claimed.chunk_by(|a, b| a.run_at_us == b.run_at_us) {
            // Events no endpoint listens to have nothing to fan out.
            let events: Vec<jobs::Job> = instant
                .iter()
                .filter(|j| j.kind == abo_webhooks::KIND_EVENT)
                .cloned()
                .collect();
            let unheard = if self.batches {
                abo_webhooks::deliver::unheard(&self.store, &events)
                    .await
                    .map_err(|e| EngineError::Service(ServiceError::Internal(e.to_string())))?
            } else {
                Vec::new()
            };
            report.jobs_run += unheard.len() as u64;
            let skip: std::collections::HashSet<i64> = unheard.iter().copied().collect();
            let mut done = unheard;
            for job in instant
                .iter()
                .filter(|j| notification(j) && !skip.contains(&j.id))
            {
                report.add(self.process(job, now_us, worker_id, &mut done).await?);
            }
            let work: Vec<jobs::Job> = instant
                .iter()
                .filter(|j| !notification(j))
                .cloned()
                .collect();
            for run in work.chunk_by(|a, b| a.kind == b.kind) {
                if run.len() < 2 || !self.batches || !batch::batchable(&run[0].kind) {
                    for job in run {
                        report.add(self.process(job, now_us, worker_id, &mut done).await?);
                    }
                    continue;
                }
                let outcome = self.run_batch(&run[0].kind, run, now_us, worker_id).await;
                report.add(outcome.report);
                for job in outcome.left {
                    report.add(self.process(job, now_us, worker_id, &mut done).await?);
                }
            }
            if !done.is_empty() {
                let mut conn = self.store.acquire().await?;
                jobs::complete_many(&mut conn, &done, worker_id, now_us).await?;
            }
        }
        Ok(report)
    }

    /// Carries out one claimed job and adds it to `done` (completed by the
    /// caller), or records the failure and schedules a retry (backoff
    /// doubling from 1 minute, at most a day).
    async fn process(
        &self,
        job: &jobs::Job,
        now_us: i64,
        worker_id: &str,
        done: &mut Vec<i64>,
    ) -> Result<RunReport> {
        let mut report = RunReport::default();
        match self.dispatch(job, now_us, &mut report).await {
            Ok(()) => {
                done.push(job.id);
                report.jobs_run += 1;
            }
            Err(error) => {
                tracing::warn!(job = job.id, kind = %job.kind, %error, "job failed");
                let shift = u32::try_from(job.attempts.clamp(1, 11) - 1).unwrap_or(0);
                let backoff_us = (60_000_000i64 << shift).min(86_400_000_000);
                let mut conn = self.store.acquire().await?;
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

    /// Carries out one job by kind. The notifications workers (webhooks,
    /// e-mails) add their own arms here.
    async fn dispatch(
        &self,
        job: &jobs::Job,
        now_us: i64,
        report: &mut RunReport,
    ) -> Result<(), String> {
        let payload: serde_json::Value =
            serde_json::from_str(&job.payload).map_err(|e| format!("payload: {e}"))?;
        let int = |names: &[&str]| {
            names
                .iter()
                .find_map(|name| payload[*name].as_i64())
                .ok_or_else(|| format!("payload: {} is missing", names[0]))
        };
        // The job row names its business; older payloads repeat it.
        let business_id = match job.business_id {
            Some(id) => id,
            None => int(&["business_id"])?,
        };
        let service = |e: ServiceError| e.to_string();
        match job.kind.as_str() {
            KIND_RENEW => {
                let state = payload["state"]
                    .as_str()
                    .ok_or("payload: state is missing")?;
                let done = abo_service::renewal::renew(
                    &self.store,
                    business_id,
                    int(&["subscription_id"])?,
                    int(&["period_index"])?,
                    state,
                    now_us,
                )
                .await
                .map_err(service)?;
                if done.is_some() {
                    report.renewals += 1;
                }
            }
            KIND_BILL_CUSTOMER => {
                // `BillNow` jobs name the customer `IdCustomer`.
                let customer_id = int(&["customer_id", "IdCustomer"])?;
                let invoice = abo_service::billing::bill_customer(
                    &self.store,
                    business_id,
                    customer_id,
                    now_us,
                )
                .await
                .map_err(service)?;
                if invoice.is_some() {
                    report.invoices += 1;
                }
            }
            KIND_COLLECT | KIND_POLL_PAYMENT => {
                let invoice_id = int(&["invoice_id"])?;
                let attempt = int(&["attempt"])?;
                let outcome = if job.kind == KIND_COLLECT {
                    abo_service::billing::collect_invoice(
                        &self.store,
                        &self.gateways,
                        business_id,
                        invoice_id,
                        attempt,
                        now_us,
                    )
                    .await
                } else {
                    abo_service::billing::poll_payment(
                        &self.store,
                        &self.gateways,
                        business_id,
                        invoice_id,
                        attempt,
                        now_us,
                    )
                    .await
                }
                .map_err(service)?;
                if outcome == CollectOutcome::Paid {
                    report.payments += 1;
                }
            }
            KIND_START_DELAYED => {
                let started = abo_service::renewal::start_delayed(
                    &self.store,
                    business_id,
                    int(&["subscription_id"])?,
                    now_us,
                )
                .await
                .map_err(service)?;
                if started.is_some() {
                    report.starts += 1;
                }
            }
            KIND_CARD_EXPIRY => {
                abo_service::billing::expiry::notify_card_expiry(
                    &self.store,
                    business_id,
                    int(&["permission_id"])?,
                    payload["notice"]
                        .as_str()
                        .ok_or("payload: notice is missing")?,
                    now_us,
                )
                .await
                .map_err(service)?;
            }
            KIND_INVOICE_OVERDUE => {
                abo_service::billing::overdue::mark_overdue(
                    &self.store,
                    business_id,
                    int(&["invoice_id"])?,
                    now_us,
                )
                .await
                .map_err(service)?;
            }
            KIND_RESUME_REFUND => {
                abo_service::billing::credit::resume_refund(
                    &self.store,
                    &self.gateways,
                    business_id,
                    int(&["refund_id"])?,
                    now_us,
                )
                .await
                .map_err(service)?;
            }
            // Webhooks: fan-out of events, delivery attempts, history purge.
            // Customer e-mails (abo-mail): render, send over SMTP, record once.
            abo_mail::JOB_KIND if let Some(mailer) = &self.mailer => {
                abo_mail::deliver(&self.store, mailer, job, now_us)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            kind if abo_webhooks::KINDS.contains(&kind) => {
                abo_webhooks::run_job(&self.store, self.deliveries.policy(), job, now_us)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            other => return Err(format!("job kind {other} is not handled here")),
        }
        Ok(())
    }

    /// The earliest instant something falls due in the business (a term, a
    /// delayed start or a job this engine handles).
    pub async fn next_due_us(&self, business_id: i64) -> Result<Option<i64>> {
        let mut conn = self.store.acquire().await?;
        let due = [
            subscriptions::next_term_at(&mut conn, business_id).await?,
            abo_store::engine_scan::next_delayed_start_at(&mut conn, business_id).await?,
            jobs::next_run_at(&mut conn, business_id, self.kinds()).await?,
        ];
        Ok(due.into_iter().flatten().min())
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
            // Deliveries due now are made now, before the clock moves on.
            self.deliveries.wait_idle(business_id).await;
            report.add(run);
            if run.is_empty() {
                // Due but not progressing (a job leased elsewhere, or dead):
                // leave it to the next run.
                break;
            }
        }
        self.set_clock(business_id, target_us).await?;
        report.add(self.run_business(business_id, target_us, worker_id).await?);
        self.deliveries.wait_idle(business_id).await;
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
        // Attempts in flight are let finish (each is bounded), so that their
        // results are recorded rather than retried after the lease.
        self.deliveries.wait_all().await;
    }
}
