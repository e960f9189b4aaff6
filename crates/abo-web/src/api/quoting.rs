//! Quoting (contract tag Quoting): `POST /v1/Quoting/Subscription`,
//! `…/Quoting/Subscription/{id}/Start`, `…/Quoting/Subscription/{id}/Upgrade`,
//! `…/Quoting/Usage`, `…/Quoting/BalanceLine`, and the older clients' names
//! (spec §5): `/v1/PricingSubscription` (NET1/NET2), `/v1/PricingUsage`
//! (NET1/NET2) and `/v1/Pricing/Subscription/{id}` (the `related-quote`
//! link). `/v1/Pricing/Usage` (PHP library) is served by `usages.rs`.
//!
//! Every quote is `abo_service::quoting`'s: the real change run in a
//! transaction that is rolled back, so a quote equals what is then billed.

use super::auth::Caller;
use super::body::{JsonBody, lenient};
use super::dates::format_us;
use super::error::{ApiError, ApiResult};
use super::params::Params;
use crate::AppState;
use abo_core::{Locale, Money};
use abo_service::ServiceError;
use abo_service::quoting::{self, Quote, QuoteSubscriptionRequest, UsageQuoteOptions};
use abo_service::subscriptions::{CreateSubscription, FeatureOverride, Overrides, UpgradeOptions};
use abo_service::usages::{NONE_MATCHING, UsageChange, UsageWrite};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

/// The quoting routes, in lower case (see `api::normalise_path`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/quoting/subscription", post(post_quote_subscription))
        .route(
            "/v1/quoting/subscription/{id}/start",
            post(post_quote_start),
        )
        .route(
            "/v1/quoting/subscription/{id}/upgrade",
            post(post_quote_upgrade),
        )
        .route("/v1/quoting/usage", post(post_quote_usage))
        .route("/v1/quoting/balanceline", post(post_quote_balance_line))
        .route("/v1/pricingsubscription", post(post_pricing_subscription))
        .route("/v1/pricingusage", post(post_quote_usage))
        .route("/v1/pricing/subscription/{id}", post(post_quote_start))
}

/// The contract's `Quote`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QuoteDto {
    pub id_subscription: Option<i64>,
    pub amount_total_due: i64,
    pub pricing_localized: String,
    pub currency: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_period_start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_period_end: Option<String>,
    pub amount_subtotal: i64,
    pub amount_total: i64,
    pub details: Vec<QuoteDetailDto>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_term: Option<Box<QuoteDto>>,
}

/// The contract's `QuoteDetail`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QuoteDetailDto {
    pub id_subscription: Option<i64>,
    pub id_feature: Option<i64>,
    pub label_localized: String,
    pub type_line: String,
    pub amount_total_due: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_period_start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_period_end: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_move: Option<String>,
    pub quantity_reported: Option<i64>,
    pub quantity_billed: Option<i64>,
    pub amount_subtotal: i64,
    pub amount_total: i64,
}

impl QuoteDto {
    pub fn new(q: &Quote, locale: Locale) -> QuoteDto {
        QuoteDto {
            id_subscription: q.subscription_id,
            amount_total_due: q.amount_total_due,
            pricing_localized: Money::new(q.amount_total_due, q.currency).format(locale),
            currency: q.currency.to_string(),
            date_period_start: q.date_period_start_us.map(format_us),
            date_period_end: q.date_period_end_us.map(format_us),
            amount_subtotal: q.amount_subtotal,
            amount_total: q.amount_total,
            details: q
                .lines
                .iter()
                .map(|l| QuoteDetailDto {
                    id_subscription: l.subscription_id,
                    id_feature: l.feature_id,
                    label_localized: l.label.clone(),
                    type_line: l.type_line.clone(),
                    amount_total_due: l.amount_total,
                    date_period_start: l.date_period_start_us.map(format_us),
                    date_period_end: l.date_period_end_us.map(format_us),
                    date_move: l.date_move_us.map(format_us),
                    quantity_reported: l.quantity_reported,
                    quantity_billed: l.quantity_billed,
                    amount_subtotal: l.amount_subtotal,
                    amount_total: l.amount_total,
                })
                .collect(),
            next_term: q
                .next_term
                .as_deref()
                .map(|n| Box::new(QuoteDto::new(n, locale))),
        }
    }
}

