//! Payment methods and payment attempts (billing, collection).
//!
//! * `gateway_permissions`: our snapshot of a customer's stored card or SEPA mandate
//!   (ProAbono's `GatewayPermission`); charges hand the gateway its own id back.
//! * `payments`: one row per collection attempt of an invoice, unique per (invoice, attempt),
//!   so a retried job finds the attempt it already started instead of charging twice.

use sqlx::AnyConnection;

use crate::error::{OrNotFound, Result, StoreError};
use crate::row::RowExt;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Permission {
    pub id: i64,
    pub business_id: i64,
    pub customer_id: i64,
    /// "Card" or "DirectDebit".
    pub type_payment: String,
    /// "CardDummy", "DirectDebitDummy", ...
    pub type_gateway: String,
    /// The gateway's own id of the card or mandate.
    pub gateway_permission_id: String,
    /// "Enabled", "Disabled", "Expired", "PendingAuthentication".
    pub state: String,
    pub name_display: String,
    pub country: Option<String>,
    /// `YYYY-MM-DD`.
    pub date_expiration: Option<String>,
    pub mandate_reference: Option<String>,
    pub created_at_us: i64,
    pub updated_at_us: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewPermission {
    pub business_id: i64,
    pub customer_id: i64,
    pub type_payment: String,
    pub type_gateway: String,
    pub gateway_permission_id: String,
    pub state: String,
    pub name_display: String,
    pub country: Option<String>,
    pub date_expiration: Option<String>,
    pub mandate_reference: Option<String>,
}

fn permission_from_row(r: &impl RowExt) -> sqlx::Result<Permission> {
    Ok(Permission {
        id: r.i("id")?,
        business_id: r.i("business_id")?,
        customer_id: r.i("customer_id")?,
        type_payment: r.s("type_payment")?,
        type_gateway: r.s("type_gateway")?,
        gateway_permission_id: r.s("gateway_permission_id")?,
        state: r.s("state")?,
        name_display: r.s("name_display")?,
        country: r.os("country")?,
        date_expiration: r.os("date_expiration")?,
        mandate_reference: r.os("mandate_reference")?,
        created_at_us: r.i("created_at_us")?,
        updated_at_us: r.i("updated_at_us")?,
    })
}

/// Store a permission the gateway just registered.
pub async fn insert_permission(
    conn: &mut AnyConnection,
    new: &NewPermission,
    now_us: i64,
) -> Result<Permission> {
    let row = sqlx::query(
        "INSERT INTO gateway_permissions (business_id, customer_id, type_payment, type_gateway, \
         gateway_permission_id, state, name_display, country, date_expiration, \
         mandate_reference, created_at_us, updated_at_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING *",
    )
    .bind(new.business_id)
    .bind(new.customer_id)
    .bind(&new.type_payment)
    .bind(&new.type_gateway)
    .bind(&new.gateway_permission_id)
    .bind(&new.state)
    .bind(&new.name_display)
    .bind(new.country.as_deref())
    .bind(new.date_expiration.as_deref())
    .bind(new.mandate_reference.as_deref())
    .bind(now_us)
    .fetch_one(&mut *conn)
    .await?;
    Ok(permission_from_row(&row)?)
}

pub async fn get_permission(
    conn: &mut AnyConnection,
    business_id: i64,
    id: i64,
) -> Result<Permission> {
    let row = sqlx::query("SELECT * FROM gateway_permissions WHERE business_id = $1 AND id = $2")
        .bind(business_id)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .or_not_found("gateway permission")?;
    Ok(permission_from_row(&row)?)
}

/// The customer's newest enabled permission of a payment type: the one charges use.
pub async fn current_permission(
    conn: &mut AnyConnection,
    business_id: i64,
    customer_id: i64,
    type_payment: &str,
) -> Result<Option<Permission>> {
    let row = sqlx::query(
        "SELECT * FROM gateway_permissions WHERE business_id = $1 AND customer_id = $2 \
         AND type_payment = $3 AND state = 'Enabled' ORDER BY id DESC LIMIT 1",
    )
    .bind(business_id)
    .bind(customer_id)
    .bind(type_payment)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(permission_from_row).transpose()?)
}

