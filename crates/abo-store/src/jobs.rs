//! The job queue, also used as the transactional outbox: enqueue in the same transaction as
//! the change that causes the job; workers claim jobs with a lease.
//!
//! Claiming: Postgres uses `FOR UPDATE SKIP LOCKED` so workers on many nodes never get the same
//! job; SQLite runs the same `UPDATE ... RETURNING` inside `BEGIN IMMEDIATE` (one writer at a
//! time). A job whose lease expired (worker died) is claimable again. A job is dead once
//! `attempts >= max_attempts` without `done_at_us`.

use sqlx::AnyConnection;

use crate::error::Result;
use crate::row::RowExt;
use crate::{Backend, Store};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Job {
    pub id: i64,
    pub business_id: Option<i64>,
    pub kind: String,
    /// JSON text.
    pub payload: String,
    pub run_at_us: i64,
    /// Claims so far (including the current one).
    pub attempts: i64,
    pub max_attempts: i64,
    pub locked_by: Option<String>,
    pub locked_until_us: Option<i64>,
    pub last_error: Option<String>,
    pub done_at_us: Option<i64>,
    pub natural_key: Option<String>,
    pub created_at_us: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub business_id: Option<i64>,
    pub kind: String,
    pub payload: String,
    pub run_at_us: i64,
    pub max_attempts: i64,
    /// Globally unique; enqueueing the same key twice is a no-op (exactly-once effects).
    pub natural_key: Option<String>,
}

fn from_row(r: &impl RowExt) -> sqlx::Result<Job> {
    Ok(Job {
        id: r.i("id")?,
        business_id: r.oi("business_id")?,
        kind: r.s("kind")?,
        payload: r.s("payload")?,
        run_at_us: r.i("run_at_us")?,
        attempts: r.i("attempts")?,
        max_attempts: r.i("max_attempts")?,
        locked_by: r.os("locked_by")?,
        locked_until_us: r.oi("locked_until_us")?,
        last_error: r.os("last_error")?,
        done_at_us: r.oi("done_at_us")?,
        natural_key: r.os("natural_key")?,
        created_at_us: r.i("created_at_us")?,
    })
}

/// Enqueue a job. Returns `Some(id)` if inserted, `None` if a job with the same natural key
/// already exists (nothing written).
pub async fn enqueue(conn: &mut AnyConnection, new: &NewJob, now_us: i64) -> Result<Option<i64>> {
    let row = sqlx::query(
        "INSERT INTO jobs (business_id, kind, payload, run_at_us, max_attempts, natural_key, \
         created_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(new.business_id)
    .bind(&new.kind)
    .bind(&new.payload)
    .bind(new.run_at_us)
    .bind(new.max_attempts.max(1))
    .bind(new.natural_key.as_deref())
    .bind(now_us)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.i("id")).transpose()?)
}

// The CTE is evaluated once (a locking CTE is always materialised), so LIMIT is honoured and
// rows locked by another claimer are skipped rather than waited for.
const CLAIM_POSTGRES: &str = "WITH picked AS (SELECT id FROM jobs WHERE done_at_us IS NULL \
     AND run_at_us <= $2 AND (locked_until_us IS NULL OR locked_until_us <= $2) \
     AND attempts < max_attempts ORDER BY run_at_us, id LIMIT $4 FOR UPDATE SKIP LOCKED) \
     UPDATE jobs SET locked_by = $1, locked_until_us = $2 + $3, attempts = jobs.attempts + 1 \
     FROM picked WHERE jobs.id = picked.id RETURNING jobs.*";

const CLAIM_SQLITE: &str = "UPDATE jobs SET locked_by = $1, locked_until_us = $2 + $3, \
     attempts = attempts + 1 WHERE id IN (SELECT id FROM jobs WHERE done_at_us IS NULL \
     AND run_at_us <= $2 AND (locked_until_us IS NULL OR locked_until_us <= $2) \
     AND attempts < max_attempts ORDER BY run_at_us, id LIMIT $4) \
     RETURNING *";

