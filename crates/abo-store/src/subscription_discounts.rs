//! Discounts attached to a subscription (`SubscriptionRequest.Discounts`), applied by each
//! renewal for the discount's number of periods.

use sqlx::AnyConnection;

use crate::error::Result;
use crate::row::RowExt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionDiscount {
    pub subscription_id: i64,
    pub discount_id: i64,
    /// The first period it applies to.
    pub period_index_from: i64,
}

/// Attaches a discount from period `period_index_from` on (attaching it again changes nothing).
pub async fn attach(
    conn: &mut AnyConnection,
    business_id: i64,
    subscription_id: i64,
    discount_id: i64,
    period_index_from: i64,
    now_us: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO subscription_discounts (business_id, subscription_id, discount_id, \
         period_index_from, created_at_us) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(business_id)
    .bind(subscription_id)
    .bind(discount_id)
    .bind(period_index_from)
    .bind(now_us)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The discounts of a subscription, in the order they were attached.
pub async fn list(
    conn: &mut AnyConnection,
    business_id: i64,
    subscription_id: i64,
) -> Result<Vec<SubscriptionDiscount>> {
    let rows = sqlx::query(
        "SELECT subscription_id, discount_id, period_index_from FROM subscription_discounts \
         WHERE business_id = $1 AND subscription_id = $2 ORDER BY id",
    )
    .bind(business_id)
    .bind(subscription_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| {
            Ok(SubscriptionDiscount {
                subscription_id: r.i("subscription_id")?,
                discount_id: r.i("discount_id")?,
                period_index_from: r.i("period_index_from")?,
            })
        })
        .collect::<sqlx::Result<_>>()?)
}

/// Which of `subscription_ids` have discounts (the engine's batches leave them to the
/// one-by-one renewal).
pub async fn with_discounts(
    conn: &mut AnyConnection,
    business_id: i64,
    subscription_ids: &[i64],
) -> Result<std::collections::HashSet<i64>> {
    let select = "SELECT DISTINCT subscription_id FROM subscription_discounts WHERE";
    let column = "subscription_id";
    let rows = crate::many::select_in(
        conn,
        "subscription_discounts.with_discounts",
        select,
        business_id,
        column,
        subscription_ids,
        "",
    )
    .await?;
    Ok(rows
        .iter()
        .map(|r| r.i("subscription_id"))
        .collect::<sqlx::Result<_>>()?)
}
