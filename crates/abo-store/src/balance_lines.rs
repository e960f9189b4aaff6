//! Balance lines: amounts owed (or credited) by a customer, waiting to be invoiced. A natural
//! key (unique per business) makes each billing effect exactly-once.

use sqlx::AnyConnection;

use crate::error::{OrNotFound, Result};
use crate::row::RowExt;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BalanceLine {
    pub id: i64,
    pub business_id: i64,
    pub segment_id: i64,
    pub customer_id: i64,
    pub subscription_id: Option<i64>,
    pub feature_id: Option<i64>,
    /// ProAbono `TypeLine`, e.g. "SubscriptionRenewal", "AutoDiscountRecurrence".
    pub type_line: String,
    pub key_charge: Option<String>,
    pub label: String,
    pub quantity_reported: Option<i64>,
    pub quantity_billed: Option<i64>,
    /// Minor units, negative for credits.
    pub amount_subtotal: i64,
    pub currency: String,
    pub date_move_us: Option<i64>,
    pub date_period_start_us: Option<i64>,
    pub date_period_end_us: Option<i64>,
    /// "Due", "Billed", ...
    pub state_move: String,
    pub invoice_id: Option<i64>,
    pub natural_key: Option<String>,
    pub created_at_us: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewBalanceLine {
    pub business_id: i64,
    pub segment_id: i64,
    pub customer_id: i64,
    pub subscription_id: Option<i64>,
    pub feature_id: Option<i64>,
    pub type_line: String,
    pub key_charge: Option<String>,
    pub label: String,
    pub quantity_reported: Option<i64>,
    pub quantity_billed: Option<i64>,
    pub amount_subtotal: i64,
    pub currency: String,
    pub date_move_us: Option<i64>,
    pub date_period_start_us: Option<i64>,
    pub date_period_end_us: Option<i64>,
    /// e.g. "renewal:sub=12:period=3". Lines without a key are never deduplicated.
    pub natural_key: Option<String>,
}

fn from_row(r: &impl RowExt) -> sqlx::Result<BalanceLine> {
    Ok(BalanceLine {
        id: r.i("id")?,
        business_id: r.i("business_id")?,
        segment_id: r.i("segment_id")?,
        customer_id: r.i("customer_id")?,
        subscription_id: r.oi("subscription_id")?,
        feature_id: r.oi("feature_id")?,
        type_line: r.s("type_line")?,
        key_charge: r.os("key_charge")?,
        label: r.s("label")?,
        quantity_reported: r.oi("quantity_reported")?,
        quantity_billed: r.oi("quantity_billed")?,
        amount_subtotal: r.i("amount_subtotal")?,
        currency: r.s("currency")?,
        date_move_us: r.oi("date_move_us")?,
        date_period_start_us: r.oi("date_period_start_us")?,
        date_period_end_us: r.oi("date_period_end_us")?,
        state_move: r.s("state_move")?,
        invoice_id: r.oi("invoice_id")?,
        natural_key: r.os("natural_key")?,
        created_at_us: r.i("created_at_us")?,
    })
}

/// Insert a due line. If a line with the same natural key already exists for the business,
/// nothing is written and the existing line is returned with `false`.
pub async fn insert(
    conn: &mut AnyConnection,
    new: &NewBalanceLine,
    now_us: i64,
) -> Result<(BalanceLine, bool)> {
    let row = sqlx::query(
        "INSERT INTO balance_lines (business_id, segment_id, customer_id, subscription_id, \
         feature_id, type_line, key_charge, label, quantity_reported, quantity_billed, \
         amount_subtotal, currency, date_move_us, date_period_start_us, date_period_end_us, \
         state_move, natural_key, created_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
         $10, $11, $12, $13, $14, $15, 'Due', $16, $17) \
         ON CONFLICT (business_id, natural_key) DO NOTHING RETURNING *",
    )
    .bind(new.business_id)
    .bind(new.segment_id)
    .bind(new.customer_id)
    .bind(new.subscription_id)
    .bind(new.feature_id)
    .bind(&new.type_line)
    .bind(new.key_charge.as_deref())
    .bind(&new.label)
    .bind(new.quantity_reported)
    .bind(new.quantity_billed)
    .bind(new.amount_subtotal)
    .bind(&new.currency)
    .bind(new.date_move_us)
    .bind(new.date_period_start_us)
    .bind(new.date_period_end_us)
    .bind(new.natural_key.as_deref())
    .bind(now_us)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = row {
        return Ok((from_row(&row)?, true));
    }
    let key = new.natural_key.as_deref().unwrap_or_default();
    let existing = find_by_natural_key(conn, new.business_id, key)
        .await?
        .or_not_found("balance line")?;
    Ok((existing, false))
}

