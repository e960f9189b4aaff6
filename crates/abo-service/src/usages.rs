//! Usages: what a customer may use now (rights), and the writes that change it.
//!
//! A usage is a feature of a **started** subscription (spec §1.7: "No Usage is
//! returned until a subscription has started; ended subscriptions' features
//! disappear"). Started means an `Active*` state: drafts, suspended and ended
//! subscriptions are neither shown nor modifiable, and a write that matches
//! none is refused with `Error.Api.Usage.NoneMatching` (spec §2.4).
//!
//! Writes (billing-rules, Features):
//! - `Increment` (relative, may be negative) on Consumption and Limitation
//!   features, applied with one `UPDATE … RETURNING` so that concurrent
//!   increments all count (no read-modify-write). A counter never goes below
//!   zero: such an increment is refused and changes nothing.
//! - `QuantityCurrent` (absolute) on Consumption and Limitation features.
//! - `IsEnabled` on OnOff features.
//!
//! Every write is logged as a usage event (what the billing engine values:
//! Consumption extras in arrears, Limitation increases pro rata). A write
//! carrying an idempotency key that was already recorded is not applied
//! again: the retry answers the current state.
//!
//! Several started subscriptions of one customer may carry the same feature.
//! Reads sum them (OnOff enabled if any, quantities summed, unlimited if any is
//! unlimited). A write without `IdSubscription` goes to the **oldest** started
//! subscription (earliest start, then lowest id): deterministic, and the one a
//! customer has had longest is the one its usage most likely belongs to.

use crate::error::{Result, ServiceError};
use abo_core::FeatureType;
use abo_store::usages::{self as store_usages, NewUsageEvent, StartedFilter, StartedUsage};
use abo_store::{AnyConnection, Page, PageRequest, Store, features};
use std::collections::HashMap;

mod increase;

/// The ProAbono code of "no started subscription carries that feature".
pub const NONE_MATCHING: &str = "Error.Api.Usage.NoneMatching";

/// Most usage writes one `POST /v1/Usages` call may carry.
pub const MAX_BATCH: usize = 50;

/// How far in the future a `DateStamp` may be, to absorb clock skew between
/// the merchant's servers and ours; anything later is refused.
pub const FUTURE_TOLERANCE_US: i64 = 60_000_000;

/// The one change a usage write makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageChange {
    /// Relative change of the counter (`Increment`), may be negative.
    Increment(i64),
    /// Absolute counter (`QuantityCurrent`).
    Quantity(i64),
    /// OnOff switch (`IsEnabled`).
    Enabled(bool),
}

/// One usage write (`UsageRequest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageWrite {
    pub feature_reference: String,
    pub customer_reference: Option<String>,
    pub subscription_id: Option<i64>,
    pub change: UsageChange,
    /// When the usage happened; `None` = now. Future instants are refused.
    pub date_stamp_us: Option<i64>,
    /// A retried write with the same key (per business) counts once.
    pub idempotency_key: Option<String>,
}

/// Which usages to read. A customer is given by reference (matched in every
/// segment, as ProAbono's usage endpoints carry no segment) or by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageQuery {
    pub feature_reference: Option<String>,
    pub customer_reference: Option<String>,
    pub customer_id: Option<i64>,
    pub subscription_id: Option<i64>,
    /// Narrows a customer reference to one segment.
    pub segment_id: Option<i64>,
}

/// A usage as the API shows it. For Limitation and Consumption features,
/// `quantity_included` and `quantity_current` are `None` when the right is
/// unlimited; for OnOff features they are always `None`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Usage {
    pub segment_id: i64,
    pub segment_reference: String,
    pub feature_id: i64,
    pub feature_reference: String,
    pub customer_id: i64,
    pub customer_reference: String,
    /// The subscription the usage is (or, summed, first) read from.
    pub subscription_id: i64,
    pub feature_type: FeatureType,
    pub is_included: bool,
    pub is_enabled: bool,
    pub quantity_included: Option<i64>,
    pub quantity_current: Option<i64>,
    pub date_period_start_us: Option<i64>,
    pub date_period_end_us: Option<i64>,
}

impl Usage {
    /// A quantity feature without a limit (`QuantityCurrent` absent).
    pub fn is_unlimited(&self) -> bool {
        self.feature_type.has_quantity() && self.quantity_current.is_none()
    }

    fn from_started(row: &StartedUsage) -> Result<Usage> {
        let feature_type: FeatureType = row.feature.type_feature.parse().map_err(|_| {
            ServiceError::Internal(format!(
                "stored feature type '{}' is unknown",
                row.feature.type_feature
            ))
        })?;
        let terms = &row.feature.terms;
        let (quantity_included, quantity_current) = if !feature_type.has_quantity() {
            (None, None)
        } else {
            match terms.quantity_included {
                // No included limit: unlimited, whatever the counter says.
                None => (None, None),
                Some(included) => (
                    Some(included),
                    Some(row.feature.quantity_current.unwrap_or(0)),
                ),
            }
        };
        Ok(Usage {
            segment_id: row.segment_id,
            segment_reference: row.segment_reference.clone(),
            feature_id: terms.feature_id,
            feature_reference: row.feature.feature_reference.clone(),
            customer_id: row.customer_id,
            customer_reference: row.customer_reference.clone(),
            subscription_id: row.subscription_id,
            feature_type,
            is_included: terms.is_included,
            is_enabled: terms.is_enabled,
            quantity_included,
            quantity_current,
            date_period_start_us: row.date_period_start_us,
            date_period_end_us: row.date_period_end_us,
        })
    }

