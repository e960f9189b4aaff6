//! Reads shaped for the Customer Portal's hot pages.
//!
//! The portal home is opened thousands of times a second. Through the generic repository
//! functions its subscriptions section costs a statement per subscription, per feature list,
//! per tier list and per reference it shows (about a dozen, each a round trip to SQLite's
//! worker thread or to Postgres). [`customer_subscriptions`] reads the same rows in two
//! statements (three when a subscription has tiered prices). Nothing is cached here: every
//! page reads the customer's current subscriptions.

use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::error::Result;
use crate::features::Feature;
use crate::offers::tier_from_row;
use crate::row::RowExt;
use crate::subscriptions::{self, Subscription, feature_from_row};

/// One customer's subscriptions in a segment, with what showing them needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerSubscriptions {
    /// Oldest first, each with its features in order (and their tiers), exactly as
    /// [`subscriptions::get`] returns them.
    pub subscriptions: Vec<Subscription>,
    /// `(offer id, offer reference)` of the offers the subscriptions were taken from.
    pub offer_references: Vec<(i64, String)>,
    /// The catalogue rows of the subscriptions' features (each once).
    pub features: Vec<Feature>,
}

/// The subscriptions of customer `customer_id` (as the recipient, not as a buyer) in
/// `segment_id`, oldest first, at most `limit` (1..=1000) of them.
pub async fn customer_subscriptions(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
    customer_id: i64,
    limit: i64,
) -> Result<CustomerSubscriptions> {
    let rows = sqlx::query(
        "SELECT s.*, o.reference AS offer_reference FROM subscriptions s \
         LEFT JOIN offers o ON o.business_id = s.business_id AND o.id = s.offer_id \
         WHERE s.business_id = $1 AND s.segment_id = $2 AND s.customer_id = $3 \
         ORDER BY s.id LIMIT $4",
    )
    .bind(business_id)
    .bind(segment_id)
    .bind(customer_id)
    .bind(limit.clamp(1, 1000))
    .fetch_all(&mut *conn)
    .await?;
    let mut out = CustomerSubscriptions {
        subscriptions: Vec::with_capacity(rows.len()),
        offer_references: Vec::new(),
        features: Vec::new(),
    };
    for r in &rows {
        let sub = subscriptions::from_row(r)?;
        if let (Some(id), Some(reference)) = (sub.offer_id, r.os("offer_reference")?)
            && !out.offer_references.iter().any(|(o, _)| *o == id)
        {
            out.offer_references.push((id, reference));
        }
        out.subscriptions.push(sub);
    }
    if out.subscriptions.is_empty() {
        return Ok(out);
    }

    // Every feature of those subscriptions, with its catalogue row and whether it has tiers.
    let features = sqlx::query(
        "SELECT sf.*, f.reference AS feature_reference, f.type_feature AS type_feature, \
         f.name AS feature_name, f.description AS feature_description, \
         f.is_visible AS feature_is_visible, f.created_at_us AS feature_created_at_us, \
         f.updated_at_us AS feature_updated_at_us, \
         (SELECT COUNT(*) FROM subscription_feature_tiers t \
          WHERE t.subscription_feature_id = sf.id) AS tier_count \
         FROM subscription_features sf \
         JOIN features f ON f.business_id = sf.business_id AND f.id = sf.feature_id \
         JOIN subscriptions s ON s.business_id = sf.business_id AND s.id = sf.subscription_id \
         WHERE sf.business_id = $1 AND s.segment_id = $2 AND s.customer_id = $3 \
         ORDER BY sf.subscription_id, sf.position, sf.id",
    )
    .bind(business_id)
    .bind(segment_id)
    .bind(customer_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut any_tiers = false;
    for r in &features {
        let subscription_id = r.i("subscription_id")?;
        // Beyond `limit`: not one of the subscriptions read above.
        let Some(sub) = out
            .subscriptions
            .iter_mut()
            .find(|s| s.id == subscription_id)
        else {
            continue;
        };
        sub.features.push(feature_from_row(r)?);
        any_tiers |= r.i("tier_count")? > 0;
        let feature = catalogue_feature(r)?;
        if !out.features.iter().any(|f| f.id == feature.id) {
            out.features.push(feature);
        }
    }
    if any_tiers {
        attach_tiers(conn, business_id, segment_id, customer_id, &mut out).await?;
    }
    Ok(out)
}

/// The tiers of the subscriptions' features, in order.
async fn attach_tiers(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
    customer_id: i64,
    out: &mut CustomerSubscriptions,
) -> Result<()> {
    let tiers = sqlx::query(
        "SELECT t.* FROM subscription_feature_tiers t \
         JOIN subscription_features sf ON sf.id = t.subscription_feature_id \
         JOIN subscriptions s ON s.business_id = sf.business_id AND s.id = sf.subscription_id \
         WHERE sf.business_id = $1 AND s.segment_id = $2 AND s.customer_id = $3 \
         ORDER BY t.subscription_feature_id, t.position",
    )
    .bind(business_id)
    .bind(segment_id)
    .bind(customer_id)
    .fetch_all(&mut *conn)
    .await?;
    for t in &tiers {
        let sf_id = t.i("subscription_feature_id")?;
        let found = out
            .subscriptions
            .iter_mut()
            .flat_map(|s| s.features.iter_mut())
            .find(|f| f.id == sf_id);
        if let Some(f) = found {
            f.terms.tiers.push(tier_from_row(t)?);
        }
    }
    Ok(())
}

/// The `features` row joined into a subscription feature row (its columns are aliased).
fn catalogue_feature(r: &AnyRow) -> sqlx::Result<Feature> {
    Ok(Feature {
        id: r.i("feature_id")?,
        business_id: r.i("business_id")?,
        reference: r.s("feature_reference")?,
        name: r.s("feature_name")?,
        description: r.os("feature_description")?,
        type_feature: r.s("type_feature")?,
        is_visible: r.b("feature_is_visible")?,
        created_at_us: r.i("feature_created_at_us")?,
        updated_at_us: r.i("feature_updated_at_us")?,
    })
}
