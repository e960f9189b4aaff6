//! `NextTerm`: the renewal after the change, quoted by running it.

use abo_core::SubscriptionState;
use abo_store::customers::{self, PaymentSettingsPatch};
use abo_store::{AnyConnection, subscriptions};

use super::assemble::{Quote, due_ids, quote_of, written_since};
use crate::error::Result;
use crate::renewal::renew_in;
use crate::subscriptions::schedule::is_billable;

/// The quote of the next renewal of subscription `id`, run at its term in
/// the caller's (dry-run) transaction. `None` when it has no term to renew
/// at (not started, ended). The buyer is taken as able to pay by then: a
/// renewal without a payment method suspends instead of charging.
pub(crate) async fn next_term(
    conn: &mut AnyConnection,
    business_id: i64,
    id: i64,
) -> Result<Option<Quote>> {
    let sub = subscriptions::get(conn, business_id, id).await?;
    let active = sub
        .state
        .parse::<SubscriptionState>()
        .is_ok_and(|s| s.is_active());
    let (true, Some(end)) = (active, sub.date_period_end_us) else {
        return Ok(None);
    };
    let term_us = sub.date_term_us.map_or(end, |t| t.min(end));
    let buyer_id = sub.customer_buyer_id;
    let buyer = customers::get(conn, business_id, buyer_id).await?;
    if !is_billable(&buyer) {
        let patch = PaymentSettingsPatch {
            type_payment: Some("ExternalOther".into()),
            ..Default::default()
        };
        customers::update_payment_settings(conn, business_id, buyer_id, &patch, term_us).await?;
    }
    let before = due_ids(conn, business_id, &[buyer_id]).await?;
    let outcome = renew_in(conn, business_id, id, term_us).await?;
    let lines = written_since(conn, business_id, buyer_id, &before).await?;
    let mut quote = quote_of(conn, business_id, buyer_id, Some(id), &lines).await?;
    // Lines of a subscription the renewal started (a change at term) belong
    // to a subscription the rollback removes: they carry no id.
    if let Some(started) = outcome.and_then(|o| o.started_id) {
        forget_subscription(&mut quote, started);
    }
    Ok(Some(quote))
}

/// Removes `id` (a subscription that exists only in the dry run) from the
/// quote and its lines.
pub(crate) fn forget_subscription(quote: &mut Quote, id: i64) {
    if quote.subscription_id == Some(id) {
        quote.subscription_id = None;
    }
    for line in &mut quote.lines {
        if line.subscription_id == Some(id) {
            line.subscription_id = None;
        }
    }
}