    /// Adds another subscription's right to the same feature (spec §1.5:
    /// "OnOff enabled if any; quantities summed; unlimited if any unlimited").
    fn absorb(&mut self, other: &Usage) {
        self.is_included |= other.is_included;
        self.is_enabled |= other.is_enabled;
        if self.is_unlimited() || other.is_unlimited() {
            self.quantity_included = None;
            self.quantity_current = None;
        } else if self.feature_type.has_quantity() {
            self.quantity_included = Some(
                self.quantity_included
                    .unwrap_or(0)
                    .saturating_add(other.quantity_included.unwrap_or(0)),
            );
            self.quantity_current = Some(
                self.quantity_current
                    .unwrap_or(0)
                    .saturating_add(other.quantity_current.unwrap_or(0)),
            );
        }
    }
}

/// Records one usage write (`POST /v1/Usage`) in its own transaction.
pub async fn record_usage(
    store: &Store,
    business_id: i64,
    write: &UsageWrite,
    now_us: i64,
) -> Result<Usage> {
    check_write(write, now_us).map_err(|e| ServiceError::Invalid(vec![e]))?;
    let mut tx = store.begin().await?;
    let usage = apply_write(&mut tx, business_id, write, now_us).await?;
    tx.commit().await?;
    Ok(usage)
}

/// Records up to [`MAX_BATCH`] writes (`POST /v1/Usages`) all or nothing: every
/// write is checked first (422 listing each bad one by its index), then all are
/// applied in one transaction; a write that matches no started subscription
/// refuses the whole batch, naming it.
pub async fn record_usages(
    store: &Store,
    business_id: i64,
    writes: &[UsageWrite],
    now_us: i64,
) -> Result<Vec<Usage>> {
    if writes.len() > MAX_BATCH {
        return Err(ServiceError::invalid(format!(
            "a batch carries at most {MAX_BATCH} usages, not {}",
            writes.len()
        )));
    }
    let errors: Vec<String> = writes
        .iter()
        .enumerate()
        .filter_map(|(i, w)| check_write(w, now_us).err().map(|e| format!("[{i}] {e}")))
        .collect();
    if !errors.is_empty() {
        return Err(ServiceError::Invalid(errors));
    }
    let mut tx = store.begin().await?;
    let mut out = Vec::with_capacity(writes.len());
    for (i, write) in writes.iter().enumerate() {
        let usage = apply_write(&mut tx, business_id, write, now_us)
            .await
            .map_err(|e| in_batch(i, e))?;
        out.push(usage);
    }
    tx.commit().await?;
    Ok(out)
}

fn in_batch(index: usize, err: ServiceError) -> ServiceError {
    match err {
        ServiceError::Invalid(m) => {
            ServiceError::Invalid(m.into_iter().map(|e| format!("[{index}] {e}")).collect())
        }
        ServiceError::Refused { code, message } => ServiceError::Refused {
            code,
            message: format!("[{index}] {message}"),
        },
        ServiceError::NotFound(what) => ServiceError::NotFound(format!("[{index}] {what}")),
        other => other,
    }
}

// ----- group commit ------------------------------------------------------------------------------

/// Most writes queued for the [`UsageWriter`] before callers wait for room
/// (backpressure instead of unbounded memory under overload).
pub const WRITER_QUEUE: usize = 8192;

/// Most writes one group-commit transaction carries. Large enough that a
/// commit is amortised over many writes, small enough that a batch's wait
/// (its writes' latency) stays in the low milliseconds.
pub const WRITER_BATCH: usize = 512;

/// The single-write path of one node: `POST /v1/Usage` goes through it.
///
/// On SQLite every write transaction takes the one database-wide write lock,
/// so concurrent per-request transactions only queue on that lock (through
/// `busy_timeout`'s sleep-and-retry, which is what made p99 latency soar).
/// Instead one writer task owns the writing: it drains a bounded queue into
/// one transaction per batch (up to [`WRITER_BATCH`] writes, or whatever is
/// queued), isolates each write so that a refused write (below zero, unknown
/// feature, ...) is undone alone — under its own `SAVEPOINT` where a refusal
/// can follow a change, see `apply_batch` — and answers every
/// caller only once the batch is committed: an acknowledged write is durable
/// as far as the store's configuration makes commits durable (WAL +
/// `synchronous=NORMAL`: it survives the process being killed).
///
/// On PostgreSQL, writes on different rows run concurrently and the server
/// already merges concurrent commits into one WAL flush, whereas one writer
/// would serialise every statement's network round trip on one connection:
/// [`UsageWriter::new`] therefore records PostgreSQL writes directly, each in
/// its own transaction. [`UsageWriter::batched`] forces the writer on any
/// backend (the tests run it on both).
///
/// Semantics are those of [`record_usage`]: the same checks, the same
/// [`apply_write`], the same errors. One difference is inherent to queueing: a
/// write whose caller went away (client disconnected) after it was queued is
/// still applied, like a request whose response was lost.
#[derive(Clone)]
pub struct UsageWriter {
    inner: std::sync::Arc<WriterInner>,
}

enum WriterInner {
    Direct(Store),
    Batched {
        queue: tokio::sync::mpsc::Sender<WriterJob>,
        stop: std::sync::Arc<tokio::sync::Notify>,
        task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    },
}

struct WriterJob {
    business_id: i64,
    write: UsageWrite,
    now_us: i64,
    reply: tokio::sync::oneshot::Sender<Result<Usage>>,
}

impl UsageWriter {
    /// The writer a node uses for `store`: batched on SQLite, direct on
    /// PostgreSQL (see the type's notes). Must be called within a Tokio
    /// runtime (it spawns the writer task).
    pub fn new(store: Store) -> UsageWriter {
        match store.backend() {
            abo_store::Backend::Sqlite => UsageWriter::batched(store, WRITER_BATCH),
            abo_store::Backend::Postgres => UsageWriter {
                inner: std::sync::Arc::new(WriterInner::Direct(store)),
            },
        }
    }

