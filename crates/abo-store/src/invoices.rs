//! Invoices and credit notes. A draft has no number; `issue` takes the next number from the
//! segment's counter in the caller's transaction, so numbering is gapless: a rolled-back
//! issue never burns a number.

use sqlx::AnyConnection;

use crate::error::{OrNotFound, Result, StoreError};
use crate::row::RowExt;
use crate::{Page, PageRequest};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InvoiceLine {
    pub id: i64,
    pub invoice_id: i64,
    pub position: i64,
    pub balance_line_id: Option<i64>,
    pub type_line: String,
    pub label: String,
    pub quantity: i64,
    pub unit_amount: i64,
    pub amount_subtotal: i64,
    /// Decimal text, e.g. "20" or "5.5".
    pub tax_rate: String,
    pub amount_tax: i64,
    pub date_period_start_us: Option<i64>,
    pub date_period_end_us: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Invoice {
    pub id: i64,
    pub business_id: i64,
    pub segment_id: i64,
    pub customer_id: i64,
    pub number: Option<i64>,
    pub full_number: Option<String>,
    pub is_credit_note: bool,
    pub type_credit: Option<String>,
    pub credited_invoice_id: Option<i64>,
    /// "Draft", then e.g. "Due", "Paid", "Cancelled", ...
    pub state: String,
    pub type_payment: String,
    pub currency: String,
    pub amount_subtotal: i64,
    pub amount_tax: i64,
    pub amount_total: i64,
    pub date_issue_us: Option<i64>,
    pub date_payment_us: Option<i64>,
    pub date_payment_limit_us: Option<i64>,
    pub date_payment_scheduled_us: Option<i64>,
    pub note: Option<String>,
    pub reason: Option<String>,
    /// JSON snapshot of the buyer (name, billing address, tax id) at issue time.
    pub buyer: Option<String>,
    pub lines: Vec<InvoiceLine>,
    pub created_at_us: i64,
    pub updated_at_us: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewInvoiceLine {
    pub balance_line_id: Option<i64>,
    pub type_line: String,
    pub label: String,
    pub quantity: i64,
    pub unit_amount: i64,
    pub amount_subtotal: i64,
    pub tax_rate: String,
    pub amount_tax: i64,
    pub date_period_start_us: Option<i64>,
    pub date_period_end_us: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewInvoice {
    pub business_id: i64,
    pub segment_id: i64,
    pub customer_id: i64,
    pub is_credit_note: bool,
    pub type_credit: Option<String>,
    pub credited_invoice_id: Option<i64>,
    pub type_payment: String,
    pub currency: String,
    /// Totals as computed by abo-core (stored as given).
    pub amount_subtotal: i64,
    pub amount_tax: i64,
    pub amount_total: i64,
    pub date_payment_limit_us: Option<i64>,
    pub date_payment_scheduled_us: Option<i64>,
    pub note: Option<String>,
    pub reason: Option<String>,
    pub buyer: Option<String>,
    pub lines: Vec<NewInvoiceLine>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvoiceFilter {
    pub segment_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub state: Option<String>,
    pub is_credit_note: Option<bool>,
}

fn from_row(r: &impl RowExt) -> sqlx::Result<Invoice> {
    Ok(Invoice {
        id: r.i("id")?,
        business_id: r.i("business_id")?,
        segment_id: r.i("segment_id")?,
        customer_id: r.i("customer_id")?,
        number: r.oi("number")?,
        full_number: r.os("full_number")?,
        is_credit_note: r.b("is_credit_note")?,
        type_credit: r.os("type_credit")?,
        credited_invoice_id: r.oi("credited_invoice_id")?,
        state: r.s("state")?,
        type_payment: r.s("type_payment")?,
        currency: r.s("currency")?,
        amount_subtotal: r.i("amount_subtotal")?,
        amount_tax: r.i("amount_tax")?,
        amount_total: r.i("amount_total")?,
        date_issue_us: r.oi("date_issue_us")?,
        date_payment_us: r.oi("date_payment_us")?,
        date_payment_limit_us: r.oi("date_payment_limit_us")?,
        date_payment_scheduled_us: r.oi("date_payment_scheduled_us")?,
        note: r.os("note")?,
        reason: r.os("reason")?,
        buyer: r.os("buyer")?,
        lines: Vec::new(),
        created_at_us: r.i("created_at_us")?,
        updated_at_us: r.i("updated_at_us")?,
    })
}

fn line_from_row(r: &impl RowExt) -> sqlx::Result<InvoiceLine> {
    Ok(InvoiceLine {
        id: r.i("id")?,
        invoice_id: r.i("invoice_id")?,
        position: r.i("position")?,
        balance_line_id: r.oi("balance_line_id")?,
        type_line: r.s("type_line")?,
        label: r.s("label")?,
        quantity: r.i("quantity")?,
        unit_amount: r.i("unit_amount")?,
        amount_subtotal: r.i("amount_subtotal")?,
        tax_rate: r.s("tax_rate")?,
        amount_tax: r.i("amount_tax")?,
        date_period_start_us: r.oi("date_period_start_us")?,
        date_period_end_us: r.oi("date_period_end_us")?,
    })
}

/// Create a draft (no number yet) with its lines.
pub async fn create_draft(
    conn: &mut AnyConnection,
    new: &NewInvoice,
    now_us: i64,
) -> Result<Invoice> {
    let row = sqlx::query(
        "INSERT INTO invoices (business_id, segment_id, customer_id, is_credit_note, \
         type_credit, credited_invoice_id, state, type_payment, currency, amount_subtotal, \
         amount_tax, amount_total, date_payment_limit_us, date_payment_scheduled_us, note, \
         reason, buyer, created_at_us, updated_at_us) VALUES ($1, $2, $3, $4, $5, $6, 'Draft', \
         $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17) RETURNING id",
    )
    .bind(new.business_id)
    .bind(new.segment_id)
    .bind(new.customer_id)
    .bind(new.is_credit_note)
    .bind(new.type_credit.as_deref())
    .bind(new.credited_invoice_id)
    .bind(&new.type_payment)
    .bind(&new.currency)
    .bind(new.amount_subtotal)
    .bind(new.amount_tax)
    .bind(new.amount_total)
    .bind(new.date_payment_limit_us)
    .bind(new.date_payment_scheduled_us)
    .bind(new.note.as_deref())
    .bind(new.reason.as_deref())
    .bind(new.buyer.as_deref())
    .bind(now_us)
    .fetch_one(&mut *conn)
    .await?;
    let id = row.i("id")?;
    for (position, l) in new.lines.iter().enumerate() {
        sqlx::query(
            "INSERT INTO invoice_lines (invoice_id, position, balance_line_id, type_line, label, \
             quantity, unit_amount, amount_subtotal, tax_rate, amount_tax, \
             date_period_start_us, date_period_end_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(id)
        .bind(position as i64)
        .bind(l.balance_line_id)
        .bind(&l.type_line)
        .bind(&l.label)
        .bind(l.quantity)
        .bind(l.unit_amount)
        .bind(l.amount_subtotal)
        .bind(&l.tax_rate)
        .bind(l.amount_tax)
        .bind(l.date_period_start_us)
        .bind(l.date_period_end_us)
        .execute(&mut *conn)
        .await?;
    }
    get(conn, new.business_id, id).await
}

/// Takes the next `count` numbers of a segment's invoice (or credit-note) counter: `(number,
/// full number)` in order. The UPDATE locks the segment row (Postgres) / the database (SQLite)
/// until commit, so concurrent issues in one segment are serialised and numbers stay
/// consecutive; a rollback gives the numbers back.
pub async fn take_numbers(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
    credit_note: bool,
    count: i64,
) -> Result<Vec<(i64, String)>> {
    let counter = if credit_note {
        sqlx::query(
            "UPDATE segments SET next_credit_note_number = next_credit_note_number + $3 \
             WHERE business_id = $1 AND id = $2 \
             RETURNING next_credit_note_number - $3 AS number, credit_note_prefix AS prefix",
        )
    } else {
        sqlx::query(
            "UPDATE segments SET next_invoice_number = next_invoice_number + $3 \
             WHERE business_id = $1 AND id = $2 \
             RETURNING next_invoice_number - $3 AS number, invoice_prefix AS prefix",
        )
    }
    .bind(business_id)
    .bind(segment_id)
    .bind(count)
    .fetch_optional(&mut *conn)
    .await?
    .or_not_found("segment")?;
    let (first, prefix) = (counter.i("number")?, counter.s("prefix")?);
    (first..first + count)
        .map(|number| {
            let value = u64::try_from(number).map_err(|_| {
                StoreError::Invalid(format!("invoice counter {number} is negative"))
            })?;
            // The printed number's shape is a billing rule, so abo-core owns it.
            Ok((
                number,
                abo_core::billing::full_number(&prefix, segment_id, value),
            ))
        })
        .collect()
}

/// Issue a draft: take the next number of its segment's invoice (or credit-note) counter,
/// set `full_number`, `date_issue_us = now_us` and `state`. Run it in the same transaction as
/// everything the issue implies; if that transaction rolls back, the number is not used.
/// An already-issued invoice → `Invalid`.
pub async fn issue(
    conn: &mut AnyConnection,
    business_id: i64,
    id: i64,
    state: &str,
    now_us: i64,
) -> Result<Invoice> {
    let invoice = get(conn, business_id, id).await?;
    if invoice.number.is_some() {
        return Err(StoreError::Invalid(format!(
            "invoice {id} is already issued"
        )));
    }
    let (number, full) = take_numbers(
        conn,
        business_id,
        invoice.segment_id,
        invoice.is_credit_note,
        1,
    )
    .await?
    .remove(0);
    let done = sqlx::query(
        "UPDATE invoices SET number = $1, full_number = $2, state = $3, date_issue_us = $4, \
         updated_at_us = $4 WHERE business_id = $5 AND id = $6 AND number IS NULL",
    )
    .bind(number)
    .bind(&full)
    .bind(state)
    .bind(now_us)
    .bind(business_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::Conflict(format!(
            "invoice {id} was issued concurrently"
        )));
    }
    get(conn, business_id, id).await
}

pub async fn get(conn: &mut AnyConnection, business_id: i64, id: i64) -> Result<Invoice> {
    let row = sqlx::query("SELECT * FROM invoices WHERE business_id = $1 AND id = $2")
        .bind(business_id)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .or_not_found("invoice")?;
    let mut invoice = from_row(&row)?;
    invoice.lines = lines(conn, id).await?;
    Ok(invoice)
}

pub async fn get_by_full_number(
    conn: &mut AnyConnection,
    business_id: i64,
    full_number: &str,
) -> Result<Invoice> {
    let row = sqlx::query("SELECT id FROM invoices WHERE business_id = $1 AND full_number = $2")
        .bind(business_id)
        .bind(full_number)
        .fetch_optional(&mut *conn)
        .await?
        .or_not_found("invoice")?;
    get(conn, business_id, row.i("id")?).await
}

async fn lines(conn: &mut AnyConnection, invoice_id: i64) -> Result<Vec<InvoiceLine>> {
    let rows =
        sqlx::query("SELECT * FROM invoice_lines WHERE invoice_id = $1 ORDER BY position, id")
            .bind(invoice_id)
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows
        .iter()
        .map(line_from_row)
        .collect::<sqlx::Result<_>>()?)
}

macro_rules! list_where {
    () => {
        " WHERE business_id = $1 AND ($2 IS NULL OR segment_id = $2) \
         AND ($3 IS NULL OR customer_id = $3) AND ($4 IS NULL OR state = $4) \
         AND ($5 IS NULL OR is_credit_note = $5)"
    };
}

/// Invoices of the business, newest first, with their lines.
pub async fn list(
    conn: &mut AnyConnection,
    business_id: i64,
    filter: &InvoiceFilter,
    page: PageRequest,
) -> Result<Page<Invoice>> {
    let (offset, limit) = page.clamped();
    let total = sqlx::query(concat!("SELECT COUNT(*) AS n FROM invoices", list_where!()))
        .bind(business_id)
        .bind(filter.segment_id)
        .bind(filter.customer_id)
        .bind(filter.state.as_deref())
        .bind(filter.is_credit_note)
        .fetch_one(&mut *conn)
        .await?
        .i("n")?;
    let rows = sqlx::query(concat!(
        "SELECT * FROM invoices",
        list_where!(),
        " ORDER BY id DESC LIMIT $6 OFFSET $7"
    ))
    .bind(business_id)
    .bind(filter.segment_id)
    .bind(filter.customer_id)
    .bind(filter.state.as_deref())
    .bind(filter.is_credit_note)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in &rows {
        let mut invoice = from_row(r)?;
        invoice.lines = lines(conn, invoice.id).await?;
        items.push(invoice);
    }
    Ok(Page { items, total })
}

/// Change the state; `date_payment_us` is set when given (None = unchanged).
pub async fn set_state(
    conn: &mut AnyConnection,
    business_id: i64,
    id: i64,
    state: &str,
    date_payment_us: Option<i64>,
    now_us: i64,
) -> Result<Invoice> {
    let done = sqlx::query(
        "UPDATE invoices SET state = $1, date_payment_us = COALESCE($2, date_payment_us), \
         updated_at_us = $3 WHERE business_id = $4 AND id = $5",
    )
    .bind(state)
    .bind(date_payment_us)
    .bind(now_us)
    .bind(business_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("invoice"));
    }
    get(conn, business_id, id).await
}

/// Set or clear (`None`) the scheduled automatic payment date.
pub async fn set_payment_scheduled(
    conn: &mut AnyConnection,
    business_id: i64,
    id: i64,
    date_payment_scheduled_us: Option<i64>,
    now_us: i64,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE invoices SET date_payment_scheduled_us = $1, updated_at_us = $2 \
         WHERE business_id = $3 AND id = $4",
    )
    .bind(date_payment_scheduled_us)
    .bind(now_us)
    .bind(business_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("invoice"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Added for the invoice API (`GET /v1/Invoices?IdSubscription=`): invoices that billed at least
// one balance line of a subscription.

/// Invoices of the business (optionally of one segment and customer) that billed a line of
/// `subscription_id`, newest first, with their lines.
pub async fn list_for_subscription(
    conn: &mut AnyConnection,
    business_id: i64,
    subscription_id: i64,
    filter: &InvoiceFilter,
    page: PageRequest,
) -> Result<Page<Invoice>> {
    const WHERE: &str = " WHERE business_id = $1 AND ($2 IS NULL OR segment_id = $2) \
         AND ($3 IS NULL OR customer_id = $3) AND id IN (SELECT invoice_id FROM balance_lines \
         WHERE business_id = $1 AND subscription_id = $4 AND invoice_id IS NOT NULL)";
    let (offset, limit) = page.clamped();
    let total = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) AS n FROM invoices{WHERE}"
    )))
    .bind(business_id)
    .bind(filter.segment_id)
    .bind(filter.customer_id)
    .bind(subscription_id)
    .fetch_one(&mut *conn)
    .await?
    .i("n")?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT * FROM invoices{WHERE} ORDER BY id DESC LIMIT $5 OFFSET $6"
    )))
    .bind(business_id)
    .bind(filter.segment_id)
    .bind(filter.customer_id)
    .bind(subscription_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in &rows {
        let mut invoice = from_row(r)?;
        invoice.lines = lines(conn, invoice.id).await?;
        items.push(invoice);
    }
    Ok(Page { items, total })
}

