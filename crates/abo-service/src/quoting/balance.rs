//! `POST /v1/Quoting/BalanceLine`: the tax-inclusive amount of a manual
//! line, computed as the invoice will (the line alone, tax by the
//! customer's billing country, rounded once).

use abo_store::balance_lines::BalanceLine;
use abo_store::{Store, segments};
use serde::Serialize;

use super::assemble::quote_of;
use super::subscription::refuse_unbillable;
use crate::billing::query::find_customer;
use crate::error::{Result, ServiceError};

/// What `POST /v1/Quoting/BalanceLine` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BalanceLineQuote {
    pub segment_id: i64,
    pub segment_reference: String,
    pub customer_id: i64,
    pub customer_reference: String,
    pub label: String,
    pub currency: abo_core::Currency,
    pub amount_subtotal: i64,
    pub amount_total: i64,
    pub date_move_us: i64,
    pub quantity: Option<i64>,
}

/// `QuoteBalanceLineRequest`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BalanceLineQuoteRequest {
    pub segment_reference: Option<String>,
    pub customer_reference: String,
    /// Minor units, tax excluded; negative = credit.
    pub amount: i64,
    pub label: Option<String>,
    pub quantity: Option<i64>,
    pub ensure_billable: bool,
}

/// Quotes a manual line for a customer.
pub async fn quote_balance_line(
    store: &Store,
    business_id: i64,
    request: &BalanceLineQuoteRequest,
    now_us: i64,
) -> Result<BalanceLineQuote> {
    let BalanceLineQuoteRequest {
        segment_reference,
        customer_reference: reference,
        amount,
        label,
        quantity,
        ensure_billable,
    } = request;
    let (amount, quantity, ensure_billable) = (*amount, *quantity, *ensure_billable);
    if quantity.is_some_and(|q| q < 0) {
        return Err(ServiceError::invalid("Quantity: must not be negative"));
    }
    let mut conn = store.acquire().await?;
    let customer = find_customer(
        &mut conn,
        business_id,
        segment_reference.as_deref(),
        reference,
    )
    .await?
    .ok_or_else(|| ServiceError::NotFound(format!("customer '{reference}'")))?;
    refuse_unbillable(&mut conn, business_id, customer.id, ensure_billable).await?;
    let segment = segments::get(&mut conn, business_id, customer.segment_id).await?;
    let label = label
        .as_deref()
        .filter(|l| !l.trim().is_empty())
        .unwrap_or("Manual")
        .to_owned();
    // The line as `POST /v1/BalanceLine` would write it (never written).
    let line = BalanceLine {
        id: 0,
        business_id,
        segment_id: segment.id,
        customer_id: customer.id,
        subscription_id: None,
        feature_id: None,
        type_line: "Manual".into(),
        key_charge: None,
        label: label.clone(),
        quantity_reported: quantity,
        quantity_billed: quantity,
        amount_subtotal: amount,
        currency: segment.currency.clone(),
        date_move_us: Some(now_us),
        date_period_start_us: None,
        date_period_end_us: None,
        state_move: "Due".into(),
        invoice_id: None,
        natural_key: None,
        created_at_us: now_us,
    };
    let quote = quote_of(&mut conn, business_id, customer.id, None, &[line]).await?;
    Ok(BalanceLineQuote {
        segment_id: segment.id,
        segment_reference: segment.reference,
        customer_id: customer.id,
        customer_reference: customer.reference,
        label,
        currency: quote.currency,
        amount_subtotal: quote.amount_subtotal,
        amount_total: quote.amount_total,
        date_move_us: now_us,
        quantity,
    })
}
