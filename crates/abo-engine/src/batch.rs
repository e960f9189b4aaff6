//! Batches: the claimed jobs of one kind among the three that every renewal
//! goes through (`Renew`, `BillCustomer`, `CollectInvoice`: written when a
//! renewal is not carried out by the scan's own batch, `scan::renew_due`,
//! whose collections are charged here too, [`Engine::collect_started`]) are
//! carried out together, in one transaction per batch (collection: one before and one
//! after the gateway calls), with the jobs completed in the same
//! transaction as their effects. Each step is carried out set-wise by
//! `abo_service::batch` (a few statements for the whole batch), so a
//! subscription costs a share of those statements and of a commit, not a
//! transaction and a dozen round trips per step.
//!
//! Nothing is decided here: `abo_service::batch` writes what the one-by-one
//! use cases write, from their own pieces, so natural keys, the expected
//! `(period_index, state)` of a renewal and the gapless invoice numbers
//! (taken in the batch's transaction, released by its rollback) keep every
//! guarantee of the one-by-one path (`tests/batches.rs` compares the two).
//!
//! A batch is all or nothing: when one of its jobs fails, the transaction is
//! rolled back and the caller carries the jobs out one by one, so a failing
//! subscription fails alone, with its own retry, and the others go through.

use abo_gateway::ChargeReceipt;
use abo_service::ServiceError;
use abo_service::batch::bill::{Collection, bill_many};
use abo_service::batch::collect::{DueCollection, prepare_many, record_many};
use abo_service::batch::renew::{DueRenewal, renew_many};
use abo_service::billing::CollectOutcome;
use abo_service::billing::collect::{PendingCharge, Prepared};
use abo_store::jobs::{self, Job};
use abo_store::{AnyConnection, StoreError};

use crate::{Engine, KIND_BILL_CUSTOMER, KIND_COLLECT, KIND_RENEW, RunReport};

/// Whether jobs of `kind` are carried out in batches.
pub(crate) fn batchable(kind: &str) -> bool {
    [KIND_RENEW, KIND_BILL_CUSTOMER, KIND_COLLECT].contains(&kind)
}

/// What a batch did, and the jobs left to run one by one.
pub(crate) struct BatchOutcome<'a> {
    pub report: RunReport,
    pub left: Vec<&'a Job>,
}

impl<'a> BatchOutcome<'a> {
    /// Nothing done: every job goes one by one.
    fn fallback(batch: &'a [Job]) -> BatchOutcome<'a> {
        BatchOutcome {
            report: RunReport::default(),
            left: batch.iter().collect(),
        }
    }
}

/// The integers and strings of a job's payload, and its business.
pub(crate) struct Payload<'a> {
    job: &'a Job,
    business_id: i64,
    value: serde_json::Value,
}