/// `Language` of the request, else the business's.
fn locale_of(params: &Params, caller: &Caller) -> Locale {
    params
        .str("Language")
        .and_then(Locale::parse)
        .or_else(|| Locale::parse(&caller.business.default_language))
        .unwrap_or_default()
}

fn subscription_id(raw: &str) -> ApiResult<i64> {
    raw.trim()
        .parse()
        .map_err(|_| ApiError::not_found(format!("subscription '{raw}'")))
}

/// `QuoteSubscriptionRequest` (the `SubscriptionRequest` overrides).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct QuoteSubscriptionBody {
    reference_offer: Option<String>,
    reference_customer: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    id_customer: Option<i64>,
    reference_customer_buyer: Option<String>,
    reference_segment: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_date")]
    date_start: Option<i64>,
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
    #[serde(default)]
    features: Option<Vec<FeatureBody>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FeatureBody {
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

/// `POST /v1/Quoting/Subscription[?EnsureBillable=]`.
async fn post_quote_subscription(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
    body: JsonBody,
) -> ApiResult<Json<QuoteDto>> {
    let request: QuoteSubscriptionBody = body.parse()?;
    let params = params.with_body(&body.0);
    quote_subscription(&state, &caller, &params, request).await
}

async fn quote_subscription(
    state: &AppState,
    caller: &Caller,
    params: &Params,
    request: QuoteSubscriptionBody,
) -> ApiResult<Json<QuoteDto>> {
    let from_query = |name: &str| params.str(name).map(str::to_owned);
    let customer = request
        .reference_customer
        .or_else(|| from_query("ReferenceCustomer"));
    let id_customer = match request.id_customer {
        Some(id) => Some(id),
        None => params.i64("IdCustomer")?,
    };
    let offer = request
        .reference_offer
        .or_else(|| from_query("ReferenceOffer"));
    let mut errors = Vec::new();
    if customer.is_none() && id_customer.is_none() {
        errors.push(ApiError::invalid(
            "ReferenceCustomer",
            "ReferenceCustomer is required",
        ));
    }
    let offer = match offer {
        Some(o) if !o.trim().is_empty() => o,
        _ => {
            errors.push(ApiError::invalid(
                "ReferenceOffer",
                "ReferenceOffer is required",
            ));
            String::new()
        }
    };
    if let Some(e) = ApiError::merge(errors) {
        return Err(e);
    }
    let subscription = CreateSubscription {
        business_id: caller.business_id(),
        segment_reference: request
            .reference_segment
            .or_else(|| from_query("ReferenceSegment")),
        customer_reference: customer,
        customer_id: id_customer,
        buyer_reference: request
            .reference_customer_buyer
            .or_else(|| from_query("ReferenceCustomerBuyer")),
        offer_reference: offer,
        date_start_us: request.date_start,
        overrides: Overrides {
            amount_upfront: request.amount_up_front,
            amount_trial: request.amount_trial,
            duration_trial: request.duration_trial,
            unit_trial: request.unit_trial,
            amount_recurrence: request.amount_recurrence,
            duration_recurrence: request.duration_recurrence,
            unit_recurrence: request.unit_recurrence,
            ..Default::default()
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
        ..Default::default()
    };
    let request = QuoteSubscriptionRequest {
        subscription,
        ensure_billable: params.bool("EnsureBillable")?.unwrap_or(false),
    };
    let quote = quoting::quote_subscription(&state.store, &request, caller.now_us).await?;
    Ok(Json(QuoteDto::new(&quote, locale_of(params, caller))))
}

/// `POST /v1/Quoting/Subscription/{id}/Start[?EnsureBillable=]` (also
/// `/v1/Pricing/Subscription/{id}`): starting a draft or restarting a
/// suspended subscription.
async fn post_quote_start(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
    Path(id): Path<String>,
    body: JsonBody,
) -> ApiResult<Json<QuoteDto>> {
    let id = subscription_id(&id)?;
    let params = params.with_body(&body.0);
    quote_start(&state, &caller, &params, id).await
}

async fn quote_start(
    state: &AppState,
    caller: &Caller,
    params: &Params,
    id: i64,
) -> ApiResult<Json<QuoteDto>> {
    let ensure = params.bool("EnsureBillable")?.unwrap_or(false);
    let quote = quoting::quote_start(
        &state.store,
        caller.business_id(),
        id,
        ensure,
        caller.now_us,
    )
    .await?;
    Ok(Json(QuoteDto::new(&quote, locale_of(params, caller))))
}

/// `POST /v1/Quoting/Subscription/{id}/Upgrade?ReferenceOffer=[&Immediate=&BillNow=]`.
async fn post_quote_upgrade(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
    Path(id): Path<String>,
    body: JsonBody,
) -> ApiResult<Json<QuoteDto>> {
    let id = subscription_id(&id)?;
    let params = params.with_body(&body.0);
    quote_upgrade(&state, &caller, &params, id).await
}

async fn quote_upgrade(
    state: &AppState,
    caller: &Caller,
    params: &Params,
    id: i64,
) -> ApiResult<Json<QuoteDto>> {
    let options = UpgradeOptions {
        offer_reference: params.required_str("ReferenceOffer")?.to_owned(),
        immediate: params.bool("Immediate")?.unwrap_or(true),
        bill_now: params.bool("BillNow")?.unwrap_or(false),
        ignore_engagement: params.bool("IgnoreEngagement")?.unwrap_or(false),
    };
    let quote = quoting::quote_upgrade(
        &state.store,
        caller.business_id(),
        id,
        &options,
        caller.now_us,
    )
    .await?;
    Ok(Json(QuoteDto::new(&quote, locale_of(params, caller))))
}

/// NET1/NET2 `POST /v1/PricingSubscription`: with `IdSubscription` and
/// `ReferenceOffer`, a change of offer; with `IdSubscription` alone, a
/// start; otherwise a new subscription.
async fn post_pricing_subscription(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
    body: JsonBody,
) -> ApiResult<Json<QuoteDto>> {
    let params = params.with_body(&body.0);
    match params.i64("IdSubscription")? {
        Some(id) if params.str("ReferenceOffer").is_some() => {
            quote_upgrade(&state, &caller, &params, id).await
        }
        Some(id) => quote_start(&state, &caller, &params, id).await,
        None => {
            let request: QuoteSubscriptionBody = body.parse()?;
            quote_subscription(&state, &caller, &params, request).await
        }
    }
}

/// `QuoteUsageRequest`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct QuoteUsageBody {
    reference_feature: Option<String>,
    reference_customer: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    id_subscription: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    increment: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    quantity_current: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    is_enabled: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_date")]
    date_stamp: Option<i64>,
}

/// `POST /v1/Quoting/Usage[?EnsureBillable=&NextTerm=]` (also
/// `/v1/PricingUsage`). References may come in the query or the body.
async fn post_quote_usage(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
    body: JsonBody,
) -> ApiResult<Json<QuoteDto>> {
    let dto: QuoteUsageBody = body.parse()?;
    let params = params.with_body(&body.0);
    let feature = dto
        .reference_feature
        .or_else(|| params.str("ReferenceFeature").map(str::to_owned))
        .ok_or_else(|| ApiError::invalid("ReferenceFeature", "ReferenceFeature is required"))?;
    let customer = dto
        .reference_customer
        .or_else(|| params.str("ReferenceCustomer").map(str::to_owned));
    let subscription = match dto.id_subscription {
        Some(id) => Some(id),
        None => params.i64("IdSubscription")?,
    };
    let change = match (dto.increment, dto.quantity_current, dto.is_enabled) {
        (Some(d), None, None) => UsageChange::Increment(d),
        (None, Some(q), None) => UsageChange::Quantity(q),
        (None, None, Some(on)) => UsageChange::Enabled(on),
        (None, None, None) => {
            return Err(ApiError::invalid(
                "Increment",
                "one of Increment, QuantityCurrent or IsEnabled is required",
            ));
        }
        _ => {
            return Err(ApiError::invalid(
                "Increment",
                "give only one of Increment, QuantityCurrent or IsEnabled",
            ));
        }
    };
    let write = UsageWrite {
        feature_reference: feature,
        customer_reference: customer,
        subscription_id: subscription,
        change,
        date_stamp_us: dto.date_stamp,
        idempotency_key: None,
    };
    let options = UsageQuoteOptions {
        ensure_billable: params.bool("EnsureBillable")?,
        next_term: params.bool("NextTerm")?.unwrap_or(false),
    };
    let locale = locale_of(&params, &caller);
    match quoting::quote_usage_changes(
        &state.store,
        caller.business_id(),
        std::slice::from_ref(&write),
        options,
        caller.now_us,
    )
    .await
    {
        Ok(quote) => Ok(Json(QuoteDto::new(&quote, locale))),
        // Spec §2.4: NoneMatching is a 404 on pricing.
        Err(ServiceError::Refused { code, message }) if code == NONE_MATCHING => {
            Err(ApiError::new(StatusCode::NOT_FOUND, code, message))
        }
        Err(e) => Err(e.into()),
    }
}

/// `QuoteBalanceLineRequest`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct QuoteBalanceLineBody {
    reference_customer: Option<String>,
    reference_segment: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    amount: Option<i64>,
    label: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    quantity: Option<i64>,
}