// ---------------------------------------------------------------------------------------------
// Added for credit notes (cancel and refund, `abo_service::billing::credit`).

/// Lock the invoice's row until the end of the caller's transaction, so that use cases that
/// credit it (cancel, refunds) run one after the other: a no-op UPDATE takes the row lock on
/// Postgres; on SQLite the write transaction (`BEGIN IMMEDIATE`) already serialises writers.
pub async fn lock(conn: &mut AnyConnection, business_id: i64, id: i64) -> Result<Invoice> {
    let done = sqlx::query(
        "UPDATE invoices SET updated_at_us = updated_at_us WHERE business_id = $1 AND id = $2",
    )
    .bind(business_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("invoice"));
    }
    get(conn, business_id, id).await
}

/// The credit notes (drafts included) that credit `invoice_id`, oldest first, with their lines.
pub async fn list_credit_notes(
    conn: &mut AnyConnection,
    business_id: i64,
    invoice_id: i64,
) -> Result<Vec<Invoice>> {
    let rows = sqlx::query(
        "SELECT * FROM invoices WHERE business_id = $1 AND credited_invoice_id = $2 \
         AND is_credit_note ORDER BY id",
    )
    .bind(business_id)
    .bind(invoice_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in &rows {
        let mut note = from_row(r)?;
        note.lines = lines(conn, note.id).await?;
        items.push(note);
    }
    Ok(items)
}

// ---------------------------------------------------------------------------------------------
// The engine's batches: many invoices per statement.

/// An invoice issued at once, its number already taken ([`take_numbers`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedInvoice {
    pub new: NewInvoice,
    pub state: String,
    pub number: i64,
    pub full_number: String,
}

