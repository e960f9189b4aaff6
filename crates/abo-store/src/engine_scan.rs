//! Queries of the billing engine (`abo-engine`, `abo-service::renewal` and
//! `billing`) that belong to no single aggregate: what falls due, and what
//! a customer still owes.

use sqlx::AnyConnection;

use crate::error::Result;
use crate::row::RowExt;

/// Invoice states of an issued invoice still waiting for its money.
pub const UNPAID_STATES: &[&str] = &[
    "DueAuto",
    "DueOffline",
    "DueToProcess",
    "DuePending",
    "ProblemAuto",
    "ProblemOverdue",
    "ProblemDisputed",
];

/// `DraftDelayedStart` subscriptions of the business whose start date is at
/// or before `now_us`, earliest first.
pub async fn due_delayed_starts(
    conn: &mut AnyConnection,
    business_id: i64,
    now_us: i64,
    limit: i64,
) -> Result<Vec<i64>> {
    let rows = sqlx::query(
        "SELECT id FROM subscriptions WHERE business_id = $1 AND state = 'DraftDelayedStart' \
         AND date_start_us IS NOT NULL AND date_start_us <= $2 ORDER BY date_start_us, id \
         LIMIT $3",
    )
    .bind(business_id)
    .bind(now_us)
    .bind(limit.clamp(1, 10_000))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| r.i("id"))
        .collect::<sqlx::Result<_>>()?)
}

/// The earliest start date among the business's `DraftDelayedStart`
/// subscriptions.
pub async fn next_delayed_start_at(
    conn: &mut AnyConnection,
    business_id: i64,
) -> Result<Option<i64>> {
    let row = sqlx::query(
        "SELECT MIN(date_start_us) AS t FROM subscriptions WHERE business_id = $1 \
         AND state = 'DraftDelayedStart'",
    )
    .bind(business_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.oi("t")?)
}

/// What a customer owes: the total of its issued, unpaid invoices (not
/// credit notes) and the issue date of the oldest one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unpaid {
    pub count: i64,
    pub amount_total: i64,
    pub oldest_issue_us: Option<i64>,
}

pub async fn unpaid_of_customer(
    conn: &mut AnyConnection,
    business_id: i64,
    customer_id: i64,
) -> Result<Unpaid> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(amount_total), 0) AS BIGINT) AS total, \
         MIN(date_issue_us) AS oldest FROM invoices WHERE business_id = $1 AND customer_id = $2 \
         AND NOT is_credit_note AND state IN ('DueAuto', 'DueOffline', 'DueToProcess', \
         'DuePending', 'ProblemAuto', 'ProblemOverdue', 'ProblemDisputed')",
    )
    .bind(business_id)
    .bind(customer_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Unpaid {
        count: row.i("n")?,
        amount_total: row.i("total")?,
        oldest_issue_us: row.oi("oldest")?,
    })
}

/// The subscriptions a customer pays for (as buyer) that are in `state`,
/// oldest first.
pub async fn buyer_subscriptions_in_state(
    conn: &mut AnyConnection,
    business_id: i64,
    buyer_id: i64,
    state: &str,
) -> Result<Vec<(i64, i64)>> {
    let rows = sqlx::query(
        "SELECT id, period_index FROM subscriptions WHERE business_id = $1 \
         AND customer_buyer_id = $2 AND state = $3 ORDER BY id",
    )
    .bind(business_id)
    .bind(buyer_id)
    .bind(state)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| Ok((r.i("id")?, r.i("period_index")?)))
        .collect::<sqlx::Result<_>>()?)
}

/// The balance lines of a subscription whose natural key starts with `prefix` (one period's
/// lines: `subscription={id}:period={n}:`), oldest first.
pub async fn subscription_lines_with_prefix(
    conn: &mut AnyConnection,
    business_id: i64,
    subscription_id: i64,
    prefix: &str,
) -> Result<Vec<crate::balance_lines::BalanceLine>> {
    let rows = sqlx::query(
        "SELECT id FROM balance_lines WHERE business_id = $1 AND subscription_id = $2 \
         AND natural_key LIKE $3 ORDER BY id",
    )
    .bind(business_id)
    .bind(subscription_id)
    // The prefixes are made of letters, digits, `=` and `:`: no wildcard to escape.
    .bind(format!("{prefix}%"))
    .fetch_all(&mut *conn)
    .await?;
    let mut lines = Vec::with_capacity(rows.len());
    for r in &rows {
        lines.push(crate::balance_lines::get(conn, business_id, r.i("id")?).await?);
    }
    Ok(lines)
}

/// How many rows the job table holds (benchmarks and scale tests).
pub async fn count_jobs(conn: &mut AnyConnection) -> Result<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM jobs")
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.i("n")?)
}

/// Which of `buyer_ids` buy at least one subscription suspended for an unpaid invoice
/// (`SuspendedPaymentDue`): the engine's batches let a payment restart them.
pub async fn buyers_suspended_for_payment_due(
    conn: &mut AnyConnection,
    business_id: i64,
    buyer_ids: &[i64],
) -> Result<std::collections::HashSet<i64>> {
    let select = "SELECT DISTINCT customer_buyer_id FROM subscriptions WHERE state = 'SuspendedPaymentDue' AND";
    let column = "customer_buyer_id";
    let rows = crate::many::select_in(
        conn,
        "subscriptions.buyers_suspended",
        select,
        business_id,
        column,
        buyer_ids,
        "",
    )
    .await?;
    Ok(rows
        .iter()
        .map(|r| r.i("customer_buyer_id"))
        .collect::<sqlx::Result<_>>()?)
}
