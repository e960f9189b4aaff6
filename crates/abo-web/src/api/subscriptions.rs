//! Subscriptions: `/v1/Subscription`, `/v1/Subscriptions` and the
//! subscription actions (`DateTerm`, `Suspension`, `Start`, `Upgrade`,
//! `Termination`), plus the aliases clients use outside the contract
//! (`GET /v1/Subscription/{id}`, `GET /v1/Subscription?IdSubscription=`).
//!
//! Flags are read from the query with the body as fallback (N8N sends
//! `Immediate`, `BillNow`, ... in the body). The rules live in
//! `abo_service::subscriptions`.

use std::collections::HashMap;

use super::auth::Caller;
use super::body::{JsonBody, lenient};
use super::dates::format_us;
use super::error::{ApiError, ApiResult};
use super::links::{Link, LinkFamily, LinkSigner};
use super::page::{Paging, respond};
use super::params::Params;
use crate::AppState;
use abo_core::{SubscriptionEvent, SubscriptionState, SubscriptionStatus};
use abo_links::Purpose;
use abo_service::subscriptions::{
    self, CreateFlags, CreateSubscription, FeatureOverride, ListFilter, Overrides, StartOptions,
    SubscriptionView, TerminationOptions, UpgradeOptions,
};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The subscription routes, in lower case (see `api::normalise_path`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/subscription",
            get(get_subscription).post(post_subscription),
        )
        .route("/v1/subscription/{id}", get(get_subscription_by_id))
        .route("/v1/subscription/{id}/dateterm", post(post_date_term))
        .route("/v1/subscription/{id}/suspension", post(post_suspension))
        .route("/v1/subscription/{id}/start", post(post_start))
        .route("/v1/subscription/{id}/upgrade", post(post_upgrade))
        .route("/v1/subscription/{id}/termination", post(post_termination))
        .route("/v1/subscriptions", get(get_subscriptions))
}

/// The contract's `SubscriptionFeature`: OnOff features carry
/// `IsIncluded`/`IsEnabled`, the others their quantities.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubscriptionFeatureDto {
    pub id: i64,
    pub reference_feature: String,
    pub is_visible: bool,
    pub type_feature: String,
    pub title_localized: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description_localized: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_included: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity_included: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity_current: Option<i64>,
}

/// The contract's `Subscription`, field for field (the contract has no
/// `DescriptionLocalized` here, so a description override is stored but not
/// shown). Absent values are omitted, as in ProAbono's examples; amounts are
/// integers of minor units.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubscriptionDto {
    pub id: i64,
    pub id_segment: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_offer: Option<i64>,
    pub id_customer: i64,
    pub id_customer_buyer: i64,
    pub reference_segment: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_offer: Option<String>,
    pub reference_customer: String,
    pub reference_customer_buyer: String,
    pub status: SubscriptionStatus,
    /// The current name (`ActiveRunning`), or the legacy one (`Running`) for
    /// a client that asked for it (see `Caller::legacy_states`).
    pub state_subscription: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_after_term: Option<SubscriptionStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_subscription_after_term: Option<&'static str>,
    pub currency: String,
    pub title_localized: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_period_start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_period_end: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_end: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_term: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_reset_consumption: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_next_billing: Option<String>,
    pub is_trial: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count_days_trial: Option<i64>,
    pub is_engaged: bool,
    pub is_customer_billable: bool,
    pub is_payment_capping_reached: bool,
    pub amount_up_front: i64,
    pub amount_trial: i64,
    pub duration_trial: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_trial: Option<String>,
    pub amount_recurrence: i64,
    pub duration_recurrence: i64,
    pub unit_recurrence: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count_recurrences: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count_min_recurrences: Option<i64>,
    pub amount_termination: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<SubscriptionFeatureDto>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    pub links: Vec<Link>,
    pub date_update: String,
}