impl IssuedInvoice {
    /// The row [`insert_issued_many`] writes for it, under `id`, without its
    /// lines (known from what was written: reading back a thousand invoices
    /// with their buyers' snapshots cost more than writing them).
    fn inserted(&self, id: i64, now_us: i64) -> Invoice {
        let n = &self.new;
        Invoice {
            id,
            business_id: n.business_id,
            segment_id: n.segment_id,
            customer_id: n.customer_id,
            number: Some(self.number),
            full_number: Some(self.full_number.clone()),
            is_credit_note: n.is_credit_note,
            type_credit: n.type_credit.clone(),
            credited_invoice_id: n.credited_invoice_id,
            state: self.state.clone(),
            type_payment: n.type_payment.clone(),
            currency: n.currency.clone(),
            amount_subtotal: n.amount_subtotal,
            amount_tax: n.amount_tax,
            amount_total: n.amount_total,
            date_issue_us: Some(now_us),
            date_payment_us: None,
            date_payment_limit_us: n.date_payment_limit_us,
            date_payment_scheduled_us: n.date_payment_scheduled_us,
            note: n.note.clone(),
            reason: n.reason.clone(),
            buyer: n.buyer.clone(),
            lines: Vec::new(),
            created_at_us: now_us,
            updated_at_us: now_us,
        }
    }
}

