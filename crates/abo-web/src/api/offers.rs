//! Offers: `GET /v1/Offers` and `GET /v1/Offer` (filters, localisation and
//! links are decided in `abo_service::offers`; this only translates).

use super::auth::Caller;
use super::error::ApiResult;
use super::links::{Link, LinkFamily, LinkSigner};
use super::page::{Paging, respond};
use super::params::Params;
use crate::AppState;
use abo_service::offers::{self, OfferContext, OfferFeatureView, OfferQuery, OfferView};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

/// The offer routes, in lower case (see `api::normalise_path`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/offers", get(get_offers))
        .route("/v1/offer", get(get_offer))
}

/// The contract's `OfferFeature`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OfferFeatureDto {
    pub id: i64,
    pub reference_feature: String,
    pub is_visible: bool,
    pub title_localized: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description_localized: Option<String>,
    pub type_feature: String,
    pub pricing_localized: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_included: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity_included: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity_current: Option<i64>,
}

impl From<&OfferFeatureView> for OfferFeatureDto {
    fn from(f: &OfferFeatureView) -> Self {
        let on_off = f.type_feature == "OnOff";
        OfferFeatureDto {
            id: f.id,
            reference_feature: f.reference.clone(),
            is_visible: f.is_visible,
            title_localized: f.title_localized.clone(),
            description_localized: f.description_localized.clone(),
            type_feature: f.type_feature.clone(),
            pricing_localized: f.pricing_localized.clone(),
            properties: f.properties.clone(),
            is_included: on_off.then_some(f.is_included),
            is_enabled: on_off.then_some(f.is_enabled),
            quantity_included: f.quantity_included,
            quantity_current: f.quantity_current,
        }
    }
}

/// The contract's `Offer`. With `Pricing=false` the amounts and pricing
/// strings are left out; with `Links=false` the links.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OfferDto {
    pub id: i64,
    pub id_segment: i64,
    pub reference_offer: String,
    pub reference_segment: String,
    pub name: String,
    pub is_visible: bool,
    pub is_priced: bool,
    pub title_localized: String,
    pub description_localized: Option<String>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub pricing: Option<OfferPricingDto>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<OfferFeatureDto>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub links: Option<Vec<Link>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OfferPricingDto {
    pub pricing_localized: Option<String>,
    pub currency: String,
    pub amount_up_front: i64,
    pub amount_trial: i64,
    pub duration_trial: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_trial: Option<String>,
    pub pricing_subtotal: i64,
    pub pricing_total: i64,
    pub amount_recurrence: i64,
    pub duration_recurrence: i64,
    pub unit_recurrence: String,
    pub count_recurrences: Option<i64>,
    pub count_min_recurrences: Option<i64>,
    pub amount_termination: i64,
}

/// Rendering switches of the offer endpoints.
#[derive(Debug, Clone, Copy)]
struct Switches {
    pricing: bool,
    links: bool,
}

fn query_from(params: &Params) -> ApiResult<(OfferQuery, Switches)> {
    let query = OfferQuery {
        segment_reference: params.str("ReferenceSegment").map(str::to_owned),
        is_visible: params.bool("IsVisible")?,
        prefix_reference_offer: params.str("PrefixReferenceOffer").map(str::to_owned),
        pricing_table_reference: params.str("ReferencePricingTable").map(str::to_owned),
        ignore_features: params.bool("IgnoreFeatures")?.unwrap_or(false),
        customer_reference: params
            .str("ReferenceCustomer")
            .or_else(|| params.str("ReferenceCustomerBuyer"))
            .map(str::to_owned),
        upgrade: params.bool("Upgrade")?.unwrap_or(false),
        subscription_id: params.i64("IdSubscription")?,
        language: params
            .str("Language")
            .or_else(|| params.str("Lang"))
            .map(str::to_owned),
        html: params.bool("Html")?.unwrap_or(true),
    };
    let switches = Switches {
        pricing: params.bool("Pricing")?.unwrap_or(true),
        links: params.bool("Links")?.unwrap_or(true),
    };
    Ok((query, switches))
}

/// Signs the links of the offers of one response: none when the customer
/// is suspended (spec §1.3).
struct OfferLinks {
    signer: Option<LinkSigner>,
    anonymous_home: String,
    upgrade_from: Option<i64>,
}

impl OfferLinks {
    async fn new(
        state: &AppState,
        caller: &Caller,
        context: &OfferContext,
    ) -> ApiResult<OfferLinks> {
        let signer = match &context.customer {
            Some(c) if c.status != "Suspended" => Some(
                LinkSigner::new(
                    state,
                    caller.business_id(),
                    c.id,
                    c.links_epoch,
                    caller.now_us,
                )
                .await?,
            ),
            _ => None,
        };
        Ok(OfferLinks {
            signer,
            anonymous_home: format!("{}/portal-anon", state.public_url),
            upgrade_from: context.upgrade_from,
        })
    }

