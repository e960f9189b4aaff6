//! Subscriptions: a snapshot of an offer (amounts, periods, features, tiers) for a customer,
//! plus its lifecycle state and schedule. Editing the offer later never changes it.

use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::error::{OrNotFound, Result};
use crate::offers::{FeatureTerms, Offer, terms_from_row, tier_from_row};
use crate::row::RowExt;
use crate::{Page, PageRequest};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SubscriptionFeature {
    pub id: i64,
    pub feature_reference: String,
    pub type_feature: String,
    #[serde(flatten)]
    pub terms: FeatureTerms,
    /// None = unlimited / not tracked.
    pub quantity_current: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Subscription {
    pub id: i64,
    pub business_id: i64,
    pub segment_id: i64,
    pub customer_id: i64,
    pub customer_buyer_id: i64,
    pub offer_id: Option<i64>,
    /// ProAbono `StateSubscription` name, e.g. "ActiveRunning".
    pub state: String,
    pub title: String,
    pub description: Option<String>,
    pub currency: String,
    pub amount_upfront: i64,
    pub amount_trial: i64,
    pub duration_trial: Option<i64>,
    pub unit_trial: Option<String>,
    pub amount_recurrence: i64,
    pub duration_recurrence: i64,
    pub unit_recurrence: String,
    pub count_recurrences: Option<i64>,
    pub count_min_recurrences: Option<i64>,
    pub amount_termination: i64,
    pub date_start_us: Option<i64>,
    pub date_period_start_us: Option<i64>,
    pub date_period_end_us: Option<i64>,
    pub date_end_us: Option<i64>,
    pub date_term_us: Option<i64>,
    /// Civil date 'YYYY-MM-DD' periods are computed from (never chained).
    pub billing_anchor: Option<String>,
    pub period_index: i64,
    pub is_trial: bool,
    pub metadata: Option<String>,
    pub features: Vec<SubscriptionFeature>,
    pub created_at_us: i64,
    pub updated_at_us: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubscriptionFeature {
    pub terms: FeatureTerms,
    pub quantity_current: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubscription {
    pub business_id: i64,
    pub segment_id: i64,
    pub customer_id: i64,
    pub customer_buyer_id: i64,
    pub offer_id: Option<i64>,
    pub state: String,
    pub title: String,
    pub description: Option<String>,
    pub currency: String,
    pub amount_upfront: i64,
    pub amount_trial: i64,
    pub duration_trial: Option<i64>,
    pub unit_trial: Option<String>,
    pub amount_recurrence: i64,
    pub duration_recurrence: i64,
    pub unit_recurrence: String,
    pub count_recurrences: Option<i64>,
    pub count_min_recurrences: Option<i64>,
    pub amount_termination: i64,
    pub date_start_us: Option<i64>,
    pub date_period_start_us: Option<i64>,
    pub date_period_end_us: Option<i64>,
    pub date_end_us: Option<i64>,
    pub date_term_us: Option<i64>,
    pub billing_anchor: Option<String>,
    pub period_index: i64,
    pub is_trial: bool,
    pub metadata: Option<String>,
    pub features: Vec<NewSubscriptionFeature>,
}

impl NewSubscription {
    /// A snapshot of `offer` for `customer_id` (also the buyer), with no dates set yet.
    /// Consumption/limitation counters start at 0. Adjust any field before `create`.
    pub fn from_offer(offer: &Offer, customer_id: i64, state: &str) -> Self {
        NewSubscription {
            business_id: offer.business_id,
            segment_id: offer.segment_id,
            customer_id,
            customer_buyer_id: customer_id,
            offer_id: Some(offer.id),
            state: state.to_owned(),
            title: offer.name.clone(),
            description: offer.description.clone(),
            currency: offer.currency.clone(),
            amount_upfront: offer.amount_upfront,
            amount_trial: offer.amount_trial,
            duration_trial: offer.duration_trial,
            unit_trial: offer.unit_trial.clone(),
            amount_recurrence: offer.amount_recurrence,
            duration_recurrence: offer.duration_recurrence,
            unit_recurrence: offer.unit_recurrence.clone(),
            count_recurrences: offer.count_recurrences,
            count_min_recurrences: offer.count_min_recurrences,
            amount_termination: offer.amount_termination,
            date_start_us: None,
            date_period_start_us: None,
            date_period_end_us: None,
            date_end_us: None,
            date_term_us: None,
            billing_anchor: None,
            period_index: 0,
            is_trial: false,
            metadata: None,
            features: offer
                .features
                .iter()
                .map(|f| NewSubscriptionFeature {
                    terms: f.terms.clone(),
                    quantity_current: match f.type_feature.as_str() {
                        "OnOff" => None,
                        _ => Some(0),
                    },
                })
                .collect(),
        }
    }
}

/// Partial update of state and schedule. `None` = unchanged; for nullable columns
/// `Some(None)` clears the value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriptionPatch {
    pub state: Option<String>,
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub customer_buyer_id: Option<i64>,
    pub amount_recurrence: Option<i64>,
    pub amount_termination: Option<i64>,
    pub count_recurrences: Option<Option<i64>>,
    pub date_start_us: Option<Option<i64>>,
    pub date_period_start_us: Option<Option<i64>>,
    pub date_period_end_us: Option<Option<i64>>,
    pub date_end_us: Option<Option<i64>>,
    pub date_term_us: Option<Option<i64>>,
    pub billing_anchor: Option<Option<String>>,
    pub period_index: Option<i64>,
    pub is_trial: Option<bool>,
    pub metadata: Option<Option<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriptionFilter {
    pub segment_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub state: Option<String>,
}

pub(crate) fn from_row(r: &impl RowExt) -> sqlx::Result<Subscription> {
    Ok(Subscription {
        id: r.i("id")?,
        business_id: r.i("business_id")?,
        segment_id: r.i("segment_id")?,
        customer_id: r.i("customer_id")?,
        customer_buyer_id: r.i("customer_buyer_id")?,
        offer_id: r.oi("offer_id")?,
        state: r.s("state")?,
        title: r.s("title")?,
        description: r.os("description")?,
        currency: r.s("currency")?,
        amount_upfront: r.i("amount_upfront")?,
        amount_trial: r.i("amount_trial")?,
        duration_trial: r.oi("duration_trial")?,
        unit_trial: r.os("unit_trial")?,
        amount_recurrence: r.i("amount_recurrence")?,
        duration_recurrence: r.i("duration_recurrence")?,
        unit_recurrence: r.s("unit_recurrence")?,
        count_recurrences: r.oi("count_recurrences")?,
        count_min_recurrences: r.oi("count_min_recurrences")?,
        amount_termination: r.i("amount_termination")?,
        date_start_us: r.oi("date_start_us")?,
        date_period_start_us: r.oi("date_period_start_us")?,
        date_period_end_us: r.oi("date_period_end_us")?,
        date_end_us: r.oi("date_end_us")?,
        date_term_us: r.oi("date_term_us")?,
        billing_anchor: r.os("billing_anchor")?,
        period_index: r.i("period_index")?,
        is_trial: r.b("is_trial")?,
        metadata: r.os("metadata")?,
        features: Vec::new(),
        created_at_us: r.i("created_at_us")?,
        updated_at_us: r.i("updated_at_us")?,
    })
}

/// Insert the subscription and its feature snapshot. A customer, buyer, segment or offer of
/// another business → `Invalid` (composite foreign keys).
pub async fn create(
    conn: &mut AnyConnection,
    new: &NewSubscription,
    now_us: i64,
) -> Result<Subscription> {
    let row = sqlx::query(
        "INSERT INTO subscriptions (business_id, segment_id, customer_id, customer_buyer_id, \
         offer_id, state, title, description, currency, amount_upfront, amount_trial, \
         duration_trial, unit_trial, amount_recurrence, duration_recurrence, unit_recurrence, \
         count_recurrences, count_min_recurrences, amount_termination, date_start_us, \
         date_period_start_us, date_period_end_us, date_end_us, date_term_us, billing_anchor, \
         period_index, is_trial, metadata, created_at_us, updated_at_us) VALUES ($1, $2, $3, \
         $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, \
         $22, $23, $24, $25, $26, $27, $28, $29, $29) RETURNING id",
    )
    .bind(new.business_id)
    .bind(new.segment_id)
    .bind(new.customer_id)
    .bind(new.customer_buyer_id)
    .bind(new.offer_id)
    .bind(&new.state)
    .bind(&new.title)
    .bind(new.description.as_deref())
    .bind(&new.currency)
    .bind(new.amount_upfront)
    .bind(new.amount_trial)
    .bind(new.duration_trial)
    .bind(new.unit_trial.as_deref())
    .bind(new.amount_recurrence)
    .bind(new.duration_recurrence)
    .bind(&new.unit_recurrence)
    .bind(new.count_recurrences)
    .bind(new.count_min_recurrences)
    .bind(new.amount_termination)
    .bind(new.date_start_us)
    .bind(new.date_period_start_us)
    .bind(new.date_period_end_us)
    .bind(new.date_end_us)
    .bind(new.date_term_us)
    .bind(new.billing_anchor.as_deref())
    .bind(new.period_index)
    .bind(new.is_trial)
    .bind(new.metadata.as_deref())
    .bind(now_us)
    .fetch_one(&mut *conn)
    .await?;
    let id = row.i("id")?;
    insert_features(conn, new.business_id, id, &new.features).await?;
    get(conn, new.business_id, id).await
}

async fn insert_features(
    conn: &mut AnyConnection,
    business_id: i64,
    subscription_id: i64,
    features: &[NewSubscriptionFeature],
) -> Result<()> {
    for (position, f) in features.iter().enumerate() {
        let t = &f.terms;
        let row = sqlx::query(
            "INSERT INTO subscription_features (business_id, subscription_id, feature_id, \
             is_included, is_enabled, quantity_included, quantity_current, pricing_model, \
             pricing_amount, updatable_before_subscription, updatable_after_subscription, \
             free_in_trial, position) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
             $12, $13) RETURNING id",
        )
        .bind(business_id)
        .bind(subscription_id)
        .bind(t.feature_id)
        .bind(t.is_included)
        .bind(t.is_enabled)
        .bind(t.quantity_included)
        .bind(f.quantity_current)
        .bind(&t.pricing_model)
        .bind(t.pricing_amount)
        .bind(t.updatable_before_subscription)
        .bind(t.updatable_after_subscription)
        .bind(t.free_in_trial)
        .bind(position as i64)
        .fetch_one(&mut *conn)
        .await?;
        let sf_id = row.i("id")?;
        for (tier_position, tier) in t.tiers.iter().enumerate() {
            sqlx::query(
                "INSERT INTO subscription_feature_tiers (subscription_feature_id, position, \
                 up_to, price_kind, amount, lot_size) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(sf_id)
            .bind(tier_position as i64)
            .bind(tier.up_to)
            .bind(&tier.price_kind)
            .bind(tier.amount)
            .bind(tier.lot_size)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

pub(crate) fn feature_from_row(r: &AnyRow) -> sqlx::Result<SubscriptionFeature> {
    Ok(SubscriptionFeature {
        id: r.i("id")?,
        feature_reference: r.s("feature_reference")?,
        type_feature: r.s("type_feature")?,
        terms: terms_from_row(r)?,
        quantity_current: r.oi("quantity_current")?,
    })
}

/// The subscription's features, in order, with tiers.
pub async fn features(
    conn: &mut AnyConnection,
    business_id: i64,
    subscription_id: i64,
) -> Result<Vec<SubscriptionFeature>> {
    let rows = sqlx::query(
        "SELECT sf.*, f.reference AS feature_reference, f.type_feature AS type_feature \
         FROM subscription_features sf JOIN features f ON f.id = sf.feature_id \
         WHERE sf.business_id = $1 AND sf.subscription_id = $2 ORDER BY sf.position, sf.id",
    )
    .bind(business_id)
    .bind(subscription_id)
    .fetch_all(&mut *conn)
    .await?;
    let tiers = sqlx::query(
        "SELECT t.* FROM subscription_feature_tiers t JOIN subscription_features sf \
         ON sf.id = t.subscription_feature_id WHERE sf.business_id = $1 \
         AND sf.subscription_id = $2 ORDER BY t.subscription_feature_id, t.position",
    )
    .bind(business_id)
    .bind(subscription_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let mut f = feature_from_row(r)?;
        for t in &tiers {
            if t.i("subscription_feature_id")? == f.id {
                f.terms.tiers.push(tier_from_row(t)?);
            }
        }
        out.push(f);
    }
    Ok(out)
}

/// Replace the subscription's features (customisation, plan change in place).
pub async fn set_features(
    conn: &mut AnyConnection,
    business_id: i64,
    subscription_id: i64,
    features: &[NewSubscriptionFeature],
    now_us: i64,
) -> Result<Subscription> {
    touch(conn, business_id, subscription_id, now_us).await?;
    sqlx::query(
        "DELETE FROM subscription_features WHERE business_id = $1 AND subscription_id = $2",
    )
    .bind(business_id)
    .bind(subscription_id)
    .execute(&mut *conn)
    .await?;
    insert_features(conn, business_id, subscription_id, features).await?;
    get(conn, business_id, subscription_id).await
}

async fn touch(conn: &mut AnyConnection, business_id: i64, id: i64, now_us: i64) -> Result<()> {
    let done = sqlx::query(
        "UPDATE subscriptions SET updated_at_us = $1 WHERE business_id = $2 AND id = $3",
    )
    .bind(now_us)
    .bind(business_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(crate::StoreError::NotFound("subscription"));
    }
    Ok(())
}

pub async fn get(conn: &mut AnyConnection, business_id: i64, id: i64) -> Result<Subscription> {
    let row = sqlx::query("SELECT * FROM subscriptions WHERE business_id = $1 AND id = $2")
        .bind(business_id)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .or_not_found("subscription")?;
    let mut sub = from_row(&row)?;
    sub.features = features(conn, business_id, id).await?;
    Ok(sub)
}

macro_rules! list_where {
    () => {
        " WHERE business_id = $1 AND ($2 IS NULL OR segment_id = $2) \
         AND ($3 IS NULL OR customer_id = $3) AND ($4 IS NULL OR state = $4)"
    };
}

/// Subscriptions of the business (oldest first) with their features.
pub async fn list(
    conn: &mut AnyConnection,
    business_id: i64,
    filter: &SubscriptionFilter,
    page: PageRequest,
) -> Result<Page<Subscription>> {
    let (offset, limit) = page.clamped();
    let total = sqlx::query(concat!(
        "SELECT COUNT(*) AS n FROM subscriptions",
        list_where!()
    ))
    .bind(business_id)
    .bind(filter.segment_id)
    .bind(filter.customer_id)
    .bind(filter.state.as_deref())
    .fetch_one(&mut *conn)
    .await?
    .i("n")?;
    let rows = sqlx::query(concat!(
        "SELECT * FROM subscriptions",
        list_where!(),
        " ORDER BY id LIMIT $5 OFFSET $6"
    ))
    .bind(business_id)
    .bind(filter.segment_id)
    .bind(filter.customer_id)
    .bind(filter.state.as_deref())
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in &rows {
        let mut sub = from_row(r)?;
        sub.features = features(conn, business_id, sub.id).await?;
        items.push(sub);
    }
    Ok(Page { items, total })
}

pub async fn update_state(
    conn: &mut AnyConnection,
    business_id: i64,
    id: i64,
    state: &str,
    now_us: i64,
) -> Result<Subscription> {
    let patch = SubscriptionPatch {
        state: Some(state.to_owned()),
        ..Default::default()
    };
    update(conn, business_id, id, &patch, now_us).await
}

/// Apply a partial update in one statement (no read-modify-write race).
pub async fn update(
    conn: &mut AnyConnection,
    business_id: i64,
    id: i64,
    p: &SubscriptionPatch,
    now_us: i64,
) -> Result<Subscription> {
    // Nullable columns use a (set?, value) pair so that Some(None) can clear them.
    fn pair<T: Clone>(v: &Option<Option<T>>) -> (bool, Option<T>) {
        match v {
            Some(inner) => (true, inner.clone()),
            None => (false, None),
        }
    }
    let (set_description, description) = pair(&p.description);
    let (set_count, count) = pair(&p.count_recurrences);
    let (set_start, start) = pair(&p.date_start_us);
    let (set_ps, ps) = pair(&p.date_period_start_us);
    let (set_pe, pe) = pair(&p.date_period_end_us);
    let (set_end, end) = pair(&p.date_end_us);
    let (set_term, term) = pair(&p.date_term_us);
    let (set_anchor, anchor) = pair(&p.billing_anchor);
    let (set_meta, meta) = pair(&p.metadata);
    let done = sqlx::query(
        "UPDATE subscriptions SET state = COALESCE($1, state), title = COALESCE($2, title), \
         description = CASE WHEN $3 THEN $4 ELSE description END, \
         customer_buyer_id = COALESCE($5, customer_buyer_id), \
         amount_recurrence = COALESCE($6, amount_recurrence), \
         amount_termination = COALESCE($7, amount_termination), \
         count_recurrences = CASE WHEN $8 THEN $9 ELSE count_recurrences END, \
         date_start_us = CASE WHEN $10 THEN $11 ELSE date_start_us END, \
         date_period_start_us = CASE WHEN $12 THEN $13 ELSE date_period_start_us END, \
         date_period_end_us = CASE WHEN $14 THEN $15 ELSE date_period_end_us END, \
         date_end_us = CASE WHEN $16 THEN $17 ELSE date_end_us END, \
         date_term_us = CASE WHEN $18 THEN $19 ELSE date_term_us END, \
         billing_anchor = CASE WHEN $20 THEN $21 ELSE billing_anchor END, \
         period_index = COALESCE($22, period_index), is_trial = COALESCE($23, is_trial), \
         metadata = CASE WHEN $24 THEN $25 ELSE metadata END, updated_at_us = $26 \
         WHERE business_id = $27 AND id = $28",
    )
    .bind(p.state.as_deref())
    .bind(p.title.as_deref())
    .bind(set_description)
    .bind(description)
    .bind(p.customer_buyer_id)
    .bind(p.amount_recurrence)
    .bind(p.amount_termination)
    .bind(set_count)
    .bind(count)
    .bind(set_start)
    .bind(start)
    .bind(set_ps)
    .bind(ps)
    .bind(set_pe)
    .bind(pe)
    .bind(set_end)
    .bind(end)
    .bind(set_term)
    .bind(term)
    .bind(set_anchor)
    .bind(anchor)
    .bind(p.period_index)
    .bind(p.is_trial)
    .bind(set_meta)
    .bind(meta)
    .bind(now_us)
    .bind(business_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(crate::StoreError::NotFound("subscription"));
    }
    get(conn, business_id, id).await
}

/// Active subscriptions (any business) whose current period ended at or before `now_us`:
/// the renewal scheduler's work list, as `(business_id, subscription_id)`, oldest first.
pub async fn due_for_renewal(
    conn: &mut AnyConnection,
    now_us: i64,
    limit: i64,
) -> Result<Vec<(i64, i64)>> {
    let rows = sqlx::query(
        "SELECT business_id, id FROM subscriptions WHERE state LIKE 'Active%' \
         AND date_period_end_us IS NOT NULL AND date_period_end_us <= $1 \
         ORDER BY date_period_end_us, id LIMIT $2",
    )
    .bind(now_us)
    .bind(limit.clamp(1, 10_000))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| Ok((r.i("business_id")?, r.i("id")?)))
        .collect::<sqlx::Result<_>>()?)
}

/// Subscriptions of the business filtered by segment, recipient and/or buyer (each `None` =
/// any), oldest first, with their features. Added for `GET /v1/Subscriptions`, whose
/// `ReferenceCustomerBuyer` filter [`SubscriptionFilter`] cannot express.
pub async fn list_by_parties(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: Option<i64>,
    customer_id: Option<i64>,
    customer_buyer_id: Option<i64>,
    page: PageRequest,
) -> Result<Page<Subscription>> {
    macro_rules! parties_where {
        () => {
            " WHERE business_id = $1 AND ($2 IS NULL OR segment_id = $2) \
             AND ($3 IS NULL OR customer_id = $3) AND ($4 IS NULL OR customer_buyer_id = $4)"
        };
    }
    let (offset, limit) = page.clamped();
    let total = sqlx::query(concat!(
        "SELECT COUNT(*) AS n FROM subscriptions",
        parties_where!()
    ))
    .bind(business_id)
    .bind(segment_id)
    .bind(customer_id)
    .bind(customer_buyer_id)
    .fetch_one(&mut *conn)
    .await?
    .i("n")?;
    let rows = sqlx::query(concat!(
        "SELECT * FROM subscriptions",
        parties_where!(),
        " ORDER BY id LIMIT $5 OFFSET $6"
    ))
    .bind(business_id)
    .bind(segment_id)
    .bind(customer_id)
    .bind(customer_buyer_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in &rows {
        let mut sub = from_row(r)?;
        sub.features = features(conn, business_id, sub.id).await?;
        items.push(sub);
    }
    Ok(Page { items, total })
}

// Added for the billing engine (`abo-engine`, `abo-service::renewal`).

/// Active subscriptions of one business whose current period ended, or whose term was reached,
/// at or before `now_us`, as `(subscription_id, period_index, state)`, earliest first; those
/// bought by `except_buyers` are left out.
pub async fn due_for_renewal_in(
    conn: &mut AnyConnection,
    business_id: i64,
    now_us: i64,
    limit: i64,
    except_buyers: &[i64],
) -> Result<Vec<(i64, i64, String)>> {
    // Placeholders in the order of the text, values bound in the same order.
    let mut p = crate::many::Placeholders::of(conn);
    let (business, now) = (p.one(), p.one());
    let except = if except_buyers.is_empty() {
        String::new()
    } else {
        format!(
            " AND customer_buyer_id NOT IN ({})",
            p.list(except_buyers.len())
        )
    };
    let limit_p = p.one();
    // Postgres: the rows stay locked until the caller's transaction ends, and the scans of
    // other nodes pass over them, so that nodes renewing at once share the due subscriptions.
    let lock = if conn.backend_name().eq_ignore_ascii_case("sqlite") {
        ""
    } else {
        " FOR UPDATE SKIP LOCKED"
    };
    let sql = format!(
        "SELECT id, period_index, state FROM subscriptions WHERE business_id = {business} \
         AND state LIKE 'Active%' AND {DUE_AT} <= {now}{except} ORDER BY {DUE_AT}, id \
         LIMIT {limit_p}{lock}"
    );
    let rows = crate::many::fetch(conn, "subscriptions.due_for_renewal", sql, |mut q| {
        q = q.bind(business_id).bind(now_us);
        for buyer in except_buyers {
            q = q.bind(*buyer);
        }
        q.bind(limit.clamp(1, 10_000))
    })
    .await?;
    Ok(rows
        .iter()
        .map(|r| Ok((r.i("id")?, r.i("period_index")?, r.s("state")?)))
        .collect::<sqlx::Result<_>>()?)
}

/// Which of `buyer_ids` buy an active subscription due for renewal at `now_us` (the engine's
/// batches bill a buyer right after its renewals only when none is left).
///
/// "Active" is tested as `substr(state, 1, 6) = 'Active'`, not `LIKE 'Active%'`: the same rows,
/// but a condition from which the database cannot infer the predicate of the partial index
/// `subscriptions_due_idx`. With `LIKE`, Postgres read that index, that is every subscription
/// of the business due by now, for each batch (225 ms per batch of 1,000 at 50,000 due, a third
/// of the renewal benchmark's time); here it can only look the buyers up by
/// `subscriptions_buyer_idx`.
pub async fn buyers_with_due_renewals(
    conn: &mut AnyConnection,
    business_id: i64,
    buyer_ids: &[i64],
    now_us: i64,
) -> Result<std::collections::HashSet<i64>> {
    let mut out = std::collections::HashSet::new();
    for chunk in buyer_ids.chunks(crate::many::CHUNK) {
        let mut p = crate::many::Placeholders::of(conn);
        let sql = format!(
            "SELECT DISTINCT customer_buyer_id FROM subscriptions WHERE business_id = {} \
             AND customer_buyer_id IN ({}) AND substr(state, 1, 6) = 'Active' AND {DUE_AT} <= {}",
            p.one(),
            p.list(chunk.len()),
            p.one()
        );
        let rows = crate::many::fetch(conn, "subscriptions.buyers_due", sql, |mut q| {
            q = q.bind(business_id);
            for id in chunk {
                q = q.bind(*id);
            }
            q.bind(now_us)
        })
        .await?;
        for row in &rows {
            out.insert(row.i("customer_buyer_id")?);
        }
    }
    Ok(out)
}

/// When an active subscription falls due: the earlier of its period end and its chosen term.
/// Written exactly as in the index `subscriptions_due_idx` (migration 0012), which the
/// database uses only for the same expression.
const DUE_AT: &str = "(CASE WHEN date_term_us IS NOT NULL AND (date_period_end_us IS NULL OR \
     date_term_us < date_period_end_us) THEN date_term_us ELSE date_period_end_us END)";

/// The earliest renewal or term instant among the business's active subscriptions.
pub async fn next_term_at(conn: &mut AnyConnection, business_id: i64) -> Result<Option<i64>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT MIN({DUE_AT}) AS t FROM subscriptions WHERE business_id = $1 \
         AND state LIKE 'Active%'"
    )))
    .bind(business_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.oi("t")?)
}

/// Takes the subscription for one renewal: touches it only if it is still at `period_index`
/// in `state`. Returns false when another renewal got there first. On Postgres the row stays
/// locked until the transaction ends, so a concurrent renewal waits, then finds nothing.
pub async fn lock_for_renewal(
    conn: &mut AnyConnection,
    business_id: i64,
    id: i64,
    period_index: i64,
    state: &str,
    now_us: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE subscriptions SET updated_at_us = $1 WHERE business_id = $2 AND id = $3 \
         AND period_index = $4 AND state = $5",
    )
    .bind(now_us)
    .bind(business_id)
    .bind(id)
    .bind(period_index)
    .bind(state)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

// ---------------------------------------------------------------------------------------------
// The engine's batches: many subscriptions per statement.

/// [`lock_for_renewal`] for many subscriptions at once: takes those still at their expected
/// `(id, period_index, state)` and returns them, with their features. The others (renewed or
/// moved meanwhile) are left out. Postgres: `SELECT … FOR UPDATE`, the rows locked until the
/// caller's transaction ends (a row another transaction changed meanwhile is checked again in
/// its new version); SQLite: the caller's transaction already holds the one write lock.
/// Unlike [`lock_for_renewal`] nothing is written: each taken subscription is then written by
/// its renewal.
pub async fn lock_many_for_renewal(
    conn: &mut AnyConnection,
    business_id: i64,
    expected: &[(i64, i64, String)],
) -> Result<Vec<Subscription>> {
    let mut out = Vec::with_capacity(expected.len());
    let lock = if conn.backend_name().eq_ignore_ascii_case("sqlite") {
        ""
    } else {
        " FOR UPDATE"
    };
    for chunk in expected.chunks(crate::many::CHUNK) {
        let mut p = crate::many::Placeholders::of(conn);
        // `id IN (…)` first: SQLite looks rows up by a row-value `IN` only through the index
        // prefix (`business_id`), which would read every subscription of the business.
        // Only placeholders are interpolated; every value is bound.
        let sql = format!(
            "SELECT * FROM subscriptions WHERE business_id = {} AND id IN ({}) \
             AND (id, period_index, state) IN (VALUES {}){lock}",
            p.one(),
            p.list(chunk.len()),
            p.tuples(chunk.len(), 3)
        );
        let rows = crate::many::fetch(conn, "subscriptions.lock_many", sql, |mut query| {
            query = query.bind(business_id);
            for (id, _, _) in chunk {
                query = query.bind(*id);
            }
            for (id, period_index, state) in chunk {
                query = query.bind(*id).bind(*period_index).bind(state.as_str());
            }
            query
        })
        .await?;
        for row in &rows {
            out.push(from_row(row)?);
        }
    }
    let ids: Vec<i64> = out.iter().map(|s| s.id).collect();
    let mut features = features_many(conn, business_id, &ids).await?;
    for sub in &mut out {
        sub.features = features.remove(&sub.id).unwrap_or_default();
    }
    Ok(out)
}

/// [`features`] of many subscriptions, by subscription.
pub async fn features_many(
    conn: &mut AnyConnection,
    business_id: i64,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, Vec<SubscriptionFeature>>> {
    let mut out: std::collections::HashMap<i64, Vec<SubscriptionFeature>> = Default::default();
    for chunk in ids.chunks(crate::many::CHUNK) {
        let mut p = crate::many::Placeholders::of(conn);
        let (business, list) = (p.one(), p.list(chunk.len()));
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT sf.*, f.reference AS feature_reference, f.type_feature AS type_feature \
             FROM subscription_features sf JOIN features f ON f.id = sf.feature_id \
             WHERE sf.business_id = {business} AND sf.subscription_id IN ({list}) \
             ORDER BY sf.subscription_id, sf.position, sf.id"
        )));
        let tiers = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT t.* FROM subscription_feature_tiers t JOIN subscription_features sf \
             ON sf.id = t.subscription_feature_id WHERE sf.business_id = {business} \
             AND sf.subscription_id IN ({list}) ORDER BY t.subscription_feature_id, t.position"
        )));
        let (mut rows, mut tiers) = (rows.bind(business_id), tiers.bind(business_id));
        for id in chunk {
            rows = rows.bind(*id);
            tiers = tiers.bind(*id);
        }
        let rows = rows.fetch_all(&mut *conn).await?;
        if rows.is_empty() {
            continue;
        }
        let tiers = tiers.fetch_all(&mut *conn).await?;
        let mut by_feature: std::collections::HashMap<i64, Vec<crate::offers::Tier>> =
            Default::default();
        for t in &tiers {
            by_feature
                .entry(t.i("subscription_feature_id")?)
                .or_default()
                .push(crate::offers::tier_from_row(t)?);
        }
        for r in &rows {
            let mut f = feature_from_row(r)?;
            f.terms.tiers = by_feature.remove(&f.id).unwrap_or_default();
            out.entry(r.i("subscription_id")?).or_default().push(f);
        }
    }
    Ok(out)
}

