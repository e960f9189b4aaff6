//! The catalogue as customers see it: offers and features, filtered and
//! localised (`GET /v1/Offers`, `/v1/Offer`, `/v1/Features`, `/v1/Feature`).
//!
//! Localised strings follow spec §2.2: the language is `?Language=`, else the
//! customer's, else the segment's, else the business's (the first one Abo
//! renders, English or French, wins). Amounts are rendered from integer minor
//! units by `abo_core::Money::format`: "€190.00/month" in English,
//! "190,00 €/mois" in French (CLDR spacing). With `Html` (the default), text
//! is HTML-escaped and line breaks become `<br>`, so a merchant can insert it
//! as is; without it, the strings are plain text.
//!
//! Abo has no tax engine yet: `PricingTotal` equals `PricingSubtotal` (prices
//! exclude tax) until per-country rates land with invoicing.

use std::collections::HashMap;

use crate::catalog::mapping::{offer_from_store, pricing_from_store};
use crate::error::{Result, ServiceError};
use abo_core::{Currency, FeaturePricing, Locale, Money, PeriodUnit, TierPrice};
use abo_store::customers::Customer;
use abo_store::features::Feature;
use abo_store::offers::Offer;
use abo_store::segments::Segment;
use abo_store::{
    AnyConnection, Page, PageRequest, Store, businesses, customers, features, offers,
    pricing_tables, segments, subscriptions,
};

/// Filters and rendering options of the offer read side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferQuery {
    /// `None` = the business's default segment (or the customer's).
    pub segment_reference: Option<String>,
    /// `Some(v)`: only offers, and features, whose visibility is `v`.
    pub is_visible: Option<bool>,
    pub prefix_reference_offer: Option<String>,
    /// Only the offers of this pricing table, in its order.
    pub pricing_table_reference: Option<String>,
    pub ignore_features: bool,
    /// The customer the offers are shown to (links, language, upgrade).
    pub customer_reference: Option<String>,
    /// Offers the customer can change to: same segment, not the current one.
    pub upgrade: bool,
    /// The subscription to change from (implies `upgrade`).
    pub subscription_id: Option<i64>,
    pub language: Option<String>,
    pub html: bool,
}

impl Default for OfferQuery {
    fn default() -> Self {
        OfferQuery {
            segment_reference: None,
            is_visible: None,
            prefix_reference_offer: None,
            pricing_table_reference: None,
            ignore_features: false,
            customer_reference: None,
            upgrade: false,
            subscription_id: None,
            language: None,
            html: true,
        }
    }
}

/// An offer as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OfferView {
    pub id: i64,
    pub segment_id: i64,
    pub segment_reference: String,
    pub reference: String,
    pub name: String,
    pub is_visible: bool,
    pub is_priced: bool,
    pub title_localized: String,
    pub description_localized: Option<String>,
    pub pricing_localized: Option<String>,
    pub currency: String,
    pub amount_upfront: i64,
    pub amount_trial: i64,
    pub duration_trial: i64,
    pub unit_trial: Option<String>,
    pub pricing_subtotal: i64,
    pub pricing_total: i64,
    pub amount_recurrence: i64,
    pub duration_recurrence: i64,
    pub unit_recurrence: String,
    pub count_recurrences: Option<i64>,
    pub count_min_recurrences: Option<i64>,
    pub amount_termination: i64,
    /// `None` when the features were not asked for (`IgnoreFeatures`).
    pub features: Option<Vec<OfferFeatureView>>,
}

/// A feature of an offer as the API shows it. Quantities are `None` for
/// OnOff features and for unlimited ones.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OfferFeatureView {
    pub id: i64,
    pub reference: String,
    pub is_visible: bool,
    pub title_localized: String,
    pub description_localized: Option<String>,
    pub type_feature: String,
    pub pricing_localized: Option<String>,
    /// "UpdatableBeforeSubscription, UpdatableAfterSubscription, FreeInTrial".
    pub properties: Option<String>,
    pub is_included: bool,
    pub is_enabled: bool,
    pub quantity_included: Option<i64>,
    pub quantity_current: Option<i64>,
}

/// Who and what the offers were read for: the links an API response carries
/// depend on it.
#[derive(Debug, Clone)]
pub struct OfferContext {
    pub segment: Segment,
    pub customer: Option<Customer>,
    /// The subscription a change of offer would start from (upgrade mode).
    pub upgrade_from: Option<i64>,
    pub locale: Locale,
    pub html: bool,
}

