//! Per-segment settings of the customer workflows: the return URL (spec §3.5). Validation
//! (absolute http(s) URL) is the service's job.

use sqlx::AnyConnection;

use crate::error::Result;
use crate::row::RowExt;

/// The segment's return URL, if it configured one.
pub async fn return_url(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
) -> Result<Option<String>> {
    let row = sqlx::query(
        "SELECT url_return FROM workflow_settings WHERE business_id = $1 AND segment_id = $2",
    )
    .bind(business_id)
    .bind(segment_id)
    .fetch_optional(conn)
    .await?;
    Ok(match row {
        Some(r) => r.os("url_return")?,
        None => None,
    })
}

/// Sets (or clears, with `None`) the segment's return URL.
pub async fn set_return_url(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
    url: Option<&str>,
    now_us: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO workflow_settings (business_id, segment_id, url_return, updated_at_us) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (business_id, segment_id) DO UPDATE SET \
         url_return = excluded.url_return, updated_at_us = excluded.updated_at_us",
    )
    .bind(business_id)
    .bind(segment_id)
    .bind(url)
    .bind(now_us)
    .execute(conn)
    .await?;
    Ok(())
}
