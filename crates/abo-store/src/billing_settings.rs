//! Per-segment billing settings kept beside the segment (`segment_billing_settings`): the
//! unpaid thresholds that suspend subscriptions at renewal and the overdue delay. A segment
//! without a row has the defaults (no threshold, overdue after 60 days).

use sqlx::AnyConnection;

use crate::error::Result;
use crate::row::RowExt;

/// Days after issue when an unpaid invoice is overdue, by default (ProAbono: 60).
pub const DEFAULT_OVERDUE_DAYS: i64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BillingSettings {
    /// Suspend at renewal when the buyer's unpaid invoices add up to at least this.
    pub unpaid_threshold_amount: Option<i64>,
    /// ... or when the oldest unpaid invoice is at least this many days old.
    pub unpaid_threshold_days: Option<i64>,
    pub overdue_days: i64,
}

impl Default for BillingSettings {
    fn default() -> Self {
        BillingSettings {
            unpaid_threshold_amount: None,
            unpaid_threshold_days: None,
            overdue_days: DEFAULT_OVERDUE_DAYS,
        }
    }
}

/// The settings of a segment (the defaults when none were saved).
pub async fn get(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
) -> Result<BillingSettings> {
    let row = sqlx::query(
        "SELECT unpaid_threshold_amount, unpaid_threshold_days, overdue_days \
         FROM segment_billing_settings WHERE business_id = $1 AND segment_id = $2",
    )
    .bind(business_id)
    .bind(segment_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(BillingSettings::default());
    };
    Ok(BillingSettings {
        unpaid_threshold_amount: row.oi("unpaid_threshold_amount")?,
        unpaid_threshold_days: row.oi("unpaid_threshold_days")?,
        overdue_days: row.i("overdue_days")?,
    })
}

/// Saves the settings of a segment.
pub async fn set(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
    settings: &BillingSettings,
    now_us: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO segment_billing_settings (business_id, segment_id, \
         unpaid_threshold_amount, unpaid_threshold_days, overdue_days, updated_at_us) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (business_id, segment_id) DO UPDATE SET \
         unpaid_threshold_amount = excluded.unpaid_threshold_amount, \
         unpaid_threshold_days = excluded.unpaid_threshold_days, \
         overdue_days = excluded.overdue_days, updated_at_us = excluded.updated_at_us",
    )
    .bind(business_id)
    .bind(segment_id)
    .bind(settings.unpaid_threshold_amount)
    .bind(settings.unpaid_threshold_days)
    .bind(settings.overdue_days.max(1))
    .bind(now_us)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