/// `GET /v1/Offers`: the segment's offers matching `query`, ordered by id (or
/// by the pricing table's order), one page of them.
pub async fn list_offers(
    store: &Store,
    business_id: i64,
    query: &OfferQuery,
    page: PageRequest,
) -> Result<(Page<OfferView>, OfferContext)> {
    let mut conn = store.acquire().await?;
    let context = context(&mut conn, business_id, query).await?;
    let mut all = all_offers(&mut conn, business_id, context.segment.id).await?;
    if let Some(table) = &query.pricing_table_reference {
        let table =
            pricing_tables::find_by_reference(&mut conn, business_id, context.segment.id, table)
                .await?
                .ok_or_else(|| ServiceError::not_found(format!("pricing table '{table}'")))?;
        let mut by_id: HashMap<i64, Offer> = all.into_iter().map(|o| (o.id, o)).collect();
        all = table
            .offer_ids
            .iter()
            .filter_map(|id| by_id.remove(id))
            .collect();
    }
    let current_offer = current_offer_id(&mut conn, business_id, context.upgrade_from).await?;
    let feature_index = feature_index(&mut conn, business_id).await?;
    let matching: Vec<&Offer> = all
        .iter()
        .filter(|o| query.is_visible.is_none_or(|v| o.is_visible == v))
        .filter(|o| {
            query
                .prefix_reference_offer
                .as_deref()
                .is_none_or(|p| o.reference.starts_with(p))
        })
        .filter(|o| current_offer.is_none_or(|current| o.id != current))
        .collect();
    let total = i64::try_from(matching.len()).unwrap_or(i64::MAX);
    let offset = usize::try_from(page.offset.max(0)).unwrap_or(usize::MAX);
    let limit = usize::try_from(page.limit.clamp(0, 1000)).unwrap_or(0);
    let items = matching
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|o| view(o, &context, query, &feature_index))
        .collect::<Result<Vec<_>>>()?;
    Ok((Page { items, total }, context))
}

/// `GET /v1/Offer`: one offer by reference. `NotFound` when it does not exist
/// in the segment, or its visibility does not match `IsVisible`.
pub async fn get_offer(
    store: &Store,
    business_id: i64,
    reference: &str,
    query: &OfferQuery,
) -> Result<(OfferView, OfferContext)> {
    let mut conn = store.acquire().await?;
    let context = context(&mut conn, business_id, query).await?;
    let offer = offers::find_by_reference(&mut conn, business_id, context.segment.id, reference)
        .await?
        .filter(|o| query.is_visible.is_none_or(|v| o.is_visible == v))
        .ok_or_else(|| ServiceError::not_found(format!("offer '{reference}'")))?;
    let feature_index = feature_index(&mut conn, business_id).await?;
    let view = view(&offer, &context, query, &feature_index)?;
    Ok((view, context))
}

/// Works out the segment, customer, upgrade subscription and language.
async fn context(
    conn: &mut AnyConnection,
    business_id: i64,
    query: &OfferQuery,
) -> Result<OfferContext> {
    let business = businesses::get(conn, business_id).await?;
    let subscription = match query.subscription_id {
        Some(id) => Some(
            subscriptions::get(conn, business_id, id)
                .await
                .map_err(|e| {
                    if e.is_not_found() {
                        ServiceError::not_found(format!("subscription {id}"))
                    } else {
                        e.into()
                    }
                })?,
        ),
        None => None,
    };
    let segment = match (&query.segment_reference, &subscription) {
        (Some(r), _) => segments::find_by_reference(conn, business_id, r)
            .await?
            .ok_or_else(|| ServiceError::not_found(format!("segment '{r}'")))?,
        (None, Some(s)) => segments::get(conn, business_id, s.segment_id).await?,
        (None, None) => segments::get_default(conn, business_id)
            .await
            .map_err(|_| ServiceError::not_found("default segment"))?,
    };
    let customer = match (&query.customer_reference, &subscription) {
        (Some(r), _) => Some(
            customers::find_by_reference(conn, business_id, segment.id, r)
                .await?
                .ok_or_else(|| ServiceError::not_found(format!("customer '{r}'")))?,
        ),
        (None, Some(s)) => Some(customers::get(conn, business_id, s.customer_id).await?),
        (None, None) => None,
    };
    if let (Some(s), Some(c)) = (&subscription, &customer)
        && (s.customer_id != c.id || s.segment_id != segment.id)
    {
        return Err(ServiceError::invalid(format!(
            "subscription {} is not one of customer '{}' in segment '{}'",
            s.id, c.reference, segment.reference
        )));
    }
    let upgrade_from = match (&subscription, &customer) {
        (Some(s), _) => Some(s.id),
        (None, Some(c)) if query.upgrade => {
            oldest_started_subscription(conn, business_id, c.id).await?
        }
        _ => None,
    };
    let locale = [
        query.language.as_deref(),
        customer.as_ref().and_then(|c| c.language.as_deref()),
        Some(segment.locale.as_str()),
        Some(business.default_language.as_str()),
    ]
    .into_iter()
    .flatten()
    .find_map(Locale::parse)
    .unwrap_or_default();
    Ok(OfferContext {
        segment,
        customer,
        upgrade_from,
        locale,
        html: query.html,
    })
}

