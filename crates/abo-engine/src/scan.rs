//! The scans that find what falls due. The batched engine renews due
//! subscriptions directly ([`renew_due`]); the one-by-one engine, and a
//! renewal batch that failed, turn them into `Renew` jobs ([`renewals`]).
//! Each job's natural key names what it acts on and the state it expects,
//! so any number of nodes scanning at once enqueue it once.

use abo_service::batch::renew::{DueRenewal, Renewed, renew_many};
use abo_store::{Store, StoreError, engine_scan, jobs, subscriptions};

use crate::batch::Payload;
use crate::{KIND_BILL_CUSTOMER, KIND_RENEW, KIND_START_DELAYED, Result};

/// Renews up to `batch` subscriptions whose term is reached, in one
/// transaction, set-wise (`abo_service::batch::renew`, which also bills
/// their buyers): the batches' way, without a `Renew` job per subscription
/// to write, claim and complete. The transaction is the claim: each
/// subscription is taken at the period and state it was found due in, and
/// on Postgres the rows found stay locked and other nodes' scans pass over
/// them. A crash rolls it all back; the next scan finds the same renewals.
///
/// The card payments of the invoices issued are started in the same
/// transaction, their jobs leased to the caller (`lease`), which charges
/// them once it commits ([`Renewed::collections`]).
///
/// An error rolls the batch back and is returned: the caller then enqueues
/// `Renew` jobs ([`renewals`]), which go one by one, each with its retries.
pub(crate) async fn renew_due(
    store: &Store,
    business_id: i64,
    now_us: i64,
    batch: i64,
    lease: jobs::Lease<'_>,
) -> std::result::Result<Renewed, String> {
    let store_err = |e: StoreError| e.to_string();
    let mut tx = store.begin().await.map_err(store_err)?;
    // A buyer whose billing is due and not done yet (a job not run yet, or
    // held by a node that died until its lease ends) is renewed after it: a
    // term is billed on its own invoice before the next term is renewed.
    let billing: Vec<i64> = jobs::live_of_kind(&mut tx, business_id, KIND_BILL_CUSTOMER)
        .await
        .map_err(store_err)?
        .iter()
        .filter(|job| job.run_at_us <= now_us)
        // `BillNow` jobs name the customer `IdCustomer`.
        .filter_map(|job| {
            Payload::parse(job)
                .and_then(|p| p.int(&["customer_id", "IdCustomer"]))
                .ok()
        })
        .collect();
    let due: Vec<DueRenewal> =
        subscriptions::due_for_renewal_in(&mut tx, business_id, now_us, batch, &billing)
            .await
            .map_err(store_err)?
            .into_iter()
            .map(|(subscription_id, period_index, state)| DueRenewal {
                subscription_id,
                period_index,
                state,
            })
            .collect();
    if due.is_empty() {
        return Ok(Renewed::default());
    }
    let renewed = renew_many(&mut tx, business_id, &due, now_us, Some(lease))
        .await
        .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| store_err(e.into()))?;
    Ok(renewed)
}

/// Enqueues a `Renew` job per subscription whose term is reached.
pub(crate) async fn renewals(
    store: &Store,
    business_id: i64,
    now_us: i64,
    batch: i64,
) -> Result<u64> {
    let mut tx = store.begin().await?;
    let due = subscriptions::due_for_renewal_in(&mut tx, business_id, now_us, batch, &[]).await?;
    let new: Vec<jobs::NewJob> = due
        .into_iter()
        .map(|(id, period_index, state)| renew_job(business_id, id, period_index, &state, now_us))
        .collect();
    // One multi-row insert: a key already enqueued (by another node) is skipped.
    let enqueued = jobs::enqueue_many(&mut tx, &new, now_us).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(enqueued)
}

/// The `Renew` job of a subscription due at `period_index` in `state`.
fn renew_job(
    business_id: i64,
    id: i64,
    period_index: i64,
    state: &str,
    now_us: i64,
) -> jobs::NewJob {
    let payload = serde_json::json!({
        "business_id": business_id,
        "subscription_id": id,
        "period_index": period_index,
        "state": state,
    });
    jobs::NewJob {
        business_id: Some(business_id),
        kind: KIND_RENEW.into(),
        payload: payload.to_string(),
        run_at_us: now_us,
        max_attempts: 10,
        natural_key: Some(format!("renew:{id}:{period_index}:{state}")),
    }
}

/// Enqueues a `StartDelayed` job per `DraftDelayedStart` subscription whose
/// start date is reached (once per subscription: a draft starts once).
pub(crate) async fn delayed_starts(
    store: &Store,
    business_id: i64,
    now_us: i64,
    batch: i64,
) -> Result<u64> {
    let mut tx = store.begin().await?;
    let due = engine_scan::due_delayed_starts(&mut tx, business_id, now_us, batch).await?;
    let mut enqueued = 0;
    for id in due {
        let new = jobs::NewJob {
            business_id: Some(business_id),
            kind: KIND_START_DELAYED.into(),
            payload: serde_json::json!({"business_id": business_id, "subscription_id": id})
                .to_string(),
            run_at_us: now_us,
            max_attempts: 10,
            natural_key: Some(format!("start-delayed:{id}")),
        };
        if jobs::enqueue(&mut tx, &new, now_us).await?.is_some() {
            enqueued += 1;
        }
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(enqueued)
}