/// Inserts many invoices already issued at `now_us` (the batch form of [`create_draft`] then
/// [`issue`]: the same rows, without the draft step), with their lines. Returned in the order
/// given, WITHOUT their lines (`lines` left empty, as by [`get_many_heads`]: what follows an
/// issue in a batch, its outbox rows and its collection, needs only the head; reading a
/// thousand lines back cost more than writing them).
pub async fn insert_issued_many(
    conn: &mut AnyConnection,
    issued: &[IssuedInvoice],
    now_us: i64,
) -> Result<Vec<Invoice>> {
    let mut out: Vec<Invoice> = Vec::with_capacity(issued.len());
    for chunk in issued.chunks(crate::many::CHUNK) {
        let mut p = crate::many::Placeholders::of(conn);
        let values = p.tuples(chunk.len(), 22);
        let sql = format!(
            "INSERT INTO invoices (business_id, segment_id, customer_id, is_credit_note, \
             type_credit, credited_invoice_id, state, type_payment, currency, amount_subtotal, \
             amount_tax, amount_total, date_payment_limit_us, date_payment_scheduled_us, note, \
             reason, buyer, number, full_number, date_issue_us, created_at_us, updated_at_us) \
             VALUES {values}"
        );
        // Only placeholders are interpolated; every value is bound.
        let bind = |mut query: crate::many::Query<'static>| {
            for i in chunk {
                let n = &i.new;
                query = query
                    .bind(n.business_id)
                    .bind(n.segment_id)
                    .bind(n.customer_id)
                    .bind(n.is_credit_note)
                    .bind(n.type_credit.as_deref())
                    .bind(n.credited_invoice_id)
                    .bind(i.state.as_str())
                    .bind(n.type_payment.as_str())
                    .bind(n.currency.as_str())
                    .bind(n.amount_subtotal)
                    .bind(n.amount_tax)
                    .bind(n.amount_total)
                    .bind(n.date_payment_limit_us)
                    .bind(n.date_payment_scheduled_us)
                    .bind(n.note.as_deref())
                    .bind(n.reason.as_deref())
                    .bind(n.buyer.as_deref())
                    .bind(i.number)
                    .bind(i.full_number.as_str())
                    .bind(now_us)
                    .bind(now_us)
                    .bind(now_us);
            }
            query
        };
        let rows = crate::many::insert_returning(
            conn,
            "invoices.inserted",
            "invoices",
            "id, full_number",
            sql,
            bind,
        )
        .await?;
        let mut ids = std::collections::HashMap::with_capacity(rows.len());
        for row in rows {
            ids.insert(row.s("full_number")?, row.i("id")?);
        }
        for i in chunk {
            let id = ids.remove(&i.full_number).ok_or_else(|| {
                StoreError::Conflict(format!("invoice {} not inserted", i.full_number))
            })?;
            out.push(i.inserted(id, now_us));
        }
    }
    let lines: Vec<(i64, i64, &NewInvoiceLine)> = out
        .iter()
        .zip(issued)
        .flat_map(|(invoice, i)| {
            i.new
                .lines
                .iter()
                .enumerate()
                .map(move |(position, l)| (invoice.id, position as i64, l))
        })
        .collect();
    for chunk in lines.chunks(crate::many::CHUNK) {
        let mut p = crate::many::Placeholders::of(conn);
        let sql = format!(
            "INSERT INTO invoice_lines (invoice_id, position, balance_line_id, type_line, label, \
             quantity, unit_amount, amount_subtotal, tax_rate, amount_tax, \
             date_period_start_us, date_period_end_us) VALUES {}",
            p.tuples(chunk.len(), 12)
        );
        // Only placeholders are interpolated; every value is bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (invoice_id, position, l) in chunk {
            query = query
                .bind(*invoice_id)
                .bind(*position)
                .bind(l.balance_line_id)
                .bind(l.type_line.as_str())
                .bind(l.label.as_str())
                .bind(l.quantity)
                .bind(l.unit_amount)
                .bind(l.amount_subtotal)
                .bind(l.tax_rate.as_str())
                .bind(l.amount_tax)
                .bind(l.date_period_start_us)
                .bind(l.date_period_end_us);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(out)
}

