//! Usages: `quantity_current` of a subscription's features, changed atomically, plus a log of
//! usage events deduplicated by an idempotency key (unique per business).

use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::error::{OrNotFound, Result};
use crate::row::RowExt;
use crate::subscriptions::{SubscriptionFeature, feature_from_row};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UsageEvent {
    pub id: i64,
    pub business_id: i64,
    pub subscription_id: i64,
    pub feature_id: i64,
    pub increment: Option<i64>,
    pub quantity: Option<i64>,
    pub date_stamp_us: i64,
    pub idempotency_key: Option<String>,
    pub created_at_us: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUsageEvent {
    pub business_id: i64,
    pub subscription_id: i64,
    pub feature_id: i64,
    /// Relative change (Consumption).
    pub increment: Option<i64>,
    /// Absolute quantity (Limitation, OnOff as 0/1).
    pub quantity: Option<i64>,
    pub date_stamp_us: i64,
    pub idempotency_key: Option<String>,
}

/// A subscription feature with the customer it belongs to (for usage listings).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Usage {
    pub subscription_id: i64,
    pub customer_id: i64,
    pub state: String,
    #[serde(flatten)]
    pub feature: SubscriptionFeature,
}

fn event_from_row(r: &AnyRow) -> sqlx::Result<UsageEvent> {
    Ok(UsageEvent {
        id: r.i("id")?,
        business_id: r.i("business_id")?,
        subscription_id: r.i("subscription_id")?,
        feature_id: r.i("feature_id")?,
        increment: r.oi("increment")?,
        quantity: r.oi("quantity")?,
        date_stamp_us: r.i("date_stamp_us")?,
        idempotency_key: r.os("idempotency_key")?,
        created_at_us: r.i("created_at_us")?,
    })
}

/// Add `increment` (may be negative) to the feature's `quantity_current` in one statement, so
/// concurrent increments are never lost. A NULL (unlimited) counter starts from 0. Returns the
/// new quantity; `NotFound` if the subscription has no such feature (or is another business's).
pub async fn apply_increment(
    conn: &mut AnyConnection,
    business_id: i64,
    subscription_id: i64,
    feature_id: i64,
    increment: i64,
) -> Result<i64> {
    let row = sqlx::query(
        "UPDATE subscription_features \
         SET quantity_current = COALESCE(quantity_current, 0) + $1 \
         WHERE business_id = $2 AND subscription_id = $3 AND feature_id = $4 \
         RETURNING quantity_current",
    )
    .bind(increment)
    .bind(business_id)
    .bind(subscription_id)
    .bind(feature_id)
    .fetch_optional(&mut *conn)
    .await?
    .or_not_found("subscription feature")?;
    Ok(row.i("quantity_current")?)
}

/// Set the feature's `quantity_current` (None = unlimited). Returns what was stored.
pub async fn set_quantity(
    conn: &mut AnyConnection,
    business_id: i64,
    subscription_id: i64,
    feature_id: i64,
    quantity: Option<i64>,
) -> Result<Option<i64>> {
    let row = sqlx::query(
        "UPDATE subscription_features SET quantity_current = $1 \
         WHERE business_id = $2 AND subscription_id = $3 AND feature_id = $4 \
         RETURNING quantity_current",
    )
    .bind(quantity)
    .bind(business_id)
    .bind(subscription_id)
    .bind(feature_id)
    .fetch_optional(&mut *conn)
    .await?
    .or_not_found("subscription feature")?;
    Ok(row.oi("quantity_current")?)
}

/// Switch an OnOff feature (or any feature) on or off.
pub async fn set_enabled(
    conn: &mut AnyConnection,
    business_id: i64,
    subscription_id: i64,
    feature_id: i64,
    is_enabled: bool,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE subscription_features SET is_enabled = $1 \
         WHERE business_id = $2 AND subscription_id = $3 AND feature_id = $4",
    )
    .bind(is_enabled)
    .bind(business_id)
    .bind(subscription_id)
    .bind(feature_id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(crate::StoreError::NotFound("subscription feature"));
    }
    Ok(())
}

/// One subscription feature, with tiers left empty (see `subscriptions::features` for tiers).
pub async fn get(
    conn: &mut AnyConnection,
    business_id: i64,
    subscription_id: i64,
    feature_id: i64,
) -> Result<SubscriptionFeature> {
    let row = sqlx::query(
        "SELECT sf.*, f.reference AS feature_reference, f.type_feature AS type_feature \
         FROM subscription_features sf JOIN features f ON f.id = sf.feature_id \
         WHERE sf.business_id = $1 AND sf.subscription_id = $2 AND sf.feature_id = $3",
    )
    .bind(business_id)
    .bind(subscription_id)
    .bind(feature_id)
    .fetch_optional(&mut *conn)
    .await?
    .or_not_found("subscription feature")?;
    Ok(feature_from_row(&row)?)
}

