//! Discounts attached to a subscription (`SubscriptionRequest.Discounts`,
//! table `subscription_discounts`), applied to each period it is charged for
//! by `abo_core::apply_discounts` (spec §1.4): up-front discounts once,
//! recurring and feature discounts for their `CountRecurrences` periods.
//!
//! [`apply_period_discounts`] reads the period's lines (natural keys
//! `subscription={id}:period={n}:…`) and writes one `AutoDiscount*` line per
//! line reduced, under the natural key
//! `subscription={id}:period={n}:discount={discount}:line={line}`. The
//! result depends only on the period's lines, so running it again (after
//! the feature lines were added, or after a crash) writes nothing twice.

use abo_core::{
    AppliedDiscount, BalanceLine as CoreLine, Currency, Discount, DiscountTarget, DiscountValue,
    LineDate, Reference, TypeLine, apply_discounts,
};
use abo_store::balance_lines::{self, BalanceLine, NewBalanceLine};
use abo_store::discounts::{self, Discount as StoredDiscount};
use abo_store::subscriptions::Subscription;
use abo_store::{AnyConnection, engine_scan, features, subscription_discounts};
use rust_decimal::Decimal;

use crate::error::{Result, ServiceError};

/// Attaches the discounts named by `references` (in the subscription's
/// segment) from period `period_index_from` on. Unknown references are
/// returned as problems (422), nothing attached.
pub async fn attach_discounts(
    conn: &mut AnyConnection,
    sub: &Subscription,
    references: &[String],
    period_index_from: i64,
    now_us: i64,
) -> Result<()> {
    let mut found = Vec::with_capacity(references.len());
    let mut problems = Vec::new();
    for reference in references {
        match discounts::find_by_reference(conn, sub.business_id, sub.segment_id, reference).await?
        {
            Some(d) => found.push(d),
            None => problems.push(format!(
                "Discounts: the discount '{reference}' does not exist in the segment"
            )),
        }
    }
    if !problems.is_empty() {
        return Err(ServiceError::Invalid(problems));
    }
    for d in found {
        subscription_discounts::attach(
            conn,
            sub.business_id,
            sub.id,
            d.id,
            period_index_from,
            now_us,
        )
        .await?;
    }
    Ok(())
}

/// Writes the discount lines of period `ordinal` of `sub`.
pub(crate) async fn apply_period_discounts(
    conn: &mut AnyConnection,
    sub: &Subscription,
    ordinal: i64,
    now_us: i64,
) -> Result<()> {
    let attached = subscription_discounts::list(conn, sub.business_id, sub.id).await?;
    if attached.is_empty() {
        return Ok(());
    }
    let prefix = format!("subscription={}:period={ordinal}:", sub.id);
    let lines: Vec<BalanceLine> =
        engine_scan::subscription_lines_with_prefix(conn, sub.business_id, sub.id, &prefix)
            .await?
            .into_iter()
            .filter(|l| !l.type_line.starts_with("AutoDiscount"))
            .collect();
    if lines.is_empty() {
        return Ok(());
    }
    let currency = Currency::from_code(&sub.currency)?;
    let core_lines: Vec<CoreLine> = lines
        .iter()
        .map(|l| {
            let mut core = CoreLine::due(
                l.type_line.parse().unwrap_or(TypeLine::Manual),
                &l.label,
                l.amount_subtotal,
                currency,
                LineDate::Move(jiff::civil::date(1970, 1, 1)),
            );
            core.id_feature = l.feature_id;
            core.id_subscription = l.subscription_id;
            core.key_charge = l.key_charge.clone();
            core
        })
        .collect();
    let has_trial = sub.duration_trial.is_some_and(|d| d > 0);
    for a in attached {
        // The discount's count runs over the paid periods from the one it
        // was attached at (a trial is not one of them).
        let skip = i64::from(has_trial && a.period_index_from == 0);
        let stored = discounts::get(conn, sub.business_id, a.discount_id).await?;
        let (discount, id_feature) = core_discount(conn, &stored).await?;
        let index = match u32::try_from(ordinal - a.period_index_from - skip) {
            Ok(index) => index,
            // The trial period: only the up-front fee, charged with it, is
            // discounted there.
            Err(_) if matches!(discount.target, DiscountTarget::UpFront) => 0,
            Err(_) => continue,
        };
        let applied = [AppliedDiscount {
            discount: &discount,
            id_feature,
        }];
        let produced = apply_discounts(&core_lines, &applied, index)?;
        // The produced lines follow the order of the lines they reduce: the
        // lines this discount reduces on their own, in order (a flat budget
        // spent early leaves the last ones out of `produced`).
        let targets: Vec<&BalanceLine> = lines
            .iter()
            .zip(&core_lines)
            .filter(|(_, c)| {
                apply_discounts(std::slice::from_ref(*c), &applied, index)
                    .is_ok_and(|v| !v.is_empty())
            })
            .map(|(l, _)| l)
            .collect();
        for (line, target) in produced.into_iter().zip(targets) {
            let new = NewBalanceLine {
                business_id: sub.business_id,
                segment_id: sub.segment_id,
                customer_id: target.customer_id,
                subscription_id: Some(sub.id),
                feature_id: target.feature_id,
                type_line: line.type_line.as_str().to_owned(),
                key_charge: target.key_charge.clone(),
                label: format!("{} - {}", sub.title, line.label),
                quantity_reported: None,
                quantity_billed: None,
                amount_subtotal: line.amount_subtotal,
                currency: sub.currency.clone(),
                date_move_us: target.date_move_us,
                date_period_start_us: target.date_period_start_us,
                date_period_end_us: target.date_period_end_us,
                natural_key: Some(format!("{prefix}discount={}:line={}", stored.id, target.id)),
            };
            balance_lines::insert(conn, &new, now_us).await?;
        }
    }
    Ok(())
}

/// The core discount of a stored one, with its feature's id.
async fn core_discount(
    conn: &mut AnyConnection,
    d: &StoredDiscount,
) -> Result<(Discount, Option<i64>)> {
    let corrupt = |what: &str| ServiceError::Internal(format!("discount {}: {what}", d.id));
    let value = match d.value_kind.as_str() {
        "Flat" => DiscountValue::Flat(d.amount.ok_or_else(|| corrupt("no amount"))?),
        _ => DiscountValue::Percent(
            d.percent
                .as_deref()
                .and_then(|p| p.parse::<Decimal>().ok())
                .ok_or_else(|| corrupt("no percent"))?,
        ),
    };
    let (target, id_feature) = match d.target.as_str() {
        "UpFront" => (DiscountTarget::UpFront, None),
        "Recurrence" => (DiscountTarget::Recurrence, None),
        _ => {
            let id = d.feature_id.ok_or_else(|| corrupt("no feature"))?;
            let feature = features::get(conn, d.business_id, id).await?;
            (
                DiscountTarget::Feature(Reference::parse(&feature.reference)?),
                Some(id),
            )
        }
    };
    let discount = Discount {
        reference: Reference::parse(&d.reference)?,
        name: d.name.clone(),
        target,
        value,
        count_recurrences: d.count_recurrences.and_then(|c| u32::try_from(c).ok()),
    };
    Ok((discount, id_feature))
}