    /// A group-commit writer on any backend, batching up to `max_batch`
    /// writes per transaction. Spawns its task on the current Tokio runtime.
    pub fn batched(store: Store, max_batch: usize) -> UsageWriter {
        let (queue, rx) = tokio::sync::mpsc::channel(WRITER_QUEUE);
        let stop = std::sync::Arc::new(tokio::sync::Notify::new());
        let task = tokio::spawn(run_writer(store, rx, stop.clone(), max_batch.max(1)));
        UsageWriter {
            inner: std::sync::Arc::new(WriterInner::Batched {
                queue,
                stop,
                task: std::sync::Mutex::new(Some(task)),
            }),
        }
    }

    /// Records one usage write, like [`record_usage`]; returns once it is
    /// committed (or refused).
    pub async fn record(&self, business_id: i64, write: UsageWrite, now_us: i64) -> Result<Usage> {
        check_write(&write, now_us).map_err(|e| ServiceError::Invalid(vec![e]))?;
        match &*self.inner {
            WriterInner::Direct(store) => record_usage(store, business_id, &write, now_us).await,
            WriterInner::Batched { queue, .. } => {
                let (reply, answer) = tokio::sync::oneshot::channel();
                let job = WriterJob {
                    business_id,
                    write,
                    now_us,
                    reply,
                };
                queue.send(job).await.map_err(|_| writer_stopped())?;
                // A dropped reply means the writer task died before answering:
                // the write was not acknowledged, the caller sees an error.
                answer.await.map_err(|_| writer_stopped())?
            }
        }
    }

    /// Stops accepting writes, commits everything already queued, and waits
    /// for the writer task to end (graceful shutdown). Writes sent afterwards
    /// fail. Idempotent; a no-op for the direct writer.
    pub async fn shutdown(&self) {
        if let WriterInner::Batched { stop, task, .. } = &*self.inner {
            stop.notify_one();
            let handle = task.lock().ok().and_then(|mut t| t.take());
            if let Some(handle) = handle
                && let Err(e) = handle.await
            {
                tracing::error!(error = %e, "usage writer task failed");
            }
        }
    }
}

fn writer_stopped() -> ServiceError {
    ServiceError::Internal("the usage writer is stopped".into())
}

async fn run_writer(
    store: Store,
    mut rx: tokio::sync::mpsc::Receiver<WriterJob>,
    stop: std::sync::Arc<tokio::sync::Notify>,
    max_batch: usize,
) {
    let mut batch = Vec::with_capacity(max_batch);
    let mut stopping = false;
    loop {
        tokio::select! {
            biased;
            _ = stop.notified(), if !stopping => {
                // Refuse new writes; what is queued is still drained below,
                // and `recv_many` answers 0 once the queue is closed and empty.
                rx.close();
                stopping = true;
            }
            n = rx.recv_many(&mut batch, max_batch) => {
                if n == 0 {
                    return;
                }
                write_batch(&store, &mut batch).await;
            }
        }
    }
}

/// Applies `jobs` in one transaction, each under its own savepoint, and
/// answers each caller after the commit. Drains `jobs`.
async fn write_batch(store: &Store, jobs: &mut Vec<WriterJob>) {
    let mut results = Vec::with_capacity(jobs.len());
    match apply_batch(store, jobs, &mut results).await {
        Ok(()) => {
            for (job, result) in jobs.drain(..).zip(results) {
                // The caller may have gone away: nothing to tell it then.
                let _ = job.reply.send(result);
            }
        }
        Err(BatchFailure::BeforeCommit(e)) => {
            // Nothing of this batch is stored (the transaction never
            // committed). The failure is a database problem, not one of the
            // writes' own refusals (those are rolled back to their savepoint),
            // so each write is retried alone: one write cannot sink the others.
            tracing::warn!(error = %e, writes = jobs.len(), "usage batch failed; writing one by one");
            for job in jobs.drain(..) {
                let result = record_usage(store, job.business_id, &job.write, job.now_us).await;
                let _ = job.reply.send(result);
            }
        }
        Err(BatchFailure::Commit(e)) => {
            // The outcome of a failed COMMIT is unknown to us: retrying could
            // count writes twice, so every caller gets the error (a client
            // retries with an Idempotency-Key to count once).
            tracing::error!(error = %e, writes = jobs.len(), "usage batch commit failed");
            for job in jobs.drain(..) {
                let _ = job.reply.send(Err(ServiceError::Internal(format!(
                    "usage commit failed: {e}"
                ))));
            }
        }
    }
}

enum BatchFailure {
    BeforeCommit(ServiceError),
    Commit(ServiceError),
}