pub async fn set_permission_state(
    conn: &mut AnyConnection,
    business_id: i64,
    id: i64,
    state: &str,
    now_us: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE gateway_permissions SET state = $1, updated_at_us = $2 \
         WHERE business_id = $3 AND id = $4",
    )
    .bind(state)
    .bind(now_us)
    .bind(business_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Payment {
    pub id: i64,
    pub business_id: i64,
    pub invoice_id: i64,
    /// 1 for the first attempt.
    pub attempt: i64,
    /// "Card", "DirectDebit", "ExternalBank", ...
    pub type_payment: String,
    pub permission_id: Option<i64>,
    /// The gateway's charge id, once the gateway answered.
    pub charge_id: Option<String>,
    pub amount: i64,
    pub currency: String,
    /// "Started", "Succeeded", "Pending", "RequiresAction", "Failed", "Disputed",
    /// "Registered" (an offline payment).
    pub state: String,
    pub failure_reason: Option<String>,
    pub note: Option<String>,
    pub date_payment_us: Option<i64>,
    pub created_at_us: i64,
    pub updated_at_us: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewPayment {
    pub business_id: i64,
    pub invoice_id: i64,
    pub attempt: i64,
    pub type_payment: String,
    pub permission_id: Option<i64>,
    pub amount: i64,
    pub currency: String,
    pub state: String,
    pub note: Option<String>,
    pub date_payment_us: Option<i64>,
}

impl NewPayment {
    /// The row [`insert_attempts`] writes for it, under `id` (known from
    /// what was written, not read back).
    fn inserted(&self, id: i64, now_us: i64) -> Payment {
        Payment {
            id,
            business_id: self.business_id,
            invoice_id: self.invoice_id,
            attempt: self.attempt,
            type_payment: self.type_payment.clone(),
            permission_id: self.permission_id,
            charge_id: None,
            amount: self.amount,
            currency: self.currency.clone(),
            state: self.state.clone(),
            failure_reason: None,
            note: self.note.clone(),
            date_payment_us: self.date_payment_us,
            created_at_us: now_us,
            updated_at_us: now_us,
        }
    }
}

fn payment_from_row(r: &impl RowExt) -> sqlx::Result<Payment> {
    Ok(Payment {
        id: r.i("id")?,
        business_id: r.i("business_id")?,
        invoice_id: r.i("invoice_id")?,
        attempt: r.i("attempt")?,
        type_payment: r.s("type_payment")?,
        permission_id: r.oi("permission_id")?,
        charge_id: r.os("charge_id")?,
        amount: r.i("amount")?,
        currency: r.s("currency")?,
        state: r.s("state")?,
        failure_reason: r.os("failure_reason")?,
        note: r.os("note")?,
        date_payment_us: r.oi("date_payment_us")?,
        created_at_us: r.i("created_at_us")?,
        updated_at_us: r.i("updated_at_us")?,
    })
}

/// Insert the attempt unless (invoice, attempt) already exists; either way return the row and
/// whether it was created now.
pub async fn insert_attempt(
    conn: &mut AnyConnection,
    new: &NewPayment,
    now_us: i64,
) -> Result<(Payment, bool)> {
    let row = sqlx::query(
        "INSERT INTO payments (business_id, invoice_id, attempt, type_payment, permission_id, \
         amount, currency, state, note, date_payment_us, created_at_us, updated_at_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
         ON CONFLICT (business_id, invoice_id, attempt) DO NOTHING RETURNING *",
    )
    .bind(new.business_id)
    .bind(new.invoice_id)
    .bind(new.attempt)
    .bind(&new.type_payment)
    .bind(new.permission_id)
    .bind(new.amount)
    .bind(&new.currency)
    .bind(&new.state)
    .bind(new.note.as_deref())
    .bind(new.date_payment_us)
    .bind(now_us)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = row {
        return Ok((payment_from_row(&row)?, true));
    }
    let existing = find_attempt(conn, new.business_id, new.invoice_id, new.attempt)
        .await?
        .or_not_found("payment")?;
    Ok((existing, false))
}

pub async fn find_attempt(
    conn: &mut AnyConnection,
    business_id: i64,
    invoice_id: i64,
    attempt: i64,
) -> Result<Option<Payment>> {
    let row = sqlx::query(
        "SELECT * FROM payments WHERE business_id = $1 AND invoice_id = $2 AND attempt = $3",
    )
    .bind(business_id)
    .bind(invoice_id)
    .bind(attempt)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(payment_from_row).transpose()?)
}

/// The invoice's attempts, first first.
pub async fn list_for_invoice(
    conn: &mut AnyConnection,
    business_id: i64,
    invoice_id: i64,
) -> Result<Vec<Payment>> {
    let rows = sqlx::query(
        "SELECT * FROM payments WHERE business_id = $1 AND invoice_id = $2 ORDER BY attempt",
    )
    .bind(business_id)
    .bind(invoice_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(payment_from_row)
        .collect::<sqlx::Result<_>>()?)
}

/// The next attempt number of an invoice (1 when none).
pub async fn next_attempt(
    conn: &mut AnyConnection,
    business_id: i64,
    invoice_id: i64,
) -> Result<i64> {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(MAX(attempt), 0) AS BIGINT) AS n FROM payments \
         WHERE business_id = $1 AND invoice_id = $2",
    )
    .bind(business_id)
    .bind(invoice_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.i("n")? + 1)
}

