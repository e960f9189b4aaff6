//! Offers (reference unique per segment) with their features and pricing tiers.
//! An offer is a template: subscribing copies it (see `subscriptions`).

use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::error::{OrNotFound, Result};
use crate::row::RowExt;
use crate::{Page, PageRequest, Written};

/// One pricing tier. Tiers are ordered; `up_to = None` is the last, open-ended tier.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Tier {
    pub up_to: Option<i64>,
    /// "PerUnit", "PerLot" or "Flat".
    pub price_kind: String,
    /// Minor units: per unit, per lot, or flat for the tier.
    pub amount: i64,
    pub lot_size: Option<i64>,
}

/// How a feature is sold in an offer (also copied into subscriptions).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FeatureTerms {
    pub feature_id: i64,
    pub is_included: bool,
    pub is_enabled: bool,
    /// None = unlimited.
    pub quantity_included: Option<i64>,
    /// "None", "OnOff", "PerUnit", "Graduated" or "Volume".
    pub pricing_model: String,
    pub pricing_amount: Option<i64>,
    pub updatable_before_subscription: bool,
    pub updatable_after_subscription: bool,
    pub free_in_trial: bool,
    pub tiers: Vec<Tier>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OfferFeature {
    pub feature_reference: String,
    pub type_feature: String,
    #[serde(flatten)]
    pub terms: FeatureTerms,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Offer {
    pub id: i64,
    pub business_id: i64,
    pub segment_id: i64,
    pub reference: String,
    pub name: String,
    pub description: Option<String>,
    pub is_visible: bool,
    pub currency: String,
    pub amount_upfront: i64,
    pub amount_trial: i64,
    pub duration_trial: Option<i64>,
    pub unit_trial: Option<String>,
    pub amount_recurrence: i64,
    pub duration_recurrence: i64,
    /// "Day", "Week", "Month" or "Year".
    pub unit_recurrence: String,
    /// None = unlimited renewals.
    pub count_recurrences: Option<i64>,
    pub count_min_recurrences: Option<i64>,
    pub amount_termination: i64,
    /// In display order.
    pub features: Vec<OfferFeature>,
    pub created_at_us: i64,
    pub updated_at_us: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOffer {
    pub business_id: i64,
    pub segment_id: i64,
    pub reference: String,
    pub name: String,
    pub description: Option<String>,
    pub is_visible: bool,
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
    /// In display order; a feature must belong to the same business (else `Invalid`).
    pub features: Vec<FeatureTerms>,
}

fn from_row(r: &AnyRow) -> sqlx::Result<Offer> {
    Ok(Offer {
        id: r.i("id")?,
        business_id: r.i("business_id")?,
        segment_id: r.i("segment_id")?,
        reference: r.s("reference")?,
        name: r.s("name")?,
        description: r.os("description")?,
        is_visible: r.b("is_visible")?,
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
        features: Vec::new(),
        created_at_us: r.i("created_at_us")?,
        updated_at_us: r.i("updated_at_us")?,
    })
}

pub(crate) fn tier_from_row(r: &AnyRow) -> sqlx::Result<Tier> {
    Ok(Tier {
        up_to: r.oi("up_to")?,
        price_kind: r.s("price_kind")?,
        amount: r.i("amount")?,
        lot_size: r.oi("lot_size")?,
    })
}

pub(crate) fn terms_from_row(r: &AnyRow) -> sqlx::Result<FeatureTerms> {
    Ok(FeatureTerms {
        feature_id: r.i("feature_id")?,
        is_included: r.b("is_included")?,
        is_enabled: r.b("is_enabled")?,
        quantity_included: r.oi("quantity_included")?,
        pricing_model: r.s("pricing_model")?,
        pricing_amount: r.oi("pricing_amount")?,
        updatable_before_subscription: r.b("updatable_before_subscription")?,
        updatable_after_subscription: r.b("updatable_after_subscription")?,
        free_in_trial: r.b("free_in_trial")?,
        tiers: Vec::new(),
    })
}

/// Duplicate reference in the segment → `Conflict`.
pub async fn create(conn: &mut AnyConnection, new: &NewOffer, now_us: i64) -> Result<Offer> {
    let row = sqlx::query(
        "INSERT INTO offers (business_id, segment_id, reference, name, description, is_visible, \
         currency, amount_upfront, amount_trial, duration_trial, unit_trial, amount_recurrence, \
         duration_recurrence, unit_recurrence, count_recurrences, count_min_recurrences, \
         amount_termination, created_at_us, updated_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, \
         $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18) RETURNING id",
    )
    .bind(new.business_id)
    .bind(new.segment_id)
    .bind(&new.reference)
    .bind(&new.name)
    .bind(new.description.as_deref())
    .bind(new.is_visible)
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
    .bind(now_us)
    .fetch_one(&mut *conn)
    .await?;
    let id = row.i("id")?;
    insert_features(conn, new.business_id, id, &new.features).await?;
    get(conn, new.business_id, id).await
}

/// Idempotent catalogue upsert by (segment, reference). Re-importing an identical offer
/// (fields, features, tiers) reports `Unchanged` and writes nothing.
pub async fn upsert(
    conn: &mut AnyConnection,
    new: &NewOffer,
    now_us: i64,
) -> Result<(Offer, Written)> {
    let Some(existing) =
        find_by_reference(conn, new.business_id, new.segment_id, &new.reference).await?
    else {
        return Ok((create(conn, new, now_us).await?, Written::Created));
    };
    if same(&existing, new) {
        return Ok((existing, Written::Unchanged));
    }
    sqlx::query(
        "UPDATE offers SET name = $1, description = $2, is_visible = $3, currency = $4, \
         amount_upfront = $5, amount_trial = $6, duration_trial = $7, unit_trial = $8, \
         amount_recurrence = $9, duration_recurrence = $10, unit_recurrence = $11, \
         count_recurrences = $12, count_min_recurrences = $13, amount_termination = $14, \
         updated_at_us = $15 WHERE business_id = $16 AND id = $17",
    )
    .bind(&new.name)
    .bind(new.description.as_deref())
    .bind(new.is_visible)
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
    .bind(now_us)
    .bind(existing.business_id)
    .bind(existing.id)
    .execute(&mut *conn)
    .await?;
    let old_terms: Vec<&FeatureTerms> = existing.features.iter().map(|f| &f.terms).collect();
    let new_terms: Vec<&FeatureTerms> = new.features.iter().collect();
    if old_terms != new_terms {
        sqlx::query("DELETE FROM offer_features WHERE business_id = $1 AND offer_id = $2")
            .bind(existing.business_id)
            .bind(existing.id)
            .execute(&mut *conn)
            .await?;
        insert_features(conn, existing.business_id, existing.id, &new.features).await?;
    }
    Ok((
        get(conn, existing.business_id, existing.id).await?,
        Written::Updated,
    ))
}

fn same(o: &Offer, n: &NewOffer) -> bool {
    o.name == n.name
        && o.description == n.description
        && o.is_visible == n.is_visible
        && o.currency == n.currency
        && o.amount_upfront == n.amount_upfront
        && o.amount_trial == n.amount_trial
        && o.duration_trial == n.duration_trial
        && o.unit_trial == n.unit_trial
        && o.amount_recurrence == n.amount_recurrence
        && o.duration_recurrence == n.duration_recurrence
        && o.unit_recurrence == n.unit_recurrence
        && o.count_recurrences == n.count_recurrences
        && o.count_min_recurrences == n.count_min_recurrences
        && o.amount_termination == n.amount_termination
        && o.features.len() == n.features.len()
        && o.features
            .iter()
            .zip(&n.features)
            .all(|(a, b)| &a.terms == b)
}

async fn insert_features(
    conn: &mut AnyConnection,
    business_id: i64,
    offer_id: i64,
    features: &[FeatureTerms],
) -> Result<()> {
    for (position, f) in features.iter().enumerate() {
        let row = sqlx::query(
            "INSERT INTO offer_features (business_id, offer_id, feature_id, is_included, \
             is_enabled, quantity_included, pricing_model, pricing_amount, \
             updatable_before_subscription, updatable_after_subscription, free_in_trial, \
             position) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(business_id)
        .bind(offer_id)
        .bind(f.feature_id)
        .bind(f.is_included)
        .bind(f.is_enabled)
        .bind(f.quantity_included)
        .bind(&f.pricing_model)
        .bind(f.pricing_amount)
        .bind(f.updatable_before_subscription)
        .bind(f.updatable_after_subscription)
        .bind(f.free_in_trial)
        .bind(position as i64)
        .fetch_one(&mut *conn)
        .await?;
        let offer_feature_id = row.i("id")?;
        for (tier_position, t) in f.tiers.iter().enumerate() {
            sqlx::query(
                "INSERT INTO offer_feature_tiers (offer_feature_id, position, up_to, price_kind, \
                 amount, lot_size) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(offer_feature_id)
            .bind(tier_position as i64)
            .bind(t.up_to)
            .bind(&t.price_kind)
            .bind(t.amount)
            .bind(t.lot_size)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

async fn load_features(conn: &mut AnyConnection, offer: &mut Offer) -> Result<()> {
    let rows = sqlx::query(
        "SELECT ofe.*, f.reference AS feature_reference, f.type_feature AS type_feature \
         FROM offer_features ofe JOIN features f ON f.id = ofe.feature_id \
         WHERE ofe.business_id = $1 AND ofe.offer_id = $2 ORDER BY ofe.position, ofe.id",
    )
    .bind(offer.business_id)
    .bind(offer.id)
    .fetch_all(&mut *conn)
    .await?;
    let tiers = sqlx::query(
        "SELECT t.* FROM offer_feature_tiers t JOIN offer_features ofe \
         ON ofe.id = t.offer_feature_id WHERE ofe.offer_id = $1 \
         ORDER BY t.offer_feature_id, t.position",
    )
    .bind(offer.id)
    .fetch_all(&mut *conn)
    .await?;
    offer.features = Vec::with_capacity(rows.len());
    for r in &rows {
        let of_id = r.i("id")?;
        let mut terms = terms_from_row(r)?;
        for t in &tiers {
            if t.i("offer_feature_id")? == of_id {
                terms.tiers.push(tier_from_row(t)?);
            }
        }
        offer.features.push(OfferFeature {
            feature_reference: r.s("feature_reference")?,
            type_feature: r.s("type_feature")?,
            terms,
        });
    }
    Ok(())
}

pub async fn get(conn: &mut AnyConnection, business_id: i64, id: i64) -> Result<Offer> {
    let row = sqlx::query("SELECT * FROM offers WHERE business_id = $1 AND id = $2")
        .bind(business_id)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .or_not_found("offer")?;
    let mut offer = from_row(&row)?;
    load_features(conn, &mut offer).await?;
    Ok(offer)
}

pub async fn find_by_reference(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
    reference: &str,
) -> Result<Option<Offer>> {
    let row = sqlx::query(
        "SELECT * FROM offers WHERE business_id = $1 AND segment_id = $2 AND reference = $3",
    )
    .bind(business_id)
    .bind(segment_id)
    .bind(reference)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let mut offer = from_row(&row)?;
    load_features(conn, &mut offer).await?;
    Ok(Some(offer))
}

pub async fn get_by_reference(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
    reference: &str,
) -> Result<Offer> {
    find_by_reference(conn, business_id, segment_id, reference)
        .await?
        .or_not_found("offer")
}

/// Offers of a segment, by id, with their features.
pub async fn list(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
    page: PageRequest,
) -> Result<Page<Offer>> {
    let (offset, limit) = page.clamped();
    let total =
        sqlx::query("SELECT COUNT(*) AS n FROM offers WHERE business_id = $1 AND segment_id = $2")
            .bind(business_id)
            .bind(segment_id)
            .fetch_one(&mut *conn)
            .await?
            .i("n")?;
    let rows = sqlx::query(
        "SELECT * FROM offers WHERE business_id = $1 AND segment_id = $2 ORDER BY id \
         LIMIT $3 OFFSET $4",
    )
    .bind(business_id)
    .bind(segment_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in &rows {
        let mut offer = from_row(r)?;
        load_features(conn, &mut offer).await?;
        items.push(offer);
    }
    Ok(Page { items, total })
}
