//! The scans that turn "something falls due" into jobs. Each job's natural
//! key names what it acts on and the state it expects, so any number of
//! nodes scanning at once enqueue it once.

use abo_store::{Store, StoreError, engine_scan, jobs, subscriptions};

use crate::{KIND_RENEW, KIND_START_DELAYED, Result};

/// Enqueues a `Renew` job per subscription whose term is reached.
pub(crate) async fn renewals(
    store: &Store,
    business_id: i64,
    now_us: i64,
    batch: i64,
) -> Result<u64> {
    let mut tx = store.begin().await?;
    let due = subscriptions::due_for_renewal_in(&mut tx, business_id, now_us, batch).await?;
    let new: Vec<jobs::NewJob> = due
        .into_iter()
        .map(|(id, period_index, state)| {
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
        })
        .collect();
    // One multi-row insert: a key already enqueued (by another node) is skipped.
    let enqueued = jobs::enqueue_many(&mut tx, &new, now_us).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(enqueued)
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