/// Record what the gateway answered for an attempt.
#[allow(clippy::too_many_arguments)]
pub async fn set_outcome(
    conn: &mut AnyConnection,
    business_id: i64,
    id: i64,
    state: &str,
    charge_id: Option<&str>,
    failure_reason: Option<&str>,
    date_payment_us: Option<i64>,
    now_us: i64,
) -> Result<Payment> {
    let row = sqlx::query(
        "UPDATE payments SET state = $1, charge_id = COALESCE($2, charge_id), \
         failure_reason = $3, date_payment_us = COALESCE($4, date_payment_us), \
         updated_at_us = $5 WHERE business_id = $6 AND id = $7 RETURNING *",
    )
    .bind(state)
    .bind(charge_id)
    .bind(failure_reason)
    .bind(date_payment_us)
    .bind(now_us)
    .bind(business_id)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .or_not_found("payment")?;
    Ok(payment_from_row(&row)?)
}

// ---------------------------------------------------------------------------------------------
// The engine's batches: many attempts per statement.

/// The attempts that exist among `(invoice, attempt)` pairs.
pub async fn find_attempts(
    conn: &mut AnyConnection,
    business_id: i64,
    pairs: &[(i64, i64)],
) -> Result<Vec<Payment>> {
    let mut out = Vec::new();
    for chunk in pairs.chunks(crate::many::CHUNK) {
        let mut p = crate::many::Placeholders::of(conn);
        // Driven by the pairs: a row-value `IN` would be looked up through the index prefix
        // (`business_id`) only, reading every payment of the business on SQLite.
        let sql = format!(
            "SELECT p.* FROM (VALUES {}) AS v JOIN payments p ON p.business_id = {} \
             AND p.invoice_id = v.column1 AND p.attempt = v.column2",
            p.tuples(chunk.len(), 2),
            p.one()
        );
        // Only placeholders are interpolated; every value is bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (invoice, attempt) in chunk {
            query = query.bind(*invoice).bind(*attempt);
        }
        query = query.bind(business_id);
        for row in query.fetch_all(&mut *conn).await? {
            out.push(payment_from_row(&row)?);
        }
    }
    Ok(out)
}

