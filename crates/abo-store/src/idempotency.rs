//! Idempotency-Key support for the API: the first request with a key reserves it; a retry
//! with the same key and the same request replays the stored response; a different request
//! with a reused key is refused.

use sqlx::AnyConnection;

use crate::error::Result;
use crate::row::RowExt;

/// Outcome of [`begin`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// The key was free and is now reserved for this request: process it, then `complete`
    /// (or `release` on failure so a retry can run).
    New,
    /// Another request with this key is still being processed.
    InProgress,
    /// Same key, same request, already answered: replay this response.
    Replay { status: i64, body: String },
    /// Same key used for a different request.
    Mismatch,
}

pub async fn begin(
    conn: &mut AnyConnection,
    business_id: i64,
    key: &str,
    request_hash: &str,
    now_us: i64,
) -> Result<Reservation> {
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (business_id, key, request_hash, created_at_us) \
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(business_id)
    .bind(key)
    .bind(request_hash)
    .bind(now_us)
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Reservation::New);
    }
    let Some(row) = sqlx::query(
        "SELECT request_hash, status, response_body FROM idempotency_keys \
         WHERE business_id = $1 AND key = $2",
    )
    .bind(business_id)
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?
    else {
        // Released between our insert and select: let the caller retry as new.
        return Ok(Reservation::InProgress);
    };
    if row.s("request_hash")? != request_hash {
        return Ok(Reservation::Mismatch);
    }
    Ok(match (row.oi("status")?, row.os("response_body")?) {
        (Some(status), body) => Reservation::Replay {
            status,
            body: body.unwrap_or_default(),
        },
        (None, _) => Reservation::InProgress,
    })
}

/// Store the response for a reserved key.
pub async fn complete(
    conn: &mut AnyConnection,
    business_id: i64,
    key: &str,
    status: i64,
    body: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE idempotency_keys SET status = $1, response_body = $2 \
         WHERE business_id = $3 AND key = $4",
    )
    .bind(status)
    .bind(body)
    .bind(business_id)
    .bind(key)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Forget a reservation (the request failed without effect).
pub async fn release(conn: &mut AnyConnection, business_id: i64, key: &str) -> Result<()> {
    sqlx::query("DELETE FROM idempotency_keys WHERE business_id = $1 AND key = $2")
        .bind(business_id)
        .bind(key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Delete keys created before `before_us` (e.g. older than 24 h). Returns how many.
pub async fn purge(conn: &mut AnyConnection, before_us: i64) -> Result<u64> {
    let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at_us < $1")
        .bind(before_us)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
