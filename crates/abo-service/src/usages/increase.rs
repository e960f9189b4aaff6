//! The mid-period charge of a Limitation increase (billing-rules, Features:
//! "Limitation extras are billed per period in advance, and an increase
//! during a period is charged pro rata for the rest of it; a decrease takes
//! effect at renewal (no refund)").
//!
//! What the current period has already been billed for is a high-water mark
//! per subscription feature (`abo_store::usages::limitation_billed`): the
//! renewal sets it to the quantity it charged in advance; a write above it
//! charges `price(new) − price(mark)` (the feature's tiers, priced exactly
//! as the renewal prices them) for the rest of the period with the core's
//! proration (`abo_core::limitation_increase`), and raises it. A decrease
//! charges nothing and leaves the mark, so going back up to it is free.
//! When the period has no mark yet (a first period: the start does not
//! charge Limitation extras; or a period renewed before marks existed) the
//! quantity in effect before the write is what the period is billed for.
//!
//! The line is written in the write's transaction (so a quote, which runs
//! the write and rolls back, shows it) with a natural key unique to the
//! period and the new mark: a replay can never charge twice. Like a change
//! of offer without `BillNow`, it waits as a `Due` line for the buyer's next
//! billing (its next renewal, or an explicit bill).

use abo_core::FeatureType;
use abo_store::balance_lines::{self, NewBalanceLine};
use abo_store::usages as store_usages;
use abo_store::{AnyConnection, segments, subscriptions};

use super::{Usage, UsageWrite};
use crate::catalog::mapping::pricing_from_store;
use crate::error::{Result, ServiceError};
use crate::subscriptions::schedule::{Now, current_period, line_key};

/// Charges the increase of a Limitation feature from `old` to `new` (the
/// quantities around the write, read under the feature's row lock), if it
/// goes above what the current period is billed for.
pub(super) async fn charge_increase(
    conn: &mut AnyConnection,
    business_id: i64,
    usage: &Usage,
    write: &UsageWrite,
    old: i64,
    new: i64,
    now_us: i64,
) -> Result<()> {
    if usage.feature_type != FeatureType::Limitation || usage.is_unlimited() {
        return Ok(());
    }
    let sub = subscriptions::get(conn, business_id, usage.subscription_id).await?;
    let Some(feature) = sub
        .features
        .iter()
        .find(|f| f.terms.feature_id == usage.feature_id)
    else {
        return Err(ServiceError::Internal("written feature vanished".into()));
    };
    let Some(included) = feature.terms.quantity_included else {
        return Ok(());
    };
    if sub.is_trial && feature.terms.free_in_trial {
        // Free in trial: nothing is billed for this period, nor its increases.
        return Ok(());
    }
    let segment = segments::get(conn, business_id, sub.segment_id).await?;
    let now = Now::new(now_us, &segment.time_zone)?;
    let Some(period) = current_period(&sub, &now)? else {
        return Ok(());
    };
    // A backdated write raised the quantity before this period began: the
    // renewal billed the old quantity for all of it, so the whole period is
    // due. A write at or after the period end waits for the renewal, which
    // bills the quantity then in effect.
    let date = now
        .date_of(write.date_stamp_us.unwrap_or(now_us).min(now_us))?
        .max(period.start);
    if date >= period.end {
        return Ok(());
    }
    let (b, s, f) = (business_id, sub.id, feature.terms.feature_id);
    let recorded = store_usages::limitation_billed(conn, b, s, f, sub.period_index).await?;
    let billed = recorded.unwrap_or(old).max(0);
    if new <= billed {
        if recorded.is_none() {
            // Keep what this period is billed for, so that going back up to
            // it later costs nothing more.
            store_usages::set_limitation_billed(conn, b, s, f, sub.period_index, billed, now_us)
                .await?;
        }
        return Ok(());
    }
    let pricing = pricing_from_store(&feature.terms)?;
    let amount = abo_core::limitation_increase(
        &pricing,
        to_u64(included),
        to_u64(billed),
        to_u64(new),
        date,
        period,
    )?;
    store_usages::set_limitation_billed(conn, b, s, f, sub.period_index, new, now_us).await?;
    if amount == 0 {
        return Ok(());
    }
    let fraction = abo_core::fraction(date, period)?;
    let extras = |q: i64| (q - included).max(0);
    let line = NewBalanceLine {
        business_id,
        segment_id: sub.segment_id,
        customer_id: sub.customer_buyer_id,
        subscription_id: Some(s),
        feature_id: Some(f),
        type_line: "AutoFeatureProrata".into(),
        key_charge: Some("Service".into()),
        label: format!(
            "{} - {} - extra units, prorated ({fraction} days)",
            sub.title, feature.feature_reference
        ),
        quantity_reported: Some(new),
        quantity_billed: Some(extras(new) - extras(billed)),
        amount_subtotal: amount,
        currency: sub.currency.clone(),
        date_move_us: None,
        date_period_start_us: Some(now.midnight(date)?),
        date_period_end_us: Some(now.midnight(period.end)?),
        natural_key: Some(line_key(
            s,
            sub.period_index,
            &format!("feature={f}:hwm={new}"),
        )),
    };
    balance_lines::insert(conn, &line, now_us).await?;
    Ok(())
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}