/// Many invoices WITHOUT their lines (`lines` left empty: collection needs only the head);
/// unknown ids are left out.
pub async fn get_many_heads(
    conn: &mut AnyConnection,
    business_id: i64,
    ids: &[i64],
) -> Result<Vec<Invoice>> {
    let select = "SELECT * FROM invoices WHERE";
    let rows = crate::many::select_in(
        conn,
        "invoices.get_many_heads",
        select,
        business_id,
        "id",
        ids,
        "",
    )
    .await?;
    Ok(rows.iter().map(from_row).collect::<sqlx::Result<_>>()?)
}

/// Marks many invoices paid at `now_us` (state `to` when still in state `from`, no payment
/// scheduled any more). Returns the invoices moved, WITHOUT their lines.
pub async fn pay_many(
    conn: &mut AnyConnection,
    business_id: i64,
    moves: &[(i64, String, String)],
    now_us: i64,
) -> Result<Vec<Invoice>> {
    let sqlite = conn.backend_name().eq_ignore_ascii_case("sqlite");
    let mut out = Vec::with_capacity(moves.len());
    for chunk in moves.chunks(crate::many::CHUNK) {
        if sqlite {
            // One writer at a time (`BEGIN IMMEDIATE`): the invoices read in their `from`
            // state are the ones the update moves; read packed (`many::fetch`), moved here
            // as the update moves them.
            let ids: Vec<i64> = chunk.iter().map(|m| m.0).collect();
            let select = "SELECT * FROM invoices WHERE";
            let rows = crate::many::select_in(
                conn,
                "invoices.pay_many",
                select,
                business_id,
                "id",
                &ids,
                "",
            )
            .await?;
            let moving: std::collections::HashMap<i64, (&String, &String)> = chunk
                .iter()
                .map(|(id, from, to)| (*id, (from, to)))
                .collect();
            for row in &rows {
                let mut invoice = from_row(row)?;
                let Some((_, to)) = moving
                    .get(&invoice.id)
                    .filter(|(from, _)| **from == invoice.state)
                else {
                    continue;
                };
                invoice.state = (*to).clone();
                invoice.date_payment_us = Some(now_us);
                invoice.date_payment_scheduled_us = None;
                invoice.updated_at_us = now_us;
                out.push(invoice);
            }
        }
        let mut p = crate::many::Placeholders::of(conn);
        let sql = format!(
            "UPDATE invoices SET state = v.column3, date_payment_us = {}, \
             date_payment_scheduled_us = NULL, updated_at_us = {} FROM (VALUES {}) AS v \
             WHERE invoices.business_id = {} AND invoices.id = v.column1 \
             AND invoices.state = v.column2{}",
            p.one(),
            p.one(),
            p.tuples(chunk.len(), 3),
            p.one(),
            if sqlite { "" } else { " RETURNING *" }
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now_us)
            .bind(now_us);
        for (id, from, to) in chunk {
            query = query.bind(*id).bind(from.as_str()).bind(to.as_str());
        }
        for row in query.bind(business_id).fetch_all(&mut *conn).await? {
            out.push(from_row(&row)?);
        }
    }
    Ok(out)
}