impl SubscriptionDto {
    pub fn new(
        view: &SubscriptionView,
        with_features: bool,
        legacy_states: bool,
        links: Vec<Link>,
    ) -> SubscriptionDto {
        let name = |state: SubscriptionState| {
            if legacy_states {
                state.to_legacy().as_str()
            } else {
                state.as_str()
            }
        };
        let s = &view.subscription;
        let features = with_features.then(|| {
            view.features
                .iter()
                .map(|f| {
                    let on_off = f.type_feature == "OnOff";
                    SubscriptionFeatureDto {
                        id: f.feature_id,
                        reference_feature: f.reference.clone(),
                        is_visible: f.is_visible,
                        type_feature: f.type_feature.clone(),
                        title_localized: f.title.clone(),
                        description_localized: f.description.clone(),
                        is_included: on_off.then_some(f.is_included),
                        is_enabled: on_off.then_some(f.is_enabled),
                        quantity_included: if on_off { None } else { f.quantity_included },
                        quantity_current: if on_off { None } else { f.quantity_current },
                    }
                })
                .collect()
        });
        SubscriptionDto {
            id: s.id,
            id_segment: s.segment_id,
            id_offer: s.offer_id,
            id_customer: s.customer_id,
            id_customer_buyer: s.customer_buyer_id,
            reference_segment: view.segment_reference.clone(),
            reference_offer: view.offer_reference.clone(),
            reference_customer: view.customer_reference.clone(),
            reference_customer_buyer: view.buyer_reference.clone(),
            status: view.status(),
            state_subscription: name(view.state),
            status_after_term: view.status_after_term(),
            state_subscription_after_term: view.state_after_term.map(name),
            currency: s.currency.clone(),
            title_localized: s.title.clone(),
            date_start: s.date_start_us.map(format_us),
            date_period_start: s.date_period_start_us.map(format_us),
            date_period_end: s.date_period_end_us.map(format_us),
            date_end: s.date_end_us.map(format_us),
            date_term: s.date_term_us.map(format_us),
            date_reset_consumption: view.date_reset_consumption_us.map(format_us),
            date_next_billing: view.date_next_billing_us.map(format_us),
            is_trial: s.is_trial,
            count_days_trial: view.count_days_trial,
            is_engaged: view.is_engaged,
            is_customer_billable: view.is_customer_billable,
            // Payment capping is not configurable yet: never reached.
            is_payment_capping_reached: false,
            amount_up_front: s.amount_upfront,
            amount_trial: s.amount_trial,
            duration_trial: s.duration_trial.unwrap_or(0),
            unit_trial: s.unit_trial.clone(),
            amount_recurrence: s.amount_recurrence,
            duration_recurrence: s.duration_recurrence,
            unit_recurrence: s.unit_recurrence.clone(),
            count_recurrences: s.count_recurrences,
            count_min_recurrences: s.count_min_recurrences,
            amount_termination: s.amount_termination,
            features,
            metadata: view.metadata.clone(),
            links,
            date_update: format_us(s.updated_at_us),
        }
    }
}

/// Appends `hosted-<rel>` and `insite-<rel>` for a purpose the shared
/// [`LinkFamily`] list does not name (a draft's own subscribe page).
fn push_purpose(
    signer: &LinkSigner,
    links: &mut Vec<Link>,
    rel: &str,
    purpose: Purpose,
    target: i64,
) {
    let url = signer.url(purpose, Some(target));
    let token = url.rsplit('/').next().unwrap_or_default().to_string();
    links.push(Link::href(&format!("hosted-{rel}"), url));
    links.push(Link {
        rel: format!("insite-{rel}"),
        href: None,
        query: Some(token),
        mime: None,
    });
}