async fn apply_batch(
    store: &Store,
    jobs: &[WriterJob],
    results: &mut Vec<Result<Usage>>,
) -> std::result::Result<(), BatchFailure> {
    let before = |e: ServiceError| BatchFailure::BeforeCommit(e);
    let mut tx = store.begin().await.map_err(|e| before(e.into()))?;
    // Most writes of a batch are resolved up front, a query per feature
    // rather than per write (see `resolve_batch`).
    let mut resolved = resolve_batch(&mut tx, jobs).await.map_err(before)?;
    // Keyless writes log their events together, just before the commit.
    let mut events = Vec::new();
    let mut answers: Vec<Option<Result<Usage>>> = (0..jobs.len()).map(|_| None).collect();
    // The state of each usage this batch changed, as its last write left it:
    // what a later write of the batch to the same usage starts from (exactly
    // what resolving it again inside this transaction would read).
    let mut latest: HashMap<(i64, i64), Usage> = HashMap::new();
    add_increments(
        &mut tx,
        jobs,
        &mut resolved,
        &mut answers,
        &mut latest,
        &mut events,
    )
    .await
    .map_err(before)?;
    for (i, (job, pre)) in jobs.iter().zip(resolved.iter_mut()).enumerate() {
        if answers[i].is_some() {
            continue;
        }
        let (business_id, write) = (job.business_id, &job.write);
        let pre = pre
            .take()
            .map(|u| match latest.get(&(u.subscription_id, u.feature_id)) {
                Some(changed) => changed.clone(),
                None => u,
            });
        // Resolving only reads: its refusals need no undo.
        let resolution = match pre {
            Some(usage) => check_change(&usage, write).map(|()| usage),
            None => resolve_write(&mut tx, business_id, write).await,
        };
        let usage = match resolution {
            Ok(usage) => usage,
            Err(e) if is_refusal(&e) => {
                answers[i] = Some(Err(e));
                continue;
            }
            Err(e) => return Err(before(e)),
        };
        // Only a keyed write can be refused after it changed something (its
        // event is logged before a negative increment may be refused): that
        // one runs under a savepoint. A keyless write changes nothing when
        // refused (see `change_write`), and the savepoint's two statements
        // per write would be a third of the batch's work.
        let guarded = write.idempotency_key.is_some()
            && matches!(write.change, UsageChange::Increment(d) if d < 0);
        if guarded {
            savepoint(&mut tx, "SAVEPOINT usage_write")
                .await
                .map_err(before)?;
        }
        let deferred = Some(&mut events);
        match change_write(&mut tx, business_id, write, usage, job.now_us, deferred).await {
            Ok(usage) => {
                latest.insert((usage.subscription_id, usage.feature_id), usage.clone());
                answers[i] = Some(Ok(usage));
            }
            Err(e) if is_refusal(&e) && (guarded || write.idempotency_key.is_none()) => {
                if guarded {
                    savepoint(&mut tx, "ROLLBACK TO SAVEPOINT usage_write")
                        .await
                        .map_err(before)?;
                }
                answers[i] = Some(Err(e));
            }
            // Anything else may have left part of this write behind: give up
            // the batch (nothing is committed) and redo it write by write.
            Err(e) => return Err(before(e)),
        }
        if guarded {
            savepoint(&mut tx, "RELEASE SAVEPOINT usage_write")
                .await
                .map_err(before)?;
        }
    }
    store_usages::record_events(&mut tx, &events)
        .await
        .map_err(|e| before(e.into()))?;
    tx.commit()
        .await
        .map_err(|e| BatchFailure::Commit(e.into()))?;
    for answer in answers {
        results.push(
            answer.unwrap_or_else(|| {
                Err(ServiceError::Internal("usage write left unanswered".into()))
            }),
        );
    }
    Ok(())
}

/// A business's plain increments in a batch: (subscription, feature) -> the
/// total increment and the batch indexes of its writes, in order.
type IncrementPlan = HashMap<(i64, i64), (i64, Vec<usize>)>;

/// Applies, in one statement per business, the batch's plain increments:
/// keyless positive `Increment`s of Consumption features resolved up front
/// (nothing to refuse but a counter already below zero, nothing to charge).
/// They are taken as the batch's first writes: the writes of one batch are
/// concurrent (none is acknowledged before the commit), so any order of them
/// is one a client could have seen. Each is answered with the counter as it
/// leaves it, in batch order; `latest` gets the state after the last. A pair
/// whose counter would go below zero is left unchanged and unanswered, for
/// the write-by-write path to refuse exactly.
async fn add_increments(
    conn: &mut AnyConnection,
    jobs: &[WriterJob],
    resolved: &mut [Option<Usage>],
    answers: &mut [Option<Result<Usage>>],
    latest: &mut HashMap<(i64, i64), Usage>,
    events: &mut Vec<(NewUsageEvent, i64)>,
) -> Result<()> {
    let mut plan: HashMap<i64, IncrementPlan> = HashMap::new();
    for (i, job) in jobs.iter().enumerate() {
        let Some(usage) = &resolved[i] else { continue };
        let UsageChange::Increment(d) = job.write.change else {
            continue;
        };
        if d <= 0
            || job.write.idempotency_key.is_some()
            || usage.feature_type != FeatureType::Consumption
        {
            continue;
        }
        let entry = plan
            .entry(job.business_id)
            .or_default()
            .entry((usage.subscription_id, usage.feature_id))
            .or_insert((0, Vec::new()));
        let Some(total) = entry.0.checked_add(d) else {
            // An absurd sum: leave this write to the one-by-one path.
            continue;
        };
        entry.0 = total;
        entry.1.push(i);
    }
    for (business_id, pairs) in plan {
        let list: Vec<(i64, i64, i64)> = pairs
            .iter()
            .map(|(&(sub, feat), &(total, _))| (sub, feat, total))
            .collect();
        let applied = store_usages::apply_increments(conn, business_id, &list).await?;
        for (sub, feat, last) in applied {
            let Some((total, members)) = pairs.get(&(sub, feat)) else {
                return Err(ServiceError::Internal(
                    "an increment changed a usage it was not given".into(),
                ));
            };
            let mut now = last - total;
            let mut usage = None;
            for &i in members {
                let job = &jobs[i];
                let (UsageChange::Increment(d), Some(mut u)) =
                    (job.write.change, resolved[i].take())
                else {
                    continue;
                };
                now += d;
                if u.quantity_current.is_some() {
                    u.quantity_current = Some(now);
                }
                events.push((
                    NewUsageEvent {
                        business_id,
                        subscription_id: sub,
                        feature_id: feat,
                        increment: Some(d),
                        quantity: None,
                        date_stamp_us: job.write.date_stamp_us.unwrap_or(job.now_us),
                        idempotency_key: None,
                    },
                    job.now_us,
                ));
                answers[i] = Some(Ok(u.clone()));
                usage = Some(u);
            }
            if let Some(u) = usage {
                latest.insert((sub, feat), u);
            }
        }
    }
    Ok(())
}