    /// A customer gets its portal home and a signed link to subscribe to the
    /// offer, or, when changing plan, to the upgrade workflow of its
    /// subscription. Without a customer, the public catalogue page
    /// (`insite-home` → `/portal-anon`, spec §2.7).
    fn for_offer(&self, offer: &OfferView, suspended: bool) -> Vec<Link> {
        let mut links = Vec::new();
        if suspended {
            return links;
        }
        match &self.signer {
            Some(signer) => {
                signer.push(&mut links, LinkFamily::Home, None);
                match self.upgrade_from {
                    Some(sub) => signer.push(&mut links, LinkFamily::Upgrade, Some(sub)),
                    None => signer.push(&mut links, LinkFamily::Subscribe, Some(offer.id)),
                }
            }
            None => {
                links.push(Link::href("hosted-home", self.anonymous_home.clone()));
                links.push(Link::href("insite-home", self.anonymous_home.clone()));
            }
        }
        links
    }
}

fn dto(offer: &OfferView, switches: Switches, links: Option<Vec<Link>>) -> OfferDto {
    OfferDto {
        id: offer.id,
        id_segment: offer.segment_id,
        reference_offer: offer.reference.clone(),
        reference_segment: offer.segment_reference.clone(),
        name: offer.name.clone(),
        is_visible: offer.is_visible,
        is_priced: offer.is_priced,
        title_localized: offer.title_localized.clone(),
        description_localized: offer.description_localized.clone(),
        pricing: switches.pricing.then(|| OfferPricingDto {
            pricing_localized: offer.pricing_localized.clone(),
            currency: offer.currency.clone(),
            amount_up_front: offer.amount_upfront,
            amount_trial: offer.amount_trial,
            duration_trial: offer.duration_trial,
            unit_trial: offer.unit_trial.clone(),
            pricing_subtotal: offer.pricing_subtotal,
            pricing_total: offer.pricing_total,
            amount_recurrence: offer.amount_recurrence,
            duration_recurrence: offer.duration_recurrence,
            unit_recurrence: offer.unit_recurrence.clone(),
            count_recurrences: offer.count_recurrences,
            count_min_recurrences: offer.count_min_recurrences,
            amount_termination: offer.amount_termination,
        }),
        features: offer
            .features
            .as_ref()
            .map(|fs| fs.iter().map(OfferFeatureDto::from).collect()),
        links,
    }
}

fn is_suspended(context: &OfferContext) -> bool {
    context
        .customer
        .as_ref()
        .is_some_and(|c| c.status == "Suspended")
}

/// `GET /v1/Offers`.
pub async fn get_offers(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> ApiResult<Response> {
    let paging = Paging::from_params(&params)?;
    let (query, switches) = query_from(&params)?;
    let (page, context) =
        offers::list_offers(&state.store, caller.business_id(), &query, paging.request()).await?;
    let links = if switches.links {
        Some(OfferLinks::new(&state, &caller, &context).await?)
    } else {
        None
    };
    let suspended = is_suspended(&context);
    let items: Vec<OfferDto> = page
        .items
        .iter()
        .map(|o| {
            dto(
                o,
                switches,
                links.as_ref().map(|l| l.for_offer(o, suspended)),
            )
        })
        .collect();
    let mut extra = Vec::new();
    for name in [
        "ReferenceSegment",
        "ReferenceCustomer",
        "Upgrade",
        "IdSubscription",
        "IsVisible",
        "PrefixReferenceOffer",
        "ReferencePricingTable",
        "IgnoreFeatures",
        "Pricing",
        "Language",
        "Html",
        "Links",
    ] {
        if let Some(v) = params.str(name) {
            extra.push(format!("{name}={}", encode(v)));
        }
    }
    Ok(respond(
        items,
        page.total,
        paging,
        "/v1/Offers",
        &extra.join("&"),
        caller.now_us,
    ))
}

/// `GET /v1/Offer?ReferenceOffer=`.
pub async fn get_offer(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> ApiResult<Response> {
    let reference = params.required_str("ReferenceOffer")?;
    let (query, switches) = query_from(&params)?;
    let (offer, context) =
        offers::get_offer(&state.store, caller.business_id(), reference, &query).await?;
    let links = if switches.links {
        let l = OfferLinks::new(&state, &caller, &context).await?;
        Some(l.for_offer(&offer, is_suspended(&context)))
    } else {
        None
    };
    Ok(Json(dto(&offer, switches, links)).into_response())
}

/// Percent-encodes a query value for `next` links.
fn encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