/// The links of a subscription, by state: `self` always; the portal home
/// and the subscription's page unless deleted; the change-of-offer page
/// while it can change (not during the commitment, which the portal
/// hides); restart when suspended; the registration form on a delayed
/// start; the subscribe page and the start quote for a draft to finish.
/// A suspended customer gets no portal link (spec §1.3).
fn links_for(view: &SubscriptionView, signer: Option<&LinkSigner>) -> Vec<Link> {
    let id = view.subscription.id;
    let mut links = vec![Link::href("self", format!("/v1/Subscription/{id}"))];
    let state = view.state;
    if state == SubscriptionState::DraftCustomer || state == SubscriptionState::DraftAgent {
        links.push(Link::href(
            "related-quote",
            format!("/v1/Quoting/Subscription/{id}/Start"),
        ));
    }
    let Some(signer) = signer else {
        return links;
    };
    if view.status() == SubscriptionStatus::Deleted {
        return links;
    }
    signer.push(&mut links, LinkFamily::Home, None);
    signer.push(&mut links, LinkFamily::RelatedSubscription, Some(id));
    match state {
        SubscriptionState::DraftCustomer | SubscriptionState::DraftAgent => {
            push_purpose(
                signer,
                &mut links,
                "subscribe",
                Purpose::SubscribeCustom,
                id,
            );
        }
        SubscriptionState::DraftDelayedStart => {
            signer.push(&mut links, LinkFamily::Register, Some(id));
        }
        _ => {}
    }
    if view.status() == SubscriptionStatus::Active
        && state.accepts(SubscriptionEvent::Upgrade)
        && !view.is_engaged
    {
        signer.push(&mut links, LinkFamily::Upgrade, Some(id));
    }
    if view.status() == SubscriptionStatus::Suspended {
        signer.push(&mut links, LinkFamily::Restart, Some(id));
    }
    links
}

/// Renders subscriptions, signing links once per recipient.
struct Renderer<'a> {
    state: &'a AppState,
    caller: &'a Caller,
    with_features: bool,
    signers: HashMap<i64, Option<LinkSigner>>,
}

impl<'a> Renderer<'a> {
    fn new(state: &'a AppState, caller: &'a Caller, params: &Params) -> ApiResult<Renderer<'a>> {
        Ok(Renderer {
            state,
            caller,
            with_features: !params.bool("IgnoreFeatures")?.unwrap_or(false),
            signers: HashMap::new(),
        })
    }

    async fn dto(&mut self, view: &SubscriptionView) -> ApiResult<SubscriptionDto> {
        let customer_id = view.subscription.customer_id;
        if !self.signers.contains_key(&customer_id) {
            let signer = if view.customer_status == "Suspended" {
                None
            } else {
                Some(
                    LinkSigner::new(
                        self.state,
                        self.caller.business_id(),
                        customer_id,
                        view.customer_links_epoch,
                        self.caller.now_us,
                    )
                    .await?,
                )
            };
            self.signers.insert(customer_id, signer);
        }
        let links = links_for(view, self.signers[&customer_id].as_ref());
        Ok(SubscriptionDto::new(
            view,
            self.with_features,
            self.caller.legacy_states,
            links,
        ))
    }
}

async fn render(
    state: &AppState,
    caller: &Caller,
    params: &Params,
    view: &SubscriptionView,
) -> ApiResult<SubscriptionDto> {
    Renderer::new(state, caller, params)?.dto(view).await
}

/// A path id that is not a number names no subscription: 404, as for an
/// unknown one.
fn subscription_id(raw: &str) -> ApiResult<i64> {
    raw.trim()
        .parse()
        .map_err(|_| ApiError::not_found(format!("subscription '{raw}' not found")))
}