/// Resolves the writes of a batch that name a customer by reference (and no
/// subscription) with one query per (business, feature), instead of one per
/// write. `Some(usage)` for each write resolved so; `None` where the write is
/// left to [`resolve_write`]: other shapes, and every write this found no
/// usage for or refused (so that the refusal comes from the one place that
/// words it, on the rare path).
async fn resolve_batch(conn: &mut AnyConnection, jobs: &[WriterJob]) -> Result<Vec<Option<Usage>>> {
    let mut out: Vec<Option<Usage>> = vec![None; jobs.len()];
    // (business, feature) -> the jobs naming a customer by reference.
    let mut groups: HashMap<(i64, &str), Vec<usize>> = HashMap::new();
    for (i, job) in jobs.iter().enumerate() {
        let w = &job.write;
        if w.subscription_id.is_none()
            && let Some(customer) = w.customer_reference.as_deref()
            && !customer.trim().is_empty()
        {
            groups
                .entry((job.business_id, w.feature_reference.as_str()))
                .or_default()
                .push(i);
        }
    }
    for ((business_id, feature), members) in groups {
        let mut references: Vec<&str> = members
            .iter()
            .filter_map(|&i| jobs[i].write.customer_reference.as_deref())
            .collect();
        references.sort_unstable();
        references.dedup();
        let rows =
            store_usages::list_started_for_customers(conn, business_id, feature, &references)
                .await?;
        let mut by_customer: HashMap<String, Vec<StartedUsage>> = HashMap::new();
        for row in rows {
            by_customer
                .entry(row.customer_reference.clone())
                .or_default()
                .push(row);
        }
        let mut targets: HashMap<&str, Option<Usage>> = HashMap::new();
        for reference in references {
            let rows = by_customer.remove(reference).unwrap_or_default();
            let target = pick_target(rows, Some(reference)).ok().flatten();
            targets.insert(reference, target);
        }
        for i in members {
            let reference = jobs[i].write.customer_reference.as_deref().unwrap_or("");
            out[i] = targets.get(reference).cloned().flatten();
        }
    }
    Ok(out)
}

/// A use-case refusal (an answer for the caller), as opposed to a database
/// or internal failure.
fn is_refusal(err: &ServiceError) -> bool {
    matches!(
        err,
        ServiceError::Invalid(_)
            | ServiceError::NotFound(_)
            | ServiceError::Refused { .. }
            | ServiceError::Conflict(_)
    )
}

async fn savepoint(conn: &mut AnyConnection, statement: &'static str) -> Result<()> {
    sqlx::query(statement).execute(&mut *conn).await?;
    Ok(())
}

/// What can be checked without the database.
pub fn check_write(write: &UsageWrite, now_us: i64) -> std::result::Result<(), String> {
    if write.feature_reference.trim().is_empty() {
        return Err("ReferenceFeature is required".into());
    }
    if write
        .customer_reference
        .as_deref()
        .is_none_or(|r| r.trim().is_empty())
        && write.subscription_id.is_none()
    {
        return Err("ReferenceCustomer or IdSubscription is required".into());
    }
    if let UsageChange::Quantity(q) = write.change
        && q < 0
    {
        return Err(format!("QuantityCurrent must not be negative, not {q}"));
    }
    if let Some(stamp) = write.date_stamp_us
        && stamp > now_us.saturating_add(FUTURE_TOLERANCE_US)
    {
        return Err("DateStamp must not be in the future".into());
    }
    Ok(())
}

/// Resolves, logs and applies one checked write on `conn` (inside the
/// caller's transaction).
pub async fn apply_write(
    conn: &mut AnyConnection,
    business_id: i64,
    write: &UsageWrite,
    now_us: i64,
) -> Result<Usage> {
    let usage = resolve_write(conn, business_id, write).await?;
    change_write(conn, business_id, write, usage, now_us, None).await
}

/// The usage a write targets, as it stands. Reads only: every refusal it
/// returns leaves the transaction unchanged.
async fn resolve_write(
    conn: &mut AnyConnection,
    business_id: i64,
    write: &UsageWrite,
) -> Result<Usage> {
    let rows = store_usages::list_started(
        conn,
        business_id,
        &StartedFilter {
            customer_reference: write.customer_reference.as_deref(),
            feature_reference: Some(&write.feature_reference),
            subscription_id: write.subscription_id,
            ..Default::default()
        },
    )
    .await?;
    let Some(usage) = pick_target(rows, write.customer_reference.as_deref())? else {
        return Err(none_matching(conn, business_id, write).await);
    };
    check_change(&usage, write)?;
    Ok(usage)
}

/// The usage a write lands on among the started rows matching it (one
/// customer's, see [`one_customer`]): the oldest subscription's, as rows come
/// oldest first. `None` when nothing matches.
fn pick_target(rows: Vec<StartedUsage>, customer_reference: Option<&str>) -> Result<Option<Usage>> {
    let rows = one_customer(rows, customer_reference)?;
    rows.first().map(Usage::from_started).transpose()
}

/// Refuses a change that does not fit the feature's type.
fn check_change(usage: &Usage, write: &UsageWrite) -> Result<()> {
    let kind = usage.feature_type;
    match (kind, write.change) {
        (FeatureType::OnOff, UsageChange::Enabled(_)) => Ok(()),
        (FeatureType::OnOff, _) => Err(ServiceError::invalid(format!(
            "feature '{}' is OnOff: send IsEnabled, not Increment or QuantityCurrent",
            write.feature_reference
        ))),
        (_, UsageChange::Enabled(_)) => Err(ServiceError::invalid(format!(
            "feature '{}' is a {kind}: send Increment or QuantityCurrent, not IsEnabled",
            write.feature_reference
        ))),
        _ => Ok(()),
    }
}

