//! Usages: `GET/POST /v1/Usage`, `GET/POST /v1/Usages`, and the legacy quote
//! `POST /v1/Pricing/Usage` (PHP library and demo, spec §2.5).
//!
//! This is the hot path of the API ("optimized for speed and built for high
//! call volumes", spec §1.7): single writes go through the node's group-commit
//! writer (`AppState::usages`), no read-modify-write (see
//! `abo_service::usages`).

use super::auth::Caller;
use super::body::{JsonBody, lenient};
use super::dates::format_us;
use super::error::{ApiError, ApiResult};
use super::page::{Paging, respond};
use super::params::Params;
use crate::AppState;
use abo_core::{Locale, Money};
use abo_service::ServiceError;
use abo_service::usages::{
    self, NONE_MATCHING, Usage, UsageChange, UsageQuery, UsageQuote, UsageWrite,
};
use abo_store::segments;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The usage routes, in lower case (see `api::normalise_path`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/usage", get(get_usage).post(post_usage))
        .route("/v1/usages", get(get_usages).post(post_usages))
        .route("/v1/pricing/usage", post(post_pricing_usage))
}

/// The contract's `Usage`. OnOff features carry `IsIncluded`/`IsEnabled`;
/// the others carry the quantities, both absent when unlimited.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UsageDto {
    pub id_segment: i64,
    pub id_feature: i64,
    pub id_customer: i64,
    pub id_subscription: i64,
    pub reference_segment: String,
    pub reference_feature: String,
    pub reference_customer: String,
    pub type_feature: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_included: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity_included: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity_current: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_period_start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_period_end: Option<String>,
}

impl From<&Usage> for UsageDto {
    fn from(u: &Usage) -> Self {
        let on_off = !u.feature_type.has_quantity();
        UsageDto {
            id_segment: u.segment_id,
            id_feature: u.feature_id,
            id_customer: u.customer_id,
            id_subscription: u.subscription_id,
            reference_segment: u.segment_reference.clone(),
            reference_feature: u.feature_reference.clone(),
            reference_customer: u.customer_reference.clone(),
            type_feature: u.feature_type.to_string(),
            is_included: on_off.then_some(u.is_included),
            is_enabled: on_off.then_some(u.is_enabled),
            quantity_included: u.quantity_included,
            quantity_current: u.quantity_current,
            date_period_start: u.date_period_start_us.map(format_us),
            date_period_end: u.date_period_end_us.map(format_us),
        }
    }
}

/// The contract's `UsageRequest`, read tolerantly: numbers as strings,
/// `DateTime` for `DateStamp` (N8N), unknown fields ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UsageRequestDto {
    #[serde(default)]
    reference_feature: Option<String>,
    #[serde(default)]
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
    #[serde(default, deserialize_with = "lenient::opt_date")]
    date_time: Option<i64>,
}

/// The header a client sets so that a retried write counts once.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    match headers.get(IDEMPOTENCY_HEADER) {
        None => Ok(None),
        Some(v) => {
            let key = v
                .to_str()
                .ok()
                .map(str::trim)
                .filter(|k| !k.is_empty() && k.len() <= 200)
                .ok_or_else(|| {
                    ApiError::invalid(
                        "Idempotency-Key",
                        "Idempotency-Key must be 1 to 200 visible characters",
                    )
                })?;
            Ok(Some(key.to_owned()))
        }
    }
}