/// `GET /v1/Subscription?ReferenceCustomer=[&ReferenceOffer=]`, or the
/// clients' alias `GET /v1/Subscription?IdSubscription=`.
async fn get_subscription(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> ApiResult<Json<SubscriptionDto>> {
    let view = if let Some(id) = params.str("IdSubscription") {
        subscriptions::get(
            &state.store,
            caller.business_id(),
            subscription_id(id)?,
            caller.now_us,
        )
        .await?
    } else {
        let customer = params.required_str("ReferenceCustomer")?;
        subscriptions::get_for_customer(
            &state.store,
            caller.business_id(),
            params.str("ReferenceSegment"),
            customer,
            params.str("ReferenceOffer"),
            caller.now_us,
        )
        .await?
    };
    Ok(Json(render(&state, &caller, &params, &view).await?))
}

/// `GET /v1/Subscription/{id}` (PHP library, N8N).
async fn get_subscription_by_id(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
    Path(id): Path<String>,
) -> ApiResult<Json<SubscriptionDto>> {
    let view = subscriptions::get(
        &state.store,
        caller.business_id(),
        subscription_id(&id)?,
        caller.now_us,
    )
    .await?;
    Ok(Json(render(&state, &caller, &params, &view).await?))
}

/// `SubscriptionFeatureRequest` (the documented fields plus the ones the
/// contract's "custom features" example sends).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FeatureRequest {
    reference_feature: String,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    quantity_included: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    quantity_current: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    is_included: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    is_enabled: Option<bool>,
}

/// `SubscriptionRequest`. The nullable counts distinguish "absent" (keep
/// the offer's) from `null` (unlimited / no commitment).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SubscriptionRequest {
    reference_customer: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    id_customer: Option<i64>,
    reference_offer: Option<String>,
    reference_customer_buyer: Option<String>,
    reference_segment: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_date")]
    date_start: Option<i64>,
    title_localized: Option<String>,
    description_localized: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    amount_up_front: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    amount_trial: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    duration_trial: Option<i64>,
    unit_trial: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    amount_recurrence: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    duration_recurrence: Option<i64>,
    unit_recurrence: Option<String>,
    #[serde(default, deserialize_with = "nullable_i64")]
    count_recurrences: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable_i64")]
    count_min_recurrences: Option<Option<i64>>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    amount_termination: Option<i64>,
    #[serde(default)]
    features: Option<Vec<FeatureRequest>>,
    #[serde(default)]
    metadata: Option<Map<String, Value>>,
    #[serde(default)]
    discounts: Option<Vec<DiscountRequest>>,
}

/// One item of `Discounts`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DiscountRequest {
    reference_discount: String,
}

/// A field that is present (possibly `null`) versus absent: serde calls
/// this only when the key is there, so absent stays `None`.
fn nullable_i64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    lenient::opt_i64(d).map(Some)
}