/// The enabled permissions of many customers, newest first: the first of a customer and
/// payment type is its [`current_permission`].
pub async fn enabled_permissions_of(
    conn: &mut AnyConnection,
    business_id: i64,
    customer_ids: &[i64],
) -> Result<Vec<Permission>> {
    // No ORDER BY: sorting by id would lead SQLite to read the business's permissions in id
    // order rather than look each customer up in `gateway_permissions_customer_idx`.
    let select = "SELECT * FROM gateway_permissions WHERE state = 'Enabled' AND";
    let rows = crate::many::select_in(
        conn,
        "payments.enabled_permissions_of",
        select,
        business_id,
        "customer_id",
        customer_ids,
        "",
    )
    .await?;
    let mut out: Vec<Permission> = rows
        .iter()
        .map(permission_from_row)
        .collect::<sqlx::Result<_>>()?;
    out.sort_by_key(|p| std::cmp::Reverse(p.id));
    Ok(out)
}

/// [`insert_attempt`] for many new attempts; an attempt that already exists is left as it is
/// and not returned.
pub async fn insert_attempts(
    conn: &mut AnyConnection,
    new: &[NewPayment],
    now_us: i64,
) -> Result<Vec<Payment>> {
    let mut out = Vec::with_capacity(new.len());
    for chunk in new.chunks(crate::many::CHUNK) {
        let mut ph = crate::many::Placeholders::of(conn);
        let values = (0..chunk.len())
            .map(|_| format!("({}, {})", ph.list(10), ph.list(2)))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO payments (business_id, invoice_id, attempt, type_payment, \
             permission_id, amount, currency, state, note, date_payment_us, created_at_us, \
             updated_at_us) VALUES {values} \
             ON CONFLICT (business_id, invoice_id, attempt) DO NOTHING"
        );
        let bind = |mut query: crate::many::Query<'static>| {
            for p in chunk {
                query = query
                    .bind(p.business_id)
                    .bind(p.invoice_id)
                    .bind(p.attempt)
                    .bind(p.type_payment.as_str())
                    .bind(p.permission_id)
                    .bind(p.amount)
                    .bind(p.currency.as_str())
                    .bind(p.state.as_str())
                    .bind(p.note.as_deref())
                    .bind(p.date_payment_us)
                    .bind(now_us)
                    .bind(now_us);
            }
            query
        };
        let rows = crate::many::insert_returning(
            conn,
            "payments.inserted",
            "payments",
            "id, invoice_id, attempt",
            sql,
            bind,
        )
        .await?;
        let mut written: std::collections::HashMap<(i64, i64), &NewPayment> = chunk
            .iter()
            .map(|p| ((p.invoice_id, p.attempt), p))
            .collect();
        for row in rows {
            let key = (row.i("invoice_id")?, row.i("attempt")?);
            let new = written
                .remove(&key)
                .ok_or_else(|| StoreError::Conflict(format!("payment {key:?} inserted twice")))?;
            out.push(new.inserted(row.i("id")?, now_us));
        }
    }
    Ok(out)
}

/// A charge the gateway took at once (see [`set_succeeded_many`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Succeeded {
    pub payment_id: i64,
    pub charge_id: String,
}

/// [`set_outcome`] `Succeeded` (paid at `now_us`) for many attempts still `Started`. Returns
/// how many were.
pub async fn set_succeeded_many(
    conn: &mut AnyConnection,
    business_id: i64,
    succeeded: &[Succeeded],
    now_us: i64,
) -> Result<u64> {
    let mut done = 0;
    for chunk in succeeded.chunks(crate::many::CHUNK) {
        let mut p = crate::many::Placeholders::of(conn);
        let sql = format!(
            "UPDATE payments SET state = 'Succeeded', charge_id = v.column2, \
             failure_reason = NULL, date_payment_us = {}, updated_at_us = {} \
             FROM (VALUES {}) AS v WHERE payments.business_id = {} \
             AND payments.id = v.column1 AND payments.state = 'Started'",
            p.one(),
            p.one(),
            p.tuples(chunk.len(), 2),
            p.one()
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now_us)
            .bind(now_us);
        for s in chunk {
            query = query.bind(s.payment_id).bind(s.charge_id.as_str());
        }
        done += query
            .bind(business_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    Ok(done)
}