/// Turns one request object into a write; `fallback` are the query
/// parameters (legacy clients put the references there).
/// A usage write from a request body (`UsageRequest`), with the identifiers
/// the body leaves out taken from the query (spec §2.5). Also used by the
/// usage quotes, which take the same body.
pub(super) fn to_write(
    value: &Value,
    fallback: &Params,
    key: Option<String>,
) -> Result<UsageWrite, ApiError> {
    let dto: UsageRequestDto = if value.is_null() {
        UsageRequestDto::default()
    } else {
        serde_json::from_value(value.clone())
            .map_err(|e| ApiError::invalid("Body", format!("invalid usage: {e}")))?
    };
    let feature = dto
        .reference_feature
        .or_else(|| fallback.str("ReferenceFeature").map(str::to_owned))
        .ok_or_else(|| ApiError::invalid("ReferenceFeature", "ReferenceFeature is required"))?;
    let customer = dto
        .reference_customer
        .or_else(|| fallback.str("ReferenceCustomer").map(str::to_owned));
    let subscription = match dto.id_subscription {
        Some(id) => Some(id),
        None => fallback.i64("IdSubscription")?,
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
    Ok(UsageWrite {
        feature_reference: feature,
        customer_reference: customer,
        subscription_id: subscription,
        change,
        date_stamp_us: dto.date_stamp.or(dto.date_time),
        idempotency_key: key,
    })
}

/// `POST /v1/Usage`.
pub async fn post_usage(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
    headers: HeaderMap,
    body: JsonBody,
) -> ApiResult<Json<UsageDto>> {
    let write = to_write(&body.0, &params, idempotency_key(&headers)?)?;
    let usage = state
        .usages
        .record(caller.business_id(), write, caller.now_us)
        .await
        .map_err(write_error)?;
    Ok(Json(UsageDto::from(&usage)))
}

/// `POST /v1/Usages`: up to 50 writes, all or nothing. With an
/// `Idempotency-Key`, write `i` is keyed `"{key}:{i}"`.
pub async fn post_usages(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: JsonBody,
) -> ApiResult<Json<Vec<UsageDto>>> {
    let Value::Array(items) = &body.0 else {
        return Err(ApiError::invalid(
            "Body",
            "the body must be an array of usages",
        ));
    };
    if items.len() > usages::MAX_BATCH {
        return Err(ApiError::invalid(
            "Body",
            format!(
                "at most {} usages per call, not {}",
                usages::MAX_BATCH,
                items.len()
            ),
        ));
    }
    let key = idempotency_key(&headers)?;
    let none = Params::default();
    let mut writes = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match to_write(item, &none, key.as_ref().map(|k| format!("{k}:{i}"))) {
            Ok(w) => writes.push(w),
            Err(e) => errors.push(prefixed(i, e)),
        }
    }
    if let Some(e) = ApiError::merge(errors) {
        return Err(e);
    }
    let out = usages::record_usages(&state.store, caller.business_id(), &writes, caller.now_us)
        .await
        .map_err(write_error)?;
    Ok(Json(out.iter().map(UsageDto::from).collect()))
}

fn prefixed(index: usize, err: ApiError) -> ApiError {
    match err {
        ApiError::Validation(list) => ApiError::Validation(
            list.into_iter()
                .map(|mut b| {
                    b.message = format!("[{index}] {}", b.message);
                    b.target = b.target.map(|t| format!("[{index}].{t}"));
                    b
                })
                .collect(),
        ),
        other => other,
    }
}

/// A write matching no started subscription is ProAbono's 403
/// `Error.Api.Usage.NoneMatching` (already a `Refused` from the service); an
/// unknown feature is a 404 with the same code, as clients branch on it.
fn write_error(err: ServiceError) -> ApiError {
    match err {
        ServiceError::NotFound(what) => ApiError::new(
            StatusCode::NOT_FOUND,
            NONE_MATCHING,
            format!("{what} not found"),
        ),
        other => other.into(),
    }
}

async fn query_from(state: &AppState, caller: &Caller, params: &Params) -> ApiResult<UsageQuery> {
    let segment_id = match params.str("ReferenceSegment") {
        Some(r) => {
            let mut conn = state.store.acquire().await?;
            Some(
                segments::find_by_reference(&mut conn, caller.business_id(), r)
                    .await?
                    .ok_or_else(|| ApiError::not_found(format!("segment '{r}' not found")))?
                    .id,
            )
        }
        None => None,
    };
    Ok(UsageQuery {
        feature_reference: params.str("ReferenceFeature").map(str::to_owned),
        customer_reference: params.str("ReferenceCustomer").map(str::to_owned),
        customer_id: params.i64("IdCustomer")?,
        subscription_id: params.i64("IdSubscription")?,
        segment_id,
    })
}