/// Logs the write as a usage event and applies it to the resolved `usage`.
///
/// Without an idempotency key the event cannot be a duplicate, so the change
/// goes first and the event is logged once it applied: a refusal (below
/// zero) then changes nothing. With a key the event goes first, since a
/// duplicate key means a retry that must not apply; a refusal after it
/// leaves the event behind for the caller's transaction (or savepoint) to
/// roll back.
///
/// With `deferred`, a keyless write's event is handed back there (with its
/// `now`) for the caller to log later in the same transaction
/// ([`store_usages::record_events`], one statement for a whole batch).
async fn change_write(
    conn: &mut AnyConnection,
    business_id: i64,
    write: &UsageWrite,
    mut usage: Usage,
    now_us: i64,
    deferred: Option<&mut Vec<(NewUsageEvent, i64)>>,
) -> Result<Usage> {
    let (increment, quantity) = match write.change {
        UsageChange::Increment(d) => (Some(d), None),
        UsageChange::Quantity(q) => (None, Some(q)),
        UsageChange::Enabled(on) => (None, Some(i64::from(on))),
    };
    let event = NewUsageEvent {
        business_id,
        subscription_id: usage.subscription_id,
        feature_id: usage.feature_id,
        increment,
        quantity,
        date_stamp_us: write.date_stamp_us.unwrap_or(now_us),
        idempotency_key: write.idempotency_key.clone(),
    };
    if write.idempotency_key.is_none() {
        let moved = apply_change(conn, business_id, write, &mut usage).await?;
        charge(conn, business_id, write, &usage, moved, now_us).await?;
        match deferred {
            Some(events) => events.push((event, now_us)),
            None => {
                store_usages::record_event(conn, &event, now_us).await?;
            }
        }
        return Ok(usage);
    }
    if store_usages::record_event(conn, &event, now_us)
        .await?
        .is_none()
    {
        // Same idempotency key already recorded: a retry. Answer the current
        // state without applying the change again.
        return Ok(usage);
    }
    let moved = apply_change(conn, business_id, write, &mut usage).await?;
    charge(conn, business_id, write, &usage, moved, now_us).await?;
    Ok(usage)
}

/// Charges what a write of a Limitation quantity costs now (see
/// [`increase`]). Its failures are never refusals: the batched writer
/// treats a refusal of a keyless write as "nothing changed", which is not
/// true once the quantity moved.
async fn charge(
    conn: &mut AnyConnection,
    business_id: i64,
    write: &UsageWrite,
    usage: &Usage,
    moved: Option<(i64, i64)>,
    now_us: i64,
) -> Result<()> {
    let Some((old, new)) = moved else {
        return Ok(());
    };
    increase::charge_increase(conn, business_id, usage, write, old, new, now_us)
        .await
        .map_err(|e| {
            if is_refusal(&e) {
                ServiceError::Internal(format!("charging the increase: {e}"))
            } else {
                e
            }
        })
}

/// The counter or switch change of a write, reflected into `usage`. For a
/// Limitation feature, also the quantities before and after, read under the
/// feature's row lock (exact even with concurrent writes): what a mid-period
/// increase is charged on.
async fn apply_change(
    conn: &mut AnyConnection,
    business_id: i64,
    write: &UsageWrite,
    usage: &mut Usage,
) -> Result<Option<(i64, i64)>> {
    let (sub, feat) = (usage.subscription_id, usage.feature_id);
    let limitation = usage.feature_type == FeatureType::Limitation;
    match write.change {
        UsageChange::Increment(d) => {
            let Some(now) =
                store_usages::apply_increment_non_negative(conn, business_id, sub, feat, d).await?
            else {
                return Err(ServiceError::invalid(format!(
                    "Increment {d} would take QuantityCurrent of feature '{}' below zero",
                    write.feature_reference
                )));
            };
            if usage.quantity_current.is_some() {
                usage.quantity_current = Some(now);
            }
            Ok(limitation.then_some((now - d, now)))
        }
        UsageChange::Quantity(q) => {
            // Only a Limitation needs the quantity it moves from (one more
            // statement, off the Consumption hot path).
            let old = if limitation {
                store_usages::lock_quantity(conn, business_id, sub, feat).await?
            } else {
                None
            };
            store_usages::set_quantity(conn, business_id, sub, feat, Some(q)).await?;
            if usage.quantity_current.is_some() {
                usage.quantity_current = Some(q);
            }
            Ok(limitation.then_some((old.unwrap_or(0), q)))
        }
        UsageChange::Enabled(on) => {
            store_usages::set_enabled(conn, business_id, sub, feat, on).await?;
            usage.is_enabled = on;
            Ok(None)
        }
    }
}

/// The refusal of a write that matched nothing, naming the unknown feature
/// when that is the reason (a cheap look-up on the error path only).
async fn none_matching(
    conn: &mut AnyConnection,
    business_id: i64,
    write: &UsageWrite,
) -> ServiceError {
    match features::find_by_reference(conn, business_id, &write.feature_reference).await {
        Ok(None) => ServiceError::not_found(format!("feature '{}'", write.feature_reference)),
        Err(e) => e.into(),
        Ok(Some(_)) => ServiceError::refused(NONE_MATCHING, no_match_message(write)),
    }
}

fn no_match_message(write: &UsageWrite) -> String {
    let who = match (&write.customer_reference, write.subscription_id) {
        (Some(c), Some(s)) => format!("customer '{c}' (subscription {s})"),
        (Some(c), None) => format!("customer '{c}'"),
        (None, Some(s)) => format!("subscription {s}"),
        (None, None) => "the customer".into(),
    };
    format!(
        "No started subscription of {who} has the feature '{}'",
        write.feature_reference
    )
}