/// Every subscription feature of a customer's subscriptions (tiers left empty), for the
/// `/v1/Usages` listing; the service aggregates across subscriptions.
pub async fn list_for_customer(
    conn: &mut AnyConnection,
    business_id: i64,
    customer_id: i64,
) -> Result<Vec<Usage>> {
    let rows = sqlx::query(
        "SELECT sf.*, f.reference AS feature_reference, f.type_feature AS type_feature, \
         s.customer_id AS customer_id, s.state AS state \
         FROM subscription_features sf \
         JOIN subscriptions s ON s.id = sf.subscription_id \
         JOIN features f ON f.id = sf.feature_id \
         WHERE sf.business_id = $1 AND s.business_id = $1 AND s.customer_id = $2 \
         ORDER BY sf.subscription_id, sf.position, sf.id",
    )
    .bind(business_id)
    .bind(customer_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| {
            Ok(Usage {
                subscription_id: r.i("subscription_id")?,
                customer_id: r.i("customer_id")?,
                state: r.s("state")?,
                feature: feature_from_row(r)?,
            })
        })
        .collect::<sqlx::Result<_>>()?)
}

/// Log a usage event. Returns `Some(event)` when recorded, `None` when an event with the same
/// idempotency key was already recorded for this business (then do not apply it again).
pub async fn record_event(
    conn: &mut AnyConnection,
    new: &NewUsageEvent,
    now_us: i64,
) -> Result<Option<UsageEvent>> {
    let row = sqlx::query(
        "INSERT INTO usage_events (business_id, subscription_id, feature_id, increment, \
         quantity, date_stamp_us, idempotency_key, created_at_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING *",
    )
    .bind(new.business_id)
    .bind(new.subscription_id)
    .bind(new.feature_id)
    .bind(new.increment)
    .bind(new.quantity)
    .bind(new.date_stamp_us)
    .bind(new.idempotency_key.as_deref())
    .bind(now_us)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(event_from_row).transpose()?)
}

/// Events of one subscription feature, oldest first.
pub async fn list_events(
    conn: &mut AnyConnection,
    business_id: i64,
    subscription_id: i64,
    feature_id: i64,
) -> Result<Vec<UsageEvent>> {
    let rows = sqlx::query(
        "SELECT * FROM usage_events WHERE business_id = $1 AND subscription_id = $2 \
         AND feature_id = $3 ORDER BY date_stamp_us, id",
    )
    .bind(business_id)
    .bind(subscription_id)
    .bind(feature_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(event_from_row)
        .collect::<sqlx::Result<_>>()?)
}

// ---------------------------------------------------------------------------------------------
// Added for the usage use cases (abo-service `usages`): the started subscription features that
// a usage read or write can match, with what the API shows next to them, in one query.

/// A subscription feature of a started (`Active*`) subscription, with its customer, segment and
/// period: what a usage read or write needs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StartedUsage {
    pub subscription_id: i64,
    pub customer_id: i64,
    pub customer_reference: String,
    pub segment_id: i64,
    pub segment_reference: String,
    pub segment_is_default: bool,
    pub state: String,
    pub date_start_us: Option<i64>,
    pub date_period_start_us: Option<i64>,
    pub date_period_end_us: Option<i64>,
    #[serde(flatten)]
    pub feature: SubscriptionFeature,
}

/// Which started usages to match; every `None` is "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartedFilter<'a> {
    /// ProAbono's usage endpoints carry no segment: a customer reference is matched in every
    /// segment of the business unless `segment_id` narrows it.
    pub customer_reference: Option<&'a str>,
    pub customer_id: Option<i64>,
    pub segment_id: Option<i64>,
    pub feature_reference: Option<&'a str>,
    pub subscription_id: Option<i64>,
}

