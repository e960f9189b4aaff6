//! Quotes of subscribing, starting or restarting, and changing the offer:
//! the real use cases run in a transaction that is rolled back.

use abo_store::{Store, customers, subscriptions as store_subs};

use super::assemble::{Quote, due_ids, quote_of, written_since};
use super::next_term::{forget_subscription, next_term};
use crate::error::{Result, ServiceError};
use crate::subscriptions::schedule::is_billable;
use crate::subscriptions::{
    CreateFlags, CreateSubscription, PAYMENT_SETTINGS_MISSING, StartOptions, UpgradeOptions,
    create_in, start_in, upgrade_in,
};

/// `POST /v1/Quoting/Subscription`: the subscription the request would
/// create (with its overrides), started now.
#[derive(Debug, Clone, Default)]
pub struct QuoteSubscriptionRequest {
    pub subscription: CreateSubscription,
    /// Refuse (403) when the buyer has no payment method.
    pub ensure_billable: bool,
}

/// The quote of subscribing: what starting the subscription now charges
/// (up-front fee, trial or first period), with the renewal after it. A
/// future `DateStart` charges nothing now.
pub async fn quote_subscription(
    store: &Store,
    request: &QuoteSubscriptionRequest,
    now_us: i64,
) -> Result<Quote> {
    let mut create = request.subscription.clone();
    // The draft only: the start below is the merchant's start, which charges
    // whether or not the buyer can pay yet (the quote is the price).
    create.flags = CreateFlags::default();
    let b = create.business_id;
    let mut tx = store.begin().await?;
    let draft = create_in(&mut tx, &create, now_us).await?;
    let buyer = draft.customer_buyer_id;
    refuse_unbillable(&mut tx, b, buyer, request.ensure_billable).await?;
    let before = due_ids(&mut tx, b, &[buyer]).await?;
    let delayed = draft.date_start_us.is_some_and(|d| d > now_us);
    let id = if delayed {
        draft.id
    } else {
        start_in(&mut tx, b, draft.id, StartOptions::default(), now_us)
            .await?
            .id
    };
    let lines = written_since(&mut tx, b, buyer, &before).await?;
    let mut quote = quote_of(&mut tx, b, buyer, Some(id), &lines).await?;
    if !delayed {
        quote.next_term = next_term(&mut tx, b, id).await?.map(Box::new);
    }
    tx.rollback().await?;
    // The subscription existed only in the dry run.
    forget_everywhere(&mut quote, id);
    Ok(quote)
}

/// The quote of `POST …/Start` on a draft, or of restarting a suspended
/// subscription, with the renewal after it.
pub async fn quote_start(
    store: &Store,
    business_id: i64,
    id: i64,
    ensure_billable: bool,
    now_us: i64,
) -> Result<Quote> {
    let mut tx = store.begin().await?;
    let sub = store_subs::get(&mut tx, business_id, id)
        .await
        .map_err(|_| ServiceError::NotFound(format!("subscription {id}")))?;
    let buyer = sub.customer_buyer_id;
    refuse_unbillable(&mut tx, business_id, buyer, ensure_billable).await?;
    let before = due_ids(&mut tx, business_id, &[buyer]).await?;
    let options = StartOptions {
        ensure_billable: false,
        bill_now: false,
    };
    start_in(&mut tx, business_id, id, options, now_us).await?;
    let lines = written_since(&mut tx, business_id, buyer, &before).await?;
    let mut quote = quote_of(&mut tx, business_id, buyer, Some(id), &lines).await?;
    quote.next_term = next_term(&mut tx, business_id, id).await?.map(Box::new);
    tx.rollback().await?;
    Ok(quote)
}

/// The quote of `POST …/Upgrade`: the prorated credit of the old offer and
/// charge of the new one (or nothing now when the change is at term), with
/// the renewal after it. `IdSubscription` is the subscription changed; the
/// lines of the new one carry no id (it does not exist yet).
pub async fn quote_upgrade(
    store: &Store,
    business_id: i64,
    id: i64,
    options: &UpgradeOptions,
    now_us: i64,
) -> Result<Quote> {
    let mut tx = store.begin().await?;
    let old = store_subs::get(&mut tx, business_id, id)
        .await
        .map_err(|_| ServiceError::NotFound(format!("subscription {id}")))?;
    let buyer = old.customer_buyer_id;
    let before = due_ids(&mut tx, business_id, &[buyer]).await?;
    let options = UpgradeOptions {
        bill_now: false,
        ..options.clone()
    };
    let new = upgrade_in(&mut tx, business_id, id, &options, now_us).await?;
    let lines = written_since(&mut tx, business_id, buyer, &before).await?;
    let mut quote = quote_of(&mut tx, business_id, buyer, Some(id), &lines).await?;
    // Immediate: the new subscription renews next; at term: the old one
    // renews into the new one.
    let renewing = if options.immediate { new.id } else { id };
    quote.next_term = next_term(&mut tx, business_id, renewing)
        .await?
        .map(Box::new);
    tx.rollback().await?;
    forget_everywhere(&mut quote, new.id);
    Ok(quote)
}

fn forget_everywhere(quote: &mut Quote, id: i64) {
    forget_subscription(quote, id);
    if let Some(next) = quote.next_term.as_mut() {
        forget_subscription(next, id);
    }
}

/// `EnsureBillable`: 403 when the buyer has no payment method.
pub(crate) async fn refuse_unbillable(
    conn: &mut abo_store::AnyConnection,
    business_id: i64,
    buyer_id: i64,
    ensure_billable: bool,
) -> Result<()> {
    if !ensure_billable {
        return Ok(());
    }
    let buyer = customers::get(conn, business_id, buyer_id).await?;
    if is_billable(&buyer) {
        return Ok(());
    }
    Err(ServiceError::refused(
        PAYMENT_SETTINGS_MISSING,
        format!(
            "customer '{}' has no payment method: it cannot be billed",
            buyer.reference
        ),
    ))
}