/// The new period of a renewed subscription (see [`save_schedules`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleUpdate {
    pub id: i64,
    pub state: String,
    pub date_period_start_us: i64,
    /// Also the term.
    pub date_period_end_us: i64,
    pub billing_anchor: String,
    pub period_index: i64,
    pub is_trial: bool,
}

/// Saves the new periods of many subscriptions in one statement per chunk (the batch form of
/// [`update`] with a schedule's fields).
pub async fn save_schedules(
    conn: &mut AnyConnection,
    business_id: i64,
    updates: &[ScheduleUpdate],
    now_us: i64,
) -> Result<u64> {
    let mut done = 0;
    for chunk in updates.chunks(crate::many::CHUNK) {
        let mut p = crate::many::Placeholders::of(conn);
        let sql = format!(
            "UPDATE subscriptions SET state = v.column2, date_period_start_us = v.column3, \
             date_period_end_us = v.column4, date_term_us = v.column4, \
             billing_anchor = v.column5, period_index = v.column6, is_trial = v.column7, \
             updated_at_us = {} FROM (VALUES {}) AS v \
             WHERE subscriptions.business_id = {} AND subscriptions.id = v.column1",
            p.one(),
            p.tuples(chunk.len(), 7),
            p.one()
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now_us);
        for u in chunk {
            query = query
                .bind(u.id)
                .bind(u.state.as_str())
                .bind(u.date_period_start_us)
                .bind(u.date_period_end_us)
                .bind(u.billing_anchor.as_str())
                .bind(u.period_index)
                .bind(u.is_trial);
        }
        done += query
            .bind(business_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    if done != updates.len() as u64 {
        return Err(crate::StoreError::Conflict(format!(
            "{} of {} subscriptions saved",
            done,
            updates.len()
        )));
    }
    Ok(done)
}
