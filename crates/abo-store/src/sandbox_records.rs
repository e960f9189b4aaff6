//! The sandbox gateways' state (migration 0010): one JSON document per (gateway, kind, key),
//! and one id sequence per gateway. `abo-gateway` owns the documents' shape; this module only
//! stores them. Every call is its own statement on a pooled connection: the sandbox plays a
//! PSP, whose database is not part of our transactions.

use sqlx::AnyConnection;

use crate::error::Result;
use crate::row::RowExt;

/// The stored document, if any.
pub async fn load(
    conn: &mut AnyConnection,
    gateway: &str,
    kind: &str,
    key: &str,
) -> Result<Option<String>> {
    let row = sqlx::query(
        "SELECT value FROM sandbox_records WHERE gateway = $1 AND kind = $2 AND record_key = $3",
    )
    .bind(gateway)
    .bind(kind)
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.s("value")).transpose()?)
}

/// Insert or replace the document.
pub async fn save(
    conn: &mut AnyConnection,
    gateway: &str,
    kind: &str,
    key: &str,
    value: &str,
    now_us: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sandbox_records (gateway, kind, record_key, value, updated_at_us) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (gateway, kind, record_key) \
         DO UPDATE SET value = excluded.value, updated_at_us = excluded.updated_at_us",
    )
    .bind(gateway)
    .bind(kind)
    .bind(key)
    .bind(value)
    .bind(now_us)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Remove the document (no error when absent).
pub async fn delete(conn: &mut AnyConnection, gateway: &str, kind: &str, key: &str) -> Result<()> {
    sqlx::query("DELETE FROM sandbox_records WHERE gateway = $1 AND kind = $2 AND record_key = $3")
        .bind(gateway)
        .bind(kind)
        .bind(key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Reserve `count` consecutive values of the gateway's sequence; returns the first (values
/// start at 1). Atomic on both backends, so nodes and processes never get the same value.
pub async fn reserve(conn: &mut AnyConnection, gateway: &str, count: i64) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO sandbox_sequences (gateway, next_value) VALUES ($1, $2 + 1) \
         ON CONFLICT (gateway) DO UPDATE SET next_value = sandbox_sequences.next_value + $2 \
         RETURNING next_value",
    )
    .bind(gateway)
    .bind(count)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.i("next_value")? - count)
}
