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
use abo_service::usages::NONE_MATCHING;
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

/// `POST /v1/Quoting/Subscription[?EnsureBillable=]`.
async fn post_quote_subscription(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
    body: JsonBody,
) -> ApiResult<Json<QuoteDto>> {
    let params = params.with_body(&body.0);
    quote_subscription(&state, &caller, &params, &body).await
}

async fn quote_subscription(
    state: &AppState,
    caller: &Caller,
    params: &Params,
    body: &JsonBody,
) -> ApiResult<Json<QuoteDto>> {
    let subscription = super::subscriptions::create_request(caller, params, body)?;
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
    let options = super::subscriptions::upgrade_options(params)?;
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
        None => quote_subscription(&state, &caller, &params, &body).await,
    }
}

/// `POST /v1/Quoting/Usage[?EnsureBillable=&NextTerm=]` (also
/// `/v1/PricingUsage`). References may come in the query or the body.
async fn post_quote_usage(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
    body: JsonBody,
) -> ApiResult<Json<QuoteDto>> {
    let params = params.with_body(&body.0);
    let write = super::usages::to_write(&body.0, &params, None)?;
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