/// Claim up to `limit` due jobs for `worker_id`, leased until `now_us + lease_us`.
/// Runs in its own short transaction.
pub async fn claim(
    store: &Store,
    worker_id: &str,
    now_us: i64,
    lease_us: i64,
    limit: i64,
) -> Result<Vec<Job>> {
    let sql = match store.backend() {
        Backend::Postgres => CLAIM_POSTGRES,
        Backend::Sqlite => CLAIM_SQLITE,
    };
    let mut tx = store.begin().await?;
    let rows = sqlx::query(sql)
        .bind(worker_id)
        .bind(now_us)
        .bind(lease_us)
        .bind(limit.clamp(1, 1000))
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    let mut jobs = rows
        .iter()
        .map(from_row)
        .collect::<sqlx::Result<Vec<_>>>()?;
    jobs.sort_by_key(|j| (j.run_at_us, j.id));
    Ok(jobs)
}

/// Mark a claimed job done. Returns false if `worker_id` no longer holds it (lease lost).
pub async fn complete(
    conn: &mut AnyConnection,
    id: i64,
    worker_id: &str,
    now_us: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE jobs SET done_at_us = $1, locked_by = NULL, locked_until_us = NULL \
         WHERE id = $2 AND locked_by = $3 AND done_at_us IS NULL",
    )
    .bind(now_us)
    .bind(id)
    .bind(worker_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Record a failure and release the job. With `retry_at_us = Some(t)` it runs again at `t`
/// (if attempts remain); with `None` it is dead now. Returns false if the lease was lost.
pub async fn fail(
    conn: &mut AnyConnection,
    id: i64,
    worker_id: &str,
    error: &str,
    retry_at_us: Option<i64>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE jobs SET locked_by = NULL, locked_until_us = NULL, last_error = $1, \
         run_at_us = COALESCE($2, run_at_us), \
         max_attempts = CASE WHEN $3 THEN max_attempts ELSE attempts END \
         WHERE id = $4 AND locked_by = $5 AND done_at_us IS NULL",
    )
    .bind(error)
    .bind(retry_at_us)
    .bind(retry_at_us.is_some())
    .bind(id)
    .bind(worker_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get(conn: &mut AnyConnection, id: i64) -> Result<Job> {
    let row = sqlx::query("SELECT * FROM jobs WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(crate::StoreError::NotFound("job"))?;
    Ok(from_row(&row)?)
}

pub async fn find_by_natural_key(
    conn: &mut AnyConnection,
    natural_key: &str,
) -> Result<Option<Job>> {
    let row = sqlx::query("SELECT * FROM jobs WHERE natural_key = $1")
        .bind(natural_key)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

/// Dead jobs (attempts exhausted, never completed), newest first, for the back office.
pub async fn list_dead(conn: &mut AnyConnection, limit: i64) -> Result<Vec<Job>> {
    let rows = sqlx::query(
        "SELECT * FROM jobs WHERE done_at_us IS NULL AND attempts >= max_attempts \
         AND locked_by IS NULL ORDER BY id DESC LIMIT $1",
    )
    .bind(limit.clamp(1, 1000))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(from_row).collect::<sqlx::Result<_>>()?)
}

/// The live jobs (not done, attempts left, leased or not) of `kind` in `business_id`.
pub async fn live_of_kind(
    conn: &mut AnyConnection,
    business_id: i64,
    kind: &str,
) -> Result<Vec<Job>> {
    let rows = sqlx::query(
        "SELECT * FROM jobs WHERE business_id = $1 AND kind = $2 AND done_at_us IS NULL \
         AND attempts < max_attempts",
    )
    .bind(business_id)
    .bind(kind)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(from_row).collect::<sqlx::Result<_>>()?)
}

/// Delete jobs completed before `before_us`. Returns how many were deleted.
pub async fn purge_done(conn: &mut AnyConnection, before_us: i64) -> Result<u64> {
    let done = sqlx::query("DELETE FROM jobs WHERE done_at_us IS NOT NULL AND done_at_us < $1")
        .bind(before_us)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

// Added for the billing engine (`abo-engine`): claims restricted to the kinds a worker handles
// and to one business (whose "now" may be its test clock), and the earliest due instant.

fn kinds_in(first_param: usize, kinds: &[&str]) -> String {
    let params: Vec<String> = (0..kinds.len())
        .map(|i| format!("${}", first_param + i))
        .collect();
    format!("kind IN ({})", params.join(", "))
}

/// Like [`claim`], but only jobs of `business_id` (when given) whose kind is one of `kinds`.
pub async fn claim_kinds(
    store: &Store,
    worker_id: &str,
    now_us: i64,
    lease_us: i64,
    limit: i64,
    business_id: Option<i64>,
    kinds: &[&str],
) -> Result<Vec<Job>> {
    let claim = KindsClaim {
        worker_id,
        due_us: now_us,
        lease_now_us: now_us,
        lease_us,
        limit,
        business_id,
        kinds,
    };
    claim_kinds_leased(store, &claim).await
}

/// A claim of due jobs by kind, whose lease is measured on the node's own clock.
#[derive(Debug, Clone, Copy)]
pub struct KindsClaim<'a> {
    pub worker_id: &'a str,
    /// Jobs due at or before this instant (a business's "now", maybe its test clock).
    pub due_us: i64,
    /// The node's clock: leases are taken and expire on it, so that a job leased by a node
    /// that died is claimable again even when the business's test clock stands still.
    pub lease_now_us: i64,
    pub lease_us: i64,
    pub limit: i64,
    pub business_id: Option<i64>,
    pub kinds: &'a [&'a str],
}

/// [`claim_kinds`] with separate clocks for what is due and for leases.
pub async fn claim_kinds_leased(store: &Store, claim: &KindsClaim<'_>) -> Result<Vec<Job>> {
    if claim.kinds.is_empty() {
        return Ok(Vec::new());
    }
    let limit = claim.limit.clamp(1, 1000);
    let locked_until_us = claim.lease_now_us + claim.lease_us;
    let filter = |first: usize| {
        format!(
            "done_at_us IS NULL AND run_at_us <= ${} AND (locked_until_us IS NULL OR \
             locked_until_us <= ${}) AND attempts < max_attempts AND (${} IS NULL OR \
             business_id = ${}) AND {}",
            first,
            first + 1,
            first + 2,
            first + 2,
            kinds_in(first + 3, claim.kinds)
        )
    };
    let mut tx = store.begin().await?;
    let mut jobs = match store.backend() {
        Backend::Postgres => {
            let sql = format!(
                "WITH picked AS (SELECT id FROM jobs WHERE {} ORDER BY run_at_us, id LIMIT $3 \
                 FOR UPDATE SKIP LOCKED) UPDATE jobs SET locked_by = $1, locked_until_us = $2, \
                 attempts = jobs.attempts + 1 FROM picked WHERE jobs.id = picked.id \
                 RETURNING jobs.*",
                filter(4)
            );
            // Only placeholders are interpolated; kinds are bound.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(claim.worker_id)
                .bind(locked_until_us)
                .bind(limit)
                .bind(claim.due_us)
                .bind(claim.lease_now_us)
                .bind(claim.business_id);
            for kind in claim.kinds {
                query = query.bind(*kind);
            }
            let rows = query.fetch_all(&mut *tx).await?;
            rows.iter()
                .map(from_row)
                .collect::<sqlx::Result<Vec<_>>>()?
        }
        // One writer at a time (`BEGIN IMMEDIATE`): the jobs read are the jobs then leased,
        // read packed in one row rather than handed over one by one (`many::fetch`).
        Backend::Sqlite => {
            let sql = format!(
                "SELECT * FROM jobs WHERE {} ORDER BY run_at_us, id LIMIT $1",
                filter(2)
            );
            let rows = crate::many::fetch(&mut tx, "jobs.claim_kinds_leased", sql, |mut q| {
                q = q
                    .bind(limit)
                    .bind(claim.due_us)
                    .bind(claim.lease_now_us)
                    .bind(claim.business_id);
                for kind in claim.kinds {
                    q = q.bind(*kind);
                }
                q
            })
            .await?;
            let mut jobs = rows
                .iter()
                .map(from_row)
                .collect::<sqlx::Result<Vec<_>>>()?;
            let ids: Vec<i64> = jobs.iter().map(|j| j.id).collect();
            lease(&mut tx, &ids, claim.worker_id, locked_until_us).await?;
            for job in &mut jobs {
                job.locked_by = Some(claim.worker_id.to_owned());
                job.locked_until_us = Some(locked_until_us);
                job.attempts += 1;
            }
            jobs
        }
    };
    tx.commit().await?;
    jobs.sort_by_key(|j| (j.run_at_us, j.id));
    Ok(jobs)
}

/// Leases the jobs `ids` to `worker_id` until `locked_until_us`, counting the claim.
async fn lease(
    conn: &mut AnyConnection,
    ids: &[i64],
    worker_id: &str,
    locked_until_us: i64,
) -> Result<()> {
    for chunk in ids.chunks(crate::many::CHUNK) {
        let mut p = crate::many::Placeholders::of(conn);
        let sql = format!(
            "UPDATE jobs SET locked_by = {}, locked_until_us = {}, attempts = attempts + 1 \
             WHERE id IN ({})",
            p.one(),
            p.one(),
            p.list(chunk.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(worker_id)
            .bind(locked_until_us);
        for id in chunk {
            query = query.bind(*id);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The earliest `run_at_us` of the live (not done, attempts left) jobs of `business_id` whose
/// kind is one of `kinds`, or `None`.
pub async fn next_run_at(
    conn: &mut AnyConnection,
    business_id: i64,
    kinds: &[&str],
) -> Result<Option<i64>> {
    if kinds.is_empty() {
        return Ok(None);
    }
    let sql = format!(
        "SELECT MIN(run_at_us) AS t FROM jobs WHERE done_at_us IS NULL \
         AND attempts < max_attempts AND business_id = $1 AND {}",
        kinds_in(2, kinds)
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(business_id);
    for kind in kinds {
        query = query.bind(*kind);
    }
    let row = query.fetch_one(&mut *conn).await?;
    Ok(row.oi("t")?)
}

/// Retire the not-yet-done jobs of `kind` whose natural key starts with `key_prefix` (e.g. the
/// pending collection attempts of a cancelled invoice): they are marked done with `last_error`
/// saying why, so no worker runs them. Returns how many were retired. A job a worker holds right
/// now still finishes; its handler must re-check the state it acts on.
pub async fn retire_pending(
    conn: &mut AnyConnection,
    kind: &str,
    key_prefix: &str,
    why: &str,
    now_us: i64,
) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE jobs SET done_at_us = $1, last_error = $2 WHERE kind = $3 \
         AND done_at_us IS NULL AND natural_key LIKE $4 ESCAPE '\\'",
    )
    .bind(now_us)
    .bind(why)
    .bind(kind)
    .bind(format!(
        "{}%",
        key_prefix.replace('%', "\\%").replace('_', "\\_")
    ))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

// Added for the engine's batches (`abo-engine`): many jobs written or completed in one statement,
// inside the transaction of the batch that caused (or carried out) them.

/// [`enqueue`] for many jobs, with multi-row inserts. Returns how many were inserted (jobs
/// whose natural key already exists are skipped, as with [`enqueue`]).
pub async fn enqueue_many(conn: &mut AnyConnection, new: &[NewJob], now_us: i64) -> Result<u64> {
    insert_many(conn, new, now_us, Written::Pending).await
}

/// A claim on jobs being written: the worker holding them, until when (as by a claim).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease<'a> {
    pub worker_id: &'a str,
    pub locked_until_us: i64,
}

/// Enqueues many jobs already claimed under `lease` (their first attempt), for a worker that
/// carries them out right after its transaction commits: no claim to make, and if the worker
/// dies, they come back when the lease ends, like any claimed job. Returns how many were
/// inserted (known natural keys are skipped, as with [`enqueue`]).
pub async fn enqueue_many_leased(
    conn: &mut AnyConnection,
    new: &[NewJob],
    lease: Lease<'_>,
    now_us: i64,
) -> Result<u64> {
    insert_many(conn, new, now_us, Written::Leased(lease)).await
}

/// Records many outbox rows that have nothing left to do (e.g. an event no webhook endpoint
/// listens to): written as done at `now_us`, so that the outbox keeps them and no worker claims
/// them. Returns how many were inserted (known natural keys are skipped, as with [`enqueue`]).
pub async fn record_done_many(
    conn: &mut AnyConnection,
    new: &[NewJob],
    now_us: i64,
) -> Result<u64> {
    insert_many(conn, new, now_us, Written::Done).await
}

/// How [`insert_many`] writes its jobs.
#[derive(Clone, Copy)]
enum Written<'a> {
    Pending,
    Leased(Lease<'a>),
    Done,
}

async fn insert_many(
    conn: &mut AnyConnection,
    new: &[NewJob],
    now_us: i64,
    written: Written<'_>,
) -> Result<u64> {
    let (done_at_us, locked_by, locked_until_us, attempts) = match written {
        Written::Pending => (None, None, None, 0),
        Written::Leased(lease) => (None, Some(lease.worker_id), Some(lease.locked_until_us), 1),
        Written::Done => (Some(now_us), None, None, 0),
    };
    let mut inserted = 0;
    for chunk in new.chunks(crate::many::CHUNK) {
        let mut p = crate::many::Placeholders::of(conn);
        let sql = format!(
            "INSERT INTO jobs (business_id, kind, payload, run_at_us, max_attempts, natural_key, \
             created_at_us, done_at_us, locked_by, locked_until_us, attempts) VALUES {} \
             ON CONFLICT DO NOTHING",
            p.tuples(chunk.len(), 11)
        );
        // Only placeholders are interpolated; every value is bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for job in chunk {
            query = query
                .bind(job.business_id)
                .bind(&job.kind)
                .bind(&job.payload)
                .bind(job.run_at_us)
                .bind(job.max_attempts.max(1))
                .bind(job.natural_key.as_deref())
                .bind(now_us)
                .bind(done_at_us)
                .bind(locked_by)
                .bind(locked_until_us)
                .bind(attempts);
        }
        inserted += query.execute(&mut *conn).await?.rows_affected();
    }
    Ok(inserted)
}

/// [`complete`] for many jobs held by `worker_id`. Returns how many were completed (a job whose
/// lease was lost is left alone).
pub async fn complete_many(
    conn: &mut AnyConnection,
    ids: &[i64],
    worker_id: &str,
    now_us: i64,
) -> Result<u64> {
    update_held(conn, Held::Ids(ids), worker_id, Some(now_us)).await
}

/// [`complete_many`] for jobs named by their natural keys (jobs enqueued leased, whose ids the
/// worker does not read back: [`enqueue_many_leased`]).
pub async fn complete_keys(
    conn: &mut AnyConnection,
    keys: &[String],
    worker_id: &str,
    now_us: i64,
) -> Result<u64> {
    update_held(conn, Held::Keys(keys), worker_id, Some(now_us)).await
}

/// Gives back the leases of `worker_id` on the jobs named `keys`, so that any worker may claim
/// them at once (a job its worker could not carry out, not to wait for its lease to end).
pub async fn release_keys(
    conn: &mut AnyConnection,
    keys: &[String],
    worker_id: &str,
) -> Result<u64> {
    update_held(conn, Held::Keys(keys), worker_id, None).await
}

/// Jobs named by id or by natural key.
#[derive(Clone, Copy)]
enum Held<'a> {
    Ids(&'a [i64]),
    Keys(&'a [String]),
}

/// Ends the lease of `worker_id` on the undone jobs `held`: completed at `done_at_us`, or given
/// back (`None`). Returns how many jobs it held.
async fn update_held(
    conn: &mut AnyConnection,
    held: Held<'_>,
    worker_id: &str,
    done_at_us: Option<i64>,
) -> Result<u64> {
    let (column, len) = match held {
        Held::Ids(ids) => ("id", ids.len()),
        Held::Keys(keys) => ("natural_key", keys.len()),
    };
    let mut updated = 0;
    for start in (0..len).step_by(crate::many::CHUNK) {
        let end = (start + crate::many::CHUNK).min(len);
        let mut p = crate::many::Placeholders::of(conn);
        // `done_at_us + 0`, not `done_at_us`: the same test, which the planner cannot match to
        // the partial index of undone jobs. Postgres otherwise scans that index whenever its
        // statistics predate the queue's growth (every row still undone, then filtered: 100 ms a
        // batch at 100,000 renewals), instead of looking each job up by its key or id.
        let sql = format!(
            "UPDATE jobs SET done_at_us = {}, locked_by = NULL, locked_until_us = NULL \
             WHERE locked_by = {} AND done_at_us + 0 IS NULL AND {column} IN ({})",
            p.one(),
            p.one(),
            p.list(end - start)
        );
        // Only placeholders and a constant column name are interpolated; every value is bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(done_at_us)
            .bind(worker_id);
        query = match held {
            Held::Ids(ids) => ids[start..end].iter().fold(query, |q, id| q.bind(*id)),
            Held::Keys(keys) => keys[start..end]
                .iter()
                .fold(query, |q, key| q.bind(key.as_str())),
        };
        updated += query.execute(&mut *conn).await?.rows_affected();
    }
    Ok(updated)
}
