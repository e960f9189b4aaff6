//! The balance: `POST /v1/BalanceLine` (a manual charge or credit, billed at
//! the next billing) and `GET /v1/Balance` (the due lines, with their sums in
//! `Computations`). The rules live in `abo_service::billing::query`.

use super::auth::Caller;
use super::body::{JsonBody, lenient};
use super::dates::format_us;
use super::error::{ApiError, ApiResult};
use super::links::Link;
use super::page::Paging;
use super::params::Params;
use crate::AppState;
use abo_service::billing::query::{self, BalanceLineInput, BalanceLineView, BalanceQuery};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

/// The balance routes, in lower case (see `api::normalise_path`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/balanceline", post(post_balance_line))
        .route("/v1/balance", get(get_balance))
}

/// The contract's `BalanceLine`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BalanceLineDto {
    pub id_customer: i64,
    pub id_segment: i64,
    pub id_subscription: Option<i64>,
    pub id_feature: Option<i64>,
    pub reference_customer: String,
    pub reference_segment: String,
    pub reference_feature: Option<String>,
    pub label_localized: Option<String>,
    pub pricing_localized: Option<String>,
    pub amount_total: i64,
    pub amount_subtotal: i64,
    pub currency: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_move: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_period_start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_period_end: Option<String>,
    pub state_move: String,
    pub type_line: String,
    pub key_charge: Option<String>,
    pub quantity_reported: Option<i64>,
    pub quantity_billed: Option<i64>,
}

/// `TypeLine` as the contract lists it; names outside the enum read `Manual`.
fn type_line(value: &str) -> String {
    value
        .parse::<abo_core::TypeLine>()
        .map(|t| t.as_str().to_owned())
        .unwrap_or_else(|_| "Manual".to_owned())
}

fn dto(view: BalanceLineView) -> BalanceLineDto {
    let l = view.line;
    BalanceLineDto {
        id_customer: l.customer_id,
        id_segment: l.segment_id,
        id_subscription: l.subscription_id,
        id_feature: l.feature_id,
        reference_customer: view.customer_reference,
        reference_segment: view.segment_reference,
        reference_feature: view.feature_reference,
        label_localized: Some(l.label),
        pricing_localized: Some(view.pricing_localized),
        amount_total: view.amount_total,
        amount_subtotal: l.amount_subtotal,
        currency: l.currency,
        date_move: l.date_move_us.map(format_us),
        date_period_start: l.date_period_start_us.map(format_us),
        date_period_end: l.date_period_end_us.map(format_us),
        state_move: l.state_move,
        type_line: type_line(&l.type_line),
        key_charge: l.key_charge,
        quantity_reported: l.quantity_reported,
        quantity_billed: l.quantity_billed,
    }
}

/// The contract's `BalanceLineRequest` (plus `ReferenceSegment`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BalanceLineRequest {
    reference_customer: Option<String>,
    reference_segment: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    amount: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    id_subscription: Option<i64>,
    type_line: Option<String>,
    key_charge: Option<String>,
    label: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    quantity: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_date")]
    date: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_date")]
    date_period_start: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_date")]
    date_period_end: Option<i64>,
}

/// `POST /v1/BalanceLine[?EnsureBillable=true]`: 201 with the line.
async fn post_balance_line(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
    body: JsonBody,
) -> ApiResult<Response> {
    let request: BalanceLineRequest = body.parse()?;
    let params = params.with_body(&body.0);
    let mut errors = Vec::new();
    let reference = request
        .reference_customer
        .clone()
        .or_else(|| params.str("ReferenceCustomer").map(str::to_owned))
        .filter(|r| !r.trim().is_empty());
    if reference.is_none() {
        errors.push(ApiError::invalid(
            "ReferenceCustomer",
            "ReferenceCustomer is required",
        ));
    }
    if request.amount.is_none() {
        errors.push(ApiError::invalid("Amount", "Amount is required"));
    }
    if let Some(e) = ApiError::merge(errors) {
        return Err(e);
    }
    let input = BalanceLineInput {
        reference_customer: reference.unwrap_or_default(),
        reference_segment: request
            .reference_segment
            .or_else(|| params.str("ReferenceSegment").map(str::to_owned)),
        amount: request.amount.unwrap_or_default(),
        id_subscription: request.id_subscription,
        type_line: request.type_line,
        key_charge: request.key_charge,
        label: request.label,
        quantity: request.quantity,
        date_us: request.date,
        date_period_start_us: request.date_period_start,
        date_period_end_us: request.date_period_end,
        ensure_billable: params.bool("EnsureBillable")?.unwrap_or(false),
    };
    let view =
        query::add_balance_line(&state.store, caller.business_id(), &input, caller.now_us).await?;
    Ok((StatusCode::CREATED, Json(dto(view))).into_response())
}

/// The sums of every matching line (not only the page's).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Computations {
    amount_subtotal: i64,
    amount_total: i64,
}

/// The contract's `BalanceLineList`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BalanceBody {
    page: i64,
    size_page: i64,
    count: usize,
    total_items: i64,
    date_generated: String,
    computations: Computations,
    items: Vec<BalanceLineDto>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    links: Vec<Link>,
}

/// `GET /v1/Balance` with `ReferenceCustomer`, `IdCustomer`,
/// `IdSubscription`, `ReferenceFeature` (`Merged` is accepted; lines are
/// never merged), `Page`, `SizePage`. Empty: 200, no items, zero sums.
async fn get_balance(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> ApiResult<Response> {
    let paging = Paging::from_params(&params)?;
    params.bool("Merged")?;
    let filter = BalanceQuery {
        reference_customer: params.str("ReferenceCustomer").map(str::to_owned),
        id_customer: params.i64("IdCustomer")?,
        id_subscription: params.i64("IdSubscription")?,
        reference_feature: params.str("ReferenceFeature").map(str::to_owned),
    };
    // An empty balance is still a balance: 200 with zero computations (the
    // contract documents no 204 here, unlike the other collections).
    let all = query::list_balance(&state.store, caller.business_id(), &filter).await?;
    let total = all.len() as i64;
    let computations = Computations {
        amount_subtotal: all.iter().map(|v| v.line.amount_subtotal).sum(),
        amount_total: all.iter().map(|v| v.amount_total).sum(),
    };
    let start = usize::try_from((paging.page - 1) * paging.size).unwrap_or(usize::MAX);
    let items: Vec<BalanceLineDto> = if paging.size == 0 {
        Vec::new()
    } else {
        all.into_iter()
            .skip(start)
            .take(usize::try_from(paging.size).unwrap_or(0))
            .map(dto)
            .collect()
    };
    let mut links = Vec::new();
    if paging.size > 0 && paging.page * paging.size < total {
        let mut query = String::new();
        if let Some(r) = &filter.reference_customer {
            query.push_str(&format!("ReferenceCustomer={}&", encode(r)));
        }
        links.push(Link::href(
            "next",
            format!(
                "/v1/Balance?{query}Page={}&SizePage={}",
                paging.page + 1,
                paging.size
            ),
        ));
    }
    Ok(Json(BalanceBody {
        page: paging.page,
        size_page: paging.size,
        count: items.len(),
        total_items: total,
        date_generated: format_us(caller.now_us),
        computations,
        items,
        links,
    })
    .into_response())
}

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