/// A customer reference may exist in several segments: keep one customer's
/// rows, preferring the default segment's, and refuse a real ambiguity.
fn one_customer(rows: Vec<StartedUsage>, reference: Option<&str>) -> Result<Vec<StartedUsage>> {
    let Some(first) = rows.first() else {
        return Ok(rows);
    };
    if reference.is_none() || rows.iter().all(|r| r.customer_id == first.customer_id) {
        return Ok(rows);
    }
    let Some(default) = rows
        .iter()
        .find(|r| r.segment_is_default)
        .map(|r| r.customer_id)
    else {
        return Err(ServiceError::invalid(format!(
            "customer '{}' exists in several segments: give ReferenceSegment or IdSubscription",
            reference.unwrap_or_default()
        )));
    };
    Ok(rows
        .into_iter()
        .filter(|r| r.customer_id == default)
        .collect())
}

/// One usage (`GET /v1/Usage`): a feature of a customer, summed over its
/// started subscriptions, or of one subscription. `NotFound` when none of its
/// started subscriptions has the feature.
pub async fn get_usage(store: &Store, business_id: i64, query: &UsageQuery) -> Result<Usage> {
    let Some(feature) = query.feature_reference.as_deref().filter(|f| !f.is_empty()) else {
        return Err(ServiceError::invalid("ReferenceFeature is required"));
    };
    if query.customer_reference.is_none()
        && query.customer_id.is_none()
        && query.subscription_id.is_none()
    {
        return Err(ServiceError::invalid(
            "ReferenceCustomer, IdCustomer or IdSubscription is required",
        ));
    }
    let usages = read(store, business_id, query).await?;
    usages.into_iter().next().ok_or_else(|| {
        let who = query
            .customer_reference
            .clone()
            .map(|c| format!("customer '{c}'"))
            .or(query.customer_id.map(|c| format!("customer {c}")))
            .or(query.subscription_id.map(|s| format!("subscription {s}")))
            .unwrap_or_default();
        ServiceError::not_found(format!("usage of feature '{feature}' for {who}"))
    })
}

/// Usages (`GET /v1/Usages`): one per customer and feature, summed over the
/// customer's started subscriptions, or one per feature of the subscription
/// when `subscription_id` is given. Ordered by customer, then the feature
/// order of the customer's oldest subscription. With no filter at all, every
/// started usage of the business.
pub async fn list_usages(
    store: &Store,
    business_id: i64,
    query: &UsageQuery,
    page: PageRequest,
) -> Result<Page<Usage>> {
    let all = read(store, business_id, query).await?;
    let total = i64::try_from(all.len()).unwrap_or(i64::MAX);
    let offset = usize::try_from(page.offset.max(0)).unwrap_or(usize::MAX);
    let limit = usize::try_from(page.limit.clamp(0, 1000)).unwrap_or(0);
    let items = all.into_iter().skip(offset).take(limit).collect();
    Ok(Page { items, total })
}

async fn read(store: &Store, business_id: i64, query: &UsageQuery) -> Result<Vec<Usage>> {
    let mut conn = store.acquire().await?;
    let rows = store_usages::list_started(
        &mut conn,
        business_id,
        &StartedFilter {
            customer_reference: query.customer_reference.as_deref(),
            customer_id: query.customer_id,
            segment_id: query.segment_id,
            feature_reference: query.feature_reference.as_deref(),
            subscription_id: query.subscription_id,
        },
    )
    .await?;
    let rows = one_customer(rows, query.customer_reference.as_deref())?;
    let mut out: Vec<Usage> = Vec::new();
    for row in &rows {
        let usage = Usage::from_started(row)?;
        // Rows are grouped by customer, so the same (customer, feature) is
        // always among this customer's usages: a short scan back suffices.
        let same = out
            .iter_mut()
            .rev()
            .take_while(|u| u.customer_id == usage.customer_id)
            .find(|u| u.feature_id == usage.feature_id);
        match same {
            Some(existing) if query.subscription_id.is_none() => existing.absorb(&usage),
            _ => out.push(usage),
        }
    }
    Ok(out)
}

/// One line of a usage quote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QuoteLine {
    pub subscription_id: i64,
    pub feature_id: i64,
    pub label: String,
    /// Charged now (Limitation increase pro rata, OnOff option pro rata).
    pub amount_due_now: i64,
    /// The line's amount before tax (for Consumption: what the extra units
    /// add at renewal).
    pub amount: i64,
    /// With tax, when charged now.
    pub amount_total: i64,
    pub quantity_reported: Option<i64>,
    pub quantity_billed: Option<i64>,
    pub date_period_start_us: Option<i64>,
    pub date_period_end_us: Option<i64>,
}

/// The price of a usage change, without applying it (legacy
/// `POST /v1/Pricing/Usage`).
///
/// What is due now comes from the quoting service's dry run of the real
/// write (`quoting::quote_usage_changes`): a Limitation increase above what
/// the period is billed for is charged pro rata (`usages::increase`), tax
/// included as the invoice will carry it; a decrease, or enabling an OnOff
/// option (billed in advance at the next renewal), costs nothing now.
/// Consumption extras are billed in arrears, so nothing is due now and the
/// line shows what the change adds at renewal. `next_term` is the price of
/// the next full period after the change, before tax: the recurring fee plus
/// Limitation extras and enabled OnOff options.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UsageQuote {
    pub subscription_id: i64,
    pub currency: abo_core::Currency,
    pub amount_due_now: i64,
    /// Before tax.
    pub amount: i64,
    /// With tax (as the invoice will carry it).
    pub amount_total: i64,
    pub date_period_start_us: Option<i64>,
    pub date_period_end_us: Option<i64>,
    pub lines: Vec<QuoteLine>,
    pub next_term: i64,
}