/// Started subscription features matching `filter`, ordered by customer, then subscription start
/// (oldest first), subscription id and feature position. Tiers are left empty.
///
/// The SQL is assembled from fixed clauses (never from input) so that each lookup uses its
/// index: `($n IS NULL OR col = $n)` would make SQLite scan.
pub async fn list_started(
    conn: &mut AnyConnection,
    business_id: i64,
    filter: &StartedFilter<'_>,
) -> Result<Vec<StartedUsage>> {
    let mut sql = String::from(
        "SELECT sf.*, f.reference AS feature_reference, f.type_feature AS type_feature, \
         s.customer_id AS customer_id, s.state AS state, s.segment_id AS segment_id, \
         s.date_start_us AS date_start_us, s.date_period_start_us AS date_period_start_us, \
         s.date_period_end_us AS date_period_end_us, c.reference AS customer_reference, \
         g.reference AS segment_reference, g.is_default AS segment_is_default ",
    );
    if filter.customer_reference.is_some() {
        // From the customer: SQLite's planner (no statistics) would otherwise drive the join
        // from `subscriptions (business_id)` and visit every subscription of the business on
        // each usage write. `CROSS JOIN` fixes the order in SQLite (an ordinary join for
        // Postgres) and `+c.business_id` keeps the customer lookup on its
        // `(segment_id, reference)` index rather than scanning the business's customers.
        sql.push_str(
            "FROM customers c CROSS JOIN subscriptions s \
             JOIN segments g ON g.id = s.segment_id \
             JOIN subscription_features sf ON sf.subscription_id = s.id \
             JOIN features f ON f.id = sf.feature_id \
             WHERE s.customer_id = c.id AND s.business_id = $1 AND +c.business_id = $1 \
             AND sf.business_id = $1 AND s.state LIKE 'Active%'",
        );
    } else {
        sql.push_str(
            "FROM subscriptions s \
             JOIN customers c ON c.id = s.customer_id \
             JOIN segments g ON g.id = s.segment_id \
             JOIN subscription_features sf ON sf.subscription_id = s.id \
             JOIN features f ON f.id = sf.feature_id \
             WHERE s.business_id = $1 AND c.business_id = $1 AND sf.business_id = $1 \
             AND s.state LIKE 'Active%'",
        );
    }
    let mut n = 1;
    let mut clause = |sql: &mut String, text: &str| {
        n += 1;
        sql.push_str(&text.replace("$?", &format!("${n}")));
    };
    if filter.customer_reference.is_some() {
        // Through the (segment_id, reference) unique index, one probe per segment.
        clause(
            &mut sql,
            " AND c.reference = $? AND c.segment_id IN \
             (SELECT id FROM segments WHERE business_id = $1)",
        );
    }
    if filter.customer_id.is_some() {
        clause(&mut sql, " AND s.customer_id = $?");
    }
    if filter.segment_id.is_some() {
        clause(&mut sql, " AND s.segment_id = $?");
    }
    if filter.feature_reference.is_some() {
        clause(&mut sql, " AND f.reference = $?");
    }
    if filter.subscription_id.is_some() {
        clause(&mut sql, " AND s.id = $?");
    }
    sql.push_str(
        " ORDER BY s.customer_id, COALESCE(s.date_start_us, s.created_at_us), s.id, \
         sf.position, sf.id",
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(business_id);
    if let Some(v) = filter.customer_reference {
        query = query.bind(v.to_owned());
    }
    if let Some(v) = filter.customer_id {
        query = query.bind(v);
    }
    if let Some(v) = filter.segment_id {
        query = query.bind(v);
    }
    if let Some(v) = filter.feature_reference {
        query = query.bind(v.to_owned());
    }
    if let Some(v) = filter.subscription_id {
        query = query.bind(v);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    started_from_rows(&rows)
}

fn started_from_rows(rows: &[AnyRow]) -> Result<Vec<StartedUsage>> {
    Ok(rows
        .iter()
        .map(|r| {
            Ok(StartedUsage {
                subscription_id: r.i("subscription_id")?,
                customer_id: r.i("customer_id")?,
                customer_reference: r.s("customer_reference")?,
                segment_id: r.i("segment_id")?,
                segment_reference: r.s("segment_reference")?,
                segment_is_default: r.b("segment_is_default")?,
                state: r.s("state")?,
                date_start_us: r.oi("date_start_us")?,
                date_period_start_us: r.oi("date_period_start_us")?,
                date_period_end_us: r.oi("date_period_end_us")?,
                feature: feature_from_row(r)?,
            })
        })
        .collect::<sqlx::Result<_>>()?)
}

/// The started usages of one feature for several customers given by reference, in one query:
/// what the group-commit writer resolves a batch of writes with. Rows are ordered as
/// [`list_started`] orders them (by customer, then oldest subscription first); the caller groups
/// them by `customer_reference`. An empty `customer_references` matches nothing.
pub async fn list_started_for_customers(
    conn: &mut AnyConnection,
    business_id: i64,
    feature_reference: &str,
    customer_references: &[&str],
) -> Result<Vec<StartedUsage>> {
    if customer_references.is_empty() {
        return Ok(Vec::new());
    }
    // The same join as `list_started` with a customer reference (see there for the join order
    // and the `+c.business_id`): one index probe per (segment, reference).
    let mut sql = String::from(
        "SELECT sf.*, f.reference AS feature_reference, f.type_feature AS type_feature, \
         s.customer_id AS customer_id, s.state AS state, s.segment_id AS segment_id, \
         s.date_start_us AS date_start_us, s.date_period_start_us AS date_period_start_us, \
         s.date_period_end_us AS date_period_end_us, c.reference AS customer_reference, \
         g.reference AS segment_reference, g.is_default AS segment_is_default \
         FROM customers c CROSS JOIN subscriptions s \
         JOIN segments g ON g.id = s.segment_id \
         JOIN subscription_features sf ON sf.subscription_id = s.id \
         JOIN features f ON f.id = sf.feature_id \
         WHERE s.customer_id = c.id AND s.business_id = $1 AND +c.business_id = $1 \
         AND sf.business_id = $1 AND s.state LIKE 'Active%' AND f.reference = $2 \
         AND c.segment_id IN (SELECT id FROM segments WHERE business_id = $1) \
         AND c.reference IN (",
    );
    for i in 0..customer_references.len() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("${}", i + 3));
    }
    sql.push_str(
        ") ORDER BY s.customer_id, COALESCE(s.date_start_us, s.created_at_us), s.id, \
         sf.position, sf.id",
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(business_id)
        .bind(feature_reference.to_owned());
    for r in customer_references {
        query = query.bind((*r).to_owned());
    }
    let rows = query.fetch_all(&mut *conn).await?;
    started_from_rows(&rows)
}

/// Most (subscription, feature) pairs [`apply_increments`] changes in one statement.
const INCREMENTS_PER_UPDATE: usize = 256;

/// [`apply_increment_non_negative`] for many subscription features at once, in one statement
/// per [`INCREMENTS_PER_UPDATE`]: adds each `(subscription_id, feature_id, increment)` (pairs
/// distinct) to its counter, a NULL counter starting from 0. Returns the new
/// `(subscription_id, feature_id, quantity_current)` of every row changed; a pair missing from
/// the answer was left unchanged, because it does not exist (or is another business's) or
/// because its counter would have gone below zero.
pub async fn apply_increments(
    conn: &mut AnyConnection,
    business_id: i64,
    increments: &[(i64, i64, i64)],
) -> Result<Vec<(i64, i64, i64)>> {
    let mut out = Vec::with_capacity(increments.len());
    for chunk in increments.chunks(INCREMENTS_PER_UPDATE) {
        // Each row's increment comes from the list by its key; the same guard as the
        // single-row statement keeps every counter from going below zero.
        let mut sql = String::from("WITH d (sub, feat, inc) AS (VALUES ");
        for i in 0..chunk.len() {
            let n = i * 3;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("(${}, ${}, ${})", n + 2, n + 3, n + 4));
        }
        sql.push_str(
            ") UPDATE subscription_features \
             SET quantity_current = COALESCE(quantity_current, 0) + (SELECT d.inc FROM d \
             WHERE d.sub = subscription_features.subscription_id \
             AND d.feat = subscription_features.feature_id) \
             WHERE business_id = $1 AND (subscription_id, feature_id) IN (SELECT sub, feat FROM d) \
             AND COALESCE(quantity_current, 0) + (SELECT d.inc FROM d \
             WHERE d.sub = subscription_features.subscription_id \
             AND d.feat = subscription_features.feature_id) >= 0 \
             RETURNING subscription_id, feature_id, quantity_current",
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(business_id);
        for &(sub, feat, inc) in chunk {
            query = query.bind(sub).bind(feat).bind(inc);
        }
        for row in query.fetch_all(&mut *conn).await? {
            out.push((
                row.i("subscription_id")?,
                row.i("feature_id")?,
                row.i("quantity_current")?,
            ));
        }
    }
    Ok(out)
}

/// Most rows [`record_events`] puts in one `INSERT` (8 parameters each: well under SQLite's and
/// PostgreSQL's parameter limits).
const EVENTS_PER_INSERT: usize = 256;

/// Logs keyless usage events, each with its own creation time (`(event, now_us)`), in as few
/// statements as possible (one multi-row `INSERT` per [`EVENTS_PER_INSERT`]). Events carrying
/// an idempotency key must go through [`record_event`], which tells a duplicate key.
pub async fn record_events(
    conn: &mut AnyConnection,
    events: &[(NewUsageEvent, i64)],
) -> Result<()> {
    if let Some((keyed, _)) = events.iter().find(|(e, _)| e.idempotency_key.is_some()) {
        return Err(crate::StoreError::Invalid(format!(
            "record_events takes keyless events only (key '{}')",
            keyed.idempotency_key.as_deref().unwrap_or_default()
        )));
    }
    for chunk in events.chunks(EVENTS_PER_INSERT) {
        let mut sql = String::from(
            "INSERT INTO usage_events (business_id, subscription_id, feature_id, increment, \
             quantity, date_stamp_us, idempotency_key, created_at_us) VALUES ",
        );
        for i in 0..chunk.len() {
            let n = i * 7;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, NULL, ${})",
                n + 1,
                n + 2,
                n + 3,
                n + 4,
                n + 5,
                n + 6,
                n + 7
            ));
        }
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (e, now_us) in chunk {
            query = query
                .bind(e.business_id)
                .bind(e.subscription_id)
                .bind(e.feature_id)
                .bind(e.increment)
                .bind(e.quantity)
                .bind(e.date_stamp_us)
                .bind(*now_us);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// [`apply_increment`] that refuses to take the counter below zero, still in one statement:
/// `Ok(None)` when the increment would make it negative (nothing changed), `NotFound` when the
/// subscription has no such feature.
pub async fn apply_increment_non_negative(
    conn: &mut AnyConnection,
    business_id: i64,
    subscription_id: i64,
    feature_id: i64,
    increment: i64,
) -> Result<Option<i64>> {
    let row = sqlx::query(
        "UPDATE subscription_features \
         SET quantity_current = COALESCE(quantity_current, 0) + $1 \
         WHERE business_id = $2 AND subscription_id = $3 AND feature_id = $4 \
         AND COALESCE(quantity_current, 0) + $1 >= 0 \
         RETURNING quantity_current",
    )
    .bind(increment)
    .bind(business_id)
    .bind(subscription_id)
    .bind(feature_id)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => Ok(Some(row.i("quantity_current")?)),
        None => {
            // Tell "below zero" from "no such feature" (rare path: a refused write).
            get(conn, business_id, subscription_id, feature_id).await?;
            Ok(None)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Limitation extras already billed for the current period (migration 0009): the high-water mark
// a mid-period increase is charged above (billing-rules, Features).

/// The current quantity of a subscription feature, read under the row's write lock (a no-op
/// update): concurrent writes to the same feature are serialised from here to the commit, so a
/// write can know the quantity it changes from. `NotFound` when there is no such feature.
pub async fn lock_quantity(
    conn: &mut AnyConnection,
    business_id: i64,
    subscription_id: i64,
    feature_id: i64,
) -> Result<Option<i64>> {
    let row = sqlx::query(
        "UPDATE subscription_features SET quantity_current = quantity_current \
         WHERE business_id = $1 AND subscription_id = $2 AND feature_id = $3 \
         RETURNING quantity_current",
    )
    .bind(business_id)
    .bind(subscription_id)
    .bind(feature_id)
    .fetch_optional(&mut *conn)
    .await?
    .or_not_found("subscription feature")?;
    Ok(row.oi("quantity_current")?)
}

/// The quantity already billed for `period_index` of a subscription feature, if recorded for
/// that period (a row of another period is stale: `None`).
pub async fn limitation_billed(
    conn: &mut AnyConnection,
    business_id: i64,
    subscription_id: i64,
    feature_id: i64,
    period_index: i64,
) -> Result<Option<i64>> {
    let row = sqlx::query(
        "SELECT quantity FROM limitation_billed WHERE business_id = $1 \
         AND subscription_id = $2 AND feature_id = $3 AND period_index = $4",
    )
    .bind(business_id)
    .bind(subscription_id)
    .bind(feature_id)
    .bind(period_index)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.i("quantity")).transpose()?)
}

/// Records that `quantity` is billed for `period_index` of a subscription feature (replacing
/// the mark of any earlier period).
pub async fn set_limitation_billed(
    conn: &mut AnyConnection,
    business_id: i64,
    subscription_id: i64,
    feature_id: i64,
    period_index: i64,
    quantity: i64,
    now_us: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO limitation_billed (business_id, subscription_id, feature_id, period_index, \
         quantity, updated_at_us) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (business_id, subscription_id, feature_id) DO UPDATE SET \
         period_index = excluded.period_index, quantity = excluded.quantity, \
         updated_at_us = excluded.updated_at_us",
    )
    .bind(business_id)
    .bind(subscription_id)
    .bind(feature_id)
    .bind(period_index)
    .bind(quantity)
    .bind(now_us)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