impl<'a> Payload<'a> {
    pub(crate) fn parse(job: &'a Job) -> Result<Payload<'a>, String> {
        let value: serde_json::Value =
            serde_json::from_str(&job.payload).map_err(|e| format!("payload: {e}"))?;
        // The job row names its business; older payloads repeat it.
        let business_id = match job.business_id {
            Some(id) => id,
            None => value["business_id"]
                .as_i64()
                .ok_or("payload: business_id is missing")?,
        };
        Ok(Payload {
            job,
            business_id,
            value,
        })
    }

    /// The first of `names` present (older payloads use other names).
    pub(crate) fn int(&self, names: &[&str]) -> Result<i64, String> {
        names
            .iter()
            .find_map(|name| self.value[*name].as_i64())
            .ok_or_else(|| format!("payload: {} is missing", names[0]))
    }

    fn str(&self, name: &str) -> Result<&str, String> {
        self.value[name]
            .as_str()
            .ok_or_else(|| format!("payload: {name} is missing"))
    }
}

fn service(e: ServiceError) -> String {
    e.to_string()
}

fn store_err(e: impl Into<StoreError>) -> String {
    e.into().to_string()
}

impl Engine {
    /// Carries out `batch` (claimed jobs, all of kind `kind`, see
    /// [`batchable`]) together.
    pub(crate) async fn run_batch<'a>(
        &self,
        kind: &str,
        batch: &'a [Job],
        now_us: i64,
        worker_id: &str,
    ) -> BatchOutcome<'a> {
        let result = match kind {
            KIND_COLLECT => self.collect_batch(batch, now_us, worker_id).await,
            _ => self
                .in_one_transaction(kind, batch, now_us, worker_id)
                .await
                .map(|report| BatchOutcome {
                    report,
                    left: Vec::new(),
                }),
        };
        result.unwrap_or_else(|error| {
            tracing::info!(kind, jobs = batch.len(), %error, "batch rolled back: one by one");
            let mut outcome = BatchOutcome::fallback(batch);
            outcome.report.batches_rolled_back = 1;
            outcome
        })
    }

    /// Renewals or billings: every job in one transaction, completed in it
    /// (set-wise: `abo_service::batch`).
    async fn in_one_transaction(
        &self,
        kind: &str,
        batch: &[Job],
        now_us: i64,
        worker_id: &str,
    ) -> Result<RunReport, String> {
        let mut report = RunReport::default();
        let mut tx = self.store.begin().await.map_err(store_err)?;
        for (business_id, jobs) in by_business(batch)? {
            if kind == KIND_RENEW {
                let due = jobs
                    .iter()
                    .map(|p| {
                        Ok(DueRenewal {
                            subscription_id: p.int(&["subscription_id"])?,
                            period_index: p.int(&["period_index"])?,
                            state: p.str("state")?.to_owned(),
                        })
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                let renewed = renew_many(&mut tx, business_id, &due, now_us, None)
                    .await
                    .map_err(service)?;
                report.renewals += renewed.renewals;
                report.invoices += renewed.invoices;
            } else {
                // `BillNow` jobs name the customer `IdCustomer`.
                let customers = jobs
                    .iter()
                    .map(|p| p.int(&["customer_id", "IdCustomer"]))
                    .collect::<Result<Vec<_>, String>>()?;
                report.invoices += bill_many(&mut tx, business_id, &customers, now_us, None)
                    .await
                    .map_err(service)?
                    .invoices;
            }
        }
        complete(&mut tx, batch.iter(), worker_id, now_us, &mut report).await?;
        tx.commit().await.map_err(store_err)?;
        Ok(report)
    }

    /// Collection attempts: all written in one transaction, committed before
    /// any charge is sent (as alone: a crash after a charge replays its
    /// idempotency key); the charges; then all answers recorded, and the
    /// jobs completed, in a second transaction. A charge the gateway could
    /// not take leaves its job to the one-by-one path.
    async fn collect_batch<'a>(
        &self,
        batch: &'a [Job],
        now_us: i64,
        worker_id: &str,
    ) -> Result<BatchOutcome<'a>, String> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut prepared: Vec<(&'a Job, i64, Prepared)> = Vec::with_capacity(batch.len());
        let groups = by_business(batch)?;
        for (business_id, payloads) in &groups {
            let due = payloads
                .iter()
                .map(|p| {
                    Ok(DueCollection {
                        invoice_id: p.int(&["invoice_id"])?,
                        attempt: p.int(&["attempt"])?,
                    })
                })
                .collect::<Result<Vec<_>, String>>()?;
            let steps = prepare_many(&mut tx, *business_id, &due, now_us)
                .await
                .map_err(service)?;
            for (p, step) in payloads.iter().zip(steps) {
                prepared.push((p.job, *business_id, step));
            }
        }
        tx.commit().await.map_err(store_err)?;

        let (mut tx, mut report, done, left) = self.send_and_record(prepared, now_us).await?;
        complete(&mut tx, done.into_iter(), worker_id, now_us, &mut report).await?;
        tx.commit().await.map_err(store_err)?;
        Ok(BatchOutcome { report, left })
    }

    /// The charges of collections started by a renewal batch's billing
    /// (their jobs enqueued leased to `worker_id`: `scan::renew_due`), sent
    /// and recorded, their jobs completed; a charge the gateway could not
    /// take has its job given back, for any worker to run it alone.
    pub(crate) async fn collect_started(
        &self,
        business_id: i64,
        collections: Vec<Collection>,
        now_us: i64,
        worker_id: &str,
    ) -> Result<RunReport, String> {
        let keys: Vec<String> = collections.iter().map(|c| c.job_key.clone()).collect();
        let prepared = collections
            .into_iter()
            .map(|c| (c.job_key, business_id, c.prepared))
            .collect();
        let recorded = async {
            let (mut tx, mut report, done, left) = self.send_and_record(prepared, now_us).await?;
            jobs::complete_keys(&mut tx, &done, worker_id, now_us)
                .await
                .map_err(store_err)?;
            report.jobs_run += done.len() as u64;
            jobs::release_keys(&mut tx, &left, worker_id)
                .await
                .map_err(store_err)?;
            tx.commit().await.map_err(store_err)?;
            Ok::<_, String>(report)
        }
        .await;
        if recorded.is_err() {
            // Given back at once rather than when the lease ends: the jobs
            // then run alone, replaying their attempts.
            if let Ok(mut conn) = self.store.acquire().await {
                let _ = jobs::release_keys(&mut conn, &keys, worker_id).await;
            }
        }
        recorded
    }

    /// Steps 2 and 3 of collections whose attempts are committed: the
    /// charges sent, then every answer recorded in a transaction left open
    /// for the caller to complete the jobs `done` in. The jobs `left` are
    /// those whose charge the gateway could not take.
    async fn send_and_record<T>(
        &self,
        prepared: Vec<(T, i64, Prepared)>,
        now_us: i64,
    ) -> Result<(abo_store::Tx, RunReport, Vec<T>, Vec<T>), String> {
        let mut report = RunReport::default();
        let mut left = Vec::new();
        let mut done = Vec::with_capacity(prepared.len());
        let mut answered: Vec<(T, i64, Box<PendingCharge>, ChargeReceipt)> = Vec::new();
        for (job, business_id, step) in prepared {
            match step {
                Prepared::Done(_) => done.push(job),
                Prepared::Charge(charge) => match charge.send(&self.gateways, now_us).await {
                    Ok(receipt) => answered.push((job, business_id, charge, receipt)),
                    Err(error) => {
                        tracing::debug!(%error, "charge not taken: alone");
                        left.push(job);
                    }
                },
            }
        }

        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut businesses: Vec<i64> = answered.iter().map(|a| a.1).collect();
        businesses.sort_unstable();
        businesses.dedup();
        for business_id in businesses {
            let of_business: Vec<(&PendingCharge, &ChargeReceipt)> = answered
                .iter()
                .filter(|a| a.1 == business_id)
                .map(|(_, _, charge, receipt)| (charge.as_ref(), receipt))
                .collect();
            let outcomes = record_many(&mut tx, business_id, &of_business, now_us)
                .await
                .map_err(service)?;
            report.payments += outcomes
                .iter()
                .filter(|o| **o == CollectOutcome::Paid)
                .count() as u64;
        }
        done.extend(answered.into_iter().map(|a| a.0));
        Ok((tx, report, done, left))
    }
}

/// The payloads of a batch by business (in order of first appearance; a
/// batch normally holds one business's jobs).
fn by_business(batch: &[Job]) -> Result<Vec<(i64, Vec<Payload<'_>>)>, String> {
    let mut out: Vec<(i64, Vec<Payload<'_>>)> = Vec::new();
    for job in batch {
        let p = Payload::parse(job)?;
        match out.iter_mut().find(|(b, _)| *b == p.business_id) {
            Some((_, list)) => list.push(p),
            None => out.push((p.business_id, vec![p])),
        }
    }
    Ok(out)
}

/// Completes the jobs of a batch in its transaction.
async fn complete<'a>(
    conn: &mut AnyConnection,
    done: impl Iterator<Item = &'a Job>,
    worker_id: &str,
    now_us: i64,
    report: &mut RunReport,
) -> Result<(), String> {
    let ids: Vec<i64> = done.map(|j| j.id).collect();
    jobs::complete_many(conn, &ids, worker_id, now_us)
        .await
        .map_err(store_err)?;
    report.jobs_run += ids.len() as u64;
    Ok(())
}