/// The customer's current subscription for a change of offer: the oldest
/// started one, as for usage writes. `None` when it has none (then every
/// offer of the segment is open to it).
async fn oldest_started_subscription(
    conn: &mut AnyConnection,
    business_id: i64,
    customer_id: i64,
) -> Result<Option<i64>> {
    let page = subscriptions::list(
        conn,
        business_id,
        &subscriptions::SubscriptionFilter {
            customer_id: Some(customer_id),
            ..Default::default()
        },
        PageRequest::new(0, 1000),
    )
    .await?;
    Ok(page
        .items
        .iter()
        .filter(|s| s.state.starts_with("Active"))
        .min_by_key(|s| (s.date_start_us.unwrap_or(s.created_at_us), s.id))
        .map(|s| s.id))
}

async fn current_offer_id(
    conn: &mut AnyConnection,
    business_id: i64,
    subscription: Option<i64>,
) -> Result<Option<i64>> {
    match subscription {
        Some(id) => Ok(subscriptions::get(conn, business_id, id).await?.offer_id),
        None => Ok(None),
    }
}

/// Every offer of the segment (catalogues are small; the store pages by 1000).
async fn all_offers(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
) -> Result<Vec<Offer>> {
    let mut out = Vec::new();
    loop {
        let offset = i64::try_from(out.len()).unwrap_or(i64::MAX);
        let page = offers::list(
            conn,
            business_id,
            segment_id,
            PageRequest::new(offset, 1000),
        )
        .await?;
        let done = page.items.is_empty() || offset + (page.items.len() as i64) >= page.total;
        out.extend(page.items);
        if done {
            return Ok(out);
        }
    }
}

async fn feature_index(
    conn: &mut AnyConnection,
    business_id: i64,
) -> Result<HashMap<i64, Feature>> {
    Ok(features::list(conn, business_id)
        .await?
        .into_iter()
        .map(|f| (f.id, f))
        .collect())
}

fn view(
    offer: &Offer,
    context: &OfferContext,
    query: &OfferQuery,
    feature_index: &HashMap<i64, Feature>,
) -> Result<OfferView> {
    let core = offer_from_store(offer)?;
    let (locale, html) = (context.locale, context.html);
    let features = if query.ignore_features {
        None
    } else {
        let mut out = Vec::with_capacity(offer.features.len());
        for f in &offer.features {
            let feature = feature_index.get(&f.terms.feature_id).ok_or_else(|| {
                ServiceError::Internal(format!(
                    "feature {} of offer {} is missing",
                    f.terms.feature_id, offer.reference
                ))
            })?;
            if query.is_visible.is_some_and(|v| feature.is_visible != v) {
                continue;
            }
            let pricing = pricing_from_store(&f.terms)?;
            let has_quantity = f.type_feature != "OnOff";
            let quantity = if has_quantity {
                f.terms.quantity_included
            } else {
                None
            };
            out.push(OfferFeatureView {
                id: feature.id,
                reference: feature.reference.clone(),
                is_visible: feature.is_visible,
                title_localized: text(&feature.name, html),
                description_localized: feature.description.as_deref().map(|d| text(d, html)),
                type_feature: f.type_feature.clone(),
                pricing_localized: feature_pricing(
                    &pricing,
                    f.terms.is_included,
                    core.currency,
                    locale,
                )
                .map(|p| text(&p, html)),
                properties: properties(&f.terms),
                is_included: f.terms.is_included,
                is_enabled: f.terms.is_enabled,
                quantity_included: quantity,
                // An offer is a template: its counter is what a new
                // subscription starts with, the included quantity.
                quantity_current: quantity,
            });
        }
        Some(out)
    };
    Ok(OfferView {
        id: offer.id,
        segment_id: offer.segment_id,
        segment_reference: context.segment.reference.clone(),
        reference: offer.reference.clone(),
        name: offer.name.clone(),
        is_visible: offer.is_visible,
        is_priced: core.is_priced(),
        title_localized: text(&offer.name, html),
        description_localized: offer.description.as_deref().map(|d| text(d, html)),
        pricing_localized: Some(text(&offer_pricing(&core, locale), html)),
        currency: offer.currency.clone(),
        amount_upfront: offer.amount_upfront,
        amount_trial: offer.amount_trial,
        duration_trial: offer.duration_trial.unwrap_or(0),
        unit_trial: offer.unit_trial.clone(),
        pricing_subtotal: offer.amount_recurrence,
        pricing_total: offer.amount_recurrence,
        amount_recurrence: offer.amount_recurrence,
        duration_recurrence: offer.duration_recurrence,
        unit_recurrence: offer.unit_recurrence.clone(),
        count_recurrences: offer.count_recurrences,
        count_min_recurrences: offer.count_min_recurrences,
        amount_termination: offer.amount_termination,
        features,
    })
}