pub async fn quote_usage(
    store: &Store,
    business_id: i64,
    write: &UsageWrite,
    now_us: i64,
) -> Result<UsageQuote> {
    use abo_core::{Currency, FeaturePricing, price_quantity};
    use abo_store::subscriptions;

    check_write(write, now_us).map_err(|e| ServiceError::Invalid(vec![e]))?;
    // Before taking a connection: the dry run takes its own transaction.
    let dry_run = crate::quoting::quote_usage_changes(
        store,
        business_id,
        std::slice::from_ref(write),
        crate::quoting::UsageQuoteOptions {
            ensure_billable: Some(false),
            next_term: false,
        },
        now_us,
    )
    .await?;
    let mut conn = store.acquire().await?;
    let rows = store_usages::list_started(
        &mut conn,
        business_id,
        &StartedFilter {
            customer_reference: write.customer_reference.as_deref(),
            feature_reference: Some(&write.feature_reference),
            subscription_id: write.subscription_id,
            ..Default::default()
        },
    )
    .await?;
    let rows = one_customer(rows, write.customer_reference.as_deref())?;
    let Some(target) = rows.first() else {
        return Err(none_matching(&mut conn, business_id, write).await);
    };
    let subscription = subscriptions::get(&mut conn, business_id, target.subscription_id).await?;
    let currency = Currency::from_code(&subscription.currency)?;
    let feature = subscription
        .features
        .iter()
        .find(|f| f.terms.feature_id == target.feature.terms.feature_id)
        .ok_or_else(|| ServiceError::Internal("quoted feature vanished".into()))?;
    let kind: FeatureType = feature
        .type_feature
        .parse()
        .map_err(|_| ServiceError::Internal("stored feature type".into()))?;
    let pricing = crate::catalog::mapping::pricing_from_store(&feature.terms)?;
    let included = u64::try_from(feature.terms.quantity_included.unwrap_or(0)).unwrap_or(0);
    let old = feature.quantity_current.unwrap_or(0);
    let new = match write.change {
        UsageChange::Increment(d) => old.saturating_add(d),
        UsageChange::Quantity(q) => q,
        UsageChange::Enabled(_) => old,
    };
    if new < 0 {
        return Err(ServiceError::invalid(format!(
            "the change would take QuantityCurrent of feature '{}' below zero",
            write.feature_reference
        )));
    }
    let (old_u, new_u) = (
        u64::try_from(old).unwrap_or(0),
        u64::try_from(new).unwrap_or(0),
    );
    let unlimited = kind.has_quantity() && feature.terms.quantity_included.is_none();

    // Charged now: what the real write bills, by a dry run of it (the
    // quoting service), so that this quote and `/v1/Quoting/Usage` agree
    // with the balance line the write then makes.
    let (due_now, amount, amount_total, label) = if !dry_run.lines.is_empty() {
        (
            dry_run.amount_total_due,
            dry_run.amount_subtotal,
            dry_run.amount_total,
            "Feature - prorated adjustment",
        )
    } else {
        match (kind, write.change) {
            (FeatureType::OnOff, UsageChange::Enabled(_)) => (0, 0, 0, "Feature - option"),
            (FeatureType::OnOff, _) | (_, UsageChange::Enabled(_)) => {
                return Err(ServiceError::invalid(format!(
                    "this change does not fit feature '{}' ({kind})",
                    write.feature_reference
                )));
            }
            (_, _) if unlimited => (0, 0, 0, "Feature - unlimited"),
            (FeatureType::Limitation, _) => (0, 0, 0, "Feature - prorated adjustment"),
            (FeatureType::Consumption, _) => {
                let extra = price_quantity(&pricing, included, new_u)?
                    - price_quantity(&pricing, included, old_u)?;
                (0, extra, extra, "Feature - consumption billed at renewal")
            }
        }
    };

    // Next full period: the recurring fee, Limitation extras at their
    // (new) quantities and enabled priced OnOff options.
    let mut next_term = subscription.amount_recurrence;
    for f in &subscription.features {
        let p = crate::catalog::mapping::pricing_from_store(&f.terms)?;
        let is_target = f.terms.feature_id == feature.terms.feature_id;
        let add = match (f.type_feature.as_str(), &p) {
            ("Limitation", _) if f.terms.quantity_included.is_some() => {
                let q = if is_target {
                    new
                } else {
                    f.quantity_current.unwrap_or(0)
                };
                price_quantity(
                    &p,
                    u64::try_from(f.terms.quantity_included.unwrap_or(0)).unwrap_or(0),
                    u64::try_from(q).unwrap_or(0),
                )?
            }
            ("OnOff", FeaturePricing::OnOff { amount }) if !f.terms.is_included => {
                let on = match (is_target, write.change) {
                    (true, UsageChange::Enabled(on)) => on,
                    _ => f.terms.is_enabled,
                };
                if on { *amount } else { 0 }
            }
            _ => 0,
        };
        next_term = next_term.saturating_add(add);
    }
    let feature_name = features::get(&mut conn, business_id, feature.terms.feature_id)
        .await?
        .name;
    Ok(UsageQuote {
        subscription_id: subscription.id,
        currency,
        amount_due_now: due_now,
        amount,
        amount_total,
        date_period_start_us: subscription.date_period_start_us,
        date_period_end_us: subscription.date_period_end_us,
        lines: vec![QuoteLine {
            subscription_id: subscription.id,
            feature_id: feature.terms.feature_id,
            label: format!("{label} - {feature_name}"),
            amount_due_now: due_now,
            amount,
            amount_total,
            quantity_reported: kind.has_quantity().then_some(new),
            quantity_billed: kind.has_quantity().then(|| {
                new.saturating_sub(i64::try_from(included).unwrap_or(0))
                    .max(0)
            }),
            date_period_start_us: subscription.date_period_start_us,
            date_period_end_us: subscription.date_period_end_us,
        }],
        next_term,
    })
}