pub async fn find_by_natural_key(
    conn: &mut AnyConnection,
    business_id: i64,
    natural_key: &str,
) -> Result<Option<BalanceLine>> {
    let row =
        sqlx::query("SELECT * FROM balance_lines WHERE business_id = $1 AND natural_key = $2")
            .bind(business_id)
            .bind(natural_key)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

pub async fn get(conn: &mut AnyConnection, business_id: i64, id: i64) -> Result<BalanceLine> {
    let row = sqlx::query("SELECT * FROM balance_lines WHERE business_id = $1 AND id = $2")
        .bind(business_id)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .or_not_found("balance line")?;
    Ok(from_row(&row)?)
}

/// The customer's lines in a given state (e.g. "Due"), oldest first.
pub async fn list_for_customer(
    conn: &mut AnyConnection,
    business_id: i64,
    customer_id: i64,
    state_move: Option<&str>,
) -> Result<Vec<BalanceLine>> {
    let rows = sqlx::query(
        "SELECT * FROM balance_lines WHERE business_id = $1 AND customer_id = $2 \
         AND ($3 IS NULL OR state_move = $3) ORDER BY id",
    )
    .bind(business_id)
    .bind(customer_id)
    .bind(state_move)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(from_row).collect::<sqlx::Result<_>>()?)
}

/// Attach a due line to an invoice and mark it billed. Returns false if the line was not
/// `Due` any more (already billed by someone else) — the caller should then roll back.
pub async fn mark_billed(
    conn: &mut AnyConnection,
    business_id: i64,
    id: i64,
    invoice_id: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE balance_lines SET state_move = 'Billed', invoice_id = $1 \
         WHERE business_id = $2 AND id = $3 AND state_move = 'Due'",
    )
    .bind(invoice_id)
    .bind(business_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Set a line's state (e.g. "Cancelled").
pub async fn set_state(
    conn: &mut AnyConnection,
    business_id: i64,
    id: i64,
    state_move: &str,
) -> Result<BalanceLine> {
    let row = sqlx::query(
        "UPDATE balance_lines SET state_move = $1 WHERE business_id = $2 AND id = $3 RETURNING *",
    )
    .bind(state_move)
    .bind(business_id)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .or_not_found("balance line")?;
    Ok(from_row(&row)?)
}

/// Sum of the customer's due lines (minor units), computed in SQL.
pub async fn due_total(
    conn: &mut AnyConnection,
    business_id: i64,
    customer_id: i64,
) -> Result<i64> {
    // CAST: SUM(BIGINT) is NUMERIC on Postgres, which the Any driver cannot read.
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(amount_subtotal), 0) AS BIGINT) AS total FROM balance_lines \
         WHERE business_id = $1 AND customer_id = $2 AND state_move = 'Due'",
    )
    .bind(business_id)
    .bind(customer_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.i("total")?)
}

// ---------------------------------------------------------------------------------------------
// Added for the balance API (`GET /v1/Balance`): the business's lines in one state, filtered.