/// A `SubscriptionRequest` (body, with identifiers and flags also read from
/// the query, spec §2.5) as the use case's input. The subscription quote
/// reads the same request, so a quote describes exactly what would be created.
pub(super) fn create_request(
    caller: &Caller,
    params: &Params,
    body: &JsonBody,
) -> ApiResult<CreateSubscription> {
    let mut request: SubscriptionRequest = body.parse()?;
    let mut errors = Vec::new();
    // Older clients put the identifiers in the query (spec §2.5): the body
    // wins, the query fills what the body leaves out.
    let from_query = |name: &str| params.str(name).map(str::to_owned);
    request.reference_customer = request
        .reference_customer
        .or_else(|| from_query("ReferenceCustomer"));
    request.reference_offer = request
        .reference_offer
        .or_else(|| from_query("ReferenceOffer"));
    request.reference_customer_buyer = request
        .reference_customer_buyer
        .or_else(|| from_query("ReferenceCustomerBuyer"));
    if request.id_customer.is_none() {
        match params.i64("IdCustomer") {
            Ok(v) => request.id_customer = v,
            Err(e) => errors.push(e),
        }
    }
    if request.reference_customer.is_none() && request.id_customer.is_none() {
        errors.push(ApiError::invalid(
            "ReferenceCustomer",
            "ReferenceCustomer is required",
        ));
    }
    let offer = match request.reference_offer.clone() {
        Some(o) if !o.trim().is_empty() => o,
        _ => {
            errors.push(ApiError::invalid(
                "ReferenceOffer",
                "ReferenceOffer is required",
            ));
            String::new()
        }
    };
    let flag = |name: &str, errors: &mut Vec<ApiError>| match params.bool(name) {
        Ok(v) => v.unwrap_or(false),
        Err(e) => {
            errors.push(e);
            false
        }
    };
    let flags = CreateFlags {
        try_start: flag("TryStart", &mut errors),
        ensure_billable: flag("EnsureBillable", &mut errors),
        bill_now: flag("BillNow", &mut errors),
        migration: flag("Migration", &mut errors),
    };
    if let Some(e) = ApiError::merge(errors) {
        return Err(e);
    }
    Ok(CreateSubscription {
        business_id: caller.business_id(),
        segment_reference: request
            .reference_segment
            .or_else(|| params.str("ReferenceSegment").map(str::to_owned)),
        customer_reference: request.reference_customer,
        customer_id: request.id_customer,
        buyer_reference: request.reference_customer_buyer,
        offer_reference: offer,
        date_start_us: request.date_start,
        overrides: Overrides {
            title: request.title_localized,
            description: request.description_localized,
            amount_upfront: request.amount_up_front,
            amount_trial: request.amount_trial,
            duration_trial: request.duration_trial,
            unit_trial: request.unit_trial,
            amount_recurrence: request.amount_recurrence,
            duration_recurrence: request.duration_recurrence,
            unit_recurrence: request.unit_recurrence,
            count_recurrences: request.count_recurrences,
            count_min_recurrences: request.count_min_recurrences,
            amount_termination: request.amount_termination,
        },
        features: request
            .features
            .unwrap_or_default()
            .into_iter()
            .map(|f| FeatureOverride {
                reference: f.reference_feature,
                quantity_included: f.quantity_included,
                quantity_current: f.quantity_current,
                is_included: f.is_included,
                is_enabled: f.is_enabled,
            })
            .collect(),
        metadata: request.metadata,
        flags,
        discounts: (request.discounts.unwrap_or_default().into_iter())
            .map(|d| d.reference_discount)
            .collect(),
    })
}

/// `POST /v1/Subscription` → 201 with the new subscription.
async fn post_subscription(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
    body: JsonBody,
) -> ApiResult<Response> {
    let params = params.with_body(&body.0);
    let create = create_request(&caller, &params, &body)?;
    let view = subscriptions::create(&state.store, &create, caller.now_us).await?;
    let dto = render(&state, &caller, &params, &view).await?;
    Ok((StatusCode::CREATED, Json(dto)).into_response())
}

/// `POST /v1/Subscription/{id}/DateTerm` with `{"DateTerm": ...}`.
async fn post_date_term(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
    Path(id): Path<String>,
    body: JsonBody,
) -> ApiResult<Json<SubscriptionDto>> {
    let id = subscription_id(&id)?;
    let params = params.with_body(&body.0);
    let date_term = params
        .date("DateTerm")?
        .ok_or_else(|| ApiError::invalid("DateTerm", "DateTerm is required"))?;
    let view = subscriptions::move_term(
        &state.store,
        caller.business_id(),
        id,
        date_term,
        caller.now_us,
    )
    .await?;
    Ok(Json(render(&state, &caller, &params, &view).await?))
}

/// `POST /v1/Subscription/{id}/Suspension`: at the end of the period.
async fn post_suspension(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
    Path(id): Path<String>,
) -> ApiResult<Json<SubscriptionDto>> {
    let id = subscription_id(&id)?;
    let view =
        subscriptions::request_suspension(&state.store, caller.business_id(), id, caller.now_us)
            .await?;
    Ok(Json(render(&state, &caller, &params, &view).await?))
}

