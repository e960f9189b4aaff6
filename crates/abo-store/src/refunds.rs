//! Refunds of paid invoices (migration 0011). A refund row is written and committed before the
//! gateway is asked, in state `Started`: it reserves what it will credit, so concurrent refunds
//! of one invoice (serialised by [`crate::invoices::lock`]) never add up to more than the
//! invoice. Once the gateway answered, the row gets the issued credit note and `Succeeded`
//! (or `Recorded` for an offline payment), or `Failed`.

use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::error::{OrNotFound, Result, StoreError};
use crate::row::RowExt;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Refund {
    pub id: i64,
    pub business_id: i64,
    pub invoice_id: i64,
    pub credit_note_id: Option<i64>,
    pub payment_id: Option<i64>,
    pub type_payment: String,
    /// Tax included, minor units.
    pub amount: i64,
    pub currency: String,
    /// JSON array of `{rate, base, amount}`: what the credit note credits per tax rate.
    pub breakdown: String,
    pub reason: Option<String>,
    /// `Started`, `Succeeded`, `Recorded`, `Failed`.
    pub state: String,
    pub gateway_refund_id: Option<String>,
    pub failure_reason: Option<String>,
    pub created_at_us: i64,
    pub updated_at_us: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewRefund {
    pub business_id: i64,
    pub invoice_id: i64,
    pub payment_id: Option<i64>,
    pub type_payment: String,
    pub amount: i64,
    pub currency: String,
    pub breakdown: String,
    pub reason: Option<String>,
}

fn from_row(r: &AnyRow) -> sqlx::Result<Refund> {
    Ok(Refund {
        id: r.i("id")?,
        business_id: r.i("business_id")?,
        invoice_id: r.i("invoice_id")?,
        credit_note_id: r.oi("credit_note_id")?,
        payment_id: r.oi("payment_id")?,
        type_payment: r.s("type_payment")?,
        amount: r.i("amount")?,
        currency: r.s("currency")?,
        breakdown: r.s("breakdown")?,
        reason: r.os("reason")?,
        state: r.s("state")?,
        gateway_refund_id: r.os("gateway_refund_id")?,
        failure_reason: r.os("failure_reason")?,
        created_at_us: r.i("created_at_us")?,
        updated_at_us: r.i("updated_at_us")?,
    })
}

/// Insert a `Started` refund (the reservation).
pub async fn insert_started(
    conn: &mut AnyConnection,
    new: &NewRefund,
    now_us: i64,
) -> Result<Refund> {
    let row = sqlx::query(
        "INSERT INTO refunds (business_id, invoice_id, payment_id, type_payment, amount, \
         currency, breakdown, reason, state, created_at_us, updated_at_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'Started', $9, $9) RETURNING *",
    )
    .bind(new.business_id)
    .bind(new.invoice_id)
    .bind(new.payment_id)
    .bind(&new.type_payment)
    .bind(new.amount)
    .bind(&new.currency)
    .bind(&new.breakdown)
    .bind(new.reason.as_deref())
    .bind(now_us)
    .fetch_one(&mut *conn)
    .await?;
    Ok(from_row(&row)?)
}

pub async fn get(conn: &mut AnyConnection, business_id: i64, id: i64) -> Result<Refund> {
    let row = sqlx::query("SELECT * FROM refunds WHERE business_id = $1 AND id = $2")
        .bind(business_id)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .or_not_found("refund")?;
    Ok(from_row(&row)?)
}

/// The refunds of an invoice, oldest first.
pub async fn list_for_invoice(
    conn: &mut AnyConnection,
    business_id: i64,
    invoice_id: i64,
) -> Result<Vec<Refund>> {
    let rows =
        sqlx::query("SELECT * FROM refunds WHERE business_id = $1 AND invoice_id = $2 ORDER BY id")
            .bind(business_id)
            .bind(invoice_id)
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows.iter().map(from_row).collect::<sqlx::Result<_>>()?)
}

/// Finish a `Started` refund: its final state, the credit note it issued (if any), the
/// gateway's refund id or the failure. A refund that is no longer `Started` → `Conflict`
/// (someone else finished it).
#[allow(clippy::too_many_arguments)]
pub async fn finish(
    conn: &mut AnyConnection,
    business_id: i64,
    id: i64,
    state: &str,
    credit_note_id: Option<i64>,
    gateway_refund_id: Option<&str>,
    failure_reason: Option<&str>,
    now_us: i64,
) -> Result<Refund> {
    let done = sqlx::query(
        "UPDATE refunds SET state = $1, credit_note_id = $2, gateway_refund_id = $3, \
         failure_reason = $4, updated_at_us = $5 \
         WHERE business_id = $6 AND id = $7 AND state = 'Started'",
    )
    .bind(state)
    .bind(credit_note_id)
    .bind(gateway_refund_id)
    .bind(failure_reason)
    .bind(now_us)
    .bind(business_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::Conflict(format!(
            "refund {id} was finished concurrently"
        )));
    }
    get(conn, business_id, id).await
}