/// `GET /v1/Usage`: 404 `Error.Api.Usage.NoneMatching` when no started
/// subscription of the customer has the feature.
pub async fn get_usage(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> ApiResult<Json<UsageDto>> {
    let query = query_from(&state, &caller, &params).await?;
    let usage = usages::get_usage(&state.store, caller.business_id(), &query)
        .await
        .map_err(write_error)?;
    Ok(Json(UsageDto::from(&usage)))
}

/// `GET /v1/Usages`: the paginated envelope of the contract's examples (its
/// schema says a bare array, the examples and live accounts the envelope),
/// 204 when nothing matches.
pub async fn get_usages(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> ApiResult<Response> {
    let paging = Paging::from_params(&params)?;
    let query = query_from(&state, &caller, &params).await?;
    let page =
        usages::list_usages(&state.store, caller.business_id(), &query, paging.request()).await?;
    let mut extra = Vec::new();
    for name in [
        "ReferenceCustomer",
        "ReferenceFeature",
        "IdSubscription",
        "IdCustomer",
        "ReferenceSegment",
    ] {
        if let Some(v) = params.str(name) {
            extra.push(format!("{name}={}", encode(v)));
        }
    }
    let items: Vec<UsageDto> = page.items.iter().map(UsageDto::from).collect();
    Ok(respond(
        items,
        page.total,
        paging,
        "/v1/Usages",
        &extra.join("&"),
        caller.now_us,
    ))
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

/// The legacy quote (`Pricing/Usage`): the contract's `Quote` fields plus the
/// legacy `LabelLocalized`/`DatePeriodTerm` the PHP demo reads.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QuoteDto {
    pub id_subscription: i64,
    pub label_localized: String,
    pub amount_total_due: i64,
    pub pricing_localized: String,
    pub currency: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_period_start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_period_end: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_period_term: Option<String>,
    pub amount_subtotal: i64,
    pub amount_total: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<QuoteDetailDto>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_term: Option<Box<QuoteDto>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QuoteDetailDto {
    pub id_subscription: i64,
    pub id_feature: i64,
    pub label_localized: String,
    pub amount_total_due: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_period_start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_period_end: Option<String>,
    pub quantity_reported: Option<i64>,
    pub quantity_billed: Option<i64>,
    pub amount_subtotal: i64,
    pub amount_total: i64,
}

impl QuoteDto {
    fn new(q: &UsageQuote, next_term: bool, locale: Locale) -> QuoteDto {
        let (due_label, next_label) = match locale {
            Locale::En => ("Amount due", "Subscription price after update"),
            Locale::Fr => ("Montant dû", "Prix de l'abonnement après mise à jour"),
        };
        let next = next_term.then(|| {
            Box::new(QuoteDto {
                id_subscription: q.subscription_id,
                label_localized: next_label.into(),
                amount_total_due: q.next_term,
                pricing_localized: Money::new(q.next_term, q.currency).format(locale),
                currency: q.currency.to_string(),
                date_period_start: q.date_period_end_us.map(format_us),
                date_period_end: None,
                date_period_term: None,
                amount_subtotal: q.next_term,
                amount_total: q.next_term,
                details: Vec::new(),
                next_term: None,
            })
        });
        QuoteDto {
            id_subscription: q.subscription_id,
            label_localized: due_label.into(),
            amount_total_due: q.amount_due_now,
            pricing_localized: Money::new(q.amount_due_now, q.currency).format(locale),
            currency: q.currency.to_string(),
            date_period_start: q.date_period_start_us.map(format_us),
            date_period_end: q.date_period_end_us.map(format_us),
            date_period_term: q.date_period_end_us.map(format_us),
            amount_subtotal: q.amount,
            amount_total: q.amount_total,
            details: q
                .lines
                .iter()
                .map(|l| QuoteDetailDto {
                    id_subscription: l.subscription_id,
                    id_feature: l.feature_id,
                    label_localized: l.label.clone(),
                    amount_total_due: l.amount_due_now,
                    date_period_start: l.date_period_start_us.map(format_us),
                    date_period_end: l.date_period_end_us.map(format_us),
                    quantity_reported: l.quantity_reported,
                    quantity_billed: l.quantity_billed,
                    amount_subtotal: l.amount,
                    amount_total: l.amount_total,
                })
                .collect(),
            next_term: next,
        }
    }
}

/// `POST /v1/Pricing/Usage[?NextTerm=true]`: the price of a usage change,
/// not applied. References may come in the query (integrated-purchasing
/// guide) or the body (PHP library); `NextTerm` in either.
pub async fn post_pricing_usage(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
    body: JsonBody,
) -> ApiResult<Response> {
    let params = params.with_body(&body.0);
    let write = to_write(&body.0, &params, None)?;
    let next_term = params.bool("NextTerm")?.unwrap_or(false);
    let locale = params
        .str("Language")
        .and_then(Locale::parse)
        .or_else(|| Locale::parse(&caller.business.default_language))
        .unwrap_or_default();
    match usages::quote_usage(&state.store, caller.business_id(), &write, caller.now_us).await {
        Ok(quote) => Ok(Json(QuoteDto::new(&quote, next_term, locale)).into_response()),
        // Spec §2.4: NoneMatching is a 404 on pricing.
        Err(ServiceError::Refused { code, message }) if code == NONE_MATCHING => {
            Err(ApiError::new(StatusCode::NOT_FOUND, code, message))
        }
        Err(e) => Err(write_error(e)),
    }
}