/// The contract's `BalanceLineQuote`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct BalanceLineQuoteDto {
    id_segment: i64,
    id_customer: i64,
    reference_segment: String,
    reference_customer: String,
    label_localized: String,
    pricing_localized: String,
    currency: String,
    amount_subtotal: i64,
    amount_total: i64,
    date_move: String,
    quantity_reported: Option<i64>,
    quantity_billed: Option<i64>,
}

/// `POST /v1/Quoting/BalanceLine[?EnsureBillable=]`.
async fn post_quote_balance_line(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
    body: JsonBody,
) -> ApiResult<Json<BalanceLineQuoteDto>> {
    let dto: QuoteBalanceLineBody = body.parse()?;
    let params = params.with_body(&body.0);
    let mut errors = Vec::new();
    let customer = dto
        .reference_customer
        .or_else(|| params.str("ReferenceCustomer").map(str::to_owned));
    if customer.is_none() {
        errors.push(ApiError::invalid(
            "ReferenceCustomer",
            "ReferenceCustomer is required",
        ));
    }
    if dto.amount.is_none() {
        errors.push(ApiError::invalid("Amount", "Amount is required"));
    }
    if let Some(e) = ApiError::merge(errors) {
        return Err(e);
    }
    let segment = dto
        .reference_segment
        .or_else(|| params.str("ReferenceSegment").map(str::to_owned));
    let request = quoting::BalanceLineQuoteRequest {
        segment_reference: segment,
        customer_reference: customer.unwrap_or_default(),
        amount: dto.amount.unwrap_or_default(),
        label: dto.label,
        quantity: dto.quantity,
        ensure_billable: params.bool("EnsureBillable")?.unwrap_or(false),
    };
    let q =
        quoting::quote_balance_line(&state.store, caller.business_id(), &request, caller.now_us)
            .await?;
    let locale = locale_of(&params, &caller);
    Ok(Json(BalanceLineQuoteDto {
        id_segment: q.segment_id,
        id_customer: q.customer_id,
        reference_segment: q.segment_reference,
        reference_customer: q.customer_reference,
        label_localized: q.label,
        pricing_localized: Money::new(q.amount_total, q.currency).format(locale),
        currency: q.currency.to_string(),
        amount_subtotal: q.amount_subtotal,
        amount_total: q.amount_total,
        date_move: format_us(q.date_move_us),
        quantity_reported: q.quantity,
        quantity_billed: q.quantity,
    }))
}