/// Lines of the business in `state_move`, optionally of one customer, subscription and
/// feature, oldest first.
pub async fn list_filtered(
    conn: &mut AnyConnection,
    business_id: i64,
    state_move: &str,
    customer_id: Option<i64>,
    subscription_id: Option<i64>,
    feature_id: Option<i64>,
) -> Result<Vec<BalanceLine>> {
    let rows = sqlx::query(
        "SELECT * FROM balance_lines WHERE business_id = $1 AND state_move = $2 \
         AND ($3 IS NULL OR customer_id = $3) AND ($4 IS NULL OR subscription_id = $4) \
         AND ($5 IS NULL OR feature_id = $5) ORDER BY id",
    )
    .bind(business_id)
    .bind(state_move)
    .bind(customer_id)
    .bind(subscription_id)
    .bind(feature_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(from_row).collect::<sqlx::Result<_>>()?)
}

// ---------------------------------------------------------------------------------------------
// The engine's batches: many lines per statement.

/// [`insert`] for many lines: a line whose natural key is already known is skipped. Returns
/// how many were inserted.
pub async fn insert_many(
    conn: &mut AnyConnection,
    lines: &[NewBalanceLine],
    now_us: i64,
) -> Result<u64> {
    let mut inserted = 0;
    for chunk in lines.chunks(crate::many::CHUNK) {
        let mut p = crate::many::Placeholders::of(conn);
        let sql = format!(
            "INSERT INTO balance_lines (business_id, segment_id, customer_id, subscription_id, \
             feature_id, type_line, key_charge, label, quantity_reported, quantity_billed, \
             amount_subtotal, currency, date_move_us, date_period_start_us, date_period_end_us, \
             natural_key, state_move, created_at_us) VALUES {} \
             ON CONFLICT (business_id, natural_key) DO NOTHING",
            (0..chunk.len())
                .map(|_| format!("({}, 'Due', {})", p.list(16), p.one()))
                .collect::<Vec<_>>()
                .join(", ")
        );
        // Only placeholders are interpolated; every value is bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for new in chunk {
            query = query
                .bind(new.business_id)
                .bind(new.segment_id)
                .bind(new.customer_id)
                .bind(new.subscription_id)
                .bind(new.feature_id)
                .bind(new.type_line.as_str())
                .bind(new.key_charge.as_deref())
                .bind(new.label.as_str())
                .bind(new.quantity_reported)
                .bind(new.quantity_billed)
                .bind(new.amount_subtotal)
                .bind(new.currency.as_str())
                .bind(new.date_move_us)
                .bind(new.date_period_start_us)
                .bind(new.date_period_end_us)
                .bind(new.natural_key.as_deref())
                .bind(now_us);
        }
        inserted += query.execute(&mut *conn).await?.rows_affected();
    }
    Ok(inserted)
}

/// The `Due` lines of many customers, by customer then id (the order of
/// [`list_for_customer`]).
pub async fn due_of_customers(
    conn: &mut AnyConnection,
    business_id: i64,
    customer_ids: &[i64],
) -> Result<Vec<BalanceLine>> {
    let select = "SELECT * FROM balance_lines WHERE state_move = 'Due' AND";
    let order = "ORDER BY customer_id, id";
    let rows = crate::many::select_in(
        conn,
        "balance_lines.due_of_customers",
        select,
        business_id,
        "customer_id",
        customer_ids,
        order,
    )
    .await?;
    Ok(rows.iter().map(from_row).collect::<sqlx::Result<_>>()?)
}

/// [`mark_billed`] for many `(line, invoice)` pairs. Returns how many lines were still `Due`
/// (fewer than asked: some were billed concurrently, and the caller should roll back).
pub async fn mark_billed_many(
    conn: &mut AnyConnection,
    business_id: i64,
    pairs: &[(i64, i64)],
) -> Result<u64> {
    let mut done = 0;
    for chunk in pairs.chunks(crate::many::CHUNK) {
        let mut p = crate::many::Placeholders::of(conn);
        let sql = format!(
            "UPDATE balance_lines SET state_move = 'Billed', invoice_id = v.column2 \
             FROM (VALUES {}) AS v WHERE balance_lines.business_id = {} \
             AND balance_lines.id = v.column1 AND balance_lines.state_move = 'Due'",
            p.tuples(chunk.len(), 2),
            p.one()
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (line, invoice) in chunk {
            query = query.bind(*line).bind(*invoice);
        }
        done += query
            .bind(business_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    Ok(done)
}