/// `POST /v1/Subscription/{id}/Start`: starts a draft or restarts a
/// suspended subscription.
async fn post_start(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
    Path(id): Path<String>,
    body: JsonBody,
) -> ApiResult<Json<SubscriptionDto>> {
    let id = subscription_id(&id)?;
    let params = params.with_body(&body.0);
    let options = StartOptions {
        ensure_billable: params.bool("EnsureBillable")?.unwrap_or(false),
        bill_now: params.bool("BillNow")?.unwrap_or(false),
    };
    let view = subscriptions::start(
        &state.store,
        caller.business_id(),
        id,
        options,
        caller.now_us,
    )
    .await?;
    Ok(Json(render(&state, &caller, &params, &view).await?))
}

/// The query of a change of offer (also read by its quote).
pub(super) fn upgrade_options(params: &Params) -> ApiResult<UpgradeOptions> {
    Ok(UpgradeOptions {
        offer_reference: params.required_str("ReferenceOffer")?.to_owned(),
        immediate: params.bool("Immediate")?.unwrap_or(true),
        bill_now: params.bool("BillNow")?.unwrap_or(false),
        ignore_engagement: params.bool("IgnoreEngagement")?.unwrap_or(false),
    })
}

/// `POST /v1/Subscription/{id}/Upgrade?ReferenceOffer=`: answers the new
/// subscription.
async fn post_upgrade(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
    Path(id): Path<String>,
    body: JsonBody,
) -> ApiResult<Json<SubscriptionDto>> {
    let id = subscription_id(&id)?;
    let params = params.with_body(&body.0);
    let options = upgrade_options(&params)?;
    let view = subscriptions::upgrade(
        &state.store,
        caller.business_id(),
        id,
        &options,
        caller.now_us,
    )
    .await?;
    Ok(Json(render(&state, &caller, &params, &view).await?))
}

/// `POST /v1/Subscription/{id}/Termination[?Immediate=&DateTermination=]`.
async fn post_termination(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
    Path(id): Path<String>,
    body: JsonBody,
) -> ApiResult<Json<SubscriptionDto>> {
    let id = subscription_id(&id)?;
    let params = params.with_body(&body.0);
    let options = TerminationOptions {
        immediate: params.bool("Immediate")?.unwrap_or(false),
        date_termination_us: params.date("DateTermination")?,
    };
    let view = subscriptions::terminate(
        &state.store,
        caller.business_id(),
        id,
        options,
        caller.now_us,
    )
    .await?;
    Ok(Json(render(&state, &caller, &params, &view).await?))
}

/// `GET /v1/Subscriptions`: filtered, paginated, 204 when nothing matches.
async fn get_subscriptions(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> ApiResult<Response> {
    let paging = Paging::from_params(&params)?;
    let filter = ListFilter {
        segment_reference: params.str("ReferenceSegment").map(str::to_owned),
        customer_reference: params.str("ReferenceCustomer").map(str::to_owned),
        buyer_reference: params.str("ReferenceCustomerBuyer").map(str::to_owned),
    };
    let page = subscriptions::list(
        &state.store,
        caller.business_id(),
        &filter,
        paging.request(),
        caller.now_us,
    )
    .await?;
    let mut renderer = Renderer::new(&state, &caller, &params)?;
    let mut items = Vec::with_capacity(page.items.len());
    for view in &page.items {
        items.push(renderer.dto(view).await?);
    }
    // The `next` link repeats the filters.
    let mut query = Vec::new();
    for (name, value) in [
        ("ReferenceSegment", &filter.segment_reference),
        ("ReferenceCustomer", &filter.customer_reference),
        ("ReferenceCustomerBuyer", &filter.buyer_reference),
    ] {
        if let Some(v) = value {
            query.push(format!("{name}={}", encode(v)));
        }
    }
    if !renderer.with_features {
        query.push("IgnoreFeatures=true".into());
    }
    Ok(respond(
        items,
        page.total,
        paging,
        "/v1/Subscriptions",
        &query.join("&"),
        caller.now_us,
    ))
}

/// Percent-encodes a query value (references exclude `& = ?` but may hold
/// spaces or non-ASCII text).
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
