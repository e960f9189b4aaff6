//! What a business's billing wrote, comparable between two runs of the same
//! work (two schedulers racing and one alone, batches and one job at a time).

use std::collections::BTreeMap;

use abo_store::Store;
use sqlx::Row;

/// What the business's billing wrote, without the ids that depend on the
/// order of work: one text row per balance line, invoice, invoice line and
/// payment (keyed by customer reference), sorted; and the outbox rows counted
/// by kind and natural key with its numbers blanked.
pub async fn outcome(store: &Store, business: i64) -> (Vec<String>, BTreeMap<String, usize>) {
    let mut conn = store.acquire().await.unwrap();
    let mut rows = Vec::new();
    for r in sqlx::query(
        "SELECT c.reference, b.natural_key, b.type_line, b.amount_subtotal, \
         b.date_period_start_us, b.date_period_end_us, b.state_move, \
         i.amount_total, i.state AS invoice_state, i.date_issue_us, i.date_payment_us, \
         i.type_payment \
         FROM balance_lines b JOIN customers c ON c.id = b.customer_id \
         LEFT JOIN invoices i ON i.id = b.invoice_id WHERE b.business_id = $1",
    )
    .bind(business)
    .fetch_all(&mut *conn)
    .await
    .unwrap()
    {
        rows.push(format!(
            "line {} {:?} {} {} {:?} {:?} {} | invoice {:?} {:?} {:?} {:?} {:?}",
            r.get::<String, _>(0),
            r.get::<Option<String>, _>(1).map(|k| line_key_shape(&k)),
            r.get::<String, _>(2),
            r.get::<i64, _>(3),
            r.get::<Option<i64>, _>(4),
            r.get::<Option<i64>, _>(5),
            r.get::<String, _>(6),
            r.get::<Option<i64>, _>(7),
            r.get::<Option<String>, _>(8),
            r.get::<Option<i64>, _>(9),
            r.get::<Option<i64>, _>(10),
            r.get::<Option<String>, _>(11),
        ));
    }
    for r in sqlx::query(
        "SELECT c.reference, p.attempt, p.state, p.amount, p.type_payment, p.created_at_us \
         FROM payments p JOIN invoices i ON i.id = p.invoice_id \
         JOIN customers c ON c.id = i.customer_id WHERE p.business_id = $1",
    )
    .bind(business)
    .fetch_all(&mut *conn)
    .await
    .unwrap()
    {
        rows.push(format!(
            "payment {} {} {} {} {} {}",
            r.get::<String, _>(0),
            r.get::<i64, _>(1),
            r.get::<String, _>(2),
            r.get::<i64, _>(3),
            r.get::<String, _>(4),
            r.get::<i64, _>(5),
        ));
    }
    // What each invoice prints: its lines, in position.
    for r in sqlx::query(
        "SELECT c.reference, l.position, l.type_line, l.label, l.quantity, l.unit_amount, \
         l.amount_subtotal, l.tax_rate, l.amount_tax, l.date_period_start_us, \
         l.date_period_end_us \
         FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id \
         JOIN customers c ON c.id = i.customer_id WHERE i.business_id = $1",
    )
    .bind(business)
    .fetch_all(&mut *conn)
    .await
    .unwrap()
    {
        rows.push(format!(
            "invoice line {} #{} {} {:?} {} {} {} {} {} {:?} {:?}",
            r.get::<String, _>(0),
            r.get::<i64, _>(1),
            r.get::<String, _>(2),
            r.get::<String, _>(3),
            r.get::<i64, _>(4),
            r.get::<i64, _>(5),
            r.get::<i64, _>(6),
            r.get::<String, _>(7),
            r.get::<i64, _>(8),
            r.get::<Option<i64>, _>(9),
            r.get::<Option<i64>, _>(10),
        ));
    }
    rows.sort();
    let mut outbox = BTreeMap::new();
    for r in sqlx::query("SELECT kind, natural_key, done_at_us FROM jobs WHERE business_id = $1")
        .bind(business)
        .fetch_all(&mut *conn)
        .await
        .unwrap()
    {
        let key: Option<String> = r.get(1);
        let shape = numbers_blanked(&key.unwrap_or_default());
        let done = r.get::<Option<i64>, _>(2).is_some();
        *outbox
            .entry(format!("{} {shape} done={done}", r.get::<String, _>(0)))
            .or_insert(0) += 1;
    }
    (rows, outbox)
}

/// A line's natural key without the ids that depend on the order of work:
/// `period={n}:{kind}` with the numbers of the kind (discount and line ids)
/// blanked.
fn line_key_shape(key: &str) -> String {
    let rest = key.split_once(':').map_or(key, |(_, rest)| rest);
    match rest.split_once(':') {
        Some((period, kind)) => format!("{period}:{}", numbers_blanked(kind)),
        None => rest.to_owned(),
    }
}

/// Every number (ids, dates) as one `#`.
fn numbers_blanked(text: &str) -> String {
    let mut shape = String::new();
    for c in text.chars() {
        if !c.is_ascii_digit() {
            shape.push(c);
        } else if !shape.ends_with('#') {
            shape.push('#');
        }
    }
    shape
}