fn properties(terms: &abo_store::offers::FeatureTerms) -> Option<String> {
    let flags: Vec<&str> = [
        (
            terms.updatable_before_subscription,
            "UpdatableBeforeSubscription",
        ),
        (
            terms.updatable_after_subscription,
            "UpdatableAfterSubscription",
        ),
        (terms.free_in_trial, "FreeInTrial"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    (!flags.is_empty()).then(|| flags.join(", "))
}

/// "/month", "/3 months" (en); "/mois", "/3 mois" (fr).
pub fn per_period(unit: PeriodUnit, count: u32, locale: Locale) -> String {
    let (one, many) = match (locale, unit) {
        (Locale::En, PeriodUnit::Day) => ("day", "days"),
        (Locale::En, PeriodUnit::Week) => ("week", "weeks"),
        (Locale::En, PeriodUnit::Month) => ("month", "months"),
        (Locale::En, PeriodUnit::Year) => ("year", "years"),
        (Locale::Fr, PeriodUnit::Day) => ("jour", "jours"),
        (Locale::Fr, PeriodUnit::Week) => ("semaine", "semaines"),
        (Locale::Fr, PeriodUnit::Month) => ("mois", "mois"),
        (Locale::Fr, PeriodUnit::Year) => ("an", "ans"),
    };
    if count == 1 {
        format!("/{one}")
    } else {
        format!("/{count}\u{00A0}{many}")
    }
}

/// The offer's price line: "€190.00/month", "190,00 €/mois", with the setup
/// fee when there is one; "Free" / "Gratuit" for an always-free offer.
pub fn offer_pricing(offer: &abo_core::Offer, locale: Locale) -> String {
    if !offer.is_priced() {
        return match locale {
            Locale::En => "Free".into(),
            Locale::Fr => "Gratuit".into(),
        };
    }
    let money = |minor| Money::new(minor, offer.currency).format(locale);
    let mut out = format!(
        "{}{}",
        money(offer.amount_recurrence),
        per_period(offer.recurrence.unit, offer.recurrence.count, locale)
    );
    if offer.amount_upfront > 0 {
        out.push_str(&match locale {
            Locale::En => format!(" + {} setup fee", money(offer.amount_upfront)),
            Locale::Fr => format!(
                " + {} de frais de mise en service",
                money(offer.amount_upfront)
            ),
        });
    }
    out
}

/// A feature's price in an offer: "+€7.00/extra unit", "from €0.20/extra
/// unit" (tiers: the cheapest unit price), "optional +€10.00" (an OnOff
/// option); `None` when the feature costs nothing.
pub fn feature_pricing(
    pricing: &FeaturePricing,
    is_included: bool,
    currency: Currency,
    locale: Locale,
) -> Option<String> {
    let money = |minor| Money::new(minor, currency).format(locale);
    let extra_unit = match locale {
        Locale::En => "extra unit",
        Locale::Fr => "unité supplémentaire",
    };
    let from = match locale {
        Locale::En => "from",
        Locale::Fr => "à partir de",
    };
    if !pricing.is_priced() {
        return None;
    }
    match pricing {
        FeaturePricing::None => None,
        FeaturePricing::OnOff { amount } => Some(match (is_included, locale) {
            (true, _) => format!("+{}", money(*amount)),
            (false, Locale::En) => format!("optional +{}", money(*amount)),
            (false, Locale::Fr) => format!("en option +{}", money(*amount)),
        }),
        FeaturePricing::PerUnit { amount } => Some(format!("+{}/{extra_unit}", money(*amount))),
        FeaturePricing::Tiered { tiers, .. } => {
            let cheapest_unit = tiers
                .iter()
                .filter_map(|t| match t.price {
                    TierPrice::PerUnit(a) => Some(a),
                    _ => None,
                })
                .min();
            Some(match (cheapest_unit, tiers.first().map(|t| t.price)) {
                (Some(a), _) => format!("{from} {}/{extra_unit}", money(a)),
                (None, Some(TierPrice::PerLot { lot_size, amount })) => match locale {
                    Locale::En => format!("{from} {}/{lot_size} extra units", money(amount)),
                    Locale::Fr => {
                        format!("{from} {}/{lot_size} unités supplémentaires", money(amount))
                    }
                },
                (None, Some(TierPrice::Flat(a))) => format!("{from} {}", money(a)),
                (None, _) => return None,
            })
        }
    }
}

/// HTML-escapes `s` and turns line breaks into `<br>` when `html`; else `s`.
fn text(s: &str, html: bool) -> String {
    if !html {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push_str("<br>"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// A feature as the API shows it (`GET /v1/Feature(s)`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FeatureView {
    pub id: i64,
    pub reference: String,
    pub title_localized: String,
    pub description_localized: Option<String>,
    pub type_feature: String,
    pub is_visible: bool,
}

impl From<Feature> for FeatureView {
    fn from(f: Feature) -> Self {
        FeatureView {
            id: f.id,
            reference: f.reference,
            title_localized: f.name,
            description_localized: f.description,
            type_feature: f.type_feature,
            is_visible: f.is_visible,
        }
    }
}

/// `GET /v1/Features`: features are business-wide (spec §1.1), so with no
/// segment every feature of the business is listed; with `ReferenceSegment`,
/// only those that an offer of that segment uses. Ordered by id.
pub async fn list_features(
    store: &Store,
    business_id: i64,
    segment_reference: Option<&str>,
    is_visible: Option<bool>,
    page: PageRequest,
) -> Result<Page<FeatureView>> {
    let mut conn = store.acquire().await?;
    let mut all = features::list(&mut conn, business_id).await?;
    if let Some(r) = segment_reference {
        let segment = segments::find_by_reference(&mut conn, business_id, r)
            .await?
            .ok_or_else(|| ServiceError::not_found(format!("segment '{r}'")))?;
        let used: std::collections::HashSet<i64> = all_offers(&mut conn, business_id, segment.id)
            .await?
            .iter()
            .flat_map(|o| o.features.iter().map(|f| f.terms.feature_id))
            .collect();
        all.retain(|f| used.contains(&f.id));
    }
    all.retain(|f| is_visible.is_none_or(|v| f.is_visible == v));
    let total = i64::try_from(all.len()).unwrap_or(i64::MAX);
    let offset = usize::try_from(page.offset.max(0)).unwrap_or(usize::MAX);
    let limit = usize::try_from(page.limit.clamp(0, 1000)).unwrap_or(0);
    let items = all
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(FeatureView::from)
        .collect();
    Ok(Page { items, total })
}

/// `GET /v1/Feature?ReferenceFeature=`: `None` when there is no such feature
/// (the API answers 204).
pub async fn find_feature(
    store: &Store,
    business_id: i64,
    reference: &str,
) -> Result<Option<FeatureView>> {
    let mut conn = store.acquire().await?;
    Ok(
        features::find_by_reference(&mut conn, business_id, reference)
            .await?
            .map(FeatureView::from),
    )
}

/// `GET /v1/Feature/{id}`: `NotFound` when the business has no such feature.
pub async fn get_feature(store: &Store, business_id: i64, id: i64) -> Result<FeatureView> {
    let mut conn = store.acquire().await?;
    match features::get(&mut conn, business_id, id).await {
        Ok(f) => Ok(f.into()),
        Err(e) if e.is_not_found() => Err(ServiceError::not_found(format!("feature {id}"))),
        Err(e) => Err(e.into()),
    }
}
